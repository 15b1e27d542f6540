//! Planning and applying the way terraform-plugin-sdk/v2 does for the google provider, on
//! MessagePack-decoded values.
//!
//! On create, an attribute not set in the configuration takes its `Default`, else is unknown
//! when Computed, else stays null; an Optional+Computed block absent from the configuration is
//! wholly unknown; a collection of primitives holding an unknown element is wholly unknown (the
//! SDK's `ResourceConfig` cannot count it). Then the resource's own plan-time rules (its
//! `CustomizeDiff`): the provider's project filling `project`, service account emails, labels.

use rmpv::Value;

use crate::schema::{Attr, Block, Nesting, Ty};

/// cty's MessagePack encoding of an unknown value (extension 0).
pub fn unknown() -> Value {
    Value::Ext(0, vec![0])
}

pub fn is_unknown(v: &Value) -> bool {
    matches!(v, Value::Ext(..))
}

pub fn get<'a>(v: &'a Value, key: &str) -> Option<&'a Value> {
    match v {
        Value::Map(m) => m
            .iter()
            .find(|(k, _)| k.as_str() == Some(key))
            .map(|(_, v)| v),
        _ => None,
    }
}

pub fn get_str<'a>(v: &'a Value, key: &str) -> Option<&'a str> {
    get(v, key).and_then(Value::as_str)
}

pub fn set(v: &mut Value, key: &str, new: Value) {
    if let Value::Map(m) = v {
        match m.iter_mut().find(|(k, _)| k.as_str() == Some(key)) {
            Some((_, slot)) => *slot = new,
            None => m.push((Value::from(key), new)),
        }
    }
}

fn contains_unknown(v: &Value) -> bool {
    match v {
        Value::Ext(..) => true,
        Value::Array(items) => items.iter().any(contains_unknown),
        Value::Map(m) => m.iter().any(|(_, v)| contains_unknown(v)),
        _ => false,
    }
}

fn plan_attr(attr: &Attr, cur: Value) -> Value {
    match cur {
        Value::Nil => match &attr.default {
            Some(d) => d.clone(),
            None if attr.computed => unknown(),
            None => Value::Nil,
        },
        v if attr.ty.is_primitive_collection() && !is_unknown(&v) && contains_unknown(&v) => {
            unknown()
        }
        v => v,
    }
}

/// Plans the object `v` (an object of `block`'s type) for creation.
pub fn plan_create(block: &Block, v: &mut Value) {
    for (name, attr) in &block.attrs {
        let cur = get(v, name).cloned().unwrap_or(Value::Nil);
        set(v, name, plan_attr(attr, cur));
    }
    for (name, bt) in &block.blocks {
        if bt.nesting == Nesting::Single {
            continue;
        }
        let Some(cur) = get(v, name).cloned() else {
            continue;
        };
        let new = match cur {
            Value::Array(items) if items.is_empty() && bt.optional && bt.computed => unknown(),
            Value::Array(mut items) => {
                for item in &mut items {
                    if matches!(item, Value::Map(_)) {
                        plan_create(&bt.block, item);
                    }
                }
                Value::Array(items)
            }
            other => other,
        };
        set(v, name, new);
    }
}

/// Replaces what is unknown in a planned object with made-up values of the right type (what
/// the API would answer), for apply.
pub fn fill_unknown(block: &Block, v: &mut Value, path: &str) {
    for (name, attr) in &block.attrs {
        let cur = get(v, name).cloned().unwrap_or(Value::Nil);
        let here = format!("{path}{name}");
        set(v, name, fill_value(&attr.ty, cur, &here));
    }
    for (name, bt) in &block.blocks {
        let cur = get(v, name).cloned().unwrap_or(Value::Nil);
        let new = match cur {
            Value::Ext(..) => Value::Array(Vec::new()),
            Value::Array(mut items) => {
                for item in &mut items {
                    fill_unknown(&bt.block, item, &format!("{path}{name}."));
                }
                Value::Array(items)
            }
            other => other,
        };
        set(v, name, new);
    }
}

fn fill_value(ty: &Ty, v: Value, path: &str) -> Value {
    match (ty, v) {
        (_, Value::Ext(..)) => match ty {
            Ty::String => Value::from(format!("fake-{path}")),
            Ty::Number => Value::from(0),
            Ty::Bool => Value::from(false),
            Ty::List(_) | Ty::Set(_) => Value::Array(Vec::new()),
            Ty::Map(_) => Value::Map(Vec::new()),
            Ty::Object(fields) => Value::Map(
                fields
                    .iter()
                    .map(|(k, t)| (Value::from(k.as_str()), fill_value(t, unknown(), path)))
                    .collect(),
            ),
        },
        (Ty::List(t) | Ty::Set(t), Value::Array(items)) => {
            Value::Array(items.into_iter().map(|i| fill_value(t, i, path)).collect())
        }
        (_, v) => v,
    }
}

/// What the provider configuration says, as the resources need it.
#[derive(Clone, Debug, Default)]
pub struct ProviderConfig {
    pub project: Option<String>,
    pub region: Option<String>,
    pub zone: Option<String>,
    pub default_labels: Vec<(String, String)>,
    pub attribution_label: bool,
}

/// The label the provider adds to every labelled resource it creates
/// (`add_terraform_attribution_label`, on by default since 6.0).
const ATTRIBUTION: (&str, &str) = ("goog-terraform-provisioned", "true");

