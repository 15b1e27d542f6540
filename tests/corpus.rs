//! Real-world Terraform JSON nobody on this team wrote (`../shared/corpus`, beside the
//! repository): every file either inventories (exit 0, JSON on stdout) or is refused with a
//! message naming it (exit 2). Never a panic, never another exit code.

mod common;

use std::path::{Path, PathBuf};

use common::*;

fn corpus() -> Option<PathBuf> {
    let dir = root().join("../shared/corpus");
    if dir.is_dir() {
        Some(dir)
    } else {
        eprintln!(
            "corpus test skipped: {} does not exist (the shared corpus sits beside the repository only on the team's machines and in CI)",
            dir.display()
        );
        None
    }
}

fn files_in(dir: &Path) -> Vec<PathBuf> {
    let mut files: Vec<PathBuf> = std::fs::read_dir(dir)
        .unwrap_or_else(|e| panic!("{}: {e}", dir.display()))
        .map(|e| e.unwrap().path())
        .filter(|p| p.is_file())
        .collect();
    files.sort();
    files
}

/// An environment name made from a file name (letters, digits, `-` and `_` only).
fn env_name(file: &Path) -> String {
    file.file_name()
        .unwrap()
        .to_string_lossy()
        .chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() || c == '_' {
                c
            } else {
                '-'
            }
        })
        .collect()
}

fn inventory(file: &Path) -> Run {
    let dir = tempfile::tempdir().unwrap();
    let name = env_name(file);
    run(
        tfparity_in(dir.path()),
        &[
            "inventory",
            &name,
            "--env",
            &format!("{name}={}", file.display()),
            "--format",
            "json",
        ],
    )
}

#[test]
fn every_plan_and_state_inventories_or_is_refused_clearly() {
    let Some(corpus) = corpus() else { return };
    let mut refused = Vec::new();
    let mut count = 0;
    for sub in ["plan-json", "state-json"] {
        for file in files_in(&corpus.join(sub)) {
            count += 1;
            let r = inventory(&file);
            let shown = file.display().to_string();
            match r.code {
                Some(0) => {
                    let v = r.json();
                    let envs = v["environments"].as_array().unwrap_or_else(|| {
                        panic!("{shown}: inventory JSON has no environments: {v}")
                    });
                    assert_eq!(envs.len(), 1, "{shown}: one environment");
                    assert!(envs[0]["services"].is_array(), "{shown}: {v}");
                }
                Some(2) => {
                    assert!(
                        r.stderr.starts_with("error: "),
                        "{shown}: exit 2 without an `error:` message: {}",
                        r.stderr
                    );
                    assert!(
                        r.stderr.contains(&shown),
                        "{shown}: the message does not name the file: {}",
                        r.stderr
                    );
                    refused.push(file.file_name().unwrap().to_string_lossy().into_owned());
                }
                other => panic!(
                    "{shown}: exit {other:?} (101 is a panic)\nstderr:\n{}",
                    r.stderr
                ),
            }
        }
    }
    assert!(count >= 20, "the corpus has its files ({count})");
    // The only file that is not `terraform show -json` output is the Terraform Cloud
    // redacted plan.
    assert_eq!(refused, ["tf-core-plan-json-full-redacted-tfc.json"]);
}

#[test]
fn terraform_cloud_redacted_plan_is_refused_by_name() {
    let Some(corpus) = corpus() else { return };
    let file = corpus.join("plan-json/tf-core-plan-json-full-redacted-tfc.json");
    let r = inventory(&file);
    r.expect_code(2);
    assert!(r.stdout.is_empty());
    assert!(
        r.stderr.to_lowercase().contains("redacted plan"),
        "says it is a redacted plan: {}",
        r.stderr
    );
    assert!(
        r.stderr.contains("terraform show -json"),
        "says what to pass instead: {}",
        r.stderr
    );
}

#[test]
fn tgc_cloud_run_example_has_one_service() {
    let Some(corpus) = corpus() else { return };
    let file = corpus.join("plan-json/tgc-example_cloud_run_service.tfplan.json");
    let r = inventory(&file);
    r.expect_code(0);
    let v = r.json();
    let services = v["environments"][0]["services"].as_array().unwrap();
    assert_eq!(services.len(), 1, "{v:#}");
    assert_eq!(services[0]["name"], "cloudrun-to-get-cai");
    assert_eq!(services[0]["address"], "google_cloud_run_service.default");
}

