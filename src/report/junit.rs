//! `--format junit`: JUnit XML for CI test reports (GitLab, Jenkins, Azure DevOps...).
//!
//! One test suite per check (`PAR003 ingress`), one test case per role × environment
//! (`user-app/prod`: the role in the environment its findings compare with the reference, or
//! the only environment of a conformance finding). A case holds every finding of the check
//! for that role and environment and takes the worst one's status:
//!
//! - FAIL is a `failure`;
//! - REVIEW_REQUIRED is a `failure` when the gate fails on it (`--fail-on review`),
//!   `skipped` otherwise;
//! - a finding recorded in the baseline is `skipped`, saying so;
//! - PASS and INTENTIONAL_DIFF pass (the declaration that accepts a difference is in the
//!   case's output).
//!
//! No timestamps or durations: the same inputs give the same file.

use std::collections::BTreeMap;

use quick_junit::{
    NonSuccessKind, Property, Report as JReport, TestCase, TestCaseStatus, TestSuite,
};

use super::{Gate, Report, evidence_line, finding_env};
use crate::finding::{Finding, Status};

/// The case a finding belongs to: `role/env`, or `subject/env1,env2` for findings about no
/// role (deploy workflows).
fn case_name(f: &Finding, reference: &str) -> String {
    match &f.role {
        Some(role) => format!(
            "{role}/{}",
            finding_env(f, reference).unwrap_or("(no environment)")
        ),
        None => format!(
            "{}/{}",
            f.subject.as_deref().unwrap_or("environments"),
            f.environments.join(",")
        ),
    }
}

pub fn render(report: &Report, gate: &Gate) -> String {
    let mut out = JReport::new("tfparity");
    for (ci, c) in report.checks.iter().enumerate() {
        let mut suite = TestSuite::new(format!("{} {}", c.def.id, c.def.name));
        suite.add_property(Property::new("title", c.def.title));
        suite.add_property(Property::new("status", c.status.as_str()));
        // Cases in the order their first finding appears (the check's own order).
        let mut cases: Vec<(String, Vec<(usize, &Finding)>)> = Vec::new();
        let mut index: BTreeMap<String, usize> = BTreeMap::new();
        for (fi, f) in c.findings.iter().enumerate() {
            let name = case_name(f, &report.reference);
            let at = *index.entry(name.clone()).or_insert_with(|| {
                cases.push((name, Vec::new()));
                cases.len() - 1
            });
            cases[at].1.push((fi, f));
        }
        for (name, findings) in cases {
            let worst = findings
                .iter()
                .map(|(_, f)| f.status)
                .max()
                .unwrap_or(Status::Pass);
            let fails = findings.iter().any(|(fi, f)| {
                gate.gates(ci, *fi, f) || f.status == Status::Fail && !gate.in_baseline(ci, *fi)
            });
            let baselined = findings
                .iter()
                .any(|(fi, f)| f.status >= Status::ReviewRequired && gate.in_baseline(ci, *fi));
            let decisive: Vec<&(usize, &Finding)> =
                findings.iter().filter(|(_, f)| f.status == worst).collect();
            let summary = decisive
                .iter()
                .map(|(_, f)| f.message.as_str())
                .collect::<Vec<_>>()
                .join("; ");
            let mut status = if fails {
                let mut s = TestCaseStatus::non_success(NonSuccessKind::Failure);
                s.set_type(worst.as_str());
                s.set_message(format!("{worst}: {summary}"));
                s
            } else if worst >= Status::ReviewRequired {
                let mut s = TestCaseStatus::skipped();
                let why = if baselined {
                    "recorded in the baseline"
                } else {
                    "needs review"
                };
                s.set_type(worst.as_str());
                s.set_message(format!("{worst} ({why}): {summary}"));
                s
            } else {
                TestCaseStatus::success()
            };
            let mut body = String::new();
            for (fi, f) in &findings {
                body.push_str(&format!("{}: {}\n", f.status, f.message));
                if let Some(a) = &f.accepted_by {
                    body.push_str(&format!(
                        "  declared by intentional_difference \"{}\": {}\n",
                        a.name, a.reason
                    ));
                }
                if gate.in_baseline(ci, *fi) {
                    body.push_str("  recorded in the baseline\n");
                }
                for e in &f.evidence {
                    body.push_str(&format!("  {}\n", evidence_line(e)));
                }
            }
            let success = matches!(status, TestCaseStatus::Success { .. });
            if !success {
                status.set_description(body.clone());
            }
            let mut case = TestCase::new(name, status);
            case.set_classname(format!("tfparity.{}", c.def.name));
            if success {
                case.set_system_out(body);
            }
            suite.add_test_case(case);
        }
        out.add_test_suite(suite);
    }
    out.to_string().expect("JUnit XML serialises")
}
