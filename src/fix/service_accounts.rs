//! `tfparity fix service-accounts`: every service of the target environment that runs as a
//! default service account gets a dedicated `google_service_account`, named by the contract's
//! pattern, holding what its role's twin in the reference environment holds (project roles,
//! broad ones left out), `roles/secretmanager.secretAccessor` on the secrets it reads and
//! `roles/cloudsql.client` when it attaches Cloud SQL; and the service is pointed at it by
//! reference, where the configuration decides its account (the resource, the module call, or
//! the entry of a `locals` map a `for_each` module call reads).
//!
//! The new resources go in a new file of the target's Terraform directory; the edits keep the
//! files' formatting (hcl-edit, see [`super::edit`]). With only plan JSON for the target there
//! is no source to edit: the accounts are written as a standalone file, and how to point each
//! service at its account is explained.

use std::collections::{BTreeMap, BTreeSet};
use std::path::{Component, Path, PathBuf};
use std::rc::Rc;

use hcl_edit::Span as _;
use hcl_edit::expr::{Expression, TraversalOperator};

use super::diff::{FileChange, Patch, shown_path};
use super::edit::{self, BlockSel, Op};
use crate::app::LoadedEnv;
use crate::checks::service_accounts::matches_pattern;
use crate::contract::Contract;
use crate::contract::roles::{self, RoleMap};
use crate::error::Result;
use crate::graph::{EdgeKind, ResourceGraph, last_segment};
use crate::inventory::{InstanceKey, Mode, Resource, line_col};
use crate::load::hcl::files::{self, ModuleDef};
use crate::model::cloud_run::paths_for;
use crate::model::names::strip_env;
use crate::model::{EnvValue, RuntimeSa, Service};
use crate::value::{Lookup, Value};

/// The file new resources go in, in the target's Terraform directory.
pub const NEW_FILE: &str = "service_accounts_tfparity.tf";

const PROJECT_IAM: [&str; 2] = ["google_project_iam_member", "google_project_iam_binding"];
const SECRET_ACCESSOR: &str = "roles/secretmanager.secretAccessor";
const CLOUDSQL_CLIENT: &str = "roles/cloudsql.client";

/// What to fix and from where.
pub struct Request<'a> {
    pub contract: &'a Contract,
    pub target: &'a LoadedEnv,
    pub reference: Option<&'a LoadedEnv>,
    /// Where the standalone file goes when the target has no Terraform directory.
    pub standalone_dir: PathBuf,
}

/// A permission the new account gets.
#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord)]
pub enum Grant {
    /// A project role.
    Project { role: String },
    /// Secret accessor on one secret.
    Secret {
        /// The secret id, as shown.
        id: String,
        /// `google_secret_manager_secret.x.id`, or a quoted literal id.
        secret_expr: String,
        /// The project expression, when it differs from the account's.
        project_expr: Option<String>,
    },
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub struct GrantWhy {
    pub grant: Grant,
    pub why: String,
    /// The name of the IAM resource that grants it.
    pub name: String,
}

/// A role held by the twin that the new account does not get, and why.
#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord)]
pub struct LeftOut {
    pub role: String,
    pub held_by: String,
    pub why: String,
}

/// How the service is pointed at its new account.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Wiring {
    /// Edited in the patch; each step says what changed where.
    Edited { steps: Vec<String> },
    /// Not edited: what to change by hand, and why tfparity did not.
    Manual { why: String, how: String },
}

/// One service that ran as a default account.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ServiceFix {
    pub service: String,
    pub address: String,
    pub role: String,
    /// What it runs as now.
    pub current: String,
    /// The account's resource name (`google_service_account.<name>`).
    pub resource: String,
    pub account_id: String,
    pub email: Option<String>,
    /// The expression the new resources use for their project (None: the provider's).
    pub project_expr: Option<String>,
    /// An existing, unused account with the right id is used instead of a new one.
    pub reused: bool,
    /// The twin in the reference environment (service, account), when there is one.
    pub twin: Option<String>,
    pub grants: Vec<GrantWhy>,
    pub left_out: Vec<LeftOut>,
    pub wiring: Wiring,
    pub notes: Vec<String>,
}

/// The result: what was planned and the patch.
pub struct Outcome {
    pub target: String,
    pub reference: Option<String>,
    pub fixes: Vec<ServiceFix>,
    /// Services left alone, with why (account known only after apply).
    pub skipped: Vec<String>,
    /// Why the accounts are a standalone file, when the target has no Terraform directory.
    pub standalone: Option<String>,
    pub notes: Vec<String>,
    pub patch: Patch,
}

/// Plans the fix.
pub fn plan(req: &Request<'_>) -> Result<Outcome> {
    let target = req.target;
    let tname = target.model.name.clone();
    let mut models = vec![target.model.clone()];
    if let Some(r) = req.reference {
        models.insert(0, r.model.clone());
    }
    let role_map = roles::resolve(req.contract, &models);
    let tgraph = ResourceGraph::build(&target.inventory);
    let rgraph = req.reference.map(|r| ResourceGraph::build(&r.inventory));

    let mut skipped = Vec::new();
    let mut chosen: Vec<(usize, &Service)> = Vec::new();
    for (i, s) in target.model.services.iter().enumerate() {
        match s.service_account.known() {
            Some(sa) if sa.is_default() => chosen.push((i, s)),
            Some(_) => {}
            None => skipped.push(format!(
                "`{}`: its service account (`{}`) is known only after apply; left alone{}",
                s.name,
                s.service_account.attribute,
                if target.spec.sources.iter().any(|p| p.is_dir()) {
                    ""
                } else {
                    " (the Terraform directory, read statically with --env, may tell)"
                }
            )),
        }
    }

    let dir = target.spec.sources.iter().find(|p| p.is_dir()).cloned();
    let mut notes = Vec::new();
    if target.spec.sources.iter().filter(|p| p.is_dir()).count() > 1 {
        notes.push(format!(
            "{tname} has several Terraform directories as sources: the first, {}, is edited",
            crate::report::display_path(dir.as_deref().unwrap_or(Path::new(".")))
        ));
    }
    let standalone = match &dir {
        Some(_) => None,
        None => Some(format!(
            "{tname} is read from {} (no Terraform directory), which holds no source text to edit: the accounts and their permissions are a standalone file, and pointing each service at its account is left to you (below). Pass --env {tname}=DIR with the Terraform directory for a patch that does both",
            target
                .spec
                .sources
                .iter()
                .map(|p| crate::report::display_path(p))
                .collect::<Vec<_>>()
                .join(", ")
        )),
    };
    let root: Option<Rc<ModuleDef>> = match &dir {
        Some(d) => Some(files::read_module(d)?),
        None => None,
    };
    let mut planner = Planner {
        req,
        role_map: &role_map,
        tgraph: &tgraph,
        rgraph: rgraph.as_ref(),
        root: root.clone(),
        defs: BTreeMap::new(),
        taken_ids: target
            .inventory
            .of_type("google_service_account")
            .filter_map(|r| r.values.get("account_id").and_then(Value::as_str))
            .map(str::to_string)
            .collect(),
        taken_names: BTreeSet::new(),
        reused: BTreeSet::new(),
        accepted: Vec::new(),
    };
    for r in target
        .inventory
        .resources
        .iter()
        .filter(|r| r.module.is_empty())
    {
        planner
            .taken_names
            .insert((r.rtype.clone(), r.name.clone()));
    }
    if let Some(root) = &root {
        for r in &root.resources {
            if r.mode == Mode::Managed {
                planner
                    .taken_names
                    .insert((r.rtype.clone(), r.name.clone()));
            }
        }
    }

    let mut fixes = Vec::new();
    for (i, s) in &chosen {
        fixes.push(planner.service(*i, s)?);
    }

    // The new file: accounts and grants, appended when the file exists already.
    let new_dir = dir.clone().unwrap_or_else(|| req.standalone_dir.clone());
    let new_path = new_dir.join(NEW_FILE);
    let blocks = render_blocks(&fixes, req.reference.map(|r| r.model.name.as_str()));
    let mut per_file: BTreeMap<PathBuf, Vec<Op>> = BTreeMap::new();
    for (path, op) in planner.accepted.drain(..) {
        let ops = per_file.entry(path).or_default();
        if !ops.contains(&op) {
            ops.push(op);
        }
    }
    let mut changes = Vec::new();
    if !blocks.is_empty() {
        let existing = root
            .as_deref()
            .and_then(|d| d.files.iter().find(|f| *f.path == *new_path))
            .map(|f| f.text.clone())
            .or_else(|| std::fs::read_to_string(&new_path).ok());
        match existing {
            Some(_) => per_file
                .entry(new_path.clone())
                .or_default()
                .push(Op::Append { text: blocks }),
            None => changes.push(FileChange {
                shown: shown_path(&new_path),
                path: new_path.clone(),
                before: None,
                after: format!(
                    "{}\n{blocks}",
                    file_header(&tname, req.reference.map(|r| r.model.name.as_str()))
                ),
            }),
        }
    }
    for (path, ops) in per_file {
        let before = file_text(&planner, &path)?;
        let after = edit::apply(&before, &ops).map_err(|e| {
            crate::error::Error::Usage(format!(
                "{}: the planned edit failed: {e}",
                crate::report::display_path(&path)
            ))
        })?;
        changes.push(FileChange {
            shown: shown_path(&path),
            path,
            before: Some(before),
            after,
        });
    }
    if let Some(root) = &root {
        notes.extend(unused_default_sources(root, &changes));
    }
    Ok(Outcome {
        target: tname,
        reference: req.reference.map(|r| r.model.name.clone()),
        fixes,
        skipped,
        standalone,
        notes,
        patch: Patch::new(changes),
    })
}

/// Default-account data sources of the root module that nothing refers to once the patch is
/// applied: worth removing, which tfparity leaves to the user.
fn unused_default_sources(root: &ModuleDef, changes: &[FileChange]) -> Vec<String> {
    let texts: Vec<&str> = root
        .files
        .iter()
        .map(|f| {
            changes
                .iter()
                .find(|c| *c.path == *f.path)
                .map_or(f.text.as_str(), |c| c.after.as_str())
        })
        .collect();
    let mut out = Vec::new();
    for r in &root.resources {
        if r.mode != Mode::Data
            || !matches!(
                r.rtype.as_str(),
                "google_compute_default_service_account"
                    | "google_app_engine_default_service_account"
            )
        {
            continue;
        }
        let reference = format!("data.{}.{}", r.rtype, r.name);
        let before = root.files.iter().any(|f| f.text.contains(&reference));
        let after = texts.iter().any(|t| t.contains(&reference));
        if before && !after {
            out.push(format!(
                "`{reference}` is no longer used once the patch is applied: remove it when nothing else needs it"
            ));
        }
    }
    out
}

