package main

import (
	"bufio"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"cloud.google.com/go/bigquery"

	"customconversions.dev/shared/contract"
	"customconversions.dev/shared/emulators"
	"customconversions.dev/shared/store"
)

// referenceSQLText reads the repository's reference definition.
func referenceSQLText(t *testing.T) string {
	t.Helper()
	root, err := emulators.RepoRoot()
	if err != nil {
		t.Fatal(err)
	}
	b, err := os.ReadFile(filepath.Join(root, referenceSQL))
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}

// TestClassify classifies the SQL the product builds from the reference
// definition, and table names quoted and prefixed in the ways SQL allows.
func TestClassify(t *testing.T) {
	def := referenceSQLText(t)
	// The reference definition's output, as the schema check reads it.
	shape := contract.Shape{"id": bigquery.StringFieldType, "client_id": bigquery.StringFieldType,
		"created": bigquery.TimestampFieldType, "value": bigquery.FloatFieldType,
		"currency": bigquery.StringFieldType, "is_qualified": bigquery.BooleanFieldType,
		"params": bigquery.RecordFieldType}
	roles := Roles{
		RoleSource:      "crm.orders",
		RoleStaging:     "cc_staging.stg_a",
		RoleAttribution: "attribution.custom_conversions",
		RoleRejected:    "attribution.custom_conversions_rejected",
	}
	tests := []struct {
		name       string
		sql        string
		dryRun     bool
		wantTables []string
		want       Touch
	}{
		{"probe of the definition", contract.ProbeSQL(def), false, []string{RoleSource}, Probe},
		{"dry run of the definition", def, true, []string{RoleSource}, Probe},
		{"extraction", contract.ExtractionSQL(def, shape), false, []string{RoleSource}, Scan},
		{"project-qualified source", "SELECT * FROM `cc-local.crm.orders` WHERE x", false,
			[]string{RoleSource}, Scan},
		{"another table of the same prefix", "SELECT * FROM crm.orders_2", false, nil, NoTouch},
		{"rejected is not attribution", "INSERT INTO `p.attribution.custom_conversions_rejected` " +
			"SELECT * FROM `p.cc_staging.stg_a`", false, []string{RoleStaging, RoleRejected}, NoTouch},
		{"merge", "INSERT INTO `p.attribution.custom_conversions` SELECT * FROM " +
			"`p.cc_staging.stg_a`;\nINSERT INTO `p.attribution.custom_conversions_rejected` SELECT 1",
			false, []string{RoleStaging, RoleAttribution, RoleRejected}, NoTouch},
		{"LIMIT 0 inside, not at the end", "SELECT * FROM (SELECT * FROM crm.orders LIMIT 0) " +
			"UNION ALL SELECT * FROM crm.orders", false, []string{RoleSource}, Scan},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			tables, touch := classify(tt.sql, tt.dryRun, roles)
			if !slices.Equal(tables, tt.wantTables) || touch != tt.want {
				t.Errorf("classify = %v, %s; want %v, %s", tables, touch, tt.wantTables, tt.want)
			}
		})
	}
}

// TestParseStatus reads memory from a /proc/PID/status excerpt.
func TestParseStatus(t *testing.T) {
	status := "Name:\tserve\nVmPeak:\t 1300000 kB\nVmHWM:\t   30000 kB\nVmRSS:\t   28000 kB\n"
	m, err := parseStatus(bufio.NewScanner(strings.NewReader(status)), "status")
	if err != nil || m != (Memory{RSS: 28000 << 10, HWM: 30000 << 10}) {
		t.Errorf("parseStatus = %+v, %v; want VmRSS 28000 kB, VmHWM 30000 kB", m, err)
	}
	_, err = parseStatus(bufio.NewScanner(strings.NewReader("Name:\tx\n")), "status")
	if err == nil {
		t.Error("parseStatus of a status without VmRSS: no error")
	}
}

