//! Findings renderers: one per output format, all reading the same [`FindingsReport`].
//!
//! Every renderer lists findings in the same order: priority first (highest score), then
//! severity, vulnerability id and package, so that the order is total and output is
//! byte-identical for the same input.

pub mod cyclonedx;
pub mod json;
pub mod openvex;
pub mod sarif;
pub mod table;

use std::cmp::Ordering;

use crowsnest_catalog::Inventory;
use crowsnest_model::Package;
use crowsnest_model::exception::{SuppressedFinding, Triage};
use crowsnest_model::finding::Finding;

use crate::{DocumentOptions, ImageSubject};

/// What a findings report is about: the image, its inventory (for evidence paths and the
/// CycloneDX components), the open findings, and what exceptions did to the rest.
///
/// Suppressed findings are never silent: every format counts them by what suppressed
/// them; SARIF, CycloneDX and OpenVEX always carry them in their own vocabulary
/// (`suppressions`, `analysis.state`, `status`); table and JSON list them when
/// `show_suppressed` is set.
#[derive(Clone, Copy, Debug)]
pub struct FindingsReport<'a> {
    pub subject: &'a ImageSubject,
    pub inventory: &'a Inventory,
    /// The open findings.
    pub findings: &'a [Finding],
    pub triage: &'a Triage,
    pub show_suppressed: bool,
    pub options: &'a DocumentOptions,
}

impl<'a> FindingsReport<'a> {
    /// Findings in report order.
    pub(crate) fn sorted(&self) -> Vec<&'a Finding> {
        let mut sorted: Vec<&Finding> = self.findings.iter().collect();
        sorted.sort_by(|a, b| report_order(a, b));
        sorted
    }

    /// Suppressed findings in report order.
    pub(crate) fn sorted_suppressed(&self) -> Vec<&'a SuppressedFinding> {
        let mut sorted: Vec<&SuppressedFinding> = self.triage.suppressed.iter().collect();
        sorted.sort_by(|a, b| report_order(&a.finding, &b.finding));
        sorted
    }

    /// The inventory package a finding is about.
    pub(crate) fn package_of(&self, finding: &Finding) -> Option<&'a Package> {
        finding.package.find_in(&self.inventory.packages)
    }

    /// Evidence paths of the finding's package, sorted.
    pub(crate) fn evidence_of(&self, finding: &Finding) -> Vec<&'a str> {
        let mut paths: Vec<&str> = self
            .package_of(finding)
            .map(|p| p.evidence.iter().map(String::as_str).collect())
            .unwrap_or_default();
        paths.sort_unstable();
        paths.dedup();
        paths
    }
}

fn report_order(a: &Finding, b: &Finding) -> Ordering {
    b.priority
        .score
        .total_cmp(&a.priority.score)
        .then(b.severity.cmp(&a.severity))
        .then_with(|| a.id.cmp(&b.id))
        .then_with(|| a.package.name.cmp(&b.package.name))
        .then_with(|| a.package.version.cmp(&b.package.version))
        .then_with(|| a.package.purl.cmp(&b.package.purl))
        .then_with(|| a.package.layer.cmp(&b.package.layer))
}

/// The version to upgrade to: the last fixed version clears every merged advisory.
pub(crate) fn fixed_version(finding: &Finding) -> Option<&str> {
    finding.fixed_versions.last().map(String::as_str)
}

/// EPSS probability as a percentage: two decimals below 1%, one above.
pub(crate) fn epss_percent(score: f64) -> String {
    let pct = score * 100.0;
    if pct < 1.0 {
        format!("{pct:.2}%")
    } else {
        format!("{pct:.1}%")
    }
}
