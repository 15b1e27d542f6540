//! The shipped example: `tfparity check` in the repository root reproduces the jualuma audit
//! (README "Quick start", design "The shipped example").

mod common;

use common::*;
use serde_json::Value;

fn json_report() -> Value {
    let r = run(tfparity(), &["check", "--format", "json"]);
    r.expect_code(1);
    r.json()
}

#[test]
fn check_exits_1_because_items_fail() {
    let r = run(tfparity(), &["check"]);
    r.expect_code(1);
    assert!(r.stdout.contains("Result: FAIL"), "{}", r.stdout);
}

#[test]
fn item_verdicts_reproduce_the_audit() {
    let report = json_report();
    let expected = [
        (1, "FAIL"),
        (2, "PASS"),
        (3, "INTENTIONAL_DIFF"),
        (4, "FAIL"),
        (5, "INTENTIONAL_DIFF"),
        (6, "FAIL"),
        (7, "PASS"),
        (8, "FAIL"),
        (9, "PASS"),
        (10, "REVIEW_REQUIRED"),
    ];
    let checks = report["checks"].as_array().unwrap();
    assert_eq!(checks.len(), 10, "ten checklist items");
    let got: Vec<(u64, &str)> = checks
        .iter()
        .map(|c| (c["number"].as_u64().unwrap(), c["status"].as_str().unwrap()))
        .collect();
    let want: Vec<(u64, &str)> = expected.iter().map(|(n, s)| (*n, *s)).collect();
    assert_eq!(got, want);

    // The summary agrees with the items.
    assert_eq!(report["summary"]["status"], "FAIL");
    let items = &report["summary"]["items"];
    assert_eq!(items["FAIL"], 4);
    assert_eq!(items["PASS"], 3);
    assert_eq!(items["INTENTIONAL_DIFF"], 2);
    assert_eq!(items["REVIEW_REQUIRED"], 1);
    assert_eq!(report["reference"], "dev");
    assert_eq!(report["contract"]["path"], "parity.hcl");
}

#[test]
fn item_verdict_is_its_worst_finding() {
    let report = json_report();
    let rank = |s: &str| match s {
        "PASS" => 0,
        "INTENTIONAL_DIFF" => 1,
        "REVIEW_REQUIRED" => 2,
        "FAIL" => 3,
        other => panic!("unknown status {other}"),
    };
    for c in report["checks"].as_array().unwrap() {
        let worst = c["findings"]
            .as_array()
            .unwrap()
            .iter()
            .map(|f| rank(f["status"].as_str().unwrap()))
            .max()
            .unwrap_or(0);
        assert_eq!(
            rank(c["status"].as_str().unwrap()),
            worst,
            "item {} verdict is not its worst finding",
            c["number"]
        );
    }
}

#[test]
fn item_8_fails_on_prod_backend_vpc_connector_and_accepts_cloud_sql() {
    let report = json_report();
    let f8 = findings(&report, 8);

    let vpc: Vec<&Value> = f8
        .iter()
        .filter(|f| f["subject"] == "vpc_connector")
        .collect();
    assert_eq!(vpc.len(), 1, "one vpc_connector finding: {f8:#?}");
    let vpc = vpc[0];
    assert_eq!(vpc["status"], "FAIL");
    assert_eq!(vpc["role"], "backend");
    assert!(strings(&vpc["environments"]).contains(&"prod".to_string()));
    // The evidence shows the connector dev has and prod lacks, on the backend resources.
    let prod_ev = vpc["evidence"]
        .as_array()
        .unwrap()
        .iter()
        .find(|e| e["environment"] == "prod")
        .expect("evidence from prod");
    assert!(
        prod_ev["address"]
            .as_str()
            .unwrap()
            .contains("jualuma-backend"),
        "{prod_ev}"
    );
    assert!(
        prod_ev["attribute"]
            .as_str()
            .unwrap()
            .contains("vpc_access.connector")
    );
    let dev_ev = vpc["evidence"]
        .as_array()
        .unwrap()
        .iter()
        .find(|e| e["environment"] == "dev")
        .expect("evidence from dev");
    assert_eq!(dev_ev["value"], "jualuma-dev-connector");

    let sql: Vec<&Value> = f8.iter().filter(|f| f["subject"] == "cloud_sql").collect();
    assert_eq!(sql.len(), 1, "one cloud_sql finding: {f8:#?}");
    assert_eq!(sql[0]["status"], "INTENTIONAL_DIFF");
    assert_eq!(
        sql[0]["accepted_by"]["name"], "own-database-per-environment",
        "accepted by the contract's declaration"
    );
    assert_eq!(sql[0]["accepted_by"]["location"]["file"], "parity.hcl");
}

