package runconversion

import (
	"fmt"
	"slices"
	"strings"
	"testing"

	"customconversions.dev/shared/store"
	"customconversions.dev/shared/testkit"
)

// badRowsSQL returns rows with each kind of bad value the extraction
// checks for, and two good ones. NaN is not among them: the emulator's
// SQLite reads NaN as NULL, so only infinity can show value_not_finite
// here.
const badRowsSQL = `SELECT 'b1' AS id, CAST(NULL AS TIMESTAMP) AS created, 'gbp ' AS currency,
  1.0 AS value, [STRUCT('' AS key, 'x' AS value)] AS params
UNION ALL
SELECT 'b2', TIMESTAMP '2999-01-01 00:00:00+00', 'POUND', IEEE_DIVIDE(1, 0),
  [STRUCT('city' AS key, 'Leeds' AS value)]
UNION ALL
SELECT 'b3', TIMESTAMP '2026-03-09 10:00:00+00', 'usd', 5.0,
  [STRUCT('  ' AS key, 'y' AS value)]
UNION ALL
SELECT 'g1', TIMESTAMP '2026-03-09 11:00:00+00', '', 2.5, [STRUCT('country' AS key, 'FR' AS value)]
UNION ALL
SELECT '  g2 ', TIMESTAMP '2026-03-09 12:00:00+00', ' eur', -3.0,
  CAST([] AS ARRAY<STRUCT<key STRING, value STRING>>)`

func TestBadValuesAreListedPerRow(t *testing.T) {
	e := newEnv(t)
	e.Define(t, "bad", badRowsSQL)
	if err := e.handle(t, `{"client_id": "{client}", "start_date": "2026-03-09"}`, "msg-bad"); err != nil {
		t.Fatalf("Handle = %v\nlogs:\n%s", err, e.Logs)
	}
	rows := e.staged(t, e.OnlyRun(t))

	// Worked out from badRowsSQL: empty currency reads as the client's
	// GBP; 'gbp ' and ' eur' are trimmed and upper-cased; ids are trimmed.
	want := map[string]struct {
		currency string
		problems []string
	}{
		"b1": {"GBP", []string{"created_missing", "param_empty_key"}},
		"b2": {"POUND", []string{"created_in_future", "currency_invalid", "value_not_finite"}},
		"b3": {"USD", []string{"param_empty_key"}},
		"g1": {"GBP", nil},
		"g2": {"EUR", nil},
	}
	if len(rows) != len(want) {
		t.Fatalf("staged rows %v; want %d", rows, len(want))
	}
	for id, w := range want {
		r, ok := rows[id]
		if !ok {
			t.Errorf("row %s missing; staged %v", id, rows)
			continue
		}
		if r.Currency.StringVal != w.currency || !slices.Equal(r.Problems, w.problems) {
			t.Errorf("row %s: currency %q, problems %v; want %q, %v", id, r.Currency.StringVal,
				r.Problems, w.currency, w.problems)
		}
		if slices.Contains(w.problems, "value_not_finite") && r.Value.Valid {
			t.Errorf("row %s: value %v; want NULL in place of a non-finite value", id, r.Value)
		}
	}
}

func TestBrokenDefinitionsFailWithClearErrors(t *testing.T) {
	tests := []struct {
		name, sql string
		want      []string
	}{
		{"syntax error", "SELECT id,, createdAt AS created FROM {orders}",
			[]string{"the definition's SQL", "Syntax error"}},
		{"created missing", "SELECT id FROM {orders}",
			[]string{"column created is missing"}},
		{"created as string", "SELECT id, CAST(createdAt AS STRING) AS created FROM {orders}",
			[]string{"column created is STRING: it must be TIMESTAMP"}},
		{"misspelt clientid", "SELECT id, userId AS clientid, createdAt AS created FROM {orders}",
			[]string{"column clientid is not in the output contract (did you mean client_id?"}},
		{"delete", "DELETE FROM {orders} WHERE TRUE",
			[]string{"starts with DELETE", "one SELECT statement"}},
		{"third parameter", "SELECT id, createdAt AS created FROM {orders} WHERE id = @order_id",
			[]string{"unknown query parameter @order_id"}},
		{"two statements", "SELECT createdAt AS created FROM {orders}; SELECT 1",
			[]string{"more than one statement"}},
		{"missing table", "SELECT id, createdAt AS created FROM {missing}",
			[]string{"the definition's SQL", "no_such_table"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			e := newEnv(t)
			testkit.LoadOrders(t, e.Dataset, "orders", nil)
			missing := strings.Replace(e.orders, "orders", "no_such_table", 1)
			sql := strings.NewReplacer("{orders}", e.orders, "{missing}", missing).Replace(tt.sql)
			e.Define(t, "broken", sql)

			if err := e.handle(t, `{"client_id": "{client}"}`, "msg-"+tt.name); err != nil {
				t.Fatalf("Handle = %v; want nil (a permanent error is recorded and acknowledged)", err)
			}
			run := e.OnlyRun(t)
			if run.State != store.StateFailed || len(run.Jobs) != 0 {
				t.Errorf("run state %q, jobs %v; want failed with no job", run.State, run.Jobs)
			}
			for _, w := range tt.want {
				if !strings.Contains(run.Error, w) {
					t.Errorf("run error = %q; want it to contain %q", run.Error, w)
				}
			}
			if !strings.Contains(e.Logs.String(), `"severity":"ERROR"`) ||
				!strings.Contains(e.Logs.String(), "run failed") {
				t.Errorf("logs = %s; want an ERROR line saying run failed", e.Logs)
			}
		})
	}
}

