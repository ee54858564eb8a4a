//! Matching an inventory against advisories: which packages are affected by which
//! vulnerabilities.
//!
//! The matcher does no I/O. An [`AdvisorySource`] (the feeds crate's SQLite database in
//! production) answers which advisories name a package and what is known about the
//! exploitation of a CVE; an [`AdvisoryIndex`] over it compiles each answer once (see
//! [`crate::index`]) and keeps it, so matching many inventories against one feed version
//! asks the source once per package name and once per CVE. Matching turns the compiled
//! advisories into [`Finding`]s:
//!
//! - OS packages are looked up in the distro release's OSV ecosystem (`Debian:11`,
//!   `Alpine:v3.19`, `AlmaLinux:9`) under their **source** package name (Debian and
//!   Alpine key advisories by source package) and under their binary name (AlmaLinux
//!   keys them by binary rpm), each compared with its own version.
//! - Language packages are looked up in their ecosystem under the normalised name.
//! - Withdrawn advisories are skipped; an advisory counts only when one of its
//!   `affected` entries names the package in the ecosystem and its ranges contain the
//!   installed version.
//! - Advisories that share an id (alias), or that list the same CVE, become one finding
//!   per vulnerability per package, with the CVE as its id.
//!
//! Re-assessing stored inventories after a feed update: build one new [`AdvisoryIndex`]
//! over the updated database and match every inventory against it, from as many threads
//! as wanted (the index is `Sync` when its source is). An index must not outlive the
//! feed version it was built over: it never re-reads what it has compiled.

use std::collections::{BTreeSet, HashMap};
use std::sync::{Arc, Mutex, RwLock};

use crowsnest_model::advisory::Advisory;
use crowsnest_model::finding::{
    Exploitability, Finding, FindingPackage, FixStatus, Priority, RuntimeContext,
};
use crowsnest_model::intel::{EpssScore, Exploit, KevEntry};
use crowsnest_model::{Distro, Package, PackageKind};

use crate::finding::{AdvisoryFacts, FindingDetails, exploitability, finding_details};
use crate::index::{CompiledPackage, EntryVerdict};
use crate::priority;
use crate::version::{VersionError, VersionScheme};

/// Exploitation intelligence about one CVE.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct Intel {
    pub kev: Option<KevEntry>,
    pub epss: Option<EpssScore>,
    pub exploits: Vec<Exploit>,
}

/// Where the matcher gets advisories and intelligence from.
pub trait AdvisorySource {
    type Error: std::error::Error + Send + Sync + 'static;

    /// Advisories with an `affected` entry for `name` in `ecosystem` (a release-qualified
    /// ecosystem such as `Debian:11` matches only that release), withdrawn ones
    /// included. The matcher passes names already normalised (see [`normalize_name`])
    /// and re-checks every entry, so a source may return more than needed.
    fn advisories_for(&self, ecosystem: &str, name: &str) -> Result<Vec<Advisory>, Self::Error>;

    /// KEV, EPSS and Exploit-DB facts for a CVE id.
    fn intel(&self, cve: &str) -> Result<Intel, Self::Error>;
}

/// Compiled advisories by lookup ecosystem, then normalised name (two levels so that a
/// lookup borrows its key instead of allocating one).
type Compiled = HashMap<String, HashMap<String, Arc<CompiledPackage>>>;

/// The advisories of one feed version, compiled for matching as packages ask for them
/// and kept: each (ecosystem, name) is fetched from the source and compiled once, each
/// CVE's intelligence fetched once. Build a new index after the advisory data changes.
///
/// Memory grows with the distinct package names looked up, bounded by the database
/// (docs/benchmarks.md records the size of a fully loaded index).
pub struct AdvisoryIndex<S> {
    /// Behind a mutex so the index is `Sync` for any `Send` source (a SQLite connection
    /// is not `Sync`), letting one inventory be matched on several threads; only cold
    /// lookups take it.
    source: Mutex<S>,
    packages: RwLock<Compiled>,
    intel: RwLock<HashMap<String, Arc<Intel>>>,
}

impl<S: AdvisorySource> AdvisoryIndex<S> {
    pub fn new(source: S) -> Self {
        AdvisoryIndex {
            source: Mutex::new(source),
            packages: RwLock::new(HashMap::new()),
            intel: RwLock::new(HashMap::new()),
        }
    }

    pub fn into_source(self) -> S {
        self.source
            .into_inner()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
    }

    /// Compiles the advisories of (`ecosystem`, `name`) now rather than on first use:
    /// a service loads a feed version's index this way before it re-assesses.
    pub fn prepare(&self, ecosystem: &str, name: &str) -> Result<(), MatchError<S::Error>> {
        self.package(ecosystem, &normalize_name(ecosystem, name))
            .map(drop)
            .map_err(|source| MatchError {
                ecosystem: ecosystem.to_owned(),
                name: name.to_owned(),
                source,
            })
    }

    /// Number of (ecosystem, name) keys compiled so far.
    pub fn compiled_packages(&self) -> usize {
        read(&self.packages).values().map(HashMap::len).sum()
    }

