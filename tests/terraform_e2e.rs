//! Real Terraform, end to end, against the fake google provider (`fake-google-provider/`):
//!
//! 1. the committed plan fixtures are what `fixtures/regenerate.sh` makes today (but for
//!    timestamps and the Terraform version);
//! 2. differential: for `infra/envs/*` and every configuration under `fixtures/differential/`,
//!    the static HCL evaluator's inventory and model equal those of Terraform's own plan;
//! 3. a binary plan file (`terraform plan -out`) is a source, converted through
//!    `terraform show -json`.
//!
//! They need `terraform` on PATH and `protoc` (to build the provider). Without either, each
//! test prints why it is skipped and passes; it never skips silently.

use std::collections::BTreeSet;
use std::path::{Path, PathBuf};
use std::process::{Command, Output, Stdio};
use std::sync::OnceLock;
use std::time::Instant;

use serde_json::Value;
use tfparity::graph::ResourceGraph;
use tfparity::inventory::{Inventory, Mode};
use tfparity::load::hcl::{HclOptions, load_dir};

const PROVIDER_VERSION: &str = "7.45.0";
/// The example's project numbers (infra/README.md), as fixtures/regenerate.sh passes them.
const PROJECT_NUMBERS: &str = "jualuma-dev=412345678901,jualuma-prod=598765432109";

/// Prints past the test harness's output capture, so that a skip or a timing shows in every
/// run's log, not only in failing ones.
fn say(msg: &str) {
    use std::io::Write;
    let _ = writeln!(std::io::stderr(), "terraform_e2e: {msg}");
}

fn root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

/// Terraform with the fake provider in a filesystem mirror.
struct Harness {
    cli_config: PathBuf,
}

fn available(program: &str, arg: &str) -> bool {
    Command::new(program)
        .stdin(Stdio::null())
        .arg(arg)
        .output()
        .is_ok_and(|o| o.status.success())
}

/// The harness, or why these tests cannot run here.
fn harness() -> Result<&'static Harness, &'static str> {
    static H: OnceLock<Result<Harness, String>> = OnceLock::new();
    H.get_or_init(build_harness)
        .as_ref()
        .map_err(String::as_str)
}

fn build_harness() -> Result<Harness, String> {
    if !available("terraform", "version") {
        return Err("terraform not on PATH".into());
    }
    let protoc = std::env::var_os("PROTOC").is_some_and(|p| Path::new(&p).exists())
        || available("protoc", "--version");
    if !protoc {
        return Err(
            "protoc not available to build the fake google provider (apt-get install protobuf-compiler)"
                .into(),
        );
    }
    let start = Instant::now();
    let manifest = root().join("fake-google-provider/Cargo.toml");
    let target = root().join("fake-google-provider/target");
    let cargo = std::env::var("CARGO").unwrap_or_else(|_| "cargo".into());
    let out = Command::new(cargo)
        .stdin(Stdio::null())
        .args(["build", "--quiet", "--manifest-path"])
        .arg(&manifest)
        .arg("--target-dir")
        .arg(&target)
        .output()
        .map_err(|e| format!("cargo could not run: {e}"))?;
    assert!(
        out.status.success(),
        "the fake google provider does not build:\n{}",
        String::from_utf8_lossy(&out.stderr)
    );
    say(&format!(
        "fake google provider built in {:.1}s",
        start.elapsed().as_secs_f64()
    ));
    let binary = target.join("debug/terraform-provider-google");
    // The mirror lives beside the provider's build, at a fixed path: a temporary directory held
    // in a static is never dropped, so each run would leave a copy of the provider behind.
    let dir = target.join("terraform-mirror");
    let version = Command::new("terraform")
        .stdin(Stdio::null())
        .args(["version", "-json"])
        .env("TF_CLI_CONFIG_FILE", "/dev/null")
        .output()
        .unwrap();
    let version: Value = serde_json::from_slice(&version.stdout).unwrap();
    let platform = version["platform"].as_str().unwrap();
    let mirror = dir.join("mirror");
    let pkg = mirror.join(format!(
        "registry.terraform.io/hashicorp/google/{PROVIDER_VERSION}/{platform}"
    ));
    std::fs::create_dir_all(&pkg).unwrap();
    // Copied outside the package directory (which Terraform reads whole) and renamed into
    // place, so that a concurrent run never sees half a binary or a stray file.
    let installed = pkg.join(format!("terraform-provider-google_v{PROVIDER_VERSION}"));
    let partial = dir.join(format!("provider.partial-{}", std::process::id()));
    if let Err(e) = std::fs::copy(&binary, &partial) {
        let _ = std::fs::remove_file(&partial);
        panic!("cannot install the fake provider in {}: {e}", dir.display());
    }
    std::fs::rename(&partial, &installed).unwrap();
    let cli_config = dir.join("terraformrc");
    let partial = dir.join(format!("terraformrc.partial-{}", std::process::id()));
    std::fs::write(
        &partial,
        format!(
            "provider_installation {{\n  filesystem_mirror {{\n    path    = {:?}\n    include = [\"registry.terraform.io/hashicorp/google\"]\n  }}\n}}\n",
            mirror.display().to_string()
        ),
    )
    .unwrap();
    std::fs::rename(&partial, &cli_config).unwrap();
    Ok(Harness { cli_config })
}

