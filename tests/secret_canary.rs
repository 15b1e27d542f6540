//! "Never print a secret". Every place a secret can hide in the inputs holds a unique canary
//! string — env var values (plan and HCL), attributes marked in `after_sensitive` /
//! `before_sensitive` / `sensitive_values`, sensitive variables and their defaults, tfvars
//! (`terraform.tfvars`, `*.auto.tfvars`, contract `var_files`, `TF_VAR_*`), locals and module
//! variable defaults feeding env vars, outputs, a prior state, deploy workflow env and inputs —
//! and then every command, every output format and every output option runs on plan JSON, a
//! state, Terraform directories (with and without a plan stream) and without a contract. The
//! canary must appear in no standard output, no standard error and no written file, except
//! where the user's own file already held it. Error paths too: an input refused right after
//! a canary value must not quote it.
//!
//! The commands and formats come from `--help`, so a new command, format or option fails here
//! until it is covered (or said to be irrelevant) below.

mod common;

use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};
use std::process::Command;

use common::{copy_dir, root};
use serde_json::{Value, json};

/// The prefix of every canary. A leak is reported with the rest of the token, which names the
/// place the canary was put.
const CANARY: &str = "CANARY-7f3a9c-";
const TODAY: &str = "2026-11-29";

fn canary(place: &str) -> String {
    assert!(
        place
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || matches!(c, '-' | '_' | '.')),
        "canary place `{place}` uses only token characters"
    );
    format!("{CANARY}{place}")
}

/// Every canary in `text`, as `CANARY-7f3a9c-<place>`. Matching ignores case and treats `_`
/// as `-`, so a canary turned into an identifier (`canary_7f3a9c_...`) is caught too.
fn canaries_in(text: &str) -> Vec<String> {
    let folded: String = text
        .chars()
        .map(|c| match c {
            '_' => '-',
            c => c.to_ascii_lowercase(),
        })
        .collect();
    let needle = CANARY.trim_end_matches('-').to_ascii_lowercase();
    let mut out = Vec::new();
    let mut from = 0;
    while let Some(i) = folded[from..].find(&needle) {
        let start = from + i;
        let tail = &text[start..];
        let end = tail
            .find(|c: char| !(c.is_ascii_alphanumeric() || matches!(c, '-' | '_' | '.')))
            .unwrap_or(tail.len());
        out.push(tail[..end].to_string());
        from = start + needle.len();
    }
    out
}

// ---------------------------------------------------------------------------------------------
// Inputs

/// Every file under `dir` (but `.git`) with its content.
fn snapshot(dir: &Path) -> BTreeMap<PathBuf, Vec<u8>> {
    fn walk(base: &Path, dir: &Path, out: &mut BTreeMap<PathBuf, Vec<u8>>) {
        for entry in std::fs::read_dir(dir).unwrap() {
            let entry = entry.unwrap();
            let p = entry.path();
            if entry.file_type().unwrap().is_dir() {
                if entry.file_name() != ".git" {
                    walk(base, &p, out);
                }
            } else {
                out.insert(
                    p.strip_prefix(base).unwrap().to_path_buf(),
                    std::fs::read(&p).unwrap(),
                );
            }
        }
    }
    let mut out = BTreeMap::new();
    walk(dir, dir, &mut out);
    out
}

fn edit(path: &Path, f: impl FnOnce(String) -> String) {
    let text = std::fs::read_to_string(path).unwrap();
    let new = f(text.clone());
    assert_ne!(new, text, "{} changed", path.display());
    std::fs::write(path, new).unwrap();
}

#[track_caller]
fn insert_after(text: &str, anchor: &str, insert: &str) -> String {
    assert_eq!(
        text.matches(anchor).count(),
        1,
        "exactly one `{anchor}` in the text"
    );
    text.replacen(anchor, &format!("{anchor}{insert}"), 1)
}

/// The resource blocks of a plan's values representation (root and child modules).
fn module_resources(module: &mut Value, f: &mut impl FnMut(&mut Value)) {
    if let Some(rs) = module.get_mut("resources").and_then(Value::as_array_mut) {
        for r in rs {
            f(r);
        }
    }
    if let Some(cs) = module
        .get_mut("child_modules")
        .and_then(Value::as_array_mut)
    {
        for c in cs {
            module_resources(c, f);
        }
    }
}

/// Sets the value at `path` (`template/0/containers/0/image`) to `value` and marks it
/// sensitive, growing the mark tree (same shape as the values, `false`/`{}`/`[]` elsewhere)
/// as Terraform writes it. Returns false when the values have nothing at `path`.
fn set_sensitive(values: &mut Value, marks: &mut Value, path: &str, value: Value) -> bool {
    fn blank(like: &Value) -> Value {
        match like {
            Value::Object(_) => json!({}),
            Value::Array(_) => json!([]),
            _ => json!(false),
        }
    }
    let segs: Vec<&str> = path.split('/').collect();
    let mut v = &mut *values;
    let mut m = &mut *marks;
    for (i, seg) in segs.iter().enumerate() {
        let last = i + 1 == segs.len();
        if let Ok(idx) = seg.parse::<usize>() {
            let Some(items) = v.as_array_mut() else {
                return false;
            };
            if idx >= items.len() {
                return false;
            }
            if !m.is_array() {
                *m = json!([]);
            }
            let marks_arr = m.as_array_mut().unwrap();
            while marks_arr.len() < items.len() {
                let like = blank(&items[marks_arr.len()]);
                marks_arr.push(like);
            }
            v = &mut items[idx];
            m = &mut marks_arr[idx];
        } else {
            let Some(obj) = v.as_object_mut() else {
                return false;
            };
            if !last && !obj.contains_key(*seg) {
                return false;
            }
            if !m.is_object() {
                *m = json!({});
            }
            let like = obj.get(*seg).map(blank).unwrap_or(json!(false));
            let mo = m.as_object_mut().unwrap();
            mo.entry(seg.to_string()).or_insert(like);
            v = obj.entry(seg.to_string()).or_insert(Value::Null);
            m = mo.get_mut(*seg).unwrap();
        }
    }
    *v = value;
    *m = json!(true);
    true
}

/// Puts canaries into one resource's values and sensitive marks. `part` says which part of the
/// plan (`rc` resource_changes, `pv` planned_values, `ps` prior state). Attributes the tool
/// prints when they are not sensitive (image, service account, ingress, memory, connector,
/// Cloud SQL, secret name, IAM member, domains) are marked sensitive and hold a canary.
fn inject_resource(
    env: &str,
    part: &str,
    rtype: &str,
    rname: &str,
    values: &mut Value,
    marks: &mut Value,
) {
    if values.is_null() {
        return;
    }
    let c = |what: &str| json!(canary(&format!("plan-{part}-{env}-{what}")));
    #[track_caller]
    fn must(values: &mut Value, marks: &mut Value, path: &str, value: Value) {
        assert!(
            set_sensitive(values, marks, path, value),
            "nothing at {path} in {}",
            values["name"]
        );
    }
    match rtype {
        "google_cloud_run_v2_service" => {
            let service = values["name"].as_str().unwrap().to_string();
            let role = service
                .trim_start_matches("jualuma-")
                .replace("frontend-app", "user-app")
                .replace("marketing-site", "marketing")
                .replace("support-portal", "support");
            let containers = values["template"][0]["containers"].clone();
            let mut literals = Vec::new();
            let mut refs = Vec::new();
            for (ci, c) in containers.as_array().unwrap().iter().enumerate() {
                for (ei, e) in c["env"].as_array().unwrap().iter().enumerate() {
                    let key = e["name"].as_str().unwrap().to_string();
                    if e["value_source"].as_array().is_none_or(|a| a.is_empty()) {
                        literals.push((ci, ei, key));
                    } else {
                        refs.push((ci, ei, key));
                    }
                }
            }
            for (n, (ci, ei, key)) in literals.iter().enumerate() {
                let v = c(&format!("{service}-{key}"));
                let path = format!("template/0/containers/{ci}/env/{ei}/value");
                if n == 0 {
                    // One literal per service marked sensitive, as a provider would.
                    set_sensitive(values, marks, &path, v);
                } else {
                    values["template"][0]["containers"][*ci]["env"][*ei]["value"] = v;
                }
            }
            match role.as_str() {
                "backend" => {
                    must(
                        values,
                        marks,
                        "template/0/containers/0/image",
                        c("backend-image"),
                    );
                    must(
                        values,
                        marks,
                        "template/0/volumes/0/cloud_sql_instance/0/instances/0",
                        c("backend-cloud-sql"),
                    );
                    if env == "dev" {
                        must(
                            values,
                            marks,
                            "template/0/vpc_access/0/connector",
                            c("backend-vpc-connector"),
                        );
                    }
                    let (ci, ei, _) = &refs[0];
                    must(
                        values,
                        marks,
                        &format!(
                            "template/0/containers/{ci}/env/{ei}/value_source/0/secret_key_ref/0/secret"
                        ),
                        c("backend-secret-name"),
                    );
                }
                "marketing" => must(
                    values,
                    marks,
                    "template/0/service_account",
                    c("marketing-sa"),
                ),
                "support" => must(values, marks, "ingress", c("support-ingress")),
                "user-app" => must(
                    values,
                    marks,
                    "template/0/containers/0/resources/0/limits/memory",
                    c("user-app-memory"),
                ),
                _ => {}
            }
        }
        "google_cloud_run_v2_service_iam_member" if values["name"] == "marketing-site" => {
            must(values, marks, "member", c("marketing-invoker"))
        }
        "google_cloud_run_v2_service_iam_member" if values["name"] == "jualuma-marketing" => {
            must(values, marks, "member", c("marketing-invoker"))
        }
        "google_secret_manager_secret_version" => must(
            values,
            marks,
            "secret_data",
            c(&format!("{rname}-secret-data")),
        ),
        "google_secret_manager_secret" if rname == "stripe_secret_key" => {
            must(values, marks, "secret_id", c("stripe-secret-id"))
        }
        "google_project_iam_member" if rname == "backend_cloudsql_client" => {
            must(values, marks, "member", c("iam-member"))
        }
        "google_service_account" if values["account_id"] == "cr-support" => {
            must(values, marks, "account_id", c("support-account-id"))
        }
        "google_sql_database_instance" => {
            must(values, marks, "root_password", c("sql-root-password"))
        }
        "google_compute_managed_ssl_certificate" => must(
            values,
            marks,
            "managed/0/domains/0",
            c("certificate-domain"),
        ),
        "google_compute_url_map" => must(values, marks, "host_rule/0/hosts/0", c("url-map-host")),
        _ => {}
    }
}

