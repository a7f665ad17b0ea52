package main

import (
	"context"
	"errors"
	"fmt"
	"strings"

	"github.com/spf13/cobra"

	"customconversions.dev/shared/request"
	"customconversions.dev/shared/store"
)

func (a *app) clientCmd() *cobra.Command {
	cmd := &cobra.Command{
		Use:   "client",
		Short: "Create, show, list and update clients (clients/{client} in Firestore)",
		RunE:  a.group,
	}
	cmd.AddCommand(a.clientCreateCmd(), a.clientShowCmd(), a.clientListCmd(),
		a.clientUpdateCmd())
	return cmd
}

// clientFlags are the fields of a client that create and update set.
type clientFlags struct {
	name, plan, currency, timeZone, project, dataset string
	enabled                                          bool
}

func (f *clientFlags) register(cmd *cobra.Command) {
	fs := cmd.Flags()
	fs.StringVar(&f.name, "name", "", "display name (default the client id)")
	fs.StringVar(&f.plan, "plan", store.PlanEnterprise,
		"plan; only "+store.PlanEnterprise+" runs custom conversions, others are skipped")
	fs.StringVar(&f.currency, "currency", "",
		"ISO 4217 code given to conversions without one, such as GBP")
	fs.StringVar(&f.timeZone, "time-zone", "",
		"IANA time zone the client's days are counted in, such as Europe/London")
	fs.StringVar(&f.project, "bigquery-project", "",
		"Google Cloud project of the client's attribution dataset")
	fs.StringVar(&f.dataset, "dataset", "", "the client's attribution dataset")
	fs.BoolVar(&f.enabled, "enabled", true, "whether the client's conversions run")
}

// apply sets on c the fields whose flags changed says were given.
func (f *clientFlags) apply(c *store.Client, changed func(string) bool) {
	set := func(flag string, dst *string, v string) {
		if changed(flag) {
			*dst = strings.TrimSpace(v)
		}
	}
	set("name", &c.DisplayName, f.name)
	set("plan", &c.Plan, strings.ToLower(f.plan))
	set("currency", &c.Currency, strings.ToUpper(f.currency))
	set("time-zone", &c.TimeZone, f.timeZone)
	set("bigquery-project", &c.Project, f.project)
	set("dataset", &c.Dataset, f.dataset)
	if changed("enabled") {
		c.Enabled = f.enabled
	}
}

// clientFields lists c's fields under their Firestore names.
func clientFields(c store.Client) []field {
	return []field{
		{"id", c.ID},
		{"display_name", c.DisplayName},
		{"plan", c.Plan},
		{"bigquery_project", c.Project},
		{"attribution_dataset", c.Dataset},
		{"default_currency", c.Currency},
		{"time_zone", c.TimeZone},
		{"enabled", fmt.Sprint(c.Enabled)},
	}
}

// checkClient refuses a client that the functions could not use.
func checkClient(c store.Client) error {
	if err := c.Check(); err != nil {
		return usagef("refused, nothing written: %w", err)
	}
	return nil
}

// warnSkipped says when RunConversion will skip the runs of c.
func (a *app) warnSkipped(c store.Client) {
	switch {
	case !c.Enabled:
		fmt.Fprintf(a.env.Stderr, "ccctl: note: client %s is disabled: its runs will be "+
			"skipped until ccctl client update %s --enabled\n", c.ID, c.ID)
	case c.Plan != store.PlanEnterprise:
		fmt.Fprintf(a.env.Stderr, "ccctl: note: plan %q: the runs of client %s will be skipped; "+
			"only %s runs custom conversions\n", c.Plan, c.ID, store.PlanEnterprise)
	}
}

func (a *app) clientCreateCmd() *cobra.Command {
	var f clientFlags
	cmd := &cobra.Command{
		Use:   "create CLIENT",
		Short: "Create a client",
		Long: `Create a client document. The id becomes part of table names, job ids and
labels: 1 to 40 lowercase letters, digits, _ or -. The client is checked as
the functions check it (project and dataset names, currency, time zone)
before anything is written; an existing client is left alone (use update).`,
		Example: `  ccctl client create acme --name "Acme Ltd" --currency GBP \
    --time-zone Europe/London --bigquery-project acme-analytics --dataset attribution`,
		Args: args("CLIENT"),
	}
	f.register(cmd)
	for _, name := range []string{"currency", "time-zone", "bigquery-project", "dataset"} {
		if err := cmd.MarkFlagRequired(name); err != nil {
			panic(err) // the flag is registered just above
		}
	}
	cmd.RunE = a.action(func(ctx context.Context, args []string) error {
		id := args[0]
		if err := request.CheckID("client id", id); err != nil {
			return usageError(err)
		}
		c := store.Client{ID: id, DisplayName: id}
		f.apply(&c, func(name string) bool { return name != "name" || f.name != "" })
		if err := checkClient(c); err != nil {
			return err
		}

		ctx, cancel := a.bounded(ctx)
		defer cancel()
		st, err := a.store(ctx)
		if err != nil {
			return err
		}
		_, err = st.Client(ctx, id)
		switch {
		case err == nil:
			return fmt.Errorf("client %s exists already: change it with ccctl client update %s",
				id, id)
		case !errors.Is(err, store.ErrNotFound):
			return err
		}
		if err := st.PutClient(ctx, c); err != nil {
			return err
		}
		a.warnSkipped(c)
		if a.json {
			return a.printJSON(c)
		}
		fmt.Fprintf(a.env.Stdout, "client %s created\n", id)
		return printFields(a.env.Stdout, clientFields(c))
	})
	return cmd
}

