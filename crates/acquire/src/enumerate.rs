//! Registry enumeration: every repository, tag, digest and platform.

use std::sync::Arc;

use crowsnest_model::Digest;
use futures::StreamExt;
use serde::Serialize;

use crate::manifest::{ImageConfig, MAX_CONFIG_BYTES, Manifest, Platform};
use crate::registry::{RegistryClient, RegistryError};

/// Limits and concurrency for a registry listing.
#[derive(Clone, Debug)]
pub struct ListOptions {
    /// Only repositories whose name contains this (after the catalog is read).
    pub repository_filter: Option<String>,
    /// Requests in flight at once.
    pub concurrency: usize,
    /// Most repositories or tags accepted from one listing.
    pub max_entries: usize,
    /// Fetch each image's config for its created time (one more request per platform).
    pub with_created: bool,
}

impl Default for ListOptions {
    fn default() -> Self {
        ListOptions {
            repository_filter: None,
            concurrency: 8,
            max_entries: 1_000_000,
            with_created: true,
        }
    }
}

#[derive(Clone, Debug, Serialize)]
pub struct RepositoryListing {
    pub repository: String,
    pub tags: Vec<TagListing>,
    /// Why the repository could not be listed, if it could not.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub error: Option<String>,
}

#[derive(Clone, Debug, Serialize)]
pub struct TagListing {
    pub tag: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub digest: Option<Digest>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub media_type: Option<String>,
    pub platforms: Vec<PlatformListing>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub error: Option<String>,
}

#[derive(Clone, Debug, Serialize)]
pub struct PlatformListing {
    pub platform: Option<Platform>,
    pub digest: Digest,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub created: Option<String>,
}

/// Lists repositories, their tags, and each tag's digest, platforms and created time.
/// A repository or tag that fails is reported with its error; the rest go on.
pub async fn list_registry(
    client: Arc<RegistryClient>,
    opts: &ListOptions,
) -> Result<Vec<RepositoryListing>, RegistryError> {
    let mut repositories = client.catalog(opts.max_entries).await?;
    if let Some(f) = &opts.repository_filter {
        repositories.retain(|r| r.contains(f.as_str()));
    }
    repositories.sort();
    let mut out = Vec::new();
    for repository in repositories {
        out.push(list_repository(&client, &repository, opts).await);
    }
    Ok(out)
}

/// Lists one repository's tags with digests and platforms.
pub async fn list_repository(
    client: &Arc<RegistryClient>,
    repository: &str,
    opts: &ListOptions,
) -> RepositoryListing {
    let tags = match client.tags(repository, opts.max_entries).await {
        Ok(t) => t,
        Err(e) => {
            return RepositoryListing {
                repository: repository.to_string(),
                tags: vec![],
                error: Some(e.to_string()),
            };
        }
    };
    let listings: Vec<TagListing> = futures::stream::iter(tags)
        .map(|tag| async move {
            match describe_tag(client, repository, &tag, opts.with_created).await {
                Ok(t) => t,
                Err(e) => TagListing {
                    tag,
                    digest: None,
                    media_type: None,
                    platforms: vec![],
                    error: Some(e.to_string()),
                },
            }
        })
        .buffered(opts.concurrency.max(1))
        .collect()
        .await;
    RepositoryListing {
        repository: repository.to_string(),
        tags: listings,
        error: None,
    }
}

async fn describe_tag(
    client: &RegistryClient,
    repository: &str,
    tag: &str,
    with_created: bool,
) -> Result<TagListing, RegistryError> {
    let fetched = client.manifest(repository, tag).await?;
    let protocol = |reason: String| RegistryError::Protocol {
        url: format!("{}/{repository}:{tag}", client.registry()),
        reason,
    };
    let parsed = Manifest::parse(&fetched.bytes, fetched.media_type.as_deref())
        .map_err(|e| protocol(e.to_string()))?;
    let config_of = |config_digest: Digest| async move {
        if !with_created {
            return Ok::<_, RegistryError>(None);
        }
        let bytes = client
            .blob_bytes(repository, &config_digest, MAX_CONFIG_BYTES)
            .await?;
        Ok(ImageConfig::parse(&bytes).ok())
    };
    let platforms = match parsed {
        Manifest::Image(m) => {
            let config = config_of(m.config.digest.clone()).await?;
            vec![PlatformListing {
                platform: config.as_ref().map(ImageConfig::platform),
                digest: fetched.digest.clone(),
                created: config.and_then(|c| c.created),
            }]
        }
        Manifest::Index(idx) => {
            let mut out = Vec::new();
            for d in idx.manifests {
                if d.platform.as_ref().is_some_and(|p| p.os == "unknown") {
                    continue; // attestations
                }
                let created = if with_created {
                    match client.manifest(repository, &d.digest.to_string()).await {
                        Ok(m) => match Manifest::parse(&m.bytes, m.media_type.as_deref()) {
                            Ok(Manifest::Image(im)) => {
                                config_of(im.config.digest).await?.and_then(|c| c.created)
                            }
                            _ => None,
                        },
                        Err(_) => None,
                    }
                } else {
                    None
                };
                out.push(PlatformListing {
                    platform: d.platform,
                    digest: d.digest,
                    created,
                });
            }
            out
        }
    };
    Ok(TagListing {
        tag: tag.to_string(),
        digest: Some(fetched.digest),
        media_type: fetched.media_type,
        platforms,
        error: None,
    })
}
