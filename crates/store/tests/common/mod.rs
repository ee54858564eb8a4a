//! The harness that runs one test body against both back ends: SQLite in a temporary
//! directory, and PostgreSQL from the test bed (`scripts/testenv/postgres-up`) in a
//! schema of the test's own, dropped and recreated at the start of each run.

#![allow(dead_code)] // each test binary uses a different part of the harness

use std::path::PathBuf;
use std::sync::atomic::{AtomicU64, Ordering};

use crowsnest_model::finding::{
    Exploitability, Finding, FindingPackage, FixStatus, KevStatus, Priority,
};
use crowsnest_model::{Digest, Distro, Package, PackageKind, Severity};
use crowsnest_store::{AnyStore, PgOptions, PgStore, SqliteStore};

pub enum Place {
    Sqlite {
        _dir: tempfile::TempDir,
        file: PathBuf,
    },
    Postgres {
        url: String,
        schema: String,
    },
}

/// A store under test plus a way around it to the raw database (to damage rows, add
/// fault triggers, or open a second independent handle).
pub struct Harness {
    pub store: AnyStore,
    pub place: Place,
}

pub async fn sqlite(_name: &str) -> Harness {
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("crowsnest.db");
    let store = AnyStore::Sqlite(SqliteStore::open_file(&file).await.unwrap());
    Harness {
        store,
        place: Place::Sqlite { _dir: dir, file },
    }
}

/// `None` (after a message) when the test bed's PostgreSQL is not configured and not
/// required.
pub async fn postgres(name: &str) -> Option<Harness> {
    let url = crowsnest_testbed::var("CROWSNEST_TEST_POSTGRES_URL")?;
    let schema = format!("t_{name}");
    let (client, conn) = tokio_postgres::connect(&url, tokio_postgres::NoTls)
        .await
        .expect("connect to the test PostgreSQL");
    tokio::spawn(conn);
    client
        .batch_execute(&format!("DROP SCHEMA IF EXISTS {schema} CASCADE"))
        .await
        .unwrap();
    let store = AnyStore::Postgres(PgStore::connect(&url, &options(&schema)).await.unwrap());
    Some(Harness {
        store,
        place: Place::Postgres { url, schema },
    })
}

fn options(schema: &str) -> PgOptions {
    PgOptions {
        schema: Some(schema.to_string()),
        ..PgOptions::default()
    }
}

impl Harness {
    /// Another, independent handle on the same database (another process would have
    /// one): its own SQLite connection or its own PostgreSQL pool. Runs the migrations
    /// again, as every open does.
    pub async fn reopen(&self) -> Result<AnyStore, crowsnest_store::StoreError> {
        match &self.place {
            Place::Sqlite { file, .. } => SqliteStore::open_file(file).await.map(AnyStore::Sqlite),
            Place::Postgres { url, schema } => PgStore::connect(url, &options(schema))
                .await
                .map(AnyStore::Postgres),
        }
    }

    /// How a child process reaches the same database: (`sqlite`|`postgres`, location,
    /// schema).
    pub fn location(&self) -> (String, String, String) {
        match &self.place {
            Place::Sqlite { file, .. } => {
                ("sqlite".into(), file.display().to_string(), String::new())
            }
            Place::Postgres { url, schema } => ("postgres".into(), url.clone(), schema.clone()),
        }
    }

    /// Runs SQL directly on the database, bypassing the store.
    pub async fn raw(&self, sql: &str) {
        match &self.place {
            Place::Sqlite { file, .. } => {
                let c = rusqlite::Connection::open(file).unwrap();
                c.busy_timeout(std::time::Duration::from_secs(10)).unwrap();
                c.execute_batch(sql).unwrap();
            }
            Place::Postgres { url, schema } => {
                let (client, conn) = tokio_postgres::connect(url, tokio_postgres::NoTls)
                    .await
                    .unwrap();
                tokio::spawn(conn);
                client
                    .batch_execute(&format!("SET search_path = {schema}; {sql}"))
                    .await
                    .unwrap();
            }
        }
    }

