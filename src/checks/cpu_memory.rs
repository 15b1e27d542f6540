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
