//! A local checksum index of Maven Central: names Java archives exactly by their SHA-1
//! where the archive itself does not declare its coordinates.
//!
//! The Java cataloger records the SHA-1 of every archive whose coordinates it had to
//! infer (`Identity::sha1`). When an index is configured (`--maven-index FILE`, or
//! `maven_index` in the service configuration), [`apply`] looks those checksums up and
//! replaces the inferred coordinates with the indexed ones, at confidence `checksum`.
//! Nothing is fetched at scan time; without an index the SBOM says the identity is
//! inferred (`crowsnest:identity` = `inferred`). This is the one place the catalog crate
//! reads a file itself: after cataloging, never from inside a layer walk.
//!
//! # Format
//!
//! UTF-8 text, one artifact per line: the archive's SHA-1 as 40 hex digits, whitespace,
//! then `groupId:artifactId:version`. Blank lines and lines starting with `#` are
//! ignored. Lines need no order. The file is streamed once per scan and only the
//! checksums the image needs are kept, so an index of all of Maven Central (tens of
//! millions of lines) costs a read, not memory; the scan stops reading once every
//! wanted checksum was found. Example (the real spring-beans 5.3.17 jar):
//!
//! ```text
//! # sha1 groupId:artifactId:version
//! 3d9c415cb47c96a81b1267665f513e4676af53b4 org.springframework:spring-beans:5.3.17
//! ```

use std::collections::HashMap;
use std::io::{BufRead, BufReader, Read};
use std::path::Path;

use crowsnest_model::{Confidence, CoordinateEvidence, Identity, Package, PackageKind};

/// Longest index line accepted (a hostile file must not make one line unbounded).
const MAX_LINE: u64 = 4096;

/// Coordinates the index gives one archive.
#[derive(Clone, Debug, PartialEq, Eq)]
struct Coordinates {
    group: String,
    artifact: String,
    version: String,
}

/// Looks up, in the index file at `path`, every Maven package whose coordinates were
/// inferred and whose SHA-1 is known, and names each exactly. Returns how many packages
/// the index named. An unreadable or malformed index is an error naming the file and line.
pub fn apply(path: &Path, packages: &mut [Package]) -> Result<usize, String> {
    let file = std::fs::File::open(path)
        .map_err(|e| format!("Maven checksum index {}: {e}", path.display()))?;
    apply_from(file, &path.display().to_string(), packages)
}

fn apply_from(index: impl Read, name: &str, packages: &mut [Package]) -> Result<usize, String> {
    let mut wanted: HashMap<String, Option<Coordinates>> = packages
        .iter()
        .filter_map(sha1_to_look_up)
        .map(|sha1| (sha1.to_string(), None))
        .collect();
    if wanted.is_empty() {
        return Ok(0);
    }
    let mut missing = wanted.len();
    let mut reader = BufReader::new(index);
    let mut line = Vec::new();
    let mut number = 0u64;
    while missing > 0 {
        line.clear();
        number += 1;
        let read = (&mut reader)
            .take(MAX_LINE + 1)
            .read_until(b'\n', &mut line)
            .map_err(|e| format!("Maven checksum index {name}: {e}"))?;
        if read == 0 {
            break;
        }
        if line.len() as u64 > MAX_LINE {
            return Err(format!(
                "Maven checksum index {name}: line {number} is longer than {MAX_LINE} bytes"
            ));
        }
        let text = std::str::from_utf8(&line)
            .map_err(|_| format!("Maven checksum index {name}: line {number} is not UTF-8"))?
            .trim();
        if text.is_empty() || text.starts_with('#') {
            continue;
        }
        let (sha1, coordinates) = parse_line(text)
            .map_err(|e| format!("Maven checksum index {name}: line {number}: {e}"))?;
        if let Some(slot) = wanted.get_mut(&sha1)
            && slot.is_none()
        {
            *slot = Some(coordinates);
            missing -= 1;
        }
    }
    let mut named = 0;
    for package in packages.iter_mut() {
        let Some(sha1) = sha1_to_look_up(package).map(str::to_string) else {
            continue;
        };
        if let Some(Some(c)) = wanted.get(&sha1) {
            name_exactly(package, c, sha1)?;
            named += 1;
        }
    }
    Ok(named)
}

fn sha1_to_look_up(package: &Package) -> Option<&str> {
    let identity = package.identity.as_ref()?;
    (package.kind == PackageKind::Maven && identity.is_inferred())
        .then_some(identity.sha1.as_deref())
        .flatten()
}

