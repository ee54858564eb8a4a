//! `crowsnest db sync`: fetch every feed, build a new database beside the old one,
//! verify it, and rename it into place. Until that rename the previous database is
//! untouched and stays in use; any failure leaves it as it was.

use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use time::OffsetDateTime;
use time::format_description::well_known::Rfc3339;
use url::Url;

use crate::build::{DbBuilder, FinishError, OsvLoadError, read_capped};
use crate::db::{AdvisoryDb, DB_FILE_NAME, DbError, FeedStatus};
use crate::epss::{EpssError, EpssLimits, parse_epss_gz};
use crate::exploitdb::{ExploitDbError, parse_exploitdb};
use crate::feed::{DEFAULT_OSV_ECOSYSTEMS, FeedFile, is_safe_ecosystem_name, parse_ecosystem_list};
use crate::kev::{KevError, parse_kev};
use crate::limits::{BadRecords, CappedReader};
use crate::osv::{OsvError, OsvLimits};
use crate::source::{
    DirSource, FeedSource, FetchError, Fetched, FetchedFile, HttpOptions, HttpSource, Source,
    Validators,
};

/// Where feeds come from.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum SourceSpec {
    /// The real upstream URLs.
    Upstream,
    /// A directory in the mirror layout.
    Directory(PathBuf),
    /// A base URL serving the mirror layout.
    Url(Url),
}

impl SourceSpec {
    /// Reads a `--mirror` value: an `http(s)://` URL, else a directory path.
    pub fn mirror(value: &str) -> Result<Self, url::ParseError> {
        if value.starts_with("http://") || value.starts_with("https://") {
            Ok(SourceSpec::Url(Url::parse(value)?))
        } else {
            Ok(SourceSpec::Directory(PathBuf::from(value)))
        }
    }
}

/// Which feeds a sync covers.
#[derive(Clone, Debug)]
pub struct FeedSelection {
    /// `None`: the source's `ecosystems.txt` intersected with [`DEFAULT_OSV_ECOSYSTEMS`].
    pub osv_ecosystems: Option<Vec<String>>,
    pub kev: bool,
    pub epss: bool,
    pub exploitdb: bool,
}

impl Default for FeedSelection {
    fn default() -> Self {
        FeedSelection {
            osv_ecosystems: None,
            kev: true,
            epss: true,
            exploitdb: true,
        }
    }
}

#[derive(Clone, Debug)]
pub struct SyncOptions {
    pub data_dir: PathBuf,
    pub source: SourceSpec,
    pub feeds: FeedSelection,
    pub http: HttpOptions,
    /// Largest file accepted from a source.
    pub max_file_bytes: u64,
    pub osv: OsvLimits,
    pub epss: EpssLimits,
    pub exploitdb_max_rows: usize,
    /// Share of a feed's records that may be unusable (skipped and reported) before the
    /// feed, and so the sync, fails.
    pub max_bad_fraction: f64,
    /// Re-parse every feed even when its content is unchanged.
    pub force: bool,
}

impl SyncOptions {
    pub fn new(data_dir: impl Into<PathBuf>, source: SourceSpec) -> Self {
        SyncOptions {
            data_dir: data_dir.into(),
            source,
            feeds: FeedSelection::default(),
            http: HttpOptions::default(),
            max_file_bytes: 4 << 30,
            osv: OsvLimits::default(),
            epss: EpssLimits::default(),
            exploitdb_max_rows: 5_000_000,
            max_bad_fraction: 0.01,
            force: false,
        }
    }
}

/// `$XDG_DATA_HOME/crowsnest`, else `~/.local/share/crowsnest`.
pub fn default_data_dir() -> Option<PathBuf> {
    if let Some(xdg) = std::env::var_os("XDG_DATA_HOME").filter(|v| !v.is_empty()) {
        let xdg = PathBuf::from(xdg);
        // The XDG spec says relative values are invalid and must be ignored.
        if xdg.is_absolute() {
            return Some(xdg.join("crowsnest"));
        }
    }
    std::env::var_os("HOME")
        .filter(|v| !v.is_empty())
        .map(|home| PathBuf::from(home).join(".local/share/crowsnest"))
}

/// The database file inside a data directory.
pub fn db_path(data_dir: &Path) -> PathBuf {
    data_dir.join(DB_FILE_NAME)
}

