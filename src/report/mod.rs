//! Reports: one renderer per format, all reading the same [`Report`].

pub mod github;
pub mod gitlab;
pub mod graph;
pub mod inventory;
pub mod json;
pub mod junit;
pub mod markdown;
pub mod pretty;
pub mod roles_diagram;
pub mod sarif;
pub mod text;

use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};
use std::sync::OnceLock;

use crate::checks::{CheckDef, CheckResult, Gap};
use crate::finding::{Evidence, Finding, Status};
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
    // Reports show the same few files on every piece of evidence (a million times in a large
    // report): the last one shown on this thread is remembered.
    thread_local! {
        static LAST: std::cell::RefCell<Option<(PathBuf, String)>> =
            const { std::cell::RefCell::new(None) };
    }
    LAST.with(|last| {
        let mut last = last.borrow_mut();
        match &*last {
            Some((path, shown)) if path == p => shown.clone(),
            _ => {
                let shown = shown_path(p);
                *last = Some((p.to_path_buf(), shown.clone()));
                shown
            }
        }
    })
}

fn shown_path(p: &Path) -> String {
    // The working directory is read once: tfparity never changes it.
    static CWD: OnceLock<Option<PathBuf>> = OnceLock::new();
    let rel = CWD
        .get_or_init(|| std::env::current_dir().ok())
        .as_deref()
        .and_then(|cwd| p.strip_prefix(cwd).ok())
        .unwrap_or(p);
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

// ---------------------------------------------------------------------------------------------
// Fingerprints: one stable id per finding, for SARIF, GitLab and baselines.

/// What identifies a finding from one run to the next: the check's id, the role, the
/// environments, the subject (`ingress`, `memory`, `env_keys`...) and the env var keys in its
/// evidence. Messages, values and source locations are left out on purpose: a value that
/// changes or a line that moves is still the same finding.
pub fn identity(check: &CheckDef, f: &Finding) -> String {
    let mut envs: Vec<&str> = f.environments.iter().map(String::as_str).collect();
    envs.sort_unstable();
    envs.dedup();
    let keys: BTreeSet<&str> = f
        .evidence
        .iter()
        .flat_map(|e| e.keys.iter().map(String::as_str))
        .collect();
    let sep = "\u{1f}";
    [
        "tfparity-v1",
        check.id,
        f.role.as_deref().unwrap_or(""),
        &envs.join(","),
        f.subject.as_deref().unwrap_or(""),
        &keys.into_iter().collect::<Vec<_>>().join(","),
    ]
    .join(sep)
}

/// FNV-1a, 64 bits: small, stable across platforms and Rust versions (unlike `DefaultHasher`).
fn fnv1a64(data: &[u8]) -> u64 {
    let mut h: u64 = 0xcbf2_9ce4_8422_2325;
    for b in data {
        h ^= u64::from(*b);
        h = h.wrapping_mul(0x0000_0100_0000_01b3);
    }
    h
}

/// A finding's fingerprint: 32 hex digits hashed from [`identity`] (two FNV-1a passes, the
/// second over the text reversed, so 128 bits in all).
pub fn fingerprint_of(identity: &str) -> String {
    let rev: Vec<u8> = identity.bytes().rev().collect();
    format!(
        "{:016x}{:016x}",
        fnv1a64(identity.as_bytes()),
        fnv1a64(&rev)
    )
}

/// The fingerprints of every finding, indexed `[check][finding]`. Findings whose identity is
/// the same within one run (two services of one role in one environment, say) are told apart
/// by their evidence's resource addresses, and, failing that, by their order.
pub fn fingerprints(report: &Report) -> Vec<Vec<String>> {
    let ids: Vec<Vec<String>> = report
        .checks
        .iter()
        .map(|c| c.findings.iter().map(|f| identity(c.def, f)).collect())
        .collect();
    let mut count: BTreeMap<&str, usize> = BTreeMap::new();
    for id in ids.iter().flatten() {
        *count.entry(id.as_str()).or_default() += 1;
    }
    let mut seen: BTreeMap<String, usize> = BTreeMap::new();
    let mut out = Vec::with_capacity(ids.len());
    for (c, check_ids) in report.checks.iter().zip(&ids) {
        let mut row = Vec::with_capacity(check_ids.len());
        for (f, id) in c.findings.iter().zip(check_ids) {
            let mut full = id.clone();
            if count[id.as_str()] > 1 {
                let addresses: BTreeSet<&str> = f
                    .evidence
                    .iter()
                    .filter_map(|e| e.address.as_deref())
                    .collect();
                full.push('\u{1f}');
                full.push_str(&addresses.into_iter().collect::<Vec<_>>().join(","));
            }
            let n = seen.entry(full.clone()).or_default();
            *n += 1;
            if *n > 1 {
                full.push_str(&format!("\u{1f}#{n}"));
            }
            row.push(fingerprint_of(&full));
        }
        out.push(row);
    }
    out
}

// ---------------------------------------------------------------------------------------------
// The gate: which findings fail the run, given `--fail-on`, a baseline and `--only-changed`.

/// How a finding stands against a baseline.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum BaselineState {
    /// Not in the baseline: it counts.
    New,
    /// In the baseline with the same or a worse status: it does not fail the gate.
    Unchanged,
    /// In the baseline, but its status got worse (REVIEW_REQUIRED then, FAIL now): it counts.
    Worse,
}

