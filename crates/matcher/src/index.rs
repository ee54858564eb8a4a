//! The compiled advisory index: per (ecosystem, normalised name), the advisories that
//! name the package with their ranges already in comparison form, and per advisory the
//! facts a finding needs (severity, CVSS, ids, references) derived once.
//!
//! Range evaluation here gives the same verdicts as [`crate::range::evaluate_with`],
//! which stays the reference (the tests compare the two on every entry of the real
//! archives). What changes is when the work is done. At compile time, the distinct
//! versions a package's ranges mention are parsed once and sorted by the scheme into
//! equivalence classes (versions the scheme calls equal, `1.0` and `1.0.0`, share a
//! class). At match time, one binary search places the installed version among those
//! classes, and every event comparison becomes an integer comparison: no version is
//! parsed again and nothing is allocated except the fixed versions a finding reports.

use std::cmp::Ordering;
use std::collections::HashMap;

use crowsnest_model::advisory::{Advisory, Affected, Event, Range, RangeKind};

use crate::finding::AdvisoryFacts;
use crate::version::{VersionError, VersionScheme};

/// The advisories of one package as one lookup sees them (ecosystem and normalised
/// name), ready to evaluate.
#[derive(Debug)]
pub(crate) struct CompiledPackage {
    /// The ordering of the lookup's ecosystem, used by ECOSYSTEM ranges and explicit
    /// version lists.
    ecosystem_classes: Classes,
    /// SemVer ordering for SEMVER ranges when the ecosystem orders differently (Go,
    /// npm); empty otherwise.
    semver_classes: Classes,
    /// Non-withdrawn advisories with at least one entry naming the package, in the
    /// order the source returned them.
    pub advisories: Vec<CompiledAdvisory>,
    /// No two of `advisories` share an id (the database merges them; other sources
    /// might not).
    pub distinct_ids: bool,
}

#[derive(Debug)]
pub(crate) struct CompiledAdvisory {
    pub facts: AdvisoryFacts,
    entries: Vec<CompiledEntry>,
}

/// One `affected` entry that names the package.
#[derive(Debug)]
struct CompiledEntry {
    /// Classes (ecosystem ordering) of the explicitly listed versions that parse.
    versions: Vec<u32>,
    ranges: Vec<CompiledRange>,
    /// The entry states a decision not to fix.
    wont_fix: bool,
    /// Some range is SEMVER or ECOSYSTEM (an open range means "no fix yet").
    has_version_range: bool,
}

#[derive(Debug)]
struct CompiledRange {
    /// Evaluated with `semver_classes` (a SEMVER range in an ecosystem that orders
    /// differently) rather than `ecosystem_classes`.
    semver: bool,
    /// The events, or the first event version that does not parse (the range is then
    /// skipped and reported, as [`crate::range::evaluate_with`] does).
    events: Result<Vec<CompiledEvent>, VersionError>,
}