/// `crowsnest db status`: each feed's age and record count.
pub fn status(data_dir: &Path) -> Result<Vec<FeedStatus>, DbError> {
    AdvisoryDb::open(&db_path(data_dir))?.status()
}

/// Progress of a sync, for a progress display.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum SyncEvent {
    Fetching {
        feed: String,
        location: String,
    },
    Downloaded {
        feed: String,
        bytes: u64,
    },
    /// Unchanged since the last sync (HTTP 304 or same SHA-256): rows are copied over.
    Unchanged {
        feed: String,
    },
    /// The source does not have an optional feed.
    Unavailable {
        feed: String,
    },
    Loading {
        feed: String,
    },
    Loaded {
        feed: String,
        records: u64,
        skipped: u64,
    },
    Copied {
        feed: String,
        records: u64,
    },
    Verifying,
    Replaced {
        path: PathBuf,
    },
}

#[derive(Clone, Debug, PartialEq, Eq, serde::Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum FeedOutcome {
    /// Downloaded and parsed.
    Loaded,
    /// Unchanged, copied from the previous database.
    Reused,
    /// An optional feed the source does not have; the previous rows are kept if any.
    Unavailable,
}

#[derive(Clone, Debug, serde::Serialize)]
pub struct FeedReport {
    pub feed: String,
    pub location: String,
    pub outcome: FeedOutcome,
    pub records: u64,
    pub skipped: u64,
    /// A few skipped records as "name: reason".
    pub skipped_examples: Vec<String>,
}

#[derive(Clone, Debug, serde::Serialize)]
pub struct SyncReport {
    pub db_path: PathBuf,
    pub feeds: Vec<FeedReport>,
    pub warnings: Vec<String>,
    pub elapsed: Duration,
}

