//! Item 8: network wiring matches across environments once environment names are taken out:
//! VPC access (connector, egress, direct VPC) and Cloud SQL attachments.

use std::collections::BTreeMap;

use super::{CheckDef, CheckKind, Ctx, service_evidence};
use crate::finding::{Finding, Status};
use crate::graph::last_segment;
use crate::model::names::normalise;
use crate::model::{EnvModel, Field, Service};

pub static CHECK: CheckDef = CheckDef {
    number: 8,
    id: "PAR008",
    name: "network",
    title: "Backend network config parity pattern",
    kind: CheckKind::Parity,
    impact: 3,
    attributes: &["vpc_connector", "vpc_egress", "direct_vpc", "cloud_sql"],
    docs: DOCS,
    run,
    fix,
};

const DOCS: &str = "\
## What it checks
Per role: whether traffic leaves through a Serverless VPC Access connector (and which one), \
its egress setting (`private-ranges-only` by default, or `all-traffic`), Direct VPC egress, \
and the Cloud SQL instances attached (v2 `volumes.cloud_sql_instance`, v1 \
`run.googleapis.com/cloudsql-instances`). Names are compared after replacing the \
environment's project and name with placeholders, so `jualuma-dev-connector` and \
`jualuma-prod-connector` are the same connector.

## Why it matters
A backend that reaches its database over the VPC in dev and over the public path in prod \
behaves differently under load, fails differently, and is secured differently. Hand audits \
tend to file these under \"expected\"; the tool fails them until the contract says so.

## Example
Dev `jualuma-backend` uses the connector `jualuma-dev-connector`; prod has none: FAIL.

## How to fix
Give the service the same `vpc_access` (or `run.googleapis.com/vpc-access-connector`) in every \
environment, and attach the environment's own Cloud SQL instance the same way.

## Declaring an intentional difference
```hcl
intentional_difference \"own-database-per-env\" {
  check     = \"network\"
  roles     = [\"backend\"]
  attribute = \"cloud_sql\"
  reason    = \"Each environment has its own Cloud SQL instance.\"
}
```
";

/// One compared network attribute, shown and normalised.
struct Wiring {
    attribute: &'static str,
    a: Option<String>,
    b: Option<String>,
    a_norm: Option<String>,
    b_norm: Option<String>,
    unknown: Option<(bool, String)>,
    field_a: (String, Option<crate::inventory::Span>),
    field_b: (String, Option<crate::inventory::Span>),
}

fn norm(v: &str, env: &EnvModel) -> String {
    normalise(v, &env.name, &env.project_tokens())
}

fn opt_field(
    attribute: &'static str,
    fa: &Field<Option<String>>,
    fb: &Field<Option<String>>,
    ea: &EnvModel,
    eb: &EnvModel,
    show: fn(&str) -> String,
) -> Wiring {
    let unknown = if fa.is_unknown() {
        Some((true, fa.attribute.clone()))
    } else if fb.is_unknown() {
        Some((false, fb.attribute.clone()))
    } else {
        None
    };
    let a = fa.known().cloned().flatten();
    let b = fb.known().cloned().flatten();
    Wiring {
        attribute,
        a_norm: a.as_deref().map(|v| norm(v, ea)),
        b_norm: b.as_deref().map(|v| norm(v, eb)),
        a: a.as_deref().map(show),
        b: b.as_deref().map(show),
        unknown,
        field_a: (fa.attribute.clone(), fa.span.clone()),
        field_b: (fb.attribute.clone(), fb.span.clone()),
    }
}

fn wirings(a: &Service, ea: &EnvModel, b: &Service, eb: &EnvModel) -> Vec<Wiring> {
    let mut out = vec![opt_field(
        "vpc_connector",
        &a.vpc_access.connector,
        &b.vpc_access.connector,
        ea,
        eb,
        |c| last_segment(c).to_string(),
    )];
    let uses_vpc = |s: &Service| {
        s.vpc_access.connector.known().is_some_and(Option::is_some)
            || s.vpc_access.direct_vpc.known().is_some_and(Option::is_some)
    };
    out.push(opt_field(
        "direct_vpc",
        &a.vpc_access.direct_vpc,
        &b.vpc_access.direct_vpc,
        ea,
        eb,
        |c| last_segment(c).to_string(),
    ));
    if uses_vpc(a) && uses_vpc(b) {
        let ga = a
            .vpc_access
            .egress
            .clone()
            .map(|e| Some(e.as_str().to_string()));
        let gb = b
            .vpc_access
            .egress
            .clone()
            .map(|e| Some(e.as_str().to_string()));
        out.push(opt_field("vpc_egress", &ga, &gb, ea, eb, str::to_string));
    }
    let sql = |s: &Service| {
        s.cloud_sql
            .clone()
            .map(|l| (!l.is_empty()).then(|| l.join(",")))
    };
    out.push(opt_field(
        "cloud_sql",
        &sql(a),
        &sql(b),
        ea,
        eb,
        str::to_string,
    ));
    out
}

