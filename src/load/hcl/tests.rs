//! Tests of the static evaluator on small hand-written configurations.

use std::path::Path;

use super::{HclOptions, load_dir};
use crate::inventory::{Inventory, Resource};
use crate::value::{Lookup, Value};

fn write(dir: &Path, files: &[(&str, &str)]) {
    for (name, text) in files {
        let p = dir.join(name);
        std::fs::create_dir_all(p.parent().unwrap()).unwrap();
        std::fs::write(p, text).unwrap();
    }
}

fn load_with(
    files: &[(&str, &str)],
    opts: HclOptions,
) -> (tempfile::TempDir, crate::error::Result<Inventory>) {
    let dir = tempfile::tempdir().unwrap();
    write(dir.path(), files);
    let inv = load_dir(dir.path(), &opts);
    (dir, inv)
}

fn load(files: &[(&str, &str)]) -> Inventory {
    let (_d, inv) = load_with(files, HclOptions::default());
    inv.unwrap()
}

fn resource<'a>(inv: &'a Inventory, address: &str) -> &'a Resource {
    inv.resources
        .iter()
        .find(|r| r.address == address)
        .unwrap_or_else(|| {
            panic!(
                "no {address} in {:?}",
                inv.resources.iter().map(|r| &r.address).collect::<Vec<_>>()
            )
        })
}

fn s(v: &str) -> Value {
    Value::String(v.into())
}

const SERVICE: &str = r#"
resource "google_cloud_run_v2_service" "svc" {
  name     = var.name
  location = "us-central1"
  template {
    containers {
      image = "img"
    }
  }
}
"#;

#[test]
fn variables_follow_terraforms_precedence() {
    let files = [
        ("main.tf", SERVICE),
        (
            "variables.tf",
            "variable \"name\" {\n  default = \"from-default\"\n}\n",
        ),
    ];
    let name_of = |extra: &[(&str, &str)], env: Option<&str>, var_files: &[&str]| {
        let dir = tempfile::tempdir().unwrap();
        write(dir.path(), &files);
        write(dir.path(), extra);
        let mut opts = HclOptions::default();
        if let Some(e) = env {
            opts.env_vars.insert("name".into(), e.into());
        }
        opts.var_files = var_files.iter().map(|f| dir.path().join(f)).collect();
        let inv = load_dir(dir.path(), &opts).unwrap();
        resource(&inv, "google_cloud_run_v2_service.svc")
            .values
            .get("name")
            .cloned()
    };
    assert_eq!(name_of(&[], None, &[]), Some(s("from-default")));
    assert_eq!(name_of(&[], Some("from-env"), &[]), Some(s("from-env")));
    let tfvars = ("terraform.tfvars", "name = \"from-tfvars\"\n");
    assert_eq!(
        name_of(&[tfvars], Some("from-env"), &[]),
        Some(s("from-tfvars"))
    );
    let autos = [
        tfvars,
        ("b.auto.tfvars", "name = \"from-b-auto\"\n"),
        ("a.auto.tfvars", "name = \"from-a-auto\"\n"),
    ];
    assert_eq!(
        name_of(&autos, Some("from-env"), &[]),
        Some(s("from-b-auto")),
        "auto files apply in lexical order"
    );
    let with_files = [
        autos[0],
        autos[1],
        autos[2],
        ("one.tfvars", "name = \"from-one\"\n"),
        ("two.tfvars", "name = \"from-two\"\n"),
    ];
    assert_eq!(
        name_of(&with_files, None, &["two.tfvars", "one.tfvars"]),
        Some(s("from-one")),
        "var files apply in the order given"
    );
}

#[test]
fn a_variable_without_a_value_is_unknown() {
    let inv = load(&[
        ("main.tf", SERVICE),
        ("variables.tf", "variable \"name\" {\n  type = string\n}\n"),
    ]);
    let r = resource(&inv, "google_cloud_run_v2_service.svc");
    assert_eq!(r.values.at("name"), Lookup::Unknown);
}

