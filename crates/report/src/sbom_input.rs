//! SBOMs made elsewhere (Syft, Trivy, Crowsnest itself) read back into packages, for
//! `crowsnest scan sbom FILE`: CycloneDX 1.4 to 1.6 JSON and SPDX 2.2 and 2.3 JSON.
//!
//! An SBOM is outside input. The whole document is refused only when it is not an SBOM
//! at all (too large, not JSON, nested too deep, neither format, a version this reader
//! does not know, fields of the wrong type); one component that cannot become a package
//! (no or a bad package URL, an ecosystem Crowsnest does not match) is skipped with the
//! reason, and the rest is read.

use std::str::FromStr;

use crowsnest_catalog::Inventory;
use crowsnest_model::{
    Confidence, CoordinateEvidence, Digest, Distro, Identity, Package, PackageKind, SourcePackage,
};
use packageurl::PackageUrl;
use serde::Deserialize;

use crate::cyclonedx::property;

/// Largest SBOM read. Syft's SBOM of a large image is tens of megabytes.
pub const MAX_SBOM_BYTES: usize = 128 << 20;
/// At most this many skipped components are listed (the count is still exact).
pub const MAX_SKIPPED_LISTED: usize = 1000;

#[derive(Debug, thiserror::Error)]
pub enum SbomInputError {
    #[error("{name}: the SBOM is {size} bytes, more than the limit of {limit} bytes")]
    TooLarge {
        name: String,
        size: usize,
        limit: usize,
    },
    #[error("{name}: not JSON (CycloneDX and SPDX are read as JSON only): {source}")]
    NotJson {
        name: String,
        #[source]
        source: serde_json::Error,
    },
    #[error(
        "{name}: neither a CycloneDX SBOM (\"bomFormat\": \"CycloneDX\") nor an SPDX SBOM (\"spdxVersion\")"
    )]
    UnknownFormat { name: String },
    #[error("{name}: {format} version {version:?} is not supported (expected {expected})")]
    UnsupportedVersion {
        name: String,
        format: &'static str,
        version: String,
        expected: &'static str,
    },
    #[error("{name}: not a valid {format} document: {source}")]
    Malformed {
        name: String,
        format: &'static str,
        #[source]
        source: serde_json::Error,
    },
}

/// Which SBOM format a document was.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum SbomFormat {
    CycloneDx { spec_version: String },
    Spdx { spdx_version: String },
}

/// A component or package of the SBOM that did not become a package, and why.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Skipped {
    /// The component's name (and version) as the SBOM states them.
    pub component: String,
    pub reason: String,
}

/// What an SBOM says is installed.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ImportedSbom {
    pub format: SbomFormat,
    /// From an operating-system component, else from the `distro` qualifier of a package URL.
    pub distro: Option<Distro>,
    /// Sorted by kind, name, version and architecture; exact duplicates removed.
    pub packages: Vec<Package>,
    /// At most [`MAX_SKIPPED_LISTED`] entries; see `skipped_count` for the total.
    pub skipped: Vec<Skipped>,
    pub skipped_count: usize,
}

impl ImportedSbom {
    /// The SBOM as an inventory, for the matcher and the findings renderers. Skipped
    /// components appear as unreadable entries named `sbom:<component>`.
    pub fn into_inventory(self) -> Inventory {
        Inventory {
            distro: self.distro,
            packages: self.packages,
            unreadable: self
                .skipped
                .into_iter()
                .map(|s| (format!("sbom:{}", s.component), s.reason))
                .collect(),
        }
    }
}

