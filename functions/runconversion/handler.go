package runconversion

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"time"

	"cloud.google.com/go/civil"
	"github.com/cloudevents/sdk-go/v2/event"

	"customconversions.dev/shared/events"
	"customconversions.dev/shared/failure"
	"customconversions.dev/shared/logging"
	"customconversions.dev/shared/request"
	"customconversions.dev/shared/store"
	"customconversions.dev/shared/warehouse"
)

// Handle handles one messagePublished event carrying a run request. It
// returns nil when the request is done or can never be (a permanent error,
// recorded and logged at ERROR), and an error when a retry may succeed.
func (h *Handler) Handle(ctx context.Context, e event.Event) error {
	msg, req, ok := decode(h.Log, e)
	if !ok {
		return nil
	}
	return h.handle(ctx, msg, req)
}

// decode reads the run request in e. It logs a request it refuses at
// ERROR (the message is acknowledged, never retried) and reports false.
func decode(log *slog.Logger, e event.Event) (events.Message, request.Request, bool) {
	msg, err := events.DecodeMessagePublished(e.Data())
	if err != nil {
		log.Error("request refused: "+err.Error(), "event_id", e.ID(),
			"action", "publish a Pub/Sub message whose data is a JSON run request")
		return events.Message{}, request.Request{}, false
	}
	req, err := request.Parse(msg.Data)
	if err != nil {
		log.Error("request refused: "+err.Error(), "message_id", msg.ID)
		return events.Message{}, request.Request{}, false
	}
	return msg, req, true
}

func (h *Handler) handle(ctx context.Context, msg events.Message, req request.Request) error {
	log := h.Log.With(logging.ClientKey, req.ClientID, "message_id", msg.ID)

	client, err := h.Store.Client(ctx, req.ClientID)
	if errors.Is(err, store.ErrNotFound) {
		log.Error(fmt.Sprintf("request refused: unknown client %s: create clients/%s first",
			req.ClientID, req.ClientID))
		return nil
	}
	if err != nil {
		return h.settle(log, err)
	}

	defs, err := h.definitions(ctx, client, req)
	if err != nil {
		return h.settle(log, err)
	}
	published := msg.PublishTime
	if published.IsZero() {
		published = h.Now()
	}

	var transient []error
	for _, d := range defs {
		r := Request{Client: client, Definition: d, Request: req, MessageID: msg.ID, Published: published}
		if err := h.run(ctx, r); err != nil {
			transient = append(transient, err)
		}
	}
	return errors.Join(transient...)
}

// settle logs a permanent error and acknowledges it, or returns a
// transient one for Pub/Sub to retry.
func (h *Handler) settle(log *slog.Logger, err error) error {
	if failure.IsPermanent(err) {
		log.Error("request refused: " + err.Error())
		return nil
	}
	return err
}

// definitions returns the definitions req covers: the one it names (even
// if disabled, for a deliberate rerun), or every enabled one.
func (h *Handler) definitions(ctx context.Context, c store.Client, req request.Request) ([]store.Definition, error) {
	if req.ConversionID != "" {
		d, err := h.Store.Definition(ctx, c.ID, req.ConversionID)
		if errors.Is(err, store.ErrNotFound) {
			return nil, failure.Permanent(fmt.Errorf("client %s has no conversion %s", c.ID, req.ConversionID))
		}
		if err != nil {
			return nil, err
		}
		return []store.Definition{d}, nil
	}
	all, err := h.Store.Definitions(ctx, c.ID)
	if err != nil {
		return nil, err
	}
	var defs []store.Definition
	for _, d := range all {
		// A document id is not a validated id: it would name tables, jobs
		// and labels, and reach SQL through them.
		if err := request.CheckID("conversion", d.ID); err != nil {
			h.Log.Error("conversion not run: "+err.Error()+": rename the conversion's document",
				logging.ClientKey, c.ID)
			continue
		}
		if d.Enabled {
			defs = append(defs, d)
		}
	}
	if len(defs) == 0 {
		h.Log.Warn("nothing to run: client has no enabled conversion", logging.ClientKey, c.ID)
	}
	return defs, nil
}

// Request is one conversion's share of a run request.
type Request struct {
	Client     store.Client
	Definition store.Definition
	Request    request.Request
	MessageID  string
	Published  time.Time
}

func (r Request) trigger() string {
	if r.Request.Manual() {
		return "manual"
	}
	return "scheduled"
}

// newRun returns the run record r starts with and the window it covers,
// and the permanent error that stops it before any job, if any.
func (r Request) newRun(now time.Time) (store.Run, request.Window, error) {
	run := store.Run{
		ClientID:       r.Client.ID,
		ConversionID:   r.Definition.ID,
		DefinitionHash: r.Definition.Hash,
		Trigger:        r.trigger(),
		MessageID:      r.MessageID,
		Reason:         r.Request.Reason,
		State:          store.StateExtracting,
		Attempt:        1,
		Jobs:           map[string]string{},
		Created:        now,
	}

	loc, lerr := r.Client.Location()
	if lerr != nil {
		loc = time.UTC // the client is refused below; its record still needs a day
	}
	w, werr := r.Request.Window(r.Published, loc)
	if werr != nil {
		// A refused window still names the record: the publish day.
		day := civil.DateOf(r.Published.In(loc))
		w = request.Window{Start: day, End: day}
	}
	run.ID = warehouse.RunID(r.Client.ID, r.Definition.ID, w, r.MessageID)
	run.WindowStart, run.WindowEnd = w.Start.String(), w.End.String()
	run.StagingTable = warehouse.StagingTable(r.Client.ID, r.Definition.ID, run.ID)

	switch {
	case !r.Client.Enabled:
		run.State = store.StateSkipped
		return run, w, errors.New("client is disabled: set enabled to true on the client to run it")
	case r.Client.Plan != store.PlanEnterprise:
		run.State = store.StateSkipped
		return run, w, fmt.Errorf("client's plan is %q: custom conversions need the %s plan",
			r.Client.Plan, store.PlanEnterprise)
	case werr != nil:
		return run, w, werr
	}
	return run, w, failure.Permanent(r.Client.Check())
}
