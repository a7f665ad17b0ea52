package warehouse

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"strings"
	"time"

	"cloud.google.com/go/bigquery"
	"google.golang.org/api/googleapi"
	"google.golang.org/api/iterator"
	"google.golang.org/api/option"

	"customconversions.dev/shared/config"
	"customconversions.dev/shared/failure"
)

// callTimeout bounds each single BigQuery API call, so that an answer that
// never comes turns into a transient error instead of a hung function.
const callTimeout = 60 * time.Second

// Warehouse runs the product's BigQuery jobs in the product's project.
type Warehouse struct {
	bq  *bigquery.Client
	cfg config.Config
}

// New returns a Warehouse for the configured project. With
// cfg.BigQueryEmulator set, it talks to that emulator without credentials.
func New(ctx context.Context, cfg config.Config) (*Warehouse, error) {
	var opts []option.ClientOption
	if cfg.BigQueryEmulator != "" {
		opts = append(opts, option.WithEndpoint("http://"+cfg.BigQueryEmulator),
			option.WithoutAuthentication())
	}
	bq, err := bigquery.NewClient(ctx, cfg.Project, opts...)
	if err != nil {
		return nil, fmt.Errorf("warehouse: %w", err)
	}
	return &Warehouse{bq: bq, cfg: cfg}, nil
}

// Client returns the BigQuery client, for table metadata and reads.
func (w *Warehouse) Client() *bigquery.Client { return w.bq }

// Close closes the client.
func (w *Warehouse) Close() error { return w.bq.Close() }

// Query describes one job of a run.
type Query struct {
	SQL    string
	Params []bigquery.QueryParameter
	// JobID is the job's deterministic id (JobID); Labels its labels.
	JobID  string
	Labels map[string]string
	// Dst, when set, receives the result, replacing what it held.
	Dst *bigquery.Table
	// Batch runs the job at batch priority.
	Batch bool
}

func (w *Warehouse) query(q Query) *bigquery.Query {
	bq := w.bq.Query(q.SQL)
	bq.Parameters = q.Params
	bq.JobID = q.JobID
	bq.Location = w.cfg.Location
	bq.Labels = q.Labels
	if q.Dst != nil {
		bq.Dst = q.Dst
		bq.WriteDisposition = bigquery.WriteTruncate
		bq.CreateDisposition = bigquery.CreateIfNeeded
	}
	if q.Batch {
		bq.Priority = bigquery.BatchPriority
	}
	return bq
}

// Start starts q's job, or returns the job of that id that an earlier
// delivery already started. The second return is true when the job
// already existed.
func (w *Warehouse) Start(ctx context.Context, q Query) (*bigquery.Job, bool, error) {
	cctx, cancel := context.WithTimeout(ctx, callTimeout)
	defer cancel()
	job, err := w.query(q).Run(cctx)
	if err == nil {
		return job, false, nil
	}
	if !alreadyExists(err) {
		return nil, false, w.Classify(fmt.Errorf("starting job %s: %w", q.JobID, err))
	}
	job, err = w.Job(ctx, q.JobID)
	if err != nil {
		return nil, false, err
	}
	return job, true, nil
}

// Job fetches the job with the given id.
func (w *Warehouse) Job(ctx context.Context, id string) (*bigquery.Job, error) {
	cctx, cancel := context.WithTimeout(ctx, callTimeout)
	defer cancel()
	job, err := w.bq.JobFromIDLocation(cctx, id, w.cfg.Location)
	if err != nil {
		return nil, w.Classify(fmt.Errorf("fetching job %s: %w", id, err))
	}
	return job, nil
}

// Wait waits for job to finish and returns its final status. A job that
// finished with an error returns that error, classified.
func (w *Warehouse) Wait(ctx context.Context, job *bigquery.Job) (*bigquery.JobStatus, error) {
	st, err := job.Wait(ctx)
	if err != nil {
		return nil, w.Classify(fmt.Errorf("waiting for job %s: %w", job.ID(), err))
	}
	if err := st.Err(); err != nil {
		return st, w.Classify(fmt.Errorf("job %s: %w", job.ID(), err))
	}
	return st, nil
}

// Run starts q's job (or finds it) and waits for it to finish.
func (w *Warehouse) Run(ctx context.Context, q Query) (*bigquery.Job, *bigquery.JobStatus, error) {
	job, _, err := w.Start(ctx, q)
	if err != nil {
		return nil, nil, err
	}
	st, err := w.Wait(ctx, job)
	return job, st, err
}

