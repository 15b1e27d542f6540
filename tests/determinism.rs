//! The same input gives the same bytes, in every format: run twice, and when the input says
//! the same thing in another order. The plans are rewritten with `resource_changes`, the
//! planned values' resources and child modules, the configuration's resources, set-like arrays
//! (a Cloud Run container's env vars, a URL map's host rules and hosts, with their unknown and
//! sensitive marks) permuted and every JSON object's keys in reverse order; the Terraform
//! directories get their files renamed (so they are listed in another order) and their last
//! block moved to a file of its own. Outputs must be byte-identical, except for positions
//! inside the plan files (which moved) and the renamed files' names (mapped back: a moved block
//! keeps its line numbers, so its locations stay comparable).

mod common;

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::process::Command;

use common::{copy_dir, root};
use serde_json::Value;

const TODAY: &str = "2026-11-29";

/// A fixed permutation of `0..n` that moves elements whenever `n >= 2`: reversed, then rotated
/// by a third (a reflection, never the identity).
fn permutation(n: usize) -> Vec<usize> {
    let mut p: Vec<usize> = (0..n).rev().collect();
    if n > 2 {
        p.rotate_left(n / 3);
    }
    p
}

fn permute_vec(items: &mut Vec<Value>) {
    let old = std::mem::take(items);
    let order = permutation(old.len());
    let mut slots: Vec<Option<Value>> = old.into_iter().map(Some).collect();
    *items = order.iter().map(|&i| slots[i].take().unwrap()).collect();
}

/// Permutes the array at `key` of `values` and the arrays at the same place in its mark trees
/// (Terraform's `after_unknown` / `after_sensitive` align with the values by position).
fn permute_aligned(values: &mut Value, marks: &mut [&mut Value], key: &str) {
    let Some(items) = values.get_mut(key).and_then(Value::as_array_mut) else {
        return;
    };
    let n = items.len();
    permute_vec(items);
    for m in marks.iter_mut() {
        if let Some(arr) = m.get_mut(key).and_then(Value::as_array_mut)
            && arr.len() == n
        {
            permute_vec(arr);
        }
    }
}

/// Applies `f` to the element `i` of the array at `key` in values and marks alike.
fn each_aligned(
    values: &mut Value,
    marks: &mut [&mut Value],
    key: &str,
    f: &mut dyn FnMut(&mut Value, &mut [&mut Value]),
) {
    let Some(n) = values.get(key).and_then(Value::as_array).map(Vec::len) else {
        return;
    };
    for i in 0..n {
        let v = &mut values[key][i];
        let mut sub: Vec<Value> = marks
            .iter()
            .map(|m| {
                m.get(key)
                    .and_then(|a| a.get(i))
                    .cloned()
                    .unwrap_or(Value::Null)
            })
            .collect();
        {
            let mut refs: Vec<&mut Value> = sub.iter_mut().collect();
            f(v, &mut refs);
        }
        for (m, s) in marks.iter_mut().zip(sub) {
            if let Some(slot) = m.get_mut(key).and_then(|a| a.get_mut(i)) {
                *slot = s;
            }
        }
    }
}

/// Permutes the set-like arrays of one resource's values (and its marks).
fn shuffle_sets(rtype: &str, values: &mut Value, marks: &mut [&mut Value]) {
    match rtype {
        "google_cloud_run_v2_service" | "google_cloud_run_v2_job" => {
            each_aligned(values, marks, "template", &mut |t, tm| {
                each_aligned(t, tm, "containers", &mut |c, cm| {
                    permute_aligned(c, cm, "env");
                });
            });
        }
        "google_compute_url_map" => {
            permute_aligned(values, marks, "host_rule");
            each_aligned(values, marks, "host_rule", &mut |h, hm| {
                permute_aligned(h, hm, "hosts");
            });
        }
        _ => {}
    }
}