    /// One integer from a query run directly on the database.
    pub async fn raw_count(&self, sql: &str) -> i64 {
        match &self.place {
            Place::Sqlite { file, .. } => {
                let c = rusqlite::Connection::open(file).unwrap();
                c.query_row(sql, [], |r| r.get(0)).unwrap()
            }
            Place::Postgres { url, schema } => {
                let (client, conn) = tokio_postgres::connect(url, tokio_postgres::NoTls)
                    .await
                    .unwrap();
                tokio::spawn(conn);
                client
                    .batch_execute(&format!("SET search_path = {schema}"))
                    .await
                    .unwrap();
                client.query_one(sql, &[]).await.unwrap().get(0)
            }
        }
    }

    pub fn is_postgres(&self) -> bool {
        matches!(self.place, Place::Postgres { .. })
    }
}

/// Runs `body(harness)` once per back end, as two tests named `<name>::sqlite` and
/// `<name>::postgres`.
macro_rules! both_backends {
    ($($name:ident),* $(,)?) => {$(
        mod $name {
            #[tokio::test(flavor = "multi_thread", worker_threads = 4)]
            async fn sqlite() {
                super::$name(crate::common::sqlite(stringify!($name)).await).await;
            }
            #[tokio::test(flavor = "multi_thread", worker_threads = 4)]
            async fn postgres() {
                if let Some(h) = crate::common::postgres(stringify!($name)).await {
                    super::$name(h).await;
                }
            }
        }
    )*};
}

static NEXT: AtomicU64 = AtomicU64::new(1);

/// A fresh, valid digest.
pub fn digest() -> Digest {
    let n = NEXT.fetch_add(1, Ordering::Relaxed);
    format!("sha256:{n:064x}").parse().unwrap()
}

pub fn package(i: usize) -> Package {
    Package {
        kind: if i.is_multiple_of(2) {
            PackageKind::Deb
        } else {
            PackageKind::Python
        },
        name: format!("pkg{i}"),
        version: format!("1.{i}.0"),
        epoch: None,
        arch: (i.is_multiple_of(2)).then(|| "amd64".to_string()),
        source: None,
        purl: format!("pkg:generic/pkg{i}@1.{i}.0"),
        licenses: vec!["MIT".into()],
        layer: Some(
            "sha256:1111111111111111111111111111111111111111111111111111111111111111"
                .parse()
                .unwrap(),
        ),
        evidence: vec![format!("/usr/lib/pkg{i}")],
        identity: None,
    }
}

pub fn distro() -> Distro {
    Distro {
        id: "debian".into(),
        version_id: "12".into(),
        codename: Some("bookworm".into()),
        pretty_name: None,
    }
}

pub fn finding(i: usize) -> Finding {
    Finding {
        id: format!("CVE-2024-{i:05}"),
        aliases: vec![format!("GHSA-{i}")],
        package: FindingPackage {
            name: format!("pkg{i}"),
            version: format!("1.{i}.0"),
            kind: PackageKind::Deb,
            purl: format!("pkg:deb/debian/pkg{i}@1.{i}.0"),
            ecosystem: "Debian:12".into(),
            layer: None,
            matched_source: None,
            identity: None,
        },
        installed_version: format!("1.{i}.0"),
        fixed_versions: vec![format!("1.{i}.1")],
        fix_status: FixStatus::FixAvailable,
        severity: if i.is_multiple_of(2) {
            Severity::High
        } else {
            Severity::Low
        },
        severity_source: Some("CVSS_V3".into()),
        cvss: None,
        summary: Some(format!("summary {i}")),
        references: vec![],
        exploitability: Exploitability {
            exploit_published: i.is_multiple_of(3),
            in_kev: i.is_multiple_of(2),
            kev: (i.is_multiple_of(2)).then(|| KevStatus {
                date_added: "2024-01-02".into(),
                due_date: None,
                ransomware: false,
            }),
            ..Default::default()
        },
        priority: Priority {
            score: i as f64 / 2.0,
            reasons: vec!["KEV".into()],
        },
        advisories: vec![format!("DSA-{i}")],
    }
}
