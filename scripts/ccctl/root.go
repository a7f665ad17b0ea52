package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"strings"
	"time"

	"cloud.google.com/go/pubsub/v2"
	"github.com/spf13/cobra"

	"customconversions.dev/shared/config"
	"customconversions.dev/shared/store"
	"customconversions.dev/shared/warehouse"
)

// Env is what ccctl reads and writes besides its arguments.
type Env struct {
	Stdout, Stderr io.Writer
	// Getenv reads the environment: os.Getenv in the command.
	Getenv func(string) string
	// Now is the clock; time.Now when nil.
	Now func() time.Time
	// Progress shows progress bars on Stderr; set it when Stderr is a
	// terminal.
	Progress bool
}

// app is one invocation: its global flags and the clients it opened.
type app struct {
	env Env

	project     string
	jobsProject string
	json        bool
	timeout     time.Duration

	st *store.Store
	wh *warehouse.Warehouse
	ps *pubsub.Client
}

// Run runs ccctl with args (without the program name) and returns the
// exit code: exitOK, exitFailed, exitUsage or exitCheck.
func Run(ctx context.Context, args []string, env Env) int {
	if env.Now == nil {
		env.Now = time.Now
	}
	a := &app{env: env}
	defer a.close()

	root := a.root()
	root.SetArgs(args)
	cmd, err := root.ExecuteContextC(ctx)
	code := exitCode(err)
	if err != nil {
		fmt.Fprintf(env.Stderr, "ccctl: %v\n", err)
	}
	if code == exitUsage {
		fmt.Fprintf(env.Stderr, "Run '%s --help' for usage.\n", cmd.CommandPath())
	}
	return code
}

func (a *app) root() *cobra.Command {
	root := &cobra.Command{
		Use:   "ccctl",
		Short: "Operate custom conversions: clients, definitions, reruns, backfills, runs",
		Long: `ccctl is the operator command line of custom conversions.

It works against a real project or the local stack. The project comes
from --project or GOOGLE_CLOUD_PROJECT; the Google Cloud libraries talk to
the emulators named by FIRESTORE_EMULATOR_HOST, PUBSUB_EMULATOR_HOST and
BIGQUERY_EMULATOR_HOST when they are set (the local stack prints them),
and to Google Cloud with your application default credentials otherwise.
CC_BIGQUERY_LOCATION sets the location of the BigQuery jobs it starts.`,
		SilenceErrors: true,
		SilenceUsage:  true,
		RunE:          a.group,
	}
	root.SetOut(a.env.Stdout)
	root.SetErr(a.env.Stderr)
	root.SetFlagErrorFunc(func(_ *cobra.Command, err error) error { return usageError(err) })
	root.SetUsageTemplate(root.UsageTemplate() + exitCodes)

	f := root.PersistentFlags()
	f.StringVar(&a.project, "project", a.env.Getenv(config.EnvProject),
		"Google Cloud project holding Firestore and the run-requests topic; "+
			"$"+config.EnvProject+" when not given")
	f.StringVar(&a.jobsProject, "jobs-project", "",
		"project the BigQuery checks and previews run in and are billed to; --project when "+
			"not given")
	f.BoolVar(&a.json, "json", false, "print JSON instead of tables")
	f.DurationVar(&a.timeout, "timeout", 2*time.Minute,
		"give up on the command's calls to Google Cloud after this long (not counting --wait)")

	root.AddCommand(a.clientCmd(), a.conversionCmd(), a.rerunCmd(), a.backfillCmd(), a.runsCmd())
	return root
}

// group is the RunE of a command that only holds subcommands.
func (a *app) group(cmd *cobra.Command, args []string) error {
	if len(args) > 0 {
		return usagef("unknown command %q for %q", args[0], cmd.CommandPath())
	}
	var names []string
	for _, c := range cmd.Commands() {
		if c.IsAvailableCommand() {
			names = append(names, c.Name())
		}
	}
	return usagef("%s needs a command: %s", cmd.CommandPath(), strings.Join(names, ", "))
}

// action adapts fn to cobra: fn gets the command's context, and an error
// it returns without an exit code gets exitFailed.
func (a *app) action(fn func(ctx context.Context, args []string) error) func(*cobra.Command,
	[]string) error {
	return func(cmd *cobra.Command, args []string) error {
		return failed(fn(cmd.Context(), args))
	}
}

// args checks that a command got exactly the named positional arguments.
func args(names ...string) cobra.PositionalArgs {
	return func(cmd *cobra.Command, got []string) error {
		if len(got) == len(names) {
			return nil
		}
		if len(got) < len(names) {
			return usagef("%s needs %s", cmd.CommandPath(), strings.Join(names[len(got):], " and "))
		}
		return usagef("%s takes %d argument(s), not %d: %q", cmd.CommandPath(), len(names),
			len(got), got)
	}
}

// bounded returns ctx limited to --timeout.
func (a *app) bounded(ctx context.Context) (context.Context, context.CancelFunc) {
	return context.WithTimeout(ctx, a.timeout)
}

func (a *app) needProject() error {
	if a.project == "" {
		return usagef("no project: pass --project or set %s", config.EnvProject)
	}
	return nil
}

// store returns the Firestore store of --project, opening it once.
func (a *app) store(ctx context.Context) (*store.Store, error) {
	if a.st != nil {
		return a.st, nil
	}
	if err := a.needProject(); err != nil {
		return nil, err
	}
	st, err := store.New(ctx, a.project)
	if err != nil {
		return nil, err
	}
	a.st = st
	return st, nil
}

// warehouse returns the BigQuery runner of --jobs-project, configured
// from the environment as the functions are, opening it once.
func (a *app) warehouse(ctx context.Context) (*warehouse.Warehouse, error) {
	if a.wh != nil {
		return a.wh, nil
	}
	if err := a.needProject(); err != nil {
		return nil, err
	}
	jobs := a.jobsProject
	if jobs == "" {
		jobs = a.project
	}
	cfg, err := config.Parse(func(k string) string {
		if k == config.EnvProject {
			return jobs
		}
		return a.env.Getenv(k)
	})
	if err != nil {
		return nil, usageError(err)
	}
	wh, err := warehouse.New(ctx, cfg)
	if err != nil {
		return nil, err
	}
	a.wh = wh
	return wh, nil
}

// pubsub returns a Pub/Sub client of --project, opening it once.
func (a *app) pubsub(ctx context.Context) (*pubsub.Client, error) {
	if a.ps != nil {
		return a.ps, nil
	}
	if err := a.needProject(); err != nil {
		return nil, err
	}
	ps, err := pubsub.NewClient(ctx, a.project)
	if err != nil {
		return nil, fmt.Errorf("pubsub: %w", err)
	}
	a.ps = ps
	return ps, nil
}

func (a *app) close() {
	var errs []error
	if a.st != nil {
		errs = append(errs, a.st.Close())
	}
	if a.wh != nil {
		errs = append(errs, a.wh.Close())
	}
	if a.ps != nil {
		errs = append(errs, a.ps.Close())
	}
	if err := errors.Join(errs...); err != nil {
		fmt.Fprintf(a.env.Stderr, "ccctl: closing: %v\n", err)
	}
}
