package reliability

import (
	"context"
	"strings"
	"testing"
	"time"

	"cloud.google.com/go/bigquery"

	"customconversions.dev/shared/store"
	"customconversions.dev/shared/warehouse"
)

// The orders conversion's table after its first and second day (see
// ordersSQL), generated ids masked: o2 turns qualified on the second.
const (
	ordersDay1 = "orders/gen 2026-03-07T08:00 7 GBP q=true\n" +
		"orders/o1 2026-03-08T10:00 100 GBP q=true\n" +
		"orders/o2 2026-03-08T12:00 40 GBP q=false"
	ordersDay2 = "orders/gen 2026-03-07T08:00 7 GBP q=true\n" +
		"orders/o1 2026-03-08T10:00 100 GBP q=true\n" +
		"orders/o2 2026-03-08T12:00 40 GBP q=true"
)

// rerun is the manual rerun of the orders conversion's second day.
func rerun(tn *tenant, reason string) []byte {
	return request(tn.ID, "conversion_id", "orders", "start_date", "2026-03-09", "reason", reason)
}

// faultWorld is a world whose tenant has merged the orders conversion's
// first day, as every fault below starts from.
func faultWorld(t *testing.T) (*world, *tenant) {
	t.Helper()
	w := newWorld(t)
	tn := w.tenant("a")
	tn.define("orders", ordersSQL(1))
	if r := w.day(tn, "orders", days[0], "day1"); r.State != store.StateSucceeded {
		t.Fatalf("first day: %+v\nlogs:\n%s", r, w.logs)
	}
	if got := tn.masked(); got != ordersDay1 {
		t.Fatalf("after the first day the table is\n%s\nwant\n%s", got, ordersDay1)
	}
	return w, tn
}

// wantJobs checks a run's job count per step; steps not listed have none.
func wantJobs(t *testing.T, w *world, tn *tenant, run string, want map[string]int) {
	t.Helper()
	got := map[string]int{}
	for k, n := range w.jobs(tn.ID) {
		if r, step, _ := strings.Cut(k, "/"); r == run {
			got[step] = n
		}
	}
	for _, s := range []string{"check", "extract", "summary", "merge", "reject"} {
		if got[s] != want[s] {
			t.Errorf("run %s: %d %s jobs; want %d (all: %v)", run, got[s], s, want[s], got)
		}
	}
}

func TestFailedExtraction(t *testing.T) {
	t.Parallel()
	w, tn := faultWorld(t)
	figures.faults.Add(1)

	// The second day's window reaches a CRM row the export broke: the
	// extraction job fails on the emulator itself.
	tn.define("orders", ordersSQL(1)+`
UNION ALL SELECT 'bad', NULL, TIMESTAMP '2026-03-09 01:00:00+00', 1.0,
  IF(ERROR('the CRM export is corrupt') IS NULL, TRUE, FALSE)
  FROM UNNEST([1]) WHERE @end_date >= DATE '2026-03-09'`)
	run := w.handled(tn, request(tn.ID), "day2", days[1])["orders"]
	if run.State != store.StateExtracting {
		t.Fatalf("day 2 run %+v; want extracting", run)
	}
	ev := w.jobEvent(run.Jobs["extract"])
	for i := range 2 { // the event, then a redelivery of it
		if err := w.deliverEvent(context.Background(), ev); err != nil {
			t.Fatalf("delivery %d: MergeConversion = %v", i+1, err)
		}
	}
	if err := w.deliverRequest(context.Background(), request(tn.ID), "day2", days[1]); err != nil {
		t.Fatalf("request redelivered: %v", err)
	}

	got := tn.run(run.ID)
	if got.State != store.StateFailed || !strings.Contains(got.Error, "the extraction job failed") ||
		!strings.Contains(got.Error, "the CRM export is corrupt") {
		t.Errorf("run %s: %s, %q; want failed, naming the failed extraction and its cause", run.ID,
			got.State, got.Error)
	}
	if c := tn.masked(); c != ordersDay1 {
		t.Errorf("table after the failed extraction\n%s\nwant it untouched\n%s", c, ordersDay1)
	}
	wantJobs(t, w, tn, run.ID, map[string]int{"check": 1, "extract": 1})
	if !w.logs.has("ERROR", "run failed", "the CRM export is corrupt") {
		t.Errorf("no ERROR line for the failed run:\n%s", w.logs)
	}

	// The export is repaired: a rerun of the day completes it.
	tn.define("orders", ordersSQL(1))
	again := w.day(tn, "orders", days[1].Add(3*time.Hour), "rerun")
	if again.State != store.StateSucceeded || again.Counts.Updated != 1 {
		t.Errorf("rerun %+v; want succeeded, o2 updated", again)
	}
	if c := tn.masked(); c != ordersDay2 {
		t.Errorf("table after the rerun\n%s\nwant\n%s", c, ordersDay2)
	}
}

