//! Item 10: the deploy workflows of the environments do the same things (trigger, identity,
//! plan/apply steps, the parity gate) once environment names are taken out.

use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};

use yaml_rust2::{Yaml, YamlLoader};

use super::{CheckDef, CheckKind, Ctx};
use crate::finding::{Evidence, Finding, Status};
use crate::inventory::Span;
use crate::model::names::normalise;

pub static CHECK: CheckDef = CheckDef {
    number: 10,
    id: "PAR010",
    name: "deploy_workflows",
    title: "Deployment workflow parity",
    kind: CheckKind::Parity,
    impact: 2,
    attributes: &["trigger", "identity", "steps", "parity_gate"],
    docs: DOCS,
    run,
    fix,
};

const DOCS: &str = "\
## What it checks
The GitHub Actions workflow files each environment declares (`workflows = [...]` in its \
`environment` block). After replacing environment names and project ids with placeholders, \
they must agree on: triggers (`on:` events and branches), identity (the Workload Identity \
provider and service account of `google-github-actions/auth`, or a key), the Terraform and \
gcloud commands they run, and whether they run the parity gate (`tfparity`). A declared file \
that does not exist fails. When no environment declares its workflows, the item needs review: \
the tool lists the workflow files it found so they can be declared.

## Why it matters
Parity of infrastructure means little if prod is deployed by a different process: a prod \
pipeline without the plan step or the parity gate applies what nobody reviewed.

## Example
Dev deploys on push to `develop` with `terraform plan` + `tfparity check` + `terraform apply`; \
prod deploys on push to `main` but skips `tfparity check`: FAIL on `parity_gate`.

## How to fix
Make the workflows the same template with environment parameters, or declare the difference.

## Declaring an intentional difference
```hcl
environment \"prod\" {
  workflows = [\"infra/workflows/deploy-prod.yml\"]
}
intentional_difference \"prod-deploys-from-main\" {
  check     = \"deploy_workflows\"
  attribute = \"trigger\"
  reason    = \"Prod deploys from main after review; dev from develop.\"
}
```
";

/// What a set of workflow files does, normalised.
#[derive(Default, Debug, Clone, PartialEq)]
struct Summary {
    trigger: BTreeSet<String>,
    identity: BTreeSet<String>,
    steps: Vec<String>,
    parity_gate: bool,
}

impl Summary {
    fn get(&self, category: &str) -> String {
        match category {
            "trigger" => self.trigger.iter().cloned().collect::<Vec<_>>().join("; "),
            "identity" => self.identity.iter().cloned().collect::<Vec<_>>().join("; "),
            "steps" => self.steps.join(" → "),
            _ => if self.parity_gate {
                "runs tfparity"
            } else {
                "no tfparity step"
            }
            .to_string(),
        }
    }
}

fn text(y: &Yaml) -> Option<String> {
    match y {
        Yaml::String(s) | Yaml::Real(s) => Some(s.clone()),
        Yaml::Integer(i) => Some(i.to_string()),
        Yaml::Boolean(b) => Some(b.to_string()),
        _ => None,
    }
}

fn strings(y: &Yaml) -> Vec<String> {
    match y {
        Yaml::Array(a) => a.iter().filter_map(text).collect(),
        other => text(other).into_iter().collect(),
    }
}

