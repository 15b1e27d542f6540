//! The value type every loader produces: JSON-like, plus two marks Terraform has and JSON lacks.
//!
//! `Unknown` is a value (known only after apply, or not resolvable statically), never an absence:
//! loaders must not turn it into `Null` or `""`. `Sensitive` replaces a value marked sensitive in
//! the source; the literal is dropped at load time so no later stage can print it.

use std::fmt;

#[derive(Clone, Debug, PartialEq, Default)]
pub enum Value {
    #[default]
    Null,
    Bool(bool),
    Number(f64),
    String(String),
    List(Vec<Value>),
    Map(Map),
    /// Known only after apply, or not resolvable without running Terraform.
    Unknown,
    /// Known only after apply, and known to come from an attribute of a resource declared in
    /// the configuration (`google_sql_database_instance.main.connection_name`, absolute): the
    /// static evaluator keeps where an unknown value came from so the model can still follow it.
    UnknownFrom(Box<str>),
    /// Marked sensitive by the source; the content was dropped when loading.
    Sensitive,
}

/// An object's attributes, sorted by key. A sorted vector rather than a B-tree: objects in
/// Terraform values are small and numerous, and a B-tree node reserves room for eleven
/// entries however few it holds, which made values several times larger than the plan text.
/// Configuration bodies (`ConfigBody`) use it too, with their own value types.
/// Keys are inline up to 24 bytes (nearly every attribute name), so that an object's keys
/// cost no allocation of their own.
#[derive(Clone, Debug, PartialEq)]
pub struct Map<V = Value> {
    entries: Vec<(Key, V)>,
}

/// An object key.
pub type Key = compact_str::CompactString;

/// The order of map keys (bytewise, as `str` orders them). The keys of one object mostly
/// differ in their first byte, which is compared here without a call to compare bytes.
#[inline]
pub fn key_order(a: &[u8], b: &[u8]) -> std::cmp::Ordering {
    match (a.first(), b.first()) {
        (Some(x), Some(y)) if x != y => x.cmp(y),
        _ => a.cmp(b),
    }
}

impl<V> Default for Map<V> {
    fn default() -> Self {
        Map {
            entries: Vec::new(),
        }
    }
}

impl<V> Map<V> {
    pub fn new() -> Self {
        Map::default()
    }

    /// Makes room for `additional` more entries, exactly: a map filled from a body of known
    /// size then takes no more memory than its entries.
    pub fn reserve_exact(&mut self, additional: usize) {
        self.entries.reserve_exact(additional);
    }

    /// Builds a map from entries in any order; for a repeated key the last one wins.
    pub fn from_unsorted(mut entries: Vec<(Key, V)>) -> Self {
        if !entries.is_sorted_by(|a, b| a.0 < b.0) {
            // Stable, so among equal keys the last written is last; keep it.
            entries.sort_by(|a, b| a.0.cmp(&b.0));
            let mut out: Vec<(Key, V)> = Vec::with_capacity(entries.len());
            for e in entries {
                match out.last_mut() {
                    Some(last) if last.0 == e.0 => *last = e,
                    _ => out.push(e),
                }
            }
            entries = out;
        }
        entries.shrink_to_fit();
        Map { entries }
    }

    /// Builds a map from entries already sorted by key, without repeats.
    pub fn from_sorted(entries: Vec<(Key, V)>) -> Self {
        debug_assert!(entries.is_sorted_by(|a, b| a.0 < b.0));
        Map { entries }
    }

    fn find(&self, key: &str) -> Result<usize, usize> {
        let key = key.as_bytes();
        self.entries
            .binary_search_by(|(k, _)| key_order(k.as_bytes(), key))
    }

    pub fn get(&self, key: &str) -> Option<&V> {
        // Read for every attribute the graph and model look at. Most objects are small, and
        // comparing lengths and first bytes passes over nearly every other key without a
        // call to compare bytes.
        if self.entries.len() <= 16 {
            let key = key.as_bytes();
            return self
                .entries
                .iter()
                .find(|(k, _)| {
                    let k = k.as_bytes();
                    k.len() == key.len() && k.first() == key.first() && k == key
                })
                .map(|(_, v)| v);
        }
        self.find(key).ok().map(|i| &self.entries[i].1)
    }

