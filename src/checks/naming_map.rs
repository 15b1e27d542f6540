//! Item 2: the naming map is documented and true: every deployed service is in a role, and
//! every service the contract names is deployed.

use super::{CheckDef, CheckKind, Ctx};
use crate::contract::roles::RoleOrigin;
use crate::finding::{Evidence, Finding, Status};

pub static CHECK: CheckDef = CheckDef {
    number: 2,
    id: "PAR002",
    name: "naming_map",
    title: "Service naming map documented",
    kind: CheckKind::Conformance,
    impact: 1,
    attributes: &[],
    docs: DOCS,
    run,
    fix,
};

const DOCS: &str = "\
## What it checks
The contract's naming map (its `role` blocks and `naming` rule) accounts for every deployed \
service, and every service it names exists.

## Why it matters
Environments rarely use the same names (`jualuma-user-app` in dev is `frontend-app` in prod). \
Without a map, every other comparison is guesswork; with a stale one it compares the wrong things.

## Example
The contract says the `user-app` role is `frontend-ap` in prod, but prod deploys `frontend-app`: \
FAIL at the contract line, suggesting `frontend-app`.

## How to fix
Add the service to a role (or fix the name), or add a `naming` rule that derives roles from names.

## Declaring an intentional difference
A service that belongs to no role on purpose can still be named in a role present in one \
environment only (`only_in`). Naming problems themselves cannot be declared away.
";

fn run(ctx: &Ctx<'_>) -> Vec<Finding> {
    let mut out = Vec::new();
    for m in &ctx.roles.missing {
        let mut f = Finding::new(
            Status::Fail,
            match &m.nearest {
                Some(n) => format!(
                    "the contract names `{}` as role `{}` in {}, but {} deploys no such service; did you mean `{n}`?",
                    m.name, m.role, m.env, m.env
                ),
                None => format!(
                    "the contract names `{}` as role `{}` in {}, but {} deploys no such service",
                    m.name, m.role, m.env, m.env
                ),
            },
        )
        .role(&m.role)
        .envs([m.env.as_str()])
        .subject("declared_service")
        .evidence(
            Evidence::env(&m.env)
                .attribute("contract role")
                .at(m.span.clone())
                .value(m.name.clone()),
        );
        if let Some(n) = &m.nearest
            && let Some(model) = ctx.model(&m.env)
            && let Some(s) = model.services.iter().find(|s| &s.name == n)
        {
            f = f.evidence(
                Evidence::env(&m.env)
                    .address(&s.address)
                    .at(s.span.clone())
                    .value(n.clone()),
            );
        }
        out.push(f);
    }
    for (env, idx) in &ctx.roles.unassigned {
        let Some(model) = ctx.model(env) else {
            continue;
        };
        for &i in idx {
            let s = &model.services[i];
            let status = if ctx.contract.is_assumed() {
                Status::ReviewRequired
            } else {
                Status::Fail
            };
            out.push(
                Finding::new(
                    status,
                    format!(
                        "service `{}` in {env} is in no role: the naming map does not say which service plays its part elsewhere",
                        s.name
                    ),
                )
                .envs([env.as_str()])
                .subject("unmapped_service")
                .evidence(Evidence::env(env).address(&s.address).at(s.span.clone()).value(s.name.clone())),
            );
        }
    }
    for role in &ctx.roles.roles {
        if ctx.roles.missing.iter().any(|m| m.role == role.name) {
            continue;
        }
        let mut f = Finding::new(
            Status::Pass,
            format!(
                "role `{}`: {}",
                role.name,
                ctx.models
                    .iter()
                    .map(|m| {
                        let names: Vec<String> = ctx
                            .services(role, &m.name)
                            .iter()
                            .map(|s| s.name.clone())
                            .collect();
                        format!(
                            "{} {}",
                            m.name,
                            if names.is_empty() {
                                "—".to_string()
                            } else {
                                names.join(", ")
                            }
                        )
                    })
                    .collect::<Vec<_>>()
                    .join(" · ")
            ),
        )
        .role(&role.name)
        .envs(ctx.models.iter().map(|m| m.name.as_str()))
        .subject("mapping");
        if role.origin == RoleOrigin::SameName && ctx.contract.is_assumed() {
            f.message.push_str(" (paired by name: no contract)");
        }
        for (env, d) in &role.declared {
            f = f.evidence(
                Evidence::env(env)
                    .attribute("contract role")
                    .at(d.span.clone())
                    .value(d.value.clone()),
            );
        }
        for m in ctx.models {
            for s in ctx.services(role, &m.name) {
                f = f.evidence(
                    Evidence::env(&m.name)
                        .address(&s.address)
                        .at(s.span.clone())
                        .value(s.name.clone()),
                );
            }
        }
        out.push(f);
    }
    out
}

