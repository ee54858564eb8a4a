//! Opening an image from any transport and walking its layers.

use std::collections::HashMap;
use std::io::Read;
use std::path::PathBuf;
use std::sync::Arc;
use std::sync::atomic::AtomicBool;

use crowsnest_model::Digest;
use crowsnest_model::layer::{LayerAnalyzer, LayerContents};
use futures::StreamExt;
use serde::Serialize;

use crate::budget::ImageBudget;
use crate::cache::LayerCache;
use crate::credentials::{AuthFileLookup, CredentialsError};
use crate::local::{LocalError, LocalStore};
use crate::manifest::{
    Descriptor, ImageConfig, ImageManifest, MAX_CONFIG_BYTES, Manifest, ManifestError, Platform,
};
use crate::reference::{ImageRef, RegistryRef};
use crate::registry::{RegistryClient, RegistryError, RegistryOptions};
use crate::walk::{LayerExpectations, Limits, WalkError, walk_layer_within};

/// Everything that shapes how images are fetched and walked.
#[derive(Clone, Debug)]
pub struct AcquireOptions {
    pub registry: RegistryOptions,
    /// Where stored credentials are looked up when none are given explicitly.
    pub auth_files: AuthFileLookup,
    pub platform: Platform,
    pub limits: Limits,
    /// Layers walked at once (each on its own thread).
    pub parallel_layers: usize,
    /// Per-layer results cache; `None` disables caching.
    pub cache_dir: Option<PathBuf>,
    /// Most bytes the layer cache keeps under `cache_dir`; least recently used layers go
    /// first.
    pub cache_max_bytes: u64,
    /// Set to stop a walk in progress (a worker that lost its job's lease sets it).
    pub cancel: Arc<AtomicBool>,
}

impl Default for AcquireOptions {
    fn default() -> Self {
        AcquireOptions {
            registry: RegistryOptions::default(),
            auth_files: AuthFileLookup::default(),
            platform: Platform::linux_amd64(),
            limits: Limits::default(),
            parallel_layers: std::thread::available_parallelism()
                .map_or(2, |n| n.get())
                .clamp(1, 8),
            cache_dir: None,
            cache_max_bytes: crate::cache::DEFAULT_MAX_BYTES,
            cancel: Arc::new(AtomicBool::new(false)),
        }
    }
}

#[derive(Debug, thiserror::Error)]
pub enum AcquireError {
    #[error(transparent)]
    Registry(#[from] RegistryError),
    #[error(transparent)]
    Local(#[from] LocalError),
    #[error(transparent)]
    Credentials(#[from] CredentialsError),
    #[error("{what}: {source}")]
    Manifest {
        what: String,
        #[source]
        source: ManifestError,
    },
    #[error(
        "{image}: no image for platform {requested} in the index (available: {available}); use --platform or --all-platforms"
    )]
    NoSuchPlatform {
        image: String,
        requested: Platform,
        available: String,
    },
    #[error("{image}: an image index points to another index; nested indexes are not supported")]
    NestedIndex { image: String },
    #[error("{image}: manifest lists {layers} layers but the config has {diff_ids} diff_ids")]
    LayerCountMismatch {
        image: String,
        layers: usize,
        diff_ids: usize,
    },
    #[error("{image}: layer {index} ({digest}): {source}")]
    Layer {
        image: String,
        index: usize,
        digest: Digest,
        #[source]
        source: Box<WalkError>,
    },
    #[error("{image}: {layers} layers, limit {limit} (raise the limit if the image is genuine)")]
    TooManyLayers {
        image: String,
        layers: usize,
        limit: usize,
    },
    #[error("{image}: layer {index} ({digest}): the walk thread failed: {reason}")]
    LayerTask {
        image: String,
        index: usize,
        digest: Digest,
        reason: String,
    },
}

/// Where an opened image's bytes come from.
#[derive(Clone, Debug)]
pub enum Source {
    Registry {
        client: Arc<RegistryClient>,
        reference: RegistryRef,
    },
    Local(Arc<LocalStore>),
}

/// An image resolved down to one platform's manifest and config.
#[derive(Clone, Debug)]
pub struct Image {
    /// The reference as the user gave it, normalized.
    pub name: String,
    pub source: Source,
    /// The index the manifest was picked from, when the reference named one.
    pub index: Option<IndexInfo>,
    pub manifest_digest: Digest,
    pub manifest_media_type: Option<String>,
    pub manifest: ImageManifest,
    pub config: ImageConfig,
}

#[derive(Clone, Debug, Serialize)]
pub struct IndexInfo {
    pub digest: Digest,
    pub manifests: Vec<Descriptor>,
}

/// One layer: the blob descriptor and the diffID the config promises for it.
#[derive(Clone, Debug, Serialize)]
pub struct LayerInfo {
    pub descriptor: Descriptor,
    pub diff_id: Digest,
}

/// Progress of a layer walk, for progress bars.
#[derive(Clone, Debug)]
pub enum Progress {
    Started { layer: usize, size: u64 },
    Bytes { layer: usize, read: u64 },
    Finished { layer: usize, cached: bool },
}

pub type ProgressFn = Arc<dyn Fn(Progress) + Send + Sync>;

/// Builds a client for `registry` with credentials resolved from the options.
pub fn registry_client(
    registry: &str,
    opts: &AcquireOptions,
) -> Result<Arc<RegistryClient>, AcquireError> {
    let mut ropts = opts.registry.clone();
    if ropts.credentials.is_none() {
        ropts.credentials = opts.auth_files.lookup(registry)?;
    }
    Ok(Arc::new(RegistryClient::new(registry, ropts)?))
}

impl Image {
    /// Opens an image for the requested platform.
    pub async fn open(reference: &ImageRef, opts: &AcquireOptions) -> Result<Image, AcquireError> {
        let mut images = open_images(reference, opts, false).await?;
        Ok(images.remove(0))
    }