    pub fn get_mut(&mut self, key: &str) -> Option<&mut V> {
        match self.find(key) {
            Ok(i) => Some(&mut self.entries[i].1),
            Err(_) => None,
        }
    }

    pub fn contains_key(&self, key: &str) -> bool {
        self.find(key).is_ok()
    }

    pub fn insert(&mut self, key: impl Into<Key> + AsRef<str>, value: V) -> Option<V> {
        match self.find(key.as_ref()) {
            Ok(i) => Some(std::mem::replace(&mut self.entries[i].1, value)),
            Err(i) => {
                self.entries.insert(i, (key.into(), value));
                None
            }
        }
    }

    pub fn remove(&mut self, key: &str) -> Option<V> {
        self.find(key).ok().map(|i| self.entries.remove(i).1)
    }

    /// The value at `key`, inserting `make()` first when there is none.
    pub fn entry_or_insert_with(&mut self, key: &str, make: impl FnOnce() -> V) -> &mut V {
        let i = match self.find(key) {
            Ok(i) => i,
            Err(i) => {
                self.entries.insert(i, (Key::from(key), make()));
                i
            }
        };
        &mut self.entries[i].1
    }

    pub fn len(&self) -> usize {
        self.entries.len()
    }

    pub fn is_empty(&self) -> bool {
        self.entries.is_empty()
    }

    pub fn iter(&self) -> impl DoubleEndedIterator<Item = (&str, &V)> + ExactSizeIterator {
        self.entries.iter().map(|(k, v)| (k.as_str(), v))
    }

    pub fn iter_mut(&mut self) -> impl Iterator<Item = (&str, &mut V)> {
        self.entries.iter_mut().map(|(k, v)| (k.as_str(), v))
    }

    pub fn keys(&self) -> impl DoubleEndedIterator<Item = &str> + ExactSizeIterator {
        self.entries.iter().map(|(k, _)| k.as_str())
    }

    pub fn values(&self) -> impl DoubleEndedIterator<Item = &V> + ExactSizeIterator {
        self.entries.iter().map(|(_, v)| v)
    }

    pub fn values_mut(&mut self) -> impl Iterator<Item = &mut V> {
        self.entries.iter_mut().map(|(_, v)| v)
    }

    pub fn extend<K: Into<Key>>(&mut self, other: impl IntoIterator<Item = (K, V)>) {
        let mut all = std::mem::take(&mut self.entries);
        all.extend(other.into_iter().map(|(k, v)| (k.into(), v)));
        *self = Map::from_unsorted(all);
    }
}

/// As a JSON object, in key order (what a `BTreeMap` of the same entries gives).
impl<V: serde::Serialize> serde::Serialize for Map<V> {
    fn serialize<S: serde::Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.collect_map(self.iter())
    }
}

impl<K: Into<Key>, V> FromIterator<(K, V)> for Map<V> {
    fn from_iter<I: IntoIterator<Item = (K, V)>>(iter: I) -> Self {
        Map::from_unsorted(iter.into_iter().map(|(k, v)| (k.into(), v)).collect())
    }
}

impl<K: Into<Key>, V, const N: usize> From<[(K, V); N]> for Map<V> {
    fn from(entries: [(K, V); N]) -> Self {
        Map::from_unsorted(entries.into_iter().map(|(k, v)| (k.into(), v)).collect())
    }
}

impl<V> IntoIterator for Map<V> {
    type Item = (Key, V);
    type IntoIter = std::vec::IntoIter<(Key, V)>;

    fn into_iter(self) -> Self::IntoIter {
        self.entries.into_iter()
    }
}

