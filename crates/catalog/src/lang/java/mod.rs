//! Java archives (`.jar .war .ear .par .jpi .hpi`): the Maven coordinates recorded inside.
//!
//! Each `pom.properties` in an archive is one package (`groupId:artifactId`, `version`):
//! at `META-INF/maven/<groupId>/<artifactId>/pom.properties`, or anywhere else in the
//! archive (shading and repackaging move them), so shaded and vendored copies are
//! reported as packages of their own with the containing archive as evidence. A
//! `META-INF/maven/**/pom.xml` without its `pom.properties` is read the same way
//! ([`pom`]). An archive that declares none of its own gets coordinates derived from its
//! manifest, file name and classes ([`identity`]), recorded with the evidence for each
//! coordinate, a confidence and the archive's SHA-1 (so a checksum index can name it
//! exactly: `crate::maven_index`).
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
//! reported rather than half-cataloged. A manifest or POM larger than 1 MiB is refused
//! the same way.

mod identity;
mod pom;

use std::io::{Cursor, Read};

use crowsnest_model::{Confidence, CoordinateEvidence, Identity, Package, PackageKind};
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
/// Largest pom.properties, pom.xml or MANIFEST.MF read.
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

/// The entries of one archive that say what it is.
#[derive(Default)]
struct Entries {
    pom_properties: Vec<usize>,
    pom_xml: Vec<usize>,
    manifest: Option<usize>,
    nested: Vec<usize>,
    classes: ClassPackages,
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

        let mut found = Entries::default();
        for index in 0..zip.len() {
            let Some(Ok(name)) = zip.name_for_index(index) else {
                continue;
            };
            if is_pom_file(&name, "pom.properties") {
                found.pom_properties.push(index);
            } else if is_pom_file(&name, "pom.xml") {
                found.pom_xml.push(index);
            } else if name == "META-INF/MANIFEST.MF" {
                found.manifest = Some(index);
            } else if is_archive_name(&name) {
                found.nested.push(index);
            } else {
                found.classes.add(&name);
            }
        }

        // Declared coordinates: every pom.properties, then every pom.xml whose directory
        // has none.
        let mut declared: Vec<Coordinates> = Vec::new();
        let mut property_dirs = Vec::new();
        for &index in &found.pom_properties {
            let (name, data) = self.inflate(&mut zip, index, SMALL_FILE_CAP, label)?;
            property_dirs.push(name.trim_end_matches("pom.properties").to_string());
            let props = parse_properties(&String::from_utf8_lossy(&data));
            let field = |key: &str| {
                props
                    .iter()
                    .find(|(k, _)| k == key)
                    .map(|(_, v)| v.clone())
                    .filter(|v| !v.is_empty())
            };
            match (field("groupId"), field("artifactId"), field("version")) {
                (Some(group), Some(artifact), Some(version)) => declared.push(Coordinates {
                    group,
                    artifact,
                    version,
                    identity: None,
                }),
                // Maven's own file at Maven's own place must be whole; a stray
                // pom.properties elsewhere may be anything.
                _ if is_maven_pom_file(&name, "pom.properties") => {
                    return Err(format!(
                        "{label}!/{name}: pom.properties lacks groupId, artifactId or version"
                    ));
                }
                _ => {}
            }
        }
        let mut partial_pom = None;
        for &index in &found.pom_xml {
            let (name, data) = self.inflate(&mut zip, index, SMALL_FILE_CAP, label)?;
            if property_dirs.contains(&name.trim_end_matches("pom.xml").to_string()) {
                continue;
            }
            let mut pom = pom::read(&String::from_utf8_lossy(&data))
                .map_err(|e| format!("{label}!/{name}: {e}"))?;
            // META-INF/maven/<groupId>/<artifactId>/pom.xml: the directories name them too.
            let mut dirs = name.rsplit('/').skip(1);
            let (artifact_dir, group_dir) = (dirs.next(), dirs.next());
            pom.artifact = pom.artifact.or(artifact_dir.map(Into::into));
            pom.group = pom.group.or(group_dir.map(Into::into));
            match (&pom.group, &pom.artifact, &pom.version) {
                (Some(group), Some(artifact), Some(version)) => declared.push(Coordinates {
                    group: group.clone(),
                    artifact: artifact.clone(),
                    version: version.clone(),
                    identity: Some(pom_identity(bytes)),
                }),
                _ => partial_pom = Some(pom),
            }
        }

