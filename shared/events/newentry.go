package events

import (
	"encoding/json"
	"errors"
	"fmt"
)

// NewLogEntry returns the LogEntry JSON that BigQuery's current audit
// format (BigQueryAuditMetadata) writes when job e moves from RUNNING to
// DONE, so that a local stand-in for the log sink can publish what the
// production sink would. ParseLogEntry reads it back as e.
//
// The entry describes a query job under the InsertJob method. e must name
// its project and job, and its State must be empty or StateDone. What the
// format cannot carry is lost: e.Err.Reason, an empty e.Err.Code (written
// as UNKNOWN, since code 0 would mean success), and e.Format (the result
// is always FormatAuditMetadata).
func NewLogEntry(e JobEvent) ([]byte, error) {
	if e.ProjectID == "" || e.JobID == "" {
		return nil, errors.New("events: new log entry: job has no project or job id")
	}
	if e.State != "" && e.State != StateDone {
		return nil, fmt.Errorf("events: new log entry: job %s is %s, not %s",
			e.JobID, e.State, StateDone)
	}

	status, err := newStatus(e.Err)
	if err != nil {
		return nil, err
	}
	job := metaJob{
		JobName: e.Name(),
		JobConfig: metaJobConfig{
			Type:   "QUERY",
			Labels: e.Labels,
			QueryConfig: &metaQueryConfig{
				StatementType: e.StatementType,
			},
		},
		JobStatus: metaJobStatus{JobState: StateDone, ErrorResult: status},
		JobStats: metaJobStats{
			CreateTime:    utc(e.CreateTime),
			StartTime:     utc(e.StartTime),
			EndTime:       utc(e.EndTime),
			ParentJobName: e.ParentJobName,
			QueryStats: &metaQueryStats{
				TotalProcessedBytes: int64JSON(e.TotalProcessedBytes),
				TotalBilledBytes:    int64JSON(e.TotalBilledBytes),
				OutputRowCount:      int64JSON(e.OutputRowCount),
			},
		},
	}
	if status != nil {
		job.JobStatus.Errors = []rpcStatus{*status}
	}
	if d := e.Destination; !d.IsZero() {
		job.JobConfig.QueryConfig.DestinationTable = "projects/" + d.ProjectID +
			"/datasets/" + d.DatasetID + "/tables/" + d.TableID
	}

	le := logEntry{
		LogName: "projects/" + e.ProjectID +
			"/logs/cloudaudit.googleapis.com%2Fdata_access",
		Resource: logResource{
			Type:   "bigquery_project",
			Labels: map[string]string{"project_id": e.ProjectID},
		},
		ProtoPayload: &auditLog{
			Type:         "type.googleapis.com/google.cloud.audit.AuditLog",
			Status:       &rpcStatus{},
			ServiceName:  "bigquery.googleapis.com",
			MethodName:   methodInsertJob,
			ResourceName: e.Name(),
			Metadata: &auditMetadata{
				Type: "type.googleapis.com/google.cloud.audit.BigQueryAuditMetadata",
				JobChange: &jobChange{
					Before: "RUNNING",
					After:  StateDone,
					Job:    job,
				},
			},
		},
		Severity:  "INFO",
		Timestamp: utc(e.EndTime),
	}
	if e.Location != "" {
		le.Resource.Labels["location"] = e.Location
	}
	if status != nil {
		le.ProtoPayload.Status = status
		le.Severity = "ERROR"
	}

	b, err := json.Marshal(le)
	if err != nil {
		return nil, fmt.Errorf("events: new log entry: %w", err)
	}
	return b, nil
}

// newStatus turns a job error into the google.rpc.Status the audit log
// carries. A JobError without a code becomes UNKNOWN, since a status with
// code 0 would read as success.
func newStatus(je *JobError) (*rpcStatus, error) {
	if je == nil {
		return nil, nil
	}
	if je.Code == "" {
		return &rpcStatus{Code: 2, Message: je.Message}, nil
	}
	n, ok := codeNumber(je.Code)
	if !ok || n == 0 {
		return nil, fmt.Errorf("events: new log entry: error code %q is not a failure code",
			je.Code)
	}
	return &rpcStatus{Code: n, Message: je.Message}, nil
}
