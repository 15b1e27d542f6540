//! `tfparity graph --roles` and the roles diagram of the Markdown report: every environment
//! side by side, one row per role, each cell the service playing the role there, coloured by
//! the worst verdict the checks gave that role in that environment, with a legend.
//!
//! The matrix is read from a [`Report`] alone (role coverage and naming map findings name the
//! services; every other finding names its role and environments), so the diagram always says
//! what the report says. A difference between the reference and another environment is drawn
//! on the other environment: the reference is the baseline it is compared with.

use std::collections::BTreeMap;
use std::fmt::Write;
use std::sync::atomic::{AtomicU8, Ordering};

use serde::Serialize;

use super::Report;
use super::graph::{dot_quote, mermaid_text, stable_id};
use crate::finding::Status;

/// Whether the Markdown report embeds the roles diagram.
#[derive(Copy, Clone, Debug, PartialEq, Eq, clap::ValueEnum)]
pub enum DiagramMode {
    /// Embed it while it stays small (at most 20 roles, 4 environments and 12,000
    /// characters of Mermaid).
    // The numbers are AUTO_MAX_ROWS, AUTO_MAX_ENVS and AUTO_MAX_CHARS; this line is --help text.
    Auto,
    /// Always embed it.
    Always,
    /// Never embed it.
    Never,
}

// Quoted in DiagramMode::Auto's help text: change both together.
pub const AUTO_MAX_ROWS: usize = 20;
pub const AUTO_MAX_ENVS: usize = 4;
pub const AUTO_MAX_CHARS: usize = 12_000;

static MARKDOWN_MODE: AtomicU8 = AtomicU8::new(0);

/// Sets how [`markdown_section`] decides (the `check --roles-diagram` flag); `auto` until set.
pub fn set_markdown_mode(mode: DiagramMode) {
    let v = match mode {
        DiagramMode::Auto => 0,
        DiagramMode::Always => 1,
        DiagramMode::Never => 2,
    };
    MARKDOWN_MODE.store(v, Ordering::Relaxed);
}

fn markdown_mode() -> DiagramMode {
    match MARKDOWN_MODE.load(Ordering::Relaxed) {
        1 => DiagramMode::Always,
        2 => DiagramMode::Never,
        _ => DiagramMode::Auto,
    }
}

/// A check that did not pass for a role in an environment.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct Issue {
    pub check: &'static str,
    pub status: Status,
}

#[derive(Clone, Debug, Serialize)]
pub struct Cell {
    pub environment: String,
    /// The services playing the role here.
    pub services: Vec<String>,
    /// Services the contract names here that are not deployed.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub not_deployed: Vec<String>,
    /// The worst verdict for the role here (PASS when every check passed).
    pub status: Status,
    pub issues: Vec<Issue>,
}

#[derive(Clone, Debug, Serialize)]
pub struct Row {
    /// The role; None for the row of services in no role.
    pub role: Option<String>,
    pub cells: Vec<Cell>,
}

#[derive(Clone, Debug, Serialize)]
pub struct RolesMatrix {
    pub reference: String,
    pub environments: Vec<String>,
    pub rows: Vec<Row>,
}

fn cell(env: &str) -> Cell {
    Cell {
        environment: env.to_string(),
        services: Vec::new(),
        not_deployed: Vec::new(),
        status: Status::Pass,
        issues: Vec::new(),
    }
}

