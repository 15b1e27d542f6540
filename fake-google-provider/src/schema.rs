//! Resource schemas, read from the listings in `schemas/` (one attribute path a line, with the
//! SDK's flags: `OPT`, `REQ`, `COM`, `Default=`, `Sensitive`, `MaxItems=`), and turned into the
//! plugin protocol's schema the way terraform-plugin-sdk/v2 presents a resource: blocks for
//! nested `schema.Resource`s, computed-only blocks as attributes of list/set of object type, an
//! implicit Optional+Computed `id`, and `timeouts` as an optional single block.

use std::collections::{BTreeMap, HashMap};

use rmpv::Value;
use tf_provider::schema::{
    Attribute, AttributeConstraint, AttributeType, Block as TfBlock, Description, NestedBlock,
    Schema,
};

/// A primitive or collection type.
#[derive(Clone, Debug, PartialEq)]
pub enum Ty {
    String,
    Number,
    Bool,
    List(Box<Ty>),
    Set(Box<Ty>),
    Map(Box<Ty>),
    Object(BTreeMap<String, Ty>),
}

impl Ty {
    fn to_tf(&self) -> AttributeType {
        match self {
            Ty::String => AttributeType::String,
            Ty::Number => AttributeType::Number,
            Ty::Bool => AttributeType::Bool,
            Ty::List(t) => AttributeType::List(Box::new(t.to_tf())),
            Ty::Set(t) => AttributeType::Set(Box::new(t.to_tf())),
            Ty::Map(t) => AttributeType::Map(Box::new(t.to_tf())),
            Ty::Object(m) => {
                AttributeType::Object(m.iter().map(|(k, v)| (k.clone(), v.to_tf())).collect())
            }
        }
    }

    /// A collection of primitives (the SDK makes such a collection wholly unknown when one of
    /// its elements is).
    pub fn is_primitive_collection(&self) -> bool {
        match self {
            Ty::List(t) | Ty::Set(t) | Ty::Map(t) => {
                matches!(**t, Ty::String | Ty::Number | Ty::Bool)
            }
            _ => false,
        }
    }
}

