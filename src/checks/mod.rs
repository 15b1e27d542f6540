//! The ten checks, each declared the same way in one registry: a number, a stable id, a name,
//! a title, docs, and one function from the environments' models and the contract to findings.
//!
//! Checks are pure: no I/O except `deploy_workflows`, which reads the workflow files the
//! contract names.

pub mod cpu_memory;
pub mod deploy_workflows;
pub mod domains;
pub mod env_keys;
pub mod ingress;
pub mod naming_map;
pub mod network;
pub mod role_coverage;
pub mod secret_refs;
pub mod service_accounts;
#[cfg(test)]
pub(crate) mod testkit;

use std::collections::{BTreeMap, BTreeSet};
use std::path::PathBuf;

use crate::contract::roles::{Role, RoleMap};
use crate::contract::{Contract, Date, IntentionalDiff};
use crate::finding::{Acceptance, Evidence, Finding, Status};
use crate::model::{Container, EnvModel, Service};

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum CheckKind {
    /// Compares each environment with the reference.
    Parity,
    /// Holds each environment to its own rules.
    Conformance,
}

impl CheckKind {
    pub fn as_str(self) -> &'static str {
        match self {
            CheckKind::Parity => "parity",
            CheckKind::Conformance => "conformance",
        }
    }
}

pub struct CheckDef {
    pub number: u8,
    /// Stable id, never reused.
    pub id: &'static str,
    /// snake_case name used in contracts and on the command line.
    pub name: &'static str,
    /// The audit's wording of the item.
    pub title: &'static str,
    pub kind: CheckKind,
    /// Weight of a failure of this check in the gap ranking (see [`gaps`]).
    pub impact: u32,
    /// What an intentional difference of this check may name as `attribute`.
    pub attributes: &'static [&'static str],
    /// Markdown docs: what it checks, why it matters, an example, how to fix, how to declare.
    pub docs: &'static str,
    pub run: fn(&Ctx<'_>) -> Vec<Finding>,
    /// The change that fixes this check's failures, for the gaps section.
    pub fix: fn(&[&Finding]) -> String,
}

pub static REGISTRY: [&CheckDef; 10] = [
    &role_coverage::CHECK,
    &naming_map::CHECK,
    &ingress::CHECK,
    &service_accounts::CHECK,
    &cpu_memory::CHECK,
    &env_keys::CHECK,
    &secret_refs::CHECK,
    &network::CHECK,
    &domains::CHECK,
    &deploy_workflows::CHECK,
];

/// Finds a check by id (`PAR003`), name (`ingress`) or number (`3`), case-insensitively.
pub fn lookup(name: &str) -> Option<&'static CheckDef> {
    let n = name.trim();
    REGISTRY.iter().copied().find(|c| {
        c.id.eq_ignore_ascii_case(n)
            || c.name.eq_ignore_ascii_case(n)
            || n.parse::<u8>().ok() == Some(c.number)
    })
}

pub fn names() -> impl Iterator<Item = &'static str> {
    REGISTRY.iter().map(|c| c.name)
}

/// What every check gets.
pub struct Ctx<'a> {
    pub contract: &'a Contract,
    /// The environments' models, reference first.
    pub models: &'a [&'a EnvModel],
    pub roles: &'a RoleMap,
    pub today: Date,
    /// Where relative paths in the contract start.
    pub base_dir: PathBuf,
}

/// How the contract stands on a difference.
pub enum Decision {
    Accepted(Acceptance),
    Expired(Acceptance),
    /// Declared, but with other values than found.
    Mismatch(Acceptance, String),
    Undeclared,
}

