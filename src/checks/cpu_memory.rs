//! Item 5: CPU and memory limits and scaling match across environments, or follow the
//! contract's profile rules (equal, or at least the reference), or differ as declared.

use std::collections::BTreeMap;

use super::{CheckDef, CheckKind, Ctx, Diff, container_pairs, service_evidence};
use crate::finding::{Finding, Status};
use crate::model::quantity::{format_cpu, format_memory, parse_cpu, parse_memory};
use crate::model::{Field, Service};

pub static CHECK: CheckDef = CheckDef {
    number: 5,
    id: "PAR005",
    name: "cpu_memory",
    title: "CPU/memory profile reviewed",
    kind: CheckKind::Parity,
    impact: 2,
    attributes: &["cpu", "memory", "min_instances", "max_instances"],
    docs: DOCS,
    run,
    fix,
};

const DOCS: &str = "\
## What it checks
Per role and container: the CPU limit (`\"1\"` = `\"1000m\"`), the memory limit (`\"512Mi\"` = \
`\"0.5Gi\"`, while `\"512M\"` is 512 000 000 bytes), and the minimum and maximum instance \
counts. Unset limits take Cloud Run's defaults (1 vCPU, 512 MiB; 0 to 100 instances). Each \
attribute must be equal across environments unless the contract's `profile` block says other \
environments must be at least the reference (`at_least_reference`), ignores it, or an \
intentional difference declares it.

## Why it matters
A memory limit four times smaller in prod than in dev turns a passing load test into an \
out-of-memory restart loop; a scale-to-zero prod adds cold starts nobody measured.

## Example
`user-app` has 2Gi in dev and 512Mi in prod: FAIL, unless declared.

## How to fix
Set `resources { limits = { cpu = ..., memory = ... } }` and the scaling block the same way, \
or declare the difference.

## Declaring an intentional difference
```hcl
profile {
  at_least_reference = [\"min_instances\", \"max_instances\"]
}
intentional_difference \"frontends-small-in-prod\" {
  check     = \"cpu_memory\"
  roles     = [\"user-app\", \"marketing\", \"support\"]
  attribute = \"memory\"
  values    = { dev = \"2Gi\", prod = \"512Mi\" }
  reason    = \"Static front ends; dev runs source maps and the dev server.\"
}
```
";

fn same_cpu(a: &str, b: &str) -> bool {
    parse_cpu(a).is_some() && parse_cpu(a) == parse_cpu(b)
}

fn same_memory(a: &str, b: &str) -> bool {
    parse_memory(a).is_some() && parse_memory(a) == parse_memory(b)
}

struct Measure<'s> {
    attribute: &'static str,
    a: &'s Field<u64>,
    b: &'s Field<u64>,
    format: fn(u64) -> String,
    same: fn(&str, &str) -> bool,
    label: String,
}

fn measures<'s>(a: &'s Service, b: &'s Service) -> Vec<Measure<'s>> {
    let mut out = Vec::new();
    for (ca, cb, label) in container_pairs(a, b) {
        out.push(Measure {
            attribute: "cpu",
            a: &ca.cpu,
            b: &cb.cpu,
            format: format_cpu,
            same: same_cpu,
            label: label.clone(),
        });
        out.push(Measure {
            attribute: "memory",
            a: &ca.memory,
            b: &cb.memory,
            format: format_memory,
            same: same_memory,
            label,
        });
    }
    if let (Some(sa), Some(sb)) = (&a.scaling, &b.scaling) {
        let plain = |n: u64| n.to_string();
        out.push(Measure {
            attribute: "min_instances",
            a: &sa.min_instances,
            b: &sb.min_instances,
            format: plain,
            same: super::same_text,
            label: String::new(),
        });
        out.push(Measure {
            attribute: "max_instances",
            a: &sa.max_instances,
            b: &sb.max_instances,
            format: plain,
            same: super::same_text,
            label: String::new(),
        });
    }
    out
}

