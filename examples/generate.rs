#![recursion_limit = "512"]
//! Writes a realistic estate for benchmarks: for N services per environment, `dev` and `prod`
//! plan JSON in the shape `terraform show -json` gives (modules with for_each, service
//! accounts, invoker IAM, secrets with IAM, project IAM, configuration with references,
//! prior state) and the matching Terraform directories, plus a contract.
//!
//! `cargo run --release --example generate -- N OUT_DIR`

use std::fmt::Write as _;
use std::path::Path;

use serde_json::{Value, json};

fn main() {
    let mut args = std::env::args().skip(1);
    let n: usize = args.next().and_then(|a| a.parse().ok()).unwrap_or(50);
    let out = args.next().unwrap_or_else(|| "target/bench-data".into());
    let out = Path::new(&out).join(format!("n{n}"));
    std::fs::create_dir_all(&out).expect("create output dir");
    for env in ["dev", "prod"] {
        let plan = plan(env, n);
        let text = serde_json::to_string(&plan).expect("serialise");
        std::fs::write(out.join(format!("{env}.plan.json")), format!("{text}\n"))
            .expect("write plan");
        write_hcl(&out.join(env), env, n);
    }
    write_module(&out.join("modules/svc"));
    std::fs::write(out.join("parity.hcl"), contract()).expect("write contract");
    eprintln!("wrote {}", out.display());
}

fn project(env: &str) -> String {
    format!("acme-{env}")
}

fn number(env: &str) -> u64 {
    if env == "dev" {
        412345678901
    } else {
        598765432109
    }
}

/// Deterministic per-service variation, so environments differ in realistic, repeatable ways.
struct Svc {
    name: String,
    memory: &'static str,
    keys: Vec<String>,
    secret_keys: Vec<&'static str>,
    default_sa: bool,
    ingress: &'static str,
    create: bool,
}

fn service(env: &str, i: usize) -> Svc {
    let prod = env == "prod";
    // Fourteen plain keys, as services in real estates carry: with the service's labels they
    // bring a plan to the ~45 KB per service real GCP plans weigh.
    let mut keys: Vec<String> = [
        "LOG_LEVEL",
        "API_BASE_URL",
        "FEATURE_FLAGS",
        "REGION",
        "OTEL_EXPORTER_OTLP_ENDPOINT",
        "OTEL_SERVICE_NAME",
        "CORS_ALLOWED_ORIGINS",
        "CACHE_TTL_SECONDS",
        "MAX_UPLOAD_MB",
        "SENTRY_ENVIRONMENT",
        "ASSETS_BUCKET",
        "EVENTS_TOPIC",
        "DB_POOL_SIZE",
        "REQUEST_TIMEOUT_SECONDS",
    ]
    .map(String::from)
    .to_vec();
    if i % 11 == 3 && prod {
        keys.push(format!("PROD_ONLY_{i}"));
    }
    Svc {
        name: format!("svc-{i:05}"),
        memory: if prod && i.is_multiple_of(7) {
            "1Gi"
        } else {
            "512Mi"
        },
        keys,
        secret_keys: vec!["DATABASE_URL", "API_TOKEN"],
        default_sa: prod && i % 13 == 5,
        ingress: if prod {
            "INGRESS_TRAFFIC_INTERNAL_LOAD_BALANCER"
        } else {
            "INGRESS_TRAFFIC_ALL"
        },
        create: i % 10 == 9,
    }
}

fn env_block(key: &str, value: &str) -> Value {
    json!({"name": key, "value": value, "value_source": []})
}

fn secret_env(key: &str, secret: &str) -> Value {
    json!({"name": key, "value": "", "value_source": [{"secret_key_ref": [{"secret": secret, "version": "latest"}]}]})
}

