//! Item 1: every role has a service in every environment, unless the contract says it may be
//! absent.

use super::{CheckDef, CheckKind, Ctx, Decision, list};
use crate::finding::{Evidence, Finding, Status};

pub static CHECK: CheckDef = CheckDef {
    number: 1,
    id: "PAR001",
    name: "role_coverage",
    title: "Service coverage parity by role",
    kind: CheckKind::Parity,
    impact: 2,
    attributes: &[],
    docs: DOCS,
    run,
    fix,
};

const DOCS: &str = "\
## What it checks
Every role (a part the product needs: the API, the web app, an admin tool) has a Cloud Run \
service in every environment.

## Why it matters
A service that exists in dev only is never exercised the way prod runs it, and a prod-only \
service ships untested. Either is fine when it is a decision; it is a gap when nobody decided.

## Example
Dev runs `jualuma-approvals`; prod has no service in the `approvals` role: FAIL.

## How to fix
Deploy the role's service in the missing environment, or declare that the role lives in some \
environments only.

## Declaring an intentional difference
```hcl
role \"approvals\" {
  services = { dev = \"jualuma-approvals\" }
  only_in  = [\"dev\"]
  reason   = \"Internal approval tool, not part of the customer product.\"
}
```
or an `intentional_difference` with `check = \"role_coverage\"` naming the role.
";

fn run(ctx: &Ctx<'_>) -> Vec<Finding> {
    let mut out = Vec::new();
    for role in &ctx.roles.roles {
        let present: Vec<&str> = ctx
            .models
            .iter()
            .filter(|m| role.services.get(&m.name).is_some_and(|s| !s.is_empty()))
            .map(|m| m.name.as_str())
            .collect();
        let mut evidence: Vec<Evidence> = Vec::new();
        for m in ctx.models {
            for s in ctx.services(role, &m.name) {
                evidence.push(
                    Evidence::env(&m.name)
                        .address(&s.address)
                        .at(s.span.clone())
                        .value(s.name.clone()),
                );
            }
        }
        let mut missing_any = false;
        for m in ctx.models {
            if present.contains(&m.name.as_str()) {
                continue;
            }
            missing_any = true;
            let mut f = Finding::new(Status::Fail, String::new())
                .role(&role.name)
                .envs([m.name.as_str()])
                .subject("presence");
            f.evidence = evidence.clone();
            if let Some(d) = role.declared.get(&m.name) {
                f.evidence.push(
                    Evidence::env(&m.name)
                        .attribute("contract role")
                        .at(d.span.clone())
                        .value(d.value.clone()),
                );
            }
            let here = list(&present.iter().map(|s| s.to_string()).collect::<Vec<_>>());
            let base = format!(
                "role `{}` has no service in {} (present in {})",
                role.name,
                m.name,
                if here.is_empty() {
                    "no environment".to_string()
                } else {
                    here
                }
            );
            if let Some(only) = &role.only_in
                && !only.contains(&m.name)
            {
                f.status = Status::IntentionalDiff;
                f.message = format!(
                    "{base}; the contract keeps it to {} ({})",
                    list(only),
                    role.reason.as_deref().unwrap_or("no reason given")
                );
                f.evidence.push(
                    Evidence::env(&m.name)
                        .attribute("only_in")
                        .at(role.span.clone())
                        .value(only.join(", ")),
                );
                out.push(f);
                continue;
            }
            f.message = format!("{base}, and the contract does not say it may be absent");
            let diff = super::Diff::new(&CHECK, Some(&role.name), &m.name, "presence");
            if !matches!(
                ctx.decide(&diff),
                Decision::Undeclared | Decision::Mismatch(..)
            ) {
                f.message = base;
                f = ctx.judge(&diff, f);
            }
            out.push(f);
        }
        if !missing_any {
            let mut f = Finding::new(
                Status::Pass,
                format!("role `{}` has a service in every environment", role.name),
            )
            .role(&role.name)
            .envs(ctx.models.iter().map(|m| m.name.as_str()))
            .subject("presence");
            f.evidence = evidence;
            out.push(f);
        }
    }
    out
}

fn fix(fails: &[&Finding]) -> String {
    let items: Vec<String> = fails
        .iter()
        .map(|f| {
            format!(
                "`{}` in {}",
                f.role.as_deref().unwrap_or("?"),
                f.environments.join(", ")
            )
        })
        .collect();
    format!(
        "Decide for {}: deploy the missing service, or declare the role environment-only with `only_in` and a reason in the contract.",
        items.join("; ")
    )
}

