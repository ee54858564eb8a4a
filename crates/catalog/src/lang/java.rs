//! Java archives (`.jar .war .ear .par .jpi .hpi`): the Maven coordinates recorded inside.
//!
//! Each `META-INF/maven/<groupId>/<artifactId>/pom.properties` in an archive is one
//! package (`groupId:artifactId`, `version`); shaded jars carry several. An archive with
//! none falls back to its `META-INF/MANIFEST.MF` and file name (see [`from_manifest`]).
//! Archives inside archives (`BOOT-INF/lib/*.jar`, `WEB-INF/lib/*.jar`, `lib/*.jar`, any
//! entry with a Java archive extension) are read the same way, to [`MAX_DEPTH`] levels;
//! their packages' evidence is `outer.jar!/BOOT-INF/lib/inner.jar`.
//!
//! Zip archives are hostile input and a classic bomb carrier, so: the archive is read
//! into memory only up to [`ARCHIVE_CAP`]; the central directory's entry count is checked
//! against [`MAX_ENTRIES`] before the zip reader allocates for it; only the few entries
//! of interest are inflated; each is read only up to its declared size (a larger actual
//! size is an error) and every inflated byte of the whole archive tree counts against
//! [`INFLATE_BUDGET`]. Hitting any limit makes the whole file an error, so a bomb is
//! reported rather than half-cataloged.

use std::io::{Cursor, Read};

use crowsnest_model::{Package, PackageKind};
use zip::ZipArchive;

/// Largest archive file read into memory.
pub const ARCHIVE_CAP: u64 = 256 << 20;
/// Largest nested archive inflated into memory.
pub const NESTED_CAP: u64 = 128 << 20;
/// Inflated bytes allowed for one top-level archive and everything nested in it.
pub const INFLATE_BUDGET: u64 = 512 << 20;
/// Entries allowed in one archive's central directory (large Spring Boot jars have tens
/// of thousands).
pub const MAX_ENTRIES: u64 = 200_000;
/// Archive nesting allowed below the top-level file (a war in an ear holding jars is 2).
pub const MAX_DEPTH: usize = 3;
/// Largest pom.properties or MANIFEST.MF read.
const SMALL_FILE_CAP: u64 = 1 << 20;

/// The bounds one walk obeys; [`Limits::DEFAULT`] in production, smaller in tests so
/// each bound can be hit with small archives.
#[derive(Clone, Copy, Debug)]
struct Limits {
    nested_cap: u64,
    inflate_budget: u64,
    max_entries: u64,
    max_depth: usize,
}

impl Limits {
    const DEFAULT: Limits = Limits {
        nested_cap: NESTED_CAP,
        inflate_budget: INFLATE_BUDGET,
        max_entries: MAX_ENTRIES,
        max_depth: MAX_DEPTH,
    };
}

const ARCHIVE_EXTENSIONS: [&str; 6] = ["jar", "war", "ear", "par", "jpi", "hpi"];

pub(crate) fn wants(path: &str) -> bool {
    is_archive_name(path)
}

fn is_archive_name(name: &str) -> bool {
    match name.rsplit_once('.') {
        Some((stem, ext)) => {
            !stem.is_empty()
                && !stem.ends_with('/')
                && ARCHIVE_EXTENSIONS
                    .iter()
                    .any(|known| ext.eq_ignore_ascii_case(known))
        }
        None => false,
    }
}

pub(crate) fn analyze(
    path: &str,
    size: u64,
    content: &mut dyn Read,
) -> Result<Vec<Package>, String> {
    if size > ARCHIVE_CAP {
        return Err(format!(
            "archive of {size} bytes is larger than the {ARCHIVE_CAP}-byte limit"
        ));
    }
    let bytes = super::read_capped(content, ARCHIVE_CAP, "archive")?;
    walk(&bytes, path, Limits::DEFAULT)
}

fn walk(bytes: &[u8], path: &str, limits: Limits) -> Result<Vec<Package>, String> {
    let mut walk = Walk {
        limits,
        inflate_left: limits.inflate_budget,
        packages: Vec::new(),
    };
    walk.archive(bytes, path, super::file_name(path), 0)?;
    Ok(walk.packages)
}

/// State shared by one top-level archive and every archive nested in it.
struct Walk {
    limits: Limits,
    inflate_left: u64,
    packages: Vec<Package>,
}

