//! The persistent store of the continuous assessment service, and its job queue.
//!
//! One logical schema ([`schema`]) behind one async API ([`Store`]), with two back ends:
//! [`SqliteStore`] (embedded, WAL, one file under a data directory: the default) and
//! [`PgStore`] (PostgreSQL, for several workers sharing one database). [`AnyStore`]
//! picks one from a location string, which is what `crowsnest serve` and
//! `crowsnest worker` use.
//!
//! What is kept: registries and repositories; images content-addressed by manifest
//! digest with their tags and push times per repository; one inventory per image digest
//! and cataloger version (packages as rows, each with its JSON); the latest assessment
//! (findings) per image digest, replaceable from the stored inventory after a feed update
//! without pulling the image again; cluster snapshots; and a job queue with leases.
//!
//! Invariants: every multi-row write is one transaction (a crash never leaves half an
//! inventory or half a set of findings); every row read back is decoded and checked, so a
//! damaged database gives [`StoreError::Corrupt`] naming the row, never a panic; a job
//! with a given (kind, key) is queued or running at most once at a time, and a job is
//! held by at most one unexpired lease.

use std::future::Future;
use std::path::Path;
use std::time::Duration;

use crowsnest_model::finding::Finding;
use crowsnest_model::{Digest, Severity};
use time::OffsetDateTime;

pub mod console;
mod decode;
mod error;
mod placements;
mod postgres;
mod query;
mod records;
pub mod schema;
mod sqlite;
mod views;

pub use console::{
    ConsoleStore, FindingTallies, NewSession, SavedQuery, Session, SettingOverride, SettingTarget,
    SettingsChange,
};
pub use error::{Result, StoreError};
pub use postgres::{PgOptions, PgStore};
pub use records::{
    Assessment, ClusterSnapshot, Enqueued, ImageDetails, ImageLocation, ImageSighting, Inventory,
    Job, JobId, JobSpec, JobState, Lease, QueueDepth, RegistryId, RepositoryId, RetryPolicy,
};
pub use sqlite::SqliteStore;
pub use views::{
    ApiToken, ClusterSummary, FindingKey, FindingQuery, ImagePlacement, ImageQuery, ImageSummary,
    JobQuery, MAX_PAGE, Page, RegistrySummary, RepositorySummary, SnapshotSummary, StoredFinding,
    TargetKind, TargetStatus, TokenRole,
};

/// Which database a store runs on.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Backend {
    Sqlite,
    Postgres,
}

/// The store's operations. Both back ends implement all of them with the same meaning;
/// the shared test suite in `tests/` runs against each.
pub trait Store: Send + Sync {
    fn backend(&self) -> Backend;

    /// The schema version the database is at after open.
    fn schema_version(&self) -> impl Future<Output = Result<i64>> + Send;

    // --- registries and images -----------------------------------------------------

    /// Adds a registry by its base URL, or returns the existing one's id.
    fn upsert_registry(&self, url: &str) -> impl Future<Output = Result<RegistryId>> + Send;

    fn upsert_repository(
        &self,
        registry: RegistryId,
        name: &str,
    ) -> impl Future<Output = Result<RepositoryId>> + Send;

    /// Records that `sighting.digest` is in `repository` now, with exactly the given tags
    /// (a tag that pointed at another digest of the repository moves here).
    fn record_image(
        &self,
        repository: RepositoryId,
        sighting: &ImageSighting,
    ) -> impl Future<Output = Result<()>> + Send;

    /// Records that the image is no longer in `repository` (deleted from the registry).
    /// Returns whether it was there. The image's inventory and findings stay while any
    /// other repository still holds it.
    fn forget_image(
        &self,
        repository: RepositoryId,
        digest: &Digest,
    ) -> impl Future<Output = Result<bool>> + Send;

    fn image(&self, digest: &Digest) -> impl Future<Output = Result<Option<ImageDetails>>> + Send;

    /// Digests of images still in some repository and pushed at or after `since`:
    /// the set the daily re-assessment covers (together with images running in a
    /// monitored cluster, which the caller adds from snapshots). Sorted.
    fn images_pushed_since(
        &self,
        since: OffsetDateTime,
    ) -> impl Future<Output = Result<Vec<Digest>>> + Send;

