package warehouse

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"regexp"
	"strings"

	"cloud.google.com/go/bigquery"
	"google.golang.org/api/googleapi"

	"customconversions.dev/shared/failure"
)

// transientReasons are BigQuery error reasons that a later retry may not
// meet again.
var transientReasons = map[string]bool{
	"backendError":      true,
	"internalError":     true,
	"rateLimitExceeded": true,
	"jobBackendError":   true,
	"jobInternalError":  true,
	"tableUnavailable":  true,
}

// Classify marks err permanent unless a retry can fix it, and makes an
// access error say who needs which role where.
func (w *Warehouse) Classify(err error) error {
	if err == nil {
		return nil
	}
	if errors.Is(err, context.DeadlineExceeded) || errors.Is(err, context.Canceled) {
		return err
	}

	reason, code, msg := describe(err)
	switch {
	case concurrentUpdate(msg):
		return err
	case analysisError(msg):
		return failure.Permanent(err)
	case transientReasons[reason], code >= 500, code == http.StatusTooManyRequests:
		return err
	case reason == "accessDenied" || code == http.StatusForbidden:
		return failure.Permanent(fmt.Errorf("%w: %s", err, w.AccessHint(msg)))
	case reason == "" && code == 0:
		// Neither BigQuery nor the API answered: a network error.
		return err
	}
	return failure.Permanent(err)
}

// describe returns the reason, HTTP code and message of a BigQuery error.
func describe(err error) (reason string, code int, msg string) {
	var berr *bigquery.Error
	if errors.As(err, &berr) {
		return berr.Reason, 0, berr.Message
	}
	var gerr *googleapi.Error
	if errors.As(err, &gerr) {
		if len(gerr.Errors) > 0 {
			reason = gerr.Errors[0].Reason
		}
		return reason, gerr.Code, gerr.Message
	}
	return "", 0, err.Error()
}

// analysisError reports whether msg says the SQL itself is wrong. The
// local emulator gives such errors the reason jobInternalError, which
// would otherwise read as transient; BigQuery says invalidQuery.
func analysisError(msg string) bool {
	return strings.Contains(msg, "failed to analyze") || strings.Contains(msg, "INVALID_ARGUMENT") ||
		strings.Contains(msg, "Syntax error")
}

// concurrentUpdate reports whether msg is BigQuery's answer to two DML
// jobs changing one table at once; the later one may simply run again.
func concurrentUpdate(msg string) bool {
	m := strings.ToLower(msg)
	return strings.Contains(m, "concurrent update") ||
		strings.Contains(m, "aborted due to concurrent") ||
		strings.Contains(m, "could not serialize access")
}

// accessProjectRE finds the project in BigQuery's access-denied messages,
// such as "Access Denied: Table other-proj:crm.orders: ..." or
// "... in project other-proj".
var accessProjectRE = regexp.MustCompile(
	`(?:Table|Dataset|table|dataset) ([a-z][a-z0-9-]{4,28}[a-z0-9])[:.]|project ([a-z][a-z0-9-]{4,28}[a-z0-9])`)

// writePermissions are the permissions whose denial means the runtime
// service account cannot write a table (the attribution or rejected-rows
// table), as in BigQuery's "Permission bigquery.tables.updateData denied
// on table P:D.T".
var writePermissions = []string{"bigquery.tables.updateData", "bigquery.tables.create",
	"bigquery.tables.update", "bigquery.tables.delete"}

// accessDatasetRE finds the dataset in such a message.
var accessDatasetRE = regexp.MustCompile(`[Tt]able [a-z][a-z0-9-]{4,28}[a-z0-9][:.]([A-Za-z0-9_]+)\.`)

// AccessHint says, for BigQuery's access-denied message msg, which roles
// the runtime service account needs on which project: to read a source
// table, or to write a table of the product's.
func (w *Warehouse) AccessHint(msg string) string {
	project := w.cfg.Project
	if m := accessProjectRE.FindStringSubmatch(msg); m != nil {
		project = m[1] + m[2]
	}
	who := w.cfg.ServiceAccount
	if who == "" {
		who = "the functions' runtime service account"
	}
	for _, p := range writePermissions {
		if !strings.Contains(msg, p) {
			continue
		}
		dataset := "the dataset"
		if m := accessDatasetRE.FindStringSubmatch(msg); m != nil {
			dataset = "dataset " + m[1]
		}
		return fmt.Sprintf("grant %s BigQuery Data Editor (roles/bigquery.dataEditor) on %s "+
			"in project %s, then rerun", who, dataset, project)
	}
	return fmt.Sprintf("grant %s BigQuery Data Viewer (roles/bigquery.dataViewer) on the source "+
		"dataset in project %s and BigQuery User (roles/bigquery.user) on project %s, "+
		"then rerun", who, project, project)
}
