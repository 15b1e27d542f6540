//! The `terraform plan -json` line stream: which resources a plan creates, changes or
//! deletes, and its diagnostics. It carries no attribute values, so on its own it says which
//! resources exist (values unknown); combined with an HCL directory of the same environment it
//! gives the planned action of each evaluated resource.

use std::path::Path;

use serde::Deserialize;

use crate::error::{InputError, Result};
use crate::inventory::{
    Action, InstanceKey, Inventory, Mode, Resource, SourceInfo, SourceKind, Span,
};
use crate::value::Value;

#[derive(Deserialize)]
struct Line {
    #[serde(rename = "type", default)]
    kind: String,
    #[serde(rename = "@level", default)]
    level: String,
    #[serde(default)]
    terraform: Option<String>,
    #[serde(default)]
    tofu: Option<String>,
    #[serde(default)]
    ui: Option<String>,
    #[serde(default)]
    change: Option<Change>,
    #[serde(default)]
    diagnostic: Option<Diagnostic>,
}

#[derive(Deserialize)]
struct Change {
    resource: Addr,
    #[serde(default)]
    action: String,
}

#[derive(Deserialize)]
struct Addr {
    addr: String,
    #[serde(default)]
    module: String,
    #[serde(default)]
    resource_type: String,
    #[serde(default)]
    resource_name: String,
    #[serde(default)]
    resource_key: Option<serde_json::Value>,
}

#[derive(Deserialize)]
struct Diagnostic {
    #[serde(default)]
    severity: String,
    #[serde(default)]
    summary: String,
    #[serde(default)]
    detail: String,
    #[serde(default)]
    range: Option<DiagRange>,
}

#[derive(Deserialize)]
struct DiagRange {
    filename: String,
    start: DiagPos,
}

#[derive(Deserialize)]
struct DiagPos {
    line: usize,
    column: usize,
}

/// Whether text looks like the stream: its first line is a JSON object with `@level` or
/// `type: version`.
pub fn looks_like_stream(body: &[u8]) -> bool {
    // The stream's first message is a short `version` line; a plan or state is one long line,
    // which must not be parsed twice just to tell.
    let head = &body[..body.len().min(4097)];
    let first_line = match memchr::memchr(b'\n', head) {
        Some(i) => &head[..i],
        None if head.len() < 4097 => head,
        None => return false,
    };
    #[derive(Deserialize)]
    struct First {
        #[serde(rename = "@level")]
        level: Option<serde::de::IgnoredAny>,
        #[serde(rename = "type")]
        kind: Option<String>,
    }
    match serde_json::from_slice::<First>(first_line) {
        Ok(f) => f.level.is_some() || f.kind.as_deref() == Some("version"),
        Err(_) => false,
    }
}

