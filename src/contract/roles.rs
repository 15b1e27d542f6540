//! Resolving roles: which deployed service plays each role in each environment, from the
//! contract's explicit roles, its naming rule, or (without a contract) identical names.

use std::borrow::Borrow;
use std::collections::{BTreeMap, BTreeSet, HashMap};

use super::{Contract, Spanned};
use crate::error::nearest;
use crate::inventory::Span;
use crate::model::EnvModel;
use crate::model::names::strip_env;

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum RoleOrigin {
    /// A `role` block.
    Contract,
    /// The contract's naming patterns.
    Pattern,
    /// Identical names (after removing the environment's name).
    SameName,
}

#[derive(Clone, Debug)]
pub struct Role {
    pub name: String,
    pub origin: RoleOrigin,
    /// Indices into each environment's `services`, by environment name.
    pub services: BTreeMap<String, Vec<usize>>,
    /// Service names the contract declares per environment.
    pub declared: BTreeMap<String, Spanned<String>>,
    pub only_in: Option<Vec<String>>,
    pub reason: Option<String>,
    pub span: Option<Span>,
}

/// A service the contract names that is not deployed.
#[derive(Clone, Debug)]
pub struct MissingService {
    pub role: String,
    pub env: String,
    pub name: String,
    pub span: Option<Span>,
    pub nearest: Option<String>,
}

#[derive(Clone, Debug, Default)]
pub struct RoleMap {
    pub roles: Vec<Role>,
    /// Deployed services in no role, by environment (indices into `services`).
    pub unassigned: BTreeMap<String, Vec<usize>>,
    pub missing: Vec<MissingService>,
    /// Per environment, service index → index into `roles`, so that a lookup (every check
    /// makes one per service) costs neither a copy of the name nor a hash of the index.
    by_service: HashMap<String, Vec<Option<usize>>, foldhash::fast::RandomState>,
}

impl RoleMap {
    pub fn role(&self, name: &str) -> Option<&Role> {
        self.roles.iter().find(|r| r.name == name)
    }

    /// The role a service (by env and index) belongs to.
    pub fn role_of(&self, env: &str, idx: usize) -> Option<&Role> {
        let r = (*self.by_service.get(env)?.get(idx)?)?;
        self.roles.get(r)
    }
}

/// Extracts `{role}` from `name` with a pattern like `jualuma-{role}` or `{role}-prod`.
pub fn match_pattern(pattern: &str, name: &str) -> Option<String> {
    let (prefix, suffix) = pattern.split_once("{role}")?;
    let rest = name.strip_prefix(prefix)?.strip_suffix(suffix)?;
    (!rest.is_empty()).then(|| rest.to_string())
}

pub fn resolve<M: Borrow<EnvModel>>(contract: &Contract, models: &[M]) -> RoleMap {
    let models: &[&EnvModel] = &models.iter().map(Borrow::borrow).collect::<Vec<_>>();
    let mut by_name: HashMap<String, usize> = HashMap::new();
    let mut map = RoleMap::default();
    let mut assigned: BTreeMap<&str, BTreeSet<usize>> = BTreeMap::new();

    for spec in &contract.roles {
        let mut role = Role {
            name: spec.name.clone(),
            origin: RoleOrigin::Contract,
            services: BTreeMap::new(),
            declared: spec.services.clone(),
            only_in: spec.only_in.clone(),
            reason: spec.reason.clone(),
            span: spec.span.clone(),
        };
        for (env, declared) in &spec.services {
            let Some(model) = models.iter().find(|m| &m.name == env) else {
                continue;
            };
            let idx: Vec<usize> = model
                .services
                .iter()
                .enumerate()
                .filter(|(_, s)| s.name == declared.value)
                .map(|(i, _)| i)
                .collect();
            if idx.is_empty() {
                map.missing.push(MissingService {
                    role: spec.name.clone(),
                    env: env.clone(),
                    name: declared.value.clone(),
                    span: declared.span.clone(),
                    nearest: nearest(
                        &declared.value,
                        model.services.iter().map(|s| s.name.as_str()),
                    )
                    .map(str::to_string),
                });
            } else {
                assigned
                    .entry(model.name.as_str())
                    .or_default()
                    .extend(&idx);
                role.services.insert(env.clone(), idx);
            }
        }
        map.roles.push(role);
    }

    if let Some(naming) = &contract.naming {
        for model in models {
            let Some(pattern) = naming.patterns.get(&model.name) else {
                continue;
            };
            for (i, s) in model.services.iter().enumerate() {
                if assigned
                    .get(model.name.as_str())
                    .is_some_and(|a| a.contains(&i))
                {
                    continue;
                }
                let Some(role_name) = match_pattern(&pattern.value, &s.name) else {
                    continue;
                };
                add_to_role(
                    &mut map,
                    &mut by_name,
                    &role_name,
                    RoleOrigin::Pattern,
                    &model.name,
                    i,
                );
                assigned.entry(model.name.as_str()).or_default().insert(i);
            }
        }
    }

    let identical = contract.is_assumed() || contract.naming.as_ref().is_some_and(|n| n.identical);
    if identical {
        for model in models {
            for (i, s) in model.services.iter().enumerate() {
                if assigned
                    .get(model.name.as_str())
                    .is_some_and(|a| a.contains(&i))
                {
                    continue;
                }
                let role_name = strip_env(&s.name, &model.name);
                add_to_role(
                    &mut map,
                    &mut by_name,
                    &role_name,
                    RoleOrigin::SameName,
                    &model.name,
                    i,
                );
                assigned.entry(model.name.as_str()).or_default().insert(i);
            }
        }
    }

    for model in models {
        let taken = assigned.get(model.name.as_str());
        let free: Vec<usize> = (0..model.services.len())
            .filter(|i| !taken.is_some_and(|t| t.contains(i)))
            .collect();
        if !free.is_empty() {
            map.unassigned.insert(model.name.clone(), free);
        }
    }
    for (r, role) in map.roles.iter().enumerate() {
        for (env, idx) in &role.services {
            let slots = map.by_service.entry(env.clone()).or_default();
            for &i in idx {
                if slots.len() <= i {
                    slots.resize(i + 1, None);
                }
                slots[i] = Some(r);
            }
        }
    }
    map
}

fn add_to_role(
    map: &mut RoleMap,
    by_name: &mut HashMap<String, usize>,
    name: &str,
    origin: RoleOrigin,
    env: &str,
    idx: usize,
) {
    if by_name.is_empty() {
        for (i, r) in map.roles.iter().enumerate() {
            by_name.insert(r.name.clone(), i);
        }
    }
    let role = match by_name.get(name) {
        Some(&p) => &mut map.roles[p],
        None => {
            by_name.insert(name.to_string(), map.roles.len());
            map.roles.push(Role {
                name: name.to_string(),
                origin,
                services: BTreeMap::new(),
                declared: BTreeMap::new(),
                only_in: None,
                reason: None,
                span: None,
            });
            map.roles.last_mut().expect("pushed")
        }
    };
    role.services.entry(env.to_string()).or_default().push(idx);
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn patterns_extract_roles() {
        assert_eq!(
            match_pattern("jualuma-{role}", "jualuma-backend"),
            Some("backend".into())
        );
        assert_eq!(match_pattern("{role}-prod", "api-prod"), Some("api".into()));
        assert_eq!(
            match_pattern("{role}", "frontend-app"),
            Some("frontend-app".into())
        );
        assert_eq!(match_pattern("jualuma-{role}", "other"), None);
        assert_eq!(match_pattern("jualuma-{role}", "jualuma-"), None);
    }
}
