//! The Terraform functions Cloud Run configurations use. Any other function gives an unknown
//! value, not an error: tfparity then says what it could not evaluate instead of guessing.

use std::ops::Range;

use hcl_edit::Span as _;
use hcl_edit::expr::FuncCall;

use super::eval::{EvalError, EvalResult, Evaluator, RESOURCE_MARKER, equal, format_number};
use crate::value::Value;

/// Calls `name` with the arguments of `f`.
pub fn call(
    ev: &mut Evaluator<'_>,
    name: &str,
    f: &FuncCall,
    range: Option<Range<usize>>,
) -> EvalResult {
    let name = name.strip_prefix("core::").unwrap_or(name);
    match name {
        "try" => {
            let mut last: Option<EvalError> = None;
            for arg in f.args.iter() {
                match ev.eval(arg) {
                    Ok(v) if v.contains_unknown() => return Ok(Value::Unknown),
                    Ok(v) => return Ok(v),
                    Err(e) => last = Some(e),
                }
            }
            return Err(EvalError::new(
                format!(
                    "no expression given to try() succeeded{}",
                    last.map(|e| format!(" (last: {})", e.message))
                        .unwrap_or_default()
                ),
                range,
            ));
        }
        "can" => {
            let Some(arg) = f.args.iter().next() else {
                return Err(EvalError::new("can() takes one argument", range));
            };
            return Ok(match ev.eval(arg) {
                Ok(v) if v.contains_unknown() => Value::Unknown,
                Ok(_) => Value::Bool(true),
                Err(_) => Value::Bool(false),
            });
        }
        _ => {}
    }
    let mut args: Vec<Value> = Vec::with_capacity(f.args.len());
    for a in f.args.iter() {
        args.push(ev.eval(a)?);
    }
    if f.args.expand_final() {
        match args.pop() {
            Some(Value::List(items)) => args.extend(items),
            Some(v) if v.is_unknown() => return Ok(Value::Unknown),
            Some(_) => return Err(EvalError::new("`...` expands a list or tuple", range)),
            None => {}
        }
    }
    if args.contains(&Value::Sensitive) && !matches!(name, "nonsensitive" | "length") {
        return Ok(Value::Sensitive);
    }
    let err = |msg: String| EvalError::new(format!("{name}(): {msg}"), range.clone());
    let whole_unknown = args
        .iter()
        .find(|a| a.is_unknown())
        .map(|a| a.unknown_like());
    // Functions that accept unknown elements or arguments handle them; the rest are unknown
    // as soon as one argument is.
    let tolerant = matches!(
        name,
        "coalesce"
            | "merge"
            | "concat"
            | "length"
            | "tolist"
            | "toset"
            | "tomap"
            | "compact"
            | "flatten"
            | "keys"
            | "one"
            | "sensitive"
            | "nonsensitive"
            | "element"
            | "lookup"
    );
    if let Some(u) = &whole_unknown
        && !tolerant
    {
        return Ok(u.clone());
    }
    let r = match name {
        "length" => match args.as_slice() {
            [Value::String(s)] => Value::Number(s.chars().count() as f64),
            [Value::List(l)] => Value::Number(l.len() as f64),
            [Value::Map(m)] => {
                Value::Number(m.keys().filter(|k| *k != RESOURCE_MARKER).count() as f64)
            }
            [v] if v.is_unknown() => Value::Unknown,
            _ => return Err(err("takes a string, list or map".into())),
        },
        "merge" => {
            if let Some(u) = whole_unknown {
                return Ok(u);
            }
            let mut out = crate::value::Map::new();
            for a in args {
                match a {
                    Value::Map(m) => out.extend(m),
                    Value::Null => {}
                    _ => return Err(err("takes maps or objects".into())),
                }
            }
            Value::Map(out)
        }
        "concat" => {
            if let Some(u) = whole_unknown {
                return Ok(u);
            }
            let mut out = Vec::new();
            for a in args {
                match a {
                    Value::List(l) => out.extend(l),
                    _ => return Err(err("takes lists".into())),
                }
            }
            Value::List(out)
        }
        "lookup" => match args.as_slice() {
            [m, k] | [m, k, _] if m.is_unknown() || k.is_unknown() => Value::Unknown,
            [Value::Map(m), Value::String(k)] => m.get(k).cloned().ok_or_else(|| {
                err(format!(
                    "the map has no such key ({})",
                    super::types::unquoted(k)
                ))
            })?,
            [Value::Map(m), Value::String(k), d] => m.get(k).cloned().unwrap_or_else(|| d.clone()),
            _ => return Err(err("takes a map, a key and an optional default".into())),
        },
        "coalesce" => {
            for a in &args {
                match a {
                    Value::Null => continue,
                    Value::String(s) if s.is_empty() => continue,
                    v if v.is_unknown() => return Ok(Value::Unknown),
                    v => return Ok(v.clone()),
                }
            }
            return Err(err("no non-null, non-empty argument".into()));
        }
        "coalescelist" => {
            for a in &args {
                if let Value::List(l) = a
                    && !l.is_empty()
                {
                    return Ok(a.clone());
                }
            }
            return Err(err("no non-empty list".into()));
        }
        "format" => format(&args).map_err(err)?,
        "formatlist" => formatlist(&args).map_err(err)?,
        "join" => match args.as_slice() {
            [Value::String(sep), rest @ ..] => {
                let mut parts = Vec::new();
                for l in rest {
                    for v in l.as_list() {
                        match v {
                            Value::String(s) => parts.push(s.clone()),
                            Value::Number(n) => parts.push(format_number(*n)),
                            Value::Bool(b) => parts.push(b.to_string()),
                            v if v.is_unknown() => return Ok(Value::Unknown),
                            _ => return Err(err("joins strings".into())),
                        }
                    }
                }
                Value::String(parts.join(sep))
            }
            _ => return Err(err("takes a separator and lists".into())),
        },
        "split" => match args.as_slice() {
            [Value::String(sep), Value::String(s)] => {
                if s.is_empty() {
                    Value::List(vec![])
                } else {
                    Value::List(
                        s.split(sep.as_str())
                            .map(|p| Value::String(p.into()))
                            .collect(),
                    )
                }
            }
            _ => return Err(err("takes a separator and a string".into())),
        },
        "keys" => match args.as_slice() {
            [Value::Map(m)] => Value::List(
                m.keys()
                    .filter(|k| *k != RESOURCE_MARKER)
                    .map(|k| Value::String(k.to_string()))
                    .collect(),
            ),
            [v] if v.is_unknown() => Value::Unknown,
            _ => return Err(err("takes a map".into())),
        },
        "values" => match args.as_slice() {
            [Value::Map(m)] => Value::List(
                m.iter()
                    .filter(|(k, _)| *k != RESOURCE_MARKER)
                    .map(|(_, v)| v.clone())
                    .collect(),
            ),
            _ => return Err(err("takes a map".into())),
        },
        "contains" => match args.as_slice() {
            [Value::List(l), v] => {
                if l.iter().any(|x| x.is_unknown()) && !l.iter().any(|x| equal(x, v)) {
                    Value::Unknown
                } else {
                    Value::Bool(l.iter().any(|x| equal(x, v)))
                }
            }
            _ => return Err(err("takes a list and a value".into())),
        },
        "tostring" => match args.as_slice() {
            [Value::String(s)] => Value::String(s.clone()),
            [Value::Number(n)] => Value::String(format_number(*n)),
            [Value::Bool(b)] => Value::String(b.to_string()),
            [Value::Null] => Value::Null,
            _ => return Err(err("cannot convert to a string".into())),
        },
        "tonumber" => match args.as_slice() {
            [Value::Number(n)] => Value::Number(*n),
            [Value::String(s)] => Value::Number(
                s.trim()
                    .parse()
                    .map_err(|_| err(format!("{} is not a number", super::types::unquoted(s))))?,
            ),
            [Value::Null] => Value::Null,
            _ => return Err(err("cannot convert to a number".into())),
        },
        "tobool" => match args.as_slice() {
            [Value::Bool(b)] => Value::Bool(*b),
            [Value::String(s)] if s == "true" || s == "false" => Value::Bool(s == "true"),
            [Value::Null] => Value::Null,
            _ => return Err(err("cannot convert to a bool".into())),
        },
        "tolist" => match args.into_iter().next() {
            Some(l @ Value::List(_)) => l,
            Some(v) if v.is_unknown() => v,
            _ => return Err(err("takes a list or set".into())),
        },
        "toset" => match args.into_iter().next() {
            Some(Value::List(l)) => to_set(l),
            Some(v) if v.is_unknown() => v,
            _ => return Err(err("takes a list or set".into())),
        },
        "tomap" => match args.into_iter().next() {
            Some(m @ Value::Map(_)) => m,
            Some(v) if v.is_unknown() => v,
            _ => return Err(err("takes a map or object".into())),
        },
        "zipmap" => match args.as_slice() {
            [Value::List(k), Value::List(v)] => {
                if k.len() != v.len() {
                    return Err(err("the lists must have the same length".into()));
                }
                // Sorted once at the end; the last of a repeated key wins.
                let mut out = Vec::with_capacity(k.len());
                for (k, v) in k.iter().zip(v) {
                    match k {
                        Value::String(s) => out.push((s.clone(), v.clone())),
                        k if k.is_unknown() => return Ok(Value::Unknown),
                        _ => return Err(err("keys must be strings".into())),
                    }
                }
                Value::Map(out.into_iter().collect())
            }
            _ => return Err(err("takes two lists".into())),
        },
        "flatten" => {
            fn flat(v: &Value, out: &mut Vec<Value>) {
                match v {
                    Value::List(l) => l.iter().for_each(|x| flat(x, out)),
                    other => out.push(other.clone()),
                }
            }
            match args.as_slice() {
                [l @ Value::List(_)] => {
                    let mut out = Vec::new();
                    flat(l, &mut out);
                    Value::List(out)
                }
                [v] if v.is_unknown() => Value::Unknown,
                _ => return Err(err("takes a list".into())),
            }
        }
        "distinct" => match args.into_iter().next() {
            Some(Value::List(l)) => Value::List(distinct(l)),
            _ => return Err(err("takes a list".into())),
        },
        "lower" => string_fn(&args, str::to_lowercase).map_err(err)?,
        "upper" => string_fn(&args, str::to_uppercase).map_err(err)?,
        "trimspace" => string_fn(&args, |s| s.trim().to_string()).map_err(err)?,
        "title" => string_fn(&args, |s| {
            s.split(' ')
                .map(|w| {
                    let mut c = w.chars();
                    c.next()
                        .map(|f| f.to_uppercase().collect::<String>() + c.as_str())
                        .unwrap_or_default()
                })
                .collect::<Vec<_>>()
                .join(" ")
        })
        .map_err(err)?,
        "replace" => match args.as_slice() {
            [Value::String(s), Value::String(from), Value::String(to)] => {
                if from.len() > 2 && from.starts_with('/') && from.ends_with('/') {
                    return Ok(Value::Unknown); // regular expressions are not evaluated
                }
                Value::String(s.replace(from.as_str(), to))
            }
            _ => return Err(err("takes three strings".into())),
        },
        "trim" => match args.as_slice() {
            [Value::String(s), Value::String(cut)] => {
                Value::String(s.trim_matches(|c| cut.contains(c)).to_string())
            }
            _ => return Err(err("takes two strings".into())),
        },
        "trimprefix" => match args.as_slice() {
            [Value::String(s), Value::String(p)] => {
                Value::String(s.strip_prefix(p.as_str()).unwrap_or(s).to_string())
            }
            _ => return Err(err("takes two strings".into())),
        },
        "trimsuffix" => match args.as_slice() {
            [Value::String(s), Value::String(p)] => {
                Value::String(s.strip_suffix(p.as_str()).unwrap_or(s).to_string())
            }
            _ => return Err(err("takes two strings".into())),
        },
        "substr" => match args.as_slice() {
            [Value::String(s), off, len] => {
                let chars: Vec<char> = s.chars().collect();
                let n = chars.len() as i64;
                let mut o = off
                    .as_f64()
                    .ok_or_else(|| err("offset must be a number".into()))?
                    as i64;
                let l = len
                    .as_f64()
                    .ok_or_else(|| err("length must be a number".into()))?
                    as i64;
                if o < 0 {
                    o += n;
                }
                let o = o.clamp(0, n) as usize;
                let end = if l < 0 {
                    n as usize
                } else {
                    (o + l as usize).min(n as usize)
                };
                Value::String(chars[o..end].iter().collect())
            }
            _ => return Err(err("takes a string, an offset and a length".into())),
        },
        "startswith" => match args.as_slice() {
            [Value::String(s), Value::String(p)] => Value::Bool(s.starts_with(p.as_str())),
            _ => return Err(err("takes two strings".into())),
        },
        "endswith" => match args.as_slice() {
            [Value::String(s), Value::String(p)] => Value::Bool(s.ends_with(p.as_str())),
            _ => return Err(err("takes two strings".into())),
        },
        "strcontains" => match args.as_slice() {
            [Value::String(s), Value::String(p)] => Value::Bool(s.contains(p.as_str())),
            _ => return Err(err("takes two strings".into())),
        },
        "jsonencode" => match args.as_slice() {
            [v] if v.contains_unknown() => Value::Unknown,
            [v] => {
                let mut clean = v.clone();
                super::eval::strip_markers(&mut clean);
                Value::String(terraform_json(&clean).map_err(|e| err(e.to_string()))?)
            }
            _ => return Err(err("takes one value".into())),
        },
        "jsondecode" => match args.as_slice() {
            [Value::String(s)] => Value::from_json(
                &serde_json::from_str(s).map_err(|e| err(format!("invalid JSON: {e}")))?,
            ),
            _ => return Err(err("takes a string".into())),
        },
        "element" => match args.as_slice() {
            [Value::List(l), i] => match i.as_f64() {
                Some(_) if l.is_empty() => {
                    return Err(err("cannot take an element of an empty list".into()));
                }
                Some(n) => l[(n as usize) % l.len()].clone(),
                None if i.is_unknown() => Value::Unknown,
                None => return Err(err("the index must be a number".into())),
            },
            [v, _] if v.is_unknown() => Value::Unknown,
            _ => return Err(err("takes a list and an index".into())),
        },
        "index" => match args.as_slice() {
            [Value::List(l), v] => Value::Number(
                l.iter()
                    .position(|x| equal(x, v))
                    .ok_or_else(|| err("value not found".into()))? as f64,
            ),
            _ => return Err(err("takes a list and a value".into())),
        },
        "range" => {
            let nums: Option<Vec<f64>> = args.iter().map(Value::as_f64).collect();
            let nums = nums.ok_or_else(|| err("takes numbers".into()))?;
            let (start, end, step) = match nums.as_slice() {
                [e] => (0.0, *e, 1.0),
                [s, e] => (*s, *e, if s <= e { 1.0 } else { -1.0 }),
                [s, e, st] => (*s, *e, *st),
                _ => return Err(err("takes 1 to 3 numbers".into())),
            };
            if step == 0.0 {
                return Err(err("the step must not be zero".into()));
            }
            let count = ((end - start) / step).ceil().max(0.0);
            if count > 1_000_000.0 {
                return Err(err(format!(
                    "would make {count} elements; tfparity stops at 1,000,000"
                )));
            }
            Value::List(
                (0..count as usize)
                    .map(|i| Value::Number(start + i as f64 * step))
                    .collect(),
            )
        }
        "compact" => match args.into_iter().next() {
            Some(Value::List(l)) => Value::List(
                l.into_iter()
                    .filter(|v| {
                        !matches!(v, Value::Null) && !matches!(v, Value::String(s) if s.is_empty())
                    })
                    .collect(),
            ),
            Some(v) if v.is_unknown() => v,
            _ => return Err(err("takes a list of strings".into())),
        },
        "one" => match args.into_iter().next() {
            Some(Value::List(l)) => match l.len() {
                0 => Value::Null,
                1 => l.into_iter().next().expect("one"),
                n => return Err(err(format!("the list has {n} elements"))),
            },
            Some(v) if v.is_unknown() => v,
            _ => return Err(err("takes a list".into())),
        },
        "sort" => match args.as_slice() {
            [Value::List(l)] => {
                let mut s: Vec<String> = Vec::new();
                for v in l {
                    match v {
                        Value::String(x) => s.push(x.clone()),
                        Value::Number(n) => s.push(format_number(*n)),
                        v if v.is_unknown() => return Ok(Value::Unknown),
                        _ => return Err(err("sorts strings".into())),
                    }
                }
                s.sort();
                Value::List(s.into_iter().map(Value::String).collect())
            }
            _ => return Err(err("takes a list".into())),
        },
        "reverse" => match args.into_iter().next() {
            Some(Value::List(mut l)) => {
                l.reverse();
                Value::List(l)
            }
            _ => return Err(err("takes a list".into())),
        },
        "slice" => match args.as_slice() {
            [Value::List(l), s, e] => {
                let (s, e) = (
                    s.as_f64().unwrap_or(0.0) as usize,
                    e.as_f64().unwrap_or(0.0) as usize,
                );
                if s > e || e > l.len() {
                    return Err(err("indices out of range".into()));
                }
                Value::List(l[s..e].to_vec())
            }
            _ => return Err(err("takes a list and two indices".into())),
        },
        "min" | "max" => {
            let nums: Option<Vec<f64>> = args.iter().map(Value::as_f64).collect();
            let nums = nums.ok_or_else(|| err("takes numbers".into()))?;
            let r = if name == "min" {
                nums.iter().cloned().fold(f64::INFINITY, f64::min)
            } else {
                nums.iter().cloned().fold(f64::NEG_INFINITY, f64::max)
            };
            Value::Number(r)
        }
        "abs" => Value::Number(
            args.first()
                .and_then(Value::as_f64)
                .ok_or_else(|| err("takes a number".into()))?
                .abs(),
        ),
        "ceil" => Value::Number(
            args.first()
                .and_then(Value::as_f64)
                .ok_or_else(|| err("takes a number".into()))?
                .ceil(),
        ),
        "pow" => match args.as_slice() {
            [a, b] => match (a.as_f64(), b.as_f64()) {
                (Some(a), Some(b)) => Value::Number(a.powf(b)),
                _ => return Err(err("takes two numbers".into())),
            },
            _ => return Err(err("takes two numbers".into())),
        },
        "signum" => Value::Number(
            args.first()
                .and_then(Value::as_f64)
                .map(|n| if n == 0.0 { 0.0 } else { n.signum() })
                .ok_or_else(|| err("takes a number".into()))?,
        ),
        "parseint" => match args.as_slice() {
            [Value::String(text), base] => {
                let base = base
                    .as_f64()
                    .filter(|b| b.fract() == 0.0 && (2.0..=62.0).contains(b))
                    .ok_or_else(|| err("the base must be a whole number from 2 to 62".into()))?;
                parse_int(text, base as u32)
                    .map(Value::Number)
                    .ok_or_else(|| {
                        err(format!(
                            "cannot parse {} as a base {base} integer",
                            super::types::unquoted(text)
                        ))
                    })?
            }
            _ => return Err(err("takes a string and a base".into())),
        },
        "floor" => Value::Number(
            args.first()
                .and_then(Value::as_f64)
                .ok_or_else(|| err("takes a number".into()))?
                .floor(),
        ),
        "sum" => Value::Number(
            args.first()
                .map(|l| l.as_list().iter().filter_map(Value::as_f64).sum())
                .unwrap_or(0.0),
        ),
        "alltrue" => Value::Bool(
            args.first()
                .is_some_and(|l| l.as_list().iter().all(|v| v.as_bool() == Some(true))),
        ),
        "anytrue" => Value::Bool(
            args.first()
                .is_some_and(|l| l.as_list().iter().any(|v| v.as_bool() == Some(true))),
        ),
        "setunion" => {
            let mut all = Vec::new();
            for a in args {
                all.extend(a.as_list().to_vec());
            }
            to_set(all)
        }
        "sensitive" => Value::Sensitive,
        "nonsensitive" => match args.into_iter().next() {
            // The value was dropped when it was marked sensitive.
            Some(Value::Sensitive) => Value::Unknown,
            Some(v) => v,
            None => return Err(err("takes one value".into())),
        },
        "file" => match args.as_slice() {
            [Value::String(p)] => {
                let path = ev.ctx.base_dir().join(p);
                Value::String(read_text_file(&path).map_err(err)?)
            }
            _ => return Err(err("takes a path".into())),
        },
        "fileexists" => match args.as_slice() {
            [Value::String(p)] => Value::Bool(ev.ctx.base_dir().join(p).is_file()),
            _ => return Err(err("takes a path".into())),
        },
        "templatefile" => match args.as_slice() {
            [Value::String(p), Value::Map(vars)] => {
                let path = ev.ctx.base_dir().join(p);
                let text = read_text_file(&path).map_err(err)?;
                let tpl = hcl_edit::parser::parse_template(&text).map_err(|e| {
                    err(format!(
                        "{} is not a valid template: {}",
                        path.display(),
                        e.message()
                    ))
                })?;
                let scope = TemplateScope {
                    dir: ev.ctx.base_dir().to_path_buf(),
                };
                let mut inner = Evaluator::new(&scope);
                for (k, v) in vars {
                    inner.iter_vars.push((k.to_string(), v.clone()));
                }
                inner
                    .template(&tpl)
                    .map_err(|e| err(format!("in {}: {}", path.display(), e.message)))?
            }
            _ => return Err(err("takes a path and a map of variables".into())),
        },
        _ => {
            // Not implemented here: unknown, so checks that depend on it ask for review.
            let _ = f.span();
            return Ok(Value::Unknown);
        }
    };
    Ok(r)
}