fn run(ctx: &Ctx<'_>) -> Vec<Finding> {
    let mut out = Vec::new();
    let reference = ctx.reference().name.clone();
    let profile = &ctx.contract.profile;
    for role in &ctx.roles.roles {
        for (a, env, b) in ctx.pairs(role) {
            let mut equal: Vec<String> = Vec::new();
            let mut equal_evidence = Vec::new();
            for m in measures(a, b) {
                if profile.ignore.iter().any(|x| x == m.attribute) {
                    continue;
                }
                let what = if m.label.is_empty() {
                    m.attribute.to_string()
                } else {
                    format!("{} of {}", m.attribute, m.label)
                };
                let ev_a = service_evidence(&reference, a, &m.a.attribute, m.a.span.clone());
                let ev_b = service_evidence(&env.name, b, &m.b.attribute, m.b.span.clone());
                let (Some(&va), Some(&vb)) = (m.a.known(), m.b.known()) else {
                    let (e, f) = if m.a.is_unknown() {
                        (&reference, m.a)
                    } else {
                        (&env.name, m.b)
                    };
                    out.push(
                        Finding::new(
                            Status::ReviewRequired,
                            format!(
                                "role `{}`: {what} in {e} is known only after apply (`{}`)",
                                role.name, f.attribute
                            ),
                        )
                        .role(&role.name)
                        .envs([reference.as_str(), env.name.as_str()])
                        .subject(m.attribute)
                        .evidence(ev_a)
                        .evidence(ev_b),
                    );
                    continue;
                };
                let (fa, fb) = ((m.format)(va), (m.format)(vb));
                let ev_a = ev_a.value(shown(&fa, m.a));
                let ev_b = ev_b.value(shown(&fb, m.b));
                let ordered = profile.at_least_reference.iter().any(|x| x == m.attribute);
                if va == vb || (ordered && vb >= va) {
                    if va == vb {
                        equal.push(format!("{what} {fa}"));
                    } else {
                        equal.push(format!("{what} {fb} in {} ≥ {fa} in {reference}", env.name));
                    }
                    equal_evidence.push(ev_a);
                    equal_evidence.push(ev_b);
                    continue;
                }
                let rule = if ordered {
                    format!(" (the profile requires {} ≥ {reference})", env.name)
                } else {
                    String::new()
                };
                let actual = BTreeMap::from([
                    (reference.clone(), fa.clone()),
                    (env.name.clone(), fb.clone()),
                ]);
                out.push(
                    ctx.difference(
                        &Diff::new(&CHECK, Some(&role.name), &env.name, m.attribute)
                            .values(actual)
                            .same(m.same),
                        ctx.undeclared(false),
                        format!(
                            "role `{}`: {what} is {fa} in {reference} but {fb} in {}{rule}",
                            role.name, env.name
                        ),
                    )
                    .evidence(ev_a)
                    .evidence(ev_b),
                );
            }
            if !equal.is_empty() {
                let mut f = Finding::new(
                    Status::Pass,
                    format!(
                        "role `{}` ({reference} vs {}): {}",
                        role.name,
                        env.name,
                        equal.join(", ")
                    ),
                )
                .role(&role.name)
                .envs([reference.as_str(), env.name.as_str()])
                .subject("profile");
                f.evidence = equal_evidence;
                out.push(f);
            }
        }
    }
    out
}

fn shown(formatted: &str, f: &Field<u64>) -> String {
    if f.is_default() {
        format!("{formatted} (default)")
    } else {
        formatted.to_string()
    }
}

fn fix(fails: &[&Finding]) -> String {
    let items: Vec<String> = fails
        .iter()
        .map(|f| {
            format!(
                "{} {}",
                f.role.as_deref().unwrap_or("?"),
                f.subject.as_deref().unwrap_or("")
            )
        })
        .collect();
    format!(
        "Align {} across environments, or declare the difference (or a `profile` rule) in the contract.",
        items.join(", ")
    )
}