#[derive(Debug)]
struct CompiledEvent {
    kind: EventKind,
    /// The event's version is the literal `0`, which the OSV evaluation treats as
    /// below everything when deciding which event is greatest.
    zero: bool,
    /// The version's class; `None` for `introduced: "0"` and `limit: "*"`, which are
    /// never compared.
    class: Option<u32>,
    /// The version as written, reported when it is the fix.
    version: String,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum EventKind {
    Introduced,
    Fixed,
    LastAffected,
    Limit,
}

/// Distinct versions sorted into equivalence classes: `representatives[c]` is one
/// version of class `c`, and classes ascend.
#[derive(Debug, Default)]
struct Classes {
    scheme: Option<VersionScheme>,
    representatives: Vec<String>,
}

/// Where an installed version falls among a package's classes.
#[derive(Clone, Copy, Debug)]
pub(crate) struct Position {
    /// Number of classes below the installed version.
    below: u32,
    /// Class `below` is equal to the installed version.
    equal: bool,
}

impl Position {
    /// The ordering of the installed version against a version of class `class`.
    fn installed_vs(self, class: u32) -> Ordering {
        match class.cmp(&self.below) {
            Ordering::Less => Ordering::Greater,
            Ordering::Equal if self.equal => Ordering::Equal,
            _ => Ordering::Less,
        }
    }
}

impl Classes {
    /// Sorts `versions` (each parses under `scheme`) into classes and returns the class
    /// of each input version.
    fn build(scheme: VersionScheme, versions: Vec<&str>) -> (Classes, HashMap<&str, u32>) {
        let order = |a: &str, b: &str| scheme.compare(a, b).unwrap_or(Ordering::Equal);
        let sorted = merge_sort(versions, &order);
        let mut class_of = HashMap::with_capacity(sorted.len());
        let mut representatives: Vec<String> = Vec::new();
        for v in sorted {
            let same = representatives
                .last()
                .is_some_and(|r| order(r, v) == Ordering::Equal);
            if !same {
                representatives.push(v.to_owned());
            }
            class_of.insert(v, representatives.len() as u32 - 1);
        }
        let classes = Classes {
            scheme: Some(scheme),
            representatives,
        };
        (classes, class_of)
    }

    /// `None` when `installed` does not parse under the scheme (or there is none).
    pub(crate) fn position(&self, installed: &str) -> Option<Position> {
        let scheme = self.scheme?;
        scheme.parse_ok(installed).ok()?;
        let reps = &self.representatives;
        // Every representative parsed when the classes were built, so comparisons
        // cannot fail here.
        let below = reps.partition_point(|r| {
            scheme.compare(r, installed).unwrap_or(Ordering::Equal) == Ordering::Less
        });
        let equal = reps.get(below).is_some_and(|r| {
            scheme.compare(r, installed).unwrap_or(Ordering::Less) == Ordering::Equal
        });
        Some(Position {
            below: below as u32,
            equal,
        })
    }
}

/// A stable merge sort that only ever calls `order`. Unlike the standard library's
/// sorts it cannot panic when a hostile feed's versions make the order inconsistent;
/// the result is then merely not sorted.
fn merge_sort<'a>(items: Vec<&'a str>, order: &impl Fn(&str, &str) -> Ordering) -> Vec<&'a str> {
    if items.len() <= 1 {
        return items;
    }
    let mut right = items;
    let left = right.drain(..right.len() / 2).collect();
    let (left, right) = (merge_sort(left, order), merge_sort(right, order));
    let mut out = Vec::with_capacity(left.len() + right.len());
    let (mut l, mut r) = (left.into_iter().peekable(), right.into_iter().peekable());
    while let (Some(a), Some(b)) = (l.peek(), r.peek()) {
        if order(b, a) == Ordering::Less {
            out.push(*b);
            r.next();
        } else {
            out.push(*a);
            l.next();
        }
    }
    out.extend(l);
    out.extend(r);
    out
}

/// The installed version placed among a package's classes, once per lookup.
#[derive(Clone, Copy, Debug)]
pub(crate) struct Installed {
    ecosystem: Position,
    /// `None` when the version is not SemVer: SEMVER ranges then cannot match.
    semver: Option<Position>,
}

/// The outcome of one entry for one installed version.
#[derive(Debug, Default)]
pub(crate) struct EntryVerdict<'a> {
    pub affected: bool,
    /// The fixed versions ending the intervals the version lies in.
    pub fixed: Vec<&'a str>,
    /// The entry states a decision not to fix.
    pub wont_fix: bool,
    pub has_version_range: bool,
}

