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
                let mut pairs: Vec<(String, String)> = ka
                    .keys()
                    .filter(|k| kb.contains_key(*k))
                    .map(|k| (k.clone(), k.clone()))
                    .collect();
                for r in &ctx.contract.key_renames {
                    if !(r.roles.is_empty() || r.roles.contains(&role.name)) {
                        continue;
                    }
                    if let (Some(f), Some(t)) = (r.keys.get(&reference), r.keys.get(&env.name))
                        && ka.contains_key(f)
                        && kb.contains_key(t)
                    {
                        pairs.push((f.clone(), t.clone()));
                    }
                }
                let mut secrets_both: Vec<String> = Vec::new();
                let mut problems = 0;
                for (ka_key, kb_key) in &pairs {
                    let (va, vb) = (&ka[ka_key], &kb[kb_key]);
                    let shown = if ka_key == kb_key {
                        format!("`{ka_key}`")
                    } else {
                        format!("`{ka_key}`/`{kb_key}`")
                    };
                    let keys = vec![ka_key.clone(), kb_key.clone()];
                    match (kind(va), kind(vb)) {
                        ("unknown", _) | (_, "unknown") => {
                            problems += 1;
                            out.push(
                                Finding::new(Status::ReviewRequired, format!("role `{}`{suffix}: whether {shown} is a secret reference is known only after apply", role.name))
                                    .role(&role.name).envs([reference.as_str(), env.name.as_str()]).subject("secret_kind")
                                    .evidence(ev_a.clone().keys([ka_key.clone()])).evidence(ev_b.clone().keys([kb_key.clone()])),
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
                                    &Diff::new(&CHECK, Some(&role.name), &env.name, "secret_kind").values(actual).keys(keys.clone()), ctx.undeclared(true),
                                    format!("role `{}`{suffix}: {shown} is a {x} in {reference} but a {y} in {}", role.name, env.name),
                                )
                                .evidence(ev_a.clone().keys([ka_key.clone()]).value(x))
                                .evidence(ev_b.clone().keys([kb_key.clone()]).value(y)),
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
                                        &Diff::new(&CHECK, Some(&role.name), &env.name, "secret_version").values(actual).keys(keys.clone()), Status::ReviewRequired,
                                        format!("role `{}`{suffix}: {shown} reads version `{pa}` in {reference} but `{pb}` in {}", role.name, env.name),
                                    )
                                    .evidence(ev_a.clone().keys([ka_key.clone()]).value(pa))
                                    .evidence(ev_b.clone().keys([kb_key.clone()]).value(pb)),
                                );
                            } else {
                                secrets_both.push(ka_key.clone());
                            }
                        }
                        _ => {}
                    }
                }
                // Literals that look like credentials, in either environment.
                for (env_name, svc, vars, ev) in
                    [(&reference, a, ka, &ev_a), (&env.name, b, kb, &ev_b)]
                {
                    for (k, v) in vars {
                        if let EnvValue::Literal {
                            looks_like_secret: true,
                        } = v.value
                        {
                            problems += 1;
                            let msg = format!(
                                "role `{}`{suffix}: `{k}` in {env_name} ({}) is a literal that looks like a credential (value not shown)",
                                role.name, svc.name
                            );
                            let f = Finding::new(Status::Fail, msg)
                                .role(&role.name)
                                .envs([env_name.as_str()])
                                .subject("literal_secret")
                                .evidence(ev.clone().keys([k.clone()]));
                            out.push(
                                ctx.judge(
                                    &Diff::new(
                                        &CHECK,
                                        Some(&role.name),
                                        env_name,
                                        "literal_secret",
                                    )
                                    .keys(vec![k.clone()]),
                                    f,
                                ),
                            );
                        }
                    }
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
