//! Broken and hostile inputs: each is refused with exit 2 and a message naming the file (and
//! line:column where the loader knows it), never a panic.

mod common;

use std::path::{Path, PathBuf};

use common::*;

/// Writes `bytes` as `name` in a fresh directory and runs `inventory` and `check` on it
/// (check pairs it with the real prod plan). Returns both runs.
fn load(name: &str, bytes: &[u8]) -> (tempfile::TempDir, PathBuf, Vec<Run>) {
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join(name);
    std::fs::write(&file, bytes).unwrap();
    let env = format!("x={}", file.display());
    let inventory = run(
        tfparity_in(dir.path()),
        &["inventory", "x", "--env", &env, "--format", "json"],
    );
    let check = run(
        tfparity_in(dir.path()),
        &[
            "check",
            "--env",
            &env,
            "--env",
            &format!("prod={}", prod_plan().display()),
        ],
    );
    (dir, file, vec![inventory, check])
}

/// Asserts every run refused the file with exit 2, an `error:` line naming it, and no
/// report. Returns the first message.
#[track_caller]
fn refused(file: &Path, runs: &[Run]) -> String {
    let shown = file.display().to_string();
    for r in runs {
        assert_eq!(
            r.code,
            Some(2),
            "{shown}: expected exit 2 (101 is a panic)\nstdout:\n{}\nstderr:\n{}",
            r.stdout,
            r.stderr
        );
        assert!(
            r.stdout.is_empty(),
            "{shown}: printed a report: {}",
            r.stdout
        );
        assert!(r.stderr.starts_with("error: "), "{}", r.stderr);
        assert!(
            r.stderr.contains(&shown),
            "the message names the file {shown}: {}",
            r.stderr
        );
        assert!(!r.stderr.contains("panicked"), "{}", r.stderr);
    }
    runs[0].stderr.clone()
}

/// `file:LINE:COL:` in the message.
#[track_caller]
fn assert_place(file: &Path, msg: &str, line: usize, col: usize) {
    let place = format!("{}:{line}:{col}:", file.display());
    assert!(msg.contains(&place), "expected `{place}` in: {msg}");
}

/// A plan with one Cloud Run v2 service whose `values` are `values` (JSON text).
fn plan_with_service_values(values: &str) -> String {
    format!(
        r#"{{"format_version":"1.2","terraform_version":"1.11.4","planned_values":{{"root_module":{{"resources":[{{"address":"google_cloud_run_v2_service.a","mode":"managed","type":"google_cloud_run_v2_service","name":"a","provider_name":"registry.terraform.io/hashicorp/google","schema_version":0,"values":{values}}}]}}}}}}"#
    )
}

