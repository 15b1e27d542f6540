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
