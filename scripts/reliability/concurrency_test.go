package reliability

import (
	"context"
	"sync"
	"testing"

	"github.com/cloudevents/sdk-go/v2/event"

	"customconversions.dev/shared/store"
)

// atOnce runs each delivery on a goroutine of its own, all released
// together (as instances of a function), and returns their errors.
func atOnce(deliveries ...func() error) []error {
	errs := make([]error, len(deliveries))
	start := make(chan struct{})
	var wg sync.WaitGroup
	for i, d := range deliveries {
		wg.Go(func() {
			<-start
			errs[i] = d()
		})
	}
	close(start)
	wg.Wait()
	return errs
}

func eventDelivery(w *world, ev event.Event) func() error {
	return func() error { return w.deliverEvent(context.Background(), ev) }
}

func requestDelivery(w *world, data []byte, msgID string) func() error {
	return func() error { return w.deliverRequest(context.Background(), data, msgID, days[1]) }
}

// TestRerunWhileTheScheduledRunIsInFlight publishes a manual rerun of the
// second day while the scheduled run of that day is merging: both runs
// merge into the same table at once; the table ends as after one.
func TestRerunWhileTheScheduledRunIsInFlight(t *testing.T) {
	t.Parallel()
	w, tn := faultWorld(t)
	scheduled := w.handled(tn, request(tn.ID), "day2", days[1])["orders"]
	scheduledEvent := w.jobEvent(scheduled.Jobs["extract"])

	// The rerun's request arrives while the scheduled run merges.
	errs := atOnce(eventDelivery(w, scheduledEvent), requestDelivery(w, rerun(tn, "rerun"), "rerun"))
	manual := tn.runOf("orders", "rerun")
	manualEvent := w.jobEvent(manual.Jobs["extract"])
	// Each run's event is delivered twice more, all four at once.
	errs = append(errs, atOnce(eventDelivery(w, scheduledEvent), eventDelivery(w, manualEvent),
		eventDelivery(w, scheduledEvent), eventDelivery(w, manualEvent))...)
	for i, err := range errs {
		if err != nil {
			t.Errorf("delivery %d: %v", i, err)
		}
	}

	for _, r := range []store.Run{tn.run(scheduled.ID), tn.run(manual.ID)} {
		if r.State != store.StateSucceeded || r.Counts.Read != 4 {
			t.Errorf("run %s (%s): %s, %+v; want succeeded, 4 rows read\nlogs:\n%s", r.ID, r.Trigger,
				r.State, r.Counts, w.logs)
		}
		wantJobs(t, w, tn, r.ID, map[string]int{"check": 1, "extract": 1, "summary": 1, "merge": 1})
	}
	if c := tn.masked(); c != ordersDay2 {
		t.Errorf("table after both runs\n%s\nwant\n%s", c, ordersDay2)
	}
}

// TestConversionsMergeIntoOneTableAtOnce merges two conversions of one
// client, and a redelivery of each, into the client's table at once.
func TestConversionsMergeIntoOneTableAtOnce(t *testing.T) {
	t.Parallel()
	w := newWorld(t)
	tn := w.tenant("a")
	tn.define("orders", ordersSQL(1))
	tn.define("calls", callsSQL(1))
	runs := w.handled(tn, request(tn.ID), "day2", days[1])
	if len(runs) != 2 {
		t.Fatalf("runs %+v; want one per conversion", runs)
	}
	orders, calls := w.jobEvent(runs["orders"].Jobs["extract"]), w.jobEvent(runs["calls"].Jobs["extract"])
	for i, err := range atOnce(eventDelivery(w, orders), eventDelivery(w, calls),
		eventDelivery(w, orders), eventDelivery(w, calls)) {
		if err != nil {
			t.Errorf("delivery %d: %v", i, err)
		}
	}

	// Worked out as in wantTable, for the second day alone: o2 already
	// qualified, c1 at 12 and c2 present.
	want := "calls/c1 2026-03-08T15:00 12 EUR q=true\n" +
		"calls/c2 2026-03-09T16:00 5 USD q=false\n" +
		"orders/gen 2026-03-07T08:00 7 GBP q=true\n" +
		"orders/o1 2026-03-08T10:00 100 GBP q=true\n" +
		"orders/o2 2026-03-08T12:00 40 GBP q=true"
	if got := tn.masked(); got != want {
		t.Errorf("table\n%s\nwant\n%s", got, want)
	}
	for conv, r := range runs {
		got := tn.run(r.ID)
		if got.State != store.StateSucceeded {
			t.Errorf("%s run: %s; want succeeded\nlogs:\n%s", conv, got.State, w.logs)
		}
		wantJobs(t, w, tn, r.ID, map[string]int{"check": 1, "extract": 1, "summary": 1, "merge": 1})
	}
}

// TestThreeInstancesTakeTheSameMessage delivers one request three times
// at once, then its job event three times at once.
func TestThreeInstancesTakeTheSameMessage(t *testing.T) {
	t.Parallel()
	w, tn := faultWorld(t)
	var reqs []func() error
	for range 3 {
		reqs = append(reqs, requestDelivery(w, request(tn.ID), "day2"))
	}
	for i, err := range atOnce(reqs...) {
		if err != nil {
			t.Errorf("request delivery %d: %v", i, err)
		}
	}
	run := tn.runOf("orders", "day2")
	ev := w.jobEvent(run.Jobs["extract"])
	var evs []func() error
	for range 3 {
		evs = append(evs, eventDelivery(w, ev))
	}
	for i, err := range atOnce(evs...) {
		if err != nil {
			t.Errorf("event delivery %d: %v", i, err)
		}
	}
	if got := tn.run(run.ID); got.State != store.StateSucceeded || got.Counts.Updated != 1 {
		t.Errorf("run %+v; want succeeded, o2 updated\nlogs:\n%s", got, w.logs)
	}
	if c := tn.masked(); c != ordersDay2 {
		t.Errorf("table\n%s\nwant\n%s", c, ordersDay2)
	}
	// Three instances may each run the check before any records the
	// extraction (a dry run in production, no job); the jobs that change
	// data start once.
	jobs := map[string]int{}
	for k, n := range w.jobs(tn.ID) {
		jobs[k] = n
	}
	for _, s := range []string{"extract", "summary", "merge"} {
		if n := jobs[run.ID+"/"+s]; n != 1 {
			t.Errorf("%d %s jobs; want 1 (all: %v)", n, s, jobs)
		}
	}
	if n := jobs[run.ID+"/check"]; n < 1 || n > 3 {
		t.Errorf("%d check jobs; want 1 to 3", n)
	}
}
