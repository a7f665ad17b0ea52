package reliability

import (
	"bytes"
	"encoding/json"
	"strings"
	"sync"
)

// lockedBuffer is a bytes.Buffer that handlers running at once may share.
type lockedBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (l *lockedBuffer) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.Write(p)
}

func (l *lockedBuffer) String() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.String()
}

// logLine is one JSON log line of the handlers.
type logLine struct {
	Severity  string `json:"severity"`
	Message   string `json:"message"`
	MessageID string `json:"message_id"`
}

// lines returns the log lines written so far.
func (l *lockedBuffer) lines() []logLine {
	var out []logLine
	for _, s := range strings.Split(strings.TrimSpace(l.String()), "\n") {
		var ll logLine
		if json.Unmarshal([]byte(s), &ll) == nil {
			out = append(out, ll)
		}
	}
	return out
}

// has reports whether a line of severity contains every part.
func (l *lockedBuffer) has(severity string, parts ...string) bool {
	for _, ll := range l.lines() {
		if ll.Severity != severity {
			continue
		}
		ok := true
		for _, p := range parts {
			ok = ok && strings.Contains(ll.Message, p)
		}
		if ok {
			return true
		}
	}
	return false
}

// reset forgets the lines written so far.
func (l *lockedBuffer) reset() {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.b.Reset()
}