    /// `name` is already normalised.
    fn package(&self, ecosystem: &str, name: &str) -> Result<Arc<CompiledPackage>, S::Error> {
        if let Some(hit) = read(&self.packages)
            .get(ecosystem)
            .and_then(|names| names.get(name))
        {
            return Ok(hit.clone());
        }
        // No map lock is held while the source answers and the answer compiles: a slow
        // query must not serialise other threads' hits. Two threads may then compile
        // the same key once each; the first insert is kept.
        let advisories = lock(&self.source).advisories_for(ecosystem, name)?;
        let compiled = Arc::new(CompiledPackage::compile(ecosystem, name, &advisories));
        Ok(write(&self.packages)
            .entry(ecosystem.to_owned())
            .or_default()
            .entry(name.to_owned())
            .or_insert(compiled)
            .clone())
    }

    fn intel(&self, cve: &str) -> Result<Arc<Intel>, S::Error> {
        if let Some(hit) = read(&self.intel).get(cve) {
            return Ok(hit.clone());
        }
        let found = Arc::new(lock(&self.source).intel(cve)?);
        Ok(write(&self.intel)
            .entry(cve.to_owned())
            .or_insert(found)
            .clone())
    }
}

/// A poisoned lock only means another thread panicked while inserting a complete value;
/// the map itself is still consistent.
fn read<T>(lock: &RwLock<T>) -> std::sync::RwLockReadGuard<'_, T> {
    lock.read().unwrap_or_else(|poisoned| poisoned.into_inner())
}

fn lock<T>(mutex: &Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    mutex
        .lock()
        .unwrap_or_else(|poisoned| poisoned.into_inner())
}

fn write<T>(lock: &RwLock<T>) -> std::sync::RwLockWriteGuard<'_, T> {
    lock.write()
        .unwrap_or_else(|poisoned| poisoned.into_inner())
}

#[derive(Debug, thiserror::Error)]
#[error("looking up advisories for {ecosystem} package {name}: {source}")]
pub struct MatchError<E: std::error::Error + 'static> {
    pub ecosystem: String,
    pub name: String,
    #[source]
    pub source: E,
}

/// Something the matcher could not assess. Matching goes on; callers show these so that
/// a silent gap is never mistaken for "no vulnerabilities".
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum MatchProblem {
    /// An OS package, but the image's distro is unknown or has no advisory data.
    NoDistroEcosystem {
        package: String,
        distro: Option<String>,
    },
    /// The installed version does not parse in the ecosystem's scheme.
    InvalidInstalledVersion {
        package: String,
        error: VersionError,
    },
    /// An advisory range holds a version that does not parse; that range was skipped.
    InvalidAdvisoryRange {
        advisory: String,
        package: String,
        error: VersionError,
    },
}

impl std::fmt::Display for MatchProblem {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            MatchProblem::NoDistroEcosystem { package, distro } => match distro {
                Some(d) => write!(f, "{package}: no advisory data for distro {d}"),
                None => write!(f, "{package}: OS package but the image's distro is unknown"),
            },
            MatchProblem::InvalidInstalledVersion { package, error } => {
                write!(f, "{package}: not assessed, {error}")
            }
            MatchProblem::InvalidAdvisoryRange {
                advisory,
                package,
                error,
            } => write!(f, "{advisory} for {package}: range skipped, {error}"),
        }
    }
}

/// The result of matching one inventory.
#[derive(Clone, Debug, Default)]
pub struct MatchReport {
    /// Sorted by priority, highest first.
    pub findings: Vec<Finding>,
    pub problems: Vec<MatchProblem>,
}

/// Matches `packages` (one image's inventory) against the advisories of `index`. OS
/// packages need `distro`. Findings carry a priority without runtime context; see
/// [`match_in_context`].
pub fn match_packages<S: AdvisorySource + Send>(
    index: &AdvisoryIndex<S>,
    packages: &[Package],
    distro: Option<&Distro>,
) -> Result<MatchReport, MatchError<S::Error>> {
    match_in_context(index, packages, distro, None)
}

/// [`match_packages`], with the priority raised by what is known about where the image
/// runs.
pub fn match_in_context<S: AdvisorySource + Send>(
    index: &AdvisoryIndex<S>,
    packages: &[Package],
    distro: Option<&Distro>,
    context: Option<&RuntimeContext>,
) -> Result<MatchReport, MatchError<S::Error>> {
    let distro_ecosystem = distro.and_then(Distro::osv_ecosystem);
    let distro_ecosystem = distro_ecosystem.as_deref();
    let threads = std::thread::available_parallelism()
        .map_or(1, std::num::NonZero::get)
        .min(packages.len() / PACKAGES_PER_THREAD)
        .max(1);
    let mut report = if threads == 1 {
        match_chunk(index, packages, distro, distro_ecosystem, context)?
    } else {
        // Packages are independent: chunks match on their own threads and their reports
        // are joined in package order, so the result equals the sequential one (the
        // final sort is stable).
        let chunk = packages.len().div_ceil(threads);
        let parts = std::thread::scope(|scope| {
            let handles: Vec<_> = packages
                .chunks(chunk)
                .map(|part| {
                    scope.spawn(move || match_chunk(index, part, distro, distro_ecosystem, context))
                })
                .collect();
            handles
                .into_iter()
                .map(|h| {
                    h.join()
                        .unwrap_or_else(|panic| std::panic::resume_unwind(panic))
                })
                .collect::<Vec<_>>()
        });
        let mut report = MatchReport::default();
        for part in parts {
            let part = part?;
            report.findings.extend(part.findings);
            report.problems.extend(part.problems);
        }
        report
    };
    priority::sort(&mut report.findings);
    Ok(report)
}

/// Below this many packages per thread, starting threads costs more than it saves.
const PACKAGES_PER_THREAD: usize = 128;

