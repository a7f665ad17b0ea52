// Package emulators starts and stops the local emulators that tests and
// the local stack run against: the Firestore and Pub/Sub emulators of the
// Google Cloud CLI and the BigQuery emulator (github.com/goccy/
// bigquery-emulator v0.6.6) built from scripts/bqemulator.
//
// Every emulator listens on a free port of 127.0.0.1 and runs in a process
// group of its own; Stack.Stop ends the whole group, since the Java
// servers outlive the gcloud wrapper that starts them. A small watchdog
// per emulator ends the group too when the owning process dies without
// calling Stop (a test binary killed on timeout). gcloud runs with a
// scratch configuration folder, an explicit project, and its update
// check, usage reporting and metadata server probe turned off. Clients
// made here name the emulator's endpoint and never look for credentials.
//
// Tests start the emulators once per package with Main and share them;
// NewNames gives each test names of its own.
//
// # Isolation
//
// The Firestore and Pub/Sub emulators take any project id and keep
// projects apart, so each test can have a project of its own there.
//
// The BigQuery emulator serves only the project given by its --project
// flag (Options.Project): any other project answers 404 "project ... is
// not found", even to list its datasets, and there is no API to add one.
// Datasets created through the API (Dataset.Create) work like any other:
// tables, streaming inserts, load jobs and queries. BigQuery isolation is
// therefore one dataset per test in the stack's project (Names.Dataset,
// NewDataset).
//
// # Deadlines
//
// The BigQuery emulator can fail a request in its handler (a 500 the
// client retries until its context ends): give every call a context with
// a deadline.
package emulators
