//! Reading `parity.hcl`. The file is parsed once with hcl-edit so every value keeps its place;
//! values are literals evaluated with hcl-rs. Unknown fields, unknown checks and wrong types
//! are errors naming file, line, column and the nearest valid name.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use hcl_edit::Span as _;
use hcl_edit::structure::{Attribute, Block, Body, Structure};

use super::{
    Contract, Date, DomainStrategy, EnvSpec, IntentionalDiff, KeyOnly, KeyRename, NamingRule,
    PROFILE_ATTRIBUTES, ProfileRules, RoleSpec, SaModel, SaRule, Spanned,
};
use crate::error::{Error, InputError, Result, nearest};
use crate::inventory::{Span, line_col};
use crate::model::Exposure;

/// Reads and validates a contract file.
pub fn read(path: &Path) -> Result<Contract> {
    let bytes = std::fs::read(path).map_err(|e| Error::io(path, e))?;
    let text = String::from_utf8(bytes).map_err(|e| {
        let (line, col) = line_col(e.as_bytes(), e.utf8_error().valid_up_to());
        InputError::new(path, "is not UTF-8 text").at(line, col)
    })?;
    parse(path, &text)
}

/// Parses contract text read from `path` (used for messages and relative paths).
pub fn parse(path: &Path, text: &str) -> Result<Contract> {
    let body: Body = crate::syntax::parse_body(text).map_err(|e| {
        InputError::new(path, format!("is not valid HCL: {}", e.message)).at(e.line, e.column)
    })?;
    let p = Parser {
        path,
        text,
        base: path.parent().map(Path::to_path_buf).unwrap_or_default(),
    };
    p.contract(&body)
}

struct Parser<'a> {
    path: &'a Path,
    text: &'a str,
    base: PathBuf,
}

/// A literal value from the contract.
enum Lit {
    Str(String),
    Bool(bool),
    Num(f64),
    List(Vec<Lit>),
    Map(Vec<(String, Lit)>),
    Null,
}

impl Lit {
    fn kind(&self) -> &'static str {
        match self {
            Lit::Str(_) => "a string",
            Lit::Bool(_) => "a bool",
            Lit::Num(_) => "a number",
            Lit::List(_) => "a list",
            Lit::Map(_) => "an object",
            Lit::Null => "null",
        }
    }
}

fn lit_from(v: hcl::Value) -> Lit {
    match v {
        hcl::Value::Null => Lit::Null,
        hcl::Value::Bool(b) => Lit::Bool(b),
        hcl::Value::Number(n) => Lit::Num(n.as_f64().unwrap_or(f64::NAN)),
        hcl::Value::String(s) => Lit::Str(s),
        hcl::Value::Array(a) => Lit::List(a.into_iter().map(lit_from).collect()),
        hcl::Value::Object(o) => Lit::Map(o.into_iter().map(|(k, v)| (k, lit_from(v))).collect()),
    }
}

const TOP_ATTRS: &[&str] = &["reference"];
const TOP_BLOCKS: &[&str] = &[
    "environment",
    "role",
    "naming",
    "env_key_rename",
    "env_key_only",
    "profile",
    "intentional_difference",
];
const ENV_ATTRS: &[&str] = &["sources", "var_files", "domains", "exposure", "workflows"];
const ENV_BLOCKS: &[&str] = &["service_accounts"];
const SA_ATTRS: &[&str] = &["model", "pattern"];
const ROLE_ATTRS: &[&str] = &["services", "only_in", "reason"];
const NAMING_ATTRS: &[&str] = &["patterns", "identical"];
const RENAME_ATTRS: &[&str] = &["roles", "keys", "reason"];
const ONLY_ATTRS: &[&str] = &["roles", "environment", "keys", "reason"];
const PROFILE_ATTRS: &[&str] = &["at_least_reference", "ignore"];
const DIFF_ATTRS: &[&str] = &[
    "check",
    "roles",
    "environments",
    "attribute",
    "values",
    "keys",
    "reason",
    "owner",
    "expires",
];

