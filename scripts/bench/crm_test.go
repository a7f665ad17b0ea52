package main

import (
	"context"
	"errors"
	"fmt"
	"os"
	"testing"
	"time"

	"google.golang.org/api/iterator"

	"customconversions.dev/shared/emulators"
)

func TestMain(m *testing.M) {
	os.Exit(emulators.Main(m, emulators.Options{Services: emulators.BigQuery}))
}

// TestExpect pins the counts of the default small table, which a run on
// the emulator recorded: 1,000 read, 6 rejected (infinite value), 17
// duplicate ids, 10 ids generated. The rejected share stays under the
// product's 5% threshold at every size.
func TestExpect(t *testing.T) {
	if got, want := expect(1000), (Expect{1000, 6, 17, 10}); got != want {
		t.Errorf("expect(1000) = %+v; want %+v", got, want)
	}
	for _, n := range []int{1000, 100000} {
		if e := expect(n); float64(e.Rejected) >= 0.05*float64(e.Read) {
			t.Errorf("expect(%d) rejects %d of %d rows: not under 5%%", n, e.Rejected, e.Read)
		}
	}
}

// TestGenerate makes the table both ways on the emulator and checks that
// it holds what expect counts: the NULL ids, the duplicates and the
// infinite values, with every createdAt within the run's 30 days.
func TestGenerate(t *testing.T) {
	stack := emulators.Shared(t)
	ctx := context.Background()
	bq, err := stack.BigQuery(ctx)
	if err != nil {
		t.Fatal(err)
	}
	defer bq.Close()
	ds := emulators.NewDataset(t, bq, stack.NewNames(t))

	const n = 2000
	want := expect(n)
	for _, how := range []string{GenerateCTAS, GenerateLoader} {
		t.Run(how, func(t *testing.T) {
			if _, err := generate(ctx, bq, ds.DatasetID, how, n, runDay); err != nil {
				t.Fatal(err)
			}
			sql := fmt.Sprintf(`SELECT COUNT(*) AS read_,
  COUNTIF(IS_INF(orderValue)) AS rejected,
  COUNTIF(NOT IS_INF(orderValue) AND id IS NOT NULL)
    - COUNT(DISTINCT IF(IS_INF(orderValue), NULL, id)) AS duplicates,
  COUNTIF(NOT IS_INF(orderValue) AND id IS NULL) AS generated,
  COUNTIF(DATE(createdAt) NOT BETWEEN DATE '%s' AND DATE '%s') AS outside,
  MIN(ARRAY_LENGTH(properties)) AS props
FROM %s.%s`, runDay.AddDays(1-windowDays), runDay, ds.DatasetID, crmTable)
			qctx, cancel := context.WithTimeout(ctx, time.Minute)
			defer cancel()
			it, err := bq.Query(sql).Read(qctx)
			if err != nil {
				t.Fatal(err)
			}
			var row struct {
				Read_, Rejected, Duplicates, Generated, Outside, Props int64
			}
			if err := it.Next(&row); err != nil && !errors.Is(err, iterator.Done) {
				t.Fatal(err)
			}
			got := Expect{row.Read_, row.Rejected, row.Duplicates, row.Generated}
			if got != want {
				t.Errorf("%s table counts %+v; expect(%d) = %+v", how, got, n, want)
			}
			if row.Outside != 0 || row.Props != 3 {
				t.Errorf("%s table: %d rows outside the window, at least %d properties; "+
					"want 0 and 3", how, row.Outside, row.Props)
			}
		})
	}
}
