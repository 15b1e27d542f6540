//! Item 4: every service runs as the identity its environment intends: a dedicated service
//! account (never the default compute or App Engine one), following the naming pattern, one
//! per service, none shared across environments.

use std::collections::BTreeMap;

use super::{CheckDef, CheckKind, Ctx, Diff, service_evidence};
use crate::contract::SaModel;
use crate::finding::{Evidence, Finding, Status};
use crate::model::RuntimeSa;

pub static CHECK: CheckDef = CheckDef {
    number: 4,
    id: "PAR004",
    name: "service_accounts",
    title: "Service account model follows environment intent",
    kind: CheckKind::Conformance,
    impact: 5,
    attributes: &["default_service_account", "pattern", "shared"],
    docs: DOCS,
    run,
    fix,
};

const DOCS: &str = "\
## What it checks
Each service's runtime identity (`template.service_account` on v2, \
`template.spec.service_account_name` on v1). A service with none written runs as the Compute \
Engine default service account. FAIL when a service runs as a default account, breaks the \
environment's `service_accounts` pattern, shares its account with another service, or uses \
the same account as an environment it is compared with.

## Why it matters
The default compute service account has Editor on the whole project: any code execution in \
the container can change every resource. A dedicated account per service limits a compromise \
to what that service needs, and makes IAM reviewable.

## Example
Dev `jualuma-backend` runs as `cr-backend@jualuma-dev.iam.gserviceaccount.com`; prod \
`frontend-app` has no service account written, so it runs as \
`598765432109-compute@developer.gserviceaccount.com`: FAIL.

## How to fix
Create a `google_service_account` per service with only the roles it needs and set it on the \
service. `tfparity fix service-accounts --target prod` writes that change as a patch.

## Declaring an intentional difference
```hcl
intentional_difference \"prod-default-sa-until-migration\" {
  check     = \"service_accounts\"
  attribute = \"default_service_account\"
  environments = [\"prod\"]
  reason    = \"Migration to dedicated accounts tracked in INFRA-123.\"
  expires   = \"2027-03-31\"
}
```
";

/// Whether an email (or its account id) matches a pattern with `{role}`, `{env}`,
/// `{project}` placeholders.
pub fn matches_pattern(pattern: &str, email: &str, role: &str, env: &str) -> bool {
    let (local, domain) = email.split_once('@').unwrap_or((email, ""));
    let project = domain
        .strip_suffix(".iam.gserviceaccount.com")
        .unwrap_or("");
    let expected = pattern
        .replace("{role}", role)
        .replace("{env}", env)
        .replace("{project}", project);
    if expected.contains('@') {
        expected.eq_ignore_ascii_case(email)
    } else {
        expected.eq_ignore_ascii_case(local)
    }
}