// RunAttempts runs q and waits for it, under the ids id(1), id(2), ... up
// to id(max). An attempt whose job already exists and failed for a passing
// reason (an earlier delivery's) is skipped at once. A new attempt that
// fails for such a reason returns its error, so that Pub/Sub delivers
// again after its backoff and the next delivery starts the next attempt.
// Once every attempt is spent, the error is permanent.
func (w *Warehouse) RunAttempts(ctx context.Context, q Query, id func(attempt int) string,
	max int) (*bigquery.Job, error) {
	var err error
	for attempt := 1; attempt <= max; attempt++ {
		q.JobID = id(attempt)
		job, existed, serr := w.Start(ctx, q)
		if serr != nil {
			return nil, serr
		}
		if _, err = w.Wait(ctx, job); err == nil {
			return job, nil
		}
		if failure.IsPermanent(err) || ctx.Err() != nil || !existed && attempt < max {
			return nil, err
		}
	}
	return nil, failure.Permanent(fmt.Errorf("%w (gave up after %d attempts: rerun the day "+
		"once BigQuery recovers)", err, max))
}

// Schema returns the result schema of sql and the bytes a run of it
// would process. In production this is a dry run, which BigQuery answers
// without reading data and which also reports the statement type; a
// statement that is not a SELECT is a permanent error. On the local
// emulator, whose dry run reports no schema, it runs a LIMIT 0 query of
// the SQL instead (labelled with labels).
func (w *Warehouse) Schema(ctx context.Context, sql string, params []bigquery.QueryParameter,
	labels map[string]string, probeSQL string) (bigquery.Schema, int64, error) {
	cctx, cancel := context.WithTimeout(ctx, callTimeout)
	defer cancel()

	if w.cfg.BigQueryEmulator != "" {
		schema, err := w.probe(cctx, probeSQL, params, labels)
		return schema, 0, err
	}

	q := w.query(Query{SQL: sql, Params: params, Labels: labels})
	q.DryRun = true
	job, err := q.Run(cctx)
	if err != nil {
		return nil, 0, w.Classify(fmt.Errorf("checking the SQL: %w", err))
	}
	st := job.LastStatus()
	if st == nil || st.Statistics == nil {
		return nil, 0, fmt.Errorf("checking the SQL: the dry run returned no statistics")
	}
	if err := st.Err(); err != nil {
		return nil, 0, w.Classify(fmt.Errorf("checking the SQL: %w", err))
	}
	stats, ok := st.Statistics.Details.(*bigquery.QueryStatistics)
	if !ok {
		return nil, 0, fmt.Errorf("checking the SQL: the dry run returned no query statistics")
	}
	if stats.StatementType != "SELECT" {
		return nil, 0, failure.Permanent(fmt.Errorf("the SQL is a %s statement: "+
			"a definition is one SELECT statement", stats.StatementType))
	}
	return stats.Schema, st.Statistics.TotalBytesProcessed, nil
}

// probe returns the schema of probeSQL's result by running it. The
// emulator's dry run reports no schema (and evaluates the query, failing
// on values such as +Inf that it cannot serialise), so a LIMIT 0 query
// stands in for it there.
func (w *Warehouse) probe(ctx context.Context, probeSQL string, params []bigquery.QueryParameter,
	labels map[string]string) (bigquery.Schema, error) {
	job, err := w.query(Query{SQL: probeSQL, Params: params, Labels: labels}).Run(ctx)
	if err != nil {
		return nil, w.Classify(fmt.Errorf("checking the SQL: %w", err))
	}
	if _, err := w.Wait(ctx, job); err != nil {
		return nil, fmt.Errorf("checking the SQL: %w", err)
	}
	it, err := job.Read(ctx)
	if err != nil {
		return nil, w.Classify(fmt.Errorf("checking the SQL: reading its schema: %w", err))
	}
	var row []bigquery.Value
	if err := it.Next(&row); err != nil && !errors.Is(err, iterator.Done) {
		return nil, w.Classify(fmt.Errorf("checking the SQL: reading its schema: %w", err))
	}
	return it.Schema, nil
}

// alreadyExists reports whether err says a job with the same id exists:
// BigQuery answers 409; the local emulator answers 400 "already created".
func alreadyExists(err error) bool {
	var gerr *googleapi.Error
	if !errors.As(err, &gerr) {
		return false
	}
	if gerr.Code == http.StatusConflict {
		return true
	}
	msg := strings.ToLower(gerr.Message + " " + gerr.Body)
	return gerr.Code == http.StatusBadRequest &&
		(strings.Contains(msg, "already created") || strings.Contains(msg, "already exists"))
}
