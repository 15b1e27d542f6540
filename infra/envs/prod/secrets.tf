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

# Secret values are added out of band (gcloud secrets versions add).

resource "google_secret_manager_secret_iam_member" "backend_database_url" {
  project   = var.project_id
  secret_id = google_secret_manager_secret.database_url.id
  role      = "roles/secretmanager.secretAccessor"
  member    = google_service_account.cr_backend.member
}

resource "google_secret_manager_secret_iam_member" "backend_stripe_secret_key" {
  project   = var.project_id
  secret_id = google_secret_manager_secret.stripe_secret_key.id
  role      = "roles/secretmanager.secretAccessor"
  member    = google_service_account.cr_backend.member
}

resource "google_secret_manager_secret_iam_member" "backend_jwt_signing_key" {
  project   = var.project_id
  secret_id = google_secret_manager_secret.jwt_signing_key.id
  role      = "roles/secretmanager.secretAccessor"
  member    = google_service_account.cr_backend.member
}