fn file_text(planner: &Planner<'_>, path: &Path) -> Result<String> {
    let defs = planner.root.iter().chain(planner.defs.values());
    for d in defs {
        if let Some(f) = d.files.iter().find(|f| &*f.path == path) {
            return Ok(f.text.clone());
        }
    }
    std::fs::read_to_string(path).map_err(|e| crate::error::Error::io(path, e))
}

struct Planner<'a> {
    req: &'a Request<'a>,
    role_map: &'a RoleMap,
    tgraph: &'a ResourceGraph<'a>,
    rgraph: Option<&'a ResourceGraph<'a>>,
    root: Option<Rc<ModuleDef>>,
    /// Child module definitions read so far, by directory.
    defs: BTreeMap<PathBuf, Rc<ModuleDef>>,
    taken_ids: BTreeSet<String>,
    /// (type, name) of root-module resources, to keep new names unique.
    taken_names: BTreeSet<(String, String)>,
    /// Existing accounts reused, by address.
    reused: BTreeSet<String>,
    /// Edits accepted so far: (file, op).
    accepted: Vec<(PathBuf, Op)>,
}

impl Planner<'_> {
    fn service(&mut self, idx: usize, s: &Service) -> Result<ServiceFix> {
        let req = self.req;
        let tname = req.target.model.name.as_str();
        let role = self
            .role_map
            .role_of(tname, idx)
            .map(|r| r.name.clone())
            .unwrap_or_else(|| strip_env(&s.name, tname));
        let mut notes = Vec::new();

        // The twin and its account.
        let twin = req.reference.and_then(|r| {
            let role = self.role_map.role(&role)?;
            let idx = role.services.get(&r.model.name)?;
            Some(
                idx.iter()
                    .map(|&i| &r.model.services[i])
                    .collect::<Vec<_>>(),
            )
        });
        let twins: Vec<&Service> = twin.unwrap_or_default();
        if twins.len() > 1 {
            notes.push(format!(
                "role `{role}` has {} services in {}: the new account holds what any of them holds",
                twins.len(),
                req.reference.map_or("", |r| r.model.name.as_str())
            ));
        }
        let twin_label = twins.first().map(|t| {
            format!(
                "{} ({})",
                t.name,
                t.service_account
                    .known()
                    .map_or_else(|| "account known after apply".into(), RuntimeSa::describe)
            )
        });
        let twin_sas: Vec<RuntimeSa> = twins
            .iter()
            .filter_map(|t| t.service_account.known().cloned())
            .collect();
        let twin_projects: BTreeSet<String> =
            twins.iter().filter_map(|t| t.project.clone()).collect();
        if let Some(r) = req.reference {
            if twins.is_empty() {
                notes.push(format!(
                    "role `{role}` has no service in {}: only what the service's own configuration needs is granted",
                    r.model.name
                ));
            } else if twin_sas.iter().all(RuntimeSa::is_default) {
                notes.push(format!(
                    "its twin in {} also runs as a default service account: there are no project roles to mirror, only what the service's own configuration needs is granted",
                    r.model.name
                ));
            }
        }

        // The account id, from the contract's pattern.
        let (pattern, pattern_from) = self.pattern(&twin_sas, &role);
        let project = s.project.clone();
        let expanded = expand(&pattern, &role, tname, project.as_deref());
        let mut account_id = sanitize(&expanded);
        if account_id != expanded {
            notes.push(format!(
                "the pattern `{pattern}` ({pattern_from}) gives `{expanded}`, which Google does not accept as an account id (6–30 characters, `[a-z][-a-z0-9]*[a-z0-9]`): it is `{account_id}`"
            ));
        }
        // An existing account with that id, unused, is taken over rather than duplicated.
        let reusable = self
            .reusable(&account_id)
            .map(|r| (r.address.clone(), r.name.clone()));
        let (resource, reused) = match reusable {
            Some((address, name)) => {
                notes.push(format!(
                    "`{address}` already declares the account `{account_id}` and no service runs as it: the service is pointed at it"
                ));
                self.reused.insert(address);
                (name, true)
            }
            None => {
                if self.taken_ids.contains(&account_id) {
                    let unique = unique_id(&account_id, &s.name, &self.taken_ids);
                    notes.push(format!(
                        "the account id `{account_id}` is taken in {tname}: the new account is `{unique}`"
                    ));
                    account_id = unique;
                }
                self.taken_ids.insert(account_id.clone());
                let name =
                    self.unique_name("google_service_account", &account_id.replace('-', "_"));
                (name, false)
            }
        };
        let email = project
            .as_deref()
            .map(|p| format!("{account_id}@{p}.iam.gserviceaccount.com"));
        if let Some(e) = &email
            && !matches_pattern(&pattern, e, &role, tname)
        {
            notes.push(format!(
                "`{e}` does not follow the pattern `{pattern}`: item 4 will still flag it until the role's name fits the account id rules or the contract declares the difference"
            ));
        }

        // Permissions.
        let (mut grants, left_out) = self.grants(s, &twin_sas, &twin_projects, &resource, reused);
        grants.sort_by(|a, b| a.grant.cmp(&b.grant));
        grants.dedup_by(|a, b| a.grant == b.grant);
        for g in &mut grants {
            g.name = match &g.grant {
                Grant::Project { role } => self.unique_name(
                    "google_project_iam_member",
                    &format!("{resource}_{}", role_slug(role)),
                ),
                Grant::Secret { id, .. } => self.unique_name(
                    "google_secret_manager_secret_iam_member",
                    &format!("{resource}_secret_{}", snake(id)),
                ),
            };
        }

        // Pointing the service at the account.
        let wiring = self.wire(s, &resource, &mut notes);
        let (project_expr, project_note) = project_expr(
            self.root.as_deref(),
            &req.target.inventory,
            project.as_deref(),
        );
        notes.extend(project_note);

        Ok(ServiceFix {
            service: s.name.clone(),
            address: s.address.clone(),
            role,
            current: s
                .service_account
                .known()
                .map_or_else(String::new, RuntimeSa::describe),
            resource,
            account_id,
            email,
            project_expr,
            reused,
            twin: twin_label,
            grants,
            left_out,
            wiring,
            notes,
        })
    }

    /// The naming pattern: the target's rule, else the reference's, else one read off the
    /// twin's account, else `cr-{role}`.
    fn pattern(&self, twin_sas: &[RuntimeSa], role: &str) -> (String, String) {
        let c = self.req.contract;
        let tname = &self.req.target.model.name;
        if let Some(p) = c
            .env(tname)
            .and_then(|e| e.service_accounts.as_ref())
            .and_then(|r| r.pattern.clone())
        {
            return (p, format!("the contract's pattern for {tname}"));
        }
        if let Some(r) = self.req.reference
            && let Some(p) = c
                .env(&r.model.name)
                .and_then(|e| e.service_accounts.as_ref())
                .and_then(|r| r.pattern.clone())
        {
            return (p, format!("the contract's pattern for {}", r.model.name));
        }
        for sa in twin_sas {
            if let Some(email) = sa.email()
                && let Some((local, _)) = email.split_once('@')
                && local.contains(role)
                && !sa.is_default()
            {
                return (
                    local.replacen(role, "{role}", 1),
                    "read off the twin's account".into(),
                );
            }
        }
        (
            "cr-{role}".into(),
            "no pattern in the contract: tfparity's default".into(),
        )
    }

    /// A root-module account with this id that no service runs as.
    fn reusable(&self, account_id: &str) -> Option<&Resource> {
        let inv = &self.req.target.inventory;
        let r = inv.of_type("google_service_account").find(|r| {
            r.module.is_empty()
                && r.values.get("account_id").and_then(Value::as_str) == Some(account_id)
        })?;
        if self.reused.contains(&r.address) {
            return None;
        }
        let used = self.req.target.model.services.iter().any(|s| {
            matches!(s.service_account.known(), Some(RuntimeSa::Dedicated { account: Some(a), .. }) if *a == r.address)
                || s.service_account.known().and_then(RuntimeSa::email).is_some_and(|e| {
                    r.values
                        .get("email")
                        .and_then(Value::as_str)
                        .is_some_and(|x| x.eq_ignore_ascii_case(e))
                })
        });
        (!used).then_some(r)
    }

    fn unique_name(&mut self, rtype: &str, base: &str) -> String {
        let base = identifier(base);
        let mut name = base.clone();
        let mut n = 2;
        while self
            .taken_names
            .contains(&(rtype.to_string(), name.clone()))
        {
            name = format!("{base}_{n}");
            n += 1;
        }
        self.taken_names.insert((rtype.to_string(), name.clone()));
        name
    }

    /// What the new account gets, and what the twin holds that it does not get.
    fn grants(
        &mut self,
        s: &Service,
        twin_sas: &[RuntimeSa],
        twin_projects: &BTreeSet<String>,
        resource: &str,
        reused: bool,
    ) -> (Vec<GrantWhy>, Vec<LeftOut>) {
        let tname = self.req.target.model.name.clone();
        let mut grants = Vec::new();
        let mut left_out = Vec::new();
        let sql =
            s.cloud_sql.known().is_some_and(|v| !v.is_empty()) || !s.cloud_sql_addresses.is_empty();
        if s.cloud_sql.is_unknown() {
            left_out.push(LeftOut {
                role: CLOUDSQL_CLIENT.into(),
                held_by: format!("`{}` in {tname}", s.name),
                why: "whether the service attaches Cloud SQL is known only after apply: add it if it does".into(),
            });
        }
        if let (Some(r), Some(g)) = (self.req.reference, self.rgraph) {
            for sa in twin_sas.iter().filter(|sa| !sa.is_default()) {
                let held_by = sa.describe();
                for held in held_roles(g, sa) {
                    let Some(r_role) = held.role else {
                        left_out.push(LeftOut {
                            role: "(a role known only after apply)".into(),
                            held_by: format!("{held_by} through `{}`", held.address),
                            why: "its role is known only after apply".into(),
                        });
                        continue;
                    };
                    if held.conditional {
                        left_out.push(LeftOut {
                            role: r_role,
                            held_by: held_by.clone(),
                            why: format!("granted with an IAM condition (`{}`): copy it by hand with its condition", held.address),
                        });
                        continue;
                    }
                    if let Some(p) = &held.project
                        && !twin_projects.is_empty()
                        && !twin_projects.contains(p)
                    {
                        left_out.push(LeftOut {
                            role: r_role,
                            held_by: held_by.clone(),
                            why: format!("granted in another project (`{p}`, through `{}`): mirror it by hand if {tname} needs the same access there", held.address),
                        });
                        continue;
                    }
                    if r_role == CLOUDSQL_CLIENT && !sql {
                        left_out.push(LeftOut {
                            role: r_role,
                            held_by: held_by.clone(),
                            why: format!("`{}` attaches no Cloud SQL instance in {tname}", s.name),
                        });
                        continue;
                    }
                    if r_role == SECRET_ACCESSOR {
                        left_out.push(LeftOut {
                            role: r_role,
                            held_by: held_by.clone(),
                            why: "project-wide secret access: the account gets access to each secret its service reads instead".into(),
                        });
                        continue;
                    }
                    if let Some(why) = too_broad(&r_role) {
                        left_out.push(LeftOut {
                            role: r_role,
                            held_by: held_by.clone(),
                            why: why.into(),
                        });
                        continue;
                    }
                    grants.push(GrantWhy {
                        grant: Grant::Project {
                            role: r_role.clone(),
                        },
                        why: format!("{held_by} holds it in {}", r.model.name),
                        name: String::new(),
                    });
                }
            }
        }
        if sql {
            grants.push(GrantWhy {
                grant: Grant::Project {
                    role: CLOUDSQL_CLIENT.into(),
                },
                why: format!("`{}` attaches Cloud SQL", s.name),
                name: String::new(),
            });
        }
        for (id, secret_expr, project_expr) in self.secrets(s) {
            grants.push(GrantWhy {
                grant: Grant::Secret {
                    id: id.clone(),
                    secret_expr,
                    project_expr,
                },
                why: format!("`{}` reads the secret `{id}`", s.name),
                name: String::new(),
            });
        }
        if reused {
            let existing = self.existing_grants(resource);
            grants.retain(|g| {
                let key = match &g.grant {
                    Grant::Project { role } => (true, role.clone()),
                    Grant::Secret { id, .. } => (false, id.clone()),
                };
                !existing.contains(&key)
            });
        }
        (grants, left_out)
    }

    /// The secrets the service reads: (id, secret expression, project expression when needed).
    fn secrets(&self, s: &Service) -> Vec<(String, String, Option<String>)> {
        let inv = &self.req.target.inventory;
        let standalone = self.root.is_none();
        let mut out: BTreeMap<String, (String, Option<String>)> = BTreeMap::new();
        for address in &s.secret_addresses {
            let Some(i) = self.tgraph.index_of(address) else {
                continue;
            };
            let r = &inv.resources[i];
            let id = r
                .values
                .get("secret_id")
                .and_then(Value::as_str)
                .map(|v| last_segment(v).to_string())
                .unwrap_or_else(|| r.name.clone());
            let secret_project = r.values.get("project").and_then(Value::as_str);
            let same_project = secret_project.is_none() || secret_project == s.project.as_deref();
            if r.module.is_empty() && !standalone {
                let project = (!same_project).then(|| format!("{address}.project"));
                out.insert(id, (format!("{address}.id"), project));
            } else {
                let project = (!same_project).then(|| quote(secret_project.unwrap_or_default()));
                out.insert(id.clone(), (quote(&id), project));
            }
        }
        for c in &s.containers {
            for var in c.env.known().into_iter().flat_map(|m| m.values()) {
                if let EnvValue::Secret {
                    secret: Some(id), ..
                } = &var.value
                {
                    let id = last_segment(id).to_string();
                    out.entry(id.clone()).or_insert_with(|| (quote(&id), None));
                }
            }
        }
        out.into_iter().map(|(id, (e, p))| (id, e, p)).collect()
    }

    /// What an existing account is granted already: project roles, and the ids of secrets it
    /// may read.
    fn existing_grants(&self, resource: &str) -> BTreeSet<(bool, String)> {
        let inv = &self.req.target.inventory;
        let Some(sa) = self
            .tgraph
            .index_of(&format!("google_service_account.{resource}"))
        else {
            return BTreeSet::new();
        };
        let mut out = BTreeSet::new();
        for (src, _) in self.tgraph.incoming(sa) {
            let r = &inv.resources[src];
            let role = r.values.get("role").and_then(Value::as_str).unwrap_or("");
            if PROJECT_IAM.contains(&r.rtype.as_str()) {
                out.insert((true, role.to_string()));
            }
            if r.rtype.starts_with("google_secret_manager_secret_iam") && role == SECRET_ACCESSOR {
                for (t, _) in self.tgraph.outgoing(src) {
                    let secret = &inv.resources[t];
                    if secret.rtype == "google_secret_manager_secret" {
                        let id = secret
                            .values
                            .get("secret_id")
                            .and_then(Value::as_str)
                            .map_or_else(|| secret.name.clone(), |v| last_segment(v).to_string());
                        out.insert((false, id));
                    }
                }
            }
        }
        out
    }

    /// Points the service at its account: edits when the configuration's shape allows, else
    /// explains what to change.
    fn wire(&mut self, s: &Service, resource: &str, notes: &mut Vec<String>) -> Wiring {
        let account = format!("google_service_account.{resource}");
        let reference = format!("{account}.email");
        let reference = reference.as_str();
        let paths = paths_for(&resource_type(s));
        let attr = paths.service_account;
        let how_by_hand = self.manual_how(s, reference, attr);
        if self.root.is_none() {
            return Wiring::Manual {
                why: "the target has no Terraform directory".into(),
                how: how_by_hand,
            };
        }
        let route = match self.route(s, attr, &account) {
            Ok(r) => r,
            Err(why) => {
                return Wiring::Manual {
                    why,
                    how: how_by_hand,
                };
            }
        };
        // Dry run: the edits must apply together with those accepted so far, without
        // setting the same place to two values.
        for (path, op) in &route.ops {
            if let Some((_, other)) = self
                .accepted
                .iter()
                .find(|(p, o)| p == path && same_place(o, op) && o != op)
            {
                return Wiring::Manual {
                    why: format!(
                        "another service's edit already sets the same place ({other:?}): they share one expression"
                    ),
                    how: how_by_hand,
                };
            }
        }
        let mut files: BTreeMap<&PathBuf, Vec<Op>> = BTreeMap::new();
        for (p, o) in self.accepted.iter().chain(&route.ops) {
            files.entry(p).or_default().push(o.clone());
        }
        for (path, ops) in files {
            let text = match file_text(self, path) {
                Ok(t) => t,
                Err(e) => {
                    return Wiring::Manual {
                        why: e.to_string(),
                        how: how_by_hand,
                    };
                }
            };
            if let Err(e) = edit::apply(&text, &ops) {
                return Wiring::Manual {
                    why: format!("{}: {e}", crate::report::display_path(path)),
                    how: how_by_hand,
                };
            }
        }
        notes.extend(route.notes);
        self.accepted.extend(route.ops);
        Wiring::Edited { steps: route.steps }
    }

    fn manual_how(&self, s: &Service, reference: &str, attr: &str) -> String {
        let inv = &self.req.target.inventory;
        let r = inv.resources.iter().find(|r| r.address == s.address);
        let module = r.map(|r| r.module.clone()).unwrap_or_default();
        let local_address = match r {
            Some(r) => format!(
                "{}.{}{}",
                r.rtype,
                r.name,
                r.index
                    .as_ref()
                    .map(ToString::to_string)
                    .unwrap_or_default()
            ),
            None => s.address.clone(),
        };
        let via = r
            .and_then(|r| r.config.as_ref())
            .and_then(|c| c.expr(attr))
            .map(|e| e.references.clone())
            .unwrap_or_default();
        if module.is_empty() {
            return format!("set `{attr} = {reference}` in `{local_address}`");
        }
        let calls = crate::load::config::split_module_path(&module);
        let (first, key) = calls.first().cloned().unwrap_or_default();
        let from = match via.iter().find(|v| v.starts_with("var.")) {
            Some(v) => format!(" (it sets `{attr}` from `{v}`)"),
            None => String::new(),
        };
        format!(
            "`{local_address}` is created by module `{first}`{}{from}: pass `{reference}` to it so that `{attr}` of `{}` is that account",
            if key.is_empty() {
                String::new()
            } else {
                format!(" (instance {key})")
            },
            s.address
        )
    }

    fn module_def(&mut self, dir: &Path) -> std::result::Result<Rc<ModuleDef>, String> {
        if let Some(d) = self.defs.get(dir) {
            return Ok(d.clone());
        }
        let d = files::read_module(dir).map_err(|e| e.to_string())?;
        self.defs.insert(dir.to_path_buf(), d.clone());
        Ok(d)
    }

    /// Finds where the service's account is decided and plans the edits.
    fn route(
        &mut self,
        s: &Service,
        attr: &str,
        account: &str,
    ) -> std::result::Result<Route, String> {
        let root = self
            .root
            .clone()
            .expect("routing needs a Terraform directory");
        let inv = &self.req.target.inventory;
        let res = inv
            .resources
            .iter()
            .find(|r| r.address == s.address)
            .ok_or_else(|| format!("`{}` is not in the inventory", s.address))?
            .clone();
        let mut levels: Vec<Level> = vec![Level {
            def: root,
            call: None,
        }];
        for (name, key) in crate::load::config::split_module_path(&res.module) {
            let parent = levels.len() - 1;
            let pdef = levels[parent].def.clone();
            let call = pdef
                .modules
                .iter()
                .find(|m| m.name == name)
                .ok_or_else(|| {
                    format!(
                        "module `{name}` is not declared in {}",
                        crate::report::display_path(&pdef.dir)
                    )
                })?;
            let dir = local_module_dir(&pdef.dir, &call.source).ok_or_else(|| {
                format!(
                    "module `{name}` comes from `{}`, not a local directory: tfparity does not edit installed modules (.terraform/modules)",
                    call.source
                )
            })?;
            if dir.components().any(|c| c.as_os_str() == ".terraform") {
                return Err(format!(
                    "module `{name}` lives under .terraform/, which tfparity never edits"
                ));
            }
            let def = self.module_def(&dir)?;
            levels.push(Level {
                def,
                call: Some((parent, name, parse_key(&key))),
            });
        }
        let level = levels.len() - 1;
        let def = levels[level].def.clone();
        let rdef = def
            .resources
            .iter()
            .find(|r| r.mode == Mode::Managed && r.rtype == res.rtype && r.name == res.name)
            .ok_or_else(|| {
                format!(
                    "`{}.{}` is not declared in {}",
                    res.rtype,
                    res.name,
                    crate::report::display_path(&def.dir)
                )
            })?;
        let mut parts: Vec<&str> = attr.split('.').collect();
        let key = parts.pop().unwrap_or(attr).to_string();
        let mut path = vec![BlockSel {
            ident: "resource".into(),
            labels: vec![res.rtype.clone(), res.name.clone()],
        }];
        let mut body = Some(&rdef.body);
        for p in &parts {
            path.push(BlockSel::new(p, &[]));
            body = match body {
                Some(b) => match b.get_blocks(p).next() {
                    Some(blk) => Some(&blk.body),
                    None => {
                        if b.get_blocks("dynamic")
                            .any(|d| d.labels.first().is_some_and(|l| l.as_str() == *p))
                        {
                            return Err(format!(
                                "`{p}` of `{}.{}` is a dynamic block: its content cannot be edited in place",
                                res.rtype, res.name
                            ));
                        }
                        None
                    }
                },
                None => None,
            };
        }
        let expr = body
            .and_then(|b| b.get_attribute(&key))
            .map(|a| a.value.clone());
        let site = Site {
            level,
            file: rdef.loc.file,
            path,
            key,
            expr,
            for_each: rdef.for_each.clone(),
            count: rdef.count.clone(),
            instance: res.index.clone(),
            what: format!("`{attr}` of `{}.{}`", res.rtype, res.name),
        };
        let mut route = Route::default();
        self.resolve(&levels, site, account, &mut route)?;
        if !route.via.is_empty() {
            let chain: Vec<String> = route.via.iter().rev().cloned().collect();
            route.steps.push(format!(
                "it reaches the service through {}",
                chain.join(", then ")
            ));
        }
        Ok(route)
    }

    fn resolve(
        &mut self,
        levels: &[Level],
        site: Site,
        account: &str,
        out: &mut Route,
    ) -> std::result::Result<(), String> {
        let reference = format!("{account}.email");
        let def = levels[site.level].def.clone();
        let file = def
            .files
            .get(site.file)
            .ok_or("a source file went missing")?;
        let text = file.text.as_str();
        let path = file.path.clone();
        let shown = crate::report::display_path(&path);
        let class = classify(site.expr.as_ref());
        let old = site.expr.as_ref().map(|e| edit::source_text(text, e));
        let at = |e: Option<&Expression>| -> String {
            match e.and_then(|e| e.span()) {
                Some(r) => place(&path, text, r.start),
                None => shown.clone(),
            }
        };
        let comment_note = |e: Option<&Expression>| -> Option<String> {
            let e = e?;
            let r = e.span()?;
            let line_end = text[r.end..].find('\n').map_or(text.len(), |i| r.end + i);
            let rest = text[r.end..line_end].trim();
            rest.starts_with('#').then(|| {
                format!(
                    "the comment after the edited value at {} (`{rest}`) may no longer hold",
                    at(Some(e))
                )
            })
        };
        if site.level == 0 {
            if site.count.is_some() {
                return Err(format!(
                    "{} is in a block with `count`: its instances share one expression",
                    site.what
                ));
            }
            let Some(fe) = &site.for_each else {
                let step = match &old {
                    Some(o) => format!(
                        "{}: {} = {reference} (was `{o}`)",
                        at(site.expr.as_ref()),
                        site.what
                    ),
                    None => format!("{}: {} = {reference} (added)", shown, site.what),
                };
                out.ops.push((
                    path.to_path_buf(),
                    Op::SetAttr {
                        path: site.path.clone(),
                        key: site.key.clone(),
                        expr: reference,
                    },
                ));
                out.steps.push(step);
                out.notes.extend(comment_note(site.expr.as_ref()));
                return Ok(());
            };
            let fe_text = edit::source_text(text, fe);
            let Some(local) = lone_local(fe) else {
                return Err(format!(
                    "{} depends on `each.key`, and `for_each = {fe_text}` is not a `local` map tfparity can edit",
                    site.what
                ));
            };
            let Some(InstanceKey::Str(key)) = &site.instance else {
                return Err(format!("{} has no instance key", site.what));
            };
            let ldef = def
                .locals
                .iter()
                .find(|l| l.name == local)
                .ok_or_else(|| format!("`local.{local}` is not declared here"))?;
            let Expression::Object(map) = &ldef.expr else {
                return Err(format!(
                    "`local.{local}` (for_each of {}) is not written as a map literal",
                    site.what
                ));
            };
            let lfile = def
                .files
                .get(ldef.loc.file)
                .ok_or("a source file went missing")?;
            let entry = map
                .iter()
                .find(|(k, _)| edit::key_is(k, key))
                .map(|(_, v)| v.expr().clone())
                .ok_or_else(|| format!("`local.{local}` has no entry \"{key}\" written as such"))?;
            let Expression::Object(obj) = &entry else {
                return Err(format!(
                    "the entry \"{key}\" of `local.{local}` is not written as an object"
                ));
            };
            let field = match &class {
                Class::EachField(f) => {
                    out.via.push(format!(
                        "{} = {}",
                        site.what,
                        old.clone().unwrap_or_default()
                    ));
                    f.clone()
                }
                Class::Absent | Class::Null | Class::DefaultAccount | Class::Var(_) => {
                    let f = site.key.clone();
                    if map.iter().any(|(_, v)| match v.expr() {
                        Expression::Object(o) => o.iter().any(|(k, _)| edit::key_is(k, &f)),
                        _ => false,
                    }) {
                        return Err(format!(
                            "{} does not read `each.value.{f}`, though entries of `local.{local}` have it",
                            site.what
                        ));
                    }
                    let fallback = match (&class, &old) {
                        (Class::DefaultAccount | Class::Var(_), Some(o)) => o.clone(),
                        _ => "null".into(),
                    };
                    let lookup = format!("lookup(each.value, \"{f}\", {fallback})");
                    out.ops.push((
                        path.to_path_buf(),
                        Op::SetAttr {
                            path: site.path.clone(),
                            key: site.key.clone(),
                            expr: lookup.clone(),
                        },
                    ));
                    out.steps.push(format!(
                        "{}: {} = {lookup} (the entries of `local.{local}` choose the account; {})",
                        match &old {
                            Some(_) => at(site.expr.as_ref()),
                            None => shown.clone(),
                        },
                        site.what,
                        match &old {
                            Some(o) =>
                                format!("was `{o}`, still the value for entries without `{f}`"),
                            None => "entries without it keep the default".into(),
                        }
                    ));
                    f
                }
                Class::Other(o) => {
                    return Err(format!(
                        "{} is `{o}` at {}: tfparity edits a value read from `each.value.FIELD`, a lone variable, null, or a default-account reference",
                        site.what,
                        at(site.expr.as_ref())
                    ));
                }
            };
            let current = obj
                .iter()
                .find(|(k, _)| edit::key_is(k, &field))
                .map(|(_, v)| v.expr().clone());
            let lat = match &current {
                Some(e) => at_in(lfile, e),
                None => crate::report::display_path(&lfile.path),
            };
            out.steps.push(format!(
                "{lat}: local.{local}[\"{key}\"].{field} = {reference} ({})",
                match &current {
                    Some(e) => format!("was `{}`", edit::source_text(&lfile.text, e)),
                    None => "added".into(),
                }
            ));
            if let Some(e) = &current {
                let r = e.span();
                if let Some(r) = r {
                    let t = &lfile.text;
                    let line_end = t[r.end..].find('\n').map_or(t.len(), |i| r.end + i);
                    let rest = t[r.end..line_end].trim();
                    if rest.starts_with('#') {
                        out.notes.push(format!(
                            "the comment after the edited value at {lat} (`{rest}`) may no longer hold"
                        ));
                    }
                }
            }
            out.ops.push((
                lfile.path.to_path_buf(),
                Op::SetEntryField {
                    local: local.to_string(),
                    entry: key.clone(),
                    field,
                    expr: reference,
                },
            ));
            return Ok(());
        }

        // Inside a module: the value has to come from the caller.
        let (parent, call_name, instance) =
            levels[site.level].call.clone().expect("a module level");
        if site.for_each.is_some() || site.count.is_some() {
            return Err(format!(
                "{} in module `{call_name}` has `count` or `for_each` of its own: a module variable would set every instance",
                site.what
            ));
        }
        let var = match &class {
            Class::Var(v) => {
                out.via.push(format!("{} = var.{v}", site.what));
                v.clone()
            }
            Class::Absent | Class::Null | Class::DefaultAccount => {
                let v = [
                    "service_account",
                    "runtime_service_account",
                    "service_account_email",
                    "tfparity_service_account",
                ]
                .into_iter()
                .find(|n| def.variable(n).is_none())
                .ok_or("the module declares every variable name tfparity would use")?
                .to_string();
                let vfile = def
                    .variables
                    .first()
                    .and_then(|v| def.files.get(v.loc.file))
                    .unwrap_or(file);
                let module_dir = crate::report::display_path(&def.dir);
                out.ops.push((
                    path.to_path_buf(),
                    Op::SetAttr {
                        path: site.path.clone(),
                        key: site.key.clone(),
                        expr: format!("var.{v}"),
                    },
                ));
                out.ops.push((
                    vfile.path.to_path_buf(),
                    Op::Append {
                        text: format!(
                            "variable \"{v}\" {{\n  description = \"Runtime service account email. Null leaves it unset: Cloud Run then runs the service as the Compute Engine default service account.\"\n  type        = string\n  default     = null\n}}\n"
                        ),
                    },
                ));
                out.steps.push(format!(
                    "{}: {} = var.{v}, and `variable \"{v}\"` in {} (the module {}; the variable defaults to null, so its other callers are unchanged)",
                    match &old {
                        Some(_) => at(site.expr.as_ref()),
                        None => shown.clone(),
                    },
                    site.what,
                    crate::report::display_path(&vfile.path),
                    match &old {
                        Some(o) => format!("had no way to take a service account: it wrote `{o}`"),
                        None => "had no way to take a service account".into(),
                    }
                ));
                out.notes.push(format!(
                    "module {module_dir} had no way to take a service account: tfparity adds the variable `{v}`"
                ));
                v
            }
            Class::EachField(_) | Class::Other(_) => {
                return Err(format!(
                    "{} in module `{call_name}` is `{}`: tfparity follows a lone `var.NAME` to the module call, or adds one when the value is missing, null or a default account",
                    site.what,
                    old.unwrap_or_default()
                ));
            }
        };
        let pdef = levels[parent].def.clone();
        let call = pdef
            .modules
            .iter()
            .find(|m| m.name == call_name)
            .ok_or_else(|| format!("module `{call_name}` is not declared"))?;
        let arg = call.args.iter().find(|(n, _, _)| *n == var);
        let parent_site = Site {
            level: parent,
            file: arg.map_or(call.loc.file, |(_, _, loc)| loc.file),
            path: vec![BlockSel::new("module", &[&call_name])],
            key: var.clone(),
            expr: arg.map(|(_, e, _)| e.clone()),
            for_each: call.for_each.clone(),
            count: call.count.clone(),
            instance,
            what: format!("argument `{var}` of module `{call_name}`"),
        };
        self.resolve(levels, parent_site, account, out)
    }
}

