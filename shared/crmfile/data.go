package crmfile

import (
	"bufio"
	"bytes"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"
	"time"

	"cloud.google.com/go/bigquery"
)

// Format is the layout of a CRM file.
type Format int

// The formats Read understands.
const (
	// Auto picks the format from the file name: .csv is CSV; .json,
	// .jsonl and .ndjson are newline-delimited JSON.
	Auto Format = iota
	CSV
	NDJSON
)

// String returns the format's name.
func (f Format) String() string {
	switch f {
	case CSV:
		return "CSV"
	case NDJSON:
		return "NDJSON"
	}
	return "auto"
}

// DefaultPropertiesField is the name of the key/value column that
// Options.Properties folds CSV columns into, and that a JSON object is
// turned into in NDJSON files.
const DefaultPropertiesField = "properties"

// bom is the UTF-8 byte-order mark, stripped from the start of a file.
const bom = "\ufeff"

// Options configures Read. The zero value infers the schema, reads
// zone-less timestamps as UTC and folds no CSV column into properties.
type Options struct {
	// Format is the file's layout; Auto picks it from the file name.
	Format Format
	// Schema, when set, is the table's schema: every column of the file
	// must be in it (or be folded into properties), every REQUIRED field
	// must be in the file and never NULL, and every value must read as
	// its field's type. When nil, the schema is inferred (see package
	// doc).
	Schema bigquery.Schema
	// Location is the time zone of timestamps written without an offset;
	// nil means UTC.
	Location *time.Location
	// Properties folds CSV columns into the key/value column named by
	// PropertiesField: it maps a column name (as in the header) to the key
	// its values get. The folded columns stay columns of their own unless
	// a given Schema leaves them out. A NULL cell adds no entry.
	Properties map[string]string
	// PropertiesField names the key/value column; default "properties".
	PropertiesField string
	// Require lists columns that must be in the file, whether or not the
	// schema marks them REQUIRED.
	Require []string
}

// Data is a parsed CRM file.
type Data struct {
	// File is the name errors use.
	File string
	// Schema is the given or inferred schema; Row values follow its order.
	Schema bigquery.Schema
	// Rows holds one row per record of the file, in order.
	Rows []Row
}

// Row is one record of the file.
type Row struct {
	// Line is the 1-based line where the record starts.
	Line int
	// Values holds one value per schema field, nil for NULL.
	Values []bigquery.Value
}

// ReadFile reads and parses the CRM file at path.
func ReadFile(path string, opts Options) (*Data, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, fmt.Errorf("crmfile: %w", err)
	}
	defer f.Close()
	return Read(f, path, opts)
}

// Read parses a CRM file read from r; name is the file's name, used in
// errors and, when opts.Format is Auto, to pick the format.
func Read(r io.Reader, name string, opts Options) (*Data, error) {
	format, err := pickFormat(name, opts.Format)
	if err != nil {
		return nil, err
	}
	if opts.Location == nil {
		opts.Location = time.UTC
	}
	if opts.PropertiesField == "" {
		opts.PropertiesField = DefaultPropertiesField
	}
	br := bufio.NewReader(r)
	if b, err := br.Peek(len(bom)); err == nil && bytes.Equal(b, []byte(bom)) {
		_, _ = br.Discard(len(bom))
	}
	if format == CSV {
		return readCSV(br, name, opts)
	}
	if len(opts.Properties) > 0 {
		return nil, &Error{File: name, Problem: "Properties folds CSV columns only",
			Fix: "write properties as a JSON array of {key, value} objects or an object of strings"}
	}
	return readNDJSON(br, name, opts)
}

func pickFormat(name string, f Format) (Format, error) {
	if f != Auto {
		return f, nil
	}
	switch strings.ToLower(filepath.Ext(name)) {
	case ".csv":
		return CSV, nil
	case ".json", ".jsonl", ".ndjson":
		return NDJSON, nil
	}
	return Auto, &Error{File: name, Problem: "cannot tell the format from the file name",
		Fix: "name it .csv, .json, .jsonl or .ndjson, or give the format"}
}

// checkRequire reports the first column of opts.Require that has is false
// for.
func checkRequire(name string, opts Options, has func(string) bool) error {
	for _, c := range opts.Require {
		if !has(c) {
			return &Error{File: name, Line: 1, Column: c, Problem: "required column is missing",
				Fix: "add the column to the file"}
		}
	}
	for _, f := range opts.Schema {
		if f.Required && !has(f.Name) {
			return &Error{File: name, Line: 1, Column: f.Name,
				Problem: "the schema marks this column REQUIRED but the file lacks it",
				Fix:     "add the column to the file, or make it NULLABLE in the schema"}
		}
	}
	return nil
}

// fieldIndex finds a schema field by name, case-insensitively as BigQuery
// compares column names.
func fieldIndex(s bigquery.Schema, name string) int {
	for i, f := range s {
		if strings.EqualFold(f.Name, name) {
			return i
		}
	}
	return -1
}
