//! The rpm database readers against databases written by real tools, compared with what
//! `rpm -qa` reports (fixtures from `scripts/fixtures/rpmdb`):
//! - SQLite: written by Debian's rpm.
//! - Berkeley DB hash: written by Berkeley DB's own `db5.3_load` from the same header
//!   blobs, and checked by rpm's `bdb_ro` backend when built.
//! - NDB: Debian's rpm is built without the ndb backend and nothing else here writes it,
//!   so [`ndb_file`] lays the same real header blobs out in the documented NDB format.

use std::collections::BTreeSet;
use std::path::{Path, PathBuf};
use std::process::Command;

use crowsnest_catalog::rpm::{DbFormat, parse_db};
use crowsnest_catalog::{OsPackage, ParseError};

/// The fixtures directory, built on first use; `None` (skip) when it cannot be built
/// outside `scripts/test`.
fn fixtures() -> Option<PathBuf> {
    let cache = std::env::var("CROWSNEST_CACHE")
        .map(PathBuf::from)
        .unwrap_or_else(|_| {
            PathBuf::from(std::env::var("HOME").unwrap_or_default()).join(".cache/crowsnest")
        });
    let dir = cache.join("fixtures/rpm");
    let script = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../scripts/fixtures/rpmdb");
    let built = Command::new("bash")
        .arg(&script)
        .status()
        .is_ok_and(|s| s.success());
    if built && dir.join("truth.tsv").is_file() {
        return Some(dir);
    }
    assert!(
        !crowsnest_testbed::required(),
        "rpm fixtures could not be built by {}",
        script.display()
    );
    eprintln!("skipping: rpm fixtures could not be built (run bash scripts/fixtures/rpmdb)");
    None
}

/// `rpm -qa` lines: name, epoch, version-release, arch, source rpm, license.
fn truth(dir: &Path) -> BTreeSet<String> {
    std::fs::read_to_string(dir.join("truth.tsv"))
        .unwrap()
        .lines()
        .map(str::to_string)
        .collect()
}

fn rendered(packages: &[OsPackage]) -> BTreeSet<String> {
    packages
        .iter()
        .map(|p| {
            let source = p
                .source
                .as_ref()
                .map(|s| format!("{}-{}.src.rpm", s.name, s.version));
            format!(
                "{}\t{}\t{}\t{}\t{}\t{}",
                p.name,
                p.epoch.unwrap_or(0),
                p.version,
                p.arch.as_deref().unwrap_or("(none)"),
                source.as_deref().unwrap_or("(none)"),
                p.licenses.join(" ")
            )
        })
        .collect()
}

fn files(dir: &Path) -> BTreeSet<String> {
    std::fs::read_to_string(dir.join("files.tsv"))
        .unwrap()
        .lines()
        .map(str::to_string)
        .collect()
}

fn rendered_files(packages: &[OsPackage]) -> BTreeSet<String> {
    packages
        .iter()
        .flat_map(|p| p.files.iter().map(move |f| format!("{}\t{f}", p.name)))
        .collect()
}

fn read(format: DbFormat, bytes: &[u8]) -> Result<(Vec<OsPackage>, Vec<String>), ParseError> {
    parse_db(format, &mut &bytes[..])
}

fn check_against_truth(dir: &Path, format: DbFormat, bytes: &[u8]) {
    let (packages, problems) = read(format, bytes).unwrap();
    assert!(problems.is_empty(), "{problems:?}");
    assert_eq!(rendered(&packages), truth(dir));
    assert_eq!(rendered_files(&packages), files(dir));
}

#[test]
fn sqlite_database_matches_rpm() {
    let Some(dir) = fixtures() else { return };
    let bytes = std::fs::read(dir.join("sqlite/rpmdb.sqlite")).unwrap();
    check_against_truth(&dir, DbFormat::Sqlite, &bytes);
}

#[test]
fn berkeley_db_matches_rpm() {
    let Some(dir) = fixtures() else { return };
    let bytes = std::fs::read(dir.join("bdb/Packages")).unwrap();
    check_against_truth(&dir, DbFormat::BerkeleyDb, &bytes);
}

#[test]
fn ndb_matches_rpm() {
    let Some(dir) = fixtures() else { return };
    check_against_truth(&dir, DbFormat::Ndb, &ndb_file(&blobs(&dir)));
}

