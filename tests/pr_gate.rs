//! The PR gate (issue 4): SARIF, JUnit, GitHub annotations, GitLab code quality, the PR
//! comment, `--fail-on`, expired exemptions, baselines, `--only-changed` and completions.

mod common;

use std::collections::{BTreeMap, BTreeSet};
use std::path::Path;

use common::*;
use serde_json::{Value, json};

const TODAY: &str = "2026-11-29";

fn example(format: &str) -> Run {
    let r = run(tfparity(), &["check", "--format", format, "--today", TODAY]);
    r.expect_code(1);
    r
}

/// The example's environments as Terraform directories (findings at `.tf` lines).
fn example_hcl(format: &str) -> Run {
    let r = run(
        tfparity(),
        &[
            "check",
            "--format",
            format,
            "--today",
            TODAY,
            "--env",
            "dev=infra/envs/dev",
            "--env",
            "prod=infra/envs/prod",
        ],
    );
    r.expect_code(1);
    r
}

// ---------------------------------------------------------------------------------------------
// SARIF

fn sarif_validator() -> jsonschema::Validator {
    let text = std::fs::read_to_string(root().join("tests/data/sarif-2.1.0.json"))
        .expect("tests/data/sarif-2.1.0.json exists");
    let schema: Value = serde_json::from_str(&text).expect("the SARIF schema is JSON");
    assert_eq!(
        schema["$id"],
        "https://raw.githubusercontent.com/oasis-tcs/sarif-spec/master/Schemata/sarif-schema-2.1.0.json",
        "the official SARIF 2.1.0 schema"
    );
    jsonschema::draft7::options()
        .should_validate_formats(true)
        .build(&schema)
        .expect("the SARIF schema compiles")
}

#[track_caller]
fn assert_sarif_valid(sarif: &Value, what: &str) {
    let v = sarif_validator();
    let errors: Vec<String> = v
        .iter_errors(sarif)
        .map(|e| format!("{e} at {}", e.instance_path()))
        .collect();
    assert!(
        errors.is_empty(),
        "{what} is not valid SARIF 2.1.0:\n{}",
        errors.join("\n")
    );
}

fn results(sarif: &Value) -> &Vec<Value> {
    sarif["runs"][0]["results"].as_array().expect("results")
}

fn fingerprint(result: &Value) -> String {
    result["partialFingerprints"]["tfparity/v1"]
        .as_str()
        .expect("a tfparity/v1 fingerprint")
        .to_string()
}

fn all_uris(sarif: &Value) -> Vec<(String, Option<String>)> {
    let mut out = Vec::new();
    for r in results(sarif) {
        for key in ["locations", "relatedLocations"] {
            for l in r[key].as_array().into_iter().flatten() {
                let a = &l["physicalLocation"]["artifactLocation"];
                out.push((
                    a["uri"].as_str().unwrap().to_string(),
                    a["uriBaseId"].as_str().map(str::to_string),
                ));
            }
        }
    }
    out
}

#[test]
fn sarif_validates_against_the_official_schema() {
    let plan = example("sarif").json();
    assert_sarif_valid(&plan, "the example's SARIF (plan inputs)");
    let hcl = example_hcl("sarif").json();
    assert_sarif_valid(&hcl, "the example's SARIF (Terraform directories)");
    assert_eq!(plan["version"], "2.1.0");
}

#[test]
fn sarif_has_one_rule_per_check_with_its_docs() {
    let sarif = example("sarif").json();
    let rules = sarif["runs"][0]["tool"]["driver"]["rules"]
        .as_array()
        .unwrap();
    assert_eq!(rules.len(), 10);
    for (i, rule) in rules.iter().enumerate() {
        assert_eq!(rule["id"], format!("PAR{:03}", i + 1));
        let help = rule["help"]["markdown"].as_str().unwrap();
        assert!(help.contains("## What it checks"), "{help}");
        assert!(help.contains("## Declaring an intentional difference"));
        let explain = run(tfparity(), &["explain", rule["id"].as_str().unwrap()]);
        explain.expect_code(0);
        assert!(
            explain.stdout.contains(help.trim()),
            "the rule's help is the check's docs (`tfparity explain`)"
        );
    }
    // Every result names its rule by id and index.
    for r in results(&sarif) {
        let idx = r["ruleIndex"].as_u64().unwrap() as usize;
        assert_eq!(r["ruleId"], rules[idx]["id"]);
    }
}

#[test]
fn sarif_results_carry_status_as_level_and_property() {
    let sarif = example("sarif").json();
    let mut by_status: BTreeMap<String, BTreeSet<String>> = BTreeMap::new();
    for r in results(&sarif) {
        let status = r["properties"]["tfparity/status"].as_str().unwrap();
        by_status
            .entry(status.to_string())
            .or_default()
            .insert(r["level"].as_str().unwrap().to_string());
        match status {
            "INTENTIONAL_DIFF" => {
                let s = &r["suppressions"][0];
                assert_eq!(s["kind"], "external");
                assert_eq!(s["status"], "accepted");
                assert!(
                    s["justification"]
                        .as_str()
                        .unwrap()
                        .contains("intentional_difference")
                );
            }
            _ => assert!(r.get("suppressions").is_none(), "{r}"),
        }
    }
    let levels = |s: &str| by_status[s].iter().cloned().collect::<Vec<_>>();
    assert_eq!(levels("FAIL"), ["error"]);
    assert_eq!(levels("REVIEW_REQUIRED"), ["warning"]);
    assert_eq!(levels("INTENTIONAL_DIFF"), ["note"]);
    assert!(!by_status.contains_key("PASS"), "passes are not results");
    // As many FAIL results as the JSON report has FAIL findings.
    let report = run(tfparity(), &["check", "--format", "json"]).json();
    assert_eq!(
        report["summary"]["findings"]["FAIL"],
        results(&sarif)
            .iter()
            .filter(|r| r["properties"]["tfparity/status"] == "FAIL")
            .count()
    );
}

