# MergeConversion: when an extraction job finishes, BigQuery's audit log
# records it; a log sink publishes that entry to the job-events topic,
# which is pushed to the function. It checks the staged rows and merges
# them into the client's attribution table.

resource "google_service_account" "merge_conversion" {
  project      = var.project_id
  account_id   = local.merge_conversion_name
  display_name = "Custom conversions: MergeConversion runtime"
  description  = "Checks staged rows, merges them into the clients' attribution tables and records runs."

  depends_on = [google_project_service.enabled]
}

# Starts the summary, check, reject and merge jobs, which run in this
# project.
resource "google_project_iam_member" "merge_conversion_job_user" {
  project = var.project_id
  role    = "roles/bigquery.jobUser"
  member  = "serviceAccount:${google_service_account.merge_conversion.email}"
}

# Reads run records and definitions, records the outcome.
resource "google_project_iam_member" "merge_conversion_datastore" {
  project = var.project_id
  role    = "roles/datastore.user"
  member  = "serviceAccount:${google_service_account.merge_conversion.email}"
}

# Reads, and may drop, the staging tables.
resource "google_bigquery_dataset_iam_member" "merge_conversion_staging" {
  project    = var.project_id
  dataset_id = google_bigquery_dataset.staging.dataset_id
  role       = "roles/bigquery.dataEditor"
  member     = "serviceAccount:${google_service_account.merge_conversion.email}"
}

# Creates and merges into the attribution and rejected-rows tables.
resource "google_bigquery_dataset_iam_member" "merge_conversion_attribution" {
  for_each = local.attribution_datasets

  project    = each.value.project
  dataset_id = each.value.dataset
  role       = "roles/bigquery.dataEditor"
  member     = "serviceAccount:${google_service_account.merge_conversion.email}"
}

resource "google_cloudfunctions2_function" "merge_conversion" {
  project     = var.project_id
  location    = var.region
  name        = local.merge_conversion_name
  description = "Custom conversions: checks a finished extraction and merges it into the attribution table."

  build_config {
    runtime         = "go126"
    entry_point     = "MergeConversion"
    service_account = var.build_service_account

    source {
      storage_source {
        bucket = var.source_bucket
        object = var.source_object
      }
    }
  }

  service_config {
    available_memory                 = var.merge_conversion.memory
    available_cpu                    = var.merge_conversion.cpu
    timeout_seconds                  = var.merge_conversion.timeout_seconds
    min_instance_count               = var.merge_conversion.min_instances
    max_instance_count               = var.merge_conversion.max_instances
    max_instance_request_concurrency = var.merge_conversion.concurrency
    service_account_email            = google_service_account.merge_conversion.email
    ingress_settings                 = "ALLOW_INTERNAL_ONLY"
    all_traffic_on_latest_revision   = true

    environment_variables = merge(local.function_env, {
      CC_SERVICE_ACCOUNT = google_service_account.merge_conversion.email
    })
  }

  depends_on = [google_project_service.enabled]
}

resource "google_cloud_run_v2_service_iam_member" "merge_conversion_push" {
  project  = var.project_id
  location = var.region
  name     = google_cloudfunctions2_function.merge_conversion.service_config[0].service
  role     = "roles/run.invoker"
  member   = "serviceAccount:${google_service_account.pubsub_push.email}"
}

resource "google_pubsub_topic" "job_events" {
  project = var.project_id
  name    = "${var.name_prefix}-job-events"

  depends_on = [google_project_service.enabled]
}

locals {
  # Finished extraction jobs of this product, in the current audit format
  # (BigQueryAuditMetadata). A job that is DONE may still have failed; the
  # function reads its status. Other steps' jobs never reach the function.
  job_events_filter = join(" AND ", [
    "resource.type=\"bigquery_project\"",
    "protoPayload.metadata.jobChange.after=\"DONE\"",
    "protoPayload.metadata.jobChange.job.jobConfig.labels.product=\"${local.product}\"",
    "protoPayload.metadata.jobChange.job.jobConfig.labels.step=\"extract\"",
  ])
}

resource "google_logging_project_sink" "merge_conversion_job_events" {
  project     = var.project_id
  name        = "${var.name_prefix}-extract-jobs-done"
  description = "Custom conversions: finished extraction jobs, to MergeConversion through the job-events topic."
  destination = "pubsub.googleapis.com/${google_pubsub_topic.job_events.id}"
  filter      = local.job_events_filter

  unique_writer_identity = true
}

resource "google_pubsub_topic_iam_member" "job_events_sink_publisher" {
  project = var.project_id
  topic   = google_pubsub_topic.job_events.name
  role    = "roles/pubsub.publisher"
  member  = google_logging_project_sink.merge_conversion_job_events.writer_identity
}

# Pushes each job event to MergeConversion; the path names the topic, as
# for run requests.
resource "google_pubsub_subscription" "merge_conversion" {
  project = var.project_id
  name    = "${local.merge_conversion_name}-push"
  topic   = google_pubsub_topic.job_events.id

  ack_deadline_seconds       = var.merge_conversion.timeout_seconds
  message_retention_duration = "604800s"

  expiration_policy {
    ttl = ""
  }

  push_config {
    push_endpoint = "${google_cloudfunctions2_function.merge_conversion.service_config[0].uri}/${google_pubsub_topic.job_events.id}"

    oidc_token {
      service_account_email = google_service_account.pubsub_push.email
      audience              = google_cloudfunctions2_function.merge_conversion.service_config[0].uri
    }
  }

  dead_letter_policy {
    dead_letter_topic     = google_pubsub_topic.job_events_dead_letter.id
    max_delivery_attempts = var.max_delivery_attempts
  }

  retry_policy {
    minimum_backoff = var.retry_minimum_backoff
    maximum_backoff = var.retry_maximum_backoff
  }

  depends_on = [
    google_cloud_run_v2_service_iam_member.merge_conversion_push,
    google_service_account_iam_member.pubsub_push_token_creator,
  ]
}

# Job events that failed max_delivery_attempts times: extractions whose
# rows were never merged.
resource "google_pubsub_topic" "job_events_dead_letter" {
  project = var.project_id
  name    = "${var.name_prefix}-job-events-dead-letter"

  depends_on = [google_project_service.enabled]
}

resource "google_pubsub_subscription" "job_events_dead_letter" {
  project = var.project_id
  name    = "${var.name_prefix}-job-events-dead-letter"
  topic   = google_pubsub_topic.job_events_dead_letter.id

  message_retention_duration = "604800s"
  ack_deadline_seconds       = 60

  expiration_policy {
    ttl = ""
  }
}

resource "google_pubsub_topic_iam_member" "job_events_dead_letter_service_agent" {
  project = var.project_id
  topic   = google_pubsub_topic.job_events_dead_letter.name
  role    = "roles/pubsub.publisher"
  member  = local.pubsub_service_agent
}

resource "google_pubsub_subscription_iam_member" "merge_conversion_service_agent" {
  project      = var.project_id
  subscription = google_pubsub_subscription.merge_conversion.name
  role         = "roles/pubsub.subscriber"
  member       = local.pubsub_service_agent
}
