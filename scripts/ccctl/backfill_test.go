package main

import (
	"context"
	"encoding/json"
	"fmt"
	"sort"
	"sync"
	"testing"
	"time"

	"cloud.google.com/go/civil"
	"cloud.google.com/go/pubsub/v2"
	"cloud.google.com/go/pubsub/v2/apiv1/pubsubpb"

	"customconversions.dev/shared/emulators"
	"customconversions.dev/shared/request"
	"customconversions.dev/shared/store"
	"customconversions.dev/shared/warehouse"
)

// topic is a run-requests topic of the test's own on the Pub/Sub
// emulator, with a subscription to read it back.
type topic struct {
	ps   *pubsub.Client
	name string // projects/P/topics/T, for --topic
	sub  string
}

func newTopic(t *testing.T, c *cli) *topic {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	ps, err := emulators.Shared(t).PubSub(ctx, c.env.Names.Project)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { ps.Close() })
	p := "projects/" + c.env.Names.Project
	tp := &topic{ps: ps, name: p + "/topics/" + c.env.Names.Prefix + "-requests",
		sub: p + "/subscriptions/" + c.env.Names.Prefix + "-requests"}
	if _, err := ps.TopicAdminClient.CreateTopic(ctx, &pubsubpb.Topic{Name: tp.name}); err != nil {
		t.Fatal(err)
	}
	_, err = ps.SubscriptionAdminClient.CreateSubscription(ctx,
		&pubsubpb.Subscription{Name: tp.sub, Topic: tp.name, AckDeadlineSeconds: 60})
	if err != nil {
		t.Fatal(err)
	}
	return tp
}

// receive reads messages, passing each to handle when it is not nil,
// until it has n of them or 30 seconds have passed, and returns them. It
// may run in a goroutine of its own.
func (tp *topic) receive(t *testing.T, n int, handle func(*pubsub.Message)) []*pubsub.Message {
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	var mu sync.Mutex
	var got []*pubsub.Message
	err := tp.ps.Subscriber(tp.sub).Receive(ctx, func(_ context.Context, m *pubsub.Message) {
		if handle != nil {
			handle(m)
		}
		m.Ack()
		mu.Lock()
		defer mu.Unlock()
		got = append(got, m)
		if len(got) == n {
			cancel()
		}
	})
	if err != nil {
		t.Errorf("receiving from %s: %v", tp.sub, err)
	}
	return got
}

// decode returns the run request m carries. It may run in a goroutine of
// its own.
func decode(t *testing.T, m *pubsub.Message) request.Request {
	r, err := request.Parse(m.Data)
	if err != nil {
		t.Errorf("message %s: %v", m.ID, err)
	}
	return r
}

func TestBackfill(t *testing.T) {
	c := newCLI(t)
	client := c.env.Client.ID
	c.env.Define(t, "orders", "SELECT 1 AS created")
	c.env.Define(t, "leads", "SELECT 2 AS created")
	old := store.Definition{ID: "old", SQL: "SELECT 3 AS created"}
	if err := c.env.Store.PutDefinition(context.Background(), client, old); err != nil {
		t.Fatal(err)
	}
	tp := newTopic(t, c)

	// 2023-03-01..2025-02-28 is 731 days. In chunks of 200: days 0-199
	// end on 2023-09-16 (March has 30 days after the 1st, then 30, 31, 30,
	// 31, 31 to the end of August, and 16 in September); 200-399 end on
	// 2024-04-03 (after the leap day); 400-599 on 2024-10-20; the last 131
	// days run to the end.
	windows := [][2]string{
		{"2023-03-01", "2023-09-16"},
		{"2023-09-17", "2024-04-03"},
		{"2024-04-04", "2024-10-20"},
		{"2024-10-21", "2025-02-28"},
	}
	var want []request.Request
	for _, conv := range []string{"leads", "orders"} { // every enabled one, by id
		for _, w := range windows {
			want = append(want, request.Request{ClientID: client, ConversionID: conv,
				StartDate: w[0], EndDate: w[1], Reason: "new definition"})
		}
	}

	r := c.run("backfill", "--client", client, "--start", "2023-03-01", "--end", "2025-02-28",
		"--chunk-days", "200", "--reason", "new definition", "--topic", tp.name)
	r.want(t, exitOK, []string{"published 8 of 8 requests to " + tp.name, "0 failed"},
		"2 conversion(s) x 4 window(s) = 8 requests")

	var got []request.Request
	for _, m := range tp.receive(t, len(want), nil) {
		got = append(got, decode(t, m))
	}
	sort.Slice(got, func(i, j int) bool {
		return got[i].ConversionID+got[i].StartDate < got[j].ConversionID+got[j].StartDate
	})
	if fmt.Sprint(got) != fmt.Sprint(want) {
		t.Errorf("published\n%v\nwant\n%v", got, want)
	}

	// The default chunk is a request's longest window: a year here, with
	// the leap day in the first.
	r = c.run("--json", "backfill", "--client", client, "--conversion", "old", "--dry-run",
		"--start", "2023-03-01", "--end", "2025-02-28", "--topic", tp.name)
	r.want(t, exitOK, nil, "conversion old is disabled")
	var plan []request.Request
	if err := json.Unmarshal([]byte(r.stdout), &plan); err != nil {
		t.Fatal(err)
	}
	wantPlan := []request.Request{
		{ClientID: client, ConversionID: "old", StartDate: "2023-03-01", EndDate: "2024-02-29"},
		{ClientID: client, ConversionID: "old", StartDate: "2024-03-01", EndDate: "2025-02-28"},
	}
	if fmt.Sprint(plan) != fmt.Sprint(wantPlan) {
		t.Errorf("backfill --dry-run = %v; want %v", plan, wantPlan)
	}

	future := time.Now().AddDate(0, 0, 2).Format(time.DateOnly)
	refused := []struct {
		name   string
		args   []string
		code   int
		stderr string
	}{
		{"future end", []string{"--end", future}, exitUsage, "in the future"},
		{"unknown conversion", []string{"--conversion", "orders,nope"}, exitFailed,
			"has no conversion nope"},
		{"missing topic", []string{"--topic", "nope"}, exitFailed, "does not exist in project"},
	}
	for _, tt := range refused {
		t.Run(tt.name, func(t *testing.T) {
			args := []string{"backfill", "--client", client, "--start", "2025-01-01",
				"--end", "2025-01-31", "--topic", tp.name}
			c.run(append(args, tt.args...)...).want(t, tt.code, nil, tt.stderr)
		})
	}
}

