package events

import "testing"

func TestParseJob(t *testing.T) {
	tests := []struct {
		name string
		data []byte
		want JobEvent
	}{
		{
			// A script whose first statement failed: DONE, with an error.
			// Times are milliseconds: 1725461382806 ms is
			// 2024-09-04T14:49:42.806Z.
			name: "bigquery-job-done-with-error.json",
			data: sample(t, "bigquery-job-done-with-error.json"),
			want: JobEvent{
				ProjectID: "gcpdiag-bigquery1-aaaa",
				JobID:     "job1",
				Location:  "US",
				State:     "DONE",
				Err: &JobError{
					Reason:  "invalidQuery",
					Message: "Query error: Result of ORDER BY queries cannot be clustered. at [2:1]",
				},
				StatementType: "SCRIPT",
				CreateTime:    ts("2024-09-04T14:49:42.806Z"),
				StartTime:     ts("2024-09-04T14:49:42.902Z"),
				EndTime:       ts("2024-09-04T14:49:43.642Z"),
				Format:        FormatJobResource,
			},
		},
		{
			name: "child job with destination",
			data: []byte(`{
				"jobReference": {"projectId": "p", "jobId": "s_0", "location": "EU"},
				"configuration": {"labels": {"step": "extract"}, "query": {
					"destinationTable": {"projectId": "p", "datasetId": "d", "tableId": "t"}}},
				"statistics": {"creationTime": "1000", "parentJobId": "s",
					"query": {"totalBytesProcessed": "5", "totalBytesBilled": "10485760",
						"statementType": "SELECT"}},
				"status": {"state": "DONE"}}`),
			want: JobEvent{
				ProjectID:           "p",
				JobID:               "s_0",
				Location:            "EU",
				State:               "DONE",
				Labels:              map[string]string{"step": "extract"},
				StatementType:       "SELECT",
				Destination:         Table{ProjectID: "p", DatasetID: "d", TableID: "t"},
				TotalProcessedBytes: 5,
				TotalBilledBytes:    10485760,
				ParentJobName:       "projects/p/jobs/s",
				CreateTime:          ts("1970-01-01T00:00:01Z"),
				Format:              FormatJobResource,
			},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := ParseJob(tt.data)
			if err != nil {
				t.Fatalf("ParseJob(%s) error = %v, want nil", tt.name, err)
			}
			for _, d := range jobDiffs(got, tt.want) {
				t.Errorf("ParseJob(%s).%s", tt.name, d)
			}
		})
	}
}

func TestParseJobThroughLogEntry(t *testing.T) {
	// What a local log sink does with a job read from the emulator.
	job, err := ParseJob(sample(t, "bigquery-job-done-with-error.json"))
	if err != nil {
		t.Fatal(err)
	}
	b, err := NewLogEntry(job)
	if err != nil {
		t.Fatalf("NewLogEntry(ParseJob(sample)) error = %v", err)
	}
	got, ok, err := ParseLogEntry(b)
	if err != nil || !ok {
		t.Fatalf("ParseLogEntry = ok %v, error %v; want true, nil", ok, err)
	}
	if !got.Failed() {
		t.Fatalf("ParseLogEntry(NewLogEntry(failed job)).Failed() = false, want true")
	}
	// The audit format has no reason; the code becomes UNKNOWN.
	want := JobError{Code: "UNKNOWN",
		Message: "Query error: Result of ORDER BY queries cannot be clustered. at [2:1]"}
	if *got.Err != want {
		t.Errorf("ParseLogEntry(NewLogEntry(failed job)).Err = %+v, want %+v", *got.Err, want)
	}
}

func TestParseJobErrors(t *testing.T) {
	tests := []struct {
		name string
		data string
	}{
		{"not JSON", `job1`},
		{"no job reference", `{"status": {"state": "DONE"}}`},
		{"bad time", `{"jobReference": {"projectId": "p", "jobId": "j"},
			"statistics": {"endTime": "2024-09-04"}}`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got, err := ParseJob([]byte(tt.data)); err == nil {
				t.Errorf("ParseJob(%s) = %+v, nil; want an error", tt.name, got)
			}
		})
	}
}
