# Only the backend has a dedicated runtime service account in prod; the other
# services run as the Compute Engine default service account.
data "google_compute_default_service_account" "default" {
  project = var.project_id
}

resource "google_service_account" "cr_backend" {
  project      = var.project_id
  account_id   = "cr-backend"
  display_name = "Cloud Run runtime: jualuma-backend"
}

resource "google_project_iam_member" "backend_cloudsql_client" {
  project = var.project_id
  role    = "roles/cloudsql.client"
  member  = google_service_account.cr_backend.member
}

resource "google_project_iam_member" "backend_log_writer" {
  project = var.project_id
  role    = "roles/logging.logWriter"
  member  = google_service_account.cr_backend.member
}
