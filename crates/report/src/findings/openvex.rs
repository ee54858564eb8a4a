//! OpenVEX 0.2 (<https://github.com/openvex/spec>): one statement per finding, about the
//! image (product, by package URL or digest) and the package (subcomponent).
//!
//! Open findings are `affected` (with what to do), or `under_investigation` when a VEX
//! statement said so; VEX-suppressed ones keep their `not_affected` (with justification)
//! or `fixed`; accepted risks (ignore rules, exceptions) stay `affected`, their action
//! statement saying who accepted the risk and until when: the product is still affected.

use crowsnest_model::exception::{NoteKind, Suppression, SuppressionKind};
use crowsnest_model::finding::Finding;
use serde_json::{Value, json};

use super::{FindingsReport, fixed_version};
use crate::subject::{TOOL_NAME, document_time, format_utc_seconds, oci_purl, stable_uuid};

const CONTEXT: &str = "https://openvex.dev/ns/v0.2.0";

/// The image as an OpenVEX product id: its package URL, else its digest, else its name.
fn image_id(report: &FindingsReport) -> String {
    oci_purl(report.subject)
        .or_else(|| {
            report
                .subject
                .manifest_digest
                .as_ref()
                .map(|d| d.to_string())
        })
        .unwrap_or_else(|| report.subject.name.clone())
}

fn statement(
    report: &FindingsReport,
    product: &str,
    finding: &Finding,
    suppression: Option<&Suppression>,
) -> Value {
    let mut vulnerability = json!({ "name": finding.id });
    if !finding.aliases.is_empty() {
        vulnerability["aliases"] = json!(finding.aliases);
    }
    let mut s = json!({
        "vulnerability": vulnerability,
        "products": [{
            "@id": product,
            "subcomponents": [{ "@id": finding.package.purl }],
        }],
    });
    let upgrade = || match fixed_version(finding) {
        Some(v) => format!("Upgrade {} to {v}.", finding.package.name),
        None => format!(
            "No fixed version of {} is known ({}).",
            finding.package.name,
            finding.fix_status.as_str()
        ),
    };
    match suppression {
        Some(sup) if sup.kind == SuppressionKind::VexNotAffected => {
            s["status"] = json!("not_affected");
            if let Some(j) = sup.justification {
                s["justification"] = json!(j);
            }
            // The specification wants a justification or an impact statement.
            s["impact_statement"] = json!(sup.statement.clone().unwrap_or_else(|| sup.describe()));
        }
        Some(sup) if sup.kind == SuppressionKind::VexFixed => {
            s["status"] = json!("fixed");
            s["status_notes"] = json!(sup.describe());
        }
        Some(sup) => {
            s["status"] = json!("affected");
            s["action_statement"] =
                json!(format!("Risk accepted: {}. {}", sup.describe(), upgrade()));
        }
        None => {
            let investigating = report
                .triage
                .notes
                .iter()
                .any(|n| n.kind == NoteKind::UnderInvestigation && n.is_about(finding));
            if investigating {
                s["status"] = json!("under_investigation");
            } else {
                s["status"] = json!("affected");
                s["action_statement"] = json!(upgrade());
            }
            let notes: Vec<&str> = report.triage.notes_of(finding).collect();
            if !notes.is_empty() {
                s["status_notes"] = json!(notes.join(" "));
            }
        }
    }
    s
}

/// The findings as an OpenVEX 0.2 document (pretty JSON, final newline).
pub fn openvex(report: &FindingsReport) -> String {
    let product = image_id(report);
    let statements: Vec<Value> = report
        .sorted()
        .into_iter()
        .map(|f| statement(report, &product, f, None))
        .chain(
            report
                .sorted_suppressed()
                .into_iter()
                .map(|s| statement(report, &product, &s.finding, Some(&s.suppression))),
        )
        .collect();
    let timestamp = document_time(report.subject, report.options)
        .map(format_utc_seconds)
        .unwrap_or_else(|| "1970-01-01T00:00:00Z".to_string());
    let document = json!({
        "@context": CONTEXT,
        "@id": format!("urn:uuid:{}", stable_uuid("openvex", report.subject)),
        "author": TOOL_NAME,
        "timestamp": timestamp,
        "version": 1,
        "tooling": format!("{TOOL_NAME} {}", report.options.tool_version),
        "statements": statements,
    });
    let mut text = serde_json::to_string_pretty(&document).expect("OpenVEX serializes");
    text.push('\n');
    text
}
