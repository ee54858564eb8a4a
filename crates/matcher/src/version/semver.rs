//! SemVer 2 ordering for npm, crates.io and Go.
//!
//! Lenient in the ways these ecosystems' advisory data needs: a leading `v` (Go always,
//! npm often), missing minor or patch numbers (read as 0), numbers of any width, and
//! extra dotted numbers after the patch (read as build metadata, which never affects
//! order). Go pseudo-versions (`v0.0.0-20210101000000-abcdef012345`) are pre-releases
//! and order by their timestamp; `+incompatible` is build metadata.

use std::cmp::Ordering;

use super::{VersionError, VersionScheme, check_len, cmp_digits, split_while};

#[derive(Debug)]
pub(super) struct SemVer<'a> {
    core: [&'a str; 3],
    /// Dot-separated pre-release identifiers; empty for a release.
    pre: &'a str,
}

fn is_ident_char(c: u8) -> bool {
    c.is_ascii_alphanumeric() || c == b'-'
}

pub(super) fn parse(v: &str, scheme: VersionScheme) -> Result<SemVer<'_>, VersionError> {
    check_len(v, scheme)?;
    let err = |reason| VersionError::new(scheme, v, reason);
    let mut s = v.strip_prefix('v').unwrap_or(v);
    if scheme == VersionScheme::Npm {
        s = s.strip_prefix('=').unwrap_or(s);
        s = s.strip_prefix('v').unwrap_or(s);
    }
    let mut core = ["0"; 3];
    for (i, slot) in core.iter_mut().enumerate() {
        let (digits, rest) = split_while(s, |c| c.is_ascii_digit());
        if digits.is_empty() {
            return Err(err(if i == 0 {
                "does not start with a number"
            } else {
                "expected a number after '.'"
            }));
        }
        *slot = digits;
        s = rest;
        match s.strip_prefix('.') {
            Some(rest) if i < 2 => s = rest,
            _ => break,
        }
    }
    let (pre, build) = match s.as_bytes().first() {
        None => (None, None),
        Some(b'-') => match s[1..].split_once('+') {
            Some((pre, build)) => (Some(pre), Some(build)),
            None => (Some(&s[1..]), None),
        },
        // Numbers beyond the third are carried like build metadata.
        Some(b'+' | b'.') => (None, Some(&s[1..])),
        Some(_) => return Err(err("unexpected character after the version numbers")),
    };
    let valid_ids = |ids: &str| {
        ids.split('.')
            .all(|id| !id.is_empty() && id.bytes().all(is_ident_char))
    };
    if pre.is_some_and(|p| !valid_ids(p)) {
        return Err(err(
            "pre-release identifiers must be non-empty [0-9A-Za-z-]",
        ));
    }
    if build.is_some_and(|b| !valid_ids(b)) {
        return Err(err(
            "build metadata identifiers must be non-empty [0-9A-Za-z-]",
        ));
    }
    let pre = pre.unwrap_or("");
    Ok(SemVer { core, pre })
}

impl Ord for SemVer<'_> {
    fn cmp(&self, other: &Self) -> Ordering {
        for (a, b) in self.core.iter().zip(&other.core) {
            let ord = cmp_digits(a, b);
            if ord != Ordering::Equal {
                return ord;
            }
        }
        cmp_prerelease(self.pre, other.pre, false)
    }
}

impl PartialOrd for SemVer<'_> {
    fn partial_cmp(&self, other: &Self) -> Option<Ordering> {
        Some(self.cmp(other))
    }
}

impl PartialEq for SemVer<'_> {
    fn eq(&self, other: &Self) -> bool {
        self.cmp(other) == Ordering::Equal
    }
}

impl Eq for SemVer<'_> {}

/// SemVer §11: a release beats any pre-release; identifiers compare numerically when
/// both are numbers, a number sorts before a word, words compare as ASCII (or
/// case-insensitively, as NuGet wants), and more identifiers win a tie.
pub(super) fn cmp_prerelease(a: &str, b: &str, ignore_case: bool) -> Ordering {
    match (a.is_empty(), b.is_empty()) {
        (true, true) => return Ordering::Equal,
        (true, false) => return Ordering::Greater,
        (false, true) => return Ordering::Less,
        (false, false) => {}
    }
    let mut x = a.split('.');
    let mut y = b.split('.');
    loop {
        let ord = match (x.next(), y.next()) {
            (None, None) => return Ordering::Equal,
            (None, Some(_)) => return Ordering::Less,
            (Some(_), None) => return Ordering::Greater,
            (Some(p), Some(q)) => {
                let p_num = !p.is_empty() && p.bytes().all(|c| c.is_ascii_digit());
                let q_num = !q.is_empty() && q.bytes().all(|c| c.is_ascii_digit());
                match (p_num, q_num) {
                    (true, true) => cmp_digits(p, q),
                    (true, false) => Ordering::Less,
                    (false, true) => Ordering::Greater,
                    (false, false) if ignore_case => p
                        .bytes()
                        .map(|c| c.to_ascii_lowercase())
                        .cmp(q.bytes().map(|c| c.to_ascii_lowercase())),
                    (false, false) => p.cmp(q),
                }
            }
        };
        if ord != Ordering::Equal {
            return ord;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn go_pseudo_versions_and_incompatible() {
        let go = VersionScheme::Go;
        assert_eq!(
            go.compare(
                "v0.0.0-20210101000000-abcdef012345",
                "v0.0.0-20220101000000-012345abcdef"
            )
            .unwrap(),
            Ordering::Less
        );
        assert_eq!(
            go.compare("v1.2.4-0.20210101000000-abcdef012345", "v1.2.3")
                .unwrap(),
            Ordering::Greater
        );
        assert_eq!(
            go.compare("v2.0.0+incompatible", "v2.0.0").unwrap(),
            Ordering::Equal
        );
    }

    #[test]
    fn rejects_malformed() {
        for bad in [
            "",
            "v",
            "1.",
            "1.2.x",
            "1.0.0-",
            "1.0.0-a..b",
            "1.0.0+",
            "1.0.0 ",
            "a.b.c",
            "1.0.0-é",
        ] {
            assert!(VersionScheme::Npm.parse_ok(bad).is_err(), "{bad:?}");
        }
    }
}
