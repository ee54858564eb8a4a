//! apk's database, `/lib/apk/db/installed`: one stanza per package, separated by blank
//! lines, each line a one-letter key, a colon and a value. `F:` names a directory
//! (relative to `/`) and the `R:` lines after it name the files in it.

use std::io::{BufReader, Read};

use crowsnest_model::{PackageKind, SourcePackage, path::normalize};

use crate::OsPackage;
use crate::read::{Line, ParseError, read_line};

const MAX_LINE: usize = 64 * 1024;
const MAX_PACKAGES: usize = 200_000;
/// Files recorded across the whole database.
const MAX_FILES: usize = 2_000_000;

#[derive(Default)]
struct Stanza {
    name: Option<String>,
    version: Option<String>,
    arch: Option<String>,
    origin: Option<String>,
    license: Option<String>,
    dir: String,
    files: Vec<String>,
    broken: Option<String>,
    first_line: usize,
}

/// Parses the installed database: the packages, and a problem line for each skipped stanza.
pub fn parse_installed(
    content: &mut dyn Read,
) -> Result<(Vec<OsPackage>, Vec<String>), ParseError> {
    let mut reader = BufReader::new(content);
    let mut line = Vec::new();
    let mut packages: Vec<OsPackage> = Vec::new();
    let mut problems = Vec::new();
    let mut stanza: Option<Stanza> = None;
    let mut line_no = 0usize;
    let mut file_count = 0usize;
    loop {
        let read = read_line(&mut reader, &mut line, MAX_LINE)?;
        line_no += 1;
        let blank = read == Line::Text && line.iter().all(|b| b.is_ascii_whitespace());
        if read == Line::Eof || blank {
            if let Some(done) = stanza.take() {
                match finish(done) {
                    Ok(package) => packages.push(package),
                    Err(problem) => problems.push(problem),
                }
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
        let text = String::from_utf8_lossy(&line);
        let mut chars = text.chars();
        let (Some(key), Some(':')) = (chars.next(), chars.next()) else {
            current.broken = Some(format!("line {line_no} is not a \"K:value\" line"));
            continue;
        };
        let value = chars.as_str().trim();
        match key {
            'P' => current.name = Some(value.to_string()),
            'V' => current.version = Some(value.to_string()),
            'A' => current.arch = Some(value.to_string()),
            'o' => current.origin = Some(value.to_string()),
            'L' => current.license = Some(value.to_string()),
            'F' => current.dir = value.to_string(),
            'R' => {
                let joined = if current.dir.is_empty() {
                    value.to_string()
                } else {
                    format!("{}/{value}", current.dir)
                };
                match normalize(&joined) {
                    Ok(path) => current.files.push(path),
                    Err(e) => current.broken = Some(format!("line {line_no}: bad file path: {e}")),
                }
                file_count += 1;
                if file_count > MAX_FILES {
                    return Err(ParseError::TooMany {
                        what: "files",
                        limit: MAX_FILES,
                    });
                }
            }
            _ => {}
        }
    }
    Ok((packages, problems))
}

fn finish(stanza: Stanza) -> Result<OsPackage, String> {
    let at = stanza.first_line;
    let who = stanza.name.clone().unwrap_or_else(|| "?".into());
    if let Some(why) = stanza.broken {
        return Err(format!(
            "stanza at line {at} (package {who}) skipped: {why}"
        ));
    }
    let (Some(name), Some(version)) = (stanza.name, stanza.version) else {
        return Err(format!(
            "stanza at line {at} (package {who}) skipped: no P: or V: line"
        ));
    };
    if name.is_empty() || version.is_empty() {
        return Err(format!("stanza at line {at} skipped: empty P: or V:"));
    }
    // An apk is built from the APKBUILD of its origin, at the same version.
    let source = SourcePackage {
        name: stanza
            .origin
            .filter(|o| !o.is_empty())
            .unwrap_or_else(|| name.clone()),
        version: version.clone(),
    };
    Ok(OsPackage {
        kind: PackageKind::Apk,
        name,
        version,
        epoch: None,
        arch: stanza.arch.filter(|a| !a.is_empty()),
        source: Some(source),
        licenses: stanza
            .license
            .filter(|l| !l.is_empty())
            .into_iter()
            .collect(),
        files: stanza.files,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    const INSTALLED: &str = "\
C:Q1abc=
P:musl
V:1.2.4_git20230717-r4
A:x86_64
L:MIT
o:musl
F:lib
R:ld-musl-x86_64.so.1
a:0:0:755
Z:Q1xyz=
R:libc.musl-x86_64.so.1

C:Q1def=
P:libcrypto3
V:3.1.4-r5
A:x86_64
L:Apache-2.0
o:openssl
F:usr
F:usr/lib
R:libcrypto.so.3
";

    #[test]
    fn packages_with_origin_and_files() {
        let (pkgs, problems) = parse_installed(&mut INSTALLED.as_bytes()).unwrap();
        assert!(problems.is_empty());
        assert_eq!(pkgs.len(), 2);
        assert_eq!(pkgs[0].name, "musl");
        assert_eq!(pkgs[0].version, "1.2.4_git20230717-r4");
        assert_eq!(
            pkgs[0].files,
            ["/lib/ld-musl-x86_64.so.1", "/lib/libc.musl-x86_64.so.1"]
        );
        assert_eq!(pkgs[0].licenses, ["MIT"]);
        let s = pkgs[1].source.as_ref().unwrap();
        assert_eq!(
            (s.name.as_str(), s.version.as_str()),
            ("openssl", "3.1.4-r5")
        );
        assert_eq!(pkgs[1].files, ["/usr/lib/libcrypto.so.3"]);
    }

    #[test]
    fn malformed_stanza_is_reported_rest_kept() {
        let text = format!("P:bad\nV:1\nnot a key line\n\nV:2\n\n{INSTALLED}");
        let (pkgs, problems) = parse_installed(&mut text.as_bytes()).unwrap();
        assert_eq!(pkgs.len(), 2);
        assert_eq!(problems.len(), 2, "{problems:?}");
        assert!(problems[0].contains("package bad"));
        let escape = "P:evil\nV:1\nF:..\nR:../../etc/shadow\n";
        let (pkgs, problems) = parse_installed(&mut escape.as_bytes()).unwrap();
        assert!(pkgs.is_empty());
        assert!(problems[0].contains("bad file path"), "{problems:?}");
    }

    proptest! {
        #[test]
        fn never_panics(bytes in proptest::collection::vec(any::<u8>(), 0..2048)) {
            let _ = parse_installed(&mut bytes.as_slice());
        }

        #[test]
        fn key_soup_never_panics(text in "([PVAoLFRxé]:[a-z./ -]{0,12}\n\n?){0,30}") {
            let _ = parse_installed(&mut text.as_bytes());
        }
    }
}
