//! `tfparity graph`: every DOT output is accepted by Graphviz (`dot -Tsvg`), every Mermaid
//! output passes a check of the grammar's basics and, when a Mermaid parser is installed (see
//! `mermaid_parser`), Mermaid's own parser; ids are stable, clusters hold what belongs to one
//! service, the roles view says what the report says, and no env var value gets out.

mod common;

use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};
use std::process::Command;

use common::{Run, dev_plan, prod_plan, root, run, tfparity};
use serde_json::Value;

const TODAY: &str = "2026-03-01";

fn graph(args: &[&str]) -> Run {
    let mut all = vec!["graph"];
    all.extend_from_slice(args);
    let r = run(tfparity(), &all);
    r.expect_code(0);
    r
}

/// Every DOT output the tests look at: each environment, all of them, the roles view of the
/// shipped contract, of a contract-less run and of Terraform directories.
fn dot_outputs() -> Vec<(String, String)> {
    let dev = dev_plan().display().to_string();
    let prod = prod_plan().display().to_string();
    let dev_env = format!("dev={dev}");
    let prod_env = format!("prod={prod}");
    let cases: Vec<(&str, Vec<&str>)> = vec![
        ("dev", vec!["dev"]),
        ("prod", vec!["prod"]),
        ("all", vec![]),
        ("roles", vec!["--roles", "--today", TODAY]),
        (
            "roles without a contract",
            vec!["--roles", "--env", &dev_env, "--env", &prod_env],
        ),
        (
            "hcl directories",
            vec![
                "--env",
                "dev=infra/envs/dev",
                "--env",
                "prod=infra/envs/prod",
            ],
        ),
    ];
    let mut out = Vec::new();
    for (name, args) in cases {
        let mut a = args.clone();
        a.extend(["--format", "dot"]);
        // Without a contract: run in a directory that has no parity.hcl.
        let r = if name == "roles without a contract" {
            let dir = tempfile::tempdir().expect("tempdir");
            let mut full = vec!["graph"];
            full.extend(a.iter().copied());
            let r = run(common::tfparity_in(dir.path()), &full);
            r.expect_code(0);
            r
        } else {
            graph(&a)
        };
        out.push((name.to_string(), r.stdout));
    }
    out
}

fn dot_binary() -> Option<PathBuf> {
    let ok = Command::new("dot")
        .arg("-V")
        .output()
        .map(|o| o.status.success())
        .unwrap_or(false);
    ok.then(|| PathBuf::from("dot"))
}

#[test]
fn graphviz_accepts_every_dot_output() {
    let outputs = dot_outputs();
    for (name, text) in &outputs {
        assert!(text.starts_with("digraph "), "{name}: not DOT:\n{text}");
        assert_eq!(
            text.matches('{').count(),
            text.matches('}').count(),
            "{name}: unbalanced braces"
        );
    }
    let Some(dot) = dot_binary() else {
        println!(
            "skipped: Graphviz `dot` is not on PATH, so the DOT outputs were not rendered (Debian: apt-get install graphviz; .ci/run installs it)"
        );
        return;
    };
    let dir = tempfile::tempdir().expect("tempdir");
    for (i, (name, text)) in outputs.iter().enumerate() {
        let path = dir.path().join(format!("g{i}.dot"));
        std::fs::write(&path, text).expect("write");
        let out = Command::new(&dot)
            .arg("-Tsvg")
            .arg(&path)
            .output()
            .expect("dot runs");
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert!(
            out.status.success(),
            "dot -Tsvg rejected the {name} graph: {stderr}\n{text}"
        );
        // Graphviz reports syntax problems as warnings too (and then draws something else).
        let warnings: Vec<&str> = stderr
            .lines()
            .filter(|l| l.contains("syntax error") || l.contains("Warning"))
            .filter(|l| !l.to_ascii_lowercase().contains("font"))
            .collect();
        assert!(
            warnings.is_empty(),
            "dot -Tsvg warned about the {name} graph: {stderr}"
        );
        let svg = String::from_utf8_lossy(&out.stdout);
        assert!(svg.contains("<svg"), "{name}: no SVG");
    }
}

