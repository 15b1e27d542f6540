//! The resource inventory: what every loader produces, whatever the input format.

use std::fmt;
use std::path::{Path, PathBuf};
use std::sync::Arc;

use crate::value::Value;

/// A place in a source file. Lines and columns count from 1.
#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Span {
    /// Shared: every span of one file points at one path, so cloning a span never allocates.
    pub file: Arc<Path>,
    pub line: usize,
    pub column: usize,
}

impl Span {
    pub fn new(file: impl AsRef<Path>, line: usize, column: usize) -> Self {
        Span::shared(Arc::from(file.as_ref()), line, column)
    }

    /// A span in a file whose path is already shared: loaders make one per file.
    pub fn shared(file: Arc<Path>, line: usize, column: usize) -> Self {
        Span { file, line, column }
    }

    /// The 1-based line and column of a byte offset in `text`.
    pub fn at_offset(file: impl AsRef<Path>, text: &[u8], offset: usize) -> Self {
        let (line, column) = line_col(text, offset);
        Span::new(file, line, column)
    }
}

/// The starts of a text's lines, so that each position is found by a binary search: placing
/// every block of a 5,000-service configuration by counting lines from the top was quadratic.
#[derive(Clone, Debug, Default)]
pub struct LineIndex {
    /// Offsets of the `\n` bytes.
    newlines: Vec<usize>,
}

impl LineIndex {
    pub fn new(text: &[u8]) -> Self {
        let mut index = LineIndex::default();
        index.extend(text, 0);
        index
    }

    /// Adds the lines of `part`, the next piece of the text, which starts at `offset`: a large
    /// text is indexed piece by piece while each is in memory.
    pub fn extend(&mut self, part: &[u8], offset: usize) {
        self.newlines
            .extend(memchr::memchr_iter(b'\n', part).map(|n| n + offset));
    }

    /// The 1-based line of a byte offset, and the offset where that line starts.
    pub fn line(&self, offset: usize) -> (usize, usize) {
        let line = self.newlines.partition_point(|&n| n < offset);
        let start = if line == 0 {
            0
        } else {
            self.newlines[line - 1] + 1
        };
        (line + 1, start)
    }

    /// The place of a byte offset in `file`; columns count bytes (for JSON, whose lines may
    /// be a whole 100 MB file).
    pub fn byte_span(&self, file: &Arc<Path>, offset: usize) -> Span {
        let (line, start) = self.line(offset);
        Span::shared(file.clone(), line, offset.saturating_sub(start) + 1)
    }

    /// The 1-based line and column of a byte offset in `text` (the text indexed); columns
    /// count characters, as editors do.
    pub fn line_col(&self, text: &[u8], offset: usize) -> (usize, usize) {
        let offset = offset.min(text.len());
        let (line, start) = self.line(offset);
        (line, char_count(&text[start.min(offset)..offset]) + 1)
    }
}

fn char_count(bytes: &[u8]) -> usize {
    match std::str::from_utf8(bytes) {
        Ok(s) => s.chars().count(),
        Err(_) => String::from_utf8_lossy(bytes).chars().count(),
    }
}

pub fn line_col(text: &[u8], offset: usize) -> (usize, usize) {
    let offset = offset.min(text.len());
    let before = &text[..offset];
    // memchr and a byte count: an error at the end of a 100 MB one-line plan is placed at once.
    let line = memchr::memchr_iter(b'\n', before).count() + 1;
    let line_start = memchr::memrchr(b'\n', before).map_or(0, |p| p + 1);
    (line, char_count(&before[line_start..]) + 1)
}

impl fmt::Display for Span {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}:{}:{}", self.file.display(), self.line, self.column)
    }
}

/// What kind of input a source was.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum SourceKind {
    /// `terraform show -json` of a saved plan.
    Plan,
    /// `terraform show -json` of a state.
    State,
    /// A raw `terraform.tfstate` (version 4).
    TfState,
    /// The `terraform plan -json` line stream.
    PlanStream,
    /// A directory of Terraform configuration evaluated statically.
    Hcl,
}

