//! Test kit for the checks: small environments written as the situation they describe,
//! rendered to plan JSON the way `terraform show -json` writes it (format 1.2: blocks as arrays
//! of objects, unknown attributes omitted from `after` and `true` in `after_unknown`, a
//! `configuration` section with constants and references), then run through the real
//! pipeline: load → graph → model → contract → roles → one check.
//!
//! ```ignore
//! let dev = Env::new("dev").service(Svc::v2("api-dev").ingress("INGRESS_TRAFFIC_ALL"));
//! let prod = Env::new("prod").service(Svc::v1("api-prod").ingress("internal"));
//! let found = Scenario::new([dev, prod]).contract(&contract("")).run(&ingress::CHECK);
//! assert_eq!(found.verdict(), Status::Fail, "{found}");
//! ```

use std::collections::BTreeSet;
use std::fmt;
use std::path::PathBuf;

use serde_json::{Map, Value as Json, json};

use super::{CheckDef, Ctx};
use crate::contract::{Contract, Date, EnvSpec};
use crate::finding::{Finding, Status};
use crate::graph::ResourceGraph;
use crate::model::EnvModel;

/// The date tests run on.
pub const TODAY: &str = "2026-11-29";

/// A contract with a `dev` and a `prod` environment whose services are named `{role}-dev` and
/// `{role}-prod`, followed by `rest`.
pub fn contract(rest: &str) -> String {
    format!(
        "environment \"dev\" {{}}\nenvironment \"prod\" {{}}\n{NAMING}\n{rest}",
        NAMING = NAMING
    )
}

/// The naming rule `contract` uses, for contracts that write their own environment blocks.
pub const NAMING: &str =
    "naming {\n  patterns = { dev = \"{role}-dev\", prod = \"{role}-prod\" }\n}\n";

// ---- How attributes appear in a plan --------------------------------------------------------

/// One attribute (or block list) of a resource, as the plan shows it.
#[derive(Clone, Debug)]
pub enum Node {
    /// Written as a constant (`constant_value` in the configuration).
    Lit(Json),
    /// Written as a reference; its value is known (`Some`) or known only after apply (`None`).
    Ref(Vec<String>, Option<Json>),
    /// Not written: the provider or API fills it (`Some`: the value it has, from state;
    /// `None`: known after apply, as on create).
    Computed(Option<Json>),
    /// Written as a constant the provider marks sensitive.
    Sensitive(Json),
    /// A map attribute whose entries may be references (`annotations = { k = var.x }`).
    Map(Vec<(String, Node)>),
    /// A list of blocks, as SDKv2 writes every block (`[]` when none is written).
    Blocks(Vec<Attrs>),
}

pub type Attrs = Vec<(String, Node)>;

pub fn lit(v: impl Into<Json>) -> Node {
    Node::Lit(v.into())
}

/// Not written and null (an optional attribute left out).
pub fn unset() -> Node {
    Node::Computed(Some(Json::Null))
}

/// A reference to `address.attribute`, as Terraform lists it (the attribute, then the resource).
pub fn reference(address: &str, attribute: &str, value: Option<Json>) -> Node {
    Node::Ref(
        vec![format!("{address}.{attribute}"), address.to_string()],
        value,
    )
}

fn attrs(list: Vec<(&str, Node)>) -> Attrs {
    list.into_iter().map(|(k, v)| (k.to_string(), v)).collect()
}

/// Terraform's marks for a known value: `false` leaves, arrays kept, objects without falses.
fn marks(v: &Json) -> Json {
    match v {
        Json::Array(a) => Json::Array(a.iter().map(marks).collect()),
        Json::Object(o) => Json::Object(
            o.iter()
                .filter_map(|(k, v)| {
                    let m = marks(v);
                    (m != Json::Bool(false)).then(|| (k.clone(), m))
                })
                .collect(),
        ),
        _ => Json::Bool(false),
    }
}

struct Rendered {
    after: Option<Json>,
    unknown: Json,
    sensitive: Json,
    config: Option<Json>,
}

fn render(n: &Node) -> Rendered {
    match n {
        Node::Lit(v) => Rendered {
            after: Some(v.clone()),
            unknown: marks(v),
            sensitive: marks(v),
            config: Some(json!({ "constant_value": v })),
        },
        Node::Ref(refs, value) => Rendered {
            after: value.clone(),
            unknown: value.as_ref().map_or(Json::Bool(true), marks),
            sensitive: value.as_ref().map_or(Json::Bool(false), marks),
            config: Some(json!({ "references": refs })),
        },
        Node::Computed(value) => Rendered {
            after: value.clone(),
            unknown: value.as_ref().map_or(Json::Bool(true), marks),
            sensitive: value.as_ref().map_or(Json::Bool(false), marks),
            config: None,
        },
        Node::Sensitive(v) => Rendered {
            after: Some(v.clone()),
            unknown: marks(v),
            sensitive: Json::Bool(true),
            config: Some(json!({ "constant_value": v })),
        },
        Node::Map(entries) => {
            let (after, unknown, sensitive, _) = render_attrs(entries);
            let refs: Vec<String> = entries
                .iter()
                .filter_map(|(_, n)| match n {
                    Node::Ref(r, _) => Some(r.clone()),
                    _ => None,
                })
                .flatten()
                .collect();
            let config = if refs.is_empty() {
                json!({ "constant_value": after })
            } else {
                json!({ "references": refs })
            };
            Rendered {
                after: Some(after),
                unknown,
                sensitive,
                config: Some(config),
            }
        }
        Node::Blocks(list) => {
            let parts: Vec<(Json, Json, Json, Json)> = list.iter().map(render_attrs).collect();
            Rendered {
                after: Some(Json::Array(parts.iter().map(|p| p.0.clone()).collect())),
                unknown: Json::Array(parts.iter().map(|p| p.1.clone()).collect()),
                sensitive: Json::Array(parts.iter().map(|p| p.2.clone()).collect()),
                config: (!list.is_empty())
                    .then(|| Json::Array(parts.iter().map(|p| p.3.clone()).collect())),
            }
        }
    }
}