/// Reads the roles matrix out of a report.
pub fn matrix(report: &Report) -> RolesMatrix {
    let envs: Vec<String> = report.environments.iter().map(|e| e.name.clone()).collect();
    let mut order: Vec<String> = Vec::new();
    let mut cells: BTreeMap<(String, String), Cell> = BTreeMap::new();
    let mut unassigned: BTreeMap<String, Vec<String>> = BTreeMap::new();
    for c in &report.checks {
        for f in &c.findings {
            let subject = f.subject.as_deref();
            let Some(role) = &f.role else {
                if c.def.name == "naming_map" && subject == Some("unmapped_service") {
                    for e in &f.evidence {
                        if let (Some(env), Some(v), None) = (&e.environment, &e.value, &e.attribute)
                        {
                            unassigned.entry(env.clone()).or_default().push(v.clone());
                        }
                    }
                }
                continue;
            };
            if !order.contains(role) {
                order.push(role.clone());
            }
            // Which services play the role where: role coverage and naming map evidence.
            if matches!(c.def.name, "role_coverage" | "naming_map") {
                for e in &f.evidence {
                    let (Some(env), Some(v)) = (&e.environment, &e.value) else {
                        continue;
                    };
                    let cell = cells
                        .entry((role.clone(), env.clone()))
                        .or_insert_with(|| self::cell(env));
                    match e.attribute.as_deref() {
                        None if e.address.is_some() => cell.services.push(v.clone()),
                        Some("contract role") if subject == Some("declared_service") => {
                            cell.not_deployed.push(v.clone())
                        }
                        _ => {}
                    }
                }
            }
            if f.status == Status::Pass {
                continue;
            }
            let on: Vec<&String> = if f.environments.len() > 1 {
                f.environments
                    .iter()
                    .filter(|e| **e != report.reference)
                    .collect()
            } else {
                f.environments.iter().collect()
            };
            for env in on {
                let cell = cells
                    .entry((role.clone(), env.clone()))
                    .or_insert_with(|| self::cell(env));
                match cell.issues.iter_mut().find(|i| i.check == c.def.name) {
                    Some(i) => i.status = i.status.max(f.status),
                    None => cell.issues.push(Issue {
                        check: c.def.name,
                        status: f.status,
                    }),
                }
            }
        }
    }
    let mut rows: Vec<Row> = order
        .iter()
        .map(|role| Row {
            role: Some(role.clone()),
            cells: envs
                .iter()
                .map(|env| {
                    let mut c = cells
                        .remove(&(role.clone(), env.clone()))
                        .unwrap_or_else(|| cell(env));
                    c.services.sort();
                    c.services.dedup();
                    c.not_deployed.sort();
                    c.not_deployed.dedup();
                    c.status = c
                        .issues
                        .iter()
                        .map(|i| i.status)
                        .max()
                        .unwrap_or(Status::Pass);
                    c
                })
                .collect(),
        })
        .collect();
    if !unassigned.is_empty() {
        rows.push(Row {
            role: None,
            cells: envs
                .iter()
                .map(|env| {
                    let mut c = cell(env);
                    if let Some(list) = unassigned.get(env) {
                        c.services = list.clone();
                        c.services.sort();
                        c.services.dedup();
                        c.status = Status::Fail;
                        c.issues.push(Issue {
                            check: "naming_map",
                            status: Status::Fail,
                        });
                    }
                    c
                })
                .collect(),
        });
    }
    RolesMatrix {
        reference: report.reference.clone(),
        environments: envs,
        rows,
    }
}

fn status_colors(s: Status) -> (&'static str, &'static str) {
    match s {
        Status::Pass => ("#d1fae5", "#047857"),
        Status::IntentionalDiff => ("#dbeafe", "#1d4ed8"),
        Status::ReviewRequired => ("#fef3c7", "#b45309"),
        Status::Fail => ("#fee2e2", "#b91c1c"),
    }
}

const MISSING_COLORS: (&str, &str) = ("#ffffff", "#b91c1c");

fn status_class(s: Status) -> &'static str {
    match s {
        Status::Pass => "pass",
        Status::IntentionalDiff => "intentional",
        Status::ReviewRequired => "review",
        Status::Fail => "fail",
    }
}