impl Walk {
    /// Catalogs the archive `bytes`, whose evidence path is `label` and whose own file
    /// name is `file_name`, nested `depth` levels below the file in the image.
    fn archive(
        &mut self,
        bytes: &[u8],
        label: &str,
        file_name: &str,
        depth: usize,
    ) -> Result<(), String> {
        let entries = central_directory_entries(bytes).map_err(|e| format!("{label}: {e}"))?;
        if entries > self.limits.max_entries {
            let max = self.limits.max_entries;
            return Err(format!(
                "{label}: {entries} zip entries, more than the limit of {max}"
            ));
        }
        let mut zip = ZipArchive::new(Cursor::new(bytes))
            .map_err(|e| format!("{label}: not a readable zip archive: {e}"))?;

        let mut poms = Vec::new();
        let mut manifest = None;
        let mut nested = Vec::new();
        for index in 0..zip.len() {
            let Some(Ok(name)) = zip.name_for_index(index) else {
                continue;
            };
            if is_pom_properties(&name) {
                poms.push(index);
            } else if name == "META-INF/MANIFEST.MF" {
                manifest = Some(index);
            } else if is_archive_name(&name) {
                nested.push(index);
            }
        }

        let before = self.packages.len();
        for index in poms {
            let (name, data) = self.inflate(&mut zip, index, SMALL_FILE_CAP, label)?;
            let props = parse_properties(&String::from_utf8_lossy(&data));
            let field = |key: &str| {
                props
                    .iter()
                    .find(|(k, _)| k == key)
                    .map(|(_, v)| v.as_str())
                    .filter(|v| !v.is_empty())
            };
            let (Some(group), Some(artifact), Some(version)) =
                (field("groupId"), field("artifactId"), field("version"))
            else {
                return Err(format!(
                    "{label}!/{name}: pom.properties lacks groupId, artifactId or version"
                ));
            };
            self.push(group, artifact, version, label)?;
        }
        if self.packages.len() == before {
            let fields = match manifest {
                Some(index) => {
                    let (_, data) = self.inflate(&mut zip, index, SMALL_FILE_CAP, label)?;
                    parse_manifest(&String::from_utf8_lossy(&data))
                }
                None => Vec::new(),
            };
            if let Some((group, artifact, version)) = from_manifest(&fields, file_name) {
                self.push(group.as_deref().unwrap_or(""), &artifact, &version, label)?;
            }
        }

        for index in nested {
            if depth + 1 > self.limits.max_depth {
                let max = self.limits.max_depth;
                return Err(format!(
                    "{label}: archives nest more than {max} levels deep"
                ));
            }
            let (name, data) = self.inflate(&mut zip, index, self.limits.nested_cap, label)?;
            let inner_label = format!("{label}!/{name}");
            let inner_name = name.rsplit('/').next().unwrap_or(&name);
            self.archive(&data, &inner_label, inner_name, depth + 1)?;
        }
        Ok(())
    }

    /// Inflates one entry, refusing entries that claim more than `cap` bytes, that claim
    /// more than the remaining budget, or that inflate to more than they claim.
    fn inflate(
        &mut self,
        zip: &mut ZipArchive<Cursor<&[u8]>>,
        index: usize,
        cap: u64,
        label: &str,
    ) -> Result<(String, Vec<u8>), String> {
        let mut entry = zip
            .by_index(index)
            .map_err(|e| format!("{label}: zip entry #{index} unreadable: {e}"))?;
        let name = entry
            .name()
            .map(|n| n.into_owned())
            .unwrap_or_else(|_| format!("#{index}"));
        let declared = entry.size();
        if declared > cap {
            return Err(format!(
                "{label}!/{name}: declares {declared} bytes, more than the {cap}-byte limit"
            ));
        }
        if declared > self.inflate_left {
            return Err(format!(
                "{label}!/{name}: inflating it would exceed the {}-byte budget for the archive (zip bomb?)",
                self.limits.inflate_budget
            ));
        }
        // `declared <= cap`, so this allocation is bounded.
        let mut data = Vec::with_capacity(declared as usize);
        (&mut entry)
            .take(declared + 1)
            .read_to_end(&mut data)
            .map_err(|e| format!("{label}!/{name}: inflating failed: {e}"))?;
        if data.len() as u64 != declared {
            return Err(format!(
                "{label}!/{name}: inflates to {}{} bytes but declares {declared}",
                data.len(),
                if data.len() as u64 > declared {
                    " or more"
                } else {
                    ""
                }
            ));
        }
        self.inflate_left -= declared;
        Ok((name, data))
    }