impl<'a, V> IntoIterator for &'a Map<V> {
    type Item = (&'a str, &'a V);
    type IntoIter =
        std::iter::Map<std::slice::Iter<'a, (Key, V)>, fn(&'a (Key, V)) -> (&'a str, &'a V)>;

    fn into_iter(self) -> Self::IntoIter {
        self.entries.iter().map(|(k, v)| (k.as_str(), v))
    }
}

/// One step of a path into a value: an attribute name or a list index.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Step<'a> {
    Key(&'a str),
    Index(usize),
}

impl<'a> From<&'a str> for Step<'a> {
    fn from(s: &'a str) -> Self {
        Step::Key(s)
    }
}

impl From<usize> for Step<'_> {
    fn from(i: usize) -> Self {
        Step::Index(i)
    }
}

/// How an attribute stands once read: set to a value, not set (so the API default applies),
/// unknown, or withheld as sensitive.
#[derive(Clone, Copy, Debug, PartialEq)]
pub enum Lookup<'a> {
    Set(&'a Value),
    Unset,
    Unknown,
    Sensitive,
}

impl Value {
    pub fn get(&self, key: &str) -> Option<&Value> {
        match self {
            Value::Map(m) => m.get(key),
            _ => None,
        }
    }

    pub fn index(&self, i: usize) -> Option<&Value> {
        match self {
            Value::List(l) => l.get(i),
            _ => None,
        }
    }