fn run(ctx: &Ctx<'_>) -> Vec<Finding> {
    let mut out = Vec::new();
    // Account → (env, service name, address, role) for the sharing rules. An account is its
    // email, or (email unknown) its resource in that environment.
    let mut by_account: BTreeMap<String, Account> = BTreeMap::new();
    for model in ctx.models {
        let rule = ctx
            .contract
            .env(&model.name)
            .and_then(|e| e.service_accounts.as_ref());
        for (i, s) in model.services.iter().enumerate() {
            let role = ctx.roles.role_of(&model.name, i).map(|r| r.name.clone());
            let label = role.clone().unwrap_or_else(|| s.name.clone());
            let field = &s.service_account;
            let ev = service_evidence(&model.name, s, &field.attribute, field.span.clone());
            let base = |status: Status, msg: String, subject: &str| {
                let mut f = Finding::new(status, msg)
                    .envs([model.name.as_str()])
                    .subject(subject);
                if let Some(r) = &role {
                    f = f.role(r);
                }
                f
            };
            let Some(sa) = field.known() else {
                out.push(
                    base(
                        Status::ReviewRequired,
                        format!(
                            "`{}` in {}: the service account (`{}`) is known only after apply and refers to no account declared here",
                            s.name, model.name, field.attribute
                        ),
                        "service_account",
                    )
                    .evidence(ev),
                );
                continue;
            };
            let ev = ev.value(sa.describe());
            if sa.is_default() {
                let how = if field.is_default() {
                    "no service account is written, so it runs as the default compute service account"
                } else {
                    "it runs as a default service account"
                };
                let msg = format!(
                    "`{}` in {}: {how} (Editor on the project by default)",
                    s.name, model.name
                );
                let actual = BTreeMap::from([(model.name.clone(), sa.describe())]);
                let f = ctx.judge(
                    &Diff::new(
                        &CHECK,
                        role.as_deref(),
                        &model.name,
                        "default_service_account",
                    )
                    .values(actual),
                    base(Status::Fail, msg, "default_service_account"),
                );
                out.push(f.evidence(ev));
                continue;
            }
            let key = match sa {
                RuntimeSa::Dedicated {
                    email: Some(email), ..
                } => Some((email.to_ascii_lowercase(), email.clone())),
                RuntimeSa::Dedicated {
                    email: None,
                    account: Some(a),
                } => Some((format!("{}\u{0}{a}", model.name), a.clone())),
                _ => None,
            };
            if let Some((key, shown)) = key {
                let entry = by_account.entry(key).or_insert_with(|| Account {
                    shown,
                    users: Vec::new(),
                });
                entry.users.push(User {
                    env: model.name.clone(),
                    service: s.name.clone(),
                    address: s.address.clone(),
                    role: role.clone(),
                });
            }
            if let Some(rule) = rule
                && let Some(pattern) = &rule.pattern
            {
                let rule_ev = Evidence::env(&model.name)
                    .attribute("contract service_accounts.pattern")
                    .at(rule.span.clone())
                    .value(pattern.clone());
                match (sa.email(), &role) {
                    (Some(email), Some(r)) if !matches_pattern(pattern, email, r, &model.name) => {
                        let actual = BTreeMap::from([(model.name.clone(), email.to_string())]);
                        let f = ctx.judge(
                            &Diff::new(&CHECK, Some(r), &model.name, "pattern").values(actual),
                            base(
                                Status::Fail,
                                format!(
                                    "`{}` in {} runs as `{email}`, which does not follow the pattern `{pattern}` for role `{r}`",
                                    s.name, model.name
                                ),
                                "pattern",
                            ),
                        );
                        out.push(f.evidence(ev).evidence(rule_ev));
                        continue;
                    }
                    (None, Some(_)) => {
                        out.push(
                            base(
                                Status::ReviewRequired,
                                format!(
                                    "`{}` in {} runs as a dedicated account whose email is known only after apply; the pattern `{pattern}` cannot be checked",
                                    s.name, model.name
                                ),
                                "pattern",
                            )
                            .evidence(ev)
                            .evidence(rule_ev),
                        );
                        continue;
                    }
                    _ => {}
                }
            }
            out.push(
                base(
                    Status::Pass,
                    format!(
                        "`{label}` in {} runs as {} (dedicated)",
                        model.name,
                        sa.describe()
                    ),
                    "service_account",
                )
                .evidence(ev),
            );
        }
    }
    let reference = ctx.reference().name.as_str();
    for Account { shown, users } in by_account.into_values() {
        let mut envs: Vec<&str> = users.iter().map(|u| u.env.as_str()).collect();
        envs.sort();
        envs.dedup();
        let dedicated_required = |env: &str| {
            ctx.contract
                .env(env)
                .and_then(|e| e.service_accounts.as_ref())
                .is_none_or(|r| r.model == SaModel::Dedicated)
        };
        if users.len() < 2 || !envs.iter().any(|e| dedicated_required(e)) {
            continue;
        }
        let names: Vec<String> = users
            .iter()
            .map(|u| format!("{} ({})", u.service, u.env))
            .collect();
        let msg = if envs.len() > 1 {
            format!(
                "`{shown}` is used across environments by {}",
                names.join(", ")
            )
        } else {
            format!("`{shown}` is shared by {} in {}", names.join(", "), envs[0])
        };
        // Without a contract no account model is declared: sharing needs review.
        let mut f = Finding::new(ctx.undeclared(false), msg)
            .envs(envs.iter().copied())
            .subject("shared");
        let role = users[0]
            .role
            .clone()
            .filter(|r| users.iter().all(|u| u.role.as_ref() == Some(r)));
        if let Some(r) = &role {
            f = f.role(r);
        }
        for u in &users {
            f = f.evidence(
                Evidence::env(&u.env)
                    .address(&u.address)
                    .value(shown.clone()),
            );
        }
        let env = envs
            .iter()
            .copied()
            .find(|e| *e != reference)
            .unwrap_or(envs[0]);
        let actual = envs
            .iter()
            .map(|e| (e.to_string(), shown.clone()))
            .collect();
        out.push(ctx.judge(
            &Diff::new(&CHECK, role.as_deref(), env, "shared").values(actual),
            f,
        ));
    }
    out
}

