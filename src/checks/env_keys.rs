//! Item 6: each role's env var keys are the same across environments, after the contract's
//! declared renames and one-environment keys. Values are never compared or shown.

use std::collections::{BTreeMap, BTreeSet};

use super::{CheckDef, CheckKind, Ctx, Decision, container_pairs, list, service_evidence};
use crate::finding::{Finding, Status};

pub static CHECK: CheckDef = CheckDef {
    number: 6,
    id: "PAR006",
    name: "env_keys",
    title: "Env var key parity per service",
    kind: CheckKind::Parity,
    impact: 3,
    attributes: &["env_keys"],
    docs: DOCS,
    run,
    fix,
};

const DOCS: &str = "\
## What it checks
Per role and container, the set of env var keys (plain and secret-backed alike), matched by \
name, never by position: Cloud Run env blocks are sets. Keys renamed between environments \
(`env_key_rename`) and keys that exist in one environment on purpose (`env_key_only`) are \
declared differences. Values are never read into the report.

## Why it matters
Code reads configuration by key. A key present in dev and missing in prod is a feature flag \
that silently defaults, or a crash at start-up after release.

## Example
Dev `jualuma-user-app` has `VITE_API_TARGET` and `VITE_MARKETING_URL`; prod `frontend-app` has \
`API_BASE_URL`: FAIL, naming the keys.

## How to fix
Use the same keys in every environment (values may differ), or declare the rename or the \
environment-only keys.

## Declaring an intentional difference
```hcl
env_key_rename {
  roles = [\"support\"]
  keys  = { dev = \"VITE_API_BASE_URL\", prod = \"API_BASE_URL\" }
}
env_key_only {
  roles       = [\"backend\"]
  environment = \"prod\"
  keys        = [\"STRIPE_PRICE_ID_PRO_MONTHLY\", \"STRIPE_PRICE_ID_PRO_ANNUAL\"]
  reason      = \"Billing runs in prod only.\"
}
```
";

fn applies(roles: &[String], role: &str) -> bool {
    roles.is_empty() || roles.iter().any(|r| r == role || r == "*")
}