// ---------------------------------------------------------------------------------------
// Mermaid.

/// Checks a Mermaid flowchart against the basics of the grammar as GitHub's Mermaid reads it:
/// a `flowchart` header; every statement one of node/link chains, `subgraph`/`end`,
/// `direction`, `classDef`, `class`; balanced subgraphs; ids of `[A-Za-z0-9_]` that are not
/// keywords; labels quoted with no raw quote inside; shapes closed; classes defined before
/// the end and every class statement naming defined nodes.
fn check_mermaid(name: &str, text: &str) {
    if let Err(e) = mermaid_problem(name, text) {
        panic!("{e}\n{text}");
    }
}

/// Fails with a message when `cond` does not hold.
macro_rules! ensure {
    ($cond:expr, $($msg:tt)+) => {
        if !$cond {
            return Err(format!($($msg)+));
        }
    };
}

/// The first problem [`check_mermaid`] finds, if any.
fn mermaid_problem(name: &str, text: &str) -> Result<(), String> {
    let mut lines = text.lines();
    ensure!(
        lines.next().map(str::trim) == Some("flowchart LR"),
        "{name}: first line"
    );
    let mut depth = 0usize;
    let mut nodes: BTreeSet<String> = BTreeSet::new();
    let mut subgraphs: BTreeSet<String> = BTreeSet::new();
    let mut class_defs: BTreeSet<String> = BTreeSet::new();
    let mut class_uses: Vec<(String, Vec<String>)> = Vec::new();
    let mut links: Vec<(String, String)> = Vec::new();
    let keywords = [
        "end",
        "subgraph",
        "graph",
        "flowchart",
        "class",
        "classDef",
        "style",
        "click",
        "direction",
        "linkStyle",
    ];
    let valid_id = |id: &str| {
        !id.is_empty()
            && id.chars().all(|c| c.is_ascii_alphanumeric() || c == '_')
            && !id.starts_with(|c: char| c.is_ascii_digit())
            && !keywords.contains(&id)
    };
    for (n, raw) in text.lines().enumerate().skip(1) {
        let line = raw.trim();
        let at = format!("{name}:{}: `{line}`", n + 1);
        if line.is_empty() || line.starts_with("%%") {
            continue;
        }
        if let Some(rest) = line.strip_prefix("subgraph ") {
            let (id, label) = rest.split_once('[').unwrap_or((rest, ""));
            ensure!(valid_id(id), "{at}: subgraph id");
            if !label.is_empty() {
                ensure!(
                    label.starts_with('"') && label.ends_with("\"]"),
                    "{at}: subgraph label must be [\"...\"]"
                );
                ensure!(!label[1..label.len() - 2].contains('"'), "{at}: raw quote");
            }
            subgraphs.insert(id.to_string());
            depth += 1;
            continue;
        }
        if line == "end" {
            ensure!(depth > 0, "{at}: `end` without subgraph");
            depth -= 1;
            continue;
        }
        if let Some(rest) = line.strip_prefix("direction ") {
            ensure!(["LR", "RL", "TB", "TD", "BT"].contains(&rest), "{at}");
            continue;
        }
        if let Some(rest) = line.strip_prefix("classDef ") {
            let (cls, style) = rest
                .split_once(' ')
                .ok_or(format!("{at}: classDef NAME STYLE"))?;
            ensure!(valid_id(cls), "{at}: class name");
            for prop in style.split(',') {
                let (k, v) = prop.split_once(':').ok_or(format!("{at}: {prop}"))?;
                ensure!(
                    k.chars().all(|c| c.is_ascii_lowercase() || c == '-') && !v.is_empty(),
                    "{at}: style property `{prop}`"
                );
                ensure!(!v.contains(';'), "{at}: `;` ends a statement");
            }
            class_defs.insert(cls.to_string());
            continue;
        }
        if let Some(rest) = line.strip_prefix("style ") {
            let (id, style) = rest
                .split_once(' ')
                .ok_or(format!("{at}: style ID STYLE"))?;
            ensure!(
                nodes.contains(id) || subgraphs.contains(id),
                "{at}: style of unknown `{id}`"
            );
            for prop in style.split(',') {
                ensure!(prop.split_once(':').is_some(), "{at}: `{prop}`");
            }
            continue;
        }
        if let Some(rest) = line.strip_prefix("class ") {
            let (ids, cls) = rest
                .rsplit_once(' ')
                .ok_or(format!("{at}: class IDS NAME"))?;
            let ids: Vec<String> = ids.split(',').map(str::to_string).collect();
            for id in &ids {
                ensure!(valid_id(id), "{at}: id `{id}`");
            }
            class_uses.push((cls.to_string(), ids));
            continue;
        }
        // A chain: NODE (LINK NODE)*, where NODE is an id with an optional shape and label.
        let mut rest = line;
        let mut prev: Option<String> = None;
        loop {
            let id_end = rest
                .find(|c: char| !(c.is_ascii_alphanumeric() || c == '_'))
                .unwrap_or(rest.len());
            let id = &rest[..id_end];
            ensure!(valid_id(id), "{at}: node id `{id}`");
            rest = &rest[id_end..];
            // A shape: one of the openers, a quoted label, the matching closer.
            let shapes = [
                ("([", "])"),
                ("[(", ")]"),
                ("[[", "]]"),
                ("[/", "/]"),
                ("{{", "}}"),
                ("[", "]"),
                (">", "]"),
            ];
            if let Some((open, close)) = shapes.iter().find(|(o, _)| rest.starts_with(o)) {
                let body = &rest[open.len()..];
                ensure!(body.starts_with('"'), "{at}: labels are quoted");
                let end_quote = body[1..].find('"').ok_or(format!("{at}: closing quote"))? + 1;
                let label = &body[1..end_quote];
                ensure!(!label.contains(['"', '\n']), "{at}: label");
                ensure!(
                    !label.contains('<') || label.replace("<br/>", "").find('<').is_none(),
                    "{at}: only <br/> as markup"
                );
                let after = &body[end_quote + 1..];
                ensure!(
                    after.starts_with(close),
                    "{at}: shape `{open}` closed by `{close}`"
                );
                rest = &after[close.len()..];
                nodes.insert(id.to_string());
            } else {
                ensure!(
                    nodes.contains(id) || subgraphs.contains(id),
                    "{at}: `{id}` is used before it is defined"
                );
            }
            if let Some(p) = prev.replace(id.to_string()) {
                links.push((p, id.to_string()));
            }
            rest = rest.trim_start();
            if rest.is_empty() {
                break;
            }
            // A link: ---, -->, -.->, ~~~, with an optional |"label"| after arrows.
            let link = ["-.->", "-->", "---", "~~~"]
                .iter()
                .find(|l| rest.starts_with(*l))
                .ok_or(format!("{at}: expected a link at `{rest}`"))?;
            rest = &rest[link.len()..];
            if let Some(r) = rest.strip_prefix("|\"") {
                let end = r.find("\"|").ok_or(format!("{at}: closing \"|"))?;
                ensure!(!r[..end].contains('"'), "{at}: link label");
                rest = &r[end + 2..];
            }
            rest = rest.trim_start();
        }
    }
    ensure!(depth == 0, "{name}: unbalanced subgraph/end");
    for (cls, ids) in &class_uses {
        ensure!(
            class_defs.contains(cls),
            "{name}: class `{cls}` never defined"
        );
        for id in ids {
            ensure!(
                nodes.contains(id),
                "{name}: class names unknown node `{id}`"
            );
        }
    }
    for (a, b) in &links {
        ensure!(nodes.contains(a) || subgraphs.contains(a), "{name}: {a}");
        ensure!(nodes.contains(b) || subgraphs.contains(b), "{name}: {b}");
    }
    ensure!(!nodes.is_empty(), "{name}: no nodes");
    Ok(())
}