/// A service's labels; the effective and Terraform sets add the provider's own.
fn labels(s: &Svc, env: &str, with_provider: bool) -> Value {
    let mut l = json!({"app": s.name, "cost-center": "cc-1042", "env": env, "team": "platform"});
    if with_provider {
        l["goog-terraform-provisioned"] = json!("true");
    }
    l
}

fn run_service(env: &str, s: &Svc) -> Value {
    let p = project(env);
    let mut envs: Vec<Value> = s
        .keys
        .iter()
        .map(|k| env_block(k, &format!("https://{k}.{env}.example.com/value")))
        .collect();
    for k in &s.secret_keys {
        envs.push(secret_env(
            k,
            &format!("{}-{}", s.name, k.to_lowercase().replace('_', "-")),
        ));
    }
    let sa = if s.default_sa {
        format!("{}-compute@developer.gserviceaccount.com", number(env))
    } else {
        format!("{}@{p}.iam.gserviceaccount.com", s.name)
    };
    let id = format!("projects/{p}/locations/us-central1/services/{}", s.name);
    json!({
        "annotations": {}, "binary_authorization": [], "build_config": [], "client": "", "client_version": "",
        "conditions": [
            {"execution_reason": "", "last_transition_time": "2026-02-18T10:42:11.121121Z", "message": "", "reason": "", "revision_reason": "", "severity": "", "state": "CONDITION_SUCCEEDED", "type": "RoutesReady"},
            {"execution_reason": "", "last_transition_time": "2026-02-18T10:42:05.872525Z", "message": "", "reason": "", "revision_reason": "", "severity": "", "state": "CONDITION_SUCCEEDED", "type": "ConfigurationsReady"}
        ],
        "create_time": "2025-10-06T13:02:44.193517Z", "creator": format!("deployer@{p}.iam.gserviceaccount.com"),
        "custom_audiences": [], "default_uri_disabled": false, "delete_time": "", "deletion_policy": null, "deletion_protection": false,
        "description": "", "effective_annotations": {}, "effective_labels": labels(s, env, true),
        "etag": "\"C5qj5i-YkgA1B4SgY/cHJvamVjdHMvYWNtZS1kZXYvbG9jYXRpb25zL3VzLWNlbnRyYWwxL3NlcnZpY2Vz\"", "expire_time": "", "generation": "9",
        "iap_enabled": false, "id": id, "ingress": s.ingress, "invoker_iam_disabled": false, "labels": labels(s, env, false),
        "last_modifier": format!("deployer@{p}.iam.gserviceaccount.com"),
        "latest_created_revision": format!("{id}/revisions/{}-00009-y0r", s.name), "latest_ready_revision": format!("{id}/revisions/{}-00009-y0r", s.name),
        "launch_stage": "GA", "location": "us-central1", "multi_region_settings": [], "name": s.name, "observed_generation": "9", "project": p,
        "reconciling": false, "scaling": [], "tags": null,
        "template": [{
            "annotations": {}, "containers": [{
                "args": [], "base_image_uri": "", "build_info": [], "command": [], "depends_on": [], "env": envs,
                "image": format!("us-central1-docker.pkg.dev/{p}/apps/{}:2026.02.18-a41c9d2", s.name), "liveness_probe": [], "name": "",
                "ports": [{"container_port": 8080, "name": "http1"}], "readiness_probe": [],
                "resources": [{"cpu_idle": true, "limits": {"cpu": "1", "memory": s.memory}, "startup_cpu_boost": false}],
                "sandbox_launcher": false,
                "startup_probe": [{"failure_threshold": 1, "grpc": [], "http_get": [], "initial_delay_seconds": 0, "period_seconds": 240, "tcp_socket": [{"port": 8080}], "timeout_seconds": 240}],
                "volume_mounts": [], "working_dir": ""
            }],
            "encryption_key": "", "execution_environment": "", "gpu_zonal_redundancy_disabled": false, "health_check_disabled": false,
            "labels": {}, "max_instance_request_concurrency": 80, "node_selector": [], "revision": "", "sandboxes": [],
            "scaling": [{"max_instance_count": 10, "min_instance_count": 0}], "service_account": sa, "service_mesh": [],
            "session_affinity": false, "timeout": "300s", "volumes": [], "vpc_access": []
        }],
        "terminal_condition": [{"execution_reason": "", "last_transition_time": "2026-02-18T10:42:11.121121Z", "message": "", "reason": "", "revision_reason": "", "severity": "", "state": "CONDITION_SUCCEEDED", "type": "Ready"}],
        "terraform_labels": labels(s, env, true), "timeouts": null,
        "traffic": [{"percent": 100, "revision": "", "tag": "", "type": "TRAFFIC_TARGET_ALLOCATION_TYPE_LATEST"}],
        "traffic_statuses": [{"percent": 100, "revision": "", "tag": "", "type": "TRAFFIC_TARGET_ALLOCATION_TYPE_LATEST", "uri": ""}],
        "uid": "6b0f4d3e-9c1a-4b8e-a2f7-1d5c3e9a8b70", "uri": format!("https://{}-4f2kq7x3ma-uc.a.run.app", s.name), "urls": [format!("https://{}-4f2kq7x3ma-uc.a.run.app", s.name)]
    })
}

