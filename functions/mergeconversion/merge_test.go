package mergeconversion

import (
	"context"
	"fmt"
	"os"
	"sort"
	"strings"
	"testing"
	"time"

	"cloud.google.com/go/bigquery"
	"cloud.google.com/go/civil"

	"customconversions.dev/shared/emulators"
	"customconversions.dev/shared/store"
	"customconversions.dev/shared/testkit"
	"customconversions.dev/shared/warehouse"
)

func TestMain(m *testing.M) {
	os.Exit(emulators.Main(m, emulators.Options{Services: emulators.Firestore | emulators.BigQuery}))
}

type env struct {
	*testkit.Env
	h *Handler
}

func newEnv(t *testing.T) *env {
	t.Helper()
	e := testkit.NewEnv(t)
	return &env{Env: e, h: &Handler{Instance: e.Instance()}}
}

var day = civil.Date{Year: 2026, Month: 3, Day: 9}

// row is one literal row of a test definition.
type row struct {
	id, created, status string
	value               float64
}

// rowsSQL is a definition returning rows as literals.
func rowsSQL(rows ...row) string {
	var parts []string
	for _, r := range rows {
		id := "CAST(NULL AS STRING)"
		if r.id != "" {
			id = "'" + r.id + "'"
		}
		parts = append(parts, fmt.Sprintf("SELECT %s AS id, 'GA1.%s' AS client_id, "+
			"TIMESTAMP '%s' AS created, %g AS value, %s AS is_qualified",
			id, r.id, r.created, r.value, fmt.Sprint(r.status == "paid")))
	}
	return strings.Join(parts, "\nUNION ALL\n")
}

// merge stages sql as a run of conversion and delivers the extraction
// job's event to the handler times times.
func (e *env) merge(t *testing.T, conversion, sql, msgID string, times int) store.Run {
	t.Helper()
	run, job := e.Stage(t, conversion, sql, day, day, msgID)
	ev := testkit.JobEvent(t, context.Background(), job, "evt-"+msgID)
	for i := range times {
		if err := e.h.Handle(context.Background(), ev); err != nil {
			t.Fatalf("delivery %d: Handle = %v\nlogs:\n%s", i+1, err, e.Logs)
		}
	}
	got, err := e.Store.Run(context.Background(), e.Client.ID, run.ID)
	if err != nil {
		t.Fatal(err)
	}
	return got
}

// attributed is an attribution row as the test reads it.
type attributed struct {
	ConversionID string              `bigquery:"conversion_id"`
	ID           string              `bigquery:"id"`
	IDGenerated  bool                `bigquery:"id_generated"`
	ClientID     bigquery.NullString `bigquery:"client_id"`
	Created      time.Time           `bigquery:"created"`
	Value        float64             `bigquery:"value"`
	Currency     string              `bigquery:"currency"`
	IsQualified  bool                `bigquery:"is_qualified"`
	FirstSeen    time.Time           `bigquery:"first_seen"`
	RunID        string              `bigquery:"run_id"`
}

func (a attributed) String() string {
	return fmt.Sprintf("%s/%s %s %g %s q=%v", a.ConversionID, a.ID, a.Created.UTC().Format(time.RFC3339),
		a.Value, a.Currency, a.IsQualified)
}

// table reads the attribution table, sorted by conversion and id.
func (e *env) table(t *testing.T) []attributed {
	t.Helper()
	rows := testkit.Query[attributed](t, e.BQ, "SELECT conversion_id, id, id_generated, client_id, "+
		"created, value, currency, is_qualified, first_seen, run_id FROM "+
		e.Table(warehouse.AttributionTable)+" ORDER BY conversion_id, id")
	sort.Slice(rows, func(i, j int) bool {
		return rows[i].ConversionID+"/"+rows[i].ID < rows[j].ConversionID+"/"+rows[j].ID
	})
	return rows
}

// summary is the table as one comparable string.
func summary(rows []attributed) string {
	var s []string
	for _, r := range rows {
		if r.IDGenerated {
			r.ID = "gen"
		}
		s = append(s, r.String())
	}
	sort.Strings(s)
	return strings.Join(s, "\n")
}

