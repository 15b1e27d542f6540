//! Item 7: keys that come from Secret Manager in one environment do so in all, no literal
//! looks like a credential, and versions are pinned the same way.

use std::collections::BTreeMap;

use super::{CheckDef, CheckKind, Ctx, Diff, container_pairs, list, service_evidence};
use crate::finding::{Finding, Status};
use crate::model::{EnvValue, EnvVar};

pub static CHECK: CheckDef = CheckDef {
    number: 7,
    id: "PAR007",
    name: "secret_refs",
    title: "Secret reference parity pattern",
    kind: CheckKind::Parity,
    impact: 5,
    attributes: &["secret_kind", "secret_version", "literal_secret"],
    docs: DOCS,
    run,
    fix,
};

const DOCS: &str = "\
## What it checks
For every env var key a role has in two environments (after declared renames): it is a \
Secret Manager reference in both or a literal in both. A literal whose value looks like a \
credential (a known token format, a URL with a password, a long value under a key named \
`*SECRET*`, `*PASSWORD*`, `*TOKEN*`, `*API_KEY*`...) fails wherever it is; the value is never \
shown. Versions pinned differently (`latest` in one environment, a number in another) need \
review.

## Why it matters
A secret committed as a literal in one environment ends up in plan files, state and CI logs. \
A version pinned in prod but floating in dev means a rotated secret is tested in one place only.

## Example
`backend` reads `DATABASE_URL`, `JWT_SECRET` and `STRIPE_SECRET_KEY` from Secret Manager \
(`latest`) in dev and prod: PASS.

## How to fix
Move the literal into Secret Manager and reference it with `value_source.secret_key_ref` \
(v2) or `value_from.secret_key_ref` (v1); pin versions the same way in every environment.

## Declaring an intentional difference
```hcl
intentional_difference \"dev-uses-fake-stripe-key\" {
  check  = \"secret_refs\"
  keys   = [\"STRIPE_SECRET_KEY\"]
  environments = [\"dev\"]
  reason = \"Dev uses Stripe's public test key.\"
}
```
";

fn kind(v: &EnvVar) -> &'static str {
    match v.value {
        EnvValue::Literal { .. } => "literal",
        EnvValue::Secret { .. } => "secret",
        EnvValue::Unknown => "unknown",
    }
}

fn version(v: &EnvVar) -> Option<String> {
    match &v.value {
        EnvValue::Secret { version, .. } => {
            Some(version.clone().unwrap_or_else(|| "latest".into()))
        }
        _ => None,
    }
}

