#!/usr/bin/env bash
# Builds the seed corpora of the fuzz targets (fuzz/corpus/<target>/, not committed) from the
# project's fixtures and tests, the shared corpus of real-world Terraform when it sits beside
# the repository (../shared/corpus: read, never vendored), and the committed regression inputs.
set -euo pipefail
cd "$(dirname "$0")"
root=..
shared=$root/../shared/corpus
out=corpus
mkdir -p "$out"/{plan_json,state_json,plan_stream,hcl_file,hcl_dir,contract}

seed() { # target file
  local target=$1 file=$2
  cp "$file" "$out/$target/$(sha1sum "$file" | cut -c1-16)"
}
text() { # target (stdin)
  local target=$1 tmp
  tmp=$(mktemp)
  cat >"$tmp"
  seed "$target" "$tmp"
  rm -f "$tmp"
}

# Plans and states.
for f in "$root"/fixtures/plans/*.plan.json; do seed plan_json "$f"; done
for f in "$root"/fixtures/plans/*.plan.jsonl; do seed plan_stream "$f"; done
if [ -d "$shared" ]; then
  for f in "$shared"/plan-json/*; do
    # The large ones slow every execution down; the small ones carry the same structure.
    if [ "$(stat -c %s "$f")" -le 65536 ]; then seed plan_json "$f"; fi
  done
  for f in "$shared"/state-json/*; do seed state_json "$f"; done
  for f in "$shared"/plan-jsonl/*; do seed plan_stream "$f"; done
fi
text plan_json <<'EOF'
{"format_version":"1.2","terraform_version":"1.11.4","planned_values":{"root_module":{"resources":[{"address":"google_cloud_run_v2_service.a","mode":"managed","type":"google_cloud_run_v2_service","name":"a","values":{"name":"a","location":"us-central1","template":[{"containers":[{"image":"x","env":[{"name":"K","value":"v"}]}]}]}}]}}}
EOF
text plan_json <<'EOF'
{"plan_format_version":"1.1","resource_changes":[]}
EOF
text state_json <<'EOF'
{"format_version":"1.0","terraform_version":"1.11.4","values":{"root_module":{"resources":[{"address":"google_cloud_run_v2_service.a","mode":"managed","type":"google_cloud_run_v2_service","name":"a","values":{"name":"a","ingress":"INGRESS_TRAFFIC_ALL","template":[{"service_account":"sa@p.iam.gserviceaccount.com"}]},"sensitive_values":{"template":[{}]}}],"child_modules":[{"address":"module.m","resources":[]}]}}}
EOF
text state_json <<'EOF'
{"version":4,"terraform_version":"1.11.4","serial":1,"lineage":"x","outputs":{},"resources":[{"mode":"managed","type":"google_cloud_run_service","name":"a","provider":"provider[\"registry.terraform.io/hashicorp/google\"]","instances":[{"schema_version":1,"attributes":{"name":"a","location":"us-central1","template":[{"spec":[{"containers":[{"image":"x","env":[{"name":"K","value":"v"}]}]}]}]},"sensitive_attributes":[]}]}]}
EOF

# HCL: every .tf file alone, and every directory as an hcl_dir input (files in the order of
# harness.rs: main.tf, variables.tf, terraform.tfvars, modules/m/main.tf,
# modules/m/variables.tf, x.auto.tfvars, extra.tf.json, .terraform/modules/modules.json).
tf_dirs=("$root"/infra/envs/* "$root"/fixtures/differential/*)
if [ -d "$shared" ]; then
  while IFS= read -r d; do tf_dirs+=("$d"); done < <(find "$shared/hcl" -name '*.tf' -printf '%h\n' | sort -u)
fi
for d in "${tf_dirs[@]}"; do
  for f in "$d"/*.tf; do seed hcl_file "$f"; done
  mod=""
  for m in "$d"/modules/*/ "$root/infra/modules/cloud-run-service/"; do
    if [ -d "$m" ]; then mod=$m; break; fi
  done
  {
    cat "$d"/*.tf | sed -e 's#source *= *"\.\./\.\./modules/[a-z-]*"#source = "./modules/m"#' \
      -e 's#source *= *"\./modules/[a-z-]*"#source = "./modules/m"#'
    printf '\n#~~\n'
    printf '\n#~~\n'
    if [ -f "$d/terraform.tfvars" ]; then cat "$d/terraform.tfvars"; fi
    printf '\n#~~\n'
    if [ -n "$mod" ]; then cat "$mod"/*.tf; fi
    printf '\n#~~\n'
    printf '\n#~~\n'
    for a in "$d"/*.auto.tfvars; do if [ -f "$a" ]; then cat "$a"; fi; done
  } | text hcl_dir
done

# Contracts: the shipped one, and what the tests write.
seed contract "$root/parity.hcl"
text contract <<'EOF'
reference = "dev"
environment "dev" {
  sources   = ["dev.json"]
  var_files = ["dev.tfvars"]
  domains   = "run_app"
  exposure  = ["public", "authenticated"]
  workflows = [".github/workflows/deploy-dev.yml"]
  service_accounts {
    model   = "dedicated"
    pattern = "{role}-{env}@{project}.iam.gserviceaccount.com"
  }
}
environment "prod" {
  sources  = ["prod.json"]
  domains  = "custom"
  exposure = ["load_balancer", "internal"]
}
role "api" {
  services = { dev = "api-dev", prod = "api" }
}
role "tool" {
  services = { dev = "tool" }
  only_in  = ["dev"]
  reason   = "dev only"
}
naming {
  patterns  = { dev = "{role}-dev", prod = "{role}" }
  identical = true
}
env_key_rename {
  roles = ["api"]
  keys  = { dev = "A", prod = "B" }
}
env_key_only {
  roles       = ["api"]
  environment = "prod"
  keys        = ["C"]
  reason      = "prod only"
}
profile {
  at_least_reference = ["min_instances", "max_instances", "memory"]
  ignore             = ["cpu"]
}
intentional_difference "x" {
  check        = "PAR003"
  roles        = ["*"]
  environments = ["prod"]
  attribute    = "ingress"
  values       = { dev = "all", prod = "internal" }
  keys         = []
  reason       = "r"
  owner        = "o"
  expires      = "2027-06-30"
}
EOF

# The committed regression inputs.
for t in plan_json state_json plan_stream hcl_file hcl_dir contract; do
  for f in "$root/tests/fuzz-regressions/$t"/*; do
    if [ -f "$f" ]; then seed "$t" "$f"; fi
  done
done
for t in "$out"/*; do echo "$t: $(ls "$t" | wc -l) seeds"; done
