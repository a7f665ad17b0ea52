package mergeconversion

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"sort"
	"strings"

	"cloud.google.com/go/bigquery"
	"google.golang.org/api/iterator"

	"customconversions.dev/shared/events"
	"customconversions.dev/shared/failure"
	"customconversions.dev/shared/logging"
	"customconversions.dev/shared/store"
	"customconversions.dev/shared/warehouse"
)

// merge handles a finished extraction job of this product. It returns
// only transient errors; permanent ones are recorded on the run.
func (h *Handler) merge(ctx context.Context, job jobRef) error {
	log := h.Log.With(logging.ClientKey, job.client, logging.ConversionKey, job.conversion,
		logging.RunKey, job.run, logging.JobKey, job.JobID)

	run, err := h.Store.Run(ctx, job.client, job.run)
	if errors.Is(err, store.ErrNotFound) {
		log.Warn("event ignored: no such run recorded")
		return nil
	}
	if err != nil {
		return err
	}
	switch current := run.Jobs[string(warehouse.StepExtract)]; {
	case current == "" && run.State == store.StateExtracting && isExtraction(run, job.JobID):
		// RunConversion started this job and has not recorded it yet (it
		// is about to, or its instance died first and its request will be
		// delivered again): acknowledging would lose the run's only event.
		return fmt.Errorf("mergeconversion: run %s has not recorded its extraction job %s yet",
			run.ID, job.JobID)
	case current != job.JobID:
		log.Info("event ignored: not the run's current extraction job",
			"current_job", run.Jobs[string(warehouse.StepExtract)])
		return nil
	case run.State != store.StateExtracting && run.State != store.StateMerging:
		log.Info("event ignored: run already " + run.State)
		return nil
	}

	if job.Err != nil {
		return h.fail(ctx, log, run, failure.Permanent(fmt.Errorf("the extraction job failed: %w%s",
			job.Err, h.hint(job.Err))))
	}
	run, err = h.Store.UpdateRun(ctx, run.ClientID, run.ID, func(r *store.Run) error {
		if r.State == store.StateMerging {
			return store.ErrNoChange
		}
		r.State = store.StateMerging
		r.Extracted = h.Now().UTC()
		r.BytesProcessed = job.TotalProcessedBytes
		return nil
	})
	if err != nil {
		return err
	}

	if err := h.mergeRun(ctx, log, run); err != nil {
		return h.fail(ctx, log, run, err)
	}
	return nil
}

// isExtraction reports whether id is one of the ids RunConversion gives
// the run's extraction attempts.
func isExtraction(run store.Run, id string) bool {
	first := warehouse.JobID(run.ClientID, run.ConversionID, run.ID, warehouse.StepExtract, 1)
	return id == first || strings.HasPrefix(id, first+"_")
}

// mergeRun summarises, checks and merges the run's staged rows.
func (h *Handler) mergeRun(ctx context.Context, log *slog.Logger, run store.Run) error {
	client, err := h.Store.Client(ctx, run.ClientID)
	if err != nil {
		return err
	}
	if err := client.Check(); err != nil {
		return failure.Permanent(err)
	}
	if err := h.Warehouse.EnsureTables(ctx, client.Project, client.Dataset); err != nil {
		return err
	}
	t := tables{
		staged:      warehouse.Ref(h.Config.Project, h.Config.StagingDataset, run.StagingTable),
		attribution: warehouse.Ref(client.Project, client.Dataset, warehouse.AttributionTable),
		rejected:    warehouse.Ref(client.Project, client.Dataset, warehouse.RejectedTable),
	}
	params := []bigquery.QueryParameter{
		{Name: paramConversion, Value: run.ConversionID},
		{Name: paramRun, Value: run.ID},
	}

	counts, summaryJob, err := h.summarise(ctx, run, t, params)
	if err != nil {
		return err
	}
	step, sql := warehouse.StepMerge, t.mergeSQL()
	share := 0.0
	if counts.Read > 0 {
		share = float64(counts.Rejected) / float64(counts.Read)
	}
	tooMany := share > h.Config.RejectThreshold
	if tooMany {
		step, sql = warehouse.StepReject, t.rejectSQL()
	}
	job, err := h.runJob(ctx, run, step, sql, params)
	if err != nil {
		return err
	}
	jobs := map[warehouse.Step]string{warehouse.StepSummary: summaryJob, step: job.ID()}

	if tooMany {
		counts.Inserted, counts.Updated, counts.Unchanged = 0, 0, 0
		return failure.Permanent(h.finish(ctx, run, counts, jobs, fmt.Errorf(
			"%d of %d rows (%.1f%%) were rejected, more than the %.1f%% allowed, so nothing was "+
				"merged: %s; the rejected rows are in %s; fix the definition's SQL and rerun",
			counts.Rejected, counts.Read, 100*share, 100*h.Config.RejectThreshold,
			reasons(counts), t.rejected)))
	}
	// The staging table goes before the run is recorded as done, so that
	// whoever waits for the run finds nothing of it still under way.
	if err := h.Warehouse.DeleteTable(ctx, h.Config.Project, h.Config.StagingDataset,
		run.StagingTable); err != nil {
		log.Warn("staging table left to expire: " + err.Error())
	}
	if err := h.finish(ctx, run, counts, jobs, nil); err != nil {
		return err
	}
	log.Info("run merged", "read", counts.Read, "rejected", counts.Rejected,
		"duplicates", counts.Duplicates, "inserted", counts.Inserted, "updated", counts.Updated,
		"unchanged", counts.Unchanged)
	return nil
}

