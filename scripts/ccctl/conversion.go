package main

import (
	"context"
	"errors"
	"fmt"
	"strings"

	"github.com/spf13/cobra"

	"customconversions.dev/shared/contract"
	"customconversions.dev/shared/request"
	"customconversions.dev/shared/store"
)

func (a *app) conversionCmd() *cobra.Command {
	cmd := &cobra.Command{
		Use:   "conversion",
		Short: "Check, apply, preview, list, show and disable conversion definitions",
		Long: `A conversion definition is a BigQuery SQL query kept in git as a small YAML
or JSON file:

  id: orders              # 1 to 40 lowercase letters, digits, _ or -
  name: Paid orders       # default: the id
  enabled: true           # default: true
  sql_file: orders.sql    # a file beside this one; or the query inline:
  # sql: |
  #   SELECT id, createdAt AS created FROM ` + "`crm.orders`" + `
  #   WHERE DATE(createdAt) BETWEEN @start_date AND @end_date

check tests the SQL against BigQuery without writing anything; apply tests
it the same way and writes it to Firestore only when it passes.`,
		RunE: a.group,
	}
	cmd.AddCommand(a.applyCmd(), a.checkCmd(), a.previewCmd(), a.conversionListCmd(),
		a.conversionShowCmd(), a.disableCmd())
	return cmd
}

// clientFlag adds the required --client flag to cmd.
func clientFlag(cmd *cobra.Command, client *string) {
	cmd.Flags().StringVar(client, "client", "", "the client's id (required)")
	if err := cmd.MarkFlagRequired("client"); err != nil {
		panic(err) // the flag is registered just above
	}
}

// authorFlag adds --author to cmd.
func authorFlag(cmd *cobra.Command, author *string) {
	cmd.Flags().StringVar(author, "author", "",
		"who makes the change, recorded on the definition (default $USER)")
}

// author returns --author, or $USER without it.
func (a *app) author(flag string) (string, error) {
	if s := strings.TrimSpace(flag); s != "" {
		return s, nil
	}
	if s := a.env.Getenv("USER"); s != "" {
		return s, nil
	}
	return "", usagef("no author: pass --author or set USER")
}

// definitionFields are the fields of a definition that apply compares.
func definitionFields(d store.Definition) []field {
	return []field{{"name", d.Name}, {"enabled", fmt.Sprint(d.Enabled)}, {"hash", d.Hash}}
}

// applied is what apply did, as --json prints it.
type applied struct {
	Client     string           `json:"client"`
	Conversion string           `json:"conversion"`
	Action     string           `json:"action"` // created, updated or unchanged
	Changes    []change         `json:"changes"`
	SQLDiff    string           `json:"sql_diff"`
	Definition store.Definition `json:"definition"`
}

func (a *app) applyCmd() *cobra.Command {
	var client, author string
	cmd := &cobra.Command{
		Use:   "apply FILE --client CLIENT",
		Short: "Check a definition file against BigQuery, then write it to Firestore",
		Long: `Check the definition in FILE as RunConversion will (one SELECT, only
@start_date and @end_date, and a result that fits the output contract,
asked of BigQuery without reading data), and write it to the client's
conversions only when it passes. What changed is printed: the fields and
a diff of the SQL, or "no change" when the stored definition is the same.`,
		Example: `  ccctl conversion apply conversions/acme/orders.yaml --client acme`,
		Args:    args("FILE"),
	}
	clientFlag(cmd, &client)
	authorFlag(cmd, &author)
	cmd.RunE = a.action(func(ctx context.Context, args []string) error {
		path := args[0]
		def, err := readDefFile(path)
		if err != nil {
			return err
		}
		who, err := a.author(author)
		if err != nil {
			return err
		}
		ctx, cancel := a.bounded(ctx)
		defer cancel()
		st, c, err := a.client(ctx, client)
		if err != nil {
			return err
		}
		if _, _, err := a.checkSQL(ctx, c.ID, def.ID, def.SQL, a.yesterday(&c)); err != nil {
			return fmt.Errorf("%s: conversion %s not applied: %w", path, def.ID, err)
		}

		old, err := st.Definition(ctx, c.ID, def.ID)
		if err != nil && !errors.Is(err, store.ErrNotFound) {
			return err
		}
		d := store.Definition{ID: def.ID, Name: def.Name, SQL: def.SQL, Enabled: def.Enabled,
			Hash: contract.Hash(def.SQL), Updated: a.env.Now().UTC(), Author: who}
		res := applied{Client: c.ID, Conversion: d.ID, Action: "unchanged", Definition: old,
			Changes: fieldChanges(definitionFields(old), definitionFields(d)),
			SQLDiff: unifiedDiff("stored", path, old.SQL, d.SQL, 3),
		}
		if len(res.Changes) > 0 || res.SQLDiff != "" {
			if err := st.PutDefinition(ctx, c.ID, d); err != nil {
				return err
			}
			res.Action, res.Definition = "updated", d
			if old.ID == "" {
				res.Action = "created"
			}
		}
		if a.json {
			return a.printJSON(res)
		}
		return printApplied(a, res)
	})
	return cmd
}

