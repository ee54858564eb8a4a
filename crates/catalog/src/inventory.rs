//! From per-layer catalog results to the image's inventory: squash the layers, keep what
//! is still visible at the top, attribute every package to the layer that introduced it,
//! and report a language package owned by an OS package only once, as the OS package.

use std::collections::{BTreeMap, HashMap, HashSet};

use crowsnest_model::layer::{EntryKind, LayerContents, SquashedFs};
use crowsnest_model::path::parent;
use crowsnest_model::{Distro, Package, PackageKind};
use serde::Serialize;

use crate::{Artifact, OsPackage, ReleaseFile, same_parser};

/// At most this many problem lines are reported for one file (a corrupt database could
/// yield one per record).
const MAX_PROBLEMS_PER_FILE: usize = 50;

/// What is installed in an image.
#[derive(Clone, Debug, Default, PartialEq, Serialize)]
pub struct Inventory {
    pub distro: Option<Distro>,
    /// Sorted by kind, name, version and architecture.
    pub packages: Vec<Package>,
    /// Files that could not be (fully) cataloged, with the reason: `(path, reason)`.
    pub unreadable: Vec<(String, String)>,
}

/// One analyzed file (or a hard link sharing its analysis): where it is and in which
/// layers it is present.
struct Record<'a> {
    path: &'a str,
    /// The file whose bytes were analyzed: `path` itself, or the target of a hard link.
    /// Packages name it as evidence, so a link is never taken for the database it shares.
    analyzed_path: &'a str,
    artifact: &'a Artifact,
    /// Present from layer `from` up to, not including, layer `until`.
    from: usize,
    until: usize,
}

/// dpkg file lists by (package, architecture): the list's path and the files in it.
type DpkgLists<'a> = HashMap<(&'a str, Option<&'a str>), (&'a str, &'a [String])>;

/// Identity of a package across per-layer copies of its database.
type Key = (PackageKind, String, String, Option<String>, Option<u32>);

fn key_of(
    kind: PackageKind,
    name: &str,
    version: &str,
    arch: Option<&str>,
    epoch: Option<u32>,
) -> Key {
    (
        kind,
        name.to_string(),
        version.to_string(),
        arch.map(str::to_string),
        epoch,
    )
}

