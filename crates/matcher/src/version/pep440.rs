//! PEP 440 ordering for PyPI, with the normalisations the specification allows
//! (case, `v` prefix, `alpha`/`c`/`pre`/`preview` spellings, `-`/`_`/`.` separators,
//! implicit numbers, `1.0-1` post releases).
//!
//! Versions that are not PEP 440 are ordered the way `packaging` ordered its
//! `LegacyVersion`: before every PEP 440 version, by a key of zero-padded numbers and
//! `*`-prefixed words. PyPI still serves such releases, and advisories name them.

use std::cmp::Ordering;

use super::{VersionError, VersionScheme, check_len, cmp_digits, split_while};

#[derive(Debug)]
pub(super) enum PyVersion<'a> {
    Pep440(Pep440<'a>),
    Legacy(Vec<String>),
}

#[derive(Debug, Default)]
pub(super) struct Pep440<'a> {
    epoch: &'a str,
    /// Dot-separated digit runs.
    release: &'a str,
    /// 0 = alpha, 1 = beta, 2 = rc, with the number.
    pre: Option<(u8, &'a str)>,
    post: Option<&'a str>,
    dev: Option<&'a str>,
    local: Option<&'a str>,
}

pub(super) fn parse(v: &str, scheme: VersionScheme) -> Result<PyVersion<'_>, VersionError> {
    check_len(v, scheme)?;
    let trimmed = v.trim();
    if trimmed.is_empty()
        || trimmed
            .bytes()
            .any(|c| c.is_ascii_whitespace() || !c.is_ascii_graphic())
    {
        return Err(VersionError::new(
            scheme,
            v,
            "empty or contains whitespace, control or non-ASCII characters",
        ));
    }
    Ok(match parse_pep440(trimmed) {
        Some(p) => PyVersion::Pep440(p),
        None => PyVersion::Legacy(legacy_key(trimmed)),
    })
}

/// Strips one separator (`.`, `-` or `_`) if present.
fn opt_sep(s: &str) -> &str {
    s.strip_prefix(['.', '-', '_']).unwrap_or(s)
}

/// Case-insensitive prefix strip of an ASCII word.
fn strip_word<'a>(s: &'a str, word: &str) -> Option<&'a str> {
    let head = s.get(..word.len())?;
    head.eq_ignore_ascii_case(word).then(|| &s[word.len()..])
}

fn strip_any_word<'a>(s: &'a str, words: &[&str]) -> Option<&'a str> {
    words.iter().find_map(|w| strip_word(s, w))
}

fn parse_pep440(v: &str) -> Option<Pep440<'_>> {
    let mut s = strip_word(v, "v").unwrap_or(v);
    let mut out = Pep440 {
        epoch: "0",
        ..Default::default()
    };
    let (digits, rest) = split_while(s, |c| c.is_ascii_digit());
    if let Some(rest) = rest.strip_prefix('!') {
        if digits.is_empty() {
            return None;
        }
        out.epoch = digits;
        s = rest;
    }
    // Release: N(.N)*
    let mut end = 0;
    let b = s.as_bytes();
    loop {
        let start = end;
        while end < b.len() && b[end].is_ascii_digit() {
            end += 1;
        }
        if end == start {
            return None;
        }
        if end + 1 < b.len() && b[end] == b'.' && b[end + 1].is_ascii_digit() {
            end += 1;
        } else {
            break;
        }
    }
    out.release = &s[..end];
    s = &s[end..];

    // Pre-release. Longer spellings first so `preview` is not read as `pre` + `view`.
    let pre_words: [(&str, u8); 8] = [
        ("alpha", 0),
        ("a", 0),
        ("beta", 1),
        ("b", 1),
        ("preview", 2),
        ("pre", 2),
        ("rc", 2),
        ("c", 2),
    ];
    let after_sep = opt_sep(s);
    if let Some((rest, kind)) = pre_words
        .iter()
        .find_map(|(w, k)| strip_word(after_sep, w).map(|r| (r, *k)))
    {
        let rest_before_sep = rest;
        let (num, rest) = split_while(opt_sep(rest), |c| c.is_ascii_digit());
        // A separator with no number after it belongs to whatever follows.
        let rest = if num.is_empty() {
            rest_before_sep
        } else {
            rest
        };
        out.pre = Some((kind, if num.is_empty() { "0" } else { num }));
        s = rest;
    }

    // Post-release: `-N` or [sep](post|rev|r)[sep][N].
    if let Some(rest) = s.strip_prefix('-')
        && rest.bytes().next().is_some_and(|c| c.is_ascii_digit())
    {
        let (num, rest) = split_while(rest, |c| c.is_ascii_digit());
        out.post = Some(num);
        s = rest;
    } else if let Some(rest) = strip_any_word(opt_sep(s), &["post", "rev", "r"]) {
        let (num, after) = split_while(opt_sep(rest), |c| c.is_ascii_digit());
        out.post = Some(if num.is_empty() { "0" } else { num });
        s = if num.is_empty() { rest } else { after };
    }

    // Development release.
    if let Some(rest) = strip_word(opt_sep(s), "dev") {
        let (num, after) = split_while(opt_sep(rest), |c| c.is_ascii_digit());
        out.dev = Some(if num.is_empty() { "0" } else { num });
        s = if num.is_empty() { rest } else { after };
    }

    // Local version label.
    if let Some(local) = s.strip_prefix('+') {
        let valid = !local.is_empty()
            && local
                .split(['.', '-', '_'])
                .all(|seg| !seg.is_empty() && seg.bytes().all(|c| c.is_ascii_alphanumeric()));
        if !valid {
            return None;
        }
        out.local = Some(local);
        s = "";
    }
    s.is_empty().then_some(out)
}