/// A feed's content could not be used.
#[derive(Debug, thiserror::Error)]
pub enum FeedError {
    #[error(transparent)]
    Osv(#[from] OsvError),
    #[error(transparent)]
    Kev(#[from] KevError),
    #[error(transparent)]
    Epss(#[from] EpssError),
    #[error(transparent)]
    ExploitDb(#[from] ExploitDbError),
    #[error("reading the downloaded file: {0}")]
    Read(#[from] std::io::Error),
    #[error(
        "{count} of {total} records are unusable (more than {percent}% allowed), e.g. {examples}"
    )]
    TooManyBadRecords {
        count: usize,
        total: usize,
        percent: f64,
        examples: String,
    },
}

#[derive(Debug, thiserror::Error)]
pub enum SyncError {
    #[error("data directory {path}: {source}")]
    DataDir {
        path: PathBuf,
        source: std::io::Error,
    },
    #[error("another sync is running on {path} (it holds {path}/.sync.lock)")]
    Locked { path: PathBuf },
    #[error("{0:?} is not a usable OSV ecosystem name")]
    InvalidEcosystem(String),
    #[error("setting up the HTTP client: {0}")]
    Client(reqwest::Error),
    #[error("feed {feed}: {source}")]
    Fetch { feed: String, source: FetchError },
    #[error("feed {feed} ({location}): {source}")]
    Feed {
        feed: String,
        location: String,
        source: FeedError,
    },
    #[error("writing the new database {path} ({stage}): {source}")]
    Db {
        path: PathBuf,
        stage: String,
        source: rusqlite::Error,
    },
    #[error("the new database {path} failed verification: {detail}")]
    Verify { path: PathBuf, detail: String },
    #[error("replacing {path}: {source}")]
    Swap {
        path: PathBuf,
        source: std::io::Error,
    },
    #[error("the sync's database task failed: {0}")]
    Task(String),
}

impl SyncError {
    fn db(path: &Path, stage: impl Into<String>, source: rusqlite::Error) -> Self {
        SyncError::Db {
            path: path.to_owned(),
            stage: stage.into(),
            source,
        }
    }
}

/// What to do with one feed once fetched.
enum Plan {
    Load(FetchedFile),
    Reuse {
        previous: FeedStatus,
        validators: Option<Validators>,
    },
    Unavailable,
}

struct PlannedFeed {
    file: FeedFile,
    location: String,
    plan: Plan,
}

/// Removes the scratch directory and an unfinished database on every exit path.
struct Scratch {
    dir: PathBuf,
    new_db: PathBuf,
}

impl Drop for Scratch {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.dir);
        let _ = std::fs::remove_file(&self.new_db);
    }
}

/// Runs a sync. `progress` sees each step as it happens.
pub async fn sync(
    opts: &SyncOptions,
    mut progress: impl FnMut(SyncEvent) + Send,
) -> Result<SyncReport, SyncError> {
    let started = Instant::now();
    let data_dir = opts.data_dir.clone();
    let dir_err = |source| SyncError::DataDir {
        path: data_dir.clone(),
        source,
    };
    std::fs::create_dir_all(&data_dir).map_err(dir_err)?;
    let lock = std::fs::OpenOptions::new()
        .create(true)
        .truncate(false)
        .write(true)
        .open(data_dir.join(".sync.lock"))
        .map_err(dir_err)?;
    match lock.try_lock() {
        Ok(()) => {}
        Err(std::fs::TryLockError::WouldBlock) => {
            return Err(SyncError::Locked { path: data_dir });
        }
        Err(std::fs::TryLockError::Error(e)) => return Err(dir_err(e)),
    }
    let db_path = db_path(&data_dir);
    let pid = std::process::id();
    let scratch = Scratch {
        dir: data_dir.join(format!(".sync-scratch-{pid}")),
        new_db: data_dir.join(format!("{DB_FILE_NAME}.new-{pid}")),
    };
    remove_leftovers(&data_dir);
    std::fs::create_dir_all(&scratch.dir).map_err(dir_err)?;

    let source = match &opts.source {
        SourceSpec::Upstream => {
            Source::Http(HttpSource::upstream(opts.http.clone()).map_err(SyncError::Client)?)
        }
        SourceSpec::Url(url) => Source::Http(
            HttpSource::mirror(url.clone(), opts.http.clone()).map_err(SyncError::Client)?,
        ),
        SourceSpec::Directory(dir) => Source::Dir(DirSource::new(dir)),
    };

    let mut warnings = Vec::new();
    let previous = if opts.force {
        HashMap::new()
    } else {
        previous_status(&db_path, &mut warnings)
    };

    let mut files = Vec::new();
    let ecosystems = match &opts.feeds.osv_ecosystems {
        Some(list) => {
            if let Some(bad) = list.iter().find(|e| !is_safe_ecosystem_name(e)) {
                return Err(SyncError::InvalidEcosystem(bad.clone()));
            }
            list.clone()
        }
        None => ecosystem_list(&source, &scratch.dir, &mut warnings, &mut progress).await?,
    };
    files.extend(ecosystems.into_iter().map(FeedFile::Osv));
    if opts.feeds.kev {
        files.push(FeedFile::Kev);
    }
    if opts.feeds.epss {
        files.push(FeedFile::Epss);
    }
    if opts.feeds.exploitdb {
        files.push(FeedFile::ExploitDb);
    }

    let mut planned = Vec::new();
    for file in files {
        let feed = file.name();
        let location = source.location(&file);
        progress(SyncEvent::Fetching {
            feed: feed.clone(),
            location: location.clone(),
        });
        let before = previous.get(&feed);
        let validators = before.map(|p| Validators {
            etag: p.etag.clone(),
            last_modified: p.last_modified.clone(),
        });
        let fetched = source
            .fetch(
                &file,
                validators.as_ref(),
                &scratch.dir,
                opts.max_file_bytes,
            )
            .await;
        let plan = match (fetched, before) {
            (Ok(Fetched::NotModified), Some(before)) => Plan::Reuse {
                previous: before.clone(),
                validators: None,
            },
            (Ok(Fetched::NotModified), None) => {
                // Only possible if the server ignores that we sent no validators.
                return Err(SyncError::Fetch {
                    feed,
                    source: FetchError::Transport {
                        location,
                        detail: "answered 304 Not Modified to an unconditional request".into(),
                        attempts: 1,
                    },
                });
            }
            (Ok(Fetched::File(f)), Some(before))
                if before.sha256.as_deref() == Some(f.sha256.as_str()) =>
            {
                Plan::Reuse {
                    previous: before.clone(),
                    validators: Some(f.validators),
                }
            }
            (Ok(Fetched::File(f)), _) => {
                progress(SyncEvent::Downloaded {
                    feed: feed.clone(),
                    bytes: f.bytes,
                });
                Plan::Load(f)
            }
            (Err(FetchError::NotFound { .. }), before) if file.optional() => {
                progress(SyncEvent::Unavailable { feed: feed.clone() });
                match before {
                    Some(before) => {
                        warnings.push(format!(
                            "feed {feed}: not available from {location}; keeping the data from {}",
                            before.updated_at
                        ));
                        Plan::Reuse {
                            previous: before.clone(),
                            validators: None,
                        }
                    }
                    None => {
                        warnings.push(format!("feed {feed}: not available from {location}"));
                        Plan::Unavailable
                    }
                }
            }
            (Err(source), _) => return Err(SyncError::Fetch { feed, source }),
        };
        if matches!(plan, Plan::Reuse { .. }) {
            progress(SyncEvent::Unchanged { feed: feed.clone() });
        }
        planned.push(PlannedFeed {
            file,
            location,
            plan,
        });
    }

    // Parsing and writing are CPU and disk work: a blocking thread, with progress sent
    // back to this task.
    let (tx, mut rx) = tokio::sync::mpsc::unbounded_channel();
    let build_opts = opts.clone();
    let new_db = scratch.new_db.clone();
    let old_db = db_path.clone();
    let task = tokio::task::spawn_blocking(move || {
        build(&build_opts, &new_db, &old_db, planned, &|e| {
            let _ = tx.send(e);
        })
    });
    while let Some(event) = rx.recv().await {
        progress(event);
    }
    let mut feeds = task.await.map_err(|e| SyncError::Task(e.to_string()))??;

    // The swap: the new file is complete and synced; rename() replaces the old one in a
    // single step, so a reader sees either the old database or the new one.
    std::fs::rename(&scratch.new_db, &db_path).map_err(|source| SyncError::Swap {
        path: db_path.clone(),
        source,
    })?;
    if let Ok(dir) = std::fs::File::open(&data_dir) {
        let _ = dir.sync_all();
    }
    progress(SyncEvent::Replaced {
        path: db_path.clone(),
    });
    drop(scratch);
    drop(lock);
    for f in &mut feeds {
        if f.skipped > 0 {
            warnings.push(format!(
                "feed {}: skipped {} unusable records, e.g. {}",
                f.feed,
                f.skipped,
                f.skipped_examples.join("; ")
            ));
        }
    }
    Ok(SyncReport {
        db_path,
        feeds,
        warnings,
        elapsed: started.elapsed(),
    })
}

/// Scratch files of a sync that was killed before it could clean up. The lock is held,
/// so no running sync owns them.
fn remove_leftovers(data_dir: &Path) {
    let Ok(entries) = std::fs::read_dir(data_dir) else {
        return;
    };
    for entry in entries.flatten() {
        let name = entry.file_name();
        let name = name.to_string_lossy();
        if name.starts_with(".sync-scratch-") {
            let _ = std::fs::remove_dir_all(entry.path());
        } else if name.starts_with(&format!("{DB_FILE_NAME}.new-")) {
            let _ = std::fs::remove_file(entry.path());
        }
    }
}

fn previous_status(db_path: &Path, warnings: &mut Vec<String>) -> HashMap<String, FeedStatus> {
    match AdvisoryDb::open(db_path).and_then(|db| db.status()) {
        Ok(list) => list.into_iter().map(|s| (s.feed.clone(), s)).collect(),
        Err(DbError::Missing(_)) => HashMap::new(),
        Err(e) => {
            warnings.push(format!("the previous database is not reused: {e}"));
            HashMap::new()
        }
    }
}

async fn ecosystem_list(
    source: &Source,
    scratch: &Path,
    warnings: &mut Vec<String>,
    progress: &mut (impl FnMut(SyncEvent) + Send),
) -> Result<Vec<String>, SyncError> {
    let file = FeedFile::OsvEcosystemList;
    let location = source.location(&file);
    progress(SyncEvent::Fetching {
        feed: file.name(),
        location: location.clone(),
    });
    let defaults = || {
        DEFAULT_OSV_ECOSYSTEMS
            .iter()
            .map(|s| s.to_string())
            .collect()
    };
    let fetched = match source.fetch(&file, None, scratch, 1 << 20).await {
        Ok(Fetched::File(f)) => f,
        Ok(Fetched::NotModified) => return Ok(defaults()),
        Err(FetchError::NotFound { .. }) => {
            warnings.push(format!(
                "{location} not found; syncing the built-in ecosystem list"
            ));
            return Ok(defaults());
        }
        Err(source) => {
            return Err(SyncError::Fetch {
                feed: file.name(),
                source,
            });
        }
    };
    let text = read_capped(&fetched.path, 1 << 20).map_err(|e| SyncError::Feed {
        feed: file.name(),
        location: location.clone(),
        source: FeedError::Read(e),
    })?;
    let listed = parse_ecosystem_list(&String::from_utf8_lossy(&text));
    let chosen: Vec<String> = listed
        .into_iter()
        .filter(|e| DEFAULT_OSV_ECOSYSTEMS.contains(&e.as_str()))
        .collect();
    Ok(chosen)
}

fn now_rfc3339() -> String {
    OffsetDateTime::now_utc()
        .format(&Rfc3339)
        .unwrap_or_else(|_| "unknown".into())
}

fn build(
    opts: &SyncOptions,
    new_db: &Path,
    old_db: &Path,
    planned: Vec<PlannedFeed>,
    progress: &dyn Fn(SyncEvent),
) -> Result<Vec<FeedReport>, SyncError> {
    let _ = std::fs::remove_file(new_db);
    let mut builder =
        DbBuilder::create(new_db).map_err(|e| SyncError::db(new_db, "creating", e))?;
    let needs_previous = planned.iter().any(|p| matches!(p.plan, Plan::Reuse { .. }));
    if needs_previous {
        let attached = builder
            .attach_previous(old_db)
            .map_err(|e| SyncError::db(new_db, "attaching the previous database", e))?;
        if !attached {
            return Err(SyncError::db(
                new_db,
                "attaching the previous database",
                rusqlite::Error::InvalidParameterName("its schema version changed".into()),
            ));
        }
    }
    let now = now_rfc3339();
    let mut reports = Vec::new();
    for PlannedFeed {
        file,
        location,
        plan,
    } in planned
    {
        let feed = file.name();
        let feed_err = |source: FeedError| SyncError::Feed {
            feed: feed.clone(),
            location: location.clone(),
            source,
        };
        let stage = format!("loading feed {feed}");
        let (status, outcome, examples) = match plan {
            Plan::Unavailable => {
                reports.push(FeedReport {
                    feed: feed.clone(),
                    location: location.clone(),
                    outcome: FeedOutcome::Unavailable,
                    records: 0,
                    skipped: 0,
                    skipped_examples: Vec::new(),
                });
                continue;
            }
            Plan::Reuse {
                previous,
                validators,
            } => {
                let copied = builder
                    .copy_feed(&file)
                    .map_err(|e| SyncError::db(new_db, format!("copying feed {feed}"), e))?;
                progress(SyncEvent::Copied {
                    feed: feed.clone(),
                    records: copied,
                });
                let mut status = previous;
                status.location = location.clone();
                status.checked_at = now.clone();
                if let Some(v) = validators {
                    status.etag = v.etag;
                    status.last_modified = v.last_modified;
                }
                (status, FeedOutcome::Reused, Vec::new())
            }
            Plan::Load(fetched) => {
                progress(SyncEvent::Loading { feed: feed.clone() });
                let loaded =
                    load(&mut builder, &file, &fetched.path, opts).map_err(|e| match e {
                        LoadError::Feed(f) => feed_err(f),
                        LoadError::Db(e) => SyncError::db(new_db, stage.clone(), e),
                    })?;
                let total = loaded.records as usize + loaded.bad.count;
                if !loaded.bad.tolerated(total, opts.max_bad_fraction) {
                    return Err(feed_err(FeedError::TooManyBadRecords {
                        count: loaded.bad.count,
                        total,
                        percent: opts.max_bad_fraction * 100.0,
                        examples: loaded.bad.examples.join("; "),
                    }));
                }
                progress(SyncEvent::Loaded {
                    feed: feed.clone(),
                    records: loaded.records,
                    skipped: loaded.bad.count as u64,
                });
                let status = FeedStatus {
                    feed: feed.clone(),
                    location: location.clone(),
                    updated_at: now.clone(),
                    checked_at: now.clone(),
                    records: loaded.records,
                    skipped: loaded.bad.count as u64,
                    etag: fetched.validators.etag,
                    last_modified: fetched.validators.last_modified,
                    sha256: Some(fetched.sha256),
                    bytes: Some(fetched.bytes),
                    version: loaded.version,
                    data_date: loaded.data_date,
                };
                (status, FeedOutcome::Loaded, loaded.bad.examples)
            }
        };
        builder
            .set_meta(&status)
            .map_err(|e| SyncError::db(new_db, stage.clone(), e))?;
        reports.push(FeedReport {
            feed: feed.clone(),
            location: location.clone(),
            outcome,
            records: status.records,
            skipped: status.skipped,
            skipped_examples: examples,
        });
    }
    progress(SyncEvent::Verifying);
    builder.finish().map_err(|e| match e {
        FinishError::Db(source) => SyncError::db(new_db, "indexing and verifying", source),
        FinishError::Verify(detail) => SyncError::Verify {
            path: new_db.to_owned(),
            detail,
        },
    })?;
    let file = std::fs::File::open(new_db).map_err(|source| SyncError::Swap {
        path: new_db.to_owned(),
        source,
    })?;
    file.sync_all().map_err(|source| SyncError::Swap {
        path: new_db.to_owned(),
        source,
    })?;
    Ok(reports)
}

struct Loaded {
    records: u64,
    bad: BadRecords,
    version: Option<String>,
    data_date: Option<String>,
}

enum LoadError {
    Feed(FeedError),
    Db(rusqlite::Error),
}

impl From<FeedError> for LoadError {
    fn from(e: FeedError) -> Self {
        LoadError::Feed(e)
    }
}

fn load(
    builder: &mut DbBuilder,
    file: &FeedFile,
    path: &Path,
    opts: &SyncOptions,
) -> Result<Loaded, LoadError> {
    let plain = |records, bad| Loaded {
        records,
        bad,
        version: None,
        data_date: None,
    };
    match file {
        FeedFile::Osv(_) => {
            let summary = builder
                .load_osv(&file.name(), path, &opts.osv)
                .map_err(|e| match e {
                    OsvLoadError::Read(e) => LoadError::Feed(FeedError::Read(e)),
                    OsvLoadError::Archive(e) => LoadError::Feed(FeedError::Osv(e)),
                    OsvLoadError::Db(e) => LoadError::Db(e),
                })?;
            Ok(plain(summary.records as u64, summary.bad))
        }
        FeedFile::Kev => {
            let bytes =
                read_capped(path, opts.max_file_bytes.min(256 << 20)).map_err(FeedError::Read)?;
            let catalog = parse_kev(&bytes).map_err(FeedError::Kev)?;
            let records = builder.load_kev(&catalog).map_err(LoadError::Db)?;
            Ok(Loaded {
                records,
                bad: catalog.bad,
                version: catalog.catalog_version,
                data_date: None,
            })
        }
        FeedFile::Epss => {
            let f = std::fs::File::open(path).map_err(FeedError::Read)?;
            let parsed =
                parse_epss_gz(std::io::BufReader::new(f), &opts.epss).map_err(FeedError::Epss)?;
            let records = builder.load_epss(&parsed).map_err(LoadError::Db)?;
            Ok(Loaded {
                records,
                bad: parsed.bad,
                version: parsed.model_version,
                data_date: parsed.score_date,
            })
        }
        FeedFile::ExploitDb => {
            let f = std::fs::File::open(path).map_err(FeedError::Read)?;
            let parsed = parse_exploitdb(
                CappedReader::new(std::io::BufReader::new(f), opts.max_file_bytes),
                opts.exploitdb_max_rows,
            )
            .map_err(FeedError::ExploitDb)?;
            let records = builder.load_exploits(&parsed).map_err(LoadError::Db)?;
            Ok(plain(records, parsed.bad))
        }
        FeedFile::OsvEcosystemList => Ok(plain(0, BadRecords::default())),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn ecosystem_names_cannot_leave_the_mirror() {
        let data = tempfile::tempdir().unwrap();
        let mut opts = SyncOptions::new(data.path(), SourceSpec::Directory("/nonexistent".into()));
        opts.feeds.osv_ecosystems = Some(vec!["../../etc".into()]);
        let err = sync(&opts, |_| {}).await.unwrap_err();
        assert!(matches!(err, SyncError::InvalidEcosystem(_)), "{err}");
        assert!(!db_path(data.path()).exists());
    }

    #[test]
    fn mirror_values() {
        assert_eq!(
            SourceSpec::mirror("/srv/feeds").unwrap(),
            SourceSpec::Directory("/srv/feeds".into())
        );
        assert!(matches!(
            SourceSpec::mirror("http://127.0.0.1:9/feeds").unwrap(),
            SourceSpec::Url(_)
        ));
    }
}
