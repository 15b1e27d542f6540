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
    // Email → (env, service names) for the sharing rules.
    let mut by_email: BTreeMap<String, Vec<(String, String, String)>> = BTreeMap::new();
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
            if let RuntimeSa::Dedicated {
                email: Some(email), ..
            } = sa
            {
                by_email
                    .entry(email.to_ascii_lowercase())
                    .or_default()
                    .push((model.name.clone(), s.name.clone(), s.address.clone()));
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
                        out.push(
                            base(
                                Status::Fail,
                                format!(
                                    "`{}` in {} runs as `{email}`, which does not follow the pattern `{pattern}` for role `{r}`",
                                    s.name, model.name
                                ),
                                "pattern",
                            )
                            .evidence(ev)
                            .evidence(rule_ev),
                        );
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
    for (email, users) in by_email {
        let mut envs: Vec<&str> = users.iter().map(|u| u.0.as_str()).collect();
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
        let names: Vec<String> = users.iter().map(|u| format!("{} ({})", u.1, u.0)).collect();
        let msg = if envs.len() > 1 {
            format!(
                "`{email}` is used across environments by {}",
                names.join(", ")
            )
        } else {
            format!("`{email}` is shared by {} in {}", names.join(", "), envs[0])
        };
        let mut f = Finding::new(Status::Fail, msg)
            .envs(envs.iter().copied())
            .subject("shared");
        for (env, _, address) in &users {
            f = f.evidence(Evidence::env(env).address(address).value(email.clone()));
        }
        out.push(f);
    }
    out
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
    use super::matches_pattern;

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
}
