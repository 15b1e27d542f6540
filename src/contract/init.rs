//! `tfparity contract init`: proposes a contract from the environments.
//!
//! Services are paired across environments by the evidence at hand: name tokens, container
//! image repository, env var keys, container ports, Secret Manager secrets and Cloud SQL. Each
//! pair of services gets a similarity score (a weighted mean of the evidence present for
//! both), and the pairing is one optimal assignment over all services (the Hungarian
//! algorithm), not a greedy match: a service is never taken by a look-alike when that would
//! leave its real twin without a partner. Environments after the reference are assigned in
//! turn against the roles formed so far.
//!
//! The proposal is a contract the parser reads: every role carries a comment with its
//! evidence and confidence, services without a counterpart are open decisions (a role in the
//! environments that have it, with the choice spelled out), and the differences `check` finds
//! under the proposed roles are written as commented-out `intentional_difference` blocks,
//! each verified to cover the findings it names, for the team to accept or delete. Env var
//! values are never read, only keys.

use std::collections::{BTreeMap, BTreeSet};
use std::fmt::Write;
use std::path::{Component, Path, PathBuf};

use super::{Contract, Date, parse};
use crate::app::{self, Inputs, LoadedEnv};
use crate::checks::{self, CheckKind, Ctx};
use crate::error::{Error, InputError, Result};
use crate::finding::{Finding, Status};
use crate::inventory::Resource;
use crate::model::names::normalise;
use crate::model::{EnvModel, EnvValue, Exposure, RuntimeSa, Service, ServiceKind};
use crate::value::{Lookup, Value};

/// Below this score two services are not paired.
pub const PAIR_THRESHOLD: f64 = 0.40;
/// High confidence: at least this score...
pub const HIGH_SCORE: f64 = 0.75;
/// ...and this far ahead of the next candidate.
pub const HIGH_MARGIN: f64 = 0.15;
pub const MEDIUM_SCORE: f64 = 0.50;

const W_NAME: f64 = 3.0;
const W_IMAGE: f64 = 4.0;
const W_ENV: f64 = 2.0;
const W_PORTS: f64 = 1.0;
const W_SECRETS: f64 = 2.0;
const W_SQL: f64 = 2.0;

/// Framework prefixes that front ends put before env keys the server side names plainly.
const KEY_PREFIXES: &[&str] = &[
    "NEXT_PUBLIC_",
    "NUXT_PUBLIC_",
    "REACT_APP_",
    "EXPO_PUBLIC_",
    "GATSBY_",
    "VITE_",
    "PUBLIC_",
];

// ---------------------------------------------------------------------------------------
// Optimal assignment.

/// Minimum-cost assignment of every row to a distinct column (rows ≤ columns), by the
/// Hungarian algorithm with potentials, O(rows² · columns).
fn hungarian_min(cost: &[Vec<i64>]) -> Vec<usize> {
    let n = cost.len();
    if n == 0 {
        return Vec::new();
    }
    let m = cost[0].len();
    debug_assert!(n <= m);
    const INF: i64 = i64::MAX / 4;
    let mut u = vec![0i64; n + 1];
    let mut v = vec![0i64; m + 1];
    let mut p = vec![0usize; m + 1];
    let mut way = vec![0usize; m + 1];
    for i in 1..=n {
        p[0] = i;
        let mut j0 = 0usize;
        let mut minv = vec![INF; m + 1];
        let mut used = vec![false; m + 1];
        loop {
            used[j0] = true;
            let i0 = p[j0];
            let mut delta = INF;
            let mut j1 = 0usize;
            for j in 1..=m {
                if !used[j] {
                    let cur = cost[i0 - 1][j - 1] - u[i0] - v[j];
                    if cur < minv[j] {
                        minv[j] = cur;
                        way[j] = j0;
                    }
                    if minv[j] < delta {
                        delta = minv[j];
                        j1 = j;
                    }
                }
            }
            for j in 0..=m {
                if used[j] {
                    u[p[j]] += delta;
                    v[j] -= delta;
                } else {
                    minv[j] -= delta;
                }
            }
            j0 = j1;
            if p[j0] == 0 {
                break;
            }
        }
        loop {
            let j1 = way[j0];
            p[j0] = p[j1];
            j0 = j1;
            if j0 == 0 {
                break;
            }
        }
    }
    let mut ans = vec![0usize; n];
    for j in 1..=m {
        if p[j] != 0 {
            ans[p[j] - 1] = j - 1;
        }
    }
    ans
}

/// The assignment of rows to columns that maximises the total weight; pairs of weight ≤ 0
/// are left out (None).
pub fn assign(weights: &[Vec<i64>]) -> Vec<Option<usize>> {
    let n = weights.len();
    let m = weights.first().map_or(0, Vec::len);
    if n == 0 || m == 0 {
        return vec![None; n];
    }
    let max = weights.iter().flatten().copied().max().unwrap_or(0).max(0);
    let cost = |i: usize, j: usize| max - weights[i][j].max(0);
    let rows_to_cols: Vec<usize> = if n <= m {
        let c: Vec<Vec<i64>> = (0..n)
            .map(|i| (0..m).map(|j| cost(i, j)).collect())
            .collect();
        hungarian_min(&c)
    } else {
        let c: Vec<Vec<i64>> = (0..m)
            .map(|j| (0..n).map(|i| cost(i, j)).collect())
            .collect();
        let cols_to_rows = hungarian_min(&c);
        let mut out = vec![usize::MAX; n];
        for (j, i) in cols_to_rows.into_iter().enumerate() {
            out[i] = j;
        }
        out
    };
    rows_to_cols
        .into_iter()
        .enumerate()
        .map(|(i, j)| (j != usize::MAX && weights[i][j] > 0).then_some(j))
        .collect()
}

// ---------------------------------------------------------------------------------------
// Evidence.

/// One deployed service name in one environment (several regions of a name are one unit).
struct Unit<'a> {
    env: String,
    name: String,
    services: Vec<&'a Service>,
    tokens: BTreeSet<String>,
    /// The name without the environment's name.
    stripped: String,
    images: BTreeSet<String>,
    image_names: BTreeSet<String>,
    env_keys: Option<BTreeSet<String>>,
    ports: Option<BTreeSet<u64>>,
    secrets: BTreeSet<String>,
    sql: Option<bool>,
}

/// One piece of evidence about a pair: its score in [0, 1], weight and what it says.
#[derive(Clone, Debug)]
struct Part {
    weight: f64,
    score: f64,
    text: String,
}

#[derive(Clone, Debug)]
struct PairScore {
    score: f64,
    parts: Vec<Part>,
}

fn split_tokens(s: &str) -> Vec<String> {
    s.split(|c: char| !c.is_ascii_alphanumeric() && c != '{' && c != '}')
        .filter(|t| !t.is_empty())
        .map(|t| t.to_ascii_lowercase())
        .collect()
}

/// `approvals` and `approval` are one token.
fn stem(t: &str) -> String {
    if t.len() > 3 && t.ends_with('s') && !t.ends_with("ss") {
        t[..t.len() - 1].to_string()
    } else {
        t.to_string()
    }
}