/// Orders pre-release keys: a dev release of the final version sorts before all its
/// pre-releases, and the final version after them.
#[derive(PartialEq, Eq, PartialOrd, Ord)]
enum PreKey<'a> {
    DevOnly,
    Pre(u8, Digits<'a>),
    None,
}

#[derive(PartialEq, Eq)]
struct Digits<'a>(&'a str);

impl PartialOrd for Digits<'_> {
    fn partial_cmp(&self, other: &Self) -> Option<Ordering> {
        Some(self.cmp(other))
    }
}

impl Ord for Digits<'_> {
    fn cmp(&self, other: &Self) -> Ordering {
        cmp_digits(self.0, other.0)
    }
}

fn pre_key<'a>(v: &Pep440<'a>) -> PreKey<'a> {
    match (v.pre, v.post, v.dev) {
        (None, None, Some(_)) => PreKey::DevOnly,
        (Some((kind, n)), _, _) => PreKey::Pre(kind, Digits(n)),
        (None, _, _) => PreKey::None,
    }
}

pub(super) fn compare(a: &PyVersion<'_>, b: &PyVersion<'_>) -> Ordering {
    match (a, b) {
        (PyVersion::Legacy(_), PyVersion::Pep440(_)) => Ordering::Less,
        (PyVersion::Pep440(_), PyVersion::Legacy(_)) => Ordering::Greater,
        (PyVersion::Legacy(x), PyVersion::Legacy(y)) => x.cmp(y),
        (PyVersion::Pep440(x), PyVersion::Pep440(y)) => cmp_pep440(x, y),
    }
}

fn cmp_pep440(a: &Pep440<'_>, b: &Pep440<'_>) -> Ordering {
    cmp_digits(a.epoch, b.epoch)
        .then_with(|| cmp_release(a.release, b.release))
        .then_with(|| pre_key(a).cmp(&pre_key(b)))
        .then_with(|| a.post.map(Digits).cmp(&b.post.map(Digits)))
        .then_with(|| match (a.dev, b.dev) {
            (None, None) => Ordering::Equal,
            (None, Some(_)) => Ordering::Greater,
            (Some(_), None) => Ordering::Less,
            (Some(x), Some(y)) => cmp_digits(x, y),
        })
        .then_with(|| cmp_local(a.local, b.local))
}

/// Release numbers compare as tuples with trailing zeros ignored.
fn cmp_release(a: &str, b: &str) -> Ordering {
    let mut x = a.split('.');
    let mut y = b.split('.');
    loop {
        match (x.next(), y.next()) {
            (None, None) => return Ordering::Equal,
            (p, q) => {
                let ord = cmp_digits(p.unwrap_or("0"), q.unwrap_or("0"));
                if ord != Ordering::Equal {
                    return ord;
                }
            }
        }
    }
}

/// Local labels: absent sorts first; segments compare numbers by value, words
/// case-insensitively, and a number beats a word; a longer label wins a tie.
fn cmp_local(a: Option<&str>, b: Option<&str>) -> Ordering {
    let (a, b) = match (a, b) {
        (None, None) => return Ordering::Equal,
        (None, Some(_)) => return Ordering::Less,
        (Some(_), None) => return Ordering::Greater,
        (Some(a), Some(b)) => (a, b),
    };
    let mut x = a.split(['.', '-', '_']);
    let mut y = b.split(['.', '-', '_']);
    loop {
        let ord = match (x.next(), y.next()) {
            (None, None) => return Ordering::Equal,
            (None, Some(_)) => return Ordering::Less,
            (Some(_), None) => return Ordering::Greater,
            (Some(p), Some(q)) => {
                let p_num = p.bytes().all(|c| c.is_ascii_digit());
                let q_num = q.bytes().all(|c| c.is_ascii_digit());
                match (p_num, q_num) {
                    (true, true) => cmp_digits(p, q),
                    (true, false) => Ordering::Greater,
                    (false, true) => Ordering::Less,
                    (false, false) => p
                        .bytes()
                        .map(|c| c.to_ascii_lowercase())
                        .cmp(q.bytes().map(|c| c.to_ascii_lowercase())),
                }
            }
        };
        if ord != Ordering::Equal {
            return ord;
        }
    }
}