#[cfg(test)]
mod tests {
    use super::CHECK;
    use crate::checks::testkit::{Container, Env, Scenario, Svc, contract, has_evidence};
    use crate::finding::Status;

    fn pair(dev: Svc, prod: Svc) -> Scenario {
        Scenario::new([Env::new("dev").service(dev), Env::new("prod").service(prod)])
    }

    #[test]
    fn quantities_are_compared_by_value_not_spelling() {
        let found = pair(
            Svc::v2("api-dev").cpu("1").memory("512Mi"),
            Svc::v1("api-prod").cpu("1000m").memory("0.5Gi"),
        )
        .contract(&contract(""))
        .run(&CHECK);
        assert_eq!(found.verdict(), Status::Pass, "{found}");
        let f = found.one(Status::Pass, "cpu 1, memory 512Mi");
        assert!(has_evidence(
            f,
            "prod",
            "google_cloud_run_service.api_prod",
            Some("resources.limits.memory")
        ));
    }

    #[test]
    fn unset_limits_are_the_cloud_run_defaults() {
        // Not written, in a create plan (unknown in `after`) and in an existing service (the API
        // filled 1000m / 512Mi): both equal an explicit 1 vCPU / 512Mi.
        let found = Scenario::new([
            Env::new("dev").creating().service(Svc::v2("api-dev")),
            Env::new("prod").service(Svc::v2("api-prod").cpu("1").memory("512Mi")),
        ])
        .contract(&contract(""))
        .run(&CHECK);
        assert_eq!(found.verdict(), Status::Pass, "{found}");
        let existing = pair(Svc::v1("api-dev"), Svc::v2("api-prod"))
            .contract(&contract(""))
            .run(&CHECK);
        assert_eq!(existing.verdict(), Status::Pass, "{existing}");
    }

    #[test]
    fn binary_and_decimal_megabytes_differ() {
        let found = pair(
            Svc::v2("api-dev").memory("512Mi"),
            Svc::v2("api-prod").memory("512M"),
        )
        .contract(&contract(""))
        .run(&CHECK);
        let f = found.one(Status::Fail, "memory is 512Mi in dev but 512M in prod");
        assert_eq!(f.subject.as_deref(), Some("memory"));
        assert_eq!(f.role.as_deref(), Some("api"));
        assert!(has_evidence(
            f,
            "dev",
            "google_cloud_run_v2_service.api_dev",
            Some("resources.limits.memory")
        ));
        assert!(
            f.evidence
                .iter()
                .any(|e| e.value.as_deref() == Some("512M"))
        );
    }

    const FRONTENDS: &str = r#"
intentional_difference "small-in-prod" {
  check     = "cpu_memory"
  roles     = ["web"]
  attribute = "memory"
  values    = { dev = "2Gi", prod = "0.5Gi" }
  reason    = "Static front end; dev runs the dev server."
  expires   = "2027-01-31"
}
"#;

    #[test]
    fn a_declared_difference_is_intentional_in_any_spelling() {
        let found = pair(
            Svc::v2("web-dev").memory("2048Mi"),
            Svc::v2("web-prod").memory("512Mi"),
        )
        .contract(&contract(FRONTENDS))
        .run(&CHECK);
        let f = found.one(Status::IntentionalDiff, "dev runs the dev server");
        assert_eq!(f.subject.as_deref(), Some("memory"));
        assert_eq!(found.verdict(), Status::IntentionalDiff, "{found}");
    }

