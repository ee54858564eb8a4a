//! Whether an installed version falls in an OSV `affected` entry, following the OSV
//! schema's evaluation: an explicit `versions` list, then each SEMVER or ECOSYSTEM range
//! (GIT ranges name commits, not versions, and are skipped).
//!
//! Within a range the events are conceptually sorted by version and replayed: an
//! `introduced` at or below the version turns "affected" on, a `fixed` at or below it
//! or a `last_affected` below it turns it off. Replaying sorted events leaves the state
//! set by the greatest event that fires, so this module finds that event with one
//! linear scan instead of sorting: no comparator can make a sort panic, even with a
//! hostile feed whose versions do not form a total order. Impossible ranges (fixed
//! before introduced) simply evaluate by the same rule.

use std::cmp::Ordering;

use crowsnest_model::advisory::{Affected, Event, Range, RangeKind};

use crate::version::{VersionError, VersionScheme};

/// The outcome for one installed version against one `affected` entry.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Verdict {
    pub affected: bool,
    /// For an affected version: the `fixed` versions that end the affected interval it
    /// lies in (one per range that affects it, duplicates removed).
    pub fixed: Vec<String>,
    /// Ranges that could not be evaluated because an event version does not parse;
    /// they count as not affecting. The caller should report them.
    pub problems: Vec<VersionError>,
}

#[derive(Debug, thiserror::Error)]
pub enum RangeError {
    #[error("affected entry names no package, so its version scheme is unknown")]
    NoPackage,
    #[error("ecosystem {0:?} has no version ordering in Crowsnest")]
    UnknownEcosystem(String),
    #[error("installed version: {0}")]
    InvalidInstalled(#[from] VersionError),
}

/// Evaluates `affected` for `installed`, ordering ECOSYSTEM ranges by the scheme of the
/// entry's own ecosystem.
pub fn evaluate(affected: &Affected, installed: &str) -> Result<Verdict, RangeError> {
    let package = affected.package.as_ref().ok_or(RangeError::NoPackage)?;
    let scheme = VersionScheme::for_osv_ecosystem(&package.ecosystem)
        .ok_or_else(|| RangeError::UnknownEcosystem(package.ecosystem.clone()))?;
    Ok(evaluate_with(affected, scheme, installed)?)
}

/// Evaluates `affected` for `installed`, ordering ECOSYSTEM ranges by `scheme` (SEMVER
/// ranges always use SemVer). Fails only when `installed` does not parse.
pub fn evaluate_with(
    affected: &Affected,
    scheme: VersionScheme,
    installed: &str,
) -> Result<Verdict, VersionError> {
    scheme.parse_ok(installed)?;
    let mut verdict = Verdict::default();
    if affected
        .versions
        .iter()
        .any(|v| v == installed || scheme.compare(v, installed) == Ok(Ordering::Equal))
    {
        verdict.affected = true;
    }
    for range in &affected.ranges {
        let range_scheme = match range.kind {
            RangeKind::Git => continue,
            RangeKind::Semver => VersionScheme::Cargo,
            RangeKind::Ecosystem => scheme,
        };
        // A SEMVER range over a version the ecosystem writes differently cannot match.
        if range_scheme != scheme && range_scheme.parse_ok(installed).is_err() {
            continue;
        }
        match evaluate_range(range, range_scheme, installed) {
            Ok(None) => {}
            Ok(Some(fixed)) => {
                verdict.affected = true;
                if let Some(fixed) = fixed
                    && !verdict.fixed.contains(&fixed)
                {
                    verdict.fixed.push(fixed);
                }
            }
            Err(problem) => verdict.problems.push(problem),
        }
    }
    Ok(verdict)
}

/// `None` when the range does not affect `v`; `Some(fix)` when it does, with the fixed
/// version ending the interval if there is one.
fn evaluate_range(
    range: &Range,
    scheme: VersionScheme,
    v: &str,
) -> Result<Option<Option<String>>, VersionError> {
    // Validate every event first, so that comparisons below cannot fail.
    for event in &range.events {
        match event {
            Event::Introduced(x) if x == "0" => {}
            Event::Limit(x) if x == "*" => {}
            Event::Introduced(x) | Event::Fixed(x) | Event::LastAffected(x) | Event::Limit(x) => {
                scheme.parse_ok(x)?;
            }
        }
    }
    let cmp = |a: &str, b: &str| scheme.compare(a, b).unwrap_or(Ordering::Equal);

    // `limit` events bound the range from above: `v` must be below at least one.
    let mut limits = range.events.iter().filter_map(|e| match e {
        Event::Limit(x) => Some(x.as_str()),
        _ => None,
    });
    let mut has_limit = false;
    let below_a_limit = limits.any(|l| {
        has_limit = true;
        l == "*" || cmp(v, l) == Ordering::Less
    });
    if has_limit && !below_a_limit {
        return Ok(None);
    }

    // The greatest event that fires decides; on a tie the later one in the record wins,
    // as a stable sort followed by a replay would have it.
    let mut decisive: Option<(&str, bool)> = None;
    for event in &range.events {
        let (at, fires, turns_on) = match event {
            Event::Introduced(x) if x == "0" => ("0", true, true),
            Event::Introduced(x) => (x.as_str(), cmp(v, x) != Ordering::Less, true),
            Event::Fixed(x) => (x.as_str(), cmp(v, x) != Ordering::Less, false),
            Event::LastAffected(x) => (x.as_str(), cmp(v, x) == Ordering::Greater, false),
            Event::Limit(_) => continue,
        };
        if !fires {
            continue;
        }
        let later = match decisive {
            None => true,
            Some(("0", _)) => true,
            Some(_) if at == "0" => false,
            Some((best, _)) => cmp(at, best) != Ordering::Less,
        };
        if later {
            decisive = Some((at, turns_on));
        }
    }
    if !matches!(decisive, Some((_, true))) {
        return Ok(None);
    }

    // The interval ends at the nearest `fixed` above `v`, unless a `last_affected` at or
    // above `v` closes it first (then there is no fixed version to offer).
    let nearest = |want_fixed: bool, inclusive: bool| {
        range
            .events
            .iter()
            .filter_map(|e| match e {
                Event::Fixed(x) if want_fixed => Some(x.as_str()),
                Event::LastAffected(x) if !want_fixed => Some(x.as_str()),
                _ => None,
            })
            .filter(|x| match cmp(x, v) {
                Ordering::Greater => true,
                Ordering::Equal => inclusive,
                Ordering::Less => false,
            })
            .reduce(|a, b| if cmp(b, a) == Ordering::Less { b } else { a })
    };
    let fix = nearest(true, false);
    let last = nearest(false, true);
    let fix = match (fix, last) {
        (Some(f), Some(l)) if cmp(l, f) == Ordering::Less => None,
        (f, _) => f.map(str::to_owned),
    };
    Ok(Some(fix))
}

#[cfg(test)]
mod tests {
    use crowsnest_model::advisory::AffectedPackage;

