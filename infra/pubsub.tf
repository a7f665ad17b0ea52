# What both push subscriptions share: the identity Pub/Sub signs its pushes
# as, and the Pub/Sub service agent's rights. The topics and subscriptions
# themselves are in run_conversion.tf and merge_conversion.tf.

locals {
  # Google's own account for Pub/Sub in this project. It mints the push
  # tokens, moves undeliverable messages to the dead-letter topics and
  # acknowledges them on the source subscription.
  pubsub_service_agent = "serviceAccount:service-${data.google_project.this.number}@gcp-sa-pubsub.iam.gserviceaccount.com"
}

# The identity in the OIDC token on every push. It may invoke the two
# functions (run_conversion.tf, merge_conversion.tf) and nothing else.
resource "google_service_account" "pubsub_push" {
  project      = var.project_id
  account_id   = "${var.name_prefix}-pubsub-push"
  display_name = "Custom conversions: Pub/Sub push to the functions"

  depends_on = [google_project_service.enabled]
}

# Pub/Sub creates the push tokens as this account. Projects made since
# April 2021 grant the service agent this already; the grant keeps older
# projects working and documents the need.
resource "google_service_account_iam_member" "pubsub_push_token_creator" {
  service_account_id = google_service_account.pubsub_push.name
  role               = "roles/iam.serviceAccountTokenCreator"
  member             = local.pubsub_service_agent

  depends_on = [google_project_service.enabled]
}
