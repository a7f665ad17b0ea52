# Staging: one table per run, written by RunConversion's extraction job and
# read by MergeConversion. Tables expire on their own; the functions also
# set the same expiry on each table they create.
resource "google_bigquery_dataset" "staging" {
  project     = var.project_id
  dataset_id  = var.staging_dataset
  location    = var.bigquery_location
  description = "Custom conversions: rows extracted by a run, waiting to be checked and merged."

  default_table_expiration_ms = var.staging_expiry_hours * 60 * 60 * 1000
  delete_contents_on_destroy  = true

  depends_on = [google_project_service.enabled]
}
