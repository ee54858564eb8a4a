//! Package catalogers: OS detection, OS and language package inventories.
//!
//! The layer walker (crate `acquire`) streams every layer once and calls the
//! [`Cataloger`] for the few files it [`wants`](LayerAnalyzer::wants): release files,
//! OS package databases and the language-package files of [`lang`]. Each file yields one
//! [`Artifact`], cached per layer. [`inventory`] then stacks the per-layer results into
//! the image's [`Inventory`]: the distro, every package with its PURL, source package and
//! the layer that introduced it.
//!
//! **Architecture invariant:** catalogers never touch the network or the filesystem; they
//! read only the bytes the walker hands them, and every read is bounded.

pub mod apk;
pub mod dpkg;
mod inventory;
pub mod lang;
pub mod maven_index;
mod read;
pub mod release;
pub mod rpm;
mod sanitize;

use std::io::Read;

use crowsnest_model::layer::LayerAnalyzer;
use crowsnest_model::{Distro, Package, PackageKind, SourcePackage};
use serde::{Deserialize, Serialize};

pub use inventory::{Inventory, inventory};
pub use read::ParseError;
pub use release::ReleaseFile;

/// Version of everything the cataloger outputs. Per-layer results are cached under it, so
/// bump it whenever any cataloger (here or in [`lang`]) may produce different output for
/// the same file.
pub const CATALOG_VERSION: u32 = 2;

/// What one analyzed file says about the image.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case", tag = "type")]
pub enum Artifact {
    /// A release file naming the operating system.
    Release { file: ReleaseFile, distro: Distro },
    /// The packages an OS package database records as installed. `problems` lists the
    /// records that were skipped because they were malformed; the rest is still good.
    OsPackages {
        packages: Vec<OsPackage>,
        #[serde(default, skip_serializing_if = "Vec::is_empty")]
        problems: Vec<String>,
    },
    /// The files one dpkg package installed (`info/<pkg>[:<arch>].list`, or a distroless
    /// `status.d/<pkg>.md5sums`).
    DpkgFiles {
        package: String,
        #[serde(default, skip_serializing_if = "Option::is_none")]
        arch: Option<String>,
        files: Vec<String>,
    },
    /// Packages installed by a language package manager (see [`lang`]).
    LanguagePackages { packages: Vec<Package> },
}

/// One package as an OS package database records it, before the inventory knows the
/// distro (needed for the PURL) and the layer.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct OsPackage {
    pub kind: PackageKind,
    pub name: String,
    /// The version as the package manager compares it (`1.2-3` for dpkg, `1.2-r3` for
    /// apk, `version-release` for rpm).
    pub version: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub epoch: Option<u32>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub arch: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub source: Option<SourcePackage>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub licenses: Vec<String>,
    /// Files the database says the package owns (apk and rpm; dpkg keeps them apart).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub files: Vec<String>,
}

/// Which parser a wanted path goes to.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Target {
    Release(ReleaseFile),
    DpkgStatus,
    DpkgStatusD,
    DpkgMd5sums,
    DpkgList,
    Apk,
    Rpm(rpm::DbFormat),
}

const DPKG_INFO: &str = "/var/lib/dpkg/info/";
const DPKG_STATUS_D: &str = "/var/lib/dpkg/status.d/";
/// Where rpm keeps its database: the classic place, and the one Fedora and openSUSE use
/// since they moved it under /usr (with /var/lib/rpm as a symlink).
const RPM_DB_DIRS: [&str; 2] = ["/var/lib/rpm/", "/usr/lib/sysimage/rpm/"];

impl Target {
    /// Matches by comparing string slices only: this runs for every entry of every layer.
    fn of(path: &str) -> Option<Target> {
        if let Some(file) = ReleaseFile::at(path) {
            return Some(Target::Release(file));
        }
        if path == "/var/lib/dpkg/status" {
            return Some(Target::DpkgStatus);
        }
        if let Some(name) = path.strip_prefix(DPKG_STATUS_D) {
            if name.is_empty() || name.contains('/') {
                return None;
            }
            return Some(if name.ends_with(".md5sums") {
                Target::DpkgMd5sums
            } else {
                Target::DpkgStatusD
            });
        }
        if let Some(name) = path.strip_prefix(DPKG_INFO) {
            return (name.len() > ".list".len() && name.ends_with(".list") && !name.contains('/'))
                .then_some(Target::DpkgList);
        }
        if path == "/lib/apk/db/installed" || path == "/usr/lib/apk/db/installed" {
            return Some(Target::Apk);
        }
        for dir in RPM_DB_DIRS {
            if let Some(name) = path.strip_prefix(dir) {
                return rpm::DbFormat::from_file_name(name).map(Target::Rpm);
            }
        }
        None
    }
}

