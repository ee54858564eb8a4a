//! Reading SBOMs back into packages: Crowsnest's own documents round-trip, documents in
//! the shapes Syft and Trivy write are understood, and hostile documents give clear errors.

mod common;

use crowsnest_model::{Package, PackageKind};
use crowsnest_report::sbom_input::{MAX_SBOM_BYTES, SbomFormat, SbomInputError, read_sbom};
use crowsnest_report::{cyclonedx, spdx};
use proptest::prelude::*;

fn expected_packages() -> Vec<Package> {
    let mut packages = common::inventory().packages;
    for p in &mut packages {
        p.evidence.sort();
    }
    packages.sort_by(|a, b| (a.kind, &a.name, &a.version).cmp(&(b.kind, &b.name, &b.version)));
    packages
}

#[test]
fn crowsnest_cyclonedx_round_trips() {
    let text = cyclonedx::sbom(&common::subject(), &common::inventory(), &common::options());
    let sbom = read_sbom(text.as_bytes(), "image.cdx.json").unwrap();
    assert_eq!(
        sbom.format,
        SbomFormat::CycloneDx {
            spec_version: "1.6".into()
        }
    );
    assert_eq!(sbom.packages, expected_packages());
    let distro = sbom.distro.unwrap();
    assert_eq!(
        (distro.id.as_str(), distro.version_id.as_str()),
        ("debian", "12")
    );
    assert_eq!(sbom.skipped_count, 0);
}

/// A Java archive's inferred identity (confidence, what named each coordinate, SHA-1)
/// is written as `crowsnest:identity*` properties and a SHA-1 hash, and read back whole.
#[test]
fn inferred_identity_round_trips_through_cyclonedx() {
    use crowsnest_model::{Confidence, CoordinateEvidence, Identity};
    let mut inventory = common::inventory();
    let beans = inventory
        .packages
        .iter_mut()
        .find(|p| p.kind == PackageKind::Maven)
        .unwrap();
    let identity = Identity {
        confidence: Confidence::Medium,
        evidence: vec![
            CoordinateEvidence {
                coordinate: "groupId".into(),
                source: "Implementation-Vendor-Id".into(),
            },
            CoordinateEvidence {
                coordinate: "version".into(),
                source: "file name and Bundle-Version".into(),
            },
        ],
        sha1: Some("9141212b8507ab50a45525b545b39d224614528b".into()),
    };
    beans.identity = Some(identity.clone());
    let text = cyclonedx::sbom(&common::subject(), &inventory, &common::options());
    let doc: serde_json::Value = serde_json::from_str(&text).unwrap();
    let component = doc["components"]
        .as_array()
        .unwrap()
        .iter()
        .find(|c| {
            c["purl"]
                .as_str()
                .is_some_and(|p| p.starts_with("pkg:maven/"))
        })
        .unwrap();
    let props: Vec<(&str, &str)> = component["properties"]
        .as_array()
        .unwrap()
        .iter()
        .map(|p| (p["name"].as_str().unwrap(), p["value"].as_str().unwrap()))
        .collect();
    assert!(
        props.contains(&("crowsnest:identity", "inferred")),
        "{props:?}"
    );
    assert!(props.contains(&("crowsnest:identity:confidence", "medium")));
    assert!(props.contains(&(
        "crowsnest:identity:evidence",
        "groupId=Implementation-Vendor-Id"
    )));
    assert_eq!(component["hashes"][0]["alg"], "SHA-1");

    let sbom = read_sbom(text.as_bytes(), "image.cdx.json").unwrap();
    let read = sbom
        .packages
        .iter()
        .find(|p| p.kind == PackageKind::Maven)
        .unwrap();
    assert_eq!(read.identity.as_ref(), Some(&identity));
    // Declared packages stay declared.
    assert!(
        sbom.packages
            .iter()
            .filter(|p| p.kind != PackageKind::Maven)
            .all(|p| p.identity.is_none())
    );
}