/// Runs a test body with the harness, or says why it is skipped.
macro_rules! with_terraform {
    ($h:ident, $body:block) => {
        match harness() {
            Ok($h) => $body,
            Err(why) => {
                say(&format!("skipped: {why}"));
                return;
            }
        }
    };
}

impl Harness {
    fn terraform(&self, dir: &Path, args: &[&str]) -> Output {
        let out = Command::new("terraform")
            .stdin(Stdio::null())
            .args(args)
            .current_dir(dir)
            .env("TF_CLI_CONFIG_FILE", &self.cli_config)
            .env("TF_IN_AUTOMATION", "1")
            .env("CHECKPOINT_DISABLE", "1")
            .env("TF_INPUT", "0")
            .env("FAKE_GOOGLE_PROJECT_NUMBERS", PROJECT_NUMBERS)
            .env_remove("TF_DATA_DIR")
            .env_remove("TF_WORKSPACE")
            .env_remove("TF_CLI_ARGS")
            .env_remove("TF_CLI_ARGS_plan")
            .env_remove("TF_CLI_ARGS_init")
            .output()
            .unwrap();
        assert!(
            out.status.success(),
            "terraform {args:?} in {} failed:\n{}\n{}",
            dir.display(),
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        );
        out
    }

    /// Copies `tree` to a temporary directory, then runs `terraform init` and
    /// `plan -out tfplan` in its `sub` directory (with a local backend). Returns the copy and
    /// the directory planned in.
    fn plan(&self, tree: &Path, sub: &str) -> (tempfile::TempDir, PathBuf) {
        let copy = tempfile::tempdir().unwrap();
        copy_tree(tree, copy.path());
        let dir = copy.path().join(sub);
        std::fs::write(
            dir.join("backend_override.tf"),
            "terraform {\n  backend \"local\" {}\n}\n",
        )
        .unwrap();
        self.terraform(&dir, &["init", "-input=false", "-no-color"]);
        self.terraform(
            &dir,
            &[
                "plan",
                "-input=false",
                "-no-color",
                "-lock=false",
                "-out=tfplan",
            ],
        );
        (copy, dir)
    }

    /// `terraform show -json` of the plan in `dir`.
    fn show(&self, dir: &Path) -> Vec<u8> {
        self.terraform(dir, &["show", "-json", "tfplan"]).stdout
    }
}

fn copy_tree(from: &Path, to: &Path) {
    std::fs::create_dir_all(to).unwrap();
    for entry in std::fs::read_dir(from).unwrap() {
        let entry = entry.unwrap();
        let name = entry.file_name();
        if name == ".terraform" || name == ".terraform.lock.hcl" || name == "tfplan" {
            continue;
        }
        let target = to.join(&name);
        if entry.file_type().unwrap().is_dir() {
            copy_tree(&entry.path(), &target);
        } else {
            std::fs::copy(entry.path(), target).unwrap();
        }
    }
}

// ---- 1. The committed fixtures are Terraform's own output. ----

