//! The pipeline behind the commands: find the contract, load every environment (in
//! parallel), build graphs and models, run the checks, assemble the report.

use std::path::{Path, PathBuf};

use crate::checks::{self, Ctx};
use crate::contract::{self, Contract, Date, EnvSpec};
use crate::error::{Error, InputError, Result};
use crate::graph::ResourceGraph;
use crate::inventory::Inventory;
use crate::load::{self, LoadOptions};
use crate::model::{self, EnvModel};
use crate::report::{EnvReport, Report};

pub const DEFAULT_CONTRACT: &str = "parity.hcl";

/// Where the environments come from.
#[derive(Clone, Debug, Default)]
pub struct Inputs {
    /// `--contract FILE`; None looks for `parity.hcl` in the working directory.
    pub contract: Option<PathBuf>,
    /// `--env NAME=PATH`, in order (a name may repeat to give several sources).
    pub envs: Vec<(String, PathBuf)>,
}

/// One environment, loaded.
pub struct LoadedEnv {
    pub spec: EnvSpec,
    /// Resource values are partial when loaded with [`Values::ModelOnly`]: only the model reads
    /// them.
    pub inventory: Inventory,
    pub model: EnvModel,
}

/// What reads resource values once they are loaded.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Values {
    /// Commands that read the inventory after modelling (graph export, fixes, `contract init`,
    /// `check --only-changed`, whose scope follows the graph's value links).
    Keep,
    /// `check` reads only models: values are loaded for the model alone
    /// ([`load::ValueReaders::ModelOnly`]) and nothing reads them after it. They are not
    /// freed: freeing their millions of small allocations took as long as the checks on a
    /// 5,000-service pair, and `check` ends soon after (peak memory +15%).
    ModelOnly,
}

/// Reads the contract, or assumes one from `--env` when there is none. `min_envs` is how many
/// environments the command needs (two to compare, one to list).
pub fn contract(inputs: &Inputs, min_envs: usize) -> Result<Contract> {
    let path = match &inputs.contract {
        Some(p) => {
            if !p.exists() {
                return Err(InputError::new(p, "contract file not found").into());
            }
            Some(p.clone())
        }
        None => {
            let p = PathBuf::from(DEFAULT_CONTRACT);
            p.exists().then_some(p)
        }
    };
    let mut c = match path {
        Some(p) => contract::parse::read(&p)?,
        None => {
            if inputs.envs.is_empty() {
                return Err(Error::Usage(format!(
                    "no {DEFAULT_CONTRACT} in this directory and no --env given: pass --contract FILE, or --env NAME=PATH for each environment (e.g. --env dev=dev.plan.json --env prod=prod.plan.json)"
                )));
            }
            Contract::assumed(Vec::new())
        }
    };
    // `--env` adds environments or replaces the sources of those the contract names.
    let mut grouped: Vec<(String, Vec<PathBuf>)> = Vec::new();
    for (name, path) in &inputs.envs {
        match grouped.iter_mut().find(|(n, _)| n == name) {
            Some((_, list)) => list.push(path.clone()),
            None => grouped.push((name.clone(), vec![path.clone()])),
        }
    }
    for (name, sources) in grouped {
        c.override_env(&name, sources);
    }
    if c.is_assumed() {
        c.reference = c
            .environments
            .first()
            .map(|e| e.name.clone())
            .unwrap_or_default();
        let assumed = Contract::assumed(c.environments.clone());
        c.assumptions = assumed.assumptions;
    }
    if c.environments.len() < min_envs {
        return Err(Error::Usage(format!(
            "parity needs at least {min_envs} environments; found {}: add --env NAME=PATH",
            c.environments.len()
        )));
    }
    for e in &c.environments {
        if e.sources.is_empty() {
            return Err(Error::Usage(format!(
                "environment `{}` has no sources: set `sources` in the contract or pass --env {}=PATH",
                e.name, e.name
            )));
        }
    }
    Ok(c)
}

/// Loads one environment and builds its model.
pub fn load_env(spec: &EnvSpec) -> Result<LoadedEnv> {
    Ok(model_env(spec, load_inventory(spec, Values::Keep)?))
}

fn load_inventory(spec: &EnvSpec, values: Values) -> Result<Inventory> {
    let opts = LoadOptions {
        var_files: spec.var_files.clone(),
        readers: match values {
            Values::Keep => load::ValueReaders::All,
            Values::ModelOnly => load::ValueReaders::ModelOnly,
        },
    };
    load::load_environment(&spec.sources, &opts)
}