    /// Follows a path of keys and indices. SDK blocks are lists of objects (`template[0]`), so
    /// a `Key` step applied to a one-element list looks inside its first element: that lets
    /// the model read `template.service_account` whether a block is a list or a single object.
    pub fn lookup<'s, 'p>(&'s self, path: &[Step<'p>]) -> Lookup<'s> {
        self.follow(path.iter().copied())
    }

    fn follow<'s, 'p>(&'s self, path: impl Iterator<Item = Step<'p>>) -> Lookup<'s> {
        let mut cur = self;
        for step in path {
            let step = &step;
            cur = match (cur, step) {
                (Value::Unknown | Value::UnknownFrom(_), _) => return Lookup::Unknown,
                (Value::Sensitive, _) => return Lookup::Sensitive,
                (Value::Map(m), Step::Key(k)) => match m.get(k) {
                    Some(v) => v,
                    None => return Lookup::Unset,
                },
                (Value::List(l), Step::Key(_)) => match l.first() {
                    Some(Value::Map(m)) => match m.get(step_key(step)) {
                        Some(v) => v,
                        None => return Lookup::Unset,
                    },
                    Some(Value::Unknown | Value::UnknownFrom(_)) => return Lookup::Unknown,
                    _ => return Lookup::Unset,
                },
                (Value::List(l), Step::Index(i)) => match l.get(*i) {
                    Some(v) => v,
                    None => return Lookup::Unset,
                },
                (Value::Null, _) => return Lookup::Unset,
                // A scalar where a block or object belongs: the value is malformed, so what it
                // says cannot be read; unknown rather than a guessed default.
                _ => return Lookup::Unknown,
            };
        }
        match cur {
            Value::Null => Lookup::Unset,
            Value::Unknown | Value::UnknownFrom(_) => Lookup::Unknown,
            Value::Sensitive => Lookup::Sensitive,
            v => Lookup::Set(v),
        }
    }

    /// Shorthand for a `/`-free dotted path of keys (`"template.service_account"`).
    pub fn at(&self, dotted: &str) -> Lookup<'_> {
        // Read on every attribute of every service: no step list is allocated, and the
        // short paths are split by a byte loop (`str::split` sets up a searcher each time).
        let mut rest = Some(dotted);
        self.follow(std::iter::from_fn(move || {
            let r = rest?;
            Some(Step::Key(match r.bytes().position(|b| b == b'.') {
                Some(i) => {
                    rest = Some(&r[i + 1..]);
                    &r[..i]
                }
                None => {
                    rest = None;
                    r
                }
            }))
        }))
    }

    pub fn as_str(&self) -> Option<&str> {
        match self {
            Value::String(s) => Some(s),
            _ => None,
        }
    }

    pub fn as_f64(&self) -> Option<f64> {
        match self {
            Value::Number(n) => Some(*n),
            Value::String(s) => s.trim().parse().ok(),
            _ => None,
        }
    }

    pub fn as_bool(&self) -> Option<bool> {
        match self {
            Value::Bool(b) => Some(*b),
            Value::String(s) if s == "true" => Some(true),
            Value::String(s) if s == "false" => Some(false),
            _ => None,
        }
    }

    pub fn as_list(&self) -> &[Value] {
        match self {
            Value::List(l) => l,
            _ => &[],
        }
    }

    pub fn as_map(&self) -> Option<&Map> {
        match self {
            Value::Map(m) => Some(m),
            _ => None,
        }
    }

    pub fn is_unknown(&self) -> bool {
        matches!(self, Value::Unknown | Value::UnknownFrom(_))
    }

    /// Where an unknown value comes from (an absolute resource attribute), when known.
    pub fn origin(&self) -> Option<&str> {
        match self {
            Value::UnknownFrom(o) => Some(o),
            _ => None,
        }
    }

    /// The origin of the unknown value at a dotted path, when there is one.
    pub fn origin_at(&self, dotted: &str) -> Option<&str> {
        let mut cur = self;
        for key in dotted.split('.') {
            cur = match cur {
                Value::Map(m) => m.get(key)?,
                Value::List(l) => l.first()?.get(key)?,
                Value::UnknownFrom(o) => return Some(o),
                _ => return None,
            };
        }
        cur.origin()
    }

    /// True when the value or anything inside it is unknown.
    pub fn contains_unknown(&self) -> bool {
        match self {
            Value::Unknown | Value::UnknownFrom(_) => true,
            Value::List(l) => l.iter().any(Value::contains_unknown),
            Value::Map(m) => m.values().any(Value::contains_unknown),
            _ => false,
        }
    }

    /// True when the value or anything inside it was withheld as sensitive.
    pub fn contains_sensitive(&self) -> bool {
        match self {
            Value::Sensitive => true,
            Value::List(l) => l.iter().any(Value::contains_sensitive),
            Value::Map(m) => m.values().any(Value::contains_sensitive),
            _ => false,
        }
    }

    pub fn type_name(&self) -> &'static str {
        match self {
            Value::Null => "null",
            Value::Bool(_) => "bool",
            Value::Number(_) => "number",
            Value::String(_) => "string",
            Value::List(_) => "list",
            Value::Map(_) => "object",
            Value::Unknown | Value::UnknownFrom(_) => "unknown",
            Value::Sensitive => "sensitive",
        }
    }

    /// Converts parsed JSON into a Value, applying unknown and sensitive marks that have the
    /// same shape as the value (Terraform's `after_unknown` / `after_sensitive`).
    pub fn from_json_marked(
        v: &serde_json::Value,
        unknown: Option<&serde_json::Value>,
        sensitive: Option<&serde_json::Value>,
    ) -> Value {
        let shape = match v {
            serde_json::Value::Object(_) => Shape::Object,
            serde_json::Value::Array(_) => Shape::List,
            serde_json::Value::Null => Shape::Absent,
            _ => Shape::Scalar,
        };
        if is_true(sensitive) || !sensitive_mark_fits(shape, sensitive) {
            return Value::Sensitive;
        }
        if is_true(unknown) {
            return Value::Unknown;
        }
        match v {
            serde_json::Value::Null => Value::Null,
            serde_json::Value::Bool(b) => Value::Bool(*b),
            serde_json::Value::Number(n) => Value::Number(n.as_f64().unwrap_or(0.0)),
            serde_json::Value::String(s) => Value::String(s.clone()),
            serde_json::Value::Array(items) => Value::List(
                items
                    .iter()
                    .enumerate()
                    .map(|(i, item)| {
                        Value::from_json_marked(
                            item,
                            unknown.and_then(|u| u.get(i)),
                            sensitive.and_then(|s| s.get(i)),
                        )
                    })
                    .collect(),
            ),
            serde_json::Value::Object(obj) => {
                let mut map: Map = obj
                    .iter()
                    .map(|(k, item)| {
                        (
                            k.as_str(),
                            Value::from_json_marked(
                                item,
                                unknown.and_then(|u| u.get(k)),
                                sensitive.and_then(|s| s.get(k)),
                            ),
                        )
                    })
                    .collect();
                // Unknown attributes are omitted from `after` and only named in `after_unknown`.
                if let Some(serde_json::Value::Object(u)) = unknown {
                    for (k, mark) in u {
                        if !map.contains_key(k) {
                            let filled = unknown_only(mark);
                            if let Some(filled) = filled {
                                map.insert(k.as_str(), filled);
                            }
                        }
                    }
                }
                Value::Map(map)
            }
        }
    }

    pub fn from_json(v: &serde_json::Value) -> Value {
        Value::from_json_marked(v, None, None)
    }

    /// A JSON rendering for internal use (tests, debugging). Unknown and sensitive render as
    /// strings that cannot be mistaken for data.
    pub fn to_json(&self) -> serde_json::Value {
        match self {
            Value::Null => serde_json::Value::Null,
            Value::Bool(b) => serde_json::Value::Bool(*b),
            Value::Number(n) => serde_json::Number::from_f64(*n)
                .map(serde_json::Value::Number)
                .unwrap_or(serde_json::Value::Null),
            Value::String(s) => serde_json::Value::String(s.clone()),
            Value::List(l) => serde_json::Value::Array(l.iter().map(Value::to_json).collect()),
            Value::Map(m) => serde_json::Value::Object(
                m.iter()
                    .map(|(k, v)| (k.to_string(), v.to_json()))
                    .collect(),
            ),
            Value::Unknown | Value::UnknownFrom(_) => {
                serde_json::Value::String("(known after apply)".into())
            }
            Value::Sensitive => serde_json::Value::String("(sensitive)".into()),
        }
    }
}

