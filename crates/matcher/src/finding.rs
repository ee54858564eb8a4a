//! Enrichment of a finding from its advisories and intelligence: severity, CVSS,
//! summary, references and the exploitability block.

use std::str::FromStr;

use crowsnest_model::Severity;
use crowsnest_model::advisory::{Advisory, Reference, SeverityScore};
use crowsnest_model::finding::{Cvss, EpssStatus, Exploitability, KevStatus};

use crate::cvss::{self, CvssVersion};
use crate::matching::Intel;

/// Longest summary kept when it has to be taken from an advisory's `details`.
const MAX_SUMMARY_CHARS: usize = 300;

pub(crate) struct FindingDetails {
    pub severity: Severity,
    pub severity_source: Option<String>,
    pub cvss: Option<Cvss>,
    pub summary: Option<String>,
    pub references: Vec<Reference>,
}

/// What one advisory (as found for one package: its top-level fields and the
/// `affected` entries that name that package) contributes to a finding, derived once
/// when the advisory index compiles the package's advisories rather than per finding.
#[derive(Debug)]
pub(crate) struct AdvisoryFacts {
    pub id: String,
    /// [`Advisory::primary_id`].
    pub primary_id: String,
    /// [`Advisory::all_ids`]: the id, aliases and upstream ids.
    pub ids: Vec<String>,
    /// The CVEs among `related`, deduplicated in order of appearance.
    pub related_cves: Vec<String>,
    best_v3: Option<Cvss>,
    best_v4: Option<Cvss>,
    distro_severity: Option<(Severity, &'static str)>,
    database_severity: Option<Severity>,
    /// The trimmed summary when it is not blank.
    summary: Option<String>,
    /// The first non-blank line of `details`, trimmed and bounded.
    details_line: Option<String>,
    /// Duplicate URLs removed, first occurrence kept.
    references: Vec<Reference>,
}

impl AdvisoryFacts {
    pub fn derive(advisory: &Advisory) -> Self {
        let (best_v3, best_v4) = best_cvss(advisory);
        let mut related_cves: Vec<String> = Vec::new();
        for r in advisory.related.iter().filter(|r| r.starts_with("CVE-")) {
            if !related_cves.contains(r) {
                related_cves.push(r.clone());
            }
        }
        let mut references: Vec<Reference> = Vec::new();
        for r in &advisory.references {
            if !references.iter().any(|seen| seen.url == r.url) {
                references.push(r.clone());
            }
        }
        AdvisoryFacts {
            id: advisory.id.clone(),
            primary_id: advisory.primary_id().to_owned(),
            ids: advisory.all_ids().map(str::to_owned).collect(),
            related_cves,
            best_v3,
            best_v4,
            distro_severity: distro_severity(advisory),
            database_severity: database_severity(advisory),
            summary: advisory
                .summary
                .as_deref()
                .map(str::trim)
                .filter(|s| !s.is_empty())
                .map(str::to_owned),
            details_line: advisory
                .details
                .as_deref()
                .and_then(|d| d.lines().find(|l| !l.trim().is_empty()))
                .map(|line| line.trim().chars().take(MAX_SUMMARY_CHARS).collect()),
            references,
        }
    }
}

/// Severity, CVSS, summary and references of one vulnerability from the facts of its
/// merged advisories (sorted by id).
///
/// Severity: for OS packages the distribution's own level wins when it states one
/// (Debian urgency, Ubuntu priority, the Red Hat level AlmaLinux puts in front of its
/// summaries), because it rates the flaw as built and configured in that release, and
/// because Debian's "unimportant" must stay negligible rather than be inflated by an
/// upstream score. Otherwise the computed CVSS score (v3.x preferred, as most
/// thresholds and policies are written for it; v4.0 when there is no v3), else the
/// database's own level (GHSA `database_specific.severity`), else unknown.
pub(crate) fn finding_details<'a>(
    facts: impl Iterator<Item = &'a AdvisoryFacts> + Clone,
    os_package: bool,
) -> FindingDetails {
    // The first highest score wins, as in one scan over every advisory's vectors.
    let pick = |slot: fn(&AdvisoryFacts) -> &Option<Cvss>| {
        facts
            .clone()
            .filter_map(|f| slot(f).as_ref())
            .fold(None::<&Cvss>, |best, c| match best {
                Some(b) if c.base_score <= b.base_score => Some(b),
                _ => Some(c),
            })
    };
    let cvss = pick(|f| &f.best_v3)
        .or_else(|| pick(|f| &f.best_v4))
        .cloned();
    let distro = if os_package {
        facts.clone().filter_map(|f| f.distro_severity).max()
    } else {
        None
    };
    let (severity, severity_source) = if let Some((level, source)) = distro {
        (level, Some(source.to_owned()))
    } else if let Some(c) = &cvss {
        (
            Severity::from_cvss_score(c.base_score),
            Some(if c.version == "4.0" {
                "CVSS_V4".to_owned()
            } else {
                "CVSS_V3".to_owned()
            }),
        )
    } else if let Some(level) = facts.clone().filter_map(|f| f.database_severity).max() {
        (level, Some("database".to_owned()))
    } else {
        (Severity::Unknown, None)
    };

    let summary = facts
        .clone()
        .find_map(|f| f.summary.clone())
        .or_else(|| facts.clone().find_map(|f| f.details_line.clone()));

    let mut references: Vec<Reference> = Vec::new();
    for r in facts.flat_map(|f| &f.references) {
        if !references.iter().any(|seen| seen.url == r.url) {
            references.push(r.clone());
        }
    }
    FindingDetails {
        severity,
        severity_source,
        cvss,
        summary,
        references,
    }
}