    fn push(
        &mut self,
        group: &str,
        artifact: &str,
        version: &str,
        label: &str,
    ) -> Result<(), String> {
        let name = if group.is_empty() {
            artifact.to_string()
        } else {
            format!("{group}:{artifact}")
        };
        if self.packages.iter().any(|p| {
            p.name == name
                && p.version == version
                && p.evidence.first().map(String::as_str) == Some(label)
        }) {
            return Ok(());
        }
        let purl = super::purl(PackageKind::Maven, Some(group), artifact, version)?;
        self.packages.push(super::package(
            PackageKind::Maven,
            name,
            version.to_string(),
            purl,
            Vec::new(),
            label.to_string(),
        ));
        Ok(())
    }
}

fn is_pom_properties(name: &str) -> bool {
    // META-INF/maven/<groupId>/<artifactId>/pom.properties
    name.strip_prefix("META-INF/maven/")
        .and_then(|rest| rest.strip_suffix("/pom.properties"))
        .is_some_and(|ga| ga.split('/').count() == 2 && ga.split('/').all(|c| !c.is_empty()))
}

/// Number of entries the archive's end-of-central-directory record declares (the zip64
/// record when the classic one says to look there).
fn central_directory_entries(bytes: &[u8]) -> Result<u64, String> {
    const EOCD_SIGNATURE: &[u8] = b"PK\x05\x06";
    const EOCD_LEN: usize = 22;
    const ZIP64_LOCATOR_SIGNATURE: &[u8] = b"PK\x06\x07";
    const ZIP64_LOCATOR_LEN: usize = 20;
    const ZIP64_EOCD_SIGNATURE: &[u8] = b"PK\x06\x06";

    if bytes.len() < EOCD_LEN {
        return Err("too short to be a zip archive".to_string());
    }
    // The record sits at the end, followed by a comment of at most 65535 bytes.
    let lowest = bytes.len().saturating_sub(EOCD_LEN + 0xFFFF);
    let eocd = (lowest..=bytes.len() - EOCD_LEN)
        .rev()
        .find(|&at| &bytes[at..at + 4] == EOCD_SIGNATURE)
        .ok_or("no end-of-central-directory record: not a zip archive")?;
    let u16_at = |at: usize| u64::from(u16::from_le_bytes([bytes[at], bytes[at + 1]]));
    let total = u16_at(eocd + 10);
    if total != 0xFFFF {
        return Ok(total);
    }
    let locator = eocd
        .checked_sub(ZIP64_LOCATOR_LEN)
        .filter(|&at| &bytes[at..at + 4] == ZIP64_LOCATOR_SIGNATURE)
        .ok_or("zip64 archive without a zip64 locator")?;
    let mut offset = [0u8; 8];
    offset.copy_from_slice(&bytes[locator + 8..locator + 16]);
    let record = usize::try_from(u64::from_le_bytes(offset))
        .map_err(|_| "zip64 record offset out of range")?;
    let Some(fields) = bytes.get(record..record.saturating_add(40)) else {
        return Err("zip64 end record lies outside the archive".to_string());
    };
    if &fields[..4] != ZIP64_EOCD_SIGNATURE {
        return Err("zip64 locator does not point at a zip64 end record".to_string());
    }
    let mut total = [0u8; 8];
    total.copy_from_slice(&fields[32..40]);
    Ok(u64::from_le_bytes(total))
}

/// `key=value` / `key: value` lines of a Java properties file, `#` and `!` comments
/// skipped. Maven writes pom.properties without escapes or continuations.
fn parse_properties(text: &str) -> Vec<(String, String)> {
    text.lines()
        .map(str::trim)
        .filter(|l| !l.is_empty() && !l.starts_with(['#', '!']))
        .filter_map(|l| {
            let at = l.find(['=', ':'])?;
            Some((l[..at].trim().to_string(), l[at + 1..].trim().to_string()))
        })
        .collect()
}

