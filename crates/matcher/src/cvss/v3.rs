//! CVSS v3.0 / v3.1 base score (specification section 7.1 and Appendix A for the
//! v3.1 Roundup).

use super::{CvssError, CvssVersion, parse_metrics};

const METRICS: [(&str, &[&str]); 22] = [
    ("AV", &["N", "A", "L", "P"]),
    ("AC", &["L", "H"]),
    ("PR", &["N", "L", "H"]),
    ("UI", &["N", "R"]),
    ("S", &["U", "C"]),
    ("C", &["H", "L", "N"]),
    ("I", &["H", "L", "N"]),
    ("A", &["H", "L", "N"]),
    ("E", &["X", "H", "F", "P", "U"]),
    ("RL", &["X", "U", "W", "T", "O"]),
    ("RC", &["X", "C", "R", "U"]),
    ("CR", &["X", "H", "M", "L"]),
    ("IR", &["X", "H", "M", "L"]),
    ("AR", &["X", "H", "M", "L"]),
    ("MAV", &["X", "N", "A", "L", "P"]),
    ("MAC", &["X", "L", "H"]),
    ("MPR", &["X", "N", "L", "H"]),
    ("MUI", &["X", "N", "R"]),
    ("MS", &["X", "U", "C"]),
    ("MC", &["X", "H", "L", "N"]),
    ("MI", &["X", "H", "L", "N"]),
    ("MA", &["X", "H", "L", "N"]),
];

/// Number of base metrics at the head of `METRICS`, all mandatory.
const BASE: usize = 8;

pub(super) fn base_score(
    vector: &str,
    metrics: &str,
    version: CvssVersion,
) -> Result<f64, CvssError> {
    let values = parse_metrics::<22>(vector, metrics, &METRICS)?;
    let mut base = [""; BASE];
    for (i, slot) in base.iter_mut().enumerate() {
        *slot = values[i].ok_or_else(|| {
            CvssError::new(vector, format!("base metric {} missing", METRICS[i].0))
        })?;
    }
    let [av, ac, pr, ui, s, c, i, a] = base;
    let changed = s == "C";
    let av = match av {
        "N" => 0.85,
        "A" => 0.62,
        "L" => 0.55,
        _ => 0.2,
    };
    let ac = if ac == "L" { 0.77 } else { 0.44 };
    let pr = match (pr, changed) {
        ("N", _) => 0.85,
        ("L", false) => 0.62,
        ("L", true) => 0.68,
        (_, false) => 0.27,
        (_, true) => 0.5,
    };
    let ui = if ui == "N" { 0.85 } else { 0.62 };
    let cia = |v: &str| -> f64 {
        match v {
            "H" => 0.56,
            "L" => 0.22,
            _ => 0.0,
        }
    };
    let iss: f64 = 1.0 - (1.0 - cia(c)) * (1.0 - cia(i)) * (1.0 - cia(a));
    let impact: f64 = if changed {
        7.52 * (iss - 0.029) - 3.25 * (iss - 0.02).powi(15)
    } else {
        6.42 * iss
    };
    if impact <= 0.0 {
        return Ok(0.0);
    }
    let exploitability: f64 = 8.22 * av * ac * pr * ui;
    let raw = if changed {
        (1.08 * (impact + exploitability)).min(10.0)
    } else {
        (impact + exploitability).min(10.0)
    };
    Ok(match version {
        CvssVersion::V3_0 => (raw * 10.0).ceil() / 10.0,
        _ => roundup_v31(raw),
    })
}

/// v3.1 Roundup: the smallest one-decimal number >= the input, computed on integers so
/// that floating-point noise (e.g. 4.000000000001) does not push it up a step.
fn roundup_v31(x: f64) -> f64 {
    let scaled = (x * 100_000.0).round() as i64;
    if scaled % 10_000 == 0 {
        scaled as f64 / 100_000.0
    } else {
        (scaled / 10_000 + 1) as f64 / 10.0
    }
}

#[cfg(test)]
mod tests {
    use crate::cvss::score;

    #[test]
    fn published_scores() {
        for (vector, expected) in [
            // Log4Shell, CVE-2021-44228.
            ("CVSS:3.1/AV:N/AC:L/PR:N/UI:N/S:C/C:H/I:H/A:H", 10.0),
            ("CVSS:3.1/AV:N/AC:L/PR:N/UI:N/S:U/C:H/I:H/A:H", 9.8),
            ("CVSS:3.0/AV:N/AC:L/PR:N/UI:N/S:U/C:H/I:H/A:H", 9.8),
            ("CVSS:3.1/AV:N/AC:L/PR:L/UI:N/S:U/C:H/I:H/A:H", 8.8),
            ("CVSS:3.1/AV:N/AC:H/PR:N/UI:N/S:U/C:H/I:H/A:H", 8.1),
            ("CVSS:3.1/AV:L/AC:L/PR:L/UI:N/S:U/C:H/I:H/A:H", 7.8),
            ("CVSS:3.1/AV:N/AC:L/PR:N/UI:N/S:U/C:H/I:N/A:N", 7.5),
            ("CVSS:3.1/AV:N/AC:L/PR:N/UI:N/S:U/C:N/I:N/A:H", 7.5),
            ("CVSS:3.1/AV:N/AC:L/PR:N/UI:R/S:C/C:L/I:L/A:N", 6.1),
            ("CVSS:3.1/AV:N/AC:L/PR:N/UI:N/S:U/C:L/I:N/A:N", 5.3),
            ("CVSS:3.1/AV:N/AC:L/PR:N/UI:N/S:U/C:N/I:N/A:N", 0.0),
            // Temporal metrics are accepted and leave the base score alone.
            (
                "CVSS:3.1/AV:N/AC:L/PR:N/UI:N/S:U/C:H/I:H/A:H/E:U/RL:O/RC:C",
                9.8,
            ),
        ] {
            assert_eq!(score(vector).unwrap().score, expected, "{vector}");
        }
    }

    #[test]
    fn roundup_ignores_float_noise() {
        assert_eq!(super::roundup_v31(4.000_000_000_001), 4.0);
        assert_eq!(super::roundup_v31(4.02), 4.1);
        assert_eq!(super::roundup_v31(0.0), 0.0);
    }
}