/// The largest file `file` and `templatefile` read: a configuration is text written by people.
pub const MAX_FILE_BYTES: u64 = 16 << 20;

/// Reads a file for `file`/`templatefile`: a regular file (never a device or a FIFO such as
/// `/dev/zero` or `/dev/stdin`, which would never end or block) of at most [`MAX_FILE_BYTES`].
fn read_text_file(path: &std::path::Path) -> Result<String, String> {
    use std::io::Read;
    let shown = path.display();
    let meta = std::fs::metadata(path).map_err(|e| format!("cannot read {shown}: {e}"))?;
    if !meta.is_file() {
        return Err(format!("cannot read {shown}: not a regular file"));
    }
    if meta.len() > MAX_FILE_BYTES {
        return Err(format!(
            "cannot read {shown}: {} bytes, over the {} MiB tfparity reads",
            meta.len(),
            MAX_FILE_BYTES >> 20
        ));
    }
    let mut text = String::new();
    std::fs::File::open(path)
        .and_then(|f| f.take(MAX_FILE_BYTES + 1).read_to_string(&mut text))
        .map_err(|e| format!("cannot read {shown}: {e}"))?;
    if text.len() as u64 > MAX_FILE_BYTES {
        return Err(format!(
            "cannot read {shown}: over the {} MiB tfparity reads",
            MAX_FILE_BYTES >> 20
        ));
    }
    Ok(text)
}

