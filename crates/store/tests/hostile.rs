//! Hostile input on the way in and broken databases on the way out: errors that name
//! the object, never a panic, never a partial write.

#[macro_use]
mod common;

use common::{Harness, digest, finding, package};
use crowsnest_store::{
    Assessment, ImageSighting, Inventory, JobSpec, PgOptions, PgStore, SqliteStore, Store,
    StoreError,
};
use time::macros::datetime;

both_backends!(
    one_bad_package_never_makes_an_inventory_unstorable,
    hostile_strings_are_stored_verbatim_or_refused,
    failed_assessment_write_keeps_the_old_one,
);

/// A dpkg status with a NUL byte in one package's name and invalid UTF-8 in another's,
/// cataloged as the scanner does: the two are dropped and reported, the rest stored.
async fn one_bad_package_never_makes_an_inventory_unstorable(h: Harness) {
    use crowsnest_catalog::Cataloger;
    use crowsnest_model::layer::{Analyzed, EntryKind, FileEntry, LayerAnalyzer, LayerContents};
    const STATUS: &str = "/var/lib/dpkg/status";
    let mut status = Vec::new();
    for name in [&b"good"[..], b"bad\0nul", b"bad\xff\xfeutf8", b"also-good"] {
        status.extend_from_slice(b"Package: ");
        status.extend_from_slice(name);
        status.extend_from_slice(
            b"\nStatus: install ok installed\nVersion: 1.0-1\nArchitecture: amd64\n\n",
        );
    }
    let artifact = Cataloger.analyze(STATUS, status.len() as u64, &mut &status[..]);
    let layer = LayerContents {
        diff_id: digest(),
        entries: vec![FileEntry {
            path: STATUS.into(),
            kind: EntryKind::File,
            size: status.len() as u64,
            mode: 0o644,
        }],
        whiteouts: vec![],
        opaque_dirs: vec![],
        analyzed: vec![Analyzed {
            path: STATUS.into(),
            result: artifact,
        }],
        hardlinks: vec![],
        errors: vec![],
        uncompressed_size: 0,
    };
    let cataloged = crowsnest_catalog::inventory(&[layer]);
    let reasons: Vec<&str> = cataloged
        .unreadable
        .iter()
        .map(|(_, r)| r.as_str())
        .collect();
    assert_eq!(
        reasons,
        [
            "package \"badnul\" dropped: its name contains a NUL byte",
            "package \"bad\u{fffd}\u{fffd}utf8\" dropped: its name is not valid UTF-8",
        ]
    );
    let d = digest();
    let reg = h.store.upsert_registry("https://r.test").await.unwrap();
    let repo = h.store.upsert_repository(reg, "app").await.unwrap();
    let sighting = ImageSighting {
        digest: d.clone(),
        media_type: "m".into(),
        platform: None,
        created: None,
        pushed: None,
        tags: vec![],
    };
    h.store.record_image(repo, &sighting).await.unwrap();
    let inv = Inventory {
        cataloger_version: "c1".into(),
        distro: cataloged.distro,
        packages: cataloged.packages,
        created: None,
    };
    h.store.put_inventory(&d, &inv).await.unwrap();
    let stored = h.store.inventory(&d, "c1").await.unwrap().unwrap();
    let names: Vec<&str> = stored.packages.iter().map(|p| p.name.as_str()).collect();
    assert_eq!(names, ["also-good", "good"]);
}

async fn hostile_strings_are_stored_verbatim_or_refused(h: Harness) {
    let s = &h.store;
    let injection = "x'); DROP TABLE jobs; --";
    let reg = s.upsert_registry(injection).await.unwrap();
    let repo = s
        .upsert_repository(reg, "ünïcødé/\u{202e}evil")
        .await
        .unwrap();
    let d = digest();
    let sighting = ImageSighting {
        digest: d.clone(),
        media_type: "a".repeat(100_000),
        platform: Some(injection.into()),
        created: None,
        pushed: None,
        tags: vec![injection.into(), "🦀".into()],
    };
    s.record_image(repo, &sighting).await.unwrap();
    let img = s.image(&d).await.unwrap().unwrap();
    assert_eq!(img.media_type.len(), 100_000);
    assert_eq!(img.locations[0].registry_url, injection);
    assert_eq!(img.locations[0].repository, "ünïcødé/\u{202e}evil");
    assert_eq!(
        img.locations[0].tags,
        vec![injection.to_string(), "🦀".to_string()]
    );

    // A NUL byte: SQLite keeps it, PostgreSQL's TEXT cannot hold it and refuses the
    // whole write with an error naming the image. Neither panics or writes half.
    let nul = ImageSighting {
        digest: digest(),
        tags: vec!["ok".into(), "bad\0tag".into()],
        ..sighting.clone()
    };
    match s.record_image(repo, &nul).await {
        Ok(()) => assert!(!h.is_postgres()),
        Err(e) => {
            assert!(h.is_postgres(), "{e}");
            assert!(e.to_string().contains(&nul.digest.to_string()), "{e}");
            assert!(
                s.image(&nul.digest).await.unwrap().is_none(),
                "half written"
            );
        }
    }

    // Payloads and package fields with every kind of JSON escape round-trip exactly.
    let payload =
        serde_json::json!({"s": "quote\" backslash\\ nul\u{0} newline\n", "n": [1.5, -0.0, 1e300]});
    let id = s
        .enqueue(&JobSpec::new("scan-image", injection, payload.clone()))
        .await
        .unwrap()
        .id();
    assert_eq!(s.job(id).await.unwrap().unwrap().payload, payload);
    let mut odd = package(1);
    odd.name = "name\u{0}with nul".into();
    odd.evidence = vec!["../../etc/passwd".into()];
    let inv = Inventory {
        cataloger_version: injection.into(),
        distro: None,
        packages: vec![odd],
        created: None,
    };
    let stored = s.put_inventory(&d, &inv).await;
    if stored.is_ok() {
        assert_eq!(
            s.inventory(&d, injection).await.unwrap().unwrap().packages,
            inv.packages
        );
    } else {
        // PostgreSQL refuses the NUL in the name column; nothing of it is stored.
        assert!(h.is_postgres());
        assert!(s.inventory(&d, injection).await.unwrap().is_none());
    }
}