fn run(ctx: &Ctx<'_>) -> Vec<Finding> {
    let mut out = Vec::new();
    let reference = ctx.reference().name.clone();
    for role in &ctx.roles.roles {
        for (a, env, b) in ctx.pairs(role) {
            for (ca, cb, label) in container_pairs(a, b) {
                let suffix = if label.is_empty() {
                    String::new()
                } else {
                    format!(" ({label})")
                };
                let ev_a = service_evidence(
                    &reference,
                    a,
                    &format!("{}.env", a.kind_containers()),
                    ca.env.span.clone(),
                );
                let ev_b = service_evidence(
                    &env.name,
                    b,
                    &format!("{}.env", b.kind_containers()),
                    cb.env.span.clone(),
                );
                let (Some(ka), Some(kb)) = (ca.env.known(), cb.env.known()) else {
                    out.push(
                        Finding::new(
                            Status::ReviewRequired,
                            format!(
                                "role `{}`{suffix}: the env vars of {} are known only after apply, so keys cannot be compared",
                                role.name,
                                if ca.env.is_unknown() { &reference } else { &env.name }
                            ),
                        )
                        .role(&role.name)
                        .envs([reference.as_str(), env.name.as_str()])
                        .subject("env_keys")
                        .evidence(ev_a)
                        .evidence(ev_b),
                    );
                    continue;
                };
                // Borrowed from the model, whose keys are sorted and unique: keys are copied
                // only into what is reported.
                let common: Vec<&str> = ka.keys().filter(|k| kb.contains_key(k)).collect();
                let mut only_a: BTreeSet<&str> =
                    ka.keys().filter(|k| !kb.contains_key(k)).collect();
                let mut only_b: BTreeSet<&str> =
                    kb.keys().filter(|k| !ka.contains_key(k)).collect();
                let mut declared: Vec<Finding> = Vec::new();
                for r in &ctx.contract.key_renames {
                    if !applies(&r.roles, &role.name) {
                        continue;
                    }
                    let (Some(from), Some(to)) = (r.keys.get(&reference), r.keys.get(&env.name))
                    else {
                        continue;
                    };
                    if only_a.contains(from.as_str()) && only_b.contains(to.as_str()) {
                        only_a.remove(from.as_str());
                        only_b.remove(to.as_str());
                        declared.push(
                            Finding::new(
                                Status::IntentionalDiff,
                                format!(
                                    "role `{}`{suffix}: `{from}` in {reference} is `{to}` in {} (declared rename{})",
                                    role.name,
                                    env.name,
                                    r.reason.as_deref().map(|x| format!(": {x}")).unwrap_or_default()
                                ),
                            )
                            .role(&role.name)
                            .envs([reference.as_str(), env.name.as_str()])
                            .subject("env_keys")
                            .evidence(ev_a.clone().keys([from.clone()]))
                            .evidence(ev_b.clone().keys([to.clone()]))
                            .evidence(crate::finding::Evidence::default().attribute("contract env_key_rename").at(r.span.clone())),
                        );
                    }
                }
                for o in &ctx.contract.key_only {
                    if !applies(&o.roles, &role.name) {
                        continue;
                    }
                    let side = if o.environment == env.name {
                        &mut only_b
                    } else if o.environment == reference {
                        &mut only_a
                    } else {
                        continue;
                    };
                    let hit: Vec<String> = o
                        .keys
                        .iter()
                        .filter(|k| side.contains(k.as_str()))
                        .cloned()
                        .collect();
                    if hit.is_empty() {
                        continue;
                    }
                    for k in &hit {
                        side.remove(k.as_str());
                    }
                    declared.push(
                        Finding::new(
                            Status::IntentionalDiff,
                            format!(
                                "role `{}`{suffix}: {} only in {} (declared{})",
                                role.name,
                                list(&hit),
                                o.environment,
                                o.reason
                                    .as_deref()
                                    .map(|x| format!(": {x}"))
                                    .unwrap_or_default()
                            ),
                        )
                        .role(&role.name)
                        .envs([reference.as_str(), env.name.as_str()])
                        .subject("env_keys")
                        .evidence(
                            if o.environment == reference {
                                ev_a.clone()
                            } else {
                                ev_b.clone()
                            }
                            .keys(hit.clone()),
                        )
                        .evidence(
                            crate::finding::Evidence::default()
                                .attribute("contract env_key_only")
                                .at(o.span.clone()),
                        ),
                    );
                }
                // Keys an `intentional_difference` accepts.
                let mut accepted: BTreeMap<String, (crate::finding::Acceptance, Vec<String>)> =
                    BTreeMap::new();
                let mut expired: Vec<(crate::finding::Acceptance, String)> = Vec::new();
                for k in only_a
                    .iter()
                    .chain(only_b.iter())
                    .copied()
                    .collect::<Vec<_>>()
                {
                    match ctx.decide(
                        &super::Diff::new(&CHECK, Some(&role.name), &env.name, "env_keys")
                            .keys(vec![k.to_string()]),
                    ) {
                        Decision::Accepted(acc) => {
                            only_a.remove(&k);
                            only_b.remove(&k);
                            accepted
                                .entry(acc.name.clone())
                                .or_insert((acc, Vec::new()))
                                .1
                                .push(k.to_string());
                        }
                        Decision::Expired(acc) => expired.push((acc, k.to_string())),
                        _ => {}
                    }
                }
                for (_, (acc, keys)) in accepted {
                    declared.push(
                        Finding::new(
                            Status::IntentionalDiff,
                            format!(
                                "role `{}`{suffix}: {} differ (declared: {})",
                                role.name,
                                list(&keys),
                                acc.reason
                            ),
                        )
                        .role(&role.name)
                        .envs([reference.as_str(), env.name.as_str()])
                        .subject("env_keys")
                        .evidence(ev_b.clone().keys(keys))
                        .accepted(Some(acc)),
                    );
                }
                if only_a.is_empty() && only_b.is_empty() {
                    if declared.is_empty() {
                        out.push(
                            Finding::new(
                                Status::Pass,
                                format!(
                                    "role `{}`{suffix}: the same {} key(s) in {reference} and {}",
                                    role.name,
                                    common.len(),
                                    env.name
                                ),
                            )
                            .role(&role.name)
                            .envs([reference.as_str(), env.name.as_str()])
                            .subject("env_keys")
                            .evidence(ev_a.clone().keys(common.iter().copied()))
                            .evidence(ev_b.clone().keys(common.iter().copied())),
                        );
                    }
                    out.extend(declared);
                    continue;
                }
                let a_list: Vec<String> = only_a.iter().map(|k| k.to_string()).collect();
                let b_list: Vec<String> = only_b.iter().map(|k| k.to_string()).collect();
                let mut parts = Vec::new();
                if !a_list.is_empty() {
                    parts.push(format!("only in {reference}: {}", list(&a_list)));
                }
                if !b_list.is_empty() {
                    parts.push(format!("only in {}: {}", env.name, list(&b_list)));
                }
                let mut msg = format!(
                    "role `{}`{suffix}: env keys differ — {}",
                    role.name,
                    parts.join("; ")
                );
                if let Some((acc, _)) = expired.first() {
                    msg.push_str(&format!(
                        " (the intentional difference `{}` expired on {})",
                        acc.name,
                        acc.expires.map(|d| d.to_string()).unwrap_or_default()
                    ));
                }
                let mut f = Finding::new(ctx.undeclared(true), msg)
                    .role(&role.name)
                    .envs([reference.as_str(), env.name.as_str()])
                    .subject("env_keys")
                    .evidence(ev_a.clone().keys(a_list))
                    .evidence(ev_b.clone().keys(b_list));
                if let Some((acc, _)) = expired.into_iter().next() {
                    f = f.accepted(Some(acc));
                }
                out.push(f);
                out.extend(declared);
            }
        }
    }
    out
}

