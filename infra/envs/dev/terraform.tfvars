project_id = "jualuma-dev"
region     = "us-central1"

image_tags = {
  "jualuma-approvals" = "2026.02.18-a41c9d2"
  "jualuma-backend"   = "2026.02.20-3f9c2e1"
  "jualuma-marketing" = "2026.02.12-9b7e0aa"
  "jualuma-support"   = "2026.02.19-c2d4e8f"
  "jualuma-user-app"  = "2026.02.22-8e1f4b7"
}

# Placeholder for the dev environment only. Not a credential.
jwt_signing_key = "dev-jwt-signing-key-not-a-real-secret"