fn shuffle_module(module: &mut Value) {
    if let Some(rs) = module.get_mut("resources").and_then(Value::as_array_mut) {
        for r in rs.iter_mut() {
            let rtype = r["type"].as_str().unwrap_or_default().to_string();
            let mut sens = r
                .get_mut("sensitive_values")
                .map(Value::take)
                .unwrap_or(Value::Null);
            if let Some(values) = r.get_mut("values") {
                shuffle_sets(&rtype, values, &mut [&mut sens]);
            }
            if !sens.is_null() {
                r["sensitive_values"] = sens;
            }
        }
        permute_vec(rs);
    }
    if let Some(cs) = module
        .get_mut("child_modules")
        .and_then(Value::as_array_mut)
    {
        for c in cs.iter_mut() {
            shuffle_module(c);
        }
        permute_vec(cs);
    }
}

fn shuffle_config_module(module: &mut Value) {
    if let Some(rs) = module.get_mut("resources").and_then(Value::as_array_mut) {
        permute_vec(rs);
    }
    if let Some(calls) = module
        .get_mut("module_calls")
        .and_then(Value::as_object_mut)
    {
        for call in calls.values_mut() {
            if let Some(m) = call.get_mut("module") {
                shuffle_config_module(m);
            }
        }
    }
}

/// The plan with everything whose order carries no meaning in another order.
fn shuffled_plan(text: &str) -> Value {
    let mut plan: Value = serde_json::from_str(text).unwrap();
    for rc in plan["resource_changes"].as_array_mut().unwrap() {
        let rtype = rc["type"].as_str().unwrap().to_string();
        let change = &mut rc["change"];
        for (side, mark_keys) in [
            ("after", &["after_unknown", "after_sensitive"][..]),
            ("before", &["before_sensitive"][..]),
        ] {
            let mut marks: Vec<Value> = mark_keys.iter().map(|k| change[*k].take()).collect();
            let mut refs: Vec<&mut Value> = marks.iter_mut().collect();
            shuffle_sets(&rtype, &mut change[side], &mut refs);
            for (k, m) in mark_keys.iter().zip(marks) {
                change[*k] = m;
            }
        }
    }
    permute_vec(plan["resource_changes"].as_array_mut().unwrap());
    shuffle_module(&mut plan["planned_values"]["root_module"]);
    if plan.get("prior_state").is_some() {
        shuffle_module(&mut plan["prior_state"]["values"]["root_module"]);
    }
    shuffle_config_module(&mut plan["configuration"]["root_module"]);
    if let Some(ra) = plan
        .get_mut("relevant_attributes")
        .and_then(Value::as_array_mut)
    {
        permute_vec(ra);
    }
    plan
}

/// JSON text with every object's keys in reverse order (serde_json writes them sorted), pretty
/// printed: another layout, other byte offsets, the same document.
fn write_reversed(v: &Value, indent: usize, out: &mut String) {
    let pad = |n: usize| "  ".repeat(n);
    match v {
        Value::Object(m) if !m.is_empty() => {
            out.push_str("{\n");
            let keys: Vec<&String> = m.keys().rev().collect();
            for (i, k) in keys.iter().enumerate() {
                out.push_str(&pad(indent + 1));
                out.push_str(&serde_json::to_string(k).unwrap());
                out.push_str(": ");
                write_reversed(&m[*k], indent + 1, out);
                if i + 1 < keys.len() {
                    out.push(',');
                }
                out.push('\n');
            }
            out.push_str(&pad(indent));
            out.push('}');
        }
        Value::Array(a) if !a.is_empty() => {
            out.push_str("[\n");
            for (i, item) in a.iter().enumerate() {
                out.push_str(&pad(indent + 1));
                write_reversed(item, indent + 1, out);
                if i + 1 < a.len() {
                    out.push(',');
                }
                out.push('\n');
            }
            out.push_str(&pad(indent));
            out.push(']');
        }
        other => out.push_str(&serde_json::to_string(other).unwrap()),
    }
}

// ---------------------------------------------------------------------------------------------
// Workspaces

