//! `terraform show -json PLANFILE` and `terraform show -json` of a state.
//!
//! The file is mapped (or, when small or a pipe, read) once and scanned for its structure;
//! strings borrow from the input, attribute values stay raw JSON slices and are parsed only for
//! the resource types the model reads.

use std::borrow::Cow;
use std::ops::Range;
use std::path::Path;

use serde::Deserialize;
use serde_json::value::RawValue;

use super::config::{RawConfiguration, Resolver};
use super::json_values::Attributes;
use super::json_values::{Empties, Marks};
use super::{Locator, ValueReaders, json_error, jsonscan, model_reads};
use crate::error::{InputError, Result};
use crate::inventory::{
    Action, InstanceKey, Inventory, LineIndex, LoadNote, Mode, Resource, SourceInfo, SourceKind,
};
use crate::value::{SKIPPED_ATTRIBUTES, Value, ValueSeed};

/// Every top-level key any supported envelope may have. Found by a structural scan, so the
/// large parts nobody reads (`prior_state`, `planned_values`) are passed over at memory speed;
/// the rest stays raw until the kind of file is known.
/// One scanned element of `resource_changes`: where it is, and where the fields the loader
/// reads are (the first of each key). A plan has one per resource, tens of thousands: a
/// fixed record of offsets, not a list of every field, keeps the scan from allocating.
#[derive(Default)]
pub(super) struct ChangeScan {
    range: Range<usize>,
    address: Field,
    deposed: Field,
    rtype: Field,
    name: Field,
    mode: Field,
    module_address: Field,
    index: Field,
    /// Whether the element has a `change` object; its fields follow.
    change: bool,
    actions: Field,
    after: Field,
    after_unknown: Field,
    after_sensitive: Field,
}

/// A field's value: where it starts and its length, when the element has it.
#[derive(Clone, Copy)]
struct Field {
    start: usize,
    len: usize,
}

impl Default for Field {
    fn default() -> Self {
        Field {
            start: usize::MAX,
            len: 0,
        }
    }
}

impl Field {
    /// Records the value at `value`, unless an earlier field of the same key did.
    fn set(&mut self, value: Range<usize>) {
        if self.start == usize::MAX {
            *self = Field {
                start: value.start,
                len: value.len(),
            };
        }
    }

    fn get(self, text: &str) -> Option<&str> {
        (self.start != usize::MAX).then(|| &text[self.start..self.start + self.len])
    }
}

impl ChangeScan {
    /// The field of the element, or of its `change`, that `key` names, if the loader reads it.
    fn field_mut(&mut self, key: &[u8], in_change: bool) -> Option<&mut Field> {
        Some(match (in_change, key) {
            (false, b"address") => &mut self.address,
            (false, b"deposed") => &mut self.deposed,
            (false, b"type") => &mut self.rtype,
            (false, b"name") => &mut self.name,
            (false, b"mode") => &mut self.mode,
            (false, b"module_address") => &mut self.module_address,
            (false, b"index") => &mut self.index,
            (true, b"actions") => &mut self.actions,
            (true, b"after") => &mut self.after,
            (true, b"after_unknown") => &mut self.after_unknown,
            (true, b"after_sensitive") => &mut self.after_sensitive,
            _ => return None,
        })
    }
}

pub(super) struct Envelope<'a> {
    pub format_version: Option<String>,
    pub terraform_version: Option<String>,
    /// Each `resource_changes` element, scanned once: its range, fields and `change` fields.
    pub resource_changes: Option<Vec<ChangeScan>>,
    /// Read only when a plan has no `resource_changes`, so kept as text until then.
    pub planned_values: Option<&'a str>,
    pub configuration: Option<&'a RawValue>,
    pub values: Option<&'a RawValue>,
    pub errored: Option<bool>,
    // Raw `.tfstate` keys.
    pub version: Option<serde_json::Value>,
    pub resources: Option<&'a RawValue>,
    pub lineage: Option<String>,
    // Terraform Cloud / HCP redacted plan envelope.
    pub plan_format_version: Option<String>,
}