#[test]
fn crowsnest_spdx_round_trips() {
    let text = spdx::sbom(&common::subject(), &common::inventory(), &common::options());
    let sbom = read_sbom(text.as_bytes(), "image.spdx.json").unwrap();
    let mut expected = expected_packages();
    // Free-text licenses travel as LicenseRef- ids in SPDX; everything else is exact.
    for p in &mut expected {
        if p.name == "tar" {
            p.licenses = vec!["LicenseRef-GPL-3 AND LicenseRef-GPL-2".into()];
        }
        if p.kind == PackageKind::Maven {
            p.licenses = vec!["Apache-2.0 OR MIT".into()];
        }
    }
    assert_eq!(sbom.packages, expected);
    assert_eq!(sbom.distro.unwrap().id, "debian");
    assert_eq!(sbom.skipped_count, 0);
}

/// A CycloneDX 1.5 document in the shape Syft writes (component types, purl qualifiers,
/// `syft:` properties, the OS as an operating-system component, files without purls).
const SYFT_STYLE: &str = r#"{
  "bomFormat": "CycloneDX", "specVersion": "1.5", "version": 1,
  "metadata": {"component": {"type": "container", "name": "alpine", "version": "sha256:abc"}},
  "components": [
    {"type": "library", "name": "busybox", "version": "1.36.1-r15",
     "purl": "pkg:apk/alpine/busybox@1.36.1-r15?arch=x86_64&upstream=busybox&distro=alpine-3.19.1",
     "licenses": [{"license": {"id": "GPL-2.0-only"}}],
     "properties": [
       {"name": "syft:package:type", "value": "apk"},
       {"name": "syft:location:0:path", "value": "/lib/apk/db/installed"},
       {"name": "syft:metadata:originPackage", "value": "busybox"}
     ]},
    {"type": "library", "name": "six", "version": "1.16.0", "purl": "pkg:pypi/six@1.16.0",
     "components": [
       {"type": "library", "name": "inner", "version": "2.0", "purl": "pkg:npm/%40scope/inner@2.0"}
     ]},
    {"type": "file", "name": "/etc/passwd"},
    {"type": "library", "name": "weird", "version": "1", "purl": "pkg:github/a/b@1"},
    {"type": "operating-system", "name": "alpine", "version": "3.19.1",
     "description": "Alpine Linux v3.19"}
  ]
}"#;

#[test]
fn syft_style_cyclonedx() {
    let sbom = read_sbom(SYFT_STYLE.as_bytes(), "syft.json").unwrap();
    let names: Vec<(&str, PackageKind)> = sbom
        .packages
        .iter()
        .map(|p| (p.name.as_str(), p.kind))
        .collect();
    assert_eq!(
        names,
        [
            ("busybox", PackageKind::Apk),
            ("six", PackageKind::Python),
            ("@scope/inner", PackageKind::Npm)
        ]
    );
    let busybox = &sbom.packages[0];
    assert_eq!(busybox.evidence, ["/lib/apk/db/installed"]);
    assert_eq!(busybox.source.as_ref().unwrap().name, "busybox");
    assert_eq!(busybox.licenses, ["GPL-2.0-only"]);
    let distro = sbom.distro.unwrap();
    assert_eq!(distro.id, "alpine");
    assert_eq!(distro.version_id, "3.19.1");
    assert_eq!(sbom.skipped_count, 2);
    assert!(sbom.skipped[0].reason.contains("no package URL"));
    assert!(
        sbom.skipped[1]
            .reason
            .contains("\"github\" is not an ecosystem")
    );
}

/// A CycloneDX 1.4 document in the shape Trivy writes (`aquasecurity:trivy:` properties,
/// no OS component here: the distro comes from the purl qualifier).
const TRIVY_STYLE: &str = r#"{
  "bomFormat": "CycloneDX", "specVersion": "1.4", "version": 1,
  "components": [
    {"bom-ref": "x", "type": "library", "name": "libc6", "version": "2.36-9+deb12u4",
     "purl": "pkg:deb/debian/libc6@2.36-9%2Bdeb12u4?arch=amd64&distro=debian-12.5",
     "properties": [
       {"name": "aquasecurity:trivy:LayerDiffID",
        "value": "sha256:1111111111111111111111111111111111111111111111111111111111111111"},
       {"name": "aquasecurity:trivy:SrcName", "value": "glibc"},
       {"name": "aquasecurity:trivy:SrcVersion", "value": "2.36-9+deb12u4"}
     ]}
  ]
}"#;

