//! `tfparity graph`: an environment's resource graph (services, service accounts, IAM,
//! secrets, connectors, Cloud SQL, domains and load balancer pieces) as Graphviz DOT, Mermaid
//! or JSON, clustered per Cloud Run service.
//!
//! Node ids are derived from the environment and the resource address alone (a readable part
//! plus a hash of the address), so the same resource keeps its id from run to run and a diff
//! of two renderings shows what changed. Labels come from name-like attributes (a service's
//! name, an account id, a secret id, an IAM role and members), never from env var values or
//! anything marked sensitive.

use std::collections::{BTreeMap, BTreeSet};
use std::fmt::Write;

use serde::Serialize;

use crate::graph::{EdgeKind, ResourceGraph, is_run_type};
use crate::inventory::{Inventory, Mode, Resource};
use crate::model::{EnvModel, RuntimeSa};
use crate::value::{Lookup, Value};

/// What a node is, for its shape and colour.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Category {
    Service,
    ServiceAccount,
    Iam,
    Secret,
    Network,
    Sql,
    Domain,
    LoadBalancer,
    Other,
}

impl Category {
    pub fn of(rtype: &str) -> Category {
        if is_run_type(rtype) {
            return Category::Service;
        }
        if rtype.contains("_iam_") {
            return Category::Iam;
        }
        match rtype {
            "google_service_account" => Category::ServiceAccount,
            "google_vpc_access_connector"
            | "google_compute_network"
            | "google_compute_subnetwork" => Category::Network,
            "google_cloud_run_domain_mapping"
            | "google_compute_managed_ssl_certificate"
            | "google_compute_ssl_certificate"
            | "google_certificate_manager_certificate"
            | "google_dns_record_set"
            | "google_dns_managed_zone" => Category::Domain,
            t if t.starts_with("google_secret_manager_") => Category::Secret,
            t if t.starts_with("google_sql_") => Category::Sql,
            "google_compute_region_network_endpoint_group"
            | "google_compute_backend_service"
            | "google_compute_url_map"
            | "google_compute_target_https_proxy"
            | "google_compute_target_http_proxy"
            | "google_compute_global_forwarding_rule"
            | "google_compute_global_address"
            | "google_compute_security_policy" => Category::LoadBalancer,
            _ => Category::Other,
        }
    }

    pub fn as_str(self) -> &'static str {
        match self {
            Category::Service => "service",
            Category::ServiceAccount => "service_account",
            Category::Iam => "iam",
            Category::Secret => "secret",
            Category::Network => "network",
            Category::Sql => "sql",
            Category::Domain => "domain",
            Category::LoadBalancer => "load_balancer",
            Category::Other => "other",
        }
    }

    /// Fill and stroke colours.
    fn colors(self) -> (&'static str, &'static str) {
        match self {
            Category::Service => ("#dbeafe", "#1d4ed8"),
            Category::ServiceAccount => ("#dcfce7", "#15803d"),
            Category::Iam => ("#f3f4f6", "#6b7280"),
            Category::Secret => ("#fef9c3", "#a16207"),
            Category::Network => ("#ede9fe", "#6d28d9"),
            Category::Sql => ("#ffedd5", "#c2410c"),
            Category::Domain => ("#e0f2fe", "#0369a1"),
            Category::LoadBalancer => ("#f0f9ff", "#0e7490"),
            Category::Other => ("#ffffff", "#9ca3af"),
        }
    }

    fn dot_shape(self) -> &'static str {
        match self {
            Category::Service => "box",
            Category::ServiceAccount => "ellipse",
            Category::Iam => "note",
            Category::Secret => "hexagon",
            Category::Network => "parallelogram",
            Category::Sql => "cylinder",
            Category::Domain => "tab",
            Category::LoadBalancer => "component",
            Category::Other => "box",
        }
    }

    /// Mermaid's opening and closing brackets for the shape.
    fn mermaid_shape(self) -> (&'static str, &'static str) {
        match self {
            Category::Service => ("[", "]"),
            Category::ServiceAccount => ("([", "])"),
            Category::Iam => (">", "]"),
            Category::Secret => ("{{", "}}"),
            Category::Network => ("[/", "/]"),
            Category::Sql => ("[(", ")]"),
            Category::Domain | Category::LoadBalancer => ("[[", "]]"),
            Category::Other => ("[", "]"),
        }
    }

    pub const ALL: [Category; 9] = [
        Category::Service,
        Category::ServiceAccount,
        Category::Iam,
        Category::Secret,
        Category::Network,
        Category::Sql,
        Category::Domain,
        Category::LoadBalancer,
        Category::Other,
    ];
}