impl<'a> Envelope<'a> {
    /// Scans the top-level object starting at `start`, giving back the text behind the scan
    /// a few MiB at a time: what is read later faults back in from the page cache.
    pub fn scan(
        path: &Path,
        b: &'a [u8],
        start: usize,
        release: super::Release<'_>,
    ) -> Result<(Envelope<'a>, &'a str, LineIndex)> {
        // The text is checked to be UTF-8, and its lines indexed, a piece at a time as the
        // scan leaves it behind, before that piece is given back.
        let check = std::cell::RefCell::new(super::TextCheck::new(b));
        // Not UTF-8 is the error a file gets whatever else is wrong with it.
        let not_utf8 = |at: usize| super::not_utf8(path, b, at);
        let scan_err = |e: jsonscan::ScanError| {
            if let Err(at) = check.borrow_mut().up_to(b.len()) {
                return not_utf8(at);
            }
            let (line, col) = crate::inventory::line_col(b, e.offset);
            let what = if e.message.contains("ends") {
                format!("ends early (truncated JSON?): {}", e.message)
            } else {
                format!("is not valid JSON: {}", e.message)
            };
            crate::error::Error::from(InputError::new(path, what).at(line, col))
        };
        // One pass over the file: `resource_changes` is walked element by element (descending
        // into each `change`), everything else is skipped.
        let mut fields: jsonscan::Fields = Vec::new();
        let mut changes: Option<Vec<ChangeScan>> = None;
        let behind = |pos: usize| -> std::result::Result<(), jsonscan::ScanError> {
            let mut check = check.borrow_mut();
            let released = check.checked();
            if pos >= released + super::RELEASE_STEP {
                // An error here is placed by `scan_err`, which checks the whole text.
                check.up_to(pos).map_err(|offset| jsonscan::ScanError {
                    offset,
                    message: "not UTF-8".into(),
                })?;
                release(released..check.checked());
            }
            Ok(())
        };
        let end = jsonscan::object_scan(b, start, |key, vstart| {
            if &b[key.clone()] == b"resource_changes" && b.get(vstart) == Some(&b'[') {
                let mut list = Vec::new();
                let aend = jsonscan::array_scan(b, vstart, |estart| {
                    let mut scan = ChangeScan::default();
                    let estart = jsonscan::skip_ws(b, estart);
                    let eend = jsonscan::object_scan(b, estart, |k, v| {
                        let key = &b[k];
                        if key == b"change" && b.get(v) == Some(&b'{') {
                            // A repeated `change` object replaces the one before.
                            scan.change = true;
                            scan.actions = Field::default();
                            scan.after = Field::default();
                            scan.after_unknown = Field::default();
                            scan.after_sensitive = Field::default();
                            return jsonscan::object_scan(b, v, |ck, cv| {
                                let cend = jsonscan::value_end(b, cv)?;
                                if let Some(f) = scan.field_mut(&b[ck], true) {
                                    f.set(cv..cend);
                                }
                                Ok(cend)
                            });
                        }
                        let vend = jsonscan::value_end(b, v)?;
                        if let Some(f) = scan.field_mut(key, false) {
                            f.set(v..vend);
                        }
                        Ok(vend)
                    })?;
                    scan.range = estart..eend;
                    list.push(scan);
                    behind(eend)?;
                    Ok(eend)
                })?;
                changes = Some(list);
                fields.push((key, vstart..aend));
                return Ok(aend);
            }
            let vend = jsonscan::value_end(b, vstart)?;
            fields.push((key, vstart..vend));
            behind(vend)?;
            Ok(vend)
        })
        .map_err(scan_err)?;
        let rest = jsonscan::skip_ws(b, end);
        if rest < b.len() {
            return Err(scan_err(jsonscan::ScanError {
                offset: rest,
                message: "unexpected data after the top-level object".into(),
            }));
        }
        let (text, lines) = check.into_inner().finish().map_err(not_utf8)?;
        let small = |key: &str| -> Result<Option<&'a str>> {
            Ok(jsonscan::field(b, &fields, key).map(|r| &text[r.clone()]))
        };
        let parse = |key: &str, what: &str| -> Result<Option<&'a RawValue>> {
            match small(key)? {
                Some(slice) => serde_json::from_str::<&RawValue>(slice)
                    .map(Some)
                    .map_err(|e| json_error(path, b, slice, &e, what).into()),
                None => Ok(None),
            }
        };
        let string = |key: &str| -> Result<Option<String>> {
            match small(key)? {
                Some("null") | None => Ok(None),
                Some(slice) => serde_json::from_str::<String>(slice)
                    .map(Some)
                    .map_err(|e| json_error(path, b, slice, &e, &format!("`{key}`")).into()),
            }
        };
        let resource_changes = changes;
        let envelope = Envelope {
            format_version: string("format_version")?,
            terraform_version: string("terraform_version")?,
            resource_changes,
            planned_values: small("planned_values")?.filter(|v| *v != "null"),
            configuration: parse("configuration", "`configuration`")?,
            values: parse("values", "`values`")?,
            errored: match small("errored")? {
                Some(slice) => serde_json::from_str::<Option<bool>>(slice)
                    .map_err(|e| json_error(path, b, slice, &e, "`errored`"))?,
                None => None,
            },
            version: match small("version")? {
                Some(slice) => Some(
                    serde_json::from_str(slice)
                        .map_err(|e| json_error(path, b, slice, &e, "`version`"))?,
                ),
                None => None,
            },
            resources: parse("resources", "`resources`")?,
            lineage: string("lineage")?,
            plan_format_version: string("plan_format_version")?,
        };
        Ok((envelope, text, lines))
    }
}

