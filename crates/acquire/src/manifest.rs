//! OCI and Docker v2 schema 2 manifests, indexes and image configs.
//!
//! Own serde structs rather than a crate's: we only need what we read, we must accept both
//! OCI and Docker media types, and hostile documents must fail with a clear message.

use std::collections::BTreeMap;
use std::fmt;

use crowsnest_model::Digest;
use serde::{Deserialize, Serialize};

pub const OCI_MANIFEST: &str = "application/vnd.oci.image.manifest.v1+json";
pub const OCI_INDEX: &str = "application/vnd.oci.image.index.v1+json";
pub const DOCKER_MANIFEST: &str = "application/vnd.docker.distribution.manifest.v2+json";
pub const DOCKER_MANIFEST_LIST: &str = "application/vnd.docker.distribution.manifest.list.v2+json";
pub const DOCKER_SCHEMA1: &str = "application/vnd.docker.distribution.manifest.v1+prettyjws";

/// What a registry is asked for, in order of preference.
pub const ACCEPT: &str = "application/vnd.oci.image.index.v1+json, application/vnd.docker.distribution.manifest.list.v2+json, application/vnd.oci.image.manifest.v1+json, application/vnd.docker.distribution.manifest.v2+json";

/// Manifests and configs are small; anything bigger is refused before parsing.
pub const MAX_MANIFEST_BYTES: usize = 4 << 20;
pub const MAX_CONFIG_BYTES: usize = 16 << 20;

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Descriptor {
    #[serde(default)]
    pub media_type: String,
    pub digest: Digest,
    pub size: u64,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub platform: Option<Platform>,
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub annotations: BTreeMap<String, String>,
}

#[derive(Clone, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct Platform {
    pub architecture: String,
    pub os: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub variant: Option<String>,
}

impl Platform {
    pub fn linux_amd64() -> Platform {
        Platform {
            architecture: "amd64".into(),
            os: "linux".into(),
            variant: None,
        }
    }

    /// Whether an index entry's platform satisfies this requested one (a request without
    /// a variant accepts any variant; arm64 entries often say v8).
    pub fn matches(&self, candidate: &Platform) -> bool {
        self.os == candidate.os
            && self.architecture == candidate.architecture
            && (self.variant.is_none() || self.variant == candidate.variant)
    }
}

impl fmt::Display for Platform {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}/{}", self.os, self.architecture)?;
        if let Some(v) = &self.variant {
            write!(f, "/{v}")?;
        }
        Ok(())
    }
}

#[derive(Debug, thiserror::Error, PartialEq, Eq)]
#[error("invalid platform {0:?}: expected os/arch[/variant], e.g. linux/arm64/v8")]
pub struct PlatformError(String);

impl std::str::FromStr for Platform {
    type Err = PlatformError;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        let parts: Vec<&str> = s.split('/').collect();
        let ok = |p: &str| {
            !p.is_empty()
                && p.bytes()
                    .all(|c| c.is_ascii_alphanumeric() || c == b'_' || c == b'-')
        };
        match parts.as_slice() {
            [os, arch] if ok(os) && ok(arch) => Ok(Platform {
                os: os.to_string(),
                architecture: arch.to_string(),
                variant: None,
            }),
            [os, arch, v] if ok(os) && ok(arch) && ok(v) => Ok(Platform {
                os: os.to_string(),
                architecture: arch.to_string(),
                variant: Some(v.to_string()),
            }),
            _ => Err(PlatformError(s.to_string())),
        }
    }
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ImageManifest {
    pub schema_version: u32,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub media_type: Option<String>,
    pub config: Descriptor,
    pub layers: Vec<Descriptor>,
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub annotations: BTreeMap<String, String>,
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ImageIndex {
    pub schema_version: u32,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub media_type: Option<String>,
    pub manifests: Vec<Descriptor>,
}

/// A fetched manifest document: either one image or an index of images.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Manifest {
    Image(ImageManifest),
    Index(ImageIndex),
}