impl<'a> Parser<'a> {
    fn span(&self, range: Option<std::ops::Range<usize>>) -> Option<Span> {
        range.map(|r| Span::at_offset(self.path, self.text.as_bytes(), r.start))
    }

    fn err(&self, range: Option<std::ops::Range<usize>>, msg: impl Into<String>) -> Error {
        InputError::new(self.path, msg)
            .at_span(self.span(range).as_ref())
            .into()
    }

    fn value(&self, attr: &Attribute) -> Result<Lit> {
        let expr: hcl::Expression = attr.value.clone().into();
        let ctx = hcl::eval::Context::new();
        match hcl::eval::Evaluate::evaluate(&expr, &ctx) {
            Ok(v) => Ok(lit_from(v)),
            Err(_) => Err(self.err(
                attr.value.span(),
                format!(
                    "`{}` must be a literal value (strings, lists, objects): the contract is not evaluated",
                    attr.key.as_str()
                ),
            )),
        }
    }

    fn string(&self, attr: &Attribute) -> Result<String> {
        match self.value(attr)? {
            Lit::Str(s) => Ok(s),
            other => Err(self.type_err(attr, "a string", &other)),
        }
    }

    fn bool(&self, attr: &Attribute) -> Result<bool> {
        match self.value(attr)? {
            Lit::Bool(b) => Ok(b),
            other => Err(self.type_err(attr, "true or false", &other)),
        }
    }

    fn strings(&self, attr: &Attribute) -> Result<Vec<String>> {
        match self.value(attr)? {
            Lit::List(items) => items
                .into_iter()
                .map(|i| match i {
                    Lit::Str(s) => Ok(s),
                    other => Err(self.type_err(attr, "a list of strings", &other)),
                })
                .collect(),
            Lit::Str(s) => Ok(vec![s]),
            other => Err(self.type_err(attr, "a list of strings", &other)),
        }
    }

    fn string_map(&self, attr: &Attribute) -> Result<BTreeMap<String, String>> {
        match self.value(attr)? {
            Lit::Map(entries) => entries
                .into_iter()
                .map(|(k, v)| match v {
                    Lit::Str(s) => Ok((k, s)),
                    other => Err(self.type_err(attr, "an object of strings", &other)),
                })
                .collect(),
            other => Err(self.type_err(
                attr,
                "an object like { dev = \"...\", prod = \"...\" }",
                &other,
            )),
        }
    }

    fn type_err(&self, attr: &Attribute, want: &str, got: &Lit) -> Error {
        self.err(
            attr.value.span(),
            format!(
                "`{}` must be {want}, found {}",
                attr.key.as_str(),
                got.kind()
            ),
        )
    }

    fn unknown_field(
        &self,
        what: &str,
        name: &str,
        range: Option<std::ops::Range<usize>>,
        allowed: &[&str],
    ) -> Error {
        self.unknown_field_in(what, name, "", range, allowed)
    }

    fn unknown_field_in(
        &self,
        what: &str,
        name: &str,
        context: &str,
        range: Option<std::ops::Range<usize>>,
        allowed: &[&str],
    ) -> Error {
        let place = if context.is_empty() {
            String::new()
        } else {
            format!(" in {context}")
        };
        let mut e = InputError::new(self.path, format!("unknown {what} `{name}`{place}"))
            .at_span(self.span(range).as_ref());
        e = match nearest(name, allowed.iter().copied()) {
            Some(n) => e.help(format!(
                "did you mean `{n}`? (expected one of: {})",
                allowed.join(", ")
            )),
            None => e.help(format!("expected one of: {}", allowed.join(", "))),
        };
        e.into()
    }

