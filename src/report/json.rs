//! `--format json`: the stable interface other tools read. Its shape is described by
//! `schemas/report.schema.json`; field names do not change once shipped.

use serde::Serialize;

use super::{Report, SCHEMA_VERSION, display_path};
use crate::finding::{Finding, Status};

#[derive(Serialize)]
struct Json<'a> {
    schema_version: &'static str,
    tool: Tool,
    contract: Contract<'a>,
    reference: &'a str,
    environments: Vec<Env<'a>>,
    checks: Vec<Check<'a>>,
    gaps: Vec<Gap<'a>>,
    summary: Summary,
}

#[derive(Serialize)]
struct Tool {
    name: &'static str,
    version: &'static str,
}

#[derive(Serialize)]
struct Contract<'a> {
    path: Option<String>,
    assumptions: &'a [String],
}

#[derive(Serialize)]
struct Env<'a> {
    name: &'a str,
    projects: &'a [String],
    sources: Vec<Source<'a>>,
    services: Vec<Service<'a>>,
    notes: &'a [String],
}

#[derive(Serialize)]
struct Source<'a> {
    path: String,
    kind: &'static str,
    format_version: Option<&'a str>,
    terraform_version: Option<&'a str>,
}

#[derive(Serialize)]
struct Service<'a> {
    name: &'a str,
    kind: &'static str,
    address: &'a str,
    project: Option<&'a str>,
    region: Option<&'a str>,
    action: &'static str,
}

#[derive(Serialize)]
struct Check<'a> {
    number: u8,
    id: &'static str,
    name: &'static str,
    title: &'static str,
    kind: &'static str,
    status: Status,
    findings: &'a [Finding],
}

#[derive(Serialize)]
struct Gap<'a> {
    rank: usize,
    check: &'static str,
    id: &'static str,
    title: &'static str,
    score: u32,
    roles: &'a [String],
    environments: &'a [String],
    summary: &'a str,
    fix: &'a str,
}

#[derive(Serialize)]
struct Summary {
    status: Status,
    items: std::collections::BTreeMap<&'static str, usize>,
    findings: std::collections::BTreeMap<&'static str, usize>,
}

pub fn render(report: &Report) -> String {
    let doc = Json {
        schema_version: SCHEMA_VERSION,
        tool: Tool {
            name: "tfparity",
            version: env!("CARGO_PKG_VERSION"),
        },
        contract: Contract {
            path: report.contract_path.as_deref().map(display_path),
            assumptions: &report.assumptions,
        },
        reference: &report.reference,
        environments: report
            .environments
            .iter()
            .map(|e| Env {
                name: &e.name,
                projects: &e.projects,
                sources: e
                    .sources
                    .iter()
                    .map(|s| Source {
                        path: display_path(&s.path),
                        kind: s.kind.as_str(),
                        format_version: s.format_version.as_deref(),
                        terraform_version: s.terraform_version.as_deref(),
                    })
                    .collect(),
                services: e
                    .services
                    .iter()
                    .map(|s| Service {
                        name: &s.name,
                        kind: s.kind.as_str(),
                        address: &s.address,
                        project: s.project.as_deref(),
                        region: s.region.as_deref(),
                        action: s.action.as_str(),
                    })
                    .collect(),
                notes: &e.notes,
            })
            .collect(),
        checks: report
            .checks
            .iter()
            .map(|c| Check {
                number: c.def.number,
                id: c.def.id,
                name: c.def.name,
                title: c.def.title,
                kind: c.def.kind.as_str(),
                status: c.status,
                findings: &c.findings,
            })
            .collect(),
        gaps: report
            .gaps
            .iter()
            .map(|g| Gap {
                rank: g.rank,
                check: g.check.name,
                id: g.check.id,
                title: g.check.title,
                score: g.score,
                roles: &g.roles,
                environments: &g.environments,
                summary: &g.summary,
                fix: &g.fix,
            })
            .collect(),
        summary: Summary {
            status: report.worst(),
            items: report
                .item_counts()
                .into_iter()
                .map(|(s, n)| (s.as_str(), n))
                .collect(),
            findings: report
                .finding_counts()
                .into_iter()
                .map(|(s, n)| (s.as_str(), n))
                .collect(),
        },
    };
    let mut s = serde_json::to_string_pretty(&doc).expect("report serialises");
    s.push('\n');
    s
}
