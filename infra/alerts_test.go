package infra

import (
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"testing"
)

// TestFailedRunsAlert checks the log-based metric against what the
// functions log for a failed run, and that an alert policy watches it.
func TestFailedRunsAlert(t *testing.T) {
	m := loadModule(t, ".", "example.tfvars")
	metric := m.block("resource", "google_logging_metric", "failed_runs")
	if metric == nil {
		t.Fatal("no google_logging_metric.failed_runs")
	}
	filter := m.eval(t, metric.Body.Attributes["filter"].Expr, nil).AsString()
	wants := []string{`severity>=ERROR`, `jsonPayload.message=~"^run failed"`}
	for _, fn := range m.resources("google_cloudfunctions2_function") {
		wants = append(wants, strconv.Quote(m.eval(t, fn.Body.Attributes["name"].Expr, nil).AsString()))
	}
	for _, want := range wants {
		if !strings.Contains(filter, want) {
			t.Errorf("failed-runs filter %q lacks %s", filter, want)
		}
	}

	// The fields and message the functions log a failed run with.
	lg := stringConstants(t, filepath.Join("..", "shared", "logging"), "Key")
	fields := []string{lg["ClientKey"], lg["ConversionKey"]}
	if !slices.Equal(fields, []string{"client_id", "conversion_id"}) {
		t.Errorf("shared/logging ClientKey, ConversionKey = %q; "+
			"the metric extracts client_id, conversion_id", fields)
	}
	for _, prefix := range []string{"run failed", "request refused", "event refused"} {
		if !logsLiteral(t, filepath.Join("..", "functions"), prefix) {
			t.Errorf("no function logs a message starting %q, which a log metric counts", prefix)
		}
	}

	ex := stringMap(t, m.eval(t, metric.Body.Attributes["label_extractors"].Expr, nil))
	for _, field := range []string{"client_id", "conversion_id"} {
		if want := "EXTRACT(jsonPayload." + field + ")"; ex[field] != want {
			t.Errorf("label extractor %s = %q, want %q", field, ex[field], want)
		}
	}

	watched := false
	for _, p := range m.resources("google_monitoring_alert_policy") {
		ct := nested(p, "conditions", "condition_threshold")
		if ct != nil && slices.Contains(refs(ct, "filter"), "google_logging_metric.failed_runs") {
			watched = true
		}
	}
	if !watched {
		t.Error("no alert policy condition on google_logging_metric.failed_runs")
	}
}