impl CompiledPackage {
    /// Compiles the advisories a source returned for (`ecosystem`, `name`): only the
    /// entries that name the package there (exactly the release for a distro
    /// ecosystem), withdrawn advisories left out.
    pub(crate) fn compile(ecosystem: &str, name: &str, advisories: &[Advisory]) -> Self {
        let scheme = VersionScheme::for_osv_ecosystem(ecosystem);
        let semver_scheme = scheme
            .filter(|s| *s != VersionScheme::Cargo)
            .map(|_| VersionScheme::Cargo);
        let naming: Vec<(&Advisory, Vec<&Affected>)> = advisories
            .iter()
            .filter(|a| a.withdrawn.is_none())
            .map(|a| {
                let entries = a
                    .affected
                    .iter()
                    .filter(|e| names(e, ecosystem, name))
                    .collect();
                (a, entries)
            })
            .filter(|(_, entries): &(_, Vec<_>)| !entries.is_empty())
            .collect();

        // Every version the entries mention that parses, per ordering.
        let mut ecosystem_versions: Vec<&str> = Vec::new();
        let mut semver_versions: Vec<&str> = Vec::new();
        for entry in naming.iter().flat_map(|(_, entries)| entries) {
            let Some(scheme) = scheme else { break };
            for v in &entry.versions {
                if scheme.parse_ok(v).is_ok() {
                    ecosystem_versions.push(v);
                }
            }
            for range in &entry.ranges {
                let (range_scheme, into) = match (range.kind, semver_scheme) {
                    (RangeKind::Git, _) => continue,
                    (RangeKind::Semver, Some(s)) => (s, &mut semver_versions),
                    _ => (scheme, &mut ecosystem_versions),
                };
                into.extend(compared_versions(range).filter(|v| range_scheme.parse_ok(v).is_ok()));
            }
        }
        for list in [&mut ecosystem_versions, &mut semver_versions] {
            list.sort_unstable();
            list.dedup();
        }
        let (ecosystem_classes, ecosystem_class_of) = match scheme {
            Some(s) => Classes::build(s, ecosystem_versions),
            None => Default::default(),
        };
        let (semver_classes, semver_class_of) = match semver_scheme {
            Some(s) => Classes::build(s, semver_versions),
            None => Default::default(),
        };

        let compiled: Vec<CompiledAdvisory> = naming
            .into_iter()
            .map(|(advisory, entries)| CompiledAdvisory {
                facts: AdvisoryFacts::derive(advisory),
                entries: entries
                    .into_iter()
                    .map(|entry| CompiledEntry {
                        versions: entry
                            .versions
                            .iter()
                            .filter_map(|v| ecosystem_class_of.get(v.as_str()).copied())
                            .collect(),
                        ranges: entry
                            .ranges
                            .iter()
                            .filter(|r| r.kind != RangeKind::Git)
                            .map(|r| {
                                let semver = r.kind == RangeKind::Semver && semver_scheme.is_some();
                                let (range_scheme, class_of) = if semver {
                                    (VersionScheme::Cargo, &semver_class_of)
                                } else {
                                    (scheme.unwrap_or(VersionScheme::Cargo), &ecosystem_class_of)
                                };
                                CompiledRange {
                                    semver,
                                    events: compile_events(r, range_scheme, class_of),
                                }
                            })
                            .collect(),
                        wont_fix: states_wont_fix(entry),
                        has_version_range: entry.ranges.iter().any(|r| r.kind != RangeKind::Git),
                    })
                    .collect(),
            })
            .collect();
        let mut ids: Vec<&str> = compiled.iter().map(|a| a.facts.id.as_str()).collect();
        ids.sort_unstable();
        let distinct_ids = ids.windows(2).all(|w| w[0] != w[1]);
        CompiledPackage {
            ecosystem_classes,
            semver_classes,
            advisories: compiled,
            distinct_ids,
        }
    }

    /// Places `installed` (which parses under the lookup's scheme) among the classes.
    pub(crate) fn installed(&self, installed: &str) -> Option<Installed> {
        Some(Installed {
            ecosystem: self.ecosystem_classes.position(installed)?,
            semver: self.semver_classes.position(installed),
        })
    }
}

