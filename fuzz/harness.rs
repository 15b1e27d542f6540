//! The entry points the fuzz targets drive, shared with `tests/fuzz_regressions.rs` (which
//! includes this file) so that a committed regression input goes through exactly the code
//! the fuzzer ran.
//!
//! Each target loads its input the way `tfparity` does, then, when it loads, builds the
//! resource graph and the Cloud Run model and runs the ten checks against the shipped dev
//! plan, so that a strange but valid input also reaches the code behind the loaders.
//! Std-only on purpose: the fuzz crate depends on tfparity and libfuzzer-sys alone.

#![allow(dead_code)]

use std::path::{Path, PathBuf};
use std::sync::OnceLock;

use tfparity::app::{self, LoadedEnv};
use tfparity::contract::{Contract, Date, EnvSpec, Spanned};
use tfparity::graph::ResourceGraph;
use tfparity::inventory::Inventory;
use tfparity::load;
use tfparity::model::{self, EnvModel};

/// Every target, by the name of its fuzz binary and its regression directory.
pub const TARGETS: &[&str] = &[
    "plan_json",
    "state_json",
    "plan_stream",
    "hcl_file",
    "hcl_dir",
    "contract",
];

/// The files an `hcl_dir` input is split into, in order, at each [`FILE_SEPARATOR`].
pub const HCL_DIR_FILES: &[&str] = &[
    "main.tf",
    "variables.tf",
    "terraform.tfvars",
    "modules/m/main.tf",
    "modules/m/variables.tf",
    "x.auto.tfvars",
    "extra.tf.json",
    ".terraform/modules/modules.json",
];

/// Separates the files of an `hcl_dir` input.
pub const FILE_SEPARATOR: &[u8] = b"\n#~~\n";

/// What an input came to: loaded (and checked), or refused with tfparity's message (the one
/// the CLI prints after `error: `, with exit code 2).
#[derive(Debug)]
pub enum Outcome {
    Loaded,
    Refused(String),
}

/// Runs `data` through `target` (one of [`TARGETS`]).
pub fn run(target: &str, data: &[u8]) -> Outcome {
    match target {
        "plan_json" => loaded(load::load_bytes(Path::new("fuzz.plan.json"), data)),
        "state_json" => loaded(load::load_bytes(Path::new("fuzz.state.json"), data)),
        "plan_stream" => loaded(load::stream::load_stream(
            Path::new("fuzz.plan.jsonl"),
            data,
        )),
        "hcl_file" => hcl(&[("main.tf", data)]),
        "hcl_dir" => {
            let parts = split(data, FILE_SEPARATOR);
            let files: Vec<(&str, &[u8])> = HCL_DIR_FILES.iter().copied().zip(parts).collect();
            hcl(&files)
        }
        "contract" => contract(data),
        other => panic!("unknown fuzz target {other}"),
    }
}

fn split<'a>(data: &'a [u8], sep: &[u8]) -> Vec<&'a [u8]> {
    let mut out = Vec::new();
    let mut rest = data;
    while let Some(i) = rest.windows(sep.len()).position(|w| w == sep) {
        out.push(&rest[..i]);
        rest = &rest[i + sep.len()..];
    }
    out.push(rest);
    out
}

/// The shipped dev plan, loaded once: the reference the fuzzed environment is checked against.
fn reference() -> &'static (Inventory, EnvModel) {
    static REF: OnceLock<(Inventory, EnvModel)> = OnceLock::new();
    REF.get_or_init(|| {
        let text = include_bytes!("../fixtures/plans/dev.plan.json");
        let inv = load::load_bytes(Path::new("dev.plan.json"), text).expect("the dev plan loads");
        let model = {
            let graph = ResourceGraph::build(&inv);
            model::build("dev", &graph)
        };
        (inv, model)
    })
}

/// An environment with no workflows declared as none, so the deploy workflow check does not
/// walk the working directory on every input.
fn spec(name: &str) -> EnvSpec {
    let mut s = EnvSpec::named(name);
    s.workflows = Some(Spanned::new(Vec::<PathBuf>::new(), None));
    s
}

fn loaded_env(spec: EnvSpec, inventory: Inventory, mut model: EnvModel) -> LoadedEnv {
    model.name = spec.name.clone();
    LoadedEnv {
        spec,
        inventory,
        model,
    }
}