impl crate::model::Service {
    /// The path of this kind's containers, for evidence.
    pub fn kind_containers(&self) -> &'static str {
        crate::model::cloud_run::paths_for(match self.kind {
            crate::model::ServiceKind::RunV1Service => "google_cloud_run_service",
            crate::model::ServiceKind::RunV2Service => "google_cloud_run_v2_service",
            crate::model::ServiceKind::RunV2Job => "google_cloud_run_v2_job",
        })
        .containers
    }
}

fn fix(fails: &[&Finding]) -> String {
    let items: Vec<String> = fails.iter().map(|f| f.message.clone()).collect();
    format!(
        "Agree one env key contract per role and use it in every environment (values may differ), or declare renames/one-environment keys in the contract: {}.",
        items.join("; ")
    )
}

#[cfg(test)]
mod tests {
    use super::CHECK;
    use crate::checks::testkit::{
        Container, Env, Scenario, Svc, contract, has_evidence, names_key,
    };
    use crate::finding::Status;

    fn pair(dev: Svc, prod: Svc) -> Scenario {
        Scenario::new([Env::new("dev").service(dev), Env::new("prod").service(prod)])
    }

    #[test]
    fn keys_match_by_name_in_any_order() {
        let found = pair(
            Svc::v2("api-dev")
                .env("LOG_LEVEL", "debug")
                .secret("DATABASE_URL", "db-url", Some("latest"))
                .env("API_BASE", "https://api.dev.acme.com"),
            Svc::v1("api-prod")
                .env("API_BASE", "https://api.acme.com")
                .env("LOG_LEVEL", "info")
                .secret("DATABASE_URL", "db-url", Some("latest")),
        )
        .contract(&contract(""))
        .run(&CHECK);
        assert_eq!(found.verdict(), Status::Pass, "{found}");
        let f = found.one(Status::Pass, "the same 3 key(s)");
        assert!(names_key(f, "DATABASE_URL") && names_key(f, "API_BASE"));
        // Values are never part of a finding.
        let shown = format!("{found:?}");
        assert!(
            !shown.contains("api.dev.acme.com") && !shown.contains("debug"),
            "{shown}"
        );
    }

    #[test]
    fn missing_keys_fail_naming_them() {
        let found = pair(
            Svc::v2("web-dev")
                .env("VITE_API_TARGET", "x")
                .env("VITE_MARKETING_URL", "y"),
            Svc::v2("web-prod").env("API_BASE_URL", "z"),
        )
        .contract(&contract(""))
        .run(&CHECK);
        let f = found.one(Status::Fail, "env keys differ");
        assert!(
            f.message
                .contains("only in dev: `VITE_API_TARGET` and `VITE_MARKETING_URL`"),
            "{}",
            f.message
        );
        assert!(
            f.message.contains("only in prod: `API_BASE_URL`"),
            "{}",
            f.message
        );
        assert!(has_evidence(
            f,
            "prod",
            "google_cloud_run_v2_service.web_prod",
            Some("template.containers.env")
        ));
        assert!(names_key(f, "API_BASE_URL") && names_key(f, "VITE_MARKETING_URL"));
    }