fn step_key<'a>(step: &Step<'a>) -> &'a str {
    match step {
        Step::Key(k) => k,
        Step::Index(_) => "",
    }
}

impl Value {
    /// An empty list or object.
    pub fn is_empty_container(&self) -> bool {
        match self {
            Value::List(items) => items.is_empty(),
            Value::Map(m) => m.is_empty(),
            _ => false,
        }
    }
}

/// Whether [`Value::apply_marks`] leaves `value` (an empty list or object) as it is under
/// these marks: no mark, `false`, `null`, or a mark tree that marks nothing in it.
pub(crate) fn marks_leave_empty(
    value: &Value,
    unknown: Option<&serde_json::Value>,
    sensitive: Option<&serde_json::Value>,
) -> bool {
    use serde_json::Value as J;
    let unmarked = |mark: Option<&J>| match mark {
        None | Some(J::Null | J::Bool(false)) => true,
        Some(J::Array(a)) => a.is_empty(),
        Some(J::Object(o)) => o.is_empty(),
        _ => false,
    };
    let shape = match value {
        Value::Map(_) => Shape::Object,
        Value::List(_) => Shape::List,
        _ => return false,
    };
    unmarked(unknown) && !is_true(sensitive) && sensitive_mark_fits(shape, sensitive)
}

fn is_true(mark: Option<&serde_json::Value>) -> bool {
    matches!(mark, Some(serde_json::Value::Bool(true)))
}

/// Whether a sensitivity mark has a shape Terraform writes for `value`: absent, a boolean,
/// null, an object over an object, a list over a list, or an empty `{}`/`[]`. Anything else
/// (a string, a number, a list of marks over an object) is a malformed plan, and the value is
/// masked whole rather than shown: a broken mark must never make a secret printable.
fn sensitive_mark_fits(value: Shape, mark: Option<&serde_json::Value>) -> bool {
    use serde_json::Value as J;
    match (mark, value) {
        (None | Some(J::Bool(_) | J::Null), _) => true,
        (Some(J::Object(m)), _) if m.is_empty() => true,
        (Some(J::Array(a)), _) if a.is_empty() => true,
        (Some(J::Object(_)), Shape::Object) | (Some(J::Array(_)), Shape::List) => true,
        // A mark tree over a value that is not there yet (unknown, null) marks nothing shown.
        (Some(J::Object(_) | J::Array(_)), Shape::Absent) => true,
        _ => false,
    }
}

