//! What Cloud Run v1 services, v2 services and v2 jobs share: reading env vars, limits,
//! the runtime service account, VPC access and Cloud SQL, and the effective exposure.

use super::quantity::{DEFAULT_CPU_MILLIS, DEFAULT_MEMORY_BYTES, parse_cpu, parse_memory};
use super::secrets::{looks_like_secret, secret_id};
use super::{
    Container, Domain, DomainVia, EnvValue, EnvVar, EnvVars, Exposure, Field, Ingress, Invoker,
    Read, RuntimeSa, Scope, Setting,
};
use crate::graph::ResourceGraph;
use crate::inventory::Resource;
use crate::value::{Key, Lookup, Step, Value};

/// Where each part of a Cloud Run resource lives, per kind.
pub struct Paths {
    pub service_account: &'static str,
    pub containers: &'static str,
    /// v1 keeps secret refs in `value_from.secret_key_ref{name,key}`, v2 in
    /// `value_source.secret_key_ref{secret,version}`.
    pub v1_env: bool,
}

pub const V1: Paths = Paths {
    service_account: "template.spec.service_account_name",
    containers: "template.spec.containers",
    v1_env: true,
};

pub const V2_SERVICE: Paths = Paths {
    service_account: "template.service_account",
    containers: "template.containers",
    v1_env: false,
};

pub const V2_JOB: Paths = Paths {
    service_account: "template.template.service_account",
    containers: "template.template.containers",
    v1_env: false,
};

pub fn paths_for(rtype: &str) -> &'static Paths {
    match rtype {
        "google_cloud_run_service" => &V1,
        "google_cloud_run_v2_job" => &V2_JOB,
        _ => &V2_SERVICE,
    }
}

fn string(read: Read<'_>) -> Option<&str> {
    match read {
        Read::Set(Value::String(s)) => Some(s),
        _ => None,
    }
}

/// A setting read from a string attribute, parsed; `default` when not written.
pub fn parsed_field<T>(
    scope: &Scope<'_>,
    path: &str,
    parse: impl Fn(&str) -> Option<T>,
    default: T,
) -> Field<T> {
    let span = scope.span(path);
    match scope.read(path) {
        Read::Set(Value::String(s)) => match parse(s) {
            Some(v) => Field::set(v, path, span),
            None => Field::unknown(path, span),
        },
        Read::Set(Value::Number(n)) => match parse(&n.to_string()) {
            Some(v) => Field::set(v, path, span),
            None => Field::unknown(path, span),
        },
        Read::NotWritten => Field::default(default, path, span),
        _ => Field::unknown(path, span),
    }
}

pub fn number_field(scope: &Scope<'_>, path: &str, default: u64) -> Field<u64> {
    parsed_field(
        scope,
        path,
        |s| {
            s.parse::<f64>()
                .ok()
                .filter(|v| *v >= 0.0)
                .map(|v| v as u64)
        },
        default,
    )
}

/// A Serverless VPC Access connector as its full id, `projects/P/locations/R/connectors/C`, so
/// that every way of naming it compares alike: a bare name (the v1 annotation takes one) is a
/// connector in the service's project and region.
pub fn connector_path(connector: &str, project: Option<&str>, region: Option<&str>) -> String {
    match (project, region) {
        (Some(p), Some(r)) if !connector.contains('/') && !connector.is_empty() => {
            format!("projects/{p}/locations/{r}/connectors/{connector}")
        }
        _ => connector.to_string(),
    }
}