fn at_in(file: &files::SourceFile, e: &Expression) -> String {
    match e.span() {
        Some(r) => place(&file.path, &file.text, r.start),
        None => crate::report::display_path(&file.path),
    }
}

/// `file:line:column` of a byte offset, the file as reports show it.
fn place(path: &Path, text: &str, offset: usize) -> String {
    let (line, column) = line_col(text.as_bytes(), offset);
    format!("{}:{line}:{column}", crate::report::display_path(path))
}

#[derive(Default)]
struct Route {
    ops: Vec<(PathBuf, Op)>,
    steps: Vec<String>,
    notes: Vec<String>,
    /// How the edited value reaches the service, innermost first.
    via: Vec<String>,
}

struct Level {
    def: Rc<ModuleDef>,
    /// The call from the parent: (parent level, call name, instance key).
    call: Option<(usize, String, Option<InstanceKey>)>,
}

/// Where a value is written: attribute `key` of the body at `path` in a file of a level.
struct Site {
    level: usize,
    file: usize,
    path: Vec<BlockSel>,
    key: String,
    expr: Option<Expression>,
    for_each: Option<Expression>,
    count: Option<Expression>,
    instance: Option<InstanceKey>,
    what: String,
}

/// What an expression that sets the account is.
#[derive(Clone, Debug, PartialEq, Eq)]
enum Class {
    Absent,
    Null,
    /// `var.NAME`.
    Var(String),
    /// `each.value.FIELD`, `lookup(each.value, "FIELD", …)` or `try(each.value.FIELD, …)`.
    EachField(String),
    /// A default service account: its data source, or its email written out.
    DefaultAccount,
    Other(String),
}

