//! Resource values parsed straight from JSON text into [`Value`]s: the hot path of plan and
//! state loading (about a fifth of a plan's bytes, in millions of small objects).
//!
//! It accepts only what serde_json accepts, and gives up (`None`) on anything else or on
//! anything it is unsure of (deep nesting, unusual escapes, large or fractional numbers are
//! handed to serde_json's own number parser). The caller then parses with serde_json, which
//! gives the same value or the error with its position: this parser never decides an error.
//! Compared with a serde visitor it saves a dispatch per value, the key's conversions and the
//! scratch stacks' thread-local lookups, and it checks key order while it reads the keys.

use std::borrow::Cow;

use crate::value::{Key, Map, Value, key_order, marks_leave_empty};

/// The unknown and sensitive marks over the value being read (`after_unknown`,
/// `after_sensitive`), when empty values are dropped: an empty value they mark stays.
#[derive(Clone, Copy, Default)]
pub struct Marks<'m> {
    pub unknown: Option<&'m serde_json::Value>,
    pub sensitive: Option<&'m serde_json::Value>,
}

impl<'m> Marks<'m> {
    fn key(self, key: &str) -> Self {
        Marks {
            unknown: self.unknown.and_then(|m| m.get(key)),
            sensitive: self.sensitive.and_then(|m| m.get(key)),
        }
    }

    fn index(self, i: usize) -> Self {
        Marks {
            unknown: self.unknown.and_then(|m| m.get(i)),
            sensitive: self.sensitive.and_then(|m| m.get(i)),
        }
    }
}

/// Whether an object keeps its entries whose value is an empty list or object.
#[derive(Clone, Copy)]
pub enum Empties<'m> {
    Keep,
    /// Dropped, including objects left empty by it, unless the marks mark them; list
    /// elements are never dropped. An object whose keys are not in order (a repeated key,
    /// which Terraform never writes) is left to serde_json, which keeps everything.
    Drop(Marks<'m>),
}

/// Which fields of the top-level object (a resource's own attributes) are read.
#[derive(Clone, Copy)]
pub enum Attributes<'s> {
    /// All but these.
    Except(&'s Names),
    /// Only these.
    Only(&'s Names),
}

/// Attribute names with their bits by [`skip_hash`], worked out when compiling: a plan's
/// tens of thousands of resources are each parsed with one of a few such lists.
pub struct Names {
    list: &'static [&'static str],
    filter: [u64; 4],
}

impl Names {
    pub const NONE: Names = Names::new(&[]);

    pub const fn new(list: &'static [&'static str]) -> Names {
        let mut filter = [0; 4];
        let mut i = 0;
        while i < list.len() {
            let h = skip_hash(list[i].as_bytes());
            filter[h / 64] |= 1 << (h % 64);
            i += 1;
        }
        Names { list, filter }
    }
}

/// The attributes a full read leaves out.
pub const SKIPPED: Names = Names::new(crate::value::SKIPPED_ATTRIBUTES);

/// Parses `text`, one JSON value with optional whitespace around it, reading the fields of
/// the top-level object that `attributes` names (the others are checked, not built). `None`
/// when serde_json must decide: serde_json keeps empty values and every attribute but
/// [`SKIPPED_ATTRIBUTES`](crate::value::SKIPPED_ATTRIBUTES), which can only cost memory, never
/// change what is read.
pub fn parse(text: &str, attributes: Attributes<'_>, empties: Empties<'_>) -> Option<Value> {
    let (drop, marks) = match empties {
        Empties::Keep => (false, Marks::default()),
        Empties::Drop(marks) => (true, marks),
    };
    let (skip, only) = match attributes {
        Attributes::Except(names) => (names, false),
        Attributes::Only(names) => (names, true),
    };
    let mut p = Parser::new(text, skip, only, drop);
    let v = p.value(marks)?;
    p.ws();
    (p.i == p.b.len()).then_some(v)
}

/// `text`, one JSON string and nothing around it, unescaped: borrowed when it holds no escape.
/// `None` for anything else, and for what [`parse`] leaves to serde_json.
pub fn string(text: &str) -> Option<Cow<'_, str>> {
    if !text.starts_with('"') {
        return None;
    }
    let mut p = Parser::new(text, &Names::NONE, false, false);
    let s = p.string()?;
    (p.i == text.len()).then_some(s)
}