/// Reads a CycloneDX or SPDX JSON SBOM. `name` names the document in errors (a file name).
pub fn read_sbom(bytes: &[u8], name: &str) -> Result<ImportedSbom, SbomInputError> {
    if bytes.len() > MAX_SBOM_BYTES {
        return Err(SbomInputError::TooLarge {
            name: name.to_string(),
            size: bytes.len(),
            limit: MAX_SBOM_BYTES,
        });
    }
    // First pass: only the top-level fields that say what the document is. serde_json's
    // nesting limit (128) applies here and in the second pass.
    let probe: Probe = serde_json::from_slice(bytes).map_err(|source| {
        if source.is_data() {
            SbomInputError::UnknownFormat {
                name: name.to_string(),
            }
        } else {
            SbomInputError::NotJson {
                name: name.to_string(),
                source,
            }
        }
    })?;
    let mut reader = Reader::default();
    let format = if probe.bom_format.as_deref() == Some("CycloneDX") {
        let version = probe.spec_version.unwrap_or_default();
        if !matches!(version.as_str(), "1.4" | "1.5" | "1.6") {
            return Err(SbomInputError::UnsupportedVersion {
                name: name.to_string(),
                format: "CycloneDX",
                version,
                expected: "1.4, 1.5 or 1.6",
            });
        }
        let bom: CdxBom =
            serde_json::from_slice(bytes).map_err(|source| SbomInputError::Malformed {
                name: name.to_string(),
                format: "CycloneDX",
                source,
            })?;
        reader.cyclonedx(bom);
        SbomFormat::CycloneDx {
            spec_version: version,
        }
    } else if let Some(version) = probe.spdx_version {
        if !matches!(version.as_str(), "SPDX-2.2" | "SPDX-2.3") {
            return Err(SbomInputError::UnsupportedVersion {
                name: name.to_string(),
                format: "SPDX",
                version,
                expected: "SPDX-2.2 or SPDX-2.3",
            });
        }
        let doc: SpdxDocument =
            serde_json::from_slice(bytes).map_err(|source| SbomInputError::Malformed {
                name: name.to_string(),
                format: "SPDX",
                source,
            })?;
        reader.spdx(doc);
        SbomFormat::Spdx {
            spdx_version: version,
        }
    } else {
        return Err(SbomInputError::UnknownFormat {
            name: name.to_string(),
        });
    };
    Ok(reader.finish(format))
}

#[derive(Deserialize)]
struct Probe {
    #[serde(rename = "bomFormat")]
    bom_format: Option<String>,
    #[serde(rename = "specVersion")]
    spec_version: Option<String>,
    #[serde(rename = "spdxVersion")]
    spdx_version: Option<String>,
}

#[derive(Deserialize, Default)]
#[serde(default)]
struct CdxBom {
    components: Vec<CdxComponent>,
}

#[derive(Deserialize, Default)]
#[serde(default)]
struct CdxComponent {
    #[serde(rename = "type")]
    kind: Option<String>,
    name: Option<String>,
    version: Option<String>,
    description: Option<String>,
    purl: Option<String>,
    licenses: Vec<CdxLicenseChoice>,
    properties: Vec<CdxProperty>,
    components: Vec<CdxComponent>,
    hashes: Vec<CdxHash>,
}

#[derive(Deserialize, Default)]
#[serde(default)]
struct CdxHash {
    alg: Option<String>,
    content: Option<String>,
}

#[derive(Deserialize, Default)]
#[serde(default)]
struct CdxLicenseChoice {
    license: Option<CdxLicense>,
    expression: Option<String>,
}

#[derive(Deserialize, Default)]
#[serde(default)]
struct CdxLicense {
    id: Option<String>,
    name: Option<String>,
}

#[derive(Deserialize, Default)]
#[serde(default)]
struct CdxProperty {
    name: Option<String>,
    value: Option<String>,
}

#[derive(Deserialize, Default)]
#[serde(default)]
struct SpdxDocument {
    packages: Vec<SpdxPackage>,
}

#[derive(Deserialize, Default)]
#[serde(default, rename_all = "camelCase")]
struct SpdxPackage {
    name: Option<String>,
    version_info: Option<String>,
    description: Option<String>,
    primary_package_purpose: Option<String>,
    license_declared: Option<String>,
    external_refs: Vec<SpdxExternalRef>,
    annotations: Vec<SpdxAnnotation>,
}

#[derive(Deserialize, Default)]
#[serde(default, rename_all = "camelCase")]
struct SpdxExternalRef {
    reference_type: Option<String>,
    reference_locator: Option<String>,
}

#[derive(Deserialize, Default)]
#[serde(default)]
struct SpdxAnnotation {
    comment: Option<String>,
}