/// What a mark tree is laid over.
#[derive(Clone, Copy)]
enum Shape {
    Object,
    List,
    Absent,
    Scalar,
}

/// Builds the value of an attribute that exists only in the unknown marks: `true` is a wholly
/// unknown value; an object or list of marks is a partly unknown one.
fn unknown_only(mark: &serde_json::Value) -> Option<Value> {
    match mark {
        serde_json::Value::Bool(true) => Some(Value::Unknown),
        serde_json::Value::Object(m) => {
            let inner: Map = m
                .iter()
                .filter_map(|(k, v)| unknown_only(v).map(|v| (k.clone(), v)))
                .collect();
            Some(Value::Map(inner))
        }
        serde_json::Value::Array(items) => Some(Value::List(
            items
                .iter()
                .map(|v| unknown_only(v).unwrap_or(Value::Null))
                .collect(),
        )),
        _ => None,
    }
}

impl fmt::Display for Value {
    /// Display for values that are safe to show (the model decides what is shown). Sensitive
    /// content never reaches here: it was dropped at load.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Value::Null => write!(f, "null"),
            Value::Bool(b) => write!(f, "{b}"),
            Value::Number(n) => write!(f, "{n}"),
            Value::String(s) => write!(f, "{s}"),
            Value::Unknown | Value::UnknownFrom(_) => write!(f, "(known after apply)"),
            Value::Sensitive => write!(f, "(sensitive)"),
            other => write!(f, "{}", other.to_json()),
        }
    }
}

/// Attributes of resources that never matter to parity but are large in plans (API status,
/// revision bookkeeping): skipped while parsing so they cost neither time nor memory.
pub const SKIPPED_ATTRIBUTES: &[&str] = &[
    "conditions",
    "terminal_condition",
    "traffic_statuses",
    "status",
    "latest_created_revision",
    "latest_ready_revision",
    "etag",
    "uid",
    "create_time",
    "update_time",
    "delete_time",
    "expire_time",
    "creator",
    "last_modifier",
    "observed_generation",
    "reconciling",
    "generation",
    "build_config",
    "binary_authorization",
    "server_ca_cert",
    "ip_address",
    "replica_configuration",
    "settings_version",
];

/// Parses JSON straight into a [`Value`], without an intermediate `serde_json::Value`. At the
/// top level, attributes listed in `skip` are passed over unparsed.
pub struct ValueSeed<'s> {
    pub skip: &'s [&'s str],
}

impl<'de> serde::de::DeserializeSeed<'de> for ValueSeed<'_> {
    type Value = Value;

    fn deserialize<D: serde::Deserializer<'de>>(self, d: D) -> Result<Value, D::Error> {
        d.deserialize_any(ValueVisitor { skip: self.skip })
    }
}

impl<'de> serde::Deserialize<'de> for Value {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Value, D::Error> {
        d.deserialize_any(ValueVisitor { skip: &[] })
    }
}

struct ValueVisitor<'s> {
    skip: &'s [&'s str],
}

