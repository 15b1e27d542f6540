//! `--format text`: the terminal report. Colour only when asked for (a terminal without
//! NO_COLOR); otherwise plain text.

use std::fmt::Write;

use anstyle::{AnsiColor, Style};

use super::{Report, display_path, evidence_line};
use crate::finding::Status;

struct Paint {
    on: bool,
}

impl Paint {
    fn style(&self, style: Style, s: &str) -> String {
        if self.on {
            format!("{}{s}{}", style.render(), style.render_reset())
        } else {
            s.to_string()
        }
    }

    fn status(&self, status: Status) -> String {
        let color = match status {
            Status::Pass => AnsiColor::Green,
            Status::IntentionalDiff => AnsiColor::Cyan,
            Status::ReviewRequired => AnsiColor::Yellow,
            Status::Fail => AnsiColor::Red,
        };
        self.style(
            Style::new().fg_color(Some(color.into())).bold(),
            status.as_str(),
        )
    }

    fn dim(&self, s: &str) -> String {
        self.style(Style::new().dimmed(), s)
    }

    fn bold(&self, s: &str) -> String {
        self.style(Style::new().bold(), s)
    }
}

fn mark(status: Status) -> &'static str {
    match status {
        Status::Pass => "✓",
        Status::IntentionalDiff => "≈",
        Status::ReviewRequired => "?",
        Status::Fail => "✗",
    }
}

/// Renders the report; `verbose` also lists passing findings and their evidence.
pub fn render(report: &Report, color: bool, verbose: bool) -> String {
    let p = Paint { on: color };
    let mut out = String::new();
    let envs: Vec<String> = report
        .environments
        .iter()
        .map(|e| {
            if e.name == report.reference {
                format!("{} (reference)", e.name)
            } else {
                e.name.clone()
            }
        })
        .collect();
    let _ = writeln!(
        out,
        "{}",
        p.bold(&format!("tfparity — parity of {}", envs.join(", ")))
    );
    match &report.contract_path {
        Some(path) => {
            let _ = writeln!(out, "contract: {}", display_path(path));
        }
        None => {
            let _ = writeln!(out, "contract: none found");
            for a in &report.assumptions {
                let _ = writeln!(out, "  assumed: {a}");
            }
        }
    }
    let _ = writeln!(out);
    let _ = writeln!(out, "{}", p.bold("Service inventory"));
    for e in &report.environments {
        let sources: Vec<String> = e
            .sources
            .iter()
            .map(|s| format!("{} ({})", display_path(&s.path), s.kind.as_str()))
            .collect();
        let project = if e.projects.len() == 1 {
            format!(" · {}", e.projects[0])
        } else {
            String::new()
        };
        let _ = writeln!(
            out,
            "  {}{project} — {}",
            p.bold(&e.name),
            p.dim(&sources.join(", "))
        );
        let width = e.services.iter().map(|s| s.name.len()).max().unwrap_or(0);
        for s in &e.services {
            let action = if s.action.changes() {
                format!(" [{}]", s.action.as_str())
            } else {
                String::new()
            };
            let _ = writeln!(
                out,
                "    {:width$}  {}{}",
                s.name,
                p.dim(&s.address),
                action,
                width = width
            );
        }
        if e.services.is_empty() {
            let _ = writeln!(out, "    (no Cloud Run services)");
        }
        for n in &e.notes {
            let _ = writeln!(out, "    note: {n}");
        }
    }
    let _ = writeln!(out);
    let _ = writeln!(out, "{}", p.bold("Checklist"));
    for c in &report.checks {
        let _ = writeln!(
            out,
            "  {:>2}. {} {} {}",
            c.def.number,
            c.def.title,
            p.dim(&format!("[{}]", c.def.name)),
            p.status(c.status)
        );
        let shown: Vec<_> = c
            .findings
            .iter()
            .filter(|f| verbose || f.status != Status::Pass)
            .collect();
        for f in &shown {
            let _ = writeln!(
                out,
                "      {} {}",
                p.style(Style::new(), mark(f.status)),
                f.message
            );
            if f.status != Status::Pass || verbose {
                for e in &f.evidence {
                    let _ = writeln!(out, "          {}", p.dim(&evidence_line(e)));
                }
            }
        }
        let passing = c
            .findings
            .iter()
            .filter(|f| f.status == Status::Pass)
            .count();
        if !verbose && passing > 0 {
            let _ = writeln!(
                out,
                "      {} {passing} passing finding(s)",
                mark(Status::Pass)
            );
        }
    }
    let _ = writeln!(out);
    let _ = writeln!(out, "{}", p.bold("Highest-impact gaps"));
    if report.gaps.is_empty() {
        let _ = writeln!(out, "  none: nothing fails");
    }
    for g in &report.gaps {
        let _ = writeln!(
            out,
            "  {}. {} {} (score {})",
            g.rank,
            g.check.title,
            p.dim(&format!("[{}]", g.check.name)),
            g.score
        );
        let _ = writeln!(out, "     {}", g.summary);
        let _ = writeln!(out, "     fix: {}", g.fix);
    }
    let _ = writeln!(out);
    let _ = writeln!(
        out,
        "Result: {} — {}",
        p.status(report.worst()),
        report.summary_line()
    );
    out
}
