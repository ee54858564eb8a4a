//! Version ordering for every ecosystem Crowsnest matches advisories in.
//!
//! Each scheme parses a version into a small borrowed form (slices of the input, no heap
//! allocation in the common case) and compares two of them with the ecosystem's own
//! rules. Numbers are compared as digit strings, so versions with numbers wider than any
//! machine integer (date stamps, pseudo-versions) order correctly and never overflow.

mod apk;
mod composer;
mod dpkg;
mod maven;
mod nuget;
mod pep440;
mod rpm;
mod rubygems;
mod semver;

use std::cmp::Ordering;

/// The version-ordering rules of one ecosystem.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum VersionScheme {
    /// dpkg ordering (Debian, Ubuntu).
    Dpkg,
    /// apk-tools ordering (Alpine).
    Apk,
    /// rpm EVR ordering (Red Hat, AlmaLinux, Rocky Linux, ...).
    Rpm,
    /// PEP 440 (PyPI), with pre-PEP 440 "legacy" versions ordered before all valid ones.
    Pep440,
    /// SemVer 2 as npm applies it (a leading `v` or `=` is ignored).
    Npm,
    /// SemVer 2 as Cargo applies it.
    Cargo,
    /// SemVer with Go's `v` prefix, pseudo-versions and `+incompatible`.
    Go,
    /// Maven's `ComparableVersion`.
    Maven,
    /// RubyGems' `Gem::Version`.
    RubyGems,
    /// NuGet: up to four numeric parts, case-insensitive pre-release labels.
    NuGet,
    /// Composer / PHP `version_compare` (Packagist).
    Composer,
}

/// A version string the scheme cannot order.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
#[error("invalid {scheme} version {version:?}: {reason}")]
pub struct VersionError {
    pub scheme: &'static str,
    pub version: String,
    pub reason: &'static str,
}

impl VersionError {
    pub(crate) fn new(scheme: VersionScheme, version: &str, reason: &'static str) -> Self {
        /// Error messages quote the version; a hostile feed must not make them huge.
        const MAX_QUOTED: usize = 200;
        let mut end = version.len().min(MAX_QUOTED);
        while !version.is_char_boundary(end) {
            end -= 1;
        }
        VersionError {
            scheme: scheme.name(),
            version: version[..end].to_owned(),
            reason,
        }
    }
}

impl VersionScheme {
    /// The scheme for an OSV `affected[].package.ecosystem` value such as `Debian:12`,
    /// `Ubuntu:22.04:LTS`, `Alpine:v3.19`, `Rocky Linux:8` or `PyPI`. `None` for
    /// ecosystems Crowsnest does not order.
    pub fn for_osv_ecosystem(ecosystem: &str) -> Option<VersionScheme> {
        let base = ecosystem.split(':').next().unwrap_or(ecosystem).trim();
        Some(match base {
            "Debian" | "Ubuntu" => VersionScheme::Dpkg,
            "Alpine" => VersionScheme::Apk,
            "Red Hat" | "AlmaLinux" | "Rocky Linux" | "openSUSE" | "SUSE" | "Mageia" => {
                VersionScheme::Rpm
            }
            "PyPI" => VersionScheme::Pep440,
            "npm" => VersionScheme::Npm,
            "crates.io" => VersionScheme::Cargo,
            "Go" => VersionScheme::Go,
            "Maven" => VersionScheme::Maven,
            "RubyGems" => VersionScheme::RubyGems,
            "NuGet" => VersionScheme::NuGet,
            "Packagist" => VersionScheme::Composer,
            _ => return None,
        })
    }