        // The archive's own identity when it declares none: derived, with evidence. Next
        // to declared (shaded) packages that are not the archive's own, derived only when
        // the archive itself names its artifact, not from its file name alone.
        let (file_artifact, _) = identity::split_file_name(file_name);
        let owns_declaration = declared.iter().any(|c| c.artifact == file_artifact);
        if !owns_declaration {
            let manifest = match found.manifest {
                Some(index) => {
                    let (_, data) = self.inflate(&mut zip, index, SMALL_FILE_CAP, label)?;
                    parse_manifest(&String::from_utf8_lossy(&data))
                }
                None => Vec::new(),
            };
            let evidence = identity::Evidence {
                file_name,
                manifest: &manifest,
                pom_xml: partial_pom,
                class_package: found.classes.common(),
                sha1: Some(sha1_hex(bytes)),
            };
            let derived = identity::derive(&evidence).filter(|d| {
                declared.is_empty()
                    || d.identity
                        .evidence
                        .iter()
                        .any(|e| e.coordinate == "artifactId" && e.source != "file name")
            });
            if let Some(d) = derived {
                declared.push(Coordinates {
                    group: d.group.unwrap_or_default(),
                    artifact: d.artifact,
                    version: d.version,
                    identity: Some(d.identity),
                });
            }
        }
        for coordinates in declared {
            self.push(coordinates, label)?;
        }

        for index in found.nested {
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

    fn push(&mut self, c: Coordinates, label: &str) -> Result<(), String> {
        let name = if c.group.is_empty() {
            c.artifact.clone()
        } else {
            format!("{}:{}", c.group, c.artifact)
        };
        if self.packages.iter().any(|p| {
            p.name == name
                && p.version == c.version
                && p.evidence.first().map(String::as_str) == Some(label)
        }) {
            return Ok(());
        }
        let purl = super::purl(PackageKind::Maven, Some(&c.group), &c.artifact, &c.version)?;
        let mut package = super::package(
            PackageKind::Maven,
            name,
            c.version,
            purl,
            Vec::new(),
            label.to_string(),
        );
        package.identity = c.identity;
        self.packages.push(package);
        Ok(())
    }
}

/// One package's Maven coordinates (`group` empty when unknown) and, unless declared by
/// pom.properties, how they were established.
struct Coordinates {
    group: String,
    artifact: String,
    version: String,
    identity: Option<Identity>,
}

/// The identity of coordinates a POM states in full: Maven's own metadata, only without
/// its pom.properties.
fn pom_identity(archive: &[u8]) -> Identity {
    Identity {
        confidence: Confidence::High,
        evidence: ["groupId", "artifactId", "version"]
            .into_iter()
            .map(|coordinate| CoordinateEvidence {
                coordinate: coordinate.to_string(),
                source: "pom.xml".to_string(),
            })
            .collect(),
        sha1: Some(sha1_hex(archive)),
    }
}

fn sha1_hex(bytes: &[u8]) -> String {
    sha1_smol::Sha1::from(bytes).digest().to_string()
}

/// `pom.properties` (or `pom.xml`) of Maven's layout at any depth
/// (`…META-INF/maven/<groupId>/<artifactId>/pom.properties`), or a `pom.properties`
/// anywhere: shading and repackaging move them.
fn is_pom_file(name: &str, file: &str) -> bool {
    is_maven_pom_file(name, file)
        || (file == "pom.properties" && super::file_name(name) == "pom.properties")
}

/// `META-INF/maven/<groupId>/<artifactId>/<file>`, at the root or below a prefix.
fn is_maven_pom_file(name: &str, file: &str) -> bool {
    let Some(dir) = name.strip_suffix(file).and_then(|d| d.strip_suffix('/')) else {
        return false;
    };
    let mut parts = dir.rsplit('/');
    let (artifact, group) = (parts.next(), parts.next());
    let (maven, meta_inf) = (parts.next(), parts.next());
    maven == Some("maven")
        && meta_inf == Some("META-INF")
        && artifact.is_some_and(|a| !a.is_empty())
        && group.is_some_and(|g| !g.is_empty())
}

/// The longest package all of an archive's own classes share (`org.h2` for H2), from the
/// entry names; classes of a fat jar's application (`BOOT-INF/`, `WEB-INF/`) and of
/// `META-INF/` (multi-release copies) do not count. Kept as the shared prefix only, so it
/// costs no allocation per entry once it is short.
#[derive(Default)]
struct ClassPackages {
    prefix: Option<String>,
}

impl ClassPackages {
    fn add(&mut self, entry: &str) {
        let Some(dir) = entry
            .strip_suffix(".class")
            .and_then(|path| path.rsplit_once('/'))
            .map(|(dir, _)| dir)
        else {
            return;
        };
        if ["META-INF", "BOOT-INF", "WEB-INF"].iter().any(|p| {
            dir.strip_prefix(p)
                .is_some_and(|r| r.is_empty() || r.starts_with('/'))
        }) {
            return;
        }
        match &mut self.prefix {
            None => self.prefix = Some(dir.to_string()),
            Some(prefix) => {
                let common = prefix
                    .split('/')
                    .zip(dir.split('/'))
                    .take_while(|(a, b)| a == b)
                    .map(|(a, _)| a.len() + 1)
                    .sum::<usize>()
                    .saturating_sub(1);
                prefix.truncate(common);
            }
        }
    }

