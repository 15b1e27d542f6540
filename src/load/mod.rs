//! Loaders: one module per input format, all producing the same [`Inventory`].

pub mod config;
pub mod hcl;
pub mod json_values;
pub mod jsonscan;
pub mod plan;
pub mod stream;
pub mod tfstate;

use std::collections::BTreeMap;
use std::ops::Range;
use std::path::{Path, PathBuf};

use crate::error::{Error, InputError, Result};
use crate::inventory::{Inventory, Resource, SourceKind, Span, line_col};

/// Resource types whose values the model reads. Values of other types are not parsed at all,
/// which keeps large plans cheap; those resources still appear in the inventory and graph.
pub const MODEL_TYPES: &[&str] = &[
    "google_cloud_run_service",
    "google_cloud_run_v2_service",
    "google_cloud_run_v2_job",
    "google_cloud_run_service_iam_member",
    "google_cloud_run_service_iam_binding",
    "google_cloud_run_service_iam_policy",
    "google_cloud_run_v2_service_iam_member",
    "google_cloud_run_v2_service_iam_binding",
    "google_cloud_run_v2_service_iam_policy",
    "google_cloud_run_v2_job_iam_member",
    "google_cloud_run_v2_job_iam_binding",
    "google_cloud_run_domain_mapping",
    "google_service_account",
    "google_project_iam_member",
    "google_project_iam_binding",
    "google_secret_manager_secret",
    "google_secret_manager_secret_iam_member",
    "google_secret_manager_secret_iam_binding",
    "google_vpc_access_connector",
    "google_sql_database_instance",
    "google_compute_region_network_endpoint_group",
    "google_compute_backend_service",
    "google_compute_url_map",
    "google_compute_target_https_proxy",
    "google_compute_managed_ssl_certificate",
    "google_compute_global_forwarding_rule",
];

/// The resource attributes (top-level keys of a resource's values) the graph and the model
/// read, of any type in [`MODEL_TYPES`]: `check` builds only these
/// ([`ValueReaders::ModelOnly`]). Labels, ids, timestamps and settings parity does not compare
/// are half a plan's values. An attribute read in `graph.rs` or `model/` must be named here:
/// `tests/model_only_values.rs` builds the model of every fixture both ways and compares them.
pub const MODEL_ATTRIBUTES: &[&str] = &[
    // Any resource: what it is, and where.
    "name",
    "id",
    "project",
    "location",
    "region",
    // Cloud Run services and jobs.
    "template",
    "metadata",
    "ingress",
    "scaling",
    "invoker_iam_disabled",
    "spec",
    // Service accounts.
    "email",
    "account_id",
    // Secrets.
    "secret_id",
    // IAM members, bindings and policies.
    "role",
    "member",
    "members",
    "policy_data",
    "service",
    // Cloud SQL.
    "connection_name",
    // Load balancing: serverless NEGs, backends, URL maps, proxies, certificates, rules.
    "cloud_run",
    "backend",
    "default_service",
    "host_rule",
    "path_matcher",
    "url_map",
    "ssl_certificates",
    "target",
    "managed",
];

/// [`MODEL_ATTRIBUTES`] for the value parser.
pub(crate) const MODEL_NAMES: json_values::Names = json_values::Names::new(MODEL_ATTRIBUTES);

pub fn model_reads(rtype: &str) -> bool {
    MODEL_TYPES.contains(&rtype)
}

/// The longest string tfparity keeps from a source, in a resource's address, type, name or
/// values: far longer than any identifier or env var value Google Cloud accepts (32 KiB), and
/// short enough that every report stays small and every name fits a table column.
pub const MAX_STRING_BYTES: usize = u16::MAX as usize;

/// Whether the strings of resource values still need holding to [`MAX_STRING_BYTES`].
#[derive(Clone, Copy, PartialEq, Eq)]
pub(crate) enum ValueStrings {
    /// Values were parsed from JSON text that `plan::refuse_long_string` had checked: a
    /// value cannot hold a string longer than the text it came from, and a longer text was
    /// searched before parsing. Walking every value again would only cost time.
    CheckedInText,
    Unchecked,
}