fn classify(e: Option<&Expression>) -> Class {
    let Some(e) = e else { return Class::Absent };
    if matches!(e, Expression::Null(_)) {
        return Class::Null;
    }
    if let Some(v) = lone(e, "var") {
        return Class::Var(v);
    }
    if let Some(f) = each_field(e) {
        return Class::EachField(f);
    }
    let mut bare = e.clone();
    hcl_edit::Decorate::decor_mut(&mut bare).clear();
    let text = bare.to_string();
    if text.contains("google_compute_default_service_account")
        || text.contains("google_app_engine_default_service_account")
    {
        return Class::DefaultAccount;
    }
    if let Expression::String(s) = e {
        let v = s.value().to_ascii_lowercase();
        if v.ends_with("-compute@developer.gserviceaccount.com")
            || v.ends_with("@appspot.gserviceaccount.com")
        {
            return Class::DefaultAccount;
        }
    }
    Class::Other(text)
}

/// `NAME` when `e` is exactly `root.NAME`.
fn lone(e: &Expression, root: &str) -> Option<String> {
    let Expression::Traversal(t) = e else {
        return None;
    };
    match (&t.expr, t.operators.as_slice()) {
        (Expression::Variable(v), [op]) if v.as_str() == root => match op.value() {
            TraversalOperator::GetAttr(a) => Some(a.as_str().to_string()),
            _ => None,
        },
        _ => None,
    }
}