/// A plan without what changes from run to run: when it was made, and by which Terraform.
fn normalise_plan(text: &[u8]) -> Value {
    let mut v: Value = serde_json::from_slice(text).unwrap();
    let m = v.as_object_mut().unwrap();
    m.remove("timestamp");
    m.remove("terraform_version");
    // Terraform lists relevant attributes in the order its concurrent walk met them.
    if let Some(Value::Array(a)) = m.get_mut("relevant_attributes") {
        a.sort_by_key(|x| x.to_string());
    }
    v
}

/// A `plan -json` stream as a sorted list of messages without timestamps and the Terraform
/// version (the order of `planned_change` messages follows Terraform's concurrent walk).
fn normalise_stream(text: &[u8]) -> Vec<String> {
    let mut lines: Vec<String> = String::from_utf8_lossy(text)
        .lines()
        .filter(|l| !l.trim().is_empty())
        .map(|l| {
            let mut v: Value = serde_json::from_str(l).unwrap();
            let m = v.as_object_mut().unwrap();
            m.remove("@timestamp");
            if m.get("type").and_then(Value::as_str) == Some("version") {
                m.remove("terraform");
                m.remove("@message");
            }
            // A data source's refresh says how long it took ("after 1s"): timing, not content.
            if let Some(hook) = m.get_mut("hook").and_then(Value::as_object_mut) {
                hook.remove("elapsed_seconds");
            }
            if let Some(Value::String(msg)) = m.get_mut("@message")
                && let Some(at) = msg.rfind(" after ")
                && msg[at + 7..].split(' ').next().is_some_and(|t| {
                    t.ends_with('s') && t[..t.len() - 1].chars().all(|c| c.is_ascii_digit())
                })
            {
                let rest = msg[at + 7..].split_once(' ').map(|(_, r)| r.to_string());
                msg.truncate(at);
                if let Some(rest) = rest {
                    msg.push(' ');
                    msg.push_str(&rest);
                }
            }
            v.to_string()
        })
        .collect();
    lines.sort();
    lines
}

#[test]
fn committed_fixtures_equal_a_fresh_regeneration() {
    with_terraform!(_h, {
        let out = tempfile::tempdir().unwrap();
        let start = Instant::now();
        let run = Command::new("bash")
            .stdin(Stdio::null())
            .arg(root().join("fixtures/regenerate.sh"))
            .arg("--out")
            .arg(out.path())
            .output()
            .unwrap();
        assert!(
            run.status.success(),
            "fixtures/regenerate.sh failed:\n{}",
            String::from_utf8_lossy(&run.stderr)
        );
        say(&format!(
            "fixtures regenerated in {:.1}s",
            start.elapsed().as_secs_f64()
        ));
        let committed = root().join("fixtures/plans");
        for env in ["dev", "prod"] {
            let file = format!("{env}.plan.json");
            let fresh = std::fs::read(out.path().join(&file)).unwrap();
            let have = std::fs::read(committed.join(&file)).unwrap();
            assert!(
                normalise_plan(&fresh) == normalise_plan(&have),
                "fixtures/plans/{file} differs from what fixtures/regenerate.sh makes now: run it and commit the result"
            );
            let file = format!("{env}.plan.jsonl");
            let fresh = std::fs::read(out.path().join(&file)).unwrap();
            let have = std::fs::read(committed.join(&file)).unwrap();
            assert_eq!(
                normalise_stream(&fresh),
                normalise_stream(&have),
                "fixtures/plans/{file} differs from what fixtures/regenerate.sh makes now"
            );
        }
    });
}

// ---- 2. Differential: the HCL evaluator against Terraform's plan. ----

/// The model of an inventory as JSON, without what only a plan has: the planned action.
fn model_json(env: &str, inv: &Inventory) -> Value {
    let graph = ResourceGraph::build(inv);
    let model = tfparity::model::build(env, &graph);
    let mut services = serde_json::to_value(&model.services).unwrap();
    for s in services.as_array_mut().unwrap() {
        let m = s.as_object_mut().unwrap();
        m.remove("action");
        // The email of a default account read from a data source is the API's answer, which
        // a static evaluation cannot know; that it is the default account, it can.
        if let Some(sa) = m.get_mut("service_account")
            && sa["value"]["kind"]
                .as_str()
                .is_some_and(|k| k.starts_with("default"))
        {
            sa["value"]["email"] = Value::Null;
        }
    }
    services
}

