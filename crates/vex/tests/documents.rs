//! The VEX documents and ignore file written for the test bed's app-bookworm image
//! (tests/data), read and applied to findings shaped like the ones the matcher makes for
//! it; and hostile or broken documents rejected with the document and field named.

use std::path::PathBuf;

use crowsnest_model::exception::{Justification, NoteKind, SuppressionKind};
use crowsnest_model::finding::{Exploitability, Finding, FindingPackage, FixStatus, Priority};
use crowsnest_model::{PackageKind, Severity};
use crowsnest_vex::{Exceptions, ImageTarget, VexError, load_ignore_file, load_vex_path, read_vex};
use time::macros::datetime;

fn data(name: &str) -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("tests/data")
        .join(name)
}

fn finding(id: &str, kind: PackageKind, name: &str, version: &str, purl: &str) -> Finding {
    Finding {
        id: id.into(),
        aliases: vec![],
        package: FindingPackage {
            name: name.into(),
            version: version.into(),
            kind,
            purl: purl.into(),
            ecosystem: kind.osv_language_ecosystem().unwrap_or("Debian:12").into(),
            layer: None,
            matched_source: None,
            identity: None,
        },
        installed_version: version.into(),
        fixed_versions: vec![],
        fix_status: FixStatus::FixAvailable,
        severity: Severity::High,
        severity_source: None,
        cvss: None,
        summary: None,
        references: vec![],
        exploitability: Exploitability::default(),
        priority: Priority {
            score: 50.0,
            reasons: vec!["high".into()],
        },
        advisories: vec![id.into()],
    }
}

fn app_findings() -> Vec<Finding> {
    let log4j = "pkg:maven/org.apache.logging.log4j/log4j-core@2.14.1";
    vec![
        finding(
            "CVE-2021-44228",
            PackageKind::Maven,
            "org.apache.logging.log4j:log4j-core",
            "2.14.1",
            log4j,
        ),
        finding(
            "CVE-2021-44906",
            PackageKind::Npm,
            "minimist",
            "1.2.0",
            "pkg:npm/minimist@1.2.0",
        ),
        finding(
            "CVE-2020-8203",
            PackageKind::Npm,
            "lodash",
            "4.17.15",
            "pkg:npm/lodash@4.17.15",
        ),
        finding(
            "CVE-2021-23337",
            PackageKind::Npm,
            "lodash",
            "4.17.15",
            "pkg:npm/lodash@4.17.15",
        ),
        finding(
            "CVE-2020-28500",
            PackageKind::Npm,
            "lodash",
            "4.17.15",
            "pkg:npm/lodash@4.17.15",
        ),
        finding(
            "CVE-2022-42889",
            PackageKind::Maven,
            "org.apache.commons:commons-text",
            "1.9",
            "pkg:maven/org.apache.commons/commons-text@1.9",
        ),
        finding(
            "CVE-2021-45046",
            PackageKind::Maven,
            "org.apache.logging.log4j:log4j-core",
            "2.14.1",
            log4j,
        ),
    ]
}

fn target(repository: &str) -> ImageTarget {
    ImageTarget {
        digests: vec![],
        repository: Some(repository.into()),
    }
}

fn all_exceptions() -> Exceptions {
    let mut statements = Vec::new();
    for doc in [
        "app-bookworm.openvex.json",
        "app-bookworm.cdx-vex.json",
        "app-bookworm.csaf.json",
    ] {
        statements.extend(load_vex_path(&data(doc)).unwrap());
    }
    Exceptions {
        rules: load_ignore_file(&data("crowsnestignore.yaml")).unwrap(),
        statements,
    }
}

const NOW: time::OffsetDateTime = datetime!(2026-06-01 00:00 UTC);

