//! Evaluating module instances: variables, locals (ordered by their references; a cycle is an
//! error), resources and data sources expanded by `count`/`for_each` with `dynamic` blocks,
//! module calls (local sources, or installed ones through `.terraform/modules/modules.json`)
//! and outputs. Everything is evaluated on demand and memoised, so references resolve in
//! whatever order the configuration needs.

use std::cell::RefCell;
use std::collections::{BTreeMap, BTreeSet, HashMap};
use std::ops::Range;
use std::path::{Path, PathBuf};
use std::rc::Rc;

use hcl_edit::Span as _;
use hcl_edit::expr::Expression;
use hcl_edit::structure::{Body, Structure};

use super::Loader;
use super::eval::{
    self, ByRef, Context, EvalError, Evaluator, InPlace, PathKey, RESOURCE_MARKER, Step,
};
use super::files::{Loc, ModuleCallDef, ModuleDef, ResourceDef};
use crate::error::{Error, Result};
use crate::inventory::{Action, ConfigBody, ConfigExpr, InstanceKey, LoadNote, Mode, Resource};
use crate::value::Value;

/// Resource attributes whose values the provider marks sensitive; they are dropped.
const SENSITIVE_ATTRIBUTES: &[(&str, &str)] = &[
    ("google_secret_manager_secret_version", "secret_data"),
    ("google_sql_database_instance", "root_password"),
    ("google_sql_user", "password"),
    ("google_service_account_key", "private_key"),
];

/// Resource types with a `region` argument the provider fills from its default region.
const REGIONAL: &[&str] = &[
    "google_vpc_access_connector",
    "google_sql_database_instance",
    "google_compute_region_network_endpoint_group",
    "google_compute_subnetwork",
    "google_compute_address",
];

/// The most resource and module instances one environment may expand to.
pub const MAX_INSTANCES: usize = 200_000;

enum Slot<T> {
    InProgress,
    Done(T),
}

#[derive(Clone)]
pub struct ProviderCfg {
    pub project: Value,
    pub region: Value,
}

/// Resources of an instance by their position in the module's declarations, evaluated on
/// first use (`None` until then).
type ResourceMemo = Vec<Option<Slot<Rc<ResResult>>>>;

/// The instances a `count` or `for_each` gives: key, `each` (key, value), `count.index`.
type Expansion = Vec<(InstanceKey, Option<(Value, Value)>, Option<f64>)>;

/// A resource's instances. Their values are kept unmarked; references see them marked (see
/// `mark_reference`), which `reach` and `reference` provide for what they read.
struct ResResult {
    entries: RefCell<Vec<Resource>>,
    keyed: Keyed,
}

/// How a resource's instances are addressed.
enum Keyed {
    /// Neither `count` nor `for_each`: one instance, seen as an object.
    Single,
    /// `count`: a list, by position.
    Count,
    /// `for_each`: a map; the position of each key's instance in `entries`.
    ForEach(crate::value::Map<usize>),
}

impl ResResult {
    /// What references to the resource see, whole: an object, or a list or map of them.
    fn reference(&self) -> Value {
        let entries = self.entries.borrow();
        let seen = |e: &Resource| {
            let mut v = e.values.clone();
            mark_reference(&mut v, &mut e.address.clone());
            v
        };
        match &self.keyed {
            Keyed::Single => entries.first().map_or(Value::Null, seen),
            Keyed::Count => Value::List(entries.iter().map(seen).collect()),
            Keyed::ForEach(at) => {
                Value::Map(at.iter().map(|(k, &i)| (k, seen(&entries[i]))).collect())
            }
        }
    }

    /// The instance a path starts in, and the steps within it; None when the path's first
    /// step names no instance, which then applies to the whole reference.
    fn instance<'r, 'p, 'k>(
        &self,
        entries: &'r [Resource],
        path: &'p [PathKey<'k>],
    ) -> Option<(&'r Resource, &'p [PathKey<'k>])> {
        match (&self.keyed, path.first()) {
            (Keyed::Single, _) => entries.first().map(|e| (e, path)),
            (Keyed::Count, Some(PathKey::Key(Value::Number(n))))
                if *n >= 0.0 && n.fract() == 0.0 =>
            {
                entries.get(*n as usize).map(|e| (e, &path[1..]))
            }
            (Keyed::ForEach(at), Some(PathKey::Key(Value::String(k)))) => at
                .get(k)
                .and_then(|&i| entries.get(i))
                .map(|e| (e, &path[1..])),
            _ => None,
        }
    }
}

/// Where a path through an instance's values ends, as references see the values.
enum Reached<'v> {
    /// A value that exists; `marked` when references see it marked by `mark_reference`.
    Value { at: &'v Value, marked: bool },
    /// An attribute a marked object does not set: unknown, from that place.
    UnsetAttribute,
    /// A key a marked object does not hold: unknown.
    AbsentKey,
}

/// Follows `path` through an instance's values as [`eval::walk`] does, where the values are
/// seen marked: a step to what a marked object lacks is taken too, to an unknown value.
/// Returns where it ended and how many steps that took.
fn reach<'v>(values: &'v Value, path: &[PathKey<'_>]) -> (Reached<'v>, usize) {
    let (mut at, mut marked) = (values, true);
    for (used, step) in path.iter().enumerate() {
        let next = match (at, step) {
            (Value::Map(m), PathKey::Attr(a)) => match m.get(a) {
                None if marked => return (Reached::UnsetAttribute, used + 1),
                next => next,
            },
            (Value::Map(m), PathKey::Key(Value::String(k))) => match m.get(k) {
                None if marked => return (Reached::AbsentKey, used + 1),
                next => next,
            },
            (Value::List(l), PathKey::Key(Value::Number(n))) if *n >= 0.0 && n.fract() == 0.0 => {
                l.get(*n as usize)
            }
            _ => None,
        };
        let Some(next) = next else {
            return (Reached::Value { at, marked }, used);
        };
        // As `mark_reference` goes: an object marks the containers it holds, a list the objects.
        marked = marked
            && match at {
                Value::Map(_) => matches!(next, Value::Map(_) | Value::List(_)),
                _ => matches!(next, Value::Map(_)),
            };
        at = next;
    }
    (Reached::Value { at, marked }, path.len())
}