#[derive(Clone, Debug)]
pub struct Attr {
    pub ty: Ty,
    pub required: bool,
    pub optional: bool,
    pub computed: bool,
    pub sensitive: bool,
    pub default: Option<Value>,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Nesting {
    List,
    Set,
    /// An optional single block (the SDK's `timeouts`).
    Single,
}

#[derive(Clone, Debug)]
pub struct BlockType {
    pub nesting: Nesting,
    pub optional: bool,
    pub computed: bool,
    pub max_one: bool,
    pub block: Block,
}

#[derive(Clone, Debug, Default)]
pub struct Block {
    pub attrs: BTreeMap<String, Attr>,
    pub blocks: BTreeMap<String, BlockType>,
}

/// One line of a listing.
#[derive(Clone, Debug, Default)]
struct Line {
    kind: String,
    opt: bool,
    req: bool,
    com: bool,
    sensitive: bool,
    max_one: bool,
    default: Option<Value>,
    /// `Some(elem type)` for a collection of primitives, `None` for a block.
    elem: Option<Ty>,
    timeouts: Vec<String>,
}

#[derive(Default, Debug)]
struct Node {
    line: Option<Line>,
    children: BTreeMap<String, Node>,
}

fn parse_default(s: &str) -> Value {
    if let Some(q) = s.strip_prefix('"').and_then(|s| s.strip_suffix('"')) {
        return Value::from(q);
    }
    match s {
        "true" => Value::from(true),
        "false" => Value::from(false),
        _ => match s.parse::<i64>() {
            Ok(n) => Value::from(n),
            Err(_) => Value::from(s),
        },
    }
}

fn elem_type(rest: &str) -> Option<Ty> {
    let elem = rest.split("Elem=").nth(1)?;
    if !elem.starts_with("&schema.Schema{") {
        return None;
    }
    Some(if elem.contains("TypeInt") || elem.contains("TypeFloat") {
        Ty::Number
    } else if elem.contains("TypeBool") {
        Ty::Bool
    } else {
        Ty::String
    })
}

fn parse_line(line: &str) -> Option<(String, Line)> {
    let line = line.trim();
    if line.is_empty() || line.starts_with('#') {
        return None;
    }
    let mut words = line.split_whitespace();
    let path = words.next()?.to_string();
    let kind = words.next()?.to_string();
    let mut l = Line {
        kind: kind.clone(),
        ..Line::default()
    };
    if kind == "Timeouts" {
        l.timeouts = words.map(str::to_string).collect();
        l.opt = true;
        return Some((path, l));
    }
    for w in line.split_whitespace().skip(2) {
        match w {
            "OPT" => l.opt = true,
            "REQ" => l.req = true,
            "COM" => l.com = true,
            "Sensitive" => l.sensitive = true,
            "MaxItems=1" => l.max_one = true,
            _ => {
                if let Some(d) = w.strip_prefix("Default=") {
                    l.default = Some(parse_default(d));
                }
            }
        }
    }
    if !(l.opt || l.req || l.com) {
        // The listings also hold the flagless identity-schema lines; they are not attributes.
        return None;
    }
    if matches!(kind.as_str(), "List" | "Set" | "Map") {
        let rest = line
            .split_whitespace()
            .skip(2)
            .collect::<Vec<_>>()
            .join(" ");
        l.elem = if rest.contains("Elem=") {
            elem_type(&rest)
        } else {
            Some(Ty::String)
        };
        if kind == "Map" && l.elem.is_none() {
            l.elem = Some(Ty::String);
        }
    }
    Some((path, l))
}

fn leaf_type(l: &Line) -> Ty {
    match l.kind.as_str() {
        "String" => Ty::String,
        "Int" | "Float" => Ty::Number,
        "Bool" => Ty::Bool,
        "List" => Ty::List(Box::new(l.elem.clone().unwrap_or(Ty::String))),
        "Set" => Ty::Set(Box::new(l.elem.clone().unwrap_or(Ty::String))),
        "Map" => Ty::Map(Box::new(l.elem.clone().unwrap_or(Ty::String))),
        other => panic!("unknown type {other}"),
    }
}

/// The object type of a computed-only block, from its children.
fn object_type(node: &Node) -> Ty {
    Ty::Object(
        node.children
            .iter()
            .filter_map(|(name, child)| Some((name.clone(), node_type(child)?)))
            .collect(),
    )
}

fn node_type(node: &Node) -> Option<Ty> {
    let l = node.line.as_ref()?;
    if is_block(l) {
        let obj = object_type(node);
        Some(if l.kind == "Set" {
            Ty::Set(Box::new(obj))
        } else {
            Ty::List(Box::new(obj))
        })
    } else {
        Some(leaf_type(l))
    }
}

fn is_block(l: &Line) -> bool {
    matches!(l.kind.as_str(), "List" | "Set") && l.elem.is_none()
}

fn to_block(node: &Node) -> Block {
    let mut b = Block::default();
    for (name, child) in &node.children {
        let Some(l) = &child.line else { continue };
        if l.kind == "Timeouts" {
            let mut t = Block::default();
            for op in &l.timeouts {
                t.attrs.insert(
                    op.clone(),
                    Attr {
                        ty: Ty::String,
                        required: false,
                        optional: true,
                        computed: false,
                        sensitive: false,
                        default: None,
                    },
                );
            }
            b.blocks.insert(
                name.clone(),
                BlockType {
                    nesting: Nesting::Single,
                    optional: true,
                    computed: false,
                    max_one: true,
                    block: t,
                },
            );
        } else if is_block(l) && (l.opt || l.req) {
            b.blocks.insert(
                name.clone(),
                BlockType {
                    nesting: if l.kind == "Set" {
                        Nesting::Set
                    } else {
                        Nesting::List
                    },
                    optional: l.opt,
                    computed: l.com,
                    max_one: l.max_one,
                    block: to_block(child),
                },
            );
        } else {
            let ty = node_type(child).expect("typed line");
            b.attrs.insert(
                name.clone(),
                Attr {
                    ty,
                    required: l.req,
                    optional: l.opt,
                    computed: l.com,
                    sensitive: l.sensitive,
                    default: l.default.clone(),
                },
            );
        }
    }
    b
}

/// Parses a listing into the resource's root block, adding the SDK's implicit `id`.
pub fn parse(text: &str) -> Block {
    let mut root = Node::default();
    for line in text.lines() {
        let Some((path, l)) = parse_line(line) else {
            continue;
        };
        let mut node = &mut root;
        for part in path.split('.') {
            node = node.children.entry(part.to_string()).or_default();
        }
        node.line = Some(l);
    }
    let mut b = to_block(&root);
    b.attrs.entry("id".into()).or_insert(Attr {
        ty: Ty::String,
        required: false,
        optional: true,
        computed: true,
        sensitive: false,
        default: None,
    });
    b
}

impl Block {
    pub fn to_tf(&self) -> TfBlock {
        let attributes: HashMap<String, Attribute> = self
            .attrs
            .iter()
            .map(|(name, a)| {
                let constraint = match (a.required, a.optional, a.computed) {
                    (true, _, _) => AttributeConstraint::Required,
                    (_, true, true) => AttributeConstraint::OptionalComputed,
                    (_, true, false) => AttributeConstraint::Optional,
                    _ => AttributeConstraint::Computed,
                };
                (
                    name.clone(),
                    Attribute {
                        attr_type: a.ty.to_tf(),
                        description: Description::plain(name.clone()),
                        constraint,
                        sensitive: a.sensitive,
                        deprecated: false,
                    },
                )
            })
            .collect();
        let blocks: HashMap<String, NestedBlock> = self
            .blocks
            .iter()
            .map(|(name, bt)| {
                let inner = bt.block.to_tf();
                let nested = match (bt.nesting, bt.max_one) {
                    (Nesting::Single, _) => NestedBlock::Single(inner),
                    (Nesting::Set, _) => NestedBlock::Set(inner),
                    (Nesting::List, true) => NestedBlock::Optional(inner),
                    (Nesting::List, false) => NestedBlock::List(inner),
                };
                (name.clone(), nested)
            })
            .collect();
        TfBlock {
            version: 0,
            attributes,
            blocks,
            description: Description::plain("fake google provider"),
            deprecated: false,
        }
    }