/// The evidence `keys` of a role's env_keys finding, per environment.
fn env_key_evidence(report: &Value, role: &str) -> (Vec<String>, Vec<String>) {
    let f6 = findings(report, 6);
    let f: Vec<&Value> = f6
        .iter()
        .filter(|f| f["role"] == role && f["status"] == "FAIL")
        .collect();
    assert_eq!(f.len(), 1, "one FAIL finding for role {role}: {f6:#?}");
    let keys_in = |env: &str| -> Vec<String> {
        let mut keys: Vec<String> = f[0]["evidence"]
            .as_array()
            .unwrap()
            .iter()
            .filter(|e| e["environment"] == env)
            .flat_map(|e| match e.get("keys") {
                Some(k) => strings(k),
                None => Vec::new(),
            })
            .collect();
        keys.sort();
        keys.dedup();
        keys
    };
    (keys_in("dev"), keys_in("prod"))
}

#[test]
fn item_6_names_the_exact_env_keys() {
    let report = json_report();
    assert_eq!(status(&report, 6), "FAIL");

    let (dev, prod) = env_key_evidence(&report, "user-app");
    assert_eq!(dev, ["VITE_API_TARGET", "VITE_MARKETING_URL"]);
    assert_eq!(prod, ["API_BASE_URL"]);

    let (dev, prod) = env_key_evidence(&report, "support");
    assert_eq!(dev, ["VITE_API_BASE_URL"]);
    assert_eq!(prod, ["API_BASE_URL"]);

    let (dev, prod) = env_key_evidence(&report, "backend");
    assert!(dev.is_empty(), "backend has no dev-only keys: {dev:?}");
    assert_eq!(
        prod,
        ["STRIPE_PRICE_ID_PRO_ANNUAL", "STRIPE_PRICE_ID_PRO_MONTHLY"]
    );

    // The other roles have no env key failures.
    for f in findings(&report, 6) {
        if f["status"] == "FAIL" {
            let role = f["role"].as_str().unwrap();
            assert!(["user-app", "support", "backend"].contains(&role), "{f}");
        }
    }
}

#[test]
fn env_var_values_never_reach_the_report() {
    // A value that is in the plan fixtures in clear text (marked sensitive only by
    // `after_sensitive`); no output format may print it.
    // Also env var values of the prod backend (the Stripe price ids), which are plain
    // literals: reports name keys, never values.
    let plans = std::fs::read_to_string(dev_plan()).unwrap()
        + &std::fs::read_to_string(prod_plan()).unwrap();
    let values = [
        "dev-jwt-signing-key-not-a-real-secret",
        "price_1PqRsT2uVwXyZ0aKlMnOpQrS",
        "price_1PqRsT2uVwXyZ0aBcDeFgHiJ",
    ];
    for v in values {
        assert!(plans.contains(v), "the fixtures still hold `{v}`");
    }
    for format in ["text", "markdown", "json"] {
        let r = run(tfparity(), &["check", "--format", format, "--verbose"]);
        r.expect_code(1);
        for v in values {
            assert!(
                !r.stdout.contains(v),
                "{format} output prints the value `{v}`"
            );
        }
    }
    let r = run(tfparity(), &["inventory", "--format", "json"]);
    r.expect_code(0);
    for v in values {
        assert!(!r.stdout.contains(v), "inventory prints the value `{v}`");
    }
}

