//! Terraform's JSON configuration syntax (`*.tf.json`), turned into the same syntax tree as
//! native files by writing it out as HCL and parsing that. Strings keep their `${...}`
//! templates. Without provider schemas, a nested JSON object under a resource is a block
//! unless its key is a well-known map argument. Places in `.tf.json` files are approximate:
//! they point into the HCL written from the JSON.

use std::fmt::Write;
use std::path::Path;

use hcl_edit::structure::Body;

use crate::error::{Error, InputError, Result};

/// Arguments that take maps, not blocks, in the resources tfparity reads.
const MAP_ARGUMENTS: &[&str] = &[
    "labels",
    "annotations",
    "limits",
    "tags",
    "environment_variables",
    "default",
    "value",
    "expressions",
    "providers",
    "variables",
];

pub fn to_body(path: &Path, text: &str) -> Result<Body> {
    let json: serde_json::Value = serde_json::from_str(text).map_err(|e| {
        Error::from(
            InputError::new(path, format!("is not valid JSON: {e}")).at(e.line(), e.column()),
        )
    })?;
    let Some(top) = json.as_object() else {
        return Err(InputError::new(path, "must hold a JSON object at the top level").into());
    };
    let mut out = String::new();
    for (kind, v) in top {
        match kind.as_str() {
            "resource" | "data" => {
                for (rtype, by_name) in obj(v) {
                    for (name, body) in obj(by_name) {
                        for b in bodies(body) {
                            let _ = writeln!(out, "{kind} {} {} {{", quote(rtype), quote(name));
                            write_body(&mut out, b, 1, true);
                            out.push_str("}\n");
                        }
                    }
                }
            }
            "module" | "variable" | "output" | "provider" => {
                for (name, body) in obj(v) {
                    for b in bodies(body) {
                        let _ = writeln!(out, "{kind} {} {{", quote(name));
                        write_body(&mut out, b, 1, kind == "provider");
                        out.push_str("}\n");
                    }
                }
            }
            "locals" => {
                for b in bodies(v) {
                    out.push_str("locals {\n");
                    write_body(&mut out, b, 1, false);
                    out.push_str("}\n");
                }
            }
            _ => {}
        }
    }
    crate::syntax::parse_body(&out).map_err(|e| {
        InputError::new(
            path,
            format!("could not be read as Terraform JSON syntax: {}", e.message),
        )
        .into()
    })
}

fn obj(v: &serde_json::Value) -> Vec<(&String, &serde_json::Value)> {
    v.as_object()
        .map(|m| m.iter().collect())
        .unwrap_or_default()
}

/// A block body may be given as an object or an array of objects.
fn bodies(v: &serde_json::Value) -> Vec<&serde_json::Map<String, serde_json::Value>> {
    match v {
        serde_json::Value::Object(m) => vec![m],
        serde_json::Value::Array(a) => a.iter().filter_map(|x| x.as_object()).collect(),
        _ => Vec::new(),
    }
}

fn quote(s: &str) -> String {
    serde_json::to_string(s).unwrap_or_else(|_| "\"\"".into())
}

fn indent(out: &mut String, depth: usize) {
    for _ in 0..depth {
        out.push_str("  ");
    }
}

fn write_body(
    out: &mut String,
    body: &serde_json::Map<String, serde_json::Value>,
    depth: usize,
    blocks_allowed: bool,
) {
    for (k, v) in body {
        if k == "//" {
            continue;
        }
        let is_block = blocks_allowed
            && !MAP_ARGUMENTS.contains(&k.as_str())
            && k != "for_each"
            && match v {
                serde_json::Value::Object(_) => true,
                serde_json::Value::Array(a) => !a.is_empty() && a.iter().all(|x| x.is_object()),
                _ => false,
            };
        if is_block {
            for b in bodies(v) {
                indent(out, depth);
                let _ = writeln!(out, "{k} {{");
                write_body(out, b, depth + 1, true);
                indent(out, depth);
                out.push_str("}\n");
            }
        } else {
            indent(out, depth);
            let _ = writeln!(out, "{} = {}", attr_key(k), expr(v));
        }
    }
}

fn attr_key(k: &str) -> String {
    if !k.is_empty()
        && k.chars()
            .all(|c| c.is_ascii_alphanumeric() || c == '_' || c == '-')
        && !k.starts_with(|c: char| c.is_ascii_digit())
    {
        k.to_string()
    } else {
        quote(k)
    }
}

/// A JSON value as an HCL expression. Strings are templates in JSON syntax; a string that is
/// only `${expr}` is that expression.
fn expr(v: &serde_json::Value) -> String {
    match v {
        serde_json::Value::Null => "null".into(),
        serde_json::Value::Bool(b) => b.to_string(),
        serde_json::Value::Number(n) => n.to_string(),
        serde_json::Value::String(s) => template(s),
        serde_json::Value::Array(a) => {
            format!("[{}]", a.iter().map(expr).collect::<Vec<_>>().join(", "))
        }
        serde_json::Value::Object(m) => format!(
            "{{ {} }}",
            m.iter()
                .map(|(k, v)| format!("{} = {}", quote(k), expr(v)))
                .collect::<Vec<_>>()
                .join(", ")
        ),
    }
}

fn template(s: &str) -> String {
    let mut out = String::from("\"");
    for c in s.chars() {
        match c {
            '"' => out.push_str("\\\""),
            '\\' => out.push_str("\\\\"),
            '\n' => out.push_str("\\n"),
            '\r' => out.push_str("\\r"),
            '\t' => out.push_str("\\t"),
            c => out.push(c),
        }
    }
    out.push('"');
    out
}
