// Package runconversion is the RunConversion function: from a run request
// on the run-requests topic to a checked extraction job per conversion.
//
// For each conversion the request covers it reads the client and the
// definition from Firestore, checks the definition's SQL (one SELECT, only
// @start_date and @end_date, output columns against the contract) without
// reading data, records the run, and starts the extraction job that stages
// the rows. MergeConversion takes over when that job finishes.
package runconversion

import (
	"context"
	"fmt"
	"log/slog"
	"os"

	"github.com/GoogleCloudPlatform/functions-framework-go/functions"
	"github.com/cloudevents/sdk-go/v2/event"

	"customconversions.dev/shared/config"
	"customconversions.dev/shared/instance"
	"customconversions.dev/shared/logging"
)

// EntryPoint is the name the function is registered and deployed under.
const EntryPoint = "RunConversion"

func init() {
	functions.CloudEvent(EntryPoint, handle)
}

// handler is built on the first event, not in init: every instance of
// either function runs every init, and a failure here must surface as an
// error on the event (so Pub/Sub retries) rather than a crash.
var handler = config.Lazy[*Handler]{New: func(ctx context.Context) (*Handler, error) {
	in, err := instance.FromEnv(ctx)
	if err != nil {
		return nil, err
	}
	return &Handler{Instance: in}, nil
}}

// requestLog logs requests refused before the handler is built.
var requestLog = logging.New(os.Stdout, slog.LevelInfo)

func handle(ctx context.Context, e event.Event) error {
	// A request that cannot be parsed is refused before any client is
	// built: it needs no I/O.
	msg, req, ok := decode(requestLog, e)
	if !ok {
		return nil
	}
	h, err := handler.Get(ctx)
	if err != nil {
		return fmt.Errorf("runconversion: starting: %w", err)
	}
	return h.handle(ctx, msg, req)
}

// Handler handles run requests with the instance's clients.
type Handler struct {
	*instance.Instance
}
