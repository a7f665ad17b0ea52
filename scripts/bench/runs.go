package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"time"

	"cloud.google.com/go/bigquery"
	"cloud.google.com/go/civil"
	"google.golang.org/api/googleapi"

	"customconversions.dev/functions/mergeconversion"
	"customconversions.dev/functions/runconversion"
	"customconversions.dev/scripts/pipeline"
	"customconversions.dev/shared/contract"
	"customconversions.dev/shared/emulators"
	"customconversions.dev/shared/request"
	"customconversions.dev/shared/store"
	"customconversions.dev/shared/warehouse"
)

// The client, definition and day the runs use. The day is fixed, and in
// the past, so that every run reads the same rows.
const (
	benchClient     = "bench"
	benchConversion = "orders"
	benchDataset    = "attribution"
	stagingDataset  = "cc_staging"
	referenceSQL    = "testdata/sql/reference.sql"
)

var runDay = civil.Date{Year: 2025, Month: 6, Day: 30}

// functionNames are the product's functions, in the order reports list
// them.
var functionNames = []string{runconversion.EntryPoint, mergeconversion.EntryPoint}

// SizeRun is one run of the pipeline over a generated CRM table.
type SizeRun struct {
	Rows     int    `json:"rows"`
	Generate string `json:"generate"`
	// Generated is how long making the CRM table took.
	Generated Millis     `json:"generated_ms"`
	Expect    Expect     `json:"expect"`
	Published time.Time  `json:"published"`
	MessageID string     `json:"message_id"`
	Run       *store.Run `json:"run,omitempty"`
	Steps     []Step     `json:"steps"`
	Jobs      []Job      `json:"jobs"`
	// Memory is each function process's memory after the run.
	Memory map[string]Memory `json:"memory"`
	// Failures are deliveries the functions failed during the run.
	Failures []Failure `json:"failures,omitempty"`
	// GaveUp is when the benchmark stopped waiting for a run that had
	// not finished.
	GaveUp time.Time `json:"gave_up,omitzero"`
	// Err says why the run was not measured to its end; JobsErr why its
	// jobs could not be read.
	Err     string `json:"error,omitempty"`
	JobsErr string `json:"jobs_error,omitempty"`
}

// Finished reports whether the run succeeded and was measured to its end.
func (s *SizeRun) Finished() bool {
	return s.Err == "" && s.Run != nil && s.Run.State == store.StateSucceeded
}

// runOptions configures runSizes.
type runOptions struct {
	sizes    []int
	generate string
	timeout  time.Duration
	// oneClient runs every size for one client, into one attribution
	// table, so that each run after the first merges over existing rows.
	// Otherwise each size has a client and an attribution table of its
	// own.
	oneClient bool
	log       io.Writer
	// functionLog, when set, receives the functions' own output.
	functionLog io.Writer
}

// runSizes starts the local pipeline and runs one day over a CRM table
// of each size in turn, reading the function processes' memory after
// each run and, once a run has finished, its jobs. After a run that did
// not finish, the emulator may still be busy with it (or broken: it
// closes its database when a client abandons some requests), so no
// larger size is run.
func runSizes(ctx context.Context, stack *emulators.Stack, o runOptions) (_ []*SizeRun,
	timesOK bool, _ error) {
	root, err := emulators.RepoRoot()
	if err != nil {
		return nil, true, err
	}
	sql, err := os.ReadFile(filepath.Join(root, referenceSQL))
	if err != nil {
		return nil, true, fmt.Errorf("reading the reference definition: %w", err)
	}
	bq, err := stack.BigQuery(ctx)
	if err != nil {
		return nil, true, err
	}
	defer bq.Close()
	if err := createDataset(ctx, bq, crmDataset); err != nil {
		return nil, true, err
	}

	tail := &logTail{tee: o.functionLog, now: time.Now}
	p, err := pipeline.Start(ctx, pipeline.Options{
		Stack: stack, Client: benchClientDoc(stack.Project(), benchClient, benchDataset),
		ConversionID: benchConversion, SQL: string(sql), StagingDataset: stagingDataset,
		Log: o.log, FunctionLog: tail,
	})
	if err != nil {
		return nil, true, err
	}
	defer func() {
		if err := p.Stop(); err != nil {
			fmt.Fprintf(o.log, "bench: stopping the pipeline: %v\n", err)
		}
	}()

	var sizes []*SizeRun
	var unfinished *SizeRun
	timesOK = true
	for _, n := range o.sizes {
		s := &SizeRun{Rows: n, Generate: o.generate, Expect: expect(n)}
		sizes = append(sizes, s)
		if unfinished != nil {
			s.Err = fmt.Sprintf("not run, since the %s-row run did not finish",
				thousands(int64(unfinished.Rows)))
			continue
		}
		client, dataset := benchClient, benchDataset
		if !o.oneClient {
			client, dataset = fmt.Sprintf("%s-%d", benchClient, n), fmt.Sprintf("%s_%d", benchDataset, n)
			if err := addClient(ctx, p, bq, stack.Project(), client, dataset, string(sql)); err != nil {
				s.Err = err.Error()
				unfinished = s
				continue
			}
		}

		fmt.Fprintf(o.log, "bench: generating %d CRM rows (%s)\n", n, o.generate)
		d, err := generate(ctx, bq, crmDataset, o.generate, n, runDay)
		if err != nil {
			s.Err = err.Error()
			unfinished = s
			continue
		}
		s.Generated = Millis(d)
		fmt.Fprintf(o.log, "bench: running %s over %d rows for client %s\n", runDay, n, client)
		runOne(ctx, p, tail, s, client, o.timeout)
		s.Memory = map[string]Memory{}
		for _, f := range functionNames {
			if m, err := readMemory(p.PID(f)); err == nil {
				s.Memory[f] = m
			}
		}
		if s.Run != nil {
			s.Steps = split(s.Published, *s.Run, tail.milestone(s.Run.ID, msgExtractionStarted))
		}
		if ctx.Err() != nil {
			return sizes, timesOK, ctx.Err()
		}
		if !s.Finished() {
			unfinished = s
			continue
		}

		// The run is recorded before MergeConversion drops its staging
		// table: let it finish, so that nothing is cut off mid-request.
		if err := waitGone(ctx, bq, stagingDataset, s.Run.StagingTable); err != nil {
			s.JobsErr = err.Error()
			continue
		}
		byRun, err := listJobs(ctx, bq)
		if err != nil {
			s.JobsErr = err.Error()
			continue
		}
		var ok bool
		s.Jobs, ok = runJobs(byRun[warehouse.CleanLabel(s.Run.ID)], Roles{
			RoleSource:      crmDataset + "." + crmTable,
			RoleStaging:     stagingDataset + "." + s.Run.StagingTable,
			RoleAttribution: dataset + "." + warehouse.AttributionTable,
			RoleRejected:    dataset + "." + warehouse.RejectedTable,
		})
		timesOK = timesOK && ok
	}
	return sizes, timesOK, nil
}