#[test]
fn sarif_uris_are_repository_relative() {
    for (what, sarif) in [
        ("plan inputs", example("sarif").json()),
        ("Terraform directories", example_hcl("sarif").json()),
    ] {
        let uris = all_uris(&sarif);
        assert!(!uris.is_empty());
        for (uri, base) in &uris {
            assert!(
                !uri.starts_with('/') && !uri.contains("://") && !uri.starts_with("./"),
                "{what}: `{uri}` is not relative"
            );
            assert_eq!(base.as_deref(), Some("%SRCROOT%"), "{what}: {uri}");
            assert!(
                root().join(uri).is_file(),
                "{what}: `{uri}` is no file of the repository"
            );
        }
    }
}

#[test]
fn sarif_points_at_tf_lines_for_terraform_directories() {
    let sarif = example_hcl("sarif").json();
    // Prod's frontend-app runs as the default compute account: the annotation is on the
    // services.tf line that sets it, not on a plan file.
    let r = results(&sarif)
        .iter()
        .find(|r| {
            r["ruleId"] == "PAR004"
                && r["message"]["text"]
                    .as_str()
                    .unwrap()
                    .contains("frontend-app")
        })
        .expect("the frontend-app service account result");
    let loc = &r["locations"][0]["physicalLocation"];
    assert_eq!(
        loc["artifactLocation"]["uri"],
        "infra/envs/prod/services.tf"
    );
    let line = loc["region"]["startLine"].as_u64().unwrap() as usize;
    let text = std::fs::read_to_string(root().join("infra/envs/prod/services.tf")).unwrap();
    let written = text.lines().nth(line - 1).unwrap();
    assert!(
        written.contains("service_account"),
        "line {line} is `{written}`"
    );
    // With plan inputs, the same result points at the plan file.
    let plan = example("sarif").json();
    let r = results(&plan)
        .iter()
        .find(|r| fingerprint(r) == fingerprint(r_with(&sarif, "PAR004", "frontend-app")))
        .expect("the same finding, by fingerprint, with plan inputs");
    assert_eq!(
        r["locations"][0]["physicalLocation"]["artifactLocation"]["uri"],
        "fixtures/plans/prod.plan.json"
    );
    assert!(
        all_uris(&sarif).iter().any(|(u, _)| u.ends_with(".tf")),
        "Terraform directories give .tf locations"
    );
}

fn r_with<'a>(sarif: &'a Value, rule: &str, text: &str) -> &'a Value {
    results(sarif)
        .iter()
        .find(|r| r["ruleId"] == rule && r["message"]["text"].as_str().unwrap().contains(text))
        .unwrap()
}

#[test]
fn sarif_fingerprints_are_unique_and_stable_across_runs() {
    let a = example("sarif");
    let b = example("sarif");
    assert_eq!(a.stdout, b.stdout, "SARIF is byte-identical across runs");
    let prints: Vec<String> = results(&a.json()).iter().map(fingerprint).collect();
    let unique: BTreeSet<&String> = prints.iter().collect();
    assert_eq!(unique.len(), prints.len(), "fingerprints are unique");
    // Fingerprints do not depend on lines, paths or input format: the same findings from
    // the Terraform directories have the same fingerprints where the finding is the same.
    let hcl: BTreeSet<String> = results(&example_hcl("sarif").json())
        .iter()
        .map(fingerprint)
        .collect();
    let shared = prints.iter().filter(|p| hcl.contains(*p)).count();
    assert!(
        shared >= prints.len() / 2,
        "plan and HCL runs share most fingerprints ({shared} of {})",
        prints.len()
    );
}

#[test]
fn fingerprints_survive_moved_lines_and_another_working_directory() {
    let dir = tempfile::tempdir().unwrap();
    let infra = dir.path().join("infra");
    copy_dir(&root().join("infra"), &infra);
    let contract = hcl_contract();
    std::fs::write(dir.path().join("parity.hcl"), &contract).unwrap();
    let run_sarif = || {
        let r = run(
            tfparity_in(dir.path()),
            &["check", "--format", "sarif", "--today", TODAY],
        );
        r.expect_code(1);
        let v = r.json();
        assert_sarif_valid(&v, "SARIF of the copied example");
        let set: BTreeSet<String> = results(&v).iter().map(fingerprint).collect();
        let lines: Vec<u64> = results(&v)
            .iter()
            .filter_map(|r| r["locations"][0]["physicalLocation"]["region"]["startLine"].as_u64())
            .collect();
        (set, lines)
    };
    let (before, lines_before) = run_sarif();
    // Ten comment lines on top of every .tf file move every finding's line.
    for sub in ["envs/dev", "envs/prod", "modules/cloud-run-service"] {
        for entry in std::fs::read_dir(infra.join(sub)).unwrap() {
            let p = entry.unwrap().path();
            if p.extension().is_some_and(|e| e == "tf") {
                let text = std::fs::read_to_string(&p).unwrap();
                std::fs::write(&p, format!("{}{text}", "# moved\n".repeat(10))).unwrap();
            }
        }
    }
    let (after, lines_after) = run_sarif();
    assert_ne!(lines_before, lines_after, "the lines moved");
    assert_eq!(before, after, "the fingerprints did not");
    // And the repository's own run (another directory, other paths) agrees.
    let here: BTreeSet<String> = results(&example_hcl("sarif").json())
        .iter()
        .map(fingerprint)
        .collect();
    assert_eq!(before, here);
}

