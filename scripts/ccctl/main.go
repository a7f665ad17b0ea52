// Command ccctl is the operator command line of custom conversions. It
// creates and updates clients, checks conversion definitions kept in git
// against BigQuery and applies them to Firestore, previews a definition's
// rows, publishes reruns and backfills to the run-requests topic, and
// shows the run history.
//
// Usage:
//
//	go run ./scripts/ccctl --help
//
// It reads GOOGLE_CLOUD_PROJECT, FIRESTORE_EMULATOR_HOST,
// PUBSUB_EMULATOR_HOST, BIGQUERY_EMULATOR_HOST and the product's CC_*
// variables. Exit codes: 0 ok, 1 the operation failed, 2 usage error,
// 3 a check of the SQL failed.
package main

import (
	"context"
	"os"
	"os/signal"
	"syscall"
)

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	code := Run(ctx, os.Args[1:], Env{
		Stdout:   os.Stdout,
		Stderr:   os.Stderr,
		Getenv:   os.Getenv,
		Progress: isTerminal(os.Stderr),
	})
	stop()
	os.Exit(code)
}

// isTerminal reports whether f is a terminal, where a progress bar reads
// well; in a pipe or a log it would be noise.
func isTerminal(f *os.File) bool {
	fi, err := f.Stat()
	return err == nil && fi.Mode()&os.ModeCharDevice != 0
}