/// An extra secret version in every plan: updated (so `before` holds a canary), its value a
/// constant in the configuration, and present in a prior state.
fn probe_secret_version(env: &str, part: &str) -> Value {
    json!({
        "address": "google_secret_manager_secret_version.probe",
        "mode": "managed",
        "type": "google_secret_manager_secret_version",
        "name": "probe",
        "provider_name": "registry.terraform.io/hashicorp/google",
        "schema_version": 0,
        "values": {
            "deletion_policy": "DELETE",
            "enabled": true,
            "is_secret_data_base64": false,
            "secret": format!("projects/jualuma-{env}/secrets/database-url"),
            "secret_data": canary(&format!("plan-{part}-{env}-probe-secret-data")),
        },
        "sensitive_values": { "secret_data": true }
    })
}

fn canary_plan(env: &str) -> Value {
    let text =
        std::fs::read_to_string(root().join(format!("fixtures/plans/{env}.plan.json"))).unwrap();
    let mut plan: Value = serde_json::from_str(&text).unwrap();

    for rc in plan["resource_changes"].as_array_mut().unwrap() {
        let rtype = rc["type"].as_str().unwrap().to_string();
        let rname = rc["name"].as_str().unwrap().to_string();
        let change = &mut rc["change"];
        let mut after = change["after"].take();
        let mut marks = change["after_sensitive"].take();
        inject_resource(env, "rc", &rtype, &rname, &mut after, &mut marks);
        change["after"] = after;
        change["after_sensitive"] = marks;
    }
    module_resources(&mut plan["planned_values"]["root_module"], &mut |r| {
        let rtype = r["type"].as_str().unwrap().to_string();
        let rname = r["name"].as_str().unwrap().to_string();
        let mut values = r["values"].take();
        let mut marks = r["sensitive_values"].take();
        inject_resource(env, "pv", &rtype, &rname, &mut values, &mut marks);
        r["values"] = values;
        r["sensitive_values"] = marks;
    });

    // The probe secret version: an update, so both sides hold a secret.
    let pv = probe_secret_version(env, "pv");
    plan["planned_values"]["root_module"]["resources"]
        .as_array_mut()
        .unwrap()
        .push(pv.clone());
    let mut after = pv["values"].clone();
    after["secret_data"] = json!(canary(&format!("plan-rc-{env}-probe-after")));
    let mut before = after.clone();
    before["secret_data"] = json!(canary(&format!("plan-rc-{env}-probe-before")));
    plan["resource_changes"]
        .as_array_mut()
        .unwrap()
        .push(json!({
            "address": "google_secret_manager_secret_version.probe",
            "mode": "managed",
            "type": "google_secret_manager_secret_version",
            "name": "probe",
            "provider_name": "registry.terraform.io/hashicorp/google",
            "change": {
                "actions": ["update"],
                "before": before,
                "after": after,
                "after_unknown": {},
                "before_sensitive": { "secret_data": true },
                "after_sensitive": { "secret_data": true }
            }
        }));
    plan["prior_state"] = json!({
        "format_version": "1.0",
        "terraform_version": plan["terraform_version"],
        "values": { "root_module": { "resources": [probe_secret_version(env, "ps")] } }
    });
    plan["configuration"]["root_module"]["resources"]
        .as_array_mut()
        .unwrap()
        .push(json!({
            "address": "google_secret_manager_secret_version.probe",
            "mode": "managed",
            "type": "google_secret_manager_secret_version",
            "name": "probe",
            "provider_config_key": "google",
            "expressions": {
                "secret": { "references": ["google_secret_manager_secret.database_url.id", "google_secret_manager_secret.database_url"] },
                "secret_data": { "constant_value": canary(&format!("plan-config-{env}-probe-constant")) }
            },
            "schema_version": 0
        }));

    // Variables: values (Terraform prints even sensitive ones) and sensitive defaults.
    let vars = plan["variables"].as_object_mut().unwrap();
    if let Some(v) = vars.get_mut("jwt_signing_key") {
        v["value"] = json!(canary(&format!("plan-{env}-var-jwt-signing-key")));
    }
    vars.insert(
        "db_password".into(),
        json!({ "value": canary(&format!("plan-{env}-var-db-password")) }),
    );
    vars.insert(
        "probe_default".into(),
        json!({ "value": canary(&format!("plan-{env}-var-probe-default-value")) }),
    );
    let cvars = plan["configuration"]["root_module"]["variables"]
        .as_object_mut()
        .unwrap();
    cvars.insert(
        "db_password".into(),
        json!({ "description": "Database password.", "sensitive": true }),
    );
    cvars.insert(
        "probe_default".into(),
        json!({ "default": canary(&format!("plan-{env}-config-var-default")), "sensitive": true }),
    );
    let call = &mut plan["configuration"]["root_module"]["module_calls"]["service"];
    call["expressions"]["probe"] =
        json!({ "constant_value": canary(&format!("plan-{env}-module-call-constant")) });
    call["module"]["variables"]["probe"] = json!({
        "default": canary(&format!("plan-{env}-module-var-default")),
        "sensitive": true
    });

    // Outputs: a sensitive and a plain one, in planned_values, output_changes, configuration.
    for (name, sensitive) in [("probe_sensitive", true), ("probe_plain", false)] {
        let value = canary(&format!("plan-{env}-output-{name}"));
        plan["planned_values"]["outputs"][name] =
            json!({ "sensitive": sensitive, "type": "string", "value": value });
        plan["output_changes"][name] = json!({
            "actions": ["create"], "before": null, "after": value, "after_unknown": false,
            "before_sensitive": false, "after_sensitive": sensitive
        });
        plan["configuration"]["root_module"]["outputs"][name] = json!({
            "sensitive": sensitive,
            "expression": { "constant_value": canary(&format!("plan-{env}-config-output-{name}")) }
        });
    }
    plan
}

/// Replaces every value of the `env = { ... }` maps of a `services.tf` by a canary naming the
/// environment, service and key; returns how many.
fn canary_env_values(text: &str, env: &str) -> (String, usize) {
    let mut out = String::new();
    let mut service = String::new();
    let mut in_env = false;
    let mut n = 0;
    for line in text.split_inclusive('\n') {
        let t = line.trim();
        if line.starts_with("    \"") && t.ends_with("= {") {
            service = t.split('"').nth(1).unwrap().to_string();
        }
        if t == "env = {" {
            in_env = true;
        } else if in_env && t == "}" {
            in_env = false;
        } else if in_env && let Some((key, _)) = t.split_once('=') {
            let key = key.trim();
            let indent = &line[..line.len() - line.trim_start().len()];
            let value = canary(&format!("hcl-{env}-{service}-{key}"));
            out.push_str(&format!("{indent}{key} = \"{value}\"\n"));
            n += 1;
            continue;
        }
        out.push_str(line);
    }
    (out, n)
}