/// An object's `after`, `after_unknown`, `after_sensitive` and configuration expressions.
fn render_attrs(a: &Attrs) -> (Json, Json, Json, Json) {
    let (mut after, mut unknown, mut sensitive, mut config) =
        (Map::new(), Map::new(), Map::new(), Map::new());
    for (k, n) in a {
        let r = render(n);
        if let Some(v) = r.after {
            after.insert(k.clone(), v);
        }
        if r.unknown != Json::Bool(false) {
            unknown.insert(k.clone(), r.unknown);
        }
        if r.sensitive != Json::Bool(false) {
            sensitive.insert(k.clone(), r.sensitive);
        }
        if let Some(c) = r.config {
            config.insert(k.clone(), c);
        }
    }
    (
        Json::Object(after),
        Json::Object(unknown),
        Json::Object(sensitive),
        Json::Object(config),
    )
}

/// One managed resource of the plan.
#[derive(Clone, Debug)]
pub struct Res {
    pub rtype: String,
    pub name: String,
    pub attrs: Attrs,
}

impl Res {
    pub fn new(rtype: &str, name: &str, attrs: Vec<(&str, Node)>) -> Self {
        Res {
            rtype: rtype.to_string(),
            name: name.to_string(),
            attrs: self::attrs(attrs),
        }
    }

    pub fn address(&self) -> String {
        format!("{}.{}", self.rtype, self.name)
    }
}

/// A Terraform resource name from a cloud name: `api-dev` → `api_dev`.
pub fn tf_name(name: &str) -> String {
    name.replace(['-', '.'], "_")
}

// ---- Services ---------------------------------------------------------------------------------

#[derive(Clone, Debug, PartialEq)]
enum Kind {
    V1,
    V2,
}

/// How an attribute is written in the configuration.
#[derive(Clone, Debug)]
enum Written {
    No,
    Value(String),
    /// A reference whose value is known only after apply.
    Unknown(String),
}

/// Who the service runs as.
#[derive(Clone, Debug)]
enum Sa {
    NotWritten,
    Email(String),
    /// `google_service_account.<id>.email`, whose email the plan knows (provider ≥ 6.13).
    Account(String),
    /// `google_service_account.<id>.email`, known only after apply.
    AccountUnknown(String),
    /// A reference to something that is not a service account declared here.
    Unknown(String),
}

#[derive(Clone, Debug)]
enum Var {
    Plain(String, String),
    /// A literal the plan marks sensitive (`after_sensitive`), e.g. from a sensitive variable.
    Sensitive(String, String),
    Secret(String, String, Option<String>),
}

#[derive(Clone, Debug)]
pub struct Container {
    name: Option<String>,
    image: String,
    env: Vec<Var>,
    cpu: Option<String>,
    memory: Option<String>,
    /// `limits` written as a reference known only after apply.
    limits_unknown: Option<String>,
    /// Env vars from a `dynamic "env"` block whose `for_each` is known only after apply: the
    /// plan's configuration leaves dynamic blocks out, and `after` marks `env` unknown.
    env_dynamic_unknown: bool,
}

impl Container {
    pub fn named(name: &str) -> Self {
        Container {
            name: Some(name.to_string()),
            ..Container::default()
        }
    }

    pub fn env(mut self, key: &str, value: &str) -> Self {
        self.env.push(Var::Plain(key.into(), value.into()));
        self
    }

    pub fn secret(mut self, key: &str, secret: &str, version: Option<&str>) -> Self {
        self.env.push(Var::Secret(
            key.into(),
            secret.into(),
            version.map(str::to_string),
        ));
        self
    }

    pub fn cpu(mut self, cpu: &str) -> Self {
        self.cpu = Some(cpu.into());
        self
    }

    pub fn memory(mut self, memory: &str) -> Self {
        self.memory = Some(memory.into());
        self
    }

    /// `dynamic "env" { for_each = <unknown> }`.
    pub fn env_dynamic_unknown(mut self) -> Self {
        self.env_dynamic_unknown = true;
        self
    }

    /// `resources { limits = <reference> }`, known only after apply.
    pub fn limits_unknown(mut self, reference: &str) -> Self {
        self.limits_unknown = Some(reference.into());
        self
    }
}

impl Default for Container {
    fn default() -> Self {
        Container {
            name: None,
            image: "us-docker.pkg.dev/acme/app/app:1.0.0".into(),
            env: Vec::new(),
            cpu: None,
            memory: None,
            limits_unknown: None,
            env_dynamic_unknown: false,
        }
    }
}

/// A Cloud Run service and what hangs off it (invoker IAM, domain mapping, load balancer).
#[derive(Clone, Debug)]
pub struct Svc {
    kind: Kind,
    name: String,
    ingress: Written,
    sa: Sa,
    containers: Vec<Container>,
    min: Option<u64>,
    max: Option<u64>,
    connector: Option<String>,
    egress: Option<String>,
    sql: Vec<String>,
    invokers: Vec<String>,
    mappings: Vec<String>,
    lb_hosts: Option<Vec<String>>,
}

impl Svc {
    fn new(kind: Kind, name: &str) -> Self {
        Svc {
            kind,
            name: name.to_string(),
            ingress: Written::No,
            sa: Sa::NotWritten,
            containers: vec![Container::default()],
            min: None,
            max: None,
            connector: None,
            egress: None,
            sql: Vec::new(),
            invokers: Vec::new(),
            mappings: Vec::new(),
            lb_hosts: None,
        }
    }

    /// A `google_cloud_run_v2_service`.
    pub fn v2(name: &str) -> Self {
        Svc::new(Kind::V2, name)
    }

    /// A `google_cloud_run_service` (v1, annotations).
    pub fn v1(name: &str) -> Self {
        Svc::new(Kind::V1, name)
    }

    pub fn address(&self) -> String {
        match self.kind {
            Kind::V1 => format!("google_cloud_run_service.{}", tf_name(&self.name)),
            Kind::V2 => format!("google_cloud_run_v2_service.{}", tf_name(&self.name)),
        }
    }