impl CompiledAdvisory {
    /// The verdict of each entry for `installed`; range problems go to `problem`.
    pub(crate) fn evaluate<'a>(
        &'a self,
        installed: Installed,
        mut problem: impl FnMut(&VersionError),
    ) -> impl Iterator<Item = EntryVerdict<'a>> {
        self.entries.iter().map(move |entry| {
            let mut verdict = EntryVerdict {
                affected: entry
                    .versions
                    .iter()
                    .any(|c| installed.ecosystem.installed_vs(*c) == Ordering::Equal),
                fixed: Vec::new(),
                wont_fix: entry.wont_fix,
                has_version_range: entry.has_version_range,
            };
            for range in &entry.ranges {
                let position = if range.semver {
                    // A SEMVER range over a version the ecosystem writes differently
                    // cannot match.
                    match installed.semver {
                        Some(p) => p,
                        None => continue,
                    }
                } else {
                    installed.ecosystem
                };
                match &range.events {
                    Err(e) => problem(e),
                    Ok(events) => {
                        if let Some(fixed) = evaluate_events(events, position) {
                            verdict.affected = true;
                            if let Some(fixed) = fixed
                                && !verdict.fixed.contains(&fixed)
                            {
                                verdict.fixed.push(fixed);
                            }
                        }
                    }
                }
            }
            verdict
        })
    }
}

/// The versions of a range that evaluation compares (all but `introduced: "0"` and
/// `limit: "*"`).
fn compared_versions(range: &Range) -> impl Iterator<Item = &str> {
    range.events.iter().filter_map(|e| match e {
        Event::Introduced(x) if x == "0" => None,
        Event::Limit(x) if x == "*" => None,
        Event::Introduced(x) | Event::Fixed(x) | Event::LastAffected(x) | Event::Limit(x) => {
            Some(x.as_str())
        }
    })
}

fn compile_events(
    range: &Range,
    scheme: VersionScheme,
    class_of: &HashMap<&str, u32>,
) -> Result<Vec<CompiledEvent>, VersionError> {
    // The first version that does not parse makes the range unusable.
    for v in compared_versions(range) {
        if !class_of.contains_key(v) {
            scheme.parse_ok(v)?;
        }
    }
    Ok(range
        .events
        .iter()
        .map(|e| {
            let (kind, version) = match e {
                Event::Introduced(x) => (EventKind::Introduced, x),
                Event::Fixed(x) => (EventKind::Fixed, x),
                Event::LastAffected(x) => (EventKind::LastAffected, x),
                Event::Limit(x) => (EventKind::Limit, x),
            };
            CompiledEvent {
                kind,
                zero: version == "0",
                class: match (kind, version.as_str()) {
                    (EventKind::Introduced, "0") | (EventKind::Limit, "*") => None,
                    _ => class_of.get(version.as_str()).copied(),
                },
                version: version.clone(),
            }
        })
        .collect())
}

