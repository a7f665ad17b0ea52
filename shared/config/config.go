// Package config reads the functions' settings from the environment once,
// at start, into a typed struct that is then passed explicitly.
package config

import (
	"errors"
	"fmt"
	"os"
	"regexp"
	"strconv"
	"strings"
	"time"
)

// Environment variable names. Terraform (infra/) sets the same names on
// both functions; a test cross-checks the two.
const (
	EnvProject         = "GOOGLE_CLOUD_PROJECT"
	EnvStagingDataset  = "CC_STAGING_DATASET"
	EnvLocation        = "CC_BIGQUERY_LOCATION"
	EnvPriority        = "CC_JOB_PRIORITY"
	EnvRejectThreshold = "CC_REJECT_THRESHOLD"
	EnvStagingExpiry   = "CC_STAGING_EXPIRY"
	EnvServiceAccount  = "CC_SERVICE_ACCOUNT"
	EnvBigQueryHost    = "BIGQUERY_EMULATOR_HOST"
)

// Topic ids. Terraform (infra/) creates them, with a dead-letter topic
// each named with DeadLetterSuffix; the local stack uses the same ids.
const (
	TopicRunRequests = "cc-run-requests"
	TopicJobEvents   = "cc-job-events"
	DeadLetterSuffix = "-dead-letter"
)

// Config holds the settings both functions share.
type Config struct {
	// Project is the Google Cloud project that runs the BigQuery jobs and
	// holds Firestore and the staging dataset.
	Project string
	// StagingDataset holds one staging table per run; default "cc_staging".
	StagingDataset string
	// Location is the BigQuery location of the jobs; default "US".
	Location string
	// Batch runs extraction jobs at batch priority; default interactive.
	Batch bool
	// RejectThreshold is the rejected share of a run's rows above which
	// the run fails without merging; default 0.05.
	RejectThreshold float64
	// StagingExpiry is how long a staging table lives; default 24h.
	StagingExpiry time.Duration
	// ServiceAccount is the runtime service account's email, named in
	// access errors so that a person knows whom to grant; may be empty.
	ServiceAccount string
	// BigQueryEmulator is the host:port of a local BigQuery emulator, or
	// empty in production. It switches the schema check from the dry run
	// (whose schema the emulator leaves empty) to a LIMIT 0 query.
	BigQueryEmulator string
}

var datasetRE = regexp.MustCompile(`^[A-Za-z0-9_]+$`)

// FromEnv reads the configuration from the environment and validates it.
func FromEnv() (Config, error) {
	return Parse(os.Getenv)
}

// Parse reads the configuration through getenv and validates it.
func Parse(getenv func(string) string) (Config, error) {
	c := Config{
		Project:          getenv(EnvProject),
		StagingDataset:   or(getenv(EnvStagingDataset), "cc_staging"),
		Location:         or(getenv(EnvLocation), "US"),
		ServiceAccount:   getenv(EnvServiceAccount),
		BigQueryEmulator: getenv(EnvBigQueryHost),
		RejectThreshold:  0.05,
		StagingExpiry:    24 * time.Hour,
	}
	var errs []error
	if c.Project == "" {
		errs = append(errs, fmt.Errorf("%s is not set: set it to the Google Cloud project id", EnvProject))
	}
	if !datasetRE.MatchString(c.StagingDataset) {
		errs = append(errs, fmt.Errorf("%s=%q: a dataset name has only letters, digits and _", EnvStagingDataset, c.StagingDataset))
	}
	switch p := strings.ToLower(getenv(EnvPriority)); p {
	case "", "interactive":
	case "batch":
		c.Batch = true
	default:
		errs = append(errs, fmt.Errorf("%s=%q: want interactive or batch", EnvPriority, p))
	}
	if s := getenv(EnvRejectThreshold); s != "" {
		f, err := strconv.ParseFloat(s, 64)
		if err != nil || f < 0 || f > 1 {
			errs = append(errs, fmt.Errorf("%s=%q: want a share between 0 and 1, such as 0.05", EnvRejectThreshold, s))
		}
		c.RejectThreshold = f
	}
	if s := getenv(EnvStagingExpiry); s != "" {
		d, err := time.ParseDuration(s)
		if err != nil || d < time.Hour {
			errs = append(errs, fmt.Errorf("%s=%q: want a duration of at least 1h, such as 24h", EnvStagingExpiry, s))
		}
		c.StagingExpiry = d
	}
	if err := errors.Join(errs...); err != nil {
		return Config{}, fmt.Errorf("config: %w", err)
	}
	return c, nil
}

func or(s, def string) string {
	if s == "" {
		return def
	}
	return s
}
