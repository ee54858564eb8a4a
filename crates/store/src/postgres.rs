//! The PostgreSQL back end, for several workers sharing one database.
//!
//! Claims use `FOR UPDATE SKIP LOCKED`, so concurrent workers each take a different job
//! without waiting on each other. Job times (`not_before`, leases) come from the
//! database's clock, so workers on machines with skewed clocks still agree on when a
//! lease has expired. Connections are pooled; TLS (rustls on aws-lc-rs, with the webpki roots) is used
//! when the URL's `sslmode` asks for it (`prefer`, the default, tries it first).

mod console;

use std::sync::Arc;
use std::time::Duration;

use crowsnest_model::{Digest, Severity};
use deadpool_postgres::{Manager, ManagerConfig, Pool, RecyclingMethod, Runtime};
use time::OffsetDateTime;
use tokio_postgres::Row;
use tokio_postgres::types::ToSql;

use crate::decode::{
    ImageColumns, JobColumns, TargetColumns, TokenColumns, decode_assessment, decode_cluster,
    decode_inventory, decode_lease, decode_registry, decode_snapshot, decode_stored_finding,
    opt_time, token_taken,
};
use crate::error::{Result, StoreError};
use crate::placements;
use crate::query::{self, CLUSTERS_SQL, Dialect, Sql, SqlValue};
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

/// The database's clock in milliseconds, fixed for the duration of one statement.
const NOW_MS: &str = "(EXTRACT(EPOCH FROM statement_timestamp()) * 1000)::BIGINT";

/// Key of the advisory lock that serializes schema migrations between processes.
const MIGRATION_LOCK: i64 = 0x6372_6f77_736e_6573; // "crowsnes"

/// Rows per statement in bulk inserts (inventory packages, findings).
const BULK_ROWS: usize = 5_000;

#[derive(Clone, Debug)]
pub struct PgOptions {
    pub max_connections: usize,
    /// A schema to keep the tables in (created when missing) instead of the search
    /// path's default: lets several stores share one database (tests do).
    pub schema: Option<String>,
    /// How long an operation waits for a free pooled connection.
    pub wait_timeout: Duration,
}

impl Default for PgOptions {
    fn default() -> Self {
        PgOptions {
            max_connections: 8,
            schema: None,
            wait_timeout: Duration::from_secs(30),
        }
    }
}

#[derive(Clone)]
pub struct PgStore {
    pool: Pool,
}

/// The URL without its password, for messages.
fn redact(url: &str) -> String {
    match url::Url::parse(url) {
        Ok(mut u) => {
            if u.password().is_some() {
                let _ = u.set_password(Some("***"));
            }
            u.to_string()
        }
        Err(_) => "<unparsable database URL>".to_string(),
    }
}

fn valid_schema_name(s: &str) -> bool {
    let mut chars = s.chars();
    matches!(chars.next(), Some(c) if c.is_ascii_lowercase() || c == '_')
        && chars.all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '_')
        && s.len() <= 63
}

impl PgStore {
    /// Connects to `url` (`postgres://user:password@host:port/db`) and brings the schema
    /// up to date.
    pub async fn connect(url: &str, options: &PgOptions) -> Result<PgStore> {
        let shown = redact(url);
        let bad_url = |reason: String| StoreError::BadUrl {
            url: shown.clone(),
            reason,
        };
        if !(url.starts_with("postgres://") || url.starts_with("postgresql://")) {
            return Err(bad_url(
                "expected a postgres:// or postgresql:// URL".into(),
            ));
        }
        let mut config: tokio_postgres::Config = url
            .parse()
            .map_err(|e: tokio_postgres::Error| bad_url(e.to_string()))?;
        if let Some(schema) = &options.schema {
            if !valid_schema_name(schema) {
                return Err(StoreError::Invalid {
                    what: "schema name",
                    reason: format!("{schema:?}: use lowercase letters, digits and _"),
                });
            }
            config.options(format!("-c search_path={schema}"));
        }
        if config.get_connect_timeout().is_none() {
            config.connect_timeout(Duration::from_secs(10));
        }
        let tls = tls_connector().map_err(|e| StoreError::Connect {
            url: shown.clone(),
            source: e.into(),
        })?;
        let manager = Manager::from_config(
            config,
            tls,
            ManagerConfig {
                recycling_method: RecyclingMethod::Fast,
            },
        );
        let pool = Pool::builder(manager)
            .max_size(options.max_connections.max(1))
            .runtime(Runtime::Tokio1)
            .wait_timeout(Some(options.wait_timeout))
            .build()
            .map_err(|e| StoreError::Connect {
                url: shown.clone(),
                source: Box::new(e),
            })?;
        let store = PgStore { pool };
        let mut client = store.pool.get().await.map_err(|e| StoreError::Connect {
            url: shown.clone(),
            source: Box::new(e),
        })?;
        if let Some(schema) = &options.schema {
            client
                .batch_execute(&format!("CREATE SCHEMA IF NOT EXISTS {schema}"))
                .await
                .map_err(StoreError::postgres(format!("creating schema {schema}")))?;
        }
        migrate(&mut client).await?;
        drop(client);
        Ok(store)
    }

    async fn client(&self) -> Result<deadpool_postgres::Object> {
        self.pool
            .get()
            .await
            .map_err(StoreError::postgres("taking a pooled connection"))
    }
}

fn tls_connector() -> std::result::Result<tokio_postgres_rustls::MakeRustlsConnect, rustls::Error> {
    // The workspace's one provider (aws-lc-rs), named explicitly so this connector works
    // whatever the process has installed as rustls' default.
    let provider = Arc::new(rustls::crypto::aws_lc_rs::default_provider());
    let config = rustls::ClientConfig::builder_with_provider(provider)
        .with_safe_default_protocol_versions()?
        .with_root_certificates(rustls::RootCertStore {
            roots: webpki_roots::TLS_SERVER_ROOTS.to_vec(),
        })
        .with_no_client_auth();
    Ok(tokio_postgres_rustls::MakeRustlsConnect::new(config))
}

