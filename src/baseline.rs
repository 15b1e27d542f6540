//! Baselines: findings a team has accepted as existing debt, so that they no longer fail the
//! gate while new ones do.
//!
//! `tfparity check --write-baseline FILE` records every FAIL and REVIEW_REQUIRED finding of
//! the run; `tfparity check --baseline FILE` reads it back. A finding is matched by its
//! fingerprint ([`crate::report::fingerprints`]): a hash of the check's id, the role, the
//! environments, the subject and the env var keys in its evidence. Messages, values and
//! source lines are not part of it, so the same gap found again in the next run (after an
//! unrelated edit moved its line, or a memory limit changed from 1Gi to 2Gi) still matches;
//! a different role, environment, attribute or set of keys is a new finding.
//!
//! A recorded finding whose status got worse (REVIEW_REQUIRED then, FAIL now) counts again.
//! The file is JSON, sorted, one entry per finding, with the fields that make up the
//! fingerprint written out so a reviewer can read what was accepted.

use std::path::Path;

use serde::{Deserialize, Serialize};

use crate::error::{InputError, Result};
use crate::finding::Status;
use crate::report::{BaselineState, BaselineView, Gate, Report, display_path};

/// The version of the file format, written as `tfparity_baseline`.
pub const FORMAT: u32 = 1;

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Baseline {
    pub tfparity_baseline: u32,
    pub findings: Vec<Entry>,
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Entry {
    pub fingerprint: String,
    /// The check's id (`PAR004`).
    pub check: String,
    /// The check's name (`service_accounts`), for readers.
    pub name: String,
    /// `FAIL` or `REVIEW_REQUIRED`.
    pub status: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub role: Option<String>,
    pub environments: Vec<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub subject: Option<String>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub keys: Vec<String>,
    /// The finding's message when it was recorded, for readers; not matched.
    pub message: String,
}

fn parse_status(s: &str) -> Option<Status> {
    Status::ALL.iter().copied().find(|x| x.as_str() == s)
}

impl Baseline {
    /// The FAIL and REVIEW_REQUIRED findings of a report, sorted by check and fingerprint.
    pub fn from_report(report: &Report, gate: &Gate) -> Self {
        let mut findings = Vec::new();
        for (ci, c) in report.checks.iter().enumerate() {
            let mut entries: Vec<Entry> = c
                .findings
                .iter()
                .enumerate()
                .filter(|(_, f)| f.status >= Status::ReviewRequired)
                .map(|(fi, f)| {
                    let mut keys: Vec<String> = f
                        .evidence
                        .iter()
                        .flat_map(|e| e.keys.iter().cloned())
                        .collect();
                    keys.sort();
                    keys.dedup();
                    Entry {
                        fingerprint: gate.fingerprint(report, ci, fi).to_string(),
                        check: c.def.id.to_string(),
                        name: c.def.name.to_string(),
                        status: f.status.as_str().to_string(),
                        role: f.role.clone(),
                        environments: f.environments.clone(),
                        subject: f.subject.clone(),
                        keys,
                        message: f.message.clone(),
                    }
                })
                .collect();
            entries.sort_by(|a, b| a.fingerprint.cmp(&b.fingerprint));
            findings.extend(entries);
        }
        Baseline {
            tfparity_baseline: FORMAT,
            findings,
        }
    }

    pub fn to_json(&self) -> String {
        let mut s = serde_json::to_string_pretty(self).expect("a baseline serialises");
        s.push('\n');
        s
    }

    /// Reads a baseline file; a missing, unreadable or malformed file is an input error.
    pub fn read(path: &Path) -> Result<Self> {
        let text = std::fs::read_to_string(path).map_err(|e| {
            InputError::new(path, format!("cannot read the baseline: {e}"))
                .help("write one with `tfparity check --write-baseline FILE`")
        })?;
        let b: Baseline = serde_json::from_str(&text).map_err(|e| {
            InputError::new(path, format!("not a tfparity baseline: {e}"))
                .at(e.line().max(1), e.column().max(1))
                .help("write one with `tfparity check --write-baseline FILE`")
        })?;
        if b.tfparity_baseline != FORMAT {
            return Err(InputError::new(
                path,
                format!(
                    "baseline format {} is not supported (this tfparity reads format {FORMAT})",
                    b.tfparity_baseline
                ),
            )
            .into());
        }
        for e in &b.findings {
            if parse_status(&e.status).is_none() {
                return Err(InputError::new(
                    path,
                    format!(
                        "baseline entry {} has status `{}`; expected FAIL or REVIEW_REQUIRED",
                        e.fingerprint, e.status
                    ),
                )
                .into());
            }
        }
        Ok(b)
    }

    /// Matches the report's findings against the baseline and records the result in `gate`.
    pub fn apply(&self, path: &Path, report: &Report, gate: &mut Gate) {
        let recorded: std::collections::BTreeMap<&str, Status> = self
            .findings
            .iter()
            .filter_map(|e| Some((e.fingerprint.as_str(), parse_status(&e.status)?)))
            .collect();
        let mut matched = std::collections::BTreeSet::new();
        let states: Vec<Vec<BaselineState>> = report
            .checks
            .iter()
            .enumerate()
            .map(|(ci, c)| {
                c.findings
                    .iter()
                    .enumerate()
                    .map(|(fi, f)| {
                        let fp = gate.fingerprint(report, ci, fi);
                        match recorded.get(fp) {
                            None => BaselineState::New,
                            Some(was) => {
                                if f.status >= Status::ReviewRequired {
                                    matched.insert(fp.to_string());
                                }
                                if f.status <= *was {
                                    BaselineState::Unchanged
                                } else {
                                    BaselineState::Worse
                                }
                            }
                        }
                    })
                    .collect()
            })
            .collect();
        let stale = recorded.keys().filter(|k| !matched.contains(**k)).count();
        gate.baseline = Some(BaselineView {
            path: display_path(path),
            states,
            stale,
        });
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn statuses_parse_back() {
        for s in Status::ALL {
            assert_eq!(parse_status(s.as_str()), Some(s));
        }
        assert_eq!(parse_status("fail"), None);
    }

    #[test]
    fn unknown_fields_and_versions_are_rejected() {
        let dir = std::env::temp_dir().join(format!("tfparity-baseline-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let p = dir.join("b.json");
        std::fs::write(&p, r#"{"tfparity_baseline": 2, "findings": []}"#).unwrap();
        assert!(
            Baseline::read(&p)
                .unwrap_err()
                .to_string()
                .contains("format 2")
        );
        std::fs::write(&p, r#"{"tfparity_baseline": 1, "findings": [], "x": 1}"#).unwrap();
        assert!(Baseline::read(&p).is_err());
        std::fs::write(&p, r#"{"tfparity_baseline": 1, "findings": []}"#).unwrap();
        assert_eq!(Baseline::read(&p).unwrap().findings.len(), 0);
        let _ = std::fs::remove_dir_all(&dir);
    }
}