// TestParseInitTrace sums GODEBUG=inittrace=1 lines per package.
func TestParseInitTrace(t *testing.T) {
	trace := `init internal/bytealg @0.008 ms, 0 ms clock, 0 bytes, 0 allocs
init google.golang.org/grpc @3.1 ms, 1.5 ms clock, 90000 bytes, 900 allocs
init runtime @0.04 ms, 0.02 ms clock, 0 bytes, 0 allocs
init google.golang.org/grpc @5.0 ms, 0.5 ms clock, 100 bytes, 1 allocs
some other line
init cloud.google.com/go/bigquery @6 ms, 1.2 ms clock, 10 bytes, 1 allocs
`
	top, total := parseInitTrace(strings.NewReader(trace), 2)
	want := []InitCost{{"google.golang.org/grpc", Millis(2 * time.Millisecond)},
		{"cloud.google.com/go/bigquery", Millis(1200 * time.Microsecond)}}
	if !slices.Equal(top, want) {
		t.Errorf("parseInitTrace top = %v; want %v", top, want)
	}
	if d := time.Duration(total) - 3220*time.Microsecond; d < -time.Microsecond ||
		d > time.Microsecond {
		t.Errorf("parseInitTrace total = %v; want 3.22ms", time.Duration(total))
	}
}

// TestSplit splits a run into steps, and leaves the steps it did not
// reach unknown.
func TestSplit(t *testing.T) {
	t0 := time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC)
	at := func(ms int) time.Time { return t0.Add(time.Duration(ms) * time.Millisecond) }
	run := store.Run{State: store.StateSucceeded, Created: at(100), Extracted: at(1500),
		Finished: at(4000)}
	got := split(t0, run, at(1200))
	want := []Step{
		{StepRecorded, true, Millis(100 * time.Millisecond)},
		{StepExtract, true, Millis(1100 * time.Millisecond)},
		{StepDelivered, true, Millis(300 * time.Millisecond)},
		{StepMerge, true, Millis(2500 * time.Millisecond)},
		{StepTotal, true, Millis(4000 * time.Millisecond)},
	}
	if !slices.Equal(got, want) {
		t.Errorf("split = %+v; want %+v", got, want)
	}

	stuck := store.Run{State: store.StateExtracting, Created: at(100)}
	got = split(t0, stuck, time.Time{})
	var known []string
	for _, s := range got {
		if s.Known {
			known = append(known, s.Name)
		}
	}
	if !slices.Equal(known, []string{StepRecorded}) {
		t.Errorf("split of a stuck run knows %v; want only %q", known, StepRecorded)
	}
}

// TestTableWrite aligns every column over all rows, section titles
// included, and leaves no trailing blanks.
func TestTableWrite(t *testing.T) {
	tb := &table{width: 3}
	tb.row("MEASURE", "A", "STATUS")
	tb.row("1. a section title")
	tb.row("  x", "12,345", "met")
	tb.row("  longer name", "1", "MISSED [1]")
	var b strings.Builder
	if err := tb.write(&b); err != nil {
		t.Fatal(err)
	}
	want := `MEASURE             A       STATUS
1. a section title
  x                 12,345  met
  longer name       1       MISSED [1]
`
	if b.String() != want {
		t.Errorf("table =\n%s\nwant\n%s", b.String(), want)
	}
}

func TestThousands(t *testing.T) {
	for n, want := range map[int64]string{0: "0", 999: "999", 1000: "1,000",
		18250: "18,250", 100000: "100,000", -1234567: "-1,234,567"} {
		if got := thousands(n); got != want {
			t.Errorf("thousands(%d) = %q; want %q", n, got, want)
		}
	}
}

// TestLogTail finds failed deliveries and milestones in output written
// in pieces.
func TestLogTail(t *testing.T) {
	now := time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC)
	l := &logTail{now: func() time.Time { return now }}
	mark := l.mark()
	out := `{"timestamp":"2026-01-02T03:04:06.5Z","severity":"INFO",` +
		`"message":"extraction started","run_id":"r1"}` + "\n" +
		"Function error: starting job x: context deadline exceeded\n" +
		`{"timestamp":"2026-01-02T03:04:09Z","message":"run merged","run_id":"r1"}` + "\n"
	for len(out) > 0 {
		k := min(7, len(out))
		l.Write([]byte(out[:k]))
		out = out[k:]
	}
	if got := l.since(mark); len(got) != 1 ||
		got[0].Line != "starting job x: context deadline exceeded" {
		t.Errorf("failures = %+v; want the one line", got)
	}
	want := time.Date(2026, 1, 2, 3, 4, 6, 5e8, time.UTC)
	if got := l.milestone("r1", msgExtractionStarted); !got.Equal(want) {
		t.Errorf("milestone = %v; want %v", got, want)
	}
	if got := l.milestone("r2", msgExtractionStarted); !got.IsZero() {
		t.Errorf("milestone of another run = %v; want none", got)
	}
}