/// Nesting this parser goes to before leaving the text to serde_json, whose limit is 128.
const MAX_DEPTH: usize = 100;

/// Integers of up to this many digits are exact in an f64 and are converted here.
const EXACT_DIGITS: usize = 15;

struct Parser<'a, 's> {
    drop: bool,
    text: &'a str,
    b: &'a [u8],
    i: usize,
    depth: usize,
    skip: &'s [&'s str],
    /// `skip` names the fields read, not those skipped.
    only: bool,
    /// The bits of the names in `skip` by [`skip_hash`]: most keys are passed at one test.
    skip_filter: [u64; 4],
    /// Elements of the arrays and fields of the objects being read, innermost on top: each
    /// container then gets a vector of exactly its size.
    items: Vec<Value>,
    entries: Vec<(Key, Value)>,
}

impl<'a, 's> Parser<'a, 's> {
    /// A parser at the start of `text`, reading (`only`) or skipping the top-level fields
    /// `skip` names, dropping empty values when `drop` says so.
    fn new(text: &'a str, skip: &'s Names, only: bool, drop: bool) -> Self {
        Parser {
            drop,
            text,
            b: text.as_bytes(),
            i: 0,
            depth: 0,
            skip: skip.list,
            only,
            skip_filter: skip.filter,
            items: Vec::new(),
            entries: Vec::new(),
        }
    }

    fn ws(&mut self) {
        while let Some(b' ' | b'\n' | b'\r' | b'\t') = self.b.get(self.i) {
            self.i += 1;
        }
    }

    fn peek(&mut self) -> Option<u8> {
        self.ws();
        self.b.get(self.i).copied()
    }

    fn value(&mut self, marks: Marks<'_>) -> Option<Value> {
        match self.peek()? {
            b'{' => self.object(marks),
            b'[' => self.array(marks),
            b'"' => Some(Value::String(self.string()?.into_owned())),
            b't' => self.literal(b"true").then_some(Value::Bool(true)),
            b'f' => self.literal(b"false").then_some(Value::Bool(false)),
            b'n' => self.literal(b"null").then_some(Value::Null),
            _ => self.number().map(Value::Number),
        }
    }

    /// Reads a value without building it, as strictly as [`Parser::value`].
    fn skip_value(&mut self) -> Option<()> {
        match self.peek()? {
            b'{' => self.container(b'}', |p| {
                if p.b.get(p.i) != Some(&b'"') {
                    return None;
                }
                p.string()?;
                p.colon()?;
                p.skip_value()
            }),
            b'[' => self.container(b']', Self::skip_value),
            b'"' => self.string().map(drop),
            b't' => self.literal(b"true").then_some(()),
            b'f' => self.literal(b"false").then_some(()),
            b'n' => self.literal(b"null").then_some(()),
            _ => self.number_end().map(drop),
        }
    }

    fn skipped(&self, key: &str) -> bool {
        let h = skip_hash(key.as_bytes());
        let listed = self.skip_filter[h / 64] >> (h % 64) & 1 == 1 && self.skip.contains(&key);
        listed != self.only
    }

    fn literal(&mut self, word: &[u8]) -> bool {
        let found = self.b[self.i..].starts_with(word);
        self.i += word.len();
        found
    }

    fn colon(&mut self) -> Option<()> {
        (self.peek()? == b':').then(|| self.i += 1)
    }

    /// Walks a container opened at `self.i` and closed by `close`, calling `member` for each
    /// member (after whitespace); leaves `self.i` after the closing bracket.
    fn container(
        &mut self,
        close: u8,
        mut member: impl FnMut(&mut Self) -> Option<()>,
    ) -> Option<()> {
        self.depth += 1;
        if self.depth > MAX_DEPTH {
            return None;
        }
        self.i += 1;
        if self.peek()? == close {
            self.i += 1;
            self.depth -= 1;
            return Some(());
        }
        loop {
            self.ws();
            member(self)?;
            match self.peek()? {
                b',' => self.i += 1,
                c if c == close => break,
                _ => return None,
            }
        }
        self.i += 1;
        self.depth -= 1;
        Some(())
    }

