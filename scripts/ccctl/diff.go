package main

import (
	"fmt"
	"io"
	"strings"
)

// change is a field whose value differs between two versions.
type change struct {
	Field string `json:"field"`
	Old   string `json:"old"`
	New   string `json:"new"`
}

// fieldChanges compares two versions of the same record, field by field;
// old and new list the same fields in the same order.
func fieldChanges(old, new []field) []change {
	var cs []change
	for i := range old {
		if old[i].value != new[i].value {
			cs = append(cs, change{Field: old[i].name, Old: old[i].value, New: new[i].value})
		}
	}
	return cs
}

// printChanges writes one "field: old -> new" line per change.
func printChanges(w io.Writer, cs []change) error {
	var fs []field
	for _, c := range cs {
		fs = append(fs, field{"  " + c.Field, fmt.Sprintf("%q -> %q", c.Old, c.New)})
	}
	return printFields(w, fs)
}

// edit is one line of a line-by-line comparison: kept (' '), deleted
// ('-') or inserted ('+').
type edit struct {
	kind byte
	text string
}

// maxDiffCells bounds the comparison table; past it, a diff shows every
// old line deleted and every new one inserted.
const maxDiffCells = 4 << 20

// lineEdits returns the shortest edit script turning lines a into b,
// from their longest common subsequence.
func lineEdits(a, b []string) []edit {
	if (len(a)+1)*(len(b)+1) > maxDiffCells {
		var es []edit
		for _, l := range a {
			es = append(es, edit{'-', l})
		}
		for _, l := range b {
			es = append(es, edit{'+', l})
		}
		return es
	}
	// lcs[i][j] is the length of the longest common subsequence of a[i:]
	// and b[j:].
	lcs := make([][]int, len(a)+1)
	for i := range lcs {
		lcs[i] = make([]int, len(b)+1)
	}
	for i := len(a) - 1; i >= 0; i-- {
		for j := len(b) - 1; j >= 0; j-- {
			if a[i] == b[j] {
				lcs[i][j] = lcs[i+1][j+1] + 1
			} else {
				lcs[i][j] = max(lcs[i+1][j], lcs[i][j+1])
			}
		}
	}

	var es []edit
	i, j := 0, 0
	for i < len(a) && j < len(b) {
		switch {
		case a[i] == b[j]:
			es = append(es, edit{' ', a[i]})
			i, j = i+1, j+1
		case lcs[i+1][j] >= lcs[i][j+1]:
			es = append(es, edit{'-', a[i]})
			i++
		default:
			es = append(es, edit{'+', b[j]})
			j++
		}
	}
	for ; i < len(a); i++ {
		es = append(es, edit{'-', a[i]})
	}
	for ; j < len(b); j++ {
		es = append(es, edit{'+', b[j]})
	}
	return es
}

// unifiedDiff returns the differences between texts a and b in the
// unified format, with context unchanged lines around each change, under
// the headers "--- aName" and "+++ bName"; "" when they are equal.
func unifiedDiff(aName, bName, a, b string, context int) string {
	es := lineEdits(lines(a), lines(b))

	// before[k] counts the lines of a and of b before edit k.
	type pos struct{ a, b int }
	before := make([]pos, len(es)+1)
	for k, e := range es {
		before[k+1] = before[k]
		if e.kind != '+' {
			before[k+1].a++
		}
		if e.kind != '-' {
			before[k+1].b++
		}
	}

	var out strings.Builder
	for k := 0; k < len(es); {
		if es[k].kind == ' ' {
			k++
			continue
		}
		// A hunk runs from context lines before this change to context
		// lines after the last change that is close enough to join it.
		start, end := max(0, k-context), k+1
		for end < len(es) {
			next := end
			for next < len(es) && es[next].kind == ' ' {
				next++
			}
			if next == len(es) || next-end > 2*context {
				break
			}
			end = next + 1
		}
		end = min(len(es), end+context)

		if out.Len() == 0 {
			fmt.Fprintf(&out, "--- %s\n+++ %s\n", aName, bName)
		}
		from, to := before[start], before[end]
		fmt.Fprintf(&out, "@@ -%s +%s @@\n", span(from.a, to.a-from.a), span(from.b, to.b-from.b))
		for _, e := range es[start:end] {
			fmt.Fprintf(&out, "%c%s\n", e.kind, e.text)
		}
		k = end
	}
	return out.String()
}

// span writes a hunk's range: its first line (1-based) and length, or
// the line before it when it is empty.
func span(before, n int) string {
	if n == 0 {
		return fmt.Sprintf("%d,0", before)
	}
	if n == 1 {
		return fmt.Sprint(before + 1)
	}
	return fmt.Sprintf("%d,%d", before+1, n)
}

// lines splits s into lines; "" has none.
func lines(s string) []string {
	if s == "" {
		return nil
	}
	return strings.Split(strings.TrimSuffix(s, "\n"), "\n")
}
