package main

import (
	"fmt"
	"slices"
	"strings"
	"time"

	"customconversions.dev/shared/store"
	"customconversions.dev/shared/warehouse"
)

// Target statuses.
const (
	Met         = "met"
	Missed      = "MISSED"
	NotMeasured = "not measured"
)

// The design's targets, as numbers.
const (
	// wantJobs are the steps of a run's jobs: one of each.
	startRatio     = 3.0
	memorySlack    = 32 << 20 // over the floor, after the events
	flatSlack      = 5 << 20  // VmHWM growth from the smallest to the largest run
	backfillTarget = 10 * time.Second
)

var wantJobs = []string{string(warehouse.StepCheck), string(warehouse.StepExtract),
	string(warehouse.StepSummary), string(warehouse.StepMerge)}

// Target is one of the design's targets, measured.
type Target struct {
	// ID names the target and the table row it belongs to.
	ID       string `json:"id"`
	Target   string `json:"target"`
	Measured string `json:"measured"`
	Status   string `json:"status"`
	// Why says, for a target missed or not measured, what happened.
	Why string `json:"why,omitempty"`
}

// Target ids; those per size or function end in /ROWS or /NAME.
const (
	idRun      = "run/"
	idCounts   = "counts/"
	idJobs     = "jobs/"
	idScans    = "scans/"
	idFlat     = "flat/"
	idStart    = "start/"
	idStartMem = "startmem/"
	idBackfill = "backfill"
)

// evaluate checks the report's figures against the design's targets.
func evaluate(r *Report) []Target {
	var ts []Target
	for _, s := range r.Sizes {
		ts = append(ts, runTargets(s, r.Sizes)...)
	}
	ts = append(ts, flatTargets(r.Sizes)...)
	ts = append(ts, startTargets(r.Startup)...)
	if r.Backfill != nil {
		ts = append(ts, backfillTargets(r.Backfill))
	}
	return ts
}

func sizeID(prefix string, rows int) string { return fmt.Sprintf("%s%d", prefix, rows) }

// runTargets checks one run: that it succeeded, counted the generated
// rows right, and ran the expected jobs, of which only the extraction
// scanned the source.
func runTargets(s *SizeRun, all []*SizeRun) []Target {
	run := Target{ID: sizeID(idRun, s.Rows), Target: "succeeded", Status: Met}
	counts := Target{ID: sizeID(idCounts, s.Rows), Target: countsString(s.Expect)}
	jobs := Target{ID: sizeID(idJobs, s.Rows),
		Target: fmt.Sprintf("%d: %s", len(wantJobs), strings.Join(wantJobs, ", "))}
	scans := Target{ID: sizeID(idScans, s.Rows), Target: "1: extract"}

	if !s.Finished() {
		run.Status, run.Measured = Missed, "not finished"
		if s.Run != nil {
			run.Measured = s.Run.State
		}
		run.Why = whyUnfinished(s, all)
		why := fmt.Sprintf("the %s-row run did not finish", thousands(int64(s.Rows)))
		for _, t := range []*Target{&counts, &jobs, &scans} {
			t.Status, t.Why = NotMeasured, why
		}
		return []Target{run, counts, jobs, scans}
	}
	run.Measured = s.Run.State

	c := s.Run.Counts
	got := Expect{Read: c.Read, Rejected: c.Rejected, Duplicates: c.Duplicates,
		Generated: c.Generated}
	counts.Measured, counts.Status = countsString(got), Met
	if got != s.Expect {
		counts.Status = Missed
		counts.Why = "the run's counts differ from what the generated table holds"
	}

	if s.JobsErr != "" {
		for _, t := range []*Target{&jobs, &scans} {
			t.Status, t.Why = NotMeasured, s.JobsErr
		}
		return []Target{run, counts, jobs, scans}
	}
	var steps, scanning []string
	for _, j := range s.Jobs {
		steps = append(steps, j.Step)
		if j.Source == Scan {
			scanning = append(scanning, j.Step)
		}
	}
	jobs.Measured = fmt.Sprintf("%d: %s", len(steps), strings.Join(steps, ", "))
	jobs.Status = Met
	if !sameSteps(steps, wantJobs) {
		jobs.Status = Missed
		jobs.Why = "the run's jobs are not one of each step: " + jobs.Measured
	}
	scans.Measured = fmt.Sprintf("%d: %s", len(scanning), strings.Join(scanning, ", "))
	scans.Status = Met
	if len(scanning) != 1 || scanning[0] != string(warehouse.StepExtract) {
		scans.Status = Missed
		scans.Why = "jobs other than the extraction read the source table's rows: " +
			scans.Measured
	}
	return []Target{run, counts, jobs, scans}
}

