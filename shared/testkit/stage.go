package testkit

import (
	"context"
	"testing"
	"time"

	"cloud.google.com/go/bigquery"
	"cloud.google.com/go/civil"

	"customconversions.dev/shared/contract"
	"customconversions.dev/shared/request"
	"customconversions.dev/shared/store"
	"customconversions.dev/shared/warehouse"
)

// Stage does what RunConversion does for one conversion, with the same
// production SQL, so that MergeConversion's tests start from a finished
// extraction job: it records a run for the window (named by msgID) and
// runs the extraction of sql into the run's staging table. It returns the
// run as recorded and the extraction job.
func (e *Env) Stage(t *testing.T, conversion, sql string, start, end civil.Date,
	msgID string) (store.Run, *bigquery.Job) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	w := request.Window{Start: start, End: end}
	run := store.Run{
		ClientID: e.Client.ID, ConversionID: conversion, DefinitionHash: contract.Hash(sql),
		WindowStart: start.String(), WindowEnd: end.String(), Trigger: "manual",
		MessageID: msgID, State: store.StateExtracting, Attempt: 1, Jobs: map[string]string{},
		Created: time.Now().UTC(),
	}
	run.ID = warehouse.RunID(e.Client.ID, conversion, w, msgID)
	run.StagingTable = warehouse.StagingTable(e.Client.ID, conversion, run.ID)
	params := []bigquery.QueryParameter{
		{Name: contract.ParamStartDate, Value: start},
		{Name: contract.ParamEndDate, Value: end},
	}
	schema, _, err := e.Warehouse.Schema(ctx, sql, params, nil, contract.ProbeSQL(sql))
	if err != nil {
		t.Fatalf("schema of %s: %v", conversion, err)
	}
	shape, err := contract.CheckSchema(schema)
	if err != nil {
		t.Fatalf("contract of %s: %v", conversion, err)
	}

	q := warehouse.Query{
		SQL: contract.ExtractionSQL(sql, shape),
		Params: append(params,
			bigquery.QueryParameter{Name: contract.ParamDefaultCurrency, Value: e.Client.Currency},
			bigquery.QueryParameter{Name: contract.ParamTimeZone, Value: e.Client.TimeZone}),
		JobID:  warehouse.JobID(e.Client.ID, conversion, run.ID, warehouse.StepExtract, 1),
		Labels: warehouse.Labels(e.Client.ID, conversion, run.ID, warehouse.StepExtract),
		Dst: e.BQ.DatasetInProject(e.Config.Project, e.Config.StagingDataset).
			Table(run.StagingTable),
	}
	run.Jobs[string(warehouse.StepExtract)] = q.JobID
	if _, _, err := e.Store.CreateRun(ctx, run); err != nil {
		t.Fatal(err)
	}
	job, _, err := e.Warehouse.Run(ctx, q)
	if err != nil {
		t.Fatalf("extraction of %s: %v", conversion, err)
	}
	return run, job
}
