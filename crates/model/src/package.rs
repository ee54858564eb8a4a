//! Packages found in an image, and the operating system they belong to.

use std::fmt;

use serde::{Deserialize, Serialize};

use crate::Digest;

/// How a package was installed: the package manager or language ecosystem that owns it.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum PackageKind {
    Deb,
    Apk,
    Rpm,
    Python,
    Npm,
    Maven,
    Go,
    Cargo,
    Gem,
    Composer,
    NuGet,
}

impl PackageKind {
    /// Whether packages of this kind belong to the operating system (matched per distro
    /// release) rather than to a language ecosystem.
    pub fn is_os(self) -> bool {
        matches!(self, PackageKind::Deb | PackageKind::Apk | PackageKind::Rpm)
    }

    /// The package-url type (<https://github.com/package-url/purl-spec>).
    pub fn purl_type(self) -> &'static str {
        match self {
            PackageKind::Deb => "deb",
            PackageKind::Apk => "apk",
            PackageKind::Rpm => "rpm",
            PackageKind::Python => "pypi",
            PackageKind::Npm => "npm",
            PackageKind::Maven => "maven",
            PackageKind::Go => "golang",
            PackageKind::Cargo => "cargo",
            PackageKind::Gem => "gem",
            PackageKind::Composer => "composer",
            PackageKind::NuGet => "nuget",
        }
    }

    /// The OSV ecosystem of a language package (`None` for OS packages, whose ecosystem
    /// depends on the distro release: see [`Distro::osv_ecosystem`]).
    pub fn osv_language_ecosystem(self) -> Option<&'static str> {
        Some(match self {
            PackageKind::Python => "PyPI",
            PackageKind::Npm => "npm",
            PackageKind::Maven => "Maven",
            PackageKind::Go => "Go",
            PackageKind::Cargo => "crates.io",
            PackageKind::Gem => "RubyGems",
            PackageKind::Composer => "Packagist",
            PackageKind::NuGet => "NuGet",
            PackageKind::Deb | PackageKind::Apk | PackageKind::Rpm => return None,
        })
    }

    pub fn as_str(self) -> &'static str {
        match self {
            PackageKind::Deb => "deb",
            PackageKind::Apk => "apk",
            PackageKind::Rpm => "rpm",
            PackageKind::Python => "python",
            PackageKind::Npm => "npm",
            PackageKind::Maven => "maven",
            PackageKind::Go => "go",
            PackageKind::Cargo => "cargo",
            PackageKind::Gem => "gem",
            PackageKind::Composer => "composer",
            PackageKind::NuGet => "nuget",
        }
    }
}

impl fmt::Display for PackageKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// The source package an OS binary package was built from. Distro advisories (Debian's
/// DSA/DLA, for example) are keyed by source package, so matching needs it.
#[derive(Clone, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct SourcePackage {
    pub name: String,
    pub version: String,
}

/// One package in an image's inventory.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Package {
    pub kind: PackageKind,
    /// Name as the ecosystem spells it (`groupId:artifactId` for Maven, module path for Go).
    pub name: String,
    pub version: String,
    /// Epoch for rpm (kept apart because rpm's version field never carries it).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub epoch: Option<u32>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub arch: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub source: Option<SourcePackage>,
    pub purl: String,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub licenses: Vec<String>,
    /// DiffID of the layer that introduced this package (the lowest layer from which
    /// the package is continuously present up to the top).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub layer: Option<Digest>,
    /// Files that evidence the package (its database entry, metadata file or binary).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub evidence: Vec<String>,
    /// How the name and version were established when the package's own metadata did
    /// not declare them (a Java archive without `pom.properties`); `None` when declared.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub identity: Option<Identity>,
}

/// How a package's coordinates were established without a declaration: what named each
/// one and how far that can be trusted. Never stronger than its weakest coordinate.
#[derive(Clone, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct Identity {
    pub confidence: Confidence,
    /// What named each coordinate, in coordinate order (`groupId`, `artifactId`, `version`).
    pub evidence: Vec<CoordinateEvidence>,
    /// SHA-1 of the file (lowercase hex), by which a checksum index of the ecosystem's
    /// repository can name it exactly.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub sha1: Option<String>,
}

impl Identity {
    /// Whether the coordinates are inferred (anything but an exact checksum match).
    pub fn is_inferred(&self) -> bool {
        self.confidence != Confidence::Checksum
    }

    /// `groupId=Bundle-SymbolicName, artifactId=file name, ...`: the evidence on one line.
    pub fn describe(&self) -> String {
        self.evidence
            .iter()
            .map(|e| format!("{}={}", e.coordinate, e.source))
            .collect::<Vec<_>>()
            .join(", ")
    }
}

