//! CycloneDX 1.6 JSON (<https://cyclonedx.org/docs/1.6/json/>): the image SBOM, and the
//! same document with a `vulnerabilities` section for findings.
//!
//! Own serde structs, written for exactly what Crowsnest emits. Output is deterministic:
//! components sorted, the serial number a name-based UUID of the image digest, the
//! timestamp the image's creation time unless the caller overrides it.

use std::collections::BTreeMap;

use crowsnest_catalog::Inventory;
use crowsnest_model::finding::FindingPackage;
use crowsnest_model::{Digest, Distro, Package};
use serde::Serialize;

use crate::licenses::{self, License};
use crate::subject::{
    DocumentOptions, ImageSubject, TOOL_NAME, document_time, format_utc_seconds, stable_uuid,
};

/// Names of the `crowsnest:` properties, shared with the SBOM reader.
pub mod property {
    pub const KIND: &str = "crowsnest:package:kind";
    pub const LAYER_DIFF_ID: &str = "crowsnest:layer:diffID";
    pub const LAYER_INDEX: &str = "crowsnest:layer:index";
    pub const SOURCE_NAME: &str = "crowsnest:source:name";
    pub const SOURCE_VERSION: &str = "crowsnest:source:version";
    pub const EVIDENCE_PATH: &str = "crowsnest:evidence:path";
    pub const IMAGE_CONFIG_DIGEST: &str = "crowsnest:image:configDigest";
    pub const IMAGE_PLATFORM: &str = "crowsnest:image:platform";
    /// Followed by `:<index>`, lowest layer 0.
    pub const IMAGE_LAYER: &str = "crowsnest:image:layer";
    pub const DISTRO_CODENAME: &str = "crowsnest:distro:codename";
    /// `path: reason` of a file the catalogers could not read.
    pub const UNREADABLE: &str = "crowsnest:unreadable";
    /// `inferred` (coordinates derived from what a file says, not declared by it) or
    /// `checksum` (the file's SHA-1 found in a local index of the repository).
    pub const IDENTITY: &str = "crowsnest:identity";
    /// `checksum`, `high`, `medium` or `low` (see docs/inventory.md).
    pub const IDENTITY_CONFIDENCE: &str = "crowsnest:identity:confidence";
    /// `coordinate=source`, one per coordinate (`groupId=Bundle-SymbolicName`).
    pub const IDENTITY_EVIDENCE: &str = "crowsnest:identity:evidence";
}

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
pub(crate) struct Bom {
    #[serde(rename = "$schema")]
    schema: &'static str,
    bom_format: &'static str,
    spec_version: &'static str,
    serial_number: String,
    version: u32,
    metadata: Metadata,
    components: Vec<Component>,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    dependencies: Vec<Dependency>,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub(crate) vulnerabilities: Vec<crate::findings::cyclonedx::Vulnerability>,
}

#[derive(Serialize)]
struct Metadata {
    #[serde(skip_serializing_if = "Option::is_none")]
    timestamp: Option<String>,
    tools: Tools,
    component: Component,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    properties: Vec<Property>,
}

#[derive(Serialize)]
struct Tools {
    components: Vec<Component>,
}

#[derive(Serialize)]
struct Component {
    #[serde(rename = "bom-ref", skip_serializing_if = "Option::is_none")]
    bom_ref: Option<String>,
    #[serde(rename = "type")]
    kind: &'static str,
    name: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    version: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    description: Option<String>,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    hashes: Vec<Hash>,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    licenses: Vec<LicenseChoice>,
    #[serde(skip_serializing_if = "Option::is_none")]
    purl: Option<String>,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    properties: Vec<Property>,
}

impl Component {
    fn new(kind: &'static str, name: String) -> Component {
        Component {
            bom_ref: None,
            kind,
            name,
            version: None,
            description: None,
            hashes: Vec::new(),
            licenses: Vec::new(),
            purl: None,
            properties: Vec::new(),
        }
    }
}

#[derive(Serialize)]
struct Hash {
    alg: &'static str,
    content: String,
}

/// The CycloneDX name of the SHA-1 algorithm, shared with the SBOM reader.
pub(crate) const SHA1_ALG: &str = "SHA-1";

impl Hash {
    fn of(digest: &Digest) -> Hash {
        let alg = match digest.algorithm() {
            crowsnest_model::digest::Algorithm::Sha256 => "SHA-256",
            crowsnest_model::digest::Algorithm::Sha512 => "SHA-512",
        };
        Hash {
            alg,
            content: digest.hex().to_string(),
        }
    }
}

/// CycloneDX's license choice: a list of licenses, or exactly one expression.
#[derive(Serialize)]
#[serde(untagged)]
enum LicenseChoice {
    License { license: LicenseEntry },
    Expression { expression: String },
}

