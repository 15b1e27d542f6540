//! The HCL source gives the same verdicts as the plan JSON on the shipped example.

use std::collections::{BTreeMap, BTreeSet};

use assert_cmd::Command;
use serde_json::Value;

fn check(args: &[&str]) -> Value {
    let out = Command::cargo_bin("tfparity")
        .unwrap()
        .current_dir(env!("CARGO_MANIFEST_DIR"))
        .args(["check", "--format", "json", "--today", "2026-11-29"])
        .args(args)
        .output()
        .unwrap();
    assert_eq!(
        out.status.code(),
        Some(1),
        "stderr: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    serde_json::from_slice(&out.stdout).unwrap()
}

/// Per check: its status, the subjects of its findings and every key named in evidence.
fn summary(report: &Value) -> BTreeMap<String, (String, BTreeSet<String>, BTreeSet<String>)> {
    report["checks"]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| {
            let findings = c["findings"].as_array().unwrap();
            let subjects = findings
                .iter()
                .filter_map(|f| f["subject"].as_str().map(str::to_string))
                .collect();
            let keys = findings
                .iter()
                .flat_map(|f| f["evidence"].as_array().unwrap().iter())
                .flat_map(|e| e["keys"].as_array().cloned().unwrap_or_default())
                .filter_map(|k| k.as_str().map(str::to_string))
                .collect();
            (
                c["name"].as_str().unwrap().to_string(),
                (c["status"].as_str().unwrap().to_string(), subjects, keys),
            )
        })
        .collect()
}

#[test]
fn hcl_directories_reach_the_plans_verdicts() {
    let plan = check(&[]);
    let hcl = check(&[
        "--env",
        "dev=infra/envs/dev",
        "--env",
        "prod=infra/envs/prod",
    ]);
    assert_eq!(hcl["environments"][0]["sources"][0]["kind"], "hcl");
    assert_eq!(plan["environments"][0]["sources"][0]["kind"], "plan");
    let (p, h) = (summary(&plan), summary(&hcl));
    for (name, (status, subjects, keys)) in &p {
        let (hs, hsub, hkeys) = &h[name];
        assert_eq!(status, hs, "item {name}: plan {status}, hcl {hs}");
        assert_eq!(subjects, hsub, "item {name}: subjects differ");
        assert_eq!(keys, hkeys, "item {name}: evidence keys differ");
    }
}

#[test]
fn hcl_findings_point_at_tf_lines() {
    let hcl = check(&[
        "--env",
        "dev=infra/envs/dev",
        "--env",
        "prod=infra/envs/prod",
    ]);
    let ingress = hcl["checks"]
        .as_array()
        .unwrap()
        .iter()
        .find(|c| c["name"] == "ingress")
        .unwrap();
    let locations: Vec<String> = ingress["findings"]
        .as_array()
        .unwrap()
        .iter()
        .flat_map(|f| f["evidence"].as_array().unwrap().iter())
        .filter(|e| e["address"].is_string())
        .filter_map(|e| e["location"]["file"].as_str().map(str::to_string))
        .collect();
    assert!(!locations.is_empty());
    assert!(
        locations.iter().all(|f| f.ends_with(".tf")),
        "{locations:?}"
    );
    // prod's ingress is decided in its services.tf, where the module call sets it.
    assert!(
        locations.iter().any(|f| f == "infra/envs/prod/services.tf"),
        "{locations:?}"
    );
}
