//! The `configuration` section of a `terraform show -json` plan: which attributes each resource
//! declaration writes, and the references of each expression. It tells an attribute that is
//! unknown because it was not written (the API default applies) from one written with a value
//! Terraform cannot know yet.

use std::collections::BTreeMap;

use serde::Deserialize;

use crate::inventory::{ConfigBody, ConfigExpr};
use crate::value::Value;

#[derive(Deserialize, Default)]
pub struct RawConfiguration {
    #[serde(default)]
    pub root_module: RawModule,
    #[serde(default)]
    pub provider_config: BTreeMap<String, RawProvider>,
}

#[derive(Deserialize, Default)]
pub struct RawProvider {
    #[serde(default)]
    pub name: String,
    #[serde(default)]
    pub module_address: Option<String>,
    #[serde(default)]
    pub expressions: BTreeMap<String, serde_json::Value>,
}

#[derive(Deserialize, Default)]
pub struct RawModule {
    #[serde(default)]
    pub resources: Vec<RawConfigResource>,
    #[serde(default)]
    pub module_calls: BTreeMap<String, RawModuleCall>,
    #[serde(default)]
    pub variables: BTreeMap<String, RawVariable>,
    #[serde(default)]
    pub outputs: BTreeMap<String, RawOutput>,
}

#[derive(Deserialize)]
pub struct RawConfigResource {
    pub address: String,
    #[serde(default)]
    pub expressions: serde_json::Map<String, serde_json::Value>,
    #[serde(default)]
    pub provider_config_key: Option<String>,
}

#[derive(Deserialize, Default)]
pub struct RawModuleCall {
    #[serde(default)]
    pub source: String,
    #[serde(default)]
    pub expressions: serde_json::Map<String, serde_json::Value>,
    #[serde(default)]
    pub module: RawModule,
}

#[derive(Deserialize, Default)]
pub struct RawVariable {
    /// Absent for a required variable; JSON `null` for `default = null`.
    #[serde(default, deserialize_with = "present")]
    pub default: Option<serde_json::Value>,
}

#[derive(Deserialize, Default)]
pub struct RawOutput {
    #[serde(default)]
    pub expression: Option<serde_json::Value>,
}

/// Keeps `null` as `Some(Null)` so "default = null" differs from "no default".
fn present<'de, D: serde::Deserializer<'de>>(d: D) -> Result<Option<serde_json::Value>, D::Error> {
    serde_json::Value::deserialize(d).map(Some)
}

/// One module of the configuration with its declarations indexed for lookup.
pub struct ModuleTree<'a> {
    pub module: &'a RawModule,
    pub calls: BTreeMap<&'a str, ModuleTree<'a>>,
}

impl<'a> ModuleTree<'a> {
    pub fn new(module: &'a RawModule) -> Self {
        ModuleTree {
            module,
            calls: module
                .module_calls
                .iter()
                .map(|(name, call)| (name.as_str(), ModuleTree::new(&call.module)))
                .collect(),
        }
    }

    /// The module at a path of call names (`["service", "inner"]`).
    fn at(&self, calls: &[String]) -> Option<&ModuleTree<'a>> {
        let mut cur = self;
        for c in calls {
            cur = cur.calls.get(c.as_str())?;
        }
        Some(cur)
    }
}

/// A module instance path split into steps: `module.a["x"].module.b` → [("a", "[\"x\"]"), ("b", "")].
pub fn split_module_path(path: &str) -> Vec<(String, String)> {
    module_steps(path)
        .into_iter()
        .map(|(name, key, _)| (name.to_string(), key.to_string()))
        .collect()
}

/// [`split_module_path`] borrowing its steps, each with the offset in `path` where it ends.
pub fn module_steps(path: &str) -> Vec<(&str, &str, usize)> {
    module_step_iter(path).collect()
}

/// [`module_steps`] one at a time, without a vector: read for every reference of every
/// resource in a module.
pub fn module_step_iter(path: &str) -> impl Iterator<Item = (&str, &str, usize)> {
    let mut rest = path;
    std::iter::from_fn(move || {
        let after = rest.strip_prefix("module.")?;
        let name_end = after.find(['[', '.']).unwrap_or(after.len());
        let name = &after[..name_end];
        let mut tail = &after[name_end..];
        let mut key = "";
        if tail.starts_with('[') {
            let close = closing_bracket(tail).unwrap_or(tail.len() - 1);
            key = &tail[..=close];
            tail = &tail[close + 1..];
        }
        rest = tail.strip_prefix('.').unwrap_or("");
        Some((name, key, path.len() - tail.len()))
    })
}

/// The index of the `]` closing the `[` at the start of `s`, skipping quoted strings.
pub fn closing_bracket(s: &str) -> Option<usize> {
    let mut in_str = false;
    let mut escaped = false;
    for (i, c) in s.char_indices() {
        if in_str {
            match c {
                _ if escaped => escaped = false,
                '\\' => escaped = true,
                '"' => in_str = false,
                _ => {}
            }
        } else if c == '"' {
            in_str = true;
        } else if c == ']' {
            return Some(i);
        }
    }
    None
}