/// Where Mermaid's own parser can be run: a directory with `node_modules/mermaid` and
/// `node_modules/jsdom` (`TFPARITY_MERMAID_DIR`, or `target/mermaid-check`, which `.ci/run`
/// fills with `npm install`), and `node` on PATH.
fn mermaid_parser() -> Option<PathBuf> {
    let dir = std::env::var_os("TFPARITY_MERMAID_DIR")
        .map(PathBuf::from)
        .unwrap_or_else(|| root().join("target/mermaid-check"));
    let has = |m: &str| {
        dir.join("node_modules")
            .join(m)
            .join("package.json")
            .exists()
    };
    let node = Command::new("node")
        .arg("--version")
        .output()
        .map(|o| o.status.success())
        .unwrap_or(false);
    (node && has("mermaid") && has("jsdom")).then_some(dir)
}

const PARSE_SCRIPT: &str = r#"
import { JSDOM } from 'jsdom';
import { readFileSync } from 'fs';
const dom = new JSDOM('<!DOCTYPE html><body></body>');
globalThis.window = dom.window;
globalThis.document = dom.window.document;
const { default: mermaid } = await import('mermaid');
mermaid.initialize({ startOnLoad: false });
let bad = 0;
for (const f of process.argv.slice(2)) {
  try {
    const r = await mermaid.parse(readFileSync(f, 'utf8'));
    console.log('ok', f, r.diagramType);
  } catch (e) {
    bad++;
    console.log('FAIL', f, String((e && e.message) || e));
  }
}
process.exit(bad ? 1 : 0);
"#;

