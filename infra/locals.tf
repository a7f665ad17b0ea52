locals {
  # The value of the product label on every BigQuery job the functions
  # start, and on every resource here.
  product = "custom-conversions"

  run_conversion_name   = "${var.name_prefix}-run-conversion"
  merge_conversion_name = "${var.name_prefix}-merge-conversion"

  # Settings both functions read through shared/config. Each function adds
  # CC_SERVICE_ACCOUNT, its own runtime account, which its errors name.
  function_env = {
    GOOGLE_CLOUD_PROJECT = var.project_id
    CC_STAGING_DATASET   = var.staging_dataset
    CC_BIGQUERY_LOCATION = var.bigquery_location
    CC_JOB_PRIORITY      = var.job_priority
    CC_REJECT_THRESHOLD  = tostring(var.reject_threshold)
    CC_STAGING_EXPIRY    = "${var.staging_expiry_hours}h"
  }

  # Source datasets the clients' queries read, "project.dataset", once each
  # even when several clients share one.
  source_datasets = {
    for ds in distinct(flatten([for c in values(var.clients) : c.source_datasets])) :
    ds => { project = split(".", ds)[0], dataset = split(".", ds)[1] }
  }

  # Attribution datasets the merges write, "project.dataset", once each.
  attribution_datasets = {
    for ds in distinct([
      for c in values(var.clients) :
      "${coalesce(c.attribution_project, var.project_id)}.${c.attribution_dataset}"
      if c.attribution_dataset != null
    ]) :
    ds => { project = split(".", ds)[0], dataset = split(".", ds)[1] }
  }
}
