//! The resource graph of one environment: a node per resource, edges for references written
//! in the configuration and for values that name another resource (a service account email, a
//! secret id, a connector path, a Cloud SQL connection name, an IAM binding's service...).
//!
//! Lookups are indexed (address, email, secret id, names), so building the graph stays linear
//! in the number of resources.

use std::collections::BTreeSet;

// Keys are addresses, emails and names from the sources: a fast, randomly seeded hash.
use foldhash::{HashMap, HashMapExt};

use petgraph::Direction;
use petgraph::graph::{DiGraph, NodeIndex};
use petgraph::visit::EdgeRef;

use crate::inventory::{InstanceKey, Inventory, Resource};
use crate::load::config::closing_bracket;
use crate::value::{Lookup, Value};

#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum EdgeKind {
    /// The configuration of the source refers to the target.
    Reference,
    /// A Cloud Run service or job runs as the target service account.
    RunsAs,
    /// A service reads the target secret.
    ReadsSecret,
    /// A service sends traffic through the target VPC connector.
    UsesConnector,
    /// A service attaches the target Cloud SQL instance.
    AttachesSql,
    /// An IAM binding or member grants on the target resource.
    GrantsOn,
    /// An IAM binding or member grants to the target service account.
    GrantsTo,
    /// A domain mapping or serverless NEG routes to the target service.
    RoutesTo,
    /// A load balancer piece uses the target (backend → NEG, URL map → backend, proxy → URL map
    /// or certificate, forwarding rule → proxy).
    Uses,
}

impl EdgeKind {
    pub fn as_str(self) -> &'static str {
        match self {
            EdgeKind::Reference => "reference",
            EdgeKind::RunsAs => "runs_as",
            EdgeKind::ReadsSecret => "reads_secret",
            EdgeKind::UsesConnector => "uses_connector",
            EdgeKind::AttachesSql => "attaches_sql",
            EdgeKind::GrantsOn => "grants_on",
            EdgeKind::GrantsTo => "grants_to",
            EdgeKind::RoutesTo => "routes_to",
            EdgeKind::Uses => "uses",
        }
    }
}

pub struct ResourceGraph<'i> {
    pub inventory: &'i Inventory,
    pub graph: DiGraph<usize, EdgeKind>,
    nodes: Vec<NodeIndex>,
    by_address: HashMap<&'i str, usize>,
    by_base: HashMap<std::borrow::Cow<'i, str>, Vec<usize>>,
    pub(crate) sa_by_email: HashMap<String, usize>,
    secret_by_id: HashMap<String, Vec<usize>>,
    connector_by_name: HashMap<String, Vec<usize>>,
    sql_by_connection: HashMap<String, usize>,
    service_by_name: HashMap<String, Vec<usize>>,
    neg_by_name: HashMap<String, Vec<usize>>,
    backend_by_name: HashMap<String, Vec<usize>>,
    url_map_by_name: HashMap<String, Vec<usize>>,
    proxy_by_name: HashMap<String, Vec<usize>>,
    cert_by_name: HashMap<String, Vec<usize>>,
}

const RUN_TYPES: &[&str] = &[
    "google_cloud_run_service",
    "google_cloud_run_v2_service",
    "google_cloud_run_v2_job",
];

pub fn is_run_type(t: &str) -> bool {
    RUN_TYPES.contains(&t)
}

fn str_at<'v>(v: &'v Value, path: &str) -> Option<&'v str> {
    match v.at(path) {
        Lookup::Set(Value::String(s)) => Some(s),
        _ => None,
    }
}

/// A resource's address without its instance key: a slice of its address, as loaders write
/// it (`module.m["k"].google_x.y` of `module.m["k"].google_x.y["i"]`), or built when not.
fn base_of(r: &Resource) -> std::borrow::Cow<'_, str> {
    let rest = r.address.as_str();
    let rest = if r.module.is_empty() {
        Some(rest)
    } else {
        rest.strip_prefix(r.module.as_str())
            .and_then(|x| x.strip_prefix('.'))
    };
    let rest = match r.mode {
        crate::inventory::Mode::Managed => rest,
        crate::inventory::Mode::Data => rest.and_then(|x| x.strip_prefix("data.")),
    };
    let rest = rest
        .and_then(|x| x.strip_prefix(r.rtype.as_str()))
        .and_then(|x| x.strip_prefix('.'))
        .and_then(|x| x.strip_prefix(r.name.as_str()));
    match rest {
        Some(key) if key.is_empty() || key.starts_with('[') => {
            std::borrow::Cow::Borrowed(&r.address[..r.address.len() - key.len()])
        }
        _ => std::borrow::Cow::Owned(r.base_address()),
    }
}