    #[test]
    fn a_declaration_with_other_values_or_expired_fails() {
        let wrong = pair(
            Svc::v2("web-dev").memory("2Gi"),
            Svc::v2("web-prod").memory("256Mi"),
        )
        .contract(&contract(FRONTENDS))
        .run(&CHECK);
        let f = wrong.one(
            Status::Fail,
            "differs from the intentional difference `small-in-prod`",
        );
        assert!(
            f.message.contains("prod: declared 0.5Gi, found 256Mi"),
            "{}",
            f.message
        );
        let expired = pair(
            Svc::v2("web-dev").memory("2Gi"),
            Svc::v2("web-prod").memory("512Mi"),
        )
        .contract(&contract(FRONTENDS))
        .today("2027-02-01")
        .run(&CHECK);
        expired.one(Status::Fail, "expired on 2027-01-31");
        // The declaration names `web` only: another role with the same gap fails.
        let other_role = pair(
            Svc::v2("api-dev").memory("2Gi"),
            Svc::v2("api-prod").memory("512Mi"),
        )
        .contract(&contract(FRONTENDS))
        .run(&CHECK);
        other_role.one(
            Status::Fail,
            "role `api`: memory is 2Gi in dev but 512Mi in prod",
        );
    }

    #[test]
    fn at_least_reference_orders_instances() {
        let rule = "profile {\n  at_least_reference = [\"min_instances\"]\n}\n";
        let more = pair(
            Svc::v2("api-dev").min_instances(1),
            Svc::v2("api-prod").min_instances(3),
        )
        .contract(&contract(rule))
        .run(&CHECK);
        assert_eq!(more.verdict(), Status::Pass, "{more}");
        more.one(Status::Pass, "min_instances 3 in prod ≥ 1 in dev");
        let fewer = pair(Svc::v1("api-dev").min_instances(1), Svc::v2("api-prod"))
            .contract(&contract(rule))
            .run(&CHECK);
        let f = fewer.one(Status::Fail, "the profile requires prod ≥ dev");
        assert_eq!(f.subject.as_deref(), Some("min_instances"));
        // Without the rule, more instances in prod is a plain difference.
        let plain = pair(
            Svc::v2("api-dev").min_instances(1),
            Svc::v2("api-prod").min_instances(3),
        )
        .contract(&contract(""))
        .run(&CHECK);
        plain.one(Status::Fail, "min_instances is 1 in dev but 3 in prod");
    }

    #[test]
    fn ignored_attributes_are_not_compared() {
        let found = pair(
            Svc::v2("api-dev").max_instances(5),
            Svc::v2("api-prod").max_instances(50),
        )
        .contract(&contract("profile {\n  ignore = [\"max_instances\"]\n}\n"))
        .run(&CHECK);
        found.none(Status::Fail);
        assert!(found.about("max_instances").is_empty(), "{found}");
    }

    #[test]
    fn containers_pair_by_name() {
        let found = pair(
            Svc::v2("api-dev").containers(vec![
                Container::named("app").cpu("2").memory("1Gi"),
                Container::named("proxy").memory("256Mi"),
            ]),
            Svc::v2("api-prod").containers(vec![
                Container::named("proxy").memory("256Mi"),
                Container::named("app").cpu("2000m").memory("2Gi"),
            ]),
        )
        .contract(&contract(""))
        .run(&CHECK);
        let f = found.one(Status::Fail, "memory");
        assert!(f.message.contains("container app"), "{found}");
        assert!(f.message.contains("1Gi in dev but 2Gi in prod"), "{found}");
    }

    #[test]
    fn a_limit_known_only_after_apply_needs_review() {
        let found = pair(
            Svc::v2("api-dev").memory("1Gi"),
            Svc::v2("api-prod").containers(vec![
                Container::default().limits_unknown("terraform_data.sizing.output"),
            ]),
        )
        .contract(&contract(""))
        .run(&CHECK);
        let f = found.one(Status::ReviewRequired, "memory");
        assert!(f.message.contains("prod"), "{found}");
        found.none(Status::Fail);
    }

    #[test]
    fn without_a_contract_a_difference_needs_review() {
        let found = pair(
            Svc::v2("api-dev").memory("2Gi"),
            Svc::v2("api-prod").memory("512Mi"),
        )
        .run(&CHECK);
        found.one(
            Status::ReviewRequired,
            "memory is 2Gi in dev but 512Mi in prod",
        );
        assert_eq!(found.verdict(), Status::ReviewRequired);
    }
}