impl<'a> Ctx<'a> {
    pub fn reference(&self) -> &'a EnvModel {
        self.models[0]
    }

    pub fn others(&self) -> &'a [&'a EnvModel] {
        &self.models[1..]
    }

    pub fn model(&self, env: &str) -> Option<&'a EnvModel> {
        self.models.iter().find(|m| m.name == env).copied()
    }

    /// The services of a role in an environment.
    pub fn services(&self, role: &Role, env: &str) -> Vec<&'a Service> {
        let Some(model) = self.model(env) else {
            return Vec::new();
        };
        role.services
            .get(env)
            .map(|idx| idx.iter().map(|&i| &model.services[i]).collect())
            .unwrap_or_default()
    }

    /// Pairs of (reference service, other env, other service) to compare for a role: each
    /// service of another environment with the reference's service in the same region (or
    /// the first one).
    pub fn pairs(&self, role: &Role) -> Vec<(&'a Service, &'a EnvModel, &'a Service)> {
        let refs = self.services(role, &self.reference().name);
        let Some(first) = refs.first() else {
            return Vec::new();
        };
        let mut out = Vec::new();
        for env in self.others() {
            for s in self.services(role, &env.name) {
                let twin = refs
                    .iter()
                    .find(|r| r.region.is_some() && r.region == s.region)
                    .unwrap_or(first);
                out.push((*twin, *env, s));
            }
        }
        out
    }

    /// The verdict of an undeclared difference: FAIL under a contract; without one, the
    /// checks product.md names fail and the rest need review.
    pub fn undeclared(&self, fails_without_contract: bool) -> Status {
        if self.contract.is_assumed() && !fails_without_contract {
            Status::ReviewRequired
        } else {
            Status::Fail
        }
    }

    /// How the contract stands on a difference: whether an intentional difference covers it.
    pub fn decide(&self, d: &Diff<'_>) -> Decision {
        let mut mismatch: Option<Decision> = None;
        for decl in &self.contract.differences {
            if !covers(decl, d, &self.contract.reference) {
                continue;
            }
            let acceptance = acceptance(decl);
            let wrong: Vec<String> = decl
                .values
                .iter()
                .filter_map(|(e, want)| {
                    let got = d.actual.get(e)?;
                    (!(d.same)(got, want)).then(|| format!("{e}: declared {want}, found {got}"))
                })
                .collect();
            if !wrong.is_empty() {
                mismatch.get_or_insert(Decision::Mismatch(acceptance, wrong.join("; ")));
                continue;
            }
            if decl.expires.is_some_and(|x| x < self.today) {
                return Decision::Expired(acceptance);
            }
            return Decision::Accepted(acceptance);
        }
        mismatch.unwrap_or(Decision::Undeclared)
    }

    /// Applies the contract's decision to a finding that describes a difference (its status
    /// is the verdict when nothing declares it): INTENTIONAL_DIFF when declared, FAIL when the
    /// declaration expired or says otherwise.
    pub fn judge(&self, d: &Diff<'_>, mut f: Finding) -> Finding {
        match self.decide(d) {
            Decision::Accepted(a) => {
                f.status = Status::IntentionalDiff;
                f.message = format!("{} (declared: {})", f.message, a.reason);
                f.accepted_by = Some(a);
            }
            Decision::Expired(a) => {
                f.status = Status::Fail;
                f.message = format!(
                    "{} (the intentional difference `{}` expired on {})",
                    f.message,
                    a.name,
                    a.expires.map(|x| x.to_string()).unwrap_or_default()
                );
                f.accepted_by = Some(a);
            }
            Decision::Mismatch(a, why) => {
                f.status = Status::Fail;
                f.message = format!(
                    "{} (differs from the intentional difference `{}`: {why})",
                    f.message, a.name
                );
            }
            Decision::Undeclared => {}
        }
        f
    }

    /// A finding for a difference between the reference and `d.env`, judged by the contract.
    pub fn difference(&self, d: &Diff<'_>, undeclared: Status, message: String) -> Finding {
        let mut f = Finding::new(undeclared, message)
            .envs([self.reference().name.as_str(), d.env])
            .subject(d.attribute);
        if let Some(r) = d.role {
            f = f.role(r);
        }
        self.judge(d, f)
    }
}

/// A difference as the contract sees it: which check, role, environment and attribute, the
/// values found per environment and the keys involved.
pub struct Diff<'x> {
    pub check: &'static CheckDef,
    pub role: Option<&'x str>,
    pub env: &'x str,
    pub attribute: &'x str,
    pub actual: BTreeMap<String, String>,
    pub keys: Vec<String>,
    /// How a declared value compares with a found one.
    pub same: fn(&str, &str) -> bool,
}

impl<'x> Diff<'x> {
    pub fn new(
        check: &'static CheckDef,
        role: Option<&'x str>,
        env: &'x str,
        attribute: &'x str,
    ) -> Self {
        Diff {
            check,
            role,
            env,
            attribute,
            actual: BTreeMap::new(),
            keys: Vec::new(),
            same: same_text,
        }
    }

