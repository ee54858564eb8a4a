//! Why a finding is not reported as open: VEX statements, ignore rules and risk
//! acceptances (exceptions).
//!
//! A suppression never edits the finding it applies to: the advisory data, severity and
//! priority stay as the matcher made them. Reports carry suppressed findings beside the
//! open ones, each with the suppression that hides it, so that nothing is hidden silently.

use std::fmt;

use serde::{Deserialize, Serialize};

use crate::finding::Finding;

/// What hides a finding.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum SuppressionKind {
    /// A VEX statement says the product is not affected.
    VexNotAffected,
    /// A VEX statement says the vulnerability is fixed in the product.
    VexFixed,
    /// A rule of an ignore file (`.crowsnestignore.yaml`, `.trivyignore.yaml`).
    IgnoreRule,
    /// A risk acceptance recorded in the service by an administrator.
    Exception,
}

impl SuppressionKind {
    pub fn as_str(self) -> &'static str {
        match self {
            SuppressionKind::VexNotAffected => "vex_not_affected",
            SuppressionKind::VexFixed => "vex_fixed",
            SuppressionKind::IgnoreRule => "ignore_rule",
            SuppressionKind::Exception => "exception",
        }
    }

    /// Whether the suppression states a fact about the product (VEX), as opposed to an
    /// accepted risk: the finding is still real, someone decided to live with it.
    pub fn is_vex(self) -> bool {
        matches!(
            self,
            SuppressionKind::VexNotAffected | SuppressionKind::VexFixed
        )
    }
}

impl fmt::Display for SuppressionKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// Why a product is not affected, in OpenVEX's vocabulary (CSAF uses the same labels;
/// CycloneDX's are mapped onto these when read).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Justification {
    ComponentNotPresent,
    VulnerableCodeNotPresent,
    VulnerableCodeNotInExecutePath,
    VulnerableCodeCannotBeControlledByAdversary,
    InlineMitigationsAlreadyExist,
}

impl Justification {
    pub const ALL: [Justification; 5] = [
        Justification::ComponentNotPresent,
        Justification::VulnerableCodeNotPresent,
        Justification::VulnerableCodeNotInExecutePath,
        Justification::VulnerableCodeCannotBeControlledByAdversary,
        Justification::InlineMitigationsAlreadyExist,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            Justification::ComponentNotPresent => "component_not_present",
            Justification::VulnerableCodeNotPresent => "vulnerable_code_not_present",
            Justification::VulnerableCodeNotInExecutePath => "vulnerable_code_not_in_execute_path",
            Justification::VulnerableCodeCannotBeControlledByAdversary => {
                "vulnerable_code_cannot_be_controlled_by_adversary"
            }
            Justification::InlineMitigationsAlreadyExist => "inline_mitigations_already_exist",
        }
    }

    /// The OpenVEX / CSAF label, if `label` is one.
    pub fn from_label(label: &str) -> Option<Justification> {
        Justification::ALL.into_iter().find(|j| j.as_str() == label)
    }
}

impl fmt::Display for Justification {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// What hides one finding, and on whose word.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Suppression {
    pub kind: SuppressionKind,
    /// Where it comes from, for people: `vex/app.openvex.json`,
    /// `.crowsnestignore.yaml rule 3`, `exception 12`.
    pub source: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub justification: Option<Justification>,
    /// The reason in words (VEX impact statement, rule statement, exception reason).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub statement: Option<String>,
    /// When it stops applying (RFC 3339).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub expires: Option<String>,
    /// Who decided: the VEX author, the exception's creator.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub author: Option<String>,
}

impl Suppression {
    /// One line for tables and logs: `vex_not_affected by vex/app.json
    /// (vulnerable_code_not_in_execute_path): statement`.
    pub fn describe(&self) -> String {
        let mut text = format!("{} by {}", self.kind, self.source);
        if let Some(j) = self.justification {
            text.push_str(&format!(" ({j})"));
        }
        if let Some(s) = self.statement.as_deref().filter(|s| !s.trim().is_empty()) {
            text.push_str(&format!(": {}", s.trim()));
        }
        if let Some(e) = &self.expires {
            text.push_str(&format!(" [until {e}]"));
        }
        text
    }
}

/// A finding that a suppression hides, with that suppression.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct SuppressedFinding {
    pub finding: Finding,
    pub suppression: Suppression,
}

/// A remark on an open finding: a VEX `under_investigation` statement, or a
/// suppression that expired (the finding is back at its priority).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct FindingNote {
    pub kind: NoteKind,
    /// The finding's vulnerability id.
    pub vulnerability: String,
    /// The finding's package URL.
    pub purl: String,
    pub text: String,
}

impl FindingNote {
    pub fn is_about(&self, finding: &Finding) -> bool {
        self.vulnerability == finding.id && self.purl == finding.package.purl
    }
}

/// What a note says about its finding.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum NoteKind {
    /// A VEX statement says the vulnerability is under investigation for the product.
    UnderInvestigation,
    /// A rule or exception that would hide the finding has expired.
    Expired,
}

/// A rule or exception that no longer applies because its expiry passed.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct ExpiredRule {
    pub source: String,
    /// The expiry date as written.
    pub expired: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub statement: Option<String>,
}

/// What applying VEX documents, ignore rules and exceptions to findings produced,
/// besides the findings that stay open.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct Triage {
    pub suppressed: Vec<SuppressedFinding>,
    pub notes: Vec<FindingNote>,
    pub expired: Vec<ExpiredRule>,
}

impl Triage {
    /// Notes about one finding.
    pub fn notes_of<'a>(&'a self, finding: &'a Finding) -> impl Iterator<Item = &'a str> + 'a {
        self.notes
            .iter()
            .filter(move |n| n.is_about(finding))
            .map(|n| n.text.as_str())
    }

    /// Suppressed findings counted by what suppressed them, in [`SuppressionKind`] order.
    pub fn counts(&self) -> Vec<(SuppressionKind, usize)> {
        let mut counts: std::collections::BTreeMap<SuppressionKind, usize> = Default::default();
        for s in &self.suppressed {
            *counts.entry(s.suppression.kind).or_default() += 1;
        }
        counts.into_iter().collect()
    }

    /// `3 suppressed (2 vex_not_affected, 1 ignore_rule)`, or `None` when nothing is.
    pub fn describe_counts(&self) -> Option<String> {
        if self.suppressed.is_empty() {
            return None;
        }
        let parts: Vec<String> = self
            .counts()
            .into_iter()
            .map(|(kind, n)| format!("{n} {kind}"))
            .collect();
        Some(format!(
            "{} suppressed ({})",
            self.suppressed.len(),
            parts.join(", ")
        ))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn justification_labels_round_trip() {
        for j in Justification::ALL {
            assert_eq!(Justification::from_label(j.as_str()), Some(j));
            let json = serde_json::to_string(&j).unwrap();
            assert_eq!(json, format!("\"{}\"", j.as_str()));
        }
        assert_eq!(Justification::from_label("because"), None);
    }
}
