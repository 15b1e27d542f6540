//! Our evaluator of Terraform expressions over the hcl-edit syntax tree. Unlike hcl-rs's, it
//! has unknown values (they propagate through every operation), `try`/`can`, and the
//! Terraform functions real Cloud Run configurations use.

use std::collections::BTreeMap;
use std::ops::Range;
use std::path::Path;

use hcl_edit::Span as _;
use hcl_edit::expr::{BinaryOperator, Expression, ObjectKey, TraversalOperator, UnaryOperator};
use hcl_edit::template::{Directive, Element, Template};

use crate::value::Value;

/// Marks an object that stands for a resource instance (or an unreadable module's outputs):
/// reading an attribute it does not hold gives an unknown value from that address instead of
/// an error. Removed before values leave the evaluator.
pub const RESOURCE_MARKER: &str = "\u{1}address";

#[derive(Debug, Clone)]
pub struct EvalError {
    pub message: String,
    /// Byte range in the file the failing expression is in.
    pub range: Option<Range<usize>>,
    /// The place, once known (errors crossing into another file's expression keep theirs).
    pub span: Option<crate::inventory::Span>,
}

impl EvalError {
    pub fn new(message: impl Into<String>, range: Option<Range<usize>>) -> Self {
        EvalError {
            message: message.into(),
            range,
            span: None,
        }
    }

    /// Places the error in `file` of `def` unless it already has a place.
    pub fn placed(mut self, def: &super::files::ModuleDef, file: usize) -> Self {
        if self.span.is_none() {
            self.span = def.span_of(file, self.range.clone());
        }
        self
    }

    pub fn describe(&self) -> String {
        match &self.span {
            Some(s) => format!("{s}: {}", self.message),
            None => self.message.clone(),
        }
    }
}

pub type EvalResult = Result<Value, EvalError>;

/// What the expressions of one scope can refer to.
pub trait Context {
    /// Resolves a root name and, when the root needs one, the attribute after it: `var.x`,
    /// `local.y`, `module.m`, `google_x.name`, `data.type`, `each`, `count`, `path`,
    /// `terraform`. Returns the value and whether `attr` was used.
    fn root(
        &self,
        name: &str,
        attr: Option<&str>,
        range: Option<Range<usize>>,
    ) -> Result<(Value, bool), EvalError>;

    /// Resolves a root as [`Context::root`] does, but leaves its value where it lives, to be
    /// read in place: `google_service_account.sa.email` then copies an email, not the service
    /// account. None where the root is not kept in place; the evaluator then asks `root`.
    fn root_in_place<'s>(
        &'s self,
        _name: &str,
        _attr: Option<&str>,
        _range: Option<Range<usize>>,
    ) -> Result<Option<InPlaceRoot<'s>>, EvalError> {
        Ok(None)
    }

    /// The module's directory, for `file()` and `templatefile()`.
    fn base_dir(&self) -> &Path;
}

/// A root read in place, and whether it used the attribute after the root name.
pub type InPlaceRoot<'s> = (Box<dyn InPlace + 's>, bool);

