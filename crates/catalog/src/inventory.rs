//! From per-layer catalog results to the image's inventory: squash the layers, keep what
//! is still visible at the top, attribute every package to the layer that introduced it,
//! and report a language package owned by an OS package only once, as the OS package.

use std::collections::{BTreeMap, HashMap, HashSet};

use crowsnest_model::layer::{EntryKind, LayerContents, SquashedFs};
use crowsnest_model::path::parent;
use crowsnest_model::{Distro, Package, PackageKind};
use serde::Serialize;

use crate::{Artifact, OsPackage, ReleaseFile};

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

/// One analyzed file: where it is and in which layers it is present.
struct Record<'a> {
    path: &'a str,
    artifact: &'a Artifact,
    /// Present from layer `from` up to, not including, layer `until`.
    from: usize,
    until: usize,
}

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
    let mut dpkg_files: HashMap<(&str, Option<&str>), (&str, &[String])> = HashMap::new();
    for (path, record) in &visible {
        if let Artifact::DpkgFiles {
            package,
            arch,
            files,
        } = record.artifact
        {
            dpkg_files.insert(
                (package.as_str(), arch.as_deref()),
                (path, files.as_slice()),
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
                    let mut evidence = vec![path.to_string()];
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
        for analyzed in &layer.analyzed {
            let Ok(artifact) = &analyzed.result else {
                continue;
            };
            let path = analyzed.path.as_str();
            let until = (from + 1..layers.len())
                .find(|&j| hides(path, &written[j], &removed[j]))
                .unwrap_or(layers.len());
            out.push(Record {
                path,
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
    if distro.version_id.is_empty() {
        if let Some(other) = found.find(|d| d.id == distro.id && !d.version_id.is_empty()) {
            distro.version_id = other.version_id;
        }
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