/// A `templatefile` template sees only the variables it is given.
struct TemplateScope {
    dir: std::path::PathBuf,
}

impl super::eval::Context for TemplateScope {
    fn root(
        &self,
        name: &str,
        _attr: Option<&str>,
        range: Option<Range<usize>>,
    ) -> Result<(Value, bool), EvalError> {
        Err(EvalError::new(
            format!("`{name}` is not a variable of this template"),
            range,
        ))
    }

    fn base_dir(&self) -> &std::path::Path {
        &self.dir
    }
}

fn string_fn(args: &[Value], f: impl Fn(&str) -> String) -> Result<Value, String> {
    match args {
        [Value::String(s)] => Ok(Value::String(f(s))),
        _ => Err("takes a string".into()),
    }
}

/// Sets of strings come out sorted, as Terraform orders them.
fn to_set(items: Vec<Value>) -> Value {
    if items.iter().all(|v| matches!(v, Value::String(_))) {
        let set: std::collections::BTreeSet<String> = items
            .into_iter()
            .filter_map(|v| match v {
                Value::String(s) => Some(s),
                _ => None,
            })
            .collect();
        return Value::List(set.into_iter().map(Value::String).collect());
    }
    Value::List(distinct(items))
}

/// The first occurrence of each value, in order; linear for strings and numbers.
fn distinct(items: Vec<Value>) -> Vec<Value> {
    let mut seen_text: std::collections::HashSet<String> = std::collections::HashSet::new();
    let mut out: Vec<Value> = Vec::new();
    for v in items {
        let key = match &v {
            Value::String(s) => Some(format!("s{s}")),
            Value::Number(n) => Some(format!("n{n}")),
            Value::Bool(b) => Some(format!("b{b}")),
            _ => None,
        };
        match key {
            Some(k) => {
                if seen_text.insert(k) {
                    out.push(v);
                }
            }
            None => {
                if !out.iter().any(|x| equal(x, &v)) {
                    out.push(v);
                }
            }
        }
    }
    out
}