/// A value read where it lives (a variable, a local, a resource's instances).
pub trait InPlace {
    /// How many steps of `path` are taken in place: as many as [`walk`] takes, for a plain
    /// value.
    fn steps(&self, path: &[PathKey<'_>]) -> usize;

    /// A copy of what `path` reaches, every step of it taken in place.
    fn copy(&self, path: &[PathKey<'_>]) -> Value;
}

/// A borrowed value, read in place.
pub struct ByRef<'v>(pub &'v Value);

impl InPlace for ByRef<'_> {
    fn steps(&self, path: &[PathKey<'_>]) -> usize {
        walk(self.0, path).1
    }

    fn copy(&self, path: &[PathKey<'_>]) -> Value {
        walk(self.0, path).0.clone()
    }
}

/// One step of a traversal, its index already evaluated.
#[derive(Clone, Debug)]
pub enum PathKey<'e> {
    Attr(&'e str),
    Key(Value),
}

/// Follows `path` from `v` while each step reaches an element that exists. A step not taken
/// here (a missing attribute, an unknown, a type that does not fit) is left to the evaluator,
/// which applies it to a copy of what was reached with the usual results and errors: the
/// outcome is that of copying `v` whole and applying every step.
pub fn walk<'v>(v: &'v Value, path: &[PathKey<'_>]) -> (&'v Value, usize) {
    let mut at = v;
    let mut used = 0;
    for step in path {
        let next = match (at, step) {
            (Value::Map(m), PathKey::Attr(a)) => m.get(a),
            (Value::Map(m), PathKey::Key(Value::String(k))) => m.get(k),
            (Value::List(l), PathKey::Key(Value::Number(n))) if *n >= 0.0 && n.fract() == 0.0 => {
                l.get(*n as usize)
            }
            _ => None,
        };
        match next {
            Some(x) => {
                at = x;
                used += 1;
            }
            None => break,
        }
    }
    (at, used)
}

/// Evaluates expressions of one scope, with the iterator variables of enclosing `for`
/// expressions, `dynamic` blocks and template `for` directives.
pub struct Evaluator<'c> {
    pub ctx: &'c dyn Context,
    pub iter_vars: Vec<(String, Value)>,
    depth: usize,
}

const MAX_DEPTH: usize = 200;

impl<'c> Evaluator<'c> {
    pub fn new(ctx: &'c dyn Context) -> Self {
        Evaluator {
            ctx,
            iter_vars: Vec::new(),
            depth: 0,
        }
    }

    pub fn with_var(ctx: &'c dyn Context, name: &str, value: Value) -> Self {
        let mut e = Evaluator::new(ctx);
        e.iter_vars.push((name.to_string(), value));
        e
    }

    pub fn eval(&mut self, e: &Expression) -> EvalResult {
        self.depth += 1;
        if self.depth > MAX_DEPTH {
            self.depth -= 1;
            return Err(EvalError::new("expression nested too deeply", e.span()));
        }
        let r = self.eval_inner(e);
        self.depth -= 1;
        r
    }

    fn eval_inner(&mut self, e: &Expression) -> EvalResult {
        let v = self.eval_value(e)?;
        // Strings are checked where they grow: a template or a function (join, format, ...).
        if matches!(
            e,
            Expression::FuncCall(_)
                | Expression::StringTemplate(_)
                | Expression::HeredocTemplate(_)
        ) && let Value::String(s) = &v
            && s.len() > MAX_STRING_BYTES
        {
            return Err(budget::exceeded(
                format!(
                    "a string of {} bytes: tfparity evaluates strings of at most {MAX_STRING_BYTES} bytes",
                    s.len()
                ),
                e.span(),
            ));
        }
        Ok(v)
    }

    fn eval_value(&mut self, e: &Expression) -> EvalResult {
        match e {
            Expression::Null(_) => Ok(Value::Null),
            Expression::Bool(b) => Ok(Value::Bool(*b.value())),
            Expression::Number(n) => Ok(Value::Number(n.value().as_f64().unwrap_or(0.0))),
            Expression::String(s) => Ok(Value::String(s.value().to_string())),
            Expression::Array(a) => {
                let mut out = Vec::with_capacity(a.len());
                for item in a.iter() {
                    out.push(self.eval(item)?);
                }
                Ok(Value::List(out))
            }
            Expression::Object(o) => {
                // Collected, then sorted once: inserting into the sorted map one by one is
                // quadratic in the number of keys. The last of a repeated key wins.
                let mut out: Vec<(String, Value)> = Vec::with_capacity(o.len());
                let mut unknown_key = false;
                for (k, v) in o.iter() {
                    let key = match k {
                        ObjectKey::Ident(i) => i.as_str().to_string(),
                        ObjectKey::Expression(ke) => match self.eval(ke)? {
                            Value::String(s) => s,
                            Value::Number(n) => format_number(n),
                            Value::Bool(b) => b.to_string(),
                            v if v.is_unknown() => {
                                unknown_key = true;
                                continue;
                            }
                            other => {
                                return Err(EvalError::new(
                                    format!(
                                        "an object key must be a string, found {}",
                                        other.type_name()
                                    ),
                                    ke.span(),
                                ));
                            }
                        },
                    };
                    let value = self.eval(v.expr())?;
                    out.push((key, value));
                }
                if unknown_key {
                    return Ok(Value::Unknown);
                }
                Ok(Value::Map(out.into_iter().collect()))
            }
            Expression::StringTemplate(t) => self.template(t),
            Expression::HeredocTemplate(h) => self.template(&h.template),
            Expression::Parenthesis(p) => self.eval(p.inner()),
            Expression::Variable(v) => self.variable(v.as_str(), None, e.span()).map(|(v, _)| v),
            Expression::Traversal(t) => self.traversal(t),
            Expression::Conditional(c) => {
                let cond = self.eval(&c.cond_expr)?;
                match cond {
                    Value::Bool(true) => self.eval(&c.true_expr),
                    Value::Bool(false) => self.eval(&c.false_expr),
                    Value::Sensitive => Ok(Value::Sensitive),
                    v if v.is_unknown() => {
                        let a = self.eval(&c.true_expr)?;
                        let b = self.eval(&c.false_expr)?;
                        Ok(if a == b && !a.is_unknown() {
                            a
                        } else {
                            Value::Unknown
                        })
                    }
                    other => match other.as_bool() {
                        Some(true) => self.eval(&c.true_expr),
                        Some(false) => self.eval(&c.false_expr),
                        None => Err(EvalError::new(
                            format!("the condition must be a bool, found {}", other.type_name()),
                            c.cond_expr.span(),
                        )),
                    },
                }
            }
            Expression::FuncCall(f) => {
                let name = if f.name.is_namespaced() {
                    let ns: Vec<&str> = f.name.namespace.iter().map(|n| n.as_str()).collect();
                    format!("{}::{}", ns.join("::"), f.name.name.as_str())
                } else {
                    f.name.name.as_str().to_string()
                };
                super::functions::call(self, &name, f, e.span())
            }
            Expression::UnaryOp(u) => {
                let v = self.eval(&u.expr)?;
                if v.is_unknown() || v == Value::Sensitive {
                    return Ok(v.unknown_like());
                }
                match u.operator.value() {
                    UnaryOperator::Neg => match v.as_f64() {
                        Some(n) => Ok(Value::Number(-n)),
                        None => Err(EvalError::new("`-` needs a number", e.span())),
                    },
                    UnaryOperator::Not => match v.as_bool() {
                        Some(b) => Ok(Value::Bool(!b)),
                        None => Err(EvalError::new("`!` needs a bool", e.span())),
                    },
                }
            }
            Expression::BinaryOp(b) => self.binary(b, e.span()),
            Expression::ForExpr(f) => self.for_expr(f),
        }
    }

    fn variable(
        &mut self,
        name: &str,
        attr: Option<&str>,
        range: Option<Range<usize>>,
    ) -> Result<(Value, bool), EvalError> {
        if let Some((_, v)) = self.iter_vars.iter().rev().find(|(n, _)| n == name) {
            // `env.value` in a dynamic block copies the value, not the whole iterator object.
            if let (Some(a), Value::Map(m)) = (attr, v)
                && let Some(x) = m.get(a)
            {
                return Ok((x.clone(), true));
            }
            return Ok((v.clone(), false));
        }
        self.ctx.root(name, attr, range)
    }

    /// Takes the steps before any splat on a root read in place, in order (an index is
    /// evaluated when its step comes, as for a copied root), while each leads to an element
    /// that exists; copies what they reached, and applies the first step that could not be
    /// taken to the copy. Returns the value and how many operators were applied.
    fn steps_in_place(
        &mut self,
        t: &hcl_edit::expr::Traversal,
        root: &dyn InPlace,
        ops: &[hcl_edit::repr::Decorated<TraversalOperator>],
    ) -> Result<(Value, usize), EvalError> {
        let mut path: Vec<PathKey<'_>> = Vec::with_capacity(ops.len());
        for op in ops {
            let key = match op.value() {
                TraversalOperator::GetAttr(a) => PathKey::Attr(a.as_str()),
                TraversalOperator::Index(ix) => PathKey::Key(self.eval(ix)?),
                TraversalOperator::LegacyIndex(n) => PathKey::Key(Value::Number(*n.value() as f64)),
                TraversalOperator::AttrSplat(_) | TraversalOperator::FullSplat(_) => break,
            };
            path.push(key);
            if root.steps(&path) < path.len() {
                // This step is not taken in place: copy what the steps before it reached and
                // apply it to the copy, for its usual result or error.
                let v = root.copy(&path[..path.len() - 1]);
                let v = match (path.pop().expect("pushed"), op.value()) {
                    (PathKey::Attr(a), _) => get_attr(v, a, op.span().or_else(|| t.span()))?,
                    (PathKey::Key(key), TraversalOperator::Index(ix)) => index(v, &key, ix.span())?,
                    (PathKey::Key(key), _) => index(v, &key, t.span())?,
                };
                return Ok((v, path.len() + 1));
            }
        }
        Ok((root.copy(&path), path.len()))
    }

    fn traversal(&mut self, t: &hcl_edit::expr::Traversal) -> EvalResult {
        let mut ops: &[hcl_edit::repr::Decorated<TraversalOperator>] = &t.operators;
        let mut value = match &t.expr {
            Expression::Variable(v) => {
                let first_attr = match ops.first().map(|o| o.value()) {
                    Some(TraversalOperator::GetAttr(a)) => Some(a.as_str()),
                    _ => None,
                };
                let iter_var = self.iter_vars.iter().any(|(n, _)| n == v.as_str());
                let in_place = if iter_var {
                    None
                } else {
                    self.ctx
                        .root_in_place(v.as_str(), first_attr, t.expr.span())?
                };
                match in_place {
                    Some((root, consumed)) => {
                        if consumed {
                            ops = &ops[1..];
                        }
                        let (v, taken) = self.steps_in_place(t, root.as_ref(), ops)?;
                        ops = &ops[taken..];
                        v
                    }
                    None => {
                        let (v, consumed) = self.variable(v.as_str(), first_attr, t.expr.span())?;
                        if consumed {
                            ops = &ops[1..];
                        }
                        v
                    }
                }
            }
            other => self.eval(other)?,
        };
        let mut i = 0;
        while i < ops.len() {
            let op = ops[i].value();
            match op {
                TraversalOperator::GetAttr(a) => {
                    value = get_attr(value, a.as_str(), ops[i].span().or_else(|| t.span()))?;
                }
                TraversalOperator::Index(ix) => {
                    let key = self.eval(ix)?;
                    value = index(value, &key, ix.span())?;
                }
                TraversalOperator::LegacyIndex(n) => {
                    value = index(value, &Value::Number(*n.value() as f64), t.span())?;
                }
                TraversalOperator::AttrSplat(_) | TraversalOperator::FullSplat(_) => {
                    // The rest of the traversal applies to each element.
                    let rest = &ops[i + 1..];
                    let items = match value {
                        Value::List(l) => l,
                        Value::Null => Vec::new(),
                        v if v.is_unknown() => return Ok(Value::Unknown),
                        other => vec![other],
                    };
                    let mut out = Vec::with_capacity(items.len());
                    for item in items {
                        let mut v = item;
                        for op in rest {
                            v = match op.value() {
                                TraversalOperator::GetAttr(a) => get_attr(v, a.as_str(), t.span())?,
                                TraversalOperator::Index(ix) => {
                                    let key = self.eval(ix)?;
                                    index(v, &key, ix.span())?
                                }
                                TraversalOperator::LegacyIndex(n) => {
                                    index(v, &Value::Number(*n.value() as f64), t.span())?
                                }
                                _ => v,
                            };
                        }
                        out.push(v);
                    }
                    return Ok(Value::List(out));
                }
            }
            i += 1;
        }
        Ok(value)
    }

    fn binary(&mut self, b: &hcl_edit::expr::BinaryOp, range: Option<Range<usize>>) -> EvalResult {
        use BinaryOperator as Op;
        let op = *b.operator.value();
        let l = self.eval(&b.lhs_expr)?;
        // Short-circuit forms Terraform also accepts with one known side.
        if matches!(op, Op::And | Op::Or) {
            let r = self.eval(&b.rhs_expr)?;
            return match (l.as_bool(), r.as_bool(), op) {
                (Some(false), _, Op::And) | (_, Some(false), Op::And) => Ok(Value::Bool(false)),
                (Some(true), _, Op::Or) | (_, Some(true), Op::Or) => Ok(Value::Bool(true)),
                (Some(a), Some(c), Op::And) => Ok(Value::Bool(a && c)),
                (Some(a), Some(c), _) => Ok(Value::Bool(a || c)),
                _ if l.is_unknown() || r.is_unknown() => Ok(Value::Unknown),
                _ => Err(EvalError::new("`&&` and `||` need bools", range)),
            };
        }
        let r = self.eval(&b.rhs_expr)?;
        // An attribute the provider computes for a declared resource (an id, a name) is never
        // null once known, so comparing it with null is decided now, as Terraform's refined
        // unknowns are.
        if matches!(op, Op::Eq | Op::NotEq) {
            let decided = match (&l, &r) {
                (Value::UnknownFrom(_), Value::Null) | (Value::Null, Value::UnknownFrom(_)) => {
                    Some(false)
                }
                _ => None,
            };
            if let Some(eq) = decided {
                return Ok(Value::Bool(if op == Op::Eq { eq } else { !eq }));
            }
        }
        if l == Value::Sensitive || r == Value::Sensitive {
            return Ok(Value::Sensitive);
        }
        if l.contains_unknown() || r.contains_unknown() {
            return Ok(Value::Unknown);
        }
        match op {
            Op::Eq => Ok(Value::Bool(equal(&l, &r))),
            Op::NotEq => Ok(Value::Bool(!equal(&l, &r))),
            _ => {
                let (Some(x), Some(y)) = (l.as_f64(), r.as_f64()) else {
                    return Err(EvalError::new(
                        format!(
                            "arithmetic and comparison need numbers, found {} and {}",
                            l.type_name(),
                            r.type_name()
                        ),
                        range,
                    ));
                };
                Ok(match op {
                    Op::Plus => Value::Number(x + y),
                    Op::Minus => Value::Number(x - y),
                    Op::Mul => Value::Number(x * y),
                    Op::Div => {
                        if y == 0.0 {
                            return Err(EvalError::new("division by zero", range));
                        }
                        Value::Number(x / y)
                    }
                    Op::Mod => {
                        if y == 0.0 {
                            return Err(EvalError::new("modulo by zero", range));
                        }
                        Value::Number(x % y)
                    }
                    Op::Less => Value::Bool(x < y),
                    Op::LessEq => Value::Bool(x <= y),
                    Op::Greater => Value::Bool(x > y),
                    Op::GreaterEq => Value::Bool(x >= y),
                    _ => unreachable!("handled above"),
                })
            }
        }
    }

    fn for_expr(&mut self, f: &hcl_edit::expr::ForExpr) -> EvalResult {
        let coll = self.eval(&f.intro.collection_expr)?;
        let items: Vec<(Value, Value)> = match coll {
            Value::List(l) => l
                .into_iter()
                .enumerate()
                .map(|(i, v)| (Value::Number(i as f64), v))
                .collect(),
            Value::Map(m) => m
                .into_iter()
                .filter(|(k, _)| k != RESOURCE_MARKER)
                .map(|(k, v)| (Value::String(k.into()), v))
                .collect(),
            Value::Null => {
                return Err(EvalError::new(
                    "cannot iterate over null",
                    f.intro.collection_expr.span(),
                ));
            }
            v if v.is_unknown() => return Ok(Value::Unknown),
            Value::Sensitive => return Ok(Value::Sensitive),
            other => {
                return Err(EvalError::new(
                    format!(
                        "a for expression needs a list, set or map, found {}",
                        other.type_name()
                    ),
                    f.intro.collection_expr.span(),
                ));
            }
        };
        let key_var = f.intro.key_var.as_ref().map(|k| k.as_str().to_string());
        let value_var = f.intro.value_var.as_str().to_string();
        let mut list = Vec::new();
        // Collected, then sorted once (inserting one by one is quadratic in the keys).
        let mut map: Vec<(String, Value)> = Vec::new();
        let mut groups: BTreeMap<String, Vec<Value>> = BTreeMap::new();
        let mut unknown = false;
        for (k, v) in items {
            budget::spend(f.span())?;
            let base = self.iter_vars.len();
            if let Some(kv) = &key_var {
                self.iter_vars.push((kv.clone(), k));
            }
            self.iter_vars.push((value_var.clone(), v));
            let result = (|| -> Result<(), EvalError> {
                if let Some(cond) = &f.cond {
                    match self.eval(&cond.expr)? {
                        Value::Bool(true) => {}
                        Value::Bool(false) => return Ok(()),
                        c if c.is_unknown() => {
                            unknown = true;
                            return Ok(());
                        }
                        _ => {
                            return Err(EvalError::new(
                                "a for condition must be a bool",
                                cond.expr.span(),
                            ));
                        }
                    }
                }
                let value = self.eval(&f.value_expr)?;
                match &f.key_expr {
                    None => list.push(value),
                    Some(ke) => {
                        let key = match self.eval(ke)? {
                            Value::String(s) => s,
                            Value::Number(n) => format_number(n),
                            Value::Bool(b) => b.to_string(),
                            k if k.is_unknown() => {
                                unknown = true;
                                return Ok(());
                            }
                            other => {
                                return Err(EvalError::new(
                                    format!(
                                        "an object key must be a string, found {}",
                                        other.type_name()
                                    ),
                                    ke.span(),
                                ));
                            }
                        };
                        if f.grouping {
                            groups.entry(key).or_default().push(value);
                        } else {
                            map.push((key, value));
                        }
                    }
                }
                Ok(())
            })();
            self.iter_vars.truncate(base);
            result?;
        }
        if unknown {
            return Ok(Value::Unknown);
        }
        Ok(match &f.key_expr {
            None => Value::List(list),
            Some(_) if f.grouping => Value::Map(
                groups
                    .into_iter()
                    .map(|(k, v)| (k, Value::List(v)))
                    .collect(),
            ),
            Some(ke) => {
                map.sort_by(|a, b| a.0.cmp(&b.0));
                if let Some(w) = map.windows(2).find(|w| w[0].0 == w[1].0) {
                    return Err(EvalError::new(
                        format!(
                            "two elements have the same key ({}): use `...` to group",
                            super::types::unquoted(&w[0].0)
                        ),
                        ke.span(),
                    ));
                }
                Value::Map(map.into_iter().collect())
            }
        })
    }

    pub fn template(&mut self, t: &Template) -> EvalResult {
        let mut out = String::new();
        let mut unknown: Option<Value> = None;
        self.template_into(t, &mut out, &mut unknown, false, false)?;
        match unknown {
            Some(u) => Ok(u),
            None => Ok(Value::String(out)),
        }
    }

    /// Renders a template; `lead`/`tail` strip the whitespace at its start/end (set by a `~`
    /// on the directive around it), as do `~` marks on neighbouring interpolations.
    fn template_into(
        &mut self,
        t: &Template,
        out: &mut String,
        unknown: &mut Option<Value>,
        lead: bool,
        tail: bool,
    ) -> Result<(), EvalError> {
        let elements: Vec<&Element> = t.iter().collect();
        let strips_after = |el: &Element| match el {
            Element::Interpolation(i) => i.strip.strip_end(),
            Element::Directive(d) => match d.as_ref() {
                Directive::If(ifd) => ifd.endif_expr.strip.strip_end(),
                Directive::For(fd) => fd.endfor_expr.strip.strip_end(),
            },
            Element::Literal(_) => false,
        };
        let strips_before = |el: &Element| match el {
            Element::Interpolation(i) => i.strip.strip_start(),
            Element::Directive(d) => match d.as_ref() {
                Directive::If(ifd) => ifd.if_expr.strip.strip_start(),
                Directive::For(fd) => fd.for_expr.strip.strip_start(),
            },
            Element::Literal(_) => false,
        };
        for (idx, el) in elements.iter().enumerate() {
            match el {
                Element::Literal(s) => {
                    let mut text: &str = s.value();
                    let trim_start = if idx == 0 {
                        lead
                    } else {
                        strips_after(elements[idx - 1])
                    };
                    let trim_end = if idx + 1 == elements.len() {
                        tail
                    } else {
                        strips_before(elements[idx + 1])
                    };
                    if trim_start {
                        text = text.trim_start();
                    }
                    if trim_end {
                        text = text.trim_end();
                    }
                    out.push_str(text);
                }
                Element::Interpolation(i) => {
                    let v = self.eval(&i.expr)?;
                    match to_template_string(&v) {
                        Ok(s) => out.push_str(&s),
                        Err(None) => {
                            if unknown.is_none() || v == Value::Sensitive {
                                *unknown = Some(v.unknown_like());
                            }
                        }
                        Err(Some(msg)) => return Err(EvalError::new(msg, i.expr.span())),
                    }
                }
                Element::Directive(d) => match d.as_ref() {
                    Directive::If(ifd) => {
                        let end_strip = ifd.endif_expr.strip.strip_start();
                        match self.eval(&ifd.if_expr.cond_expr)?.as_bool() {
                            Some(true) => {
                                let tail = ifd
                                    .else_expr
                                    .as_ref()
                                    .map_or(end_strip, |e| e.strip.strip_start());
                                self.template_into(
                                    &ifd.if_expr.template,
                                    out,
                                    unknown,
                                    ifd.if_expr.strip.strip_end(),
                                    tail,
                                )?
                            }
                            Some(false) => {
                                if let Some(el) = &ifd.else_expr {
                                    self.template_into(
                                        &el.template,
                                        out,
                                        unknown,
                                        el.strip.strip_end(),
                                        end_strip,
                                    )?;
                                }
                            }
                            None => *unknown = Some(Value::Unknown),
                        }
                    }
                    Directive::For(fd) => {
                        let fe = &fd.for_expr;
                        let coll = self.eval(&fe.collection_expr)?;
                        let items: Vec<(Value, Value)> = match coll {
                            Value::List(l) => l
                                .into_iter()
                                .enumerate()
                                .map(|(i, v)| (Value::Number(i as f64), v))
                                .collect(),
                            Value::Map(m) => m
                                .into_iter()
                                .filter(|(k, _)| k != RESOURCE_MARKER)
                                .map(|(k, v)| (Value::String(k.into()), v))
                                .collect(),
                            _ => {
                                *unknown = Some(Value::Unknown);
                                continue;
                            }
                        };
                        for (k, v) in items {
                            budget::spend(fd.span())?;
                            let base = self.iter_vars.len();
                            if let Some(kv) = &fe.key_var {
                                self.iter_vars.push((kv.as_str().to_string(), k));
                            }
                            self.iter_vars.push((fe.value_var.as_str().to_string(), v));
                            let r = self.template_into(
                                &fe.template,
                                out,
                                unknown,
                                fe.strip.strip_end(),
                                fd.endfor_expr.strip.strip_start(),
                            );
                            self.iter_vars.truncate(base);
                            r?;
                        }
                    }
                },
            }
        }
        Ok(())
    }
}

/// How a value reads inside a string template; `Err(None)` for unknown or sensitive values.
fn to_template_string(v: &Value) -> Result<String, Option<String>> {
    match v {
        Value::String(s) => Ok(s.clone()),
        Value::Number(n) => Ok(format_number(*n)),
        Value::Bool(b) => Ok(b.to_string()),
        Value::Null => Err(Some("a template cannot interpolate null".into())),
        v if v.is_unknown() => Err(None),
        Value::Sensitive => Err(None),
        other => Err(Some(format!(
            "a template cannot interpolate {}",
            other.type_name()
        ))),
    }
}

/// Terraform prints whole numbers without a fraction.
pub fn format_number(n: f64) -> String {
    if n.fract() == 0.0 && n.abs() < 1e15 {
        format!("{}", n as i64)
    } else {
        format!("{n}")
    }
}

impl Value {
    /// The unknown (or sensitive) value an operation on `self` gives.
    pub fn unknown_like(&self) -> Value {
        match self {
            Value::Sensitive => Value::Sensitive,
            Value::UnknownFrom(o) => Value::UnknownFrom(o.clone()),
            _ => Value::Unknown,
        }
    }
}

/// Terraform equality: same type and same value (numbers compare as numbers).
pub fn equal(a: &Value, b: &Value) -> bool {
    match (a, b) {
        (Value::Number(x), Value::Number(y)) => x == y,
        (Value::List(x), Value::List(y)) => {
            x.len() == y.len() && x.iter().zip(y).all(|(a, b)| equal(a, b))
        }
        (Value::Map(x), Value::Map(y)) => {
            x.len() == y.len()
                && x.iter()
                    .zip(y)
                    .all(|((ka, a), (kb, b))| ka == kb && equal(a, b))
        }
        _ => a == b,
    }
}

pub fn get_attr(v: Value, attr: &str, range: Option<Range<usize>>) -> EvalResult {
    match v {
        Value::Map(mut m) => match m.remove(attr) {
            Some(x) => Ok(x),
            None => match m.get(RESOURCE_MARKER) {
                Some(Value::String(addr)) => {
                    Ok(Value::UnknownFrom(format!("{addr}.{attr}").into()))
                }
                Some(_) => Ok(Value::Unknown),
                None => Err(EvalError::new(
                    format!("this object has no attribute `{attr}`"),
                    range,
                )),
            },
        },
        Value::Null => Err(EvalError::new(
            format!("cannot read `{attr}` of null"),
            range,
        )),
        u @ (Value::Unknown | Value::UnknownFrom(_) | Value::Sensitive) => Ok(u.unknown_like()),
        other => Err(EvalError::new(
            format!("cannot read `{attr}` of {}", other.type_name()),
            range,
        )),
    }
}

pub fn index(v: Value, key: &Value, range: Option<Range<usize>>) -> EvalResult {
    if key.is_unknown() {
        return Ok(v.unknown_like());
    }
    match v {
        Value::List(l) => {
            let Some(n) = key.as_f64() else {
                return Err(EvalError::new(
                    format!("a list index must be a number, found {}", key.type_name()),
                    range,
                ));
            };
            if n < 0.0 || n.fract() != 0.0 || n as usize >= l.len() {
                return Err(EvalError::new(
                    format!(
                        "index {} is out of range for a list of {} element(s)",
                        format_number(n),
                        l.len()
                    ),
                    range,
                ));
            }
            Ok(l.into_iter().nth(n as usize).expect("checked"))
        }
        Value::Map(m) => {
            let k = match key {
                Value::String(s) => s.clone(),
                Value::Number(n) => format_number(*n),
                other => {
                    return Err(EvalError::new(
                        format!("a map key must be a string, found {}", other.type_name()),
                        range,
                    ));
                }
            };
            let marker = m.get(RESOURCE_MARKER).cloned();
            let mut m = m;
            match m.remove(&k) {
                Some(x) => Ok(x),
                None => match marker {
                    Some(_) => Ok(Value::Unknown),
                    None => Err(EvalError::new(
                        format!(
                            "the map has no element for the key ({})",
                            super::types::unquoted(&k)
                        ),
                        range,
                    )),
                },
            }
        }
        u @ (Value::Unknown | Value::UnknownFrom(_) | Value::Sensitive) => Ok(u.unknown_like()),
        Value::Null => Err(EvalError::new("cannot index null", range)),
        other => Err(EvalError::new(
            format!("cannot index {}", other.type_name()),
            range,
        )),
    }
}

/// Removes resource markers from a value before it leaves the evaluator.
pub fn strip_markers(v: &mut Value) {
    match v {
        Value::Map(m) => {
            m.remove(RESOURCE_MARKER);
            for x in m.values_mut() {
                strip_markers(x);
            }
        }
        Value::List(l) => {
            for x in l {
                strip_markers(x);
            }
        }
        _ => {}
    }
}

/// Whether an expression is a literal (no references, no function calls): Terraform's
/// `constant_value`.
pub fn is_constant(e: &Expression) -> bool {
    match e {
        Expression::Null(_) | Expression::Bool(_) | Expression::Number(_) | Expression::String(_) => true,
        Expression::Array(a) => a.iter().all(is_constant),
        Expression::Object(o) => o.iter().all(|(k, v)| {
            matches!(k, ObjectKey::Ident(_)) || matches!(k, ObjectKey::Expression(ke) if is_constant(ke))
        } && is_constant(v.expr())),
        Expression::Parenthesis(p) => is_constant(p.inner()),
        Expression::StringTemplate(t) => t.iter().all(|el| matches!(el, Element::Literal(_))),
        Expression::HeredocTemplate(h) => h.template.iter().all(|el| matches!(el, Element::Literal(_))),
        Expression::UnaryOp(u) => is_constant(&u.expr),
        _ => false,
    }
}

/// The traversals in an expression, as (root name, attribute/index steps) where the steps
/// are literal (`google_x.y["k"].id` → ("google_x", ["y", "[\"k\"]", "id"])); index
/// expressions that are not literal are evaluated with `resolve`.
pub fn traversals<'e>(e: &'e Expression, out: &mut Vec<(&'e str, Vec<Step<'e>>)>) {
    match e {
        Expression::Variable(v) => out.push((v.as_str(), Vec::new())),
        Expression::Traversal(t) => {
            if let Expression::Variable(v) = &t.expr {
                let mut steps = Vec::new();
                for op in &t.operators {
                    match op.value() {
                        TraversalOperator::GetAttr(a) => steps.push(Step::Attr(a.as_str())),
                        TraversalOperator::Index(ix) => {
                            steps.push(Step::Index(ix));
                            traversals(ix, out);
                        }
                        TraversalOperator::LegacyIndex(n) => {
                            steps.push(Step::Literal(Value::Number(*n.value() as f64)))
                        }
                        _ => break,
                    }
                }
                out.push((v.as_str(), steps));
            } else {
                traversals(&t.expr, out);
                for op in &t.operators {
                    if let TraversalOperator::Index(ix) = op.value() {
                        traversals(ix, out);
                    }
                }
            }
        }
        Expression::Array(a) => a.iter().for_each(|x| traversals(x, out)),
        Expression::Object(o) => {
            for (k, v) in o.iter() {
                if let ObjectKey::Expression(ke) = k {
                    traversals(ke, out);
                }
                traversals(v.expr(), out);
            }
        }
        Expression::StringTemplate(t) => template_traversals(t, out),
        Expression::HeredocTemplate(h) => template_traversals(&h.template, out),
        Expression::Parenthesis(p) => traversals(p.inner(), out),
        Expression::Conditional(c) => {
            traversals(&c.cond_expr, out);
            traversals(&c.true_expr, out);
            traversals(&c.false_expr, out);
        }
        Expression::FuncCall(f) => f.args.iter().for_each(|a| traversals(a, out)),
        Expression::UnaryOp(u) => traversals(&u.expr, out),
        Expression::BinaryOp(b) => {
            traversals(&b.lhs_expr, out);
            traversals(&b.rhs_expr, out);
        }
        Expression::ForExpr(f) => {
            traversals(&f.intro.collection_expr, out);
            if let Some(k) = &f.key_expr {
                traversals(k, out);
            }
            traversals(&f.value_expr, out);
            if let Some(c) = &f.cond {
                traversals(&c.expr, out);
            }
        }
        _ => {}
    }
}

fn template_traversals<'e>(t: &'e Template, out: &mut Vec<(&'e str, Vec<Step<'e>>)>) {
    for el in t.iter() {
        match el {
            Element::Interpolation(i) => traversals(&i.expr, out),
            Element::Directive(d) => match d.as_ref() {
                Directive::If(ifd) => {
                    traversals(&ifd.if_expr.cond_expr, out);
                    template_traversals(&ifd.if_expr.template, out);
                    if let Some(e) = &ifd.else_expr {
                        template_traversals(&e.template, out);
                    }
                }
                Directive::For(fd) => {
                    traversals(&fd.for_expr.collection_expr, out);
                    template_traversals(&fd.for_expr.template, out);
                }
            },
            Element::Literal(_) => {}
        }
    }
}

/// One step of a traversal as written, borrowed from the syntax tree.
#[derive(Clone, Debug)]
pub enum Step<'e> {
    Attr(&'e str),
    Index(&'e Expression),
    Literal(Value),
}

/// The largest string the evaluator builds: far beyond any real value, small enough that a
/// string doubled in a chain of locals stops long before memory runs out.
pub const MAX_STRING_BYTES: usize = 16 << 20;

/// A bound on the work of one directory's evaluation, so that nested `for` expressions over
/// large ranges end in an error instead of running for hours. The evaluation runs on a thread
/// of its own (`load_dir`), so the count is per thread.
pub mod budget {
    use std::cell::{Cell, RefCell};
    use std::ops::Range;

    use super::EvalError;

    /// Elements built by `for` expressions and template `for` loops in one evaluation; real
    /// configurations build thousands.
    pub const MAX_ITERATIONS: u64 = 5_000_000;

    thread_local! {
        static ITERATIONS: Cell<u64> = const { Cell::new(0) };
        static EXCEEDED: RefCell<Option<EvalError>> = const { RefCell::new(None) };
    }

    /// Starts counting for a new evaluation.
    pub fn reset() {
        ITERATIONS.set(0);
        EXCEEDED.with_borrow_mut(|e| *e = None);
    }

    /// Counts one element; an error once the budget is spent.
    pub fn spend(range: Option<Range<usize>>) -> Result<(), EvalError> {
        let n = ITERATIONS.get() + 1;
        ITERATIONS.set(n);
        if n > MAX_ITERATIONS {
            return Err(exceeded(
                format!(
                    "more than {MAX_ITERATIONS} elements built by `for` expressions: tfparity stops there"
                ),
                range,
            ));
        }
        Ok(())
    }

    /// An error that ends the whole evaluation (the first one is kept for [`take`]), even
    /// where an expression's error would otherwise only be noted.
    pub fn exceeded(message: String, range: Option<Range<usize>>) -> EvalError {
        let e = EvalError::new(message, range);
        EXCEEDED.with_borrow_mut(|first| {
            if first.is_none() {
                *first = Some(e.clone());
            }
        });
        e
    }

    /// The first limit exceeded in this evaluation, if any.
    pub fn take() -> Option<EvalError> {
        EXCEEDED.with_borrow_mut(Option::take)
    }
}