fn run(ctx: &Ctx<'_>) -> Vec<Finding> {
    let mut out = Vec::new();
    let reference = ctx.reference().name.clone();
    for role in &ctx.roles.roles {
        for (a, env, b) in ctx.pairs(role) {
            for (ca, cb, label) in container_pairs(a, b) {
                let (Some(ka), Some(kb)) = (ca.env.known(), cb.env.known()) else {
                    continue; // item 6 already asks for review of unknown env blocks
                };
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
                // Keys in both, including declared renames.
                let mut pairs: Vec<(&str, &str)> = ka
                    .keys()
                    .filter(|k| kb.contains_key(k))
                    .map(|k| (k, k))
                    .collect();
                for r in &ctx.contract.key_renames {
                    if !(r.roles.is_empty() || r.roles.iter().any(|x| x == &role.name || x == "*"))
                    {
                        continue;
                    }
                    if let (Some(f), Some(t)) = (r.keys.get(&reference), r.keys.get(&env.name))
                        && ka.contains_key(f)
                        && kb.contains_key(t)
                    {
                        pairs.push((f, t));
                    }
                }
                let mut secrets_both: Vec<String> = Vec::new();
                let mut problems = 0;
                for &(ka_key, kb_key) in &pairs {
                    let (Some(va), Some(vb)) = (ka.get(ka_key), kb.get(kb_key)) else {
                        continue;
                    };
                    // Formatted only for a finding: most keys agree, and there are many.
                    let shown = || {
                        if ka_key == kb_key {
                            format!("`{ka_key}`")
                        } else {
                            format!("`{ka_key}`/`{kb_key}`")
                        }
                    };
                    let keys = || vec![ka_key.to_string(), kb_key.to_string()];
                    match (kind(va), kind(vb)) {
                        ("unknown", _) | (_, "unknown") => {
                            problems += 1;
                            out.push(
                                Finding::new(Status::ReviewRequired, format!("role `{}`{suffix}: whether {} is a secret reference is known only after apply", role.name, shown()))
                                    .role(&role.name).envs([reference.as_str(), env.name.as_str()]).subject("secret_kind")
                                    .evidence(ev_a.clone().keys([ka_key.to_string()])).evidence(ev_b.clone().keys([kb_key.to_string()])),
                            );
                        }
                        (x, y) if x != y => {
                            problems += 1;
                            let actual = BTreeMap::from([
                                (reference.clone(), x.to_string()),
                                (env.name.clone(), y.to_string()),
                            ]);
                            out.push(
                                ctx.difference(
                                    &Diff::new(&CHECK, Some(&role.name), &env.name, "secret_kind").values(actual).keys(keys()), ctx.undeclared(true),
                                    format!("role `{}`{suffix}: {} is a {x} in {reference} but a {y} in {}", role.name, shown(), env.name),
                                )
                                .evidence(ev_a.clone().keys([ka_key.to_string()]).value(x))
                                .evidence(ev_b.clone().keys([kb_key.to_string()]).value(y)),
                            );
                        }
                        ("secret", "secret") => {
                            let (pa, pb) = (
                                version(va).unwrap_or_default(),
                                version(vb).unwrap_or_default(),
                            );
                            let floating = |v: &str| v == "latest";
                            if floating(&pa) != floating(&pb) {
                                problems += 1;
                                let actual = BTreeMap::from([
                                    (reference.clone(), pa.clone()),
                                    (env.name.clone(), pb.clone()),
                                ]);
                                out.push(
                                    ctx.difference(
                                        &Diff::new(&CHECK, Some(&role.name), &env.name, "secret_version").values(actual).keys(keys()), Status::ReviewRequired,
                                        format!("role `{}`{suffix}: {} reads version `{pa}` in {reference} but `{pb}` in {}", role.name, shown(), env.name),
                                    )
                                    .evidence(ev_a.clone().keys([ka_key.to_string()]).value(pa))
                                    .evidence(ev_b.clone().keys([kb_key.to_string()]).value(pb)),
                                );
                            } else {
                                secrets_both.push(ka_key.to_string());
                            }
                        }
                        _ => {}
                    }
                }
                // Literals that look like credentials are reported once per service, below; a
                // pair holding one does not pass.
                if [ka, kb].iter().any(|vars| vars.values().any(is_credential)) {
                    problems += 1;
                }
                if problems == 0 {
                    let msg = if secrets_both.is_empty() {
                        format!(
                            "role `{}`{suffix}: no key differs between secret and literal; no literal looks like a credential",
                            role.name
                        )
                    } else {
                        format!(
                            "role `{}`{suffix}: {} read from Secret Manager in {reference} and {}, versions pinned alike",
                            role.name,
                            list(&secrets_both),
                            env.name
                        )
                    };
                    out.push(
                        Finding::new(Status::Pass, msg)
                            .role(&role.name)
                            .envs([reference.as_str(), env.name.as_str()])
                            .subject("secret_refs")
                            .evidence(ev_a.clone().keys(secrets_both.clone()))
                            .evidence(ev_b.clone().keys(secrets_both.clone())),
                    );
                }
            }
        }
    }
    out.extend(credential_literals(ctx));
    out
}

fn is_credential(v: &EnvVar) -> bool {
    matches!(
        v.value,
        EnvValue::Literal {
            looks_like_secret: true
        }
    )
}

