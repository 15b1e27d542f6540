//! A directory of Terraform configuration as a source, evaluated statically: no terraform
//! binary, no provider, no network. Produces the same inventory as the plan loader, every
//! resource and attribute carrying file:line:column.
//!
//! Variables follow Terraform's precedence: defaults < `TF_VAR_*` < `terraform.tfvars` <
//! `*.auto.tfvars` (lexical) < var files in order. A variable with no value is unknown.

pub mod eval;
pub mod files;
pub mod functions;
pub mod instance;
pub mod json_syntax;
pub mod types;

use std::cell::{Cell, RefCell};
use std::collections::{BTreeMap, HashMap};
use std::path::{Component, Path, PathBuf};
use std::rc::Rc;

use hcl_edit::Span as _;
use hcl_edit::expr::Expression;

use self::eval::{Context, EvalError, Evaluator};
use self::files::{ModuleDef, VariableDef};
use self::instance::{Instance, MAX_INSTANCES, ProviderCfg};
use crate::error::{Error, InputError, Result};
use crate::inventory::{Inventory, LoadNote, SourceInfo, SourceKind};
use crate::value::Value;

/// Shared state of one directory's evaluation.
pub struct Loader {
    root: PathBuf,
    pub workspace: String,
    pub notes: RefCell<Vec<LoadNote>>,
    defs: RefCell<HashMap<PathBuf, Rc<ModuleDef>>>,
    installed: Vec<(String, String, PathBuf)>,
    instances: Cell<usize>,
    /// How many evaluations of locals, resources and module calls are in progress, one inside
    /// the other (see [`MAX_REFERENCE_DEPTH`]).
    depth: Cell<usize>,
    /// An error that stops the whole evaluation (a limit exceeded deep inside a lazy
    /// evaluation), reported once it unwinds.
    pub fatal: RefCell<Option<Error>>,
}

impl Loader {
    /// A path shown relative to the root module, as Terraform's `path.module` is.
    pub fn relative(&self, p: &Path) -> String {
        // Canonical paths (module source cycles) are relative to the canonical root.
        let canonical = || self.root.canonicalize().ok().and_then(|r| pathdiff(p, &r));
        match pathdiff(p, &self.root).or_else(canonical) {
            Some(r) if r.as_os_str().is_empty() => ".".into(),
            Some(r) => r.to_string_lossy().replace('\\', "/"),
            None => p.to_string_lossy().to_string(),
        }
    }

    /// Counts instances against the limit; false (and a fatal error naming `what`) once it is
    /// exceeded, so memory stays bounded whatever the configuration asks for.
    pub fn take_instances(
        &self,
        n: usize,
        what: &str,
        path: &Path,
        span: Option<&crate::inventory::Span>,
    ) -> bool {
        let total = self.instances.get().saturating_add(n);
        self.instances.set(total);
        if total > MAX_INSTANCES {
            let mut fatal = self.fatal.borrow_mut();
            if fatal.is_none() {
                *fatal = Some(
                    InputError::new(
                        path,
                        format!("{what} expands to {n} instances: tfparity stops at {MAX_INSTANCES} resource and module instances per environment"),
                    )
                    .at_span(span)
                    .into(),
                );
            }
            return false;
        }
        true
    }

    /// Enters the evaluation of a local, resource or module call that another one needs;
    /// None (and a fatal error made by `error`) past [`MAX_REFERENCE_DEPTH`], so that a chain
    /// of references can neither overflow the stack nor run for long.
    pub fn enter(&self, error: impl FnOnce() -> Error) -> Option<DepthGuard<'_>> {
        let depth = self.depth.get() + 1;
        if depth > MAX_REFERENCE_DEPTH {
            let mut fatal = self.fatal.borrow_mut();
            if fatal.is_none() {
                *fatal = Some(error());
            }
            return None;
        }
        self.depth.set(depth);
        Some(DepthGuard(self))
    }

    /// The directory of a module call's source: a local path, or an installed module.
    pub fn module_dir(
        &self,
        caller_dir: &Path,
        source: &str,
        call_path: &[String],
    ) -> Option<PathBuf> {
        if source.starts_with("./") || source.starts_with("../") || source == "." || source == ".."
        {
            return Some(normalize(&caller_dir.join(source)));
        }
        let key = call_path.join(".");
        self.installed
            .iter()
            .find(|(k, _, _)| *k == key)
            .map(|(_, _, dir)| normalize(&self.root.join(dir)))
    }

    pub fn module_def(&self, dir: &Path) -> Result<Rc<ModuleDef>> {
        let key = dir.canonicalize().unwrap_or_else(|_| dir.to_path_buf());
        if let Some(d) = self.defs.borrow().get(&key) {
            return Ok(d.clone());
        }
        if !dir.is_dir() {
            return Err(InputError::new(dir, "module source directory not found").into());
        }
        let def = files::read_module(dir)?;
        self.defs.borrow_mut().insert(key, def.clone());
        Ok(def)
    }
}