/// A resource's instances, read in place: `google_x.y["a"].id` copies an id. A first step
/// that names no instance reaches the whole reference (built for the purpose), on which the
/// evaluator applies it for its usual result or error.
impl InPlace for Rc<ResResult> {
    fn steps(&self, path: &[PathKey<'_>]) -> usize {
        let entries = self.entries.borrow();
        match self.instance(&entries, path) {
            Some((e, steps)) => path.len() - steps.len() + reach(&e.values, steps).1,
            None => 0,
        }
    }

    fn copy(&self, path: &[PathKey<'_>]) -> Value {
        let entries = self.entries.borrow();
        let Some((e, steps)) = self.instance(&entries, path) else {
            drop(entries);
            return self.reference();
        };
        let (reached, used) = reach(&e.values, steps);
        debug_assert_eq!(used, steps.len(), "copy follows steps taken in place");
        let place = || {
            use std::fmt::Write as _;
            let mut place = e.address.clone();
            for step in &steps[..used] {
                let _ = match step {
                    PathKey::Attr(a) => write!(place, ".{a}"),
                    PathKey::Key(Value::String(k)) => write!(place, ".{k}"),
                    PathKey::Key(Value::Number(n)) => write!(place, "[{}]", *n as usize),
                    PathKey::Key(_) => Ok(()),
                };
            }
            place
        };
        match reached {
            Reached::Value { at, marked } => {
                let mut v = at.clone();
                if marked {
                    mark_reference(&mut v, &mut place());
                }
                v
            }
            Reached::UnsetAttribute => Value::UnknownFrom(place().into()),
            Reached::AbsentKey => Value::Unknown,
        }
    }
}

/// A module's outputs, read in place.
impl InPlace for Rc<ModResult> {
    fn steps(&self, path: &[PathKey<'_>]) -> usize {
        eval::walk(&self.outputs, path).1
    }

    fn copy(&self, path: &[PathKey<'_>]) -> Value {
        eval::walk(&self.outputs, path).0.clone()
    }
}

/// A local value, evaluated already, read in place.
struct LocalRef<'i> {
    inst: &'i Instance,
    name: &'i str,
}

impl InPlace for LocalRef<'_> {
    fn steps(&self, path: &[PathKey<'_>]) -> usize {
        match self.inst.locals.borrow().get(self.name) {
            Some(Slot::Done(v)) => eval::walk(v, path).1,
            _ => 0,
        }
    }

    fn copy(&self, path: &[PathKey<'_>]) -> Value {
        match self.inst.locals.borrow().get(self.name) {
            Some(Slot::Done(v)) => eval::walk(v, path).0.clone(),
            _ => Value::Unknown,
        }
    }
}

struct ModResult {
    outputs: Value,
    children: Vec<Rc<Instance>>,
}

pub struct Instance {
    loader: Rc<Loader>,
    pub def: Rc<ModuleDef>,
    /// The module instance address (`module.svc["a"]`), empty for the root.
    pub path: String,
    /// The chain of module call names, for `.terraform/modules/modules.json` keys.
    call_path: Vec<String>,
    /// Canonical directories of this module and its callers, to catch source cycles.
    ancestors: Vec<PathBuf>,
    vars: crate::value::Map,
    /// Where the calling module sets each variable: attributes written as a lone `var.x`
    /// point there, the place that decides their value.
    var_spans: VarSpans,
    providers: BTreeMap<String, ProviderCfg>,
    locals: RefCell<BTreeMap<String, Slot<Value>>>,
    resources: RefCell<ResourceMemo>,
    modules: RefCell<BTreeMap<String, Slot<Rc<ModResult>>>>,
}

/// Where the calling module sets each variable, shared by the instances of one module call.
type VarSpans = Rc<BTreeMap<String, crate::inventory::Span>>;

/// The scope expressions of an instance are evaluated in: its instance plus the `each` or
/// `count` of the block being expanded.
pub struct Scope<'i> {
    inst: &'i Instance,
    /// Borrowed: a module call evaluates each of its arguments in the same scope.
    each: Option<&'i (Value, Value)>,
    count: Option<f64>,
    /// The file the expressions come from, for placing errors.
    file: usize,
}

impl Context for Scope<'_> {
    fn root(
        &self,
        name: &str,
        attr: Option<&str>,
        range: Option<Range<usize>>,
    ) -> Result<(Value, bool), EvalError> {
        let inst = self.inst;
        let need = |what: &str| -> Result<&str, EvalError> {
            attr.ok_or_else(|| {
                EvalError::new(
                    format!("`{name}` must be followed by {what}"),
                    range.clone(),
                )
            })
        };
        match name {
            "var" => {
                let a = need("a variable name")?;
                match inst.vars.get(a) {
                    Some(v) => Ok((v.clone(), true)),
                    None => Err(EvalError::new(
                        format!("undeclared input variable `var.{a}`"),
                        range,
                    )),
                }
            }
            "local" => {
                let a = need("a local value name")?;
                inst.local(a, range).map(|v| (v, true))
            }
            "each" => match self.each {
                Some((k, v)) => Ok((
                    Value::Map(crate::value::Map::from([
                        ("key", k.clone()),
                        ("value", v.clone()),
                    ])),
                    false,
                )),
                None => Err(EvalError::new(
                    "`each` is only available in blocks with for_each",
                    range,
                )),
            },
            "count" => match self.count {
                Some(i) => Ok((
                    Value::Map(crate::value::Map::from([(
                        "index".to_string(),
                        Value::Number(i),
                    )])),
                    false,
                )),
                None => Err(EvalError::new(
                    "`count` is only available in blocks with count",
                    range,
                )),
            },
            "path" => {
                let a = need("module, root or cwd")?;
                let v = match a {
                    "module" => Value::String(inst.loader.relative(&inst.def.dir)),
                    "root" => Value::String(".".into()),
                    "cwd" => Value::String(
                        std::env::current_dir()
                            .map(|p| p.to_string_lossy().to_string())
                            .unwrap_or_default(),
                    ),
                    other => {
                        return Err(EvalError::new(
                            format!("unknown path value `path.{other}`"),
                            range,
                        ));
                    }
                };
                Ok((v, true))
            }
            "terraform" => match need("workspace")? {
                "workspace" => Ok((Value::String(inst.loader.workspace.clone()), true)),
                other => Err(EvalError::new(
                    format!("unknown value `terraform.{other}`"),
                    range,
                )),
            },
            "module" => {
                let a = need("a module name")?;
                inst.module_outputs(a, range).map(|v| (v, true))
            }
            "data" => {
                let t = need("a data source type")?;
                let mut out = crate::value::Map::new();
                let names: Vec<String> = inst
                    .def
                    .resources
                    .iter()
                    .filter(|r| r.mode == Mode::Data && r.rtype == t)
                    .map(|r| r.name.clone())
                    .collect();
                for n in names {
                    out.insert(
                        n.clone(),
                        inst.resource_reference(Mode::Data, t, &n, range.clone())?,
                    );
                }
                if out.is_empty() {
                    return Err(EvalError::new(
                        format!("no data source of type `{t}` is declared"),
                        range,
                    ));
                }
                Ok((Value::Map(out), true))
            }
            "self" => Ok((Value::Unknown, false)),
            t => {
                let n = need("a resource name")?;
                if !inst
                    .def
                    .resources
                    .iter()
                    .any(|r| r.mode == Mode::Managed && r.rtype == t && r.name == n)
                {
                    return Err(EvalError::new(
                        format!("reference to undeclared resource `{t}.{n}`"),
                        range,
                    ));
                }
                inst.resource_reference(Mode::Managed, t, n, range)
                    .map(|v| (v, true))
            }
        }
    }

    /// Variables, locals, `each`, module outputs and resources are read in place; any other
    /// root, or a reference `root` refuses, goes through `root`.
    fn root_in_place<'s>(
        &'s self,
        name: &str,
        attr: Option<&str>,
        range: Option<Range<usize>>,
    ) -> Result<Option<eval::InPlaceRoot<'s>>, EvalError> {
        let inst = self.inst;
        let Some(attr) = attr else { return Ok(None) };
        let found: Box<dyn InPlace + 's> = match name {
            "var" => match inst.vars.get(attr) {
                Some(v) => Box::new(ByRef(v)),
                None => return Ok(None),
            },
            "local" => {
                let name = inst.local_evaluated(attr, range)?;
                Box::new(LocalRef { inst, name })
            }
            "each" => match (self.each, attr) {
                (Some((k, _)), "key") => Box::new(ByRef(k)),
                (Some((_, v)), "value") => Box::new(ByRef(v)),
                _ => return Ok(None),
            },
            "module" => Box::new(inst.module_result(attr, range)?),
            "count" | "path" | "terraform" | "data" | "self" => return Ok(None),
            rtype => {
                if !inst
                    .def
                    .resources
                    .iter()
                    .any(|r| r.mode == Mode::Managed && r.rtype == rtype && r.name == attr)
                {
                    return Ok(None);
                }
                Box::new(inst.resource(Mode::Managed, rtype, attr, range)?)
            }
        };
        Ok(Some((found, true)))
    }

    fn base_dir(&self) -> &Path {
        &self.inst.def.dir
    }
}