#[test]
fn gaps_are_ranked_by_score() {
    let report = json_report();
    let gaps = report["gaps"].as_array().unwrap();
    let checks: Vec<&str> = gaps.iter().map(|g| g["check"].as_str().unwrap()).collect();
    let mut sorted = checks.clone();
    sorted.sort();
    assert_eq!(
        sorted,
        ["env_keys", "network", "role_coverage", "service_accounts"],
        "one gap per failing check, and only those"
    );

    // Each failing item has a gap and vice versa.
    let mut failing: Vec<&str> = report["checks"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|c| c["status"] == "FAIL")
        .map(|c| c["name"].as_str().unwrap())
        .collect();
    failing.sort();
    assert_eq!(failing, sorted);

    let ranks: Vec<u64> = gaps.iter().map(|g| g["rank"].as_u64().unwrap()).collect();
    assert_eq!(ranks, (1..=gaps.len() as u64).collect::<Vec<_>>());

    let scores: Vec<u64> = gaps.iter().map(|g| g["score"].as_u64().unwrap()).collect();
    assert!(
        scores.windows(2).all(|w| w[0] >= w[1]),
        "scores descend: {scores:?}"
    );
    // Ties go to the lower item number.
    for w in gaps.windows(2) {
        if w[0]["score"] == w[1]["score"] {
            assert!(w[0]["id"].as_str() < w[1]["id"].as_str(), "{w:?}");
        }
    }
    // The documented rule: impact × roles failing. Service accounts (5) fail for
    // user-app and marketing in prod; env keys (3) for three roles; network (3) for backend;
    // role coverage (2) for approvals.
    assert_eq!(
        checks,
        ["service_accounts", "env_keys", "network", "role_coverage"]
    );
    assert_eq!(scores, [10, 9, 3, 2]);
    for g in gaps {
        assert!(
            !g["fix"].as_str().unwrap().is_empty(),
            "every gap has a fix"
        );
    }
}

#[test]
fn strict_and_fail_on_review_exit_1() {
    run(tfparity(), &["check", "--strict"]).expect_code(1);
    run(tfparity(), &["check", "--fail-on", "review"]).expect_code(1);
    run(tfparity(), &["check", "--fail-on", "fail"]).expect_code(1);
}

#[test]
fn fail_on_never_exits_0() {
    let r = run(tfparity(), &["check", "--fail-on", "never"]);
    r.expect_code(0);
    // Still the full report.
    assert!(r.stdout.contains("Result: FAIL"), "{}", r.stdout);
}

#[test]
fn output_is_byte_identical_across_runs() {
    for format in ["text", "markdown", "json"] {
        let a = tfparity()
            .args(["check", "--format", format])
            .output()
            .unwrap();
        let b = tfparity()
            .args(["check", "--format", format])
            .output()
            .unwrap();
        assert!(!a.stdout.is_empty(), "{format} output is empty");
        assert_eq!(a.stdout, b.stdout, "{format} output differs between runs");
    }
}

#[test]
fn no_colour_when_not_a_terminal() {
    // assert_cmd pipes stdout and stderr: neither is a terminal.
    for args in [
        &["check"][..],
        &["check", "--verbose"],
        &["check", "--format", "markdown"],
        &["inventory"],
    ] {
        let r = run(tfparity(), args);
        assert!(
            !r.stdout.contains('\u{1b}') && !r.stderr.contains('\u{1b}'),
            "escape codes in `tfparity {}` output",
            args.join(" ")
        );
    }
    // Nor in a report written to a file.
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("report.txt");
    run(tfparity(), &["check", "--output", out.to_str().unwrap()]).expect_code(1);
    let text = std::fs::read_to_string(&out).unwrap();
    assert!(text.contains("Result: FAIL"));
    assert!(!text.contains('\u{1b}'), "escape codes in --output file");
}

