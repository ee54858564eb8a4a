//! Matching stored inventories against the synced advisory database.

use crowsnest_feeds::{AdvisoryDb, DbError};
use crowsnest_matcher::{AdvisoryIndex, AdvisorySource, Intel, match_packages};
use crowsnest_model::advisory::Advisory;
use crowsnest_store::{Assessment, Inventory};
use std::path::{Path, PathBuf};
use time::OffsetDateTime;
use time::format_description::well_known::Rfc3339;

/// The feeds database as the matcher's advisory source (the one adapter between the two:
/// the service and the CLI's scans both match through it).
pub struct FeedsSource(pub AdvisoryDb);

impl AdvisorySource for FeedsSource {
    type Error = DbError;

    fn advisories_for(&self, ecosystem: &str, name: &str) -> Result<Vec<Advisory>, DbError> {
        self.0.advisories_for(ecosystem, name)
    }

    fn intel(&self, cve: &str) -> Result<Intel, DbError> {
        Ok(Intel {
            kev: self.0.kev(cve)?,
            epss: self.0.epss(cve)?,
            exploits: self.0.exploits(cve)?,
        })
    }
}

#[derive(Debug, thiserror::Error)]
pub enum AssessError {
    #[error("no vulnerability database at {0} yet (the first feed sync has not finished)")]
    NoDatabase(PathBuf),
    #[error("opening the vulnerability database {path}: {source}")]
    Open {
        path: PathBuf,
        #[source]
        source: DbError,
    },
    #[error("matching: {0}")]
    Match(String),
}

/// One state of the advisory database, opened for matching many inventories. The index
/// compiles each package's advisories once, so images sharing a base cost one lookup
/// per package.
pub struct Advisories {
    index: AdvisoryIndex<FeedsSource>,
    /// Identifies the database state in stored assessments: the time the database file
    /// was last replaced (a sync swaps in a whole new file, so this changes exactly when
    /// the content may have).
    pub feed_version: String,
}

impl Advisories {
    /// Opens the database in the feeds data directory.
    pub fn open(feeds_dir: &Path) -> Result<Advisories, AssessError> {
        let path = crowsnest_feeds::db_path(feeds_dir);
        let version =
            feed_version(feeds_dir).ok_or_else(|| AssessError::NoDatabase(path.clone()))?;
        let db = AdvisoryDb::open(&path).map_err(|source| AssessError::Open {
            path: path.clone(),
            source,
        })?;
        Ok(Advisories {
            index: AdvisoryIndex::new(FeedsSource(db)),
            feed_version: version,
        })
    }

    /// Matches one inventory. CPU-bound: call from a blocking thread.
    pub fn assess(&self, inventory: &Inventory) -> Result<Assessment, AssessError> {
        let report = match_packages(&self.index, &inventory.packages, inventory.distro.as_ref())
            .map_err(|e| AssessError::Match(e.to_string()))?;
        Ok(Assessment {
            cataloger_version: inventory.cataloger_version.clone(),
            feed_version: self.feed_version.clone(),
            assessed: OffsetDateTime::now_utc(),
            findings: report.findings,
        })
    }
}

/// The current database state's identity (see [`Advisories::feed_version`]), or `None`
/// when there is no database yet.
pub fn feed_version(feeds_dir: &Path) -> Option<String> {
    let modified = std::fs::metadata(crowsnest_feeds::db_path(feeds_dir))
        .and_then(|m| m.modified())
        .ok()?;
    OffsetDateTime::from(modified).format(&Rfc3339).ok()
}