#[derive(Deserialize)]
struct RawValues<'a> {
    #[serde(borrow, default)]
    root_module: Option<RawValuesModule<'a>>,
}

#[derive(Deserialize)]
struct RawValuesModule<'a> {
    #[serde(borrow, default)]
    address: Option<Cow<'a, str>>,
    #[serde(borrow, default)]
    resources: Vec<&'a RawValue>,
    #[serde(borrow, default)]
    child_modules: Vec<RawValuesModule<'a>>,
}

#[derive(Deserialize)]
struct RawStateResource<'a> {
    #[serde(borrow)]
    address: Cow<'a, str>,
    #[serde(borrow, default)]
    mode: Option<Cow<'a, str>>,
    #[serde(borrow, rename = "type")]
    rtype: Cow<'a, str>,
    #[serde(borrow)]
    name: Cow<'a, str>,
    #[serde(default)]
    index: Option<serde_json::Value>,
    #[serde(borrow, default)]
    values: Option<&'a RawValue>,
    #[serde(borrow, default)]
    sensitive_values: Option<&'a RawValue>,
    #[serde(borrow, default)]
    deposed_key: Option<Cow<'a, str>>,
}

/// Checks `format_version` is one this tool reads: 0.x or 1.x.
pub(super) fn check_format_version(path: &Path, v: Option<&str>, what: &str) -> Result<String> {
    let Some(v) = v else {
        return Err(
            InputError::new(path, format!("{what} has no `format_version`"))
                .help("produce it with `terraform show -json`")
                .into(),
        );
    };
    let major = v.split('.').next().and_then(|m| m.parse::<u64>().ok());
    match major {
        Some(0 | 1) => Ok(v.to_string()),
        Some(m) => Err(InputError::new(
            path,
            format!("{what} format_version {v} is not supported: this tfparity reads 0.x and 1.x (a major version {m} may change meanings)"),
        )
        .help("use a Terraform release whose `show -json` writes format 1.x, or a newer tfparity")
        .into()),
        None => Err(InputError::new(path, format!("{what} has an unreadable format_version {v:?}")).into()),
    }
}