    pub fn values(mut self, actual: BTreeMap<String, String>) -> Self {
        self.actual = actual;
        self
    }

    pub fn keys(mut self, keys: Vec<String>) -> Self {
        self.keys = keys;
        self
    }

    pub fn same(mut self, same: fn(&str, &str) -> bool) -> Self {
        self.same = same;
        self
    }
}

fn acceptance(d: &IntentionalDiff) -> Acceptance {
    Acceptance {
        name: d.name.clone(),
        reason: d.reason.clone(),
        owner: d.owner.clone(),
        expires: d.expires,
        location: d.span.clone(),
    }
}

fn covers(decl: &IntentionalDiff, d: &Diff<'_>, reference: &str) -> bool {
    let (check, role, env, attribute, keys) = (d.check, d.role, d.env, Some(d.attribute), &d.keys);
    let d = decl;
    if d.check != check.id {
        return false;
    }
    let role_ok = d.roles.is_empty()
        || d.roles.iter().any(|r| r == "*")
        || role.is_some_and(|r| d.roles.iter().any(|x| x == r));
    let env_ok = if d.environments.is_empty() {
        env != reference || check.kind == CheckKind::Conformance
    } else {
        d.environments.iter().any(|e| e == env || e == "*")
    };
    let attr_ok = match (&d.attribute, attribute) {
        (None, _) => true,
        (Some(want), Some(got)) => want == got,
        (Some(_), None) => false,
    };
    let keys_ok = d.keys.is_empty() || keys.iter().all(|k| d.keys.contains(k));
    role_ok && env_ok && attr_ok && keys_ok
}

/// String equality, the default comparison of declared values.
pub fn same_text(a: &str, b: &str) -> bool {
    a == b
}

/// Containers paired by name, or by position when unnamed (single-container services).
pub fn container_pairs<'s>(
    a: &'s Service,
    b: &'s Service,
) -> Vec<(&'s Container, &'s Container, String)> {
    let mut out = Vec::new();
    for (i, ca) in a.containers.iter().enumerate() {
        let cb = match &ca.name {
            Some(n) => b
                .containers
                .iter()
                .find(|c| c.name.as_ref() == Some(n))
                .or_else(|| {
                    (a.containers.len() == 1 && b.containers.len() == 1).then(|| &b.containers[0])
                }),
            None => b.containers.get(i),
        };
        if let Some(cb) = cb {
            let label = match (&ca.name, a.containers.len()) {
                (Some(n), l) if l > 1 => format!("container {n}"),
                _ => String::new(),
            };
            out.push((ca, cb, label));
        }
    }
    out
}

/// Evidence pointing at a service's attribute.
pub fn service_evidence(
    env: &str,
    s: &Service,
    attribute: &str,
    span: Option<crate::inventory::Span>,
) -> Evidence {
    Evidence::env(env)
        .address(&s.address)
        .attribute(attribute)
        .at(span.or_else(|| s.span.clone()))
}

/// One check's result: its findings and the verdict they give.
pub struct CheckResult {
    pub def: &'static CheckDef,
    pub status: Status,
    pub findings: Vec<Finding>,
}

pub fn run_all(ctx: &Ctx<'_>, only: Option<&BTreeSet<String>>) -> Vec<CheckResult> {
    // The checks are independent: two threads take them in turn, each the next one not yet
    // taken, so a long check on one thread does not leave the other idle (the machines this
    // runs on in CI have two cores or more). Results keep the registry's order.
    let next = std::sync::atomic::AtomicUsize::new(0);
    let take = || {
        let mut done = Vec::new();
        loop {
            let i = next.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
            let Some(def) = REGISTRY.get(i) else {
                return done;
            };
            done.push((i, run_one(ctx, def, only)));
        }
    };
    let mut results = std::thread::scope(|scope| {
        let other = scope.spawn(take);
        let mut results = take();
        match other.join() {
            Ok(rest) => results.extend(rest),
            Err(panic) => std::panic::resume_unwind(panic),
        }
        results
    });
    results.sort_by_key(|(i, _)| *i);
    results.into_iter().map(|(_, r)| r).collect()
}

