package events

import (
	"encoding/json"
	"fmt"
	"time"
)

// jobResource is the part of a BigQuery REST Job resource that ParseJob
// reads. Times are milliseconds since the epoch, int64 values strings.
type jobResource struct {
	JobReference struct {
		ProjectID string `json:"projectId"`
		JobID     string `json:"jobId"`
		Location  string `json:"location"`
	} `json:"jobReference"`
	Configuration struct {
		Query *struct {
			DestinationTable *tableRef `json:"destinationTable"`
		} `json:"query"`
		Labels map[string]string `json:"labels"`
	} `json:"configuration"`
	Statistics struct {
		CreationTime int64JSON `json:"creationTime"`
		StartTime    int64JSON `json:"startTime"`
		EndTime      int64JSON `json:"endTime"`
		ParentJobID  string    `json:"parentJobId"`
		Query        *struct {
			TotalBytesProcessed int64JSON `json:"totalBytesProcessed"`
			TotalBytesBilled    int64JSON `json:"totalBytesBilled"`
			StatementType       string    `json:"statementType"`
		} `json:"query"`
	} `json:"statistics"`
	Status struct {
		State       string `json:"state"`
		ErrorResult *struct {
			Reason  string `json:"reason"`
			Message string `json:"message"`
		} `json:"errorResult"`
	} `json:"status"`
}

// ParseJob decodes a BigQuery Job resource, as the REST API's jobs.get
// returns it, into a JobEvent of FormatJobResource. A local stand-in for
// the log sink can read finished jobs this way from the BigQuery emulator
// and pass them to NewLogEntry.
//
// The resource carries no output row count and no google.rpc code, so
// OutputRowCount is 0 and Err has only Reason and Message. The error's
// debugInfo, an internal stack trace, is dropped.
func ParseJob(data []byte) (JobEvent, error) {
	var j jobResource
	if err := json.Unmarshal(data, &j); err != nil {
		return JobEvent{}, fmt.Errorf("events: decode job resource: %w", err)
	}
	ref := j.JobReference
	if ref.ProjectID == "" || ref.JobID == "" {
		return JobEvent{}, fmt.Errorf("events: job resource without project or job id")
	}

	st := &j.Statistics
	e := JobEvent{
		ProjectID:  ref.ProjectID,
		JobID:      ref.JobID,
		Location:   ref.Location,
		State:      j.Status.State,
		Labels:     j.Configuration.Labels,
		CreateTime: fromMillis(st.CreationTime),
		StartTime:  fromMillis(st.StartTime),
		EndTime:    fromMillis(st.EndTime),
		Format:     FormatJobResource,
	}
	if r := j.Status.ErrorResult; r != nil && (r.Reason != "" || r.Message != "") {
		e.Err = &JobError{Reason: r.Reason, Message: r.Message}
	}
	if st.ParentJobID != "" {
		e.ParentJobName = "projects/" + ref.ProjectID + "/jobs/" + st.ParentJobID
	}
	if q := st.Query; q != nil {
		e.StatementType = q.StatementType
		e.TotalProcessedBytes = int64(q.TotalBytesProcessed)
		e.TotalBilledBytes = int64(q.TotalBytesBilled)
	}
	if q := j.Configuration.Query; q != nil && q.DestinationTable != nil {
		e.Destination = Table(*q.DestinationTable)
	}
	return e, nil
}

// fromMillis converts milliseconds since the epoch to a UTC time; 0 gives
// the zero time.
func fromMillis(ms int64JSON) time.Time {
	if ms == 0 {
		return time.Time{}
	}
	return time.UnixMilli(int64(ms)).UTC()
}