pub(super) fn load_plan(
    path: &Path,
    text: &str,
    lines: &LineIndex,
    env: &Envelope<'_>,
    release: super::Release<'_>,
    readers: ValueReaders,
) -> Result<Inventory> {
    let format_version = check_format_version(path, env.format_version.as_deref(), "plan")?;
    let mut inv = Inventory::default();
    inv.sources.push(SourceInfo {
        path: path.to_path_buf(),
        kind: SourceKind::Plan,
        format_version: Some(format_version),
        terraform_version: env.terraform_version.clone(),
    });
    if env.errored == Some(true) {
        return Err(InputError::new(
            path,
            "this plan is marked `errored`: Terraform could not finish planning, so it does not describe the environment",
        )
        .help("fix the errors `terraform plan` reports, then export the plan again")
        .into());
    }
    let config: RawConfiguration = match env.configuration {
        Some(raw) => serde_json::from_str(raw.get())
            .map_err(|e| json_error(path, text.as_bytes(), raw.get(), &e, "`configuration`"))?,
        None => RawConfiguration::default(),
    };
    let resolver = Resolver::new(&config);
    let file: std::sync::Arc<Path> = path.into();
    let changes = env.resource_changes.as_deref().unwrap_or_default();
    // Each change's bytes are given back once read (a few MiB at a time), so a large plan's
    // text does not stay in memory while its values are built. Resources go straight into
    // the inventory's list, in order.
    let read = |part: &[ChangeScan], out: &mut Read| -> Result<()> {
        let mut done = part.first().map_or(0, |c| c.range.start);
        for r in part {
            if r.range.start >= done + super::RELEASE_STEP {
                release(done..r.range.start);
                done = r.range.start;
            }
            match change_item(path, text, r, &resolver, lines, &file, readers)? {
                Item::Resource(r) => out.resources.push(r),
                Item::Removed(a) => out.removed.push(a),
                Item::Skip => {}
            }
        }
        Ok(())
    };
    let mut all = Read {
        resources: Vec::with_capacity(changes.len()),
        removed: Vec::new(),
    };
    // A large plan is read on two threads, each half of the changes on its own, when a core
    // would otherwise be idle: not while other sources load beside it, which keep the cores
    // busy already (two threads each there only cost switching between them).
    if changes.len() >= 2048 && super::cores_to_spare() {
        let (a, b) = changes.split_at(changes.len() / 2);
        std::thread::scope(|scope| -> Result<()> {
            let second = scope.spawn(|| {
                let mut out = Read::default();
                read(b, &mut out).map(|()| out)
            });
            let first = read(a, &mut all);
            let second = second
                .join()
                .unwrap_or_else(|_| Err(InputError::new(path, "a loader thread panicked").into()));
            // The first error in the file's order.
            first?;
            let mut second = second?;
            all.resources.append(&mut second.resources);
            all.removed.append(&mut second.removed);
            Ok(())
        })?;
    } else {
        read(changes, &mut all)?;
    }
    inv.resources = all.resources;
    inv.removed = all.removed;
    if env.resource_changes.is_none() {
        // A plan with no changes at all may omit resource_changes; its planned values still
        // describe the environment.
        if let Some(pv) = env.planned_values {
            let pv: &RawValue = serde_json::from_str(pv)
                .map_err(|e| json_error(path, text.as_bytes(), pv, &e, "`planned_values`"))?;
            let text = text.as_bytes();
            read_values_tree(path, text, pv, &mut inv, Action::NoOp, &resolver, readers)?;
        }
    }
    super::refuse_hostile(path, &inv.resources, super::ValueStrings::CheckedInText)?;
    inv.finish();
    Ok(inv)
}

/// What reading a run of resource changes gives, in the file's order.
#[derive(Default)]
struct Read {
    resources: Vec<Resource>,
    removed: Vec<String>,
}

enum Item {
    Resource(Resource),
    Removed(String),
    Skip,
}