fn mermaid_outputs() -> Vec<(String, String)> {
    let mut out = Vec::new();
    for (name, args) in [
        ("dev", vec!["dev"]),
        ("all", vec![]),
        ("roles", vec!["--roles", "--today", TODAY]),
        (
            "hcl directories",
            vec![
                "--env",
                "dev=infra/envs/dev",
                "--env",
                "prod=infra/envs/prod",
            ],
        ),
    ] {
        let mut a = args.clone();
        a.extend(["--format", "mermaid"]);
        out.push((name.to_string(), graph(&a).stdout));
    }
    // The block the markdown report embeds.
    let md = run(
        tfparity(),
        &["check", "--format", "markdown", "--today", TODAY],
    );
    md.expect_code(1);
    let start = md.stdout.find("```mermaid\n").expect("a mermaid block") + 11;
    let end = start + md.stdout[start..].find("```").expect("closed");
    out.push(("markdown report".into(), md.stdout[start..end].to_string()));
    out
}

#[test]
fn mermaid_outputs_follow_the_grammar() {
    let outputs = mermaid_outputs();
    for (name, text) in &outputs {
        check_mermaid(name, text);
    }
    let Some(dir) = mermaid_parser() else {
        println!(
            "skipped: Mermaid's own parser is not installed (node with mermaid and jsdom in target/mermaid-check or TFPARITY_MERMAID_DIR; .ci/run installs them): checked the grammar's basics only"
        );
        return;
    };
    let tmp = tempfile::tempdir().expect("tempdir");
    let script = dir.join("tfparity-mermaid-parse.mjs");
    std::fs::write(&script, PARSE_SCRIPT).expect("write script");
    let mut files = Vec::new();
    for (i, (_, text)) in outputs.iter().enumerate() {
        let p = tmp.path().join(format!("m{i}.mmd"));
        std::fs::write(&p, text).expect("write");
        files.push(p);
    }
    let out = Command::new("node")
        .arg(&script)
        .args(&files)
        .current_dir(&dir)
        .output()
        .expect("node runs");
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(
        out.status.success(),
        "Mermaid's parser rejected an output:\n{stdout}\n{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert_eq!(
        stdout.matches("ok ").count(),
        outputs.len(),
        "every output parsed: {stdout}"
    );
    // The check itself catches a broken chart.
    let bad = tmp.path().join("bad.mmd");
    std::fs::write(&bad, "flowchart LR\n  a[\"x\"] --> b(\n").expect("write");
    let out = Command::new("node")
        .arg(&script)
        .arg(&bad)
        .current_dir(&dir)
        .output()
        .expect("node runs");
    assert!(!out.status.success(), "a broken chart is rejected");
}