/// The last path segment of a resource id or self link (`projects/p/.../connectors/c` → `c`).
pub fn last_segment(s: &str) -> &str {
    s.rsplit('/').next().unwrap_or(s)
}

impl<'i> ResourceGraph<'i> {
    pub fn build(inventory: &'i Inventory) -> Self {
        let mut graph =
            DiGraph::with_capacity(inventory.resources.len(), inventory.resources.len());
        let nodes: Vec<NodeIndex> = (0..inventory.resources.len())
            .map(|i| graph.add_node(i))
            .collect();
        let mut g = ResourceGraph {
            inventory,
            graph,
            nodes,
            by_address: HashMap::new(),
            by_base: HashMap::new(),
            sa_by_email: HashMap::new(),
            secret_by_id: HashMap::new(),
            connector_by_name: HashMap::new(),
            sql_by_connection: HashMap::new(),
            service_by_name: HashMap::new(),
            neg_by_name: HashMap::new(),
            backend_by_name: HashMap::new(),
            url_map_by_name: HashMap::new(),
            proxy_by_name: HashMap::new(),
            cert_by_name: HashMap::new(),
        };
        g.index();
        g.add_reference_edges();
        g.add_value_edges();
        g
    }

    fn index(&mut self) {
        for (i, r) in self.inventory.resources.iter().enumerate() {
            self.by_address.insert(r.address.as_str(), i);
            let base = base_of(r);
            debug_assert_eq!(base, r.base_address());
            self.by_base.entry(base).or_default().push(i);
            let v = &r.values;
            let name = str_at(v, "name");
            match r.rtype.as_str() {
                "google_service_account" => {
                    if let Some(email) = str_at(v, "email") {
                        self.sa_by_email.insert(email.to_ascii_lowercase(), i);
                    } else if let (Some(id), Some(project)) =
                        (str_at(v, "account_id"), str_at(v, "project"))
                    {
                        // The provider derives the email this way when the plan does not know it.
                        self.sa_by_email
                            .insert(format!("{id}@{project}.iam.gserviceaccount.com"), i);
                    }
                }
                "google_secret_manager_secret" => {
                    for key in [str_at(v, "secret_id"), str_at(v, "id"), str_at(v, "name")]
                        .into_iter()
                        .flatten()
                    {
                        self.secret_by_id
                            .entry(last_segment(key).to_string())
                            .or_default()
                            .push(i);
                    }
                }
                "google_vpc_access_connector" => {
                    if let Some(n) = &name {
                        self.connector_by_name
                            .entry(last_segment(n).to_string())
                            .or_default()
                            .push(i);
                    }
                }
                "google_sql_database_instance" => {
                    if let Some(c) = str_at(v, "connection_name") {
                        self.sql_by_connection.insert(c.to_string(), i);
                    }
                    if let (Some(p), Some(reg), Some(n)) =
                        (str_at(v, "project"), str_at(v, "region"), name)
                    {
                        self.sql_by_connection.insert(format!("{p}:{reg}:{n}"), i);
                    }
                }
                t if is_run_type(t) => {
                    if let Some(n) = &name {
                        self.service_by_name
                            .entry(last_segment(n).to_string())
                            .or_default()
                            .push(i);
                    }
                }
                "google_compute_region_network_endpoint_group" => {
                    if let Some(n) = &name {
                        self.neg_by_name.entry(n.to_string()).or_default().push(i);
                    }
                }
                "google_compute_backend_service" => {
                    if let Some(n) = &name {
                        self.backend_by_name
                            .entry(n.to_string())
                            .or_default()
                            .push(i);
                    }
                }
                "google_compute_url_map" => {
                    if let Some(n) = &name {
                        self.url_map_by_name
                            .entry(n.to_string())
                            .or_default()
                            .push(i);
                    }
                }
                "google_compute_target_https_proxy" => {
                    if let Some(n) = &name {
                        self.proxy_by_name.entry(n.to_string()).or_default().push(i);
                    }
                }
                "google_compute_managed_ssl_certificate" => {
                    if let Some(n) = &name {
                        self.cert_by_name.entry(n.to_string()).or_default().push(i);
                    }
                }
                _ => {}
            }
        }
    }

