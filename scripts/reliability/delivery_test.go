package reliability

import (
	"context"
	"fmt"
	"math/rand/v2"
	"strings"
	"testing"
	"time"

	"github.com/cloudevents/sdk-go/v2/event"

	"customconversions.dev/shared/store"
)

// ordersSQL and callsSQL are the two conversions every tenant of the
// delivery test has. Their rows depend on the run's window, so that the
// second day updates rows the first day inserted; m scales the values so
// that two tenants' tables differ.
func ordersSQL(m int) string {
	return fmt.Sprintf(`SELECT 'o1' AS id, 'GA1.1' AS client_id,
  TIMESTAMP '2026-03-08 10:00:00+00' AS created, 100.0 * %[1]d AS value, TRUE AS is_qualified
UNION ALL SELECT 'o1', 'GA1.1', TIMESTAMP '2026-03-08 09:00:00+00', 500.0 * %[1]d, FALSE
UNION ALL SELECT 'o2', 'GA1.2', TIMESTAMP '2026-03-08 12:00:00+00', 40.0 * %[1]d,
  @end_date >= DATE '2026-03-09'
UNION ALL SELECT CAST(NULL AS STRING), 'GA1.3', TIMESTAMP '2026-03-07 08:00:00+00', 7.0 * %[1]d, TRUE`, m)
}

func callsSQL(m int) string {
	return fmt.Sprintf(`SELECT 'c1' AS id, CAST(NULL AS STRING) AS client_id,
  TIMESTAMP '2026-03-08 15:00:00+00' AS created,
  IF(@end_date >= DATE '2026-03-09', 12.0, 10.0) * %[1]d AS value, 'eur' AS currency,
  TRUE AS is_qualified
UNION ALL SELECT 'c2', NULL, TIMESTAMP '2026-03-09 16:00:00+00', 5.0 * %[1]d, 'usd', FALSE
  FROM UNNEST([1]) WHERE @end_date >= DATE '2026-03-09'`, m)
}

// days are the two scheduled requests of each tenant: published at 06:00
// UTC (06:00 in London in March), each covers the day before.
var days = []time.Time{
	time.Date(2026, 3, 9, 6, 0, 0, 0, time.UTC),
	time.Date(2026, 3, 10, 6, 0, 0, 0, time.UTC),
}

var conversions = []string{"calls", "orders"}

// wantTable is each tenant's table after both days, worked out from the
// definitions: o1 keeps its qualified row (100, not the unqualified 500),
// o2 turns qualified on the second day, the NULL-id row gets a generated
// id, c1's value moves from 10 to 12, c2 appears on the second day;
// currencies are upper-cased or the client's GBP. Values times m.
func wantTable(m int) string {
	return strings.Join([]string{
		fmt.Sprintf("calls/c1 2026-03-08T15:00 %d EUR q=true", 12*m),
		fmt.Sprintf("calls/c2 2026-03-09T16:00 %d USD q=false", 5*m),
		fmt.Sprintf("orders/gen 2026-03-07T08:00 %d GBP q=true", 7*m),
		fmt.Sprintf("orders/o1 2026-03-08T10:00 %d GBP q=true", 100*m),
		fmt.Sprintf("orders/o2 2026-03-08T12:00 %d GBP q=true", 40*m),
	}, "\n")
}

// wantCounts are each run's counts, by conversion and day, worked out the
// same way: read, duplicates, generated, inserted, updated, unchanged.
var wantCounts = map[string][6]int64{
	"orders/1": {4, 1, 1, 3, 0, 0},
	"calls/1":  {1, 0, 0, 1, 0, 0},
	"orders/2": {4, 1, 1, 0, 1, 2}, // o2 updated; o1 and the generated row unchanged
	"calls/2":  {2, 0, 0, 1, 1, 0}, // c2 inserted, c1 updated
}

func counts(r store.Run) [6]int64 {
	c := r.Counts
	return [6]int64{c.Read, c.Duplicates, c.Generated, c.Inserted, c.Updated, c.Unchanged}
}

// masked is the tenant's table with generated ids written as "gen".
func (tn *tenant) masked() string {
	var lines []string
	for _, r := range tn.attribution() {
		if r.IDGenerated {
			r.ID = "gen"
		}
		lines = append(lines, r.String())
	}
	return strings.Join(lines, "\n")
}

// scenario delivers both days' requests of each tenant and the events of
// the jobs they start, each message copies times.
type scenario struct {
	name    string
	copies  int
	shuffle bool // out of order and interleaved; else each copy straight after the first
	seed    uint64
}