// ---------------------------------------------------------------------------------------------
// JUnit

#[test]
fn junit_parses_as_xml_with_a_suite_per_check_and_a_case_per_role_and_environment() {
    let r = example("junit");
    let doc = roxmltree::Document::parse(&r.stdout).expect("JUnit output is well-formed XML");
    let top = doc.root_element();
    assert_eq!(top.tag_name().name(), "testsuites");
    let suites: Vec<roxmltree::Node> = top
        .children()
        .filter(|n| n.has_tag_name("testsuite"))
        .collect();
    let names: Vec<&str> = suites
        .iter()
        .map(|s| s.attribute("name").unwrap())
        .collect();
    assert_eq!(
        names,
        [
            "PAR001 role_coverage",
            "PAR002 naming_map",
            "PAR003 ingress",
            "PAR004 service_accounts",
            "PAR005 cpu_memory",
            "PAR006 env_keys",
            "PAR007 secret_refs",
            "PAR008 network",
            "PAR009 domains",
            "PAR010 deploy_workflows",
        ]
    );
    let cases = |suite: &roxmltree::Node| -> BTreeMap<String, &'static str> {
        suite
            .children()
            .filter(|n| n.has_tag_name("testcase"))
            .map(|c| {
                let outcome = if c.children().any(|n| n.has_tag_name("failure")) {
                    "failure"
                } else if c.children().any(|n| n.has_tag_name("skipped")) {
                    "skipped"
                } else {
                    "pass"
                };
                (c.attribute("name").unwrap().to_string(), outcome)
            })
            .collect()
    };
    // Role coverage: one case per role in prod (compared with dev); approvals fails.
    let coverage = cases(&suites[0]);
    assert_eq!(
        coverage,
        BTreeMap::from([
            ("approvals/prod".to_string(), "failure"),
            ("backend/prod".to_string(), "pass"),
            ("marketing/prod".to_string(), "pass"),
            ("support/prod".to_string(), "pass"),
            ("user-app/prod".to_string(), "pass"),
        ])
    );
    // Service accounts: a conformance check, so a case per role in each environment.
    let sa = cases(&suites[3]);
    assert_eq!(sa.len(), 9, "{sa:?}");
    assert_eq!(sa["user-app/prod"], "failure");
    assert_eq!(sa["marketing/prod"], "failure");
    assert_eq!(
        sa["support/prod"], "skipped",
        "REVIEW_REQUIRED is skipped under --fail-on fail"
    );
    assert_eq!(sa["user-app/dev"], "pass");
    // Env keys fail for three roles.
    let keys = cases(&suites[5]);
    let failing: Vec<&String> = keys
        .iter()
        .filter(|(_, o)| **o == "failure")
        .map(|(n, _)| n)
        .collect();
    assert_eq!(failing, ["backend/prod", "support/prod", "user-app/prod"]);
    // Deploy workflows: no role, both environments.
    assert_eq!(
        cases(&suites[9]),
        BTreeMap::from([("workflows/dev,prod".to_string(), "skipped")])
    );
    // The counts agree with the cases.
    for s in &suites {
        let c = cases(s);
        assert_eq!(s.attribute("tests").unwrap(), c.len().to_string());
        let failures = c.values().filter(|o| **o == "failure").count();
        assert_eq!(s.attribute("failures").unwrap(), failures.to_string());
    }
    // With --fail-on review, what needs review fails.
    let strict = run(
        tfparity(),
        &["check", "--format", "junit", "--fail-on", "review"],
    );
    strict.expect_code(1);
    let doc = roxmltree::Document::parse(&strict.stdout).unwrap();
    let wf = doc
        .descendants()
        .find(|n| n.attribute("name") == Some("workflows/dev,prod"))
        .unwrap();
    assert!(wf.children().any(|n| n.has_tag_name("failure")));
    // quick-junit reads it back, too.
    let parsed = quick_junit_counts(&r.stdout);
    assert_eq!(parsed, (10, 54));
}

/// (suites, cases) as quick-junit's own reader sees them.
fn quick_junit_counts(xml: &str) -> (usize, usize) {
    let report = quick_junit::Report::deserialize_from_str(xml).expect("quick-junit reads it");
    let cases = report.test_suites.iter().map(|s| s.test_cases.len()).sum();
    (report.test_suites.len(), cases)
}

// ---------------------------------------------------------------------------------------------
// GitHub annotations, GitLab code quality, the PR comment

#[test]
fn github_annotations_are_workflow_commands_at_tf_lines() {
    let r = example_hcl("github");
    let lines: Vec<&str> = r.stdout.lines().collect();
    assert!(!lines.is_empty());
    for l in &lines {
        assert!(
            l.starts_with("::error ") || l.starts_with("::warning ") || l.starts_with("::notice "),
            "not a workflow command: {l}"
        );
        let (props, _message) = l[2..].split_once("::").expect("props::message");
        for p in props.split_once(' ').unwrap().1.split(',') {
            let (k, _) = p.split_once('=').expect("key=value");
            assert!(["file", "line", "col", "title"].contains(&k), "{p}");
        }
    }
    let fail = lines
        .iter()
        .find(|l| l.contains("`frontend-app` in prod"))
        .unwrap();
    assert!(
        fail.starts_with("::error file=infra/envs/prod/services.tf,line="),
        "{fail}"
    );
    assert!(
        fail.contains(",title=PAR004 service_accounts%3A FAIL::"),
        "{fail}"
    );
    assert!(
        lines
            .last()
            .unwrap()
            .starts_with("::notice title=tfparity verdict::")
    );
    // REVIEW_REQUIRED is a warning unless the gate fails on it.
    assert!(
        lines
            .iter()
            .any(|l| l.starts_with("::warning") && l.contains("PAR010"))
    );
    let strict = run(tfparity(), &["check", "--format", "github", "--strict"]);
    assert!(
        strict
            .stdout
            .lines()
            .any(|l| l.starts_with("::error") && l.contains("PAR010"))
    );
}

