// Package warehouse runs the product's BigQuery jobs: the names it gives
// them (deterministic job ids, labels, staging tables), the schema check,
// starting a job once however often a message is delivered, and errors
// sorted into those a retry can fix and those a person must.
package warehouse

import (
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"regexp"
	"strings"

	"customconversions.dev/shared/request"
)

// Product is the value of the product label on every job. The log sink
// in infra/ filters on it.
const Product = "custom-conversions"

// Label keys on every job.
const (
	LabelProduct    = "product"
	LabelClient     = "client"
	LabelConversion = "conversion"
	LabelRun        = "run"
	LabelStep       = "step"
)

// Step names the job a run issues. The log sink passes only StepExtract
// jobs on to MergeConversion.
type Step string

// The steps of a run.
const (
	StepCheck   Step = "check"
	StepExtract Step = "extract"
	StepSummary Step = "summary"
	StepReject  Step = "reject"
	StepMerge   Step = "merge"
)

// Table names in a client's attribution dataset.
const (
	AttributionTable = "custom_conversions"
	RejectedTable    = "custom_conversions_rejected"
)

// RunID names a run: its window and a hash of the client, conversion and
// the Pub/Sub message that asked for it. A redelivered message gives the
// same id; a new request for the same window gives a new one.
func RunID(client, conversion string, w request.Window, messageID string) string {
	sum := sha256.Sum256([]byte(client + "\x00" + conversion + "\x00" + messageID))
	return fmt.Sprintf("%s-%s-%s", compact(w.Start.String()), compact(w.End.String()),
		hex.EncodeToString(sum[:5]))
}

func compact(date string) string { return strings.ReplaceAll(date, "-", "") }

var runIDRE = regexp.MustCompile(`^[0-9]{8}-[0-9]{8}-[0-9a-f]{10}$`)

// CheckRunID returns an error unless id has the form RunID gives.
func CheckRunID(id string) error {
	if runIDRE.MatchString(id) {
		return nil
	}
	return fmt.Errorf("warehouse: run id %q is not one this product gives", id)
}

// JobID is the deterministic id of a run's job for one step. attempt
// starts at 1; a later attempt of the same step gets its own id, so that
// a failed job can be retried while a redelivery finds the job already
// started. client and conversion must have passed request.CheckID.
func JobID(client, conversion, run string, step Step, attempt int) string {
	id := fmt.Sprintf("cc_%s_%s_%s_%s", client, conversion, run, step)
	if attempt > 1 {
		id += fmt.Sprintf("_%d", attempt)
	}
	return id
}

// Labels returns the labels of a run's job for step, each value cleaned
// to BigQuery's rules.
func Labels(client, conversion, run string, step Step) map[string]string {
	return map[string]string{
		LabelProduct:    Product,
		LabelClient:     CleanLabel(client),
		LabelConversion: CleanLabel(conversion),
		LabelRun:        CleanLabel(run),
		LabelStep:       CleanLabel(string(step)),
	}
}

// CleanLabel makes s a valid BigQuery label value: lowercase letters,
// digits, '_' and '-', at most 63 characters; anything else becomes '_'.
func CleanLabel(s string) string {
	var b strings.Builder
	for _, r := range strings.ToLower(s) {
		if b.Len() == 63 {
			break
		}
		if r >= 'a' && r <= 'z' || r >= '0' && r <= '9' || r == '_' || r == '-' {
			b.WriteRune(r)
		} else {
			b.WriteByte('_')
		}
	}
	return b.String()
}

// StagingTable names a run's staging table: letters, digits and '_' only.
func StagingTable(client, conversion, run string) string {
	name := "stg_" + client + "__" + conversion + "__" + run
	return strings.ReplaceAll(name, "-", "_")
}

var datasetRE = regexp.MustCompile(`^[A-Za-z0-9_]+$`)
var projectRE = regexp.MustCompile(`^[a-z][a-z0-9-]{4,28}[a-z0-9]$|^[a-z0-9.-]+:[a-z][a-z0-9-]{4,28}[a-z0-9]$`)

// CheckDataset returns an error unless name is a valid dataset name.
func CheckDataset(name string) error {
	if len(name) <= 1024 && datasetRE.MatchString(name) {
		return nil
	}
	return fmt.Errorf("dataset %q is not valid: use letters, digits and _ only", name)
}

// CheckProject returns an error unless id is a valid Google Cloud project
// id (6 to 30 lowercase letters, digits and hyphens, starting with a
// letter; a domain-scoped id such as example.com:proj too).
func CheckProject(id string) error {
	if projectRE.MatchString(id) {
		return nil
	}
	return fmt.Errorf("project %q is not a valid Google Cloud project id", id)
}