#[test]
fn the_grammar_check_rejects_what_mermaid_rejects() {
    for bad in [
        "flowchart LR\n  a[\"x\"] --> end[\"y\"]\n",
        "flowchart LR\n  a[\"x \"quoted\"\"]\n",
        "flowchart LR\n  subgraph s[\"s\"]\n  a[\"x\"]\n",
        "flowchart LR\n  a[\"x\"] --> b\n",
        "flowchart LR\n  a[\"x\"]\n  class a undefined\n",
    ] {
        assert!(mermaid_problem("bad", bad).is_err(), "accepted:\n{bad}");
    }
}

// ---------------------------------------------------------------------------------------
// Content.

fn graph_json(args: &[&str]) -> Value {
    let mut a = args.to_vec();
    a.extend(["--format", "json"]);
    graph(&a).json()
}

fn env_of<'v>(doc: &'v Value, name: &str) -> &'v Value {
    doc["environments"]
        .as_array()
        .expect("environments")
        .iter()
        .find(|e| e["name"] == name)
        .unwrap_or_else(|| panic!("no environment {name}"))
}

fn node<'v>(env: &'v Value, address: &str) -> &'v Value {
    env["nodes"]
        .as_array()
        .expect("nodes")
        .iter()
        .find(|n| n["address"] == address)
        .unwrap_or_else(|| panic!("no node {address}"))
}

#[test]
fn clusters_hold_what_belongs_to_one_service() {
    let doc = graph_json(&["prod"]);
    assert_eq!(doc["kind"], "resource_graph");
    let prod = env_of(&doc, "prod");
    let backend = node(
        prod,
        "module.service[\"jualuma-backend\"].google_cloud_run_v2_service.this",
    );
    assert_eq!(backend["category"], "service");
    let cluster = backend["cluster"]
        .as_str()
        .expect("a service has a cluster");
    for (address, category) in [
        ("google_service_account.cr_backend", "service_account"),
        ("google_sql_database_instance.main", "sql"),
        ("google_secret_manager_secret.database_url", "secret"),
        (
            "google_compute_region_network_endpoint_group.run[\"jualuma-backend\"]",
            "load_balancer",
        ),
        (
            "module.service[\"jualuma-backend\"].google_cloud_run_v2_service_iam_member.invoker[0]",
            "iam",
        ),
    ] {
        let n = node(prod, address);
        assert_eq!(n["category"], category, "{address}");
        assert_eq!(n["cluster"], cluster, "{address} is drawn with the backend");
    }
    // Shared load balancer pieces stand outside every service.
    for address in [
        "google_compute_url_map.lb",
        "google_compute_target_https_proxy.lb",
        "google_compute_global_forwarding_rule.lb",
    ] {
        assert!(node(prod, address)["cluster"].is_null(), "{address}");
    }
    // Typed edges.
    let id = |a: &str| node(prod, a)["id"].as_str().unwrap().to_string();
    let edges: BTreeSet<(String, String, String)> = prod["edges"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| {
            (
                e["from"].as_str().unwrap().to_string(),
                e["to"].as_str().unwrap().to_string(),
                e["kind"].as_str().unwrap().to_string(),
            )
        })
        .collect();
    let svc = id("module.service[\"jualuma-backend\"].google_cloud_run_v2_service.this");
    for (to, kind) in [
        ("google_service_account.cr_backend", "runs_as"),
        ("google_sql_database_instance.main", "attaches_sql"),
        ("google_secret_manager_secret.database_url", "reads_secret"),
    ] {
        assert!(
            edges.contains(&(svc.clone(), id(to), kind.to_string())),
            "backend {kind} {to}"
        );
    }
    // A service on a default account, which is no resource, says so.
    let frontend = node(
        prod,
        "module.service[\"frontend-app\"].google_cloud_run_v2_service.this",
    );
    assert!(
        frontend["detail"]
            .as_str()
            .unwrap()
            .contains("runs as the default compute service account"),
        "{frontend}"
    );
}