/// An image's repository without registry host, tag or digest, and with the environment's
/// project and name taken out: `us-docker.pkg.dev/acme-dev/web/app:1.2` → `{project}/web/app`.
fn image_repository(image: &str, env: &str, projects: &[String]) -> Option<String> {
    let no_digest = image.split('@').next().unwrap_or(image);
    let (path, last) = match no_digest.rsplit_once('/') {
        Some((p, l)) => (Some(p), l),
        None => (None, no_digest),
    };
    let last = last.split(':').next().unwrap_or(last);
    let mut parts: Vec<&str> = path.map(|p| p.split('/').collect()).unwrap_or_default();
    if parts
        .first()
        .is_some_and(|h| h.contains('.') || h.contains(':') || *h == "localhost")
    {
        parts.remove(0);
    }
    parts.push(last);
    let repo = parts.join("/");
    (!repo.is_empty()).then(|| normalise(&repo, env, projects))
}

fn normalise_key(k: &str) -> String {
    let up = k.to_ascii_uppercase();
    for p in KEY_PREFIXES {
        if let Some(rest) = up.strip_prefix(p)
            && !rest.is_empty()
        {
            return rest.to_string();
        }
    }
    up
}

fn ports_of(r: &Resource, kind: ServiceKind) -> Option<BTreeSet<u64>> {
    let path = match kind {
        ServiceKind::RunV1Service => "template.spec.containers",
        ServiceKind::RunV2Service => "template.containers",
        ServiceKind::RunV2Job => return None,
    };
    let mut out = BTreeSet::new();
    match r.values.at(path) {
        Lookup::Set(Value::List(containers)) => {
            for c in containers {
                for p in c.get("ports").map(Value::as_list).unwrap_or_default() {
                    match p.get("container_port") {
                        Some(v) if v.is_unknown() => return None,
                        Some(v) => {
                            if let Some(n) = v.as_f64().filter(|n| *n > 0.0) {
                                out.insert(n as u64);
                            }
                        }
                        None => {}
                    }
                }
            }
        }
        Lookup::Unknown | Lookup::Sensitive => return None,
        _ => {}
    }
    if out.is_empty() {
        // Not written: Cloud Run sends requests to 8080.
        out.insert(8080);
    }
    Some(out)
}

fn units_of<'a>(env: &'a LoadedEnv) -> Vec<Unit<'a>> {
    let model = &env.model;
    let projects = model.project_tokens();
    let by_address: BTreeMap<&str, &Resource> = env
        .inventory
        .resources
        .iter()
        .map(|r| (r.address.as_str(), r))
        .collect();
    let mut grouped: BTreeMap<&str, Vec<&Service>> = BTreeMap::new();
    for s in &model.services {
        grouped.entry(s.name.as_str()).or_default().push(s);
    }
    grouped
        .into_iter()
        .map(|(name, services)| {
            let normalised = normalise(name, &model.name, &[]);
            let tokens: BTreeSet<String> = split_tokens(&normalised)
                .into_iter()
                .filter(|t| t != "{env}")
                .map(|t| stem(&t))
                .collect();
            let stripped = crate::model::names::strip_env(name, &model.name);
            let mut images = BTreeSet::new();
            let mut image_names = BTreeSet::new();
            let mut keys: Option<BTreeSet<String>> = Some(BTreeSet::new());
            let mut ports: Option<BTreeSet<u64>> = Some(BTreeSet::new());
            let mut secrets = BTreeSet::new();
            let mut sql: Option<bool> = Some(false);
            for s in &services {
                for c in &s.containers {
                    if let Some(img) = c.image.known()
                        && let Some(repo) = image_repository(img, &model.name, &projects)
                    {
                        image_names.insert(repo.rsplit('/').next().unwrap_or(&repo).to_string());
                        images.insert(repo);
                    }
                    match c.env.known() {
                        Some(env) => {
                            if let Some(k) = keys.as_mut() {
                                k.extend(env.keys().map(str::to_string));
                            }
                            for var in env.values() {
                                if let EnvValue::Secret {
                                    secret: Some(id), ..
                                } = &var.value
                                {
                                    secrets.insert(normalise(id, &model.name, &projects));
                                }
                            }
                        }
                        None => keys = None,
                    }
                }
                match by_address
                    .get(s.address.as_str())
                    .and_then(|r| ports_of(r, s.kind))
                {
                    Some(p) => {
                        if let Some(all) = ports.as_mut() {
                            all.extend(p);
                        }
                    }
                    None => ports = None,
                }
                match s.cloud_sql.known() {
                    Some(list) => {
                        if let Some(b) = sql.as_mut() {
                            *b |= !list.is_empty();
                        }
                    }
                    None => sql = None,
                }
            }
            Unit {
                env: model.name.clone(),
                name: name.to_string(),
                services,
                tokens,
                stripped,
                images,
                image_names,
                env_keys: keys,
                ports: ports.filter(|p| !p.is_empty()),
                secrets,
                sql,
            }
        })
        .collect()
}

