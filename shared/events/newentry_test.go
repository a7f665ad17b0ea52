package events

import (
	"encoding/json"
	"strings"
	"testing"
)

func TestNewLogEntryRoundTrip(t *testing.T) {
	full := JobEvent{
		ProjectID: "cc-local",
		JobID:     "cc_acme_orders_20240301_a1_merge",
		Location:  "europe-west2",
		State:     "DONE",
		Labels:    map[string]string{"client": "acme", "step": "merge"},
		Destination: Table{
			ProjectID: "cc-local",
			DatasetID: "acme_attribution",
			TableID:   "conversions",
		},
		StatementType:       "MERGE",
		TotalProcessedBytes: 1 << 40,
		TotalBilledBytes:    10485760,
		OutputRowCount:      0,
		CreateTime:          ts("2024-03-02T06:00:05.000000001Z"),
		StartTime:           ts("2024-03-02T07:00:06+01:00"),
		EndTime:             ts("2024-03-02T06:00:09.5Z"),
		Format:              FormatJobResource,
	}
	failedWithCode := full
	failedWithCode.Err = &JobError{Code: "ABORTED", Reason: "invalidQuery",
		Message: "Could not serialize access to table due to concurrent update"}
	failedWithoutCode := full
	failedWithoutCode.Err = &JobError{Reason: "invalidQuery", Message: "Syntax error at [2:1]"}
	child := JobEvent{
		ProjectID:     "p",
		JobID:         "script_job_1_0",
		ParentJobName: "projects/p/jobs/script_job_1",
	}

	tests := []struct {
		name string
		in   JobEvent
		want JobEvent
	}{
		{"succeeded", full, func() JobEvent {
			w := full
			w.Format = FormatAuditMetadata
			return w
		}()},
		{"failed with a code", failedWithCode, func() JobEvent {
			w := full
			w.Err = &JobError{Code: "ABORTED",
				Message: "Could not serialize access to table due to concurrent update"}
			w.Format = FormatAuditMetadata
			return w
		}()},
		{"failed without a code", failedWithoutCode, func() JobEvent {
			w := full
			w.Err = &JobError{Code: "UNKNOWN", Message: "Syntax error at [2:1]"}
			w.Format = FormatAuditMetadata
			return w
		}()},
		{"bare child job", child, JobEvent{
			ProjectID:     "p",
			JobID:         "script_job_1_0",
			State:         "DONE",
			ParentJobName: "projects/p/jobs/script_job_1",
			Format:        FormatAuditMetadata,
		}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			b, err := NewLogEntry(tt.in)
			if err != nil {
				t.Fatalf("NewLogEntry(%s) error = %v, want nil", tt.name, err)
			}
			got, ok, err := ParseLogEntry(b)
			if err != nil || !ok {
				t.Fatalf("ParseLogEntry(NewLogEntry(%s)) = ok %v, error %v; want true, nil\n%s",
					tt.name, ok, err, b)
			}
			for _, d := range jobDiffs(got, tt.want) {
				t.Errorf("ParseLogEntry(NewLogEntry(%s)).%s", tt.name, d)
			}
		})
	}
}

func TestNewLogEntryShape(t *testing.T) {
	failed := currentDoneJob
	failed.Err = &JobError{Code: "PERMISSION_DENIED", Message: "Access Denied"}
	b, err := NewLogEntry(failed)
	if err != nil {
		t.Fatal(err)
	}
	var entry map[string]any
	if err := json.Unmarshal(b, &entry); err != nil {
		t.Fatal(err)
	}

	// What a production log sink filter and Cloud Logging rely on.
	tests := []struct {
		path string
		want any
	}{
		{"severity", "ERROR"},
		{"timestamp", "2024-03-02T06:00:04.987654321Z"},
		{"resource.type", "bigquery_project"},
		{"resource.labels.project_id", "cc-prod"},
		{"resource.labels.location", "EU"},
		{"protoPayload.serviceName", "bigquery.googleapis.com"},
		{"protoPayload.methodName", "google.cloud.bigquery.v2.JobService.InsertJob"},
		{"protoPayload.resourceName", "projects/cc-prod/jobs/cc_acme_orders_20240301_a1_extract"},
		{"protoPayload.status.code", 7.0},
		{"protoPayload.metadata.jobChange.before", "RUNNING"},
		{"protoPayload.metadata.jobChange.after", "DONE"},
		{"protoPayload.metadata.jobChange.job.jobConfig.labels.client", "acme"},
		{"protoPayload.metadata.jobChange.job.jobConfig.queryConfig.destinationTable",
			"projects/cc-prod/datasets/cc_staging/tables/acme_orders_20240301_a1"},
		{"protoPayload.metadata.jobChange.job.jobStatus.jobState", "DONE"},
		{"protoPayload.metadata.jobChange.job.jobStatus.errorResult.code", 7.0},
		{"protoPayload.metadata.jobChange.job.jobStatus.errorResult.message", "Access Denied"},
		// proto3 JSON writes int64 as strings.
		{"protoPayload.metadata.jobChange.job.jobStats.queryStats.totalProcessedBytes",
			"73400320"},
		{"protoPayload.metadata.jobChange.job.jobStats.queryStats.outputRowCount", "1842"},
		{"protoPayload.metadata.jobChange.job.jobStats.createTime", "2024-03-02T06:00:01.25Z"},
	}
	for _, tt := range tests {
		if got := lookup(entry, tt.path); got != tt.want {
			t.Errorf("NewLogEntry(failed job) %s = %#v, want %#v", tt.path, got, tt.want)
		}
	}
}

// lookup follows a dotted path through decoded JSON objects.
func lookup(v any, path string) any {
	for _, k := range strings.Split(path, ".") {
		m, ok := v.(map[string]any)
		if !ok {
			return nil
		}
		v = m[k]
	}
	return v
}

func TestNewLogEntryErrors(t *testing.T) {
	tests := []struct {
		name string
		in   JobEvent
	}{
		{"no project", JobEvent{JobID: "j"}},
		{"no job id", JobEvent{ProjectID: "p"}},
		{"still running", JobEvent{ProjectID: "p", JobID: "j", State: "RUNNING"}},
		{"error code OK", JobEvent{ProjectID: "p", JobID: "j",
			Err: &JobError{Code: "OK", Message: "fine"}}},
		{"unknown error code name", JobEvent{ProjectID: "p", JobID: "j",
			Err: &JobError{Code: "BROKEN"}}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if b, err := NewLogEntry(tt.in); err == nil {
				t.Errorf("NewLogEntry(%s) = %s, nil; want an error", tt.name, b)
			}
		})
	}
}