impl Instance {
    #[allow(clippy::too_many_arguments)]
    pub fn new(
        loader: Rc<Loader>,
        def: Rc<ModuleDef>,
        path: String,
        call_path: Vec<String>,
        ancestors: Vec<PathBuf>,
        vars: crate::value::Map,
        var_spans: VarSpans,
        providers: BTreeMap<String, ProviderCfg>,
    ) -> Result<Rc<Instance>> {
        if !def.locals_acyclic.get() {
            check_locals_acyclic(&def)?;
            def.locals_acyclic.set(true);
        }
        let def_resources = def.resources.len();
        let inst = Rc::new(Instance {
            loader,
            def,
            path,
            call_path,
            ancestors,
            vars,
            var_spans,
            providers,
            locals: RefCell::new(BTreeMap::new()),
            resources: RefCell::new((0..def_resources).map(|_| None).collect()),
            modules: RefCell::new(BTreeMap::new()),
        });
        Ok(inst)
    }

    fn scope(&self, file: usize) -> Scope<'_> {
        Scope {
            inst: self,
            each: None,
            count: None,
            file,
        }
    }

    fn note(&self, loc: Option<&Loc>, message: String) {
        let span = loc.and_then(|l| self.def.span(l));
        self.loader
            .notes
            .borrow_mut()
            .push(LoadNote { span, message });
    }

    fn note_error(&self, e: &EvalError, file: usize, what: &str) {
        let e = e.clone().placed(&self.def, file);
        self.loader.notes.borrow_mut().push(LoadNote {
            span: e.span.clone(),
            message: format!(
                "{what} could not be evaluated ({}); tfparity treats it as unknown",
                e.message
            ),
        });
    }

    /// A local value, evaluated on first use.
    fn local(&self, name: &str, range: Option<Range<usize>>) -> Result<Value, EvalError> {
        let name = self.local_evaluated(name, range)?;
        match self.locals.borrow().get(name) {
            Some(Slot::Done(v)) => Ok(v.clone()),
            _ => Ok(Value::Unknown),
        }
    }

    /// Evaluates a local value unless it was already, and gives its declared name.
    fn local_evaluated(&self, name: &str, range: Option<Range<usize>>) -> Result<&str, EvalError> {
        let Some(def) = self.def.locals.iter().find(|l| l.name == name) else {
            return Err(EvalError::new(
                format!("undeclared local value `local.{name}`"),
                range,
            ));
        };
        match self.locals.borrow().get(name) {
            Some(Slot::Done(_)) => return Ok(&def.name),
            Some(Slot::InProgress) => {
                // Cycles are rejected up front; this guards against ones through resources.
                return Err(EvalError::new(
                    format!("`local.{name}` refers to itself"),
                    range,
                ));
            }
            None => {}
        }
        let Some(_depth) = self
            .loader
            .enter(|| too_deep(&self.def, &def.loc, &format!("local.{name}")))
        else {
            return Err(EvalError::new("references nest too deep", range));
        };
        self.locals
            .borrow_mut()
            .insert(name.to_string(), Slot::InProgress);
        let scope = self.scope(def.loc.file);
        let v = match Evaluator::new(&scope).eval(&def.expr) {
            Ok(v) => v,
            Err(e) => {
                self.note_error(&e, def.loc.file, &format!("local.{name}"));
                Value::Unknown
            }
        };
        self.locals
            .borrow_mut()
            .insert(name.to_string(), Slot::Done(v));
        Ok(&def.name)
    }

    /// The value references to a resource see.
    fn resource_reference(
        &self,
        mode: Mode,
        rtype: &str,
        name: &str,
        range: Option<Range<usize>>,
    ) -> Result<Value, EvalError> {
        self.resource(mode, rtype, name, range)
            .map(|r| r.reference())
    }

    fn resource(
        &self,
        mode: Mode,
        rtype: &str,
        name: &str,
        range: Option<Range<usize>>,
    ) -> Result<Rc<ResResult>, EvalError> {
        let Some(at) = self
            .def
            .resources
            .iter()
            .position(|r| r.mode == mode && r.rtype == rtype && r.name == name)
        else {
            return Err(EvalError::new(
                format!("undeclared resource `{rtype}.{name}`"),
                range,
            ));
        };
        match &self.resources.borrow()[at] {
            Some(Slot::Done(r)) => return Ok(r.clone()),
            Some(Slot::InProgress) => {
                return Err(EvalError::new(
                    format!("`{rtype}.{name}` depends on itself"),
                    range,
                ));
            }
            None => {}
        }
        let def = &self.def.resources[at];
        let Some(_depth) = self
            .loader
            .enter(|| too_deep(&self.def, &def.loc, &format!("{rtype}.{name}")))
        else {
            return Err(EvalError::new("references nest too deep", range));
        };
        self.resources.borrow_mut()[at] = Some(Slot::InProgress);
        let result = Rc::new(self.expand_resource(def));
        self.resources.borrow_mut()[at] = Some(Slot::Done(result.clone()));
        Ok(result)
    }

    /// Instance keys of a block with `count` or `for_each`: None when it has neither.
    /// Errors and unknown collections are noted and give no instances.
    fn expansion(
        &self,
        count: Option<&Expression>,
        for_each: Option<&Expression>,
        loc: &Loc,
        what: &str,
    ) -> Option<Expansion> {
        let scope = self.scope(loc.file);
        if let Some(fe) = for_each {
            let v = match Evaluator::new(&scope).eval(fe) {
                Ok(v) => v,
                Err(e) => {
                    self.note_error(&e, loc.file, &format!("for_each of {what}"));
                    return Some(Vec::new());
                }
            };
            let pairs: Vec<(String, Value)> = match v {
                Value::Map(m) => m
                    .into_iter()
                    .filter(|(k, _)| k != RESOURCE_MARKER)
                    .map(|(k, v)| (k.into(), v))
                    .collect(),
                Value::List(l) => {
                    let mut out = Vec::new();
                    for item in l {
                        match item {
                            Value::String(s) => out.push((s.clone(), Value::String(s))),
                            _ => {
                                self.note(Some(loc), format!("for_each of {what} is a list of {}: Terraform needs a map or a set of strings; no instances", item.type_name()));
                                return Some(Vec::new());
                            }
                        }
                    }
                    out.sort_by(|a, b| a.0.cmp(&b.0));
                    out.dedup_by(|a, b| a.0 == b.0);
                    out
                }
                v if v.is_unknown() || v == Value::Sensitive => {
                    self.note(Some(loc), format!("for_each of {what} is known only after apply: its instances cannot be listed"));
                    return Some(Vec::new());
                }
                other => {
                    self.note(Some(loc), format!("for_each of {what} is {}: Terraform needs a map or a set of strings; no instances", other.type_name()));
                    return Some(Vec::new());
                }
            };
            if !self.take_instances(pairs.len(), what, loc) {
                return Some(Vec::new());
            }
            return Some(
                pairs
                    .into_iter()
                    .map(|(k, v)| {
                        (
                            InstanceKey::Str(k.clone()),
                            Some((Value::String(k), v)),
                            None,
                        )
                    })
                    .collect(),
            );
        }
        if let Some(c) = count {
            let v = match Evaluator::new(&scope).eval(c) {
                Ok(v) => v,
                Err(e) => {
                    self.note_error(&e, loc.file, &format!("count of {what}"));
                    return Some(Vec::new());
                }
            };
            let n = match v.as_f64() {
                Some(n) if n >= 0.0 && n.fract() == 0.0 => n as usize,
                _ if v.is_unknown() => {
                    self.note(Some(loc), format!("count of {what} is known only after apply: its instances cannot be listed"));
                    return Some(Vec::new());
                }
                _ => {
                    self.note(
                        Some(loc),
                        format!("count of {what} is not a whole number; no instances"),
                    );
                    return Some(Vec::new());
                }
            };
            if !self.take_instances(n, what, loc) {
                return Some(Vec::new());
            }
            return Some(
                (0..n)
                    .map(|i| (InstanceKey::Int(i as i64), None, Some(i as f64)))
                    .collect(),
            );
        }
        None
    }

    fn take_instances(&self, n: usize, what: &str, loc: &Loc) -> bool {
        let path = self
            .def
            .files
            .get(loc.file)
            .map_or(self.def.dir.as_path(), |f| &*f.path);
        self.loader
            .take_instances(n, what, path, self.def.span(loc).as_ref())
    }

    fn expand_resource(&self, def: &ResourceDef) -> ResResult {
        let local = match def.mode {
            Mode::Managed => format!("{}.{}", def.rtype, def.name),
            Mode::Data => format!("data.{}.{}", def.rtype, def.name),
        };
        let base = if self.path.is_empty() {
            local.clone()
        } else {
            format!("{}.{local}", self.path)
        };
        let keys = self.expansion(
            def.count.as_ref(),
            def.for_each.as_ref(),
            &def.loc,
            &format!("`{local}`"),
        );
        let mut entries = Vec::with_capacity(keys.as_ref().map_or(1, Vec::len));
        let keyed = match keys {
            None => {
                entries.push(self.resource_instance(def, &base, None, None, None));
                Keyed::Single
            }
            Some(keys) => {
                let by_count = def.count.is_some() && def.for_each.is_none();
                let mut at = Vec::new();
                for (key, each, count) in keys {
                    let address = format!("{base}{key}");
                    if let InstanceKey::Str(k) = &key {
                        at.push((k.clone(), entries.len()));
                    }
                    entries.push(self.resource_instance(def, &address, Some(key), each, count));
                }
                if by_count {
                    Keyed::Count
                } else {
                    Keyed::ForEach(at.into_iter().collect())
                }
            }
        };
        ResResult {
            entries: RefCell::new(entries),
            keyed,
        }
    }

    /// One resource instance: its values, configuration and the object references see.
    fn resource_instance(
        &self,
        def: &ResourceDef,
        address: &str,
        key: Option<InstanceKey>,
        each: Option<(Value, Value)>,
        count: Option<f64>,
    ) -> Resource {
        let scope = Scope {
            inst: self,
            each: each.as_ref(),
            count,
            file: def.loc.file,
        };
        let mut config = ConfigBody {
            span: self.def.span(&def.loc),
            ..Default::default()
        };
        let mut values = self.body(&scope, &def.body, &mut config, 0, true);
        let provider = def
            .provider
            .as_deref()
            .unwrap_or_else(|| provider_of(&def.rtype));
        if def.rtype.starts_with("google")
            && let Value::Map(m) = &mut values
        {
            let cfg = self
                .providers
                .get(provider)
                .or_else(|| self.providers.get(provider_of(&def.rtype)));
            if let Some(cfg) = cfg {
                if !m.contains_key("project") && !matches!(cfg.project, Value::Null) {
                    m.insert("project", cfg.project.clone());
                }
                if REGIONAL.contains(&def.rtype.as_str())
                    && !m.contains_key("region")
                    && !matches!(cfg.region, Value::Null)
                {
                    m.insert("region", cfg.region.clone());
                }
            }
            plan_time_computed(&def.rtype, m);
            for (t, attr) in SENSITIVE_ATTRIBUTES {
                if *t == def.rtype && m.contains_key(attr) {
                    m.insert(*attr, Value::Sensitive);
                }
            }
        }
        // Kept unmarked (a whole object read from another resource brings its marks): only
        // what references read is marked, when they read it (see `reach`). Marking every
        // instance gave each block object of every instance a place string.
        eval::strip_markers(&mut values);
        Resource {
            address: address.to_string(),
            module: self.path.clone(),
            mode: def.mode,
            rtype: def.rtype.clone(),
            name: def.name.clone(),
            index: key,
            values,
            config: Some(std::sync::Arc::new(config)),
            action: Action::Exists,
            span: self.def.span(&def.loc),
        }
    }

    /// Evaluates a block body into plan-JSON shape (blocks are lists of objects), recording
    /// what was written in `config`.
    fn body(
        &self,
        scope: &Scope<'_>,
        body: &Body,
        config: &mut ConfigBody,
        depth: usize,
        top: bool,
    ) -> Value {
        let mut out = crate::value::Map::new();
        if depth > 32 {
            return Value::Map(out);
        }
        let mut ev = Evaluator::new(scope);
        self.body_into(&mut ev, scope.file, body, config, &mut out, depth, top);
        Value::Map(out)
    }

    #[allow(clippy::too_many_arguments)]
    fn body_into(
        &self,
        ev: &mut Evaluator<'_>,
        file: usize,
        body: &Body,
        config: &mut ConfigBody,
        out: &mut crate::value::Map,
        depth: usize,
        top: bool,
    ) {
        const META: &[&str] = &[
            "count",
            "for_each",
            "depends_on",
            "provider",
            "lifecycle",
            "provisioner",
            "connection",
        ];
        // Each instance of a resource gets its own values and configuration, thousands of
        // small maps: filled to their exact size, not to the next power of two.
        out.reserve_exact(body.len());
        config
            .attributes
            .reserve_exact(body.iter().filter(|s| s.is_attribute()).count());
        for s in body.iter() {
            match s {
                Structure::Attribute(a) => {
                    let key = a.key.as_str();
                    if top && META.contains(&key) {
                        continue;
                    }
                    let value = match ev.eval(&a.value) {
                        Ok(v) => v,
                        Err(e) => {
                            self.note_error(&e, file, &format!("`{key}`"));
                            Value::Unknown
                        }
                    };
                    let span = lone_variable(&a.value)
                        .and_then(|v| self.var_spans.get(v).cloned())
                        .or_else(|| self.def.span_of(file, a.value.span()));
                    let expr = ConfigExpr {
                        constant: eval::is_constant(&a.value).then(|| value.clone()),
                        references: self.references(ev, &a.value),
                        span,
                    };
                    config.attributes.insert(key, expr);
                    // `attr = null` is the same as not writing it.
                    if !matches!(value, Value::Null) {
                        out.insert(key, value);
                    }
                }
                Structure::Block(b) => {
                    let ident = b.ident.as_str();
                    if top && META.contains(&ident) {
                        continue;
                    }
                    if ident == "dynamic" {
                        let Some(label) = b.labels.first().map(|l| l.as_str().to_string()) else {
                            continue;
                        };
                        self.dynamic(ev, file, b, &label, config, out, depth);
                        continue;
                    }
                    let mut sub = ConfigBody {
                        span: self.def.span_of(file, b.span()),
                        ..Default::default()
                    };
                    let mut inner = crate::value::Map::new();
                    self.body_into(ev, file, &b.body, &mut sub, &mut inner, depth + 1, false);
                    // Most block types are written once: room for one, not the four a
                    // first push reserves.
                    config
                        .blocks
                        .entry_or_insert_with(ident, || Vec::with_capacity(1))
                        .push(sub);
                    push_block(out, ident, Value::Map(inner));
                }
            }
        }
    }

    #[allow(clippy::too_many_arguments)]
    fn dynamic(
        &self,
        ev: &mut Evaluator<'_>,
        file: usize,
        b: &hcl_edit::structure::Block,
        label: &str,
        config: &mut ConfigBody,
        out: &mut crate::value::Map,
        depth: usize,
    ) {
        let Some(for_each) = b.body.get_attribute("for_each") else {
            return;
        };
        let iterator = match b.body.get_attribute("iterator").map(|a| &a.value) {
            Some(Expression::Variable(v)) => v.as_str().to_string(),
            _ => label.to_string(),
        };
        let Some(content) = b.body.get_blocks("content").next() else {
            return;
        };
        let coll = match ev.eval(&for_each.value) {
            Ok(v) => v,
            Err(e) => {
                self.note_error(&e, file, &format!("for_each of dynamic \"{label}\""));
                Value::Unknown
            }
        };
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
            Value::Null => Vec::new(),
            _ => {
                // Unknown content: the configuration does not show what the block holds.
                config.dynamic_blocks.push(label.to_string());
                out.insert(label, Value::Unknown);
                return;
            }
        };
        let entry = out.entry_or_insert_with(label, || Value::List(Vec::new()));
        if !matches!(entry, Value::List(_)) {
            return;
        }
        let content_span = self.def.span_of(file, content.span());
        for (k, v) in items {
            let base = ev.iter_vars.len();
            ev.iter_vars.push((
                iterator.clone(),
                Value::Map(crate::value::Map::from([("key", k), ("value", v)])),
            ));
            let mut sub = ConfigBody {
                span: content_span.clone(),
                ..Default::default()
            };
            let mut inner = crate::value::Map::new();
            self.body_into(
                ev,
                file,
                &content.body,
                &mut sub,
                &mut inner,
                depth + 1,
                false,
            );
            ev.iter_vars.truncate(base);
            config
                .blocks
                .entry_or_insert_with(label, Vec::new)
                .push(sub);
            push_block(out, label, Value::Map(inner));
        }
    }

    /// The references an expression makes, as absolute addresses (`module.svc["a"].google_x.y["k"].id`).
    fn references(&self, ev: &mut Evaluator<'_>, e: &Expression) -> Vec<String> {
        let mut trav = Vec::new();
        eval::traversals(e, &mut trav);
        if trav.is_empty() {
            return Vec::new();
        }
        let absolute = |name: &str| {
            if self.path.is_empty() {
                name.to_string()
            } else {
                format!("{}.{name}", self.path)
            }
        };
        let mut out: Vec<String> = Vec::new();
        for (root, steps) in trav {
            if ev.iter_vars.iter().any(|(n, _)| n == root) {
                continue;
            }
            let mut s = match root {
                "var" | "local" => {
                    if let Some(Step::Attr(a)) = steps.first() {
                        out.push(format!("{root}.{a}"));
                    }
                    continue;
                }
                "each" | "count" | "path" | "terraform" | "self" => continue,
                "module" | "data" => absolute(root),
                t if t.contains('_') => absolute(t),
                _ => continue,
            };
            let needed_attrs = if root == "data" { 2 } else { 1 };
            let mut attrs = 0;
            for step in steps {
                match step {
                    Step::Attr(a) => {
                        s.push('.');
                        s.push_str(a);
                        attrs += 1;
                        if attrs > needed_attrs {
                            break;
                        }
                    }
                    Step::Index(ix) => match ev.eval(ix) {
                        Ok(Value::String(k)) => s.push_str(&InstanceKey::Str(k).to_string()),
                        Ok(Value::Number(n)) => s.push_str(&format!("[{}]", n as i64)),
                        _ => break,
                    },
                    Step::Literal(Value::Number(n)) => s.push_str(&format!("[{}]", n as i64)),
                    Step::Literal(_) => break,
                }
            }
            if !out.contains(&s) {
                out.push(s);
            }
        }
        out
    }

    /// The outputs of a module call: an object, or a list/map of objects with count/for_each.
    fn module_outputs(&self, name: &str, range: Option<Range<usize>>) -> Result<Value, EvalError> {
        self.module_result(name, range).map(|m| m.outputs.clone())
    }

    fn module_result(
        &self,
        name: &str,
        range: Option<Range<usize>>,
    ) -> Result<Rc<ModResult>, EvalError> {
        match self.modules.borrow().get(name) {
            Some(Slot::Done(m)) => return Ok(m.clone()),
            Some(Slot::InProgress) => {
                return Err(EvalError::new(
                    format!("module `{name}` depends on its own outputs"),
                    range,
                ));
            }
            None => {}
        }
        let Some(call) = self.def.modules.iter().find(|m| m.name == name) else {
            return Err(EvalError::new(
                format!("undeclared module `module.{name}`"),
                range,
            ));
        };
        let Some(_depth) = self
            .loader
            .enter(|| too_deep(&self.def, &call.loc, &format!("module.{name}")))
        else {
            return Err(EvalError::new("references nest too deep", range));
        };
        self.modules
            .borrow_mut()
            .insert(name.to_string(), Slot::InProgress);
        let result = match self.expand_module(call) {
            Ok(r) => Rc::new(r),
            Err(e) => {
                self.modules.borrow_mut().remove(name);
                let message = e.to_string();
                // A module that cannot be read stops the evaluation; kept whole, the error
                // keeps its own file:line (as text it would be prefixed with this directory).
                let mut fatal = self.loader.fatal.borrow_mut();
                if fatal.is_none() {
                    *fatal = Some(e);
                }
                return Err(EvalError {
                    message,
                    range: None,
                    span: None,
                });
            }
        };
        self.modules
            .borrow_mut()
            .insert(name.to_string(), Slot::Done(result.clone()));
        Ok(result)
    }

    fn expand_module(&self, call: &ModuleCallDef) -> Result<ModResult> {
        let mut call_path = self.call_path.clone();
        call_path.push(call.name.clone());
        let dir = match self
            .loader
            .module_dir(&self.def.dir, &call.source, &call_path)
        {
            Some(d) => d,
            None => {
                self.note(
                    Some(&call.loc),
                    format!(
                        "module `{}` (source \"{}\") could not be read: it is not a local path and is not installed in .terraform/modules (run `terraform init`); its outputs are unknown",
                        call.name, call.source
                    ),
                );
                let unknown = Value::Map(crate::value::Map::from([(
                    RESOURCE_MARKER.to_string(),
                    Value::Null,
                )]));
                return Ok(ModResult {
                    outputs: unknown,
                    children: Vec::new(),
                });
            }
        };
        // Placed at the call: a missing directory or a symlink loop (`modules/x -> x`).
        match std::fs::metadata(&dir) {
            Ok(m) if m.is_dir() => {}
            Ok(_) => {
                return Err(self.def.error(
                    &call.loc,
                    format!(
                        "module `{}`: its source \"{}\" is not a directory",
                        call.name, call.source
                    ),
                ));
            }
            Err(e) => {
                return Err(self.def.error(
                    &call.loc,
                    format!(
                        "module `{}`: its source \"{}\" cannot be read: {e}",
                        call.name, call.source
                    ),
                ));
            }
        }
        let canonical = dir.canonicalize().unwrap_or_else(|_| dir.clone());
        if self.ancestors.contains(&canonical) {
            let chain: Vec<String> = self
                .ancestors
                .iter()
                .chain(std::iter::once(&canonical))
                .map(|p| self.loader.relative(p))
                .collect();
            return Err(self.def.error(
                &call.loc,
                format!("module source cycle: {}", chain.join(" → ")),
            ));
        }
        let child_def = self.loader.module_def(&dir)?;
        let keys = self.expansion(
            call.count.as_ref(),
            call.for_each.as_ref(),
            &call.loc,
            &format!("module `{}`", call.name),
        );
        let mut ancestors = self.ancestors.clone();
        ancestors.push(canonical);
        let providers = self.child_providers(call);
        let base = if self.path.is_empty() {
            format!("module.{}", call.name)
        } else {
            format!("{}.module.{}", self.path, call.name)
        };
        let var_spans: VarSpans = Rc::new(
            call.args
                .iter()
                .filter_map(|(n, _, loc)| self.def.span(loc).map(|s| (n.clone(), s)))
                .collect(),
        );
        let mut children = Vec::new();
        let outputs = match keys {
            None => {
                let child = self.module_instance(
                    call, &child_def, base, call_path, ancestors, providers, &var_spans, None, None,
                )?;
                let out = child.outputs();
                children.push(child);
                out
            }
            Some(keys) => {
                let mut list = Vec::new();
                let mut map = crate::value::Map::new();
                for (key, each, count) in keys {
                    let path = format!("{base}{key}");
                    let child = self.module_instance(
                        call,
                        &child_def,
                        path,
                        call_path.clone(),
                        ancestors.clone(),
                        providers.clone(),
                        &var_spans,
                        each,
                        count,
                    )?;
                    let out = child.outputs();
                    children.push(child);
                    match key {
                        InstanceKey::Int(_) => list.push(out),
                        InstanceKey::Str(k) => {
                            map.insert(k, out);
                        }
                    }
                }
                if call.count.is_some() && call.for_each.is_none() {
                    Value::List(list)
                } else {
                    Value::Map(map)
                }
            }
        };
        Ok(ModResult { outputs, children })
    }

    fn child_providers(&self, call: &ModuleCallDef) -> BTreeMap<String, ProviderCfg> {
        let mut out = BTreeMap::new();
        for (name, cfg) in &self.providers {
            if !name.contains('.') {
                out.insert(name.clone(), cfg.clone());
            }
        }
        for (child, parent) in &call.providers {
            if let Some(cfg) = self.providers.get(parent) {
                out.insert(child.clone(), cfg.clone());
            }
        }
        out
    }

    #[allow(clippy::too_many_arguments)]
    fn module_instance(
        &self,
        call: &ModuleCallDef,
        child_def: &Rc<ModuleDef>,
        path: String,
        call_path: Vec<String>,
        ancestors: Vec<PathBuf>,
        providers: BTreeMap<String, ProviderCfg>,
        var_spans: &VarSpans,
        each: Option<(Value, Value)>,
        count: Option<f64>,
    ) -> Result<Rc<Instance>> {
        let mut vars = crate::value::Map::new();
        for var in &child_def.variables {
            let arg = call.args.iter().find(|(n, _, _)| *n == var.name);
            let value = match arg {
                Some((_, expr, loc)) => {
                    let scope = Scope {
                        inst: self,
                        each: each.as_ref(),
                        count,
                        file: loc.file,
                    };
                    match Evaluator::new(&scope).eval(expr) {
                        Ok(v) => v,
                        Err(e) => {
                            self.note_error(
                                &e,
                                loc.file,
                                &format!("argument `{}` of module `{}`", var.name, call.name),
                            );
                            Value::Unknown
                        }
                    }
                }
                None => Value::Null,
            };
            let value = match (value, &var.default) {
                (Value::Null, Some(d)) if arg.is_none() || !var.nullable => {
                    super::literal(child_def, var.loc.file, d)?
                }
                (Value::Null, None) if arg.is_none() => {
                    return Err(self.def.error(
                        &call.loc,
                        format!(
                            "module `{}` needs the argument `{}` (the variable has no default)",
                            call.name, var.name
                        ),
                    ));
                }
                (v, _) => v,
            };
            let value = super::typed(
                child_def,
                var,
                value,
                &format!("argument `{}` of module `{}`", var.name, call.name),
            )?;
            vars.insert(
                var.name.clone(),
                if var.sensitive {
                    Value::Sensitive
                } else {
                    value
                },
            );
        }
        for (name, _, loc) in &call.args {
            if child_def.variable(name).is_none() {
                return Err(self.def.error(
                    loc,
                    format!("module `{}` has no variable `{name}`", call.name),
                ));
            }
        }
        let inst = Instance::new(
            self.loader.clone(),
            child_def.clone(),
            path,
            call_path,
            ancestors,
            vars,
            var_spans.clone(),
            providers,
        )?;
        super::validate(&inst.def, &inst.vars, |v| Scope {
            inst: &inst,
            each: None,
            count: None,
            file: v,
        })?;
        Ok(inst)
    }

    /// The module's outputs as an object.
    fn outputs(&self) -> Value {
        let mut out = crate::value::Map::new();
        for o in &self.def.outputs {
            let scope = self.scope(o.loc.file);
            let v = match Evaluator::new(&scope).eval(&o.expr) {
                Ok(v) => v,
                Err(e) => {
                    self.note_error(&e, o.loc.file, &format!("output `{}`", o.name));
                    Value::Unknown
                }
            };
            out.insert(o.name.clone(), v);
        }
        Value::Map(out)
    }

    /// Evaluates every resource and module of this instance and those below it that nothing
    /// referred to yet.
    pub fn evaluate_all(&self) -> Result<()> {
        let fail =
            |e: EvalError| Error::from(crate::error::InputError::new(&self.def.dir, e.describe()));
        for def in &self.def.resources {
            self.resource(def.mode, &def.rtype, &def.name, None)
                .map_err(fail)?;
        }
        for call in &self.def.modules {
            let m = self.module_result(&call.name, None).map_err(fail)?;
            for child in &m.children {
                child.evaluate_all()?;
            }
        }
        Ok(())
    }

    /// How many resource instances `collect` will move out.
    pub fn count(&self) -> usize {
        let own: usize = self
            .resources
            .borrow()
            .iter()
            .map(|slot| match slot {
                Some(Slot::Done(r)) => r.entries.borrow().len(),
                _ => 0,
            })
            .sum();
        let below: usize = self
            .modules
            .borrow()
            .values()
            .map(|slot| match slot {
                Slot::Done(m) => m.children.iter().map(|c| c.count()).sum(),
                Slot::InProgress => 0,
            })
            .sum();
        own + below
    }

    /// Moves the resources out, in declaration order, once `evaluate_all` has run, dropping
    /// the values of types the model does not read.
    pub fn collect(&self, out: &mut Vec<Resource>) {
        for (def, slot) in self
            .def
            .resources
            .iter()
            .zip(self.resources.borrow().iter())
        {
            if let Some(Slot::Done(r)) = slot {
                let keep = def.mode == Mode::Managed && crate::load::model_reads(&def.rtype);
                for mut entry in r.entries.take() {
                    if !keep {
                        entry.values = Value::Null;
                    }
                    out.push(entry);
                }
            }
        }
        for call in &self.def.modules {
            if let Some(Slot::Done(m)) = self.modules.borrow().get(call.name.as_str()) {
                for child in &m.children {
                    child.collect(out);
                }
            }
        }
    }

    pub fn scope_for(&self, file: usize) -> Scope<'_> {
        self.scope(file)
    }
}

