//! Matching against the real advisory data: the feeds crate builds its database from
//! ../shared/feeds (plus Exploit-DB rows written in the upstream layout), and the
//! matcher runs over packages whose advisories are known.

mod match_db;

use std::collections::{BTreeMap, BTreeSet};
use std::io::Read;
use std::sync::{Mutex, OnceLock};

use crowsnest_feeds::{AdvisoryDb, normalize_package_name};
use crowsnest_matcher::{AdvisoryIndex, MatchReport, VersionScheme, evaluate, match_packages};
use crowsnest_model::advisory::Advisory;
use crowsnest_model::finding::{Finding, FixStatus};
use crowsnest_model::{Distro, Package, PackageKind, Severity, SourcePackage};
use match_db::{DbSource, open_real_db};

/// Syncs once per test binary; every test then opens its own read-only connection.
fn db() -> AdvisoryDb {
    static SYNCED: OnceLock<()> = OnceLock::new();
    static SYNCING: Mutex<()> = Mutex::new(());
    let _guard = SYNCING.lock().unwrap_or_else(|p| p.into_inner());
    SYNCED.get_or_init(|| {
        open_real_db("match-real-db");
    });
    open_real_db_readonly()
}

fn open_real_db_readonly() -> AdvisoryDb {
    let path = std::path::PathBuf::from(env!("CARGO_TARGET_TMPDIR"))
        .join("match-real-db/data/advisories.db");
    AdvisoryDb::open(&path).unwrap()
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

fn distro(id: &str, version: &str) -> Distro {
    Distro {
        id: id.into(),
        version_id: version.into(),
        ..Default::default()
    }
}

fn run(packages: &[Package], distro: Option<&Distro>) -> MatchReport {
    let report = match_packages(&AdvisoryIndex::new(DbSource(db())), packages, distro).unwrap();
    assert!(report.problems.is_empty(), "{:?}", report.problems);
    report
}

fn find<'a>(report: &'a MatchReport, id: &str) -> &'a Finding {
    report
        .findings
        .iter()
        .find(|f| f.id == id)
        .unwrap_or_else(|| panic!("no finding {id} in {:?}", ids(report)))
}

fn ids(report: &MatchReport) -> Vec<&str> {
    report.findings.iter().map(|f| f.id.as_str()).collect()
}

const LOG4J: &str = "org.apache.logging.log4j:log4j-core";

#[test]
fn log4shell_is_critical_in_kev_with_exploits_and_fixed_in_2_15_0() {
    let report = run(&[package(PackageKind::Maven, LOG4J, "2.14.1")], None);
    let f = find(&report, "CVE-2021-44228");
    assert_eq!(f.aliases, ["GHSA-jfh8-c2jp-5v3q"]);
    assert_eq!(f.severity, Severity::Critical);
    assert_eq!(f.cvss.as_ref().unwrap().base_score, 10.0);
    assert_eq!(f.fix_status, FixStatus::FixAvailable);
    assert_eq!(f.fixed_versions, ["2.15.0"]);
    let x = &f.exploitability;
    assert!(x.in_kev);
    assert_eq!(x.kev.as_ref().unwrap().date_added, "2021-12-10");
    assert!(x.exploit_published);
    assert_eq!(x.exploit_types, ["remote", "webapps"]);
    assert_eq!(
        x.exploit_uris,
        [
            "https://www.exploit-db.com/exploits/50592",
            "https://www.exploit-db.com/exploits/51183"
        ]
    );
    assert!(x.epss.as_ref().unwrap().score > 0.5);
    assert_eq!(f.priority.score, 100.0);
    // Log4Shell outranks its follow-up CVE-2021-45046 (not in KEV here or lower rated).
    assert_eq!(report.findings[0].id, "CVE-2021-44228");
    assert_eq!(find(&report, "CVE-2021-45046").fixed_versions, ["2.16.0"]);
    assert_eq!(report.findings.len(), 2, "{:?}", ids(&report));
}

