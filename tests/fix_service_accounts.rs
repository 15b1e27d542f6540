//! `tfparity fix service-accounts` on a copy of the shipped example: the patch applies with
//! `git apply`, every patched file parses, `terraform fmt -check` passes (when terraform is
//! installed), and `tfparity check` on the patched prod makes item 4 PASS for every prod
//! service while no other item gets worse. Running it twice gives the same patch; on fixed
//! code the patch is empty.

mod common;

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::process::Command;

use common::*;
use serde_json::Value;

/// A copy of `infra/` and `parity.hcl` in a fresh git repository.
struct Copy {
    dir: tempfile::TempDir,
}

impl Copy {
    fn new() -> Copy {
        let dir = tempfile::tempdir().unwrap();
        copy_tree(&root().join("infra"), &dir.path().join("infra"));
        std::fs::copy(root().join("parity.hcl"), dir.path().join("parity.hcl")).unwrap();
        let c = Copy { dir };
        c.git(&["init", "-q"]);
        c.git(&["add", "-A"]);
        c.git(&[
            "-c",
            "user.email=t@example.com",
            "-c",
            "user.name=t",
            "commit",
            "-qm",
            "example",
        ]);
        c
    }

    fn path(&self) -> &Path {
        self.dir.path()
    }

    fn env_args(&self) -> Vec<String> {
        vec![
            "--env".into(),
            format!("prod={}", self.path().join("infra/envs/prod").display()),
            "--env".into(),
            format!("dev={}", self.path().join("infra/envs/dev").display()),
        ]
    }

    fn tfparity(&self, args: &[&str]) -> Run {
        let mut all: Vec<String> = args.iter().map(|s| s.to_string()).collect();
        all.extend(self.env_args());
        let refs: Vec<&str> = all.iter().map(String::as_str).collect();
        run(tfparity_in(self.path()), &refs)
    }

    fn fix(&self) -> Run {
        let r = self.tfparity(&[
            "fix",
            "service-accounts",
            "--target",
            "prod",
            "--reference",
            "dev",
        ]);
        r.expect_code(0);
        r
    }

    fn git(&self, args: &[&str]) -> std::process::Output {
        let out = Command::new("git")
            .args(args)
            .current_dir(self.path())
            .env("GIT_CONFIG_NOSYSTEM", "1")
            .output()
            .expect("git runs");
        assert!(
            out.status.success(),
            "git {args:?} failed: {}",
            String::from_utf8_lossy(&out.stderr)
        );
        out
    }

    fn apply(&self, patch: &str) {
        let file = self.path().join("fix.patch");
        std::fs::write(&file, patch).unwrap();
        self.git(&["apply", "--check", "fix.patch"]);
        self.git(&["apply", "fix.patch"]);
        std::fs::remove_file(file).unwrap();
    }

    /// Every file under the copy (but .git) with its content.
    fn snapshot(&self) -> BTreeMap<PathBuf, Vec<u8>> {
        let mut out = BTreeMap::new();
        let mut stack = vec![self.path().to_path_buf()];
        while let Some(d) = stack.pop() {
            for e in std::fs::read_dir(&d).unwrap().flatten() {
                let p = e.path();
                if p.file_name().is_some_and(|n| n == ".git") {
                    continue;
                }
                if p.is_dir() {
                    stack.push(p);
                } else {
                    out.insert(p.clone(), std::fs::read(&p).unwrap());
                }
            }
        }
        out
    }

    /// The per-item statuses and item 4's prod findings of `tfparity check`.
    fn check(&self) -> (BTreeMap<u64, String>, Value) {
        let r = self.tfparity(&[
            "check",
            "--format",
            "json",
            "--today",
            "2026-03-01",
            "--fail-on",
            "never",
        ]);
        r.expect_code(0);
        let report = r.json();
        let statuses = report["checks"]
            .as_array()
            .unwrap()
            .iter()
            .map(|c| {
                (
                    c["number"].as_u64().unwrap(),
                    c["status"].as_str().unwrap().to_string(),
                )
            })
            .collect();
        (statuses, check(&report, 4).clone())
    }
}

