//! A small fixed image: Debian 12 with two OS packages, a Python, a Maven and an npm
//! package, and findings that cover every fix status, KEV, EPSS and exploits.
#![allow(dead_code)] // each test binary uses a different part of the fixture

use crowsnest_catalog::Inventory;
use crowsnest_model::advisory::Reference;
use crowsnest_model::finding::{
    Cvss, EpssStatus, Exploitability, Finding, FindingPackage, FixStatus, KevStatus, Priority,
};
use crowsnest_model::{Digest, Distro, Package, PackageKind, Severity, SourcePackage};
use crowsnest_report::{DocumentOptions, ImageSubject};

pub fn digest(c: char) -> Digest {
    format!("sha256:{}", c.to_string().repeat(64))
        .parse()
        .unwrap()
}

pub fn subject() -> ImageSubject {
    ImageSubject {
        name: "registry.test:5000/shop/web:1.4".into(),
        manifest_digest: Some(digest('a')),
        config_digest: Some(digest('c')),
        platform: Some("linux/amd64".into()),
        layers: vec![digest('1'), digest('2'), digest('3')],
        created: Some("2024-05-06T07:08:09.123456789Z".into()),
    }
}

pub fn options() -> DocumentOptions {
    DocumentOptions {
        timestamp: None,
        tool_version: "0.0.0-test".into(),
    }
}

fn package(kind: PackageKind, name: &str, version: &str, purl: &str) -> Package {
    Package {
        kind,
        name: name.into(),
        version: version.into(),
        epoch: None,
        arch: None,
        source: None,
        purl: purl.into(),
        licenses: vec![],
        layer: None,
        evidence: vec![],
        identity: None,
    }
}

pub fn inventory() -> Inventory {
    let mut libssl = package(
        PackageKind::Deb,
        "libssl3",
        "3.0.11-1~deb12u2",
        "pkg:deb/debian/libssl3@3.0.11-1~deb12u2?arch=amd64&distro=debian-12",
    );
    libssl.arch = Some("amd64".into());
    libssl.source = Some(SourcePackage {
        name: "openssl".into(),
        version: "3.0.11-1~deb12u2".into(),
    });
    libssl.layer = Some(digest('1'));
    libssl.evidence = vec!["/var/lib/dpkg/status".into()];
    libssl.licenses = vec!["Apache-2.0".into()];

    let mut tar = package(
        PackageKind::Deb,
        "tar",
        "1.34+dfsg-1.2+deb12u1",
        "pkg:deb/debian/tar@1.34%2Bdfsg-1.2%2Bdeb12u1?arch=amd64&distro=debian-12",
    );
    tar.arch = Some("amd64".into());
    tar.source = Some(SourcePackage {
        name: "tar".into(),
        version: "1.34+dfsg-1.2+deb12u1".into(),
    });
    tar.layer = Some(digest('1'));
    tar.evidence = vec!["/var/lib/dpkg/status".into()];
    tar.licenses = vec!["GPL-3+".into(), "GPL-2+".into()];

    let mut yaml = package(
        PackageKind::Python,
        "PyYAML",
        "5.3.1",
        "pkg:pypi/pyyaml@5.3.1",
    );
    yaml.layer = Some(digest('2'));
    yaml.evidence = vec![
        "/usr/local/lib/python3.11/site-packages/PyYAML-5.3.1.dist-info/RECORD".into(),
        "/usr/local/lib/python3.11/site-packages/PyYAML-5.3.1.dist-info/METADATA".into(),
    ];
    yaml.licenses = vec!["MIT".into()];

    let mut log4j = package(
        PackageKind::Maven,
        "org.apache.logging.log4j:log4j-core",
        "2.14.1",
        "pkg:maven/org.apache.logging.log4j/log4j-core@2.14.1",
    );
    log4j.layer = Some(digest('3'));
    log4j.evidence = vec!["/app/lib/log4j-core-2.14.1.jar".into()];
    log4j.licenses = vec!["Apache-2.0 OR MIT".into()];

    let mut minimist = package(
        PackageKind::Npm,
        "minimist",
        "1.2.5",
        "pkg:npm/minimist@1.2.5",
    );
    minimist.evidence = vec!["/app/node_modules/minimist/package.json".into()];

    Inventory {
        distro: Some(Distro {
            id: "debian".into(),
            version_id: "12".into(),
            codename: Some("bookworm".into()),
            pretty_name: Some("Debian GNU/Linux 12 (bookworm)".into()),
        }),
        // Deliberately not in sorted order: writers must sort.
        packages: vec![minimist, log4j, yaml, tar, libssl],
        unreadable: vec![(
            "/app/lib/broken.jar".into(),
            "zip: invalid central directory".into(),
        )],
    }
}