    // --- inventories and findings ---------------------------------------------------

    /// Stores the inventory of an image (which must have been recorded), replacing any
    /// earlier one from the same cataloger version, in one transaction.
    fn put_inventory(
        &self,
        digest: &Digest,
        inventory: &Inventory,
    ) -> impl Future<Output = Result<()>> + Send;

    fn inventory(
        &self,
        digest: &Digest,
        cataloger_version: &str,
    ) -> impl Future<Output = Result<Option<Inventory>>> + Send;

    /// Replaces the image's assessment with new findings computed from its inventory by
    /// `assessment.cataloger_version`, in one transaction.
    fn put_assessment(
        &self,
        digest: &Digest,
        assessment: &Assessment,
    ) -> impl Future<Output = Result<()>> + Send;

    fn assessment(
        &self,
        digest: &Digest,
    ) -> impl Future<Output = Result<Option<Assessment>>> + Send;

    // --- clusters ------------------------------------------------------------------

    fn put_cluster_snapshot(
        &self,
        snapshot: &ClusterSnapshot,
    ) -> impl Future<Output = Result<i64>> + Send;

    fn latest_cluster_snapshot(
        &self,
        cluster_id: &str,
    ) -> impl Future<Output = Result<Option<ClusterSnapshot>>> + Send;

    // --- job queue -----------------------------------------------------------------

    /// Queues a job unless one with the same kind and key is queued or running.
    fn enqueue(&self, job: &JobSpec) -> impl Future<Output = Result<Enqueued>> + Send;

    /// Takes the next ready job (oldest `not_before` first) for `worker` for `lease`: a
    /// queued job whose `not_before` has passed, or a running job whose lease expired
    /// (its worker died). A job whose lease expired on its last allowed attempt is marked
    /// failed instead.
    fn claim(
        &self,
        worker: &str,
        lease: Duration,
    ) -> impl Future<Output = Result<Option<Lease>>> + Send;

    /// Extends a held lease to `lease` from now. [`StoreError::LeaseLost`] when another
    /// worker has taken the job or it was finished.
    fn renew(&self, lease: &Lease, extend: Duration) -> impl Future<Output = Result<Lease>> + Send;

    /// Marks the job done. [`StoreError::LeaseLost`] when the lease is no longer held.
    fn complete(&self, lease: &Lease) -> impl Future<Output = Result<()>> + Send;

    /// Records a failed attempt: the job is queued again after the policy's backoff, or
    /// marked failed when it has used all its attempts. Returns the new state.
    fn fail(
        &self,
        lease: &Lease,
        error: &str,
        retry: &RetryPolicy,
    ) -> impl Future<Output = Result<JobState>> + Send;

    fn job(&self, id: JobId) -> impl Future<Output = Result<Option<Job>>> + Send;

    /// The newest job of `kind` for `key` that used all its attempts and failed: what
    /// keeps a failing image from being queued again by every poll.
    fn last_failed_job(
        &self,
        kind: &str,
        key: &str,
    ) -> impl Future<Output = Result<Option<Job>>> + Send;

    fn queue_depth(&self) -> impl Future<Output = Result<QueueDepth>> + Send;

    // --- status of monitored targets -------------------------------------------------

    /// Digests currently in `repository`, sorted: the poller compares them with the
    /// registry's list and forgets the ones deleted there.
    fn repository_images(
        &self,
        repository: RepositoryId,
    ) -> impl Future<Output = Result<Vec<Digest>>> + Send;

    /// Replaces the status of one registry, cluster or the feeds.
    fn put_target_status(&self, status: &TargetStatus) -> impl Future<Output = Result<()>> + Send;

    /// Every target's status, sorted by kind then id.
    fn target_statuses(&self) -> impl Future<Output = Result<Vec<TargetStatus>>> + Send;

    // --- read side (the REST API) ------------------------------------------------------

    /// Registries sorted by URL.
    fn registries(&self) -> impl Future<Output = Result<Vec<RegistrySummary>>> + Send;

    /// Repositories (of one registry, or all), sorted by registry URL then name.
    fn repositories(
        &self,
        registry: Option<RegistryId>,
    ) -> impl Future<Output = Result<Vec<RepositorySummary>>> + Send;