func countsString(e Expect) string {
	return fmt.Sprintf("%d/%d/%d/%d", e.Read, e.Rejected, e.Duplicates, e.Generated)
}

// sameSteps reports whether got holds the same steps as want, in any
// order.
func sameSteps(got, want []string) bool {
	g, w := slices.Clone(got), slices.Clone(want)
	slices.Sort(g)
	slices.Sort(w)
	return slices.Equal(g, w)
}

// whyUnfinished says why a run did not finish: where it stopped, how
// long it had been there, and how long that step took a smaller run that
// finished (and so would take this one, at the same rate a row).
func whyUnfinished(s *SizeRun, all []*SizeRun) string {
	why := []string{s.Err}
	if s.Run == nil {
		return s.Err
	}
	var since time.Time
	var step int
	switch s.Run.State {
	case store.StateExtracting:
		since, step = s.Run.Created, 1
	case store.StateMerging:
		since, step = s.Run.Extracted, 3
	default:
		return s.Err
	}
	if len(s.Failures) > 0 {
		why = append(why, fmt.Sprintf("the delivery failed %.1f s after the run was %s",
			s.Failures[0].At.Sub(since).Seconds(), stateSince(s.Run.State)))
	} else if !s.GaveUp.IsZero() {
		why = append(why, fmt.Sprintf("it was still %s %.0f s after it was %s", s.Run.State,
			s.GaveUp.Sub(since).Seconds(), stateSince(s.Run.State)))
	}
	for _, o := range all {
		if o == s || !o.Finished() || o.Rows >= s.Rows || len(o.Steps) <= step ||
			!o.Steps[step].Known {
			continue
		}
		took := time.Duration(o.Steps[step].Wall)
		perRow := took / time.Duration(o.Rows)
		why = append(why, fmt.Sprintf("the %s-row run's %q took %.1f s (%.2f ms a row): "+
			"at that rate %s rows need about %.0f s", thousands(int64(o.Rows)), stepNames[step],
			took.Seconds(), float64(perRow)/1e6, thousands(int64(s.Rows)),
			(perRow*time.Duration(s.Rows)).Seconds()))
		break
	}
	if s.Run.State == store.StateExtracting {
		why = append(why, "the emulator answers jobs.insert only once the query has run")
	}
	return strings.Join(why, "; ")
}

// stateSince says what happened to a run when it entered state.
func stateSince(state string) string {
	if state == store.StateMerging {
		return "handed to MergeConversion"
	}
	return "recorded"
}

// flatTargets checks that each function's peak memory after the largest
// run is within flatSlack of that after the smallest.
func flatTargets(sizes []*SizeRun) []Target {
	if len(sizes) < 2 {
		return nil
	}
	small, large := sizes[0], sizes[len(sizes)-1]
	var ts []Target
	for _, f := range functionNames {
		t := Target{ID: idFlat + f,
			Target: fmt.Sprintf("VmHWM flat: +%s at most", mib(flatSlack))}
		a, okA := small.Memory[f]
		b, okB := large.Memory[f]
		switch {
		case !okA || !okB:
			t.Status, t.Why = NotMeasured, "the function's memory could not be read"
		case !passed(small, f) || !passed(large, f):
			which := large
			if !passed(small, f) {
				which = small
			}
			t.Status = NotMeasured
			t.Why = fmt.Sprintf("%s never did its part of the %s-row run (%s)", f,
				thousands(int64(which.Rows)), partOf(f))
		default:
			t.Measured = "VmHWM " + signedMiB(b.HWM-a.HWM)
			t.Status = Met
			if b.HWM-a.HWM > flatSlack {
				t.Status = Missed
				t.Why = fmt.Sprintf("%s's peak memory grew from %s to %s between the %s-row and "+
					"the %s-row run: rows may pass through it", f, mib(a.HWM), mib(b.HWM),
					thousands(int64(small.Rows)), thousands(int64(large.Rows)))
			}
		}
		ts = append(ts, t)
	}
	return ts
}

