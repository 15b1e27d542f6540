//! `--only-changed`: which roles a change touches, so a pull request's report shows only
//! them (findings about no role, such as deploy workflows, are always shown).
//!
//! A role changes when one of its services changes in any environment, or when a resource
//! linked to one of its services does:
//!
//! - **Plan inputs** (plan JSON, plan line stream): the plan's actions. A resource whose action
//!   is create, update, replace, delete or forget changes.
//! - **Terraform directories** (with `--base REF`): `git diff REF` (and untracked files),
//!   mapped to resources by their source spans. A changed line inside a `resource` or `data`
//!   block changes that resource (every instance); inside a `module` block, every resource of
//!   that module call; inside an entry of a map in `locals` or in a `.tfvars` file, the
//!   `for_each` instances whose key is that entry's key (`"jualuma-user-app" = { ... }` →
//!   `module.service["jualuma-user-app"]`). Anything that cannot be narrowed down (variables,
//!   providers, a map entry matching no instance key, a deleted block, a template) changes
//!   every resource declared in its directory, and in an environment's root directory (or a
//!   `var_files` file) the whole environment. Documentation files (`.md`, `.txt`) change
//!   nothing; a changed contract changes every role.
//! - State inputs change nothing: they describe what is already applied.
//!
//! A changed resource other than a service counts for the services linked to it in the
//! resource graph within two edges, without passing through another service (an IAM member
//! granting on the service, its service account and the bindings granting to it, its secrets,
//! connector, Cloud SQL instance, serverless NEG and the backend service using it), and for the
//! services in the same module instance. A deleted resource (gone from the plan's values)
//! counts for the services of its module instance; a deleted Cloud Run service or Cloud Run
//! IAM resource outside one counts for every role of its environment.

use std::collections::{BTreeMap, BTreeSet, HashMap, VecDeque};
use std::path::{Path, PathBuf};
use std::process::Command;

use hcl_edit::Span as _;
use hcl_edit::expr::{Expression, ObjectKey};
use hcl_edit::structure::{Body, Structure};

use crate::app::LoadedEnv;
use crate::contract::{self, Contract};
use crate::error::{Error, Result};
use crate::graph::{ResourceGraph, is_run_type};
use crate::inventory::LineIndex;
use crate::inventory::{InstanceKey, Mode, Resource, SourceKind};
use crate::model::EnvModel;
use crate::report::ChangedScope;

/// Which roles change, given the environments as loaded and, for Terraform directories, the
/// git revision to compare with.
pub fn scope(c: &Contract, envs: &[LoadedEnv], base: Option<&str>) -> Result<ChangedScope> {
    let models: Vec<EnvModel> = envs.iter().map(|e| e.model.clone()).collect();
    let roles = contract::roles::resolve(c, &models);
    let all: BTreeSet<String> = roles.roles.iter().map(|r| r.name.clone()).collect();
    let mut changed: BTreeSet<String> = BTreeSet::new();
    let mut from: Vec<String> = Vec::new();

    let needs_git: Vec<&LoadedEnv> = envs.iter().filter(|e| !has_plan(e) && has_hcl(e)).collect();
    let diff = match base {
        Some(r) => Some(GitDiff::read(r)?),
        None => {
            if let Some(e) = needs_git.first() {
                return Err(Error::Usage(format!(
                    "--only-changed needs --base REF for environment `{}`: its source is a Terraform directory, whose changes come from `git diff REF`",
                    e.spec.name
                )));
            }
            None
        }
    };
    if envs.iter().any(has_plan) {
        from.push("the plans' actions".to_string());
    }
    if let (Some(d), Some(r)) = (&diff, base) {
        from.push(format!("`git diff {r}`"));
        if let Some(p) = &c.path
            && d.touches(p)
        {
            // The contract decides every verdict.
            return Ok(ChangedScope {
                roles: all.iter().cloned().collect(),
                total: all.len(),
                from: vec![format!("`git diff {r}`, which changes the contract")],
            });
        }
    }

    for env in envs {
        let graph = ResourceGraph::build(&env.inventory);
        let services = services_by_resource(&graph, &env.model);
        let mut hit: BTreeSet<usize> = BTreeSet::new(); // model service indices
        let mut whole_env = false;
        if has_plan(env) {
            for (i, r) in env.inventory.resources.iter().enumerate() {
                if r.action.changes() {
                    hit.extend(linked_services(&graph, i, &services, &env.model));
                }
            }
            for address in &env.inventory.removed {
                let module = module_of(address);
                let near: Vec<usize> = env
                    .model
                    .services
                    .iter()
                    .enumerate()
                    .filter(|(_, s)| !module.is_empty() && module_of(&s.address) == module)
                    .map(|(k, _)| k)
                    .collect();
                if !near.is_empty() {
                    hit.extend(near);
                } else if run_related_type(address) {
                    whole_env = true;
                }
            }
        } else if has_hcl(env)
            && let Some(d) = &diff
        {
            let resources = d.changed_resources(env, &mut whole_env);
            for i in resources {
                hit.extend(linked_services(&graph, i, &services, &env.model));
            }
        }
        if whole_env {
            hit.extend(0..env.model.services.len());
        }
        for k in hit {
            if let Some(role) = roles.role_of(&env.spec.name, k) {
                changed.insert(role.name.clone());
            }
        }
    }
    if from.is_empty() {
        from.push("state sources, which change nothing".to_string());
    }
    Ok(ChangedScope {
        roles: changed.into_iter().collect(),
        total: all.len(),
        from,
    })
}

