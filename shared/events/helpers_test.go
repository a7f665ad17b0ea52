package events

import (
	"fmt"
	"maps"
	"os"
	"path/filepath"
	"testing"
	"time"
)

// sample returns the contents of testdata/name.
func sample(t *testing.T, name string) []byte {
	t.Helper()
	b, err := os.ReadFile(filepath.Join("testdata", name))
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// ts parses an RFC 3339 time written in a test's expectations.
func ts(s string) time.Time {
	t, err := time.Parse(time.RFC3339Nano, s)
	if err != nil {
		panic(err)
	}
	return t
}

// jobDiffs lists, one line per field, where got differs from want.
func jobDiffs(got, want JobEvent) []string {
	var d []string
	check := func(field string, g, w any) {
		if g != w {
			d = append(d, fmt.Sprintf("%s = %#v, want %#v", field, g, w))
		}
	}
	check("ProjectID", got.ProjectID, want.ProjectID)
	check("JobID", got.JobID, want.JobID)
	check("Location", got.Location, want.Location)
	check("State", got.State, want.State)
	switch {
	case got.Err == nil && want.Err == nil:
	case got.Err == nil || want.Err == nil:
		d = append(d, fmt.Sprintf("Err = %v, want %v", got.Err, want.Err))
	default:
		check("Err.Code", got.Err.Code, want.Err.Code)
		check("Err.Reason", got.Err.Reason, want.Err.Reason)
		check("Err.Message", got.Err.Message, want.Err.Message)
	}
	if !maps.Equal(got.Labels, want.Labels) || (got.Labels == nil) != (want.Labels == nil) {
		d = append(d, fmt.Sprintf("Labels = %v, want %v", got.Labels, want.Labels))
	}
	check("StatementType", got.StatementType, want.StatementType)
	check("Destination", got.Destination, want.Destination)
	check("TotalProcessedBytes", got.TotalProcessedBytes, want.TotalProcessedBytes)
	check("TotalBilledBytes", got.TotalBilledBytes, want.TotalBilledBytes)
	check("OutputRowCount", got.OutputRowCount, want.OutputRowCount)
	check("ParentJobName", got.ParentJobName, want.ParentJobName)
	checkTime := func(field string, g, w time.Time) {
		// The same instant, and in UTC as documented.
		if !g.Equal(w) || (!g.IsZero() && g.Location() != time.UTC) {
			d = append(d, fmt.Sprintf("%s = %v, want %v in UTC", field, g, w))
		}
	}
	checkTime("CreateTime", got.CreateTime, want.CreateTime)
	checkTime("StartTime", got.StartTime, want.StartTime)
	checkTime("EndTime", got.EndTime, want.EndTime)
	check("Format", got.Format, want.Format)
	return d
}
