// Package events decodes the wire shapes the product's functions receive:
// Pub/Sub messagePublished events, and the Cloud Logging entries that
// BigQuery writes when a job finishes, in both audit log formats.
//
// The structs are the project's own; the published Go types for these
// events are not available from the module proxy. Every error this
// package returns describes input that can never be decoded, so a caller
// treats it as permanent: redelivering the same bytes cannot succeed.
package events
