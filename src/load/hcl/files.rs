//! Reading one Terraform module directory: its `.tf` (and `.tf.json`) files parsed once with
//! hcl-edit, sorted into variables, locals, resources, module calls, outputs and providers.
//! Terraform reads only the files directly in the directory, never subdirectories.

use std::ops::Range;
use std::path::{Path, PathBuf};
use std::rc::Rc;

use hcl_edit::Span as _;
use hcl_edit::expr::Expression;
use hcl_edit::structure::{Block, Body, Structure};

use crate::error::{Error, InputError, Result};
use crate::inventory::{Mode, Span};

/// A source file of a module, kept for placing spans.
pub struct SourceFile {
    pub path: std::sync::Arc<Path>,
    pub text: String,
    pub lines: crate::inventory::LineIndex,
}

/// Where something is written: a file of the module and a byte range in it.
#[derive(Clone, Debug)]
pub struct Loc {
    pub file: usize,
    pub range: Option<Range<usize>>,
}

pub struct VariableDef {
    pub name: String,
    pub default: Option<Expression>,
    pub ty: Option<Expression>,
    pub sensitive: bool,
    pub nullable: bool,
    pub validations: Vec<(Expression, Option<Expression>, Loc)>,
    pub loc: Loc,
}

pub struct LocalDef {
    pub name: String,
    pub expr: Expression,
    pub loc: Loc,
}

pub struct ResourceDef {
    pub mode: Mode,
    pub rtype: String,
    pub name: String,
    pub count: Option<Expression>,
    pub for_each: Option<Expression>,
    pub provider: Option<String>,
    pub body: Body,
    pub loc: Loc,
}

pub struct ModuleCallDef {
    pub name: String,
    pub source: String,
    pub count: Option<Expression>,
    pub for_each: Option<Expression>,
    /// Input arguments (everything but the meta-arguments).
    pub args: Vec<(String, Expression, Loc)>,
    /// `providers = { google = google.other }`: child name → parent provider reference.
    pub providers: Vec<(String, String)>,
    pub loc: Loc,
}

pub struct OutputDef {
    pub name: String,
    pub expr: Expression,
    pub sensitive: bool,
    pub loc: Loc,
}

pub struct ProviderDef {
    pub name: String,
    pub alias: Option<String>,
    pub body: Body,
    pub loc: Loc,
}

#[derive(Default)]
pub struct ModuleDef {
    pub dir: PathBuf,
    pub files: Vec<SourceFile>,
    pub variables: Vec<VariableDef>,
    pub locals: Vec<LocalDef>,
    pub resources: Vec<ResourceDef>,
    pub modules: Vec<ModuleCallDef>,
    pub outputs: Vec<OutputDef>,
    pub providers: Vec<ProviderDef>,
    /// Whether the locals were found free of cycles: checked once, by the module's first
    /// instance, not by each of its thousands.
    pub locals_acyclic: std::cell::Cell<bool>,
}

impl ModuleDef {
    pub fn span(&self, loc: &Loc) -> Option<Span> {
        let f = self.files.get(loc.file)?;
        let start = loc.range.as_ref().map_or(0, |r| r.start);
        let (line, column) = f.lines.line_col(f.text.as_bytes(), start);
        Some(Span::shared(f.path.clone(), line, column))
    }

    pub fn span_of(&self, file: usize, range: Option<Range<usize>>) -> Option<Span> {
        self.span(&Loc { file, range })
    }

    pub fn error(&self, loc: &Loc, message: impl Into<String>) -> Error {
        match self.files.get(loc.file) {
            Some(f) => InputError::new(&f.path, message)
                .at_span(self.span(loc).as_ref())
                .into(),
            None => InputError::new(&self.dir, message).into(),
        }
    }

    pub fn variable(&self, name: &str) -> Option<&VariableDef> {
        self.variables.iter().find(|v| v.name == name)
    }
}

