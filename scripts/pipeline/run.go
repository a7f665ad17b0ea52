package pipeline

import (
	"context"
	"encoding/json"
	"fmt"
	"time"

	"cloud.google.com/go/pubsub/v2"

	"customconversions.dev/shared/request"
	"customconversions.dev/shared/store"
)

// Publish publishes a run request to the run-requests topic and returns
// its message id.
func (p *Pipeline) Publish(ctx context.Context, req request.Request) (string, error) {
	data, err := json.Marshal(req)
	if err != nil {
		return "", err
	}
	id, err := p.pub.Publish(ctx, &pubsub.Message{Data: data}).Get(ctx)
	if err != nil {
		return "", fmt.Errorf("pipeline: publishing the run request: %w", err)
	}
	return id, nil
}

// Wait waits until every run of the message with id msgID is finished
// (succeeded, failed or skipped) and returns them. A request that makes
// no run (refused, or a client with no enabled conversion) ends the wait
// after quiet, with no run.
func (p *Pipeline) Wait(ctx context.Context, client, msgID string, timeout time.Duration) ([]store.Run, error) {
	ctx, cancel := context.WithTimeout(ctx, timeout)
	defer cancel()
	const quiet = 10 * time.Second
	start := time.Now()
	for {
		runs, err := p.runsOf(ctx, client, msgID)
		if err != nil {
			return nil, err
		}
		if len(runs) > 0 && allFinished(runs) {
			return runs, nil
		}
		if len(runs) == 0 && time.Since(start) > quiet {
			return nil, nil
		}
		select {
		case <-ctx.Done():
			return runs, fmt.Errorf("pipeline: the run of message %s did not finish within %s "+
				"(see the functions' log)", msgID, timeout)
		case <-time.After(200 * time.Millisecond):
		}
	}
}

func (p *Pipeline) runsOf(ctx context.Context, client, msgID string) ([]store.Run, error) {
	all, err := p.store.Runs(ctx, client, "", 500)
	if err != nil {
		return nil, err
	}
	var runs []store.Run
	for _, r := range all {
		if r.MessageID == msgID {
			runs = append(runs, r)
		}
	}
	return runs, nil
}

func allFinished(runs []store.Run) bool {
	for _, r := range runs {
		switch r.State {
		case store.StateSucceeded, store.StateFailed, store.StateSkipped:
		default:
			return false
		}
	}
	return true
}

// RunDay publishes a request for one day (or, with day empty, the
// scheduled request: yesterday in the client's time zone) and waits for
// its runs.
func (p *Pipeline) RunDay(ctx context.Context, day, reason string) ([]store.Run, error) {
	req := request.Request{ClientID: p.opts.Client.ID}
	if day != "" {
		req.StartDate, req.EndDate, req.Reason = day, day, reason
	}
	id, err := p.Publish(ctx, req)
	if err != nil {
		return nil, err
	}
	return p.Wait(ctx, p.opts.Client.ID, id, 5*time.Minute)
}