async fn migrate(client: &mut deadpool_postgres::Object) -> Result<()> {
    let tx = client
        .transaction()
        .await
        .map_err(pg("starting the schema migration"))?;
    tx.execute("SELECT pg_advisory_xact_lock($1)", &[&MIGRATION_LOCK])
        .await
        .map_err(pg("waiting for the schema migration lock"))?;
    tx.batch_execute(schema::MIGRATIONS_TABLE)
        .await
        .map_err(pg("creating schema_migrations"))?;
    let applied = tx
        .query(
            "SELECT version, name FROM schema_migrations ORDER BY version",
            &[],
        )
        .await
        .map_err(pg("reading schema_migrations"))?
        .iter()
        .map(|r| {
            Ok((
                get(r, 0, "schema_migrations")?,
                get(r, 1, "schema_migrations")?,
            ))
        })
        .collect::<Result<Vec<(i64, String)>>>()?;
    for m in schema::pending(&applied)? {
        tx.batch_execute(m.postgres)
            .await
            .map_err(pg(format!("applying schema migration {}", m.version)))?;
        tx.execute(
            "INSERT INTO schema_migrations (version, name, applied_at) VALUES ($1, $2, $3)",
            &[&m.version, &m.name, &now_millis()],
        )
        .await
        .map_err(pg(format!("recording schema migration {}", m.version)))?;
    }
    tx.commit()
        .await
        .map_err(pg("committing the schema migration"))
}

/// Reads one column, naming the object when its type is not what the schema says.
fn get<'a, T: tokio_postgres::types::FromSql<'a>>(
    row: &'a Row,
    idx: usize,
    object: &str,
) -> Result<T> {
    row.try_get(idx)
        .map_err(|e| StoreError::corrupt(object, format!("column {idx}: {e}")))
}

fn lease_lost(lease: &Lease) -> StoreError {
    StoreError::LeaseLost {
        job_id: lease.job.0,
        attempt: i64::from(lease.attempt),
        worker: lease.worker.clone(),
    }
}

fn pg(context: impl Into<String>) -> impl FnOnce(tokio_postgres::Error) -> StoreError {
    StoreError::postgres(context)
}

impl Store for PgStore {
    fn backend(&self) -> Backend {
        Backend::Postgres
    }

    async fn schema_version(&self) -> Result<i64> {
        let client = self.client().await?;
        let row = client
            .query_one(
                "SELECT COALESCE(MAX(version), 0)::BIGINT FROM schema_migrations",
                &[],
            )
            .await
            .map_err(pg("reading the schema version"))?;
        get(&row, 0, "schema_migrations")
    }

    async fn upsert_registry(&self, url: &str) -> Result<RegistryId> {
        let client = self.client().await?;
        let row = client
            .query_one(
                "INSERT INTO registries (url, created_at) VALUES ($1, $2)
                 ON CONFLICT (url) DO UPDATE SET url = EXCLUDED.url RETURNING id",
                &[&url, &now_millis()],
            )
            .await
            .map_err(pg(format!("storing registry {url}")))?;
        Ok(RegistryId(get(&row, 0, "registry")?))
    }

    async fn upsert_repository(&self, registry: RegistryId, name: &str) -> Result<RepositoryId> {
        let client = self.client().await?;
        let row = client
            .query_one(
                "INSERT INTO repositories (registry_id, name) VALUES ($1, $2)
                 ON CONFLICT (registry_id, name) DO UPDATE SET name = EXCLUDED.name RETURNING id",
                &[&registry.0, &name],
            )
            .await
            .map_err(pg(format!(
                "storing repository {name} of registry {}",
                registry.0
            )))?;
        Ok(RepositoryId(get(&row, 0, "repository")?))
    }

    async fn record_image(&self, repository: RepositoryId, s: &ImageSighting) -> Result<()> {
        let ctx = || {
            format!(
                "recording image {} in repository {}",
                s.digest, repository.0
            )
        };
        let now = now_millis();
        let digest = s.digest.to_string();
        let mut client = self.client().await?;
        let tx = client.transaction().await.map_err(pg(ctx()))?;
        tx.execute(
            "INSERT INTO images (digest, media_type, platform, created_at, first_seen)
             VALUES ($1, $2, $3, $4, $5)
             ON CONFLICT (digest) DO UPDATE SET media_type = EXCLUDED.media_type,
               platform = COALESCE(EXCLUDED.platform, images.platform),
               created_at = COALESCE(EXCLUDED.created_at, images.created_at)",
            &[
                &digest,
                &s.media_type,
                &s.platform,
                &s.created.map(to_millis),
                &now,
            ],
        )
        .await
        .map_err(pg(ctx()))?;
        tx.execute(
            "INSERT INTO image_locations (repository_id, digest, pushed_at, last_seen)
             VALUES ($1, $2, $3, $4)
             ON CONFLICT (repository_id, digest) DO UPDATE SET
               pushed_at = COALESCE(EXCLUDED.pushed_at, image_locations.pushed_at),
               last_seen = EXCLUDED.last_seen",
            &[&repository.0, &digest, &s.pushed.map(to_millis), &now],
        )
        .await
        .map_err(pg(ctx()))?;
        tx.execute(
            "DELETE FROM image_tags WHERE repository_id = $1 AND digest = $2",
            &[&repository.0, &digest],
        )
        .await
        .map_err(pg(ctx()))?;
        for tag in &s.tags {
            tx.execute(
                "INSERT INTO image_tags (repository_id, tag, digest) VALUES ($1, $2, $3)
                 ON CONFLICT (repository_id, tag) DO UPDATE SET digest = EXCLUDED.digest",
                &[&repository.0, tag, &digest],
            )
            .await
            .map_err(pg(ctx()))?;
        }
        tx.commit().await.map_err(pg(ctx()))
    }

    async fn forget_image(&self, repository: RepositoryId, digest: &Digest) -> Result<bool> {
        let client = self.client().await?;
        let n = client
            .execute(
                "DELETE FROM image_locations WHERE repository_id = $1 AND digest = $2",
                &[&repository.0, &digest.to_string()],
            )
            .await
            .map_err(pg(format!(
                "removing image {digest} from repository {}",
                repository.0
            )))?;
        Ok(n > 0)
    }