#[test]
fn gitlab_code_quality_report_has_the_required_fields() {
    let v = example("gitlab").json();
    let issues = v.as_array().expect("an array of issues");
    let report = run(tfparity(), &["check", "--format", "json"]).json();
    let expected = report["summary"]["findings"]["FAIL"].as_u64().unwrap()
        + report["summary"]["findings"]["REVIEW_REQUIRED"]
            .as_u64()
            .unwrap();
    assert_eq!(issues.len() as u64, expected);
    let mut prints = BTreeSet::new();
    for i in issues {
        for field in ["description", "check_name", "fingerprint", "severity"] {
            assert!(i[field].is_string(), "{field} in {i}");
        }
        assert!(
            ["info", "minor", "major", "critical", "blocker"]
                .contains(&i["severity"].as_str().unwrap())
        );
        let path = i["location"]["path"].as_str().unwrap();
        assert!(
            !path.starts_with('/') && root().join(path).is_file(),
            "{path}"
        );
        assert!(i["location"]["lines"]["begin"].as_u64().unwrap() >= 1);
        assert!(prints.insert(i["fingerprint"].as_str().unwrap().to_string()));
    }
    // Same fingerprints as SARIF.
    let sarif: BTreeSet<String> = results(&example("sarif").json())
        .iter()
        .filter(|r| r["level"] != "note")
        .map(fingerprint)
        .collect();
    assert_eq!(prints, sarif);
}

#[test]
fn markdown_is_a_pr_comment() {
    let r = example("markdown");
    let md = &r.stdout;
    assert!(
        md.starts_with("<!-- tfparity-report -->\n"),
        "the hidden marker comes first"
    );
    assert!(md.contains("**Verdict: FAIL**"));
    assert!(md.contains("the gate fails (`--fail-on fail`)"));
    assert!(md.contains("| # | Check | Status | Findings |"));
    assert!(md.contains("<details><summary><b>1. Service coverage parity by role: FAIL</b>"));
    assert_eq!(
        md.matches("<details>").count(),
        md.matches("</details>").count(),
        "collapsible sections are closed"
    );
    assert!(md.len() < 65_536);
    assert!(!md.contains("Shortened"), "the example fits whole");
    // The summary comes before the details.
    assert!(md.find("## Checklist Results").unwrap() < md.find("## Details").unwrap());
    assert!(md.find("## Highest-Impact Gaps").unwrap() < md.find("## Details").unwrap());
}

// ---------------------------------------------------------------------------------------------
// Snapshots of every format on the example

#[test]
fn snapshots_of_every_format() {
    for format in [
        "text", "markdown", "json", "sarif", "junit", "github", "gitlab",
    ] {
        let r = example(format);
        insta::assert_snapshot!(format!("example_{format}"), r.stdout);
    }
}

// ---------------------------------------------------------------------------------------------
// Exit codes: --fail-on, --strict, expired exemptions

/// A dev/stg pair where nothing fails: stg is dev in another project with bigger front ends,
/// which an intentional difference (expiring 2026-06-30) declares. Only item 10 needs review.
fn dev_stg_dir() -> tempfile::TempDir {
    let dir = tempfile::tempdir().unwrap();
    let stg = std::fs::read_to_string(dev_plan())
        .unwrap()
        .replace("jualuma-dev", "jualuma-stg")
        .replace("jualuma-db-dev", "jualuma-db-stg")
        .replace("\"2Gi\"", "\"4Gi\"");
    std::fs::write(dir.path().join("stg.json"), stg).unwrap();
    let contract = format!(
        r#"reference = "dev"

environment "dev" {{
  sources = ["{}"]
}}

environment "stg" {{
  sources = ["stg.json"]
}}

naming {{
  patterns = {{ dev = "jualuma-{{role}}", stg = "jualuma-{{role}}" }}
}}

intentional_difference "bigger-in-stg" {{
  check     = "cpu_memory"
  attribute = "memory"
  reason    = "Staging runs the load tests."
  owner     = "platform"
  expires   = "2026-06-30"
}}
"#,
        dev_plan().display().to_string().replace('\\', "/")
    );
    std::fs::write(dir.path().join("parity.hcl"), contract).unwrap();
    dir
}

#[test]
fn exit_codes_for_each_fail_on_mode() {
    // The example: items FAIL.
    for (args, code) in [
        (&["--fail-on", "fail"][..], 1),
        (&["--fail-on", "review"], 1),
        (&["--strict"], 1),
        (&["--fail-on", "never"], 0),
    ] {
        let mut a = vec!["check"];
        a.extend_from_slice(args);
        run(tfparity(), &a).expect_code(code);
    }
    // dev/stg: nothing FAILs, one item needs review.
    let dir = dev_stg_dir();
    for (args, code) in [
        (&[][..], 0),
        (&["--fail-on", "fail"], 0),
        (&["--fail-on", "review"], 1),
        (&["--strict"], 1),
        (&["--fail-on", "never"], 0),
    ] {
        let mut a = vec!["check", "--today", "2026-01-01"];
        a.extend_from_slice(args);
        run(tfparity_in(dir.path()), &a).expect_code(code);
    }
    // Bad usage is 2.
    run(tfparity(), &["check", "--fail-on", "sometimes"]).expect_code(2);
    run(tfparity(), &["check", "--strict", "--fail-on", "never"]).expect_code(2);
}

