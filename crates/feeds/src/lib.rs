//! Vulnerability feeds: OSV, CISA KEV, FIRST EPSS and Exploit-DB, synced into a local
//! SQLite advisory database that the matcher queries.
//!
//! Entry points: [`sync`] (what `crowsnest db sync` runs), [`status`] (`crowsnest db
//! status`) and [`AdvisoryDb`] (queries). Parsers of each feed's bytes live in
//! [`osv`], [`kev`], [`epss`] and [`exploitdb`]; they are fuzzed under `fuzz/`.
//!
//! Invariant: a sync writes only inside its data directory, and the previous database
//! stays intact and in use until a new, verified one is renamed over it.

mod build;
pub mod db;
pub mod epss;
pub mod exploitdb;
pub mod feed;
pub mod kev;
pub mod limits;
pub mod names;
pub mod osv;
pub mod source;
pub mod sync;

pub use db::{AdvisoryDb, DbError, FeedStatus};
pub use feed::FeedFile;
pub use names::normalize_package_name;
pub use source::{DirSource, FeedSource, HttpOptions, HttpSource};
pub use sync::{
    FeedOutcome, FeedReport, FeedSelection, SourceSpec, SyncError, SyncEvent, SyncOptions,
    SyncReport, db_path, default_data_dir, status, sync,
};
