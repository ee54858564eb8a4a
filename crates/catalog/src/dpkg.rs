//! dpkg's database: `/var/lib/dpkg/status` (and the one-file-per-package
//! `status.d/` of distroless images), plus the file lists that say which package owns
//! which file (`info/<pkg>.list`, or `status.d/<pkg>.md5sums` on distroless).
//!
//! The status file is deb822 stanzas separated by blank lines; a field may continue on
//! lines that start with a space or tab.

use std::io::{BufReader, Read};

use crowsnest_model::{PackageKind, SourcePackage, path::normalize};

use crate::OsPackage;
use crate::read::{Line, ParseError, read_line};

/// No legitimate status line (a Description line, a Depends list) comes near this.
const MAX_LINE: usize = 256 * 1024;
/// One stanza is a few kilobytes; a huge `Conffiles` list stays well below this.
const MAX_STANZA: usize = 4 * 1024 * 1024;
/// Far above the 10k or so packages of a large distribution install.
const MAX_PACKAGES: usize = 200_000;
/// Paths listed in one `.list` or `.md5sums` file (texlive packages own ~100k files).
const MAX_FILES: usize = 1_000_000;
const MAX_PATH: usize = 4096;

/// The fields of one stanza that the inventory needs.
#[derive(Default)]
struct Stanza {
    package: Option<String>,
    status: Option<String>,
    version: Option<String>,
    architecture: Option<String>,
    source: Option<String>,
    /// Bytes seen in the stanza so far (all fields, kept or not).
    size: usize,
    /// Why the stanza cannot be used, once known.
    broken: Option<String>,
    /// Line number where the stanza started (1-based), for problem reports.
    first_line: usize,
}

/// Which kind of dpkg database file is parsed: they differ in whether a stanza must say
/// that its package is installed.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum StatusFile {
    /// `/var/lib/dpkg/status`: dpkg keeps every package it knows of here, installed or
    /// not, each stanza with a `Status:` field.
    Status,
    /// A `status.d/` file of a distroless image: written only for installed packages, and
    /// without a `Status:` field.
    StatusD,
}

/// Parses a status file (or one `status.d/` file): the installed packages, and a problem
/// line for every stanza that had to be skipped.
pub fn parse_status(
    content: &mut dyn Read,
    kind: StatusFile,
) -> Result<(Vec<OsPackage>, Vec<String>), ParseError> {
    let mut reader = BufReader::new(content);
    let mut line = Vec::new();
    let mut packages = Vec::new();
    let mut problems = Vec::new();
    let mut stanza: Option<Stanza> = None;
    // Which field continuation lines belong to, if it is one we keep.
    let mut in_kept_field = false;
    let mut line_no = 0usize;
    loop {
        let read = read_line(&mut reader, &mut line, MAX_LINE)?;
        line_no += 1;
        let blank = read == Line::Text && line.iter().all(|b| b.is_ascii_whitespace());
        if read == Line::Eof || blank {
            in_kept_field = false;
            if let Some(done) = stanza.take() {
                finish(done, kind, &mut packages, &mut problems);
                if packages.len() > MAX_PACKAGES {
                    return Err(ParseError::TooMany {
                        what: "packages",
                        limit: MAX_PACKAGES,
                    });
                }
            }
            if read == Line::Eof {
                break;
            }
            continue;
        }
        let current = stanza.get_or_insert_with(|| Stanza {
            first_line: line_no,
            ..Stanza::default()
        });
        if current.broken.is_some() {
            continue;
        }
        if read == Line::TooLong {
            current.broken = Some(format!("line {line_no} is longer than {MAX_LINE} bytes"));
            continue;
        }
        current.size += line.len() + 1;
        if current.size > MAX_STANZA {
            current.broken = Some(format!("stanza is larger than {MAX_STANZA} bytes"));
            continue;
        }
        let text = String::from_utf8_lossy(&line);
        if text.starts_with([' ', '\t']) {
            if in_kept_field {
                // Fields we keep are single-line; a continuation makes the value unusable.
                current.broken = Some(format!("line {line_no}: unexpected continuation line"));
            }
            continue;
        }
        let Some((name, value)) = text.split_once(':') else {
            current.broken = Some(format!(
                "line {line_no}: no field name in {:?}",
                truncate(&text)
            ));
            continue;
        };
        let value = value.trim().to_string();
        let slot = match name.to_ascii_lowercase().as_str() {
            "package" => &mut current.package,
            "status" => &mut current.status,
            "version" => &mut current.version,
            "architecture" => &mut current.architecture,
            "source" => &mut current.source,
            _ => {
                in_kept_field = false;
                continue;
            }
        };
        in_kept_field = true;
        *slot = Some(value);
    }
    Ok((packages, problems))
}

