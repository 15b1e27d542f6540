//! Format-preserving edits of Terraform files, by structure (hcl-edit), never by byte offsets:
//! set an attribute in a block, set a field of one entry of a `locals` map, append blocks.
//! Everything not edited prints back byte for byte (comments, heredocs, odd spacing). An
//! inserted line takes its siblings' indentation, and the `=` of the run of lines it joins is
//! aligned the way `terraform fmt` aligns it, when the run was aligned before.

use hcl_edit::expr::{Expression, Object, ObjectKey, ObjectValue, ObjectValueTerminator};
use hcl_edit::structure::{Attribute, Block, Body, Structure};
use hcl_edit::{Decorate, Decorated, Ident};

/// A block by identifier and labels (`module "service"`, `template`).
#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct BlockSel {
    pub ident: String,
    pub labels: Vec<String>,
}

impl BlockSel {
    pub fn new(ident: &str, labels: &[&str]) -> Self {
        BlockSel {
            ident: ident.to_string(),
            labels: labels.iter().map(|l| l.to_string()).collect(),
        }
    }

    fn matches(&self, b: &Block) -> bool {
        b.ident.as_str() == self.ident
            && b.labels.len() == self.labels.len()
            && b.labels
                .iter()
                .zip(&self.labels)
                .all(|(l, s)| l.as_str() == s)
    }
}

impl std::fmt::Display for BlockSel {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}", self.ident)?;
        for l in &self.labels {
            write!(f, " \"{l}\"")?;
        }
        Ok(())
    }
}

/// One edit of a file.
#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Op {
    /// Sets attribute `key` of the body reached through `path` (a top-level block, then nested
    /// blocks, the first of each type; missing nested blocks are created) to `expr`.
    SetAttr {
        path: Vec<BlockSel>,
        key: String,
        expr: String,
    },
    /// Sets field `field` of the entry `entry` of the object written for local value `local`.
    SetEntryField {
        local: String,
        entry: String,
        field: String,
        expr: String,
    },
    /// Appends top-level blocks (HCL text) after a blank line.
    Append { text: String },
}

/// Applies `ops` to the text of a file; the result is checked to parse.
pub fn apply(src: &str, ops: &[Op]) -> Result<String, String> {
    let mut body =
        crate::syntax::parse_body(src).map_err(|e| format!("does not parse: {}", e.message))?;
    let mut appended = String::new();
    for op in ops {
        match op {
            Op::SetAttr { path, key, expr } => set_attr(&mut body, path, key, expr)?,
            Op::SetEntryField {
                local,
                entry,
                field,
                expr,
            } => set_entry_field(&mut body, local, entry, field, expr)?,
            Op::Append { text } => {
                hcl_edit::parser::parse_body(text)
                    .map_err(|e| format!("appended text does not parse: {}", e.message()))?;
                if !appended.is_empty() {
                    appended.push('\n');
                }
                appended.push_str(text.trim_end_matches('\n'));
                appended.push('\n');
            }
        }
    }
    let mut out = body.to_string();
    if !appended.is_empty() {
        if !out.is_empty() && !out.ends_with('\n') {
            out.push('\n');
        }
        if !out.trim().is_empty() {
            out.push('\n');
        }
        out.push_str(&appended);
    }
    hcl_edit::parser::parse_body(&out)
        .map_err(|e| format!("the edited text does not parse: {}", e.message()))?;
    Ok(out)
}

fn parse_expr(expr: &str) -> Result<Expression, String> {
    hcl_edit::parser::parse_expr(expr).map_err(|e| format!("`{expr}`: {}", e.message()))
}

