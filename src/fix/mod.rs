//! `tfparity fix`: write the change that closes a gap as a Terraform patch. The patch goes to
//! standard output as a unified diff (`git apply` accepts it); what was done, and what was
//! left out and why, goes to standard error. `--write` applies the patch instead, atomically,
//! refusing when a file changed since it was read. Without `--write` nothing on disk changes.

pub mod diff;
pub mod edit;
pub mod service_accounts;

use std::fmt::Write as _;
use std::path::PathBuf;

use clap::{Args, Subcommand};

use crate::app::{self, Inputs};
use crate::error::{Error, Result};

#[derive(Subcommand, Debug)]
pub enum FixCommand {
    /// Give every service of the target environment that runs as a default service account a
    /// dedicated one, with the permissions of its twin in the reference environment (broad
    /// roles left out), and point the service at it: prints the Terraform patch.
    ServiceAccounts(ServiceAccountsArgs),
}

#[derive(Args, Debug)]
pub struct ServiceAccountsArgs {
    #[command(flatten)]
    pub sources: crate::cli::Sources,
    /// The environment to fix [default: the one environment besides the reference].
    #[arg(long, value_name = "ENV")]
    pub target: Option<String>,
    /// The environment whose permissions are mirrored [default: the contract's reference].
    #[arg(long, value_name = "ENV")]
    pub reference: Option<String>,
    /// Apply the patch to the files (atomically; refuses when a file changed meanwhile)
    /// instead of printing it.
    #[arg(long)]
    pub write: bool,
}

/// Runs a `fix` subcommand; the exit code.
pub fn command(cmd: &FixCommand) -> Result<u8> {
    match cmd {
        FixCommand::ServiceAccounts(args) => service_accounts_command(args),
    }
}

fn env_name(contract: &crate::contract::Contract, name: &str, flag: &str) -> Result<String> {
    if contract.env(name).is_some() {
        return Ok(name.to_string());
    }
    let hint = crate::error::nearest(name, contract.env_names())
        .map(|n| format!(" (did you mean `{n}`?)"))
        .unwrap_or_default();
    Err(Error::Usage(format!(
        "{flag}: no environment `{name}`{hint}; environments: {}",
        contract.env_names().join(", ")
    )))
}

fn service_accounts_command(args: &ServiceAccountsArgs) -> Result<u8> {
    let started = std::time::Instant::now();
    let inputs = Inputs {
        contract: args.sources.contract.clone(),
        envs: args.sources.envs.clone(),
    };
    let contract = app::contract(&inputs, 1)?;
    let reference = match &args.reference {
        Some(r) => Some(env_name(&contract, r, "--reference")?),
        None => contract.env(&contract.reference).map(|e| e.name.clone()),
    };
    let target = match &args.target {
        Some(t) => env_name(&contract, t, "--target")?,
        None => {
            let others: Vec<&str> = contract
                .env_names()
                .into_iter()
                .filter(|n| Some(*n) != reference.as_deref())
                .collect();
            match others.as_slice() {
                [one] => one.to_string(),
                _ => {
                    return Err(Error::Usage(format!(
                        "which environment should be fixed? pass --target ENV (environments: {})",
                        contract.env_names().join(", ")
                    )));
                }
            }
        }
    };
    if reference.as_deref() == Some(target.as_str()) {
        return Err(Error::Usage(format!(
            "the target `{target}` is also the reference: pass --reference with another environment"
        )));
    }
    let target_env = app::load_env(contract.env(&target).expect("checked above"))?;
    let reference_env = match &reference {
        Some(r) => Some(app::load_env(contract.env(r).expect("checked above"))?),
        None => None,
    };
    let request = service_accounts::Request {
        contract: &contract,
        target: &target_env,
        reference: reference_env.as_ref(),
        standalone_dir: PathBuf::from("."),
    };
    let outcome = service_accounts::plan(&request)?;
    let summary = summary(&outcome, args.write);
    if args.write {
        outcome.patch.write()?;
    } else {
        let diff = outcome.patch.diff();
        let mut out = std::io::stdout().lock();
        use std::io::Write as _;
        if let Err(e) = out.write_all(diff.as_bytes()).and_then(|_| out.flush())
            && e.kind() != std::io::ErrorKind::BrokenPipe
        {
            return Err(Error::io("standard output", e));
        }
    }
    eprint!("{summary}");
    if std::env::var_os("TFPARITY_TIMING").is_some() {
        eprintln!("tfparity: fix took {} ms", started.elapsed().as_millis());
    }
    Ok(0)
}

/// What the fix did, for standard error.
pub fn summary(o: &service_accounts::Outcome, write: bool) -> String {
    use service_accounts::{Grant, Wiring};
    let mut s = String::new();
    let from = match &o.reference {
        Some(r) => format!(", permissions mirrored from {r}"),
        None => ", no reference environment to mirror".into(),
    };
    let _ = writeln!(
        s,
        "tfparity fix service-accounts: {} (target){from}",
        o.target
    );
    if let Some(why) = &o.standalone {
        let _ = writeln!(s, "\nStandalone file: {why}.");
    }
    for f in &o.fixes {
        let _ = writeln!(s, "\n{} (role {}) runs as {}", f.service, f.role, f.current);
        let who = f.email.clone().unwrap_or_else(|| f.account_id.clone());
        if f.reused {
            let _ = writeln!(
                s,
                "  = google_service_account.{} ({who}), declared already",
                f.resource
            );
        } else {
            let _ = writeln!(s, "  + google_service_account.{} ({who})", f.resource);
        }
        for g in &f.grants {
            let what = match &g.grant {
                Grant::Project { role } => format!("{role} on the project"),
                Grant::Secret { id, .. } => {
                    format!("roles/secretmanager.secretAccessor on the secret `{id}`")
                }
            };
            let _ = writeln!(s, "  + {what}: {}", g.why);
        }
        for l in &f.left_out {
            let _ = writeln!(
                s,
                "  - left out: {} (held by {}): {}",
                l.role, l.held_by, l.why
            );
        }
        match &f.wiring {
            Wiring::Edited { steps } => {
                for step in steps {
                    let _ = writeln!(s, "  ~ {step}");
                }
            }
            Wiring::Manual { why, how } => {
                let _ = writeln!(s, "  ! not edited ({why}). By hand: {how}");
            }
        }
        for n in &f.notes {
            let _ = writeln!(s, "  note: {n}");
        }
    }
    for k in &o.skipped {
        let _ = writeln!(s, "\nskipped: {k}");
    }
    for n in &o.notes {
        let _ = writeln!(s, "\nnote: {n}");
    }
    if o.patch.is_empty() {
        let _ = writeln!(
            s,
            "\nNothing to fix: no service in {} runs as a default service account. The patch is empty.",
            o.target
        );
        return s;
    }
    let (files, added, removed) = o.patch.stats();
    let names: Vec<String> = o
        .patch
        .files
        .iter()
        .map(|f| {
            if f.is_new() {
                format!("{} (new)", f.shown)
            } else {
                f.shown.clone()
            }
        })
        .collect();
    let _ = writeln!(
        s,
        "\nPatch: {files} file(s), +{added} −{removed} lines: {}.",
        names.join(", ")
    );
    if write {
        let _ = writeln!(
            s,
            "Written. Review it with `git diff`, then run `terraform plan`."
        );
    } else {
        let _ = writeln!(
            s,
            "Nothing was written. Review the patch, then apply it with `git apply` (or run again with --write)."
        );
    }
    s
}
