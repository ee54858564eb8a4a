//! Language package catalogers: packages installed by language package managers, found
//! from the files they leave in an image (not from lockfiles).
//!
//! The layer walker calls [`wants`] for every tar entry (it must be cheap and must not
//! allocate) and [`analyze`] with the entry's bytes for the entries it wanted. One module
//! per ecosystem:
//!
//! | module        | files                                                          |
//! |---------------|----------------------------------------------------------------|
//! | [`python`]    | `*.dist-info/METADATA`, `*.egg-info/PKG-INFO`, `*.egg-info` file |
//! | [`node`]      | `node_modules/<pkg>/package.json`, `node_modules/@s/<pkg>/package.json` |
//! | [`java`]      | `.jar .war .ear .par .jpi .hpi` archives, nested archives     |
//! | [`binary`]    | executables: Go build info and cargo-auditable `.dep-v0`      |
//! | [`ruby`]      | `specifications/*.gemspec`                                     |
//! | [`php`]       | `vendor/composer/installed.json`                               |
//! | [`dotnet`]    | `*.deps.json`                                                  |
//!
//! Every read is bounded: each parser reads at most its own cap from `content` and
//! reports a larger file as an error instead of reading on. Errors start with the file's
//! path (and the entry inside an archive, when there is one), then say what is wrong.
//! Returned packages have `layer = None`: the inventory fills it in.

pub mod binary;
pub mod dotnet;
pub mod java;
pub mod node;
pub mod php;
pub mod python;
pub mod ruby;

use std::io::Read;

use crowsnest_model::{Package, PackageKind};

/// Which cataloger a path belongs to. The order of the checks in [`Target::of`] matters
/// only for paths that look like two things at once, which none of the patterns allow.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Target {
    Python,
    Node,
    Java,
    Ruby,
    Php,
    DotNet,
    Binary,
}

impl Target {
    fn of(path: &str, mode: u32) -> Option<Target> {
        if python::wants(path) {
            Some(Target::Python)
        } else if node::wants(path) {
            Some(Target::Node)
        } else if java::wants(path) {
            Some(Target::Java)
        } else if ruby::wants(path) {
            Some(Target::Ruby)
        } else if php::wants(path) {
            Some(Target::Php)
        } else if dotnet::wants(path) {
            Some(Target::DotNet)
        } else if binary::wants(path, mode) {
            Some(Target::Binary)
        } else {
            None
        }
    }
}

/// Whether [`analyze`] wants to see this regular file. `path` is a normalized absolute
/// image path, `size` the entry's size and `mode` its permission bits (`0o755`). Only
/// looks at the path's bytes: no allocation.
pub fn wants(path: &str, size: u64, mode: u32) -> bool {
    match Target::of(path, mode) {
        Some(Target::Binary) => binary::wants_size(size),
        Some(_) => true,
        None => false,
    }
}

/// Whether both paths go to the same language cataloger (executables compared as such).
pub(crate) fn same_target(a: &str, b: &str) -> bool {
    let (a, b) = (Target::of(a, 0o755), Target::of(b, 0o755));
    a.is_some() && a == b
}

/// Catalogs one file: the language packages its bytes record. `size` is the size the
/// tar header declared; `content` yields the file's bytes, and is read only as far as
/// the cataloger needs (never more than its cap). A file that [`wants`] would reject
/// yields no packages.
pub fn analyze(path: &str, size: u64, content: &mut dyn Read) -> Result<Vec<Package>, String> {
    let Some(target) = Target::of(path, 0o755) else {
        return Ok(Vec::new());
    };
    let result = match target {
        Target::Python => python::analyze(path, content),
        Target::Node => node::analyze(path, content),
        Target::Java => java::analyze(path, size, content),
        Target::Ruby => ruby::analyze(path, content),
        Target::Php => php::analyze(path, content),
        Target::DotNet => dotnet::analyze(path, content),
        Target::Binary => binary::analyze(path, size, content),
    };
    // Errors from inside an archive already start with the archive's path.
    result.map_err(|e| {
        if e.starts_with(path) {
            e
        } else {
            format!("{path}: {e}")
        }
    })
}

