// Package instance holds what one function instance builds once and uses
// for every event: its configuration, its Firestore store, its BigQuery
// warehouse, its logger and its clock.
package instance

import (
	"context"
	"log/slog"
	"os"
	"time"

	"customconversions.dev/shared/config"
	"customconversions.dev/shared/logging"
	"customconversions.dev/shared/store"
	"customconversions.dev/shared/warehouse"
)

// Instance is a function instance's dependencies. Tests build one by hand
// on the emulators.
type Instance struct {
	Config    config.Config
	Store     *store.Store
	Warehouse *warehouse.Warehouse
	Log       *slog.Logger
	// Now returns the current time; tests may fix it.
	Now func() time.Time
}

// New connects to Firestore and BigQuery for cfg.
func New(ctx context.Context, cfg config.Config, log *slog.Logger) (*Instance, error) {
	st, err := store.New(ctx, cfg.Project)
	if err != nil {
		return nil, err
	}
	wh, err := warehouse.New(ctx, cfg)
	if err != nil {
		st.Close()
		return nil, err
	}
	return &Instance{Config: cfg, Store: st, Warehouse: wh, Log: log, Now: time.Now}, nil
}

// FromEnv reads the configuration from the environment and connects,
// logging JSON to stdout. The functions call it on their first event.
func FromEnv(ctx context.Context) (*Instance, error) {
	cfg, err := config.FromEnv()
	if err != nil {
		return nil, err
	}
	return New(ctx, cfg, logging.New(os.Stdout, slog.LevelInfo))
}