#[test]
fn packages_at_their_fixed_version_are_not_reported() {
    let report = run(&[package(PackageKind::Maven, LOG4J, "2.15.0")], None);
    assert_eq!(ids(&report), ["CVE-2021-45046"]);
    let clean = run(
        &[
            package(PackageKind::Maven, LOG4J, "2.16.0"),
            package(PackageKind::Npm, "lodash", "4.17.21"),
            package(PackageKind::Python, "distributed", "2021.10.0"),
        ],
        None,
    );
    assert!(clean.findings.is_empty(), "{:?}", ids(&clean));
}

#[test]
fn withdrawn_advisory_is_not_reported() {
    let db = db();
    // The database does hold it, and its range does contain the version...
    let git2 = db.advisories_for("crates.io", "git2").unwrap();
    let withdrawn = git2.iter().find(|a| a.id == "RUSTSEC-2023-0002").unwrap();
    assert!(withdrawn.withdrawn.is_some());
    assert!(evaluate(&withdrawn.affected[0], "0.15.0").unwrap().affected);
    // ...but the matcher never reports it.
    let report = run(&[package(PackageKind::Cargo, "git2", "0.15.0")], None);
    assert!(
        report
            .findings
            .iter()
            .all(|f| !f.advisories.iter().any(|a| a == "RUSTSEC-2023-0002")),
        "{:?}",
        report.findings
    );
}

#[test]
fn debian_binary_package_is_matched_through_its_source() {
    let mut libssl = package(PackageKind::Deb, "libssl1.1", "1.1.1k-1+deb11u1");
    libssl.source = Some(SourcePackage {
        name: "openssl".into(),
        version: "1.1.1k-1+deb11u1".into(),
    });
    let bullseye = distro("debian", "11");
    // Nothing is filed under the binary name.
    assert!(
        db().advisories_for("Debian:11", "libssl1.1")
            .unwrap()
            .is_empty()
    );
    let report = run(std::slice::from_ref(&libssl), Some(&bullseye));
    let mut got: Vec<&str> = ids(&report);
    got.sort();
    assert_eq!(
        got,
        [
            "CVE-2021-4160",
            "CVE-2022-0778",
            "CVE-2022-1292",
            "CVE-2022-2068",
            "CVE-2022-2097",
            "CVE-2022-4304",
            "CVE-2022-4450",
            "CVE-2023-0215",
            "CVE-2023-0286",
        ],
        "DSA-4963-1 (fixed in deb11u1) must not appear"
    );
    let f = find(&report, "CVE-2022-0778");
    assert_eq!(f.advisories, ["DSA-5103-1"]);
    assert_eq!(f.package.name, "libssl1.1");
    assert_eq!(f.package.matched_source.as_deref(), Some("openssl"));
    assert_eq!(f.package.ecosystem, "Debian:11");
    assert_eq!(f.fixed_versions, ["1.1.1k-1+deb11u2"]);
    // No openssl CVE here is in KEV: the order comes from EPSS, severity and fix.
    assert!(report.findings.iter().all(|f| !f.exploitability.in_kev));
    assert!(
        report
            .findings
            .windows(2)
            .all(|w| w[0].priority.score >= w[1].priority.score)
    );
}

#[test]
fn ghsa_cve_alias_pair_gives_one_finding() {
    let report = run(
        &[package(PackageKind::Python, "Distributed", "2021.9.1")],
        None,
    );
    let matching: Vec<&Finding> = report
        .findings
        .iter()
        .filter(|f| f.id == "CVE-2021-42343" || f.aliases.iter().any(|a| a == "CVE-2021-42343"))
        .collect();
    assert_eq!(matching.len(), 1, "{:?}", ids(&report));
    let f = matching[0];
    assert_eq!(f.id, "CVE-2021-42343");
    assert_eq!(f.advisories, ["PYSEC-2021-871", "PYSEC-2021-872"]);
    for alias in [
        "GHSA-hwqr-f3v9-hwxr",
        "GHSA-j8fq-86c5-5v2r",
        "PYSEC-2021-871",
    ] {
        assert!(
            f.aliases.iter().any(|a| a == alias),
            "{alias} in {:?}",
            f.aliases
        );
    }
}

