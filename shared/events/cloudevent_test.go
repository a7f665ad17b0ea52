package events

import (
	"encoding/base64"
	"encoding/json"
	"strings"
	"testing"

	cloudevents "github.com/cloudevents/sdk-go/v2"
)

// pubsubEvent wraps a log entry the way the log sink's topic delivers it.
func pubsubEvent(t *testing.T, entry []byte) cloudevents.Event {
	t.Helper()
	e := cloudevents.NewEvent()
	e.SetID("9001")
	e.SetSource("//pubsub.googleapis.com/projects/cc-prod/topics/cc-job-events")
	e.SetType(TypeMessagePublished)
	data := map[string]any{
		"subscription": "projects/cc-prod/subscriptions/cc-merge",
		"message": map[string]any{
			"data":        base64.StdEncoding.EncodeToString(entry),
			"messageId":   "9001",
			"publishTime": "2024-03-02T06:00:06Z",
		},
	}
	if err := e.SetData(cloudevents.ApplicationJSON, data); err != nil {
		t.Fatal(err)
	}
	return e
}

// sampleEvent decodes a structured-mode CloudEvent from testdata.
func sampleEvent(t *testing.T, file string) cloudevents.Event {
	t.Helper()
	var e cloudevents.Event
	if err := json.Unmarshal(sample(t, file), &e); err != nil {
		t.Fatalf("decode %s as a CloudEvent: %v", file, err)
	}
	return e
}

func TestFromCloudEvent(t *testing.T) {
	// testdata/audit_bigqueryjobcompleted_structured_cloudevent.json
	auditSampleJob := JobEvent{
		ProjectID:     "test-project",
		JobID:         "sample-job",
		Location:      "US",
		State:         "DONE",
		StatementType: "SELECT",
		Destination: Table{
			ProjectID: "test-project",
			DatasetID: "sample-dataset",
			TableID:   "sample-table",
		},
		TotalProcessedBytes: 12345,
		TotalBilledBytes:    12345,
		OutputRowCount:      10,
		CreateTime:          ts("2021-11-25T21:55:59.872Z"),
		StartTime:           ts("2021-11-25T21:55:59.956Z"),
		EndTime:             ts("2021-11-25T21:56:00.236Z"),
		Format:              FormatAuditData,
	}

	tests := []struct {
		name   string
		event  cloudevents.Event
		wantOK bool
		want   JobEvent
	}{
		{
			name:   "audit log event (structured sample)",
			event:  sampleEvent(t, "audit_bigqueryjobcompleted_structured_cloudevent.json"),
			wantOK: true,
			want:   auditSampleJob,
		},
		{
			name:   "pubsub event carrying a legacy entry",
			event:  pubsubEvent(t, sample(t, "audit_LogEntryData-bigqueryjobcompleted.json")),
			wantOK: true,
			want:   legacySampleJob,
		},
		{
			name:   "pubsub event carrying a current entry",
			event:  pubsubEvent(t, sample(t, "auditmetadata-jobchange-failed.json")),
			wantOK: true,
			want:   currentFailedJob,
		},
		{
			name:  "pubsub event carrying a job insertion",
			event: pubsubEvent(t, sample(t, "auditmetadata-jobinsertion.json")),
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, ok, err := FromCloudEvent(tt.event)
			if err != nil {
				t.Fatalf("FromCloudEvent(%s) error = %v, want nil", tt.name, err)
			}
			if ok != tt.wantOK {
				t.Fatalf("FromCloudEvent(%s) ok = %v, want %v", tt.name, ok, tt.wantOK)
			}
			for _, d := range jobDiffs(got, tt.want) {
				t.Errorf("FromCloudEvent(%s).%s", tt.name, d)
			}
		})
	}
}

func TestFromCloudEventErrors(t *testing.T) {
	storage := cloudevents.NewEvent()
	storage.SetID("1")
	storage.SetType("google.cloud.storage.object.v1.finalized")

	badAudit := cloudevents.NewEvent()
	badAudit.SetID("2")
	badAudit.SetType(TypeAuditLogWritten)
	if err := badAudit.SetData("text/plain", []byte("not json")); err != nil {
		t.Fatal(err)
	}

	tests := []struct {
		name  string
		event cloudevents.Event
		want  string // a part of the error message
	}{
		{"other event type", storage, TypeAuditLogWritten},
		{"audit log event that is not JSON", badAudit, "decode log entry"},
		{
			// The sample's message data is the text "test message 3".
			"pubsub event whose data is not a log entry",
			sampleEvent(t, "pubsub_messagePublished_structured.json"),
			"pubsub message message-id",
		},
		{"pubsub event with no data", func() cloudevents.Event {
			e := cloudevents.NewEvent()
			e.SetType(TypeMessagePublished)
			return e
		}(), "decode pubsub event"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, ok, err := FromCloudEvent(tt.event)
			if err == nil || !strings.Contains(err.Error(), tt.want) {
				t.Errorf("FromCloudEvent(%s) = %+v, %v, %v; want an error containing %q",
					tt.name, got, ok, err, tt.want)
			}
		})
	}
}
