//! `--format sarif`: SARIF 2.1.0 for code scanning (GitHub, GitLab, Azure DevOps...).
//!
//! One rule per check, with the check's documentation as its help. One result per finding
//! that is not PASS: FAIL is level `error`, REVIEW_REQUIRED `warning`, INTENTIONAL_DIFF `note`
//! with an external suppression naming the contract's declaration; the status itself is the
//! result's `tfparity/status` property. Locations are relative to the repository root (the
//! nearest ancestor of the working directory with `.git`) under `%SRCROOT%`, at the `.tf`
//! line when the source is a Terraform directory and in the plan file otherwise. Each
//! result's `partialFingerprints` carries the finding's fingerprint, which does not depend
//! on lines or values, so code scanning tracks one alert across runs.

use std::collections::BTreeMap;

use serde::Serialize;

use super::{Gate, Report, evidence_line, primary_location, uri_encode};
use crate::checks::REGISTRY;
use crate::finding::{Evidence, Finding, Status};

const SCHEMA: &str = "https://json.schemastore.org/sarif-2.1.0.json";
/// The key of the fingerprint in `partialFingerprints` (versioned, as SARIF recommends).
pub const FINGERPRINT_KEY: &str = "tfparity/v1";

#[derive(Serialize)]
struct Log<'a> {
    #[serde(rename = "$schema")]
    schema: &'static str,
    version: &'static str,
    runs: Vec<Run<'a>>,
}

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct Run<'a> {
    tool: Tool,
    automation_details: AutomationDetails,
    column_kind: &'static str,
    results: Vec<SarifResult<'a>>,
    properties: RunProperties,
}

#[derive(Serialize)]
struct AutomationDetails {
    id: String,
}

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct RunProperties {
    #[serde(rename = "tfparity/verdict")]
    verdict: Status,
    #[serde(rename = "tfparity/reference")]
    reference: String,
    #[serde(rename = "tfparity/items")]
    items: BTreeMap<&'static str, usize>,
    #[serde(rename = "tfparity/gateFails")]
    gate_fails: bool,
    #[serde(
        rename = "tfparity/onlyChangedRoles",
        skip_serializing_if = "Option::is_none"
    )]
    only_changed_roles: Option<Vec<String>>,
}

#[derive(Serialize)]
struct Tool {
    driver: Driver,
}

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct Driver {
    name: &'static str,
    version: &'static str,
    semantic_version: &'static str,
    rules: Vec<Rule>,
}

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct Rule {
    id: &'static str,
    name: &'static str,
    short_description: Text,
    full_description: Text,
    help: Help,
    default_configuration: Configuration,
    properties: RuleProperties,
}

#[derive(Serialize)]
struct Text {
    text: String,
}

#[derive(Serialize)]
struct Help {
    text: String,
    markdown: String,
}

#[derive(Serialize)]
struct Configuration {
    level: &'static str,
}

#[derive(Serialize)]
struct RuleProperties {
    tags: Vec<&'static str>,
    #[serde(rename = "tfparity/number")]
    number: u8,
    #[serde(rename = "tfparity/kind")]
    kind: &'static str,
    #[serde(rename = "tfparity/impact")]
    impact: u32,
}

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct SarifResult<'a> {
    rule_id: &'static str,
    rule_index: usize,
    level: &'static str,
    message: Text,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    locations: Vec<Location>,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    related_locations: Vec<Location>,
    partial_fingerprints: BTreeMap<&'static str, &'a str>,
    #[serde(skip_serializing_if = "Option::is_none")]
    baseline_state: Option<&'static str>,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    suppressions: Vec<Suppression>,
    properties: ResultProperties<'a>,
}

#[derive(Serialize)]
struct Suppression {
    kind: &'static str,
    status: &'static str,
    justification: String,
}

#[derive(Serialize)]
struct ResultProperties<'a> {
    #[serde(rename = "tfparity/status")]
    status: Status,
    #[serde(rename = "tfparity/check")]
    check: &'static str,
    #[serde(rename = "tfparity/role", skip_serializing_if = "Option::is_none")]
    role: Option<&'a str>,
    #[serde(rename = "tfparity/environments")]
    environments: &'a [String],
    #[serde(rename = "tfparity/subject", skip_serializing_if = "Option::is_none")]
    subject: Option<&'a str>,
    #[serde(rename = "tfparity/keys", skip_serializing_if = "Vec::is_empty")]
    keys: Vec<&'a str>,
    #[serde(rename = "tfparity/gates")]
    gates: bool,
}

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct Location {
    #[serde(skip_serializing_if = "Option::is_none")]
    id: Option<usize>,
    physical_location: PhysicalLocation,
    #[serde(skip_serializing_if = "Option::is_none")]
    message: Option<Text>,
}

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct PhysicalLocation {
    artifact_location: ArtifactLocation,
    region: Region,
}

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct ArtifactLocation {
    uri: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    uri_base_id: Option<&'static str>,
}

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct Region {
    start_line: usize,
    start_column: usize,
}

fn level(status: Status) -> &'static str {
    match status {
        Status::Fail => "error",
        Status::ReviewRequired => "warning",
        Status::IntentionalDiff => "note",
        Status::Pass => "none",
    }
}