/// A runtime account and the services that use it.
struct Account {
    shown: String,
    users: Vec<User>,
}

struct User {
    env: String,
    service: String,
    address: String,
    role: Option<String>,
}

fn fix(fails: &[&Finding]) -> String {
    let defaults: Vec<String> = fails
        .iter()
        .filter(|f| f.subject.as_deref() == Some("default_service_account"))
        .map(|f| {
            let svc = f
                .evidence
                .first()
                .and_then(|e| e.address.clone())
                .unwrap_or_default();
            format!(
                "{} ({})",
                f.role.clone().unwrap_or(svc),
                f.environments.join(", ")
            )
        })
        .collect();
    let mut parts = Vec::new();
    if !defaults.is_empty() {
        parts.push(format!(
            "Give {} a dedicated service account with the permissions its twin holds (`tfparity fix service-accounts` writes the Terraform patch)",
            defaults.join(", ")
        ));
    }
    let other = fails.len() - defaults.len();
    if other > 0 {
        parts.push(format!(
            "rename or split {other} account(s) that break the pattern or are shared"
        ));
    }
    format!("{}.", parts.join("; "))
}

#[cfg(test)]
mod tests {
    use super::{CHECK, matches_pattern};
    use crate::checks::testkit::{
        Env, NAMING, Node, Res, Scenario, Svc, contract, has_evidence, lit,
    };
    use crate::finding::Status;
    use crate::model::RuntimeSa;

    #[test]
    fn patterns_match_account_ids_or_emails() {
        assert!(matches_pattern(
            "cr-{role}",
            "cr-backend@jualuma-dev.iam.gserviceaccount.com",
            "backend",
            "dev"
        ));
        assert!(!matches_pattern(
            "cr-{role}",
            "backend@jualuma-dev.iam.gserviceaccount.com",
            "backend",
            "dev"
        ));
        assert!(matches_pattern(
            "{role}-{env}@{project}.iam.gserviceaccount.com",
            "api-prod@p.iam.gserviceaccount.com",
            "api",
            "prod"
        ));
    }

    /// Both environments dedicated, with the `cr-{role}` pattern.
    fn dedicated(rest: &str) -> String {
        format!(
            r#"
environment "dev" {{
  service_accounts {{
    pattern = "cr-{{role}}"
  }}
}}
environment "prod" {{
  service_accounts {{
    pattern = "cr-{{role}}"
  }}
}}
{NAMING}
{rest}"#
        )
    }

    #[test]
    fn dedicated_accounts_following_the_pattern_pass() {
        let found = Scenario::new([
            Env::new("dev").service(Svc::v2("api-dev").runs_as("cr-api")),
            Env::new("prod").service(Svc::v1("api-prod").runs_as("cr-api")),
        ])
        .contract(&dedicated(""))
        .run(&CHECK);
        assert_eq!(found.verdict(), Status::Pass, "{found}");
        let f = found.one(Status::Pass, "cr-api@acme-prod.iam.gserviceaccount.com");
        assert_eq!(f.role.as_deref(), Some("api"));
        assert!(has_evidence(
            f,
            "prod",
            "google_cloud_run_service.api_prod",
            Some("template.spec.service_account_name")
        ));
    }

