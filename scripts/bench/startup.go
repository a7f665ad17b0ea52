package main

import (
	"bufio"
	"bytes"
	"context"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"slices"
	"sort"
	"strconv"
	"syscall"
	"time"

	"customconversions.dev/functions/mergeconversion"
	"customconversions.dev/functions/runconversion"
	"customconversions.dev/shared/config"
	"customconversions.dev/shared/emulators"
	"customconversions.dev/shared/events"
)

// FloorName names the floor in reports; floorTarget is the function the
// floor registers (scripts/bench/floor).
const (
	FloorName   = "floor"
	floorTarget = "Floor"
)

// StartResult is how one function process starts and what it holds
// after answering many events.
type StartResult struct {
	Name string `json:"name"`
	// Starts are the times from exec to the first answered event, one
	// per start; Median is their median.
	Starts []Millis `json:"starts_ms"`
	Median Millis   `json:"median_ms"`
	// Memory is the process's memory after Events answered events.
	Events int    `json:"events"`
	Memory Memory `json:"memory"`
	// Init is the clock time of the package initialisers of one start
	// (GODEBUG=inittrace=1), and InitTop the costliest packages.
	Init    Millis     `json:"init_ms"`
	InitTop []InitCost `json:"init_top,omitempty"`
	Err     string     `json:"error,omitempty"`
}

// InitCost is the clock time a package's initialisers took.
type InitCost struct {
	Package string `json:"package"`
	Clock   Millis `json:"clock_ms"`
}

// starter is a function process the benchmark starts, and the event it
// posts: one that the function answers without any I/O.
type starter struct {
	name, bin, target string
	path              string // the push endpoint's path
	body              []byte // a Pub/Sub push body
	res               *StartResult
}

// startupOptions configures measureStartups.
type startupOptions struct {
	starts, events int
	dir            string // scratch folder: binaries, the processes' HOME
	log            io.Writer
}

// measureStartups builds the floor and the product's functions and, in
// rounds, starts each in turn and times its first answered event. An
// extra first round, not counted, traces package initialisation. In the
// last round each process then answers events in all before its memory
// is read.
func measureStartups(ctx context.Context, stack *emulators.Stack,
	o startupOptions) ([]*StartResult, error) {
	root, err := emulators.RepoRoot()
	if err != nil {
		return nil, err
	}
	floor := filepath.Join(o.dir, "floor")
	serve := filepath.Join(o.dir, "serve")
	for _, b := range []struct{ bin, pkg string }{
		{floor, "./scripts/bench/floor"}, {serve, "./scripts/serve"},
	} {
		bin, pkg := b.bin, b.pkg
		fmt.Fprintf(o.log, "bench: building %s\n", pkg)
		build := exec.CommandContext(ctx, "go", "build", "-o", bin, pkg)
		build.Dir = root
		if out, err := build.CombinedOutput(); err != nil {
			return nil, fmt.Errorf("building %s: %v\n%s", pkg, err, out)
		}
	}
	starters, err := newStarters(stack.Project(), floor, serve)
	if err != nil {
		return nil, err
	}
	home := filepath.Join(o.dir, "home")
	if err := os.MkdirAll(home, 0o755); err != nil {
		return nil, err
	}

	fmt.Fprintf(o.log, "bench: starting each function %d times\n", o.starts)
	for round := -1; round < o.starts; round++ {
		for _, s := range starters {
			if s.res.Err != "" {
				continue
			}
			events := 0
			if round == o.starts-1 {
				events = o.events
			}
			if err := s.start(ctx, stack, home, round < 0, events); err != nil {
				s.res.Err = err.Error()
			}
			if ctx.Err() != nil {
				return nil, ctx.Err()
			}
		}
	}

	var out []*StartResult
	for _, s := range starters {
		s.res.Median = median(s.res.Starts)
		out = append(out, s.res)
	}
	return out, nil
}

// newStarters returns the floor and the product's functions, each with
// an event it answers without I/O: for the floor and MergeConversion,
// the job event of another product's job; for RunConversion, a message
// that is not a run request.
func newStarters(project, floor, serve string) ([]*starter, error) {
	entry, err := events.NewLogEntry(events.JobEvent{ProjectID: project,
		JobID: "another_product_job", State: events.StateDone,
		Labels: map[string]string{"product": "another-product"}})
	if err != nil {
		return nil, err
	}
	jobEvents, err := pushBody(project, config.TopicJobEvents, entry)
	if err != nil {
		return nil, err
	}
	notRequest, err := pushBody(project, config.TopicRunRequests, []byte("not a run request"))
	if err != nil {
		return nil, err
	}
	topic := func(t string) string { return "/projects/" + project + "/topics/" + t }
	starters := []*starter{
		{name: FloorName, bin: floor, target: floorTarget,
			path: topic(config.TopicJobEvents), body: jobEvents},
		{name: runconversion.EntryPoint, bin: serve, target: runconversion.EntryPoint,
			path: topic(config.TopicRunRequests), body: notRequest},
		{name: mergeconversion.EntryPoint, bin: serve, target: mergeconversion.EntryPoint,
			path: topic(config.TopicJobEvents), body: jobEvents},
	}
	for _, s := range starters {
		s.res = &StartResult{Name: s.name}
	}
	return starters, nil
}

// pushBody returns the body Pub/Sub push posts for a message with data.
func pushBody(project, topic string, data []byte) ([]byte, error) {
	return json.Marshal(map[string]any{
		"subscription": "projects/" + project + "/subscriptions/" + topic + "-push",
		"message": map[string]any{
			"data":        base64.StdEncoding.EncodeToString(data),
			"messageId":   "1",
			"publishTime": time.Now().UTC().Format(time.RFC3339Nano),
		},
	})
}

