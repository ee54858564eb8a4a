//! OSV `all.zip` archives: one JSON advisory per member.
//!
//! A member that is not a usable advisory (invalid JSON, oversized, an impossible range)
//! is reported by name and skipped; an archive that cannot be read as a zip (a bad
//! central directory, a failed CRC, a broken deflate stream) fails the whole feed.

use std::io::{Read, Seek};

use crowsnest_model::advisory::{Advisory, Event};

use crate::limits::{BadRecords, CappedReader};

#[derive(Clone, Copy, Debug)]
pub struct OsvLimits {
    /// Most members an archive may hold (OSV's largest ecosystems hold tens of thousands).
    pub max_members: usize,
    /// Largest uncompressed member; real advisories are a few KiB.
    pub max_member_bytes: u64,
}

impl Default for OsvLimits {
    fn default() -> Self {
        OsvLimits {
            max_members: 2_000_000,
            max_member_bytes: 8 << 20,
        }
    }
}

#[derive(Debug, thiserror::Error)]
pub enum OsvError {
    #[error("not a readable zip archive: {0}")]
    Zip(#[from] zip::result::ZipError),
    #[error("the archive holds {count} members, more than the limit of {max}")]
    TooManyMembers { count: usize, max: usize },
    #[error("member {member}: corrupt compressed data: {source}")]
    CorruptMember {
        member: String,
        source: std::io::Error,
    },
}

/// The outcome of reading one archive.
#[derive(Debug, Default)]
pub struct OsvSummary {
    /// Members that became advisories.
    pub records: usize,
    pub bad: BadRecords,
}

/// Reads every member of an OSV archive, handing each valid advisory (with its member
/// name) to `on_advisory`. Returns early with the callback's error if it fails.
pub fn read_osv_zip<R, E>(
    reader: R,
    limits: &OsvLimits,
    mut on_advisory: impl FnMut(&str, Advisory) -> Result<(), E>,
) -> Result<Result<OsvSummary, E>, OsvError>
where
    R: Read + Seek,
{
    let mut archive = zip::ZipArchive::new(reader)?;
    if archive.len() > limits.max_members {
        return Err(OsvError::TooManyMembers {
            count: archive.len(),
            max: limits.max_members,
        });
    }
    let mut summary = OsvSummary::default();
    let mut buf = Vec::new();
    for index in 0..archive.len() {
        let mut member = archive.by_index(index)?;
        if member.is_dir() {
            continue;
        }
        let name = member
            .name()
            .map(|n| n.into_owned())
            .unwrap_or_else(|_| format!("member #{index}"));
        if member.size() > limits.max_member_bytes {
            summary.bad.push(
                &name,
                &format!(
                    "{} bytes, more than the limit of {}",
                    member.size(),
                    limits.max_member_bytes
                ),
            );
            continue;
        }
        buf.clear();
        // The declared size can lie; the cap holds whatever the stream really yields.
        let read = CappedReader::new(&mut member, limits.max_member_bytes).read_to_end(&mut buf);
        match read {
            Ok(_) => {}
            Err(e) if e.kind() == std::io::ErrorKind::InvalidData && is_cap_error(&e) => {
                summary.bad.push(&name, &e.to_string());
                continue;
            }
            Err(source) => {
                return Err(OsvError::CorruptMember {
                    member: name,
                    source,
                });
            }
        }
        match parse_advisory(&buf) {
            Ok(advisory) => {
                summary.records += 1;
                if let Err(e) = on_advisory(&name, advisory) {
                    return Ok(Err(e));
                }
            }
            Err(reason) => summary.bad.push(&name, &reason),
        }
    }
    Ok(Ok(summary))
}

fn is_cap_error(e: &std::io::Error) -> bool {
    e.to_string().contains("(the size limit)")
}

/// Parses and checks one OSV record.
pub fn parse_advisory(bytes: &[u8]) -> Result<Advisory, String> {
    let advisory: Advisory =
        serde_json::from_slice(bytes).map_err(|e| format!("invalid OSV JSON: {e}"))?;
    validate(&advisory)?;
    Ok(advisory)
}

/// Longest id accepted; real ids are under 64 characters.
const MAX_ID_LEN: usize = 256;

/// Rejects records no matcher could use faithfully: a missing or odd id, an affected
/// package without ecosystem or name, a range without events, without an `introduced`
/// event or with an empty version. (An `introduced X` / `fixed X` pair is legal: real
/// RustSec and PyPA records use such empty intervals, so they are kept.)
pub fn validate(advisory: &Advisory) -> Result<(), String> {
    check_id("id", &advisory.id)?;
    for alias in advisory
        .aliases
        .iter()
        .chain(&advisory.related)
        .chain(&advisory.upstream)
    {
        check_id("alias", alias)?;
    }
    for (i, affected) in advisory.affected.iter().enumerate() {
        if let Some(package) = &affected.package
            && (package.ecosystem.trim().is_empty() || package.name.trim().is_empty())
        {
            return Err(format!("affected[{i}]: package without ecosystem or name"));
        }
        for (j, range) in affected.ranges.iter().enumerate() {
            let at = format!("affected[{i}].ranges[{j}]");
            if range.events.is_empty() {
                return Err(format!("{at}: a range without events"));
            }
            let mut has_introduced = false;
            for event in &range.events {
                let value = match event {
                    Event::Introduced(v) => {
                        has_introduced = true;
                        v
                    }
                    Event::Fixed(v) | Event::LastAffected(v) | Event::Limit(v) => v,
                };
                if value.trim().is_empty() {
                    return Err(format!("{at}: an event with an empty version"));
                }
            }
            if !has_introduced {
                return Err(format!("{at}: a range without an \"introduced\" event"));
            }
        }
    }
    Ok(())
}

fn check_id(what: &str, id: &str) -> Result<(), String> {
    if id.is_empty() || id.len() > MAX_ID_LEN || id.chars().any(|c| c.is_control() || c == ' ') {
        let mut shown = id.to_owned();
        crate::limits::truncate_on_char_boundary(&mut shown, 80);
        return Err(format!("invalid {what} {shown:?}"));
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use std::io::{Cursor, Write};

    use super::*;

    fn zip_of(members: &[(&str, &[u8])]) -> Vec<u8> {
        let mut w = zip::ZipWriter::new(Cursor::new(Vec::new()));
        for (name, bytes) in members {
            w.start_file(*name, zip::write::SimpleFileOptions::default())
                .unwrap();
            w.write_all(bytes).unwrap();
        }
        w.finish().unwrap().into_inner()
    }

    const GOOD: &[u8] = br#"{"id":"GHSA-aaaa-bbbb-cccc","aliases":["CVE-2024-1"],
      "affected":[{"package":{"ecosystem":"PyPI","name":"Foo_Bar"},
      "ranges":[{"type":"ECOSYSTEM","events":[{"introduced":"0"},{"fixed":"1.2"}]}]}]}"#;

    fn read_all(bytes: Vec<u8>, limits: &OsvLimits) -> Result<(Vec<String>, OsvSummary), OsvError> {
        let mut ids = Vec::new();
        let summary = read_osv_zip(Cursor::new(bytes), limits, |_, a| {
            ids.push(a.id);
            Ok::<_, ()>(())
        })?
        .unwrap();
        Ok((ids, summary))
    }

    #[test]
    fn reads_good_members_and_names_bad_ones() {
        let zip = zip_of(&[
            ("GHSA-aaaa-bbbb-cccc.json", GOOD),
            ("broken.json", b"{\"id\": \"X\", "),
            ("norange.json", br#"{"id":"X-1","affected":[{"package":{"ecosystem":"Go","name":"m"},"ranges":[{"type":"SEMVER","events":[{"fixed":"1.0.0"}]}]}]}"#),
        ]);
        let (ids, summary) = read_all(zip, &OsvLimits::default()).unwrap();
        assert_eq!(ids, ["GHSA-aaaa-bbbb-cccc"]);
        assert_eq!(summary.records, 1);
        assert_eq!(summary.bad.count, 2);
        assert!(summary.bad.examples[0].starts_with("broken.json: invalid OSV JSON"));
        assert!(summary.bad.examples[1].contains("without an \"introduced\" event"));
    }

    #[test]
    fn impossible_range_is_rejected() {
        let rec = br#"{"id":"X-2","affected":[{"package":{"ecosystem":"npm","name":"a"},"ranges":[{"type":"SEMVER","events":[]}]}]}"#;
        let err = parse_advisory(rec).unwrap_err();
        assert!(err.contains("a range without events"), "{err}");
        let empty = br#"{"id":"X-4","affected":[{"ranges":[{"type":"ECOSYSTEM","events":[{"introduced":"0"},{"fixed":" "}]}]}]}"#;
        assert!(parse_advisory(empty).unwrap_err().contains("empty version"));
        let empty_interval = br#"{"id":"X-5","affected":[{"ranges":[{"type":"SEMVER","events":[{"introduced":"1.0.0"},{"fixed":"1.0.0"}]}]}]}"#;
        assert!(parse_advisory(empty_interval).is_ok());
        let unknown_event = br#"{"id":"X-3","affected":[{"ranges":[{"type":"SEMVER","events":[{"introduced":"0"},{"broken":"1"}]}]}]}"#;
        assert!(parse_advisory(unknown_event).is_err());
    }

    #[test]
    fn oversized_member_is_skipped_by_name() {
        let big = vec![b' '; 2048];
        let zip = zip_of(&[("big.json", &big), ("good.json", GOOD)]);
        let limits = OsvLimits {
            max_member_bytes: 1024,
            ..OsvLimits::default()
        };
        let (ids, summary) = read_all(zip, &limits).unwrap();
        assert_eq!(ids.len(), 1);
        assert!(summary.bad.examples[0].starts_with("big.json: 2048 bytes"));
    }

    #[test]
    fn too_many_members_fails() {
        let zip = zip_of(&[("a.json", GOOD), ("b.json", GOOD), ("c.json", GOOD)]);
        let limits = OsvLimits {
            max_members: 2,
            ..OsvLimits::default()
        };
        assert!(matches!(
            read_all(zip, &limits),
            Err(OsvError::TooManyMembers { count: 3, max: 2 })
        ));
    }

    #[test]
    fn corrupt_archives_fail_without_panic() {
        let zip = zip_of(&[("a.json", GOOD), ("b.json", GOOD)]);
        // Not a zip at all, truncated, and every single byte flipped in turn.
        assert!(read_all(b"not a zip".to_vec(), &OsvLimits::default()).is_err());
        assert!(read_all(zip[..zip.len() / 2].to_vec(), &OsvLimits::default()).is_err());
        for i in 0..zip.len() {
            let mut bent = zip.clone();
            bent[i] ^= 0x55;
            let _ = read_all(bent, &OsvLimits::default());
        }
    }

    #[test]
    fn flipped_compressed_byte_is_a_corrupt_member_error() {
        let mut w = zip::ZipWriter::new(Cursor::new(Vec::new()));
        let opts = zip::write::SimpleFileOptions::default()
            .compression_method(zip::CompressionMethod::Deflated);
        w.start_file("a.json", opts).unwrap();
        w.write_all(&GOOD.repeat(20)).unwrap();
        let mut zip = w.finish().unwrap().into_inner();
        // Local header is 30 bytes + name; flip a byte in the middle of the data.
        zip[30 + 6 + 20] ^= 0xff;
        let err = read_all(zip, &OsvLimits::default()).unwrap_err();
        let msg = err.to_string();
        assert!(msg.contains("a.json") || msg.contains("zip"), "{msg}");
    }
}
