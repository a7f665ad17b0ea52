package publish

import (
	"context"
	"os"
	"sync/atomic"
	"testing"
	"time"

	"cloud.google.com/go/pubsub/v2"
	"cloud.google.com/go/pubsub/v2/apiv1/pubsubpb"

	"customconversions.dev/shared/emulators"
)

func TestMain(m *testing.M) {
	os.Exit(emulators.Main(m, emulators.Options{Services: emulators.PubSub}))
}

// newTopic creates a topic with one subscription on the emulator, in a
// project of the test's own, and returns a client and both names.
func newTopic(tb testing.TB) (c *pubsub.Client, topic, sub string) {
	tb.Helper()
	stack := emulators.Shared(tb)
	names := stack.NewNames(tb)
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	c, err := stack.PubSub(ctx, names.Project)
	if err != nil {
		tb.Fatal(err)
	}
	tb.Cleanup(func() { c.Close() })
	topic = "projects/" + names.Project + "/topics/" + names.Prefix
	sub = "projects/" + names.Project + "/subscriptions/" + names.Prefix
	if _, err := c.TopicAdminClient.CreateTopic(ctx, &pubsubpb.Topic{Name: topic}); err != nil {
		tb.Fatal(err)
	}
	_, err = c.SubscriptionAdminClient.CreateSubscription(ctx,
		&pubsubpb.Subscription{Name: sub, Topic: topic})
	if err != nil {
		tb.Fatal(err)
	}
	return c, topic, sub
}

// TestMeasure publishes a small backfill through Measure and reads it
// back: 3 conversions for 4 days are 12 requests.
func TestMeasure(t *testing.T) {
	c, topic, sub := newTopic(t)
	ctx := context.Background()
	sum, err := Measure(ctx, c, topic, 3, 4)
	if err != nil || sum.Published != 12 || sum.Failed != 0 {
		t.Fatalf("Measure = %+v, %v; want 12 published, none failed", sum, err)
	}

	rctx, cancel := context.WithTimeout(ctx, 30*time.Second)
	defer cancel()
	var n atomic.Int32
	err = c.Subscriber(sub).Receive(rctx, func(_ context.Context, m *pubsub.Message) {
		m.Ack()
		if n.Add(1) == 12 {
			cancel()
		}
	})
	if err != nil || n.Load() != 12 {
		t.Errorf("read back %d messages, %v; want 12", n.Load(), err)
	}
}

// TestMeasureMissingTopic fails once, on the first request, and sends
// nothing else.
func TestMeasureMissingTopic(t *testing.T) {
	c, topic, _ := newTopic(t)
	sum, err := Measure(context.Background(), c, topic+"-nope", 2, 5)
	if err == nil || sum.Published != 0 || sum.Failed != 10 {
		t.Errorf("Measure to a missing topic = %+v, %v; want 10 failed and an error", sum, err)
	}
}

// BenchmarkBackfillYear publishes the design's target backfill, a year
// for 50 conversions (18,250 requests), to the Pub/Sub emulator, and
// reports requests per second. The target is under 10 s per backfill.
func BenchmarkBackfillYear(b *testing.B) {
	c, topic, _ := newTopic(b)
	for b.Loop() {
		sum, err := Measure(context.Background(), c, topic, 50, 365)
		if err != nil {
			b.Fatal(err)
		}
		b.ReportMetric(sum.PerSecond(), "req/s")
	}
}
