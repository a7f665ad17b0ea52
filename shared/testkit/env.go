package testkit

import (
	"bytes"
	"context"
	"errors"
	"log/slog"
	"testing"
	"time"

	"cloud.google.com/go/bigquery"
	"google.golang.org/api/iterator"

	"customconversions.dev/shared/config"
	"customconversions.dev/shared/emulators"
	"customconversions.dev/shared/instance"
	"customconversions.dev/shared/logging"
	"customconversions.dev/shared/store"
	"customconversions.dev/shared/warehouse"
)

// Env is one test's own client, datasets, store and warehouse on the
// emulators that emulators.Main started.
type Env struct {
	Config    config.Config
	Store     *store.Store
	Warehouse *warehouse.Warehouse
	BQ        *bigquery.Client
	// Dataset holds the CRM tables and the client's attribution tables.
	Dataset *bigquery.Dataset
	Names   emulators.Names
	// Client is an enterprise client, stored. Its id is unique to the
	// test, since the emulator's job ids (which name the client) are
	// shared by every test.
	Client store.Client
	// Logs receives what Log writes.
	Logs *bytes.Buffer
	Log  *slog.Logger
}

// NewEnv returns a new Env with its datasets and client created.
func NewEnv(t *testing.T) *Env {
	t.Helper()
	ctx := context.Background()
	stack := emulators.Shared(t)
	names := stack.NewNames(t)
	bq, err := stack.BigQuery(ctx)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { bq.Close() })
	ds := emulators.NewDataset(t, bq, names)
	staging := names
	staging.Dataset += "_stg"
	emulators.NewDataset(t, bq, staging)

	cfg := config.Config{
		Project:          names.BigQueryProject,
		StagingDataset:   staging.Dataset,
		Location:         "US",
		RejectThreshold:  0.05,
		StagingExpiry:    24 * time.Hour,
		ServiceAccount:   "cc-functions@cc-local.iam.gserviceaccount.com",
		BigQueryEmulator: stack.BigQueryHost(),
	}
	st, err := store.New(ctx, names.Project)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { st.Close() })
	wh, err := warehouse.New(ctx, cfg)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { wh.Close() })

	logs := &bytes.Buffer{}
	e := &Env{
		Config: cfg, Store: st, Warehouse: wh, BQ: bq, Dataset: ds, Names: names,
		Logs: logs, Log: logging.New(logs, slog.LevelInfo),
		Client: store.Client{ID: names.Prefix, DisplayName: "Acme", Plan: store.PlanEnterprise,
			Project: names.BigQueryProject, Dataset: names.Dataset, Currency: "GBP",
			TimeZone: "Europe/London", Enabled: true},
	}
	e.PutClient(t)
	return e
}

// Instance returns a function instance on e's store and warehouse.
func (e *Env) Instance() *instance.Instance {
	return &instance.Instance{Config: e.Config, Store: e.Store, Warehouse: e.Warehouse, Log: e.Log,
		Now: time.Now}
}

// PutClient stores e.Client.
func (e *Env) PutClient(t *testing.T) {
	t.Helper()
	if err := e.Store.PutClient(context.Background(), e.Client); err != nil {
		t.Fatal(err)
	}
}

// Define stores an enabled definition of the client.
func (e *Env) Define(t *testing.T, id, sql string) {
	t.Helper()
	d := store.Definition{ID: id, Name: id, SQL: sql, Enabled: true, Hash: "h-" + id,
		Updated: time.Now(), Author: "test"}
	if err := e.Store.PutDefinition(context.Background(), e.Client.ID, d); err != nil {
		t.Fatal(err)
	}
}

// Table returns the quoted reference of a table in e.Dataset.
func (e *Env) Table(name string) string {
	return warehouse.Ref(e.Names.BigQueryProject, e.Names.Dataset, name)
}

// Runs returns the client's runs, newest first.
func (e *Env) Runs(t *testing.T) []store.Run {
	t.Helper()
	runs, err := e.Store.Runs(context.Background(), e.Client.ID, "", 100)
	if err != nil {
		t.Fatal(err)
	}
	return runs
}

// OnlyRun returns the client's single run, failing the test unless there
// is exactly one.
func (e *Env) OnlyRun(t *testing.T) store.Run {
	t.Helper()
	runs := e.Runs(t)
	if len(runs) != 1 {
		t.Fatalf("%d runs recorded; want 1: %+v\nlogs:\n%s", len(runs), runs, e.Logs)
	}
	return runs[0]
}

// Wait waits for a job of the run and fails the test if it failed.
func (e *Env) Wait(t *testing.T, jobID string) *bigquery.Job {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	job, err := e.BQ.JobFromID(ctx, jobID)
	if err != nil {
		t.Fatalf("job %q: %v", jobID, err)
	}
	st, err := job.Wait(ctx)
	if err != nil {
		t.Fatalf("job %s: %v", jobID, err)
	}
	if err := st.Err(); err != nil {
		t.Fatalf("job %s failed: %v", jobID, err)
	}
	return job
}

// Query runs sql and loads its rows into dst, a pointer to a slice of
// structs.
func Query[T any](t *testing.T, bq *bigquery.Client, sql string) []T {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	it, err := bq.Query(sql).Read(ctx)
	if err != nil {
		t.Fatalf("query %s: %v", sql, err)
	}
	var rows []T
	for {
		var r T
		err := it.Next(&r)
		if errors.Is(err, iterator.Done) {
			return rows
		}
		if err != nil {
			t.Fatalf("query %s: %v", sql, err)
		}
		rows = append(rows, r)
	}
}

// Jobs lists the ids of the emulator's jobs whose id contains part.
func (e *Env) Jobs(t *testing.T, part string) []string {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	it := e.BQ.Jobs(ctx)
	it.AllUsers = true
	var ids []string
	for {
		j, err := it.Next()
		if errors.Is(err, iterator.Done) {
			return ids
		}
		if err != nil {
			t.Fatalf("listing jobs: %v", err)
		}
		if bytes.Contains([]byte(j.ID()), []byte(part)) {
			ids = append(ids, j.ID())
		}
	}
}
