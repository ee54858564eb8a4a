//! rpm's package database in its three formats, read with our own small readers:
//! SQLite (`rpmdb.sqlite`, rpm ≥ 4.16), Berkeley DB hash (`Packages`, older rpm) and NDB
//! (`Packages.db`, openSUSE). Each stores one rpm *header blob* per installed package;
//! [`header`] decodes those.
//!
//! Whole database files are read into memory (they need random access) up to
//! [`DB_LIMIT`]; every offset, count and chain inside them is checked before use.

pub mod bdb;
pub mod header;
pub mod ndb;
pub mod sqlite;

use std::io::Read;

use crate::OsPackage;
use crate::read::{ParseError, read_capped};

/// A full Fedora workstation's rpmdb.sqlite is ~150 MB; container images hold far less.
pub const DB_LIMIT: u64 = 512 * 1024 * 1024;
/// Headers in one database (a large distribution install has a few thousand).
pub const MAX_HEADERS: usize = 200_000;
/// rpm itself refuses header blobs above 256 MiB.
pub const MAX_BLOB: usize = 256 * 1024 * 1024;

/// `(record number, header blob)` pairs, as a database reader finds them.
pub type HeaderRecords = Vec<(u64, Vec<u8>)>;

/// The on-disk format of an rpm database.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum DbFormat {
    Sqlite,
    BerkeleyDb,
    Ndb,
}

impl DbFormat {
    /// The format of the database file with this name inside an rpm database directory.
    pub fn from_file_name(name: &str) -> Option<DbFormat> {
        match name {
            "rpmdb.sqlite" => Some(DbFormat::Sqlite),
            "Packages" => Some(DbFormat::BerkeleyDb),
            "Packages.db" => Some(DbFormat::Ndb),
            _ => None,
        }
    }
}

/// Reads a database file: the packages of every header that decodes, and a problem line
/// for every header that does not.
pub fn parse_db(
    format: DbFormat,
    content: &mut dyn Read,
) -> Result<(Vec<OsPackage>, Vec<String>), ParseError> {
    let bytes = read_capped(content, DB_LIMIT)?;
    let (blobs, mut problems) = match format {
        DbFormat::Sqlite => (sqlite::header_blobs(&bytes)?, Vec::new()),
        DbFormat::BerkeleyDb => (bdb::header_blobs(&bytes)?, Vec::new()),
        DbFormat::Ndb => ndb::header_blobs(&bytes)?,
    };
    let mut packages = Vec::with_capacity(blobs.len());
    for (key, blob) in blobs {
        match header::parse(&blob) {
            Ok(Some(package)) => packages.push(package),
            Ok(None) => {}
            Err(e) => problems.push(format!("header {key} skipped: {e}")),
        }
    }
    Ok((packages, problems))
}