/// Refuses what Terraform never writes and what would make later stages unbounded: two
/// resources at one address (`Inventory::finish` would otherwise keep one of them silently),
/// or a string longer than [`MAX_STRING_BYTES`]. Every loader calls it before `finish`.
/// Messages name the place and the attribute, never the value (it may be a secret).
pub(crate) fn refuse_hostile(
    path: &Path,
    resources: &[Resource],
    strings: ValueStrings,
) -> Result<()> {
    let place = |r: &Resource| {
        let file = r.span.as_ref().map_or(path, |s| &*s.file);
        InputError::new(file, String::new()).at_span(r.span.as_ref())
    };
    // Tens of thousands of addresses in a large plan: foldhash, as the graph's indexes use.
    let mut seen: std::collections::HashMap<&str, &Resource, foldhash::fast::RandomState> =
        std::collections::HashMap::with_capacity_and_hasher(resources.len(), Default::default());
    for r in resources {
        let index = match &r.index {
            Some(crate::inventory::InstanceKey::Str(s)) => s.len(),
            _ => 0,
        };
        let long = [
            ("address", r.address.len()),
            ("module address", r.module.len()),
            ("type", r.rtype.len()),
            ("name", r.name.len()),
            ("instance key", index),
        ]
        .into_iter()
        .find(|(_, n)| *n > MAX_STRING_BYTES);
        if let Some((what, n)) = long {
            let mut e = place(r);
            e.message = format!(
                "a resource's {what} is {n} bytes long: tfparity reads strings of at most {MAX_STRING_BYTES} bytes"
            );
            return Err(e.into());
        }
        if strings == ValueStrings::Unchecked
            && let Some((attr, n)) = long_string(&r.values)
        {
            let mut e = place(r);
            e.message = long_string_message(&attr, &r.address, n);
            return Err(e.into());
        }
        if let Some(first) = seen.insert(&r.address, r)
            && !is_override(first)
            && !is_override(r)
        {
            let mut e = place(r);
            let at = first
                .span
                .as_ref()
                .map(|s| format!(" (first at {s})"))
                .unwrap_or_default();
            e.message = format!(
                "resource `{}` appears twice{at}: an address names one resource",
                r.address
            );
            return Err(e.into());
        }
    }
    Ok(())
}

/// What [`refuse_hostile`] says of a string over [`MAX_STRING_BYTES`] (never its value).
pub(crate) fn long_string_message(attr: &str, address: &str, n: usize) -> String {
    format!(
        "`{}` of `{address}` holds a string of {n} bytes: tfparity reads strings of at most {MAX_STRING_BYTES} bytes",
        if attr.is_empty() { "(values)" } else { attr },
    )
}

/// Whether a resource is declared in a Terraform override file (`override.tf`,
/// `*_override.tf`), which redeclares blocks of other files on purpose.
fn is_override(r: &Resource) -> bool {
    r.span.as_ref().is_some_and(|s| {
        let name = s
            .file
            .file_name()
            .map(|n| n.to_string_lossy())
            .unwrap_or_default();
        let stem = name
            .strip_suffix(".tf.json")
            .or_else(|| name.strip_suffix(".tf"))
            .unwrap_or("");
        stem == "override" || stem.ends_with("_override")
    })
}

/// The dotted path and length of the first string longer than [`MAX_STRING_BYTES`] in `v`.
pub(super) fn long_string(v: &crate::value::Value) -> Option<(String, usize)> {
    use crate::value::Value;
    let join = |head: String, tail: String| {
        if tail.is_empty() {
            head
        } else {
            format!("{head}.{tail}")
        }
    };
    match v {
        Value::String(s) if s.len() > MAX_STRING_BYTES => Some((String::new(), s.len())),
        Value::List(items) => items
            .iter()
            .enumerate()
            .find_map(|(i, item)| long_string(item).map(|(p, n)| (join(i.to_string(), p), n))),
        Value::Map(m) => m.iter().find_map(|(k, item)| {
            if k.len() > MAX_STRING_BYTES {
                return Some(("(a key)".to_string(), k.len()));
            }
            long_string(item).map(|(p, n)| (join(k.to_string(), p), n))
        }),
        _ => None,
    }
}

/// Options that apply to loading sources (HCL variable files and the like).
#[derive(Clone, Debug, Default)]
pub struct LoadOptions {
    pub var_files: Vec<PathBuf>,
    pub readers: ValueReaders,
}

/// What reads the resource values a plan or state loader builds.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum ValueReaders {
    /// Any command (graph export, inventory, fixes): values are kept as written.
    #[default]
    All,
    /// Only the graph and the model, as in `check`. Only the attributes they read
    /// ([`MODEL_ATTRIBUTES`]) are built. An object's entries whose value is an
    /// empty list or object (`"vpc_access": []`, `"labels": {}`: an unset block or map, a
    /// quarter of a plan's value entries) are not kept; the graph and model read those as
    /// they read absent ones. Not in a resource with sensitive marks, where an empty value
    /// can be marked sensitive and must stay to carry it.
    ModelOnly,
}

/// How many sources are loading at this moment, on any thread.
static LOADING: std::sync::atomic::AtomicUsize = std::sync::atomic::AtomicUsize::new(0);

/// Counts a source as loading while it lives.
struct Loading;

impl Loading {
    fn start() -> Self {
        LOADING.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
        Loading
    }
}

impl Drop for Loading {
    fn drop(&mut self) {
        LOADING.fetch_sub(1, std::sync::atomic::Ordering::Relaxed);
    }
}