fn legend() -> [(&'static str, &'static str, &'static str); 5] {
    [
        ("pass", "PASS", "every check passes"),
        (
            "intentional",
            "INTENTIONAL_DIFF",
            "differs as the contract declares",
        ),
        ("review", "REVIEW_REQUIRED", "cannot be decided"),
        ("fail", "FAIL", "an undeclared difference"),
        ("missing", "no service", "nothing plays the role here"),
    ]
}

impl Cell {
    fn is_empty(&self) -> bool {
        self.services.is_empty()
    }

    fn class(&self) -> &'static str {
        if self.is_empty() && self.status != Status::IntentionalDiff {
            "missing"
        } else {
            status_class(self.status)
        }
    }

    fn colors(&self) -> (&'static str, &'static str) {
        if self.class() == "missing" {
            MISSING_COLORS
        } else {
            status_colors(self.status)
        }
    }

    /// The cell's text: services (or what stands for them), then the checks that did not
    /// pass, worst first.
    fn text(&self) -> String {
        let mut lines: Vec<String> = Vec::new();
        if self.services.is_empty() {
            lines.push(if self.not_deployed.is_empty() {
                "(no service)".to_string()
            } else {
                format!("{} (not deployed)", self.not_deployed.join(", "))
            });
        } else {
            lines.push(self.services.join(", "));
            if !self.not_deployed.is_empty() {
                lines.push(format!("{} (not deployed)", self.not_deployed.join(", ")));
            }
        }
        for status in [
            Status::Fail,
            Status::ReviewRequired,
            Status::IntentionalDiff,
        ] {
            let checks: Vec<&str> = self
                .issues
                .iter()
                .filter(|i| i.status == status)
                .map(|i| i.check)
                .collect();
            if !checks.is_empty() {
                lines.push(format!("{}: {}", status.as_str(), checks.join(", ")));
            }
        }
        lines.join("\n")
    }
}

fn row_label(row: &Row) -> String {
    match &row.role {
        Some(r) => r.clone(),
        None => "(in no role)".into(),
    }
}

fn row_key(row: &Row) -> String {
    match &row.role {
        Some(r) => format!("role\u{0}{r}"),
        None => "unassigned".into(),
    }
}

fn row_id(row: &Row) -> String {
    stable_id("role", &row_label(row), &row_key(row))
}

fn cell_id(row: &Row, env: &str) -> String {
    stable_id(
        "cell",
        &format!("{}_{env}", row_label(row)),
        &format!("{}\u{0}{env}", row_key(row)),
    )
}

fn env_heading(m: &RolesMatrix, env: &str) -> String {
    if env == m.reference {
        format!("{env} (reference)")
    } else {
        env.to_string()
    }
}