/// The highest-scoring valid v3.x and v4.0 vectors of the advisory (top-level and per
/// `affected` entry, plus RustSec's `database_specific.cvss`); the first one on a tie.
/// Invalid vectors are ignored: a finding is better shown without a score than dropped.
fn best_cvss(advisory: &Advisory) -> (Option<Cvss>, Option<Cvss>) {
    let mut best_v3: Option<Cvss> = None;
    let mut best_v4: Option<Cvss> = None;
    {
        let listed = advisory
            .severity
            .iter()
            .chain(advisory.affected.iter().flat_map(|a| &a.severity))
            .filter(|s| s.kind.starts_with("CVSS_V3") || s.kind.starts_with("CVSS_V4"))
            .map(|s: &SeverityScore| s.score.as_str());
        let rustsec = advisory
            .affected
            .iter()
            .filter_map(|a| a.database_specific.as_ref()?.get("cvss")?.as_str());
        for vector in listed.chain(rustsec) {
            let Ok(score) = cvss::score(vector) else {
                continue;
            };
            let (slot, version) = match score.version {
                CvssVersion::V3_0 => (&mut best_v3, "3.0"),
                CvssVersion::V3_1 => (&mut best_v3, "3.1"),
                CvssVersion::V4_0 => (&mut best_v4, "4.0"),
            };
            if slot.as_ref().is_none_or(|b| score.score > b.base_score) {
                *slot = Some(Cvss {
                    version: version.to_owned(),
                    vector: vector.to_owned(),
                    base_score: score.score,
                });
            }
        }
    }
    (best_v3, best_v4)
}

/// The level a distribution gives the advisory, with where it was found.
fn distro_severity(advisory: &Advisory) -> Option<(Severity, &'static str)> {
    let urgency = advisory
        .affected
        .iter()
        .flat_map(|a| [&a.ecosystem_specific, &a.database_specific])
        .chain(std::iter::once(&advisory.database_specific))
        .flatten()
        .filter_map(|v| v.get("urgency")?.as_str())
        // The tracker marks levels it has not reviewed with a trailing `*` or `**`.
        .filter_map(|u| Severity::from_str(u.trim_end_matches('*')).ok())
        .filter(|s| *s != Severity::Unknown)
        .max();
    if let Some(level) = urgency {
        return Some((level, "Debian urgency"));
    }
    let ubuntu = advisory
        .severity
        .iter()
        .chain(advisory.affected.iter().flat_map(|a| &a.severity))
        .filter(|s| s.kind == "Ubuntu")
        .filter_map(|s| Severity::from_str(&s.score).ok())
        .filter(|s| *s != Severity::Unknown)
        .max();
    if let Some(level) = ubuntu {
        return Some((level, "Ubuntu priority"));
    }
    // Red Hat family errata: "Important: openssl security update".
    let (prefix, _) = advisory.summary.as_deref()?.split_once(": ")?;
    match Severity::from_str(prefix) {
        Ok(level) if level != Severity::Unknown && advisory.id.starts_with("ALSA-") => {
            Some((level, "AlmaLinux errata severity"))
        }
        Ok(level) if level != Severity::Unknown && advisory.id.starts_with("RLSA-") => {
            Some((level, "Rocky Linux errata severity"))
        }
        _ => None,
    }
}