/// Builds the inventory of an image from its layers, lowest first.
pub fn inventory(layers: &[LayerContents<Artifact>]) -> Inventory {
    let fs = SquashedFs::build(layers);
    let records = records(layers);
    let top = layers.len();
    let mut unreadable = Vec::new();

    // Files visible at the top: the ones that describe the image.
    let mut visible: BTreeMap<&str, &Record> = BTreeMap::new();
    for (index, layer) in layers.iter().enumerate() {
        for analyzed in &layer.analyzed {
            if !fs.is_visible(index, &analyzed.path) {
                continue;
            }
            if let Err(reason) = &analyzed.result {
                unreadable.push((analyzed.path.clone(), reason.clone()));
            }
        }
    }
    for record in &records {
        if record.until == top && fs.is_visible(record.from, record.path) {
            visible.insert(record.path, record);
        }
    }

    let distro = detect_distro(&fs, &visible);
    let attribution = Attribution::new(&records, top);
    let layer_digest =
        |index: Option<usize>| index.and_then(|i| layers.get(i)).map(|l| l.diff_id.clone());

    // dpkg keeps file lists apart from the status: (package, arch) → (list path, files).
    let mut dpkg_files: DpkgLists = HashMap::new();
    for record in visible.values() {
        if let Artifact::DpkgFiles {
            package,
            arch,
            files,
        } = record.artifact
        {
            dpkg_files.insert(
                (package.as_str(), arch.as_deref()),
                (record.analyzed_path, files.as_slice()),
            );
        }
    }

    let mut packages = Vec::new();
    let mut seen: HashSet<Key> = HashSet::new();
    let mut owned: HashSet<&str> = HashSet::new();
    for (path, record) in &visible {
        match record.artifact {
            Artifact::OsPackages {
                packages: found,
                problems,
            } => {
                for problem in problems.iter().take(MAX_PROBLEMS_PER_FILE) {
                    unreadable.push((path.to_string(), problem.clone()));
                }
                for os in found {
                    let key = key_of(os.kind, &os.name, &os.version, os.arch.as_deref(), os.epoch);
                    if !seen.insert(key.clone()) {
                        continue;
                    }
                    let mut evidence = vec![record.analyzed_path.to_string()];
                    if os.kind == PackageKind::Deb {
                        let list = dpkg_files
                            .get(&(os.name.as_str(), os.arch.as_deref()))
                            .or_else(|| dpkg_files.get(&(os.name.as_str(), None)));
                        if let Some((list_path, files)) = list {
                            evidence.push(list_path.to_string());
                            owned.extend(files.iter().map(String::as_str));
                        }
                    }
                    owned.extend(os.files.iter().map(String::as_str));
                    packages.push(os_package(
                        os,
                        distro.as_ref(),
                        evidence,
                        layer_digest(attribution.layer(&key)),
                    ));
                }
            }
            Artifact::Release { .. }
            | Artifact::DpkgFiles { .. }
            | Artifact::LanguagePackages { .. } => {}
        }
    }

    // Package databases record paths as the package wrote them; usrmerge and similar
    // symlinks put the file elsewhere. Compare resolved paths.
    let owned_resolved: HashSet<String> = if visible
        .values()
        .any(|r| matches!(r.artifact, Artifact::LanguagePackages { .. }))
    {
        owned.iter().filter_map(|p| fs.resolve(p).ok()).collect()
    } else {
        HashSet::new()
    };
    let is_owned = |p: &str| owned.contains(p) || owned_resolved.contains(p);
    for record in visible.values() {
        let Artifact::LanguagePackages { packages: found } = record.artifact else {
            continue;
        };
        for package in found {
            if package.evidence.iter().any(|e| is_owned(e)) {
                continue;
            }
            let key = key_of(
                package.kind,
                &package.name,
                &package.version,
                package.arch.as_deref(),
                package.epoch,
            );
            if !seen.insert(key.clone()) {
                continue;
            }
            let mut package = package.clone();
            package.layer = layer_digest(attribution.layer(&key).or(Some(record.from)));
            packages.push(package);
        }
    }

    let mut packages = crate::sanitize::packages(packages, &mut unreadable);
    let mut distro = distro;
    if let Some(d) = &mut distro {
        crate::sanitize::distro(d);
    }
    packages.sort_by(|a, b| {
        (a.kind, &a.name, &a.version, &a.arch, &a.purl)
            .cmp(&(b.kind, &b.name, &b.version, &b.arch, &b.purl))
    });
    Inventory {
        distro,
        packages,
        unreadable,
    }
}

/// Every successfully analyzed file in every layer, with the layers it is present in.
fn records(layers: &[LayerContents<Artifact>]) -> Vec<Record<'_>> {
    // What each layer does to existing paths: writes (with whether it is a directory),
    // whiteouts and opaque directories.
    let written: Vec<HashMap<&str, bool>> = layers
        .iter()
        .map(|l| {
            l.entries
                .iter()
                .map(|e| (e.path.as_str(), e.kind == EntryKind::Dir))
                .collect()
        })
        .collect();
    let removed: Vec<HashSet<&str>> = layers
        .iter()
        .map(|l| {
            l.whiteouts
                .iter()
                .chain(&l.opaque_dirs)
                .map(String::as_str)
                .collect()
        })
        .collect();
    let mut out = Vec::new();
    for (from, layer) in layers.iter().enumerate() {
        // A hard link counts only where the same parser would have read it: a link to
        // the dpkg status under /tmp is not a package database.
        let links = layer.hardlinks.iter().filter_map(|link| {
            let target = layer.analyzed.get(link.analyzed)?;
            same_parser(&link.path, &target.path).then_some((link.path.as_str(), target))
        });
        let files = layer.analyzed.iter().map(|a| (a.path.as_str(), a));
        for (path, analyzed) in files.chain(links) {
            let Ok(artifact) = &analyzed.result else {
                continue;
            };
            let until = (from + 1..layers.len())
                .find(|&j| hides(path, &written[j], &removed[j]))
                .unwrap_or(layers.len());
            out.push(Record {
                path,
                analyzed_path: &analyzed.path,
                artifact,
                from,
                until,
            });
        }
    }
    out
}

