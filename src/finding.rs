//! Findings: what a check concluded about one role (or environment), with evidence a reader
//! can verify without the tool.

use std::fmt;

use serde::Serialize;

use crate::contract::Date;
use crate::inventory::Span;

/// A finding's verdict. Ordered by severity: an item's verdict is its worst finding.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize)]
pub enum Status {
    #[serde(rename = "PASS")]
    Pass,
    #[serde(rename = "INTENTIONAL_DIFF")]
    IntentionalDiff,
    #[serde(rename = "REVIEW_REQUIRED")]
    ReviewRequired,
    #[serde(rename = "FAIL")]
    Fail,
}

impl Status {
    pub fn as_str(self) -> &'static str {
        match self {
            Status::Pass => "PASS",
            Status::IntentionalDiff => "INTENTIONAL_DIFF",
            Status::ReviewRequired => "REVIEW_REQUIRED",
            Status::Fail => "FAIL",
        }
    }

    pub const ALL: [Status; 4] = [
        Status::Fail,
        Status::ReviewRequired,
        Status::IntentionalDiff,
        Status::Pass,
    ];
}

impl fmt::Display for Status {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// One piece of evidence: a resource, a contract line, an attribute, keys.
#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord, Serialize, Default)]
pub struct Evidence {
    #[serde(skip_serializing_if = "Option::is_none")]
    pub environment: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub address: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none", serialize_with = "span_ser")]
    pub location: Option<Span>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub attribute: Option<String>,
    /// A value safe to show (ingress, a memory limit, an account email). Env var values and
    /// sensitive values never get here.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub value: Option<String>,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub keys: Vec<String>,
}

fn span_ser<S: serde::Serializer>(span: &Option<Span>, s: S) -> Result<S::Ok, S::Error> {
    #[derive(Serialize)]
    struct Loc {
        file: String,
        line: usize,
        column: usize,
    }
    match span {
        Some(sp) => Loc {
            file: crate::report::display_path(&sp.file),
            line: sp.line,
            column: sp.column,
        }
        .serialize(s),
        None => s.serialize_none(),
    }
}

impl Evidence {
    pub fn env(environment: &str) -> Self {
        Evidence {
            environment: Some(environment.to_string()),
            ..Default::default()
        }
    }

    pub fn address(mut self, address: &str) -> Self {
        self.address = Some(address.to_string());
        self
    }

    pub fn at(mut self, span: Option<Span>) -> Self {
        self.location = span;
        self
    }

    pub fn attribute(mut self, attribute: &str) -> Self {
        self.attribute = Some(attribute.to_string());
        self
    }

    pub fn value(mut self, value: impl Into<String>) -> Self {
        self.value = Some(value.into());
        self
    }

    pub fn keys(mut self, keys: impl IntoIterator<Item = impl Into<String>>) -> Self {
        self.keys = keys.into_iter().map(Into::into).collect();
        self
    }
}

/// The contract declaration that accepted a difference.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct Acceptance {
    pub name: String,
    pub reason: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub owner: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none", serialize_with = "date_ser")]
    pub expires: Option<Date>,
    #[serde(skip_serializing_if = "Option::is_none", serialize_with = "span_ser")]
    pub location: Option<Span>,
}

fn date_ser<S: serde::Serializer>(d: &Option<Date>, s: S) -> Result<S::Ok, S::Error> {
    match d {
        Some(d) => s.serialize_str(&d.to_string()),
        None => s.serialize_none(),
    }
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct Finding {
    pub status: Status,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub role: Option<String>,
    pub environments: Vec<String>,
    /// What differs or is checked (`ingress`, `memory`, `env_keys`...), for matching and
    /// fingerprints.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub subject: Option<String>,
    pub message: String,
    pub evidence: Vec<Evidence>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub accepted_by: Option<Acceptance>,
}

impl Finding {
    pub fn new(status: Status, message: impl Into<String>) -> Self {
        Finding {
            status,
            role: None,
            environments: Vec::new(),
            subject: None,
            message: message.into(),
            evidence: Vec::new(),
            accepted_by: None,
        }
    }

    pub fn role(mut self, role: &str) -> Self {
        self.role = Some(role.to_string());
        self
    }

    pub fn envs<'a>(mut self, envs: impl IntoIterator<Item = &'a str>) -> Self {
        self.environments = envs.into_iter().map(str::to_string).collect();
        self
    }

    pub fn subject(mut self, subject: &str) -> Self {
        self.subject = Some(subject.to_string());
        self
    }

    pub fn evidence(mut self, e: Evidence) -> Self {
        // Most findings hold one or two: grown by `push` alone, the vector would take room for
        // four (600 bytes), over tens of thousands of findings on a large estate.
        self.evidence.reserve_exact(1);
        self.evidence.push(e);
        self
    }

    pub fn accepted(mut self, a: Option<Acceptance>) -> Self {
        self.accepted_by = a;
        self
    }

    /// The first location in the evidence, for formats that need one place.
    pub fn primary_location(&self) -> Option<&Span> {
        self.evidence.iter().find_map(|e| e.location.as_ref())
    }
}