fn lone_local(e: &Expression) -> Option<String> {
    lone(e, "local")
}

/// `FIELD` of `each.value.FIELD`, `lookup(each.value, "FIELD", …)`, `try(each.value.FIELD, …)`.
fn each_field(e: &Expression) -> Option<String> {
    match e {
        Expression::Traversal(t) => match (&t.expr, t.operators.as_slice()) {
            (Expression::Variable(v), [a, b]) if v.as_str() == "each" => {
                match (a.value(), b.value()) {
                    (TraversalOperator::GetAttr(x), TraversalOperator::GetAttr(f))
                        if x.as_str() == "value" =>
                    {
                        Some(f.as_str().to_string())
                    }
                    _ => None,
                }
            }
            _ => None,
        },
        Expression::FuncCall(f) => {
            let args: Vec<&Expression> = f.args.iter().collect();
            match (f.name.name.as_str(), args.as_slice()) {
                ("lookup", [m, Expression::String(k), ..]) if is_each_value(m) => {
                    Some(k.value().to_string())
                }
                ("try", [first, ..]) => {
                    each_field(first).filter(|_| matches!(first, Expression::Traversal(_)))
                }
                _ => None,
            }
        }
        _ => None,
    }
}

fn is_each_value(e: &Expression) -> bool {
    lone(e, "each").as_deref() == Some("value")
}

/// A local module's directory (`./x`, `../x`), normalised.
fn local_module_dir(caller: &Path, source: &str) -> Option<PathBuf> {
    if !(source.starts_with("./") || source.starts_with("../") || source == "." || source == "..") {
        return None;
    }
    let mut out = PathBuf::new();
    for c in caller.join(source).components() {
        match c {
            Component::CurDir => {}
            Component::ParentDir => {
                if !out.pop() {
                    out.push("..");
                }
            }
            other => out.push(other.as_os_str()),
        }
    }
    Some(out)
}

fn parse_key(bracketed: &str) -> Option<InstanceKey> {
    let inner = bracketed.strip_prefix('[')?.strip_suffix(']')?;
    if let Ok(i) = inner.parse::<i64>() {
        return Some(InstanceKey::Int(i));
    }
    serde_json::from_str::<String>(inner)
        .ok()
        .map(InstanceKey::Str)
}

fn resource_type(s: &Service) -> String {
    match s.kind {
        crate::model::ServiceKind::RunV1Service => "google_cloud_run_service",
        crate::model::ServiceKind::RunV2Service => "google_cloud_run_v2_service",
        crate::model::ServiceKind::RunV2Job => "google_cloud_run_v2_job",
    }
    .to_string()
}

/// Whether two ops set the same place (possibly to different values).
fn same_place(a: &Op, b: &Op) -> bool {
    match (a, b) {
        (
            Op::SetAttr {
                path: p1, key: k1, ..
            },
            Op::SetAttr {
                path: p2, key: k2, ..
            },
        ) => p1 == p2 && k1 == k2,
        (
            Op::SetEntryField {
                local: l1,
                entry: e1,
                field: f1,
                ..
            },
            Op::SetEntryField {
                local: l2,
                entry: e2,
                field: f2,
                ..
            },
        ) => l1 == l2 && e1 == e2 && f1 == f2,
        _ => false,
    }
}

/// A project role the twin holds, through one IAM resource.
struct Held {
    role: Option<String>,
    conditional: bool,
    /// The project it grants in, when known.
    project: Option<String>,
    address: String,
}

/// Project roles granted to a service account in an environment: IAM members and bindings
/// that name its email or refer to its resource.
fn held_roles(g: &ResourceGraph<'_>, sa: &RuntimeSa) -> Vec<Held> {
    let inv = g.inventory;
    let sa_idx = match sa {
        RuntimeSa::Dedicated {
            account: Some(a), ..
        } => g.index_of(a),
        _ => None,
    }
    .or_else(|| sa.email().and_then(|e| g.sa_by_email(e)));
    let member = sa
        .email()
        .map(|e| format!("serviceaccount:{}", e.to_ascii_lowercase()));
    let mut out = Vec::new();
    for (i, r) in inv.resources.iter().enumerate() {
        if r.mode != Mode::Managed || !PROJECT_IAM.contains(&r.rtype.as_str()) {
            continue;
        }
        let by_edge = sa_idx.is_some_and(|s| {
            g.outgoing(i)
                .iter()
                .any(|&(t, k)| t == s && matches!(k, EdgeKind::GrantsTo | EdgeKind::Reference))
        });
        let mut members: Vec<String> = Vec::new();
        if let Some(m) = r.values.get("member").and_then(Value::as_str) {
            members.push(m.to_ascii_lowercase());
        }
        for m in r
            .values
            .get("members")
            .map(Value::as_list)
            .unwrap_or_default()
        {
            if let Some(m) = m.as_str() {
                members.push(m.to_ascii_lowercase());
            }
        }
        let by_member = member.as_ref().is_some_and(|m| members.contains(m));
        if !(by_edge || by_member) {
            continue;
        }
        let role = match r.values.at("role") {
            Lookup::Set(Value::String(s)) => Some(s.clone()),
            _ => None,
        };
        let conditional = !r
            .values
            .get("condition")
            .map(Value::as_list)
            .unwrap_or_default()
            .is_empty();
        out.push(Held {
            role,
            conditional,
            project: r
                .values
                .get("project")
                .and_then(Value::as_str)
                .map(str::to_string),
            address: r.address.clone(),
        });
    }
    out.sort_by(|a, b| (&a.role, &a.address).cmp(&(&b.role, &b.address)));
    out
}

/// Why a role is not mirrored, when it is too broad for a runtime identity.
pub fn too_broad(role: &str) -> Option<&'static str> {
    match role {
        "roles/owner" | "roles/editor" | "roles/viewer" => Some(
            "a basic role: it reaches every resource in the project (least privilege: grant the narrow roles the service needs instead)",
        ),
        "roles/iam.serviceAccountUser"
        | "roles/iam.serviceAccountTokenCreator"
        | "roles/iam.workloadIdentityUser"
        | "roles/iam.serviceAccountOpenIdTokenCreator" => {
            Some("it lets the account act as other service accounts (a privilege escalation path)")
        }
        r if r.starts_with("roles/iam.") || r.starts_with("roles/resourcemanager.") => {
            Some("it controls IAM or the project itself")
        }
        r if r.ends_with(".admin") || r.ends_with("Admin") => Some(
            "an administrator role: full control of a whole service (grant a narrower role by hand if the service needs it)",
        ),
        r if !r.starts_with("roles/") => Some(
            "a custom role: defined in another project or organisation, its permissions cannot be reviewed here",
        ),
        _ => None,
    }
}

/// `pattern` with its placeholders filled in; only the account id part of an email pattern.
pub fn expand(pattern: &str, role: &str, env: &str, project: Option<&str>) -> String {
    let local = pattern.split('@').next().unwrap_or(pattern);
    local
        .replace("{role}", role)
        .replace("{env}", env)
        .replace("{project}", project.unwrap_or(env))
}

/// Whether Google accepts `id` as a service account id.
pub fn valid_account_id(id: &str) -> bool {
    let b = id.as_bytes();
    (6..=30).contains(&b.len())
        && b[0].is_ascii_lowercase()
        && b.iter()
            .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || *c == b'-')
        && b[b.len() - 1] != b'-'
}

/// A deterministic short hash (FNV-1a, 24 bits as 6 hex digits).
fn short_hash(s: &str) -> String {
    let mut h: u64 = 0xcbf2_9ce4_8422_2325;
    for b in s.bytes() {
        h ^= u64::from(b);
        h = h.wrapping_mul(0x0100_0000_01b3);
    }
    format!("{:06x}", (h ^ (h >> 32)) & 0xff_ffff)
}

/// Makes an account id valid: lower case, `-` for other characters, starting with a letter,
/// 6 to 30 characters (shortened with a hash of the whole, so distinct ids stay distinct).
pub fn sanitize(expanded: &str) -> String {
    let mut s = String::new();
    for c in expanded.to_ascii_lowercase().chars() {
        let c = if c.is_ascii_lowercase() || c.is_ascii_digit() {
            c
        } else {
            '-'
        };
        if c == '-' && (s.is_empty() || s.ends_with('-')) {
            continue;
        }
        s.push(c);
    }
    let mut s = s.trim_end_matches('-').to_string();
    if !s.starts_with(|c: char| c.is_ascii_lowercase()) {
        s = format!("sa-{s}").trim_end_matches('-').to_string();
    }
    if s.len() < 6 {
        s = format!("{s}-{}", short_hash(expanded));
    }
    if s.len() > 30 {
        s = format!("{}-{}", s[..23].trim_end_matches('-'), short_hash(expanded));
    }
    debug_assert!(valid_account_id(&s), "{s}");
    s
}