fn finding_package(p: &Package, ecosystem: &str) -> FindingPackage {
    FindingPackage {
        name: p.name.clone(),
        version: p.version.clone(),
        kind: p.kind,
        purl: p.purl.clone(),
        ecosystem: ecosystem.into(),
        layer: p.layer.clone(),
        matched_source: None,
        identity: None,
    }
}

fn base(id: &str, package: FindingPackage, severity: Severity, score: f64) -> Finding {
    Finding {
        id: id.into(),
        aliases: vec![],
        installed_version: package.version.clone(),
        package,
        fixed_versions: vec![],
        fix_status: FixStatus::NoFixAvailable,
        severity,
        severity_source: None,
        cvss: None,
        summary: None,
        references: vec![],
        exploitability: Exploitability::default(),
        priority: Priority {
            score,
            reasons: vec![],
        },
        advisories: vec![id.into()],
    }
}

pub fn findings() -> Vec<Finding> {
    let inv = inventory();
    let by_name = |n: &str| inv.packages.iter().find(|p| p.name == n).unwrap().clone();

    let mut log4shell = base(
        "CVE-2021-44228",
        finding_package(&by_name("org.apache.logging.log4j:log4j-core"), "Maven"),
        Severity::Critical,
        98.5,
    );
    log4shell.aliases = vec!["GHSA-jfh8-c2jp-5v3q".into()];
    log4shell.fixed_versions = vec!["2.15.0".into()];
    log4shell.fix_status = FixStatus::FixAvailable;
    log4shell.severity_source = Some("CVSS_V3".into());
    log4shell.cvss = Some(Cvss {
        version: "3.1".into(),
        vector: "CVSS:3.1/AV:N/AC:L/PR:N/UI:N/S:C/C:H/I:H/A:H".into(),
        base_score: 10.0,
    });
    log4shell.summary = Some("Remote code injection in Log4j".into());
    log4shell.references = vec![Reference {
        kind: "ADVISORY".into(),
        url: "https://logging.apache.org/log4j/2.x/security.html".into(),
    }];
    log4shell.exploitability = Exploitability {
        exploit_published: true,
        in_kev: true,
        kev: Some(KevStatus {
            date_added: "2021-12-10".into(),
            due_date: Some("2021-12-24".into()),
            ransomware: true,
        }),
        epss: Some(EpssStatus {
            score: 0.97565,
            percentile: 0.99992,
        }),
        exploit_types: vec!["remote".into(), "webapps".into()],
        exploit_uris: vec!["https://www.exploit-db.com/exploits/50592".into()],
    };
    log4shell.priority.reasons = vec!["in CISA KEV".into(), "critical severity".into()];

    let mut openssl = base(
        "CVE-2023-5678",
        finding_package(&by_name("libssl3"), "Debian:12"),
        Severity::Medium,
        35.0,
    );
    openssl.package.matched_source = Some("openssl".into());
    openssl.fixed_versions = vec!["3.0.13-1~deb12u1".into()];
    openssl.fix_status = FixStatus::FixAvailable;
    openssl.severity_source = Some("Debian urgency".into());
    openssl.exploitability.epss = Some(EpssStatus {
        score: 0.00043,
        percentile: 0.1,
    });

    let mut tar = base(
        "CVE-2005-2541",
        finding_package(&by_name("tar"), "Debian:12"),
        Severity::Negligible,
        2.0,
    );
    tar.fix_status = FixStatus::WontFix;
    tar.severity_source = Some("Debian urgency".into());

    let mut yaml = base(
        "GHSA-8q59-q68h-6hv4",
        finding_package(&by_name("PyYAML"), "PyPI"),
        Severity::Critical,
        60.0,
    );
    yaml.aliases = vec!["CVE-2020-14343".into(), "PYSEC-2021-142".into()];
    yaml.fixed_versions = vec!["5.4".into()];
    yaml.fix_status = FixStatus::FixAvailable;
    yaml.cvss = Some(Cvss {
        version: "3.1".into(),
        vector: "CVSS:3.1/AV:N/AC:L/PR:N/UI:N/S:U/C:H/I:H/A:H".into(),
        base_score: 9.8,
    });

    let mut minimist = base(
        "CVE-2021-44906",
        finding_package(&by_name("minimist"), "npm"),
        Severity::Unknown,
        10.0,
    );
    minimist.fix_status = FixStatus::Unknown;

    // A package the inventory does not list (from another tool's package list, say).
    let ghost = base(
        "CVE-2099-0001",
        FindingPackage {
            name: "ghost".into(),
            version: "0.1".into(),
            kind: PackageKind::Cargo,
            purl: "pkg:cargo/ghost@0.1".into(),
            ecosystem: "crates.io".into(),
            layer: None,
            matched_source: None,
            identity: None,
        },
        Severity::Low,
        5.0,
    );

    vec![tar, ghost, openssl, minimist, yaml, log4shell]
}
