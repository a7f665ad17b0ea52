package main

import (
	"context"
	"fmt"
	"strings"

	"github.com/spf13/cobra"

	"customconversions.dev/shared/request"
	"customconversions.dev/shared/store"
)

func (a *app) rerunCmd() *cobra.Command {
	var f sendFlags
	var client, conversion, start, end string
	cmd := &cobra.Command{
		Use:   "rerun --client CLIENT [--conversion ID] [--start DATE --end DATE]",
		Short: "Publish one run request: a client's conversions, or one, for a window",
		Long: `Publish one run request to the run-requests topic, as a manual rerun:
RunConversion runs the named conversion (even if disabled), or every
enabled conversion of the client, for the window. Without dates the window
is yesterday in the client's time zone; --end defaults to --start. Windows
longer than 366 days, inverted or reaching into the future are refused
here, before anything is published: use backfill for long ranges.

With --wait, ccctl follows the runs the message starts in Firestore until
each has succeeded, failed or been skipped, and exits with 1 unless every
one succeeded.`,
		Example: `  ccctl rerun --client acme --conversion orders --start 2026-03-01 --end 2026-03-07 \
    --reason "CRM reload" --wait`,
		Args: args(),
	}
	clientFlag(cmd, &client)
	fs := cmd.Flags()
	fs.StringVar(&conversion, "conversion", "", "the conversion to run (default every enabled one)")
	fs.StringVar(&start, "start", "", "first day of the window, YYYY-MM-DD")
	fs.StringVar(&end, "end", "", "last day of the window, YYYY-MM-DD (default --start)")
	f.register(cmd)

	cmd.RunE = a.action(func(ctx context.Context, _ []string) error {
		req := request.Request{ClientID: client, ConversionID: conversion, StartDate: start,
			EndDate: end, Reason: strings.TrimSpace(f.reason)}
		bctx, cancel := a.bounded(ctx)
		defer cancel()
		st, c, err := a.client(bctx, client)
		if err != nil {
			return err
		}
		a.warnSkipped(c)
		if err := a.checkRequest(req, c); err != nil {
			return err
		}
		runs, err := a.runsPerRequest(bctx, st, c, conversion)
		if err != nil {
			return err
		}
		return a.send(ctx, st, c, []request.Request{req}, runs, f)
	})
	return cmd
}

// runsPerRequest returns how many runs one request for conversion (or
// for every enabled conversion when it is "") starts, and refuses a
// request that would start none.
func (a *app) runsPerRequest(ctx context.Context, st *store.Store, c store.Client,
	conversion string) (int, error) {
	if conversion != "" {
		d, err := a.definition(ctx, st, c.ID, conversion)
		if err != nil {
			return 0, err
		}
		if !d.Enabled {
			fmt.Fprintf(a.env.Stderr, "ccctl: note: conversion %s is disabled; a request that "+
				"names it runs it all the same\n", d.ID)
		}
		return 1, nil
	}
	ds, err := st.Definitions(ctx, c.ID)
	if err != nil {
		return 0, err
	}
	n := 0
	for _, d := range ds {
		if d.Enabled {
			n++
		}
	}
	if n == 0 {
		return 0, fmt.Errorf("client %s has no enabled conversion, so a request for it runs "+
			"nothing: name one with --conversion, or apply one", c.ID)
	}
	return n, nil
}