/// An id not in `taken`, from `id` and the service's name.
pub fn unique_id(id: &str, service: &str, taken: &BTreeSet<String>) -> String {
    let base = if id.len() > 23 {
        id[..23].trim_end_matches('-')
    } else {
        id
    };
    let mut n = 0;
    loop {
        let salt = if n == 0 {
            format!("{id}\u{0}{service}")
        } else {
            format!("{id}\u{0}{service}\u{0}{n}")
        };
        let candidate = format!("{base}-{}", short_hash(&salt));
        if !taken.contains(&candidate) {
            return candidate;
        }
        n += 1;
    }
}

/// A Terraform identifier from a name.
fn identifier(s: &str) -> String {
    let mut out: String = s
        .chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() || c == '_' || c == '-' {
                c
            } else {
                '_'
            }
        })
        .collect();
    if !out.starts_with(|c: char| c.is_ascii_alphabetic() || c == '_') {
        out.insert(0, '_');
    }
    out
}

fn quote(s: &str) -> String {
    serde_json::to_string(s).unwrap_or_else(|_| format!("\"{s}\""))
}

/// The expression new resources use for their project: what the configuration's root
/// resources write for the same project (`var.project_id`), else nothing when the provider
/// sets the project, else the project id. The note says what was chosen when it is a guess.
fn project_expr(
    root: Option<&ModuleDef>,
    inventory: &crate::inventory::Inventory,
    project: Option<&str>,
) -> (Option<String>, Option<String>) {
    let project = project.map(str::to_string);
    let Some(root) = root else {
        return match project {
            Some(p) => (Some(quote(&p)), None),
            None => (
                None,
                Some("the services' project is not known: the new resources use the provider's default project".into()),
            ),
        };
    };
    let mut counts: BTreeMap<String, (usize, usize)> = BTreeMap::new();
    for (order, r) in root.resources.iter().enumerate() {
        if r.mode != Mode::Managed {
            continue;
        }
        let Some(a) = r.body.get_attribute("project") else {
            continue;
        };
        let text = match &a.value {
            e if lone(e, "var").is_some() => format!("var.{}", lone(e, "var").unwrap_or_default()),
            Expression::String(s) => quote(s.value()),
            _ => continue,
        };
        let matches = inventory
            .resources
            .iter()
            .filter(|x| x.module.is_empty() && x.rtype == r.rtype && x.name == r.name)
            .any(
                |x| match (x.values.get("project").and_then(Value::as_str), &project) {
                    (Some(v), Some(p)) => v == p,
                    (None, _) => project.is_none(),
                    (Some(_), None) => true,
                },
            );
        if matches {
            let e = counts.entry(text).or_insert((0, order));
            e.0 += 1;
        }
    }
    if let Some((text, _)) = counts
        .into_iter()
        .max_by(|a, b| a.1.0.cmp(&b.1.0).then(b.1.1.cmp(&a.1.1)))
    {
        return (Some(text), None);
    }
    let provider_sets = root.providers.iter().any(|p| {
        p.name == "google" && p.alias.is_none() && p.body.get_attribute("project").is_some()
    });
    if provider_sets {
        return (None, None);
    }
    match project {
        Some(p) => (Some(quote(&p)), None),
        None => (
            None,
            Some("the services' project is not known: the new resources use the provider's default project".into()),
        ),
    }
}

fn file_header(target: &str, reference: Option<&str>) -> String {
    let from = match reference {
        Some(r) => format!("the project roles its twin in {r} holds (broad roles left out),"),
        None => "no project roles (no reference environment to mirror),".into(),
    };
    let text = format!(
        "Dedicated runtime service accounts for the Cloud Run services of {target} that ran as a default service account, written by `tfparity fix service-accounts`. Each holds {from} access to each secret its service reads, and Cloud SQL access when its service attaches an instance."
    );
    wrap_comment(&text, 90)
}

fn wrap_comment(text: &str, width: usize) -> String {
    let mut out = String::new();
    let mut line = String::from("#");
    for word in text.split_whitespace() {
        if line.len() + 1 + word.len() > width && line.len() > 1 {
            out.push_str(&line);
            out.push('\n');
            line = String::from("#");
        }
        line.push(' ');
        line.push_str(word);
    }
    if line.len() > 1 {
        out.push_str(&line);
        out.push('\n');
    }
    out
}

/// A resource block with its attributes aligned as `terraform fmt` aligns them.
fn resource_block(rtype: &str, name: &str, attrs: &[(&str, String)]) -> String {
    let width = attrs.iter().map(|(k, _)| k.len()).max().unwrap_or(0);
    let mut s = format!("resource \"{rtype}\" \"{name}\" {{\n");
    for (k, v) in attrs {
        s.push_str(&format!("  {k:<width$} = {v}\n"));
    }
    s.push_str("}\n");
    s
}

/// The accounts and grants as HCL blocks separated by blank lines.
fn render_blocks(fixes: &[ServiceFix], reference: Option<&str>) -> String {
    let mut blocks: Vec<String> = Vec::new();
    for f in fixes {
        let project = &f.project_expr;
        let member = format!("google_service_account.{}.member", f.resource);
        let with_project = |mut attrs: Vec<(&'static str, String)>, p: &Option<String>| {
            if let Some(p) = p {
                attrs.insert(0, ("project", p.clone()));
            }
            attrs
        };
        if !f.reused {
            let mut comment = format!("`{}` (role `{}`) ran as {}.", f.service, f.role, f.current);
            match (&f.twin, reference) {
                (Some(t), Some(r)) => comment.push_str(&format!(" Its twin in {r}: {t}.")),
                (None, Some(r)) => comment.push_str(&format!(" It has no twin in {r}.")),
                _ => {}
            }
            let mut b = wrap_comment(&comment, 90);
            b.push_str(&resource_block(
                "google_service_account",
                &f.resource,
                &with_project(
                    vec![
                        ("account_id", quote(&f.account_id)),
                        (
                            "display_name",
                            quote(&format!("Cloud Run runtime: {}", f.service)),
                        ),
                    ],
                    project,
                ),
            ));
            blocks.push(b);
        }
        for g in &f.grants {
            match &g.grant {
                Grant::Project { role } => {
                    // `project` is required here: the account's own when the provider sets it.
                    let p = project
                        .clone()
                        .or_else(|| Some(format!("google_service_account.{}.project", f.resource)));
                    blocks.push(resource_block(
                        "google_project_iam_member",
                        &g.name,
                        &with_project(vec![("role", quote(role)), ("member", member.clone())], &p),
                    ));
                }
                Grant::Secret {
                    secret_expr,
                    project_expr,
                    ..
                } => {
                    let p = project_expr.clone().or_else(|| project.clone());
                    blocks.push(resource_block(
                        "google_secret_manager_secret_iam_member",
                        &g.name,
                        &with_project(
                            vec![
                                ("secret_id", secret_expr.clone()),
                                ("role", quote(SECRET_ACCESSOR)),
                                ("member", member.clone()),
                            ],
                            &p,
                        ),
                    ));
                }
            }
        }
    }
    blocks.join("\n")
}

/// `roles/logging.logWriter` → `logging_log_writer`.
fn role_slug(role: &str) -> String {
    snake(role.rsplit('/').next().unwrap_or(role))
}

fn snake(s: &str) -> String {
    let mut out = String::new();
    for c in s.chars() {
        if c.is_ascii_uppercase() {
            if !out.is_empty() && !out.ends_with('_') {
                out.push('_');
            }
            out.push(c.to_ascii_lowercase());
        } else if c.is_ascii_alphanumeric() {
            out.push(c);
        } else if !out.ends_with('_') {
            out.push('_');
        }
    }
    out.trim_matches('_').to_string()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::app::load_env;
    use crate::contract::Contract;

    const DEV: &str = r#"
provider "google" {
  project = "acme-dev"
  region  = "us-central1"
}

resource "google_service_account" "api" {
  account_id = "cr-api"
}

resource "google_project_iam_member" "api_logs" {
  project = "acme-dev"
  role    = "roles/logging.logWriter"
  member  = google_service_account.api.member
}

resource "google_project_iam_member" "api_editor" {
  project = "acme-dev"
  role    = "roles/editor"
  member  = "serviceAccount:${google_service_account.api.email}"
}

resource "google_project_iam_member" "api_act_as" {
  project = "acme-dev"
  role    = "roles/iam.serviceAccountUser"
  member  = google_service_account.api.member
}

resource "google_project_iam_member" "api_all_secrets" {
  project = "acme-dev"
  role    = "roles/secretmanager.secretAccessor"
  member  = google_service_account.api.member
}

resource "google_project_iam_binding" "api_sql" {
  project = "acme-dev"
  role    = "roles/cloudsql.client"
  members = [google_service_account.api.member]
}

resource "google_project_iam_member" "api_tracing" {
  project = "acme-dev"
  role    = "roles/cloudtrace.agent"
  member  = google_service_account.api.member
  condition {
    title      = "office hours"
    expression = "true"
  }
}

resource "google_project_iam_member" "api_shared_registry" {
  project = "acme-shared"
  role    = "roles/artifactregistry.reader"
  member  = google_service_account.api.member
}

resource "google_service_account" "web" {
  account_id = "cr-web"
}

resource "google_project_iam_member" "web_logs" {
  project = "acme-dev"
  role    = "roles/logging.logWriter"
  member  = google_service_account.web.member
}

resource "google_cloud_run_v2_service" "api" {
  name     = "api"
  location = "us-central1"
  template {
    service_account = google_service_account.api.email
    containers {
      image = "api"
    }
  }
}

resource "google_cloud_run_v2_service" "web" {
  name     = "web"
  location = "us-central1"
  template {
    service_account = google_service_account.web.email
    containers {
      image = "web"
    }
  }
}
"#;

    const PROVIDER: &str =
        "provider \"google\" {\n  project = \"acme-prod\"\n  region  = \"us-central1\"\n}\n";

    fn write_tree(files: &[(&str, &str)]) -> tempfile::TempDir {
        let dir = tempfile::tempdir().unwrap();
        for (path, text) in files {
            let p = dir.path().join(path);
            std::fs::create_dir_all(p.parent().unwrap()).unwrap();
            std::fs::write(p, text).unwrap();
        }
        dir
    }

    fn contract(dir: &Path, text: Option<&str>) -> Contract {
        match text {
            Some(t) => {
                let p = dir.join("parity.hcl");
                std::fs::write(&p, t).unwrap();
                crate::contract::parse::read(&p).unwrap()
            }
            None => {
                let mut c = Contract::assumed(Vec::new());
                c.override_env("dev", vec![dir.join("dev")]);
                c.override_env("prod", vec![dir.join("prod")]);
                c
            }
        }
    }

    fn fix(c: &Contract) -> Outcome {
        let target = load_env(c.env("prod").unwrap()).unwrap();
        let reference = load_env(c.env("dev").unwrap()).unwrap();
        plan(&Request {
            contract: c,
            target: &target,
            reference: Some(&reference),
            standalone_dir: PathBuf::from("."),
        })
        .unwrap()
    }

    /// The account each prod service runs as, after the patch is written.
    fn accounts_after(c: &Contract, o: &Outcome) -> BTreeMap<String, RuntimeSa> {
        for f in &o.patch.files {
            assert!(
                hcl_edit::parser::parse_body(&f.after).is_ok(),
                "{} does not parse:\n{}",
                f.shown,
                f.after
            );
        }
        o.patch.write().unwrap();
        fmt_check(c.env("prod").unwrap().sources[0].parent().unwrap());
        let env = load_env(c.env("prod").unwrap()).unwrap();
        env.model
            .services
            .iter()
            .map(|s| (s.name.clone(), s.service_account.known().cloned().unwrap()))
            .collect()
    }

    /// `terraform fmt -check` over the tree, when terraform is installed.
    fn fmt_check(dir: &Path) {
        let out = std::process::Command::new("terraform")
            .args(["fmt", "-check", "-recursive", "-list=true"])
            .current_dir(dir)
            .env("CHECKPOINT_DISABLE", "1")
            .output();
        match out {
            Ok(o) => assert!(
                o.status.success(),
                "terraform fmt -check lists: {}",
                String::from_utf8_lossy(&o.stdout)
            ),
            Err(_) => eprintln!("terraform is not installed: terraform fmt -check skipped"),
        }
    }

    fn new_file(o: &Outcome) -> &str {
        &o.patch
            .files
            .iter()
            .find(|f| f.shown.ends_with(NEW_FILE))
            .expect("the new file")
            .after
    }

    fn dedicated(email: &str) -> impl Fn(&RuntimeSa) -> bool + '_ {
        move |sa| matches!(sa, RuntimeSa::Dedicated { email: Some(e), .. } if e == email)
    }

    const PROD_V2: &str = r#"