fn canary_infra(infra: &Path) {
    let module = infra.join("modules/cloud-run-service");
    edit(&module.join("variables.tf"), |t| {
        format!(
            "{t}\nvariable \"probe_default\" {{\n  description = \"A sensitive module default.\"\n  type        = string\n  default     = \"{}\"\n  sensitive   = true\n}}\n",
            canary("hcl-module-var-default")
        )
    });
    edit(&module.join("main.tf"), |t| {
        insert_after(
            &t,
            "      image = var.image\n",
            "\n      env {\n        name  = \"PROBE_MODULE_DEFAULT\"\n        value = var.probe_default\n      }\n",
        )
    });

    for env in ["dev", "prod"] {
        let dir = infra.join("envs").join(env);
        edit(&dir.join("services.tf"), |t| {
            let (t, n) = canary_env_values(&t, env);
            assert!(n >= 7, "{env}: {n} env values made canaries");
            // In prod, `frontend-app` lists its env before the service account line the fix
            // rewrites, so the patch's context shows a literal (the user's own line).
            let t = if env == "prod" {
                let block = format!(
                    "      env = {{\n        API_BASE_URL = \"{}\"\n      }}\n",
                    canary("hcl-prod-frontend-app-API_BASE_URL")
                );
                assert_eq!(t.matches(&block).count(), 1, "{block}");
                insert_after(
                    &t.replacen(&block, "", 1),
                    "    \"frontend-app\" = {\n",
                    &block,
                )
            } else {
                t
            };
            // Backend env values fed by a local, an interpolation, tfvars, an auto.tfvars, a
            // contract var file, a sensitive default and TF_VAR_.
            let marker = "        ENVIRONMENT = ";
            assert_eq!(t.matches(marker).count(), 1, "{env}: one ENVIRONMENT key");
            t.replacen(
                marker,
                "        PROBE_FROM_LOCAL             = local.probe_local\n        PROBE_INTERPOLATED           = \"prefix-${local.probe_local}-suffix\"\n        PROBE_FROM_TFVARS            = var.probe_tfvar\n        PROBE_FROM_AUTO_TFVARS       = var.probe_auto_tfvar\n        PROBE_FROM_VAR_FILE          = var.probe_var_file\n        PROBE_FROM_SENSITIVE_DEFAULT = var.probe_sensitive_default\n        PROBE_FROM_TF_VAR            = var.probe_tf_var\n        ENVIRONMENT = ",
                1,
            )
        });
        std::fs::write(
            dir.join("probe.tf"),
            format!(
                r#"locals {{
  probe_local = "{local}"
}}

variable "probe_tfvar" {{
  type = string
}}

variable "probe_auto_tfvar" {{
  type = string
}}

variable "probe_var_file" {{
  type    = string
  default = "no-var-file"
}}

variable "probe_tf_var" {{
  type    = string
  default = "no-tf-var"
}}

variable "probe_sensitive_default" {{
  type      = string
  sensitive = true
  default   = "{default}"
}}

variable "db_password" {{
  type      = string
  sensitive = true
}}

resource "google_secret_manager_secret_version" "probe" {{
  secret      = google_secret_manager_secret.database_url.id
  secret_data = var.db_password
}}

resource "google_sql_user" "probe" {{
  project  = var.project_id
  instance = google_sql_database_instance.main.name
  name     = "app"
  password = "{sql}"
}}

# Sensitive values in attributes the tool prints (graph labels and details).
resource "google_project_iam_member" "probe_sensitive_var" {{
  project = var.project_id
  role    = "roles/viewer"
  member  = "user:${{var.db_password}}"
}}

resource "google_project_iam_member" "probe_sensitive_function" {{
  project = var.project_id
  role    = "roles/viewer"
  member  = sensitive("user:{fn}")
}}

resource "google_secret_manager_secret" "probe" {{
  project   = var.project_id
  secret_id = var.probe_sensitive_default
  replication {{
    auto {{}}
  }}
}}

output "probe_sensitive" {{
  value     = var.db_password
  sensitive = true
}}

output "probe_plain" {{
  value = "{output}"
}}
"#,
                local = canary(&format!("hcl-{env}-local")),
                default = canary(&format!("hcl-{env}-sensitive-default")),
                sql = canary(&format!("hcl-{env}-sql-password")),
                fn = canary(&format!("hcl-{env}-sensitive-function")),
                output = canary(&format!("hcl-{env}-output")),
            ),
        )
        .unwrap();
        edit(&dir.join("terraform.tfvars"), |t| {
            let t = if env == "dev" {
                t.replace(
                    "\"dev-jwt-signing-key-not-a-real-secret\"",
                    &format!("\"{}\"", canary("hcl-dev-tfvars-jwt-signing-key")),
                )
            } else {
                t
            };
            format!(
                "{t}\nprobe_tfvar = \"{}\"\ndb_password = \"{}\"\n",
                canary(&format!("hcl-{env}-tfvars-probe")),
                canary(&format!("hcl-{env}-tfvars-db-password")),
            )
        });
        std::fs::write(
            dir.join("probe.auto.tfvars"),
            format!(
                "probe_auto_tfvar = \"{}\"\n",
                canary(&format!("hcl-{env}-auto-tfvars"))
            ),
        )
        .unwrap();
        std::fs::write(
            dir.join("probe-var-file.tfvars"),
            format!(
                "probe_var_file = \"{}\"\n",
                canary(&format!("hcl-{env}-var-file"))
            ),
        )
        .unwrap();
    }

    for env in ["dev", "prod"] {
        edit(&infra.join(format!("workflows/deploy-{env}.yml")), |t| {
            let t = insert_after(
                &t,
                "  TF_INPUT: \"false\"\n",
                &format!("  PROBE_TOKEN: \"{}\"\n", canary(&format!("wf-{env}-env"))),
            );
            let t = insert_after(
                &t,
                "uses: google-github-actions/auth@v2\n        with:\n",
                &format!(
                    "          credentials_json: \"{}\"\n",
                    canary(&format!("wf-{env}-auth-input"))
                ),
            );
            // A token on a step's command line and in a step's env, differing per
            // environment (so the steps differ).
            insert_after(
                &t,
                "        run: terraform init -input=false",
                &format!(
                    " -backend-config=\"access_token={}\"\n        env:\n          GOOGLE_OAUTH_ACCESS_TOKEN: {}",
                    canary(&format!("wf-{env}-run-argument")),
                    canary(&format!("wf-{env}-step-env"))
                ),
            )
        });
    }
}

/// A Terraform stream with a warning whose snippet holds a canary.
fn canary_stream(env: &str) -> String {
    let text =
        std::fs::read_to_string(root().join(format!("fixtures/plans/{env}.plan.jsonl"))).unwrap();
    let mut lines: Vec<String> = text.lines().map(str::to_string).collect();
    let warning = json!({
        "@level": "warn",
        "@message": "Warning: Argument is deprecated",
        "@module": "terraform.ui",
        "type": "diagnostic",
        "diagnostic": {
            "severity": "warning",
            "summary": "Argument is deprecated",
            "detail": "Use something else.",
            "range": { "filename": "probe.tf", "start": { "line": 3, "column": 3, "byte": 20 }, "end": { "line": 3, "column": 9, "byte": 26 } },
            "snippet": {
                "context": "locals",
                "code": format!("  probe_local = \"{}\"", canary(&format!("stream-{env}-snippet-code"))),
                "start_line": 3,
                "highlight_start_offset": 2,
                "highlight_end_offset": 13,
                "values": [ { "traversal": "var.db_password", "statement": format!("is \"{}\"", canary(&format!("stream-{env}-snippet-value"))) } ]
            }
        }
    });
    lines.insert(1, warning.to_string());
    lines.join("\n") + "\n"
}

/// The shipped contract with its sources and workflows pointing at the canary inputs.
fn contract(sources: [&str; 2], var_files: bool) -> String {
    let text = std::fs::read_to_string(root().join("parity.hcl")).unwrap();
    let mut text = text
        .replace(
            "sources = [\"fixtures/plans/dev.plan.json\"]",
            &format!(
                "sources = [\"{}\"]\n  workflows = [\"infra/workflows/deploy-dev.yml\"]",
                sources[0]
            ),
        )
        .replace(
            "sources = [\"fixtures/plans/prod.plan.json\"]",
            &format!(
                "sources = [\"{}\"]\n  workflows = [\"infra/workflows/deploy-prod.yml\"]",
                sources[1]
            ),
        );
    if var_files {
        text = text
            .replace(
                "  workflows = [\"infra/workflows/deploy-dev.yml\"]",
                "  workflows = [\"infra/workflows/deploy-dev.yml\"]\n  var_files = [\"infra/envs/dev/probe-var-file.tfvars\"]",
            )
            .replace(
                "  workflows = [\"infra/workflows/deploy-prod.yml\"]",
                "  workflows = [\"infra/workflows/deploy-prod.yml\"]\n  var_files = [\"infra/envs/prod/probe-var-file.tfvars\"]",
            );
    }
    assert!(!text.contains("fixtures/"), "every source was rewritten");
    text
}

/// A directory holding every canary input.
struct Workspace {
    dir: tempfile::TempDir,
}

