//! OS detection from release files: os-release(5), /etc/debian_version,
//! /etc/alpine-release and /etc/redhat-release.

use std::io::Read;

use crowsnest_model::Distro;
use serde::{Deserialize, Serialize};

use crate::read::{ParseError, malformed, read_capped};

/// Release files are a few hundred bytes; anything past this is not one.
const RELEASE_FILE_LIMIT: u64 = 64 * 1024;

/// The release files Crowsnest reads, in the order the inventory trusts them.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum ReleaseFile {
    EtcOsRelease,
    UsrLibOsRelease,
    AlpineRelease,
    RedhatRelease,
    DebianVersion,
}

impl ReleaseFile {
    pub const ALL: [ReleaseFile; 5] = [
        ReleaseFile::EtcOsRelease,
        ReleaseFile::UsrLibOsRelease,
        ReleaseFile::AlpineRelease,
        ReleaseFile::RedhatRelease,
        ReleaseFile::DebianVersion,
    ];

    pub fn path(self) -> &'static str {
        match self {
            ReleaseFile::EtcOsRelease => "/etc/os-release",
            ReleaseFile::UsrLibOsRelease => "/usr/lib/os-release",
            ReleaseFile::AlpineRelease => "/etc/alpine-release",
            ReleaseFile::RedhatRelease => "/etc/redhat-release",
            ReleaseFile::DebianVersion => "/etc/debian_version",
        }
    }

    pub fn at(path: &str) -> Option<ReleaseFile> {
        ReleaseFile::ALL.into_iter().find(|f| f.path() == path)
    }
}

/// Parses a release file into the distro it names.
pub fn parse(file: ReleaseFile, content: &mut dyn Read) -> Result<Distro, ParseError> {
    let bytes = read_capped(content, RELEASE_FILE_LIMIT)?;
    let text = String::from_utf8_lossy(&bytes);
    match file {
        ReleaseFile::EtcOsRelease | ReleaseFile::UsrLibOsRelease => parse_os_release(&text),
        ReleaseFile::AlpineRelease => {
            let version = first_line(&text)?;
            Ok(Distro {
                id: "alpine".into(),
                version_id: version.into(),
                codename: None,
                pretty_name: None,
            })
        }
        ReleaseFile::DebianVersion => {
            // "12.5" on a release, "trixie/sid" on testing: only a release has a number.
            let line = first_line(&text)?;
            let numbered = line.starts_with(|c: char| c.is_ascii_digit());
            Ok(Distro {
                id: "debian".into(),
                version_id: if numbered {
                    line.split('.').next().unwrap_or(line).into()
                } else {
                    String::new()
                },
                codename: (!numbered).then(|| line.split('/').next().unwrap_or(line).to_string()),
                pretty_name: None,
            })
        }
        ReleaseFile::RedhatRelease => parse_redhat_release(first_line(&text)?),
    }
}

fn first_line(text: &str) -> Result<&str, ParseError> {
    text.lines()
        .map(str::trim)
        .find(|l| !l.is_empty())
        .ok_or_else(|| malformed("empty release file"))
}

/// os-release is shell-style `KEY=value` assignments; values may be quoted, with
/// backslash escapes inside double quotes.
fn parse_os_release(text: &str) -> Result<Distro, ParseError> {
    let mut distro = Distro::default();
    for line in text.lines() {
        let line = line.trim();
        if line.starts_with('#') {
            continue;
        }
        let Some((key, raw)) = line.split_once('=') else {
            continue;
        };
        let value = unquote(raw.trim());
        match key.trim() {
            "ID" => distro.id = value,
            "VERSION_ID" => distro.version_id = value,
            "VERSION_CODENAME" if !value.is_empty() => distro.codename = Some(value),
            "PRETTY_NAME" if !value.is_empty() => distro.pretty_name = Some(value),
            _ => {}
        }
    }
    if distro.id.is_empty() {
        return Err(malformed("os-release has no ID"));
    }
    Ok(distro)
}

fn unquote(raw: &str) -> String {
    let quoted = |q: char| raw.len() >= 2 && raw.starts_with(q) && raw.ends_with(q);
    if quoted('\'') {
        return raw[1..raw.len() - 1].to_string();
    }
    let inner = if quoted('"') {
        &raw[1..raw.len() - 1]
    } else {
        raw
    };
    let mut out = String::with_capacity(inner.len());
    let mut chars = inner.chars();
    while let Some(c) = chars.next() {
        if c == '\\' {
            if let Some(next) = chars.next() {
                out.push(next);
            }
        } else {
            out.push(c);
        }
    }
    out
}

