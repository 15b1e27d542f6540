//! `--format json`: the stable interface other tools read. Its shape is described by
//! `schemas/report.schema.json`; field names do not change once shipped.

use serde::Serialize;

use super::{Report, SCHEMA_VERSION, display_path, pretty};
use crate::finding::{Finding, Status};

#[derive(Serialize)]
struct Json<'a> {
    schema_version: &'static str,
    tool: Tool,
    contract: Contract<'a>,
    reference: &'a str,
    environments: Vec<Env<'a>>,
    checks: Vec<Check<'a>>,
    gaps: Vec<Gap<'a>>,
    summary: Summary,
}

#[derive(Serialize)]
struct Tool {
    name: &'static str,
    version: &'static str,
}

#[derive(Serialize)]
struct Contract<'a> {
    path: Option<String>,
    assumptions: &'a [String],
}

#[derive(Serialize)]
struct Env<'a> {
    name: &'a str,
    projects: &'a [String],
    sources: Vec<Source<'a>>,
    services: Vec<Service<'a>>,
    notes: &'a [String],
}

#[derive(Serialize)]
struct Source<'a> {
    path: String,
    kind: &'static str,
    format_version: Option<&'a str>,
    terraform_version: Option<&'a str>,
}

#[derive(Serialize)]
struct Service<'a> {
    name: &'a str,
    kind: &'static str,
    address: &'a str,
    project: Option<&'a str>,
    region: Option<&'a str>,
    action: &'static str,
}

#[derive(Serialize)]
struct Check<'a> {
    number: u8,
    id: &'static str,
    name: &'static str,
    title: &'static str,
    kind: &'static str,
    status: Status,
    findings: &'a [Finding],
}

#[derive(Serialize)]
struct Gap<'a> {
    rank: usize,
    check: &'static str,
    id: &'static str,
    title: &'static str,
    score: u32,
    roles: &'a [String],
    environments: &'a [String],
    summary: &'a str,
    fix: &'a str,
}

#[derive(Serialize)]
struct Summary {
    status: Status,
    items: std::collections::BTreeMap<&'static str, usize>,
    findings: std::collections::BTreeMap<&'static str, usize>,
}

pub fn render(report: &Report) -> String {
    let parts = render_parts(report);
    let mut out: Vec<u8> = Vec::with_capacity(parts.iter().map(Vec::len).sum());
    for part in parts {
        out.extend_from_slice(&part);
    }
    String::from_utf8(out).expect("serde_json writes UTF-8")
}

/// The report as pieces to write one after the other: the checks, nearly all of a large
/// report, are rendered apart and never copied into one buffer.
pub fn render_parts(report: &Report) -> Vec<Vec<u8>> {
    let doc = Json {
        schema_version: SCHEMA_VERSION,
        tool: Tool {
            name: "tfparity",
            version: env!("CARGO_PKG_VERSION"),
        },
        contract: Contract {
            path: report.contract_path.as_deref().map(display_path),
            assumptions: &report.assumptions,
        },
        reference: &report.reference,
        environments: report
            .environments
            .iter()
            .map(|e| Env {
                name: &e.name,
                projects: &e.projects,
                sources: e
                    .sources
                    .iter()
                    .map(|s| Source {
                        path: display_path(&s.path),
                        kind: s.kind.as_str(),
                        format_version: s.format_version.as_deref(),
                        terraform_version: s.terraform_version.as_deref(),
                    })
                    .collect(),
                services: e
                    .services
                    .iter()
                    .map(|s| Service {
                        name: &s.name,
                        kind: s.kind.as_str(),
                        address: &s.address,
                        project: s.project.as_deref(),
                        region: s.region.as_deref(),
                        action: s.action.as_str(),
                    })
                    .collect(),
                notes: &e.notes,
            })
            .collect(),
        checks: report
            .checks
            .iter()
            .map(|c| Check {
                number: c.def.number,
                id: c.def.id,
                name: c.def.name,
                title: c.def.title,
                kind: c.def.kind.as_str(),
                status: c.status,
                findings: &c.findings,
            })
            .collect(),
        gaps: report
            .gaps
            .iter()
            .map(|g| Gap {
                rank: g.rank,
                check: g.check.name,
                id: g.check.id,
                title: g.check.title,
                score: g.score,
                roles: &g.roles,
                environments: &g.environments,
                summary: &g.summary,
                fix: &g.fix,
            })
            .collect(),
        summary: Summary {
            status: report.worst(),
            items: report
                .item_counts()
                .into_iter()
                .map(|(s, n)| (s.as_str(), n))
                .collect(),
            findings: report
                .finding_counts()
                .into_iter()
                .map(|(s, n)| (s.as_str(), n))
                .collect(),
        },
    };
    // Findings are nearly all of a large report (60 of 69 MB for 5,000 services): the checks
    // are rendered on two threads, at the depth they sit in the document, and joined in
    // order; the rest is rendered around them. The bytes are serde_json's pretty output.
    let rendered = render_checks(&doc.checks);
    let mut parts: Vec<Vec<u8>> = Vec::with_capacity(rendered.len() + 2);
    let mut out: Vec<u8> = vec![b'{'];
    field(&mut out, "schema_version", &doc.schema_version, true);
    field(&mut out, "tool", &doc.tool, false);
    field(&mut out, "contract", &doc.contract, false);
    field(&mut out, "reference", &doc.reference, false);
    field(&mut out, "environments", &doc.environments, false);
    out.extend_from_slice(b",\n  \"checks\": ");
    if rendered.is_empty() {
        out.extend_from_slice(b"[]");
    } else {
        out.push(b'[');
        for (i, check) in rendered.into_iter().enumerate() {
            out.extend_from_slice(if i == 0 { b"\n" } else { b",\n" });
            out.extend_from_slice(b"    ");
            parts.push(std::mem::take(&mut out));
            parts.extend(check);
        }
        out.extend_from_slice(b"\n  ]");
    }
    field(&mut out, "gaps", &doc.gaps, false);
    field(&mut out, "summary", &doc.summary, false);
    out.extend_from_slice(b"\n}\n");
    parts.push(out);
    parts
}