    async fn image(&self, digest: &Digest) -> Result<Option<ImageDetails>> {
        let object = format!("image {digest}");
        let ctx = || format!("reading {object}");
        let key = digest.to_string();
        let client = self.client().await?;
        let Some(row) = client
            .query_opt(
                "SELECT media_type, platform, created_at, first_seen FROM images WHERE digest = $1",
                &[&key],
            )
            .await
            .map_err(pg(ctx()))?
        else {
            return Ok(None);
        };
        let locations = client
            .query(
                "SELECT g.url, r.name, l.pushed_at, l.last_seen,
                   COALESCE((SELECT array_agg(t.tag ORDER BY t.tag) FROM image_tags t
                             WHERE t.repository_id = l.repository_id AND t.digest = l.digest),
                            ARRAY[]::TEXT[])
                 FROM image_locations l
                 JOIN repositories r ON r.id = l.repository_id
                 JOIN registries g ON g.id = r.registry_id
                 WHERE l.digest = $1 ORDER BY g.url, r.name",
                &[&key],
            )
            .await
            .map_err(pg(ctx()))?
            .iter()
            .map(|r| {
                Ok(ImageLocation {
                    registry_url: get(r, 0, &object)?,
                    repository: get(r, 1, &object)?,
                    pushed: opt_time(&object, get(r, 2, &object)?)?,
                    last_seen: from_millis(&object, get(r, 3, &object)?)?,
                    tags: get(r, 4, &object)?,
                })
            })
            .collect::<Result<Vec<_>>>()?;
        Ok(Some(ImageDetails {
            digest: digest.clone(),
            media_type: get(&row, 0, &object)?,
            platform: get(&row, 1, &object)?,
            created: opt_time(&object, get(&row, 2, &object)?)?,
            first_seen: from_millis(&object, get(&row, 3, &object)?)?,
            locations,
        }))
    }

    async fn images_pushed_since(&self, since: OffsetDateTime) -> Result<Vec<Digest>> {
        let client = self.client().await?;
        client
            .query(
                "SELECT DISTINCT digest FROM image_locations WHERE pushed_at >= $1 ORDER BY digest",
                &[&to_millis(since)],
            )
            .await
            .map_err(pg("listing recently pushed images"))?
            .iter()
            .map(|r| parse_digest("image location", get::<&str>(r, 0, "image location")?))
            .collect()
    }

    async fn put_inventory(&self, digest: &Digest, inventory: &Inventory) -> Result<()> {
        let rows = PackageRow::rows(inventory)?;
        let distro = inventory
            .distro
            .as_ref()
            .map(|d| to_json("distro", d))
            .transpose()?;
        let version = &inventory.cataloger_version;
        let key = digest.to_string();
        let ctx = || format!("storing the inventory of {digest} (cataloger {version})");
        let mut client = self.client().await?;
        let tx = client.transaction().await.map_err(pg(ctx()))?;
        tx.execute(
            "DELETE FROM inventories WHERE digest = $1 AND cataloger_version = $2",
            &[&key, version],
        )
        .await
        .map_err(pg(ctx()))?;
        let row = tx
            .query_one(
                "INSERT INTO inventories (digest, cataloger_version, distro_json, package_count, created_at)
                 VALUES ($1, $2, $3, $4, $5) RETURNING id",
                &[&key, version, &distro, &(rows.len() as i64), &now_millis()],
            )
            .await
            .map_err(pg(ctx()))?;
        let id: i64 = get(&row, 0, "inventory")?;
        for (chunk_no, chunk) in rows.chunks(BULK_ROWS).enumerate() {
            let first = (chunk_no * BULK_ROWS) as i64;
            let ordinals: Vec<i64> = (first..first + chunk.len() as i64).collect();
            let column =
                |f: fn(&PackageRow) -> &str| -> Vec<&str> { chunk.iter().map(f).collect() };
            let (kinds, names, versions, purls, jsons) = (
                column(|p| &p.kind),
                column(|p| &p.name),
                column(|p| &p.version),
                column(|p| &p.purl),
                column(|p| &p.json),
            );
            let params: [&(dyn ToSql + Sync); 7] =
                [&id, &ordinals, &kinds, &names, &versions, &purls, &jsons];
            tx.execute(
                "INSERT INTO inventory_packages
                   (inventory_id, ordinal, kind, name, version, purl, package_json)
                 SELECT $1, * FROM UNNEST($2::BIGINT[], $3::TEXT[], $4::TEXT[], $5::TEXT[],
                                          $6::TEXT[], $7::TEXT[])",
                &params,
            )
            .await
            .map_err(pg(ctx()))?;
        }
        tx.commit().await.map_err(pg(ctx()))
    }

    async fn inventory(
        &self,
        digest: &Digest,
        cataloger_version: &str,
    ) -> Result<Option<Inventory>> {
        let object = format!("inventory of {digest} (cataloger {cataloger_version})");
        let ctx = || format!("reading the {object}");
        let client = self.client().await?;
        let Some(row) = client
            .query_opt(
                "SELECT id, distro_json, package_count, created_at FROM inventories
                 WHERE digest = $1 AND cataloger_version = $2",
                &[&digest.to_string(), &cataloger_version],
            )
            .await
            .map_err(pg(ctx()))?
        else {
            return Ok(None);
        };
        let id: i64 = get(&row, 0, &object)?;
        let jsons = client
            .query(
                "SELECT package_json FROM inventory_packages WHERE inventory_id = $1 ORDER BY ordinal",
                &[&id],
            )
            .await
            .map_err(pg(ctx()))?
            .iter()
            .map(|r| get(r, 0, &object))
            .collect::<Result<Vec<String>>>()?;
        decode_inventory(
            &object,
            cataloger_version.to_string(),
            get(&row, 1, &object)?,
            get(&row, 2, &object)?,
            get(&row, 3, &object)?,
            &jsons,
        )
        .map(Some)
    }

