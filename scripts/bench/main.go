// Command bench measures the product against the design's targets on the
// local emulators, and prints one aligned table (or, with --json, the
// same figures as JSON).
//
// Usage:
//
//	go run ./scripts/bench [--json] [--sizes 1000,100000] [--starts 7]
//
// It starts its own Firestore, Pub/Sub and BigQuery emulators on
// 127.0.0.1 and measures, in this order, so that the runs' load on the
// emulators does not slow the rest:
//
//   - start-up against the floor: a bare functions-framework function
//     built from scripts/bench/floor, and each of the product's functions
//     built from scripts/serve, each started several times and timed from
//     exec to its first answered event (one that needs no I/O); then the
//     resident memory of each after --events such events;
//   - the publication of a backfill of a year for 50 conversions
//     (publish.Measure) on the Pub/Sub emulator;
//   - one run of the whole pipeline (scripts/pipeline) per --sizes table
//     of generated CRM rows in the reference definition's shape: its wall
//     time split by step, its BigQuery jobs and which of them read the
//     source, and the memory of both function processes after it.
//
// Each target row says met or MISSED; a note under the table says why a
// target was missed or could not be measured. Run it from inside the
// repository, on an otherwise idle machine: figures from a loaded one
// are slower. It stops everything it started when it ends, or on Ctrl-C.
package main

import (
	"context"
	"os"
	"os/signal"
	"syscall"
)

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	code := Run(ctx, os.Args[1:], os.Stdout, os.Stderr)
	stop()
	os.Exit(code)
}