    fn object(&mut self, marks: Marks<'_>) -> Option<Value> {
        let start = self.entries.len();
        let mut sorted = true;
        // The last key read, kept or dropped, for the order check.
        let mut last: Option<Cow<'a, str>> = None;
        self.container(b'}', |p| {
            if p.b.get(p.i) != Some(&b'"') {
                return None;
            }
            let key = p.string()?;
            p.colon()?;
            // Only the resource's own attributes are skipped, not keys of the same name in
            // nested maps and blocks (a label named `status`).
            if p.depth == 1 && p.skipped(&key) {
                return p.skip_value();
            }
            let inner = if p.drop { marks.key(&key) } else { marks };
            let value = p.value(inner)?;
            if let Some(last) = &last {
                sorted &= key_order(last.as_bytes(), key.as_bytes()).is_lt();
            }
            if p.drop
                && value.is_empty_container()
                && marks_leave_empty(&value, inner.unknown, inner.sensitive)
            {
                // Out of order, a dropped value might have been the one a repeated key keeps.
                if !sorted {
                    return None;
                }
            } else {
                p.entries.push((Key::from(key.as_ref()), value));
            }
            last = Some(key);
            Some(())
        })?;
        let entries: Vec<(Key, Value)> = take_top(&mut self.entries, start);
        Some(Value::Map(if sorted {
            Map::from_sorted(entries)
        } else {
            Map::from_unsorted(entries)
        }))
    }

    fn array(&mut self, marks: Marks<'_>) -> Option<Value> {
        let start = self.items.len();
        let mut i = 0;
        self.container(b']', |p| {
            let inner = if p.drop { marks.index(i) } else { marks };
            i += 1;
            let item = p.value(inner)?;
            p.items.push(item);
            Some(())
        })?;
        Some(Value::List(take_top(&mut self.items, start)))
    }

    /// The string starting at `self.i` (a quote), unescaped; borrowed when it has no escape.
    fn string(&mut self) -> Option<Cow<'a, str>> {
        let start = self.i + 1;
        let mut j = start;
        let mut owned: Option<String> = None;
        let mut from = start;
        loop {
            j += special_offset(&self.b[j..])?;
            match self.b[j] {
                b'"' => {
                    self.i = j + 1;
                    return Some(match owned {
                        None => Cow::Borrowed(&self.text[start..j]),
                        Some(mut s) => {
                            s.push_str(&self.text[from..j]);
                            Cow::Owned(s)
                        }
                    });
                }
                b'\\' => {
                    let s = owned.get_or_insert_with(String::new);
                    s.push_str(&self.text[from..j]);
                    j = unescape(self.b, j, s)?;
                    from = j;
                }
                // A control character, which JSON strings may not hold unescaped.
                _ => return None,
            }
        }
    }

    /// Where the number starting at `self.i` ends, checked against JSON's grammar, and
    /// whether it is a plain integer.
    fn number_end(&mut self) -> Option<(usize, bool)> {
        let b = self.b;
        let mut j = self.i;
        if b.get(j) == Some(&b'-') {
            j += 1;
        }
        let digits = |mut j: usize| {
            let from = j;
            while b.get(j).is_some_and(u8::is_ascii_digit) {
                j += 1;
            }
            (j > from).then_some(j)
        };
        match b.get(j)? {
            b'0' => j += 1,
            b'1'..=b'9' => j = digits(j)?,
            _ => return None,
        }
        let mut integer = true;
        if b.get(j) == Some(&b'.') {
            j = digits(j + 1)?;
            integer = false;
        }
        if let Some(b'e' | b'E') = b.get(j) {
            j += 1;
            if let Some(b'+' | b'-') = b.get(j) {
                j += 1;
            }
            j = digits(j)?;
            integer = false;
        }
        self.i = j;
        Some((j, integer))
    }

    fn number(&mut self) -> Option<f64> {
        let start = self.i;
        let (end, integer) = self.number_end()?;
        let text = &self.text[start..end];
        let (negative, digits) = match text.strip_prefix('-') {
            Some(rest) => (true, rest),
            None => (false, text),
        };
        if integer && digits.len() <= EXACT_DIGITS && !(negative && digits == "0") {
            let n = digits
                .bytes()
                .fold(0u64, |n, d| n * 10 + u64::from(d - b'0'));
            let n = n as f64;
            return Some(if negative { -n } else { n });
        }
        // Fractions, exponents, long integers and `-0`: serde_json's own conversion, so that
        // both parsers give the same bits.
        serde_json::from_str::<f64>(text).ok()
    }
}