fn location(e: &Evidence, id: Option<usize>, with_message: bool) -> Option<Location> {
    let span = e.location.as_ref()?;
    let (uri, base) = match super::repo_path(&span.file) {
        Some(rel) => (uri_encode(&rel), Some("%SRCROOT%")),
        None => {
            // Outside the repository: an absolute file URI (never a bare OS path).
            let abs = if span.file.is_absolute() {
                span.file.to_path_buf()
            } else {
                std::env::current_dir().ok()?.join(&span.file)
            };
            let s = abs.to_string_lossy().replace('\\', "/");
            let s = if s.starts_with('/') {
                s
            } else {
                format!("/{s}")
            };
            (format!("file://{}", uri_encode(&s)), None)
        }
    };
    Some(Location {
        id,
        physical_location: PhysicalLocation {
            artifact_location: ArtifactLocation {
                uri,
                uri_base_id: base,
            },
            region: Region {
                start_line: span.line.max(1),
                start_column: span.column.max(1),
            },
        },
        message: with_message.then(|| Text {
            text: evidence_line(e),
        }),
    })
}

fn result<'a>(
    report: &Report,
    gate: &'a Gate,
    ci: usize,
    fi: usize,
    f: &'a Finding,
) -> SarifResult<'a> {
    let def = report.checks[ci].def;
    let primary = primary_location(f, &report.reference);
    let mut locations: Vec<Location> = primary
        .and_then(|e| location(e, None, false))
        .into_iter()
        .collect();
    if locations.is_empty() {
        // Code scanning wants a place: the contract that decided it, line 1.
        let at = super::fallback_file(report, f).map(|file| Evidence {
            location: Some(crate::inventory::Span::new(file, 1, 1)),
            ..Default::default()
        });
        locations.extend(at.and_then(|e| location(&e, None, false)));
    }
    let mut related: Vec<Location> = Vec::new();
    for e in &f.evidence {
        if primary.is_some_and(|p| std::ptr::eq(p, e)) {
            continue;
        }
        if let Some(l) = location(e, Some(related.len() + 1), true) {
            related.push(l);
        }
    }
    let mut message = f.message.clone();
    if gate.in_baseline(ci, fi) {
        message.push_str(" [recorded in the baseline]");
    }
    let suppressions = match (&f.accepted_by, f.status) {
        (Some(a), Status::IntentionalDiff) => vec![Suppression {
            kind: "external",
            status: "accepted",
            justification: {
                let mut j = format!("intentional_difference \"{}\": {}", a.name, a.reason);
                if let Some(o) = &a.owner {
                    j.push_str(&format!(" (owner: {o}"));
                    match a.expires {
                        Some(x) => j.push_str(&format!(", expires {x})")),
                        None => j.push(')'),
                    }
                } else if let Some(x) = a.expires {
                    j.push_str(&format!(" (expires {x})"));
                }
                j
            },
        }],
        _ => Vec::new(),
    };
    let mut keys: Vec<&str> = f
        .evidence
        .iter()
        .flat_map(|e| e.keys.iter().map(String::as_str))
        .collect();
    keys.sort_unstable();
    keys.dedup();
    SarifResult {
        rule_id: def.id,
        rule_index: (def.number - 1) as usize,
        level: level(f.status),
        message: Text { text: message },
        locations,
        related_locations: related,
        partial_fingerprints: BTreeMap::from([(FINGERPRINT_KEY, gate.fingerprint(report, ci, fi))]),
        baseline_state: gate.baseline_state(ci, fi).map(|s| s.as_str()),
        suppressions,
        properties: ResultProperties {
            status: f.status,
            check: def.name,
            role: f.role.as_deref(),
            environments: &f.environments,
            subject: f.subject.as_deref(),
            keys,
            gates: gate.gates(ci, fi, f),
        },
    }
}

pub fn render(report: &Report, gate: &Gate) -> String {
    let rules = REGISTRY
        .iter()
        .map(|c| {
            let mut tags = vec!["terraform", "cloud-run", "dev-prod-parity", c.kind.as_str()];
            if c.impact >= 5 {
                tags.push("security");
            }
            Rule {
                id: c.id,
                name: c.name,
                short_description: Text {
                    text: c.title.to_string(),
                },
                full_description: Text {
                    text: super::docs_summary(c),
                },
                help: Help {
                    text: c.docs.to_string(),
                    markdown: c.docs.to_string(),
                },
                default_configuration: Configuration { level: "error" },
                properties: RuleProperties {
                    tags,
                    number: c.number,
                    kind: c.kind.as_str(),
                    impact: c.impact,
                },
            }
        })
        .collect();
    let mut results = Vec::new();
    for (ci, c) in report.checks.iter().enumerate() {
        for (fi, f) in c.findings.iter().enumerate() {
            if f.status != Status::Pass {
                results.push(result(report, gate, ci, fi, f));
            }
        }
    }
    let mut envs: Vec<&str> = report
        .environments
        .iter()
        .map(|e| e.name.as_str())
        .collect();
    envs.sort_unstable();
    let log = Log {
        schema: SCHEMA,
        version: "2.1.0",
        runs: vec![Run {
            tool: Tool {
                driver: Driver {
                    name: "tfparity",
                    version: env!("CARGO_PKG_VERSION"),
                    semantic_version: env!("CARGO_PKG_VERSION"),
                    rules,
                },
            },
            // One category per set of environments, so code scanning keeps separate
            // analyses for separate gates in one repository.
            automation_details: AutomationDetails {
                id: format!("tfparity/{}/", envs.join("-")),
            },
            column_kind: "unicodeCodePoints",
            results,
            properties: RunProperties {
                verdict: report.worst(),
                reference: report.reference.clone(),
                items: report
                    .item_counts()
                    .into_iter()
                    .map(|(s, n)| (s.as_str(), n))
                    .collect(),
                gate_fails: gate.fails(report),
                only_changed_roles: gate.scope.as_ref().map(|s| s.roles.clone()),
            },
        }],
    };
    let mut s = serde_json::to_string_pretty(&log).expect("SARIF serialises");
    s.push('\n');
    s
}