func TestFirstRunInsertsAndSecondUpdatesInPlace(t *testing.T) {
	e := newEnv(t)
	first := e.merge(t, "orders", rowsSQL(
		row{"o1", "2026-03-09 10:00:00+00", "paid", 100},
		row{"o2", "2026-03-09 11:00:00+00", "pending", 50},
		row{"o2", "2026-03-09 11:00:00+00", "paid", 50}, // same id: the qualified one stays
		row{"", "2026-03-08 09:00:00+00", "paid", 7},    // NULL id: generated
	), "m1", 1)

	if first.State != store.StateSucceeded {
		t.Fatalf("first run %+v; want succeeded\nlogs:\n%s", first, e.Logs)
	}
	c := first.Counts
	if c.Read != 4 || c.Rejected != 0 || c.Duplicates != 1 || c.Generated != 1 ||
		c.Inserted != 3 || c.Updated != 0 || c.Unchanged != 0 {
		t.Errorf("first counts %+v; want read 4, duplicates 1, generated 1, inserted 3", c)
	}
	want := "orders/gen 2026-03-08T09:00:00Z 7 GBP q=true\n" +
		"orders/o1 2026-03-09T10:00:00Z 100 GBP q=true\n" +
		"orders/o2 2026-03-09T11:00:00Z 50 GBP q=true"
	rows := e.table(t)
	if got := summary(rows); got != want {
		t.Fatalf("after the first run the table is\n%s\nwant\n%s", got, want)
	}
	firstSeen := map[string]time.Time{}
	for _, r := range rows {
		firstSeen[r.ID] = r.FirstSeen
	}

	// The next day: o1 unchanged, o2's value changed and its created moved
	// to another day, o3 new, the generated-id row again.
	second := e.merge(t, "orders", rowsSQL(
		row{"o1", "2026-03-09 10:00:00+00", "paid", 100},
		row{"o2", "2026-03-10 08:00:00+00", "paid", 55},
		row{"o3", "2026-03-09 12:00:00+00", "pending", 20},
		row{"", "2026-03-08 09:00:00+00", "paid", 7},
	), "m2", 1)
	c = second.Counts
	if second.State != store.StateSucceeded || c.Inserted != 1 || c.Updated != 1 || c.Unchanged != 2 {
		t.Errorf("second run %s %+v; want succeeded, inserted 1, updated 1, unchanged 2", second.State, c)
	}
	want = "orders/gen 2026-03-08T09:00:00Z 7 GBP q=true\n" +
		"orders/o1 2026-03-09T10:00:00Z 100 GBP q=true\n" +
		"orders/o2 2026-03-10T08:00:00Z 55 GBP q=true\n" +
		"orders/o3 2026-03-09T12:00:00Z 20 GBP q=false"
	rows = e.table(t)
	if got := summary(rows); got != want {
		t.Fatalf("after the second run the table is\n%s\nwant\n%s", got, want)
	}
	for _, r := range rows {
		if fs, ok := firstSeen[r.ID]; ok && !r.FirstSeen.Equal(fs) {
			t.Errorf("%s first_seen %v; want it kept from the first run, %v", r.ID, r.FirstSeen, fs)
		}
		wantRun := first.ID
		if r.ID == "o2" || r.ID == "o3" {
			wantRun = second.ID
		}
		if r.RunID != wantRun {
			t.Errorf("%s run_id %s; want %s (unchanged rows keep the run that wrote them)", r.ID, r.RunID, wantRun)
		}
	}
}

func TestDuplicatesCollapseByTieBreak(t *testing.T) {
	e := newEnv(t)
	run := e.merge(t, "orders", rowsSQL(
		// d: qualified beats a later, larger unqualified row.
		row{"d", "2026-03-09 20:00:00+00", "pending", 900},
		row{"d", "2026-03-09 08:00:00+00", "paid", 1},
		// e: both qualified, the later created wins.
		row{"e", "2026-03-09 08:00:00+00", "paid", 900},
		row{"e", "2026-03-09 09:00:00+00", "paid", 1},
		// f: same status and created, the higher value wins.
		row{"f", "2026-03-09 08:00:00+00", "paid", 2},
		row{"f", "2026-03-09 08:00:00+00", "paid", 3},
		row{"f", "2026-03-09 08:00:00+00", "paid", 1},
	), "m1", 1)
	if run.Counts.Duplicates != 4 || run.Counts.Inserted != 3 {
		t.Errorf("counts %+v; want 4 duplicates dropped and 3 rows inserted", run.Counts)
	}
	want := "orders/d 2026-03-09T08:00:00Z 1 GBP q=true\n" +
		"orders/e 2026-03-09T09:00:00Z 1 GBP q=true\n" +
		"orders/f 2026-03-09T08:00:00Z 3 GBP q=true"
	if got := summary(e.table(t)); got != want {
		t.Errorf("table\n%s\nwant\n%s", got, want)
	}
}