fn run(ctx: &Ctx<'_>) -> Vec<Finding> {
    let mut out = Vec::new();
    let ea = ctx.reference();
    for role in &ctx.roles.roles {
        // A role's findings are all pushed in its own iteration: only those are searched.
        let role_start = out.len();
        for (a, eb, b) in ctx.pairs(role) {
            let mut same: Vec<String> = Vec::new();
            let mut same_ev = Vec::new();
            for w in wirings(a, ea, b, eb) {
                let ev_a = service_evidence(&ea.name, a, &w.field_a.0, w.field_a.1.clone());
                let ev_b = service_evidence(&eb.name, b, &w.field_b.0, w.field_b.1.clone());
                if let Some((in_ref, attr)) = &w.unknown {
                    out.push(
                        Finding::new(
                            Status::ReviewRequired,
                            format!(
                                "role `{}`: {} in {} is known only after apply (`{attr}`)",
                                role.name,
                                w.attribute,
                                if *in_ref { &ea.name } else { &eb.name }
                            ),
                        )
                        .role(&role.name)
                        .envs([ea.name.as_str(), eb.name.as_str()])
                        .subject(w.attribute)
                        .evidence(ev_a)
                        .evidence(ev_b),
                    );
                    continue;
                }
                let shown = |v: &Option<String>| v.clone().unwrap_or_else(|| "none".into());
                let ev_a = ev_a.value(shown(&w.a));
                let ev_b = ev_b.value(shown(&w.b));
                if w.a_norm == w.b_norm {
                    if w.a.is_some() {
                        same.push(format!("{} {}", w.attribute, shown(&w.a)));
                        same_ev.push(ev_a);
                        same_ev.push(ev_b);
                    }
                    continue;
                }
                let message = match (&w.a, &w.b) {
                    (Some(x), None) => format!(
                        "role `{}`: {} has {} `{x}` in {}; {} has none",
                        role.name, a.name, w.attribute, ea.name, eb.name
                    ),
                    (None, Some(y)) => format!(
                        "role `{}`: {} has {} `{y}` in {}; {} has none",
                        role.name, b.name, w.attribute, eb.name, ea.name
                    ),
                    (x, y) => format!(
                        "role `{}`: {} is `{}` in {} but `{}` in {} (after normalising environment names)",
                        role.name,
                        w.attribute,
                        shown(x),
                        ea.name,
                        shown(y),
                        eb.name
                    ),
                };
                let actual = BTreeMap::from([
                    (ea.name.clone(), shown(&w.a)),
                    (eb.name.clone(), shown(&w.b)),
                ]);
                out.push(
                    ctx.difference(
                        &super::Diff::new(&CHECK, Some(&role.name), &eb.name, w.attribute)
                            .values(actual),
                        ctx.undeclared(false),
                        message,
                    )
                    .evidence(ev_a)
                    .evidence(ev_b),
                );
            }
            if out[role_start..].iter().all(|f| {
                !(f.role.as_deref() == Some(role.name.as_str())
                    && f.environments.contains(&eb.name))
            }) {
                let msg = if same.is_empty() {
                    format!(
                        "role `{}`: no VPC access or Cloud SQL in {} or {}",
                        role.name, ea.name, eb.name
                    )
                } else {
                    format!(
                        "role `{}`: same wiring in {} and {} ({})",
                        role.name,
                        ea.name,
                        eb.name,
                        same.join(", ")
                    )
                };
                let mut f = Finding::new(Status::Pass, msg)
                    .role(&role.name)
                    .envs([ea.name.as_str(), eb.name.as_str()])
                    .subject("network");
                f.evidence = same_ev;
                out.push(f);
            }
        }
    }
    out
}

fn fix(fails: &[&Finding]) -> String {
    let items: Vec<String> = fails.iter().map(|f| f.message.clone()).collect();
    format!(
        "Wire the services the same way in every environment (add the missing VPC connector / Cloud SQL attachment), or declare the difference: {}.",
        items.join("; ")
    )
}

#[cfg(test)]
mod tests {
    use super::CHECK;
    use crate::checks::testkit::{Env, Scenario, Svc, contract, has_evidence};
    use crate::finding::Status;

    fn pair(dev: Svc, prod: Svc) -> Scenario {
        Scenario::new([Env::new("dev").service(dev), Env::new("prod").service(prod)])
    }

    #[test]
    fn connectors_are_compared_with_the_environment_taken_out() {
        let found = pair(
            Svc::v2("api-dev")
                .connector("x-dev-connector")
                .cloud_sql("db-dev"),
            Svc::v2("api-prod")
                .connector("x-prod-connector")
                .cloud_sql("db-prod"),
        )
        .contract(&contract(""))
        .run(&CHECK);
        assert_eq!(found.verdict(), Status::Pass, "{found}");
        let f = found.one(Status::Pass, "same wiring in dev and prod");
        assert!(
            f.message.contains("vpc_connector x-dev-connector"),
            "{}",
            f.message
        );
        assert!(
            f.message.contains("cloud_sql acme-dev:us-central1:db-dev"),
            "{}",
            f.message
        );
        assert!(has_evidence(
            f,
            "prod",
            "google_cloud_run_v2_service.api_prod",
            Some("template.vpc_access.connector")
        ));
    }

