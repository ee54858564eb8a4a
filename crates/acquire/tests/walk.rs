//! The layer walk on real tar streams (written with the tar crate, compressed with real
//! gzip and zstd encoders), including the hostile cases the issue lists.

use std::io::{Read, Write};

use crowsnest_acquire::walk::{LayerExpectations, Limits, WalkError, digest_of, walk_layer};
use crowsnest_model::digest::Algorithm;
use crowsnest_model::layer::{EntryKind, LayerAnalyzer, SharedAnalysis, SquashedFs};

/// Keeps the text of files under /etc; refuses files named `bad`.
struct EtcReader;

impl LayerAnalyzer for EtcReader {
    type Output = String;
    fn cache_key(&self) -> String {
        "test/1".into()
    }
    fn wants(&self, path: &str, _size: u64, _mode: u32) -> bool {
        path.starts_with("/etc/")
    }
    fn analyze(&self, path: &str, _size: u64, content: &mut dyn Read) -> Result<String, String> {
        if path.ends_with("/bad") {
            return Err("bad file".into());
        }
        let mut s = String::new();
        content.read_to_string(&mut s).map_err(|e| e.to_string())?;
        Ok(s)
    }
}

fn header(kind: tar::EntryType, size: u64) -> tar::Header {
    let mut h = tar::Header::new_gnu();
    h.set_entry_type(kind);
    h.set_size(size);
    h.set_mode(0o644);
    h
}

/// Writes an entry name straight into the header bytes, bypassing the tar crate's
/// (sensible) refusal to write hostile names: layers from registries are not so polite.
fn raw_entry(
    b: &mut tar::Builder<Vec<u8>>,
    name: &str,
    kind: tar::EntryType,
    link: Option<&str>,
    data: &[u8],
) {
    let mut h = header(kind, data.len() as u64);
    let old = h.as_old_mut();
    old.name.fill(0);
    old.name[..name.len()].copy_from_slice(name.as_bytes());
    if let Some(l) = link {
        old.linkname.fill(0);
        old.linkname[..l.len()].copy_from_slice(l.as_bytes());
    }
    h.set_cksum();
    b.append(&h, data).unwrap();
}

fn file(b: &mut tar::Builder<Vec<u8>>, name: &str, data: &[u8]) {
    raw_entry(b, name, tar::EntryType::Regular, None, data);
}

fn gzip(data: &[u8]) -> Vec<u8> {
    let mut e = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::fast());
    e.write_all(data).unwrap();
    e.finish().unwrap()
}

fn sample_layer() -> Vec<u8> {
    let mut b = tar::Builder::new(Vec::new());
    raw_entry(&mut b, "./etc/", tar::EntryType::Directory, None, b"");
    file(&mut b, "./etc/os-release", b"ID=debian\n");
    file(&mut b, "etc/bad", b"x");
    file(&mut b, "usr/bin/tool", b"\x7fELF");
    raw_entry(
        &mut b,
        "etc/alias",
        tar::EntryType::Link,
        Some("etc/os-release"),
        b"",
    );
    raw_entry(&mut b, "lib", tar::EntryType::Symlink, Some("usr/lib"), b"");
    file(&mut b, "opt/app/.wh.old.conf", b"");
    file(&mut b, "var/cache/.wh..wh..opq", b"");
    file(&mut b, "x/.wh..wh.plnk", b"");
    b.into_inner().unwrap()
}

