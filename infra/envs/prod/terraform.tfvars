project_id = "jualuma-prod"
region     = "us-central1"

image_tags = {
  "frontend-app"    = "2026.02.16-77ab3c0"
  "jualuma-backend" = "2026.02.16-3f9c2e1"
  "marketing-site"  = "2026.02.12-9b7e0aa"
  "support-portal"  = "2026.02.19-c2d4e8f"
}
