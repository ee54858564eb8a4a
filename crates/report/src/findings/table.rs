//! A plain-text table for terminals: one row per finding, fixed column order, at most
//! [`MAX_WIDTH`] columns wide (long cells are cut with `…`), and a summary line.

use crowsnest_model::Severity;
use crowsnest_model::finding::{Finding, FixStatus};

use super::{FindingsReport, epss_percent, fixed_version};

/// Width the table fits in.
pub const MAX_WIDTH: usize = 120;
const GAP: &str = "  ";

struct Column {
    header: &'static str,
    /// Narrowest the column may be cut to; `None`: never cut.
    min: Option<usize>,
}

const COLUMNS: [Column; 11] = [
    Column {
        header: "VULNERABILITY",
        min: Some(14),
    },
    Column {
        header: "PACKAGE",
        min: Some(16),
    },
    Column {
        header: "INSTALLED",
        min: Some(10),
    },
    Column {
        header: "FIXED",
        min: Some(10),
    },
    Column {
        header: "STATUS",
        min: None,
    },
    Column {
        header: "SEVERITY",
        min: None,
    },
    Column {
        header: "EPSS",
        min: None,
    },
    Column {
        header: "KEV",
        min: None,
    },
    Column {
        header: "EXPLOIT",
        min: Some(7),
    },
    Column {
        header: "PRIORITY",
        min: None,
    },
    Column {
        header: "LAYER",
        min: Some(5),
    },
];

fn status_label(status: FixStatus) -> &'static str {
    match status {
        FixStatus::FixAvailable => "fixed",
        FixStatus::NoFixAvailable => "no fix",
        FixStatus::WontFix => "wontfix",
        FixStatus::Unknown => "unknown",
    }
}

fn row(report: &FindingsReport, finding: &Finding) -> [String; 11] {
    let e = &finding.exploitability;
    let exploit = if !e.exploit_types.is_empty() {
        e.exploit_types.join(",")
    } else if e.exploit_published {
        "yes".to_string()
    } else {
        "-".to_string()
    };
    let kev = match &e.kev {
        // (R): known use in ransomware campaigns.
        Some(k) if k.ransomware => "yes (R)".to_string(),
        _ if e.in_kev => "yes".to_string(),
        _ => "-".to_string(),
    };
    let layer = match &finding.package.layer {
        Some(d) => match report.subject.layer_index(d) {
            Some(index) => format!("L{index}"),
            None => d.hex().chars().take(12).collect(),
        },
        None => "-".to_string(),
    };
    [
        finding.id.clone(),
        package_cell(finding),
        finding.package.version.clone(),
        fixed_version(finding).unwrap_or("-").to_string(),
        status_label(finding.fix_status).to_string(),
        finding.severity.to_string(),
        e.epss
            .as_ref()
            .map_or("-".to_string(), |s| epss_percent(s.score)),
        kev,
        exploit,
        format!("{:.1}", finding.priority.score),
        layer,
    ]
}

/// Marks a package whose coordinates were inferred rather than declared or found by
/// checksum, so a reader knows the finding rests on them (explained under the table).
const INFERRED_MARK: char = '~';

fn is_inferred(finding: &Finding) -> bool {
    finding
        .package
        .identity
        .as_ref()
        .is_some_and(|i| i.is_inferred())
}

/// The package name, marked in front (where cutting a long cell cannot remove the mark)
/// when its coordinates are inferred.
fn package_cell(finding: &Finding) -> String {
    if is_inferred(finding) {
        format!("{INFERRED_MARK}{}", finding.package.name)
    } else {
        finding.package.name.clone()
    }
}

fn width(s: &str) -> usize {
    s.chars().count()
}

/// Cuts `s` to `max` characters, marking the cut with `…`.
fn fit(s: &str, max: usize) -> String {
    if width(s) <= max {
        return s.to_string();
    }
    let mut cut: String = s.chars().take(max.saturating_sub(1)).collect();
    cut.push('…');
    cut
}

/// Column widths: as wide as the content, then the widest cuttable columns give way one
/// character at a time until the table fits.
fn widths(rows: &[[String; 11]]) -> [usize; 11] {
    let mut widths = [0; 11];
    for (i, column) in COLUMNS.iter().enumerate() {
        widths[i] = rows
            .iter()
            .map(|r| width(&r[i]))
            .chain([width(column.header)])
            .max()
            .unwrap_or(0);
    }
    loop {
        let total: usize = widths.iter().sum::<usize>() + GAP.len() * (COLUMNS.len() - 1);
        if total <= MAX_WIDTH {
            break;
        }
        let widest = COLUMNS
            .iter()
            .enumerate()
            .filter(|(i, c)| c.min.is_some_and(|min| widths[*i] > min))
            .max_by_key(|(i, _)| (widths[*i], std::cmp::Reverse(*i)));
        match widest {
            Some((i, _)) => widths[i] -= 1,
            None => break,
        }
    }
    widths
}