impl SourceKind {
    pub fn as_str(self) -> &'static str {
        match self {
            SourceKind::Plan => "plan",
            SourceKind::State => "state",
            SourceKind::TfState => "tfstate",
            SourceKind::PlanStream => "plan-stream",
            SourceKind::Hcl => "hcl",
        }
    }
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub struct SourceInfo {
    pub path: PathBuf,
    pub kind: SourceKind,
    pub format_version: Option<String>,
    pub terraform_version: Option<String>,
}

/// The planned action for a resource. Sources without a plan (state, HCL) use `Exists`.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, serde::Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum Action {
    Exists,
    NoOp,
    Create,
    Read,
    Update,
    Replace,
    Delete,
    Forget,
}

impl Action {
    pub fn as_str(self) -> &'static str {
        match self {
            Action::Exists => "exists",
            Action::NoOp => "no-op",
            Action::Create => "create",
            Action::Read => "read",
            Action::Update => "update",
            Action::Replace => "replace",
            Action::Delete => "delete",
            Action::Forget => "forget",
        }
    }

    /// Whether the resource is part of the environment once the change is applied.
    pub fn survives(self) -> bool {
        !matches!(self, Action::Delete | Action::Forget)
    }

    /// Whether this resource changes when the plan is applied.
    pub fn changes(self) -> bool {
        !matches!(self, Action::Exists | Action::NoOp | Action::Read)
    }
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Mode {
    Managed,
    Data,
}

/// An instance key from `count` (number) or `for_each` (string).
#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum InstanceKey {
    Int(i64),
    Str(String),
}

impl fmt::Display for InstanceKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            InstanceKey::Int(i) => write!(f, "[{i}]"),
            InstanceKey::Str(s) => write!(f, "[{}]", quote(s)),
        }
    }
}

/// Quotes a for_each key the way Terraform writes it in addresses.
pub fn quote(s: &str) -> String {
    serde_json::to_string(s).unwrap_or_else(|_| format!("\"{s}\""))
}

/// One expression as written in the configuration.
#[derive(Clone, Debug, PartialEq, Default)]
pub struct ConfigExpr {
    /// The value when the expression is a constant (Terraform's `constant_value`).
    pub constant: Option<Value>,
    /// Resources and values referred to, as absolute addresses where they could be resolved
    /// (`google_service_account.cr["api"].email`, `module.svc["a"].google_x.y`, `var.x`).
    pub references: Vec<String>,
    /// Where the expression is written, when the source is HCL.
    pub span: Option<Span>,
}

/// A block of configuration: which attributes were written and which nested blocks.
#[derive(Clone, Debug, PartialEq, Default)]
pub struct ConfigBody {
    // Sorted vectors: one body per block of every resource instance, most with a few entries
    // (B-trees took 160 MB of nodes for 5,000 services' HCL).
    pub attributes: crate::value::Map<ConfigExpr>,
    pub blocks: crate::value::Map<Vec<ConfigBody>>,
    /// Block types written with `dynamic`, whose content the configuration does not show.
    pub dynamic_blocks: Vec<String>,
    pub span: Option<Span>,
}

impl ConfigBody {
    /// The expression at a dotted path through blocks (`template.service_account`), taking the
    /// first block of each type.
    pub fn expr(&self, dotted: &str) -> Option<&ConfigExpr> {
        let mut parts: Vec<&str> = dotted.split('.').collect();
        let last = parts.pop()?;
        let mut body = self;
        for p in parts {
            body = body.blocks.get(p)?.first()?;
        }
        body.attributes.get(last)
    }

    /// Whether the configuration shows what was written at `dotted`. A block that is absent
    /// was not written, so nothing inside it was; only a block written with `dynamic` hides
    /// its content (plan JSON omits dynamic blocks entirely, so there an absent block counts as
    /// not written, the common case of an optional block left out).
    pub fn shows(&self, dotted: &str) -> bool {
        let mut parts: Vec<&str> = dotted.split('.').collect();
        parts.pop();
        let mut body = self;
        for p in parts {
            if body.dynamic_blocks.iter().any(|d| d == p) {
                return false;
            }
            match body.blocks.get(p).and_then(|b| b.first()) {
                Some(b) => body = b,
                None => return true,
            }
        }
        true
    }