/// Whether two paths go to the same parser. A hard link shares the analysis of the file
/// it links to only when it sits where that file's parser would have read it too.
pub(crate) fn same_parser(a: &str, b: &str) -> bool {
    match (Target::of(a), Target::of(b)) {
        (Some(x), Some(y)) => x == y,
        (None, None) => lang::same_target(a, b),
        _ => false,
    }
}

/// The cataloger the layer walker runs: OS detection, OS package databases, and the
/// language catalogers of [`lang`].
#[derive(Clone, Copy, Debug, Default)]
pub struct Cataloger;

impl LayerAnalyzer for Cataloger {
    type Output = Artifact;

    fn cache_key(&self) -> String {
        format!("catalog/{CATALOG_VERSION}")
    }

    fn wants(&self, path: &str, size: u64, mode: u32) -> bool {
        Target::of(path).is_some() || lang::wants(path, size, mode)
    }

    fn analyze(&self, path: &str, size: u64, content: &mut dyn Read) -> Result<Artifact, String> {
        let Some(target) = Target::of(path) else {
            return lang::analyze(path, size, content)
                .map(|packages| Artifact::LanguagePackages { packages });
        };
        let named = |e: ParseError| format!("{path}: {e}");
        match target {
            Target::Release(file) => release::parse(file, content)
                .map(|distro| Artifact::Release { file, distro })
                .map_err(named),
            Target::DpkgStatus | Target::DpkgStatusD => {
                let kind = if target == Target::DpkgStatus {
                    dpkg::StatusFile::Status
                } else {
                    dpkg::StatusFile::StatusD
                };
                dpkg::parse_status(content, kind)
                    .map(|(packages, problems)| Artifact::OsPackages { packages, problems })
                    .map_err(named)
            }
            Target::DpkgList => {
                let (package, arch) = dpkg::package_of_info_file(path, ".list");
                dpkg::parse_list(content)
                    .map(|files| Artifact::DpkgFiles {
                        package,
                        arch,
                        files,
                    })
                    .map_err(named)
            }
            Target::DpkgMd5sums => {
                let (package, arch) = dpkg::package_of_info_file(path, ".md5sums");
                dpkg::parse_md5sums(content)
                    .map(|files| Artifact::DpkgFiles {
                        package,
                        arch,
                        files,
                    })
                    .map_err(named)
            }
            Target::Apk => apk::parse_installed(content)
                .map(|(packages, problems)| Artifact::OsPackages { packages, problems })
                .map_err(named),
            Target::Rpm(format) => rpm::parse_db(format, content)
                .map(|(packages, problems)| Artifact::OsPackages { packages, problems })
                .map_err(named),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn wanted_paths_dispatch_to_their_parser() {
        let cases = [
            (
                "/etc/os-release",
                Some(Target::Release(ReleaseFile::EtcOsRelease)),
            ),
            (
                "/usr/lib/os-release",
                Some(Target::Release(ReleaseFile::UsrLibOsRelease)),
            ),
            ("/var/lib/dpkg/status", Some(Target::DpkgStatus)),
            ("/var/lib/dpkg/status-old", None),
            ("/var/lib/dpkg/status.d/libc6", Some(Target::DpkgStatusD)),
            (
                "/var/lib/dpkg/status.d/libc6.md5sums",
                Some(Target::DpkgMd5sums),
            ),
            ("/var/lib/dpkg/status.d/x/y", None),
            (
                "/var/lib/dpkg/info/libc6:amd64.list",
                Some(Target::DpkgList),
            ),
            ("/var/lib/dpkg/info/libc6:amd64.md5sums", None),
            ("/var/lib/dpkg/info/.list", None),
            ("/lib/apk/db/installed", Some(Target::Apk)),
            (
                "/var/lib/rpm/rpmdb.sqlite",
                Some(Target::Rpm(rpm::DbFormat::Sqlite)),
            ),
            (
                "/var/lib/rpm/Packages",
                Some(Target::Rpm(rpm::DbFormat::BerkeleyDb)),
            ),
            (
                "/usr/lib/sysimage/rpm/Packages.db",
                Some(Target::Rpm(rpm::DbFormat::Ndb)),
            ),
            ("/var/lib/rpm/Index.db", None),
            ("/etc/passwd", None),
        ];
        for (path, want) in cases {
            assert_eq!(Target::of(path), want, "{path}");
        }
    }

    #[test]
    fn cache_key_names_the_version() {
        assert_eq!(Cataloger.cache_key(), format!("catalog/{CATALOG_VERSION}"));
    }

    #[test]
    fn analyze_names_the_file_in_errors() {
        let mut bytes: &[u8] = b"not a database at all";
        let err = Cataloger
            .analyze("/var/lib/rpm/Packages.db", 21, &mut bytes)
            .unwrap_err();
        assert!(err.starts_with("/var/lib/rpm/Packages.db: "), "{err}");
    }
}
