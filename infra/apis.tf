locals {
  apis = [
    "artifactregistry.googleapis.com", # images the function builds produce
    "bigquery.googleapis.com",
    "cloudbuild.googleapis.com", # builds the functions from the source zip
    "cloudfunctions.googleapis.com",
    "cloudresourcemanager.googleapis.com", # the project number, IAM
    "cloudscheduler.googleapis.com",
    "firestore.googleapis.com",
    "iam.googleapis.com",
    "logging.googleapis.com",
    "monitoring.googleapis.com",
    "pubsub.googleapis.com",
    "run.googleapis.com", # gen2 functions run as Cloud Run services
    "storage.googleapis.com",
  ]
}

resource "google_project_service" "enabled" {
  for_each = toset(local.apis)

  project = var.project_id
  service = each.value

  # Turning an API off under a running product breaks it; leave that to a
  # person.
  disable_on_destroy = false
}

data "google_project" "this" {
  project_id = var.project_id
}