/// Whether a layer replaces or removes the file at `path` from the layers below.
fn hides(path: &str, written: &HashMap<&str, bool>, removed: &HashSet<&str>) -> bool {
    if written.contains_key(path) || removed.contains(path) {
        return true;
    }
    let mut dir = parent(path);
    while dir != "/" {
        if removed.contains(dir) || written.get(dir) == Some(&false) {
            return true;
        }
        dir = parent(dir);
    }
    false
}

/// For each package, the layers whose filesystem (all layers up to it) records it.
struct Attribution {
    present: HashMap<Key, Vec<(usize, usize)>>,
    top: usize,
}

impl Attribution {
    fn new(records: &[Record], top: usize) -> Attribution {
        let mut present: HashMap<Key, Vec<(usize, usize)>> = HashMap::new();
        for r in records {
            let mut add = |key: Key| present.entry(key).or_default().push((r.from, r.until));
            match r.artifact {
                Artifact::OsPackages { packages, .. } => {
                    for p in packages {
                        add(key_of(
                            p.kind,
                            &p.name,
                            &p.version,
                            p.arch.as_deref(),
                            p.epoch,
                        ));
                    }
                }
                Artifact::LanguagePackages { packages } => {
                    for p in packages {
                        add(key_of(
                            p.kind,
                            &p.name,
                            &p.version,
                            p.arch.as_deref(),
                            p.epoch,
                        ));
                    }
                }
                Artifact::Release { .. } | Artifact::DpkgFiles { .. } => {}
            }
        }
        Attribution { present, top }
    }

    /// The lowest layer from which the package is present in every layer up to the top.
    fn layer(&self, key: &Key) -> Option<usize> {
        let intervals = self.present.get(key)?;
        let mut lowest = self.top;
        // Extend downwards while some interval covers the layer just below `lowest`.
        while lowest > 0
            && intervals
                .iter()
                .any(|&(from, until)| from < lowest && until >= lowest)
        {
            lowest = intervals
                .iter()
                .filter(|&&(from, until)| from < lowest && until >= lowest)
                .map(|&(from, _)| from)
                .min()
                .unwrap_or(lowest);
        }
        (lowest < self.top).then_some(lowest)
    }
}

/// The distro from the most trusted release file that is present (symlinks resolved).
fn detect_distro(fs: &SquashedFs, visible: &BTreeMap<&str, &Record>) -> Option<Distro> {
    let mut found = ReleaseFile::ALL.iter().filter_map(|file| {
        let resolved = fs.resolve(file.path()).ok()?;
        match visible.get(resolved.as_str())?.artifact {
            Artifact::Release { distro, .. } => Some(distro.clone()),
            _ => None,
        }
    });
    let mut distro = found.next()?;
    // Debian testing's os-release has no VERSION_ID; debian_version may still say more.
    if distro.version_id.is_empty()
        && let Some(other) = found.find(|d| d.id == distro.id && !d.version_id.is_empty())
    {
        distro.version_id = other.version_id;
    }
    Some(distro)
}

fn os_package(
    os: &OsPackage,
    distro: Option<&Distro>,
    evidence: Vec<String>,
    layer: Option<crowsnest_model::Digest>,
) -> Package {
    Package {
        kind: os.kind,
        name: os.name.clone(),
        version: os.version.clone(),
        epoch: os.epoch,
        arch: os.arch.clone(),
        source: os.source.clone(),
        purl: os_purl(os, distro),
        licenses: os.licenses.clone(),
        layer,
        evidence,
        identity: None,
    }
}