fn summarise(docs: &[Yaml], norm: &dyn Fn(&str) -> String, out: &mut Summary) {
    for doc in docs {
        let on = &doc["on"];
        match on {
            Yaml::String(event) => {
                out.trigger.insert(event.clone());
            }
            Yaml::Array(events) => {
                for e in events.iter().filter_map(text) {
                    out.trigger.insert(e);
                }
            }
            Yaml::Hash(h) => {
                for (event, spec) in h {
                    let Some(event) = text(event) else { continue };
                    let mut parts = Vec::new();
                    for key in ["branches", "tags", "paths"] {
                        let vals: Vec<String> =
                            strings(&spec[key]).iter().map(|v| norm(v)).collect();
                        if !vals.is_empty() {
                            parts.push(format!("{key}={}", vals.join(",")));
                        }
                    }
                    out.trigger.insert(if parts.is_empty() {
                        event
                    } else {
                        format!("{event}({})", parts.join(" "))
                    });
                }
            }
            _ => {}
        }
        let Yaml::Hash(jobs) = &doc["jobs"] else {
            continue;
        };
        for (_, job) in jobs {
            let Yaml::Array(steps) = &job["steps"] else {
                continue;
            };
            for step in steps {
                let uses = text(&step["uses"]).unwrap_or_default();
                if uses.starts_with("google-github-actions/auth") {
                    let with = &step["with"];
                    let mut id = Vec::new();
                    if let Some(p) = text(&with["workload_identity_provider"]) {
                        id.push(format!("wif={}", norm(&p)));
                    }
                    if let Some(sa) = text(&with["service_account"]) {
                        id.push(format!("sa={}", norm(&sa)));
                    }
                    if text(&with["credentials_json"]).is_some() {
                        id.push("key=credentials_json".into());
                    }
                    out.identity.insert(id.join(" "));
                }
                let run = text(&step["run"]).unwrap_or_default();
                for line in run.lines().map(str::trim) {
                    for tool in ["terraform ", "gcloud ", "tfparity "] {
                        if let Some(rest) = line.strip_prefix(tool) {
                            let words: Vec<&str> = rest
                                .split_whitespace()
                                .filter(|w| !w.starts_with('-'))
                                .take(if tool == "gcloud " { 3 } else { 1 })
                                .collect();
                            out.steps.push(format!("{}{}", tool, words.join(" ")));
                            if tool == "tfparity " {
                                out.parity_gate = true;
                            }
                        }
                    }
                }
                if uses.contains("tfparity") {
                    out.parity_gate = true;
                    out.steps.push("tfparity (action)".into());
                }
            }
        }
    }
}

/// Replaces project numbers in resource paths (`projects/412345678901/locations/...`, the form
/// workload identity providers are written in) with `{project}`: the plan rarely shows a
/// project's number (only default service account emails carry it), and a workflow of one
/// environment names its own project there.
fn project_numbers(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    let mut rest = s;
    while let Some(i) = rest.find("projects/") {
        let (head, tail) = rest.split_at(i + "projects/".len());
        out.push_str(head);
        let end = tail.find('/').unwrap_or(tail.len());
        let segment = &tail[..end];
        if !segment.is_empty() && segment.bytes().all(|b| b.is_ascii_digit()) {
            out.push_str("{project}");
        } else {
            out.push_str(segment);
        }
        rest = &tail[end..];
    }
    out.push_str(rest);
    out
}

/// The largest workflow file read: a deploy workflow is a page or two of YAML.
const MAX_WORKFLOW_BYTES: u64 = 4 << 20;

/// The most YAML nodes a workflow may hold once its aliases are expanded (the YAML loader
/// copies each alias: nine levels of nine aliases, a "billion laughs", would take all memory).
const MAX_WORKFLOW_NODES: u64 = 1_000_000;

/// Reads a declared workflow for the YAML loader, refusing what would hang the check or take
/// all memory: a FIFO or a device (a symlink committed to a repository can point at
/// `/dev/zero`), more than [`MAX_WORKFLOW_BYTES`], or aliases expanding past
/// [`MAX_WORKFLOW_NODES`].
fn read_workflow(path: &Path) -> Result<String, String> {
    use std::io::Read;
    let meta = std::fs::metadata(path).map_err(|e| e.to_string())?;
    if !meta.is_file() {
        return Err("not a regular file".into());
    }
    let mut src = String::new();
    std::fs::File::open(path)
        .and_then(|f| f.take(MAX_WORKFLOW_BYTES + 1).read_to_string(&mut src))
        .map_err(|e| e.to_string())?;
    if src.len() as u64 > MAX_WORKFLOW_BYTES {
        return Err(format!(
            "over the {} MiB tfparity reads",
            MAX_WORKFLOW_BYTES >> 20
        ));
    }
    let nodes = expanded_nodes(&src);
    if nodes > MAX_WORKFLOW_NODES {
        return Err(format!(
            "its aliases expand to more than {MAX_WORKFLOW_NODES} YAML nodes"
        ));
    }
    Ok(src)
}

