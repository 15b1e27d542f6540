//! `google_cloud_run_v2_service` and `google_cloud_run_v2_job` (Cloud Run Admin API v2).

use super::cloud_run::{
    self, V2_JOB, V2_SERVICE, cloud_sql, containers, domain_field, exposure, number_field,
    parsed_field, runtime_sa,
};
use super::{Egress, Field, Ingress, Read, Scaling, Scope, Service, ServiceKind, VpcAccess};
use crate::graph::ResourceGraph;
use crate::value::Value;

pub fn service(graph: &ResourceGraph<'_>, i: usize) -> Option<Service> {
    build(graph, i, ServiceKind::RunV2Service)
}

pub fn job(graph: &ResourceGraph<'_>, i: usize) -> Option<Service> {
    build(graph, i, ServiceKind::RunV2Job)
}

fn build(graph: &ResourceGraph<'_>, i: usize, kind: ServiceKind) -> Option<Service> {
    let r = graph.resource(i);
    let scope = Scope::of(r);
    let name = match scope.read("name") {
        Read::Set(Value::String(n)) => n.clone(),
        _ => format!("{} (name known after apply)", r.address),
    };
    let is_job = kind == ServiceKind::RunV2Job;
    let (paths, tpl) = if is_job {
        (&V2_JOB, "template.template")
    } else {
        (&V2_SERVICE, "template")
    };
    let ingress = (!is_job).then(|| parsed_field(&scope, "ingress", Ingress::parse, Ingress::All));
    let scaling = (!is_job).then(|| Scaling {
        min_instances: match scope.read("template.scaling.min_instance_count") {
            Read::NotWritten => number_field(&scope, "scaling.min_instance_count", 0),
            _ => number_field(&scope, "template.scaling.min_instance_count", 0),
        },
        max_instances: number_field(&scope, "template.scaling.max_instance_count", 100),
    });
    let (project, region) = (
        scope.read("project").as_string(),
        scope.read("location").as_string(),
    );
    let connector_path = format!("{tpl}.vpc_access.connector");
    let connector = match scope.read_written(&connector_path) {
        Read::Set(Value::String(c)) => Field::set(
            Some(cloud_run::connector_path(
                c,
                project.as_deref(),
                region.as_deref(),
            )),
            &connector_path,
            scope.span(&connector_path),
        ),
        Read::NotWritten | Read::Set(_) => {
            // Written as a reference the plan cannot resolve yet, but to a connector declared
            // here: the connector is there even though its id is unknown.
            Field::default(None, &connector_path, scope.span(&connector_path))
        }
        Read::Unknown | Read::Sensitive => {
            let refs = scope.references(&connector_path);
            let from_origin = scope
                .values
                .origin_at(&connector_path)
                .and_then(|o| super::origin_resource(graph, r, o))
                .filter(|&t| graph.resource(t).rtype == "google_vpc_access_connector");
            let declared = from_origin.or_else(|| {
                refs.iter().find_map(|reference| {
                    graph
                        .resolve_reference(r, reference)
                        .into_iter()
                        .find(|&t| graph.resource(t).rtype == "google_vpc_access_connector")
                })
            });
            match declared {
                Some(t) => Field::set(
                    Some(connector_label(
                        graph,
                        t,
                        project.as_deref(),
                        region.as_deref(),
                    )),
                    &connector_path,
                    scope.span(&connector_path),
                ),
                None => Field::unknown(&connector_path, scope.span(&connector_path)),
            }
        }
    };
    let connector_address = graph
        .linked_of_type(i, "google_vpc_access_connector")
        .first()
        .map(|&c| graph.resource(c).address.clone());
    let egress_path = format!("{tpl}.vpc_access.egress");
    let egress = parsed_field(
        &scope,
        &egress_path,
        Egress::parse,
        Egress::PrivateRangesOnly,
    );
    let nic_path = format!("{tpl}.vpc_access.network_interfaces");
    let direct_vpc = match scope.read_written(&nic_path) {
        Read::Set(Value::List(l)) if !l.is_empty() => {
            let nic = &l[0];
            let net = nic
                .get("subnetwork")
                .and_then(Value::as_str)
                .or_else(|| nic.get("network").and_then(Value::as_str))
                .unwrap_or("(network known after apply)");
            Field::set(Some(net.to_string()), &nic_path, scope.span(&nic_path))
        }
        Read::Set(_) | Read::NotWritten => Field::default(None, &nic_path, scope.span(&nic_path)),
        _ => Field::unknown(&nic_path, scope.span(&nic_path)),
    };
    let cloud_sql = cloud_sql(&scope, &r.rtype, Some(graph));
    let cloud_sql_addresses = graph
        .linked_of_type(i, "google_sql_database_instance")
        .iter()
        .map(|&s| graph.resource(s).address.clone())
        .collect();
    let invokers = super::iam::invokers(graph, i);
    let (domains, behind_lb) = domain_field(graph, i);
    let exposure = ingress
        .as_ref()
        .map(|ing| exposure(ing, &invokers, &domains, behind_lb));
    let secret_addresses = graph
        .linked_of_type(i, "google_secret_manager_secret")
        .iter()
        .map(|&s| graph.resource(s).address.clone())
        .collect();
    Some(Service {
        name,
        project,
        region,
        kind,
        address: r.address.clone(),
        action: r.action,
        span: r.span.clone(),
        ingress,
        service_account: runtime_sa(graph, &scope, paths.service_account),
        containers: containers(&scope, paths),
        scaling,
        vpc_access: VpcAccess {
            connector,
            connector_address,
            egress,
            direct_vpc,
        },
        cloud_sql,
        cloud_sql_addresses,
        domains,
        invokers,
        exposure,
        secret_addresses,
    })
}

/// How a connector declared in the environment is named when its id is not known yet: the id
/// it will have (its project and region, or the service's), else its name or address.
pub fn connector_label(
    graph: &ResourceGraph<'_>,
    t: usize,
    project: Option<&str>,
    region: Option<&str>,
) -> String {
    let c = graph.resource(t);
    let text = |k: &str| c.values.get(k).and_then(Value::as_str);
    match text("name") {
        Some(n) => {
            cloud_run::connector_path(n, text("project").or(project), text("region").or(region))
        }
        None => c.address.clone(),
    }
}

impl Read<'_> {
    pub fn as_string(&self) -> Option<String> {
        match self {
            Read::Set(Value::String(s)) => Some(s.clone()),
            _ => None,
        }
    }
}
