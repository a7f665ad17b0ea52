package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"strconv"
	"strings"
	"time"

	"customconversions.dev/shared/emulators"
)

// options is the command line, parsed.
type options struct {
	json       bool
	sizes      []int
	generate   string
	starts     int
	events     int
	runTimeout time.Duration
	oneClient  bool
	verbose    bool
}

func parseArgs(args []string, stderr io.Writer) (options, error) {
	var o options
	fs := flag.NewFlagSet("bench", flag.ContinueOnError)
	fs.SetOutput(stderr)
	fs.BoolVar(&o.json, "json", false, "print the figures as JSON instead of a table")
	sizes := fs.String("sizes", "1000,100000", "CRM table `sizes` to run the pipeline on, "+
		"smallest first")
	fs.StringVar(&o.generate, "generate", GenerateCTAS, "how to make the CRM table: "+
		GenerateCTAS+" (a CREATE TABLE AS query) or "+GenerateLoader+" (the crmfile loader)")
	fs.IntVar(&o.starts, "starts", 7, "starts of each function to take the median of")
	fs.IntVar(&o.events, "events", 1000, "events each function answers before its memory is read")
	fs.DurationVar(&o.runTimeout, "run-timeout", 150*time.Second, "longest wait for one run")
	fs.BoolVar(&o.oneClient, "one-client", false, "run every size for one client, so that "+
		"each run after the first merges over the rows of those before")
	fs.BoolVar(&o.verbose, "verbose", false, "pass the functions' and emulators' output to stderr")
	if err := fs.Parse(args); err != nil {
		return o, err
	}
	if fs.NArg() > 0 {
		return o, fmt.Errorf("unexpected arguments: %s", strings.Join(fs.Args(), " "))
	}
	last := 0
	for _, f := range strings.Split(*sizes, ",") {
		n, err := strconv.Atoi(strings.TrimSpace(f))
		if err != nil || n <= last {
			return o, fmt.Errorf("--sizes %q: want increasing numbers of rows, such as "+
				"1000,100000", *sizes)
		}
		o.sizes, last = append(o.sizes, n), n
	}
	switch {
	case o.generate != GenerateCTAS && o.generate != GenerateLoader:
		return o, fmt.Errorf("--generate %q: want %s or %s", o.generate, GenerateCTAS,
			GenerateLoader)
	case o.starts < 1 || o.events < 1:
		return o, errors.New("--starts and --events must be at least 1")
	case o.runTimeout <= 0:
		return o, errors.New("--run-timeout must be positive")
	}
	return o, nil
}

// Run runs the command with args (without the program name), writing
// the report to stdout and progress to stderr, and returns the exit
// code: 0 when every target was met, 1 when one was not or the
// benchmark failed, 2 for a bad command line.
func Run(ctx context.Context, args []string, stdout, stderr io.Writer) int {
	o, err := parseArgs(args, stderr)
	if errors.Is(err, flag.ErrHelp) {
		return 0
	}
	if err != nil {
		fmt.Fprintf(stderr, "bench: %v\n", err)
		return 2
	}
	r, err := bench(ctx, o, stderr)
	if err != nil {
		fmt.Fprintf(stderr, "bench: %v\n", err)
		if r == nil {
			return 1
		}
	}
	if o.json {
		err = r.writeJSON(stdout)
	} else {
		err = r.writeText(stdout)
	}
	if err != nil {
		fmt.Fprintf(stderr, "bench: %v\n", err)
		return 1
	}
	for _, t := range r.Targets {
		if t.Status != Met {
			return 1
		}
	}
	return 0
}

// bench starts the emulators, measures, and stops what it started. A
// part that fails is reported in the report; the others still run.
func bench(ctx context.Context, o options, log io.Writer) (*Report, error) {
	r := &Report{Machine: thisMachine(), Started: time.Now()}
	defer func() { r.Elapsed = Millis(time.Since(r.Started)) }()

	var out io.Writer
	if o.verbose {
		out = log
	}
	fmt.Fprintln(log, "bench: starting the emulators")
	stack, err := emulators.Start(ctx, emulators.Options{Log: log, Output: out})
	if err != nil {
		return nil, err
	}
	defer func() {
		if err := stack.Stop(); err != nil {
			fmt.Fprintf(log, "bench: stopping the emulators: %v\n", err)
		}
	}()
	dir, err := os.MkdirTemp("", "cc-bench-")
	if err != nil {
		return nil, err
	}
	defer os.RemoveAll(dir)

	r.Startup, err = measureStartups(ctx, stack, startupOptions{starts: o.starts,
		events: o.events, dir: dir, log: log})
	if err != nil {
		r.StartupErr = err.Error()
	}
	if ctx.Err() == nil {
		fmt.Fprintln(log, "bench: publishing the backfill")
		r.Backfill = measureBackfill(ctx, stack)
	}
	if ctx.Err() == nil {
		var timesOK bool
		r.Sizes, timesOK, err = runSizes(ctx, stack, runOptions{sizes: o.sizes,
			generate: o.generate, timeout: o.runTimeout, oneClient: o.oneClient, log: log,
			functionLog: out})
		if err != nil {
			r.RunsErr = err.Error()
		}
		if !timesOK {
			r.Notes = append(r.Notes, noteJobTimes)
		}
	}
	r.Targets = evaluate(r)
	return r, ctx.Err()
}
