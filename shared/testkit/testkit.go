// Package testkit builds what the functions' tests feed them: Pub/Sub
// push events, log-sink job events, client and definition documents, and
// a CRM orders table in the shape of DESIGN.md's reference definition.
// Only tests import it.
package testkit

import (
	"context"
	"encoding/base64"
	"encoding/json"
	"testing"
	"time"

	"cloud.google.com/go/bigquery"
	"github.com/cloudevents/sdk-go/v2/event"

	"customconversions.dev/shared/events"
	"customconversions.dev/shared/logsink"
)

// PubSubEvent returns the messagePublished CloudEvent Pub/Sub delivers
// for a message with data, id and publish time.
func PubSubEvent(t testing.TB, data []byte, id string, published time.Time) event.Event {
	t.Helper()
	body, err := json.Marshal(map[string]any{
		"subscription": "projects/test/subscriptions/push",
		"message": map[string]any{
			"data":        base64.StdEncoding.EncodeToString(data),
			"messageId":   id,
			"publishTime": published.UTC().Format(time.RFC3339Nano),
		},
	})
	if err != nil {
		t.Fatal(err)
	}
	return RawEvent(t, events.TypeMessagePublished, body)
}

// RawEvent returns a CloudEvent of type typ whose data is body as is.
func RawEvent(t testing.TB, typ string, body []byte) event.Event {
	t.Helper()
	e := event.New()
	e.SetID("evt-" + time.Now().Format("150405.000000000"))
	e.SetSource("//pubsub.googleapis.com/projects/test/topics/test")
	e.SetType(typ)
	if err := e.SetData("application/json", json.RawMessage(body)); err != nil {
		t.Fatal(err)
	}
	return e
}

// JobEvent returns the event the log sink publishes when job is done: a
// messagePublished event whose data is the job's LogEntry, built as the
// local sink stand-in builds it.
func JobEvent(t testing.TB, ctx context.Context, job *bigquery.Job, msgID string) event.Event {
	t.Helper()
	if _, err := job.Status(ctx); err != nil {
		t.Fatalf("job %s status: %v", job.ID(), err)
	}
	entry, ok, err := logsink.Entry(ctx, job, job.Location())
	if err != nil || !ok {
		t.Fatalf("job %s: no sink entry (%v): is it a finished extraction job?", job.ID(), err)
	}
	return PubSubEvent(t, entry, msgID, time.Now())
}

// FailedJobEvent is JobEvent for job as if it had failed with the given
// audit-log code and message.
func FailedJobEvent(t testing.TB, ctx context.Context, job *bigquery.Job, code, msg string) event.Event {
	t.Helper()
	cfg, err := job.Config()
	if err != nil {
		t.Fatalf("job %s config: %v", job.ID(), err)
	}
	ev := events.JobEvent{ProjectID: job.ProjectID(), JobID: job.ID(), State: events.StateDone,
		Err: &events.JobError{Code: code, Message: msg}}
	if q, ok := cfg.(*bigquery.QueryConfig); ok {
		ev.Labels = q.Labels
	}
	entry, err := events.NewLogEntry(ev)
	if err != nil {
		t.Fatalf("NewLogEntry: %v", err)
	}
	return PubSubEvent(t, entry, "failed-"+job.ID(), time.Now())
}