/// Whether fewer sources are loading than there are cores: a loader may then share its work
/// out between threads.
pub(crate) fn cores_to_spare() -> bool {
    static CORES: std::sync::OnceLock<usize> = std::sync::OnceLock::new();
    let cores = *CORES.get_or_init(|| std::thread::available_parallelism().map_or(1, |n| n.get()));
    LOADING.load(std::sync::atomic::Ordering::Relaxed) < cores
}

/// Loads one source (a file or a directory), detecting its format.
pub fn load_source(path: &Path, opts: &LoadOptions) -> Result<Inventory> {
    let _loading = Loading::start();
    let meta = std::fs::metadata(path).map_err(|e| Error::io(path, e))?;
    if meta.is_dir() {
        return hcl::load_dir(path, &hcl::HclOptions::from_env(opts.var_files.clone()));
    }
    let text = SourceText::open(path, &meta)?;
    crate::trace::mark(format_args!("read {}", path.display()));
    let inventory = load_text(
        path,
        text.bytes(),
        &|range| text.release_pages(range),
        opts.readers,
    );
    crate::trace::mark(format_args!("loaded {}", path.display()));
    inventory
}

/// The bytes of a plan or state file: mapped into memory when large, else read.
enum SourceText {
    Read(Vec<u8>),
    Mapped(memmap2::Mmap),
}

/// Above this size a regular file is mapped rather than read: a 200 MB plan is then neither
/// zeroed nor copied, only its pages are touched once by the scan.
const MAP_AT_BYTES: u64 = 1 << 20;

impl SourceText {
    fn open(path: &Path, meta: &std::fs::Metadata) -> Result<SourceText> {
        if meta.is_file() && meta.len() >= MAP_AT_BYTES {
            let file = std::fs::File::open(path).map_err(|e| Error::io(path, e))?;
            // SAFETY: the mapping is read-only and private to this process, and lives while
            // the file is loaded. Another process truncating the file meanwhile would fault
            // this one, as it would for ripgrep: Terraform writes plans once, before tfparity.
            if let Ok(map) = unsafe { memmap2::Mmap::map(&file) } {
                return Ok(SourceText::Mapped(map));
            }
        }
        // Pipes stay allowed (`--env prod=<(terraform show -json tfplan)`).
        read_bounded(path, u64::MAX, true).map(SourceText::Read)
    }

    fn bytes(&self) -> &[u8] {
        match self {
            SourceText::Read(v) => v,
            SourceText::Mapped(m) => m,
        }
    }

    /// Takes the pages of `range` out of this process's memory: once the structure is
    /// scanned, most of a plan (`prior_state`, `planned_values`, each change's `before`) is
    /// never looked at again, and the changes already read are not either. A page read again
    /// faults back in from the page cache, unchanged.
    fn release_pages(&self, range: Range<usize>) {
        #[cfg(unix)]
        if let SourceText::Mapped(m) = self {
            const PAGE: usize = 4096;
            // Whole pages inside the range only: a page shared with bytes still to be read
            // stays.
            let start = range.start.div_ceil(PAGE) * PAGE;
            let end = range.end.min(m.len()) / PAGE * PAGE;
            if start < end {
                // SAFETY: the mapping is private and read-only, so dropping its pages loses
                // nothing: the next read of a page maps it from the file again.
                let _ = unsafe {
                    m.unchecked_advise_range(memmap2::UncheckedAdvice::DontNeed, start, end - start)
                };
            }
        }
        #[cfg(not(unix))]
        let _ = range;
    }
}

/// Reads a file a source points at, refusing what would never end or never fit: devices and
/// sockets (`/dev/zero`, `/dev/urandom`: a symlink in a repository can point there), FIFOs
/// unless `pipes` (they block until written), and more than `max` bytes.
pub(crate) fn read_bounded(path: &Path, max: u64, pipes: bool) -> Result<Vec<u8>> {
    use std::io::Read;
    let meta = std::fs::metadata(path).map_err(|e| Error::io(path, e))?;
    let ft = meta.file_type();
    #[cfg(unix)]
    let fifo = std::os::unix::fs::FileTypeExt::is_fifo(&ft);
    #[cfg(not(unix))]
    let fifo = false;
    if !(ft.is_file() || pipes && fifo) {
        return Err(InputError::new(path, "is not a regular file").into());
    }
    let too_big = |n: u64| -> Error {
        InputError::new(
            path,
            format!(
                "is {n} bytes long, over the {} MiB tfparity reads",
                max >> 20
            ),
        )
        .into()
    };
    if meta.len() > max {
        return Err(too_big(meta.len()));
    }
    // Sized from the metadata so a large plan is read straight into place: growing by
    // doubling would copy it several times and briefly hold two buffers.
    let mut out = Vec::with_capacity(usize::try_from(meta.len()).unwrap_or(0).saturating_add(1));
    std::fs::File::open(path)
        .and_then(|f| f.take(max.saturating_add(1)).read_to_end(&mut out))
        .map_err(|e| Error::io(path, e))?;
    if out.len() as u64 > max {
        return Err(too_big(out.len() as u64));
    }
    Ok(out)
}