/// The findings as a table, followed by a one-line summary of counts by severity, notes
/// on findings, what was suppressed (listed with `show_suppressed`) and expired rules.
pub fn table(report: &FindingsReport) -> String {
    let sorted = report.sorted();
    let mut out = if sorted.is_empty() {
        "No vulnerabilities found.\n".to_string()
    } else {
        let rows: Vec<[String; 11]> = sorted.iter().map(|f| row(report, f)).collect();
        let mut out = grid(&rows);
        out.push('\n');
        out.push_str(&summary(&sorted));
        out
    };
    let notes: Vec<String> = sorted
        .iter()
        .flat_map(|f| {
            report
                .triage
                .notes_of(f)
                .map(move |n| format!("  {} {}: {n}", f.id, f.package.name))
        })
        .collect();
    if !notes.is_empty() {
        out.push_str("Notes:\n");
        for n in notes {
            out.push_str(&n);
            out.push('\n');
        }
    }
    if let Some(counts) = report.triage.describe_counts() {
        out.push_str(&counts);
        if report.show_suppressed {
            out.push_str(":\n");
            for s in report.sorted_suppressed() {
                let f = &s.finding;
                out.push_str(&format!(
                    "  {} {} {} ({}): {}\n",
                    f.id,
                    f.package.name,
                    f.package.version,
                    f.severity,
                    s.suppression.describe()
                ));
            }
        } else {
            out.push_str(" (--show-suppressed lists them)\n");
        }
    }
    for e in &report.triage.expired {
        out.push_str(&format!(
            "{} expired on {}: no longer applied\n",
            e.source, e.expired
        ));
    }
    out
}

/// The header and the rows, cut to fit.
fn grid(rows: &[[String; 11]]) -> String {
    let widths = widths(rows);
    let mut out = String::new();
    let headers = COLUMNS.map(|c| c.header.to_string());
    for cells in std::iter::once(&headers).chain(rows.iter()) {
        let mut line = String::new();
        for (i, cell) in cells.iter().enumerate() {
            if i > 0 {
                line.push_str(GAP);
            }
            let cell = fit(cell, widths[i]);
            line.push_str(&cell);
            line.extend(std::iter::repeat_n(' ', widths[i] - width(&cell)));
        }
        out.push_str(line.trim_end());
        out.push('\n');
    }
    out
}

fn summary(findings: &[&Finding]) -> String {
    let counts: Vec<String> = Severity::ALL
        .iter()
        .rev()
        .filter_map(|s| {
            let n = findings.iter().filter(|f| f.severity == *s).count();
            (n > 0).then(|| format!("{n} {s}"))
        })
        .collect();
    let fixable = findings
        .iter()
        .filter(|f| f.fix_status == FixStatus::FixAvailable)
        .count();
    let mut out = format!(
        "{} vulnerabilities ({}), {fixable} with a fix available\n",
        findings.len(),
        counts.join(", ")
    );
    let inferred = findings.iter().filter(|f| is_inferred(f)).count();
    if inferred > 0 {
        out.push_str(&format!(
            "{INFERRED_MARK} {inferred} on packages whose coordinates were inferred from the archive (manifest, file name), not declared: see the JSON output's identity\n"
        ));
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn findings_on_inferred_coordinates_are_marked() {
        use crowsnest_model::finding::{Exploitability, FindingPackage, Priority};
        use crowsnest_model::{Confidence, Identity, PackageKind};
        let mut finding = Finding {
            id: "CVE-2022-22965".into(),
            aliases: vec![],
            package: FindingPackage {
                name: "org.springframework:spring-beans".into(),
                version: "5.3.17".into(),
                kind: PackageKind::Maven,
                purl: "pkg:maven/org.springframework/spring-beans@5.3.17".into(),
                ecosystem: "Maven".into(),
                layer: None,
                matched_source: None,
                identity: None,
            },
            installed_version: "5.3.17".into(),
            fixed_versions: vec!["5.3.18".into()],
            fix_status: FixStatus::FixAvailable,
            severity: Severity::Critical,
            severity_source: None,
            cvss: None,
            summary: None,
            references: vec![],
            exploitability: Exploitability::default(),
            priority: Priority::default(),
            advisories: vec![],
        };
        assert_eq!(package_cell(&finding), "org.springframework:spring-beans");
        assert!(!summary(&[&finding]).contains('~'));
        let mut identity = Identity {
            confidence: Confidence::High,
            evidence: vec![],
            sha1: None,
        };
        finding.package.identity = Some(identity.clone());
        assert_eq!(package_cell(&finding), "~org.springframework:spring-beans");
        assert!(summary(&[&finding]).contains("~ 1 on packages whose coordinates were inferred"));
        // Found by checksum in an index: exact, not marked.
        identity.confidence = Confidence::Checksum;
        finding.package.identity = Some(identity);
        assert_eq!(package_cell(&finding), "org.springframework:spring-beans");
    }

    #[test]
    fn fit_cuts_with_ellipsis() {
        assert_eq!(fit("abcdef", 6), "abcdef");
        assert_eq!(fit("abcdefg", 6), "abcde…");
        assert_eq!(fit("äöüäöüä", 3), "äö…");
    }

    #[test]
    fn wide_content_is_cut_to_the_width() {
        let long = "x".repeat(80);
        let rows = vec![std::array::from_fn(|_| long.clone())];
        let w = widths(&rows);
        let total: usize = w.iter().sum::<usize>() + GAP.len() * 10;
        // Uncuttable columns keep their content width; everything else gave way to them.
        let fixed: usize = COLUMNS
            .iter()
            .zip(w)
            .filter(|(c, _)| c.min.is_none())
            .map(|(_, w)| w)
            .sum();
        assert_eq!(fixed, 80 * 5);
        assert!(total > MAX_WIDTH);
        for (c, w) in COLUMNS.iter().zip(w) {
            if let Some(min) = c.min {
                assert_eq!(w, min);
            }
        }
    }
}
