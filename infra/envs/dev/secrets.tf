resource "google_secret_manager_secret" "database_url" {
  project   = var.project_id
  secret_id = "database-url"

  replication {
    auto {}
  }
}

resource "google_secret_manager_secret" "stripe_secret_key" {
  project   = var.project_id
  secret_id = "stripe-secret-key"

  replication {
    auto {}
  }
}

resource "google_secret_manager_secret" "jwt_signing_key" {
  project   = var.project_id
  secret_id = "jwt-signing-key"

  replication {
    auto {}
  }
}

resource "google_secret_manager_secret" "slack_webhook_url" {
  project   = var.project_id
  secret_id = "slack-webhook-url"

  replication {
    auto {}
  }
}

# Dev seeds the JWT signing key from a variable; the other secret values are
# added out of band (gcloud secrets versions add).
resource "google_secret_manager_secret_version" "jwt_signing_key" {
  secret      = google_secret_manager_secret.jwt_signing_key.id
  secret_data = var.jwt_signing_key
}

resource "google_secret_manager_secret_iam_member" "backend_database_url" {
  project   = var.project_id
  secret_id = google_secret_manager_secret.database_url.id
  role      = "roles/secretmanager.secretAccessor"
  member    = google_service_account.cr["backend"].member
}

resource "google_secret_manager_secret_iam_member" "backend_stripe_secret_key" {
  project   = var.project_id
  secret_id = google_secret_manager_secret.stripe_secret_key.id
  role      = "roles/secretmanager.secretAccessor"
  member    = google_service_account.cr["backend"].member
}

resource "google_secret_manager_secret_iam_member" "backend_jwt_signing_key" {
  project   = var.project_id
  secret_id = google_secret_manager_secret.jwt_signing_key.id
  role      = "roles/secretmanager.secretAccessor"
  member    = google_service_account.cr["backend"].member
}

resource "google_secret_manager_secret_iam_member" "approvals_slack_webhook_url" {
  project   = var.project_id
  secret_id = google_secret_manager_secret.slack_webhook_url.id
  role      = "roles/secretmanager.secretAccessor"
  member    = google_service_account.cr["approvals"].member
}