/// The top of a scratch stack from `start`, moved (one copy) into a vector of exactly its
/// size; the stack keeps its room. (`split_off(0)` would hand over the stack's whole buffer.)
fn take_top<T>(stack: &mut Vec<T>, start: usize) -> Vec<T> {
    if start > 0 {
        return stack.split_off(start);
    }
    let mut top = Vec::with_capacity(stack.len());
    top.append(stack);
    top
}

/// A key's bit in a 256-bit filter, from its length and its first and last bytes.
const fn skip_hash(key: &[u8]) -> usize {
    let (first, last) = match key {
        [] => (0, 0),
        [f, .., l] => (*f as usize, *l as usize),
        [f] => (*f as usize, *f as usize),
    };
    let h = key.len().wrapping_mul(37) ^ first.wrapping_mul(11) ^ last;
    h & 255
}

/// The offset in `b` of the first quote, backslash or control character, eight bytes at a
/// time; `None` when there is none (an unterminated string).
fn special_offset(b: &[u8]) -> Option<usize> {
    const ONES: u64 = 0x0101_0101_0101_0101;
    const HIGH: u64 = 0x8080_8080_8080_8080;
    let mut k = 0;
    while let Some(chunk) = b.get(k..k + 8) {
        let w = u64::from_le_bytes(chunk.try_into().expect("8 bytes"));
        let zero = |v: u64| v.wrapping_sub(ONES) & !v & HIGH;
        // Exact for the lowest flagged byte, which is the one taken.
        let found = zero(w ^ (ONES * u64::from(b'"')))
            | zero(w ^ (ONES * u64::from(b'\\')))
            | (w.wrapping_sub(ONES * 0x20) & !w & HIGH);
        if found != 0 {
            return Some(k + found.trailing_zeros() as usize / 8);
        }
        k += 8;
    }
    b[k..]
        .iter()
        .position(|&c| c == b'"' || c == b'\\' || c < 0x20)
        .map(|p| k + p)
}

/// Appends the escape at `b[j]` (a backslash) to `out`; returns where it ends. `None` for an
/// invalid escape, and for surrogates not in a well-formed pair, left to serde_json.
fn unescape(b: &[u8], j: usize, out: &mut String) -> Option<usize> {
    let c = match b.get(j + 1)? {
        b'"' => '"',
        b'\\' => '\\',
        b'/' => '/',
        b'b' => '\u{8}',
        b'f' => '\u{c}',
        b'n' => '\n',
        b'r' => '\r',
        b't' => '\t',
        b'u' => {
            let hi = hex4(b, j + 2)?;
            if (0xD800..0xDC00).contains(&hi) {
                if b.get(j + 6..j + 8)? != &b"\\u"[..] {
                    return None;
                }
                let lo = hex4(b, j + 8)?;
                if !(0xDC00..0xE000).contains(&lo) {
                    return None;
                }
                out.push(char::from_u32(
                    0x10000 + ((hi - 0xD800) << 10) + (lo - 0xDC00),
                )?);
                return Some(j + 12);
            }
            out.push(char::from_u32(hi)?);
            return Some(j + 6);
        }
        _ => return None,
    };
    out.push(c);
    Some(j + 2)
}

fn hex4(b: &[u8], j: usize) -> Option<u32> {
    b.get(j..j + 4)?.iter().try_fold(0u32, |n, &c| {
        let d = (c as char).to_digit(16)?;
        Some(n * 16 + d)
    })
}

#[cfg(test)]
mod tests {
    use super::{Attributes, Empties, Marks, Names, SKIPPED, parse};
    use crate::value::{SKIPPED_ATTRIBUTES, Value, ValueSeed};
    use serde::de::DeserializeSeed;
    use std::borrow::Cow;

    /// The serde_json path this parser stands in for.
    fn by_serde(text: &str, skip: &[&str]) -> Result<Value, String> {
        let mut de = serde_json::Deserializer::from_str(text);
        ValueSeed { skip }
            .deserialize(&mut de)
            .and_then(|v| de.end().map(|_| v))
            .map_err(|e| e.to_string())
    }