func printApplied(a *app, res applied) error {
	w := a.env.Stdout
	if res.Action == "unchanged" {
		fmt.Fprintf(w, "conversion %s of client %s: no change (hash %s)\n", res.Conversion,
			res.Client, res.Definition.Hash)
		return nil
	}
	fmt.Fprintf(w, "conversion %s of client %s %s by %s\n", res.Conversion, res.Client,
		res.Action, res.Definition.Author)
	var err error
	if res.Action == "created" {
		var fs []field
		for _, f := range definitionFields(res.Definition) {
			fs = append(fs, field{"  " + f.name, f.value})
		}
		err = printFields(w, fs)
	} else {
		err = printChanges(w, res.Changes)
	}
	if err != nil {
		return err
	}
	_, err = fmt.Fprint(w, res.SQLDiff)
	return err
}

// checked is what check found, as --json prints it.
type checked struct {
	File       string            `json:"file"`
	Conversion string            `json:"conversion"`
	Columns    map[string]string `json:"columns"`
	// BytesProcessed is what a run would read, from the dry run; 0 on the
	// emulator, which does not say.
	BytesProcessed int64 `json:"bytes_processed"`
}

func (a *app) checkCmd() *cobra.Command {
	var client string
	cmd := &cobra.Command{
		Use:   "check FILE",
		Short: "Check a definition file against BigQuery without writing anything",
		Long: `Check the definition in FILE as apply does, and write nothing: one SELECT
statement, only @start_date and @end_date, and a result schema (from a
BigQuery dry run; a LIMIT 0 query on the emulator) that fits the output
contract. It exits with 3 when the definition fails, naming each problem.
With --client, the check's window is yesterday in the client's time zone.`,
		Example: `  ccctl conversion check conversions/acme/orders.yaml`,
		Args:    args("FILE"),
	}
	cmd.Flags().StringVar(&client, "client", "", "the client's id, to label the check's job")
	cmd.RunE = a.action(func(ctx context.Context, args []string) error {
		path := args[0]
		def, err := readDefFile(path)
		if err != nil {
			return err
		}
		ctx, cancel := a.bounded(ctx)
		defer cancel()
		var c *store.Client
		if client != "" {
			_, got, err := a.client(ctx, client)
			if err != nil {
				return err
			}
			c = &got
		}
		shape, n, err := a.checkSQL(ctx, client, def.ID, def.SQL, a.yesterday(c))
		if err != nil {
			return fmt.Errorf("%s: conversion %s: %w", path, def.ID, err)
		}
		if a.json {
			cols := map[string]string{}
			for k, v := range shape {
				cols[k] = sqlName(k, v)
			}
			return a.printJSON(checked{File: path, Conversion: def.ID, Columns: cols,
				BytesProcessed: n})
		}
		fmt.Fprintf(a.env.Stdout, "%s: conversion %s passes its checks (hash %s)\n", path,
			def.ID, contract.Hash(def.SQL))
		return printFields(a.env.Stdout, shapeFields(shape))
	})
	return cmd
}

// definition reads a client's definition, saying what to do when it
// does not exist.
func (a *app) definition(ctx context.Context, st *store.Store, client,
	id string) (store.Definition, error) {
	if err := request.CheckID("conversion id", id); err != nil {
		return store.Definition{}, usageError(err)
	}
	d, err := st.Definition(ctx, client, id)
	if errors.Is(err, store.ErrNotFound) {
		return d, fmt.Errorf("client %s has no conversion %s: list them with "+
			"ccctl conversion list --client %s", client, id, client)
	}
	return d, err
}