    /// Ingress as written: a v2 enum or a v1 annotation value.
    pub fn ingress(mut self, value: &str) -> Self {
        self.ingress = Written::Value(value.into());
        self
    }

    /// Ingress written as a reference Terraform resolves only at apply.
    pub fn ingress_unknown(mut self, reference: &str) -> Self {
        self.ingress = Written::Unknown(reference.into());
        self
    }

    /// Runs as `google_service_account.<id>` of the environment (email known in the plan).
    pub fn runs_as(mut self, account_id: &str) -> Self {
        self.sa = Sa::Account(account_id.into());
        self
    }

    /// Runs as `google_service_account.<id>`, whose email is known only after apply.
    pub fn runs_as_unknown(mut self, account_id: &str) -> Self {
        self.sa = Sa::AccountUnknown(account_id.into());
        self
    }

    /// Runs as an email written as a literal.
    pub fn runs_as_email(mut self, email: &str) -> Self {
        self.sa = Sa::Email(email.into());
        self
    }

    /// The service account is a reference to something unknown until apply.
    pub fn sa_unknown(mut self, reference: &str) -> Self {
        self.sa = Sa::Unknown(reference.into());
        self
    }

    /// A plain env var on the first container.
    pub fn env(mut self, key: &str, value: &str) -> Self {
        self.containers[0] = self.containers[0].clone().env(key, value);
        self
    }

    /// A plain env var whose value the plan marks sensitive, on the first container.
    pub fn env_sensitive(mut self, key: &str, value: &str) -> Self {
        self.containers[0]
            .env
            .push(Var::Sensitive(key.into(), value.into()));
        self
    }

    /// A Secret Manager env var on the first container.
    pub fn secret(mut self, key: &str, secret: &str, version: Option<&str>) -> Self {
        self.containers[0] = self.containers[0].clone().secret(key, secret, version);
        self
    }

    pub fn cpu(mut self, cpu: &str) -> Self {
        self.containers[0].cpu = Some(cpu.into());
        self
    }

    pub fn memory(mut self, memory: &str) -> Self {
        self.containers[0].memory = Some(memory.into());
        self
    }

    /// Replaces the containers.
    pub fn containers(mut self, containers: Vec<Container>) -> Self {
        self.containers = containers;
        self
    }

    pub fn min_instances(mut self, n: u64) -> Self {
        self.min = Some(n);
        self
    }

    pub fn max_instances(mut self, n: u64) -> Self {
        self.max = Some(n);
        self
    }

    /// Sends traffic through the environment's `google_vpc_access_connector` named `name`.
    pub fn connector(mut self, name: &str) -> Self {
        self.connector = Some(name.into());
        self
    }

    pub fn egress(mut self, egress: &str) -> Self {
        self.egress = Some(egress.into());
        self
    }

    /// Attaches the environment's `google_sql_database_instance` named `instance`.
    pub fn cloud_sql(mut self, instance: &str) -> Self {
        self.sql.push(instance.into());
        self
    }

    /// `allUsers` may invoke it.
    pub fn public(self) -> Self {
        self.invoker("allUsers")
    }

    pub fn invoker(mut self, member: &str) -> Self {
        self.invokers.push(member.into());
        self
    }

    /// A `google_cloud_run_domain_mapping` for `host`.
    pub fn domain_mapping(mut self, host: &str) -> Self {
        self.mappings.push(host.into());
        self
    }

    /// An HTTPS load balancer (serverless NEG → backend service → URL map) routing `hosts`.
    pub fn load_balancer(mut self, hosts: &[&str]) -> Self {
        self.lb_hosts = Some(hosts.iter().map(|h| h.to_string()).collect());
        self
    }
}

/// What services need the environment to declare.
#[derive(Default)]
struct Needs {
    /// Account ids, and whether their email is known in the plan.
    accounts: Vec<(String, bool)>,
    connectors: BTreeSet<String>,
    sql: BTreeSet<String>,
}

// ---- Environments -----------------------------------------------------------------------------

/// One environment: a project, a region, services and other resources, planned either against
/// existing infrastructure (values the API filled are known) or as a first create (they are
/// known only after apply).
#[derive(Clone, Debug)]
pub struct Env {
    pub name: String,
    pub project: String,
    pub number: String,
    pub region: String,
    creating: bool,
    configuration: bool,
    services: Vec<Svc>,
    extra: Vec<Res>,
}

impl Env {
    /// Environment `name` in project `acme-<name>`, planned against existing infrastructure.
    pub fn new(name: &str) -> Self {
        let number = match name {
            "dev" => "123456789012".to_string(),
            "prod" => "210987654321".to_string(),
            other => format!("{:0>12}", other.len() * 111),
        };
        Env {
            name: name.to_string(),
            project: format!("acme-{name}"),
            number,
            region: "us-central1".into(),
            creating: false,
            configuration: true,
            services: Vec::new(),
            extra: Vec::new(),
        }
    }

    /// Every resource is created by this plan: what the API fills is known only after apply.
    pub fn creating(mut self) -> Self {
        self.creating = true;
        self
    }

    /// The plan has no `configuration` section.
    pub fn without_configuration(mut self) -> Self {
        self.configuration = false;
        self
    }

    pub fn service(mut self, s: Svc) -> Self {
        self.services.push(s);
        self
    }

    pub fn resource(mut self, r: Res) -> Self {
        self.extra.push(r);
        self
    }

    /// A value the API fills: known from state, or known after apply on create.
    fn filled(&self, v: impl Into<Json>) -> Node {
        Node::Computed((!self.creating).then(|| v.into()))
    }

    pub fn default_sa(&self) -> String {
        format!("{}-compute@developer.gserviceaccount.com", self.number)
    }

    pub fn sa_email(&self, account_id: &str) -> String {
        format!("{account_id}@{}.iam.gserviceaccount.com", self.project)
    }

    fn connector_id(&self, name: &str) -> String {
        format!(
            "projects/{}/locations/{}/connectors/{name}",
            self.project, self.region
        )
    }

