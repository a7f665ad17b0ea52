// Package logsink is the local stack's stand-in for production's Cloud
// Logging sink. Nothing writes audit logs locally, so it watches the
// BigQuery emulator for this product's extraction jobs reaching DONE and
// publishes, for each, the LogEntry JSON that the production sink would
// publish to the job-events topic. Only the local stack and tests use it.
package logsink

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"time"

	"cloud.google.com/go/bigquery"
	"cloud.google.com/go/pubsub/v2"
	"google.golang.org/api/googleapi"
	"google.golang.org/api/iterator"

	"customconversions.dev/shared/events"
	"customconversions.dev/shared/warehouse"
)

// Sink polls the emulator's jobs and publishes the finished ones that
// pass the production sink's filter: product label custom-conversions,
// step label extract, state DONE.
type Sink struct {
	BQ        *bigquery.Client
	Publisher *pubsub.Publisher
	// Location is written into each entry, as BigQuery's would be.
	Location string

	mu   sync.Mutex
	seen map[string]bool // finished jobs published or passed over
}

// Matches reports whether the production sink's filter passes a job with
// these labels.
func Matches(labels map[string]string) bool {
	return labels[warehouse.LabelProduct] == warehouse.Product &&
		labels[warehouse.LabelStep] == string(warehouse.StepExtract)
}

// Run polls every interval until ctx ends. A failed poll is reported to
// onErr (which may be nil) and retried on the next tick. A poll under way
// when ctx ends is let finish: the local BigQuery emulator closes its
// database for good when a client abandons a request.
func (s *Sink) Run(ctx context.Context, interval time.Duration, onErr func(error)) {
	t := time.NewTicker(interval)
	defer t.Stop()
	for {
		if _, err := s.Poll(context.WithoutCancel(ctx)); err != nil && onErr != nil {
			onErr(err)
		}
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
	}
}

// Poll publishes an entry for each matching job that finished since the
// last poll, and returns how many it published. A job is published once.
func (s *Sink) Poll(ctx context.Context) (int, error) {
	ctx, cancel := context.WithTimeout(ctx, 30*time.Second)
	defer cancel()

	it := s.BQ.Jobs(ctx)
	it.AllUsers = true
	it.State = bigquery.Done
	var entries [][]byte
	var ids []string
	for {
		job, err := it.Next()
		if errors.Is(err, iterator.Done) {
			break
		}
		if err != nil {
			return 0, fmt.Errorf("logsink: listing jobs: %w", err)
		}
		if s.wasSeen(job.ID()) {
			continue
		}
		// The emulator's job list leaves out each job's configuration,
		// labels included: read the job itself.
		full, err := s.BQ.JobFromID(ctx, job.ID())
		if err != nil {
			return 0, fmt.Errorf("logsink: reading job %s: %w", job.ID(), err)
		}
		entry, ok, err := Entry(ctx, full, s.Location)
		if err != nil {
			return 0, err
		}
		if !ok {
			s.markSeen(job.ID())
			continue
		}
		entries = append(entries, entry)
		ids = append(ids, job.ID())
	}

	for i, entry := range entries {
		res := s.Publisher.Publish(ctx, &pubsub.Message{Data: entry})
		if _, err := res.Get(ctx); err != nil {
			return i, fmt.Errorf("logsink: publishing job %s: %w", ids[i], err)
		}
		s.markSeen(ids[i])
	}
	return len(entries), nil
}

// Entry builds the LogEntry that production's sink would publish for a
// finished job in location, or reports false for a job its filter would
// not pass. Tests use it to build job events as the sink does.
func Entry(ctx context.Context, job *bigquery.Job, location string) ([]byte, bool, error) {
	cfg, err := job.Config()
	if err != nil {
		return nil, false, nil // not a job whose configuration the client reads
	}
	q, ok := cfg.(*bigquery.QueryConfig)
	if !ok || !Matches(q.Labels) {
		return nil, false, nil
	}
	st := job.LastStatus()
	if st == nil || st.State != bigquery.Done {
		return nil, false, nil
	}

	ev := events.JobEvent{
		ProjectID: job.ProjectID(),
		JobID:     job.ID(),
		Location:  location,
		State:     events.StateDone,
		Labels:    q.Labels,
	}
	if err := st.Err(); err != nil {
		ev.Err = &events.JobError{Code: "INVALID_ARGUMENT", Message: err.Error()}
	} else if msg, err := resultError(ctx, job); err != nil {
		return nil, false, fmt.Errorf("logsink: reading the results of job %s: %w", job.ID(), err)
	} else if msg != "" {
		ev.Err = &events.JobError{Code: "INVALID_ARGUMENT", Message: msg}
	}
	if stats := st.Statistics; stats != nil {
		ev.TotalProcessedBytes = stats.TotalBytesProcessed
		ev.CreateTime, ev.StartTime, ev.EndTime = stats.CreationTime, stats.StartTime, stats.EndTime
	}
	if q.Dst != nil {
		ev.Destination = events.Table{ProjectID: q.Dst.ProjectID, DatasetID: q.Dst.DatasetID,
			TableID: q.Dst.TableID}
	}
	entry, err := events.NewLogEntry(ev)
	if err != nil {
		return nil, false, fmt.Errorf("logsink: job %s: %w", job.ID(), err)
	}
	return entry, true, nil
}

func (s *Sink) wasSeen(id string) bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.seen[id]
}

func (s *Sink) markSeen(id string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.seen == nil {
		s.seen = map[string]bool{}
	}
	s.seen[id] = true
}

// resultError returns the error of a query job that failed while it read
// its rows, or "" when the job succeeded. The emulator reports such a
// job's error only in its answer to the insert and to getQueryResults:
// the job resource it returns afterwards says DONE with no error, so a
// failed extraction would otherwise pass as one that found no rows. An
// error other than the job's own (4xx) is returned for the next poll.
func resultError(ctx context.Context, job *bigquery.Job) (string, error) {
	_, err := job.Wait(ctx)
	var gerr *googleapi.Error
	switch {
	case err == nil:
		return "", nil
	case errors.As(err, &gerr) && gerr.Code >= 400 && gerr.Code < 500:
		return gerr.Message, nil
	}
	return "", err
}