#[derive(Clone, Debug, Serialize)]
pub struct Node {
    pub id: String,
    pub address: String,
    #[serde(rename = "type")]
    pub rtype: String,
    pub category: Category,
    /// What the resource is called (a service's name, an account id, an IAM role...).
    pub label: String,
    /// A second line: IAM members, the service kind.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub detail: Option<String>,
    /// The id of the service cluster it is drawn in, if any.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub cluster: Option<String>,
}

#[derive(Clone, Debug, Serialize)]
pub struct Edge {
    pub from: String,
    pub to: String,
    pub kind: &'static str,
}

/// The resources drawn around one Cloud Run service: itself and what belongs to it alone.
#[derive(Clone, Debug, Serialize)]
pub struct Cluster {
    pub id: String,
    pub service: String,
    pub address: String,
}

#[derive(Clone, Debug, Serialize)]
pub struct EnvGraph {
    pub name: String,
    pub id: String,
    pub clusters: Vec<Cluster>,
    pub nodes: Vec<Node>,
    pub edges: Vec<Edge>,
}

/// 32-bit FNV-1a, for short stable suffixes of ids.
pub(crate) fn fnv1a(s: &str) -> u32 {
    let mut h: u32 = 0x811c_9dc5;
    for b in s.bytes() {
        h ^= u32::from(b);
        h = h.wrapping_mul(0x0100_0193);
    }
    h
}

/// `[A-Za-z0-9_]` only, runs of anything else as one `_`, trimmed to `max` characters.
pub(crate) fn sanitize(s: &str, max: usize) -> String {
    let mut out = String::new();
    let mut last_us = false;
    for c in s.chars() {
        if c.is_ascii_alphanumeric() {
            out.push(c);
            last_us = false;
        } else if !last_us {
            out.push('_');
            last_us = true;
        }
        if out.len() >= max {
            break;
        }
    }
    out.trim_matches('_').to_string()
}

/// A stable id: a prefix, a readable part and a hash of the whole key, valid in DOT and
/// Mermaid alike.
pub(crate) fn stable_id(prefix: &str, readable: &str, key: &str) -> String {
    let r = sanitize(readable, 48);
    if r.is_empty() {
        format!("{prefix}_{:08x}", fnv1a(key))
    } else {
        format!("{prefix}_{r}_{:08x}", fnv1a(key))
    }
}

/// A string as a DOT quoted string (`\n` inside stays a line break).
pub(crate) fn dot_quote(s: &str) -> String {
    let mut out = String::with_capacity(s.len() + 2);
    out.push('"');
    for c in s.chars() {
        match c {
            '"' => out.push_str("\\\""),
            '\\' => out.push_str("\\\\"),
            '\n' => out.push_str("\\n"),
            '\r' => {}
            c => out.push(c),
        }
    }
    out.push('"');
    out
}

/// Text for a quoted Mermaid label: quotes, angle brackets and `#` as entity codes; `\n`
/// becomes `<br/>`.
pub(crate) fn mermaid_text(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for c in s.chars() {
        match c {
            '"' => out.push_str("#quot;"),
            '#' => out.push_str("#35;"),
            '<' => out.push_str("#lt;"),
            '>' => out.push_str("#gt;"),
            '`' => out.push_str("#96;"),
            '\n' => out.push_str("<br/>"),
            '\r' => {}
            c => out.push(c),
        }
    }
    out
}