    /// Images still in some repository, by digest.
    fn images(
        &self,
        query: &ImageQuery,
    ) -> impl Future<Output = Result<Page<ImageSummary, Digest>>> + Send;

    /// Where the image runs, per each cluster's latest snapshot that listed pods.
    fn image_placements(
        &self,
        digest: &Digest,
    ) -> impl Future<Output = Result<Vec<ImagePlacement>>> + Send;

    /// Findings of the latest assessments matching every filter of `query`, by
    /// (digest, position).
    fn findings(
        &self,
        query: &FindingQuery,
    ) -> impl Future<Output = Result<Page<StoredFinding, FindingKey>>> + Send;

    /// Number of stored findings per severity (`critical`, `high`, ...).
    fn finding_counts(&self) -> impl Future<Output = Result<Vec<(Severity, u64)>>> + Send;

    /// Every cluster with a snapshot, sorted by id.
    fn clusters(&self) -> impl Future<Output = Result<Vec<ClusterSummary>>> + Send;

    /// Snapshots (of one cluster, or all), newest id first, starting below `before`.
    fn cluster_snapshots(
        &self,
        cluster_id: Option<&str>,
        before: Option<i64>,
        limit: u32,
    ) -> impl Future<Output = Result<Page<SnapshotSummary, i64>>> + Send;

    fn cluster_snapshot(
        &self,
        id: i64,
    ) -> impl Future<Output = Result<Option<ClusterSnapshot>>> + Send;

    /// Jobs matching `query`, newest first.
    fn jobs(&self, query: &JobQuery) -> impl Future<Output = Result<Page<Job, JobId>>> + Send;

    // --- API tokens (only a SHA-256 of each token is kept) ----------------------------

    /// Adds a token. [`StoreError::Invalid`] when the name is taken.
    fn create_api_token(
        &self,
        name: &str,
        role: TokenRole,
        token_sha256_hex: &str,
    ) -> impl Future<Output = Result<ApiToken>> + Send;

    /// The token with this hash, its last use set to now.
    fn use_api_token(
        &self,
        token_sha256_hex: &str,
    ) -> impl Future<Output = Result<Option<ApiToken>>> + Send;

    /// Tokens sorted by name.
    fn api_tokens(&self) -> impl Future<Output = Result<Vec<ApiToken>>> + Send;

    /// Removes a token; whether it existed.
    fn revoke_api_token(&self, name: &str) -> impl Future<Output = Result<bool>> + Send;
}

/// A store on either back end, chosen at run time.
pub enum AnyStore {
    Sqlite(SqliteStore),
    Postgres(PgStore),
}

impl AnyStore {
    /// Opens `database_url` when given (`postgres://` or `postgresql://`), else the
    /// embedded SQLite store under `data_dir`. Migrations run before this returns.
    pub async fn open(database_url: Option<&str>, data_dir: &Path) -> Result<AnyStore> {
        match database_url {
            Some(url) => Ok(AnyStore::Postgres(
                PgStore::connect(url, &PgOptions::default()).await?,
            )),
            None => Ok(AnyStore::Sqlite(SqliteStore::open_dir(data_dir).await?)),
        }
    }
}

/// Forwards a [`Store`] method to whichever back end an [`AnyStore`] holds.
macro_rules! forward {
    ($self:ident, $method:ident ( $($arg:expr),* )) => {
        match $self {
            AnyStore::Sqlite(s) => s.$method($($arg),*).await,
            AnyStore::Postgres(s) => s.$method($($arg),*).await,
        }
    };
}