/// The real header blobs rpm wrote, by header number.
fn blobs(dir: &Path) -> Vec<(u32, Vec<u8>)> {
    let mut out: Vec<(u32, Vec<u8>)> = std::fs::read_dir(dir.join("blobs"))
        .unwrap()
        .map(|e| {
            let path = e.unwrap().path();
            let number = path.file_stem().unwrap().to_str().unwrap().parse().unwrap();
            let hex = std::fs::read_to_string(&path).unwrap();
            let hex = hex.trim();
            let bytes = (0..hex.len())
                .step_by(2)
                .map(|i| u8::from_str_radix(&hex[i..i + 2], 16).unwrap())
                .collect();
            (number, bytes)
        })
        .collect();
    out.sort();
    out
}

/// Adler-32 as RFC 1950 defines it, written plainly (independent of the reader's).
fn adler32(data: &[u8]) -> u32 {
    let (mut a, mut b) = (1u64, 0u64);
    for &byte in data {
        a = (a + byte as u64) % 65521;
        b = (b + a) % 65521;
    }
    ((b << 16) | a) as u32
}

/// An NDB Packages.db holding `blobs`, laid out as rpm's ndb backend writes one: file
/// header and slot table in the first 4096-byte page, blobs in 16-byte blocks after it
/// (the layout is checked against a database SUSE's rpm wrote, in
/// `ndb_written_by_suse_rpm_lists_every_package`).
fn ndb_file(blobs: &[(u32, Vec<u8>)]) -> Vec<u8> {
    let le = |v: u32| v.to_le_bytes();
    let mut file = vec![0u8; 4096];
    file[0..4].copy_from_slice(b"RpmP");
    file[8..12].copy_from_slice(&le(1));
    file[12..16].copy_from_slice(&le(1));
    file[16..20].copy_from_slice(&le(blobs.len() as u32 + 1));
    for slot in (32..4096).step_by(16) {
        file[slot..slot + 4].copy_from_slice(b"Slot");
    }
    for (i, (index, blob)) in blobs.iter().enumerate() {
        let block = file.len() / 16;
        let blocks = (16 + blob.len() + 12).div_ceil(16);
        file.extend_from_slice(b"BlbS");
        file.extend_from_slice(&le(*index));
        file.extend_from_slice(&le(1));
        file.extend_from_slice(&le(blob.len() as u32));
        file.extend_from_slice(blob);
        // Padding, then the tail in the last 12 bytes of the blocks; the checksum covers
        // the head, the blob and the padding.
        file.resize((block + blocks) * 16 - 12, 0);
        let checksum = adler32(&file[block * 16..]);
        file.extend_from_slice(&le(checksum));
        file.extend_from_slice(&le(blob.len() as u32));
        file.extend_from_slice(b"BlbE");
        let slot = 32 + i * 16;
        file[slot + 4..slot + 8].copy_from_slice(&le(*index));
        file[slot + 8..slot + 12].copy_from_slice(&le(block as u32));
        file[slot + 12..slot + 16].copy_from_slice(&le(blocks as u32));
    }
    file
}

#[test]
fn truncated_berkeley_db_page_is_an_error_naming_the_problem() {
    let Some(dir) = fixtures() else { return };
    let bytes = std::fs::read(dir.join("bdb/Packages")).unwrap();
    let cut = &bytes[..bytes.len() - 100];
    let err = read(DbFormat::BerkeleyDb, cut).unwrap_err().to_string();
    assert!(err.contains("truncated"), "{err}");
}

#[test]
fn broken_overflow_chain_in_berkeley_db_is_an_error() {
    let Some(dir) = fixtures() else { return };
    let bytes = std::fs::read(dir.join("bdb/Packages")).unwrap();
    // Turn every overflow page into an unknown page type.
    let page = 4096;
    let mut broken = bytes.clone();
    let mut changed = 0;
    for n in 1..broken.len() / page {
        if broken[n * page + 25] == 7 {
            broken[n * page + 25] = 99;
            changed += 1;
        }
    }
    assert!(changed > 0, "the fixture should have overflow pages");
    let err = read(DbFormat::BerkeleyDb, &broken).unwrap_err().to_string();
    assert!(err.contains("overflow chain"), "{err}");
}