/// The OSV evaluation of one range (see [`crate::range`]) on classes: `None` when the
/// range does not affect the version, `Some(fix)` when it does, with the fixed version
/// ending the interval if there is one.
fn evaluate_events(events: &[CompiledEvent], v: Position) -> Option<Option<&str>> {
    // Compiled events always carry a class except `introduced: "0"` and `limit: "*"`.
    let class = |e: &CompiledEvent| e.class.unwrap_or(0);

    let mut has_limit = false;
    let mut below_a_limit = false;
    for e in events.iter().filter(|e| e.kind == EventKind::Limit) {
        has_limit = true;
        if e.class.is_none() || v.installed_vs(class(e)) == Ordering::Less {
            below_a_limit = true;
            break;
        }
    }
    if has_limit && !below_a_limit {
        return None;
    }

    // The greatest event that fires decides; on a tie the later one in the record wins.
    let mut decisive: Option<(&CompiledEvent, bool)> = None;
    for e in events {
        let (fires, turns_on) = match e.kind {
            EventKind::Introduced if e.class.is_none() => (true, true),
            EventKind::Introduced => (v.installed_vs(class(e)) != Ordering::Less, true),
            EventKind::Fixed => (v.installed_vs(class(e)) != Ordering::Less, false),
            EventKind::LastAffected => (v.installed_vs(class(e)) == Ordering::Greater, false),
            EventKind::Limit => continue,
        };
        if !fires {
            continue;
        }
        let later = match decisive {
            None => true,
            Some((best, _)) if best.zero => true,
            Some(_) if e.zero => false,
            Some((best, _)) => class(e) >= class(best),
        };
        if later {
            decisive = Some((e, turns_on));
        }
    }
    if !matches!(decisive, Some((_, true))) {
        return None;
    }

    // The interval ends at the nearest `fixed` above `v`, unless a `last_affected` at or
    // above `v` closes it first (then there is no fixed version to offer).
    let nearest = |kind: EventKind, inclusive: bool| {
        events
            .iter()
            .filter(|e| e.kind == kind)
            .filter(|e| match v.installed_vs(class(e)) {
                Ordering::Less => true,
                Ordering::Equal => inclusive,
                Ordering::Greater => false,
            })
            .reduce(|a, b| if class(b) < class(a) { b } else { a })
    };
    let fix = nearest(EventKind::Fixed, false);
    let last = nearest(EventKind::LastAffected, true);
    Some(match (fix, last) {
        (Some(f), Some(l)) if class(l) < class(f) => None,
        (f, _) => f.map(|f| f.version.as_str()),
    })
}

/// Whether an `affected` entry names the looked-up package in its ecosystem: exactly the
/// release for distro ecosystems, the ecosystem for language ones.
fn names(affected: &Affected, ecosystem: &str, name: &str) -> bool {
    let Some(p) = &affected.package else {
        return false;
    };
    let ecosystem_matches = if ecosystem.contains(':') {
        p.ecosystem == ecosystem
    } else {
        p.ecosystem.split(':').next() == Some(ecosystem)
    };
    ecosystem_matches && crate::matching::normalize_name(&p.ecosystem, &p.name) == name
}

/// Distro converters mark a decision not to fix in the entry's `ecosystem_specific` or
/// `database_specific` (`"fix_status": "wont-fix"`, or Debian's `"status": "ignored"`
/// / `"no-dsa"` style values).
fn states_wont_fix(affected: &Affected) -> bool {
    [&affected.ecosystem_specific, &affected.database_specific]
        .into_iter()
        .flatten()
        .filter_map(|v| v.as_object())
        .flat_map(|o| {
            ["fix_status", "status"]
                .into_iter()
                .filter_map(|k| o.get(k))
        })
        .filter_map(|v| v.as_str())
        .any(|s| {
            let s = s.to_ascii_lowercase().replace(['_', ' '], "-");
            matches!(
                s.as_str(),
                "wont-fix" | "won't-fix" | "will-not-fix" | "ignored" | "no-dsa"
            )
        })
}

#[cfg(test)]
mod tests {
    use crowsnest_model::advisory::AffectedPackage;
    use proptest::prelude::*;

    use super::*;
    use crate::range::evaluate_with;

    /// Versions that tie (`1.0` = `1.0.0`), pre-releases, the literal `0`, `*` and ones
    /// that do not parse, so that every branch of the evaluation is reachable.
    const POOL: &[&str] = &[
        "0",
        "*",
        "0.5",
        "1.0",
        "1.0.0",
        "1.2.3",
        "1.2.3-rc.1",
        "2.0",
        "2.0.0-beta",
        "3",
        "v1.2.3",
        "10.0.1",
        "not a version",
    ];