resource "google_secret_manager_secret" "db" {
  secret_id = "db-url"
  replication {
    auto {}
  }
}

resource "google_cloud_run_v2_service" "api" {
  name     = "api"
  location = "us-central1"

  template {
    # runs as the default account for now
    containers {
      image = "api"
      env {
        name = "DATABASE_URL"
        value_source {
          secret_key_ref {
            secret  = google_secret_manager_secret.db.secret_id
            version = "latest"
          }
        }
      }
    }
    volumes {
      name = "cloudsql"
      cloud_sql_instance {
        instances = ["acme-prod:us-central1:db"]
      }
    }
  }
}
"#;

    #[test]
    fn a_root_v2_service_gets_an_account_with_least_privilege() {
        let dir = write_tree(&[
            ("dev/main.tf", DEV),
            ("prod/providers.tf", PROVIDER),
            ("prod/main.tf", PROD_V2),
        ]);
        let c = contract(dir.path(), None);
        let o = fix(&c);
        assert_eq!(o.fixes.len(), 1);
        let f = &o.fixes[0];
        assert_eq!(
            f.account_id, "cr-api",
            "pattern read off the twin's account"
        );
        let granted: Vec<String> = f
            .grants
            .iter()
            .map(|g| match &g.grant {
                Grant::Project { role } => role.clone(),
                Grant::Secret {
                    id, secret_expr, ..
                } => format!("secret {id} {secret_expr}"),
            })
            .collect();
        assert_eq!(
            granted,
            [
                "roles/cloudsql.client",
                "roles/logging.logWriter",
                "secret db-url google_secret_manager_secret.db.id"
            ]
        );
        let left: Vec<&str> = f.left_out.iter().map(|l| l.role.as_str()).collect();
        assert_eq!(
            left,
            [
                "roles/artifactregistry.reader",
                "roles/cloudtrace.agent",
                "roles/editor",
                "roles/iam.serviceAccountUser",
                "roles/secretmanager.secretAccessor"
            ]
        );
        let why = |role: &str| &f.left_out.iter().find(|l| l.role == role).unwrap().why;
        assert!(why("roles/artifactregistry.reader").contains("another project (`acme-shared`"));
        assert!(why("roles/cloudtrace.agent").contains("IAM condition"));
        assert!(why("roles/editor").contains("basic role"));
        assert!(why("roles/iam.serviceAccountUser").contains("act as other service accounts"));
        assert!(why("roles/secretmanager.secretAccessor").contains("project-wide"));
        assert!(f.left_out.iter().all(|l| !l.why.is_empty()));
        let text = new_file(&o);
        assert!(!text.contains("roles/editor"), "{text}");
        // The provider sets the project: the account leaves it out, project IAM (where it is
        // required) takes the account's.
        assert!(
            text.contains("resource \"google_service_account\" \"cr_api\" {\n  account_id "),
            "{text}"
        );
        assert!(text.contains("  project = google_service_account.cr_api.project\n  role    = \"roles/logging.logWriter\""), "{text}");
        assert!(matches!(f.wiring, Wiring::Edited { .. }), "{:?}", f.wiring);
        let main = &o
            .patch
            .files
            .iter()
            .find(|f| f.shown.ends_with("main.tf"))
            .unwrap()
            .after;
        assert!(
            main.contains("  template {\n    service_account = google_service_account.cr_api.email\n    # runs as the default account for now\n"),
            "{main}"
        );
        let after = accounts_after(&c, &o);
        assert!(
            dedicated("cr-api@acme-prod.iam.gserviceaccount.com")(&after["api"]),
            "{after:?}"
        );
        assert!(fix(&c).patch.is_empty(), "already fixed: nothing to do");
    }

    #[test]
    fn a_v1_service_gets_service_account_name_in_its_spec() {
        let prod = r#"
resource "google_cloud_run_service" "api" {
  name     = "api"
  location = "us-central1"
  template {
    spec {
      containers {
        image = "api"
      }
    }
  }
}
"#;
        let dir = write_tree(&[
            ("dev/main.tf", DEV),
            ("prod/providers.tf", PROVIDER),
            ("prod/main.tf", prod),
        ]);
        let c = contract(dir.path(), None);
        let o = fix(&c);
        let main = &o
            .patch
            .files
            .iter()
            .find(|f| f.shown.ends_with("main.tf"))
            .unwrap()
            .after;
        assert!(
            main.contains("    spec {\n      service_account_name = google_service_account.cr_api.email\n      containers {"),
            "{main}"
        );
        let after = accounts_after(&c, &o);
        assert!(dedicated("cr-api@acme-prod.iam.gserviceaccount.com")(
            &after["api"]
        ));
    }

    const MODULE_WITHOUT_SA: &str = r#"variable "name" {
  type = string
}

resource "google_cloud_run_v2_service" "this" {
  name     = var.name
  location = "us-central1"

  template {
    containers {
      image = "img"
    }
  }
}
"#;

    #[test]
    fn a_module_without_a_service_account_variable_gets_one() {
        let prod = "module \"api\" {\n  source = \"../modules/svc\"\n  name   = \"api\"\n}\n";
        let dir = write_tree(&[
            ("dev/main.tf", DEV),
            ("prod/providers.tf", PROVIDER),
            ("prod/main.tf", prod),
            ("modules/svc/main.tf", MODULE_WITHOUT_SA),
        ]);
        let c = contract(dir.path(), None);
        let o = fix(&c);
        let f = &o.fixes[0];
        assert!(matches!(f.wiring, Wiring::Edited { .. }), "{:?}", f.wiring);
        assert!(
            f.notes
                .iter()
                .any(|n| n.contains("had no way to take a service account")),
            "{:?}",
            f.notes
        );
        let module = &o
            .patch
            .files
            .iter()
            .find(|f| f.shown.ends_with("modules/svc/main.tf"))
            .unwrap()
            .after;
        assert!(
            module.contains("  template {\n    service_account = var.service_account\n"),
            "{module}"
        );
        assert!(
            module.contains("variable \"service_account\" {\n"),
            "{module}"
        );
        let call = &o
            .patch
            .files
            .iter()
            .find(|f| f.shown.ends_with("prod/main.tf"))
            .unwrap()
            .after;
        assert_eq!(
            call,
            "module \"api\" {\n  source          = \"../modules/svc\"\n  name            = \"api\"\n  service_account = google_service_account.cr_api.email\n}\n"
        );
        let after = accounts_after(&c, &o);
        assert!(dedicated("cr-api@acme-prod.iam.gserviceaccount.com")(
            &after["api"]
        ));
        // Dev, which shares the module, still loads and keeps its accounts.
        let dev = load_env(c.env("dev").unwrap()).unwrap();
        assert!(
            dev.model
                .services
                .iter()
                .all(|s| !s.service_account.known().unwrap().is_default())
        );
        assert!(fix(&c).patch.is_empty());
    }

    #[test]
    fn a_for_each_module_call_reads_the_account_from_its_map() {
        let module = MODULE_WITHOUT_SA.replace(
            "variable \"name\" {\n  type = string\n}\n",
            "variable \"name\" {\n  type = string\n}\n\nvariable \"service_account\" {\n  type    = string\n  default = null\n}\n",
        ).replace("  template {\n", "  template {\n    service_account = var.service_account\n");
        let prod = r#"locals {
  # one entry per service
  services = {
    api = {
      image = "a"
    }
    "web" = {
      image = "w" # the front end
    }
  }
}

module "svc" {
  source   = "../modules/svc"
  for_each = local.services
  name     = each.key
}
"#;
        let dir = write_tree(&[
            ("dev/main.tf", DEV),
            ("prod/providers.tf", PROVIDER),
            ("prod/main.tf", prod),
            ("modules/svc/main.tf", &module),
        ]);
        let c = contract(dir.path(), None);
        let o = fix(&c);
        assert_eq!(o.fixes.len(), 2);
        let main = &o
            .patch
            .files
            .iter()
            .find(|f| f.shown.ends_with("prod/main.tf"))
            .unwrap()
            .after;
        assert_eq!(
            main,
            &prod
                .replace("      image = \"a\"\n", "      image           = \"a\"\n      service_account = google_service_account.cr_api.email\n")
                .replace("      image = \"w\" # the front end\n", "      image           = \"w\" # the front end\n      service_account = google_service_account.cr_web.email\n")
                .replace("  name     = each.key\n", "  name     = each.key\n  service_account = lookup(each.value, \"service_account\", null)\n")
                .replace("  source   =", "  source          =")
                .replace("  for_each =", "  for_each        =")
                .replace("  name     =", "  name            =")
        );
        assert!(
            !o.patch.files.iter().any(|f| f.shown.contains("modules/")),
            "the module takes an account already"
        );
        let after = accounts_after(&c, &o);
        assert!(dedicated("cr-api@acme-prod.iam.gserviceaccount.com")(
            &after["api"]
        ));
        assert!(dedicated("cr-web@acme-prod.iam.gserviceaccount.com")(
            &after["web"]
        ));
        let again = fix(&c);
        assert!(again.patch.is_empty(), "{}", again.patch.diff());
    }

    fn module_with_sa() -> String {
        MODULE_WITHOUT_SA
            .replace(
                "variable \"name\" {\n  type = string\n}\n",
                "variable \"name\" {\n  type = string\n}\n\nvariable \"service_account\" {\n  type    = string\n  default = null\n}\n",
            )
            .replace(
                "  template {\n",
                "  template {\n    service_account = var.service_account\n",
            )
    }

    #[test]
    fn a_direct_module_argument_is_replaced() {
        let prod = r#"data "google_compute_default_service_account" "default" {}

module "api" {
  source          = "../modules/svc"
  name            = "api"
  service_account = data.google_compute_default_service_account.default.email # for now
}
"#;
        let dir = write_tree(&[
            ("dev/main.tf", DEV),
            ("prod/providers.tf", PROVIDER),
            ("prod/main.tf", prod),
            ("modules/svc/main.tf", &module_with_sa()),
        ]);
        let c = contract(dir.path(), None);
        let o = fix(&c);
        let main = &o
            .patch
            .files
            .iter()
            .find(|f| f.shown.ends_with("prod/main.tf"))
            .unwrap()
            .after;
        assert_eq!(
            main,
            &prod.replace(
                "data.google_compute_default_service_account.default.email # for now",
                "google_service_account.cr_api.email # for now"
            )
        );
        assert!(
            o.notes.iter().any(|n| n.contains("no longer used")),
            "{:?}",
            o.notes
        );
        let after = accounts_after(&c, &o);
        assert!(dedicated("cr-api@acme-prod.iam.gserviceaccount.com")(
            &after["api"]
        ));
    }

    #[test]
    fn a_for_each_over_a_variable_is_explained() {
        let prod = r#"variable "services" {
  type = map(object({ image = string }))
  default = {
    api = { image = "a" }
  }
}