    fn add_edge(&mut self, from: usize, to: usize, kind: EdgeKind) {
        if from == to {
            return;
        }
        let (a, b) = (self.nodes[from], self.nodes[to]);
        if !self
            .graph
            .edges_connecting(a, b)
            .any(|e| *e.weight() == kind)
        {
            self.graph.add_edge(a, b, kind);
        }
    }

    fn add_reference_edges(&mut self) {
        let inv = self.inventory;
        // Instances of a resource (`for_each`, or a module's) share one configuration: its
        // distinct references that may name a resource are listed once per configuration.
        let mut listed: HashMap<*const crate::inventory::ConfigBody, Vec<&'i str>> = HashMap::new();
        for (i, r) in inv.resources.iter().enumerate() {
            let Some(config) = &r.config else { continue };
            let references = listed
                .entry(std::sync::Arc::as_ptr(config))
                .or_insert_with(|| {
                    // A configuration names the same thing many times (`var.project` in each
                    // block), and mostly things that are not resources.
                    let distinct: BTreeSet<&str> = config
                        .all_references()
                        .filter(|r| may_name_resource(r))
                        .collect();
                    distinct.into_iter().collect()
                });
            let mut targets: Vec<usize> = references
                .iter()
                .flat_map(|reference| self.resolve_reference(r, reference))
                .collect();
            targets.sort_unstable();
            targets.dedup();
            for t in targets {
                self.add_edge(i, t, EdgeKind::Reference);
            }
        }
    }

    /// The resources an (absolute) reference names. A reference without an instance key to a
    /// resource with several instances names the one whose key matches the referrer's own
    /// (the `each.key` pattern), or nothing when that is ambiguous.
    pub fn resolve_reference(&self, from: &Resource, reference: &str) -> Vec<usize> {
        let reference = from.reference(reference);
        let Some((base, key)) = reference_base(&reference) else {
            return Vec::new();
        };
        let Some(candidates) = self.by_base.get(base) else {
            return Vec::new();
        };
        let inv = self.inventory;
        if let Some(key) = key {
            return candidates
                .iter()
                .copied()
                .filter(|&c| inv.resources[c].index.as_ref() == Some(&key))
                .collect();
        }
        if candidates.len() == 1 {
            return candidates.clone();
        }
        let own_key = from.index.clone().or_else(|| module_key(&from.module));
        match own_key {
            Some(k) => candidates
                .iter()
                .copied()
                .filter(|&c| inv.resources[c].index.as_ref() == Some(&k))
                .collect(),
            None => Vec::new(),
        }
    }