/// The body reached through `path`, creating missing nested blocks (not the top-level one),
/// with the indentation of the block that holds it. `outer` is the indentation of the block
/// holding `body`, `depth` how many blocks hold it.
fn body_at<'b>(
    body: &'b mut Body,
    path: &[BlockSel],
    depth: usize,
    outer: &str,
) -> Result<(&'b mut Body, String), String> {
    let Some((first, rest)) = path.split_first() else {
        return Ok((body, outer.to_string()));
    };
    let pos = body
        .iter()
        .position(|s| s.as_block().is_some_and(|b| first.matches(b)));
    let indent = body_indent(body, outer, depth);
    let pos = match pos {
        Some(p) => p,
        None if depth == 0 => return Err(format!("no `{first}` block")),
        None => {
            let dynamic = body.iter().any(|s| {
                s.as_block().is_some_and(|b| {
                    b.ident.as_str() == "dynamic"
                        && b.labels.first().is_some_and(|l| l.as_str() == first.ident)
                })
            });
            if dynamic {
                return Err(format!("`{first}` is written as a dynamic block"));
            }
            let mut block = Block::new(Ident::new(first.ident.clone()));
            for l in &first.labels {
                block
                    .labels
                    .push(hcl_edit::structure::BlockLabel::String(Decorated::new(
                        l.clone(),
                    )));
            }
            block.body.decor_mut().set_suffix(indent.clone());
            block.decor_mut().set_prefix(indent.clone());
            block.body.set_prefer_oneline(false);
            let at = last_attribute(body).map_or(0, |i| i + 1);
            body.insert(at, block);
            at
        }
    };
    let block = body
        .get_mut(pos)
        .and_then(Structure::as_block_mut)
        .expect("position of a block");
    let own = block
        .decor()
        .prefix()
        .map(|p| p.to_string())
        .and_then(|p| {
            let last = p.rsplit('\n').next().unwrap_or("").to_string();
            last.chars().all(|c| c == ' ' || c == '\t').then_some(last)
        })
        .unwrap_or(indent);
    body_at(&mut block.body, rest, depth + 1, &own)
}

fn set_attr(body: &mut Body, path: &[BlockSel], key: &str, expr: &str) -> Result<(), String> {
    let depth = path.len();
    let (target, outer) = body_at(body, path, 0, "")?;
    set_in_body(target, key, expr, depth, &outer)
}

fn last_attribute(body: &Body) -> Option<usize> {
    body.iter()
        .enumerate()
        .filter(|(_, s)| s.is_attribute())
        .map(|(i, _)| i)
        .last()
}

/// The indentation of a body's lines: its structures', else one step more than `outer`, the
/// indentation of the block holding it (`depth` blocks deep), in the same style.
fn body_indent(body: &Body, outer: &str, depth: usize) -> String {
    for s in body.iter() {
        let prefix = match s {
            Structure::Attribute(a) => a.decor().prefix().map(|p| p.to_string()),
            Structure::Block(b) => b.decor().prefix().map(|p| p.to_string()),
        };
        if let Some(p) = prefix {
            let last = p.rsplit('\n').next().unwrap_or("");
            if last.chars().all(|c| c == ' ' || c == '\t') && (!last.is_empty() || depth == 0) {
                return last.to_string();
            }
        }
    }
    if depth == 0 {
        return String::new();
    }
    let unit = if outer.starts_with('\t') {
        "\t".to_string()
    } else if depth > 1 && !outer.is_empty() && outer.len().is_multiple_of(depth - 1) {
        " ".repeat(outer.len() / (depth - 1))
    } else {
        "  ".to_string()
    };
    format!("{outer}{unit}")
}

fn set_in_body(
    body: &mut Body,
    key: &str,
    expr: &str,
    depth: usize,
    outer: &str,
) -> Result<(), String> {
    let new = parse_expr(expr)?;
    let existing = body
        .iter()
        .position(|s| s.as_attribute().is_some_and(|a| a.key.as_str() == key));
    match existing {
        Some(i) => {
            let attr = body
                .get_mut(i)
                .and_then(Structure::as_attribute_mut)
                .expect("position of an attribute");
            replace_keeping_decor(&mut attr.value, new);
            align_body(body, i, false);
        }
        None => {
            let indent = body_indent(body, outer, depth);
            let mut value = new;
            value.decor_mut().set_prefix(" ");
            let mut k = Decorated::new(Ident::new(key));
            k.decor_mut().set_suffix(" ");
            let mut attr = Attribute::new(k, value);
            attr.decor_mut().set_prefix(indent);
            let at = last_attribute(body).map_or(0, |i| i + 1);
            body.set_prefer_oneline(false);
            body.insert(at, attr);
            align_body(body, at, true);
        }
    }
    Ok(())
}

