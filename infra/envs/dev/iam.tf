locals {
  # One dedicated runtime service account per service role.
  runtime_service_accounts = {
    approvals  = "jualuma-approvals"
    backend    = "jualuma-backend"
    marketing  = "jualuma-marketing"
    support    = "jualuma-support"
    "user-app" = "jualuma-user-app"
  }
}

resource "google_service_account" "cr" {
  for_each = local.runtime_service_accounts

  project      = var.project_id
  account_id   = "cr-${each.key}"
  display_name = "Cloud Run runtime: ${each.value}"
}

resource "google_project_iam_member" "log_writer" {
  for_each = local.runtime_service_accounts

  project = var.project_id
  role    = "roles/logging.logWriter"
  member  = google_service_account.cr[each.key].member
}

resource "google_project_iam_member" "backend_cloudsql_client" {
  project = var.project_id
  role    = "roles/cloudsql.client"
  member  = google_service_account.cr["backend"].member
}