/// Every record of one ecosystem's archive, read straight from the zip.
fn archive(dir: &str) -> Vec<Advisory> {
    let path = crowsnest_testbed::shared()
        .join("feeds/osv")
        .join(dir)
        .join("all.zip");
    let mut zip = zip::ZipArchive::new(std::fs::File::open(path).unwrap()).unwrap();
    let mut out = Vec::new();
    for i in 0..zip.len() {
        let mut text = String::new();
        zip.by_index(i).unwrap().read_to_string(&mut text).unwrap();
        out.push(serde_json::from_str(&text).unwrap());
    }
    out
}

/// An inventory for one ecosystem built from its archive: `per_ecosystem` package
/// names, each at every version its advisories' events name (the boundaries where
/// matching mistakes happen), independent of the database.
fn inventory_from_archive(
    records: &[Advisory],
    ecosystem: &str,
    kind: PackageKind,
    per_ecosystem: usize,
) -> Vec<Package> {
    let mut versions: BTreeMap<String, BTreeSet<String>> = BTreeMap::new();
    for a in records {
        for affected in &a.affected {
            let Some(p) = &affected.package else { continue };
            if p.ecosystem != ecosystem {
                continue;
            }
            let entry = versions.entry(p.name.clone()).or_default();
            for event in affected.ranges.iter().flat_map(|r| &r.events) {
                use crowsnest_model::advisory::Event::*;
                let (Introduced(v) | Fixed(v) | LastAffected(v) | Limit(v)) = event;
                if v != "0" && v != "*" {
                    entry.insert(v.clone());
                }
            }
        }
    }
    // Spread the chosen names over the alphabet rather than taking the first ones.
    let step = (versions.len() / per_ecosystem).max(1);
    let mut out = Vec::new();
    for (name, vs) in versions.iter().step_by(step).take(per_ecosystem) {
        for v in vs.iter().take(4) {
            let v = if kind == PackageKind::Go && !v.starts_with('v') {
                format!("v{v}")
            } else {
                v.clone()
            };
            let mut p = package(kind, name, &v);
            if kind.is_os() {
                p.source = Some(SourcePackage {
                    name: name.clone(),
                    version: v.clone(),
                });
            }
            out.push(p);
        }
    }
    out
}

/// The oracle: ids of non-withdrawn records with an entry for the package whose ranges
/// contain its version, found by scanning the archive (not through the database index
/// nor the matcher's lookup, name normalisation and merging).
fn expected_ids(records: &[Advisory], ecosystem: &str, p: &Package) -> BTreeSet<String> {
    let want = normalize_package_name(ecosystem, &p.name);
    let scheme = VersionScheme::for_osv_ecosystem(ecosystem).unwrap();
    records
        .iter()
        .filter(|a| a.withdrawn.is_none())
        .filter(|a| {
            a.affected.iter().any(|e| {
                e.package.as_ref().is_some_and(|q| {
                    let same_eco = if ecosystem.contains(':') {
                        q.ecosystem == ecosystem
                    } else {
                        q.ecosystem.split(':').next() == Some(ecosystem)
                    };
                    same_eco && normalize_package_name(&q.ecosystem, &q.name) == want
                }) && crowsnest_matcher::range::evaluate_with(e, scheme, &p.version)
                    .is_ok_and(|v| v.affected)
            })
        })
        .map(|a| a.id.clone())
        .collect()
}

