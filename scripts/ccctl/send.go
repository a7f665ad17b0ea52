package main

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"time"

	"github.com/schollz/progressbar/v3"
	"github.com/spf13/cobra"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"

	"customconversions.dev/scripts/ccctl/publish"
	"customconversions.dev/shared/request"
	"customconversions.dev/shared/store"
)

// defaultTopic is the run-requests topic infra/ creates with its default
// name prefix.
const defaultTopic = "cc-run-requests"

// sendFlags are the flags rerun and backfill share.
type sendFlags struct {
	topic       string
	reason      string
	wait        bool
	waitTimeout time.Duration
	poll        time.Duration
}

func (f *sendFlags) register(cmd *cobra.Command) {
	fs := cmd.Flags()
	fs.StringVar(&f.topic, "topic", defaultTopic,
		"run-requests topic: an id in --project, or projects/P/topics/T")
	fs.StringVar(&f.reason, "reason", "", "why, recorded on each run (at most 500 characters)")
	fs.BoolVar(&f.wait, "wait", false,
		"follow the runs in Firestore until each has succeeded, failed or been skipped")
	fs.DurationVar(&f.waitTimeout, "wait-timeout", time.Hour, "give up --wait after this long")
	fs.DurationVar(&f.poll, "poll-interval", 5*time.Second, "how often --wait reads the runs")
}

// message is one published request, as --json prints it.
type message struct {
	request.Request
	MessageID string `json:"message_id,omitempty"`
	Error     string `json:"error,omitempty"`
}

// sent is what rerun or backfill did, as --json prints it.
type sent struct {
	Topic          string    `json:"topic"`
	Requests       int       `json:"requests"`
	Published      int       `json:"published"`
	Failed         int       `json:"failed"`
	ElapsedSeconds float64   `json:"elapsed_seconds"`
	PerSecond      float64   `json:"per_second"`
	Messages       []message `json:"messages"`
	Runs           *followed `json:"runs,omitempty"`
}

// checkRequest refuses, before anything is published, a request that
// RunConversion would refuse: its JSON must parse and its window resolve
// in the client's time zone.
func (a *app) checkRequest(r request.Request, c store.Client) error {
	data, err := json.Marshal(r)
	if err != nil {
		return err
	}
	if _, err := request.Parse(data); err != nil {
		return usageError(err)
	}
	_, err = a.window(r, c)
	return err
}

// send publishes reqs for client c with a progress bar and prints the
// summary; with --wait it then follows the runs, runsEach per request.
func (a *app) send(ctx context.Context, st *store.Store, c store.Client, reqs []request.Request,
	runsEach int, f sendFlags) error {
	ps, err := a.pubsub(ctx)
	if err != nil {
		return err
	}
	p := ps.Publisher(f.topic)
	p.PublishSettings = publish.Settings()
	defer p.Stop()

	bar := a.progress(len(reqs), "publishing", "req")
	pctx, cancel := a.bounded(ctx)
	results, sum := publish.All(pctx, p, reqs, func(publish.Result) { _ = bar.Add(1) })
	cancel()
	_ = bar.Finish()
	a.endProgress(len(reqs))

	out := sent{Topic: f.topic, Requests: len(reqs), Published: sum.Published,
		Failed: sum.Failed, ElapsedSeconds: sum.Elapsed.Seconds(), PerSecond: sum.PerSecond()}
	expect := map[string]int{}
	var firstErr error
	for _, r := range results {
		m := message{Request: r.Request, MessageID: r.MessageID}
		if r.Err != nil {
			m.Error = r.Err.Error()
			if firstErr == nil {
				firstErr = r.Err
			}
		} else {
			expect[r.MessageID] = runsEach
		}
		out.Messages = append(out.Messages, m)
	}
	if !a.json {
		a.printSent(out)
	}

	var errs []error
	if firstErr != nil {
		errs = append(errs, fmt.Errorf("%d of %d requests not published, the first because: %w",
			sum.Failed, len(reqs), publishHint(firstErr, f.topic, a.project)))
	}
	if f.wait && len(expect) > 0 {
		fw, err := a.follow(ctx, st, c.ID, expect, f)
		out.Runs = &fw
		errs = append(errs, err)
	}
	if a.json {
		if err := a.printJSON(out); err != nil {
			return err
		}
	}
	return errors.Join(errs...)
}

// publishHint says what to do about a publish error.
func publishHint(err error, topic, project string) error {
	switch status.Code(err) {
	case codes.NotFound:
		return fmt.Errorf("%w: topic %s does not exist in project %s: pass the topic "+
			"infra/ created with --topic, or check --project", err, topic, project)
	case codes.PermissionDenied:
		return fmt.Errorf("%w: you may not publish to %s: ask for roles/pubsub.publisher "+
			"on it (infra/ variable rerun_publishers)", err, topic)
	}
	if errors.Is(err, context.DeadlineExceeded) {
		return fmt.Errorf("%w: raise --timeout, or check the network", err)
	}
	return err
}

func (a *app) printSent(s sent) {
	w := a.env.Stdout
	if s.Requests == 1 && s.Published == 1 {
		m := s.Messages[0]
		fmt.Fprintf(w, "published run request as message %s to %s\n", m.MessageID, s.Topic)
		return
	}
	fmt.Fprintf(w, "published %d of %d requests to %s in %s (%.0f per second), %d failed\n",
		s.Published, s.Requests, s.Topic, time.Duration(s.ElapsedSeconds*float64(time.Second)).
			Round(time.Millisecond), s.PerSecond, s.Failed)
	shown := 0
	for _, m := range s.Messages {
		if m.Error == "" {
			continue
		}
		if shown == 10 {
			fmt.Fprintf(w, "  ... (--json lists every failed request)\n")
			break
		}
		fmt.Fprintf(w, "  failed: %s %s..%s: %s\n", dash(m.ConversionID), m.StartDate, m.EndDate,
			m.Error)
		shown++
	}
}

// showProgress reports whether a progress bar of n steps is worth
// showing: on a terminal, for more than one step, with no JSON output.
func (a *app) showProgress(n int) bool { return a.env.Progress && !a.json && n > 1 }

// progress returns a progress bar on stderr for n steps of unit.
func (a *app) progress(n int, what, unit string) *progressbar.ProgressBar {
	return progressbar.NewOptions(n,
		progressbar.OptionSetWriter(a.env.Stderr),
		progressbar.OptionSetVisibility(a.showProgress(n)),
		progressbar.OptionSetDescription(what),
		progressbar.OptionShowCount(),
		progressbar.OptionShowIts(),
		progressbar.OptionSetItsString(unit),
		progressbar.OptionThrottle(100*time.Millisecond),
	)
}

// endProgress ends the line of a progress bar of n steps, if shown.
func (a *app) endProgress(n int) {
	if a.showProgress(n) {
		fmt.Fprintln(a.env.Stderr)
	}
}