fn managed_addresses(inv: &Inventory) -> BTreeSet<String> {
    inv.resources
        .iter()
        .filter(|r| r.mode == Mode::Managed)
        .map(|r| r.address.clone())
        .collect()
}

/// Whether a model field is one Terraform's plan leaves unknown while the HCL evaluator
/// decides it (`{"source": "unknown"}` in the plan, set or defaulted statically). That is no
/// disagreement: a plan cannot show a value the configuration decides as null (or as a value
/// the plan JSON's configuration section hides, behind locals and `each.value`) when the
/// provider computes the attribute, so it says "known after apply". The reverse, or two
/// different known values, is a disagreement.
fn decided_statically(hcl: &Value, plan: &Value) -> bool {
    plan.get("source").and_then(Value::as_str) == Some("unknown")
        && matches!(
            hcl.get("source").and_then(Value::as_str),
            Some("set" | "default")
        )
        && hcl.get("attribute") == plan.get("attribute")
}

/// Paths where two JSON values differ, for a readable failure; `decided` collects the fields
/// the HCL evaluator decides where the plan cannot.
fn differences(a: &Value, b: &Value, path: &str, out: &mut Vec<String>, decided: &mut Vec<String>) {
    if decided_statically(a, b) {
        decided.push(format!("{path} = {}", a["value"]));
        return;
    }
    match (a, b) {
        (Value::Object(x), Value::Object(y)) => {
            let keys: BTreeSet<&String> = x.keys().chain(y.keys()).collect();
            for k in keys {
                let (va, vb) = (
                    x.get(k).unwrap_or(&Value::Null),
                    y.get(k).unwrap_or(&Value::Null),
                );
                differences(va, vb, &format!("{path}.{k}"), out, decided);
            }
        }
        (Value::Array(x), Value::Array(y)) if x.len() == y.len() => {
            for (i, (va, vb)) in x.iter().zip(y).enumerate() {
                let label = va
                    .get("address")
                    .and_then(Value::as_str)
                    .map_or_else(|| format!("[{i}]"), |a| format!("[{a}]"));
                differences(va, vb, &format!("{path}{label}"), out, decided);
            }
        }
        _ if a != b => out.push(format!("{path}: hcl {a} / terraform {b}")),
        _ => {}
    }
}

/// Plans `tree/sub` with Terraform and evaluates it statically; both must agree.
fn differential(h: &Harness, tree: &Path, sub: &str) {
    let dir = tree.join(sub);
    let hcl = load_dir(&dir, &HclOptions::default())
        .unwrap_or_else(|e| panic!("the HCL evaluator fails on {}: {e}", dir.display()));
    let (_copy, planned) = h.plan(tree, sub);
    let json = h.show(&planned);
    let plan = tfparity::load::load_bytes(&planned.join("plan.json"), &json).unwrap();

    let (ha, pa) = (managed_addresses(&hcl), managed_addresses(&plan));
    assert_eq!(
        ha,
        pa,
        "{}: resource addresses differ (only in hcl: {:?}; only in terraform: {:?})",
        dir.display(),
        ha.difference(&pa).collect::<Vec<_>>(),
        pa.difference(&ha).collect::<Vec<_>>()
    );
    let (hm, pm) = (model_json(sub, &hcl), model_json(sub, &plan));
    let (mut diffs, mut decided) = (Vec::new(), Vec::new());
    differences(&hm, &pm, "services", &mut diffs, &mut decided);
    for d in &decided {
        eprintln!(
            "{}: the plan leaves unknown what the configuration decides: {d}",
            dir.display()
        );
    }
    assert!(
        diffs.is_empty(),
        "{}: the HCL evaluator's model differs from Terraform's plan:\n  {}",
        dir.display(),
        diffs.join("\n  ")
    );
}

#[test]
fn differential_infra_dev() {
    with_terraform!(h, { differential(h, &root().join("infra"), "envs/dev") });
}