impl Store for AnyStore {
    fn backend(&self) -> Backend {
        match self {
            AnyStore::Sqlite(s) => s.backend(),
            AnyStore::Postgres(s) => s.backend(),
        }
    }
    async fn schema_version(&self) -> Result<i64> {
        forward!(self, schema_version())
    }
    async fn upsert_registry(&self, url: &str) -> Result<RegistryId> {
        forward!(self, upsert_registry(url))
    }
    async fn upsert_repository(&self, registry: RegistryId, name: &str) -> Result<RepositoryId> {
        forward!(self, upsert_repository(registry, name))
    }
    async fn record_image(&self, repository: RepositoryId, sighting: &ImageSighting) -> Result<()> {
        forward!(self, record_image(repository, sighting))
    }
    async fn forget_image(&self, repository: RepositoryId, digest: &Digest) -> Result<bool> {
        forward!(self, forget_image(repository, digest))
    }
    async fn image(&self, digest: &Digest) -> Result<Option<ImageDetails>> {
        forward!(self, image(digest))
    }
    async fn images_pushed_since(&self, since: OffsetDateTime) -> Result<Vec<Digest>> {
        forward!(self, images_pushed_since(since))
    }
    async fn put_inventory(&self, digest: &Digest, inventory: &Inventory) -> Result<()> {
        forward!(self, put_inventory(digest, inventory))
    }
    async fn inventory(
        &self,
        digest: &Digest,
        cataloger_version: &str,
    ) -> Result<Option<Inventory>> {
        forward!(self, inventory(digest, cataloger_version))
    }
    async fn put_assessment(&self, digest: &Digest, assessment: &Assessment) -> Result<()> {
        forward!(self, put_assessment(digest, assessment))
    }
    async fn assessment(&self, digest: &Digest) -> Result<Option<Assessment>> {
        forward!(self, assessment(digest))
    }
    async fn put_cluster_snapshot(&self, snapshot: &ClusterSnapshot) -> Result<i64> {
        forward!(self, put_cluster_snapshot(snapshot))
    }
    async fn latest_cluster_snapshot(&self, cluster_id: &str) -> Result<Option<ClusterSnapshot>> {
        forward!(self, latest_cluster_snapshot(cluster_id))
    }
    async fn enqueue(&self, job: &JobSpec) -> Result<Enqueued> {
        forward!(self, enqueue(job))
    }
    async fn claim(&self, worker: &str, lease: Duration) -> Result<Option<Lease>> {
        forward!(self, claim(worker, lease))
    }
    async fn renew(&self, lease: &Lease, extend: Duration) -> Result<Lease> {
        forward!(self, renew(lease, extend))
    }
    async fn complete(&self, lease: &Lease) -> Result<()> {
        forward!(self, complete(lease))
    }
    async fn fail(&self, lease: &Lease, error: &str, retry: &RetryPolicy) -> Result<JobState> {
        forward!(self, fail(lease, error, retry))
    }
    async fn job(&self, id: JobId) -> Result<Option<Job>> {
        forward!(self, job(id))
    }
    async fn last_failed_job(&self, kind: &str, key: &str) -> Result<Option<Job>> {
        forward!(self, last_failed_job(kind, key))
    }
    async fn queue_depth(&self) -> Result<QueueDepth> {
        forward!(self, queue_depth())
    }
    async fn repository_images(&self, repository: RepositoryId) -> Result<Vec<Digest>> {
        forward!(self, repository_images(repository))
    }
    async fn put_target_status(&self, status: &TargetStatus) -> Result<()> {
        forward!(self, put_target_status(status))
    }
    async fn target_statuses(&self) -> Result<Vec<TargetStatus>> {
        forward!(self, target_statuses())
    }
    async fn registries(&self) -> Result<Vec<RegistrySummary>> {
        forward!(self, registries())
    }
    async fn repositories(&self, registry: Option<RegistryId>) -> Result<Vec<RepositorySummary>> {
        forward!(self, repositories(registry))
    }
    async fn images(&self, query: &ImageQuery) -> Result<Page<ImageSummary, Digest>> {
        forward!(self, images(query))
    }
    async fn image_placements(&self, digest: &Digest) -> Result<Vec<ImagePlacement>> {
        forward!(self, image_placements(digest))
    }
    async fn findings(&self, query: &FindingQuery) -> Result<Page<StoredFinding, FindingKey>> {
        forward!(self, findings(query))
    }
    async fn finding_counts(&self) -> Result<Vec<(Severity, u64)>> {
        forward!(self, finding_counts())
    }
    async fn clusters(&self) -> Result<Vec<ClusterSummary>> {
        forward!(self, clusters())
    }
    async fn cluster_snapshots(
        &self,
        cluster_id: Option<&str>,
        before: Option<i64>,
        limit: u32,
    ) -> Result<Page<SnapshotSummary, i64>> {
        forward!(self, cluster_snapshots(cluster_id, before, limit))
    }
    async fn cluster_snapshot(&self, id: i64) -> Result<Option<ClusterSnapshot>> {
        forward!(self, cluster_snapshot(id))
    }
    async fn jobs(&self, query: &JobQuery) -> Result<Page<Job, JobId>> {
        forward!(self, jobs(query))
    }
    async fn create_api_token(
        &self,
        name: &str,
        role: TokenRole,
        token_sha256_hex: &str,
    ) -> Result<ApiToken> {
        forward!(self, create_api_token(name, role, token_sha256_hex))
    }
    async fn use_api_token(&self, token_sha256_hex: &str) -> Result<Option<ApiToken>> {
        forward!(self, use_api_token(token_sha256_hex))
    }
    async fn api_tokens(&self) -> Result<Vec<ApiToken>> {
        forward!(self, api_tokens())
    }
    async fn revoke_api_token(&self, name: &str) -> Result<bool> {
        forward!(self, revoke_api_token(name))
    }
}

