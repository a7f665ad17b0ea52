package main

import (
	"context"
	"encoding/json"
	"fmt"
	"os"
	"time"

	"cloud.google.com/go/bigquery"

	"customconversions.dev/scripts/pipeline"
	"customconversions.dev/shared/emulators"
	"customconversions.dev/shared/store"
)

func main() {
	ctx := context.Background()
	t0 := time.Now()
	st, err := emulators.Start(ctx, emulators.Options{})
	if err != nil {
		fmt.Println(err)
		os.Exit(1)
	}
	defer st.Stop()
	fmt.Println("stack", time.Since(t0))
	bq, _ := st.BigQuery(ctx)
	must(bq.Dataset("crm").Create(ctx, &bigquery.DatasetMetadata{Location: "US"}))
	sql, _ := os.ReadFile("testdata/sql/reference.sql")
	t0 = time.Now()
	p, err := pipeline.Start(ctx, pipeline.Options{Stack: st,
		Client: store.Client{ID: "bench", DisplayName: "bench", Plan: store.PlanEnterprise,
			Project: st.Project(), Dataset: "attribution", Currency: "GBP", TimeZone: "Europe/London", Enabled: true},
		ConversionID: "orders", SQL: string(sql), Log: os.Stderr, FunctionLog: os.Stderr})
	must(err)
	defer p.Stop()
	fmt.Println("pipeline", time.Since(t0))
	for _, n := range []int{1000, 100000} {
		_ = bq.Dataset("crm").Table("orders").Delete(ctx)
		q := fmt.Sprintf(`CREATE TABLE crm.orders AS
SELECT
  IF(MOD(n, 97) = 0, NULL, CONCAT('O-', CAST(IF(MOD(n, 53) = 0, n - 1, n) AS STRING))) AS id,
  CONCAT(CAST(1000000000 + MOD(n * 7919, 900000000) AS STRING), '.', CAST(1700000000 + n AS STRING)) AS userId,
  TIMESTAMP_ADD(TIMESTAMP '2025-06-01 00:00:00+00', INTERVAL MOD(n * 7919, 2592000) SECOND) AS createdAt,
  IF(MOD(n, 151) = 0, IEEE_DIVIDE(1, 0), ROUND(MOD(n * 37, 50000) / 100, 2)) AS orderValue,
  CASE MOD(n, 4) WHEN 0 THEN 'paid' WHEN 1 THEN 'confirmed' WHEN 2 THEN 'pending' ELSE 'cancelled' END AS orderStatus,
  [STRUCT('country' AS key, 'GB' AS value), STRUCT('city' AS key, 'London' AS value), STRUCT('coupon' AS key, 'X' AS value)] AS properties
FROM UNNEST(GENERATE_ARRAY(1, %d)) AS n`, n)
		t0 = time.Now()
		job, err := bq.Query(q).Run(ctx)
		must(err)
		s, err := job.Wait(ctx)
		must(err)
		must(s.Err())
		fmt.Println("gen", n, time.Since(t0))
		t0 = time.Now()
		runs, err := p.RunDay(ctx, "2025-06-30", "bench")
		fmt.Println("run", n, time.Since(t0), err)
		b, _ := json.MarshalIndent(runs, "", " ")
		fmt.Println(string(b))
	}
}

func must(err error) {
	if err != nil {
		panic(err)
	}
}
