package main

import (
	"context"
	"errors"
	"fmt"
	"sort"
	"strings"

	"github.com/spf13/cobra"

	"customconversions.dev/shared/request"
	"customconversions.dev/shared/store"
	"customconversions.dev/shared/warehouse"
)

// maxRuns bounds runs list --limit.
const maxRuns = 1000

func (a *app) runsCmd() *cobra.Command {
	cmd := &cobra.Command{
		Use:   "runs",
		Short: "List and show a client's runs",
		RunE:  a.group,
	}
	cmd.AddCommand(a.runsListCmd(), a.runsShowCmd())
	return cmd
}

func (a *app) runsListCmd() *cobra.Command {
	var client, conversion string
	var limit int
	cmd := &cobra.Command{
		Use:   "list --client CLIENT [--conversion ID] [--limit N]",
		Short: "List a client's runs, newest first",
		Long: `List a client's runs, newest first: state, window, trigger, row counts (read,
rejected, duplicates dropped, inserted, updated) and the error of a run
that failed or was skipped, cut short (runs show prints it whole).`,
		Args: args(),
	}
	clientFlag(cmd, &client)
	cmd.Flags().StringVar(&conversion, "conversion", "", "only this conversion's runs")
	cmd.Flags().IntVar(&limit, "limit", 20, fmt.Sprintf("runs to list, at most %d", maxRuns))
	cmd.RunE = a.action(func(ctx context.Context, _ []string) error {
		if limit < 1 || limit > maxRuns {
			return usagef("--limit %d: want 1 to %d", limit, maxRuns)
		}
		if conversion != "" {
			if err := request.CheckID("conversion id", conversion); err != nil {
				return usageError(err)
			}
		}
		ctx, cancel := a.bounded(ctx)
		defer cancel()
		st, c, err := a.client(ctx, client)
		if err != nil {
			return err
		}
		rs, err := st.Runs(ctx, c.ID, conversion, limit)
		if err != nil {
			return err
		}
		if a.json {
			if rs == nil {
				rs = []store.Run{}
			}
			return a.printJSON(rs)
		}
		t := newTable(a.env.Stdout, "RUN", "CONVERSION", "STATE", "WINDOW", "TRIGGER", "CREATED",
			"READ", "REJECTED", "DUPLICATES", "INSERTED", "UPDATED", "ERROR")
		for _, r := range rs {
			n := r.Counts
			t.add(r.ID, r.ConversionID, r.State, r.WindowStart+".."+r.WindowEnd, r.Trigger,
				stamp(r.Created), fmt.Sprint(n.Read), fmt.Sprint(n.Rejected),
				fmt.Sprint(n.Duplicates), fmt.Sprint(n.Inserted), fmt.Sprint(n.Updated),
				dash(clip(r.Error, 60)))
		}
		return t.flush()
	})
	return cmd
}

func (a *app) runsShowCmd() *cobra.Command {
	var client string
	var withSQL bool
	cmd := &cobra.Command{
		Use:   "show --client CLIENT RUN",
		Short: "Show a run in full",
		Long: `Show everything recorded on a run: what ran (definition hash, window,
trigger, message id, reason), its state and attempts, its BigQuery jobs and
staging table, the row counts with the rejected rows by reason and sample
ids, bytes processed, timings, and the whole error. --sql adds the SQL that
ran.`,
		Args: args("RUN"),
	}
	clientFlag(cmd, &client)
	cmd.Flags().BoolVar(&withSQL, "sql", false, "also print the SQL the run ran")
	cmd.RunE = a.action(func(ctx context.Context, args []string) error {
		id := args[0]
		if err := warehouse.CheckRunID(id); err != nil {
			return usagef("%w: copy one from ccctl runs list", err)
		}
		ctx, cancel := a.bounded(ctx)
		defer cancel()
		st, c, err := a.client(ctx, client)
		if err != nil {
			return err
		}
		r, err := st.Run(ctx, c.ID, id)
		if errors.Is(err, store.ErrNotFound) {
			return fmt.Errorf("client %s has no run %s: list them with ccctl runs list "+
				"--client %s", c.ID, id, c.ID)
		}
		if err != nil {
			return err
		}
		if a.json {
			if withSQL {
				return a.printJSON(struct {
					store.Run
					SQL string `json:"sql"`
				}{r, r.SQL})
			}
			return a.printJSON(r)
		}
		if err := printFields(a.env.Stdout, runFields(r)); err != nil {
			return err
		}
		if withSQL {
			_, err = fmt.Fprintf(a.env.Stdout, "sql:\n%s\n", indent(r.SQL, "  "))
		}
		return err
	})
	return cmd
}

// runFields lists everything recorded on r.
func runFields(r store.Run) []field {
	n := r.Counts
	fs := []field{
		{"run", r.ID},
		{"client", r.ClientID},
		{"conversion", r.ConversionID},
		{"state", r.State},
		{"window", r.WindowStart + ".." + r.WindowEnd},
		{"trigger", r.Trigger},
		{"reason", dash(r.Reason)},
		{"message_id", dash(r.MessageID)},
		{"definition_hash", dash(r.DefinitionHash)},
		{"attempt", fmt.Sprint(r.Attempt)},
		{"staging_table", dash(r.StagingTable)},
		{"created", stamp(r.Created)},
		{"extracted", stamp(r.Extracted)},
		{"finished", stamp(r.Finished)},
		{"bytes_processed", fmt.Sprint(r.BytesProcessed)},
		{"read", fmt.Sprint(n.Read)},
		{"rejected", fmt.Sprint(n.Rejected)},
	}
	for _, k := range sortedKeys(n.RejectedByReason) {
		fs = append(fs, field{"  " + k, fmt.Sprint(n.RejectedByReason[k])})
	}
	if len(n.RejectedSamples) > 0 {
		fs = append(fs, field{"rejected_samples", strings.Join(n.RejectedSamples, ", ")})
	}
	fs = append(fs,
		field{"duplicates", fmt.Sprint(n.Duplicates)},
		field{"ids_generated", fmt.Sprint(n.Generated)},
		field{"inserted", fmt.Sprint(n.Inserted)},
		field{"updated", fmt.Sprint(n.Updated)},
		field{"unchanged", fmt.Sprint(n.Unchanged)},
	)
	for _, step := range sortedKeys(r.Jobs) {
		fs = append(fs, field{"job " + step, r.Jobs[step]})
	}
	return append(fs, field{"error", dash(r.Error)})
}

func sortedKeys[V any](m map[string]V) []string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	return keys
}
