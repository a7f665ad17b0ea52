package main

import (
	"context"
	"encoding/json"
	"strings"
	"testing"

	"cloud.google.com/go/civil"

	"customconversions.dev/shared/request"
	"customconversions.dev/shared/store"
	"customconversions.dev/shared/warehouse"
)

// squash collapses each run of spaces in s to one, so that a test can
// look for "name: value" in aligned output.
func squash(s string) string {
	var lines []string
	for _, l := range strings.Split(s, "\n") {
		lines = append(lines, strings.Join(strings.Fields(l), " "))
	}
	return strings.Join(lines, "\n")
}

// putRun records a run of conversion for one day, created at created.
func putRun(t *testing.T, st *store.Store, client, conversion, day, created, state string,
	change func(*store.Run)) store.Run {
	t.Helper()
	d, err := civil.ParseDate(day)
	if err != nil {
		t.Fatal(err)
	}
	msg := "msg-" + conversion + "-" + day
	r := store.Run{
		ID:       warehouse.RunID(client, conversion, request.Window{Start: d, End: d}, msg),
		ClientID: client, ConversionID: conversion, DefinitionHash: "0123456789abcdef",
		WindowStart: day, WindowEnd: day, Trigger: "scheduled", MessageID: msg,
		State: state, Attempt: 1, Jobs: map[string]string{}, Created: ts(created),
	}
	if change != nil {
		change(&r)
	}
	if _, _, err := st.CreateRun(context.Background(), r); err != nil {
		t.Fatal(err)
	}
	return r
}

func TestRuns(t *testing.T) {
	c := newCLI(t)
	client := c.env.Client.ID
	st := c.env.Store
	done := putRun(t, st, client, "orders", "2026-03-01", "2026-03-02T06:00:00Z",
		store.StateSucceeded, func(r *store.Run) {
			r.Counts = store.Counts{Read: 120, Rejected: 3, Duplicates: 4, Inserted: 100,
				Updated: 13, RejectedByReason: map[string]int64{"currency_invalid": 2,
					"created_missing": 1}, RejectedSamples: []string{"o7", "o9"}}
			r.Jobs = map[string]string{"extract": "cc_job_extract", "merge": "cc_job_merge"}
			r.BytesProcessed = 2048
			r.SQL = "SELECT 1 AS created"
		})
	broken := putRun(t, st, client, "leads", "2026-03-02", "2026-03-03T06:00:00Z",
		store.StateFailed, func(r *store.Run) {
			r.Trigger, r.Reason = "manual", "CRM reload"
			r.Error = "contract: output does not fit the contract: column creatd is not in " +
				"the output contract (did you mean created? alias it: ... AS created)"
		})
	skipped := putRun(t, st, client, "orders", "2026-02-28", "2026-03-01T06:00:00Z",
		store.StateSkipped, func(r *store.Run) { r.Error = "client is disabled" })

	tests := []struct {
		name  string
		args  []string
		code  int
		order []string // run ids, in the order listed
		lines []string // lines of the output, spaces squashed
	}{
		{"list", []string{"runs", "list", "--client", client}, exitOK,
			[]string{broken.ID, done.ID, skipped.ID},
			[]string{
				"RUN CONVERSION STATE WINDOW TRIGGER CREATED READ REJECTED DUPLICATES INSERTED " +
					"UPDATED ERROR",
				done.ID + " orders succeeded 2026-03-01..2026-03-01 scheduled 2026-03-02 06:00:00Z " +
					"120 3 4 100 13 -",
				broken.ID + " leads failed 2026-03-02..2026-03-02 manual 2026-03-03 06:00:00Z " +
					"0 0 0 0 0 contract: output does not fit the contract: column creatd...",
			}},
		{"one conversion", []string{"runs", "list", "--client", client, "--conversion", "orders"},
			exitOK, []string{done.ID, skipped.ID}, nil},
		{"limited", []string{"runs", "list", "--client", client, "--limit", "1"}, exitOK,
			[]string{broken.ID}, nil},
		{"show", []string{"runs", "show", "--client", client, done.ID, "--sql"}, exitOK, nil,
			[]string{"run: " + done.ID, "state: succeeded", "message_id: msg-orders-2026-03-01",
				"reason: -", "read: 120", "rejected: 3", "created_missing: 1",
				"currency_invalid: 2", "rejected_samples: o7, o9", "duplicates: 4",
				"inserted: 100", "updated: 13", "bytes_processed: 2048",
				"job extract: cc_job_extract", "job merge: cc_job_merge", "error: -",
				"sql:", "SELECT 1 AS created"}},
		{"show a failed one", []string{"runs", "show", "--client", client, broken.ID}, exitOK, nil,
			[]string{"state: failed", "reason: CRM reload", "finished: -",
				"error: " + broken.Error}},
		{"show a missing one", []string{"runs", "show", "--client", client,
			"20260101-20260101-0000000000"}, exitFailed, nil, nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r := c.run(tt.args...)
			r.want(t, tt.code, nil)
			out := squash(r.stdout)
			for _, l := range tt.lines {
				if !strings.Contains("\n"+out+"\n", "\n"+l+"\n") {
					t.Errorf("output lacks the line %q:\n%s", l, r.stdout)
				}
			}
			if tt.order == nil {
				return
			}
			var listed []string
			for _, l := range strings.Split(out, "\n")[1:] {
				if f := strings.Fields(l); len(f) > 0 {
					listed = append(listed, f[0])
				}
			}
			if strings.Join(listed, " ") != strings.Join(tt.order, " ") {
				t.Errorf("listed %v; want %v", listed, tt.order)
			}
		})
	}

	r := c.run("--json", "runs", "list", "--client", client)
	var rs []store.Run
	if err := json.Unmarshal([]byte(r.stdout), &rs); err != nil || len(rs) != 3 {
		t.Fatalf("runs list --json = %d runs, %v; want 3\n%s", len(rs), err, r.stdout)
	}
	if rs[1].ID != done.ID || rs[1].Counts.RejectedByReason["currency_invalid"] != 2 ||
		rs[0].Error != broken.Error {
		t.Errorf("runs list --json = %+v; want %s second with 2 currency_invalid, %s first "+
			"with its error", rs, done.ID, broken.ID)
	}
}
