package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"
	"time"

	"customconversions.dev/shared/crmfile"
	"customconversions.dev/shared/emulators"
)

// defaultFile is the CRM file loaded when --file is not given, and
// defaultSQL the definition run on it when --sql is not, relative to the
// repository root. defaultDay is the sample's last day: without --file
// and --day, the run covers it.
const (
	defaultFile = "testdata/crm/orders.ndjson"
	defaultSQL  = "testdata/sql/reference.sql"
	defaultDay  = "2024-03-07"
)

// config is the command line, parsed.
type config struct {
	file       string
	schema     string
	dataset    string
	table      string
	project    string
	location   *time.Location
	properties map[string]string
	noData     bool
	prepare    bool
	verbose    bool

	// The end-to-end run: the definition, the client, the days to run
	// (none: the scheduled request, yesterday), and whether to keep
	// serving afterwards.
	sql       string
	days      []string
	client    string
	currency  string
	clientTZ  string
	serve     bool
	stackOnly bool
}

// Run runs the command with args (without the program name) until ctx
// ends, writing what the user needs to stdout and progress and errors to
// stderr. It returns the exit code: 0 after a clean stop, 1 on failure, 2
// for a bad command line.
func Run(ctx context.Context, args []string, stdout, stderr io.Writer) int {
	cfg, err := parseArgs(args, stderr)
	if errors.Is(err, flag.ErrHelp) {
		return 0
	}
	if err != nil {
		fmt.Fprintf(stderr, "localstack: %v\n", err)
		return 2
	}
	opts := emulators.Options{Project: cfg.project, Log: stderr}
	if cfg.verbose {
		opts.Output = stderr
	}
	if cfg.prepare {
		if err := emulators.Prepare(ctx, opts); err != nil {
			fmt.Fprintf(stderr, "localstack: %v\n", err)
			return 1
		}
		fmt.Fprintln(stdout, "localstack: tools present, BigQuery emulator built")
		return 0
	}
	if err := run(ctx, cfg, opts, stdout, stderr); err != nil {
		fmt.Fprintf(stderr, "localstack: %v\n", err)
		return 1
	}
	return 0
}

func parseArgs(args []string, stderr io.Writer) (config, error) {
	fs := flag.NewFlagSet("localstack", flag.ContinueOnError)
	fs.SetOutput(stderr)
	var cfg config
	var table, tz, props string
	fs.StringVar(&cfg.file, "file", "", "CRM file to load, .csv or .ndjson/.jsonl/.json "+
		"(default: the repository's "+defaultFile+")")
	fs.StringVar(&cfg.schema, "schema", "", "schema file in bq's JSON format (default: inferred)")
	fs.StringVar(&table, "table", "crm.orders", "dataset.table to load the file into")
	fs.StringVar(&cfg.project, "project", emulators.DefaultProject,
		"project id the emulators serve")
	fs.StringVar(&tz, "tz", "UTC",
		"time zone of timestamps written without an offset, e.g. Europe/London")
	fs.StringVar(&props, "properties", "", "CSV only: fold columns into the properties column, "+
		"as COLUMN=KEY,COLUMN=KEY (e.g. Country=country)")
	fs.BoolVar(&cfg.noData, "no-data", false, "load no file")
	fs.BoolVar(&cfg.prepare, "prepare", false,
		"check the tools and build the BigQuery emulator, then exit")
	fs.BoolVar(&cfg.verbose, "verbose", false, "copy the emulators' and the functions' output to stderr")
	var days string
	fs.StringVar(&cfg.sql, "sql", "", "definition SQL file (default: the repository's "+defaultSQL+")")
	fs.StringVar(&days, "day", "", "day(s) to run, YYYY-MM-DD, comma-separated and run in order, as manual "+
		"reruns (default: the scheduled request, yesterday; without --file, "+defaultDay+")")
	fs.StringVar(&cfg.client, "client", "demo", "client id to create")
	fs.StringVar(&cfg.currency, "currency", "GBP", "the client's default currency")
	fs.StringVar(&cfg.clientTZ, "client-tz", "Europe/London", "the client's time zone")
	fs.BoolVar(&cfg.serve, "serve", false, "after the runs, keep the stack and both functions "+
		"running (for reruns with ccctl) until Ctrl-C")
	fs.BoolVar(&cfg.stackOnly, "stack-only", false, "start the emulators and load the file, run "+
		"nothing, and wait for Ctrl-C")
	if err := fs.Parse(args); err != nil {
		return cfg, err
	}
	if fs.NArg() > 0 {
		return cfg, fmt.Errorf("unexpected argument %q: every option is a flag (see -h)", fs.Arg(0))
	}

	var ok bool
	cfg.dataset, cfg.table, ok = strings.Cut(table, ".")
	if !ok || cfg.dataset == "" || cfg.table == "" {
		return cfg, fmt.Errorf("--table=%q: write it as dataset.table", table)
	}
	loc, err := time.LoadLocation(tz)
	if err != nil {
		return cfg, fmt.Errorf("--tz=%q: %w", tz, err)
	}
	cfg.location = loc
	if cfg.properties, err = parseProperties(props); err != nil {
		return cfg, err
	}
	if cfg.noData && (cfg.file != "" || cfg.schema != "") {
		return cfg, errors.New("--no-data loads nothing: drop --file and --schema")
	}
	if days != "" {
		for _, d := range strings.Split(days, ",") {
			d = strings.TrimSpace(d)
			if _, err := time.Parse(time.DateOnly, d); err != nil {
				return cfg, fmt.Errorf("--day=%q: write days as YYYY-MM-DD, separated by commas", d)
			}
			cfg.days = append(cfg.days, d)
		}
	} else if cfg.file == "" && !cfg.noData {
		cfg.days = []string{defaultDay}
	}
	return cfg, nil
}