// breakAttribution replaces the tenant's attribution table by one whose
// run_id column is INT64, rows kept, so that the merge's INSERT (its first
// statement) fails on the emulator; mend puts the right table back.
func breakAttribution(t *testing.T, w *world, tn *tenant) (mend func()) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	ds := w.bq.Dataset(tn.Dataset)
	cols := "conversion_id, id, id_generated, client_id, created, value, currency, is_qualified, " +
		"params, user_id, fingerprint, first_seen, updated_at"
	copyRows := func(from, to, runID string) {
		t.Helper()
		sql := "INSERT INTO " + tn.table(to) + " (" + cols + ", run_id) SELECT " + cols + ", " +
			runID + " FROM " + tn.table(from)
		if err := runSQL(ctx, w.bq, sql); err != nil {
			t.Fatalf("copying %s to %s: %v", from, to, err)
		}
	}
	schema := func(runType bigquery.FieldType) bigquery.Schema {
		var s bigquery.Schema
		for _, f := range warehouse.AttributionSchema {
			g := *f
			if g.Name == "run_id" {
				g.Type = runType
			}
			s = append(s, &g)
		}
		return s
	}
	create := func(name string, runType bigquery.FieldType) {
		t.Helper()
		if err := ds.Table(name).Create(ctx, &bigquery.TableMetadata{Schema: schema(runType)}); err != nil {
			t.Fatalf("creating %s: %v", name, err)
		}
	}
	drop := func(name string) {
		t.Helper()
		if err := ds.Table(name).Delete(ctx); err != nil {
			t.Fatalf("dropping %s: %v", name, err)
		}
	}

	create("saved", bigquery.StringFieldType)
	copyRows(warehouse.AttributionTable, "saved", "run_id")
	drop(warehouse.AttributionTable)
	create(warehouse.AttributionTable, bigquery.IntegerFieldType)
	copyRows("saved", warehouse.AttributionTable, "0")
	return func() {
		ctx, cancel = context.WithTimeout(context.Background(), time.Minute)
		defer cancel()
		drop(warehouse.AttributionTable)
		create(warehouse.AttributionTable, bigquery.StringFieldType)
		copyRows("saved", warehouse.AttributionTable, "run_id")
	}
}

func runSQL(ctx context.Context, bq *bigquery.Client, sql string) error {
	job, err := bq.Query(sql).Run(ctx)
	if err != nil {
		return err
	}
	st, err := job.Wait(ctx)
	if err != nil {
		return err
	}
	return st.Err()
}