impl Workspace {
    /// `git`: make it a repository (for `--only-changed --base HEAD`).
    fn new(with_git: bool) -> Workspace {
        let dir = tempfile::tempdir().unwrap();
        let p = dir.path();
        std::fs::create_dir_all(p.join("plans")).unwrap();
        std::fs::create_dir_all(p.join("out")).unwrap();
        std::fs::create_dir_all(p.join("nocontract")).unwrap();
        for env in ["dev", "prod"] {
            let plan = canary_plan(env);
            std::fs::write(
                p.join(format!("plans/{env}.plan.json")),
                serde_json::to_string_pretty(&plan).unwrap(),
            )
            .unwrap();
            // `terraform show -json` of a state: the planned values as current values.
            let state = json!({
                "format_version": "1.0",
                "terraform_version": plan["terraform_version"],
                "values": plan["planned_values"],
            });
            let state = serde_json::to_string(&state)
                .unwrap()
                .replace(&format!("{CANARY}plan-pv-"), &format!("{CANARY}state-"));
            std::fs::write(p.join(format!("plans/{env}.state.json")), state).unwrap();
            std::fs::write(
                p.join(format!("plans/{env}.plan.jsonl")),
                canary_stream(env),
            )
            .unwrap();
        }
        copy_dir(&root().join("infra"), &p.join("infra"));
        canary_infra(&p.join("infra"));
        std::fs::write(
            p.join("parity.hcl"),
            contract(["plans/dev.plan.json", "plans/prod.plan.json"], false),
        )
        .unwrap();
        std::fs::write(
            p.join("parity-hcl.hcl"),
            contract(["infra/envs/dev", "infra/envs/prod"], true),
        )
        .unwrap();
        std::fs::write(
            p.join("parity-state.hcl"),
            contract(["plans/dev.state.json", "plans/prod.state.json"], false),
        )
        .unwrap();
        if with_git {
            git(p, &["init", "-q"]);
            git(p, &["add", "-A"]);
            git(
                p,
                &[
                    "-c",
                    "user.email=t@example.com",
                    "-c",
                    "user.name=t",
                    "commit",
                    "-qm",
                    "canary inputs",
                ],
            );
        }
        Workspace { dir }
    }

    fn path(&self) -> &Path {
        self.dir.path()
    }
}

fn git(dir: &Path, args: &[&str]) {
    let out = Command::new("git")
        .args(args)
        .current_dir(dir)
        .env("GIT_CONFIG_NOSYSTEM", "1")
        .output()
        .expect("git runs");
    assert!(
        out.status.success(),
        "git {args:?}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
}

// ---------------------------------------------------------------------------------------------
// Running

/// One way of giving the environments.
struct Input {
    name: &'static str,
    /// Relative to the workspace.
    cwd: &'static str,
    args: Vec<&'static str>,
    /// Whether this input has a contract (commands reading the contract alone need one).
    contract: Option<&'static str>,
    /// Options that only change the exit code or one part of one format run on the main
    /// inputs only (plan and HCL), to keep the test fast.
    main: bool,
}

fn inputs() -> Vec<Input> {
    vec![
        Input {
            name: "plan",
            cwd: ".",
            args: vec!["--contract", "parity.hcl"],
            contract: Some("parity.hcl"),
            main: true,
        },
        Input {
            name: "state",
            cwd: ".",
            args: vec!["--contract", "parity-state.hcl"],
            contract: Some("parity-state.hcl"),
            main: false,
        },
        Input {
            name: "hcl",
            cwd: ".",
            args: vec!["--contract", "parity-hcl.hcl"],
            contract: Some("parity-hcl.hcl"),
            main: true,
        },
        Input {
            name: "hcl+stream",
            cwd: ".",
            args: vec![
                "--contract",
                "parity-hcl.hcl",
                "--env",
                "dev=infra/envs/dev",
                "--env",
                "dev=plans/dev.plan.jsonl",
                "--env",
                "prod=infra/envs/prod",
                "--env",
                "prod=plans/prod.plan.jsonl",
            ],
            contract: Some("parity-hcl.hcl"),
            main: false,
        },
        Input {
            name: "plan-no-contract",
            cwd: "nocontract",
            args: vec![
                "--env",
                "dev=../plans/dev.plan.json",
                "--env",
                "prod=../plans/prod.plan.json",
            ],
            contract: None,
            main: false,
        },
        Input {
            name: "hcl-no-contract",
            cwd: "nocontract",
            args: vec![
                "--env",
                "dev=../infra/envs/dev",
                "--env",
                "prod=../infra/envs/prod",
            ],
            contract: None,
            main: false,
        },
    ]
}

/// One run of the binary.
#[derive(Clone)]
struct Case {
    what: String,
    cwd: PathBuf,
    args: Vec<String>,
    /// Exit codes that mean "the command did its job".
    codes: &'static [i32],
}

struct Outcome {
    case: Case,
    code: Option<i32>,
    stdout: String,
    stderr: String,
}

fn bin() -> PathBuf {
    PathBuf::from(env!("CARGO_BIN_EXE_tfparity"))
}

fn run_case(case: &Case) -> Outcome {
    let out = Command::new(bin())
        .args(&case.args)
        .current_dir(&case.cwd)
        .env_remove("NO_COLOR")
        .env_remove("CLICOLOR")
        .env("CLICOLOR_FORCE", "0")
        .env_remove("FORCE_COLOR")
        .env("TF_VAR_probe_tf_var", canary("hcl-tf-var-env"))
        .output()
        .expect("tfparity runs");
    Outcome {
        case: case.clone(),
        code: out.status.code(),
        stdout: String::from_utf8_lossy(&out.stdout).into_owned(),
        stderr: String::from_utf8_lossy(&out.stderr).into_owned(),
    }
}

/// Runs the cases on a few threads (each run is a short process).
fn run_all(cases: &[Case]) -> Vec<Outcome> {
    let threads = 4;
    let chunks: Vec<Vec<Case>> = (0..threads)
        .map(|t| cases.iter().skip(t).step_by(threads).cloned().collect())
        .collect();
    let mut out: Vec<Outcome> = std::thread::scope(|s| {
        let handles: Vec<_> = chunks
            .iter()
            .map(|chunk| s.spawn(move || chunk.iter().map(run_case).collect::<Vec<_>>()))
            .collect();
        handles
            .into_iter()
            .flat_map(|h| h.join().unwrap())
            .collect()
    });
    out.sort_by(|a, b| a.case.what.cmp(&b.case.what));
    out
}

/// Checks every outcome: the expected exit code, and no canary in its output.
/// A patch (`fix service-accounts`) shows unchanged lines of the files it edits as context (and
/// the lines it replaces): those are the user's own lines, allowed when they are verbatim lines
/// of `own_lines`. A canary on an added line, or anywhere else, is a leak.
fn assert_no_leak(outcomes: &[Outcome], own_lines: &BTreeSet<String>) {
    let mut problems = Vec::new();
    for o in outcomes {
        let stdout = if o.case.args.first().is_some_and(|a| a == "fix") {
            o.stdout
                .lines()
                .filter(|l| {
                    !((l.starts_with(' ') || l.starts_with('-') && !l.starts_with("---"))
                        && own_lines.contains(&l[1..]))
                })
                .collect::<Vec<_>>()
                .join("\n")
        } else {
            o.stdout.clone()
        };
        if !o.code.is_some_and(|c| o.case.codes.contains(&c)) {
            problems.push(format!(
                "{}: exit {:?}, expected one of {:?}\n  args: {:?}\n  stderr: {}",
                o.case.what,
                o.code,
                o.case.codes,
                o.case.args,
                o.stderr.trim()
            ));
        }
        for (stream, text) in [("stdout", &stdout), ("stderr", &o.stderr)] {
            let found: BTreeSet<String> = canaries_in(text).into_iter().collect();
            if !found.is_empty() {
                problems.push(format!(
                    "{}: {stream} leaks {found:?}\n  args: {:?}\n  context: {}",
                    o.case.what,
                    o.case.args,
                    context_of(text)
                ));
            }
        }
    }
    assert!(
        problems.is_empty(),
        "{} problem(s) in {} runs:\n{}",
        problems.len(),
        outcomes.len(),
        problems.join("\n")
    );
}

/// Every line of the Terraform files under `dir`.
fn own_lines(dir: &Path) -> BTreeSet<String> {
    snapshot(dir)
        .into_iter()
        .filter(|(p, _)| p.extension().is_some_and(|e| e == "tf"))
        .flat_map(|(_, bytes)| {
            String::from_utf8(bytes)
                .unwrap()
                .lines()
                .map(str::to_string)
                .collect::<Vec<_>>()
        })
        .collect()
}

/// The lines around the first canary in `text`.
fn context_of(text: &str) -> String {
    let lower = text.to_ascii_lowercase().replace('_', "-");
    let at = lower.find("canary-7f3a9c").unwrap_or(0);
    let start = text[..at].rfind('\n').map_or(0, |i| i + 1);
    let end = text[at..].find('\n').map_or(text.len(), |i| at + i);
    let line = &text[start..end];
    match line.char_indices().nth(400) {
        Some((i, _)) => format!("{}…", &line[..i]),
        None => line.to_string(),
    }
}

/// Every file under `dir` that holds a canary it did not hold in `before` (by count per canary),
/// and every new file holding one.
fn new_canaries_on_disk(before: &BTreeMap<PathBuf, Vec<u8>>, dir: &Path) -> Vec<String> {
    let count = |bytes: &[u8]| -> BTreeMap<String, usize> {
        let mut m = BTreeMap::new();
        for c in canaries_in(&String::from_utf8_lossy(bytes)) {
            *m.entry(c).or_insert(0) += 1;
        }
        m
    };
    let mut out = Vec::new();
    for (path, bytes) in snapshot(dir) {
        let now = count(&bytes);
        let was = before.get(&path).map(|b| count(b)).unwrap_or_default();
        for (c, n) in now {
            let had = was.get(&c).copied().unwrap_or(0);
            if n > had {
                out.push(format!(
                    "{}: {c} ({had} → {n}) near: {}",
                    path.display(),
                    context_of(&String::from_utf8_lossy(&bytes))
                ));
            }
        }
    }
    out
}

// ---------------------------------------------------------------------------------------------
// What `--help` advertises

fn help(args: &[&str]) -> String {
    let out = Command::new(bin())
        .args(args)
        .arg("--help")
        .output()
        .expect("tfparity runs");
    assert!(out.status.success(), "{args:?} --help");
    String::from_utf8(out.stdout).unwrap()
}

/// The entries of a `Commands:` section (without `help`).
fn subcommands(help: &str) -> Vec<String> {
    section(help, "Commands:")
        .iter()
        .filter_map(|l| {
            let l = l.strip_prefix("  ")?;
            if l.starts_with(' ') {
                return None;
            }
            l.split_whitespace().next().map(str::to_string)
        })
        .filter(|c| c != "help")
        .collect()
}

/// The lines of the section headed `title` (up to the next unindented line).
fn section<'a>(help: &'a str, title: &str) -> Vec<&'a str> {
    let mut lines = help.lines().skip_while(|l| *l != title);
    lines.next();
    lines
        .take_while(|l| l.is_empty() || l.starts_with(' '))
        .collect()
}

