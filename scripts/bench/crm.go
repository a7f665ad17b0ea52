package main

import (
	"context"
	"errors"
	"fmt"
	"math"
	"net/http"
	"strconv"
	"time"

	"cloud.google.com/go/bigquery"
	"cloud.google.com/go/civil"
	"google.golang.org/api/googleapi"

	"customconversions.dev/shared/crmfile"
)

// The CRM table the reference definition reads (testdata/sql/reference.sql
// names it `crm.orders`).
const (
	crmDataset = "crm"
	crmTable   = "orders"
)

// How the generated rows go wrong, by row number n (1-based), so that
// both ways of generating the table and the expected counts agree:
//
//   - every 97th row has a NULL id (the product generates one);
//   - every 53rd row repeats the previous row's id (a duplicate);
//   - every 151st row has an infinite orderValue, which the extraction
//     rejects (about 0.7% of the rows, under the 5% threshold).
//
// The emulator cannot store NaN, so the bad value is +Inf.
const (
	everyNullID    = 97
	everyDuplicate = 53
	everyBadValue  = 151
)

// windowDays is the number of days the rows' createdAt spread over,
// ending on the run's day: all within the 30 days the reference
// definition re-checks.
const windowDays = 30

// crmID returns row n's id, or "" for NULL.
func crmID(n int) string {
	switch {
	case n%everyNullID == 0:
		return ""
	case n%everyDuplicate == 0:
		return "O-" + strconv.Itoa(n-1)
	}
	return "O-" + strconv.Itoa(n)
}

// Expect is what the product should make of a generated table.
type Expect struct {
	Read       int64 `json:"read"`
	Rejected   int64 `json:"rejected"`
	Duplicates int64 `json:"duplicates"`
	Generated  int64 `json:"ids_generated"`
}

// expect counts what a run over the n generated rows should record.
func expect(n int) Expect {
	e := Expect{Read: int64(n)}
	seen := map[string]bool{}
	for i := 1; i <= n; i++ {
		id := crmID(i)
		switch {
		case i%everyBadValue == 0:
			e.Rejected++
		case id == "":
			e.Generated++
		case seen[id]:
			e.Duplicates++
		default:
			seen[id] = true
		}
	}
	return e
}

// crmSQL returns the query that creates the table with n rows for a run
// of day, in the reference definition's shape.
func crmSQL(table string, n int, day civil.Date) string {
	first := day.AddDays(1 - windowDays)
	return fmt.Sprintf(`CREATE TABLE %s AS
SELECT
  CASE WHEN MOD(n, %d) = 0 THEN NULL
    WHEN MOD(n, %d) = 0 THEN CONCAT('O-', CAST(n - 1 AS STRING))
    ELSE CONCAT('O-', CAST(n AS STRING)) END AS id,
  CONCAT(CAST(1000000000 + MOD(n * 7919, 900000000) AS STRING), '.',
    CAST(1700000000 + n AS STRING)) AS userId,
  TIMESTAMP_ADD(TIMESTAMP '%s 00:00:00+00',
    INTERVAL MOD(n * 7919, %d) SECOND) AS createdAt,
  IF(MOD(n, %d) = 0, IEEE_DIVIDE(1, 0), ROUND(MOD(n * 37, 50000) / 100, 2)) AS orderValue,
  CASE MOD(n, 4) WHEN 0 THEN 'paid' WHEN 1 THEN 'confirmed' WHEN 2 THEN 'pending'
    ELSE 'cancelled' END AS orderStatus,
  [STRUCT('country' AS key, 'GB' AS value), STRUCT('city' AS key, 'London' AS value),
    STRUCT('coupon' AS key, CONCAT('C', CAST(MOD(n, 10) AS STRING)) AS value)] AS properties
FROM UNNEST(GENERATE_ARRAY(1, %d)) AS n`,
		table, everyNullID, everyDuplicate, first, windowDays*86400, everyBadValue, n)
}