fn fix(fails: &[&Finding]) -> String {
    let declared = fails
        .iter()
        .filter(|f| f.subject.as_deref() == Some("declared_service"))
        .count();
    let unmapped = fails.len() - declared;
    let mut parts = Vec::new();
    if declared > 0 {
        parts.push(format!(
            "correct {declared} service name(s) in the contract's roles"
        ));
    }
    if unmapped > 0 {
        parts.push(format!(
            "add {unmapped} unmapped service(s) to roles (or a `naming` rule)"
        ));
    }
    format!("In parity.hcl, {}.", parts.join(" and "))
}

#[cfg(test)]
mod tests {
    use super::CHECK;
    use crate::checks::testkit::{Env, Scenario, Svc, has_evidence};
    use crate::finding::Status;

    const ROLES: &str = r#"environment "dev" {}
environment "prod" {}
role "user-app" {
  services = {
    dev  = "jualuma-user-app"
    prod = "frontend-ap"
  }
}
role "backend" {
  services = { dev = "jualuma-backend", prod = "backend" }
}
"#;

    fn estate() -> [Env; 2] {
        [
            Env::new("dev")
                .service(Svc::v2("jualuma-user-app"))
                .service(Svc::v2("jualuma-backend")),
            Env::new("prod")
                .service(Svc::v2("frontend-app"))
                .service(Svc::v2("backend")),
        ]
    }

    #[test]
    fn a_complete_map_passes() {
        let found = Scenario::new(estate())
            .contract(&ROLES.replace("\"frontend-ap\"", "\"frontend-app\""))
            .run(&CHECK);
        assert_eq!(found.verdict(), Status::Pass, "{found}");
        let f = found.one(
            Status::Pass,
            "role `user-app`: dev jualuma-user-app · prod frontend-app",
        );
        assert!(has_evidence(
            f,
            "prod",
            "google_cloud_run_v2_service.frontend_app",
            None
        ));
        assert!(
            f.evidence
                .iter()
                .any(|e| e.attribute.as_deref() == Some("contract role")
                    && e.location.as_ref().is_some_and(|l| l.line == 6))
        );
    }

    #[test]
    fn a_typo_in_the_contract_fails_at_its_line_with_a_suggestion() {
        let found = Scenario::new(estate()).contract(ROLES).run(&CHECK);
        let f = found.one(
            Status::Fail,
            "names `frontend-ap` as role `user-app` in prod",
        );
        assert!(
            f.message.contains("did you mean `frontend-app`?"),
            "{}",
            f.message
        );
        assert_eq!(f.subject.as_deref(), Some("declared_service"));
        let contract_line = f
            .evidence
            .iter()
            .find(|e| e.attribute.as_deref() == Some("contract role"))
            .and_then(|e| e.location.clone())
            .expect("contract location");
        assert_eq!((contract_line.line, contract_line.column), (6, 12));
        assert!(has_evidence(
            f,
            "prod",
            "google_cloud_run_v2_service.frontend_app",
            None
        ));
        // The deployed service it meant is then in no role.
        found.one(Status::Fail, "service `frontend-app` in prod is in no role");
    }

    #[test]
    fn an_unmapped_service_fails() {
        let [dev, prod] = estate();
        let found = Scenario::new([dev.service(Svc::v2("jualuma-approvals")), prod])
            .contract(&ROLES.replace("\"frontend-ap\"", "\"frontend-app\""))
            .run(&CHECK);
        let f = found.one(
            Status::Fail,
            "service `jualuma-approvals` in dev is in no role",
        );
        assert_eq!(f.subject.as_deref(), Some("unmapped_service"));
        assert!(has_evidence(
            f,
            "dev",
            "google_cloud_run_v2_service.jualuma_approvals",
            None
        ));
    }

    #[test]
    fn without_a_contract_services_pair_by_name() {
        let found = Scenario::new([
            Env::new("dev")
                .service(Svc::v2("api-dev"))
                .service(Svc::v2("dev_worker")),
            Env::new("prod")
                .service(Svc::v2("api"))
                .service(Svc::v2("worker-production")),
        ])
        .run(&CHECK);
        assert_eq!(found.verdict(), Status::Pass, "{found}");
        found.one(
            Status::Pass,
            "role `api`: dev api-dev · prod api (paired by name: no contract)",
        );
        found.one(
            Status::Pass,
            "role `worker`: dev dev_worker · prod worker-production",
        );
    }
}
