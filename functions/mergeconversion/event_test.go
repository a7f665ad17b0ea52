package mergeconversion

import (
	"bytes"
	"context"
	"encoding/json"
	"log/slog"
	"os"
	"strings"
	"testing"
	"time"

	"customconversions.dev/shared/events"
	"customconversions.dev/shared/instance"
	"customconversions.dev/shared/logging"
	"customconversions.dev/shared/testkit"
)

func sample(t *testing.T, name string) []byte {
	t.Helper()
	b, err := os.ReadFile("../../shared/events/testdata/" + name)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// entry returns a current-format LogEntry for a finished job with labels.
func entry(t *testing.T, labels map[string]string) []byte {
	t.Helper()
	b, err := events.NewLogEntry(events.JobEvent{ProjectID: "cc-local", JobID: "job-1",
		State: events.StateDone, Labels: labels})
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// TestEventsThatAreNotOursAreAcknowledged needs no emulator: every event
// here is answered before the handler reads Firestore or BigQuery, which
// its nil store and warehouse would show by panicking.
func TestEventsThatAreNotOursAreAcknowledged(t *testing.T) {
	ours := func(step, run string) map[string]string {
		return map[string]string{"product": "custom-conversions", "client": "acme",
			"conversion": "orders", "run": run, "step": step}
	}
	goodRun := "20260309-20260309-0123456789"
	tests := []struct {
		name      string
		typ       string
		body      []byte
		severity  string
		wantInLog string
	}{
		{"legacy sample, another product's job", events.TypeAuditLogWritten,
			sample(t, "audit_LogEntryData-bigqueryjobcompleted.json"), "INFO", "not a job of this product"},
		{"job insertion entry", events.TypeAuditLogWritten,
			sample(t, "auditmetadata-jobinsertion.json"), "INFO", "not a BigQuery job completion"},
		{"our summary job", events.TypeAuditLogWritten, entry(t, ours("summary", goodRun)),
			"INFO", "not an extraction job"},
		{"path in run label", events.TypeAuditLogWritten, entry(t, ours("extract", "..-..-x")),
			"WARNING", "the job's labels name no valid run"},
		{"text message on the job topic", events.TypeMessagePublished,
			sample(t, "pubsub_MessagePublishedData-text.json"), "ERROR", "event refused"},
		{"not json", events.TypeAuditLogWritten, []byte(`"hello"`), "ERROR", "event refused"},
		{"storage event", "google.cloud.storage.object.v1.finalized", []byte(`{}`), "ERROR", "event refused"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			logs := &bytes.Buffer{}
			h := &Handler{Instance: &instance.Instance{Log: logging.New(logs, slog.LevelInfo), Now: time.Now}}
			ev := testkit.RawEvent(t, tt.typ, tt.body)
			if err := h.Handle(context.Background(), ev); err != nil {
				t.Fatalf("Handle = %v; want nil", err)
			}
			var line map[string]any
			if err := json.Unmarshal(logs.Bytes(), &line); err != nil {
				t.Fatalf("want one JSON log line, got %q: %v", logs, err)
			}
			if line["severity"] != tt.severity || !strings.Contains(line["message"].(string), tt.wantInLog) {
				t.Errorf("log %v; want %s with %q", line, tt.severity, tt.wantInLog)
			}
		})
	}
}

func TestAuditLogEventMerges(t *testing.T) {
	e := newEnv(t)
	run, job := e.Stage(t, "orders", rowsSQL(row{"o1", "2026-03-09 10:00:00+00", "paid", 3}), day, day, "m1")
	ctx := context.Background()
	st, err := job.Wait(ctx)
	if err != nil || st.Err() != nil {
		t.Fatalf("extraction: %v %v", err, st)
	}
	body, err := events.NewLogEntry(events.JobEvent{ProjectID: job.ProjectID(), JobID: job.ID(),
		State: events.StateDone, Labels: map[string]string{"product": "custom-conversions",
			"client": e.Client.ID, "conversion": "orders", "run": run.ID, "step": "extract"}})
	if err != nil {
		t.Fatal(err)
	}
	if err := e.h.Handle(ctx, testkit.RawEvent(t, events.TypeAuditLogWritten, body)); err != nil {
		t.Fatalf("Handle = %v\nlogs:\n%s", err, e.Logs)
	}
	if got := summary(e.table(t)); got != "orders/o1 2026-03-09T10:00:00Z 3 GBP q=true" {
		t.Errorf("table after an audit-log event\n%s\nwant o1", got)
	}
}