#[cfg(test)]
mod tests {
    use super::CHECK;
    use crate::checks::testkit::{Env, Scenario, Svc, contract, has_evidence};
    use crate::finding::Status;

    #[test]
    fn a_role_in_every_environment_passes() {
        let found = Scenario::new([
            Env::new("dev").service(Svc::v2("api-dev")),
            Env::new("prod").service(Svc::v1("api-prod")),
        ])
        .contract(&contract(""))
        .run(&CHECK);
        assert_eq!(found.verdict(), Status::Pass, "{found}");
        let f = found.one(
            Status::Pass,
            "role `api` has a service in every environment",
        );
        assert!(has_evidence(
            f,
            "dev",
            "google_cloud_run_v2_service.api_dev",
            None
        ));
        assert!(has_evidence(
            f,
            "prod",
            "google_cloud_run_service.api_prod",
            None
        ));
    }

    #[test]
    fn a_role_missing_in_an_environment_fails() {
        let text =
            contract("role \"approvals\" {\n  services = { dev = \"jualuma-approvals\" }\n}\n");
        let found = Scenario::new([
            Env::new("dev")
                .service(Svc::v2("api-dev"))
                .service(Svc::v2("jualuma-approvals")),
            Env::new("prod").service(Svc::v2("api-prod")),
        ])
        .contract(&text)
        .run(&CHECK);
        let f = found.one(
            Status::Fail,
            "role `approvals` has no service in prod (present in `dev`)",
        );
        assert_eq!(f.environments, vec!["prod"]);
        assert!(
            f.message.contains("does not say it may be absent"),
            "{}",
            f.message
        );
        assert!(has_evidence(
            f,
            "dev",
            "google_cloud_run_v2_service.jualuma_approvals",
            None
        ));
        found.one(Status::Pass, "role `api`");
        // Roles from the naming rule are held to the same rule.
        let by_name = Scenario::new([
            Env::new("dev")
                .service(Svc::v2("api-dev"))
                .service(Svc::v2("admin-dev")),
            Env::new("prod").service(Svc::v2("api-prod")),
        ])
        .contract(&contract(""))
        .run(&CHECK);
        by_name.one(Status::Fail, "role `admin` has no service in prod");
    }

    #[test]
    fn only_in_makes_the_absence_intentional() {
        let text = contract(
            "role \"approvals\" {\n  services = { dev = \"jualuma-approvals\" }\n  only_in  = [\"dev\"]\n  reason   = \"Internal tool, not part of the product.\"\n}\n",
        );
        let found = Scenario::new([
            Env::new("dev").service(Svc::v2("jualuma-approvals")),
            Env::new("prod"),
        ])
        .contract(&text)
        .run(&CHECK);
        let f = found.one(
            Status::IntentionalDiff,
            "the contract keeps it to `dev` (Internal tool, not part of the product.)",
        );
        assert!(
            f.evidence
                .iter()
                .any(|e| e.attribute.as_deref() == Some("only_in"))
        );
        assert_eq!(found.verdict(), Status::IntentionalDiff);
    }

    #[test]
    fn an_intentional_difference_covers_a_missing_role_until_it_expires() {
        let rest = r#"
intentional_difference "admin-later" {
  check   = "role_coverage"
  roles   = ["admin"]
  reason  = "The admin console ships to prod next quarter."
  expires = "2027-03-01"
}
"#;
        let scenario = || {
            Scenario::new([
                Env::new("dev").service(Svc::v2("admin-dev")),
                Env::new("prod").service(Svc::v2("api-prod")),
            ])
            .contract(&contract(rest))
        };
        let found = scenario().run(&CHECK);
        found.one(Status::IntentionalDiff, "ships to prod next quarter");
        // The declaration names `admin`: `api`, missing in dev, still fails.
        found.one(Status::Fail, "role `api` has no service in dev");
        let later = scenario().today("2027-03-02").run(&CHECK);
        later.one(Status::Fail, "`admin-later` expired on 2027-03-01");
    }

    #[test]
    fn without_a_contract_a_missing_role_fails() {
        let found = Scenario::new([
            Env::new("dev")
                .service(Svc::v2("api-dev"))
                .service(Svc::v2("worker-dev")),
            Env::new("prod").service(Svc::v2("api")),
        ])
        .run(&CHECK);
        found.one(Status::Fail, "role `worker` has no service in prod");
        found.one(Status::Pass, "role `api`");
    }
}