    async fn put_assessment(&self, digest: &Digest, assessment: &Assessment) -> Result<()> {
        let rows = assessment
            .findings
            .iter()
            .map(FindingRow::from_finding)
            .collect::<Result<Vec<_>>>()?;
        let key = digest.to_string();
        let version = &assessment.cataloger_version;
        let ctx = || format!("storing the assessment of {digest}");
        let mut client = self.client().await?;
        let tx = client.transaction().await.map_err(pg(ctx()))?;
        let inventory = tx
            .query_opt(
                "SELECT id FROM inventories WHERE digest = $1 AND cataloger_version = $2",
                &[&key, version],
            )
            .await
            .map_err(pg(ctx()))?;
        let Some(inventory) = inventory else {
            return Err(StoreError::Invalid {
                what: "assessment",
                reason: format!("{digest} has no inventory from cataloger {version} to assess"),
            });
        };
        let inventory: i64 = get(&inventory, 0, "inventory")?;
        tx.execute("DELETE FROM assessments WHERE digest = $1", &[&key])
            .await
            .map_err(pg(ctx()))?;
        tx.execute(
            "INSERT INTO assessments (digest, inventory_id, feed_version, assessed_at, finding_count)
             VALUES ($1, $2, $3, $4, $5)",
            &[
                &key,
                &inventory,
                &assessment.feed_version,
                &to_millis(assessment.assessed),
                &(rows.len() as i64),
            ],
        )
        .await
        .map_err(pg(ctx()))?;
        for (chunk_no, chunk) in rows.chunks(BULK_ROWS).enumerate() {
            let first = (chunk_no * BULK_ROWS) as i64;
            let ordinals: Vec<i64> = (first..first + chunk.len() as i64).collect();
            let text = |f: fn(&FindingRow) -> &str| -> Vec<&str> { chunk.iter().map(f).collect() };
            let flag = |f: fn(&FindingRow) -> bool| -> Vec<bool> { chunk.iter().map(f).collect() };
            let (ids, packages, severities, fixes, jsons) = (
                text(|f| &f.vulnerability_id),
                text(|f| &f.package_name),
                text(|f| &f.severity),
                text(|f| &f.fix_status),
                text(|f| &f.json),
            );
            let (kev, exploit) = (flag(|f| f.in_kev), flag(|f| f.exploit_published));
            let params: [&(dyn ToSql + Sync); 9] = [
                &key,
                &ordinals,
                &ids,
                &packages,
                &severities,
                &fixes,
                &kev,
                &exploit,
                &jsons,
            ];
            tx.execute(
                "INSERT INTO findings (digest, ordinal, vulnerability_id, package_name, severity,
                   fix_status, in_kev, exploit_published, finding_json)
                 SELECT $1, * FROM UNNEST($2::BIGINT[], $3::TEXT[], $4::TEXT[], $5::TEXT[],
                                          $6::TEXT[], $7::BOOLEAN[], $8::BOOLEAN[], $9::TEXT[])",
                &params,
            )
            .await
            .map_err(pg(ctx()))?;
        }
        tx.commit().await.map_err(pg(ctx()))
    }

    async fn assessment(&self, digest: &Digest) -> Result<Option<Assessment>> {
        let object = format!("assessment of {digest}");
        let ctx = || format!("reading the {object}");
        let key = digest.to_string();
        let client = self.client().await?;
        let Some(row) = client
            .query_opt(
                "SELECT i.cataloger_version, a.feed_version, a.assessed_at, a.finding_count
                 FROM assessments a JOIN inventories i ON i.id = a.inventory_id
                 WHERE a.digest = $1",
                &[&key],
            )
            .await
            .map_err(pg(ctx()))?
        else {
            return Ok(None);
        };
        let jsons = client
            .query(
                "SELECT finding_json FROM findings WHERE digest = $1 ORDER BY ordinal",
                &[&key],
            )
            .await
            .map_err(pg(ctx()))?
            .iter()
            .map(|r| get(r, 0, &object))
            .collect::<Result<Vec<String>>>()?;
        decode_assessment(
            &object,
            get(&row, 0, &object)?,
            get(&row, 1, &object)?,
            get(&row, 2, &object)?,
            get(&row, 3, &object)?,
            &jsons,
        )
        .map(Some)
    }

    async fn put_cluster_snapshot(&self, snapshot: &ClusterSnapshot) -> Result<i64> {
        if snapshot.cluster_id.is_empty() {
            return Err(StoreError::Invalid {
                what: "cluster snapshot",
                reason: "cluster id is empty".into(),
            });
        }
        let json = to_json("cluster snapshot", &snapshot.snapshot)?;
        let placed = placements::placements(&snapshot.cluster_id, &snapshot.snapshot);
        let cluster = &snapshot.cluster_id;
        let taken = to_millis(snapshot.taken);
        let ctx = || format!("storing a snapshot of cluster {cluster}");
        let mut client = self.client().await?;
        let tx = client.transaction().await.map_err(pg(ctx()))?;
        // Serializes snapshot writes of one cluster, so two writers cannot both decide
        // they hold the latest snapshot and interleave their placements.
        tx.execute(
            "SELECT pg_advisory_xact_lock(hashtext('snapshot:' || $1))",
            &[cluster],
        )
        .await
        .map_err(pg(ctx()))?;
        let row = tx
            .query_one(
                "INSERT INTO cluster_snapshots (cluster_id, taken_at, status, snapshot_json)
                 VALUES ($1, $2, $3, $4) RETURNING id,
                   (SELECT COUNT(*) FROM cluster_snapshots WHERE cluster_id = $1 AND taken_at > $2)",
                &[cluster, &taken, &snapshot.status, &json],
            )
            .await
            .map_err(pg(ctx()))?;
        let id: i64 = get(&row, 0, "cluster snapshot")?;
        let newer: i64 = get(&row, 1, "cluster snapshot")?;
        if let (Some(placed), 0) = (placed, newer) {
            tx.execute(
                "DELETE FROM image_placements WHERE cluster_id = $1",
                &[cluster],
            )
            .await
            .map_err(pg(ctx()))?;
            for chunk in placed.chunks(BULK_ROWS) {
                let column = |f: fn(&ImagePlacement) -> String| -> Vec<String> {
                    chunk.iter().map(f).collect()
                };
                let (namespaces, pods, containers, images, digests) = (
                    column(|p| p.namespace.clone()),
                    column(|p| p.pod.clone()),
                    column(|p| p.container.clone()),
                    column(|p| p.image.clone()),
                    column(|p| p.digest.to_string()),
                );
                let params: [&(dyn ToSql + Sync); 7] = [
                    cluster,
                    &id,
                    &namespaces,
                    &pods,
                    &containers,
                    &images,
                    &digests,
                ];
                tx.execute(
                    "INSERT INTO image_placements
                       (cluster_id, snapshot_id, namespace, pod, container, image, digest)
                     SELECT $1, $2, * FROM UNNEST($3::TEXT[], $4::TEXT[], $5::TEXT[], $6::TEXT[],
                                                  $7::TEXT[])",
                    &params,
                )
                .await
                .map_err(pg(ctx()))?;
            }
        }
        tx.commit().await.map_err(pg(ctx()))?;
        Ok(id)
    }

    async fn latest_cluster_snapshot(&self, cluster_id: &str) -> Result<Option<ClusterSnapshot>> {
        let object = format!("latest snapshot of cluster {cluster_id}");
        let client = self.client().await?;
        let Some(row) = client
            .query_opt(
                "SELECT id, taken_at, status, snapshot_json FROM cluster_snapshots
                 WHERE cluster_id = $1 ORDER BY taken_at DESC, id DESC LIMIT 1",
                &[&cluster_id],
            )
            .await
            .map_err(pg(format!("reading the {object}")))?
        else {
            return Ok(None);
        };
        decode_snapshot(
            cluster_id.to_string(),
            get(&row, 0, &object)?,
            get(&row, 1, &object)?,
            get(&row, 2, &object)?,
            get(&row, 3, &object)?,
        )
        .map(Some)
    }

    async fn enqueue(&self, job: &JobSpec) -> Result<Enqueued> {
        job.validate()?;
        let payload = to_json("job payload", &job.payload)?;
        let ctx = || format!("queueing job {}/{}", job.kind, job.key);
        let not_before = job.not_before.map(to_millis);
        let max_attempts = i64::from(job.max_attempts);
        let client = self.client().await?;
        // Between a conflicting insert and the look-up of the active job, that job can
        // finish; then the insert is simply tried again.
        for _ in 0..5 {
            let inserted = client
                .query_opt(
                    &format!(
                        "INSERT INTO jobs (kind, job_key, payload_json, state, not_before, attempts,
                           max_attempts, created_at, updated_at)
                         VALUES ($1, $2, $3, 'queued', COALESCE($4, {NOW_MS}), 0, $5, {NOW_MS}, {NOW_MS})
                         ON CONFLICT (kind, job_key) WHERE state IN ('queued', 'running') DO NOTHING
                         RETURNING id"
                    ),
                    &[&job.kind, &job.key, &payload, &not_before, &max_attempts],
                )
                .await
                .map_err(pg(ctx()))?;
            if let Some(row) = inserted {
                return Ok(Enqueued::New(JobId(get(&row, 0, "job")?)));
            }
            let active = client
                .query_opt(
                    "SELECT id FROM jobs WHERE kind = $1 AND job_key = $2
                     AND state IN ('queued', 'running')",
                    &[&job.kind, &job.key],
                )
                .await
                .map_err(pg(ctx()))?;
            if let Some(row) = active {
                return Ok(Enqueued::AlreadyActive(JobId(get(&row, 0, "job")?)));
            }
        }
        Err(StoreError::Postgres {
            context: ctx(),
            source: "the job kept finishing and reappearing while being queued".into(),
        })
    }

    async fn claim(&self, worker: &str, lease: Duration) -> Result<Option<Lease>> {
        let ctx = || format!("claiming a job for worker {worker}");
        let lease_ms = duration_millis(lease);
        let mut client = self.client().await?;
        let tx = client.transaction().await.map_err(pg(ctx()))?;
        tx.execute(
            &format!(
                "UPDATE jobs SET state = 'failed', lease_until = NULL,
                   last_error = 'lease of worker ' || COALESCE(lease_owner, '?')
                     || ' expired on attempt ' || attempts || ' of ' || max_attempts,
                   updated_at = {NOW_MS}
                 WHERE id IN (SELECT id FROM jobs WHERE state = 'running'
                                AND lease_until < {NOW_MS} AND attempts >= max_attempts
                              FOR UPDATE SKIP LOCKED)"
            ),
            &[],
        )
        .await
        .map_err(pg(ctx()))?;
        let row = tx
            .query_opt(
                &format!(
                    "UPDATE jobs SET state = 'running', attempts = attempts + 1, lease_owner = $1,
                       lease_until = {NOW_MS} + $2, updated_at = {NOW_MS}
                     WHERE id = (SELECT id FROM jobs
                                 WHERE (state = 'queued' AND not_before <= {NOW_MS})
                                    OR (state = 'running' AND lease_until < {NOW_MS}
                                        AND attempts < max_attempts)
                                 ORDER BY not_before, id
                                 FOR UPDATE SKIP LOCKED LIMIT 1)
                     RETURNING id, kind, job_key, payload_json, attempts, lease_until"
                ),
                &[&worker, &lease_ms],
            )
            .await
            .map_err(pg(ctx()))?;
        tx.commit().await.map_err(pg(ctx()))?;
        let Some(row) = row else {
            return Ok(None);
        };
        let object = "claimed job";
        decode_lease(
            get(&row, 0, object)?,
            get(&row, 1, object)?,
            get(&row, 2, object)?,
            get(&row, 3, object)?,
            worker.to_string(),
            get(&row, 4, object)?,
            get(&row, 5, object)?,
        )
        .map(Some)
    }

    async fn renew(&self, lease: &Lease, extend: Duration) -> Result<Lease> {
        let client = self.client().await?;
        let row = client
            .query_opt(
                &format!(
                    "UPDATE jobs SET lease_until = {NOW_MS} + $1, updated_at = {NOW_MS}
                     WHERE id = $2 AND state = 'running' AND lease_owner = $3 AND attempts = $4
                     RETURNING lease_until"
                ),
                &[
                    &duration_millis(extend),
                    &lease.job.0,
                    &lease.worker,
                    &i64::from(lease.attempt),
                ],
            )
            .await
            .map_err(pg(format!("renewing the lease on job {}", lease.job.0)))?;
        let Some(row) = row else {
            return Err(lease_lost(lease));
        };
        let object = format!("job {}", lease.job.0);
        Ok(Lease {
            until: from_millis(&object, get(&row, 0, &object)?)?,
            ..lease.clone()
        })
    }

    async fn complete(&self, lease: &Lease) -> Result<()> {
        let client = self.client().await?;
        let n = client
            .execute(
                &format!(
                    "UPDATE jobs SET state = 'done', lease_until = NULL, updated_at = {NOW_MS}
                     WHERE id = $1 AND state = 'running' AND lease_owner = $2 AND attempts = $3"
                ),
                &[&lease.job.0, &lease.worker, &i64::from(lease.attempt)],
            )
            .await
            .map_err(pg(format!("completing job {}", lease.job.0)))?;
        if n == 0 {
            return Err(lease_lost(lease));
        }
        Ok(())
    }

    async fn fail(&self, lease: &Lease, error: &str, retry: &RetryPolicy) -> Result<JobState> {
        let client = self.client().await?;
        let row = client
            .query_opt(
                &format!(
                    "UPDATE jobs SET
                       state = CASE WHEN attempts >= max_attempts THEN 'failed' ELSE 'queued' END,
                       not_before = CASE WHEN attempts >= max_attempts THEN not_before
                                         ELSE {NOW_MS} + $1 END,
                       lease_until = NULL, last_error = $2, updated_at = {NOW_MS}
                     WHERE id = $3 AND state = 'running' AND lease_owner = $4 AND attempts = $5
                     RETURNING state"
                ),
                &[
                    &duration_millis(retry.delay(lease.attempt)),
                    &error,
                    &lease.job.0,
                    &lease.worker,
                    &i64::from(lease.attempt),
                ],
            )
            .await
            .map_err(pg(format!("recording the failure of job {}", lease.job.0)))?;
        match row {
            Some(row) => JobState::parse(lease.job.0, get(&row, 0, "job")?),
            None => Err(lease_lost(lease)),
        }
    }

    async fn job(&self, id: JobId) -> Result<Option<Job>> {
        let object = format!("job {}", id.0);
        let client = self.client().await?;
        let Some(r) = client
            .query_opt(
                "SELECT id, kind, job_key, payload_json, state, not_before, attempts, max_attempts,
                   lease_owner, lease_until, last_error FROM jobs WHERE id = $1",
                &[&id.0],
            )
            .await
            .map_err(pg(format!("reading {object}")))?
        else {
            return Ok(None);
        };
        JobColumns {
            id: get(&r, 0, &object)?,
            kind: get(&r, 1, &object)?,
            key: get(&r, 2, &object)?,
            payload: get(&r, 3, &object)?,
            state: get(&r, 4, &object)?,
            not_before: get(&r, 5, &object)?,
            attempts: get(&r, 6, &object)?,
            max_attempts: get(&r, 7, &object)?,
            lease_owner: get(&r, 8, &object)?,
            lease_until: get(&r, 9, &object)?,
            last_error: get(&r, 10, &object)?,
        }
        .decode()
        .map(Some)
    }

    async fn last_failed_job(&self, kind: &str, key: &str) -> Result<Option<Job>> {
        let ctx = || format!("reading the last failed job {kind}/{key}");
        let row = self
            .client()
            .await?
            .query_one(
                "SELECT MAX(id) FROM jobs WHERE state = 'failed' AND kind = $1 AND job_key = $2",
                &[&kind, &key],
            )
            .await
            .map_err(pg(ctx()))?;
        let id: Option<i64> = get(&row, 0, &ctx())?;
        match id {
            Some(id) => self.job(JobId(id)).await,
            None => Ok(None),
        }
    }

    async fn queue_depth(&self) -> Result<QueueDepth> {
        let client = self.client().await?;
        let row = client
            .query_one(
                &format!(
                    "SELECT
                       COUNT(*) FILTER (WHERE state = 'queued' AND not_before <= {NOW_MS}),
                       COUNT(*) FILTER (WHERE state = 'queued' AND not_before > {NOW_MS}),
                       COUNT(*) FILTER (WHERE state = 'running')
                     FROM jobs WHERE state IN ('queued', 'running')"
                ),
                &[],
            )
            .await
            .map_err(pg("measuring the job queue"))?;
        let n = |i| -> Result<u64> { Ok(get::<i64>(&row, i, "job queue")?.max(0) as u64) };
        Ok(QueueDepth {
            ready: n(0)?,
            delayed: n(1)?,
            running: n(2)?,
        })
    }

    async fn repository_images(&self, repository: RepositoryId) -> Result<Vec<Digest>> {
        let object = format!("image of repository {}", repository.0);
        let client = self.client().await?;
        client
            .query(
                "SELECT digest FROM image_locations WHERE repository_id = $1 ORDER BY digest",
                &[&repository.0],
            )
            .await
            .map_err(pg(format!(
                "listing the images of repository {}",
                repository.0
            )))?
            .iter()
            .map(|r| parse_digest(&object, get::<&str>(r, 0, &object)?))
            .collect()
    }

    async fn put_target_status(&self, s: &TargetStatus) -> Result<()> {
        let client = self.client().await?;
        client
            .execute(
                "INSERT INTO target_status (kind, id, last_attempt, last_success, last_error,
                   consecutive_failures, next_attempt) VALUES ($1, $2, $3, $4, $5, $6, $7)
                 ON CONFLICT (kind, id) DO UPDATE SET last_attempt = EXCLUDED.last_attempt,
                   last_success = EXCLUDED.last_success, last_error = EXCLUDED.last_error,
                   consecutive_failures = EXCLUDED.consecutive_failures,
                   next_attempt = EXCLUDED.next_attempt",
                &[
                    &s.kind.as_str(),
                    &s.id,
                    &s.last_attempt.map(to_millis),
                    &s.last_success.map(to_millis),
                    &s.last_error,
                    &i64::from(s.consecutive_failures),
                    &s.next_attempt.map(to_millis),
                ],
            )
            .await
            .map_err(pg(format!(
                "storing the status of {} {}",
                s.kind.as_str(),
                s.id
            )))?;
        Ok(())
    }

    async fn target_statuses(&self) -> Result<Vec<TargetStatus>> {
        let object = "target status";
        let client = self.client().await?;
        client
            .query(
                "SELECT kind, id, last_attempt, last_success, last_error, consecutive_failures,
                   next_attempt FROM target_status ORDER BY kind, id",
                &[],
            )
            .await
            .map_err(pg("reading target statuses"))?
            .iter()
            .map(|r| {
                TargetColumns {
                    kind: get(r, 0, object)?,
                    id: get(r, 1, object)?,
                    last_attempt: get(r, 2, object)?,
                    last_success: get(r, 3, object)?,
                    last_error: get(r, 4, object)?,
                    consecutive_failures: get(r, 5, object)?,
                    next_attempt: get(r, 6, object)?,
                }
                .decode()
            })
            .collect()
    }

    async fn registries(&self) -> Result<Vec<RegistrySummary>> {
        let object = "registry";
        let client = self.client().await?;
        client
            .query(
                "SELECT g.id, g.url, g.created_at,
                   (SELECT COUNT(*) FROM repositories r WHERE r.registry_id = g.id)
                 FROM registries g ORDER BY g.url",
                &[],
            )
            .await
            .map_err(pg("listing registries"))?
            .iter()
            .map(|r| {
                decode_registry(
                    get(r, 0, object)?,
                    get(r, 1, object)?,
                    get(r, 2, object)?,
                    get(r, 3, object)?,
                )
            })
            .collect()
    }

    async fn repositories(&self, registry: Option<RegistryId>) -> Result<Vec<RepositorySummary>> {
        let object = "repository";
        let client = self.client().await?;
        client
            .query(
                "SELECT r.id, r.registry_id, g.url, r.name,
                   (SELECT COUNT(*) FROM image_locations l WHERE l.repository_id = r.id)
                 FROM repositories r JOIN registries g ON g.id = r.registry_id
                 WHERE $1::BIGINT IS NULL OR r.registry_id = $1 ORDER BY g.url, r.name",
                &[&registry.map(|r| r.0)],
            )
            .await
            .map_err(pg("listing repositories"))?
            .iter()
            .map(|r| {
                Ok(RepositorySummary {
                    id: RepositoryId(get(r, 0, object)?),
                    registry: RegistryId(get(r, 1, object)?),
                    registry_url: get(r, 2, object)?,
                    name: get(r, 3, object)?,
                    images: get::<i64>(r, 4, object)?.max(0) as u64,
                })
            })
            .collect()
    }

    async fn images(&self, query: &ImageQuery) -> Result<Page<ImageSummary, Digest>> {
        let limit = check_limit(query.limit)?;
        let sql = query::images(Dialect::Postgres, query);
        let object = "image";
        let rows = self.query_built(&sql, "listing images").await?;
        let items = rows
            .iter()
            .map(|r| {
                ImageColumns {
                    digest: get(r, 0, object)?,
                    media_type: get(r, 1, object)?,
                    platform: get(r, 2, object)?,
                    created: get(r, 3, object)?,
                    first_seen: get(r, 4, object)?,
                    last_pushed: get(r, 5, object)?,
                    repositories: get(r, 6, object)?,
                    findings: get(r, 7, object)?,
                    assessed: get(r, 8, object)?,
                }
                .decode()
            })
            .collect::<Result<Vec<_>>>()?;
        Ok(Page::from_overfetch(items, limit, |i| i.digest.clone()))
    }

    async fn image_placements(&self, digest: &Digest) -> Result<Vec<ImagePlacement>> {
        let object = format!("placement of {digest}");
        let client = self.client().await?;
        client
            .query(
                "SELECT cluster_id, namespace, pod, container, image FROM image_placements
                 WHERE digest = $1 ORDER BY cluster_id, namespace, pod, container",
                &[&digest.to_string()],
            )
            .await
            .map_err(pg(format!("reading where {digest} runs")))?
            .iter()
            .map(|r| {
                Ok(ImagePlacement {
                    cluster_id: get(r, 0, &object)?,
                    namespace: get(r, 1, &object)?,
                    pod: get(r, 2, &object)?,
                    container: get(r, 3, &object)?,
                    image: get(r, 4, &object)?,
                    digest: digest.clone(),
                })
            })
            .collect()
    }

    async fn findings(&self, query: &FindingQuery) -> Result<Page<StoredFinding, FindingKey>> {
        let limit = check_limit(query.limit)?;
        let sql = query::findings(Dialect::Postgres, query);
        let object = "finding";
        let rows = self.query_built(&sql, "querying findings").await?;
        let items = rows
            .iter()
            .map(|r| {
                decode_stored_finding(get(r, 0, object)?, get(r, 1, object)?, get(r, 2, object)?)
            })
            .collect::<Result<Vec<_>>>()?;
        Ok(Page::from_overfetch(items, limit, |f| f.key.clone()))
    }

    async fn finding_counts(&self) -> Result<Vec<(Severity, u64)>> {
        let object = "finding count";
        let client = self.client().await?;
        client
            .query(
                "SELECT f.severity, COUNT(*) FROM findings f
                 WHERE EXISTS (SELECT 1 FROM image_locations l WHERE l.digest = f.digest)
                 GROUP BY f.severity ORDER BY f.severity",
                &[],
            )
            .await
            .map_err(pg("counting findings by severity"))?
            .iter()
            .map(|r| {
                Ok((
                    parse_severity(object, get(r, 0, object)?)?,
                    get::<i64>(r, 1, object)?.max(0) as u64,
                ))
            })
            .collect()
    }

    async fn clusters(&self) -> Result<Vec<ClusterSummary>> {
        let object = "cluster";
        let client = self.client().await?;
        client
            .query(CLUSTERS_SQL, &[])
            .await
            .map_err(pg("listing clusters"))?
            .iter()
            .map(|r| {
                decode_cluster(
                    get(r, 0, object)?,
                    get(r, 1, object)?,
                    get(r, 2, object)?,
                    get(r, 3, object)?,
                    get(r, 4, object)?,
                )
            })
            .collect()
    }

    async fn cluster_snapshots(
        &self,
        cluster_id: Option<&str>,
        before: Option<i64>,
        limit: u32,
    ) -> Result<Page<SnapshotSummary, i64>> {
        let limit = check_limit(limit)?;
        let sql = query::snapshots(Dialect::Postgres, cluster_id, before, limit);
        let object = "cluster snapshot";
        let rows = self.query_built(&sql, "listing cluster snapshots").await?;
        let items = rows
            .iter()
            .map(|r| {
                let id: i64 = get(r, 0, object)?;
                Ok(SnapshotSummary {
                    id,
                    cluster_id: get(r, 1, object)?,
                    taken: from_millis(&format!("snapshot {id}"), get(r, 2, object)?)?,
                    status: get(r, 3, object)?,
                })
            })
            .collect::<Result<Vec<_>>>()?;
        Ok(Page::from_overfetch(items, limit, |s| s.id))
    }

    async fn cluster_snapshot(&self, id: i64) -> Result<Option<ClusterSnapshot>> {
        let object = format!("snapshot {id}");
        let client = self.client().await?;
        let Some(row) = client
            .query_opt(
                "SELECT cluster_id, taken_at, status, snapshot_json FROM cluster_snapshots
                 WHERE id = $1",
                &[&id],
            )
            .await
            .map_err(pg(format!("reading {object}")))?
        else {
            return Ok(None);
        };
        decode_snapshot(
            get(&row, 0, &object)?,
            id,
            get(&row, 1, &object)?,
            get(&row, 2, &object)?,
            get(&row, 3, &object)?,
        )
        .map(Some)
    }

    async fn jobs(&self, query: &JobQuery) -> Result<Page<Job, JobId>> {
        let limit = check_limit(query.limit)?;
        let sql = query::jobs(Dialect::Postgres, query);
        let rows = self.query_built(&sql, "listing jobs").await?;
        let items = rows
            .iter()
            .map(|r| job_columns(r)?.decode())
            .collect::<Result<Vec<_>>>()?;
        Ok(Page::from_overfetch(items, limit, |j| j.id))
    }

    async fn create_api_token(
        &self,
        name: &str,
        role: TokenRole,
        token_sha256_hex: &str,
    ) -> Result<ApiToken> {
        check_token_fields(name, token_sha256_hex)?;
        let client = self.client().await?;
        let row = client
            .query_opt(
                "INSERT INTO api_tokens (name, token_sha256, role, created_at) VALUES ($1, $2, $3, $4)
                 ON CONFLICT DO NOTHING RETURNING name, role, created_at, last_used",
                &[
                    &name,
                    &token_sha256_hex.to_ascii_lowercase(),
                    &role.as_str(),
                    &now_millis(),
                ],
            )
            .await
            .map_err(pg(format!("storing API token {name}")))?;
        match row {
            Some(row) => token_columns(&row)?.decode(),
            None => Err(token_taken(name)),
        }
    }

    async fn use_api_token(&self, token_sha256_hex: &str) -> Result<Option<ApiToken>> {
        let client = self.client().await?;
        let row = client
            .query_opt(
                "UPDATE api_tokens SET last_used = $1 WHERE token_sha256 = $2
                 RETURNING name, role, created_at, last_used",
                &[&now_millis(), &token_sha256_hex.to_ascii_lowercase()],
            )
            .await
            .map_err(pg("looking up an API token"))?;
        row.map(|r| token_columns(&r)?.decode()).transpose()
    }

    async fn api_tokens(&self) -> Result<Vec<ApiToken>> {
        let client = self.client().await?;
        client
            .query(
                "SELECT name, role, created_at, last_used FROM api_tokens ORDER BY name",
                &[],
            )
            .await
            .map_err(pg("listing API tokens"))?
            .iter()
            .map(|r| token_columns(r)?.decode())
            .collect()
    }

    async fn revoke_api_token(&self, name: &str) -> Result<bool> {
        let client = self.client().await?;
        let n = client
            .execute("DELETE FROM api_tokens WHERE name = $1", &[&name])
            .await
            .map_err(pg(format!("revoking API token {name}")))?;
        Ok(n > 0)
    }
}

