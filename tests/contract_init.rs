//! `tfparity contract init` proposes the audit's own role map from the example's two
//! environments, as a contract that parses and that `check` reads with the audit's verdicts
//! for items 1 and 2; it never overwrites a file. `tfparity contract render` of the shipped
//! contract is committed as `infra/PARITY_CONTRACT.md`, and the two must not drift apart.

mod common;

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use common::{Run, dev_plan, prod_plan, root, run, status, tfparity, tfparity_in};

/// Runs `contract init` on the example's plans in a fresh directory; returns the directory,
/// the proposal's path and the run.
fn init_in_tempdir(extra: &[&str]) -> (tempfile::TempDir, PathBuf, Run) {
    let dir = tempfile::tempdir().expect("tempdir");
    let out = dir.path().join("parity.hcl");
    let dev = format!("dev={}", dev_plan().display());
    let prod = format!("prod={}", prod_plan().display());
    let mut args = vec!["contract", "init", "--env", &dev, "--env", &prod];
    args.extend_from_slice(extra);
    let r = run(tfparity_in(dir.path()), &args);
    r.expect_code(0);
    (dir, out, r)
}

/// The role map of a contract file: role → (environment → service), and `only_in`.
fn role_map(path: &Path) -> BTreeMap<String, BTreeMap<String, String>> {
    let c = tfparity::contract::parse::read(path)
        .unwrap_or_else(|e| panic!("the proposal parses: {e}"));
    c.roles
        .iter()
        .map(|r| {
            (
                r.name.clone(),
                r.services
                    .iter()
                    .map(|(e, s)| (e.clone(), s.value.clone()))
                    .collect(),
            )
        })
        .collect()
}

fn audit_role_map() -> BTreeMap<String, BTreeMap<String, String>> {
    let m = |pairs: &[(&str, &str)]| -> BTreeMap<String, String> {
        pairs
            .iter()
            .map(|(e, s)| (e.to_string(), s.to_string()))
            .collect()
    };
    BTreeMap::from([
        (
            "user-app".to_string(),
            m(&[("dev", "jualuma-user-app"), ("prod", "frontend-app")]),
        ),
        (
            "marketing".to_string(),
            m(&[("dev", "jualuma-marketing"), ("prod", "marketing-site")]),
        ),
        (
            "support".to_string(),
            m(&[("dev", "jualuma-support"), ("prod", "support-portal")]),
        ),
        (
            "backend".to_string(),
            m(&[("dev", "jualuma-backend"), ("prod", "jualuma-backend")]),
        ),
        ("approvals".to_string(), m(&[("dev", "jualuma-approvals")])),
    ])
}

#[test]
fn init_proposes_the_audits_role_map() {
    let (_dir, out, r) = init_in_tempdir(&[]);
    assert!(
        r.stderr.contains("5 role(s): 4 paired, 1 open decision(s)"),
        "{}",
        r.stderr
    );
    assert_eq!(role_map(&out), audit_role_map());
    let c = tfparity::contract::parse::read(&out).unwrap();
    assert_eq!(c.reference, "dev");
    // Approvals is an open decision: a role in dev only, with no `only_in` decided for it.
    let approvals = c.roles.iter().find(|r| r.name == "approvals").unwrap();
    assert!(approvals.only_in.is_none());
    // Nothing is accepted on the team's behalf.
    assert!(c.differences.is_empty());
    assert!(c.key_renames.is_empty() && c.key_only.is_empty());
}

#[test]
fn every_role_carries_its_evidence_and_confidence() {
    let (_dir, out, _) = init_in_tempdir(&[]);
    let text = std::fs::read_to_string(&out).unwrap();
    let lines: Vec<&str> = text.lines().collect();
    for (i, l) in lines.iter().enumerate() {
        if !l.starts_with("role \"") {
            continue;
        }
        // The comment block right above the role.
        let mut j = i;
        while j > 0 && lines[j - 1].starts_with('#') {
            j -= 1;
        }
        let comment = lines[j..i].join("\n");
        assert!(comment.contains("confidence"), "{l}:\n{comment}");
        assert!(comment.contains("evidence"), "{l}:\n{comment}");
    }
    // The pair names hardest to see carries the evidence that decided it.
    let user_app = text
        .split("\n\n")
        .find(|b| b.contains("role \"user-app\""))
        .unwrap();
    assert!(
        user_app.contains("same image repository `{project}/jualuma/user-app`"),
        "{user_app}"
    );
    assert!(user_app.contains("confidence medium"), "{user_app}");
    let backend = text
        .split("\n\n")
        .find(|b| b.contains("role \"backend\""))
        .unwrap();
    assert!(backend.contains("confidence high"), "{backend}");
    let approvals = text
        .split("\n\n")
        .find(|b| b.contains("role \"approvals\""))
        .unwrap();
    assert!(approvals.contains("OPEN DECISION"), "{approvals}");
    assert!(approvals.contains("only_in = [\"dev\"]"), "{approvals}");
}