async fn failed_assessment_write_keeps_the_old_one(h: Harness) {
    let s = &h.store;
    let reg = s.upsert_registry("https://r.test").await.unwrap();
    let repo = s.upsert_repository(reg, "app").await.unwrap();
    let d = digest();
    s.record_image(
        repo,
        &ImageSighting {
            digest: d.clone(),
            media_type: "m".into(),
            platform: None,
            created: None,
            pushed: None,
            tags: vec![],
        },
    )
    .await
    .unwrap();
    let inv = Inventory {
        cataloger_version: "c1".into(),
        distro: None,
        packages: (0..5).map(package).collect(),
        created: None,
    };
    s.put_inventory(&d, &inv).await.unwrap();
    let assessment = |n: usize, feed: &str| Assessment {
        cataloger_version: "c1".into(),
        feed_version: feed.into(),
        assessed: datetime!(2025-02-01 0:00 UTC),
        findings: (0..n).map(finding).collect(),
    };
    s.put_assessment(&d, &assessment(4, "feed-1"))
        .await
        .unwrap();
    // A real fault from the database on the 3rd finding row of the next write.
    if h.is_postgres() {
        h.raw(
            "CREATE FUNCTION reject_3rd() RETURNS trigger AS $$
             BEGIN IF NEW.ordinal = 2 THEN RAISE EXCEPTION 'injected fault'; END IF; RETURN NEW; END;
             $$ LANGUAGE plpgsql;
             CREATE TRIGGER reject_3rd BEFORE INSERT ON findings
             FOR EACH ROW EXECUTE FUNCTION reject_3rd();",
        )
        .await;
    } else {
        h.raw(
            "CREATE TRIGGER reject_3rd BEFORE INSERT ON findings
             WHEN NEW.ordinal = 2 BEGIN SELECT RAISE(ABORT, 'injected fault'); END;",
        )
        .await;
    }
    let err = s
        .put_assessment(&d, &assessment(50, "feed-2"))
        .await
        .unwrap_err();
    assert!(
        err.to_string().contains(&format!("assessment of {d}")),
        "{err}"
    );
    assert_eq!(
        s.assessment(&d).await.unwrap().unwrap(),
        assessment(4, "feed-1")
    );
    assert_eq!(h.raw_count("SELECT COUNT(*) FROM findings").await, 4);
}

#[tokio::test]
async fn a_file_that_is_not_a_database_is_an_error() {
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("crowsnest.db");
    std::fs::write(&file, b"\x00garbage, not SQLite\xff".repeat(1000)).unwrap();
    let err = SqliteStore::open_file(&file).await.err().expect("refused");
    assert!(matches!(err, StoreError::OpenSqlite { .. }), "{err}");
    assert!(
        err.to_string().contains(&file.display().to_string()),
        "{err}"
    );

    // A data directory that is a file.
    let err = SqliteStore::open_dir(&file).await.err().expect("refused");
    assert!(matches!(err, StoreError::OpenSqlite { .. }), "{err}");
}

#[tokio::test]
async fn a_truncated_database_is_an_error() {
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("crowsnest.db");
    {
        let store = SqliteStore::open_file(&file).await.unwrap();
        store.upsert_registry("https://r.test").await.unwrap();
    }
    // Keep the header page only: the schema pages are gone.
    let bytes = std::fs::read(&file).unwrap();
    std::fs::write(&file, &bytes[..bytes.len().min(4096) / 2]).unwrap();
    let _ = std::fs::remove_file(dir.path().join("crowsnest.db-wal"));
    let _ = std::fs::remove_file(dir.path().join("crowsnest.db-shm"));
    let err = SqliteStore::open_file(&file).await.err().expect("refused");
    assert!(err.to_string().contains("crowsnest.db"), "{err}");
}

#[tokio::test]
async fn unreachable_postgres_is_an_error_without_the_password() {
    // Port 1 on loopback: nothing listens there.
    let err = PgStore::connect(
        "postgres://app:hunter2secret@127.0.0.1:1/db?connect_timeout=5",
        &PgOptions::default(),
    )
    .await
    .err()
    .expect("refused");
    assert!(matches!(err, StoreError::Connect { .. }), "{err}");
    let shown = format!("{err} {err:?}");
    assert!(!shown.contains("hunter2secret"), "{shown}");
    assert!(shown.contains("127.0.0.1"), "{shown}");
}
