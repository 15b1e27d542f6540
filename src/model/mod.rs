//! The normalised service model: what each Cloud Run service or job of an environment is,
//! whatever resource kind (v1, v2) and input format it came from. One adapter per resource
//! family turns inventory resources (via the graph) into [`Service`]s.

pub mod cloud_run;
pub mod cloud_run_v1;
pub mod cloud_run_v2;
pub mod domains;
pub mod iam;
pub mod names;
pub mod quantity;
pub mod secrets;

use serde::Serialize;

use crate::graph::ResourceGraph;
use crate::inventory::{Action, ConfigBody, Inventory, Resource, Span};
use crate::value::{Lookup, Value};

/// How an attribute stands: written (or known from state), left to the API default, or not
/// known before apply.
#[derive(Clone, Debug, PartialEq, Serialize)]
#[serde(tag = "source", content = "value", rename_all = "snake_case")]
pub enum Setting<T> {
    Set(T),
    Default(T),
    Unknown,
}

/// One attribute of the model with where it comes from, for evidence.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct Field<T> {
    #[serde(flatten)]
    pub setting: Setting<T>,
    /// The attribute path in the resource (`template.service_account`).
    pub attribute: String,
    #[serde(skip)]
    pub span: Option<Span>,
}

impl<T> Field<T> {
    pub fn set(value: T, attribute: impl Into<String>, span: Option<Span>) -> Self {
        Field {
            setting: Setting::Set(value),
            attribute: attribute.into(),
            span,
        }
    }

    pub fn default(value: T, attribute: impl Into<String>, span: Option<Span>) -> Self {
        Field {
            setting: Setting::Default(value),
            attribute: attribute.into(),
            span,
        }
    }

    pub fn unknown(attribute: impl Into<String>, span: Option<Span>) -> Self {
        Field {
            setting: Setting::Unknown,
            attribute: attribute.into(),
            span,
        }
    }

    /// The value, written or defaulted; None when unknown.
    pub fn known(&self) -> Option<&T> {
        match &self.setting {
            Setting::Set(v) | Setting::Default(v) => Some(v),
            Setting::Unknown => None,
        }
    }

    pub fn is_unknown(&self) -> bool {
        matches!(self.setting, Setting::Unknown)
    }

    pub fn is_default(&self) -> bool {
        matches!(self.setting, Setting::Default(_))
    }

    pub fn map<U>(self, f: impl FnOnce(T) -> U) -> Field<U> {
        Field {
            setting: match self.setting {
                Setting::Set(v) => Setting::Set(f(v)),
                Setting::Default(v) => Setting::Default(f(v)),
                Setting::Unknown => Setting::Unknown,
            },
            attribute: self.attribute,
            span: self.span,
        }
    }
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize)]
pub enum ServiceKind {
    /// `google_cloud_run_service` (Admin API v1).
    #[serde(rename = "cloud_run_v1_service")]
    RunV1Service,
    /// `google_cloud_run_v2_service`.
    #[serde(rename = "cloud_run_v2_service")]
    RunV2Service,
    /// `google_cloud_run_v2_job`.
    #[serde(rename = "cloud_run_v2_job")]
    RunV2Job,
}

impl ServiceKind {
    pub fn as_str(self) -> &'static str {
        match self {
            ServiceKind::RunV1Service => "cloud_run_v1_service",
            ServiceKind::RunV2Service => "cloud_run_v2_service",
            ServiceKind::RunV2Job => "cloud_run_v2_job",
        }
    }
}

/// Ingress in the v1 (gcloud) vocabulary; v2 enums map onto it.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize)]
pub enum Ingress {
    #[serde(rename = "all")]
    All,
    #[serde(rename = "internal")]
    Internal,
    #[serde(rename = "internal-and-cloud-load-balancing")]
    InternalAndCloudLoadBalancing,
}

impl Ingress {
    pub fn as_str(self) -> &'static str {
        match self {
            Ingress::All => "all",
            Ingress::Internal => "internal",
            Ingress::InternalAndCloudLoadBalancing => "internal-and-cloud-load-balancing",
        }
    }

    /// Parses either vocabulary: `all` / `INGRESS_TRAFFIC_ALL` and so on.
    pub fn parse(s: &str) -> Option<Ingress> {
        match s.trim() {
            "all" | "INGRESS_TRAFFIC_ALL" => Some(Ingress::All),
            "internal" | "INGRESS_TRAFFIC_INTERNAL_ONLY" => Some(Ingress::Internal),
            "internal-and-cloud-load-balancing" | "INGRESS_TRAFFIC_INTERNAL_LOAD_BALANCER" => {
                Some(Ingress::InternalAndCloudLoadBalancing)
            }
            _ => None,
        }
    }
}

