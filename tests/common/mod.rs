//! Helpers shared by the integration tests: run the binary, parse its JSON, build contracts
//! in temporary directories. Every test runs the real `tfparity` binary; none needs
//! terraform or the network.

#![allow(dead_code)]

use std::path::{Path, PathBuf};

use assert_cmd::Command;
use serde_json::Value;

/// The repository root (where `parity.hcl` and `fixtures/` live).
pub fn root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

pub fn dev_plan() -> PathBuf {
    root().join("fixtures/plans/dev.plan.json")
}

pub fn prod_plan() -> PathBuf {
    root().join("fixtures/plans/prod.plan.json")
}

/// `tfparity` with NO_COLOR and friends cleared, so tests do not depend on the caller's
/// environment, run in `dir`.
pub fn tfparity_in(dir: &Path) -> Command {
    let mut cmd = Command::cargo_bin("tfparity").expect("the tfparity binary is built");
    cmd.current_dir(dir)
        .env_remove("NO_COLOR")
        .env_remove("CLICOLOR")
        .env_remove("CLICOLOR_FORCE")
        .env_remove("FORCE_COLOR");
    cmd
}

/// `tfparity` run in the repository root.
pub fn tfparity() -> Command {
    tfparity_in(&root())
}

/// What one run gave back.
pub struct Run {
    pub code: Option<i32>,
    pub stdout: String,
    pub stderr: String,
}

impl Run {
    /// stdout parsed as JSON; panics with the run's output when it is not.
    pub fn json(&self) -> Value {
        serde_json::from_str(&self.stdout).unwrap_or_else(|e| {
            panic!(
                "stdout is not JSON ({e}); exit {:?}\nstdout:\n{}\nstderr:\n{}",
                self.code, self.stdout, self.stderr
            )
        })
    }

    /// Asserts the exit code, showing the output when it differs.
    #[track_caller]
    pub fn expect_code(&self, code: i32) -> &Self {
        assert_eq!(
            self.code,
            Some(code),
            "unexpected exit code\nstdout:\n{}\nstderr:\n{}",
            truncate(&self.stdout),
            self.stderr
        );
        self
    }
}

fn truncate(s: &str) -> &str {
    match s.char_indices().nth(4000) {
        Some((i, _)) => &s[..i],
        None => s,
    }
}

/// Runs `cmd` with `args` and collects exit code and output.
pub fn run(mut cmd: Command, args: &[&str]) -> Run {
    let out = cmd.args(args).output().expect("tfparity runs");
    Run {
        code: out.status.code(),
        stdout: String::from_utf8(out.stdout).expect("stdout is UTF-8"),
        stderr: String::from_utf8(out.stderr).expect("stderr is UTF-8"),
    }
}

/// The item with number `n` from a JSON report.
pub fn check(report: &Value, n: u64) -> &Value {
    report["checks"]
        .as_array()
        .expect("`checks` is an array")
        .iter()
        .find(|c| c["number"] == n)
        .unwrap_or_else(|| panic!("no item {n} in the report"))
}

/// The verdict of item `n`.
pub fn status(report: &Value, n: u64) -> &str {
    check(report, n)["status"]
        .as_str()
        .expect("status is a string")
}

/// The findings of item `n`.
pub fn findings(report: &Value, n: u64) -> &Vec<Value> {
    check(report, n)["findings"]
        .as_array()
        .expect("findings is an array")
}

/// Strings of a JSON array, sorted, for comparing as sets.
pub fn strings(v: &Value) -> Vec<String> {
    let mut out: Vec<String> = v
        .as_array()
        .unwrap_or_else(|| panic!("expected an array, got {v}"))
        .iter()
        .map(|s| s.as_str().expect("a string").to_string())
        .collect();
    out.sort();
    out
}

/// The shipped contract, as text, with its `sources` rewritten to absolute paths of the
/// fixtures so it works from any directory.
pub fn shipped_contract_absolute() -> String {
    let text = std::fs::read_to_string(root().join("parity.hcl")).expect("parity.hcl is readable");
    let fixtures = root()
        .join("fixtures")
        .display()
        .to_string()
        .replace('\\', "/");
    let rewritten = text.replace("\"fixtures/", &format!("\"{fixtures}/"));
    assert_ne!(rewritten, text, "parity.hcl has `sources` under fixtures/");
    assert!(
        !rewritten.contains("\"fixtures/"),
        "every source path was rewritten"
    );
    rewritten
}

/// Replaces exactly one occurrence of `from` in `text` (so a test fails loudly when the
/// shipped contract changes under it).
#[track_caller]
pub fn replace_once(text: &str, from: &str, to: &str) -> String {
    assert_eq!(
        text.matches(from).count(),
        1,
        "expected exactly one `{from}` in the contract"
    );
    text.replacen(from, to, 1)
}

/// 1-based line and column (in bytes) of the first occurrence of `needle` in `text`.
#[track_caller]
pub fn line_col_of(text: &str, needle: &str) -> (usize, usize) {
    let at = text
        .find(needle)
        .unwrap_or_else(|| panic!("`{needle}` not in the text"));
    let before = &text[..at];
    let line = before.matches('\n').count() + 1;
    let col = at - before.rfind('\n').map(|i| i + 1).unwrap_or(0) + 1;
    (line, col)
}

/// Copies a directory tree (without Terraform's `.terraform` working directories).
pub fn copy_dir(from: &Path, to: &Path) {
    std::fs::create_dir_all(to).unwrap();
    for entry in std::fs::read_dir(from).unwrap() {
        let entry = entry.unwrap();
        let target = to.join(entry.file_name());
        if entry.file_type().unwrap().is_dir() {
            if entry.file_name() == ".terraform" {
                continue;
            }
            copy_dir(&entry.path(), &target);
        } else {
            std::fs::copy(entry.path(), &target).unwrap();
        }
    }
}