    use super::*;

    fn affected(ecosystem: &str, kind: RangeKind, events: Vec<Event>) -> Affected {
        Affected {
            package: Some(AffectedPackage {
                ecosystem: ecosystem.into(),
                name: "pkg".into(),
                purl: None,
            }),
            ranges: vec![Range { kind, events }],
            ..Default::default()
        }
    }

    fn intro(v: &str) -> Event {
        Event::Introduced(v.into())
    }
    fn fixed(v: &str) -> Event {
        Event::Fixed(v.into())
    }
    fn last(v: &str) -> Event {
        Event::LastAffected(v.into())
    }
    fn limit(v: &str) -> Event {
        Event::Limit(v.into())
    }

    fn check(a: &Affected, v: &str) -> (bool, Vec<String>) {
        let verdict = evaluate(a, v).unwrap();
        assert!(verdict.problems.is_empty(), "{:?}", verdict.problems);
        (verdict.affected, verdict.fixed)
    }

    #[test]
    fn log4shell_maven_range() {
        let a = affected(
            "Maven",
            RangeKind::Ecosystem,
            vec![intro("2.0-beta9"), fixed("2.15.0")],
        );
        assert_eq!(check(&a, "2.14.1"), (true, vec!["2.15.0".to_owned()]));
        assert_eq!(check(&a, "2.0-beta9"), (true, vec!["2.15.0".to_owned()]));
        assert_eq!(check(&a, "2.15.0"), (false, vec![]));
        assert_eq!(check(&a, "2.0-beta8"), (false, vec![]));
    }

    #[test]
    fn several_intervals_in_any_event_order() {
        // Events deliberately out of order: evaluation sorts them conceptually.
        let a = affected(
            "PyPI",
            RangeKind::Ecosystem,
            vec![fixed("2.4.1"), intro("2.0"), fixed("1.2.3"), intro("0")],
        );
        assert_eq!(check(&a, "1.0"), (true, vec!["1.2.3".to_owned()]));
        assert_eq!(check(&a, "1.5"), (false, vec![]));
        assert_eq!(check(&a, "2.3"), (true, vec!["2.4.1".to_owned()]));
        assert_eq!(check(&a, "2.4.1"), (false, vec![]));
    }