// crmSchema is the table's schema when the loader creates it.
var crmSchema = bigquery.Schema{
	{Name: "id", Type: bigquery.StringFieldType},
	{Name: "userId", Type: bigquery.StringFieldType},
	{Name: "createdAt", Type: bigquery.TimestampFieldType},
	{Name: "orderValue", Type: bigquery.FloatFieldType},
	{Name: "orderStatus", Type: bigquery.StringFieldType},
	{Name: "properties", Type: bigquery.RecordFieldType, Repeated: true, Schema: bigquery.Schema{
		{Name: "key", Type: bigquery.StringFieldType},
		{Name: "value", Type: bigquery.StringFieldType},
	}},
}

// crmData returns the same rows as crmSQL, for the loader.
func crmData(n int, day civil.Date) *crmfile.Data {
	first := day.AddDays(1 - windowDays).In(time.UTC)
	statuses := []string{"paid", "confirmed", "pending", "cancelled"}
	d := &crmfile.Data{File: "generated", Schema: crmSchema, Rows: make([]crmfile.Row, n)}
	for i := 1; i <= n; i++ {
		var id bigquery.Value
		if s := crmID(i); s != "" {
			id = s
		}
		value := math.Round(float64((i*37)%50000)) / 100
		if i%everyBadValue == 0 {
			value = math.Inf(1)
		}
		kv := func(k, v string) bigquery.Value {
			return map[string]bigquery.Value{"key": k, "value": v}
		}
		d.Rows[i-1] = crmfile.Row{Line: i, Values: []bigquery.Value{
			id,
			fmt.Sprintf("%d.%d", 1000000000+(i*7919)%900000000, 1700000000+i),
			first.Add(time.Duration((i*7919)%(windowDays*86400)) * time.Second),
			value,
			statuses[i%4],
			[]bigquery.Value{kv("country", "GB"), kv("city", "London"),
				kv("coupon", "C"+strconv.Itoa(i%10))},
		}}
	}
	return d
}

// Ways to generate the CRM table.
const (
	GenerateCTAS   = "ctas"
	GenerateLoader = "loader"
)

// generate replaces the table dataset.orders with n CRM rows for a run
// of day, by a CREATE TABLE AS query on the emulator or through the
// crmfile loader, and returns how long that took.
func generate(ctx context.Context, bq *bigquery.Client, dataset, how string, n int,
	day civil.Date) (time.Duration, error) {
	t := bq.Dataset(dataset).Table(crmTable)
	dctx, cancel := context.WithTimeout(ctx, 30*time.Second)
	err := t.Delete(dctx)
	cancel()
	var gerr *googleapi.Error
	if err != nil && !(errors.As(err, &gerr) && gerr.Code == http.StatusNotFound) {
		return 0, fmt.Errorf("dropping the CRM table: %w", err)
	}

	start := time.Now()
	switch how {
	case GenerateCTAS:
		err = runQuery(ctx, bq, crmSQL(dataset+"."+crmTable, n, day), 5*time.Minute)
	case GenerateLoader:
		l := crmfile.Loader{Client: bq, BatchSize: 5000}
		err = l.Load(ctx, dataset, crmTable, crmData(n, day))
	default:
		err = fmt.Errorf("no way to generate the table called %q", how)
	}
	if err != nil {
		return 0, fmt.Errorf("generating %d CRM rows (%s): %w", n, how, err)
	}
	return time.Since(start), nil
}

// runQuery runs sql and waits for it, within timeout.
func runQuery(ctx context.Context, bq *bigquery.Client, sql string, timeout time.Duration) error {
	ctx, cancel := context.WithTimeout(ctx, timeout)
	defer cancel()
	job, err := bq.Query(sql).Run(ctx)
	if err != nil {
		return err
	}
	st, err := job.Wait(ctx)
	if err != nil {
		return err
	}
	return st.Err()
}