/// Matches consecutive packages of one inventory, unsorted.
fn match_chunk<S: AdvisorySource>(
    index: &AdvisoryIndex<S>,
    packages: &[Package],
    distro: Option<&Distro>,
    distro_ecosystem: Option<&str>,
    context: Option<&RuntimeContext>,
) -> Result<MatchReport, MatchError<S::Error>> {
    let mut report = MatchReport::default();
    for package in packages {
        let Some(lookups) = lookups(package, distro, distro_ecosystem, &mut report) else {
            continue;
        };
        let mut compiled = Vec::with_capacity(lookups.len());
        for lookup in &lookups {
            compiled.push(
                index
                    .package(&lookup.ecosystem, &lookup.name)
                    .map_err(|source| MatchError {
                        ecosystem: lookup.ecosystem.clone(),
                        name: lookup.name.clone(),
                        source,
                    })?,
            );
        }
        let hits = affecting_advisories(&lookups, &compiled, &mut report);
        if hits.is_empty() {
            continue;
        }
        for group in group_by_vulnerability(&hits) {
            let finding = build_finding(index, package, &lookups[0], &hits, &group, context)?;
            report.findings.push(finding);
        }
    }
    Ok(report)
}

/// One (ecosystem, name, version) to look an installed package up under.
struct Lookup {
    ecosystem: String,
    scheme: VersionScheme,
    name: String,
    version: String,
    /// Set when `name` is the source package's name.
    via_source: bool,
}

fn lookups(
    package: &Package,
    distro: Option<&Distro>,
    distro_ecosystem: Option<&str>,
    report: &mut MatchReport,
) -> Option<Vec<Lookup>> {
    let label = || format!("{} {} ({})", package.name, package.version, package.kind);
    let ecosystem = if package.kind.is_os() {
        match distro_ecosystem {
            Some(e) => e.to_owned(),
            None => {
                report.problems.push(MatchProblem::NoDistroEcosystem {
                    package: label(),
                    distro: distro.map(|d| format!("{} {}", d.id, d.version_id)),
                });
                return None;
            }
        }
    } else {
        package.kind.osv_language_ecosystem()?.to_owned()
    };
    // Every ecosystem Crowsnest matches in has a scheme; a distro without one has no
    // `osv_ecosystem` either.
    let scheme = VersionScheme::for_osv_ecosystem(&ecosystem)?;
    let with_epoch = |v: &str| match (package.kind, package.epoch) {
        (PackageKind::Rpm, Some(e)) if e != 0 && !v.contains(':') => format!("{e}:{v}"),
        _ => v.to_owned(),
    };
    let mut out = Vec::with_capacity(2);
    if package.kind.is_os()
        && let Some(src) = &package.source
        && src.name != package.name
    {
        out.push(Lookup {
            ecosystem: ecosystem.clone(),
            scheme,
            name: normalize_name(&ecosystem, &src.name),
            version: with_epoch(&src.version),
            via_source: true,
        });
    }
    out.push(Lookup {
        name: normalize_name(&ecosystem, &package.name),
        version: with_epoch(&package.version),
        ecosystem,
        scheme,
        via_source: false,
    });
    for lookup in &mut out {
        if let Err(error) = lookup.scheme.parse_ok(&lookup.version) {
            report.problems.push(MatchProblem::InvalidInstalledVersion {
                package: label(),
                error,
            });
            return None;
        }
    }
    Some(out)
}

/// An advisory whose ranges contain the installed version.
struct Hit<'a> {
    facts: &'a AdvisoryFacts,
    /// Found under the source package's name.
    via_source: bool,
    fixed: Vec<&'a str>,
    fix_status: FixStatus,
}

/// The advisories in `compiled` (one per lookup, same order) that affect the package.
fn affecting_advisories<'a>(
    lookups: &[Lookup],
    compiled: &'a [Arc<CompiledPackage>],
    report: &mut MatchReport,
) -> Vec<Hit<'a>> {
    let mut hits: Vec<Hit<'a>> = Vec::new();
    for (lookup, package) in lookups.iter().zip(compiled) {
        // `lookups` checked that the installed version parses.
        let Some(installed) = package.installed(&lookup.version) else {
            continue;
        };
        // The source lookup comes first: when both names match, keep that hit. Within
        // one lookup's list, only a list that repeats an id needs the check.
        let earlier = hits.len();
        for advisory in &package.advisories {
            let checked = if package.distinct_ids {
                &hits[..earlier]
            } else {
                &hits[..]
            };
            if checked.iter().any(|h| h.facts.id == advisory.facts.id) {
                continue;
            }
            let mut fixed: Vec<&str> = Vec::new();
            let mut fix_status: Option<FixStatus> = None;
            let problem = |error: &VersionError| {
                report.problems.push(MatchProblem::InvalidAdvisoryRange {
                    advisory: advisory.facts.id.clone(),
                    package: format!("{} {}", lookup.ecosystem, lookup.name),
                    error: error.clone(),
                })
            };
            for verdict in advisory.evaluate(installed, problem) {
                if !verdict.affected {
                    continue;
                }
                // An advisory affects the package when any of its entries does; a fix
                // offered by one entry wins over the others' silence (FixAvailable
                // orders first).
                let status = fix_status_of(&verdict);
                fix_status = Some(fix_status.map_or(status, |s| s.min(status)));
                for f in verdict.fixed {
                    if !fixed.contains(&f) {
                        fixed.push(f);
                    }
                }
            }
            if let Some(fix_status) = fix_status {
                hits.push(Hit {
                    facts: &advisory.facts,
                    via_source: lookup.via_source,
                    fixed,
                    fix_status,
                });
            }
        }
    }
    hits
}