    fn add_value_edges(&mut self) {
        let inv = self.inventory;
        let mut edges: Vec<(usize, usize, EdgeKind)> = Vec::new();
        for (i, r) in inv.resources.iter().enumerate() {
            let v = &r.values;
            match r.rtype.as_str() {
                t if is_run_type(t) => {
                    for email in crate::model::cloud_run::service_account_values(r) {
                        if let Some(&sa) = self.sa_by_email.get(&email.to_ascii_lowercase()) {
                            edges.push((i, sa, EdgeKind::RunsAs));
                        }
                    }
                    for secret in crate::model::cloud_run::secret_values(r) {
                        for &s in self
                            .secret_by_id
                            .get(last_segment(&secret))
                            .into_iter()
                            .flatten()
                        {
                            edges.push((i, s, EdgeKind::ReadsSecret));
                        }
                    }
                    for conn in crate::model::cloud_run::connector_values(r) {
                        for &c in self
                            .connector_by_name
                            .get(last_segment(&conn))
                            .into_iter()
                            .flatten()
                        {
                            edges.push((i, c, EdgeKind::UsesConnector));
                        }
                    }
                    for sql in crate::model::cloud_run::cloud_sql_values(r) {
                        if let Some(&s) = self.sql_by_connection.get(&sql) {
                            edges.push((i, s, EdgeKind::AttachesSql));
                        }
                    }
                }
                t if t.starts_with("google_cloud_run") && t.contains("_iam_") => {
                    let target = str_at(v, "name").or_else(|| str_at(v, "service"));
                    if let Some(name) = target {
                        for &s in self
                            .service_by_name
                            .get(last_segment(name))
                            .into_iter()
                            .flatten()
                        {
                            if same_place(&inv.resources[s], r) {
                                edges.push((i, s, EdgeKind::GrantsOn));
                            }
                        }
                    }
                    self.member_edges(i, v, &mut edges);
                }
                "google_project_iam_member" | "google_project_iam_binding" => {
                    self.member_edges(i, v, &mut edges);
                }
                "google_secret_manager_secret_iam_member"
                | "google_secret_manager_secret_iam_binding" => {
                    if let Some(id) = str_at(v, "secret_id") {
                        for &s in self
                            .secret_by_id
                            .get(last_segment(id))
                            .into_iter()
                            .flatten()
                        {
                            edges.push((i, s, EdgeKind::GrantsOn));
                        }
                    }
                    self.member_edges(i, v, &mut edges);
                }
                "google_cloud_run_domain_mapping" => {
                    if let Some(route) = str_at(v, "spec.route_name") {
                        for &s in self
                            .service_by_name
                            .get(last_segment(route))
                            .into_iter()
                            .flatten()
                        {
                            edges.push((i, s, EdgeKind::RoutesTo));
                        }
                    }
                }
                "google_compute_region_network_endpoint_group" => {
                    if let Some(svc) = str_at(v, "cloud_run.service") {
                        for &s in self.service_by_name.get(svc).into_iter().flatten() {
                            edges.push((i, s, EdgeKind::RoutesTo));
                        }
                    }
                }
                "google_compute_backend_service" => {
                    for b in v.get("backend").map(Value::as_list).unwrap_or_default() {
                        if let Some(group) = b.get("group").and_then(Value::as_str) {
                            for &n in self
                                .neg_by_name
                                .get(last_segment(group))
                                .into_iter()
                                .flatten()
                            {
                                edges.push((i, n, EdgeKind::Uses));
                            }
                        }
                    }
                }
                "google_compute_url_map" => {
                    for link in url_map_service_links(v) {
                        for &b in self
                            .backend_by_name
                            .get(last_segment(&link))
                            .into_iter()
                            .flatten()
                        {
                            edges.push((i, b, EdgeKind::Uses));
                        }
                    }
                }
                "google_compute_target_https_proxy" => {
                    if let Some(m) = str_at(v, "url_map") {
                        for &u in self
                            .url_map_by_name
                            .get(last_segment(m))
                            .into_iter()
                            .flatten()
                        {
                            edges.push((i, u, EdgeKind::Uses));
                        }
                    }
                    for c in v
                        .get("ssl_certificates")
                        .map(Value::as_list)
                        .unwrap_or_default()
                    {
                        if let Some(c) = c.as_str() {
                            for &cert in
                                self.cert_by_name.get(last_segment(c)).into_iter().flatten()
                            {
                                edges.push((i, cert, EdgeKind::Uses));
                            }
                        }
                    }
                }
                "google_compute_global_forwarding_rule" => {
                    if let Some(t) = str_at(v, "target") {
                        for &p in self
                            .proxy_by_name
                            .get(last_segment(t))
                            .into_iter()
                            .flatten()
                        {
                            edges.push((i, p, EdgeKind::Uses));
                        }
                    }
                }
                _ => {}
            }
        }
        for (a, b, k) in edges {
            self.add_edge(a, b, k);
        }
    }