/// Long option names of a command's help (`--format`, …), and its positional arguments.
fn options(help: &str) -> BTreeSet<String> {
    let mut out = BTreeSet::new();
    for l in section(help, "Options:") {
        let t = l.trim_start();
        let t = match t.strip_prefix('-') {
            Some(rest) if !rest.starts_with('-') && rest.chars().nth(1) == Some(',') => {
                rest[2..].trim_start()
            }
            _ => t,
        };
        if let Some(name) = t.strip_prefix("--") {
            let name: String = name
                .chars()
                .take_while(|c| c.is_ascii_alphanumeric() || *c == '-')
                .collect();
            out.insert(format!("--{name}"));
        }
    }
    for l in section(help, "Arguments:") {
        // `  [ENV]  Only this …` or, in long help, `  [ENV]` with the text below.
        if l.starts_with("  ")
            && !l.starts_with("   ")
            && let Some(arg) = l.split_whitespace().next()
        {
            out.insert(arg.to_string());
        }
    }
    out
}

/// The values an option accepts: `Possible values:` items or `[possible values: a, b]`.
fn possible_values(help: &str, option: &str) -> Vec<String> {
    let lines: Vec<&str> = help.lines().collect();
    let start = lines
        .iter()
        .position(|l| {
            let t = l.trim_start();
            t.starts_with(&format!("{option} ")) || t.contains(&format!(", {option} "))
        })
        .unwrap_or_else(|| panic!("{option} in the help:\n{help}"));
    if let Some(i) = lines[start].find("[possible values: ") {
        let rest = &lines[start][i + "[possible values: ".len()..];
        return rest
            .trim_end_matches(']')
            .split(", ")
            .map(str::to_string)
            .collect();
    }
    let mut out = Vec::new();
    for l in &lines[start + 1..] {
        let t = l.trim_start();
        if t.starts_with("--") || (t.starts_with('-') && t.chars().nth(2) == Some(',')) {
            break;
        }
        if let Some(item) = t.strip_prefix("- ") {
            out.push(item.split(':').next().unwrap().trim().to_string());
        }
    }
    assert!(!out.is_empty(), "{option} lists its values:\n{help}");
    out
}

/// What this test runs, by command: the options it exercises and the ones it leaves out on
/// purpose (with why). A command, format or option `--help` advertises and this table does not
/// name fails `the_matrix_covers_what_help_advertises`.
/// Options a command's runs exercise, and options left out with the reason.
type Coverage = (Vec<&'static str>, Vec<(&'static str, &'static str)>);

fn covered() -> BTreeMap<&'static str, Coverage> {
    let common = ["--contract", "--env"];
    let mut m = BTreeMap::new();
    m.insert(
        "check",
        (
            [
                &common[..],
                &[
                    "--format",
                    "--output",
                    "--fail-on",
                    "--strict",
                    "--today",
                    "--verbose",
                    "--baseline",
                    "--write-baseline",
                    "--only-changed",
                    "--base",
                    "--roles-diagram",
                ],
            ]
            .concat(),
            vec![("--help", "no input")],
        ),
    );
    m.insert(
        "inventory",
        (
            [&common[..], &["--format", "[ENV]"]].concat(),
            vec![("--help", "no input")],
        ),
    );
    m.insert(
        "graph",
        (
            [
                &common[..],
                &["--format", "--output", "--roles", "--today", "[ENV]"],
            ]
            .concat(),
            vec![("--help", "no input")],
        ),
    );
    m.insert(
        "contract init",
        (
            [&common[..], &["--output", "--reference"]].concat(),
            vec![("--help", "no input")],
        ),
    );
    m.insert(
        "contract render",
        (
            vec!["[FILE]", "--output", "--check"],
            vec![("--help", "no input")],
        ),
    );
    m.insert(
        "contract validate",
        (vec!["[FILE]"], vec![("--help", "no input")]),
    );
    m.insert("explain", (vec!["[CHECK]"], vec![("--help", "no input")]));
    m.insert(
        "fix service-accounts",
        (
            [&common[..], &["--target", "--reference", "--write"]].concat(),
            vec![("--help", "no input")],
        ),
    );
    m.insert(
        "completions",
        (
            vec![],
            vec![
                ("<SHELL>", "prints a fixed script: reads no input"),
                ("--help", "no input"),
            ],
        ),
    );
    m
}

/// Every option `covered()` says is exercised appears in some run of its command (a
/// positional `[X]` as a word after the command that is not an option or its value).
/// `fix service-accounts --write` runs in `fix_write_adds_no_canary_to_the_files`.
fn assert_runs_exercise_the_table<'a>(cases: impl Iterator<Item = &'a Case>) {
    let cases: Vec<&Case> = cases.collect();
    for (command, (exercised, _)) in covered() {
        let words: Vec<&str> = command.split(' ').collect();
        let runs: Vec<&[String]> = cases
            .iter()
            .filter(|c| c.args.len() >= words.len() && c.args[..words.len()] == words[..])
            .map(|c| &c.args[words.len()..])
            .collect();
        for option in exercised {
            if command == "fix service-accounts" && option == "--write" {
                continue;
            }
            let used = if option.starts_with('[') {
                runs.iter().any(|args| {
                    args.first().is_some_and(|a| !a.starts_with('-'))
                        || args.windows(2).any(|w| {
                            !w[1].starts_with('-')
                                && w[0].starts_with("--")
                                && [
                                    "--verbose",
                                    "--strict",
                                    "--roles",
                                    "--check",
                                    "--only-changed",
                                ]
                                .contains(&w[0].as_str())
                        })
                })
            } else {
                runs.iter().any(|args| args.iter().any(|a| a == option))
            };
            assert!(used, "no run of `{command}` uses {option}");
        }
    }
}

/// Every leaf command `--help` lists, as "check", "contract init", …
fn leaf_commands() -> Vec<String> {
    let mut out = Vec::new();
    for c in subcommands(&help(&[])) {
        let sub = subcommands(&help(&[&c]));
        if sub.is_empty() {
            out.push(c);
        } else {
            out.extend(sub.into_iter().map(|s| format!("{c} {s}")));
        }
    }
    out
}

fn formats(command: &str) -> Vec<String> {
    possible_values(&help(&[command]), "--format")
}

#[test]
fn the_matrix_covers_what_help_advertises() {
    let table = covered();
    let leaves: BTreeSet<String> = leaf_commands().into_iter().collect();
    let known: BTreeSet<String> = table.keys().map(|k| k.to_string()).collect();
    assert_eq!(
        leaves, known,
        "`tfparity --help` lists other commands than this test covers: add the new ones to \
         `covered()` and to the runs"
    );
    for (command, (exercised, skipped)) in &table {
        let words: Vec<&str> = command.split(' ').collect();
        let advertised = options(&help(&words));
        let mine: BTreeSet<String> = exercised
            .iter()
            .chain(skipped.iter().map(|(o, _)| o))
            .map(|s| s.to_string())
            .collect();
        assert_eq!(
            advertised, mine,
            "`tfparity {command} --help` options differ from what this test covers"
        );
    }
    // The formats the runs loop over are exactly those advertised (the runs read them from
    // --help too; this pins that the parsing finds them).
    assert_eq!(
        formats("check"),
        [
            "text", "markdown", "json", "sarif", "junit", "github", "gitlab"
        ]
    );
    assert_eq!(formats("inventory"), ["table", "json"]);
    assert_eq!(formats("graph"), ["dot", "mermaid", "json"]);
    assert_eq!(
        possible_values(&help(&["check"]), "--fail-on"),
        ["fail", "review", "never"]
    );
    assert_eq!(
        possible_values(&help(&["check"]), "--roles-diagram"),
        ["auto", "always", "never"]
    );
}

// ---------------------------------------------------------------------------------------------
// The runs

fn strings(v: &[&str]) -> Vec<String> {
    v.iter().map(|s| s.to_string()).collect()
}