/// The fix status one affecting entry states.
fn fix_status_of(verdict: &EntryVerdict<'_>) -> FixStatus {
    if !verdict.fixed.is_empty() {
        return FixStatus::FixAvailable;
    }
    if verdict.wont_fix {
        return FixStatus::WontFix;
    }
    // Affected through a version range that is still open (or closed by last_affected):
    // the source has no fix. Affected only through a list of versions or a GIT range:
    // the source does not say in versions whether a fix exists.
    if verdict.has_version_range {
        return FixStatus::NoFixAvailable;
    }
    FixStatus::Unknown
}

/// Package names as advisories spell them (PEP 503 for PyPI, `group:artifact` for Maven, ...).
pub use crowsnest_model::names::normalize_package_name as normalize_name;

/// One vulnerability among the hits: indices into the hit list and every id it is
/// known by.
struct Group<'a> {
    members: Vec<usize>,
    ids: BTreeSet<&'a str>,
}

/// Groups hits into vulnerabilities. An advisory known by a CVE (its id, an alias or
/// Alpine's `upstream`) is one unit keyed by all its ids. An advisory that only
/// *relates* CVEs (a DSA or ALSA fixing several at once) becomes one unit per related
/// CVE, keyed by that CVE alone, so that it does not glue unrelated CVEs together.
/// Units sharing a key are merged (union-find).
fn group_by_vulnerability<'a>(hits: &[Hit<'a>]) -> Vec<Group<'a>> {
    struct Unit<'a> {
        hit: usize,
        keys: &'a [String],
    }
    let mut units: Vec<Unit<'a>> = Vec::new();
    for (i, hit) in hits.iter().enumerate() {
        let f = hit.facts;
        if f.ids.iter().any(|id| id.starts_with("CVE-")) || f.related_cves.is_empty() {
            units.push(Unit {
                hit: i,
                keys: &f.ids,
            });
        } else {
            for cve in &f.related_cves {
                units.push(Unit {
                    hit: i,
                    keys: std::slice::from_ref(cve),
                });
            }
        }
    }
    let mut parent: Vec<usize> = (0..units.len()).collect();
    fn find(parent: &mut [usize], mut x: usize) -> usize {
        while parent[x] != x {
            parent[x] = parent[parent[x]];
            x = parent[x];
        }
        x
    }
    let mut owner: HashMap<&str, usize> = HashMap::new();
    for (u, unit) in units.iter().enumerate() {
        for key in unit.keys {
            match owner.get(key.as_str()) {
                Some(&other) => {
                    let (a, b) = (find(&mut parent, u), find(&mut parent, other));
                    parent[a] = b;
                }
                None => {
                    owner.insert(key, u);
                }
            }
        }
    }
    let mut groups: Vec<Group<'a>> = Vec::new();
    let mut group_of_root: HashMap<usize, usize> = HashMap::new();
    for u in 0..units.len() {
        let root = find(&mut parent, u);
        let g = *group_of_root.entry(root).or_insert_with(|| {
            groups.push(Group {
                members: Vec::new(),
                ids: BTreeSet::new(),
            });
            groups.len() - 1
        });
        let group = &mut groups[g];
        if !group.members.contains(&units[u].hit) {
            group.members.push(units[u].hit);
        }
        group.ids.extend(units[u].keys.iter().map(String::as_str));
        group.ids.insert(&hits[units[u].hit].facts.id);
    }
    groups
}