func TestRerunWait(t *testing.T) {
	tests := []struct {
		name   string
		state  string
		code   int
		stdout string
		stderr string
	}{
		{"succeeded", store.StateSucceeded, exitOK, "runs: 1 succeeded, 0 failed, 0 skipped", ""},
		{"failed", store.StateFailed, exitFailed, "runs: 0 succeeded, 1 failed, 0 skipped",
			"1 of 1 runs failed or were skipped"},
		{"never handled", "", exitFailed, "runs: 0 succeeded, 0 failed, 0 skipped, 1 unfinished",
			"1 of 1 runs unfinished when --wait gave up"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c := newCLI(t)
			client := c.env.Client.ID
			c.env.Define(t, "orders", "SELECT 1 AS created")
			tp := newTopic(t, c)

			var wg sync.WaitGroup
			wg.Go(func() { fakeRunConversion(t, c, tp, 1, tt.state) })
			r := c.run("rerun", "--client", client, "--start", "2026-03-01", "--end",
				"2026-03-02", "--reason", "CRM reload", "--topic", tp.name, "--wait",
				"--poll-interval", "100ms", "--wait-timeout", "3s")
			wg.Wait()
			if tt.stderr == "" {
				r.want(t, tt.code, []string{"published run request as message", tt.stdout})
			} else {
				r.want(t, tt.code, []string{tt.stdout}, tt.stderr)
			}
		})
	}
}

// fakeRunConversion stands in for RunConversion: for each of the n
// requests it reads from tp, it records a run of the named conversion,
// extracting at first and then in state. With state "" it records
// nothing. It may run in a goroutine of its own.
func fakeRunConversion(t *testing.T, c *cli, tp *topic, n int, state string) {
	client := c.env.Client.ID
	tp.receive(t, n, func(m *pubsub.Message) {
		if state == "" {
			return
		}
		req := decode(t, m)
		start, _ := civil.ParseDate(req.StartDate)
		end, _ := civil.ParseDate(req.EndDate)
		run := store.Run{
			ID: warehouse.RunID(client, req.ConversionID,
				request.Window{Start: start, End: end}, m.ID),
			ClientID: client, ConversionID: req.ConversionID, MessageID: m.ID,
			WindowStart: req.StartDate, WindowEnd: req.EndDate, Trigger: "manual",
			Reason: req.Reason, State: store.StateExtracting, Created: time.Now(),
		}
		ctx := context.Background()
		if _, _, err := c.env.Store.CreateRun(ctx, run); err != nil {
			t.Error(err)
		}
		time.Sleep(200 * time.Millisecond)
		_, err := c.env.Store.UpdateRun(ctx, client, run.ID, func(r *store.Run) error {
			r.State = state
			return nil
		})
		if err != nil {
			t.Error(err)
		}
	})
}

// TestBackfillWait follows 40 runs, more than one Firestore query of
// message ids takes, to the end.
func TestBackfillWait(t *testing.T) {
	c := newCLI(t)
	c.env.Define(t, "orders", "SELECT 1 AS created")
	tp := newTopic(t, c)
	var wg sync.WaitGroup
	wg.Go(func() { fakeRunConversion(t, c, tp, 40, store.StateSucceeded) })
	// 2025-01-01..2025-02-09 is 31 + 9 = 40 days.
	r := c.run("backfill", "--client", c.env.Client.ID, "--start", "2025-01-01",
		"--end", "2025-02-09", "--chunk-days", "1", "--topic", tp.name, "--wait",
		"--poll-interval", "100ms", "--wait-timeout", "60s")
	wg.Wait()
	r.want(t, exitOK, []string{"published 40 of 40 requests",
		"runs: 40 succeeded, 0 failed, 0 skipped, 0 unfinished"}, "waiting for 40 run(s)")
}
