package reliability

import (
	"context"
	"encoding/json"
	"errors"
	"time"

	"cloud.google.com/go/bigquery"
	"github.com/cloudevents/sdk-go/v2/event"
	"google.golang.org/api/googleapi"

	"customconversions.dev/shared/events"
	"customconversions.dev/shared/store"
	"customconversions.dev/shared/testkit"
)

// published is when the suite's scheduled requests were published:
// 2026-03-10 06:00 in London, so that they cover 2026-03-09.
var published = time.Date(2026, 3, 10, 6, 0, 0, 0, time.UTC)

// request returns a run request's message data.
func request(client string, fields ...string) []byte {
	m := map[string]string{"client_id": client}
	for i := 0; i+1 < len(fields); i += 2 {
		m[fields[i]] = fields[i+1]
	}
	b, _ := json.Marshal(m)
	return b
}

// deliverRequest delivers a run request to RunConversion, as Pub/Sub push
// does, published at pub.
func (w *world) deliverRequest(ctx context.Context, data []byte, msgID string, pub time.Time) error {
	figures.deliveries.Add(1)
	ctx, cancel := bounded(ctx)
	defer cancel()
	return w.runH.Handle(ctx, testkit.PubSubEvent(w.t, data, msgID, pub))
}

// bounded gives a delivery the deadline a function instance has (its
// timeout), unless it has one already. The proxy keeps a deadline that
// passes mid-call from reaching the emulator.
func bounded(ctx context.Context) (context.Context, context.CancelFunc) {
	if _, ok := ctx.Deadline(); ok {
		return context.WithCancel(ctx)
	}
	return context.WithTimeout(ctx, 2*time.Minute)
}

// jobEvent returns the job-events message the log sink publishes for a
// finished job, read through the proxy (which knows the jobs it failed),
// as shared/logsink reads it: the error from the job's status, or else
// from its results, where the emulator leaves it.
func (w *world) jobEvent(jobID string) event.Event {
	w.t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	job, err := w.sink.JobFromID(ctx, jobID)
	if err != nil {
		w.t.Fatalf("job %s: %v", jobID, err)
	}
	cfg, err := job.Config()
	if err != nil {
		w.t.Fatalf("job %s: %v", jobID, err)
	}
	ev := events.JobEvent{ProjectID: job.ProjectID(), JobID: job.ID(), Location: "US",
		State: events.StateDone}
	if q, ok := cfg.(*bigquery.QueryConfig); ok {
		ev.Labels = q.Labels
	}
	st, err := job.Wait(ctx)
	var gerr *googleapi.Error
	switch {
	case err == nil && st.Err() != nil:
		ev.Err = &events.JobError{Code: "INVALID_ARGUMENT", Message: st.Err().Error()}
	case errors.As(err, &gerr) && gerr.Code < 500:
		ev.Err = &events.JobError{Code: "INVALID_ARGUMENT", Message: gerr.Message}
	case err != nil:
		w.t.Fatalf("job %s: %v", jobID, err)
	}
	if st != nil && st.Statistics != nil {
		ev.TotalProcessedBytes = st.Statistics.TotalBytesProcessed
	}
	entry, err := events.NewLogEntry(ev)
	if err != nil {
		w.t.Fatal(err)
	}
	return testkit.PubSubEvent(w.t, entry, "sink-"+jobID, time.Now())
}

// deliverEvent delivers a job event to MergeConversion.
func (w *world) deliverEvent(ctx context.Context, ev event.Event) error {
	figures.deliveries.Add(1)
	ctx, cancel := bounded(ctx)
	defer cancel()
	return w.mergeH.Handle(ctx, ev)
}

// handled delivers a run request once and returns the runs it made, one
// per conversion, keyed by conversion.
func (w *world) handled(tn *tenant, data []byte, msgID string, pub time.Time) map[string]store.Run {
	w.t.Helper()
	if err := w.deliverRequest(context.Background(), data, msgID, pub); err != nil {
		w.t.Fatalf("RunConversion(%s) = %v\nlogs:\n%s", data, err, w.logs)
	}
	out := map[string]store.Run{}
	for _, r := range tn.runs() {
		if r.MessageID == msgID {
			out[r.ConversionID] = r
		}
	}
	return out
}

// merged delivers the event of run's extraction job once and returns
// the run as recorded afterwards.
func (w *world) merged(tn *tenant, run store.Run) store.Run {
	w.t.Helper()
	if err := w.deliverEvent(context.Background(), w.jobEvent(run.Jobs["extract"])); err != nil {
		w.t.Fatalf("MergeConversion(%s) = %v\nlogs:\n%s", run.ID, err, w.logs)
	}
	return tn.run(run.ID)
}

// day runs one conversion's request for published day pub end to end,
// once, and returns its run.
func (w *world) day(tn *tenant, conversion string, pub time.Time, msgID string) store.Run {
	w.t.Helper()
	runs := w.handled(tn, request(tn.ID, "conversion_id", conversion), msgID, pub)
	run, ok := runs[conversion]
	if !ok {
		w.t.Fatalf("no run of %s for message %s\nlogs:\n%s", conversion, msgID, w.logs)
	}
	if run.State != store.StateExtracting {
		return run
	}
	return w.merged(tn, run)
}