/// The main section of a MANIFEST.MF: `Name: value` lines up to the first blank line,
/// with continuation lines (a leading space) joined on.
fn parse_manifest(text: &str) -> Vec<(String, String)> {
    let mut fields: Vec<(String, String)> = Vec::new();
    for line in text.lines() {
        let line = line.strip_suffix('\r').unwrap_or(line);
        if line.is_empty() {
            break;
        }
        if let Some(more) = line.strip_prefix(' ') {
            if let Some((_, value)) = fields.last_mut() {
                value.push_str(more);
            }
        } else if let Some((key, value)) = line.split_once(':') {
            fields.push((key.trim().to_string(), value.trim().to_string()));
        }
    }
    fields
}

/// Coordinates for an archive without pom.properties: `(groupId, artifactId, version)`.
///
/// The artifact is the file name without its extension and `-<version>` suffix; the
/// version is `Implementation-Version`, else `Bundle-Version`, else the file name's
/// suffix; the group is `Implementation-Vendor-Id`, else the `Bundle-SymbolicName`
/// prefix when the symbolic name ends with `.<artifact>`. No version, no package: a jar
/// without one cannot be matched against advisories and would only be noise.
pub fn from_manifest(
    fields: &[(String, String)],
    file_name: &str,
) -> Option<(Option<String>, String, String)> {
    let get = |key: &str| {
        fields
            .iter()
            .find(|(k, _)| k.eq_ignore_ascii_case(key))
            .map(|(_, v)| v.trim())
            .filter(|v| !v.is_empty())
    };
    let stem = file_name.rsplit_once('.').map_or(file_name, |(s, _)| s);
    // `log4j-core-2.14.1` splits at the first `-` followed by a digit.
    let split = stem
        .char_indices()
        .find(|&(i, c)| c == '-' && stem[i + 1..].starts_with(|d: char| d.is_ascii_digit()))
        .map(|(i, _)| i);
    let (artifact, name_version) = match split {
        Some(i) => (&stem[..i], Some(&stem[i + 1..])),
        None => (stem, None),
    };
    if artifact.is_empty() {
        return None;
    }
    let version = get("Implementation-Version")
        .or(get("Bundle-Version"))
        .or(name_version)?;
    let group = get("Implementation-Vendor-Id")
        .map(str::to_string)
        .or_else(|| {
            let symbolic = get("Bundle-SymbolicName")?.split(';').next()?.trim();
            symbolic
                .strip_suffix(artifact)
                .and_then(|g| g.strip_suffix('.'))
                .filter(|g| !g.is_empty())
                .map(str::to_string)
        });
    Some((group, artifact.to_string(), version.to_string()))
}

#[cfg(test)]
mod tests {
    use std::io::Write;

    use zip::write::SimpleFileOptions;

    use super::*;

    // Tests build archives with the zip writer so each hostile shape is exact; the
    // integration tests read real jars from Maven Central.
    fn archive(entries: &[(&str, &[u8])]) -> Vec<u8> {
        let mut zip = zip::ZipWriter::new(Cursor::new(Vec::new()));
        for (name, data) in entries {
            zip.start_file(*name, SimpleFileOptions::default()).unwrap();
            zip.write_all(data).unwrap();
        }
        zip.finish().unwrap().into_inner()
    }

    fn run(path: &str, bytes: &[u8]) -> Result<Vec<Package>, String> {
        analyze(path, bytes.len() as u64, &mut &bytes[..])
    }

    const LOG4J_POM: &[u8] = b"#Created by Apache Maven 3.6.3\nversion=2.14.1\ngroupId=org.apache.logging.log4j\nartifactId=log4j-core\n";

    #[test]
    fn pom_properties() {
        let jar = archive(&[
            (
                "META-INF/MANIFEST.MF",
                b"Manifest-Version: 1.0\r\nImplementation-Version: 9.9\r\n\r\n",
            ),
            (
                "META-INF/maven/org.apache.logging.log4j/log4j-core/pom.properties",
                LOG4J_POM,
            ),
            (
                "org/apache/logging/log4j/core/Logger.class",
                b"\xca\xfe\xba\xbe",
            ),
        ]);
        let pkgs = run("/app/lib/log4j-core-2.14.1.jar", &jar).unwrap();
        assert_eq!(pkgs.len(), 1);
        assert_eq!(pkgs[0].name, "org.apache.logging.log4j:log4j-core");
        assert_eq!(pkgs[0].version, "2.14.1");
        assert_eq!(
            pkgs[0].purl,
            "pkg:maven/org.apache.logging.log4j/log4j-core@2.14.1"
        );
        assert_eq!(pkgs[0].evidence, vec!["/app/lib/log4j-core-2.14.1.jar"]);
    }