    #[test]
    fn connectors_written_differently_are_the_same_connector() {
        // A v1 annotation names the connector; a v2 service in a create plan refers to a
        // connector whose id is known only after apply; an existing v2 service has its path.
        let mixed = Scenario::new([
            Env::new("dev").service(Svc::v1("api-dev").connector("x-dev-connector")),
            Env::new("prod").service(Svc::v2("api-prod").connector("x-prod-connector")),
        ])
        .contract(&contract(""))
        .run(&CHECK);
        assert_eq!(mixed.verdict(), Status::Pass, "{mixed}");
        let created = Scenario::new([
            Env::new("dev").service(Svc::v2("api-dev").connector("x-dev-connector")),
            Env::new("prod")
                .creating()
                .service(Svc::v2("api-prod").connector("x-prod-connector")),
        ])
        .contract(&contract(""))
        .run(&CHECK);
        assert_eq!(created.verdict(), Status::Pass, "{created}");
    }

    #[test]
    fn a_missing_connector_fails() {
        let found = pair(
            Svc::v2("api-dev").connector("x-dev-connector"),
            Svc::v2("api-prod"),
        )
        .contract(&contract(""))
        .run(&CHECK);
        let f = found.one(
            Status::Fail,
            "has vpc_connector `x-dev-connector` in dev; prod has none",
        );
        assert_eq!(f.subject.as_deref(), Some("vpc_connector"));
        assert!(has_evidence(
            f,
            "prod",
            "google_cloud_run_v2_service.api_prod",
            Some("template.vpc_access.connector")
        ));
        assert!(
            f.evidence
                .iter()
                .any(|e| e.value.as_deref() == Some("none"))
        );
    }

    #[test]
    fn different_connectors_or_egress_fail() {
        let found = pair(
            Svc::v2("api-dev")
                .connector("x-dev-connector")
                .egress("ALL_TRAFFIC"),
            Svc::v2("api-prod").connector("shared-connector"),
        )
        .contract(&contract(""))
        .run(&CHECK);
        found.one(
            Status::Fail,
            "vpc_connector is `x-dev-connector` in dev but `shared-connector` in prod",
        );
        found.one(
            Status::Fail,
            "vpc_egress is `all-traffic` in dev but `private-ranges-only` in prod",
        );
    }

    #[test]
    fn declared_cloud_sql_differences_are_intentional() {
        let rules = r#"
intentional_difference "own-database-per-env" {
  check     = "network"
  roles     = ["api"]
  attribute = "cloud_sql"
  reason    = "Prod reaches its database over private IP."
}
"#;
        let found = pair(
            Svc::v2("api-dev")
                .connector("x-dev-connector")
                .cloud_sql("db-dev"),
            Svc::v2("api-prod").connector("x-prod-connector"),
        )
        .contract(&contract(rules))
        .run(&CHECK);
        let f = found.one(Status::IntentionalDiff, "private IP");
        assert_eq!(f.subject.as_deref(), Some("cloud_sql"));
        assert_eq!(
            f.accepted_by.as_ref().map(|a| a.name.as_str()),
            Some("own-database-per-env")
        );
        assert_eq!(found.verdict(), Status::IntentionalDiff, "{found}");
        // The declaration is about Cloud SQL: a missing connector still fails.
        let no_connector = pair(
            Svc::v2("api-dev")
                .connector("x-dev-connector")
                .cloud_sql("db-dev"),
            Svc::v2("api-prod"),
        )
        .contract(&contract(rules))
        .run(&CHECK);
        no_connector.one(Status::Fail, "vpc_connector");
        no_connector.one(Status::IntentionalDiff, "cloud_sql");
    }

    #[test]
    fn an_attachment_known_only_after_apply_needs_review() {
        let found = Scenario::new([
            Env::new("dev").service(Svc::v2("api-dev").cloud_sql("db-dev")),
            Env::new("prod")
                .creating()
                .service(Svc::v2("api-prod").cloud_sql("db-prod")),
        ])
        .contract(&contract(""))
        .run(&CHECK);
        let f = found.one(
            Status::ReviewRequired,
            "cloud_sql in prod is known only after apply",
        );
        assert!(has_evidence(
            f,
            "prod",
            "google_cloud_run_v2_service.api_prod",
            None
        ));
        found.none(Status::Fail);
    }

    #[test]
    fn without_a_contract_a_difference_needs_review() {
        let found = pair(
            Svc::v2("api-dev").connector("x-dev-connector"),
            Svc::v2("api-prod"),
        )
        .run(&CHECK);
        found.one(Status::ReviewRequired, "vpc_connector");
        assert_eq!(found.verdict(), Status::ReviewRequired);
    }
}
