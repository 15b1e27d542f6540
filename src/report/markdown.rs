//! `--format markdown`: the audit's shape, made for a pull request comment.
//!
//! A hidden marker first (a workflow finds the comment by it and updates it in place), a
//! verdict line that says whether the gate passes, the checklist as a summary table, the
//! highest-impact gaps, then each check's findings and evidence in collapsible sections and
//! the service inventory.
//!
//! GitHub refuses comments over 65,536 characters. When the full report is longer than
//! [`LIMIT`] bytes (bytes ≥ characters, so the limit holds however GitHub counts), it
//! degrades step by step until it fits, and says what it left out: first the evidence of
//! passing findings, then all evidence, then the passing findings, then all but the first
//! findings of each check, then the details and the inventory; as a last resort it is cut at a
//! line.

use std::fmt::Write;

use super::{Gate, Report, display_path, evidence_line};
use crate::checks::CheckResult;
use crate::finding::{Finding, Status};

/// The hidden marker a workflow uses to find and update the same PR comment.
pub const MARKER: &str = "<!-- tfparity-report -->";

/// GitHub's limit on a comment's body, in characters.
pub const GITHUB_LIMIT: usize = 65_536;

/// The size the comment is kept under, in bytes: GitHub's limit less a margin for a
/// workflow's own additions (a link to the run, say).
pub const LIMIT: usize = 65_000;

/// How many non-passing findings of one check the shortened report still lists.
const FINDINGS_WHEN_SHORT: usize = 10;

fn title_case(s: &str) -> String {
    let mut c = s.chars();
    match c.next() {
        Some(f) => f.to_uppercase().collect::<String>() + c.as_str(),
        None => String::new(),
    }
}

/// Text safe in a list item or table cell: no line breaks, no HTML (a stray `</details>` in a
/// value would break the layout), no table separators.
fn escape(s: &str) -> String {
    s.replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
        .replace('|', "\\|")
        .replace(['\n', '\r'], " ")
}

/// How much of the details a rendering keeps; each level drops more than the one before.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord)]
enum Level {
    Full,
    NoPassingEvidence,
    NoEvidence,
    NoPassing,
    FewFindings,
    NoDetails,
}

impl Level {
    const ALL: [Level; 6] = [
        Level::Full,
        Level::NoPassingEvidence,
        Level::NoEvidence,
        Level::NoPassing,
        Level::FewFindings,
        Level::NoDetails,
    ];

    /// What this level leaves out, cumulatively.
    fn cuts(self) -> Vec<&'static str> {
        let all = [
            (Level::NoPassingEvidence, "the evidence of passing findings"),
            (Level::NoEvidence, "all evidence"),
            (Level::NoPassing, "the passing findings"),
            (
                Level::FewFindings,
                "all but the first findings of each check",
            ),
            (
                Level::NoDetails,
                "the per-check details and the service inventory",
            ),
        ];
        all.iter()
            .filter(|(l, _)| *l <= self)
            .map(|(_, what)| *what)
            .collect()
    }
}

/// Renders the report, shortened to fit a GitHub comment when needed.
pub fn render(report: &Report, gate: &Gate) -> String {
    render_within(report, gate, LIMIT)
}

/// Renders the report in at most `limit` bytes.
pub fn render_within(report: &Report, gate: &Gate, limit: usize) -> String {
    for level in Level::ALL {
        let text = render_at(report, gate, level);
        if text.len() <= limit {
            return text;
        }
    }
    // Even the summary is too long (thousands of gaps): cut at a line, and say so.
    let text = render_at(report, gate, Level::NoDetails);
    let note = format!(
        "\n> **Cut here** to fit GitHub's {GITHUB_LIMIT}-character comment limit. The full report: `tfparity check --format markdown`, or the SARIF / JSON output.\n"
    );
    let budget = limit.saturating_sub(note.len());
    let mut end = 0;
    for (i, _) in text.match_indices('\n') {
        if i + 1 > budget {
            break;
        }
        end = i + 1;
    }
    let mut out = text[..end].to_string();
    out.push_str(&note);
    out
}

fn counts(c: &CheckResult) -> String {
    Status::ALL
        .iter()
        .filter_map(|s| {
            let n = c.findings.iter().filter(|f| f.status == *s).count();
            (n > 0).then(|| format!("{n} {}", s.as_str()))
        })
        .collect::<Vec<_>>()
        .join(", ")
}

fn verdict_mark(s: Status) -> &'static str {
    match s {
        Status::Fail => "❌",
        Status::ReviewRequired => "⚠️",
        Status::IntentionalDiff => "✅",
        Status::Pass => "✅",
    }
}

fn finding_line(out: &mut String, f: &Finding, baselined: bool, evidence: bool) {
    let accepted = match (&f.accepted_by, f.status) {
        (Some(a), Status::IntentionalDiff) => {
            let mut s = format!(" — declared by `{}`", escape(&a.name));
            if let Some(o) = &a.owner {
                s.push_str(&format!(", owner {}", escape(o)));
            }
            if let Some(x) = a.expires {
                s.push_str(&format!(", expires {x}"));
            }
            s
        }
        _ => String::new(),
    };
    let _ = writeln!(
        out,
        "- **{}** {}{accepted}{}",
        f.status,
        escape(&f.message),
        if baselined {
            " _(in the baseline)_"
        } else {
            ""
        }
    );
    if evidence {
        for e in &f.evidence {
            let _ = writeln!(out, "  - {}", escape(&evidence_line(e)));
        }
    }
}