    /// Same value as serde_json, bit for bit in numbers, where serde_json parses; gives up
    /// where serde_json fails.
    fn agrees(text: &str) {
        let fast = parse(text, Attributes::Except(&SKIPPED), Empties::Keep);
        let slow = by_serde(text, SKIPPED_ATTRIBUTES);
        match (&fast, &slow) {
            (Some(f), Ok(s)) => {
                assert_eq!(f, s, "{text}");
                assert_eq!(number_bits(f), number_bits(s), "{text}");
            }
            (None, Err(_)) => {}
            (None, Ok(s)) => panic!("gave up on {text:?}; serde_json: {s:?}"),
            (Some(f), Err(e)) => panic!("accepted {text:?} as {f:?}; serde_json: {e}"),
        }
    }

    /// For what this parser leaves to serde_json on purpose (surrogates out of pairs, deep
    /// nesting): never a different answer.
    fn never_differs(text: &str) {
        if let Some(f) = parse(text, Attributes::Except(&SKIPPED), Empties::Keep) {
            assert_eq!(Ok(f), by_serde(text, SKIPPED_ATTRIBUTES), "{text}");
        }
    }

    fn number_bits(v: &Value) -> Vec<u64> {
        let mut out = Vec::new();
        fn walk(v: &Value, out: &mut Vec<u64>) {
            match v {
                Value::Number(n) => out.push(n.to_bits()),
                Value::List(items) => items.iter().for_each(|i| walk(i, out)),
                Value::Map(m) => m.iter().for_each(|(_, i)| walk(i, out)),
                _ => {}
            }
        }
        walk(v, &mut out);
        out
    }

