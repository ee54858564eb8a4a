//! The write side of the advisory database: a fresh file filled feed by feed (parsed, or
//! copied from the previous database when unchanged), indexed and verified before the
//! sync renames it over the old one.

use std::collections::HashSet;
use std::io::{BufReader, Read};
use std::path::Path;

use crowsnest_model::advisory::Advisory;
use rusqlite::{Connection, params};

use crate::db::{FeedStatus, INDEXES, SCHEMA, SCHEMA_VERSION, group_affected};
use crate::epss::EpssFile;
use crate::exploitdb::ExploitDbFile;
use crate::feed::FeedFile;
use crate::kev::KevCatalog;
use crate::limits::BadRecords;
use crate::osv::{OsvError, OsvLimits, OsvSummary, read_osv_zip};

pub(crate) struct DbBuilder {
    conn: Connection,
    previous_attached: bool,
}

/// Loading an OSV archive failed: the archive itself, or writing its rows.
pub(crate) enum OsvLoadError {
    Read(std::io::Error),
    Archive(OsvError),
    Db(rusqlite::Error),
}

impl DbBuilder {
    pub fn create(path: &Path) -> rusqlite::Result<Self> {
        let conn = Connection::open(path)?;
        // No journal and no fsync while building: the file is a scratch copy until it is
        // verified, synced and renamed, so a crash here loses nothing that matters.
        conn.execute_batch(
            "PRAGMA journal_mode = OFF; PRAGMA synchronous = OFF; PRAGMA temp_store = MEMORY;",
        )?;
        conn.execute_batch(SCHEMA)?;
        Ok(DbBuilder {
            conn,
            previous_attached: false,
        })
    }

    /// Attaches the previous database read-only so unchanged feeds can be copied.
    /// Returns false (and attaches nothing) when it has another schema version.
    pub fn attach_previous(&mut self, previous: &Path) -> rusqlite::Result<bool> {
        let Some(path) = previous.to_str() else {
            return Ok(false);
        };
        let uri = format!(
            "file:{}?mode=ro",
            path.replace('?', "%3f").replace('#', "%23")
        );
        self.conn.execute("ATTACH DATABASE ?1 AS previous", [uri])?;
        let version: i64 = self
            .conn
            .query_row("PRAGMA previous.user_version", [], |r| r.get(0))?;
        if version != SCHEMA_VERSION {
            self.conn.execute_batch("DETACH DATABASE previous")?;
            return Ok(false);
        }
        self.previous_attached = true;
        Ok(true)
    }

    /// Copies one feed's rows from the previous database; returns the rows copied.
    pub fn copy_feed(&mut self, feed: &FeedFile) -> rusqlite::Result<u64> {
        if !self.previous_attached {
            return Err(rusqlite::Error::InvalidParameterName(
                "no previous database to copy from".into(),
            ));
        }
        let tx = self.conn.transaction()?;
        let name = feed.name();
        let copied = match feed {
            FeedFile::Osv(_) => {
                let n = tx.execute(
                    "INSERT INTO advisories SELECT * FROM previous.advisories WHERE feed = ?1",
                    [&name],
                )?;
                tx.execute(
                    "INSERT INTO affected SELECT * FROM previous.affected WHERE feed = ?1",
                    [&name],
                )?;
                tx.execute(
                    "INSERT INTO aliases SELECT * FROM previous.aliases WHERE feed = ?1",
                    [&name],
                )?;
                n
            }
            FeedFile::Kev => tx.execute("INSERT INTO kev SELECT * FROM previous.kev", [])?,
            FeedFile::Epss => tx.execute("INSERT INTO epss SELECT * FROM previous.epss", [])?,
            FeedFile::ExploitDb => {
                tx.execute("INSERT INTO exploits SELECT * FROM previous.exploits", [])?
            }
            FeedFile::OsvEcosystemList => 0,
        };
        tx.commit()?;
        Ok(copied as u64)
    }