/// The runtime service account: written email, default when not written, or (when the email
/// is unknown) the `google_service_account` the configuration refers to.
pub fn runtime_sa(graph: &ResourceGraph<'_>, scope: &Scope<'_>, path: &str) -> Field<RuntimeSa> {
    let span = scope.span(path);
    match scope.read(path) {
        Read::Set(Value::String(email)) => Field::set(classify_email(graph, email), path, span),
        Read::Set(_) | Read::NotWritten => {
            Field::default(RuntimeSa::DefaultCompute { email: None }, path, span)
        }
        Read::Unknown | Read::Sensitive => {
            // An email read from a default-account data source (the static evaluator keeps
            // where it came from, through variables and locals).
            if let Some(origin) = scope.values.origin_at(path) {
                if origin.contains("data.google_compute_default_service_account.") {
                    return Field::set(RuntimeSa::DefaultCompute { email: None }, path, span);
                }
                if origin.contains("data.google_app_engine_default_service_account.") {
                    return Field::set(RuntimeSa::DefaultAppEngine { email: None }, path, span);
                }
            }
            if let Some(origin) = scope.values.origin_at(path)
                && let Some(t) = super::origin_resource(graph, scope.resource, origin)
                && graph.resource(t).rtype == "google_service_account"
            {
                let account = graph.resource(t);
                return Field::set(
                    RuntimeSa::Dedicated {
                        email: account_email(account),
                        account: Some(account.address.clone()),
                    },
                    path,
                    span,
                );
            }
            for reference in scope.references(path) {
                if reference.contains("data.google_compute_default_service_account") {
                    return Field::set(RuntimeSa::DefaultCompute { email: None }, path, span);
                }
                if reference.contains("data.google_app_engine_default_service_account") {
                    return Field::set(RuntimeSa::DefaultAppEngine { email: None }, path, span);
                }
                let targets = graph.resolve_reference(scope.resource, reference);
                if let Some(&t) = targets
                    .iter()
                    .find(|&&t| graph.resource(t).rtype == "google_service_account")
                {
                    return Field::set(
                        RuntimeSa::Dedicated {
                            email: account_email(graph.resource(t)),
                            account: Some(graph.resource(t).address.clone()),
                        },
                        path,
                        span,
                    );
                }
                if let Some((base, _)) =
                    crate::graph::reference_target(&scope.resource.reference(reference))
                    && base.ends_with_type("google_service_account")
                {
                    return Field::set(
                        RuntimeSa::Dedicated {
                            email: None,
                            account: Some(base),
                        },
                        path,
                        span,
                    );
                }
            }
            Field::unknown(path, span)
        }
    }
}

/// The email of a declared `google_service_account`: its value, or, when the plan does not know
/// it yet, `{account_id}@{project}.iam.gserviceaccount.com`, the only email the API gives it
/// (provider 6.13 and later derive it the same way at plan time).
fn account_email(account: &Resource) -> Option<String> {
    let text = |key: &str| match account.values.at(key) {
        Lookup::Set(Value::String(s)) if !s.is_empty() => Some(s.as_str()),
        _ => None,
    };
    if let Some(email) = text("email") {
        return Some(email.to_string());
    }
    Some(format!(
        "{}@{}.iam.gserviceaccount.com",
        text("account_id")?,
        text("project")?
    ))
}

trait EndsWithType {
    fn ends_with_type(&self, rtype: &str) -> bool;
}

impl EndsWithType for String {
    /// Whether a base address (`module.x.google_service_account.cr`) is of resource type `rtype`.
    fn ends_with_type(&self, rtype: &str) -> bool {
        let mut parts = self.rsplitn(3, '.');
        let _name = parts.next();
        parts.next() == Some(rtype)
    }
}

pub fn classify_email(graph: &ResourceGraph<'_>, email: &str) -> RuntimeSa {
    let e = email.trim().to_ascii_lowercase();
    if let Some(local) = e.strip_suffix("-compute@developer.gserviceaccount.com")
        && !local.is_empty()
        && local.chars().all(|c| c.is_ascii_digit())
    {
        return RuntimeSa::DefaultCompute {
            email: Some(email.to_string()),
        };
    }
    if e.ends_with("@appspot.gserviceaccount.com") {
        return RuntimeSa::DefaultAppEngine {
            email: Some(email.to_string()),
        };
    }
    RuntimeSa::Dedicated {
        email: Some(email.to_string()),
        account: graph
            .sa_by_email(&e)
            .map(|i| graph.resource(i).address.clone()),
    }
}

