//! `--format gitlab`: a GitLab Code Quality report (`artifacts:reports:codequality`), the
//! Code Climate issue subset GitLab reads: `description`, `check_name`, `fingerprint`,
//! `severity`, `location.path` and `location.lines.begin`.
//!
//! One issue per FAIL or REVIEW_REQUIRED finding. Severity: a FAIL of a security check
//! (service accounts, ingress, secrets) is `critical`, another FAIL `major`, REVIEW_REQUIRED
//! `minor`; a finding recorded in the baseline is `info`. Paths are relative to the
//! repository root. A finding with no source location points at the contract (or, without
//! one, at the first source of its environment), line 1: GitLab needs a path.

use serde::Serialize;

use super::{Gate, Report, fallback_file, primary_location, scan_path};
use crate::finding::{Finding, Status};

#[derive(Serialize)]
struct Issue<'a> {
    #[serde(rename = "type")]
    kind: &'static str,
    description: String,
    check_name: &'static str,
    fingerprint: &'a str,
    severity: &'static str,
    categories: [&'static str; 1],
    location: Location,
}

#[derive(Serialize)]
struct Location {
    path: String,
    lines: Lines,
}

#[derive(Serialize)]
struct Lines {
    begin: usize,
}

fn fallback_path(report: &Report, f: &Finding) -> String {
    fallback_file(report, f)
        .map(|p| scan_path(&p))
        .unwrap_or_else(|| ".".to_string())
}

pub fn render(report: &Report, gate: &Gate) -> String {
    let mut issues = Vec::new();
    for (ci, c) in report.checks.iter().enumerate() {
        for (fi, f) in c.findings.iter().enumerate() {
            if f.status < Status::ReviewRequired {
                continue;
            }
            let baselined = gate.in_baseline(ci, fi);
            let severity = match (baselined, f.status) {
                (true, _) => "info",
                (false, Status::Fail) if c.def.impact >= 5 => "critical",
                (false, Status::Fail) => "major",
                _ => "minor",
            };
            let (path, line) =
                match primary_location(f, &report.reference).and_then(|e| e.location.as_ref()) {
                    Some(span) => (scan_path(&span.file), span.line.max(1)),
                    None => (fallback_path(report, f), 1),
                };
            let mut description =
                format!("{} {} [{}]: {}", c.def.id, c.def.name, f.status, f.message);
            if baselined {
                description.push_str(" (recorded in the baseline)");
            }
            issues.push(Issue {
                kind: "issue",
                description,
                check_name: c.def.id,
                fingerprint: gate.fingerprint(report, ci, fi),
                severity,
                categories: [if c.def.impact >= 5 {
                    "Security"
                } else {
                    "Bug Risk"
                }],
                location: Location {
                    path,
                    lines: Lines { begin: line },
                },
            });
        }
    }
    let mut s = serde_json::to_string_pretty(&issues).expect("the report serialises");
    s.push('\n');
    s
}
