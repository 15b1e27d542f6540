//! `schemas/report.schema.json` describes `tfparity check --format json`: the example's
//! report validates, reports from other runs validate, and broken copies do not.

mod common;

use common::*;
use serde_json::{Value, json};

fn schema() -> Value {
    let text = std::fs::read_to_string(root().join("schemas/report.schema.json"))
        .expect("schemas/report.schema.json exists");
    serde_json::from_str(&text).expect("the schema is JSON")
}

fn validator() -> jsonschema::Validator {
    let schema = schema();
    assert_eq!(
        schema["$schema"], "https://json-schema.org/draft/2020-12/schema",
        "the schema declares its draft"
    );
    jsonschema::draft202012::options()
        .should_validate_formats(true)
        .build(&schema)
        .expect("the schema is a valid draft 2020-12 schema")
}

#[track_caller]
fn assert_valid(v: &jsonschema::Validator, report: &Value, what: &str) {
    let errors: Vec<String> = v
        .iter_errors(report)
        .map(|e| format!("{} at {}", e, e.instance_path()))
        .collect();
    assert!(
        errors.is_empty(),
        "{what} does not match the schema:\n{}",
        errors.join("\n")
    );
}

#[track_caller]
fn assert_invalid(v: &jsonschema::Validator, report: &Value, what: &str) {
    assert!(!v.is_valid(report), "{what} should not match the schema");
}

fn example_report() -> Value {
    let r = run(tfparity(), &["check", "--format", "json"]);
    r.expect_code(1);
    r.json()
}

#[test]
fn example_report_validates() {
    let v = validator();
    let report = example_report();
    assert_valid(&v, &report, "the example's report");
}

#[test]
fn report_without_contract_validates() {
    // contract.path null, assumptions filled, roles named after services.
    let dir = tempfile::tempdir().unwrap();
    let r = run(
        tfparity_in(dir.path()),
        &[
            "check",
            "--format",
            "json",
            "--env",
            &format!("dev={}", dev_plan().display()),
            "--env",
            &format!("prod={}", prod_plan().display()),
        ],
    );
    r.expect_code(1);
    let report = r.json();
    assert!(report["contract"]["path"].is_null());
    assert_valid(&validator(), &report, "the report without a contract");
}

#[test]
fn report_with_an_expired_difference_validates() {
    // A FAIL finding that carries the expired acceptance (with `expires`).
    let dir = tempfile::tempdir().unwrap();
    let contract = replace_once(
        &shipped_contract_absolute(),
        "  owner     = \"platform\"\n}\n\nintentional_difference \"frontends-smaller-in-prod\"",
        "  owner     = \"platform\"\n  expires   = \"2026-01-01\"\n}\n\nintentional_difference \"frontends-smaller-in-prod\"",
    );
    let path = dir.path().join("parity.hcl");
    std::fs::write(&path, contract).unwrap();
    let r = run(
        tfparity_in(dir.path()),
        &["check", "--format", "json", "--today", "2026-11-29"],
    );
    r.expect_code(1);
    let report = r.json();
    assert_eq!(status(&report, 3), "FAIL");
    assert_valid(
        &validator(),
        &report,
        "the report with an expired difference",
    );
}

#[test]
fn report_without_failures_validates() {
    // dev against a copy of itself in another project (`stg`): nothing fails, `gaps` is
    // empty, some items need review.
    let dir = tempfile::tempdir().unwrap();
    let stg = std::fs::read_to_string(dev_plan())
        .unwrap()
        .replace("jualuma-dev", "jualuma-stg");
    std::fs::write(dir.path().join("stg.json"), stg).unwrap();
    let r = run(
        tfparity_in(dir.path()),
        &[
            "check",
            "--format",
            "json",
            "--env",
            &format!("dev={}", dev_plan().display()),
            "--env",
            "stg=stg.json",
        ],
    );
    r.expect_code(0);
    let report = r.json();
    assert_eq!(report["gaps"], json!([]));
    assert_eq!(report["summary"]["items"]["FAIL"], 0);
    assert_valid(&validator(), &report, "a report without failures");
}

/// Applies `edit` to a copy of the example report and asserts the schema rejects it.
fn rejects(what: &str, edit: impl FnOnce(&mut Value)) {
    let v = validator();
    let mut report = example_report();
    assert_valid(&v, &report, "the unedited report");
    edit(&mut report);
    assert_invalid(&v, &report, what);
}

#[test]
fn unknown_status_is_rejected() {
    rejects("a check with status MAYBE", |r| {
        r["checks"][0]["status"] = json!("MAYBE");
    });
    rejects("a finding with status MAYBE", |r| {
        r["checks"][7]["findings"][0]["status"] = json!("MAYBE");
    });
    rejects("a summary status in lower case", |r| {
        r["summary"]["status"] = json!("fail");
    });
}

#[test]
fn unknown_fields_are_rejected() {
    rejects("an unknown top-level field", |r| {
        r["extra"] = json!(1);
    });
    rejects("an unknown field in a finding", |r| {
        r["checks"][0]["findings"][0]["severity"] = json!("high");
    });
    rejects("an unknown field in evidence", |r| {
        let f = r["checks"][7]["findings"]
            .as_array_mut()
            .unwrap()
            .iter_mut()
            .find(|f| f["subject"] == "vpc_connector")
            .unwrap();
        f["evidence"][0]["secret_value"] = json!("x");
    });
    rejects("an unknown summary count", |r| {
        r["summary"]["items"]["MAYBE"] = json!(0);
    });
}

#[test]
fn missing_required_fields_are_rejected() {
    rejects("a report without schema_version", |r| {
        r.as_object_mut().unwrap().remove("schema_version");
    });
    rejects("a check without findings", |r| {
        r["checks"][2].as_object_mut().unwrap().remove("findings");
    });
    rejects("a finding without message", |r| {
        r["checks"][0]["findings"][0]
            .as_object_mut()
            .unwrap()
            .remove("message");
    });
    rejects("a summary missing a verdict count", |r| {
        r["summary"]["findings"]
            .as_object_mut()
            .unwrap()
            .remove("REVIEW_REQUIRED");
    });
}

#[test]
fn wrong_enums_and_types_are_rejected() {
    rejects("a check kind outside parity/conformance", |r| {
        r["checks"][0]["kind"] = json!("other");
    });
    rejects("a service action outside the plan actions", |r| {
        r["environments"][0]["services"][0]["action"] = json!("destroy");
    });
    rejects("a check number out of range", |r| {
        r["checks"][0]["number"] = json!(11);
    });
    rejects("a gap with an unknown check", |r| {
        r["gaps"][0]["check"] = json!("vibes");
    });
    rejects("a location line of 0", |r| {
        r["checks"][0]["findings"]
            .as_array_mut()
            .unwrap()
            .iter_mut()
            .find(|f| f["status"] == "FAIL")
            .unwrap()["evidence"][0]["location"]["line"] = json!(0);
    });
    rejects("evidence keys that are not strings", |r| {
        let f = r["checks"][5]["findings"]
            .as_array_mut()
            .unwrap()
            .iter_mut()
            .find(|f| f["role"] == "user-app")
            .unwrap();
        f["evidence"][0]["keys"] = json!([1, 2]);
    });
    rejects("a null role (absent, not null)", |r| {
        r["checks"][0]["findings"][0]["role"] = Value::Null;
    });
}
