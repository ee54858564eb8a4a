//! Maven version ordering, after the "Version Order Specification" of the POM reference
//! (<https://maven.apache.org/pom.html#Version_Order_Specification>).
//!
//! A version is split into tokens at `.`, at `-` and at every switch between digits and
//! other characters (a switch counts as `-`); each token remembers its separator. Empty
//! tokens read as `0`. Trailing "null" tokens (`0`, `""`, `final`, `ga`, `release`) are
//! trimmed from the end and again before each remaining `-`. The shorter version is
//! padded with null tokens carrying the other side's separator. Tokens with the same
//! separator compare numbers by value, a number after any qualifier, and qualifiers
//! `alpha < beta < milestone < rc = cr < snapshot < "" = final = ga < sp`, then unknown
//! ones alphabetically (case-insensitive); tokens with different separators order
//! `.qualifier < -qualifier < -number < .number`.

use std::cmp::Ordering;

use super::{VersionError, VersionScheme, check_len};

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Sep {
    /// The first token.
    Start,
    Dot,
    Hyphen,
}

#[derive(Clone, Copy, Debug)]
struct Token<'a> {
    sep: Sep,
    /// Digits without leading zeros (`"0"` for zero), or a qualifier in its original
    /// case with aliases resolved.
    value: &'a str,
    numeric: bool,
    /// A padding token.
    null: bool,
}

const KEYWORDS: [&str; 7] = ["alpha", "beta", "milestone", "rc", "snapshot", "", "sp"];

/// At most this many tokens; real versions have a dozen at most.
const MAX_TOKENS: usize = 64;

#[derive(Debug)]
pub(super) struct MavenVersion<'a> {
    tokens: Vec<Token<'a>>,
}

pub(super) fn parse(v: &str, scheme: VersionScheme) -> Result<MavenVersion<'_>, VersionError> {
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
    let mut tokens = Vec::new();
    let mut sep = Sep::Start;
    for (i, raw) in v.split(['.', '-']).enumerate() {
        if i > 0 {
            // The separator before this piece is the byte just before it.
            let at = raw.as_ptr() as usize - v.as_ptr() as usize - 1;
            sep = if v.as_bytes()[at] == b'.' {
                Sep::Dot
            } else {
                Sep::Hyphen
            };
        }
        let mut rest = raw;
        let mut first = true;
        loop {
            let digits = rest.bytes().next().is_some_and(|c| c.is_ascii_digit());
            let end = rest
                .bytes()
                .position(|c| c.is_ascii_digit() != digits)
                .unwrap_or(rest.len());
            let (piece, after) = rest.split_at(end);
            let followed_by_digit = !after.is_empty();
            if tokens.len() == MAX_TOKENS {
                return Err(VersionError::new(scheme, v, "more than 64 parts"));
            }
            tokens.push(token(
                if first { sep } else { Sep::Hyphen },
                piece,
                followed_by_digit,
            ));
            first = false;
            if after.is_empty() {
                break;
            }
            rest = after;
        }
    }
    trim_nulls(&mut tokens);
    Ok(MavenVersion { tokens })
}

fn token(sep: Sep, piece: &str, followed_by_digit: bool) -> Token<'_> {
    if piece.is_empty() {
        return Token {
            sep,
            value: "0",
            numeric: true,
            null: false,
        };
    }
    if piece.bytes().all(|c| c.is_ascii_digit()) {
        let value = piece.trim_start_matches('0');
        let value = if value.is_empty() { "0" } else { value };
        return Token {
            sep,
            value,
            numeric: true,
            null: false,
        };
    }
    let is = |word: &str| piece.eq_ignore_ascii_case(word);
    let value = if is("cr") {
        "rc"
    } else if is("ga") || is("final") || is("release") {
        ""
    } else if followed_by_digit && is("a") {
        "alpha"
    } else if followed_by_digit && is("b") {
        "beta"
    } else if followed_by_digit && is("m") {
        "milestone"
    } else {
        piece
    };
    Token {
        sep,
        value,
        numeric: false,
        null: false,
    }
}

fn is_trimmable(t: &Token<'_>) -> bool {
    t.value == "0" || t.value.is_empty()
}

/// Trims null tokens from the end of the version and from the end of each group that
/// precedes a `-`, working from the end to the start. The first token always stays.
fn trim_nulls(tokens: &mut Vec<Token<'_>>) {
    let mut i = tokens.len().saturating_sub(1);
    while i > 0 {
        if is_trimmable(&tokens[i]) {
            tokens.remove(i);
            i -= 1;
            continue;
        }
        // Skip back to the token that starts this hyphen group, then past it.
        while i > 0 && tokens[i].sep != Sep::Hyphen {
            i -= 1;
        }
        if i == 0 {
            break;
        }
        i -= 1;
    }
}