    /// Opens every platform's image of an index (or the single image).
    pub async fn open_all_platforms(
        reference: &ImageRef,
        opts: &AcquireOptions,
    ) -> Result<Vec<Image>, AcquireError> {
        open_images(reference, opts, true).await
    }

    pub fn platform(&self) -> Platform {
        self.config.platform()
    }

    pub fn config_digest(&self) -> &Digest {
        &self.manifest.config.digest
    }

    /// The layers, lowest first, with their diffIDs.
    pub fn layers(&self) -> Vec<LayerInfo> {
        self.manifest
            .layers
            .iter()
            .zip(&self.config.rootfs.diff_ids)
            .map(|(d, id)| LayerInfo {
                descriptor: d.clone(),
                diff_id: id.clone(),
            })
            .collect()
    }

    fn open_blob(&self, digest: &Digest) -> Result<Box<dyn Read + Send>, AcquireError> {
        Ok(match &self.source {
            Source::Registry { client, reference } => {
                Box::new(client.blob_reader(&reference.repository, digest))
            }
            Source::Local(store) => store.open_blob(digest)?,
        })
    }

    fn blob_digest_is_real(&self) -> bool {
        match &self.source {
            Source::Registry { .. } => true,
            Source::Local(store) => store.layer_digests_are_blob_digests(),
        }
    }