/// Graphviz DOT: a header row of environments, one row per role (each row a rank, its cells
/// kept in columns by invisible edges), then the legend.
pub fn dot(m: &RolesMatrix) -> String {
    let mut out = String::new();
    let _ = writeln!(out, "digraph tfparity_roles {{");
    let _ = writeln!(
        out,
        "  graph [rankdir=TB, fontname=\"Helvetica\", fontsize=12, labelloc=t, label={}, nodesep=0.3, ranksep=0.25, newrank=true];",
        dot_quote(&format!(
            "tfparity roles: {}",
            m.environments
                .iter()
                .map(|e| env_heading(m, e))
                .collect::<Vec<_>>()
                .join(" · ")
        ))
    );
    let _ = writeln!(
        out,
        "  node [shape=box, style=\"rounded,filled\", fontname=\"Helvetica\", fontsize=10, penwidth=1.5, width=2.4];"
    );
    let _ = writeln!(out, "  edge [arrowhead=none, color=\"#9ca3af\"];");
    // Each row: its node ids, and the lines that declare them.
    let mut rows: Vec<Vec<String>> = Vec::new();
    let mut header = vec!["hdr_role".to_string()];
    let _ = writeln!(
        out,
        "  hdr_role [label=\"role\", shape=plaintext, style=\"\", fontsize=11, width=1.4];"
    );
    for env in &m.environments {
        let id = stable_id("hdr", env, env);
        let _ = writeln!(
            out,
            "  {id} [label={}, shape=plaintext, style=\"\", fontsize=11];",
            dot_quote(&env_heading(m, env))
        );
        header.push(id);
    }
    rows.push(header);
    for row in &m.rows {
        let rid = row_id(row);
        let _ = writeln!(
            out,
            "  {rid} [label={}, shape=plaintext, style=\"\", fontsize=11, width=1.4];",
            dot_quote(&row_label(row))
        );
        let mut ids = vec![rid];
        for c in &row.cells {
            let id = cell_id(row, &c.environment);
            let (fill, stroke) = c.colors();
            let style = if c.class() == "missing" {
                "rounded,filled,dashed"
            } else {
                "rounded,filled"
            };
            let _ = writeln!(
                out,
                "  {id} [label={}, style=\"{style}\", fillcolor=\"{fill}\", color=\"{stroke}\"];",
                dot_quote(&c.text())
            );
            ids.push(id);
        }
        rows.push(ids);
    }
    let mut legend_ids = vec!["legend_title".to_string()];
    let _ = writeln!(
        out,
        "  legend_title [label=\"legend\", shape=plaintext, style=\"\", fontsize=10, width=1.4];"
    );
    for (class, name, what) in legend() {
        let (fill, stroke) = match class {
            "pass" => status_colors(Status::Pass),
            "intentional" => status_colors(Status::IntentionalDiff),
            "review" => status_colors(Status::ReviewRequired),
            "fail" => status_colors(Status::Fail),
            _ => MISSING_COLORS,
        };
        let style = if class == "missing" {
            "rounded,filled,dashed"
        } else {
            "rounded,filled"
        };
        let id = format!("legend_{class}");
        let _ = writeln!(
            out,
            "  {id} [label={}, style=\"{style}\", fillcolor=\"{fill}\", color=\"{stroke}\", fontsize=9];",
            dot_quote(&format!("{name}\n{what}"))
        );
        legend_ids.push(id);
    }
    // Rows: one rank each, cells left to right.
    for ids in rows.iter().chain(std::iter::once(&legend_ids)) {
        let _ = writeln!(out, "  {{ rank=same; {} }}", ids.join("; "));
        let _ = writeln!(out, "  {} [style=invis];", ids.join(" -> "));
    }
    // Each environment next to the one before, the link coloured by the later one's verdict.
    for (row, ids) in m.rows.iter().zip(&rows[1..]) {
        for (i, c) in row.cells.iter().enumerate().skip(1) {
            let (_, stroke) = c.colors();
            let _ = writeln!(
                out,
                "  {} -> {} [color=\"{stroke}\", penwidth=1.5, tailport=e, headport=w, constraint=false];",
                ids[i],
                ids[i + 1]
            );
        }
    }
    // Columns: each cell above the next row's, so the grid lines up.
    let width = rows[0].len();
    for col in 0..width {
        let column: Vec<&str> = rows
            .iter()
            .filter_map(|r| r.get(col).map(String::as_str))
            .collect();
        let _ = writeln!(out, "  {} [style=invis, weight=10];", column.join(" -> "));
    }
    if let (Some(last), Some(first)) = (rows.last(), legend_ids.first()) {
        let _ = writeln!(out, "  {} -> {first} [style=invis];", last[0]);
    }
    let _ = writeln!(out, "}}");
    out
}