#[test]
fn check_with_the_proposal_gives_items_1_and_2_the_audits_verdicts() {
    let (dir, out, _) = init_in_tempdir(&[]);
    let r = run(
        tfparity_in(dir.path()),
        &[
            "check",
            "--contract",
            out.to_str().unwrap(),
            "--format",
            "json",
        ],
    );
    r.expect_code(1);
    let report = r.json();
    // Item 1 FAIL: dev has jualuma-approvals and prod has no equivalent service.
    assert_eq!(status(&report, 1), "FAIL");
    let fails: Vec<&serde_json::Value> = common::findings(&report, 1)
        .iter()
        .filter(|f| f["status"] == "FAIL")
        .collect();
    assert_eq!(fails.len(), 1);
    assert_eq!(fails[0]["role"], "approvals");
    // Item 2 PASS: every deployed service is in a role and every named service exists.
    assert_eq!(status(&report, 2), "PASS");
}

#[test]
fn accepting_the_proposed_differences_declares_them() {
    let (dir, out, _) = init_in_tempdir(&[]);
    let text = std::fs::read_to_string(&out).unwrap();
    // Uncomment every proposed block and give it a reason, as a team accepting all would.
    let mut accepted = String::new();
    let mut inside = false;
    for l in text.lines() {
        if l.starts_with("# intentional_difference ") {
            inside = true;
        }
        if inside {
            let body = l.strip_prefix("# ").unwrap();
            let body = if body.trim_start().starts_with("reason") {
                "  reason    = \"Accepted in the test.\"".to_string()
            } else {
                body.to_string()
            };
            accepted.push_str(&body);
            accepted.push('\n');
            if body == "}" {
                inside = false;
            }
        } else {
            accepted.push_str(l);
            accepted.push('\n');
        }
    }
    assert!(accepted.matches("intentional_difference \"").count() >= 5);
    let path = dir.path().join("accepted.hcl");
    std::fs::write(&path, &accepted).unwrap();
    let r = run(
        tfparity_in(dir.path()),
        &[
            "check",
            "--contract",
            path.to_str().unwrap(),
            "--format",
            "json",
        ],
    );
    let report = r.json();
    // Every difference the proposal wrote a block for is now an intentional difference.
    for n in [3, 5, 6, 8] {
        assert_eq!(status(&report, n), "INTENTIONAL_DIFF", "item {n}");
    }
    let fails: Vec<String> = report["checks"]
        .as_array()
        .unwrap()
        .iter()
        .flat_map(|c| c["findings"].as_array().unwrap())
        .filter(|f| f["status"] == "FAIL")
        .map(|f| f["message"].as_str().unwrap().to_string())
        .collect();
    assert_eq!(
        fails,
        vec![
            "role `approvals` has no service in prod (present in `dev`), and the contract does not say it may be absent"
                .to_string()
        ],
        "only the open decision still fails"
    );
    // An accepted block whose reason is left empty does not parse.
    let empty = accepted.replacen("\"Accepted in the test.\"", "\"\"", 1);
    std::fs::write(&path, empty).unwrap();
    let r = run(
        tfparity_in(dir.path()),
        &["contract", "validate", path.to_str().unwrap()],
    );
    r.expect_code(2);
    assert!(r.stderr.contains("`reason` must say why"), "{}", r.stderr);
}

