//! Command-line definitions (clap derive). Raw flags here; `main.rs` turns them into calls.

use std::path::PathBuf;

use clap::{Args, Parser, Subcommand, ValueEnum};

#[derive(Parser, Debug)]
#[command(
    name = "tfparity",
    version,
    about = "Gate infrastructure changes on dev/prod parity, from Terraform plans and sources",
    long_about = "Reads each environment from Terraform (plan or state JSON, a plan stream, or the Terraform directory itself), builds a resource graph and a model of its Cloud Run services, and checks the environments against a parity contract (parity.hcl).\n\nExit codes: 0 nothing failed, 1 at least one FAIL (see --fail-on), 2 the tool could not do its job."
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
    /// Draw an environment's resource graph, or with --roles every environment side by side.
    Graph(GraphArgs),
    /// Work with the parity contract.
    #[command(subcommand)]
    Contract(ContractCommand),
    /// Print a check's documentation.
    Explain {
        /// A check's name, id or number (`ingress`, `PAR003`, `3`); none lists them.
        check: Option<String>,
    },
    /// Write the change that closes a gap as a Terraform patch (standard output; --write
    /// applies it).
    #[command(subcommand)]
    Fix(crate::fix::FixCommand),
    /// Print a shell completion script (e.g. `tfparity completions bash > /etc/bash_completion.d/tfparity`).
    Completions {
        /// The shell.
        #[arg(value_enum)]
        shell: clap_complete::Shell,
    },
}

#[derive(Args, Debug, Clone)]
pub struct Sources {
    /// The contract file [default: parity.hcl in the working directory].
    #[arg(long, value_name = "FILE")]
    pub contract: Option<PathBuf>,
    /// An environment's source (plan or state JSON, .tfstate, a Terraform directory, a
    /// `terraform plan -json` stream); repeat for several environments, or several sources of
    /// one. Adds an environment or replaces the sources
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
    /// The terminal report.
    Text,
    /// The audit as a PR comment (hidden marker, size-capped for GitHub).
    Markdown,
    /// The stable interface (schemas/report.schema.json).
    Json,
    /// SARIF 2.1.0, for code scanning.
    Sarif,
    /// JUnit XML: a suite per check, a case per role and environment.
    Junit,
    /// GitHub Actions workflow commands (inline annotations).
    Github,
    /// GitLab Code Quality report.
    Gitlab,
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
    /// Findings recorded in this baseline file do not fail the run; new ones do.
    #[arg(long, value_name = "FILE")]
    pub baseline: Option<PathBuf>,
    /// Record this run's FAIL and REVIEW_REQUIRED findings in FILE (atomically); the run is
    /// then judged against it.
    #[arg(long, value_name = "FILE", conflicts_with = "only_changed")]
    pub write_baseline: Option<PathBuf>,
    /// Report only roles whose resources change: from the plans' actions, or for Terraform
    /// directories from `git diff --base REF`.
    #[arg(long)]
    pub only_changed: bool,
    /// The git revision Terraform directories are compared with, for --only-changed.
    #[arg(long, value_name = "REF", requires = "only_changed")]
    pub base: Option<String>,
    /// Embed the roles diagram (Mermaid) in the markdown report; `auto` while it stays small.
    #[arg(long, value_enum, value_name = "WHEN", default_value_t = crate::report::roles_diagram::DiagramMode::Auto)]
    pub roles_diagram: crate::report::roles_diagram::DiagramMode,
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
    /// Propose a contract from the environments: services paired by evidence, open decisions,
    /// current differences as commented-out intentional differences. Never overwrites a file.
    Init(InitArgs),
    /// Write the contract as Markdown: environments, the naming map, the reason for every
    /// declared difference.
    Render(RenderArgs),
}

#[derive(Copy, Clone, Debug, PartialEq, Eq, ValueEnum)]
pub enum GraphFormat {
    /// Graphviz DOT (`dot -Tsvg`).
    Dot,
    /// A Mermaid flowchart, as GitHub renders it.
    Mermaid,
    /// Nodes, edges and clusters (or the roles matrix) as JSON.
    Json,
}

#[derive(Args, Debug)]
pub struct GraphArgs {
    /// Only this environment [default: every environment].
    pub env: Option<String>,
    /// Every environment side by side, one row per role, coloured by the checks' verdicts.
    #[arg(long, conflicts_with = "env")]
    pub roles: bool,
    #[command(flatten)]
    pub sources: Sources,
    #[arg(long, value_enum, default_value_t = GraphFormat::Dot)]
    pub format: GraphFormat,
    /// Write to FILE instead of standard output.
    #[arg(long, short, value_name = "FILE")]
    pub output: Option<PathBuf>,
    /// The date intentional differences expire against, for --roles (YYYY-MM-DD).
    #[arg(long, value_name = "DATE")]
    pub today: Option<String>,
}

#[derive(Args, Debug)]
pub struct InitArgs {
    #[command(flatten)]
    pub sources: Sources,
    /// Where to write the proposal (never overwritten; `-` for standard output).
    #[arg(long, short, value_name = "FILE", default_value = "parity.hcl")]
    pub output: PathBuf,
    /// The reference environment [default: the first].
    #[arg(long, value_name = "ENV")]
    pub reference: Option<String>,
}

#[derive(Args, Debug)]
pub struct RenderArgs {
    /// The contract file [default: parity.hcl].
    pub file: Option<PathBuf>,
    /// Write the Markdown to FILE instead of standard output.
    #[arg(long, short, value_name = "FILE")]
    pub output: Option<PathBuf>,
    /// Write nothing: exit 1 when the --output file differs from the rendering (for CI).
    #[arg(long, requires = "output")]
    pub check: bool,
}
