//! Shared by the matching tests and benchmark: the real advisory database, built by the
//! feeds crate from ../shared/feeds, and the adapter that lets the matcher query it.
//!
//! The adapter lives here rather than in crates/feeds so that the feeds crate does not
//! depend on the matcher; it is a dozen lines over `AdvisoryDb`'s public queries.

#![allow(dead_code)] // each target that includes this file uses a different subset

use std::path::{Path, PathBuf};
use std::sync::Arc;

use crowsnest_feeds::{AdvisoryDb, DbError, SourceSpec, SyncOptions, db_path, sync};
use crowsnest_matcher::{AdvisorySource, Intel};
use crowsnest_model::advisory::Advisory;

/// The feeds database seen as the matcher's advisory source.
pub struct DbSource(pub AdvisoryDb);

impl AdvisorySource for DbSource {
    type Error = DbError;

    fn advisories_for(&self, ecosystem: &str, name: &str) -> Result<Arc<[Advisory]>, DbError> {
        Ok(self.0.advisories_for(ecosystem, name)?.into())
    }

    fn intel(&self, cve: &str) -> Result<Intel, DbError> {
        Ok(Intel {
            kev: self.0.kev(cve)?,
            epss: self.0.epss(cve)?,
            exploits: self.0.exploits(cve)?,
        })
    }
}

/// Exploit-DB rows in the upstream `files_exploits.csv` column layout. The real file is
/// not mirrored, so these stand in for it; they name real Exploit-DB entries' CVEs.
pub const EXPLOITDB_CSV: &str = "id,file,description,date_published,author,type,platform,port,date_added,date_updated,verified,codes,tags,aliases,screenshot_url,application_url,source_url
50592,exploits/java/remote/50592.py,Apache Log4j 2 - Remote Code Execution (RCE),2021-12-14,kozmer,remote,java,,2021-12-14,2021-12-14,0,CVE-2021-44228,,,,,
51183,exploits/java/webapps/51183.txt,\"Log4j2 JNDI lookup, second proof of concept\",2022-01-10,tester,webapps,java,,2022-01-10,2022-01-10,1,CVE-2021-44228;OSVDB-1,,,,,
";

/// A mirror directory: ../shared/feeds (linked, not copied) plus the Exploit-DB rows.
fn mirror_with_exploitdb(root: &Path) -> PathBuf {
    let shared = crowsnest_testbed::shared().join("feeds");
    let mirror = root.join("mirror");
    std::fs::create_dir_all(mirror.join("exploitdb")).unwrap();
    for entry in ["osv", "kev", "epss"] {
        let link = mirror.join(entry);
        if std::fs::symlink_metadata(&link).is_err() {
            std::os::unix::fs::symlink(shared.join(entry), &link).unwrap();
        }
    }
    std::fs::write(mirror.join("exploitdb/files_exploits.csv"), EXPLOITDB_CSV).unwrap();
    mirror
}

/// Syncs the database from the mirror into `<target tmp>/<name>` (incremental after
/// the first run: unchanged feeds are copied, so the data always matches the mirror)
/// and opens it.
pub fn open_real_db(name: &str) -> AdvisoryDb {
    let root = PathBuf::from(env!("CARGO_TARGET_TMPDIR")).join(name);
    let mirror = mirror_with_exploitdb(&root);
    let data = root.join("data");
    let opts = SyncOptions::new(&data, SourceSpec::Directory(mirror));
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .unwrap();
    let report = match runtime.block_on(sync(&opts, |_| {})) {
        Ok(report) => report,
        Err(e) => {
            // An incremental sync over a database left by an older build of the feeds
            // crate can fail; a fresh build from the mirror is the reference.
            eprintln!(
                "incremental sync failed ({e}); rebuilding {}",
                data.display()
            );
            std::fs::remove_dir_all(&data).unwrap();
            runtime
                .block_on(sync(&opts, |_| {}))
                .unwrap_or_else(|e| panic!("syncing the advisory database from the mirror: {e}"))
        }
    };
    assert!(
        report
            .feeds
            .iter()
            .any(|f| f.feed == "exploitdb" && f.records == 2),
        "{:?}",
        report.feeds
    );
    AdvisoryDb::open(&db_path(&data)).unwrap()
}
