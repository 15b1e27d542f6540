# The jualuma team's dev/prod parity contract, as of the 2026-02-22 audit
# (../shared/seed/dev-prod-parity-audit.md). Paths are relative to this file.
#
# `tfparity check` reads it from the repository root. `tfparity explain CHECK` documents
# every check and how to declare an intentional difference for it.

reference = "dev"

environment "dev" {
  # `terraform show -json` of the plan of infra/envs/dev.
  sources = ["fixtures/plans/dev.plan.json"]

  service_accounts {
    model   = "dedicated"
    pattern = "cr-{role}"
  }
  domains  = "run_app"
  exposure = ["public"]
}

environment "prod" {
  sources = ["fixtures/plans/prod.plan.json"]

  service_accounts {
    model   = "dedicated"
    pattern = "cr-{role}"
  }
  domains  = "custom"
  exposure = ["load_balancer"]
}

# The naming map (the audit's PARITY_CONTRACT.md mapping section).
role "user-app" {
  services = { dev = "jualuma-user-app", prod = "frontend-app" }
}

role "marketing" {
  services = { dev = "jualuma-marketing", prod = "marketing-site" }
}

role "support" {
  services = { dev = "jualuma-support", prod = "support-portal" }
}

role "backend" {
  services = { dev = "jualuma-backend", prod = "jualuma-backend" }
}

# Open decision: does approvals belong in prod, or is it dev-only by design?
role "approvals" {
  services = { dev = "jualuma-approvals" }
}

profile {
  # Prod may keep more warm instances and scale further than dev, never less.
  at_least_reference = ["min_instances", "max_instances"]
}

intentional_difference "prod-behind-load-balancer" {
  check     = "ingress"
  attribute = "ingress"
  values    = { dev = "all", prod = "internal-and-cloud-load-balancing" }
  reason    = "Prod is reached only through the HTTPS load balancer on the custom domains; dev services are used directly on run.app."
  owner     = "platform"
}

intentional_difference "frontends-smaller-in-prod" {
  check     = "cpu_memory"
  roles     = ["user-app", "marketing", "support"]
  attribute = "memory"
  values    = { dev = "2Gi", prod = "512Mi" }
  reason    = "Static front ends: dev runs the dev server with source maps; prod serves built assets."
  owner     = "web"
}

intentional_difference "own-database-per-environment" {
  check     = "network"
  roles     = ["backend"]
  attribute = "cloud_sql"
  reason    = "Each environment attaches its own Cloud SQL instance (prod: regional HA instance `jualuma-db`)."
  owner     = "platform"
}
