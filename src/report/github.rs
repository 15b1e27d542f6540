//! `--format github`: GitHub Actions workflow commands, which the runner turns into inline
//! annotations on the pull request's files:
//!
//! ```text
//! ::error file=infra/envs/prod/services.tf,line=88,col=7,title=PAR004 service_accounts: FAIL::`frontend-app` in prod: ...
//! ```
//!
//! FAIL is `error`; REVIEW_REQUIRED is `error` when the gate fails on it (`--fail-on review`),
//! `warning` otherwise; a finding recorded in the baseline is a `notice`. PASS and
//! INTENTIONAL_DIFF are not annotated. A last `notice` gives the verdict. Paths are relative to
//! the repository root, as the runner needs; values are escaped as the runner's toolkit does
//! (`%`, CR and LF in messages; also `:` and `,` in properties), so no message can end a
//! command early or start another.

use std::fmt::Write;

use super::{Gate, Report, primary_location, scan_path};
use crate::finding::Status;

/// Escapes a command's message.
pub fn escape_data(s: &str) -> String {
    s.replace('%', "%25")
        .replace('\r', "%0D")
        .replace('\n', "%0A")
}

/// Escapes a command property's value.
pub fn escape_property(s: &str) -> String {
    escape_data(s).replace(':', "%3A").replace(',', "%2C")
}

pub fn render(report: &Report, gate: &Gate) -> String {
    let mut out = String::new();
    for (ci, c) in report.checks.iter().enumerate() {
        for (fi, f) in c.findings.iter().enumerate() {
            if f.status < Status::ReviewRequired {
                continue;
            }
            let baselined = gate.in_baseline(ci, fi);
            let command = if baselined {
                "notice"
            } else if f.status == Status::Fail || gate.gates(ci, fi, f) {
                "error"
            } else {
                "warning"
            };
            let mut props: Vec<String> = Vec::new();
            if let Some(e) = primary_location(f, &report.reference)
                && let Some(span) = &e.location
            {
                props.push(format!("file={}", escape_property(&scan_path(&span.file))));
                props.push(format!("line={}", span.line.max(1)));
                props.push(format!("col={}", span.column.max(1)));
            }
            let title = format!(
                "{} {}: {}{}",
                c.def.id,
                c.def.name,
                f.status,
                if baselined { " (baseline)" } else { "" }
            );
            props.push(format!("title={}", escape_property(&title)));
            let mut message = f.message.clone();
            if baselined {
                message.push_str(" [recorded in the baseline: does not fail the gate]");
            }
            let _ = writeln!(
                out,
                "::{command} {}::{}",
                props.join(","),
                escape_data(&message)
            );
        }
    }
    let verdict = format!(
        "tfparity: {} ({}); {}",
        report.worst(),
        report.summary_line(),
        gate.sentence(report)
    );
    let _ = writeln!(
        out,
        "::notice title={}::{}",
        escape_property("tfparity verdict"),
        escape_data(&verdict)
    );
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn escapes_as_the_toolkit_does() {
        assert_eq!(escape_data("100%\r\nnext"), "100%25%0D%0Anext");
        assert_eq!(
            escape_property("a:b,c%\n"),
            "a%3Ab%2Cc%25%0A",
            "properties also escape `:` and `,`"
        );
        // A message cannot smuggle a second command onto its own line.
        assert!(!escape_data("x\n::add-mask::y").contains('\n'));
    }
}