fn str_at<'v>(v: &'v Value, path: &str) -> Option<&'v str> {
    match v.at(path) {
        Lookup::Set(Value::String(s)) => Some(s),
        _ => None,
    }
}

/// The resource's name within its type: `cr["backend"]`, `this`.
fn short_address(r: &Resource) -> String {
    match &r.index {
        Some(k) => format!("{}{k}", r.name),
        None => r.name.clone(),
    }
}

fn members(v: &Value) -> Vec<String> {
    let mut out: Vec<String> = Vec::new();
    if let Some(m) = str_at(v, "member") {
        out.push(m.to_string());
    }
    for m in v.get("members").map(Value::as_list).unwrap_or_default() {
        if let Some(m) = m.as_str() {
            out.push(m.to_string());
        }
    }
    out
}

/// Label and detail of a resource, from name-like attributes only.
fn label(r: &Resource, category: Category) -> (String, Option<String>) {
    let v = &r.values;
    let name = str_at(v, "name").map(|n| crate::graph::last_segment(n).to_string());
    match category {
        Category::Service => (
            name.unwrap_or_else(|| short_address(r)),
            Some(
                match r.rtype.as_str() {
                    "google_cloud_run_service" => "Cloud Run service (v1)",
                    "google_cloud_run_v2_job" => "Cloud Run job",
                    _ => "Cloud Run service",
                }
                .to_string(),
            ),
        ),
        Category::ServiceAccount => (
            str_at(v, "account_id")
                .map(str::to_string)
                .or_else(|| str_at(v, "email").map(str::to_string))
                .unwrap_or_else(|| short_address(r)),
            Some("service account".into()),
        ),
        Category::Iam => {
            let role = str_at(v, "role")
                .map(str::to_string)
                .unwrap_or_else(|| short_address(r));
            let mut m = members(v);
            let more = m.len().saturating_sub(3);
            m.truncate(3);
            let mut detail = m.join(", ");
            if more > 0 {
                let _ = write!(detail, " +{more}");
            }
            (role, Some(detail).filter(|d| !d.is_empty()))
        }
        Category::Secret if r.rtype == "google_secret_manager_secret" => (
            str_at(v, "secret_id")
                .map(str::to_string)
                .unwrap_or_else(|| short_address(r)),
            Some("secret".into()),
        ),
        _ => (
            name.unwrap_or_else(|| short_address(r)),
            Some(r.rtype.trim_start_matches("google_").to_string()),
        ),
    }
}

