//! Shared by the matching tests and benchmark: the real advisory database, built by the
//! feeds crate from ../shared/feeds, and the adapter that lets the matcher query it.
//!
//! The adapter lives here rather than in crates/feeds so that the feeds crate does not
//! depend on the matcher; it is a dozen lines over `AdvisoryDb`'s public queries.

#![allow(dead_code)] // each target that includes this file uses a different subset

use std::path::{Path, PathBuf};

use crowsnest_feeds::{AdvisoryDb, DbError, SourceSpec, SyncOptions, db_path, sync};
use crowsnest_matcher::{AdvisorySource, Intel};
use crowsnest_model::Distro;
use crowsnest_model::advisory::Advisory;

/// The feeds database seen as the matcher's advisory source.
pub struct DbSource(pub AdvisoryDb);

impl AdvisorySource for DbSource {
    type Error = DbError;

    fn advisories_for(&self, ecosystem: &str, name: &str) -> Result<Vec<Advisory>, DbError> {
        self.0.advisories_for(ecosystem, name)
    }

    fn intel(&self, cve: &str) -> Result<Intel, DbError> {
        Ok(Intel {
            kev: self.0.kev(cve)?,
            epss: self.0.epss(cve)?,
            exploits: self.0.exploits(cve)?,
        })
    }
}

/// Exploit-DB rows in the upstream `files_exploits.csv` column layout. The real file is
/// not mirrored, so these stand in for it; they name real Exploit-DB entries' CVEs.
pub const EXPLOITDB_CSV: &str = "id,file,description,date_published,author,type,platform,port,date_added,date_updated,verified,codes,tags,aliases,screenshot_url,application_url,source_url
50592,exploits/java/remote/50592.py,Apache Log4j 2 - Remote Code Execution (RCE),2021-12-14,kozmer,remote,java,,2021-12-14,2021-12-14,0,CVE-2021-44228,,,,,
51183,exploits/java/webapps/51183.txt,\"Log4j2 JNDI lookup, second proof of concept\",2022-01-10,tester,webapps,java,,2022-01-10,2022-01-10,1,CVE-2021-44228;OSVDB-1,,,,,
";

/// A mirror directory: ../shared/feeds (linked, not copied) plus the Exploit-DB rows.
fn mirror_with_exploitdb(root: &Path) -> PathBuf {
    let shared = crowsnest_testbed::shared().join("feeds");
    let mirror = root.join("mirror");
    std::fs::create_dir_all(mirror.join("exploitdb")).unwrap();
    for entry in ["osv", "kev", "epss"] {
        let link = mirror.join(entry);
        if std::fs::symlink_metadata(&link).is_err() {
            std::os::unix::fs::symlink(shared.join(entry), &link).unwrap();
        }
    }
    std::fs::write(mirror.join("exploitdb/files_exploits.csv"), EXPLOITDB_CSV).unwrap();
    mirror
}

/// Syncs the database from the mirror into `<target tmp>/<name>` (incremental after
/// the first run: unchanged feeds are copied, so the data always matches the mirror)
/// and opens it.
pub fn open_real_db(name: &str) -> AdvisoryDb {
    let root = PathBuf::from(env!("CARGO_TARGET_TMPDIR")).join(name);
    let mirror = mirror_with_exploitdb(&root);
    let data = root.join("data");
    let opts = SyncOptions::new(&data, SourceSpec::Directory(mirror));
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .unwrap();
    let report = match runtime.block_on(sync(&opts, |_| {})) {
        Ok(report) => report,
        Err(e) => {
            // An incremental sync over a database left by an older build of the feeds
            // crate can fail; a fresh build from the mirror is the reference.
            eprintln!(
                "incremental sync failed ({e}); rebuilding {}",
                data.display()
            );
            std::fs::remove_dir_all(&data).unwrap();
            runtime
                .block_on(sync(&opts, |_| {}))
                .unwrap_or_else(|e| panic!("syncing the advisory database from the mirror: {e}"))
        }
    };
    assert!(
        report
            .feeds
            .iter()
            .any(|f| f.feed == "exploitdb" && f.records == 2),
        "{:?}",
        report.feeds
    );
    AdvisoryDb::open(&db_path(&data)).unwrap()
}