#[derive(Serialize)]
#[serde(untagged)]
enum LicenseEntry {
    Id { id: &'static str },
    Name { name: String },
}

#[derive(Serialize)]
pub(crate) struct Property {
    name: String,
    value: String,
}

pub(crate) fn prop(name: impl Into<String>, value: impl Into<String>) -> Property {
    Property {
        name: name.into(),
        value: value.into(),
    }
}

#[derive(Serialize)]
struct Dependency {
    #[serde(rename = "ref")]
    reference: String,
    #[serde(rename = "dependsOn")]
    depends_on: Vec<String>,
}

impl Bom {
    /// Drops the components no vulnerability affects and the dependency graph: what a
    /// standalone VEX document carries.
    pub(crate) fn keep_affected_components(&mut self) {
        let affected: std::collections::BTreeSet<&str> = self
            .vulnerabilities
            .iter()
            .flat_map(|v| v.affected_refs())
            .collect();
        self.components
            .retain(|c| c.bom_ref.as_deref().is_some_and(|r| affected.contains(r)));
        self.dependencies.clear();
    }

    /// Adds a component for a finding's package that the inventory does not list, once,
    /// and returns its `bom-ref`.
    pub(crate) fn add_finding_package(&mut self, package: &FindingPackage) -> String {
        let reference = if package.purl.is_empty() {
            format!(
                "crowsnest:{}:{}@{}",
                package.kind, package.name, package.version
            )
        } else {
            package.purl.clone()
        };
        let exists = self
            .components
            .iter()
            .any(|c| c.bom_ref.as_deref() == Some(reference.as_str()));
        if !exists {
            let mut c = Component::new("library", package.name.clone());
            c.bom_ref = Some(reference.clone());
            c.version = Some(package.version.clone());
            c.purl = (!package.purl.is_empty()).then(|| package.purl.clone());
            c.properties
                .push(prop(property::KIND, package.kind.as_str()));
            if let Some(layer) = &package.layer {
                c.properties
                    .push(prop(property::LAYER_DIFF_ID, layer.to_string()));
            }
            self.components.push(c);
            if let Some(root) = self.dependencies.first_mut() {
                root.depends_on.push(reference.clone());
            }
        }
        reference
    }
}

const SCHEMA_URL: &str = "http://cyclonedx.org/schema/bom-1.6.schema.json";
const IMAGE_REF: &str = "image";

/// Packages in document order, each with its `bom-ref`. The order and the references depend
/// only on the packages, so a findings report can name the same components.
pub(crate) fn component_refs(packages: &[Package]) -> Vec<(&Package, String)> {
    let mut sorted: Vec<&Package> = packages.iter().collect();
    sorted.sort_by(|a, b| {
        (&a.purl, &a.name, &a.version, a.kind, &a.layer, &a.evidence).cmp(&(
            &b.purl,
            &b.name,
            &b.version,
            b.kind,
            &b.layer,
            &b.evidence,
        ))
    });
    let mut uses: BTreeMap<String, usize> = BTreeMap::new();
    sorted
        .into_iter()
        .map(|p| {
            let base = if p.purl.is_empty() {
                format!("crowsnest:{}:{}@{}", p.kind, p.name, p.version)
            } else {
                p.purl.clone()
            };
            let n = uses.entry(base.clone()).or_insert(0);
            *n += 1;
            let reference = if *n == 1 { base } else { format!("{base}#{n}") };
            (p, reference)
        })
        .collect()
}

fn distro_ref(distro: &Distro) -> String {
    format!("os:{}@{}", distro.id, distro.version_id)
}

/// Builds the CycloneDX document of an image's inventory.
pub(crate) fn build(
    subject: &ImageSubject,
    inventory: &Inventory,
    options: &DocumentOptions,
) -> Bom {
    let mut components = Vec::new();
    let mut image_depends = Vec::new();
    let mut os_depends = Vec::new();

    if let Some(distro) = &inventory.distro {
        let mut os = Component::new("operating-system", distro.id.clone());
        os.bom_ref = Some(distro_ref(distro));
        os.version = (!distro.version_id.is_empty()).then(|| distro.version_id.clone());
        os.description = distro.pretty_name.clone();
        if let Some(codename) = &distro.codename {
            os.properties
                .push(prop(property::DISTRO_CODENAME, codename));
        }
        image_depends.push(distro_ref(distro));
        components.push(os);
    }

    let refs = component_refs(&inventory.packages);
    for (package, reference) in &refs {
        if inventory.distro.is_some() && package.kind.is_os() {
            os_depends.push(reference.clone());
        } else {
            image_depends.push(reference.clone());
        }
        components.push(package_component(subject, package, reference));
    }

    let mut dependencies = vec![Dependency {
        reference: IMAGE_REF.to_string(),
        depends_on: image_depends,
    }];
    if let Some(distro) = &inventory.distro {
        dependencies.push(Dependency {
            reference: distro_ref(distro),
            depends_on: os_depends,
        });
    }

    let mut tool = Component::new("application", TOOL_NAME.to_string());
    tool.version = Some(options.tool_version.clone());

    let mut metadata_properties = Vec::new();
    for (path, reason) in &inventory.unreadable {
        metadata_properties.push(prop(property::UNREADABLE, format!("{path}: {reason}")));
    }

    Bom {
        schema: SCHEMA_URL,
        bom_format: "CycloneDX",
        spec_version: "1.6",
        serial_number: format!("urn:uuid:{}", stable_uuid("cyclonedx", subject)),
        version: 1,
        metadata: Metadata {
            timestamp: document_time(subject, options).map(format_utc_seconds),
            tools: Tools {
                components: vec![tool],
            },
            component: image_component(subject),
            properties: metadata_properties,
        },
        components,
        dependencies,
        vulnerabilities: Vec::new(),
    }
}

fn image_component(subject: &ImageSubject) -> Component {
    let mut image = Component::new("container", subject.name.clone());
    image.bom_ref = Some(IMAGE_REF.to_string());
    if let Some(digest) = &subject.manifest_digest {
        image.version = Some(digest.to_string());
        image.hashes.push(Hash::of(digest));
        image.purl = crate::subject::oci_purl(subject);
    }
    if let Some(config) = &subject.config_digest {
        image
            .properties
            .push(prop(property::IMAGE_CONFIG_DIGEST, config.to_string()));
    }
    if let Some(platform) = &subject.platform {
        image
            .properties
            .push(prop(property::IMAGE_PLATFORM, platform.clone()));
    }
    for (index, layer) in subject.layers.iter().enumerate() {
        image.properties.push(prop(
            format!("{}:{index}", property::IMAGE_LAYER),
            layer.to_string(),
        ));
    }
    image
}

fn package_component(subject: &ImageSubject, package: &Package, reference: &str) -> Component {
    let mut c = Component::new("library", package.name.clone());
    c.bom_ref = Some(reference.to_string());
    c.version = Some(package.version.clone());
    c.purl = (!package.purl.is_empty()).then(|| package.purl.clone());
    c.licenses = license_choice(&package.licenses);
    c.properties
        .push(prop(property::KIND, package.kind.as_str()));
    if let Some(layer) = &package.layer {
        c.properties
            .push(prop(property::LAYER_DIFF_ID, layer.to_string()));
        if let Some(index) = subject.layer_index(layer) {
            c.properties
                .push(prop(property::LAYER_INDEX, index.to_string()));
        }
    }
    if let Some(source) = &package.source {
        c.properties
            .push(prop(property::SOURCE_NAME, source.name.clone()));
        c.properties
            .push(prop(property::SOURCE_VERSION, source.version.clone()));
    }
    let mut evidence: Vec<&String> = package.evidence.iter().collect();
    evidence.sort();
    evidence.dedup();
    for path in evidence {
        c.properties
            .push(prop(property::EVIDENCE_PATH, path.clone()));
    }
    if let Some(identity) = &package.identity {
        let how = if identity.is_inferred() {
            "inferred"
        } else {
            "checksum"
        };
        c.properties.push(prop(property::IDENTITY, how));
        c.properties.push(prop(
            property::IDENTITY_CONFIDENCE,
            identity.confidence.as_str(),
        ));
        for e in &identity.evidence {
            c.properties.push(prop(
                property::IDENTITY_EVIDENCE,
                format!("{}={}", e.coordinate, e.source),
            ));
        }
        if let Some(sha1) = &identity.sha1 {
            c.hashes.push(Hash {
                alg: SHA1_ALG,
                content: sha1.clone(),
            });
        }
    }
    c
}

/// One expression alone when the package states exactly one; otherwise a license list
/// (CycloneDX does not allow an expression next to other entries).
fn license_choice(declared: &[String]) -> Vec<LicenseChoice> {
    let classified: Vec<License> = declared
        .iter()
        .filter(|l| !l.trim().is_empty())
        .map(|l| licenses::classify(l))
        .collect();
    if let [License::Expression(expression)] = classified.as_slice() {
        return vec![LicenseChoice::Expression {
            expression: expression.clone(),
        }];
    }
    classified
        .into_iter()
        .map(|l| LicenseChoice::License {
            license: match l {
                License::Id(id) => LicenseEntry::Id { id },
                License::Expression(text) | License::Name(text) => {
                    LicenseEntry::Name { name: text }
                }
            },
        })
        .collect()
}

/// Serializes a document: pretty JSON with a final newline.
pub(crate) fn to_json(bom: &Bom) -> String {
    let mut text = serde_json::to_string_pretty(bom).expect("CycloneDX structs serialize");
    text.push('\n');
    text
}

/// The CycloneDX 1.6 JSON SBOM of an image.
pub fn sbom(subject: &ImageSubject, inventory: &Inventory, options: &DocumentOptions) -> String {
    to_json(&build(subject, inventory, options))
}
