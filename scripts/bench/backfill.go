package main

import (
	"context"
	"fmt"
	"time"

	"cloud.google.com/go/pubsub/v2/apiv1/pubsubpb"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"

	"customconversions.dev/scripts/ccctl/publish"
	"customconversions.dev/shared/emulators"
)

// The backfill the design's target names: a year for 50 conversions.
const (
	backfillConversions = 50
	backfillDays        = 365
)

// backfillProject and backfillTopic are where the backfill is published:
// a project of its own on the Pub/Sub emulator, and a topic that no
// subscription reads.
const (
	backfillProject = "cc-bench-backfill"
	backfillTopic   = "cc-bench-run-requests"
)

// Backfill is the measured backfill publication.
type Backfill struct {
	Conversions int     `json:"conversions"`
	Days        int     `json:"days"`
	Published   int     `json:"published"`
	Failed      int     `json:"failed"`
	Elapsed     Millis  `json:"elapsed_ms"`
	PerSecond   float64 `json:"per_second"`
	Err         string  `json:"error,omitempty"`
}

// measureBackfill publishes the backfill with publish.Measure.
func measureBackfill(ctx context.Context, stack *emulators.Stack) *Backfill {
	b := &Backfill{Conversions: backfillConversions, Days: backfillDays}
	c, err := stack.PubSub(ctx, backfillProject)
	if err != nil {
		b.Err = err.Error()
		return b
	}
	defer c.Close()
	topic := "projects/" + backfillProject + "/topics/" + backfillTopic
	cctx, cancel := context.WithTimeout(ctx, 30*time.Second)
	_, err = c.TopicAdminClient.CreateTopic(cctx, &pubsubpb.Topic{Name: topic})
	cancel()
	if err != nil && status.Code(err) != codes.AlreadyExists {
		b.Err = fmt.Sprintf("creating topic %s: %v", topic, err)
		return b
	}

	mctx, cancel := context.WithTimeout(ctx, 2*time.Minute)
	defer cancel()
	sum, err := publish.Measure(mctx, c, topic, backfillConversions, backfillDays)
	b.Published, b.Failed = sum.Published, sum.Failed
	b.Elapsed, b.PerSecond = Millis(sum.Elapsed), sum.PerSecond()
	if err != nil {
		b.Err = err.Error()
	}
	return b
}