/// `x` when an expression is exactly `var.x`.
fn lone_variable(e: &Expression) -> Option<&str> {
    let Expression::Traversal(t) = e else {
        return None;
    };
    match (&t.expr, t.operators.as_slice()) {
        (Expression::Variable(v), [op]) if v.as_str() == "var" => match op.value() {
            hcl_edit::expr::TraversalOperator::GetAttr(a) => Some(a.as_str()),
            _ => None,
        },
        _ => None,
    }
}

/// Marks a resource's object, and every block object inside it, so that reading an attribute
/// the configuration does not set gives an unknown value from that place (the provider may
/// compute it) instead of an error.
fn mark_reference(v: &mut Value, path: &mut String) {
    use std::fmt::Write as _;
    let len = path.len();
    match v {
        Value::Map(m) => {
            for (k, x) in m.iter_mut() {
                // Only containers are marked: most attributes are scalars.
                if matches!(x, Value::Map(_) | Value::List(_)) {
                    path.push('.');
                    path.push_str(k);
                    mark_reference(x, path);
                    path.truncate(len);
                }
            }
            m.insert(RESOURCE_MARKER, Value::String(path.clone()));
        }
        Value::List(l) => {
            for (i, x) in l.iter_mut().enumerate() {
                if matches!(x, Value::Map(_)) {
                    let _ = write!(path, "[{i}]");
                    mark_reference(x, path);
                    path.truncate(len);
                }
            }
        }
        _ => {}
    }
}

