//! `terraform show -json PLANFILE` and `terraform show -json` of a state.
//!
//! The file is read once into memory and deserialised into borrowed skeleton structs: strings
//! borrow from the input, attribute values stay raw JSON slices and are parsed only for the
//! resource types the model reads.

use std::borrow::Cow;
use std::path::Path;

use serde::Deserialize;
use serde_json::value::RawValue;

use super::config::{RawConfiguration, Resolver};
use super::{Locator, json_error, model_reads};
use crate::error::{InputError, Result};
use crate::inventory::{
    Action, InstanceKey, Inventory, LoadNote, Mode, Resource, SourceInfo, SourceKind,
};
use crate::value::{SKIPPED_ATTRIBUTES, Value, ValueSeed};

/// Every top-level key any supported envelope may have; values stay raw until the kind is known.
#[derive(Deserialize)]
pub(super) struct Envelope<'a> {
    #[serde(borrow, default)]
    pub format_version: Option<Cow<'a, str>>,
    #[serde(borrow, default)]
    pub terraform_version: Option<Cow<'a, str>>,
    /// Each change stays raw (one scan of the file) until the loop reads it.
    #[serde(borrow, default)]
    pub resource_changes: Option<Vec<&'a RawValue>>,
    #[serde(borrow, default)]
    pub planned_values: Option<&'a RawValue>,
    #[serde(borrow, default)]
    pub configuration: Option<&'a RawValue>,
    #[serde(borrow, default)]
    pub values: Option<&'a RawValue>,
    #[serde(default)]
    pub errored: Option<bool>,
    // Raw `.tfstate` keys.
    #[serde(default)]
    pub version: Option<serde_json::Value>,
    #[serde(borrow, default)]
    pub resources: Option<&'a RawValue>,
    #[serde(borrow, default)]
    pub lineage: Option<Cow<'a, str>>,
    // Terraform Cloud / HCP redacted plan envelope.
    #[serde(borrow, default)]
    pub plan_format_version: Option<Cow<'a, str>>,
}

#[derive(Deserialize)]
struct RawChange<'a> {
    #[serde(borrow)]
    address: Cow<'a, str>,
    #[serde(borrow, default)]
    module_address: Option<Cow<'a, str>>,
    #[serde(borrow, default)]
    mode: Option<Cow<'a, str>>,
    #[serde(borrow, rename = "type")]
    rtype: Cow<'a, str>,
    #[serde(borrow)]
    name: Cow<'a, str>,
    #[serde(default)]
    index: Option<serde_json::Value>,
    #[serde(borrow, default)]
    deposed: Option<Cow<'a, str>>,
    #[serde(borrow)]
    change: RawChangeBody<'a>,
}

#[derive(Deserialize)]
struct RawChangeBody<'a> {
    #[serde(borrow, default)]
    actions: Vec<Cow<'a, str>>,
    #[serde(borrow, default)]
    after: Option<&'a RawValue>,
    #[serde(borrow, default)]
    after_unknown: Option<&'a RawValue>,
    #[serde(borrow, default)]
    after_sensitive: Option<&'a RawValue>,
}

#[derive(Deserialize)]
struct RawValues<'a> {
    #[serde(borrow, default)]
    root_module: Option<RawValuesModule<'a>>,
}

#[derive(Deserialize)]
struct RawValuesModule<'a> {
    #[serde(borrow, default)]
    resources: Vec<&'a RawValue>,
    #[serde(borrow, default)]
    child_modules: Vec<RawValuesModule<'a>>,
}

#[derive(Deserialize)]
struct RawStateResource<'a> {
    #[serde(borrow)]
    address: Cow<'a, str>,
    #[serde(borrow, default)]
    mode: Option<Cow<'a, str>>,
    #[serde(borrow, rename = "type")]
    rtype: Cow<'a, str>,
    #[serde(borrow)]
    name: Cow<'a, str>,
    #[serde(default)]
    index: Option<serde_json::Value>,
    #[serde(borrow, default)]
    values: Option<&'a RawValue>,
    #[serde(borrow, default)]
    sensitive_values: Option<&'a RawValue>,
    #[serde(borrow, default)]
    deposed_key: Option<Cow<'a, str>>,
}

/// Checks `format_version` is one this tool reads: 0.x or 1.x.
pub(super) fn check_format_version(path: &Path, v: Option<&str>, what: &str) -> Result<String> {
    let Some(v) = v else {
        return Err(
            InputError::new(path, format!("{what} has no `format_version`"))
                .help("produce it with `terraform show -json`")
                .into(),
        );
    };
    let major = v.split('.').next().and_then(|m| m.parse::<u64>().ok());
    match major {
        Some(0 | 1) => Ok(v.to_string()),
        Some(m) => Err(InputError::new(
            path,
            format!("{what} format_version {v} is not supported: this tfparity reads 0.x and 1.x (a major version {m} may change meanings)"),
        )
        .help("use a Terraform release whose `show -json` writes format 1.x, or a newer tfparity")
        .into()),
        None => Err(InputError::new(path, format!("{what} has an unreadable format_version {v:?}")).into()),
    }
}

