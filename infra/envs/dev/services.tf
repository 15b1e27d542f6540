locals {
  registry = "${var.region}-docker.pkg.dev/${var.project_id}/jualuma"

  # Dev services are reached on their *.run.app URLs.
  services = {
    "jualuma-approvals" = {
      image           = "${local.registry}/approvals:${var.image_tags["jualuma-approvals"]}"
      service_account = google_service_account.cr["approvals"].email
      memory          = "512Mi"
      min_instances   = 0
      env = {
        API_BASE_URL = "https://jualuma-backend-7c3xq2lmpa-uc.a.run.app"
      }
      secret_env = {
        SLACK_WEBHOOK_URL = {
          secret  = google_secret_manager_secret.slack_webhook_url.secret_id
          version = "latest"
        }
      }
      vpc_connector       = null
      cloud_sql_instances = []
    }

    "jualuma-backend" = {
      image           = "${local.registry}/backend:${var.image_tags["jualuma-backend"]}"
      service_account = google_service_account.cr["backend"].email
      memory          = "1Gi"
      min_instances   = 0
      env = {
        ENVIRONMENT  = "dev"
        FRONTEND_URL = "https://jualuma-user-app-7c3xq2lmpa-uc.a.run.app"
        LOG_LEVEL    = "debug"
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
      # Written out from the names (not `.id` / `.connection_name`, which are known only
      # once the connector and the instance exist) so that plans show them.
      vpc_connector       = "projects/${var.project_id}/locations/${var.region}/connectors/${google_vpc_access_connector.main.name}"
      cloud_sql_instances = ["${var.project_id}:${var.region}:${google_sql_database_instance.main.name}"]
    }

    "jualuma-marketing" = {
      image           = "${local.registry}/marketing:${var.image_tags["jualuma-marketing"]}"
      service_account = google_service_account.cr["marketing"].email
      memory          = "2Gi"
      min_instances   = 0
      env = {
        APP_URL = "https://jualuma-user-app-7c3xq2lmpa-uc.a.run.app"
      }
      secret_env          = {}
      vpc_connector       = null
      cloud_sql_instances = []
    }

    "jualuma-support" = {
      image           = "${local.registry}/support:${var.image_tags["jualuma-support"]}"
      service_account = google_service_account.cr["support"].email
      memory          = "2Gi"
      min_instances   = 0
      env = {
        VITE_API_BASE_URL = "https://jualuma-backend-7c3xq2lmpa-uc.a.run.app"
      }
      secret_env          = {}
      vpc_connector       = null
      cloud_sql_instances = []
    }

    "jualuma-user-app" = {
      image           = "${local.registry}/user-app:${var.image_tags["jualuma-user-app"]}"
      service_account = google_service_account.cr["user-app"].email
      memory          = "2Gi"
      min_instances   = 0
      env = {
        VITE_API_TARGET    = "https://jualuma-backend-7c3xq2lmpa-uc.a.run.app"
        VITE_MARKETING_URL = "https://jualuma-marketing-7c3xq2lmpa-uc.a.run.app"
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
  ingress             = "INGRESS_TRAFFIC_ALL"
  cpu                 = "1"
  memory              = each.value.memory
  min_instances       = each.value.min_instances
  max_instances       = 3
  env                 = each.value.env
  secret_env          = each.value.secret_env
  vpc_connector       = each.value.vpc_connector
  cloud_sql_instances = each.value.cloud_sql_instances
  public              = true
}