/// `format` with Terraform's verbs: %s %d %f %v %q %t %%, with widths and precision.
fn format(args: &[Value]) -> Result<Value, String> {
    let Some(Value::String(spec)) = args.first() else {
        return Err("takes a format string".into());
    };
    let mut out = String::new();
    let mut rest = args[1..].iter();
    let mut chars = spec.chars().peekable();
    while let Some(c) = chars.next() {
        if c != '%' {
            out.push(c);
            continue;
        }
        let mut flags = String::new();
        while let Some(&d) = chars.peek() {
            if d.is_ascii_digit() || d == '.' || d == '-' || d == '+' || d == '#' || d == ' ' {
                flags.push(d);
                chars.next();
            } else {
                break;
            }
        }
        let verb = chars.next().ok_or("the format ends with `%`")?;
        if verb == '%' {
            out.push('%');
            continue;
        }
        let arg = rest.next().ok_or("not enough arguments for the format")?;
        if arg.is_unknown() {
            return Ok(Value::Unknown);
        }
        let (left, width, prec) = parse_flags(&flags);
        let s = match verb {
            's' | 'v' => match arg {
                Value::String(s) => s.clone(),
                Value::Number(n) => format_number(*n),
                Value::Bool(b) => b.to_string(),
                other => serde_json::to_string(&other.to_json()).unwrap_or_default(),
            },
            'd' => format_number(arg.as_f64().ok_or("%d needs a number")?.trunc()),
            'f' => format!(
                "{:.*}",
                prec.unwrap_or(6),
                arg.as_f64().ok_or("%f needs a number")?
            ),
            'q' => {
                serde_json::to_string(arg.as_str().ok_or("%q needs a string")?).unwrap_or_default()
            }
            't' => arg.as_bool().ok_or("%t needs a bool")?.to_string(),
            other => return Err(format!("unsupported format verb %{other}")),
        };
        let pad = width.saturating_sub(s.chars().count());
        if left {
            out.push_str(&s);
            out.extend(std::iter::repeat_n(' ', pad));
        } else {
            let fill = if flags.starts_with('0') && matches!(verb, 'd' | 'f') {
                '0'
            } else {
                ' '
            };
            out.extend(std::iter::repeat_n(fill, pad));
            out.push_str(&s);
        }
    }
    Ok(Value::String(out))
}