#[test]
fn ndb_with_bad_index_reports_bad_slots_and_keeps_the_rest() {
    let Some(dir) = fixtures() else { return };
    let blobs = blobs(&dir);
    let good = ndb_file(&blobs);
    let set = |file: &mut Vec<u8>, slot: usize, field: usize, v: u32| {
        let at = 32 + slot * 16 + field * 4;
        file[at..at + 4].copy_from_slice(&v.to_le_bytes());
    };
    // Slot 0 points past the end, slot 1 into the slot table, slot 2 at slot 3's blob.
    let mut bad = good.clone();
    set(&mut bad, 0, 2, 0x0fff_ffff);
    set(&mut bad, 1, 2, 3);
    let slot3_block =
        u32::from_le_bytes(bad[32 + 3 * 16 + 8..32 + 3 * 16 + 12].try_into().unwrap());
    set(&mut bad, 2, 2, slot3_block);
    let (packages, problems) = read(DbFormat::Ndb, &bad).unwrap();
    assert_eq!(packages.len(), blobs.len() - 3);
    assert_eq!(problems.len(), 3, "{problems:?}");
    assert!(problems[0].contains("past the end"), "{problems:?}");
    assert!(
        problems[1].contains("inside the slot table"),
        "{problems:?}"
    );
    // A slot table whose magic is gone is not an index at all.
    let mut no_magic = good.clone();
    no_magic[32..36].copy_from_slice(b"XXXX");
    assert!(
        read(DbFormat::Ndb, &no_magic)
            .unwrap_err()
            .to_string()
            .contains("slot table")
    );
    // More slot pages than the file holds.
    let mut lying = good;
    lying[12..16].copy_from_slice(&1000u32.to_le_bytes());
    assert!(
        read(DbFormat::Ndb, &lying)
            .unwrap_err()
            .to_string()
            .contains("slot pages")
    );
}

#[test]
fn damaged_real_databases_never_panic() {
    let Some(dir) = fixtures() else { return };
    let ndb = ndb_file(&blobs(&dir));
    let cases = [
        (
            DbFormat::Sqlite,
            std::fs::read(dir.join("sqlite/rpmdb.sqlite")).unwrap(),
        ),
        (
            DbFormat::BerkeleyDb,
            std::fs::read(dir.join("bdb/Packages")).unwrap(),
        ),
        (DbFormat::Ndb, ndb),
    ];
    // Deterministic pseudo-random single-byte damage, plus truncation at many points.
    let mut state = 0x2545_f491_4f6c_dd1du64;
    for (format, bytes) in cases {
        for round in 0..400 {
            state ^= state << 13;
            state ^= state >> 7;
            state ^= state << 17;
            let mut damaged = bytes.clone();
            let at = (state as usize) % damaged.len();
            damaged[at] = (state >> 32) as u8;
            let _ = read(format, &damaged);
            let cut = bytes.len() * round / 400;
            let _ = read(format, &bytes[..cut]);
        }
    }
}

/// A real NDB database, written by SUSE's rpm in a SLE 15 SP3 BCI image
/// (`../shared/fixtures/rpm-ndb-sle15`, provenance in its README): every one of its 35
/// packages is read, with the name and version-release its package list gives.
#[test]
fn ndb_written_by_suse_rpm_lists_every_package() {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../../shared/fixtures/rpm-ndb-sle15");
    let shared = std::env::var_os("CROWSNEST_SHARED")
        .map(|s| PathBuf::from(s).join("fixtures/rpm-ndb-sle15"))
        .unwrap_or(dir);
    let Ok(bytes) = std::fs::read(shared.join("Packages.db")) else {
        assert!(
            !crowsnest_testbed::required(),
            "the SUSE NDB fixture is missing in {}",
            shared.display()
        );
        eprintln!("skipping: no ../shared/fixtures/rpm-ndb-sle15 beside the clone");
        return;
    };
    let listed: serde_json::Value =
        serde_json::from_slice(&std::fs::read(shared.join("packages.json")).unwrap()).unwrap();
    let expected: BTreeSet<String> = listed["packages"]
        .as_array()
        .unwrap()
        .iter()
        .map(|p| {
            format!(
                "{} {}",
                p["name"].as_str().unwrap(),
                p["version"].as_str().unwrap()
            )
        })
        .collect();
    assert_eq!(expected.len(), 35);
    let (packages, problems) = read(DbFormat::Ndb, &bytes).unwrap();
    assert!(problems.is_empty(), "{problems:?}");
    let found: BTreeSet<String> = packages
        .iter()
        .map(|p| format!("{} {}", p.name, p.version))
        .collect();
    assert_eq!(found, expected);
}