/// The sensitive-marks tree Terraform writes for a value with nothing sensitive: the same
/// block structure, with empty objects.
fn marks(v: &Value) -> Value {
    match v {
        Value::Object(m) => Value::Object(
            m.iter()
                .filter_map(|(k, x)| match x {
                    Value::Array(_) | Value::Object(_) => Some((k.clone(), marks(x))),
                    _ => None,
                })
                .collect(),
        ),
        Value::Array(a) => Value::Array(
            a.iter()
                .map(|x| {
                    if x.is_object() || x.is_array() {
                        marks(x)
                    } else {
                        Value::Bool(false)
                    }
                })
                .collect(),
        ),
        _ => Value::Bool(false),
    }
}

/// A created resource: computed attributes are absent from `after` and true in `after_unknown`.
fn as_create(after: &Value, computed: &[&str]) -> (Value, Value) {
    let mut a = after.clone();
    let mut unknown = serde_json::Map::new();
    if let Value::Object(m) = &mut a {
        for k in computed {
            m.remove(*k);
            unknown.insert((*k).to_string(), Value::Bool(true));
        }
    }
    (a, Value::Object(unknown))
}

struct Res {
    module: Option<String>,
    rtype: &'static str,
    name: String,
    index: Option<String>,
    values: Value,
    computed: &'static [&'static str],
    create: bool,
}

impl Res {
    fn address(&self) -> String {
        let idx = self
            .index
            .as_ref()
            .map(|k| format!("[{}]", json!(k)))
            .unwrap_or_default();
        match &self.module {
            Some(m) => format!("{m}.{}.{}{idx}", self.rtype, self.name),
            None => format!("{}.{}{idx}", self.rtype, self.name),
        }
    }
}