    /// A short name for messages.
    pub fn name(self) -> &'static str {
        match self {
            VersionScheme::Dpkg => "dpkg",
            VersionScheme::Apk => "apk",
            VersionScheme::Rpm => "rpm",
            VersionScheme::Pep440 => "PEP 440",
            VersionScheme::Npm => "npm",
            VersionScheme::Cargo => "crates.io",
            VersionScheme::Go => "Go",
            VersionScheme::Maven => "Maven",
            VersionScheme::RubyGems => "RubyGems",
            VersionScheme::NuGet => "NuGet",
            VersionScheme::Composer => "Composer",
        }
    }

    /// Orders two versions; an error names the first version that does not parse.
    pub fn compare(&self, a: &str, b: &str) -> Result<Ordering, VersionError> {
        let scheme = *self;
        match scheme {
            VersionScheme::Dpkg => Ok(dpkg::parse(a, scheme)?.cmp(&dpkg::parse(b, scheme)?)),
            VersionScheme::Apk => Ok(apk::compare(
                &apk::parse(a, scheme)?,
                &apk::parse(b, scheme)?,
            )),
            VersionScheme::Rpm => Ok(rpm::parse(a, scheme)?.cmp(&rpm::parse(b, scheme)?)),
            VersionScheme::Pep440 => Ok(pep440::compare(
                &pep440::parse(a, scheme)?,
                &pep440::parse(b, scheme)?,
            )),
            VersionScheme::Npm | VersionScheme::Cargo | VersionScheme::Go => {
                Ok(semver::parse(a, scheme)?.cmp(&semver::parse(b, scheme)?))
            }
            VersionScheme::Maven => Ok(maven::parse(a, scheme)?.cmp(&maven::parse(b, scheme)?)),
            VersionScheme::RubyGems => Ok(rubygems::compare(
                &rubygems::parse(a, scheme)?,
                &rubygems::parse(b, scheme)?,
            )),
            VersionScheme::NuGet => Ok(nuget::parse(a, scheme)?.cmp(&nuget::parse(b, scheme)?)),
            VersionScheme::Composer => Ok(composer::compare(
                &composer::parse(a, scheme)?,
                &composer::parse(b, scheme)?,
            )),
        }
    }

    /// Checks that `version` parses under this scheme.
    pub fn parse_ok(&self, version: &str) -> Result<(), VersionError> {
        self.compare(version, version).map(|_| ())
    }
}

/// Upper bound on the length of a version string. Real versions are far shorter; the
/// bound keeps hostile feeds from making comparison cost grow without limit.
pub(crate) const MAX_VERSION_LEN: usize = 256;

/// Rejects empty and over-long versions, the checks every scheme shares.
pub(crate) fn check_len(v: &str, scheme: VersionScheme) -> Result<(), VersionError> {
    if v.is_empty() {
        return Err(VersionError::new(scheme, v, "empty version"));
    }
    if v.len() > MAX_VERSION_LEN {
        return Err(VersionError::new(scheme, v, "longer than 256 bytes"));
    }
    Ok(())
}

/// Compares two runs of ASCII digits by numeric value, whatever their length.
pub(crate) fn cmp_digits(a: &str, b: &str) -> Ordering {
    let a = a.trim_start_matches('0');
    let b = b.trim_start_matches('0');
    a.len().cmp(&b.len()).then_with(|| a.cmp(b))
}

/// Splits `s` after its leading run of bytes matching `pred`.
pub(crate) fn split_while(s: &str, pred: impl Fn(u8) -> bool) -> (&str, &str) {
    let end = s.bytes().position(|c| !pred(c)).unwrap_or(s.len());
    s.split_at(end)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn maps_osv_ecosystems() {
        let cases = [
            ("Debian:12", VersionScheme::Dpkg),
            ("Ubuntu:22.04:LTS", VersionScheme::Dpkg),
            ("Alpine:v3.19", VersionScheme::Apk),
            ("AlmaLinux:9", VersionScheme::Rpm),
            ("Rocky Linux:8", VersionScheme::Rpm),
            ("Red Hat", VersionScheme::Rpm),
            ("Red Hat:enterprise_linux:9::appstream", VersionScheme::Rpm),
            ("PyPI", VersionScheme::Pep440),
            ("npm", VersionScheme::Npm),
            ("crates.io", VersionScheme::Cargo),
            ("Go", VersionScheme::Go),
            ("Maven", VersionScheme::Maven),
            ("RubyGems", VersionScheme::RubyGems),
            ("NuGet", VersionScheme::NuGet),
            ("Packagist", VersionScheme::Composer),
        ];
        for (eco, scheme) in cases {
            assert_eq!(VersionScheme::for_osv_ecosystem(eco), Some(scheme), "{eco}");
        }
        assert_eq!(VersionScheme::for_osv_ecosystem("Hackage"), None);
        assert_eq!(VersionScheme::for_osv_ecosystem(""), None);
    }

    #[test]
    fn digit_runs_compare_by_value() {
        assert_eq!(cmp_digits("0010", "9"), Ordering::Greater);
        assert_eq!(cmp_digits("000", ""), Ordering::Equal);
        assert_eq!(
            cmp_digits(
                "999999999999999999999999999991",
                "999999999999999999999999999999"
            ),
            Ordering::Less
        );
    }

    #[test]
    fn error_names_the_version_and_is_bounded() {
        let long = "é".repeat(500);
        let err = VersionScheme::Dpkg.compare("1.0", &long).unwrap_err();
        assert!(err.version.len() <= 200);
        assert!(err.to_string().contains("dpkg"));
        let err = VersionScheme::Npm
            .compare("1.0.0", "not a version")
            .unwrap_err();
        assert_eq!(err.version, "not a version");
    }
}