impl<'de> serde::de::Visitor<'de> for ValueVisitor<'_> {
    type Value = Value;

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("a JSON value")
    }

    fn visit_unit<E>(self) -> Result<Value, E> {
        Ok(Value::Null)
    }

    fn visit_none<E>(self) -> Result<Value, E> {
        Ok(Value::Null)
    }

    fn visit_bool<E>(self, b: bool) -> Result<Value, E> {
        Ok(Value::Bool(b))
    }

    fn visit_i64<E>(self, n: i64) -> Result<Value, E> {
        Ok(Value::Number(n as f64))
    }

    fn visit_u64<E>(self, n: u64) -> Result<Value, E> {
        Ok(Value::Number(n as f64))
    }

    fn visit_f64<E>(self, n: f64) -> Result<Value, E> {
        Ok(Value::Number(n))
    }

    fn visit_str<E>(self, s: &str) -> Result<Value, E> {
        Ok(Value::String(s.to_string()))
    }

    fn visit_string<E>(self, s: String) -> Result<Value, E> {
        Ok(Value::String(s))
    }

    fn visit_seq<A: serde::de::SeqAccess<'de>>(self, mut seq: A) -> Result<Value, A::Error> {
        let stack = Scratch::enter(&LIST_SCRATCH);
        while let Some(v) = seq.next_element::<Value>()? {
            stack.push(v);
        }
        Ok(Value::List(stack.take()))
    }

    fn visit_map<A: serde::de::MapAccess<'de>>(self, mut map: A) -> Result<Value, A::Error> {
        let stack = Scratch::enter(&MAP_SCRATCH);
        while let Some(key) = map.next_key::<std::borrow::Cow<'de, str>>()? {
            if self.skip.contains(&key.as_ref()) {
                map.next_value::<serde::de::IgnoredAny>()?;
                continue;
            }
            let v = map.next_value::<Value>()?;
            stack.push((Key::from(key.as_ref()), v));
        }
        Ok(Value::Map(Map::from_unsorted(stack.take())))
    }
}

// Elements of the lists and objects being parsed, kept on one stack per thread: each value
// then gets a vector of exactly its size, allocated once, instead of one grown by doubling
// and shrunk (three or four reallocations for most objects of a plan).
thread_local! {
    static LIST_SCRATCH: std::cell::RefCell<Vec<Value>> = const { std::cell::RefCell::new(Vec::new()) };
    static MAP_SCRATCH: std::cell::RefCell<Vec<(Key, Value)>> = const { std::cell::RefCell::new(Vec::new()) };
}

/// One container's part of a scratch stack: from `start` to the top. Nested containers push
/// and take their own parts above it before it continues; dropped early (an error), it
/// truncates the stack back to where it started.
struct Scratch<T: 'static> {
    key: &'static std::thread::LocalKey<std::cell::RefCell<Vec<T>>>,
    start: usize,
}

impl<T: 'static> Scratch<T> {
    fn enter(key: &'static std::thread::LocalKey<std::cell::RefCell<Vec<T>>>) -> Self {
        let start = key.with(|s| s.borrow().len());
        Scratch { key, start }
    }

    fn push(&self, item: T) {
        self.key.with(|s| s.borrow_mut().push(item));
    }

    fn take(self) -> Vec<T> {
        self.key
            .with(|s| s.borrow_mut().drain(self.start..).collect())
    }
}

impl<T: 'static> Drop for Scratch<T> {
    fn drop(&mut self) {
        // After `take` this is a no-op; after an error it drops the partial container.
        let _ = self.key.try_with(|s| {
            if let Ok(mut s) = s.try_borrow_mut() {
                s.truncate(self.start);
            }
        });
    }
}

impl Value {
    /// Applies Terraform's unknown marks (`after_unknown`: `true` where unknown, also for
    /// attributes absent from the value) and sensitive marks (`true` where sensitive).
    pub fn apply_marks(
        &mut self,
        unknown: Option<&serde_json::Value>,
        sensitive: Option<&serde_json::Value>,
    ) {
        self.mark(unknown, sensitive, true);
    }

    /// [`Value::apply_marks`] for values read with their empty lists and objects left out:
    /// an absent attribute whose unknown marks mark nothing (`[]`, `{}`) stays absent
    /// rather than coming back as an empty value.
    pub fn apply_marks_leaving_out_empty(
        &mut self,
        unknown: Option<&serde_json::Value>,
        sensitive: Option<&serde_json::Value>,
    ) {
        self.mark(unknown, sensitive, false);
    }