// runJob runs one step's job under its deterministic id, and again under
// a new attempt when the previous one failed for a passing reason (such
// as another job changing the same table at the same time). A redelivery
// skips the attempts that already failed.
func (h *Handler) runJob(ctx context.Context, run store.Run, step warehouse.Step, sql string,
	params []bigquery.QueryParameter) (*bigquery.Job, error) {
	q := warehouse.Query{SQL: sql, Params: params,
		Labels: warehouse.Labels(run.ClientID, run.ConversionID, run.ID, step)}
	return h.Warehouse.RunAttempts(ctx, q, func(attempt int) string {
		return warehouse.JobID(run.ClientID, run.ConversionID, run.ID, step, attempt)
	}, maxAttempts)
}

// maxAttempts bounds the attempts of one step of a run, over all
// deliveries of its event.
const maxAttempts = 5

// summarise runs the summary query and returns the run's counts.
func (h *Handler) summarise(ctx context.Context, run store.Run, t tables,
	params []bigquery.QueryParameter) (store.Counts, string, error) {
	job, err := h.runJob(ctx, run, warehouse.StepSummary, t.summarySQL(), params)
	if err != nil {
		return store.Counts{}, "", fmt.Errorf("summarising the staged rows: %w", err)
	}
	it, err := job.Read(ctx)
	if err != nil {
		return store.Counts{}, "", fmt.Errorf("reading the summary: %w", err)
	}

	c := store.Counts{RejectedByReason: map[string]int64{}}
	var accepted, merged int64
	for {
		var row struct {
			Metric string
			Reason bigquery.NullString
			N      int64
			Sample bigquery.NullString
		}
		err := it.Next(&row)
		if errors.Is(err, iterator.Done) {
			break
		}
		if err != nil {
			return store.Counts{}, "", fmt.Errorf("reading the summary: %w", err)
		}
		switch row.Metric {
		case "read":
			c.Read = row.N
		case "rejected":
			c.Rejected = row.N
		case "reason":
			c.RejectedByReason[row.Reason.StringVal] = row.N
		case "sample":
			c.RejectedSamples = append(c.RejectedSamples, row.Sample.StringVal)
		case "accepted":
			accepted = row.N
		case "merged":
			merged = row.N
		case "generated":
			c.Generated = row.N
		case "inserted":
			c.Inserted = row.N
		case "unchanged":
			c.Unchanged = row.N
		}
	}
	c.Duplicates = accepted - merged
	c.Updated = merged - c.Inserted - c.Unchanged
	return c, job.ID(), nil
}

// finish records the run's outcome: succeeded, or failed with cause.
func (h *Handler) finish(ctx context.Context, run store.Run, c store.Counts,
	jobs map[warehouse.Step]string, cause error) error {
	_, err := h.Store.UpdateRun(ctx, run.ClientID, run.ID, func(r *store.Run) error {
		r.Counts = c
		for step, id := range jobs {
			r.Jobs[string(step)] = id
		}
		r.Finished = h.Now().UTC()
		r.State = store.StateSucceeded
		if cause != nil {
			r.State = store.StateFailed
			r.Error = cause.Error()
		}
		return nil
	})
	if err != nil {
		return err
	}
	return cause
}

// fail records a permanent error on the run and acknowledges it, or
// returns a transient one for Pub/Sub to retry.
func (h *Handler) fail(ctx context.Context, log *slog.Logger, run store.Run, cause error) error {
	if !failure.IsPermanent(cause) {
		return cause
	}
	_, err := h.Store.UpdateRun(ctx, run.ClientID, run.ID, func(r *store.Run) error {
		if r.State == store.StateFailed {
			return store.ErrNoChange
		}
		r.State = store.StateFailed
		r.Error = cause.Error()
		r.Finished = h.Now().UTC()
		return nil
	})
	if err != nil {
		return err
	}
	log.Error("run failed: " + cause.Error())
	return nil
}

// hint says what to do about a failed extraction job, where that is known.
func (h *Handler) hint(je *events.JobError) string {
	switch {
	case je.Code == "PERMISSION_DENIED" || je.Reason == "accessDenied":
		return ": " + h.Warehouse.AccessHint(je.Message)
	case je.Code == "INVALID_ARGUMENT" || je.Reason == "invalidQuery":
		return ": fix the definition's SQL (check it with the operator command) and rerun"
	}
	return ": rerun the day once the cause is fixed"
}

// reasons lists the rejected counts per reason, in reason order.
func reasons(c store.Counts) string {
	keys := make([]string, 0, len(c.RejectedByReason))
	for k := range c.RejectedByReason {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	parts := make([]string, len(keys))
	for i, k := range keys {
		parts[i] = fmt.Sprintf("%s %d", k, c.RejectedByReason[k])
	}
	return strings.Join(parts, ", ")
}
