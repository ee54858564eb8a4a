//! Package URLs as VEX documents and ignore rules use them: a pattern that matches the
//! package URLs of installed packages (and of images, `pkg:oci/…`).
//!
//! The usual PURL semantics: type, namespace and name must be equal (per the type's
//! normalization: PyPI names are case-insensitive with `_` = `-`, npm and most others
//! compare exactly); a pattern without a version matches every version; every qualifier
//! the pattern names must be present with the same value (the package may have more:
//! `pkg:deb/debian/libssl3@3.0.11-1~deb12u2` matches the installed package's
//! `…?arch=amd64&distro=debian-12`); a subpath, when the pattern has one, must be equal.

use std::fmt;
use std::str::FromStr;

use packageurl::PackageUrl;

/// Longest package URL accepted from a document (real ones are far shorter).
const MAX_PURL_LEN: usize = 4096;

/// A parsed package URL used as a pattern.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct PurlPattern {
    text: String,
    ty: String,
    namespace: Option<String>,
    name: String,
    version: Option<String>,
    qualifiers: Vec<(String, String)>,
    subpath: Option<String>,
}

/// A string that is not a package URL.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
#[error("invalid package URL {purl:?}: {reason}")]
pub struct PurlError {
    pub purl: String,
    pub reason: String,
}

impl FromStr for PurlPattern {
    type Err = PurlError;

    fn from_str(text: &str) -> Result<Self, Self::Err> {
        let error = |reason: String| PurlError {
            purl: text.chars().take(200).collect(),
            reason,
        };
        if text.len() > MAX_PURL_LEN {
            return Err(error(format!("longer than {MAX_PURL_LEN} bytes")));
        }
        let parsed = PackageUrl::from_str(text.trim()).map_err(|e| error(e.to_string()))?;
        let ty = parsed.ty().to_ascii_lowercase();
        let mut qualifiers: Vec<(String, String)> = parsed
            .qualifiers()
            .iter()
            .map(|(k, v)| (k.to_ascii_lowercase(), v.to_string()))
            .collect();
        qualifiers.sort();
        Ok(PurlPattern {
            text: text.trim().to_string(),
            namespace: parsed.namespace().map(|n| normalize(&ty, n)),
            name: normalize(&ty, parsed.name()),
            version: parsed.version().map(str::to_string),
            qualifiers,
            subpath: parsed.subpath().map(str::to_string),
            ty,
        })
    }
}

/// Name normalization per PURL type, applied to both sides before comparing.
fn normalize(ty: &str, s: &str) -> String {
    match ty {
        // PEP 503: case-insensitive, runs of `-`, `_`, `.` are one separator.
        "pypi" => {
            let mut out = String::with_capacity(s.len());
            let mut last_sep = false;
            for c in s.chars() {
                if matches!(c, '-' | '_' | '.') {
                    if !last_sep {
                        out.push('-');
                    }
                    last_sep = true;
                } else {
                    out.extend(c.to_lowercase());
                    last_sep = false;
                }
            }
            out
        }
        // These types are case-insensitive by the PURL specification.
        "deb" | "apk" | "rpm" | "github" | "bitbucket" | "golang" | "composer" | "oci" => {
            s.to_lowercase()
        }
        _ => s.to_string(),
    }
}

impl PurlPattern {
    pub fn ty(&self) -> &str {
        &self.ty
    }

    pub fn name(&self) -> &str {
        &self.name
    }

    pub fn version(&self) -> Option<&str> {
        self.version.as_deref()
    }

    pub fn qualifier(&self, key: &str) -> Option<&str> {
        self.qualifiers
            .iter()
            .find(|(k, _)| k == key)
            .map(|(_, v)| v.as_str())
    }

    pub fn as_str(&self) -> &str {
        &self.text
    }

    /// Whether this names an image rather than a package.
    pub fn is_image(&self) -> bool {
        matches!(self.ty.as_str(), "oci" | "docker")
    }

    /// Whether `other` (a concrete package URL) is one this pattern stands for.
    pub fn matches(&self, other: &PurlPattern) -> bool {
        self.ty == other.ty
            && self.namespace == other.namespace
            && self.name == other.name
            && self
                .version
                .as_ref()
                .is_none_or(|v| other.version.as_ref() == Some(v))
            && self.qualifiers.iter().all(|(k, v)| {
                other.qualifier(k) == Some(v.as_str())
                    // Installed packages name their distro as `debian-12`; documents
                    // often say `debian-12.5`: the release is what matters.
                    || (k == "distro" && other.qualifier(k).is_some_and(|o| same_release(v, o)))
            })
            && self
                .subpath
                .as_ref()
                .is_none_or(|s| other.subpath.as_ref() == Some(s))
    }

    /// [`Self::matches`] for a package URL given as text; an unparsable one never matches.
    pub fn matches_str(&self, purl: &str) -> bool {
        purl.parse::<PurlPattern>()
            .is_ok_and(|other| self.matches(&other))
    }
}

/// `debian-12` and `debian-12.5` (or `bookworm`-less variants) name the same release.
fn same_release(a: &str, b: &str) -> bool {
    let major = |s: &str| s.split('.').next().unwrap_or(s).to_ascii_lowercase();
    major(a) == major(b)
}

impl fmt::Display for PurlPattern {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.text)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn p(s: &str) -> PurlPattern {
        s.parse().unwrap()
    }

    #[test]
    fn versionless_patterns_match_every_version() {
        let pattern = p("pkg:maven/org.apache.logging.log4j/log4j-core");
        assert!(pattern.matches(&p("pkg:maven/org.apache.logging.log4j/log4j-core@2.14.1")));
        assert!(!pattern.matches(&p("pkg:maven/org.apache.logging.log4j/log4j-api@2.14.1")));
        let exact = p("pkg:maven/org.apache.logging.log4j/log4j-core@2.14.1");
        assert!(!exact.matches(&p("pkg:maven/org.apache.logging.log4j/log4j-core@2.17.1")));
    }

    #[test]
    fn qualifiers_of_the_pattern_must_be_present() {
        let installed = p("pkg:deb/debian/libssl3@3.0.11-1~deb12u2?arch=amd64&distro=debian-12");
        assert!(p("pkg:deb/debian/libssl3@3.0.11-1~deb12u2").matches(&installed));
        assert!(p("pkg:deb/debian/libssl3?arch=amd64").matches(&installed));
        assert!(p("pkg:deb/debian/libssl3?distro=debian-12.5").matches(&installed));
        assert!(!p("pkg:deb/debian/libssl3?arch=arm64").matches(&installed));
        assert!(!p("pkg:deb/debian/libssl3?distro=debian-11").matches(&installed));
        // The reverse does not hold: a pattern qualifier the package lacks.
        assert!(!installed.matches(&p("pkg:deb/debian/libssl3@3.0.11-1~deb12u2")));
    }

    #[test]
    fn pypi_names_normalize() {
        assert!(p("pkg:pypi/PyYAML").matches(&p("pkg:pypi/pyyaml@6.0")));
        assert!(p("pkg:pypi/markupsafe").matches(&p("pkg:pypi/MarkupSafe@2.1.3")));
        assert!(!p("pkg:pypi/markup-safe").matches(&p("pkg:pypi/MarkupSafe@2.1.3")));
    }

    #[test]
    fn bad_and_huge_purls_are_errors() {
        assert!("not a purl".parse::<PurlPattern>().is_err());
        let huge = format!("pkg:npm/{}", "a".repeat(MAX_PURL_LEN));
        let err = huge.parse::<PurlPattern>().unwrap_err();
        assert!(err.purl.len() <= 200, "the error quotes a bounded prefix");
    }
}