/// How many nodes the YAML documents in `src` hold once aliases are expanded, counted from the
/// parser's events without expanding anything. Syntax errors are left to the loader.
fn expanded_nodes(src: &str) -> u64 {
    use yaml_rust2::parser::{Event, EventReceiver, Parser};
    #[derive(Default)]
    struct Count {
        /// Open sequences and mappings: their anchor and size so far.
        open: Vec<(usize, u64)>,
        /// The size of each anchored node.
        anchored: std::collections::HashMap<usize, u64>,
        total: u64,
    }
    impl EventReceiver for Count {
        fn on_event(&mut self, ev: Event) {
            let (anchor, n) = match ev {
                Event::Scalar(_, _, anchor, _) => (anchor, 1),
                Event::Alias(id) => (0, self.anchored.get(&id).copied().unwrap_or(1)),
                Event::SequenceStart(anchor, _) | Event::MappingStart(anchor, _) => {
                    self.open.push((anchor, 1));
                    return;
                }
                Event::SequenceEnd | Event::MappingEnd => match self.open.pop() {
                    Some(done) => done,
                    None => return,
                },
                _ => return,
            };
            if anchor > 0 {
                self.anchored.insert(anchor, n);
            }
            match self.open.last_mut() {
                Some((_, size)) => *size = size.saturating_add(n),
                None => self.total = self.total.saturating_add(n),
            }
        }
    }
    let mut count = Count::default();
    let _ = Parser::new_from_str(src).load(&mut count, true);
    count.total
}

/// Workflow files under directories named `workflows`, for when none are declared.
fn discover(base: &Path) -> Vec<PathBuf> {
    let mut out = Vec::new();
    let mut stack = vec![(base.to_path_buf(), 0usize)];
    while let Some((dir, depth)) = stack.pop() {
        let Ok(entries) = std::fs::read_dir(&dir) else {
            continue;
        };
        for e in entries.flatten() {
            let p = e.path();
            let name = e.file_name().to_string_lossy().to_string();
            let Ok(ft) = e.file_type() else { continue };
            if ft.is_dir() {
                let skip = ["target", "node_modules", ".terraform", ".git"]
                    .contains(&name.as_str())
                    || (name.starts_with('.') && name != ".github");
                if !skip && depth < 5 {
                    stack.push((p, depth + 1));
                }
            } else if ft.is_file()
                && (name.ends_with(".yml") || name.ends_with(".yaml"))
                && dir.file_name().is_some_and(|d| d == "workflows")
            {
                out.push(p);
            }
        }
    }
    out.sort();
    out
}

