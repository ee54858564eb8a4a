//! Findings as JSON: the image, counts by severity and every finding (the
//! [`Finding`] fields, plus the evidence paths of its package), in report order.

use std::collections::BTreeMap;

use crowsnest_model::Severity;
use crowsnest_model::exception::{ExpiredRule, Suppression, SuppressionKind};
use crowsnest_model::finding::{Finding, FixStatus};
use serde::Serialize;

use super::FindingsReport;
use crate::ImageSubject;
use crate::subject::TOOL_NAME;

/// Version of this JSON layout; raised when a field changes meaning or goes away.
pub const FORMAT_VERSION: u32 = 1;

#[derive(Serialize)]
struct Document<'a> {
    format_version: u32,
    tool: Tool<'a>,
    image: &'a ImageSubject,
    summary: Summary,
    findings: Vec<Entry<'a>>,
    /// The suppressed findings, with `--show-suppressed` (their count is in `summary`).
    #[serde(skip_serializing_if = "Option::is_none")]
    suppressed: Option<Vec<Entry<'a>>>,
    #[serde(skip_serializing_if = "<[_]>::is_empty")]
    expired_rules: &'a [ExpiredRule],
}

#[derive(Serialize)]
struct Tool<'a> {
    name: &'static str,
    version: &'a str,
}

#[derive(Serialize, Default)]
struct Summary {
    total: usize,
    critical: usize,
    high: usize,
    medium: usize,
    low: usize,
    negligible: usize,
    unknown: usize,
    fix_available: usize,
    in_kev: usize,
    /// Findings hidden by VEX statements, ignore rules or exceptions (not in `total`).
    suppressed: usize,
    suppressed_by: BTreeMap<SuppressionKind, usize>,
}

#[derive(Serialize)]
struct Entry<'a> {
    #[serde(flatten)]
    finding: &'a Finding,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    evidence: Vec<&'a str>,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    notes: Vec<&'a str>,
    #[serde(skip_serializing_if = "Option::is_none")]
    suppression: Option<&'a Suppression>,
}

/// The findings as pretty JSON with a final newline.
pub fn json(report: &FindingsReport) -> String {
    let sorted = report.sorted();
    let mut summary = Summary {
        total: sorted.len(),
        suppressed: report.triage.suppressed.len(),
        suppressed_by: report.triage.counts().into_iter().collect(),
        ..Default::default()
    };
    for f in &sorted {
        *match f.severity {
            Severity::Critical => &mut summary.critical,
            Severity::High => &mut summary.high,
            Severity::Medium => &mut summary.medium,
            Severity::Low => &mut summary.low,
            Severity::Negligible => &mut summary.negligible,
            Severity::Unknown => &mut summary.unknown,
        } += 1;
        summary.fix_available += usize::from(f.fix_status == FixStatus::FixAvailable);
        summary.in_kev += usize::from(f.exploitability.in_kev);
    }
    let document = Document {
        format_version: FORMAT_VERSION,
        tool: Tool {
            name: TOOL_NAME,
            version: &report.options.tool_version,
        },
        image: report.subject,
        summary,
        findings: sorted
            .iter()
            .map(|f| Entry {
                finding: f,
                evidence: report.evidence_of(f),
                notes: report.triage.notes_of(f).collect(),
                suppression: None,
            })
            .collect(),
        suppressed: report.show_suppressed.then(|| {
            report
                .sorted_suppressed()
                .into_iter()
                .map(|s| Entry {
                    finding: &s.finding,
                    evidence: report.evidence_of(&s.finding),
                    notes: Vec::new(),
                    suppression: Some(&s.suppression),
                })
                .collect()
        }),
        expired_rules: &report.triage.expired,
    };
    let mut text = serde_json::to_string_pretty(&document).expect("findings serialize");
    text.push('\n');
    text
}