fn push_block(out: &mut crate::value::Map, ident: &str, block: Value) {
    match out.entry_or_insert_with(ident, || Value::List(Vec::with_capacity(1))) {
        Value::List(l) => l.push(block),
        other => *other = Value::List(vec![block]),
    }
}

/// The provider a resource type belongs to by default: its name's first word.
fn provider_of(rtype: &str) -> &str {
    rtype.split('_').next().unwrap_or(rtype)
}

/// Attributes the provider knows at plan time though they are computed: since google provider
/// 6.13 a service account's email and member follow from its account id and project.
fn plan_time_computed(rtype: &str, m: &mut crate::value::Map) {
    if rtype == "google_service_account"
        && let (Some(Value::String(id)), Some(Value::String(project))) =
            (m.get("account_id"), m.get("project"))
    {
        let email = format!("{id}@{project}.iam.gserviceaccount.com");
        m.insert("member", Value::String(format!("serviceAccount:{email}")));
        m.insert("email", Value::String(email));
    }
}

/// The error for a chain of references deeper than [`super::MAX_REFERENCE_DEPTH`], placed at
/// the declaration where tfparity stopped.
fn too_deep(def: &ModuleDef, loc: &super::files::Loc, what: &str) -> crate::error::Error {
    def.error(
        loc,
        format!(
            "`{what}`: references nest more than {} levels deep (a value that needs another, which needs another...): tfparity stops there",
            super::MAX_REFERENCE_DEPTH
        ),
    )
}