/// Literals that look like credentials, wherever they are (in a role or not, compared or not):
/// one finding per service, container and key. The value is never shown.
fn credential_literals(ctx: &Ctx<'_>) -> Vec<Finding> {
    let mut out = Vec::new();
    for model in ctx.models {
        for (i, s) in model.services.iter().enumerate() {
            let role = ctx.roles.role_of(&model.name, i).map(|r| r.name.as_str());
            for c in &s.containers {
                let Some(vars) = c.env.known() else { continue };
                let label = match (&c.name, s.containers.len()) {
                    (Some(n), l) if l > 1 => format!(" (container {n})"),
                    _ => String::new(),
                };
                for k in vars
                    .iter()
                    .filter(|(_, v)| is_credential(v))
                    .map(|(k, _)| k)
                {
                    let msg = match role {
                        Some(r) => format!(
                            "role `{r}`{label}: `{k}` in {} ({}) is a literal that looks like a credential (value not shown)",
                            model.name, s.name
                        ),
                        None => format!(
                            "`{k}` in {} ({}){label} is a literal that looks like a credential (value not shown)",
                            model.name, s.name
                        ),
                    };
                    let mut f = Finding::new(Status::Fail, msg)
                        .envs([model.name.as_str()])
                        .subject("literal_secret")
                        .evidence(
                            service_evidence(
                                &model.name,
                                s,
                                &format!("{}.env", s.kind_containers()),
                                c.env.span.clone(),
                            )
                            .keys([k]),
                        );
                    if let Some(r) = role {
                        f = f.role(r);
                    }
                    out.push(
                        ctx.judge(
                            &Diff::new(&CHECK, role, &model.name, "literal_secret")
                                .keys(vec![k.to_string()]),
                            f,
                        ),
                    );
                }
            }
        }
    }
    out
}

fn fix(fails: &[&Finding]) -> String {
    let keys: Vec<String> = fails
        .iter()
        .flat_map(|f| f.evidence.iter().flat_map(|e| e.keys.clone()))
        .collect::<std::collections::BTreeSet<_>>()
        .into_iter()
        .collect();
    format!(
        "Read {} from Secret Manager (`value_source.secret_key_ref`) in every environment and rotate any value that was committed as a literal.",
        list(&keys)
    )
}

#[cfg(test)]
mod tests {
    use super::CHECK;
    use crate::checks::testkit::{Env, Scenario, Svc, contract, has_evidence, names_key};
    use crate::finding::Status;

    fn pair(dev: Svc, prod: Svc) -> Scenario {
        Scenario::new([Env::new("dev").service(dev), Env::new("prod").service(prod)])
    }

    #[test]
    fn secrets_read_the_same_way_pass() {
        // v1 `value_from` and v2 `value_source` alike; ids in either form.
        let found = pair(
            Svc::v2("api-dev")
                .secret(
                    "DATABASE_URL",
                    "projects/acme-dev/secrets/db-url",
                    Some("latest"),
                )
                .secret("JWT_SECRET", "jwt", None)
                .env("LOG_LEVEL", "debug"),
            Svc::v1("api-prod")
                .secret("JWT_SECRET", "jwt", Some("latest"))
                .env("LOG_LEVEL", "info")
                .secret("DATABASE_URL", "db-url", Some("latest")),
        )
        .contract(&contract(""))
        .run(&CHECK);
        assert_eq!(found.verdict(), Status::Pass, "{found}");
        let f = found.one(
            Status::Pass,
            "`DATABASE_URL` and `JWT_SECRET` read from Secret Manager",
        );
        assert!(names_key(f, "JWT_SECRET"));
    }

    #[test]
    fn a_secret_in_one_environment_and_a_literal_in_the_other_fails() {
        let found = pair(
            Svc::v2("api-dev").env("STRIPE_KEY", "pk_test_placeholder"),
            Svc::v2("api-prod").secret("STRIPE_KEY", "stripe", Some("latest")),
        )
        .contract(&contract(""))
        .run(&CHECK);
        let f = found.one(
            Status::Fail,
            "`STRIPE_KEY` is a literal in dev but a secret in prod",
        );
        assert_eq!(f.subject.as_deref(), Some("secret_kind"));
        assert!(has_evidence(
            f,
            "prod",
            "google_cloud_run_v2_service.api_prod",
            Some("template.containers.env")
        ));
        assert!(names_key(f, "STRIPE_KEY"));
        assert!(!format!("{found:?}").contains("pk_test_placeholder"));
        // Without a contract it fails too.
        let bare = pair(
            Svc::v2("api-dev").env("STRIPE_KEY", "pk_test_placeholder"),
            Svc::v2("api-prod").secret("STRIPE_KEY", "stripe", Some("latest")),
        )
        .run(&CHECK);
        bare.one(
            Status::Fail,
            "`STRIPE_KEY` is a literal in dev but a secret in prod",
        );
    }