/// Reads all of `content` if it is at most `cap` bytes; a longer input is an error, found
/// after reading `cap + 1` bytes, never more.
pub(crate) fn read_capped(content: &mut dyn Read, cap: u64, what: &str) -> Result<Vec<u8>, String> {
    let mut buf = Vec::new();
    content
        .take(cap + 1)
        .read_to_end(&mut buf)
        .map_err(|e| format!("reading {what}: {e}"))?;
    if buf.len() as u64 > cap {
        return Err(format!("{what} is larger than the {cap}-byte limit"));
    }
    Ok(buf)
}

/// The package-url of a package, with the namespace split off the name where the
/// ecosystem has one. Returns an error naming the package when the purl crate rejects
/// a component (an empty name, for example).
pub(crate) fn purl(
    kind: PackageKind,
    namespace: Option<&str>,
    name: &str,
    version: &str,
) -> Result<String, String> {
    let describe =
        |e: packageurl::Error| format!("package {name:?} {version:?}: no valid purl: {e}");
    let mut purl = packageurl::PackageUrl::new(kind.purl_type(), name).map_err(describe)?;
    if let Some(ns) = namespace.filter(|ns| !ns.is_empty()) {
        purl.with_namespace(ns).map_err(describe)?;
    }
    if !version.is_empty() {
        purl.with_version(version).map_err(describe)?;
    }
    Ok(purl.to_string())
}

/// A language package as the catalogers report it (no layer, no OS fields).
pub(crate) fn package(
    kind: PackageKind,
    name: String,
    version: String,
    purl: String,
    licenses: Vec<String>,
    evidence: String,
) -> Package {
    Package {
        kind,
        name,
        version,
        epoch: None,
        arch: None,
        source: None,
        purl,
        licenses,
        layer: None,
        evidence: vec![evidence],
        identity: None,
    }
}

/// The last component of a normalized path.
pub(crate) fn file_name(path: &str) -> &str {
    path.rsplit('/').next().unwrap_or(path)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn dispatch_by_path() {
        let cases = [
            (
                "/usr/lib/python3/dist-packages/six-1.16.0.dist-info/METADATA",
                Some(Target::Python),
            ),
            ("/app/node_modules/express/package.json", Some(Target::Node)),
            ("/opt/app/app.jar", Some(Target::Java)),
            (
                "/usr/local/bundle/specifications/rack-2.2.8.gemspec",
                Some(Target::Ruby),
            ),
            ("/srv/vendor/composer/installed.json", Some(Target::Php)),
            ("/app/MyApp.deps.json", Some(Target::DotNet)),
            ("/usr/local/bin/server", Some(Target::Binary)),
            ("/etc/passwd", None),
            ("/app/package.json", None),
        ];
        for (path, want) in cases {
            assert_eq!(
                Target::of(path, 0o644),
                want.filter(|t| *t != Target::Binary),
                "{path}"
            );
        }
        assert_eq!(
            Target::of("/usr/local/bin/server", 0o755),
            Some(Target::Binary)
        );
        assert!(!wants("/etc/passwd", 100, 0o644));
        assert!(wants("/app/app.jar", 100, 0o644));
    }

    #[test]
    fn read_capped_stops_after_cap() {
        let mut endless = std::io::repeat(b'x');
        let err = read_capped(&mut endless, 1024, "thing").unwrap_err();
        assert!(err.contains("1024-byte limit"), "{err}");
        let mut short: &[u8] = b"abc";
        assert_eq!(read_capped(&mut short, 3, "thing").unwrap(), b"abc");
    }

    #[test]
    fn purl_components() {
        assert_eq!(
            purl(PackageKind::Npm, Some("@types"), "node", "20.1.0").unwrap(),
            "pkg:npm/%40types/node@20.1.0"
        );
        assert!(purl(PackageKind::Npm, None, "", "1").is_err());
    }
}