/// A qualitative level in the record's top-level `database_specific.severity` (GHSA).
fn database_severity(advisory: &Advisory) -> Option<Severity> {
    let level = advisory
        .database_specific
        .as_ref()?
        .get("severity")?
        .as_str()?;
    Severity::from_str(level)
        .ok()
        .filter(|s| *s != Severity::Unknown)
}

/// The exploitability block from the intelligence about each CVE of the vulnerability.
pub(crate) fn exploitability(intel: &[&Intel]) -> Exploitability {
    let kev = intel
        .iter()
        .find_map(|i| i.kev.as_ref())
        .map(|k| KevStatus {
            date_added: k.date_added.clone(),
            due_date: k.due_date.clone(),
            ransomware: k.known_ransomware_campaign_use,
        });
    let epss = intel
        .iter()
        .filter_map(|i| i.epss.as_ref())
        .filter(|e| e.epss.is_finite() && e.percentile.is_finite())
        .max_by(|a, b| a.epss.total_cmp(&b.epss))
        .map(|e| EpssStatus {
            score: e.epss,
            percentile: e.percentile,
        });
    let mut exploit_types: Vec<String> = Vec::new();
    let mut exploit_uris: Vec<String> = Vec::new();
    for e in intel.iter().flat_map(|i| &i.exploits) {
        exploit_types.push(e.kind.clone());
        exploit_uris.push(e.url.clone());
    }
    exploit_types.sort();
    exploit_types.dedup();
    exploit_uris.sort();
    exploit_uris.dedup();
    Exploitability {
        exploit_published: !exploit_uris.is_empty(),
        in_kev: kev.is_some(),
        kev,
        epss,
        exploit_types,
        exploit_uris,
    }
}

#[cfg(test)]
mod tests {
    use crowsnest_model::intel::{EpssScore, Exploit, KevEntry};

    use super::*;

    fn advisory(json: &str) -> Advisory {
        serde_json::from_str(json).unwrap()
    }

    fn details(advisory: &Advisory, os_package: bool) -> FindingDetails {
        finding_details(
            std::iter::once(&AdvisoryFacts::derive(advisory)),
            os_package,
        )
    }