func TestThreeDeliveriesStartOneJob(t *testing.T) {
	e := newEnv(t)
	testkit.LoadOrders(t, e.Dataset, "orders", []testkit.Order{
		{ID: testkit.Str("o1"), CreatedAt: ts("2026-03-09T10:00:00Z"), OrderValue: testkit.Num(1), OrderStatus: "paid"},
	})
	e.Define(t, "orders", referenceSQL(e.orders))
	for i := range 3 {
		if err := e.handle(t, `{"client_id": "{client}"}`, "msg-same"); err != nil {
			t.Fatalf("delivery %d: Handle = %v", i+1, err)
		}
	}
	run := e.OnlyRun(t)
	if got := e.Jobs(t, run.ID+"_extract"); len(got) != 1 {
		t.Errorf("extraction jobs for run %s: %v; want exactly one", run.ID, got)
	}
	if len(e.staged(t, run)) != 1 {
		t.Error("want the one order staged once")
	}

	// A new message for the same day is a new run with its own job.
	if err := e.handle(t, `{"client_id": "{client}"}`, "msg-other"); err != nil {
		t.Fatal(err)
	}
	if runs := e.Runs(t); len(runs) != 2 || runs[0].ID == runs[1].ID {
		t.Errorf("runs after a second message = %v; want two distinct runs", runs)
	}
}

func TestSkippedAndRefusedRequests(t *testing.T) {
	tests := []struct {
		name      string
		change    func(*store.Client)
		data      string
		wantState string // "" when no run is recorded
		wantLog   string
	}{
		{"disabled client", func(c *store.Client) { c.Enabled = false }, `{"client_id": "{client}"}`,
			store.StateSkipped, "client is disabled"},
		{"other plan", func(c *store.Client) { c.Plan = "starter" }, `{"client_id": "{client}"}`,
			store.StateSkipped, `plan is \"starter\": custom conversions need the enterprise plan`},
		{"bad time zone", func(c *store.Client) { c.TimeZone = "Mars/Olympus" }, `{"client_id": "{client}"}`,
			store.StateFailed, `time_zone \"Mars/Olympus\" is not an IANA time zone`},
		{"unknown client", nil, `{"client_id": "nobody"}`, "", "unknown client nobody"},
		{"unknown conversion", nil, `{"client_id": "{client}", "conversion_id": "nope"}`, "",
			"has no conversion nope"},
		{"bad json", nil, `{"client_id": `, "", "message ends before its JSON object does"},
		{"future dates", nil, `{"client_id": "{client}", "start_date": "2026-03-11"}`,
			store.StateFailed, "is in the future"},
		{"inverted", nil, `{"client_id": "{client}", "start_date": "2026-03-05", "end_date": "2026-03-01"}`,
			store.StateFailed, "is before start_date"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			e := newEnv(t)
			e.Define(t, "orders", "SELECT CURRENT_TIMESTAMP() AS created")
			if tt.change != nil {
				tt.change(&e.Client)
				e.PutClient(t)
			}
			if err := e.handle(t, tt.data, "msg-1"); err != nil {
				t.Fatalf("Handle = %v; want nil: the request is acknowledged", err)
			}
			runs := e.Runs(t)
			if tt.wantState == "" {
				if len(runs) != 0 {
					t.Errorf("runs = %+v; want none", runs)
				}
			} else if len(runs) != 1 || runs[0].State != tt.wantState {
				t.Errorf("runs = %+v; want one %s", runs, tt.wantState)
			}
			if !strings.Contains(e.Logs.String(), tt.wantLog) {
				t.Errorf("logs = %s; want %q", e.Logs, tt.wantLog)
			}
		})
	}
}

func ExampleRequest() {
	r := Request{Request: testRequest("acme", "", "")}
	fmt.Println(r.trigger())
	r = Request{Request: testRequest("acme", "2026-01-01", "fix")}
	fmt.Println(r.trigger())
	// Output:
	// scheduled
	// manual
}