/// The `.tf` and `.tf.json` files of a directory, sorted by name (Terraform's order).
pub fn module_files(dir: &Path) -> Result<Vec<PathBuf>> {
    let entries = std::fs::read_dir(dir).map_err(|e| Error::io(dir, e))?;
    let mut out = Vec::new();
    for e in entries {
        let e = e.map_err(|err| Error::io(dir, err))?;
        let name = e.file_name().to_string_lossy().to_string();
        if name.starts_with('.') || !(name.ends_with(".tf") || name.ends_with(".tf.json")) {
            continue;
        }
        // Override files merge into other blocks; tfparity reads them as ordinary files.
        let p = e.path();
        // As Terraform, an entry that cannot be read (a symlink loop, a dangling link) is an
        // error, not a file to leave out silently.
        match std::fs::metadata(&p) {
            Ok(m) if m.is_dir() => {}
            Ok(_) => out.push(p),
            Err(err) => return Err(Error::io(&p, err)),
        }
    }
    out.sort();
    Ok(out)
}

/// Parses a module directory.
pub fn read_module(dir: &Path) -> Result<Rc<ModuleDef>> {
    let mut def = ModuleDef {
        dir: dir.to_path_buf(),
        ..Default::default()
    };
    let files = module_files(dir)?;
    if files.is_empty() {
        return Err(InputError::new(dir, "contains no Terraform files (*.tf, *.tf.json)").into());
    }
    for path in files {
        // Bounded as `file()` is: a file people write, never a device (a 100 MB string in a
        // file would otherwise cost seconds and several copies before any check sees it).
        let bytes = crate::load::read_bounded(&path, super::functions::MAX_FILE_BYTES, false)?;
        let text = String::from_utf8(bytes).map_err(|e| {
            let (line, col) =
                crate::inventory::line_col(e.as_bytes(), e.utf8_error().valid_up_to());
            Error::from(InputError::new(&path, "is not UTF-8 text").at(line, col))
        })?;
        let body = if path.to_string_lossy().ends_with(".tf.json") {
            super::json_syntax::to_body(&path, &text)?
        } else {
            crate::syntax::parse_body(&text).map_err(|e| {
                Error::from(
                    InputError::new(&path, format!("is not valid HCL: {}", e.message))
                        .at(e.line, e.column),
                )
            })?
        };
        let file = def.files.len();
        let lines = crate::inventory::LineIndex::new(text.as_bytes());
        def.files.push(SourceFile {
            path: path.into(),
            text,
            lines,
        });
        collect(&mut def, file, body)?;
    }
    Ok(Rc::new(def))
}

fn loc(file: usize, range: Option<Range<usize>>) -> Loc {
    Loc { file, range }
}

fn labels(b: &Block) -> Vec<String> {
    b.labels.iter().map(|l| l.as_str().to_string()).collect()
}

fn want_labels(def: &ModuleDef, b: &Block, file: usize, n: usize) -> Result<Vec<String>> {
    let l = labels(b);
    if l.len() != n {
        return Err(def.error(
            &loc(file, b.span()),
            format!(
                "a `{}` block takes {n} label(s), found {}",
                b.ident.as_str(),
                l.len()
            ),
        ));
    }
    Ok(l)
}

fn attr_expr(body: &Body, key: &str) -> Option<Expression> {
    body.get_attribute(key).map(|a| a.value.clone())
}

fn literal_bool(body: &Body, key: &str) -> Option<bool> {
    match body.get_attribute(key).map(|a| &a.value) {
        Some(Expression::Bool(b)) => Some(*b.value()),
        _ => None,
    }
}