/// Tokens every service of an environment shares (an organisation prefix like `acme`), which
/// say nothing about which service is which.
fn common_tokens(units: &[Unit<'_>]) -> BTreeSet<String> {
    if units.len() < 2 {
        return BTreeSet::new();
    }
    let mut common = units[0].tokens.clone();
    for u in &units[1..] {
        common = common.intersection(&u.tokens).cloned().collect();
    }
    common
}

fn jaccard<T: Ord>(a: &BTreeSet<T>, b: &BTreeSet<T>) -> (usize, usize) {
    (a.intersection(b).count(), a.union(b).count())
}

fn ticks(items: impl IntoIterator<Item = impl AsRef<str>>) -> String {
    items
        .into_iter()
        .map(|s| format!("`{}`", s.as_ref()))
        .collect::<Vec<_>>()
        .join(", ")
}

fn similarity(
    a: &Unit<'_>,
    b: &Unit<'_>,
    common: &BTreeMap<String, BTreeSet<String>>,
) -> PairScore {
    let mut parts: Vec<Part> = Vec::new();
    let empty = BTreeSet::new();
    // Name tokens, without the environment's name and without tokens every service of an
    // environment shares.
    {
        let ca = common.get(&a.env).unwrap_or(&empty);
        let cb = common.get(&b.env).unwrap_or(&empty);
        let ta: BTreeSet<&String> = a.tokens.iter().filter(|t| !ca.contains(*t)).collect();
        let tb: BTreeSet<&String> = b.tokens.iter().filter(|t| !cb.contains(*t)).collect();
        let (score, text) = if a.stripped.eq_ignore_ascii_case(&b.stripped) {
            (
                1.0,
                format!(
                    "same name `{}` once the environment is taken out",
                    a.stripped
                ),
            )
        } else {
            let shared: Vec<&&String> = ta.intersection(&tb).collect();
            let smaller = ta.len().min(tb.len()).max(1);
            let score = shared.len() as f64 / smaller as f64;
            let text = if shared.is_empty() {
                "names share no token".to_string()
            } else {
                format!("names share {}", ticks(shared.iter().map(|s| s.as_str())))
            };
            (score.min(1.0), text)
        };
        parts.push(Part {
            weight: W_NAME,
            score,
            text,
        });
    }
    if !a.images.is_empty() && !b.images.is_empty() {
        let (score, text) = if let Some(same) = a.images.intersection(&b.images).next() {
            (1.0, format!("same image repository `{same}`"))
        } else if let Some(same) = a.image_names.intersection(&b.image_names).next() {
            (0.8, format!("same image name `{same}`"))
        } else {
            (
                0.0,
                format!(
                    "different images ({} vs {})",
                    ticks(&a.image_names),
                    ticks(&b.image_names)
                ),
            )
        };
        parts.push(Part {
            weight: W_IMAGE,
            score,
            text,
        });
    }
    if let (Some(ka), Some(kb)) = (&a.env_keys, &b.env_keys)
        && !(ka.is_empty() && kb.is_empty())
    {
        let na: BTreeSet<String> = ka.iter().map(|k| normalise_key(k)).collect();
        let nb: BTreeSet<String> = kb.iter().map(|k| normalise_key(k)).collect();
        let (common, all) = jaccard(&na, &nb);
        let renamed = if na != *ka || nb != *kb {
            " (framework prefixes like VITE_ ignored)"
        } else {
            ""
        };
        parts.push(Part {
            weight: W_ENV,
            score: common as f64 / all.max(1) as f64,
            text: format!("env keys: {common} of {all} in common{renamed}"),
        });
    }
    if let (Some(pa), Some(pb)) = (&a.ports, &b.ports) {
        let same = pa == pb;
        let list = |p: &BTreeSet<u64>| {
            p.iter()
                .map(|n| n.to_string())
                .collect::<Vec<_>>()
                .join(", ")
        };
        parts.push(Part {
            weight: W_PORTS,
            score: if same { 1.0 } else { 0.0 },
            text: if same {
                format!("same port {}", list(pa))
            } else {
                format!("ports differ ({} vs {})", list(pa), list(pb))
            },
        });
    }
    if !(a.secrets.is_empty() && b.secrets.is_empty()) {
        let (common, all) = jaccard(&a.secrets, &b.secrets);
        parts.push(Part {
            weight: W_SECRETS,
            score: common as f64 / all.max(1) as f64,
            text: format!("secrets: {common} of {all} in common"),
        });
    }
    if let (Some(sa), Some(sb)) = (a.sql, b.sql)
        && (sa || sb)
    {
        parts.push(Part {
            weight: W_SQL,
            score: if sa == sb { 1.0 } else { 0.0 },
            text: if sa == sb {
                "both attach Cloud SQL".into()
            } else {
                "only one attaches Cloud SQL".into()
            },
        });
    }
    let total: f64 = parts.iter().map(|p| p.weight).sum();
    let got: f64 = parts.iter().map(|p| p.weight * p.score).sum();
    PairScore {
        score: if total > 0.0 { got / total } else { 0.0 },
        parts,
    }
}

// ---------------------------------------------------------------------------------------
// Roles.

/// A proposed role: the unit playing it in each environment, and how its pairs were decided.
struct Proposed {
    name: String,
    /// Environment → index into that environment's units.
    members: BTreeMap<String, usize>,
    /// Environments in comparison order with their member.
    order: Vec<String>,
    /// For each environment joined after the first: the score that joined it, the member it
    /// was compared with, and the best alternative.
    joins: Vec<Join>,
    /// For a role in one environment only: its closest candidate elsewhere.
    closest: Vec<(String, String, PairScore)>,
}

struct Join {
    env: String,
    with_env: String,
    score: PairScore,
    runner_up: Option<(String, f64)>,
}

fn confidence(score: f64, runner_up: f64) -> &'static str {
    if score >= HIGH_SCORE && score - runner_up >= HIGH_MARGIN {
        "high"
    } else if score >= MEDIUM_SCORE {
        "medium"
    } else {
        "low"
    }
}

/// Leading tokens every service of an environment starts with (`jualuma-`), dropped from
/// role names.
fn common_prefix(names: &[&str]) -> usize {
    if names.len() < 2 {
        return 0;
    }
    let split: Vec<Vec<&str>> = names
        .iter()
        .map(|n| n.split(['-', '_']).collect())
        .collect();
    let mut k = 0;
    loop {
        let Some(first) = split[0].get(k) else {
            return k;
        };
        if split
            .iter()
            .all(|s| s.len() > k + 1 && s.get(k) == Some(first))
        {
            k += 1;
        } else {
            return k;
        }
    }
}

fn role_name(unit: &Unit<'_>, prefix: usize) -> String {
    let tokens: Vec<&str> = unit.stripped.split(['-', '_']).collect();
    // The prefix was counted on full names; the stripped name may have lost env tokens.
    let full: Vec<&str> = unit.name.split(['-', '_']).collect();
    let shared = full[..prefix.min(full.len())]
        .iter()
        .zip(&tokens)
        .take_while(|(a, b)| a == b)
        .count();
    let rest = &tokens[shared..];
    if rest.is_empty() {
        unit.stripped.clone()
    } else {
        rest.join("-")
    }
}

struct Proposal<'a> {
    units: BTreeMap<String, Vec<Unit<'a>>>,
    roles: Vec<Proposed>,
}

