//! Images on disk: OCI image layouts, OCI archives and `docker save` archives.
//!
//! Archives are never unpacked: the outer tar is indexed once (name → offset, size) and
//! blobs are read in place with a bounded reader.

use std::collections::HashMap;
use std::fs::File;
use std::io::{self, Read, Seek, SeekFrom};
use std::path::{Path, PathBuf};

use crowsnest_model::Digest;
use crowsnest_model::digest::Algorithm;
use serde::Deserialize;

use crate::manifest::{DOCKER_MANIFEST, Descriptor, ImageManifest, MAX_MANIFEST_BYTES};
use crate::walk::digest_of;

#[derive(Debug, thiserror::Error)]
pub enum LocalError {
    #[error("{path}: {source}")]
    Io {
        path: PathBuf,
        #[source]
        source: io::Error,
    },
    #[error("{path}: not an OCI image layout (no oci-layout file or index.json): {reason}")]
    NotALayout { path: PathBuf, reason: String },
    #[error("{path}: {what} is not valid: {reason}")]
    Invalid {
        path: PathBuf,
        what: String,
        reason: String,
    },
    #[error("{path}: no image named {reference:?} (available: {available})")]
    NoSuchReference {
        path: PathBuf,
        reference: String,
        available: String,
    },
    #[error("{path}: holds {count} images; name one with :REF (available: {available})")]
    Ambiguous {
        path: PathBuf,
        count: usize,
        available: String,
    },
    #[error("{path}: blob {digest} is missing")]
    MissingBlob { path: PathBuf, digest: Digest },
    #[error("{path}: {what} is {size} bytes, over the {limit}-byte limit")]
    TooLarge {
        path: PathBuf,
        what: String,
        size: u64,
        limit: u64,
    },
}

fn io_err(path: &Path) -> impl FnOnce(io::Error) -> LocalError + '_ {
    move |source| LocalError::Io {
        path: path.to_path_buf(),
        source,
    }
}

/// A reader over one stored member, with the member's size.
type SizedReader = (Box<dyn Read + Send>, u64);

/// Where the bytes of a local image live.
#[derive(Debug)]
enum Storage {
    /// An OCI layout directory.
    Dir(PathBuf),
    /// A tar archive, indexed by member name.
    Tar {
        file: PathBuf,
        members: HashMap<String, (u64, u64)>,
    },
}

/// Maximum members indexed in an outer archive (a hostile archive cannot exhaust memory).
const MAX_ARCHIVE_MEMBERS: usize = 200_000;

impl Storage {
    fn index_tar(file: &Path) -> Result<Storage, LocalError> {
        let f = File::open(file).map_err(io_err(file))?;
        let mut archive = tar::Archive::new(io::BufReader::new(f));
        let mut members = HashMap::new();
        for entry in archive.entries().map_err(io_err(file))? {
            let entry = entry.map_err(io_err(file))?;
            if members.len() >= MAX_ARCHIVE_MEMBERS {
                return Err(LocalError::Invalid {
                    path: file.to_path_buf(),
                    what: "archive".into(),
                    reason: format!("more than {MAX_ARCHIVE_MEMBERS} members"),
                });
            }
            if entry.header().entry_type() != tar::EntryType::Regular {
                continue;
            }
            let name = String::from_utf8_lossy(&entry.path_bytes()).into_owned();
            let Ok(name) = crowsnest_model::path::normalize(&name) else {
                continue;
            };
            members.insert(name, (entry.raw_file_position(), entry.size()));
        }
        Ok(Storage::Tar {
            file: file.to_path_buf(),
            members,
        })
    }

    fn path(&self) -> &Path {
        match self {
            Storage::Dir(p) => p,
            Storage::Tar { file, .. } => file,
        }
    }

