package events

import (
	"encoding/json"
	"fmt"
	"strings"
	"time"
)

// Method names of the audit log entries that report a finished job.
const (
	methodInsertJob    = "google.cloud.bigquery.v2.JobService.InsertJob"
	methodQuery        = "google.cloud.bigquery.v2.JobService.Query"
	methodJobCompleted = "jobservice.jobcompleted"
)

// logEntry is the part of a Cloud Logging LogEntry this package reads and
// writes. Both BigQuery audit formats share it.
type logEntry struct {
	LogName      string      `json:"logName,omitempty"`
	Resource     logResource `json:"resource"`
	ProtoPayload *auditLog   `json:"protoPayload,omitempty"`
	Severity     string      `json:"severity,omitempty"`
	Timestamp    time.Time   `json:"timestamp,omitzero"`
}

type logResource struct {
	Type   string            `json:"type,omitempty"`
	Labels map[string]string `json:"labels,omitempty"`
}

// auditLog is a google.cloud.audit.AuditLog payload.
type auditLog struct {
	Type         string         `json:"@type,omitempty"`
	Status       *rpcStatus     `json:"status,omitempty"`
	ServiceName  string         `json:"serviceName,omitempty"`
	MethodName   string         `json:"methodName,omitempty"`
	ResourceName string         `json:"resourceName,omitempty"`
	Metadata     *auditMetadata `json:"metadata,omitempty"`
	ServiceData  *auditData     `json:"serviceData,omitempty"`
}

// auditMetadata is the current format, BigQueryAuditMetadata. Only the
// jobChange event is read; jobInsertion and the rest are left out.
type auditMetadata struct {
	Type      string     `json:"@type,omitempty"`
	JobChange *jobChange `json:"jobChange,omitempty"`
}

type jobChange struct {
	Before string  `json:"before,omitempty"`
	After  string  `json:"after,omitempty"`
	Job    metaJob `json:"job"`
}

type metaJob struct {
	JobName   string        `json:"jobName"`
	JobConfig metaJobConfig `json:"jobConfig"`
	JobStatus metaJobStatus `json:"jobStatus"`
	JobStats  metaJobStats  `json:"jobStats"`
}

type metaJobConfig struct {
	Type        string            `json:"type,omitempty"`
	QueryConfig *metaQueryConfig  `json:"queryConfig,omitempty"`
	Labels      map[string]string `json:"labels,omitempty"`
}

type metaQueryConfig struct {
	DestinationTable string `json:"destinationTable,omitempty"`
	StatementType    string `json:"statementType,omitempty"`
}

type metaJobStatus struct {
	JobState    string      `json:"jobState,omitempty"`
	ErrorResult *rpcStatus  `json:"errorResult,omitempty"`
	Errors      []rpcStatus `json:"errors,omitempty"`
}

type metaJobStats struct {
	CreateTime    time.Time       `json:"createTime,omitzero"`
	StartTime     time.Time       `json:"startTime,omitzero"`
	EndTime       time.Time       `json:"endTime,omitzero"`
	QueryStats    *metaQueryStats `json:"queryStats,omitempty"`
	ParentJobName string          `json:"parentJobName,omitempty"`
}

type metaQueryStats struct {
	TotalProcessedBytes int64JSON `json:"totalProcessedBytes,omitempty"`
	TotalBilledBytes    int64JSON `json:"totalBilledBytes,omitempty"`
	OutputRowCount      int64JSON `json:"outputRowCount,omitempty"`
}

// auditData is the legacy format, AuditData.
type auditData struct {
	JobCompletedEvent *jobCompletedEvent `json:"jobCompletedEvent,omitempty"`
}

type jobCompletedEvent struct {
	EventName string    `json:"eventName"`
	Job       legacyJob `json:"job"`
}

type legacyJob struct {
	JobName          legacyJobName   `json:"jobName"`
	JobConfiguration legacyJobConfig `json:"jobConfiguration"`
	JobStatus        legacyJobStatus `json:"jobStatus"`
	JobStatistics    legacyJobStats  `json:"jobStatistics"`
}

type legacyJobName struct {
	ProjectID string `json:"projectId"`
	JobID     string `json:"jobId"`
	Location  string `json:"location"`
}

type legacyJobConfig struct {
	Query  *legacyQuery      `json:"query"`
	Labels map[string]string `json:"labels"`
}

type legacyQuery struct {
	DestinationTable tableRef `json:"destinationTable"`
	StatementType    string   `json:"statementType"`
}

// tableRef is a table reference as the legacy format and the REST API
// write it.
type tableRef struct {
	ProjectID string `json:"projectId"`
	DatasetID string `json:"datasetId"`
	TableID   string `json:"tableId"`
}

type legacyJobStatus struct {
	State string     `json:"state"`
	Error *rpcStatus `json:"error"`
}

type legacyJobStats struct {
	CreateTime          time.Time `json:"createTime"`
	StartTime           time.Time `json:"startTime"`
	EndTime             time.Time `json:"endTime"`
	TotalProcessedBytes int64JSON `json:"totalProcessedBytes"`
	TotalBilledBytes    int64JSON `json:"totalBilledBytes"`
	QueryOutputRowCount int64JSON `json:"queryOutputRowCount"`
}