#[test]
fn trivy_style_cyclonedx() {
    let sbom = read_sbom(TRIVY_STYLE.as_bytes(), "trivy.json").unwrap();
    let libc = &sbom.packages[0];
    assert_eq!(libc.version, "2.36-9+deb12u4");
    assert_eq!(libc.source.as_ref().unwrap().name, "glibc");
    assert_eq!(libc.layer, Some(common::digest('1')));
    let distro = sbom.distro.unwrap();
    assert_eq!(
        (distro.id.as_str(), distro.version_id.as_str()),
        ("debian", "12.5")
    );
}

/// SPDX 2.2 as Syft writes it (PACKAGE_MANAGER with `_`, the OS package by purpose).
const SPDX_22: &str = r#"{
  "spdxVersion": "SPDX-2.2", "SPDXID": "SPDXRef-DOCUMENT", "name": "img",
  "packages": [
    {"SPDXID": "SPDXRef-Package-rpm-bash", "name": "bash", "versionInfo": "5.1.8-6.el9",
     "licenseDeclared": "GPL-3.0-or-later",
     "externalRefs": [
       {"referenceCategory": "PACKAGE_MANAGER", "referenceType": "purl",
        "referenceLocator": "pkg:rpm/almalinux/bash@5.1.8-6.el9?arch=x86_64&epoch=1&upstream=bash-5.1.8-6.el9.src.rpm&distro=almalinux-9.3"}
     ]},
    {"SPDXID": "SPDXRef-Package-bad", "name": "bad", "versionInfo": "1",
     "externalRefs": [{"referenceCategory": "PACKAGE_MANAGER", "referenceType": "purl",
                       "referenceLocator": "pkg:/nonsense"}]},
    {"SPDXID": "SPDXRef-OS", "name": "almalinux", "versionInfo": "9.3",
     "primaryPackagePurpose": "OPERATING-SYSTEM"}
  ]
}"#;

#[test]
fn spdx_22_document() {
    let sbom = read_sbom(SPDX_22.as_bytes(), "syft.spdx.json").unwrap();
    assert_eq!(
        sbom.format,
        SbomFormat::Spdx {
            spdx_version: "SPDX-2.2".into()
        }
    );
    let bash = &sbom.packages[0];
    assert_eq!((bash.kind, bash.epoch), (PackageKind::Rpm, Some(1)));
    assert_eq!(bash.source.as_ref().unwrap().name, "bash");
    assert_eq!(bash.licenses, ["GPL-3.0-or-later"]);
    assert_eq!(sbom.distro.as_ref().unwrap().version_id, "9.3");
    assert_eq!(sbom.skipped_count, 1);
    assert!(sbom.skipped[0].component.starts_with("bad"));
    let inventory = sbom.into_inventory();
    assert_eq!(inventory.unreadable.len(), 1);
}