/// One coordinate and the evidence that named it (`version` from `Bundle-Version`).
#[derive(Clone, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct CoordinateEvidence {
    pub coordinate: String,
    pub source: String,
}

/// How far inferred coordinates can be trusted, strongest first.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum Confidence {
    /// The file's checksum is in a local index of the repository: exact, not inferred.
    Checksum,
    /// Every coordinate from Maven metadata, the known-artifact table, or two sources
    /// that agree (a manifest field and the file name).
    High,
    /// A coordinate rests on one uncorroborated source (a manifest field alone, the
    /// file name alone).
    Medium,
    /// A coordinate is guessed (from the packages the classes live in) or missing.
    Low,
}

impl Confidence {
    pub fn as_str(self) -> &'static str {
        match self {
            Confidence::Checksum => "checksum",
            Confidence::High => "high",
            Confidence::Medium => "medium",
            Confidence::Low => "low",
        }
    }

    /// The value [`Confidence::as_str`] gives, read back (an SBOM property).
    pub fn parse(value: &str) -> Option<Confidence> {
        [
            Confidence::Checksum,
            Confidence::High,
            Confidence::Medium,
            Confidence::Low,
        ]
        .into_iter()
        .find(|c| c.as_str() == value)
    }
}

/// The operating system of an image, from os-release and friends.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Distro {
    /// `ID` from os-release (`debian`, `alpine`, `almalinux`, `ubuntu`, ...).
    pub id: String,
    /// `VERSION_ID` (`12`, `3.19.1`, `9.3`, `22.04`).
    #[serde(default)]
    pub version_id: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub codename: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub pretty_name: Option<String>,
}

impl Distro {
    /// The OSV ecosystem for this distro release (`Debian:12`, `Alpine:v3.19`,
    /// `AlmaLinux:9`, `Ubuntu:22.04:LTS`), or `None` for a distro with no OSV data.
    pub fn osv_ecosystem(&self) -> Option<String> {
        let major = self.version_id.split('.').next().unwrap_or("");
        match self.id.as_str() {
            "debian" if !major.is_empty() => Some(format!("Debian:{major}")),
            "alpine" => {
                let mut it = self.version_id.split('.');
                match (it.next(), it.next()) {
                    (Some(a), Some(b)) => Some(format!("Alpine:v{a}.{b}")),
                    _ => None,
                }
            }
            "almalinux" if !major.is_empty() => Some(format!("AlmaLinux:{major}")),
            "rocky" if !major.is_empty() => Some(format!("Rocky Linux:{major}")),
            "ubuntu" if !self.version_id.is_empty() => {
                // Ubuntu's OSV ecosystems mark LTS releases (even years, April).
                let lts = self.version_id.ends_with(".04")
                    && major.parse::<u32>().map(|m| m % 2 == 0).unwrap_or(false);
                Some(if lts {
                    format!("Ubuntu:{}:LTS", self.version_id)
                } else {
                    format!("Ubuntu:{}", self.version_id)
                })
            }
            _ => None,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn distro(id: &str, v: &str) -> Distro {
        Distro {
            id: id.into(),
            version_id: v.into(),
            ..Default::default()
        }
    }

    #[test]
    fn osv_ecosystems_for_distros() {
        assert_eq!(
            distro("debian", "12").osv_ecosystem().as_deref(),
            Some("Debian:12")
        );
        assert_eq!(
            distro("alpine", "3.19.1").osv_ecosystem().as_deref(),
            Some("Alpine:v3.19")
        );
        assert_eq!(
            distro("ubuntu", "22.04").osv_ecosystem().as_deref(),
            Some("Ubuntu:22.04:LTS")
        );
        assert_eq!(
            distro("ubuntu", "23.10").osv_ecosystem().as_deref(),
            Some("Ubuntu:23.10")
        );
        assert_eq!(
            distro("almalinux", "9.3").osv_ecosystem().as_deref(),
            Some("AlmaLinux:9")
        );
        assert_eq!(distro("plan9", "4").osv_ecosystem(), None);
        assert_eq!(distro("alpine", "").osv_ecosystem(), None);
    }

    #[test]
    fn language_ecosystems() {
        assert_eq!(PackageKind::Python.osv_language_ecosystem(), Some("PyPI"));
        assert_eq!(
            PackageKind::Cargo.osv_language_ecosystem(),
            Some("crates.io")
        );
        assert_eq!(PackageKind::Deb.osv_language_ecosystem(), None);
        assert!(PackageKind::Rpm.is_os());
    }
}