/// Resolves a resource's configuration: its written attributes and blocks, with `var.x`
/// followed through the module calls that set it. References are kept relative to the module
/// instance they are written in (`1^google_x.y` is `google_x.y` one module level above the
/// resource; see [`crate::inventory::Resource::reference`]), so one body serves every instance
/// of a module: thousands of for_each instances share it instead of each holding a copy.
/// Bodies by module call names and local address, written `a.b\0google_x.y` (names hold no
/// `.` or NUL, so the key is unambiguous): one string to build and hash per resource.
type BodyCache = std::sync::Mutex<
    std::collections::HashMap<
        String,
        Option<std::sync::Arc<ConfigBody>>,
        foldhash::fast::RandomState,
    >,
>;

pub struct Resolver<'a> {
    root: ModuleTree<'a>,
    cache: BodyCache,
}

impl<'a> Resolver<'a> {
    pub fn new(config: &'a RawConfiguration) -> Self {
        Resolver {
            root: ModuleTree::new(&config.root_module),
            cache: Default::default(),
        }
    }

    /// The configuration of the resource at `module_path` (instance path, may hold keys) whose
    /// module-relative address without key is `local_address`.
    pub fn resource_config(
        &self,
        module_path: &str,
        local_address: &str,
    ) -> Option<std::sync::Arc<ConfigBody>> {
        // Read for every resource of a plan: the instances of one declaration share a body.
        let mut key = String::with_capacity(module_path.len() + local_address.len() + 1);
        for (i, (name, _, _)) in module_step_iter(module_path).enumerate() {
            if i > 0 {
                key.push('.');
            }
            key.push_str(name);
        }
        key.push('\0');
        key.push_str(local_address);
        if let Some(hit) = self.cache.lock().ok()?.get(&key) {
            return hit.clone();
        }
        let names: Vec<String> = module_step_iter(module_path)
            .map(|(n, _, _)| n.to_string())
            .collect();
        let tree = self.root.at(&names);
        let body = tree
            .and_then(|t| {
                t.module
                    .resources
                    .iter()
                    .find(|r| r.address == local_address)
            })
            .map(|res| std::sync::Arc::new(self.body(&res.expressions, &names, 0)));
        if let Ok(mut cache) = self.cache.lock() {
            cache.insert(key, body.clone());
        }
        body
    }

    fn body(
        &self,
        exprs: &serde_json::Map<String, serde_json::Value>,
        steps: &[String],
        depth: usize,
    ) -> ConfigBody {
        let mut body = ConfigBody::default();
        if depth > 64 {
            return body;
        }
        for (key, v) in exprs {
            match v {
                serde_json::Value::Object(obj) if is_expression(obj) => {
                    body.attributes
                        .insert(key.clone(), self.expression(obj, steps, 0));
                }
                serde_json::Value::Object(obj) => {
                    body.blocks
                        .entry_or_insert_with(key, Vec::new)
                        .push(self.body(obj, steps, depth + 1));
                }
                serde_json::Value::Array(items) => {
                    let blocks = body.blocks.entry_or_insert_with(key, Vec::new);
                    for item in items {
                        if let serde_json::Value::Object(obj) = item {
                            blocks.push(self.body(obj, steps, depth + 1));
                        }
                    }
                }
                _ => {}
            }
        }
        body
    }

    /// An expression as written in the module at `steps`, resolved to absolute references. A
    /// lone `var.x` is followed to what the calling module passes (or the variable's default).
    fn expression(
        &self,
        obj: &serde_json::Map<String, serde_json::Value>,
        steps: &[String],
        hops: usize,
    ) -> ConfigExpr {
        let constant = obj.get("constant_value").map(Value::from_json);
        let refs: Vec<&str> = obj
            .get("references")
            .and_then(|r| r.as_array())
            .map(|a| a.iter().filter_map(|r| r.as_str()).collect())
            .unwrap_or_default();
        if constant.is_none()
            && !steps.is_empty()
            && hops < 32
            && let Some(var) = lone_variable(&refs)
            && let Some(resolved) = self.follow_variable(var, steps, hops)
        {
            return resolved;
        }
        let mut references: Vec<String> = refs.iter().map(|r| relative(r, hops)).collect();
        references.dedup();
        ConfigExpr {
            constant,
            references,
            span: None,
        }
    }

    fn follow_variable(&self, var: &str, steps: &[String], hops: usize) -> Option<ConfigExpr> {
        let (parent_steps, last) = steps.split_at(steps.len() - 1);
        let parent = self.root.at(parent_steps)?;
        let call = parent.module.module_calls.get(&last[0])?;
        match call.expressions.get(var) {
            Some(serde_json::Value::Object(obj)) if is_expression(obj) => {
                Some(self.expression(obj, parent_steps, hops + 1))
            }
            Some(_) => None,
            None => {
                // Not passed: the variable's default applies (null when it has none).
                let default = call
                    .module
                    .variables
                    .get(var)
                    .and_then(|v| v.default.as_ref())
                    .map(Value::from_json)
                    .unwrap_or(Value::Null);
                Some(ConfigExpr {
                    constant: Some(default),
                    references: Vec::new(),
                    span: None,
                })
            }
        }
    }
}