    #[test]
    fn nested_jars_and_manifest_fallback() {
        let inner = archive(&[(
            "META-INF/maven/com.fasterxml.jackson.core/jackson-databind/pom.properties",
            b"groupId=com.fasterxml.jackson.core\nartifactId=jackson-databind\nversion=2.9.8\n",
        )]);
        let bare = archive(&[(
            "META-INF/MANIFEST.MF",
            b"Manifest-Version: 1.0\nBundle-SymbolicName: org.exam\n ple.tool\nBundle-Version: 3.1.0\n\nName: x\nImplementation-Version: 0\n",
        )]);
        let outer = archive(&[
            ("BOOT-INF/lib/jackson-databind-2.9.8.jar", &inner),
            ("BOOT-INF/lib/tool-3.1.0.jar", &bare),
            ("BOOT-INF/classes/app.properties", b"x=1"),
        ]);
        let pkgs = run("/app/app.jar", &outer).unwrap();
        let got: Vec<_> = pkgs
            .iter()
            .map(|p| (p.name.as_str(), p.version.as_str(), p.evidence[0].as_str()))
            .collect();
        assert_eq!(
            got,
            vec![
                (
                    "com.fasterxml.jackson.core:jackson-databind",
                    "2.9.8",
                    "/app/app.jar!/BOOT-INF/lib/jackson-databind-2.9.8.jar"
                ),
                (
                    "org.example:tool",
                    "3.1.0",
                    "/app/app.jar!/BOOT-INF/lib/tool-3.1.0.jar"
                ),
            ]
        );
    }

    #[test]
    fn manifest_fallback_rules() {
        let fields = |pairs: &[(&str, &str)]| {
            pairs
                .iter()
                .map(|(k, v)| (k.to_string(), v.to_string()))
                .collect::<Vec<_>>()
        };
        assert_eq!(
            from_manifest(&fields(&[]), "commons-lang-2.6.jar"),
            Some((None, "commons-lang".into(), "2.6".into()))
        );
        assert_eq!(from_manifest(&fields(&[]), "app.jar"), None);
        assert_eq!(
            from_manifest(
                &fields(&[
                    ("Implementation-Vendor-Id", "org.x"),
                    ("Implementation-Version", "1.2")
                ]),
                "lib.jar"
            ),
            Some((Some("org.x".into()), "lib".into(), "1.2".into()))
        );
    }

    #[test]
    fn wants_archives_only() {
        assert!(wants("/app/x.JAR"));
        assert!(wants("/var/jenkins_home/plugins/git.hpi"));
        assert!(!wants("/app/.jar"));
        assert!(!wants("/app/jar"));
        assert!(!wants("/app/x.jar.sha1"));
    }

    #[test]
    fn hostile_not_a_zip() {
        assert!(run("/a.jar", b"").unwrap_err().contains("too short"));
        assert!(
            run("/a.jar", &[0u8; 4096])
                .unwrap_err()
                .contains("not a zip")
        );
        let mut huge = std::io::repeat(0).take(ARCHIVE_CAP + 1);
        assert!(
            analyze("/a.jar", 1, &mut huge)
                .unwrap_err()
                .contains("limit")
        );
        assert!(
            analyze("/a.jar", ARCHIVE_CAP + 1, &mut &b""[..])
                .unwrap_err()
                .contains("limit")
        );
    }

    const SMALL: Limits = Limits {
        nested_cap: 1 << 20,
        inflate_budget: 3 << 20,
        max_entries: 50,
        max_depth: 2,
    };

