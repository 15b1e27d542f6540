//! `tfparity inventory`: each environment's services and their normalised model. Unknown
//! values show as unknown; env var values never appear (the model does not hold them).

use std::fmt::Write;

use serde::Serialize;

use crate::model::quantity::{format_cpu, format_memory};
use crate::model::{EnvModel, EnvValue, Field, Setting};

fn show<T>(f: &Field<T>, fmt: impl Fn(&T) -> String) -> String {
    match &f.setting {
        Setting::Set(v) => fmt(v),
        Setting::Default(v) => format!("{} (default)", fmt(v)),
        Setting::Unknown => "(known after apply)".to_string(),
    }
}

pub fn table(models: &[&EnvModel]) -> String {
    let mut out = String::new();
    for m in models {
        let _ = writeln!(out, "{} — {} service(s)", m.name, m.services.len());
        for s in &m.services {
            let _ = writeln!(out, "  {} ({}, {})", s.name, s.kind.as_str(), s.address);
            let mut rows: Vec<(String, String)> = Vec::new();
            if let Some(i) = &s.ingress {
                rows.push(("ingress".into(), show(i, |v| v.as_str().to_string())));
            }
            if let Some(e) = &s.exposure {
                rows.push(("exposure".into(), show(e, |v| v.as_str().to_string())));
            }
            rows.push((
                "service account".into(),
                show(&s.service_account, |v| v.describe()),
            ));
            for (i, c) in s.containers.iter().enumerate() {
                let label = c.name.clone().unwrap_or_else(|| format!("container {i}"));
                rows.push((format!("{label} cpu"), show(&c.cpu, |v| format_cpu(*v))));
                rows.push((
                    format!("{label} memory"),
                    show(&c.memory, |v| format_memory(*v)),
                ));
                rows.push((
                    format!("{label} env"),
                    show(&c.env, |env| {
                        if env.is_empty() {
                            return "none".into();
                        }
                        env.iter()
                            .map(|(k, v)| match &v.value {
                                EnvValue::Literal {
                                    looks_like_secret: true,
                                } => format!("{k} (literal, looks like a secret)"),
                                EnvValue::Literal { .. } => format!("{k} (literal)"),
                                EnvValue::Secret { secret, version } => format!(
                                    "{k} (secret {}:{})",
                                    secret.as_deref().unwrap_or("?"),
                                    version.as_deref().unwrap_or("latest")
                                ),
                                EnvValue::Unknown => format!("{k} (known after apply)"),
                            })
                            .collect::<Vec<_>>()
                            .join(", ")
                    }),
                ));
            }
            if let Some(sc) = &s.scaling {
                rows.push((
                    "min instances".into(),
                    show(&sc.min_instances, u64::to_string),
                ));
                rows.push((
                    "max instances".into(),
                    show(&sc.max_instances, u64::to_string),
                ));
            }
            rows.push((
                "vpc connector".into(),
                show(&s.vpc_access.connector, |v| {
                    v.clone().unwrap_or_else(|| "none".into())
                }),
            ));
            rows.push((
                "direct vpc".into(),
                show(&s.vpc_access.direct_vpc, |v| {
                    v.clone().unwrap_or_else(|| "none".into())
                }),
            ));
            rows.push((
                "cloud sql".into(),
                show(&s.cloud_sql, |v| {
                    if v.is_empty() {
                        "none".into()
                    } else {
                        v.join(", ")
                    }
                }),
            ));
            rows.push((
                "domains".into(),
                show(&s.domains, |v| {
                    if v.is_empty() {
                        "none (run.app)".into()
                    } else {
                        v.iter()
                            .map(|d| d.host.clone())
                            .collect::<Vec<_>>()
                            .join(", ")
                    }
                }),
            ));
            rows.push((
                "invokers".into(),
                show(&s.invokers, |v| {
                    if v.is_empty() {
                        "none".into()
                    } else {
                        v.iter()
                            .map(|i| i.member.clone())
                            .collect::<Vec<_>>()
                            .join(", ")
                    }
                }),
            ));
            let width = rows.iter().map(|(k, _)| k.len()).max().unwrap_or(0);
            for (k, v) in rows {
                let _ = writeln!(out, "    {k:width$}  {v}");
            }
        }
        for n in &m.notes {
            let _ = writeln!(out, "  note: {n}");
        }
        let _ = writeln!(out);
    }
    out
}

#[derive(Serialize)]
struct Doc<'a> {
    schema_version: &'static str,
    environments: &'a [&'a EnvModel],
}

pub fn json(models: &[&EnvModel]) -> String {
    let mut s = serde_json::to_string_pretty(&Doc {
        schema_version: super::SCHEMA_VERSION,
        environments: models,
    })
    .expect("inventory serialises");
    s.push('\n');
    s
}
