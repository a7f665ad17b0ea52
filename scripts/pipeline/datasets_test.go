package pipeline

import (
	"context"
	"math"
	"os"
	"testing"
	"time"

	"customconversions.dev/shared/crmfile"
	"customconversions.dev/shared/emulators"
	"customconversions.dev/shared/store"
	"customconversions.dev/shared/testkit"
)

// TestRealDatasets runs the pipeline on each dataset in ../shared/data
// with its definition in testdata/sql. The expected figures were counted
// from the CSV files independently (a short Python count over the raw
// rows: invoices, cancellations, sums per invoice rounded to pence).
func TestRealDatasets(t *testing.T) {
	tests := []struct {
		name, file, table, tz, sql, day string
		rows, qualified                 int64
		value                           map[string]float64
	}{
		// 2,709 invoice lines in 2,231 invoices, 50 of them cancellations
		// (C...); the other 2,181 sum to 48,353.14 GBP.
		{"online retail", "online-retail-sample.csv", "online_retail", "Europe/London",
			"online-retail.sql", "2011-12-09", 2231, 2181, map[string]float64{"GBP": 48353.14}},
		// 8 paid orders: 3 in GBP (2.80 + 3.79 + 5.39) and 5 in USD
		// (100.01 + 100.02 + 50 + 205 + 160).
		{"shopify", "shopify-orders.csv", "shopify_orders", "UTC",
			"shopify-orders.sql", "2025-05-05", 8, 8, map[string]float64{"GBP": 11.98, "USD": 615.03}},
	}
	for i, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			path := "../../../shared/data/" + tt.file
			if _, err := os.Stat(path); err != nil {
				t.Skipf("%s is absent (the shared data folder beside the checkout): %v", path, err)
			}
			ctx := context.Background()
			stack := emulators.Shared(t)
			bq, err := stack.BigQuery(ctx)
			if err != nil {
				t.Fatal(err)
			}
			defer bq.Close()
			loc, _ := time.LoadLocation(tt.tz)
			data, err := crmfile.ReadFile(path, crmfile.Options{Location: loc})
			if err != nil {
				t.Fatal(err)
			}
			if err := (&crmfile.Loader{Client: bq}).Load(ctx, "crm", tt.table, data); err != nil {
				t.Fatal(err)
			}
			sql, err := os.ReadFile("../../testdata/sql/" + tt.sql)
			if err != nil {
				t.Fatal(err)
			}
			fl := &testkit.Buffer{}
			p, err := Start(ctx, Options{Stack: stack, ConversionID: "orders", SQL: string(sql),
				FunctionLog: fl,
				Client: store.Client{ID: "data" + string(rune('a'+i)), Plan: store.PlanEnterprise,
					Project: stack.Project(), Dataset: "attribution_" + tt.table, Currency: "GBP",
					TimeZone: tt.tz, Enabled: true}})
			if err != nil {
				t.Fatal(err)
			}
			defer p.Stop()

			for _, run := range []struct{ day, what string }{
				{tt.day, "first"}, {tt.day, "same day again"}, {nextDay(tt.day), "next day"},
			} {
				runs, err := p.RunDay(ctx, run.day, run.what)
				if err != nil || len(runs) != 1 || runs[0].State != store.StateSucceeded {
					t.Fatalf("%s run = %+v, %v; want succeeded\nfunctions:\n%s", run.what, runs, err, fl)
				}
				c := runs[0].Counts
				wantInserted := tt.rows
				if run.what != "first" {
					wantInserted = 0
				}
				if c.Read != tt.rows || c.Rejected != 0 || c.Inserted != wantInserted || c.Updated != 0 {
					t.Errorf("%s run counts %+v; want %d read, none rejected, %d inserted, none updated",
						run.what, c, tt.rows, wantInserted)
				}
				s, err := p.Summarise(ctx)
				if err != nil {
					t.Fatal(err)
				}
				if s.Rows != tt.rows || s.Qualified != tt.qualified || len(s.ValueByCurrency) != len(tt.value) {
					t.Errorf("%s: summary %+v; want %d rows, %d qualified, values %v",
						run.what, s, tt.rows, tt.qualified, tt.value)
				}
				for cur, v := range tt.value {
					if math.Abs(s.ValueByCurrency[cur]-v) > 0.005 {
						t.Errorf("%s: qualified value %s = %.2f; want %.2f", run.what, cur, s.ValueByCurrency[cur], v)
					}
				}
			}
		})
	}
}

func nextDay(day string) string {
	d, err := time.Parse(time.DateOnly, day)
	if err != nil {
		panic(err)
	}
	return d.AddDate(0, 0, 1).Format(time.DateOnly)
}
