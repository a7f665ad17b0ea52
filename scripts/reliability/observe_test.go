package reliability

import (
	"context"
	"errors"
	"fmt"
	"regexp"
	"sort"
	"strings"
	"time"

	"cloud.google.com/go/bigquery"
	"google.golang.org/api/iterator"

	"customconversions.dev/shared/store"
	"customconversions.dev/shared/testkit"
	"customconversions.dev/shared/warehouse"
)

// runs returns the tenant's runs, newest first.
func (tn *tenant) runs() []store.Run {
	tn.w.t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	rs, err := tn.w.store.Runs(ctx, tn.ID, "", 200)
	if err != nil {
		tn.w.t.Fatal(err)
	}
	return rs
}

// run reads one run.
func (tn *tenant) run(id string) store.Run {
	tn.w.t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	r, err := tn.w.store.Run(ctx, tn.ID, id)
	if err != nil {
		tn.w.t.Fatal(err)
	}
	return r
}

// runOf returns the tenant's run of a conversion that message msgID
// started, failing the test unless there is exactly one.
func (tn *tenant) runOf(conversion, msgID string) store.Run {
	tn.w.t.Helper()
	var found []store.Run
	for _, r := range tn.runs() {
		if r.ConversionID == conversion && r.MessageID == msgID {
			found = append(found, r)
		}
	}
	if len(found) != 1 {
		tn.w.t.Fatalf("runs of %s/%s for message %s: %+v; want one\nlogs:\n%s", tn.ID, conversion,
			msgID, found, tn.w.logs)
	}
	return found[0]
}

// attributed is an attribution row, reduced to what a delivery decides.
type attributed struct {
	ConversionID string               `bigquery:"conversion_id"`
	ID           string               `bigquery:"id"`
	IDGenerated  bool                 `bigquery:"id_generated"`
	ClientID     bigquery.NullString  `bigquery:"client_id"`
	Created      time.Time            `bigquery:"created"`
	Value        bigquery.NullFloat64 `bigquery:"value"`
	Currency     bigquery.NullString  `bigquery:"currency"`
	IsQualified  bool                 `bigquery:"is_qualified"`
	Fingerprint  string               `bigquery:"fingerprint"`
	RunID        string               `bigquery:"run_id"`
}

func (a attributed) String() string {
	v := "NULL"
	if a.Value.Valid {
		v = fmt.Sprint(a.Value.Float64)
	}
	return fmt.Sprintf("%s/%s %s %s %s q=%v", a.ConversionID, a.ID,
		a.Created.UTC().Format("2006-01-02T15:04"), v, a.Currency.StringVal, a.IsQualified)
}

// attribution reads the tenant's attribution table, sorted; a missing
// table reads as empty.
func (tn *tenant) attribution() []attributed {
	tn.w.t.Helper()
	if !tn.w.exists(tn.Dataset, warehouse.AttributionTable) {
		return nil
	}
	rows := testkit.Query[attributed](tn.w.t, tn.w.bq, "SELECT conversion_id, id, id_generated, "+
		"client_id, created, value, currency, is_qualified, fingerprint, run_id FROM "+
		tn.table(warehouse.AttributionTable))
	sort.Slice(rows, func(i, j int) bool { return rows[i].String() < rows[j].String() })
	return rows
}

// content is the attribution table as one string, one row a line.
func (tn *tenant) content() string {
	var lines []string
	for _, r := range tn.attribution() {
		lines = append(lines, r.String())
	}
	return strings.Join(lines, "\n")
}

func (w *world) exists(dataset, table string) bool {
	w.t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	_, err := w.bq.Dataset(dataset).Table(table).Metadata(ctx)
	return err == nil
}

// jobIDRE splits a job id this product gives into its run, step and
// attempt.
var jobIDRE = regexp.MustCompile(`^cc_.+_([0-9]{8}-[0-9]{8}-[0-9a-f]{10})_([a-z]+)(?:_([0-9]+))?$`)

// jobs counts the BigQuery jobs of a client since the world started, per
// "run/step": the emulator's own, read with their labels, and those the
// proxy failed in the emulator's place.
func (w *world) jobs(client string) map[string]int {
	w.t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	counts := map[string]int{}
	it := w.bq.Jobs(ctx)
	it.AllUsers = true
	it.MinCreationTime = w.started.Add(-time.Minute)
	for {
		j, err := it.Next()
		if errors.Is(err, iterator.Done) {
			break
		}
		if err != nil {
			w.t.Fatalf("listing jobs: %v", err)
		}
		if m := jobIDRE.FindStringSubmatch(j.ID()); m != nil {
			if strings.HasPrefix(j.ID(), "cc_"+client+"_") {
				counts[m[1]+"/"+m[2]]++
			}
			continue
		}
		// A job without a product id (the schema probe): its labels say.
		full, err := w.bq.JobFromID(ctx, j.ID())
		if err != nil {
			continue
		}
		cfg, err := full.Config()
		if err != nil {
			continue
		}
		if q, ok := cfg.(*bigquery.QueryConfig); ok && q.Labels[warehouse.LabelClient] == client {
			counts[q.Labels[warehouse.LabelRun]+"/"+q.Labels[warehouse.LabelStep]]++
		}
	}
	for _, id := range w.proxy.fakeJobIDs() {
		if m := jobIDRE.FindStringSubmatch(id); m != nil && strings.HasPrefix(id, "cc_"+client+"_") {
			counts[m[1]+"/"+m[2]]++
		}
	}
	return counts
}