/// Every command × format × option on every input, in `ws`.
fn matrix(ws: &Workspace) -> Vec<Case> {
    let check_formats = formats("check");
    let inventory_formats = formats("inventory");
    let graph_formats = formats("graph");
    let fail_on = possible_values(&help(&["check"]), "--fail-on");
    let diagram = possible_values(&help(&["check"]), "--roles-diagram");
    let mut cases = Vec::new();
    let out = |name: &str| format!("{}/out/{name}", ws.path().display());
    const OK: &[i32] = &[0, 1];

    for input in inputs() {
        let cwd = ws.path().join(input.cwd);
        let mut add = |what: String, args: Vec<String>, codes: &'static [i32]| {
            let mut all = args;
            all.extend(strings(&input.args));
            cases.push(Case {
                what: format!("[{}] {what}", input.name),
                cwd: cwd.clone(),
                args: all,
                codes,
            });
        };
        let tag = input.name.replace('+', "-");

        // check: every format, to standard output and to a file.
        for f in &check_formats {
            add(
                format!("check --format {f}"),
                strings(&["check", "--today", TODAY, "--format", f]),
                OK,
            );
            add(
                format!("check --format {f} --verbose --strict --output"),
                strings(&[
                    "check",
                    "--today",
                    TODAY,
                    "--format",
                    f,
                    "--verbose",
                    "--strict",
                    "--output",
                    &out(&format!("check-{tag}.{f}")),
                ]),
                OK,
            );
        }
        // Options that change the exit code or one part of one format: on the main inputs.
        let fail_on_here = if input.main { &fail_on[..] } else { &[] };
        for fo in fail_on_here {
            add(
                format!("check --fail-on {fo}"),
                strings(&["check", "--today", TODAY, "--fail-on", fo]),
                OK,
            );
        }
        let diagram_here = if input.main { &diagram[..] } else { &[] };
        for d in diagram_here {
            add(
                format!("check --format markdown --roles-diagram {d}"),
                strings(&[
                    "check",
                    "--today",
                    TODAY,
                    "--format",
                    "markdown",
                    "--roles-diagram",
                    d,
                ]),
                OK,
            );
        }
        // Baselines: written, then read (the same file, after the parallel runs wrote it: the
        // read runs come in the second batch, see `later`).
        add(
            "check --write-baseline".into(),
            strings(&[
                "check",
                "--today",
                TODAY,
                "--format",
                "json",
                "--write-baseline",
                &out(&format!("baseline-{tag}.json")),
            ]),
            OK,
        );
        add(
            "check --only-changed".into(),
            strings(&[
                "check",
                "--today",
                TODAY,
                "--format",
                "markdown",
                "--only-changed",
                "--base",
                "HEAD",
            ]),
            OK,
        );

        for f in &inventory_formats {
            add(
                format!("inventory --format {f}"),
                strings(&["inventory", "--format", f]),
                &[0],
            );
            add(
                format!("inventory prod --format {f}"),
                strings(&["inventory", "prod", "--format", f]),
                &[0],
            );
        }

        for f in &graph_formats {
            add(
                format!("graph --format {f} --output"),
                strings(&[
                    "graph",
                    "--format",
                    f,
                    "--output",
                    &out(&format!("graph-{tag}.{f}")),
                ]),
                &[0],
            );
            add(
                format!("graph dev --format {f}"),
                strings(&["graph", "dev", "--format", f]),
                &[0],
            );
            add(
                format!("graph --roles --format {f} --output"),
                strings(&[
                    "graph",
                    "--roles",
                    "--today",
                    TODAY,
                    "--format",
                    f,
                    "--output",
                    &out(&format!("graph-roles-{tag}.{f}")),
                ]),
                &[0],
            );
        }

        add(
            "contract init --output -".into(),
            strings(&["contract", "init", "--output", "-"]),
            &[0],
        );
        add(
            "contract init --reference prod --output -".into(),
            strings(&["contract", "init", "--reference", "prod", "--output", "-"]),
            &[0],
        );
        add(
            "contract init --output FILE".into(),
            strings(&[
                "contract",
                "init",
                "--output",
                &out(&format!("init-{tag}.hcl")),
            ]),
            &[0],
        );

        add(
            "fix service-accounts".into(),
            strings(&["fix", "service-accounts"]),
            &[0],
        );
        if input.main {
            add(
                "fix service-accounts --target prod --reference dev".into(),
                strings(&[
                    "fix",
                    "service-accounts",
                    "--target",
                    "prod",
                    "--reference",
                    "dev",
                ]),
                &[0],
            );
        }

        if let Some(contract) = input.contract {
            let c = ws.path().join(contract).display().to_string();
            let mut plain = |what: String, args: Vec<String>, codes: &'static [i32]| {
                cases.push(Case {
                    what: format!("[{}] {what}", input.name),
                    cwd: ws.path().to_path_buf(),
                    args,
                    codes,
                });
            };
            plain(
                "contract validate".into(),
                strings(&["contract", "validate", &c]),
                &[0],
            );
            plain(
                "contract render".into(),
                strings(&["contract", "render", &c]),
                &[0],
            );
            plain(
                "contract render --output".into(),
                strings(&[
                    "contract",
                    "render",
                    &c,
                    "--output",
                    &out(&format!("render-{tag}.md")),
                ]),
                &[0],
            );
        }
    }

    let mut explain = vec![vec!["explain".to_string()]];
    for n in 1..=10 {
        explain.push(vec!["explain".into(), n.to_string()]);
    }
    for args in explain {
        cases.push(Case {
            what: args.join(" "),
            cwd: ws.path().to_path_buf(),
            args,
            codes: &[0],
        });
    }
    cases
}

/// Runs that read what the first batch wrote.
fn later(ws: &Workspace) -> Vec<Case> {
    let mut cases = Vec::new();
    for input in inputs() {
        let tag = input.name.replace('+', "-");
        let baseline = ws.path().join(format!("out/baseline-{tag}.json"));
        let mut args = strings(&[
            "check",
            "--today",
            TODAY,
            "--format",
            "text",
            "--verbose",
            "--baseline",
            &baseline.display().to_string(),
        ]);
        args.extend(strings(&input.args));
        cases.push(Case {
            what: format!("[{}] check --baseline", input.name),
            cwd: ws.path().join(input.cwd),
            args,
            codes: &[0, 1],
        });
        if let Some(contract) = input.contract {
            let c = ws.path().join(contract).display().to_string();
            let rendered = ws.path().join(format!("out/render-{tag}.md"));
            cases.push(Case {
                what: format!("[{}] contract render --check", input.name),
                cwd: ws.path().to_path_buf(),
                args: strings(&[
                    "contract",
                    "render",
                    &c,
                    "--output",
                    &rendered.display().to_string(),
                    "--check",
                ]),
                codes: &[0],
            });
        }
    }
    cases
}

#[test]
fn no_command_format_or_option_prints_a_canary() {
    let ws = Workspace::new(true);
    let before = snapshot(ws.path());

    // Sanity: the canaries reach the tool (the HCL evaluator resolves every probe env var to
    // a literal, so it holds each canary in hand).
    let inv = run_case(&Case {
        what: "inventory".into(),
        cwd: ws.path().to_path_buf(),
        args: strings(&[
            "inventory",
            "dev",
            "--format",
            "json",
            "--contract",
            "parity-hcl.hcl",
        ]),
        codes: &[0],
    });
    let v: Value = serde_json::from_str(&inv.stdout)
        .unwrap_or_else(|e| panic!("inventory json: {e}\n{}\n{}", inv.stdout, inv.stderr));
    let backend = v["environments"][0]["services"]
        .as_array()
        .unwrap()
        .iter()
        .find(|s| s["name"] == "jualuma-backend")
        .expect("the dev backend");
    let env = &backend["containers"][0]["env"]["value"];
    for key in [
        "PROBE_FROM_LOCAL",
        "PROBE_INTERPOLATED",
        "PROBE_FROM_TFVARS",
        "PROBE_FROM_AUTO_TFVARS",
        "PROBE_FROM_VAR_FILE",
        "PROBE_FROM_SENSITIVE_DEFAULT",
        "PROBE_FROM_TF_VAR",
        "PROBE_MODULE_DEFAULT",
        "FRONTEND_URL",
    ] {
        assert_eq!(
            env[key]["kind"], "literal",
            "{key} in the dev backend's env, its value known: {env}"
        );
    }

    let cases = matrix(&ws);
    let later = later(&ws);
    assert_runs_exercise_the_table(cases.iter().chain(&later));
    let mut outcomes = run_all(&cases);
    outcomes.extend(run_all(&later));
    assert!(outcomes.len() >= 230, "{} runs", outcomes.len());
    eprintln!("{} runs, no canary printed", outcomes.len());
    assert_no_leak(&outcomes, &own_lines(ws.path()));

    // Every file the runs wrote: reports, graphs, baselines, contracts, renderings.
    let written = new_canaries_on_disk(&before, ws.path());
    assert!(
        written.is_empty(),
        "written files gained canaries:\n{}",
        written.join("\n")
    );
    let outputs = snapshot(&ws.path().join("out"));
    assert!(
        outputs.len() >= 6 * (7 + 3 + 3 + 1 + 1) + 4,
        "every --output / --write-baseline file was written: {:?}",
        outputs.keys().collect::<Vec<_>>()
    );
}

