//! Item 9: each environment's domains follow its declared strategy: `run_app` (services used on
//! their `*.run.app` URLs) or `custom` (every externally reachable service has a custom domain,
//! through a domain mapping or a load balancer).

use std::collections::BTreeMap;

use super::{CheckDef, CheckKind, Ctx, Diff, service_evidence};
use crate::contract::DomainStrategy;
use crate::finding::{Evidence, Finding, Status};
use crate::model::{Exposure, Service};

pub static CHECK: CheckDef = CheckDef {
    number: 9,
    id: "PAR009",
    name: "domains",
    title: "Domain strategy parity intent",
    kind: CheckKind::Conformance,
    impact: 2,
    attributes: &["domains"],
    docs: DOCS,
    run,
    fix,
};

const DOCS: &str = "\
## What it checks
Per environment, the domain strategy the contract declares (`domains = \"run_app\"`, \
`\"custom\"` or `\"any\"`). `run_app`: no service has a custom domain. `custom`: every service \
reachable from outside (exposure `public` or `load_balancer`) has at least one host, from a \
`google_cloud_run_domain_mapping` or from a load balancer whose URL map routes the host to a \
backend service in front of the service's serverless NEG. Without a declared strategy, roles \
whose domain set-up differs across environments need review.

## Why it matters
Cookies, CORS, OAuth redirect URLs and CSP headers are written for hosts. A service that is on \
`*.run.app` in prod when its peers are on the custom domain breaks logins and leaks the \
direct URL that bypasses the load balancer.

## Example
Dev on `*.run.app`, prod on `app.jualuma.com`, `api.jualuma.com`... through the HTTPS load \
balancer, with strategies `run_app` and `custom` declared: PASS.

## How to fix
Add the missing host rule / domain mapping, or remove the stray custom domain, or change the \
declared strategy.

## Declaring an intentional difference
```hcl
environment \"prod\" {
  domains = \"custom\"
}
intentional_difference \"internal-tool-on-run-app\" {
  check        = \"domains\"
  roles        = [\"approvals\"]
  environments = [\"prod\"]
  reason       = \"Staff-only tool, reached through IAP on its run.app URL.\"
}
```
";

fn hosts(s: &Service) -> String {
    s.domains
        .known()
        .map(|d| {
            d.iter()
                .map(|d| d.host.clone())
                .collect::<Vec<_>>()
                .join(", ")
        })
        .unwrap_or_else(|| "unknown".into())
}

