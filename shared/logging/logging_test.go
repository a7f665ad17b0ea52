package logging

import (
	"bufio"
	"bytes"
	"encoding/json"
	"errors"
	"log/slog"
	"strings"
	"testing"
	"time"
)

// lines decodes each JSON line written to buf.
func lines(t *testing.T, buf *bytes.Buffer) []map[string]any {
	t.Helper()
	var out []map[string]any
	sc := bufio.NewScanner(buf)
	for sc.Scan() {
		var m map[string]any
		if err := json.Unmarshal(sc.Bytes(), &m); err != nil {
			t.Fatalf("line %q is not JSON: %v", sc.Text(), err)
		}
		out = append(out, m)
	}
	return out
}

func TestNewShape(t *testing.T) {
	var buf bytes.Buffer
	log := New(&buf, slog.LevelDebug).With(ClientKey, "acme", RunKey, "20240301-a1")

	before := time.Now()
	log.Info("merged run", ConversionKey, "orders", JobKey, "cc_job_1", "rows", 1842)
	after := time.Now()

	got := lines(t, &buf)
	if len(got) != 1 {
		t.Fatalf("logged %d lines, want 1", len(got))
	}
	line := got[0]

	want := map[string]any{
		"severity":      "INFO",
		"message":       "merged run",
		"client_id":     "acme",
		"run_id":        "20240301-a1",
		"conversion_id": "orders",
		"job_id":        "cc_job_1",
		"rows":          1842.0,
	}
	for k, w := range want {
		if line[k] != w {
			t.Errorf("line[%q] = %#v, want %#v", k, line[k], w)
		}
	}
	for _, k := range []string{"level", "msg", "time"} {
		if v, ok := line[k]; ok {
			t.Errorf("line[%q] = %#v, want no such key", k, v)
		}
	}

	s, _ := line["timestamp"].(string)
	if !strings.HasSuffix(s, "Z") {
		t.Errorf("line[timestamp] = %q, want an RFC 3339 time in UTC", s)
	}
	ts, err := time.Parse(time.RFC3339Nano, s)
	if err != nil {
		t.Fatalf("line[timestamp] = %q: %v", s, err)
	}
	if ts.Before(before) || ts.After(after) {
		t.Errorf("line[timestamp] = %v, want between %v and %v", ts, before, after)
	}
	if len(line) != len(want)+1 {
		t.Errorf("line has %d keys, want %d: %v", len(line), len(want)+1, line)
	}
}

func TestSeverities(t *testing.T) {
	var buf bytes.Buffer
	log := New(&buf, slog.Level(-8))

	tests := []struct {
		level slog.Level
		want  string
	}{
		{slog.Level(-8), "DEBUG"},
		{slog.LevelDebug, "DEBUG"},
		{slog.LevelInfo, "INFO"},
		{slog.LevelInfo + 2, "INFO"},
		{slog.LevelWarn, "WARNING"},
		{slog.LevelError, "ERROR"},
		{slog.LevelError + 4, "ERROR"},
	}
	for _, tt := range tests {
		log.Log(t.Context(), tt.level, "x")
	}
	got := lines(t, &buf)
	if len(got) != len(tests) {
		t.Fatalf("logged %d lines, want %d", len(got), len(tests))
	}
	for i, tt := range tests {
		if got[i]["severity"] != tt.want {
			t.Errorf("severity of a %v record = %v, want %s", tt.level, got[i]["severity"], tt.want)
		}
		if s := Severity(tt.level); s != tt.want {
			t.Errorf("Severity(%v) = %s, want %s", tt.level, s, tt.want)
		}
	}
}

func TestLevelFilter(t *testing.T) {
	tests := []struct {
		level slog.Leveler
		want  []string // severities that get through
	}{
		{nil, []string{"INFO", "WARNING", "ERROR"}},
		{slog.LevelDebug, []string{"DEBUG", "INFO", "WARNING", "ERROR"}},
		{slog.LevelWarn, []string{"WARNING", "ERROR"}},
	}
	for _, tt := range tests {
		var buf bytes.Buffer
		log := New(&buf, tt.level)
		log.Debug("d")
		log.Info("i")
		log.Warn("w")
		log.Error("e")

		var got []string
		for _, l := range lines(t, &buf) {
			got = append(got, l["severity"].(string))
		}
		if strings.Join(got, ",") != strings.Join(tt.want, ",") {
			t.Errorf("New(w, %v) logged %v, want %v", tt.level, got, tt.want)
		}
	}
}

func TestGroupsAndErrors(t *testing.T) {
	var buf bytes.Buffer
	log := New(&buf, nil)
	log.Error("run failed",
		ErrorKey, errors.New("warehouse: merge: concurrent update"),
		slog.Group("counts", "msg", "inside a group", "rejected", 3))

	got := lines(t, &buf)
	if len(got) != 1 {
		t.Fatalf("logged %d lines, want 1", len(got))
	}
	line := got[0]
	if line["error"] != "warehouse: merge: concurrent update" {
		t.Errorf("line[error] = %#v, want the error's text", line["error"])
	}
	counts, _ := line["counts"].(map[string]any)
	if counts["msg"] != "inside a group" || counts["rejected"] != 3.0 {
		t.Errorf("line[counts] = %#v, want msg and rejected kept as they are", line["counts"])
	}
	if line["message"] != "run failed" || line["severity"] != "ERROR" {
		t.Errorf("line message, severity = %v, %v; want run failed, ERROR",
			line["message"], line["severity"])
	}
}