fn truncate(text: &str) -> &str {
    match text.char_indices().nth(60) {
        Some((i, _)) => &text[..i],
        None => text,
    }
}

fn finish(
    stanza: Stanza,
    kind: StatusFile,
    packages: &mut Vec<OsPackage>,
    problems: &mut Vec<String>,
) {
    let at = stanza.first_line;
    let who = stanza.package.clone().unwrap_or_else(|| "?".into());
    if let Some(why) = stanza.broken {
        problems.push(format!(
            "stanza at line {at} (package {who}) skipped: {why}"
        ));
        return;
    }
    match (kind, stanza.status.as_deref()) {
        // Distroless writes a status.d file only for an installed package.
        (StatusFile::StatusD, None) => {}
        (StatusFile::Status, None) => {
            problems.push(format!(
                "stanza at line {at} (package {who}) skipped: no Status field"
            ));
            return;
        }
        (_, Some(status)) if !is_installed(status) => return,
        (_, Some(_)) => {}
    }
    let (Some(name), Some(version)) = (stanza.package, stanza.version) else {
        problems.push(format!(
            "stanza at line {at} (package {who}) skipped: no Package or Version field"
        ));
        return;
    };
    if name.is_empty() || version.is_empty() || name.contains(char::is_whitespace) {
        problems.push(format!(
            "stanza at line {at} skipped: empty or invalid Package or Version"
        ));
        return;
    }
    let source = match stanza
        .source
        .as_deref()
        .map(str::trim)
        .filter(|s| !s.is_empty())
    {
        None => SourcePackage {
            name: name.clone(),
            version: version.clone(),
        },
        Some(field) => match field.split_once('(') {
            Some((src, rest)) => SourcePackage {
                name: src.trim().to_string(),
                version: rest.trim_end().trim_end_matches(')').trim().to_string(),
            },
            None => SourcePackage {
                name: field.to_string(),
                version: version.clone(),
            },
        },
    };
    packages.push(OsPackage {
        kind: PackageKind::Deb,
        name,
        version,
        epoch: None,
        arch: stanza.architecture.filter(|a| !a.is_empty()),
        source: Some(source),
        licenses: Vec::new(),
        files: Vec::new(),
    });
}

/// Whether a `Status:` value ("want flag status", e.g. `install ok installed`) describes a
/// package whose files are on disk and configured. Only the third word, dpkg's package
/// state, matters: the first is what the administrator asked for (`hold ok installed` and
/// even `deinstall ok installed` are still installed). `installed` and the two trigger
/// states (configured, a trigger still to run) count; `not-installed`, `config-files`
/// (only conffiles left), `half-installed`, `unpacked` and `half-configured` do not, as
/// `dpkg -l` shows none of them as `ii`.
fn is_installed(status: &str) -> bool {
    matches!(
        status.split_whitespace().nth(2),
        Some("installed" | "triggers-awaited" | "triggers-pending")
    )
}

/// The package (and architecture, for multi-arch packages) an `info/` or `status.d/` file
/// belongs to: `/var/lib/dpkg/info/libc6:amd64.list` → (`libc6`, `amd64`).
pub fn package_of_info_file(path: &str, suffix: &str) -> (String, Option<String>) {
    let name = crowsnest_model::path::file_name(path);
    let stem = name.strip_suffix(suffix).unwrap_or(name);
    match stem.split_once(':') {
        Some((package, arch)) => (package.to_string(), Some(arch.to_string())),
        None => (stem.to_string(), None),
    }
}

/// An `info/<pkg>.list` file: one absolute path per line (directories included).
pub fn parse_list(content: &mut dyn Read) -> Result<Vec<String>, ParseError> {
    parse_paths(content, |line| Some(line))
}