#[test]
fn node_ids_are_stable_and_unique() {
    let alone = graph_json(&["prod"]);
    let all = graph_json(&[]);
    let ids = |env: &Value| -> BTreeMap<String, String> {
        env["nodes"]
            .as_array()
            .unwrap()
            .iter()
            .map(|n| {
                (
                    n["address"].as_str().unwrap().to_string(),
                    n["id"].as_str().unwrap().to_string(),
                )
            })
            .collect()
    };
    let a = ids(env_of(&alone, "prod"));
    assert_eq!(a, ids(env_of(&all, "prod")), "same ids alone or with dev");
    let dev = ids(env_of(&all, "dev"));
    let unique: BTreeSet<&String> = a.values().chain(dev.values()).collect();
    assert_eq!(unique.len(), a.len() + dev.len(), "ids are unique");
    for id in unique {
        assert!(
            id.chars().all(|c| c.is_ascii_alphanumeric() || c == '_'),
            "{id}"
        );
    }
    // Byte-identical across runs, in every format.
    for format in ["dot", "mermaid", "json"] {
        for args in [vec![], vec!["--roles", "--today", TODAY]] {
            let mut a = args.clone();
            a.extend(["--format", format]);
            assert_eq!(graph(&a).stdout, graph(&a).stdout, "{format} {args:?}");
        }
    }
}

#[test]
fn roles_view_says_what_the_report_says() {
    let doc = graph_json(&["--roles", "--today", TODAY]);
    assert_eq!(doc["kind"], "roles");
    assert_eq!(doc["reference"], "dev");
    let rows = doc["rows"].as_array().unwrap();
    let roles: Vec<&str> = rows.iter().map(|r| r["role"].as_str().unwrap()).collect();
    assert_eq!(
        roles,
        ["user-app", "marketing", "support", "backend", "approvals"]
    );
    let cell = |role: &str, env: &str| -> &Value {
        rows.iter().find(|r| r["role"] == role).unwrap()["cells"]
            .as_array()
            .unwrap()
            .iter()
            .find(|c| c["environment"] == env)
            .unwrap()
    };
    let issues = |c: &Value| -> BTreeMap<String, String> {
        c["issues"]
            .as_array()
            .unwrap()
            .iter()
            .map(|i| {
                (
                    i["check"].as_str().unwrap().to_string(),
                    i["status"].as_str().unwrap().to_string(),
                )
            })
            .collect()
    };
    assert_eq!(cell("user-app", "prod")["services"][0], "frontend-app");
    assert_eq!(cell("user-app", "dev")["status"], "PASS");
    let approvals = cell("approvals", "prod");
    assert_eq!(approvals["services"].as_array().unwrap().len(), 0);
    assert_eq!(approvals["status"], "FAIL");
    assert_eq!(issues(approvals)["role_coverage"], "FAIL");
    let backend = issues(cell("backend", "prod"));
    assert_eq!(backend["network"], "FAIL");
    assert_eq!(backend["env_keys"], "FAIL");
    assert_eq!(backend["ingress"], "INTENTIONAL_DIFF");
    assert_eq!(
        issues(cell("support", "prod"))["service_accounts"],
        "REVIEW_REQUIRED"
    );

    // The DOT and Mermaid views carry the same words, the colours and a legend.
    let dot = graph(&["--roles", "--today", TODAY]).stdout;
    let mermaid = graph(&["--roles", "--today", TODAY, "--format", "mermaid"]).stdout;
    for text in [&dot, &mermaid] {
        assert!(text.contains("FAIL: env_keys, network"), "{text}");
        assert!(text.contains("(no service)"), "{text}");
        assert!(text.contains("INTENTIONAL_DIFF"), "{text}");
        assert!(text.contains("legend"), "{text}");
        assert!(text.contains("#fee2e2"), "the FAIL colour: {text}");
    }
}

#[test]
fn without_a_contract_unpaired_services_have_their_own_row() {
    let dir = tempfile::tempdir().unwrap();
    let dev = format!("dev={}", dev_plan().display());
    let prod = format!("prod={}", prod_plan().display());
    let r = run(
        common::tfparity_in(dir.path()),
        &[
            "graph", "--roles", "--env", &dev, "--env", &prod, "--format", "json",
        ],
    );
    r.expect_code(0);
    let doc = r.json();
    let rows = doc["rows"].as_array().unwrap();
    // Paired by name: only the backend has the same name in both.
    let backend = rows
        .iter()
        .find(|r| r["role"] == "jualuma-backend")
        .unwrap();
    assert_eq!(backend["cells"][1]["services"][0], "jualuma-backend");
    let frontend = rows.iter().find(|r| r["role"] == "frontend-app").unwrap();
    assert_eq!(
        frontend["cells"][0]["services"].as_array().unwrap().len(),
        0
    );
    assert_eq!(frontend["cells"][0]["status"], "FAIL");
}

