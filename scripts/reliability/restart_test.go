package reliability

import (
	"context"
	"testing"
	"time"

	"customconversions.dev/shared/emulators"
	"customconversions.dev/shared/store"
)

// outage is how long a delivery waits, once an emulator is down, before
// its instance gives up: the clients retry until then, and the delivery
// returns their error for Pub/Sub to deliver again.
const outage = 1500 * time.Millisecond

// deliverDown delivers while an emulator goes down (when down closes) and
// checks that the delivery ends with an error (Pub/Sub delivers again)
// rather than an acknowledgement.
func deliverDown(t *testing.T, what string, down <-chan struct{}, deliver func(ctx context.Context) error) {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	go func() {
		select {
		case <-down:
			time.Sleep(outage)
			cancel()
		case <-ctx.Done():
		}
	}()
	if err := deliver(ctx); err == nil {
		t.Fatalf("%s while an emulator was down: acknowledged; want an error, so that "+
			"Pub/Sub delivers it again", what)
	}
}

// TestBigQueryUnreachableBetweenSteps cuts the functions off BigQuery
// between the steps of a run. The cut is the proxy's port closing
// (connection refused, as from a stopped emulator) rather than a restart
// of the emulator itself: the BigQuery emulator, started again on the
// same --database file, has lost every dataset, table and job (measured
// with v0.6.6), which no production outage does.
func TestBigQueryUnreachableBetweenSteps(t *testing.T) {
	t.Parallel()
	w := newWorld(t)
	tn := w.tenant("a")
	tn.define("orders", ordersSQL(1))
	ctx := context.Background()

	// Down before the request: the check cannot run, no job starts.
	figures.faults.Add(1)
	w.proxy.down()
	deliverDown(t, "the first day's request", w.proxy.wentDown(), func(ctx context.Context) error {
		return w.deliverRequest(ctx, request(tn.ID), "day1", days[0])
	})
	w.proxy.up()
	run := w.handled(tn, request(tn.ID), "day1", days[0])["orders"]
	if run.State != store.StateExtracting || run.Jobs["extract"] == "" {
		t.Fatalf("run after the outage %+v; want its extraction started", run)
	}

	// Down between the extraction and its event.
	figures.faults.Add(1)
	ev := w.jobEvent(run.Jobs["extract"])
	w.proxy.down()
	deliverDown(t, "the extraction's event", w.proxy.wentDown(), func(ctx context.Context) error {
		return w.deliverEvent(ctx, ev)
	})
	w.proxy.up()
	if err := w.deliverEvent(ctx, ev); err != nil {
		t.Fatalf("the event after the outage: %v\nlogs:\n%s", err, w.logs)
	}
	if got := tn.run(run.ID); got.State != store.StateSucceeded {
		t.Fatalf("first day %+v; want succeeded", got)
	}
	if c := tn.masked(); c != ordersDay1 {
		t.Fatalf("table after the first day\n%s\nwant\n%s", c, ordersDay1)
	}
	wantJobs(t, w, tn, run.ID, map[string]int{"check": 1, "extract": 1, "summary": 1, "merge": 1})

	// Down between the summary and the merge: the port closes the moment
	// the emulator has taken the summary job, before its answer is back.
	figures.faults.Add(1)
	run = w.handled(tn, request(tn.ID), "day2", days[1])["orders"]
	ev = w.jobEvent(run.Jobs["extract"])
	w.proxy.add(&rule{match: inserts(run.ID, "summary"), left: 1, after: func(call) { w.proxy.down() }})
	deliverDown(t, "the second day's event", w.proxy.wentDown(), func(ctx context.Context) error {
		return w.deliverEvent(ctx, ev)
	})
	if c := tn.masked(); c != ordersDay1 {
		t.Errorf("table after a merge cut short\n%s\nwant it untouched\n%s", c, ordersDay1)
	}
	w.proxy.up()
	if err := w.deliverEvent(ctx, ev); err != nil {
		t.Fatalf("the event after the outage: %v\nlogs:\n%s", err, w.logs)
	}
	if got := tn.run(run.ID); got.State != store.StateSucceeded || got.Counts.Updated != 1 {
		t.Errorf("second day %+v; want succeeded, o2 updated", got)
	}
	if c := tn.masked(); c != ordersDay2 {
		t.Errorf("table after the second day\n%s\nwant\n%s", c, ordersDay2)
	}
	wantJobs(t, w, tn, run.ID, map[string]int{"check": 1, "extract": 1, "summary": 1, "merge": 1})
}

// TestFirestoreRestartsBetweenSteps stops the Firestore emulator between
// a run's merge job and its record, its data exported first, and starts
// it again on that data.
func TestFirestoreRestartsBetweenSteps(t *testing.T) {
	t.Parallel()
	names := emulators.Shared(t).NewNames(t)
	fs := newFirestore(t, names.Project)
	w := newWorldOn(t, hosts{bigquery: newBigQuery(t).Host(), firestore: fs.Host(), names: &names})
	tn := w.tenant("a")
	tn.define("orders", ordersSQL(1))
	ctx := context.Background()

	if r := w.day(tn, "orders", days[0], "day1"); r.State != store.StateSucceeded {
		t.Fatalf("first day %+v; want succeeded\nlogs:\n%s", r, w.logs)
	}

	// Down between the merge and its record: the merge job has run, the
	// run cannot say so; the next delivery finds the job and records it.
	figures.faults.Add(1)
	run := w.handled(tn, request(tn.ID), "day2", days[1])["orders"]
	ev := w.jobEvent(run.Jobs["extract"])
	stopped := make(chan struct{})
	w.proxy.add(&rule{match: inserts(run.ID, "merge"), left: 1, after: func(call) {
		fs.stop()
		close(stopped)
	}})
	deliverDown(t, "the second day's event", stopped, func(ctx context.Context) error {
		return w.deliverEvent(ctx, ev)
	})
	if c := tn.masked(); c != ordersDay2 {
		t.Errorf("table after the merge job\n%s\nwant it merged\n%s", c, ordersDay2)
	}
	fs.start()
	if got := tn.run(run.ID); got.State != store.StateMerging {
		t.Errorf("run after the restart %+v; want merging, its merge not recorded", got)
	}
	if err := w.deliverEvent(ctx, ev); err != nil {
		t.Fatalf("the event after the restart: %v\nlogs:\n%s", err, w.logs)
	}
	got := tn.run(run.ID)
	if got.State != store.StateSucceeded || got.Counts.Updated != 1 {
		t.Errorf("second day %+v; want succeeded, o2 updated", got)
	}
	if c := tn.masked(); c != ordersDay2 {
		t.Errorf("table after the second day\n%s\nwant\n%s", c, ordersDay2)
	}
	wantJobs(t, w, tn, run.ID, map[string]int{"check": 1, "extract": 1, "summary": 1, "merge": 1})
}
