locals {
  registry = "${var.region}-docker.pkg.dev/${var.project_id}/jualuma"

  # Prod services are reached through the HTTPS load balancer (lb.tf) on
  # custom domains; ingress only admits internal and Cloud Load Balancing traffic.
  services = {
    "frontend-app" = {
      image           = "${local.registry}/user-app:${var.image_tags["frontend-app"]}"
      service_account = data.google_compute_default_service_account.default.email
      memory          = "512Mi"
      min_instances   = 0
      env = {
        API_BASE_URL = "https://api.jualuma.com"
      }
      secret_env          = {}
      vpc_connector       = null
      cloud_sql_instances = []
    }

    "jualuma-backend" = {
      image           = "${local.registry}/backend:${var.image_tags["jualuma-backend"]}"
      service_account = google_service_account.cr_backend.email
      memory          = "1Gi"
      min_instances   = 1
      env = {
        ENVIRONMENT                 = "prod"
        FRONTEND_URL                = "https://app.jualuma.com"
        LOG_LEVEL                   = "info"
        STRIPE_PRICE_ID_PRO_MONTHLY = "price_1PqRsT2uVwXyZ0aBcDeFgHiJ"
        STRIPE_PRICE_ID_PRO_ANNUAL  = "price_1PqRsT2uVwXyZ0aKlMnOpQrS"
      }
      secret_env = {
        DATABASE_URL = {
          secret  = google_secret_manager_secret.database_url.secret_id
          version = "latest"
        }
        STRIPE_SECRET_KEY = {
          secret  = google_secret_manager_secret.stripe_secret_key.secret_id
          version = "latest"
        }
        JWT_SECRET = {
          secret  = google_secret_manager_secret.jwt_signing_key.secret_id
          version = "latest"
        }
      }
      # The connection name written out (`.connection_name` is known only once the
      # instance exists) so that plans show it.
      vpc_connector       = null
      cloud_sql_instances = ["${var.project_id}:${var.region}:${google_sql_database_instance.main.name}"]
    }

    "marketing-site" = {
      image           = "${local.registry}/marketing:${var.image_tags["marketing-site"]}"
      service_account = data.google_compute_default_service_account.default.email
      memory          = "512Mi"
      min_instances   = 0
      env = {
        APP_URL = "https://app.jualuma.com"
      }
      secret_env          = {}
      vpc_connector       = null
      cloud_sql_instances = []
    }

    "support-portal" = {
      image           = "${local.registry}/support:${var.image_tags["support-portal"]}"
      service_account = null # not chosen yet: Cloud Run runs it as the default compute account
      memory          = "512Mi"
      min_instances   = 0
      env = {
        API_BASE_URL = "https://api.jualuma.com"
      }
      secret_env          = {}
      vpc_connector       = null
      cloud_sql_instances = []
    }
  }
}

module "service" {
  source   = "../../modules/cloud-run-service"
  for_each = local.services

  project             = var.project_id
  region              = var.region
  name                = each.key
  image               = each.value.image
  service_account     = each.value.service_account
  ingress             = "INGRESS_TRAFFIC_INTERNAL_LOAD_BALANCER"
  cpu                 = "1"
  memory              = each.value.memory
  min_instances       = each.value.min_instances
  max_instances       = 10
  env                 = each.value.env
  secret_env          = each.value.secret_env
  vpc_connector       = each.value.vpc_connector
  cloud_sql_instances = each.value.cloud_sql_instances
  public              = true
}