#[test]
fn an_expired_exemption_fails_the_gate_and_says_so() {
    let dir = dev_stg_dir();
    let before = run(
        tfparity_in(dir.path()),
        &["check", "--format", "json", "--today", "2026-06-30"],
    );
    before.expect_code(0);
    assert_eq!(status(&before.json(), 5), "INTENTIONAL_DIFF");

    let after = run(
        tfparity_in(dir.path()),
        &["check", "--format", "json", "--today", "2026-07-01"],
    );
    after.expect_code(1);
    let report = after.json();
    assert_eq!(status(&report, 5), "FAIL");
    for f in findings(&report, 5)
        .iter()
        .filter(|f| f["status"] == "FAIL")
    {
        assert!(
            f["message"]
                .as_str()
                .unwrap()
                .contains("the intentional difference `bigger-in-stg` expired on 2026-06-30"),
            "{f}"
        );
        assert_eq!(f["accepted_by"]["expires"], "2026-06-30");
    }
    // Every format says so: SARIF as an error without a suppression, GitHub as an error.
    let sarif = run(
        tfparity_in(dir.path()),
        &["check", "--format", "sarif", "--today", "2026-07-01"],
    );
    sarif.expect_code(1);
    let v = sarif.json();
    assert_sarif_valid(&v, "SARIF with an expired exemption");
    let expired: Vec<&Value> = results(&v)
        .iter()
        .filter(|r| r["message"]["text"].as_str().unwrap().contains("expired"))
        .collect();
    assert_eq!(expired.len(), 3, "three front ends");
    for r in expired {
        assert_eq!(r["level"], "error");
        assert!(r.get("suppressions").is_none());
    }
    let gh = run(
        tfparity_in(dir.path()),
        &["check", "--format", "github", "--today", "2026-07-01"],
    );
    assert!(
        gh.stdout
            .lines()
            .any(|l| l.starts_with("::error") && l.contains("expired on 2026-06-30"))
    );
    // --fail-on never still exits 0.
    run(
        tfparity_in(dir.path()),
        &["check", "--today", "2026-07-01", "--fail-on", "never"],
    )
    .expect_code(0);
}

// ---------------------------------------------------------------------------------------------
// Baselines

#[test]
fn baseline_round_trip() {
    let dir = tempfile::tempdir().unwrap();
    let b = dir.path().join("parity-baseline.json");
    let bs = b.to_str().unwrap();

    // Writing a baseline accepts every current finding: the run passes, even strict.
    let w = run(
        tfparity(),
        &[
            "check",
            "--strict",
            "--write-baseline",
            bs,
            "--today",
            TODAY,
        ],
    );
    w.expect_code(0);
    let summary =
        run(tfparity(), &["check", "--format", "json"]).json()["summary"]["findings"].clone();
    let open = summary["FAIL"].as_u64().unwrap() + summary["REVIEW_REQUIRED"].as_u64().unwrap();
    assert!(
        w.stderr.contains(&format!("recorded {open} finding(s)")),
        "{}",
        w.stderr
    );
    let leftovers: Vec<_> = std::fs::read_dir(dir.path())
        .unwrap()
        .map(|e| e.unwrap().file_name())
        .collect();
    assert_eq!(
        leftovers.len(),
        1,
        "written atomically, no temporary file left: {leftovers:?}"
    );
    let text = std::fs::read_to_string(&b).unwrap();
    let baseline: Value = serde_json::from_str(&text).unwrap();
    assert_eq!(baseline["tfparity_baseline"], 1);
    let entries = baseline["findings"].as_array().unwrap();
    assert_eq!(
        entries.len() as u64,
        open,
        "every FAIL and REVIEW_REQUIRED finding"
    );
    for e in entries {
        for k in [
            "fingerprint",
            "check",
            "name",
            "status",
            "environments",
            "message",
        ] {
            assert!(!e[k].is_null(), "{k} in {e}");
        }
    }

    // Reading it back: nothing new, the gate passes in every mode; output says so.
    for mode in [&["--fail-on", "fail"][..], &["--strict"]] {
        let mut a = vec!["check", "--baseline", bs];
        a.extend_from_slice(mode);
        let r = run(tfparity(), &a);
        r.expect_code(0);
        assert!(r.stderr.contains("do not count"), "{}", r.stderr);
    }
    let sarif = run(
        tfparity(),
        &[
            "check",
            "--baseline",
            bs,
            "--format",
            "sarif",
            "--today",
            TODAY,
        ],
    );
    sarif.expect_code(0);
    let v = sarif.json();
    assert_sarif_valid(&v, "SARIF with a baseline");
    for r in results(&v) {
        let want = if r["level"] == "note" {
            "new"
        } else {
            "unchanged"
        };
        assert_eq!(r["baselineState"], want, "{r}");
    }
    let md = run(
        tfparity(),
        &["check", "--baseline", bs, "--format", "markdown"],
    );
    assert!(md.stdout.contains("the gate passes"));
    assert!(md.stdout.contains("_(in the baseline)_"));

    // The same run writes the same file: a baseline is stable.
    let b2 = dir.path().join("again.json");
    run(
        tfparity(),
        &[
            "check",
            "--write-baseline",
            b2.to_str().unwrap(),
            "--today",
            TODAY,
        ],
    )
    .expect_code(0);
    assert_eq!(text, std::fs::read_to_string(&b2).unwrap());

    // A finding left out of the baseline is new and fails the gate again.
    let mut edited = baseline.clone();
    let removed = edited["findings"].as_array_mut().unwrap().remove(0);
    std::fs::write(&b, serde_json::to_string_pretty(&edited).unwrap()).unwrap();
    let r = run(
        tfparity(),
        &["check", "--baseline", bs, "--format", "sarif"],
    );
    r.expect_code(1);
    let v = r.json();
    let new: Vec<&Value> = results(&v)
        .iter()
        .filter(|r| r["baselineState"] == "new" && r["level"] != "note")
        .collect();
    assert_eq!(new.len(), 1);
    assert_eq!(
        fingerprint(new[0]),
        removed["fingerprint"].as_str().unwrap()
    );
    // A recorded REVIEW_REQUIRED that is FAIL now counts again.
    let mut worse = baseline.clone();
    for e in worse["findings"].as_array_mut().unwrap() {
        if e["status"] == "FAIL" && e["check"] == "PAR001" {
            e["status"] = json!("REVIEW_REQUIRED");
        }
    }
    std::fs::write(&b, serde_json::to_string_pretty(&worse).unwrap()).unwrap();
    let r = run(
        tfparity(),
        &["check", "--baseline", bs, "--format", "sarif"],
    );
    r.expect_code(1);
    assert!(
        results(&r.json())
            .iter()
            .any(|r| r["baselineState"] == "updated")
    );

    // A missing or broken baseline is an error (2).
    run(
        tfparity(),
        &["check", "--baseline", "/nonexistent/baseline.json"],
    )
    .expect_code(2);
    std::fs::write(&b, "{\"findings\": 3}").unwrap();
    let r = run(tfparity(), &["check", "--baseline", bs]);
    r.expect_code(2);
    assert!(r.stderr.contains("not a tfparity baseline"), "{}", r.stderr);
}

