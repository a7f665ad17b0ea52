// Package store reads and writes the product's Firestore documents:
// clients/{client}, clients/{client}/conversions/{conversion} and
// clients/{client}/runs/{run}.
package store

import (
	"fmt"
	"time"

	"customconversions.dev/shared/contract"
	"customconversions.dev/shared/warehouse"
)

// PlanEnterprise is the only plan with custom conversions.
const PlanEnterprise = "enterprise"

// Client is a clients/{client} document.
type Client struct {
	ID          string `firestore:"-" json:"id"`
	DisplayName string `firestore:"display_name" json:"display_name"`
	// Plan is the client's plan; only PlanEnterprise runs conversions.
	Plan string `firestore:"plan" json:"plan"`
	// Project and Dataset locate the client's attribution dataset.
	Project string `firestore:"bigquery_project" json:"bigquery_project"`
	Dataset string `firestore:"attribution_dataset" json:"attribution_dataset"`
	// Currency is the ISO 4217 code a conversion without one gets.
	Currency string `firestore:"default_currency" json:"default_currency"`
	// TimeZone is an IANA name; the client's days are counted in it.
	TimeZone string `firestore:"time_zone" json:"time_zone"`
	Enabled  bool   `firestore:"enabled" json:"enabled"`
}

// Check returns an error naming every field of c that cannot be used.
func (c Client) Check() error {
	var problems []string
	if err := warehouse.CheckProject(c.Project); err != nil {
		problems = append(problems, "bigquery_project: "+err.Error())
	}
	if err := warehouse.CheckDataset(c.Dataset); err != nil {
		problems = append(problems, "attribution_dataset: "+err.Error())
	}
	if !contract.IsCurrency(c.Currency) {
		problems = append(problems, fmt.Sprintf("default_currency %q is not an ISO 4217 code such as GBP", c.Currency))
	}
	if _, err := c.Location(); err != nil {
		problems = append(problems, err.Error())
	}
	if len(problems) > 0 {
		return fmt.Errorf("client %s: %v: fix the client document", c.ID, problems)
	}
	return nil
}

// Location returns the client's time zone.
func (c Client) Location() (*time.Location, error) {
	if c.TimeZone == "" || c.TimeZone == "Local" {
		return nil, fmt.Errorf("time_zone %q is not an IANA time zone such as Europe/London", c.TimeZone)
	}
	loc, err := time.LoadLocation(c.TimeZone)
	if err != nil {
		return nil, fmt.Errorf("time_zone %q is not an IANA time zone such as Europe/London", c.TimeZone)
	}
	return loc, nil
}

// Definition is a clients/{client}/conversions/{conversion} document.
type Definition struct {
	ID      string    `firestore:"-" json:"id"`
	Name    string    `firestore:"name" json:"name"`
	SQL     string    `firestore:"sql" json:"sql"`
	Enabled bool      `firestore:"enabled" json:"enabled"`
	Hash    string    `firestore:"hash" json:"hash"`
	Updated time.Time `firestore:"updated" json:"updated"`
	Author  string    `firestore:"author" json:"author"`
}

// Run states.
const (
	StateExtracting = "extracting"
	StateMerging    = "merging"
	StateSucceeded  = "succeeded"
	StateFailed     = "failed"
	StateSkipped    = "skipped"
)

// Run is a clients/{client}/runs/{run} document: what ran, how it went.
type Run struct {
	ID           string `firestore:"-" json:"id"`
	ClientID     string `firestore:"client_id" json:"client_id"`
	ConversionID string `firestore:"conversion_id" json:"conversion_id"`
	// DefinitionHash is the hash of the SQL that ran (contract.Hash).
	DefinitionHash string `firestore:"definition_hash" json:"definition_hash"`
	SQL            string `firestore:"sql" json:"-"`
	WindowStart    string `firestore:"window_start" json:"window_start"`
	WindowEnd      string `firestore:"window_end" json:"window_end"`
	// Trigger is "scheduled" or "manual".
	Trigger   string `firestore:"trigger" json:"trigger"`
	MessageID string `firestore:"message_id" json:"message_id"`
	Reason    string `firestore:"reason,omitempty" json:"reason,omitempty"`

	State string `firestore:"state" json:"state"`
	// Attempt counts extraction attempts; each has its own job id.
	Attempt int `firestore:"attempt" json:"attempt"`
	// Jobs maps a step to the id of its job.
	Jobs         map[string]string `firestore:"jobs" json:"jobs"`
	StagingTable string            `firestore:"staging_table" json:"staging_table"`
	// Shape is the definition's output shape the extraction was built for.
	Shape map[string]string `firestore:"shape" json:"-"`

	Counts Counts `firestore:"counts" json:"counts"`
	// BytesProcessed is what the extraction job processed.
	BytesProcessed int64 `firestore:"bytes_processed" json:"bytes_processed"`

	Created   time.Time `firestore:"created" json:"created"`
	Extracted time.Time `firestore:"extracted,omitempty" json:"extracted,omitzero"`
	Finished  time.Time `firestore:"finished,omitempty" json:"finished,omitzero"`

	// Error says, for a person, why the run failed or was skipped.
	Error string `firestore:"error,omitempty" json:"error,omitempty"`
}

// Counts are a run's row counts.
type Counts struct {
	Read     int64 `firestore:"read" json:"read"`
	Rejected int64 `firestore:"rejected" json:"rejected"`
	// RejectedByReason counts rejected rows per reason; a row with two
	// problems counts under each.
	RejectedByReason map[string]int64 `firestore:"rejected_by_reason" json:"rejected_by_reason"`
	// RejectedSamples holds a few ids of rejected rows.
	RejectedSamples []string `firestore:"rejected_samples" json:"rejected_samples"`
	Duplicates      int64    `firestore:"duplicates" json:"duplicates"`
	Generated       int64    `firestore:"ids_generated" json:"ids_generated"`
	Inserted        int64    `firestore:"inserted" json:"inserted"`
	Updated         int64    `firestore:"updated" json:"updated"`
	Unchanged       int64    `firestore:"unchanged" json:"unchanged"`
}
