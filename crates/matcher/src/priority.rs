//! The priority score of a finding: how urgently to fix it, 0 to 100. The formula and
//! the reasoning behind each weight are in docs/prioritisation.md; keep the two in step.
//!
//! score = min(100, 100 × severity × threat × fix × (1 + context))
//!
//! Every factor is derived from the finding alone (plus the optional runtime context),
//! so a stored finding can be re-scored without the advisory database.

use std::cmp::Ordering;

use crowsnest_model::Severity;
use crowsnest_model::finding::{Finding, FixStatus, Priority, RuntimeContext};

/// Threat when CISA KEV lists the CVE: exploitation in the wild is confirmed.
pub const THREAT_KEV: f64 = 1.0;
/// Threat when a public exploit exists but no exploitation is confirmed.
pub const THREAT_PUBLIC_EXPLOIT: f64 = 0.85;
/// Threat floor without exploitation evidence; EPSS adds up to `THREAT_EPSS_SPAN`, so
/// the EPSS-only threat (at most 0.8) stays below a public exploit.
pub const THREAT_BASE: f64 = 0.3;
pub const THREAT_EPSS_SPAN: f64 = 0.5;

/// Runtime-context lifts, added up and capped at `MAX_CONTEXT_LIFT`.
pub const LIFT_INTERNET_EXPOSED: f64 = 0.35;
pub const LIFT_PRIVILEGED: f64 = 0.2;
pub const LIFT_HOST_ACCESS: f64 = 0.15;
pub const LIFT_POWERFUL_IDENTITY: f64 = 0.1;
pub const LIFT_RUNS_AS_ROOT: f64 = 0.05;
pub const MAX_CONTEXT_LIFT: f64 = 0.6;

/// Weight of a severity level when no CVSS score rated the finding.
pub fn severity_weight(level: Severity) -> f64 {
    match level {
        Severity::Critical => 0.95,
        Severity::High => 0.8,
        Severity::Medium => 0.55,
        Severity::Low => 0.3,
        Severity::Negligible => 0.05,
        // Unrated is not harmless: weigh it as a middling flaw until someone rates it.
        Severity::Unknown => 0.5,
    }
}

pub fn fix_weight(status: FixStatus) -> f64 {
    match status {
        // Actionable now: an upgrade removes the risk.
        FixStatus::FixAvailable => 1.0,
        FixStatus::NoFixAvailable | FixStatus::Unknown => 0.9,
        // The distribution judged it not worth fixing in this release.
        FixStatus::WontFix => 0.75,
    }
}

/// Scores `finding` from its severity, exploitability and fix status, raised by
/// `context` when the runtime is known.
pub fn assess(finding: &Finding, context: Option<&RuntimeContext>) -> Priority {
    let mut reasons = Vec::new();

    let from_cvss = finding
        .severity_source
        .as_deref()
        .is_some_and(|s| s.starts_with("CVSS"));
    let severity = match (&finding.cvss, from_cvss) {
        (Some(c), true) if c.base_score.is_finite() => {
            reasons.push(format!(
                "{} severity (CVSS {} base score {:.1})",
                finding.severity, c.version, c.base_score
            ));
            (c.base_score / 10.0).clamp(0.0, 1.0)
        }
        _ => {
            reasons.push(match &finding.severity_source {
                Some(source) => format!("{} severity ({source})", finding.severity),
                None => "severity not rated".to_owned(),
            });
            severity_weight(finding.severity)
        }
    };

    let x = &finding.exploitability;
    let threat = if let Some(kev) = &x.kev {
        reasons.push(format!(
            "exploited in the wild: in CISA KEV since {}{}",
            kev.date_added,
            if kev.ransomware {
                ", known ransomware use"
            } else {
                ""
            }
        ));
        THREAT_KEV
    } else if x.exploit_published {
        reasons.push(format!(
            "public exploit ({} on Exploit-DB)",
            x.exploit_uris.len()
        ));
        THREAT_PUBLIC_EXPLOIT
    } else if let Some(epss) = &x.epss {
        // A stored finding is outside bytes too: a NaN must not poison the score.
        let p = if epss.score.is_finite() {
            epss.score.clamp(0.0, 1.0)
        } else {
            0.0
        };
        reasons.push(format!(
            "EPSS {:.3} ({:.0}th percentile), no known exploit",
            p,
            (epss.percentile * 100.0).clamp(0.0, 100.0)
        ));
        THREAT_BASE + THREAT_EPSS_SPAN * p
    } else {
        reasons.push("no exploitation evidence".to_owned());
        THREAT_BASE
    };

    let fix = fix_weight(finding.fix_status);
    reasons.push(match finding.fix_status {
        FixStatus::FixAvailable => match finding.fixed_versions.last() {
            Some(v) => format!("fix available ({v})"),
            None => "fix available".to_owned(),
        },
        FixStatus::NoFixAvailable => "no fix available yet".to_owned(),
        FixStatus::WontFix => "the distribution will not fix it".to_owned(),
        FixStatus::Unknown => "fix status unknown".to_owned(),
    });

    let mut lift = 0.0;
    if let Some(c) = context {
        for (flag, weight, reason) in [
            (
                c.internet_exposed,
                LIFT_INTERNET_EXPOSED,
                "internet exposed",
            ),
            (c.privileged, LIFT_PRIVILEGED, "runs privileged"),
            (c.host_access, LIFT_HOST_ACCESS, "has host access"),
            (
                c.powerful_identity,
                LIFT_POWERFUL_IDENTITY,
                "powerful service account",
            ),
            (c.runs_as_root, LIFT_RUNS_AS_ROOT, "runs as root"),
        ] {
            if flag {
                lift += weight;
                reasons.push(reason.to_owned());
            }
        }
    }
    let lift = lift.min(MAX_CONTEXT_LIFT);

    let raw = 100.0 * severity * threat * fix * (1.0 + lift);
    Priority {
        score: (raw.min(100.0) * 10.0).round() / 10.0,
        reasons,
    }
}