// ParseLogEntry decodes a Cloud Logging LogEntry, as a log sink publishes
// it or an Eventarc audit-log event carries it, and reports whether it is
// a BigQuery job completion.
//
// Two formats are read. The current one (BigQueryAuditMetadata) counts
// when protoPayload.metadata.jobChange moves the job to DONE under the
// InsertJob or Query method; the job's location comes from the entry's
// resource labels. The legacy one (AuditData) counts when the method is
// jobservice.jobcompleted. Any other entry, such as a jobInsertion or a
// table change, gives ok == false and a nil error, so that a caller can
// ignore it. Malformed JSON, or a job entry whose names cannot be read,
// is an error.
func ParseLogEntry(data []byte) (e JobEvent, ok bool, err error) {
	var le logEntry
	if err := json.Unmarshal(data, &le); err != nil {
		return JobEvent{}, false, fmt.Errorf("events: decode log entry: %w", err)
	}

	p := le.ProtoPayload
	switch {
	case p == nil:
		return JobEvent{}, false, nil

	case p.Metadata != nil && p.Metadata.JobChange != nil:
		jc := p.Metadata.JobChange
		if p.MethodName != methodInsertJob && p.MethodName != methodQuery {
			return JobEvent{}, false, nil
		}
		if jc.After != StateDone {
			return JobEvent{}, false, nil
		}
		e, err = fromJobChange(jc, le.Resource.Labels["location"])

	case p.ServiceData != nil && p.ServiceData.JobCompletedEvent != nil:
		if p.MethodName != methodJobCompleted {
			return JobEvent{}, false, nil
		}
		e, err = fromJobCompleted(p.ServiceData.JobCompletedEvent)

	default:
		return JobEvent{}, false, nil
	}

	if err != nil {
		return JobEvent{}, false, err
	}
	return e, true, nil
}

// fromJobChange reads a current-format job.
func fromJobChange(jc *jobChange, location string) (JobEvent, error) {
	j := &jc.Job
	project, id, err := splitJobName(j.JobName)
	if err != nil {
		return JobEvent{}, err
	}

	e := JobEvent{
		ProjectID:     project,
		JobID:         id,
		Location:      location,
		State:         j.JobStatus.JobState,
		Err:           j.JobStatus.ErrorResult.jobError(),
		Labels:        j.JobConfig.Labels,
		ParentJobName: j.JobStats.ParentJobName,
		CreateTime:    utc(j.JobStats.CreateTime),
		StartTime:     utc(j.JobStats.StartTime),
		EndTime:       utc(j.JobStats.EndTime),
		Format:        FormatAuditMetadata,
	}
	if e.State == "" {
		e.State = jc.After
	}

	if q := j.JobConfig.QueryConfig; q != nil {
		e.StatementType = q.StatementType
		if q.DestinationTable != "" {
			e.Destination, err = parseTableName(q.DestinationTable)
			if err != nil {
				return JobEvent{}, err
			}
		}
	}
	if s := j.JobStats.QueryStats; s != nil {
		e.TotalProcessedBytes = int64(s.TotalProcessedBytes)
		e.TotalBilledBytes = int64(s.TotalBilledBytes)
		e.OutputRowCount = int64(s.OutputRowCount)
	}
	return e, nil
}

// fromJobCompleted reads a legacy-format job.
func fromJobCompleted(ev *jobCompletedEvent) (JobEvent, error) {
	j := &ev.Job
	if j.JobName.ProjectID == "" || j.JobName.JobID == "" {
		return JobEvent{}, fmt.Errorf("events: jobCompletedEvent without project or job id")
	}

	st := &j.JobStatistics
	e := JobEvent{
		ProjectID:           j.JobName.ProjectID,
		JobID:               j.JobName.JobID,
		Location:            j.JobName.Location,
		State:               j.JobStatus.State,
		Err:                 j.JobStatus.Error.jobError(),
		Labels:              j.JobConfiguration.Labels,
		TotalProcessedBytes: int64(st.TotalProcessedBytes),
		TotalBilledBytes:    int64(st.TotalBilledBytes),
		OutputRowCount:      int64(st.QueryOutputRowCount),
		CreateTime:          utc(st.CreateTime),
		StartTime:           utc(st.StartTime),
		EndTime:             utc(st.EndTime),
		Format:              FormatAuditData,
	}
	if q := j.JobConfiguration.Query; q != nil {
		e.StatementType = q.StatementType
		e.Destination = Table(q.DestinationTable)
	}
	return e, nil
}

// splitJobName splits "projects/P/jobs/ID".
func splitJobName(name string) (project, id string, err error) {
	p := strings.Split(name, "/")
	if len(p) != 4 || p[0] != "projects" || p[1] == "" || p[2] != "jobs" || p[3] == "" {
		return "", "", fmt.Errorf("events: job name %q: want projects/P/jobs/ID", name)
	}
	return p[1], p[3], nil
}

// parseTableName splits "projects/P/datasets/D/tables/T".
func parseTableName(name string) (Table, error) {
	p := strings.Split(name, "/")
	if len(p) != 6 || p[0] != "projects" || p[2] != "datasets" || p[4] != "tables" ||
		p[1] == "" || p[3] == "" || p[5] == "" {
		return Table{}, fmt.Errorf(
			"events: table name %q: want projects/P/datasets/D/tables/T", name)
	}
	return Table{ProjectID: p[1], DatasetID: p[3], TableID: p[5]}, nil
}
