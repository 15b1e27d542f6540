//! The parity contract (`parity.hcl`): environments and their sources, roles, per-environment
//! rules, env key rules, profile rules and intentional differences.

pub mod date;
pub mod init;
pub mod parse;
pub mod render;
pub mod roles;

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use crate::inventory::Span;
use crate::model::Exposure;

pub use date::Date;

/// A value written in the contract, with where it was written.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Spanned<T> {
    pub value: T,
    pub span: Option<Span>,
}

impl<T> Spanned<T> {
    pub fn new(value: T, span: Option<Span>) -> Self {
        Spanned { value, span }
    }
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub enum SaModel {
    /// Every service runs as its own user-managed service account.
    Dedicated,
    /// Any service account is allowed (default ones still fail item 4 unless accepted).
    Any,
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub struct SaRule {
    pub model: SaModel,
    /// A pattern for the account id or email: `cr-{role}`, `{role}-{env}@{project}.iam.gserviceaccount.com`.
    pub pattern: Option<String>,
    pub span: Option<Span>,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum DomainStrategy {
    /// Services are used on their `*.run.app` URLs: no custom domains.
    RunApp,
    /// Every externally reachable service has a custom domain (mapping or load balancer).
    Custom,
    /// Anything goes.
    Any,
}

impl DomainStrategy {
    pub fn parse(s: &str) -> Option<DomainStrategy> {
        match s {
            "run_app" => Some(DomainStrategy::RunApp),
            "custom" => Some(DomainStrategy::Custom),
            "any" => Some(DomainStrategy::Any),
            _ => None,
        }
    }

    pub fn as_str(self) -> &'static str {
        match self {
            DomainStrategy::RunApp => "run_app",
            DomainStrategy::Custom => "custom",
            DomainStrategy::Any => "any",
        }
    }

    pub const NAMES: [&'static str; 3] = ["run_app", "custom", "any"];
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub struct EnvSpec {
    pub name: String,
    /// Plan/state files or Terraform directories, resolved against the contract's directory.
    pub sources: Vec<PathBuf>,
    /// `.tfvars` files for HCL sources, in order.
    pub var_files: Vec<PathBuf>,
    pub service_accounts: Option<SaRule>,
    pub domains: Option<Spanned<DomainStrategy>>,
    pub exposure: Option<Spanned<Vec<Exposure>>>,
    /// Deploy workflow files (GitHub Actions YAML), resolved against the contract's directory.
    pub workflows: Option<Spanned<Vec<PathBuf>>>,
    pub span: Option<Span>,
}

impl EnvSpec {
    pub fn named(name: &str) -> Self {
        EnvSpec {
            name: name.to_string(),
            sources: Vec::new(),
            var_files: Vec::new(),
            service_accounts: None,
            domains: None,
            exposure: None,
            workflows: None,
            span: None,
        }
    }
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub struct RoleSpec {
    pub name: String,
    /// The service playing this role in each environment.
    pub services: BTreeMap<String, Spanned<String>>,
    /// Environments the role exists in on purpose, when not all.
    pub only_in: Option<Vec<String>>,
    pub reason: Option<String>,
    pub span: Option<Span>,
}

/// Services named by pattern: `jualuma-{role}` in dev, `{role}` in prod.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct NamingRule {
    pub patterns: BTreeMap<String, Spanned<String>>,
    /// Services with identical names (after removing the environment's name) share a role.
    pub identical: bool,
    pub span: Option<Span>,
}

/// A key renamed between environments: `VITE_API_BASE_URL` in dev is `API_BASE_URL` in prod.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct KeyRename {
    /// Roles it applies to; empty means all.
    pub roles: Vec<String>,
    pub keys: BTreeMap<String, String>,
    pub reason: Option<String>,
    pub span: Option<Span>,
}

/// Keys that exist in one environment only, on purpose.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct KeyOnly {
    pub roles: Vec<String>,
    pub environment: String,
    pub keys: Vec<String>,
    pub reason: Option<String>,
    pub span: Option<Span>,
}

/// Profile attributes compared by item 5.
pub const PROFILE_ATTRIBUTES: [&str; 4] = ["cpu", "memory", "min_instances", "max_instances"];

#[derive(Clone, Debug, PartialEq, Eq, Default)]
pub struct ProfileRules {
    /// Attributes where other environments must be at least the reference (prod ≥ dev).
    pub at_least_reference: Vec<String>,
    /// Attributes not compared at all.
    pub ignore: Vec<String>,
    pub span: Option<Span>,
}

/// A difference the team accepts, with a reason; also the way to accept a known gap.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct IntentionalDiff {
    pub name: String,
    /// The check's id (`PAR003`).
    pub check: &'static str,
    /// Roles it covers; empty means all.
    pub roles: Vec<String>,
    /// Environments it covers; empty means all but the reference.
    pub environments: Vec<String>,
    /// The attribute that differs (`ingress`, `memory`, `vpc_connector`, ...); None = any.
    pub attribute: Option<String>,
    /// The value expected in each environment, when declared exactly.
    pub values: BTreeMap<String, String>,
    /// Env var keys it covers (items 6 and 7).
    pub keys: Vec<String>,
    pub reason: String,
    pub owner: Option<String>,
    pub expires: Option<Date>,
    pub span: Option<Span>,
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Contract {
    /// The file it was read from; None when assumed from `--env` alone.
    pub path: Option<PathBuf>,
    /// The reference environment the others are compared with.
    pub reference: String,
    pub environments: Vec<EnvSpec>,
    pub naming: Option<NamingRule>,
    pub roles: Vec<RoleSpec>,
    pub key_renames: Vec<KeyRename>,
    pub key_only: Vec<KeyOnly>,
    pub profile: ProfileRules,
    pub differences: Vec<IntentionalDiff>,
    /// What was assumed for lack of a contract (empty when a contract was read).
    pub assumptions: Vec<String>,
}

impl Contract {
    /// The contract used when none is found: the environments given, compared by name.
    pub fn assumed(envs: Vec<EnvSpec>) -> Contract {
        let reference = envs.first().map(|e| e.name.clone()).unwrap_or_default();
        let assumptions = vec![
            "no contract was found: services are paired by identical name after removing the environment's name".to_string(),
            format!("`{reference}` (the first environment) is the reference"),
            "undeclared differences other than missing roles, default service accounts, env keys and secret-vs-literal keys are REVIEW_REQUIRED".to_string(),
        ];
        Contract {
            path: None,
            reference,
            environments: envs,
            naming: None,
            roles: Vec::new(),
            key_renames: Vec::new(),
            key_only: Vec::new(),
            profile: ProfileRules::default(),
            differences: Vec::new(),
            assumptions,
        }
    }

    pub fn is_assumed(&self) -> bool {
        self.path.is_none()
    }

    pub fn env(&self, name: &str) -> Option<&EnvSpec> {
        self.environments.iter().find(|e| e.name == name)
    }

    pub fn env_names(&self) -> Vec<&str> {
        self.environments.iter().map(|e| e.name.as_str()).collect()
    }

    /// The directory paths in the contract are relative to.
    pub fn base_dir(&self) -> PathBuf {
        self.path
            .as_deref()
            .and_then(Path::parent)
            .filter(|p| !p.as_os_str().is_empty())
            .map(Path::to_path_buf)
            .unwrap_or_else(|| PathBuf::from("."))
    }

    /// Adds an environment or replaces the sources of one the contract names (`--env`).
    pub fn override_env(&mut self, name: &str, sources: Vec<PathBuf>) {
        match self.environments.iter_mut().find(|e| e.name == name) {
            Some(e) => {
                e.sources = sources;
                e.var_files.clear();
            }
            None => {
                let mut e = EnvSpec::named(name);
                e.sources = sources;
                self.environments.push(e);
                if self.reference.is_empty() {
                    self.reference = name.to_string();
                }
            }
        }
    }

    /// Environments in comparison order: the reference first, then the others as declared.
    pub fn ordered_envs(&self) -> Vec<&EnvSpec> {
        let mut out: Vec<&EnvSpec> = self
            .environments
            .iter()
            .filter(|e| e.name == self.reference)
            .collect();
        out.extend(
            self.environments
                .iter()
                .filter(|e| e.name != self.reference),
        );
        out
    }
}