/// One element of `resource_changes`, found by scanning: only its small fields and, for
/// resource types the model reads, `change.after` and its marks are parsed.
fn change_item(
    path: &Path,
    text: &str,
    scan: &ChangeScan,
    resolver: &Resolver<'_>,
    lines: &LineIndex,
    file: &std::sync::Arc<Path>,
    readers: ValueReaders,
) -> Result<Item> {
    let b = text.as_bytes();
    let r = &scan.range;
    let string = |field: Field, k: &str, required: bool| -> Result<Option<Cow<'_, str>>> {
        match field.get(text) {
            Some("null") | None if !required => Ok(None),
            None => Err(
                InputError::new(path, format!("a resource change has no `{k}`"))
                    .at_span(Some(&lines.byte_span(file, r.start)))
                    .into(),
            ),
            // Read here, not by serde_json: every change has several, and a module's
            // addresses hold escaped quotes (`module.a[\"x\"]`).
            Some(sl) if let Some(s) = super::json_values::string(sl) => Ok(Some(s)),
            Some(sl) => serde_json::from_str::<Cow<'_, str>>(sl)
                .map(Some)
                .map_err(|e| {
                    json_error(path, b, sl, &e, &format!("`{k}` of a resource change")).into()
                }),
        }
    };
    let address = string(scan.address, "address", true)?.unwrap_or_default();
    if string(scan.deposed, "deposed", false)?.is_some() {
        // A deposed object is an old instance on its way out.
        return Ok(Item::Skip);
    }
    let rtype = string(scan.rtype, "type", true)?.unwrap_or_default();
    let name = string(scan.name, "name", true)?.unwrap_or_default();
    let mode = mode_of(string(scan.mode, "mode", false)?.as_deref());
    let module = string(scan.module_address, "module_address", false)?
        .map(|m| m.into_owned())
        .unwrap_or_default();
    let index: Option<serde_json::Value> = match scan.index.get(text) {
        Some(sl) if let Some(key) = super::json_values::string(sl) => {
            Some(serde_json::Value::String(key.into_owned()))
        }
        Some(sl) => serde_json::from_str(sl)
            .map_err(|e| json_error(path, b, sl, &e, "`index` of a resource change"))?,
        None => None,
    };
    if !scan.change {
        return Err(InputError::new(
            path,
            format!("the resource change of `{address}` has no `change` object"),
        )
        .at_span(Some(&lines.byte_span(file, r.start)))
        .into());
    }
    let cslice = |field: Field| field.get(text);
    let actions: Vec<Cow<'_, str>> = match cslice(scan.actions) {
        Some(sl) if let Some(list) = string_list(sl) => list,
        Some(sl) => {
            serde_json::from_str(sl).map_err(|e| json_error(path, b, sl, &e, "`actions`"))?
        }
        None => Vec::new(),
    };
    let action = action_of(&actions);
    if !action.survives() {
        return Ok(Item::Removed(address.into_owned()));
    }
    let values = if mode == Mode::Managed && model_reads(&rtype) {
        marked_values(
            path,
            b,
            &address,
            cslice(scan.after),
            cslice(scan.after_unknown),
            cslice(scan.after_sensitive),
            readers,
        )?
    } else {
        Value::Null
    };
    let local = local_address(mode, &rtype, &name);
    let index = instance_key(index.as_ref());
    Ok(Item::Resource(Resource {
        address: instance_address(&address, index.as_ref()),
        config: resolver.resource_config(&module, &local),
        module,
        mode,
        rtype: rtype.into_owned(),
        name: name.into_owned(),
        index,
        values,
        action,
        span: Some(lines.byte_span(file, r.start)),
    }))
}

pub(super) fn load_state(
    path: &Path,
    text: &str,
    env: &Envelope<'_>,
    readers: ValueReaders,
) -> Result<Inventory> {
    let text = text.as_bytes();
    let format_version = check_format_version(path, env.format_version.as_deref(), "state")?;
    let mut inv = Inventory::default();
    inv.sources.push(SourceInfo {
        path: path.to_path_buf(),
        kind: SourceKind::State,
        format_version: Some(format_version),
        terraform_version: env.terraform_version.clone(),
    });
    if let Some(values) = env.values {
        let resolver_cfg = RawConfiguration::default();
        let resolver = Resolver::new(&resolver_cfg);
        read_values_tree(
            path,
            text,
            values,
            &mut inv,
            Action::Exists,
            &resolver,
            readers,
        )?;
    } else {
        inv.notes.push(LoadNote {
            span: None,
            message: format!("{}: the state is empty", path.display()),
        });
    }
    super::refuse_hostile(path, &inv.resources, super::ValueStrings::CheckedInText)?;
    inv.finish();
    Ok(inv)
}

/// Reads a values representation (`planned_values`, a state's `values`).
fn read_values_tree(
    path: &Path,
    text: &[u8],
    raw: &RawValue,
    inv: &mut Inventory,
    action: Action,
    resolver: &Resolver<'_>,
    readers: ValueReaders,
) -> Result<()> {
    let values: RawValues<'_> = serde_json::from_str(raw.get())
        .map_err(|e| json_error(path, text, raw.get(), &e, "`values`"))?;
    let mut locator = Locator::new(text);
    let mut stack: Vec<RawValuesModule<'_>> = values.root_module.into_iter().collect();
    while let Some(module) = stack.pop() {
        for raw in module.resources {
            let r: RawStateResource<'_> = serde_json::from_str(raw.get())
                .map_err(|e| json_error(path, text, raw.get(), &e, "a resource"))?;
            if r.deposed_key.is_some() {
                continue;
            }
            let mode = mode_of(r.mode.as_deref());
            // Terraform 0.12.0 wrote a child module's resources without the module prefix.
            let address = match module.address.as_deref() {
                Some(m) if !m.is_empty() && !r.address.starts_with("module.") => {
                    Cow::Owned(format!("{m}.{}", r.address))
                }
                _ => Cow::Borrowed(&*r.address),
            };
            let (module_path, _) = split_address(&address);
            let values = if mode == Mode::Managed && model_reads(&r.rtype) {
                marked_values(
                    path,
                    text,
                    &address,
                    r.values.map(RawValue::get),
                    None,
                    r.sensitive_values.map(RawValue::get),
                    readers,
                )?
            } else {
                Value::Null
            };
            let local = local_address(mode, &r.rtype, &r.name);
            let index = instance_key(r.index.as_ref());
            inv.resources.push(Resource {
                address: instance_address(&address, index.as_ref()),
                config: resolver.resource_config(&module_path, &local),
                module: module_path,
                mode,
                rtype: r.rtype.to_string(),
                name: r.name.to_string(),
                index,
                values,
                action,
                span: Some(locator.span(path, raw.get())),
            });
        }
        stack.extend(module.child_modules);
    }
    Ok(())
}