fn resources(env: &str, n: usize) -> Vec<Res> {
    let p = project(env);
    let mut out = Vec::new();
    for i in 0..n {
        let s = service(env, i);
        let module = Some(format!("module.svc[{}]", json!(s.name)));
        out.push(Res {
            module: module.clone(),
            rtype: "google_cloud_run_v2_service",
            name: "this".into(),
            index: None,
            values: run_service(env, &s),
            computed: &[
                "id",
                "uri",
                "urls",
                "etag",
                "uid",
                "generation",
                "conditions",
                "terminal_condition",
                "create_time",
                "creator",
                "latest_created_revision",
                "latest_ready_revision",
                "observed_generation",
                "reconciling",
                "traffic_statuses",
            ],
            create: s.create,
        });
        let email = format!("{}@{p}.iam.gserviceaccount.com", s.name);
        out.push(Res {
            module: module.clone(), rtype: "google_service_account", name: "sa".into(), index: None,
            values: json!({"account_id": s.name, "create_ignore_already_exists": null, "description": "", "disabled": false, "display_name": format!("Cloud Run {}", s.name), "email": email, "id": format!("projects/{p}/serviceAccounts/{email}"), "member": format!("serviceAccount:{email}"), "name": format!("projects/{p}/serviceAccounts/{email}"), "project": p, "timeouts": null, "unique_id": "104283449920375551234"}),
            computed: &["id", "name", "unique_id"], create: s.create,
        });
        out.push(Res {
            module: module.clone(), rtype: "google_cloud_run_v2_service_iam_member", name: "invoker".into(), index: None,
            values: json!({"condition": [], "etag": "BwYxyz123=", "id": format!("projects/{p}/locations/us-central1/services/{}/roles/run.invoker/allUsers", s.name), "location": "us-central1", "member": "allUsers", "name": format!("projects/{p}/locations/us-central1/services/{}", s.name), "project": p, "role": "roles/run.invoker"}),
            computed: &["etag", "id"], create: s.create,
        });
        out.push(Res {
            module: module.clone(), rtype: "google_project_iam_member", name: "log_writer".into(), index: None,
            values: json!({"condition": [], "etag": "BwYxyz123=", "id": format!("{p}/roles/logging.logWriter/serviceAccount:{email}"), "member": format!("serviceAccount:{email}"), "project": p, "role": "roles/logging.logWriter"}),
            computed: &["etag", "id"], create: s.create,
        });
        for k in &s.secret_keys {
            let sid = format!("{}-{}", s.name, k.to_lowercase().replace('_', "-"));
            out.push(Res {
                module: module.clone(), rtype: "google_secret_manager_secret", name: "secret".into(), index: Some(k.to_string()),
                values: json!({"annotations": {}, "create_time": "2025-10-06T13:02:44.193517Z", "deletion_protection": false, "effective_annotations": {}, "effective_labels": {"goog-terraform-provisioned": "true"}, "expire_time": "", "id": format!("projects/{p}/secrets/{sid}"), "labels": {}, "name": format!("projects/{}/secrets/{sid}", number(env)), "project": p, "replication": [{"auto": [{"customer_managed_encryption": []}], "user_managed": []}], "rotation": [], "secret_id": sid, "tags": {}, "terraform_labels": {"goog-terraform-provisioned": "true"}, "timeouts": null, "topics": [], "ttl": null, "version_aliases": {}, "version_destroy_ttl": ""}),
                computed: &["create_time", "id", "name", "expire_time"], create: s.create,
            });
            out.push(Res {
                module: module.clone(), rtype: "google_secret_manager_secret_iam_member", name: "accessor".into(), index: Some(k.to_string()),
                values: json!({"condition": [], "etag": "BwYxyz123=", "id": format!("projects/{p}/secrets/{sid}/roles/secretmanager.secretAccessor/serviceAccount:{email}"), "member": format!("serviceAccount:{email}"), "project": p, "role": "roles/secretmanager.secretAccessor", "secret_id": format!("projects/{p}/secrets/{sid}")}),
                computed: &["etag", "id"], create: s.create,
            });
        }
    }
    out.sort_by_key(Res::address);
    out
}

fn expr_refs(refs: &[&str]) -> Value {
    json!({"references": refs})
}