// partOf says what function f's part of a run is.
func partOf(f string) string {
	if f == functionNames[0] {
		return "starting the extraction job"
	}
	return "summarising and merging the staged rows"
}

// passed reports whether a run got through function f's part: the
// extraction started for RunConversion, the summary ran for
// MergeConversion.
func passed(s *SizeRun, f string) bool {
	if s.Run == nil {
		return false
	}
	step := warehouse.StepExtract
	if f != functionNames[0] {
		step = warehouse.StepSummary
	}
	return s.Run.Jobs[string(step)] != ""
}

// startTargets checks each function's start-up time and memory against
// the floor's.
func startTargets(rs []*StartResult) []Target {
	var floor *StartResult
	for _, r := range rs {
		if r.Name == FloorName {
			floor = r
		}
	}
	var ts []Target
	for _, r := range rs {
		if r.Name == FloorName {
			continue
		}
		st := Target{ID: idStart + r.Name, Target: fmt.Sprintf("%.0fx the floor at most", startRatio)}
		mem := Target{ID: idStartMem + r.Name,
			Target: fmt.Sprintf("floor +%s at most", mib(memorySlack))}
		switch {
		case floor == nil || floor.Err != "" || len(floor.Starts) == 0:
			why := "the floor was not measured"
			if floor != nil && floor.Err != "" {
				why += ": " + floor.Err
			}
			st.Status, st.Why, mem.Status, mem.Why = NotMeasured, why, NotMeasured, why
		case r.Err != "" || len(r.Starts) == 0:
			st.Status, st.Why, mem.Status, mem.Why = NotMeasured, r.Err, NotMeasured, r.Err
		default:
			ratio := float64(r.Median) / float64(floor.Median)
			st.Measured, st.Status = fmt.Sprintf("%.1fx", ratio), Met
			if ratio > startRatio {
				st.Status = Missed
				st.Why = fmt.Sprintf("%s answered its first event in %s (median) against the "+
					"floor's %s; its package initialisers alone took %s (%s) against the "+
					"floor's %s", r.Name, msString(r.Median), msString(floor.Median),
					msString(r.Init), initList(r.InitTop), msString(floor.Init))
			}
			extra := r.Memory.RSS - floor.Memory.RSS
			mem.Measured, mem.Status = "VmRSS "+signedMiB(extra), Met
			if extra > memorySlack {
				mem.Status = Missed
				mem.Why = fmt.Sprintf("%s held %s after %d events against the floor's %s",
					r.Name, mib(r.Memory.RSS), r.Events, mib(floor.Memory.RSS))
			}
		}
		ts = append(ts, st, mem)
	}
	return ts
}

func initList(cs []InitCost) string {
	var parts []string
	for _, c := range cs {
		parts = append(parts, c.Package+" "+msString(c.Clock))
	}
	return "most in " + strings.Join(parts, ", ")
}

// backfillTargets checks the backfill publication.
func backfillTargets(b *Backfill) Target {
	t := Target{ID: idBackfill, Target: fmt.Sprintf("under %s, none failed", backfillTarget)}
	switch {
	case b.Err != "" && b.Published == 0:
		t.Status, t.Why = NotMeasured, b.Err
		return t
	case b.Err != "":
		t.Status, t.Why = Missed, b.Err
	}
	el := time.Duration(b.Elapsed)
	t.Measured = fmt.Sprintf("%.1f s", el.Seconds())
	if t.Status == "" {
		t.Status = Met
	}
	if el >= backfillTarget {
		t.Status = Missed
		t.Why = strings.TrimPrefix(t.Why+"; ", "; ") + fmt.Sprintf(
			"%d requests took %.1f s (%.0f a second)", b.Published, el.Seconds(), b.PerSecond)
	}
	return t
}
