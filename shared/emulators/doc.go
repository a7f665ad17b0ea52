// Package emulators starts and stops the local emulators that tests and
// the local stack run against: the Firestore and Pub/Sub emulators of the
// Google Cloud CLI and the BigQuery emulator built from
// scripts/bqemulator.
//
// Every emulator listens on a free port of 127.0.0.1 and runs in a process
// group of its own; Stack.Stop ends the whole group, since the Java
// servers outlive the gcloud wrapper that starts them. Clients made here
// name the emulator's endpoint and never look for credentials.
package emulators
