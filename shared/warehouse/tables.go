package warehouse

import (
	"context"
	"errors"
	"fmt"
	"net/http"

	"cloud.google.com/go/bigquery"
	"google.golang.org/api/googleapi"

	"customconversions.dev/shared/contract"
)

// AttributionSchema is the schema of a client's attribution table: one
// row per (conversion_id, id), the staged columns plus when the row was
// first seen, when it last changed and by which run.
var AttributionSchema = append(bigquery.Schema{
	{Name: "conversion_id", Type: bigquery.StringFieldType, Required: true},
}, append(withoutProblems(contract.StagedSchema),
	&bigquery.FieldSchema{Name: "first_seen", Type: bigquery.TimestampFieldType},
	&bigquery.FieldSchema{Name: "updated_at", Type: bigquery.TimestampFieldType},
	&bigquery.FieldSchema{Name: "run_id", Type: bigquery.StringFieldType},
)...)

// RejectedSchema is the schema of a client's rejected-rows table: each
// rejected row as staged, with its problems, run and time.
var RejectedSchema = append(bigquery.Schema{
	{Name: "conversion_id", Type: bigquery.StringFieldType, Required: true},
	{Name: "run_id", Type: bigquery.StringFieldType, Required: true},
	{Name: "rejected_at", Type: bigquery.TimestampFieldType},
}, contract.StagedSchema...)

func withoutProblems(s bigquery.Schema) bigquery.Schema {
	var out bigquery.Schema
	for _, f := range s {
		if f.Name != "problems" {
			out = append(out, f)
		}
	}
	return out
}

// EnsureTables creates a client's attribution table (partitioned by day
// of created, clustered by conversion) and rejected-rows table (by day of
// rejected_at) in project.dataset when they do not exist.
func (w *Warehouse) EnsureTables(ctx context.Context, project, dataset string) error {
	ds := w.bq.DatasetInProject(project, dataset)
	tables := []struct {
		name string
		meta *bigquery.TableMetadata
	}{
		{AttributionTable, &bigquery.TableMetadata{
			Schema:           AttributionSchema,
			TimePartitioning: &bigquery.TimePartitioning{Type: bigquery.DayPartitioningType, Field: "created"},
			Clustering:       &bigquery.Clustering{Fields: []string{"conversion_id"}},
			Description:      "Custom conversions: one row per conversion and id.",
		}},
		{RejectedTable, &bigquery.TableMetadata{
			Schema:           RejectedSchema,
			TimePartitioning: &bigquery.TimePartitioning{Type: bigquery.DayPartitioningType, Field: "rejected_at"},
			Description:      "Custom conversions rows rejected by the output checks, with their problems.",
		}},
	}
	for _, t := range tables {
		cctx, cancel := context.WithTimeout(ctx, callTimeout)
		_, err := ds.Table(t.name).Metadata(cctx)
		if err == nil {
			cancel()
			continue
		}
		err = ds.Table(t.name).Create(cctx, t.meta)
		cancel()
		var gerr *googleapi.Error
		if err != nil && !(errors.As(err, &gerr) && gerr.Code == http.StatusConflict) {
			return w.Classify(fmt.Errorf("creating table %s.%s.%s: %w", project, dataset, t.name, err))
		}
	}
	return nil
}

// DeleteTable deletes a table; one that is already gone is no error.
func (w *Warehouse) DeleteTable(ctx context.Context, project, dataset, table string) error {
	ctx, cancel := context.WithTimeout(ctx, callTimeout)
	defer cancel()
	err := w.bq.DatasetInProject(project, dataset).Table(table).Delete(ctx)
	var gerr *googleapi.Error
	if err == nil || errors.As(err, &gerr) && gerr.Code == http.StatusNotFound {
		return nil
	}
	return w.Classify(fmt.Errorf("deleting table %s: %w", table, err))
}

// Ref returns the quoted GoogleSQL reference `project.dataset.table`.
// Every part must have been validated (CheckProject, CheckDataset, or a
// name this package built).
func Ref(project, dataset, table string) string {
	return "`" + project + "." + dataset + "." + table + "`"
}
