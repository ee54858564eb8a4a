//! A failed or interrupted sync leaves the previous database intact and in use, and
//! says which feed failed and why. Faults come from the loopback test server (a real
//! static server cannot produce them on demand) and from a size-limited tmpfs.

mod common;

use std::io::{Read, Write};
use std::path::Path;

use common::*;
use crowsnest_feeds::{
    AdvisoryDb, FeedSelection, SourceSpec, SyncError, SyncOptions, db_path, sync,
};

const CRATES_ZIP: &str = "osv/crates.io/all.zip";

fn small_selection() -> FeedSelection {
    FeedSelection {
        osv_ecosystems: Some(
            ["npm", "Maven", "NuGet", "RubyGems", "crates.io"]
                .map(String::from)
                .to_vec(),
        ),
        kev: true,
        epss: false,
        exploitdb: true,
    }
}

struct Fixture {
    server: FeedServer,
    _extra: tempfile::TempDir,
    data: tempfile::TempDir,
    opts: SyncOptions,
    db_sha: String,
}

/// A server over the mirror (plus Exploit-DB rows) and a data dir holding a database
/// from a first, successful sync of a small selection of feeds.
async fn fixture() -> Fixture {
    let extra = tempfile::tempdir().unwrap();
    std::fs::create_dir_all(extra.path().join("exploitdb")).unwrap();
    std::fs::write(
        extra.path().join("exploitdb/files_exploits.csv"),
        EXPLOITDB_CSV,
    )
    .unwrap();
    let server = FeedServer::start(vec![mirror(), extra.path().to_owned()]).await;
    let data = tempfile::tempdir().unwrap();
    let mut opts = options(data.path(), SourceSpec::mirror(&server.base).unwrap());
    opts.feeds = small_selection();
    sync(&opts, |_| {}).await.unwrap();
    let db_sha = sha256_file(&db_path(data.path()));
    Fixture {
        server,
        _extra: extra,
        data,
        opts,
        db_sha,
    }
}

/// The previous database is byte-for-byte unchanged, still answers queries through a
/// handle opened before the sync, and no scratch file is left behind.
fn assert_previous_intact(data: &Path, db_sha: &str, held: &AdvisoryDb) {
    assert_eq!(sha256_file(&db_path(data)), db_sha, "the database changed");
    assert!(!held.advisories_for("npm", "lodash").unwrap().is_empty());
    let reopened = AdvisoryDb::open(&db_path(data)).unwrap();
    assert!(reopened.kev("CVE-2021-44228").unwrap().is_some());
    assert!(
        leftovers(data).is_empty(),
        "left behind: {:?}",
        leftovers(data)
    );
}

fn expect_err(result: Result<crowsnest_feeds::SyncReport, SyncError>, needles: &[&str]) -> String {
    let msg = match result {
        Ok(r) => panic!("the sync succeeded: {r:?}"),
        Err(e) => e.to_string(),
    };
    for n in needles {
        assert!(msg.contains(n), "{msg:?} does not mention {n:?}");
    }
    msg
}

fn real_bytes(path: &str) -> Vec<u8> {
    std::fs::read(mirror().join(path)).unwrap()
}

/// A zip of the first `good` members of the real crates.io archive plus `bad` members
/// that are not JSON.
fn crates_zip_with(good: usize, bad: usize) -> Vec<u8> {
    let mut real = zip::ZipArchive::new(std::io::Cursor::new(real_bytes(CRATES_ZIP))).unwrap();
    let mut w = zip::ZipWriter::new(std::io::Cursor::new(Vec::new()));
    let opts = zip::write::SimpleFileOptions::default();
    for i in 0..good {
        let mut member = real.by_index(i).unwrap();
        let name = member.name().unwrap().into_owned();
        let mut bytes = Vec::new();
        member.read_to_end(&mut bytes).unwrap();
        w.start_file(name, opts).unwrap();
        w.write_all(&bytes).unwrap();
    }
    for i in 0..bad {
        w.start_file(format!("RUSTSEC-BROKEN-{i}.json"), opts)
            .unwrap();
        w.write_all(b"{\"id\": \"RUSTSEC-BROKEN\", \"affected\": [")
            .unwrap();
    }
    w.finish().unwrap().into_inner()
}

#[tokio::test(flavor = "multi_thread")]
async fn http_500_fails_the_sync_after_retries() {
    let f = fixture().await;
    let held = AdvisoryDb::open(&db_path(f.data.path())).unwrap();
    f.server.inject(CRATES_ZIP, Fault::Status500(100));
    expect_err(
        sync(&f.opts, |_| {}).await,
        &["osv/crates.io", "HTTP status 500", "after 2 attempts"],
    );
    assert_eq!(f.server.statuses(CRATES_ZIP), [200, 500, 500]);
    assert_previous_intact(f.data.path(), &f.db_sha, &held);
}

#[tokio::test(flavor = "multi_thread")]
async fn transient_500_is_retried_and_old_readers_survive_the_swap() {
    let f = fixture().await;
    let held = AdvisoryDb::open(&db_path(f.data.path())).unwrap();
    f.server.inject(
        "kev/known_exploited_vulnerabilities.json",
        Fault::Status500(1),
    );
    let mut opts = f.opts.clone();
    opts.force = true;
    sync(&opts, |_| {}).await.unwrap();
    assert_eq!(
        f.server
            .statuses("kev/known_exploited_vulnerabilities.json"),
        [200, 500, 200]
    );
    // The handle opened before the swap still reads the old file.
    assert!(!held.advisories_for("npm", "lodash").unwrap().is_empty());
    assert!(leftovers(f.data.path()).is_empty());
}