/// Builds the graph and model of a loaded environment.
fn model_env(spec: &EnvSpec, inventory: Inventory) -> LoadedEnv {
    let model = {
        let graph = ResourceGraph::build(&inventory);
        crate::trace::mark(format_args!("graph of {}", spec.name));
        let m = model::build(&spec.name, &graph);
        crate::trace::mark(format_args!("model of {}", spec.name));
        m
    };
    LoadedEnv {
        spec: spec.clone(),
        inventory,
        model,
    }
}

fn joined<T>(h: std::thread::ScopedJoinHandle<'_, Result<T>>) -> Result<T> {
    h.join()
        .unwrap_or_else(|_| Err(Error::Usage("a loader thread panicked".into())))
}

/// Loads every environment of the contract, reference first.
pub fn load_all(c: &Contract) -> Result<Vec<LoadedEnv>> {
    load_all_with(c, Values::Keep)
}

/// Loads every environment of the contract, reference first, keeping or dropping values.
pub fn load_all_with(c: &Contract, values: Values) -> Result<Vec<LoadedEnv>> {
    let specs = c.ordered_envs();
    // Each environment loads, and gets its graph and model, on its own thread. A plan's text
    // is mapped and given back as it is read, so two 200 MB plans side by side stay far below
    // their size in memory; what stays is each one's values and model.
    std::thread::scope(|scope| {
        let loading: Vec<_> = specs
            .iter()
            .map(|spec| scope.spawn(move || Ok(model_env(spec, load_inventory(spec, values)?))))
            .collect();
        loading.into_iter().map(joined).collect()
    })
}

/// Runs the checks over loaded environments.
pub fn report(
    c: &Contract,
    envs: &[LoadedEnv],
    today: Date,
    only_roles: Option<&std::collections::BTreeSet<String>>,
) -> Report {
    let models: Vec<&EnvModel> = envs.iter().map(|e| &e.model).collect();
    let roles = contract::roles::resolve(c, &models);
    let ctx = Ctx {
        contract: c,
        models: &models,
        roles: &roles,
        today,
        base_dir: c.base_dir(),
    };
    let results = checks::run_all(&ctx, only_roles);
    crate::trace::mark("checks");
    let gaps = checks::gaps(&results);
    Report {
        contract_path: c.path.clone(),
        assumptions: c.assumptions.clone(),
        reference: c.reference.clone(),
        environments: envs
            .iter()
            .map(|e| EnvReport::from_model(&e.model, &e.inventory.sources))
            .collect(),
        checks: results,
        gaps,
    }
}

/// Writes `content` to `path` atomically: a temporary file beside it, then a rename, so a
/// reader never sees half a file; the replaced file keeps its permissions. A symlink is
/// followed (the link stays a link), and a path that is not a regular file (`/dev/null`, a
/// pipe) is written to directly: renaming over it would replace the device with a file.
pub fn write_atomic(path: &Path, content: &[u8]) -> Result<()> {
    write_atomic_parts(path, &[content])
}

/// [`write_atomic`] of content in pieces, written one after the other.
pub fn write_atomic_parts(path: &Path, parts: &[&[u8]]) -> Result<()> {
    let write = |to: &Path| -> std::io::Result<()> {
        let mut file = std::fs::File::create(to)?;
        for part in parts {
            std::io::Write::write_all(&mut file, part)?;
        }
        Ok(())
    };
    let existing = std::fs::metadata(path).ok();
    if existing.as_ref().is_some_and(|m| !m.is_file()) {
        return write(path).map_err(|e| Error::io(path, e));
    }
    let target = match std::fs::symlink_metadata(path) {
        Ok(m) if m.file_type().is_symlink() => {
            std::fs::canonicalize(path).map_err(|e| Error::io(path, e))?
        }
        _ => path.to_path_buf(),
    };
    let dir = target
        .parent()
        .filter(|d| !d.as_os_str().is_empty())
        .unwrap_or(Path::new("."));
    let name = target
        .file_name()
        .map(|n| n.to_string_lossy().to_string())
        .unwrap_or_default();
    let tmp = dir.join(format!(".{name}.tfparity-{}.tmp", std::process::id()));
    write(&tmp).map_err(|e| Error::io(&tmp, e))?;
    if let Some(m) = existing {
        let _ = std::fs::set_permissions(&tmp, m.permissions());
    }
    std::fs::rename(&tmp, &target).map_err(|e| {
        let _ = std::fs::remove_file(&tmp);
        Error::io(path, e)
    })
}
