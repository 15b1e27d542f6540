//! The fuzz targets' entry points (fuzz/harness.rs, included as is) run over every input kept
//! in tests/fuzz-regressions/<target>/: crashes the fuzzers found, and inputs that reached new
//! code. Each must load or be refused with a message, within the fuzzers' time limit, and the
//! same input must always come to the same outcome.

#[path = "../fuzz/harness.rs"]
mod harness;

use std::path::Path;
use std::time::{Duration, Instant};

/// libFuzzer's `-timeout` in fuzz/run.sh, with room for a debug build.
const LIMIT: Duration = Duration::from_secs(20);

fn inputs(target: &str) -> Vec<std::path::PathBuf> {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("tests/fuzz-regressions")
        .join(target);
    let mut files: Vec<_> = std::fs::read_dir(&dir)
        .unwrap_or_else(|e| panic!("{}: {e}", dir.display()))
        .map(|e| e.unwrap().path())
        .filter(|p| p.is_file())
        .collect();
    files.sort();
    files
}

fn replay(target: &str) {
    let files = inputs(target);
    assert!(!files.is_empty(), "no regression inputs for {target}");
    for file in files {
        let data = std::fs::read(&file).unwrap();
        let start = Instant::now();
        let first = format!("{:?}", harness::run(target, &data));
        let took = start.elapsed();
        assert!(
            took < LIMIT,
            "{}: took {took:?} (the fuzzers stop at {LIMIT:?})",
            file.display()
        );
        let second = format!("{:?}", harness::run(target, &data));
        assert_eq!(first, second, "{}: two runs differ", file.display());
        if let Some(expected) = expected_outcome(&file) {
            assert!(
                first.starts_with(expected),
                "{}: expected {expected}, got {first}",
                file.display()
            );
        }
    }
}

/// An input named `loads-*` must load; one named `refused-*` must be refused.
fn expected_outcome(file: &Path) -> Option<&'static str> {
    let name = file.file_name()?.to_str()?;
    if name.starts_with("loads-") {
        Some("Loaded")
    } else if name.starts_with("refused-") {
        Some("Refused")
    } else {
        None
    }
}

#[test]
fn every_target_has_a_regression_directory() {
    for t in harness::TARGETS {
        assert!(!inputs(t).is_empty(), "tests/fuzz-regressions/{t} is empty");
    }
}

#[test]
fn plan_json() {
    replay("plan_json");
}

#[test]
fn state_json() {
    replay("state_json");
}

#[test]
fn plan_stream() {
    replay("plan_stream");
}

#[test]
fn hcl_file() {
    replay("hcl_file");
}

#[test]
fn hcl_dir() {
    replay("hcl_dir");
}

#[test]
fn contract() {
    replay("contract");
}
