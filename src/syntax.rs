//! Parsing HCL text with a time limit. hcl-edit's parser backtracks, and some malformed
//! inputs of a few hundred bytes (nested `{` after `%` and `/` operators, never closed, found
//! by fuzzing) take time exponential in their length. Every HCL text tfparity reads (`.tf`,
//! `.tfvars`, the contract, files being fixed) is parsed here, so such a file is an error
//! after a few seconds, never a hang.

use std::sync::mpsc;
use std::time::Duration;

use hcl_edit::structure::Body;

/// Why a text is not an HCL body.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SyntaxError {
    pub message: String,
    /// 1-based; 1:1 when the parser gave up.
    pub line: usize,
    pub column: usize,
}

/// Time allowed to parse `bytes` of text: far beyond what real files take (a 16 MiB file,
/// the largest tfparity reads, parses in about a second), short enough not to look like a hang.
fn budget(bytes: usize) -> Duration {
    Duration::from_secs(5) + Duration::from_millis((bytes / 4096) as u64)
}

/// The parser's stack: room for nesting as deep as hcl-edit accepts, in a debug build too.
/// Address space only: untouched pages are never allocated.
const PARSER_STACK_BYTES: usize = 256 << 20;

/// Parses `text` as an HCL body within [`budget`]. Past it, the parse is abandoned (its
/// thread keeps running until the process ends, which a refused input makes it do soon).
pub fn parse_body(text: &str) -> Result<Body, SyntaxError> {
    let owned = text.to_owned();
    let (tx, rx) = mpsc::channel();
    let spawned = std::thread::Builder::new()
        .name("tfparity-hcl-parse".into())
        .stack_size(PARSER_STACK_BYTES)
        .spawn(move || {
            let _ = tx.send(parse_now(&owned));
        });
    if spawned.is_err() {
        // No thread to be had (a tight limit on threads or address space): parse here.
        return parse_now(text);
    }
    let limit = budget(text.len());
    match rx.recv_timeout(limit) {
        Ok(result) => result,
        Err(mpsc::RecvTimeoutError::Timeout) => Err(SyntaxError {
            message: format!(
                "the HCL parser gave up after {} s: deeply nested, unclosed expressions make it \
                 backtrack without end",
                limit.as_secs()
            ),
            line: 1,
            column: 1,
        }),
        // The parser panicked: say so rather than pass the panic on.
        Err(mpsc::RecvTimeoutError::Disconnected) => Err(SyntaxError {
            message: "the HCL parser failed on this text".into(),
            line: 1,
            column: 1,
        }),
    }
}