/// How deeply evaluations may nest: a local whose value needs another local, which needs a
/// resource, which needs a module's output... Real configurations stay far below it.
pub const MAX_REFERENCE_DEPTH: usize = 500;

/// The stack the evaluator runs on: room for [`MAX_REFERENCE_DEPTH`] nested evaluations of
/// expressions nested as deep as hcl-edit allows, even in a debug build. Address space only:
/// the pages a run does not touch are never allocated.
const EVAL_STACK_BYTES: usize = 1 << 30;

/// Leaves one level of [`Loader::enter`] when dropped.
pub struct DepthGuard<'l>(&'l Loader);

impl Drop for DepthGuard<'_> {
    fn drop(&mut self) {
        self.0.depth.set(self.0.depth.get().saturating_sub(1));
    }
}

/// `a/./b/../c` → `a/c`, without touching the file system.
fn normalize(p: &Path) -> PathBuf {
    let mut out = PathBuf::new();
    for c in p.components() {
        match c {
            Component::CurDir => {}
            Component::ParentDir => {
                if !out.pop() {
                    out.push("..");
                }
            }
            other => out.push(other.as_os_str()),
        }
    }
    out
}

fn pathdiff(p: &Path, base: &Path) -> Option<PathBuf> {
    if p.is_absolute() != base.is_absolute() {
        return None;
    }
    let p = normalize(p);
    let base = normalize(base);
    let pc: Vec<Component<'_>> = p.components().collect();
    let bc: Vec<Component<'_>> = base.components().collect();
    let common = pc.iter().zip(&bc).take_while(|(a, b)| a == b).count();
    if bc[common..]
        .iter()
        .any(|c| matches!(c, Component::ParentDir))
    {
        return None;
    }
    let mut out = PathBuf::new();
    for _ in common..bc.len() {
        out.push("..");
    }
    for c in &pc[common..] {
        out.push(c.as_os_str());
    }
    Some(out)
}

/// Installed modules from `.terraform/modules/modules.json`: (key, source, dir).
fn installed_modules(root: &Path) -> Vec<(String, String, PathBuf)> {
    let path = root.join(".terraform/modules/modules.json");
    let Ok(text) = std::fs::read_to_string(&path) else {
        return Vec::new();
    };
    let Ok(doc) = serde_json::from_str::<serde_json::Value>(&text) else {
        return Vec::new();
    };
    doc.get("Modules")
        .and_then(|m| m.as_array())
        .map(|mods| {
            mods.iter()
                .filter_map(|m| {
                    Some((
                        m.get("Key")?.as_str()?.to_string(),
                        m.get("Source")
                            .and_then(|s| s.as_str())
                            .unwrap_or("")
                            .to_string(),
                        PathBuf::from(m.get("Dir")?.as_str()?),
                    ))
                })
                .collect()
        })
        .unwrap_or_default()
}

/// A scope with nothing in it, for literals (defaults, tfvars).
struct Literal {
    dir: PathBuf,
}

impl Context for Literal {
    fn root(
        &self,
        name: &str,
        _attr: Option<&str>,
        range: Option<std::ops::Range<usize>>,
    ) -> Result<(Value, bool), EvalError> {
        Err(EvalError::new(
            format!("`{name}`: variables are not allowed here"),
            range,
        ))
    }

    fn base_dir(&self) -> &Path {
        &self.dir
    }
}