#[test]
fn types_convert_and_optional_attributes_take_defaults() {
    let inv = load(&[(
        "main.tf",
        r#"
variable "services" {
  type = map(object({
    memory = optional(string, "512Mi")
    port   = optional(string)
    min    = optional(number, 0)
  }))
  default = {
    api = { port = 8080 }
  }
}
resource "google_cloud_run_v2_service" "svc" {
  for_each = var.services
  name     = each.key
  location = "us-central1"
  template {
    containers {
      image = "img"
      resources {
        limits = { memory = each.value.memory }
      }
      ports {
        container_port = each.value.port
      }
    }
    scaling {
      min_instance_count = each.value.min
    }
  }
}
"#,
    )]);
    let r = resource(&inv, "google_cloud_run_v2_service.svc[\"api\"]");
    assert_eq!(
        r.values.at("template.containers.resources.limits.memory"),
        Lookup::Set(&s("512Mi"))
    );
    assert_eq!(
        r.values.at("template.containers.ports.container_port"),
        Lookup::Set(&s("8080"))
    );
    assert_eq!(
        r.values.at("template.scaling.min_instance_count"),
        Lookup::Set(&Value::Number(0.0))
    );
}

#[test]
fn a_failing_validation_is_an_error_at_the_variable() {
    let (_d, r) = load_with(
        &[
            ("main.tf", SERVICE),
            (
                "variables.tf",
                "variable \"name\" {\n  default = \"Bad Name\"\n  validation {\n    condition     = can(regex(\"^[a-z-]+$\", var.name)) && lower(var.name) == var.name\n    error_message = \"The name must be lower case.\"\n  }\n}\n",
            ),
        ],
        HclOptions::default(),
    );
    let e = r.unwrap_err().to_string();
    assert!(e.contains("variables.tf:3:3"), "{e}");
    assert!(
        e.contains("invalid value for variable `name`: The name must be lower case."),
        "{e}"
    );
}

#[test]
fn locals_resolve_in_any_order_and_a_cycle_is_an_error() {
    let inv = load(&[(
        "main.tf",
        r#"
locals {
  full = "${local.prefix}-${local.base}"
  prefix = upper(local.base)
  base = "api"
}
resource "google_cloud_run_v2_service" "svc" {
  name     = local.full
  location = "us-central1"
  template {
    containers { image = "img" }
  }
}
"#,
    )]);
    assert_eq!(
        resource(&inv, "google_cloud_run_v2_service.svc")
            .values
            .get("name"),
        Some(&s("API-api"))
    );

    let (_d, r) = load_with(
        &[
            (
                "main.tf",
                "locals {\n  a = local.b\n  b = \"${local.c}-x\"\n  c = local.a\n}\n",
            ),
            ("x.tf", SERVICE),
        ],
        HclOptions::default(),
    );
    let e = r.unwrap_err().to_string();
    assert!(e.contains("main.tf:2:3"), "{e}");
    assert!(e.contains("local.a → local.b → local.c → local.a"), "{e}");

    // A module's locals are checked once, by its first instance; a cycle still stops the
    // evaluation, whichever instance comes first.
    let (_d, r) = load_with(
        &[
            (
                "main.tf",
                "module \"m\" {\n  for_each = toset([\"a\", \"b\", \"c\"])\n  source   = \"./m\"\n}\n",
            ),
            ("m/main.tf", "locals {\n  a = local.b\n  b = local.a\n}\n"),
        ],
        HclOptions::default(),
    );
    let e = r.unwrap_err().to_string();
    assert!(e.contains("main.tf:2:3"), "{e}");
    assert!(e.contains("local.a → local.b → local.a"), "{e}");
}

const MODULE: &str = r#"
variable "name" {
  type = string
}
variable "replicas" {
  type    = number
  default = 1
}
variable "env" {
  type    = map(string)
  default = {}
}
variable "service_account" {
  type    = string
  default = null
}
resource "google_cloud_run_v2_service" "this" {
  count    = var.replicas
  name     = "${var.name}-${count.index}"
  location = "us-central1"
  template {
    service_account = var.service_account
    containers {
      image = "img"
      dynamic "env" {
        for_each = var.env
        content {
          name  = env.key
          value = env.value
        }
      }
    }
  }
}
output "names" {
  value = google_cloud_run_v2_service.this[*].name
}
"#;

