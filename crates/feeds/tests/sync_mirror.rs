//! Full syncs from ../shared/feeds: as a directory mirror and served over HTTP on
//! loopback, checked against the record counts SOURCES.md states and against the
//! archives themselves.

mod common;

use std::collections::BTreeSet;
use std::io::Read;

use common::*;
use crowsnest_feeds::{AdvisoryDb, FeedOutcome, SourceSpec, db_path, status, sync};

/// Ids of the advisories in an ecosystem's archive that name (ecosystem, name), read
/// straight from the zip, independent of the database code.
fn ids_in_archive(eco_dir: &str, ecosystem: &str, name: &str) -> BTreeSet<String> {
    let file = std::fs::File::open(mirror().join("osv").join(eco_dir).join("all.zip")).unwrap();
    let mut zip = zip::ZipArchive::new(file).unwrap();
    let mut ids = BTreeSet::new();
    for i in 0..zip.len() {
        let mut text = String::new();
        zip.by_index(i).unwrap().read_to_string(&mut text).unwrap();
        let v: serde_json::Value = serde_json::from_str(&text).unwrap();
        let names_it = v["affected"].as_array().into_iter().flatten().any(|a| {
            let eco = a["package"]["ecosystem"].as_str().unwrap_or("");
            let eco_matches = if ecosystem.contains(':') {
                eco == ecosystem
            } else {
                eco.split(':').next() == Some(ecosystem)
            };
            eco_matches && a["package"]["name"].as_str() == Some(name)
        });
        if names_it {
            ids.insert(v["id"].as_str().unwrap().to_owned());
        }
    }
    ids
}

fn affected_len_in_archive(eco_dir: &str, id: &str) -> usize {
    let file = std::fs::File::open(mirror().join("osv").join(eco_dir).join("all.zip")).unwrap();
    let mut zip = zip::ZipArchive::new(file).unwrap();
    let mut text = String::new();
    zip.by_name(&format!("{id}.json"))
        .unwrap()
        .read_to_string(&mut text)
        .unwrap();
    let v: serde_json::Value = serde_json::from_str(&text).unwrap();
    v["affected"].as_array().unwrap().len()
}

fn ids(list: Vec<crowsnest_model::advisory::Advisory>) -> BTreeSet<String> {
    list.into_iter().map(|a| a.id).collect()
}

fn check_full_database(db: &AdvisoryDb) {
    let statuses = db.status().unwrap();
    for (eco, expected) in EXPECTED_OSV {
        let s = statuses
            .iter()
            .find(|s| s.feed == format!("osv/{eco}"))
            .unwrap_or_else(|| panic!("no status for osv/{eco}"));
        assert_eq!(s.records, *expected, "osv/{eco}");
        assert_eq!(s.skipped, 0, "osv/{eco}");
    }
    let kev = statuses.iter().find(|s| s.feed == "kev").unwrap();
    assert_eq!(kev.records, EXPECTED_KEV);
    assert_eq!(kev.version.as_deref(), Some("2025.08.25"));
    let epss = statuses.iter().find(|s| s.feed == "epss").unwrap();
    assert_eq!(epss.records, EXPECTED_EPSS);

    // Log4Shell: Maven advisory, KEV entry, EPSS score.
    let log4j = db
        .advisories_for("Maven", "org.apache.logging.log4j:log4j-core")
        .unwrap();
    assert!(log4j.iter().any(|a| a.id == "GHSA-jfh8-c2jp-5v3q"));
    // A lookup carries the queried package's entries only; by id, the whole record.
    for a in &log4j {
        assert!(
            a.affected
                .iter()
                .all(|e| e.package.as_ref().unwrap().name == "org.apache.logging.log4j:log4j-core")
        );
        assert!(!a.affected.is_empty() && !a.affected[0].ranges.is_empty());
    }
    let whole = db.advisory("GHSA-jfh8-c2jp-5v3q").unwrap().unwrap();
    assert_eq!(
        whole.affected.len(),
        affected_len_in_archive("Maven", "GHSA-jfh8-c2jp-5v3q")
    );
    let kev = db
        .kev("CVE-2021-44228")
        .unwrap()
        .expect("Log4Shell is in KEV");
    assert_eq!(kev.date_added, "2021-12-10");
    assert!(db.epss("CVE-2021-44228").unwrap().unwrap().epss > 0.5);
    assert!(db.kev("CVE-1999-0001").unwrap().is_none());

    // Release-qualified ecosystems match only their release; the base matches all.
    let debian11 = ids(db.advisories_for("Debian:11", "openssl").unwrap());
    let debian_all = ids(db.advisories_for("Debian", "openssl").unwrap());
    assert_eq!(debian11, ids_in_archive("Debian", "Debian:11", "openssl"));
    assert_eq!(debian_all, ids_in_archive("Debian", "Debian", "openssl"));
    assert!(!debian11.is_empty() && debian11.len() < debian_all.len());
    assert!(db.advisories_for("Debian:12", "openssl").unwrap().len() < debian_all.len());

    // PEP 503: any spelling of a PyPI name finds the same advisories.
    let django = ids(db.advisories_for("PyPI", "django").unwrap());
    assert_eq!(django, ids_in_archive("PyPI", "PyPI", "django"));
    assert!(!django.is_empty());
    assert_eq!(ids(db.advisories_for("PyPI", "DJANGO").unwrap()), django);

    let go = ids(db.advisories_for("Go", "golang.org/x/net").unwrap());
    assert_eq!(go, ids_in_archive("Go", "Go", "golang.org/x/net"));

    // Lookup by alias (Alpine keeps the CVE under `upstream`).
    let by_alias = db.advisory("CVE-2021-44228").unwrap().unwrap();
    assert!(by_alias.all_ids().any(|id| id == "CVE-2021-44228"));
}

