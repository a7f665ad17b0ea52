package crmfile

import (
	"context"
	"errors"
	"fmt"
	"math"
	"math/big"
	"regexp"
	"time"

	"cloud.google.com/go/bigquery"
	"cloud.google.com/go/civil"
	"google.golang.org/api/googleapi"
	"google.golang.org/api/iterator"
)

// Loader loads parsed files into BigQuery tables. Every call it makes to
// BigQuery has a deadline (CallTimeout), since the local emulator can fail
// a request in a way that makes the client retry until its context ends.
type Loader struct {
	// Client is the BigQuery client, typically for the local emulator.
	Client *bigquery.Client
	// Location is the location of datasets the loader creates; default US.
	Location string
	// BatchSize is the number of rows per streaming insert; default 500.
	BatchSize int
	// CallTimeout bounds each call to BigQuery; default 30s.
	CallTimeout time.Duration
}

// Dataset and table ids the loader accepts (at most 1,024 characters);
// Go's regexp caps repeat counts at 1,000, so the length is checked apart.
var (
	datasetRE = regexp.MustCompile(`^[A-Za-z0-9_]+$`)
	tableRE   = regexp.MustCompile(`^[A-Za-z0-9_-]+$`)
)

// Load creates dataset (when missing) and table with d's schema, inserts
// d's rows and checks that the table then holds exactly that many rows.
// The table must not exist yet. Rows BigQuery refuses are reported with
// the file line they came from.
func (l *Loader) Load(ctx context.Context, dataset, table string, d *Data) error {
	if !datasetRE.MatchString(dataset) || !tableRE.MatchString(table) ||
		len(dataset) > 1024 || len(table) > 1024 {
		return fmt.Errorf("crmfile: loading into %q.%q: a dataset name has only letters, "+
			"digits and _; a table name may also hold -", dataset, table)
	}
	l = l.withDefaults()
	if err := l.ensureDataset(ctx, dataset); err != nil {
		return err
	}
	t := l.Client.Dataset(dataset).Table(table)
	err := l.call(ctx, func(ctx context.Context) error {
		return t.Create(ctx, &bigquery.TableMetadata{Schema: d.Schema})
	})
	if err != nil {
		return fmt.Errorf("crmfile: creating table %s.%s: %w", dataset, table, err)
	}

	ins := t.Inserter()
	for start := 0; start < len(d.Rows); start += l.BatchSize {
		batch := d.Rows[start:min(start+l.BatchSize, len(d.Rows))]
		savers := make([]bigquery.ValueSaver, len(batch))
		for i := range batch {
			savers[i] = saver{schema: d.Schema, row: batch[i]}
		}
		err := l.call(ctx, func(ctx context.Context) error { return ins.Put(ctx, savers) })
		if err != nil {
			return l.putError(d, batch, err)
		}
	}
	return l.checkCount(ctx, dataset, table, d)
}

func (l *Loader) withDefaults() *Loader {
	c := *l
	if c.Location == "" {
		c.Location = "US"
	}
	if c.BatchSize <= 0 {
		c.BatchSize = 500
	}
	if c.CallTimeout <= 0 {
		c.CallTimeout = 30 * time.Second
	}
	return &c
}

// call runs f under the per-call deadline.
func (l *Loader) call(ctx context.Context, f func(context.Context) error) error {
	ctx, cancel := context.WithTimeout(ctx, l.CallTimeout)
	defer cancel()
	return f(ctx)
}

func (l *Loader) ensureDataset(ctx context.Context, dataset string) error {
	ds := l.Client.Dataset(dataset)
	err := l.call(ctx, func(ctx context.Context) error {
		_, err := ds.Metadata(ctx)
		return err
	})
	if err == nil {
		return nil
	}
	if !isNotFound(err) {
		return fmt.Errorf("crmfile: looking up dataset %s: %w", dataset, err)
	}
	err = l.call(ctx, func(ctx context.Context) error {
		return ds.Create(ctx, &bigquery.DatasetMetadata{Location: l.Location})
	})
	if err != nil {
		return fmt.Errorf("crmfile: creating dataset %s: %w", dataset, err)
	}
	return nil
}

