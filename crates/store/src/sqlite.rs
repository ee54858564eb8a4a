//! The embedded back end: one SQLite file in WAL mode.
//!
//! rusqlite is synchronous, so each operation runs on tokio's blocking pool against one
//! connection behind a mutex. Every write runs in a `BEGIN IMMEDIATE` transaction, which
//! takes SQLite's single write lock up front: that serializes claims between threads and
//! between processes sharing the file (the busy timeout makes the others wait).

mod console;

use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use crowsnest_model::{Digest, Severity};
use rusqlite::{Connection, OptionalExtension, TransactionBehavior, params, params_from_iter};
use time::OffsetDateTime;

use crate::decode::{
    ImageColumns, JobColumns, TargetColumns, TokenColumns, decode_assessment, decode_cluster,
    decode_inventory, decode_lease, decode_registry, decode_snapshot, decode_stored_finding,
    opt_time, token_taken,
};
use crate::error::{Result, StoreError};
use crate::placements;
use crate::query::{self, CLUSTERS_SQL, Dialect, SqlValue};
use crate::records::{duration_millis, from_millis, now_millis, parse_digest, to_json, to_millis};
use crate::schema;
use crate::views::{check_limit, check_token_fields, parse_severity};
use crate::{
    ApiToken, ClusterSummary, FindingKey, FindingQuery, ImagePlacement, ImageQuery, ImageSummary,
    JobQuery, Page, RegistrySummary, RepositorySummary, SnapshotSummary, StoredFinding,
    TargetStatus, TokenRole,
};
use crate::{
    Assessment, Backend, ClusterSnapshot, Enqueued, FindingRow, ImageDetails, ImageLocation,
    ImageSighting, Inventory, Job, JobId, JobSpec, JobState, Lease, PackageRow, QueueDepth,
    RegistryId, RepositoryId, RetryPolicy, Store,
};

/// The file name of the store inside the data directory.
pub const DATABASE_FILE: &str = "crowsnest.db";

/// How long a writer waits for another process's write lock before giving up.
const BUSY_TIMEOUT: Duration = Duration::from_secs(30);

/// Read-only connections kept open beside the writer: in WAL mode they read the last
/// committed state while the writer works, so API reads never queue behind a scan.
const READERS: usize = 4;

#[derive(Clone)]
pub struct SqliteStore {
    conn: Arc<Mutex<Connection>>,
    readers: Arc<Vec<Mutex<Connection>>>,
    next_reader: Arc<AtomicUsize>,
    path: PathBuf,
}

impl SqliteStore {
    /// Opens (creating it when missing) `crowsnest.db` under `data_dir`.
    pub async fn open_dir(data_dir: &Path) -> Result<SqliteStore> {
        std::fs::create_dir_all(data_dir).map_err(|e| StoreError::OpenSqlite {
            path: data_dir.display().to_string(),
            source: Box::new(e),
        })?;
        SqliteStore::open_file(&data_dir.join(DATABASE_FILE)).await
    }

    /// Opens (creating it when missing) the store in one SQLite file and brings its
    /// schema up to date.
    pub async fn open_file(path: &Path) -> Result<SqliteStore> {
        let path = path.to_path_buf();
        let shown = path.display().to_string();
        tokio::task::spawn_blocking(move || -> Result<SqliteStore> {
            let open_err = |e: rusqlite::Error| StoreError::OpenSqlite {
                path: shown.clone(),
                source: Box::new(e),
            };
            let mut conn = Connection::open(&path).map_err(open_err)?;
            conn.busy_timeout(BUSY_TIMEOUT).map_err(open_err)?;
            let mode: String = conn
                .query_row("PRAGMA journal_mode = WAL", [], |r| r.get(0))
                .map_err(open_err)?;
            if !mode.eq_ignore_ascii_case("wal") {
                return Err(StoreError::OpenSqlite {
                    path: shown,
                    source: format!("cannot switch to WAL mode (journal mode is {mode})").into(),
                });
            }
            // NORMAL is durable in WAL mode against a crash of the process (kill -9);
            // only a power loss can drop the last commits, never corrupt the file.
            conn.execute_batch("PRAGMA synchronous = NORMAL; PRAGMA foreign_keys = ON;")
                .map_err(open_err)?;
            migrate(&mut conn)?;
            let mut readers = Vec::with_capacity(READERS);
            for _ in 0..READERS {
                let reader = Connection::open(&path).map_err(open_err)?;
                reader.busy_timeout(BUSY_TIMEOUT).map_err(open_err)?;
                reader
                    .execute_batch("PRAGMA query_only = ON;")
                    .map_err(open_err)?;
                readers.push(Mutex::new(reader));
            }
            Ok(SqliteStore {
                conn: Arc::new(Mutex::new(conn)),
                readers: Arc::new(readers),
                next_reader: Arc::new(AtomicUsize::new(0)),
                path,
            })
        })
        .await
        .map_err(|e| StoreError::Task(e.to_string()))?
    }

    pub fn path(&self) -> &Path {
        &self.path
    }

    /// Runs `f` on the blocking pool with the connection.
    async fn run<T: Send + 'static>(
        &self,
        f: impl FnOnce(&mut Connection) -> Result<T> + Send + 'static,
    ) -> Result<T> {
        let conn = Arc::clone(&self.conn);
        tokio::task::spawn_blocking(move || {
            // A panic while the lock was held cannot leave a transaction open (rusqlite
            // rolls back on drop), so a poisoned lock is still a usable connection.
            let mut guard = conn.lock().unwrap_or_else(|poisoned| poisoned.into_inner());
            f(&mut guard)
        })
        .await
        .map_err(|e| StoreError::Task(e.to_string()))?
    }

    /// Runs a read `f` on the blocking pool with a reader connection, inside one read
    /// transaction so every statement of `f` sees the same committed state.
    async fn read<T: Send + 'static>(
        &self,
        f: impl FnOnce(&rusqlite::Transaction<'_>) -> Result<T> + Send + 'static,
    ) -> Result<T> {
        let readers = Arc::clone(&self.readers);
        let start = self.next_reader.fetch_add(1, Ordering::Relaxed);
        tokio::task::spawn_blocking(move || {
            // A free reader if there is one, else wait for the one in turn.
            let n = readers.len();
            let mut guard = (0..n)
                .find_map(|i| readers[(start + i) % n].try_lock().ok())
                .unwrap_or_else(|| {
                    readers[start % n]
                        .lock()
                        .unwrap_or_else(|poisoned| poisoned.into_inner())
                });
            let tx = guard
                .transaction()
                .map_err(StoreError::sqlite("starting a read"))?;
            let value = f(&tx)?;
            tx.finish().map_err(StoreError::sqlite("ending a read"))?;
            Ok(value)
        })
        .await
        .map_err(|e| StoreError::Task(e.to_string()))?
    }
}