    /// Every reference in this body and its blocks.
    pub fn all_references(&self) -> impl Iterator<Item = &str> {
        let mut out: Vec<&str> = Vec::new();
        self.collect_references(&mut out);
        out.into_iter()
    }

    fn collect_references<'a>(&'a self, out: &mut Vec<&'a str>) {
        for e in self.attributes.values() {
            out.extend(e.references.iter().map(String::as_str));
        }
        for blocks in self.blocks.values() {
            for b in blocks {
                b.collect_references(out);
            }
        }
    }
}

#[derive(Clone, Debug, PartialEq)]
pub struct Resource {
    /// Full address: `module.service["api"].google_cloud_run_v2_service.this[0]`.
    pub address: String,
    /// Module path (`module.service["api"]`), empty for the root module.
    pub module: String,
    pub mode: Mode,
    pub rtype: String,
    pub name: String,
    pub index: Option<InstanceKey>,
    /// The values the resource will have (or has, for state): unknown and sensitive marked.
    /// `Null` for resource types the model does not read (their values are not parsed).
    pub values: Value,
    /// What the configuration wrote for this resource, when the source shows it; shared by
    /// the instances of one declaration.
    pub config: Option<std::sync::Arc<ConfigBody>>,
    pub action: Action,
    /// Where the resource is declared (HCL) or appears (plan/state file).
    pub span: Option<Span>,
}

impl Resource {
    /// The address without the instance key (`google_x.y` for `google_x.y["a"]`).
    pub fn base_address(&self) -> String {
        if self.module.is_empty() {
            format!("{}.{}", self.prefix(), self.name)
        } else {
            format!("{}.{}.{}", self.module, self.prefix(), self.name)
        }
    }

    fn prefix(&self) -> String {
        match self.mode {
            Mode::Managed => self.rtype.clone(),
            Mode::Data => format!("data.{}", self.rtype),
        }
    }

    /// A reference of this resource's configuration as an absolute address. Plan loaders keep
    /// references relative (`1^google_x.y`: written one module level above this resource) so
    /// that module instances can share one configuration body.
    pub fn reference<'r>(&self, reference: &'r str) -> std::borrow::Cow<'r, str> {
        let Some((up, rest)) = reference.split_once('^') else {
            return std::borrow::Cow::Borrowed(reference);
        };
        let Ok(up) = up.parse::<usize>() else {
            return std::borrow::Cow::Borrowed(reference);
        };
        // Read for every reference of every resource: the kept steps are cut out of the module
        // path, not rebuilt.
        // One pass over the module path, keeping where its first steps end.
        let steps = || crate::load::config::module_step_iter(&self.module);
        let mut ends = [0; 8];
        let mut count = 0;
        for (_, _, end) in steps() {
            if let Some(slot) = ends.get_mut(count) {
                *slot = end;
            }
            count += 1;
        }
        let keep = count.saturating_sub(up);
        let end_of = |last: usize| match ends.get(last) {
            Some(&end) if last < count => Some(end),
            _ => steps().nth(last).map(|s| s.2),
        };
        match keep.checked_sub(1).and_then(end_of) {
            None => std::borrow::Cow::Owned(rest.to_string()),
            Some(end) => std::borrow::Cow::Owned(format!("{}.{rest}", &self.module[..end])),
        }
    }

    /// Where a finding about `attribute` (dotted path) should point: the attribute's own
    /// expression when the source is HCL, else the resource.
    pub fn span_of(&self, attribute: &str) -> Option<Span> {
        self.config
            .as_ref()
            .and_then(|c| c.expr(attribute))
            .and_then(|e| e.span.clone())
            .or_else(|| self.span.clone())
    }
}

