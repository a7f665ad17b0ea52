package runconversion

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"strings"
	"testing"
	"time"

	"cloud.google.com/go/bigquery"
	"google.golang.org/api/iterator"

	"customconversions.dev/shared/config"
	"customconversions.dev/shared/emulators"
	"customconversions.dev/shared/logging"
	"customconversions.dev/shared/request"
	"customconversions.dev/shared/store"
	"customconversions.dev/shared/testkit"
	"customconversions.dev/shared/warehouse"
)

func TestMain(m *testing.M) {
	os.Exit(emulators.Main(m, emulators.Options{Services: emulators.Firestore | emulators.BigQuery}))
}

// env is one test's own client, dataset and handler on the emulators.
type env struct {
	h       *Handler
	logs    *bytes.Buffer
	names   emulators.Names
	ds      *bigquery.Dataset
	bq      *bigquery.Client
	client  store.Client
	orders  string // the CRM table, as a quoted reference
	staging string
}

func newEnv(t *testing.T) *env {
	t.Helper()
	ctx := context.Background()
	stack := emulators.Shared(t)
	names := stack.NewNames(t)
	bq, err := stack.BigQuery(ctx)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { bq.Close() })
	ds := emulators.NewDataset(t, bq, names)
	stagingNames := names
	stagingNames.Dataset += "_stg"
	emulators.NewDataset(t, bq, stagingNames)

	cfg := config.Config{
		Project:          names.BigQueryProject,
		StagingDataset:   stagingNames.Dataset,
		Location:         "US",
		RejectThreshold:  0.05,
		StagingExpiry:    24 * time.Hour,
		ServiceAccount:   "cc-run@cc-local.iam.gserviceaccount.com",
		BigQueryEmulator: stack.BigQueryHost(),
	}
	st, err := store.New(ctx, names.Project)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { st.Close() })
	wh, err := warehouse.New(ctx, cfg)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { wh.Close() })

	logs := &bytes.Buffer{}
	e := &env{
		h: &Handler{Config: cfg, Store: st, Warehouse: wh, Now: time.Now,
			Log: logging.New(logs, slog.LevelInfo)},
		logs:    logs,
		names:   names,
		ds:      ds,
		bq:      bq,
		orders:  warehouse.Ref(names.BigQueryProject, names.Dataset, "orders"),
		staging: stagingNames.Dataset,
		client: store.Client{ID: "acme", DisplayName: "Acme", Plan: store.PlanEnterprise,
			Project: names.BigQueryProject, Dataset: names.Dataset, Currency: "GBP",
			TimeZone: "Europe/London", Enabled: true},
	}
	if err := st.PutClient(ctx, e.client); err != nil {
		t.Fatal(err)
	}
	return e
}

func (e *env) define(t *testing.T, id, sql string) {
	t.Helper()
	d := store.Definition{ID: id, Name: id, SQL: sql, Enabled: true, Hash: "h-" + id,
		Updated: time.Now(), Author: "test"}
	if err := e.h.Store.PutDefinition(context.Background(), e.client.ID, d); err != nil {
		t.Fatal(err)
	}
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
	Fingerprint int64                  `bigquery:"fingerprint"`
	Problems    []string               `bigquery:"problems"`
}

// staged waits for the run's extraction job and reads its staged rows,
// keyed by id.
func (e *env) staged(t *testing.T, run store.Run) map[string]stagedRow {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	job, err := e.bq.JobFromID(ctx, run.Jobs["extract"])
	if err != nil {
		t.Fatalf("extraction job %q: %v", run.Jobs["extract"], err)
	}
	st, err := job.Wait(ctx)
	if err != nil {
		t.Fatalf("extraction job: %v", err)
	}
	if err := st.Err(); err != nil {
		t.Fatalf("extraction job failed: %v", err)
	}
	it := e.bq.Dataset(e.staging).Table(run.StagingTable).Read(ctx)
	rows := map[string]stagedRow{}
	for {
		var r stagedRow
		err := it.Next(&r)
		if errors.Is(err, iterator.Done) {
			break
		}
		if err != nil {
			t.Fatalf("reading staged rows: %v", err)
		}
		rows[r.ID] = r
	}
	return rows
}

// onlyRun returns the single run recorded for the client.
func (e *env) onlyRun(t *testing.T) store.Run {
	t.Helper()
	runs, err := e.h.Store.Runs(context.Background(), e.client.ID, "", 10)
	if err != nil {
		t.Fatal(err)
	}
	if len(runs) != 1 {
		t.Fatalf("%d runs recorded; want 1: %+v\nlogs:\n%s", len(runs), runs, e.logs)
	}
	return runs[0]
}

func (e *env) handle(t *testing.T, data, msgID string) error {
	t.Helper()
	ev := testkit.PubSubEvent(t, []byte(data), msgID, published)
	return e.h.Handle(context.Background(), ev)
}

func TestReferenceRunStagesCheckedRows(t *testing.T) {
	e := newEnv(t)
	testkit.LoadOrders(t, e.ds, "orders", []testkit.Order{
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
	e.define(t, "orders", referenceSQL(e.orders))

	if err := e.handle(t, `{"client_id": "acme"}`, "msg-1"); err != nil {
		t.Fatalf("Handle = %v; want nil\nlogs:\n%s", err, e.logs)
	}
	run := e.onlyRun(t)
	if run.State != store.StateExtracting || run.WindowStart != "2026-03-09" ||
		run.WindowEnd != "2026-03-09" || run.Trigger != "scheduled" || run.MessageID != "msg-1" ||
		run.DefinitionHash != "h-orders" || run.Attempt != 1 {
		t.Errorf("run = %+v; want extracting, window 2026-03-09, scheduled, msg-1, h-orders, attempt 1", run)
	}
	wantJob := "cc_acme_orders_" + run.ID + "_extract"
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
	if o1.Fingerprint == o2.Fingerprint || o1.Fingerprint == 0 {
		t.Errorf("fingerprints o1 %d, o2 %d; want two different non-zero values", o1.Fingerprint, o2.Fingerprint)
	}
}

func testRequest(client, start, reason string) request.Request {
	return request.Request{ClientID: client, StartDate: start, Reason: reason}
}