pub(super) fn load_plan(path: &Path, text: &[u8], env: &Envelope<'_>) -> Result<Inventory> {
    let format_version = check_format_version(path, env.format_version.as_deref(), "plan")?;
    let mut inv = Inventory::default();
    inv.sources.push(SourceInfo {
        path: path.to_path_buf(),
        kind: SourceKind::Plan,
        format_version: Some(format_version),
        terraform_version: env.terraform_version.as_deref().map(str::to_string),
    });
    if env.errored == Some(true) {
        return Err(InputError::new(
            path,
            "this plan is marked `errored`: Terraform could not finish planning, so it does not describe the environment",
        )
        .help("fix the errors `terraform plan` reports, then export the plan again")
        .into());
    }
    let config: RawConfiguration = match env.configuration {
        Some(raw) => serde_json::from_str(raw.get())
            .map_err(|e| json_error(path, text, raw.get(), &e, "`configuration`"))?,
        None => RawConfiguration::default(),
    };
    let resolver = Resolver::new(&config);
    let mut locator = Locator::new(text);

    for &raw in env.resource_changes.iter().flatten() {
        let rc: RawChange<'_> = serde_json::from_str(raw.get())
            .map_err(|e| json_error(path, text, raw.get(), &e, "a resource change"))?;
        if rc.deposed.is_some() {
            // A deposed object is an old instance on its way out.
            continue;
        }
        let action = action_of(&rc.change.actions);
        if !action.survives() {
            inv.removed.push(rc.address.to_string());
            continue;
        }
        let mode = mode_of(rc.mode.as_deref());
        let module = rc.module_address.as_deref().unwrap_or("").to_string();
        let values = if mode == Mode::Managed && model_reads(&rc.rtype) {
            marked_values(
                path,
                text,
                rc.change.after,
                rc.change.after_unknown,
                rc.change.after_sensitive,
            )?
        } else {
            Value::Null
        };
        let local = local_address(mode, &rc.rtype, &rc.name);
        inv.resources.push(Resource {
            address: rc.address.to_string(),
            config: resolver.resource_config(&module, &local),
            module,
            mode,
            rtype: rc.rtype.to_string(),
            name: rc.name.to_string(),
            index: instance_key(rc.index.as_ref()),
            values,
            action,
            span: Some(locator.span(path, raw.get())),
        });
    }
    if env.resource_changes.is_none() {
        // A plan with no changes at all may omit resource_changes; its planned values still
        // describe the environment.
        if let Some(pv) = env.planned_values {
            read_values_tree(path, text, pv, &mut inv, Action::NoOp, &resolver)?;
        }
    }
    inv.finish();
    Ok(inv)
}

pub(super) fn load_state(path: &Path, text: &[u8], env: &Envelope<'_>) -> Result<Inventory> {
    let format_version = check_format_version(path, env.format_version.as_deref(), "state")?;
    let mut inv = Inventory::default();
    inv.sources.push(SourceInfo {
        path: path.to_path_buf(),
        kind: SourceKind::State,
        format_version: Some(format_version),
        terraform_version: env.terraform_version.as_deref().map(str::to_string),
    });
    if let Some(values) = env.values {
        let resolver_cfg = RawConfiguration::default();
        let resolver = Resolver::new(&resolver_cfg);
        read_values_tree(path, text, values, &mut inv, Action::Exists, &resolver)?;
    } else {
        inv.notes.push(LoadNote {
            span: None,
            message: format!("{}: the state is empty", path.display()),
        });
    }
    inv.finish();
    Ok(inv)
}

/// Reads a values representation (`planned_values`, a state's `values`).
fn read_values_tree(
    path: &Path,
    text: &[u8],
    raw: &RawValue,
    inv: &mut Inventory,
    action: Action,
    resolver: &Resolver<'_>,
) -> Result<()> {
    let values: RawValues<'_> = serde_json::from_str(raw.get())
        .map_err(|e| json_error(path, text, raw.get(), &e, "`values`"))?;
    let mut locator = Locator::new(text);
    let mut stack: Vec<RawValuesModule<'_>> = values.root_module.into_iter().collect();
    while let Some(module) = stack.pop() {
        for raw in module.resources {
            let r: RawStateResource<'_> = serde_json::from_str(raw.get())
                .map_err(|e| json_error(path, text, raw.get(), &e, "a resource"))?;
            if r.deposed_key.is_some() {
                continue;
            }
            let mode = mode_of(r.mode.as_deref());
            let (module_path, _) = split_address(&r.address);
            let values = if mode == Mode::Managed && model_reads(&r.rtype) {
                marked_values(path, text, r.values, None, r.sensitive_values)?
            } else {
                Value::Null
            };
            let local = local_address(mode, &r.rtype, &r.name);
            inv.resources.push(Resource {
                address: r.address.to_string(),
                config: resolver.resource_config(&module_path, &local),
                module: module_path,
                mode,
                rtype: r.rtype.to_string(),
                name: r.name.to_string(),
                index: instance_key(r.index.as_ref()),
                values,
                action,
                span: Some(locator.span(path, raw.get())),
            });
        }
        stack.extend(module.child_modules);
    }
    Ok(())
}