fn run(ctx: &Ctx<'_>) -> Vec<Finding> {
    let base = &ctx.base_dir;
    let declared: Vec<(&str, &crate::contract::Spanned<Vec<PathBuf>>)> = ctx
        .models
        .iter()
        .filter_map(|m| {
            ctx.contract
                .env(&m.name)
                .and_then(|e| e.workflows.as_ref())
                .map(|w| (m.name.as_str(), w))
        })
        .collect();
    if declared.is_empty() {
        let found = discover(base);
        let mut f = Finding::new(
            Status::ReviewRequired,
            if found.is_empty() {
                "no deploy workflow files are declared in the contract, and none were found: deployment parity cannot be checked".to_string()
            } else {
                format!(
                    "no deploy workflow files are declared in the contract; {} workflow file(s) exist ({}) but which environment each deploys is not declared",
                    found.len(),
                    found.iter().map(|p| crate::report::display_path(p)).collect::<Vec<_>>().join(", ")
                )
            },
        )
        .envs(ctx.models.iter().map(|m| m.name.as_str()))
        .subject("workflows");
        for p in found {
            f = f.evidence(
                Evidence::default()
                    .attribute("workflow file")
                    .at(Some(Span::new(p, 1, 1))),
            );
        }
        return vec![f];
    }
    let mut out = Vec::new();
    let mut summaries: BTreeMap<&str, (Summary, Vec<Evidence>)> = BTreeMap::new();
    for model in ctx.models {
        let Some(files) = ctx
            .contract
            .env(&model.name)
            .and_then(|e| e.workflows.as_ref())
        else {
            out.push(
                Finding::new(
                    Status::ReviewRequired,
                    format!("no deploy workflow files are declared for {}", model.name),
                )
                .envs([model.name.as_str()])
                .subject("workflows"),
            );
            continue;
        };
        let tokens = model.project_tokens();
        let norm = |s: &str| project_numbers(&normalise(s, &model.name, &tokens));
        let mut summary = Summary::default();
        let mut evidence = Vec::new();
        let mut broken = false;
        for path in &files.value {
            let ev = Evidence::env(&model.name)
                .attribute("workflow file")
                .at(Some(Span::new(path.clone(), 1, 1)));
            match read_workflow(path) {
                Err(e) => {
                    broken = true;
                    out.push(
                        Finding::new(
                            Status::Fail,
                            format!(
                                "the declared workflow {} of {} cannot be read: {e}",
                                crate::report::display_path(path),
                                model.name
                            ),
                        )
                        .envs([model.name.as_str()])
                        .subject("workflows")
                        .evidence(
                            Evidence::env(&model.name)
                                .attribute("contract workflows")
                                .at(files.span.clone()),
                        ),
                    );
                }
                Ok(src) => match YamlLoader::load_from_str(&src) {
                    Err(e) => {
                        broken = true;
                        out.push(
                            Finding::new(
                                Status::Fail,
                                format!(
                                    "the declared workflow {} of {} is not valid YAML: {e}",
                                    crate::report::display_path(path),
                                    model.name
                                ),
                            )
                            .envs([model.name.as_str()])
                            .subject("workflows")
                            .evidence(Evidence::env(&model.name).at(Some(Span::new(
                                path.clone(),
                                e.marker().line(),
                                e.marker().col() + 1,
                            )))),
                        );
                    }
                    Ok(docs) => {
                        summarise(&docs, &norm, &mut summary);
                        evidence.push(ev);
                    }
                },
            }
        }
        if !broken {
            summaries.insert(model.name.as_str(), (summary, evidence));
        }
    }
    let reference = ctx.reference().name.as_str();
    let Some((ref_summary, ref_ev)) = summaries.get(reference).cloned() else {
        return out;
    };
    for env in ctx.others() {
        let Some((summary, ev)) = summaries.get(env.name.as_str()) else {
            continue;
        };
        let mut same = Vec::new();
        for category in ["trigger", "identity", "steps", "parity_gate"] {
            let (a, b) = (ref_summary.get(category), summary.get(category));
            if a == b {
                same.push(category);
                continue;
            }
            let actual = BTreeMap::from([
                (reference.to_string(), a.clone()),
                (env.name.clone(), b.clone()),
            ]);
            let mut f = ctx.difference(
                &super::Diff::new(&CHECK, None, &env.name, category).values(actual),
                ctx.undeclared(false),
                format!(
                    "deploy workflows differ in {category}: {reference} `{a}`, {} `{b}`",
                    env.name
                ),
            );
            f.evidence.extend(ref_ev.iter().cloned());
            f.evidence.extend(ev.iter().cloned());
            out.push(f);
        }
        if same.len() == 4 {
            let mut f = Finding::new(Status::Pass, format!("deploy workflows of {reference} and {} agree on triggers, identity, steps and the parity gate", env.name))
                .envs([reference, env.name.as_str()])
                .subject("workflows");
            f.evidence.extend(ref_ev.iter().cloned());
            f.evidence.extend(ev.iter().cloned());
            out.push(f);
        }
    }
    out
}