    #[test]
    fn a_literal_that_looks_like_a_credential_fails_without_being_shown() {
        let leaked = "sk_live_51HxYzAbCdEfGhIjKlMnOp";
        let url = "postgres://app:hunter2hunter2@10.0.0.3/app";
        let found = pair(
            Svc::v2("api-dev")
                .env("STRIPE_SECRET_KEY", leaked)
                .env("DATABASE_URL", url),
            Svc::v2("api-prod")
                .secret("STRIPE_SECRET_KEY", "stripe", Some("latest"))
                .secret("DATABASE_URL", "db-url", Some("latest")),
        )
        .contract(&contract(""))
        .run(&CHECK);
        let f = found.one(
            Status::Fail,
            "`STRIPE_SECRET_KEY` in dev (api-dev) is a literal that looks like a credential",
        );
        assert_eq!(f.subject.as_deref(), Some("literal_secret"));
        assert!(names_key(f, "STRIPE_SECRET_KEY"));
        found.one(
            Status::Fail,
            "`DATABASE_URL` in dev (api-dev) is a literal that looks like a credential",
        );
        let shown = format!("{found:?}{found}");
        assert!(
            !shown.contains(leaked),
            "a credential leaked into the findings"
        );
        assert!(
            !shown.contains("hunter2"),
            "a password leaked into the findings"
        );
        // Nor does the model keep it.
        let model = Scenario::new([
            Env::new("dev").service(Svc::v2("api-dev").env("STRIPE_SECRET_KEY", leaked))
        ])
        .model("dev");
        assert!(!format!("{model:?}").contains(leaked));
    }

    #[test]
    fn a_credential_in_the_reference_is_reported_once_however_many_environments() {
        let text = "environment \"dev\" {}\nenvironment \"staging\" {}\nenvironment \"prod\" {}\nnaming {\n  patterns = { dev = \"{role}-dev\", staging = \"{role}-staging\", prod = \"{role}-prod\" }\n}\n";
        let found = Scenario::new([
            Env::new("dev").service(Svc::v2("api-dev").env("JWT_SECRET", "s3cr3t-value-1234")),
            Env::new("staging")
                .service(Svc::v2("api-staging").env("JWT_SECRET", "s3cr3t-value-5678")),
            Env::new("prod").service(Svc::v2("api-prod").secret(
                "JWT_SECRET",
                "jwt",
                Some("latest"),
            )),
        ])
        .contract(text)
        .run(&CHECK);
        found.one(
            Status::Fail,
            "`JWT_SECRET` in dev (api-dev) is a literal that looks like a credential",
        );
        found.one(
            Status::Fail,
            "`JWT_SECRET` in staging (api-staging) is a literal",
        );
        found.one(Status::Fail, "is a literal in dev but a secret in prod");
    }

    #[test]
    fn a_credential_in_a_service_without_a_counterpart_fails() {
        let text = contract(
            "role \"approvals\" {\n  services = { dev = \"jualuma-approvals\" }\n  only_in  = [\"dev\"]\n  reason   = \"Internal tool.\"\n}\n",
        );
        let found = Scenario::new([
            Env::new("dev")
                .service(
                    Svc::v2("jualuma-approvals").env("SLACK_TOKEN", "xoxb-1234567890-abcdefghijkl"),
                )
                .service(Svc::v2("stray").env("API_KEY", "AIzaSyA1234567890abcdefghij")),
            Env::new("prod"),
        ])
        .contract(&text)
        .run(&CHECK);
        let f = found.one(
            Status::Fail,
            "role `approvals`: `SLACK_TOKEN` in dev (jualuma-approvals)",
        );
        assert!(has_evidence(
            f,
            "dev",
            "google_cloud_run_v2_service.jualuma_approvals",
            None
        ));
        let f = found.one(Status::Fail, "`API_KEY` in dev (stray) is a literal");
        assert_eq!(f.role, None);
        assert!(!format!("{found:?}").contains("xoxb-1234567890"));
    }

    #[test]
    fn a_literal_the_plan_marks_sensitive_counts_as_a_credential() {
        let found = pair(
            Svc::v2("api-dev").env_sensitive("SESSION_KEY", "correct horse battery staple"),
            Svc::v2("api-prod").secret("SESSION_KEY", "session", Some("latest")),
        )
        .contract(&contract(""))
        .run(&CHECK);
        found.one(
            Status::Fail,
            "`SESSION_KEY` in dev (api-dev) is a literal that looks like a credential",
        );
        assert!(!format!("{found:?}").contains("battery"));
    }

