# External HTTPS load balancer: custom domains -> serverless NEGs -> Cloud Run.
# The services' ingress (INGRESS_TRAFFIC_INTERNAL_LOAD_BALANCER) only admits
# traffic arriving through Cloud Load Balancing.

resource "google_compute_global_address" "lb" {
  project = var.project_id
  name    = "jualuma-lb-ip"
}

resource "google_compute_managed_ssl_certificate" "lb" {
  project = var.project_id
  name    = "jualuma-lb-cert"

  managed {
    domains = ["app.jualuma.com", "jualuma.com", "support.jualuma.com", "api.jualuma.com"]
  }
}

resource "google_compute_region_network_endpoint_group" "run" {
  for_each = local.services

  project               = var.project_id
  name                  = "${each.key}-neg"
  region                = var.region
  network_endpoint_type = "SERVERLESS"

  cloud_run {
    service = module.service[each.key].name
  }
}

resource "google_compute_backend_service" "run" {
  for_each = local.services

  project               = var.project_id
  name                  = "${each.key}-backend"
  load_balancing_scheme = "EXTERNAL_MANAGED"

  backend {
    group = google_compute_region_network_endpoint_group.run[each.key].id
  }
}

resource "google_compute_url_map" "lb" {
  project         = var.project_id
  name            = "jualuma-lb"
  default_service = google_compute_backend_service.run["marketing-site"].id

  host_rule {
    hosts        = ["app.jualuma.com"]
    path_matcher = "app"
  }

  host_rule {
    hosts        = ["jualuma.com"]
    path_matcher = "marketing"
  }

  host_rule {
    hosts        = ["api.jualuma.com"]
    path_matcher = "api"
  }

  host_rule {
    hosts        = ["support.jualuma.com"]
    path_matcher = "support"
  }

  path_matcher {
    name            = "app"
    default_service = google_compute_backend_service.run["frontend-app"].id
  }

  path_matcher {
    name            = "marketing"
    default_service = google_compute_backend_service.run["marketing-site"].id
  }

  path_matcher {
    name            = "api"
    default_service = google_compute_backend_service.run["jualuma-backend"].id
  }

  path_matcher {
    name            = "support"
    default_service = google_compute_backend_service.run["support-portal"].id
  }
}

resource "google_compute_target_https_proxy" "lb" {
  project          = var.project_id
  name             = "jualuma-lb-https-proxy"
  url_map          = google_compute_url_map.lb.id
  ssl_certificates = [google_compute_managed_ssl_certificate.lb.id]
}

resource "google_compute_global_forwarding_rule" "lb" {
  project               = var.project_id
  name                  = "jualuma-lb-https"
  target                = google_compute_target_https_proxy.lb.id
  ip_address            = google_compute_global_address.lb.id
  port_range            = "443"
  load_balancing_scheme = "EXTERNAL_MANAGED"
}
