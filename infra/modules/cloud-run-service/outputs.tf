output "name" {
  description = "Cloud Run service name."
  value       = google_cloud_run_v2_service.this.name
}

output "uri" {
  description = "Main URI of the service (*.run.app)."
  value       = google_cloud_run_v2_service.this.uri
}

output "id" {
  description = "Service ID (projects/PROJECT/locations/REGION/services/NAME)."
  value       = google_cloud_run_v2_service.this.id
}

output "service_account" {
  description = "Runtime service account email, as reported by Cloud Run."
  value       = google_cloud_run_v2_service.this.template[0].service_account
}