    fn sql_connection(&self, instance: &str) -> String {
        format!("{}:{}:{instance}", self.project, self.region)
    }

    /// Every resource of the environment.
    pub fn resources(&self) -> Vec<Res> {
        let mut out = self.extra.clone();
        let mut needs = Needs::default();
        for s in &self.services {
            out.extend(self.render_service(s, &mut needs));
        }
        for (id, email_known) in &needs.accounts {
            let email = self.sa_email(id);
            out.push(Res::new(
                "google_service_account",
                &tf_name(id),
                vec![
                    ("account_id", lit(id.as_str())),
                    ("project", lit(self.project.as_str())),
                    ("display_name", lit(format!("Cloud Run {id}"))),
                    ("disabled", lit(false)),
                    (
                        "email",
                        Node::Computed(email_known.then(|| json!(email.clone()))),
                    ),
                    (
                        "member",
                        Node::Computed(
                            email_known.then(|| json!(format!("serviceAccount:{email}"))),
                        ),
                    ),
                    ("unique_id", self.filled("104857600000000000001")),
                ],
            ));
        }
        for name in &needs.connectors {
            out.push(Res::new(
                "google_vpc_access_connector",
                &tf_name(name),
                vec![
                    ("name", lit(name.as_str())),
                    ("project", lit(self.project.as_str())),
                    ("region", lit(self.region.as_str())),
                    ("network", lit("default")),
                    ("ip_cidr_range", lit("10.8.0.0/28")),
                    ("id", self.filled(self.connector_id(name))),
                    ("self_link", self.filled(self.connector_id(name))),
                ],
            ));
        }
        for name in &needs.sql {
            out.push(Res::new(
                "google_sql_database_instance",
                &tf_name(name),
                vec![
                    ("name", lit(name.as_str())),
                    ("project", lit(self.project.as_str())),
                    ("region", lit(self.region.as_str())),
                    ("database_version", lit("POSTGRES_16")),
                    ("connection_name", self.filled(self.sql_connection(name))),
                ],
            ));
        }
        // Resources added explicitly replace the ones services ask for.
        let mut seen = BTreeSet::new();
        out.retain(|r| seen.insert(r.address()));
        out.sort_by_key(Res::address);
        out
    }

    fn render_service(&self, s: &Svc, needs: &mut Needs) -> Vec<Res> {
        let address = s.address();
        let mut out = Vec::new();
        let sa = match &s.sa {
            Sa::NotWritten => self.filled(self.default_sa()),
            Sa::Email(e) => lit(e.as_str()),
            Sa::Account(id) | Sa::AccountUnknown(id) => {
                let known = matches!(s.sa, Sa::Account(_));
                if !needs.accounts.iter().any(|(a, _)| a == id) {
                    needs.accounts.push((id.clone(), known));
                }
                reference(
                    &format!("google_service_account.{}", tf_name(id)),
                    "email",
                    known.then(|| json!(self.sa_email(id))),
                )
            }
            Sa::Unknown(r) => Node::Ref(vec![r.clone()], None),
        };
        if let Some(c) = &s.connector {
            needs.connectors.insert(c.clone());
        }
        for i in &s.sql {
            needs.sql.insert(i.clone());
        }
        let mut res = match s.kind {
            Kind::V2 => self.v2_service(s, sa),
            Kind::V1 => self.v1_service(s, sa),
        };
        res.name = tf_name(&s.name);
        out.push(res);
        let name_ref = || reference(&address, "name", Some(json!(s.name)));
        for (i, member) in s.invokers.iter().enumerate() {
            let (rtype, target) = match s.kind {
                Kind::V2 => ("google_cloud_run_v2_service_iam_member", "name"),
                Kind::V1 => ("google_cloud_run_service_iam_member", "service"),
            };
            out.push(Res::new(
                rtype,
                &format!("{}_invoker_{i}", tf_name(&s.name)),
                vec![
                    ("project", lit(self.project.as_str())),
                    ("location", lit(self.region.as_str())),
                    (target, name_ref()),
                    ("role", lit("roles/run.invoker")),
                    ("member", lit(member.as_str())),
                    ("condition", Node::Blocks(vec![])),
                    ("etag", self.filled("BwYmZ0aXk3s=")),
                    (
                        "id",
                        self.filled(format!("{}/roles/run.invoker/{member}", s.name)),
                    ),
                ],
            ));
        }
        for host in &s.mappings {
            out.push(Res::new(
                "google_cloud_run_domain_mapping",
                &tf_name(host),
                vec![
                    ("name", lit(host.as_str())),
                    ("location", lit(self.region.as_str())),
                    ("project", lit(self.project.as_str())),
                    (
                        "metadata",
                        Node::Blocks(vec![attrs(vec![
                            ("namespace", lit(self.project.as_str())),
                            ("annotations", unset()),
                            ("labels", unset()),
                        ])]),
                    ),
                    (
                        "spec",
                        Node::Blocks(vec![attrs(vec![
                            ("route_name", name_ref()),
                            ("certificate_mode", lit("AUTOMATIC")),
                            ("force_override", lit(false)),
                        ])]),
                    ),
                    ("status", self.filled(json!([]))),
                ],
            ));
        }
        if let Some(hosts) = &s.lb_hosts {
            out.extend(self.load_balancer(s, hosts, name_ref()));
        }
        out
    }