fn run_one(ctx: &Ctx<'_>, def: &'static CheckDef, only: Option<&BTreeSet<String>>) -> CheckResult {
    let mut findings = (def.run)(ctx);
    if let Some(only) = only {
        findings.retain(|f| f.role.as_ref().is_none_or(|r| only.contains(r)));
    }
    for f in &mut findings {
        f.evidence.sort();
        f.evidence.dedup();
    }
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
}

/// A failure worth fixing, ranked.
pub struct Gap {
    pub rank: usize,
    pub check: &'static CheckDef,
    pub score: u32,
    pub roles: Vec<String>,
    pub environments: Vec<String>,
    pub fix: String,
    pub summary: String,
}

/// The gap ranking rule: each check with FAIL findings is one gap, scored
/// `impact(check) × breadth`, where breadth is the number of distinct roles with a FAIL
/// finding (at least 1). Higher scores first; ties by check number. Impacts: security
/// (service accounts, exposure/ingress, secrets) 5; runtime behaviour (env keys, network) 3;
/// coverage, profile, domains, workflows 2; documentation (naming map) 1.
pub fn gaps(results: &[CheckResult]) -> Vec<Gap> {
    let mut out: Vec<Gap> = results
        .iter()
        .filter_map(|r| {
            let fails: Vec<&Finding> = r
                .findings
                .iter()
                .filter(|f| f.status == Status::Fail)
                .collect();
            if fails.is_empty() {
                return None;
            }
            let roles: BTreeSet<String> = fails.iter().filter_map(|f| f.role.clone()).collect();
            let envs: BTreeSet<String> = fails
                .iter()
                .flat_map(|f| f.environments.iter().cloned())
                .collect();
            let breadth = roles.len().max(1) as u32;
            let summary = if fails.len() == 1 {
                fails[0].message.clone()
            } else {
                format!(
                    "{} failing findings for {}",
                    fails.len(),
                    if roles.is_empty() {
                        "the environments".to_string()
                    } else {
                        roles.iter().cloned().collect::<Vec<_>>().join(", ")
                    }
                )
            };
            Some(Gap {
                rank: 0,
                check: r.def,
                score: r.def.impact * breadth,
                roles: roles.into_iter().collect(),
                environments: envs.into_iter().collect(),
                fix: (r.def.fix)(&fails),
                summary,
            })
        })
        .collect();
    out.sort_by(|a, b| {
        b.score
            .cmp(&a.score)
            .then(a.check.number.cmp(&b.check.number))
    });
    for (i, g) in out.iter_mut().enumerate() {
        g.rank = i + 1;
    }
    out
}

/// Joins names for messages: `a`, `a and b`, `a, b and c`.
pub fn list(items: &[String]) -> String {
    match items {
        [] => String::new(),
        [a] => format!("`{a}`"),
        _ => {
            let quoted: Vec<String> = items.iter().map(|i| format!("`{i}`")).collect();
            format!(
                "{} and {}",
                quoted[..quoted.len() - 1].join(", "),
                quoted[quoted.len() - 1]
            )
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn registry_is_consistent() {
        let mut ids = BTreeSet::new();
        let mut names = BTreeSet::new();
        for (i, c) in REGISTRY.iter().enumerate() {
            assert_eq!(c.number as usize, i + 1, "{} is out of order", c.name);
            assert!(ids.insert(c.id), "duplicate id {}", c.id);
            assert!(names.insert(c.name), "duplicate name {}", c.name);
            for section in [
                "## What it checks",
                "## Why it matters",
                "## Example",
                "## How to fix",
                "## Declaring an intentional difference",
            ] {
                assert!(c.docs.contains(section), "{} docs lack {section}", c.name);
            }
        }
    }

    #[test]
    fn lookup_by_id_name_or_number() {
        assert_eq!(lookup("PAR003").map(|c| c.name), Some("ingress"));
        assert_eq!(lookup("env_keys").map(|c| c.number), Some(6));
        assert_eq!(lookup("10").map(|c| c.name), Some("deploy_workflows"));
        assert!(lookup("nope").is_none());
    }

    #[test]
    fn lists_read_naturally() {
        assert_eq!(list(&["a".into()]), "`a`");
        assert_eq!(
            list(&["a".into(), "b".into(), "c".into()]),
            "`a`, `b` and `c`"
        );
    }
}