    #[test]
    fn the_default_compute_account_from_state_fails() {
        // Planned against existing services: nothing written, the state holds the default email.
        let prod = Env::new("prod");
        let email = prod.default_sa();
        let found = Scenario::new([
            Env::new("dev").service(Svc::v2("api-dev").runs_as("cr-api")),
            prod.service(Svc::v2("api-prod")),
        ])
        .contract(&dedicated(""))
        .run(&CHECK);
        let f = found.one(Status::Fail, "`api-prod` in prod");
        assert_eq!(f.subject.as_deref(), Some("default_service_account"));
        assert!(
            f.evidence
                .iter()
                .any(|e| e.value.as_deref().is_some_and(|v| v.contains(&email))),
            "{found}"
        );
        assert!(has_evidence(
            f,
            "prod",
            "google_cloud_run_v2_service.api_prod",
            Some("template.service_account")
        ));
        // Written explicitly, the default account fails the same way; so does App Engine's.
        let written = Scenario::new([
            Env::new("dev")
                .service(Svc::v2("api-dev").runs_as_email("acme-dev@appspot.gserviceaccount.com")),
            Env::new("prod").service(Svc::v2("api-prod").runs_as_email(&email)),
        ])
        .contract(&dedicated(""))
        .run(&CHECK);
        assert_eq!(written.with(Status::Fail).len(), 2, "{written}");
        written.one(
            Status::Fail,
            "`api-dev` in dev: it runs as a default service account",
        );
    }

    #[test]
    fn no_account_written_in_a_create_plan_is_the_default() {
        let found = Scenario::new([
            Env::new("dev").creating().service(Svc::v2("api-dev")),
            Env::new("prod")
                .creating()
                .service(Svc::v2("api-prod").runs_as("cr-api")),
        ])
        .contract(&dedicated(""))
        .run(&CHECK);
        let f = found.one(Status::Fail, "no service account is written");
        assert_eq!(f.environments, vec!["dev"]);
        found.one(Status::Pass, "`api` in prod runs as cr-api@acme-prod");
    }

    #[test]
    fn a_reference_to_a_declared_account_is_dedicated_even_when_unknown() {
        let found = Scenario::new([
            Env::new("dev")
                .creating()
                .service(Svc::v2("api-dev").runs_as_unknown("cr-api")),
            Env::new("prod")
                .creating()
                .service(Svc::v1("api-prod").runs_as_unknown("cr-api")),
        ])
        .contract(&contract(""))
        .run(&CHECK);
        assert_eq!(found.verdict(), Status::Pass, "{found}");
        // The email is the one the API gives `account_id` in the project.
        found.one(
            Status::Pass,
            "`api` in dev runs as cr-api@acme-dev.iam.gserviceaccount.com",
        );
        let model = Scenario::new([Env::new("dev")
            .creating()
            .service(Svc::v2("api-dev").runs_as_unknown("cr-api"))])
        .model("dev");
        assert_eq!(
            model.services[0].service_account.known(),
            Some(&RuntimeSa::Dedicated {
                email: Some("cr-api@acme-dev.iam.gserviceaccount.com".into()),
                account: Some("google_service_account.cr_api".into()),
            })
        );
    }

    #[test]
    fn the_pattern_is_checked_on_the_account_id_when_the_email_is_unknown() {
        let found = Scenario::new([
            Env::new("dev")
                .creating()
                .service(Svc::v2("api-dev").runs_as_unknown("cr-api")),
            Env::new("prod")
                .creating()
                .service(Svc::v2("api-prod").runs_as_unknown("api-runner")),
        ])
        .contract(&dedicated(""))
        .run(&CHECK);
        found.one(Status::Pass, "`api` in dev");
        let f = found.one(Status::Fail, "does not follow the pattern `cr-{role}`");
        assert!(f.message.contains("api-runner"), "{found}");
    }

