//! Item 3: ingress matches across environments (or differs as declared), and each
//! environment's effective exposure (ingress × invoker IAM × load balancer) follows its rule.

use std::collections::BTreeMap;

use super::{CheckDef, CheckKind, Ctx, Diff, service_evidence};
use crate::finding::{Finding, Status};
use crate::model::{Exposure, Ingress};

pub static CHECK: CheckDef = CheckDef {
    number: 3,
    id: "PAR003",
    name: "ingress",
    title: "Ingress policy follows environment intent",
    kind: CheckKind::Parity,
    impact: 5,
    attributes: &["ingress", "exposure"],
    docs: DOCS,
    run,
    fix,
};

const DOCS: &str = "\
## What it checks
Each role's ingress setting (`all`, `internal`, `internal-and-cloud-load-balancing`; v2 enums \
such as `INGRESS_TRAFFIC_INTERNAL_LOAD_BALANCER` are mapped to these, and an unset ingress is \
`all`) is the same in every environment, unless the contract declares the difference. When an \
environment declares `exposure`, each service's effective exposure must be one it allows: \
`public` (ingress all + allUsers invoker), `authenticated` (ingress all, IAM required), \
`load_balancer` (internal-and-cloud-load-balancing behind a serverless NEG) or `internal`.

## Why it matters
A service reachable from the internet in prod when it should sit behind the load balancer \
skips the WAF, the CDN and the domain's certificate; one that is internal in prod but public in \
dev hides integration problems until release.

## Example
Dev `all`, prod `internal-and-cloud-load-balancing`, declared: INTENTIONAL_DIFF. The same \
difference undeclared: FAIL.

## How to fix
Set `ingress` the same way in each environment (v2: `ingress = \"INGRESS_TRAFFIC_...\"`; v1: the \
`run.googleapis.com/ingress` annotation), or declare why they differ.

## Declaring an intentional difference
```hcl
intentional_difference \"prod-behind-load-balancer\" {
  check     = \"ingress\"
  attribute = \"ingress\"
  values    = { dev = \"all\", prod = \"internal-and-cloud-load-balancing\" }
  reason    = \"Prod is reached only through the HTTPS load balancer.\"
}
```
";

fn same_ingress(a: &str, b: &str) -> bool {
    Ingress::parse(a).is_some() && Ingress::parse(a) == Ingress::parse(b)
}

fn run(ctx: &Ctx<'_>) -> Vec<Finding> {
    let mut out = Vec::new();
    let reference = &ctx.reference().name;
    for role in &ctx.roles.roles {
        for (a, env, b) in ctx.pairs(role) {
            let (Some(ia), Some(ib)) = (&a.ingress, &b.ingress) else {
                continue;
            };
            let ev_a = service_evidence(reference, a, &ia.attribute, ia.span.clone());
            let ev_b = service_evidence(&env.name, b, &ib.attribute, ib.span.clone());
            let (va, vb) = match (ia.known(), ib.known()) {
                (Some(va), Some(vb)) => (*va, *vb),
                _ => {
                    let unknown = if ia.is_unknown() {
                        (reference, &ia.attribute, &a.address)
                    } else {
                        (&env.name, &ib.attribute, &b.address)
                    };
                    out.push(
                        Finding::new(
                            Status::ReviewRequired,
                            format!(
                                "role `{}`: ingress in {} is known only after apply (`{}` of {})",
                                role.name, unknown.0, unknown.1, unknown.2
                            ),
                        )
                        .role(&role.name)
                        .envs([reference.as_str(), env.name.as_str()])
                        .subject("ingress")
                        .evidence(ev_a)
                        .evidence(ev_b),
                    );
                    continue;
                }
            };
            let ev_a = ev_a.value(va.as_str());
            let ev_b = ev_b.value(vb.as_str());
            if va == vb {
                out.push(
                    Finding::new(
                        Status::Pass,
                        format!(
                            "role `{}`: ingress `{}` in {} and {}",
                            role.name,
                            va.as_str(),
                            reference,
                            env.name
                        ),
                    )
                    .role(&role.name)
                    .envs([reference.as_str(), env.name.as_str()])
                    .subject("ingress")
                    .evidence(ev_a)
                    .evidence(ev_b),
                );
                continue;
            }
            let actual = BTreeMap::from([
                (reference.clone(), va.as_str().to_string()),
                (env.name.clone(), vb.as_str().to_string()),
            ]);
            let f = ctx
                .difference(
                    &Diff::new(&CHECK, Some(&role.name), &env.name, "ingress")
                        .values(actual)
                        .same(same_ingress),
                    ctx.undeclared(false),
                    format!(
                        "role `{}`: ingress is `{}` in {} but `{}` in {}",
                        role.name,
                        va.as_str(),
                        reference,
                        vb.as_str(),
                        env.name
                    ),
                )
                .evidence(ev_a)
                .evidence(ev_b);
            out.push(f);
        }
    }
    out.extend(exposure_rules(ctx));
    out
}

