// Package crmfile loads a CRM table into BigQuery (in practice, the local
// BigQuery emulator) from a CSV or newline-delimited JSON file, so that
// custom conversion definitions can run over it unchanged.
//
// # Reading
//
// Read and ReadFile parse a whole file into memory. A UTF-8 byte-order
// mark is stripped. CSV needs a header line; quoting is RFC 4180, as R's
// write.csv produces (doubled quotes inside quoted values), and an empty
// cell or NA reads as NULL. Header names become valid column names: other
// characters than letters, digits and _ turn into _, a leading digit gets
// a leading _, and an empty name (R's row numbers) becomes column_N.
//
// NDJSON holds one JSON object per line; nested objects become RECORD
// fields and arrays REPEATED ones. Blank lines are skipped.
//
// # Schema
//
// With Options.Schema (see ReadSchemaFile for the bq tool's JSON format),
// every column must be in the schema, REQUIRED ones present and never
// NULL, and every value must read as its type. Without it, each column
// gets the narrowest of BOOL, INT64, FLOAT64, DATE, TIMESTAMP and STRING
// that all its values read as (all NULL: STRING), always NULLABLE. An
// integer written with a leading zero or too large for INT64 keeps the
// column STRING, so no digit is lost. In JSON, numbers are INT64 or
// FLOAT64 and strings stay STRING unless they are dates or timestamps.
//
// Timestamps are read as 2006-01-02 15:04:05 (T or space, optional
// fraction, optional offset or UTC suffix), RFC 3339, or US month/day/year
// 10/31/2011 10:42 (with optional seconds, 24-hour or with AM/PM). Those
// without an offset are in Options.Location (UTC by default). Dates are
// 2006-01-02 or 10/31/2011. Day-first dates are not read.
//
// # Properties
//
// The reference definition reads `properties`, an
// ARRAY<STRUCT<key STRING, value STRING>>. In NDJSON, that field may be an
// array of {"key", "value"} objects or an object of strings
// ({"country": "GB"}), turned into entries in its key order; a field
// holding arrays of exactly key and value is inferred with that shape
// whatever its values look like. In CSV, Options.Properties folds chosen
// columns into the properties column: it maps a header column to the key
// its non-NULL values get, entries following the header's order. For
// example, Properties{"Country": "country"} turns a Country cell "France"
// into [{key: "country", value: "France"}].
//
// # Errors
//
// A bad file gives an *Error naming the file, the line and the column, and
// saying what to do: a ragged row, bad quoting or JSON, a missing required
// column, a value that does not read as its schema type. Rows are never
// dropped silently: Loader.Load counts the loaded table's rows against
// the file's.
package crmfile