/// Evaluates a literal expression (a variable default) written in `file` of `def`.
pub fn literal(def: &ModuleDef, file: usize, e: &Expression) -> Result<Value> {
    let ctx = Literal {
        dir: def.dir.clone(),
    };
    Evaluator::new(&ctx).eval(e).map_err(|err| {
        let err = err.placed(def, file);
        let path = def
            .files
            .get(file)
            .map(|f| f.path.to_path_buf())
            .unwrap_or_else(|| def.dir.clone());
        InputError::new(path, err.message)
            .at_span(err.span.as_ref())
            .into()
    })
}

/// Applies a variable's type constraint to a value.
pub fn typed(def: &ModuleDef, var: &VariableDef, value: Value, what: &str) -> Result<Value> {
    let Some(ty_expr) = &var.ty else {
        return Ok(value);
    };
    let ctx = Literal {
        dir: def.dir.clone(),
    };
    let mut ev = Evaluator::new(&ctx);
    let ty = types::parse(ty_expr, &mut ev).map_err(|m| {
        def.error(
            &files::Loc {
                file: var.loc.file,
                range: ty_expr.span(),
            },
            format!("variable `{}`: {m}", var.name),
        )
    })?;
    types::convert(value, &ty).map_err(|m| {
        def.error(
            &var.loc,
            format!(
                "{what}: the value does not fit the type of variable `{}`: {m}",
                var.name
            ),
        )
    })
}

/// Evaluates `validation` blocks of a module's variables; a known false condition is an
/// error with the variable's message, as `terraform plan` reports it.
pub fn validate<'a, S: Context + 'a>(
    def: &ModuleDef,
    vars: &crate::value::Map,
    scope: impl Fn(usize) -> S,
) -> Result<()> {
    for var in &def.variables {
        for (cond, msg, loc) in &var.validations {
            let s = scope(loc.file);
            let mut ev = Evaluator::new(&s);
            let value = vars.get(&var.name).cloned().unwrap_or(Value::Null);
            if value.is_unknown() || value == Value::Sensitive {
                continue;
            }
            ev.iter_vars.push((
                "var".into(),
                Value::Map(crate::value::Map::from([(var.name.clone(), value)])),
            ));
            if let Ok(Value::Bool(false)) = ev.eval(cond) {
                let text = msg
                    .as_ref()
                    .and_then(|m| ev.eval(m).ok())
                    .and_then(|v| v.as_str().map(str::to_string))
                    .unwrap_or_else(|| "validation failed".into());
                return Err(def.error(
                    loc,
                    format!("invalid value for variable `{}`: {text}", var.name),
                ));
            }
        }
    }
    Ok(())
}

/// Options for evaluating a directory.
#[derive(Clone, Debug, Default)]
pub struct HclOptions {
    pub var_files: Vec<PathBuf>,
    /// `TF_VAR_*` values (name without the prefix → raw string).
    pub env_vars: BTreeMap<String, String>,
    pub workspace: String,
}

impl HclOptions {
    pub fn from_env(var_files: Vec<PathBuf>) -> Self {
        let env_vars = std::env::vars()
            .filter_map(|(k, v)| k.strip_prefix("TF_VAR_").map(|n| (n.to_string(), v)))
            .collect();
        HclOptions {
            var_files,
            env_vars,
            workspace: std::env::var("TF_WORKSPACE").unwrap_or_else(|_| "default".into()),
        }
    }
}