/// Builds the drawable graph of one environment. With the environment's model, a service that
/// runs as a default service account (not a resource of the environment, so not drawn) says
/// so in its label.
pub fn build(env: &str, inventory: &Inventory, model: Option<&EnvModel>) -> EnvGraph {
    let rg = ResourceGraph::build(inventory);
    let env_id = stable_id("env", env, env);
    let included: Vec<usize> = inventory
        .resources
        .iter()
        .enumerate()
        .filter(|(_, r)| r.mode == Mode::Managed)
        .map(|(i, _)| i)
        .collect();
    let is_included: BTreeSet<usize> = included.iter().copied().collect();
    let ids: BTreeMap<usize, String> = included
        .iter()
        .map(|&i| {
            let r = &inventory.resources[i];
            let key = format!("{env}\u{0}{}", r.address);
            (
                i,
                stable_id(&format!("n_{}", sanitize(env, 24)), &r.address, &key),
            )
        })
        .collect();

    // Neighbours in either direction, by any edge, among drawn resources.
    let neighbours = |i: usize| -> BTreeSet<usize> {
        rg.outgoing(i)
            .into_iter()
            .chain(rg.incoming(i))
            .map(|(n, _)| n)
            .filter(|n| is_included.contains(n) && *n != i)
            .collect()
    };

    // Clusters: each service, then what is linked to exactly one cluster (three rounds, each
    // seeing only the assignments of the rounds before, so the result does not depend on
    // the order resources are visited in).
    let services: Vec<usize> = included
        .iter()
        .copied()
        .filter(|&i| is_run_type(&inventory.resources[i].rtype))
        .collect();
    let mut cluster_of: BTreeMap<usize, usize> = services.iter().map(|&s| (s, s)).collect();
    for _ in 0..3 {
        let mut round: BTreeMap<usize, usize> = BTreeMap::new();
        for &i in &included {
            if cluster_of.contains_key(&i) {
                continue;
            }
            let near: BTreeSet<usize> = neighbours(i)
                .into_iter()
                .filter_map(|n| cluster_of.get(&n).copied())
                .collect();
            if near.len() == 1 {
                round.insert(i, *near.iter().next().expect("one"));
            }
        }
        if round.is_empty() {
            break;
        }
        cluster_of.extend(round);
    }

    let cluster_id = |s: usize| format!("cluster_{}", ids[&s]);
    let clusters: Vec<Cluster> = services
        .iter()
        .map(|&s| {
            let r = &inventory.resources[s];
            Cluster {
                id: cluster_id(s),
                service: label(r, Category::Service).0,
                address: r.address.clone(),
            }
        })
        .collect();
    let nodes: Vec<Node> = included
        .iter()
        .map(|&i| {
            let r = &inventory.resources[i];
            let category = Category::of(&r.rtype);
            let (label, mut detail) = label(r, category);
            let sa = model
                .and_then(|m| m.services.iter().find(|s| s.address == r.address))
                .and_then(|s| s.service_account.known());
            if let Some(sa) = sa.filter(|sa| sa.is_default()) {
                let what = match sa {
                    RuntimeSa::DefaultAppEngine { .. } => "the App Engine default service account",
                    _ => "the default compute service account",
                };
                detail = Some(match detail {
                    Some(d) => format!("{d}\nruns as {what}"),
                    None => format!("runs as {what}"),
                });
            }
            Node {
                id: ids[&i].clone(),
                address: r.address.clone(),
                rtype: r.rtype.clone(),
                category,
                label,
                detail,
                cluster: cluster_of.get(&i).map(|&s| cluster_id(s)),
            }
        })
        .collect();

    let mut typed: BTreeSet<(usize, usize)> = BTreeSet::new();
    let mut raw: Vec<(usize, usize, EdgeKind)> = Vec::new();
    for &i in &included {
        for (t, kind) in rg.outgoing(i) {
            if !is_included.contains(&t) {
                continue;
            }
            if kind != EdgeKind::Reference {
                typed.insert((i, t));
            }
            raw.push((i, t, kind));
        }
    }
    // A reference edge adds nothing where a typed edge already links the pair.
    let edges: Vec<Edge> = raw
        .into_iter()
        .filter(|(a, b, k)| {
            *k != EdgeKind::Reference || !(typed.contains(&(*a, *b)) || typed.contains(&(*b, *a)))
        })
        .map(|(a, b, k)| Edge {
            from: ids[&a].clone(),
            to: ids[&b].clone(),
            kind: k.as_str(),
        })
        .collect();
    EnvGraph {
        name: env.to_string(),
        id: env_id,
        clusters,
        nodes,
        edges,
    }
}

fn node_text(n: &Node) -> String {
    match &n.detail {
        Some(d) => format!("{}\n{d}", n.label),
        None => n.label.clone(),
    }
}