func (a *app) clientUpdateCmd() *cobra.Command {
	var f clientFlags
	cmd := &cobra.Command{
		Use:   "update CLIENT",
		Short: "Change some fields of a client",
		Long: `Change the fields of a client whose flags are given, leaving the others as
they are. The result is checked as the functions check it before it is
written, and the changes are printed ("no change" when there are none).`,
		Example: `  ccctl client update acme --currency EUR
  ccctl client update acme --enabled=false`,
		Args: args("CLIENT"),
	}
	f.register(cmd)
	cmd.RunE = a.action(func(ctx context.Context, args []string) error {
		if cmd.Flags().NFlag() == 0 {
			return usagef("nothing to change: give at least one of --name, --plan, --currency, " +
				"--time-zone, --bigquery-project, --dataset, --enabled")
		}
		ctx, cancel := a.bounded(ctx)
		defer cancel()
		st, old, err := a.client(ctx, args[0])
		if err != nil {
			return err
		}
		c := old
		f.apply(&c, cmd.Flags().Changed)
		if err := checkClient(c); err != nil {
			return err
		}

		changes := fieldChanges(clientFields(old), clientFields(c))
		if len(changes) > 0 {
			if err := st.PutClient(ctx, c); err != nil {
				return err
			}
			a.warnSkipped(c)
		}
		if a.json {
			return a.printJSON(map[string]any{"client": c, "changes": changes})
		}
		if len(changes) == 0 {
			fmt.Fprintf(a.env.Stdout, "client %s: no change\n", c.ID)
			return nil
		}
		fmt.Fprintf(a.env.Stdout, "client %s updated\n", c.ID)
		return printChanges(a.env.Stdout, changes)
	})
	return cmd
}

// client opens the store and reads a client from it, saying what to do
// when the client does not exist. It returns the store for what the
// command does next.
func (a *app) client(ctx context.Context, id string) (*store.Store, store.Client, error) {
	st, err := a.store(ctx)
	if err != nil {
		return nil, store.Client{}, err
	}
	if err := request.CheckID("client id", id); err != nil {
		return nil, store.Client{}, usageError(err)
	}
	c, err := st.Client(ctx, id)
	if errors.Is(err, store.ErrNotFound) {
		return nil, store.Client{}, fmt.Errorf("no client %s in project %s: list them with "+
			"ccctl client list, or create it with ccctl client create", id, a.project)
	}
	return st, c, err
}

func (a *app) clientShowCmd() *cobra.Command {
	cmd := &cobra.Command{
		Use:   "show CLIENT",
		Short: "Show a client",
		Args:  args("CLIENT"),
	}
	cmd.RunE = a.action(func(ctx context.Context, args []string) error {
		ctx, cancel := a.bounded(ctx)
		defer cancel()
		_, c, err := a.client(ctx, args[0])
		if err != nil {
			return err
		}
		if a.json {
			return a.printJSON(c)
		}
		return printFields(a.env.Stdout, clientFields(c))
	})
	return cmd
}

func (a *app) clientListCmd() *cobra.Command {
	cmd := &cobra.Command{
		Use:   "list",
		Short: "List the clients",
		Args:  args(),
	}
	cmd.RunE = a.action(func(ctx context.Context, _ []string) error {
		ctx, cancel := a.bounded(ctx)
		defer cancel()
		st, err := a.store(ctx)
		if err != nil {
			return err
		}
		cs, err := st.Clients(ctx)
		if err != nil {
			return err
		}
		if a.json {
			if cs == nil {
				cs = []store.Client{}
			}
			return a.printJSON(cs)
		}
		t := newTable(a.env.Stdout, "CLIENT", "NAME", "PLAN", "CURRENCY", "TIME ZONE",
			"ATTRIBUTION DATASET", "ENABLED")
		for _, c := range cs {
			t.add(c.ID, c.DisplayName, c.Plan, c.Currency, c.TimeZone, c.Project+"."+c.Dataset,
				yesNo(c.Enabled))
		}
		return t.flush()
	})
	return cmd
}