    #[test]
    fn gives_what_serde_json_gives_on_resource_values() {
        let text = r#"{"name": "svc", "template": [{"containers": [{"env": [
            {"name": "A", "value": "x", "value_source": []},
            {"name": "B", "value": "", "value_source": [{"secret_key_ref": [{"secret": "s", "version": "latest"}]}]}
          ], "resources": [{"cpu_idle": true, "limits": {"cpu": "1", "memory": "512Mi"}}],
          "ports": [{"container_port": 8080, "name": "http1"}]}],
          "max_instance_request_concurrency": 80, "scaling": [{"max_instance_count": 10, "min_instance_count": 0}],
          "service_account": "a@b.iam.gserviceaccount.com", "timeout": "300s", "vpc_access": []}],
          "conditions": [{"state": "x"}], "etag": "\"abc\"", "labels": {"z": "1", "a": "2"},
          "tags": null, "deletion_protection": false, "percent": -1.5e2, "big": 12345678901234567890}"#;
        agrees(text);
        let v = parse(text, Attributes::Except(&SKIPPED), Empties::Keep).expect("parses");
        let Value::Map(m) = &v else { panic!() };
        assert!(m.get("conditions").is_none() && m.get("etag").is_none());
        let labels = v.get("labels").expect("labels");
        assert_eq!(labels.get("a").and_then(Value::as_str), Some("2"));
    }

    #[test]
    fn strings_and_escapes() {
        for text in [
            r#""plain""#,
            r#""""#,
            r#""a\"b\\c\/d\be\ff\ng\rh\ti""#,
            r#""\u0041\u00e9\u4e2d\ud83d\ude00 tail""#,
            r#""é中😀 and a longer string that crosses the eight byte blocks""#,
            r#""\u12""#,
            r#""\uzzzz""#,
            r#""\x""#,
            "\"tab\there\"",
            "\"new\nline\"",
            "\"unterminated",
            "\"unterminated\\",
            r#"{"k\u0065y": 1, "key": 2}"#,
        ] {
            agrees(text);
            // One string token alone: what serde_json reads, or nothing.
            match (super::string(text), serde_json::from_str::<String>(text)) {
                (Some(fast), Ok(slow)) => assert_eq!(fast, slow, "{text}"),
                (Some(fast), Err(e)) => panic!("read {text:?} as {fast:?}; serde_json: {e}"),
                (None, Ok(slow)) => panic!("gave up on {text:?}; serde_json: {slow:?}"),
                (None, Err(_)) => {}
            }
        }
        assert_eq!(
            super::string(r#""module.a[\"x\"]""#).as_deref(),
            Some(r#"module.a["x"]"#)
        );
        assert!(matches!(
            super::string(r#""google_x.y""#),
            Some(Cow::Borrowed("google_x.y"))
        ));
        assert_eq!(super::string(r#""a" "#), None, "anything after the string");
        assert_eq!(super::string("null"), None);
        for text in [
            r#""\ud83d""#,
            r#""\ud83dx""#,
            r#""\ude00""#,
            r#""\ud83d\u0041""#,
        ] {
            never_differs(text);
        }
        assert_eq!(
            parse(
                r#""\u0041\ud83d\ude00""#,
                Attributes::Except(&Names::NONE),
                Empties::Keep
            ),
            Some(Value::String("A😀".into()))
        );
        // Control characters are refused, as serde_json refuses them.
        assert!(
            parse(
                "\"a\u{1}b\"",
                Attributes::Except(&Names::NONE),
                Empties::Keep
            )
            .is_none()
        );
    }

    #[test]
    fn numbers() {
        for text in [
            "0",
            "-0",
            "1",
            "-1",
            "123456789012345",
            "1234567890123456",
            "9007199254740993",
            "-9223372036854775808",
            "18446744073709551615",
            "18446744073709551616",
            "1.5",
            "-0.0",
            "0.1",
            "1e3",
            "1E+3",
            "1e-3",
            "2.5e-308",
            "1.7976931348623157e308",
            "1e400",
            "-1e400",
            "4.9e-324",
            "0.30000000000000004",
            "123.456e7",
            "01",
            "1.",
            ".5",
            "-",
            "+1",
            "1e",
            "1e+",
            "--1",
            "0x10",
            "NaN",
            "1 2",
        ] {
            agrees(text);
            agrees(&format!("[{text}]"));
            agrees(&format!("{{\"n\": {text}}}"));
        }
    }

    #[test]
    fn structure_and_whitespace() {
        for text in [
            "{}",
            "[]",
            " {\n\t\"a\" :\r [ 1 , 2 ] } ",
            "null",
            "true",
            "false",
            "tru",
            "nul",
            "{\"a\": 1,}",
            "[1,]",
            "[,1]",
            "{,}",
            "{\"a\" 1}",
            "{\"a\": }",
            "{1: 2}",
            "{\"a\": 1",
            "[1",
            "[1 2]",
            "{\"a\": 1} x",
            "{} {}",
            "",
            "   ",
            r#"{"b": 1, "a": 2, "c": {"y": [], "x": {}}}"#,
            r#"{"a": 1, "a": 2}"#,
            r#"{"conditions": [1, 2,]}"#,
            r#"{"etag": "\"quoted\""}"#,
        ] {
            agrees(text);
        }
        // A repeated key: the last one wins, as in the serde path.
        assert_eq!(
            parse(
                r#"{"a": 1, "a": 2}"#,
                Attributes::Except(&Names::NONE),
                Empties::Keep
            )
            .unwrap()
            .get("a"),
            Some(&Value::Number(2.0))
        );
    }

    #[test]
    fn deep_nesting_is_left_to_serde_json() {
        for depth in [99, 100, 101, 127, 128, 129, 500] {
            let text = format!("{}{}", "[".repeat(depth), "]".repeat(depth));
            never_differs(&text);
            assert_eq!(
                parse(&text, Attributes::Except(&Names::NONE), Empties::Keep).is_some(),
                depth <= super::MAX_DEPTH
            );
        }
    }

    #[test]
    fn only_top_level_fields_are_skipped() {
        let text = r#"{"status": "x", "labels": {"status": "prod", "uid": "1"},
            "template": [{"metadata": [{"generation": 2}], "conditions": [1]}], "uid": "u"}"#;
        agrees(text);
        let v = parse(text, Attributes::Except(&SKIPPED), Empties::Keep).unwrap();
        assert!(v.get("status").is_none() && v.get("uid").is_none());
        let labels = v.get("labels").unwrap();
        assert_eq!(labels.get("status").and_then(Value::as_str), Some("prod"));
        assert_eq!(labels.get("uid").and_then(Value::as_str), Some("1"));
    }

    #[test]
    fn only_the_named_top_level_fields_are_read_when_asked() {
        let text = r#"{"name": "api", "labels": {"name": "x", "team": "t"},
            "template": [{"name": "c", "labels": {"a": "b"}}], "uid": "u", "project": null}"#;
        let only = Attributes::Only(&Names::new(&["name", "template", "project"]));
        let v = parse(text, only, Empties::Keep).unwrap();
        let whole = by_serde(text, &[]).unwrap();
        for read in ["name", "template", "project"] {
            assert_eq!(v.get(read), whole.get(read), "{read}");
        }
        // Left out at the top only: nested fields of any name stay.
        assert!(v.get("labels").is_none() && v.get("uid").is_none());
        let Some(Value::List(template)) = v.get("template") else {
            panic!("template: {v:?}")
        };
        assert!(template[0].get("labels").is_some());
        // What is left out is still checked.
        assert!(parse(r#"{"name": "a", "labels": {"a" 1}}"#, only, Empties::Keep).is_none());
    }

    #[test]
    fn skipped_fields_are_still_checked() {
        // A skipped field that is not valid JSON is not passed over: serde_json decides.
        assert!(
            parse(
                r#"{"conditions": [1 2]}"#,
                Attributes::Except(&SKIPPED),
                Empties::Keep
            )
            .is_none()
        );
        assert_eq!(
            parse(
                r#"{"conditions": {"x": [true, null, -1e5]}, "a": 1}"#,
                Attributes::Except(&SKIPPED),
                Empties::Keep
            ),
            by_serde(r#"{"a": 1}"#, &[]).ok()
        );
    }

    #[test]
    fn empty_lists_and_objects_are_dropped_when_asked() {
        let text = r#"{"a": [], "b": {}, "c": "", "d": null, "e": [[]], "f": [{}],
            "g": {"h": [], "i": {}}, "j": 1, "k": {"l": false}}"#;
        let kept = parse(text, Attributes::Except(&Names::NONE), Empties::Keep).unwrap();
        assert_eq!(Ok(kept), by_serde(text, &[]));
        let lean = parse(
            text,
            Attributes::Except(&Names::NONE),
            Empties::Drop(Marks::default()),
        )
        .unwrap();
        let expected = r#"{"c": "", "d": null, "e": [[]], "f": [{}], "j": 1, "k": {"l": false}}"#;
        assert_eq!(Ok(lean), by_serde(expected, &[]));
        // A repeated key: the last value is kept, whether or not it is empty; where the
        // dropped value would be the last one, serde_json decides and keeps everything.
        let lean = |t: &str| {
            parse(
                t,
                Attributes::Except(&Names::NONE),
                Empties::Drop(Marks::default()),
            )
        };
        assert_eq!(lean(r#"{"a": "x", "a": []}"#), None);
        assert_eq!(lean(r#"{"b": {}, "a": 1, "c": []}"#), None);
        assert_eq!(
            lean(r#"{"a": [], "a": "x"}"#),
            by_serde(r#"{"a": "x"}"#, &[]).ok()
        );
        assert_eq!(
            lean(r#"{"b": 2, "a": 1, "c": [1]}"#),
            by_serde(r#"{"a": 1, "b": 2, "c": [1]}"#, &[]).ok()
        );
        // The top-level value itself is never dropped.
        assert_eq!(lean("{}"), by_serde("{}", &[]).ok());
    }

    #[test]
    fn marked_empty_values_stay() {
        let text = r#"{"a": [], "b": {}, "c": [], "d": {"e": []}, "f": [{"g": []}], "h": []}"#;
        let sensitive: serde_json::Value =
            serde_json::from_str(r#"{"a": true, "b": {}, "c": [], "d": {"e": true}, "f": [{"g": true}], "h": {"x": true}}"#)
                .unwrap();
        let unknown: serde_json::Value = serde_json::from_str(r#"{"b": {"x": true}}"#).unwrap();
        let marks = Marks {
            unknown: Some(&unknown),
            sensitive: Some(&sensitive),
        };
        let lean = parse(text, Attributes::Except(&Names::NONE), Empties::Drop(marks)).unwrap();
        // `a` is marked sensitive, `b` has an unknown attribute, `e` and `g` are marked, and
        // `h`'s mark does not fit a list (the whole value turns sensitive): all stay. `c`'s
        // mark marks nothing in it: dropped.
        let expected = r#"{"a": [], "b": {}, "d": {"e": []}, "f": [{"g": []}], "h": []}"#;
        assert_eq!(Ok(lean), by_serde(expected, &[]));
    }
}