fn copy_tree(from: &Path, to: &Path) {
    std::fs::create_dir_all(to).unwrap();
    for e in std::fs::read_dir(from).unwrap().flatten() {
        let p = e.path();
        let t = to.join(e.file_name());
        if p.is_dir() {
            copy_tree(&p, &t);
        } else {
            std::fs::copy(&p, &t).unwrap();
        }
    }
}

fn rank(status: &str) -> u8 {
    match status {
        "PASS" => 0,
        "INTENTIONAL_DIFF" => 1,
        "REVIEW_REQUIRED" => 2,
        "FAIL" => 3,
        other => panic!("unknown status {other}"),
    }
}

/// Files a unified diff touches (the `b/` side).
fn patched_files(patch: &str) -> Vec<String> {
    patch
        .lines()
        .filter_map(|l| l.strip_prefix("+++ b/"))
        .map(str::to_string)
        .collect()
}

#[test]
fn the_patch_applies_parses_is_formatted_and_fixes_item_4() {
    let copy = Copy::new();
    let (before, _) = copy.check();
    assert_eq!(
        before[&4], "FAIL",
        "the example fails item 4 before the fix"
    );

    let r = copy.fix();
    let patch = r.stdout.clone();
    assert!(!patch.is_empty(), "{}", r.stderr);
    let files = patched_files(&patch);
    assert_eq!(
        files,
        [
            "infra/envs/prod/service_accounts_tfparity.tf",
            "infra/envs/prod/services.tf"
        ]
    );
    assert!(patch.contains("--- /dev/null\n+++ b/infra/envs/prod/service_accounts_tfparity.tf\n"));
    assert!(!patch.contains(".terraform/"));
    // Least privilege: the dev twins hold logging.logWriter, and nothing broad is copied.
    assert!(patch.contains("roles/logging.logWriter"));
    assert!(!patch.contains("roles/editor") && !patch.contains("roles/owner"));
    // The user's comment on the edited line is kept.
    assert!(patch.contains(
        "+      service_account = google_service_account.cr_support.email # not chosen yet"
    ));
    assert!(r.stderr.contains("Nothing was written"), "{}", r.stderr);

    copy.apply(&patch);
    for f in &files {
        let text = std::fs::read_to_string(copy.path().join(f)).unwrap();
        if let Err(e) = hcl_edit::parser::parse_body(&text) {
            panic!("{f} does not parse after the patch: {e}");
        }
    }
    match Command::new("terraform")
        .args(["fmt", "-check", "-recursive", "-list=true", "infra"])
        .current_dir(copy.path())
        .env("CHECKPOINT_DISABLE", "1")
        .output()
    {
        Ok(out) => assert!(
            out.status.success(),
            "terraform fmt -check lists: {}",
            String::from_utf8_lossy(&out.stdout)
        ),
        Err(_) => eprintln!(
            "fix_service_accounts: terraform is not installed: `terraform fmt -check` skipped"
        ),
    }

    let (after, item4) = copy.check();
    assert_eq!(after[&4], "PASS", "{item4:#}");
    let prod: Vec<&Value> = item4["findings"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|f| {
            f["environments"]
                .as_array()
                .unwrap()
                .iter()
                .any(|e| e == "prod")
        })
        .collect();
    assert_eq!(prod.len(), 4, "every prod service: {item4:#}");
    assert!(prod.iter().all(|f| f["status"] == "PASS"), "{item4:#}");
    for (n, status) in &before {
        assert!(
            rank(&after[n]) <= rank(status),
            "item {n} got worse: {status} → {}",
            after[n]
        );
    }
}

