package reliability

import (
	"context"
	"errors"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"cloud.google.com/go/civil"
	"cloud.google.com/go/pubsub/v2"
	"cloud.google.com/go/pubsub/v2/apiv1/pubsubpb"

	"customconversions.dev/scripts/pipeline"
	"customconversions.dev/shared/config"
	"customconversions.dev/shared/emulators"
	"customconversions.dev/shared/events"
	"customconversions.dev/shared/store"
	"customconversions.dev/shared/warehouse"
)

// TestPipeline runs the whole product locally (both functions as
// processes behind Pub/Sub push subscriptions, the log-sink stand-in)
// and publishes to it, at once: run requests broken in every way a
// Pub/Sub message can carry, the day's scheduled request and a manual
// rerun of the same day, and the log sink's entry for a finished job
// twice more. Each broken request must be handled once (acknowledged,
// never delivered again) with its ERROR line; both runs must succeed; the
// table must hold each conversion once; nothing may reach a dead-letter
// topic.
func TestPipeline(t *testing.T) {
	t.Parallel()
	ctx, cancel := context.WithTimeout(context.Background(), 4*time.Minute)
	defer cancel()
	stack := emulators.Shared(t)
	logs := &lockedBuffer{}
	client := store.Client{ID: "reliability", DisplayName: "Reliability", Plan: store.PlanEnterprise,
		Project: stack.Project(), Dataset: "reliability", Currency: "GBP", TimeZone: "Europe/London",
		Enabled: true}
	p, err := pipeline.Start(ctx, pipeline.Options{Stack: stack, Client: client, ConversionID: "orders",
		SQL: ordersSQL(1), FunctionLog: logs})
	if err != nil {
		t.Fatal(err)
	}
	defer p.Stop()
	ps, err := stack.PubSub(ctx, stack.Project())
	if err != nil {
		t.Fatal(err)
	}
	defer ps.Close()

	var dead []string
	for _, topic := range []string{config.TopicRunRequests, config.TopicJobEvents} {
		sub := "projects/" + stack.Project() + "/subscriptions/" + topic + "-dead-check"
		_, err := ps.SubscriptionAdminClient.CreateSubscription(ctx, &pubsubpb.Subscription{Name: sub,
			Topic: "projects/" + stack.Project() + "/topics/" + topic + config.DeadLetterSuffix})
		if err != nil {
			t.Fatal(err)
		}
		dead = append(dead, sub)
	}

	requests := ps.Publisher(config.TopicRunRequests)
	defer requests.Stop()
	publish := func(pub *pubsub.Publisher, data []byte) string {
		t.Helper()
		figures.deliveries.Add(1)
		id, err := pub.Publish(ctx, &pubsub.Message{Data: data,
			Attributes: map[string]string{"origin": "reliability"}}).Get(ctx)
		if err != nil {
			t.Fatal(err)
		}
		return id
	}
	hostile := []struct{ data, want string }{
		{"", "empty message"},
		{"{not json", "not valid JSON"},
		{`{"client_id": "reliability", "start_date": "2026-02-30"}`, "not a calendar date"},
		{`{"client_id": "reliability", "when": "now"}`, `unknown field "when"`},
		{`{"client_id": "../reliability"}`, "is not valid"},
		{`{"client_id": "reliability", "conversion_id": "orders'; DELETE FROM x; --"}`, "is not valid"},
		{`{"client_id": ["reliability"]}`, "must be a string"},
		{`{"client_id": "reliability", "reason": "` + strings.Repeat("z", 17<<10) + `"}`, "more than the 16384"},
		{`{"client_id": "nobody"}`, "unknown client nobody"},
	}
	ids := make([]string, len(hostile))
	for i, h := range hostile {
		figures.badInputs.Add(1)
		ids[i] = publish(requests, []byte(h.data))
	}

	// The scheduled request and a manual rerun of the same day, at once.
	yesterday := civil.DateOf(time.Now().In(mustLocation(t, client.TimeZone))).AddDays(-1).String()
	scheduled := publish(requests, request(client.ID))
	manual := publish(requests, request(client.ID, "conversion_id", "orders", "start_date", yesterday,
		"reason", "rerun while the scheduled run is in flight"))
	var runs []store.Run
	for _, id := range []string{scheduled, manual} {
		got, err := p.Wait(ctx, client.ID, id, 2*time.Minute)
		if err != nil || len(got) != 1 {
			t.Fatalf("runs of message %s: %+v, %v; want one\nfunctions:\n%s", id, got, err, logs)
		}
		runs = append(runs, got[0])
	}

	// The sink's entry for the scheduled run's job, twice more.
	jobs := ps.Publisher(config.TopicJobEvents)
	defer jobs.Stop()
	entry, err := events.NewLogEntry(events.JobEvent{ProjectID: stack.Project(),
		JobID: runs[0].Jobs["extract"], State: events.StateDone,
		Labels: warehouse.Labels(client.ID, "orders", runs[0].ID, warehouse.StepExtract)})
	if err != nil {
		t.Fatal(err)
	}
	publish(jobs, entry)
	publish(jobs, entry)
	quiet(t, logs, 3*time.Second, time.Minute)

	for i, h := range hostile {
		n := 0
		for _, l := range logs.lines() {
			if l.MessageID == ids[i] {
				n++
				if l.Severity != "ERROR" || !strings.Contains(l.Message, h.want) {
					t.Errorf("message %q: logged %s %q; want ERROR with %q", h.data, l.Severity, l.Message, h.want)
				}
			}
		}
		if n != 1 {
			t.Errorf("message %.60q handled %d times; want once (acknowledged)", h.data, n)
		}
	}
	for _, r := range runs {
		got, err := p.Store().Run(ctx, client.ID, r.ID)
		if err != nil || got.State != store.StateSucceeded || got.Counts.Read != 4 {
			t.Errorf("run %s (%s): %+v, %v; want succeeded, 4 read", r.ID, r.Trigger, got, err)
		}
	}
	tn := &tenant{w: &world{t: t, bq: p.BigQuery()}, Client: client}
	if c := tn.masked(); c != ordersDay2 {
		t.Errorf("table\n%s\nwant\n%s", c, ordersDay2)
	}
	if n := strings.Count(logs.String(), `"message":"event ignored: run already succeeded"`); n < 2 {
		t.Errorf("%d job events ignored as already merged; want the two republished at least", n)
	}

	for _, sub := range dead {
		var got atomic.Int64
		rctx, rcancel := context.WithTimeout(ctx, 2*time.Second)
		err := ps.Subscriber(sub).Receive(rctx, func(_ context.Context, m *pubsub.Message) {
			got.Add(1)
			m.Ack()
		})
		rcancel()
		if err != nil && !errors.Is(err, context.DeadlineExceeded) {
			t.Fatal(err)
		}
		if got.Load() != 0 {
			t.Errorf("%d messages dead-lettered via %s; want none", got.Load(), sub)
		}
	}
}

// quiet waits until nothing has been logged for gap, at most max.
func quiet(t *testing.T, logs *lockedBuffer, gap, max time.Duration) {
	t.Helper()
	deadline := time.Now().Add(max)
	last, since := len(logs.String()), time.Now()
	for time.Now().Before(deadline) {
		time.Sleep(200 * time.Millisecond)
		if n := len(logs.String()); n != last {
			last, since = n, time.Now()
		} else if time.Since(since) >= gap {
			return
		}
	}
	t.Fatalf("the functions still log after %s", max)
}

func mustLocation(t *testing.T, name string) *time.Location {
	t.Helper()
	loc, err := time.LoadLocation(name)
	if err != nil {
		t.Fatal(err)
	}
	return loc
}
