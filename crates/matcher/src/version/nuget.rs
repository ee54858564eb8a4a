//! NuGet version ordering: one to four dotted numbers (missing ones are 0), an optional
//! SemVer pre-release compared case-insensitively, and build metadata that is ignored.

use std::cmp::Ordering;

use super::semver::cmp_prerelease;
use super::{VersionError, VersionScheme, check_len, cmp_digits, split_while};

#[derive(Debug)]
pub(super) struct NuGetVersion<'a> {
    numbers: [&'a str; 4],
    pre: &'a str,
}

pub(super) fn parse(v: &str, scheme: VersionScheme) -> Result<NuGetVersion<'_>, VersionError> {
    check_len(v, scheme)?;
    let err = |reason| VersionError::new(scheme, v, reason);
    let s = v.trim();
    let (s, build) = match s.split_once('+') {
        Some((s, b)) => (s, Some(b)),
        None => (s, None),
    };
    let (core, pre) = match s.split_once('-') {
        Some((c, p)) => (c, Some(p)),
        None => (s, None),
    };
    let mut numbers = ["0"; 4];
    for (count, part) in core.split('.').enumerate() {
        let (digits, rest) = split_while(part, |c| c.is_ascii_digit());
        if digits.is_empty() || !rest.is_empty() {
            return Err(err("version numbers must be digits separated by '.'"));
        }
        if count == 4 {
            return Err(err("more than four version numbers"));
        }
        numbers[count] = digits;
    }
    let ident_ok = |ids: &str| {
        ids.split('.')
            .all(|id| !id.is_empty() && id.bytes().all(|c| c.is_ascii_alphanumeric() || c == b'-'))
    };
    if pre.is_some_and(|p| !ident_ok(p)) {
        return Err(err("pre-release labels must be non-empty [0-9A-Za-z-]"));
    }
    if build.is_some_and(|b| !ident_ok(b)) {
        return Err(err("build metadata labels must be non-empty [0-9A-Za-z-]"));
    }
    Ok(NuGetVersion {
        numbers,
        pre: pre.unwrap_or(""),
    })
}

impl Ord for NuGetVersion<'_> {
    fn cmp(&self, other: &Self) -> Ordering {
        for (a, b) in self.numbers.iter().zip(&other.numbers) {
            let ord = cmp_digits(a, b);
            if ord != Ordering::Equal {
                return ord;
            }
        }
        cmp_prerelease(self.pre, other.pre, true)
    }
}

impl PartialOrd for NuGetVersion<'_> {
    fn partial_cmp(&self, other: &Self) -> Option<Ordering> {
        Some(self.cmp(other))
    }
}

impl PartialEq for NuGetVersion<'_> {
    fn eq(&self, other: &Self) -> bool {
        self.cmp(other) == Ordering::Equal
    }
}

impl Eq for NuGetVersion<'_> {}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn four_parts_and_case() {
        let n = VersionScheme::NuGet;
        assert_eq!(n.compare("1.2.3.4", "1.2.3.5").unwrap(), Ordering::Less);
        assert_eq!(
            n.compare("1.0.0-RC.1", "1.0.0-rc.1").unwrap(),
            Ordering::Equal
        );
        for bad in ["", "1.2.3.4.5", "1.x", "1.0-", "1.0+", ".1", "1..0"] {
            assert!(n.parse_ok(bad).is_err(), "{bad:?}");
        }
    }
}
