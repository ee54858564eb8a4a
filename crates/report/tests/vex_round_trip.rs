//! Suppressions in every findings format, and the VEX outputs read back by the VEX
//! reader with the same outcome: a round trip through OpenVEX and CycloneDX VEX.

mod common;

use crowsnest_model::exception::{
    Justification, SuppressedFinding, Suppression, SuppressionKind, Triage,
};
use crowsnest_report::findings::{self, FindingsReport};
use crowsnest_vex::{Exceptions, ImageTarget, read_vex};

fn triaged() -> (Vec<crowsnest_model::finding::Finding>, Triage) {
    let mut open = common::findings();
    let not_affected = open.remove(0);
    let fixed = open.remove(0);
    let accepted = open.remove(0);
    let suppression = |kind, justification| Suppression {
        kind,
        source: "test".into(),
        justification,
        statement: Some("because".into()),
        expires: None,
        author: None,
    };
    let triage = Triage {
        suppressed: vec![
            SuppressedFinding {
                finding: not_affected,
                suppression: suppression(
                    SuppressionKind::VexNotAffected,
                    Some(Justification::VulnerableCodeNotInExecutePath),
                ),
            },
            SuppressedFinding {
                finding: fixed,
                suppression: suppression(SuppressionKind::VexFixed, None),
            },
            SuppressedFinding {
                finding: accepted,
                suppression: suppression(SuppressionKind::IgnoreRule, None),
            },
        ],
        ..Triage::default()
    };
    (open, triage)
}

#[test]
fn vex_outputs_read_back_to_the_same_suppressions() {
    let (open, triage) = triaged();
    let subject = common::subject();
    let inventory = common::inventory();
    let options = common::options();
    let report = FindingsReport {
        subject: &subject,
        inventory: &inventory,
        findings: &open,
        triage: &triage,
        show_suppressed: false,
        options: &options,
    };
    let target = ImageTarget {
        digests: subject.manifest_digest.iter().cloned().collect(),
        repository: subject.repository(),
    };
    let all: Vec<_> = common::findings();
    for (name, text) in [
        ("openvex", findings::openvex::openvex(&report)),
        ("cyclonedx-vex", findings::cyclonedx::cyclonedx_vex(&report)),
        ("cyclonedx", findings::cyclonedx::cyclonedx(&report)),
    ] {
        let statements = read_vex(text.as_bytes(), name).unwrap_or_else(|e| panic!("{name}: {e}"));
        let exceptions = Exceptions {
            rules: vec![],
            statements,
        };
        let (reopen, retriage) = exceptions.apply(
            all.clone(),
            &inventory.packages,
            &target,
            time::OffsetDateTime::now_utc(),
        );
        let kinds: Vec<(String, SuppressionKind, Option<Justification>)> = retriage
            .suppressed
            .iter()
            .map(|s| {
                (
                    s.finding.id.clone(),
                    s.suppression.kind,
                    s.suppression.justification,
                )
            })
            .collect();
        let expected: Vec<(String, SuppressionKind, Option<Justification>)> = triage
            .suppressed
            .iter()
            .filter(|s| s.suppression.kind.is_vex())
            .map(|s| {
                (
                    s.finding.id.clone(),
                    s.suppression.kind,
                    s.suppression.justification,
                )
            })
            .collect();
        assert_eq!(
            kinds, expected,
            "{name}: VEX facts survive; accepted risks stay affected"
        );
        assert_eq!(reopen.len(), all.len() - expected.len(), "{name}");
    }
}

#[test]
fn every_format_counts_what_was_suppressed() {
    let (open, triage) = triaged();
    let subject = common::subject();
    let inventory = common::inventory();
    let options = common::options();
    let mut report = FindingsReport {
        subject: &subject,
        inventory: &inventory,
        findings: &open,
        triage: &triage,
        show_suppressed: false,
        options: &options,
    };
    let table = findings::table::table(&report);
    assert!(
        table.contains("3 suppressed (1 vex_not_affected, 1 vex_fixed, 1 ignore_rule) (--show-suppressed lists them)"),
        "{table}"
    );
    let json: serde_json::Value = serde_json::from_str(&findings::json::json(&report)).unwrap();
    assert_eq!(json["summary"]["suppressed"], 3);
    assert_eq!(json["summary"]["suppressed_by"]["ignore_rule"], 1);
    assert!(json.get("suppressed").is_none());

    report.show_suppressed = true;
    let table = findings::table::table(&report);
    assert!(
        table.contains("vex_not_affected by test (vulnerable_code_not_in_execute_path): because"),
        "{table}"
    );
    let json: serde_json::Value = serde_json::from_str(&findings::json::json(&report)).unwrap();
    assert_eq!(json["suppressed"].as_array().unwrap().len(), 3);
    assert_eq!(json["suppressed"][0]["suppression"]["source"], "test");
}