// TestStartTargets measures the functions against the floor.
func TestStartTargets(t *testing.T) {
	floor := &StartResult{Name: FloorName, Starts: []Millis{Millis(6 * time.Millisecond)},
		Median: Millis(6 * time.Millisecond), Memory: Memory{RSS: 10 << 20}, Events: 1000}
	fast := &StartResult{Name: "Fast", Starts: []Millis{Millis(12 * time.Millisecond)},
		Median: Millis(12 * time.Millisecond), Memory: Memory{RSS: 40 << 20}, Events: 1000}
	slow := &StartResult{Name: "Slow", Starts: []Millis{Millis(20 * time.Millisecond)},
		Median: Millis(20 * time.Millisecond), Memory: Memory{RSS: 43 << 20}, Events: 1000,
		InitTop: []InitCost{{"big/pkg", Millis(9 * time.Millisecond)}}}
	got := map[string]string{}
	for _, tg := range startTargets([]*StartResult{floor, fast, slow}) {
		got[tg.ID] = tg.Status
		if tg.Status == Missed && tg.Why == "" {
			t.Errorf("%s missed without a reason", tg.ID)
		}
	}
	want := map[string]string{idStart + "Fast": Met, idStartMem + "Fast": Met,
		idStart + "Slow": Missed, idStartMem + "Slow": Missed}
	for id, w := range want {
		if got[id] != w {
			t.Errorf("%s = %q; want %q", id, got[id], w)
		}
	}
}

// TestRunTargets checks a run's jobs against the expected four, and
// explains a run that did not finish by the smaller run's rate.
func TestRunTargets(t *testing.T) {
	t0 := time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC)
	ms := func(n int) Millis { return Millis(time.Duration(n) * time.Millisecond) }
	small := &SizeRun{Rows: 1000, Expect: Expect{1000, 6, 17, 10},
		Run: &store.Run{State: store.StateSucceeded, Jobs: map[string]string{"extract": "x"},
			Counts: store.Counts{Read: 1000, Rejected: 6, Duplicates: 17, Generated: 10}},
		Steps: []Step{{StepRecorded, true, ms(100)}, {StepExtract, true, ms(2000)}},
		Jobs: []Job{{Step: "check", Source: Probe}, {Step: "extract", Source: Scan},
			{Step: "summary", Source: NoTouch}, {Step: "merge", Source: NoTouch}}}
	status := func(ts []Target) []string {
		var s []string
		for _, tg := range ts {
			s = append(s, tg.Status)
		}
		return s
	}
	if got := status(runTargets(small, nil)); !slices.Equal(got, []string{Met, Met, Met, Met}) {
		t.Errorf("runTargets of a good run = %v; want all met", got)
	}

	scanning := *small
	scanning.Jobs = append(slices.Clone(small.Jobs), Job{Step: "summary", Source: Scan})
	want := []string{Met, Met, Missed, Missed}
	if got := status(runTargets(&scanning, nil)); !slices.Equal(got, want) {
		t.Errorf("runTargets of a run with a second scan = %v; want %v", got, want)
	}

	stuck := &SizeRun{Rows: 100000, Err: "a delivery failed",
		Run:      &store.Run{State: store.StateExtracting, Created: t0},
		Failures: []Failure{{At: t0.Add(60 * time.Second), Line: "deadline"}}}
	ts := runTargets(stuck, []*SizeRun{small, stuck})
	want = []string{Missed, NotMeasured, NotMeasured, NotMeasured}
	if got := status(ts); !slices.Equal(got, want) {
		t.Errorf("runTargets of a stuck run = %v; want %v", got, want)
	}
	for _, part := range []string{"failed 60.0 s after the run was recorded",
		"2.00 ms a row", "100,000 rows need about 200 s"} {
		if !strings.Contains(ts[0].Why, part) {
			t.Errorf("why = %q; want it to say %q", ts[0].Why, part)
		}
	}
}
