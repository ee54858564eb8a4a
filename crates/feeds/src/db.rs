//! The local advisory database (SQLite): its schema and the read side the matcher and
//! `crowsnest db status` use. The write side is in `build.rs`.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use crowsnest_model::advisory::{Advisory, Affected};
use crowsnest_model::intel::{EpssScore, Exploit, KevEntry};
use rusqlite::{Connection, OpenFlags, OptionalExtension, params};

use crate::names::{base_ecosystem, normalize_package_name};

/// File name of the database inside the data directory.
pub const DB_FILE_NAME: &str = "advisories.db";

/// Bumped whenever the schema changes; a database of another version is rebuilt in full
/// by the next sync and refused by readers.
pub const SCHEMA_VERSION: i64 = 1;

pub(crate) const SCHEMA: &str = "
CREATE TABLE advisories (
    feed TEXT NOT NULL,
    id TEXT NOT NULL,
    modified TEXT,
    withdrawn TEXT,
    json TEXT NOT NULL,
    PRIMARY KEY (feed, id)
);
-- `advisories.json` is the record without `affected`; its affected entries are here,
-- one row per (advisory, ecosystem, package) with that package's entries as a JSON
-- array (name normalised per ecosystem). Entries without a package sit under the
-- empty ecosystem and name.
CREATE TABLE affected (
    feed TEXT NOT NULL,
    ecosystem TEXT NOT NULL,
    base_ecosystem TEXT NOT NULL,
    name TEXT NOT NULL,
    advisory_id TEXT NOT NULL,
    entries TEXT NOT NULL
);
CREATE TABLE aliases (
    feed TEXT NOT NULL,
    alias TEXT NOT NULL,
    advisory_id TEXT NOT NULL
);
CREATE TABLE kev (
    cve TEXT PRIMARY KEY,
    vendor_project TEXT NOT NULL,
    product TEXT NOT NULL,
    vulnerability_name TEXT NOT NULL,
    date_added TEXT NOT NULL,
    due_date TEXT,
    known_ransomware INTEGER NOT NULL
);
CREATE TABLE epss (
    cve TEXT PRIMARY KEY,
    epss REAL NOT NULL,
    percentile REAL NOT NULL
);
CREATE TABLE exploits (
    cve TEXT NOT NULL,
    edb_id INTEGER NOT NULL,
    description TEXT NOT NULL,
    kind TEXT NOT NULL,
    platform TEXT NOT NULL,
    date_published TEXT,
    verified INTEGER NOT NULL,
    url TEXT NOT NULL,
    PRIMARY KEY (cve, edb_id)
);
CREATE TABLE feed_meta (
    feed TEXT PRIMARY KEY,
    location TEXT NOT NULL,
    -- When the content last changed (was downloaded and parsed).
    updated_at TEXT NOT NULL,
    -- When a sync last confirmed it.
    checked_at TEXT NOT NULL,
    etag TEXT,
    last_modified TEXT,
    sha256 TEXT,
    bytes INTEGER,
    records INTEGER NOT NULL,
    skipped INTEGER NOT NULL,
    -- KEV catalogVersion, EPSS model_version.
    version TEXT,
    -- EPSS score_date.
    data_date TEXT
);
";

/// Built after the bulk load: faster than maintaining them row by row.
pub(crate) const INDEXES: &str = "
CREATE INDEX affected_by_ecosystem ON affected (ecosystem, name);
CREATE INDEX affected_by_base ON affected (base_ecosystem, name);
CREATE INDEX aliases_by_alias ON aliases (alias);
CREATE INDEX exploits_by_cve ON exploits (cve);
";

#[derive(Debug, thiserror::Error)]
pub enum DbError {
    #[error("no advisory database at {0} (run `crowsnest db sync`)")]
    Missing(PathBuf),
    #[error("opening the advisory database {path}: {source}")]
    Open {
        path: PathBuf,
        source: rusqlite::Error,
    },
    #[error(
        "the advisory database {path} has schema version {found}, this build reads {expected} (run `crowsnest db sync`)"
    )]
    Schema {
        path: PathBuf,
        found: i64,
        expected: i64,
    },
    #[error("querying the advisory database: {0}")]
    Query(#[from] rusqlite::Error),
    #[error("advisory {id} in the database is not valid OSV JSON: {detail}")]
    CorruptRecord { id: String, detail: String },
}

/// What the database says about one feed.
#[derive(Clone, Debug, PartialEq, Eq, serde::Serialize)]
pub struct FeedStatus {
    /// `osv/Go`, `kev`, `epss`, `exploitdb`.
    pub feed: String,
    /// The URL or path it was fetched from.
    pub location: String,
    /// RFC 3339: when the content last changed.
    pub updated_at: String,
    /// RFC 3339: when a sync last confirmed it.
    pub checked_at: String,
    pub records: u64,
    /// Records left out as unusable (named in the sync report).
    pub skipped: u64,
    pub etag: Option<String>,
    pub last_modified: Option<String>,
    pub sha256: Option<String>,
    pub bytes: Option<u64>,
    pub version: Option<String>,
    pub data_date: Option<String>,
}

