package events

import (
	"encoding/json"
	"testing"
)

// Expected events, worked out by reading the sample files.
var (
	// testdata/audit_LogEntryData-bigqueryjobcompleted.json
	legacySampleJob = JobEvent{
		ProjectID:     "test-project",
		JobID:         "bqjob_r3ac45813612fa2d6_0000017d591922c9_1",
		Location:      "US",
		State:         "DONE",
		StatementType: "SELECT",
		Destination: Table{
			ProjectID: "test-project",
			DatasetID: "_1f5a368b27df6124588f6733820599593e869a8a",
			TableID:   "anon1f50c147_3e76_44d8_a863_44a8ab3deb61",
		},
		TotalProcessedBytes: 1449319174,
		TotalBilledBytes:    1450180608,
		OutputRowCount:      10,
		CreateTime:          ts("2021-11-25T21:55:59.872Z"),
		StartTime:           ts("2021-11-25T21:55:59.956Z"),
		EndTime:             ts("2021-11-25T21:56:00.236Z"),
		Format:              FormatAuditData,
	}

	// testdata/logging-entries-jobcompleted.json, entries[0] and [1]
	lookerJobs = []JobEvent{
		{
			ProjectID: "looker-dcl-testground",
			JobID:     "job_NlDHCW9OeGk4ctnmdUp_g2JTTLrz",
			Location:  "US",
			State:     "DONE",
			Labels: map[string]string{
				"requestor":                   "looker_studio",
				"looker_studio_datasource_id": "05d6f0b3-1255-44cf-a964-0b79d812cfe6",
				"looker_studio_report_id":     "272a0671-8f81-42ac-9fb8-6fcb45034fe6",
			},
			StatementType: "SELECT",
			Destination: Table{
				ProjectID: "looker-dcl-testground",
				DatasetID: "_11f6c267f2e8fe4e2dcb42472fe71e58979a72cb",
				TableID: "anon6be941ca4a4cb2c9935607206a7d6a0b44cf8011a17545e5a665c120fb" +
					"316cd4",
			},
			TotalProcessedBytes: 200126736,
			TotalBilledBytes:    200278016,
			OutputRowCount:      318039,
			CreateTime:          ts("2025-07-29T10:04:21.161Z"),
			StartTime:           ts("2025-07-29T10:04:21.230Z"),
			EndTime:             ts("2025-07-29T10:04:30.078Z"),
			Format:              FormatAuditData,
		},
		{
			ProjectID: "looker-dcl-testground",
			JobID:     "job_irMeL-Hzt8C5jtysvPUeONQLIK6L",
			Location:  "US",
			State:     "DONE",
			Labels: map[string]string{
				"requestor":                   "looker_studio",
				"looker_studio_datasource_id": "a3628b15-fc88-4ace-b2a0-3899cd9863cf",
				"looker_studio_report_id":     "422b3505-820b-42d6-95b9-e0529828a4ea",
			},
			StatementType: "SELECT",
			Destination: Table{
				ProjectID: "looker-dcl-testground",
				DatasetID: "_11f6c267f2e8fe4e2dcb42472fe71e58979a72cb",
				TableID: "anonba504651a02bf3825090e3ea9eed73b1e6a714e6f2a38aa87a5f27ccab" +
					"692776",
			},
			TotalProcessedBytes: 44716215,
			TotalBilledBytes:    45088768,
			OutputRowCount:      418113,
			CreateTime:          ts("2025-07-30T14:55:31.322Z"),
			StartTime:           ts("2025-07-30T14:55:31.422Z"),
			EndTime:             ts("2025-07-30T14:55:35.913Z"),
			Format:              FormatAuditData,
		},
	}

	// testdata/auditmetadata-jobchange-done.json
	currentDoneJob = JobEvent{
		ProjectID: "cc-prod",
		JobID:     "cc_acme_orders_20240301_a1_extract",
		Location:  "EU",
		State:     "DONE",
		Labels: map[string]string{
			"product":    "custom-conversions",
			"client":     "acme",
			"conversion": "orders",
			"run":        "20240301-a1",
			"step":       "extract",
		},
		StatementType: "SELECT",
		Destination: Table{
			ProjectID: "cc-prod",
			DatasetID: "cc_staging",
			TableID:   "acme_orders_20240301_a1",
		},
		TotalProcessedBytes: 73400320,
		TotalBilledBytes:    74448896,
		OutputRowCount:      1842,
		CreateTime:          ts("2024-03-02T06:00:01.25Z"),
		StartTime:           ts("2024-03-02T06:00:01.4Z"),
		EndTime:             ts("2024-03-02T06:00:04.987654321Z"),
		Format:              FormatAuditMetadata,
	}

	// testdata/auditmetadata-jobchange-failed.json
	currentFailedJob = JobEvent{
		ProjectID: "cc-prod",
		JobID:     "script_job_7f3e_0",
		Location:  "US",
		State:     "DONE",
		Err: &JobError{
			Code: "PERMISSION_DENIED",
			Message: "Access Denied: Table acme-crm:crm.orders: User does not have " +
				"permission to query table acme-crm:crm.orders.",
		},
		StatementType: "SELECT",
		ParentJobName: "projects/cc-prod/jobs/script_job_7f3e",
		CreateTime:    ts("2024-03-02T06:10:00Z"),
		StartTime:     ts("2024-03-02T06:10:00.1Z"),
		EndTime:       ts("2024-03-02T06:10:00.35Z"),
		Format:        FormatAuditMetadata,
	}
)