/// Detects the format of `text` (read from `path`) and loads it.
pub fn load_bytes(path: &Path, text: &[u8]) -> Result<Inventory> {
    load_text(path, text, &|_| {}, ValueReaders::All)
}

/// How much of a mapped source is read past before its pages are given back: by the UTF-8
/// check, the plan scan and the plan's value parser alike.
const RELEASE_STEP: usize = 4 << 20;

/// Checks that `text` is UTF-8 and indexes its lines, a few MiB at a time, giving each piece
/// back once done: a 200 MB plan is never in memory whole. On failure, the offset where
/// valid UTF-8 ends.
fn utf8_lines<'t>(
    text: &'t [u8],
    release: Release<'_>,
) -> std::result::Result<(&'t str, crate::inventory::LineIndex), usize> {
    let mut check = TextCheck::new(text);
    while check.checked < text.len() {
        let at = check.checked;
        check.up_to((at + RELEASE_STEP).min(text.len()))?;
        release(at..check.checked);
    }
    check.finish()
}

/// UTF-8 validation and line indexing of a text, done piece by piece as a reader passes over
/// it, so each piece is checked while it is still in memory.
pub(crate) struct TextCheck<'t> {
    text: &'t [u8],
    /// Everything before this offset is valid UTF-8 and indexed.
    checked: usize,
    lines: crate::inventory::LineIndex,
}

impl<'t> TextCheck<'t> {
    pub(crate) fn new(text: &'t [u8]) -> Self {
        TextCheck {
            text,
            checked: 0,
            lines: crate::inventory::LineIndex::default(),
        }
    }

    /// Checks the text up to `end`; a character cut there is checked with the next piece.
    /// On failure, the offset where valid UTF-8 ends.
    pub(crate) fn up_to(&mut self, end: usize) -> std::result::Result<(), usize> {
        let (at, text) = (self.checked, self.text);
        if end <= at {
            return Ok(());
        }
        // The vectorised check says only whether the piece is valid; std's places the error.
        if simdutf8::basic::from_utf8(&text[at..end]).is_ok() {
            self.lines.extend(&text[at..end], at);
            self.checked = end;
            return Ok(());
        }
        let checked = match std::str::from_utf8(&text[at..end]) {
            Ok(_) => end,
            Err(e) if e.error_len().is_none() && end < text.len() => at + e.valid_up_to(),
            Err(e) => return Err(at + e.valid_up_to()),
        };
        self.lines.extend(&text[at..checked], at);
        self.checked = checked;
        Ok(())
    }

    /// Where checking has reached.
    pub(crate) fn checked(&self) -> usize {
        self.checked
    }

    /// Checks the rest of the text and gives it as `str`, with its lines.
    pub(crate) fn finish(
        mut self,
    ) -> std::result::Result<(&'t str, crate::inventory::LineIndex), usize> {
        self.up_to(self.text.len())?;
        // SAFETY: every byte of the text was checked, piece by piece, with pieces cut only
        // between characters.
        let text = unsafe { std::str::from_utf8_unchecked(self.text) };
        Ok((text, self.lines))
    }
}

/// The error for a text that is not UTF-8 at `offset`.
fn not_utf8(path: &Path, text: &[u8], offset: usize) -> Error {
    let (line, col) = line_col(text, offset);
    InputError::new(
        path,
        "is not UTF-8 text: Terraform writes its JSON as UTF-8",
    )
    .at(line, col)
    .into()
}

/// Gives back the memory of a range of the source text that will not be read again.
pub(crate) type Release<'a> = &'a (dyn Fn(Range<usize>) + Sync);

/// [`load_bytes`], releasing the parts of `text` it is done with.
fn load_text(
    path: &Path,
    text: &[u8],
    release: Release<'_>,
    readers: ValueReaders,
) -> Result<Inventory> {
    if text.starts_with(b"PK\x03\x04") {
        return load_binary_plan(path);
    }
    // JSON is UTF-8 (RFC 8259 §8.1); a file that is not cannot be a Terraform export, and
    // that is the error it gets, whatever else is wrong with it. A plan or state is checked
    // while it is scanned (each piece once, while in memory); anything else first.
    let body = text.strip_prefix(b"\xEF\xBB\xBF").unwrap_or(text);
    let offset = text.len() - body.len();
    let first = body.iter().position(|b| !b.is_ascii_whitespace());
    if let Some(f) = first.filter(|&f| body[f] == b'{')
        && !stream::looks_like_stream(body)
    {
        let start = offset + f;
        let (envelope, text_str, lines) = plan::Envelope::scan(path, text, start, release)?;
        return load_envelope(path, text, text_str, &lines, envelope, release, readers);
    }
    if let Err(valid_up_to) = utf8_lines(text, release) {
        return Err(not_utf8(path, text, valid_up_to));
    }
    let Some(first) = first else {
        return Err(InputError::new(
            path,
            "is empty: expected Terraform JSON (`terraform show -json` output)",
        )
        .into());
    };
    if body[first] != b'{' {
        let (line, col) = line_col(text, offset + first);
        return Err(InputError::new(
            path,
            "is not JSON: expected `terraform show -json` output (a plan or state), or a raw .tfstate",
        )
        .at(line, col)
        .into());
    }
    stream::load_stream(path, text)
}