fn configuration() -> Value {
    let module = json!({
        "resources": [
            {"address": "google_cloud_run_v2_service.this", "mode": "managed", "type": "google_cloud_run_v2_service", "name": "this", "provider_config_key": "svc:google", "schema_version": 0,
             "expressions": {"name": expr_refs(&["var.name"]), "location": {"constant_value": "us-central1"}, "ingress": expr_refs(&["var.ingress"]), "deletion_protection": {"constant_value": false},
                "template": [{"service_account": expr_refs(&["var.service_account"]), "scaling": [{"min_instance_count": {"constant_value": 0}, "max_instance_count": {"constant_value": 10}}],
                    "containers": [{"image": expr_refs(&["var.image"]), "resources": [{"limits": expr_refs(&["var.memory"])}]}]}]}},
            {"address": "google_service_account.sa", "mode": "managed", "type": "google_service_account", "name": "sa", "provider_config_key": "svc:google", "schema_version": 0,
             "expressions": {"account_id": expr_refs(&["var.name"]), "display_name": expr_refs(&["var.name"])}},
            {"address": "google_cloud_run_v2_service_iam_member.invoker", "mode": "managed", "type": "google_cloud_run_v2_service_iam_member", "name": "invoker", "provider_config_key": "svc:google", "schema_version": 0,
             "expressions": {"name": expr_refs(&["google_cloud_run_v2_service.this.name", "google_cloud_run_v2_service.this"]), "location": expr_refs(&["google_cloud_run_v2_service.this.location", "google_cloud_run_v2_service.this"]), "role": {"constant_value": "roles/run.invoker"}, "member": {"constant_value": "allUsers"}}},
            {"address": "google_project_iam_member.log_writer", "mode": "managed", "type": "google_project_iam_member", "name": "log_writer", "provider_config_key": "svc:google", "schema_version": 0,
             "expressions": {"project": expr_refs(&["var.project"]), "role": {"constant_value": "roles/logging.logWriter"}, "member": expr_refs(&["google_service_account.sa.member", "google_service_account.sa"])}},
            {"address": "google_secret_manager_secret.secret", "mode": "managed", "type": "google_secret_manager_secret", "name": "secret", "provider_config_key": "svc:google", "schema_version": 0,
             "expressions": {"secret_id": expr_refs(&["var.name", "each.key"]), "replication": [{"auto": [{}]}]}, "for_each_expression": expr_refs(&["var.secrets"])},
            {"address": "google_secret_manager_secret_iam_member.accessor", "mode": "managed", "type": "google_secret_manager_secret_iam_member", "name": "accessor", "provider_config_key": "svc:google", "schema_version": 0,
             "expressions": {"secret_id": expr_refs(&["google_secret_manager_secret.secret", "each.key"]), "role": {"constant_value": "roles/secretmanager.secretAccessor"}, "member": expr_refs(&["google_service_account.sa.member", "google_service_account.sa"])}, "for_each_expression": expr_refs(&["var.secrets"])}
        ],
        "variables": {"name": {}, "project": {}, "image": {}, "memory": {"default": "512Mi"}, "ingress": {"default": "INGRESS_TRAFFIC_ALL"}, "service_account": {"default": null}, "secrets": {"default": []}}
    });
    json!({
        "provider_config": {"google": {"name": "google", "full_name": "registry.terraform.io/hashicorp/google", "version_constraint": "~> 7.0", "expressions": {"project": expr_refs(&["var.project_id"]), "region": {"constant_value": "us-central1"}}}},
        "root_module": {
            "module_calls": {"svc": {"source": "../modules/svc", "for_each_expression": expr_refs(&["local.services"]),
                "expressions": {"name": expr_refs(&["each.key"]), "project": expr_refs(&["var.project_id"]), "image": expr_refs(&["each.value.image", "each.value"]), "memory": expr_refs(&["each.value.memory", "each.value"]), "ingress": expr_refs(&["var.ingress"]), "service_account": expr_refs(&["each.value.service_account", "each.value"]), "secrets": expr_refs(&["each.value.secrets", "each.value"])},
                "module": module}},
            "variables": {"project_id": {}, "ingress": {}}
        }
    })
}

