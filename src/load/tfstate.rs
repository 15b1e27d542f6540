//! A raw `terraform.tfstate` file (state format version 4): what Terraform keeps in its backend.

use std::borrow::Cow;
use std::path::Path;

use serde::Deserialize;
use serde_json::value::RawValue;

use super::plan::{Envelope, instance_key, local_address, mode_of, refuse_long_string};
use super::{Locator, json_error, model_reads};
use crate::error::{InputError, Result};
use crate::inventory::{Action, Inventory, Mode, Resource, SourceInfo, SourceKind};
use crate::value::Value;

#[derive(Deserialize)]
struct RawStateResource<'a> {
    #[serde(borrow, default)]
    module: Option<Cow<'a, str>>,
    #[serde(borrow, default)]
    mode: Option<Cow<'a, str>>,
    #[serde(borrow, rename = "type")]
    rtype: Cow<'a, str>,
    #[serde(borrow)]
    name: Cow<'a, str>,
    #[serde(borrow, default)]
    instances: Vec<&'a RawValue>,
}

#[derive(Deserialize)]
struct RawInstance<'a> {
    #[serde(default)]
    index_key: Option<serde_json::Value>,
    #[serde(borrow, default)]
    deposed: Option<Cow<'a, str>>,
    /// Parsed only for the types the model reads, after [`refuse_long_string`].
    #[serde(borrow, default)]
    attributes: Option<&'a RawValue>,
    #[serde(default)]
    sensitive_attributes: Option<serde_json::Value>,
}

pub(super) fn load_tfstate(path: &Path, text: &[u8], env: &Envelope<'_>) -> Result<Inventory> {
    let version = env.version.as_ref().and_then(|v| v.as_u64());
    if version != Some(4) {
        return Err(InputError::new(
            path,
            format!(
                "state file version {} is not supported: tfparity reads version 4 (Terraform 0.12 and later)",
                env.version.as_ref().map_or("(none)".to_string(), |v| v.to_string())
            ),
        )
        .help("run `terraform state pull` with a current Terraform, or pass `terraform show -json` output")
        .into());
    }
    let mut inv = Inventory::default();
    inv.sources.push(SourceInfo {
        path: path.to_path_buf(),
        kind: SourceKind::TfState,
        format_version: Some("4".into()),
        terraform_version: env.terraform_version.as_deref().map(str::to_string),
    });
    let resources: Vec<&RawValue> = match env.resources {
        Some(raw) => serde_json::from_str(raw.get())
            .map_err(|e| json_error(path, text, raw.get(), &e, "`resources`"))?,
        None => Vec::new(),
    };
    let mut locator = Locator::new(text);
    for raw in resources {
        let r: RawStateResource<'_> = serde_json::from_str(raw.get())
            .map_err(|e| json_error(path, text, raw.get(), &e, "a state resource"))?;
        let mode = mode_of(r.mode.as_deref());
        let module = r.module.as_deref().unwrap_or("").to_string();
        let local = local_address(mode, &r.rtype, &r.name);
        for raw_inst in r.instances {
            let inst: RawInstance<'_> = serde_json::from_str(raw_inst.get()).map_err(|e| {
                json_error(path, text, raw_inst.get(), &e, "a state resource instance")
            })?;
            if inst.deposed.is_some() {
                continue;
            }
            let index = instance_key(inst.index_key.as_ref());
            let mut address = if module.is_empty() {
                local.clone()
            } else {
                format!("{module}.{local}")
            };
            if let Some(k) = &index {
                address.push_str(&k.to_string());
            }
            let values = match (
                &inst.attributes,
                mode == Mode::Managed && model_reads(&r.rtype),
            ) {
                (Some(raw), true) => {
                    refuse_long_string(path, text, &address, raw.get(), &[])?;
                    let attrs: serde_json::Value = serde_json::from_str(raw.get())
                        .map_err(|e| json_error(path, text, raw.get(), &e, "`attributes`"))?;
                    let marks = inst
                        .sensitive_attributes
                        .as_ref()
                        .map(sensitive_marks)
                        .unwrap_or(serde_json::Value::Null);
                    Value::from_json_marked(&attrs, None, Some(&marks))
                }
                _ => Value::Null,
            };
            inv.resources.push(Resource {
                address,
                module: module.clone(),
                mode,
                rtype: r.rtype.to_string(),
                name: r.name.to_string(),
                index,
                values,
                config: None,
                action: Action::Exists,
                span: Some(locator.span(path, raw_inst.get())),
            });
        }
    }
    super::refuse_hostile(path, &inv.resources, super::ValueStrings::CheckedInText)?;
    inv.finish();
    Ok(inv)
}