fn run(ctx: &Ctx<'_>) -> Vec<Finding> {
    let mut out = Vec::new();
    for model in ctx.models {
        let strategy = ctx
            .contract
            .env(&model.name)
            .and_then(|e| e.domains.as_ref());
        let Some(strategy) = strategy else {
            continue;
        };
        let rule_ev = Evidence::env(&model.name)
            .attribute("contract domains")
            .at(strategy.span.clone())
            .value(strategy.value.as_str());
        for (i, s) in model.services.iter().enumerate() {
            let role = ctx.roles.role_of(&model.name, i).map(|r| r.name.clone());
            let label = role.clone().unwrap_or_else(|| s.name.clone());
            let base = |status: Status, msg: String| {
                let mut f = Finding::new(status, msg)
                    .envs([model.name.as_str()])
                    .subject("domains");
                if let Some(r) = &role {
                    f = f.role(r);
                }
                f
            };
            let ev = service_evidence(&model.name, s, "domains", s.span.clone());
            let Some(domains) = s.domains.known() else {
                out.push(
                    base(
                        Status::ReviewRequired,
                        format!(
                            "`{}` in {}: the hosts routed to it are known only after apply",
                            s.name, model.name
                        ),
                    )
                    .evidence(ev)
                    .evidence(rule_ev.clone()),
                );
                continue;
            };
            let ev = ev.value(if domains.is_empty() {
                "run.app only".to_string()
            } else {
                hosts(s)
            });
            let mut extra: Vec<Evidence> = domains
                .iter()
                .map(|d| {
                    Evidence::env(&model.name)
                        .address(&d.address)
                        .attribute("host")
                        .value(d.host.clone())
                })
                .collect();
            extra.push(rule_ev.clone());
            let external = s
                .exposure
                .as_ref()
                .and_then(|e| e.known())
                .is_none_or(|e| matches!(e, Exposure::Public | Exposure::LoadBalancer));
            let problem = match strategy.value {
                DomainStrategy::Any => None,
                DomainStrategy::RunApp if !domains.is_empty() => Some(format!(
                    "`{}` in {} has custom domains ({}) but the environment's strategy is run_app",
                    s.name,
                    model.name,
                    hosts(s)
                )),
                DomainStrategy::Custom if domains.is_empty() && external => Some(format!(
                    "`{}` in {} is reachable from outside but has no custom domain (strategy custom)",
                    s.name, model.name
                )),
                _ => None,
            };
            let f = match problem {
                None => base(
                    Status::Pass,
                    if domains.is_empty() {
                        format!(
                            "`{label}` in {} is used on its run.app URL ({})",
                            model.name,
                            strategy.value.as_str()
                        )
                    } else {
                        format!(
                            "`{label}` in {} is served on {} ({})",
                            model.name,
                            hosts(s),
                            strategy.value.as_str()
                        )
                    },
                ),
                Some(msg) => {
                    let actual = BTreeMap::from([(model.name.clone(), hosts(s))]);
                    ctx.judge(
                        &Diff::new(&CHECK, role.as_deref(), &model.name, "domains").values(actual),
                        base(Status::Fail, msg),
                    )
                }
            };
            let mut f = f.evidence(ev);
            f.evidence.extend(extra);
            out.push(f);
        }
    }
    // Roles whose environments declare no strategy: differences need review.
    let undeclared: Vec<&str> = ctx
        .models
        .iter()
        .filter(|m| {
            ctx.contract
                .env(&m.name)
                .and_then(|e| e.domains.as_ref())
                .is_none()
        })
        .map(|m| m.name.as_str())
        .collect();
    if undeclared.is_empty() {
        return out;
    }
    for role in &ctx.roles.roles {
        for (a, env, b) in ctx.pairs(role) {
            let reference = &ctx.reference().name;
            if !undeclared.contains(&env.name.as_str()) && !undeclared.contains(&reference.as_str())
            {
                continue;
            }
            let (Some(da), Some(db)) = (a.domains.known(), b.domains.known()) else {
                continue;
            };
            let ev_a = service_evidence(reference, a, "domains", a.span.clone()).value(hosts(a));
            let ev_b = service_evidence(&env.name, b, "domains", b.span.clone()).value(hosts(b));
            let f = if da.is_empty() == db.is_empty() {
                Finding::new(
                    Status::Pass,
                    format!(
                        "role `{}`: same domain set-up in {reference} and {}",
                        role.name, env.name
                    ),
                )
            } else {
                Finding::new(
                    Status::ReviewRequired,
                    format!(
                        "role `{}`: custom domains in {} only ({}); no domain strategy is declared for {}",
                        role.name,
                        if da.is_empty() { &env.name } else { reference },
                        if da.is_empty() { hosts(b) } else { hosts(a) },
                        undeclared.join(", ")
                    ),
                )
            };
            out.push(
                f.role(&role.name)
                    .envs([reference.as_str(), env.name.as_str()])
                    .subject("domains")
                    .evidence(ev_a)
                    .evidence(ev_b),
            );
        }
    }
    out
}

fn fix(fails: &[&Finding]) -> String {
    let items: Vec<String> = fails.iter().map(|f| f.message.clone()).collect();
    format!(
        "Route the hosts as the strategy says, or change the declared strategy: {}.",
        items.join("; ")
    )
}

#[cfg(test)]
mod tests {
    use super::CHECK;
    use crate::checks::testkit::{Env, NAMING, Scenario, Svc, has_evidence};
    use crate::finding::Status;

    fn strategies(dev: &str, prod: &str, rest: &str) -> String {
        format!(
            "environment \"dev\" {{\n  domains = \"{dev}\"\n}}\nenvironment \"prod\" {{\n  domains = \"{prod}\"\n}}\n{NAMING}\n{rest}"
        )
    }

    #[test]
    fn run_app_in_dev_and_a_load_balancer_in_prod_pass() {
        let found = Scenario::new([
            Env::new("dev").service(Svc::v2("web-dev").public()),
            Env::new("prod").service(
                Svc::v2("web-prod")
                    .ingress("INGRESS_TRAFFIC_INTERNAL_LOAD_BALANCER")
                    .public()
                    .load_balancer(&["app.acme.com", "www.acme.com"]),
            ),
        ])
        .contract(&strategies("run_app", "custom", ""))
        .run(&CHECK);
        assert_eq!(found.verdict(), Status::Pass, "{found}");
        found.one(
            Status::Pass,
            "`web` in dev is used on its run.app URL (run_app)",
        );
        let f = found.one(
            Status::Pass,
            "`web` in prod is served on app.acme.com, www.acme.com (custom)",
        );
        assert!(has_evidence(
            f,
            "prod",
            "google_compute_url_map.web_prod",
            Some("host")
        ));
        assert!(
            f.evidence
                .iter()
                .any(|e| e.attribute.as_deref() == Some("contract domains"))
        );
    }

