//! Variable type constraints: `string`, `list(object({ a = optional(string, "x") }))` and the
//! rest, applied as Terraform converts values (numbers ↔ strings, optional attribute
//! defaults, sets deduplicated and sorted).

use std::collections::BTreeMap;

use hcl_edit::expr::{Expression, ObjectKey};

use super::eval::{Evaluator, format_number};
use crate::value::Value;

#[derive(Clone, Debug, PartialEq)]
pub enum Ty {
    Any,
    String,
    Number,
    Bool,
    List(Box<Ty>),
    Set(Box<Ty>),
    Map(Box<Ty>),
    Tuple(Vec<Ty>),
    Object(BTreeMap<String, Attr>),
}

#[derive(Clone, Debug, PartialEq)]
pub struct Attr {
    pub ty: Ty,
    pub optional: bool,
    pub default: Option<Value>,
}

/// Parses a type expression. Defaults inside `optional(T, default)` are literals, evaluated
/// with `ev`.
pub fn parse(e: &Expression, ev: &mut Evaluator<'_>) -> Result<Ty, String> {
    match e {
        Expression::Variable(v) => match v.as_str() {
            "string" => Ok(Ty::String),
            "number" => Ok(Ty::Number),
            "bool" => Ok(Ty::Bool),
            "any" => Ok(Ty::Any),
            other => Err(format!("unknown type `{other}`")),
        },
        Expression::FuncCall(f) => {
            let name = f.name.name.as_str();
            let args: Vec<&Expression> = f.args.iter().collect();
            let one = |ev: &mut Evaluator<'_>| -> Result<Ty, String> {
                match args.as_slice() {
                    [a] => parse(a, ev),
                    _ => Err(format!("`{name}(...)` takes one type")),
                }
            };
            match name {
                "list" => Ok(Ty::List(Box::new(one(ev)?))),
                "set" => Ok(Ty::Set(Box::new(one(ev)?))),
                "map" => Ok(Ty::Map(Box::new(one(ev)?))),
                "tuple" => match args.as_slice() {
                    [Expression::Array(a)] => Ok(Ty::Tuple(
                        a.iter().map(|t| parse(t, ev)).collect::<Result<_, _>>()?,
                    )),
                    _ => Err("`tuple` takes a list of types".into()),
                },
                "object" => match args.as_slice() {
                    [Expression::Object(o)] => {
                        let mut attrs = BTreeMap::new();
                        for (k, v) in o.iter() {
                            let key = match k {
                                ObjectKey::Ident(i) => i.as_str().to_string(),
                                ObjectKey::Expression(Expression::String(s)) => {
                                    s.value().to_string()
                                }
                                _ => {
                                    return Err("object attribute names must be identifiers".into());
                                }
                            };
                            attrs.insert(key, attr(v.expr(), ev)?);
                        }
                        Ok(Ty::Object(attrs))
                    }
                    _ => Err("`object` takes an object of attribute types".into()),
                },
                other => Err(format!("unknown type constructor `{other}`")),
            }
        }
        _ => Err("not a type expression".into()),
    }
}

fn attr(e: &Expression, ev: &mut Evaluator<'_>) -> Result<Attr, String> {
    if let Expression::FuncCall(f) = e
        && f.name.name.as_str() == "optional"
    {
        let args: Vec<&Expression> = f.args.iter().collect();
        let ty = parse(args.first().ok_or("`optional` takes a type")?, ev)?;
        let default = match args.get(1) {
            Some(d) => Some(ev.eval(d).map_err(|e| e.message)?),
            None => None,
        };
        return Ok(Attr {
            ty,
            optional: true,
            default,
        });
    }
    Ok(Attr {
        ty: parse(e, ev)?,
        optional: false,
        default: None,
    })
}