fn has_plan(e: &LoadedEnv) -> bool {
    e.inventory
        .sources
        .iter()
        .any(|s| matches!(s.kind, SourceKind::Plan | SourceKind::PlanStream))
}

fn has_hcl(e: &LoadedEnv) -> bool {
    e.inventory
        .sources
        .iter()
        .any(|s| s.kind == SourceKind::Hcl)
}

/// The module path segments of an address (`module.a["x"]`, `module.b`) for
/// `module.a["x"].module.b.google_x.y[0]`; also works on a module path itself.
fn module_segments(address: &str) -> Vec<String> {
    let mut segments: Vec<String> = Vec::new();
    let mut rest = address;
    while let Some(after) = rest.strip_prefix("module.") {
        // The name, then an optional instance key in brackets (which may hold dots).
        let name_end = after.find(['.', '[']).unwrap_or(after.len());
        let mut end = name_end;
        if after[name_end..].starts_with('[') {
            match crate::load::config::closing_bracket(&after[name_end..]) {
                Some(close) => end = name_end + close + 1,
                None => break,
            }
        }
        segments.push(format!("module.{}", &after[..end]));
        rest = after[end..].strip_prefix('.').unwrap_or("");
    }
    segments
}

/// The module path of an address, empty in the root module.
fn module_of(address: &str) -> String {
    module_segments(address).join(".")
}

/// Cloud Run services and their IAM resources: deleting one changes a service's exposure.
fn run_related_type(address: &str) -> bool {
    let module = module_of(address);
    let rest = address[module.len()..].trim_start_matches('.');
    let rest = rest.strip_prefix("data.").unwrap_or(rest);
    rest.split('.')
        .next()
        .is_some_and(|t| t.starts_with("google_cloud_run"))
}

/// The model's services by resource index.
fn services_by_resource(g: &ResourceGraph<'_>, model: &EnvModel) -> HashMap<usize, Vec<usize>> {
    let mut out: HashMap<usize, Vec<usize>> = HashMap::new();
    for (k, s) in model.services.iter().enumerate() {
        if let Some(i) = g.index_of(&s.address) {
            out.entry(i).or_default().push(k);
        }
    }
    out
}

/// The services a changed resource counts for (see the module docs).
fn linked_services(
    g: &ResourceGraph<'_>,
    start: usize,
    services: &HashMap<usize, Vec<usize>>,
    model: &EnvModel,
) -> BTreeSet<usize> {
    let mut out = BTreeSet::new();
    if let Some(s) = services.get(&start) {
        out.extend(s.iter().copied());
        return out;
    }
    let mut seen: BTreeSet<usize> = BTreeSet::from([start]);
    let mut queue: VecDeque<(usize, usize)> = VecDeque::from([(start, 0)]);
    while let Some((i, depth)) = queue.pop_front() {
        if depth == 2 {
            continue;
        }
        for (n, _) in g.outgoing(i).into_iter().chain(g.incoming(i)) {
            if !seen.insert(n) {
                continue;
            }
            if let Some(s) = services.get(&n) {
                out.extend(s.iter().copied());
                continue;
            }
            if is_run_type(&g.resource(n).rtype) {
                continue;
            }
            queue.push_back((n, depth + 1));
        }
    }
    let module = &g.resource(start).module;
    if !module.is_empty() {
        for (k, s) in model.services.iter().enumerate() {
            if module_of(&s.address) == *module {
                out.insert(k);
            }
        }
    }
    out
}

