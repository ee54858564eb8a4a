//! The rpm header blob as the database stores it (no lead, no 8-byte header magic):
//! a big-endian `u32` count of index entries, a `u32` data length, the index entries
//! (tag, type, offset, count: four big-endian 32-bit fields each) and the data store.

use crowsnest_model::{PackageKind, SourcePackage, path::normalize};

use crate::OsPackage;

const TAG_NAME: u32 = 1000;
const TAG_VERSION: u32 = 1001;
const TAG_RELEASE: u32 = 1002;
const TAG_EPOCH: u32 = 1003;
const TAG_LICENSE: u32 = 1014;
const TAG_ARCH: u32 = 1022;
const TAG_OLDFILENAMES: u32 = 1027;
const TAG_SOURCERPM: u32 = 1044;
const TAG_DIRINDEXES: u32 = 1116;
const TAG_BASENAMES: u32 = 1117;
const TAG_DIRNAMES: u32 = 1118;

const TYPE_INT32: u32 = 4;
const TYPE_STRING: u32 = 6;
const TYPE_STRING_ARRAY: u32 = 8;
const TYPE_I18NSTRING: u32 = 9;

/// rpm's own limits: at most 0xffff index entries and 256 MiB of data.
const MAX_ENTRIES: usize = 0xffff;
const MAX_DATA: usize = 256 * 1024 * 1024;

struct Entry {
    tag: u32,
    kind: u32,
    offset: usize,
    count: usize,
}

struct Header<'a> {
    entries: Vec<Entry>,
    data: &'a [u8],
}

fn be32(bytes: &[u8], at: usize) -> Option<u32> {
    bytes
        .get(at..at.checked_add(4)?)
        .map(|b| u32::from_be_bytes([b[0], b[1], b[2], b[3]]))
}