    #[test]
    fn declared_renames_and_one_environment_keys_are_intentional() {
        let rules = r#"
env_key_rename {
  roles  = ["web"]
  keys   = { dev = "VITE_API_BASE_URL", prod = "API_BASE_URL" }
  reason = "The prod build reads the runtime name."
}
env_key_only {
  roles       = ["web"]
  environment = "prod"
  keys        = ["STRIPE_PRICE_ID"]
  reason      = "Billing runs in prod only."
}
env_key_only {
  environment = "dev"
  keys        = ["DEBUG_TOOLBAR"]
}
"#;
        let found = pair(
            Svc::v2("web-dev")
                .env("VITE_API_BASE_URL", "x")
                .env("DEBUG_TOOLBAR", "1")
                .env("LOG_LEVEL", "debug"),
            Svc::v2("web-prod")
                .env("LOG_LEVEL", "info")
                .env("STRIPE_PRICE_ID", "price_1")
                .env("API_BASE_URL", "y"),
        )
        .contract(&contract(rules))
        .run(&CHECK);
        assert_eq!(found.verdict(), Status::IntentionalDiff, "{found}");
        let rename = found.one(
            Status::IntentionalDiff,
            "`VITE_API_BASE_URL` in dev is `API_BASE_URL` in prod",
        );
        assert!(names_key(rename, "API_BASE_URL"));
        found.one(
            Status::IntentionalDiff,
            "`STRIPE_PRICE_ID` only in prod (declared: Billing runs in prod only.)",
        );
        found.one(Status::IntentionalDiff, "`DEBUG_TOOLBAR` only in dev");
        // The rename is for `web` only.
        let other = pair(
            Svc::v2("api-dev").env("VITE_API_BASE_URL", "x"),
            Svc::v2("api-prod").env("API_BASE_URL", "y"),
        )
        .contract(&contract(rules))
        .run(&CHECK);
        other.one(Status::Fail, "role `api`: env keys differ");
    }

    const FLAG: &str = r#"
intentional_difference "beta-flag" {
  check   = "env_keys"
  keys    = ["BETA_CHECKOUT"]
  reason  = "Trying the new checkout in dev first."
  expires = "2027-01-15"
}
"#;

    #[test]
    fn keys_an_intentional_difference_names_are_accepted_until_it_expires() {
        let scenario = || {
            pair(
                Svc::v2("api-dev").env("A", "1").env("BETA_CHECKOUT", "on"),
                Svc::v2("api-prod").env("A", "1"),
            )
            .contract(&contract(FLAG))
        };
        let found = scenario().run(&CHECK);
        let f = found.one(Status::IntentionalDiff, "Trying the new checkout");
        assert_eq!(
            f.accepted_by.as_ref().map(|a| a.name.as_str()),
            Some("beta-flag")
        );
        assert!(names_key(f, "BETA_CHECKOUT"));
        found.none(Status::Fail);
        let later = scenario().today("2027-01-16").run(&CHECK);
        let f = later.one(Status::Fail, "expired on 2027-01-15");
        assert!(names_key(f, "BETA_CHECKOUT"));
    }

    #[test]
    fn without_a_contract_differing_keys_fail() {
        let found = pair(
            Svc::v2("api-dev").env("A", "1").env("B", "2"),
            Svc::v2("api-prod").env("A", "1"),
        )
        .run(&CHECK);
        found.one(Status::Fail, "only in dev: `B`");
    }

    #[test]
    fn containers_are_compared_by_name() {
        let found = pair(
            Svc::v2("api-dev").containers(vec![
                Container::named("app").env("A", "1"),
                Container::named("proxy").env("P", "1"),
            ]),
            Svc::v2("api-prod").containers(vec![
                Container::named("proxy").env("P", "2"),
                Container::named("app").env("A", "2").env("EXTRA", "3"),
            ]),
        )
        .contract(&contract(""))
        .run(&CHECK);
        let f = found.one(Status::Fail, "(container app): env keys differ");
        assert!(f.message.contains("only in prod: `EXTRA`"), "{found}");
        found.one(Status::Pass, "(container proxy)");
    }

    #[test]
    fn env_vars_known_only_after_apply_need_review() {
        let found = Scenario::new([
            Env::new("dev").service(Svc::v2("api-dev").env("A", "1")),
            Env::new("prod").creating().service(
                Svc::v2("api-prod").containers(vec![Container::default().env_dynamic_unknown()]),
            ),
        ])
        .contract(&contract(""))
        .run(&CHECK);
        found.one(
            Status::ReviewRequired,
            "env vars of prod are known only after apply",
        );
        found.none(Status::Fail);
    }
}