#[derive(Debug, thiserror::Error)]
pub enum ManifestError {
    #[error("manifest is {size} bytes, over the {limit}-byte limit")]
    TooLarge { size: usize, limit: usize },
    #[error(
        "Docker schema 1 manifests are deprecated and not supported; re-push the image with a current client"
    )]
    Schema1,
    #[error("unsupported manifest media type {0:?}")]
    UnsupportedMediaType(String),
    #[error("manifest is not valid JSON for {kind}: {source}")]
    Json {
        kind: &'static str,
        #[source]
        source: serde_json::Error,
    },
    #[error("manifest has schemaVersion {0}, expected 2")]
    SchemaVersion(u32),
    #[error("image config is not valid JSON: {0}")]
    Config(#[source] serde_json::Error),
}

impl Manifest {
    /// Parses a manifest, using the media type from the transport (Content-Type) when
    /// given and the document's own `mediaType` or shape otherwise.
    pub fn parse(
        bytes: &[u8],
        transport_media_type: Option<&str>,
    ) -> Result<Manifest, ManifestError> {
        if bytes.len() > MAX_MANIFEST_BYTES {
            return Err(ManifestError::TooLarge {
                size: bytes.len(),
                limit: MAX_MANIFEST_BYTES,
            });
        }
        #[derive(Deserialize)]
        #[serde(rename_all = "camelCase")]
        struct Probe {
            #[serde(default)]
            media_type: Option<String>,
            #[serde(default)]
            manifests: Option<serde_json::Value>,
            #[serde(default)]
            schema_version: Option<u32>,
        }
        let probe: Probe = serde_json::from_slice(bytes).map_err(|source| ManifestError::Json {
            kind: "a manifest",
            source,
        })?;
        let transport = transport_media_type
            .map(|m| m.split(';').next().unwrap_or(m).trim())
            .filter(|m| {
                !m.is_empty() && *m != "application/json" && *m != "application/octet-stream"
            });
        let media_type = transport
            .map(str::to_string)
            .or(probe.media_type)
            .unwrap_or_else(|| {
                if probe.manifests.is_some() {
                    OCI_INDEX
                } else {
                    OCI_MANIFEST
                }
                .to_string()
            });
        if let Some(v) = probe.schema_version
            && v == 1
        {
            return Err(ManifestError::Schema1);
        }
        let manifest = match media_type.as_str() {
            OCI_INDEX | DOCKER_MANIFEST_LIST => {
                Manifest::Index(serde_json::from_slice(bytes).map_err(|source| {
                    ManifestError::Json {
                        kind: "an image index",
                        source,
                    }
                })?)
            }
            OCI_MANIFEST | DOCKER_MANIFEST => {
                Manifest::Image(serde_json::from_slice(bytes).map_err(|source| {
                    ManifestError::Json {
                        kind: "an image manifest",
                        source,
                    }
                })?)
            }
            DOCKER_SCHEMA1 | "application/vnd.docker.distribution.manifest.v1+json" => {
                return Err(ManifestError::Schema1);
            }
            other => return Err(ManifestError::UnsupportedMediaType(other.to_string())),
        };
        let version = match &manifest {
            Manifest::Image(m) => m.schema_version,
            Manifest::Index(i) => i.schema_version,
        };
        if version != 2 {
            return Err(ManifestError::SchemaVersion(version));
        }
        Ok(manifest)
    }
}

/// The image configuration blob (the parts Crowsnest reports).
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct ImageConfig {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub created: Option<String>,
    #[serde(default)]
    pub architecture: String,
    #[serde(default)]
    pub os: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub variant: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub author: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub config: Option<RuntimeConfig>,
    pub rootfs: RootFs,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub history: Vec<History>,
}

#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct RuntimeConfig {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub user: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub env: Option<Vec<String>>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub entrypoint: Option<Vec<String>>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub cmd: Option<Vec<String>>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub working_dir: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub exposed_ports: Option<BTreeMap<String, serde_json::Value>>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub labels: Option<BTreeMap<String, String>>,
}