// play runs the scenario on tenants and returns what it delivered, in order.
func (sc scenario) play(t *testing.T, w *world, tenants []*tenant) []string {
	t.Helper()
	ctx := context.Background()
	type reqKey struct {
		tn  *tenant
		day int
	}
	type evKey struct {
		tn   *tenant
		conv string
		day  int
	}
	reqs := map[reqKey]int{}
	evs := map[evKey]int{}
	built := map[evKey]event.Event{}
	var played []string

	msgID := func(k reqKey) string { return fmt.Sprintf("%s-day%d", k.tn.ID, k.day+1) }
	deliverReq := func(k reqKey) {
		played = append(played, fmt.Sprintf("request %s day %d #%d", k.tn.ID, k.day+1, reqs[k]+1))
		if err := w.deliverRequest(ctx, request(k.tn.ID), msgID(k), days[k.day]); err != nil {
			t.Fatalf("%s: RunConversion = %v\nlogs:\n%s", played[len(played)-1], err, w.logs)
		}
		if reqs[k]++; reqs[k] == 1 {
			for _, c := range conversions {
				run := k.tn.runOf(c, msgID(k))
				built[evKey{k.tn, c, k.day}] = w.jobEvent(run.Jobs["extract"])
			}
		}
	}
	deliverEv := func(k evKey) {
		played = append(played, fmt.Sprintf("event %s %s day %d #%d", k.tn.ID, k.conv, k.day+1, evs[k]+1))
		if err := w.deliverEvent(ctx, built[k]); err != nil {
			t.Fatalf("%s: MergeConversion = %v\nlogs:\n%s", played[len(played)-1], err, w.logs)
		}
		evs[k]++
	}

	if !sc.shuffle {
		for day := range days {
			for _, tn := range tenants {
				for range sc.copies {
					deliverReq(reqKey{tn, day})
				}
				for _, c := range conversions {
					for range sc.copies {
						deliverEv(evKey{tn, c, day})
					}
				}
			}
		}
		return played
	}

	// Out of order: at each step, any message that may be delivered now.
	// A request's job events exist only once it was handled, and one
	// conversion's days merge in order (its first event of day 2 comes
	// after its first of day 1); copies come at any later time.
	rng := rand.New(rand.NewPCG(sc.seed, 8))
	total := len(tenants) * len(days) * (1 + len(conversions)) * sc.copies
	for len(played) < total {
		var cands []func()
		for _, tn := range tenants {
			for day := range days {
				k := reqKey{tn, day}
				if n := reqs[k]; n > 0 && n < sc.copies || n == 0 && (day == 0 || reqs[reqKey{tn, day - 1}] > 0) {
					cands = append(cands, func() { deliverReq(k) })
				}
				if reqs[k] == 0 {
					continue
				}
				for _, c := range conversions {
					e := evKey{tn, c, day}
					if n := evs[e]; n > 0 && n < sc.copies || n == 0 && (day == 0 || evs[evKey{tn, c, day - 1}] > 0) {
						cands = append(cands, func() { deliverEv(e) })
					}
				}
			}
		}
		if len(cands) == 0 {
			t.Fatalf("scenario %s stuck after %v", sc.name, played)
		}
		cands[rng.IntN(len(cands))]()
	}
	return played
}

// TestAtLeastOnceDelivery delivers two tenants' requests and job events
// (two conversions each, two days) once, twice in order, and three times
// out of order and interleaved: every table must end as after one
// delivery, every run with the same counts, and no step of any run may
// have started a second BigQuery job. Each scenario has a world of its
// own and they run at once.
func TestAtLeastOnceDelivery(t *testing.T) {
	t.Parallel()
	scenarios := []scenario{
		{name: "once", copies: 1},
		{name: "twice in order", copies: 2},
		{name: "three times out of order", copies: 3, shuffle: true, seed: 20260310},
	}
	tables := make([][]string, len(scenarios))
	t.Run("scenarios", func(t *testing.T) {
		for i, sc := range scenarios {
			t.Run(sc.name, func(t *testing.T) {
				t.Parallel()
				w := newWorld(t)
				tenants := []*tenant{w.tenant("a"), w.tenant("b")}
				for j, tn := range tenants {
					tn.define("orders", ordersSQL(j+1))
					tn.define("calls", callsSQL(j+1))
				}
				played := sc.play(t, w, tenants)

				for j, tn := range tenants {
					if got, want := tn.masked(), wantTable(j+1); got != want {
						t.Errorf("%s: table\n%s\nwant\n%s\ndelivered: %s", tn.ID, got, want,
							strings.Join(played, "; "))
					}
					tables[i] = append(tables[i], tn.content())
					checkRuns(t, w, tn)
				}
				if w.logs.has("ERROR") {
					t.Errorf("ERROR logged:\n%s", w.logs)
				}
			})
		}
	})
	// Generated ids included, every scenario's tables are the first's.
	for i := 1; i < len(scenarios); i++ {
		for j := range tables[i] {
			if j < len(tables[0]) && tables[i][j] != tables[0][j] {
				t.Errorf("%s: tenant %d's table\n%s\ndiffers from one delivery's\n%s", scenarios[i].name,
					j, tables[i][j], tables[0][j])
			}
		}
	}
}

// checkRuns checks that the tenant has its four runs, each succeeded with
// the worked-out counts and one job per step.
func checkRuns(t *testing.T, w *world, tn *tenant) {
	t.Helper()
	runs := tn.runs()
	if len(runs) != len(days)*len(conversions) {
		t.Fatalf("%s has %d runs; want %d: %+v", tn.ID, len(runs), len(days)*len(conversions), runs)
	}
	jobs := w.jobs(tn.ID)
	for _, r := range runs {
		day := 1
		if r.WindowEnd == "2026-03-09" {
			day = 2
		}
		key := fmt.Sprintf("%s/%d", r.ConversionID, day)
		if r.State != store.StateSucceeded || counts(r) != wantCounts[key] {
			t.Errorf("%s run %s (%s): %s, counts %v; want succeeded, %v", tn.ID, r.ID, key, r.State,
				counts(r), wantCounts[key])
		}
		for _, s := range []string{"check", "extract", "summary", "merge"} {
			if n := jobs[r.ID+"/"+s]; n != 1 {
				t.Errorf("%s run %s (%s): %d %s jobs; want 1", tn.ID, r.ID, key, n, s)
			}
			delete(jobs, r.ID+"/"+s)
		}
	}
	if len(jobs) > 0 {
		t.Errorf("%s: jobs of no run's steps: %v", tn.ID, jobs)
	}
}