/// Replaces an expression, keeping the space before it and a comment after it.
fn replace_keeping_decor(old: &mut Expression, mut new: Expression) {
    let decor = old.decor().clone();
    *new.decor_mut() = decor;
    if new.decor().prefix().is_none() {
        new.decor_mut().set_prefix(" ");
    }
    *old = new;
}

fn set_entry_field(
    body: &mut Body,
    local: &str,
    entry: &str,
    field: &str,
    expr: &str,
) -> Result<(), String> {
    for mut s in body.iter_mut() {
        let Some(block) = s.as_block_mut() else {
            continue;
        };
        if block.ident.as_str() != "locals" {
            continue;
        }
        let Some(mut attr) = block.body.get_attribute_mut(local) else {
            continue;
        };
        let Expression::Object(map) = attr.value_mut() else {
            return Err(format!("`local.{local}` is not written as a map"));
        };
        let Some((_, value)) = map.iter_mut().find(|(k, _)| key_is(k.get(), entry)) else {
            return Err(format!("`local.{local}` has no entry `{entry}`"));
        };
        let Expression::Object(obj) = value.expr_mut() else {
            return Err(format!(
                "the entry `{entry}` of `local.{local}` is not written as an object"
            ));
        };
        return set_field(obj, field, expr);
    }
    Err(format!("no `locals` block declares `{local}` in this file"))
}

/// Whether an object key is `name` (an identifier or a literal string).
pub fn key_is(k: &ObjectKey, name: &str) -> bool {
    match k {
        ObjectKey::Ident(i) => i.as_str() == name,
        ObjectKey::Expression(Expression::String(s)) => s.value().as_str() == name,
        _ => false,
    }
}

fn set_field(obj: &mut Object, field: &str, expr: &str) -> Result<(), String> {
    let new = parse_expr(expr)?;
    let existing = obj.iter().position(|(k, _)| key_is(k, field));
    if let Some(i) = existing {
        let (_, v) = obj.iter_mut().nth(i).expect("position of an entry");
        replace_keeping_decor(v.expr_mut(), new);
        align_object(obj, i, false);
        return Ok(());
    }
    let multiline = !obj.is_empty()
        && obj
            .iter()
            .all(|(_, v)| v.terminator() == ObjectValueTerminator::Newline);
    if !multiline {
        return Err("the object is not written one entry per line".into());
    }
    let indent = obj
        .iter()
        .filter_map(|(k, _)| k.decor().prefix().map(|p| p.to_string()))
        .map(|p| p.rsplit('\n').next().unwrap_or("").to_string())
        .find(|l| !l.is_empty() && l.chars().all(|c| c == ' ' || c == '\t'))
        .ok_or("cannot tell the object's indentation")?;
    let mut key = Decorated::new(Ident::new(field));
    key.decor_mut().set_prefix(indent);
    key.decor_mut().set_suffix(" ");
    let mut value = new;
    value.decor_mut().set_prefix(" ");
    let mut v = ObjectValue::new(value);
    v.set_terminator(ObjectValueTerminator::Newline);
    obj.insert(ObjectKey::Ident(key), v);
    align_object(obj, obj.len() - 1, true);
    Ok(())
}

/// One line of an alignment run.
struct Line {
    /// The key's width in characters.
    width: usize,
    /// Spaces between key and `=`, None when something else is there.
    pad: Option<usize>,
    /// The line holds a whole `key = value` (terraform fmt aligns only those).
    eligible: bool,
    /// A heredoc starts on the line: the run ends after it.
    heredoc: bool,
    /// The line directly follows the previous one (no blank line or comment between).
    consecutive: bool,
}

