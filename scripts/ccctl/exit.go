package main

import (
	"errors"
	"fmt"
)

// Exit codes that scripts can rely on.
const (
	exitOK     = 0 // the command did what it was asked
	exitFailed = 1 // the operation failed (not found, network, a run failed)
	exitUsage  = 2 // the command line is wrong: nothing was done
	exitCheck  = 3 // a definition's SQL failed its checks: nothing was written
)

// exitCodes documents the exit codes in every command's help.
const exitCodes = `
Exit codes:
  0  ok
  1  the operation failed (not found, refused by Google Cloud, a run failed)
  2  usage error: a bad flag, argument or value; nothing was done
  3  a definition's SQL failed its checks; nothing was written
`

// exitError is an error that ends the command with code.
type exitError struct {
	code int
	err  error
}

func (e *exitError) Error() string { return e.err.Error() }
func (e *exitError) Unwrap() error { return e.err }

// usageError marks err as a mistake in the command line.
func usageError(err error) error { return &exitError{exitUsage, err} }

func usagef(format string, args ...any) error {
	return usageError(fmt.Errorf(format, args...))
}

// checkError marks err as a definition that failed its checks.
func checkError(err error) error { return &exitError{exitCheck, err} }

// exitCode returns the code err ends the command with. A command's own
// errors carry one (failed unless marked otherwise); an error without
// one comes from parsing the command line.
func exitCode(err error) int {
	var e *exitError
	switch {
	case err == nil:
		return exitOK
	case errors.As(err, &e):
		return e.code
	}
	return exitUsage
}

// failed gives err the code exitFailed unless it carries a code already.
func failed(err error) error {
	var e *exitError
	if err == nil || errors.As(err, &e) {
		return err
	}
	return &exitError{exitFailed, err}
}