/// Mermaid flowchart: the same grid, with one class per verdict and a legend subgraph.
pub fn mermaid(m: &RolesMatrix) -> String {
    let mut out = String::new();
    let _ = writeln!(out, "flowchart LR");
    let mut header = vec!["hdr_role[\"role\"]".to_string()];
    let mut header_ids = vec!["hdr_role".to_string()];
    for env in &m.environments {
        let id = stable_id("hdr", env, env);
        header.push(format!("{id}[\"{}\"]", mermaid_text(&env_heading(m, env))));
        header_ids.push(id);
    }
    let _ = writeln!(out, "  {}", header.join(" ~~~ "));
    let header_ids_last = header_ids.last().cloned();
    let mut classes: BTreeMap<&'static str, Vec<String>> = BTreeMap::new();
    classes.entry("header").or_default().extend(header_ids);
    for row in &m.rows {
        let rid = row_id(row);
        let mut line = format!("  {rid}[\"{}\"]", mermaid_text(&row_label(row)));
        classes.entry("role").or_default().push(rid);
        for (i, c) in row.cells.iter().enumerate() {
            let id = cell_id(row, &c.environment);
            let link = if i == 0 { "~~~" } else { "---" };
            let _ = write!(line, " {link} {id}[\"{}\"]", mermaid_text(&c.text()));
            classes.entry(c.class()).or_default().push(id);
        }
        let _ = writeln!(out, "{line}");
    }
    // The legend: a column to the right of the grid, hung off the last heading.
    let _ = writeln!(out, "  subgraph legend[\"Legend\"]");
    let _ = writeln!(out, "    direction TB");
    let items: Vec<String> = legend()
        .iter()
        .map(|(class, name, what)| {
            let id = format!("legend_{class}");
            classes.entry(class).or_default().push(id.clone());
            format!("{id}[\"{}\"]", mermaid_text(&format!("{name}: {what}")))
        })
        .collect();
    let _ = writeln!(out, "    {}", items.join(" ~~~ "));
    let _ = writeln!(out, "  end");
    if let Some(last) = header_ids_last {
        let _ = writeln!(out, "  {last} ~~~ legend");
    }
    let _ = writeln!(
        out,
        "  style legend fill:#ffffff,stroke:#d1d5db,color:#111827"
    );
    let defs: [(&str, (&str, &str), &str); 7] = [
        ("header", ("#ffffff", "#ffffff"), ",font-weight:bold"),
        ("role", ("#f9fafb", "#d1d5db"), ",font-weight:bold"),
        ("pass", status_colors(Status::Pass), ""),
        ("intentional", status_colors(Status::IntentionalDiff), ""),
        ("review", status_colors(Status::ReviewRequired), ""),
        ("fail", status_colors(Status::Fail), ",stroke-width:2px"),
        ("missing", MISSING_COLORS, ",stroke-dasharray:4 3"),
    ];
    for (name, (fill, stroke), extra) in defs {
        let _ = writeln!(
            out,
            "  classDef {name} fill:{fill},stroke:{stroke},color:#111827{extra}"
        );
    }
    for (name, ids) in &classes {
        let _ = writeln!(out, "  class {} {name}", ids.join(","));
    }
    out
}

#[derive(Serialize)]
struct RolesJson<'a> {
    schema_version: &'static str,
    kind: &'static str,
    #[serde(flatten)]
    matrix: &'a RolesMatrix,
}

pub fn json(m: &RolesMatrix) -> String {
    let doc = RolesJson {
        schema_version: super::SCHEMA_VERSION,
        kind: "roles",
        matrix: m,
    };
    let mut s = serde_json::to_string_pretty(&doc).unwrap_or_else(|_| "{}".into());
    s.push('\n');
    s
}

/// Whether the diagram is small enough to embed by default.
pub fn is_small(m: &RolesMatrix, mermaid_text: &str) -> bool {
    m.rows.len() <= AUTO_MAX_ROWS
        && m.environments.len() <= AUTO_MAX_ENVS
        && mermaid_text.len() <= AUTO_MAX_CHARS
}

/// The roles diagram section of the Markdown report (a Mermaid block GitHub renders), or
/// nothing when the mode says so or, in `auto`, when it would not stay small.
pub fn markdown_section(report: &Report) -> String {
    let mode = markdown_mode();
    if mode == DiagramMode::Never {
        return String::new();
    }
    let m = matrix(report);
    if m.rows.is_empty() {
        return String::new();
    }
    let chart = mermaid(&m);
    if mode == DiagramMode::Auto && !is_small(&m, &chart) {
        return String::new();
    }
    let mut out = String::new();
    let _ = writeln!(out);
    let _ = writeln!(out, "## Roles Across Environments");
    let _ = writeln!(out);
    let _ = writeln!(out, "```mermaid");
    out.push_str(&chart);
    let _ = writeln!(out, "```");
    let _ = writeln!(out);
    let _ = writeln!(
        out,
        "<sub>One row per role; each cell is the service playing it, coloured by the worst verdict for that role there (a difference from the reference `{}` is shown on the other environment). `tfparity graph --roles` draws it as DOT or JSON.</sub>",
        report.reference
    );
    out
}