/// The byte offsets where the top-level blocks of an HCL file start (a line beginning with a
/// block keyword), with the comment lines right above each.
fn block_starts(text: &str) -> Vec<usize> {
    const KEYWORDS: [&str; 8] = [
        "resource ",
        "data ",
        "module ",
        "locals ",
        "variable ",
        "output ",
        "provider ",
        "terraform ",
    ];
    let mut starts = Vec::new();
    let mut offset = 0;
    let mut comment_start: Option<usize> = None;
    for line in text.split_inclusive('\n') {
        if line.starts_with('#') {
            comment_start.get_or_insert(offset);
        } else {
            if KEYWORDS.iter().any(|k| line.starts_with(k)) {
                starts.push(comment_start.unwrap_or(offset));
            }
            comment_start = None;
        }
        offset += line.len();
    }
    starts
}

/// Renames every `.tf` file of `dir` so that they sort (and list) in another order, and moves
/// the last block of each file with several into a file of its own, at the same line (blank
/// lines above it). Returns new relative path → old relative path (relative to `base`).
fn reshuffle_terraform_dir(base: &Path, dir: &Path) -> BTreeMap<String, String> {
    let rel = |p: &Path| {
        p.strip_prefix(base)
            .unwrap()
            .display()
            .to_string()
            .replace('\\', "/")
    };
    let mut files: Vec<PathBuf> = std::fs::read_dir(dir)
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| p.extension().is_some_and(|e| e == "tf"))
        .collect();
    files.sort();
    let n = files.len();
    let mut map = BTreeMap::new();
    for (i, f) in files.iter().enumerate() {
        let text = std::fs::read_to_string(f).unwrap();
        let name = f.file_name().unwrap().to_string_lossy().to_string();
        let stem = name.trim_end_matches(".tf");
        std::fs::remove_file(f).unwrap();
        let starts = block_starts(&text);
        let kept = if starts.len() >= 2 {
            let at = *starts.last().unwrap();
            let lines_above = text[..at].matches('\n').count();
            let tail = dir.join(format!("a{:02}_{stem}_tail.tf", n - i));
            std::fs::write(
                &tail,
                format!("{}{}", "\n".repeat(lines_above), &text[at..]),
            )
            .unwrap();
            map.insert(rel(&tail), rel(f));
            &text[..at]
        } else {
            &text[..]
        };
        let renamed = dir.join(format!("z{:02}_{name}", n - i));
        std::fs::write(&renamed, kept).unwrap();
        map.insert(rel(&renamed), rel(f));
    }
    map
}

/// A directory with the example's plans, Terraform and contracts. `shuffled`: the same inputs,
/// reordered. Returns it and the renamed files (new → old).
fn workspace(shuffled: bool) -> (tempfile::TempDir, BTreeMap<String, String>) {
    let dir = tempfile::tempdir().unwrap();
    let p = dir.path();
    std::fs::create_dir_all(p.join("plans")).unwrap();
    std::fs::create_dir_all(p.join("nocontract")).unwrap();
    for env in ["dev", "prod"] {
        let text = std::fs::read_to_string(root().join(format!("fixtures/plans/{env}.plan.json")))
            .unwrap();
        let out = if shuffled {
            let plan = shuffled_plan(&text);
            let mut s = String::new();
            write_reversed(&plan, 0, &mut s);
            s.push('\n');
            // The same document, in another order.
            let reparsed: Value = serde_json::from_str(&s).unwrap();
            assert_eq!(reparsed, plan);
            assert_ne!(
                plan,
                serde_json::from_str::<Value>(&text).unwrap(),
                "the shuffle changes the plan"
            );
            s
        } else {
            text
        };
        std::fs::write(p.join(format!("plans/{env}.plan.json")), out).unwrap();
    }
    copy_dir(&root().join("infra"), &p.join("infra"));
    let mut renamed = BTreeMap::new();
    if shuffled {
        for sub in ["envs/dev", "envs/prod", "modules/cloud-run-service"] {
            renamed.extend(reshuffle_terraform_dir(p, &p.join("infra").join(sub)));
        }
    }
    let contract = std::fs::read_to_string(root().join("parity.hcl")).unwrap();
    let with_workflows = |text: &str, dev: &str, prod: &str| {
        text.replace(
            "sources = [\"fixtures/plans/dev.plan.json\"]",
            &format!("sources = [\"{dev}\"]\n  workflows = [\"infra/workflows/deploy-dev.yml\"]"),
        )
        .replace(
            "sources = [\"fixtures/plans/prod.plan.json\"]",
            &format!("sources = [\"{prod}\"]\n  workflows = [\"infra/workflows/deploy-prod.yml\"]"),
        )
    };
    std::fs::write(
        p.join("parity.hcl"),
        with_workflows(&contract, "plans/dev.plan.json", "plans/prod.plan.json"),
    )
    .unwrap();
    std::fs::write(
        p.join("parity-hcl.hcl"),
        with_workflows(&contract, "infra/envs/dev", "infra/envs/prod"),
    )
    .unwrap();
    (dir, renamed)
}

