//! Inventories of the real test images (built by `scripts/testenv/up` with debootstrap,
//! dpkg, pip, npm ...) walked by the real layer walker, compared with the ground truth the
//! package managers themselves wrote (`$CROWSNEST_FIXTURES/truth/<image>/`).

use std::collections::BTreeSet;
use std::fs::File;
use std::path::{Path, PathBuf};

use crowsnest_acquire::walk::{LayerExpectations, Limits, walk_layer};
use crowsnest_catalog::{Artifact, Cataloger, Inventory, inventory};
use crowsnest_model::layer::LayerContents;
use crowsnest_model::{Digest, PackageKind};
use serde_json::Value;

fn json(path: &Path) -> Value {
    serde_json::from_slice(
        &std::fs::read(path).unwrap_or_else(|e| panic!("{}: {e}", path.display())),
    )
    .unwrap_or_else(|e| panic!("{}: {e}", path.display()))
}

fn blob_path(layout: &Path, digest: &str) -> PathBuf {
    let (alg, hex) = digest.split_once(':').unwrap();
    layout.join("blobs").join(alg).join(hex)
}

/// Walks every layer of the single-platform image in an OCI layout.
fn walk_image(layout: &Path) -> Vec<LayerContents<Artifact>> {
    let index = json(&layout.join("index.json"));
    let manifest = json(&blob_path(
        layout,
        index["manifests"][0]["digest"].as_str().unwrap(),
    ));
    let config = json(&blob_path(
        layout,
        manifest["config"]["digest"].as_str().unwrap(),
    ));
    let diff_ids = config["rootfs"]["diff_ids"].as_array().unwrap();
    let layers = manifest["layers"].as_array().unwrap();
    assert_eq!(diff_ids.len(), layers.len());
    layers
        .iter()
        .zip(diff_ids)
        .map(|(layer, diff_id)| {
            let digest = layer["digest"].as_str().unwrap();
            let expect = LayerExpectations {
                blob_digest: Some(digest.parse::<Digest>().unwrap()),
                diff_id: Some(diff_id.as_str().unwrap().parse::<Digest>().unwrap()),
            };
            let blob = File::open(blob_path(layout, digest)).unwrap();
            walk_layer(blob, &expect, &Cataloger, &Limits::default())
                .unwrap_or_else(|e| panic!("layer {digest}: {e}"))
        })
        .collect()
}

/// The inventory of a fixture image and its truth directory, or `None` to skip.
fn fixture(image: &str) -> Option<(Inventory, Vec<LayerContents<Artifact>>, PathBuf)> {
    let fixtures = crowsnest_testbed::path("CROWSNEST_FIXTURES")?;
    let layout = fixtures.join("oci").join(image);
    let truth = fixtures.join("truth").join(image);
    let layers = walk_image(&layout);
    Some((inventory(&layers), layers, truth))
}

/// dpkg.tsv: package, version, source package, source version (dpkg-query -W).
fn dpkg_truth(truth: &Path) -> BTreeSet<String> {
    std::fs::read_to_string(truth.join("dpkg.tsv"))
        .unwrap()
        .lines()
        .filter(|l| !l.is_empty())
        .map(str::to_string)
        .collect()
}

fn dpkg_found(inv: &Inventory) -> BTreeSet<String> {
    inv.packages
        .iter()
        .filter(|p| p.kind == PackageKind::Deb)
        .map(|p| {
            let s = p.source.as_ref().expect("every deb has a source package");
            format!("{}\t{}\t{}\t{}", p.name, p.version, s.name, s.version)
        })
        .collect()
}

#[test]
fn debian_bookworm_matches_dpkg_query() {
    let Some((inv, layers, truth)) = fixture("debian-bookworm") else {
        return;
    };
    assert_eq!(dpkg_found(&inv), dpkg_truth(&truth));
    assert!(inv.unreadable.is_empty(), "{:?}", inv.unreadable);
    let distro = inv.distro.as_ref().expect("distro detected");
    assert_eq!(
        (distro.id.as_str(), distro.version_id.as_str()),
        ("debian", "12")
    );
    let top = layers.last().unwrap().diff_id.clone();
    for p in inv.packages.iter().filter(|p| p.kind == PackageKind::Deb) {
        assert_eq!(p.layer.as_ref(), Some(&top), "{}", p.name);
        // Names and versions are percent-encoded (libstdc%2B%2B6); the prefix is not.
        assert!(p.purl.starts_with("pkg:deb/debian/"), "{}", p.purl);
        assert!(
            p.purl
                .contains(&format!("?arch={}&", p.arch.as_deref().unwrap())),
            "{}",
            p.purl
        );
        assert!(p.purl.contains("distro=debian-12"), "{}", p.purl);
        assert!(
            p.evidence.len() == 2,
            "{} evidence {:?}",
            p.name,
            p.evidence
        );
    }
}

#[test]
fn app_bookworm_dpkg_packages_layers_and_ownership() {
    let Some((inv, layers, truth)) = fixture("app-bookworm") else {
        return;
    };
    assert_eq!(dpkg_found(&inv), dpkg_truth(&truth));
    let base = &layers[0].diff_id;
    let apt_layer = &layers[1].diff_id;
    let find = |name: &str| {
        inv.packages
            .iter()
            .find(|p| p.kind == PackageKind::Deb && p.name == name)
    };
    assert_eq!(find("bash").unwrap().layer.as_ref(), Some(base));
    assert_eq!(
        find("python3-yaml").unwrap().layer.as_ref(),
        Some(apt_layer)
    );
    // PyYAML's egg-info is owned by python3-yaml: reported once, as the deb.
    let owned_python: Vec<_> = inv
        .packages
        .iter()
        .filter(|p| {
            p.kind == PackageKind::Python
                && p.evidence
                    .iter()
                    .any(|e| e.starts_with("/usr/lib/python3/"))
        })
        .map(|p| (&p.name, &p.evidence))
        .collect();
    assert!(owned_python.is_empty(), "{owned_python:?}");
}

#[test]
fn whiteout_image_drops_purged_packages() {
    let Some((inv, _, truth)) = fixture("whiteout") else {
        return;
    };
    if !truth.join("dpkg.tsv").is_file() {
        assert!(
            !crowsnest_testbed::required(),
            "no truth for the whiteout image"
        );
        eprintln!("skipping: whiteout image has no truth yet");
        return;
    }
    assert_eq!(dpkg_found(&inv), dpkg_truth(&truth));
    assert!(!inv.packages.iter().any(|p| p.name == "python3-yaml"));
}