fn today() -> Date {
    Date::parse("2026-06-01").expect("a date")
}

/// Builds the graph and model of a loaded inventory and checks it against the dev plan.
fn loaded(r: tfparity::error::Result<Inventory>) -> Outcome {
    let inv = match r {
        Ok(inv) => inv,
        Err(e) => return Outcome::Refused(e.to_string()),
    };
    let model = {
        let graph = ResourceGraph::build(&inv);
        model::build("fuzz", &graph)
    };
    let (ref_inv, ref_model) = reference();
    let c = Contract::assumed(vec![spec("dev"), spec("fuzz")]);
    let envs = vec![
        loaded_env(spec("dev"), ref_inv.clone(), ref_model.clone()),
        loaded_env(spec("fuzz"), inv, model),
    ];
    let report = app::report(&c, &envs, today(), None);
    render_all(&report);
    Outcome::Loaded
}

/// Renders the report in every format, so that odd names and values reach the renderers too.
fn render_all(report: &tfparity::report::Report) {
    use tfparity::report::{self as r, Gate};
    let gate = Gate::new(None);
    std::hint::black_box((
        r::text::render(report, false, true),
        r::json::render(report),
        r::markdown::render(report, &gate),
        r::sarif::render(report, &gate),
        r::junit::render(report, &gate),
        r::github::render(report, &gate),
        r::gitlab::render(report, &gate),
    ));
}

/// A directory of its own for this process's HCL inputs, emptied before each one.
fn scratch() -> &'static Path {
    static DIR: OnceLock<PathBuf> = OnceLock::new();
    DIR.get_or_init(|| {
        let d = std::env::temp_dir().join(format!("tfparity-fuzz-{}", std::process::id()));
        std::fs::create_dir_all(&d).expect("a scratch directory");
        d
    })
}

fn hcl(files: &[(&str, &[u8])]) -> Outcome {
    // One directory per thread: the regression tests run targets side by side.
    let thread: String = format!("{:?}", std::thread::current().id())
        .chars()
        .filter(char::is_ascii_alphanumeric)
        .collect();
    let dir = scratch().join(format!("env-{thread}"));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).expect("the scratch directory is writable");
    for (name, bytes) in files {
        let p = dir.join(name);
        if let Some(parent) = p.parent() {
            std::fs::create_dir_all(parent).expect("the scratch directory is writable");
        }
        std::fs::write(&p, bytes).expect("the scratch directory is writable");
    }
    let opts = load::hcl::HclOptions {
        workspace: "default".into(),
        ..Default::default()
    };
    let outcome = loaded(load::hcl::load_dir(&dir, &opts));
    let _ = std::fs::remove_dir_all(&dir);
    outcome
}

/// Parses a contract; one that parses is run with the dev plan in its reference environment
/// and the prod plan in the others.
fn contract(data: &[u8]) -> Outcome {
    let Ok(text) = std::str::from_utf8(data) else {
        // `contract::parse::read` refuses non-UTF-8 before parsing.
        return Outcome::Refused("is not UTF-8 text".into());
    };
    let path = scratch().join("parity.hcl");
    let mut c = match tfparity::contract::parse::parse(&path, text) {
        Ok(c) => c,
        Err(e) => return Outcome::Refused(e.to_string()),
    };
    static PROD: OnceLock<(Inventory, EnvModel)> = OnceLock::new();
    let prod = PROD.get_or_init(|| {
        let text = include_bytes!("../fixtures/plans/prod.plan.json");
        let inv = load::load_bytes(Path::new("prod.plan.json"), text).expect("the prod plan loads");
        let model = {
            let graph = ResourceGraph::build(&inv);
            model::build("prod", &graph)
        };
        (inv, model)
    });
    let (dev_inv, dev_model) = reference();
    // Workflows are files: never read what a fuzzed contract names.
    for e in &mut c.environments {
        e.workflows = Some(Spanned::new(Vec::new(), None));
    }
    let envs: Vec<LoadedEnv> = c
        .ordered_envs()
        .into_iter()
        .enumerate()
        .map(|(i, s)| {
            let (inv, model) = if i == 0 {
                (dev_inv, dev_model)
            } else {
                (&prod.0, &prod.1)
            };
            loaded_env(s.clone(), inv.clone(), model.clone())
        })
        .collect();
    let report = app::report(&c, &envs, today(), None);
    render_all(&report);
    Outcome::Loaded
}
