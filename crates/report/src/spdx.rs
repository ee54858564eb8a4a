//! SPDX 2.3 JSON (<https://spdx.github.io/spdx-spec/v2.3/>): the image SBOM.
//!
//! The image is the described package; it CONTAINS its operating system and every
//! package. Layer, source package and evidence paths travel as package annotations
//! (`crowsnest:<property>=<value>`, the same names as the CycloneDX properties); the
//! source package is also stated in `sourceInfo`. Output is deterministic like the
//! CycloneDX writer's.

use std::collections::BTreeSet;

use crowsnest_catalog::Inventory;
use crowsnest_model::Package;
use serde::Serialize;

use crate::cyclonedx::property;
use crate::licenses::{self, License};
use crate::subject::{
    DocumentOptions, ImageSubject, TOOL_NAME, document_time, format_utc_seconds, oci_purl,
    stable_uuid,
};

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct Document {
    spdx_version: &'static str,
    data_license: &'static str,
    #[serde(rename = "SPDXID")]
    spdx_id: &'static str,
    name: String,
    document_namespace: String,
    creation_info: CreationInfo,
    packages: Vec<SpdxPackage>,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    has_extracted_licensing_infos: Vec<ExtractedLicense>,
    relationships: Vec<Relationship>,
}

#[derive(Serialize)]
struct CreationInfo {
    created: String,
    creators: Vec<String>,
}

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct SpdxPackage {
    #[serde(rename = "SPDXID")]
    spdx_id: String,
    name: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    version_info: Option<String>,
    download_location: &'static str,
    files_analyzed: bool,
    #[serde(skip_serializing_if = "Option::is_none")]
    primary_package_purpose: Option<&'static str>,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    checksums: Vec<Checksum>,
    license_concluded: &'static str,
    license_declared: String,
    copyright_text: &'static str,
    #[serde(skip_serializing_if = "Option::is_none")]
    source_info: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    description: Option<String>,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    external_refs: Vec<ExternalRef>,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    annotations: Vec<Annotation>,
}

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct Checksum {
    algorithm: &'static str,
    checksum_value: String,
}

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct ExternalRef {
    reference_category: &'static str,
    reference_type: &'static str,
    reference_locator: String,
}

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct Annotation {
    annotation_date: String,
    annotation_type: &'static str,
    annotator: String,
    comment: String,
}

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct ExtractedLicense {
    license_id: String,
    extracted_text: String,
    name: String,
}

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct Relationship {
    spdx_element_id: String,
    relationship_type: &'static str,
    related_spdx_element: String,
}

const NOASSERTION: &str = "NOASSERTION";
const IMAGE_ID: &str = "SPDXRef-Image";
/// SPDX requires a creation time; an image without one gets the Unix epoch, which keeps
/// the document reproducible (like `SOURCE_DATE_EPOCH=0`).
const EPOCH: &str = "1970-01-01T00:00:00Z";

/// `SPDXRef-` followed by letters, digits, `.` and `-` only, as the specification requires.
pub(crate) fn sanitize_id(raw: &str) -> String {
    let mut id = String::with_capacity(raw.len() + 8);
    id.push_str("SPDXRef-");
    let mut last_dash = true;
    for c in raw.chars() {
        if c.is_ascii_alphanumeric() || c == '.' {
            id.push(c);
            last_dash = false;
        } else if !last_dash {
            id.push('-');
            last_dash = true;
        }
    }
    while id.ends_with('-') && id.len() > "SPDXRef-".len() {
        id.pop();
    }
    if id.len() == "SPDXRef-".len() {
        id.push_str("Package");
    }
    id
}

/// Unique SPDX ids: a sanitized id seen before gets `-2`, `-3`, ...
#[derive(Default)]
struct Ids {
    used: BTreeSet<String>,
}

impl Ids {
    fn claim(&mut self, raw: &str) -> String {
        let base = sanitize_id(raw);
        let mut candidate = base.clone();
        let mut n = 1;
        while !self.used.insert(candidate.clone()) {
            n += 1;
            candidate = format!("{base}-{n}");
        }
        candidate
    }
}

/// Declared licenses as one SPDX expression. Texts that are not valid SPDX become
/// `LicenseRef-` licenses, listed once in the document with their text.
struct LicenseRefs {
    extracted: Vec<ExtractedLicense>,
}

impl LicenseRefs {
    fn declared(&mut self, declared: &[String]) -> String {
        // (term, whether it needs parentheses next to other terms)
        let mut terms: Vec<(String, bool)> = Vec::new();
        for text in declared.iter().filter(|l| !l.trim().is_empty()) {
            let term = match licenses::classify(text) {
                License::Id(id) => (id.to_string(), false),
                License::Expression(expression) => (expression, true),
                License::Name(name) => (self.reference(&name), false),
            };
            if !terms.contains(&term) {
                terms.push(term);
            }
        }
        match terms.as_slice() {
            [] => NOASSERTION.to_string(),
            [(only, _)] => only.clone(),
            _ => terms
                .iter()
                .map(|(t, compound)| {
                    if *compound {
                        format!("({t})")
                    } else {
                        t.clone()
                    }
                })
                .collect::<Vec<_>>()
                .join(" AND "),
        }
    }