#[test]
fn modules_expand_with_terraforms_addresses_and_feed_outputs_back() {
    let inv = load(&[
        ("modules/svc/main.tf", MODULE),
        (
            "main.tf",
            r#"
provider "google" {
  project = "proj-1"
  region  = "europe-west1"
}
module "svc" {
  for_each = toset(["api", "web"])
  source   = "./modules/svc"
  name     = each.key
  replicas = each.key == "api" ? 2 : 1
  env      = { LOG_LEVEL = "info", NAME = each.key }
}
resource "google_vpc_access_connector" "main" {
  name          = join("-", module.svc["api"].names)
  ip_cidr_range = "10.8.0.0/28"
  network       = "default"
}
"#,
        ),
    ]);
    let api1 = resource(
        &inv,
        "module.svc[\"api\"].google_cloud_run_v2_service.this[1]",
    );
    assert_eq!(api1.values.get("name"), Some(&s("api-1")));
    assert_eq!(api1.module, "module.svc[\"api\"]");
    assert_eq!(
        api1.values.get("project"),
        Some(&s("proj-1")),
        "the provider's project fills resources that omit it"
    );
    let env = api1.values.at("template.containers.env");
    let Lookup::Set(Value::List(env)) = env else {
        panic!("{env:?}")
    };
    let keys: Vec<_> = env
        .iter()
        .map(|e| e.get("name").cloned().unwrap())
        .collect();
    assert_eq!(keys, vec![s("LOG_LEVEL"), s("NAME")]);
    assert!(
        inv.resources
            .iter()
            .any(|r| r.address == "module.svc[\"web\"].google_cloud_run_v2_service.this[0]")
    );
    assert!(
        !inv.resources
            .iter()
            .any(|r| r.address == "module.svc[\"web\"].google_cloud_run_v2_service.this[1]")
    );
    let conn = resource(&inv, "google_vpc_access_connector.main");
    assert_eq!(
        conn.values.get("name"),
        Some(&s("api-0-api-1")),
        "module outputs feed the caller"
    );
    assert_eq!(conn.values.get("region"), Some(&s("europe-west1")));
    // An unset optional variable leaves the attribute unwritten.
    assert_eq!(api1.values.at("template.service_account"), Lookup::Unset);
    // Attributes set from a module variable point at the module call that sets it.
    let span = api1.span_of("template.service_account");
    assert!(span.unwrap().file.ends_with("main.tf"));
}

#[test]
fn unknowns_propagate_and_keep_their_origin() {
    let inv = load(&[(
        "main.tf",
        r#"
resource "google_service_account" "run" {
  account_id = "cr-api"
  project    = "proj-1"
}
resource "google_sql_database_instance" "db" {
  name             = "db"
  database_version = "POSTGRES_15"
}
data "google_project" "p" {}
resource "google_cloud_run_v2_service" "svc" {
  name     = "api-${data.google_project.p.number}"
  location = "us-central1"
  ingress  = try(local.missing, "INGRESS_TRAFFIC_ALL")
  template {
    service_account = google_service_account.run.email
    volumes {
      name = "sql"
      cloud_sql_instance {
        instances = [google_sql_database_instance.db.connection_name]
      }
    }
    containers {
      image = "img"
      env {
        name  = "TOKEN_HASH"
        value = sha256("x")
      }
    }
  }
}
"#,
    )]);
    let svc = resource(&inv, "google_cloud_run_v2_service.svc");
    assert_eq!(
        svc.values.at("name"),
        Lookup::Unknown,
        "data sources are unknown"
    );
    assert_eq!(
        svc.values.at("template.service_account"),
        Lookup::Set(&s("cr-api@proj-1.iam.gserviceaccount.com")),
        "the provider derives the email at plan time"
    );
    assert_eq!(
        svc.values.at("ingress"),
        Lookup::Set(&s("INGRESS_TRAFFIC_ALL")),
        "try() falls back"
    );
    let instances = svc
        .values
        .at("template.volumes.cloud_sql_instance.instances");
    let Lookup::Set(Value::List(items)) = instances else {
        panic!("{instances:?}")
    };
    assert_eq!(
        items[0].origin(),
        Some("google_sql_database_instance.db.connection_name")
    );
    let config = svc.config.as_ref().unwrap();
    assert_eq!(
        config.expr("template.service_account").unwrap().references,
        vec!["google_service_account.run.email"]
    );
}

#[test]
fn conditionals_for_expressions_splats_and_templates() {
    let inv = load(&[(
        "main.tf",
        r#"
locals {
  envs   = { A = "1", B = "2" }
  pairs  = [for k, v in local.envs : "${k}=${v}" if k != "B"]
  names  = [{ n = "x" }, { n = "y" }][*].n
  banner = <<EOT
%{ for n in local.names ~}
${n};
%{ endfor ~}
EOT
}
resource "google_cloud_run_v2_service" "svc" {
  name        = length(local.pairs) == 1 ? local.pairs[0] : "many"
  location    = "us-central1"
  description = trimspace(local.banner)
  labels      = { for n in local.names : n => upper(n) }
  template {
    containers { image = format("%s:%s", "img", terraform.workspace) }
  }
}
"#,
    )]);
    let svc = resource(&inv, "google_cloud_run_v2_service.svc");
    assert_eq!(svc.values.get("name"), Some(&s("A=1")));
    assert_eq!(svc.values.get("description"), Some(&s("x;\ny;")));
    assert_eq!(
        svc.values.get("labels"),
        Some(&Value::Map(crate::value::Map::from([
            ("x", s("X")),
            ("y", s("Y"))
        ])))
    );
    assert_eq!(
        svc.values.at("template.containers.image"),
        Lookup::Set(&s("img:default"))
    );
}

