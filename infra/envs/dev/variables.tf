variable "project_id" {
  description = "GCP project ID of the environment."
  type        = string
}

variable "region" {
  description = "Region of the Cloud Run services and regional resources."
  type        = string
  default     = "us-central1"
}

variable "image_tags" {
  description = "Container image tag of each Cloud Run service, by service name. Set by the deploy workflow."
  type        = map(string)
}

variable "jwt_signing_key" {
  description = "Initial value of the jwt-signing-key secret (dev only; prod versions are added out of band)."
  type        = string
  sensitive   = true
}