fn propose<'a>(envs: Vec<&'a LoadedEnv>) -> Proposal<'a> {
    let mut units: BTreeMap<String, Vec<Unit<'a>>> = BTreeMap::new();
    let mut common: BTreeMap<String, BTreeSet<String>> = BTreeMap::new();
    let mut prefixes: BTreeMap<String, usize> = BTreeMap::new();
    for e in &envs {
        let u = units_of(e);
        common.insert(e.model.name.clone(), common_tokens(&u));
        let names: Vec<&str> = u.iter().map(|x| x.name.as_str()).collect();
        prefixes.insert(e.model.name.clone(), common_prefix(&names));
        units.insert(e.model.name.clone(), u);
    }
    let mut roles: Vec<Proposed> = Vec::new();
    for (pos, e) in envs.iter().enumerate() {
        let env = e.model.name.as_str();
        let here = &units[env];
        if pos == 0 {
            for (i, _) in here.iter().enumerate() {
                roles.push(Proposed {
                    name: String::new(),
                    members: BTreeMap::from([(env.to_string(), i)]),
                    order: vec![env.to_string()],
                    joins: Vec::new(),
                    closest: Vec::new(),
                });
            }
            continue;
        }
        // Score of each role against each service here: its best member.
        let scores: Vec<Vec<(PairScore, String)>> = roles
            .iter()
            .map(|r| {
                here.iter()
                    .map(|u| {
                        r.order
                            .iter()
                            .map(|m_env| {
                                let m = &units[m_env][r.members[m_env]];
                                (similarity(m, u, &common), m_env.clone())
                            })
                            .max_by(|a, b| a.0.score.total_cmp(&b.0.score))
                            .expect("a role has a member")
                    })
                    .collect()
            })
            .collect();
        let weights: Vec<Vec<i64>> = scores
            .iter()
            .map(|row| {
                row.iter()
                    .map(|(s, _)| ((s.score - PAIR_THRESHOLD) * 100_000.0).round() as i64)
                    .collect()
            })
            .collect();
        let chosen = assign(&weights);
        let mut taken: BTreeSet<usize> = BTreeSet::new();
        for (ri, col) in chosen.iter().enumerate() {
            let Some(j) = *col else { continue };
            taken.insert(j);
            let (score, with_env) = scores[ri][j].clone();
            // The best alternative for either side of the pair.
            let mut runner: Option<(String, f64)> = None;
            for (jj, (s, _)) in scores[ri].iter().enumerate() {
                if jj != j && runner.as_ref().is_none_or(|(_, b)| s.score > *b) {
                    runner = Some((format!("{env} {}", here[jj].name), s.score));
                }
            }
            for (rr, row) in scores.iter().enumerate() {
                if rr != ri && runner.as_ref().is_none_or(|(_, b)| row[j].0.score > *b) {
                    let r = &roles[rr];
                    let first = &r.order[0];
                    runner = Some((
                        format!("{first} {}", units[first][r.members[first]].name),
                        row[j].0.score,
                    ));
                }
            }
            let role = &mut roles[ri];
            role.members.insert(env.to_string(), j);
            role.order.push(env.to_string());
            role.joins.push(Join {
                env: env.to_string(),
                with_env,
                score,
                runner_up: runner,
            });
        }
        for (j, _) in here.iter().enumerate() {
            if !taken.contains(&j) {
                roles.push(Proposed {
                    name: String::new(),
                    members: BTreeMap::from([(env.to_string(), j)]),
                    order: vec![env.to_string()],
                    joins: Vec::new(),
                    closest: Vec::new(),
                });
            }
        }
    }
    // The closest candidate elsewhere of each service left alone.
    for r in &mut roles {
        if r.order.len() > 1 {
            continue;
        }
        let env = &r.order[0];
        let me = &units[env][r.members[env]];
        for other in &envs {
            let o = other.model.name.as_str();
            if o == env {
                continue;
            }
            let best = units[o]
                .iter()
                .map(|u| (u.name.clone(), similarity(me, u, &common)))
                .max_by(|a, b| a.1.score.total_cmp(&b.1.score).then_with(|| b.0.cmp(&a.0)));
            if let Some((name, score)) = best {
                r.closest.push((o.to_string(), name, score));
            }
        }
    }
    // Names: the first member's name without the environment and the shared prefix.
    let mut used: BTreeSet<String> = BTreeSet::new();
    for r in &mut roles {
        let env = &r.order[0];
        let base = role_name(&units[env][r.members[env]], prefixes[env]);
        let mut name = base.clone();
        let mut n = 2;
        while used.contains(&name) {
            name = format!("{base}-{n}");
            n += 1;
        }
        used.insert(name.clone());
        r.name = name;
    }
    Proposal { units, roles }
}

// ---------------------------------------------------------------------------------------
// Writing HCL.

/// A string as an HCL quoted literal (templates escaped).
pub fn hcl_str(s: &str) -> String {
    let mut out = String::from("\"");
    let mut chars = s.chars().peekable();
    while let Some(c) = chars.next() {
        match c {
            '"' => out.push_str("\\\""),
            '\\' => out.push_str("\\\\"),
            '\n' => out.push_str("\\n"),
            '\r' => out.push_str("\\r"),
            '\t' => out.push_str("\\t"),
            '$' if chars.peek() == Some(&'{') => out.push_str("$$"),
            '%' if chars.peek() == Some(&'{') => out.push_str("%%"),
            c => out.push(c),
        }
    }
    out.push('"');
    out
}

fn hcl_list(items: &[String]) -> String {
    format!(
        "[{}]",
        items
            .iter()
            .map(|i| hcl_str(i))
            .collect::<Vec<_>>()
            .join(", ")
    )
}

fn hcl_map(m: &BTreeMap<String, String>, order: &[String]) -> String {
    let mut keys: Vec<&String> = order.iter().filter(|k| m.contains_key(*k)).collect();
    keys.extend(m.keys().filter(|k| !order.contains(k)));
    let body: Vec<String> = keys
        .into_iter()
        .map(|k| format!("{} = {}", hcl_key(k), hcl_str(&m[k])))
        .collect();
    format!("{{ {} }}", body.join(", "))
}

fn hcl_key(k: &str) -> String {
    let ident = k
        .chars()
        .next()
        .is_some_and(|c| c.is_ascii_alphabetic() || c == '_')
        && k.chars()
            .all(|c| c.is_ascii_alphanumeric() || c == '_' || c == '-');
    if ident { k.to_string() } else { hcl_str(k) }
}

/// Makes a path absolute and removes `.` and `..` components without touching the disk.
fn lexical_absolute(p: &Path) -> PathBuf {
    let abs = std::path::absolute(p).unwrap_or_else(|_| p.to_path_buf());
    let mut out = PathBuf::new();
    for c in abs.components() {
        match c {
            Component::CurDir => {}
            Component::ParentDir => {
                out.pop();
            }
            other => out.push(other.as_os_str()),
        }
    }
    out
}

/// `path` relative to the directory `dir` (both taken from the working directory when
/// relative), with `/` separators.
pub fn relative_to(path: &Path, dir: &Path) -> String {
    let p = lexical_absolute(path);
    let d = lexical_absolute(dir);
    let pc: Vec<Component<'_>> = p.components().collect();
    let dc: Vec<Component<'_>> = d.components().collect();
    let common = pc.iter().zip(&dc).take_while(|(a, b)| a == b).count();
    // Sharing no more than the root (or a drive): an absolute path reads better.
    if common <= 1 || pc.first() != dc.first() {
        return p.to_string_lossy().replace('\\', "/");
    }
    let mut parts: Vec<String> = vec!["..".to_string(); dc.len() - common];
    parts.extend(
        pc[common..]
            .iter()
            .map(|c| c.as_os_str().to_string_lossy().to_string()),
    );
    if parts.is_empty() {
        ".".into()
    } else {
        parts.join("/")
    }
}

fn fmt_score(s: f64) -> String {
    format!("{s:.2}")
}