fn migrate(conn: &mut Connection) -> Result<()> {
    let tx = conn
        .transaction_with_behavior(TransactionBehavior::Immediate)
        .map_err(StoreError::sqlite("starting the schema migration"))?;
    tx.execute_batch(schema::MIGRATIONS_TABLE)
        .map_err(StoreError::sqlite("creating schema_migrations"))?;
    let applied = {
        let mut stmt = tx
            .prepare("SELECT version, name FROM schema_migrations ORDER BY version")
            .map_err(StoreError::sqlite("reading schema_migrations"))?;
        stmt.query_map([], |r| Ok((r.get::<_, i64>(0)?, r.get::<_, String>(1)?)))
            .and_then(|rows| rows.collect::<rusqlite::Result<Vec<_>>>())
            .map_err(StoreError::sqlite("reading schema_migrations"))?
    };
    for m in schema::pending(&applied)? {
        tx.execute_batch(m.sqlite)
            .map_err(StoreError::sqlite(format!(
                "applying schema migration {}",
                m.version
            )))?;
        tx.execute(
            "INSERT INTO schema_migrations (version, name, applied_at) VALUES (?1, ?2, ?3)",
            params![m.version, m.name, now_millis()],
        )
        .map_err(StoreError::sqlite(format!(
            "recording schema migration {}",
            m.version
        )))?;
    }
    tx.commit()
        .map_err(StoreError::sqlite("committing the schema migration"))
}

fn lease_lost(lease: &Lease) -> StoreError {
    StoreError::LeaseLost {
        job_id: lease.job.0,
        attempt: i64::from(lease.attempt),
        worker: lease.worker.clone(),
    }
}

impl Store for SqliteStore {
    fn backend(&self) -> Backend {
        Backend::Sqlite
    }

    async fn schema_version(&self) -> Result<i64> {
        self.run(|c| {
            c.query_row(
                "SELECT COALESCE(MAX(version), 0) FROM schema_migrations",
                [],
                |r| r.get(0),
            )
            .map_err(StoreError::sqlite("reading the schema version"))
        })
        .await
    }

    async fn upsert_registry(&self, url: &str) -> Result<RegistryId> {
        let url = url.to_string();
        self.run(move |c| {
            let ctx = || format!("storing registry {url}");
            let tx = c
                .transaction_with_behavior(TransactionBehavior::Immediate)
                .map_err(StoreError::sqlite(ctx()))?;
            tx.execute(
                "INSERT INTO registries (url, created_at) VALUES (?1, ?2) ON CONFLICT (url) DO NOTHING",
                params![url, now_millis()],
            )
            .map_err(StoreError::sqlite(ctx()))?;
            let id = tx
                .query_row("SELECT id FROM registries WHERE url = ?1", [&url], |r| r.get(0))
                .map_err(StoreError::sqlite(ctx()))?;
            tx.commit().map_err(StoreError::sqlite(ctx()))?;
            Ok(RegistryId(id))
        })
        .await
    }

    async fn upsert_repository(&self, registry: RegistryId, name: &str) -> Result<RepositoryId> {
        let name = name.to_string();
        self.run(move |c| {
            let ctx = || format!("storing repository {name} of registry {}", registry.0);
            let tx = c
                .transaction_with_behavior(TransactionBehavior::Immediate)
                .map_err(StoreError::sqlite(ctx()))?;
            tx.execute(
                "INSERT INTO repositories (registry_id, name) VALUES (?1, ?2)
                 ON CONFLICT (registry_id, name) DO NOTHING",
                params![registry.0, name],
            )
            .map_err(StoreError::sqlite(ctx()))?;
            let id = tx
                .query_row(
                    "SELECT id FROM repositories WHERE registry_id = ?1 AND name = ?2",
                    params![registry.0, name],
                    |r| r.get(0),
                )
                .map_err(StoreError::sqlite(ctx()))?;
            tx.commit().map_err(StoreError::sqlite(ctx()))?;
            Ok(RepositoryId(id))
        })
        .await
    }

    async fn record_image(&self, repository: RepositoryId, sighting: &ImageSighting) -> Result<()> {
        let s = sighting.clone();
        self.run(move |c| {
            let ctx = || {
                format!(
                    "recording image {} in repository {}",
                    s.digest, repository.0
                )
            };
            let now = now_millis();
            let digest = s.digest.to_string();
            let tx = c
                .transaction_with_behavior(TransactionBehavior::Immediate)
                .map_err(StoreError::sqlite(ctx()))?;
            tx.execute(
                "INSERT INTO images (digest, media_type, platform, created_at, first_seen)
                 VALUES (?1, ?2, ?3, ?4, ?5)
                 ON CONFLICT (digest) DO UPDATE SET media_type = excluded.media_type,
                   platform = COALESCE(excluded.platform, images.platform),
                   created_at = COALESCE(excluded.created_at, images.created_at)",
                params![
                    digest,
                    s.media_type,
                    s.platform,
                    s.created.map(to_millis),
                    now
                ],
            )
            .map_err(StoreError::sqlite(ctx()))?;
            tx.execute(
                "INSERT INTO image_locations (repository_id, digest, pushed_at, last_seen)
                 VALUES (?1, ?2, ?3, ?4)
                 ON CONFLICT (repository_id, digest) DO UPDATE SET
                   pushed_at = COALESCE(excluded.pushed_at, image_locations.pushed_at),
                   last_seen = excluded.last_seen",
                params![repository.0, digest, s.pushed.map(to_millis), now],
            )
            .map_err(StoreError::sqlite(ctx()))?;
            tx.execute(
                "DELETE FROM image_tags WHERE repository_id = ?1 AND digest = ?2",
                params![repository.0, digest],
            )
            .map_err(StoreError::sqlite(ctx()))?;
            for tag in &s.tags {
                tx.execute(
                    "INSERT INTO image_tags (repository_id, tag, digest) VALUES (?1, ?2, ?3)
                     ON CONFLICT (repository_id, tag) DO UPDATE SET digest = excluded.digest",
                    params![repository.0, tag, digest],
                )
                .map_err(StoreError::sqlite(ctx()))?;
            }
            tx.commit().map_err(StoreError::sqlite(ctx()))
        })
        .await
    }

    async fn forget_image(&self, repository: RepositoryId, digest: &Digest) -> Result<bool> {
        let digest = digest.to_string();
        self.run(move |c| {
            let n = c
                .execute(
                    "DELETE FROM image_locations WHERE repository_id = ?1 AND digest = ?2",
                    params![repository.0, digest],
                )
                .map_err(StoreError::sqlite(format!(
                    "removing image {digest} from repository {}",
                    repository.0
                )))?;
            Ok(n > 0)
        })
        .await
    }