/// A read-only handle on the advisory database.
pub struct AdvisoryDb {
    conn: Connection,
}

impl AdvisoryDb {
    pub fn open(path: &Path) -> Result<Self, DbError> {
        if !path.is_file() {
            return Err(DbError::Missing(path.to_owned()));
        }
        let open_err = |source| DbError::Open {
            path: path.to_owned(),
            source,
        };
        let conn = Connection::open_with_flags(
            path,
            OpenFlags::SQLITE_OPEN_READ_ONLY | OpenFlags::SQLITE_OPEN_NO_MUTEX,
        )
        .map_err(open_err)?;
        let found: i64 = conn
            .query_row("PRAGMA user_version", [], |r| r.get(0))
            .map_err(open_err)?;
        if found != SCHEMA_VERSION {
            return Err(DbError::Schema {
                path: path.to_owned(),
                found,
                expected: SCHEMA_VERSION,
            });
        }
        Ok(AdvisoryDb { conn })
    }

    /// The advisories that name `name` in `ecosystem`. An ecosystem with a release
    /// (`Debian:12`, `Alpine:v3.19`) matches only rows of that release; a base ecosystem
    /// (`Debian`) matches rows of every release. The name is normalised the way the index
    /// stores it (see [`normalize_package_name`]). Withdrawn advisories are included
    /// (their `withdrawn` field is set): whether to report them is the matcher's call.
    pub fn advisories_for(&self, ecosystem: &str, name: &str) -> Result<Vec<Advisory>, DbError> {
        if ecosystem.is_empty() || name.trim().is_empty() {
            return Ok(Vec::new());
        }
        let name = normalize_package_name(ecosystem, name);
        let column = if ecosystem.contains(':') {
            "ecosystem"
        } else {
            "base_ecosystem"
        };
        let sql = format!(
            "SELECT a.id, a.json, f.entries FROM affected f
             JOIN advisories a ON a.feed = f.feed AND a.id = f.advisory_id
             WHERE f.{column} = ?1 AND f.name = ?2 ORDER BY f.advisory_id, f.feed, f.rowid"
        );
        let mut stmt = self.conn.prepare_cached(&sql)?;
        let rows = stmt.query_map(params![ecosystem, name], |r| {
            Ok((
                r.get::<_, String>(0)?,
                r.get::<_, String>(1)?,
                r.get::<_, String>(2)?,
            ))
        })?;
        let mut out: Vec<Advisory> = Vec::new();
        for row in rows {
            let (id, header, entries) = row?;
            let entries: Vec<Affected> = decode(&id, &entries)?;
            match out.last_mut() {
                // More entries of the same advisory: another release of a base-ecosystem
                // query, or the same advisory from a second archive (kept once).
                Some(last) if last.id == id => {
                    for e in entries {
                        if !last.affected.contains(&e) {
                            last.affected.push(e);
                        }
                    }
                }
                _ => {
                    let mut advisory: Advisory = decode(&id, &header)?;
                    advisory.affected = entries;
                    out.push(advisory);
                }
            }
        }
        Ok(out)
    }

