package emulators_test

import (
	"context"
	"testing"
	"time"

	"cloud.google.com/go/bigquery"
	"customconversions.dev/shared/emulators"
)

func TestZZMeasure(t *testing.T) {
	emulators.Shared(t)
	for _, svc := range []emulators.Service{} {
		for i := 0; i < 2; i++ {
			st := time.Now()
			s, err := emulators.Start(context.Background(), emulators.Options{Services: svc})
			if err != nil {
				t.Fatal(err)
			}
			up := time.Since(st)
			st = time.Now()
			if err := s.Stop(); err != nil {
				t.Fatal(err)
			}
			t.Logf("service %d: start %s stop %s", svc, up.Round(time.Millisecond), time.Since(st).Round(time.Millisecond))
		}
	}
	s := emulators.Shared(t)
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	bq, _ := s.BigQuery(ctx)
	st := time.Now()
	for i := 0; i < 5; i++ {
		job, err := bq.Query("SELECT 1").Run(ctx)
		if err != nil {
			t.Fatal(err)
		}
		if _, err := job.Wait(ctx); err != nil {
			t.Fatal(err)
		}
	}
	t.Logf("Run+Wait: %s per job", (time.Since(st) / 5).Round(time.Millisecond))
	st = time.Now()
	for i := 0; i < 5; i++ {
		job, err := bq.Query("SELECT 1").Run(ctx)
		if err != nil {
			t.Fatal(err)
		}
		it, err := job.Read(ctx)
		if err != nil {
			t.Fatal(err)
		}
		var row []bigquery.Value
		for it.Next(&row) == nil {
		}
	}
	t.Logf("Run+Read: %s per job", (time.Since(st) / 5).Round(time.Millisecond))
	for _, sql := range []string{"SELECT 1", "SELECT x FROM UNNEST(GENERATE_ARRAY(1, 1000)) AS x"} {
		st := time.Now()
		n := 10
		for i := 0; i < n; i++ {
			it, err := bq.Query(sql).Read(ctx)
			if err != nil {
				t.Fatal(err)
			}
			var row []bigquery.Value
			for it.Next(&row) == nil {
			}
		}
		t.Logf("%q: %s per query", sql, (time.Since(st) / time.Duration(n)).Round(time.Millisecond))
	}
}