impl PgStore {
    /// Runs SQL built by [`query`] with its bound values.
    async fn query_built(&self, sql: &Sql, context: &str) -> Result<Vec<Row>> {
        let values: Vec<Box<dyn ToSql + Sync + Send>> = sql
            .params
            .iter()
            .map(|v| -> Box<dyn ToSql + Sync + Send> {
                match v {
                    SqlValue::Text(s) => Box::new(s.clone()),
                    SqlValue::Int(n) => Box::new(*n),
                }
            })
            .collect();
        let refs: Vec<&(dyn ToSql + Sync)> = values
            .iter()
            .map(|b| b.as_ref() as &(dyn ToSql + Sync))
            .collect();
        let client = self.client().await?;
        client
            .query(sql.text.as_str(), &refs)
            .await
            .map_err(pg(context.to_string()))
    }
}

fn job_columns(r: &Row) -> Result<JobColumns> {
    let object = "job";
    Ok(JobColumns {
        id: get(r, 0, object)?,
        kind: get(r, 1, object)?,
        key: get(r, 2, object)?,
        payload: get(r, 3, object)?,
        state: get(r, 4, object)?,
        not_before: get(r, 5, object)?,
        attempts: get(r, 6, object)?,
        max_attempts: get(r, 7, object)?,
        lease_owner: get(r, 8, object)?,
        lease_until: get(r, 9, object)?,
        last_error: get(r, 10, object)?,
    })
}

