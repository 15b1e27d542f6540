//! Without a contract: `--env NAME=PATH` alone works, pairing services by name, and says
//! what it assumed.

mod common;

use common::*;
use serde_json::Value;

fn env_args() -> Vec<String> {
    vec![
        "--env".into(),
        format!("dev={}", dev_plan().display()),
        "--env".into(),
        format!("prod={}", prod_plan().display()),
    ]
}

fn check_in_empty_dir(extra: &[&str]) -> (tempfile::TempDir, Run) {
    let dir = tempfile::tempdir().unwrap();
    let mut args: Vec<String> = vec!["check".into()];
    args.extend(extra.iter().map(|s| s.to_string()));
    args.extend(env_args());
    let args: Vec<&str> = args.iter().map(String::as_str).collect();
    let r = run(tfparity_in(dir.path()), &args);
    (dir, r)
}

#[test]
fn text_report_says_no_contract_and_what_it_assumed() {
    let (_dir, r) = check_in_empty_dir(&[]);
    r.expect_code(1);
    let out = r.stdout.to_lowercase();
    assert!(out.contains("no contract"), "{}", r.stdout);
    assert!(out.contains("assumed"), "{}", r.stdout);
    assert!(
        out.contains("paired by identical name"),
        "says how services were paired: {}",
        r.stdout
    );
    assert!(
        out.contains("`dev`") && out.contains("reference"),
        "says which environment is the reference: {}",
        r.stdout
    );
}

#[test]
fn markdown_report_says_no_contract() {
    let (_dir, r) = check_in_empty_dir(&["--format", "markdown"]);
    r.expect_code(1);
    assert!(
        r.stdout.to_lowercase().contains("no contract"),
        "{}",
        r.stdout
    );
}

fn json_report() -> Value {
    let (_dir, r) = check_in_empty_dir(&["--format", "json"]);
    r.expect_code(1);
    r.json()
}

#[test]
fn json_report_records_the_assumptions() {
    let rep = json_report();
    assert!(rep["contract"]["path"].is_null(), "{}", rep["contract"]);
    let assumptions = strings(&rep["contract"]["assumptions"]);
    assert!(!assumptions.is_empty());
    assert!(
        assumptions
            .iter()
            .any(|a| a.contains("no contract was found")),
        "{assumptions:?}"
    );
    assert_eq!(rep["reference"], "dev", "the first environment");
    let envs: Vec<&str> = rep["environments"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["name"].as_str().unwrap())
        .collect();
    assert_eq!(envs, ["dev", "prod"]);
}

#[test]
fn backend_pairs_by_name() {
    let rep = json_report();
    // Role coverage: the backend, deployed under one name in both, is one role present in
    // both environments.
    let backend: Vec<&Value> = findings(&rep, 1)
        .iter()
        .filter(|f| {
            f["role"]
                .as_str()
                .is_some_and(|r| r.contains("jualuma-backend"))
        })
        .collect();
    assert_eq!(backend.len(), 1, "{:#?}", findings(&rep, 1));
    assert_eq!(backend[0]["status"], "PASS");
    // And it is compared across environments: its Stripe keys exist only in prod.
    let env_keys: Vec<&Value> = findings(&rep, 6)
        .iter()
        .filter(|f| f["status"] == "FAIL")
        .collect();
    assert_eq!(env_keys.len(), 1, "{:#?}", findings(&rep, 6));
    assert!(
        env_keys[0]["role"]
            .as_str()
            .unwrap()
            .contains("jualuma-backend")
    );
    let prod_keys: Vec<String> = env_keys[0]["evidence"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|e| e["environment"] == "prod")
        .flat_map(|e| e.get("keys").map(strings).unwrap_or_default())
        .collect();
    assert_eq!(
        prod_keys,
        ["STRIPE_PRICE_ID_PRO_ANNUAL", "STRIPE_PRICE_ID_PRO_MONTHLY"]
    );
}

#[test]
fn one_environment_services_fail_role_coverage() {
    let rep = json_report();
    assert_eq!(status(&rep, 1), "FAIL");
    let failing: Vec<String> = findings(&rep, 1)
        .iter()
        .filter(|f| f["status"] == "FAIL")
        .map(|f| f["role"].as_str().unwrap().to_string())
        .collect();
    // Differently named services cannot be paired without a contract: each is a role
    // present in one environment only.
    for service in [
        "jualuma-approvals",
        "jualuma-user-app",
        "jualuma-marketing",
        "jualuma-support",
        "frontend-app",
        "marketing-site",
        "support-portal",
    ] {
        assert!(
            failing.iter().any(|r| r == service),
            "`{service}` fails role coverage: {failing:?}"
        );
    }
    assert!(!failing.iter().any(|r| r.contains("backend")));
}

#[test]
fn undeclared_other_differences_need_review() {
    // The ingress difference of the backend is declared in the shipped contract; without one
    // it is REVIEW_REQUIRED, not FAIL and not INTENTIONAL_DIFF.
    let rep = json_report();
    assert_eq!(status(&rep, 3), "REVIEW_REQUIRED");
    for c in rep["checks"].as_array().unwrap() {
        for f in c["findings"].as_array().unwrap() {
            assert_ne!(
                f["status"], "INTENTIONAL_DIFF",
                "nothing is intentional without a contract: {f}"
            );
        }
    }
}