#[test]
fn every_format_suppresses_what_it_states_and_nothing_else() {
    let exceptions = all_exceptions();
    let (open, triage) = exceptions.apply(
        app_findings(),
        &[],
        &target("registry.test/shop/app-bookworm"),
        NOW,
    );
    let suppressed = |id: &str| {
        triage
            .suppressed
            .iter()
            .find(|s| s.finding.id == id)
            .map(|s| &s.suppression)
    };
    // OpenVEX: log4j-core not_affected in this image, with the justification.
    let log4shell = suppressed("CVE-2021-44228").expect("Log4Shell suppressed by OpenVEX");
    assert_eq!(log4shell.kind, SuppressionKind::VexNotAffected);
    assert_eq!(
        log4shell.justification,
        Some(Justification::VulnerableCodeNotInExecutePath)
    );
    assert!(
        log4shell
            .source
            .contains("app-bookworm.openvex.json statements[0]")
    );
    assert_eq!(log4shell.author.as_deref(), Some("Shop platform team"));
    // CycloneDX VEX: minimist resolved.
    assert_eq!(
        suppressed("CVE-2021-44906").unwrap().kind,
        SuppressionKind::VexFixed
    );
    // CSAF: lodash not affected through the image/component relationship.
    let csaf = suppressed("CVE-2020-8203").unwrap();
    assert_eq!(
        csaf.justification,
        Some(Justification::VulnerableCodeNotPresent)
    );
    // Ignore rule scoped to the app-bookworm repository.
    let rule = suppressed("CVE-2020-28500").unwrap();
    assert_eq!(rule.kind, SuppressionKind::IgnoreRule);
    assert_eq!(rule.expires.as_deref(), Some("2099-12-31"));
    // The other log4j CVE is not named by any statement: still open, priority untouched.
    let open_ids: Vec<&str> = open.iter().map(|f| f.id.as_str()).collect();
    assert!(open_ids.contains(&"CVE-2021-45046"), "{open_ids:?}");
    assert_eq!(
        open.iter()
            .find(|f| f.id == "CVE-2021-45046")
            .unwrap()
            .priority
            .score,
        50.0
    );
    // under_investigation annotates and keeps.
    assert!(open_ids.contains(&"CVE-2022-42889"));
    assert!(
        triage
            .notes
            .iter()
            .any(|n| n.kind == NoteKind::UnderInvestigation
                && n.vulnerability == "CVE-2022-42889"
                && n.text.contains("StringSubstitutor"))
    );
    // The expired rule no longer applies, is reported, and notes the finding it would hide.
    assert!(open_ids.contains(&"CVE-2021-23337"));
    assert_eq!(triage.expired.len(), 1);
    assert_eq!(triage.expired[0].expired, "2025-01-01");
    assert!(triage.notes.iter().any(|n| n.kind == NoteKind::Expired
        && n.vulnerability == "CVE-2021-23337"
        && n.text.contains("back at its priority")));
    // Suppression never edits the finding.
    let original = app_findings();
    for s in &triage.suppressed {
        assert!(original.contains(&s.finding));
    }
    assert_eq!(open.len() + triage.suppressed.len(), original.len());
}

#[test]
fn image_scoped_statements_and_rules_stay_in_their_image() {
    let (open, triage) = all_exceptions().apply(
        app_findings(),
        &[],
        &target("registry.test/shop/whiteout"),
        NOW,
    );
    let suppressed: Vec<&str> = triage
        .suppressed
        .iter()
        .map(|s| s.finding.id.as_str())
        .collect();
    // Package-scoped statements (CycloneDX's minimist) apply everywhere; the image-scoped
    // OpenVEX and CSAF statements and the repository rule do not.
    assert_eq!(suppressed, ["CVE-2021-44906"]);
    assert!(open.iter().any(|f| f.id == "CVE-2021-44228"));
    assert!(open.iter().any(|f| f.id == "CVE-2020-28500"));
}

#[test]
fn the_newest_statement_wins() {
    let affected_later = r#"{
      "@context": "https://openvex.dev/ns/v0.2.0", "@id": "x", "author": "a",
      "timestamp": "2026-02-01T00:00:00Z", "version": 2,
      "statements": [{ "vulnerability": {"name": "CVE-2021-44228"},
        "products": [{"@id": "pkg:maven/org.apache.logging.log4j/log4j-core"}],
        "status": "affected", "action_statement": "upgrade" }]
    }"#;
    let mut exceptions = all_exceptions();
    exceptions
        .statements
        .extend(read_vex(affected_later.as_bytes(), "later.json").unwrap());
    let (open, _) = exceptions.apply(app_findings(), &[], &target("r/app-bookworm"), NOW);
    assert!(open.iter().any(|f| f.id == "CVE-2021-44228"));
}

fn invalid(result: Result<impl std::fmt::Debug, VexError>) -> (String, String) {
    match result {
        Err(VexError::Invalid {
            document,
            field,
            message,
        }) => (document, format!("{field}: {message}")),
        other => panic!("expected an invalid-document error, got {other:?}"),
    }
}