fn build_finding<S: AdvisorySource>(
    index: &AdvisoryIndex<S>,
    package: &Package,
    lookup: &Lookup,
    hits: &[Hit<'_>],
    group: &Group<'_>,
    context: Option<&RuntimeContext>,
) -> Result<Finding, MatchError<S::Error>> {
    let mut members: Vec<&Hit<'_>> = group.members.iter().map(|&i| &hits[i]).collect();
    members.sort_by(|a, b| a.facts.id.cmp(&b.facts.id));
    let id = primary_id(group, &members);
    let aliases: Vec<String> = group
        .ids
        .iter()
        .filter(|i| **i != id)
        .map(|i| (*i).to_owned())
        .collect();
    let advisories: Vec<String> = members.iter().map(|h| h.facts.id.clone()).collect();

    let via_source = members.iter().any(|h| h.via_source);
    let ecosystem = lookup.ecosystem.clone();
    let installed_version = installed_version(package, via_source);

    let mut fixed_versions: Vec<String> = Vec::new();
    for f in members.iter().flat_map(|h| &h.fixed) {
        if !fixed_versions.iter().any(|seen| seen == f) {
            fixed_versions.push((*f).to_owned());
        }
    }
    // Fixed versions all parsed when the advisories were compiled.
    fixed_versions.sort_by(|a, b| {
        lookup
            .scheme
            .compare(a, b)
            .unwrap_or(std::cmp::Ordering::Equal)
    });
    let fix_status = members
        .iter()
        .map(|h| h.fix_status)
        .min()
        .unwrap_or(FixStatus::Unknown);

    let FindingDetails {
        severity,
        severity_source,
        cvss,
        summary,
        references,
    } = finding_details(members.iter().map(|h| h.facts), package.kind.is_os());

    let mut intel = Vec::new();
    for cve in group.ids.iter().filter(|i| i.starts_with("CVE-")) {
        intel.push(index.intel(cve).map_err(|source| MatchError {
            ecosystem: ecosystem.clone(),
            name: package.name.clone(),
            source,
        })?);
    }
    let intel: Vec<&Intel> = intel.iter().map(Arc::as_ref).collect();
    let exploitability: Exploitability = exploitability(&intel);

    let mut finding = Finding {
        id,
        aliases,
        package: FindingPackage {
            name: package.name.clone(),
            version: package.version.clone(),
            kind: package.kind,
            purl: package.purl.clone(),
            ecosystem,
            layer: package.layer.clone(),
            matched_source: via_source
                .then(|| package.source.as_ref().map(|s| s.name.clone()))
                .flatten(),
            identity: package.identity.clone(),
        },
        installed_version,
        fixed_versions,
        fix_status,
        severity,
        severity_source,
        cvss,
        summary,
        references,
        exploitability,
        priority: Priority::default(),
        advisories,
    };
    finding.priority = priority::assess(&finding, context);
    Ok(finding)
}

fn installed_version(package: &Package, via_source: bool) -> String {
    let version = match (&package.source, via_source) {
        (Some(src), true) => src.version.as_str(),
        _ => package.version.as_str(),
    };
    match (package.kind, package.epoch) {
        (PackageKind::Rpm, Some(e)) if e != 0 && !version.contains(':') => format!("{e}:{version}"),
        _ => version.to_owned(),
    }
}

/// The CVE of the first advisory (by id) that is known by one, else the CVE the group
/// was split on, else the first advisory's own id.
fn primary_id(group: &Group<'_>, members: &[&Hit<'_>]) -> String {
    members
        .iter()
        .map(|h| h.facts.primary_id.as_str())
        .find(|id| id.starts_with("CVE-") && group.ids.contains(id))
        .or_else(|| group.ids.iter().copied().find(|i| i.starts_with("CVE-")))
        .unwrap_or(&members[0].facts.id)
        .to_owned()
}

#[cfg(test)]
mod tests {
    use std::convert::Infallible;
    use std::sync::Mutex;

    use crowsnest_model::SourcePackage;
    use crowsnest_model::intel::KevEntry;

    use super::*;

    /// Hand-written advisories answered from memory, filtered the way the database
    /// filters them (ecosystem and name of an `affected` entry).
    #[derive(Default)]
    struct Memory {
        advisories: Vec<Advisory>,
        intel: HashMap<String, Intel>,
        lookups: Mutex<Vec<(String, String)>>,
    }

    impl Memory {
        fn new(records: &[&str]) -> Self {
            Memory {
                advisories: records
                    .iter()
                    .map(|r| serde_json::from_str(r).unwrap())
                    .collect(),
                ..Default::default()
            }
        }
    }

    impl AdvisorySource for Memory {
        type Error = Infallible;
        fn advisories_for(&self, ecosystem: &str, name: &str) -> Result<Vec<Advisory>, Infallible> {
            self.lookups
                .lock()
                .unwrap()
                .push((ecosystem.to_owned(), name.to_owned()));
            Ok(self
                .advisories
                .iter()
                .filter(|a| {
                    a.affected
                        .iter()
                        .filter_map(|x| x.package.as_ref())
                        .any(|p| {
                            (p.ecosystem == ecosystem
                                || p.ecosystem.split(':').next() == Some(ecosystem))
                                && normalize_name(&p.ecosystem, &p.name) == name
                        })
                })
                .cloned()
                .collect())
        }
        fn intel(&self, cve: &str) -> Result<Intel, Infallible> {
            Ok(self.intel.get(cve).cloned().unwrap_or_default())
        }
    }

    fn index(records: &[&str]) -> AdvisoryIndex<Memory> {
        AdvisoryIndex::new(Memory::new(records))
    }

    fn package(kind: PackageKind, name: &str, version: &str) -> Package {
        Package {
            kind,
            name: name.into(),
            version: version.into(),
            epoch: None,
            arch: None,
            source: None,
            purl: format!("pkg:{}/{name}@{version}", kind.purl_type()),
            licenses: vec![],
            layer: None,
            evidence: vec![],
            identity: None,
        }
    }

    fn deb(name: &str, version: &str, source: &str, source_version: &str) -> Package {
        Package {
            source: Some(SourcePackage {
                name: source.into(),
                version: source_version.into(),
            }),
            ..package(PackageKind::Deb, name, version)
        }
    }

    fn distro(id: &str, version: &str) -> Distro {
        Distro {
            id: id.into(),
            version_id: version.into(),
            ..Default::default()
        }
    }