#[test]
fn no_false_positives_and_no_misses_against_the_archives() {
    let cases: &[(&str, &str, PackageKind, Option<Distro>)] = &[
        (
            "Debian",
            "Debian:11",
            PackageKind::Deb,
            Some(distro("debian", "11")),
        ),
        (
            "Debian",
            "Debian:10",
            PackageKind::Deb,
            Some(distro("debian", "10.13")),
        ),
        (
            "Alpine",
            "Alpine:v3.18",
            PackageKind::Apk,
            Some(distro("alpine", "3.18.4")),
        ),
        (
            "AlmaLinux",
            "AlmaLinux:9",
            PackageKind::Rpm,
            Some(distro("almalinux", "9.3")),
        ),
        ("PyPI", "PyPI", PackageKind::Python, None),
        ("Go", "Go", PackageKind::Go, None),
        ("crates.io", "crates.io", PackageKind::Cargo, None),
        ("npm", "npm", PackageKind::Npm, None),
        ("Maven", "Maven", PackageKind::Maven, None),
    ];
    let source = AdvisoryIndex::new(DbSource(db()));
    let mut checked = 0;
    let mut affected_packages = 0;
    for (dir, ecosystem, kind, distro) in cases {
        let records = archive(dir);
        let packages = inventory_from_archive(&records, ecosystem, *kind, 100);
        assert!(!packages.is_empty(), "{ecosystem}");
        let report = match_packages(&source, &packages, distro.as_ref()).unwrap();
        for p in &packages {
            let expected = expected_ids(&records, ecosystem, p);
            let mine: Vec<&Finding> = report
                .findings
                .iter()
                .filter(|f| f.package.purl == p.purl)
                .collect();
            let reported: BTreeSet<String> = mine
                .iter()
                .flat_map(|f| f.advisories.iter().cloned())
                .collect();
            let invalid_version = report.problems.iter().any(|pr| {
                matches!(pr, crowsnest_matcher::MatchProblem::InvalidInstalledVersion { package, .. }
                    if package.starts_with(&format!("{} {} ", p.name, p.version)))
            });
            assert_eq!(
                reported, expected,
                "{ecosystem} {} {}: reported (left) vs archive (right)",
                p.name, p.version
            );
            // No vulnerability is reported twice for one package.
            let mut seen = BTreeSet::new();
            for f in &mine {
                assert!(seen.insert(f.id.clone()), "{} twice for {}", f.id, p.purl);
                assert_eq!(f.installed_version, p.version);
            }
            checked += 1;
            affected_packages += usize::from(!expected.is_empty() || invalid_version);
        }
    }
    // The inventories must exercise both outcomes, or the check proves little.
    eprintln!("{checked} packages checked, {affected_packages} affected");
    assert!(checked > 1000, "{checked} packages checked");
    assert!(
        affected_packages > checked / 4 && affected_packages < checked,
        "{affected_packages} of {checked} affected"
    );
}

/// A 1,000-package inventory is matched on several threads (when the machine has more
/// than one core); the result must equal matching each package on its own, in order,
/// then sorting: the same findings, the same order, the same problems.
#[test]
fn threaded_matching_equals_package_by_package() {
    let inventories = match_db::SyntheticInventories::from_mirror();
    let packages = inventories.inventory(3);
    assert!(packages.len() >= 1000);
    let distro = match_db::SyntheticInventories::distro();
    let index = AdvisoryIndex::new(DbSource(db()));
    let whole = match_packages(&index, &packages, Some(&distro)).unwrap();

    let mut one_by_one = MatchReport::default();
    for p in &packages {
        let part = match_packages(&index, std::slice::from_ref(p), Some(&distro)).unwrap();
        one_by_one.findings.extend(part.findings);
        one_by_one.problems.extend(part.problems);
    }
    crowsnest_matcher::priority::sort(&mut one_by_one.findings);

    assert!(
        whole.findings.len() > 1000,
        "{} findings",
        whole.findings.len()
    );
    assert_eq!(whole.problems, one_by_one.problems);
    assert_eq!(whole.findings.len(), one_by_one.findings.len());
    for (a, b) in whole.findings.iter().zip(&one_by_one.findings) {
        assert_eq!(
            serde_json::to_string(a).unwrap(),
            serde_json::to_string(b).unwrap()
        );
    }
}