    /// Walks every layer with `analyzer`, several at once, reusing cached results for
    /// layers already seen (by diffID and the analyzer's cache key). Results are in layer
    /// order, lowest first.
    pub async fn walk_layers<A>(
        &self,
        analyzer: Arc<A>,
        opts: &AcquireOptions,
        progress: Option<ProgressFn>,
    ) -> Result<Vec<LayerContents<A::Output>>, AcquireError>
    where
        A: LayerAnalyzer + Send + Sync + 'static,
    {
        let layers = self.layers();
        if layers.len() > opts.limits.max_layers {
            return Err(AcquireError::TooManyLayers {
                image: self.name.clone(),
                layers: layers.len(),
                limit: opts.limits.max_layers,
            });
        }
        let budget = Arc::new(ImageBudget::new(&opts.limits).with_cancel(Arc::clone(&opts.cancel)));
        // A layer repeated in an image (same diffID) is walked once.
        let mut first_of: HashMap<&Digest, usize> = HashMap::new();
        let unique: Vec<(usize, LayerInfo)> = layers
            .iter()
            .enumerate()
            .filter(|(index, layer)| *first_of.entry(&layer.diff_id).or_insert(*index) == *index)
            .map(|(index, layer)| (index, layer.clone()))
            .collect();
        let cache = opts
            .cache_dir
            .as_ref()
            .map(|d| LayerCache::new(d.clone(), opts.cache_max_bytes));
        let key = analyzer.cache_key();
        let tasks = unique.into_iter().map(|(index, layer)| {
            let analyzer = Arc::clone(&analyzer);
            let cache = cache.clone();
            let key = key.clone();
            let progress = progress.clone();
            let budget = Arc::clone(&budget);
            async move {
                let report = |p: Progress| {
                    if let Some(f) = &progress {
                        f(p)
                    }
                };
                let layer_error = |source: WalkError| AcquireError::Layer {
                    image: self.name.clone(),
                    index,
                    digest: layer.descriptor.digest.clone(),
                    source: Box::new(source),
                };
                if let Some(hit) = cache
                    .as_ref()
                    .and_then(|c| c.get::<A::Output>(&layer.diff_id, &key))
                {
                    budget
                        .charge_entries(hit.entries.len() as u64)
                        .map_err(|e| layer_error(e.into()))?;
                    report(Progress::Finished {
                        layer: index,
                        cached: true,
                    });
                    return Ok(hit);
                }
                report(Progress::Started {
                    layer: index,
                    size: layer.descriptor.size,
                });
                let blob = self.open_blob(&layer.descriptor.digest)?;
                let expect = LayerExpectations {
                    blob_digest: self
                        .blob_digest_is_real()
                        .then(|| layer.descriptor.digest.clone()),
                    diff_id: Some(layer.diff_id.clone()),
                };
                let progress_for_thread = progress.clone();
                let walked = tokio::task::spawn_blocking(move || {
                    let counted = CountingReader {
                        inner: blob,
                        layer: index,
                        progress: progress_for_thread,
                        pending: 0,
                    };
                    walk_layer_within(counted, &expect, analyzer.as_ref(), &budget)
                })
                .await
                .map_err(|e| AcquireError::LayerTask {
                    image: self.name.clone(),
                    index,
                    digest: layer.descriptor.digest.clone(),
                    reason: e.to_string(),
                })?
                .map_err(layer_error)?;
                if let Some(c) = &cache {
                    c.put(&layer.diff_id, &key, &walked);
                }
                report(Progress::Finished {
                    layer: index,
                    cached: false,
                });
                Ok::<_, AcquireError>(walked)
            }
        });
        let walked: Vec<Result<LayerContents<A::Output>, AcquireError>> =
            futures::stream::iter(tasks)
                .buffered(opts.parallel_layers.max(1))
                .collect()
                .await;
        let mut walked = walked.into_iter();
        let mut out: Vec<LayerContents<A::Output>> = Vec::with_capacity(layers.len());
        for (index, layer) in layers.iter().enumerate() {
            let first = first_of[&layer.diff_id];
            if first == index {
                out.push(walked.next().expect("one result per unique layer")?);
                continue;
            }
            // The copy costs memory like the first one did.
            budget
                .charge_entries(out[first].entries.len() as u64)
                .map_err(|e| AcquireError::Layer {
                    image: self.name.clone(),
                    index,
                    digest: layer.descriptor.digest.clone(),
                    source: Box::new(e.into()),
                })?;
            let copy = out[first].clone();
            out.push(copy);
        }
        Ok(out)
    }
}

/// Reports bytes read, in chunks, to the progress callback.
struct CountingReader {
    inner: Box<dyn Read + Send>,
    layer: usize,
    progress: Option<ProgressFn>,
    pending: u64,
}

impl Read for CountingReader {
    fn read(&mut self, buf: &mut [u8]) -> std::io::Result<usize> {
        let n = self.inner.read(buf)?;
        if let Some(p) = &self.progress {
            self.pending += n as u64;
            if self.pending >= 1 << 20 || n == 0 {
                p(Progress::Bytes {
                    layer: self.layer,
                    read: self.pending,
                });
                self.pending = 0;
            }
        }
        Ok(n)
    }
}

/// Fetches a manifest document from any source: (bytes, media type, digest, names).
async fn fetch_manifest(
    source: &Source,
    reference: Option<&str>,
) -> Result<(Vec<u8>, Option<String>, Digest), AcquireError> {
    match source {
        Source::Registry {
            client,
            reference: r,
        } => {
            let want = reference
                .map(str::to_string)
                .unwrap_or_else(|| r.reference());
            let m = client.manifest(&r.repository, &want).await?;
            Ok((m.bytes, m.media_type, m.digest))
        }
        Source::Local(store) => match reference.and_then(|r| r.parse::<Digest>().ok()) {
            Some(d) => {
                let bytes = store.blob_bytes(&d, crate::manifest::MAX_MANIFEST_BYTES)?;
                Ok((bytes, None, d))
            }
            None => {
                let m = store.resolve(reference)?;
                Ok((m.bytes, m.media_type, m.digest))
            }
        },
    }
}

async fn fetch_config(source: &Source, digest: &Digest) -> Result<Vec<u8>, AcquireError> {
    Ok(match source {
        Source::Registry { client, reference } => {
            client
                .blob_bytes(&reference.repository, digest, MAX_CONFIG_BYTES)
                .await?
        }
        Source::Local(store) => {
            let bytes = store.blob_bytes(digest, MAX_CONFIG_BYTES)?;
            let actual = crate::walk::digest_of(digest.algorithm(), &bytes);
            if actual != *digest {
                return Err(RegistryError::DigestMismatch {
                    what: format!("config blob {digest}"),
                    expected: digest.clone(),
                    actual,
                }
                .into());
            }
            bytes
        }
    })
}

async fn open_images(
    reference: &ImageRef,
    opts: &AcquireOptions,
    all_platforms: bool,
) -> Result<Vec<Image>, AcquireError> {
    let name = reference.to_string();
    let (source, local_ref) = match reference {
        ImageRef::Registry(r) => (
            Source::Registry {
                client: registry_client(&r.registry, opts)?,
                reference: r.clone(),
            },
            None,
        ),
        ImageRef::OciLayout { dir, reference } => (
            Source::Local(Arc::new(LocalStore::oci_dir(dir)?)),
            reference.clone(),
        ),
        ImageRef::OciArchive { file, reference } => (
            Source::Local(Arc::new(LocalStore::oci_archive(file)?)),
            reference.clone(),
        ),
        ImageRef::DockerArchive { file, reference } => (
            Source::Local(Arc::new(LocalStore::docker_archive(file)?)),
            reference.clone(),
        ),
    };
    let (bytes, media_type, digest) = fetch_manifest(&source, local_ref.as_deref()).await?;
    let parsed = Manifest::parse(&bytes, media_type.as_deref()).map_err(|source| {
        AcquireError::Manifest {
            what: format!("{name}: manifest {digest}"),
            source,
        }
    })?;
    let (index, picks): (Option<IndexInfo>, Vec<Descriptor>) = match parsed {
        Manifest::Image(_) => (None, Vec::new()),
        Manifest::Index(idx) => {
            // Attestation manifests (unknown/unknown) are not images to scan.
            let images: Vec<Descriptor> = idx
                .manifests
                .iter()
                .filter(|d| d.platform.as_ref().is_none_or(|p| p.os != "unknown"))
                .cloned()
                .collect();
            let picks = if all_platforms {
                images
            } else {
                let hit = images.iter().find(|d| {
                    d.platform
                        .as_ref()
                        .is_some_and(|p| opts.platform.matches(p))
                });
                match hit {
                    Some(d) => vec![d.clone()],
                    None => {
                        let available: Vec<String> = images
                            .iter()
                            .filter_map(|d| d.platform.as_ref().map(|p| p.to_string()))
                            .collect();
                        return Err(AcquireError::NoSuchPlatform {
                            image: name,
                            requested: opts.platform.clone(),
                            available: available.join(", "),
                        });
                    }
                }
            };
            (
                Some(IndexInfo {
                    digest: digest.clone(),
                    manifests: idx.manifests,
                }),
                picks,
            )
        }
    };
    let documents: Vec<(Vec<u8>, Option<String>, Digest)> = if picks.is_empty() {
        vec![(bytes, media_type, digest)]
    } else {
        let mut docs = Vec::new();
        for d in &picks {
            let (b, m, dg) = fetch_manifest(&source, Some(&d.digest.to_string())).await?;
            let m = m.or_else(|| Some(d.media_type.clone()).filter(|s| !s.is_empty()));
            docs.push((b, m, dg));
        }
        docs
    };
    let mut images = Vec::new();
    for (bytes, media_type, digest) in documents {
        let manifest = match Manifest::parse(&bytes, media_type.as_deref()).map_err(|source| {
            AcquireError::Manifest {
                what: format!("{name}: manifest {digest}"),
                source,
            }
        })? {
            Manifest::Image(m) => m,
            Manifest::Index(_) => return Err(AcquireError::NestedIndex { image: name }),
        };
        let config_bytes = fetch_config(&source, &manifest.config.digest).await?;
        let config =
            ImageConfig::parse(&config_bytes).map_err(|source| AcquireError::Manifest {
                what: format!("{name}: config {}", manifest.config.digest),
                source,
            })?;
        if config.rootfs.diff_ids.len() != manifest.layers.len() {
            return Err(AcquireError::LayerCountMismatch {
                image: name,
                layers: manifest.layers.len(),
                diff_ids: config.rootfs.diff_ids.len(),
            });
        }
        images.push(Image {
            name: name.clone(),
            source: source.clone(),
            index: index.clone(),
            manifest_digest: digest,
            manifest_media_type: media_type,
            manifest,
            config,
        });
    }
    Ok(images)
}