/// Who a service runs as.
#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord, Serialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum RuntimeSa {
    /// A user-managed service account.
    Dedicated {
        /// Its email, when known.
        email: Option<String>,
        /// The `google_service_account` resource, when the environment declares it.
        account: Option<String>,
    },
    /// The Compute Engine default service account (Editor on the project by default).
    DefaultCompute { email: Option<String> },
    /// The App Engine default service account (also Editor by default).
    DefaultAppEngine { email: Option<String> },
}

impl RuntimeSa {
    pub fn is_default(&self) -> bool {
        !matches!(self, RuntimeSa::Dedicated { .. })
    }

    pub fn describe(&self) -> String {
        match self {
            RuntimeSa::Dedicated { email: Some(e), .. } => e.clone(),
            RuntimeSa::Dedicated {
                email: None,
                account: Some(a),
            } => format!("{a} (email known after apply)"),
            RuntimeSa::Dedicated { .. } => "a dedicated service account".into(),
            RuntimeSa::DefaultCompute { email: Some(e) } => {
                format!("{e} (default compute service account)")
            }
            RuntimeSa::DefaultCompute { email: None } => {
                "the default compute service account".into()
            }
            RuntimeSa::DefaultAppEngine { email: Some(e) } => {
                format!("{e} (App Engine default service account)")
            }
            RuntimeSa::DefaultAppEngine { email: None } => {
                "the App Engine default service account".into()
            }
        }
    }

    pub fn email(&self) -> Option<&str> {
        match self {
            RuntimeSa::Dedicated { email, .. }
            | RuntimeSa::DefaultCompute { email }
            | RuntimeSa::DefaultAppEngine { email } => email.as_deref(),
        }
    }
}

/// One environment variable: its key and what kind of value it has. Literal values are never
/// kept, only whether they look like a secret.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum EnvValue {
    /// A literal value.
    Literal {
        /// The literal looks like a credential (or was marked sensitive).
        looks_like_secret: bool,
    },
    /// A Secret Manager reference.
    Secret {
        /// The secret's id (`projects/P/secrets/` stripped).
        secret: Option<String>,
        /// `latest`, a number, or None when not written (Cloud Run then reads `latest`).
        version: Option<String>,
    },
    /// Whether it is a literal or a secret is not known before apply.
    Unknown,
}

#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct EnvVar {
    #[serde(flatten)]
    pub value: EnvValue,
}

/// A container's env vars by key, in key order. A sorted vector with inline keys rather than
/// a B-tree of strings: a service's dozen or so vars in a B-tree took 240 bytes each, a third
/// of the model of a large plan.
pub type EnvVars = crate::value::Map<EnvVar>;

#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct Container {
    /// The container name, when written; single-container services often leave it out.
    pub name: Option<String>,
    pub image: Field<String>,
    /// Env vars by key (never by position).
    pub env: Field<EnvVars>,
    /// CPU limit in millicores.
    pub cpu: Field<u64>,
    /// Memory limit in bytes.
    pub memory: Field<u64>,
}

#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct Scaling {
    pub min_instances: Field<u64>,
    pub max_instances: Field<u64>,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum Egress {
    AllTraffic,
    PrivateRangesOnly,
}

impl Egress {
    pub fn as_str(self) -> &'static str {
        match self {
            Egress::AllTraffic => "all-traffic",
            Egress::PrivateRangesOnly => "private-ranges-only",
        }
    }

    pub fn parse(s: &str) -> Option<Egress> {
        match s.trim() {
            "ALL_TRAFFIC" | "all-traffic" | "all" => Some(Egress::AllTraffic),
            "PRIVATE_RANGES_ONLY" | "private-ranges-only" => Some(Egress::PrivateRangesOnly),
            _ => None,
        }
    }
}

#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct VpcAccess {
    /// The Serverless VPC Access connector (its full path or name), None when there is none.
    pub connector: Field<Option<String>>,
    /// The connector resource in this environment, when it is declared here.
    pub connector_address: Option<String>,
    pub egress: Field<Egress>,
    /// Direct VPC egress: the network (or subnetwork) of the first network interface.
    pub direct_vpc: Field<Option<String>>,
}

#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum DomainVia {
    /// A `google_cloud_run_domain_mapping`.
    DomainMapping,
    /// An HTTPS load balancer reaching the service through a serverless NEG.
    LoadBalancer,
}

#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord, Serialize)]
pub struct Domain {
    pub host: String,
    pub via: DomainVia,
    /// The domain mapping or URL map that routes the host.
    pub address: String,
}

/// Who may call the service, from IAM on it.
#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord, Serialize)]
pub struct Invoker {
    pub member: String,
    pub address: String,
}

