package crmfile

import (
	"encoding/csv"
	"errors"
	"fmt"
	"io"
	"regexp"
	"strconv"
	"strings"

	"cloud.google.com/go/bigquery"
	"customconversions.dev/shared/contract"
)

// csvRecord is one CSV record with the line of each of its cells.
type csvRecord struct {
	cells []string
	lines []int
}

// csvColumn says where a CSV column goes.
type csvColumn struct {
	name  string // header name, made a valid column name
	field int    // index in the schema, or -1 when only folded
	key   string // key in the properties column, or "" when not folded
}

func readCSV(r io.Reader, name string, opts Options) (*Data, error) {
	cr := csv.NewReader(r)
	cr.FieldsPerRecord = -1
	header, err := cr.Read()
	if errors.Is(err, io.EOF) {
		return nil, &Error{File: name, Problem: "the file is empty",
			Fix: "write a header line naming the columns, then one line per record"}
	}
	if err != nil {
		return nil, csvError(name, err)
	}
	names, err := headerNames(name, header)
	if err != nil {
		return nil, err
	}

	var recs []csvRecord
	for {
		cells, err := cr.Read()
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			return nil, csvError(name, err)
		}
		lines := make([]int, len(cells))
		for i := range cells {
			lines[i], _ = cr.FieldPos(i)
		}
		if len(cells) != len(names) {
			return nil, &Error{File: name, Line: lines[0],
				Problem: fmt.Sprintf("the row has %d fields but the header has %d",
					len(cells), len(names)),
				Fix: "give every row the header's columns; quote values that hold commas " +
					`and double the quotes inside them ("")`}
		}
		recs = append(recs, csvRecord{cells: cells, lines: lines})
	}

	schema, cols, kv, err := csvPlan(name, header, names, recs, opts)
	if err != nil {
		return nil, err
	}
	d := &Data{File: name, Schema: schema, Rows: make([]Row, 0, len(recs))}
	for _, rec := range recs {
		row, err := csvRow(name, rec, schema, cols, kv, opts)
		if err != nil {
			return nil, err
		}
		d.Rows = append(d.Rows, row)
	}
	return d, nil
}

// csvError turns a parse error of encoding/csv into an Error.
func csvError(name string, err error) error {
	var pe *csv.ParseError
	if !errors.As(err, &pe) {
		return &Error{File: name, Problem: "reading: " + err.Error(), Err: err}
	}
	return &Error{File: name, Line: pe.Line,
		Problem: fmt.Sprintf("%v (character %d; the record starts on line %d)",
			pe.Err, pe.Column, pe.StartLine),
		Fix: `enclose a value holding quotes, commas or line breaks in double quotes, ` +
			`and double the quotes inside it ("")`,
		Err: err}
}

var notNameRE = regexp.MustCompile(`[^A-Za-z0-9_]+`)

// headerNames turns the header's names into valid, distinct column
// names: characters other than letters, digits and _ become _, a name
// starting with a digit gets a leading _, and an empty name (as R writes
// for its row numbers) becomes column_N.
func headerNames(file string, header []string) ([]string, error) {
	names := make([]string, len(header))
	seen := map[string]int{}
	for i, h := range header {
		n := notNameRE.ReplaceAllString(strings.TrimSpace(h), "_")
		switch {
		case n == "":
			n = "column_" + strconv.Itoa(i+1)
		case n[0] >= '0' && n[0] <= '9':
			n = "_" + n
		}
		if j, dup := seen[strings.ToLower(n)]; dup {
			return nil, &Error{File: file, Line: 1, Column: n,
				Problem: fmt.Sprintf("header columns %d (%q) and %d (%q) have the same name", j+1,
					header[j], i+1, h),
				Fix: "rename one of them (names are compared without case)"}
		}
		seen[strings.ToLower(n)] = i
		names[i] = n
	}
	return names, nil
}