/// Rejects locals that refer to each other in a cycle, naming them in order, before anything
/// is evaluated (a petgraph topological sort over `local.*` references).
fn check_locals_acyclic(def: &ModuleDef) -> Result<()> {
    use petgraph::graph::DiGraph;
    let mut g: DiGraph<usize, ()> = DiGraph::new();
    let nodes: Vec<_> = (0..def.locals.len()).map(|i| g.add_node(i)).collect();
    let index: HashMap<&str, usize> = def
        .locals
        .iter()
        .enumerate()
        .map(|(i, l)| (l.name.as_str(), i))
        .collect();
    for (i, l) in def.locals.iter().enumerate() {
        let mut trav = Vec::new();
        eval::traversals(&l.expr, &mut trav);
        let mut seen = BTreeSet::new();
        for (root, steps) in trav {
            if root != "local" {
                continue;
            }
            if let Some(Step::Attr(a)) = steps.first()
                && let Some(&j) = index.get(a)
                && seen.insert(j)
            {
                g.add_edge(nodes[i], nodes[j], ());
            }
        }
    }
    if petgraph::algo::toposort(&g, None).is_ok() {
        return Ok(());
    }
    for scc in petgraph::algo::tarjan_scc(&g) {
        let cyclic = scc.len() > 1 || g.contains_edge(scc[0], scc[0]);
        if !cyclic {
            continue;
        }
        let mut members: Vec<usize> = scc.iter().map(|n| g[*n]).collect();
        members.sort();
        let first = &def.locals[members[0]];
        // A generated cycle may have thousands of members: the message names the first few.
        const SHOWN: usize = 20;
        let mut names: Vec<String> = members
            .iter()
            .take(SHOWN)
            .map(|&i| format!("local.{}", def.locals[i].name))
            .collect();
        if members.len() > SHOWN {
            names.push(format!("… ({} more)", members.len() - SHOWN));
        }
        names.push(format!("local.{}", first.name));
        return Err(def.error(
            &first.loc,
            format!(
                "local values refer to each other in a cycle: {}",
                names.join(" → ")
            ),
        ));
    }
    Ok(())
}