fn token_columns(r: &Row) -> Result<TokenColumns> {
    let object = "API token";
    Ok(TokenColumns {
        name: get(r, 0, object)?,
        role: get(r, 1, object)?,
        created: get(r, 2, object)?,
        last_used: get(r, 3, object)?,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn passwords_never_reach_messages() {
        let shown = redact("postgres://app:s3cret@db.example:5432/crowsnest");
        assert!(!shown.contains("s3cret"), "{shown}");
        assert!(shown.contains("db.example"));
        assert_eq!(redact("not a url"), "<unparsable database URL>");
    }

    #[test]
    fn schema_names_are_plain_identifiers() {
        assert!(valid_schema_name("t_123"));
        assert!(!valid_schema_name("x; DROP TABLE jobs"));
        assert!(!valid_schema_name("Upper"));
        assert!(!valid_schema_name(""));
        assert!(!valid_schema_name(&"a".repeat(64)));
    }

    #[tokio::test]
    async fn bad_urls_are_refused_before_connecting() {
        let e = PgStore::connect("mysql://u:pw@h/db", &PgOptions::default())
            .await
            .err()
            .expect("refused");
        assert!(matches!(e, StoreError::BadUrl { .. }), "{e}");
        assert!(!e.to_string().contains("pw@"), "{e}");
    }
}