/// Graphviz DOT of one or more environments, one cluster per environment holding one cluster
/// per service.
pub fn dot(graphs: &[EnvGraph]) -> String {
    let mut out = String::new();
    let title = format!(
        "tfparity resource graph: {}",
        graphs
            .iter()
            .map(|g| g.name.as_str())
            .collect::<Vec<_>>()
            .join(", ")
    );
    let _ = writeln!(out, "digraph tfparity {{");
    let _ = writeln!(
        out,
        "  graph [rankdir=LR, fontname=\"Helvetica\", fontsize=12, labelloc=t, label={}, nodesep=0.3, ranksep=0.8];",
        dot_quote(&title)
    );
    let _ = writeln!(
        out,
        "  node [fontname=\"Helvetica\", fontsize=10, style=filled, penwidth=1.2];"
    );
    let _ = writeln!(
        out,
        "  edge [fontname=\"Helvetica\", fontsize=8, color=\"#4b5563\", fontcolor=\"#4b5563\"];"
    );
    for g in graphs {
        let _ = writeln!(out, "  subgraph cluster_{} {{", g.id);
        let _ = writeln!(
            out,
            "    label={}; style=\"rounded\"; color=\"#9ca3af\"; fontsize=14;",
            dot_quote(&format!("environment {}", g.name))
        );
        for c in &g.clusters {
            let _ = writeln!(out, "    subgraph {} {{", c.id);
            let _ = writeln!(
                out,
                "      label={}; style=\"rounded,dashed\"; color=\"#1d4ed8\"; fontsize=11;",
                dot_quote(&c.service)
            );
            for n in g
                .nodes
                .iter()
                .filter(|n| n.cluster.as_deref() == Some(&c.id))
            {
                let _ = writeln!(out, "      {}", dot_node(n));
            }
            let _ = writeln!(out, "    }}");
        }
        for n in g.nodes.iter().filter(|n| n.cluster.is_none()) {
            let _ = writeln!(out, "    {}", dot_node(n));
        }
        let _ = writeln!(out, "  }}");
        for e in &g.edges {
            if e.kind == EdgeKind::Reference.as_str() {
                let _ = writeln!(
                    out,
                    "  {} -> {} [style=dashed, color=\"#9ca3af\"];",
                    e.from, e.to
                );
            } else {
                let _ = writeln!(
                    out,
                    "  {} -> {} [label={}];",
                    e.from,
                    e.to,
                    dot_quote(e.kind)
                );
            }
        }
    }
    let _ = writeln!(out, "}}");
    out
}

fn dot_node(n: &Node) -> String {
    let (fill, stroke) = n.category.colors();
    let bold = if n.category == Category::Service {
        ", penwidth=2"
    } else {
        ""
    };
    format!(
        "{} [label={}, shape={}, fillcolor=\"{fill}\", color=\"{stroke}\"{bold}, tooltip={}];",
        n.id,
        dot_quote(&node_text(n)),
        n.category.dot_shape(),
        dot_quote(&n.address)
    )
}

/// Mermaid flowchart of one or more environments, as GitHub renders it: a subgraph per
/// environment holding a subgraph per service, a class per category.
pub fn mermaid(graphs: &[EnvGraph]) -> String {
    let mut out = String::new();
    let _ = writeln!(out, "flowchart LR");
    let mut by_class: BTreeMap<Category, Vec<&str>> = BTreeMap::new();
    for g in graphs {
        let _ = writeln!(
            out,
            "  subgraph {}[\"{}\"]",
            g.id,
            mermaid_text(&format!("environment {}", g.name))
        );
        for c in &g.clusters {
            let _ = writeln!(
                out,
                "    subgraph {}[\"{}\"]",
                c.id,
                mermaid_text(&c.service)
            );
            for n in g
                .nodes
                .iter()
                .filter(|n| n.cluster.as_deref() == Some(&c.id))
            {
                let _ = writeln!(out, "      {}", mermaid_node(n));
            }
            let _ = writeln!(out, "    end");
        }
        for n in g.nodes.iter().filter(|n| n.cluster.is_none()) {
            let _ = writeln!(out, "    {}", mermaid_node(n));
        }
        let _ = writeln!(out, "  end");
        for n in &g.nodes {
            by_class.entry(n.category).or_default().push(&n.id);
        }
    }
    for g in graphs {
        for e in &g.edges {
            if e.kind == EdgeKind::Reference.as_str() {
                let _ = writeln!(out, "  {} -.-> {}", e.from, e.to);
            } else {
                let _ = writeln!(out, "  {} -->|\"{}\"| {}", e.from, e.kind, e.to);
            }
        }
    }
    for cat in Category::ALL {
        let (fill, stroke) = cat.colors();
        let _ = writeln!(
            out,
            "  classDef {} fill:{fill},stroke:{stroke},color:#111827",
            cat.as_str()
        );
    }
    for (cat, ids) in by_class {
        for chunk in ids.chunks(50) {
            let _ = writeln!(out, "  class {} {}", chunk.join(","), cat.as_str());
        }
    }
    out
}