fn plan(env: &str, n: usize) -> Value {
    let rs = resources(env, n);
    let mut changes = Vec::with_capacity(rs.len());
    let mut planned: std::collections::BTreeMap<String, Vec<Value>> =
        std::collections::BTreeMap::new();
    let mut prior: std::collections::BTreeMap<String, Vec<Value>> =
        std::collections::BTreeMap::new();
    for r in &rs {
        let m = marks(&r.values);
        let (after, after_unknown, before, before_sensitive, actions) = if r.create {
            let (a, u) = as_create(&r.values, r.computed);
            (a, u, Value::Null, Value::Bool(false), json!(["create"]))
        } else {
            (
                r.values.clone(),
                json!({}),
                r.values.clone(),
                m.clone(),
                json!(["no-op"]),
            )
        };
        let mut c = json!({"address": r.address(), "mode": "managed", "type": r.rtype, "name": r.name, "provider_name": "registry.terraform.io/hashicorp/google",
            "change": {"actions": actions, "before": before, "after": after, "after_unknown": after_unknown, "before_sensitive": before_sensitive, "after_sensitive": m}});
        if let Some(module) = &r.module {
            c["module_address"] = json!(module);
        }
        if let Some(k) = &r.index {
            c["index"] = json!(k);
        }
        changes.push(c);
        let pv = json!({"address": r.address(), "mode": "managed", "type": r.rtype, "name": r.name, "index": r.index, "provider_name": "registry.terraform.io/hashicorp/google", "schema_version": 0, "values": after_for_values(&r.values, r.create, r.computed), "sensitive_values": marks(&r.values)});
        let module = r.module.clone().unwrap_or_default();
        planned.entry(module.clone()).or_default().push(pv.clone());
        if !r.create {
            prior.entry(module).or_default().push(pv);
        }
    }
    let tree = |mods: std::collections::BTreeMap<String, Vec<Value>>| {
        let children: Vec<Value> = mods
            .into_iter()
            .filter(|(k, _)| !k.is_empty())
            .map(|(k, v)| json!({"address": k, "resources": v}))
            .collect();
        json!({"root_module": {"child_modules": children}})
    };
    json!({
        "format_version": "1.2", "terraform_version": "1.11.4",
        "variables": {"project_id": {"value": project(env)}, "ingress": {"value": if env == "prod" { "INGRESS_TRAFFIC_INTERNAL_LOAD_BALANCER" } else { "INGRESS_TRAFFIC_ALL" }}},
        "planned_values": tree(planned),
        "resource_changes": changes,
        "prior_state": {"format_version": "1.0", "terraform_version": "1.11.4", "values": tree(prior)},
        "configuration": configuration(),
        "timestamp": "2026-02-22T09:00:00Z", "applyable": true, "complete": true, "errored": false
    })
}

fn after_for_values(v: &Value, create: bool, computed: &[&str]) -> Value {
    if create {
        as_create(v, computed).0
    } else {
        v.clone()
    }
}

fn write_hcl(dir: &Path, env: &str, n: usize) {
    std::fs::create_dir_all(dir).expect("mkdir");
    let mut s = String::new();
    let _ = writeln!(
        s,
        "provider \"google\" {{\n  project = var.project_id\n  region  = \"us-central1\"\n}}\n"
    );
    let _ = writeln!(
        s,
        "variable \"project_id\" {{\n  type    = string\n  default = \"{}\"\n}}\n",
        project(env)
    );
    let ingress = if env == "prod" {
        "INGRESS_TRAFFIC_INTERNAL_LOAD_BALANCER"
    } else {
        "INGRESS_TRAFFIC_ALL"
    };
    let _ = writeln!(
        s,
        "variable \"ingress\" {{\n  type    = string\n  default = \"{ingress}\"\n}}\n"
    );
    s.push_str("locals {\n  services = {\n");
    for i in 0..n {
        let sv = service(env, i);
        let env_map: Vec<String> = sv
            .keys
            .iter()
            .map(|k| format!("{k} = \"https://{k}.{env}.example.com/value\""))
            .collect();
        let sa = if sv.default_sa {
            "null".to_string()
        } else {
            "\"dedicated\"".to_string()
        };
        let _ = writeln!(
            s,
            "    \"{}\" = {{ image = \"us-central1-docker.pkg.dev/{}/apps/{}:2026.02.18-a41c9d2\", memory = \"{}\", sa = {sa}, env = {{ {} }} }}",
            sv.name,
            project(env),
            sv.name,
            sv.memory,
            env_map.join(", ")
        );
    }
    s.push_str("  }\n}\n\n");
    s.push_str(
        r#"module "svc" {
  for_each = local.services
  source   = "../modules/svc"

  name            = each.key
  project         = var.project_id
  image           = each.value.image
  memory          = each.value.memory
  ingress         = var.ingress
  dedicated_sa    = each.value.sa != null
  env             = each.value.env
  secrets         = ["DATABASE_URL", "API_TOKEN"]
}
"#,
    );
    std::fs::write(dir.join("main.tf"), s).expect("write main.tf");
}