/// One field of the top-level object, as serde_json's pretty printer writes it.
fn field<T: Serialize>(out: &mut Vec<u8>, key: &str, value: &T, first: bool) {
    out.extend_from_slice(if first { b"\n  \"" } else { b",\n  \"" });
    out.extend_from_slice(key.as_bytes());
    out.extend_from_slice(b"\": ");
    pretty::render_into(out, value, 1);
}

/// Each check rendered as an element of the top-level `checks` array (depth 2), in chunks,
/// the larger checks shared out between two threads.
fn render_checks(checks: &[Check<'_>]) -> Vec<Vec<Vec<u8>>> {
    let mut order: Vec<usize> = (0..checks.len()).collect();
    order.sort_by_key(|&i| std::cmp::Reverse(checks[i].findings.len()));
    let (mut mine, mut theirs) = (Vec::new(), Vec::new());
    let (mut load_mine, mut load_theirs) = (0usize, 0usize);
    for i in order {
        let weight = checks[i].findings.len() + 1;
        if load_mine <= load_theirs {
            mine.push(i);
            load_mine += weight;
        } else {
            theirs.push(i);
            load_theirs += weight;
        }
    }
    let render = |list: &[usize]| -> Vec<(usize, Vec<Vec<u8>>)> {
        list.iter()
            .map(|&i| {
                let mut chunks = Chunks::default();
                pretty::render_into(&mut chunks, &checks[i], 2);
                (i, chunks.finish())
            })
            .collect()
    };
    let mut all = std::thread::scope(|scope| {
        let other = scope.spawn(|| render(&theirs));
        let mut all = render(&mine);
        all.extend(other.join().expect("a render thread panicked"));
        all
    });
    all.sort_by_key(|(i, _)| *i);
    all.into_iter().map(|(_, chunks)| chunks).collect()
}

/// Output collected in chunks of a fixed size rather than one growing buffer: a check's
/// findings can be tens of MB, and a buffer grown by doubling copies itself at each step and
/// needs fresh memory for every new size, while chunks this size fit the pages freed by the
/// environments' values.
#[derive(Default)]
struct Chunks {
    full: Vec<Vec<u8>>,
    current: Vec<u8>,
}

impl Chunks {
    const SIZE: usize = 32 * 1024;

    fn finish(mut self) -> Vec<Vec<u8>> {
        if !self.current.is_empty() {
            self.full.push(self.current);
        }
        self.full
    }
}

impl std::io::Write for Chunks {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        if self.current.len() == self.current.capacity() {
            let next = Vec::with_capacity(Self::SIZE.max(buf.len()));
            let done = std::mem::replace(&mut self.current, next);
            if !done.is_empty() {
                self.full.push(done);
            }
        }
        let n = buf.len().min(self.current.capacity() - self.current.len());
        self.current.extend_from_slice(&buf[..n]);
        Ok(n)
    }

    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::Chunks;
    use std::io::Write;

    #[test]
    fn chunks_keep_every_byte_in_order() {
        let mut chunks = Chunks::default();
        let mut expected = Vec::new();
        // Small writes that straddle chunk boundaries, and one larger than a chunk.
        for i in 0..20_000u32 {
            let piece = format!("{i},");
            chunks.write_all(piece.as_bytes()).unwrap();
            expected.extend_from_slice(piece.as_bytes());
        }
        let big = vec![b'x'; Chunks::SIZE * 3 + 7];
        chunks.write_all(&big).unwrap();
        expected.extend_from_slice(&big);
        chunks.write_all(b"end").unwrap();
        expected.extend_from_slice(b"end");
        let parts = chunks.finish();
        assert!(parts.len() > 3);
        assert!(parts.iter().all(|p| !p.is_empty()));
        assert_eq!(parts.concat(), expected);
    }
}