func TestFailedMerge(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name string
		// fault breaks the merge of run; it returns what mends it.
		fault      func(t *testing.T, w *world, tn *tenant, run store.Run) (mend func())
		wantError  []string
		wantMerges int
		// deliveries is how many deliveries of the event it takes to
		// record the failure; each before the last returns an error, for
		// Pub/Sub to deliver again after its backoff. Zero means one.
		deliveries int
	}{
		{
			// On the emulator: the attribution table changed under the
			// product, and the merge's first statement fails.
			name: "emulator: attribution table broken",
			fault: func(t *testing.T, w *world, tn *tenant, run store.Run) func() {
				return breakAttribution(t, w, tn)
			},
			wantError:  []string{"_merge", "run_id"},
			wantMerges: 1,
		},
		{
			// No emulator fault makes a job fail as a whole with a
			// permission error: the proxy answers as BigQuery would once
			// the service account lost write access to the dataset.
			name: "proxy: access to the dataset revoked",
			fault: func(t *testing.T, w *world, tn *tenant, run store.Run) func() {
				w.proxy.add(&rule{match: inserts(run.ID, "merge"), left: -1, failJob: &jobError{
					Reason: "accessDenied", Message: "Access Denied: Table " + tn.Project + ":" +
						tn.Dataset + ".custom_conversions: Permission bigquery.tables.updateData denied"}})
				return w.proxy.clear
			},
			wantError: []string{"accessDenied", "grant cc-functions@cc-local.iam.gserviceaccount.com " +
				"BigQuery Data Editor (roles/bigquery.dataEditor) on dataset t", "in project cc-local, then rerun"},
			wantMerges: 1,
		},
		{
			// The proxy fails every merge attempt for a passing reason.
			// Each delivery starts one new attempt and returns its error,
			// so Pub/Sub's backoff spaces the attempts; the fifth
			// delivery spends the last attempt and records the run failed.
			name: "proxy: BigQuery backend errors on every attempt",
			fault: func(t *testing.T, w *world, tn *tenant, run store.Run) func() {
				w.proxy.add(&rule{match: inserts(run.ID, "merge"), left: -1, failJob: &jobError{
					Reason: "backendError", Message: "Backend error. Job aborted."}})
				return w.proxy.clear
			},
			wantError:  []string{"backendError", "gave up after 5 attempts"},
			wantMerges: 5,
			deliveries: 5,
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			w, tn := faultWorld(t)
			figures.faults.Add(1)
			run := w.handled(tn, request(tn.ID), "day2", days[1])["orders"]
			mend := tt.fault(t, w, tn, run)
			ev := w.jobEvent(run.Jobs["extract"])

			// A failure no retry of the event can mend is recorded and
			// acknowledged; a passing one is returned until the attempts
			// are spent.
			n := max(tt.deliveries, 1)
			for i := 1; i <= n; i++ {
				err := w.deliverEvent(context.Background(), ev)
				if i < n && err == nil {
					t.Errorf("delivery %d: MergeConversion = nil; want the passing error, for a retry", i)
				}
				if i == n && err != nil {
					t.Errorf("MergeConversion = %v; want nil: the failure is recorded and acknowledged", err)
				}
			}
			got := tn.run(run.ID)
			t.Logf("run error: %s", got.Error)
			if got.State != store.StateFailed {
				t.Errorf("run %s: %s; want failed\nlogs:\n%s", run.ID, got.State, w.logs)
			}
			for _, want := range tt.wantError {
				if !strings.Contains(got.Error, want) {
					t.Errorf("run error %q; want it to contain %q", got.Error, want)
				}
			}
			mend()
			if c := tn.masked(); c != ordersDay1 {
				t.Errorf("table after the failed merge\n%s\nwant it untouched\n%s", c, ordersDay1)
			}
			wantJobs(t, w, tn, run.ID, map[string]int{"check": 1, "extract": 1, "summary": 1,
				"merge": tt.wantMerges})

			// The cause mended, a rerun of the day completes it.
			again := w.day(tn, "orders", days[1].Add(3*time.Hour), "rerun")
			if again.State != store.StateSucceeded || again.Counts.Updated != 1 {
				t.Errorf("rerun %+v; want succeeded, o2 updated\nlogs:\n%s", again, w.logs)
			}
			if c := tn.masked(); c != ordersDay2 {
				t.Errorf("table after the rerun\n%s\nwant\n%s", c, ordersDay2)
			}
		})
	}
}