// ---------------------------------------------------------------------------------------------
// Runs

fn bin() -> PathBuf {
    PathBuf::from(env!("CARGO_BIN_EXE_tfparity"))
}

#[derive(Clone)]
struct Case {
    what: String,
    cwd: &'static str,
    args: Vec<String>,
}

struct Output {
    code: Option<i32>,
    stdout: String,
    stderr: String,
}

fn run(dir: &Path, case: &Case) -> Output {
    let out = Command::new(bin())
        .args(&case.args)
        .current_dir(dir.join(case.cwd))
        .env_remove("NO_COLOR")
        .env_remove("CLICOLOR")
        .env_remove("CLICOLOR_FORCE")
        .env_remove("FORCE_COLOR")
        .output()
        .expect("tfparity runs");
    Output {
        code: out.status.code(),
        stdout: String::from_utf8(out.stdout).expect("UTF-8 stdout"),
        stderr: String::from_utf8(out.stderr).expect("UTF-8 stderr"),
    }
}

/// Runs every case in `dir` on a few threads; outputs in the order of `cases`.
fn run_all(dir: &Path, cases: &[Case]) -> Vec<Output> {
    let threads = 4;
    let mut slots: Vec<Option<Output>> = (0..cases.len()).map(|_| None).collect();
    std::thread::scope(|s| {
        let handles: Vec<_> = (0..threads)
            .map(|t| {
                s.spawn(move || {
                    (t..cases.len())
                        .step_by(threads)
                        .map(|i| (i, run(dir, &cases[i])))
                        .collect::<Vec<_>>()
                })
            })
            .collect();
        for h in handles {
            for (i, o) in h.join().unwrap() {
                slots[i] = Some(o);
            }
        }
    });
    slots.into_iter().map(Option::unwrap).collect()
}

fn formats(command: &str) -> Vec<String> {
    let out = Command::new(bin())
        .args([command, "--help"])
        .output()
        .unwrap();
    let help = String::from_utf8(out.stdout).unwrap();
    let lines: Vec<&str> = help.lines().collect();
    let start = lines
        .iter()
        .position(|l| l.trim_start().starts_with("--format "))
        .expect("--format in the help");
    if let Some(i) = lines[start].find("[possible values: ") {
        return lines[start][i + "[possible values: ".len()..]
            .trim_end_matches(']')
            .split(", ")
            .map(str::to_string)
            .collect();
    }
    lines[start + 1..]
        .iter()
        .map(|l| l.trim_start())
        .take_while(|t| !t.starts_with("--") && !t.starts_with("-h"))
        .filter_map(|t| t.strip_prefix("- "))
        .map(|t| t.split(':').next().unwrap().trim().to_string())
        .collect()
}

