//! A fake `hashicorp/google` provider for tests: the real provider's schemas for the resources
//! tfparity's example and tests use, SDKv2-style planning (what is unknown at plan time is
//! unknown here too), and a made-up apply that talks to no API. Terraform runs against it
//! offline through a `filesystem_mirror` (see fixtures/regenerate.sh).

mod plan;
mod schema;

use std::collections::HashMap;
use std::sync::{Arc, Mutex};

use async_trait::async_trait;
use rmpv::Value;
use tf_provider::schema::Schema;
use tf_provider::RawValue;
use tf_provider::{
    serve_dynamic, AttributePath, Diagnostics, DynamicDataSource, DynamicProvider, DynamicResource,
};

use plan::{get, get_str, is_unknown, set, ProviderConfig};
use schema::Block;

/// The listings of `schemas/`, by resource type.
const RESOURCES: &[(&str, &str)] = &[
    (
        "cloud_run_domain_mapping",
        include_str!("../schemas/google_cloud_run_domain_mapping.txt"),
    ),
    (
        "cloud_run_service",
        include_str!("../schemas/google_cloud_run_service.txt"),
    ),
    (
        "cloud_run_service_iam_member",
        include_str!("../schemas/google_cloud_run_service_iam_member.txt"),
    ),
    (
        "cloud_run_v2_job",
        include_str!("../schemas/google_cloud_run_v2_job.txt"),
    ),
    (
        "cloud_run_v2_job_iam_member",
        include_str!("../schemas/google_cloud_run_v2_job_iam_member.txt"),
    ),
    (
        "cloud_run_v2_service",
        include_str!("../schemas/google_cloud_run_v2_service.txt"),
    ),
    (
        "cloud_run_v2_service_iam_member",
        include_str!("../schemas/google_cloud_run_v2_service_iam_member.txt"),
    ),
    (
        "compute_backend_service",
        include_str!("../schemas/google_compute_backend_service.txt"),
    ),
    (
        "compute_global_address",
        include_str!("../schemas/google_compute_global_address.txt"),
    ),
    (
        "compute_global_forwarding_rule",
        include_str!("../schemas/google_compute_global_forwarding_rule.txt"),
    ),
    (
        "compute_managed_ssl_certificate",
        include_str!("../schemas/google_compute_managed_ssl_certificate.txt"),
    ),
    (
        "compute_region_network_endpoint_group",
        include_str!("../schemas/google_compute_region_network_endpoint_group.txt"),
    ),
    (
        "compute_target_https_proxy",
        include_str!("../schemas/google_compute_target_https_proxy.txt"),
    ),
    (
        "compute_url_map",
        include_str!("../schemas/google_compute_url_map.txt"),
    ),
    (
        "project_iam_member",
        include_str!("../schemas/google_project_iam_member.txt"),
    ),
    (
        "secret_manager_secret",
        include_str!("../schemas/google_secret_manager_secret.txt"),
    ),
    (
        "secret_manager_secret_iam_member",
        include_str!("../schemas/google_secret_manager_secret_iam_member.txt"),
    ),
    (
        "secret_manager_secret_version",
        include_str!("../schemas/google_secret_manager_secret_version.txt"),
    ),
    (
        "service_account",
        include_str!("../schemas/google_service_account.txt"),
    ),
    (
        "sql_database_instance",
        include_str!("../schemas/google_sql_database_instance.txt"),
    ),
    (
        "vpc_access_connector",
        include_str!("../schemas/google_vpc_access_connector.txt"),
    ),
];

const DATA_SOURCES: &[(&str, &str)] = &[
    (
        "client_config",
        include_str!("../schemas/data/google_client_config.txt"),
    ),
    (
        "compute_default_service_account",
        include_str!("../schemas/data/google_compute_default_service_account.txt"),
    ),
    (
        "project",
        include_str!("../schemas/data/google_project.txt"),
    ),
];

type Shared = Arc<Mutex<ProviderConfig>>;

fn decode(diags: &mut Diagnostics, raw: &RawValue) -> Option<Value> {
    match raw {
        RawValue::MessagePack(bytes) => {
            if bytes.is_empty() {
                return Some(Value::Nil);
            }
            match rmpv::decode::read_value(&mut bytes.as_slice()) {
                Ok(v) => Some(v),
                Err(e) => {
                    diags.root_error_short(format!("cannot decode a value: {e}"));
                    None
                }
            }
        }
        RawValue::Json(_) => {
            diags.root_error_short("the fake google provider reads MessagePack values only");
            None
        }
    }
}

fn encode(diags: &mut Diagnostics, v: &Value) -> Option<RawValue> {
    let mut out = Vec::new();
    match rmpv::encode::write_value(&mut out, v) {
        Ok(()) => Some(RawValue::MessagePack(out)),
        Err(e) => {
            diags.root_error_short(format!("cannot encode a value: {e}"));
            None
        }
    }
}

struct FakeResource {
    rtype: String,
    block: Block,
    config: Shared,
}