    const LOG4SHELL: &str = r#"{"id": "GHSA-jfh8-c2jp-5v3q", "aliases": ["CVE-2021-44228"],
        "summary": "Remote code injection in Log4j",
        "severity": [{"type": "CVSS_V3", "score": "CVSS:3.1/AV:N/AC:L/PR:N/UI:N/S:C/C:H/I:H/A:H"}],
        "affected": [{"package": {"ecosystem": "Maven", "name": "org.apache.logging.log4j:log4j-core"},
           "ranges": [{"type": "ECOSYSTEM", "events": [{"introduced": "2.13.0"}, {"fixed": "2.15.0"}]},
                      {"type": "ECOSYSTEM", "events": [{"introduced": "0"}, {"fixed": "2.3.1"}]}]}]}"#;

    #[test]
    fn maven_package_in_range_gives_cve_finding_with_fix() {
        let mut source = Memory::new(&[LOG4SHELL]);
        source.intel.insert(
            "CVE-2021-44228".into(),
            Intel {
                kev: Some(KevEntry {
                    cve: "CVE-2021-44228".into(),
                    vendor_project: "Apache".into(),
                    product: "Log4j2".into(),
                    vulnerability_name: "Log4Shell".into(),
                    date_added: "2021-12-10".into(),
                    due_date: Some("2021-12-24".into()),
                    known_ransomware_campaign_use: true,
                }),
                ..Default::default()
            },
        );
        let source = AdvisoryIndex::new(source);
        let pkgs = [
            package(
                PackageKind::Maven,
                "org.apache.logging.log4j:log4j-core",
                "2.14.1",
            ),
            package(
                PackageKind::Maven,
                "org.apache.logging.log4j:log4j-core",
                "2.15.0",
            ),
            package(
                PackageKind::Maven,
                "org.apache.logging.log4j:log4j-core",
                "2.3.1",
            ),
        ];
        let report = match_packages(&source, &pkgs, None).unwrap();
        assert!(report.problems.is_empty(), "{:?}", report.problems);
        assert_eq!(report.findings.len(), 1, "only 2.14.1 is affected");
        let f = &report.findings[0];
        assert_eq!(f.id, "CVE-2021-44228");
        assert_eq!(f.aliases, ["GHSA-jfh8-c2jp-5v3q"]);
        assert_eq!(f.installed_version, "2.14.1");
        assert_eq!(f.fixed_versions, ["2.15.0"]);
        assert_eq!(f.fix_status, FixStatus::FixAvailable);
        assert_eq!(f.severity, crowsnest_model::Severity::Critical);
        assert_eq!(f.cvss.as_ref().unwrap().base_score, 10.0);
        assert!(f.exploitability.in_kev);
        assert!(f.exploitability.kev.as_ref().unwrap().ransomware);
        assert_eq!(f.priority.score, 100.0);
        assert_eq!(f.package.ecosystem, "Maven");
    }

    #[test]
    fn withdrawn_advisories_are_never_reported() {
        let withdrawn = LOG4SHELL.replacen(
            r#""id": "GHSA-jfh8-c2jp-5v3q","#,
            r#""id": "GHSA-jfh8-c2jp-5v3q", "withdrawn": "2022-01-01T00:00:00Z","#,
            1,
        );
        let source = index(&[&withdrawn]);
        let pkgs = [package(
            PackageKind::Maven,
            "org.apache.logging.log4j:log4j-core",
            "2.14.1",
        )];
        assert!(
            match_packages(&source, &pkgs, None)
                .unwrap()
                .findings
                .is_empty()
        );
    }

    #[test]
    fn aliases_merge_into_one_finding_with_the_cve_as_id() {
        let source = index(&[
            r#"{"id": "PYSEC-2021-871", "aliases": ["CVE-2021-42343", "GHSA-hwqr-f3v9-hwxr"],
                "affected": [{"package": {"ecosystem": "PyPI", "name": "distributed"},
                  "ranges": [{"type": "ECOSYSTEM", "events": [{"introduced": "0"}, {"fixed": "2021.10.0"}]}]}]}"#,
            r#"{"id": "GHSA-hwqr-f3v9-hwxr", "aliases": ["PYSEC-2021-872"],
                "database_specific": {"severity": "CRITICAL"},
                "affected": [{"package": {"ecosystem": "PyPI", "name": "Distributed"},
                  "ranges": [{"type": "ECOSYSTEM", "events": [{"introduced": "0"}, {"fixed": "2021.10.0"}]}]}]}"#,
            r#"{"id": "PYSEC-2099-1", "aliases": ["CVE-2099-1"],
                "affected": [{"package": {"ecosystem": "PyPI", "name": "distributed"},
                  "ranges": [{"type": "ECOSYSTEM", "events": [{"introduced": "0"}]}]}]}"#,
        ]);
        let pkgs = [package(PackageKind::Python, "Distributed", "2021.9.1")];
        let report = match_packages(&source, &pkgs, None).unwrap();
        let ids: Vec<&str> = report.findings.iter().map(|f| f.id.as_str()).collect();
        assert_eq!(ids.len(), 2, "{ids:?}");
        let merged = report
            .findings
            .iter()
            .find(|f| f.id == "CVE-2021-42343")
            .unwrap();
        assert_eq!(
            merged.aliases,
            ["GHSA-hwqr-f3v9-hwxr", "PYSEC-2021-871", "PYSEC-2021-872"]
        );
        assert_eq!(merged.advisories, ["GHSA-hwqr-f3v9-hwxr", "PYSEC-2021-871"]);
        assert_eq!(merged.severity, crowsnest_model::Severity::Critical);
        let open = report
            .findings
            .iter()
            .find(|f| f.id == "CVE-2099-1")
            .unwrap();
        assert_eq!(open.fix_status, FixStatus::NoFixAvailable);
        assert!(open.fixed_versions.is_empty());
    }

    const DSA_OPENSSL: &str = r#"{"id": "DSA-5139-1", "summary": "openssl - security update",
        "related": ["CVE-2022-1292", "CVE-2022-2068"],
        "affected": [{"package": {"ecosystem": "Debian:11", "name": "openssl"},
           "ranges": [{"type": "ECOSYSTEM", "events": [{"introduced": "0"}, {"fixed": "1.1.1n-0+deb11u2"}]}]},
          {"package": {"ecosystem": "Debian:10", "name": "openssl"},
           "ranges": [{"type": "ECOSYSTEM", "events": [{"introduced": "0"}, {"fixed": "1.1.1n-0+deb10u2"}]}]}]}"#;
    const DSA_OPENSSL_LATER: &str = r#"{"id": "DSA-5169-1", "related": ["CVE-2022-2068"],
        "affected": [{"package": {"ecosystem": "Debian:11", "name": "openssl"},
           "ranges": [{"type": "ECOSYSTEM", "events": [{"introduced": "0"}, {"fixed": "1.1.1n-0+deb11u3"}]}]}]}"#;

    #[test]
    fn debian_binary_matched_through_its_source_one_finding_per_cve() {
        let source = index(&[DSA_OPENSSL, DSA_OPENSSL_LATER]);
        // The binary's version carries a binNMU suffix the source version lacks.
        let pkgs = [deb(
            "libssl1.1",
            "1.1.1n-0+deb11u1+b1",
            "openssl",
            "1.1.1n-0+deb11u1",
        )];
        let report = match_packages(&source, &pkgs, Some(&distro("debian", "11"))).unwrap();
        assert!(report.problems.is_empty(), "{:?}", report.problems);
        let mut ids: Vec<&str> = report.findings.iter().map(|f| f.id.as_str()).collect();
        ids.sort();
        assert_eq!(ids, ["CVE-2022-1292", "CVE-2022-2068"]);
        let both = report
            .findings
            .iter()
            .find(|f| f.id == "CVE-2022-2068")
            .unwrap();
        assert_eq!(both.advisories, ["DSA-5139-1", "DSA-5169-1"]);
        assert_eq!(
            both.fixed_versions,
            ["1.1.1n-0+deb11u2", "1.1.1n-0+deb11u3"]
        );
        assert_eq!(both.package.name, "libssl1.1");
        assert_eq!(both.package.matched_source.as_deref(), Some("openssl"));
        assert_eq!(both.package.ecosystem, "Debian:11");
        assert_eq!(both.installed_version, "1.1.1n-0+deb11u1");
        let one = report
            .findings
            .iter()
            .find(|f| f.id == "CVE-2022-1292")
            .unwrap();
        assert_eq!(one.advisories, ["DSA-5139-1"]);
        assert!(!one.aliases.contains(&"CVE-2022-2068".to_owned()));

        // Another release's entry never applies: Debian 12 has none here.
        let none = match_packages(&source, &pkgs, Some(&distro("debian", "12"))).unwrap();
        assert!(none.findings.is_empty());
        // At the fixed source version: nothing.
        let fixed = [deb(
            "libssl1.1",
            "1.1.1n-0+deb11u3",
            "openssl",
            "1.1.1n-0+deb11u3",
        )];
        let r = match_packages(&source, &fixed, Some(&distro("debian", "11"))).unwrap();
        assert!(r.findings.is_empty());
    }

    #[test]
    fn binary_name_is_looked_up_too() {
        let source = index(&[
            r#"{"id": "ALSA-2024:2193", "summary": "Moderate: podman security update",
            "related": ["CVE-2023-39326"],
            "affected": [{"package": {"ecosystem": "AlmaLinux:9", "name": "podman-remote"},
               "ranges": [{"type": "ECOSYSTEM", "events": [{"introduced": "0"}, {"fixed": "2:4.9.4-0.1.el9"}]}]}]}"#,
        ]);
        let mut rpm = package(PackageKind::Rpm, "podman-remote", "4.9.4-0.1.el9");
        rpm.source = Some(SourcePackage {
            name: "podman".into(),
            version: "4.9.4-0.1.el9".into(),
        });
        let alma = distro("almalinux", "9.3");
        // Without the epoch the version would sort below the fix; with epoch 2 it is
        // the fixed version itself.
        rpm.epoch = Some(2);
        assert!(
            match_packages(&source, std::slice::from_ref(&rpm), Some(&alma))
                .unwrap()
                .findings
                .is_empty()
        );
        rpm.version = "4.6.1-5.el9".into();
        let report = match_packages(&source, &[rpm], Some(&alma)).unwrap();
        let f = &report.findings[0];
        assert_eq!(f.installed_version, "2:4.6.1-5.el9");
        assert_eq!(f.package.matched_source, None);
        assert_eq!(f.severity, crowsnest_model::Severity::Medium);
        assert_eq!(f.id, "CVE-2023-39326");
    }

    #[test]
    fn alpine_upstream_cve_is_the_id() {
        let source = index(&[
            r#"{"id": "ALPINE-CVE-2023-5678", "upstream": ["CVE-2023-5678"],
            "affected": [{"package": {"ecosystem": "Alpine:v3.18", "name": "openssl"},
               "ranges": [{"type": "ECOSYSTEM", "events": [{"introduced": "0"}, {"fixed": "3.1.4-r1"}]}]}]}"#,
        ]);
        let mut apk = package(PackageKind::Apk, "libcrypto3", "3.1.4-r0");
        apk.source = Some(SourcePackage {
            name: "openssl".into(),
            version: "3.1.4-r0".into(),
        });
        let report = match_packages(&source, &[apk], Some(&distro("alpine", "3.18.4"))).unwrap();
        assert_eq!(report.findings[0].id, "CVE-2023-5678");
        assert_eq!(report.findings[0].aliases, ["ALPINE-CVE-2023-5678"]);
    }

    #[test]
    fn gaps_are_reported_not_silent() {
        let source = index(&[LOG4SHELL]);
        let pkgs = [
            deb("bash", "5.1-2", "bash", "5.1-2"),
            package(
                PackageKind::Maven,
                "org.apache.logging.log4j:log4j-core",
                "not a version!",
            ),
        ];
        let report = match_packages(&source, &pkgs, None).unwrap();
        assert!(report.findings.is_empty());
        assert!(matches!(
            report.problems[0],
            MatchProblem::NoDistroEcosystem { distro: None, .. }
        ));
        assert!(matches!(
            report.problems[1],
            MatchProblem::InvalidInstalledVersion { .. }
        ));
        assert!(report.problems[1].to_string().contains("log4j-core"));
        let plan9 = match_packages(&source, &pkgs[..1], Some(&distro("plan9", "4"))).unwrap();
        assert!(plan9.problems[0].to_string().contains("plan9 4"));
    }

    #[test]
    fn hostile_advisories_do_not_stop_matching() {
        let long = "9".repeat(10_000);
        let bad = format!(
            r#"{{"id": "GHSA-bad", "aliases": ["CVE-2000-1", "CVE-2000-1"],
               "severity": [{{"type": "CVSS_V3", "score": "CVSS:3.1/AV:N/{long}"}}],
               "affected": [{{"package": {{"ecosystem": "npm", "name": "left-pad"}},
                 "ranges": [{{"type": "ECOSYSTEM", "events": [{{"introduced": "{long}"}}, {{"fixed": "x y z"}}]}},
                            {{"type": "SEMVER", "events": [{{"fixed": "1.0.0"}}, {{"introduced": "0"}}, {{"introduced": "0.5.0"}}]}}]}},
                 {{"package": {{"ecosystem": "npm", "name": "left-pad"}}}},
                 {{}}]}}"#
        );
        let source = index(&[&bad]);
        let pkgs = [package(PackageKind::Npm, "left-pad", "0.9.0")];
        let report = match_packages(&source, &pkgs, None).unwrap();
        assert_eq!(report.findings.len(), 1);
        assert_eq!(report.findings[0].fixed_versions, ["1.0.0"]);
        assert!(report.findings[0].cvss.is_none());
        assert!(matches!(
            report.problems[0],
            MatchProblem::InvalidAdvisoryRange { .. }
        ));
        assert!(report.problems[0].to_string().len() < 600);
    }

    #[test]
    fn fix_status_follows_the_source() {
        let source = index(&[
            r#"{"id": "DEBIAN-CVE-2024-1", "aliases": ["CVE-2024-1"],
                "affected": [{"package": {"ecosystem": "Debian:12", "name": "tar"},
                  "ranges": [{"type": "ECOSYSTEM", "events": [{"introduced": "0"}]}],
                  "ecosystem_specific": {"urgency": "unimportant", "status": "ignored"}}]}"#,
            r#"{"id": "DEBIAN-CVE-2024-2", "aliases": ["CVE-2024-2"],
                "affected": [{"package": {"ecosystem": "Debian:12", "name": "tar"},
                  "ranges": [{"type": "ECOSYSTEM", "events": [{"introduced": "0"}]}]}]}"#,
            r#"{"id": "DEBIAN-CVE-2024-3", "aliases": ["CVE-2024-3"],
                "affected": [{"package": {"ecosystem": "Debian:12", "name": "tar"},
                  "versions": ["1.34+dfsg-1.2"]}]}"#,
        ]);
        let pkgs = [deb("tar", "1.34+dfsg-1.2", "tar", "1.34+dfsg-1.2")];
        let report = match_packages(&source, &pkgs, Some(&distro("debian", "12"))).unwrap();
        let status = |id: &str| {
            let f = report.findings.iter().find(|f| f.id == id).unwrap();
            (f.fix_status, f.severity)
        };
        use crowsnest_model::Severity;
        assert_eq!(
            status("CVE-2024-1"),
            (FixStatus::WontFix, Severity::Negligible)
        );
        assert_eq!(
            status("CVE-2024-2"),
            (FixStatus::NoFixAvailable, Severity::Unknown)
        );
        assert_eq!(
            status("CVE-2024-3"),
            (FixStatus::Unknown, Severity::Unknown)
        );
    }

    #[test]
    fn index_asks_the_source_once_per_name() {
        let memo = AdvisoryIndex::new(Memory::new(&[DSA_OPENSSL]));
        let pkgs = [
            deb(
                "libssl1.1",
                "1.1.1n-0+deb11u1",
                "openssl",
                "1.1.1n-0+deb11u1",
            ),
            deb("openssl", "1.1.1n-0+deb11u1", "openssl", "1.1.1n-0+deb11u1"),
        ];
        let bullseye = distro("debian", "11");
        let first = match_packages(&memo, &pkgs, Some(&bullseye)).unwrap();
        let second = match_packages(&memo, &pkgs, Some(&bullseye)).unwrap();
        assert_eq!(first.findings, second.findings);
        assert_eq!(first.findings.len(), 4);
        let asked = memo.into_source().lookups.into_inner().unwrap();
        assert_eq!(
            asked,
            [
                ("Debian:11".to_owned(), "openssl".to_owned()),
                ("Debian:11".to_owned(), "libssl1.1".to_owned())
            ]
        );
    }
}
