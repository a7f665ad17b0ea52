// Command localstack starts the local stack: the Firestore, Pub/Sub and
// BigQuery emulators on free ports of 127.0.0.1, with a CRM table loaded
// into BigQuery. It prints the environment to export, then waits for
// Ctrl-C or SIGTERM and stops everything it started.
//
// Usage:
//
//	go run ./scripts/localstack [flags]
//
// Without --file it loads testdata/crm/orders.ndjson, the reference
// definition's table, into crm.orders. Run it from inside the
// repository. --prepare checks the tools and builds the BigQuery emulator
// (15-25 minutes the first time) without starting anything.
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