fn fix(fails: &[&Finding]) -> String {
    let items: Vec<String> = fails.iter().map(|f| f.message.clone()).collect();
    format!(
        "Make the deploy workflows one template with environment parameters, or declare the difference: {}.",
        items.join("; ")
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn summarises_triggers_identity_steps_and_gate() {
        let src = r#"
on:
  push:
    branches: [develop]
  workflow_dispatch:
jobs:
  deploy:
    steps:
      - uses: actions/checkout@v4
      - uses: google-github-actions/auth@v2
        with:
          workload_identity_provider: projects/412345678901/locations/global/workloadIdentityPools/github/providers/github
          service_account: terraform-deployer@jualuma-dev.iam.gserviceaccount.com
      - run: terraform init -input=false
      - run: |
          terraform plan -out tfplan
          tfparity check --format markdown
      - run: terraform apply tfplan
"#;
        assert_eq!(
            project_numbers("projects/412345678901/locations/global/x projects/acme/y"),
            "projects/{project}/locations/global/x projects/acme/y"
        );
        let docs = YamlLoader::load_from_str(src).unwrap();
        let projects = vec!["jualuma-dev".to_string(), "412345678901".to_string()];
        let norm = |s: &str| normalise(s, "dev", &projects);
        let mut s = Summary::default();
        summarise(&docs, &norm, &mut s);
        assert!(
            s.trigger.contains("push(branches={env})"),
            "{:?}",
            s.trigger
        );
        assert!(s.trigger.contains("workflow_dispatch"));
        assert_eq!(
            s.steps,
            vec![
                "terraform init",
                "terraform plan",
                "tfparity check",
                "terraform apply"
            ]
        );
        assert!(s.parity_gate);
        let id = s.identity.iter().next().unwrap();
        assert!(
            id.contains("sa=terraform-deployer@{project}.iam.gserviceaccount.com"),
            "{id}"
        );
        assert!(id.contains("projects/{project}/"), "{id}");
    }

    #[test]
    fn aliases_are_counted_expanded_without_expanding_them() {
        // The document's mapping, two keys, two values.
        assert_eq!(expanded_nodes("on: push\njobs: {}\n"), 5);
        // Each alias of `a` counts its three nodes: [a, [x, y], b, [[x, y], [x, y]]].
        assert_eq!(
            expanded_nodes("a: &a [x, y]\nb: [*a, *a]\n"),
            1 + 1 + 3 + 1 + (1 + 3 + 3)
        );
        let mut bomb = String::from("l0: &l0 [x, x, x, x, x, x, x, x, x]\n");
        for i in 1..9 {
            let p = format!("*l{}", i - 1);
            bomb.push_str(&format!("l{i}: &l{i} [{}]\n", vec![p; 9].join(", ")));
        }
        assert!(expanded_nodes(&bomb) > MAX_WORKFLOW_NODES);
    }
}

#[cfg(test)]
mod scenario_tests {
    use super::CHECK;
    use crate::checks::testkit::{Env, NAMING, Scenario, Svc};
    use crate::finding::Status;

    /// A deploy workflow for `env` (project `acme-<env>`, number `number`).
    fn workflow(env: &str, number: &str, gate: bool) -> String {
        let gate = if gate {
            "      - run: tfparity check --env dev=dev.json --env prod=prod.json\n"
        } else {
            ""
        };
        format!(
            r#"name: deploy-{env}
on:
  push:
    branches: [deploy/{env}]
  workflow_dispatch:
jobs:
  deploy:
    runs-on: ubuntu-latest
    permissions:
      id-token: write
    steps:
      - uses: actions/checkout@v4
      - uses: google-github-actions/auth@v2
        with:
          workload_identity_provider: projects/{number}/locations/global/workloadIdentityPools/github/providers/github
          service_account: terraform@acme-{env}.iam.gserviceaccount.com
      - run: terraform -chdir=infra/envs/{env} init -input=false
      - run: terraform -chdir=infra/envs/{env} plan -out tfplan
{gate}      - run: terraform -chdir=infra/envs/{env} apply tfplan
"#
        )
    }

    fn declared(rest: &str) -> String {
        format!(
            "environment \"dev\" {{\n  workflows = [\"workflows/deploy-dev.yml\"]\n}}\nenvironment \"prod\" {{\n  workflows = [\"workflows/deploy-prod.yml\"]\n}}\n{NAMING}\n{rest}"
        )
    }

    /// Dev and prod, each one service on its project's default account (so the model knows the
    /// project numbers the workload identity provider paths use).
    fn envs() -> [Env; 2] {
        [
            Env::new("dev").service(Svc::v2("api-dev")),
            Env::new("prod").service(Svc::v2("api-prod")),
        ]
    }

    #[test]
    fn nothing_declared_needs_review_and_lists_what_exists() {
        let found = Scenario::new(envs())
            .contract(&format!(
                "environment \"dev\" {{}}\nenvironment \"prod\" {{}}\n{NAMING}"
            ))
            .file(
                ".github/workflows/deploy.yml",
                &workflow("dev", "123456789012", true),
            )
            .run(&CHECK);
        let f = found.one(
            Status::ReviewRequired,
            "no deploy workflow files are declared",
        );
        assert!(
            f.message.contains("1 workflow file(s) exist"),
            "{}",
            f.message
        );
        assert!(f.evidence.iter().any(|e| {
            e.location
                .as_ref()
                .is_some_and(|l| l.file.ends_with(".github/workflows/deploy.yml"))
        }));
        assert_eq!(found.verdict(), Status::ReviewRequired);
        // Without a contract, nothing is declared either.
        let bare = Scenario::new(envs())
            .file("README.md", "no workflows here")
            .run(&CHECK);
        bare.one(Status::ReviewRequired, "none were found");
    }

    #[test]
    fn workflows_identical_once_environment_names_are_taken_out_pass() {
        let found = Scenario::new(envs())
            .contract(&declared(""))
            .file(
                "workflows/deploy-dev.yml",
                &workflow("dev", "123456789012", true),
            )
            .file(
                "workflows/deploy-prod.yml",
                &workflow("prod", "210987654321", true),
            )
            .run(&CHECK);
        assert_eq!(found.verdict(), Status::Pass, "{found}");
        let f = found.one(
            Status::Pass,
            "agree on triggers, identity, steps and the parity gate",
        );
        assert_eq!(f.environments, vec!["dev", "prod"]);
        assert!(f.evidence.iter().any(|e| {
            e.environment.as_deref() == Some("prod")
                && e.location
                    .as_ref()
                    .is_some_and(|l| l.file.ends_with("workflows/deploy-prod.yml"))
        }));
    }

    #[test]
    fn identity_paths_compare_without_project_numbers_the_model_cannot_see() {
        // Services on dedicated accounts: no default account email gives away the project
        // numbers, which the workload identity provider paths are written with.
        let found = Scenario::new([
            Env::new("dev").service(Svc::v2("api-dev").runs_as("cr-api")),
            Env::new("prod").service(Svc::v2("api-prod").runs_as("cr-api")),
        ])
        .contract(&declared(""))
        .file(
            "workflows/deploy-dev.yml",
            &workflow("dev", "123456789012", true),
        )
        .file(
            "workflows/deploy-prod.yml",
            &workflow("prod", "210987654321", true),
        )
        .run(&CHECK);
        assert_eq!(found.verdict(), Status::Pass, "{found}");
    }

    #[test]
    fn a_missing_parity_gate_fails() {
        let found = Scenario::new(envs())
            .contract(&declared(""))
            .file(
                "workflows/deploy-dev.yml",
                &workflow("dev", "123456789012", true),
            )
            .file(
                "workflows/deploy-prod.yml",
                &workflow("prod", "210987654321", false),
            )
            .run(&CHECK);
        let f = found.one(
            Status::Fail,
            "differ in parity_gate: dev `runs tfparity`, prod `no tfparity step`",
        );
        assert_eq!(f.subject.as_deref(), Some("parity_gate"));
        assert_eq!(f.environments, vec!["dev", "prod"]);
        found.one(Status::Fail, "differ in steps");
    }

    #[test]
    fn declared_differences_are_intentional() {
        let rest = r#"
intentional_difference "prod-deploys-from-main" {
  check     = "deploy_workflows"
  attribute = "trigger"
  reason    = "Prod deploys from main after review."
}
"#;
        let prod = workflow("prod", "210987654321", true).replace("[deploy/prod]", "[main]");
        let found = Scenario::new(envs())
            .contract(&declared(rest))
            .file(
                "workflows/deploy-dev.yml",
                &workflow("dev", "123456789012", true),
            )
            .file("workflows/deploy-prod.yml", &prod)
            .run(&CHECK);
        let f = found.one(
            Status::IntentionalDiff,
            "Prod deploys from main after review",
        );
        assert_eq!(f.subject.as_deref(), Some("trigger"));
        assert_eq!(found.verdict(), Status::IntentionalDiff, "{found}");
    }

    #[test]
    fn a_declared_file_that_is_missing_or_broken_fails() {
        let missing = Scenario::new(envs())
            .contract(&declared(""))
            .file(
                "workflows/deploy-dev.yml",
                &workflow("dev", "123456789012", true),
            )
            .run(&CHECK);
        let f = missing.one(
            Status::Fail,
            "workflows/deploy-prod.yml of prod cannot be read",
        );
        assert!(
            f.evidence
                .iter()
                .any(|e| e.attribute.as_deref() == Some("contract workflows"))
        );
        let broken = Scenario::new(envs())
            .contract(&declared(""))
            .file(
                "workflows/deploy-dev.yml",
                &workflow("dev", "123456789012", true),
            )
            .file("workflows/deploy-prod.yml", "on: [push\njobs: {")
            .run(&CHECK);
        broken.one(Status::Fail, "is not valid YAML");
    }

    #[test]
    fn one_environment_without_workflows_needs_review() {
        let text = format!(
            "environment \"dev\" {{\n  workflows = [\"workflows/deploy-dev.yml\"]\n}}\nenvironment \"prod\" {{}}\n{NAMING}"
        );
        let found = Scenario::new(envs())
            .contract(&text)
            .file(
                "workflows/deploy-dev.yml",
                &workflow("dev", "123456789012", true),
            )
            .run(&CHECK);
        found.one(
            Status::ReviewRequired,
            "no deploy workflow files are declared for prod",
        );
        found.none(Status::Fail);
    }
}
