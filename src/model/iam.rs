//! IAM around a service: who may invoke it.

use super::{Field, Invoker};
use crate::graph::ResourceGraph;
use crate::value::{Lookup, Value};

const INVOKER_ROLES: &[&str] = &["roles/run.invoker", "roles/run.servicesInvoker"];

/// Members granted an invoker role on the service at `i`, from `*_iam_member`,
/// `*_iam_binding` and `*_iam_policy` resources linked to it.
pub fn invokers(graph: &ResourceGraph<'_>, i: usize) -> Field<Vec<Invoker>> {
    let service = graph.resource(i);
    let mut out = Vec::new();
    let mut unknown = false;
    let linked = graph
        .outgoing(i)
        .into_iter()
        .chain(graph.incoming(i))
        .map(|(n, _)| n)
        .filter(|&n| {
            let t = &graph.resource(n).rtype;
            t.starts_with("google_cloud_run") && t.contains("_iam_")
        });
    let mut seen = std::collections::BTreeSet::new();
    for n in linked {
        if !seen.insert(n) {
            continue;
        }
        let r = graph.resource(n);
        let v = &r.values;
        if r.rtype.ends_with("_iam_policy") {
            match v.at("policy_data") {
                Lookup::Set(Value::String(s)) => {
                    for m in policy_invokers(s) {
                        out.push(Invoker {
                            member: m,
                            address: r.address.clone(),
                        });
                    }
                }
                _ => unknown = true,
            }
            continue;
        }
        match v.at("role") {
            Lookup::Set(Value::String(role)) if INVOKER_ROLES.contains(&role.as_str()) => {}
            Lookup::Set(_) | Lookup::Unset => continue,
            _ => {
                unknown = true;
                continue;
            }
        }
        let mut members: Vec<&Value> = Vec::new();
        match v.at("member") {
            Lookup::Set(m) => members.push(m),
            Lookup::Unknown | Lookup::Sensitive => unknown = true,
            Lookup::Unset => {}
        }
        match v.at("members") {
            Lookup::Set(Value::List(l)) => members.extend(l.iter()),
            Lookup::Unknown | Lookup::Sensitive => unknown = true,
            _ => {}
        }
        for m in members {
            match m {
                Value::String(s) => out.push(Invoker {
                    member: s.clone(),
                    address: r.address.clone(),
                }),
                _ => unknown = true,
            }
        }
    }
    if let Lookup::Set(Value::Bool(true)) = service.values.at("invoker_iam_disabled") {
        out.push(Invoker {
            member: "allUsers".into(),
            address: format!("{} (invoker_iam_disabled)", service.address),
        });
    }
    out.sort();
    out.dedup();
    let span = service.span.clone();
    if unknown
        && !out
            .iter()
            .any(|i| super::cloud_run::is_public_member(&i.member))
    {
        return Field::unknown("invoker IAM member", span);
    }
    Field::set(out, "invoker IAM", span)
}

/// Invoker members in an IAM policy document (`policy_data`, JSON).
fn policy_invokers(policy: &str) -> Vec<String> {
    let Ok(doc) = serde_json::from_str::<serde_json::Value>(policy) else {
        return Vec::new();
    };
    let mut out = Vec::new();
    for b in doc
        .get("bindings")
        .and_then(|b| b.as_array())
        .map(Vec::as_slice)
        .unwrap_or_default()
    {
        let role = b.get("role").and_then(|r| r.as_str()).unwrap_or("");
        if !INVOKER_ROLES.contains(&role) {
            continue;
        }
        for m in b
            .get("members")
            .and_then(|m| m.as_array())
            .map(Vec::as_slice)
            .unwrap_or_default()
        {
            if let Some(m) = m.as_str() {
                out.push(m.to_string());
            }
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_policy_documents() {
        let p = r#"{"bindings":[{"role":"roles/run.invoker","members":["allUsers"]},{"role":"roles/viewer","members":["user:a@b.c"]}]}"#;
        assert_eq!(policy_invokers(p), vec!["allUsers".to_string()]);
        assert!(policy_invokers("not json").is_empty());
    }
}