/// Converts a value to a type as Terraform does; the error says what did not fit.
pub fn convert(v: Value, ty: &Ty) -> Result<Value, String> {
    if matches!(v, Value::Null) || v.is_unknown() || v == Value::Sensitive {
        return Ok(v);
    }
    match ty {
        Ty::Any => Ok(v),
        Ty::String => match v {
            Value::String(_) => Ok(v),
            Value::Number(n) => Ok(Value::String(format_number(n))),
            Value::Bool(b) => Ok(Value::String(b.to_string())),
            other => Err(format!("a string is required, found {}", other.type_name())),
        },
        Ty::Number => match &v {
            Value::Number(_) => Ok(v),
            Value::String(s) => s
                .trim()
                .parse()
                .map(Value::Number)
                .map_err(|_| format!("a number is required, found {}", unquoted(s))),
            other => Err(format!("a number is required, found {}", other.type_name())),
        },
        Ty::Bool => match &v {
            Value::Bool(_) => Ok(v),
            Value::String(s) if s == "true" || s == "false" => Ok(Value::Bool(s == "true")),
            other => Err(format!("a bool is required, found {}", other.type_name())),
        },
        Ty::List(t) | Ty::Set(t) => {
            let items = match v {
                Value::List(l) => l,
                other => return Err(format!("a list is required, found {}", other.type_name())),
            };
            let mut out = Vec::with_capacity(items.len());
            for (i, x) in items.into_iter().enumerate() {
                out.push(convert(x, t).map_err(|e| format!("element {i}: {e}"))?);
            }
            if matches!(ty, Ty::Set(_)) {
                let mut dedup: Vec<Value> = Vec::new();
                for x in out {
                    if !dedup.contains(&x) {
                        dedup.push(x);
                    }
                }
                if dedup.iter().all(|x| matches!(x, Value::String(_))) {
                    dedup.sort_by(|a, b| a.as_str().cmp(&b.as_str()));
                }
                out = dedup;
            }
            Ok(Value::List(out))
        }
        Ty::Tuple(ts) => match v {
            Value::List(l) if l.len() == ts.len() => Ok(Value::List(
                l.into_iter()
                    .zip(ts)
                    .map(|(x, t)| convert(x, t))
                    .collect::<Result<_, _>>()?,
            )),
            other => Err(format!(
                "a tuple of {} elements is required, found {}",
                ts.len(),
                other.type_name()
            )),
        },
        Ty::Map(t) => match v {
            Value::Map(m) => Ok(Value::Map(
                m.into_iter()
                    .map(|(k, x)| {
                        convert(x, t)
                            .map(|x| (k.clone(), x))
                            .map_err(|e| format!("an element: {e}"))
                    })
                    .collect::<Result<_, _>>()?,
            )),
            other => Err(format!("a map is required, found {}", other.type_name())),
        },
        Ty::Object(attrs) => match v {
            Value::Map(mut m) => {
                let mut out = crate::value::Map::new();
                for (k, a) in attrs {
                    match m.remove(k) {
                        Some(x) if !matches!(x, Value::Null) => {
                            out.insert(
                                k.clone(),
                                convert(x, &a.ty).map_err(|e| format!("attribute `{k}`: {e}"))?,
                            );
                        }
                        _ if a.optional => {
                            let d = match &a.default {
                                Some(d) => convert(d.clone(), &a.ty)?,
                                None => Value::Null,
                            };
                            out.insert(k.clone(), d);
                        }
                        Some(x) => {
                            out.insert(k.clone(), x);
                        }
                        None => return Err(format!("attribute `{k}` is required")),
                    }
                }
                Ok(Value::Map(out))
            }
            other => Err(format!(
                "an object is required, found {}",
                other.type_name()
            )),
        },
    }
}

/// How an error message speaks of a string value: by its length, never its text, which may be
/// a secret (a sensitive variable, a tfvars value) that would end up in a PR comment.
pub(crate) fn unquoted(s: &str) -> String {
    match s.chars().count() {
        0 => "an empty string".to_string(),
        1 => "a string of 1 character".to_string(),
        n => format!("a string of {n} characters"),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ty(src: &str) -> Ty {
        struct Empty;
        impl super::super::eval::Context for Empty {
            fn root(
                &self,
                n: &str,
                _: Option<&str>,
                r: Option<std::ops::Range<usize>>,
            ) -> Result<(Value, bool), super::super::eval::EvalError> {
                Err(super::super::eval::EvalError::new(n, r))
            }
            fn base_dir(&self) -> &std::path::Path {
                std::path::Path::new(".")
            }
        }
        let e = hcl_edit::parser::parse_expr(src).unwrap();
        parse(&e, &mut Evaluator::new(&Empty)).unwrap()
    }

    #[test]
    fn optional_attributes_take_their_defaults() {
        let t = ty(
            r#"map(object({ memory = optional(string, "512Mi"), min = optional(number), image = string }))"#,
        );
        let v = Value::Map(crate::value::Map::from([(
            "api".to_string(),
            Value::Map(crate::value::Map::from([(
                "image".to_string(),
                Value::String("img".into()),
            )])),
        )]));
        let out = convert(v, &t).unwrap();
        let api = out.get("api").unwrap();
        assert_eq!(api.get("memory"), Some(&Value::String("512Mi".into())));
        assert_eq!(api.get("min"), Some(&Value::Null));
    }

    #[test]
    fn primitive_conversions() {
        assert_eq!(
            convert(Value::Number(8080.0), &Ty::String).unwrap(),
            Value::String("8080".into())
        );
        assert_eq!(
            convert(Value::String("3".into()), &Ty::Number).unwrap(),
            Value::Number(3.0)
        );
        assert!(convert(Value::String("x".into()), &Ty::Number).is_err());
        let set = convert(
            Value::List(vec![
                Value::String("b".into()),
                Value::String("a".into()),
                Value::String("b".into()),
            ]),
            &ty("set(string)"),
        )
        .unwrap();
        assert_eq!(
            set,
            Value::List(vec![Value::String("a".into()), Value::String("b".into())])
        );
        assert!(
            convert(
                Value::Map(crate::value::Map::new()),
                &ty("object({ a = string })")
            )
            .is_err()
        );
    }
}
