//! The read side: what the service's status tracking and the REST API ask the store for.
//! Lists are paginated by keyset (a cursor is the key of the last item returned), so a
//! page costs the same wherever it starts and rows added meanwhile are never skipped.

use crowsnest_model::finding::{Finding, FixStatus};
use crowsnest_model::{Digest, Severity};
use serde::{Deserialize, Serialize};
use time::OffsetDateTime;

use crate::error::{Result, StoreError};
use crate::records::{JobId, JobState, RegistryId, RepositoryId};

/// The largest page any list returns.
pub const MAX_PAGE: u32 = 1_000;

/// One page of a list and the cursor of the next one (`None`: this was the last page).
#[derive(Clone, Debug, PartialEq)]
pub struct Page<T, C> {
    pub items: Vec<T>,
    pub next: Option<C>,
}

impl<T, C> Page<T, C> {
    /// Cuts a list fetched with `limit + 1` rows into a page: the extra row only says
    /// that there is more, and the last kept item's key is the next cursor.
    pub(crate) fn from_overfetch(mut items: Vec<T>, limit: u32, key: impl Fn(&T) -> C) -> Self {
        let more = items.len() > limit as usize;
        items.truncate(limit as usize);
        let next = if more { items.last().map(key) } else { None };
        Page { items, next }
    }
}

pub(crate) fn check_limit(limit: u32) -> Result<u32> {
    if limit == 0 || limit > MAX_PAGE {
        return Err(StoreError::Invalid {
            what: "page size",
            reason: format!("{limit}: must be between 1 and {MAX_PAGE}"),
        });
    }
    Ok(limit)
}

/// What a monitored target is.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum TargetKind {
    Registry,
    Cluster,
    Feeds,
}

impl TargetKind {
    pub fn as_str(self) -> &'static str {
        match self {
            TargetKind::Registry => "registry",
            TargetKind::Cluster => "cluster",
            TargetKind::Feeds => "feeds",
        }
    }

    pub(crate) fn parse(object: &str, s: &str) -> Result<TargetKind> {
        match s {
            "registry" => Ok(TargetKind::Registry),
            "cluster" => Ok(TargetKind::Cluster),
            "feeds" => Ok(TargetKind::Feeds),
            other => Err(StoreError::corrupt(
                object,
                format!("unknown target kind {other:?}"),
            )),
        }
    }
}

/// How the work on one registry, cluster or the feeds has been going: what the status
/// pages show, so a failing target is visible while the others carry on.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct TargetStatus {
    pub kind: TargetKind,
    /// The registry URL, the cluster name, or `feeds`.
    pub id: String,
    #[serde(with = "time::serde::rfc3339::option")]
    pub last_attempt: Option<OffsetDateTime>,
    #[serde(with = "time::serde::rfc3339::option")]
    pub last_success: Option<OffsetDateTime>,
    pub last_error: Option<String>,
    pub consecutive_failures: u32,
    #[serde(with = "time::serde::rfc3339::option")]
    pub next_attempt: Option<OffsetDateTime>,
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub struct RegistrySummary {
    pub id: RegistryId,
    pub url: String,
    pub created: OffsetDateTime,
    pub repositories: u64,
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub struct RepositorySummary {
    pub id: RepositoryId,
    pub registry: RegistryId,
    pub registry_url: String,
    pub name: String,
    /// Images currently in the repository.
    pub images: u64,
}

/// Which images to list.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct ImageQuery {
    pub registry: Option<RegistryId>,
    pub repository: Option<RepositoryId>,
    /// Start after this digest.
    pub after: Option<Digest>,
    pub limit: u32,
}

/// One row of the image list.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ImageSummary {
    pub digest: Digest,
    pub media_type: String,
    pub platform: Option<String>,
    pub created: Option<OffsetDateTime>,
    pub first_seen: OffsetDateTime,
    /// The latest push over every repository holding it.
    pub last_pushed: Option<OffsetDateTime>,
    /// Repositories holding it now.
    pub repositories: u64,
    /// `None` when the image has not been assessed.
    pub findings: Option<u64>,
    pub assessed: Option<OffsetDateTime>,
}

/// One container running an image, per a cluster's latest snapshot.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct ImagePlacement {
    pub cluster_id: String,
    pub namespace: String,
    pub pod: String,
    pub container: String,
    /// The image reference as the pod spec writes it.
    pub image: String,
    pub digest: Digest,
}

/// Which findings to list. Empty `severities` means every severity.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct FindingQuery {
    pub severities: Vec<Severity>,
    pub fix_status: Option<FixStatus>,
    pub in_kev: Option<bool>,
    pub exploit_published: Option<bool>,
    /// Exact package name.
    pub package: Option<String>,
    /// Exact vulnerability id (the CVE id, else the advisory's id).
    pub vulnerability: Option<String>,
    pub digest: Option<Digest>,
    /// Images running in this namespace per the latest snapshot of any cluster.
    pub namespace: Option<String>,
    /// Narrows `namespace` (or alone: images running anywhere in the cluster).
    pub cluster: Option<String>,
    pub after: Option<FindingKey>,
    pub limit: u32,
}

/// A finding's place in the store: the image and its position in the assessment.
#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord, Serialize, Deserialize)]
pub struct FindingKey {
    pub digest: Digest,
    pub ordinal: i64,
}

#[derive(Clone, Debug, PartialEq)]
pub struct StoredFinding {
    pub key: FindingKey,
    pub finding: Finding,
}

/// A cluster and its latest snapshot.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ClusterSummary {
    pub cluster_id: String,
    pub latest_snapshot: i64,
    pub taken: OffsetDateTime,
    pub status: String,
    pub snapshots: u64,
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub struct SnapshotSummary {
    pub id: i64,
    pub cluster_id: String,
    pub taken: OffsetDateTime,
    pub status: String,
}

/// Which jobs to list, newest first.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct JobQuery {
    pub state: Option<JobState>,
    pub kind: Option<String>,
    /// Start after (below) this id.
    pub before: Option<JobId>,
    pub limit: u32,
}

/// What an API token may do.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum TokenRole {
    /// GET only.
    Read,
    /// GET, and POST to trigger work.
    Admin,
}

impl TokenRole {
    pub fn as_str(self) -> &'static str {
        match self {
            TokenRole::Read => "read",
            TokenRole::Admin => "admin",
        }
    }

    pub fn parse(s: &str) -> Option<TokenRole> {
        match s {
            "read" => Some(TokenRole::Read),
            "admin" => Some(TokenRole::Admin),
            _ => None,
        }
    }
}

/// An API token as stored: never the token, only the hex SHA-256 of it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ApiToken {
    pub name: String,
    pub role: TokenRole,
    pub created: OffsetDateTime,
    pub last_used: Option<OffsetDateTime>,
}

pub(crate) fn check_token_fields(name: &str, hash_hex: &str) -> Result<()> {
    if name.is_empty()
        || name.len() > 64
        || !name
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b"-_.".contains(&b))
    {
        return Err(StoreError::Invalid {
            what: "token name",
            reason: format!("{name:?}: use 1 to 64 letters, digits, '-', '_' or '.'"),
        });
    }
    if hash_hex.len() != 64 || !hash_hex.bytes().all(|b| b.is_ascii_hexdigit()) {
        return Err(StoreError::Invalid {
            what: "token hash",
            reason: "must be 64 hex digits (SHA-256)".into(),
        });
    }
    Ok(())
}

pub(crate) fn parse_severity(object: &str, s: &str) -> Result<Severity> {
    s.parse()
        .map_err(|_| StoreError::corrupt(object, format!("unknown severity {s:?}")))
}