fn spaces(s: Option<&hcl_edit::RawString>) -> Option<usize> {
    let s = s.map_or(String::new(), |r| r.to_string());
    s.chars().all(|c| c == ' ').then_some(s.len())
}

fn plain_whitespace(s: Option<&hcl_edit::RawString>) -> bool {
    let s = s.map_or(String::new(), |r| r.to_string());
    s.chars().all(|c| c == ' ' || c == '\t')
}

fn single_line(e: &Expression) -> bool {
    let mut bare = e.clone();
    bare.decor_mut().clear();
    !bare.to_string().contains('\n')
}

fn key_width(k: &ObjectKey) -> usize {
    match k {
        ObjectKey::Ident(i) => i.as_str().chars().count(),
        ObjectKey::Expression(e) => {
            let mut bare = e.clone();
            bare.decor_mut().clear();
            bare.to_string().chars().count()
        }
    }
}

/// The new padding of the lines of the run that holds line `edited`, as `terraform fmt`
/// aligns it: all when the run's other lines were aligned, else the edited line only.
fn realign(lines: &[Line], edited: usize, inserted: bool) -> Vec<(usize, usize)> {
    let Some(line) = lines.get(edited) else {
        return Vec::new();
    };
    if !line.eligible {
        return Vec::new();
    }
    let linked = |j: usize| {
        lines[j].eligible && !lines[j].heredoc && lines[j + 1].eligible && lines[j + 1].consecutive
    };
    let mut start = edited;
    while start > 0 && linked(start - 1) {
        start -= 1;
    }
    let mut end = edited;
    while end + 1 < lines.len() && linked(end) {
        end += 1;
    }
    let others: Vec<usize> = (start..=end).filter(|&j| j != edited).collect();
    let widest =
        |idx: &mut dyn Iterator<Item = usize>| idx.map(|j| lines[j].width).max().unwrap_or(0);
    let aligned = others.iter().all(|&j| lines[j].pad.is_some()) && {
        let column = widest(&mut others.iter().copied()) + 1;
        others
            .iter()
            .all(|&j| lines[j].width + lines[j].pad.unwrap_or(0) == column)
    };
    if aligned {
        let column = widest(&mut (start..=end)) + 1;
        (start..=end)
            .map(|j| (j, column - lines[j].width))
            .filter(|&(j, pad)| lines[j].pad != Some(pad))
            .collect()
    } else if inserted {
        vec![(edited, 1)]
    } else {
        Vec::new()
    }
}

fn align_body(body: &mut Body, edited: usize, inserted: bool) {
    let lines: Vec<Line> = body
        .iter()
        .map(|s| match s {
            Structure::Attribute(a) => Line {
                width: a.key.as_str().chars().count(),
                pad: spaces(a.key.decor().suffix()),
                eligible: single_line(&a.value) || is_heredoc(&a.value),
                heredoc: is_heredoc(&a.value),
                consecutive: plain_whitespace(a.decor().prefix()),
            },
            Structure::Block(_) => Line {
                width: 0,
                pad: None,
                eligible: false,
                heredoc: false,
                consecutive: false,
            },
        })
        .collect();
    for (j, pad) in realign(&lines, edited, inserted) {
        if let Some(a) = body.get_mut(j).and_then(Structure::as_attribute_mut) {
            a.key.decor_mut().set_suffix(" ".repeat(pad));
        }
    }
}

