//! Ignore files: Trivy's `.trivyignore.yaml` layout as it is, plus Crowsnest's
//! extensions (docs/exceptions.md).
//!
//! ```yaml
//! vulnerabilities:
//!   - id: CVE-2021-44228            # Trivy: id, paths, purls, statement, expired_at
//!     purls: [pkg:maven/org.apache.logging.log4j/log4j-core]
//!     paths: ["app/lib/*.jar"]
//!     statement: JNDI lookups are disabled by -Dlog4j2.formatMsgNoLookups
//!     expired_at: 2026-03-01
//!   - packages: [{name: minimist, versions: "<1.2.6"}]   # extensions
//!     images: ["*/app-bookworm", "sha256:…"]
//!     severities: [low, negligible]
//! ```
//!
//! Every selector a rule gives must match (a list matches when one entry does); a rule
//! must give at least one. Trivy's other sections (`misconfigurations`, `secrets`,
//! `licenses`) are accepted and ignored: Crowsnest has no such findings.

use crowsnest_matcher::VersionScheme;
use crowsnest_model::Severity;
use crowsnest_model::finding::Finding;
use serde::Deserialize;
use serde::de::IgnoredAny;
use time::format_description::well_known::Rfc3339;
use time::macros::format_description;
use time::{Date, OffsetDateTime, PrimitiveDateTime, Time};

use crate::statement::ImageTarget;
use crate::{PurlPattern, VexError, glob};

/// Largest ignore file read.
pub const MAX_IGNORE_FILE: usize = 4 << 20;

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawFile {
    #[serde(default)]
    vulnerabilities: Option<Vec<RawRule>>,
    // Trivy's other sections: accepted, never read (Crowsnest has no such findings).
    #[serde(default, rename = "misconfigurations")]
    _misconfigurations: Option<IgnoredAny>,
    #[serde(default, rename = "secrets")]
    _secrets: Option<IgnoredAny>,
    #[serde(default, rename = "licenses")]
    _licenses: Option<IgnoredAny>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawRule {
    id: Option<String>,
    #[serde(default)]
    paths: Vec<String>,
    #[serde(default)]
    purls: Vec<String>,
    statement: Option<String>,
    expired_at: Option<String>,
    #[serde(default)]
    packages: Vec<RawPackage>,
    #[serde(default)]
    images: Vec<String>,
    #[serde(default)]
    severities: Vec<String>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawPackage {
    name: String,
    versions: Option<String>,
}

/// A package selector: a name (as the finding names the package) and a version range.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct PackageSelector {
    pub name: String,
    pub versions: Option<VersionRange>,
}

/// Comparators joined by `,` (all must hold): `>=2.0.0, <2.17.0`, `=1.2.0`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct VersionRange {
    text: String,
    clauses: Vec<(Op, String)>,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Op {
    Lt,
    Le,
    Gt,
    Ge,
    Eq,
}

impl VersionRange {
    fn parse(text: &str) -> Result<VersionRange, String> {
        let mut clauses = Vec::new();
        for clause in text.split(',') {
            let clause = clause.trim();
            let (op, version) = [
                ("<=", Op::Le),
                (">=", Op::Ge),
                ("<", Op::Lt),
                (">", Op::Gt),
                ("==", Op::Eq),
                ("=", Op::Eq),
            ]
            .iter()
            .find_map(|(prefix, op)| clause.strip_prefix(prefix).map(|v| (*op, v.trim())))
            .unwrap_or((Op::Eq, clause));
            if version.is_empty() {
                return Err(format!(
                    "{clause:?} names no version (use <, <=, >, >=, = VERSION)"
                ));
            }
            clauses.push((op, version.to_string()));
        }
        Ok(VersionRange {
            text: text.to_string(),
            clauses,
        })
    }

    /// Whether `version` is inside the range, ordered by the ecosystem's rules; a version
    /// the ecosystem cannot order only matches `=` clauses exactly.
    pub fn contains(&self, version: &str, ecosystem: &str) -> bool {
        let scheme = VersionScheme::for_osv_ecosystem(ecosystem);
        self.clauses.iter().all(|(op, bound)| {
            let Some(order) = scheme.and_then(|s| s.compare(version, bound).ok()) else {
                return *op == Op::Eq && version == bound;
            };
            match op {
                Op::Lt => order.is_lt(),
                Op::Le => order.is_le(),
                Op::Gt => order.is_gt(),
                Op::Ge => order.is_ge(),
                Op::Eq => order.is_eq(),
            }
        })
    }
}

impl std::fmt::Display for VersionRange {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.text)
    }
}