    #[test]
    fn hostile_zip_bomb_exceeds_budget() {
        // Each nested jar stores 1000 KiB of zeros uncompressed, so it deflates to almost
        // nothing in the outer archive but inflates to ~1 MiB: four of them exceed 3 MiB.
        let stored =
            SimpleFileOptions::default().compression_method(zip::CompressionMethod::Stored);
        let mut inner = zip::ZipWriter::new(Cursor::new(Vec::new()));
        inner.start_file("zeros", stored).unwrap();
        inner.write_all(&vec![0u8; 1000 << 10]).unwrap();
        let inner = inner.finish().unwrap().into_inner();
        let names: Vec<String> = (0..4).map(|i| format!("lib/z{i}.jar")).collect();
        let bomb = archive(
            &names
                .iter()
                .map(|n| (n.as_str(), inner.as_slice()))
                .collect::<Vec<_>>(),
        );
        assert!(bomb.len() < 64 << 10, "outer is {} bytes", bomb.len());
        let err = walk(&bomb, "/bomb.jar", SMALL).unwrap_err();
        assert!(err.contains("budget"), "{err}");
        assert!(err.starts_with("/bomb.jar!/lib/z3.jar"), "{err}");
        // Under the default limits the same archive is fine: nothing is invented.
        assert_eq!(run("/bomb.jar", &bomb).unwrap(), vec![]);
    }

    #[test]
    fn hostile_entry_larger_than_cap_and_too_many_entries() {
        let big = archive(&[("lib/big.jar", &vec![1u8; 2 << 20])]);
        let err = walk(&big, "/a.jar", SMALL).unwrap_err();
        assert!(err.contains("more than the 1048576-byte limit"), "{err}");
        let names: Vec<String> = (0..51).map(|i| format!("f{i}")).collect();
        let many = archive(
            &names
                .iter()
                .map(|n| (n.as_str(), &b""[..]))
                .collect::<Vec<_>>(),
        );
        let err = walk(&many, "/a.jar", SMALL).unwrap_err();
        assert!(err.contains("51 zip entries"), "{err}");
    }

    #[test]
    fn hostile_size_lies() {
        // A pom.properties whose headers declare 8 bytes but whose data inflates to 64 KiB:
        // patch the uncompressed-size fields of the local and central headers.
        let pom = format!(
            "groupId=g\nartifactId=a\nversion=1\n#{}",
            "x".repeat(64 << 10)
        );
        let mut jar = archive(&[("META-INF/maven/g/a/pom.properties", pom.as_bytes())]);
        let real = (pom.len() as u32).to_le_bytes();
        let mut patched = 0;
        for at in 0..jar.len() - 4 {
            if jar[at..at + 4] == real {
                jar[at..at + 4].copy_from_slice(&8u32.to_le_bytes());
                patched += 1;
            }
        }
        assert_eq!(patched, 2, "local and central header sizes");
        // The zip reader or the walk's own check catches it, depending on where the
        // lie shows first; either way the entry is refused, not read on.
        let err = run("/a.jar", &jar).unwrap_err();
        assert!(
            err.contains("declares 8") || err.contains("declared uncompressed size"),
            "{err}"
        );
    }

    #[test]
    fn hostile_nesting_too_deep() {
        let mut jar = archive(&[(
            "META-INF/maven/g/a/pom.properties",
            b"groupId=g\nartifactId=a\nversion=1\n",
        )]);
        for _ in 0..3 {
            jar = archive(&[("lib/x.jar", &jar)]);
        }
        let err = walk(&jar, "/deep.jar", SMALL).unwrap_err();
        assert!(err.contains("nest more than 2 levels"), "{err}");
        assert_eq!(run("/deep.jar", &jar).unwrap()[0].name, "g:a");
    }

    #[test]
    fn hostile_corrupt_pom_properties() {
        let jar = archive(&[("META-INF/maven/g/a/pom.properties", b"\xff\xfe")]);
        assert!(run("/a.jar", &jar).unwrap_err().contains("lacks groupId"));
    }

    proptest::proptest! {
        #[test]
        fn never_panics(bytes in proptest::collection::vec(proptest::num::u8::ANY, 0..4096)) {
            let _ = walk(&bytes, "/a.jar", SMALL);
        }

        #[test]
        fn never_panics_on_damaged_jars(flips in proptest::collection::vec((0usize..4096, proptest::num::u8::ANY), 1..8)) {
            let inner = archive(&[("META-INF/maven/g/a/pom.properties", b"groupId=g\nartifactId=a\nversion=1\n")]);
            let mut jar = archive(&[("META-INF/MANIFEST.MF", b"Implementation-Version: 1\n"), ("lib/i.jar", &inner)]);
            for (at, byte) in flips {
                let at = at % jar.len();
                jar[at] = byte;
            }
            let _ = walk(&jar, "/a.jar", SMALL);
        }
    }
}