#[async_trait]
impl DynamicResource for FakeResource {
    fn schema(&self, _diags: &mut Diagnostics) -> Option<Schema> {
        Some(self.block.to_schema())
    }

    async fn read(
        &self,
        _diags: &mut Diagnostics,
        state: RawValue,
        private_state: Vec<u8>,
        _provider_meta_state: RawValue,
    ) -> Option<(RawValue, Vec<u8>)> {
        Some((state, private_state))
    }

    async fn plan_create(
        &self,
        diags: &mut Diagnostics,
        proposed_state: RawValue,
        _config_state: RawValue,
        _provider_meta_state: RawValue,
    ) -> Option<(RawValue, Vec<u8>)> {
        let mut v = decode(diags, &proposed_state)?;
        plan::plan_create(&self.block, &mut v);
        let cfg = self.config.lock().expect("config lock").clone();
        plan::customize(&self.rtype, &self.block, &mut v, &cfg);
        Some((encode(diags, &v)?, Vec::new()))
    }

    async fn plan_update(
        &self,
        _diags: &mut Diagnostics,
        _prior_state: RawValue,
        proposed_state: RawValue,
        _config_state: RawValue,
        prior_private_state: Vec<u8>,
        _provider_meta_state: RawValue,
    ) -> Option<(RawValue, Vec<u8>, Vec<AttributePath>)> {
        Some((proposed_state, prior_private_state, Vec::new()))
    }

    async fn plan_destroy(
        &self,
        _diags: &mut Diagnostics,
        _prior_state: RawValue,
        prior_private_state: Vec<u8>,
        _provider_meta_state: RawValue,
    ) -> Option<Vec<u8>> {
        Some(prior_private_state)
    }

    async fn create(
        &self,
        diags: &mut Diagnostics,
        planned_state: RawValue,
        _config_state: RawValue,
        planned_private_state: Vec<u8>,
        _provider_meta_state: RawValue,
    ) -> Option<(RawValue, Vec<u8>)> {
        let mut v = decode(diags, &planned_state)?;
        plan::fill_unknown(&self.block, &mut v, "");
        if let Some(name) = get_str(&v, "name").map(str::to_string) {
            set(&mut v, "id", Value::from(name));
        }
        Some((encode(diags, &v)?, planned_private_state))
    }

    async fn update(
        &self,
        diags: &mut Diagnostics,
        _prior_state: RawValue,
        planned_state: RawValue,
        _config_state: RawValue,
        planned_private_state: Vec<u8>,
        _provider_meta_state: RawValue,
    ) -> Option<(RawValue, Vec<u8>)> {
        let mut v = decode(diags, &planned_state)?;
        plan::fill_unknown(&self.block, &mut v, "");
        Some((encode(diags, &v)?, planned_private_state))
    }

    async fn destroy(
        &self,
        _diags: &mut Diagnostics,
        _prior_state: RawValue,
        _planned_private_state: Vec<u8>,
        _provider_meta_state: RawValue,
    ) -> Option<()> {
        Some(())
    }
}

struct FakeDataSource {
    dtype: String,
    block: Block,
    config: Shared,
}

/// The project number of a project id: from `FAKE_GOOGLE_PROJECT_NUMBERS`
/// (`id=number,id=number`), else a made-up but stable one.
fn project_number(project: &str) -> String {
    if let Ok(table) = std::env::var("FAKE_GOOGLE_PROJECT_NUMBERS") {
        for pair in table.split(',') {
            if let Some((id, number)) = pair.trim().split_once('=') {
                if id == project {
                    return number.to_string();
                }
            }
        }
    }
    let mut h: u64 = 1469598103934665603;
    for b in project.bytes() {
        h ^= u64::from(b);
        h = h.wrapping_mul(1099511628211);
    }
    format!("{}", 100_000_000_000 + h % 900_000_000_000)
}

#[async_trait]
impl DynamicDataSource for FakeDataSource {
    fn schema(&self, _diags: &mut Diagnostics) -> Option<Schema> {
        Some(self.block.to_schema())
    }