/// The containers of a Cloud Run resource.
pub fn containers(scope: &Scope<'_>, paths: &Paths) -> Vec<Container> {
    scope
        .blocks(paths.containers)
        .iter()
        .map(|c| container(c, paths))
        .collect()
}

fn container(c: &Scope<'_>, paths: &Paths) -> Container {
    let name = string(c.read("name"))
        .filter(|n| !n.is_empty())
        .map(str::to_string);
    let image = match c.read("image") {
        Read::Set(Value::String(s)) => Field::set(s.clone(), "image", c.span("image")),
        _ => Field::unknown("image", c.span("image")),
    };
    Container {
        name,
        image,
        env: env_vars(c, paths),
        cpu: limit(c, "cpu", parse_cpu, DEFAULT_CPU_MILLIS),
        memory: limit(c, "memory", parse_memory, DEFAULT_MEMORY_BYTES),
    }
}

fn limit(c: &Scope<'_>, key: &str, parse: fn(&str) -> Option<u64>, default: u64) -> Field<u64> {
    let attribute = format!("resources.limits.{key}");
    let span = c.span("resources.limits");
    match c.read("resources.limits") {
        Read::Set(Value::Map(m)) => match m.get(key) {
            Some(Value::String(s)) => match parse(s) {
                Some(v) => Field::set(v, attribute, span),
                None => Field::unknown(attribute, span),
            },
            None | Some(Value::Null) => Field::default(default, attribute, span),
            Some(_) => Field::unknown(attribute, span),
        },
        Read::Set(_) | Read::NotWritten => Field::default(default, attribute, span),
        Read::Unknown | Read::Sensitive => Field::unknown(attribute, span),
    }
}

fn env_vars(c: &Scope<'_>, paths: &Paths) -> Field<EnvVars> {
    let span = c.span("env");
    let items = match c.read_written("env") {
        // No env block: a plan writes the unset block list as `[]`.
        Read::Set(Value::List(items)) if items.is_empty() => {
            return Field::default(EnvVars::new(), "env", span);
        }
        Read::Set(Value::List(items)) => items,
        Read::NotWritten | Read::Set(_) => {
            return Field::default(EnvVars::new(), "env", span);
        }
        Read::Unknown | Read::Sensitive => return Field::unknown("env", span),
    };
    let mut out = Vec::with_capacity(items.len());
    for item in items {
        let key = match item.get("name") {
            Some(Value::String(k)) => k.as_str(),
            _ => return Field::unknown("env", span),
        };
        let value = env_value(item, key, paths.v1_env);
        out.push((Key::from(key), EnvVar { value }));
    }
    // A repeated key keeps its last value, as Cloud Run does.
    Field::set(EnvVars::from_unsorted(out), "env", span)
}

fn env_value(item: &Value, key: &str, v1: bool) -> EnvValue {
    env_reference(item, v1).unwrap_or_else(|| literal(item, key))
}

/// What an env item reads from elsewhere (a secret, or something unknown); None for a literal.
fn env_reference(item: &Value, v1: bool) -> Option<EnvValue> {
    let (source_key, secret_key, version_key) = if v1 {
        ("value_from", "name", "key")
    } else {
        ("value_source", "secret", "version")
    };
    match item.lookup(&[Step::Key(source_key)]) {
        Lookup::Set(Value::List(l)) if !l.is_empty() => {
            match item.lookup(&[Step::Key(source_key), Step::Key("secret_key_ref")]) {
                Lookup::Set(Value::List(r)) if !r.is_empty() => {
                    let reference = &r[0];
                    Some(EnvValue::Secret {
                        secret: reference
                            .get(secret_key)
                            .and_then(Value::as_str)
                            .map(secret_id),
                        version: reference
                            .get(version_key)
                            .and_then(Value::as_str)
                            .map(str::to_string),
                    })
                }
                Lookup::Unknown => Some(EnvValue::Unknown),
                _ => None,
            }
        }
        Lookup::Unknown => Some(EnvValue::Unknown),
        _ => None,
    }
}

