//! dpkg version ordering (deb-version(7)): `[epoch:]upstream[-revision]`.

use std::cmp::Ordering;

use super::{VersionError, VersionScheme, check_len, cmp_digits, split_while};

#[derive(Debug)]
pub(super) struct DpkgVersion<'a> {
    epoch: &'a str,
    upstream: &'a str,
    revision: &'a str,
}

pub(super) fn parse(v: &str, scheme: VersionScheme) -> Result<DpkgVersion<'_>, VersionError> {
    check_len(v, scheme)?;
    let err = |reason| VersionError::new(scheme, v, reason);
    let (epoch, rest) = match v.split_once(':') {
        Some((e, rest)) => {
            if e.is_empty() || !e.bytes().all(|c| c.is_ascii_digit()) {
                return Err(err("epoch is not a number"));
            }
            (e, rest)
        }
        None => ("0", v),
    };
    let (upstream, revision) = match rest.rsplit_once('-') {
        Some((u, r)) => {
            if r.is_empty() {
                return Err(err("empty revision after '-'"));
            }
            (u, r)
        }
        None => (rest, ""),
    };
    if upstream.is_empty() {
        return Err(err("empty upstream version"));
    }
    let upstream_ok = |c: u8| c.is_ascii_alphanumeric() || matches!(c, b'.' | b'+' | b'~' | b'-');
    if !upstream.bytes().all(upstream_ok) {
        return Err(err(
            "upstream version has a character outside [A-Za-z0-9.+~-]",
        ));
    }
    let revision_ok = |c: u8| c.is_ascii_alphanumeric() || matches!(c, b'.' | b'+' | b'~');
    if !revision.bytes().all(revision_ok) {
        return Err(err("revision has a character outside [A-Za-z0-9.+~]"));
    }
    Ok(DpkgVersion {
        epoch,
        upstream,
        revision,
    })
}

impl Ord for DpkgVersion<'_> {
    fn cmp(&self, other: &Self) -> Ordering {
        cmp_digits(self.epoch, other.epoch)
            .then_with(|| cmp_part(self.upstream, other.upstream))
            .then_with(|| cmp_part(self.revision, other.revision))
    }
}

impl PartialOrd for DpkgVersion<'_> {
    fn partial_cmp(&self, other: &Self) -> Option<Ordering> {
        Some(self.cmp(other))
    }
}

impl PartialEq for DpkgVersion<'_> {
    fn eq(&self, other: &Self) -> bool {
        self.cmp(other) == Ordering::Equal
    }
}

impl Eq for DpkgVersion<'_> {}

/// Weight of one byte of a non-digit run: `~` sorts before everything, even the end of
/// the string; letters sort before the other punctuation.
fn weight(c: Option<u8>) -> i32 {
    match c {
        Some(b'~') => -1,
        None => 0,
        Some(c) if c.is_ascii_alphabetic() => i32::from(c),
        Some(c) => i32::from(c) + 256,
    }
}

/// Alternates between non-digit runs (compared byte by byte by weight) and digit runs
/// (compared by value, an absent run counting as zero).
fn cmp_part(mut a: &str, mut b: &str) -> Ordering {
    while !a.is_empty() || !b.is_empty() {
        let (a_text, a_rest) = split_while(a, |c| !c.is_ascii_digit());
        let (b_text, b_rest) = split_while(b, |c| !c.is_ascii_digit());
        let (at, bt) = (a_text.as_bytes(), b_text.as_bytes());
        for i in 0..at.len().max(bt.len()) {
            let ord = weight(at.get(i).copied()).cmp(&weight(bt.get(i).copied()));
            if ord != Ordering::Equal {
                return ord;
            }
        }
        let (a_num, a_rest) = split_while(a_rest, |c| c.is_ascii_digit());
        let (b_num, b_rest) = split_while(b_rest, |c| c.is_ascii_digit());
        let ord = cmp_digits(a_num, b_num);
        if ord != Ordering::Equal {
            return ord;
        }
        a = a_rest;
        b = b_rest;
    }
    Ordering::Equal
}

#[cfg(test)]
mod tests {
    use super::*;

    fn cmp(a: &str, b: &str) -> Ordering {
        VersionScheme::Dpkg.compare(a, b).unwrap()
    }

    #[test]
    fn tilde_sorts_before_end() {
        assert_eq!(cmp("1.0~rc1", "1.0"), Ordering::Less);
        assert_eq!(cmp("1.0~~", "1.0~"), Ordering::Less);
        assert_eq!(cmp("1.0-1~bpo1", "1.0-1"), Ordering::Less);
    }

    #[test]
    fn epoch_wins() {
        assert_eq!(cmp("1:0.1", "9.9"), Ordering::Greater);
    }

    #[test]
    fn rejects_malformed() {
        for bad in [
            "",
            "a:1.0",
            ":1.0",
            "1.0-",
            "1.0 beta",
            "1.2.3-not-a-debian:version!@#$",
            "-1",
        ] {
            assert!(VersionScheme::Dpkg.parse_ok(bad).is_err(), "{bad:?}");
        }
    }
}