    /// Serverless NEG → backend service → URL map with a host rule for `hosts`.
    fn load_balancer(&self, s: &Svc, hosts: &[String], service_ref: Node) -> Vec<Res> {
        let base = tf_name(&s.name);
        let (neg_addr, backend_addr) = (
            format!("google_compute_region_network_endpoint_group.{base}"),
            format!("google_compute_backend_service.{base}"),
        );
        let neg_link = format!(
            "https://www.googleapis.com/compute/v1/projects/{}/regions/{}/networkEndpointGroups/{}-neg",
            self.project, self.region, s.name
        );
        let backend_link = format!(
            "https://www.googleapis.com/compute/v1/projects/{}/global/backendServices/{}-backend",
            self.project, s.name
        );
        let known = |v: &str| (!self.creating).then(|| json!(v));
        vec![
            Res::new(
                "google_compute_region_network_endpoint_group",
                &base,
                vec![
                    ("name", lit(format!("{}-neg", s.name))),
                    ("project", lit(self.project.as_str())),
                    ("region", lit(self.region.as_str())),
                    ("network_endpoint_type", lit("SERVERLESS")),
                    (
                        "cloud_run",
                        Node::Blocks(vec![attrs(vec![
                            ("service", service_ref),
                            ("tag", unset()),
                            ("url_mask", unset()),
                        ])]),
                    ),
                    ("self_link", self.filled(neg_link.as_str())),
                ],
            ),
            Res::new(
                "google_compute_backend_service",
                &base,
                vec![
                    ("name", lit(format!("{}-backend", s.name))),
                    ("project", lit(self.project.as_str())),
                    ("load_balancing_scheme", lit("EXTERNAL_MANAGED")),
                    ("protocol", lit("HTTPS")),
                    (
                        "backend",
                        Node::Blocks(vec![attrs(vec![(
                            "group",
                            reference(&neg_addr, "id", known(&neg_link)),
                        )])]),
                    ),
                    ("self_link", self.filled(backend_link.as_str())),
                ],
            ),
            Res::new(
                "google_compute_url_map",
                &base,
                vec![
                    ("name", lit(format!("{}-lb", s.name))),
                    ("project", lit(self.project.as_str())),
                    (
                        "default_service",
                        reference(&backend_addr, "id", known(&backend_link)),
                    ),
                    (
                        "host_rule",
                        Node::Blocks(vec![attrs(vec![
                            ("hosts", lit(hosts.to_vec())),
                            ("path_matcher", lit("main")),
                            ("description", unset()),
                        ])]),
                    ),
                    (
                        "path_matcher",
                        Node::Blocks(vec![attrs(vec![
                            ("name", lit("main")),
                            (
                                "default_service",
                                reference(&backend_addr, "id", known(&backend_link)),
                            ),
                            ("path_rule", Node::Blocks(vec![])),
                        ])]),
                    ),
                ],
            ),
        ]
    }

    fn v2_env(&self, vars: &[Var]) -> Node {
        Node::Blocks(
            vars.iter()
                .map(|v| match v {
                    Var::Plain(k, value) => attrs(vec![
                        ("name", lit(k.as_str())),
                        ("value", lit(value.as_str())),
                        ("value_source", Node::Blocks(vec![])),
                    ]),
                    Var::Sensitive(k, value) => attrs(vec![
                        ("name", lit(k.as_str())),
                        ("value", Node::Sensitive(json!(value))),
                        ("value_source", Node::Blocks(vec![])),
                    ]),
                    Var::Secret(k, secret, version) => attrs(vec![
                        ("name", lit(k.as_str())),
                        ("value", Node::Computed(Some(json!("")))),
                        (
                            "value_source",
                            Node::Blocks(vec![attrs(vec![(
                                "secret_key_ref",
                                Node::Blocks(vec![attrs(vec![
                                    ("secret", lit(secret.as_str())),
                                    ("version", version.as_deref().map_or_else(unset, lit)),
                                ])]),
                            )])]),
                        ),
                    ]),
                })
                .collect(),
        )
    }

    fn v1_env(&self, vars: &[Var]) -> Node {
        Node::Blocks(
            vars.iter()
                .map(|v| match v {
                    Var::Plain(k, value) => attrs(vec![
                        ("name", lit(k.as_str())),
                        ("value", lit(value.as_str())),
                        ("value_from", Node::Blocks(vec![])),
                    ]),
                    Var::Sensitive(k, value) => attrs(vec![
                        ("name", lit(k.as_str())),
                        ("value", Node::Sensitive(json!(value))),
                        ("value_from", Node::Blocks(vec![])),
                    ]),
                    Var::Secret(k, secret, version) => attrs(vec![
                        ("name", lit(k.as_str())),
                        ("value", Node::Computed(Some(json!("")))),
                        (
                            "value_from",
                            Node::Blocks(vec![attrs(vec![(
                                "secret_key_ref",
                                Node::Blocks(vec![attrs(vec![
                                    ("name", lit(secret.as_str())),
                                    ("key", lit(version.as_deref().unwrap_or("latest"))),
                                ])]),
                            )])]),
                        ),
                    ]),
                })
                .collect(),
        )
    }

    fn limits(&self, c: &Container, v1: bool) -> Node {
        if let Some(r) = &c.limits_unknown {
            return Node::Blocks(vec![attrs(vec![(
                "limits",
                Node::Ref(vec![r.clone()], None),
            )])]);
        }
        if c.cpu.is_none() && c.memory.is_none() {
            let filled = if v1 {
                json!([{"limits": {"cpu": "1000m", "memory": "512Mi"}, "requests": {}}])
            } else {
                json!([{"limits": {"cpu": "1000m", "memory": "512Mi"}, "cpu_idle": true, "startup_cpu_boost": false}])
            };
            return self.filled(filled);
        }
        let mut limits = Map::new();
        if let Some(cpu) = &c.cpu {
            limits.insert("cpu".into(), json!(cpu));
        }
        if let Some(m) = &c.memory {
            limits.insert("memory".into(), json!(m));
        }
        let extra = if v1 {
            vec![("requests", unset())]
        } else {
            vec![
                ("cpu_idle", self.filled(true)),
                ("startup_cpu_boost", self.filled(false)),
            ]
        };
        let mut block = attrs(vec![("limits", Node::Lit(Json::Object(limits)))]);
        block.extend(attrs(extra));
        Node::Blocks(vec![block])
    }