fn collect(def: &mut ModuleDef, file: usize, body: Body) -> Result<()> {
    for s in body.into_iter() {
        let Structure::Block(b) = s else { continue };
        match b.ident.as_str() {
            "variable" => {
                let name = want_labels(def, &b, file, 1)?.remove(0);
                let validations = b
                    .body
                    .get_blocks("validation")
                    .filter_map(|v| {
                        attr_expr(&v.body, "condition")
                            .map(|c| (c, attr_expr(&v.body, "error_message"), loc(file, v.span())))
                    })
                    .collect();
                def.variables.push(VariableDef {
                    name,
                    default: attr_expr(&b.body, "default"),
                    ty: attr_expr(&b.body, "type"),
                    sensitive: literal_bool(&b.body, "sensitive").unwrap_or(false),
                    nullable: literal_bool(&b.body, "nullable").unwrap_or(true),
                    validations,
                    loc: loc(file, b.span()),
                });
            }
            "locals" => {
                // Moved, not copied: a locals block can hold the estate's largest expression.
                for s in b.body.into_iter() {
                    let Structure::Attribute(a) = s else { continue };
                    def.locals.push(LocalDef {
                        name: a.key.as_str().to_string(),
                        loc: loc(file, a.span()),
                        expr: a.value,
                    });
                }
            }
            "resource" | "data" => {
                let l = want_labels(def, &b, file, 2)?;
                let provider = b
                    .body
                    .get_attribute("provider")
                    .map(|a| provider_ref(&a.value));
                def.resources.push(ResourceDef {
                    mode: if b.ident.as_str() == "data" {
                        Mode::Data
                    } else {
                        Mode::Managed
                    },
                    rtype: l[0].clone(),
                    name: l[1].clone(),
                    count: attr_expr(&b.body, "count"),
                    for_each: attr_expr(&b.body, "for_each"),
                    provider,
                    loc: loc(file, b.span()),
                    body: b.body,
                });
            }
            "module" => {
                let name = want_labels(def, &b, file, 1)?.remove(0);
                let source = match b.body.get_attribute("source").map(|a| &a.value) {
                    Some(Expression::String(s)) => s.value().to_string(),
                    Some(_) => {
                        return Err(def.error(
                            &loc(file, b.span()),
                            format!("module `{name}`: `source` must be a literal string"),
                        ));
                    }
                    None => {
                        return Err(def.error(
                            &loc(file, b.span()),
                            format!("module `{name}` has no `source`"),
                        ));
                    }
                };
                let mut providers = Vec::new();
                if let Some(Expression::Object(obj)) =
                    b.body.get_attribute("providers").map(|a| &a.value)
                {
                    for (k, v) in obj.iter() {
                        let key = match k {
                            hcl_edit::expr::ObjectKey::Ident(i) => i.as_str().to_string(),
                            hcl_edit::expr::ObjectKey::Expression(e) => expr_text(e),
                        };
                        providers.push((key, provider_ref(v.expr())));
                    }
                }
                let meta = [
                    "source",
                    "version",
                    "count",
                    "for_each",
                    "providers",
                    "depends_on",
                ];
                let args = b
                    .body
                    .attributes()
                    .filter(|a| !meta.contains(&a.key.as_str()))
                    .map(|a| {
                        (
                            a.key.as_str().to_string(),
                            a.value.clone(),
                            loc(file, a.span()),
                        )
                    })
                    .collect();
                def.modules.push(ModuleCallDef {
                    name,
                    source,
                    count: attr_expr(&b.body, "count"),
                    for_each: attr_expr(&b.body, "for_each"),
                    args,
                    providers,
                    loc: loc(file, b.span()),
                });
            }
            "output" => {
                let name = want_labels(def, &b, file, 1)?.remove(0);
                let Some(expr) = attr_expr(&b.body, "value") else {
                    return Err(def.error(
                        &loc(file, b.span()),
                        format!("output `{name}` has no `value`"),
                    ));
                };
                def.outputs.push(OutputDef {
                    name,
                    expr,
                    sensitive: literal_bool(&b.body, "sensitive").unwrap_or(false),
                    loc: loc(file, b.span()),
                });
            }
            "provider" => {
                let name = want_labels(def, &b, file, 1)?.remove(0);
                let alias = match b.body.get_attribute("alias").map(|a| &a.value) {
                    Some(Expression::String(s)) => Some(s.value().to_string()),
                    _ => None,
                };
                def.providers.push(ProviderDef {
                    name,
                    alias,
                    loc: loc(file, b.span()),
                    body: b.body,
                });
            }
            // terraform, moved, import, check, removed blocks do not describe resources.
            _ => {}
        }
    }
    Ok(())
}

/// `google.west` → "google.west"; `google` → "google".
fn provider_ref(e: &Expression) -> String {
    expr_text(e)
}

/// The source text of a simple expression (identifiers and attribute access).
pub fn expr_text(e: &Expression) -> String {
    match e {
        Expression::Variable(v) => v.as_str().to_string(),
        Expression::String(s) => s.value().to_string(),
        Expression::Traversal(t) => {
            let mut s = expr_text(&t.expr);
            for op in &t.operators {
                if let hcl_edit::expr::TraversalOperator::GetAttr(a) = op.value() {
                    s.push('.');
                    s.push_str(a.as_str());
                }
            }
            s
        }
        _ => String::new(),
    }
}
