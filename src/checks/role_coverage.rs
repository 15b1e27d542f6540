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