#[test]
fn init_never_overwrites_a_file() {
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("parity.hcl");
    std::fs::write(&out, "# the team's own contract\n").unwrap();
    let dev = format!("dev={}", dev_plan().display());
    let prod = format!("prod={}", prod_plan().display());
    // Default output (parity.hcl in the working directory), and an explicit one.
    for args in [
        vec!["contract", "init", "--env", &dev, "--env", &prod],
        vec![
            "contract",
            "init",
            "--env",
            &dev,
            "--env",
            &prod,
            "--output",
            out.to_str().unwrap(),
        ],
    ] {
        let r = run(tfparity_in(dir.path()), &args);
        r.expect_code(2);
        assert!(r.stderr.contains("already exists"), "{}", r.stderr);
        assert!(r.stderr.contains("never overwrites"), "{}", r.stderr);
        assert_eq!(
            std::fs::read_to_string(&out).unwrap(),
            "# the team's own contract\n"
        );
    }
    // No temporary file is left behind either.
    let entries: Vec<_> = std::fs::read_dir(dir.path()).unwrap().collect();
    assert_eq!(entries.len(), 1);
}

#[test]
fn init_is_deterministic_and_can_print() {
    let dir = tempfile::tempdir().unwrap();
    let dev = format!("dev={}", dev_plan().display());
    let prod = format!("prod={}", prod_plan().display());
    let args = [
        "contract", "init", "--env", &dev, "--env", &prod, "--output", "-",
    ];
    let a = run(tfparity_in(dir.path()), &args);
    a.expect_code(0);
    let b = run(tfparity_in(dir.path()), &args);
    assert_eq!(a.stdout, b.stdout);
    assert!(a.stdout.starts_with("# Parity contract proposed by"));
    // Nothing written.
    assert_eq!(std::fs::read_dir(dir.path()).unwrap().count(), 0);
    // And the file written there is what stdout showed.
    let r = run(
        tfparity_in(dir.path()),
        &["contract", "init", "--env", &dev, "--env", &prod],
    );
    r.expect_code(0);
    let written = std::fs::read_to_string(dir.path().join("parity.hcl")).unwrap();
    assert_eq!(written, a.stdout);
}

#[test]
fn sources_are_written_relative_to_the_proposal() {
    let r = run(
        tfparity(),
        &[
            "contract",
            "init",
            "--env",
            "dev=fixtures/plans/dev.plan.json",
            "--env",
            "prod=fixtures/plans/prod.plan.json",
            "--output",
            "-",
        ],
    );
    r.expect_code(0);
    assert!(
        r.stdout
            .contains("sources = [\"fixtures/plans/dev.plan.json\"]"),
        "{}",
        r.stdout
    );
    // Written into a subdirectory, the paths climb out of it and still resolve.
    std::fs::create_dir_all(root().join("target")).unwrap();
    let dir = tempfile::Builder::new()
        .prefix("init-")
        .tempdir_in(root().join("target"))
        .unwrap();
    let out = dir.path().join("proposal.hcl");
    let r = run(
        tfparity(),
        &[
            "contract",
            "init",
            "--env",
            "dev=fixtures/plans/dev.plan.json",
            "--env",
            "prod=fixtures/plans/prod.plan.json",
            "--output",
            out.to_str().unwrap(),
        ],
    );
    r.expect_code(0);
    let text = std::fs::read_to_string(&out).unwrap();
    assert!(
        text.contains("sources = [\"../../fixtures/plans/dev.plan.json\"]"),
        "{text}"
    );
    let r = run(
        tfparity(),
        &[
            "check",
            "--contract",
            out.to_str().unwrap(),
            "--format",
            "json",
        ],
    );
    assert_eq!(status(&r.json(), 2), "PASS");
}

#[test]
fn init_reads_terraform_directories_too() {
    let r = run(
        tfparity(),
        &[
            "contract",
            "init",
            "--env",
            "dev=infra/envs/dev",
            "--env",
            "prod=infra/envs/prod",
            "--output",
            "-",
        ],
    );
    r.expect_code(0);
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("p.hcl");
    // Written to stdout as if for ./parity.hcl: make its paths absolute to read it here.
    let infra = root().join("infra").display().to_string();
    std::fs::write(&path, r.stdout.replace("\"infra/", &format!("\"{infra}/"))).unwrap();
    assert_eq!(role_map(&path), audit_role_map());
}

