package main

import (
	"context"
	"fmt"
	"time"

	"cloud.google.com/go/bigquery"
	"cloud.google.com/go/civil"

	"customconversions.dev/shared/contract"
	"customconversions.dev/shared/failure"
	"customconversions.dev/shared/request"
	"customconversions.dev/shared/store"
	"customconversions.dev/shared/warehouse"
)

// runLabel is the run label of the BigQuery jobs ccctl starts, which
// belong to no run.
const runLabel = "ccctl"

// stepPreview labels preview jobs. The log sink passes on only extract
// jobs, so a preview never reaches MergeConversion.
const stepPreview warehouse.Step = "preview"

// checkSQL checks a definition's SQL as RunConversion does before it
// reads any data: the statement rules, then the result schema from
// BigQuery (a dry run; a LIMIT 0 query on the emulator), then the output
// contract. It returns the shape of the output and the bytes a run would
// process (0 on the emulator). SQL that fails gets a checkError; a
// BigQuery that cannot answer, a plain error.
func (a *app) checkSQL(ctx context.Context, client, conversion, sql string,
	w request.Window) (contract.Shape, int64, error) {
	if err := contract.CheckStatement(sql); err != nil {
		return nil, 0, checkError(err)
	}
	wh, err := a.warehouse(ctx)
	if err != nil {
		return nil, 0, err
	}
	labels := warehouse.Labels(client, conversion, runLabel, warehouse.StepCheck)
	schema, n, err := wh.Schema(ctx, sql, windowParams(w), labels, contract.ProbeSQL(sql))
	if err != nil {
		if failure.IsPermanent(err) {
			return nil, 0, checkError(fmt.Errorf("BigQuery refused the SQL: %w", err))
		}
		return nil, 0, fmt.Errorf("could not check the SQL (try again): %w", err)
	}
	shape, err := contract.CheckSchema(schema)
	if err != nil {
		return nil, 0, checkError(err)
	}
	return shape, n, nil
}

// windowParams are the definition's two query parameters for w.
func windowParams(w request.Window) []bigquery.QueryParameter {
	return []bigquery.QueryParameter{
		{Name: contract.ParamStartDate, Value: w.Start},
		{Name: contract.ParamEndDate, Value: w.End},
	}
}

// yesterday is the window a scheduled run of c would cover now, which a
// check gives the SQL; in UTC for a client not yet known.
func (a *app) yesterday(c *store.Client) request.Window {
	loc := time.UTC
	if c != nil {
		if l, err := c.Location(); err == nil {
			loc = l
		}
	}
	d := civil.DateOf(a.env.Now().In(loc)).AddDays(-1)
	return request.Window{Start: d, End: d}
}

// shapeFields lists the contract columns a definition returns, in the
// contract's order, with their types.
func shapeFields(shape contract.Shape) []field {
	var fs []field
	for _, col := range contract.Columns {
		t, ok := shape[col.Name]
		v := sqlName(col.Name, t)
		if !ok {
			v = "(absent)"
		}
		fs = append(fs, field{"  " + col.Name, v})
	}
	return fs
}

// sqlName names a column's type as GoogleSQL writes it; the client
// library's names differ for some.
func sqlName(column string, t bigquery.FieldType) string {
	switch {
	case column == "params":
		return "ARRAY<STRUCT<key STRING, value STRING>>"
	case t == bigquery.FloatFieldType:
		return "FLOAT64"
	case t == bigquery.IntegerFieldType:
		return "INT64"
	case t == bigquery.BooleanFieldType:
		return "BOOL"
	}
	return string(t)
}
