package events

import (
	"fmt"

	cloudevents "github.com/cloudevents/sdk-go/v2"
)

// CloudEvent types that carry a BigQuery job's log entry.
const (
	// TypeMessagePublished is a Pub/Sub message; from the job events
	// topic, its data is the LogEntry that the log sink published.
	TypeMessagePublished = "google.cloud.pubsub.topic.v1.messagePublished"
	// TypeAuditLogWritten is an Eventarc audit-log event, whose data is
	// the LogEntry itself.
	TypeAuditLogWritten = "google.cloud.audit.log.v1.written"
)

// FromCloudEvent reads the BigQuery job event in e, which is either a
// messagePublished event whose message data is a LogEntry, or an
// audit.log.v1.written event. As with ParseLogEntry, ok is false with a
// nil error for an entry that is not a job completion. Other event types,
// undecodable data and malformed entries are errors.
func FromCloudEvent(e cloudevents.Event) (ev JobEvent, ok bool, err error) {
	switch e.Type() {
	case TypeMessagePublished:
		m, err := DecodeMessagePublished(e.Data())
		if err != nil {
			return JobEvent{}, false, err
		}
		ev, ok, err = ParseLogEntry(m.Data)
		if err != nil {
			return JobEvent{}, false, fmt.Errorf("events: pubsub message %s: %w", m.ID, err)
		}
		return ev, ok, nil

	case TypeAuditLogWritten:
		return ParseLogEntry(e.Data())
	}

	return JobEvent{}, false, fmt.Errorf("events: event %s has type %q; want %s or %s",
		e.ID(), e.Type(), TypeMessagePublished, TypeAuditLogWritten)
}