    fn event() -> impl Strategy<Value = Event> {
        (0..4u8, prop::sample::select(POOL)).prop_map(|(kind, v)| {
            let v = v.to_owned();
            match kind {
                0 => Event::Introduced(v),
                1 => Event::Fixed(v),
                2 => Event::LastAffected(v),
                _ => Event::Limit(v),
            }
        })
    }

    fn range() -> impl Strategy<Value = Range> {
        (
            prop::sample::select(&[RangeKind::Ecosystem, RangeKind::Semver, RangeKind::Git][..]),
            prop::collection::vec(event(), 0..6),
        )
            .prop_map(|(kind, events)| Range { kind, events })
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(4000))]

        /// The compiled evaluation agrees with the reference evaluation of
        /// `range::evaluate_with` on affectedness, fixed versions and problems.
        #[test]
        fn compiled_ranges_agree_with_the_reference(
            ecosystem in prop::sample::select(&["PyPI", "npm", "Go", "crates.io", "Debian:12", "Maven"][..]),
            ranges in prop::collection::vec(range(), 0..4),
            versions in prop::collection::vec(prop::sample::select(POOL), 0..3),
            installed in prop::sample::select(POOL),
        ) {
            let scheme = VersionScheme::for_osv_ecosystem(ecosystem).unwrap();
            prop_assume!(scheme.parse_ok(installed).is_ok());
            let entry = Affected {
                package: Some(AffectedPackage {
                    ecosystem: ecosystem.to_owned(),
                    name: "pkg".into(),
                    purl: None,
                }),
                ranges,
                versions: versions.iter().map(|v| (*v).to_owned()).collect(),
                ..Default::default()
            };
            let advisory = Advisory {
                id: "TEST-1".into(),
                affected: vec![entry.clone()],
                ..Default::default()
            };
            let reference = evaluate_with(&entry, scheme, installed).unwrap();

            let compiled = CompiledPackage::compile(ecosystem, "pkg", &[advisory]);
            let place = compiled.installed(installed).unwrap();
            let mut problems = Vec::new();
            let verdicts: Vec<EntryVerdict<'_>> = compiled.advisories[0]
                .evaluate(place, |e| problems.push(e.clone()))
                .collect();
            prop_assert_eq!(verdicts.len(), 1);
            prop_assert_eq!(verdicts[0].affected, reference.affected);
            prop_assert_eq!(&verdicts[0].fixed, &reference.fixed);
            prop_assert_eq!(problems, reference.problems);
        }
    }

    #[test]
    fn inconsistent_orders_do_not_panic_the_sort() {
        let versions: Vec<&str> = (0..100).map(|i| POOL[i % POOL.len()]).collect();
        // Claims every pair is "less" both ways: no total order at all.
        let sorted = merge_sort(versions.clone(), &|_, _| Ordering::Less);
        assert_eq!(sorted.len(), versions.len());
    }

    #[test]
    fn withdrawn_and_unrelated_advisories_are_left_out() {
        let named = |ecosystem: &str, name: &str| Affected {
            package: Some(AffectedPackage {
                ecosystem: ecosystem.into(),
                name: name.into(),
                purl: None,
            }),
            ..Default::default()
        };
        let advisories = [
            Advisory {
                id: "A".into(),
                withdrawn: Some("2024-01-01T00:00:00Z".into()),
                affected: vec![named("Debian:12", "tar")],
                ..Default::default()
            },
            Advisory {
                id: "B".into(),
                affected: vec![named("Debian:11", "tar"), named("Debian:12", "cpio")],
                ..Default::default()
            },
            Advisory {
                id: "C".into(),
                affected: vec![named("Debian:12", "tar")],
                ..Default::default()
            },
        ];
        let compiled = CompiledPackage::compile("Debian:12", "tar", &advisories);
        let ids: Vec<&str> = compiled
            .advisories
            .iter()
            .map(|a| a.facts.id.as_str())
            .collect();
        assert_eq!(ids, ["C"]);
        assert!(compiled.distinct_ids);
    }
}
