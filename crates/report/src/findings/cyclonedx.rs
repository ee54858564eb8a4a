//! CycloneDX 1.6 with vulnerabilities: the image SBOM plus one `vulnerabilities` entry per
//! finding, pointing at the affected component by `bom-ref`, with ratings, the fix and an
//! analysis block.

use crowsnest_model::Severity;
use crowsnest_model::exception::{Justification, Suppression, SuppressionKind};
use crowsnest_model::finding::{Finding, FixStatus};
use serde::Serialize;

use super::{FindingsReport, fixed_version};
use crate::cyclonedx::{self as sbom, component_refs};

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
pub(crate) struct Vulnerability {
    #[serde(rename = "bom-ref")]
    bom_ref: String,
    id: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    source: Option<Source>,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    references: Vec<Reference>,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    ratings: Vec<Rating>,
    #[serde(skip_serializing_if = "Option::is_none")]
    description: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    recommendation: Option<String>,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    advisories: Vec<Advisory>,
    analysis: Analysis,
    affects: Vec<Affects>,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    properties: Vec<sbom::Property>,
}

#[derive(Serialize)]
struct Source {
    name: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    url: Option<String>,
}

#[derive(Serialize)]
struct Reference {
    id: String,
    source: Source,
}

#[derive(Serialize)]
struct Rating {
    #[serde(skip_serializing_if = "Option::is_none")]
    source: Option<Source>,
    #[serde(skip_serializing_if = "Option::is_none")]
    score: Option<f64>,
    severity: &'static str,
    method: &'static str,
    #[serde(skip_serializing_if = "Option::is_none")]
    vector: Option<String>,
}

#[derive(Serialize)]
struct Advisory {
    url: String,
}

#[derive(Serialize)]
struct Analysis {
    state: &'static str,
    #[serde(skip_serializing_if = "Option::is_none")]
    justification: Option<&'static str>,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    response: Vec<&'static str>,
    detail: String,
}

#[derive(Serialize)]
struct Affects {
    #[serde(rename = "ref")]
    reference: String,
    versions: Vec<AffectedVersion>,
}

#[derive(Serialize)]
struct AffectedVersion {
    version: String,
    status: &'static str,
}

fn cyclonedx_severity(severity: Severity) -> &'static str {
    match severity {
        Severity::Critical => "critical",
        Severity::High => "high",
        Severity::Medium => "medium",
        Severity::Low => "low",
        // Debian's "unimportant" and friends: CycloneDX's informational level.
        Severity::Negligible => "info",
        Severity::Unknown => "unknown",
    }
}

/// The database an id comes from, by its prefix.
fn id_source(id: &str) -> Source {
    let (name, url) = if id.starts_with("CVE-") {
        ("NVD", format!("https://nvd.nist.gov/vuln/detail/{id}"))
    } else if id.starts_with("GHSA-") {
        ("GitHub", format!("https://github.com/advisories/{id}"))
    } else {
        ("OSV", format!("https://osv.dev/vulnerability/{id}"))
    };
    Source {
        name: name.to_string(),
        url: Some(url),
    }
}

fn ratings(finding: &Finding) -> Vec<Rating> {
    let severity = cyclonedx_severity(finding.severity);
    match &finding.cvss {
        Some(cvss) => vec![Rating {
            source: finding
                .severity_source
                .clone()
                .map(|name| Source { name, url: None }),
            score: Some(cvss.base_score).filter(|s| s.is_finite()),
            severity,
            method: match cvss.version.as_str() {
                "3.1" => "CVSSv31",
                "3.0" => "CVSSv3",
                "4.0" => "CVSSv4",
                "2.0" => "CVSSv2",
                _ => "other",
            },
            vector: Some(cvss.vector.clone()),
        }],
        None => vec![Rating {
            source: finding
                .severity_source
                .clone()
                .map(|name| Source { name, url: None }),
            score: None,
            severity,
            method: "other",
            vector: None,
        }],
    }
}

/// OpenVEX justifications in CycloneDX's vocabulary.
fn cyclonedx_justification(j: Justification) -> &'static str {
    match j {
        Justification::ComponentNotPresent | Justification::VulnerableCodeNotPresent => {
            "code_not_present"
        }
        Justification::VulnerableCodeNotInExecutePath => "code_not_reachable",
        Justification::VulnerableCodeCannotBeControlledByAdversary => "requires_environment",
        Justification::InlineMitigationsAlreadyExist => "protected_by_mitigating_control",
    }
}

fn analysis(finding: &Finding, suppressed: Option<&Suppression>, notes: &[&str]) -> Analysis {
    let mut analysis = match suppressed {
        Some(s) => suppressed_analysis(s),
        None => open_analysis(finding),
    };
    for note in notes {
        analysis.detail.push_str(&format!(" Note: {note}."));
    }
    analysis
}

fn suppressed_analysis(s: &Suppression) -> Analysis {
    let detail = s.describe();
    match s.kind {
        SuppressionKind::VexNotAffected => Analysis {
            state: "not_affected",
            justification: s.justification.map(cyclonedx_justification),
            response: vec![],
            detail,
        },
        SuppressionKind::VexFixed => Analysis {
            state: "resolved",
            justification: None,
            response: vec![],
            detail,
        },
        // An accepted risk is still a vulnerability in the image: saying "not affected"
        // would be false, so the state stays exploitable and the response says why.
        SuppressionKind::IgnoreRule | SuppressionKind::Exception => Analysis {
            state: "exploitable",
            justification: None,
            response: vec!["will_not_fix"],
            detail: format!("Risk accepted: {detail}"),
        },
    }
}

