package crmfile_test

import (
	"bytes"
	"context"
	"encoding/json"
	"os"
	"testing"
	"time"

	"cloud.google.com/go/bigquery"
	"customconversions.dev/shared/crmfile"
)

func TestZZLoadJob(t *testing.T) {
	bq, n := newBigQuery(t)
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	path := sharedFile(t, "online-retail-sample.csv")
	st := time.Now()
	d, err := crmfile.ReadFile(path, crmfile.Options{})
	if err != nil {
		t.Fatal(err)
	}
	t.Logf("parse: %s", time.Since(st))
	var buf bytes.Buffer
	enc := json.NewEncoder(&buf)
	for _, r := range d.Rows {
		m := map[string]any{}
		for i, f := range d.Schema {
			m[f.Name] = r.Values[i]
		}
		enc.Encode(m)
	}
	os.WriteFile("/tmp/retail.ndjson", buf.Bytes(), 0o644)
	st = time.Now()
	src := bigquery.NewReaderSource(bytes.NewReader(buf.Bytes()))
	src.SourceFormat = bigquery.JSON
	src.Schema = d.Schema
	tab := bq.Dataset(n.Dataset).Table("viajob")
	job, err := tab.LoaderFrom(src).Run(ctx)
	if err != nil {
		t.Fatalf("run: %v", err)
	}
	status, err := job.Wait(ctx)
	if err != nil {
		t.Fatalf("wait: %v", err)
	}
	t.Logf("load job: %s, status err %v", time.Since(st), status.Err())
	it, err := bq.Query("SELECT COUNT(*), COUNTIF(CustomerID IS NULL), MIN(InvoiceDate) FROM `" + n.Dataset + ".viajob`").Read(ctx)
	if err != nil {
		t.Fatal(err)
	}
	var row []bigquery.Value
	it.Next(&row)
	t.Logf("count %v", row)
}
