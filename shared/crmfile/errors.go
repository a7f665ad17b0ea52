package crmfile

import (
	"fmt"
	"strings"
)

// Error is a problem with the input file, located as precisely as the
// problem allows, with what to do about it.
type Error struct {
	// File is the file's name as given to Read.
	File string
	// Line is the 1-based line where the problem is; 0 when it concerns
	// the whole file.
	Line int
	// Column names the column (or, in JSON, the field path); "" when the
	// problem is not in one column.
	Column string
	// Problem says what is wrong; Fix says what to do about it.
	Problem, Fix string
	// Err is the underlying cause, if any.
	Err error
}

// Error formats the problem as "crmfile: FILE:LINE: column C: PROBLEM: FIX".
func (e *Error) Error() string {
	var b strings.Builder
	b.WriteString("crmfile: ")
	b.WriteString(e.File)
	if e.Line > 0 {
		fmt.Fprintf(&b, ":%d", e.Line)
	}
	if e.Column != "" {
		fmt.Fprintf(&b, ": column %s", e.Column)
	}
	b.WriteString(": ")
	b.WriteString(e.Problem)
	if e.Fix != "" {
		b.WriteString(": ")
		b.WriteString(e.Fix)
	}
	return b.String()
}

// Unwrap returns the underlying cause.
func (e *Error) Unwrap() error { return e.Err }
