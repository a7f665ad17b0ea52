package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"

	"customconversions.dev/scripts/pipeline"
	"customconversions.dev/shared/emulators"
	"customconversions.dev/shared/store"
)

// endToEnd runs the product on the loaded table: both functions, the
// push subscriptions and the log sink stand-in, a client and its
// definition, then one run request per day (or the scheduled one). It
// prints each run record and a summary of the attribution table.
func endToEnd(ctx context.Context, stack *emulators.Stack, cfg config, stdout, stderr io.Writer) error {
	sql, err := readSQL(cfg.sql)
	if err != nil {
		return err
	}
	var fnlog io.Writer
	if cfg.verbose {
		fnlog = stderr
	}
	p, err := pipeline.Start(ctx, pipeline.Options{
		Stack: stack,
		Client: store.Client{ID: cfg.client, DisplayName: cfg.client, Plan: store.PlanEnterprise,
			Project: stack.Project(), Dataset: "attribution", Currency: cfg.currency,
			TimeZone: cfg.clientTZ, Enabled: true},
		ConversionID: "orders", SQL: sql, Log: stderr, FunctionLog: fnlog,
	})
	if err != nil {
		return err
	}
	defer p.Stop()

	days := cfg.days
	if len(days) == 0 {
		days = []string{""} // the scheduled request
	}
	var failed error
	for _, day := range days {
		what := "the scheduled run request (yesterday in " + cfg.clientTZ + ")"
		if day != "" {
			what = "a run request for " + day
		}
		fmt.Fprintf(stderr, "localstack: publishing %s\n", what)
		runs, err := p.RunDay(ctx, day, "localstack")
		if err != nil {
			return err
		}
		if len(runs) == 0 {
			failed = errors.New("the request made no run: see the functions' log (--verbose)")
		}
		for _, r := range runs {
			if r.State != store.StateSucceeded {
				failed = fmt.Errorf("run %s %s: %s", r.ID, r.State, r.Error)
			}
		}
		s, err := p.Summarise(ctx)
		if err != nil {
			return err
		}
		pipeline.Print(stdout, runs, s)
	}

	if cfg.serve {
		printEnv(stdout, stack, cfg, nil)
		fmt.Fprintf(stdout, "# RunConversion: %s  MergeConversion: %s\n",
			p.URL("RunConversion"), p.URL("MergeConversion"))
		fmt.Fprintf(stdout, "# Rerun a day: go run ./scripts/ccctl rerun --client %s "+
			"--start YYYY-MM-DD --end YYYY-MM-DD --wait\n", cfg.client)
		<-ctx.Done()
	}
	return failed
}

// readSQL reads the definition, the repository's reference one by default.
func readSQL(path string) (string, error) {
	if path == "" {
		root, err := emulators.RepoRoot()
		if err != nil {
			return "", err
		}
		path = filepath.Join(root, defaultSQL)
	}
	b, err := os.ReadFile(path)
	if err != nil {
		return "", fmt.Errorf("reading the definition: %w", err)
	}
	return string(b), nil
}