/// Conformance part: every service's effective exposure is one its environment allows.
fn exposure_rules(ctx: &Ctx<'_>) -> Vec<Finding> {
    let mut out = Vec::new();
    for model in ctx.models {
        let Some(rule) = ctx
            .contract
            .env(&model.name)
            .and_then(|e| e.exposure.as_ref())
        else {
            continue;
        };
        let allowed: Vec<&str> = rule.value.iter().map(|e| e.as_str()).collect();
        for (i, s) in model.services.iter().enumerate() {
            let Some(exposure) = &s.exposure else {
                continue;
            };
            let role = ctx.roles.role_of(&model.name, i).map(|r| r.name.clone());
            let mut ev =
                service_evidence(&model.name, s, &exposure.attribute, exposure.span.clone());
            let rule_ev = crate::finding::Evidence::env(&model.name)
                .attribute("contract exposure")
                .at(rule.span.clone())
                .value(allowed.join(", "));
            let label = role.clone().unwrap_or_else(|| s.name.clone());
            let base = |status: Status, msg: String| {
                let mut f = Finding::new(status, msg)
                    .envs([model.name.as_str()])
                    .subject("exposure");
                if let Some(r) = &role {
                    f = f.role(r);
                }
                f
            };
            let Some(&e) = exposure.known() else {
                out.push(
                    base(
                        Status::ReviewRequired,
                        format!(
                            "`{}` in {}: effective exposure is unknown before apply (`{}`)",
                            s.name, model.name, exposure.attribute
                        ),
                    )
                    .evidence(ev)
                    .evidence(rule_ev),
                );
                continue;
            };
            ev = ev.value(describe(e, s));
            if rule.value.contains(&e) {
                out.push(
                    base(
                        Status::Pass,
                        format!(
                            "`{label}` in {} is {}, as the environment allows",
                            model.name,
                            e.as_str()
                        ),
                    )
                    .evidence(ev)
                    .evidence(rule_ev),
                );
                continue;
            }
            let actual = BTreeMap::from([(model.name.clone(), e.as_str().to_string())]);
            let msg = format!(
                "`{}` in {} is {} but the environment allows only {}",
                s.name,
                model.name,
                e.as_str(),
                allowed.join(", ")
            );
            let f = ctx.judge(
                &Diff::new(&CHECK, role.as_deref(), &model.name, "exposure").values(actual),
                base(Status::Fail, msg),
            );
            out.push(f.evidence(ev).evidence(rule_ev));
        }
    }
    out
}

fn describe(e: Exposure, s: &crate::model::Service) -> String {
    let ingress = s
        .ingress
        .as_ref()
        .and_then(|i| i.known())
        .map_or("unknown", |i| i.as_str());
    let public = s.invokers.known().is_some_and(|l| {
        l.iter()
            .any(|i| crate::model::cloud_run::is_public_member(&i.member))
    });
    format!(
        "{} (ingress {ingress}, {} invoker)",
        e.as_str(),
        if public { "public" } else { "restricted" }
    )
}