#[tokio::test(flavor = "multi_thread")]
async fn dropped_connection_mid_body_fails_cleanly() {
    let f = fixture().await;
    let held = AdvisoryDb::open(&db_path(f.data.path())).unwrap();
    f.server.inject("osv/npm/all.zip", Fault::DropMidBody);
    // Unconditional requests, so the server sends a body instead of 304.
    let mut opts = f.opts.clone();
    opts.force = true;
    let msg = expect_err(sync(&opts, |_| {}).await, &["osv/npm", "after 2 attempts"]);
    assert!(msg.contains("body") || msg.contains("connection"), "{msg}");
    assert_previous_intact(f.data.path(), &f.db_sha, &held);
}

#[tokio::test(flavor = "multi_thread")]
async fn corrupt_zip_fails_the_feed() {
    let f = fixture().await;
    let held = AdvisoryDb::open(&db_path(f.data.path())).unwrap();
    let real = real_bytes(CRATES_ZIP);

    f.server
        .inject(CRATES_ZIP, Fault::Replace(real[..real.len() / 2].to_vec()));
    expect_err(
        sync(&f.opts, |_| {}).await,
        &["osv/crates.io", "not a readable zip archive"],
    );
    assert_previous_intact(f.data.path(), &f.db_sha, &held);

    // Same length, damaged compressed data inside the first member.
    let mut bent = real.clone();
    for b in &mut bent[40..240] {
        *b ^= 0x5a;
    }
    f.server.inject(CRATES_ZIP, Fault::Replace(bent));
    expect_err(sync(&f.opts, |_| {}).await, &["osv/crates.io"]);
    assert_previous_intact(f.data.path(), &f.db_sha, &held);
}

#[tokio::test(flavor = "multi_thread")]
async fn invalid_records_are_skipped_by_name_up_to_the_tolerance() {
    let f = fixture().await;
    let held = AdvisoryDb::open(&db_path(f.data.path())).unwrap();

    f.server
        .inject(CRATES_ZIP, Fault::Replace(crates_zip_with(5, 3)));
    expect_err(
        sync(&f.opts, |_| {}).await,
        &[
            "osv/crates.io",
            "3 of 8 records are unusable",
            "RUSTSEC-BROKEN-0.json",
            "invalid OSV JSON",
        ],
    );
    assert_previous_intact(f.data.path(), &f.db_sha, &held);

    f.server
        .inject(CRATES_ZIP, Fault::Replace(crates_zip_with(200, 1)));
    let report = sync(&f.opts, |_| {}).await.unwrap();
    let crates = report
        .feeds
        .iter()
        .find(|r| r.feed == "osv/crates.io")
        .unwrap();
    assert_eq!((crates.records, crates.skipped), (200, 1));
    assert!(crates.skipped_examples[0].starts_with("RUSTSEC-BROKEN-0.json: invalid OSV JSON"));
    assert!(
        report
            .warnings
            .iter()
            .any(|w| w.contains("RUSTSEC-BROKEN-0.json"))
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn truncated_epss_and_invalid_kev_fail_the_sync() {
    let f = fixture().await;
    let held = AdvisoryDb::open(&db_path(f.data.path())).unwrap();
    let epss_path = "epss/epss_scores-current.csv.gz";
    let real = real_bytes(epss_path);
    f.server
        .inject(epss_path, Fault::Replace(real[..real.len() - 100].to_vec()));
    let mut opts = f.opts.clone();
    opts.feeds.epss = true;
    expect_err(
        sync(&opts, |_| {}).await,
        &["feed epss", "truncated or corrupt"],
    );
    assert_previous_intact(f.data.path(), &f.db_sha, &held);

    f.server.inject(
        "kev/known_exploited_vulnerabilities.json",
        Fault::Replace(b"{\"count\": 1, \"vulnerabilities\": [".to_vec()),
    );
    expect_err(
        sync(&f.opts, |_| {}).await,
        &["feed kev", "invalid KEV catalog JSON"],
    );
    assert_previous_intact(f.data.path(), &f.db_sha, &held);
}

/// Unmounts the tmpfs when the test ends, however it ends.
struct Mount(std::path::PathBuf);

impl Drop for Mount {
    fn drop(&mut self) {
        let _ = std::process::Command::new("umount").arg(&self.0).status();
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn full_disk_fails_the_sync_and_keeps_the_old_database() {
    let dir = tempfile::tempdir().unwrap();
    let mounted = std::process::Command::new("mount")
        .args(["-t", "tmpfs", "-o", "size=3m", "tmpfs"])
        .arg(dir.path())
        .status()
        .is_ok_and(|s| s.success());
    if !mounted {
        eprintln!(
            "skipping: cannot mount a 3 MiB tmpfs at {} (needs root / CAP_SYS_ADMIN)",
            dir.path().display()
        );
        return;
    }
    let _mount = Mount(dir.path().to_owned());
    let data = dir.path().join("data");
    let mut opts = options(&data, SourceSpec::Directory(mirror()));
    opts.feeds = FeedSelection {
        osv_ecosystems: Some(vec!["npm".into(), "Maven".into()]),
        kev: true,
        epss: false,
        exploitdb: false,
    };
    sync(&opts, |_| {}).await.unwrap();
    let db_sha = sha256_file(&db_path(&data));
    let held = AdvisoryDb::open(&db_path(&data)).unwrap();

    // Everything: far more than 3 MiB of database.
    opts.feeds = FeedSelection::default();
    let msg = expect_err(sync(&opts, |_| {}).await, &["feed"]);
    eprintln!("full disk: {msg}");
    assert!(
        msg.contains("full") || msg.contains("No space left"),
        "the message should say the disk is full: {msg}"
    );
    assert_previous_intact(&data, &db_sha, &held);
}
