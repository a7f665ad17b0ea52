package publish

import (
	"context"
	"fmt"

	"cloud.google.com/go/civil"
	"cloud.google.com/go/pubsub/v2"
)

// MeasureClient is the client id Measure's requests name. No client of
// that id should exist where a function reads the topic.
const MeasureClient = "cc-measure"

// Measure publishes a backfill of days one-day windows for conversions
// conversions to topic, the way `ccctl backfill --chunk-days 1` does, and
// returns its summary. It is the benchmark command's measure of the
// design's target (a year for 50 conversions, 18,250 requests, under
// 10 s on the Pub/Sub emulator): Measure(ctx, c, topic, 50, 365). The
// topic must exist; nothing needs to read it. Any failed request makes
// Measure return an error along with the summary.
func Measure(ctx context.Context, c *pubsub.Client, topic string, conversions,
	days int) (Summary, error) {
	ids := make([]string, conversions)
	for i := range ids {
		ids[i] = fmt.Sprintf("conv-%03d", i+1)
	}
	start := civil.Date{Year: 2025, Month: 1, Day: 1}
	reqs, err := Plan(MeasureClient, ids, start, start.AddDays(days-1), 1, "measure")
	if err != nil {
		return Summary{}, err
	}

	p := c.Publisher(topic)
	p.PublishSettings = Settings()
	defer p.Stop()
	results, sum := All(ctx, p, reqs, nil)
	for _, r := range results {
		if r.Err != nil {
			return sum, fmt.Errorf("publish: %d of %d requests failed, the first with: %w",
				sum.Failed, len(reqs), r.Err)
		}
	}
	return sum, nil
}
