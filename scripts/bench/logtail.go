package main

import (
	"bytes"
	"encoding/json"
	"io"
	"strings"
	"sync"
	"time"

	"customconversions.dev/shared/logging"
)

// failureMark starts the line the functions framework writes to stderr
// when a function returns an error: the event's delivery failed and
// Pub/Sub will deliver it again.
const failureMark = "Function error: "

// Log messages of the functions that mark a step's end. RunConversion
// logs the first once the extraction job is started, which on the
// emulator means run: it answers jobs.insert when the query is done.
const (
	msgExtractionStarted = "extraction started"
	msgRunMerged         = "run merged"
)

// Failure is a failed delivery, as the functions' log reported it.
type Failure struct {
	At   time.Time `json:"at"`
	Line string    `json:"line"`
}

// logTail reads the functions' output as it is written: it keeps the
// most recent failed deliveries and the time of each milestone message
// per run, and passes every line on to tee when set.
type logTail struct {
	tee io.Writer
	now func() time.Time

	mu         sync.Mutex
	partial    []byte
	failures   []Failure
	count      int                  // failures seen in all, kept or not
	milestones map[string]time.Time // by run id and message
}

// maxFailures bounds the failures a logTail keeps.
const maxFailures = 20

func (l *logTail) Write(p []byte) (int, error) {
	if l.tee != nil {
		l.tee.Write(p)
	}
	l.mu.Lock()
	defer l.mu.Unlock()
	l.partial = append(l.partial, p...)
	for {
		i := bytes.IndexByte(l.partial, '\n')
		if i < 0 {
			break
		}
		l.line(string(l.partial[:i]))
		l.partial = l.partial[i+1:]
	}
	return len(p), nil
}

// line reads one complete line; l.mu is held.
func (l *logTail) line(line string) {
	if rest, ok := strings.CutPrefix(line, failureMark); ok {
		l.failures = append(l.failures, Failure{At: l.now(), Line: rest})
		if len(l.failures) > maxFailures {
			l.failures = l.failures[1:]
		}
		l.count++
		return
	}
	if !strings.HasPrefix(line, "{") {
		return
	}
	var e map[string]any
	if json.Unmarshal([]byte(line), &e) != nil {
		return
	}
	msg, _ := e[logging.MessageKey].(string)
	run, _ := e[logging.RunKey].(string)
	ts, _ := e[logging.TimestampKey].(string)
	if msg != msgExtractionStarted && msg != msgRunMerged || run == "" {
		return
	}
	t, err := time.Parse(time.RFC3339Nano, ts)
	if err != nil {
		return
	}
	if l.milestones == nil {
		l.milestones = map[string]time.Time{}
	}
	key := run + "\x00" + msg
	if _, ok := l.milestones[key]; !ok {
		l.milestones[key] = t
	}
}

// milestone returns when the functions first logged msg for run, or the
// zero time.
func (l *logTail) milestone(run, msg string) time.Time {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.milestones[run+"\x00"+msg]
}

// mark returns the number of failures seen so far, for since.
func (l *logTail) mark() int {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.count
}

// since returns the kept failures seen after mark.
func (l *logTail) since(mark int) []Failure {
	l.mu.Lock()
	defer l.mu.Unlock()
	n := l.count - mark
	if n <= 0 {
		return nil
	}
	n = min(n, len(l.failures))
	return append([]Failure(nil), l.failures[len(l.failures)-n:]...)
}