// parseProperties reads COLUMN=KEY pairs separated by commas.
func parseProperties(s string) (map[string]string, error) {
	if s == "" {
		return nil, nil
	}
	m := map[string]string{}
	for _, pair := range strings.Split(s, ",") {
		col, key, ok := strings.Cut(strings.TrimSpace(pair), "=")
		if !ok || col == "" || key == "" {
			return nil, fmt.Errorf("--properties: %q is not COLUMN=KEY", pair)
		}
		m[col] = key
	}
	return m, nil
}

// run reads the file, starts the emulators, loads the file, prints the
// environment and waits for ctx to end, then stops the emulators.
func run(ctx context.Context, cfg config, opts emulators.Options,
	stdout, stderr io.Writer) error {
	data, err := readData(cfg)
	if err != nil {
		return err
	}

	start := time.Now()
	stack, err := emulators.Start(ctx, opts)
	if err != nil {
		return err
	}
	took := time.Since(start).Round(time.Millisecond)
	fmt.Fprintf(stderr, "localstack: emulators ready in %s\n", took)

	err = load(ctx, stack, cfg, data, stderr)
	if err == nil && cfg.stackOnly {
		printEnv(stdout, stack, cfg, data)
		<-ctx.Done()
		fmt.Fprintln(stderr, "localstack: stopping the emulators")
	} else if err == nil {
		err = endToEnd(ctx, stack, cfg, stdout, stderr)
	}
	return errors.Join(err, stack.Stop())
}

// readData parses the CRM file before anything starts, so that a bad file
// costs no emulator start. It returns nil under --no-data.
func readData(cfg config) (*crmfile.Data, error) {
	if cfg.noData {
		return nil, nil
	}
	path := cfg.file
	if path == "" {
		root, err := emulators.RepoRoot()
		if err != nil {
			return nil, err
		}
		path = filepath.Join(root, defaultFile)
	}
	opts := crmfile.Options{Location: cfg.location, Properties: cfg.properties}
	if cfg.schema != "" {
		s, err := crmfile.ReadSchemaFile(cfg.schema)
		if err != nil {
			return nil, err
		}
		opts.Schema = s
	}
	return crmfile.ReadFile(path, opts)
}

func load(ctx context.Context, stack *emulators.Stack, cfg config, data *crmfile.Data,
	stderr io.Writer) error {
	if data == nil {
		return nil
	}
	bq, err := stack.BigQuery(ctx)
	if err != nil {
		return err
	}
	defer bq.Close()
	start := time.Now()
	l := &crmfile.Loader{Client: bq}
	if err := l.Load(ctx, cfg.dataset, cfg.table, data); err != nil {
		return err
	}
	fmt.Fprintf(stderr, "localstack: loaded %d rows of %s into %s.%s in %s\n", len(data.Rows),
		data.File, cfg.dataset, cfg.table, time.Since(start).Round(time.Millisecond))
	return nil
}

func printEnv(w io.Writer, stack *emulators.Stack, cfg config, data *crmfile.Data) {
	fmt.Fprintln(w, "# The local stack is running. In another shell:")
	for _, kv := range stack.Env() {
		fmt.Fprintf(w, "export %s\n", kv)
	}
	if data != nil {
		fmt.Fprintf(w, "# CRM table: `%s.%s.%s` (%d rows)\n", stack.Project(), cfg.dataset, cfg.table,
			len(data.Rows))
	}
	fmt.Fprintf(w, "# Stop it with Ctrl-C here, or: kill %d\n", os.Getpid())
}