func TestThreeDeliveriesLeaveTheSameTableAsOne(t *testing.T) {
	rows := rowsSQL(
		row{"o1", "2026-03-09 10:00:00+00", "paid", 100},
		row{"o2", "2026-03-09 11:00:00+00", "pending", 50},
		row{"", "2026-03-09 12:00:00+00", "paid", 5},
	)
	once := newEnv(t)
	once.merge(t, "orders", rows, "m1", 1)
	thrice := newEnv(t)
	run := thrice.merge(t, "orders", rows, "m1", 3)

	a, b := summary(once.table(t)), summary(thrice.table(t))
	if a != b || len(strings.Split(b, "\n")) != 3 {
		t.Errorf("three deliveries left\n%s\none left\n%s\nwant the same three rows", b, a)
	}
	if jobs := thrice.Jobs(t, run.ID+"_merge"); len(jobs) != 1 {
		t.Errorf("merge jobs %v; want one", jobs)
	}
	if run.Counts.Inserted != 3 {
		t.Errorf("counts after three deliveries %+v; want those of the first (3 inserted)", run.Counts)
	}
}

func TestTooManyRejectedMergesNothing(t *testing.T) {
	e := newEnv(t)
	e.merge(t, "orders", rowsSQL(row{"keep", "2026-03-01 10:00:00+00", "paid", 1}), "m0", 1)

	var rows []row
	for i := range 10 {
		created := "2026-03-09 10:00:00+00"
		if i < 3 {
			created = "2999-01-01 00:00:00+00" // in the future: rejected
		}
		rows = append(rows, row{fmt.Sprintf("r%d", i), created, "paid", float64(i)})
	}
	run := e.merge(t, "orders", rowsSQL(rows...), "m1", 1)

	if run.State != store.StateFailed {
		t.Fatalf("run %+v; want failed", run)
	}
	for _, w := range []string{"3 of 10 rows (30.0%) were rejected, more than the 5.0% allowed",
		"nothing was merged", "created_in_future 3", warehouse.RejectedTable} {
		if !strings.Contains(run.Error, w) {
			t.Errorf("run error %q; want it to contain %q", run.Error, w)
		}
	}
	if got := run.Counts; got.Read != 10 || got.Rejected != 3 || got.RejectedByReason["created_in_future"] != 3 ||
		strings.Join(got.RejectedSamples, ",") != "r0,r1,r2" || got.Inserted != 0 {
		t.Errorf("counts %+v; want 10 read, 3 rejected for created_in_future, samples r0,r1,r2, none inserted", got)
	}
	if got := summary(e.table(t)); got != "orders/keep 2026-03-01T10:00:00Z 1 GBP q=true" {
		t.Errorf("table after the refused run\n%s\nwant only the earlier row", got)
	}
	type rejected struct {
		ID       string   `bigquery:"id"`
		RunID    string   `bigquery:"run_id"`
		Problems []string `bigquery:"problems"`
	}
	got := testkit.Query[rejected](t, e.BQ, "SELECT id, run_id, problems FROM "+
		e.Table(warehouse.RejectedTable)+" ORDER BY id")
	if len(got) != 3 || got[0].ID != "r0" || got[2].ID != "r2" || got[0].RunID != run.ID ||
		strings.Join(got[1].Problems, ",") != "created_in_future" {
		t.Errorf("rejected rows %+v; want r0..r2 of run %s, each created_in_future", got, run.ID)
	}
	if !strings.Contains(e.Logs.String(), `"severity":"ERROR"`) {
		t.Errorf("logs %s; want the failed run at ERROR", e.Logs)
	}
}

func TestFailedExtractionLeavesTheTableUntouched(t *testing.T) {
	e := newEnv(t)
	e.merge(t, "orders", rowsSQL(row{"keep", "2026-03-01 10:00:00+00", "paid", 1}), "m0", 1)
	before := summary(e.table(t))

	run, job := e.Stage(t, "orders", rowsSQL(row{"new", "2026-03-09 10:00:00+00", "paid", 2}), day, day, "m1")
	ev := testkit.FailedJobEvent(t, context.Background(), job, "PERMISSION_DENIED",
		"Access Denied: Table client-crm:crm.orders: User does not have permission to query table "+
			"client-crm:crm.orders, or perhaps it does not exist.")
	if err := e.h.Handle(context.Background(), ev); err != nil {
		t.Fatalf("Handle = %v; want nil: a failed extraction is recorded and acknowledged", err)
	}
	got, err := e.Store.Run(context.Background(), e.Client.ID, run.ID)
	if err != nil {
		t.Fatal(err)
	}
	for _, w := range []string{"the extraction job failed", "grant " + e.Config.ServiceAccount,
		"BigQuery Data Viewer (roles/bigquery.dataViewer)", "in project client-crm",
		"BigQuery User (roles/bigquery.user) on project client-crm"} {
		if !strings.Contains(got.Error, w) {
			t.Errorf("run error %q; want it to contain %q", got.Error, w)
		}
	}
	if got.State != store.StateFailed {
		t.Errorf("run state %s; want failed", got.State)
	}
	if after := summary(e.table(t)); after != before {
		t.Errorf("table after a failed extraction\n%s\nwant it untouched\n%s", after, before)
	}
}