    #[test]
    fn an_account_known_only_after_apply_needs_review() {
        let found = Scenario::new([
            Env::new("dev").service(Svc::v2("api-dev").runs_as("cr-api")),
            Env::new("prod").creating().service(
                Svc::v2("api-prod").sa_unknown("data.terraform_remote_state.iam.outputs.run_sa"),
            ),
        ])
        .contract(&dedicated(""))
        .run(&CHECK);
        let f = found.one(Status::ReviewRequired, "known only after apply");
        assert_eq!(f.environments, vec!["prod"]);
        // Without the plan's configuration, an unknown account cannot be told from an unset one.
        let blind = Scenario::new([
            Env::new("dev").service(Svc::v2("api-dev").runs_as("cr-api")),
            Env::new("prod")
                .creating()
                .without_configuration()
                .service(Svc::v2("api-prod")),
        ])
        .contract(&dedicated(""))
        .run(&CHECK);
        blind.one(Status::ReviewRequired, "`api-prod` in prod");
    }

    #[test]
    fn an_account_outside_the_pattern_fails() {
        let found = Scenario::new([
            Env::new("dev").service(Svc::v2("api-dev").runs_as("cr-api")),
            Env::new("prod").service(Svc::v2("api-prod").runs_as("api-sa")),
        ])
        .contract(&dedicated(""))
        .run(&CHECK);
        let f = found.one(
            Status::Fail,
            "does not follow the pattern `cr-{role}` for role `api`",
        );
        assert_eq!(f.subject.as_deref(), Some("pattern"));
        assert!(
            f.evidence
                .iter()
                .any(|e| e.attribute.as_deref() == Some("contract service_accounts.pattern"))
        );
    }

    #[test]
    fn one_account_shared_by_two_services_fails() {
        let found = Scenario::new([
            Env::new("dev")
                .service(Svc::v2("api-dev").runs_as("cr-api"))
                .service(Svc::v2("worker-dev").runs_as("cr-api")),
            Env::new("prod")
                .service(Svc::v2("api-prod").runs_as("cr-api"))
                .service(Svc::v2("worker-prod").runs_as("cr-worker")),
        ])
        .contract(&contract(""))
        .run(&CHECK);
        let f = found.one(Status::Fail, "is shared by");
        assert_eq!(f.environments, vec!["dev"]);
        assert!(has_evidence(
            f,
            "dev",
            "google_cloud_run_v2_service.api_dev",
            None
        ));
        assert!(has_evidence(
            f,
            "dev",
            "google_cloud_run_v2_service.worker_dev",
            None
        ));
    }

    #[test]
    fn one_account_shared_while_its_email_is_unknown_fails() {
        let found = Scenario::new([
            Env::new("dev")
                .creating()
                .service(Svc::v2("api-dev").runs_as_unknown("cr-api"))
                .service(Svc::v2("worker-dev").runs_as_unknown("cr-api")),
            Env::new("prod")
                .service(Svc::v2("api-prod").runs_as("cr-api"))
                .service(Svc::v2("worker-prod").runs_as("cr-worker")),
        ])
        .contract(&contract(""))
        .run(&CHECK);
        let f = found.one(Status::Fail, "is shared by");
        assert_eq!(f.environments, vec!["dev"]);
    }

    #[test]
    fn one_account_shared_while_its_email_cannot_be_derived_fails() {
        // The account's project comes from the provider, unknown on create: the services still
        // name the same resource.
        let account = Res::new(
            "google_service_account",
            "cr_api",
            vec![
                ("account_id", lit("cr-api")),
                ("project", Node::Computed(None)),
                ("email", Node::Computed(None)),
            ],
        );
        let found = Scenario::new([
            Env::new("dev")
                .creating()
                .resource(account)
                .service(Svc::v2("api-dev").runs_as_unknown("cr-api"))
                .service(Svc::v2("worker-dev").runs_as_unknown("cr-api")),
            Env::new("prod").service(Svc::v2("api-prod").runs_as("cr-api")),
        ])
        .contract(&contract(""))
        .run(&CHECK);
        let f = found.one(Status::Fail, "`google_service_account.cr_api` is shared by");
        assert_eq!(f.environments, vec!["dev"]);
        found.one(
            Status::Pass,
            "`api` in dev runs as google_service_account.cr_api (email known after apply)",
        );
    }