    async fn read(
        &self,
        diags: &mut Diagnostics,
        config: RawValue,
        _provider_meta_state: RawValue,
    ) -> Option<RawValue> {
        let mut v = decode(diags, &config)?;
        let cfg = self.config.lock().expect("config lock").clone();
        let project = get_str(&v, "project_id")
            .or_else(|| get_str(&v, "project"))
            .map(str::to_string)
            .or(cfg.project.clone())
            .unwrap_or_else(|| "fake-project".into());
        let number = project_number(&project);
        let known: Vec<(&str, String)> = match self.dtype.as_str() {
            "google_project" => vec![
                ("project_id", project.clone()),
                ("number", number.clone()),
                ("name", project.clone()),
                ("id", format!("projects/{project}")),
            ],
            "google_client_config" => vec![
                ("project", project.clone()),
                ("region", cfg.region.clone().unwrap_or_default()),
                ("zone", cfg.zone.clone().unwrap_or_default()),
                ("access_token", "fake-access-token".into()),
                (
                    "id",
                    format!(
                        "projects/{project}/regions/{}/zones/{}",
                        cfg.region.clone().unwrap_or_default(),
                        cfg.zone.clone().unwrap_or_default()
                    ),
                ),
            ],
            "google_compute_default_service_account" => {
                let email = format!("{number}-compute@developer.gserviceaccount.com");
                vec![
                    ("project", project.clone()),
                    ("member", format!("serviceAccount:{email}")),
                    (
                        "name",
                        format!("projects/{project}/serviceAccounts/{email}"),
                    ),
                    (
                        "display_name",
                        "Compute Engine default service account".into(),
                    ),
                    ("unique_id", number.clone()),
                    ("id", format!("projects/{project}/serviceAccounts/{email}")),
                    ("email", email),
                ]
            }
            _ => Vec::new(),
        };
        for (k, val) in known {
            if get(&v, k).is_none_or(|x| x.is_nil() || is_unknown(x)) {
                set(&mut v, k, Value::from(val));
            }
        }
        plan::fill_unknown(&self.block, &mut v, "");
        for (name, attr) in &self.block.attrs {
            if get(&v, name).is_none_or(Value::is_nil) && attr.computed {
                let empty = match attr.ty {
                    schema::Ty::Map(_) => Value::Map(Vec::new()),
                    schema::Ty::List(_) | schema::Ty::Set(_) => Value::Array(Vec::new()),
                    schema::Ty::Bool => Value::from(false),
                    _ => Value::from(""),
                };
                set(&mut v, name, empty);
            }
        }
        encode(diags, &v)
    }
}

struct FakeGoogle {
    config: Shared,
}

fn provider_block() -> Block {
    let mut text = String::new();
    for name in [
        "project",
        "region",
        "zone",
        "credentials",
        "access_token",
        "billing_project",
        "impersonate_service_account",
        "request_timeout",
        "request_reason",
        "universe_domain",
        "terraform_attribution_label_addition_strategy",
    ] {
        text.push_str(&format!("{name} String OPT\n"));
    }
    text.push_str("user_project_override Bool OPT\n");
    text.push_str("add_terraform_attribution_label Bool OPT\n");
    text.push_str("scopes List OPT Elem=&schema.Schema{Type: schema.TypeString}\n");
    text.push_str("default_labels Map OPT Elem=&schema.Schema{Type: schema.TypeString}\n");
    let mut b = schema::parse(&text);
    b.attrs.remove("id");
    b
}

#[async_trait]
impl DynamicProvider for FakeGoogle {
    fn schema(&self, _diags: &mut Diagnostics) -> Option<Schema> {
        Some(provider_block().to_schema())
    }

    async fn configure(
        &self,
        diags: &mut Diagnostics,
        _terraform_version: String,
        config: RawValue,
    ) -> Option<()> {
        let v = decode(diags, &config)?;
        let text = |k: &str| get_str(&v, k).filter(|s| !s.is_empty()).map(str::to_string);
        let mut cfg = self.config.lock().expect("config lock");
        cfg.project = text("project");
        cfg.region = text("region");
        cfg.zone = text("zone");
        cfg.attribution_label = get(&v, "add_terraform_attribution_label")
            .and_then(Value::as_bool)
            .unwrap_or(true);
        cfg.default_labels = match get(&v, "default_labels") {
            Some(Value::Map(m)) => m
                .iter()
                .filter_map(|(k, v)| Some((k.as_str()?.to_string(), v.as_str()?.to_string())))
                .collect(),
            _ => Vec::new(),
        };
        Some(())
    }

    fn get_resources(
        &self,
        _diags: &mut Diagnostics,
    ) -> Option<HashMap<String, Box<dyn DynamicResource>>> {
        Some(
            RESOURCES
                .iter()
                .map(|(name, text)| {
                    let r: Box<dyn DynamicResource> = Box::new(FakeResource {
                        rtype: format!("google_{name}"),
                        block: schema::parse(text),
                        config: self.config.clone(),
                    });
                    (name.to_string(), r)
                })
                .collect(),
        )
    }

    fn get_data_sources(
        &self,
        _diags: &mut Diagnostics,
    ) -> Option<HashMap<String, Box<dyn DynamicDataSource>>> {
        Some(
            DATA_SOURCES
                .iter()
                .map(|(name, text)| {
                    let d: Box<dyn DynamicDataSource> = Box::new(FakeDataSource {
                        dtype: format!("google_{name}"),
                        block: schema::parse(text),
                        config: self.config.clone(),
                    });
                    (name.to_string(), d)
                })
                .collect(),
        )
    }
}

#[tokio::main(flavor = "current_thread")]
async fn main() -> anyhow::Result<()> {
    let provider = FakeGoogle {
        config: Arc::new(Mutex::new(ProviderConfig::default())),
    };
    serve_dynamic("google".into(), Box::new(provider)).await
}
