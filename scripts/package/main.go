// Command package writes the zip archive that both Cloud Functions deploy
// from, laid out as the Go buildpack wants it: go.mod, go.sum and a single
// generated package at the root, which imports the function packages, and
// the module's functions/ and shared/ trees below it, without tests.
//
// Usage:
//
//	go run ./scripts/package [-root DIR] [-o FILE]
//
// It prints the archive's SHA-256 digest and path, as sha256sum does. The
// same source always gives the same bytes.
package main

import (
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"path/filepath"
)

func main() {
	root := flag.String("root", "",
		"module root (default: the nearest directory at or above this one holding go.mod)")
	out := flag.String("o", "function-source.zip", "archive to write")
	flag.Parse()

	if err := run(*root, *out, os.Stdout); err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
}

func run(root, out string, stdout io.Writer) error {
	if root == "" {
		wd, err := os.Getwd()
		if err != nil {
			return fmt.Errorf("package: %w", err)
		}
		if root, err = FindRoot(wd); err != nil {
			return err
		}
	}

	// Write beside the target and rename, so that a failed run never
	// leaves a partial archive where the deploy script looks for one.
	f, err := os.CreateTemp(filepath.Dir(out), ".package-*.zip")
	if err != nil {
		return fmt.Errorf("package: %w", err)
	}
	defer os.Remove(f.Name())

	h := sha256.New()
	names, err := Build(io.MultiWriter(f, h), root)
	if cerr := f.Close(); err == nil && cerr != nil {
		err = fmt.Errorf("package: %w", cerr)
	}
	if err != nil {
		return err
	}
	if err := os.Rename(f.Name(), out); err != nil {
		return fmt.Errorf("package: %w", err)
	}

	fmt.Fprintf(os.Stderr, "package: wrote %s: %d files from %s\n", out, len(names), root)
	_, err = fmt.Fprintf(stdout, "%s  %s\n", hex.EncodeToString(h.Sum(nil)), out)
	return err
}

// FindRoot returns dir or the nearest directory above it that holds a
// go.mod file.
func FindRoot(dir string) (string, error) {
	dir, err := filepath.Abs(dir)
	if err != nil {
		return "", fmt.Errorf("package: %w", err)
	}
	for d := dir; ; {
		if _, err := os.Stat(filepath.Join(d, "go.mod")); err == nil {
			return d, nil
		} else if !errors.Is(err, os.ErrNotExist) {
			return "", fmt.Errorf("package: %w", err)
		}
		up := filepath.Dir(d)
		if up == d {
			return "", fmt.Errorf("package: no go.mod in %s or above", dir)
		}
		d = up
	}
}