#[tokio::test(flavor = "multi_thread")]
async fn directory_mirror_sync_then_incremental_resync() {
    let data = tempfile::tempdir().unwrap();
    let opts = options(data.path(), SourceSpec::Directory(mirror()));
    let mut events = Vec::new();
    let report = sync(&opts, |e| events.push(e)).await.unwrap();
    assert!(
        report
            .feeds
            .iter()
            .any(|f| f.feed == "exploitdb" && f.outcome == FeedOutcome::Unavailable)
    );
    assert!(report.warnings.iter().any(|w| w.contains("exploitdb")));
    assert!(
        events
            .iter()
            .any(|e| matches!(e, crowsnest_feeds::SyncEvent::Replaced { .. }))
    );
    let db = AdvisoryDb::open(&db_path(data.path())).unwrap();
    check_full_database(&db);
    assert!(
        leftovers(data.path()).is_empty(),
        "{:?}",
        leftovers(data.path())
    );

    // Same content again: every feed is copied, none re-parsed, the counts hold.
    let again = sync(&opts, |_| {}).await.unwrap();
    for f in &again.feeds {
        assert!(
            matches!(f.outcome, FeedOutcome::Reused | FeedOutcome::Unavailable),
            "{} was {:?}",
            f.feed,
            f.outcome
        );
    }
    check_full_database(&AdvisoryDb::open(&db_path(data.path())).unwrap());
    let st = status(data.path()).unwrap();
    assert!(st.iter().all(|s| s.checked_at >= s.updated_at));
}

#[tokio::test(flavor = "multi_thread")]
async fn http_mirror_sync_uses_conditional_requests() {
    let extra = tempfile::tempdir().unwrap();
    std::fs::create_dir_all(extra.path().join("exploitdb")).unwrap();
    std::fs::write(
        extra.path().join("exploitdb/files_exploits.csv"),
        EXPLOITDB_CSV,
    )
    .unwrap();
    let server = FeedServer::start(vec![mirror(), extra.path().to_owned()]).await;
    let data = tempfile::tempdir().unwrap();
    let opts = options(data.path(), SourceSpec::mirror(&server.base).unwrap());

    let report = sync(&opts, |_| {}).await.unwrap();
    assert!(
        report
            .feeds
            .iter()
            .all(|f| f.outcome == FeedOutcome::Loaded)
    );
    let db = AdvisoryDb::open(&db_path(data.path())).unwrap();
    check_full_database(&db);
    let exploits = db.exploits("CVE-2021-44228").unwrap();
    let edb: Vec<u64> = exploits.iter().map(|e| e.edb_id).collect();
    assert_eq!(edb, [50592, 51183]);
    assert!(exploits[1].verified);
    let st = db.status().unwrap();
    assert!(st.iter().all(|s| s.etag.is_some()), "ETags were stored");

    // Second sync: the server answers 304 to every conditional request.
    let again = sync(&opts, |_| {}).await.unwrap();
    assert!(again.feeds.iter().all(|f| f.outcome == FeedOutcome::Reused));
    assert_eq!(server.statuses("osv/Go/all.zip"), [200, 304]);
    assert_eq!(
        server.statuses("epss/epss_scores-current.csv.gz"),
        [200, 304]
    );
    check_full_database(&AdvisoryDb::open(&db_path(data.path())).unwrap());
}