/// Values of `.tfvars` (HCL) or `.tfvars.json` files: literals only.
fn read_tfvars(path: &Path) -> Result<Vec<(String, Value, Option<crate::inventory::Span>)>> {
    let bytes = crate::load::read_bounded(path, functions::MAX_FILE_BYTES, false)?;
    let text = String::from_utf8(bytes).map_err(|e| {
        let (line, col) = crate::inventory::line_col(e.as_bytes(), e.utf8_error().valid_up_to());
        Error::from(InputError::new(path, "is not UTF-8 text").at(line, col))
    })?;
    if path.to_string_lossy().ends_with(".json") {
        let doc: serde_json::Value = serde_json::from_str(&text).map_err(|e| {
            Error::from(
                InputError::new(path, format!("is not valid JSON: {e}")).at(e.line(), e.column()),
            )
        })?;
        let Some(obj) = doc.as_object() else {
            return Err(InputError::new(path, "must hold a JSON object of variable values").into());
        };
        return Ok(obj
            .iter()
            .map(|(k, v)| (k.clone(), Value::from_json(v), None))
            .collect());
    }
    let body = crate::syntax::parse_body(&text).map_err(|e| {
        Error::from(
            InputError::new(path, format!("is not valid HCL: {}", e.message)).at(e.line, e.column),
        )
    })?;
    let ctx = Literal {
        dir: path.parent().map(Path::to_path_buf).unwrap_or_default(),
    };
    let mut out = Vec::new();
    for a in body.attributes() {
        let span = a
            .span()
            .map(|r| crate::inventory::Span::at_offset(path, text.as_bytes(), r.start));
        let v = Evaluator::new(&ctx).eval(&a.value).map_err(|e| {
            Error::from(
                InputError::new(
                    path,
                    format!(
                        "`{}`: {} (variable files hold literal values only)",
                        a.key.as_str(),
                        e.message
                    ),
                )
                .at_span(span.as_ref()),
            )
        })?;
        out.push((a.key.as_str().to_string(), v, span));
    }
    Ok(out)
}

/// The root module's variable values with Terraform's precedence.
fn root_variables(
    def: &ModuleDef,
    opts: &HclOptions,
    notes: &mut Vec<LoadNote>,
) -> Result<crate::value::Map> {
    let mut values = crate::value::Map::new();
    for var in &def.variables {
        if let Some(d) = &var.default {
            values.insert(var.name.clone(), literal(def, var.loc.file, d)?);
        }
    }
    for (name, raw) in &opts.env_vars {
        let Some(var) = def.variable(name) else {
            continue;
        };
        let is_string = matches!(&var.ty, Some(Expression::Variable(v)) if v.as_str() == "string")
            || var.ty.is_none();
        let v = if is_string {
            Value::String(raw.clone())
        } else {
            let e = hcl_edit::parser::parse_expr(raw).map_err(|e| {
                Error::Usage(format!(
                    "TF_VAR_{name} is not a valid value: {}",
                    e.message()
                ))
            })?;
            let ctx = Literal {
                dir: def.dir.clone(),
            };
            Evaluator::new(&ctx)
                .eval(&e)
                .map_err(|e| Error::Usage(format!("TF_VAR_{name}: {}", e.message)))?
        };
        values.insert(name.clone(), v);
    }
    let mut files: Vec<PathBuf> = Vec::new();
    for auto in ["terraform.tfvars", "terraform.tfvars.json"] {
        let p = def.dir.join(auto);
        // Present in any form (a symlink loop too): reading it says what is wrong.
        if std::fs::symlink_metadata(&p).is_ok() {
            files.push(p);
        }
    }
    let mut autos: Vec<PathBuf> = std::fs::read_dir(&def.dir)
        .map(|rd| {
            rd.flatten()
                .map(|e| e.path())
                .filter(|p| {
                    let n = p
                        .file_name()
                        .map(|n| n.to_string_lossy().to_string())
                        .unwrap_or_default();
                    n.ends_with(".auto.tfvars") || n.ends_with(".auto.tfvars.json")
                })
                .collect()
        })
        .unwrap_or_default();
    autos.sort();
    files.extend(autos);
    files.extend(opts.var_files.iter().cloned());
    for f in files {
        for (name, v, span) in read_tfvars(&f)? {
            if def.variable(&name).is_none() {
                notes.push(LoadNote {
                    span,
                    message: format!(
                        "{} sets `{name}`, which the configuration does not declare",
                        f.display()
                    ),
                });
                continue;
            }
            values.insert(name, v);
        }
    }
    let mut out = crate::value::Map::new();
    for var in &def.variables {
        let v = match values.remove(&var.name) {
            Some(v) => typed(def, var, v, "the value given")?,
            // No value anywhere: unknown, as tflint and trivy treat it.
            None => Value::Unknown,
        };
        out.insert(
            var.name.clone(),
            if var.sensitive && !v.is_unknown() {
                Value::Sensitive
            } else {
                v
            },
        );
    }
    Ok(out)
}

