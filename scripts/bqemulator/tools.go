//go:build tools

// Package bqemulator pins the BigQuery emulator so that it builds from this
// small module of its own: the emulator needs cgo and clang, and the
// deployable module must not carry either.
package bqemulator

import _ "github.com/goccy/bigquery-emulator/cmd/bigquery-emulator"
