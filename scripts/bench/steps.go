package main

import (
	"encoding/json"
	"time"

	"customconversions.dev/shared/store"
)

// Millis is a duration written to JSON as milliseconds.
type Millis time.Duration

// MarshalJSON writes d as a number of milliseconds.
func (d Millis) MarshalJSON() ([]byte, error) {
	return json.Marshal(float64(d) / float64(time.Millisecond))
}

// Step is one stretch of a run's wall time, from the end of the step
// before it to its own end.
type Step struct {
	Name string `json:"name"`
	// Known is false when the run never reached the step's end.
	Known bool   `json:"known"`
	Wall  Millis `json:"wall_ms"`
}

// Step names, in a run's order. The jobs within one function are not
// split: see split.
const (
	StepRecorded  = "publish -> run recorded"
	StepExtract   = "schema check + extraction job"
	StepDelivered = "job event delivered (sink)"
	StepMerge     = "summary + merge -> run finished"
	StepTotal     = "total: publish -> run finished"
)

// stepNames lists the steps in the order split returns them.
var stepNames = []string{StepRecorded, StepExtract, StepDelivered, StepMerge, StepTotal}

// split divides a run's wall time into steps: from the time its request
// was published, the time RunConversion logged that the extraction job
// was started (on the emulator, that it had run), and the run record's
// timestamps. All are read from this machine's clock. The emulator's job
// statistics cannot split further: it reports them in whole seconds.
func split(published time.Time, run store.Run, extracted time.Time) []Step {
	points := []time.Time{run.Created, extracted, run.Extracted, run.Finished}
	var steps []Step
	from := published
	for i, end := range points {
		s := Step{Name: stepNames[i]}
		if !from.IsZero() && !end.IsZero() {
			s.Known, s.Wall = true, Millis(end.Sub(from))
		}
		steps = append(steps, s)
		from = end
	}
	total := Step{Name: StepTotal}
	if run.State == store.StateSucceeded && !run.Finished.IsZero() {
		total.Known, total.Wall = true, Millis(run.Finished.Sub(published))
	}
	return append(steps, total)
}