/// Parses `after` with its unknown and sensitive marks into a Value.
pub(super) fn marked_values(
    path: &Path,
    text: &[u8],
    address: &str,
    after: Option<&str>,
    unknown: Option<&str>,
    sensitive: Option<&str>,
    readers: ValueReaders,
) -> Result<Value> {
    use serde::de::DeserializeSeed;
    if let Some(raw) = after {
        refuse_long_string(path, text, address, raw, SKIPPED_ATTRIBUTES)?;
    }
    // Marks only matter where they say `true` (or, malformed, anything but containers and
    // `false`); most plans mark nothing, and then the mark trees are not parsed at all.
    let marks = |raw: Option<&str>, what: &str| -> Result<Option<serde_json::Value>> {
        match raw {
            Some(r) if may_mark(r) => serde_json::from_str(r)
                .map(Some)
                .map_err(|e| json_error(path, text, r, &e, what).into()),
            _ => Ok(None),
        }
    };
    // Read before the values, where empty values are dropped (they say which to keep); an
    // error in the values is still the one reported first.
    let unknown_raw = unknown;
    let unknown = marks(unknown, "`after_unknown`");
    let sensitive = marks(sensitive, "`after_sensitive`");
    let empties = match (readers, &unknown, &sensitive) {
        (ValueReaders::ModelOnly, Ok(u), Ok(s)) => Empties::Drop(Marks {
            unknown: u.as_ref(),
            sensitive: s.as_ref(),
        }),
        _ => Empties::Keep,
    };
    let mut value = match after {
        Some("null") | None => Value::Null,
        Some(raw) => {
            // serde_json parses what the fast parser leaves to it, and places the errors.
            let attributes = match readers {
                ValueReaders::All => Attributes::Except(&super::json_values::SKIPPED),
                ValueReaders::ModelOnly => Attributes::Only(&super::MODEL_NAMES),
            };
            let v = match super::json_values::parse(raw, attributes, empties) {
                Some(v) => v,
                None => {
                    let mut de = serde_json::Deserializer::from_str(raw);
                    ValueSeed {
                        skip: SKIPPED_ATTRIBUTES,
                    }
                    .deserialize(&mut de)
                    .and_then(|v| de.end().map(|_| v))
                    .map_err(|e| json_error(path, text, raw, &e, "`after`"))?
                }
            };
            if !matches!(v, Value::Map(_) | Value::Null) {
                return Err(InputError::new(
                    path,
                    format!(
                        "expected a resource's values to be an object, found {}",
                        v.type_name()
                    ),
                )
                .into());
            }
            v
        }
    };
    let lean = matches!(empties, Empties::Drop(_));
    let (unknown, sensitive) = (unknown?, sensitive?);
    let (u, s) = (unknown.as_ref(), sensitive.as_ref());
    if u.is_some() || s.is_some() {
        if matches!(value, Value::Null) {
            value = Value::Map(Default::default());
        }
        if lean {
            value.apply_marks_leaving_out_empty(u, s);
        } else {
            value.apply_marks(u, s);
        }
    }
    // Unknown marks add the keys of attributes absent from `after`, which the check of its
    // text did not see.
    if u.is_some()
        && let Some(raw) = unknown_raw.filter(|r| r.len() > super::MAX_STRING_BYTES)
        && let Some((attr, n)) = super::long_string(&value)
    {
        let (line, col) = crate::inventory::line_col(text, super::offset_in(text, raw));
        return Err(
            InputError::new(path, super::long_string_message(&attr, address, n))
                .at(line, col)
                .into(),
        );
    }
    Ok(value)
}

