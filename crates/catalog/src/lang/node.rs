//! npm packages as installed: the `package.json` at the top of each package directory
//! under a `node_modules` directory.
//!
//! Only `node_modules/<name>/package.json` and `node_modules/@scope/<name>/package.json`
//! count. A `package.json` deeper inside a package (test fixtures, examples, templates
//! such as `node_modules/foo/test/fixtures/package.json`) is not an installed package, so
//! it is not read; packages nested under a package's own `node_modules` are, because npm
//! installs conflicting versions there. Directories whose name starts with `.` (npm's
//! `.bin`, `.cache`, staging dirs) are not packages.

use std::io::Read;

use crowsnest_model::{Package, PackageKind};
use serde::Deserialize;

/// Largest package.json read; the biggest real ones are a few hundred kilobytes.
pub const MANIFEST_CAP: u64 = 4 << 20;

pub(crate) fn wants(path: &str) -> bool {
    let Some(dir) = path.strip_suffix("/package.json") else {
        return false;
    };
    let Some(at) = dir.rfind("/node_modules/") else {
        return false;
    };
    let rest = &dir[at + "/node_modules/".len()..];
    let valid = |component: &str| !component.is_empty() && !component.starts_with('.');
    match rest.split_once('/') {
        // A lone `@scope` directory is a namespace, not a package.
        None => valid(rest) && !rest.starts_with('@'),
        Some((scope, name)) => {
            scope.starts_with('@') && scope.len() > 1 && valid(name) && !name.contains('/')
        }
    }
}

#[derive(Deserialize)]
struct Manifest {
    name: Option<String>,
    version: Option<String>,
    license: Option<LicenseField>,
    licenses: Option<Vec<LicenseField>>,
}

/// `"license": "MIT"`, or the deprecated object form `{"type": "MIT", "url": ...}`.
#[derive(Deserialize)]
#[serde(untagged)]
enum LicenseField {
    Spdx(String),
    Object {
        #[serde(rename = "type")]
        kind: Option<String>,
    },
    Other(serde::de::IgnoredAny),
}

impl LicenseField {
    fn into_name(self) -> Option<String> {
        match self {
            LicenseField::Spdx(s) => Some(s),
            LicenseField::Object { kind } => kind,
            LicenseField::Other(_) => None,
        }
        .filter(|s| !s.is_empty())
    }
}

pub(crate) fn analyze(path: &str, content: &mut dyn Read) -> Result<Vec<Package>, String> {
    let bytes = super::read_capped(content, MANIFEST_CAP, "package.json")?;
    let manifest: Manifest = serde_json::from_slice(&bytes)
        .map_err(|e| format!("package.json is not valid JSON: {e}"))?;
    // npm refuses to install a package without both; a manifest lacking them under
    // node_modules is a leftover or a workspace link, not a package.
    let (Some(name), Some(version)) = (manifest.name, manifest.version) else {
        return Ok(Vec::new());
    };
    if name.is_empty() || version.is_empty() {
        return Ok(Vec::new());
    }
    let (namespace, short) = match name.split_once('/') {
        Some((scope, short)) if scope.starts_with('@') => (Some(scope), short),
        _ => (None, name.as_str()),
    };
    let purl = super::purl(PackageKind::Npm, namespace, short, &version)?;
    let mut licenses: Vec<String> = manifest
        .license
        .and_then(LicenseField::into_name)
        .into_iter()
        .collect();
    if licenses.is_empty() {
        licenses = manifest
            .licenses
            .unwrap_or_default()
            .into_iter()
            .filter_map(LicenseField::into_name)
            .collect();
    }
    Ok(vec![super::package(
        PackageKind::Npm,
        name,
        version,
        purl,
        licenses,
        path.to_string(),
    )])
}

#[cfg(test)]
mod tests {
    use super::*;

    fn run(text: &str) -> Result<Vec<Package>, String> {
        analyze("/app/node_modules/x/package.json", &mut text.as_bytes())
    }

    #[test]
    fn wants_package_roots_only() {
        for yes in [
            "/app/node_modules/express/package.json",
            "/app/node_modules/@types/node/package.json",
            "/usr/lib/node_modules/npm/node_modules/semver/package.json",
            "/app/node_modules/a/node_modules/@s/b/package.json",
        ] {
            assert!(wants(yes), "{yes}");
        }
        for no in [
            "/app/package.json",
            "/app/node_modules/package.json",
            "/app/node_modules/express/test/fixtures/package.json",
            "/app/node_modules/.bin/package.json",
            "/app/node_modules/@types/package.json",
            "/app/node_modules/@/x/package.json",
            "/app/node_modules/express/package.json.bak",
            "/app/node_modules/.package-lock.json",
        ] {
            assert!(!wants(no), "{no}");
        }
    }

    #[test]
    fn scoped_package_with_license() {
        let text = r#"{"name": "@babel/core", "version": "7.23.2", "license": "MIT", "dependencies": {"x": "^1"}}"#;
        let p = &analyze(
            "/app/node_modules/@babel/core/package.json",
            &mut text.as_bytes(),
        )
        .unwrap()[0];
        assert_eq!(
            (p.name.as_str(), p.version.as_str()),
            ("@babel/core", "7.23.2")
        );
        assert_eq!(p.purl, "pkg:npm/%40babel/core@7.23.2");
        assert_eq!(p.licenses, vec!["MIT"]);
    }

    #[test]
    fn old_license_forms() {
        let p = &run(r#"{"name":"a","version":"1.0.0","license":{"type":"BSD","url":"u"}}"#)
            .unwrap()[0];
        assert_eq!(p.licenses, vec!["BSD"]);
        let p =
            &run(r#"{"name":"a","version":"1.0.0","licenses":[{"type":"MIT"},{"type":"GPL"}]}"#)
                .unwrap()[0];
        assert_eq!(p.licenses, vec!["MIT", "GPL"]);
        let p = &run(r#"{"name":"a","version":"1.0.0","license":42}"#).unwrap()[0];
        assert!(p.licenses.is_empty());
    }

    #[test]
    fn hostile_not_json_and_wrong_shapes() {
        let err = run("module.exports = {}").unwrap_err();
        assert!(err.contains("not valid JSON"), "{err}");
        assert!(run(r#"{"name": 5, "version": "1"}"#).is_err());
        assert!(run("[1,2,3]").is_err());
        assert!(run(r#"{"name":"a"}"#).unwrap().is_empty());
        let deep = "[".repeat(100_000);
        assert!(run(&deep).is_err());
        let mut huge = std::io::repeat(b' ').take(MANIFEST_CAP + 10);
        assert!(
            analyze("/x/node_modules/a/package.json", &mut huge)
                .unwrap_err()
                .contains("limit")
        );
    }

    proptest::proptest! {
        #[test]
        fn never_panics(bytes in proptest::collection::vec(proptest::num::u8::ANY, 0..2048)) {
            let _ = analyze("/x/node_modules/a/package.json", &mut bytes.as_slice());
        }

        #[test]
        fn never_panics_on_json_shaped(name in ".{0,20}", version in ".{0,20}") {
            let text = serde_json::json!({"name": name, "version": version}).to_string();
            let _ = run(&text);
        }
    }
}
