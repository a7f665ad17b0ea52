# Failed runs and dead letters reach a person. The functions log a failed
# run at severity ERROR with a message starting "run failed" and the
# attributes client_id, conversion_id and run_id.

resource "google_logging_metric" "failed_runs" {
  project     = var.project_id
  name        = "${var.name_prefix}-failed-runs"
  description = "Custom conversions: runs that failed, by client and conversion."
  filter = join(" AND ", [
    "resource.type=\"cloud_run_revision\"",
    "resource.labels.service_name=(\"${local.run_conversion_name}\" OR \"${local.merge_conversion_name}\")",
    "severity>=ERROR",
    "jsonPayload.message=~\"^run failed\"",
  ])

  metric_descriptor {
    metric_kind  = "DELTA"
    value_type   = "INT64"
    unit         = "1"
    display_name = "Custom conversions failed runs"

    labels {
      key         = "client_id"
      value_type  = "STRING"
      description = "Client whose run failed."
    }
    labels {
      key         = "conversion_id"
      value_type  = "STRING"
      description = "Conversion definition whose run failed."
    }
  }

  # run_id is left out on purpose: a label per run would make a time
  # series per run. The log entry carries it; the alert links to the logs.
  label_extractors = {
    client_id     = "EXTRACT(jsonPayload.client_id)"
    conversion_id = "EXTRACT(jsonPayload.conversion_id)"
  }

  depends_on = [google_project_service.enabled]
}

# Messages the functions refused and acknowledged without retrying: bad
# JSON, an unknown client (a scheduler job without its Firestore document),
# an event that is not a job log entry. Nothing runs for them, so they
# would otherwise go unnoticed.
resource "google_logging_metric" "refused_messages" {
  project     = var.project_id
  name        = "${var.name_prefix}-refused-messages"
  description = "Custom conversions: run requests and job events refused without a retry."
  filter = join(" AND ", [
    "resource.type=\"cloud_run_revision\"",
    "resource.labels.service_name=(\"${local.run_conversion_name}\" OR \"${local.merge_conversion_name}\")",
    "severity>=ERROR",
    "jsonPayload.message=~\"^(request|event) refused\"",
  ])

  metric_descriptor {
    metric_kind  = "DELTA"
    value_type   = "INT64"
    unit         = "1"
    display_name = "Custom conversions refused messages"
  }

  depends_on = [google_project_service.enabled]
}

resource "google_monitoring_notification_channel" "email" {
  for_each = toset(var.alert_emails)

  project      = var.project_id
  display_name = "Custom conversions: ${each.value}"
  type         = "email"
  labels = {
    email_address = each.value
  }

  depends_on = [google_project_service.enabled]
}

locals {
  notification_channels = concat(
    var.notification_channels,
    [for c in google_monitoring_notification_channel.email : c.id],
  )
}

resource "google_monitoring_alert_policy" "failed_runs" {
  project      = var.project_id
  display_name = "Custom conversions: a run failed"
  combiner     = "OR"
  severity     = "ERROR"

  conditions {
    display_name = "Failed runs by client and conversion"

    condition_threshold {
      filter          = "resource.type = \"cloud_run_revision\" AND metric.type = \"logging.googleapis.com/user/${google_logging_metric.failed_runs.name}\""
      comparison      = "COMPARISON_GT"
      threshold_value = 0
      duration        = "0s"

      aggregations {
        alignment_period     = "300s"
        per_series_aligner   = "ALIGN_SUM"
        cross_series_reducer = "REDUCE_SUM"
        group_by_fields      = ["metric.label.client_id", "metric.label.conversion_id"]
      }

      trigger {
        count = 1
      }
    }
  }

  alert_strategy {
    auto_close = "86400s"
  }

  documentation {
    mime_type = "text/markdown"
    content   = <<-EOT
      A custom conversion run failed and nothing was merged for it. The
      run's record in Firestore (clients/CLIENT/runs/RUN) holds the error;
      the log entry holds client_id, conversion_id and run_id. Read them
      with:

          gcloud logging read 'resource.type="cloud_run_revision" AND severity>=ERROR AND jsonPayload.message=~"^run failed"' --project ${var.project_id} --freshness 1d

      Fix the cause, then rerun the day (see infra/RUNBOOK.md).
    EOT
  }

  notification_channels = local.notification_channels
}

resource "google_monitoring_alert_policy" "refused_messages" {
  project      = var.project_id
  display_name = "Custom conversions: a message was refused"
  combiner     = "OR"
  severity     = "WARNING"

  conditions {
    display_name = "Refused run requests and job events"

    condition_threshold {
      filter          = "resource.type = \"cloud_run_revision\" AND metric.type = \"logging.googleapis.com/user/${google_logging_metric.refused_messages.name}\""
      comparison      = "COMPARISON_GT"
      threshold_value = 0
      duration        = "0s"

      aggregations {
        alignment_period     = "300s"
        per_series_aligner   = "ALIGN_SUM"
        cross_series_reducer = "REDUCE_SUM"
      }

      trigger {
        count = 1
      }
    }
  }

  alert_strategy {
    auto_close = "86400s"
  }

  documentation {
    mime_type = "text/markdown"
    content   = <<-EOT
      A run request or job event was refused and will not be retried: bad
      JSON, an unknown field, an unknown client (a scheduler job whose
      client has no Firestore document), a date in the future. The log
      entry says which:

          gcloud logging read 'resource.type="cloud_run_revision" AND severity>=ERROR AND jsonPayload.message=~"^(request|event) refused"' --project ${var.project_id} --freshness 1d

      Correct the sender (the tfvars clients, the Firestore document, the
      rerun command), then publish the request again.
    EOT
  }

  notification_channels = local.notification_channels
}

resource "google_monitoring_alert_policy" "dead_letters" {
  project      = var.project_id
  display_name = "Custom conversions: messages in a dead-letter subscription"
  combiner     = "OR"
  severity     = "WARNING"

  conditions {
    display_name = "Undelivered dead letters"

    condition_threshold {
      filter = join(" AND ", [
        "resource.type = \"pubsub_subscription\"",
        "metric.type = \"pubsub.googleapis.com/subscription/num_undelivered_messages\"",
        "resource.label.subscription_id = one_of(\"${google_pubsub_subscription.run_requests_dead_letter.name}\", \"${google_pubsub_subscription.job_events_dead_letter.name}\")",
      ])
      comparison      = "COMPARISON_GT"
      threshold_value = 0
      duration        = "0s"

      aggregations {
        alignment_period   = "300s"
        per_series_aligner = "ALIGN_MAX"
      }

      trigger {
        count = 1
      }
    }
  }

  documentation {
    mime_type = "text/markdown"
    content   = <<-EOT
      A run request or a job event failed every delivery and was moved to a
      dead-letter topic. Its subscription keeps it for 7 days. See "Dead
      letters" in infra/RUNBOOK.md to read, replay or drop it.
    EOT
  }

  notification_channels = local.notification_channels
}
