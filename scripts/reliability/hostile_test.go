package reliability

import (
	"context"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"strings"
	"testing"

	"github.com/cloudevents/sdk-go/v2/event"

	"customconversions.dev/shared/events"
	"customconversions.dev/shared/store"
	"customconversions.dev/shared/testkit"
	"customconversions.dev/shared/warehouse"
)

// envelope is a messagePublished body whose message data is base64 text
// as given (so that it may be broken).
func envelope(data64 string) []byte {
	b, _ := json.Marshal(map[string]any{"subscription": "projects/p/subscriptions/s",
		"message": map[string]any{"data": data64, "messageId": "m-1",
			"publishTime": "2026-03-10T06:00:00Z"}})
	return b
}

func b64(s string) string { return base64.StdEncoding.EncodeToString([]byte(s)) }

// rawEvent is a CloudEvent of type typ whose data is body, JSON or not,
// as an HTTP push may carry anything.
func rawEvent(typ string, body []byte) event.Event {
	e := event.New()
	e.SetID("raw-1")
	e.SetSource("//pubsub.googleapis.com/projects/p/topics/t")
	e.SetType(typ)
	e.SetDataContentType("application/json")
	e.DataEncoded = body
	return e
}

// inserts counts the jobs.insert calls the proxy has seen.
func (p *bqProxy) inserts() int {
	p.mu.Lock()
	defer p.mu.Unlock()
	n := 0
	for _, c := range p.calls {
		if c.Kind == "insert" {
			n++
		}
	}
	return n
}

// refused checks that a delivery was acknowledged, logged at ERROR with
// every part of want, and started no job.
func refused(t *testing.T, w *world, deliver func() error, severity string, want ...string) {
	t.Helper()
	figures.badInputs.Add(1)
	w.logs.reset()
	before := w.proxy.inserts()
	if err := deliver(); err != nil {
		t.Fatalf("delivery = %v; want nil: the message is acknowledged, never retried", err)
	}
	if !w.logs.has(severity, want...) {
		t.Errorf("logs:\n%s\nwant a %s line with %q", w.logs, severity, want)
	}
	if n := w.proxy.inserts() - before; n != 0 {
		t.Errorf("%d BigQuery jobs started; want none", n)
	}
}

