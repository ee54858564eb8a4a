//! Findings: one vulnerability in one installed package, with what a security team needs
//! to act on it (fix, severity, exploitation evidence, priority).
//!
//! A finding is plain data. The matcher builds it; renderers (table, JSON, SARIF,
//! CycloneDX), the store and the security graph read it. Field names follow Microsoft
//! Defender for Cloud's container findings where Defender has an equivalent
//! (`fixStatus`, `exploitabilityAssessment`), so exports map one to one.

use serde::{Deserialize, Serialize};

use crate::advisory::Reference;
use crate::{Digest, Package, PackageKind, Severity};

/// One vulnerability (all its aliases merged) affecting one installed package.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Finding {
    /// The CVE id when the vulnerability has one, else the advisory's own id.
    pub id: String,
    /// Every other id the vulnerability is known by (GHSA, PYSEC, GO, RUSTSEC, DSA,
    /// ALSA, ALPINE-CVE ...), sorted.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub aliases: Vec<String>,
    pub package: FindingPackage,
    /// The version compared with the advisory ranges: the source package's version when
    /// matched through the source package, with the rpm epoch when there is one.
    pub installed_version: String,
    /// Versions that fix it, lowest first. Upgrading to the last one clears every merged
    /// advisory.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub fixed_versions: Vec<String>,
    pub fix_status: FixStatus,
    pub severity: Severity,
    /// Where `severity` came from: `CVSS_V3`, `CVSS_V4`, `Debian urgency`, `GHSA`, ...
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub severity_source: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub cvss: Option<Cvss>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub summary: Option<String>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub references: Vec<Reference>,
    pub exploitability: Exploitability,
    pub priority: Priority,
    /// Ids of the advisory records this finding was built from, sorted.
    pub advisories: Vec<String>,
}

/// The package a finding is about, as the inventory recorded it.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct FindingPackage {
    pub name: String,
    pub version: String,
    pub kind: PackageKind,
    pub purl: String,
    /// The OSV ecosystem it was matched in (`Debian:11`, `Maven`, ...).
    pub ecosystem: String,
    /// DiffID of the layer that introduced the package.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub layer: Option<Digest>,
    /// The source package name, set when the advisory names the source package rather
    /// than this binary package (Debian DSA/DLA, Alpine origin packages).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub matched_source: Option<String>,
    /// How the package's coordinates were established when they were not declared: a
    /// finding on inferred coordinates says so (see [`crate::Identity`]).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub identity: Option<crate::Identity>,
}

impl FindingPackage {
    /// The inventory package this is: same purl and layer, else same purl, else same
    /// kind, name and version.
    pub fn find_in<'a>(&self, packages: &'a [Package]) -> Option<&'a Package> {
        packages
            .iter()
            .find(|p| !p.purl.is_empty() && p.purl == self.purl && p.layer == self.layer)
            .or_else(|| {
                packages
                    .iter()
                    .find(|p| !p.purl.is_empty() && p.purl == self.purl)
            })
            .or_else(|| {
                packages.iter().find(|p| {
                    p.kind == self.kind && p.name == self.name && p.version == self.version
                })
            })
    }
}

/// Whether and how the vulnerability can be fixed, as the advisory source states it.
/// "Not affected" is not a status: such packages are never reported.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
pub enum FixStatus {
    /// A fixed version exists (see `fixed_versions`).
    FixAvailable,
    /// Affected, and the source names no fixed version yet.
    NoFixAvailable,
    /// The distribution decided not to fix it in this release.
    WontFix,
    /// The source does not say (for example the affected versions are only listed, or
    /// the fix is given as a commit).
    Unknown,
}

impl FixStatus {
    pub fn as_str(self) -> &'static str {
        match self {
            FixStatus::FixAvailable => "FixAvailable",
            FixStatus::NoFixAvailable => "NoFixAvailable",
            FixStatus::WontFix => "WontFix",
            FixStatus::Unknown => "Unknown",
        }
    }
}

/// A CVSS vector and the base score computed from it.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Cvss {
    /// `3.0`, `3.1` or `4.0`.
    pub version: String,
    pub vector: String,
    pub base_score: f64,
}

/// Evidence of exploitation, shaped like Defender's `exploitabilityAssessment`.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct Exploitability {
    /// A public exploit is known (Exploit-DB lists one for the CVE).
    pub exploit_published: bool,
    /// Exploitation in the wild is confirmed (CISA KEV).
    pub in_kev: bool,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub kev: Option<KevStatus>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub epss: Option<EpssStatus>,
    /// Exploit-DB types of the public exploits (`remote`, `webapps`, `local` ...), sorted.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub exploit_types: Vec<String>,
    /// Pages of the public exploits, sorted.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub exploit_uris: Vec<String>,
}

/// The CISA KEV facts that bear on urgency.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct KevStatus {
    /// `YYYY-MM-DD`.
    pub date_added: String,
    /// `YYYY-MM-DD`, the remediation deadline for US federal agencies.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub due_date: Option<String>,
    /// Known use in ransomware campaigns.
    pub ransomware: bool,
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct EpssStatus {
    /// Probability of exploitation in the next 30 days, 0.0 to 1.0.
    pub score: f64,
    /// Rank among all scored CVEs, 0.0 to 1.0.
    pub percentile: f64,
}

/// How urgent the finding is (0 to 100, higher first) and why; see
/// docs/prioritisation.md for the formula.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct Priority {
    pub score: f64,
    pub reasons: Vec<String>,
}

/// What the runtime knows about where an image runs. The security graph fills it (one
/// per image, the worst case over the workloads that run it); every flag raises the
/// priority of that image's findings. `Default` means "nothing known".
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct RuntimeContext {
    /// Reachable from the internet (LoadBalancer/NodePort service, ingress, host port).
    pub internet_exposed: bool,
    /// A privileged container, or one with capabilities that reach the node.
    pub privileged: bool,
    /// Shares a host namespace (network, PID, IPC) or mounts a sensitive host path.
    pub host_access: bool,
    /// Runs as UID 0.
    pub runs_as_root: bool,
    /// Its service account can read secrets or create pods.
    pub powerful_identity: bool,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn fix_status_uses_defender_names() {
        for status in [
            FixStatus::FixAvailable,
            FixStatus::NoFixAvailable,
            FixStatus::WontFix,
            FixStatus::Unknown,
        ] {
            let json = serde_json::to_string(&status).unwrap();
            assert_eq!(json, format!("\"{}\"", status.as_str()));
            assert_eq!(serde_json::from_str::<FixStatus>(&json).unwrap(), status);
        }
    }
}