// TestMergeRetriesAPassingFailure fails the first merge attempt for a
// passing reason: that delivery returns the error, for Pub/Sub to deliver
// again after its backoff, and the next delivery merges under the next
// attempt. The
// emulator runs one DML statement at a time and never reports a
// concurrent update, so the proxy answers with BigQuery's.
func TestMergeRetriesAPassingFailure(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name string
		err  jobError
	}{
		{"backend error", jobError{Reason: "backendError", Message: "Backend error. Job aborted."}},
		{"concurrent update", jobError{Reason: "invalidQuery", Message: "Transaction is aborted due to " +
			"concurrent update against table cc-local:attribution.custom_conversions."}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			w, tn := faultWorld(t)
			figures.faults.Add(1)
			run := w.handled(tn, request(tn.ID), "day2", days[1])["orders"]
			w.proxy.add(&rule{match: inserts(run.ID, "merge"), left: 1, failJob: &tt.err})

			ev := w.jobEvent(run.Jobs["extract"])
			if err := w.deliverEvent(context.Background(), ev); err == nil {
				t.Errorf("first delivery: MergeConversion = nil; want the passing error, for a retry")
			}
			got := w.merged(tn, run)
			if got.State != store.StateSucceeded || !strings.HasSuffix(got.Jobs["merge"], "_merge_2") {
				t.Errorf("run %+v; want succeeded by the second merge attempt\nlogs:\n%s", got, w.logs)
			}
			if c := tn.masked(); c != ordersDay2 {
				t.Errorf("table\n%s\nwant\n%s", c, ordersDay2)
			}
			wantJobs(t, w, tn, run.ID, map[string]int{"check": 1, "extract": 1, "summary": 1, "merge": 2})
		})
	}
}

// TestKilledAfterStartingAJob kills a function instance (its context
// cancelled) just after BigQuery accepted one of its jobs and before it
// recorded anything more; the proxy keeps the emulator from seeing the
// abandoned call. Pub/Sub then delivers again whatever was not
// acknowledged, in the order given.
func TestKilledAfterStartingAJob(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name string
		step string // the job whose start the instance does not outlive
		// order is what is delivered after the kill: "request" or "event",
		// each until acknowledged.
		order []string
	}{
		{"RunConversion after the extraction, event first", "extract", []string{"event", "request", "event"}},
		{"RunConversion after the extraction, request first", "extract", []string{"request", "event"}},
		{"MergeConversion after the summary", "summary", []string{"event"}},
		{"MergeConversion after the merge", "merge", []string{"event"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			w, tn := faultWorld(t)
			figures.faults.Add(1)
			ctx, kill := context.WithCancel(context.Background())
			w.proxy.add(&rule{left: 1, after: func(call) { kill() },
				match: func(c call) bool {
					return c.Kind == "insert" && c.Labels["client"] == tn.ID && c.Labels["step"] == tt.step &&
						strings.HasPrefix(c.Labels["run"], "20260309")
				}})

			data := request(tn.ID)
			var err error
			if tt.step == "extract" {
				err = w.deliverRequest(ctx, data, "day2", days[1])
			} else {
				run := w.handled(tn, data, "day2", days[1])["orders"]
				err = w.deliverEvent(ctx, w.jobEvent(run.Jobs["extract"]))
			}
			if err == nil {
				t.Fatalf("the killed delivery returned nil; want its context's error")
			}
			run := tn.runOf("orders", "day2")

			acked := map[string]bool{}
			for _, what := range tt.order {
				for n := 0; n < 3 && !acked[what]; n++ {
					if what == "request" {
						err = w.deliverRequest(context.Background(), data, "day2", days[1])
					} else {
						ev := w.jobEvent(w.extractJobID(tn, run.ID))
						err = w.deliverEvent(context.Background(), ev)
					}
					acked[what] = err == nil
				}
			}
			got := tn.run(run.ID)
			if got.State != store.StateSucceeded {
				t.Errorf("run %+v; want succeeded\nlogs:\n%s", got, w.logs)
			}
			if c := tn.masked(); c != ordersDay2 {
				t.Errorf("table\n%s\nwant\n%s", c, ordersDay2)
			}
			// The check is a dry run in production, no job: run again after
			// a kill it is one more probe query on the emulator.
			checks := 1
			if tt.step == "extract" {
				checks = 2
			}
			wantJobs(t, w, tn, run.ID, map[string]int{"check": checks, "extract": 1, "summary": 1,
				"merge": 1})
		})
	}
}

// extractJobID is the id of the run's first extraction attempt, which the
// log sink reports whether or not the run recorded it.
func (w *world) extractJobID(tn *tenant, run string) string {
	return warehouse.JobID(tn.ID, "orders", run, warehouse.StepExtract, 1)
}