fn parse_now(text: &str) -> Result<Body, SyntaxError> {
    hcl_edit::parser::parse_body(text).map_err(|e| {
        let loc = e.location();
        SyntaxError {
            message: e.message().to_string(),
            line: loc.line(),
            column: loc.column(),
        }
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_and_places_errors() {
        assert_eq!(parse_body("a = 1\n").unwrap().attributes().count(), 1);
        let e = parse_body("a = 1\nb = \n").unwrap_err();
        assert_eq!((e.line, e.column), (2, 5), "{e:?}");
    }

    /// The vendored hcl-edit checks object keys by hashing (vendor/hcl-edit/PATCHED.md): a
    /// redefined key must still be refused, at the key, for every kind of key, and keys of
    /// different kinds stay distinct, as `ObjectKey`'s equality has them.
    #[test]
    fn object_keys_are_checked_for_redefinition_in_linear_time() {
        for (text, col) in [
            ("x = { a = 1, b = 2, a = 3 }\n", 21),
            ("x = { \"a\" = 1, \"a\" = 2 }\n", 16),
            ("x = { (k) = 1, b = 2, (k) = 3 }\n", 23),
            ("x = {\n  a = 1\n  a = 2\n}\n", 3),
        ] {
            let e = parse_body(text).unwrap_err();
            assert!(e.message.contains("redefined object key"), "{text}: {e:?}");
            assert_eq!(e.column, col, "{text}: {e:?}");
        }
        for text in [
            "x = { a = 1, \"a\" = 2 }\n",
            "x = { (k) = 1, (j) = 2, k = 3 }\n",
        ] {
            parse_body(text).unwrap_or_else(|e| panic!("{text}: {e:?}"));
        }
        // Twenty thousand keys, in the order written. The bound guards the complexity, not a
        // speed: linear checking takes 0.3 s in a debug build, quadratic more than 5 s.
        let n = 20_000;
        let mut text = String::from("x = {\n");
        for i in 0..n {
            text.push_str(&format!("  \"k{i}\" = {{ v = {i} }}\n"));
        }
        text.push_str("}\n");
        let start = std::time::Instant::now();
        let body = parse_body(&text).unwrap();
        assert!(
            start.elapsed() < Duration::from_secs(3),
            "{:?}",
            start.elapsed()
        );
        let attr = body.get_attribute("x").unwrap();
        let hcl_edit::expr::Expression::Object(o) = &attr.value else {
            panic!("not an object");
        };
        assert_eq!(o.len(), n);
        let keys: Vec<String> = o
            .iter()
            .map(|(k, _)| k.as_expr().and_then(|e| e.as_str()).unwrap().to_string())
            .collect();
        assert_eq!(keys[0], "k0");
        assert_eq!(keys[n - 1], format!("k{}", n - 1));
        text.insert_str(text.len() - 2, "  \"k7\" = 1\n");
        let e = parse_body(&text).unwrap_err();
        assert_eq!(e.line, n + 2, "{e:?}");
    }

    /// Found by fuzzing the contract parser: 348 bytes took hcl-edit 0.65 s in a release
    /// build, and each further `%{` doubles it.
    /// What a quoted string's text means: its value, `None` for a template (an unescaped `${`
    /// or `%{`), `Err` for an escape HCL does not have.
    fn quoted_meaning(raw: &str) -> Result<Option<String>, ()> {
        let mut out = String::new();
        let mut rest = raw;
        while let Some(c) = rest.chars().next() {
            if let Some(marker) = ["$${", "%%{"].iter().find(|m| rest.starts_with(**m)) {
                out.push_str(&marker[1..]);
                rest = &rest[3..];
            } else if rest.starts_with("${") || rest.starts_with("%{") {
                return Ok(None);
            } else if c == '\\' {
                out.push(match rest[1..].chars().next() {
                    Some('n') => '\n',
                    Some('t') => '\t',
                    Some('r') => '\r',
                    Some('\\') => '\\',
                    Some('"') => '"',
                    _ => return Err(()),
                });
                rest = &rest[2..];
            } else {
                out.push(c);
                rest = &rest[c.len_utf8()..];
            }
        }
        Ok(Some(out))
    }

    /// The vendored hcl-edit scans string literals by bytes (vendor/hcl-edit/PATCHED.md): every
    /// string still reads as HCL's escapes and template markers say, wherever `$`, `%` and `{`
    /// fall, beside multi-byte characters.
    #[test]
    fn quoted_strings_read_as_hcl_says() {
        use proptest::prelude::*;
        let piece = prop::sample::select(vec![
            "a", "é", "€", " ", "$", "%", "{", "}", "$$", "%%", "\\n", "\\\\", "\\\"", "\\t",
            "\\q", "x",
        ]);
        let mut runner = proptest::test_runner::TestRunner::default();
        runner
            .run(&prop::collection::vec(piece, 0..14), |pieces| {
                let raw = pieces.concat();
                let parsed = parse_now(&format!("v = \"{raw}\"\n"));
                let value = parsed.as_ref().ok().and_then(|b| {
                    b.get_attribute("v").map(|a| match &a.value {
                        hcl_edit::expr::Expression::String(s) => Some(s.value().clone()),
                        _ => None,
                    })
                });
                match quoted_meaning(&raw) {
                    Ok(Some(want)) => prop_assert_eq!(value, Some(Some(want)), "{}", raw),
                    // A template, or a parse error when its interpolation is not closed.
                    Ok(None) => prop_assert!(matches!(value, None | Some(None)), "{}", raw),
                    Err(()) => prop_assert!(parsed.is_err(), "{}", raw),
                }
                Ok(())
            })
            .unwrap();
        for (raw, want) in [
            ("https://a.example.com/x?y=1", "https://a.example.com/x?y=1"),
            ("50% off, $5", "50% off, $5"),
            ("$${x} and %%{y}", "${x} and %{y}"),
            ("a\\\"b\\\\c", "a\"b\\c"),
        ] {
            let body = parse_now(&format!("v = \"{raw}\"\n")).unwrap();
            let v = &body.get_attribute("v").unwrap().value;
            assert_eq!(v.as_str(), Some(want), "{raw}");
        }
    }

    #[test]
    fn a_backtracking_input_is_refused_within_the_budget() {
        let seed = "e=E%i%{e/l%{e/l%{e%l%{E/l%{r/E%{p/l%{e/l%{E%l%{e/i%{e/p%{e/l%{E%l%{E/l%{r/E%{p/l%i%{er/il%{E/p";
        let text = seed.replace("%{", "%{e/l%{e%l%{");
        let start = std::time::Instant::now();
        let e = parse_body(&text).unwrap_err();
        assert!(start.elapsed() < budget(text.len()) + Duration::from_secs(2));
        assert!(e.message.contains("gave up"), "{e:?}");
    }
}