#[test]
fn output_file_matches_stdout() {
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("report.json");
    let r = run(
        tfparity(),
        &[
            "check",
            "--format",
            "json",
            "--output",
            out.to_str().unwrap(),
        ],
    );
    r.expect_code(1);
    assert!(r.stdout.is_empty(), "the report goes to the file only");
    let written = std::fs::read_to_string(&out).unwrap();
    assert_eq!(written, json_report_text());
    // Atomic write: no temporary file left beside it.
    let names: Vec<String> = std::fs::read_dir(dir.path())
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .collect();
    assert_eq!(names, ["report.json"]);
}

fn json_report_text() -> String {
    let r = run(tfparity(), &["check", "--format", "json"]);
    r.expect_code(1);
    r.stdout
}

#[test]
fn markdown_report_snapshot() {
    let r = run(
        tfparity(),
        &["check", "--format", "markdown", "--today", "2026-11-29"],
    );
    r.expect_code(1);
    assert!(r.stdout.starts_with("<!-- tfparity-report -->"));
    insta::assert_snapshot!("example_audit_markdown", r.stdout);
}

#[test]

fn inventory_json_and_report_json_agree_on_service_kind() {
    let report = json_report();
    let r = run(tfparity(), &["inventory", "--format", "json"]);
    r.expect_code(0);
    let inventory = r.json();
    let kinds = |v: &Value| -> Vec<(String, String)> {
        let mut out: Vec<(String, String)> = v["environments"]
            .as_array()
            .unwrap()
            .iter()
            .flat_map(|e| e["services"].as_array().unwrap().iter())
            .map(|s| {
                (
                    s["address"].as_str().unwrap().to_string(),
                    s["kind"].as_str().unwrap().to_string(),
                )
            })
            .collect();
        out.sort();
        out
    };
    assert_eq!(kinds(&inventory), kinds(&report));
}

#[test]
fn commands_named_in_fixes_exist() {
    let report = json_report();
    for g in report["gaps"].as_array().unwrap() {
        let fix = g["fix"].as_str().unwrap();
        // Every `tfparity SUBCOMMAND ...` in backticks.
        for quoted in fix.split('`').skip(1).step_by(2) {
            let Some(rest) = quoted.strip_prefix("tfparity ") else {
                continue;
            };
            let mut args: Vec<&str> = rest
                .split_whitespace()
                .take_while(|a| !a.starts_with('-') && *a == a.to_lowercase())
                .collect();
            args.push("--help");
            let r = run(tfparity(), &args);
            assert_eq!(
                r.code,
                Some(0),
                "gap `{}` names `{quoted}`, which does not run: {}",
                g["check"],
                r.stderr
            );
        }
    }
}

/// Runs `tfparity check` in the repository root under a pseudo-terminal (util-linux
/// `script`), returning what the terminal showed; None when `script` is not installed.
fn check_on_a_terminal(no_color: Option<&str>) -> Option<String> {
    let bin = env!("CARGO_BIN_EXE_tfparity");
    let mut cmd = std::process::Command::new("script");
    cmd.current_dir(root())
        .args(["-qec", &format!("'{bin}' check"), "/dev/null"])
        .env_remove("NO_COLOR")
        .stdin(std::process::Stdio::null());
    if let Some(v) = no_color {
        cmd.env("NO_COLOR", v);
    }
    match cmd.output() {
        Ok(out) => Some(String::from_utf8_lossy(&out.stdout).into_owned()),
        Err(e) => {
            eprintln!("terminal colour test skipped: cannot run `script` ({e})");
            None
        }
    }
}

#[test]
fn colour_on_a_terminal_unless_no_color() {
    let Some(tty) = check_on_a_terminal(None) else {
        return;
    };
    assert!(tty.contains("Result:"), "the report ran: {tty}");
    assert!(tty.contains("\u{1b}["), "colour on a terminal");
    let Some(plain) = check_on_a_terminal(Some("1")) else {
        return;
    };
    assert!(plain.contains("Result: FAIL"), "the report ran: {plain}");
    assert!(!plain.contains('\u{1b}'), "no colour with NO_COLOR set");
}
