package main

import (
	"context"
	"errors"
	"fmt"
	"regexp"
	"sort"
	"strings"
	"time"

	"cloud.google.com/go/bigquery"
	"google.golang.org/api/iterator"

	"customconversions.dev/shared/warehouse"
)

// Job is one BigQuery job of a run, as the emulator recorded it.
type Job struct {
	ID   string `json:"id"`
	Step string `json:"step"`
	// Created, Started and Ended are the job's statistics; zero when
	// the emulator's figures cannot be times (see runJobs).
	Created time.Time `json:"created,omitzero"`
	Started time.Time `json:"started,omitzero"`
	Ended   time.Time `json:"ended,omitzero"`
	DryRun  bool      `json:"dry_run,omitempty"`
	Error   string    `json:"error,omitempty"`
	// Tables lists the roles of the tables its SQL names (see roles).
	Tables []string `json:"tables"`
	// Source says how the job touches the source table (see touch).
	Source Touch  `json:"source"`
	SQL    string `json:"sql"`
}

// Touch says how a job's SQL touches the run's source table.
type Touch string

// How a job can touch the source table.
const (
	// NoTouch: its SQL does not name the source table.
	NoTouch Touch = "no"
	// Probe: its SQL names the source table but reads no row of it: a
	// dry run, or a query ending in LIMIT 0 (the emulator's stand-in for
	// the dry run, which scans nothing in production).
	Probe Touch = "probe"
	// Scan: its SQL reads the source table's rows.
	Scan Touch = "scan"
)

// Duration returns how long the job ran, or 0 when that is not known.
func (j Job) Duration() time.Duration {
	if j.Started.IsZero() || j.Ended.IsZero() {
		return 0
	}
	return j.Ended.Sub(j.Started)
}

// Roles name the tables a run's jobs may read, by role: each value is
// the table as dataset.table.
type Roles map[string]string

// The roles of the tables a run touches, in the order jobs list them.
const (
	RoleSource      = "source"
	RoleStaging     = "staging"
	RoleAttribution = "attribution"
	RoleRejected    = "rejected"
)

var roleOrder = []string{RoleSource, RoleStaging, RoleAttribution, RoleRejected}

// names reports whether sql names the table dataset.table, quoted or
// not, with or without a project in front.
func names(sql, table string) bool {
	if table == "" {
		return false
	}
	re := regexp.MustCompile(`(?i)(^|[^\w.-])([\w:-]+\.)?` + regexp.QuoteMeta(table) + `($|[^\w-])`)
	return re.MatchString(strings.ReplaceAll(sql, "`", ""))
}

// limitZero matches a query that returns no row: it ends in LIMIT 0.
var limitZero = regexp.MustCompile(`(?i)\bLIMIT\s+0\s*;?\s*$`)

// classify returns the roles of the tables sql names and how it touches
// the source table.
func classify(sql string, dryRun bool, roles Roles) ([]string, Touch) {
	var tables []string
	for _, r := range roleOrder {
		if names(sql, roles[r]) {
			tables = append(tables, r)
		}
	}
	switch {
	case !names(sql, roles[RoleSource]):
		return tables, NoTouch
	case dryRun || limitZero.MatchString(sql):
		return tables, Probe
	}
	return tables, Scan
}

// listJobs reads every job on the emulator and returns the product's
// jobs grouped by their run label. The emulator's job list leaves out
// each job's configuration, labels included, so each job is read on its
// own.
func listJobs(ctx context.Context, bq *bigquery.Client) (map[string][]*bigquery.Job, error) {
	ctx, cancel := context.WithTimeout(ctx, time.Minute)
	defer cancel()
	it := bq.Jobs(ctx)
	it.AllUsers = true
	byRun := map[string][]*bigquery.Job{}
	for {
		j, err := it.Next()
		if errors.Is(err, iterator.Done) {
			return byRun, nil
		}
		if err != nil {
			return nil, fmt.Errorf("listing jobs: %w", err)
		}
		full, err := bq.JobFromID(ctx, j.ID())
		if err != nil {
			return nil, fmt.Errorf("reading job %s: %w", j.ID(), err)
		}
		cfg, err := full.Config()
		if err != nil {
			continue
		}
		q, ok := cfg.(*bigquery.QueryConfig)
		if !ok || q.Labels[warehouse.LabelProduct] != warehouse.Product {
			continue
		}
		run := q.Labels[warehouse.LabelRun]
		byRun[run] = append(byRun[run], full)
	}
}

// runJobs describes the jobs of one run, in the order of their steps.
// It reports false when the emulator's job times are not times: v0.6.6
// writes Unix seconds where the API has milliseconds, which the client
// reads as dates in January 1970. Those are left out.
func runJobs(jobs []*bigquery.Job, roles Roles) ([]Job, bool) {
	var out []Job
	timesOK := true
	for _, j := range jobs {
		cfg, err := j.Config()
		if err != nil {
			continue
		}
		q := cfg.(*bigquery.QueryConfig)
		job := Job{ID: j.ID(), Step: q.Labels[warehouse.LabelStep], DryRun: q.DryRun, SQL: q.Q}
		job.Tables, job.Source = classify(q.Q, q.DryRun, roles)
		if st := j.LastStatus(); st != nil {
			if err := st.Err(); err != nil {
				job.Error = err.Error()
			}
			if s := st.Statistics; s != nil {
				if plausible(s.CreationTime) && plausible(s.EndTime) {
					job.Created, job.Started, job.Ended = s.CreationTime, s.StartTime, s.EndTime
				} else {
					timesOK = false
				}
			}
		}
		out = append(out, job)
	}
	sort.Slice(out, func(a, b int) bool {
		ra, rb := stepRank(out[a].Step), stepRank(out[b].Step)
		return ra < rb || ra == rb && out[a].ID < out[b].ID
	})
	return out, timesOK
}

// plausible reports whether t can be a job's time: this century's.
func plausible(t time.Time) bool { return t.Year() >= 2000 }

// stepRank orders a run's steps as they run; unknown steps go last.
func stepRank(step string) int {
	for i, s := range []warehouse.Step{warehouse.StepCheck, warehouse.StepExtract,
		warehouse.StepSummary, warehouse.StepMerge, warehouse.StepReject} {
		if step == string(s) {
			return i
		}
	}
	return 99
}