/// An image selector: a digest, or a glob over the image's repository.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum ImageSelector {
    Digest(crowsnest_model::Digest),
    Repository(String),
}

/// When a rule or exception stops applying.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Expiry {
    /// As written (`2026-03-01`).
    pub text: String,
    pub at: OffsetDateTime,
}

impl Expiry {
    /// A date (`YYYY-MM-DD`: expires at the start of that day, UTC, as Trivy reads it) or
    /// an RFC 3339 time.
    pub fn parse(text: &str) -> Result<Expiry, String> {
        let text = text.trim();
        let at = if let Ok(t) = OffsetDateTime::parse(text, &Rfc3339) {
            t
        } else {
            let date =
                Date::parse(text, format_description!("[year]-[month]-[day]")).map_err(|_| {
                    format!("{text:?} is neither a date (YYYY-MM-DD) nor an RFC 3339 time")
                })?;
            PrimitiveDateTime::new(date, Time::MIDNIGHT).assume_utc()
        };
        Ok(Expiry {
            text: text.to_string(),
            at,
        })
    }

    pub fn passed(&self, now: OffsetDateTime) -> bool {
        now >= self.at
    }
}

/// One rule of an ignore file.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct IgnoreRule {
    /// `FILE rule N` (N from 1), for people.
    pub source: String,
    /// A vulnerability id, matched against the finding's id and aliases.
    pub id: Option<String>,
    pub purls: Vec<PurlPattern>,
    /// Globs over the paths that evidence the package (no leading `/`, as Trivy writes them).
    pub paths: Vec<String>,
    pub packages: Vec<PackageSelector>,
    pub images: Vec<ImageSelector>,
    pub severities: Vec<Severity>,
    pub statement: Option<String>,
    pub expires: Option<Expiry>,
}

impl IgnoreRule {
    /// Whether the rule selects this finding (its expiry aside). `evidence`: the paths
    /// that evidence the finding's package.
    pub fn selects(&self, finding: &Finding, evidence: &[String], target: &ImageTarget) -> bool {
        let id_ok = self.id.as_ref().is_none_or(|id| {
            std::iter::once(&finding.id)
                .chain(&finding.aliases)
                .any(|f| f.eq_ignore_ascii_case(id))
        });
        let purl_ok = self.purls.is_empty()
            || self
                .purls
                .iter()
                .any(|p| p.matches_str(&finding.package.purl));
        let path_ok = self.paths.is_empty()
            || self.paths.iter().any(|pattern| {
                let pattern = pattern.trim_start_matches('/');
                evidence
                    .iter()
                    .any(|e| glob::matches(pattern, e.trim_start_matches('/')))
            });
        let package_ok = self.packages.is_empty()
            || self.packages.iter().any(|p| {
                p.name == finding.package.name
                    && p.versions.as_ref().is_none_or(|r| {
                        r.contains(&finding.installed_version, &finding.package.ecosystem)
                            || r.contains(&finding.package.version, &finding.package.ecosystem)
                    })
            });
        let image_ok = self.images.is_empty()
            || self.images.iter().any(|i| match i {
                ImageSelector::Digest(d) => target.digests.contains(d),
                ImageSelector::Repository(pattern) => target
                    .repository
                    .as_deref()
                    .is_some_and(|r| glob::matches(pattern, r)),
            });
        let severity_ok = self.severities.is_empty() || self.severities.contains(&finding.severity);
        id_ok && purl_ok && path_ok && package_ok && image_ok && severity_ok
    }
}