#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct RootFs {
    #[serde(rename = "type", default)]
    pub kind: String,
    #[serde(default)]
    pub diff_ids: Vec<Digest>,
}

#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct History {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub created: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub created_by: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub comment: Option<String>,
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub empty_layer: bool,
}

impl ImageConfig {
    pub fn parse(bytes: &[u8]) -> Result<ImageConfig, ManifestError> {
        if bytes.len() > MAX_CONFIG_BYTES {
            return Err(ManifestError::TooLarge {
                size: bytes.len(),
                limit: MAX_CONFIG_BYTES,
            });
        }
        serde_json::from_slice(bytes).map_err(ManifestError::Config)
    }

    pub fn platform(&self) -> Platform {
        Platform {
            architecture: self.architecture.clone(),
            os: self.os.clone(),
            variant: self.variant.clone(),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const D: &str = "sha256:e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855";

    #[test]
    fn parses_image_and_index_by_media_type_or_shape() {
        let image = format!(
            r#"{{"schemaVersion":2,"mediaType":"{DOCKER_MANIFEST}","config":{{"mediaType":"x","digest":"{D}","size":1}},"layers":[{{"mediaType":"y","digest":"{D}","size":2}}]}}"#
        );
        assert!(
            matches!(Manifest::parse(image.as_bytes(), None).unwrap(), Manifest::Image(m) if m.layers.len() == 1)
        );
        let index = format!(
            r#"{{"schemaVersion":2,"manifests":[{{"mediaType":"{OCI_MANIFEST}","digest":"{D}","size":3,"platform":{{"architecture":"arm64","os":"linux","variant":"v8"}}}}]}}"#
        );
        match Manifest::parse(index.as_bytes(), Some("application/json")).unwrap() {
            Manifest::Index(i) => {
                let p = i.manifests[0].platform.as_ref().unwrap();
                assert!("linux/arm64".parse::<Platform>().unwrap().matches(p));
                assert!(!"linux/arm64/v7".parse::<Platform>().unwrap().matches(p));
                assert!(!Platform::linux_amd64().matches(p));
            }
            other => panic!("{other:?}"),
        }
    }

    #[test]
    fn rejects_hostile_and_unsupported_documents() {
        assert!(matches!(
            Manifest::parse(b"{", None),
            Err(ManifestError::Json { .. })
        ));
        assert!(matches!(
            Manifest::parse(br#"{"schemaVersion":1,"fsLayers":[]}"#, None),
            Err(ManifestError::Schema1)
        ));
        assert!(matches!(
            Manifest::parse(br#"{"schemaVersion":2,"mediaType":"text/html"}"#, None),
            Err(ManifestError::UnsupportedMediaType(_))
        ));
        let bad_digest =
            r#"{"schemaVersion":2,"config":{"digest":"sha256:../../x","size":1},"layers":[]}"#;
        assert!(matches!(
            Manifest::parse(bad_digest.as_bytes(), None),
            Err(ManifestError::Json { .. })
        ));
        let huge = vec![b' '; MAX_MANIFEST_BYTES + 1];
        assert!(matches!(
            Manifest::parse(&huge, None),
            Err(ManifestError::TooLarge { .. })
        ));
        assert!("linux".parse::<Platform>().is_err());
        assert!("linux/amd64/v1/x".parse::<Platform>().is_err());
    }

    #[test]
    fn parses_config() {
        let cfg = format!(
            r#"{{"architecture":"amd64","os":"linux","created":"2024-01-01T00:00:00Z","config":{{"Env":["PATH=/bin"],"Cmd":["bash"]}},"rootfs":{{"type":"layers","diff_ids":["{D}"]}},"history":[{{"created_by":"/bin/sh -c #(nop) ADD file"}},{{"empty_layer":true}}]}}"#
        );
        let c = ImageConfig::parse(cfg.as_bytes()).unwrap();
        assert_eq!(c.rootfs.diff_ids.len(), 1);
        assert_eq!(c.history.len(), 2);
        assert!(c.history[1].empty_layer);
        assert_eq!(c.platform(), Platform::linux_amd64());
    }
}