#[test]
fn differential_infra_prod() {
    with_terraform!(h, { differential(h, &root().join("infra"), "envs/prod") });
}

#[test]
fn differential_small_configurations() {
    with_terraform!(h, {
        let cases = root().join("fixtures/differential");
        let mut names: Vec<String> = std::fs::read_dir(&cases)
            .unwrap()
            .filter_map(|e| e.ok())
            .filter(|e| e.path().join("main.tf").exists())
            .map(|e| e.file_name().to_string_lossy().into_owned())
            .collect();
        names.sort();
        assert!(names.len() >= 4, "differential cases: {names:?}");
        for name in names {
            let start = Instant::now();
            differential(h, &cases.join(&name), ".");
            say(&format!(
                "differential {name}: agrees ({:.1}s)",
                start.elapsed().as_secs_f64()
            ));
        }
    });
}

// ---- 3. A binary plan file as a source. ----

fn tfparity(args: &[&str], env: &[(&str, &str)]) -> Output {
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_tfparity"));
    cmd.stdin(Stdio::null());
    cmd.args(args).current_dir(root());
    for (k, v) in env {
        cmd.env(k, v);
    }
    cmd.output().unwrap()
}

#[test]
fn a_binary_plan_file_is_read_through_terraform_show() {
    with_terraform!(h, {
        let (_copy, dir) = h.plan(&root().join("infra"), "envs/dev");
        let planfile = dir.join("tfplan");
        let bytes = std::fs::read(&planfile).unwrap();
        assert!(bytes.starts_with(b"PK\x03\x04"), "a zip archive");
        let cli = h.cli_config.to_str().unwrap();

        // The binary file gives the inventory its JSON form gives.
        let json_file = dir.join("plan.json");
        std::fs::write(&json_file, h.show(&dir)).unwrap();
        let inventory = |path: &Path| {
            let out = tfparity(
                &[
                    "inventory",
                    "--env",
                    &format!("dev={}", path.display()),
                    "dev",
                    "--format",
                    "json",
                ],
                &[("TF_CLI_CONFIG_FILE", cli)],
            );
            assert_eq!(
                out.status.code(),
                Some(0),
                "{}",
                String::from_utf8_lossy(&out.stderr)
            );
            let mut v: Value = serde_json::from_slice(&out.stdout).unwrap();
            strip_sources(&mut v);
            v
        };
        let from_binary = inventory(&planfile);
        assert_eq!(from_binary, inventory(&json_file));
        assert!(
            from_binary.to_string().contains("jualuma-backend"),
            "{from_binary}"
        );

        // Without terraform, the error names the file and says what to do.
        let out = tfparity(
            &[
                "inventory",
                "--env",
                &format!("dev={}", planfile.display()),
                "dev",
            ],
            &[("TFPARITY_TERRAFORM", "/nonexistent/terraform")],
        );
        assert_eq!(out.status.code(), Some(2));
        let err = String::from_utf8_lossy(&out.stderr);
        assert!(err.contains(&planfile.display().to_string()), "{err}");
        assert!(err.contains("not on PATH"), "{err}");
        assert!(err.contains("terraform show -json"), "{err}");

        // A plan file away from its configuration: Terraform cannot read it, and says why.
        let lone = tempfile::tempdir().unwrap();
        let moved = lone.path().join("tfplan");
        std::fs::copy(&planfile, &moved).unwrap();
        let out = tfparity(
            &[
                "inventory",
                "--env",
                &format!("dev={}", moved.display()),
                "dev",
            ],
            &[("TF_CLI_CONFIG_FILE", cli)],
        );
        assert_eq!(out.status.code(), Some(2));
        let err = String::from_utf8_lossy(&out.stderr);
        assert!(err.contains(&moved.display().to_string()), "{err}");
        assert!(err.contains("could not read it"), "{err}");
    });
}

/// Source paths differ between the two forms of the same plan.
fn strip_sources(v: &mut Value) {
    match v {
        Value::Object(m) => {
            m.remove("sources");
            m.remove("location");
            for x in m.values_mut() {
                strip_sources(x);
            }
        }
        Value::Array(a) => a.iter_mut().for_each(strip_sources),
        _ => {}
    }
}
