//! apk-tools version ordering (apk-package(5)):
//! `number{.number}...{letter}{_suffix{number}}...{~hash}{-r#}`.
//!
//! Versions that do not follow the grammar still occur in the wild and `apk version -t`
//! orders them, so they are kept: the parseable prefix is compared as usual, a version
//! with an unparsed tail sorts just below the same version without it, and two
//! non-conforming versions compare as plain strings.

use std::cmp::Ordering;

use super::{VersionError, VersionScheme, check_len, cmp_digits, split_while};

/// Suffixes in sort order; the position of the empty string is "no suffix".
const SUFFIXES: [&str; 10] = [
    "alpha", "beta", "pre", "rc", "", "cvs", "svn", "git", "hg", "p",
];
const NO_SUFFIX: u8 = 4;
/// At most this many `_suffix` parts are kept; real versions have one or two.
const MAX_SUFFIXES: usize = 8;

#[derive(Debug)]
pub(super) struct ApkVersion<'a> {
    original: &'a str,
    /// The dotted numbers, possibly ending with a `.`.
    numbers: &'a str,
    letter: Option<u8>,
    suffixes: [(u8, &'a str); MAX_SUFFIXES],
    suffix_count: usize,
    revision: &'a str,
    /// What follows the grammar's last part.
    tail: &'a str,
    /// The text after the suffixes is neither a `-r` revision nor empty.
    nonconforming: bool,
}

pub(super) fn parse(v: &str, scheme: VersionScheme) -> Result<ApkVersion<'_>, VersionError> {
    check_len(v, scheme)?;
    if v.bytes()
        .any(|c| c.is_ascii_whitespace() || c.is_ascii_control())
    {
        return Err(VersionError::new(
            scheme,
            v,
            "contains whitespace or control characters",
        ));
    }
    // Numbers: digit runs, each optionally followed by one dot.
    let mut end = 0;
    let bytes = v.as_bytes();
    while end < bytes.len() && bytes[end].is_ascii_digit() {
        while end < bytes.len() && bytes[end].is_ascii_digit() {
            end += 1;
        }
        if end < bytes.len() && bytes[end] == b'.' {
            end += 1;
        }
    }
    let (numbers, mut rest) = v.split_at(end);

    let mut letter = None;
    if let Some(&c) = rest.as_bytes().first()
        && c.is_ascii_lowercase()
    {
        letter = Some(c);
        rest = &rest[1..];
    }

    let mut suffixes = [(NO_SUFFIX, ""); MAX_SUFFIXES];
    let mut suffix_count = 0;
    while suffix_count < MAX_SUFFIXES
        && let Some(after) = rest.strip_prefix('_')
        && let Some((rank, name)) = SUFFIXES
            .iter()
            .enumerate()
            .find(|(_, name)| !name.is_empty() && after.starts_with(**name))
    {
        let (number, after) = split_while(&after[name.len()..], |c| c.is_ascii_digit());
        suffixes[suffix_count] = (rank as u8, number);
        suffix_count += 1;
        rest = after;
    }

    if let Some(after) = rest.strip_prefix('~') {
        let (hash, after) =
            split_while(after, |c| c.is_ascii_digit() || (b'a'..=b'f').contains(&c));
        if !hash.is_empty() {
            rest = after;
        }
    }

    let mut revision = "";
    let mut nonconforming = false;
    if let Some(after) = rest.strip_prefix("-r") {
        let (number, after) = split_while(after, |c| c.is_ascii_digit());
        revision = number;
        rest = after;
    } else if !rest.is_empty() {
        nonconforming = true;
    }

    Ok(ApkVersion {
        original: v,
        numbers,
        letter,
        suffixes,
        suffix_count,
        revision,
        tail: rest,
        nonconforming,
    })
}

pub(super) fn compare(a: &ApkVersion<'_>, b: &ApkVersion<'_>) -> Ordering {
    if a.nonconforming && b.nonconforming {
        return a.original.cmp(b.original);
    }
    cmp_numbers(a.numbers, b.numbers)
        .then_with(|| match (a.letter, b.letter) {
            (None, None) => Ordering::Equal,
            (None, Some(_)) => Ordering::Less,
            (Some(_), None) => Ordering::Greater,
            (Some(x), Some(y)) => x.cmp(&y),
        })
        .then_with(|| cmp_suffixes(a, b))
        .then_with(|| cmp_digits(a.revision, b.revision))
        .then_with(|| a.tail.is_empty().cmp(&b.tail.is_empty()))
}

/// The first number compares by value; later ones, when either starts with `0`, compare
/// as strings (so `1.05` < `1.1`, as with decimal fractions). A missing number is 0.
fn cmp_numbers(a: &str, b: &str) -> Ordering {
    let mut a_parts = a.split('.');
    let mut b_parts = b.split('.');
    let mut index = 0;
    loop {
        let (x, y) = match (a_parts.next(), b_parts.next()) {
            (None, None) => return Ordering::Equal,
            (x, y) => (x, y),
        };
        let ord = match (x, y) {
            (Some(x), Some(y)) if index > 0 && (x.starts_with('0') || y.starts_with('0')) => {
                x.cmp(y)
            }
            (x, y) => cmp_digits(x.unwrap_or("0"), y.unwrap_or("0")),
        };
        if ord != Ordering::Equal {
            return ord;
        }
        index += 1;
    }
}

fn cmp_suffixes(a: &ApkVersion<'_>, b: &ApkVersion<'_>) -> Ordering {
    for i in 0..a.suffix_count.max(b.suffix_count) {
        let (x_rank, x_num) = a.suffixes[i];
        let (y_rank, y_num) = b.suffixes[i];
        let ord = x_rank.cmp(&y_rank).then_with(|| cmp_digits(x_num, y_num));
        if ord != Ordering::Equal {
            return ord;
        }
    }
    Ordering::Equal
}

#[cfg(test)]
mod tests {
    use super::*;

    fn cmp(a: &str, b: &str) -> Ordering {
        VersionScheme::Apk.compare(a, b).unwrap()
    }

    #[test]
    fn suffix_order() {
        assert_eq!(cmp("1.0_alpha", "1.0_beta"), Ordering::Less);
        assert_eq!(cmp("1.0_rc9", "1.0"), Ordering::Less);
        assert_eq!(cmp("1.0", "1.0_p1"), Ordering::Less);
        assert_eq!(cmp("1.0_git20200101", "1.0_p1"), Ordering::Less);
    }

    #[test]
    fn revision_and_hash() {
        assert_eq!(cmp("1.2.3-r10", "1.2.3-r9"), Ordering::Greater);
        assert_eq!(cmp("1.2.3~abc123-r1", "1.2.3-r1"), Ordering::Equal);
    }

    #[test]
    fn many_suffixes_do_not_overflow() {
        let many = format!("1{}", "_p1".repeat(40));
        assert!(VersionScheme::Apk.parse_ok(&many).is_ok());
        assert!(VersionScheme::Apk.parse_ok("1.0\n").is_err());
    }
}