    /// The shared package, dotted, when it has at least two segments.
    fn common(&self) -> Option<String> {
        self.prefix
            .as_deref()
            .filter(|p| p.split('/').count() >= 2 && p.split('/').all(|s| !s.is_empty()))
            .map(|p| p.replace('/', "."))
    }
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

    /// Shaded copies keep their own pom.properties wherever the shading put them; each is
    /// a package of its own with the containing archive as evidence. The archive's own
    /// identity is derived beside them because its manifest names it.
    #[test]
    fn shaded_copies_are_packages_of_their_own() {
        let jar = archive(&[
            (
                "META-INF/MANIFEST.MF",
                b"Implementation-Title: spring-core\nImplementation-Version: 5.3.17\n",
            ),
            (
                "META-INF/maven/org.ow2.asm/asm/pom.properties",
                b"groupId=org.ow2.asm\nartifactId=asm\nversion=9.1\n",
            ),
            (
                "org/springframework/shaded/objenesis/pom.properties",
                b"groupId=org.objenesis\nartifactId=objenesis\nversion=3.2\n",
            ),
            (
                "org/springframework/misc/pom.properties",
                b"not=coordinates\n",
            ),
        ]);
        let pkgs = run("/app/spring-core-5.3.17.jar", &jar).unwrap();
        let got: Vec<_> = pkgs
            .iter()
            .map(|p| (p.name.as_str(), p.version.as_str(), p.identity.is_some()))
            .collect();
        assert_eq!(
            got,
            vec![
                ("org.ow2.asm:asm", "9.1", false),
                ("org.objenesis:objenesis", "3.2", false),
                ("org.springframework:spring-core", "5.3.17", true),
            ]
        );
        assert!(
            pkgs.iter()
                .all(|p| p.evidence == ["/app/spring-core-5.3.17.jar"])
        );
        // The archive's file name alone does not add an identity beside shaded packages.
        let pkgs = run("/app/renamed-1.0.jar", &jar).unwrap();
        assert_eq!(pkgs.len(), 2, "{pkgs:?}");
    }

    #[test]
    fn pom_xml_without_pom_properties() {
        let pom = b"<project><parent><groupId>org.example</groupId><version>4.2</version></parent><artifactId>widget</artifactId></project>";
        let jar = archive(&[("META-INF/maven/org.example/widget/pom.xml", pom)]);
        let pkgs = run("/app/w.jar", &jar).unwrap();
        assert_eq!(pkgs.len(), 1);
        assert_eq!(
            (pkgs[0].name.as_str(), pkgs[0].version.as_str()),
            ("org.example:widget", "4.2")
        );
        let identity = pkgs[0].identity.as_ref().unwrap();
        assert_eq!(identity.confidence, Confidence::High);
        assert_eq!(identity.sha1.as_deref(), Some(sha1_hex(&jar).as_str()));
        // A version only as a property: the file name supplies it, the POM the rest.
        let pom = b"<project><groupId>org.example</groupId><artifactId>widget</artifactId><version>${revision}</version></project>";
        let jar = archive(&[("META-INF/maven/org.example/widget/pom.xml", pom)]);
        let pkgs = run("/app/widget-4.3.jar", &jar).unwrap();
        assert_eq!(pkgs[0].purl, "pkg:maven/org.example/widget@4.3");
        assert_eq!(
            pkgs[0].identity.as_ref().unwrap().describe(),
            "groupId=pom.xml, artifactId=pom.xml, version=file name"
        );
    }