    async fn image(&self, digest: &Digest) -> Result<Option<ImageDetails>> {
        let digest = digest.clone();
        self.read(move |c| {
            let object = format!("image {digest}");
            let ctx = || format!("reading {object}");
            let key = digest.to_string();
            let Some((media_type, platform, created, first_seen)) = c
                .query_row(
                    "SELECT media_type, platform, created_at, first_seen FROM images WHERE digest = ?1",
                    [&key],
                    |r| {
                        Ok((
                            r.get::<_, String>(0)?,
                            r.get::<_, Option<String>>(1)?,
                            r.get::<_, Option<i64>>(2)?,
                            r.get::<_, i64>(3)?,
                        ))
                    },
                )
                .optional()
                .map_err(StoreError::sqlite(ctx()))?
            else {
                return Ok(None);
            };
            let mut stmt = c
                .prepare(
                    "SELECT g.url, r.name, l.pushed_at, l.last_seen, l.repository_id
                     FROM image_locations l
                     JOIN repositories r ON r.id = l.repository_id
                     JOIN registries g ON g.id = r.registry_id
                     WHERE l.digest = ?1 ORDER BY g.url, r.name",
                )
                .map_err(StoreError::sqlite(ctx()))?;
            let rows = stmt
                .query_map([&key], |r| {
                    Ok((
                        r.get::<_, String>(0)?,
                        r.get::<_, String>(1)?,
                        r.get::<_, Option<i64>>(2)?,
                        r.get::<_, i64>(3)?,
                        r.get::<_, i64>(4)?,
                    ))
                })
                .and_then(|rows| rows.collect::<rusqlite::Result<Vec<_>>>())
                .map_err(StoreError::sqlite(ctx()))?;
            let mut tag_stmt = c
                .prepare("SELECT tag FROM image_tags WHERE repository_id = ?1 AND digest = ?2 ORDER BY tag")
                .map_err(StoreError::sqlite(ctx()))?;
            let mut locations = Vec::with_capacity(rows.len());
            for (registry_url, repository, pushed, last_seen, repository_id) in rows {
                let tags = tag_stmt
                    .query_map(params![repository_id, key], |r| r.get::<_, String>(0))
                    .and_then(|rows| rows.collect::<rusqlite::Result<Vec<_>>>())
                    .map_err(StoreError::sqlite(ctx()))?;
                locations.push(ImageLocation {
                    registry_url,
                    repository,
                    tags,
                    pushed: opt_time(&object, pushed)?,
                    last_seen: from_millis(&object, last_seen)?,
                });
            }
            Ok(Some(ImageDetails {
                digest,
                media_type,
                platform,
                created: opt_time(&object, created)?,
                first_seen: from_millis(&object, first_seen)?,
                locations,
            }))
        })
        .await
    }

    async fn images_pushed_since(&self, since: OffsetDateTime) -> Result<Vec<Digest>> {
        let since = to_millis(since);
        self.read(move |c| {
            let ctx = "listing recently pushed images";
            let mut stmt = c
                .prepare(
                    "SELECT DISTINCT digest FROM image_locations WHERE pushed_at >= ?1 ORDER BY digest",
                )
                .map_err(StoreError::sqlite(ctx))?;
            let rows = stmt
                .query_map([since], |r| r.get::<_, String>(0))
                .and_then(|rows| rows.collect::<rusqlite::Result<Vec<_>>>())
                .map_err(StoreError::sqlite(ctx))?;
            rows.iter()
                .map(|d| parse_digest("image location", d))
                .collect()
        })
        .await
    }

