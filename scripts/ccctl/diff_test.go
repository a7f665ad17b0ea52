package main

import (
	"strings"
	"testing"
)

func TestUnifiedDiff(t *testing.T) {
	ten := "1\n2\n3\n4\n5\n6\n7\n8\n9\n10\n"
	tests := []struct {
		name    string
		a, b    string
		context int
		want    string
	}{
		{"equal", "SELECT 1\n", "SELECT 1\n", 3, ""},
		{"one line changed", "a\nb\nc", "a\nB\nc", 1,
			"--- old\n+++ new\n@@ -1,3 +1,3 @@\n a\n-b\n+B\n c\n"},
		{"single lines", "x", "y", 3, "--- old\n+++ new\n@@ -1 +1 @@\n-x\n+y\n"},
		{"from nothing", "", "x\ny\n", 3, "--- old\n+++ new\n@@ -0,0 +1,2 @@\n+x\n+y\n"},
		{"to nothing", "x\n", "", 3, "--- old\n+++ new\n@@ -1 +0,0 @@\n-x\n"},
		{"line added", "a\nc", "a\nb\nc", 0, "--- old\n+++ new\n@@ -1,0 +2 @@\n+b\n"},
		{"two hunks", ten, strings.Replace(strings.Replace(ten, "2\n", "two\n", 1),
			"9\n", "nine\n", 1), 1,
			"--- old\n+++ new\n" +
				"@@ -1,3 +1,3 @@\n 1\n-2\n+two\n 3\n" +
				"@@ -8,3 +8,3 @@\n 8\n-9\n+nine\n 10\n"},
		{"close changes join", ten, strings.Replace(strings.Replace(ten, "2\n", "two\n", 1),
			"5\n", "five\n", 1), 1,
			"--- old\n+++ new\n" +
				"@@ -1,6 +1,6 @@\n 1\n-2\n+two\n 3\n 4\n-5\n+five\n 6\n"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got := unifiedDiff("old", "new", tt.a, tt.b, tt.context)
			if got != tt.want {
				t.Errorf("unifiedDiff(%q, %q, %d) =\n%s\nwant\n%s", tt.a, tt.b, tt.context, got, tt.want)
			}
		})
	}
}

func TestFieldChanges(t *testing.T) {
	old := []field{{"name", "Orders"}, {"enabled", "true"}, {"hash", "aa"}}
	new := []field{{"name", "Orders"}, {"enabled", "false"}, {"hash", "bb"}}
	got := fieldChanges(old, new)
	want := []change{{"enabled", "true", "false"}, {"hash", "aa", "bb"}}
	if len(got) != len(want) {
		t.Fatalf("fieldChanges = %v; want %v", got, want)
	}
	for i := range want {
		if got[i] != want[i] {
			t.Errorf("fieldChanges[%d] = %v; want %v", i, got[i], want[i])
		}
	}
}