    fn v2_service(&self, s: &Svc, sa: Node) -> Res {
        let ingress = match &s.ingress {
            Written::No => self.filled("INGRESS_TRAFFIC_ALL"),
            Written::Value(v) => lit(v.as_str()),
            Written::Unknown(r) => Node::Ref(vec![r.clone()], None),
        };
        let containers = Node::Blocks(
            s.containers
                .iter()
                .map(|c| {
                    attrs(vec![
                        ("name", c.name.as_deref().map_or_else(unset, lit)),
                        ("image", lit(c.image.as_str())),
                        (
                            "env",
                            if c.env_dynamic_unknown {
                                Node::Computed(None)
                            } else {
                                self.v2_env(&c.env)
                            },
                        ),
                        ("resources", self.limits(c, false)),
                        (
                            "ports",
                            self.filled(json!([{"container_port": 8080, "name": "http1"}])),
                        ),
                    ])
                })
                .collect(),
        );
        let scaling = if s.min.is_none() && s.max.is_none() {
            self.filled(json!([{"min_instance_count": 0, "max_instance_count": 100}]))
        } else {
            Node::Blocks(vec![attrs(vec![
                ("min_instance_count", s.min.map_or_else(unset, lit)),
                (
                    "max_instance_count",
                    s.max.map_or_else(|| self.filled(100), lit),
                ),
            ])])
        };
        let vpc_access = if s.connector.is_none() && s.egress.is_none() {
            Node::Blocks(vec![])
        } else {
            let connector = match &s.connector {
                Some(c) => reference(
                    &format!("google_vpc_access_connector.{}", tf_name(c)),
                    "id",
                    (!self.creating).then(|| json!(self.connector_id(c))),
                ),
                None => unset(),
            };
            Node::Blocks(vec![attrs(vec![
                ("connector", connector),
                (
                    "egress",
                    s.egress
                        .as_deref()
                        .map_or_else(|| self.filled("PRIVATE_RANGES_ONLY"), lit),
                ),
                ("network_interfaces", Node::Blocks(vec![])),
            ])])
        };
        let volumes = Node::Blocks(
            s.sql
                .iter()
                .map(|i| {
                    attrs(vec![
                        ("name", lit("cloudsql")),
                        (
                            "cloud_sql_instance",
                            Node::Blocks(vec![attrs(vec![(
                                "instances",
                                reference(
                                    &format!("google_sql_database_instance.{}", tf_name(i)),
                                    "connection_name",
                                    (!self.creating).then(|| json!([self.sql_connection(i)])),
                                ),
                            )])]),
                        ),
                    ])
                })
                .collect(),
        );
        Res::new(
            "google_cloud_run_v2_service",
            "",
            vec![
                ("name", lit(s.name.as_str())),
                ("project", lit(self.project.as_str())),
                ("location", lit(self.region.as_str())),
                ("deletion_protection", lit(false)),
                ("ingress", ingress),
                ("invoker_iam_disabled", unset()),
                ("launch_stage", self.filled("GA")),
                (
                    "uri",
                    self.filled(format!("https://{}-abcdefghij-uc.a.run.app", s.name)),
                ),
                (
                    "id",
                    self.filled(format!(
                        "projects/{}/locations/{}/services/{}",
                        self.project, self.region, s.name
                    )),
                ),
                (
                    "template",
                    Node::Blocks(vec![attrs(vec![
                        ("service_account", sa),
                        ("containers", containers),
                        ("scaling", scaling),
                        ("vpc_access", vpc_access),
                        ("volumes", volumes),
                        ("timeout", self.filled("300s")),
                        ("max_instance_request_concurrency", self.filled(80)),
                        ("execution_environment", unset()),
                        ("annotations", unset()),
                        ("labels", unset()),
                    ])]),
                ),
                ("traffic", self.filled(json!([{"type": "TRAFFIC_TARGET_ALLOCATION_TYPE_LATEST", "percent": 100, "revision": "", "tag": ""}]))),
            ],
        )
    }

    fn v1_service(&self, s: &Svc, sa: Node) -> Res {
        let metadata = match &s.ingress {
            Written::No => self.filled(json!([{"annotations": {}, "namespace": self.project}])),
            w => {
                let value = match w {
                    Written::Value(v) => lit(v.as_str()),
                    Written::Unknown(r) => Node::Ref(vec![r.clone()], None),
                    Written::No => unreachable!(),
                };
                Node::Blocks(vec![attrs(vec![
                    (
                        "annotations",
                        Node::Map(attrs(vec![("run.googleapis.com/ingress", value)])),
                    ),
                    ("namespace", self.filled(self.project.as_str())),
                    ("labels", unset()),
                ])])
            }
        };
        let mut annotations: Vec<(&str, Node)> = Vec::new();
        if let Some(n) = s.min {
            annotations.push(("autoscaling.knative.dev/minScale", lit(n.to_string())));
        }
        if let Some(n) = s.max {
            annotations.push(("autoscaling.knative.dev/maxScale", lit(n.to_string())));
        }
        if let Some(c) = &s.connector {
            annotations.push((
                "run.googleapis.com/vpc-access-connector",
                reference(
                    &format!("google_vpc_access_connector.{}", tf_name(c)),
                    "name",
                    Some(json!(c)),
                ),
            ));
        }
        if let Some(e) = &s.egress {
            annotations.push(("run.googleapis.com/vpc-access-egress", lit(e.as_str())));
        }
        if !s.sql.is_empty() {
            let refs: Vec<String> = s
                .sql
                .iter()
                .flat_map(|i| {
                    let a = format!("google_sql_database_instance.{}", tf_name(i));
                    [format!("{a}.connection_name"), a]
                })
                .collect();
            let value = (!self.creating).then(|| {
                json!(
                    s.sql
                        .iter()
                        .map(|i| self.sql_connection(i))
                        .collect::<Vec<_>>()
                        .join(",")
                )
            });
            annotations.push((
                "run.googleapis.com/cloudsql-instances",
                Node::Ref(refs, value),
            ));
        }
        let template_metadata = if annotations.is_empty() {
            self.filled(json!([{"annotations": {}, "name": ""}]))
        } else {
            Node::Blocks(vec![attrs(vec![
                ("annotations", Node::Map(attrs(annotations))),
                ("name", self.filled("")),
                ("labels", unset()),
            ])])
        };
        let containers = Node::Blocks(
            s.containers
                .iter()
                .map(|c| {
                    attrs(vec![
                        ("name", c.name.as_deref().map_or_else(unset, lit)),
                        ("image", lit(c.image.as_str())),
                        (
                            "env",
                            if c.env_dynamic_unknown {
                                Node::Computed(None)
                            } else {
                                self.v1_env(&c.env)
                            },
                        ),
                        ("resources", self.limits(c, true)),
                        (
                            "ports",
                            self.filled(
                                json!([{"container_port": 8080, "name": "http1", "protocol": ""}]),
                            ),
                        ),
                    ])
                })
                .collect(),
        );
        Res::new(
            "google_cloud_run_service",
            "",
            vec![
                ("name", lit(s.name.as_str())),
                ("project", lit(self.project.as_str())),
                ("location", lit(self.region.as_str())),
                ("autogenerate_revision_name", lit(true)),
                ("metadata", metadata),
                (
                    "template",
                    Node::Blocks(vec![attrs(vec![
                        ("metadata", template_metadata),
                        (
                            "spec",
                            Node::Blocks(vec![attrs(vec![
                                ("service_account_name", sa),
                                ("containers", containers),
                                ("container_concurrency", self.filled(80)),
                                ("timeout_seconds", self.filled(300)),
                            ])]),
                        ),
                    ])]),
                ),
                ("traffic", self.filled(json!([{"percent": 100, "latest_revision": true, "revision_name": "", "tag": "", "url": ""}]))),
                ("status", self.filled(json!([]))),
            ],
        )
    }