    fn reference(&mut self, name: &str) -> String {
        if let Some(existing) = self.extracted.iter().find(|e| e.extracted_text == name) {
            return existing.license_id.clone();
        }
        let mut id = sanitize_id(name).replacen("SPDXRef-", "LicenseRef-", 1);
        if self.extracted.iter().any(|e| e.license_id == id) {
            id = format!("{id}-{}", self.extracted.len() + 1);
        }
        self.extracted.push(ExtractedLicense {
            license_id: id.clone(),
            extracted_text: name.to_string(),
            name: name.to_string(),
        });
        id
    }
}

/// The SPDX 2.3 JSON SBOM of an image.
pub fn sbom(subject: &ImageSubject, inventory: &Inventory, options: &DocumentOptions) -> String {
    let created = document_time(subject, options)
        .map(format_utc_seconds)
        .unwrap_or_else(|| EPOCH.to_string());
    let annotator = format!("Tool: {TOOL_NAME}-{}", options.tool_version);
    let annotation = |comment: String| Annotation {
        annotation_date: created.clone(),
        annotation_type: "OTHER",
        annotator: annotator.clone(),
        comment,
    };

    let mut ids = Ids::default();
    ids.used.insert(IMAGE_ID.to_string());
    let mut license_refs = LicenseRefs {
        extracted: Vec::new(),
    };
    let mut packages = vec![image_package(subject, &annotation)];
    let mut relationships = vec![Relationship {
        spdx_element_id: "SPDXRef-DOCUMENT".to_string(),
        relationship_type: "DESCRIBES",
        related_spdx_element: IMAGE_ID.to_string(),
    }];
    let mut contains = |id: &str| {
        relationships.push(Relationship {
            spdx_element_id: IMAGE_ID.to_string(),
            relationship_type: "CONTAINS",
            related_spdx_element: id.to_string(),
        })
    };

    if let Some(distro) = &inventory.distro {
        let id = ids.claim(&format!(
            "OperatingSystem-{}-{}",
            distro.id, distro.version_id
        ));
        contains(&id);
        packages.push(SpdxPackage {
            spdx_id: id,
            name: distro.id.clone(),
            version_info: (!distro.version_id.is_empty()).then(|| distro.version_id.clone()),
            download_location: NOASSERTION,
            files_analyzed: false,
            primary_package_purpose: Some("OPERATING_SYSTEM"),
            checksums: Vec::new(),
            license_concluded: NOASSERTION,
            license_declared: NOASSERTION.to_string(),
            copyright_text: NOASSERTION,
            source_info: None,
            description: distro.pretty_name.clone(),
            external_refs: Vec::new(),
            annotations: distro
                .codename
                .iter()
                .map(|c| annotation(format!("{}={c}", property::DISTRO_CODENAME)))
                .collect(),
        });
    }

    for (package, _) in crate::cyclonedx::component_refs(&inventory.packages) {
        let id = ids.claim(&format!(
            "Package-{}-{}-{}",
            package.kind, package.name, package.version
        ));
        contains(&id);
        packages.push(package_entry(
            subject,
            package,
            id,
            &mut license_refs,
            &annotation,
        ));
    }

    let document = Document {
        spdx_version: "SPDX-2.3",
        data_license: "CC0-1.0",
        spdx_id: "SPDXRef-DOCUMENT",
        name: if subject.name.is_empty() {
            subject.identity()
        } else {
            subject.name.clone()
        },
        document_namespace: format!("urn:uuid:{}", stable_uuid("spdx", subject)),
        creation_info: CreationInfo {
            created,
            creators: vec![annotator.clone()],
        },
        packages,
        has_extracted_licensing_infos: license_refs.extracted,
        relationships,
    };
    let mut text = serde_json::to_string_pretty(&document).expect("SPDX structs serialize");
    text.push('\n');
    text
}