// ---------------------------------------------------------------------------------------------
// git diff

/// What changed in the work tree since a revision: per file (absolute), the changed line
/// ranges of the new side, or the whole file.
#[derive(Debug, Default)]
pub struct GitDiff {
    files: BTreeMap<PathBuf, FileChange>,
}

#[derive(Debug, Default, Clone)]
struct FileChange {
    /// 1-based, inclusive ranges of changed lines; a pure deletion between lines `c` and
    /// `c + 1` is recorded as `(c, c + 1)` with `deletion` set.
    hunks: Vec<(usize, usize, bool)>,
    /// New, untracked or deleted: every line counts.
    whole: bool,
}

fn git(dir: &Path, args: &[&str]) -> Result<String> {
    let out = Command::new("git")
        .arg("-C")
        .arg(dir)
        .args(["-c", "core.quotePath=false"])
        .args(args)
        .output()
        .map_err(|e| Error::Usage(format!("--base needs git, which could not run: {e}")))?;
    if !out.status.success() {
        return Err(Error::Usage(format!(
            "`git {}` failed: {}",
            args.join(" "),
            String::from_utf8_lossy(&out.stderr).trim()
        )));
    }
    Ok(String::from_utf8_lossy(&out.stdout).into_owned())
}

/// Undoes git's C-style quoting of unusual paths (`"a\"b"`).
fn unquote(s: &str) -> String {
    let Some(inner) = s.strip_prefix('"').and_then(|x| x.strip_suffix('"')) else {
        return s.to_string();
    };
    let mut bytes = Vec::new();
    let mut it = inner.bytes().peekable();
    while let Some(b) = it.next() {
        if b != b'\\' {
            bytes.push(b);
            continue;
        }
        match it.next() {
            Some(b'n') => bytes.push(b'\n'),
            Some(b't') => bytes.push(b'\t'),
            Some(d @ b'0'..=b'7') => {
                let mut v = u32::from(d - b'0');
                for _ in 0..2 {
                    if let Some(&n @ b'0'..=b'7') = it.peek() {
                        v = v * 8 + u32::from(n - b'0');
                        it.next();
                    }
                }
                bytes.push(v as u8);
            }
            Some(other) => bytes.push(other),
            None => {}
        }
    }
    String::from_utf8_lossy(&bytes).into_owned()
}

fn canonical(p: &Path) -> PathBuf {
    if let Ok(c) = p.canonicalize() {
        return c;
    }
    // A deleted file: its directory may still exist.
    match (p.parent(), p.file_name()) {
        (Some(d), Some(n)) if !d.as_os_str().is_empty() => canonical(d).join(n),
        _ => p.to_path_buf(),
    }
}

impl GitDiff {
    /// `git diff REF` of the repository around the working directory, plus untracked files.
    pub fn read(base: &str) -> Result<Self> {
        let cwd = std::env::current_dir().map_err(|e| Error::io(".", e))?;
        let top = PathBuf::from(git(&cwd, &["rev-parse", "--show-toplevel"])?.trim());
        let top = canonical(&top);
        let patch = git(
            &top,
            &[
                "diff",
                "--no-color",
                "--no-ext-diff",
                "--no-renames",
                "-U0",
                base,
                "--",
            ],
        )?;
        let mut d = GitDiff::parse(&top, &patch);
        for line in git(&top, &["ls-files", "--others", "--exclude-standard"])?.lines() {
            if !line.is_empty() {
                d.files.entry(top.join(unquote(line))).or_default().whole = true;
            }
        }
        Ok(d)
    }