pub fn load_stream(path: &Path, text: &[u8]) -> Result<Inventory> {
    let mut inv = Inventory::default();
    let mut version: Option<String> = None;
    let mut ui: Option<String> = None;
    for (i, raw) in text.split(|&b| b == b'\n').enumerate() {
        let raw = raw.strip_suffix(b"\r").unwrap_or(raw);
        if raw.iter().all(u8::is_ascii_whitespace) {
            continue;
        }
        let line: Line = serde_json::from_slice(raw).map_err(|e| {
            InputError::new(
                path,
                format!(
                    "line {} is not a `terraform plan -json` message: {e}",
                    i + 1
                ),
            )
            .at(i + 1, e.column())
        })?;
        match line.kind.as_str() {
            "version" => {
                ui = line.ui.clone();
                version = line.terraform.or(line.tofu);
                if let Some(u) = &ui
                    && let Some(major) = u.split('.').next().and_then(|m| m.parse::<u64>().ok())
                    && major >= 2
                {
                    return Err(InputError::new(path, format!("machine-readable UI version {u} is not supported: tfparity reads 0.x and 1.x")).at(i + 1, 1).into());
                }
            }
            "diagnostic" => {
                if let Some(d) = line.diagnostic
                    && (d.severity == "error" || line.level == "error")
                {
                    let place = d
                        .range
                        .map(|r| format!(" at {}:{}:{}", r.filename, r.start.line, r.start.column))
                        .unwrap_or_default();
                    let detail = if d.detail.is_empty() {
                        String::new()
                    } else {
                        format!(": {}", d.detail)
                    };
                    return Err(InputError::new(
                        path,
                        format!("the plan failed with an error{place}: {}{detail}", d.summary),
                    )
                    .at(i + 1, 1)
                    .help("fix the configuration so that `terraform plan` succeeds, then record the stream again")
                    .into());
                }
            }
            "planned_change" => {
                let Some(c) = line.change else { continue };
                let action = match c.action.as_str() {
                    "create" | "import" => Action::Create,
                    "update" | "move" => Action::Update,
                    "replace" => Action::Replace,
                    "delete" => Action::Delete,
                    "remove" | "forget" => Action::Forget,
                    "read" => Action::Read,
                    _ => Action::NoOp,
                };
                let a = c.resource;
                if !action.survives() {
                    inv.removed.push(a.addr);
                    continue;
                }
                let mode = if a.addr.split('.').any(|p| p == "data")
                    && a.addr.contains(&format!("data.{}", a.resource_type))
                {
                    Mode::Data
                } else {
                    Mode::Managed
                };
                let index = match a.resource_key {
                    Some(serde_json::Value::Number(n)) => n.as_i64().map(InstanceKey::Int),
                    Some(serde_json::Value::String(s)) => Some(InstanceKey::Str(s)),
                    _ => None,
                };
                inv.resources.push(Resource {
                    address: a.addr,
                    module: a.module,
                    mode,
                    rtype: a.resource_type,
                    name: a.resource_name,
                    index,
                    // The stream says a resource exists, not what it holds.
                    values: Value::Unknown,
                    config: None,
                    action,
                    span: Some(Span::new(path, i + 1, 1)),
                });
            }
            _ => {}
        }
    }
    if version.is_none() && ui.is_none() {
        return Err(InputError::new(
            path,
            "has no `version` message: it does not look like `terraform plan -json` output",
        )
        .into());
    }
    inv.sources.push(SourceInfo {
        path: path.to_path_buf(),
        kind: SourceKind::PlanStream,
        format_version: ui,
        terraform_version: version,
    });
    super::refuse_hostile(path, &inv.resources, super::ValueStrings::Unchecked)?;
    inv.finish();
    Ok(inv)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_planned_changes() {
        let text = r#"{"@level":"info","type":"version","terraform":"1.11.4","ui":"1.2"}
{"@level":"info","type":"planned_change","change":{"resource":{"addr":"module.svc[\"a\"].google_cloud_run_v2_service.this","module":"module.svc[\"a\"]","resource":"google_cloud_run_v2_service.this","implied_provider":"google","resource_type":"google_cloud_run_v2_service","resource_name":"this","resource_key":null},"action":"create"}}
{"@level":"info","type":"planned_change","change":{"resource":{"addr":"google_x.old","module":"","resource_type":"google_x","resource_name":"old","resource_key":null},"action":"delete"}}
{"@level":"info","type":"change_summary","changes":{"add":1,"change":0,"remove":1,"operation":"plan"}}
"#;
        let inv = load_stream(Path::new("plan.jsonl"), text.as_bytes()).unwrap();
        assert_eq!(inv.resources.len(), 1);
        assert_eq!(inv.resources[0].action, Action::Create);
        assert_eq!(inv.resources[0].module, "module.svc[\"a\"]");
        assert_eq!(inv.removed, vec!["google_x.old".to_string()]);
    }

    #[test]
    fn an_errored_plan_is_an_error() {
        let text = r#"{"@level":"info","type":"version","terraform":"1.11.4","ui":"1.2"}
{"@level":"error","type":"diagnostic","diagnostic":{"severity":"error","summary":"Unsupported argument","detail":"An argument named \"x\" is not expected here.","range":{"filename":"main.tf","start":{"line":3,"column":5,"byte":40},"end":{"line":3,"column":6,"byte":41}}}}
"#;
        let e = load_stream(Path::new("plan.jsonl"), text.as_bytes())
            .unwrap_err()
            .to_string();
        assert!(
            e.contains("the plan failed with an error at main.tf:3:5: Unsupported argument"),
            "{e}"
        );
        assert!(e.starts_with("plan.jsonl:2:1"), "{e}");
    }
}
