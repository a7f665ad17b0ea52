package main

import (
	"encoding/json"
	"fmt"
	"io"
	"slices"
	"strconv"
	"strings"
	"text/tabwriter"
	"time"
)

// Report is everything one benchmark run measured.
type Report struct {
	Machine Machine   `json:"machine"`
	Started time.Time `json:"started"`
	Elapsed Millis    `json:"elapsed_ms"`
	// Sizes are the pipeline's runs, smallest first.
	Sizes   []*SizeRun `json:"runs"`
	RunsErr string     `json:"runs_error,omitempty"`
	// Startup holds the floor first, then the product's functions.
	Startup    []*StartResult `json:"startup"`
	StartupErr string         `json:"startup_error,omitempty"`
	Backfill   *Backfill      `json:"backfill,omitempty"`
	Targets    []Target       `json:"targets"`
	// Notes are what the benchmark found wrong with its tools.
	Notes []string `json:"notes,omitempty"`
}

// noteJobTimes is the note for job statistics that are not times.
const noteJobTimes = "The BigQuery emulator (v0.6.6) writes job times in Unix seconds where " +
	"the API has milliseconds, so they are left out, and the jobs within one function " +
	"are not timed apart."

// writeJSON writes the report as indented JSON.
func (r *Report) writeJSON(w io.Writer) error {
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	return enc.Encode(r)
}

// table is an aligned table: rows of cells, each column as wide as its
// widest cell.
type table struct {
	width int // cells per row
	rows  [][]string
}

func (t *table) row(cells ...string) {
	for len(cells) < t.width {
		cells = append(cells, "")
	}
	t.rows = append(t.rows, cells)
}

// write writes the table with every column aligned over all rows, and
// no trailing blanks.
func (t *table) write(w io.Writer) error {
	var b strings.Builder
	tw := tabwriter.NewWriter(&b, 0, 4, 2, ' ', 0)
	for _, r := range t.rows {
		fmt.Fprintln(tw, strings.Join(r, "\t")+"\t")
	}
	if err := tw.Flush(); err != nil {
		return err
	}
	for _, line := range strings.Split(strings.TrimSuffix(b.String(), "\n"), "\n") {
		if _, err := io.WriteString(w, strings.TrimRight(line, " ")+"\n"); err != nil {
			return err
		}
	}
	return nil
}

// notes numbers the reasons for targets not met, for the table to refer
// to.
type notes struct{ lines []string }

// status returns t's status, with a reference to its reason if it has one.
func (n *notes) status(t Target, label string) string {
	if t.Status == Met || t.Why == "" {
		return t.Status
	}
	n.lines = append(n.lines, label+": "+t.Why)
	return fmt.Sprintf("%s [%d]", t.Status, len(n.lines))
}

// writeText writes the report as one aligned table, with the machine
// above it and the reasons for targets not met below.
func (r *Report) writeText(w io.Writer) error {
	m := r.Machine
	fmt.Fprintf(w, "custom conversions benchmark, %s, took %s\n",
		r.Started.UTC().Format("2006-01-02 15:04 MST"), time.Duration(r.Elapsed).Round(time.Second))
	fmt.Fprintf(w, "machine: %d CPUs, %s, %s %s, load average %s at start\n",
		m.CPUs, m.CPUModel, m.Go, m.Platform, m.LoadAvg)
	fmt.Fprintln(w, "emulators: Firestore and Pub/Sub from the Google Cloud CLI, "+
		"BigQuery from goccy/bigquery-emulator v0.6.6, all on 127.0.0.1")
	fmt.Fprintln(w)

	targets := map[string]Target{}
	for _, t := range r.Targets {
		targets[t.ID] = t
	}
	cols := max(len(r.Sizes), 2)
	t := &table{width: cols + 3}
	n := &notes{}
	head := []string{"MEASURE"}
	for i := range cols {
		h := ""
		if i < len(r.Sizes) {
			h = thousands(int64(r.Sizes[i].Rows)) + " ROWS"
		}
		head = append(head, h)
	}
	t.row(append(head, "TARGET", "STATUS")...)

	r.runRows(t, n, targets, cols)
	r.jobRows(t, n, targets, cols)
	r.memoryRows(t, n, targets, cols)
	r.startRows(t, n, targets, cols)
	r.backfillRows(t, n, targets, cols)
	if err := t.write(w); err != nil {
		return err
	}

	fmt.Fprintln(w)
	fmt.Fprintln(w, "Each step runs from the end of the one before. The emulator runs a "+
		"job inside jobs.insert, so the extraction job has run when RunConversion logs that "+
		"it started it. Counts are read/rejected/duplicates/ids generated. A job scans the "+
		"source when it reads the CRM table's rows; a probe names the table but reads no row "+
		"(the emulator's LIMIT 0 stand-in for production's dry run).")
	for _, note := range r.Notes {
		fmt.Fprintln(w, note)
	}
	for _, e := range []string{r.RunsErr, r.StartupErr} {
		if e != "" {
			fmt.Fprintf(w, "error: %s\n", e)
		}
	}
	for i, l := range n.lines {
		fmt.Fprintf(w, "[%d] %s\n", i+1, l)
	}
	return nil
}