/// Sets `terraform_labels` and `effective_labels` (and `effective_annotations`) from the
/// configured labels, as the provider's labels CustomizeDiff does: known at plan time when
/// the labels are.
fn labels_at(block: &Block, v: &mut Value, cfg: &ProviderConfig) {
    if block.attrs.contains_key("labels") && block.attrs.contains_key("terraform_labels") {
        let labels = get(v, "labels").cloned().unwrap_or(Value::Nil);
        let merged = match labels {
            Value::Ext(..) => unknown(),
            Value::Map(m) if contains_unknown(&Value::Map(m.clone())) => unknown(),
            other => {
                let mut out: Vec<(String, Value)> = cfg
                    .default_labels
                    .iter()
                    .map(|(k, v)| (k.clone(), Value::from(v.as_str())))
                    .collect();
                if let Value::Map(m) = other {
                    for (k, val) in m {
                        let k = k.as_str().unwrap_or_default().to_string();
                        out.retain(|(x, _)| *x != k);
                        out.push((k, val));
                    }
                }
                if cfg.attribution_label {
                    out.retain(|(x, _)| x != ATTRIBUTION.0);
                    out.push((ATTRIBUTION.0.into(), Value::from(ATTRIBUTION.1)));
                }
                out.sort_by(|a, b| a.0.cmp(&b.0));
                Value::Map(out.into_iter().map(|(k, v)| (Value::from(k), v)).collect())
            }
        };
        set(v, "terraform_labels", merged.clone());
        if block.attrs.contains_key("effective_labels") {
            set(v, "effective_labels", merged);
        }
    }
    if block.attrs.contains_key("annotations") && block.attrs.contains_key("effective_annotations")
    {
        let ann = match get(v, "annotations").cloned().unwrap_or(Value::Nil) {
            Value::Nil => Value::Map(Vec::new()),
            other if contains_unknown(&other) => unknown(),
            other => other,
        };
        set(v, "effective_annotations", ann);
    }
    for (name, bt) in &block.blocks {
        if let Some(Value::Array(items)) = get(v, name).cloned() {
            let mut items = items;
            for item in &mut items {
                if matches!(item, Value::Map(_)) {
                    labels_at(&bt.block, item, cfg);
                }
            }
            set(v, name, Value::Array(items));
        }
    }
}

/// The resource's own plan-time rules, after the generic ones.
pub fn customize(rtype: &str, block: &Block, v: &mut Value, cfg: &ProviderConfig) {
    // tpgresource.DefaultProviderProject / DefaultProviderRegion. IAM members take their
    // parent's project only when applied.
    if !rtype.contains("_iam_") {
        for (key, default) in [("project", &cfg.project), ("region", &cfg.region)] {
            if let (Some(attr), Some(d)) = (block.attrs.get(key), default) {
                if attr.optional && attr.computed && get(v, key).is_some_and(is_unknown) {
                    set(v, key, Value::from(d.as_str()));
                }
            }
        }
    }
    labels_at(block, v, cfg);
    if rtype == "google_service_account" {
        // Provider 6.13 and later derive the email (and member) at plan time.
        if let (Some(id), Some(project)) = (get_str(v, "account_id"), get_str(v, "project")) {
            let email = format!("{id}@{project}.iam.gserviceaccount.com");
            set(v, "member", Value::from(format!("serviceAccount:{email}")));
            set(v, "email", Value::from(email));
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::schema::parse;

    fn obj(pairs: Vec<(&str, Value)>) -> Value {
        Value::Map(
            pairs
                .into_iter()
                .map(|(k, v)| (Value::from(k), v))
                .collect(),
        )
    }

    #[test]
    fn create_plans_like_the_sdk() {
        let b = parse(
            "name String REQ\n\
             ingress String OPT COM\n\
             uri String COM\n\
             deletion_protection Bool OPT Default=true\n\
             description String OPT\n\
             scaling List OPT COM MaxItems=1 Elem=&schema.Resource{\n\
             scaling.min_instance_count Int OPT COM\n\
             instances Set OPT Elem=&schema.Schema{Type: schema.TypeString}\n",
        );
        let mut v = obj(vec![
            ("name", Value::from("api")),
            ("ingress", Value::Nil),
            ("uri", Value::Nil),
            ("deletion_protection", Value::Nil),
            ("description", Value::Nil),
            ("scaling", Value::Array(vec![])),
            ("instances", Value::Array(vec![Value::from("a"), unknown()])),
            ("id", Value::Nil),
        ]);
        plan_create(&b, &mut v);
        assert_eq!(get_str(&v, "name"), Some("api"));
        assert!(is_unknown(get(&v, "ingress").unwrap()));
        assert!(is_unknown(get(&v, "uri").unwrap()));
        assert!(is_unknown(get(&v, "id").unwrap()));
        assert_eq!(get(&v, "deletion_protection"), Some(&Value::from(true)));
        assert_eq!(get(&v, "description"), Some(&Value::Nil));
        assert!(is_unknown(get(&v, "scaling").unwrap()));
        assert!(is_unknown(get(&v, "instances").unwrap()));
    }

    #[test]
    fn service_account_email_is_known_at_plan_time() {
        let b = parse(
            "account_id String REQ\nproject String OPT COM\nemail String COM\nmember String COM\n",
        );
        let mut v = obj(vec![
            ("account_id", Value::from("cr-api")),
            ("project", Value::Nil),
            ("email", Value::Nil),
            ("member", Value::Nil),
            ("id", Value::Nil),
        ]);
        plan_create(&b, &mut v);
        let cfg = ProviderConfig {
            project: Some("p-1".into()),
            ..ProviderConfig::default()
        };
        customize("google_service_account", &b, &mut v, &cfg);
        assert_eq!(
            get_str(&v, "email"),
            Some("cr-api@p-1.iam.gserviceaccount.com")
        );
        assert_eq!(
            get_str(&v, "member"),
            Some("serviceAccount:cr-api@p-1.iam.gserviceaccount.com")
        );
    }
}