fn parse_line(text: &str) -> Result<(String, Coordinates), String> {
    let (sha1, rest) = text
        .split_once(|c: char| c.is_ascii_whitespace())
        .ok_or("expected `<sha1> <groupId>:<artifactId>:<version>`")?;
    if sha1.len() != 40 || !sha1.bytes().all(|b| b.is_ascii_hexdigit()) {
        return Err(format!("{sha1:?} is not a SHA-1 (40 hex digits)"));
    }
    let mut parts = rest.trim().split(':');
    let (Some(group), Some(artifact), Some(version), None) =
        (parts.next(), parts.next(), parts.next(), parts.next())
    else {
        return Err(format!("{rest:?} is not groupId:artifactId:version"));
    };
    if [group, artifact, version].iter().any(|p| p.is_empty()) {
        return Err(format!("{rest:?} has an empty coordinate"));
    }
    Ok((
        sha1.to_ascii_lowercase(),
        Coordinates {
            group: group.to_string(),
            artifact: artifact.to_string(),
            version: version.to_string(),
        },
    ))
}

fn name_exactly(package: &mut Package, c: &Coordinates, sha1: String) -> Result<(), String> {
    package.purl = crate::lang::purl(PackageKind::Maven, Some(&c.group), &c.artifact, &c.version)?;
    package.name = format!("{}:{}", c.group, c.artifact);
    package.version = c.version.clone();
    package.identity = Some(Identity {
        confidence: Confidence::Checksum,
        evidence: ["groupId", "artifactId", "version"]
            .into_iter()
            .map(|coordinate| CoordinateEvidence {
                coordinate: coordinate.to_string(),
                source: "checksum index".to_string(),
            })
            .collect(),
        sha1: Some(sha1),
    });
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn inferred(name: &str, version: &str, sha1: &str) -> Package {
        let mut p = crate::lang::package(
            PackageKind::Maven,
            name.into(),
            version.into(),
            format!("pkg:maven/{name}@{version}"),
            vec![],
            "/app/lib/x.jar".into(),
        );
        p.identity = Some(Identity {
            confidence: Confidence::Low,
            evidence: vec![],
            sha1: Some(sha1.into()),
        });
        p
    }

    const BEANS: &str = "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa";

    #[test]
    fn inferred_coordinates_are_replaced_by_the_indexed_ones() {
        let mut packages = vec![
            inferred("spring-beans", "5.3.17", BEANS),
            inferred("other", "1", &"b".repeat(40)),
        ];
        let mut declared = inferred("g:declared", "1", BEANS);
        declared.identity = None;
        packages.push(declared.clone());
        let index = format!(
            "# comment\n\n{} org.example:other:9\n{} org.springframework:spring-beans:5.3.17\n",
            "c".repeat(40),
            BEANS.to_uppercase()
        );
        let named = apply_from(index.as_bytes(), "idx", &mut packages).unwrap();
        assert_eq!(named, 1);
        assert_eq!(packages[0].name, "org.springframework:spring-beans");
        assert_eq!(
            packages[0].purl,
            "pkg:maven/org.springframework/spring-beans@5.3.17"
        );
        let identity = packages[0].identity.as_ref().unwrap();
        assert_eq!(identity.confidence, Confidence::Checksum);
        assert!(!identity.is_inferred());
        assert_eq!(packages[1].name, "other", "not in the index: unchanged");
        assert_eq!(
            packages[2], declared,
            "declared packages are never looked up"
        );
    }

    #[test]
    fn hostile_index_lines_are_errors_naming_the_line() {
        let mut packages = vec![inferred("a", "1", BEANS)];
        for (index, want) in [
            ("zz a:b:c\n", "line 1: \"zz\" is not a SHA-1"),
            (
                &format!("{BEANS} a:b\n"),
                "is not groupId:artifactId:version",
            ),
            (
                &format!("\n{BEANS} a::c\n"),
                "line 2: \"a::c\" has an empty",
            ),
            (&format!("{BEANS}\n"), "expected"),
        ] {
            let err = apply_from(index.as_bytes(), "idx", &mut packages).unwrap_err();
            assert!(err.contains(want), "{index:?}: {err}");
        }
        let long = "#".repeat(10_000);
        let err = apply_from(long.as_bytes(), "idx", &mut packages).unwrap_err();
        assert!(err.contains("longer than 4096"), "{err}");
        let err = apply(Path::new("/nonexistent/index"), &mut packages).unwrap_err();
        assert!(
            err.starts_with("Maven checksum index /nonexistent/index"),
            "{err}"
        );
    }

    /// Reading stops once every wanted checksum was found: a broken tail after the
    /// matches is never read.
    #[test]
    fn stops_reading_when_everything_was_found() {
        let mut packages = vec![inferred("a", "1", BEANS)];
        let index = format!("{BEANS} g:a:2\nnot an index line at all\n");
        assert_eq!(
            apply_from(index.as_bytes(), "idx", &mut packages).unwrap(),
            1
        );
        assert_eq!(packages[0].version, "2");
    }
}
