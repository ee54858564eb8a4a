//! PHP packages installed by Composer: `vendor/composer/installed.json`, in both the
//! Composer 1 form (a JSON array of packages) and the Composer 2 form
//! (`{"packages": [...], "dev": ..., "dev-package-names": [...]}`).

use std::io::Read;

use crowsnest_model::{Package, PackageKind};
use serde::Deserialize;

/// Largest installed.json read; one for a few hundred packages is a few megabytes.
pub const INSTALLED_CAP: u64 = 32 << 20;

pub(crate) fn wants(path: &str) -> bool {
    path.ends_with("/vendor/composer/installed.json")
}

#[derive(Deserialize)]
#[serde(untagged)]
enum Installed {
    V2 { packages: Vec<Entry> },
    V1(Vec<Entry>),
}

#[derive(Deserialize)]
struct Entry {
    name: Option<String>,
    version: Option<String>,
    #[serde(default)]
    license: Licenses,
}

/// `"license": ["MIT"]`, occasionally a bare string.
#[derive(Deserialize, Default)]
#[serde(untagged)]
enum Licenses {
    Many(Vec<String>),
    One(String),
    #[default]
    None,
}

pub(crate) fn analyze(path: &str, content: &mut dyn Read) -> Result<Vec<Package>, String> {
    let bytes = super::read_capped(content, INSTALLED_CAP, "installed.json")?;
    let installed: Installed = serde_json::from_slice(&bytes).map_err(|e| {
        format!("installed.json is neither a package array nor {{\"packages\": [...]}}: {e}")
    })?;
    let entries = match installed {
        Installed::V2 { packages } => packages,
        Installed::V1(packages) => packages,
    };
    let mut out = Vec::with_capacity(entries.len());
    for (index, entry) in entries.into_iter().enumerate() {
        let (Some(name), Some(version)) = (entry.name, entry.version) else {
            return Err(format!(
                "installed.json package #{index} has no name or no version"
            ));
        };
        // Packagist names are always vendor/project.
        let Some((vendor, project)) = name.split_once('/') else {
            return Err(format!(
                "installed.json package {name:?} is not named vendor/project"
            ));
        };
        let purl = super::purl(PackageKind::Composer, Some(vendor), project, &version)?;
        let licenses = match entry.license {
            Licenses::Many(l) => l,
            Licenses::One(l) => vec![l],
            Licenses::None => Vec::new(),
        };
        out.push(super::package(
            PackageKind::Composer,
            name,
            version,
            purl,
            licenses,
            path.to_string(),
        ));
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    const PATH: &str = "/var/www/vendor/composer/installed.json";

    // Shapes as Composer 2.6 and Composer 1.10 write them (fields abridged).
    const V2: &str = r#"{"packages": [
        {"name": "monolog/monolog", "version": "3.5.0", "version_normalized": "3.5.0.0",
         "type": "library", "license": ["MIT"], "install-path": "../monolog/monolog"},
        {"name": "psr/log", "version": "3.0.0", "license": ["MIT"]},
        {"name": "symfony/polyfill-mbstring", "version": "v1.28.0"}
    ], "dev": true, "dev-package-names": []}"#;
    const V1: &str = r#"[{"name": "guzzlehttp/guzzle", "version": "6.5.5", "license": "MIT"}]"#;

    #[test]
    fn composer_2_form() {
        assert!(wants(PATH));
        let pkgs = analyze(PATH, &mut V2.as_bytes()).unwrap();
        let got: Vec<_> = pkgs
            .iter()
            .map(|p| (p.name.as_str(), p.version.as_str(), p.purl.as_str()))
            .collect();
        assert_eq!(
            got,
            vec![
                (
                    "monolog/monolog",
                    "3.5.0",
                    "pkg:composer/monolog/monolog@3.5.0"
                ),
                ("psr/log", "3.0.0", "pkg:composer/psr/log@3.0.0"),
                (
                    "symfony/polyfill-mbstring",
                    "v1.28.0",
                    "pkg:composer/symfony/polyfill-mbstring@v1.28.0"
                ),
            ]
        );
        assert_eq!(pkgs[0].licenses, vec!["MIT"]);
        assert!(pkgs[2].licenses.is_empty());
    }

    #[test]
    fn composer_1_form() {
        let pkgs = analyze(PATH, &mut V1.as_bytes()).unwrap();
        assert_eq!(pkgs[0].name, "guzzlehttp/guzzle");
        assert_eq!(pkgs[0].licenses, vec!["MIT"]);
    }

    #[test]
    fn hostile_inputs() {
        for bad in [
            "",
            "{}",
            "{\"packages\": 3}",
            "[{\"name\": \"noslash\", \"version\": \"1\"}]",
            "[{\"version\": \"1\"}]",
            "<?php",
        ] {
            assert!(analyze(PATH, &mut bad.as_bytes()).is_err(), "{bad}");
        }
        assert!(!wants("/var/www/composer.json"));
    }

    proptest::proptest! {
        #[test]
        fn never_panics(bytes in proptest::collection::vec(proptest::num::u8::ANY, 0..2048)) {
            let _ = analyze(PATH, &mut bytes.as_slice());
        }

        #[test]
        fn never_panics_on_json_shaped(name in ".{0,20}", version in ".{0,12}") {
            let text = serde_json::json!({"packages": [{"name": name, "version": version}]}).to_string();
            let _ = analyze(PATH, &mut text.as_bytes());
        }
    }
}
