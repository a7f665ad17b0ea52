package runconversion

import (
	"context"
	"fmt"
	"os"
	"strings"
	"testing"
	"time"

	"cloud.google.com/go/bigquery"

	"customconversions.dev/shared/emulators"
	"customconversions.dev/shared/request"
	"customconversions.dev/shared/store"
	"customconversions.dev/shared/testkit"
	"customconversions.dev/shared/warehouse"
)

func TestMain(m *testing.M) {
	os.Exit(emulators.Main(m, emulators.Options{Services: emulators.Firestore | emulators.BigQuery}))
}

// env is one test's own client and datasets, and a handler on them.
type env struct {
	*testkit.Env
	h      *Handler
	orders string // the CRM table, as a quoted reference
}

func newEnv(t *testing.T) *env {
	t.Helper()
	e := testkit.NewEnv(t)
	return &env{Env: e, orders: e.Table("orders"),
		h: &Handler{Instance: e.Instance()}}
}

// referenceSQL is DESIGN.md's reference definition on table.
func referenceSQL(table string) string {
	return `SELECT id, userId AS client_id, createdAt AS created,
  orderValue AS value, 'GBP' AS currency,
  IF(orderStatus IN ('confirmed', 'paid'), TRUE, FALSE) AS is_qualified,
  ARRAY(SELECT AS STRUCT * FROM UNNEST(properties)
        WHERE key IN ('country', 'region', 'city')) AS params
FROM ` + table + `
WHERE DATE(createdAt) BETWEEN DATE_SUB(@start_date, INTERVAL 30 DAY)
  AND @end_date`
}

// published is when the test's scheduled messages were published:
// 2026-03-10 06:00 in London, so the run covers 2026-03-09.
var published = time.Date(2026, 3, 10, 6, 0, 0, 0, time.UTC)

func ts(s string) time.Time {
	t, err := time.Parse(time.RFC3339, s)
	if err != nil {
		panic(err)
	}
	return t
}

// stagedRow is a staged row as the test reads it back.
type stagedRow struct {
	ID          string                 `bigquery:"id"`
	IDGenerated bool                   `bigquery:"id_generated"`
	ClientID    bigquery.NullString    `bigquery:"client_id"`
	Created     bigquery.NullTimestamp `bigquery:"created"`
	Value       bigquery.NullFloat64   `bigquery:"value"`
	Currency    bigquery.NullString    `bigquery:"currency"`
	IsQualified bool                   `bigquery:"is_qualified"`
	Params      []testkit.Property     `bigquery:"params"`
	UserID      bigquery.NullString    `bigquery:"user_id"`
	Fingerprint string                 `bigquery:"fingerprint"`
	Problems    []string               `bigquery:"problems"`
}

// staged waits for the run's extraction job and reads its staged rows,
// keyed by id.
func (e *env) staged(t *testing.T, run store.Run) map[string]stagedRow {
	t.Helper()
	e.Wait(t, run.Jobs["extract"])
	sql := "SELECT * FROM " + warehouse.Ref(e.Config.Project, e.Config.StagingDataset, run.StagingTable)
	rows := map[string]stagedRow{}
	for _, r := range testkit.Query[stagedRow](t, e.BQ, sql) {
		rows[r.ID] = r
	}
	return rows
}

func (e *env) handle(t *testing.T, data, msgID string) error {
	t.Helper()
	data = strings.ReplaceAll(data, "{client}", e.Client.ID)
	ev := testkit.PubSubEvent(t, []byte(data), msgID, published)
	return e.h.Handle(context.Background(), ev)
}

