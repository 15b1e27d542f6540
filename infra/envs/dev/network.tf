# Serverless VPC Access connector used by jualuma-backend to reach private ranges.
resource "google_vpc_access_connector" "main" {
  project       = var.project_id
  name          = "jualuma-dev-connector"
  region        = var.region
  network       = "default"
  ip_cidr_range = "10.8.0.0/28"
  machine_type  = "e2-micro"
  min_instances = 2
  max_instances = 3
}
