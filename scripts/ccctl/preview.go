package main

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"time"

	"cloud.google.com/go/bigquery"
	"github.com/spf13/cobra"
	"google.golang.org/api/iterator"

	"customconversions.dev/shared/contract"
	"customconversions.dev/shared/request"
	"customconversions.dev/shared/store"
	"customconversions.dev/shared/warehouse"
)

// maxPreviewRows bounds --limit: a preview is for reading, not export.
const maxPreviewRows = 1000

// previewRow is a row as the extraction would stage it.
type previewRow struct {
	ID          string                 `bigquery:"id" json:"id"`
	IDGenerated bool                   `bigquery:"id_generated" json:"id_generated"`
	ClientID    bigquery.NullString    `bigquery:"client_id" json:"client_id"`
	Created     bigquery.NullTimestamp `bigquery:"created" json:"created"`
	Value       bigquery.NullFloat64   `bigquery:"value" json:"value"`
	Currency    bigquery.NullString    `bigquery:"currency" json:"currency"`
	IsQualified bool                   `bigquery:"is_qualified" json:"is_qualified"`
	Params      []previewParam         `bigquery:"params" json:"params"`
	UserID      bigquery.NullString    `bigquery:"user_id" json:"user_id"`
	Problems    []string               `bigquery:"problems" json:"problems"`
	// WithProblems counts the rows of the whole window that have
	// problems; the same on every row.
	WithProblems int64 `bigquery:"cc_with_problems" json:"-"`
}

type previewParam struct {
	Key   bigquery.NullString `bigquery:"key" json:"key"`
	Value bigquery.NullString `bigquery:"value" json:"value"`
}

// preview is what preview found, as --json prints it.
type preview struct {
	Client       string       `json:"client"`
	Conversion   string       `json:"conversion"`
	Window       string       `json:"window"`
	TotalRows    uint64       `json:"total_rows"`
	WithProblems int64        `json:"rows_with_problems"`
	Rows         []previewRow `json:"rows"`
}

func (a *app) previewCmd() *cobra.Command {
	var client, conversion, file, start, end string
	var limit int
	cmd := &cobra.Command{
		Use:   "preview --client CLIENT (--conversion ID | --file FILE) [--start DATE --end DATE]",
		Short: "Show the first rows a conversion gives for a window, with their problems",
		Long: `Run the extraction a run would run for a window, with the client's currency
and time zone, and show the first rows as they would be staged, each with
its problems (created missing or in the future, a currency that is not an
ISO 4217 code, a value that is not finite, a param without a key). Nothing
is staged or merged. The definition is the stored one (--conversion), or a
file not applied yet (--file). Without dates the window is yesterday in the
client's time zone; --end defaults to --start. The query reads the source
as a run would, and is billed as one.`,
		Example: `  ccctl conversion preview --client acme --conversion orders \
    --start 2026-03-01 --end 2026-03-07 --limit 50`,
		Args: args(),
	}
	clientFlag(cmd, &client)
	fs := cmd.Flags()
	fs.StringVar(&conversion, "conversion", "", "the stored conversion to preview")
	fs.StringVar(&file, "file", "", "a definition file to preview instead of a stored one")
	fs.StringVar(&start, "start", "", "first day of the window, YYYY-MM-DD")
	fs.StringVar(&end, "end", "", "last day of the window, YYYY-MM-DD (default --start)")
	fs.IntVar(&limit, "limit", 20, fmt.Sprintf("rows to show, at most %d", maxPreviewRows))
	cmd.MarkFlagsMutuallyExclusive("conversion", "file")
	cmd.MarkFlagsOneRequired("conversion", "file")

	cmd.RunE = a.action(func(ctx context.Context, _ []string) error {
		if limit < 1 || limit > maxPreviewRows {
			return usagef("--limit %d: want 1 to %d", limit, maxPreviewRows)
		}
		req := request.Request{ClientID: client, ConversionID: conversion, StartDate: start,
			EndDate: end}
		ctx, cancel := a.bounded(ctx)
		defer cancel()
		st, c, err := a.client(ctx, client)
		if err != nil {
			return err
		}
		w, err := a.window(req, c)
		if err != nil {
			return err
		}
		var d store.Definition
		if file != "" {
			fd, err := readDefFile(file)
			if err != nil {
				return err
			}
			d = store.Definition{ID: fd.ID, SQL: fd.SQL}
		} else if d, err = a.definition(ctx, st, c.ID, conversion); err != nil {
			return err
		}

		p, err := a.preview(ctx, c, d, w, limit)
		if err != nil {
			return fmt.Errorf("conversion %s: %w", d.ID, err)
		}
		if a.json {
			return a.printJSON(p)
		}
		return printPreview(a, p)
	})
	return cmd
}