fn parse_flags(flags: &str) -> (bool, usize, Option<usize>) {
    let left = flags.contains('-');
    let digits: String = flags
        .chars()
        .filter(|c| c.is_ascii_digit() || *c == '.')
        .collect();
    let (w, p) = match digits.split_once('.') {
        Some((w, p)) => (w, Some(p.parse().unwrap_or(0))),
        None => (digits.as_str(), None),
    };
    (left, w.trim_start_matches('0').parse().unwrap_or(0), p)
}

fn formatlist(args: &[Value]) -> Result<Value, String> {
    let n = args[1..]
        .iter()
        .filter_map(|a| match a {
            Value::List(l) => Some(l.len()),
            _ => None,
        })
        .max()
        .unwrap_or(1);
    let mut out = Vec::new();
    for i in 0..n {
        let mut call_args = vec![args.first().cloned().unwrap_or(Value::Null)];
        for a in &args[1..] {
            call_args.push(match a {
                Value::List(l) => l
                    .get(i)
                    .cloned()
                    .ok_or("the lists must have the same length")?,
                other => other.clone(),
            });
        }
        out.push(format(&call_args)?);
    }
    Ok(Value::List(out))
}

/// JSON as Terraform's `jsonencode` writes it: whole numbers without a fraction (`1`, not
/// `1.0`), object keys sorted, and `<`, `>`, `&`, U+2028 and U+2029 escaped (Go's encoder).
fn terraform_json(v: &Value) -> serde_json::Result<String> {
    fn convert(v: &Value) -> serde_json::Value {
        match v {
            Value::Number(n) if n.fract() == 0.0 && n.abs() < 9.0e15 => {
                serde_json::Value::from(*n as i64)
            }
            Value::List(l) => serde_json::Value::Array(l.iter().map(convert).collect()),
            Value::Map(m) => serde_json::Value::Object(
                m.iter().map(|(k, v)| (k.to_string(), convert(v))).collect(),
            ),
            other => other.to_json(),
        }
    }
    let text = serde_json::to_string(&convert(v))?;
    Ok(text
        .replace('<', "\\u003c")
        .replace('>', "\\u003e")
        .replace('&', "\\u0026")
        .replace('\u{2028}', "\\u2028")
        .replace('\u{2029}', "\\u2029"))
}