#[test]
fn running_twice_gives_the_same_patch_and_fixed_code_an_empty_one() {
    let copy = Copy::new();
    let first = copy.fix();
    let second = copy.fix();
    assert_eq!(first.stdout, second.stdout);
    assert_eq!(first.stderr, second.stderr);

    copy.apply(&first.stdout);
    let again = copy.fix();
    assert_eq!(again.stdout, "", "fixed code gives an empty patch");
    assert!(
        again.stderr.contains("Nothing to fix") && again.stderr.contains("The patch is empty"),
        "{}",
        again.stderr
    );
}

#[test]
fn nothing_changes_on_disk_without_write_and_write_applies_the_patch() {
    let copy = Copy::new();
    let before = copy.snapshot();
    let printed = copy.fix();
    assert_eq!(
        copy.snapshot(),
        before,
        "without --write nothing on disk changes"
    );

    let r = copy.tfparity(&["fix", "service-accounts", "--write"]);
    r.expect_code(0);
    assert_eq!(r.stdout, "");
    assert!(r.stderr.contains("Written"), "{}", r.stderr);
    let written = copy.snapshot();

    // The same as applying the printed patch to a fresh copy.
    let other = Copy::new();
    other.apply(&printed.stdout);
    let strip = |m: BTreeMap<PathBuf, Vec<u8>>, base: &Path| -> BTreeMap<PathBuf, Vec<u8>> {
        m.into_iter()
            .map(|(p, c)| (p.strip_prefix(base).unwrap().to_path_buf(), c))
            .collect()
    };
    assert_eq!(
        strip(written, copy.path()),
        strip(other.snapshot(), other.path())
    );
    let leftovers: Vec<_> = copy
        .snapshot()
        .into_keys()
        .filter(|p| p.to_string_lossy().ends_with(".tmp"))
        .collect();
    assert!(leftovers.is_empty(), "{leftovers:?}");
}

#[test]
fn with_only_plan_json_the_accounts_are_a_standalone_file() {
    let dir = tempfile::tempdir().unwrap();
    let r = run(
        tfparity_in(dir.path()),
        &[
            "fix",
            "service-accounts",
            "--contract",
            root().join("parity.hcl").to_str().unwrap(),
        ],
    );
    r.expect_code(0);
    assert_eq!(patched_files(&r.stdout), ["service_accounts_tfparity.tf"]);
    assert!(
        r.stdout
            .contains("resource \"google_service_account\" \"cr_user_app\"")
    );
    assert!(r.stdout.contains("project      = \"jualuma-prod\""));
    assert!(r.stderr.contains("Standalone file"), "{}", r.stderr);
    assert!(r.stderr.contains("no Terraform directory"), "{}", r.stderr);
    assert!(r.stderr.contains("By hand:"), "{}", r.stderr);
    assert_eq!(
        std::fs::read_dir(dir.path()).unwrap().count(),
        0,
        "nothing written"
    );

    // The standalone file parses and applies in an empty repository.
    let copy = Copy {
        dir: tempfile::tempdir().unwrap(),
    };
    copy.git(&["init", "-q"]);
    copy.apply(&r.stdout);
    let text = std::fs::read_to_string(copy.path().join("service_accounts_tfparity.tf")).unwrap();
    hcl_edit::parser::parse_body(&text).unwrap();
}

#[test]
fn bad_environment_names_are_usage_errors() {
    let copy = Copy::new();
    let r = copy.tfparity(&["fix", "service-accounts", "--target", "prd"]);
    r.expect_code(2);
    assert!(r.stderr.contains("did you mean `prod`"), "{}", r.stderr);
    let r = copy.tfparity(&["fix", "service-accounts", "--target", "dev"]);
    r.expect_code(2);
    assert!(r.stderr.contains("also the reference"), "{}", r.stderr);
}

#[test]
fn help_names_the_command() {
    let r = run(tfparity(), &["fix", "service-accounts", "--help"]);
    r.expect_code(0);
    assert!(r.stdout.contains("--write"), "{}", r.stdout);
}
