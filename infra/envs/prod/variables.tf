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