/// What one component says beyond its package URL, from properties or annotations of
/// Crowsnest, Syft or Trivy.
#[derive(Default)]
struct Extra {
    source_name: Option<String>,
    source_version: Option<String>,
    layer: Option<String>,
    evidence: Vec<String>,
    identity_confidence: Option<Confidence>,
    identity_evidence: Vec<CoordinateEvidence>,
    sha1: Option<String>,
}

impl Extra {
    /// How the coordinates were established, when the SBOM says (Crowsnest's own
    /// properties); `None` for declared packages.
    fn identity(&mut self) -> Option<Identity> {
        Some(Identity {
            confidence: self.identity_confidence?,
            evidence: std::mem::take(&mut self.identity_evidence),
            sha1: self.sha1.take(),
        })
    }

    fn set(&mut self, name: &str, value: &str) {
        let value = value.trim();
        if value.is_empty() {
            return;
        }
        match name {
            property::SOURCE_NAME | "aquasecurity:trivy:SrcName" | "syft:metadata:source" => {
                self.source_name = Some(value.to_string())
            }
            property::SOURCE_VERSION
            | "aquasecurity:trivy:SrcVersion"
            | "syft:metadata:sourceVersion" => self.source_version = Some(value.to_string()),
            property::LAYER_DIFF_ID | "aquasecurity:trivy:LayerDiffID" => {
                self.layer = Some(value.to_string())
            }
            property::EVIDENCE_PATH | "aquasecurity:trivy:FilePath" => {
                self.evidence.push(value.to_string())
            }
            property::IDENTITY_CONFIDENCE => self.identity_confidence = Confidence::parse(value),
            property::IDENTITY_EVIDENCE => {
                if let Some((coordinate, source)) = value.split_once('=') {
                    self.identity_evidence.push(CoordinateEvidence {
                        coordinate: coordinate.to_string(),
                        source: source.to_string(),
                    });
                }
            }
            // Syft numbers its locations: syft:location:0:path, syft:location:1:path ...
            n if n.starts_with("syft:location:") && n.ends_with(":path") => {
                self.evidence.push(value.to_string())
            }
            _ => {}
        }
    }
}

#[derive(Default)]
struct Reader {
    os_distro: Option<Distro>,
    purl_distro: Option<Distro>,
    packages: Vec<Package>,
    skipped: Vec<Skipped>,
    skipped_count: usize,
}

impl Reader {
    fn skip(&mut self, name: Option<&str>, version: Option<&str>, reason: String) {
        self.skipped_count += 1;
        if self.skipped.len() < MAX_SKIPPED_LISTED {
            let component = match (name, version) {
                (Some(n), Some(v)) => format!("{n}@{v}"),
                (Some(n), None) => n.to_string(),
                _ => "(unnamed)".to_string(),
            };
            self.skipped.push(Skipped { component, reason });
        }
    }

    fn os(&mut self, name: Option<&str>, version: Option<&str>, description: Option<&str>) {
        if self.os_distro.is_some() {
            return;
        }
        if let Some(id) = name.map(str::trim).filter(|n| !n.is_empty()) {
            self.os_distro = Some(Distro {
                id: id.to_ascii_lowercase(),
                version_id: version.unwrap_or_default().trim().to_string(),
                codename: None,
                pretty_name: description.map(str::to_string),
            });
        }
    }

    fn cyclonedx(&mut self, bom: CdxBom) {
        // Nested components (assemblies) are walked with a stack: no recursion on input.
        let mut stack: Vec<CdxComponent> = bom.components.into_iter().rev().collect();
        while let Some(mut c) = stack.pop() {
            stack.extend(std::mem::take(&mut c.components).into_iter().rev());
            // An image inside the SBOM (Trivy lists base images so): not a package.
            if c.kind.as_deref() == Some("container") {
                continue;
            }
            if c.kind.as_deref() == Some("operating-system") {
                self.os(
                    c.name.as_deref(),
                    c.version.as_deref(),
                    c.description.as_deref(),
                );
                continue;
            }
            let mut extra = Extra::default();
            for p in &c.properties {
                if let (Some(n), Some(v)) = (&p.name, &p.value) {
                    extra.set(n, v);
                }
            }
            extra.sha1 = c
                .hashes
                .iter()
                .find(|h| h.alg.as_deref() == Some(crate::cyclonedx::SHA1_ALG))
                .and_then(|h| h.content.clone());
            let licenses = c
                .licenses
                .iter()
                .filter_map(|l| {
                    l.expression.clone().or_else(|| {
                        l.license
                            .as_ref()
                            .and_then(|l| l.id.clone().or_else(|| l.name.clone()))
                    })
                })
                .collect();
            self.component(
                c.name.as_deref(),
                c.version.as_deref(),
                c.purl.as_deref(),
                extra,
                licenses,
            );
        }
    }

