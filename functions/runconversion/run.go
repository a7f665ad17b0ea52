package runconversion

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"time"

	"cloud.google.com/go/bigquery"
	"google.golang.org/api/googleapi"

	"customconversions.dev/shared/contract"
	"customconversions.dev/shared/failure"
	"customconversions.dev/shared/logging"
	"customconversions.dev/shared/request"
	"customconversions.dev/shared/store"
	"customconversions.dev/shared/warehouse"
)

// run checks one conversion and starts its extraction job. It returns
// only transient errors; a permanent one is recorded on the run.
func (h *Handler) run(ctx context.Context, r Request) error {
	fresh, w, stop := r.newRun(h.Now().UTC())
	log := h.Log.With(logging.ClientKey, fresh.ClientID, logging.ConversionKey, fresh.ConversionID,
		logging.RunKey, fresh.ID, "message_id", r.MessageID)

	run, created, err := h.Store.CreateRun(ctx, fresh)
	if err != nil {
		return err
	}
	if !created && run.State != store.StateExtracting {
		log.Info("run already handled", "state", run.State)
		return nil
	}
	if run.State == store.StateSkipped || stop != nil {
		return h.fail(ctx, log, run, stop)
	}
	// A redelivery after the extraction was recorded has nothing to do,
	// not even the check (another query), unless that job failed for a
	// passing reason and needs a new attempt.
	if id := run.Jobs[string(warehouse.StepExtract)]; id != "" {
		if job, err := h.Warehouse.Job(ctx, id); err == nil && !h.retryable(job) {
			log.Info("extraction already started", logging.JobKey, id)
			return nil
		}
	}

	shape, err := h.check(ctx, r, run, w)
	if err != nil {
		return h.fail(ctx, log, run, err)
	}
	// On a redelivery the job id is the same, so this finds the job the
	// first delivery started instead of starting another.
	job, err := h.extract(ctx, r, run, w, shape)
	if err != nil {
		return h.fail(ctx, log, run, err)
	}
	log.Info("extraction started", logging.JobKey, job, "window", w.String())
	return nil
}

// check checks the definition's SQL without reading data and returns the
// shape of its output.
func (h *Handler) check(ctx context.Context, r Request, run store.Run, w request.Window) (contract.Shape, error) {
	sql := r.Definition.SQL
	if err := contract.CheckStatement(sql); err != nil {
		return nil, failure.Permanent(err)
	}
	labels := warehouse.Labels(run.ClientID, run.ConversionID, run.ID, warehouse.StepCheck)
	schema, _, err := h.Warehouse.Schema(ctx, sql, windowParams(w), labels, contract.ProbeSQL(sql))
	if err != nil {
		return nil, fmt.Errorf("the definition's SQL: %w", err)
	}
	shape, err := contract.CheckSchema(schema)
	if err != nil {
		return nil, failure.Permanent(err)
	}
	return shape, nil
}

func windowParams(w request.Window) []bigquery.QueryParameter {
	return []bigquery.QueryParameter{
		{Name: contract.ParamStartDate, Value: w.Start},
		{Name: contract.ParamEndDate, Value: w.End},
	}
}

// extract starts the run's extraction job, or attaches to the one an
// earlier delivery started, and records it. A job of an earlier attempt
// that failed for a passing reason is retried under a new attempt.
func (h *Handler) extract(ctx context.Context, r Request, run store.Run, w request.Window,
	shape contract.Shape) (string, error) {
	dst := h.Warehouse.Client().DatasetInProject(h.Config.Project, h.Config.StagingDataset).
		Table(run.StagingTable)
	if err := h.prepareStaging(ctx, dst); err != nil {
		return "", err
	}

	params := append(windowParams(w),
		bigquery.QueryParameter{Name: contract.ParamDefaultCurrency, Value: r.Client.Currency},
		bigquery.QueryParameter{Name: contract.ParamTimeZone, Value: r.Client.TimeZone})
	q := warehouse.Query{
		SQL:    contract.ExtractionSQL(r.Definition.SQL, shape),
		Params: params,
		Labels: warehouse.Labels(run.ClientID, run.ConversionID, run.ID, warehouse.StepExtract),
		Dst:    dst,
		Batch:  h.Config.Batch,
	}

	attempt := max(run.Attempt, 1)
	for {
		q.JobID = warehouse.JobID(run.ClientID, run.ConversionID, run.ID, warehouse.StepExtract, attempt)
		job, existed, err := h.Warehouse.Start(ctx, q)
		if err != nil {
			return "", err
		}
		if existed && h.retryable(job) && attempt < maxAttempts {
			attempt++
			continue
		}
		_, err = h.Store.UpdateRun(ctx, run.ClientID, run.ID, func(s *store.Run) error {
			if s.State != store.StateExtracting {
				return store.ErrNoChange
			}
			s.Attempt = attempt
			s.Jobs[string(warehouse.StepExtract)] = q.JobID
			return nil
		})
		return q.JobID, err
	}
}

// maxAttempts bounds the extraction attempts of one run.
const maxAttempts = 5

// retryable reports whether job finished with an error a new attempt may
// not meet again.
func (h *Handler) retryable(job *bigquery.Job) bool {
	st := job.LastStatus()
	if st == nil || st.State != bigquery.Done || st.Err() == nil {
		return false
	}
	return !failure.IsPermanent(h.Warehouse.Classify(st.Err()))
}

// prepareStaging creates the run's staging table with an expiry, so that
// a run that never merges leaves nothing behind for long. The extraction
// job then replaces its contents. An existing table is kept.
func (h *Handler) prepareStaging(ctx context.Context, t *bigquery.Table) error {
	ctx, cancel := context.WithTimeout(ctx, time.Minute)
	defer cancel()
	err := t.Create(ctx, &bigquery.TableMetadata{
		Schema:         contract.StagedSchema,
		ExpirationTime: h.Now().Add(h.Config.StagingExpiry),
	})
	var gerr *googleapi.Error
	if err == nil || errors.As(err, &gerr) && gerr.Code == http.StatusConflict {
		return nil
	}
	return fmt.Errorf("creating staging table %s: %w", t.TableID, err)
}

// fail records a permanent error on the run and acknowledges it, or
// returns a transient one for Pub/Sub to retry.
func (h *Handler) fail(ctx context.Context, log *slog.Logger, run store.Run, cause error) error {
	if !failure.IsPermanent(cause) && run.State != store.StateSkipped {
		return cause
	}
	state := store.StateFailed
	if run.State == store.StateSkipped {
		state = store.StateSkipped
	}
	_, err := h.Store.UpdateRun(ctx, run.ClientID, run.ID, func(s *store.Run) error {
		if s.State == state && s.Error != "" {
			return store.ErrNoChange
		}
		s.State = state
		s.Error = cause.Error()
		s.Finished = h.Now().UTC()
		return nil
	})
	if err != nil {
		return err
	}
	if state == store.StateSkipped {
		log.Warn("run skipped: " + cause.Error())
		return nil
	}
	log.Error("run failed: " + cause.Error())
	return nil
}