/// A JSON array of strings with no comma inside them (`["create"]`, as `actions` are);
/// `None` for anything else, which serde_json then reads.
fn string_list(json: &str) -> Option<Vec<Cow<'_, str>>> {
    let inner = json_trim(json.strip_prefix('[')?.strip_suffix(']')?);
    if inner.is_empty() {
        return Some(Vec::new());
    }
    inner
        .split(',')
        .map(|item| super::json_values::string(json_trim(item)))
        .collect()
}

/// `s` without JSON's whitespace around it.
fn json_trim(s: &str) -> &str {
    s.trim_matches([' ', '\t', '\n', '\r'])
}

/// Whether a mark tree (`after_unknown`, `after_sensitive`) holds anything but objects, arrays,
/// keys, `false` and `null`: `true`, or a malformed scalar that must not be ignored. A linear
/// scan without allocation, since most trees mark nothing.
fn may_mark(raw: &str) -> bool {
    let b = raw.as_bytes();
    let mut i = 0;
    while i < b.len() {
        match b[i] {
            b'"' => {
                i += 1;
                // To the closing quote, past escapes; a key at a time, not a byte.
                loop {
                    match memchr::memchr2(b'"', b'\\', b.get(i..).unwrap_or_default()) {
                        Some(at) if b[i + at] == b'"' => {
                            i += at;
                            break;
                        }
                        Some(at) => i += at + 2,
                        // Unterminated: not a key.
                        None => {
                            i = i.max(b.len());
                            break;
                        }
                    }
                }
                i += 1;
                while i < b.len() && b[i].is_ascii_whitespace() {
                    i += 1;
                }
                // A string not followed by `:` is a value, not a key.
                if b.get(i) != Some(&b':') {
                    return true;
                }
                i += 1;
            }
            b'{' | b'}' | b'[' | b']' | b',' | b':' | b' ' | b'\n' | b'\r' | b'\t' => i += 1,
            b'f' if b[i..].starts_with(b"false") => i += 5,
            b'n' if b[i..].starts_with(b"null") => i += 4,
            _ => return true,
        }
    }
    false
}

/// Refuses a string over [`super::MAX_STRING_BYTES`] in the values `raw` (a slice of `text`)
/// from the text, before parsing copies it: a 100 MB env var value then costs its size once,
/// not two or three times. Stricter than `refuse_hostile`, which checks again after parsing:
/// a string marked sensitive is refused too (the message never shows a value).
pub(super) fn refuse_long_string(
    path: &Path,
    text: &[u8],
    address: &str,
    raw: &str,
    skip: &[&str],
) -> Result<()> {
    if raw.len() <= super::MAX_STRING_BYTES {
        return Ok(());
    }
    // A scan error is left to the parser, which places it better.
    let Ok(Some(long)) = jsonscan::long_string(raw.as_bytes(), 0, super::MAX_STRING_BYTES, skip)
    else {
        return Ok(());
    };
    let mut attr = long.path.join(".");
    if long.is_key {
        attr = if attr.is_empty() {
            "(a key)".into()
        } else {
            format!("{attr}.(a key)")
        };
    }
    let (line, col) = crate::inventory::line_col(text, super::offset_in(text, raw) + long.offset);
    Err(
        InputError::new(path, super::long_string_message(&attr, address, long.len))
            .at(line, col)
            .into(),
    )
}