/// Turns the state's list of sensitive paths into a mark tree shaped like the value, the form
/// `Value::from_json_marked` takes.
fn sensitive_marks(paths: &serde_json::Value) -> serde_json::Value {
    let mut root = serde_json::Value::Object(Default::default());
    for path in paths.as_array().map(Vec::as_slice).unwrap_or_default() {
        let Some(steps) = path.as_array() else {
            continue;
        };
        let mut cur = &mut root;
        let mut ok = true;
        for (i, step) in steps.iter().enumerate() {
            let last = i + 1 == steps.len();
            let key = step_key(step);
            match key {
                Some(StepKey::Attr(name)) => {
                    if !cur.is_object() {
                        *cur = serde_json::Value::Object(Default::default());
                    }
                    let obj = cur.as_object_mut().expect("object");
                    let entry = obj
                        .entry(name)
                        .or_insert(serde_json::Value::Object(Default::default()));
                    if last {
                        *entry = serde_json::Value::Bool(true);
                    }
                    cur = entry;
                }
                Some(StepKey::Index(n)) => {
                    if !cur.is_array() {
                        *cur = serde_json::Value::Array(Vec::new());
                    }
                    let arr = cur.as_array_mut().expect("array");
                    if arr.len() <= n {
                        arr.resize(n + 1, serde_json::Value::Bool(false));
                    }
                    if last {
                        arr[n] = serde_json::Value::Bool(true);
                    } else if !arr[n].is_object() && !arr[n].is_array() {
                        arr[n] = serde_json::Value::Object(Default::default());
                    }
                    cur = &mut arr[n];
                }
                None => {
                    ok = false;
                    break;
                }
            }
        }
        if !ok {
            // A path step this tool cannot follow: mark the whole value sensitive rather than
            // risk showing it.
            return serde_json::Value::Bool(true);
        }
    }
    root
}

enum StepKey {
    Attr(String),
    Index(usize),
}

fn step_key(step: &serde_json::Value) -> Option<StepKey> {
    let kind = step.get("type")?.as_str()?;
    let value = step.get("value")?;
    match kind {
        "get_attr" => Some(StepKey::Attr(value.as_str()?.to_string())),
        "index" => {
            let inner = value.get("value").unwrap_or(value);
            match inner {
                serde_json::Value::Number(n) => n.as_u64().map(|n| StepKey::Index(n as usize)),
                serde_json::Value::String(s) => Some(StepKey::Attr(s.clone())),
                _ => None,
            }
        }
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn sensitive_paths_become_marks() {
        let marks = sensitive_marks(&json!([
            [{"type": "get_attr", "value": "settings"}, {"type": "index", "value": {"value": 0, "type": "number"}}, {"type": "get_attr", "value": "password"}],
            [{"type": "get_attr", "value": "root_password"}]
        ]));
        assert_eq!(marks["root_password"], json!(true));
        assert_eq!(marks["settings"][0]["password"], json!(true));
    }

    #[test]
    fn unknown_steps_mask_everything() {
        let marks = sensitive_marks(&json!([[{"type": "splat"}]]));
        assert_eq!(marks, json!(true));
    }
}