impl<'a> Header<'a> {
    fn parse(blob: &'a [u8]) -> Result<Header<'a>, String> {
        let (Some(il), Some(dl)) = (be32(blob, 0), be32(blob, 4)) else {
            return Err(format!("header blob of {} bytes is too short", blob.len()));
        };
        let (il, dl) = (il as usize, dl as usize);
        if il == 0 || il > MAX_ENTRIES {
            return Err(format!(
                "header has {il} index entries (1..={MAX_ENTRIES} allowed)"
            ));
        }
        if dl > MAX_DATA {
            return Err(format!(
                "header data length {dl} is over the {MAX_DATA}-byte limit"
            ));
        }
        let data_start = 8 + il * 16;
        let data = blob.get(data_start..data_start + dl).ok_or_else(|| {
            format!(
                "header claims {il} entries and {dl} data bytes but the blob has {} bytes",
                blob.len()
            )
        })?;
        let mut entries = Vec::with_capacity(il);
        for i in 0..il {
            let at = 8 + i * 16;
            let field = |n: usize| be32(blob, at + n * 4).unwrap_or(0);
            entries.push(Entry {
                tag: field(0),
                kind: field(1),
                offset: field(2) as usize,
                count: field(3) as usize,
            });
        }
        Ok(Header { entries, data })
    }

    fn entry(&self, tag: u32) -> Option<&Entry> {
        self.entries.iter().find(|e| e.tag == tag)
    }

    /// `count` NUL-terminated strings starting at the entry's offset.
    fn strings(&self, tag: u32) -> Result<Vec<String>, String> {
        let Some(e) = self.entry(tag) else {
            return Ok(Vec::new());
        };
        let wanted = match e.kind {
            TYPE_STRING => 1,
            // The first string of an i18n table is the untranslated one.
            TYPE_I18NSTRING => 1,
            TYPE_STRING_ARRAY => e.count,
            other => return Err(format!("tag {tag} has type {other}, not a string type")),
        };
        // Every string takes at least its NUL: a count above the data size is a lie.
        if wanted > self.data.len() {
            return Err(format!(
                "tag {tag} claims {wanted} strings in {} data bytes",
                self.data.len()
            ));
        }
        let mut rest = self
            .data
            .get(e.offset..)
            .ok_or_else(|| format!("tag {tag} offset {} is outside the data", e.offset))?;
        let mut out = Vec::with_capacity(wanted);
        for _ in 0..wanted {
            let end = rest
                .iter()
                .position(|&b| b == 0)
                .ok_or_else(|| format!("tag {tag}: string runs off the end of the data"))?;
            out.push(String::from_utf8_lossy(&rest[..end]).into_owned());
            rest = &rest[end + 1..];
        }
        Ok(out)
    }

    fn string(&self, tag: u32) -> Result<Option<String>, String> {
        Ok(self.strings(tag)?.into_iter().next())
    }

    fn int32s(&self, tag: u32) -> Result<Vec<u32>, String> {
        let Some(e) = self.entry(tag) else {
            return Ok(Vec::new());
        };
        if e.kind != TYPE_INT32 {
            return Err(format!("tag {tag} has type {}, not INT32", e.kind));
        }
        let bytes = e
            .count
            .checked_mul(4)
            .and_then(|len| self.data.get(e.offset..e.offset.checked_add(len)?))
            .ok_or_else(|| {
                format!(
                    "tag {tag}: {} integers at offset {} run off the data",
                    e.count, e.offset
                )
            })?;
        Ok(bytes
            .chunks_exact(4)
            .map(|b| u32::from_be_bytes([b[0], b[1], b[2], b[3]]))
            .collect())
    }
}

/// Decodes one header blob. `Ok(None)` for the `gpg-pubkey` pseudo-packages rpm keeps
/// for imported signing keys: they are keys, not installed software.
pub fn parse(blob: &[u8]) -> Result<Option<OsPackage>, String> {
    let h = Header::parse(blob)?;
    let name = h
        .string(TAG_NAME)?
        .filter(|n| !n.is_empty())
        .ok_or("header has no NAME")?;
    if name == "gpg-pubkey" {
        return Ok(None);
    }
    let version = h
        .string(TAG_VERSION)?
        .ok_or_else(|| format!("{name}: header has no VERSION"))?;
    let release = h
        .string(TAG_RELEASE)?
        .ok_or_else(|| format!("{name}: header has no RELEASE"))?;
    let epoch = h.int32s(TAG_EPOCH)?.first().copied();
    let arch = h.string(TAG_ARCH)?.filter(|a| !a.is_empty());
    let licenses = h
        .string(TAG_LICENSE)?
        .filter(|l| !l.is_empty())
        .into_iter()
        .collect();
    let source = h.string(TAG_SOURCERPM)?.as_deref().and_then(source_of_srpm);
    let files = files(&h).map_err(|e| format!("{name}: {e}"))?;
    Ok(Some(OsPackage {
        kind: PackageKind::Rpm,
        version: format!("{version}-{release}"),
        name,
        epoch,
        arch,
        source,
        licenses,
        files,
    }))
}

/// `openssl-3.0.7-24.el9.src.rpm` → `openssl` at `3.0.7-24.el9`.
pub fn source_of_srpm(srpm: &str) -> Option<SourcePackage> {
    let stem = srpm
        .strip_suffix(".src.rpm")
        .or_else(|| srpm.strip_suffix(".nosrc.rpm"))?;
    let (rest, release) = stem.rsplit_once('-')?;
    let (name, version) = rest.rsplit_once('-')?;
    if name.is_empty() || version.is_empty() || release.is_empty() {
        return None;
    }
    Some(SourcePackage {
        name: name.to_string(),
        version: format!("{version}-{release}"),
    })
}

fn files(h: &Header) -> Result<Vec<String>, String> {
    let basenames = h.strings(TAG_BASENAMES)?;
    if basenames.is_empty() {
        // Headers from rpm < 4.0 list whole paths.
        return Ok(h
            .strings(TAG_OLDFILENAMES)?
            .iter()
            .filter_map(|p| normalize(p).ok())
            .collect());
    }
    let dirnames = h.strings(TAG_DIRNAMES)?;
    let dirindexes = h.int32s(TAG_DIRINDEXES)?;
    if dirindexes.len() != basenames.len() {
        return Err(format!(
            "{} basenames but {} dirindexes",
            basenames.len(),
            dirindexes.len()
        ));
    }
    let mut files = Vec::with_capacity(basenames.len());
    for (base, index) in basenames.iter().zip(dirindexes) {
        let dir = dirnames
            .get(index as usize)
            .ok_or_else(|| format!("dirindex {index} is past the {} dirnames", dirnames.len()))?;
        if let Ok(path) = normalize(&format!("{dir}{base}")) {
            files.push(path);
        }
    }
    Ok(files)
}

#[cfg(test)]
pub(crate) mod tests {
    use super::*;
    use proptest::prelude::*;

    /// Builds a header blob the way rpm lays one out (used by the database tests too).
    pub(crate) fn blob(fields: &[(u32, u32, Vec<u8>, u32)]) -> Vec<u8> {
        let mut index = Vec::new();
        let mut data = Vec::new();
        for (tag, kind, bytes, count) in fields {
            if *kind == TYPE_INT32 {
                while data.len() % 4 != 0 {
                    data.push(0);
                }
            }
            for v in [*tag, *kind, data.len() as u32, *count] {
                index.extend_from_slice(&v.to_be_bytes());
            }
            data.extend_from_slice(bytes);
        }
        let mut out = Vec::new();
        out.extend_from_slice(&(fields.len() as u32).to_be_bytes());
        out.extend_from_slice(&(data.len() as u32).to_be_bytes());
        out.extend_from_slice(&index);
        out.extend_from_slice(&data);
        out
    }