    /// Parses a `git diff -U0` patch whose paths are relative to `top`.
    fn parse(top: &Path, patch: &str) -> Self {
        let mut d = GitDiff::default();
        let mut old: Option<String> = None;
        let mut current: Option<PathBuf> = None;
        for line in patch.lines() {
            if let Some(p) = line.strip_prefix("--- ") {
                old = (p != "/dev/null").then(|| strip_side(p));
                current = None;
            } else if let Some(p) = line.strip_prefix("+++ ") {
                if p == "/dev/null" {
                    // Deleted: every line of the old file.
                    if let Some(o) = old.take() {
                        d.files.entry(top.join(o)).or_default().whole = true;
                    }
                    current = None;
                } else {
                    let path = top.join(strip_side(p));
                    let entry = d.files.entry(path.clone()).or_default();
                    if old.is_none() {
                        entry.whole = true;
                    }
                    current = Some(path);
                }
            } else if let Some(h) = line.strip_prefix("@@ ") {
                let (Some(path), Some(new)) = (&current, h.split(' ').find(|t| t.starts_with('+')))
                else {
                    continue;
                };
                let mut parts = new[1..].splitn(2, ',');
                let start: usize = parts.next().and_then(|s| s.parse().ok()).unwrap_or(1);
                let count: usize = parts.next().and_then(|s| s.parse().ok()).unwrap_or(1);
                let hunk = if count == 0 {
                    (start, start + 1, true)
                } else {
                    (start, start + count - 1, false)
                };
                if let Some(f) = d.files.get_mut(path) {
                    f.hunks.push(hunk);
                }
            } else if line.starts_with("diff --git ") {
                old = None;
                current = None;
            }
        }
        // Binary or mode-only changes have no hunks: count the whole file.
        for f in d.files.values_mut() {
            if f.hunks.is_empty() {
                f.whole = true;
            }
        }
        d
    }

    fn touches(&self, p: &Path) -> bool {
        self.files.contains_key(&canonical(p))
    }

    /// The resources of `env` a change maps to; sets `whole_env` when a change can affect
    /// the whole environment.
    fn changed_resources(&self, env: &LoadedEnv, whole_env: &mut bool) -> BTreeSet<usize> {
        let resources = &env.inventory.resources;
        let mut file_of: HashMap<PathBuf, PathBuf> = HashMap::new();
        let mut decl: Vec<Option<PathBuf>> = Vec::with_capacity(resources.len());
        for r in resources {
            decl.push(r.span.as_ref().map(|s| {
                file_of
                    .entry(s.file.to_path_buf())
                    .or_insert_with(|| canonical(&s.file))
                    .clone()
            }));
        }
        let roots: BTreeSet<PathBuf> = env
            .inventory
            .sources
            .iter()
            .filter(|s| s.kind == SourceKind::Hcl)
            .map(|s| canonical(&s.path))
            .collect();
        let var_files: BTreeSet<PathBuf> =
            env.spec.var_files.iter().map(|p| canonical(p)).collect();
        let tf_dirs: BTreeSet<PathBuf> = decl
            .iter()
            .flatten()
            .filter_map(|f| f.parent().map(Path::to_path_buf))
            .collect();

        let mut out = BTreeSet::new();
        for (path, change) in &self.files {
            if ignored(path) {
                continue;
            }
            if var_files.contains(path) {
                *whole_env = true;
                continue;
            }
            // The Terraform directory the file belongs to, if any.
            let Some(dir) = path
                .ancestors()
                .skip(1)
                .find(|d| roots.contains(*d) || tf_dirs.contains(*d))
            else {
                continue;
            };
            let is_root = roots.contains(dir);
            let fallback = |out: &mut BTreeSet<usize>, whole_env: &mut bool| {
                if is_root {
                    *whole_env = true;
                } else {
                    out.extend(
                        decl.iter()
                            .enumerate()
                            .filter(|(_, f)| f.as_ref().and_then(|f| f.parent()) == Some(dir))
                            .map(|(i, _)| i),
                    );
                }
            };
            let name = path
                .file_name()
                .map(|n| n.to_string_lossy().to_string())
                .unwrap_or_default();
            let hcl = name.ends_with(".tf") || name.ends_with(".tfvars");
            let text = if hcl && path.parent() == Some(dir) {
                std::fs::read_to_string(path).ok()
            } else {
                None
            };
            let Some(text) = text else {
                fallback(&mut out, whole_env);
                continue;
            };
            let Ok(body) = crate::syntax::parse_body(&text) else {
                fallback(&mut out, whole_env);
                continue;
            };
            let lines = LineIndex::new(text.as_bytes());
            let structures: Vec<(&Structure, usize, usize)> = body
                .iter()
                .filter_map(|s| {
                    let r = s.span()?;
                    Some((
                        s,
                        lines.line(r.start).0,
                        lines.line(r.end.saturating_sub(1).max(r.start)).0,
                    ))
                })
                .collect();
            let hunks: Vec<(usize, usize, bool)> = if change.whole {
                vec![(1, usize::MAX, false)]
            } else {
                change.hunks.clone()
            };
            for (lo, hi, deletion) in hunks {
                let touched: Vec<&(&Structure, usize, usize)> = structures
                    .iter()
                    .filter(|(_, a, b)| *a <= hi && lo <= *b)
                    .collect();
                if deletion {
                    // Lines removed between `lo` and `hi`: inside one structure, or a block
                    // that is gone.
                    let inside = structures.iter().find(|(_, a, b)| *a <= lo && hi <= *b);
                    match inside {
                        Some(s) => {
                            if !map_structure(
                                s.0, &lines, lo, hi, path, resources, &decl, is_root, &name,
                                &mut out,
                            ) {
                                fallback(&mut out, whole_env);
                            }
                        }
                        None => fallback(&mut out, whole_env),
                    }
                    continue;
                }
                for s in touched {
                    if !map_structure(
                        s.0, &lines, lo, hi, path, resources, &decl, is_root, &name, &mut out,
                    ) {
                        fallback(&mut out, whole_env);
                    }
                }
            }
        }
        out
    }
}