    #[test]
    fn one_account_used_across_environments_fails() {
        let shared = "deployer@acme-shared.iam.gserviceaccount.com";
        let found = Scenario::new([
            Env::new("dev").service(Svc::v2("api-dev").runs_as_email(shared)),
            Env::new("prod").service(Svc::v2("api-prod").runs_as_email(shared)),
        ])
        .contract(&contract(""))
        .run(&CHECK);
        let f = found.one(Status::Fail, "is used across environments");
        assert_eq!(f.environments, vec!["dev", "prod"]);
        assert!(has_evidence(
            f,
            "prod",
            "google_cloud_run_v2_service.api_prod",
            None
        ));
    }

    const ACCEPTED: &str = r#"
intentional_difference "prod-default-sa" {
  check        = "service_accounts"
  attribute    = "default_service_account"
  environments = ["prod"]
  reason       = "Migration to dedicated accounts tracked in INFRA-123."
  expires      = "2027-03-31"
}
"#;

    #[test]
    fn a_declared_default_account_is_intentional_until_it_expires() {
        let scenario = || {
            Scenario::new([
                Env::new("dev").service(Svc::v2("api-dev").runs_as("cr-api")),
                Env::new("prod").service(Svc::v2("api-prod")),
            ])
            .contract(&contract(ACCEPTED))
        };
        let found = scenario().run(&CHECK);
        let f = found.one(Status::IntentionalDiff, "INFRA-123");
        assert_eq!(
            f.accepted_by.as_ref().map(|a| a.name.as_str()),
            Some("prod-default-sa")
        );
        assert_eq!(found.verdict(), Status::IntentionalDiff);
        let later = scenario().today("2027-04-01").run(&CHECK);
        later.one(Status::Fail, "expired on 2027-03-31");
    }

    #[test]
    fn declared_pattern_and_sharing_exceptions_are_intentional() {
        let rest = r#"
intentional_difference "legacy-name" {
  check     = "service_accounts"
  attribute = "pattern"
  roles     = ["api"]
  reason    = "The prod account predates the naming rule."
}
intentional_difference "one-worker-account" {
  check     = "service_accounts"
  attribute = "shared"
  reason    = "Dev runs every service as one account to save quota."
}
"#;
        // Dev declares dedicated accounts without a naming pattern; prod keeps `cr-{role}`.
        let text = format!(
            r#"
environment "dev" {{
  service_accounts {{
    model = "dedicated"
  }}
}}
environment "prod" {{
  service_accounts {{
    pattern = "cr-{{role}}"
  }}
}}
{NAMING}
{rest}"#
        );
        let found = Scenario::new([
            Env::new("dev")
                .service(Svc::v2("api-dev").runs_as("cr-api"))
                .service(Svc::v2("worker-dev").runs_as("cr-api")),
            Env::new("prod")
                .service(Svc::v2("api-prod").runs_as("api-sa"))
                .service(Svc::v2("worker-prod").runs_as("cr-worker")),
        ])
        .contract(&text)
        .run(&CHECK);
        found.none(Status::Fail);
        found.one(Status::IntentionalDiff, "predates the naming rule");
        found.one(Status::IntentionalDiff, "save quota");
    }

    #[test]
    fn without_a_contract_the_default_account_fails() {
        let found = Scenario::new([
            Env::new("dev").service(Svc::v2("api-dev").runs_as("cr-api")),
            Env::new("prod").service(Svc::v2("api-prod")),
        ])
        .run(&CHECK);
        found.one(Status::Fail, "`api-prod` in prod");
        found.one(Status::Pass, "`api` in dev");
    }

    #[test]
    fn without_a_contract_sharing_needs_review() {
        let found = Scenario::new([
            Env::new("dev")
                .service(Svc::v2("api-dev").runs_as("cr-api"))
                .service(Svc::v2("worker-dev").runs_as("cr-api")),
            Env::new("prod")
                .service(Svc::v2("api-prod").runs_as("cr-api"))
                .service(Svc::v2("worker-prod").runs_as("cr-worker")),
        ])
        .run(&CHECK);
        found.one(Status::ReviewRequired, "is shared by");
        found.none(Status::Fail);
    }
}