    /// The plan as `terraform show -json PLANFILE` writes it.
    pub fn plan(&self) -> Json {
        let actions = if self.creating {
            json!(["create"])
        } else {
            json!(["no-op"])
        };
        let mut changes = Vec::new();
        let mut planned = Vec::new();
        let mut config = Vec::new();
        for r in self.resources() {
            let address = r.address();
            let (after, unknown, sensitive, expressions) = render_attrs(&r.attrs);
            let provider = "registry.terraform.io/hashicorp/google";
            changes.push(json!({
                "address": address,
                "mode": "managed",
                "type": r.rtype,
                "name": r.name,
                "provider_name": provider,
                "change": {
                    "actions": actions,
                    "before": if self.creating { Json::Null } else { after.clone() },
                    "after": after,
                    "after_unknown": unknown,
                    "before_sensitive": if self.creating { Json::Bool(false) } else { sensitive.clone() },
                    "after_sensitive": sensitive,
                }
            }));
            planned.push(json!({
                "address": address,
                "mode": "managed",
                "type": r.rtype,
                "name": r.name,
                "provider_name": provider,
                "schema_version": 0,
                "values": after,
                "sensitive_values": sensitive,
            }));
            config.push(json!({
                "address": address,
                "mode": "managed",
                "type": r.rtype,
                "name": r.name,
                "provider_config_key": "google",
                "expressions": expressions,
                "schema_version": 0,
            }));
        }
        let mut plan = json!({
            "format_version": "1.2",
            "terraform_version": "1.11.4",
            "planned_values": {"root_module": {"resources": planned}},
            "resource_changes": changes,
            "timestamp": "2026-11-29T09:00:00Z",
            "applyable": true,
            "complete": true,
            "errored": false,
        });
        if self.configuration {
            plan["configuration"] = json!({
                "provider_config": {"google": {"name": "google", "full_name": "registry.terraform.io/hashicorp/google"}},
                "root_module": {"resources": config},
            });
        }
        plan
    }

    /// Loads the plan through the real loader and builds the environment's model.
    pub fn model(&self) -> EnvModel {
        let text = serde_json::to_vec(&self.plan()).expect("plan JSON");
        let path = PathBuf::from(format!("{}.json", self.name));
        let inventory = crate::load::load_bytes(&path, &text)
            .unwrap_or_else(|e| panic!("the test plan of {} does not load: {e}", self.name));
        let graph = ResourceGraph::build(&inventory);
        crate::model::build(&self.name, &graph)
    }
}

// ---- Scenarios --------------------------------------------------------------------------------

/// Environments, a contract (or none), files beside it, and the date: everything a check sees.
pub struct Scenario {
    envs: Vec<Env>,
    contract: Option<String>,
    files: Vec<(String, String)>,
    today: Date,
}

impl Scenario {
    pub fn new(envs: impl IntoIterator<Item = Env>) -> Self {
        Scenario {
            envs: envs.into_iter().collect(),
            contract: None,
            files: Vec::new(),
            today: Date::parse(TODAY).expect("date"),
        }
    }

    /// The contract's text (`parity.hcl`). Without one, the no-contract mode applies.
    pub fn contract(mut self, hcl: &str) -> Self {
        self.contract = Some(hcl.to_string());
        self
    }

    /// A file beside the contract (workflows). The contract is then read from a temporary
    /// directory holding both, so its relative paths resolve.
    pub fn file(mut self, path: &str, content: &str) -> Self {
        self.files.push((path.to_string(), content.to_string()));
        self
    }

    pub fn today(mut self, date: &str) -> Self {
        self.today = Date::parse(date).expect("date");
        self
    }

