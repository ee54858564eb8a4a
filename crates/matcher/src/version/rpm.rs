//! rpm version ordering: `[epoch:]version[-release]` with rpmvercmp for each part,
//! including `~` (sorts before everything) and `^` (sorts after the base version but
//! before any longer one).

use std::cmp::Ordering;

use super::{VersionError, VersionScheme, check_len, cmp_digits, split_while};

#[derive(Debug)]
pub(super) struct RpmVersion<'a> {
    epoch: &'a str,
    version: &'a str,
    release: Option<&'a str>,
}

pub(super) fn parse(v: &str, scheme: VersionScheme) -> Result<RpmVersion<'_>, VersionError> {
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
    // Only an all-digit prefix before the first ':' is an epoch; other colons belong to
    // the version (module streams put them there).
    let (epoch, rest) = match v.split_once(':') {
        Some((e, rest)) if !e.is_empty() && e.bytes().all(|c| c.is_ascii_digit()) => (e, rest),
        _ => ("0", v),
    };
    let (version, release) = match rest.rsplit_once('-') {
        Some((version, release)) => (version, Some(release)),
        None => (rest, None),
    };
    Ok(RpmVersion {
        epoch,
        version,
        release,
    })
}

impl Ord for RpmVersion<'_> {
    fn cmp(&self, other: &Self) -> Ordering {
        cmp_digits(self.epoch, other.epoch)
            .then_with(|| rpmvercmp(self.version, other.version))
            .then_with(|| match (self.release, other.release) {
                (None, None) => Ordering::Equal,
                (None, Some(_)) => Ordering::Less,
                (Some(_), None) => Ordering::Greater,
                (Some(a), Some(b)) => rpmvercmp(a, b),
            })
    }
}

impl PartialOrd for RpmVersion<'_> {
    fn partial_cmp(&self, other: &Self) -> Option<Ordering> {
        Some(self.cmp(other))
    }
}

impl PartialEq for RpmVersion<'_> {
    fn eq(&self, other: &Self) -> bool {
        self.cmp(other) == Ordering::Equal
    }
}

impl Eq for RpmVersion<'_> {}

fn is_separator(c: u8) -> bool {
    !c.is_ascii_alphanumeric() && c != b'~' && c != b'^'
}

/// rpm's segment comparison: separators are skipped, digit segments compare by value
/// and beat letter segments, letter segments compare as bytes, and whichever string has
/// something left at the end is newer.
fn rpmvercmp(a: &str, b: &str) -> Ordering {
    if a == b {
        return Ordering::Equal;
    }
    let (mut a, mut b) = (a, b);
    loop {
        a = split_while(a, is_separator).1;
        b = split_while(b, is_separator).1;
        let (ac, bc) = (a.bytes().next(), b.bytes().next());
        if ac == Some(b'~') || bc == Some(b'~') {
            match (ac, bc) {
                (Some(b'~'), Some(b'~')) => {
                    a = &a[1..];
                    b = &b[1..];
                    continue;
                }
                (Some(b'~'), _) => return Ordering::Less,
                _ => return Ordering::Greater,
            }
        }
        if ac == Some(b'^') || bc == Some(b'^') {
            match (ac, bc) {
                (None, _) => return Ordering::Less,
                (_, None) => return Ordering::Greater,
                (Some(b'^'), Some(b'^')) => {
                    a = &a[1..];
                    b = &b[1..];
                    continue;
                }
                (Some(b'^'), _) => return Ordering::Less,
                _ => return Ordering::Greater,
            }
        }
        let (Some(first), Some(_)) = (ac, bc) else {
            break;
        };
        let numeric = first.is_ascii_digit();
        let in_segment = |c: u8| {
            if numeric {
                c.is_ascii_digit()
            } else {
                c.is_ascii_alphabetic()
            }
        };
        let (a_seg, a_rest) = split_while(a, in_segment);
        let (b_seg, b_rest) = split_while(b, in_segment);
        if b_seg.is_empty() {
            // Segments of different kinds: a number is newer than letters.
            return if numeric {
                Ordering::Greater
            } else {
                Ordering::Less
            };
        }
        let ord = if numeric {
            cmp_digits(a_seg, b_seg)
        } else {
            a_seg.cmp(b_seg)
        };
        if ord != Ordering::Equal {
            return ord;
        }
        a = a_rest;
        b = b_rest;
    }
    match (a.is_empty(), b.is_empty()) {
        (true, true) => Ordering::Equal,
        (false, _) => Ordering::Greater,
        (_, false) => Ordering::Less,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn cmp(a: &str, b: &str) -> Ordering {
        VersionScheme::Rpm.compare(a, b).unwrap()
    }

    #[test]
    fn el_releases() {
        assert_eq!(cmp("0:1.8.3-1.el9", "1.8.3-1.el9_1"), Ordering::Less);
        assert_eq!(cmp("2:1.0-1", "1:9.9-9"), Ordering::Greater);
    }

    #[test]
    fn caret_and_tilde() {
        assert_eq!(cmp("1.0~rc1", "1.0"), Ordering::Less);
        assert_eq!(cmp("1.0^post", "1.0"), Ordering::Greater);
        assert_eq!(cmp("1.0^post", "1.0.1"), Ordering::Less);
    }

    #[test]
    fn rejects_empty_and_whitespace() {
        assert!(VersionScheme::Rpm.parse_ok("").is_err());
        assert!(VersionScheme::Rpm.parse_ok("1.0 1").is_err());
    }
}