    async fn put_inventory(&self, digest: &Digest, inventory: &Inventory) -> Result<()> {
        let rows = PackageRow::rows(inventory)?;
        let distro = inventory
            .distro
            .as_ref()
            .map(|d| to_json("distro", d))
            .transpose()?;
        let digest = digest.to_string();
        let version = inventory.cataloger_version.clone();
        self.run(move |c| {
            let ctx = || format!("storing the inventory of {digest} (cataloger {version})");
            let tx = c
                .transaction_with_behavior(TransactionBehavior::Immediate)
                .map_err(StoreError::sqlite(ctx()))?;
            tx.execute(
                "DELETE FROM inventories WHERE digest = ?1 AND cataloger_version = ?2",
                params![digest, version],
            )
            .map_err(StoreError::sqlite(ctx()))?;
            let id: i64 = tx
                .query_row(
                    "INSERT INTO inventories (digest, cataloger_version, distro_json, package_count, created_at)
                     VALUES (?1, ?2, ?3, ?4, ?5) RETURNING id",
                    params![digest, version, distro, rows.len() as i64, now_millis()],
                    |r| r.get(0),
                )
                .map_err(StoreError::sqlite(ctx()))?;
            {
                let mut insert = tx
                    .prepare(
                        "INSERT INTO inventory_packages
                         (inventory_id, ordinal, kind, name, version, purl, package_json)
                         VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7)",
                    )
                    .map_err(StoreError::sqlite(ctx()))?;
                for (ordinal, p) in rows.iter().enumerate() {
                    insert
                        .execute(params![id, ordinal as i64, p.kind, p.name, p.version, p.purl, p.json])
                        .map_err(StoreError::sqlite(ctx()))?;
                }
            }
            tx.commit().map_err(StoreError::sqlite(ctx()))
        })
        .await
    }

    async fn inventory(
        &self,
        digest: &Digest,
        cataloger_version: &str,
    ) -> Result<Option<Inventory>> {
        let digest = digest.to_string();
        let version = cataloger_version.to_string();
        self.read(move |c| {
            let object = format!("inventory of {digest} (cataloger {version})");
            let ctx = || format!("reading the {object}");
            let Some((id, distro, count, created)) = c
                .query_row(
                    "SELECT id, distro_json, package_count, created_at FROM inventories
                     WHERE digest = ?1 AND cataloger_version = ?2",
                    params![digest, version],
                    |r| {
                        Ok((
                            r.get::<_, i64>(0)?,
                            r.get::<_, Option<String>>(1)?,
                            r.get::<_, i64>(2)?,
                            r.get::<_, i64>(3)?,
                        ))
                    },
                )
                .optional()
                .map_err(StoreError::sqlite(ctx()))?
            else {
                return Ok(None);
            };
            let mut stmt = c
                .prepare("SELECT package_json FROM inventory_packages WHERE inventory_id = ?1 ORDER BY ordinal")
                .map_err(StoreError::sqlite(ctx()))?;
            let jsons = stmt
                .query_map([id], |r| r.get::<_, String>(0))
                .and_then(|rows| rows.collect::<rusqlite::Result<Vec<_>>>())
                .map_err(StoreError::sqlite(ctx()))?;
            decode_inventory(&object, version, distro, count, created, &jsons).map(Some)
        })
        .await
    }

    async fn put_assessment(&self, digest: &Digest, assessment: &Assessment) -> Result<()> {
        let rows = assessment
            .findings
            .iter()
            .map(FindingRow::from_finding)
            .collect::<Result<Vec<_>>>()?;
        let digest = digest.to_string();
        let version = assessment.cataloger_version.clone();
        let feed = assessment.feed_version.clone();
        let assessed = to_millis(assessment.assessed);
        self.run(move |c| {
            let ctx = || format!("storing the assessment of {digest}");
            let tx = c
                .transaction_with_behavior(TransactionBehavior::Immediate)
                .map_err(StoreError::sqlite(ctx()))?;
            let inventory: Option<i64> = tx
                .query_row(
                    "SELECT id FROM inventories WHERE digest = ?1 AND cataloger_version = ?2",
                    params![digest, version],
                    |r| r.get(0),
                )
                .optional()
                .map_err(StoreError::sqlite(ctx()))?;
            let Some(inventory) = inventory else {
                return Err(StoreError::Invalid {
                    what: "assessment",
                    reason: format!("{digest} has no inventory from cataloger {version} to assess"),
                });
            };
            tx.execute("DELETE FROM assessments WHERE digest = ?1", [&digest])
                .map_err(StoreError::sqlite(ctx()))?;
            tx.execute(
                "INSERT INTO assessments (digest, inventory_id, feed_version, assessed_at, finding_count)
                 VALUES (?1, ?2, ?3, ?4, ?5)",
                params![digest, inventory, feed, assessed, rows.len() as i64],
            )
            .map_err(StoreError::sqlite(ctx()))?;
            {
                let mut insert = tx
                    .prepare(
                        "INSERT INTO findings (digest, ordinal, vulnerability_id, package_name, severity,
                           fix_status, in_kev, exploit_published, finding_json)
                         VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9)",
                    )
                    .map_err(StoreError::sqlite(ctx()))?;
                for (ordinal, f) in rows.iter().enumerate() {
                    insert
                        .execute(params![
                            digest,
                            ordinal as i64,
                            f.vulnerability_id,
                            f.package_name,
                            f.severity,
                            f.fix_status,
                            f.in_kev,
                            f.exploit_published,
                            f.json
                        ])
                        .map_err(StoreError::sqlite(ctx()))?;
                }
            }
            tx.commit().map_err(StoreError::sqlite(ctx()))
        })
        .await
    }

    async fn assessment(&self, digest: &Digest) -> Result<Option<Assessment>> {
        let digest = digest.to_string();
        self.read(move |c| {
            let object = format!("assessment of {digest}");
            let ctx = || format!("reading the {object}");
            let Some((version, feed, assessed, count)) = c
                .query_row(
                    "SELECT i.cataloger_version, a.feed_version, a.assessed_at, a.finding_count
                     FROM assessments a JOIN inventories i ON i.id = a.inventory_id
                     WHERE a.digest = ?1",
                    [&digest],
                    |r| {
                        Ok((
                            r.get::<_, String>(0)?,
                            r.get::<_, String>(1)?,
                            r.get::<_, i64>(2)?,
                            r.get::<_, i64>(3)?,
                        ))
                    },
                )
                .optional()
                .map_err(StoreError::sqlite(ctx()))?
            else {
                return Ok(None);
            };
            let mut stmt = c
                .prepare("SELECT finding_json FROM findings WHERE digest = ?1 ORDER BY ordinal")
                .map_err(StoreError::sqlite(ctx()))?;
            let jsons = stmt
                .query_map([&digest], |r| r.get::<_, String>(0))
                .and_then(|rows| rows.collect::<rusqlite::Result<Vec<_>>>())
                .map_err(StoreError::sqlite(ctx()))?;
            decode_assessment(&object, version, feed, assessed, count, &jsons).map(Some)
        })
        .await
    }

    async fn put_cluster_snapshot(&self, snapshot: &ClusterSnapshot) -> Result<i64> {
        if snapshot.cluster_id.is_empty() {
            return Err(StoreError::Invalid {
                what: "cluster snapshot",
                reason: "cluster id is empty".into(),
            });
        }
        let json = to_json("cluster snapshot", &snapshot.snapshot)?;
        let cluster = snapshot.cluster_id.clone();
        let status = snapshot.status.clone();
        let taken = to_millis(snapshot.taken);
        let placed = placements::placements(&snapshot.cluster_id, &snapshot.snapshot);
        self.run(move |c| {
            let ctx = || format!("storing a snapshot of cluster {cluster}");
            let tx = c
                .transaction_with_behavior(TransactionBehavior::Immediate)
                .map_err(StoreError::sqlite(ctx()))?;
            let id: i64 = tx
                .query_row(
                    "INSERT INTO cluster_snapshots (cluster_id, taken_at, status, snapshot_json)
                     VALUES (?1, ?2, ?3, ?4) RETURNING id",
                    params![cluster, taken, status, json],
                    |r| r.get(0),
                )
                .map_err(StoreError::sqlite(ctx()))?;
            let newer: i64 = tx
                .query_row(
                    "SELECT COUNT(*) FROM cluster_snapshots WHERE cluster_id = ?1 AND taken_at > ?2",
                    params![cluster, taken],
                    |r| r.get(0),
                )
                .map_err(StoreError::sqlite(ctx()))?;
            if let (Some(placed), 0) = (placed, newer) {
                tx.execute("DELETE FROM image_placements WHERE cluster_id = ?1", [&cluster])
                    .map_err(StoreError::sqlite(ctx()))?;
                let mut insert = tx
                    .prepare(
                        "INSERT INTO image_placements
                           (cluster_id, snapshot_id, namespace, pod, container, image, digest)
                         VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7)",
                    )
                    .map_err(StoreError::sqlite(ctx()))?;
                for p in &placed {
                    insert
                        .execute(params![
                            cluster,
                            id,
                            p.namespace,
                            p.pod,
                            p.container,
                            p.image,
                            p.digest.to_string()
                        ])
                        .map_err(StoreError::sqlite(ctx()))?;
                }
            }
            tx.commit().map_err(StoreError::sqlite(ctx()))?;
            Ok(id)
        })
        .await
    }

    async fn latest_cluster_snapshot(&self, cluster_id: &str) -> Result<Option<ClusterSnapshot>> {
        let cluster = cluster_id.to_string();
        self.read(move |c| {
            let row = c
                .query_row(
                    "SELECT id, taken_at, status, snapshot_json FROM cluster_snapshots
                     WHERE cluster_id = ?1 ORDER BY taken_at DESC, id DESC LIMIT 1",
                    [&cluster],
                    |r| {
                        Ok((
                            r.get::<_, i64>(0)?,
                            r.get::<_, i64>(1)?,
                            r.get::<_, String>(2)?,
                            r.get::<_, String>(3)?,
                        ))
                    },
                )
                .optional()
                .map_err(StoreError::sqlite(format!(
                    "reading the latest snapshot of cluster {cluster}"
                )))?;
            row.map(|(id, taken, status, json)| decode_snapshot(cluster, id, taken, status, &json))
                .transpose()
        })
        .await
    }

    async fn enqueue(&self, job: &JobSpec) -> Result<Enqueued> {
        job.validate()?;
        let payload = to_json("job payload", &job.payload)?;
        let job = job.clone();
        self.run(move |c| {
            let ctx = || format!("queueing job {}/{}", job.kind, job.key);
            let now = now_millis();
            let tx = c
                .transaction_with_behavior(TransactionBehavior::Immediate)
                .map_err(StoreError::sqlite(ctx()))?;
            let inserted: Option<i64> = tx
                .query_row(
                    "INSERT INTO jobs (kind, job_key, payload_json, state, not_before, attempts,
                       max_attempts, created_at, updated_at)
                     VALUES (?1, ?2, ?3, 'queued', ?4, 0, ?5, ?6, ?6)
                     ON CONFLICT (kind, job_key) WHERE state IN ('queued', 'running') DO NOTHING
                     RETURNING id",
                    params![
                        job.kind,
                        job.key,
                        payload,
                        job.not_before.map_or(now, to_millis),
                        i64::from(job.max_attempts),
                        now
                    ],
                    |r| r.get(0),
                )
                .optional()
                .map_err(StoreError::sqlite(ctx()))?;
            let result = match inserted {
                Some(id) => Enqueued::New(JobId(id)),
                None => Enqueued::AlreadyActive(JobId(
                    tx.query_row(
                        "SELECT id FROM jobs WHERE kind = ?1 AND job_key = ?2
                         AND state IN ('queued', 'running')",
                        params![job.kind, job.key],
                        |r| r.get(0),
                    )
                    .map_err(StoreError::sqlite(ctx()))?,
                )),
            };
            tx.commit().map_err(StoreError::sqlite(ctx()))?;
            Ok(result)
        })
        .await
    }

    async fn claim(&self, worker: &str, lease: Duration) -> Result<Option<Lease>> {
        let worker = worker.to_string();
        let lease_ms = duration_millis(lease);
        self.run(move |c| {
            let ctx = || format!("claiming a job for worker {worker}");
            let now = now_millis();
            let tx = c
                .transaction_with_behavior(TransactionBehavior::Immediate)
                .map_err(StoreError::sqlite(ctx()))?;
            tx.execute(EXPIRE_EXHAUSTED_SQLITE, params![now])
                .map_err(StoreError::sqlite(ctx()))?;
            let claimed = tx
                .query_row(
                    "UPDATE jobs SET state = 'running', attempts = attempts + 1, lease_owner = ?1,
                       lease_until = ?2 + ?3, updated_at = ?2
                     WHERE id = (SELECT id FROM jobs
                                 WHERE (state = 'queued' AND not_before <= ?2)
                                    OR (state = 'running' AND lease_until < ?2)
                                 ORDER BY not_before, id LIMIT 1)
                     RETURNING id, kind, job_key, payload_json, attempts, lease_until",
                    params![worker, now, lease_ms],
                    |r| {
                        Ok((
                            r.get::<_, i64>(0)?,
                            r.get::<_, String>(1)?,
                            r.get::<_, String>(2)?,
                            r.get::<_, String>(3)?,
                            r.get::<_, i64>(4)?,
                            r.get::<_, i64>(5)?,
                        ))
                    },
                )
                .optional()
                .map_err(StoreError::sqlite(ctx()))?;
            tx.commit().map_err(StoreError::sqlite(ctx()))?;
            claimed
                .map(|(id, kind, key, payload, attempt, until)| {
                    decode_lease(id, kind, key, &payload, worker.clone(), attempt, until)
                })
                .transpose()
        })
        .await
    }

    async fn renew(&self, lease: &Lease, extend: Duration) -> Result<Lease> {
        let lease = lease.clone();
        let extend = duration_millis(extend);
        self.run(move |c| {
            let now = now_millis();
            let until: Option<i64> = c
                .query_row(
                    "UPDATE jobs SET lease_until = ?1 + ?2, updated_at = ?1
                     WHERE id = ?3 AND state = 'running' AND lease_owner = ?4 AND attempts = ?5
                     RETURNING lease_until",
                    params![
                        now,
                        extend,
                        lease.job.0,
                        lease.worker,
                        i64::from(lease.attempt)
                    ],
                    |r| r.get(0),
                )
                .optional()
                .map_err(StoreError::sqlite(format!(
                    "renewing the lease on job {}",
                    lease.job.0
                )))?;
            let Some(until) = until else {
                return Err(lease_lost(&lease));
            };
            Ok(Lease {
                until: from_millis(&format!("job {}", lease.job.0), until)?,
                ..lease
            })
        })
        .await
    }

    async fn complete(&self, lease: &Lease) -> Result<()> {
        let lease = lease.clone();
        self.run(move |c| {
            let n = c
                .execute(
                    "UPDATE jobs SET state = 'done', lease_until = NULL, updated_at = ?1
                     WHERE id = ?2 AND state = 'running' AND lease_owner = ?3 AND attempts = ?4",
                    params![
                        now_millis(),
                        lease.job.0,
                        lease.worker,
                        i64::from(lease.attempt)
                    ],
                )
                .map_err(StoreError::sqlite(format!(
                    "completing job {}",
                    lease.job.0
                )))?;
            if n == 0 {
                return Err(lease_lost(&lease));
            }
            Ok(())
        })
        .await
    }

    async fn fail(&self, lease: &Lease, error: &str, retry: &RetryPolicy) -> Result<JobState> {
        let lease = lease.clone();
        let error = error.to_string();
        let delay = duration_millis(retry.delay(lease.attempt));
        self.run(move |c| {
            let ctx = || format!("recording the failure of job {}", lease.job.0);
            let now = now_millis();
            let tx = c
                .transaction_with_behavior(TransactionBehavior::Immediate)
                .map_err(StoreError::sqlite(ctx()))?;
            let state: Option<String> = tx
                .query_row(
                    "UPDATE jobs SET
                       state = CASE WHEN attempts >= max_attempts THEN 'failed' ELSE 'queued' END,
                       not_before = CASE WHEN attempts >= max_attempts THEN not_before ELSE ?1 + ?2 END,
                       lease_until = NULL, last_error = ?3, updated_at = ?1
                     WHERE id = ?4 AND state = 'running' AND lease_owner = ?5 AND attempts = ?6
                     RETURNING state",
                    params![
                        now,
                        delay,
                        error,
                        lease.job.0,
                        lease.worker,
                        i64::from(lease.attempt)
                    ],
                    |r| r.get(0),
                )
                .optional()
                .map_err(StoreError::sqlite(ctx()))?;
            tx.commit().map_err(StoreError::sqlite(ctx()))?;
            match state {
                Some(s) => JobState::parse(lease.job.0, &s),
                None => Err(lease_lost(&lease)),
            }
        })
        .await
    }

    async fn job(&self, id: JobId) -> Result<Option<Job>> {
        self.read(move |c| {
            let row = c
                .query_row(
                    "SELECT id, kind, job_key, payload_json, state, not_before, attempts, max_attempts,
                       lease_owner, lease_until, last_error FROM jobs WHERE id = ?1",
                    [id.0],
                    |r| {
                        Ok(JobColumns {
                            id: r.get(0)?,
                            kind: r.get(1)?,
                            key: r.get(2)?,
                            payload: r.get(3)?,
                            state: r.get(4)?,
                            not_before: r.get(5)?,
                            attempts: r.get(6)?,
                            max_attempts: r.get(7)?,
                            lease_owner: r.get(8)?,
                            lease_until: r.get(9)?,
                            last_error: r.get(10)?,
                        })
                    },
                )
                .optional()
                .map_err(StoreError::sqlite(format!("reading job {}", id.0)))?;
            row.map(JobColumns::decode).transpose()
        })
        .await
    }

    async fn last_failed_job(&self, kind: &str, key: &str) -> Result<Option<Job>> {
        let (kind, key) = (kind.to_string(), key.to_string());
        let ctx = format!("reading the last failed job {kind}/{key}");
        let id: Option<i64> = self
            .read(move |c| {
                // The state comes first so that the jobs_ready index narrows the scan.
                c.query_row(
                    "SELECT MAX(id) FROM jobs WHERE state = 'failed' AND kind = ?1 AND job_key = ?2",
                    params![kind, key],
                    |r| r.get(0),
                )
                .map_err(StoreError::sqlite(ctx))
            })
            .await?;
        match id {
            Some(id) => self.job(JobId(id)).await,
            None => Ok(None),
        }
    }

    async fn queue_depth(&self) -> Result<QueueDepth> {
        self.read(move |c| {
            c.query_row(QUEUE_DEPTH_SQLITE, [now_millis()], |r| {
                Ok((
                    r.get::<_, i64>(0)?,
                    r.get::<_, i64>(1)?,
                    r.get::<_, i64>(2)?,
                ))
            })
            .map_err(StoreError::sqlite("measuring the job queue"))
            .map(|(ready, delayed, running)| QueueDepth {
                ready: ready.max(0) as u64,
                delayed: delayed.max(0) as u64,
                running: running.max(0) as u64,
            })
        })
        .await
    }

    async fn repository_images(&self, repository: RepositoryId) -> Result<Vec<Digest>> {
        self.read(move |c| {
            let ctx = || format!("listing the images of repository {}", repository.0);
            let mut stmt = c
                .prepare(
                    "SELECT digest FROM image_locations WHERE repository_id = ?1 ORDER BY digest",
                )
                .map_err(StoreError::sqlite(ctx()))?;
            let rows = stmt
                .query_map([repository.0], |r| r.get::<_, String>(0))
                .and_then(|rows| rows.collect::<rusqlite::Result<Vec<_>>>())
                .map_err(StoreError::sqlite(ctx()))?;
            rows.iter()
                .map(|d| parse_digest(&format!("image of repository {}", repository.0), d))
                .collect()
        })
        .await
    }

    async fn put_target_status(&self, status: &TargetStatus) -> Result<()> {
        let s = status.clone();
        self.run(move |c| {
            c.execute(
                "INSERT INTO target_status (kind, id, last_attempt, last_success, last_error,
                   consecutive_failures, next_attempt) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7)
                 ON CONFLICT (kind, id) DO UPDATE SET last_attempt = excluded.last_attempt,
                   last_success = excluded.last_success, last_error = excluded.last_error,
                   consecutive_failures = excluded.consecutive_failures,
                   next_attempt = excluded.next_attempt",
                params![
                    s.kind.as_str(),
                    s.id,
                    s.last_attempt.map(to_millis),
                    s.last_success.map(to_millis),
                    s.last_error,
                    i64::from(s.consecutive_failures),
                    s.next_attempt.map(to_millis)
                ],
            )
            .map_err(StoreError::sqlite(format!(
                "storing the status of {} {}",
                s.kind.as_str(),
                s.id
            )))?;
            Ok(())
        })
        .await
    }

    async fn target_statuses(&self) -> Result<Vec<TargetStatus>> {
        self.read(|c| {
            let ctx = "reading target statuses";
            let mut stmt = c
                .prepare(
                    "SELECT kind, id, last_attempt, last_success, last_error, consecutive_failures,
                       next_attempt FROM target_status ORDER BY kind, id",
                )
                .map_err(StoreError::sqlite(ctx))?;
            let rows = stmt
                .query_map([], |r| {
                    Ok(TargetColumns {
                        kind: r.get(0)?,
                        id: r.get(1)?,
                        last_attempt: r.get(2)?,
                        last_success: r.get(3)?,
                        last_error: r.get(4)?,
                        consecutive_failures: r.get(5)?,
                        next_attempt: r.get(6)?,
                    })
                })
                .and_then(|rows| rows.collect::<rusqlite::Result<Vec<_>>>())
                .map_err(StoreError::sqlite(ctx))?;
            rows.into_iter().map(TargetColumns::decode).collect()
        })
        .await
    }

    async fn registries(&self) -> Result<Vec<RegistrySummary>> {
        self.read(|c| {
            let ctx = "listing registries";
            let mut stmt = c
                .prepare(
                    "SELECT g.id, g.url, g.created_at,
                       (SELECT COUNT(*) FROM repositories r WHERE r.registry_id = g.id)
                     FROM registries g ORDER BY g.url",
                )
                .map_err(StoreError::sqlite(ctx))?;
            let rows = stmt
                .query_map([], |r| {
                    Ok((
                        r.get::<_, i64>(0)?,
                        r.get::<_, String>(1)?,
                        r.get::<_, i64>(2)?,
                        r.get::<_, i64>(3)?,
                    ))
                })
                .and_then(|rows| rows.collect::<rusqlite::Result<Vec<_>>>())
                .map_err(StoreError::sqlite(ctx))?;
            rows.into_iter()
                .map(|(id, url, created, n)| decode_registry(id, url, created, n))
                .collect()
        })
        .await
    }

    async fn repositories(&self, registry: Option<RegistryId>) -> Result<Vec<RepositorySummary>> {
        self.read(move |c| {
            let ctx = "listing repositories";
            let mut stmt = c
                .prepare(
                    "SELECT r.id, r.registry_id, g.url, r.name,
                       (SELECT COUNT(*) FROM image_locations l WHERE l.repository_id = r.id)
                     FROM repositories r JOIN registries g ON g.id = r.registry_id
                     WHERE ?1 IS NULL OR r.registry_id = ?1 ORDER BY g.url, r.name",
                )
                .map_err(StoreError::sqlite(ctx))?;
            let rows = stmt
                .query_map([registry.map(|r| r.0)], |r| {
                    Ok((
                        r.get::<_, i64>(0)?,
                        r.get::<_, i64>(1)?,
                        r.get::<_, String>(2)?,
                        r.get::<_, String>(3)?,
                        r.get::<_, i64>(4)?,
                    ))
                })
                .and_then(|rows| rows.collect::<rusqlite::Result<Vec<_>>>())
                .map_err(StoreError::sqlite(ctx))?;
            Ok(rows
                .into_iter()
                .map(|(id, registry, registry_url, name, n)| RepositorySummary {
                    id: RepositoryId(id),
                    registry: RegistryId(registry),
                    registry_url,
                    name,
                    images: n.max(0) as u64,
                })
                .collect())
        })
        .await
    }

    async fn images(&self, query: &ImageQuery) -> Result<Page<ImageSummary, Digest>> {
        let limit = check_limit(query.limit)?;
        let sql = query::images(Dialect::Sqlite, query);
        self.read(move |c| {
            let ctx = "listing images";
            let mut stmt = c.prepare(&sql.text).map_err(StoreError::sqlite(ctx))?;
            let rows = stmt
                .query_map(params_from_iter(sql.params.iter().map(to_sqlite)), |r| {
                    Ok(ImageColumns {
                        digest: r.get(0)?,
                        media_type: r.get(1)?,
                        platform: r.get(2)?,
                        created: r.get(3)?,
                        first_seen: r.get(4)?,
                        last_pushed: r.get(5)?,
                        repositories: r.get(6)?,
                        findings: r.get(7)?,
                        assessed: r.get(8)?,
                    })
                })
                .and_then(|rows| rows.collect::<rusqlite::Result<Vec<_>>>())
                .map_err(StoreError::sqlite(ctx))?;
            let items = rows
                .into_iter()
                .map(ImageColumns::decode)
                .collect::<Result<Vec<_>>>()?;
            Ok(Page::from_overfetch(items, limit, |i| i.digest.clone()))
        })
        .await
    }

    async fn image_placements(&self, digest: &Digest) -> Result<Vec<ImagePlacement>> {
        let digest = digest.clone();
        self.read(move |c| {
            let ctx = || format!("reading where {digest} runs");
            let mut stmt = c
                .prepare(
                    "SELECT cluster_id, namespace, pod, container, image FROM image_placements
                     WHERE digest = ?1 ORDER BY cluster_id, namespace, pod, container",
                )
                .map_err(StoreError::sqlite(ctx()))?;
            stmt.query_map([digest.to_string()], |r| {
                Ok(ImagePlacement {
                    cluster_id: r.get(0)?,
                    namespace: r.get(1)?,
                    pod: r.get(2)?,
                    container: r.get(3)?,
                    image: r.get(4)?,
                    digest: digest.clone(),
                })
            })
            .and_then(|rows| rows.collect::<rusqlite::Result<Vec<_>>>())
            .map_err(StoreError::sqlite(ctx()))
        })
        .await
    }

    async fn findings(&self, query: &FindingQuery) -> Result<Page<StoredFinding, FindingKey>> {
        let limit = check_limit(query.limit)?;
        let sql = query::findings(Dialect::Sqlite, query);
        self.read(move |c| {
            let ctx = "querying findings";
            let mut stmt = c
                .prepare_cached(&sql.text)
                .map_err(StoreError::sqlite(ctx))?;
            let rows = stmt
                .query_map(params_from_iter(sql.params.iter().map(to_sqlite)), |r| {
                    Ok((
                        r.get::<_, String>(0)?,
                        r.get::<_, i64>(1)?,
                        r.get::<_, String>(2)?,
                    ))
                })
                .and_then(|rows| rows.collect::<rusqlite::Result<Vec<_>>>())
                .map_err(StoreError::sqlite(ctx))?;
            let items = rows
                .into_iter()
                .map(|(d, o, json)| decode_stored_finding(&d, o, &json))
                .collect::<Result<Vec<_>>>()?;
            Ok(Page::from_overfetch(items, limit, |f| f.key.clone()))
        })
        .await
    }

    async fn finding_counts(&self) -> Result<Vec<(Severity, u64)>> {
        self.read(|c| {
            let ctx = "counting findings by severity";
            let mut stmt = c
                .prepare(
                    "SELECT f.severity, COUNT(*) FROM findings f
                     WHERE EXISTS (SELECT 1 FROM image_locations l WHERE l.digest = f.digest)
                     GROUP BY f.severity ORDER BY f.severity",
                )
                .map_err(StoreError::sqlite(ctx))?;
            let rows = stmt
                .query_map([], |r| Ok((r.get::<_, String>(0)?, r.get::<_, i64>(1)?)))
                .and_then(|rows| rows.collect::<rusqlite::Result<Vec<_>>>())
                .map_err(StoreError::sqlite(ctx))?;
            rows.into_iter()
                .map(|(s, n)| Ok((parse_severity("finding", &s)?, n.max(0) as u64)))
                .collect()
        })
        .await
    }

    async fn clusters(&self) -> Result<Vec<ClusterSummary>> {
        self.read(|c| {
            let ctx = "listing clusters";
            let mut stmt = c.prepare(CLUSTERS_SQL).map_err(StoreError::sqlite(ctx))?;
            let rows = stmt
                .query_map([], |r| {
                    Ok((
                        r.get::<_, String>(0)?,
                        r.get::<_, i64>(1)?,
                        r.get::<_, i64>(2)?,
                        r.get::<_, String>(3)?,
                        r.get::<_, i64>(4)?,
                    ))
                })
                .and_then(|rows| rows.collect::<rusqlite::Result<Vec<_>>>())
                .map_err(StoreError::sqlite(ctx))?;
            rows.into_iter()
                .map(|(cluster_id, id, taken, status, n)| {
                    decode_cluster(cluster_id, id, taken, status, n)
                })
                .collect()
        })
        .await
    }

    async fn cluster_snapshots(
        &self,
        cluster_id: Option<&str>,
        before: Option<i64>,
        limit: u32,
    ) -> Result<Page<SnapshotSummary, i64>> {
        let limit = check_limit(limit)?;
        let sql = query::snapshots(Dialect::Sqlite, cluster_id, before, limit);
        self.read(move |c| {
            let ctx = "listing cluster snapshots";
            let mut stmt = c.prepare(&sql.text).map_err(StoreError::sqlite(ctx))?;
            let rows = stmt
                .query_map(params_from_iter(sql.params.iter().map(to_sqlite)), |r| {
                    Ok((
                        r.get::<_, i64>(0)?,
                        r.get::<_, String>(1)?,
                        r.get::<_, i64>(2)?,
                        r.get::<_, String>(3)?,
                    ))
                })
                .and_then(|rows| rows.collect::<rusqlite::Result<Vec<_>>>())
                .map_err(StoreError::sqlite(ctx))?;
            let items = rows
                .into_iter()
                .map(|(id, cluster_id, taken, status)| {
                    Ok(SnapshotSummary {
                        taken: from_millis(&format!("snapshot {id}"), taken)?,
                        id,
                        cluster_id,
                        status,
                    })
                })
                .collect::<Result<Vec<_>>>()?;
            Ok(Page::from_overfetch(items, limit, |s| s.id))
        })
        .await
    }

    async fn cluster_snapshot(&self, id: i64) -> Result<Option<ClusterSnapshot>> {
        self.read(move |c| {
            let row = c
                .query_row(
                    "SELECT cluster_id, taken_at, status, snapshot_json FROM cluster_snapshots
                     WHERE id = ?1",
                    [id],
                    |r| {
                        Ok((
                            r.get::<_, String>(0)?,
                            r.get::<_, i64>(1)?,
                            r.get::<_, String>(2)?,
                            r.get::<_, String>(3)?,
                        ))
                    },
                )
                .optional()
                .map_err(StoreError::sqlite(format!("reading snapshot {id}")))?;
            row.map(|(cluster, taken, status, json)| {
                decode_snapshot(cluster, id, taken, status, &json)
            })
            .transpose()
        })
        .await
    }

    async fn jobs(&self, query: &JobQuery) -> Result<Page<Job, JobId>> {
        let limit = check_limit(query.limit)?;
        let sql = query::jobs(Dialect::Sqlite, query);
        self.read(move |c| {
            let ctx = "listing jobs";
            let mut stmt = c.prepare(&sql.text).map_err(StoreError::sqlite(ctx))?;
            let rows = stmt
                .query_map(
                    params_from_iter(sql.params.iter().map(to_sqlite)),
                    job_columns,
                )
                .and_then(|rows| rows.collect::<rusqlite::Result<Vec<_>>>())
                .map_err(StoreError::sqlite(ctx))?;
            let items = rows
                .into_iter()
                .map(JobColumns::decode)
                .collect::<Result<Vec<_>>>()?;
            Ok(Page::from_overfetch(items, limit, |j| j.id))
        })
        .await
    }

    async fn create_api_token(
        &self,
        name: &str,
        role: TokenRole,
        token_sha256_hex: &str,
    ) -> Result<ApiToken> {
        check_token_fields(name, token_sha256_hex)?;
        let name = name.to_string();
        let hash = token_sha256_hex.to_ascii_lowercase();
        self.run(move |c| {
            let now = now_millis();
            let n = c
                .execute(
                    "INSERT INTO api_tokens (name, token_sha256, role, created_at) VALUES (?1, ?2, ?3, ?4)
                     ON CONFLICT DO NOTHING",
                    params![name, hash, role.as_str(), now],
                )
                .map_err(StoreError::sqlite(format!("storing API token {name}")))?;
            if n == 0 {
                return Err(token_taken(&name));
            }
            Ok(ApiToken {
                created: from_millis("API token", now)?,
                name,
                role,
                last_used: None,
            })
        })
        .await
    }

    async fn use_api_token(&self, token_sha256_hex: &str) -> Result<Option<ApiToken>> {
        let hash = token_sha256_hex.to_ascii_lowercase();
        self.run(move |c| {
            let row = c
                .query_row(
                    "UPDATE api_tokens SET last_used = ?1 WHERE token_sha256 = ?2
                     RETURNING name, role, created_at, last_used",
                    params![now_millis(), hash],
                    token_columns,
                )
                .optional()
                .map_err(StoreError::sqlite("looking up an API token"))?;
            row.map(TokenColumns::decode).transpose()
        })
        .await
    }

    async fn api_tokens(&self) -> Result<Vec<ApiToken>> {
        self.read(|c| {
            let ctx = "listing API tokens";
            let mut stmt = c
                .prepare("SELECT name, role, created_at, last_used FROM api_tokens ORDER BY name")
                .map_err(StoreError::sqlite(ctx))?;
            let rows = stmt
                .query_map([], token_columns)
                .and_then(|rows| rows.collect::<rusqlite::Result<Vec<_>>>())
                .map_err(StoreError::sqlite(ctx))?;
            rows.into_iter().map(TokenColumns::decode).collect()
        })
        .await
    }

    async fn revoke_api_token(&self, name: &str) -> Result<bool> {
        let name = name.to_string();
        self.run(move |c| {
            let n = c
                .execute("DELETE FROM api_tokens WHERE name = ?1", [&name])
                .map_err(StoreError::sqlite(format!("revoking API token {name}")))?;
            Ok(n > 0)
        })
        .await
    }
}