#[test]
fn the_markdown_report_embeds_the_roles_diagram_unless_told_not_to() {
    let by_default = run(
        tfparity(),
        &["check", "--format", "markdown", "--today", TODAY],
    );
    by_default.expect_code(1);
    assert!(by_default.stdout.contains("## Roles Across Environments"));
    assert!(by_default.stdout.contains("```mermaid\nflowchart LR\n"));
    let never = run(
        tfparity(),
        &[
            "check",
            "--format",
            "markdown",
            "--today",
            TODAY,
            "--roles-diagram",
            "never",
        ],
    );
    never.expect_code(1);
    assert!(!never.stdout.contains("```mermaid"));
    assert!(!never.stdout.contains("## Roles Across Environments"));
    // Everything else is the same report.
    let without: String = by_default.stdout.replace(
        &by_default.stdout[by_default
            .stdout
            .find("\n## Roles Across Environments")
            .unwrap()..by_default.stdout.find("\n## Details").unwrap()],
        "",
    );
    assert_eq!(without, never.stdout);
}

/// Env var values and sensitive values of the fixtures: none may appear in any output.
fn secrets_of_the_fixtures() -> Vec<String> {
    let mut out = BTreeSet::new();
    fn walk(v: &Value, out: &mut BTreeSet<String>) {
        match v {
            Value::Object(m) => {
                if let (Some(Value::String(val)), Some(Value::String(_))) =
                    (m.get("value"), m.get("name"))
                    && val.len() >= 12
                {
                    out.insert(val.clone());
                }
                if let Some(Value::String(s)) = m.get("secret_data") {
                    out.insert(s.clone());
                }
                for x in m.values() {
                    walk(x, out);
                }
            }
            Value::Array(a) => a.iter().for_each(|x| walk(x, out)),
            _ => {}
        }
    }
    for p in [dev_plan(), prod_plan()] {
        let v: Value = serde_json::from_str(&std::fs::read_to_string(p).unwrap()).unwrap();
        walk(&v, &mut out);
    }
    out.into_iter().collect()
}

#[test]
fn no_env_var_value_or_secret_gets_out() {
    let secrets = secrets_of_the_fixtures();
    assert!(
        secrets.iter().any(|s| s.starts_with("https://")),
        "the fixtures have env var values to look for: {secrets:?}"
    );
    for format in ["dot", "mermaid", "json"] {
        for args in [vec![], vec!["--roles", "--today", TODAY]] {
            let mut a = args.clone();
            a.extend(["--format", format]);
            let out = graph(&a).stdout;
            for s in &secrets {
                assert!(!out.contains(s.as_str()), "`{s}` in graph {a:?}");
            }
        }
    }
}

#[test]
fn unknown_environments_and_bad_combinations_are_usage_errors() {
    let r = run(tfparity(), &["graph", "prd"]);
    r.expect_code(2);
    assert!(r.stderr.contains("did you mean `prod`?"), "{}", r.stderr);
    let r = run(tfparity(), &["graph", "dev", "--roles"]);
    r.expect_code(2);
    let r = run(tfparity(), &["graph", "--format", "svg"]);
    r.expect_code(2);
}

#[test]
fn output_file_is_written() {
    let dir = tempfile::tempdir().unwrap();
    let out: &Path = &dir.path().join("g.dot");
    let r = run(
        tfparity(),
        &["graph", "dev", "--output", out.to_str().unwrap()],
    );
    r.expect_code(0);
    assert_eq!(r.stdout, "");
    assert_eq!(
        std::fs::read_to_string(out).unwrap(),
        graph(&["dev"]).stdout
    );
}