/// What ingress, invoker IAM and load balancers give together.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Exposure {
    /// Anyone on the internet can call its own URL.
    Public,
    /// Reachable from the internet only through a load balancer.
    LoadBalancer,
    /// Its URL is reachable but callers need IAM permission.
    Authenticated,
    /// Reachable only from inside the VPC / project.
    Internal,
}

impl Exposure {
    pub fn as_str(self) -> &'static str {
        match self {
            Exposure::Public => "public",
            Exposure::LoadBalancer => "load_balancer",
            Exposure::Authenticated => "authenticated",
            Exposure::Internal => "internal",
        }
    }

    pub fn parse(s: &str) -> Option<Exposure> {
        match s {
            "public" => Some(Exposure::Public),
            "load_balancer" => Some(Exposure::LoadBalancer),
            "authenticated" => Some(Exposure::Authenticated),
            "internal" => Some(Exposure::Internal),
            _ => None,
        }
    }

    pub const NAMES: [&'static str; 4] = ["public", "load_balancer", "authenticated", "internal"];
}

#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct Service {
    pub name: String,
    pub project: Option<String>,
    pub region: Option<String>,
    pub kind: ServiceKind,
    pub address: String,
    pub action: Action,
    #[serde(skip)]
    pub span: Option<Span>,
    /// None for jobs, which have no ingress.
    pub ingress: Option<Field<Ingress>>,
    pub service_account: Field<RuntimeSa>,
    pub containers: Vec<Container>,
    /// None for jobs.
    pub scaling: Option<Scaling>,
    pub vpc_access: VpcAccess,
    /// Cloud SQL connection names (`project:region:instance`).
    pub cloud_sql: Field<Vec<String>>,
    /// The `google_sql_database_instance` resources attached, when declared here.
    pub cloud_sql_addresses: Vec<String>,
    pub domains: Field<Vec<Domain>>,
    pub invokers: Field<Vec<Invoker>>,
    /// None for jobs.
    pub exposure: Option<Field<Exposure>>,
    /// Secret resources (`google_secret_manager_secret`) the service reads, by address.
    pub secret_addresses: Vec<String>,
}

impl Service {
    /// Where a finding about an attribute of this service points.
    pub fn location(&self) -> Option<&Span> {
        self.span.as_ref()
    }
}

/// One environment's model: its services and what the loader noted.
#[derive(Clone, Debug, Serialize)]
pub struct EnvModel {
    pub name: String,
    pub services: Vec<Service>,
    /// Projects the environment's resources live in (for normalising names).
    pub projects: Vec<String>,
    /// Project numbers seen (default service account emails), for normalising names.
    pub project_numbers: Vec<String>,
    pub notes: Vec<String>,
}

impl EnvModel {
    /// Project ids and numbers, the tokens name normalisation replaces with `{project}`.
    pub fn project_tokens(&self) -> Vec<String> {
        self.projects
            .iter()
            .chain(&self.project_numbers)
            .cloned()
            .collect()
    }

    pub fn service(&self, name: &str) -> Vec<&Service> {
        self.services.iter().filter(|s| s.name == name).collect()
    }
}

/// Builds the model of one environment from its inventory and graph.
pub fn build(env: &str, graph: &ResourceGraph<'_>) -> EnvModel {
    let inv: &Inventory = graph.inventory;
    let mut services = Vec::new();
    for (i, r) in inv.resources.iter().enumerate() {
        if r.mode != crate::inventory::Mode::Managed {
            continue;
        }
        let svc = match r.rtype.as_str() {
            "google_cloud_run_service" => cloud_run_v1::service(graph, i),
            "google_cloud_run_v2_service" => cloud_run_v2::service(graph, i),
            "google_cloud_run_v2_job" => cloud_run_v2::job(graph, i),
            _ => None,
        };
        if let Some(s) = svc {
            services.push(s);
        }
    }
    services.sort_by(|a, b| {
        (&a.name, &a.region, &a.project, &a.address)
            .cmp(&(&b.name, &b.region, &b.project, &b.address))
    });
    // Every resource names its project, and a large plan has tens of thousands of resources
    // in a few projects: each is copied once.
    let mut seen: std::collections::BTreeSet<&str> = services
        .iter()
        .filter_map(|s| s.project.as_deref())
        .collect();
    for r in &inv.resources {
        if let Lookup::Set(Value::String(p)) = r.values.at("project") {
            seen.insert(p);
        }
    }
    let projects: Vec<String> = seen.into_iter().map(str::to_string).collect();
    let mut project_numbers = Vec::new();
    // Project numbers show up in default service account emails and workload identity paths.
    for s in &services {
        if let Some(RuntimeSa::DefaultCompute { email: Some(e) }) = s.service_account.known()
            && let Some((number, _)) = e.split_once("-compute@")
        {
            project_numbers.push(number.to_string());
        }
    }
    project_numbers.sort();
    project_numbers.dedup();
    let mut notes: Vec<String> = inv
        .notes
        .iter()
        .map(|n| match &n.span {
            Some(s) => format!("{s}: {}", n.message),
            None => n.message.clone(),
        })
        .collect();
    notes.sort();
    EnvModel {
        name: env.to_string(),
        services,
        projects,
        project_numbers,
        notes,
    }
}