#[test]
fn walks_entries_whiteouts_links_and_analyzes_wanted_files() {
    let tar = sample_layer();
    let layer = walk_layer(
        &gzip(&tar)[..],
        &LayerExpectations::default(),
        &EtcReader,
        &Limits::default(),
    )
    .unwrap();
    assert_eq!(layer.diff_id, digest_of(Algorithm::Sha256, &tar));
    assert_eq!(layer.uncompressed_size, tar.len() as u64);
    let paths: Vec<&str> = layer.entries.iter().map(|e| e.path.as_str()).collect();
    assert_eq!(
        paths,
        [
            "/etc",
            "/etc/os-release",
            "/etc/bad",
            "/usr/bin/tool",
            "/etc/alias",
            "/lib"
        ]
    );
    assert_eq!(
        layer.entries[4].kind,
        EntryKind::Hardlink("/etc/os-release".into())
    );
    assert_eq!(layer.entries[5].kind, EntryKind::Symlink("usr/lib".into()));
    assert_eq!(layer.whiteouts, ["/opt/app/old.conf"]);
    assert_eq!(layer.opaque_dirs, ["/var/cache"]);
    let analyzed: Vec<(&str, &Result<String, String>)> = layer
        .analyzed
        .iter()
        .map(|a| (a.path.as_str(), &a.result))
        .collect();
    assert_eq!(
        analyzed,
        [
            ("/etc/os-release", &Ok("ID=debian\n".to_string())),
            ("/etc/bad", &Err("bad file".to_string())),
        ]
    );
    // The hard link shares the analysis of the file it links to; it holds no copy.
    assert_eq!(
        layer.hardlinks,
        [SharedAnalysis {
            path: "/etc/alias".into(),
            analyzed: 0
        }]
    );
    assert!(layer.errors.is_empty(), "{:?}", layer.errors);
}

#[test]
fn zstd_and_uncompressed_layers_give_the_same_result() {
    let tar = sample_layer();
    let zst = zstd::encode_all(&tar[..], 3).unwrap();
    let a = walk_layer(
        &zst[..],
        &LayerExpectations::default(),
        &EtcReader,
        &Limits::default(),
    )
    .unwrap();
    let b = walk_layer(
        &tar[..],
        &LayerExpectations::default(),
        &EtcReader,
        &Limits::default(),
    )
    .unwrap();
    assert_eq!(a, b);
}

#[test]
fn verifies_blob_digest_and_diff_id() {
    let tar = sample_layer();
    let gz = gzip(&tar);
    let good = LayerExpectations {
        blob_digest: Some(digest_of(Algorithm::Sha256, &gz)),
        diff_id: Some(digest_of(Algorithm::Sha256, &tar)),
    };
    walk_layer(&gz[..], &good, &EtcReader, &Limits::default()).unwrap();

    let wrong = digest_of(Algorithm::Sha256, b"something else");
    let bad_blob = LayerExpectations {
        blob_digest: Some(wrong.clone()),
        ..good.clone()
    };
    let err = walk_layer(&gz[..], &bad_blob, &EtcReader, &Limits::default()).unwrap_err();
    assert!(
        matches!(err, WalkError::DigestMismatch { ref expected, .. } if *expected == wrong),
        "{err}"
    );

    let bad_diff = LayerExpectations {
        diff_id: Some(wrong),
        ..good
    };
    let err = walk_layer(&gz[..], &bad_diff, &EtcReader, &Limits::default()).unwrap_err();
    assert!(matches!(err, WalkError::DiffIdMismatch { .. }), "{err}");
}

#[test]
fn rejects_entries_escaping_the_root_but_keeps_walking() {
    let mut b = tar::Builder::new(Vec::new());
    file(&mut b, "../../etc/passwd", b"root:x:0:0");
    file(&mut b, "a/../../../evil", b"x");
    file(&mut b, "/etc/hostname", b"box");
    raw_entry(
        &mut b,
        "etc/link-out",
        tar::EntryType::Symlink,
        Some("../../../../etc/shadow"),
        b"",
    );
    raw_entry(
        &mut b,
        "etc/hard",
        tar::EntryType::Link,
        Some("../outside"),
        b"",
    );
    let layer = walk_layer(
        &b.into_inner().unwrap()[..],
        &LayerExpectations::default(),
        &EtcReader,
        &Limits::default(),
    )
    .unwrap();
    let rejected: Vec<&str> = layer.errors.iter().map(|e| e.entry.as_str()).collect();
    assert_eq!(
        rejected,
        ["../../etc/passwd", "a/../../../evil", "etc/hard"]
    );
    assert!(
        layer.errors[0]
            .reason
            .contains("climbs above the image root")
    );
    // An absolute name is a path inside the image, not on the host.
    assert_eq!(layer.entries[0].path, "/etc/hostname");
    // A symlink pointing out is recorded as written and clamped to the root on lookup.
    let fs = SquashedFs::build([&layer]);
    assert_eq!(fs.resolve("/etc/link-out").unwrap(), "/etc/shadow");
}

