output "run_requests_topic" {
  description = "Topic that starts runs (projects/P/topics/T): the scheduler publishes to it, and so do reruns and backfills."
  value       = google_pubsub_topic.run_requests.id
}

output "job_events_topic" {
  description = "Topic the log sink publishes finished extraction jobs to, for MergeConversion."
  value       = google_pubsub_topic.job_events.id
}

output "dead_letter_topics" {
  description = "Dead-letter topics, by the topic whose messages they receive."
  value = {
    run_requests = google_pubsub_topic.run_requests_dead_letter.id
    job_events   = google_pubsub_topic.job_events_dead_letter.id
  }
}

output "dead_letter_subscriptions" {
  description = "Pull subscriptions that keep the dead letters for 7 days, by topic."
  value = {
    run_requests = google_pubsub_subscription.run_requests_dead_letter.id
    job_events   = google_pubsub_subscription.job_events_dead_letter.id
  }
}

output "run_conversion_service_account" {
  description = "RunConversion's runtime account: grant it BigQuery Data Viewer on each source dataset."
  value       = google_service_account.run_conversion.email
}

output "merge_conversion_service_account" {
  description = "MergeConversion's runtime account: grant it BigQuery Data Editor on each attribution dataset."
  value       = google_service_account.merge_conversion.email
}

output "pubsub_push_service_account" {
  description = "Identity in the push subscriptions' OIDC tokens; the only caller of the functions."
  value       = google_service_account.pubsub_push.email
}

output "log_sink_writer_identity" {
  description = "Identity the job-events log sink publishes as."
  value       = google_logging_project_sink.merge_conversion_job_events.writer_identity
}

output "function_uris" {
  description = "Service URLs of the functions, by entry point. Only the push identity may call them."
  value = {
    RunConversion   = google_cloudfunctions2_function.run_conversion.service_config[0].uri
    MergeConversion = google_cloudfunctions2_function.merge_conversion.service_config[0].uri
  }
}

output "scheduler_jobs" {
  description = "Scheduler job name, by client id."
  value       = { for id, j in google_cloud_scheduler_job.run_conversion : id => j.name }
}
