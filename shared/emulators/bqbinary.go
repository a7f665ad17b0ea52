package emulators

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"time"
)

// EnvBigQueryBinary names a built BigQuery emulator binary to use instead
// of the cached one.
const EnvBigQueryBinary = "CC_BIGQUERY_EMULATOR"

// rootModule is the module path whose go.mod marks the repository root.
const rootModule = "customconversions.dev"

// emulatorPkg is the emulator's main package, built from scripts/bqemulator.
const emulatorPkg = "github.com/goccy/bigquery-emulator/cmd/bigquery-emulator"

// BigQueryBinaryPath returns where the BigQuery emulator binary is looked
// for: $CC_BIGQUERY_EMULATOR when set, else
// $HOME/.cache/custom-conversions/bigquery-emulator.
func BigQueryBinaryPath() (string, error) {
	if p := os.Getenv(EnvBigQueryBinary); p != "" {
		return p, nil
	}
	home, err := os.UserHomeDir()
	if err != nil {
		return "", fmt.Errorf("emulators: locating the BigQuery emulator: %w; set %s",
			err, EnvBigQueryBinary)
	}
	return filepath.Join(home, ".cache", "custom-conversions", "bigquery-emulator"), nil
}

// EnsureBigQueryBinary returns the path of the BigQuery emulator binary,
// building it first when it is missing. A binary named by
// $CC_BIGQUERY_EMULATOR is never built: it must exist. Progress lines go
// to log.
func EnsureBigQueryBinary(ctx context.Context, log io.Writer) (string, error) {
	path, err := BigQueryBinaryPath()
	if err != nil {
		return "", err
	}
	if isFile(path) {
		return path, nil
	}
	if os.Getenv(EnvBigQueryBinary) != "" {
		return "", fmt.Errorf("emulators: %s=%s: no such file: build it or unset %s",
			EnvBigQueryBinary, path, EnvBigQueryBinary)
	}
	return path, buildBigQuery(ctx, path, log)
}

// buildBigQuery builds the emulator into path from the scripts/bqemulator
// module, holding a lock so that concurrent test packages build it once.
func buildBigQuery(ctx context.Context, path string, log io.Writer) error {
	src, err := bqModuleDir()
	if err != nil {
		return err
	}
	goBin, err := exec.LookPath("go")
	if err != nil {
		return missing("go", hintGo)
	}
	if _, err := exec.LookPath("clang"); err != nil {
		return missing("clang", hintClang)
	}
	if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
		return fmt.Errorf("emulators: building the BigQuery emulator: %w", err)
	}
	unlock, err := lockFile(path + ".lock")
	if err != nil {
		return err
	}
	defer unlock()
	if isFile(path) { // another process built it while this one waited
		return nil
	}

	fmt.Fprintf(log, "emulators: building the BigQuery emulator into %s\n", path)
	fmt.Fprintln(log, "emulators: the first build takes 15-25 minutes on 2 cores and needs "+
		"clang; later builds take seconds")
	start := time.Now()
	tmp := path + ".tmp"
	cmd := exec.CommandContext(ctx, goBin, "build", "-o", tmp, emulatorPkg)
	cmd.Dir = src
	cmd.Env = append(os.Environ(), "CGO_ENABLED=1", "CC=clang", "CXX=clang++")
	out, err := cmd.CombinedOutput()
	if err != nil {
		_ = os.Remove(tmp)
		return fmt.Errorf("emulators: building the BigQuery emulator in %s: %w\n%s", src, err, out)
	}
	if err := os.Rename(tmp, path); err != nil {
		return fmt.Errorf("emulators: building the BigQuery emulator: %w", err)
	}
	took := time.Since(start).Round(time.Second)
	fmt.Fprintf(log, "emulators: built the BigQuery emulator in %s\n", took)
	return nil
}

// bqModuleDir finds scripts/bqemulator in the repository.
func bqModuleDir() (string, error) {
	root, err := RepoRoot()
	if err != nil {
		return "", fmt.Errorf("%w, or set %s to a built binary", err, EnvBigQueryBinary)
	}
	return filepath.Join(root, "scripts", "bqemulator"), nil
}

// RepoRoot returns the repository's root: the first folder at or above
// the working directory whose go.mod declares module customconversions.dev.
func RepoRoot() (string, error) {
	dir, err := os.Getwd()
	if err != nil {
		return "", fmt.Errorf("emulators: finding the repository root: %w", err)
	}
	for d := dir; ; d = filepath.Dir(d) {
		if modulePath(filepath.Join(d, "go.mod")) == rootModule {
			return d, nil
		}
		if filepath.Dir(d) == d {
			return "", fmt.Errorf("emulators: no go.mod of module %s at or above %s: "+
				"run from inside the repository", rootModule, dir)
		}
	}
}

// modulePath returns the module path declared in the go.mod at path, or "".
func modulePath(path string) string {
	f, err := os.Open(path)
	if err != nil {
		return ""
	}
	defer f.Close()
	s := bufio.NewScanner(f)
	for s.Scan() {
		if rest, ok := strings.CutPrefix(strings.TrimSpace(s.Text()), "module"); ok {
			return strings.Trim(strings.TrimSpace(rest), `"`)
		}
	}
	return ""
}

// lockFile takes an exclusive lock on path, waiting for it.
func lockFile(path string) (func(), error) {
	f, err := os.OpenFile(path, os.O_CREATE|os.O_RDWR, 0o644)
	if err != nil {
		return nil, fmt.Errorf("emulators: locking %s: %w", path, err)
	}
	for {
		err = syscall.Flock(int(f.Fd()), syscall.LOCK_EX)
		if !errors.Is(err, syscall.EINTR) {
			break
		}
	}
	if err != nil {
		f.Close()
		return nil, fmt.Errorf("emulators: locking %s: %w", path, err)
	}
	return func() {
		_ = syscall.Flock(int(f.Fd()), syscall.LOCK_UN)
		f.Close()
	}, nil
}

func isFile(path string) bool {
	fi, err := os.Stat(path)
	return err == nil && fi.Mode().IsRegular()
}