    /// Checks a body holds only the given attributes and blocks, once each (blocks may repeat
    /// when `repeat` names them), and returns its attributes by key.
    fn fields<'b>(
        &self,
        body: &'b Body,
        context: &str,
        attrs: &[&str],
        blocks: &[&str],
    ) -> Result<BTreeMap<&'b str, &'b Attribute>> {
        let mut out: BTreeMap<&str, &Attribute> = BTreeMap::new();
        for s in body.iter() {
            match s {
                Structure::Attribute(a) => {
                    let key = a.key.as_str();
                    if !attrs.contains(&key) {
                        let all: Vec<&str> = attrs.iter().chain(blocks).copied().collect();
                        return Err(self.unknown_field_in("field", key, context, a.span(), &all));
                    }
                    if out.insert(key, a).is_some() {
                        return Err(
                            self.err(a.span(), format!("`{key}` is set twice in {context}"))
                        );
                    }
                }
                Structure::Block(b) => {
                    let id = b.ident.as_str();
                    if !blocks.contains(&id) {
                        let all: Vec<&str> = attrs.iter().chain(blocks).copied().collect();
                        return Err(self.unknown_field_in("block", id, context, b.span(), &all));
                    }
                }
            }
        }
        Ok(out)
    }

    fn label(&self, b: &Block, what: &str) -> Result<String> {
        match b.labels.as_slice() {
            [one] => Ok(one.as_str().to_string()),
            _ => Err(self.err(
                b.span(),
                format!("`{what}` takes one label: {what} \"name\" {{ ... }}"),
            )),
        }
    }

    fn no_label(&self, b: &Block) -> Result<()> {
        if b.labels.is_empty() {
            Ok(())
        } else {
            Err(self.err(b.span(), format!("`{}` takes no label", b.ident.as_str())))
        }
    }

    fn paths(&self, list: Vec<String>) -> Vec<PathBuf> {
        list.into_iter().map(|p| self.base.join(p)).collect()
    }

    fn contract(&self, body: &Body) -> Result<Contract> {
        let top = self.fields(body, "the contract", TOP_ATTRS, TOP_BLOCKS)?;
        let mut c = Contract {
            path: Some(self.path.to_path_buf()),
            reference: String::new(),
            environments: Vec::new(),
            naming: None,
            roles: Vec::new(),
            key_renames: Vec::new(),
            key_only: Vec::new(),
            profile: ProfileRules::default(),
            differences: Vec::new(),
            assumptions: Vec::new(),
        };
        let mut profile_seen = false;
        let mut diffs: Vec<&Block> = Vec::new();
        for b in body.blocks() {
            match b.ident.as_str() {
                "environment" => {
                    let env = self.environment(b)?;
                    if c.env(&env.name).is_some() {
                        return Err(self.err(
                            b.span(),
                            format!("environment `{}` is declared twice", env.name),
                        ));
                    }
                    c.environments.push(env);
                }
                "role" => {
                    let role = self.role(b)?;
                    if c.roles.iter().any(|r| r.name == role.name) {
                        return Err(
                            self.err(b.span(), format!("role `{}` is declared twice", role.name))
                        );
                    }
                    c.roles.push(role);
                }
                "naming" => {
                    if c.naming.is_some() {
                        return Err(self.err(b.span(), "`naming` is declared twice"));
                    }
                    c.naming = Some(self.naming(b)?);
                }
                "env_key_rename" => c.key_renames.push(self.rename(b)?),
                "env_key_only" => c.key_only.push(self.only(b)?),
                "profile" => {
                    if profile_seen {
                        return Err(self.err(b.span(), "`profile` is declared twice"));
                    }
                    profile_seen = true;
                    c.profile = self.profile(b)?;
                }
                "intentional_difference" => diffs.push(b),
                _ => unreachable!("checked by fields()"),
            }
        }
        if c.environments.is_empty() {
            return Err(InputError::new(self.path, "declares no `environment` block")
                .help("add environment \"dev\" { sources = [...] } and one for each other environment")
                .into());
        }
        let env_names: Vec<String> = c.environments.iter().map(|e| e.name.clone()).collect();
        c.reference = match top.get("reference") {
            Some(a) => {
                let r = self.string(a)?;
                self.check_env(&r, a, &env_names)?;
                r
            }
            None => env_names[0].clone(),
        };
        for b in diffs {
            c.differences.push(self.difference(b, &env_names)?);
        }
        self.validate(&c, &env_names)?;
        Ok(c)
    }

    fn check_env(&self, name: &str, attr: &Attribute, envs: &[String]) -> Result<()> {
        if envs.iter().any(|e| e == name) || name == "*" {
            return Ok(());
        }
        Err(self.unknown_field(
            "environment",
            name,
            attr.value.span(),
            &envs.iter().map(String::as_str).collect::<Vec<_>>(),
        ))
    }

    fn environment(&self, b: &Block) -> Result<EnvSpec> {
        let name = self.label(b, "environment")?;
        let f = self.fields(
            &b.body,
            &format!("environment \"{name}\""),
            ENV_ATTRS,
            ENV_BLOCKS,
        )?;
        let mut env = EnvSpec::named(&name);
        env.span = self.span(b.span());
        if let Some(a) = f.get("sources") {
            env.sources = self.paths(self.strings(a)?);
        }
        if let Some(a) = f.get("var_files") {
            env.var_files = self.paths(self.strings(a)?);
        }
        if let Some(a) = f.get("domains") {
            let s = self.string(a)?;
            let strategy = DomainStrategy::parse(&s).ok_or_else(|| {
                self.unknown_field(
                    "domain strategy",
                    &s,
                    a.value.span(),
                    &DomainStrategy::NAMES,
                )
            })?;
            env.domains = Some(Spanned::new(strategy, self.span(a.span())));
        }
        if let Some(a) = f.get("exposure") {
            let mut list = Vec::new();
            for s in self.strings(a)? {
                list.push(Exposure::parse(&s).ok_or_else(|| {
                    self.unknown_field("exposure", &s, a.value.span(), &Exposure::NAMES)
                })?);
            }
            env.exposure = Some(Spanned::new(list, self.span(a.span())));
        }
        if let Some(a) = f.get("workflows") {
            env.workflows = Some(Spanned::new(
                self.paths(self.strings(a)?),
                self.span(a.span()),
            ));
        }
        for sb in b.body.get_blocks("service_accounts") {
            if env.service_accounts.is_some() {
                return Err(self.err(sb.span(), "`service_accounts` is declared twice"));
            }
            self.no_label(sb)?;
            let sf = self.fields(&sb.body, "service_accounts", SA_ATTRS, &[])?;
            let model = match sf.get("model") {
                Some(a) => match self.string(a)?.as_str() {
                    "dedicated" => SaModel::Dedicated,
                    "any" => SaModel::Any,
                    other => {
                        return Err(self.unknown_field(
                            "service account model",
                            other,
                            a.value.span(),
                            &["dedicated", "any"],
                        ));
                    }
                },
                None => SaModel::Dedicated,
            };
            let pattern = match sf.get("pattern") {
                Some(a) => Some(self.string(a)?),
                None => None,
            };
            env.service_accounts = Some(SaRule {
                model,
                pattern,
                span: self.span(sb.span()),
            });
        }
        Ok(env)
    }

    fn role(&self, b: &Block) -> Result<RoleSpec> {
        let name = self.label(b, "role")?;
        let f = self.fields(&b.body, &format!("role \"{name}\""), ROLE_ATTRS, &[])?;
        let mut services = BTreeMap::new();
        match f.get("services") {
            Some(a) => match self.value(a)? {
                Lit::Map(entries) => {
                    for (env, v) in entries {
                        match v {
                            Lit::Str(s) => {
                                services.insert(env, Spanned::new(s, self.span(a.value.span())));
                            }
                            other => {
                                return Err(self.type_err(a, "an object of service names", &other));
                            }
                        }
                    }
                }
                other => {
                    return Err(self.type_err(
                        a,
                        "an object like { dev = \"api-dev\", prod = \"api\" }",
                        &other,
                    ));
                }
            },
            None => {
                return Err(self.err(
                    b.span(),
                    format!("role `{name}` needs `services = {{ <environment> = \"<service>\" }}`"),
                ));
            }
        }
        // Point each service at its own line when the object spans several.
        if let Some(a) = f.get("services")
            && let hcl_edit::expr::Expression::Object(obj) = &a.value
        {
            for (k, v) in obj.iter() {
                let key = match k {
                    hcl_edit::expr::ObjectKey::Ident(i) => i.as_str().to_string(),
                    hcl_edit::expr::ObjectKey::Expression(hcl_edit::expr::Expression::String(
                        s,
                    )) => s.as_str().to_string(),
                    _ => continue,
                };
                if let Some(entry) = services.get_mut(&key) {
                    entry.span = self.span(v.expr().span()).or(entry.span.take());
                }
            }
        }
        let only_in = match f.get("only_in") {
            Some(a) => Some(self.strings(a)?),
            None => None,
        };
        let reason = match f.get("reason") {
            Some(a) => Some(self.string(a)?),
            None => None,
        };
        if only_in.is_some() && reason.is_none() {
            return Err(self.err(b.span(), format!("role `{name}` has `only_in` but no `reason`: say why it exists in some environments only")));
        }
        Ok(RoleSpec {
            name,
            services,
            only_in,
            reason,
            span: self.span(b.span()),
        })
    }

    fn naming(&self, b: &Block) -> Result<NamingRule> {
        self.no_label(b)?;
        let f = self.fields(&b.body, "naming", NAMING_ATTRS, &[])?;
        let mut patterns = BTreeMap::new();
        if let Some(a) = f.get("patterns") {
            for (env, p) in self.string_map(a)? {
                if !p.contains("{role}") {
                    return Err(self.err(a.value.span(), format!("the naming pattern for `{env}` must contain `{{role}}`, as in \"jualuma-{{role}}\"")));
                }
                patterns.insert(env, Spanned::new(p, self.span(a.value.span())));
            }
        }
        let identical = match f.get("identical") {
            Some(a) => self.bool(a)?,
            None => false,
        };
        Ok(NamingRule {
            patterns,
            identical,
            span: self.span(b.span()),
        })
    }

    fn optional_strings(&self, f: &BTreeMap<&str, &Attribute>, key: &str) -> Result<Vec<String>> {
        match f.get(key) {
            Some(a) => self.strings(a),
            None => Ok(Vec::new()),
        }
    }

    fn optional_string(&self, f: &BTreeMap<&str, &Attribute>, key: &str) -> Result<Option<String>> {
        f.get(key).map(|a| self.string(a)).transpose()
    }

    fn rename(&self, b: &Block) -> Result<KeyRename> {
        self.no_label(b)?;
        let f = self.fields(&b.body, "env_key_rename", RENAME_ATTRS, &[])?;
        let keys = match f.get("keys") {
            Some(a) => self.string_map(a)?,
            None => {
                return Err(self.err(
                    b.span(),
                    "`env_key_rename` needs `keys = { dev = \"OLD\", prod = \"NEW\" }`",
                ));
            }
        };
        Ok(KeyRename {
            roles: self.optional_strings(&f, "roles")?,
            keys,
            reason: self.optional_string(&f, "reason")?,
            span: self.span(b.span()),
        })
    }

    fn only(&self, b: &Block) -> Result<KeyOnly> {
        self.no_label(b)?;
        let f = self.fields(&b.body, "env_key_only", ONLY_ATTRS, &[])?;
        let environment = match f.get("environment") {
            Some(a) => self.string(a)?,
            None => return Err(self.err(b.span(), "`env_key_only` needs `environment`")),
        };
        Ok(KeyOnly {
            roles: self.optional_strings(&f, "roles")?,
            environment,
            keys: self.optional_strings(&f, "keys")?,
            reason: self.optional_string(&f, "reason")?,
            span: self.span(b.span()),
        })
    }

    fn profile(&self, b: &Block) -> Result<ProfileRules> {
        self.no_label(b)?;
        let f = self.fields(&b.body, "profile", PROFILE_ATTRS, &[])?;
        let mut rules = ProfileRules {
            span: self.span(b.span()),
            ..Default::default()
        };
        for (key, target) in [
            ("at_least_reference", &mut rules.at_least_reference),
            ("ignore", &mut rules.ignore),
        ] {
            if let Some(a) = f.get(key) {
                for attr in self.strings(a)? {
                    if !PROFILE_ATTRIBUTES.contains(&attr.as_str()) {
                        return Err(self.unknown_field(
                            "profile attribute",
                            &attr,
                            a.value.span(),
                            &PROFILE_ATTRIBUTES,
                        ));
                    }
                    target.push(attr);
                }
            }
        }
        Ok(rules)
    }

    fn difference(&self, b: &Block, envs: &[String]) -> Result<IntentionalDiff> {
        let name = self.label(b, "intentional_difference")?;
        let f = self.fields(
            &b.body,
            &format!("intentional_difference \"{name}\""),
            DIFF_ATTRS,
            &[],
        )?;
        let Some(check_attr) = f.get("check") else {
            return Err(self.err(
                b.span(),
                format!(
                    "intentional_difference `{name}` needs `check` (one of: {})",
                    crate::checks::names().collect::<Vec<_>>().join(", ")
                ),
            ));
        };
        // A check may be named by name, id or item number.
        let check_name = match self.value(check_attr)? {
            Lit::Str(s) => s,
            Lit::Num(n) if n.fract() == 0.0 && n >= 0.0 => format!("{n}"),
            other => return Err(self.type_err(check_attr, "a check name, id or number", &other)),
        };
        let Some(check) = crate::checks::lookup(&check_name) else {
            let names: Vec<&str> = crate::checks::names().collect();
            return Err(self.unknown_field("check", &check_name, check_attr.value.span(), &names));
        };
        let Some(reason_attr) = f.get("reason") else {
            return Err(self.err(
                b.span(),
                format!("intentional_difference `{name}` needs a `reason`"),
            ));
        };
        let reason = self.string(reason_attr)?;
        if reason.trim().is_empty() {
            return Err(self.err(
                reason_attr.value.span(),
                "`reason` must say why the difference is intended",
            ));
        }
        let attribute = match f.get("attribute") {
            Some(a) => {
                let attr = self.string(a)?;
                let allowed: Vec<&str> = check
                    .attributes
                    .iter()
                    .copied()
                    .chain(["presence"])
                    .collect();
                if !allowed.contains(&attr.as_str()) {
                    return Err(self.unknown_field(
                        &format!("attribute for check `{}`", check.name),
                        &attr,
                        a.value.span(),
                        &allowed,
                    ));
                }
                Some(attr)
            }
            None => None,
        };
        let environments = self.optional_strings(&f, "environments")?;
        if let Some(a) = f.get("environments") {
            for e in &environments {
                self.check_env(e, a, envs)?;
            }
        }
        let values = match f.get("values") {
            Some(a) => {
                let v = self.string_map(a)?;
                for e in v.keys() {
                    self.check_env(e, a, envs)?;
                }
                v
            }
            None => BTreeMap::new(),
        };
        let expires = match f.get("expires") {
            Some(a) => {
                let s = self.string(a)?;
                Some(Date::parse(&s).ok_or_else(|| {
                    self.err(
                        a.value.span(),
                        format!("`expires` must be a date YYYY-MM-DD, found {s:?}"),
                    )
                })?)
            }
            None => None,
        };
        Ok(IntentionalDiff {
            name,
            check: check.id,
            roles: self.optional_strings(&f, "roles")?,
            environments,
            attribute,
            values,
            keys: self.optional_strings(&f, "keys")?,
            reason,
            owner: self.optional_string(&f, "owner")?,
            expires,
            span: self.span(b.span()),
        })
    }

    /// Cross-references: environment names in roles, rules and renames.
    fn validate(&self, c: &Contract, envs: &[String]) -> Result<()> {
        let env_refs = envs.iter().map(String::as_str).collect::<Vec<_>>();
        let bad_env = |name: &str, span: Option<&Span>| -> Error {
            let mut e =
                InputError::new(self.path, format!("unknown environment `{name}`")).at_span(span);
            e = match nearest(name, env_refs.iter().copied()) {
                Some(n) => e.help(format!(
                    "did you mean `{n}`? (environments: {})",
                    env_refs.join(", ")
                )),
                None => e.help(format!("environments: {}", env_refs.join(", "))),
            };
            e.into()
        };
        for r in &c.roles {
            for (env, s) in &r.services {
                if !envs.contains(env) {
                    return Err(bad_env(env, s.span.as_ref().or(r.span.as_ref())));
                }
            }
            for env in r.only_in.iter().flatten() {
                if !envs.contains(env) {
                    return Err(bad_env(env, r.span.as_ref()));
                }
            }
        }
        if let Some(n) = &c.naming {
            for (env, p) in &n.patterns {
                if !envs.contains(env) {
                    return Err(bad_env(env, p.span.as_ref()));
                }
            }
        }
        for r in &c.key_renames {
            for env in r.keys.keys() {
                if !envs.contains(env) {
                    return Err(bad_env(env, r.span.as_ref()));
                }
            }
        }
        for o in &c.key_only {
            if !envs.contains(&o.environment) {
                return Err(bad_env(&o.environment, o.span.as_ref()));
            }
        }
        // Roles named in rules must exist when roles only come from `role` blocks.
        if c.naming.is_none() {
            let roles: Vec<&str> = c.roles.iter().map(|r| r.name.as_str()).collect();
            let check_roles = |list: &[String], span: Option<&Span>| -> Result<()> {
                for r in list {
                    if r != "*" && !roles.contains(&r.as_str()) {
                        let mut e =
                            InputError::new(self.path, format!("unknown role `{r}`")).at_span(span);
                        if let Some(n) = nearest(r, roles.iter().copied()) {
                            e = e.help(format!("did you mean `{n}`?"));
                        }
                        return Err(e.into());
                    }
                }
                Ok(())
            };
            for d in &c.differences {
                check_roles(&d.roles, d.span.as_ref())?;
            }
            for r in &c.key_renames {
                check_roles(&r.roles, r.span.as_ref())?;
            }
            for o in &c.key_only {
                check_roles(&o.roles, o.span.as_ref())?;
            }
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse_str(src: &str) -> Result<Contract> {
        parse(Path::new("parity.hcl"), src)
    }

    const MINIMAL: &str = r#"
environment "dev" {
  sources = ["dev.json"]
}
environment "prod" {
  sources = ["prod.json"]
  domains = "custom"
  service_accounts {
    pattern = "cr-{role}"
  }
}
role "api" {
  services = { dev = "api-dev", prod = "api" }
}
"#;

    #[test]
    fn reads_a_minimal_contract() {
        let c = parse_str(MINIMAL).unwrap();
        assert_eq!(c.reference, "dev");
        assert_eq!(c.environments.len(), 2);
        assert_eq!(c.roles[0].services["prod"].value, "api");
        assert_eq!(c.roles[0].services["prod"].span.as_ref().unwrap().line, 13);
        let prod = c.env("prod").unwrap();
        assert_eq!(prod.domains.as_ref().unwrap().value, DomainStrategy::Custom);
        assert_eq!(
            prod.service_accounts.as_ref().unwrap().pattern.as_deref(),
            Some("cr-{role}")
        );
        assert_eq!(prod.sources, vec![PathBuf::from("prod.json")]);
    }

    #[test]
    fn unknown_fields_are_placed_with_a_suggestion() {
        let src = MINIMAL.replace("domains = \"custom\"", "domain = \"custom\"");
        let e = parse_str(&src).unwrap_err().to_string();
        assert!(
            e.starts_with("parity.hcl:7:3: unknown field `domain` in environment \"prod\""),
            "{e}"
        );
        assert!(e.contains("did you mean `domains`?"), "{e}");
    }

    #[test]
    fn unknown_checks_are_errors() {
        let src = format!(
            "{MINIMAL}\nintentional_difference \"x\" {{\n  check = \"ingres\"\n  reason = \"r\"\n}}\n"
        );
        let e = parse_str(&src).unwrap_err().to_string();
        assert!(e.contains("unknown check `ingres`"), "{e}");
        assert!(e.contains("did you mean `ingress`?"), "{e}");
        assert!(e.starts_with("parity.hcl:17:11"), "{e}");
    }

    #[test]
    fn syntax_errors_have_a_place() {
        let e = parse_str("environment \"dev\" {\n  sources = [\n")
            .unwrap_err()
            .to_string();
        assert!(e.starts_with("parity.hcl:2:15: is not valid HCL"), "{e}");
    }

    #[test]
    fn intentional_differences_are_validated() {
        let ok = format!(
            "{MINIMAL}\nintentional_difference \"mem\" {{\n  check = \"cpu_memory\"\n  roles = [\"api\"]\n  attribute = \"memory\"\n  values = {{ dev = \"2Gi\", prod = \"512Mi\" }}\n  reason = \"r\"\n  expires = \"2027-01-31\"\n}}\n"
        );
        let c = parse_str(&ok).unwrap();
        let d = &c.differences[0];
        assert_eq!(d.check, "PAR005");
        assert_eq!(d.values["prod"], "512Mi");
        assert_eq!(d.expires.unwrap().to_string(), "2027-01-31");

        let bad_attr = ok.replace("attribute = \"memory\"", "attribute = \"memroy\"");
        assert!(
            parse_str(&bad_attr)
                .unwrap_err()
                .to_string()
                .contains("did you mean `memory`?")
        );
        let bad_role = ok.replace("roles = [\"api\"]", "roles = [\"apy\"]");
        assert!(
            parse_str(&bad_role)
                .unwrap_err()
                .to_string()
                .contains("unknown role `apy`")
        );
        let bad_env = ok.replace("prod = \"512Mi\"", "prd = \"512Mi\"");
        assert!(
            parse_str(&bad_env)
                .unwrap_err()
                .to_string()
                .contains("did you mean `prod`?")
        );
        let bad_date = ok.replace("2027-01-31", "2027-13-01");
        assert!(
            parse_str(&bad_date)
                .unwrap_err()
                .to_string()
                .contains("YYYY-MM-DD")
        );
        let no_reason = ok.replace("  reason = \"r\"\n", "");
        assert!(
            parse_str(&no_reason)
                .unwrap_err()
                .to_string()
                .contains("needs a `reason`")
        );
    }

    #[test]
    fn wrong_types_say_what_was_expected() {
        let src = MINIMAL.replace("sources = [\"dev.json\"]", "sources = 3");
        let e = parse_str(&src).unwrap_err().to_string();
        assert!(
            e.contains("`sources` must be a list of strings, found a number"),
            "{e}"
        );
        let src = MINIMAL.replace("sources = [\"dev.json\"]", "sources = var.x");
        let e = parse_str(&src).unwrap_err().to_string();
        assert!(e.contains("must be a literal value"), "{e}");
    }

    #[test]
    fn reference_must_be_an_environment() {
        let src = format!("reference = \"staging\"\n{MINIMAL}");
        let e = parse_str(&src).unwrap_err().to_string();
        assert!(e.contains("unknown environment `staging`"), "{e}");
    }
}
