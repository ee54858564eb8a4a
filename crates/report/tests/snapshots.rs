//! Snapshot tests: every output format on the small fixed image of `common`.
//! Review changes with `cargo insta review` (or `INSTA_UPDATE=always` and git diff).

mod common;

use crowsnest_model::exception::Triage;
use crowsnest_report::findings::{self, FindingsReport};
use crowsnest_report::{cyclonedx, spdx};

fn render_all(
    inventory: &crowsnest_catalog::Inventory,
    found: &[crowsnest_model::finding::Finding],
) -> [String; 6] {
    let subject = common::subject();
    let options = common::options();
    let report = FindingsReport {
        subject: &subject,
        inventory,
        findings: found,
        triage: &Triage::default(),
        show_suppressed: false,
        options: &options,
    };
    [
        cyclonedx::sbom(&subject, inventory, &options),
        spdx::sbom(&subject, inventory, &options),
        findings::table::table(&report),
        findings::json::json(&report),
        findings::sarif::sarif(&report),
        findings::cyclonedx::cyclonedx(&report),
    ]
}

#[test]
fn snapshots_of_every_format() {
    let [cdx, spdx, table, json, sarif, vex] =
        render_all(&common::inventory(), &common::findings());
    insta::assert_snapshot!("sbom_cyclonedx", cdx);
    insta::assert_snapshot!("sbom_spdx", spdx);
    insta::assert_snapshot!("findings_table", table);
    insta::assert_snapshot!("findings_json", json);
    insta::assert_snapshot!("findings_sarif", sarif);
    insta::assert_snapshot!("findings_cyclonedx", vex);
}

#[test]
fn output_does_not_depend_on_input_order() {
    let first = render_all(&common::inventory(), &common::findings());
    let mut inventory = common::inventory();
    inventory.packages.reverse();
    let mut found = common::findings();
    found.reverse();
    found.rotate_left(2);
    let second = render_all(&inventory, &found);
    assert_eq!(first, second);
}

#[test]
fn table_fits_in_120_columns() {
    let mut found = common::findings();
    found[0].package.name = "a-package-with-a-very-long-name-that-would-not-fit".into();
    found[0].package.version = "1:2.3.4-5+deb12u6~bpo11+1.extra.long.suffix".into();
    let subject = common::subject();
    let options = common::options();
    let inventory = common::inventory();
    let report = FindingsReport {
        subject: &subject,
        inventory: &inventory,
        findings: &found,
        triage: &Triage::default(),
        show_suppressed: false,
        options: &options,
    };
    let table = findings::table::table(&report);
    for line in table.lines() {
        assert!(line.chars().count() <= 120, "too wide: {line:?}");
    }
    assert!(table.contains("a-package-with-…"), "{table}");
}

#[test]
fn same_image_same_serial_other_image_other_serial() {
    let options = common::options();
    let inventory = common::inventory();
    let serial = |subject: &crowsnest_report::ImageSubject| {
        let doc: serde_json::Value =
            serde_json::from_str(&cyclonedx::sbom(subject, &inventory, &options)).unwrap();
        doc["serialNumber"].as_str().unwrap().to_string()
    };
    let a = common::subject();
    let mut b = common::subject();
    b.manifest_digest = Some(common::digest('b'));
    assert_eq!(serial(&a), serial(&a));
    assert_ne!(serial(&a), serial(&b));
}

#[test]
fn timestamp_can_be_overridden() {
    let subject = common::subject();
    let inventory = common::inventory();
    let options = crowsnest_report::DocumentOptions {
        timestamp: Some(time::macros::datetime!(2030-01-01 00:00:00 UTC)),
        ..common::options()
    };
    let cdx = cyclonedx::sbom(&subject, &inventory, &options);
    assert!(cdx.contains("\"timestamp\": \"2030-01-01T00:00:00Z\""));
    let spdx = spdx::sbom(&subject, &inventory, &options);
    assert!(spdx.contains("\"created\": \"2030-01-01T00:00:00Z\""));
}

#[test]
fn empty_findings() {
    let subject = common::subject();
    let options = common::options();
    let inventory = common::inventory();
    let report = FindingsReport {
        subject: &subject,
        inventory: &inventory,
        findings: &[],
        triage: &Triage::default(),
        show_suppressed: false,
        options: &options,
    };
    assert_eq!(
        findings::table::table(&report),
        "No vulnerabilities found.\n"
    );
    let sarif: serde_json::Value = serde_json::from_str(&findings::sarif::sarif(&report)).unwrap();
    assert_eq!(sarif["runs"][0]["results"].as_array().unwrap().len(), 0);
}
