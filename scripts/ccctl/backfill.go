package main

import (
	"context"
	"fmt"
	"slices"
	"strings"
	"time"

	"cloud.google.com/go/civil"
	"github.com/spf13/cobra"

	"customconversions.dev/scripts/ccctl/publish"
	"customconversions.dev/shared/request"
	"customconversions.dev/shared/store"
)

func (a *app) backfillCmd() *cobra.Command {
	var f sendFlags
	var client, start, end string
	var conversions []string
	var chunkDays int
	var dryRun bool
	cmd := &cobra.Command{
		Use:   "backfill --client CLIENT [--conversion ID ...] --start DATE --end DATE",
		Short: "Publish the run requests that cover a range of days, in chunks",
		Long: fmt.Sprintf(`Split the range from --start to --end into consecutive windows of at most
--chunk-days days (at most %d, a request's limit) and publish one run
request per conversion and window, all at once, with a progress bar and a
summary (published, failed, elapsed, per second). The conversions are the
ones named (repeat --conversion, or separate them with commas), or every
enabled conversion of the client.

Each request makes RunConversion scan the source once, so larger chunks
cost less; --chunk-days 1 gives one run per day, like the scheduled runs.
--dry-run prints the requests without publishing them. With --wait, ccctl
follows the runs in Firestore until each has succeeded, failed or been
skipped, and exits with 1 unless every one succeeded.`, request.MaxWindowDays),
		Example: `  ccctl backfill --client acme --start 2024-01-01 --end 2025-12-31
  ccctl backfill --client acme --conversion orders,leads --start 2025-01-01 \
    --end 2025-12-31 --chunk-days 1 --reason "new definition" --wait`,
		Args: args(),
	}
	clientFlag(cmd, &client)
	fs := cmd.Flags()
	fs.StringSliceVar(&conversions, "conversion", nil,
		"a conversion to backfill; repeat it (default every enabled one)")
	fs.StringVar(&start, "start", "", "first day of the range, YYYY-MM-DD (required)")
	fs.StringVar(&end, "end", "", "last day of the range, YYYY-MM-DD (required)")
	fs.IntVar(&chunkDays, "chunk-days", request.MaxWindowDays,
		"days per request, 1 to "+fmt.Sprint(request.MaxWindowDays))
	fs.BoolVar(&dryRun, "dry-run", false, "print the requests without publishing them")
	f.register(cmd)
	for _, name := range []string{"start", "end"} {
		if err := cmd.MarkFlagRequired(name); err != nil {
			panic(err) // the flag is registered just above
		}
	}

	cmd.RunE = a.action(func(ctx context.Context, _ []string) error {
		s, err := dateFlag("start", start)
		if err != nil {
			return err
		}
		e, err := dateFlag("end", end)
		if err != nil {
			return err
		}
		if chunkDays < 1 || chunkDays > request.MaxWindowDays {
			return usagef("--chunk-days %d: want 1 to %d", chunkDays, request.MaxWindowDays)
		}
		if e.Before(s) {
			return usagef("--end %s is before --start %s", e, s)
		}

		bctx, cancel := a.bounded(ctx)
		defer cancel()
		st, c, err := a.client(bctx, client)
		if err != nil {
			return err
		}
		a.warnSkipped(c)
		ids, err := a.backfillConversions(bctx, st, c, conversions)
		if err != nil {
			return err
		}
		reqs, err := publish.Plan(c.ID, ids, s, e, chunkDays, strings.TrimSpace(f.reason))
		if err != nil {
			return usageError(err)
		}
		// The requests differ only in their windows, which lie between
		// the first one's start and the last one's end.
		for _, r := range []request.Request{reqs[0], reqs[len(reqs)-1]} {
			if err := a.checkRequest(r, c); err != nil {
				return err
			}
		}
		if dryRun {
			return a.printPlan(reqs)
		}
		if !a.json {
			fmt.Fprintf(a.env.Stderr, "backfill: %d conversion(s) x %d window(s) = %d requests\n",
				len(ids), len(reqs)/len(ids), len(reqs))
		}
		return a.send(ctx, st, c, reqs, 1, f)
	})
	return cmd
}

// dateFlag parses the date given to --name.
func dateFlag(name, v string) (civil.Date, error) {
	t, err := time.Parse(time.DateOnly, v)
	if err != nil {
		return civil.Date{}, usagef("--%s %q: want a date such as 2026-03-01", name, v)
	}
	return civil.DateOf(t), nil
}

// backfillConversions returns the conversions a backfill covers: the
// named ones, each of which must exist, or every enabled one.
func (a *app) backfillConversions(ctx context.Context, st *store.Store, c store.Client,
	named []string) ([]string, error) {
	ds, err := st.Definitions(ctx, c.ID)
	if err != nil {
		return nil, err
	}
	if len(named) == 0 {
		var ids []string
		for _, d := range ds {
			if d.Enabled {
				ids = append(ids, d.ID)
			}
		}
		if len(ids) == 0 {
			return nil, fmt.Errorf("client %s has no enabled conversion: name one with "+
				"--conversion, or apply one", c.ID)
		}
		return ids, nil
	}

	var ids []string
	for _, id := range named {
		id = strings.TrimSpace(id)
		if err := request.CheckID("conversion id", id); err != nil {
			return nil, usageError(err)
		}
		i := slices.IndexFunc(ds, func(d store.Definition) bool { return d.ID == id })
		if i < 0 {
			return nil, fmt.Errorf("client %s has no conversion %s: list them with "+
				"ccctl conversion list --client %s", c.ID, id, c.ID)
		}
		if !ds[i].Enabled {
			fmt.Fprintf(a.env.Stderr, "ccctl: note: conversion %s is disabled; a request that "+
				"names it runs it all the same\n", id)
		}
		if !slices.Contains(ids, id) {
			ids = append(ids, id)
		}
	}
	return ids, nil
}

// printPlan prints the requests a backfill would publish.
func (a *app) printPlan(reqs []request.Request) error {
	if a.json {
		return a.printJSON(reqs)
	}
	t := newTable(a.env.Stdout, "CONVERSION", "START", "END", "DAYS")
	for _, r := range reqs {
		s, _ := civil.ParseDate(r.StartDate)
		e, _ := civil.ParseDate(r.EndDate)
		t.add(r.ConversionID, r.StartDate, r.EndDate, fmt.Sprint(e.DaysSince(s)+1))
	}
	if err := t.flush(); err != nil {
		return err
	}
	_, err := fmt.Fprintf(a.env.Stdout, "%d requests (dry run: nothing published)\n", len(reqs))
	return err
}