pub(super) fn action_of(actions: &[Cow<'_, str>]) -> Action {
    let has = |a: &str| actions.iter().any(|x| x == a);
    match actions.len() {
        0 => Action::NoOp,
        _ if has("delete") && has("create") => Action::Replace,
        _ if has("create") => Action::Create,
        _ if has("delete") => Action::Delete,
        _ if has("forget") => Action::Forget,
        _ if has("update") => Action::Update,
        _ if has("read") => Action::Read,
        _ => Action::NoOp,
    }
}

pub(super) fn mode_of(mode: Option<&str>) -> Mode {
    match mode {
        Some("data") => Mode::Data,
        _ => Mode::Managed,
    }
}

pub(super) fn instance_key(index: Option<&serde_json::Value>) -> Option<InstanceKey> {
    match index? {
        serde_json::Value::Number(n) => n.as_i64().map(InstanceKey::Int),
        serde_json::Value::String(s) => Some(InstanceKey::Str(s.clone())),
        _ => None,
    }
}

/// A resource instance's full address. Terraform 0.12.0 wrote `"address": "null_resource.baz"`
/// with a separate `"index": 0` for each instance; later versions put the key in the address.
pub(super) fn instance_address(address: &str, index: Option<&InstanceKey>) -> String {
    match index {
        Some(key) if !address.ends_with(']') => format!("{address}{key}"),
        _ => address.to_string(),
    }
}

pub(super) fn local_address(mode: Mode, rtype: &str, name: &str) -> String {
    match mode {
        Mode::Managed => format!("{rtype}.{name}"),
        Mode::Data => format!("data.{rtype}.{name}"),
    }
}

/// Splits a resource address into its module path and the rest.
pub(super) fn split_address(address: &str) -> (String, String) {
    let mut rest = address;
    let mut end = 0;
    while let Some(after) = rest.strip_prefix("module.") {
        let name_end = after.find(['[', '.']).unwrap_or(after.len());
        let mut consumed = "module.".len() + name_end;
        let mut tail = &after[name_end..];
        if tail.starts_with('[') {
            let close = super::config::closing_bracket(tail).unwrap_or(tail.len() - 1);
            consumed += close + 1;
            tail = &tail[close + 1..];
        }
        if !tail.starts_with('.') {
            break;
        }
        end += consumed;
        rest = &tail[1..];
        end += 1;
    }
    if end == 0 {
        (String::new(), address.to_string())
    } else {
        (address[..end - 1].to_string(), address[end..].to_string())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn splits_addresses() {
        assert_eq!(
            split_address("module.a[\"x.y\"].module.b.google_x.y[0]"),
            (
                "module.a[\"x.y\"].module.b".to_string(),
                "google_x.y[0]".to_string()
            )
        );
        assert_eq!(
            split_address("google_x.y"),
            (String::new(), "google_x.y".to_string())
        );
    }

    #[test]
    fn mark_trees_are_parsed_only_when_they_may_mark() {
        assert!(!may_mark(
            r#"{"template":[{"containers":[{"env":[{},{}]}]}],"labels":{}}"#
        ));
        assert!(!may_mark("{ \"a\" : false, \"b\": null }"));
        assert!(may_mark(r#"{"a":[false,true]}"#));
        assert!(may_mark(r#"{"a":"yes"}"#), "a malformed string mark");
        assert!(may_mark(r#"{"a":1}"#));
        assert!(may_mark(r#"["x"]"#));
        assert!(may_mark(r#"{"a\"b":0}"#), "escaped quotes in keys");
        assert!(
            !may_mark(r#"{"a\"b":false,"c\\":{"d\\\"":null}}"#),
            "escapes ending keys"
        );
        assert!(
            may_mark(r#"{"a\":false}"#),
            "a key whose quote is escaped runs on"
        );
        assert!(may_mark(r#"{"a"#), "an unterminated key");
        assert!(
            may_mark(r#"{"a:false"#),
            "an unterminated key read as structure"
        );
        assert!(may_mark(r#"{"a\"#), "an escape at the end");
    }

    #[test]
    fn string_lists_are_read_here_and_the_rest_left_to_serde_json() {
        let strs = |t| string_list(t).map(|v| v.iter().map(|c| c.to_string()).collect::<Vec<_>>());
        assert_eq!(
            strs(r#"["delete", "create"]"#),
            Some(vec!["delete".into(), "create".into()])
        );
        assert_eq!(strs("[ ]"), Some(vec![]));
        assert_eq!(strs(r#"["a\"b"]"#), Some(vec!["a\"b".into()]));
        assert_eq!(strs(r#"["a",]"#), None);
        assert_eq!(
            strs(r#"["a,b"]"#),
            None,
            "a comma inside is left to serde_json"
        );
        assert_eq!(strs(r#"[1]"#), None);
        assert_eq!(strs("[\u{a0}\"a\"]"), None, "not JSON whitespace");
    }

    #[test]
    fn actions_map_to_one_action() {
        let a = |v: &[&str]| action_of(&v.iter().map(|s| Cow::Borrowed(*s)).collect::<Vec<_>>());
        assert_eq!(a(&["delete", "create"]), Action::Replace);
        assert_eq!(a(&["create", "delete"]), Action::Replace);
        assert_eq!(a(&["create"]), Action::Create);
        assert_eq!(a(&["delete"]), Action::Delete);
        assert_eq!(a(&["no-op"]), Action::NoOp);
        assert_eq!(a(&["forget"]), Action::Forget);
        assert_eq!(a(&["create", "forget"]), Action::Create);
    }
}