    /// A POM with an entity bomb in its DTD: the entities are never expanded, so the jar
    /// is read in time and memory linear in its size.
    #[test]
    fn hostile_pom_xml_bomb_is_inert() {
        let mut dtd = String::from("<!DOCTYPE p [<!ENTITY a \"aaaaaaaaaa\">");
        for i in 1..12 {
            let prev = if i == 1 {
                "a".to_string()
            } else {
                format!("a{}", i - 1)
            };
            dtd.push_str(&format!(
                "<!ENTITY a{i} \"{}\">",
                format!("&{prev};").repeat(10)
            ));
        }
        let pom = format!(
            "{dtd}]><project><groupId>&a11;</groupId><artifactId>bomb</artifactId><version>1</version></project>"
        );
        let jar = archive(&[("META-INF/maven/g/bomb/pom.xml", pom.as_bytes())]);
        let pkgs = run("/app/bomb.jar", &jar).unwrap();
        // The groupId refers to an entity: absent, so the directory name stands in.
        assert_eq!(pkgs[0].name, "g:bomb");
        let broken = archive(&[("META-INF/maven/g/bomb/pom.xml", b"<project><groupId>")]);
        let err = run("/app/bomb.jar", &broken).unwrap_err();
        assert!(
            err.starts_with("/app/bomb.jar!/META-INF/maven/g/bomb/pom.xml: "),
            "{err}"
        );
    }

    /// A 10 MiB manifest (a few KiB deflated) is refused before it is inflated: the
    /// archive is reported unreadable, nothing is invented, the walk goes on elsewhere.
    #[test]
    fn hostile_huge_manifest_is_refused() {
        let mut manifest = b"Manifest-Version: 1.0\nImplementation-Version: 1\nX: ".to_vec();
        manifest.resize(10 << 20, b'x');
        let jar = archive(&[("META-INF/MANIFEST.MF", &manifest)]);
        assert!(jar.len() < 64 << 10, "{} bytes", jar.len());
        let err = run("/app/huge-1.0.jar", &jar).unwrap_err();
        assert!(err.contains("more than the 1048576-byte limit"), "{err}");
    }

    /// A manifest claiming another artifact's coordinates does not rename the jar.
    #[test]
    fn hostile_manifest_claiming_other_coordinates() {
        let jar = archive(&[(
            "META-INF/MANIFEST.MF",
            b"Implementation-Title: spring-beans\nBundle-SymbolicName: org.springframework.beans\nImplementation-Version: 5.3.17\n",
        )]);
        let pkgs = run("/app/lib/mylib-1.0.jar", &jar).unwrap();
        assert_eq!(
            (pkgs[0].name.as_str(), pkgs[0].version.as_str()),
            ("mylib", "1.0")
        );
        assert_eq!(
            pkgs[0].identity.as_ref().unwrap().confidence,
            Confidence::Low
        );
    }

    #[test]
    fn class_packages_and_maven_paths() {
        let mut classes = ClassPackages::default();
        for entry in [
            "org/h2/Driver.class",
            "org/h2/engine/Session.class",
            "META-INF/versions/9/org/other/X.class",
            "BOOT-INF/classes/app/Main.class",
            "org/h2/util/Utils.class",
        ] {
            classes.add(entry);
        }
        assert_eq!(classes.common().as_deref(), Some("org.h2"));
        classes.add("com/other/Y.class");
        assert_eq!(classes.common(), None);
        assert!(is_maven_pom_file(
            "META-INF/maven/g/a/pom.properties",
            "pom.properties"
        ));
        assert!(is_maven_pom_file(
            "BOOT-INF/classes/META-INF/maven/g/a/pom.xml",
            "pom.xml"
        ));
        assert!(!is_maven_pom_file(
            "META-INF/maven/a/pom.properties",
            "pom.properties"
        ));
        assert!(!is_maven_pom_file("META-INF/maven//a/pom.xml", "pom.xml"));
        assert!(is_pom_file("shaded/pom.properties", "pom.properties"));
        assert!(!is_pom_file("shaded/pom.xml", "pom.xml"));
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