    fn s(text: &str) -> Vec<u8> {
        let mut v = text.as_bytes().to_vec();
        v.push(0);
        v
    }

    pub(crate) fn sample(name: &str) -> Vec<u8> {
        let mut basenames = s("ls");
        basenames.extend(s("README"));
        let mut dirnames = s("/usr/bin/");
        dirnames.extend(s("/usr/share/doc/x/"));
        let mut dirindexes = 0u32.to_be_bytes().to_vec();
        dirindexes.extend(1u32.to_be_bytes());
        blob(&[
            (TAG_NAME, TYPE_STRING, s(name), 1),
            (TAG_VERSION, TYPE_STRING, s("9.1"), 1),
            (TAG_RELEASE, TYPE_STRING, s("8.el9"), 1),
            (TAG_EPOCH, TYPE_INT32, 2u32.to_be_bytes().to_vec(), 1),
            (TAG_ARCH, TYPE_STRING, s("x86_64"), 1),
            (TAG_LICENSE, TYPE_STRING, s("GPLv3+"), 1),
            (
                TAG_SOURCERPM,
                TYPE_STRING,
                s("coreutils-9.1-8.el9.src.rpm"),
                1,
            ),
            (TAG_BASENAMES, TYPE_STRING_ARRAY, basenames, 2),
            (TAG_DIRNAMES, TYPE_STRING_ARRAY, dirnames, 2),
            (TAG_DIRINDEXES, TYPE_INT32, dirindexes, 2),
        ])
    }

    #[test]
    fn decodes_a_header() {
        let p = parse(&sample("coreutils")).unwrap().unwrap();
        assert_eq!(p.name, "coreutils");
        assert_eq!(p.version, "9.1-8.el9");
        assert_eq!(p.epoch, Some(2));
        assert_eq!(p.arch.as_deref(), Some("x86_64"));
        assert_eq!(p.licenses, ["GPLv3+"]);
        let src = p.source.unwrap();
        assert_eq!(
            (src.name.as_str(), src.version.as_str()),
            ("coreutils", "9.1-8.el9")
        );
        assert_eq!(p.files, ["/usr/bin/ls", "/usr/share/doc/x/README"]);
    }

    #[test]
    fn srpm_names() {
        let s = source_of_srpm("python3.11-3.11.5-1.el9_3.src.rpm").unwrap();
        assert_eq!(
            (s.name.as_str(), s.version.as_str()),
            ("python3.11", "3.11.5-1.el9_3")
        );
        assert!(source_of_srpm("nonsense").is_none());
        assert!(source_of_srpm("-.src.rpm").is_none());
    }

    #[test]
    fn lying_counts_and_offsets_are_errors() {
        let mut b = sample("x");
        // Entry count far beyond the blob.
        b[0..4].copy_from_slice(&0xfffu32.to_be_bytes());
        assert!(parse(&b).unwrap_err().contains("blob has"));
        // A string array that claims a billion strings.
        let huge = blob(&[
            (TAG_NAME, TYPE_STRING, s("x"), 1),
            (TAG_VERSION, TYPE_STRING, s("1"), 1),
            (TAG_RELEASE, TYPE_STRING, s("1"), 1),
            (TAG_BASENAMES, TYPE_STRING_ARRAY, s("a"), 1_000_000_000),
        ]);
        assert!(parse(&huge).unwrap_err().contains("claims"));
        // A dirindex past the dirnames.
        let bad_index = blob(&[
            (TAG_NAME, TYPE_STRING, s("x"), 1),
            (TAG_VERSION, TYPE_STRING, s("1"), 1),
            (TAG_RELEASE, TYPE_STRING, s("1"), 1),
            (TAG_BASENAMES, TYPE_STRING_ARRAY, s("a"), 1),
            (TAG_DIRNAMES, TYPE_STRING_ARRAY, s("/"), 1),
            (TAG_DIRINDEXES, TYPE_INT32, 7u32.to_be_bytes().to_vec(), 1),
        ]);
        assert!(parse(&bad_index).unwrap_err().contains("dirindex 7"));
        let unterminated = blob(&[(TAG_NAME, TYPE_STRING, b"abc".to_vec(), 1)]);
        assert!(parse(&unterminated).unwrap_err().contains("runs off"));
    }

    proptest! {
        #[test]
        fn never_panics(bytes in proptest::collection::vec(any::<u8>(), 0..1024)) {
            let _ = parse(&bytes);
        }

        #[test]
        fn mutated_headers_never_panic(at in 0usize..400, byte in any::<u8>()) {
            let mut b = sample("x");
            let at = at % b.len();
            b[at] = byte;
            let _ = parse(&b);
        }
    }
}