/// `parseint`: an optional sign, then digits of `base` (0-9, a-z, A-Z as Go's big.Int reads
/// them for bases up to 62).
fn parse_int(text: &str, base: u32) -> Option<f64> {
    let (neg, digits) = match text.strip_prefix('-') {
        Some(rest) => (true, rest),
        None => (false, text.strip_prefix('+').unwrap_or(text)),
    };
    if digits.is_empty() {
        return None;
    }
    let mut n: f64 = 0.0;
    for c in digits.chars() {
        let d = match c {
            '0'..='9' => c as u32 - '0' as u32,
            'a'..='z' if base <= 36 => c as u32 - 'a' as u32 + 10,
            'A'..='Z' if base <= 36 => c as u32 - 'A' as u32 + 10,
            'a'..='z' => c as u32 - 'a' as u32 + 10,
            'A'..='Z' => c as u32 - 'A' as u32 + 36,
            _ => return None,
        };
        if d >= base {
            return None;
        }
        n = n * f64::from(base) + f64::from(d);
    }
    Some(if neg { -n } else { n })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn eval(src: &str) -> Value {
        struct Empty;
        impl super::super::eval::Context for Empty {
            fn root(
                &self,
                name: &str,
                _: Option<&str>,
                range: Option<Range<usize>>,
            ) -> Result<(Value, bool), EvalError> {
                if name == "unknown" {
                    return Ok((Value::Unknown, false));
                }
                Err(EvalError::new(format!("no {name}"), range))
            }
            fn base_dir(&self) -> &std::path::Path {
                std::path::Path::new(".")
            }
        }
        let e = hcl_edit::parser::parse_expr(src).unwrap();
        Evaluator::new(&Empty).eval(&e).unwrap()
    }

    fn s(v: &str) -> Value {
        Value::String(v.into())
    }

    #[test]
    fn string_functions() {
        assert_eq!(eval(r#"format("%s-%03d", "api", 7)"#), s("api-007"));
        assert_eq!(eval(r#"join(",", ["a", "b"])"#), s("a,b"));
        assert_eq!(
            eval(r#"split(",", "a,b")"#),
            Value::List(vec![s("a"), s("b")])
        );
        assert_eq!(eval(r#"upper(lower("AbC"))"#), s("ABC"));
        assert_eq!(eval(r#"replace("a-b-c", "-", "_")"#), s("a_b_c"));
        assert_eq!(eval(r#"substr("hello", 1, 3)"#), s("ell"));
        assert_eq!(eval(r#"trimspace("  x ")"#), s("x"));
        assert_eq!(eval(r#"startswith("cr-api", "cr-")"#), Value::Bool(true));
    }

    #[test]
    fn collection_functions() {
        assert_eq!(
            eval(r#"length(merge({a = 1}, {b = 2}))"#),
            Value::Number(2.0)
        );
        assert_eq!(eval(r#"lookup({a = "x"}, "b", "d")"#), s("d"));
        assert_eq!(
            eval(r#"keys({b = 1, a = 2})"#),
            Value::List(vec![s("a"), s("b")])
        );
        assert_eq!(
            eval(r#"flatten([[1], [2, [3]]])"#),
            Value::List(vec![
                Value::Number(1.0),
                Value::Number(2.0),
                Value::Number(3.0)
            ])
        );
        assert_eq!(
            eval(r#"toset(["b", "a", "b"])"#),
            Value::List(vec![s("a"), s("b")])
        );
        assert_eq!(
            eval(r#"zipmap(["a"], [1])"#),
            Value::Map(crate::value::Map::from([("a", Value::Number(1.0))]))
        );
        assert_eq!(
            eval(r#"compact(["a", "", null])"#),
            Value::List(vec![s("a")])
        );
        assert_eq!(eval(r#"one([])"#), Value::Null);
        assert_eq!(eval(r#"coalesce(null, "", "x")"#), s("x"));
        assert_eq!(eval(r#"element(["a", "b"], 3)"#), s("b"));
        assert_eq!(
            eval(r#"range(3)"#),
            Value::List(vec![
                Value::Number(0.0),
                Value::Number(1.0),
                Value::Number(2.0)
            ])
        );
        assert_eq!(
            eval(r#"jsonencode({ b = [1, "x", 2.5], a = "<&>" })"#),
            s(r#"{"a":"\u003c\u0026\u003e","b":[1,"x",2.5]}"#),
            "whole numbers without a fraction, HTML characters escaped, as Terraform"
        );
        assert_eq!(eval(r#"parseint("ff", 16)"#), Value::Number(255.0));
        assert_eq!(eval(r#"parseint("-101", 2)"#), Value::Number(-5.0));
        assert_eq!(eval(r#"pow(2, 9)"#), Value::Number(512.0));
        assert_eq!(eval(r#"signum(-3)"#), Value::Number(-1.0));
        assert_eq!(
            eval(r#"jsondecode(jsonencode({a = [1, "x"]}))"#),
            eval(r#"{a = [1, "x"]}"#)
        );
        assert_eq!(eval(r#"contains(["a"], "a")"#), Value::Bool(true));
        assert_eq!(
            eval(r#"distinct([1, 1, 2])"#),
            Value::List(vec![Value::Number(1.0), Value::Number(2.0)])
        );
        assert_eq!(
            eval(r#"sort(["b", "a"])"#),
            Value::List(vec![s("a"), s("b")])
        );
    }

    #[test]
    fn try_can_and_unknowns() {
        assert_eq!(eval(r#"try({a = 1}.b, "fallback")"#), s("fallback"));
        assert_eq!(eval(r#"can({a = 1}.b)"#), Value::Bool(false));
        assert_eq!(eval(r#"can({a = 1}.a)"#), Value::Bool(true));
        assert_eq!(eval(r#"try(unknown, "x")"#), Value::Unknown);
        assert_eq!(eval(r#"upper(unknown)"#), Value::Unknown);
        assert_eq!(
            eval(r#"sha256("x")"#),
            Value::Unknown,
            "unimplemented functions are unknown"
        );
        assert_eq!(eval(r#"length([unknown, 1])"#), Value::Number(2.0));
        assert_eq!(eval(r#"tostring(8080)"#), s("8080"));
        assert_eq!(eval(r#"tonumber("1.5")"#), Value::Number(1.5));
    }
}