    #[test]
    fn debian_unimportant_stays_negligible_despite_a_cvss_vector() {
        let a = advisory(
            r#"{"id": "DEBIAN-CVE-2020-1", "aliases": ["CVE-2020-1"],
                "severity": [{"type": "CVSS_V3", "score": "CVSS:3.1/AV:N/AC:L/PR:N/UI:N/S:U/C:H/I:H/A:H"}],
                "affected": [{"package": {"ecosystem": "Debian:12", "name": "x"},
                              "ecosystem_specific": {"urgency": "unimportant"}}]}"#,
        );
        let os = details(&a, true);
        assert_eq!(os.severity, Severity::Negligible);
        assert_eq!(os.severity_source.as_deref(), Some("Debian urgency"));
        assert_eq!(os.cvss.as_ref().unwrap().base_score, 9.8);
        // The same record seen for a language package: the score decides.
        let lang = details(&a, false);
        assert_eq!(lang.severity, Severity::Critical);
    }

    #[test]
    fn prefers_v3_then_v4_then_database_level_and_skips_bad_vectors() {
        let both = advisory(
            r#"{"id": "GHSA-1", "severity": [
                {"type": "CVSS_V4", "score": "CVSS:4.0/AV:N/AC:L/AT:N/PR:N/UI:N/VC:H/VI:H/VA:H/SC:N/SI:N/SA:N"},
                {"type": "CVSS_V3", "score": "CVSS:3.1/AV:L/AC:H/PR:H/UI:R/S:U/C:L/I:N/A:N"},
                {"type": "CVSS_V3", "score": "CVSS:3.1/garbage"}],
                "database_specific": {"severity": "CRITICAL"}}"#,
        );
        let d = details(&both, false);
        let c = d.cvss.unwrap();
        assert_eq!(c.version, "3.1");
        assert_eq!(d.severity, Severity::from_cvss_score(c.base_score));
        assert_eq!(d.severity, Severity::Low);

        let v4 = advisory(
            r#"{"id": "GHSA-2", "severity": [
                {"type": "CVSS_V4", "score": "CVSS:4.0/AV:N/AC:L/AT:N/PR:N/UI:N/VC:H/VI:H/VA:H/SC:N/SI:N/SA:N"}]}"#,
        );
        let d = details(&v4, false);
        assert_eq!(d.cvss.unwrap().version, "4.0");
        assert_eq!(d.severity_source.as_deref(), Some("CVSS_V4"));

        let ghsa = advisory(r#"{"id": "GHSA-3", "database_specific": {"severity": "MODERATE"}}"#);
        let d = details(&ghsa, false);
        assert_eq!(d.severity, Severity::Medium);
        assert!(d.cvss.is_none());

        let bare = advisory(r#"{"id": "GHSA-4"}"#);
        assert_eq!(details(&bare, false).severity, Severity::Unknown);
    }

    #[test]
    fn almalinux_errata_level_from_summary() {
        let a =
            advisory(r#"{"id": "ALSA-2024:1", "summary": "Important: openssl security update"}"#);
        let d = details(&a, true);
        assert_eq!(d.severity, Severity::High);
        // An ordinary summary with a colon is not a level.
        let b = advisory(r#"{"id": "ALSA-2024:2", "summary": "openssl: fix crash"}"#);
        assert_eq!(details(&b, true).severity, Severity::Unknown);
    }

    #[test]
    fn summary_falls_back_to_first_details_line_bounded() {
        let long = "x".repeat(5000);
        let a = advisory(&format!(
            r#"{{"id": "PYSEC-1", "details": "\n\n{long}\nsecond line"}}"#
        ));
        let d = details(&a, false);
        assert_eq!(d.summary.unwrap().chars().count(), MAX_SUMMARY_CHARS);
    }

    #[test]
    fn exploitability_merges_intel() {
        let intel = Intel {
            kev: Some(KevEntry {
                cve: "CVE-2021-44228".into(),
                vendor_project: "Apache".into(),
                product: "Log4j2".into(),
                vulnerability_name: "Log4Shell".into(),
                date_added: "2021-12-10".into(),
                due_date: Some("2021-12-24".into()),
                known_ransomware_campaign_use: true,
            }),
            epss: Some(EpssScore {
                cve: "CVE-2021-44228".into(),
                epss: 0.94,
                percentile: 0.99,
                model_version: None,
                score_date: None,
            }),
            exploits: vec![
                Exploit {
                    cve: "CVE-2021-44228".into(),
                    edb_id: 2,
                    description: "b".into(),
                    kind: "webapps".into(),
                    platform: "java".into(),
                    date_published: None,
                    verified: false,
                    url: "https://www.exploit-db.com/exploits/2".into(),
                },
                Exploit {
                    cve: "CVE-2021-44228".into(),
                    edb_id: 1,
                    description: "a".into(),
                    kind: "remote".into(),
                    platform: "java".into(),
                    date_published: None,
                    verified: true,
                    url: "https://www.exploit-db.com/exploits/1".into(),
                },
            ],
        };
        let e = exploitability(&[&intel]);
        assert!(e.in_kev && e.exploit_published);
        assert!(e.kev.unwrap().ransomware);
        assert_eq!(e.exploit_types, ["remote", "webapps"]);
        assert_eq!(e.exploit_uris[0], "https://www.exploit-db.com/exploits/1");
        assert_eq!(e.epss.unwrap().score, 0.94);
        let none = exploitability(&[&Intel::default()]);
        assert!(!none.in_kev && !none.exploit_published && none.epss.is_none());
    }
}
