// Package publish sends run requests to the run-requests topic: it plans
// a backfill as one request per conversion and window, publishes many
// requests at once, and measures how fast a backfill goes out (Measure,
// for the benchmark command).
package publish

import (
	"errors"
	"fmt"

	"cloud.google.com/go/civil"

	"customconversions.dev/shared/request"
)

// Plan returns a backfill's requests: for each conversion of client, in
// the order given, one request per window of at most chunkDays days
// covering start to end (request.Split), each carrying reason.
func Plan(client string, conversions []string, start, end civil.Date, chunkDays int,
	reason string) ([]request.Request, error) {
	if len(conversions) == 0 {
		return nil, errors.New("publish: no conversion to backfill")
	}
	windows, err := request.Split(start, end, chunkDays)
	if err != nil {
		return nil, fmt.Errorf("publish: %w", err)
	}
	reqs := make([]request.Request, 0, len(conversions)*len(windows))
	for _, c := range conversions {
		for _, w := range windows {
			reqs = append(reqs, request.Request{
				ClientID:     client,
				ConversionID: c,
				StartDate:    w.Start.String(),
				EndDate:      w.End.String(),
				Reason:       reason,
			})
		}
	}
	return reqs, nil
}