#[test]
fn sensitive_variables_never_reach_values() {
    let inv = load(&[(
        "main.tf",
        r#"
variable "token" {
  default   = "hunter2-canary"
  sensitive = true
}
resource "google_cloud_run_v2_service" "svc" {
  name     = "api"
  location = "us-central1"
  template {
    containers {
      image = "img"
      env {
        name  = "TOKEN"
        value = var.token
      }
    }
  }
}
"#,
    )]);
    let dump = format!("{:?}", inv);
    assert!(
        !dump.contains("hunter2-canary"),
        "a sensitive value leaked: {dump}"
    );
}

#[test]
fn registry_modules_are_read_when_installed_and_noted_when_not() {
    let main = "module \"run\" {\n  source = \"GoogleCloudPlatform/cloud-run/google\"\n  name   = \"api\"\n}\n";
    let inv = load(&[("main.tf", main)]);
    assert!(inv.resources.is_empty());
    assert!(
        inv.notes
            .iter()
            .any(|n| n.message.contains("module `run`") && n.message.contains("could not be read")),
        "{:?}",
        inv.notes
    );
    let installed = load(&[
        ("main.tf", main),
        (".terraform/modules/run/main.tf", MODULE),
        (
            ".terraform/modules/modules.json",
            r#"{"Modules":[{"Key":"","Source":"","Dir":"."},{"Key":"run","Source":"registry.terraform.io/GoogleCloudPlatform/cloud-run/google","Dir":".terraform/modules/run"}]}"#,
        ),
    ]);
    assert!(
        installed
            .resources
            .iter()
            .any(|r| r.address == "module.run.google_cloud_run_v2_service.this[0]")
    );
}

#[test]
fn a_module_source_cycle_is_an_error() {
    let (d, r) = load_with(
        &[
            ("main.tf", "module \"a\" {\n  source = \"./a\"\n}\n"),
            ("a/main.tf", "module \"b\" {\n  source = \"../b\"\n}\n"),
            ("b/main.tf", "module \"a\" {\n  source = \"../a\"\n}\n"),
        ],
        HclOptions::default(),
    );
    let e = r.unwrap_err().to_string();
    // Placed at the call closing the cycle, with no directory before it.
    let at = format!("{}:1:1: ", d.path().join("b/main.tf").display());
    assert!(e.starts_with(&at), "{e}");
    assert!(e.contains("module source cycle: . → a → b → a"), "{e}");
}

#[test]
fn a_missing_module_source_is_an_error_at_the_call() {
    let (d, r) = load_with(
        &[("main.tf", "\nmodule \"x\" {\n  source = \"./nowhere\"\n}\n")],
        HclOptions::default(),
    );
    let e = r.unwrap_err().to_string();
    let at = format!("{}:2:1: module `x`", d.path().join("main.tf").display());
    assert!(e.starts_with(&at), "{e}");
    assert!(e.contains("\"./nowhere\" cannot be read"), "{e}");
}

#[test]
fn parse_errors_name_file_and_line() {
    let (_d, r) = load_with(
        &[("main.tf", "resource \"x\" \"y\" {\n  a = \n}\n")],
        HclOptions::default(),
    );
    let e = r.unwrap_err().to_string();
    assert!(e.contains("main.tf:2:"), "{e}");
}

#[test]
fn huge_for_each_is_bounded() {
    let (_d, r) = load_with(
        &[(
            "main.tf",
            "resource \"google_service_account\" \"sa\" {\n  count      = 1000000\n  account_id = \"sa-${count.index}\"\n}\n",
        )],
        HclOptions::default(),
    );
    let e = r.unwrap_err().to_string();
    assert!(e.contains("main.tf:1:1"), "{e}");
    assert!(e.contains("expands to 1000000 instances"), "{e}");
}