/// Re-scores every finding for a runtime context (the security graph calls this once
/// it knows where an image runs) and restores the priority order.
pub fn reassess(findings: &mut [Finding], context: Option<&RuntimeContext>) {
    for f in findings.iter_mut() {
        f.priority = assess(f, context);
    }
    sort(findings);
}

/// Highest priority first; ties broken by severity, then id and package, so the order
/// is stable across runs.
pub fn sort(findings: &mut [Finding]) {
    findings.sort_by(|a, b| {
        b.priority
            .score
            .total_cmp(&a.priority.score)
            .then_with(|| b.severity.cmp(&a.severity))
            .then_with(|| a.id.cmp(&b.id))
            .then_with(|| a.package.name.cmp(&b.package.name))
            .then_with(|| a.package.version.cmp(&b.package.version))
            .then(Ordering::Equal)
    });
}

#[cfg(test)]
mod tests {
    use crowsnest_model::PackageKind;
    use crowsnest_model::finding::{Cvss, EpssStatus, Exploitability, FindingPackage, KevStatus};

    use super::*;

    fn finding(severity: Severity, cvss: Option<f64>, fix: FixStatus) -> Finding {
        Finding {
            id: "CVE-2000-1".into(),
            aliases: vec![],
            package: FindingPackage {
                name: "p".into(),
                version: "1".into(),
                kind: PackageKind::Npm,
                purl: "pkg:npm/p@1".into(),
                ecosystem: "npm".into(),
                layer: None,
                matched_source: None,
                identity: None,
            },
            installed_version: "1".into(),
            fixed_versions: vec!["2".into()],
            fix_status: fix,
            severity,
            severity_source: Some(
                if cvss.is_some() {
                    "CVSS_V3"
                } else {
                    "database"
                }
                .into(),
            ),
            cvss: cvss.map(|s| Cvss {
                version: "3.1".into(),
                vector: "CVSS:3.1/…".into(),
                base_score: s,
            }),
            summary: None,
            references: vec![],
            exploitability: Exploitability::default(),
            priority: Priority::default(),
            advisories: vec!["GHSA-x".into()],
        }
    }

    fn kev() -> KevStatus {
        KevStatus {
            date_added: "2021-12-10".into(),
            due_date: None,
            ransomware: false,
        }
    }

    #[test]
    fn kev_above_public_exploit_above_any_epss() {
        let mut top_epss = finding(Severity::High, Some(8.0), FixStatus::FixAvailable);
        top_epss.exploitability.epss = Some(EpssStatus {
            score: 1.0,
            percentile: 1.0,
        });
        let mut exploit = top_epss.clone();
        exploit.exploitability.exploit_published = true;
        exploit.exploitability.exploit_uris = vec!["https://www.exploit-db.com/exploits/1".into()];
        let mut in_kev = exploit.clone();
        in_kev.exploitability.in_kev = true;
        in_kev.exploitability.kev = Some(kev());
        let (e, x, k) = (
            assess(&top_epss, None).score,
            assess(&exploit, None).score,
            assess(&in_kev, None).score,
        );
        assert!(k > x && x > e, "{k} {x} {e}");
        assert_eq!(k, 80.0);
    }