/// Terraform's expression objects hold only `constant_value` and/or `references`; anything
/// else is a nested block.
fn is_expression(obj: &serde_json::Map<String, serde_json::Value>) -> bool {
    obj.keys()
        .all(|k| k == "constant_value" || k == "references")
}

/// `var.x` when the references are exactly one input variable (possibly listed twice, as
/// `var.x.attr` and `var.x`), which is the case a module passes a value straight through.
fn lone_variable<'r>(refs: &[&'r str]) -> Option<&'r str> {
    let mut var: Option<&str> = None;
    for r in refs {
        let rest = r.strip_prefix("var.")?;
        let name = rest.split(['.', '[']).next()?;
        if rest != name {
            // `var.x.attr`: a part of the variable, not the variable itself.
            return None;
        }
        match var {
            Some(v) if v != name => return None,
            _ => var = Some(name),
        }
    }
    var
}

/// Marks a reference written `up` module levels above the resource (`up^reference`).
/// Values that are not resources (`var.`, `local.`, `each.`, `count.`, `path.`,
/// `terraform.`, `self`) stay as written.
fn relative(reference: &str, up: usize) -> String {
    let is_special = [
        "each.",
        "count.",
        "path.",
        "terraform.",
        "self.",
        "var.",
        "local.",
    ]
    .iter()
    .any(|p| reference.starts_with(p));
    if is_special {
        reference.to_string()
    } else {
        format!("{up}^{reference}")
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn config() -> RawConfiguration {
        serde_json::from_value(json!({
            "root_module": {
                "resources": [{
                    "address": "google_service_account.cr",
                    "expressions": {"account_id": {"references": ["each.key"]}}
                }],
                "module_calls": {
                    "service": {
                        "source": "../../modules/svc",
                        "expressions": {
                            "name": {"references": ["each.key"]},
                            "service_account": {"references": ["google_service_account.cr[\"api\"].email", "google_service_account.cr[\"api\"]", "google_service_account.cr"]}
                        },
                        "module": {
                            "resources": [{
                                "address": "google_cloud_run_v2_service.this",
                                "expressions": {
                                    "name": {"references": ["var.name"]},
                                    "ingress": {"references": ["var.ingress"]},
                                    "template": [{
                                        "service_account": {"references": ["var.service_account"]},
                                        "containers": [{"image": {"constant_value": "img"}}]
                                    }],
                                    "timeouts": {"create": {"constant_value": "5m"}}
                                }
                            }],
                            "variables": {
                                "ingress": {"default": "INGRESS_TRAFFIC_ALL"},
                                "name": {},
                                "service_account": {"default": null}
                            }
                        }
                    }
                }
            }
        }))
        .unwrap()
    }

    #[test]
    fn follows_variables_through_module_calls() {
        let cfg = config();
        let r = Resolver::new(&cfg);
        let body = r
            .resource_config(
                "module.service[\"api\"]",
                "google_cloud_run_v2_service.this",
            )
            .unwrap();
        let sa = body.expr("template.service_account").unwrap();
        // Written one module level up, in the root module that calls `service`.
        assert_eq!(
            sa.references[0],
            "1^google_service_account.cr[\"api\"].email"
        );
        let resource = crate::inventory::Resource {
            address: "module.service[\"api\"].google_cloud_run_v2_service.this".into(),
            module: "module.service[\"api\"]".into(),
            mode: crate::inventory::Mode::Managed,
            rtype: "google_cloud_run_v2_service".into(),
            name: "this".into(),
            index: None,
            values: Value::Null,
            config: None,
            action: crate::inventory::Action::Exists,
            span: None,
        };
        assert_eq!(
            resource.reference(&sa.references[0]),
            "google_service_account.cr[\"api\"].email"
        );
        let ingress = body.expr("ingress").unwrap();
        assert_eq!(
            ingress.constant,
            Some(Value::String("INGRESS_TRAFFIC_ALL".into()))
        );
        assert_eq!(body.expr("name").unwrap().references, vec!["each.key"]);
        assert!(body.blocks.contains_key("timeouts"));
        assert_eq!(
            body.expr("template.containers.image").unwrap().constant,
            Some(Value::String("img".into()))
        );
    }

    #[test]
    fn an_unpassed_variable_takes_its_null_default() {
        let mut cfg = config();
        cfg.root_module
            .module_calls
            .get_mut("service")
            .unwrap()
            .expressions
            .remove("service_account");
        let r = Resolver::new(&cfg);
        let body = r
            .resource_config("module.service[\"x\"]", "google_cloud_run_v2_service.this")
            .unwrap();
        assert_eq!(
            body.expr("template.service_account").unwrap().constant,
            Some(Value::Null)
        );
    }

    #[test]
    fn splits_module_paths_with_keys() {
        assert_eq!(
            split_module_path("module.a[\"x.y\"].module.b[0]"),
            vec![
                ("a".to_string(), "[\"x.y\"]".to_string()),
                ("b".to_string(), "[0]".to_string())
            ]
        );
        assert!(split_module_path("").is_empty());
    }
}
