package publish

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"time"

	"cloud.google.com/go/pubsub/v2"

	"customconversions.dev/shared/request"
)

// Result is the outcome of publishing one request: the message id the
// topic gave it, or the error that kept it out.
type Result struct {
	Request   request.Request
	MessageID string
	Err       error
}

// Summary counts what a publication sent and how long it took.
type Summary struct {
	Published int
	Failed    int
	Elapsed   time.Duration
}

// PerSecond returns the requests published per second of Elapsed.
func (s Summary) PerSecond() float64 {
	if s.Elapsed <= 0 {
		return 0
	}
	return float64(s.Published) / s.Elapsed.Seconds()
}

// ErrNotSent marks the requests left unsent because the first one failed.
var ErrNotSent = errors.New("publish: not sent, since the first request failed")

// Settings returns the publisher settings for a backfill: thousands of
// small messages at once, so batches of up to 1,000 (Pub/Sub's limit per
// publish call) sent by many goroutines, and no flow control to wait on.
func Settings() pubsub.PublishSettings {
	s := pubsub.DefaultPublishSettings
	s.CountThreshold = pubsub.MaxPublishRequestCount
	s.DelayThreshold = 5 * time.Millisecond
	s.NumGoroutines = 64
	s.FlowControlSettings.MaxOutstandingMessages = -1
	s.FlowControlSettings.MaxOutstandingBytes = -1
	return s
}

// All publishes reqs through p and waits until each is settled. The
// first request goes out alone: when it fails, nothing else is sent, so
// that a missing topic or permission shows as one error, not thousands.
// The rest are then published at once; the publisher batches them and
// sends the batches concurrently. done, when not nil, is called once for
// each request as it settles, from the calling goroutine. All returns one
// Result per request, in the order of reqs, and the summary.
func All(ctx context.Context, p *pubsub.Publisher, reqs []request.Request,
	done func(Result)) ([]Result, Summary) {
	start := time.Now()
	results := make([]Result, len(reqs))
	pending := make([]*pubsub.PublishResult, len(reqs))
	settle := func(i int) {
		r := &results[i]
		r.Request = reqs[i]
		if pending[i] != nil {
			r.MessageID, r.Err = pending[i].Get(ctx)
		}
		if done != nil {
			done(*r)
		}
	}

	for i := range reqs {
		data, err := json.Marshal(reqs[i])
		if err != nil {
			results[i].Err = fmt.Errorf("publish: %w", err)
		} else {
			pending[i] = p.Publish(ctx, &pubsub.Message{Data: data})
		}
		if i > 0 {
			continue
		}
		settle(0)
		if results[0].Err != nil {
			for j := 1; j < len(reqs); j++ {
				results[j] = Result{Request: reqs[j], Err: ErrNotSent}
				if done != nil {
					done(results[j])
				}
			}
			return results, summarize(results, start)
		}
	}
	for i := 1; i < len(reqs); i++ {
		settle(i)
	}
	return results, summarize(results, start)
}

func summarize(results []Result, start time.Time) Summary {
	s := Summary{Elapsed: time.Since(start)}
	for _, r := range results {
		if r.Err != nil {
			s.Failed++
		} else {
			s.Published++
		}
	}
	return s
}