impl BaselineState {
    pub fn as_str(self) -> &'static str {
        match self {
            BaselineState::New => "new",
            BaselineState::Unchanged => "unchanged",
            BaselineState::Worse => "updated",
        }
    }
}

/// A baseline as applied to one report.
#[derive(Clone, Debug)]
pub struct BaselineView {
    /// The baseline file, as reports show it.
    pub path: String,
    /// `[check][finding]`.
    pub states: Vec<Vec<BaselineState>>,
    /// Entries of the baseline that no finding of this run matches (fixed, or out of scope).
    pub stale: usize,
}

/// Which roles `--only-changed` kept, and why.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct ChangedScope {
    /// The roles reported, sorted.
    pub roles: Vec<String>,
    /// How many roles there are in all.
    pub total: usize,
    /// Where the changes came from: "the plans' actions", "git diff main"...
    pub from: Vec<String>,
}

/// The gate's reading of a report.
#[derive(Clone, Debug)]
pub struct Gate {
    /// Findings at or above this status fail the run; None for `--fail-on never`.
    pub threshold: Option<Status>,
    /// `[check][finding]`, see [`fingerprints`]: computed when first asked for, since most
    /// formats show none (0.1 s for a 5,000-service report).
    fingerprints: std::sync::OnceLock<Vec<Vec<String>>>,
    pub baseline: Option<BaselineView>,
    pub scope: Option<ChangedScope>,
}

impl Gate {
    /// The gate with `--fail-on` alone (no baseline, whole report).
    pub fn new(threshold: Option<Status>) -> Self {
        Gate {
            threshold,
            fingerprints: std::sync::OnceLock::new(),
            baseline: None,
            scope: None,
        }
    }

    /// The fingerprint of a finding of `report`, the report this gate reads.
    pub fn fingerprint(&self, report: &Report, check: usize, finding: usize) -> &str {
        &self.fingerprints.get_or_init(|| fingerprints(report))[check][finding]
    }

    /// The finding's standing against the baseline; None without a baseline.
    pub fn baseline_state(&self, check: usize, finding: usize) -> Option<BaselineState> {
        self.baseline.as_ref().map(|b| b.states[check][finding])
    }

    /// Whether the baseline accepts the finding (it is recorded there, no worse).
    pub fn in_baseline(&self, check: usize, finding: usize) -> bool {
        self.baseline_state(check, finding) == Some(BaselineState::Unchanged)
    }

    /// Whether this finding fails the run.
    pub fn gates(&self, check: usize, finding: usize, f: &Finding) -> bool {
        self.threshold.is_some_and(|t| f.status >= t) && !self.in_baseline(check, finding)
    }

    /// The findings that fail the run, as (check, finding) indices.
    pub fn failing<'r>(&self, report: &'r Report) -> Vec<(usize, usize, &'r Finding)> {
        report
            .checks
            .iter()
            .enumerate()
            .flat_map(|(ci, c)| {
                c.findings
                    .iter()
                    .enumerate()
                    .filter(move |(fi, f)| self.gates(ci, *fi, f))
                    .map(move |(fi, f)| (ci, fi, f))
            })
            .collect()
    }

    /// Whether the run fails (exit 1).
    pub fn fails(&self, report: &Report) -> bool {
        !self.failing(report).is_empty()
    }

    /// How many findings the baseline accepts that would otherwise fail the run.
    pub fn accepted_by_baseline(&self, report: &Report) -> usize {
        let Some(t) = self.threshold else { return 0 };
        report
            .checks
            .iter()
            .enumerate()
            .flat_map(|(ci, c)| {
                c.findings
                    .iter()
                    .enumerate()
                    .map(move |(fi, f)| (ci, fi, f))
            })
            .filter(|(ci, fi, f)| f.status >= t && self.in_baseline(*ci, *fi))
            .count()
    }

    /// The option the threshold came from, for messages: `--fail-on fail`.
    pub fn fail_on(&self) -> &'static str {
        match self.threshold {
            Some(Status::Fail) => "fail",
            Some(Status::ReviewRequired) => "review",
            Some(Status::IntentionalDiff) => "intentional",
            Some(Status::Pass) => "pass",
            None => "never",
        }
    }

    /// One sentence: does the gate pass, and why.
    pub fn sentence(&self, report: &Report) -> String {
        let failing = self.failing(report).len();
        let mut s = if self.threshold.is_none() {
            "the gate never fails (`--fail-on never`)".to_string()
        } else if failing == 0 {
            format!("the gate passes (`--fail-on {}`)", self.fail_on())
        } else {
            format!(
                "the gate fails (`--fail-on {}`): {failing} finding(s) fail it",
                self.fail_on()
            )
        };
        if let Some(b) = &self.baseline {
            let accepted = self.accepted_by_baseline(report);
            s.push_str(&format!(
                "; {accepted} finding(s) recorded in the baseline `{}` do not count",
                b.path
            ));
            if b.stale > 0 {
                s.push_str(&format!(
                    ", {} baseline entr{} {}",
                    b.stale,
                    if b.stale == 1 { "y is" } else { "ies are" },
                    if self.scope.is_some() {
                        "not in this report (fixed, or about roles this change leaves alone)"
                    } else {
                        "no longer found (fixed: rewrite the baseline with --write-baseline)"
                    }
                ));
            }
        }
        s
    }
}