/// `fix service-accounts --write` edits Terraform files in place: they must gain no canary
/// (the files it edits hold some already, and keep exactly those).
#[test]
fn fix_write_adds_no_canary_to_the_files() {
    let ws = Workspace::new(false);
    let before = snapshot(ws.path());
    // One copy of the inputs per input kind, each written by its own run.
    let copies: Vec<(Input, tempfile::TempDir)> = inputs()
        .into_iter()
        .map(|input| {
            let copy = tempfile::tempdir().unwrap();
            copy_dir(ws.path(), copy.path());
            (input, copy)
        })
        .collect();
    let cases: Vec<Case> = copies
        .iter()
        .map(|(input, copy)| {
            let mut args = strings(&["fix", "service-accounts", "--write"]);
            args.extend(strings(&input.args));
            Case {
                what: format!("[{}] fix service-accounts --write", input.name),
                cwd: copy.path().join(input.cwd),
                args,
                codes: &[0],
            }
        })
        .collect();
    let outcomes = run_all(&cases);
    assert_no_leak(&outcomes, &own_lines(ws.path()));
    for (input, copy) in &copies {
        let written = new_canaries_on_disk(&before, copy.path());
        assert!(
            written.is_empty(),
            "[{}] fix --write: files gained canaries:\n{}",
            input.name,
            written.join("\n")
        );
        let after = snapshot(copy.path());
        let changed: Vec<&PathBuf> = after
            .iter()
            .filter(|(p, b)| before.get(*p) != Some(*b))
            .map(|(p, _)| p)
            .collect();
        if input.name.starts_with("hcl") {
            assert!(
                changed.iter().any(|p| p.starts_with("infra/envs/prod")),
                "[{}] fix --write changed the prod Terraform: {changed:?}",
                input.name
            );
        }
    }
}

// ---------------------------------------------------------------------------------------------
// Error paths: an input refused right after a canary must not quote it.

/// The commands that read the environments, run on a broken input.
fn error_cases(dir: &Path, what: &str, env_args: &[String]) -> Vec<Case> {
    let mut cases = Vec::new();
    for cmd in [
        vec!["check", "--format", "json"],
        vec!["check", "--format", "sarif"],
        vec!["check", "--format", "text"],
        vec!["inventory"],
        vec!["graph", "--format", "json"],
        vec!["contract", "init", "--output", "-"],
        vec!["fix", "service-accounts"],
    ] {
        let mut args = strings(&cmd);
        args.extend(env_args.iter().cloned());
        cases.push(Case {
            what: format!("{what}: {}", cmd.join(" ")),
            cwd: dir.to_path_buf(),
            args,
            // Not every broken input is refused (a loader skips what it does not read, and
            // keeps a value it cannot evaluate as unknown); those must not print it either.
            codes: &[0, 1, 2],
        });
    }
    cases
}

/// Cuts `text` right after the first occurrence of `needle` and appends `tail`.
fn cut_after(text: &str, needle: &str, tail: &str) -> String {
    let at = text
        .find(needle)
        .unwrap_or_else(|| panic!("`{needle}` in the text"))
        + needle.len();
    format!("{}{tail}", &text[..at])
}

/// A broken input: its name, the `--env` arguments, and whether it must be refused.
struct Broken {
    name: String,
    env_args: Vec<String>,
    refused: bool,
    /// Set when the tool is known to quote the canary today: what is wrong, and where.
    known_leak: Option<&'static str>,
}

/// Leaks this test found in the loaders, now fixed: messages describe a value by its length,
/// and a malformed mark masks. Each case is run by
/// `loader_errors_that_once_quoted_values_no_longer_do`.
const LEAK_HCL_TYPE: &str = "src/load/hcl/types.rs (`a number is required, found {s:?}`), \
     reported by src/load/hcl/mod.rs (`the value does not fit the type of variable`): a \
     variable's value is quoted, even for a `sensitive = true` variable";
const LEAK_HCL_FUNCTION: &str = "src/load/hcl/functions.rs quotes string arguments in its \
     errors (tonumber `{s:?} is not a number`, parseint `cannot parse {text:?}`, lookup \
     `no key {k:?}`); src/load/hcl/instance.rs puts the message into a load note \
     (`could not be evaluated (...)`) that every report prints";
const LEAK_HCL_KEY: &str = "src/load/hcl/eval.rs quotes object keys in errors (`duplicate \
     object key {:?}`, `the map has no element for the key {k:?}`); a key built from a value \
     (`{for k, v in var.x : v => k}`) is that value";
const LEAK_MARKS: &str = "src/load/plan.rs `marked_values` ignores a mark tree that is not \
     an object, array or boolean (only trees containing `true` are parsed, and \
     Value::apply_marks in src/value.rs treats any other shape as `not sensitive`): a \
     malformed `after_sensitive` fails open instead of refusing the plan or masking the whole \
     resource";