/// The environment settings the services already follow, proposed as comments.
fn observed_settings(model: &EnvModel, proposal: &Proposal<'_>) -> Vec<String> {
    let mut out = Vec::new();
    let services: Vec<&Service> = model
        .services
        .iter()
        .filter(|s| s.kind != ServiceKind::RunV2Job)
        .collect();
    if services.is_empty() {
        return out;
    }
    let exposures: BTreeSet<Exposure> = services
        .iter()
        .filter_map(|s| s.exposure.as_ref().and_then(|e| e.known().copied()))
        .collect();
    let reachable: Vec<&&Service> = services
        .iter()
        .filter(|s| {
            s.exposure
                .as_ref()
                .and_then(|e| e.known())
                .is_some_and(|e| matches!(e, Exposure::Public | Exposure::LoadBalancer))
        })
        .collect();
    let with_domains = |s: &Service| s.domains.known().is_some_and(|d| !d.is_empty());
    let any_domain = services.iter().any(|s| with_domains(s));
    let domains = if !any_domain {
        Some(("run_app", "no service has a custom domain".to_string()))
    } else if !reachable.is_empty() && reachable.iter().all(|s| with_domains(s)) {
        Some((
            "custom",
            "every externally reachable service has a custom domain".to_string(),
        ))
    } else {
        Some((
            "any",
            "some reachable services have custom domains, some do not".to_string(),
        ))
    };
    if let Some((d, why)) = domains {
        out.push(format!("# domains  = {}   # observed: {why}", hcl_str(d)));
    }
    if !exposures.is_empty() {
        let list: Vec<String> = exposures.iter().map(|e| e.as_str().to_string()).collect();
        out.push(format!(
            "# exposure = {}   # observed on the services here",
            hcl_list(&list)
        ));
    }
    // A service account naming pattern the dedicated accounts follow, from the role names.
    let mut dedicated = 0usize;
    let mut patterns: BTreeSet<String> = BTreeSet::new();
    for r in &proposal.roles {
        let Some(&i) = r.members.get(&model.name) else {
            continue;
        };
        for s in &proposal.units[&model.name][i].services {
            if let Some(RuntimeSa::Dedicated { email: Some(e), .. }) = s.service_account.known() {
                dedicated += 1;
                let id = e.split('@').next().unwrap_or(e);
                if let Some(pos) = id.find(&r.name) {
                    patterns.insert(format!(
                        "{}{{role}}{}",
                        &id[..pos],
                        &id[pos + r.name.len()..]
                    ));
                } else {
                    patterns.insert(String::new());
                }
            }
        }
    }
    out.push(format!(
        "# service_accounts {{   # observed: {dedicated} of {} services run as a dedicated account",
        services.len()
    ));
    out.push("#   model   = \"dedicated\"".to_string());
    if patterns.len() == 1
        && let Some(p) = patterns.iter().next().filter(|p| !p.is_empty())
    {
        out.push(format!("#   pattern = {}", hcl_str(p)));
    }
    out.push("# }".to_string());
    out
}

/// A difference found under the proposed roles, proposed as an intentional difference.
#[derive(Clone)]
struct Candidate {
    name: String,
    check: &'static checks::CheckDef,
    roles: Vec<String>,
    environments: Vec<String>,
    explicit_envs: bool,
    attribute: String,
    values: BTreeMap<String, String>,
    keys: Vec<String>,
    /// The findings it is meant to cover: (role, environments) with their message.
    targets: Vec<(String, Vec<String>, Status, String)>,
}

impl Candidate {
    fn block(&self, env_order: &[String], reason: &str, with_values: bool) -> Vec<String> {
        let mut lines = vec![format!("intentional_difference {} {{", hcl_str(&self.name))];
        lines.push(format!("  check     = {}", hcl_str(self.check.name)));
        lines.push(format!("  roles     = {}", hcl_list(&self.roles)));
        if self.explicit_envs {
            lines.push(format!("  environments = {}", hcl_list(&self.environments)));
        }
        lines.push(format!("  attribute = {}", hcl_str(&self.attribute)));
        if with_values && !self.values.is_empty() {
            lines.push(format!(
                "  values    = {}",
                hcl_map(&self.values, env_order)
            ));
        }
        if !self.keys.is_empty() {
            lines.push(format!("  keys      = {}", hcl_list(&self.keys)));
        }
        lines.push(format!("  reason    = {}", hcl_str(reason)));
        lines.push("}".to_string());
        lines
    }
}

fn candidates(
    results: &[checks::CheckResult],
    reference: &str,
    env_count: usize,
) -> Vec<Candidate> {
    type Key = (
        u8,
        String,
        Vec<String>,
        BTreeMap<String, String>,
        Vec<String>,
    );
    let mut grouped: BTreeMap<Key, Candidate> = BTreeMap::new();
    let mut role_order: Vec<String> = Vec::new();
    for r in results {
        if matches!(r.def.name, "role_coverage" | "naming_map") {
            continue;
        }
        for f in &r.findings {
            if !matches!(f.status, Status::Fail | Status::ReviewRequired) {
                continue;
            }
            let (Some(role), Some(subject)) = (&f.role, &f.subject) else {
                continue;
            };
            if !r.def.attributes.contains(&subject.as_str()) {
                continue;
            }
            if !role_order.contains(role) {
                role_order.push(role.clone());
            }
            let envs: Vec<String> = if r.def.kind == CheckKind::Parity {
                f.environments
                    .iter()
                    .filter(|e| *e != reference)
                    .cloned()
                    .collect()
            } else {
                f.environments.clone()
            };
            let mut values: BTreeMap<String, String> = BTreeMap::new();
            let mut complete = true;
            for env in &f.environments {
                let found: BTreeSet<&String> = f
                    .evidence
                    .iter()
                    .filter(|e| e.environment.as_deref() == Some(env.as_str()))
                    .filter(|e| e.attribute.is_some())
                    .filter_map(|e| e.value.as_ref())
                    .collect();
                match found.len() {
                    1 => {
                        values.insert(env.clone(), (*found.iter().next().expect("one")).clone());
                    }
                    _ => complete = false,
                }
            }
            if !complete {
                values.clear();
            }
            let mut keys: Vec<String> = f
                .evidence
                .iter()
                .flat_map(|e| e.keys.iter().cloned())
                .collect();
            keys.sort();
            keys.dedup();
            let key: Key = (
                r.def.number,
                subject.clone(),
                envs.clone(),
                values.clone(),
                keys.clone(),
            );
            let explicit_envs = r.def.kind == CheckKind::Conformance || env_count > 2;
            let c = grouped.entry(key).or_insert_with(|| Candidate {
                name: String::new(),
                check: r.def,
                roles: Vec::new(),
                environments: envs,
                explicit_envs,
                attribute: subject.clone(),
                values,
                keys,
                targets: Vec::new(),
            });
            if !c.roles.contains(role) {
                c.roles.push(role.clone());
            }
            c.targets.push((
                role.clone(),
                f.environments.clone(),
                f.status,
                f.message.clone(),
            ));
        }
    }
    let mut out: Vec<Candidate> = grouped.into_values().collect();
    let pos = |r: &str| role_order.iter().position(|x| x == r).unwrap_or(usize::MAX);
    out.sort_by_key(|c| {
        (
            c.check.number,
            c.attribute.clone(),
            c.roles.first().map(|r| pos(r)),
        )
    });
    let mut used: BTreeSet<String> = BTreeSet::new();
    for c in &mut out {
        let attr = c.attribute.replace('_', "-");
        let mut base = if c.roles.len() == 1 {
            format!("{}-{attr}", c.roles[0])
        } else {
            attr
        };
        if c.explicit_envs && c.environments.len() == 1 {
            base = format!("{base}-in-{}", c.environments[0]);
        }
        let mut name = base.clone();
        let mut n = 2;
        while used.contains(&name) {
            name = format!("{base}-{n}");
            n += 1;
        }
        used.insert(name.clone());
        c.name = name;
    }
    out
}