    /// An advisory (with all its affected entries) by its id or one of its aliases.
    pub fn advisory(&self, id: &str) -> Result<Option<Advisory>, DbError> {
        let found: Option<(String, String, String)> = self
            .conn
            .prepare_cached(
                "SELECT feed, id, json FROM advisories WHERE id = ?1
                 UNION ALL
                 SELECT a.feed, a.id, a.json FROM aliases s
                 JOIN advisories a ON a.feed = s.feed AND a.id = s.advisory_id
                 WHERE s.alias = ?1
                 LIMIT 1",
            )?
            .query_row([id], |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?)))
            .optional()?;
        let Some((feed, id, header)) = found else {
            return Ok(None);
        };
        let mut advisory: Advisory = decode(&id, &header)?;
        let mut stmt = self.conn.prepare_cached(
            "SELECT entries FROM affected WHERE feed = ?1 AND advisory_id = ?2 ORDER BY rowid",
        )?;
        let rows = stmt.query_map([&feed, &id], |r| r.get::<_, String>(0))?;
        for entries in rows {
            let entries: Vec<Affected> = decode(&id, &entries?)?;
            advisory.affected.extend(entries);
        }
        Ok(Some(advisory))
    }

    pub fn kev(&self, cve: &str) -> Result<Option<KevEntry>, DbError> {
        Ok(self
            .conn
            .prepare_cached(
                "SELECT cve, vendor_project, product, vulnerability_name, date_added, due_date,
                        known_ransomware FROM kev WHERE cve = ?1",
            )?
            .query_row([cve], |r| {
                Ok(KevEntry {
                    cve: r.get(0)?,
                    vendor_project: r.get(1)?,
                    product: r.get(2)?,
                    vulnerability_name: r.get(3)?,
                    date_added: r.get(4)?,
                    due_date: r.get(5)?,
                    known_ransomware_campaign_use: r.get(6)?,
                })
            })
            .optional()?)
    }

    pub fn epss(&self, cve: &str) -> Result<Option<EpssScore>, DbError> {
        Ok(self
            .conn
            .prepare_cached(
                "SELECT e.cve, e.epss, e.percentile, m.version, m.data_date
                 FROM epss e LEFT JOIN feed_meta m ON m.feed = 'epss' WHERE e.cve = ?1",
            )?
            .query_row([cve], |r| {
                Ok(EpssScore {
                    cve: r.get(0)?,
                    epss: r.get(1)?,
                    percentile: r.get(2)?,
                    model_version: r.get(3)?,
                    score_date: r.get(4)?,
                })
            })
            .optional()?)
    }

    pub fn exploits(&self, cve: &str) -> Result<Vec<Exploit>, DbError> {
        let mut stmt = self.conn.prepare_cached(
            "SELECT cve, edb_id, description, kind, platform, date_published, verified, url
             FROM exploits WHERE cve = ?1 ORDER BY edb_id",
        )?;
        let rows = stmt.query_map([cve], |r| {
            Ok(Exploit {
                cve: r.get(0)?,
                edb_id: r.get::<_, i64>(1)? as u64,
                description: r.get(2)?,
                kind: r.get(3)?,
                platform: r.get(4)?,
                date_published: r.get(5)?,
                verified: r.get(6)?,
                url: r.get(7)?,
            })
        })?;
        Ok(rows.collect::<Result<_, _>>()?)
    }

    /// One line per feed, ordered by feed name.
    pub fn status(&self) -> Result<Vec<FeedStatus>, DbError> {
        let mut stmt = self.conn.prepare_cached(
            "SELECT feed, location, updated_at, checked_at, records, skipped, etag,
                    last_modified, sha256, bytes, version, data_date
             FROM feed_meta ORDER BY feed",
        )?;
        let rows = stmt.query_map([], |r| {
            Ok(FeedStatus {
                feed: r.get(0)?,
                location: r.get(1)?,
                updated_at: r.get(2)?,
                checked_at: r.get(3)?,
                records: r.get::<_, i64>(4)? as u64,
                skipped: r.get::<_, i64>(5)? as u64,
                etag: r.get(6)?,
                last_modified: r.get(7)?,
                sha256: r.get(8)?,
                bytes: r.get::<_, Option<i64>>(9)?.map(|b| b as u64),
                version: r.get(10)?,
                data_date: r.get(11)?,
            })
        })?;
        Ok(rows.collect::<Result<_, _>>()?)
    }

    /// Every (ecosystem, normalised name) some advisory names, ordered: the keys a
    /// matcher's index is loaded with when it compiles a whole feed version up front.
    pub fn package_keys(&self) -> Result<Vec<(String, String)>, DbError> {
        let mut stmt = self.conn.prepare_cached(
            "SELECT DISTINCT ecosystem, name FROM affected WHERE ecosystem != '' AND name != ''
             ORDER BY ecosystem, name",
        )?;
        let rows = stmt.query_map([], |r| Ok((r.get(0)?, r.get(1)?)))?;
        Ok(rows.collect::<Result<_, _>>()?)
    }

    /// Number of advisory records (each feed's copy counted).
    pub fn advisory_count(&self) -> Result<u64, DbError> {
        Ok(self
            .conn
            .query_row("SELECT count(*) FROM advisories", [], |r| {
                r.get::<_, i64>(0)
            })? as u64)
    }
}

fn decode<T: serde::de::DeserializeOwned>(id: &str, json: &str) -> Result<T, DbError> {
    serde_json::from_str(json).map_err(|e| DbError::CorruptRecord {
        id: id.to_owned(),
        detail: e.to_string(),
    })
}

/// The affected entries of one advisory grouped by index key (ecosystem, base
/// ecosystem, normalised name), in key order; entries without a package under empty keys.
pub(crate) fn group_affected(
    affected: &[Affected],
) -> BTreeMap<(String, String, String), Vec<&Affected>> {
    let mut groups: BTreeMap<_, Vec<&Affected>> = BTreeMap::new();
    for entry in affected {
        let key = match &entry.package {
            Some(p) => (
                p.ecosystem.clone(),
                base_ecosystem(&p.ecosystem).to_owned(),
                normalize_package_name(&p.ecosystem, &p.name),
            ),
            None => Default::default(),
        };
        groups.entry(key).or_default().push(entry);
    }
    groups
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn refuses_missing_garbage_and_foreign_files() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join(DB_FILE_NAME);
        assert!(matches!(AdvisoryDb::open(&path), Err(DbError::Missing(_))));
        std::fs::write(&path, b"this is not a database").unwrap();
        let err = AdvisoryDb::open(&path).err().unwrap();
        assert!(err.to_string().contains(DB_FILE_NAME), "{err}");
        std::fs::remove_file(&path).unwrap();
        Connection::open(&path)
            .unwrap()
            .execute_batch("CREATE TABLE t (x); PRAGMA user_version = 99;")
            .unwrap();
        assert!(matches!(
            AdvisoryDb::open(&path),
            Err(DbError::Schema { found: 99, .. })
        ));
    }
}