func (a *app) conversionListCmd() *cobra.Command {
	var client string
	cmd := &cobra.Command{
		Use:   "list --client CLIENT",
		Short: "List a client's conversions",
		Args:  args(),
	}
	clientFlag(cmd, &client)
	cmd.RunE = a.action(func(ctx context.Context, _ []string) error {
		ctx, cancel := a.bounded(ctx)
		defer cancel()
		st, c, err := a.client(ctx, client)
		if err != nil {
			return err
		}
		ds, err := st.Definitions(ctx, c.ID)
		if err != nil {
			return err
		}
		if a.json {
			if ds == nil {
				ds = []store.Definition{}
			}
			return a.printJSON(ds)
		}
		t := newTable(a.env.Stdout, "CONVERSION", "NAME", "ENABLED", "HASH", "UPDATED", "AUTHOR")
		for _, d := range ds {
			t.add(d.ID, d.Name, yesNo(d.Enabled), d.Hash, stamp(d.Updated), d.Author)
		}
		return t.flush()
	})
	return cmd
}

func (a *app) conversionShowCmd() *cobra.Command {
	var client string
	cmd := &cobra.Command{
		Use:   "show --client CLIENT CONVERSION",
		Short: "Show a conversion with its SQL",
		Args:  args("CONVERSION"),
	}
	clientFlag(cmd, &client)
	cmd.RunE = a.action(func(ctx context.Context, args []string) error {
		ctx, cancel := a.bounded(ctx)
		defer cancel()
		st, c, err := a.client(ctx, client)
		if err != nil {
			return err
		}
		d, err := a.definition(ctx, st, c.ID, args[0])
		if err != nil {
			return err
		}
		if a.json {
			return a.printJSON(d)
		}
		err = printFields(a.env.Stdout, []field{{"client", c.ID}, {"id", d.ID},
			{"name", d.Name}, {"enabled", fmt.Sprint(d.Enabled)}, {"hash", d.Hash},
			{"updated", stamp(d.Updated)}, {"author", d.Author}})
		if err != nil {
			return err
		}
		_, err = fmt.Fprintf(a.env.Stdout, "sql:\n%s\n", indent(d.SQL, "  "))
		return err
	})
	return cmd
}

func (a *app) disableCmd() *cobra.Command {
	var client, author string
	cmd := &cobra.Command{
		Use:   "disable --client CLIENT CONVERSION",
		Short: "Stop a conversion's scheduled runs",
		Long: `Set enabled to false on a conversion: scheduled runs and client-wide reruns
leave it out; a rerun or backfill that names it still runs it. Applying a
file with enabled: true enables it again, so change the file in git too.`,
		Args: args("CONVERSION"),
	}
	clientFlag(cmd, &client)
	authorFlag(cmd, &author)
	cmd.RunE = a.action(func(ctx context.Context, args []string) error {
		who, err := a.author(author)
		if err != nil {
			return err
		}
		ctx, cancel := a.bounded(ctx)
		defer cancel()
		st, c, err := a.client(ctx, client)
		if err != nil {
			return err
		}
		d, err := a.definition(ctx, st, c.ID, args[0])
		if err != nil {
			return err
		}
		changed := d.Enabled
		if changed {
			d.Enabled, d.Updated, d.Author = false, a.env.Now().UTC(), who
			if err := st.PutDefinition(ctx, c.ID, d); err != nil {
				return err
			}
		}
		if a.json {
			return a.printJSON(map[string]any{"changed": changed, "definition": d})
		}
		if !changed {
			fmt.Fprintf(a.env.Stdout, "conversion %s of client %s: no change (disabled already)\n",
				d.ID, c.ID)
			return nil
		}
		fmt.Fprintf(a.env.Stdout, "conversion %s of client %s disabled by %s\n", d.ID, c.ID, who)
		return nil
	})
	return cmd
}

// indent puts prefix before every line of s.
func indent(s, prefix string) string {
	return prefix + strings.ReplaceAll(strings.TrimRight(s, "\n"), "\n", "\n"+prefix)
}