/// The null token that pads the shorter version opposite `other`.
fn padding(other: &Token<'_>) -> Token<'static> {
    match other.sep {
        // `sp` is the one qualifier above the release, so `.sp` must beat the padding.
        Sep::Dot | Sep::Start if other.value.eq_ignore_ascii_case("sp") => Token {
            sep: Sep::Dot,
            value: "",
            numeric: false,
            null: true,
        },
        Sep::Dot | Sep::Start => Token {
            sep: Sep::Dot,
            value: "0",
            numeric: true,
            null: true,
        },
        Sep::Hyphen => Token {
            sep: Sep::Hyphen,
            value: "",
            numeric: false,
            null: true,
        },
    }
}

fn keyword_rank(value: &str) -> usize {
    KEYWORDS
        .iter()
        .position(|k| value.eq_ignore_ascii_case(k))
        .unwrap_or(KEYWORDS.len())
}

/// `.qualifier < -qualifier < -number < .number`.
fn separator_rank(t: &Token<'_>) -> u8 {
    match (t.numeric, t.sep) {
        (false, Sep::Dot | Sep::Start) => 0,
        (false, Sep::Hyphen) => 1,
        (true, Sep::Hyphen) => 2,
        (true, Sep::Dot | Sep::Start) => 3,
    }
}

fn same_token(a: &Token<'_>, b: &Token<'_>) -> bool {
    a.sep == b.sep && a.value.eq_ignore_ascii_case(b.value)
}

fn cmp_token(a: &Token<'_>, b: &Token<'_>) -> Ordering {
    if same_token(a, b) {
        return Ordering::Equal;
    }
    if a.sep != b.sep {
        return separator_rank(a).cmp(&separator_rank(b));
    }
    if a.numeric && b.numeric {
        return super::cmp_digits(a.value, b.value);
    }
    // A real number is newer than any qualifier; a padding zero is not.
    match (a.numeric && !a.null, b.numeric && !b.null) {
        (true, false) => return Ordering::Greater,
        (false, true) => return Ordering::Less,
        _ => {}
    }
    let (ra, rb) = (keyword_rank(a.value), keyword_rank(b.value));
    if ra == KEYWORDS.len() && rb == KEYWORDS.len() {
        a.value
            .bytes()
            .map(|c| c.to_ascii_lowercase())
            .cmp(b.value.bytes().map(|c| c.to_ascii_lowercase()))
    } else {
        ra.cmp(&rb)
    }
}

impl Ord for MavenVersion<'_> {
    fn cmp(&self, other: &Self) -> Ordering {
        let (a, b) = (&self.tokens, &other.tokens);
        for i in 0..a.len().max(b.len()) {
            let (x, y) = match (a.get(i), b.get(i)) {
                (Some(x), Some(y)) => (*x, *y),
                (Some(x), None) => (*x, padding(x)),
                (None, Some(y)) => (padding(y), *y),
                (None, None) => break,
            };
            let ord = cmp_token(&x, &y);
            if ord != Ordering::Equal {
                return ord;
            }
        }
        Ordering::Equal
    }
}

impl PartialOrd for MavenVersion<'_> {
    fn partial_cmp(&self, other: &Self) -> Option<Ordering> {
        Some(self.cmp(other))
    }
}

impl PartialEq for MavenVersion<'_> {
    fn eq(&self, other: &Self) -> bool {
        self.cmp(other) == Ordering::Equal
    }
}

impl Eq for MavenVersion<'_> {}

#[cfg(test)]
mod tests {
    use super::*;

    fn cmp(a: &str, b: &str) -> Ordering {
        VersionScheme::Maven.compare(a, b).unwrap()
    }

    #[test]
    fn qualifier_order() {
        let chain = [
            "1-alpha",
            "1-beta",
            "1-milestone",
            "1-rc",
            "1-snapshot",
            "1",
            "1-sp",
            "1-abc",
            "1-xyz",
            "1-1",
            "1.1",
        ];
        for w in chain.windows(2) {
            assert_eq!(cmp(w[0], w[1]), Ordering::Less, "{} < {}", w[0], w[1]);
        }
    }

    #[test]
    fn log4j_range_edges() {
        assert_eq!(cmp("2.0-beta9", "2.0"), Ordering::Less);
        assert_eq!(cmp("2.14.1", "2.15.0"), Ordering::Less);
        assert_eq!(cmp("2.15.0", "2.15.0.RELEASE"), Ordering::Equal);
    }

    #[test]
    fn too_many_parts_is_an_error() {
        let many = "1.".repeat(100);
        assert!(VersionScheme::Maven.parse_ok(&many).is_err());
        let alternating = "a1".repeat(100);
        assert!(VersionScheme::Maven.parse_ok(&alternating).is_err());
    }
}