/// Parses `after` with its unknown and sensitive marks into a Value.
pub(super) fn marked_values(
    path: &Path,
    text: &[u8],
    after: Option<&RawValue>,
    unknown: Option<&RawValue>,
    sensitive: Option<&RawValue>,
) -> Result<Value> {
    use serde::de::DeserializeSeed;
    // Marks only matter where they say `true`; most plans mark nothing, and then the mark
    // trees are not parsed at all.
    let marks = |raw: Option<&RawValue>, what: &str| -> Result<Option<serde_json::Value>> {
        match raw {
            Some(r) if r.get().contains("true") => serde_json::from_str(r.get())
                .map(Some)
                .map_err(|e| json_error(path, text, r.get(), &e, what).into()),
            _ => Ok(None),
        }
    };
    let mut value = match after {
        Some(raw) => {
            let mut de = serde_json::Deserializer::from_str(raw.get());
            let v = ValueSeed {
                skip: SKIPPED_ATTRIBUTES,
            }
            .deserialize(&mut de)
            .map_err(|e| json_error(path, text, raw.get(), &e, "`after`"))?;
            if !matches!(v, Value::Map(_) | Value::Null) {
                return Err(InputError::new(
                    path,
                    format!(
                        "expected a resource's values to be an object, found {}",
                        v.type_name()
                    ),
                )
                .into());
            }
            v
        }
        None => Value::Null,
    };
    let unknown = marks(unknown, "`after_unknown`")?;
    let sensitive = marks(sensitive, "`after_sensitive`")?;
    if unknown.is_some() || sensitive.is_some() {
        if matches!(value, Value::Null) {
            value = Value::Map(Default::default());
        }
        value.apply_marks(unknown.as_ref(), sensitive.as_ref());
    }
    Ok(value)
}

pub(super) fn action_of(actions: &[Cow<'_, str>]) -> Action {
    let has = |a: &str| actions.iter().any(|x| x == a);
    match actions.len() {
        0 => Action::NoOp,
        _ if has("delete") && has("create") => Action::Replace,
        _ if has("create") => Action::Create,
        _ if has("delete") => Action::Delete,
        _ if has("forget") => Action::Forget,
        _ if has("update") => Action::Update,
        _ if has("read") => Action::Read,
        _ => Action::NoOp,
    }
}

pub(super) fn mode_of(mode: Option<&str>) -> Mode {
    match mode {
        Some("data") => Mode::Data,
        _ => Mode::Managed,
    }
}

pub(super) fn instance_key(index: Option<&serde_json::Value>) -> Option<InstanceKey> {
    match index? {
        serde_json::Value::Number(n) => n.as_i64().map(InstanceKey::Int),
        serde_json::Value::String(s) => Some(InstanceKey::Str(s.clone())),
        _ => None,
    }
}

pub(super) fn local_address(mode: Mode, rtype: &str, name: &str) -> String {
    match mode {
        Mode::Managed => format!("{rtype}.{name}"),
        Mode::Data => format!("data.{rtype}.{name}"),
    }
}

/// Splits a resource address into its module path and the rest.
pub(super) fn split_address(address: &str) -> (String, String) {
    let mut rest = address;
    let mut end = 0;
    while let Some(after) = rest.strip_prefix("module.") {
        let name_end = after.find(['[', '.']).unwrap_or(after.len());
        let mut consumed = "module.".len() + name_end;
        let mut tail = &after[name_end..];
        if tail.starts_with('[') {
            let close = super::config::closing_bracket(tail).unwrap_or(tail.len() - 1);
            consumed += close + 1;
            tail = &tail[close + 1..];
        }
        if !tail.starts_with('.') {
            break;
        }
        end += consumed;
        rest = &tail[1..];
        end += 1;
    }
    if end == 0 {
        (String::new(), address.to_string())
    } else {
        (address[..end - 1].to_string(), address[end..].to_string())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn splits_addresses() {
        assert_eq!(
            split_address("module.a[\"x.y\"].module.b.google_x.y[0]"),
            (
                "module.a[\"x.y\"].module.b".to_string(),
                "google_x.y[0]".to_string()
            )
        );
        assert_eq!(
            split_address("google_x.y"),
            (String::new(), "google_x.y".to_string())
        );
    }

    #[test]
    fn actions_map_to_one_action() {
        let a = |v: &[&str]| action_of(&v.iter().map(|s| Cow::Borrowed(*s)).collect::<Vec<_>>());
        assert_eq!(a(&["delete", "create"]), Action::Replace);
        assert_eq!(a(&["create", "delete"]), Action::Replace);
        assert_eq!(a(&["create"]), Action::Create);
        assert_eq!(a(&["delete"]), Action::Delete);
        assert_eq!(a(&["no-op"]), Action::NoOp);
        assert_eq!(a(&["forget"]), Action::Forget);
        assert_eq!(a(&["create", "forget"]), Action::Create);
    }
}