    #[test]
    fn latest_against_a_pinned_version_needs_review() {
        let found = pair(
            Svc::v2("api-dev").secret("DATABASE_URL", "db-url", Some("latest")),
            Svc::v2("api-prod").secret("DATABASE_URL", "db-url", Some("3")),
        )
        .contract(&contract(""))
        .run(&CHECK);
        let f = found.one(
            Status::ReviewRequired,
            "reads version `latest` in dev but `3` in prod",
        );
        assert_eq!(f.subject.as_deref(), Some("secret_version"));
        assert_eq!(found.verdict(), Status::ReviewRequired);
        // An unwritten version is `latest`; two pinned versions are both pinned.
        let unwritten = pair(
            Svc::v2("api-dev").secret("DATABASE_URL", "db-url", None),
            Svc::v2("api-prod").secret("DATABASE_URL", "db-url", Some("7")),
        )
        .contract(&contract(""))
        .run(&CHECK);
        unwritten.one(
            Status::ReviewRequired,
            "version `latest` in dev but `7` in prod",
        );
        let pinned = pair(
            Svc::v2("api-dev").secret("DATABASE_URL", "db-url", Some("2")),
            Svc::v2("api-prod").secret("DATABASE_URL", "db-url", Some("5")),
        )
        .contract(&contract(""))
        .run(&CHECK);
        assert_eq!(pinned.verdict(), Status::Pass, "{pinned}");
    }

    #[test]
    fn declared_differences_are_intentional() {
        let rules = r#"
intentional_difference "dev-stripe-test-key" {
  check        = "secret_refs"
  attribute    = "secret_kind"
  keys         = ["STRIPE_KEY"]
  values       = { dev = "literal", prod = "secret" }
  reason       = "Dev uses Stripe's publishable test key."
}
intentional_difference "dev-fixture-token" {
  check        = "secret_refs"
  attribute    = "literal_secret"
  keys         = ["FIXTURE_TOKEN"]
  environments = ["dev"]
  reason       = "A throwaway token for the dev fixtures."
  expires      = "2027-01-01"
}
"#;
        let scenario = || {
            pair(
                Svc::v2("api-dev")
                    .env("STRIPE_KEY", "pk_test_placeholder")
                    .env("FIXTURE_TOKEN", "tok_dev_fixture_0001"),
                Svc::v2("api-prod").secret("STRIPE_KEY", "stripe", Some("latest")),
            )
            .contract(&contract(rules))
        };
        let found = scenario().run(&CHECK);
        found.none(Status::Fail);
        found.one(Status::IntentionalDiff, "publishable test key");
        found.one(Status::IntentionalDiff, "throwaway token");
        let later = scenario().today("2027-01-02").run(&CHECK);
        later.one(Status::Fail, "expired on 2027-01-01");
        // Declared with other values: a secret in dev and a literal in prod is not what was said.
        let reversed = pair(
            Svc::v2("api-dev").secret("STRIPE_KEY", "stripe", Some("latest")),
            Svc::v2("api-prod").env("STRIPE_KEY", "pk_test_placeholder"),
        )
        .contract(&contract(rules))
        .run(&CHECK);
        reversed.one(
            Status::Fail,
            "differs from the intentional difference `dev-stripe-test-key`",
        );
    }

    #[test]
    fn renamed_keys_are_compared_under_their_names() {
        for roles in ["[\"api\"]", "[\"*\"]"] {
            let rename = format!(
                "env_key_rename {{\n  roles = {roles}\n  keys  = {{ dev = \"DB_URL\", prod = \"DATABASE_URL\" }}\n}}\n"
            );
            let found = pair(
                Svc::v2("api-dev").secret("DB_URL", "db-url", Some("latest")),
                Svc::v2("api-prod").env("DATABASE_URL", "postgres://10.0.0.3/app"),
            )
            .contract(&contract(&rename))
            .run(&CHECK);
            let f = found.one(
                Status::Fail,
                "`DB_URL`/`DATABASE_URL` is a secret in dev but a literal in prod",
            );
            assert!(names_key(f, "DATABASE_URL"), "{found}");
        }
    }
}
