variable "project_id" {
  description = "Google Cloud project that runs the product: the functions, Firestore, Pub/Sub, the staging dataset and every BigQuery job."
  type        = string
}

variable "region" {
  description = "Region of the functions and, unless scheduler_region is set, of the scheduler jobs."
  type        = string
  default     = "us-central1"
}

variable "scheduler_region" {
  description = "Region of the Cloud Scheduler jobs when it must differ from region (Cloud Scheduler is not offered in every region). Null means region."
  type        = string
  default     = null
}

variable "bigquery_location" {
  description = "BigQuery location (US, EU or a region) of the jobs and of the staging dataset. Source and attribution datasets must be in the same location: a query cannot read from one location and write to another. Sets CC_BIGQUERY_LOCATION."
  type        = string
  default     = "US"
}

variable "firestore_location" {
  description = "Location of the Firestore (default) database, such as nam5 or eur3. It cannot be changed once the database exists."
  type        = string
  default     = "nam5"
}

variable "name_prefix" {
  description = "Prefix of every resource name (topics, subscriptions, functions, service accounts, scheduler jobs), so that two installations can share a project."
  type        = string
  default     = "cc"

  validation {
    condition     = can(regex("^[a-z][a-z0-9-]{1,9}$", var.name_prefix))
    error_message = "The name_prefix must be 2 to 10 lowercase letters, digits or hyphens, starting with a letter: service account ids built from it have at most 30 characters."
  }
}

variable "labels" {
  description = "Labels added to every resource that takes labels. The product label is always set to custom-conversions."
  type        = map(string)
  default     = {}
}

variable "source_bucket" {
  description = "Cloud Storage bucket that holds the function source archive. scripts/deploy/deploy.sh creates it when missing and uploads to it."
  type        = string
}

variable "source_object" {
  description = "Object name of the source archive in source_bucket, as written by scripts/package. A new name per content (the deploy script uses the archive's digest) is what makes Terraform rebuild the functions."
  type        = string
}

variable "build_service_account" {
  description = "Service account Cloud Build uses to build the functions, as projects/PROJECT/serviceAccounts/EMAIL. Null leaves the platform's default build account."
  type        = string
  default     = null
}

variable "staging_dataset" {
  description = "Dataset id of the staging dataset in project_id. Sets CC_STAGING_DATASET."
  type        = string
  default     = "cc_staging"

  validation {
    condition     = can(regex("^[A-Za-z0-9_]+$", var.staging_dataset)) && length(var.staging_dataset) <= 1024
    error_message = "A dataset id is at most 1024 letters, digits and underscores."
  }
}

variable "staging_expiry_hours" {
  description = "Hours a staging table lives: the staging dataset's default table expiry, and CC_STAGING_EXPIRY for the functions."
  type        = number
  default     = 24

  validation {
    condition     = var.staging_expiry_hours >= 1 && floor(var.staging_expiry_hours) == var.staging_expiry_hours
    error_message = "The staging expiry is a whole number of hours, at least 1."
  }
}

variable "job_priority" {
  description = "Priority of the extraction jobs: interactive (start now, counts against the concurrent-query limit) or batch (queued until slots are free). Sets CC_JOB_PRIORITY."
  type        = string
  default     = "interactive"

  validation {
    condition     = contains(["interactive", "batch"], var.job_priority)
    error_message = "The job_priority is interactive or batch."
  }
}

variable "reject_threshold" {
  description = "Share of a run's rows that may be rejected before the run fails without merging, between 0 and 1. Sets CC_REJECT_THRESHOLD."
  type        = number
  default     = 0.05

  validation {
    condition     = var.reject_threshold >= 0 && var.reject_threshold <= 1
    error_message = "The reject_threshold is a share between 0 and 1, such as 0.05."
  }
}

variable "run_conversion" {
  description = "Sizing of the RunConversion function. memory and cpu as Cloud Run takes them (cpu must be at least 1 when concurrency is above 1); timeout_seconds at most 600, since it is also the push subscription's acknowledgement deadline; concurrency is requests per instance."
  type = object({
    memory          = optional(string, "512Mi")
    cpu             = optional(string, "1")
    timeout_seconds = optional(number, 300)
    min_instances   = optional(number, 0)
    max_instances   = optional(number, 10)
    concurrency     = optional(number, 8)
  })
  default = {}

  validation {
    condition     = var.run_conversion.timeout_seconds >= 10 && var.run_conversion.timeout_seconds <= 600
    error_message = "The run_conversion.timeout_seconds is between 10 and 600."
  }
}