/// Reads an ignore file (`name` names it in errors).
pub fn read_ignore_file(bytes: &[u8], name: &str) -> Result<Vec<IgnoreRule>, VexError> {
    let error = |field: String, message: String| VexError::Invalid {
        document: name.to_string(),
        field,
        message,
    };
    if bytes.len() > MAX_IGNORE_FILE {
        return Err(error(
            "(file)".into(),
            format!("larger than {MAX_IGNORE_FILE} bytes"),
        ));
    }
    let text = std::str::from_utf8(bytes)
        .map_err(|e| error("(file)".into(), format!("not UTF-8: {e}")))?;
    if text.trim().is_empty() {
        return Ok(Vec::new());
    }
    let mut options = serde_saphyr::Options::default();
    let mut budget = serde_saphyr::Budget::default();
    budget.max_total_scalar_bytes = MAX_IGNORE_FILE;
    options.budget = Some(budget);
    let raw: RawFile = serde_saphyr::from_str_with_options(text, options)
        .map_err(|e| error("(file)".into(), format!("not a valid ignore file: {e}")))?;
    let mut rules = Vec::new();
    for (i, r) in raw
        .vulnerabilities
        .unwrap_or_default()
        .into_iter()
        .enumerate()
    {
        let field = |f: &str| format!("vulnerabilities[{i}].{f}");
        let id = r.id.map(|s| s.trim().to_string()).filter(|s| !s.is_empty());
        let mut purls = Vec::new();
        for (j, p) in r.purls.iter().enumerate() {
            purls.push(
                p.parse::<PurlPattern>()
                    .map_err(|e| error(format!("{}[{j}]", field("purls")), e.to_string()))?,
            );
        }
        let mut packages = Vec::new();
        for (j, p) in r.packages.into_iter().enumerate() {
            if p.name.trim().is_empty() {
                return Err(error(
                    format!("{}[{j}].name", field("packages")),
                    "is empty".into(),
                ));
            }
            let versions = p
                .versions
                .map(|v| VersionRange::parse(&v))
                .transpose()
                .map_err(|e| error(format!("{}[{j}].versions", field("packages")), e))?;
            packages.push(PackageSelector {
                name: p.name.trim().to_string(),
                versions,
            });
        }
        let images = r
            .images
            .into_iter()
            .map(|s| match s.trim().parse::<crowsnest_model::Digest>() {
                Ok(d) => ImageSelector::Digest(d),
                Err(_) => ImageSelector::Repository(s.trim().to_string()),
            })
            .collect::<Vec<_>>();
        let mut severities = Vec::new();
        for (j, s) in r.severities.iter().enumerate() {
            severities.push(
                s.parse::<Severity>()
                    .map_err(|e| error(format!("{}[{j}]", field("severities")), e.to_string()))?,
            );
        }
        let expires = r
            .expired_at
            .as_deref()
            .map(Expiry::parse)
            .transpose()
            .map_err(|e| error(field("expired_at"), e))?;
        if id.is_none()
            && purls.is_empty()
            && r.paths.is_empty()
            && packages.is_empty()
            && images.is_empty()
            && severities.is_empty()
        {
            return Err(error(
                format!("vulnerabilities[{i}]"),
                "the rule has no scope: give an id, purls, paths, packages, images or severities"
                    .into(),
            ));
        }
        rules.push(IgnoreRule {
            source: format!("{name} rule {}", i + 1),
            id,
            purls,
            paths: r.paths,
            packages,
            images,
            severities,
            statement: crate::fields::text(r.statement.as_deref()),
            expires,
        });
    }
    Ok(rules)
}