fn to_sqlite(v: &SqlValue) -> rusqlite::types::Value {
    match v {
        SqlValue::Text(s) => rusqlite::types::Value::Text(s.clone()),
        SqlValue::Int(n) => rusqlite::types::Value::Integer(*n),
    }
}

fn job_columns(r: &rusqlite::Row<'_>) -> rusqlite::Result<JobColumns> {
    Ok(JobColumns {
        id: r.get(0)?,
        kind: r.get(1)?,
        key: r.get(2)?,
        payload: r.get(3)?,
        state: r.get(4)?,
        not_before: r.get(5)?,
        attempts: r.get(6)?,
        max_attempts: r.get(7)?,
        lease_owner: r.get(8)?,
        lease_until: r.get(9)?,
        last_error: r.get(10)?,
    })
}

fn token_columns(r: &rusqlite::Row<'_>) -> rusqlite::Result<TokenColumns> {
    Ok(TokenColumns {
        name: r.get(0)?,
        role: r.get(1)?,
        created: r.get(2)?,
        last_used: r.get(3)?,
    })
}

/// Marks failed the running jobs whose lease expired on their last allowed attempt.
const EXPIRE_EXHAUSTED_SQLITE: &str = "UPDATE jobs SET state = 'failed', lease_until = NULL,
       last_error = 'lease of worker ' || COALESCE(lease_owner, '?') || ' expired on attempt '
                    || attempts || ' of ' || max_attempts,
       updated_at = ?1
     WHERE state = 'running' AND lease_until < ?1 AND attempts >= max_attempts";

const QUEUE_DEPTH_SQLITE: &str = "SELECT
       COALESCE(SUM(CASE WHEN state = 'queued' AND not_before <= ?1 THEN 1 ELSE 0 END), 0),
       COALESCE(SUM(CASE WHEN state = 'queued' AND not_before > ?1 THEN 1 ELSE 0 END), 0),
       COALESCE(SUM(CASE WHEN state = 'running' THEN 1 ELSE 0 END), 0)
     FROM jobs WHERE state IN ('queued', 'running')";