fn render_at(report: &Report, gate: &Gate, level: Level) -> String {
    let mut out = String::new();
    let _ = writeln!(out, "{MARKER}");
    let _ = writeln!(out, "# Dev/Prod Parity Audit");
    let _ = writeln!(out);
    let worst = report.worst();
    let _ = writeln!(
        out,
        "{} **Verdict: {worst}** — {} · {}.",
        verdict_mark(worst),
        report.summary_line(),
        gate.sentence(report)
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
    if let Some(scope) = &gate.scope {
        let roles = if scope.roles.is_empty() {
            "none".to_string()
        } else {
            scope
                .roles
                .iter()
                .map(|r| format!("`{}`", escape(r)))
                .collect::<Vec<_>>()
                .join(", ")
        };
        let _ = writeln!(out);
        let _ = writeln!(
            out,
            "> Only the roles whose resources change are reported: {roles} ({} of {}; from {}). Findings about no role are always reported.",
            scope.roles.len(),
            scope.total,
            scope.from.join(" and ")
        );
    }
    for a in &report.assumptions {
        let _ = writeln!(out);
        let _ = writeln!(out, "> Assumed: {}", escape(a));
    }
    let cuts = level.cuts();
    if !cuts.is_empty() {
        let _ = writeln!(out);
        let _ = writeln!(
            out,
            "> **Shortened** to fit GitHub's {GITHUB_LIMIT}-character comment limit: left out {}. The full report: `tfparity check --format markdown`, or the SARIF / JSON output.",
            cuts.join(", then ")
        );
    }

    let _ = writeln!(out);
    let _ = writeln!(out, "## Checklist Results");
    let _ = writeln!(out);
    let _ = writeln!(out, "| # | Check | Status | Findings |");
    let _ = writeln!(out, "|---|---|---|---|");
    for c in &report.checks {
        let _ = writeln!(
            out,
            "| {} | {} | **{}** | {} |",
            c.def.number,
            escape(c.def.title),
            c.status,
            counts(c)
        );
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
            g.rank,
            g.check.title,
            g.check.name,
            g.score,
            escape(&g.summary)
        );
        let _ = writeln!(out, "   - Fix: {}", escape(&g.fix));
    }

    if level < Level::NoDetails {
        out.push_str(&super::roles_diagram::markdown_section(report));
        let _ = writeln!(out);
        let _ = writeln!(out, "## Details");
        for (ci, c) in report.checks.iter().enumerate() {
            details(&mut out, gate, ci, c, level);
        }
        inventory(&mut out, report);
    }

    let _ = writeln!(out);
    let _ = writeln!(
        out,
        "<sub>Gaps are ranked by impact × breadth: a check's impact weight (security 5, runtime 3, coverage/profile/domains/workflows 2, naming 1) times the number of roles that fail it. `tfparity explain CHECK` documents each check.</sub>"
    );
    out
}

fn details(out: &mut String, gate: &Gate, ci: usize, c: &CheckResult, level: Level) {
    let _ = writeln!(out);
    let _ = writeln!(
        out,
        "<details><summary><b>{}. {}: {}</b> ({})</summary>",
        c.def.number,
        escape(c.def.title),
        c.status,
        counts(c)
    );
    let _ = writeln!(out);
    let open: Vec<(usize, &Finding)> = c
        .findings
        .iter()
        .enumerate()
        .filter(|(_, f)| f.status != Status::Pass)
        .collect();
    let passing: Vec<(usize, &Finding)> = c
        .findings
        .iter()
        .enumerate()
        .filter(|(_, f)| f.status == Status::Pass)
        .collect();
    let shown = if level >= Level::FewFindings {
        open.len().min(FINDINGS_WHEN_SHORT)
    } else {
        open.len()
    };
    for (fi, f) in &open[..shown] {
        finding_line(out, f, gate.in_baseline(ci, *fi), level < Level::NoEvidence);
    }
    if shown < open.len() {
        let _ = writeln!(
            out,
            "- _… and {} more finding(s) not shown._",
            open.len() - shown
        );
    }
    if !passing.is_empty() {
        if level >= Level::NoPassing {
            let _ = writeln!(out, "- _{} passing finding(s) not shown._", passing.len());
        } else {
            if !open.is_empty() {
                let _ = writeln!(out);
            }
            let _ = writeln!(
                out,
                "<details><summary>Passing ({})</summary>",
                passing.len()
            );
            let _ = writeln!(out);
            for (fi, f) in &passing {
                finding_line(out, f, gate.in_baseline(ci, *fi), level == Level::Full);
            }
            let _ = writeln!(out);
            let _ = writeln!(out, "</details>");
        }
    }
    if c.findings.is_empty() {
        let _ = writeln!(out, "- _No findings._");
    }
    let _ = writeln!(out);
    let _ = writeln!(out, "</details>");
}