#[test]
fn sanity_a_small_valid_plan_loads() {
    // The builder above gives a plan the loader accepts, so the failures below are about
    // what each one breaks.
    let (_d, _f, runs) = load(
        "ok.json",
        plan_with_service_values(r#"{"name":"a","location":"us-central1","project":"p"}"#)
            .as_bytes(),
    );
    runs[0].expect_code(0);
    let v = runs[0].json();
    assert_eq!(v["environments"][0]["services"][0]["name"], "a");
}

#[test]
fn empty_file() {
    let (_d, file, runs) = load("empty.json", b"");
    let msg = refused(&file, &runs);
    assert!(msg.contains("empty"), "{msg}");
    let (_d, file, runs) = load("blank.json", b"  \n\t\n");
    let msg = refused(&file, &runs);
    assert!(msg.contains("empty"), "{msg}");
}

#[test]
fn truncated_json() {
    let plan = std::fs::read(dev_plan()).unwrap();
    // The fixture is one line; cut it in the middle.
    let cut = &plan[..5000];
    let (_d, file, runs) = load("truncated.json", cut);
    let msg = refused(&file, &runs);
    assert!(msg.contains("truncated"), "{msg}");
    assert_place(&file, &msg, 1, 5000);
}

#[test]
fn truncated_multi_line_json() {
    let text =
        "{\n  \"format_version\": \"1.2\",\n  \"planned_values\": {\n    \"root_module\": {\n";
    let (_d, file, runs) = load("truncated-pretty.json", text.as_bytes());
    let msg = refused(&file, &runs);
    assert!(msg.contains(&format!("{}:", file.display())), "{msg}");
    // Somewhere past the last line that has content.
    assert!(
        msg.contains(&format!("{}:4:", file.display()))
            || msg.contains(&format!("{}:5:", file.display())),
        "{msg}"
    );
}

#[test]
fn not_json_at_all() {
    let (_d, file, runs) = load(
        "plan.txt",
        b"Terraform will perform the following actions:\n",
    );
    let msg = refused(&file, &runs);
    assert!(msg.contains("not JSON"), "{msg}");
    assert_place(&file, &msg, 1, 1);
}

#[test]
fn wrong_type_in_a_known_field() {
    let text = r#"{"format_version":"1.2","terraform_version":"1.11.4","resource_changes": [{"address": 5}]}"#;
    let (_d, file, runs) = load("wrong-type.json", text.as_bytes());
    let msg = refused(&file, &runs);
    assert!(msg.contains("expected a string"), "{msg}");
    // The place of the offending value `5` (1-based column).
    let col = text.find("5}").unwrap() + 1;
    assert_place(&file, &msg, 1, col);
}

#[test]
fn wrong_type_in_service_values_does_not_crash() {
    // `template` is a list of blocks and `ingress` a string; here they are numbers.
    let text = plan_with_service_values(r#"{"name":"a","template":7,"ingress":5}"#);
    let (_d, file, runs) = load("wrong-template.json", text.as_bytes());
    let [inventory, check] = &runs[..] else {
        unreachable!()
    };
    for r in [inventory, check] {
        assert!(!r.stderr.contains("panicked"), "{}", r.stderr);
        if r.code == Some(2) {
            assert!(
                r.stderr.contains(&file.display().to_string()),
                "{}",
                r.stderr
            );
        }
    }
    assert!(
        matches!(inventory.code, Some(0 | 2)),
        "inventory exit {:?}: {}",
        inventory.code,
        inventory.stderr
    );
    assert!(
        matches!(check.code, Some(0..=2)),
        "check exit {:?}: {}",
        check.code,
        check.stderr
    );
}

#[test]

fn wrong_typed_template_is_not_taken_as_defaults() {
    let text = plan_with_service_values(r#"{"name":"a","template":7}"#);
    let (_d, file, runs) = load("wrong-template.json", text.as_bytes());
    let inventory = &runs[0];
    match inventory.code {
        Some(2) => assert!(inventory.stderr.contains(&file.display().to_string())),
        Some(0) => {
            let v = inventory.json();
            let sa = &v["environments"][0]["services"][0]["service_account"];
            assert_ne!(sa["source"], "default", "guessed a default: {sa}");
        }
        other => panic!("exit {other:?}: {}", inventory.stderr),
    }
}

#[test]
fn format_version_2_is_refused() {
    let text = r#"{"format_version":"2.0","terraform_version":"2.0.0","planned_values":{},"resource_changes":[]}"#;
    let (_d, file, runs) = load("v2.json", text.as_bytes());
    let msg = refused(&file, &runs);
    assert!(msg.contains("format_version 2.0"), "{msg}");
    assert!(msg.contains("not supported"), "{msg}");
}

#[test]
fn binary_plan_file_is_refused_with_advice() {
    let (_d, file, runs) = load("tfplan", b"PK\x03\x04\x14\x00\x00\x00\x08\x00");
    let msg = refused(&file, &runs);
    assert!(msg.contains("terraform show -json"), "{msg}");
}

#[test]
fn non_utf8_bytes_in_a_value_the_model_reads() {
    let text = plan_with_service_values(r#"{"name":"caf@","location":"us-central1"}"#);
    let bytes = text.replace('@', "\u{0}").into_bytes();
    // Latin-1 é (0xE9) where the NUL placeholder is: not UTF-8.
    let bytes: Vec<u8> = bytes
        .iter()
        .map(|&b| if b == 0 { 0xE9 } else { b })
        .collect();
    let at = bytes.iter().position(|&b| b == 0xE9).unwrap();
    let (_d, file, runs) = load("latin1.json", &bytes);
    let msg = refused(&file, &runs);
    assert!(msg.contains(&format!("{}:1:", file.display())), "{msg}");
    // Pointing at (or right after) the offending byte.
    let col: usize = msg
        .split(&format!("{}:1:", file.display()))
        .nth(1)
        .and_then(|rest| rest.split(':').next())
        .and_then(|c| c.parse().ok())
        .unwrap_or_else(|| panic!("no column in {msg}"));
    assert!(
        (at..=at + 3).contains(&col),
        "column {col} for byte {at}: {msg}"
    );
}

#[test]
fn utf16_file_is_refused() {
    let text: Vec<u8> = "{\"format_version\":\"1.2\",\"planned_values\":{}}"
        .encode_utf16()
        .flat_map(|u| u.to_le_bytes())
        .collect();
    let mut bytes = vec![0xFF, 0xFE];
    bytes.extend(text);
    let (_d, file, runs) = load("utf16.json", &bytes);
    refused(&file, &runs);
}

#[test]

fn non_utf8_bytes_anywhere_are_refused() {
    let mut bytes = br#"{"format_version":"1.2","terraform_version":"1.11.4","variables":{"motd":{"value":"caf"#.to_vec();
    bytes.push(0xE9);
    bytes.extend_from_slice(br#""}},"planned_values":{"root_module":{}}}"#);
    let (_d, file, runs) = load("latin1-variables.json", &bytes);
    refused(&file, &runs);
}

fn nested(depth: usize) -> String {
    "{\"x\":".repeat(depth) + "1" + &"}".repeat(depth)
}

#[test]
fn deeply_nested_service_values_are_refused() {
    // 250 levels inside the values of a Cloud Run service (which the model reads).
    let text = plan_with_service_values(&format!("{{\"name\":\"a\",\"labels\":{}}}", nested(250)));
    let (_d, file, runs) = load("deep.json", text.as_bytes());
    let msg = refused(&file, &runs);
    assert!(msg.contains(&format!("{}:1:", file.display())), "{msg}");
}

#[test]
fn deeply_nested_modules_are_refused() {
    // 250 levels of child modules.
    let mut text = String::from(
        r#"{"format_version":"1.2","planned_values":{"root_module":{"child_modules":["#,
    );
    for _ in 0..250 {
        text.push_str(r#"{"address":"module.m","child_modules":["#);
    }
    text.push_str(r#"{"address":"module.m","resources":[]}"#);
    text.push_str(&"]}".repeat(250));
    text.push_str("]}}}");
    serde_json::from_str::<serde::de::IgnoredAny>(&text).expect("the test input is valid JSON");
    let (_d, file, runs) = load("deep-modules.json", text.as_bytes());
    let msg = refused(&file, &runs);
    assert!(msg.contains(&format!("{}:1:", file.display())), "{msg}");
}

#[test]
fn deeply_nested_configuration_is_refused() {
    let mut text = String::from(
        r#"{"format_version":"1.2","planned_values":{},"configuration":{"root_module":"#,
    );
    text.push_str(&r#"{"module_calls":{"m":{"module":"#.repeat(250));
    text.push_str("{}");
    text.push_str(&"}}}".repeat(250));
    text.push_str("}}");
    let (_d, file, runs) = load("deep-config.json", text.as_bytes());
    refused(&file, &runs);
}

#[test]
fn very_deep_nesting_in_an_unread_part_does_not_crash() {
    // 100 000 levels in `variables`, which nothing reads: no stack overflow. The loader may
    // skip it (exit 0) or refuse it (exit 2), but must not crash.
    let mut text =
        String::from(r#"{"format_version":"1.2","planned_values":{},"variables":{"v":{"value":"#);
    text.push_str(&"[".repeat(100_000));
    text.push_str(&"]".repeat(100_000));
    text.push_str("}}}");
    let (_d, file, runs) = load("very-deep.json", text.as_bytes());
    let inv = &runs[0];
    match inv.code {
        Some(0) => {
            let v = inv.json();
            assert_eq!(
                v["environments"][0]["services"].as_array().unwrap().len(),
                0
            );
        }
        Some(2) => {
            assert!(
                inv.stderr.contains(&file.display().to_string()),
                "{}",
                inv.stderr
            );
        }
        other => panic!("exit {other:?}: {}", inv.stderr),
    }
}

#[test]
fn top_level_array_is_refused() {
    let text = "[".repeat(100_000) + &"]".repeat(100_000);
    let (_d, file, runs) = load("array.json", text.as_bytes());
    refused(&file, &runs);
}

#[test]
fn json_that_is_not_terraform_is_refused() {
    let (_d, file, runs) = load("package.json", br#"{"name":"left-pad","version":"1.3.0"}"#);
    let msg = refused(&file, &runs);
    assert!(msg.contains("not a Terraform plan or state"), "{msg}");
}

#[test]
fn directory_as_source_is_refused() {
    let dir = tempfile::tempdir().unwrap();
    let sub = dir.path().join("envs");
    std::fs::create_dir(&sub).unwrap();
    let r = run(
        tfparity_in(dir.path()),
        &["inventory", "x", "--env", &format!("x={}", sub.display())],
    );
    r.expect_code(2);
    assert!(
        r.stderr.contains(&sub.display().to_string()),
        "{}",
        r.stderr
    );
}

#[test]
fn bad_env_argument_is_a_usage_error() {
    let dir = tempfile::tempdir().unwrap();
    for arg in ["no-equals-sign", "bad name=x.json", "dev="] {
        let r = run(tfparity_in(dir.path()), &["check", "--env", arg]);
        r.expect_code(2);
        assert!(!r.stderr.contains("panicked"), "{}", r.stderr);
    }
}

// ---------------------------------------------------------------------------------------------
// Hostile inputs of issue 7: each refused with exit 2 and a placed `error:` line, quickly and
// within bounded memory, or handled as documented.

/// Asserts `r` is a refusal naming `what` (a path or `path:line:col`), without a report or a
/// panic.
#[track_caller]
fn refused_run(r: &Run, what: &str) {
    assert_eq!(
        r.code,
        Some(2),
        "expected exit 2 (101 is a panic, 134 an abort)\nstdout:\n{}\nstderr:\n{}",
        r.stdout,
        r.stderr
    );
    assert!(r.stdout.is_empty(), "printed a report: {}", r.stdout);
    assert!(r.stderr.starts_with("error: "), "{}", r.stderr);
    assert!(
        r.stderr.contains(what),
        "expected `{what}` in: {}",
        r.stderr
    );
    assert!(!r.stderr.contains("panicked"), "{}", r.stderr);
}

/// Runs `inventory` on `--env x=source` in `dir`, timed.
fn inventory_of(dir: &Path, source: &Path) -> (Run, std::time::Duration) {
    let started = std::time::Instant::now();
    let r = run(
        tfparity_in(dir),
        &[
            "inventory",
            "x",
            "--env",
            &format!("x={}", source.display()),
            "--format",
            "json",
        ],
    );
    (r, started.elapsed())
}

/// Runs `check` of `--env x=source` against the prod plan in `dir`.
fn check_of(dir: &Path, source: &Path) -> Run {
    run(
        tfparity_in(dir),
        &[
            "check",
            "--env",
            &format!("x={}", source.display()),
            "--env",
            &format!("prod={}", prod_plan().display()),
        ],
    )
}

/// A generous bound for one run of the debug binary on a hostile input: each of these takes
/// well under a second or two; minutes would be a hang.
const QUICK: std::time::Duration = std::time::Duration::from_secs(15);

#[test]
fn terraform_cloud_redacted_plan_envelope_is_refused() {
    // What HCP Terraform's "json-output-redacted" endpoint serves: no `format_version`.
    let text = r#"{"plan_format_version":"1.1","resource_drift":[],"resource_changes":[{"address":"google_cloud_run_v2_service.a","mode":"managed","type":"google_cloud_run_v2_service","name":"a","change":{"actions":["create"],"after":{"name":"a"},"after_unknown":{},"before_sensitive":false,"after_sensitive":{}}}],"output_changes":{},"provider_schemas":{},"provider_format_version":"1.0"}"#;
    let (_d, file, runs) = load("redacted.json", text.as_bytes());
    let msg = refused(&file, &runs);
    assert!(msg.contains("redacted plan"), "{msg}");
    assert!(msg.contains("terraform show -json"), "{msg}");
}

/// A plan whose one Cloud Run v2 service has an env var value of `len` bytes: a marker that
/// must never be printed, repeated. Written in `dir`, which it returns the path in.
fn plan_with_long_env_value(dir: &Path, name: &str, len: usize) -> PathBuf {
    const CANARY: &str = "CANARY-do-not-print-";
    let head = r#"{"format_version":"1.2","terraform_version":"1.11.4","resource_changes":[{"address":"google_cloud_run_v2_service.a","mode":"managed","type":"google_cloud_run_v2_service","name":"a","provider_name":"registry.terraform.io/hashicorp/google","change":{"actions":["create"],"before":null,"after":{"name":"a","location":"us-central1","template":[{"containers":[{"image":"x","env":[{"name":"SMALL","value":"1"},{"name":"BIG","value":""#;
    let tail = r#""}]}]}]},"after_unknown":{},"after_sensitive":{}}}]}"#;
    let mut text = Vec::with_capacity(head.len() + len + tail.len());
    text.extend_from_slice(head.as_bytes());
    while text.len() < head.len() + len {
        text.extend_from_slice(CANARY.as_bytes());
    }
    text.truncate(head.len() + len);
    text.extend_from_slice(tail.as_bytes());
    let file = dir.join(name);
    std::fs::write(&file, text).unwrap();
    file
}

#[test]
fn a_100_mb_string_in_a_plan_is_refused_by_name_never_printed() {
    let dir = tempfile::tempdir().unwrap();
    let file = plan_with_long_env_value(dir.path(), "big.json", 100 << 20);
    let (inventory, took) = inventory_of(dir.path(), &file);
    refused_run(&inventory, &format!("{}:1:", file.display()));
    let msg = &inventory.stderr;
    assert!(
        msg.contains("`template.0.containers.0.env.1.value` of `google_cloud_run_v2_service.a`"),
        "names the attribute and the resource: {msg}"
    );
    assert!(msg.contains(&format!("{} bytes", 100 << 20)), "{msg}");
    assert!(!msg.contains("CANARY"), "printed the value: {msg}");
    assert!(msg.len() < 1000, "a short message: {} bytes", msg.len());
    assert!(took < QUICK, "took {took:?}");
    let check = check_of(dir.path(), &file);
    refused_run(&check, &file.display().to_string());
    assert!(!check.stderr.contains("CANARY"), "{}", check.stderr);
    // The limit is exact: a value of 65535 bytes loads, one more byte does not.
    let at_limit = plan_with_long_env_value(dir.path(), "at-limit.json", 65_535);
    inventory_of(dir.path(), &at_limit).0.expect_code(0);
    let over = plan_with_long_env_value(dir.path(), "over.json", 65_536);
    refused_run(&inventory_of(dir.path(), &over).0, "65536 bytes");
}

#[test]
fn a_100_mb_string_in_a_state_is_refused_by_name_never_printed() {
    // The same value in a raw `.tfstate`, which keeps values under `attributes`.
    let dir = tempfile::tempdir().unwrap();
    let head = r#"{"version":4,"terraform_version":"1.11.4","serial":1,"lineage":"l","outputs":{},"resources":[{"mode":"managed","type":"google_cloud_run_v2_service","name":"a","provider":"provider[\"registry.terraform.io/hashicorp/google\"]","instances":[{"schema_version":0,"attributes":{"name":"a","template":[{"containers":[{"env":[{"name":"BIG","value":""#;
    let tail = r#""}]}]}]},"sensitive_attributes":[]}]}]}"#;
    let mut text = head.as_bytes().to_vec();
    text.resize(head.len() + (100 << 20), b'C');
    text.extend_from_slice(tail.as_bytes());
    let file = dir.path().join("terraform.tfstate");
    std::fs::write(&file, text).unwrap();
    let (r, took) = inventory_of(dir.path(), &file);
    refused_run(&r, &format!("{}:1:", file.display()));
    assert!(
        r.stderr
            .contains("`template.0.containers.0.env.0.value` of `google_cloud_run_v2_service.a`"),
        "{}",
        r.stderr
    );
    assert!(!r.stderr.contains("CCCCCCCC"), "printed the value");
    assert!(took < QUICK, "took {took:?}");
}

/// A Cloud Run service whose env var `BIG` is `value` (an HCL expression).
fn service_with_env(value: &str) -> String {
    format!(
        r#"resource "google_cloud_run_v2_service" "a" {{
  name     = "a"
  location = "us-central1"
  template {{
    containers {{
      image = "x"
      env {{
        name  = "BIG"
        value = {value}
      }}
    }}
  }}
}}
"#
    )
}

#[test]
fn a_100_mb_string_in_hcl_is_refused_naming_the_tf_file() {
    let big = "C".repeat(100 << 20);
    for (what, text) in [
        (
            "a local",
            format!(
                "locals {{\n  big = \"{big}\"\n}}\n\n{}",
                service_with_env("local.big")
            ),
        ),
        (
            "a variable default",
            format!(
                "variable \"big\" {{\n  default = \"{big}\"\n}}\n\n{}",
                service_with_env("var.big")
            ),
        ),
        // Used by nothing: refused all the same, before it is parsed.
        (
            "an unused local",
            format!(
                "locals {{\n  big = \"{big}\"\n}}\n\n{}",
                service_with_env("\"1\"")
            ),
        ),
    ] {
        let dir = tempfile::tempdir().unwrap();
        let env = dir.path().join("env");
        std::fs::create_dir(&env).unwrap();
        let tf = env.join("main.tf");
        std::fs::write(&tf, &text).unwrap();
        let (r, took) = inventory_of(dir.path(), &env);
        refused_run(&r, &tf.display().to_string());
        assert!(r.stderr.contains("MiB"), "{what}: {}", r.stderr);
        assert!(!r.stderr.contains("CCCCCCCC"), "{what}: printed the value");
        assert!(took < QUICK, "{what}: took {took:?}");
    }
}

#[test]
fn a_long_string_in_a_small_tf_file_is_refused_where_it_is_used() {
    // Under the file limit, the string reaches the resource, which is refused at its line
    // with the attribute's path.
    let dir = tempfile::tempdir().unwrap();
    let env = dir.path().join("env");
    std::fs::create_dir(&env).unwrap();
    let tf = env.join("main.tf");
    let big = "C".repeat(1 << 20);
    std::fs::write(
        &tf,
        format!(
            "locals {{\n  big = \"{big}\"\n}}\n\n{}",
            service_with_env("local.big")
        ),
    )
    .unwrap();
    let (r, took) = inventory_of(dir.path(), &env);
    refused_run(&r, &format!("{}:5:1:", tf.display()));
    assert!(
        r.stderr
            .contains("`template.0.containers.0.env.0.value` of `google_cloud_run_v2_service.a`"),
        "{}",
        r.stderr
    );
    assert!(!r.stderr.contains("CCCCCCCC"), "printed the value");
    assert!(took < QUICK, "took {took:?}");
}

#[test]
fn duplicate_addresses_in_resource_changes_name_both_places() {
    let change = r#"{"address":"google_cloud_run_v2_service.a","mode":"managed","type":"google_cloud_run_v2_service","name":"a","change":{"actions":["create"],"after":{"name":"a","location":"us-central1"}}}"#;
    let other = change.replace(".a\"", ".b\"").replace("\"a\"", "\"b\"");
    let text = format!(
        "{{\"format_version\":\"1.2\",\"terraform_version\":\"1.11.4\",\"resource_changes\":[\n{change},\n{other},\n  {change}\n]}}"
    );
    let (_d, file, runs) = load("dup.json", text.as_bytes());
    let msg = refused(&file, &runs);
    // The second at line 4 (column 3 after its indent), the first at line 2.
    assert_place(&file, &msg, 4, 3);
    assert!(
        msg.contains(&format!(
            "`google_cloud_run_v2_service.a` appears twice (first at {}:2:1)",
            file.display()
        )),
        "{msg}"
    );
}

/// A minimal service, so an HCL environment that loads has something in it.
const SERVICE: &str = "resource \"google_cloud_run_v2_service\" \"s\" {\n  name     = \"s\"\n  location = \"us-central1\"\n}\n";

/// Writes `files` (path relative to `root` → text) and returns `root`.
fn tree(root: &Path, files: &[(&str, &str)]) {
    for (rel, text) in files {
        let p = root.join(rel);
        std::fs::create_dir_all(p.parent().unwrap()).unwrap();
        std::fs::write(p, text).unwrap();
    }
}

#[test]
fn a_module_source_cycle_is_refused_at_the_call_that_closes_it() {
    let dir = tempfile::tempdir().unwrap();
    tree(
        dir.path(),
        &[
            (
                "root/main.tf",
                &format!("{SERVICE}\nmodule \"a\" {{\n  source = \"../a\"\n}}\n"),
            ),
            ("a/main.tf", "module \"b\" {\n  source = \"../b\"\n}\n"),
            ("b/main.tf", "\n\nmodule \"a\" {\n  source = \"../a\"\n}\n"),
        ],
    );
    let root = dir.path().join("root");
    let (r, took) = inventory_of(dir.path(), &root);
    let b = dir.path().join("b/main.tf");
    refused_run(&r, &format!("{}:3:1: module source cycle", b.display()));
    // The chain, as paths from the root module (not the absolute paths of the machine).
    assert!(r.stderr.contains(". → ../a → ../b → ../a"), "{}", r.stderr);
    assert!(took < QUICK, "took {took:?}");
    refused_run(&check_of(dir.path(), &root), &b.display().to_string());
}

#[cfg(unix)]
#[test]
fn a_symlink_loop_below_an_hcl_directory_is_not_read() {
    // Terraform reads the files of the directory itself, never its subdirectories: a loop
    // there changes nothing.
    use std::os::unix::fs::symlink;
    let dir = tempfile::tempdir().unwrap();
    let env = dir.path().join("env");
    tree(&env, &[("main.tf", SERVICE)]);
    symlink("..", env.join("up")).unwrap();
    symlink(".", env.join("self")).unwrap();
    std::fs::create_dir(env.join("sub")).unwrap();
    symlink("../sub", env.join("sub/loop")).unwrap();
    let (r, took) = inventory_of(dir.path(), &env);
    r.expect_code(0);
    assert_eq!(r.json()["environments"][0]["services"][0]["name"], "s");
    assert!(took < QUICK, "took {took:?}");
}

#[cfg(unix)]
#[test]
fn a_tf_file_that_is_a_symlink_loop_is_refused() {
    // Terraform fails on a `.tf` entry it cannot read; leaving it out would hide resources.
    use std::os::unix::fs::symlink;
    let dir = tempfile::tempdir().unwrap();
    let env = dir.path().join("env");
    tree(&env, &[("main.tf", SERVICE)]);
    symlink("loop.tf", env.join("loop.tf")).unwrap();
    let (r, took) = inventory_of(dir.path(), &env);
    refused_run(&r, &env.join("loop.tf").display().to_string());
    assert!(took < QUICK, "took {took:?}");
}

#[cfg(unix)]
#[test]
fn a_module_source_through_a_symlink_loop_is_refused_at_the_call() {
    use std::os::unix::fs::symlink;
    let dir = tempfile::tempdir().unwrap();
    let env = dir.path().join("env");
    let main = format!("{SERVICE}\nmodule \"x\" {{\n  source = \"./modules/x\"\n}}\n");
    tree(&env, &[("main.tf", &main)]);
    std::fs::create_dir(env.join("modules")).unwrap();
    // `modules/x` points at itself: the directory can never be reached.
    symlink("x", env.join("modules/x")).unwrap();
    let tf = env.join("main.tf");
    let (r, took) = inventory_of(dir.path(), &env);
    refused_run(&r, &format!("{}:6:1: module `x`", tf.display()));
    assert!(r.stderr.contains("./modules/x"), "{}", r.stderr);
    assert!(took < QUICK, "took {took:?}");
    // `modules/x` points back at the root module: a module source cycle.
    std::fs::remove_file(env.join("modules/x")).unwrap();
    symlink("..", env.join("modules/x")).unwrap();
    let (r, took) = inventory_of(dir.path(), &env);
    refused_run(&r, &format!("{}:6:1: module source cycle", tf.display()));
    assert!(took < QUICK, "took {took:?}");
}

#[test]
fn a_locals_cycle_is_refused_naming_file_and_line() {
    let dir = tempfile::tempdir().unwrap();
    let env = dir.path().join("env");
    tree(
        &env,
        &[(
            "main.tf",
            &format!("{SERVICE}\nlocals {{\n  a = local.b\n  b = local.a\n}}\n"),
        )],
    );
    let tf = env.join("main.tf");
    let (r, _) = inventory_of(dir.path(), &env);
    refused_run(&r, &format!("{}:7:3:", tf.display()));
    assert!(
        r.stderr.contains("cycle: local.a → local.b → local.a"),
        "{}",
        r.stderr
    );
    // A generated cycle of 20 000 locals: a short message, not all of their names.
    let mut text = String::from(SERVICE);
    text.push_str("locals {\n");
    for i in 0..20_000 {
        text.push_str(&format!("  l{i} = local.l{}\n", (i + 1) % 20_000));
    }
    text.push_str("}\n");
    std::fs::write(&tf, text).unwrap();
    let (r, took) = inventory_of(dir.path(), &env);
    refused_run(&r, &format!("{}:6:3:", tf.display()));
    assert!(r.stderr.contains("(19980 more)"), "{}", r.stderr);
    assert!(r.stderr.len() < 2000, "{} bytes", r.stderr.len());
    assert!(took < QUICK, "took {took:?}");
}

#[test]
fn for_each_over_a_million_items_is_refused_at_its_line() {
    let dir = tempfile::tempdir().unwrap();
    let env = dir.path().join("env");
    tree(
        &env,
        &[(
            "main.tf",
            &format!(
                "{SERVICE}\nresource \"google_service_account\" \"many\" {{\n  for_each   = toset([for i in range(1000000) : tostring(i)])\n  account_id = each.key\n}}\n"
            ),
        )],
    );
    let tf = env.join("main.tf");
    // Inventory only: evaluating the million-element expression is most of the time.
    let (r, took) = inventory_of(dir.path(), &env);
    refused_run(&r, &format!("{}:6:1:", tf.display()));
    assert!(
        r.stderr
            .contains("`google_service_account.many` expands to 1000000 instances"),
        "{}",
        r.stderr
    );
    assert!(r.stderr.contains("200000"), "{}", r.stderr);
    assert!(took < QUICK, "took {took:?}");
}

#[test]
fn a_chain_of_1000_locals_is_refused_without_overflowing_the_stack() {
    // local.l0 = local.l1 + 1, ..., local.l1000 = 0, read by the service: 1000 nested
    // evaluations, past the reference depth limit (500).
    let dir = tempfile::tempdir().unwrap();
    let env = dir.path().join("env");
    let mut text = String::from(
        "resource \"google_cloud_run_v2_service\" \"s\" {\n  name     = \"s\"\n  location = \"us-central1\"\n  labels = {\n    depth = local.l0\n  }\n}\n\nlocals {\n",
    );
    for i in 0..1000 {
        text.push_str(&format!("  l{i} = local.l{} + 1\n", i + 1));
    }
    text.push_str("  l1000 = 0\n}\n");
    tree(&env, &[("main.tf", &text)]);
    let tf = env.join("main.tf");
    let (r, took) = inventory_of(dir.path(), &env);
    // Placed at the local where the limit was reached (line 10 holds l0).
    refused_run(&r, &format!("{}:", tf.display()));
    let line: usize = r
        .stderr
        .split(&format!("{}:", tf.display()))
        .nth(1)
        .and_then(|rest| rest.split(':').next())
        .and_then(|l| l.parse().ok())
        .unwrap_or_else(|| panic!("no line in {}", r.stderr));
    assert!((10..=1010).contains(&line), "line {line}: {}", r.stderr);
    assert!(
        r.stderr.contains("nest more than 500 levels"),
        "{}",
        r.stderr
    );
    assert!(!r.stderr.contains("overflow"), "{}", r.stderr);
    assert!(took < QUICK, "took {took:?}");
    refused_run(&check_of(dir.path(), &env), &tf.display().to_string());
}

#[test]
fn a_contract_naming_an_unknown_check_is_refused_at_its_line() {
    let dir = tempfile::tempdir().unwrap();
    for (check, hint) in [
        ("\"ingres\"", Some("did you mean `ingress`?")),
        ("\"PAR011\"", None),
        ("11", None),
    ] {
        let contract = dir.path().join("parity.hcl");
        std::fs::write(
            &contract,
            format!(
                "environment \"dev\" {{\n  sources = [\"{}\"]\n}}\nenvironment \"prod\" {{\n  sources = [\"{}\"]\n}}\n\nintentional_difference \"x\" {{\n  check  = {check}\n  reason = \"r\"\n}}\n",
                dev_plan().display(),
                prod_plan().display()
            ),
        )
        .unwrap();
        let place = format!("{}:9:12: unknown check", contract.display());
        let c = contract.display().to_string();
        for args in [
            vec!["check", "--contract", c.as_str()],
            vec!["contract", "validate", c.as_str()],
        ] {
            let r = run(tfparity_in(dir.path()), &args);
            refused_run(&r, &place);
            if let Some(hint) = hint {
                assert!(r.stderr.contains(hint), "{}", r.stderr);
            }
        }
    }
}

/// A contract in `dir` for the fixture plans, dev declaring `dev_workflows` (none: nothing
/// declared), and the JSON report of `check` with it.
fn workflows_report(dir: &Path, dev_workflows: Option<&str>) -> (Run, std::time::Duration) {
    let declared = |w: Option<&str>| {
        w.map(|w| format!("  workflows = [\"{w}\"]\n"))
            .unwrap_or_default()
    };
    let contract = dir.join("parity.hcl");
    std::fs::write(
        &contract,
        format!(
            "environment \"dev\" {{\n  sources = [\"{}\"]\n{}}}\nenvironment \"prod\" {{\n  sources = [\"{}\"]\n{}}}\n",
            dev_plan().display(),
            declared(dev_workflows),
            prod_plan().display(),
            declared(dev_workflows.map(|_| ".github/workflows/deploy.yml")),
        ),
    )
    .unwrap();
    let started = std::time::Instant::now();
    let r = run(
        tfparity_in(dir),
        &[
            "check",
            "--contract",
            &contract.display().to_string(),
            "--format",
            "json",
        ],
    );
    (r, started.elapsed())
}

const WORKFLOW: &str = "name: deploy\non: push\njobs:\n  deploy:\n    runs-on: ubuntu-latest\n    steps:\n      - run: terraform apply\n";

#[cfg(unix)]
#[test]
fn workflow_discovery_passes_over_symlink_loops() {
    use std::os::unix::fs::symlink;
    let dir = tempfile::tempdir().unwrap();
    tree(dir.path(), &[(".github/workflows/deploy.yml", WORKFLOW)]);
    symlink("..", dir.path().join(".github/workflows/up")).unwrap();
    symlink("../..", dir.path().join(".github/loop")).unwrap();
    symlink("loop.yml", dir.path().join(".github/workflows/loop.yml")).unwrap();
    std::fs::create_dir_all(dir.path().join("a/b")).unwrap();
    symlink("../../a", dir.path().join("a/b/c")).unwrap();
    let (r, took) = workflows_report(dir.path(), None);
    // The gate's verdict (the fixtures fail other items), not an error.
    r.expect_code(1);
    assert!(took < QUICK, "took {took:?}");
    let report = r.json();
    let found = findings(&report, 10);
    assert_eq!(found.len(), 1, "{found:?}");
    let message = found[0]["message"].as_str().unwrap();
    assert!(
        message.contains("1 workflow file(s) exist (.github/workflows/deploy.yml)"),
        "the real workflow, once, and no link: {message}"
    );
    assert_eq!(status(&report, 10), "REVIEW_REQUIRED");
}

#[cfg(unix)]
#[test]
fn declared_workflows_that_cannot_be_read_fail_without_hanging() {
    use std::os::unix::fs::symlink;
    let dir = tempfile::tempdir().unwrap();
    tree(dir.path(), &[(".github/workflows/deploy.yml", WORKFLOW)]);
    let wf = dir.path().join(".github/workflows");
    symlink("loop.yml", wf.join("loop.yml")).unwrap();
    // A link committed to a repository may point at a device that never ends.
    symlink("/dev/zero", wf.join("zero.yml")).unwrap();
    // A FIFO would block the read forever.
    let fifo = wf.join("fifo.yml");
    let made = std::process::Command::new("mkfifo")
        .arg(&fifo)
        .status()
        .is_ok_and(|s| s.success());
    // Nine levels of nine aliases: a billion nodes once the YAML loader expands them.
    let mut bomb = String::from("l0: &l0 [x, x, x, x, x, x, x, x, x]\n");
    for i in 1..9 {
        bomb.push_str(&format!(
            "l{i}: &l{i} [{}]\n",
            vec![format!("*l{}", i - 1); 9].join(", ")
        ));
    }
    bomb.push_str("on: push\n");
    std::fs::write(wf.join("bomb.yml"), bomb).unwrap();
    let mut cases = vec![
        ("loop.yml", "Too many levels of symbolic links"),
        ("bomb.yml", "aliases expand to more than"),
    ];
    if zero_is_a_device() {
        cases.push(("zero.yml", "not a regular file"));
    }
    if made {
        cases.push(("fifo.yml", "not a regular file"));
    }
    for (name, why) in cases {
        let (r, took) = workflows_report(dir.path(), Some(&format!(".github/workflows/{name}")));
        r.expect_code(1);
        assert!(took < QUICK, "{name}: took {took:?}");
        let report = r.json();
        assert_eq!(status(&report, 10), "FAIL", "{name}");
        let found = findings(&report, 10);
        assert!(
            found.iter().any(|f| {
                let m = f["message"].as_str().unwrap_or("");
                m.contains(&format!(".github/workflows/{name} of dev cannot be read"))
                    && m.contains(why)
            }),
            "{name}: {found:?}"
        );
    }
}

/// Whether `/dev/zero` is the endless device (some sandboxes replace `/dev` entries).
#[cfg(unix)]
fn zero_is_a_device() -> bool {
    use std::os::unix::fs::FileTypeExt;
    std::fs::metadata("/dev/zero").is_ok_and(|m| m.file_type().is_char_device())
}

#[cfg(unix)]
#[test]
fn a_device_given_as_a_source_is_refused() {
    use std::os::unix::fs::symlink;
    if !zero_is_a_device() {
        eprintln!("skipped: /dev/zero is not a device here");
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    // `/dev/zero` never ends: reading it whole would take all memory.
    let link = dir.path().join("plan.json");
    symlink("/dev/zero", &link).unwrap();
    for source in [Path::new("/dev/zero"), link.as_path()] {
        let (r, took) = inventory_of(dir.path(), source);
        refused_run(&r, &format!("{}: is not a regular file", source.display()));
        assert!(took < QUICK, "took {took:?}");
    }
    // The same for a variable file of a Terraform directory.
    let env = dir.path().join("env");
    tree(&env, &[("main.tf", SERVICE)]);
    symlink("/dev/zero", env.join("zero.auto.tfvars")).unwrap();
    let (r, took) = inventory_of(dir.path(), &env);
    refused_run(&r, "zero.auto.tfvars: is not a regular file");
    assert!(took < QUICK, "took {took:?}");
}

#[cfg(unix)]
#[test]
fn a_pipe_still_works_as_a_plan_source() {
    // `--env prod=<(terraform show -json tfplan)`: a FIFO that is written, then closed.
    let dir = tempfile::tempdir().unwrap();
    let fifo = dir.path().join("plan.fifo");
    let made = std::process::Command::new("mkfifo")
        .arg(&fifo)
        .status()
        .is_ok_and(|s| s.success());
    if !made {
        eprintln!("skipped: no mkfifo");
        return;
    }
    let writer = {
        let fifo = fifo.clone();
        std::thread::spawn(move || {
            let plan = std::fs::read(dev_plan()).unwrap();
            std::fs::write(&fifo, plan).unwrap();
        })
    };
    let (r, _) = inventory_of(dir.path(), &fifo);
    writer.join().unwrap();
    r.expect_code(0);
    assert!(
        !r.json()["environments"][0]["services"]
            .as_array()
            .unwrap()
            .is_empty()
    );
}

#[test]
fn nested_for_expressions_stop_at_the_work_budget() {
    // A billion elements: refused once five million are built, at the expression's line.
    let dir = tempfile::tempdir().unwrap();
    let env = dir.path().join("env");
    tree(
        &env,
        &[(
            "main.tf",
            &format!(
                "{SERVICE}\nlocals {{\n  cube = [for i in range(1000) : [for j in range(1000) : [for k in range(1000) : k]]]\n}}\n\noutput \"n\" {{\n  value = length(local.cube)\n}}\n\nresource \"google_service_account\" \"sa\" {{\n  account_id   = \"sa\"\n  display_name = length(local.cube)\n}}\n"
            ),
        )],
    );
    let tf = env.join("main.tf");
    let (r, took) = inventory_of(dir.path(), &env);
    refused_run(&r, &format!("{}:", tf.display()));
    assert!(
        r.stderr
            .contains("more than 5000000 elements built by `for` expressions"),
        "{}",
        r.stderr
    );
    assert!(took < QUICK, "took {took:?}");
}

#[test]
fn a_string_doubled_in_a_chain_of_locals_stops_at_16_mib() {
    // s0 is 16 bytes; s40 would be 16 TiB.
    let dir = tempfile::tempdir().unwrap();
    let env = dir.path().join("env");
    let mut text = format!(
        "{SERVICE}\nresource \"google_service_account\" \"sa\" {{\n  account_id   = \"sa\"\n  display_name = local.s40\n}}\n\nlocals {{\n  s0 = \"0123456789abcdef\"\n"
    );
    for i in 1..=40 {
        text.push_str(&format!(
            "  s{i} = \"${{local.s{p}}}${{local.s{p}}}\"\n",
            p = i - 1
        ));
    }
    text.push_str("}\n");
    tree(&env, &[("main.tf", &text)]);
    let tf = env.join("main.tf");
    let (r, took) = inventory_of(dir.path(), &env);
    refused_run(&r, &format!("{}:", tf.display()));
    assert!(
        r.stderr
            .contains("tfparity evaluates strings of at most 16777216 bytes"),
        "{}",
        r.stderr
    );
    assert!(!r.stderr.contains("0123456789abcdef"), "never the value");
    assert!(took < QUICK, "took {took:?}");
}