variable "merge_conversion" {
  description = "Sizing of the MergeConversion function; fields as for run_conversion. Its timeout covers the check, reject and merge jobs of one run."
  type = object({
    memory          = optional(string, "512Mi")
    cpu             = optional(string, "1")
    timeout_seconds = optional(number, 540)
    min_instances   = optional(number, 0)
    max_instances   = optional(number, 10)
    concurrency     = optional(number, 8)
  })
  default = {}

  validation {
    condition     = var.merge_conversion.timeout_seconds >= 10 && var.merge_conversion.timeout_seconds <= 600
    error_message = "The merge_conversion.timeout_seconds is between 10 and 600."
  }
}

variable "max_delivery_attempts" {
  description = "Deliveries of one message to a function before Pub/Sub moves it to the dead-letter topic (5 to 100). Only transient errors are retried: the functions acknowledge permanent ones."
  type        = number
  default     = 10

  validation {
    condition     = var.max_delivery_attempts >= 5 && var.max_delivery_attempts <= 100
    error_message = "Pub/Sub takes 5 to 100 delivery attempts."
  }
}

variable "retry_minimum_backoff" {
  description = "Shortest wait before Pub/Sub redelivers a message the function failed, as a duration in seconds such as \"10s\". The wait grows exponentially up to retry_maximum_backoff."
  type        = string
  default     = "10s"
}

variable "retry_maximum_backoff" {
  description = "Longest wait between redeliveries, at most \"600s\"."
  type        = string
  default     = "600s"
}

variable "clients" {
  description = <<-EOT
    Clients run on a schedule, keyed by client id: the id of the client's
    Firestore document clients/{id}, which is also the client_id the
    scheduler publishes. For each client:
      schedule            cron expression, such as "30 6 * * *"
      time_zone           IANA time zone the schedule is read in, such as
                          "Europe/London"; use the client's own, so that a
                          daily run starts after the client's day has ended
      paused              true keeps the scheduler job but stops it firing
      attribution_project project of the client's attribution dataset, when
                          it is not project_id
      attribution_dataset that dataset's id: MergeConversion gets BigQuery
                          Data Editor on it (the dataset must exist)
      source_datasets     "project.dataset" of each dataset the client's
                          queries read: RunConversion gets BigQuery Data
                          Viewer on it (the datasets must exist, and whoever
                          applies needs to be allowed to grant it; leave it
                          out and see RUNBOOK.md to grant it by hand)
  EOT
  type = map(object({
    schedule            = string
    time_zone           = string
    paused              = optional(bool, false)
    attribution_project = optional(string)
    attribution_dataset = optional(string)
    source_datasets     = optional(list(string), [])
  }))
  default = {}

  validation {
    condition     = alltrue([for id in keys(var.clients) : can(regex("^[a-z0-9][a-z0-9_-]{0,39}$", id))])
    error_message = "A client id is 1 to 40 lowercase letters, digits, underscores or hyphens, starting with a letter or digit, as the functions accept it."
  }

  validation {
    condition = alltrue(flatten([
      for c in values(var.clients) : [
        for ds in c.source_datasets : can(regex("^[a-z][-a-z0-9]{4,28}[a-z0-9]\\.[A-Za-z0-9_]+$", ds))
      ]
    ]))
    error_message = "Each source dataset is written project.dataset, such as acme-crm.crm."
  }
}

variable "rerun_publishers" {
  description = "Members allowed to publish reruns and backfills to the run-requests topic, such as group:data-eng@example.com. Project owners and editors can already."
  type        = list(string)
  default     = []
}

variable "alert_emails" {
  description = "Email addresses told about failed runs and dead letters. An email notification channel is created for each."
  type        = list(string)
  default     = []
}

variable "notification_channels" {
  description = "Ids of existing Cloud Monitoring notification channels (projects/P/notificationChannels/N) told about failed runs and dead letters, besides alert_emails."
  type        = list(string)
  default     = []
}