// ---------------------------------------------------------------------------------------------
// Paths for code-scanning formats: relative to the repository root.

fn repo_root() -> Option<&'static Path> {
    static ROOT: OnceLock<Option<PathBuf>> = OnceLock::new();
    ROOT.get_or_init(|| {
        let cwd = std::env::current_dir().ok()?;
        let cwd = cwd.canonicalize().unwrap_or(cwd);
        cwd.ancestors()
            .find(|d| d.join(".git").exists())
            .map(Path::to_path_buf)
            .or(Some(cwd))
    })
    .as_deref()
}

/// A path relative to the repository that holds the working directory (the nearest
/// ancestor with `.git`; the working directory itself outside a repository), with `/`.
/// None when the file lies outside it.
pub fn repo_path(p: &Path) -> Option<String> {
    let root = repo_root()?;
    let abs = if p.is_absolute() {
        p.to_path_buf()
    } else {
        std::env::current_dir().ok()?.join(p)
    };
    let abs = abs.canonicalize().unwrap_or(abs);
    let rel = abs.strip_prefix(root).ok()?;
    let s = rel.to_string_lossy().replace('\\', "/");
    (!s.is_empty()).then_some(s)
}

/// A path as code-scanning formats want it: repository-relative when possible, else as the
/// other reports show it.
pub fn scan_path(p: &Path) -> String {
    repo_path(p).unwrap_or_else(|| display_path(p))
}

/// Percent-encodes a path for a URI reference (RFC 3986: unreserved characters and `/` kept).
pub fn uri_encode(path: &str) -> String {
    let mut out = String::with_capacity(path.len());
    for b in path.bytes() {
        if b.is_ascii_alphanumeric() || matches!(b, b'-' | b'.' | b'_' | b'~' | b'/') {
            out.push(b as char);
        } else {
            out.push_str(&format!("%{b:02X}"));
        }
    }
    out
}

/// The environment a finding is mostly about: the last one that is not the reference (a
/// parity finding compares the reference with it), else its only one.
pub fn finding_env<'f>(f: &'f Finding, reference: &str) -> Option<&'f str> {
    f.environments
        .iter()
        .rev()
        .find(|e| *e != reference)
        .or(f.environments.first())
        .map(String::as_str)
}

/// The place a finding points at: its first location in an environment other than the
/// reference (where a parity gap usually is), else its first location.
pub fn primary_location<'f>(f: &'f Finding, reference: &str) -> Option<&'f Evidence> {
    f.evidence
        .iter()
        .find(|e| e.location.is_some() && e.environment.as_deref().is_some_and(|x| x != reference))
        .or_else(|| f.evidence.iter().find(|e| e.location.is_some()))
}

/// Where a finding without any source location can still point, for formats that need a file:
/// the contract (which decided it), or the first source of its environment.
pub fn fallback_file(report: &Report, f: &Finding) -> Option<PathBuf> {
    if let Some(p) = &report.contract_path {
        return Some(p.clone());
    }
    f.environments
        .iter()
        .find_map(|env| report.environments.iter().find(|e| &e.name == env))
        .or(report.environments.first())
        .and_then(|e| e.sources.first())
        .map(|s| s.path.clone())
}

/// The first paragraph of a check's "What it checks" section, as plain text.
pub fn docs_summary(def: &CheckDef) -> String {
    let after = def
        .docs
        .split_once("## What it checks")
        .map(|(_, rest)| rest)
        .unwrap_or(def.docs);
    after
        .trim_start()
        .split("\n\n")
        .next()
        .unwrap_or("")
        .split_whitespace()
        .collect::<Vec<_>>()
        .join(" ")
}

#[cfg(test)]
mod gate_tests {
    use super::*;

    #[test]
    fn fingerprints_are_stable_hex() {
        let a = fingerprint_of("x");
        assert_eq!(a.len(), 32);
        assert_eq!(a, fingerprint_of("x"));
        assert_ne!(a, fingerprint_of("y"));
        // FNV-1a's published test vectors: a change here would break every user's baseline
        // and code-scanning history.
        assert_eq!(fnv1a64(b""), 0xcbf2_9ce4_8422_2325);
        assert_eq!(fnv1a64(b"a"), 0xaf63_dc4c_8601_ec8c);
        assert_eq!(fnv1a64(b"foobar"), 0x8594_4171_f739_67e8);
    }

    #[test]
    fn uri_encoding_keeps_paths_readable() {
        assert_eq!(
            uri_encode("infra/envs/dev/main.tf"),
            "infra/envs/dev/main.tf"
        );
        assert_eq!(uri_encode("my dir/a#b.tf"), "my%20dir/a%23b.tf");
    }
}