    fn spdx(&mut self, doc: SpdxDocument) {
        for p in doc.packages {
            // The SPDX 2.3 schema spells it with `_`, its prose with `-`: accept both.
            if matches!(
                p.primary_package_purpose.as_deref(),
                Some("OPERATING_SYSTEM" | "OPERATING-SYSTEM")
            ) {
                self.os(
                    p.name.as_deref(),
                    p.version_info.as_deref(),
                    p.description.as_deref(),
                );
                continue;
            }
            // The image itself, or a file or an archive without a package URL: nothing
            // to match.
            let purpose = p.primary_package_purpose.as_deref();
            if purpose == Some("CONTAINER")
                || matches!(purpose, Some("FILE" | "SOURCE" | "ARCHIVE"))
                    && !p
                        .external_refs
                        .iter()
                        .any(|r| r.reference_type.as_deref() == Some("purl"))
            {
                continue;
            }
            let mut extra = Extra::default();
            for a in &p.annotations {
                if let Some((n, v)) = a.comment.as_deref().and_then(|c| c.split_once('=')) {
                    extra.set(n.trim(), v);
                }
            }
            let purl = p
                .external_refs
                .iter()
                .find(|r| r.reference_type.as_deref() == Some("purl"))
                .and_then(|r| r.reference_locator.as_deref());
            let licenses = p
                .license_declared
                .clone()
                .filter(|l| !matches!(l.as_str(), "NOASSERTION" | "NONE" | ""))
                .into_iter()
                .collect();
            self.component(
                p.name.as_deref(),
                p.version_info.as_deref(),
                purl,
                extra,
                licenses,
            );
        }
    }

    fn component(
        &mut self,
        name: Option<&str>,
        version: Option<&str>,
        purl: Option<&str>,
        extra: Extra,
        licenses: Vec<String>,
    ) {
        let Some(purl) = purl.map(str::trim).filter(|p| !p.is_empty()) else {
            self.skip(
                name,
                version,
                "no package URL: the ecosystem is unknown".to_string(),
            );
            return;
        };
        match package_from_purl(purl, version, extra, licenses) {
            Ok((mut package, distro)) => {
                // Keep the SBOM's spelling of the name (`PyYAML`) when it is the purl's
                // name up to case and separators (`pyyaml`).
                if let Some(name) = name.map(str::trim)
                    && loose_name(name) == loose_name(&package.name)
                {
                    package.name = name.to_string();
                }
                if self.purl_distro.is_none() {
                    self.purl_distro = distro;
                }
                self.packages.push(package);
            }
            Err(reason) => self.skip(name, version, reason),
        }
    }

    fn finish(mut self, format: SbomFormat) -> ImportedSbom {
        self.packages.sort_by(|a, b| {
            (a.kind, &a.name, &a.version, &a.arch, &a.purl, &a.layer)
                .cmp(&(b.kind, &b.name, &b.version, &b.arch, &b.purl, &b.layer))
        });
        self.packages.dedup();
        ImportedSbom {
            format,
            distro: self.os_distro.or(self.purl_distro),
            packages: self.packages,
            skipped: self.skipped,
            skipped_count: self.skipped_count,
        }
    }
}

/// A name compared without case and with `-`, `_` and `.` alike (PEP 503's rule, which
/// also covers the purl spec's lowercasing of PyPI and other names).
fn loose_name(name: &str) -> String {
    name.chars()
        .map(|c| match c {
            '_' | '.' => '-',
            c => c.to_ascii_lowercase(),
        })
        .collect()
}