/// The packages of a real test image, read from the ground truth its build wrote with
/// the package managers themselves (`$CROWSNEST_FIXTURES/truth/<image>/`: dpkg-query,
/// pip, npm, the jars' Maven coordinates, `go version -m`, cargo-auditable data), with
/// its Debian release. `None` when the fixtures are not built.
pub fn fixture_inventory(image: &str) -> Option<(Vec<crowsnest_model::Package>, Distro)> {
    use crowsnest_model::{PackageKind, SourcePackage};
    let truth = crowsnest_testbed::path("CROWSNEST_FIXTURES")?
        .join("truth")
        .join(image);
    let read = |file: &str| std::fs::read_to_string(truth.join(file)).ok();
    let package = |kind: PackageKind, name: &str, version: &str| crowsnest_model::Package {
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
    };
    let mut out = Vec::new();
    for line in read("dpkg.tsv")?.lines() {
        let f: Vec<&str> = line.split('\t').collect();
        if let [name, version, source, source_version] = f[..] {
            let mut p = package(PackageKind::Deb, name, version);
            p.source = Some(SourcePackage {
                name: source.into(),
                version: source_version.into(),
            });
            out.push(p);
        }
    }
    let json =
        |file: &str| -> Option<serde_json::Value> { serde_json::from_str(&read(file)?).ok() };
    for p in json("pip.json")
        .iter()
        .flat_map(|v| v.as_array().cloned().unwrap_or_default())
    {
        out.push(package(
            PackageKind::Python,
            p["name"].as_str().unwrap(),
            p["version"].as_str().unwrap(),
        ));
    }
    for line in read("npm.tsv").iter().flat_map(|t| t.lines()) {
        if let [name, version, _] = line.split('\t').collect::<Vec<_>>()[..] {
            out.push(package(PackageKind::Npm, name, version));
        }
    }
    for line in read("maven.tsv").iter().flat_map(|t| t.lines()) {
        if let [coordinates, version, _] = line.split('\t').collect::<Vec<_>>()[..] {
            out.push(package(PackageKind::Maven, coordinates, version));
        }
    }
    for line in read("go.txt").iter().flat_map(|t| t.lines()) {
        if let ["dep", module, version, ..] = line.split_whitespace().collect::<Vec<_>>()[..] {
            out.push(package(PackageKind::Go, module, version));
        }
    }
    let cargo = json("cargo.json");
    for p in cargo
        .iter()
        .flat_map(|c| c["packages"].as_array().cloned().unwrap_or_default())
    {
        if p["source"] == "crates.io" {
            out.push(package(
                PackageKind::Cargo,
                p["name"].as_str().unwrap(),
                p["version"].as_str().unwrap(),
            ));
        }
    }
    let release = if image.contains("bullseye") {
        "11"
    } else {
        "12"
    };
    let distro = Distro {
        id: "debian".into(),
        version_id: release.into(),
        ..Default::default()
    };
    Some((out, distro))
}

/// Number of packages per synthetic inventory, by ecosystem (1,000 in all), roughly the
/// mix of a Debian-based application image.
const MIX: &[(&str, crowsnest_model::PackageKind, usize)] = {
    use crowsnest_model::PackageKind::*;
    &[
        ("Debian:11", Deb, 500),
        ("PyPI", Python, 180),
        ("Go", Go, 180),
        ("crates.io", Cargo, 129),
        ("npm", Npm, 4),
        ("Maven", Maven, 7),
    ]
};

/// 1,000-package inventories made of names that really have advisories in the mirror,
/// each at the first fixed version its advisories name, so that most packages are
/// affected by several older advisories: a pessimistic load for the matcher.
pub struct SyntheticInventories {
    /// Per entry of `MIX`: (package, version) candidates.
    pool: Vec<Vec<(String, String)>>,
}

impl SyntheticInventories {
    pub fn from_mirror() -> Self {
        SyntheticInventories {
            pool: MIX
                .iter()
                .map(|(ecosystem, _, _)| names_with_advisories(ecosystem))
                .collect(),
        }
    }

    /// One inventory of Debian 11 (the returned distro) and language packages;
    /// `variant` shifts which names are taken, so inventories differ.
    pub fn inventory(&self, variant: usize) -> Vec<crowsnest_model::Package> {
        use crowsnest_model::{Package, PackageKind, SourcePackage};
        let mut packages = Vec::new();
        for (names, (_, kind, count)) in self.pool.iter().zip(MIX) {
            for i in 0..*count {
                let (name, version) = &names[(i * 7 + variant) % names.len()];
                let version = if *kind == PackageKind::Go && !version.starts_with('v') {
                    format!("v{version}")
                } else {
                    version.clone()
                };
                packages.push(Package {
                    kind: *kind,
                    name: name.clone(),
                    version: version.clone(),
                    epoch: None,
                    arch: None,
                    source: kind.is_os().then(|| SourcePackage {
                        name: name.clone(),
                        version: version.clone(),
                    }),
                    purl: format!("pkg:{}/{name}@{version}", kind.purl_type()),
                    licenses: vec![],
                    layer: None,
                    evidence: vec![],
                    identity: None,
                });
            }
        }
        packages
    }

    pub fn distro() -> Distro {
        Distro {
            id: "debian".into(),
            version_id: "11".into(),
            ..Default::default()
        }
    }
}

/// Package names that have advisories in `ecosystem`, each at the first fixed version
/// its advisories name, read from the mirror's archive.
fn names_with_advisories(ecosystem: &str) -> Vec<(String, String)> {
    use crowsnest_model::advisory::Event;
    let dir = ecosystem.split(':').next().unwrap();
    let zip_path = crowsnest_testbed::shared()
        .join("feeds/osv")
        .join(dir)
        .join("all.zip");
    let mut zip = zip::ZipArchive::new(std::fs::File::open(zip_path).unwrap()).unwrap();
    let mut out: std::collections::BTreeMap<String, String> = Default::default();
    for i in 0..zip.len() {
        let mut text = String::new();
        std::io::Read::read_to_string(&mut zip.by_index(i).unwrap(), &mut text).unwrap();
        let a: Advisory = serde_json::from_str(&text).unwrap();
        for e in &a.affected {
            let Some(p) = &e.package else { continue };
            if p.ecosystem != ecosystem && p.ecosystem.split(':').next() != Some(ecosystem) {
                continue;
            }
            let version = e
                .ranges
                .iter()
                .flat_map(|r| &r.events)
                .find_map(|ev| match ev {
                    Event::Fixed(v) => Some(v.clone()),
                    _ => None,
                });
            if let Some(v) = version {
                out.entry(p.name.clone()).or_insert(v);
            }
        }
    }
    out.into_iter().collect()
}