fn literal(item: &Value, key: &str) -> EnvValue {
    let looks = match item.get("value") {
        Some(Value::String(s)) => looks_like_secret(key, s),
        Some(Value::Sensitive) => true,
        _ => false,
    };
    EnvValue::Literal {
        looks_like_secret: looks,
    }
}

/// Strings at `steps` under a scope's values, for the annotation maps of v1 resources (keys
/// hold dots, so they cannot be written as a dotted path).
pub fn annotation<'a>(scope: &Scope<'a>, block: &str, key: &str) -> Read<'a> {
    let mut steps: Vec<Step<'_>> = block.split('.').map(Step::Key).collect();
    steps.push(Step::Key("annotations"));
    let annotations_path = format!("{block}.annotations");
    match scope.values.lookup(&steps) {
        Lookup::Set(Value::Map(m)) => match m.get(key) {
            Some(v @ Value::String(s)) if !s.is_empty() => Read::Set(v),
            Some(Value::Unknown | Value::UnknownFrom(_)) => Read::Unknown,
            Some(Value::Sensitive) => Read::Sensitive,
            _ => Read::NotWritten,
        },
        Lookup::Unknown => scope.read(&annotations_path),
        Lookup::Sensitive => Read::Sensitive,
        _ => Read::NotWritten,
    }
}

/// The exposure that ingress, invoker IAM and load balancers give together.
pub fn exposure(
    ingress: &Field<Ingress>,
    invokers: &Field<Vec<Invoker>>,
    domains: &Field<Vec<Domain>>,
    behind_load_balancer: bool,
) -> Field<Exposure> {
    let attribute = ingress.attribute.clone();
    let span = ingress.span.clone();
    let Some(&ingress_value) = ingress.known() else {
        return Field::unknown(attribute, span);
    };
    let public_invoker = match invokers.known() {
        Some(list) => list.iter().any(|i| is_public_member(&i.member)),
        None => return Field::unknown("invoker IAM", span),
    };
    let via_lb = behind_load_balancer
        || domains
            .known()
            .is_some_and(|d| d.iter().any(|d| d.via == DomainVia::LoadBalancer));
    let value = match ingress_value {
        Ingress::Internal => Exposure::Internal,
        Ingress::InternalAndCloudLoadBalancing if via_lb => Exposure::LoadBalancer,
        Ingress::InternalAndCloudLoadBalancing => Exposure::Internal,
        Ingress::All if public_invoker => Exposure::Public,
        Ingress::All => Exposure::Authenticated,
    };
    Field {
        setting: match ingress.setting {
            Setting::Default(_) if !public_invoker => Setting::Default(value),
            _ => Setting::Set(value),
        },
        attribute,
        span,
    }
}

pub fn is_public_member(member: &str) -> bool {
    matches!(member, "allUsers" | "allAuthenticatedUsers")
}

// ---- Values the graph links on (known values only; references are handled separately). ----

fn run_scope(r: &Resource) -> Scope<'_> {
    Scope::of(r)
}

/// Service account emails a Cloud Run resource names.
pub fn service_account_values(r: &Resource) -> Vec<String> {
    let s = run_scope(r);
    string(s.read(paths_for(&r.rtype).service_account))
        .map(|e| vec![e.to_string()])
        .unwrap_or_default()
}

