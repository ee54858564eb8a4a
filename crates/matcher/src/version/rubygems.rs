//! RubyGems' `Gem::Version` ordering.
//!
//! A version is numbers and letters separated by dots (`-` reads as `.pre.`); segments
//! are the digit runs and letter runs. Trailing zeros are dropped from the numeric
//! prefix and from the part after the first letter segment; then segments compare
//! pairwise (a missing one is 0), a letter segment sorting before any number.

use std::cmp::Ordering;

use super::{VersionError, VersionScheme, check_len};

/// A segment: `Ok(digits)` for a number (leading zeros stripped), `Err(word)` for
/// letters.
type Segment<'a> = Result<&'a str, &'a str>;

/// Enough for any real gem version; longer ones are rejected.
const MAX_SEGMENTS: usize = 32;

#[derive(Debug)]
pub(super) struct GemVersion<'a> {
    segments: [Segment<'a>; MAX_SEGMENTS],
    len: usize,
}

pub(super) fn parse(v: &str, scheme: VersionScheme) -> Result<GemVersion<'_>, VersionError> {
    check_len(v, scheme)?;
    let err = |reason| VersionError::new(scheme, v, reason);
    let s = v.trim();
    // Gem::Version's pattern: digits first, then [.][0-9A-Za-z]+ parts, then an optional
    // `-` pre-release of [0-9A-Za-z-] parts separated by dots.
    if !s.bytes().next().is_some_and(|c| c.is_ascii_digit()) {
        return Err(err("must start with a digit"));
    }
    let (release, pre) = match s.split_once('-') {
        Some((r, p)) => (r, Some(p)),
        None => (s, None),
    };
    if release
        .split('.')
        .any(|p| p.is_empty() || !p.bytes().all(|c| c.is_ascii_alphanumeric()))
    {
        return Err(err("release parts must be non-empty [0-9A-Za-z]"));
    }
    if let Some(pre) = pre
        && pre
            .split('.')
            .any(|p| p.is_empty() || !p.bytes().all(|c| c.is_ascii_alphanumeric() || c == b'-'))
    {
        return Err(err("pre-release parts must be non-empty [0-9A-Za-z-]"));
    }
    let mut out = GemVersion {
        segments: [Ok(""); MAX_SEGMENTS],
        len: 0,
    };
    // `-` stands for `.pre.`: a `pre` word segment between release and pre-release.
    let pieces = release.split('.').map(Some).chain(
        pre.into_iter()
            .flat_map(|p| std::iter::once(None).chain(p.split(['.', '-']).map(Some))),
    );
    for piece in pieces {
        let mut rest = match piece {
            None => {
                add(&mut out, Err("pre")).map_err(|_| err("more than 32 segments"))?;
                continue;
            }
            Some(p) => p,
        };
        while let Some(&c) = rest.as_bytes().first() {
            let digits = c.is_ascii_digit();
            let end = rest
                .bytes()
                .position(|b| b.is_ascii_digit() != digits)
                .unwrap_or(rest.len());
            let run = &rest[..end];
            let seg = if digits {
                Ok(run.trim_start_matches('0'))
            } else {
                Err(run)
            };
            add(&mut out, seg).map_err(|_| err("more than 32 segments"))?;
            rest = &rest[end..];
        }
    }
    canonicalize(&mut out);
    Ok(out)
}

fn add<'a>(v: &mut GemVersion<'a>, seg: Segment<'a>) -> Result<(), ()> {
    if v.len == MAX_SEGMENTS {
        return Err(());
    }
    v.segments[v.len] = seg;
    v.len += 1;
    Ok(())
}

/// Removes trailing zeros from the numeric prefix and from the rest, separately.
fn canonicalize(v: &mut GemVersion<'_>) {
    let first_word = v.segments[..v.len]
        .iter()
        .position(Result::is_err)
        .unwrap_or(v.len);
    let is_zero = |s: &Segment<'_>| matches!(s, Ok(""));
    let mut prefix_end = first_word;
    while prefix_end > 0 && is_zero(&v.segments[prefix_end - 1]) {
        prefix_end -= 1;
    }
    let mut tail_end = v.len;
    while tail_end > first_word && is_zero(&v.segments[tail_end - 1]) {
        tail_end -= 1;
    }
    let removed = first_word - prefix_end;
    if removed > 0 {
        v.segments.copy_within(first_word..tail_end, prefix_end);
    }
    v.len = tail_end - removed;
}

pub(super) fn compare(a: &GemVersion<'_>, b: &GemVersion<'_>) -> Ordering {
    for i in 0..a.len.max(b.len) {
        let x = if i < a.len { a.segments[i] } else { Ok("") };
        let y = if i < b.len { b.segments[i] } else { Ok("") };
        let ord = match (x, y) {
            (Ok(p), Ok(q)) => p.len().cmp(&q.len()).then_with(|| p.cmp(q)),
            (Err(_), Ok(_)) => Ordering::Less,
            (Ok(_), Err(_)) => Ordering::Greater,
            (Err(p), Err(q)) => p.cmp(q),
        };
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
        VersionScheme::RubyGems.compare(a, b).unwrap()
    }

    #[test]
    fn prerelease_and_padding() {
        assert_eq!(cmp("1.0.0", "1"), Ordering::Equal);
        assert_eq!(cmp("1.0.0-rc1", "1.0.0"), Ordering::Less);
        assert_eq!(cmp("1.0.0-rc1", "1.0.0.pre.rc1"), Ordering::Equal);
        assert_eq!(cmp("1.0.a.0", "1.0.a"), Ordering::Equal);
        assert_eq!(cmp("2.0.0.rc1", "2.0.0.beta2"), Ordering::Greater);
    }

    #[test]
    fn rejects_malformed() {
        for bad in ["", "a1", "1..2", "1.2 3", "1.-", "1.0-", "1.é"] {
            assert!(VersionScheme::RubyGems.parse_ok(bad).is_err(), "{bad:?}");
        }
        let many = "1.".repeat(40) + "1";
        assert!(VersionScheme::RubyGems.parse_ok(&many).is_err());
    }
}
