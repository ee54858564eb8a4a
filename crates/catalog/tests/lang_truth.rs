//! Language packages of the real test images (app-bookworm, and whiteout on top of it),
//! walked layer by layer by the real walker and squashed by the inventory, against the
//! ground truth the package managers wrote at build time (`$CROWSNEST_FIXTURES/truth`):
//! `pip list`, `npm ls --all`, the Maven Central coordinates of each jar (nested ones as
//! `OUTER!/INNER`), `go version -m` and `rust-audit-info`. Exact: every package with its
//! version, nothing more.

use std::collections::BTreeSet;
use std::fs::File;
use std::path::{Path, PathBuf};

use crowsnest_acquire::walk::{LayerExpectations, Limits, walk_layer};
use crowsnest_catalog::{Cataloger, Inventory, inventory, lang};
use crowsnest_model::{Digest, Package, PackageKind};
use serde_json::Value;

fn json(path: &Path) -> Value {
    let bytes = std::fs::read(path).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
    serde_json::from_slice(&bytes).unwrap_or_else(|e| panic!("{}: {e}", path.display()))
}

fn blob(layout: &Path, digest: &str) -> PathBuf {
    let (alg, hex) = digest.split_once(':').unwrap();
    layout.join("blobs").join(alg).join(hex)
}

/// The inventory of a single-platform image in an OCI layout, and its truth directory.
fn inventory_of(image: &str) -> Option<(Inventory, PathBuf)> {
    let fixtures = crowsnest_testbed::path("CROWSNEST_FIXTURES")?;
    let layout = fixtures.join("oci").join(image);
    let index = json(&layout.join("index.json"));
    let manifest = json(&blob(
        &layout,
        index["manifests"][0]["digest"].as_str().unwrap(),
    ));
    let config = json(&blob(
        &layout,
        manifest["config"]["digest"].as_str().unwrap(),
    ));
    let diff_ids = config["rootfs"]["diff_ids"].as_array().unwrap();
    let layers: Vec<_> = manifest["layers"]
        .as_array()
        .unwrap()
        .iter()
        .zip(diff_ids)
        .map(|(layer, diff_id)| {
            let digest = layer["digest"].as_str().unwrap();
            let expect = LayerExpectations {
                blob_digest: Some(digest.parse::<Digest>().unwrap()),
                diff_id: Some(diff_id.as_str().unwrap().parse::<Digest>().unwrap()),
            };
            let file = File::open(blob(&layout, digest)).unwrap();
            walk_layer(file, &expect, &Cataloger, &Limits::default())
                .unwrap_or_else(|e| panic!("{image} layer {digest}: {e}"))
        })
        .collect();
    Some((inventory(&layers), fixtures.join("truth").join(image)))
}

fn found(inv: &Inventory, kind: PackageKind) -> BTreeSet<(String, String)> {
    packages(inv, kind)
        .map(|p| (p.name.clone(), p.version.clone()))
        .collect()
}

fn packages(inv: &Inventory, kind: PackageKind) -> impl Iterator<Item = &Package> {
    inv.packages.iter().filter(move |p| p.kind == kind)
}

fn pip_truth(truth: &Path) -> BTreeSet<(String, String)> {
    json(&truth.join("pip.json"))
        .as_array()
        .unwrap()
        .iter()
        .map(|p| {
            let name = lang::python::normalize_name(p["name"].as_str().unwrap());
            (name, p["version"].as_str().unwrap().to_string())
        })
        .collect()
}

fn npm_truth(node: &Value, out: &mut BTreeSet<(String, String)>) {
    let Some(deps) = node.get("dependencies").and_then(Value::as_object) else {
        return;
    };
    for (name, dep) in deps {
        let version = dep["version"]
            .as_str()
            .unwrap_or_else(|| panic!("npm ls: {name} has no version"));
        out.insert((name.clone(), version.to_string()));
        npm_truth(dep, out);
    }
}

fn maven_truth(truth: &Path) -> BTreeSet<(String, String, String)> {
    std::fs::read_to_string(truth.join("maven.tsv"))
        .unwrap()
        .lines()
        .filter(|l| !l.is_empty())
        .map(|l| {
            let f: Vec<&str> = l.split('\t').collect();
            (f[0].to_string(), f[1].to_string(), f[2].to_string())
        })
        .collect()
}