func TestParseLogEntrySamples(t *testing.T) {
	tests := []struct {
		file   string
		wantOK bool
		want   JobEvent
	}{
		{"audit_LogEntryData-bigqueryjobcompleted.json", true, legacySampleJob},
		{"auditmetadata-jobchange-done.json", true, currentDoneJob},
		{"auditmetadata-jobchange-failed.json", true, currentFailedJob},
		{"auditmetadata-jobchange-running.json", false, JobEvent{}},
		{"auditmetadata-jobinsertion.json", false, JobEvent{}},
	}
	for _, tt := range tests {
		t.Run(tt.file, func(t *testing.T) {
			got, ok, err := ParseLogEntry(sample(t, tt.file))
			if err != nil {
				t.Fatalf("ParseLogEntry(%s) error = %v, want nil", tt.file, err)
			}
			if ok != tt.wantOK {
				t.Fatalf("ParseLogEntry(%s) ok = %v, want %v", tt.file, ok, tt.wantOK)
			}
			for _, d := range jobDiffs(got, tt.want) {
				t.Errorf("ParseLogEntry(%s).%s", tt.file, d)
			}
		})
	}
}

func TestParseLogEntryListedEntries(t *testing.T) {
	const file = "logging-entries-jobcompleted.json"
	var list struct {
		Entries []json.RawMessage `json:"entries"`
	}
	if err := json.Unmarshal(sample(t, file), &list); err != nil {
		t.Fatal(err)
	}
	if len(list.Entries) != len(lookerJobs) {
		t.Fatalf("%s has %d entries, want %d", file, len(list.Entries), len(lookerJobs))
	}
	for i, raw := range list.Entries {
		got, ok, err := ParseLogEntry(raw)
		if err != nil || !ok {
			t.Fatalf("ParseLogEntry(entries[%d]) = ok %v, error %v; want true, nil", i, ok, err)
		}
		for _, d := range jobDiffs(got, lookerJobs[i]) {
			t.Errorf("ParseLogEntry(entries[%d]).%s", i, d)
		}
	}
}

func TestParseLogEntryIgnored(t *testing.T) {
	tests := []struct {
		name  string
		entry string
	}{
		{"empty entry", `{}`},
		{"null", `null`},
		{"text payload", `{"textPayload": "hello", "severity": "INFO"}`},
		{"table creation", `{"protoPayload": {
			"methodName": "google.cloud.bigquery.v2.TableService.InsertTable",
			"metadata": {"tableCreation": {"reason": "QUERY"}}}}`},
		{"jobChange under another method", `{"protoPayload": {
			"methodName": "google.cloud.bigquery.v2.JobService.GetQueryResults",
			"metadata": {"jobChange": {"after": "DONE",
				"job": {"jobName": "projects/p/jobs/j"}}}}}`},
		{"legacy job insert", `{"protoPayload": {
			"methodName": "jobservice.insert",
			"serviceData": {"jobInsertRequest": {}}}}`},
		{"legacy completion under another method", `{"protoPayload": {
			"methodName": "jobservice.getqueryresults",
			"serviceData": {"jobCompletedEvent": {"job": {
				"jobName": {"projectId": "p", "jobId": "j"}}}}}}`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, ok, err := ParseLogEntry([]byte(tt.entry))
			if ok || err != nil {
				t.Errorf("ParseLogEntry(%s) = %+v, %v, %v; want false, nil", tt.name, got, ok, err)
			}
		})
	}
}

