//! `google_cloud_run_service` (Cloud Run Admin API v1, the Knative shape): ingress, scaling
//! and VPC access live in annotations.

use super::cloud_run::{
    V1, annotation, cloud_sql, connector_path, containers, domain_field, exposure, runtime_sa,
};
use super::{Egress, Field, Ingress, Read, Scaling, Scope, Service, ServiceKind, VpcAccess};
use crate::graph::ResourceGraph;
use crate::value::Value;

const INGRESS: &str = "run.googleapis.com/ingress";
const MIN_SCALE: &str = "autoscaling.knative.dev/minScale";
const MAX_SCALE: &str = "autoscaling.knative.dev/maxScale";
const CONNECTOR: &str = "run.googleapis.com/vpc-access-connector";
const EGRESS: &str = "run.googleapis.com/vpc-access-egress";
const NETWORK_INTERFACES: &str = "run.googleapis.com/network-interfaces";

/// An annotation parsed into a field; `default` when absent.
fn annotated<T>(
    scope: &Scope<'_>,
    block: &str,
    key: &str,
    parse: impl Fn(&str) -> Option<T>,
    default: T,
) -> Field<T> {
    let attribute = format!("{block}.annotations[\"{key}\"]");
    let span = scope.span(&format!("{block}.annotations"));
    match annotation(scope, block, key) {
        Read::Set(Value::String(s)) => match parse(s) {
            Some(v) => Field::set(v, attribute, span),
            None => Field::unknown(attribute, span),
        },
        Read::NotWritten | Read::Set(_) => Field::default(default, attribute, span),
        _ => Field::unknown(attribute, span),
    }
}

pub fn service(graph: &ResourceGraph<'_>, i: usize) -> Option<Service> {
    let r = graph.resource(i);
    let scope = Scope::of(r);
    let name = match scope.read("name") {
        Read::Set(Value::String(n)) => n.clone(),
        _ => format!("{} (name known after apply)", r.address),
    };
    // The API adds `ingress: all` when unset; absent and `all` are the same.
    let ingress = annotated(&scope, "metadata", INGRESS, Ingress::parse, Ingress::All);
    let to_u64 = |s: &str| s.trim().parse::<u64>().ok();
    let scaling = Scaling {
        min_instances: annotated(&scope, "template.metadata", MIN_SCALE, to_u64, 0),
        max_instances: annotated(&scope, "template.metadata", MAX_SCALE, to_u64, 100),
    };
    let (project, region) = (
        scope.read("project").as_string(),
        scope.read("location").as_string(),
    );
    let connector = annotated(
        &scope,
        "template.metadata",
        CONNECTOR,
        |s| {
            Some(Some(connector_path(
                s,
                project.as_deref(),
                region.as_deref(),
            )))
        },
        None,
    );
    let egress = annotated(
        &scope,
        "template.metadata",
        EGRESS,
        Egress::parse,
        Egress::PrivateRangesOnly,
    );
    let direct_vpc = annotated(
        &scope,
        "template.metadata",
        NETWORK_INTERFACES,
        |s| {
            let parsed: serde_json::Value = serde_json::from_str(s).ok()?;
            let first = parsed.as_array()?.first()?.clone();
            let net = first
                .get("subnetwork")
                .or_else(|| first.get("network"))
                .and_then(|n| n.as_str())
                .unwrap_or("(network)")
                .to_string();
            Some(Some(net))
        },
        None,
    );
    let invokers = super::iam::invokers(graph, i);
    let (domains, behind_lb) = domain_field(graph, i);
    let exposure = exposure(&ingress, &invokers, &domains, behind_lb);
    Some(Service {
        name,
        project,
        region,
        kind: ServiceKind::RunV1Service,
        address: r.address.clone(),
        action: r.action,
        span: r.span.clone(),
        ingress: Some(ingress),
        service_account: runtime_sa(graph, &scope, V1.service_account),
        containers: containers(&scope, &V1),
        scaling: Some(scaling),
        vpc_access: VpcAccess {
            connector,
            connector_address: graph
                .linked_of_type(i, "google_vpc_access_connector")
                .first()
                .map(|&c| graph.resource(c).address.clone()),
            egress,
            direct_vpc,
        },
        cloud_sql: cloud_sql(&scope, &r.rtype, Some(graph)),
        cloud_sql_addresses: graph
            .linked_of_type(i, "google_sql_database_instance")
            .iter()
            .map(|&s| graph.resource(s).address.clone())
            .collect(),
        domains,
        invokers,
        exposure: Some(exposure),
        secret_addresses: graph
            .linked_of_type(i, "google_secret_manager_secret")
            .iter()
            .map(|&s| graph.resource(s).address.clone())
            .collect(),
    })
}