// TestMalformedRunRequests delivers run requests that are broken at every
// level: the push body, the base64 data, the JSON, its fields and their
// values, ids made to reach other paths, tables or statements. Each is
// acknowledged with an ERROR line that says what was wrong, and nothing
// is recorded or started.
func TestMalformedRunRequests(t *testing.T) {
	t.Parallel()
	w := newWorld(t)
	tn := w.tenant("a")
	tn.define("orders", ordersSQL(1))
	id := tn.ID

	raw := func(body []byte) func() error {
		return func() error {
			figures.deliveries.Add(1)
			return w.runH.Handle(context.Background(), rawEvent(events.TypeMessagePublished, body))
		}
	}
	data := func(s string) func() error {
		return func() error {
			return w.deliverRequest(context.Background(), []byte(s), "m-1", published)
		}
	}
	huge := strings.Repeat("x", 20<<10)
	tests := []struct {
		name    string
		deliver func() error
		want    []string
	}{
		{"push body not JSON", raw([]byte("hello")), []string{"request refused", "decode pubsub event"}},
		{"push body a JSON array", raw([]byte("[1, 2]")), []string{"request refused", "decode pubsub event"}},
		{"no message", raw([]byte(`{"subscription": "s"}`)), []string{"has no message"}},
		{"data not base64", raw(envelope("{{not base64}}")), []string{"data is not base64"}},
		{"publish time not a time", raw([]byte(`{"message": {"data": "` + b64(`{"client_id": "`+id+`"}`) +
			`", "messageId": "1", "publishTime": "yesterday"}}`)), []string{"publishTime"}},
		{"two message ids", raw([]byte(`{"message": {"data": "", "messageId": "1", "message_id": "2"}}`)),
			[]string{"two messageId values"}},
		{"huge push body", raw(envelope(b64(`{"client_id": "` + id + `", "reason": "` +
			strings.Repeat("y", 8<<20) + `"}`))), []string{"more than the 16384 a run request may be"}},
		{"data too big", data(`{"client_id": "` + id + `", "reason": "` + huge + `"}`),
			[]string{"more than the 16384"}},
		{"data not UTF-8", data("\xff\xfe{}"), []string{"not UTF-8"}},
		{"empty data", data(""), []string{"empty message"}},
		{"bad JSON", data(`{"client_id": "` + id + `",}`), []string{"not valid JSON"}},
		{"truncated JSON", data(`{"client_id": `), []string{"ends before its JSON object does"}},
		{"JSON null", data(`null`), []string{"client_id is missing"}},
		{"client id empty", data(`{"client_id": ""}`), []string{"client_id is missing"}},
		{"JSON array", data(`["` + id + `"]`), []string{"a JSON array, not an object"}},
		{"JSON string", data(`"` + id + `"`), []string{"a JSON string, not an object"}},
		{"two objects", data(`{"client_id": "` + id + `"} {"client_id": "` + id + `"}`),
			[]string{"text after the JSON object"}},
		{"unknown field", data(`{"client_id": "` + id + `", "dry_run": true}`),
			[]string{`unknown field "dry_run"`}},
		{"misspelt field", data(`{"clientId": "` + id + `"}`), []string{`unknown field "clientId"`}},
		{"client id a number", data(`{"client_id": 42}`),
			[]string{"client_id must be a string, not a JSON number"}},
		{"date a number", data(`{"client_id": "` + id + `", "start_date": 20260301}`),
			[]string{"start_date must be a string"}},
		{"reason an object", data(`{"client_id": "` + id + `", "reason": {"why": 1}}`),
			[]string{"reason must be a string"}},
		{"reason too long", data(`{"client_id": "` + id + `", "reason": "` + strings.Repeat("r", 501) + `"}`),
			[]string{"reason is longer than 500 characters"}},
	}
	for _, d := range []string{"2026-02-30", "2026-13-01", "2026-3-1", "20260301", "2026-03-01T00:00:00Z",
		" 2026-03-01", "01/03/2026", "2026-03-01' OR '1'='1"} {
		tests = append(tests, struct {
			name    string
			deliver func() error
			want    []string
		}{"date " + d, data(string(request(id, "start_date", "2026-03-01", "end_date", d))),
			[]string{"end_date", "not a calendar date in the form YYYY-MM-DD"}})
	}
	for _, bad := range hostileIDs(id) {
		tests = append(tests, struct {
			name    string
			deliver func() error
			want    []string
		}{fmt.Sprintf("client id %q", bad), data(string(request(bad))),
			[]string{"client_id", "is not valid: use 1 to 40 lowercase letters"}},
			struct {
				name    string
				deliver func() error
				want    []string
			}{fmt.Sprintf("conversion id %q", bad), data(string(request(id, "conversion_id", bad))),
				[]string{"conversion_id", "is not valid: use 1 to 40 lowercase letters"}})
	}
	tests = append(tests, []struct {
		name    string
		deliver func() error
		want    []string
	}{
		// Go reads year 0; BigQuery's DATE starts at 0001-01-01.
		{"date in year 0", data(string(request(id, "start_date", "0000-12-31"))),
			[]string{"start_date", "before 0001-01-01"}},
		{"unknown client", data(string(request(id + "-x"))), []string{"unknown client " + id + "-x"}},
		{"unknown conversion", data(string(request(id, "conversion_id", "orders-x"))),
			[]string{"has no conversion orders-x"}},
	}...)

	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			refused(t, w, tt.deliver, "ERROR", tt.want...)
		})
	}
	if runs := tn.runs(); len(runs) != 0 {
		t.Errorf("runs recorded: %+v; want none", runs)
	}
	clients, err := w.store.Clients(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	if len(clients) != 1 || clients[0].ID != id {
		t.Errorf("client documents %+v; want only %s", clients, id)
	}
}

// hostileIDs are client or conversion ids made to reach another path,
// table, label or statement: each must be refused as it is.
func hostileIDs(valid string) []string {
	return []string{
		"../" + valid, valid + "/runs/x", valid + "/../other", "..", ".", valid + "\\x",
		strings.ToUpper(valid), " " + valid, valid + " ", valid + "\n", valid + "\x00",
		valid + "'", valid + "\"", valid + "`", valid + "`; DROP TABLE x; --",
		valid + "' OR '1'='1", valid + ";", valid + ".custom_conversions", valid + ":other",
		valid + "@x", valid + "%2F..", "-" + valid, "_" + valid, strings.Repeat("a", 41),
		"\u0430cme", // a Cyrillic a, looking like acme
		valid + "\u200b", valid + "é", "*", "?", "#",
	}
}

// ours are the labels of the tenant's extraction job of run.
func ours(client, run string) map[string]string {
	return warehouse.Labels(client, "orders", run, warehouse.StepExtract)
}

