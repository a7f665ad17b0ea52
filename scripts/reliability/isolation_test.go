package reliability

import (
	"context"
	"fmt"
	"regexp"
	"strings"
	"testing"

	"cloud.google.com/go/civil"

	runreq "customconversions.dev/shared/request"
	"customconversions.dev/shared/store"
	"customconversions.dev/shared/warehouse"
)

// TestNamesOfCraftedIDsStayApart builds every name the product derives
// from ids (run ids, job ids, staging tables, labels) for pairs of valid
// ids crafted to run into each other once joined with '_' or once '-'
// reads as '_': no two runs may share a job id or a staging table, and
// each name must be one BigQuery takes.
func TestNamesOfCraftedIDsStayApart(t *testing.T) {
	pairs := [][2]string{
		{"acme", "orders"},
		{"acme_orders", "x"}, {"acme", "orders_x"}, // cc_acme_orders_x_...
		{"acme-orders", "x"}, {"acme", "orders-x"}, // stg_acme_orders__x / ...
		{"acme__orders", "x"}, {"acme", "orders__x"}, // stg_acme__orders__x__...
		{"acme", "orders__20260309"}, {"acme_orders", "20260309"},
		{strings.Repeat("z", 40), strings.Repeat("9", 40)},
	}
	day := civil.Date{Year: 2026, Month: 3, Day: 9}
	w := runreq.Window{Start: day, End: day}
	// BigQuery's limits: job ids and table names up to 1,024 characters.
	jobRE := regexp.MustCompile(`^[A-Za-z0-9_-]+$`)
	tableRE := regexp.MustCompile(`^[A-Za-z0-9_]+$`)
	labelRE := regexp.MustCompile(`^[a-z0-9_-]{0,63}$`)

	seenJob := map[string][2]string{}
	seenTable := map[string][2]string{}
	for _, p := range pairs {
		for _, id := range p {
			if err := runreq.CheckID("id", id); err != nil {
				t.Fatalf("test pair %v: %v", p, err)
			}
		}
		figures.badInputs.Add(1)
		run := warehouse.RunID(p[0], p[1], w, "msg-1") // the same message for every pair
		if err := warehouse.CheckRunID(run); err != nil {
			t.Errorf("%v: %v", p, err)
		}
		table := warehouse.StagingTable(p[0], p[1], run)
		if !tableRE.MatchString(table) || len(table) > 1024 {
			t.Errorf("%v: staging table %q is not a BigQuery table name", p, table)
		}
		if q, ok := seenTable[table]; ok {
			t.Errorf("%v and %v share the staging table %s", p, q, table)
		}
		seenTable[table] = p
		for _, step := range []warehouse.Step{warehouse.StepCheck, warehouse.StepExtract,
			warehouse.StepSummary, warehouse.StepMerge, warehouse.StepReject} {
			for attempt := 1; attempt <= 5; attempt++ {
				id := warehouse.JobID(p[0], p[1], run, step, attempt)
				if !jobRE.MatchString(id) || len(id) > 1024 {
					t.Errorf("%v: job id %q is not a BigQuery job id", p, id)
				}
				if q, ok := seenJob[id]; ok {
					t.Errorf("%v and %v share the job id %s", p, q, id)
				}
				seenJob[id] = p
			}
			for k, v := range warehouse.Labels(p[0], p[1], run, step) {
				if !labelRE.MatchString(v) {
					t.Errorf("%v: label %s=%q breaks BigQuery's label rules", p, k, v)
				}
			}
			l := warehouse.Labels(p[0], p[1], run, step)
			if l["client"] != p[0] || l["conversion"] != p[1] || l["run"] != run {
				t.Errorf("%v: labels %v do not name the run exactly", p, l)
			}
		}
	}
}

// TestConversionDocumentsWithBadIDs stores definitions under document
// ids that no request could name (an operator writing to Firestore by
// hand): a scheduled request must run the valid conversion and refuse
// each of the others by name, before any job or table takes its id.
func TestConversionDocumentsWithBadIDs(t *testing.T) {
	t.Parallel()
	w := newWorld(t)
	tn := w.tenant("a")
	tn.define("orders", ordersSQL(1))
	bad := []string{"Orders", "orders v2", "orders.v2", "orders'", "orders`; DROP TABLE x; --",
		"orders\\x", strings.Repeat("o", 41), "..orders", "ordérs"}
	for _, id := range bad {
		figures.badInputs.Add(1)
		tn.define(id, ordersSQL(1))
	}

	runs := w.handled(tn, request(tn.ID), "day1", days[0])
	if len(runs) != 1 || runs["orders"].State != store.StateExtracting {
		t.Errorf("runs %+v; want the orders run only, extracting", runs)
	}
	for _, id := range bad {
		if !w.logs.has("ERROR", fmt.Sprintf("%q", id)) {
			t.Errorf("no ERROR line names conversion %q:\n%s", id, w.logs)
		}
	}
	for k := range w.jobs(tn.ID) {
		if run, _, _ := strings.Cut(k, "/"); run != runs["orders"].ID {
			t.Errorf("job of %s; want only the orders run's jobs", k)
		}
	}
	if got := w.merged(tn, runs["orders"]); got.State != store.StateSucceeded {
		t.Errorf("orders run %+v; want succeeded", got)
	}
	if c := tn.masked(); c != ordersDay1 {
		t.Errorf("table\n%s\nwant\n%s", c, ordersDay1)
	}
}

// TestClientDocumentWithHostileNames stores a client whose dataset and
// project would, taken raw, reach other tables: its runs must fail on the
// client document before any job.
func TestClientDocumentWithHostileNames(t *testing.T) {
	t.Parallel()
	w := newWorld(t)
	tn := w.tenant("a")
	tn.define("orders", ordersSQL(1))
	tests := []struct {
		name             string
		project, dataset string
		want             string
	}{
		{"dataset with a backtick", "", "attr` WHERE FALSE; DROP TABLE x; --", "attribution_dataset"},
		{"dataset with a dot", "", tn.Dataset + ".custom_conversions", "attribution_dataset"},
		{"dataset with a path", "", "../" + tn.Dataset, "attribution_dataset"},
		{"project with a backtick", "cc-local`.x.y; --", "", "bigquery_project"},
		{"project upper-case", "CC-LOCAL", "", "bigquery_project"},
	}
	for i, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			figures.badInputs.Add(1)
			c := tn.Client
			if tt.project != "" {
				c.Project = tt.project
			}
			if tt.dataset != "" {
				c.Dataset = tt.dataset
			}
			if err := w.store.PutClient(context.Background(), c); err != nil {
				t.Fatal(err)
			}
			before := w.proxy.inserts()
			msg := "m" + string(rune('a'+i))
			run := w.handled(tn, request(tn.ID), msg, days[0])["orders"]
			if run.State != store.StateFailed || !strings.Contains(run.Error, tt.want) ||
				!strings.Contains(run.Error, "fix the client document") {
				t.Errorf("run %s, %q; want failed, naming %s and the client document", run.State,
					run.Error, tt.want)
			}
			if n := w.proxy.inserts() - before; n != 0 {
				t.Errorf("%d jobs started; want none", n)
			}
		})
	}
	tn.put()
}
