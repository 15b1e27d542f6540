variable "project" {
  description = "Project ID the service is deployed to."
  type        = string
}

variable "region" {
  description = "Cloud Run region."
  type        = string
}

variable "name" {
  description = "Cloud Run service name."
  type        = string
}

variable "image" {
  description = "Container image, including tag."
  type        = string
}

variable "service_account" {
  description = "Runtime service account email. Null leaves it unset, so Cloud Run runs the service as the Compute Engine default service account."
  type        = string
  default     = null
}

variable "ingress" {
  description = "Ingress setting: INGRESS_TRAFFIC_ALL, INGRESS_TRAFFIC_INTERNAL_ONLY or INGRESS_TRAFFIC_INTERNAL_LOAD_BALANCER."
  type        = string
  default     = "INGRESS_TRAFFIC_ALL"
  nullable    = false
}

variable "cpu" {
  description = "CPU limit of the container."
  type        = string
  default     = "1"
  nullable    = false
}

variable "memory" {
  description = "Memory limit of the container."
  type        = string
  default     = "512Mi"
  nullable    = false
}

variable "min_instances" {
  description = "Minimum number of instances."
  type        = number
  default     = 0
  nullable    = false
}

variable "max_instances" {
  description = "Maximum number of instances."
  type        = number
  default     = 3
  nullable    = false
}

variable "env" {
  description = "Plain environment variables, by name."
  type        = map(string)
  default     = {}
  nullable    = false
}

variable "secret_env" {
  description = "Environment variables read from Secret Manager, by name."
  type = map(object({
    secret  = string
    version = optional(string, "latest")
  }))
  default  = {}
  nullable = false
}

variable "vpc_connector" {
  description = "Serverless VPC Access connector ID. Null: no VPC access."
  type        = string
  default     = null
}

variable "vpc_egress" {
  description = "VPC egress setting when a connector is attached: PRIVATE_RANGES_ONLY or ALL_TRAFFIC."
  type        = string
  default     = "PRIVATE_RANGES_ONLY"
  nullable    = false
}

variable "cloud_sql_instances" {
  description = "Cloud SQL connection names (project:region:instance) mounted at /cloudsql."
  type        = list(string)
  default     = []
  nullable    = false
}

variable "public" {
  description = "Grant roles/run.invoker to allUsers."
  type        = bool
  default     = true
  nullable    = false
}

variable "container_port" {
  description = "Port the container listens on."
  type        = number
  default     = 8080
  nullable    = false
}