fn run_checks(contract: &Contract, models: &[EnvModel], today: Date) -> Vec<checks::CheckResult> {
    let roles = super::roles::resolve(contract, models);
    let models: Vec<&EnvModel> = models.iter().collect();
    let ctx = Ctx {
        contract,
        models: &models,
        roles: &roles,
        today,
        base_dir: contract.base_dir(),
    };
    checks::run_all(&ctx, None)
}

fn covered(results: &[checks::CheckResult], c: &Candidate) -> bool {
    c.targets.iter().all(|(role, envs, _, _)| {
        results
            .iter()
            .filter(|r| r.def.id == c.check.id)
            .flat_map(|r| &r.findings)
            .filter(|f: &&Finding| {
                f.role.as_deref() == Some(role.as_str())
                    && f.subject.as_deref() == Some(c.attribute.as_str())
                    && &f.environments == envs
            })
            .all(|f| f.status == Status::IntentionalDiff)
    })
}

/// What `contract init` proposes, and a one-line summary of it.
pub struct Outcome {
    pub text: String,
    pub summary: String,
}

/// Proposes a contract for loaded environments (reference first), to be written at `output`
/// (relative paths in it are relative to that file).
pub fn proposal_text(envs: &[LoadedEnv], output: &Path, today: Date) -> Result<Outcome> {
    let out_dir: PathBuf = output
        .parent()
        .filter(|d| !d.as_os_str().is_empty())
        .map(Path::to_path_buf)
        .unwrap_or_else(|| PathBuf::from("."));
    let proposal = propose(envs.iter().collect());
    let env_order: Vec<String> = envs.iter().map(|e| e.model.name.clone()).collect();
    let models: Vec<EnvModel> = envs.iter().map(|e| e.model.clone()).collect();
    let reference = env_order[0].clone();

    // Header and environments.
    let mut head = String::new();
    let counts: Vec<String> = envs
        .iter()
        .map(|e| {
            let n = proposal.units[&e.model.name].len();
            format!(
                "{} ({n} service{})",
                e.model.name,
                if n == 1 { "" } else { "s" }
            )
        })
        .collect();
    let counts = match counts.split_last() {
        Some((last, rest)) if !rest.is_empty() => format!("{} and {last}", rest.join(", ")),
        _ => counts.join(""),
    };
    let _ = writeln!(
        head,
        "# Parity contract proposed by `tfparity contract init` from {counts}."
    );
    let _ = writeln!(head, "#");
    for line in [
        "# Nothing here is decided yet: read every comment, correct what is wrong, then run",
        "# `tfparity check`. Services were paired across environments as one optimal assignment",
        "# (Hungarian algorithm) on a similarity score: the weighted mean of the evidence present",
        "# for both services — name tokens (weight 3), container image repository (4), env var",
        "# keys (2), container ports (1), Secret Manager secrets (2), Cloud SQL (2). Env var values",
        "# are never read, only keys.",
    ] {
        let _ = writeln!(head, "{line}");
    }
    let _ = writeln!(
        head,
        "# Confidence: high = score ≥ {HIGH_SCORE:.2} and at least {HIGH_MARGIN:.2} ahead of the next candidate;"
    );
    let _ = writeln!(
        head,
        "# medium = score ≥ {MEDIUM_SCORE:.2}; low = below. Services scoring under {PAIR_THRESHOLD:.2} with every"
    );
    let _ = writeln!(head, "# candidate stay unpaired: they are open decisions.");
    let _ = writeln!(head);
    let _ = writeln!(head, "reference = {}", hcl_str(&reference));
    for e in envs {
        let _ = writeln!(head);
        let _ = writeln!(head, "environment {} {{", hcl_str(&e.model.name));
        let sources: Vec<String> = e
            .spec
            .sources
            .iter()
            .map(|p| relative_to(p, &out_dir))
            .collect();
        let _ = writeln!(head, "  sources = {}", hcl_list(&sources));
        if !e.spec.var_files.is_empty() {
            let vf: Vec<String> = e
                .spec
                .var_files
                .iter()
                .map(|p| relative_to(p, &out_dir))
                .collect();
            let _ = writeln!(head, "  var_files = {}", hcl_list(&vf));
        }
        let observed = observed_settings(&e.model, &proposal);
        if !observed.is_empty() {
            let _ = writeln!(
                head,
                "\n  # What the services follow today; uncomment to hold the environment to it."
            );
            for l in observed {
                let _ = writeln!(head, "  {l}");
            }
        }
        let _ = writeln!(head, "}}");
    }

    // Roles: paired first, in the reference's order, then the open decisions.
    let mut roles_text = String::new();
    let paired: Vec<&Proposed> = proposal
        .roles
        .iter()
        .filter(|r| r.order.len() > 1)
        .collect();
    let alone: Vec<&Proposed> = proposal
        .roles
        .iter()
        .filter(|r| r.order.len() == 1)
        .collect();
    let member =
        |r: &Proposed, env: &str| -> String { proposal.units[env][r.members[env]].name.clone() };
    let services_map = |r: &Proposed| -> String {
        let m: BTreeMap<String, String> =
            r.order.iter().map(|e| (e.clone(), member(r, e))).collect();
        hcl_map(&m, &env_order)
    };
    if !paired.is_empty() {
        let _ = writeln!(roles_text);
        let _ = writeln!(roles_text, "# ---- Roles: the naming map ----");
    }
    for r in &paired {
        let _ = writeln!(roles_text);
        let pairs: Vec<String> = env_order
            .iter()
            .filter(|e| r.members.contains_key(*e))
            .map(|e| format!("{e} {}", member(r, e)))
            .collect();
        let _ = writeln!(roles_text, "# {}: {}", r.name, pairs.join(" <-> "));
        for j in &r.joins {
            let runner = j.runner_up.as_ref().map_or(0.0, |(_, s)| *s);
            let conf = confidence(j.score.score, runner);
            let next = match &j.runner_up {
                Some((who, s)) => format!("; next best: {who} at {}", fmt_score(*s)),
                None => "; no other candidate".to_string(),
            };
            let _ = writeln!(
                roles_text,
                "#   {} vs {}: confidence {conf} (score {}{next})",
                j.env,
                j.with_env,
                fmt_score(j.score.score)
            );
            let evidence: Vec<String> = j
                .score
                .parts
                .iter()
                .map(|p| format!("{} [{}]", p.text, fmt_score(p.score)))
                .collect();
            let _ = writeln!(roles_text, "#   evidence: {}", evidence.join("; "));
        }
        let _ = writeln!(roles_text, "role {} {{", hcl_str(&r.name));
        let _ = writeln!(roles_text, "  services = {}", services_map(r));
        let _ = writeln!(roles_text, "}}");
    }
    if !alone.is_empty() {
        let _ = writeln!(roles_text);
        let _ = writeln!(
            roles_text,
            "# ---- Open decisions: services without a counterpart ----"
        );
    }
    for r in &alone {
        let env = &r.order[0];
        let missing: Vec<String> = env_order.iter().filter(|e| *e != env).cloned().collect();
        let _ = writeln!(roles_text);
        let _ = writeln!(
            roles_text,
            "# OPEN DECISION: `{}` runs in {env} only; nothing in {} is like it.",
            member(r, env),
            missing.join(", ")
        );
        if r.closest.is_empty() {
            let _ = writeln!(
                roles_text,
                "#   confidence: no pair (no service to compare with)"
            );
        }
        for (o, name, score) in &r.closest {
            let _ = writeln!(
                roles_text,
                "#   confidence: no pair (closest in {o}: {name}, score {}, under the {PAIR_THRESHOLD:.2} needed)",
                fmt_score(score.score)
            );
            let evidence: Vec<String> = score
                .parts
                .iter()
                .map(|p| format!("{} [{}]", p.text, fmt_score(p.score)))
                .collect();
            let _ = writeln!(
                roles_text,
                "#   evidence against {name}: {}",
                evidence.join("; ")
            );
        }
        let _ = writeln!(
            roles_text,
            "#   Deploy it in {} and name that service here, or keep it to {env} on purpose:",
            missing.join(", ")
        );
        let _ = writeln!(
            roles_text,
            "#     only_in = {}",
            hcl_list(std::slice::from_ref(env))
        );
        let _ = writeln!(
            roles_text,
            "#     reason  = \"<why it runs in {env} only>\""
        );
        let _ = writeln!(
            roles_text,
            "#   Until one or the other, item 1 (role_coverage) fails for it."
        );
        let _ = writeln!(roles_text, "role {} {{", hcl_str(&r.name));
        let _ = writeln!(roles_text, "  services = {}", services_map(r));
        let _ = writeln!(roles_text, "}}");
    }

    let base = format!("{head}{roles_text}");
    let contract = parse::parse(output, &base).map_err(|e| {
        Error::Usage(format!(
            "internal error: the proposed contract does not parse: {e}"
        ))
    })?;

    // The differences under the proposed roles, each checked to cover what it names.
    let results = run_checks(&contract, &models, today);
    let mut cands = candidates(&results, &reference, env_order.len());
    let mut with_values: Vec<bool> = cands.iter().map(|c| !c.values.is_empty()).collect();
    let mut keep: Vec<bool> = vec![true; cands.len()];
    for _ in 0..2 {
        let mut trial = base.clone();
        for (i, c) in cands.iter().enumerate() {
            if keep[i] {
                let _ = writeln!(trial);
                for l in c.block(&env_order, "accepted", with_values[i]) {
                    let _ = writeln!(trial, "{l}");
                }
            }
        }
        let trial_contract = parse::parse(output, &trial).map_err(|e| {
            Error::Usage(format!(
                "internal error: a proposed intentional difference does not parse: {e}"
            ))
        })?;
        let trial_results = run_checks(&trial_contract, &models, today);
        let mut changed = false;
        for (i, c) in cands.iter().enumerate() {
            if keep[i] && !covered(&trial_results, c) {
                changed = true;
                if with_values[i] {
                    with_values[i] = false;
                } else {
                    keep[i] = false;
                }
            }
        }
        if !changed {
            break;
        }
    }
    // A last pass: whatever still does not cover its findings is left out.
    {
        let mut trial = base.clone();
        for (i, c) in cands.iter().enumerate() {
            if keep[i] {
                for l in c.block(&env_order, "accepted", with_values[i]) {
                    let _ = writeln!(trial, "{l}");
                }
            }
        }
        if let Ok(tc) = parse::parse(output, &trial) {
            let tr = run_checks(&tc, &models, today);
            for (i, c) in cands.iter().enumerate() {
                if keep[i] && !covered(&tr, c) {
                    keep[i] = false;
                }
            }
        }
    }
    let dropped: Vec<Candidate> = cands
        .iter()
        .zip(&keep)
        .filter(|(_, k)| !**k)
        .map(|(c, _)| c.clone())
        .collect();
    let kept_vals: Vec<bool> = with_values
        .iter()
        .zip(&keep)
        .filter(|(_, k)| **k)
        .map(|(v, _)| *v)
        .collect();
    cands = cands
        .into_iter()
        .zip(keep.iter())
        .filter(|(_, k)| **k)
        .map(|(c, _)| c)
        .collect();

    let mut diffs = String::new();
    if !cands.is_empty() || !dropped.is_empty() {
        let _ = writeln!(diffs);
        let _ = writeln!(diffs, "# ---- Current differences ----");
        for line in [
            "# What `tfparity check` finds different today under the roles above. Each is written",
            "# as an intentional difference for you to accept (uncomment it and write its reason;",
            "# add `owner` and `expires` as you see fit) or delete (and fix the difference instead).",
            "# A block whose reason is empty does not parse, so none is accepted by accident.",
        ] {
            let _ = writeln!(diffs, "{line}");
        }
    }
    for (c, values) in cands.iter().zip(&kept_vals) {
        let _ = writeln!(diffs);
        let mut seen: BTreeSet<&str> = BTreeSet::new();
        for (_, _, status, message) in &c.targets {
            if seen.insert(message.as_str()) {
                let _ = writeln!(diffs, "# {status}: {}", one_line(message));
            }
        }
        for l in c.block(&env_order, "", *values) {
            let _ = writeln!(diffs, "# {l}");
        }
    }
    if !dropped.is_empty() {
        let _ = writeln!(diffs);
        let _ = writeln!(
            diffs,
            "# These need a decision an intentional difference does not record: the observed"
        );
        let _ = writeln!(
            diffs,
            "# environment settings above may settle them; otherwise fix them, or see"
        );
        let _ = writeln!(diffs, "# `tfparity explain CHECK`.");
        for c in &dropped {
            for (_, _, status, message) in &c.targets {
                let _ = writeln!(diffs, "# {status}: {}", one_line(message));
            }
        }
    }

    let text = format!("{base}{diffs}");
    // What is written must read back as a contract.
    parse::parse(output, &text).map_err(|e| {
        Error::Usage(format!(
            "internal error: the proposed contract does not parse: {e}"
        ))
    })?;
    let summary = format!(
        "{} role(s): {} paired, {} open decision(s); {} difference(s) proposed as commented-out intentional_difference blocks",
        proposal.roles.len(),
        paired.len(),
        alone.len(),
        cands.len()
    );
    Ok(Outcome { text, summary })
}