fn mermaid_node(n: &Node) -> String {
    let (open, close) = n.category.mermaid_shape();
    format!("{}{open}\"{}\"{close}", n.id, mermaid_text(&node_text(n)))
}

#[derive(Serialize)]
struct GraphJson<'a> {
    schema_version: &'static str,
    kind: &'static str,
    environments: &'a [EnvGraph],
}

/// The graph as JSON: environments with clusters, nodes (id, address, type, category, label)
/// and typed edges.
pub fn json(graphs: &[EnvGraph]) -> String {
    let doc = GraphJson {
        schema_version: super::SCHEMA_VERSION,
        kind: "resource_graph",
        environments: graphs,
    };
    let mut s = serde_json::to_string_pretty(&doc).unwrap_or_else(|_| "{}".into());
    s.push('\n');
    s
}

/// `tfparity graph`: loads the environments and renders the requested graph.
pub fn command(args: &crate::cli::GraphArgs) -> crate::error::Result<String> {
    use crate::app::{self, Inputs};
    use crate::cli::GraphFormat;
    use crate::error::Error;
    let inputs = Inputs {
        contract: args.sources.contract.clone(),
        envs: args.sources.envs.clone(),
    };
    if args.roles {
        let today = match &args.today {
            Some(d) => crate::contract::Date::parse(d).ok_or_else(|| {
                Error::Usage(format!("--today must be a date YYYY-MM-DD, got `{d}`"))
            })?,
            None => crate::contract::Date::today(),
        };
        let contract = app::contract(&inputs, 2)?;
        let envs = app::load_all(&contract)?;
        let report = app::report(&contract, &envs, today, None);
        let m = super::roles_diagram::matrix(&report);
        return Ok(match args.format {
            GraphFormat::Dot => super::roles_diagram::dot(&m),
            GraphFormat::Mermaid => super::roles_diagram::mermaid(&m),
            GraphFormat::Json => super::roles_diagram::json(&m),
        });
    }
    let contract = app::contract(&inputs, 1)?;
    let specs: Vec<&crate::contract::EnvSpec> = match &args.env {
        Some(name) => match contract.env(name) {
            Some(spec) => vec![spec],
            None => {
                let hint = crate::error::nearest(name, contract.env_names())
                    .map(|n| format!(" (did you mean `{n}`?)"))
                    .unwrap_or_default();
                return Err(Error::Usage(format!(
                    "no environment `{name}`{hint}; environments: {}",
                    contract.env_names().join(", ")
                )));
            }
        },
        None => contract.ordered_envs(),
    };
    let mut graphs = Vec::new();
    for spec in specs {
        let loaded = app::load_env(spec)?;
        graphs.push(build(
            &loaded.model.name,
            &loaded.inventory,
            Some(&loaded.model),
        ));
    }
    Ok(match args.format {
        GraphFormat::Dot => dot(&graphs),
        GraphFormat::Mermaid => mermaid(&graphs),
        GraphFormat::Json => json(&graphs),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ids_are_stable_and_safe() {
        let a = stable_id("n_dev", "module.service[\"api\"].google_x.this", "k");
        assert_eq!(
            a,
            stable_id("n_dev", "module.service[\"api\"].google_x.this", "k")
        );
        assert!(a.chars().all(|c| c.is_ascii_alphanumeric() || c == '_'));
        assert!(a.starts_with("n_dev_module_service_api_google_x_this_"));
        assert_ne!(
            a,
            stable_id("dev", "module.service[\"api\"].google_x.this", "j")
        );
    }

    #[test]
    fn labels_are_escaped() {
        assert_eq!(dot_quote("a\"b\\c\nd"), "\"a\\\"b\\\\c\\nd\"");
        assert_eq!(mermaid_text("a\"<b>#\n"), "a#quot;#lt;b#gt;#35;<br/>");
    }
}
