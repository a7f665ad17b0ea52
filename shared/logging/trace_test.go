package logging

import (
	"bytes"
	"log/slog"
	"testing"
)

func TestWithTrace(t *testing.T) {
	const (
		trace = "5f3c0a9d2e4b41c7a8e6d1f20b3c4d5e"
		span  = "7a1b2c3d4e5f6071"
	)
	tests := []struct {
		name        string
		project     string
		traceparent string
		want        map[string]any // nil: no trace keys
	}{
		{"sampled", "cc-prod", "00-" + trace + "-" + span + "-01", map[string]any{
			TraceKey:        "projects/cc-prod/traces/" + trace,
			SpanKey:         span,
			TraceSampledKey: true,
		}},
		{"not sampled", "cc-prod", "00-" + trace + "-" + span + "-00", map[string]any{
			TraceKey:        "projects/cc-prod/traces/" + trace,
			SpanKey:         span,
			TraceSampledKey: false,
		}},
		{"later version with more fields", "p", "01-" + trace + "-" + span + "-03-xyz",
			map[string]any{
				TraceKey:        "projects/p/traces/" + trace,
				SpanKey:         span,
				TraceSampledKey: true,
			}},
		{"no project", "", "00-" + trace + "-" + span + "-01", nil},
		{"empty", "p", "", nil},
		{"version 00 with more fields", "p", "00-" + trace + "-" + span + "-01-xyz", nil},
		{"version ff", "p", "ff-" + trace + "-" + span + "-01", nil},
		{"uppercase", "p", "00-5F3C0A9D2E4B41C7A8E6D1F20B3C4D5E-" + span + "-01", nil},
		{"zero trace id", "p", "00-00000000000000000000000000000000-" + span + "-01", nil},
		{"zero span id", "p", "00-" + trace + "-0000000000000000-01", nil},
		{"short", "p", "00-" + trace[:31] + "-" + span + "-01", nil},
		{"wrong separator", "p", "00_" + trace + "-" + span + "-01", nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var buf bytes.Buffer
			WithTrace(New(&buf, nil), tt.project, tt.traceparent).Info("x")
			got := lines(t, &buf)
			if len(got) != 1 {
				t.Fatalf("logged %d lines, want 1", len(got))
			}
			for _, k := range []string{TraceKey, SpanKey, TraceSampledKey} {
				g, ok := got[0][k]
				w, wok := tt.want[k]
				if ok != wok || g != w {
					t.Errorf("WithTrace(%q, %q) line[%s] = %#v, want %#v",
						tt.project, tt.traceparent, k, g, w)
				}
			}
		})
	}
}

func TestWithTraceKeepsLogger(t *testing.T) {
	l := New(&bytes.Buffer{}, slog.LevelInfo)
	if got := WithTrace(l, "p", "garbage"); got != l {
		t.Errorf("WithTrace(l, p, garbage) = %p, want l itself (%p)", got, l)
	}
}