#[test]
fn bad_documents_name_the_document_and_the_field() {
    let (doc, what) = invalid(read_vex(
        b"{\"@context\": \"https://openvex.dev/ns/v0.2.0\", \"statements\": [",
        "broken.json",
    ));
    assert_eq!(doc, "broken.json");
    assert!(what.starts_with("(file): not JSON"), "{what}");

    let unknown_status = r#"{"@context": "https://openvex.dev/ns/v0.2.0", "statements": [
        {"vulnerability": {"name": "CVE-1"}, "products": [{"@id": "pkg:npm/a"}], "status": "fine"}]}"#;
    let (_, what) = invalid(read_vex(unknown_status.as_bytes(), "s.json"));
    assert!(
        what.starts_with("statements[0].status: unknown status \"fine\""),
        "{what}"
    );

    let no_justification = r#"{"@context": "https://openvex.dev/ns/v0.2.0", "statements": [
        {"vulnerability": {"name": "CVE-1"}, "products": [{"@id": "pkg:npm/a"}], "status": "not_affected"}]}"#;
    let (_, what) = invalid(read_vex(no_justification.as_bytes(), "s.json"));
    assert!(what.starts_with("statements[0].justification"), "{what}");

    let bad_purl = r#"{"@context": "https://openvex.dev/ns/v0.2.0", "statements": [
        {"vulnerability": {"name": "CVE-1"}, "products": [{"@id": "not a purl"}], "status": "fixed"}]}"#;
    let (_, what) = invalid(read_vex(bad_purl.as_bytes(), "s.json"));
    assert!(what.starts_with("statements[0].products[0].@id"), "{what}");

    let cdx_state = r#"{"bomFormat": "CycloneDX", "vulnerabilities": [
        {"id": "CVE-1", "analysis": {"state": "meh"}, "affects": [{"ref": "pkg:npm/a@1"}]}]}"#;
    let (_, what) = invalid(read_vex(cdx_state.as_bytes(), "c.json"));
    assert!(
        what.starts_with("vulnerabilities[0].analysis.state"),
        "{what}"
    );

    let csaf_unknown = r#"{"document": {"category": "csaf_vex", "csaf_version": "2.0"},
        "product_tree": {}, "vulnerabilities": [{"cve": "CVE-1", "product_status": {"known_not_affected": ["P"]}}]}"#;
    let (_, what) = invalid(read_vex(csaf_unknown.as_bytes(), "c.json"));
    assert!(
        what.starts_with("vulnerabilities[0].product_status.known_not_affected[0]"),
        "{what}"
    );

    let (_, what) = invalid(read_vex(b"{\"hello\": 1}", "other.json"));
    assert!(what.contains("not an OpenVEX"), "{what}");

    let deep = "[".repeat(100_000);
    let (_, what) = invalid(read_vex(deep.as_bytes(), "deep.json"));
    assert!(what.contains("not JSON"), "{what}");
}

#[test]
fn bad_ignore_rules_name_the_file_and_the_rule() {
    let dir = tempfile::tempdir().unwrap();
    let write = |name: &str, text: &str| {
        let p = dir.path().join(name);
        std::fs::write(&p, text).unwrap();
        p
    };
    let no_scope = write(
        "noscope.yaml",
        "vulnerabilities:\n  - statement: everything is fine\n",
    );
    let (doc, what) = invalid(load_ignore_file(&no_scope));
    assert!(doc.ends_with("noscope.yaml"));
    assert!(
        what.starts_with("vulnerabilities[0]: the rule has no scope"),
        "{what}"
    );

    let bad_date = write(
        "date.yaml",
        "vulnerabilities:\n  - id: CVE-1\n  - id: CVE-2\n    expired_at: next march\n",
    );
    let (_, what) = invalid(load_ignore_file(&bad_date));
    assert!(what.starts_with("vulnerabilities[1].expired_at"), "{what}");

    let unknown_field = write(
        "typo.yaml",
        "vulnerabilities:\n  - id: CVE-1\n    purl: pkg:npm/a\n",
    );
    let (_, what) = invalid(load_ignore_file(&unknown_field));
    assert!(what.contains("purl"), "{what}");

    let bad_severity = write("sev.yaml", "vulnerabilities:\n  - severities: [dreadful]\n");
    let (_, what) = invalid(load_ignore_file(&bad_severity));
    assert!(
        what.starts_with("vulnerabilities[0].severities[0]"),
        "{what}"
    );

    let bomb = write(
        "bomb.yaml",
        "a: &a [x, x, x, x, x, x, x, x, x]\nb: &b [*a, *a, *a, *a, *a, *a, *a, *a, *a]\nc: &c [*b, *b, *b, *b, *b, *b, *b, *b, *b]\nd: &d [*c, *c, *c, *c, *c, *c, *c, *c, *c]\ne: [*d, *d, *d, *d, *d, *d, *d, *d, *d]\n",
    );
    assert!(load_ignore_file(&bomb).is_err());
}

#[test]
fn package_ranges_severities_and_paths_select() {
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("r.yaml");
    std::fs::write(
        &file,
        "vulnerabilities:\n  - packages: [{name: lodash, versions: \">=4.17.0, <4.17.21\"}]\n    severities: [high]\n  - paths: [\"app/node_modules/minimist/*.json\"]\n",
    )
    .unwrap();
    let rules = load_ignore_file(&file).unwrap();
    let exceptions = Exceptions {
        rules,
        statements: vec![],
    };
    let mut minimist_pkg = crowsnest_model::Package {
        kind: PackageKind::Npm,
        name: "minimist".into(),
        version: "1.2.0".into(),
        epoch: None,
        arch: None,
        source: None,
        purl: "pkg:npm/minimist@1.2.0".into(),
        licenses: vec![],
        layer: None,
        evidence: vec![],
        identity: None,
    };
    minimist_pkg.evidence = vec!["/app/node_modules/minimist/package.json".into()];
    let mut findings = app_findings();
    findings[3].severity = Severity::Low; // CVE-2021-23337: outside the rule's severities
    let (open, triage) = exceptions.apply(findings, &[minimist_pkg], &target("r/x"), NOW);
    let ids: Vec<&str> = triage
        .suppressed
        .iter()
        .map(|s| s.finding.id.as_str())
        .collect();
    assert_eq!(ids, ["CVE-2021-44906", "CVE-2020-8203", "CVE-2020-28500"]);
    assert!(open.iter().any(|f| f.id == "CVE-2021-23337"));
}