fn kind_of_purl_type(ty: &str) -> Option<PackageKind> {
    Some(match ty {
        "deb" => PackageKind::Deb,
        "apk" | "alpine" => PackageKind::Apk,
        "rpm" => PackageKind::Rpm,
        "pypi" => PackageKind::Python,
        "npm" => PackageKind::Npm,
        "maven" => PackageKind::Maven,
        "golang" => PackageKind::Go,
        "cargo" => PackageKind::Cargo,
        "gem" => PackageKind::Gem,
        "composer" => PackageKind::Composer,
        "nuget" => PackageKind::NuGet,
        _ => return None,
    })
}

/// `debian-12`, `alpine-3.19.1`, `ubuntu-22.04`: id, then the version after the last `-`.
fn distro_of_qualifier(value: &str) -> Option<Distro> {
    let (id, version) = value.rsplit_once('-')?;
    if id.is_empty() || !version.starts_with(|c: char| c.is_ascii_digit()) {
        return None;
    }
    Some(Distro {
        id: id.to_ascii_lowercase(),
        version_id: version.to_string(),
        ..Default::default()
    })
}

/// `name-version-release.src.rpm` → (name, version-release).
fn parse_source_rpm(srpm: &str) -> Option<(String, String)> {
    let base = srpm
        .strip_suffix(".src.rpm")
        .or(srpm.strip_suffix(".nosrc.rpm"))?;
    let (rest, release) = base.rsplit_once('-')?;
    let (name, version) = rest.rsplit_once('-')?;
    if name.is_empty() || version.is_empty() || release.is_empty() {
        return None;
    }
    Some((name.to_string(), format!("{version}-{release}")))
}

type Converted = (Package, Option<Distro>);