/// Secret ids a Cloud Run resource's env vars refer to.
pub fn secret_values(r: &Resource) -> Vec<String> {
    let s = run_scope(r);
    let paths = paths_for(&r.rtype);
    let mut out = Vec::new();
    // The secrets of `containers(..)`'s env, read without modelling the rest of each container
    // (the graph asks for every service, before the model is built).
    for c in s.blocks(paths.containers) {
        let Read::Set(Value::List(items)) = c.read_written("env") else {
            continue;
        };
        // An item without a name makes the whole env unknown, so none of it counts.
        if items
            .iter()
            .any(|item| !matches!(item.get("name"), Some(Value::String(_))))
        {
            continue;
        }
        for (i, item) in items.iter().enumerate() {
            let Some(EnvValue::Secret {
                secret: Some(id), ..
            }) = env_reference(item, paths.v1_env)
            else {
                continue;
            };
            // As in the modelled env, a later item of the same name replaces this one (asked
            // of secret references only: most items are literals).
            let replaced = items[i + 1..]
                .iter()
                .any(|later| later.get("name") == item.get("name"));
            if !replaced {
                out.push(id);
            }
        }
    }
    for vol in s.blocks(&volumes_path(&r.rtype)) {
        if let Read::Set(Value::String(id)) = vol.read("secret.secret") {
            out.push(secret_id(id));
        }
    }
    out.sort();
    out.dedup();
    out
}

fn volumes_path(rtype: &str) -> String {
    match rtype {
        "google_cloud_run_v2_job" => "template.template.volumes".into(),
        "google_cloud_run_service" => "template.spec.volumes".into(),
        _ => "template.volumes".into(),
    }
}

/// The VPC connector a Cloud Run resource names.
pub fn connector_values(r: &Resource) -> Vec<String> {
    let s = run_scope(r);
    let read = match r.rtype.as_str() {
        "google_cloud_run_service" => annotation(
            &s,
            "template.metadata",
            "run.googleapis.com/vpc-access-connector",
        ),
        "google_cloud_run_v2_job" => s.read("template.template.vpc_access.connector"),
        _ => s.read("template.vpc_access.connector"),
    };
    string(read)
        .map(|c| vec![c.to_string()])
        .unwrap_or_default()
}

/// Cloud SQL connection names a Cloud Run resource attaches.
pub fn cloud_sql_values(r: &Resource) -> Vec<String> {
    let s = run_scope(r);
    match cloud_sql(&s, &r.rtype, None).known() {
        Some(list) => list.clone(),
        None => Vec::new(),
    }
}

/// Cloud SQL instances attached: v2 volumes, or the v1 annotation.
pub fn cloud_sql(
    scope: &Scope<'_>,
    rtype: &str,
    graph: Option<&ResourceGraph<'_>>,
) -> Field<Vec<String>> {
    if rtype == "google_cloud_run_service" {
        let attr = "template.metadata.annotations[\"run.googleapis.com/cloudsql-instances\"]";
        let span = scope.span("template.metadata.annotations");
        return match annotation(
            scope,
            "template.metadata",
            "run.googleapis.com/cloudsql-instances",
        ) {
            Read::Set(Value::String(s)) => {
                let mut list: Vec<String> = s
                    .split(',')
                    .map(str::trim)
                    .filter(|x| !x.is_empty())
                    .map(str::to_string)
                    .collect();
                list.sort();
                Field::set(list, attr, span)
            }
            Read::NotWritten | Read::Set(_) => Field::default(Vec::new(), attr, span),
            _ => Field::unknown(attr, span),
        };
    }
    let vpath = volumes_path(rtype);
    let attr = format!("{vpath}.cloud_sql_instance.instances");
    let span = scope.span(&vpath);
    match scope.read_written(&vpath) {
        // No volume block: a plan writes the unset block list as `[]`.
        Read::Set(Value::List(l)) if l.is_empty() => {
            return Field::default(Vec::new(), attr, span);
        }
        Read::Set(Value::List(_)) => {}
        Read::NotWritten | Read::Set(_) => return Field::default(Vec::new(), attr, span),
        _ => return Field::unknown(attr, span),
    }
    let mut list = Vec::new();
    for vol in scope.blocks(&vpath) {
        match vol.read("cloud_sql_instance.instances") {
            Read::Set(Value::List(items)) => {
                for it in items {
                    match it {
                        Value::String(s) => list.push(s.clone()),
                        Value::UnknownFrom(origin) => {
                            match graph.and_then(|g| sql_connection(g, scope.resource, origin)) {
                                Some(c) => list.push(c),
                                None => return Field::unknown(attr, span),
                            }
                        }
                        _ => return Field::unknown(attr, span),
                    }
                }
            }
            Read::NotWritten | Read::Set(_) => {}
            _ => return Field::unknown(attr, span),
        }
    }
    list.sort();
    list.dedup();
    Field::set(list, attr, span)
}

