package crmfile

import (
	"bytes"
	"encoding/json"
	"fmt"
	"os"
	"regexp"
	"strings"

	"cloud.google.com/go/bigquery"
)

// schemaField is one entry of a schema file in the bq tool's format.
type schemaField struct {
	Name        string        `json:"name"`
	Type        string        `json:"type"`
	Mode        string        `json:"mode"`
	Description string        `json:"description"`
	Fields      []schemaField `json:"fields"`
}

// typeNames maps the type names a schema file may use, legacy and
// GoogleSQL alike, to the client's field types.
var typeNames = map[string]bigquery.FieldType{
	"STRING":     bigquery.StringFieldType,
	"INTEGER":    bigquery.IntegerFieldType,
	"INT64":      bigquery.IntegerFieldType,
	"FLOAT":      bigquery.FloatFieldType,
	"FLOAT64":    bigquery.FloatFieldType,
	"BOOLEAN":    bigquery.BooleanFieldType,
	"BOOL":       bigquery.BooleanFieldType,
	"TIMESTAMP":  bigquery.TimestampFieldType,
	"DATE":       bigquery.DateFieldType,
	"DATETIME":   bigquery.DateTimeFieldType,
	"TIME":       bigquery.TimeFieldType,
	"NUMERIC":    bigquery.NumericFieldType,
	"BIGNUMERIC": bigquery.BigNumericFieldType,
	"RECORD":     bigquery.RecordFieldType,
	"STRUCT":     bigquery.RecordFieldType,
}

var columnNameRE = regexp.MustCompile(`^[A-Za-z_][A-Za-z0-9_]{0,299}$`)

// ReadSchemaFile reads a schema in the bq tool's JSON format: an array of
// {"name", "type", "mode", "fields"} objects, or an object holding such an
// array under "fields" or "schema". Types may be spelled either way
// (INTEGER or INT64, RECORD or STRUCT, ...); modes are NULLABLE (the
// default), REQUIRED and REPEATED.
func ReadSchemaFile(path string) (bigquery.Schema, error) {
	b, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("crmfile: reading schema: %w", err)
	}
	return ParseSchema(path, b)
}

// ParseSchema parses a schema in the bq tool's JSON format (see
// ReadSchemaFile); name is the file's name, used in errors.
func ParseSchema(name string, b []byte) (bigquery.Schema, error) {
	b = bytes.TrimPrefix(b, []byte(bom))
	var fields []schemaField
	if err := json.Unmarshal(b, &fields); err != nil {
		var wrapped struct {
			Fields []schemaField `json:"fields"`
			Schema *struct {
				Fields []schemaField `json:"fields"`
			} `json:"schema"`
		}
		if err2 := json.Unmarshal(b, &wrapped); err2 != nil {
			return nil, &Error{File: name, Problem: "not a schema: " + err.Error(),
				Fix: `write a JSON array of {"name", "type", "mode"} objects, ` +
					"as bq show --schema prints",
				Err: err}
		}
		fields = wrapped.Fields
		if wrapped.Schema != nil {
			fields = wrapped.Schema.Fields
		}
	}
	if len(fields) == 0 {
		return nil, &Error{File: name, Problem: "the schema has no fields",
			Fix: `list the table's columns as {"name", "type"} objects`}
	}
	return convertSchema(name, "", fields)
}

func convertSchema(file, parent string, fields []schemaField) (bigquery.Schema, error) {
	var s bigquery.Schema
	seen := map[string]bool{}
	for _, f := range fields {
		path := parent + f.Name
		bad := func(problem, fix string) error {
			return &Error{File: file, Column: path, Problem: problem, Fix: fix}
		}
		if !columnNameRE.MatchString(f.Name) {
			return nil, bad(fmt.Sprintf("%q is not a column name", f.Name),
				"use letters, digits and _, starting with a letter or _")
		}
		if seen[strings.ToLower(f.Name)] {
			return nil, bad("named twice (names are case-insensitive)", "rename one of them")
		}
		seen[strings.ToLower(f.Name)] = true
		typ, ok := typeNames[strings.ToUpper(f.Type)]
		if !ok {
			return nil, bad(fmt.Sprintf("type %q is not supported", f.Type),
				"use STRING, INT64, FLOAT64, NUMERIC, BIGNUMERIC, BOOL, TIMESTAMP, DATE, "+
					"DATETIME, TIME or RECORD")
		}
		fs := &bigquery.FieldSchema{Name: f.Name, Type: typ, Description: f.Description}
		switch strings.ToUpper(f.Mode) {
		case "", "NULLABLE":
		case "REQUIRED":
			fs.Required = true
		case "REPEATED":
			fs.Repeated = true
		default:
			return nil, bad(fmt.Sprintf("mode %q is not a mode", f.Mode),
				"use NULLABLE, REQUIRED or REPEATED")
		}
		if typ == bigquery.RecordFieldType {
			if len(f.Fields) == 0 {
				return nil, bad("a RECORD without fields", `list its fields under "fields"`)
			}
			sub, err := convertSchema(file, path+".", f.Fields)
			if err != nil {
				return nil, err
			}
			fs.Schema = sub
		} else if len(f.Fields) > 0 {
			return nil, bad("only a RECORD has fields", "make it a RECORD or drop its fields")
		}
		s = append(s, fs)
	}
	return s, nil
}

// isKeyValue reports whether f is a repeated record of exactly a STRING
// key and a STRING value: the shape of a properties column.
func isKeyValue(f *bigquery.FieldSchema) bool {
	if f.Type != bigquery.RecordFieldType || !f.Repeated || len(f.Schema) != 2 {
		return false
	}
	k, v := f.Schema[0], f.Schema[1]
	return strings.EqualFold(k.Name, "key") && k.Type == bigquery.StringFieldType &&
		strings.EqualFold(v.Name, "value") && v.Type == bigquery.StringFieldType
}

// keyValueField returns the schema of a properties column named name.
func keyValueField(name string) *bigquery.FieldSchema {
	return &bigquery.FieldSchema{
		Name:     name,
		Type:     bigquery.RecordFieldType,
		Repeated: true,
		Schema: bigquery.Schema{
			{Name: "key", Type: bigquery.StringFieldType},
			{Name: "value", Type: bigquery.StringFieldType},
		},
	}
}