/// References are read in place (only what a path leads to is copied), but the steps and their
/// index expressions are still taken in order: the first step that fails is the one reported,
/// and an index after it is never evaluated.
#[test]
fn reference_steps_are_taken_in_order() {
    let inv = load(&[(
        "main.tf",
        r#"
variable "names" {
  default = { a = "svc-a" }
}
locals {
  m   = { a = { name = "x" } }
  bad = 1 / 0
}
resource "google_service_account" "sa" {
  for_each   = toset(["a", "b"])
  account_id = "sa-${each.key}"
  project    = "p"
}
resource "google_cloud_run_v2_service" "svc" {
  name     = var.names["a"]
  location = local.m.b[var.nope]
  ingress  = local.m.a.name
  template {
    service_account = google_service_account.sa["b"].email
    containers {
      image = local.m.a.missing[local.bad]
    }
  }
}
"#,
    )]);
    let svc = resource(&inv, "google_cloud_run_v2_service.svc");
    assert_eq!(svc.values.get("name"), Some(&s("svc-a")));
    assert_eq!(svc.values.get("ingress"), Some(&s("x")));
    assert_eq!(
        svc.values
            .lookup(&["template".into(), 0.into(), "service_account".into()]),
        Lookup::Set(&s("sa-b@p.iam.gserviceaccount.com"))
    );
    let notes: Vec<&str> = inv.notes.iter().map(|n| n.message.as_str()).collect();
    assert!(
        notes
            .iter()
            .any(|n| n.contains("`location`") && n.contains("no attribute `b`")),
        "{notes:?}"
    );
    assert!(!notes.iter().any(|n| n.contains("var.nope")), "{notes:?}");
    assert!(
        !notes.iter().any(|n| n.contains("local.bad")),
        "an index after a failed step was evaluated: {notes:?}"
    );
}

#[test]
fn references_see_what_a_resource_does_not_set_as_unknown_from_its_place() {
    let inv = load(&[(
        "main.tf",
        r#"
resource "google_cloud_run_v2_service" "svc" {
  name   = "svc"
  labels = { team = "a" }
  template {
    containers {
      image = "img"
    }
  }
}
resource "google_service_account" "each" {
  for_each   = toset(["a"])
  account_id = each.key
}
resource "google_service_account" "counted" {
  count      = 1
  account_id = "c${count.index}"
}
locals { whole = google_cloud_run_v2_service.svc }
resource "google_cloud_run_v2_service" "reader" {
  name = "reader"
  labels = {
    attribute = google_cloud_run_v2_service.svc.uri
    nested    = google_cloud_run_v2_service.svc.template[0].containers[0].name
    via_local = local.whole.template[0].revision
    deeper    = local.whole.template[0].containers[0].working_dir
    for_each  = google_service_account.each["a"].unique_id
    count     = google_service_account.counted[0].unique_id
    iterated  = [for sa in google_service_account.each : sa.unique_id][0]
    absent    = google_cloud_run_v2_service.svc.labels["nope"]
    set       = local.whole.labels.team
  }
}
"#,
    )]);
    let reader = resource(&inv, "google_cloud_run_v2_service.reader");
    let label = |name: &str| match reader.values.get("labels") {
        Some(Value::Map(m)) => m.get(name).cloned(),
        other => panic!("labels: {other:?}"),
    };
    let origin = |name: &str| label(name).and_then(|v| v.origin().map(str::to_string));
    let svc = "google_cloud_run_v2_service.svc";
    assert_eq!(origin("attribute"), Some(format!("{svc}.uri")));
    assert_eq!(
        origin("nested"),
        Some(format!("{svc}.template[0].containers[0].name"))
    );
    assert_eq!(
        origin("via_local"),
        Some(format!("{svc}.template[0].revision"))
    );
    assert_eq!(
        origin("deeper"),
        Some(format!("{svc}.template[0].containers[0].working_dir"))
    );
    assert_eq!(
        origin("for_each").as_deref(),
        Some(r#"google_service_account.each["a"].unique_id"#)
    );
    assert_eq!(
        origin("count").as_deref(),
        Some("google_service_account.counted[0].unique_id")
    );
    assert_eq!(
        origin("iterated").as_deref(),
        Some(r#"google_service_account.each["a"].unique_id"#)
    );
    assert_eq!(label("absent"), Some(Value::Unknown));
    assert_eq!(label("set"), Some(s("a")));
    assert!(inv.notes.is_empty(), "{:?}", inv.notes);
    // What references saw marked stays unmarked in the inventory.
    for r in &inv.resources {
        let text = format!("{:?}", r.values);
        assert!(!text.contains(super::eval::RESOURCE_MARKER), "{text}");
    }
}
