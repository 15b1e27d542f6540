//! `--format markdown`: the audit's own shape (service inventory per environment, checklist
//! results, highest-impact gaps), fit for a PR comment.

use std::fmt::Write;

use super::{Report, display_path, evidence_line};
use crate::finding::Status;

/// The hidden marker a workflow uses to find and update the same PR comment.
pub const MARKER: &str = "<!-- tfparity-report -->";

fn title_case(s: &str) -> String {
    let mut c = s.chars();
    match c.next() {
        Some(f) => f.to_uppercase().collect::<String>() + c.as_str(),
        None => String::new(),
    }
}

fn escape(s: &str) -> String {
    s.replace('|', "\\|").replace('\n', " ")
}

pub fn render(report: &Report) -> String {
    let mut out = String::new();
    let _ = writeln!(out, "{MARKER}");
    let _ = writeln!(out, "# Dev/Prod Parity Audit");
    let _ = writeln!(out);
    let _ = writeln!(
        out,
        "**Verdict: {}** — {}",
        report.worst(),
        report.summary_line()
    );
    let _ = writeln!(out);
    let contract = match &report.contract_path {
        Some(p) => format!("contract `{}`", display_path(p)),
        None => "no contract (assumed: services paired by name)".to_string(),
    };
    let _ = writeln!(
        out,
        "Reference environment: `{}` · {contract} · read from Terraform, no writes to any environment.",
        report.reference
    );
    for a in &report.assumptions {
        let _ = writeln!(out, "> Assumed: {a}");
    }
    let _ = writeln!(out);
    let _ = writeln!(out, "## Service Inventory");
    for e in &report.environments {
        let _ = writeln!(out);
        let project = if e.projects.len() == 1 {
            format!(" ({})", e.projects[0])
        } else {
            String::new()
        };
        let _ = writeln!(out, "### {}{project}", title_case(&e.name));
        for s in &e.services {
            let action = if s.action.changes() {
                format!(" _({})_", s.action.as_str())
            } else {
                String::new()
            };
            let _ = writeln!(out, "- {}{action}", s.name);
        }
        if e.services.is_empty() {
            let _ = writeln!(out, "- _(no Cloud Run services)_");
        }
        let sources: Vec<String> = e
            .sources
            .iter()
            .map(|s| format!("`{}` ({})", display_path(&s.path), s.kind.as_str()))
            .collect();
        let _ = writeln!(out, "\n<sub>Sources: {}</sub>", sources.join(", "));
        for n in &e.notes {
            let _ = writeln!(out, "\n> Note: {}", escape(n));
        }
    }
    let _ = writeln!(out);
    let _ = writeln!(out, "## Checklist Results");
    let _ = writeln!(out);
    let _ = writeln!(out, "| # | Check | Status | Findings |");
    let _ = writeln!(out, "|---|---|---|---|");
    for c in &report.checks {
        let counts: Vec<String> = Status::ALL
            .iter()
            .filter_map(|s| {
                let n = c.findings.iter().filter(|f| f.status == *s).count();
                (n > 0).then(|| format!("{n} {}", s.as_str()))
            })
            .collect();
        let _ = writeln!(
            out,
            "| {} | {} | **{}** | {} |",
            c.def.number,
            c.def.title,
            c.status,
            counts.join(", ")
        );
    }
    for c in &report.checks {
        let _ = writeln!(out);
        let _ = writeln!(out, "{}. {}: {}", c.def.number, c.def.title, c.status);
        // The audit lists what decides the item: its non-passing findings, or the passes
        // when everything passes.
        let shown: Vec<_> = if c.status == Status::Pass {
            c.findings.iter().collect()
        } else {
            c.findings
                .iter()
                .filter(|f| f.status != Status::Pass)
                .collect()
        };
        for f in &shown {
            let tag = if f.status == c.status {
                String::new()
            } else {
                format!("{}: ", f.status)
            };
            let _ = writeln!(out, "- {tag}{}", f.message);
        }
        let evidence: Vec<String> = shown
            .iter()
            .flat_map(|f| f.evidence.iter().map(evidence_line))
            .collect();
        if !evidence.is_empty() {
            let _ = writeln!(out);
            let _ = writeln!(
                out,
                "<details><summary>Evidence ({})</summary>",
                evidence.len()
            );
            let _ = writeln!(out);
            for e in evidence {
                let _ = writeln!(out, "- {}", escape(&e));
            }
            let _ = writeln!(out);
            let _ = writeln!(out, "</details>");
        }
    }
    let _ = writeln!(out);
    let _ = writeln!(out, "## Highest-Impact Gaps to Fix");
    let _ = writeln!(out);
    if report.gaps.is_empty() {
        let _ = writeln!(out, "None: no item fails.");
    }
    for g in &report.gaps {
        let _ = writeln!(
            out,
            "{}. **{}** (`{}`, score {}): {}",
            g.rank, g.check.title, g.check.name, g.score, g.summary
        );
        let _ = writeln!(out, "   - Fix: {}", g.fix);
    }
    let _ = writeln!(out);
    let _ = writeln!(
        out,
        "<sub>Gaps are ranked by impact × breadth: a check's impact weight (security 5, runtime 3, coverage/profile/domains/workflows 2, naming 1) times the number of roles that fail it. `tfparity explain CHECK` documents each check.</sub>"
    );
    out
}