fn fix(fails: &[&Finding]) -> String {
    let roles: Vec<String> = fails.iter().filter_map(|f| f.role.clone()).collect();
    format!(
        "Align ingress for {} (v2 `ingress`, v1 `run.googleapis.com/ingress` annotation) with the environment's intent, or declare the difference with a reason.",
        if roles.is_empty() {
            "the failing services".to_string()
        } else {
            super::list(&roles)
        }
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
    fn the_same_ingress_passes() {
        let found = pair(
            Svc::v2("api-dev").ingress("INGRESS_TRAFFIC_INTERNAL_ONLY"),
            Svc::v2("api-prod").ingress("INGRESS_TRAFFIC_INTERNAL_ONLY"),
        )
        .contract(&contract(""))
        .run(&CHECK);
        assert_eq!(found.verdict(), Status::Pass, "{found}");
        let f = found.one(Status::Pass, "ingress `internal`");
        assert_eq!(f.role.as_deref(), Some("api"));
        assert!(has_evidence(
            f,
            "dev",
            "google_cloud_run_v2_service.api_dev",
            Some("ingress")
        ));
        assert!(has_evidence(
            f,
            "prod",
            "google_cloud_run_v2_service.api_prod",
            Some("ingress")
        ));
    }

    #[test]
    fn a_v1_annotation_and_a_v2_enum_are_compared_by_meaning() {
        let found = pair(
            Svc::v1("api-dev").ingress("internal-and-cloud-load-balancing"),
            Svc::v2("api-prod").ingress("INGRESS_TRAFFIC_INTERNAL_LOAD_BALANCER"),
        )
        .contract(&contract(""))
        .run(&CHECK);
        assert_eq!(found.verdict(), Status::Pass, "{found}");
        let f = found.one(Status::Pass, "internal-and-cloud-load-balancing");
        assert!(has_evidence(
            f,
            "dev",
            "google_cloud_run_service.api_dev",
            Some("metadata.annotations[\"run.googleapis.com/ingress\"]")
        ));
    }

    #[test]
    fn unset_ingress_is_all_in_either_resource_kind_and_either_plan() {
        // v1 without the annotation (existing), v2 not written in a create plan (unknown in
        // `after` but absent from the configuration): both are `all`.
        let found = Scenario::new([
            Env::new("dev").service(Svc::v1("api-dev")),
            Env::new("prod").creating().service(Svc::v2("api-prod")),
        ])
        .contract(&contract(""))
        .run(&CHECK);
        assert_eq!(found.verdict(), Status::Pass, "{found}");
        found.one(Status::Pass, "ingress `all`");
        let explicit = pair(
            Svc::v1("api-dev"),
            Svc::v2("api-prod").ingress("INGRESS_TRAFFIC_ALL"),
        )
        .contract(&contract(""))
        .run(&CHECK);
        assert_eq!(explicit.verdict(), Status::Pass, "{explicit}");
    }

    #[test]
    fn an_undeclared_difference_fails() {
        let found = pair(
            Svc::v2("api-dev"),
            Svc::v2("api-prod").ingress("INGRESS_TRAFFIC_INTERNAL_LOAD_BALANCER"),
        )
        .contract(&contract(""))
        .run(&CHECK);
        let f = found.one(
            Status::Fail,
            "ingress is `all` in dev but `internal-and-cloud-load-balancing` in prod",
        );
        assert_eq!(f.role.as_deref(), Some("api"));
        assert_eq!(f.environments, vec!["dev", "prod"]);
        assert!(has_evidence(
            f,
            "prod",
            "google_cloud_run_v2_service.api_prod",
            Some("ingress")
        ));
        assert!(f.evidence.iter().any(|e| e.value.as_deref() == Some("all")));
    }

    const BEHIND_LB: &str = r#"
intentional_difference "prod-behind-lb" {
  check     = "ingress"
  attribute = "ingress"
  values    = { dev = "all", prod = "INGRESS_TRAFFIC_INTERNAL_LOAD_BALANCER" }
  reason    = "Prod is reached only through the HTTPS load balancer."
  owner     = "platform"
  expires   = "2027-06-30"
}
"#;

    #[test]
    fn a_declared_difference_is_intentional() {
        // The declaration may use either vocabulary.
        let text = contract(BEHIND_LB);
        let found = pair(
            Svc::v2("api-dev"),
            Svc::v1("api-prod").ingress("internal-and-cloud-load-balancing"),
        )
        .contract(&text)
        .run(&CHECK);
        let f = found.one(Status::IntentionalDiff, "Prod is reached only through");
        let acc = f.accepted_by.as_ref().expect("accepted_by");
        assert_eq!(acc.name, "prod-behind-lb");
        assert_eq!(acc.owner.as_deref(), Some("platform"));
        let line = text
            .lines()
            .position(|l| l.starts_with("intentional_difference"))
            .map(|i| i + 1);
        assert_eq!(acc.location.as_ref().map(|s| s.line), line);
        assert_eq!(found.verdict(), Status::IntentionalDiff, "{found}");
    }

    #[test]
    fn a_declaration_with_other_values_fails() {
        let found = pair(
            Svc::v2("api-dev"),
            Svc::v2("api-prod").ingress("INGRESS_TRAFFIC_INTERNAL_ONLY"),
        )
        .contract(&contract(BEHIND_LB))
        .run(&CHECK);
        let f = found.one(
            Status::Fail,
            "differs from the intentional difference `prod-behind-lb`",
        );
        assert!(
            f.message
                .contains("prod: declared INGRESS_TRAFFIC_INTERNAL_LOAD_BALANCER, found internal"),
            "{}",
            f.message
        );
    }

    #[test]
    fn an_expired_declaration_fails_again() {
        let found = pair(
            Svc::v2("api-dev"),
            Svc::v2("api-prod").ingress("INGRESS_TRAFFIC_INTERNAL_LOAD_BALANCER"),
        )
        .contract(&contract(BEHIND_LB))
        .today("2027-07-01")
        .run(&CHECK);
        let f = found.one(Status::Fail, "expired on 2027-06-30");
        assert!(f.accepted_by.is_some());
        // The day it expires it still holds.
        let on_the_day = pair(
            Svc::v2("api-dev"),
            Svc::v2("api-prod").ingress("INGRESS_TRAFFIC_INTERNAL_LOAD_BALANCER"),
        )
        .contract(&contract(BEHIND_LB))
        .today("2027-06-30")
        .run(&CHECK);
        assert_eq!(
            on_the_day.verdict(),
            Status::IntentionalDiff,
            "{on_the_day}"
        );
    }

    #[test]
    fn an_ingress_known_only_after_apply_needs_review() {
        let found = Scenario::new([
            Env::new("dev").service(Svc::v2("api-dev")),
            Env::new("prod")
                .creating()
                .service(Svc::v2("api-prod").ingress_unknown("terraform_data.settings.output")),
        ])
        .contract(&contract(""))
        .run(&CHECK);
        let f = found.one(Status::ReviewRequired, "known only after apply");
        assert!(f.message.contains("prod"), "{}", f.message);
        assert!(has_evidence(
            f,
            "prod",
            "google_cloud_run_v2_service.api_prod",
            Some("ingress")
        ));
    }

    #[test]
    fn without_a_contract_a_difference_needs_review() {
        let found = pair(
            Svc::v2("api-dev"),
            Svc::v2("api-prod").ingress("INGRESS_TRAFFIC_INTERNAL_ONLY"),
        )
        .run(&CHECK);
        let f = found.one(
            Status::ReviewRequired,
            "ingress is `all` in dev but `internal` in prod",
        );
        assert_eq!(f.role.as_deref(), Some("api"));
        assert_eq!(found.verdict(), Status::ReviewRequired);
    }

    #[test]
    fn exposure_follows_each_environments_rule() {
        let rules = r#"
environment "dev" {
  exposure = ["public"]
}
environment "prod" {
  exposure = ["load_balancer"]
}
naming {
  patterns = { dev = "{role}-dev", prod = "{role}-prod" }
}
intentional_difference "prod-behind-lb" {
  check     = "ingress"
  attribute = "ingress"
  reason    = "Prod is reached only through the HTTPS load balancer."
}
"#;
        let good = Scenario::new([
            Env::new("dev").service(Svc::v2("web-dev").public()),
            Env::new("prod").service(
                Svc::v2("web-prod")
                    .ingress("INGRESS_TRAFFIC_INTERNAL_LOAD_BALANCER")
                    .public()
                    .load_balancer(&["app.acme.com"]),
            ),
        ])
        .contract(rules)
        .run(&CHECK);
        assert_eq!(good.verdict(), Status::IntentionalDiff, "{good}");
        assert_eq!(good.about("exposure").len(), 2, "{good}");
        good.one(Status::Pass, "`web` in prod is load_balancer");
        good.one(Status::Pass, "`web` in dev is public");

        // Prod public on its run.app URL, and dev authenticated only: both break their rule.
        let bad = Scenario::new([
            Env::new("dev").service(Svc::v2("web-dev")),
            Env::new("prod").service(Svc::v2("web-prod").public()),
        ])
        .contract(rules)
        .run(&CHECK);
        let f = bad.one(
            Status::Fail,
            "`web-prod` in prod is public but the environment allows only load_balancer",
        );
        assert!(has_evidence(
            f,
            "prod",
            "google_cloud_run_v2_service.web_prod",
            None
        ));
        assert!(
            f.evidence
                .iter()
                .any(|e| e.attribute.as_deref() == Some("contract exposure"))
        );
        bad.one(
            Status::Fail,
            "`web-dev` in dev is authenticated but the environment allows only public",
        );

        // internal-and-cloud-load-balancing without a load balancer in front is internal.
        let no_lb = Scenario::new([
            Env::new("dev").service(Svc::v2("web-dev").public()),
            Env::new("prod").service(
                Svc::v2("web-prod")
                    .ingress("INGRESS_TRAFFIC_INTERNAL_LOAD_BALANCER")
                    .public(),
            ),
        ])
        .contract(rules)
        .run(&CHECK);
        no_lb.one(
            Status::Fail,
            "is internal but the environment allows only load_balancer",
        );
    }
}