/// The connection name of the Cloud SQL instance an unknown value comes from:
/// `project:region:name`, as the provider computes it.
fn sql_connection(graph: &ResourceGraph<'_>, from: &Resource, origin: &str) -> Option<String> {
    let t = super::origin_resource(graph, from, origin)?;
    let sql = graph.resource(t);
    if sql.rtype != "google_sql_database_instance" {
        return None;
    }
    let v = &sql.values;
    if let Some(c) = v.get("connection_name").and_then(Value::as_str) {
        return Some(c.to_string());
    }
    let part = |k: &str| v.get(k).and_then(Value::as_str);
    Some(format!(
        "{}:{}:{}",
        part("project")?,
        part("region")?,
        part("name")?
    ))
}

/// Domains reach a service through domain mappings or a load balancer.
pub fn domain_field(graph: &ResourceGraph<'_>, i: usize) -> (Field<Vec<Domain>>, bool) {
    super::domains::domains_of(graph, i)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::inventory::{Action, Mode};

    fn service(rtype: &str, values: serde_json::Value) -> Resource {
        Resource {
            address: format!("{rtype}.s"),
            module: String::new(),
            mode: Mode::Managed,
            rtype: rtype.into(),
            name: "s".into(),
            index: None,
            values: serde_json::from_value(values).unwrap(),
            config: None,
            action: Action::Create,
            span: None,
        }
    }

    /// The graph reads secrets without modelling containers; it must find exactly the
    /// secrets of the modelled env (plus volumes), whatever the env holds.
    #[test]
    fn secret_values_are_the_modelled_env_secrets() {
        let secret = |name: &str, id: &str| serde_json::json!({"name": name, "value": "", "value_source": [{"secret_key_ref": [{"secret": id, "version": "latest"}]}]});
        let literal =
            |name: &str| serde_json::json!({"name": name, "value": "x", "value_source": []});
        let cases = [
            // A secret, a literal, and a secret replaced by a later literal of its name.
            serde_json::json!([
                secret("A", "projects/p/secrets/a"),
                literal("B"),
                secret("C", "c"),
                literal("C")
            ]),
            // An item without a name makes the env unknown: no secrets from it.
            serde_json::json!([secret("A", "a"), {"value": "x"}]),
            serde_json::json!([]),
        ];
        for env in cases {
            let r = service(
                "google_cloud_run_v2_service",
                serde_json::json!({"name": "s", "template": [{
                    "containers": [{"image": "i", "env": env.clone()}],
                    "volumes": [{"name": "v", "secret": [{"secret": "projects/p/secrets/vol"}]}]
                }]}),
            );
            let mut modelled: Vec<String> = containers(&run_scope(&r), paths_for(&r.rtype))
                .into_iter()
                .filter_map(|c| c.env.known().cloned())
                .flat_map(|env| env.into_iter().map(|(_, var)| var))
                .filter_map(|var| match var.value {
                    EnvValue::Secret { secret, .. } => secret,
                    _ => None,
                })
                .collect();
            modelled.push("vol".into());
            modelled.sort();
            assert_eq!(secret_values(&r), modelled, "{env}");
        }
    }
}