/// Every command and format whose output must not depend on input order, on each input.
fn cases() -> Vec<Case> {
    let inputs: [(&str, &'static str, &[&str]); 4] = [
        ("plan", ".", &["--contract", "parity.hcl"]),
        ("hcl", ".", &["--contract", "parity-hcl.hcl"]),
        (
            "plan-no-contract",
            "nocontract",
            &[
                "--env",
                "dev=../plans/dev.plan.json",
                "--env",
                "prod=../plans/prod.plan.json",
            ],
        ),
        (
            "hcl-no-contract",
            "nocontract",
            &[
                "--env",
                "dev=../infra/envs/dev",
                "--env",
                "prod=../infra/envs/prod",
            ],
        ),
    ];
    let check = formats("check");
    let inventory = formats("inventory");
    let graph = formats("graph");
    assert_eq!(check.len(), 7, "{check:?}");
    assert_eq!(inventory.len(), 2, "{inventory:?}");
    assert_eq!(graph.len(), 3, "{graph:?}");
    let mut out = Vec::new();
    for (name, cwd, input) in inputs {
        let mut add = |args: &[&str]| {
            let mut all: Vec<String> = args.iter().map(|s| s.to_string()).collect();
            all.extend(input.iter().map(|s| s.to_string()));
            out.push(Case {
                what: format!("[{name}] {}", args.join(" ")),
                cwd,
                args: all,
            });
        };
        for f in &check {
            add(&["check", "--today", TODAY, "--verbose", "--format", f]);
        }
        for f in &inventory {
            add(&["inventory", "--format", f]);
        }
        for f in &graph {
            add(&["graph", "--format", f]);
            add(&["graph", "--roles", "--today", TODAY, "--format", f]);
        }
        add(&["contract", "init", "--output", "-"]);
        add(&["fix", "service-accounts"]);
    }
    out
}

// ---------------------------------------------------------------------------------------------
// Normalising what may differ

/// Replaces the numbers of positions inside plan JSON files (they moved with the shuffle):
/// `x.plan.json:1:2345`, `file=x.plan.json,line=1,col=2345`, and the line/column fields that
/// follow a `"...plan.json"` string in JSON outputs (report, SARIF, GitLab).
fn mask_plan_positions(text: &str) -> String {
    const MARK: &str = ".plan.json";
    let mut out = String::with_capacity(text.len());
    let mut recent_plan = 0usize; // lines left in which JSON position fields are masked
    for line in text.split_inclusive('\n') {
        let mut l = line.to_string();
        // Inline positions.
        let mut from = 0;
        while let Some(i) = l[from..].find(MARK) {
            let at = from + i + MARK.len();
            let rest = &l[at..];
            let (prefix_len, kind) = if rest.starts_with(':') {
                (1, "colon")
            } else if rest.starts_with(",line=") {
                (0, "github")
            } else {
                (0, "")
            };
            let masked = match kind {
                "colon" => mask_line_column(&rest[prefix_len..]),
                "github" => mask_github(rest),
                _ => None,
            };
            if let Some((consumed, replacement)) = masked {
                let end = at + prefix_len + consumed;
                l.replace_range(at + prefix_len..end, &replacement);
            }
            from = at;
        }
        if line.contains(&format!("{MARK}\"")) {
            recent_plan = 8;
        } else if recent_plan > 0 {
            recent_plan -= 1;
            for key in [
                "\"line\": ",
                "\"column\": ",
                "\"startLine\": ",
                "\"startColumn\": ",
                "\"endLine\": ",
                "\"endColumn\": ",
                "\"begin\": ",
                "\"end\": ",
            ] {
                if let Some(i) = l.find(key) {
                    let at = i + key.len();
                    let digits = l[at..].chars().take_while(char::is_ascii_digit).count();
                    if digits > 0 {
                        l.replace_range(at..at + digits, "N");
                    }
                }
            }
            if l.contains("\"file\"") || l.contains("\"uri\"") || l.contains("\"path\"") {
                recent_plan = 0;
            }
        }
        out.push_str(&l);
    }
    out
}

/// `1:2345` (digits separated by `:`) → `L:C`; returns how many bytes it covered.
fn mask_line_column(s: &str) -> Option<(usize, String)> {
    let a = s.chars().take_while(char::is_ascii_digit).count();
    if a == 0 {
        return None;
    }
    let rest = &s[a..];
    if let Some(r) = rest.strip_prefix(':') {
        let b = r.chars().take_while(char::is_ascii_digit).count();
        if b > 0 {
            return Some((a + 1 + b, "L:C".into()));
        }
    }
    Some((a, "L".into()))
}

/// `,line=1,col=2345[,endLine=…]` → `,line=L,col=C`.
fn mask_github(s: &str) -> Option<(usize, String)> {
    let mut consumed = 0;
    let mut out = String::new();
    let mut rest = s;
    while let Some(r) = rest.strip_prefix(',') {
        let Some(eq) = r.find('=') else { break };
        let key = &r[..eq];
        if !["line", "col", "endLine", "endColumn"].contains(&key) {
            break;
        }
        let digits = r[eq + 1..].chars().take_while(char::is_ascii_digit).count();
        out.push_str(&format!(",{key}=N"));
        consumed += 1 + eq + 1 + digits;
        rest = &r[eq + 1 + digits..];
    }
    (consumed > 0).then_some((consumed, out))
}

/// Maps the renamed Terraform files back to their names in the unshuffled workspace.
fn unrename(text: &str, renamed: &BTreeMap<String, String>) -> String {
    let mut out = text.to_string();
    for (new, old) in renamed {
        out = out.replace(new.as_str(), old.as_str());
        // Paths relative to a no-contract working directory, and bare file names.
        let new_name = new.rsplit('/').next().unwrap();
        let old_name = old.rsplit('/').next().unwrap();
        out = out.replace(new_name, old_name);
    }
    out
}

/// The first differing line of two texts, with its neighbours.
fn first_difference(a: &str, b: &str) -> String {
    let (al, bl): (Vec<&str>, Vec<&str>) = (a.lines().collect(), b.lines().collect());
    let i = al
        .iter()
        .zip(&bl)
        .position(|(x, y)| x != y)
        .unwrap_or(al.len().min(bl.len()));
    let show = |ls: &[&str]| {
        ls[i.saturating_sub(2)..(i + 3).min(ls.len())]
            .iter()
            .map(|l| {
                let cut: String = l.chars().take(240).collect();
                format!("    {cut}")
            })
            .collect::<Vec<_>>()
            .join("\n")
    };
    format!(
        "line {} (of {} / {}):\n  first:\n{}\n  second:\n{}",
        i + 1,
        al.len(),
        bl.len(),
        show(&al),
        show(&bl)
    )
}

fn check_outputs_ran(cases: &[Case], outputs: &[Output]) {
    for (c, o) in cases.iter().zip(outputs) {
        assert!(
            matches!(o.code, Some(0) | Some(1)),
            "{}: exit {:?}\n{}",
            c.what,
            o.code,
            o.stderr
        );
        assert!(!o.stdout.is_empty(), "{}: prints something", c.what);
    }
}

#[test]
fn every_format_is_byte_identical_run_twice_and_on_reordered_inputs() {
    let cases = cases();
    let (plain, none) = workspace(false);
    assert!(none.is_empty());
    let (shuffled, renamed) = workspace(true);
    assert!(renamed.len() >= 20, "{renamed:?}");

    let first = run_all(plain.path(), &cases);
    let second = run_all(plain.path(), &cases);
    let reordered = run_all(shuffled.path(), &cases);
    check_outputs_ran(&cases, &first);

    let mut problems = Vec::new();
    for (i, c) in cases.iter().enumerate() {
        let (a, b) = (&first[i], &second[i]);
        if a.stdout != b.stdout || a.stderr != b.stderr || a.code != b.code {
            problems.push(format!(
                "{}: differs between two runs: {}",
                c.what,
                first_difference(
                    &format!("{}\n{}", a.stdout, a.stderr),
                    &format!("{}\n{}", b.stdout, b.stderr)
                )
            ));
            continue;
        }
        let r = &reordered[i];
        // The workspace itself differs (an absolute path where a report shows one, e.g. a
        // SARIF URI outside the working directory).
        let (pa, pr) = (
            plain.path().display().to_string(),
            shuffled.path().display().to_string(),
        );
        let norm_a = |s: &str| mask_plan_positions(&s.replace(&pa, "<workspace>"));
        let norm_r =
            |s: &str| mask_plan_positions(&unrename(&s.replace(&pr, "<workspace>"), &renamed));
        let (sa, sr) = (norm_a(&a.stdout), norm_r(&r.stdout));
        let (ea, er) = (norm_a(&a.stderr), norm_r(&r.stderr));
        if a.code != r.code {
            problems.push(format!(
                "{}: exit {:?}, reordered {:?}\n{}",
                c.what, a.code, r.code, r.stderr
            ));
        } else if sa != sr {
            problems.push(format!(
                "{}: stdout differs on the reordered input: {}",
                c.what,
                first_difference(&sa, &sr)
            ));
        } else if ea != er {
            problems.push(format!(
                "{}: stderr differs on the reordered input: {}",
                c.what,
                first_difference(&ea, &er)
            ));
        }
    }
    assert!(
        problems.is_empty(),
        "{} of {} outputs are not deterministic:\n{}",
        problems.len(),
        cases.len(),
        problems.join("\n")
    );
}

#[test]
fn the_shuffle_reorders_what_it_says() {
    let text = std::fs::read_to_string(root().join("fixtures/plans/dev.plan.json")).unwrap();
    let original: Value = serde_json::from_str(&text).unwrap();
    let plan = shuffled_plan(&text);
    let addresses = |p: &Value| -> Vec<String> {
        p["resource_changes"]
            .as_array()
            .unwrap()
            .iter()
            .map(|r| r["address"].as_str().unwrap().to_string())
            .collect()
    };
    let (a, b) = (addresses(&original), addresses(&plan));
    assert_ne!(a, b);
    let (mut sa, mut sb) = (a.clone(), b.clone());
    sa.sort();
    sb.sort();
    assert_eq!(sa, sb, "the same resources");

    // The backend's env vars are permuted, their marks with them.
    let backend = |p: &Value| -> Value {
        p["resource_changes"]
            .as_array()
            .unwrap()
            .iter()
            .find(|r| {
                r["address"]
                    == "module.service[\"jualuma-backend\"].google_cloud_run_v2_service.this"
            })
            .unwrap()["change"]
            .clone()
    };
    let (ob, sb) = (backend(&original), backend(&plan));
    let keys = |c: &Value| -> Vec<String> {
        c["after"]["template"][0]["containers"][0]["env"]
            .as_array()
            .unwrap()
            .iter()
            .map(|e| e["name"].as_str().unwrap().to_string())
            .collect()
    };
    assert_ne!(keys(&ob), keys(&sb));
    let marks_by_key = |c: &Value| -> BTreeMap<String, Value> {
        keys(c)
            .into_iter()
            .zip(
                c["after_unknown"]["template"][0]["containers"][0]["env"]
                    .as_array()
                    .unwrap()
                    .iter()
                    .cloned(),
            )
            .collect()
    };
    assert_eq!(
        marks_by_key(&ob),
        marks_by_key(&sb),
        "marks move with their env var"
    );

    // Child modules and the configuration too.
    let children = |p: &Value| -> Vec<Value> {
        p["planned_values"]["root_module"]["child_modules"]
            .as_array()
            .unwrap()
            .iter()
            .map(|c| c["address"].clone())
            .collect()
    };
    assert_ne!(children(&original), children(&plan));
    assert_ne!(
        original["configuration"]["root_module"]["resources"],
        plan["configuration"]["root_module"]["resources"]
    );

    assert_eq!(permutation(0), Vec::<usize>::new());
    assert_eq!(permutation(1), [0]);
    for n in 2..40 {
        let p = permutation(n);
        assert_ne!(p, (0..n).collect::<Vec<_>>(), "n = {n}");
        let mut s = p.clone();
        s.sort();
        assert_eq!(s, (0..n).collect::<Vec<_>>());
    }
}

#[test]
fn the_normalisation_masks_only_plan_positions() {
    assert_eq!(
        mask_plan_positions("x (plans/dev.plan.json:1:45842) y infra/a.tf:3:4"),
        "x (plans/dev.plan.json:L:C) y infra/a.tf:3:4"
    );
    assert_eq!(
        mask_plan_positions("::error file=plans/dev.plan.json,line=1,col=45842,title=T::m"),
        "::error file=plans/dev.plan.json,line=N,col=N,title=T::m"
    );
    assert_eq!(
        mask_plan_positions(
            "\"file\": \"plans/dev.plan.json\",\n\"line\": 1,\n\"column\": 9\n\"file\": \"a.tf\",\n\"line\": 3,\n"
        ),
        "\"file\": \"plans/dev.plan.json\",\n\"line\": N,\n\"column\": N\n\"file\": \"a.tf\",\n\"line\": 3,\n"
    );
}