fn one_line(s: &str) -> String {
    s.replace(['\n', '\r'], " ")
}

/// The environments `contract init` reads: `--env` alone when given (an existing contract is
/// not consulted), else those of `--contract` or `parity.hcl`.
pub fn environments(inputs: &Inputs, reference: Option<&str>) -> Result<Contract> {
    let mut c = if inputs.contract.is_none() && !inputs.envs.is_empty() {
        let mut c = Contract::assumed(Vec::new());
        let mut grouped: Vec<(String, Vec<PathBuf>)> = Vec::new();
        for (name, path) in &inputs.envs {
            match grouped.iter_mut().find(|(n, _)| n == name) {
                Some((_, list)) => list.push(path.clone()),
                None => grouped.push((name.clone(), vec![path.clone()])),
            }
        }
        for (name, sources) in grouped {
            c.override_env(&name, sources);
        }
        c.reference = c
            .environments
            .first()
            .map(|e| e.name.clone())
            .unwrap_or_default();
        c
    } else {
        app::contract(inputs, 2)?
    };
    if c.environments.len() < 2 {
        return Err(Error::Usage(format!(
            "contract init pairs services across environments: it needs at least two, found {}; pass --env NAME=PATH for each",
            c.environments.len()
        )));
    }
    if let Some(r) = reference {
        if c.env(r).is_none() {
            return Err(Error::Usage(format!(
                "--reference `{r}` is not one of the environments ({})",
                c.env_names().join(", ")
            )));
        }
        c.reference = r.to_string();
    }
    Ok(c)
}