// putError names the file lines of the rows BigQuery refused.
func (l *Loader) putError(d *Data, batch []Row, err error) error {
	var multi bigquery.PutMultiError
	if !errors.As(err, &multi) || len(multi) == 0 {
		return fmt.Errorf("crmfile: inserting rows of %s from line %d: %w",
			d.File, batch[0].Line, err)
	}
	first := multi[0]
	line := 0
	if first.RowIndex >= 0 && first.RowIndex < len(batch) {
		line = batch[first.RowIndex].Line
	}
	return &Error{File: d.File, Line: line,
		Problem: fmt.Sprintf("BigQuery refused %d row(s) of this batch, this one first: %v",
			len(multi), first.Errors),
		Fix: "fix the row, or give a schema that fits the data", Err: err}
}

// checkCount makes sure no row was dropped on the way in.
func (l *Loader) checkCount(ctx context.Context, dataset, table string, d *Data) error {
	q := l.Client.Query(fmt.Sprintf("SELECT COUNT(*) FROM `%s.%s`", dataset, table))
	var row []bigquery.Value
	err := l.call(ctx, func(ctx context.Context) error {
		it, err := q.Read(ctx)
		if err != nil {
			return err
		}
		return it.Next(&row)
	})
	if err != nil && !errors.Is(err, iterator.Done) {
		return fmt.Errorf("crmfile: counting the rows of %s.%s: %w", dataset, table, err)
	}
	if len(row) != 1 || row[0] != int64(len(d.Rows)) {
		return fmt.Errorf("crmfile: %s.%s holds %v rows after loading %d from %s",
			dataset, table, row, len(d.Rows), d.File)
	}
	return nil
}

func isNotFound(err error) bool {
	var g *googleapi.Error
	return errors.As(err, &g) && g.Code == 404
}

// saver hands one row to the inserter, with the schema's own field
// names: a name that differs only in case crashes the emulator's handler.
type saver struct {
	schema bigquery.Schema
	row    Row
}

// Save implements bigquery.ValueSaver. NULL repeated fields are left out,
// which BigQuery reads as an empty array.
func (s saver) Save() (map[string]bigquery.Value, string, error) {
	return uploadRecord(s.schema, s.row.Values), "", nil
}

// uploadRecord maps a record's values to their fields in the form the
// insert API takes.
func uploadRecord(schema bigquery.Schema, vals []bigquery.Value) map[string]bigquery.Value {
	m := make(map[string]bigquery.Value, len(schema))
	for i, f := range schema {
		if v := vals[i]; v != nil {
			m[f.Name] = uploadValue(f, v)
		} else if !f.Repeated {
			m[f.Name] = nil
		}
	}
	return m
}

// uploadValue spells the values that JSON would get wrong the way the
// insert API reads them: NUMERIC as a decimal (not a fraction), DATETIME
// and TIME in BigQuery's civil forms. Others encode as they are.
func uploadValue(f *bigquery.FieldSchema, v bigquery.Value) bigquery.Value {
	switch x := v.(type) {
	case []bigquery.Value:
		one := *f
		one.Repeated = false
		out := make([]bigquery.Value, len(x))
		for i, el := range x {
			out[i] = uploadValue(&one, el)
		}
		return out
	case map[string]bigquery.Value:
		vals := make([]bigquery.Value, len(f.Schema))
		for i, sf := range f.Schema {
			vals[i] = x[sf.Name]
		}
		return uploadRecord(f.Schema, vals)
	case *big.Rat:
		if f.Type == bigquery.BigNumericFieldType {
			return bigquery.BigNumericString(x)
		}
		return bigquery.NumericString(x)
	case civil.DateTime:
		return bigquery.CivilDateTimeString(x)
	case civil.Time:
		return bigquery.CivilTimeString(x)
	case float64:
		// JSON has no NaN or infinities; the insert API reads them as
		// strings.
		switch {
		case math.IsNaN(x):
			return "NaN"
		case math.IsInf(x, 1):
			return "Infinity"
		case math.IsInf(x, -1):
			return "-Infinity"
		}
	}
	return v
}

// LoadFile reads the CRM file at path with opts and loads it into
// dataset.table (see Load). It returns the parsed data.
func (l *Loader) LoadFile(ctx context.Context, path, dataset, table string,
	opts Options) (*Data, error) {
	d, err := ReadFile(path, opts)
	if err != nil {
		return nil, err
	}
	if err := l.Load(ctx, dataset, table, d); err != nil {
		return nil, err
	}
	return d, nil
}
