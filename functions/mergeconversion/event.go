package mergeconversion

import (
	"log/slog"

	"github.com/cloudevents/sdk-go/v2/event"

	"customconversions.dev/shared/events"
	"customconversions.dev/shared/logging"
	"customconversions.dev/shared/request"
	"customconversions.dev/shared/warehouse"
)

// jobRef is a finished extraction job of this product, named by the
// validated labels it carries.
type jobRef struct {
	events.JobEvent
	client, conversion, run string
}

// ourJob decodes e and reports whether it is a finished extraction job of
// this product. It logs every event it turns away: a malformed one at
// ERROR (it is acknowledged, never retried), any other at INFO.
func ourJob(log *slog.Logger, e event.Event) (jobRef, bool) {
	ev, ok, err := events.FromCloudEvent(e)
	if err != nil {
		log.Error("event refused: "+err.Error(), "event_id", e.ID(), "event_type", e.Type(),
			"action", "the job-events topic takes LogEntry JSON from the BigQuery job log sink")
		return jobRef{}, false
	}
	if !ok {
		log.Info("event ignored: not a BigQuery job completion", "event_id", e.ID())
		return jobRef{}, false
	}

	l := ev.Labels
	why := ""
	switch {
	case l[warehouse.LabelProduct] != warehouse.Product:
		why = "not a job of this product"
	case l[warehouse.LabelStep] != string(warehouse.StepExtract):
		why = "not an extraction job"
	case ev.State != events.StateDone:
		why = "job not done"
	case ev.ParentJobName != "":
		why = "a child job of a script"
	case request.CheckID("client", l[warehouse.LabelClient]) != nil,
		request.CheckID("conversion", l[warehouse.LabelConversion]) != nil,
		warehouse.CheckRunID(l[warehouse.LabelRun]) != nil:
		log.Warn("event ignored: the job's labels name no valid run", "job_id", ev.JobID,
			"labels", l)
		return jobRef{}, false
	}
	if why != "" {
		log.Info("event ignored: "+why, logging.JobKey, ev.JobID)
		return jobRef{}, false
	}
	return jobRef{JobEvent: ev, client: l[warehouse.LabelClient],
		conversion: l[warehouse.LabelConversion], run: l[warehouse.LabelRun]}, true
}
