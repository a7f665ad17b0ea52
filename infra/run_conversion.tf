# RunConversion: run requests (scheduler, reruns, backfills) arrive on the
# run-requests topic and are pushed to the function, which checks each
# definition and starts its extraction job into the staging dataset.

resource "google_service_account" "run_conversion" {
  project      = var.project_id
  account_id   = local.run_conversion_name
  display_name = "Custom conversions: RunConversion runtime"
  description  = "Reads client definitions, dry-runs them and runs the extraction jobs into staging."

  depends_on = [google_project_service.enabled]
}

# Starts the dry runs and extraction jobs, which run in this project.
resource "google_project_iam_member" "run_conversion_job_user" {
  project = var.project_id
  role    = "roles/bigquery.jobUser"
  member  = "serviceAccount:${google_service_account.run_conversion.email}"
}

# Reads clients and definitions, writes run records.
resource "google_project_iam_member" "run_conversion_datastore" {
  project = var.project_id
  role    = "roles/datastore.user"
  member  = "serviceAccount:${google_service_account.run_conversion.email}"
}

# Writes the extraction's destination table.
resource "google_bigquery_dataset_iam_member" "run_conversion_staging" {
  project    = var.project_id
  dataset_id = google_bigquery_dataset.staging.dataset_id
  role       = "roles/bigquery.dataEditor"
  member     = "serviceAccount:${google_service_account.run_conversion.email}"
}

# Reads the clients' CRM tables, possibly in the clients' own projects.
resource "google_bigquery_dataset_iam_member" "run_conversion_sources" {
  for_each = local.source_datasets

  project    = each.value.project
  dataset_id = each.value.dataset
  role       = "roles/bigquery.dataViewer"
  member     = "serviceAccount:${google_service_account.run_conversion.email}"
}

resource "google_cloudfunctions2_function" "run_conversion" {
  project     = var.project_id
  location    = var.region
  name        = local.run_conversion_name
  description = "Custom conversions: checks a client's definitions and starts their extraction jobs."

  build_config {
    runtime         = "go126"
    entry_point     = "RunConversion"
    service_account = var.build_service_account

    source {
      storage_source {
        bucket = var.source_bucket
        object = var.source_object
      }
    }
  }

  service_config {
    available_memory                 = var.run_conversion.memory
    available_cpu                    = var.run_conversion.cpu
    timeout_seconds                  = var.run_conversion.timeout_seconds
    min_instance_count               = var.run_conversion.min_instances
    max_instance_count               = var.run_conversion.max_instances
    max_instance_request_concurrency = var.run_conversion.concurrency
    service_account_email            = google_service_account.run_conversion.email
    ingress_settings                 = "ALLOW_INTERNAL_ONLY"
    all_traffic_on_latest_revision   = true

    environment_variables = merge(local.function_env, {
      CC_SERVICE_ACCOUNT = google_service_account.run_conversion.email
    })
  }

  depends_on = [google_project_service.enabled]
}

# Only the push identity may call the function.
resource "google_cloud_run_v2_service_iam_member" "run_conversion_push" {
  project  = var.project_id
  location = var.region
  name     = google_cloudfunctions2_function.run_conversion.service_config[0].service
  role     = "roles/run.invoker"
  member   = "serviceAccount:${google_service_account.pubsub_push.email}"
}

resource "google_pubsub_topic" "run_requests" {
  project = var.project_id
  name    = "${var.name_prefix}-run-requests"

  depends_on = [google_project_service.enabled]
}

resource "google_pubsub_topic_iam_member" "run_requests_publishers" {
  for_each = toset(var.rerun_publishers)

  project = var.project_id
  topic   = google_pubsub_topic.run_requests.name
  role    = "roles/pubsub.publisher"
  member  = each.value
}

# Pushes each run request to RunConversion. The endpoint's path names the
# topic, which the functions framework turns into the event's source.
resource "google_pubsub_subscription" "run_conversion" {
  project = var.project_id
  name    = "${local.run_conversion_name}-push"
  topic   = google_pubsub_topic.run_requests.id

  ack_deadline_seconds       = var.run_conversion.timeout_seconds
  message_retention_duration = "604800s"

  expiration_policy {
    ttl = ""
  }

  push_config {
    push_endpoint = "${google_cloudfunctions2_function.run_conversion.service_config[0].uri}/${google_pubsub_topic.run_requests.id}"

    oidc_token {
      service_account_email = google_service_account.pubsub_push.email
      audience              = google_cloudfunctions2_function.run_conversion.service_config[0].uri
    }
  }

  dead_letter_policy {
    dead_letter_topic     = google_pubsub_topic.run_requests_dead_letter.id
    max_delivery_attempts = var.max_delivery_attempts
  }

  retry_policy {
    minimum_backoff = var.retry_minimum_backoff
    maximum_backoff = var.retry_maximum_backoff
  }

  depends_on = [
    google_cloud_run_v2_service_iam_member.run_conversion_push,
    google_service_account_iam_member.pubsub_push_token_creator,
  ]
}

# Run requests that failed max_delivery_attempts times.
resource "google_pubsub_topic" "run_requests_dead_letter" {
  project = var.project_id
  name    = "${var.name_prefix}-run-requests-dead-letter"

  depends_on = [google_project_service.enabled]
}

# Keeps the dead letters for a person to read: a topic without a
# subscription drops what is published to it.
resource "google_pubsub_subscription" "run_requests_dead_letter" {
  project = var.project_id
  name    = "${var.name_prefix}-run-requests-dead-letter"
  topic   = google_pubsub_topic.run_requests_dead_letter.id

  message_retention_duration = "604800s"
  ack_deadline_seconds       = 60

  expiration_policy {
    ttl = ""
  }
}

resource "google_pubsub_topic_iam_member" "run_requests_dead_letter_service_agent" {
  project = var.project_id
  topic   = google_pubsub_topic.run_requests_dead_letter.name
  role    = "roles/pubsub.publisher"
  member  = local.pubsub_service_agent
}

resource "google_pubsub_subscription_iam_member" "run_conversion_service_agent" {
  project      = var.project_id
  subscription = google_pubsub_subscription.run_conversion.name
  role         = "roles/pubsub.subscriber"
  member       = local.pubsub_service_agent
}