/// Loads a scanned plan or state.
fn load_envelope(
    path: &Path,
    text: &[u8],
    text_str: &str,
    lines: &crate::inventory::LineIndex,
    envelope: plan::Envelope<'_>,
    release: Release<'_>,
    readers: ValueReaders,
) -> Result<Inventory> {
    crate::trace::mark(format_args!("scanned {}", path.display()));
    release(0..text.len());
    if envelope.format_version.is_none() && envelope.plan_format_version.is_some() {
        return Err(InputError::new(
            path,
            "is a Terraform Cloud/HCP redacted plan (`plan_format_version`), not `terraform show -json` output",
        )
        .help("download the JSON plan with `terraform show -json PLANFILE` (or the API's json-output endpoint)")
        .into());
    }
    if envelope.format_version.is_some() {
        let is_plan = envelope.resource_changes.is_some()
            || envelope.planned_values.is_some()
            || envelope.configuration.is_some();
        return if is_plan {
            plan::load_plan(path, text_str, lines, &envelope, release, readers)
        } else {
            plan::load_state(path, text_str, &envelope, readers)
        };
    }
    if envelope.version.is_some() && (envelope.lineage.is_some() || envelope.resources.is_some()) {
        return tfstate::load_tfstate(path, text, &envelope);
    }
    Err(InputError::new(
        path,
        "is JSON but not a Terraform plan or state: expected `format_version` with `planned_values`/`resource_changes` (show -json of a plan), `values` (show -json of a state) or `version: 4` (a .tfstate)",
    )
    .into())
}

/// The Terraform binary that converts binary plan files: `TFPARITY_TERRAFORM`, else
/// `terraform` on PATH.
fn terraform_program() -> std::ffi::OsString {
    std::env::var_os("TFPARITY_TERRAFORM")
        .filter(|p| !p.is_empty())
        .unwrap_or_else(|| "terraform".into())
}

/// A binary plan file (`terraform plan -out`, a zip archive): converted with
/// `terraform show -json FILE`, run in the file's directory (where the configuration and its
/// `.terraform` usually are, since Terraform needs the providers' schemas to read a plan).
/// Positions in findings then refer to that JSON form.
fn load_binary_plan(path: &Path) -> Result<Inventory> {
    use std::process::{Command, Stdio};
    let name = path
        .file_name()
        .map_or_else(|| path.as_os_str().to_owned(), |n| n.to_owned());
    let dir = match path.parent() {
        Some(d) if !d.as_os_str().is_empty() => d.to_path_buf(),
        _ => PathBuf::from("."),
    };
    let advice = format!(
        "run `terraform show -json {}` in the configuration's directory (after `terraform init`) and pass its output",
        path.display()
    );
    let program = terraform_program();
    let output = Command::new(&program)
        .arg("show")
        .arg("-json")
        .arg("-no-color")
        .arg(&name)
        .current_dir(&dir)
        .env("TF_IN_AUTOMATION", "1")
        .env("CHECKPOINT_DISABLE", "1")
        .stdin(Stdio::null())
        .output();
    let output = match output {
        Ok(o) => o,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
            return Err(InputError::new(
                path,
                format!(
                    "is a binary plan file (`terraform plan -out`): reading it takes `terraform show -json`, and `{}` is not on PATH",
                    program.to_string_lossy()
                ),
            )
            .help(advice)
            .into());
        }
        Err(e) => {
            return Err(InputError::new(
                path,
                format!(
                    "is a binary plan file (`terraform plan -out`), and `terraform show -json` could not be run: {e}"
                ),
            )
            .help(advice)
            .into());
        }
    };
    let json_start = output.stdout.iter().position(|b| !b.is_ascii_whitespace());
    if !output.status.success() || json_start.is_none_or(|i| output.stdout[i] != b'{') {
        let stderr = String::from_utf8_lossy(&output.stderr);
        let reason: Vec<&str> = stderr
            .lines()
            .map(|l| l.trim_matches(|c: char| c.is_whitespace() || "│╷╵".contains(c)))
            .filter(|l| !l.is_empty())
            .take(3)
            .collect();
        let reason = if reason.is_empty() {
            format!("it exited with {}", output.status)
        } else {
            reason.join(" ")
        };
        return Err(InputError::new(
            path,
            format!(
                "is a binary plan file (`terraform plan -out`), and `terraform show -json` (run in {}) could not read it: {reason}",
                dir.display()
            ),
        )
        .help(advice)
        .into());
    }
    if output.stdout.starts_with(b"PK\x03\x04") {
        return Err(InputError::new(path, "`terraform show -json` printed a binary file").into());
    }
    load_bytes(path, &output.stdout)
}