fn strip_side(p: &str) -> String {
    let p = unquote(p.trim_end_matches('\t'));
    p.strip_prefix("a/")
        .or_else(|| p.strip_prefix("b/"))
        .unwrap_or(&p)
        .to_string()
}

/// Files that cannot change what Terraform does.
fn ignored(path: &Path) -> bool {
    let name = path
        .file_name()
        .map(|n| n.to_string_lossy().to_ascii_lowercase())
        .unwrap_or_default();
    name.ends_with(".md")
        || name.ends_with(".txt")
        || name == ".gitignore"
        || path.components().any(|c| c.as_os_str() == ".terraform")
}

/// Maps a change at lines `lo..=hi` inside a top-level structure of `file` to resources.
/// Returns false when it cannot be narrowed down (the caller falls back).
#[allow(clippy::too_many_arguments)]
fn map_structure(
    s: &Structure,
    lines: &LineIndex,
    lo: usize,
    hi: usize,
    file: &Path,
    resources: &[Resource],
    decl: &[Option<PathBuf>],
    is_root: bool,
    file_name: &str,
    out: &mut BTreeSet<usize>,
) -> bool {
    match s {
        Structure::Block(b) => {
            let labels: Vec<&str> = b.labels.iter().map(|l| l.as_str()).collect();
            match (b.ident.as_str(), labels.as_slice()) {
                (kind @ ("resource" | "data"), [rtype, name]) => {
                    let mode = if kind == "data" {
                        Mode::Data
                    } else {
                        Mode::Managed
                    };
                    let same =
                        |r: &Resource| r.mode == mode && r.rtype == *rtype && r.name == *name;
                    let in_file: Vec<usize> = resources
                        .iter()
                        .enumerate()
                        .filter(|(i, r)| same(r) && decl[*i].as_deref() == Some(file))
                        .map(|(i, _)| i)
                        .collect();
                    if in_file.is_empty() {
                        // Declared here but found elsewhere (a span pointing at a module
                        // call): every instance of that type and name in this directory.
                        out.extend(
                            resources
                                .iter()
                                .enumerate()
                                .filter(|(i, r)| {
                                    same(r)
                                        && decl[*i].as_deref().and_then(Path::parent)
                                            == file.parent()
                                })
                                .map(|(i, _)| i),
                        );
                    }
                    out.extend(in_file);
                    // A block with no instance (count = 0) changes nothing.
                    true
                }
                ("module", [name]) => {
                    let seg = format!("module.{name}");
                    out.extend(
                        resources
                            .iter()
                            .enumerate()
                            .filter(|(_, r)| {
                                module_segments(&r.module)
                                    .iter()
                                    .any(|m| m.split('[').next() == Some(seg.as_str()))
                            })
                            .map(|(i, _)| i),
                    );
                    true
                }
                ("output", _) if is_root => true,
                ("locals", _) => {
                    let hits = keyed_instances(&b.body, lines, lo, hi, resources);
                    match hits {
                        Some(h) => {
                            out.extend(h);
                            true
                        }
                        None => false,
                    }
                }
                _ => false,
            }
        }
        Structure::Attribute(_) if file_name.ends_with(".tfvars") => {
            match keyed_instances_in(std::iter::once(s), lines, lo, hi, resources) {
                Some(h) => {
                    out.extend(h);
                    true
                }
                None => false,
            }
        }
        Structure::Attribute(_) => false,
    }
}

fn keyed_instances(
    body: &Body,
    lines: &LineIndex,
    lo: usize,
    hi: usize,
    resources: &[Resource],
) -> Option<BTreeSet<usize>> {
    keyed_instances_in(body.iter(), lines, lo, hi, resources)
}