// window resolves a request's dates for c as RunConversion would; dates
// it would refuse are a usage error.
func (a *app) window(req request.Request, c store.Client) (request.Window, error) {
	for _, d := range []struct{ flag, v string }{{"start", req.StartDate}, {"end", req.EndDate}} {
		if d.v == "" {
			continue
		}
		if _, err := time.Parse(time.DateOnly, d.v); err != nil {
			return request.Window{}, usagef("--%s %q: want a date such as 2026-03-01", d.flag, d.v)
		}
	}
	loc, err := c.Location()
	if err != nil {
		return request.Window{}, fmt.Errorf("client %s: %w: fix it with ccctl client update",
			c.ID, err)
	}
	w, err := req.Window(a.env.Now(), loc)
	if err != nil {
		return request.Window{}, usageError(err)
	}
	return w, nil
}

// preview checks d's SQL, runs its extraction for w with no destination
// and reads the first limit rows.
func (a *app) preview(ctx context.Context, c store.Client, d store.Definition,
	w request.Window, limit int) (preview, error) {
	shape, _, err := a.checkSQL(ctx, c.ID, d.ID, d.SQL, w)
	if err != nil {
		return preview{}, err
	}
	wh, err := a.warehouse(ctx)
	if err != nil {
		return preview{}, err
	}
	q := warehouse.Query{
		SQL: "SELECT *, COUNTIF(ARRAY_LENGTH(problems) > 0) OVER () AS cc_with_problems\n" +
			"FROM (\n" + contract.ExtractionSQL(d.SQL, shape) + ")",
		Params: append(windowParams(w),
			bigquery.QueryParameter{Name: contract.ParamDefaultCurrency, Value: c.Currency},
			bigquery.QueryParameter{Name: contract.ParamTimeZone, Value: c.TimeZone}),
		Labels: warehouse.Labels(c.ID, d.ID, runLabel, stepPreview),
	}
	job, _, err := wh.Run(ctx, q)
	if err != nil {
		return preview{}, err
	}
	it, err := job.Read(ctx)
	if err != nil {
		return preview{}, fmt.Errorf("reading the rows: %w", err)
	}
	it.PageInfo().MaxSize = limit

	p := preview{Client: c.ID, Conversion: d.ID, Window: w.String(), Rows: []previewRow{}}
	for len(p.Rows) < limit {
		var r previewRow
		err := it.Next(&r)
		if errors.Is(err, iterator.Done) {
			break
		}
		if err != nil {
			return preview{}, fmt.Errorf("reading the rows: %w", err)
		}
		p.WithProblems = r.WithProblems
		p.Rows = append(p.Rows, r)
	}
	p.TotalRows = it.TotalRows
	return p, nil
}

func printPreview(a *app, p preview) error {
	w := a.env.Stdout
	t := newTable(w, "ID", "CREATED", "VALUE", "CURRENCY", "QUALIFIED", "CLIENT_ID", "USER_ID",
		"PARAMS", "PROBLEMS")
	for _, r := range p.Rows {
		created := "NULL"
		if r.Created.Valid {
			created = stamp(r.Created.Timestamp)
		}
		value := "NULL"
		if r.Value.Valid {
			value = fmt.Sprint(r.Value.Float64)
		}
		id := r.ID
		if r.IDGenerated {
			id = clip(id, 16) + " (generated)"
		}
		var params []string
		for _, kv := range r.Params {
			params = append(params, nullable(kv.Key)+"="+nullable(kv.Value))
		}
		t.add(id, created, value, nullable(r.Currency), yesNo(r.IsQualified),
			nullable(r.ClientID), nullable(r.UserID), dash(clip(strings.Join(params, ","), 40)),
			dash(strings.Join(r.Problems, ",")))
	}
	if err := t.flush(); err != nil {
		return err
	}
	_, err := fmt.Fprintf(w, "%d of %d rows for %s shown; %d rows of the window have problems\n",
		len(p.Rows), p.TotalRows, p.Window, p.WithProblems)
	return err
}

func nullable(s bigquery.NullString) string {
	if !s.Valid {
		return "NULL"
	}
	return s.StringVal
}
