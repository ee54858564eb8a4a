//! .NET packages: the `<App>.deps.json` dependency manifest the SDK writes next to a
//! published application. Its `libraries` object is keyed `"Name/Version"`; entries of
//! type `package` are NuGet packages (`project` entries are the application itself and
//! its own projects, `reference` entries are assemblies, neither is a NuGet package).

use std::collections::BTreeMap;
use std::io::Read;

use crowsnest_model::{Package, PackageKind};
use serde::Deserialize;

/// Largest deps.json read; large applications have a few megabytes.
pub const DEPS_CAP: u64 = 32 << 20;

pub(crate) fn wants(path: &str) -> bool {
    path.ends_with(".deps.json") && super::file_name(path).len() > ".deps.json".len()
}

#[derive(Deserialize)]
struct DepsJson {
    libraries: BTreeMap<String, Library>,
}

#[derive(Deserialize)]
struct Library {
    #[serde(rename = "type")]
    kind: String,
}

pub(crate) fn analyze(path: &str, content: &mut dyn Read) -> Result<Vec<Package>, String> {
    let bytes = super::read_capped(content, DEPS_CAP, "deps.json")?;
    let deps: DepsJson = serde_json::from_slice(&bytes)
        .map_err(|e| format!("deps.json has no valid \"libraries\" object: {e}"))?;
    let mut out = Vec::new();
    for (key, library) in deps.libraries {
        if library.kind != "package" {
            continue;
        }
        let Some((name, version)) = key
            .split_once('/')
            .filter(|(n, v)| !n.is_empty() && !v.is_empty())
        else {
            return Err(format!("deps.json library key {key:?} is not Name/Version"));
        };
        let purl = super::purl(PackageKind::NuGet, None, name, version)?;
        out.push(super::package(
            PackageKind::NuGet,
            name.to_string(),
            version.to_string(),
            purl,
            Vec::new(),
            path.to_string(),
        ));
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    const PATH: &str = "/app/WebApi.deps.json";

    // The shape `dotnet publish` writes for .NET 8 (targets abridged).
    const DEPS: &str = r#"{
      "runtimeTarget": {"name": ".NETCoreApp,Version=v8.0", "signature": ""},
      "compilationOptions": {},
      "targets": {".NETCoreApp,Version=v8.0": {"WebApi/1.0.0": {"dependencies": {"Newtonsoft.Json": "13.0.1"}}}},
      "libraries": {
        "WebApi/1.0.0": {"type": "project", "serviceable": false, "sha512": ""},
        "Newtonsoft.Json/13.0.1": {"type": "package", "serviceable": true,
          "sha512": "sha512-ppPFpBcvxdsfUonNcvITKqLl3bqxWbDCZIzDWHzjpdAHRFfZe0Dw9HmA0+za13IdyrgJwpkDTDA9fHaxOrt20A==",
          "path": "newtonsoft.json/13.0.1", "hashPath": "newtonsoft.json.13.0.1.nupkg.sha512"},
        "Serilog/2.10.0": {"type": "package", "serviceable": true}
      }
    }"#;

    #[test]
    fn packages_not_projects() {
        assert!(wants(PATH));
        let pkgs = analyze(PATH, &mut DEPS.as_bytes()).unwrap();
        let got: Vec<_> = pkgs
            .iter()
            .map(|p| (p.name.as_str(), p.version.as_str(), p.purl.as_str()))
            .collect();
        assert_eq!(
            got,
            vec![
                (
                    "Newtonsoft.Json",
                    "13.0.1",
                    "pkg:nuget/Newtonsoft.Json@13.0.1"
                ),
                ("Serilog", "2.10.0", "pkg:nuget/Serilog@2.10.0"),
            ]
        );
    }

    #[test]
    fn hostile_inputs() {
        assert!(!wants("/app/.deps.json"));
        for bad in [
            "",
            "{}",
            "{\"libraries\": []}",
            "{\"libraries\": {\"NoVersion\": {\"type\": \"package\"}}}",
            "\u{0}",
        ] {
            assert!(analyze(PATH, &mut bad.as_bytes()).is_err(), "{bad}");
        }
    }

    proptest::proptest! {
        #[test]
        fn never_panics(bytes in proptest::collection::vec(proptest::num::u8::ANY, 0..2048)) {
            let _ = analyze(PATH, &mut bytes.as_slice());
        }

        #[test]
        fn never_panics_on_json_shaped(key in ".{0,20}") {
            let text = serde_json::json!({"libraries": {key: {"type": "package"}}}).to_string();
            let _ = analyze(PATH, &mut text.as_bytes());
        }
    }
}