    /// Opens a member (a path relative to the layout root), bounded to its size.
    fn open(&self, rel: &str) -> Result<Option<SizedReader>, LocalError> {
        match self {
            Storage::Dir(root) => {
                let p = root.join(rel);
                match File::open(&p) {
                    Ok(f) => {
                        let len = f.metadata().map_err(io_err(&p))?.len();
                        Ok(Some((Box::new(f), len)))
                    }
                    Err(e) if e.kind() == io::ErrorKind::NotFound => Ok(None),
                    Err(e) => Err(LocalError::Io { path: p, source: e }),
                }
            }
            Storage::Tar { file, members } => {
                let Ok(key) = crowsnest_model::path::normalize(rel) else {
                    return Ok(None);
                };
                let Some(&(offset, size)) = members.get(&key) else {
                    return Ok(None);
                };
                let mut f = File::open(file).map_err(io_err(file))?;
                f.seek(SeekFrom::Start(offset)).map_err(io_err(file))?;
                Ok(Some((Box::new(f.take(size)), size)))
            }
        }
    }

    fn read_small(
        &self,
        rel: &str,
        what: &str,
        limit: usize,
    ) -> Result<Option<Vec<u8>>, LocalError> {
        let Some((reader, size)) = self.open(rel)? else {
            return Ok(None);
        };
        if size > limit as u64 {
            return Err(LocalError::TooLarge {
                path: self.path().to_path_buf(),
                what: what.to_string(),
                size,
                limit: limit as u64,
            });
        }
        let mut buf = Vec::with_capacity(size as usize);
        reader
            .take(limit as u64)
            .read_to_end(&mut buf)
            .map_err(io_err(self.path()))?;
        Ok(Some(buf))
    }
}

fn blob_path(d: &Digest) -> String {
    // Safe: a Digest's algorithm and hex are validated, so this cannot climb out.
    format!("blobs/{}/{}", d.algorithm().name(), d.hex())
}

/// An image store on disk, as an OCI layout (directory or archive) or a docker archive.
#[derive(Debug)]
pub struct LocalStore {
    storage: Storage,
    kind: LocalKind,
}

#[derive(Debug)]
enum LocalKind {
    Oci,
    /// `docker save`: manifests are synthesized from manifest.json, keyed by digest.
    Docker {
        synthesized: HashMap<Digest, SynthesizedImage>,
    },
}

#[derive(Debug, Clone)]
struct SynthesizedImage {
    manifest_bytes: Vec<u8>,
    /// Docker archive layers are addressed by member path, not by digest.
    layer_members: HashMap<Digest, String>,
    config_member: String,
    config_digest: Digest,
    tags: Vec<String>,
}

/// A manifest a local store resolved a reference to.
#[derive(Debug, Clone)]
pub struct LocalManifest {
    pub bytes: Vec<u8>,
    pub digest: Digest,
    pub media_type: Option<String>,
    pub names: Vec<String>,
}

#[derive(Deserialize)]
struct OciIndexFile {
    #[serde(default)]
    manifests: Vec<Descriptor>,
}

#[derive(Deserialize)]
#[serde(rename_all = "PascalCase")]
struct DockerArchiveEntry {
    config: String,
    #[serde(default)]
    repo_tags: Option<Vec<String>>,
    layers: Vec<String>,
}

const REF_NAME: &str = "org.opencontainers.image.ref.name";

impl LocalStore {
    pub fn oci_dir(dir: &Path) -> Result<LocalStore, LocalError> {
        if !dir.join("index.json").is_file() {
            return Err(LocalError::NotALayout {
                path: dir.to_path_buf(),
                reason: "index.json not found".into(),
            });
        }
        Ok(LocalStore {
            storage: Storage::Dir(dir.to_path_buf()),
            kind: LocalKind::Oci,
        })
    }

    pub fn oci_archive(file: &Path) -> Result<LocalStore, LocalError> {
        let storage = Storage::index_tar(file)?;
        if storage.open("index.json")?.is_none() {
            return Err(LocalError::NotALayout {
                path: file.to_path_buf(),
                reason: "the archive has no index.json".into(),
            });
        }
        Ok(LocalStore {
            storage,
            kind: LocalKind::Oci,
        })
    }

