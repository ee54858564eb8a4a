//! SARIF 2.1.0 (<https://docs.oasis-open.org/sarif/sarif/v2.1.0/>) for code-scanning UIs:
//! one rule per vulnerability, one result per affected package, located at the files that
//! evidence the package, with `security-severity` for the UIs that rank by it.

use std::collections::BTreeMap;

use crowsnest_model::Severity;
use crowsnest_model::exception::Suppression;
use crowsnest_model::finding::Finding;
use serde::Serialize;
use serde_json::{Value, json};

use super::{FindingsReport, epss_percent, fixed_version};
use crate::subject::TOOL_NAME;

const SCHEMA_URL: &str = "https://json.schemastore.org/sarif-2.1.0.json";

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct Rule {
    id: String,
    short_description: Text,
    full_description: Text,
    #[serde(skip_serializing_if = "Option::is_none")]
    help_uri: Option<String>,
    help: Text,
    default_configuration: Configuration,
    properties: Value,
}

#[derive(Serialize)]
struct Text {
    text: String,
}

#[derive(Serialize)]
struct Configuration {
    level: &'static str,
}

/// SARIF levels: what a code-scanning UI shows as error, warning or note.
fn level(severity: Severity) -> &'static str {
    match severity {
        Severity::Critical | Severity::High => "error",
        Severity::Medium | Severity::Unknown => "warning",
        Severity::Low | Severity::Negligible => "note",
    }
}

/// `security-severity` (0.0 to 10.0, a string): the CVSS base score when known, else a
/// value inside the CVSS band of the qualitative severity. `None` for unknown severity.
fn security_severity(finding: &Finding) -> Option<String> {
    if let Some(cvss) = &finding.cvss
        && (0.0..=10.0).contains(&cvss.base_score)
    {
        return Some(format!("{:.1}", cvss.base_score));
    }
    let band = match finding.severity {
        Severity::Critical => 9.5,
        Severity::High => 8.0,
        Severity::Medium => 5.5,
        Severity::Low => 2.0,
        Severity::Negligible => 0.1,
        Severity::Unknown => return None,
    };
    Some(format!("{band:.1}"))
}

/// A path inside the image as a relative URI reference: leading `/` dropped, everything
/// outside RFC 3986's unreserved characters and `/` percent-encoded.
fn path_uri(path: &str) -> String {
    let mut uri = String::with_capacity(path.len());
    for b in path.trim_start_matches('/').bytes() {
        if b.is_ascii_alphanumeric() || matches!(b, b'-' | b'.' | b'_' | b'~' | b'/') {
            uri.push(b as char);
        } else {
            uri.push_str(&format!("%{b:02X}"));
        }
    }
    uri
}

fn rule(finding: &Finding) -> Rule {
    let summary = finding
        .summary
        .clone()
        .filter(|s| !s.trim().is_empty())
        .unwrap_or_else(|| format!("{} in {}", finding.id, finding.package.name));
    let mut tags = vec!["security".to_string(), "vulnerability".to_string()];
    tags.push(finding.severity.to_string());
    let mut properties = serde_json::Map::new();
    properties.insert("tags".into(), json!(tags));
    if let Some(s) = security_severity(finding) {
        properties.insert("security-severity".into(), json!(s));
    }
    if !finding.aliases.is_empty() {
        properties.insert("aliases".into(), json!(finding.aliases));
    }
    let mut help = format!("{}: {summary}", finding.id);
    for reference in &finding.references {
        help.push_str(&format!("\n{}", reference.url));
    }
    Rule {
        id: finding.id.clone(),
        short_description: Text {
            text: summary.clone(),
        },
        full_description: Text { text: summary },
        help_uri: finding.references.first().map(|r| r.url.clone()),
        help: Text { text: help },
        default_configuration: Configuration {
            level: level(finding.severity),
        },
        properties: Value::Object(properties),
    }
}

fn message(finding: &Finding) -> String {
    let mut text = format!(
        "{} {} is affected by {} ({})",
        finding.package.name, finding.package.version, finding.id, finding.severity
    );
    match fixed_version(finding) {
        Some(fixed) => text.push_str(&format!("; fixed in {fixed}")),
        None => text.push_str(&format!("; {}", finding.fix_status.as_str())),
    }
    text.push('.');
    text
}

/// A SARIF `suppression`: always `external` (the decision lives outside the scanned
/// image) and `accepted`; the justification says by what and why.
fn suppression(s: &Suppression) -> Value {
    let mut properties = serde_json::Map::new();
    properties.insert("kind".into(), json!(s.kind));
    properties.insert("source".into(), json!(s.source));
    if let Some(j) = s.justification {
        properties.insert("vexJustification".into(), json!(j));
    }
    if let Some(e) = &s.expires {
        properties.insert("expires".into(), json!(e));
    }
    json!({
        "kind": "external",
        "status": "accepted",
        "justification": s.describe(),
        "properties": Value::Object(properties),
    })
}