/// `AlmaLinux release 9.3 (Shamrock Pink Sunbird)`, `CentOS Linux release 7.9.2009 (Core)`.
fn parse_redhat_release(line: &str) -> Result<Distro, ParseError> {
    let (name, rest) = line
        .split_once(" release ")
        .ok_or_else(|| malformed(format!("no \"release\" in {line:?}")))?;
    let version = rest.split_whitespace().next().unwrap_or("").to_string();
    let codename = rest
        .split_once('(')
        .and_then(|(_, c)| c.split_once(')'))
        .map(|(c, _)| c.trim().to_string())
        .filter(|c| !c.is_empty());
    let lower = name.to_ascii_lowercase();
    // The os-release IDs these distributions use.
    let id = if lower.starts_with("red hat") {
        "rhel"
    } else if lower.starts_with("centos") {
        "centos"
    } else if lower.starts_with("almalinux") {
        "almalinux"
    } else if lower.starts_with("rocky") {
        "rocky"
    } else if lower.starts_with("oracle") {
        "ol"
    } else if lower.starts_with("fedora") {
        "fedora"
    } else {
        lower.split_whitespace().next().unwrap_or("")
    };
    if id.is_empty() {
        return Err(malformed(format!("no distribution name in {line:?}")));
    }
    Ok(Distro {
        id: id.to_string(),
        version_id: version,
        codename,
        pretty_name: Some(line.to_string()),
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn parse_str(file: ReleaseFile, text: &str) -> Result<Distro, ParseError> {
        parse(file, &mut text.as_bytes())
    }

    #[test]
    fn debian_os_release() {
        let text = "PRETTY_NAME=\"Debian GNU/Linux 12 (bookworm)\"\nNAME=\"Debian GNU/Linux\"\n\
                    VERSION_ID=\"12\"\nVERSION=\"12 (bookworm)\"\nVERSION_CODENAME=bookworm\nID=debian\n";
        let d = parse_str(ReleaseFile::EtcOsRelease, text).unwrap();
        assert_eq!(d.id, "debian");
        assert_eq!(d.version_id, "12");
        assert_eq!(d.codename.as_deref(), Some("bookworm"));
        assert_eq!(
            d.pretty_name.as_deref(),
            Some("Debian GNU/Linux 12 (bookworm)")
        );
    }

    #[test]
    fn quoting_and_comments() {
        let text = "# comment\nID='alpine'\nVERSION_ID=3.19.1\nPRETTY_NAME=\"Say \\\"hi\\\"\"\n";
        let d = parse_str(ReleaseFile::UsrLibOsRelease, text).unwrap();
        assert_eq!(d.id, "alpine");
        assert_eq!(d.version_id, "3.19.1");
        assert_eq!(d.pretty_name.as_deref(), Some("Say \"hi\""));
        assert!(parse_str(ReleaseFile::EtcOsRelease, "NAME=x\n").is_err());
    }

    #[test]
    fn single_line_release_files() {
        let a = parse_str(ReleaseFile::AlpineRelease, "3.19.1\n").unwrap();
        assert_eq!((a.id.as_str(), a.version_id.as_str()), ("alpine", "3.19.1"));
        let d = parse_str(ReleaseFile::DebianVersion, "12.5\n").unwrap();
        assert_eq!((d.id.as_str(), d.version_id.as_str()), ("debian", "12"));
        let sid = parse_str(ReleaseFile::DebianVersion, "trixie/sid\n").unwrap();
        assert_eq!(sid.version_id, "");
        assert_eq!(sid.codename.as_deref(), Some("trixie"));
        let r = parse_str(
            ReleaseFile::RedhatRelease,
            "AlmaLinux release 9.3 (Shamrock Pink Sunbird)\n",
        )
        .unwrap();
        assert_eq!((r.id.as_str(), r.version_id.as_str()), ("almalinux", "9.3"));
        assert_eq!(r.codename.as_deref(), Some("Shamrock Pink Sunbird"));
        let c = parse_str(
            ReleaseFile::RedhatRelease,
            "CentOS Linux release 7.9.2009 (Core)",
        )
        .unwrap();
        assert_eq!(
            (c.id.as_str(), c.version_id.as_str()),
            ("centos", "7.9.2009")
        );
        assert!(parse_str(ReleaseFile::RedhatRelease, "nonsense").is_err());
        assert!(parse_str(ReleaseFile::AlpineRelease, "\n\n").is_err());
    }

    #[test]
    fn oversized_release_file_is_refused() {
        let mut endless = std::io::repeat(b'A');
        assert!(matches!(
            parse(ReleaseFile::EtcOsRelease, &mut endless),
            Err(ParseError::TooLarge { .. })
        ));
    }

    proptest! {
        #[test]
        fn never_panics(bytes in proptest::collection::vec(any::<u8>(), 0..512), which in 0usize..5) {
            let _ = parse(ReleaseFile::ALL[which], &mut bytes.as_slice());
        }
    }
}