fn inventory(out: &mut String, report: &Report) {
    let _ = writeln!(out);
    let total: usize = report.environments.iter().map(|e| e.services.len()).sum();
    let _ = writeln!(
        out,
        "<details><summary><b>Service inventory</b> ({total} Cloud Run service(s) in {} environment(s))</summary>",
        report.environments.len()
    );
    for e in &report.environments {
        let _ = writeln!(out);
        let project = if e.projects.len() == 1 {
            format!(" ({})", e.projects[0])
        } else {
            String::new()
        };
        let _ = writeln!(out, "### {}{project}", escape(&title_case(&e.name)));
        let _ = writeln!(out);
        for s in &e.services {
            let action = if s.action.changes() {
                format!(" _({})_", s.action.as_str())
            } else {
                String::new()
            };
            let _ = writeln!(out, "- {}{action}", escape(&s.name));
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
    let _ = writeln!(out, "</details>");
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::checks::REGISTRY;
    use crate::finding::Evidence;
    use crate::inventory::Span;
    use crate::report::EnvReport;

    /// A report with `n` findings per check, each with long evidence.
    fn big_report(n: usize) -> Report {
        let checks = REGISTRY
            .iter()
            .map(|def| {
                let findings: Vec<Finding> = (0..n)
                    .map(|i| {
                        let status = if i % 3 == 0 { Status::Fail } else { Status::Pass };
                        let mut f = Finding::new(
                            status,
                            format!("role `r{i}`: something about {} differs", def.name),
                        )
                        .role(&format!("r{i}"))
                        .envs(["dev", "prod"])
                        .subject("x");
                        for env in ["dev", "prod"] {
                            f = f.evidence(
                                Evidence::env(env)
                                    .address(&format!(
                                        "module.service[\"r{i}-{env}\"].google_cloud_run_v2_service.this"
                                    ))
                                    .attribute("template.containers.env")
                                    .keys(["A_KEY", "B_KEY"])
                                    .at(Some(Span::new("infra/main.tf", i + 1, 3))),
                            );
                        }
                        f
                    })
                    .collect();
                let status = findings
                    .iter()
                    .map(|f| f.status)
                    .max()
                    .unwrap_or(Status::Pass);
                CheckResult {
                    def,
                    status,
                    findings,
                }
            })
            .collect();
        Report {
            contract_path: None,
            assumptions: vec![],
            reference: "dev".into(),
            environments: vec![EnvReport {
                name: "dev".into(),
                sources: vec![],
                projects: vec![],
                services: vec![],
                notes: vec![],
            }],
            checks,
            gaps: vec![],
        }
    }

    #[test]
    fn small_reports_are_not_shortened() {
        let r = big_report(3);
        let gate = Gate::new(Some(Status::Fail));
        let text = render(&r, &gate);
        assert!(text.starts_with(MARKER));
        assert!(!text.contains("Shortened"));
        assert!(text.contains("<details><summary>Passing (2)</summary>"));
        assert!(text.contains("  - [dev] module.service"));
    }

    #[test]
    fn long_reports_shed_evidence_first_then_passing_details() {
        let r = big_report(400);
        let gate = Gate::new(Some(Status::Fail));
        let full = render_at(&r, &gate, Level::Full);
        assert!(full.len() > LIMIT, "the test report is big enough");
        let text = render(&r, &gate);
        assert!(text.len() <= LIMIT, "{} bytes", text.len());
        assert!(text.chars().count() < GITHUB_LIMIT);
        assert!(text.starts_with(MARKER));
        assert!(text.contains("**Shortened**"), "says it was cut");
        assert!(text.contains("the evidence of passing findings"));
        assert!(text.contains("## Checklist Results"), "the summary stays");
        assert!(
            !text.contains("  - [dev] module.service"),
            "evidence went first"
        );

        // Each level is no longer than the one before, and says everything it cut.
        let mut last = usize::MAX;
        for level in Level::ALL {
            let t = render_at(&r, &gate, level);
            assert!(t.len() <= last, "{level:?} is longer than the level before");
            last = t.len();
            for cut in level.cuts() {
                assert!(t.contains(cut), "{level:?} does not say it left out {cut}");
            }
        }
    }

    #[test]
    fn passing_details_go_before_failing_ones() {
        let r = big_report(400);
        let gate = Gate::new(Some(Status::Fail));
        let t = render_at(&r, &gate, Level::NoPassing);
        assert!(t.contains("passing finding(s) not shown"));
        assert!(t.contains("- **FAIL** role `r0`"), "failing findings stay");
    }

    #[test]
    fn a_hopeless_report_is_cut_at_a_line_and_says_so() {
        let r = big_report(3);
        let gate = Gate::new(Some(Status::Fail));
        let text = render_within(&r, &gate, 600);
        assert!(text.len() <= 600, "{}", text.len());
        assert!(text.starts_with(MARKER));
        assert!(text.contains("**Cut here**"));
    }
}
