//! Reports: one renderer per format, all reading the same [`Report`].

pub mod inventory;
pub mod json;
pub mod markdown;
pub mod text;

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use crate::checks::{CheckResult, Gap};
use crate::finding::{Evidence, Status};
use crate::inventory::{Action, SourceInfo};
use crate::model::{EnvModel, ServiceKind};

pub const SCHEMA_VERSION: &str = "1.0";

/// A service as the inventory section lists it.
#[derive(Clone, Debug)]
pub struct ServiceLine {
    pub name: String,
    pub kind: ServiceKind,
    pub address: String,
    pub project: Option<String>,
    pub region: Option<String>,
    pub action: Action,
}

#[derive(Clone, Debug)]
pub struct EnvReport {
    pub name: String,
    pub sources: Vec<SourceInfo>,
    pub projects: Vec<String>,
    pub services: Vec<ServiceLine>,
    pub notes: Vec<String>,
}

impl EnvReport {
    pub fn from_model(model: &EnvModel, sources: &[SourceInfo]) -> Self {
        EnvReport {
            name: model.name.clone(),
            sources: sources.to_vec(),
            projects: model.projects.clone(),
            services: model
                .services
                .iter()
                .map(|s| ServiceLine {
                    name: s.name.clone(),
                    kind: s.kind,
                    address: s.address.clone(),
                    project: s.project.clone(),
                    region: s.region.clone(),
                    action: s.action,
                })
                .collect(),
            notes: model.notes.clone(),
        }
    }
}

pub struct Report {
    pub contract_path: Option<PathBuf>,
    pub assumptions: Vec<String>,
    pub reference: String,
    pub environments: Vec<EnvReport>,
    pub checks: Vec<CheckResult>,
    pub gaps: Vec<Gap>,
}

impl Report {
    /// Items (checks) by verdict.
    pub fn item_counts(&self) -> BTreeMap<Status, usize> {
        let mut m: BTreeMap<Status, usize> = Status::ALL.iter().map(|s| (*s, 0)).collect();
        for c in &self.checks {
            *m.entry(c.status).or_default() += 1;
        }
        m
    }

    /// Findings by verdict.
    pub fn finding_counts(&self) -> BTreeMap<Status, usize> {
        let mut m: BTreeMap<Status, usize> = Status::ALL.iter().map(|s| (*s, 0)).collect();
        for c in &self.checks {
            for f in &c.findings {
                *m.entry(f.status).or_default() += 1;
            }
        }
        m
    }

    /// The worst item verdict.
    pub fn worst(&self) -> Status {
        self.checks
            .iter()
            .map(|c| c.status)
            .max()
            .unwrap_or(Status::Pass)
    }

    /// "3 FAIL · 1 REVIEW_REQUIRED · 2 INTENTIONAL_DIFF · 4 PASS" over the items.
    pub fn summary_line(&self) -> String {
        let counts = self.item_counts();
        Status::ALL
            .iter()
            .map(|s| format!("{} {}", counts[s], s.as_str()))
            .collect::<Vec<_>>()
            .join(" · ")
    }
}

/// A path as reports show it: relative to the working directory when under it, with `/`.
pub fn display_path(p: &Path) -> String {
    let rel = std::env::current_dir()
        .ok()
        .and_then(|cwd| p.strip_prefix(&cwd).ok().map(Path::to_path_buf))
        .unwrap_or_else(|| p.to_path_buf());
    let s = rel.to_string_lossy().replace('\\', "/");
    let s = s.strip_prefix("./").unwrap_or(&s).to_string();
    if s.is_empty() { ".".into() } else { s }
}

/// One line describing a piece of evidence: environment, address, place, attribute, value,
/// keys.
pub fn evidence_line(e: &Evidence) -> String {
    let mut parts: Vec<String> = Vec::new();
    if let Some(env) = &e.environment {
        parts.push(format!("[{env}]"));
    }
    if let Some(a) = &e.address {
        parts.push(a.clone());
    }
    if let Some(attr) = &e.attribute {
        match &e.value {
            Some(v) => parts.push(format!("{attr} = {v}")),
            None => parts.push(attr.clone()),
        }
    } else if let Some(v) = &e.value {
        parts.push(v.clone());
    }
    if !e.keys.is_empty() {
        parts.push(format!("keys: {}", e.keys.join(", ")));
    }
    if let Some(loc) = &e.location {
        parts.push(format!(
            "({}:{}:{})",
            display_path(&loc.file),
            loc.line,
            loc.column
        ));
    }
    parts.join(" ")
}