/// serde_json appends " at line X column Y" to its messages; we print the place ourselves.
fn strip_position(e: &serde_json::Error) -> String {
    let s = e.to_string();
    match s.rfind(" at line ") {
        Some(i) => s[..i].to_string(),
        None => s,
    }
}

/// An error inside a raw sub-slice of the file, placed at its absolute line and column.
pub(crate) fn json_error(
    path: &Path,
    text: &[u8],
    slice: &str,
    e: &serde_json::Error,
    what: &str,
) -> InputError {
    let base = offset_in(text, slice);
    let (bl, bc) = line_col(text, base);
    let (line, col) = if e.line() <= 1 {
        (bl, bc + e.column().saturating_sub(1))
    } else {
        (bl + e.line() - 1, e.column())
    };
    InputError::new(
        path,
        format!("{what} is not in the expected form: {}", strip_position(e)),
    )
    .at(line, col)
}

/// The byte offset of `slice` within `text` (it must borrow from it).
fn offset_in(text: &[u8], slice: &str) -> usize {
    let start = text.as_ptr() as usize;
    let p = slice.as_ptr() as usize;
    if p >= start && p <= start + text.len() {
        p - start
    } else {
        0
    }
}

/// Turns raw sub-slices of one file into spans, moving forward through the file so that
/// placing every resource of a large plan stays linear.
pub(crate) struct Locator<'t> {
    text: &'t [u8],
    offset: usize,
    line: usize,
    line_start: usize,
    /// The path every span shares, made on first use.
    file: Option<std::sync::Arc<Path>>,
}

impl<'t> Locator<'t> {
    pub fn new(text: &'t [u8]) -> Self {
        Locator {
            text,
            offset: 0,
            line: 1,
            line_start: 0,
            file: None,
        }
    }

    /// The span of `slice`. Columns are byte columns: Terraform writes plans on one line, and
    /// counting characters along a 200 MB line would be quadratic.
    pub fn span(&mut self, path: &Path, slice: &str) -> Span {
        let target = offset_in(self.text, slice);
        if target < self.offset {
            self.offset = 0;
            self.line = 1;
            self.line_start = 0;
        }
        let seg = &self.text[self.offset..target];
        let newlines = memchr::memchr_iter(b'\n', seg).count();
        if let Some(i) = memchr::memrchr(b'\n', seg) {
            self.line_start = self.offset + i + 1;
        }
        self.line += newlines;
        self.offset = target;
        let file = self.file.get_or_insert_with(|| path.into()).clone();
        Span::shared(file, self.line, target - self.line_start + 1)
    }
}

/// Loads every source of one environment and merges them into one inventory.
pub fn load_environment(sources: &[PathBuf], opts: &LoadOptions) -> Result<Inventory> {
    let mut parts = Vec::new();
    for s in sources {
        parts.push(load_source(s, opts)?);
    }
    Ok(merge(parts))
}