/// A note a loader leaves for the report: something it could not read or had to assume.
#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord)]
pub struct LoadNote {
    pub span: Option<Span>,
    pub message: String,
}

#[derive(Clone, Debug, Default)]
pub struct Inventory {
    pub sources: Vec<SourceInfo>,
    /// Sorted by address; only resources that exist after the change (deleted ones removed).
    pub resources: Vec<Resource>,
    /// Addresses the plan deletes: not part of the environment afterwards.
    pub removed: Vec<String>,
    pub notes: Vec<LoadNote>,
}

impl Inventory {
    pub fn finish(&mut self) {
        self.resources.sort_by(|a, b| a.address.cmp(&b.address));
        self.resources.dedup_by(|a, b| a.address == b.address);
        self.notes.sort();
        self.notes.dedup();
        self.removed.sort();
        self.removed.dedup();
    }

    pub fn of_type<'a>(&'a self, rtype: &'a str) -> impl Iterator<Item = &'a Resource> + 'a {
        self.resources
            .iter()
            .filter(move |r| r.rtype == rtype && r.mode == Mode::Managed)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn relative_references_become_absolute_from_the_resources_module() {
        let at = |module: &str| Resource {
            address: format!("{module}.google_x.y"),
            module: module.to_string(),
            mode: Mode::Managed,
            rtype: "google_x".into(),
            name: "y".into(),
            index: None,
            values: Value::Null,
            config: None,
            action: Action::Create,
            span: None,
        };
        let nested = at(r#"module.a["k.1"].module.b[0].module.c"#);
        assert_eq!(
            nested.reference("0^google_s.t.id"),
            r#"module.a["k.1"].module.b[0].module.c.google_s.t.id"#
        );
        assert_eq!(
            nested.reference("1^google_s.t.id"),
            r#"module.a["k.1"].module.b[0].google_s.t.id"#
        );
        assert_eq!(
            nested.reference("2^google_s.t.id"),
            r#"module.a["k.1"].google_s.t.id"#
        );
        assert_eq!(nested.reference("3^google_s.t.id"), "google_s.t.id");
        assert_eq!(nested.reference("9^google_s.t.id"), "google_s.t.id");
        assert_eq!(at("").reference("1^google_s.t"), "google_s.t");
        assert_eq!(nested.reference("google_s.t.id"), "google_s.t.id");
        // Deeper than the steps kept on the stack.
        let path: Vec<String> = (0..10).map(|i| format!("module.m{i}")).collect();
        let deep = at(&path.join("."));
        for up in 0..=10 {
            let expected = match path[..10 - up].join(".") {
                p if p.is_empty() => "google_s.t".to_string(),
                p => format!("{p}.google_s.t"),
            };
            assert_eq!(
                deep.reference(&format!("{up}^google_s.t")),
                expected,
                "{up}"
            );
        }
    }

    #[test]
    fn line_col_counts_from_one() {
        let text = b"ab\ncd\nef";
        assert_eq!(line_col(text, 0), (1, 1));
        assert_eq!(line_col(text, 4), (2, 2));
        assert_eq!(line_col(text, 6), (3, 1));
        let index = LineIndex::new(text);
        for offset in 0..=text.len() + 2 {
            assert_eq!(
                index.line_col(text, offset),
                line_col(text, offset),
                "{offset}"
            );
        }
    }

    #[test]
    fn config_shows_paths_through_written_blocks_only() {
        let mut template = ConfigBody::default();
        template
            .attributes
            .insert("service_account", ConfigExpr::default());
        template.dynamic_blocks.push("vpc_access".into());
        let mut body = ConfigBody::default();
        body.blocks.insert("template", vec![template]);
        assert!(body.shows("template.service_account"));
        assert!(body.expr("template.service_account").is_some());
        assert!(body.shows("template.timeout"));
        assert!(!body.shows("template.vpc_access.connector"));
        assert!(
            body.shows("scaling.min_instance_count"),
            "an absent block was not written"
        );
    }
}
