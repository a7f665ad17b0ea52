# Firestore in native mode holds clients/{client}, their
# conversions/{conversion} definitions and runs/{run} records.
resource "google_firestore_database" "default" {
  project     = var.project_id
  name        = "(default)"
  location_id = var.firestore_location
  type        = "FIRESTORE_NATIVE"

  delete_protection_state = "DELETE_PROTECTION_ENABLED"
  deletion_policy         = "ABANDON"

  depends_on = [google_project_service.enabled]
}

# The run history lists one conversion's runs, newest first
# (`ccctl runs list --conversion X`): a query on conversion_id ordered by
# created, which needs this composite index.
resource "google_firestore_index" "runs_by_conversion" {
  project     = var.project_id
  database    = google_firestore_database.default.name
  collection  = "runs"
  query_scope = "COLLECTION"

  fields {
    field_path = "conversion_id"
    order      = "ASCENDING"
  }
  fields {
    field_path = "created"
    order      = "DESCENDING"
  }
}