impl ConsoleStore for AnyStore {
    async fn finding_tallies(&self) -> Result<console::FindingTallies> {
        forward!(self, finding_tallies())
    }
    async fn create_session(&self, session: &NewSession) -> Result<()> {
        forward!(self, create_session(session))
    }
    async fn session(&self, id_sha256: &str) -> Result<Option<Session>> {
        forward!(self, session(id_sha256))
    }
    async fn delete_session(&self, id_sha256: &str) -> Result<bool> {
        forward!(self, delete_session(id_sha256))
    }
    async fn setting_overrides(&self) -> Result<Vec<SettingOverride>> {
        forward!(self, setting_overrides())
    }
    async fn put_setting_override(
        &self,
        kind: SettingTarget,
        name: &str,
        settings: &serde_json::Value,
        old: &serde_json::Value,
        actor: &str,
    ) -> Result<SettingsChange> {
        forward!(self, put_setting_override(kind, name, settings, old, actor))
    }
    async fn settings_changes(&self, limit: u32) -> Result<Vec<SettingsChange>> {
        forward!(self, settings_changes(limit))
    }
    async fn saved_queries(&self, token_name: &str) -> Result<Vec<SavedQuery>> {
        forward!(self, saved_queries(token_name))
    }
    async fn save_query(
        &self,
        token_name: &str,
        name: &str,
        query: &str,
        cluster: Option<&str>,
    ) -> Result<SavedQuery> {
        forward!(self, save_query(token_name, name, query, cluster))
    }
    async fn delete_saved_query(&self, token_name: &str, id: i64) -> Result<bool> {
        forward!(self, delete_saved_query(token_name, id))
    }
}

/// Flattened columns of one finding row (the JSON holds the whole finding; these are
/// for filtering in SQL).
pub(crate) struct FindingRow {
    pub vulnerability_id: String,
    pub package_name: String,
    pub severity: String,
    pub fix_status: String,
    pub in_kev: bool,
    pub exploit_published: bool,
    pub json: String,
}

impl FindingRow {
    pub(crate) fn from_finding(f: &Finding) -> Result<FindingRow> {
        Ok(FindingRow {
            vulnerability_id: f.id.clone(),
            package_name: f.package.name.clone(),
            severity: f.severity.to_string(),
            fix_status: f.fix_status.as_str().to_string(),
            in_kev: f.exploitability.in_kev,
            exploit_published: f.exploitability.exploit_published,
            json: records::to_json("finding", f)?,
        })
    }
}

/// Flattened columns of one inventory package row.
pub(crate) struct PackageRow {
    pub kind: String,
    pub name: String,
    pub version: String,
    pub purl: String,
    pub json: String,
}

impl PackageRow {
    pub(crate) fn rows(inventory: &Inventory) -> Result<Vec<PackageRow>> {
        inventory
            .packages
            .iter()
            .map(|p| {
                Ok(PackageRow {
                    kind: p.kind.as_str().to_string(),
                    name: p.name.clone(),
                    version: p.version.clone(),
                    purl: p.purl.clone(),
                    json: records::to_json("package", p)?,
                })
            })
            .collect()
    }
}