    fn member_edges(&self, i: usize, v: &Value, edges: &mut Vec<(usize, usize, EdgeKind)>) {
        let mut members: Vec<&str> = Vec::new();
        if let Some(m) = str_at(v, "member") {
            members.push(m);
        }
        for m in v.get("members").map(Value::as_list).unwrap_or_default() {
            if let Some(m) = m.as_str() {
                members.push(m);
            }
        }
        for m in members {
            if let Some(email) = m.strip_prefix("serviceAccount:")
                && let Some(&sa) = self.sa_by_email.get(&email.to_ascii_lowercase())
            {
                edges.push((i, sa, EdgeKind::GrantsTo));
            }
        }
    }

    pub fn resource(&self, i: usize) -> &'i Resource {
        &self.inventory.resources[i]
    }

    pub fn index_of(&self, address: &str) -> Option<usize> {
        self.by_address.get(address).copied()
    }

    pub fn sa_by_email(&self, email: &str) -> Option<usize> {
        self.sa_by_email.get(&email.to_ascii_lowercase()).copied()
    }

    /// Resources with an edge from `i`, with the edge kind, sorted.
    pub fn outgoing(&self, i: usize) -> Vec<(usize, EdgeKind)> {
        self.neighbors(i, Direction::Outgoing)
    }

    /// Resources with an edge to `i`, with the edge kind, sorted.
    pub fn incoming(&self, i: usize) -> Vec<(usize, EdgeKind)> {
        self.neighbors(i, Direction::Incoming)
    }

    fn neighbors(&self, i: usize, dir: Direction) -> Vec<(usize, EdgeKind)> {
        let mut out: Vec<(usize, EdgeKind)> = self
            .graph
            .edges_directed(self.nodes[i], dir)
            .map(|e| {
                let other = match dir {
                    Direction::Outgoing => e.target(),
                    Direction::Incoming => e.source(),
                };
                (self.graph[other], *e.weight())
            })
            .collect();
        out.sort();
        out.dedup();
        out
    }

    /// Resources of type `rtype` linked to `i` in either direction by any edge.
    pub fn linked_of_type(&self, i: usize, rtype: &str) -> Vec<usize> {
        let mut out: Vec<usize> = self
            .outgoing(i)
            .into_iter()
            .chain(self.incoming(i))
            .map(|(n, _)| n)
            .filter(|&n| self.inventory.resources[n].rtype == rtype)
            .collect();
        out.sort();
        out.dedup();
        out
    }

    pub fn edge_count(&self) -> usize {
        self.graph.edge_count()
    }
}

/// Whether an IAM resource and a service are in the same project and location, as far as
/// the values say (unknown or unset counts as a match).
fn same_place(service: &Resource, iam: &Resource) -> bool {
    let agree = |a: Option<&str>, b: Option<&str>| match (a, b) {
        (Some(a), Some(b)) => a == b,
        _ => true,
    };
    agree(
        str_at(&service.values, "project"),
        str_at(&iam.values, "project"),
    ) && agree(
        str_at(&service.values, "location"),
        str_at(&iam.values, "location"),
    )
}

/// Backend service links in a URL map: the default service, path matchers' defaults, path
/// rules and route rules.
pub fn url_map_service_links(v: &Value) -> Vec<String> {
    let mut out = Vec::new();
    if let Some(s) = v.get("default_service").and_then(Value::as_str) {
        out.push(s.to_string());
    }
    for pm in v
        .get("path_matcher")
        .map(Value::as_list)
        .unwrap_or_default()
    {
        if let Some(s) = pm.get("default_service").and_then(Value::as_str) {
            out.push(s.to_string());
        }
        for rule in ["path_rule", "route_rules"] {
            for pr in pm.get(rule).map(Value::as_list).unwrap_or_default() {
                if let Some(s) = pr.get("service").and_then(Value::as_str) {
                    out.push(s.to_string());
                }
            }
        }
    }
    out
}

/// The key of the innermost module instance in a module path (`module.svc["a"]` → `"a"`).
fn module_key(module: &str) -> Option<InstanceKey> {
    let (_, key) = crate::load::config::split_module_path(module).pop()?;
    parse_key(&key)
}

fn parse_key(bracketed: &str) -> Option<InstanceKey> {
    let inner = bracketed.strip_prefix('[')?.strip_suffix(']')?;
    if let Ok(i) = inner.parse::<i64>() {
        return Some(InstanceKey::Int(i));
    }
    serde_json::from_str::<String>(inner)
        .ok()
        .map(InstanceKey::Str)
}