    #[test]
    fn severity_and_fix_order_the_rest() {
        let crit = assess(
            &finding(Severity::Critical, Some(9.8), FixStatus::FixAvailable),
            None,
        );
        let high = assess(
            &finding(Severity::High, Some(7.5), FixStatus::FixAvailable),
            None,
        );
        let high_nofix = assess(
            &finding(Severity::High, Some(7.5), FixStatus::NoFixAvailable),
            None,
        );
        let high_wontfix = assess(
            &finding(Severity::High, Some(7.5), FixStatus::WontFix),
            None,
        );
        let negligible = assess(
            &finding(Severity::Negligible, None, FixStatus::FixAvailable),
            None,
        );
        assert!(crit.score > high.score);
        assert!(high.score > high_nofix.score && high_nofix.score > high_wontfix.score);
        assert!(negligible.score < 2.0, "{}", negligible.score);
        assert!(
            crit.reasons[0].contains("CVSS 3.1 base score 9.8"),
            "{:?}",
            crit.reasons
        );
        assert!(crit.reasons.iter().any(|r| r == "fix available (2)"));
    }

    #[test]
    fn runtime_context_raises_and_caps() {
        let f = finding(Severity::High, Some(7.5), FixStatus::FixAvailable);
        let base = assess(&f, None).score;
        let exposed = RuntimeContext {
            internet_exposed: true,
            ..Default::default()
        };
        let everything = RuntimeContext {
            internet_exposed: true,
            privileged: true,
            host_access: true,
            runs_as_root: true,
            powerful_identity: true,
        };
        let e = assess(&f, Some(&exposed));
        let all = assess(&f, Some(&everything));
        assert!(e.score > base && all.score > e.score);
        assert_eq!(
            all.score,
            ((base * (1.0 + MAX_CONTEXT_LIFT)) * 10.0).round() / 10.0
        );
        assert!(e.reasons.iter().any(|r| r == "internet exposed"));
        assert_eq!(assess(&f, Some(&RuntimeContext::default())).score, base);

        let mut crit_kev = finding(Severity::Critical, Some(10.0), FixStatus::FixAvailable);
        crit_kev.exploitability.kev = Some(kev());
        assert_eq!(assess(&crit_kev, Some(&everything)).score, 100.0);
    }

    #[test]
    fn worked_examples_in_the_docs() {
        let mut log4shell = finding(Severity::Critical, Some(10.0), FixStatus::FixAvailable);
        log4shell.exploitability.kev = Some(kev());
        assert_eq!(assess(&log4shell, None).score, 100.0);

        let mut high = finding(Severity::High, Some(7.5), FixStatus::FixAvailable);
        high.exploitability.epss = Some(EpssStatus {
            score: 0.04,
            percentile: 0.9,
        });
        assert_eq!(assess(&high, None).score, 24.0);
        let exposed = RuntimeContext {
            internet_exposed: true,
            privileged: true,
            ..Default::default()
        };
        assert_eq!(assess(&high, Some(&exposed)).score, 37.2);

        let mut medium = finding(Severity::Medium, Some(5.3), FixStatus::NoFixAvailable);
        medium.exploitability.exploit_published = true;
        medium.exploitability.exploit_uris = vec!["https://www.exploit-db.com/exploits/1".into()];
        assert_eq!(assess(&medium, None).score, 40.5);

        let mut unimportant = finding(Severity::Negligible, None, FixStatus::WontFix);
        unimportant.severity_source = Some("Debian urgency".into());
        assert_eq!(assess(&unimportant, None).score, 1.1);

        // The floor keeps an unexploited critical above a low flaw with an exploit.
        let critical = finding(Severity::Critical, Some(9.8), FixStatus::FixAvailable);
        let mut low = finding(Severity::Low, Some(3.0), FixStatus::FixAvailable);
        low.exploitability.exploit_published = true;
        assert!(assess(&critical, None).score > assess(&low, None).score);
    }

    #[test]
    fn hostile_numbers_stay_in_range() {
        let mut f = finding(Severity::Critical, Some(f64::NAN), FixStatus::FixAvailable);
        f.exploitability.epss = Some(EpssStatus {
            score: 7.0,
            percentile: -3.0,
        });
        let p = assess(&f, None);
        assert!(
            p.score.is_finite() && (0.0..=100.0).contains(&p.score),
            "{}",
            p.score
        );
    }

    #[test]
    fn sorts_by_priority_then_severity_then_id() {
        let mut low = finding(Severity::Low, Some(3.0), FixStatus::FixAvailable);
        low.id = "CVE-1".into();
        let mut high = finding(Severity::High, Some(8.0), FixStatus::FixAvailable);
        high.id = "CVE-2".into();
        let mut findings = vec![low, high];
        reassess(&mut findings, None);
        assert_eq!(findings[0].id, "CVE-2");
    }
}