/// A `<pkg>.md5sums` file: `<md5>  <path relative to />` per line.
pub fn parse_md5sums(content: &mut dyn Read) -> Result<Vec<String>, ParseError> {
    parse_paths(content, |line| line.split_once("  ").map(|(_, path)| path))
}

fn parse_paths(
    content: &mut dyn Read,
    path_of: impl Fn(&str) -> Option<&str>,
) -> Result<Vec<String>, ParseError> {
    let mut reader = BufReader::new(content);
    let mut line = Vec::new();
    let mut files = Vec::new();
    let mut line_no = 0usize;
    loop {
        line_no += 1;
        match read_line(&mut reader, &mut line, MAX_PATH)? {
            Line::Eof => break,
            Line::TooLong => {
                return Err(crate::read::malformed(format!(
                    "line {line_no} is longer than {MAX_PATH} bytes"
                )));
            }
            Line::Text => {}
        }
        let text = String::from_utf8_lossy(&line);
        let Some(raw) = path_of(&text) else {
            return Err(crate::read::malformed(format!(
                "line {line_no}: not a path entry"
            )));
        };
        // "/." heads every .list file: the root directory, owned by everyone.
        if let Ok(path) = normalize(raw)
            && path != "/"
        {
            files.push(path);
        }
        if files.len() > MAX_FILES {
            return Err(ParseError::TooMany {
                what: "files",
                limit: MAX_FILES,
            });
        }
    }
    Ok(files)
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    const STATUS: &str = "\
Package: libssl3
Status: install ok installed
Priority: optional
Architecture: amd64
Multi-Arch: same
Source: openssl (3.0.11-1~deb12u2)
Version: 3.0.11-1~deb12u2+b1
Description: Secure Sockets Layer toolkit - shared libraries
 This package is part of the OpenSSL project's implementation.
 .
 More text.

Package: bash
Status: install ok installed
Architecture: amd64
Version: 5.2.15-2+b2

Package: gone
Status: deinstall ok config-files
Architecture: amd64
Version: 1.0

Package: mawk
Status: hold ok installed
Architecture: amd64
Source: mawk
Version: 1.3.4.20200120-3.1
";

    fn status(text: &str) -> (Vec<OsPackage>, Vec<String>) {
        parse_status(&mut text.as_bytes(), StatusFile::Status).unwrap()
    }

    #[test]
    fn only_installed_states_count_and_the_status_file_needs_a_status() {
        let text = "\
Package: ok-installed
Status: install ok installed
Version: 1

Package: removed-but-kept
Status: deinstall ok installed
Version: 1

Package: trigger-due
Status: install ok triggers-pending
Version: 1

Package: half
Status: install reinstreq half-installed
Version: 1

Package: unpacked
Status: install ok unpacked
Version: 1

Package: conffiles
Status: deinstall ok config-files
Version: 1

Package: never
Status: purge ok not-installed
Version: 1

Package: no-status
Version: 1
";
        let names = |pkgs: &[OsPackage]| pkgs.iter().map(|p| p.name.clone()).collect::<Vec<_>>();
        let (pkgs, problems) = status(text);
        assert_eq!(
            names(&pkgs),
            ["ok-installed", "removed-but-kept", "trigger-due"]
        );
        assert_eq!(problems.len(), 1, "{problems:?}");
        assert!(problems[0].contains("no-status") && problems[0].contains("no Status field"));

        // The same stanza without a Status field is a package in a distroless status.d file.
        let (pkgs, problems) = parse_status(
            &mut "Package: tzdata\nVersion: 2024a-0+deb12u1\n".as_bytes(),
            StatusFile::StatusD,
        )
        .unwrap();
        assert!(problems.is_empty());
        assert_eq!(names(&pkgs), ["tzdata"]);
    }

    #[test]
    fn installed_packages_with_source() {
        let (pkgs, problems) = status(STATUS);
        assert!(problems.is_empty(), "{problems:?}");
        let got: Vec<_> = pkgs
            .iter()
            .map(|p| {
                let s = p.source.as_ref().unwrap();
                (
                    p.name.as_str(),
                    p.version.as_str(),
                    p.arch.as_deref(),
                    s.name.as_str(),
                    s.version.as_str(),
                )
            })
            .collect();
        assert_eq!(
            got,
            vec![
                (
                    "libssl3",
                    "3.0.11-1~deb12u2+b1",
                    Some("amd64"),
                    "openssl",
                    "3.0.11-1~deb12u2"
                ),
                ("bash", "5.2.15-2+b2", Some("amd64"), "bash", "5.2.15-2+b2"),
                (
                    "mawk",
                    "1.3.4.20200120-3.1",
                    Some("amd64"),
                    "mawk",
                    "1.3.4.20200120-3.1"
                ),
            ]
        );
    }

    #[test]
    fn malformed_stanza_is_skipped_and_reported() {
        let text = "Package: good\nStatus: install ok installed\nVersion: 1\n\n\
                    Package: bad\nthis line has no colon\nVersion: 2\nStatus: install ok installed\n\n\
                    Status: install ok installed\nVersion: 3\n\n\
                    Package: after\nStatus: install ok installed\nVersion: 4\n";
        let (pkgs, problems) = status(text);
        let names: Vec<_> = pkgs.iter().map(|p| p.name.as_str()).collect();
        assert_eq!(names, ["good", "after"]);
        assert_eq!(problems.len(), 2, "{problems:?}");
        assert!(problems[0].contains("package bad") && problems[0].contains("no field name"));
        assert!(problems[1].contains("no Package or Version"));
    }

    #[test]
    fn huge_field_skips_only_its_stanza() {
        let mut text =
            String::from("Package: huge\nStatus: install ok installed\nVersion: 1\nDescription: ");
        text.push_str(&"x".repeat(MAX_LINE + 10));
        text.push_str("\n\nPackage: fine\nStatus: install ok installed\nVersion: 2\n");
        let (pkgs, problems) = status(&text);
        assert_eq!(pkgs.len(), 1);
        assert_eq!(pkgs[0].name, "fine");
        assert!(problems[0].contains("longer than"), "{problems:?}");
    }

    #[test]
    fn huge_stanza_of_many_lines_is_bounded() {
        let mut text = String::from(
            "Package: many\nStatus: install ok installed\nVersion: 1\nDescription: x\n",
        );
        let filler = format!(" {}\n", "y".repeat(1000));
        for _ in 0..(MAX_STANZA / 1000 + 10) {
            text.push_str(&filler);
        }
        let (pkgs, problems) = status(&text);
        assert!(pkgs.is_empty());
        assert!(problems[0].contains("larger than"), "{problems:?}");
    }

    #[test]
    fn file_lists() {
        let list = "/.\n/usr\n/usr/bin/bash\n/bin/bash\n";
        assert_eq!(
            parse_list(&mut list.as_bytes()).unwrap(),
            ["/usr", "/usr/bin/bash", "/bin/bash"]
        );
        let sums =
            "0123abcd  usr/lib/x86_64-linux-gnu/libc.so.6\nfeed  usr/share/doc/libc6/copyright\n";
        assert_eq!(
            parse_md5sums(&mut sums.as_bytes()).unwrap(),
            [
                "/usr/lib/x86_64-linux-gnu/libc.so.6",
                "/usr/share/doc/libc6/copyright"
            ]
        );
        assert!(parse_md5sums(&mut "garbage\n".as_bytes()).is_err());
        assert_eq!(
            package_of_info_file("/var/lib/dpkg/info/libc6:amd64.list", ".list"),
            ("libc6".to_string(), Some("amd64".to_string()))
        );
        assert_eq!(
            package_of_info_file("/var/lib/dpkg/status.d/tzdata.md5sums", ".md5sums"),
            ("tzdata".to_string(), None)
        );
    }

    proptest! {
        #[test]
        fn status_never_panics(bytes in proptest::collection::vec(any::<u8>(), 0..2048)) {
            let _ = parse_status(&mut bytes.as_slice(), StatusFile::Status);
        }

        #[test]
        fn status_of_field_soup_never_panics(text in "((Package|Status|Version|Source|X): ?[a-z0-9 ()~:.+-]{0,20}\n( [a-z]{0,5}\n)?\n?){0,20}") {
            let _ = parse_status(&mut text.as_bytes(), StatusFile::StatusD);
        }

        #[test]
        fn lists_never_panic(bytes in proptest::collection::vec(any::<u8>(), 0..1024)) {
            let _ = parse_list(&mut bytes.as_slice());
            let _ = parse_md5sums(&mut bytes.as_slice());
        }
    }
}