    /// Runs one check through the real pipeline.
    pub fn run(&self, check: &'static CheckDef) -> Findings {
        let dir = (!self.files.is_empty()).then(|| tempfile::tempdir().expect("tempdir"));
        let base = dir
            .as_ref()
            .map_or_else(PathBuf::new, |d| d.path().to_path_buf());
        for (rel, content) in &self.files {
            let p = base.join(rel);
            if let Some(parent) = p.parent() {
                std::fs::create_dir_all(parent).expect("mkdir");
            }
            std::fs::write(&p, content).expect("write");
        }
        let contract = match &self.contract {
            Some(text) => crate::contract::parse::parse(&base.join("parity.hcl"), text)
                .unwrap_or_else(|e| panic!("the test contract does not parse: {e}")),
            None => Contract::assumed(self.envs.iter().map(|e| EnvSpec::named(&e.name)).collect()),
        };
        let models: Vec<EnvModel> = contract
            .ordered_envs()
            .iter()
            .map(|spec| {
                self.envs
                    .iter()
                    .find(|e| e.name == spec.name)
                    .unwrap_or_else(|| panic!("no test environment `{}`", spec.name))
                    .model()
            })
            .collect();
        let roles = crate::contract::roles::resolve(&contract, &models);
        let models: Vec<&EnvModel> = models.iter().collect();
        let ctx = Ctx {
            contract: &contract,
            models: &models,
            roles: &roles,
            today: self.today,
            base_dir: if base.as_os_str().is_empty() {
                PathBuf::from(".")
            } else {
                base.clone()
            },
        };
        Findings((check.run)(&ctx))
    }

    /// The model of one environment, for assertions about what the checks see.
    pub fn model(&self, env: &str) -> EnvModel {
        self.envs
            .iter()
            .find(|e| e.name == env)
            .expect("environment")
            .model()
    }
}

// ---- Findings ---------------------------------------------------------------------------------

/// A check's findings, with assertions that print them all when they fail.
#[derive(Debug)]
pub struct Findings(pub Vec<Finding>);

impl Findings {
    /// The item's verdict: its worst finding (PASS when there is none).
    pub fn verdict(&self) -> Status {
        self.0
            .iter()
            .map(|f| f.status)
            .max()
            .unwrap_or(Status::Pass)
    }

    pub fn with(&self, status: Status) -> Vec<&Finding> {
        self.0.iter().filter(|f| f.status == status).collect()
    }

    pub fn about(&self, subject: &str) -> Vec<&Finding> {
        self.0
            .iter()
            .filter(|f| f.subject.as_deref() == Some(subject))
            .collect()
    }

    /// The one finding with `status` whose message contains `text`.
    #[track_caller]
    pub fn one(&self, status: Status, text: &str) -> &Finding {
        let hits: Vec<&Finding> = self
            .0
            .iter()
            .filter(|f| f.status == status && f.message.contains(text))
            .collect();
        assert_eq!(
            hits.len(),
            1,
            "expected one {status} finding containing {text:?}, found {}:\n{self}",
            hits.len()
        );
        hits[0]
    }

    /// No finding has `status`.
    #[track_caller]
    pub fn none(&self, status: Status) {
        assert!(
            self.with(status).is_empty(),
            "expected no {status} finding:\n{self}"
        );
    }
}

impl fmt::Display for Findings {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        for x in &self.0 {
            writeln!(
                f,
                "  {} [{}] {}: {}",
                x.status,
                x.role.as_deref().unwrap_or("-"),
                x.subject.as_deref().unwrap_or("-"),
                x.message
            )?;
            for e in &x.evidence {
                writeln!(
                    f,
                    "      {} {} {} = {} {:?}",
                    e.environment.as_deref().unwrap_or("-"),
                    e.address.as_deref().unwrap_or("-"),
                    e.attribute.as_deref().unwrap_or("-"),
                    e.value.as_deref().unwrap_or("-"),
                    e.keys
                )?;
            }
        }
        Ok(())
    }
}

/// Whether a finding carries evidence for `env` pointing at `address` (and `attribute`, when
/// given).
pub fn has_evidence(f: &Finding, env: &str, address: &str, attribute: Option<&str>) -> bool {
    f.evidence.iter().any(|e| {
        e.environment.as_deref() == Some(env)
            && e.address.as_deref() == Some(address)
            && attribute.is_none_or(|a| e.attribute.as_deref() == Some(a))
    })
}

/// Whether some evidence of the finding names `key`.
pub fn names_key(f: &Finding, key: &str) -> bool {
    f.evidence.iter().any(|e| e.keys.iter().any(|k| k == key))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::{EnvValue, Ingress, RuntimeSa};

    #[test]
    fn plans_have_terraform_shape() {
        let plan = Env::new("dev")
            .creating()
            .service(Svc::v2("api-dev").runs_as("cr-api").env("A", "1"))
            .plan();
        let rc = &plan["resource_changes"];
        let svc = rc
            .as_array()
            .unwrap()
            .iter()
            .find(|r| r["type"] == "google_cloud_run_v2_service")
            .unwrap();
        // Blocks are arrays; unknown attributes are omitted from `after`.
        assert!(svc["change"]["after"]["template"].is_array());
        assert!(svc["change"]["after"].get("uri").is_none());
        assert_eq!(svc["change"]["after_unknown"]["uri"], json!(true));
        assert_eq!(
            svc["change"]["after_unknown"]["template"][0]["scaling"],
            json!(true)
        );
        let cfg = &plan["configuration"]["root_module"]["resources"];
        let expr = cfg
            .as_array()
            .unwrap()
            .iter()
            .find(|r| r["type"] == "google_cloud_run_v2_service")
            .unwrap();
        assert_eq!(
            expr["expressions"]["template"][0]["service_account"]["references"][1],
            json!("google_service_account.cr_api")
        );
        assert!(expr["expressions"].get("ingress").is_none());
    }

    #[test]
    fn models_read_back_what_was_written() {
        let m = Env::new("dev")
            .creating()
            .service(
                Svc::v2("api-dev")
                    .runs_as_unknown("cr-api")
                    .secret("DB", "db-url", Some("3"))
                    .env("MODE", "x"),
            )
            .model();
        let s = &m.services[0];
        assert_eq!(s.ingress.as_ref().unwrap().known(), Some(&Ingress::All));
        assert!(matches!(
            s.service_account.known(),
            Some(RuntimeSa::Dedicated { .. })
        ));
        let env = s.containers[0].env.known().unwrap();
        assert!(matches!(
            env.get("DB").expect("DB").value,
            EnvValue::Secret { .. }
        ));
        assert!(matches!(
            env.get("MODE").expect("MODE").value,
            EnvValue::Literal { .. }
        ));
    }
}
