package logging

import (
	"log/slog"
	"strings"
)

// Keys under which Cloud Logging links a line to a Cloud Trace span.
const (
	TraceKey        = "logging.googleapis.com/trace"
	SpanKey         = "logging.googleapis.com/spanId"
	TraceSampledKey = "logging.googleapis.com/trace_sampled"
)

// WithTrace returns l with the trace attributes of a W3C traceparent
// ("00-<32 hex trace id>-<16 hex span id>-<2 hex flags>"), as a
// CloudEvent's traceparent extension carries it, so that Cloud Logging
// groups the lines with the trace in projectID. It returns l unchanged
// when projectID is empty or traceparent cannot be read.
func WithTrace(l *slog.Logger, projectID, traceparent string) *slog.Logger {
	trace, span, sampled, ok := parseTraceparent(traceparent)
	if projectID == "" || !ok {
		return l
	}
	return l.With(
		slog.String(TraceKey, "projects/"+projectID+"/traces/"+trace),
		slog.String(SpanKey, span),
		slog.Bool(TraceSampledKey, sampled),
	)
}

// parseTraceparent reads a traceparent header. Versions after 00 may add
// fields after the flags; those are ignored.
func parseTraceparent(s string) (trace, span string, sampled, ok bool) {
	const n = len("00-") + 32 + 1 + 16 + 1 + 2
	if len(s) < n || (len(s) > n && (s[:2] == "00" || s[n] != '-')) {
		return "", "", false, false
	}
	version, trace, span, flags := s[0:2], s[3:35], s[36:52], s[53:55]
	if s[2] != '-' || s[35] != '-' || s[52] != '-' {
		return "", "", false, false
	}
	if !isHex(version) || version == "ff" || !isHex(trace) || !isHex(span) || !isHex(flags) {
		return "", "", false, false
	}
	if trace == strings.Repeat("0", 32) || span == strings.Repeat("0", 16) {
		return "", "", false, false
	}
	sampled = fromHex(flags[1])&1 == 1
	return trace, span, sampled, true
}

// isHex reports whether s is lowercase hexadecimal.
func isHex(s string) bool {
	for i := 0; i < len(s); i++ {
		c := s[i]
		if (c < '0' || c > '9') && (c < 'a' || c > 'f') {
			return false
		}
	}
	return true
}

// fromHex returns the value of a lowercase hex digit.
func fromHex(c byte) byte {
	if c >= 'a' {
		return c - 'a' + 10
	}
	return c - '0'
}
