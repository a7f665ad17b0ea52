// Package mergeconversion is the MergeConversion function: from a
// finished extraction job to deduplicated rows merged into the client's
// attribution table.
//
// It is triggered by the log sink's messages on the job-events topic (a
// Cloud Logging LogEntry in the message data) or by an Eventarc audit-log
// event carrying the same LogEntry. It ignores jobs that are not this
// product's extraction jobs. For one that is, it summarises the staged
// rows, refuses to merge when too many were rejected, and otherwise merges
// them in one atomic job and records the run.
//
// BUG: a row the definition no longer returns (an order deleted in the
// CRM) stays in the attribution table as it was last merged: the merge
// inserts and updates, it never deletes conversions.
package mergeconversion

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
const EntryPoint = "MergeConversion"

func init() {
	functions.CloudEvent(EntryPoint, handle)
}

// handler is built on the first event that needs it; see runconversion.
var handler = config.Lazy[*Handler]{New: func(ctx context.Context) (*Handler, error) {
	in, err := instance.FromEnv(ctx)
	if err != nil {
		return nil, err
	}
	return &Handler{Instance: in}, nil
}}

// eventLog logs events answered before the handler is built.
var eventLog = logging.New(os.Stdout, slog.LevelInfo)

func handle(ctx context.Context, e event.Event) error {
	// Most job events are not ours; those are answered before any client
	// is built, so a cold instance answers them quickly.
	job, ours := ourJob(eventLog, e)
	if !ours {
		return nil
	}
	h, err := handler.Get(ctx)
	if err != nil {
		return fmt.Errorf("mergeconversion: starting: %w", err)
	}
	return h.merge(ctx, job)
}

// Handler merges finished extraction jobs with the instance's clients.
type Handler struct {
	*instance.Instance
}

// Handle handles one job event. It returns nil when the event is done
// with (merged, recorded as failed, or not ours) and an error when a
// retry may succeed.
func (h *Handler) Handle(ctx context.Context, e event.Event) error {
	job, ours := ourJob(h.Log, e)
	if !ours {
		return nil
	}
	return h.merge(ctx, job)
}
