//! Pretty JSON as serde_json writes it (two-space indents), with two differences that matter
//! for reports of many megabytes: an indent is one write, and rendering may start at a depth,
//! so that parts of one document can be rendered on several threads and joined.

use std::io;

use serde::Serialize;
use serde_json::ser::Formatter;

/// Spaces for the deepest indent written at once; deeper ones take several writes.
const SPACES: &[u8; 128] = &[b' '; 128];

pub struct Pretty {
    depth: usize,
    has_value: bool,
}

impl Pretty {
    /// A formatter for a value that sits `depth` levels deep in its document.
    pub fn at(depth: usize) -> Self {
        Pretty {
            depth,
            has_value: false,
        }
    }
}

/// Writes a newline and the indent of `depth`.
fn newline<W: ?Sized + io::Write>(w: &mut W, depth: usize) -> io::Result<()> {
    w.write_all(b"\n")?;
    indent(w, depth)
}

pub fn indent<W: ?Sized + io::Write>(w: &mut W, depth: usize) -> io::Result<()> {
    let mut n = depth * 2;
    while n > 0 {
        let k = n.min(SPACES.len());
        w.write_all(&SPACES[..k])?;
        n -= k;
    }
    Ok(())
}

impl Pretty {
    /// Opens an array or object: one level deeper, nothing in it yet.
    fn open<W: ?Sized + io::Write>(&mut self, w: &mut W, bracket: &[u8]) -> io::Result<()> {
        self.depth += 1;
        self.has_value = false;
        w.write_all(bracket)
    }

    /// Closes an array or object, on its own line when it holds anything.
    fn close<W: ?Sized + io::Write>(&mut self, w: &mut W, bracket: &[u8]) -> io::Result<()> {
        self.depth -= 1;
        if self.has_value {
            newline(w, self.depth)?;
        }
        w.write_all(bracket)
    }

    /// Starts an element or a key on a new line, after a comma unless it is the first.
    fn item<W: ?Sized + io::Write>(&mut self, w: &mut W, first: bool) -> io::Result<()> {
        if !first {
            w.write_all(b",")?;
        }
        newline(w, self.depth)
    }
}

impl Formatter for Pretty {
    fn begin_array<W: ?Sized + io::Write>(&mut self, w: &mut W) -> io::Result<()> {
        self.open(w, b"[")
    }

    fn end_array<W: ?Sized + io::Write>(&mut self, w: &mut W) -> io::Result<()> {
        self.close(w, b"]")
    }

    fn begin_array_value<W: ?Sized + io::Write>(
        &mut self,
        w: &mut W,
        first: bool,
    ) -> io::Result<()> {
        self.item(w, first)
    }

    fn end_array_value<W: ?Sized + io::Write>(&mut self, _w: &mut W) -> io::Result<()> {
        self.has_value = true;
        Ok(())
    }

    fn begin_object<W: ?Sized + io::Write>(&mut self, w: &mut W) -> io::Result<()> {
        self.open(w, b"{")
    }

    fn end_object<W: ?Sized + io::Write>(&mut self, w: &mut W) -> io::Result<()> {
        self.close(w, b"}")
    }

    fn begin_object_key<W: ?Sized + io::Write>(
        &mut self,
        w: &mut W,
        first: bool,
    ) -> io::Result<()> {
        self.item(w, first)
    }

    fn begin_object_value<W: ?Sized + io::Write>(&mut self, w: &mut W) -> io::Result<()> {
        w.write_all(b": ")
    }

    fn end_object_value<W: ?Sized + io::Write>(&mut self, _w: &mut W) -> io::Result<()> {
        self.has_value = true;
        Ok(())
    }
}

/// Appends `value` to `out`, rendered as if `depth` levels deep.
pub fn render_into<T: Serialize + ?Sized>(out: impl std::io::Write, value: &T, depth: usize) {
    let mut ser = serde_json::Serializer::with_formatter(out, Pretty::at(depth));
    value.serialize(&mut ser).expect("report values serialise");
}

#[cfg(test)]
mod tests {
    use super::*;

    fn sample() -> serde_json::Value {
        // Deeper than the indent buffer (64 levels), which then takes several writes.
        let mut deep = serde_json::json!("x");
        for _ in 0..70 {
            deep = serde_json::json!([deep]);
        }
        serde_json::json!({
            "a": [], "b": {}, "c": [1, [2, {"d": "e\"\n"}], {}],
            "deep": deep,
            "n": null, "t": true, "f": 1.5
        })
    }

    #[test]
    fn writes_what_serde_json_pretty_writes() {
        let v = sample();
        let mut out = Vec::new();
        render_into(&mut out, &v, 0);
        assert_eq!(
            String::from_utf8(out).unwrap(),
            serde_json::to_string_pretty(&v).unwrap()
        );
    }

    #[test]
    fn starts_at_a_depth() {
        let v = sample();
        let mut out = Vec::new();
        render_into(&mut out, &v, 2);
        let expected = serde_json::to_string_pretty(&v)
            .unwrap()
            .replace('\n', "\n    ");
        assert_eq!(String::from_utf8(out).unwrap(), expected);
    }
}