// perSize returns one cell per size column, from f.
func (r *Report) perSize(cols int, f func(*SizeRun) string) []string {
	cells := make([]string, cols)
	for i, s := range r.Sizes {
		cells[i] = f(s)
	}
	return cells
}

// sizeTargets returns the target and status cells of a per-size target.
func (r *Report) sizeTargets(n *notes, targets map[string]Target, prefix,
	label string) (string, string) {
	var want, status []string
	for _, s := range r.Sizes {
		t, ok := targets[sizeID(prefix, s.Rows)]
		if !ok {
			continue
		}
		if !slices.Contains(want, t.Target) {
			want = append(want, t.Target)
		}
		status = append(status, n.status(t, fmt.Sprintf("%s, %s rows", label,
			thousands(int64(s.Rows)))))
	}
	if allSame(status) && len(status) > 0 {
		status = status[:1]
	}
	return strings.Join(want, " / "), strings.Join(status, " / ")
}

func (r *Report) runRows(t *table, n *notes, targets map[string]Target, cols int) {
	t.row("1. run wall time by step (ms)")
	gen := "  CRM table generated"
	if len(r.Sizes) > 0 {
		gen += " (" + r.Sizes[0].Generate + ")"
	}
	t.row(append([]string{gen}, r.perSize(cols, func(s *SizeRun) string {
		if s.Generated == 0 {
			return "-"
		}
		return thousands(time.Duration(s.Generated).Milliseconds())
	})...)...)
	for i, name := range stepNames {
		cells := r.perSize(cols, func(s *SizeRun) string {
			if i >= len(s.Steps) || !s.Steps[i].Known {
				return "-"
			}
			return thousands(time.Duration(s.Steps[i].Wall).Milliseconds())
		})
		t.row(append([]string{"  " + name}, cells...)...)
	}
	want, status := r.sizeTargets(n, targets, idRun, "run")
	t.row(append(append([]string{"  run state"}, r.perSize(cols, func(s *SizeRun) string {
		if s.Run == nil {
			return "no run"
		}
		return s.Run.State
	})...), want, status)...)
	_, status = r.sizeTargets(n, targets, idCounts, "counts")
	t.row(append(append([]string{"  counts"}, r.perSize(cols, func(s *SizeRun) string {
		if s.Run == nil || !s.Finished() {
			return "-"
		}
		c := s.Run.Counts
		return countsString(Expect{c.Read, c.Rejected, c.Duplicates, c.Generated})
	})...), "as generated", status)...)
}

func (r *Report) jobRows(t *table, n *notes, targets map[string]Target, cols int) {
	t.row("2. BigQuery jobs per run")
	want, status := r.sizeTargets(n, targets, idJobs, "jobs")
	t.row(append(append([]string{"  jobs"}, r.perSize(cols, func(s *SizeRun) string {
		if s.JobsErr != "" || !s.Finished() {
			return "-"
		}
		return strconv.Itoa(len(s.Jobs))
	})...), want, status)...)
	steps := append([]string(nil), wantJobs...)
	for _, s := range r.Sizes {
		for _, j := range s.Jobs {
			if !slices.Contains(steps, j.Step) {
				steps = append(steps, j.Step)
			}
		}
	}
	for _, step := range steps {
		t.row(append([]string{"    " + step}, r.perSize(cols, func(s *SizeRun) string {
			var cells []string
			for _, j := range s.Jobs {
				if j.Step == step {
					cells = append(cells, jobCell(j))
				}
			}
			if len(cells) == 0 {
				return "-"
			}
			return strings.Join(cells, "; ")
		})...)...)
	}
	want, status = r.sizeTargets(n, targets, idScans, "source scans")
	t.row(append(append([]string{"  jobs scanning the source"},
		r.perSize(cols, func(s *SizeRun) string {
			if s.JobsErr != "" || len(s.Jobs) == 0 {
				return "-"
			}
			k := 0
			for _, j := range s.Jobs {
				if j.Source == Scan {
					k++
				}
			}
			return strconv.Itoa(k)
		})...), want, status)...)
}