fn result(
    report: &FindingsReport,
    finding: &Finding,
    rule_index: usize,
    suppressed: Option<&Suppression>,
) -> Value {
    let evidence = report.evidence_of(finding);
    let uris: Vec<String> = if evidence.is_empty() {
        // No file evidences the package: its package URL is still a valid URI.
        vec![finding.package.purl.clone()]
    } else {
        evidence.iter().map(|p| path_uri(p)).collect()
    };
    let locations: Vec<Value> = uris
        .iter()
        .filter(|u| !u.is_empty())
        .map(|uri| {
            json!({
                "physicalLocation": { "artifactLocation": { "uri": uri } },
                "logicalLocations": [{
                    "name": finding.package.name,
                    "fullyQualifiedName": finding.package.purl,
                    "kind": "package",
                }],
            })
        })
        .collect();

    let e = &finding.exploitability;
    let mut properties = serde_json::Map::new();
    properties.insert("package".into(), json!(finding.package.name));
    properties.insert("purl".into(), json!(finding.package.purl));
    properties.insert("installedVersion".into(), json!(finding.installed_version));
    properties.insert("fixedVersions".into(), json!(finding.fixed_versions));
    properties.insert("fixStatus".into(), json!(finding.fix_status.as_str()));
    properties.insert("severity".into(), json!(finding.severity));
    properties.insert("priority".into(), json!(finding.priority.score));
    properties.insert("inKev".into(), json!(e.in_kev));
    properties.insert("exploitPublished".into(), json!(e.exploit_published));
    if let Some(epss) = &e.epss {
        properties.insert("epss".into(), json!(epss_percent(epss.score)));
    }
    if let Some(layer) = &finding.package.layer {
        properties.insert("layerDiffID".into(), json!(layer.to_string()));
    }
    let notes: Vec<&str> = report.triage.notes_of(finding).collect();
    if !notes.is_empty() {
        properties.insert("notes".into(), json!(notes));
    }
    let mut result = json!({
        "ruleId": finding.id,
        "ruleIndex": rule_index,
        "level": level(finding.severity),
        "message": { "text": message(finding) },
        "locations": locations,
        "partialFingerprints": {
            "crowsnest/package-vulnerability/v1":
                format!("{}|{}|{}", finding.id, finding.package.purl, finding.package.version),
        },
        "properties": Value::Object(properties),
    });
    if let Some(s) = suppressed {
        result["suppressions"] = json!([suppression(s)]);
    }
    result
}

/// The findings as a SARIF 2.1.0 log with one run; suppressed findings are results
/// with `suppressions`, after the open ones.
pub fn sarif(report: &FindingsReport) -> String {
    let sorted = report.sorted();
    let suppressed = report.sorted_suppressed();
    // One rule per vulnerability, described by its most severe finding; rules sorted by id.
    let mut by_id: BTreeMap<&str, &Finding> = BTreeMap::new();
    for f in sorted
        .iter()
        .copied()
        .chain(suppressed.iter().map(|s| &s.finding))
    {
        by_id
            .entry(f.id.as_str())
            .and_modify(|current| {
                if f.severity > current.severity {
                    *current = f;
                }
            })
            .or_insert(f);
    }
    let rule_index: BTreeMap<&str, usize> =
        by_id.keys().enumerate().map(|(i, id)| (*id, i)).collect();
    let rules: Vec<Rule> = by_id.values().map(|f| rule(f)).collect();
    let results: Vec<Value> = sorted
        .iter()
        .map(|f| result(report, f, rule_index[f.id.as_str()], None))
        .chain(suppressed.iter().map(|s| {
            let f = &s.finding;
            result(report, f, rule_index[f.id.as_str()], Some(&s.suppression))
        }))
        .collect();
    let mut run_properties = json!({ "image": report.subject.name });
    if !report.triage.suppressed.is_empty() {
        run_properties["suppressed"] = json!(report.triage.suppressed.len());
    }
    if !report.triage.expired.is_empty() {
        run_properties["expiredRules"] = json!(report.triage.expired);
    }
    let log = json!({
        "$schema": SCHEMA_URL,
        "version": "2.1.0",
        "runs": [{
            "tool": { "driver": {
                "name": TOOL_NAME,
                "version": report.options.tool_version,
                "rules": rules,
            }},
            "results": results,
            "properties": run_properties,
        }],
    });
    let mut text = serde_json::to_string_pretty(&log).expect("SARIF serializes");
    text.push('\n');
    text
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn paths_become_relative_uri_references() {
        assert_eq!(
            path_uri("/usr/lib/python3/dist-packages/PyYAML-6.0.dist-info/METADATA"),
            "usr/lib/python3/dist-packages/PyYAML-6.0.dist-info/METADATA"
        );
        assert_eq!(path_uri("/opt/my app/a#b"), "opt/my%20app/a%23b");
        assert_eq!(path_uri("/é"), "%C3%A9");
    }

    #[test]
    fn levels_by_severity() {
        assert_eq!(level(Severity::Critical), "error");
        assert_eq!(level(Severity::Medium), "warning");
        assert_eq!(level(Severity::Negligible), "note");
    }
}