/// Merges inventories of one environment. For a resource in several sources, values and
/// configuration come from the richest source (a plan, then state, then HCL, then a plan
/// stream) and the planned action from a plan or plan stream.
pub fn merge(parts: Vec<Inventory>) -> Inventory {
    if parts.len() == 1 {
        return parts.into_iter().next().expect("one part");
    }
    let rank = |k: SourceKind| match k {
        SourceKind::Plan => 0,
        SourceKind::State | SourceKind::TfState => 1,
        SourceKind::Hcl => 2,
        SourceKind::PlanStream => 3,
    };
    let mut out = Inventory::default();
    let mut by_addr: BTreeMap<String, (usize, Resource)> = BTreeMap::new();
    let mut parts = parts;
    parts.sort_by_key(|p| p.sources.first().map_or(9, |s| rank(s.kind)));
    for part in parts {
        let kind = part.sources.first().map(|s| s.kind);
        let r = kind.map_or(9, rank);
        let plans_actions = matches!(kind, Some(SourceKind::Plan | SourceKind::PlanStream));
        out.sources.extend(part.sources);
        out.notes.extend(part.notes);
        out.removed.extend(part.removed);
        for res in part.resources {
            match by_addr.get_mut(&res.address) {
                Some((have_rank, have)) => {
                    if plans_actions && *have_rank > 0 {
                        have.action = res.action;
                    }
                    if have.config.is_none() {
                        have.config = res.config;
                    }
                }
                None => {
                    by_addr.insert(res.address.clone(), (r, res));
                }
            }
        }
    }
    let removed: std::collections::BTreeSet<String> = out.removed.iter().cloned().collect();
    out.resources = by_addr
        .into_values()
        .map(|(_, r)| r)
        .filter(|r| !removed.contains(&r.address))
        .collect();
    out.finish();
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Checked piece by piece, a text must give what checking it whole gives: characters cut
    /// by a piece's end are accepted, a bad byte is placed exactly, and every line is indexed.
    #[test]
    fn utf8_is_checked_and_lines_indexed_across_pieces() {
        const PIECE: usize = RELEASE_STEP;
        for cut in 1..4 {
            // A four-byte character starting `cut` bytes before a piece ends, lines around it.
            let mut text = "a\n".repeat(PIECE / 2).into_bytes();
            text.truncate(PIECE - cut);
            text.extend("𝄞\nb\n".as_bytes());
            let released = std::sync::Mutex::new(Vec::new());
            let (checked, lines) =
                utf8_lines(&text, &|r| released.lock().unwrap().push(r)).expect("valid UTF-8");
            assert_eq!(checked.as_bytes(), &text[..]);
            let whole = crate::inventory::LineIndex::new(&text);
            for offset in [0, 1, 2, PIECE - cut - 1, PIECE - cut, PIECE, text.len() - 1] {
                assert_eq!(lines.line(offset), whole.line(offset), "offset {offset}");
            }
            // Every byte was given back once it was checked, and no piece twice.
            let released = released.into_inner().unwrap();
            assert_eq!(released.first().map(|r| r.start), Some(0));
            assert!(released.windows(2).all(|w| w[0].end == w[1].start));
            assert_eq!(released.last().map(|r| r.end), Some(text.len()));

            // A byte that cannot start a character, right after the cut one.
            let mut bad = text.clone();
            let at = PIECE - cut + 4;
            bad[at] = 0xFF;
            assert_eq!(utf8_lines(&bad, &|_| {}).err(), Some(at));
            // A character cut by the end of the text itself.
            let truncated = &text[..PIECE - cut + 2];
            assert_eq!(utf8_lines(truncated, &|_| {}).err(), Some(PIECE - cut));
        }
    }

    /// A large plan is mapped and its pages given back while it loads: what it loads must be
    /// what the same plan read into memory loads. The shipped plan is spread over ~20 MiB by
    /// whitespace between its changes, so pages are released between changes many times.
    #[test]
    fn mapped_and_released_plan_loads_like_a_read_one() {
        let fixture = concat!(env!("CARGO_MANIFEST_DIR"), "/fixtures/plans/dev.plan.json");
        let text = std::fs::read_to_string(fixture).unwrap();
        let gap = format!("}},{}{{\"address\"", " ".repeat(300 << 10));
        let spread = text.replace("},{\"address\"", &gap);
        assert!(spread.len() as u64 > 16 * MAP_AT_BYTES);
        let dir = tempfile::tempdir().unwrap();
        let big = dir.path().join("dev.plan.json");
        std::fs::write(&big, &spread).unwrap();

        let read = load_bytes(&big, text.as_bytes()).unwrap();
        let mapped = load_source(&big, &LoadOptions::default()).unwrap();
        let shape = |inv: &Inventory| -> Vec<(String, String)> {
            inv.resources
                .iter()
                .map(|r| (r.address.clone(), format!("{:?}", r.values)))
                .collect()
        };
        assert!(read.resources.len() > 20);
        assert_eq!(shape(&read), shape(&mapped));
        assert_eq!(read.removed, mapped.removed);
    }

    fn err(text: &str) -> String {
        load_bytes(Path::new("x.json"), text.as_bytes())
            .unwrap_err()
            .to_string()
    }

    #[test]
    fn rejects_what_it_cannot_read_with_a_reason() {
        assert!(err("").contains("is empty"));
        assert!(err("hello").contains("is not JSON"));
        assert!(err("{\"format_version\": \"1.2\", ").contains("ends early"));
        assert!(
            err("{\"format_version\": \"2.0\", \"planned_values\": {}}")
                .contains("2.0 is not supported")
        );
        assert!(
            err("{\"plan_format_version\": \"1.1\", \"resource_changes\": []}")
                .contains("redacted plan")
        );
        assert!(err("{\"foo\": 1}").contains("not a Terraform plan or state"));
        assert!(err("{\"version\": 3, \"lineage\": \"x\"}").contains("version 3 is not supported"));
        assert!(
            err("{\"@level\":\"info\",\"type\":\"change_summary\"}\n")
                .contains("no `version` message")
        );
    }

    #[test]
    fn terraform_0_12_0_state_addresses_are_completed() {
        // 0.12.0 wrote instance keys and module paths beside the address, not in it.
        let text = r#"{"format_version":"0.1","terraform_version":"0.12.0","values":{"root_module":{
            "resources":[
              {"address":"null_resource.baz","mode":"managed","type":"null_resource","name":"baz","index":0,"values":{}},
              {"address":"null_resource.baz","mode":"managed","type":"null_resource","name":"baz","index":"k","values":{}},
              {"address":"null_resource.foo","mode":"managed","type":"null_resource","name":"foo","values":{}}],
            "child_modules":[{"address":"module.foo","resources":[
              {"address":"null_resource.foo","mode":"managed","type":"null_resource","name":"foo","values":{}}]}]}}}"#;
        let inv = load_bytes(Path::new("s.json"), text.as_bytes()).unwrap();
        let mut addresses: Vec<&str> = inv.resources.iter().map(|r| r.address.as_str()).collect();
        addresses.sort();
        assert_eq!(
            addresses,
            [
                "module.foo.null_resource.foo",
                "null_resource.baz[\"k\"]",
                "null_resource.baz[0]",
                "null_resource.foo"
            ]
        );
    }

    #[test]
    fn a_repeated_address_is_refused_with_both_places() {
        let text = "{\"format_version\":\"1.0\",\"values\":{\"root_module\":{\"resources\":[\n{\"address\":\"null_resource.a\",\"mode\":\"managed\",\"type\":\"null_resource\",\"name\":\"a\"},\n{\"address\":\"null_resource.a\",\"mode\":\"managed\",\"type\":\"null_resource\",\"name\":\"a\"}]}}}";
        let e = err(text);
        assert!(e.starts_with("x.json:3:"), "{e}");
        assert!(
            e.contains("`null_resource.a` appears twice (first at x.json:2:"),
            "{e}"
        );
    }

    #[test]
    fn a_long_string_is_refused_at_its_place_before_parsing() {
        let big = "x".repeat(MAX_STRING_BYTES + 1);
        let change = format!(
            r#"{{"address":"google_cloud_run_v2_service.a","mode":"managed","type":"google_cloud_run_v2_service","name":"a","change":{{"actions":["create"],"after":{{"labels":{{"k":"{big}"}}}},"after_sensitive":{{"labels":{{"k":true}}}}}}}}"#
        );
        let text = format!("{{\"format_version\":\"1.2\",\"resource_changes\":[\n{change}]}}");
        let e = err(&text);
        // At the string's opening quote, even though it is marked sensitive.
        let col = change.find(&big).unwrap();
        assert!(e.starts_with(&format!("x.json:2:{col}: ")), "{e}");
        assert!(
            e.ends_with("`labels.k` of `google_cloud_run_v2_service.a` holds a string of 65536 bytes: tfparity reads strings of at most 65535 bytes"),
            "{e}"
        );
    }

    #[test]
    fn a_long_key_only_in_the_unknown_marks_is_refused() {
        // Unknown marks add the attributes they name to the values; their keys are held to
        // the same limit, though the `after` text never had them.
        let big = "k".repeat(MAX_STRING_BYTES + 1);
        let change = format!(
            r#"{{"address":"google_cloud_run_v2_service.a","mode":"managed","type":"google_cloud_run_v2_service","name":"a","change":{{"actions":["create"],"after":{{}},"after_unknown":{{"{big}":true}}}}}}"#
        );
        let text = format!("{{\"format_version\":\"1.2\",\"resource_changes\":[\n{change}]}}");
        let e = err(&text);
        assert!(e.starts_with("x.json:2:"), "{e}");
        assert!(e.contains("holds a string of 65536 bytes"), "{e}");
        // A short key in the marks is an unknown attribute, as ever.
        let ok = text.replace(&big, "short");
        let inv = load_bytes(Path::new("x.json"), ok.as_bytes()).unwrap();
        assert_eq!(
            inv.resources[0].values.get("short"),
            Some(&crate::value::Value::Unknown)
        );
    }

    #[test]
    fn wrong_types_in_known_fields_are_placed() {
        let text = "{\n\"format_version\": \"1.2\",\n\"resource_changes\": [{\"address\": 5}]\n}";
        let e = err(text);
        assert!(e.starts_with("x.json:3:"), "{e}");
    }

    #[test]
    fn locator_moves_forward() {
        let text = "ab\ncd\nef";
        let mut loc = Locator::new(text.as_bytes());
        let s = &text[4..5];
        assert_eq!(loc.span(Path::new("f"), s).line, 2);
        let s = &text[7..8];
        let sp = loc.span(Path::new("f"), s);
        assert_eq!((sp.line, sp.column), (3, 2));
    }
}
