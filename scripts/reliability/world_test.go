package reliability

import (
	"context"
	"log/slog"
	"sync/atomic"
	"testing"
	"time"

	"cloud.google.com/go/bigquery"

	"customconversions.dev/functions/mergeconversion"
	"customconversions.dev/functions/runconversion"
	"customconversions.dev/shared/config"
	"customconversions.dev/shared/emulators"
	"customconversions.dev/shared/instance"
	"customconversions.dev/shared/logging"
	"customconversions.dev/shared/store"
	"customconversions.dev/shared/warehouse"
)

// figures counts what the suite tried, for its README: deliveries of
// messages and events to the functions, faults injected, bad inputs
// (messages, events, definitions, documents, ids), and output rows
// checked, of them bad.
var figures struct {
	deliveries, faults, badInputs, rows, badRows atomic.Int64
}

// world is one test's product: a Firestore project of its own, the
// BigQuery emulator behind a fault proxy, both functions' handlers on
// them (as two function instances would be), and clients with datasets
// of their own.
type world struct {
	t     *testing.T
	names emulators.Names
	// bq reads the emulator directly, for the test's own checks;
	// sink reads it through the proxy, as the log sink sees jobs.
	bq, sink *bigquery.Client
	proxy    *bqProxy
	store    *store.Store
	cfg      config.Config
	runH     *runconversion.Handler
	mergeH   *mergeconversion.Handler
	logs     *lockedBuffer
	started  time.Time
}

// hosts are the emulators a world uses, and the names it takes (new
// ones when nil).
type hosts struct {
	bigquery, firestore string
	names               *emulators.Names
}

// sharedFS is the Firestore emulator TestMain started; each world has a
// project of its own there.
func sharedFS(t *testing.T) string { return emulators.Shared(t).FirestoreHost() }

// newWorld returns a world on a BigQuery emulator of its own and the
// shared Firestore emulator.
func newWorld(t *testing.T) *world {
	return newWorldOn(t, hosts{bigquery: newBigQuery(t).Host(), firestore: sharedFS(t)})
}

func newWorldOn(t *testing.T, h hosts) *world {
	t.Helper()
	ctx := context.Background()
	s := emulators.Shared(t)
	w := &world{t: t, logs: &lockedBuffer{}, started: time.Now()}
	if h.names != nil {
		w.names = *h.names
	} else {
		w.names = s.NewNames(t)
	}
	w.proxy = newBQProxy(t, h.bigquery)

	var err error
	if w.bq, err = emulators.NewBigQueryClient(ctx, h.bigquery, s.Project()); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { w.bq.Close() })
	if w.sink, err = emulators.NewBigQueryClient(ctx, w.proxy.Host(), s.Project()); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { w.sink.Close() })
	fs, err := emulators.NewFirestoreClient(ctx, h.firestore, w.names.Project)
	if err != nil {
		t.Fatal(err)
	}
	w.store = store.FromClient(fs)
	t.Cleanup(func() { w.store.Close() })

	staging := w.names.Dataset + "_stg"
	w.dataset(staging)
	w.cfg = config.Config{
		Project:          s.Project(),
		StagingDataset:   staging,
		Location:         "US",
		RejectThreshold:  0.05,
		StagingExpiry:    24 * time.Hour,
		ServiceAccount:   "cc-functions@cc-local.iam.gserviceaccount.com",
		BigQueryEmulator: w.proxy.Host(),
	}
	w.runH = &runconversion.Handler{Instance: w.instance()}
	w.mergeH = &mergeconversion.Handler{Instance: w.instance()}
	return w
}

// instance returns a function instance's dependencies: the world's store
// and a warehouse of its own, through the proxy.
func (w *world) instance() *instance.Instance {
	wh, err := warehouse.New(context.Background(), w.cfg)
	if err != nil {
		w.t.Fatal(err)
	}
	w.t.Cleanup(func() { wh.Close() })
	return &instance.Instance{Config: w.cfg, Store: w.store, Warehouse: wh,
		Log: logging.New(w.logs, slog.LevelInfo), Now: time.Now}
}

// dataset creates a dataset. It goes with the world's emulator.
func (w *world) dataset(name string) *bigquery.Dataset {
	w.t.Helper()
	ds := w.bq.Dataset(name)
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	if err := ds.Create(ctx, &bigquery.DatasetMetadata{Location: "US"}); err != nil {
		w.t.Fatalf("creating dataset %s: %v", name, err)
	}
	return ds
}

// tenant is a client of the product, stored, with a dataset of its own.
type tenant struct {
	w *world
	store.Client
}

// tenant stores an enterprise client whose id and dataset end in suffix.
func (w *world) tenant(suffix string) *tenant {
	w.t.Helper()
	ds := w.names.Dataset + "_" + suffix
	w.dataset(ds)
	tn := &tenant{w: w, Client: store.Client{ID: w.names.Prefix + "-" + suffix,
		DisplayName: "Tenant " + suffix, Plan: store.PlanEnterprise, Project: w.cfg.Project,
		Dataset: ds, Currency: "GBP", TimeZone: "Europe/London", Enabled: true}}
	tn.put()
	return tn
}

func (tn *tenant) put() {
	tn.w.t.Helper()
	if err := tn.w.store.PutClient(context.Background(), tn.Client); err != nil {
		tn.w.t.Fatal(err)
	}
}

// define stores an enabled definition.
func (tn *tenant) define(id, sql string) {
	tn.w.t.Helper()
	d := store.Definition{ID: id, Name: id, SQL: sql, Enabled: true, Hash: "h-" + id,
		Updated: time.Now().UTC(), Author: "reliability"}
	if err := tn.w.store.PutDefinition(context.Background(), tn.ID, d); err != nil {
		tn.w.t.Fatal(err)
	}
}

// table returns the quoted reference of one of the tenant's tables.
func (tn *tenant) table(name string) string {
	return warehouse.Ref(tn.Project, tn.Dataset, name)
}