fn open_analysis(finding: &Finding) -> Analysis {
    // The matcher found the version inside the advisory's ranges; whether the code is
    // reachable is not known, so the state is "in triage", never "exploitable".
    let (response, detail) = match finding.fix_status {
        FixStatus::FixAvailable => (
            vec!["update"],
            match fixed_version(finding) {
                Some(v) => format!("Fix available: upgrade to {v}."),
                None => "Fix available.".to_string(),
            },
        ),
        FixStatus::NoFixAvailable => (vec![], "No fix available yet.".to_string()),
        FixStatus::WontFix => (
            vec!["will_not_fix"],
            "The distribution will not fix this in this release.".to_string(),
        ),
        FixStatus::Unknown => (vec![], "The advisory does not state a fix.".to_string()),
    };
    Analysis {
        state: "in_triage",
        justification: None,
        response,
        detail,
    }
}

fn properties(finding: &Finding) -> Vec<sbom::Property> {
    let e = &finding.exploitability;
    let mut props = vec![
        sbom::prop("crowsnest:fixStatus", finding.fix_status.as_str()),
        sbom::prop(
            "crowsnest:priority:score",
            format!("{:.1}", finding.priority.score),
        ),
    ];
    for reason in &finding.priority.reasons {
        props.push(sbom::prop("crowsnest:priority:reason", reason.clone()));
    }
    props.push(sbom::prop("crowsnest:kev", e.in_kev.to_string()));
    if let Some(kev) = &e.kev {
        props.push(sbom::prop(
            "crowsnest:kev:dateAdded",
            kev.date_added.clone(),
        ));
        if let Some(due) = &kev.due_date {
            props.push(sbom::prop("crowsnest:kev:dueDate", due.clone()));
        }
        props.push(sbom::prop(
            "crowsnest:kev:ransomware",
            kev.ransomware.to_string(),
        ));
    }
    if let Some(epss) = &e.epss {
        props.push(sbom::prop("crowsnest:epss:score", epss.score.to_string()));
        props.push(sbom::prop(
            "crowsnest:epss:percentile",
            epss.percentile.to_string(),
        ));
    }
    props.push(sbom::prop(
        "crowsnest:exploit:published",
        e.exploit_published.to_string(),
    ));
    for uri in &e.exploit_uris {
        props.push(sbom::prop("crowsnest:exploit:uri", uri.clone()));
    }
    if let Some(source) = &finding.package.matched_source {
        props.push(sbom::prop("crowsnest:matchedSource", source.clone()));
    }
    props
}

impl Vulnerability {
    /// The `bom-ref`s of the components this vulnerability affects.
    pub(crate) fn affected_refs(&self) -> impl Iterator<Item = &str> {
        self.affects.iter().map(|a| a.reference.as_str())
    }
}

/// The image SBOM with the findings as CycloneDX 1.6 vulnerabilities (suppressed ones
/// with their analysis state).
pub fn cyclonedx(report: &FindingsReport) -> String {
    sbom::to_json(&with_vulnerabilities(report))
}

/// CycloneDX VEX: the image, the components findings are about and every finding's
/// analysis (open ones `in_triage`, VEX-suppressed `not_affected`/`resolved` with the
/// justification, accepted risks `exploitable` with `will_not_fix`).
pub fn cyclonedx_vex(report: &FindingsReport) -> String {
    let mut bom = with_vulnerabilities(report);
    bom.keep_affected_components();
    sbom::to_json(&bom)
}

fn with_vulnerabilities(report: &FindingsReport) -> sbom::Bom {
    let mut bom = sbom::build(report.subject, report.inventory, report.options);
    let refs = component_refs(&report.inventory.packages);
    let mut vulnerabilities = Vec::new();
    let open = report.sorted().into_iter().map(|f| (f, None));
    let suppressed = report
        .sorted_suppressed()
        .into_iter()
        .map(|s| (&s.finding, Some(&s.suppression)));
    for (finding, suppression) in open.chain(suppressed) {
        let component = report.package_of(finding).and_then(|p| {
            refs.iter()
                .find(|(q, _)| std::ptr::eq(*q, p))
                .map(|(_, r)| r.clone())
        });
        // A finding for a package that is not in the inventory (an SBOM read with
        // another tool's package list, say) still needs a component to point at.
        let reference = component.unwrap_or_else(|| bom.add_finding_package(&finding.package));
        vulnerabilities.push(Vulnerability {
            bom_ref: format!("{}@{}", finding.id, reference),
            id: finding.id.clone(),
            source: Some(id_source(&finding.id)),
            references: finding
                .aliases
                .iter()
                .map(|a| Reference {
                    id: a.clone(),
                    source: id_source(a),
                })
                .collect(),
            ratings: ratings(finding),
            description: finding.summary.clone(),
            recommendation: fixed_version(finding)
                .map(|v| format!("Upgrade {} to {v}.", finding.package.name)),
            advisories: finding
                .references
                .iter()
                .map(|r| Advisory { url: r.url.clone() })
                .collect(),
            analysis: analysis(
                finding,
                suppression,
                &report.triage.notes_of(finding).collect::<Vec<_>>(),
            ),
            affects: vec![Affects {
                reference,
                versions: vec![AffectedVersion {
                    version: finding.package.version.clone(),
                    status: "affected",
                }],
            }],
            properties: properties(finding),
        });
    }
    bom.vulnerabilities = vulnerabilities;
    bom
}
