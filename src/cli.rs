//! Command-line definitions (clap derive). Raw flags here; `main.rs` turns them into calls.

use std::path::PathBuf;

use clap::{Args, Parser, Subcommand, ValueEnum};

#[derive(Parser, Debug)]
#[command(
    name = "tfparity",
    version,
    about = "Gate infrastructure changes on dev/prod parity, from Terraform plans and sources",
    long_about = "Reads each environment from Terraform (plan or state JSON), builds a resource graph and a model of its Cloud Run services, and checks the environments against a parity contract (parity.hcl).\n\nExit codes: 0 nothing failed, 1 at least one FAIL (see --fail-on), 2 the tool could not do its job."
)]
pub struct Cli {
    #[command(subcommand)]
    pub command: Command,
}

#[derive(Subcommand, Debug)]
pub enum Command {
    /// Check the environments against the contract and report.
    Check(CheckArgs),
    /// List each environment's services with their normalised model.
    Inventory(InventoryArgs),
    /// Work with the parity contract.
    #[command(subcommand)]
    Contract(ContractCommand),
    /// Print a check's documentation.
    Explain {
        /// A check's name, id or number (`ingress`, `PAR003`, `3`); none lists them.
        check: Option<String>,
    },
}

#[derive(Args, Debug, Clone)]
pub struct Sources {
    /// The contract file [default: parity.hcl in the working directory].
    #[arg(long, value_name = "FILE")]
    pub contract: Option<PathBuf>,
    /// An environment's source (plan or state JSON, .tfstate); repeat for several
    /// environments, or several sources of one. Adds an environment or replaces the sources
    /// the contract gives it.
    #[arg(long = "env", value_name = "NAME=PATH", value_parser = parse_env)]
    pub envs: Vec<(String, PathBuf)>,
}

fn parse_env(s: &str) -> Result<(String, PathBuf), String> {
    let (name, path) = s
        .split_once('=')
        .ok_or_else(|| format!("expected NAME=PATH, got `{s}`"))?;
    if name.is_empty()
        || !name
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || c == '-' || c == '_')
    {
        return Err(format!(
            "`{name}` is not a valid environment name (letters, digits, - and _)"
        ));
    }
    if path.is_empty() {
        return Err(format!("no path given for environment `{name}`"));
    }
    Ok((name.to_string(), PathBuf::from(path)))
}

#[derive(Copy, Clone, Debug, PartialEq, Eq, ValueEnum)]
pub enum Format {
    Text,
    Markdown,
    Json,
}

#[derive(Copy, Clone, Debug, PartialEq, Eq, ValueEnum)]
pub enum FailOn {
    /// Exit 1 when an item FAILs.
    Fail,
    /// Exit 1 when an item FAILs or needs review.
    Review,
    /// Always exit 0 (errors still exit 2).
    Never,
}

#[derive(Args, Debug)]
pub struct CheckArgs {
    #[command(flatten)]
    pub sources: Sources,
    /// Output format.
    #[arg(long, value_enum, default_value_t = Format::Text)]
    pub format: Format,
    /// Write the report to FILE instead of standard output.
    #[arg(long, short, value_name = "FILE")]
    pub output: Option<PathBuf>,
    /// When to exit 1.
    #[arg(long, value_enum, default_value_t = FailOn::Fail)]
    pub fail_on: FailOn,
    /// Same as --fail-on review.
    #[arg(long, conflicts_with = "fail_on")]
    pub strict: bool,
    /// The date intentional differences expire against (YYYY-MM-DD) [default: today, UTC].
    #[arg(long, value_name = "DATE")]
    pub today: Option<String>,
    /// Also list passing findings and their evidence (text format).
    #[arg(long, short)]
    pub verbose: bool,
}

#[derive(Copy, Clone, Debug, PartialEq, Eq, ValueEnum)]
pub enum InventoryFormat {
    Table,
    Json,
}

#[derive(Args, Debug)]
pub struct InventoryArgs {
    /// Only this environment.
    pub env: Option<String>,
    #[command(flatten)]
    pub sources: Sources,
    #[arg(long, value_enum, default_value_t = InventoryFormat::Table)]
    pub format: InventoryFormat,
}

#[derive(Subcommand, Debug)]
pub enum ContractCommand {
    /// Check the contract file alone (syntax, fields, checks, environments).
    Validate {
        /// The contract file [default: parity.hcl].
        file: Option<PathBuf>,
    },
}