    pub fn docker_archive(file: &Path) -> Result<LocalStore, LocalError> {
        let storage = Storage::index_tar(file)?;
        let bytes = storage
            .read_small("manifest.json", "manifest.json", MAX_MANIFEST_BYTES)?
            .ok_or_else(|| LocalError::Invalid {
                path: file.to_path_buf(),
                what: "docker archive".into(),
                reason: "no manifest.json (is this a `docker save` archive?)".into(),
            })?;
        let entries: Vec<DockerArchiveEntry> =
            serde_json::from_slice(&bytes).map_err(|e| LocalError::Invalid {
                path: file.to_path_buf(),
                what: "manifest.json".into(),
                reason: e.to_string(),
            })?;
        let mut synthesized = HashMap::new();
        for entry in entries {
            let config = storage
                .read_small(
                    &entry.config,
                    "image config",
                    crate::manifest::MAX_CONFIG_BYTES,
                )?
                .ok_or_else(|| LocalError::Invalid {
                    path: file.to_path_buf(),
                    what: "manifest.json".into(),
                    reason: format!("config {} is not in the archive", entry.config),
                })?;
            let cfg =
                crate::manifest::ImageConfig::parse(&config).map_err(|e| LocalError::Invalid {
                    path: file.to_path_buf(),
                    what: format!("config {}", entry.config),
                    reason: e.to_string(),
                })?;
            if cfg.rootfs.diff_ids.len() != entry.layers.len() {
                return Err(LocalError::Invalid {
                    path: file.to_path_buf(),
                    what: "manifest.json".into(),
                    reason: format!(
                        "{} layers listed but the config has {} diff_ids",
                        entry.layers.len(),
                        cfg.rootfs.diff_ids.len()
                    ),
                });
            }
            // Docker archives store layers as uncompressed tars: the blob digest is the diffID.
            let mut layers = Vec::new();
            let mut layer_members = HashMap::new();
            for (member, diff_id) in entry.layers.iter().zip(&cfg.rootfs.diff_ids) {
                let size = match storage.open(member)? {
                    Some((_, size)) => size,
                    None => {
                        return Err(LocalError::Invalid {
                            path: file.to_path_buf(),
                            what: "manifest.json".into(),
                            reason: format!("layer {member} is not in the archive"),
                        });
                    }
                };
                layers.push(Descriptor {
                    media_type: "application/vnd.docker.image.rootfs.diff.tar".into(),
                    digest: diff_id.clone(),
                    size,
                    platform: None,
                    annotations: Default::default(),
                });
                layer_members.insert(diff_id.clone(), member.clone());
            }
            let manifest = ImageManifest {
                schema_version: 2,
                media_type: Some(DOCKER_MANIFEST.into()),
                config: Descriptor {
                    media_type: "application/vnd.docker.container.image.v1+json".into(),
                    digest: digest_of(Algorithm::Sha256, &config),
                    size: config.len() as u64,
                    platform: None,
                    annotations: Default::default(),
                },
                layers,
                annotations: Default::default(),
            };
            let config_digest = manifest.config.digest.clone();
            let manifest_bytes = serde_json::to_vec(&manifest).expect("manifest serializes");
            let digest = digest_of(Algorithm::Sha256, &manifest_bytes);
            synthesized.insert(
                digest,
                SynthesizedImage {
                    manifest_bytes,
                    layer_members,
                    config_member: entry.config.clone(),
                    config_digest,
                    tags: entry.repo_tags.unwrap_or_default(),
                },
            );
        }
        if synthesized.is_empty() {
            return Err(LocalError::Invalid {
                path: file.to_path_buf(),
                what: "manifest.json".into(),
                reason: "lists no images".into(),
            });
        }
        Ok(LocalStore {
            storage,
            kind: LocalKind::Docker { synthesized },
        })
    }