// jobCell describes a job in a cell: how it touches the source, and how
// long it ran.
func jobCell(j Job) string {
	var c string
	switch j.Source {
	case Scan:
		c = "scans source"
	case Probe:
		c = "probe of source"
	default:
		c = strings.Join(j.Tables, "+")
	}
	if j.Error != "" {
		c += ", failed"
	}
	if d := j.Duration(); d > 0 {
		c += ", " + thousands(d.Milliseconds()) + " ms"
	}
	return c
}

func (r *Report) memoryRows(t *table, n *notes, targets map[string]Target, cols int) {
	t.row("3. function memory (MiB)", "VmRSS / VmHWM AFTER THE RUN")
	for _, f := range functionNames {
		tg := targets[idFlat+f]
		cells := r.perSize(cols, func(s *SizeRun) string {
			m, ok := s.Memory[f]
			if !ok {
				return "-"
			}
			return fmt.Sprintf("%.1f / %.1f", float64(m.RSS)/(1<<20), float64(m.HWM)/(1<<20))
		})
		t.row(append(append([]string{"  " + f}, cells...), tg.Target,
			n.status(tg, f+" memory per run"))...)
	}
}

func (r *Report) startRows(t *table, n *notes, targets map[string]Target, cols int) {
	events := 0
	for _, s := range r.Startup {
		events = max(events, s.Events)
	}
	t.row("4. start-up against the floor", "EXEC -> 1ST ANSWER",
		"VmRSS AFTER "+thousands(int64(events))+" EVENTS")
	for _, s := range r.Startup {
		cells := make([]string, cols)
		cells[0], cells[1] = "-", "-"
		if len(s.Starts) > 0 {
			lo, hi := s.Starts[0], s.Starts[0]
			for _, d := range s.Starts {
				lo, hi = min(lo, d), max(hi, d)
			}
			cells[0] = fmt.Sprintf("%s (%s-%s, %d)", msString(s.Median), msString(lo),
				msString(hi), len(s.Starts))
		}
		if s.Memory.RSS > 0 {
			cells[1] = mib(s.Memory.RSS)
		}
		t.row(append([]string{"  " + s.Name}, cells...)...)
		if s.Name == FloorName {
			continue
		}
		st, mem := targets[idStart+s.Name], targets[idStartMem+s.Name]
		cells = make([]string, cols)
		cells[0] = st.Measured
		t.row(append(append([]string{"    start vs floor"}, cells...), st.Target,
			n.status(st, s.Name+" start-up"))...)
		cells = make([]string, cols)
		cells[1] = mem.Measured
		t.row(append(append([]string{"    memory vs floor"}, cells...), mem.Target,
			n.status(mem, s.Name+" memory after events"))...)
	}
}

func (r *Report) backfillRows(t *table, n *notes, targets map[string]Target, cols int) {
	b := r.Backfill
	if b == nil {
		return
	}
	t.row("5. backfill publish", "REQUESTS", "ELAPSED")
	cells := make([]string, cols)
	cells[0] = thousands(int64(b.Published))
	if b.Failed > 0 {
		cells[0] += fmt.Sprintf(" (%d failed)", b.Failed)
	}
	el := time.Duration(b.Elapsed)
	cells[1] = fmt.Sprintf("%.1f s (%s/s)", el.Seconds(), thousands(int64(b.PerSecond)))
	tg := targets[idBackfill]
	label := fmt.Sprintf("  %d conversions x %d days", b.Conversions, b.Days)
	t.row(append(append([]string{label}, cells...), tg.Target, n.status(tg, "backfill"))...)
}

// thousands writes n with commas between groups of three digits.
func thousands(n int64) string {
	s := strconv.FormatInt(n, 10)
	neg := strings.HasPrefix(s, "-")
	s = strings.TrimPrefix(s, "-")
	var b strings.Builder
	for i, c := range s {
		if i > 0 && (len(s)-i)%3 == 0 {
			b.WriteByte(',')
		}
		b.WriteRune(c)
	}
	if neg {
		return "-" + b.String()
	}
	return b.String()
}

// mib writes a number of bytes in MiB, to one decimal.
func mib(b int64) string { return fmt.Sprintf("%.1f MiB", float64(b)/(1<<20)) }

// signedMiB writes a difference of bytes in MiB, with its sign.
func signedMiB(b int64) string { return fmt.Sprintf("%+.1f MiB", float64(b)/(1<<20)) }

// msString writes a duration in milliseconds: one decimal below 100 ms.
func msString(d Millis) string {
	ms := float64(d) / float64(time.Millisecond)
	if ms < 100 {
		return fmt.Sprintf("%.1f ms", ms)
	}
	return thousands(int64(ms+0.5)) + " ms"
}

func allSame(xs []string) bool {
	for _, x := range xs {
		if x != xs[0] {
			return false
		}
	}
	return true
}
