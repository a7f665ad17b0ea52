package events

import (
	"fmt"
	"strconv"
	"time"
)

// Format names the shape a JobEvent was decoded from.
type Format string

// The formats a JobEvent can come from.
const (
	// FormatAuditMetadata is the current BigQuery audit log format
	// (BigQueryAuditMetadata, protoPayload.metadata.jobChange).
	FormatAuditMetadata Format = "BigQueryAuditMetadata"
	// FormatAuditData is the legacy BigQuery audit log format
	// (AuditData, protoPayload.serviceData.jobCompletedEvent).
	FormatAuditData Format = "AuditData"
	// FormatJobResource is a Job resource as the BigQuery REST API's
	// jobs.get returns it.
	FormatJobResource Format = "JobResource"
)

// StateDone is the state of a job that will not change any more. A job in
// this state may still have failed: see JobEvent.Err.
const StateDone = "DONE"

// Table names a BigQuery table. The zero value means no table.
type Table struct {
	ProjectID string
	DatasetID string
	TableID   string
}

// IsZero reports whether t names no table.
func (t Table) IsZero() bool {
	return t == Table{}
}

// String returns t as "project.dataset.table", or "" for the zero Table.
func (t Table) String() string {
	if t.IsZero() {
		return ""
	}
	return t.ProjectID + "." + t.DatasetID + "." + t.TableID
}

// JobError is the error result of a failed BigQuery job.
type JobError struct {
	// Code is the canonical google.rpc.Code name that the audit logs
	// carry, such as "INVALID_ARGUMENT" or "PERMISSION_DENIED", or the
	// decimal number of a code this package does not name. It is empty
	// when the source has no code (a Job resource).
	Code string
	// Reason is BigQuery's short error reason, such as "invalidQuery" or
	// "accessDenied". Only Job resources carry it; the audit logs do not.
	Reason string
	// Message is BigQuery's message for a person, with the position of
	// a syntax error when there is one.
	Message string
}

// Error returns the error's code or reason followed by its message.
func (e *JobError) Error() string {
	kind := e.Code
	if kind == "" {
		kind = e.Reason
	}
	if kind == "" {
		return "bigquery job failed: " + e.Message
	}
	return "bigquery job failed: " + kind + ": " + e.Message
}

// JobEvent is a BigQuery job's change of state, decoded from any of the
// formats above. Fields that the source does not carry are zero.
type JobEvent struct {
	// ProjectID and JobID identify the job.
	ProjectID string
	JobID     string
	// Location is the job's location, such as "US" or "europe-west2".
	Location string
	// State is the job's state, StateDone for a finished job.
	State string
	// Err is nil for a job that succeeded (or has not finished) and the
	// job's error result otherwise. A finished job failed if and only if
	// Err is not nil; State says nothing about success.
	Err *JobError
	// Labels are the job's labels; nil when it has none.
	Labels map[string]string
	// StatementType is the query's statement type ("SELECT", "MERGE",
	// "SCRIPT", ...); empty for jobs that are not queries.
	StatementType string
	// Destination is the query's destination table; zero for other job
	// types and for DML without one.
	Destination Table
	// TotalProcessedBytes and TotalBilledBytes are the bytes the job
	// scanned and the bytes it was billed for.
	TotalProcessedBytes int64
	TotalBilledBytes    int64
	// OutputRowCount is the number of rows the query produced. Job
	// resources do not carry it, so it is 0 in FormatJobResource.
	OutputRowCount int64
	// ParentJobName is "projects/P/jobs/ID" of the script that started
	// this job, or empty for a job that is not a script's child.
	ParentJobName string
	// CreateTime, StartTime and EndTime are the job's timings in UTC;
	// zero when the source leaves them out.
	CreateTime time.Time
	StartTime  time.Time
	EndTime    time.Time
	// Format is the shape the event was decoded from.
	Format Format
}

// Name returns the job's resource name, "projects/P/jobs/ID".
func (e JobEvent) Name() string {
	return "projects/" + e.ProjectID + "/jobs/" + e.JobID
}

// Failed reports whether the job finished with an error result.
func (e JobEvent) Failed() bool {
	return e.Err != nil
}

// rpcCodes maps google.rpc.Code numbers to their canonical names.
var rpcCodes = [...]string{
	0:  "OK",
	1:  "CANCELLED",
	2:  "UNKNOWN",
	3:  "INVALID_ARGUMENT",
	4:  "DEADLINE_EXCEEDED",
	5:  "NOT_FOUND",
	6:  "ALREADY_EXISTS",
	7:  "PERMISSION_DENIED",
	8:  "RESOURCE_EXHAUSTED",
	9:  "FAILED_PRECONDITION",
	10: "ABORTED",
	11: "OUT_OF_RANGE",
	12: "UNIMPLEMENTED",
	13: "INTERNAL",
	14: "UNAVAILABLE",
	15: "DATA_LOSS",
	16: "UNAUTHENTICATED",
}

// codeName returns the canonical name of a google.rpc.Code number.
func codeName(n int32) string {
	if n >= 0 && int(n) < len(rpcCodes) {
		return rpcCodes[n]
	}
	return strconv.Itoa(int(n))
}

// codeNumber is the inverse of codeName; ok is false for a name that is
// neither a canonical code nor a decimal number.
func codeNumber(name string) (n int32, ok bool) {
	for i, c := range rpcCodes {
		if c == name {
			return int32(i), true
		}
	}
	v, err := strconv.ParseInt(name, 10, 32)
	if err != nil {
		return 0, false
	}
	return int32(v), true
}

// rpcStatus is a google.rpc.Status in proto3 JSON, as both audit formats
// carry a job's error.
type rpcStatus struct {
	Code    int32  `json:"code,omitempty"`
	Message string `json:"message,omitempty"`
}

// jobError turns s into a JobError; nil when s is absent or empty, as the
// legacy format writes "error": {} for a job that succeeded.
func (s *rpcStatus) jobError() *JobError {
	if s == nil || (s.Code == 0 && s.Message == "") {
		return nil
	}
	e := &JobError{Message: s.Message}
	if s.Code != 0 {
		e.Code = codeName(s.Code)
	}
	return e
}

// int64JSON is an int64 that proto3 JSON writes as a string. It reads
// both strings and numbers, and writes a string.
type int64JSON int64

// UnmarshalJSON accepts "123" and 123.
func (n *int64JSON) UnmarshalJSON(b []byte) error {
	s := string(b)
	if s == "null" {
		return nil
	}
	if len(s) >= 2 && s[0] == '"' && s[len(s)-1] == '"' {
		s = s[1 : len(s)-1]
	}
	v, err := strconv.ParseInt(s, 10, 64)
	if err != nil {
		return fmt.Errorf("events: int64 value %s: %w", b, err)
	}
	*n = int64JSON(v)
	return nil
}

// MarshalJSON writes n as a quoted decimal string.
func (n int64JSON) MarshalJSON() ([]byte, error) {
	return strconv.AppendQuote(nil, strconv.FormatInt(int64(n), 10)), nil
}

// utc returns t in UTC, leaving the zero time zero.
func utc(t time.Time) time.Time {
	if t.IsZero() {
		return time.Time{}
	}
	return t.UTC()
}