#[test]
fn init_needs_two_environments() {
    let dir = tempfile::tempdir().unwrap();
    let dev = format!("dev={}", dev_plan().display());
    let r = run(
        tfparity_in(dir.path()),
        &["contract", "init", "--env", &dev],
    );
    r.expect_code(2);
    assert!(r.stderr.contains("at least two"), "{}", r.stderr);
    let prod = format!("prod={}", prod_plan().display());
    let r = run(
        tfparity_in(dir.path()),
        &[
            "contract",
            "init",
            "--env",
            &dev,
            "--env",
            &prod,
            "--reference",
            "stg",
        ],
    );
    r.expect_code(2);
    assert!(r.stderr.contains("--reference `stg`"), "{}", r.stderr);
}

#[test]
fn no_env_var_value_reaches_the_proposal() {
    let (_dir, out, _) = init_in_tempdir(&[]);
    let text = std::fs::read_to_string(out).unwrap();
    for plan in [dev_plan(), prod_plan()] {
        let v: serde_json::Value =
            serde_json::from_str(&std::fs::read_to_string(plan).unwrap()).unwrap();
        let mut values = Vec::new();
        collect_env_values(&v, &mut values);
        assert!(!values.is_empty());
        for value in values.iter().filter(|v| v.len() >= 8) {
            assert!(!text.contains(value.as_str()), "`{value}` in the proposal");
        }
    }
    assert!(!text.contains("not-a-real-secret"));
}

fn collect_env_values(v: &serde_json::Value, out: &mut Vec<String>) {
    match v {
        serde_json::Value::Object(m) => {
            if let Some(serde_json::Value::Array(env)) = m.get("env") {
                for e in env {
                    if let Some(s) = e.get("value").and_then(|x| x.as_str()) {
                        out.push(s.to_string());
                    }
                }
            }
            m.values().for_each(|x| collect_env_values(x, out));
        }
        serde_json::Value::Array(a) => a.iter().for_each(|x| collect_env_values(x, out)),
        _ => {}
    }
}

// ---------------------------------------------------------------------------------------
// contract render

#[test]
fn the_committed_parity_contract_page_matches_the_contract() {
    let r = run(tfparity(), &["contract", "render"]);
    r.expect_code(0);
    let committed = std::fs::read_to_string(root().join("infra/PARITY_CONTRACT.md"))
        .expect("infra/PARITY_CONTRACT.md is committed");
    assert!(
        committed == r.stdout,
        "infra/PARITY_CONTRACT.md has drifted from parity.hcl: run `cargo run -- contract render --output infra/PARITY_CONTRACT.md` and commit it"
    );
    // What the audit's mapping section holds: role, service per environment, reasons.
    for needle in [
        "| **user-app** | `jualuma-user-app` | `frontend-app` |",
        "| **approvals** | `jualuma-approvals` | — | **Open decision**",
        "Prod is reached only through the HTTPS load balancer",
        "Static front ends",
        "Each environment attaches its own Cloud SQL instance",
    ] {
        assert!(committed.contains(needle), "{needle}");
    }
}

#[test]
fn render_check_reports_drift() {
    let dir = tempfile::tempdir().unwrap();
    let page = dir.path().join("PARITY_CONTRACT.md");
    let page_s = page.to_str().unwrap();
    let r = run(tfparity(), &["contract", "render", "--output", page_s]);
    r.expect_code(0);
    let r = run(
        tfparity(),
        &["contract", "render", "--output", page_s, "--check"],
    );
    r.expect_code(0);
    std::fs::write(&page, "stale\n").unwrap();
    let r = run(
        tfparity(),
        &["contract", "render", "--output", page_s, "--check"],
    );
    r.expect_code(1);
    assert!(
        r.stderr.contains("differs from the rendering"),
        "{}",
        r.stderr
    );
    assert_eq!(std::fs::read_to_string(&page).unwrap(), "stale\n");
    let r = run(tfparity(), &["contract", "render", "missing.hcl"]);
    r.expect_code(2);
}

#[test]
fn a_proposal_renders() {
    let (dir, out, _) = init_in_tempdir(&[]);
    let r = run(
        tfparity_in(dir.path()),
        &["contract", "render", out.to_str().unwrap()],
    );
    r.expect_code(0);
    assert!(
        r.stdout
            .contains("| **user-app** | `jualuma-user-app` | `frontend-app` |"),
        "{}",
        r.stdout
    );
    assert!(r.stdout.contains("**Open decision**: no service in prod"));
}
