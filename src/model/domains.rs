//! How users reach a service by name: Cloud Run domain mappings, or an HTTPS load balancer
//! whose URL map routes hosts to a backend service fronting a serverless NEG.

use std::collections::BTreeSet;

use super::{Domain, DomainVia, Field, Scope};
use crate::graph::{ResourceGraph, last_segment};
use crate::value::{Lookup, Value};

/// The domains routed to the service at `i`, and whether a load balancer fronts it.
pub fn domains_of(graph: &ResourceGraph<'_>, i: usize) -> (Field<Vec<Domain>>, bool) {
    let service = graph.resource(i);
    let span = service.span.clone();
    let mut out: BTreeSet<Domain> = BTreeSet::new();
    let mut unknown = false;

    for m in graph.linked_of_type(i, "google_cloud_run_domain_mapping") {
        let r = graph.resource(m);
        match r.values.at("name") {
            Lookup::Set(Value::String(host)) => {
                out.insert(Domain {
                    host: host.clone(),
                    via: DomainVia::DomainMapping,
                    address: r.address.clone(),
                });
            }
            _ => unknown = true,
        }
    }

    let negs = graph.linked_of_type(i, "google_compute_region_network_endpoint_group");
    let behind_lb = !negs.is_empty();
    for neg in negs {
        for backend in graph.linked_of_type(neg, "google_compute_backend_service") {
            for url_map in graph.linked_of_type(backend, "google_compute_url_map") {
                match hosts_for_backend(graph, url_map, backend) {
                    Some(hosts) => {
                        for host in hosts {
                            out.insert(Domain {
                                host,
                                via: DomainVia::LoadBalancer,
                                address: graph.resource(url_map).address.clone(),
                            });
                        }
                    }
                    None => unknown = true,
                }
            }
        }
    }

    let field = if unknown && out.is_empty() {
        Field::unknown("domains", span)
    } else {
        Field::set(out.into_iter().collect(), "domains", span)
    };
    (field, behind_lb)
}

/// Whether a URL map's link (a backend service id or self link, or the references written
/// for it) designates `backend`.
fn designates(
    graph: &ResourceGraph<'_>,
    url_map: usize,
    backend: usize,
    link: Option<&Value>,
    references: &[String],
) -> Option<bool> {
    let b = graph.resource(backend);
    match link {
        Some(Value::String(s)) => {
            let name = b.values.get("name").and_then(Value::as_str);
            Some(name == Some(last_segment(s)))
        }
        Some(Value::Unknown | Value::UnknownFrom(_)) | None if !references.is_empty() => {
            let from = graph.resource(url_map);
            Some(
                references
                    .iter()
                    .any(|r| graph.resolve_reference(from, r).contains(&backend)),
            )
        }
        Some(Value::Unknown | Value::UnknownFrom(_)) => None,
        _ => Some(false),
    }
}

/// The hosts a URL map routes to `backend`: host rules whose path matcher sends traffic there,
/// and, when it is the map's default service, the certificate domains no host rule claims.
/// None when the routing cannot be decided before apply.
fn hosts_for_backend(
    graph: &ResourceGraph<'_>,
    url_map: usize,
    backend: usize,
) -> Option<Vec<String>> {
    let um = graph.resource(url_map);
    let scope = Scope::of(um);
    let mut matchers: BTreeSet<String> = BTreeSet::new();
    let mut undecided = false;
    for pm in scope.blocks("path_matcher") {
        let name = pm.values.get("name").and_then(Value::as_str).unwrap_or("");
        let mut links: Vec<(Option<&Value>, &[String])> = vec![(
            pm.values.get("default_service"),
            pm.references("default_service"),
        )];
        for rule in pm.blocks("path_rule") {
            links.push((rule.values.get("service"), rule.references("service")));
        }
        for (link, refs) in links {
            match designates(graph, url_map, backend, link, refs) {
                Some(true) => {
                    matchers.insert(name.to_string());
                }
                Some(false) => {}
                None => undecided = true,
            }
        }
    }
    let mut hosts: BTreeSet<String> = BTreeSet::new();
    let mut claimed: BTreeSet<String> = BTreeSet::new();
    for hr in um
        .values
        .get("host_rule")
        .map(Value::as_list)
        .unwrap_or_default()
    {
        let pm = hr.get("path_matcher").and_then(Value::as_str).unwrap_or("");
        for h in hr.get("hosts").map(Value::as_list).unwrap_or_default() {
            if let Some(h) = h.as_str() {
                claimed.insert(h.to_string());
                if matchers.contains(pm) {
                    hosts.insert(h.to_string());
                }
            }
        }
    }
    let default = designates(
        graph,
        url_map,
        backend,
        um.values.get("default_service"),
        scope.references("default_service"),
    );
    match default {
        Some(true) => {
            for cert_domain in certificate_domains(graph, url_map) {
                if !claimed.contains(&cert_domain) {
                    hosts.insert(cert_domain);
                }
            }
        }
        Some(false) => {}
        None => undecided = true,
    }
    if undecided && hosts.is_empty() {
        return None;
    }
    Some(hosts.into_iter().collect())
}

/// Domains of the managed certificates on the HTTPS proxies that use a URL map.
fn certificate_domains(graph: &ResourceGraph<'_>, url_map: usize) -> Vec<String> {
    let mut out = Vec::new();
    for proxy in graph.linked_of_type(url_map, "google_compute_target_https_proxy") {
        for cert in graph.linked_of_type(proxy, "google_compute_managed_ssl_certificate") {
            let c = graph.resource(cert);
            for d in c.values.at("managed.domains").set_list() {
                if let Some(d) = d.as_str() {
                    out.push(d.trim_end_matches('.').to_string());
                }
            }
        }
    }
    out.sort();
    out.dedup();
    out
}

trait SetList<'a> {
    fn set_list(self) -> &'a [Value];
}

impl<'a> SetList<'a> for Lookup<'a> {
    fn set_list(self) -> &'a [Value] {
        match self {
            Lookup::Set(v) => v.as_list(),
            _ => &[],
        }
    }
}