/// The ordering key of a pre-PEP 440 version, as `packaging` built it: lower-cased,
/// split into digit runs, letter runs and `-`; numbers zero-padded to 8 places; words
/// prefixed with `*` (with `pre`, `preview` and `rc` read as `c`, `dev` as `@`, `-` as
/// `final-`); trailing zeros and redundant `final-` markers dropped before words.
fn legacy_key(v: &str) -> Vec<String> {
    let lower = v.to_ascii_lowercase();
    let mut parts: Vec<String> = Vec::new();
    let push = |part: String, parts: &mut Vec<String>| {
        if part.starts_with('*') {
            if part.as_str() < "*final" {
                while parts.last().is_some_and(|p| p == "*final-") {
                    parts.pop();
                }
            }
            while parts.last().is_some_and(|p| p == "00000000") {
                parts.pop();
            }
        }
        parts.push(part);
    };
    let bytes = lower.as_bytes();
    let mut i = 0;
    while i < bytes.len() {
        let c = bytes[i];
        let start = i;
        let part = if c.is_ascii_digit() {
            while i < bytes.len() && bytes[i].is_ascii_digit() {
                i += 1;
            }
            format!("{:0>8}", &lower[start..i])
        } else if c.is_ascii_lowercase() {
            while i < bytes.len() && bytes[i].is_ascii_lowercase() {
                i += 1;
            }
            match &lower[start..i] {
                "pre" | "preview" | "rc" => "*c".to_owned(),
                "dev" => "*@".to_owned(),
                word => format!("*{word}"),
            }
        } else if c == b'.' {
            i += 1;
            continue;
        } else if c == b'-' {
            i += 1;
            "*final-".to_owned()
        } else {
            // Any other run of characters is one word.
            while i < bytes.len()
                && !bytes[i].is_ascii_alphanumeric()
                && !matches!(bytes[i], b'.' | b'-')
            {
                i += 1;
            }
            format!("*{}", &lower[start..i])
        };
        push(part, &mut parts);
    }
    push("*final".to_owned(), &mut parts);
    parts
}

#[cfg(test)]
mod tests {
    use super::*;

    fn cmp(a: &str, b: &str) -> Ordering {
        VersionScheme::Pep440.compare(a, b).unwrap()
    }

    #[test]
    fn normalised_spellings_are_equal() {
        for (a, b) in [
            ("1.0alpha1", "1.0a1"),
            ("1.0-c1", "1.0rc1"),
            ("1.0.post", "1.0.post0"),
            ("1.0-1", "1.0.post1"),
            ("1.0_dev", "1.0.dev0"),
            ("v1.0", "1.0"),
            ("1.0.0", "1"),
            ("1!1.0", "1!1.0.0"),
            ("1.0+ubuntu.1", "1.0+ubuntu-1"),
        ] {
            assert_eq!(cmp(a, b), Ordering::Equal, "{a} vs {b}");
        }
    }

    #[test]
    fn full_ordering_chain() {
        let chain = [
            "1.0.dev1",
            "1.0a1.dev1",
            "1.0a1",
            "1.0a1.post1.dev1",
            "1.0a1.post1",
            "1.0b1",
            "1.0rc1",
            "1.0",
            "1.0+abc",
            "1.0+1",
            "1.0.post1.dev1",
            "1.0.post1",
            "1.1",
            "1!0.1",
        ];
        for w in chain.windows(2) {
            assert_eq!(cmp(w[0], w[1]), Ordering::Less, "{} < {}", w[0], w[1]);
        }
    }

    #[test]
    fn legacy_sorts_first_and_rejects_whitespace() {
        assert_eq!(cmp("french-toast", "0.0"), Ordering::Less);
        assert!(VersionScheme::Pep440.parse_ok("french toast").is_err());
        assert_eq!(cmp("2.0-bulbasaur", "0.1"), Ordering::Less);
        assert!(VersionScheme::Pep440.parse_ok("").is_err());
    }
}