fn package_from_purl(
    text: &str,
    component_version: Option<&str>,
    mut extra: Extra,
    licenses: Vec<String>,
) -> Result<Converted, String> {
    let identity = extra.identity();
    let purl = PackageUrl::from_str(text).map_err(|e| format!("package URL {text:?}: {e}"))?;
    let kind = kind_of_purl_type(purl.ty()).ok_or_else(|| {
        format!(
            "package URL {text:?}: type {:?} is not an ecosystem Crowsnest matches",
            purl.ty()
        )
    })?;
    let namespace = purl.namespace().filter(|n| !n.is_empty());
    let name = match (kind, namespace) {
        (PackageKind::Maven, Some(group)) => format!("{group}:{}", purl.name()),
        (PackageKind::Maven, None) => {
            return Err(format!(
                "package URL {text:?}: a Maven package needs a group"
            ));
        }
        (PackageKind::Npm | PackageKind::Go | PackageKind::Composer, Some(ns)) => {
            format!("{ns}/{}", purl.name())
        }
        _ => purl.name().to_string(),
    };
    let version = purl
        .version()
        .or(component_version)
        .map(str::trim)
        .filter(|v| !v.is_empty())
        .ok_or_else(|| format!("package URL {text:?}: no version"))?
        .to_string();
    let qualifier = |key: &str| {
        purl.qualifiers()
            .iter()
            .find(|(k, _)| k.as_ref() == key)
            .map(|(_, v)| v.to_string())
            .filter(|v| !v.is_empty())
    };
    let epoch = match qualifier("epoch") {
        Some(e) => Some(
            e.parse::<u32>()
                .map_err(|_| format!("package URL {text:?}: epoch {e:?} is not a number"))?,
        ),
        None => None,
    };
    // An rpm purl may carry the epoch in its version (`1:2.3-4`) instead.
    let (epoch, version) = match (kind, epoch, version.split_once(':')) {
        (PackageKind::Rpm, None, Some((e, v))) if e.parse::<u32>().is_ok() => {
            (e.parse::<u32>().ok(), v.to_string())
        }
        _ => (epoch, version),
    };

    let upstream = qualifier("upstream");
    let source = match (extra.source_name, extra.source_version) {
        (Some(name), Some(version)) => Some(SourcePackage { name, version }),
        (Some(name), None) => Some(SourcePackage {
            name,
            version: version.clone(),
        }),
        _ if kind.is_os() => upstream.and_then(|u| match kind {
            PackageKind::Rpm => {
                parse_source_rpm(&u).map(|(name, version)| SourcePackage { name, version })
            }
            _ => Some(match u.split_once('@') {
                Some((n, v)) => SourcePackage {
                    name: n.to_string(),
                    version: v.to_string(),
                },
                None => SourcePackage {
                    name: u,
                    version: version.clone(),
                },
            }),
        }),
        _ => None,
    };
    let layer = match extra.layer {
        Some(l) => Some(
            l.parse::<Digest>()
                .map_err(|e| format!("package URL {text:?}: layer {e}"))?,
        ),
        None => None,
    };
    let distro = qualifier("distro").and_then(|d| distro_of_qualifier(&d));
    let mut evidence = extra.evidence;
    evidence.sort();
    evidence.dedup();
    Ok((
        Package {
            kind,
            name,
            version,
            epoch,
            arch: qualifier("arch"),
            source,
            purl: text.to_string(),
            licenses,
            layer,
            evidence,
            identity,
        },
        distro,
    ))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn distro_qualifiers() {
        let d = distro_of_qualifier("debian-12").unwrap();
        assert_eq!((d.id.as_str(), d.version_id.as_str()), ("debian", "12"));
        let d = distro_of_qualifier("alpine-3.19.1").unwrap();
        assert_eq!((d.id.as_str(), d.version_id.as_str()), ("alpine", "3.19.1"));
        assert_eq!(distro_of_qualifier("debian"), None);
        assert_eq!(distro_of_qualifier("-12"), None);
        assert_eq!(distro_of_qualifier("debian-bookworm"), None);
    }

    #[test]
    fn source_rpms() {
        assert_eq!(
            parse_source_rpm("openssl-3.0.7-24.el9.src.rpm"),
            Some(("openssl".into(), "3.0.7-24.el9".into()))
        );
        assert_eq!(parse_source_rpm("openssl.src.rpm"), None);
        assert_eq!(parse_source_rpm("openssl-3.0.7-24.el9"), None);
    }

    #[test]
    fn purls_become_packages() {
        let (p, d) = package_from_purl(
            "pkg:deb/debian/libssl3@3.0.11-1~deb12u2?arch=amd64&distro=debian-12&upstream=openssl",
            None,
            Extra::default(),
            vec![],
        )
        .unwrap();
        assert_eq!(p.kind, PackageKind::Deb);
        assert_eq!(p.name, "libssl3");
        assert_eq!(p.version, "3.0.11-1~deb12u2");
        assert_eq!(p.arch.as_deref(), Some("amd64"));
        assert_eq!(
            p.source,
            Some(SourcePackage {
                name: "openssl".into(),
                version: "3.0.11-1~deb12u2".into()
            })
        );
        assert_eq!(d.unwrap().version_id, "12");

        let (p, _) = package_from_purl(
            "pkg:maven/org.apache.logging.log4j/log4j-core@2.14.1",
            None,
            Extra::default(),
            vec![],
        )
        .unwrap();
        assert_eq!(p.name, "org.apache.logging.log4j:log4j-core");

        let (p, _) = package_from_purl(
            "pkg:npm/%40babel/core@7.0.0",
            None,
            Extra::default(),
            vec![],
        )
        .unwrap();
        assert_eq!(p.name, "@babel/core");

        let (p, _) = package_from_purl(
            "pkg:rpm/almalinux/bash@5.1.8-6.el9?epoch=1&upstream=bash-5.1.8-6.el9.src.rpm",
            None,
            Extra::default(),
            vec![],
        )
        .unwrap();
        assert_eq!(p.epoch, Some(1));
        assert_eq!(p.source.unwrap().version, "5.1.8-6.el9");
    }

    #[test]
    fn bad_purls_are_reasons() {
        for (purl, needle) in [
            ("pkg:", "package URL"),
            ("not a purl", "package URL"),
            ("pkg:github/foo/bar@1", "not an ecosystem"),
            ("pkg:maven/log4j-core@1", "needs a group"),
            ("pkg:pypi/requests", "no version"),
            ("pkg:rpm/x/y@1?epoch=abc", "epoch"),
        ] {
            let err = package_from_purl(purl, None, Extra::default(), vec![]).unwrap_err();
            assert!(err.contains(needle), "{purl}: {err}");
        }
    }
}