/// Evaluates the Terraform configuration in `dir` into an inventory, on a thread of its own
/// with a stack deep enough for [`MAX_REFERENCE_DEPTH`] (a panic there is a panic here).
pub fn load_dir(dir: &Path, opts: &HclOptions) -> Result<Inventory> {
    std::thread::scope(|scope| {
        let worker = std::thread::Builder::new()
            .name("tfparity-hcl".into())
            .stack_size(EVAL_STACK_BYTES)
            .spawn_scoped(scope, || evaluate_dir(dir, opts));
        match worker {
            Ok(handle) => handle
                .join()
                .unwrap_or_else(|panic| std::panic::resume_unwind(panic)),
            // No thread to be had (a tight address-space limit): evaluate here.
            Err(_) => evaluate_dir(dir, opts),
        }
    })
}

fn evaluate_dir(dir: &Path, opts: &HclOptions) -> Result<Inventory> {
    eval::budget::reset();
    let root_def = files::read_module(dir)?;
    let loader = Rc::new(Loader {
        root: dir.to_path_buf(),
        workspace: if opts.workspace.is_empty() {
            "default".into()
        } else {
            opts.workspace.clone()
        },
        notes: RefCell::new(Vec::new()),
        defs: RefCell::new(HashMap::new()),
        installed: installed_modules(dir),
        instances: Cell::new(0),
        depth: Cell::new(0),
        fatal: RefCell::new(None),
    });
    let mut notes = Vec::new();
    let vars = root_variables(&root_def, opts, &mut notes)?;
    loader.notes.borrow_mut().extend(notes);
    // Provider defaults (project, region) feed the resources that omit them.
    let providers = {
        let placeholder = Instance::new(
            loader.clone(),
            root_def.clone(),
            String::new(),
            Vec::new(),
            Vec::new(),
            vars.clone(),
            Default::default(),
            BTreeMap::new(),
        )?;
        let mut out = BTreeMap::new();
        for p in &root_def.providers {
            let scope = placeholder.scope_for(p.loc.file);
            let mut ev = Evaluator::new(&scope);
            let mut get = |key: &str| match p.body.get_attribute(key) {
                Some(a) => ev.eval(&a.value).unwrap_or(Value::Unknown),
                None => Value::Null,
            };
            let cfg = ProviderCfg {
                project: get("project"),
                region: get("region"),
            };
            let key = match &p.alias {
                Some(a) => format!("{}.{a}", p.name),
                None => p.name.clone(),
            };
            out.insert(key, cfg);
        }
        out
    };
    let canonical = dir.canonicalize().unwrap_or_else(|_| dir.to_path_buf());
    let root = Instance::new(
        loader.clone(),
        root_def.clone(),
        String::new(),
        Vec::new(),
        vec![canonical],
        vars.clone(),
        Default::default(),
        providers,
    )?;
    validate(&root_def, &vars, |f| root.scope_for(f))?;
    let evaluated = root.evaluate_all();
    if let Some(e) = loader.fatal.borrow_mut().take() {
        return Err(e);
    }
    evaluated?;
    let mut resources = Vec::with_capacity(root.count());
    root.collect(&mut resources);
    // The evaluation's syntax trees, locals and module arguments are done with: freed before
    // the inventory is sorted, which takes room of its own.
    drop(root);
    drop(root_def);
    loader.defs.borrow_mut().clear();
    // A limit exceeded inside an expression was noted where it happened (with its place);
    // it ends the evaluation as an error, at that place.
    if let Some(limit) = eval::budget::take() {
        let notes = loader.notes.borrow();
        let placed = notes
            .iter()
            .find(|n| n.message.contains(&limit.message) && n.span.is_some());
        let e = match placed.and_then(|n| n.span.as_ref()) {
            Some(span) => InputError::new(&span.file, limit.message).at_span(Some(span)),
            None => InputError::new(dir, limit.message),
        };
        return Err(e.into());
    }
    crate::load::refuse_hostile(dir, &resources, crate::load::ValueStrings::Unchecked)?;
    let mut inv = Inventory {
        sources: vec![SourceInfo {
            path: dir.to_path_buf(),
            kind: SourceKind::Hcl,
            format_version: None,
            terraform_version: None,
        }],
        resources,
        removed: Vec::new(),
        notes: loader.notes.borrow().clone(),
    };
    inv.finish();
    Ok(inv)
}
#[cfg(test)]
mod tests;