fn write_module(dir: &Path) {
    std::fs::create_dir_all(dir).expect("mkdir");
    std::fs::write(
        dir.join("main.tf"),
        r#"variable "name" {
  type = string
}
variable "project" {
  type = string
}
variable "image" {
  type = string
}
variable "memory" {
  type    = string
  default = "512Mi"
}
variable "ingress" {
  type    = string
  default = "INGRESS_TRAFFIC_ALL"
}
variable "dedicated_sa" {
  type    = bool
  default = true
}
variable "env" {
  type    = map(string)
  default = {}
}
variable "secrets" {
  type    = set(string)
  default = []
}

resource "google_service_account" "sa" {
  account_id   = var.name
  display_name = "Cloud Run ${var.name}"
}

resource "google_cloud_run_v2_service" "this" {
  name                = var.name
  location            = "us-central1"
  ingress             = var.ingress
  deletion_protection = false
  labels              = { team = "platform" }

  template {
    service_account = var.dedicated_sa ? google_service_account.sa.email : null
    scaling {
      min_instance_count = 0
      max_instance_count = 10
    }
    containers {
      image = var.image
      ports {
        container_port = 8080
      }
      resources {
        limits = {
          cpu    = "1"
          memory = var.memory
        }
      }
      dynamic "env" {
        for_each = var.env
        content {
          name  = env.key
          value = env.value
        }
      }
      dynamic "env" {
        for_each = var.secrets
        content {
          name = env.value
          value_source {
            secret_key_ref {
              secret  = google_secret_manager_secret.secret[env.value].secret_id
              version = "latest"
            }
          }
        }
      }
    }
  }
}

resource "google_cloud_run_v2_service_iam_member" "invoker" {
  name     = google_cloud_run_v2_service.this.name
  location = google_cloud_run_v2_service.this.location
  role     = "roles/run.invoker"
  member   = "allUsers"
}

resource "google_project_iam_member" "log_writer" {
  project = var.project
  role    = "roles/logging.logWriter"
  member  = google_service_account.sa.member
}

resource "google_secret_manager_secret" "secret" {
  for_each  = var.secrets
  secret_id = "${var.name}-${lower(replace(each.key, "_", "-"))}"
  replication {
    auto {}
  }
}

resource "google_secret_manager_secret_iam_member" "accessor" {
  for_each  = var.secrets
  secret_id = google_secret_manager_secret.secret[each.key].id
  role      = "roles/secretmanager.secretAccessor"
  member    = google_service_account.sa.member
}
"#,
    )
    .expect("write module");
}

fn contract() -> String {
    r#"# A generated estate: services have the same names in both environments.
environment "dev" {
  sources = ["dev.plan.json"]
  domains = "any"
}
environment "prod" {
  sources = ["prod.plan.json"]
  domains = "any"
}
naming {
  identical = true
}
intentional_difference "prod-behind-load-balancer" {
  check     = "ingress"
  attribute = "ingress"
  values    = { dev = "all", prod = "internal-and-cloud-load-balancing" }
  reason    = "Prod is reached through the load balancer."
}
"#
    .to_string()
}