// benchClientDoc returns a client document for the benchmark.
func benchClientDoc(project, id, dataset string) store.Client {
	return store.Client{ID: id, DisplayName: id, Plan: store.PlanEnterprise, Project: project,
		Dataset: dataset, Currency: "GBP", TimeZone: "Europe/London", Enabled: true}
}

// addClient creates a client with the reference definition and its
// attribution dataset.
func addClient(ctx context.Context, p *pipeline.Pipeline, bq *bigquery.Client, project, id,
	dataset, sql string) error {
	if err := createDataset(ctx, bq, dataset); err != nil {
		return err
	}
	if err := p.Store().PutClient(ctx, benchClientDoc(project, id, dataset)); err != nil {
		return err
	}
	return p.Store().PutDefinition(ctx, id, store.Definition{ID: benchConversion,
		Name: benchConversion, SQL: sql, Enabled: true, Hash: contract.Hash(sql),
		Updated: time.Now().UTC(), Author: "bench"})
}

// waitGone waits, for up to a minute, until a table no longer exists.
func waitGone(ctx context.Context, bq *bigquery.Client, dataset, table string) error {
	deadline := time.Now().Add(time.Minute)
	for {
		cctx, cancel := context.WithTimeout(ctx, 30*time.Second)
		_, err := bq.Dataset(dataset).Table(table).Metadata(cctx)
		cancel()
		var gerr *googleapi.Error
		switch {
		case errors.As(err, &gerr) && gerr.Code == http.StatusNotFound:
			return nil
		case err != nil:
			return fmt.Errorf("waiting for MergeConversion to drop %s: %w", table, err)
		case time.Now().After(deadline):
			return fmt.Errorf("MergeConversion did not drop %s within a minute", table)
		}
		time.Sleep(100 * time.Millisecond)
	}
}

// runOne publishes the day's run request and waits until its run ends,
// a delivery fails (Pub/Sub would retry it, so the wall time would no
// longer measure one pass), or timeout passes.
func runOne(ctx context.Context, p *pipeline.Pipeline, tail *logTail, s *SizeRun, client string,
	timeout time.Duration) {
	mark := tail.mark()
	day := runDay.String()
	s.Published = time.Now()
	id, err := p.Publish(ctx, request.Request{ClientID: client, StartDate: day,
		EndDate: day, Reason: "bench"})
	if err != nil {
		s.Err = err.Error()
		return
	}
	s.MessageID = id

	deadline := s.Published.Add(timeout)
	var lastErr error
	for {
		runs, err := p.Store().RunsByMessage(ctx, client, []string{id})
		if err == nil && len(runs) > 0 {
			r := runs[0]
			s.Run = &r
		}
		if err != nil {
			lastErr = err
		}
		s.Failures = tail.since(mark)
		if s.Run != nil && finished(s.Run.State) {
			if s.Run.State != store.StateSucceeded {
				s.Err = "the run " + s.Run.State + ": " + s.Run.Error
			}
			return
		}
		why := ""
		switch {
		case ctx.Err() != nil:
			why = ctx.Err().Error()
		case len(s.Failures) > 0:
			why = "a delivery failed, so Pub/Sub would deliver the message again " +
				"(the wall time would no longer be one pass): " + s.Failures[0].Line
		case time.Now().After(deadline):
			why = fmt.Sprintf("the run did not finish within %s", timeout)
			if lastErr != nil {
				why += fmt.Sprintf(" (reading its record last failed with: %v)", lastErr)
			}
		}
		if why != "" {
			s.Err, s.GaveUp = why, time.Now()
			return
		}
		select {
		case <-ctx.Done():
		case <-time.After(100 * time.Millisecond):
		}
	}
}

func finished(state string) bool {
	switch state {
	case store.StateSucceeded, store.StateFailed, store.StateSkipped:
		return true
	}
	return false
}

// createDataset creates a dataset, unless it exists.
func createDataset(ctx context.Context, bq *bigquery.Client, id string) error {
	ctx, cancel := context.WithTimeout(ctx, 30*time.Second)
	defer cancel()
	err := bq.Dataset(id).Create(ctx, &bigquery.DatasetMetadata{Location: "US"})
	var gerr *googleapi.Error
	if err != nil && !(errors.As(err, &gerr) && gerr.Code == http.StatusConflict) {
		return fmt.Errorf("creating dataset %s: %w", id, err)
	}
	return nil
}