func logEntry(t *testing.T, jobID string, labels map[string]string, state string) []byte {
	t.Helper()
	b, err := events.NewLogEntry(events.JobEvent{ProjectID: "cc-local", JobID: jobID, State: state,
		Labels: labels})
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// TestMalformedJobEvents delivers job events that are broken, that are
// not this product's, or whose labels point somewhere they must not:
// each is acknowledged and logged, and changes no run and no table.
func TestMalformedJobEvents(t *testing.T) {
	t.Parallel()
	w := newWorld(t)
	a, b := w.tenant("a"), w.tenant("b")
	for _, tn := range []*tenant{a, b} {
		tn.define("orders", ordersSQL(1))
	}
	runA := w.handled(a, request(a.ID), "day1", days[0])["orders"]
	runB := w.handled(b, request(b.ID), "day1", days[0])["orders"]
	jobA, jobB := runA.Jobs["extract"], runB.Jobs["extract"]

	pubsub := func(body []byte) func() error {
		return func() error {
			return w.deliverEvent(context.Background(), testkit.PubSubEvent(t, body, "e-1", published))
		}
	}
	rawEvent := func(typ string, body []byte) func() error {
		return func() error {
			return w.deliverEvent(context.Background(), rawEvent(typ, body))
		}
	}
	entry := func(jobID string, labels map[string]string) func() error {
		return pubsub(logEntry(t, jobID, labels, events.StateDone))
	}
	relabel := func(l map[string]string, k, v string) map[string]string {
		m := map[string]string{}
		for kk, vv := range l {
			m[kk] = vv
		}
		m[k] = v
		return m
	}

	tests := []struct {
		name     string
		deliver  func() error
		severity string
		want     []string
	}{
		{"push body not JSON", rawEvent(events.TypeMessagePublished, []byte("hello")), "ERROR",
			[]string{"event refused"}},
		{"data not base64", rawEvent(events.TypeMessagePublished, envelope("%%%")), "ERROR",
			[]string{"event refused", "not base64"}},
		{"data not a log entry", pubsub([]byte("hello")), "ERROR", []string{"event refused"}},
		{"data a JSON array", pubsub([]byte("[]")), "ERROR", []string{"event refused"}},
		{"other event type", rawEvent("google.cloud.storage.object.v1.finalized", []byte(`{}`)), "ERROR",
			[]string{"event refused", "has type"}},
		{"audit log not JSON", rawEvent(events.TypeAuditLogWritten, []byte("{")), "ERROR",
			[]string{"event refused"}},
		{"entry without payload", pubsub([]byte(`{"logName": "x"}`)), "INFO",
			[]string{"not a BigQuery job completion"}},
		{"huge entry", entry(jobA, relabel(ours(a.ID, runA.ID), "run", strings.Repeat("9", 4<<20))),
			"WARNING", []string{"labels name no valid run"}},
		{"another product's job", entry(jobA, relabel(ours(a.ID, runA.ID), "product", "other")), "INFO",
			[]string{"not a job of this product"}},
		{"no labels", entry(jobA, nil), "INFO", []string{"not a job of this product"}},
		{"a merge job", entry(jobA, relabel(ours(a.ID, runA.ID), "step", "merge")), "INFO",
			[]string{"not an extraction job"}},
		{"client label with a path", entry(jobA, relabel(ours(a.ID, runA.ID), "client", "../"+b.ID)),
			"WARNING", []string{"labels name no valid run"}},
		{"client label upper-case", entry(jobA, relabel(ours(a.ID, runA.ID), "client", strings.ToUpper(a.ID))),
			"WARNING", []string{"labels name no valid run"}},
		{"run label not a run", entry(jobA, relabel(ours(a.ID, runA.ID), "run", "../../runs/x")),
			"WARNING", []string{"labels name no valid run"}},
		{"run label of another client", entry(jobA, relabel(ours(a.ID, runA.ID), "run", runB.ID)),
			"WARNING", []string{"no such run recorded"}},
		{"labels of another client's run", entry(jobA, ours(b.ID, runB.ID)), "INFO",
			[]string{"not the run's current extraction job"}},
		{"another client's job, own labels", entry(jobB, ours(a.ID, runA.ID)), "INFO",
			[]string{"not the run's current extraction job"}},
		{"conversion label of another conversion", entry(jobB,
			relabel(ours(b.ID, runA.ID), "conversion", "calls")), "WARNING", []string{"no such run recorded"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			refused(t, w, tt.deliver, tt.severity, tt.want...)
		})
	}
	for _, r := range []struct {
		tn  *tenant
		run store.Run
	}{{a, runA}, {b, runB}} {
		if got := r.tn.run(r.run.ID); got.State != store.StateExtracting {
			t.Errorf("%s's run after the events: %s; want still extracting", r.tn.ID, got.State)
		}
		if c := r.tn.masked(); c != "" {
			t.Errorf("%s's table after the events\n%s\nwant none", r.tn.ID, c)
		}
	}

	// The real events still merge each run into its own table only.
	for _, r := range []struct {
		tn  *tenant
		run store.Run
	}{{a, runA}, {b, runB}} {
		if got := w.merged(r.tn, r.run); got.State != store.StateSucceeded {
			t.Errorf("%s's run %+v; want succeeded", r.tn.ID, got)
		}
		if c := r.tn.masked(); c != ordersDay1 {
			t.Errorf("%s's table\n%s\nwant\n%s", r.tn.ID, c, ordersDay1)
		}
	}
}
