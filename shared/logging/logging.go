// Package logging writes slog records as JSON lines in the shape that
// Cloud Logging reads from a function's stdout: "severity", "message" and
// "timestamp" at the top level, the record's attributes beside them.
//
// The keys "level", "msg" and "time" are rewritten at the top level, so
// they must not be used as attribute keys; nor should "severity",
// "message" and "timestamp", which would appear twice.
package logging

import (
	"io"
	"log/slog"
	"time"
)

// Attribute keys shared by both functions, so that one log query finds
// every line about a client, conversion, run or job.
const (
	ClientKey     = "client_id"
	ConversionKey = "conversion_id"
	RunKey        = "run_id"
	JobKey        = "job_id"
	ErrorKey      = "error"
)

// Keys Cloud Logging gives a meaning to.
const (
	SeverityKey  = "severity"
	MessageKey   = "message"
	TimestampKey = "timestamp"
)

// Severities, as Cloud Logging names them.
const (
	SeverityDebug   = "DEBUG"
	SeverityInfo    = "INFO"
	SeverityWarning = "WARNING"
	SeverityError   = "ERROR"
)

// New returns a logger that writes one JSON object a line to w, dropping
// records below level. A nil level means slog.LevelInfo.
func New(w io.Writer, level slog.Leveler) *slog.Logger {
	h := slog.NewJSONHandler(w, &slog.HandlerOptions{
		Level:       level,
		ReplaceAttr: cloudAttr,
	})
	return slog.New(h)
}

// Severity returns the Cloud Logging severity for l: levels below Info
// are DEBUG, below Warn INFO, below Error WARNING, and the rest ERROR.
func Severity(l slog.Level) string {
	switch {
	case l < slog.LevelInfo:
		return SeverityDebug
	case l < slog.LevelWarn:
		return SeverityInfo
	case l < slog.LevelError:
		return SeverityWarning
	}
	return SeverityError
}

// cloudAttr renames slog's built-in keys to Cloud Logging's. Attributes
// inside groups are left alone.
func cloudAttr(groups []string, a slog.Attr) slog.Attr {
	if len(groups) > 0 {
		return a
	}
	switch a.Key {
	case slog.LevelKey:
		if l, ok := a.Value.Any().(slog.Level); ok {
			return slog.String(SeverityKey, Severity(l))
		}
	case slog.MessageKey:
		return slog.Attr{Key: MessageKey, Value: a.Value}
	case slog.TimeKey:
		if a.Value.Kind() == slog.KindTime {
			t := a.Value.Time().UTC()
			return slog.String(TimestampKey, t.Format(time.RFC3339Nano))
		}
	}
	return a
}