/// An attribute as read from values plus configuration.
#[derive(Clone, Copy, Debug, PartialEq)]
pub enum Read<'a> {
    Set(&'a Value),
    /// Not written in the configuration (or written as null): the API default applies.
    NotWritten,
    Unknown,
    Sensitive,
}

/// A resource's values together with the matching part of its configuration, so that an
/// attribute unknown in a plan can be told apart: not written (API default) or written with a
/// value known only after apply.
#[derive(Clone, Copy)]
pub struct Scope<'a> {
    pub values: &'a Value,
    pub config: Option<&'a ConfigBody>,
    pub resource: &'a Resource,
}

impl<'a> Scope<'a> {
    pub fn of(resource: &'a Resource) -> Self {
        Scope {
            values: &resource.values,
            config: resource.config.as_deref(),
            resource,
        }
    }

    /// Reads a dotted attribute path (blocks are followed through their first element).
    pub fn read(&self, dotted: &str) -> Read<'a> {
        match self.values.at(dotted) {
            Lookup::Set(v) => Read::Set(v),
            Lookup::Sensitive => Read::Sensitive,
            Lookup::Unset => Read::NotWritten,
            Lookup::Unknown => match self.config {
                Some(cfg) => match cfg.expr(dotted) {
                    Some(e) if e.constant == Some(Value::Null) => Read::NotWritten,
                    Some(_) => Read::Unknown,
                    None if cfg.shows(dotted) => Read::NotWritten,
                    None => Read::Unknown,
                },
                None => Read::Unknown,
            },
        }
    }

    /// Reads an attribute or block the provider never computes itself (Optional, not
    /// Computed: `env`, `volumes`, `vpc_access`). Unknown in the plan, it was written, even when
    /// the configuration does not show it: a `dynamic` block with an unknown `for_each` is left
    /// out of the plan's configuration.
    pub fn read_written(&self, dotted: &str) -> Read<'a> {
        match self.values.at(dotted) {
            Lookup::Unknown => Read::Unknown,
            _ => self.read(dotted),
        }
    }

    /// The scopes of each element of a list of blocks (`template.containers`), pairing value
    /// blocks with configuration blocks by position.
    pub fn blocks(&self, dotted: &str) -> Vec<Scope<'a>> {
        let list = match self.values.at(dotted) {
            Lookup::Set(Value::List(l)) => l.as_slice(),
            _ => &[],
        };
        let cfg_blocks: &[ConfigBody] = self.config.map_or(&[], |c| config_blocks(c, dotted));
        list.iter()
            .enumerate()
            .map(|(i, v)| Scope {
                values: v,
                // Configuration blocks line up with values only when counts agree (no dynamic).
                config: if cfg_blocks.len() == list.len() {
                    cfg_blocks.get(i)
                } else {
                    None
                },
                resource: self.resource,
            })
            .collect()
    }

    /// Where the attribute is written, or the resource.
    pub fn span(&self, dotted: &str) -> Option<Span> {
        self.config
            .and_then(|c| c.expr(dotted))
            .and_then(|e| e.span.clone())
            .or_else(|| self.config.and_then(|c| c.span.clone()))
            .or_else(|| self.resource.span.clone())
    }

    /// The references written for an attribute.
    pub fn references(&self, dotted: &str) -> &'a [String] {
        self.config
            .and_then(|c| c.expr(dotted))
            .map_or(&[], |e| e.references.as_slice())
    }
}

/// The declared resource an unknown value comes from, when the source kept its origin (the
/// static evaluator does: `google_sql_database_instance.main.connection_name`).
pub fn origin_resource(graph: &ResourceGraph<'_>, from: &Resource, origin: &str) -> Option<usize> {
    let (base, key) = crate::graph::reference_target(origin)?;
    let reference = match key {
        Some(k) => format!("{base}{k}"),
        None => base,
    };
    graph.resolve_reference(from, &reference).into_iter().next()
}

fn config_blocks<'c>(cfg: &'c ConfigBody, dotted: &str) -> &'c [ConfigBody] {
    let mut parts: Vec<&str> = dotted.split('.').collect();
    let Some(last) = parts.pop() else { return &[] };
    let mut body = cfg;
    for p in parts {
        match body.blocks.get(p).and_then(|b| b.first()) {
            Some(b) => body = b,
            None => return &[],
        }
    }
    body.blocks.get(last).map_or(&[], Vec::as_slice)
}