fn image_package(subject: &ImageSubject, annotation: &dyn Fn(String) -> Annotation) -> SpdxPackage {
    let mut annotations = Vec::new();
    if let Some(config) = &subject.config_digest {
        annotations.push(annotation(format!(
            "{}={config}",
            property::IMAGE_CONFIG_DIGEST
        )));
    }
    if let Some(platform) = &subject.platform {
        annotations.push(annotation(format!(
            "{}={platform}",
            property::IMAGE_PLATFORM
        )));
    }
    for (index, layer) in subject.layers.iter().enumerate() {
        annotations.push(annotation(format!(
            "{}:{index}={layer}",
            property::IMAGE_LAYER
        )));
    }
    SpdxPackage {
        spdx_id: IMAGE_ID.to_string(),
        name: subject.name.clone(),
        version_info: subject.manifest_digest.as_ref().map(ToString::to_string),
        download_location: NOASSERTION,
        files_analyzed: false,
        primary_package_purpose: Some("CONTAINER"),
        checksums: subject
            .manifest_digest
            .iter()
            .map(|d| Checksum {
                algorithm: match d.algorithm() {
                    crowsnest_model::digest::Algorithm::Sha256 => "SHA256",
                    crowsnest_model::digest::Algorithm::Sha512 => "SHA512",
                },
                checksum_value: d.hex().to_string(),
            })
            .collect(),
        license_concluded: NOASSERTION,
        license_declared: NOASSERTION.to_string(),
        copyright_text: NOASSERTION,
        source_info: None,
        description: None,
        external_refs: oci_purl(subject)
            .into_iter()
            .map(|purl| ExternalRef {
                reference_category: "PACKAGE-MANAGER",
                reference_type: "purl",
                reference_locator: purl,
            })
            .collect(),
        annotations,
    }
}

fn package_entry(
    subject: &ImageSubject,
    package: &Package,
    spdx_id: String,
    license_refs: &mut LicenseRefs,
    annotation: &dyn Fn(String) -> Annotation,
) -> SpdxPackage {
    let mut annotations = vec![annotation(format!("{}={}", property::KIND, package.kind))];
    if let Some(layer) = &package.layer {
        annotations.push(annotation(format!("{}={layer}", property::LAYER_DIFF_ID)));
        if let Some(index) = subject.layer_index(layer) {
            annotations.push(annotation(format!("{}={index}", property::LAYER_INDEX)));
        }
    }
    if let Some(source) = &package.source {
        annotations.push(annotation(format!(
            "{}={}",
            property::SOURCE_NAME,
            source.name
        )));
        annotations.push(annotation(format!(
            "{}={}",
            property::SOURCE_VERSION,
            source.version
        )));
    }
    let evidence: BTreeSet<&String> = package.evidence.iter().collect();
    for path in evidence {
        annotations.push(annotation(format!("{}={path}", property::EVIDENCE_PATH)));
    }
    SpdxPackage {
        spdx_id,
        name: package.name.clone(),
        version_info: Some(package.version.clone()),
        download_location: NOASSERTION,
        files_analyzed: false,
        primary_package_purpose: Some("LIBRARY"),
        checksums: Vec::new(),
        license_concluded: NOASSERTION,
        license_declared: license_refs.declared(&package.licenses),
        copyright_text: NOASSERTION,
        source_info: package
            .source
            .as_ref()
            .map(|s| format!("built from source package {} {}", s.name, s.version)),
        description: None,
        external_refs: (!package.purl.is_empty())
            .then(|| ExternalRef {
                reference_category: "PACKAGE-MANAGER",
                reference_type: "purl",
                reference_locator: package.purl.clone(),
            })
            .into_iter()
            .collect(),
        annotations,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ids_are_sanitized_and_unique() {
        assert_eq!(
            sanitize_id("Package-deb-libc6-2.36-9+deb12u4"),
            "SPDXRef-Package-deb-libc6-2.36-9-deb12u4"
        );
        assert_eq!(sanitize_id("@@@"), "SPDXRef-Package");
        assert_eq!(sanitize_id("a__b//"), "SPDXRef-a-b");
        let mut ids = Ids::default();
        assert_eq!(ids.claim("x y"), "SPDXRef-x-y");
        assert_eq!(ids.claim("x+y"), "SPDXRef-x-y-2");
        assert_eq!(ids.claim("x/y"), "SPDXRef-x-y-3");
    }

    #[test]
    fn declared_licenses_become_one_expression() {
        let mut refs = LicenseRefs {
            extracted: Vec::new(),
        };
        assert_eq!(refs.declared(&[]), NOASSERTION);
        assert_eq!(refs.declared(&["MIT".into()]), "MIT");
        assert_eq!(
            refs.declared(&["MIT OR Apache-2.0".into()]),
            "MIT OR Apache-2.0"
        );
        assert_eq!(
            refs.declared(&["MIT OR Apache-2.0".into(), "BSD-3-Clause".into()]),
            "(MIT OR Apache-2.0) AND BSD-3-Clause"
        );
        assert_eq!(
            refs.declared(&["GPL v2+".into(), "MIT".into()]),
            "LicenseRef-GPL-v2 AND MIT"
        );
        // The same free text maps to the same reference, listed once.
        assert_eq!(refs.declared(&["GPL v2+".into()]), "LicenseRef-GPL-v2");
        assert_eq!(refs.extracted.len(), 1);
    }
}