/// `tfparity contract init`: proposes a contract and writes it to `output` (never over an
/// existing file; `-` is standard output). Returns the proposal and its summary.
pub fn run(
    inputs: &Inputs,
    reference: Option<&str>,
    output: &Path,
    today: Date,
) -> Result<Outcome> {
    let to_stdout = output.as_os_str() == "-";
    if !to_stdout && (output.exists() || output.symlink_metadata().is_ok()) {
        return Err(InputError::new(
            output,
            "already exists: `tfparity contract init` never overwrites a file",
        )
        .help("pass --output NEW.hcl (or --output - for standard output), or move the file away")
        .into());
    }
    let contract = environments(inputs, reference)?;
    let envs = app::load_all(&contract)?;
    let target = if to_stdout {
        PathBuf::from(app::DEFAULT_CONTRACT)
    } else {
        output.to_path_buf()
    };
    let outcome = proposal_text(&envs, &target, today)?;
    if !to_stdout {
        // Checked again: the environments may take a while to load.
        if output.exists() {
            return Err(InputError::new(
                output,
                "appeared while the proposal was being made; not overwritten",
            )
            .into());
        }
        app::write_atomic(output, outcome.text.as_bytes())?;
    }
    Ok(outcome)
}

/// `tfparity contract init` as the command line runs it: the proposal goes to its file (or
/// standard output for `-`), a summary to standard error. Returns the exit code.
pub fn command(args: &crate::cli::InitArgs) -> Result<u8> {
    let inputs = Inputs {
        contract: args.sources.contract.clone(),
        envs: args.sources.envs.clone(),
    };
    let outcome = run(
        &inputs,
        args.reference.as_deref(),
        &args.output,
        Date::today(),
    )?;
    if args.output.as_os_str() == "-" {
        use std::io::Write as _;
        let mut out = std::io::stdout().lock();
        if let Err(e) = out
            .write_all(outcome.text.as_bytes())
            .and_then(|_| out.flush())
            && e.kind() != std::io::ErrorKind::BrokenPipe
        {
            return Err(Error::io("<stdout>", e));
        }
        eprintln!("tfparity: proposed {}", outcome.summary);
    } else {
        eprintln!(
            "tfparity: wrote {}: {}. Review it, then run `tfparity check --contract {}`.",
            crate::report::display_path(&args.output),
            outcome.summary,
            crate::report::display_path(&args.output)
        );
    }
    Ok(0)
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Every assignment of rows to distinct columns (or none), by brute force.
    fn brute(w: &[Vec<i64>]) -> i64 {
        fn go(w: &[Vec<i64>], i: usize, used: &mut Vec<bool>) -> i64 {
            if i == w.len() {
                return 0;
            }
            let mut best = go(w, i + 1, used);
            for j in 0..used.len() {
                if !used[j] && w[i][j] > 0 {
                    used[j] = true;
                    best = best.max(w[i][j] + go(w, i + 1, used));
                    used[j] = false;
                }
            }
            best
        }
        let m = w.first().map_or(0, Vec::len);
        go(w, 0, &mut vec![false; m])
    }

    fn total(w: &[Vec<i64>], a: &[Option<usize>]) -> i64 {
        a.iter()
            .enumerate()
            .filter_map(|(i, j)| j.map(|j| w[i][j]))
            .sum()
    }

    #[test]
    fn assignment_is_optimal_not_greedy() {
        // Greedy takes (0,0)=9 and leaves row 1 with 1; the optimum is 8 + 7.
        let w = vec![vec![9, 8], vec![7, 1]];
        let a = assign(&w);
        assert_eq!(a, vec![Some(1), Some(0)]);
        assert_eq!(total(&w, &a), 15);
    }

    #[test]
    fn assignment_matches_brute_force() {
        let mut seed: u64 = 0x2545_f491_4f6c_dd1d;
        let mut next = || {
            seed ^= seed << 13;
            seed ^= seed >> 7;
            seed ^= seed << 17;
            seed
        };
        for _ in 0..300 {
            let n = (next() % 5 + 1) as usize;
            let m = (next() % 5 + 1) as usize;
            let w: Vec<Vec<i64>> = (0..n)
                .map(|_| (0..m).map(|_| (next() % 21) as i64 - 6).collect())
                .collect();
            let a = assign(&w);
            let cols: Vec<usize> = a.iter().flatten().copied().collect();
            let distinct: BTreeSet<usize> = cols.iter().copied().collect();
            assert_eq!(cols.len(), distinct.len(), "{w:?} → {a:?}");
            assert!(
                a.iter()
                    .enumerate()
                    .all(|(i, j)| j.is_none_or(|j| w[i][j] > 0))
            );
            assert_eq!(total(&w, &a), brute(&w), "{w:?} → {a:?}");
        }
    }

    #[test]
    fn image_repositories_lose_host_tag_and_environment() {
        let p = vec!["acme-dev".to_string()];
        assert_eq!(
            image_repository(
                "us-central1-docker.pkg.dev/acme-dev/web/user-app:2026.02.22-8e1f4b7",
                "dev",
                &p
            )
            .as_deref(),
            Some("{project}/web/user-app")
        );
        assert_eq!(
            image_repository("nginx@sha256:abc", "dev", &p).as_deref(),
            Some("nginx")
        );
        assert_eq!(
            image_repository("localhost:5000/app:1", "dev", &p).as_deref(),
            Some("app")
        );
    }

    #[test]
    fn keys_lose_framework_prefixes() {
        assert_eq!(normalise_key("VITE_API_BASE_URL"), "API_BASE_URL");
        assert_eq!(normalise_key("NEXT_PUBLIC_X"), "X");
        assert_eq!(normalise_key("API_BASE_URL"), "API_BASE_URL");
    }

    #[test]
    fn hcl_strings_escape_templates() {
        assert_eq!(hcl_str("a\"b${c}%{d}\\"), "\"a\\\"b$${c}%%{d}\\\\\"");
    }

    #[test]
    fn relative_paths() {
        assert_eq!(
            relative_to(Path::new("/a/b/c.json"), Path::new("/a/d")),
            "../b/c.json"
        );
        assert_eq!(
            relative_to(Path::new("/a/b/c.json"), Path::new("/a/b")),
            "c.json"
        );
        assert_eq!(relative_to(Path::new("/a/./b/../c"), Path::new("/a")), "c");
    }

    #[test]
    fn common_prefixes_are_whole_tokens() {
        assert_eq!(common_prefix(&["acme-api", "acme-web", "acme-user-app"]), 1);
        assert_eq!(common_prefix(&["acme", "acme-web"]), 0);
        assert_eq!(common_prefix(&["api"]), 0);
    }
}
