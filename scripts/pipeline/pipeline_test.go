package pipeline

import (
	"context"
	"os"
	"strings"
	"testing"

	"customconversions.dev/shared/crmfile"
	"customconversions.dev/shared/emulators"
	"customconversions.dev/shared/store"
	"customconversions.dev/shared/testkit"
)

func TestMain(m *testing.M) {
	os.Exit(emulators.Main(m, emulators.Options{}))
}

// referenceSQL is DESIGN.md's reference definition, unchanged but for
// the table name.
const referenceSQL = "SELECT id, userId AS client_id, createdAt AS created,\n" +
	"  orderValue AS value, 'GBP' AS currency,\n" +
	"  IF(orderStatus IN ('confirmed', 'paid'), TRUE, FALSE) AS is_qualified,\n" +
	"  ARRAY(SELECT AS STRUCT * FROM UNNEST(properties)\n" +
	"        WHERE key IN ('country', 'region', 'city')) AS params\n" +
	"FROM `crm.orders`\n" +
	"WHERE DATE(createdAt) BETWEEN DATE_SUB(@start_date, INTERVAL 30 DAY)\n" +
	"  AND @end_date"

func TestSampleEndToEnd(t *testing.T) {
	ctx := context.Background()
	stack := emulators.Shared(t)
	bq, err := stack.BigQuery(ctx)
	if err != nil {
		t.Fatal(err)
	}
	defer bq.Close()
	data, err := crmfile.ReadFile("../../testdata/crm/orders.ndjson", crmfile.Options{})
	if err != nil {
		t.Fatal(err)
	}
	if err := (&crmfile.Loader{Client: bq}).Load(ctx, "crm", "orders", data); err != nil {
		t.Fatal(err)
	}

	fl := &testkit.Buffer{}
	p, err := Start(ctx, Options{
		Stack: stack,
		Client: store.Client{ID: "demo", DisplayName: "Demo", Plan: store.PlanEnterprise,
			Project: stack.Project(), Dataset: "attribution", Currency: "GBP",
			TimeZone: "Europe/London", Enabled: true},
		ConversionID: "orders", SQL: referenceSQL, FunctionLog: fl,
	})
	if err != nil {
		t.Fatal(err)
	}
	defer p.Stop()

	// 2024-03-07, looking back 30 days: every sample row but A-1007 (in
	// January). A-1001 twice (the later one stays), one NULL id.
	runs, err := p.RunDay(ctx, "2024-03-07", "test")
	if err != nil || len(runs) != 1 || runs[0].State != store.StateSucceeded {
		t.Fatalf("first run = %+v, %v; want one succeeded run\nfunctions:\n%s", runs, err, fl)
	}
	c := runs[0].Counts
	if c.Read != 6 || c.Rejected != 0 || c.Duplicates != 1 || c.Generated != 1 || c.Inserted != 5 {
		t.Errorf("first counts %+v; want read 6, duplicates 1, generated 1, inserted 5", c)
	}
	s, err := p.Summarise(ctx)
	if err != nil {
		t.Fatal(err)
	}
	// Qualified: A-1001 120.5, A-1003 15.25 and the generated row 42.
	if s.Rows != 5 || s.Qualified != 3 || s.Generated != 1 || s.ValueByCurrency["GBP"] != 177.75 {
		t.Errorf("summary %+v; want 5 rows, 3 qualified, 1 generated, GBP 177.75", s)
	}

	again, err := p.RunDay(ctx, "2024-03-07", "again")
	if err != nil || len(again) != 1 || again[0].Counts.Inserted != 0 || again[0].Counts.Updated != 0 ||
		again[0].Counts.Unchanged != 5 {
		t.Errorf("same day again = %+v, %v; want nothing inserted or updated, 5 unchanged", again, err)
	}

	// The CRM marks A-1002 paid; the next day's run updates it in place.
	q := bq.Query("UPDATE `crm.orders` SET orderStatus = 'paid' WHERE id = 'A-1002'")
	if job, err := q.Run(ctx); err != nil {
		t.Fatal(err)
	} else if st, err := job.Wait(ctx); err != nil || st.Err() != nil {
		t.Fatalf("update: %v %v", err, st.Err())
	}
	next, err := p.RunDay(ctx, "2024-03-08", "next day")
	if err != nil || len(next) != 1 || next[0].Counts.Updated != 1 || next[0].Counts.Inserted != 0 {
		t.Errorf("next day = %+v, %v; want 1 updated, 0 inserted", next, err)
	}
	s, err = p.Summarise(ctx)
	if err != nil || s.Rows != 5 || s.Qualified != 4 || s.ValueByCurrency["GBP"] != 257.75 {
		t.Errorf("summary after the next day %+v, %v; want 5 rows, 4 qualified, GBP 257.75", s, err)
	}
	if !strings.Contains(fl.String(), `"message":"run merged"`) {
		t.Errorf("functions' log has no merge line:\n%s", fl)
	}
}