    /// Resolves a reference (a ref name or tag, or none when the store holds one image).
    pub fn resolve(&self, reference: Option<&str>) -> Result<LocalManifest, LocalError> {
        let path = self.storage.path().to_path_buf();
        let candidates: Vec<LocalManifest> = match &self.kind {
            LocalKind::Oci => {
                let bytes = self
                    .storage
                    .read_small("index.json", "index.json", MAX_MANIFEST_BYTES)?
                    .ok_or_else(|| LocalError::NotALayout {
                        path: path.clone(),
                        reason: "index.json not found".into(),
                    })?;
                let index: OciIndexFile =
                    serde_json::from_slice(&bytes).map_err(|e| LocalError::Invalid {
                        path: path.clone(),
                        what: "index.json".into(),
                        reason: e.to_string(),
                    })?;
                let mut out = Vec::new();
                for d in index.manifests {
                    let bytes = self.blob_bytes(&d.digest, MAX_MANIFEST_BYTES)?;
                    out.push(LocalManifest {
                        bytes,
                        digest: d.digest,
                        media_type: Some(d.media_type).filter(|m| !m.is_empty()),
                        names: d.annotations.get(REF_NAME).cloned().into_iter().collect(),
                    });
                }
                out
            }
            LocalKind::Docker { synthesized } => synthesized
                .iter()
                .map(|(digest, img)| LocalManifest {
                    bytes: img.manifest_bytes.clone(),
                    digest: digest.clone(),
                    media_type: Some(DOCKER_MANIFEST.into()),
                    names: img.tags.clone(),
                })
                .collect(),
        };
        let available = || {
            let names: Vec<String> = candidates.iter().flat_map(|c| c.names.clone()).collect();
            if names.is_empty() {
                "none named".to_string()
            } else {
                names.join(", ")
            }
        };
        match reference {
            Some(r) => {
                // A tag matches `name:tag` entries of docker archives too.
                let hit = candidates.iter().find(|c| {
                    c.names
                        .iter()
                        .any(|n| n == r || n.rsplit_once(':').is_some_and(|(_, t)| t == r))
                        || c.digest.to_string() == r
                });
                hit.cloned().ok_or_else(|| LocalError::NoSuchReference {
                    path,
                    reference: r.to_string(),
                    available: available(),
                })
            }
            None if candidates.len() == 1 => Ok(candidates[0].clone()),
            None => Err(LocalError::Ambiguous {
                path,
                count: candidates.len(),
                available: available(),
            }),
        }
    }

    fn member_for(&self, digest: &Digest) -> String {
        if let LocalKind::Docker { synthesized } = &self.kind {
            for img in synthesized.values() {
                if let Some(m) = img.layer_members.get(digest) {
                    return m.clone();
                }
                if img.config_digest == *digest {
                    return img.config_member.clone();
                }
            }
        }
        blob_path(digest)
    }

    /// Reads a small blob (manifest, config) whole, bounded by `limit`.
    pub fn blob_bytes(&self, digest: &Digest, limit: usize) -> Result<Vec<u8>, LocalError> {
        let member = self.member_for(digest);
        let bytes = self
            .storage
            .read_small(&member, &format!("blob {digest}"), limit)?;
        bytes.ok_or_else(|| LocalError::MissingBlob {
            path: self.storage.path().to_path_buf(),
            digest: digest.clone(),
        })
    }

    /// Opens a blob for streaming.
    pub fn open_blob(&self, digest: &Digest) -> Result<Box<dyn Read + Send>, LocalError> {
        let member = self.member_for(digest);
        match self.storage.open(&member)? {
            Some((r, _)) => Ok(r),
            None => Err(LocalError::MissingBlob {
                path: self.storage.path().to_path_buf(),
                digest: digest.clone(),
            }),
        }
    }

    /// Whether blob digests in this store are real (false for docker archives, whose
    /// synthesized layer descriptors name the diffID).
    pub fn layer_digests_are_blob_digests(&self) -> bool {
        matches!(self.kind, LocalKind::Oci)
    }
}