    fn mark(
        &mut self,
        unknown: Option<&serde_json::Value>,
        sensitive: Option<&serde_json::Value>,
        add_empty: bool,
    ) {
        let shape = match self {
            Value::Map(_) => Shape::Object,
            Value::List(_) => Shape::List,
            Value::Null | Value::Unknown | Value::UnknownFrom(_) => Shape::Absent,
            _ => Shape::Scalar,
        };
        if is_true(sensitive) || !sensitive_mark_fits(shape, sensitive) {
            *self = Value::Sensitive;
            return;
        }
        if is_true(unknown) {
            *self = Value::Unknown;
            return;
        }
        match self {
            Value::List(items) => {
                for (i, item) in items.iter_mut().enumerate() {
                    item.mark(
                        unknown.and_then(|u| u.get(i)),
                        sensitive.and_then(|s| s.get(i)),
                        add_empty,
                    );
                }
            }
            Value::Map(m) => {
                for (k, item) in m.iter_mut() {
                    let (u, s) = (
                        unknown.and_then(|u| u.get(k)),
                        sensitive.and_then(|s| s.get(k)),
                    );
                    if u.is_some() || s.is_some() {
                        item.mark(u, s, add_empty);
                    }
                }
                if let Some(serde_json::Value::Object(u)) = unknown {
                    for (k, mark) in u {
                        if !m.contains_key(k)
                            && let Some(filled) = unknown_only(mark)
                            && (add_empty || !filled.is_empty_container())
                        {
                            m.insert(k.as_str(), filled);
                        }
                    }
                }
            }
            _ => {}
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn omitted_unknown_attributes_become_unknown_values() {
        let after = json!({"name": "api", "template": [{"containers": [{"image": "x"}]}]});
        let unknown = json!({"uri": true, "template": [{"service_account": true}]});
        let v = Value::from_json_marked(&after, Some(&unknown), None);
        assert_eq!(v.at("uri"), Lookup::Unknown);
        assert_eq!(v.at("template.service_account"), Lookup::Unknown);
        assert_eq!(
            v.at("name"),
            Lookup::Set(&Value::String("api".into())),
            "known attributes stay"
        );
        assert_eq!(v.at("ingress"), Lookup::Unset);
    }

    #[test]
    fn sensitive_leaves_are_dropped() {
        let after = json!({"secret_data": "hunter2", "list": ["a", "b"]});
        let sens = json!({"secret_data": true, "list": [false, true]});
        let v = Value::from_json_marked(&after, None, Some(&sens));
        assert_eq!(v.get("secret_data"), Some(&Value::Sensitive));
        assert_eq!(v.get("list").unwrap().index(1), Some(&Value::Sensitive));
        assert!(!format!("{v:?}").contains("hunter2"));
    }

    #[test]
    fn malformed_sensitive_marks_mask_instead_of_showing() {
        let after = json!({"a": "s1", "b": ["s2"], "c": {"k": "s3"}, "d": "ok"});
        let sens = json!({"a": "yes", "b": {"0": true}, "c": [true], "d": false});
        let v = Value::from_json_marked(&after, None, Some(&sens));
        for k in ["a", "b", "c"] {
            assert_eq!(v.get(k), Some(&Value::Sensitive), "{k}");
        }
        assert_eq!(v.get("d"), Some(&Value::String("ok".into())));
        let whole = Value::from_json_marked(&after, None, Some(&json!(1)));
        assert_eq!(whole, Value::Sensitive);
    }

    #[test]
    fn unknown_list_slots_are_aligned() {
        let after = json!({"args": ["a", null]});
        let unknown = json!({"args": [false, true]});
        let v = Value::from_json_marked(&after, Some(&unknown), None);
        assert_eq!(v.get("args").unwrap().index(1), Some(&Value::Unknown));
        assert_eq!(
            v.get("args").unwrap().index(0),
            Some(&Value::String("a".into()))
        );
    }

    #[test]
    fn lookup_through_blocks_and_null() {
        let v = Value::from_json(&json!({"template": [{"scaling": [], "sa": null}]}));
        assert_eq!(v.at("template.scaling.min_instance_count"), Lookup::Unset);
        assert_eq!(v.at("template.sa"), Lookup::Unset);
    }
}