/// `go version -m`: modules (replacements applied) and the toolchain as `stdlib`.
fn go_truth(truth: &Path) -> BTreeSet<(String, String)> {
    let text = std::fs::read_to_string(truth.join("go.txt")).unwrap();
    let mut lines = text.lines();
    let toolchain = lines
        .next()
        .unwrap()
        .rsplit(": ")
        .next()
        .unwrap()
        .to_string();
    let mut modules: Vec<(String, String)> = Vec::new();
    for line in lines {
        let f: Vec<&str> = line.trim_start_matches('\t').split('\t').collect();
        match f[0] {
            "mod" | "dep" => modules.push((f[1].to_string(), f[2].to_string())),
            "=>" => *modules.last_mut().unwrap() = (f[1].to_string(), f[2].to_string()),
            _ => {}
        }
    }
    modules.push((
        "stdlib".to_string(),
        format!("v{}", toolchain.strip_prefix("go").unwrap()),
    ));
    modules.into_iter().collect()
}

/// `rust-audit-info`: every crate not local to the binary's own workspace.
fn cargo_truth(truth: &Path) -> BTreeSet<(String, String)> {
    json(&truth.join("cargo.json"))["packages"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|p| p["source"] != "local")
        .map(|p| {
            (
                p["name"].as_str().unwrap().to_string(),
                p["version"].as_str().unwrap().to_string(),
            )
        })
        .collect()
}

/// Everything the image's truth lists, compared kind by kind.
fn assert_matches_truth(inv: &Inventory, truth: &Path) {
    let lang_unreadable: Vec<_> = inv
        .unreadable
        .iter()
        .filter(|(path, _)| lang::wants(path, 1 << 20, 0o644))
        .collect();
    assert!(
        lang_unreadable.is_empty(),
        "unreadable language files: {lang_unreadable:#?}"
    );

    let python: BTreeSet<_> = found(inv, PackageKind::Python)
        .into_iter()
        .map(|(n, v)| (lang::python::normalize_name(&n), v))
        .collect();
    assert_eq!(
        python,
        pip_truth(truth),
        "python (dpkg-owned PyYAML must not be here)"
    );

    let mut npm = BTreeSet::new();
    npm_truth(&json(&truth.join("npm.json")), &mut npm);
    assert!(npm.len() > 40, "express brings its tree: {}", npm.len());
    assert_eq!(found(inv, PackageKind::Npm), npm, "npm");

    let maven: BTreeSet<_> = packages(inv, PackageKind::Maven)
        .map(|p| (p.name.clone(), p.version.clone(), p.evidence[0].clone()))
        .collect();
    assert_eq!(maven, maven_truth(truth), "maven");

    assert_eq!(found(inv, PackageKind::Go), go_truth(truth), "go");
    assert_eq!(found(inv, PackageKind::Cargo), cargo_truth(truth), "cargo");

    for p in inv.packages.iter().filter(|p| !p.kind.is_os()) {
        assert!(p.layer.is_some(), "{} {} has no layer", p.name, p.version);
        assert!(
            p.purl.starts_with(&format!("pkg:{}/", p.kind.purl_type())),
            "{}",
            p.purl
        );
    }
}

#[test]
fn app_bookworm_language_packages_match_the_package_managers() {
    let Some((inv, truth)) = inventory_of("app-bookworm") else {
        eprintln!("skipping: no test bed fixtures (CROWSNEST_FIXTURES)");
        return;
    };
    assert_matches_truth(&inv, &truth);
    // Each ecosystem sits in its own layer, above the base layers.
    let layer_of = |kind| {
        packages(&inv, kind)
            .map(|p| p.layer.clone().unwrap())
            .collect::<BTreeSet<_>>()
    };
    let ecosystems = [
        PackageKind::Python,
        PackageKind::Npm,
        PackageKind::Maven,
        PackageKind::Go,
        PackageKind::Cargo,
    ];
    let layers: Vec<_> = ecosystems.iter().map(|k| layer_of(*k)).collect();
    for (kind, set) in ecosystems.iter().zip(&layers) {
        assert_eq!(set.len(), 1, "{kind} packages come from one layer: {set:?}");
    }
    let distinct: BTreeSet<_> = layers.iter().flatten().collect();
    assert_eq!(distinct.len(), ecosystems.len(), "one layer per ecosystem");
}

#[test]
fn whiteout_hides_removed_language_packages() {
    let Some((inv, truth)) = inventory_of("whiteout") else {
        eprintln!("skipping: no test bed fixtures (CROWSNEST_FIXTURES)");
        return;
    };
    assert_matches_truth(&inv, &truth);
    assert!(
        !found(&inv, PackageKind::Python)
            .iter()
            .any(|(n, _)| n == "Jinja2")
    );
    assert!(
        packages(&inv, PackageKind::Maven).all(|p| p.version == "2.17.1"),
        "the opaque /app/lib hides every older jar"
    );
}