fn align_object(obj: &mut Object, edited: usize, inserted: bool) {
    if !obj
        .iter()
        .all(|(_, v)| v.terminator() == ObjectValueTerminator::Newline)
    {
        return;
    }
    let lines: Vec<Line> = obj
        .iter()
        .map(|(k, v)| Line {
            width: key_width(k),
            pad: spaces(k.decor().suffix()),
            eligible: (single_line(v.expr()) || is_heredoc(v.expr()))
                && v.assignment() == hcl_edit::expr::ObjectValueAssignment::Equals,
            heredoc: is_heredoc(v.expr()),
            consecutive: plain_whitespace(k.decor().prefix()),
        })
        .collect();
    let pads = realign(&lines, edited, inserted);
    for (j, (mut k, _)) in obj.iter_mut().enumerate() {
        if let Some(&(_, pad)) = pads.iter().find(|(i, _)| *i == j) {
            k.decor_mut().set_suffix(" ".repeat(pad));
        }
    }
}

fn is_heredoc(e: &Expression) -> bool {
    matches!(e, Expression::HeredocTemplate(_))
}

/// The source text of an expression, from its span in `src` (without its decor).
pub fn source_text(src: &str, e: &Expression) -> String {
    use hcl_edit::Span as _;
    match e.span() {
        Some(r) if r.end <= src.len() => src[r].to_string(),
        _ => {
            let mut bare = e.clone();
            bare.decor_mut().clear();
            bare.to_string()
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn set(path: &[(&str, &[&str])], key: &str, expr: &str) -> Op {
        Op::SetAttr {
            path: path.iter().map(|(i, l)| BlockSel::new(i, l)).collect(),
            key: key.into(),
            expr: expr.into(),
        }
    }

    fn entry(local: &str, entry: &str, field: &str, expr: &str) -> Op {
        Op::SetEntryField {
            local: local.into(),
            entry: entry.into(),
            field: field.into(),
            expr: expr.into(),
        }
    }

    #[test]
    fn replacing_a_value_keeps_comments_and_alignment() {
        let src = "module \"svc\" {\n  source          = \"./m\" # where\n  service_account = null # not chosen yet\n  x               = 1\n}\n";
        let out = apply(
            src,
            &[set(
                &[("module", &["svc"])],
                "service_account",
                "google_service_account.a.email",
            )],
        )
        .unwrap();
        assert_eq!(
            out,
            "module \"svc\" {\n  source          = \"./m\" # where\n  service_account = google_service_account.a.email # not chosen yet\n  x               = 1\n}\n"
        );
    }

    #[test]
    fn inserting_an_attribute_realigns_its_run() {
        let src =
            "module \"svc\" {\n  source = \"./m\"\n  name   = \"a\"\n\n  lifecycle {\n  }\n}\n";
        let out = apply(
            src,
            &[set(&[("module", &["svc"])], "service_account", "x.y")],
        )
        .unwrap();
        assert_eq!(
            out,
            "module \"svc\" {\n  source          = \"./m\"\n  name            = \"a\"\n  service_account = x.y\n\n  lifecycle {\n  }\n}\n"
        );
    }

    #[test]
    fn inserting_keeps_an_unaligned_run_alone() {
        let src = "module \"svc\" {\n  source = \"./m\"\n  n  = \"a\"\n}\n";
        let out = apply(src, &[set(&[("module", &["svc"])], "sa", "x")]).unwrap();
        assert_eq!(
            out,
            "module \"svc\" {\n  source = \"./m\"\n  n  = \"a\"\n  sa = x\n}\n"
        );
    }

    #[test]
    fn nested_blocks_are_found_and_created() {
        let src = "resource \"google_cloud_run_service\" \"s\" {\n  name = \"a\"\n\n  template {\n    metadata {\n      x = 1\n    }\n  }\n}\n";
        let out = apply(
            src,
            &[set(
                &[
                    ("resource", &["google_cloud_run_service", "s"]),
                    ("template", &[]),
                    ("spec", &[]),
                ],
                "service_account_name",
                "google_service_account.a.email",
            )],
        )
        .unwrap();
        assert!(
            out.contains("  template {\n    spec {\n      service_account_name = google_service_account.a.email\n    }\n    metadata {"),
            "{out}"
        );
    }

    #[test]
    fn dynamic_blocks_are_refused() {
        let src = "resource \"r\" \"s\" {\n  dynamic \"template\" {\n    for_each = []\n    content {}\n  }\n}\n";
        let e = apply(
            src,
            &[set(
                &[("resource", &["r", "s"]), ("template", &[])],
                "a",
                "b",
            )],
        )
        .unwrap_err();
        assert!(e.contains("dynamic"), "{e}");
    }

    #[test]
    fn entry_fields_are_replaced_and_inserted() {
        let src = "locals {\n  services = {\n    \"a-b\" = {\n      image           = \"i\"\n      service_account = null # later\n      memory          = \"1Gi\"\n      env = {\n        K = \"v\"\n      }\n    }\n    c = {\n      image = \"j\"\n    }\n  }\n}\n";
        let out = apply(
            src,
            &[
                entry(
                    "services",
                    "a-b",
                    "service_account",
                    "google_service_account.x.email",
                ),
                entry(
                    "services",
                    "c",
                    "service_account",
                    "google_service_account.y.email",
                ),
            ],
        )
        .unwrap();
        assert_eq!(
            out,
            "locals {\n  services = {\n    \"a-b\" = {\n      image           = \"i\"\n      service_account = google_service_account.x.email # later\n      memory          = \"1Gi\"\n      env = {\n        K = \"v\"\n      }\n    }\n    c = {\n      image           = \"j\"\n      service_account = google_service_account.y.email\n    }\n  }\n}\n"
        );
    }

    #[test]
    fn missing_entries_are_errors() {
        let src = "locals {\n  services = {\n    a = {\n      x = 1\n    }\n  }\n}\n";
        assert!(
            apply(src, &[entry("services", "b", "f", "1")])
                .unwrap_err()
                .contains("no entry")
        );
        assert!(
            apply(src, &[entry("other", "a", "f", "1")])
                .unwrap_err()
                .contains("no `locals`")
        );
    }

    #[test]
    fn appended_blocks_follow_a_blank_line() {
        let out = apply(
            "a = 1\n",
            &[Op::Append {
                text: "b {\n}\n".into(),
            }],
        )
        .unwrap();
        assert_eq!(out, "a = 1\n\nb {\n}\n");
        let out = apply(
            "",
            &[Op::Append {
                text: "b {\n}\n".into(),
            }],
        )
        .unwrap();
        assert_eq!(out, "b {\n}\n");
    }

    #[test]
    fn created_blocks_close_at_their_indentation() {
        let src = "resource \"r\" \"s\" {\n\ttemplate {\n\t\tx = 1\n\t}\n}\n";
        let path = [
            ("resource", &["r", "s"][..]),
            ("template", &[][..]),
            ("spec", &[][..]),
        ];
        let out = apply(src, &[set(&path, "a", "b")]).unwrap();
        assert_eq!(
            out,
            "resource \"r\" \"s\" {\n\ttemplate {\n\t\tx = 1\n\t\tspec {\n\t\t\ta = b\n\t\t}\n\t}\n}\n"
        );
        let src = "resource \"r\" \"s\" {\n    template {\n    }\n}\n";
        let out = apply(src, &[set(&path, "a", "b")]).unwrap();
        assert_eq!(
            out,
            "resource \"r\" \"s\" {\n    template {\n        spec {\n            a = b\n        }\n    }\n}\n"
        );
    }

    #[test]
    fn heredocs_and_odd_spacing_survive() {
        let src = "resource   \"x\"   \"y\"{\n\tdescription=<<-EOT\n  keep   me\n  EOT\n  a =1    # odd\n    /* block */ b= [1 ,2]\n}\n# end\n";
        let out = apply(src, &[set(&[("resource", &["x", "y"])], "a", "2")]).unwrap();
        assert_eq!(out, src.replace("a =1 ", "a =2 "));
    }

    mod roundtrip {
        //! parse → edit → print → parse, on generated files with comments, heredocs, odd
        //! spacing and several indentation styles.

        use super::super::*;
        use proptest::prelude::*;

        const NAMES: [&str; 5] = ["image", "memory", "service_account", "min_instances", "cpu"];
        const VALUES: [&str; 6] = [
            "\"img:1\"",
            "null",
            "1",
            "data.google_compute_default_service_account.default.email",
            "[\"a\", \"b\"]",
            "{ x = 1 }",
        ];
        const NEW_ENTRY: &str = "google_service_account.cr_x.email";
        const NEW_ARG: &str = "google_service_account.cr_y.email";

        #[derive(Clone, Debug)]
        struct Field {
            name: usize,
            value: usize,
            spacing: u8,
            comment: Option<u8>,
            lead: bool,
        }

        #[derive(Clone, Debug)]
        struct Entry {
            quoted: bool,
            fields: Vec<Field>,
        }

        #[derive(Clone, Debug)]
        struct File {
            indent: u8,
            entries: Vec<Entry>,
            heredoc: bool,
            module_sa: Option<Field>,
            target: usize,
        }

        fn field() -> impl Strategy<Value = Field> {
            (
                0..NAMES.len(),
                0..VALUES.len(),
                0u8..4,
                proptest::option::of(0u8..3),
                any::<bool>(),
            )
                .prop_map(|(name, value, spacing, comment, lead)| Field {
                    name,
                    value,
                    spacing,
                    comment,
                    lead,
                })
        }

        fn file() -> impl Strategy<Value = File> {
            let entry = (any::<bool>(), proptest::collection::vec(field(), 1..5)).prop_map(
                |(quoted, mut fields)| {
                    let mut seen = std::collections::BTreeSet::new();
                    fields.retain(|f| seen.insert(f.name));
                    Entry { quoted, fields }
                },
            );
            (
                0u8..3,
                proptest::collection::vec(entry, 1..4),
                any::<bool>(),
                proptest::option::of(field()),
                any::<usize>(),
            )
                .prop_map(|(indent, entries, heredoc, module_sa, target)| {
                    let target = target % entries.len();
                    File {
                        indent,
                        entries,
                        heredoc,
                        module_sa,
                        target,
                    }
                })
        }

        fn render_field(out: &mut String, ind: &str, f: &Field, name: &str, width: usize) {
            if f.lead {
                out.push_str(&format!("{ind}# about {name}\n"));
            }
            let value = VALUES[f.value];
            let line = match f.spacing {
                0 => format!("{ind}{name:<width$} = {value}"),
                1 => format!("{ind}{name} = {value}"),
                2 => format!("{ind}{name}={value}"),
                _ => format!("{ind}{name}    =   {value}"),
            };
            out.push_str(&line);
            match f.comment {
                Some(0) => out.push_str(&format!(" # note on {name}")),
                Some(1) => out.push_str(&format!("   // slashes on {name}")),
                Some(_) => out.push_str(&format!(" /* block on {name} */")),
                None => {}
            }
            out.push('\n');
        }

        fn entry_name(i: usize, e: &Entry) -> (String, String) {
            let name = format!("svc-{i}");
            if e.quoted {
                (name.clone(), format!("\"{name}\""))
            } else {
                (format!("svc_{i}"), format!("svc_{i}"))
            }
        }

        fn render(f: &File) -> String {
            let unit = match f.indent {
                0 => "  ",
                1 => "    ",
                _ => "\t",
            };
            let mut out = String::from("# generated\nlocals {\n");
            out.push_str(&format!("{unit}services = {{\n"));
            for (i, e) in f.entries.iter().enumerate() {
                let (_, key) = entry_name(i, e);
                out.push_str(&format!("{unit}{unit}{key} = {{\n"));
                let width = e
                    .fields
                    .iter()
                    .map(|x| NAMES[x.name].len())
                    .max()
                    .unwrap_or(0);
                for x in &e.fields {
                    render_field(
                        &mut out,
                        &format!("{unit}{unit}{unit}"),
                        x,
                        NAMES[x.name],
                        width,
                    );
                }
                out.push_str(&format!("{unit}{unit}}}\n"));
            }
            out.push_str(&format!("{unit}}}\n}}\n\nmodule \"svc\" {{\n"));
            out.push_str(&format!(
                "{unit}source   = \"./m\"\n{unit}for_each = local.services\n"
            ));
            if f.heredoc {
                out.push_str(&format!("{unit}description = <<-EOT\n{unit}  keep   this   text\n{unit}  # not a comment\n{unit}EOT\n"));
            }
            if let Some(m) = &f.module_sa {
                render_field(&mut out, unit, m, "service_account", 15);
            }
            out.push_str("}\n");
            out
        }

        fn ops(f: &File) -> Vec<Op> {
            let (name, _) = entry_name(f.target, &f.entries[f.target]);
            vec![
                Op::SetEntryField {
                    local: "services".into(),
                    entry: name,
                    field: "service_account".into(),
                    expr: NEW_ENTRY.into(),
                },
                Op::SetAttr {
                    path: vec![BlockSel::new("module", &["svc"])],
                    key: "service_account".into(),
                    expr: NEW_ARG.into(),
                },
            ]
        }

        fn squash(l: &str) -> String {
            l.split_whitespace().collect::<Vec<_>>().join(" ")
        }

        fn comments(s: &str) -> Vec<String> {
            let mut out: Vec<String> = s
                .lines()
                .filter_map(|l| {
                    ["#", "//", "/*"]
                        .iter()
                        .filter_map(|m| l.find(m))
                        .min()
                        .map(|i| l[i..].trim_end().to_string())
                })
                .collect();
            out.sort();
            out
        }

        proptest! {
            #![proptest_config(ProptestConfig::with_cases(256))]

            #[test]
            fn edits_round_trip(f in file()) {
                let src = render(&f);
                prop_assume!(hcl_edit::parser::parse_body(&src).is_ok());
                let ops = ops(&f);
                let out = apply(&src, &ops).map_err(|e| TestCaseError::fail(format!("{e}\n{src}")))?;

                // It parses, and holds the new values where they belong.
                let body = hcl_edit::parser::parse_body(&out).unwrap();
                let locals = body.get_blocks("locals").next().unwrap();
                let Expression::Object(services) = &locals.body.get_attribute("services").unwrap().value else {
                    panic!("services is a map")
                };
                let (name, _) = entry_name(f.target, &f.entries[f.target]);
                let Expression::Object(entry) = services.iter().find(|(k, _)| key_is(k, &name)).unwrap().1.expr() else {
                    panic!("an object")
                };
                let sa = entry.iter().find(|(k, _)| key_is(k, "service_account")).unwrap().1.expr();
                prop_assert_eq!(source_text(&out, sa), NEW_ENTRY);
                let module = body.get_blocks("module").next().unwrap();
                prop_assert_eq!(source_text(&out, &module.body.get_attribute("service_account").unwrap().value), NEW_ARG);

                // Applying the edits again changes nothing.
                prop_assert_eq!(apply(&out, &ops).unwrap(), out.clone());

                // Comments and heredoc text survive, byte for byte.
                prop_assert_eq!(comments(&src), comments(&out));
                if f.heredoc {
                    prop_assert!(out.contains("  keep   this   text\n"));
                }

                // Lines that do not hold the edited keys differ at most in the spaces before
                // `=` (alignment).
                let diff = similar::TextDiff::from_lines(&src, &out);
                let mut removed = Vec::new();
                let mut added = Vec::new();
                for c in diff.iter_all_changes() {
                    let line = c.value();
                    if line.contains("service_account") {
                        continue;
                    }
                    match c.tag() {
                        similar::ChangeTag::Delete => removed.push(squash(line)),
                        similar::ChangeTag::Insert => added.push(squash(line)),
                        similar::ChangeTag::Equal => {}
                    }
                }
                removed.sort();
                added.sort();
                prop_assert_eq!(removed, added);
            }
        }
    }
}