#[test]
fn baseline_matches_across_moved_lines() {
    let dir = tempfile::tempdir().unwrap();
    copy_dir(&root().join("infra"), &dir.path().join("infra"));
    std::fs::write(dir.path().join("parity.hcl"), hcl_contract()).unwrap();
    run(
        tfparity_in(dir.path()),
        &["check", "--write-baseline", "b.json", "--today", TODAY],
    )
    .expect_code(0);
    let services = dir.path().join("infra/envs/prod/services.tf");
    let text = std::fs::read_to_string(&services).unwrap();
    std::fs::write(&services, format!("# a new header\n\n{text}")).unwrap();
    run(
        tfparity_in(dir.path()),
        &["check", "--baseline", "b.json", "--today", TODAY],
    )
    .expect_code(0);
}

// ---------------------------------------------------------------------------------------------
// --only-changed

/// The example's plan with every action `no-op` except resources whose address contains
/// one of `changed`, which get `action`.
fn plan_with_changes(src: &Path, changed: &[&str], action: &str) -> String {
    let mut plan: Value = serde_json::from_str(&std::fs::read_to_string(src).unwrap()).unwrap();
    for rc in plan["resource_changes"].as_array_mut().unwrap() {
        let address = rc["address"].as_str().unwrap().to_string();
        let hit = changed.iter().any(|c| address.contains(c));
        let change = &mut rc["change"];
        if hit {
            change["actions"] = json!([action]);
            if action != "create" {
                change["before"] = change["after"].clone();
            }
        } else {
            change["actions"] = json!(["no-op"]);
            change["before"] = change["after"].clone();
        }
    }
    serde_json::to_string(&plan).unwrap()
}

/// A directory with the shipped contract pointed at two plans whose actions are rewritten:
/// `dev` and `prod` as `plan_with_changes` makes them.
fn changed_plans_dir(dev: (&[&str], &str), prod: (&[&str], &str)) -> tempfile::TempDir {
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(
        dir.path().join("dev.json"),
        plan_with_changes(&dev_plan(), dev.0, dev.1),
    )
    .unwrap();
    std::fs::write(
        dir.path().join("prod.json"),
        plan_with_changes(&prod_plan(), prod.0, prod.1),
    )
    .unwrap();
    let contract = shipped_contract_absolute()
        .replace(
            &format!("{}/plans/dev.plan.json", root().join("fixtures").display()),
            &dir.path().join("dev.json").display().to_string(),
        )
        .replace(
            &format!("{}/plans/prod.plan.json", root().join("fixtures").display()),
            &dir.path().join("prod.json").display().to_string(),
        );
    std::fs::write(dir.path().join("parity.hcl"), contract).unwrap();
    dir
}

fn roles_in(report: &Value) -> BTreeSet<String> {
    report["checks"]
        .as_array()
        .unwrap()
        .iter()
        .flat_map(|c| c["findings"].as_array().unwrap())
        .filter_map(|f| f["role"].as_str().map(str::to_string))
        .collect()
}

#[test]
fn only_changed_with_plans_reports_the_roles_the_plans_change() {
    // Prod creates support-portal (service, invoker, NEG, backend service); dev updates
    // user-app's service; nothing else changes.
    let dir = changed_plans_dir(
        (
            &["module.service[\"jualuma-user-app\"].google_cloud_run_v2_service.this"],
            "update",
        ),
        (&["\"support-portal\""], "create"),
    );

    let full = run(tfparity_in(dir.path()), &["check", "--format", "json"]);
    full.expect_code(1);
    assert_eq!(
        roles_in(&full.json()).len(),
        5,
        "without --only-changed every role is reported"
    );

    let r = run(
        tfparity_in(dir.path()),
        &["check", "--format", "json", "--only-changed"],
    );
    r.expect_code(1);
    let report = r.json();
    assert_eq!(
        roles_in(&report),
        BTreeSet::from(["support".to_string(), "user-app".to_string()])
    );
    assert!(
        r.stderr
            .contains("reporting 2 of 5 role(s): support, user-app (from the plans' actions)"),
        "{}",
        r.stderr
    );
    // Approvals' missing prod service is not this change's business; user-app's failing env
    // keys are.
    assert_eq!(status(&report, 1), "PASS");
    assert_eq!(status(&report, 6), "FAIL");
    // The markdown comment says what it left out.
    let md = run(
        tfparity_in(dir.path()),
        &["check", "--format", "markdown", "--only-changed"],
    );
    assert!(
        md.stdout.contains(
            "Only the roles whose resources change are reported: `support`, `user-app` (2 of 5"
        ),
        "{}",
        md.stdout
    );
    // A plan that changes nothing reports no role; findings about no role stay.
    std::fs::write(
        dir.path().join("prod.json"),
        plan_with_changes(&prod_plan(), &[], "create"),
    )
    .unwrap();
    std::fs::write(
        dir.path().join("dev.json"),
        plan_with_changes(&dev_plan(), &[], "update"),
    )
    .unwrap();
    let r = run(
        tfparity_in(dir.path()),
        &["check", "--format", "json", "--only-changed"],
    );
    r.expect_code(0);
    let report = r.json();
    assert!(roles_in(&report).is_empty());
    assert_eq!(status(&report, 10), "REVIEW_REQUIRED");
}

