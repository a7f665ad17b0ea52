# One scheduler job per client: each publishes {"client_id": "<id>"} to the
# run-requests topic, which RunConversion reads as "run this client's
# definitions for its last complete day".
resource "google_cloud_scheduler_job" "run_conversion" {
  for_each = var.clients

  project     = var.project_id
  region      = coalesce(var.scheduler_region, var.region)
  name        = "${var.name_prefix}-run-${each.key}"
  description = "Custom conversions: daily run for client ${each.key}."
  schedule    = each.value.schedule
  time_zone   = each.value.time_zone
  paused      = each.value.paused

  pubsub_target {
    topic_name = google_pubsub_topic.run_requests.id
    data       = base64encode(jsonencode({ client_id = each.key }))
  }

  depends_on = [google_project_service.enabled]
}