// csvPlan works out the schema (given or inferred), where each column
// goes, and the index of the properties field (-1 when nothing is folded).
func csvPlan(file string, header, names []string, recs []csvRecord,
	opts Options) (bigquery.Schema, []csvColumn, int, error) {
	find := func(c string) int {
		if i := indexFold(names, c); i >= 0 {
			return i
		}
		return indexFold(header, c)
	}
	has := func(c string) bool { return find(c) >= 0 }
	if err := checkRequire(file, opts, has); err != nil {
		return nil, nil, 0, err
	}
	cols := make([]csvColumn, len(names))
	for i, n := range names {
		cols[i] = csvColumn{name: n, field: -1}
	}
	for col, key := range opts.Properties {
		i := find(col)
		if i < 0 {
			return nil, nil, 0, &Error{File: file, Line: 1, Column: col,
				Problem: "Properties folds a column the file does not have",
				Fix:     "name a column of the header"}
		}
		if key == "" {
			return nil, nil, 0, &Error{File: file, Column: col, Problem: "folded under an empty key",
				Fix: "give the column's key in Properties"}
		}
		cols[i].key = key
	}
	folding := len(opts.Properties) > 0
	if folding && has(opts.PropertiesField) {
		return nil, nil, 0, &Error{File: file, Line: 1, Column: opts.PropertiesField,
			Problem: "the file already has a column named like the properties column",
			Fix:     "fold into another column (PropertiesField) or rename the file's column"}
	}

	schema := opts.Schema
	if schema == nil {
		schema = inferCSV(recs, cols)
		if folding {
			schema = append(schema, keyValueField(opts.PropertiesField))
		}
	}
	for i := range cols {
		if err := cols[i].bind(file, schema); err != nil {
			return nil, nil, 0, err
		}
	}
	kv := -1
	if folding {
		kv = fieldIndex(schema, opts.PropertiesField)
		if kv < 0 || !isKeyValue(schema[kv]) {
			return nil, nil, 0, &Error{File: file, Column: opts.PropertiesField,
				Problem: "the schema has no properties column to fold columns into",
				Fix: "add it to the schema as a REPEATED RECORD of key STRING and " +
					"value STRING"}
		}
	}
	return schema, cols, kv, nil
}

// bind points the column at its schema field. With a given schema, a
// column neither in it nor folded is an error, so no value is dropped.
func (c *csvColumn) bind(file string, schema bigquery.Schema) error {
	c.field = fieldIndex(schema, c.name)
	if c.field < 0 {
		if c.key != "" {
			return nil
		}
		return &Error{File: file, Line: 1, Column: c.name,
			Problem: "the column is not in the schema",
			Fix:     "add it to the schema, remove it from the file, or fold it into properties"}
	}
	f := schema[c.field]
	if f.Type == bigquery.RecordFieldType || f.Repeated {
		return &Error{File: file, Line: 1, Column: c.name,
			Problem: fmt.Sprintf("a CSV column cannot fill a %s%s field", mode(f), contract.SQLType(f.Type)),
			Fix:     "load nested and repeated fields from NDJSON, or fold columns into properties"}
	}
	return nil
}

func mode(f *bigquery.FieldSchema) string {
	if f.Repeated {
		return "REPEATED "
	}
	return ""
}

// inferCSV infers a NULLABLE column per header column.
func inferCSV(recs []csvRecord, cols []csvColumn) bigquery.Schema {
	schema := make(bigquery.Schema, len(cols))
	for i, c := range cols {
		k, seen := kAll, false
		for _, rec := range recs {
			if cell := rec.cells[i]; !isNull(cell) {
				k &= textKinds(cell)
				seen = true
			}
		}
		t := bigquery.StringFieldType
		if seen {
			t = k.pick()
		}
		schema[i] = &bigquery.FieldSchema{Name: c.name, Type: t}
	}
	return schema
}

// isNull reports whether a CSV cell stands for NULL: empty, or NA as R
// writes it.
func isNull(cell string) bool { return cell == "" || cell == "NA" }

func csvRow(file string, rec csvRecord, schema bigquery.Schema, cols []csvColumn, kv int,
	opts Options) (Row, error) {
	row := Row{Line: rec.lines[0], Values: make([]bigquery.Value, len(schema))}
	var props []bigquery.Value
	for i, cell := range rec.cells {
		c := cols[i]
		if c.key != "" && !isNull(cell) {
			props = append(props, map[string]bigquery.Value{"key": c.key, "value": cell})
		}
		if c.field < 0 || isNull(cell) {
			continue
		}
		v, e := convertText(cell, schema[c.field].Type, opts.Location)
		if e != nil {
			e.File, e.Line, e.Column = file, rec.lines[i], c.name
			return Row{}, e
		}
		row.Values[c.field] = v
	}
	if kv >= 0 {
		row.Values[kv] = kvValues(props)
	}
	for i, f := range schema {
		if f.Required && row.Values[i] == nil {
			return Row{}, &Error{File: file, Line: row.Line, Column: f.Name,
				Problem: "the value is empty (NULL) but the schema marks the column REQUIRED",
				Fix:     "fill the value, or make the column NULLABLE in the schema"}
		}
	}
	return row, nil
}

// kvValues returns the entries of a properties value, never nil.
func kvValues(entries []bigquery.Value) []bigquery.Value {
	if entries == nil {
		return []bigquery.Value{}
	}
	return entries
}

// indexFold finds name among names, case-insensitively.
func indexFold(names []string, name string) int {
	for i, n := range names {
		if strings.EqualFold(strings.TrimSpace(n), name) {
			return i
		}
	}
	return -1
}