#[test]
fn only_changed_follows_a_changed_service_account_to_its_service() {
    // Only backend's service account changes, in the reference environment (loaded first):
    // the scope reaches the backend role through the graph's runs-as edge, which is built
    // from the plan's values.
    let dir = changed_plans_dir(
        (&["google_service_account.cr[\"backend\"]"], "update"),
        (&[], "update"),
    );
    let r = run(
        tfparity_in(dir.path()),
        &["check", "--format", "json", "--only-changed"],
    );
    assert!(
        r.stderr.contains("reporting 1 of 5 role(s): backend"),
        "{}",
        r.stderr
    );
    assert!(roles_in(&r.json()).contains("backend"));
}

#[test]
fn only_changed_on_the_example_keeps_every_role_the_plans_create() {
    // The shipped plans create everything (no prior state): every role changes.
    let all = run(tfparity(), &["check", "--format", "json"]);
    let only = run(tfparity(), &["check", "--format", "json", "--only-changed"]);
    only.expect_code(1);
    assert_eq!(all.stdout, only.stdout);
    assert!(
        only.stderr.contains("reporting 5 of 5 role(s)"),
        "{}",
        only.stderr
    );
}

fn git_available() -> bool {
    std::process::Command::new("git")
        .arg("--version")
        .output()
        .is_ok_and(|o| o.status.success())
}

fn git(dir: &Path, args: &[&str]) {
    let out = std::process::Command::new("git")
        .current_dir(dir)
        .args([
            "-c",
            "user.name=tfparity tests",
            "-c",
            "user.email=tests@tfparity.invalid",
            "-c",
            "commit.gpgsign=false",
            "-c",
            "init.defaultBranch=main",
        ])
        .args(args)
        .env_remove("GIT_DIR")
        .env_remove("GIT_WORK_TREE")
        .output()
        .expect("git runs");
    assert!(
        out.status.success(),
        "git {}: {}",
        args.join(" "),
        String::from_utf8_lossy(&out.stderr)
    );
}

/// The shipped contract with the environments read from `infra/envs/*` (HCL).
fn hcl_contract() -> String {
    let text = std::fs::read_to_string(root().join("parity.hcl")).unwrap();
    let text = replace_once(
        &text,
        "sources = [\"fixtures/plans/dev.plan.json\"]",
        "sources = [\"infra/envs/dev\"]",
    );
    replace_once(
        &text,
        "sources = [\"fixtures/plans/prod.plan.json\"]",
        "sources = [\"infra/envs/prod\"]",
    )
}

/// A git repository holding the example's Terraform and a contract that reads it.
fn hcl_repo() -> tempfile::TempDir {
    let dir = tempfile::tempdir().unwrap();
    copy_dir(&root().join("infra"), &dir.path().join("infra"));
    std::fs::write(dir.path().join("parity.hcl"), hcl_contract()).unwrap();
    git(dir.path(), &["init", "-q"]);
    git(dir.path(), &["add", "-A"]);
    git(dir.path(), &["commit", "-q", "-m", "base"]);
    dir
}

fn edit(path: &Path, from: &str, to: &str) {
    let text = std::fs::read_to_string(path).unwrap();
    std::fs::write(path, replace_once(&text, from, to)).unwrap();
}

fn changed_roles(dir: &Path, base: &str) -> (BTreeSet<String>, String) {
    let r = run(
        tfparity_in(dir),
        &[
            "check",
            "--format",
            "json",
            "--only-changed",
            "--base",
            base,
            "--fail-on",
            "never",
        ],
    );
    r.expect_code(0);
    (roles_in(&r.json()), r.stderr)
}

