//! Packagist ordering: PHP's `version_compare`, after stripping a leading `v`/`V` as
//! Composer does.
//!
//! The version is canonicalised (`-`, `_`, `+` and other punctuation become `.`, and a
//! `.` is inserted between digits and letters), then compared part by part: numbers by
//! value, words by their special form (`dev < alpha = a < beta = b < RC = rc < # < pl =
//! p`, any other word below `dev`), a number counting as `#`. When one version has
//! parts left over, a leading number makes it newer, otherwise its next word is
//! compared with `#`.

use std::cmp::Ordering;

use super::{VersionError, VersionScheme, check_len};

#[derive(Debug)]
pub(super) struct ComposerVersion<'a> {
    text: &'a str,
}

pub(super) fn parse(v: &str, scheme: VersionScheme) -> Result<ComposerVersion<'_>, VersionError> {
    check_len(v, scheme)?;
    if v.bytes()
        .any(|c| c.is_ascii_whitespace() || c.is_ascii_control() || !c.is_ascii())
    {
        return Err(VersionError::new(
            scheme,
            v,
            "contains whitespace, control or non-ASCII characters",
        ));
    }
    let text = v.strip_prefix(['v', 'V']).unwrap_or(v);
    if text.is_empty() {
        return Err(VersionError::new(scheme, v, "nothing after the 'v'"));
    }
    Ok(ComposerVersion { text })
}

/// One part of a canonicalised version.
#[derive(Clone, Copy, Debug)]
enum Part<'a> {
    Number(&'a str),
    /// Letters or other punctuation, possibly empty (`1..2` has an empty middle part).
    Word(&'a str),
}

fn is_separator(c: u8) -> bool {
    matches!(c, b'.' | b'-' | b'_' | b'+')
}

/// Yields the parts of the canonical form without building it: maximal runs of digits
/// or of other non-separator bytes, split at each separator and at each switch between
/// digits and non-digits.
struct Parts<'a> {
    rest: Option<&'a str>,
}

impl<'a> Iterator for Parts<'a> {
    type Item = Part<'a>;

    fn next(&mut self) -> Option<Part<'a>> {
        let s = self.rest?;
        let Some(&first) = s.as_bytes().first() else {
            self.rest = None;
            return Some(Part::Word(""));
        };
        if is_separator(first) {
            self.rest = Some(&s[1..]);
            return Some(Part::Word(""));
        }
        let digits = first.is_ascii_digit();
        let end = s
            .bytes()
            .position(|c| is_separator(c) || c.is_ascii_digit() != digits)
            .unwrap_or(s.len());
        let (run, after) = s.split_at(end);
        self.rest = match after.as_bytes().first() {
            None => None,
            Some(&c) if is_separator(c) => Some(&after[1..]),
            Some(_) => Some(after),
        };
        Some(if digits {
            Part::Number(run)
        } else {
            Part::Word(run)
        })
    }
}

fn parts(text: &str) -> Parts<'_> {
    Parts { rest: Some(text) }
}

/// PHP's special forms, matched as prefixes of the word.
fn special_rank(word: &str) -> i32 {
    const FORMS: [(&str, i32); 10] = [
        ("dev", 0),
        ("alpha", 1),
        ("a", 1),
        ("beta", 2),
        ("b", 2),
        ("RC", 3),
        ("rc", 3),
        ("#", 4),
        ("pl", 5),
        ("p", 5),
    ];
    FORMS
        .iter()
        .find(|(form, _)| word.starts_with(form))
        .map_or(-6, |(_, rank)| *rank)
}

fn cmp_part(a: Part<'_>, b: Part<'_>) -> Ordering {
    match (a, b) {
        (Part::Number(x), Part::Number(y)) => super::cmp_digits(x, y),
        (Part::Number(_), Part::Word(y)) => special_rank("#").cmp(&special_rank(y)),
        (Part::Word(x), Part::Number(_)) => special_rank(x).cmp(&special_rank("#")),
        (Part::Word(x), Part::Word(y)) => special_rank(x).cmp(&special_rank(y)),
    }
}

/// How the parts the other version lacks compare with nothing: a number makes the
/// longer version newer; a word is weighed against `#`, and on a tie the next part
/// decides.
fn cmp_leftover<'a>(mut rest: impl Iterator<Item = Part<'a>>) -> Ordering {
    loop {
        match rest.next() {
            None => return Ordering::Equal,
            Some(Part::Number(_)) => return Ordering::Greater,
            Some(Part::Word(w)) => {
                let ord = special_rank(w).cmp(&special_rank("#"));
                if ord != Ordering::Equal {
                    return ord;
                }
            }
        }
    }
}

pub(super) fn compare(a: &ComposerVersion<'_>, b: &ComposerVersion<'_>) -> Ordering {
    let mut x = parts(a.text);
    let mut y = parts(b.text);
    loop {
        match (x.next(), y.next()) {
            (None, None) => return Ordering::Equal,
            (Some(p), None) => return cmp_leftover(std::iter::once(p).chain(x)),
            (None, Some(q)) => return cmp_leftover(std::iter::once(q).chain(y)).reverse(),
            (Some(p), Some(q)) => {
                let ord = cmp_part(p, q);
                if ord != Ordering::Equal {
                    return ord;
                }
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn cmp(a: &str, b: &str) -> Ordering {
        VersionScheme::Composer.compare(a, b).unwrap()
    }

    #[test]
    fn stability_order() {
        let chain = [
            "1.0-dev",
            "1.0-alpha1",
            "1.0-beta1",
            "1.0-RC1",
            "1.0",
            "1.0-pl1",
            "1.1",
        ];
        for w in chain.windows(2) {
            assert_eq!(cmp(w[0], w[1]), Ordering::Less, "{} < {}", w[0], w[1]);
        }
    }

    #[test]
    fn rejects_empty_and_whitespace() {
        for bad in ["", "v", "1.0 beta", "1.0\t"] {
            assert!(VersionScheme::Composer.parse_ok(bad).is_err(), "{bad:?}");
        }
    }
}