    #[test]
    fn the_load_balancer_chain_is_followed_through_references_in_a_create_plan() {
        let found = Scenario::new([
            Env::new("dev").service(Svc::v2("web-dev").public()),
            Env::new("prod").creating().service(
                Svc::v2("web-prod")
                    .ingress("INGRESS_TRAFFIC_INTERNAL_LOAD_BALANCER")
                    .public()
                    .load_balancer(&["app.acme.com"]),
            ),
        ])
        .contract(&strategies("run_app", "custom", ""))
        .run(&CHECK);
        assert_eq!(found.verdict(), Status::Pass, "{found}");
        found.one(Status::Pass, "served on app.acme.com");
    }

    #[test]
    fn a_domain_mapping_follows_the_custom_strategy() {
        let found = Scenario::new([
            Env::new("dev").service(Svc::v1("web-dev").public()),
            Env::new("prod").service(Svc::v1("web-prod").public().domain_mapping("app.acme.com")),
        ])
        .contract(&strategies("run_app", "custom", ""))
        .run(&CHECK);
        assert_eq!(found.verdict(), Status::Pass, "{found}");
        let f = found.one(Status::Pass, "served on app.acme.com");
        assert!(has_evidence(
            f,
            "prod",
            "google_cloud_run_domain_mapping.app_acme_com",
            Some("host")
        ));
    }

    #[test]
    fn custom_domains_in_a_run_app_environment_fail() {
        let found = Scenario::new([
            Env::new("dev").service(Svc::v2("web-dev").public().domain_mapping("dev.acme.com")),
            Env::new("prod").service(Svc::v2("web-prod").public().domain_mapping("app.acme.com")),
        ])
        .contract(&strategies("run_app", "custom", ""))
        .run(&CHECK);
        let f = found.one(
            Status::Fail,
            "has custom domains (dev.acme.com) but the environment's strategy is run_app",
        );
        assert_eq!(f.environments, vec!["dev"]);
        assert!(has_evidence(
            f,
            "dev",
            "google_cloud_run_v2_service.web_dev",
            Some("domains")
        ));
    }

    #[test]
    fn an_external_service_without_a_domain_fails_the_custom_strategy() {
        let found = Scenario::new([
            Env::new("dev")
                .service(Svc::v2("web-dev").public())
                .service(Svc::v2("jobs-dev")),
            Env::new("prod")
                .service(Svc::v2("web-prod").public())
                // Internal services need no domain.
                .service(Svc::v2("jobs-prod").ingress("INGRESS_TRAFFIC_INTERNAL_ONLY")),
        ])
        .contract(&strategies("run_app", "custom", ""))
        .run(&CHECK);
        let f = found.one(
            Status::Fail,
            "`web-prod` in prod is reachable from outside but has no custom domain",
        );
        assert_eq!(f.role.as_deref(), Some("web"));
        found.one(
            Status::Pass,
            "`jobs` in prod is used on its run.app URL (custom)",
        );
    }

    #[test]
    fn a_declared_exception_is_intentional() {
        let rest = r#"
intentional_difference "approvals-on-run-app" {
  check        = "domains"
  roles        = ["approvals"]
  environments = ["prod"]
  reason       = "Staff-only tool reached through IAP on its run.app URL."
}
"#;
        let found = Scenario::new([
            Env::new("dev").service(Svc::v2("approvals-dev").public()),
            Env::new("prod").service(Svc::v2("approvals-prod").public()),
        ])
        .contract(&strategies("run_app", "custom", rest))
        .run(&CHECK);
        let f = found.one(Status::IntentionalDiff, "Staff-only tool");
        assert_eq!(f.environments, vec!["prod"]);
        assert_eq!(found.verdict(), Status::IntentionalDiff);
    }

    #[test]
    fn without_a_strategy_a_difference_needs_review() {
        let found = Scenario::new([
            Env::new("dev").service(Svc::v2("web-dev").public()),
            Env::new("prod").service(Svc::v2("web-prod").public().domain_mapping("app.acme.com")),
        ])
        .run(&CHECK);
        let f = found.one(
            Status::ReviewRequired,
            "custom domains in prod only (app.acme.com)",
        );
        assert_eq!(f.role.as_deref(), Some("web"));
        let same = Scenario::new([
            Env::new("dev").service(Svc::v2("web-dev").public()),
            Env::new("prod").service(Svc::v2("web-prod").public()),
        ])
        .run(&CHECK);
        assert_eq!(same.verdict(), Status::Pass, "{same}");
    }
}
