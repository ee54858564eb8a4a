//! Advisories in the OSV schema (<https://ossf.github.io/osv-schema/>), the one format all
//! feeds are normalized to. Fields Crowsnest does not use are not modelled; unknown
//! fields are ignored so that schema additions upstream do not break a sync.

use serde::{Deserialize, Serialize};

#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct Advisory {
    pub id: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub modified: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub published: Option<String>,
    /// Set when the advisory was withdrawn: such advisories are never reported.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub withdrawn: Option<String>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub aliases: Vec<String>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub related: Vec<String>,
    /// Alpine secdb conversions put the CVE here.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub upstream: Vec<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub summary: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub details: Option<String>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub severity: Vec<SeverityScore>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub affected: Vec<Affected>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub references: Vec<Reference>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub database_specific: Option<serde_json::Value>,
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct SeverityScore {
    /// `CVSS_V2`, `CVSS_V3`, `CVSS_V4` or `Ubuntu`.
    #[serde(rename = "type")]
    pub kind: String,
    /// A CVSS vector string (or a qualitative level for `Ubuntu`).
    pub score: String,
}

#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct Affected {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub package: Option<AffectedPackage>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub severity: Vec<SeverityScore>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub ranges: Vec<Range>,
    /// Explicitly listed affected versions.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub versions: Vec<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub ecosystem_specific: Option<serde_json::Value>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub database_specific: Option<serde_json::Value>,
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct AffectedPackage {
    /// `Debian:12`, `PyPI`, `Alpine:v3.19`, ...
    pub ecosystem: String,
    pub name: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub purl: Option<String>,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "UPPERCASE")]
pub enum RangeKind {
    Semver,
    Ecosystem,
    Git,
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Range {
    #[serde(rename = "type")]
    pub kind: RangeKind,
    #[serde(default)]
    pub events: Vec<Event>,
}

/// One event of a range. OSV events carry exactly one of these keys.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Event {
    Introduced(String),
    Fixed(String),
    LastAffected(String),
    Limit(String),
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Reference {
    #[serde(rename = "type")]
    pub kind: String,
    pub url: String,
}

impl Advisory {
    /// The identifier to show: the first CVE among the id, aliases, related and upstream
    /// ids, else the advisory's own id.
    pub fn primary_id(&self) -> &str {
        std::iter::once(&self.id)
            .chain(&self.aliases)
            .chain(&self.upstream)
            .chain(&self.related)
            .find(|id| id.starts_with("CVE-"))
            .unwrap_or(&self.id)
    }

    /// All ids this advisory is known by (its own first), for alias merging.
    pub fn all_ids(&self) -> impl Iterator<Item = &str> {
        std::iter::once(&self.id)
            .chain(&self.aliases)
            .chain(&self.upstream)
            .map(String::as_str)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_osv_record_with_unknown_fields() {
        let json = r#"{
          "id": "GHSA-jfh8-c2jp-5v3q", "schema_version": "1.4.0",
          "aliases": ["CVE-2021-44228"],
          "affected": [{"package": {"ecosystem": "Maven", "name": "org.apache.logging.log4j:log4j-core"},
             "ranges": [{"type": "ECOSYSTEM", "events": [{"introduced": "2.0-beta9"}, {"fixed": "2.3.1"}]}],
             "future_field": 1}],
          "severity": [{"type": "CVSS_V3", "score": "CVSS:3.1/AV:N/AC:L/PR:N/UI:N/S:C/C:H/I:H/A:H"}]
        }"#;
        let a: Advisory = serde_json::from_str(json).unwrap();
        assert_eq!(a.primary_id(), "CVE-2021-44228");
        assert_eq!(
            a.affected[0].ranges[0].events[1],
            Event::Fixed("2.3.1".into())
        );
    }

    #[test]
    fn primary_id_falls_back_to_own_id() {
        let a = Advisory {
            id: "PYSEC-2020-1".into(),
            ..Default::default()
        };
        assert_eq!(a.primary_id(), "PYSEC-2020-1");
    }
}