func TestReferenceRunStagesCheckedRows(t *testing.T) {
	e := newEnv(t)
	testkit.LoadOrders(t, e.Dataset, "orders", []testkit.Order{
		{ID: testkit.Str("o1"), UserID: testkit.Str("GA1.1.111"), CreatedAt: ts("2026-03-09T10:00:00Z"),
			OrderValue: testkit.Num(120.5), OrderStatus: "paid",
			Properties: testkit.Props("country", "GB", "utm", "x", "city", "London")},
		{ID: testkit.Str("o2"), CreatedAt: ts("2026-03-01T08:30:00Z"), OrderValue: testkit.Num(40),
			OrderStatus: "pending"},
		// Before the 30-day look-back (2026-02-07) and after the window.
		{ID: testkit.Str("o3"), CreatedAt: ts("2026-02-06T23:00:00Z"), OrderStatus: "paid"},
		{ID: testkit.Str("o4"), CreatedAt: ts("2026-03-10T01:00:00Z"), OrderStatus: "paid"},
		{UserID: testkit.Str("GA1.1.555"), CreatedAt: ts("2026-03-05T12:00:00Z"),
			OrderValue: testkit.Num(10), OrderStatus: "confirmed"},
	})
	e.Define(t, "orders", referenceSQL(e.orders))

	if err := e.handle(t, `{"client_id": "{client}"}`, "msg-1"); err != nil {
		t.Fatalf("Handle = %v; want nil\nlogs:\n%s", err, e.Logs)
	}
	run := e.OnlyRun(t)
	if run.State != store.StateExtracting || run.WindowStart != "2026-03-09" ||
		run.WindowEnd != "2026-03-09" || run.Trigger != "scheduled" || run.MessageID != "msg-1" ||
		run.DefinitionHash != "h-orders" || run.Attempt != 1 {
		t.Errorf("run = %+v; want extracting, window 2026-03-09, scheduled, msg-1, h-orders, attempt 1", run)
	}
	wantJob := "cc_" + e.Client.ID + "_orders_" + run.ID + "_extract"
	if run.Jobs["extract"] != wantJob {
		t.Errorf("extract job = %q; want %q", run.Jobs["extract"], wantJob)
	}

	rows := e.staged(t, run)
	if len(rows) != 3 {
		t.Fatalf("staged %d rows %v; want o1, o2 and one with a generated id", len(rows), rows)
	}
	o1 := rows["o1"]
	if o1.IDGenerated || o1.ClientID.StringVal != "GA1.1.111" || !o1.Created.Timestamp.Equal(ts("2026-03-09T10:00:00Z")) ||
		o1.Value.Float64 != 120.5 || o1.Currency.StringVal != "GBP" || !o1.IsQualified ||
		fmt.Sprint(o1.Params) != "[{country GB} {city London}]" || o1.UserID.Valid || len(o1.Problems) != 0 {
		t.Errorf("o1 = %+v; want GA1.1.111, 2026-03-09T10:00Z, 120.5 GBP, qualified, "+
			"params country GB and city London, no user id, no problems", o1)
	}
	o2 := rows["o2"]
	if o2.ClientID.Valid || o2.IsQualified || o2.Value.Float64 != 40 || len(o2.Params) != 0 || len(o2.Problems) != 0 {
		t.Errorf("o2 = %+v; want no client id, unqualified, 40, no params, no problems", o2)
	}
	var gen stagedRow
	for id, r := range rows {
		if strings.HasPrefix(id, "gen-") {
			gen = r
		}
	}
	if !gen.IDGenerated || len(gen.ID) != len("gen-")+32 || gen.ClientID.StringVal != "GA1.1.555" || !gen.IsQualified {
		t.Errorf("generated row = %+v; want id gen- and 32 hex digits, flagged, GA1.1.555, qualified", gen)
	}
	if o1.Fingerprint == o2.Fingerprint || len(o1.Fingerprint) != 32 || len(o2.Fingerprint) != 32 {
		t.Errorf("fingerprints o1 %q, o2 %q; want two different 32-digit values", o1.Fingerprint, o2.Fingerprint)
	}
}

func testRequest(client, start, reason string) request.Request {
	return request.Request{ClientID: client, StartDate: start, Reason: reason}
}
