package main

import (
	"bytes"
	"context"
	"os"
	"strings"
	"testing"
	"time"

	"customconversions.dev/shared/emulators"
	"customconversions.dev/shared/testkit"
)

func TestMain(m *testing.M) {
	os.Exit(emulators.Main(m, emulators.Options{}))
}

// cli runs ccctl in-process for one test, against the test's own
// Firestore and Pub/Sub project and the stack's BigQuery project.
type cli struct {
	t   *testing.T
	env *testkit.Env
}

func newCLI(t *testing.T) *cli {
	t.Helper()
	return &cli{t: t, env: testkit.NewEnv(t)}
}

// result is what one run of the command gave.
type result struct {
	code           int
	stdout, stderr string
}

// run runs ccctl with the test's project flags and args. Its environment
// is the process's (which emulators.Main pointed at the emulators) with
// USER set to "tester".
func (c *cli) run(args ...string) result {
	c.t.Helper()
	base := []string{"--project", c.env.Names.Project,
		"--jobs-project", c.env.Names.BigQueryProject, "--timeout", "90s"}
	return runCommand(c.t, func(k string) string {
		if k == "USER" {
			return "tester"
		}
		return os.Getenv(k)
	}, append(base, args...)...)
}

// runCommand runs ccctl with getenv and args and captures its output.
func runCommand(t *testing.T, getenv func(string) string, args ...string) result {
	t.Helper()
	var stdout, stderr bytes.Buffer
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
	defer cancel()
	code := Run(ctx, args, Env{Stdout: &stdout, Stderr: &stderr, Getenv: getenv})
	return result{code: code, stdout: stdout.String(), stderr: stderr.String()}
}

// want fails the test unless r has code and its stdout and stderr hold
// every string given.
func (r result) want(t *testing.T, code int, stdout []string, stderr ...string) {
	t.Helper()
	if r.code != code {
		t.Errorf("exit code %d; want %d\nstdout:\n%s\nstderr:\n%s", r.code, code, r.stdout, r.stderr)
		return
	}
	for _, s := range stdout {
		if !strings.Contains(r.stdout, s) {
			t.Errorf("stdout lacks %q:\n%s\nstderr:\n%s", s, r.stdout, r.stderr)
		}
	}
	for _, s := range stderr {
		if !strings.Contains(r.stderr, s) {
			t.Errorf("stderr lacks %q:\n%s", s, r.stderr)
		}
	}
}