fn broken_inputs(p: &Path) -> Vec<Broken> {
    let errors = p.join("errors");
    std::fs::create_dir_all(&errors).unwrap();
    let dev_plan = std::fs::read_to_string(p.join("plans/dev.plan.json")).unwrap();
    let prod_plan = p.join("plans/prod.plan.json").display().to_string();
    let first = format!("\"{CANARY}plan-rc-dev-jualuma-backend-FRONTEND_URL\"");
    assert!(dev_plan.contains(&first), "{first} in the dev plan");
    let open = &first[..first.len() - 1];
    let mut out = Vec::new();

    // Plan JSON refused mid-file.
    let mut plan = |name: &str, bytes: Vec<u8>, refused: bool, known_leak: Option<&'static str>| {
        let f = errors.join(format!("{name}.json"));
        std::fs::write(&f, bytes).unwrap();
        out.push(Broken {
            name: format!("plan {name}"),
            env_args: vec![
                "--env".into(),
                format!("dev={}", f.display()),
                "--env".into(),
                format!("prod={prod_plan}"),
            ],
            refused,
            known_leak,
        });
    };
    plan(
        "truncated",
        cut_after(&dev_plan, &first, "").into(),
        true,
        None,
    );
    plan(
        "garbage-after",
        cut_after(&dev_plan, &first, " ,,} @@").into(),
        true,
        None,
    );
    plan(
        "bad-escape",
        dev_plan.replacen(&first, &format!("{open}\\q\""), 1).into(),
        true,
        None,
    );
    plan(
        "unterminated",
        cut_after(&dev_plan, open, "\n").into(),
        true,
        None,
    );
    plan(
        "control-char",
        dev_plan
            .replacen(&first, &format!("{open}\u{1}\""), 1)
            .into(),
        true,
        None,
    );
    let mut bytes = cut_after(&dev_plan, open, "").into_bytes();
    bytes.extend_from_slice(b"\xff\xfe\"}");
    plan("invalid-utf8", bytes, true, None);
    let shaped = |f: &dyn Fn(&mut Value)| -> Vec<u8> {
        let mut v: Value = serde_json::from_str(&dev_plan).unwrap();
        f(&mut v);
        serde_json::to_vec(&v).unwrap()
    };
    // Well-formed JSON, wrong shapes next to canaries.
    plan(
        "env-value-object",
        shaped(&|v| {
            let backend = v["resource_changes"]
                .as_array_mut()
                .unwrap()
                .iter_mut()
                .find(|r| {
                    r["address"]
                        .as_str()
                        .unwrap()
                        .contains("jualuma-backend\"].google_cloud_run_v2_service.")
                })
                .unwrap();
            backend["change"]["after"]["template"][0]["containers"][0]["env"][1]["value"] =
                json!({ "nested": canary("plan-env-value-object") });
        }),
        false,
        None,
    );
    plan(
        "unknown-action",
        shaped(&|v| {
            v["resource_changes"][0]["change"]["actions"] = json!([canary("plan-actions")])
        }),
        false,
        None,
    );
    plan(
        "bad-mode",
        shaped(&|v| v["resource_changes"][0]["mode"] = json!({ "x": canary("plan-mode") })),
        true,
        None,
    );
    plan(
        "bad-address",
        shaped(&|v| {
            v["resource_changes"][0]["address"] = json!(12);
            v["resource_changes"][0]["change"]["after"]["member"] =
                json!(canary("plan-near-bad-address"));
        }),
        false,
        None,
    );
    plan(
        "bad-index",
        shaped(&|v| v["resource_changes"][0]["index"] = json!({ "k": canary("plan-index") })),
        false,
        None,
    );
    plan(
        "duplicate-address",
        shaped(&|v| {
            let rc = v["resource_changes"][0].clone();
            v["resource_changes"].as_array_mut().unwrap().push(rc);
            v["resource_changes"][0]["change"]["after"]["member"] = json!(canary("plan-duplicate"));
        }),
        false,
        None,
    );
    plan(
        "variables-not-objects",
        shaped(&|v| v["variables"]["db_password"] = json!(canary("plan-variable-shape"))),
        false,
        None,
    );
    plan(
        "marks-not-a-tree",
        shaped(&|v| {
            let rc = v["resource_changes"]
                .as_array_mut()
                .unwrap()
                .iter_mut()
                .find(|r| r["address"] == "google_project_iam_member.backend_cloudsql_client")
                .unwrap();
            rc["change"]["after_sensitive"] = json!("member");
        }),
        false,
        Some(LEAK_MARKS),
    );

    // A plan stream refused after a line holding a canary, and one reporting an error.
    let stream = std::fs::read_to_string(p.join("plans/dev.plan.jsonl")).unwrap();
    let mut streamed = |name: &str, text: String, refused: bool| {
        let f = errors.join(format!("{name}.jsonl"));
        std::fs::write(&f, text).unwrap();
        out.push(Broken {
            name: format!("stream {name}"),
            env_args: vec![
                "--env".into(),
                format!("dev={}", f.display()),
                "--env".into(),
                format!("prod={prod_plan}"),
            ],
            refused,
            known_leak: None,
        });
    };
    streamed(
        "garbage",
        cut_after(
            &stream,
            &canary("stream-dev-snippet-value"),
            "\"}]\n{not json",
        ),
        true,
    );
    let diag = json!({
        "@level": "error", "type": "diagnostic", "@message": "Error: Invalid value",
        "diagnostic": { "severity": "error", "summary": "Invalid value", "detail": "Bad.",
            "snippet": { "code": format!("password = \"{}\"", canary("stream-error-snippet")), "start_line": 1,
                "values": [ { "traversal": "var.x", "statement": format!("is \"{}\"", canary("stream-error-value")) } ] } }
    });
    streamed("error-diagnostic", format!("{stream}{diag}\n"), true);

    // Terraform directories refused (or partly unknown) after a canary.
    let env_value = format!("\"{CANARY}hcl-dev-jualuma-backend-FRONTEND_URL\"");
    let env_open = env_value[..env_value.len() - 1].to_string();
    let mut hcl = |name: &str,
                   file: &str,
                   f: &dyn Fn(String) -> String,
                   refused: bool,
                   known_leak: Option<&'static str>| {
        let dir = errors.join(name);
        copy_dir(&p.join("infra"), &dir);
        let path = dir.join("envs/dev").join(file);
        let text = std::fs::read_to_string(&path).unwrap_or_default();
        let new = f(text.clone());
        assert_ne!(new, text, "{name} changes {file}");
        std::fs::write(&path, new).unwrap();
        out.push(Broken {
            name: format!("hcl {name}"),
            env_args: vec![
                "--env".into(),
                format!("dev={}", dir.join("envs/dev").display()),
                "--env".into(),
                format!("prod={}", dir.join("envs/prod").display()),
            ],
            refused,
            known_leak,
        });
    };
    let in_services = |from: String| {
        let env_value = env_value.clone();
        move |t: String| {
            assert!(t.contains(&env_value));
            t.replacen(&env_value, &from.replace("{}", &env_value), 1)
        }
    };
    hcl(
        "syntax-after-env-value",
        "services.tf",
        &in_services("{} +++ ]".into()),
        true,
        None,
    );
    hcl(
        "unterminated-env-value",
        "services.tf",
        &|t| cut_after(&t, &env_open, "\n"),
        true,
        None,
    );
    hcl(
        "bad-escape-in-env-value",
        "services.tf",
        &|t| t.replacen(&env_value, &format!("{env_open}\\q\""), 1),
        true,
        None,
    );
    hcl(
        "unknown-function-on-a-secret",
        "services.tf",
        &in_services("nosuchfunction({})".into()),
        false,
        None,
    );
    hcl(
        "base64decode-of-a-secret",
        "services.tf",
        &in_services("base64decode({})".into()),
        false,
        None,
    );
    hcl(
        "jsondecode-of-a-secret",
        "services.tf",
        &in_services("jsondecode({})".into()),
        false,
        None,
    );
    hcl(
        "arithmetic-on-a-secret",
        "services.tf",
        &in_services("1 + {}".into()),
        false,
        None,
    );
    hcl(
        "tonumber-of-a-secret",
        "services.tf",
        &in_services("tonumber({})".into()),
        false,
        Some(LEAK_HCL_FUNCTION),
    );
    hcl(
        "tonumber-of-a-sensitive-variable",
        "services.tf",
        &in_services("tonumber(var.db_password)".into()),
        false,
        None,
    );
    hcl(
        "tonumber-of-tfvars",
        "services.tf",
        &in_services("tonumber(var.probe_tfvar)".into()),
        false,
        Some(LEAK_HCL_FUNCTION),
    );
    hcl(
        "parseint-of-a-secret",
        "services.tf",
        &in_services("parseint({}, 10)".into()),
        false,
        Some(LEAK_HCL_FUNCTION),
    );
    hcl(
        "lookup-by-a-secret",
        "services.tf",
        &in_services("lookup({ a = \"b\" }, {})".into()),
        false,
        Some(LEAK_HCL_FUNCTION),
    );
    hcl(
        "index-by-a-secret",
        "services.tf",
        &in_services("{ a = \"b\" }[{}]".into()),
        false,
        Some(LEAK_HCL_KEY),
    );
    hcl(
        "duplicate-key-from-a-secret",
        "services.tf",
        &in_services("jsonencode({ for k in [{}, {}] : k => k })".into()),
        false,
        Some(LEAK_HCL_KEY),
    );
    hcl(
        "tfvars-syntax-after-secret",
        "terraform.tfvars",
        &|t| {
            format!(
                "{t}\nbroken = \"{}\" =+= \n",
                canary("hcl-err-tfvars-syntax")
            )
        },
        true,
        None,
    );
    hcl(
        "tfvars-wrong-type-for-sensitive",
        "terraform.tfvars",
        &|t| {
            t.replace(
                &format!("db_password = \"{}\"", canary("hcl-dev-tfvars-db-password")),
                &format!(
                    "db_password = {{ nested = \"{}\" }}",
                    canary("hcl-err-tfvars-type")
                ),
            )
        },
        false,
        None,
    );
    hcl(
        "sensitive-default-wrong-type",
        "probe.tf",
        &|t| {
            t.replacen(
                "  type      = string\n  sensitive = true\n  default   = ",
                "  type      = number\n  sensitive = true\n  default   = ",
                1,
            )
        },
        false,
        Some(LEAK_HCL_TYPE),
    );
    hcl(
        "auto-tfvars-json-broken",
        "probe.auto.tfvars.json",
        &|_| {
            format!(
                "{{\"probe_auto_tfvar\": \"{}\", oops}}",
                canary("hcl-err-tfvars-json")
            )
        },
        true,
        None,
    );
    hcl(
        "tf-json-broken",
        "probe2.tf.json",
        &|_| {
            format!(
                "{{\"locals\": {{\"probe_json\": \"{}\"}} , ]",
                canary("hcl-err-tf-json")
            )
        },
        true,
        None,
    );
    out
}

fn run_broken(broken: &[Broken], dir: &Path) -> Vec<Outcome> {
    let cases: Vec<Case> = broken
        .iter()
        .flat_map(|b| error_cases(dir, &b.name, &b.env_args))
        .collect();
    run_all(&cases)
}

#[test]
fn refused_inputs_do_not_quote_the_canary() {
    let ws = Workspace::new(false);
    let broken: Vec<Broken> = broken_inputs(ws.path())
        .into_iter()
        .filter(|b| b.known_leak.is_none())
        .collect();
    assert!(broken.len() >= 20, "{} broken inputs", broken.len());
    let outcomes = run_broken(&broken, ws.path());
    assert_no_leak(&outcomes, &own_lines(ws.path()));
    for b in &broken {
        for o in outcomes
            .iter()
            .filter(|o| o.case.what.starts_with(&format!("{}: ", b.name)))
        {
            if b.refused {
                assert_eq!(
                    o.code,
                    Some(2),
                    "{} is refused\nstdout: {}\nstderr: {}",
                    o.case.what,
                    o.stdout,
                    o.stderr
                );
            }
            if o.code == Some(2) {
                assert!(
                    !o.stderr.trim().is_empty(),
                    "{}: a refusal says why",
                    o.case.what
                );
            }
        }
    }
}

/// The loaders' former leaks (see the constants above) stay fixed.
#[test]
fn loader_errors_that_once_quoted_values_no_longer_do() {
    let ws = Workspace::new(false);
    let broken: Vec<Broken> = broken_inputs(ws.path())
        .into_iter()
        .filter(|b| b.known_leak.is_some())
        .collect();
    let outcomes = run_broken(&broken, ws.path());
    for b in &broken {
        eprintln!("{}: {}", b.name, b.known_leak.unwrap());
    }
    assert_no_leak(&outcomes, &own_lines(ws.path()));
}

#[test]
fn the_canary_detector_finds_identifiers_and_cut_tokens() {
    assert_eq!(
        canaries_in("a CANARY-7f3a9c-x.y b canary_7f3a9c_node c"),
        ["CANARY-7f3a9c-x.y", "canary_7f3a9c_node"]
    );
    assert!(canaries_in("CANARY-7f3").is_empty());
    assert_eq!(canaries_in("\"CANARY-7f3a9c\""), ["CANARY-7f3a9c"]);
}
