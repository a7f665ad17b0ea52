package main

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/spf13/cobra"
)

// noEnv is an empty environment: no project, so any command that got as
// far as opening a Google Cloud client would stop with a usage error
// instead of reaching out.
func noEnv(string) string { return "" }

func TestUsageErrors(t *testing.T) {
	dir := t.TempDir()
	noSQL := filepath.Join(dir, "nosql.yaml")
	if err := os.WriteFile(noSQL, []byte("id: orders\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	good := filepath.Join(dir, "good.yaml")
	if err := os.WriteFile(good, []byte("id: orders\nsql: SELECT 1 AS created\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		args   []string
		code   int
		stderr string
	}{
		{nil, exitUsage, "ccctl needs a command"},
		{[]string{"frob"}, exitUsage, `unknown command "frob"`},
		{[]string{"client", "frob"}, exitUsage, `unknown command "frob" for "ccctl client"`},
		{[]string{"client", "create"}, exitUsage, "needs CLIENT"},
		{[]string{"client", "create", "acme"}, exitUsage, "required flag(s)"},
		{[]string{"client", "show", "a", "b"}, exitUsage, "takes 1 argument(s), not 2"},
		{[]string{"client", "show", "acme", "--nope"}, exitUsage, "unknown flag: --nope"},
		{[]string{"client", "create", "Acme!", "--currency", "GBP", "--time-zone", "UTC",
			"--bigquery-project", "acme-data", "--dataset", "attr"}, exitUsage, "client id"},
		{[]string{"client", "create", "acme", "--currency", "POUND", "--time-zone", "UTC",
			"--bigquery-project", "acme-data", "--dataset", "attr"}, exitUsage,
			`default_currency "POUND"`},
		{[]string{"client", "create", "acme", "--currency", "GBP", "--time-zone", "Mars/Base",
			"--bigquery-project", "acme-data", "--dataset", "attr.x"}, exitUsage,
			"attribution_dataset"},
		{[]string{"client", "update", "acme"}, exitUsage, "nothing to change"},
		{[]string{"client", "list"}, exitUsage, "no project: pass --project"},
		{[]string{"conversion", "check", filepath.Join(dir, "missing.yaml")}, exitUsage,
			"no such file"},
		{[]string{"conversion", "check", noSQL}, exitUsage, "no SQL"},
		{[]string{"conversion", "check", good}, exitUsage, "no project"},
		{[]string{"conversion", "apply", good}, exitUsage, `"client" not set`},
		{[]string{"conversion", "preview", "--client", "acme"}, exitUsage,
			"at least one of the flags in the group [conversion file]"},
		{[]string{"conversion", "preview", "--client", "acme", "--conversion", "o",
			"--limit", "0"}, exitUsage, "--limit 0"},
		{[]string{"backfill", "--client", "acme", "--start", "2025-01-01"}, exitUsage,
			`"end" not set`},
		{[]string{"backfill", "--client", "acme", "--start", "2025-02-30", "--end",
			"2025-03-01"}, exitUsage, `--start "2025-02-30"`},
		{[]string{"backfill", "--client", "acme", "--start", "2025-03-01", "--end",
			"2025-02-01"}, exitUsage, "before --start"},
		{[]string{"backfill", "--client", "acme", "--start", "2025-01-01", "--end",
			"2025-02-01", "--chunk-days", "367"}, exitUsage, "--chunk-days 367"},
		{[]string{"runs", "show", "--client", "acme", "run-1"}, exitUsage, "not one this product"},
		{[]string{"runs", "list", "--client", "acme", "--limit", "5000"}, exitUsage, "--limit 5000"},
	}
	for _, tt := range tests {
		t.Run(strings.Join(tt.args, " "), func(t *testing.T) {
			r := runCommand(t, noEnv, tt.args...)
			r.want(t, tt.code, nil, tt.stderr)
			if r.code == exitUsage && !strings.Contains(r.stderr, "--help' for usage") {
				t.Errorf("stderr does not point to --help:\n%s", r.stderr)
			}
		})
	}
}

// TestHelp asks every command for --help: each answers on stdout with
// exit 0 and lists the exit codes.
func TestHelp(t *testing.T) {
	var paths [][]string
	var walk func(c *cobra.Command, path []string)
	walk = func(c *cobra.Command, path []string) {
		paths = append(paths, path)
		for _, sub := range c.Commands() {
			if sub.IsAvailableCommand() && sub.Name() != "completion" {
				walk(sub, append(append([]string(nil), path...), sub.Name()))
			}
		}
	}
	walk((&app{env: Env{Getenv: noEnv}}).root(), nil)
	if len(paths) < 18 {
		t.Fatalf("found %d commands; want at least 18: %v", len(paths), paths)
	}
	for _, p := range paths {
		t.Run(strings.Join(append([]string{"ccctl"}, p...), " "), func(t *testing.T) {
			r := runCommand(t, noEnv, append(p, "--help")...)
			r.want(t, exitOK, []string{"Usage:", "Exit codes:", "3  a definition's SQL failed"})
		})
	}
}