    #[test]
    fn last_affected_is_inclusive_and_offers_no_fix() {
        let a = affected("npm", RangeKind::Semver, vec![intro("0"), last("1.4.0")]);
        assert_eq!(check(&a, "1.4.0"), (true, vec![]));
        assert_eq!(check(&a, "1.4.1"), (false, vec![]));
        assert_eq!(check(&a, "1.4.0-rc.1"), (true, vec![]));
    }

    #[test]
    fn limit_bounds_the_range() {
        let a = affected("Go", RangeKind::Semver, vec![intro("0"), limit("1.5.0")]);
        assert_eq!(check(&a, "v1.4.9"), (true, vec![]));
        assert_eq!(check(&a, "v1.5.0"), (false, vec![]));
        let star = affected("Go", RangeKind::Semver, vec![intro("1.0.0"), limit("*")]);
        assert_eq!(check(&star, "v9.0.0"), (true, vec![]));
    }

    #[test]
    fn explicit_versions_list() {
        let mut a = affected(
            "PyPI",
            RangeKind::Git,
            vec![intro("abc123"), fixed("def456")],
        );
        a.versions = vec!["1.0".into(), "1.1".into()];
        assert_eq!(check(&a, "1.0.0"), (true, vec![]));
        assert_eq!(check(&a, "1.2"), (false, vec![]));
    }

    #[test]
    fn debian_source_version_with_fix() {
        let a = affected(
            "Debian:12",
            RangeKind::Ecosystem,
            vec![intro("0"), fixed("1.2.3-1+deb12u1")],
        );
        assert_eq!(
            check(&a, "1.2.3-1"),
            (true, vec!["1.2.3-1+deb12u1".to_owned()])
        );
        assert_eq!(check(&a, "1.2.3-1+deb12u1"), (false, vec![]));
    }

    #[test]
    fn impossible_range_does_not_panic() {
        // fixed before introduced: the later event decides.
        let a = affected(
            "PyPI",
            RangeKind::Ecosystem,
            vec![intro("2.0"), fixed("1.0")],
        );
        assert_eq!(check(&a, "0.5"), (false, vec![]));
        assert_eq!(check(&a, "1.5"), (false, vec![]));
        assert_eq!(check(&a, "3.0"), (true, vec![]));
        // introduced and fixed at the same version: the later event in the record wins.
        let same = affected(
            "PyPI",
            RangeKind::Ecosystem,
            vec![intro("1.0"), fixed("1.0")],
        );
        assert_eq!(check(&same, "1.0"), (false, vec![]));
        let empty = affected("PyPI", RangeKind::Ecosystem, vec![]);
        assert_eq!(check(&empty, "1.0"), (false, vec![]));
    }

    #[test]
    fn bad_event_versions_are_reported_not_fatal() {
        let a = Affected {
            package: Some(AffectedPackage {
                ecosystem: "npm".into(),
                name: "x".into(),
                purl: None,
            }),
            ranges: vec![
                Range {
                    kind: RangeKind::Ecosystem,
                    events: vec![intro("not a version"), fixed("2.0.0")],
                },
                Range {
                    kind: RangeKind::Ecosystem,
                    events: vec![intro("1.0.0"), fixed("1.5.0")],
                },
            ],
            ..Default::default()
        };
        let verdict = evaluate(&a, "1.2.0").unwrap();
        assert!(verdict.affected);
        assert_eq!(verdict.fixed, vec!["1.5.0".to_owned()]);
        assert_eq!(verdict.problems.len(), 1);
        assert_eq!(verdict.problems[0].version, "not a version");
    }

    #[test]
    fn errors_name_the_cause() {
        let a = affected("npm", RangeKind::Ecosystem, vec![intro("0")]);
        assert!(matches!(
            evaluate(&a, "1.0.0 beta"),
            Err(RangeError::InvalidInstalled(_))
        ));
        let unknown = affected("Hackage", RangeKind::Ecosystem, vec![intro("0")]);
        assert!(matches!(
            evaluate(&unknown, "1.0"),
            Err(RangeError::UnknownEcosystem(_))
        ));
        let no_package = Affected::default();
        assert!(matches!(
            evaluate(&no_package, "1.0"),
            Err(RangeError::NoPackage)
        ));
    }
}