func TestParseLogEntryErrors(t *testing.T) {
	tests := []struct {
		name  string
		entry string
	}{
		{"not JSON", `test message 3`},
		{"truncated", `{"protoPayload": {"methodName": "jobservice.jobcompleted"`},
		{"payload of the wrong type", `{"protoPayload": []}`},
		{"job name without jobs", `{"protoPayload": {
			"methodName": "google.cloud.bigquery.v2.JobService.InsertJob",
			"metadata": {"jobChange": {"after": "DONE",
				"job": {"jobName": "projects/p/j"}}}}}`},
		{"dotted destination", `{"protoPayload": {
			"methodName": "google.cloud.bigquery.v2.JobService.InsertJob",
			"metadata": {"jobChange": {"after": "DONE", "job": {
				"jobName": "projects/p/jobs/j",
				"jobConfig": {"queryConfig": {"destinationTable": "p.d.t"}}}}}}}`},
		{"int64 that is not a number", `{"protoPayload": {
			"methodName": "google.cloud.bigquery.v2.JobService.InsertJob",
			"metadata": {"jobChange": {"after": "DONE", "job": {
				"jobName": "projects/p/jobs/j",
				"jobStats": {"queryStats": {"totalBilledBytes": "lots"}}}}}}}`},
		{"time that is not RFC 3339", `{"protoPayload": {
			"methodName": "jobservice.jobcompleted",
			"serviceData": {"jobCompletedEvent": {"job": {
				"jobName": {"projectId": "p", "jobId": "j"},
				"jobStatistics": {"endTime": "yesterday"}}}}}}`},
		{"legacy completion without job id", `{"protoPayload": {
			"methodName": "jobservice.jobcompleted",
			"serviceData": {"jobCompletedEvent": {"job": {
				"jobName": {"projectId": "p"}}}}}}`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, ok, err := ParseLogEntry([]byte(tt.entry))
			if err == nil {
				t.Errorf("ParseLogEntry(%s) = %+v, %v, nil; want an error", tt.name, got, ok)
			}
		})
	}
}

func TestParseLogEntryNumbersAsNumbers(t *testing.T) {
	// proto3 JSON readers accept int64 values unquoted too.
	entry := `{"protoPayload": {
		"methodName": "google.cloud.bigquery.v2.JobService.Query",
		"metadata": {"jobChange": {"after": "DONE", "job": {
			"jobName": "projects/p/jobs/j",
			"jobStats": {"queryStats": {"totalProcessedBytes": 42,
				"totalBilledBytes": "10485760", "outputRowCount": 7}}}}}}}`
	got, ok, err := ParseLogEntry([]byte(entry))
	if err != nil || !ok {
		t.Fatalf("ParseLogEntry = ok %v, error %v; want true, nil", ok, err)
	}
	if got.TotalProcessedBytes != 42 || got.TotalBilledBytes != 10485760 ||
		got.OutputRowCount != 7 {
		t.Errorf("ParseLogEntry bytes, billed, rows = %d, %d, %d; want 42, 10485760, 7",
			got.TotalProcessedBytes, got.TotalBilledBytes, got.OutputRowCount)
	}
	if got.State != "DONE" {
		t.Errorf("ParseLogEntry.State = %q, want DONE (from jobChange.after)", got.State)
	}
}

func TestJobErrorError(t *testing.T) {
	tests := []struct {
		err  JobError
		want string
	}{
		{JobError{Code: "INVALID_ARGUMENT", Message: "Syntax error at [1:1]"},
			"bigquery job failed: INVALID_ARGUMENT: Syntax error at [1:1]"},
		{JobError{Reason: "accessDenied", Message: "Access Denied"},
			"bigquery job failed: accessDenied: Access Denied"},
		{JobError{Message: "boom"}, "bigquery job failed: boom"},
	}
	for _, tt := range tests {
		if got := tt.err.Error(); got != tt.want {
			t.Errorf("%+v.Error() = %q, want %q", tt.err, got, tt.want)
		}
	}
}

func TestTableString(t *testing.T) {
	tests := []struct {
		t    Table
		want string
	}{
		{Table{}, ""},
		{Table{ProjectID: "p", DatasetID: "d", TableID: "t"}, "p.d.t"},
	}
	for _, tt := range tests {
		if got := tt.t.String(); got != tt.want {
			t.Errorf("%#v.String() = %q, want %q", tt.t, got, tt.want)
		}
	}
}