#[test]
fn hostile_documents_give_clear_errors() {
    let err = |bytes: &[u8]| read_sbom(bytes, "evil.json").unwrap_err();

    let e = err(b"\x00\x01 not json");
    assert!(matches!(e, SbomInputError::NotJson { .. }), "{e}");
    assert!(e.to_string().starts_with("evil.json: not JSON"), "{e}");

    assert!(matches!(err(b""), SbomInputError::NotJson { .. }));
    assert!(matches!(
        err(b"{\"bomFormat\": \"CycloneDX\""),
        SbomInputError::NotJson { .. }
    ));
    assert!(matches!(
        err(b"[1, 2]"),
        SbomInputError::UnknownFormat { .. }
    ));
    assert!(matches!(err(b"{}"), SbomInputError::UnknownFormat { .. }));
    assert!(matches!(
        err(b"{\"bomFormat\": \"SWID\"}"),
        SbomInputError::UnknownFormat { .. }
    ));

    let e = err(br#"{"bomFormat": "CycloneDX", "specVersion": "1.2"}"#);
    assert!(
        matches!(e, SbomInputError::UnsupportedVersion { .. }),
        "{e}"
    );
    assert!(e.to_string().contains("1.4, 1.5 or 1.6"), "{e}");
    let e = err(br#"{"spdxVersion": "SPDX-3.0"}"#);
    assert!(
        matches!(e, SbomInputError::UnsupportedVersion { .. }),
        "{e}"
    );

    let e = err(br#"{"bomFormat": "CycloneDX", "specVersion": "1.6", "components": "all"}"#);
    assert!(matches!(e, SbomInputError::Malformed { .. }), "{e}");
    assert!(
        e.to_string().contains("not a valid CycloneDX document"),
        "{e}"
    );

    // Deep nesting stops at serde_json's recursion limit instead of the stack.
    let deep = format!(
        r#"{{"bomFormat": "CycloneDX", "specVersion": "1.6", "components": {}[]{}}}"#,
        "[{\"components\": ".repeat(50_000),
        "}]".repeat(50_000)
    );
    let e = err(deep.as_bytes());
    assert!(matches!(e, SbomInputError::Malformed { .. }), "{e}");
    assert!(e.to_string().contains("recursion limit"), "{e}");
    let deep_arrays = format!("{}{}", "[".repeat(100_000), "]".repeat(100_000));
    let e = err(deep_arrays.as_bytes());
    assert!(
        matches!(
            e,
            SbomInputError::UnknownFormat { .. } | SbomInputError::NotJson { .. }
        ),
        "{e}"
    );

    let huge = vec![b' '; MAX_SBOM_BYTES + 1];
    let e = err(&huge);
    assert!(matches!(e, SbomInputError::TooLarge { .. }), "{e}");
}

#[test]
fn nested_components_within_the_limit_are_read() {
    // 40 levels of assemblies: deeper than any real SBOM, within the parser's limit.
    let mut doc =
        String::from(r#"{"bomFormat": "CycloneDX", "specVersion": "1.6", "components": "#);
    for i in 0..40 {
        doc.push_str(&format!(
            r#"[{{"type": "library", "name": "p{i}", "purl": "pkg:cargo/p{i}@1.0.{i}", "components": "#
        ));
    }
    doc.push_str("[]");
    doc.push_str(&"}]".repeat(40));
    doc.push('}');
    let sbom = read_sbom(doc.as_bytes(), "nested.json").unwrap();
    assert_eq!(sbom.packages.len(), 40);
}

#[test]
fn bad_purls_are_skipped_with_reasons() {
    let doc = r#"{"bomFormat": "CycloneDX", "specVersion": "1.6", "components": [
        {"type": "library", "name": "a", "version": "1", "purl": "pkg:"},
        {"type": "library", "name": "b", "version": "1", "purl": "pkg:npm/b@1?bad qualifier=x"},
        {"type": "library", "name": "c", "purl": "pkg:pypi/c"},
        {"type": "library", "name": "d", "version": "1", "purl": "pkg:maven/d@1"},
        {"type": "library", "name": "e", "version": "1", "purl": "pkg:deb/debian/e@1",
         "properties": [{"name": "crowsnest:layer:diffID", "value": "sha256:../../etc"}]},
        {"type": "library", "name": "ok", "version": "1", "purl": "pkg:gem/ok@1"}
    ]}"#;
    let sbom = read_sbom(doc.as_bytes(), "bad.json").unwrap();
    assert_eq!(sbom.packages.len(), 1);
    assert_eq!(sbom.skipped_count, 5);
    for s in &sbom.skipped {
        assert!(s.reason.contains("package URL"), "{s:?}");
    }
}

fn cyclonedx_with(purl: &str, name: &str, version: &str) -> String {
    serde_json::json!({
        "bomFormat": "CycloneDX",
        "specVersion": "1.6",
        "components": [
            {"type": "library", "name": name, "version": version, "purl": purl,
             "properties": [{"name": "crowsnest:layer:diffID", "value": version}]},
            {"type": "operating-system", "name": name, "version": version}
        ]
    })
    .to_string()
}

proptest! {
    #[test]
    fn never_panics_on_bytes(bytes in proptest::collection::vec(any::<u8>(), 0..2048)) {
        let _ = read_sbom(&bytes, "fuzz.json");
    }

    #[test]
    fn never_panics_on_odd_purls(
        purl in "(pkg:)?[a-z]{0,8}(/[%@?#=&a-zA-Z0-9.:~+-]{0,12}){0,4}",
        name in ".{0,12}",
        version in ".{0,12}",
    ) {
        let doc = cyclonedx_with(&purl, &name, &version);
        let sbom = read_sbom(doc.as_bytes(), "fuzz.json").unwrap();
        prop_assert_eq!(sbom.packages.len() + sbom.skipped_count, 1);
    }
}