/// For a change inside the attributes of a `locals` block or a `.tfvars` file: the keys of
/// the map entries around the changed lines, matched to instance keys. None when the change
/// is not inside a keyed entry that names instances.
fn keyed_instances_in<'a>(
    structures: impl Iterator<Item = &'a Structure>,
    lines: &LineIndex,
    lo: usize,
    hi: usize,
    resources: &[Resource],
) -> Option<BTreeSet<usize>> {
    let within = |r: Option<std::ops::Range<usize>>| {
        r.map(|r| {
            let a = lines.line(r.start).0;
            let b = lines.line(r.end.saturating_sub(1).max(r.start)).0;
            a <= lo && hi <= b
        })
        .unwrap_or(false)
    };
    let attr = structures
        .filter_map(|s| s.as_attribute())
        .find(|a| within(a.span()))?;
    let mut keys: Vec<String> = Vec::new();
    let mut expr = &attr.value;
    loop {
        let next = match expr {
            Expression::Object(o) => o.iter().find_map(|(k, v)| {
                let key_span = k.span();
                let val = v.expr();
                let whole = match (key_span, val.span()) {
                    (Some(a), Some(b)) => Some(a.start..b.end),
                    _ => None,
                };
                within(whole).then(|| {
                    let name = match k {
                        ObjectKey::Ident(i) => Some(i.as_str().to_string()),
                        ObjectKey::Expression(e) => e.as_str().map(str::to_string),
                    };
                    (name, val)
                })
            }),
            Expression::FuncCall(f) => f.args.iter().find(|a| within(a.span())).map(|a| (None, a)),
            Expression::Parenthesis(p) => Some((None, p.inner())),
            _ => None,
        };
        match next {
            Some((name, e)) => {
                if let Some(n) = name {
                    keys.push(n);
                }
                expr = e;
            }
            None => break,
        }
    }
    let mut hits = BTreeSet::new();
    for k in &keys {
        let quoted = format!("[{}]", crate::inventory::quote(k));
        for (i, r) in resources.iter().enumerate() {
            if r.index == Some(InstanceKey::Str(k.clone())) || r.module.contains(&quoted) {
                hits.insert(i);
            }
        }
        if !hits.is_empty() {
            return Some(hits);
        }
    }
    None
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn module_paths_are_cut_at_the_resource() {
        assert_eq!(
            module_of("module.service[\"a.b\"].google_cloud_run_v2_service.this"),
            "module.service[\"a.b\"]"
        );
        assert_eq!(
            module_of("module.a.module.b[0].google_x.y[\"k\"]"),
            "module.a.module.b[0]"
        );
        assert_eq!(module_of("google_x.y"), "");
    }

    #[test]
    fn cloud_run_deletions_are_recognised() {
        assert!(run_related_type(
            "google_cloud_run_v2_service_iam_member.public"
        ));
        assert!(run_related_type("google_cloud_run_service.x[\"a.b\"]"));
        assert!(!run_related_type("google_compute_url_map.lb"));
    }

    #[test]
    fn diffs_parse_into_line_ranges() {
        let patch = "diff --git a/x.tf b/x.tf\nindex 1..2 100644\n--- a/x.tf\n+++ b/x.tf\n@@ -3 +3 @@ locals {\n-a\n+b\n@@ -10,2 +9,0 @@\n-c\n-d\ndiff --git a/new.tf b/new.tf\nnew file mode 100644\n--- /dev/null\n+++ b/new.tf\n@@ -0,0 +1,2 @@\n+x\n+y\ndiff --git a/gone.tf b/gone.tf\ndeleted file mode 100644\n--- a/gone.tf\n+++ /dev/null\n@@ -1 +0,0 @@\n-z\n";
        let d = GitDiff::parse(Path::new("/r"), patch);
        let x = &d.files[Path::new("/r/x.tf")];
        assert_eq!(x.hunks, vec![(3, 3, false), (9, 10, true)]);
        assert!(!x.whole);
        assert!(d.files[Path::new("/r/new.tf")].whole);
        assert!(d.files[Path::new("/r/gone.tf")].whole);
    }

    #[test]
    fn quoted_paths_are_unquoted() {
        assert_eq!(unquote("\"a\\\"b\\303\\251\""), "a\"bé");
        assert_eq!(unquote("plain"), "plain");
    }
}