/// `pkg:deb/debian/openssl@3.0.11-1~deb12u2?arch=amd64&distro=debian-12`. A package whose
/// name or version the purl crate rejects gets an empty purl rather than a hand-made one.
fn os_purl(os: &OsPackage, distro: Option<&Distro>) -> String {
    let build = || -> Result<String, packageurl::Error> {
        let mut purl = packageurl::PackageUrl::new(os.kind.purl_type(), os.name.as_str())?;
        let namespace = match (distro, os.kind) {
            (Some(d), _) if !d.id.is_empty() => Some(d.id.as_str()),
            (_, PackageKind::Deb) => Some("debian"),
            (_, PackageKind::Apk) => Some("alpine"),
            _ => None,
        };
        if let Some(ns) = namespace {
            purl.with_namespace(ns)?;
        }
        purl.with_version(os.version.as_str())?;
        if let Some(arch) = &os.arch {
            purl.add_qualifier("arch", arch.as_str())?;
        }
        if let Some(epoch) = os.epoch {
            purl.add_qualifier("epoch", epoch.to_string())?;
        }
        if let Some(d) = distro {
            let release = if d.version_id.is_empty() {
                d.codename.as_deref().unwrap_or("")
            } else {
                d.version_id.as_str()
            };
            if !d.id.is_empty() && !release.is_empty() {
                purl.add_qualifier("distro", format!("{}-{release}", d.id))?;
            }
        }
        Ok(purl.to_string())
    };
    build().unwrap_or_default()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crowsnest_model::Digest;
    use crowsnest_model::digest::Algorithm;
    use crowsnest_model::layer::{Analyzed, FileEntry};

    fn digest(n: u8) -> Digest {
        Digest::from_bytes(Algorithm::Sha256, &[n; 32])
    }

    fn file(path: &str) -> FileEntry {
        FileEntry {
            path: path.into(),
            kind: EntryKind::File,
            size: 1,
            mode: 0o644,
        }
    }

    struct Layer(LayerContents<Artifact>);

    impl Layer {
        fn new(n: u8) -> Layer {
            Layer(LayerContents {
                diff_id: digest(n),
                entries: vec![],
                whiteouts: vec![],
                opaque_dirs: vec![],
                analyzed: vec![],
                hardlinks: vec![],
                errors: vec![],
                uncompressed_size: 0,
            })
        }
        fn with(mut self, path: &str, result: Result<Artifact, String>) -> Layer {
            self.0.entries.push(file(path));
            self.0.analyzed.push(Analyzed {
                path: path.into(),
                result,
            });
            self
        }
        fn link(mut self, path: &str, target: &str) -> Layer {
            self.0.entries.push(FileEntry {
                path: path.into(),
                kind: EntryKind::Symlink(target.into()),
                size: 0,
                mode: 0o777,
            });
            self
        }
        fn hard_link(mut self, path: &str, target: &str) -> Layer {
            self.0.entries.push(FileEntry {
                path: path.into(),
                kind: EntryKind::Hardlink(target.into()),
                size: 0,
                mode: 0o644,
            });
            let analyzed = self.0.analyzed.iter().position(|a| a.path == target);
            self.0
                .hardlinks
                .push(crowsnest_model::layer::SharedAnalysis {
                    path: path.into(),
                    analyzed: analyzed.expect("link to an analyzed file"),
                });
            self
        }
        fn whiteout(mut self, path: &str) -> Layer {
            self.0.whiteouts.push(path.into());
            self
        }
    }

    fn deb(name: &str, version: &str) -> OsPackage {
        OsPackage {
            kind: PackageKind::Deb,
            name: name.into(),
            version: version.into(),
            epoch: None,
            arch: Some("amd64".into()),
            source: Some(crowsnest_model::SourcePackage {
                name: format!("{name}-src"),
                version: version.into(),
            }),
            licenses: vec![],
            files: vec![],
        }
    }

    fn debs(list: &[(&str, &str)]) -> Result<Artifact, String> {
        Ok(Artifact::OsPackages {
            packages: list.iter().map(|(n, v)| deb(n, v)).collect(),
            problems: vec![],
        })
    }

    fn python(name: &str, version: &str, evidence: &str) -> Result<Artifact, String> {
        Ok(Artifact::LanguagePackages {
            packages: vec![Package {
                kind: PackageKind::Python,
                name: name.into(),
                version: version.into(),
                epoch: None,
                arch: None,
                source: None,
                purl: format!("pkg:pypi/{name}@{version}"),
                licenses: vec![],
                layer: None,
                evidence: vec![evidence.into()],
                identity: None,
            }],
        })
    }

    fn os_release() -> Result<Artifact, String> {
        Ok(Artifact::Release {
            file: ReleaseFile::UsrLibOsRelease,
            distro: Distro {
                id: "debian".into(),
                version_id: "12".into(),
                codename: Some("bookworm".into()),
                pretty_name: None,
            },
        })
    }

    const STATUS: &str = "/var/lib/dpkg/status";
    const OWNED_METADATA: &str = "/usr/lib/python3/dist-packages/PyYAML-6.0.dist-info/METADATA";
    const APP_METADATA: &str =
        "/app/venv/lib/python3.11/site-packages/requests-2.31.0.dist-info/METADATA";

    fn image() -> Vec<LayerContents<Artifact>> {
        let base = Layer::new(0)
            .with("/usr/lib/os-release", os_release())
            .link("/etc/os-release", "../usr/lib/os-release")
            .with(
                STATUS,
                debs(&[("libc6", "2.36-9"), ("openssl", "3.0.11-1"), ("gone", "1")]),
            )
            .with(
                "/var/lib/dpkg/info/python3-yaml.list",
                Ok(Artifact::DpkgFiles {
                    package: "python3-yaml".into(),
                    arch: None,
                    files: vec![OWNED_METADATA.into()],
                }),
            );
        let upgrade = Layer::new(1)
            .with(
                STATUS,
                debs(&[("libc6", "2.36-9"), ("openssl", "3.0.13-1")]),
            )
            .with(OWNED_METADATA, python("PyYAML", "6.0", OWNED_METADATA));
        let app = Layer::new(2)
            .with(
                STATUS,
                debs(&[
                    ("libc6", "2.36-9"),
                    ("openssl", "3.0.13-1"),
                    ("python3-yaml", "6.0-3"),
                    ("gone", "1"),
                ]),
            )
            .with(APP_METADATA, python("requests", "2.31.0", APP_METADATA))
            .with(
                "/opt/broken/METADATA",
                Err("/opt/broken/METADATA: not UTF-8".into()),
            );
        vec![base.0, upgrade.0, app.0]
    }

    fn find<'a>(inv: &'a Inventory, name: &str) -> &'a Package {
        inv.packages
            .iter()
            .find(|p| p.name == name)
            .unwrap_or_else(|| panic!("{name} missing"))
    }

    #[test]
    fn attributes_packages_to_the_layer_that_introduced_them() {
        let inv = inventory(&image());
        assert_eq!(
            inv.distro.as_ref().map(|d| d.version_id.as_str()),
            Some("12")
        );
        let names: Vec<_> = inv.packages.iter().map(|p| p.name.as_str()).collect();
        assert_eq!(
            names,
            ["gone", "libc6", "openssl", "python3-yaml", "requests"]
        );
        assert_eq!(find(&inv, "libc6").layer, Some(digest(0)));
        // Upgraded in layer 1: that version is only present from layer 1.
        assert_eq!(find(&inv, "openssl").layer, Some(digest(1)));
        assert_eq!(find(&inv, "openssl").version, "3.0.13-1");
        assert_eq!(find(&inv, "python3-yaml").layer, Some(digest(2)));
        // Removed in layer 1 and reinstalled in layer 2: layer 2 introduced it.
        assert_eq!(find(&inv, "gone").layer, Some(digest(2)));
        assert_eq!(find(&inv, "requests").layer, Some(digest(2)));
    }

    #[test]
    fn purls_carry_distro_and_arch() {
        let inv = inventory(&image());
        assert_eq!(
            find(&inv, "openssl").purl,
            "pkg:deb/debian/openssl@3.0.13-1?arch=amd64&distro=debian-12"
        );
        assert_eq!(
            find(&inv, "openssl").source.as_ref().unwrap().name,
            "openssl-src"
        );
        assert_eq!(find(&inv, "libc6").evidence, [STATUS]);
    }

    #[test]
    fn language_package_owned_by_an_os_package_is_reported_once() {
        let inv = inventory(&image());
        assert!(!inv.packages.iter().any(|p| p.name == "PyYAML"));
        assert_eq!(
            find(&inv, "python3-yaml").evidence,
            [STATUS, "/var/lib/dpkg/info/python3-yaml.list"]
        );
    }

    #[test]
    fn unreadable_files_are_reported_and_the_rest_inventoried() {
        let mut layers = image();
        let problems = vec!["stanza at line 7 (package x) skipped: no field name".to_string()];
        layers.push(
            Layer::new(3)
                .with(
                    "/var/lib/dpkg/status.d/x",
                    Ok(Artifact::OsPackages {
                        packages: vec![deb("tzdata", "2024a-0")],
                        problems,
                    }),
                )
                .0,
        );
        let inv = inventory(&layers);
        assert!(inv.packages.iter().any(|p| p.name == "tzdata"));
        assert!(inv.packages.iter().any(|p| p.name == "libc6"));
        let paths: Vec<_> = inv.unreadable.iter().map(|(p, _)| p.as_str()).collect();
        assert_eq!(paths, ["/opt/broken/METADATA", "/var/lib/dpkg/status.d/x"]);
    }

    #[test]
    fn whited_out_evidence_drops_the_package() {
        let mut layers = image();
        layers.push(
            Layer::new(3)
                .whiteout(APP_METADATA)
                .whiteout("/opt/broken")
                .with(
                    "/var/lib/dpkg/status.d/keep",
                    debs(&[("base-files", "12.4")]),
                )
                .0,
        );
        layers.push(Layer::new(4).whiteout("/var/lib/dpkg/status").0);
        let inv = inventory(&layers);
        let names: Vec<_> = inv.packages.iter().map(|p| p.name.as_str()).collect();
        // With the status file gone nothing owns PyYAML's METADATA any more.
        assert_eq!(names, ["base-files", "PyYAML"]);
        assert!(inv.unreadable.is_empty());
        assert_eq!(find(&inv, "base-files").layer, Some(digest(3)));
    }

    #[test]
    fn rewriting_a_database_without_change_keeps_the_original_layer() {
        let mut layers = image();
        layers.push(
            Layer::new(3)
                .with(
                    STATUS,
                    debs(&[
                        ("libc6", "2.36-9"),
                        ("openssl", "3.0.13-1"),
                        ("python3-yaml", "6.0-3"),
                        ("gone", "1"),
                    ]),
                )
                .0,
        );
        let inv = inventory(&layers);
        assert_eq!(find(&inv, "libc6").layer, Some(digest(0)));
        assert_eq!(find(&inv, "python3-yaml").layer, Some(digest(2)));
    }

    #[test]
    fn a_hard_link_is_not_taken_for_the_database_it_shares() {
        let base = Layer::new(0)
            .with(STATUS, debs(&[("libc6", "2.36-9")]))
            .hard_link("/tmp/status", STATUS);
        let inv = inventory(&[base.0]);
        assert_eq!(find(&inv, "libc6").evidence, [STATUS]);
        // With the real database deleted the link under /tmp does not keep it alive.
        let base = Layer::new(0)
            .with(STATUS, debs(&[("libc6", "2.36-9")]))
            .hard_link("/tmp/status", STATUS);
        let inv = inventory(&[base.0, Layer::new(1).whiteout(STATUS).0]);
        assert!(inv.packages.is_empty(), "{:?}", inv.packages);
    }

    #[test]
    fn a_hard_link_where_the_parser_looks_shares_the_analysis_with_the_real_path() {
        let base = Layer::new(0)
            .with(APP_METADATA, python("requests", "2.31.0", APP_METADATA))
            .hard_link(
                "/usr/lib/python3/dist-packages/requests-2.31.0.dist-info/METADATA",
                APP_METADATA,
            );
        let inv = inventory(&[base.0, Layer::new(1).whiteout(APP_METADATA).0]);
        assert_eq!(find(&inv, "requests").evidence, [APP_METADATA]);
        assert_eq!(find(&inv, "requests").layer, Some(digest(0)));
    }

    #[test]
    fn no_release_file_means_no_distro() {
        let inv = inventory(&[Layer::new(0).with(STATUS, debs(&[("x", "1")])).0]);
        assert_eq!(inv.distro, None);
        assert_eq!(inv.packages[0].purl, "pkg:deb/debian/x@1?arch=amd64");
    }
}
