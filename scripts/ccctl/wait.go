package main

import (
	"context"
	"errors"
	"fmt"
	"sort"
	"time"

	"customconversions.dev/shared/failure"
	"customconversions.dev/shared/store"
)

// followed is how the runs of published requests ended, as --json
// prints it.
type followed struct {
	Expected  int  `json:"expected"`
	Succeeded int  `json:"succeeded"`
	Failed    int  `json:"failed"`
	Skipped   int  `json:"skipped"`
	Pending   int  `json:"pending"`
	TimedOut  bool `json:"timed_out"`
	// Unsuccessful lists the runs that failed or were skipped.
	Unsuccessful []store.Run `json:"unsuccessful"`
}

// finished reports whether a run is in a final state.
func finished(state string) bool {
	switch state {
	case store.StateSucceeded, store.StateFailed, store.StateSkipped:
		return true
	}
	return false
}

// follow reads, every --poll-interval, the runs that the published
// messages started (expect gives each message id the runs it starts),
// until each has finished or --wait-timeout has passed. It returns how
// they ended, and an error when any failed, was skipped or is unfinished.
func (a *app) follow(ctx context.Context, st *store.Store, client string,
	expect map[string]int, f sendFlags) (followed, error) {
	ctx, cancel := context.WithTimeout(ctx, f.waitTimeout)
	defer cancel()

	fw := followed{}
	for _, n := range expect {
		fw.Expected += n
	}
	if !a.json {
		fmt.Fprintf(a.env.Stderr, "waiting for %d run(s) (at most %s)\n", fw.Expected,
			f.waitTimeout)
	}
	bar := a.progress(fw.Expected, "runs", "run")
	runs := map[string]store.Run{}
	pending := pendingMessages(runs, expect)
	var lastErr error
poll:
	for {
		got, err := st.RunsByMessage(ctx, client, pending)
		switch {
		case err == nil:
			lastErr = nil
			for _, r := range got {
				runs[r.ID] = r
			}
		case ctx.Err() == nil && failure.IsPermanent(err):
			return fw, err
		default:
			lastErr = err // passing, perhaps: read again at the next poll
		}
		pending = pendingMessages(runs, expect)
		_ = bar.Set(fw.Expected - pendingRuns(runs, expect))
		if len(pending) == 0 {
			break
		}
		select {
		case <-ctx.Done():
			fw.TimedOut = true
			break poll
		case <-time.After(f.poll):
		}
	}
	a.endProgress(fw.Expected)
	return fw, a.summarize(&fw, runs, expect, lastErr)
}

// pendingMessages returns, sorted, the ids of the messages whose runs
// have not all finished.
func pendingMessages(runs map[string]store.Run, expect map[string]int) []string {
	done := finishedRuns(runs)
	var ids []string
	for id, n := range expect {
		if done[id] < n {
			ids = append(ids, id)
		}
	}
	sort.Strings(ids)
	return ids
}

// pendingRuns counts the expected runs not finished yet.
func pendingRuns(runs map[string]store.Run, expect map[string]int) int {
	done := finishedRuns(runs)
	n := 0
	for id, want := range expect {
		n += want - min(done[id], want)
	}
	return n
}

// finishedRuns counts the finished runs of each message.
func finishedRuns(runs map[string]store.Run) map[string]int {
	done := map[string]int{}
	for _, r := range runs {
		if finished(r.State) {
			done[r.MessageID]++
		}
	}
	return done
}

// summarize counts how the runs ended into fw, prints it unless the
// output is JSON, and returns an error unless every run succeeded.
func (a *app) summarize(fw *followed, runs map[string]store.Run, expect map[string]int,
	lastErr error) error {
	ids := make([]string, 0, len(runs))
	for id := range runs {
		ids = append(ids, id)
	}
	sort.Strings(ids)
	for _, id := range ids {
		r := runs[id]
		switch r.State {
		case store.StateSucceeded:
			fw.Succeeded++
		case store.StateFailed:
			fw.Failed++
		case store.StateSkipped:
			fw.Skipped++
		}
		if r.State == store.StateFailed || r.State == store.StateSkipped {
			fw.Unsuccessful = append(fw.Unsuccessful, r)
		}
	}
	fw.Pending = pendingRuns(runs, expect)

	if !a.json {
		w := a.env.Stdout
		fmt.Fprintf(w, "runs: %d succeeded, %d failed, %d skipped, %d unfinished\n",
			fw.Succeeded, fw.Failed, fw.Skipped, fw.Pending)
		if len(fw.Unsuccessful) > 0 {
			t := newTable(w, "RUN", "CONVERSION", "WINDOW", "STATE", "ERROR")
			for _, r := range fw.Unsuccessful {
				t.add(r.ID, r.ConversionID, r.WindowStart+".."+r.WindowEnd, r.State,
					clip(r.Error, 80))
			}
			if err := t.flush(); err != nil {
				return err
			}
		}
	}

	var errs []error
	if n := fw.Failed + fw.Skipped; n > 0 {
		errs = append(errs, fmt.Errorf("%d of %d runs failed or were skipped: "+
			"see ccctl runs show --client CLIENT RUN", n, fw.Expected))
	}
	if fw.Pending > 0 {
		err := fmt.Errorf("%d of %d runs unfinished when --wait gave up: follow them with "+
			"ccctl runs list", fw.Pending, fw.Expected)
		if lastErr != nil {
			err = fmt.Errorf("%w (the last read of the runs failed: %w)", err, lastErr)
		}
		errs = append(errs, err)
	}
	return errors.Join(errs...)
}