// start starts s's process once and times its first answered event.
// With trace, it records package initialisation instead of the time.
// With events above zero, it then posts until that many were answered
// and reads the process's memory.
func (s *starter) start(ctx context.Context, stack *emulators.Stack, home string, trace bool,
	events int) error {
	port, err := freePort()
	if err != nil {
		return err
	}
	// Only the emulators' addresses and a project: nothing to find
	// credentials or a metadata server with, and a HOME of its own.
	cmd := exec.Command(s.bin)
	cmd.Env = append([]string{
		"HOME=" + home,
		"PORT=" + strconv.Itoa(port),
		"FUNCTION_TARGET=" + s.target,
		config.EnvStagingDataset + "=" + stagingDataset,
	}, stack.Env()...)
	var stderr bytes.Buffer
	if trace {
		cmd.Env = append(cmd.Env, "GODEBUG=inittrace=1")
		cmd.Stderr = &stderr
	}
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	url := "http://127.0.0.1:" + strconv.Itoa(port) + s.path

	begin := time.Now()
	if err := cmd.Start(); err != nil {
		return fmt.Errorf("starting %s: %w", s.name, err)
	}
	defer stopProcess(cmd)
	took, err := firstAnswer(ctx, url, s.body, begin, 10*time.Second)
	if err != nil {
		return fmt.Errorf("%s: %w", s.name, err)
	}
	if trace {
		// The trace is written before main runs, so it is all there.
		s.res.InitTop, s.res.Init = parseInitTrace(&stderr, 3)
		return nil
	}
	s.res.Starts = append(s.res.Starts, Millis(took))
	if events <= 0 {
		return nil
	}

	c := &http.Client{Transport: &http.Transport{Proxy: nil}, Timeout: 10 * time.Second}
	defer c.CloseIdleConnections()
	for i := 1; i < events; i++ {
		if err := post(ctx, c, url, s.body); err != nil {
			return fmt.Errorf("%s: event %d: %w", s.name, i+1, err)
		}
	}
	s.res.Events = events
	s.res.Memory, err = readMemory(cmd.Process.Pid)
	return err
}

// firstAnswer posts body to url until the process answers 2xx, and
// returns the time since begin. Any other answer is an error.
func firstAnswer(ctx context.Context, url string, body []byte, begin time.Time,
	limit time.Duration) (time.Duration, error) {
	c := &http.Client{Transport: &http.Transport{Proxy: nil, DisableKeepAlives: true},
		Timeout: limit}
	for {
		err := post(ctx, c, url, body)
		if err == nil {
			return time.Since(begin), nil
		}
		var refused *net.OpError
		if !errors.As(err, &refused) {
			return 0, err
		}
		if time.Since(begin) > limit {
			return 0, fmt.Errorf("no answer within %s: %w", limit, err)
		}
		time.Sleep(200 * time.Microsecond)
	}
}

// post posts one event and reads the answer, which must be 2xx.
func post(ctx context.Context, c *http.Client, url string, body []byte) error {
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, url, bytes.NewReader(body))
	if err != nil {
		return err
	}
	req.Header.Set("Content-Type", "application/json")
	resp, err := c.Do(req)
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(io.LimitReader(resp.Body, 512))
	if resp.StatusCode/100 != 2 {
		return fmt.Errorf("answered %s: %s", resp.Status, bytes.TrimSpace(b))
	}
	return nil
}

// stopProcess ends a started process's group: SIGTERM, then SIGKILL
// after five seconds.
func stopProcess(cmd *exec.Cmd) {
	pid := cmd.Process.Pid
	_ = syscall.Kill(-pid, syscall.SIGTERM)
	done := make(chan struct{})
	go func() {
		cmd.Wait()
		close(done)
	}()
	select {
	case <-done:
	case <-time.After(5 * time.Second):
		_ = syscall.Kill(-pid, syscall.SIGKILL)
		<-done
	}
}

// initLine matches a line of GODEBUG=inittrace=1's output.
var initLine = regexp.MustCompile(`^init (\S+) @[0-9.]+ ms, ([0-9.]+) ms clock`)

// parseInitTrace sums the clock time of each package's initialisers and
// returns the top n of them and the total.
func parseInitTrace(r io.Reader, n int) ([]InitCost, Millis) {
	byPkg := map[string]float64{}
	var total float64
	sc := bufio.NewScanner(r)
	for sc.Scan() {
		m := initLine.FindStringSubmatch(sc.Text())
		if m == nil {
			continue
		}
		ms, err := strconv.ParseFloat(m[2], 64)
		if err != nil {
			continue
		}
		byPkg[m[1]] += ms
		total += ms
	}
	var costs []InitCost
	for p, ms := range byPkg {
		costs = append(costs, InitCost{Package: p, Clock: Millis(ms * float64(time.Millisecond))})
	}
	sort.Slice(costs, func(a, b int) bool {
		if costs[a].Clock != costs[b].Clock {
			return costs[a].Clock > costs[b].Clock
		}
		return costs[a].Package < costs[b].Package
	})
	if len(costs) > n {
		costs = costs[:n]
	}
	return costs, Millis(total * float64(time.Millisecond))
}

// median returns the median of ds, or 0 for none.
func median(ds []Millis) Millis {
	if len(ds) == 0 {
		return 0
	}
	s := slices.Clone(ds)
	slices.Sort(s)
	if len(s)%2 == 1 {
		return s[len(s)/2]
	}
	return (s[len(s)/2-1] + s[len(s)/2]) / 2
}

// freePort returns a free port of 127.0.0.1.
func freePort() (int, error) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return 0, fmt.Errorf("finding a free port: %w", err)
	}
	defer l.Close()
	return l.Addr().(*net.TCPAddr).Port, nil
}