/// Splits a reference into the base address of the resource it names and its instance key.
/// `module.m["a"].google_x.y["k"].email` → (`module.m["a"].google_x.y`, Some("k")).
/// Returns None for references that do not name a resource (`var.x`, `local.y`, `each.key`).
/// Whether a reference, absolute or relative (`1^google_x.y`, see [`Resource::reference`]),
/// may name a resource: not `var.`, `local.`, `each.` and the like, which
/// [`reference_target`] would parse only to refuse.
fn may_name_resource(reference: &str) -> bool {
    let rest = match reference.split_once('^') {
        Some((up, relative)) if up.parse::<usize>().is_ok() => relative,
        _ => reference,
    };
    let root = rest.split(['.', '[']).next().unwrap_or(rest);
    root == "module" || root == "data" || (root.contains('_') && root != "self")
}

pub fn reference_target(reference: &str) -> Option<(String, Option<InstanceKey>)> {
    reference_base(reference).map(|(base, key)| (base.to_string(), key))
}

/// [`reference_target`] with the base as a slice of the reference, which holds it whole.
fn reference_base(reference: &str) -> Option<(&str, Option<InstanceKey>)> {
    let mut rest = reference;
    while let Some(after) = rest.strip_prefix("module.") {
        let name_end = after.find(['[', '.'])?;
        let mut tail = &after[name_end..];
        if tail.starts_with('[') {
            let close = closing_bracket(tail)?;
            tail = &tail[close + 1..];
        }
        // What follows is a nested module, a resource (`type.name`), or a module output
        // (`out`), which names no resource.
        let next = tail.strip_prefix('.')?;
        if !next.contains('.') {
            return None;
        }
        rest = next;
    }
    let rest = rest.strip_prefix("data.").unwrap_or(rest);
    let (rtype, tail) = rest.split_once('.')?;
    if !rtype.contains('_')
        || ["var", "local", "each", "count", "path", "terraform", "self"].contains(&rtype)
    {
        return None;
    }
    let name_end = tail.find(['[', '.']).unwrap_or(tail.len());
    let after_name = &tail[name_end..];
    let key = if after_name.starts_with('[') {
        closing_bracket(after_name).and_then(|c| parse_key(&after_name[..=c]))
    } else {
        None
    };
    // Module steps, `data.`, type and name are written one after the other: the base is
    // the reference up to the end of the name.
    Some((&reference[..reference.len() - after_name.len()], key))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn references_that_cannot_name_a_resource_are_passed_over() {
        for r in [
            "google_service_account.sa.email",
            "1^google_service_account.sa[0].email",
            "module.m[\"a\"].google_x.y",
            "2^module.m.out",
            "data.google_project.p.number",
        ] {
            assert!(may_name_resource(r), "{r}");
        }
        for r in [
            "var.x",
            "1^var.x",
            "local.services",
            "each.value.image",
            "count.index",
            "self.id",
        ] {
            assert!(!may_name_resource(r), "{r}");
            assert_eq!(
                reference_target(r.split_once('^').map_or(r, |(_, r)| r)),
                None
            );
        }
    }

    #[test]
    fn reference_targets() {
        assert_eq!(
            reference_target("google_service_account.cr[\"api\"].email"),
            Some((
                "google_service_account.cr".to_string(),
                Some(InstanceKey::Str("api".into()))
            ))
        );
        assert_eq!(
            reference_target("module.m[\"a\"].google_x.y"),
            Some(("module.m[\"a\"].google_x.y".to_string(), None))
        );
        assert_eq!(
            reference_target("google_x.y[0]"),
            Some(("google_x.y".to_string(), Some(InstanceKey::Int(0))))
        );
        assert_eq!(reference_target("var.x"), None);
        assert_eq!(reference_target("module.m.output_name"), None);
        assert_eq!(reference_target("each.key"), None);
        assert_eq!(
            reference_target("data.google_project.p.number"),
            Some(("data.google_project.p".to_string(), None))
        );
    }
}