module "svc" {
  source          = "../modules/svc"
  for_each        = var.services
  name            = each.key
  service_account = null
}
"#;
        let dir = write_tree(&[
            ("dev/main.tf", DEV),
            ("prod/providers.tf", PROVIDER),
            ("prod/main.tf", prod),
            ("modules/svc/main.tf", &module_with_sa()),
        ]);
        let c = contract(dir.path(), None);
        let o = fix(&c);
        let Wiring::Manual { why, how } = &o.fixes[0].wiring else {
            panic!("{:?}", o.fixes[0].wiring)
        };
        assert!(
            why.contains("var.services") && why.contains("not a `local` map"),
            "{why}"
        );
        assert!(how.contains("google_service_account.cr_api.email"), "{how}");
        assert_eq!(o.patch.files.len(), 1, "the new file only");
    }

    #[test]
    fn installed_modules_are_never_edited() {
        let prod = "module \"api\" {\n  source = \"acme/svc/google\"\n  name   = \"api\"\n}\n";
        let manifest = r#"{"Modules":[{"Key":"","Source":"","Dir":"."},{"Key":"api","Source":"registry.terraform.io/acme/svc/google","Dir":".terraform/modules/api"}]}"#;
        let dir = write_tree(&[
            ("dev/main.tf", DEV),
            ("prod/providers.tf", PROVIDER),
            ("prod/main.tf", prod),
            ("prod/.terraform/modules/modules.json", manifest),
            ("prod/.terraform/modules/api/main.tf", MODULE_WITHOUT_SA),
        ]);
        let c = contract(dir.path(), None);
        let o = fix(&c);
        let f = &o.fixes[0];
        let Wiring::Manual { why, how } = &f.wiring else {
            panic!("{:?}", f.wiring)
        };
        assert!(why.contains("does not edit installed modules"), "{why}");
        assert!(how.contains("module `api`"), "{how}");
        assert_eq!(o.patch.files.len(), 1, "only the new file");
        assert!(o.patch.files[0].is_new());
    }

    #[test]
    fn counted_resources_fall_back_to_instructions() {
        let prod = PROD_V2.replace(
            "  name     = \"api\"\n",
            "  count    = 1\n  name     = \"api\"\n",
        );
        let dir = write_tree(&[
            ("dev/main.tf", DEV),
            ("prod/providers.tf", PROVIDER),
            ("prod/main.tf", &prod),
        ]);
        let c = contract(dir.path(), None);
        let o = fix(&c);
        let Wiring::Manual { why, .. } = &o.fixes[0].wiring else {
            panic!("{:?}", o.fixes[0].wiring)
        };
        assert!(why.contains("count"), "{why}");
    }

    #[test]
    fn an_unused_account_with_the_id_is_reused_and_a_used_one_is_not() {
        let prod = format!(
            "{PROD_V2}\nresource \"google_service_account\" \"spare\" {{\n  account_id = \"cr-api\"\n}}\n\nresource \"google_project_iam_member\" \"spare_logs\" {{\n  project = \"acme-prod\"\n  role    = \"roles/logging.logWriter\"\n  member  = google_service_account.spare.member\n}}\n"
        );
        let dir = write_tree(&[
            ("dev/main.tf", DEV),
            ("prod/providers.tf", PROVIDER),
            ("prod/main.tf", &prod),
        ]);
        let c = contract(dir.path(), None);
        let o = fix(&c);
        let f = &o.fixes[0];
        assert!(f.reused);
        assert_eq!(f.resource, "spare");
        assert!(
            !f.grants.iter().any(|g| g.grant
                == Grant::Project {
                    role: "roles/logging.logWriter".into()
                }),
            "granted already"
        );
        assert!(!new_file(&o).contains("resource \"google_service_account\""));
        let after = accounts_after(&c, &o);
        assert!(dedicated("cr-api@acme-prod.iam.gserviceaccount.com")(
            &after["api"]
        ));

        // Taken by another service: a new id, unique, deterministic.
        let prod = format!(
            "{PROD_V2}\nresource \"google_service_account\" \"other\" {{\n  account_id = \"cr-api\"\n}}\n\nresource \"google_cloud_run_v2_service\" \"other\" {{\n  name     = \"other\"\n  location = \"us-central1\"\n  template {{\n    service_account = google_service_account.other.email\n    containers {{\n      image = \"o\"\n    }}\n  }}\n}}\n"
        );
        let dir = write_tree(&[
            ("dev/main.tf", DEV),
            ("prod/providers.tf", PROVIDER),
            ("prod/main.tf", &prod),
        ]);
        let c = contract(dir.path(), None);
        let o = fix(&c);
        let f = &o.fixes[0];
        assert!(!f.reused);
        assert_ne!(f.account_id, "cr-api");
        assert!(
            f.account_id.starts_with("cr-api-") && valid_account_id(&f.account_id),
            "{}",
            f.account_id
        );
        assert_eq!(fix(&c).fixes[0].account_id, f.account_id, "deterministic");
    }

    #[test]
    fn the_contract_pattern_names_the_account() {
        let text = r#"
reference = "dev"
environment "dev" {
  sources = ["dev"]
}
environment "prod" {
  sources = ["prod"]
  service_accounts {
    model   = "dedicated"
    pattern = "{role}-{env}-runtime@{project}.iam.gserviceaccount.com"
  }
}
role "public-api" {
  services = { dev = "api", prod = "api" }
}
"#;
        let dir = write_tree(&[
            ("dev/main.tf", DEV),
            ("prod/providers.tf", PROVIDER),
            ("prod/main.tf", PROD_V2),
        ]);
        let c = contract(dir.path(), Some(text));
        let o = fix(&c);
        let f = &o.fixes[0];
        assert_eq!(f.role, "public-api");
        assert_eq!(f.account_id, "public-api-prod-runtime");
        assert_eq!(f.resource, "public_api_prod_runtime");
        assert!(f.notes.is_empty(), "{:?}", f.notes);
    }

    #[test]
    fn account_ids_follow_googles_rules() {
        assert_eq!(expand("cr-{role}", "api", "prod", None), "cr-api");
        assert_eq!(
            expand(
                "{role}@{project}.iam.gserviceaccount.com",
                "api",
                "prod",
                Some("p")
            ),
            "api"
        );
        assert_eq!(sanitize("cr-user-app"), "cr-user-app");
        assert_eq!(sanitize("CR_User.App"), "cr-user-app");
        let short = sanitize("api");
        assert!(
            short.starts_with("api-") && valid_account_id(&short),
            "{short}"
        );
        let long = sanitize("cr-a-very-long-role-name-for-the-billing-service");
        assert_eq!(long.len(), 30);
        assert!(long.starts_with("cr-a-very-long-role-nam"), "{long}");
        assert!(valid_account_id(&long));
        assert_ne!(
            sanitize("cr-a-very-long-role-name-for-the-billing-service"),
            sanitize("cr-a-very-long-role-name-for-the-billing-worker"),
            "distinct ids stay distinct"
        );
        assert!(sanitize("9lives-service").starts_with("sa-9lives"));
        assert!(valid_account_id(&sanitize("---")));
        for bad in [
            "short",
            "Upper-case1",
            "1abcdef",
            "ends-with-",
            "has_underscore",
        ] {
            assert!(!valid_account_id(bad), "{bad}");
        }
        let taken: BTreeSet<String> = ["cr-api".to_string()].into();
        let u = unique_id("cr-api", "api", &taken);
        assert!(valid_account_id(&u) && !taken.contains(&u));
        assert_eq!(u, unique_id("cr-api", "api", &taken));
    }

    #[test]
    fn broad_roles_are_named_with_a_reason() {
        for r in [
            "roles/owner",
            "roles/editor",
            "roles/viewer",
            "roles/iam.serviceAccountTokenCreator",
            "roles/resourcemanager.projectIamAdmin",
            "roles/storage.admin",
            "roles/storage.objectAdmin",
            "projects/p/roles/custom",
        ] {
            assert!(too_broad(r).is_some(), "{r}");
        }
        for r in [
            "roles/logging.logWriter",
            "roles/cloudsql.client",
            "roles/storage.objectViewer",
        ] {
            assert!(too_broad(r).is_none(), "{r}");
        }
    }

    #[test]
    fn values_are_classified_by_shape() {
        let c = |s: &str| classify(Some(&hcl_edit::parser::parse_expr(s).unwrap()));
        assert_eq!(classify(None), Class::Absent);
        assert_eq!(c("null"), Class::Null);
        assert_eq!(c("var.sa"), Class::Var("sa".into()));
        assert_eq!(c("each.value.sa"), Class::EachField("sa".into()));
        assert_eq!(
            c("lookup(each.value, \"sa\", null)"),
            Class::EachField("sa".into())
        );
        assert_eq!(c("try(each.value.sa, null)"), Class::EachField("sa".into()));
        assert_eq!(
            c("data.google_compute_default_service_account.default.email"),
            Class::DefaultAccount
        );
        assert_eq!(
            c("\"123-compute@developer.gserviceaccount.com\""),
            Class::DefaultAccount
        );
        assert!(matches!(c("coalesce(var.a, var.b)"), Class::Other(_)));
        assert_eq!(role_slug("roles/logging.logWriter"), "logging_log_writer");
        assert_eq!(snake("db-url"), "db_url");
    }
}