#[test]
fn non_cloud_run_plans_have_no_services() {
    let Some(corpus) = corpus() else { return };
    for name in [
        "plan-json/checkov-aws-55-resources-0.1.json",
        "plan-json/tf-core-show-json-modules.json",
        "state-json/tfjson-no-changes-state.json",
    ] {
        let r = inventory(&corpus.join(name));
        r.expect_code(0);
        let v = r.json();
        assert_eq!(
            v["environments"][0]["services"].as_array().unwrap().len(),
            0,
            "{name}"
        );
    }
}

#[test]
fn plan_json_line_streams_never_crash() {
    // `terraform plan -json` streams: read (exit 0, JSON) or refused naming the file (exit 2).
    let Some(corpus) = corpus() else { return };
    let dir = corpus.join("plan-jsonl");
    if !dir.is_dir() {
        eprintln!(
            "plan-jsonl corpus test skipped: {} does not exist",
            dir.display()
        );
        return;
    }
    for file in files_in(&dir) {
        let r = inventory(&file);
        let shown = file.display().to_string();
        match r.code {
            Some(0) => {
                r.json();
            }
            Some(2) => {
                assert!(r.stderr.starts_with("error: "), "{shown}: {}", r.stderr);
                assert!(r.stderr.contains(&shown), "{shown}: {}", r.stderr);
            }
            other => panic!("{shown}: exit {other:?}: {}", r.stderr),
        }
    }
}

#[test]
fn state_and_plan_sources_are_detected() {
    let Some(corpus) = corpus() else { return };
    // One of each kind `check` can read, each compared with itself.
    for (name, kind) in [
        (
            "plan-json/tgc-example_cloud_run_service.tfplan.json",
            "plan",
        ),
        ("state-json/tfjson-no-changes-state.json", "state"),
        (
            "state-json/raw-tfstate-v4-driftctl-google-sql-database-instance.tfstate.json",
            "tfstate",
        ),
    ] {
        let file = corpus.join(name);
        let dir = tempfile::tempdir().unwrap();
        let r = run(
            tfparity_in(dir.path()),
            &[
                "check",
                "--format",
                "json",
                "--fail-on",
                "never",
                "--env",
                &format!("a={}", file.display()),
                "--env",
                &format!("b={}", file.display()),
            ],
        );
        r.expect_code(0);
        let v = r.json();
        assert_eq!(v["environments"][0]["sources"][0]["kind"], kind, "{name}");
    }
}

/// Every Terraform directory of the corpus (any folder holding `.tf` files) inventories, with
/// its Cloud Run services listed, or — the `tgc-*` ones, which are Terraform Google
/// Conversion's test data, not valid Terraform — is refused with file:line:column.
#[test]
fn every_hcl_directory_inventories_or_gives_a_placed_parse_error() {
    let Some(corpus) = corpus() else { return };
    let mut dirs: Vec<PathBuf> = Vec::new();
    let mut stack = vec![corpus.join("hcl")];
    while let Some(d) = stack.pop() {
        let mut has_tf = false;
        for e in std::fs::read_dir(&d).unwrap() {
            let p = e.unwrap().path();
            if p.is_dir() {
                stack.push(p);
            } else if p.extension().is_some_and(|x| x == "tf") {
                has_tf = true;
            }
        }
        if has_tf {
            dirs.push(d);
        }
    }
    dirs.sort();
    assert!(
        dirs.len() >= 10,
        "the corpus has {} HCL directories",
        dirs.len()
    );
    let (mut with_services, mut refused) = (0, 0);
    for dir in &dirs {
        let r = inventory(dir);
        let shown = dir.display().to_string();
        let invalid = dir
            .strip_prefix(corpus.join("hcl"))
            .unwrap()
            .components()
            .next()
            .is_some_and(|c| c.as_os_str().to_string_lossy().starts_with("tgc-"));
        if invalid {
            assert_eq!(r.code, Some(2), "{shown}: {}", r.stderr);
            // `error: <dir>/<file>.tf:LINE:COL: ...`
            let placed = r.stderr.split(".tf:").nth(1).is_some_and(|rest| {
                let mut parts = rest.splitn(3, ':');
                parts.next().is_some_and(|l| l.parse::<usize>().is_ok())
                    && parts.next().is_some_and(|c| c.parse::<usize>().is_ok())
            });
            assert!(placed, "{shown}: no file:line:column in {}", r.stderr);
            refused += 1;
            continue;
        }
        assert_eq!(r.code, Some(0), "{shown}: {}", r.stderr);
        let v = r.json();
        let services = v["environments"][0]["services"]
            .as_array()
            .map_or(0, Vec::len);
        if services > 0 {
            with_services += 1;
        }
    }
    eprintln!(
        "corpus: {} HCL directories: {with_services} with services, {refused} refused as invalid",
        dirs.len()
    );
    assert!(
        with_services >= dirs.len() / 2,
        "most directories define Cloud Run services"
    );
}