#[test]
fn hard_link_to_missing_target_is_reported() {
    let mut b = tar::Builder::new(Vec::new());
    raw_entry(
        &mut b,
        "usr/bin/b",
        tar::EntryType::Link,
        Some("usr/bin/a"),
        b"",
    );
    let layer = walk_layer(
        &b.into_inner().unwrap()[..],
        &LayerExpectations::default(),
        &EtcReader,
        &Limits::default(),
    )
    .unwrap();
    assert_eq!(layer.errors.len(), 1);
    assert!(
        layer.errors[0].reason.contains("not earlier in this layer"),
        "{:?}",
        layer.errors
    );
}

#[test]
fn decompression_bomb_stops_at_the_limit() {
    // 64 MiB of zeros inside one tar entry: ~64 KiB once gzipped.
    let mut b = tar::Builder::new(Vec::new());
    let big = vec![0u8; 64 << 20];
    file(&mut b, "zeros", &big);
    let gz = gzip(&b.into_inner().unwrap());
    assert!(gz.len() < 1 << 20);
    let limits = Limits {
        max_layer_bytes: 8 << 20,
        ..Limits::default()
    };
    let err = walk_layer(&gz[..], &LayerExpectations::default(), &EtcReader, &limits).unwrap_err();
    assert!(
        matches!(
            err,
            WalkError::TooLarge {
                what: "uncompressed bytes",
                ..
            }
        ),
        "{err}"
    );
}

#[test]
fn too_many_entries_stop_the_walk() {
    let mut b = tar::Builder::new(Vec::new());
    for i in 0..50 {
        file(&mut b, &format!("f{i}"), b"");
    }
    let limits = Limits {
        max_entries: 10,
        ..Limits::default()
    };
    let err = walk_layer(
        &b.into_inner().unwrap()[..],
        &LayerExpectations::default(),
        &EtcReader,
        &limits,
    )
    .unwrap_err();
    assert!(
        matches!(
            err,
            WalkError::TooLarge {
                what: "tar entries",
                ..
            }
        ),
        "{err}"
    );
}

#[test]
fn truncated_gzip_is_a_decompression_error() {
    let mut b = tar::Builder::new(Vec::new());
    let data: Vec<u8> = (0..200_000u32).flat_map(|i| i.to_le_bytes()).collect();
    file(&mut b, "etc/data", &data);
    let gz = gzip(&b.into_inner().unwrap());
    for cut in [gz.len() / 2, gz.len() - 4] {
        let err = walk_layer(
            &gz[..cut],
            &LayerExpectations::default(),
            &EtcReader,
            &Limits::default(),
        )
        .unwrap_err();
        assert!(
            matches!(
                err,
                WalkError::Decompress {
                    compression: "gzip",
                    ..
                }
            ),
            "cut at {cut}: {err:?}"
        );
    }
}

#[test]
fn truncated_tar_is_a_tar_error() {
    let mut b = tar::Builder::new(Vec::new());
    file(&mut b, "etc/data", &[7u8; 5000]);
    let tar = b.into_inner().unwrap();
    let err = walk_layer(
        &tar[..1000],
        &LayerExpectations::default(),
        &EtcReader,
        &Limits::default(),
    )
    .unwrap_err();
    assert!(matches!(err, WalkError::Tar(_)), "{err:?}");
}

proptest::proptest! {
    #![proptest_config(proptest::prelude::ProptestConfig::with_cases(256))]
    #[test]
    fn arbitrary_bytes_never_panic(bytes in proptest::collection::vec(proptest::prelude::any::<u8>(), 0..4096)) {
        let _ = walk_layer(&bytes[..], &LayerExpectations::default(), &EtcReader, &Limits::default());
        let _ = walk_layer(&gzip(&bytes)[..], &LayerExpectations::default(), &EtcReader, &Limits::default());
    }
}
