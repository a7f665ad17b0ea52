package contract

import (
	"fmt"
	"strings"

	"cloud.google.com/go/bigquery"
)

// Reasons a staged row is rejected. A row may have several; each is
// counted in the run record and kept with the row in the rejected-rows
// table.
const (
	ReasonCreatedMissing  = "created_missing"
	ReasonCreatedInFuture = "created_in_future"
	ReasonCurrencyInvalid = "currency_invalid"
	ReasonValueNotFinite  = "value_not_finite"
	ReasonParamEmptyKey   = "param_empty_key"
)

// Parameters the extraction query adds to the definition's two.
const (
	ParamDefaultCurrency = "cc_default_currency"
	ParamTimeZone        = "cc_time_zone"
)

// GeneratedIDPrefix starts every id generated for a row whose id is NULL.
const GeneratedIDPrefix = "gen-"

// StagedSchema is the schema of a staging table: the contract columns as
// read, plus what the extraction adds.
var StagedSchema = bigquery.Schema{
	{Name: "id", Type: bigquery.StringFieldType},
	{Name: "id_generated", Type: bigquery.BooleanFieldType},
	{Name: "client_id", Type: bigquery.StringFieldType},
	{Name: "created", Type: bigquery.TimestampFieldType},
	{Name: "value", Type: bigquery.FloatFieldType},
	{Name: "currency", Type: bigquery.StringFieldType},
	{Name: "is_qualified", Type: bigquery.BooleanFieldType},
	{Name: "params", Type: bigquery.RecordFieldType, Repeated: true, Schema: bigquery.Schema{
		{Name: "key", Type: bigquery.StringFieldType},
		{Name: "value", Type: bigquery.StringFieldType},
	}},
	{Name: "user_id", Type: bigquery.StringFieldType},
	// fingerprint is 32 hex digits of the row's content hash. (A STRING,
	// not FARM_FINGERPRINT's INT64: the local emulator carries an INT64
	// inside a STRUCT as a float and loses its low digits.)
	{Name: "fingerprint", Type: bigquery.StringFieldType},
	{Name: "problems", Type: bigquery.StringFieldType, Repeated: true},
}

// ProbeSQL returns a query that reads no rows and has the definition's
// result schema. The local emulator's dry run reports no schema, so the
// schema check runs this there instead.
func ProbeSQL(sql string) string {
	return "SELECT * FROM (\n" + Body(sql) + "\n) LIMIT 0"
}

// ExtractionSQL wraps a definition's SQL, whose output has the given
// shape, into the query whose result is staged. In one scan it casts each
// column to its contract type (NULL for a missing one), trims strings and
// reads empty ones as NULL, upper-cases currency and fills in the client's
// currency where it is NULL, reads DATE and DATETIME created in the
// client's time zone, reads a NaN or infinite value as NULL (and rejects
// the row for it), generates a stable id from the row's content where
// the id is NULL, fingerprints each row, and lists each row's problems.
//
// The query takes @start_date and @end_date for the definition and
// @cc_default_currency and @cc_time_zone (STRING) for itself.
func ExtractionSQL(sql string, shape Shape) string {
	var b strings.Builder
	b.WriteString("WITH definition AS (\n")
	b.WriteString(Body(sql))
	b.WriteString("\n),\ntyped AS (\n  SELECT\n")
	for i, col := range Columns {
		sep := ","
		if i == len(Columns)-1 {
			sep = ""
		}
		fmt.Fprintf(&b, "    %s AS %s%s\n", typedExpr(col, shape), col.Name, sep)
	}
	b.WriteString("  FROM definition\n),\n")
	b.WriteString(finiteSelect)
	b.WriteString(checkedSelect)
	return b.String()
}

// typedExpr is the expression that reads col from the definition's
// output, whose shape is known.
func typedExpr(col Column, shape Shape) string {
	t, present := shape[col.Name]
	currency := "CAST(@" + ParamDefaultCurrency + " AS STRING)"
	switch {
	case col.Name == "currency" && !present:
		return currency
	case col.Name == "currency":
		return "COALESCE(UPPER(NULLIF(TRIM(currency), '')), " + currency + ")"
	case col.Name == "is_qualified" && !present:
		return "FALSE"
	case col.Name == "is_qualified":
		return "COALESCE(is_qualified, FALSE)"
	case col.Name == "params" && !present:
		return "ARRAY<STRUCT<key STRING, value STRING>>[]"
	case col.Name == "params":
		return "ARRAY(SELECT AS STRUCT kv.key AS key, kv.value AS value " +
			"FROM UNNEST(params) AS kv WITH OFFSET AS o ORDER BY o)"
	case !present:
		return "CAST(NULL AS " + SQLType(col.Type) + ")"
	case col.Name == "created" && t != bigquery.TimestampFieldType:
		return "TIMESTAMP(created, CAST(@" + ParamTimeZone + " AS STRING))"
	case col.Type == bigquery.StringFieldType && t == bigquery.StringFieldType:
		return "NULLIF(TRIM(" + col.Name + "), '')"
	case t != col.Type:
		return "CAST(" + col.Name + " AS " + SQLType(col.Type) + ")"
	}
	return col.Name
}

// finiteSelect keeps a non-finite value out of the staged row: the row
// is rejected for it and its value reads as NULL. (BigQuery can store NaN
// and infinities, but no report wants them, and the local emulator cannot
// carry them at all.)
var finiteSelect = `finite AS (
  SELECT * REPLACE (IF(IS_NAN(value) OR IS_INF(value), NULL, value) AS value),
    IFNULL(IS_NAN(value) OR IS_INF(value), FALSE) AS value_not_finite
  FROM typed
)
`

// checkedSelect reads the typed rows into the staged shape.
var checkedSelect = `SELECT
  COALESCE(id, CONCAT('` + GeneratedIDPrefix + `', SUBSTR(TO_HEX(SHA256(TO_JSON_STRING(
    STRUCT(client_id, created, value, currency, user_id, params)))), 1, 32))) AS id,
  id IS NULL AS id_generated,
  client_id,
  created,
  value,
  currency,
  is_qualified,
  params,
  user_id,
  SUBSTR(TO_HEX(SHA256(TO_JSON_STRING(
    STRUCT(id, client_id, created, value, currency, is_qualified, params, user_id)))), 1, 32)
    AS fingerprint,
  ARRAY(SELECT reason FROM UNNEST([
    IF(created IS NULL, '` + ReasonCreatedMissing + `', NULL),
    IF(created > CURRENT_TIMESTAMP(), '` + ReasonCreatedInFuture + `', NULL),
    IF(NOT REGEXP_CONTAINS(currency, r'^(?:` + isoList() + `)$'),
      '` + ReasonCurrencyInvalid + `', NULL),
    IF(value_not_finite, '` + ReasonValueNotFinite + `', NULL),
    IF(EXISTS(SELECT 1 FROM UNNEST(params) AS kv WHERE kv.key IS NULL OR TRIM(kv.key) = ''),
      '` + ReasonParamEmptyKey + `', NULL)
  ]) AS reason WHERE reason IS NOT NULL) AS problems
FROM finite
`

// isoList is the currency codes as a regular expression alternation. (An
// IN list of them has more arguments than the local emulator's SQLite
// functions take.)
func isoList() string { return strings.Join(CurrencyCodes, "|") }