#[test]
fn neither_contract_nor_env_is_exit_2_with_help() {
    let dir = tempfile::tempdir().unwrap();
    let r = run(tfparity_in(dir.path()), &["check"]);
    r.expect_code(2);
    assert!(r.stdout.is_empty());
    assert!(r.stderr.starts_with("error: "), "{}", r.stderr);
    assert!(
        r.stderr.contains("parity.hcl"),
        "names the file looked for: {}",
        r.stderr
    );
    assert!(
        r.stderr.contains("--contract") && r.stderr.contains("--env"),
        "says how to give the environments: {}",
        r.stderr
    );
}

#[test]
fn one_environment_is_not_enough_to_check() {
    let dir = tempfile::tempdir().unwrap();
    let r = run(
        tfparity_in(dir.path()),
        &["check", "--env", &format!("dev={}", dev_plan().display())],
    );
    r.expect_code(2);
    assert!(r.stderr.contains("--env"), "{}", r.stderr);
}

#[test]
fn missing_contract_file_is_exit_2() {
    let dir = tempfile::tempdir().unwrap();
    let r = run(
        tfparity_in(dir.path()),
        &["check", "--contract", "nope.hcl"],
    );
    r.expect_code(2);
    assert!(r.stderr.contains("nope.hcl"), "{}", r.stderr);
}

#[test]
fn missing_source_file_is_exit_2_naming_it() {
    let dir = tempfile::tempdir().unwrap();
    let r = run(
        tfparity_in(dir.path()),
        &[
            "check",
            "--env",
            "dev=missing-dev.json",
            "--env",
            &format!("prod={}", prod_plan().display()),
        ],
    );
    r.expect_code(2);
    assert!(r.stderr.contains("missing-dev.json"), "{}", r.stderr);
}

#[test]
fn environment_name_suffix_is_removed_when_pairing() {
    // `api-dev` and `api-prod` pair as role `api` (the environment's name as a whole token).
    let dir = tempfile::tempdir().unwrap();
    let dev = std::fs::read_to_string(dev_plan()).unwrap();
    let prod = std::fs::read_to_string(prod_plan()).unwrap();
    // Rename the backend in each plan: jualuma-backend → jualuma-backend-<env>.
    let dev = dev.replace("\"jualuma-backend\"", "\"jualuma-backend-dev\"");
    let prod = prod.replace("\"jualuma-backend\"", "\"jualuma-backend-prod\"");
    std::fs::write(dir.path().join("dev.json"), dev).unwrap();
    std::fs::write(dir.path().join("prod.json"), prod).unwrap();
    let r = run(
        tfparity_in(dir.path()),
        &[
            "check",
            "--format",
            "json",
            "--env",
            "dev=dev.json",
            "--env",
            "prod=prod.json",
        ],
    );
    r.expect_code(1);
    let rep = r.json();
    let names: Vec<Vec<String>> = rep["environments"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| {
            e["services"]
                .as_array()
                .unwrap()
                .iter()
                .map(|s| s["name"].as_str().unwrap().to_string())
                .collect()
        })
        .collect();
    assert!(
        names[0].contains(&"jualuma-backend-dev".to_string()),
        "{names:?}"
    );
    assert!(
        names[1].contains(&"jualuma-backend-prod".to_string()),
        "{names:?}"
    );
    let backend: Vec<&Value> = findings(&rep, 1)
        .iter()
        .filter(|f| f["role"].as_str().is_some_and(|r| r.contains("backend")))
        .collect();
    assert_eq!(backend.len(), 1, "one role for both: {backend:#?}");
    assert_eq!(backend[0]["role"], "jualuma-backend");
    assert_eq!(backend[0]["status"], "PASS");
}

#[test]
fn exit_0_when_nothing_fails_and_1_with_strict_when_review_is_needed() {
    // dev against a copy of itself in another project: the Cloud SQL instance name differs
    // after normalising environment names (`jualuma-db-dev` is kept in the copy), which
    // without a contract needs review.
    let dir = tempfile::tempdir().unwrap();
    let stg = std::fs::read_to_string(dev_plan())
        .unwrap()
        .replace("jualuma-dev", "jualuma-stg");
    std::fs::write(dir.path().join("stg.json"), stg).unwrap();
    let dev = format!("dev={}", dev_plan().display());
    let args = ["check", "--env", &dev, "--env", "stg=stg.json"];
    let r = run(tfparity_in(dir.path()), &args);
    r.expect_code(0);
    assert!(r.stdout.contains("REVIEW_REQUIRED"), "{}", r.stdout);
    let mut strict = args.to_vec();
    strict.push("--strict");
    run(tfparity_in(dir.path()), &strict).expect_code(1);
    let mut review = args.to_vec();
    review.extend(["--fail-on", "review"]);
    run(tfparity_in(dir.path()), &review).expect_code(1);
}