#[test]
fn only_changed_with_terraform_directories_maps_git_changes_to_roles() {
    if !git_available() {
        eprintln!("skipped: git is not installed");
        return;
    }
    let repo = hcl_repo();
    let dir = repo.path();
    // Nothing changed: no role.
    let (roles, stderr) = changed_roles(dir, "HEAD");
    assert!(roles.is_empty(), "{roles:?}");
    assert!(
        stderr.contains("reporting 0 of 5 role(s) (from `git diff HEAD`)"),
        "{stderr}"
    );

    // One entry of dev's service map: its role only.
    let services = dir.join("infra/envs/dev/services.tf");
    let text = std::fs::read_to_string(&services).unwrap();
    let entry = text
        .find("\"jualuma-user-app\" = {")
        .expect("the user-app entry");
    let memory = entry + text[entry..].find("memory          = \"2Gi\"").unwrap();
    let mut edited = text.clone();
    edited.replace_range(
        memory..memory + "memory          = \"2Gi\"".len(),
        "memory          = \"1Gi\"",
    );
    std::fs::write(&services, &edited).unwrap();
    let (roles, _) = changed_roles(dir, "HEAD");
    assert_eq!(roles, BTreeSet::from(["user-app".to_string()]));

    // Committed, then a prod resource block linked to the backend: its secret.
    git(dir, &["commit", "-qam", "user-app memory"]);
    let (roles, _) = changed_roles(dir, "HEAD");
    assert!(roles.is_empty());
    let (roles, _) = changed_roles(dir, "HEAD~1");
    assert_eq!(roles, BTreeSet::from(["user-app".to_string()]));

    // A README or a comment outside any block changes nothing; a line of the shared
    // module's service changes every role.
    std::fs::write(dir.join("infra/README.md"), "changed\n").unwrap();
    let module = dir.join("infra/modules/cloud-run-service/main.tf");
    let text = std::fs::read_to_string(&module).unwrap();
    std::fs::write(&module, format!("{text}\n# a comment at the end\n")).unwrap();
    let (roles, _) = changed_roles(dir, "HEAD");
    assert!(roles.is_empty(), "{roles:?}");
    edit(
        &module,
        "  deletion_protection = false\n",
        "  deletion_protection = true\n",
    );
    let (roles, _) = changed_roles(dir, "HEAD");
    assert_eq!(roles.len(), 5, "{roles:?}");
    git(dir, &["checkout", "-q", "--", "infra"]);

    // A variable of prod's root module: every role deployed in prod.
    edit(
        &dir.join("infra/envs/prod/variables.tf"),
        "  default     = \"us-central1\"",
        "  default     = \"europe-west1\"",
    );
    let (roles, _) = changed_roles(dir, "HEAD");
    assert_eq!(
        roles,
        ["backend", "marketing", "support", "user-app"]
            .iter()
            .map(|s| s.to_string())
            .collect::<BTreeSet<_>>()
    );
    git(dir, &["checkout", "-q", "--", "infra"]);

    // The contract itself: every role.
    let contract = dir.join("parity.hcl");
    let text = std::fs::read_to_string(&contract).unwrap();
    std::fs::write(&contract, format!("{text}\n# reviewed\n")).unwrap();
    let (roles, stderr) = changed_roles(dir, "HEAD");
    assert_eq!(roles.len(), 5, "{stderr}");
}

#[test]
fn only_changed_with_terraform_directories_needs_a_base() {
    let r = run(
        tfparity(),
        &[
            "check",
            "--only-changed",
            "--env",
            "dev=infra/envs/dev",
            "--env",
            "prod=infra/envs/prod",
        ],
    );
    r.expect_code(2);
    assert!(
        r.stderr.contains("--only-changed needs --base REF"),
        "{}",
        r.stderr
    );
    // --base alone is a usage error; so is a revision git does not know.
    run(tfparity(), &["check", "--base", "HEAD"]).expect_code(2);
    if git_available() {
        let r = run(
            tfparity(),
            &[
                "check",
                "--only-changed",
                "--base",
                "no-such-revision-xyz",
                "--env",
                "dev=infra/envs/dev",
                "--env",
                "prod=infra/envs/prod",
            ],
        );
        r.expect_code(2);
        assert!(r.stderr.contains("git"), "{}", r.stderr);
    }
    // --write-baseline records the whole report, so it refuses a partial one.
    run(
        tfparity(),
        &["check", "--only-changed", "--write-baseline", "/tmp/x.json"],
    )
    .expect_code(2);
}

// ---------------------------------------------------------------------------------------------
// explain and completions

#[test]
fn shell_completions() {
    for shell in ["bash", "zsh", "fish"] {
        let r = run(tfparity(), &["completions", shell]);
        r.expect_code(0);
        assert!(r.stdout.contains("tfparity"), "{shell}");
        for word in ["check", "--fail-on", "--only-changed", "sarif", "explain"] {
            assert!(r.stdout.contains(word), "{shell} completion lacks {word}");
        }
    }
    run(tfparity(), &["completions", "tcsh"]).expect_code(2);
}

#[test]
fn explain_prints_a_checks_docs() {
    let r = run(tfparity(), &["explain", "ingress"]);
    r.expect_code(0);
    assert!(r.stdout.starts_with("# PAR003 ingress"));
    assert!(r.stdout.contains("## How to fix"));
    run(tfparity(), &["explain", "ingres"]).expect_code(2);
}

#[test]
fn output_to_a_device_or_through_a_symlink_keeps_what_is_there() {
    use std::os::unix::fs::FileTypeExt;
    // Renaming a temporary file over /dev/null would replace the device with a file, and
    // every later reader of /dev/null (cargo's own probes among them) would read reports.
    let r = run(
        tfparity(),
        &["check", "--format", "json", "--output", "/dev/null"],
    );
    r.expect_code(1);
    let null = std::fs::metadata("/dev/null").unwrap();
    assert!(
        null.file_type().is_char_device(),
        "/dev/null is still a device"
    );

    let dir = tempfile::tempdir().unwrap();
    let real = dir.path().join("real.sarif");
    std::fs::write(&real, "old").unwrap();
    let link = dir.path().join("link.sarif");
    std::os::unix::fs::symlink(&real, &link).unwrap();
    let r = run(
        tfparity(),
        &[
            "check",
            "--format",
            "sarif",
            "--output",
            link.to_str().unwrap(),
        ],
    );
    r.expect_code(1);
    assert!(
        std::fs::symlink_metadata(&link)
            .unwrap()
            .file_type()
            .is_symlink(),
        "the link stays a link"
    );
    let written = std::fs::read_to_string(&real).unwrap();
    assert!(
        written.contains("\"version\": \"2.1.0\""),
        "the report went to the link's target"
    );
}