    pub fn to_schema(&self) -> Schema {
        Schema {
            version: 0,
            block: self.to_tf(),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_blocks_computed_blocks_and_collections() {
        let b = parse(
            "name String REQ\n\
             name String \n\
             labels Map OPT Elem=&schema.Schema{Type: schema.TypeString}\n\
             template List REQ MaxItems=1 Elem=&schema.Resource{\n\
             template.containers List OPT Elem=&schema.Resource{\n\
             template.containers.env Set OPT Elem=envSchema()\n\
             template.containers.env.name String REQ\n\
             template.containers.args List OPT Elem=&schema.Schema{\n\
             conditions List COM Elem=&schema.Resource{\n\
             conditions.state String COM\n\
             deletion_protection Bool OPT Default=true\n\
             timeouts Timeouts create delete\n",
        );
        assert!(b.attrs["name"].required);
        assert_eq!(b.attrs["labels"].ty, Ty::Map(Box::new(Ty::String)));
        let tpl = &b.blocks["template"];
        assert!(tpl.max_one);
        let containers = &tpl.block.blocks["containers"];
        assert_eq!(containers.block.blocks["env"].nesting, Nesting::Set);
        assert_eq!(
            containers.block.attrs["args"].ty,
            Ty::List(Box::new(Ty::String))
        );
        assert!(matches!(b.attrs["conditions"].ty, Ty::List(_)));
        assert_eq!(
            b.attrs["deletion_protection"].default,
            Some(Value::from(true))
        );
        assert_eq!(b.blocks["timeouts"].nesting, Nesting::Single);
        assert!(b.attrs["id"].computed);
    }
}
