// Package reliability is the product's reliability and hostile-input
// suite: at-least-once delivery, faults mid-run, emulator restarts,
// concurrent runs, malformed and hostile input, and isolation between
// clients, run against the local emulators. It holds tests only; see
// README.md for what it covers and the figures of its last run.
package reliability