    /// Parses an OSV archive into the feed's rows. A second record with an id already
    /// loaded for this feed is a bad record (archives should hold each id once).
    pub fn load_osv(
        &mut self,
        feed: &str,
        zip_path: &Path,
        limits: &OsvLimits,
    ) -> Result<OsvSummary, OsvLoadError> {
        let file = std::fs::File::open(zip_path).map_err(OsvLoadError::Read)?;
        let tx = self.conn.transaction().map_err(OsvLoadError::Db)?;
        let mut duplicates = BadRecords::default();
        let summary = {
            let mut insert_advisory = tx
                .prepare(
                    "INSERT OR IGNORE INTO advisories (feed, id, modified, withdrawn, json)
                     VALUES (?1, ?2, ?3, ?4, ?5)",
                )
                .map_err(OsvLoadError::Db)?;
            let mut insert_affected = tx
                .prepare(
                    "INSERT INTO affected (feed, ecosystem, base_ecosystem, name, advisory_id,
                     entries) VALUES (?1, ?2, ?3, ?4, ?5, ?6)",
                )
                .map_err(OsvLoadError::Db)?;
            let mut insert_alias = tx
                .prepare("INSERT INTO aliases (feed, alias, advisory_id) VALUES (?1, ?2, ?3)")
                .map_err(OsvLoadError::Db)?;
            read_osv_zip(
                BufReader::new(file),
                limits,
                |member, mut advisory: Advisory| {
                    // The record without `affected`: entries are stored per package in
                    // the affected table, so a lookup decodes only the entries it needs.
                    let affected = std::mem::take(&mut advisory.affected);
                    let header = to_json(&advisory)?;
                    let inserted = insert_advisory.execute(params![
                        feed,
                        advisory.id,
                        advisory.modified,
                        advisory.withdrawn,
                        header
                    ])?;
                    if inserted == 0 {
                        duplicates
                            .push(member, &format!("a second record with id {}", advisory.id));
                        return Ok(());
                    }
                    for ((ecosystem, base, name), entries) in group_affected(&affected) {
                        insert_affected.execute(params![
                            feed,
                            ecosystem,
                            base,
                            name,
                            advisory.id,
                            to_json(&entries)?
                        ])?;
                    }
                    // Aliases and `upstream` ids name the same vulnerability; `related` ids do
                    // not, so they stay out of the alias index.
                    let aliases: HashSet<&str> = advisory.all_ids().skip(1).collect();
                    for alias in aliases {
                        insert_alias.execute(params![feed, alias, advisory.id])?;
                    }
                    Ok::<_, rusqlite::Error>(())
                },
            )
            .map_err(OsvLoadError::Archive)?
            .map_err(OsvLoadError::Db)?
        };
        tx.commit().map_err(OsvLoadError::Db)?;
        let mut summary = summary;
        summary.records -= duplicates.count;
        summary.bad.merge(duplicates);
        Ok(summary)
    }

    pub fn load_kev(&mut self, catalog: &KevCatalog) -> rusqlite::Result<u64> {
        let tx = self.conn.transaction()?;
        let mut n = 0;
        {
            let mut stmt = tx.prepare(
                "INSERT OR IGNORE INTO kev (cve, vendor_project, product, vulnerability_name,
                 date_added, due_date, known_ransomware) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7)",
            )?;
            for e in &catalog.entries {
                n += stmt.execute(params![
                    e.cve,
                    e.vendor_project,
                    e.product,
                    e.vulnerability_name,
                    e.date_added,
                    e.due_date,
                    e.known_ransomware_campaign_use
                ])?;
            }
        }
        tx.commit()?;
        Ok(n as u64)
    }

    pub fn load_epss(&mut self, file: &EpssFile) -> rusqlite::Result<u64> {
        let tx = self.conn.transaction()?;
        let mut n = 0;
        {
            let mut stmt = tx.prepare(
                "INSERT OR IGNORE INTO epss (cve, epss, percentile) VALUES (?1, ?2, ?3)",
            )?;
            for (cve, epss, percentile) in &file.scores {
                n += stmt.execute(params![cve, epss, percentile])?;
            }
        }
        tx.commit()?;
        Ok(n as u64)
    }

    pub fn load_exploits(&mut self, file: &ExploitDbFile) -> rusqlite::Result<u64> {
        let tx = self.conn.transaction()?;
        let mut n = 0;
        {
            let mut stmt = tx.prepare(
                "INSERT OR IGNORE INTO exploits (cve, edb_id, description, kind, platform,
                 date_published, verified, url) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8)",
            )?;
            for e in &file.exploits {
                n += stmt.execute(params![
                    e.cve,
                    e.edb_id as i64,
                    e.description,
                    e.kind,
                    e.platform,
                    e.date_published,
                    e.verified,
                    e.url
                ])?;
            }
        }
        tx.commit()?;
        Ok(n as u64)
    }

    pub fn set_meta(&mut self, s: &FeedStatus) -> rusqlite::Result<()> {
        self.conn.execute(
            "INSERT OR REPLACE INTO feed_meta (feed, location, updated_at, checked_at, etag,
             last_modified, sha256, bytes, records, skipped, version, data_date)
             VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12)",
            params![
                s.feed,
                s.location,
                s.updated_at,
                s.checked_at,
                s.etag,
                s.last_modified,
                s.sha256,
                s.bytes.map(|b| b as i64),
                s.records as i64,
                s.skipped as i64,
                s.version,
                s.data_date
            ],
        )?;
        Ok(())
    }

    /// Builds the indexes, checks the file's integrity and that every feed's row count
    /// matches what `feed_meta` records, then closes it in rollback-journal mode (so
    /// readers need no side files).
    pub fn finish(self) -> Result<(), FinishError> {
        let conn = self.conn;
        if self.previous_attached {
            conn.execute_batch("DETACH DATABASE previous")?;
        }
        conn.execute_batch(INDEXES)?;
        let integrity: String = conn.query_row("PRAGMA integrity_check", [], |r| r.get(0))?;
        if integrity != "ok" {
            return Err(FinishError::Verify(format!("integrity_check: {integrity}")));
        }
        let mut stmt = conn.prepare("SELECT feed, records FROM feed_meta")?;
        let metas: Vec<(String, i64)> = stmt
            .query_map([], |r| Ok((r.get(0)?, r.get(1)?)))?
            .collect::<Result<_, _>>()?;
        drop(stmt);
        for (feed, expected) in metas {
            let (sql, arg): (&str, Option<&str>) = match feed.as_str() {
                "kev" => ("SELECT count(*) FROM kev", None),
                "epss" => ("SELECT count(*) FROM epss", None),
                "exploitdb" => ("SELECT count(*) FROM exploits", None),
                f => ("SELECT count(*) FROM advisories WHERE feed = ?1", Some(f)),
            };
            let found: i64 = match arg {
                Some(a) => conn.query_row(sql, [a], |r| r.get(0))?,
                None => conn.query_row(sql, [], |r| r.get(0))?,
            };
            if found != expected {
                return Err(FinishError::Verify(format!(
                    "feed {feed}: {found} rows where {expected} were loaded"
                )));
            }
        }
        conn.execute_batch(&format!(
            "PRAGMA user_version = {SCHEMA_VERSION}; PRAGMA journal_mode = DELETE;"
        ))?;
        conn.close().map_err(|(_, e)| FinishError::Db(e))?;
        Ok(())
    }
}

#[derive(Debug, thiserror::Error)]
pub(crate) enum FinishError {
    #[error("{0}")]
    Db(#[from] rusqlite::Error),
    #[error("{0}")]
    Verify(String),
}

/// Reads a whole file of at most `max` bytes.
pub(crate) fn read_capped(path: &Path, max: u64) -> std::io::Result<Vec<u8>> {
    let file = std::fs::File::open(path)?;
    let mut out = Vec::new();
    crate::limits::CappedReader::new(file, max).read_to_end(&mut out)?;
    Ok(out)
}

fn to_json<T: serde::Serialize>(value: &T) -> rusqlite::Result<String> {
    serde_json::to_string(value).map_err(|e| rusqlite::Error::ToSqlConversionFailure(Box::new(e)))
}
