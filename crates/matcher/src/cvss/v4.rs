//! CVSS v4.0 scores (FIRST CVSS v4.0 specification, section 8: MacroVectors and
//! interpolation).
//!
//! The vector is mapped to a MacroVector of six equivalence classes (EQ1 … EQ6), whose
//! expert-assigned score comes from the specification's lookup table. The score is
//! then lowered by the mean, over the classes that have a lower MacroVector, of the
//! score gap to that lower MacroVector scaled by how far the vector sits below the
//! highest-severity vectors of its own MacroVector.

use super::{CvssError, parse_metrics};

const METRICS: [(&str, &[&str]); 32] = [
    ("AV", &["N", "A", "L", "P"]),
    ("AC", &["L", "H"]),
    ("AT", &["N", "P"]),
    ("PR", &["N", "L", "H"]),
    ("UI", &["N", "P", "A"]),
    ("VC", &["H", "L", "N"]),
    ("VI", &["H", "L", "N"]),
    ("VA", &["H", "L", "N"]),
    ("SC", &["H", "L", "N"]),
    ("SI", &["H", "L", "N"]),
    ("SA", &["H", "L", "N"]),
    ("E", &["X", "A", "P", "U"]),
    ("CR", &["X", "H", "M", "L"]),
    ("IR", &["X", "H", "M", "L"]),
    ("AR", &["X", "H", "M", "L"]),
    ("MAV", &["X", "N", "A", "L", "P"]),
    ("MAC", &["X", "L", "H"]),
    ("MAT", &["X", "N", "P"]),
    ("MPR", &["X", "N", "L", "H"]),
    ("MUI", &["X", "N", "P", "A"]),
    ("MVC", &["X", "H", "L", "N"]),
    ("MVI", &["X", "H", "L", "N"]),
    ("MVA", &["X", "H", "L", "N"]),
    ("MSC", &["X", "H", "L", "N"]),
    ("MSI", &["X", "S", "H", "L", "N"]),
    ("MSA", &["X", "S", "H", "L", "N"]),
    ("S", &["X", "N", "P"]),
    ("AU", &["X", "N", "Y"]),
    ("R", &["X", "A", "U", "I"]),
    ("V", &["X", "D", "C"]),
    ("RE", &["X", "L", "M", "H"]),
    ("U", &["X", "Clear", "Green", "Amber", "Red"]),
];

/// Number of base metrics at the head of `METRICS`, all mandatory.
const BASE: usize = 11;

/// MacroVector scores from the specification, indexed by
/// `((((eq1*2 + eq2)*3 + eq3)*3 + eq4)*3 + eq5)*2 + eq6`; `None` where the
/// combination cannot occur.
#[rustfmt::skip]
const LOOKUP: [Option<f64>; 324] = [
    Some(10.0), Some(9.9), Some(9.8), Some(9.5), Some(9.5), Some(9.2),
    Some(10.0), Some(9.6), Some(9.3), Some(8.7), Some(9.1), Some(8.1),
    Some(9.3), Some(9.0), Some(8.9), Some(8.0), Some(8.1), Some(6.8),
    Some(9.8), Some(9.5), Some(9.5), Some(9.2), Some(9.0), Some(8.4),
    Some(9.3), Some(9.2), Some(8.9), Some(8.1), Some(8.1), Some(6.5),
    Some(8.8), Some(8.0), Some(7.8), Some(7.0), Some(6.9), Some(4.8),
    None, Some(9.2), None, Some(8.2), None, Some(7.2),
    None, Some(7.9), None, Some(6.9), None, Some(5.0),
    None, Some(6.9), None, Some(5.5), None, Some(2.7),
    Some(9.9), Some(9.7), Some(9.5), Some(9.2), Some(9.2), Some(8.5),
    Some(9.5), Some(9.1), Some(9.0), Some(8.3), Some(8.4), Some(7.1),
    Some(9.2), Some(8.1), Some(8.2), Some(7.1), Some(7.2), Some(5.3),
    Some(9.5), Some(9.3), Some(9.2), Some(8.5), Some(8.5), Some(7.3),
    Some(9.2), Some(8.2), Some(8.0), Some(7.2), Some(7.0), Some(5.9),
    Some(8.4), Some(7.0), Some(7.1), Some(5.2), Some(5.0), Some(3.0),
    None, Some(8.6), None, Some(7.5), None, Some(5.2),
    None, Some(7.1), None, Some(5.2), None, Some(2.9),
    None, Some(6.3), None, Some(2.9), None, Some(1.7),
    Some(9.8), Some(9.5), Some(9.4), Some(8.7), Some(9.1), Some(8.1),
    Some(9.4), Some(8.9), Some(8.6), Some(7.4), Some(7.7), Some(6.4),
    Some(8.7), Some(7.5), Some(7.4), Some(6.3), Some(6.3), Some(4.9),
    Some(9.4), Some(8.9), Some(8.8), Some(7.7), Some(7.6), Some(6.7),
    Some(8.6), Some(7.6), Some(7.4), Some(5.8), Some(5.9), Some(5.0),
    Some(7.2), Some(5.7), Some(5.7), Some(5.2), Some(5.2), Some(2.5),
    None, Some(8.3), None, Some(7.0), None, Some(5.4),
    None, Some(6.5), None, Some(5.8), None, Some(2.6),
    None, Some(5.3), None, Some(2.1), None, Some(1.3),
    Some(9.5), Some(9.0), Some(8.8), Some(7.6), Some(7.6), Some(7.0),
    Some(9.0), Some(7.7), Some(7.5), Some(6.2), Some(6.1), Some(5.3),
    Some(7.7), Some(6.6), Some(6.8), Some(5.9), Some(5.2), Some(3.0),
    Some(8.9), Some(7.8), Some(7.6), Some(6.7), Some(6.2), Some(5.8),
    Some(7.4), Some(5.9), Some(5.7), Some(5.7), Some(4.7), Some(2.3),
    Some(6.1), Some(5.2), Some(5.7), Some(2.9), Some(2.4), Some(1.6),
    None, Some(7.1), None, Some(5.9), None, Some(3.0),
    None, Some(5.8), None, Some(2.6), None, Some(1.5),
    None, Some(2.3), None, Some(1.3), None, Some(0.6),
    Some(9.3), Some(8.7), Some(8.6), Some(7.2), Some(7.5), Some(5.8),
    Some(8.6), Some(7.4), Some(7.4), Some(6.1), Some(5.6), Some(3.4),
    Some(7.0), Some(5.4), Some(5.2), Some(4.0), Some(4.0), Some(2.2),
    Some(8.5), Some(7.5), Some(7.4), Some(5.5), Some(6.2), Some(5.1),
    Some(7.2), Some(5.7), Some(5.5), Some(4.1), Some(4.6), Some(1.9),
    Some(5.3), Some(3.6), Some(3.4), Some(1.9), Some(1.9), Some(0.8),
    None, Some(6.4), None, Some(5.1), None, Some(2.0),
    None, Some(4.7), None, Some(2.1), None, Some(1.1),
    None, Some(2.4), None, Some(0.9), None, Some(0.4),
    Some(8.8), Some(7.5), Some(7.3), Some(5.3), Some(6.0), Some(5.0),
    Some(7.3), Some(5.5), Some(5.9), Some(4.0), Some(4.1), Some(2.0),
    Some(5.4), Some(4.3), Some(4.5), Some(2.2), Some(2.0), Some(1.1),
    Some(7.5), Some(5.5), Some(5.8), Some(4.5), Some(4.0), Some(2.1),
    Some(6.1), Some(5.1), Some(4.8), Some(1.8), Some(2.0), Some(0.9),
    Some(4.6), Some(1.8), Some(1.7), Some(0.7), Some(0.8), Some(0.2),
    None, Some(5.3), None, Some(2.4), None, Some(1.4),
    None, Some(2.4), None, Some(1.2), None, Some(0.5),
    None, Some(1.0), None, Some(0.3), None, Some(0.1),
];

fn lookup(eq: [usize; 6]) -> Option<f64> {
    let [eq1, eq2, eq3, eq4, eq5, eq6] = eq;
    if eq1 > 2 || eq2 > 1 || eq3 > 2 || eq4 > 2 || eq5 > 2 || eq6 > 1 {
        return None;
    }
    LOOKUP[((((eq1 * 2 + eq2) * 3 + eq3) * 3 + eq4) * 3 + eq5) * 2 + eq6]
}

/// The effective metric values: modified environmental values override base ones, and
/// undefined threat and requirement metrics take their worst case.
struct Effective<'a> {
    values: [Option<&'a str>; 32],
}

impl<'a> Effective<'a> {
    fn get(&self, name: &str) -> &'a str {
        let value = |n: &str| {
            METRICS
                .iter()
                .position(|(k, _)| *k == n)
                .and_then(|i| self.values[i])
                .filter(|v| *v != "X")
        };
        match name {
            "E" => value("E").unwrap_or("A"),
            "CR" | "IR" | "AR" => value(name).unwrap_or("H"),
            _ => {
                let modified = match name {
                    "AV" => "MAV",
                    "AC" => "MAC",
                    "AT" => "MAT",
                    "PR" => "MPR",
                    "UI" => "MUI",
                    "VC" => "MVC",
                    "VI" => "MVI",
                    "VA" => "MVA",
                    "SC" => "MSC",
                    "SI" => "MSI",
                    "SA" => "MSA",
                    _ => "",
                };
                value(modified).or_else(|| value(name)).unwrap_or("N")
            }
        }
    }
}

/// Severity levels of each metric value (distance from the most severe, in tenths).
fn level(metric: &str, value: &str) -> f64 {
    match (metric, value) {
        ("AV", "N") | ("PR", "N") | ("UI", "N") | ("AC", "L") | ("AT", "N") => 0.0,
        ("AV", "A") | ("PR", "L") | ("UI", "P") | ("AC", "H") | ("AT", "P") => 0.1,
        ("AV", "L") | ("PR", "H") | ("UI", "A") => 0.2,
        ("AV", "P") => 0.3,
        ("VC" | "VI" | "VA", "H") => 0.0,
        ("VC" | "VI" | "VA", "L") => 0.1,
        ("VC" | "VI" | "VA", "N") => 0.2,
        ("SI" | "SA", "S") => 0.0,
        ("SC" | "SI" | "SA", "H") => 0.1,
        ("SC" | "SI" | "SA", "L") => 0.2,
        ("SC" | "SI" | "SA", "N") => 0.3,
        ("CR" | "IR" | "AR", "H") => 0.0,
        ("CR" | "IR" | "AR", "M") => 0.1,
        ("CR" | "IR" | "AR", "L") => 0.2,
        _ => 0.0,
    }
}

/// Highest-severity vectors of each EQ level, as (metric, value) lists.
type MaxVector = &'static [(&'static str, &'static str)];

const EQ1_MAX: [&[MaxVector]; 3] = [
    &[&[("AV", "N"), ("PR", "N"), ("UI", "N")]],
    &[
        &[("AV", "A"), ("PR", "N"), ("UI", "N")],
        &[("AV", "N"), ("PR", "L"), ("UI", "N")],
        &[("AV", "N"), ("PR", "N"), ("UI", "P")],
    ],
    &[
        &[("AV", "P"), ("PR", "N"), ("UI", "N")],
        &[("AV", "A"), ("PR", "L"), ("UI", "P")],
    ],
];

const EQ2_MAX: [&[MaxVector]; 2] = [
    &[&[("AC", "L"), ("AT", "N")]],
    &[&[("AC", "H"), ("AT", "N")], &[("AC", "L"), ("AT", "P")]],
];

macro_rules! cia_req {
    ($vc:literal, $vi:literal, $va:literal, $cr:literal, $ir:literal, $ar:literal) => {
        &[
            ("VC", $vc),
            ("VI", $vi),
            ("VA", $va),
            ("CR", $cr),
            ("IR", $ir),
            ("AR", $ar),
        ]
    };
}

/// Indexed by [eq3][eq6].
const EQ3_EQ6_MAX: [[&[MaxVector]; 2]; 3] = [
    [
        &[cia_req!("H", "H", "H", "H", "H", "H")],
        &[
            cia_req!("H", "H", "L", "M", "M", "H"),
            cia_req!("H", "H", "H", "M", "M", "M"),
        ],
    ],
    [
        &[
            cia_req!("L", "H", "H", "H", "H", "H"),
            cia_req!("H", "L", "H", "H", "H", "H"),
        ],
        &[
            cia_req!("L", "H", "L", "H", "M", "H"),
            cia_req!("L", "H", "H", "H", "M", "M"),
            cia_req!("H", "L", "H", "M", "H", "M"),
            cia_req!("H", "L", "L", "M", "H", "H"),
            cia_req!("L", "L", "H", "H", "H", "M"),
        ],
    ],
    [&[], &[cia_req!("L", "L", "L", "H", "H", "H")]],
];

const EQ4_MAX: [&[MaxVector]; 3] = [
    &[&[("SC", "H"), ("SI", "S"), ("SA", "S")]],
    &[&[("SC", "H"), ("SI", "H"), ("SA", "H")]],
    &[&[("SC", "L"), ("SI", "L"), ("SA", "L")]],
];

/// Depth of each MacroVector (maximal severity distance + 1), in steps of 0.1.
const EQ1_DEPTH: [f64; 3] = [1.0, 4.0, 5.0];
const EQ2_DEPTH: [f64; 2] = [1.0, 2.0];
const EQ3_EQ6_DEPTH: [[f64; 2]; 3] = [[7.0, 6.0], [8.0, 8.0], [0.0, 10.0]];
const EQ4_DEPTH: [f64; 3] = [6.0, 5.0, 4.0];

pub(super) fn score(vector: &str, metrics: &str) -> Result<f64, CvssError> {
    let values = parse_metrics::<32>(vector, metrics, &METRICS)?;
    if let Some(missing) = (0..BASE).find(|&i| values[i].is_none()) {
        return Err(CvssError::new(
            vector,
            format!("base metric {} missing", METRICS[missing].0),
        ));
    }
    let m = Effective { values };
    let get = |n: &str| m.get(n);

    if ["VC", "VI", "VA", "SC", "SI", "SA"]
        .iter()
        .all(|n| get(n) == "N")
    {
        return Ok(0.0);
    }

    let (av, pr, ui) = (get("AV"), get("PR"), get("UI"));
    let eq1 = if av == "N" && pr == "N" && ui == "N" {
        0
    } else if (av == "N" || pr == "N" || ui == "N") && av != "P" {
        1
    } else {
        2
    };
    let eq2 = usize::from(!(get("AC") == "L" && get("AT") == "N"));
    let (vc, vi, va) = (get("VC"), get("VI"), get("VA"));
    let eq3 = if vc == "H" && vi == "H" {
        0
    } else if vc == "H" || vi == "H" || va == "H" {
        1
    } else {
        2
    };
    let eq4 = if get("SI") == "S" || get("SA") == "S" {
        0
    } else if get("SC") == "H" || get("SI") == "H" || get("SA") == "H" {
        1
    } else {
        2
    };
    let eq5 = match get("E") {
        "A" => 0,
        "P" => 1,
        _ => 2,
    };
    let eq6 = usize::from(
        !((get("CR") == "H" && vc == "H")
            || (get("IR") == "H" && vi == "H")
            || (get("AR") == "H" && va == "H")),
    );
    let macro_vector = [eq1, eq2, eq3, eq4, eq5, eq6];
    let Some(value) = lookup(macro_vector) else {
        return Err(CvssError::new(
            vector,
            "MacroVector missing from the specification's table",
        ));
    };

    let lower = |eq: usize, by: usize| {
        let mut next = macro_vector;
        next[eq] += by;
        lookup(next)
    };
    let eq1_lower = lower(0, 1);
    let eq2_lower = lower(1, 1);
    let eq3_eq6_lower = match (eq3, eq6) {
        (0, 0) => {
            // Two ways down; the higher-scoring one counts.
            match (lower(5, 1), lower(2, 1)) {
                (Some(l), Some(r)) => Some(if l > r { l } else { r }),
                (l, r) => l.or(r),
            }
        }
        (1, 0) => lower(5, 1),
        (0 | 1, 1) => lower(2, 1),
        _ => None,
    };
    let eq4_lower = lower(3, 1);
    let eq5_lower = lower(4, 1);

    // Distances from the first highest-severity vector that the vector does not exceed.
    let maxes = EQ1_MAX[eq1].iter().flat_map(|a| {
        EQ2_MAX[eq2].iter().flat_map(move |b| {
            EQ3_EQ6_MAX[eq3][eq6]
                .iter()
                .flat_map(move |c| EQ4_MAX[eq4].iter().map(move |d| [*a, *b, *c, *d]))
        })
    });
    let distances = |max: &[MaxVector; 4]| {
        let mut d = [[0.0f64; 6]; 4];
        for (group, list) in max.iter().enumerate() {
            for (k, (metric, max_value)) in list.iter().enumerate() {
                d[group][k] = level(metric, get(metric)) - level(metric, max_value);
            }
        }
        d
    };
    let mut chosen = None;
    for max in maxes {
        let d = distances(&max);
        let fits = d.iter().flatten().all(|x| *x >= 0.0);
        chosen = Some(d);
        if fits {
            break;
        }
    }
    let Some(d) = chosen else {
        return Err(CvssError::new(
            vector,
            "no highest-severity vector for its MacroVector",
        ));
    };
    let sum = |g: usize, n: usize| d[g][..n].iter().fold(0.0, |acc, x| acc + x);
    let current = [sum(0, 3), sum(1, 2), sum(2, 6), sum(3, 3)];

    let step = 0.1;
    let depths = [
        EQ1_DEPTH[eq1] * step,
        EQ2_DEPTH[eq2] * step,
        EQ3_EQ6_DEPTH[eq3][eq6] * step,
        EQ4_DEPTH[eq4] * step,
    ];
    let lowers = [eq1_lower, eq2_lower, eq3_eq6_lower, eq4_lower];
    let mut existing = 0u32;
    let mut total = 0.0;
    for i in 0..4 {
        if let Some(lower_score) = lowers[i] {
            existing += 1;
            total += (value - lower_score) * (current[i] / depths[i]);
        }
    }
    // EQ5 has no distance inside a MacroVector but still counts towards the mean.
    if eq5_lower.is_some() {
        existing += 1;
    }
    let mean = if existing == 0 {
        0.0
    } else {
        total / f64::from(existing)
    };
    let adjusted = (value - mean).clamp(0.0, 10.0);
    Ok((adjusted * 10.0).round() / 10.0)
}

#[cfg(test)]
mod tests {
    use crate::cvss::score;

    #[test]
    fn published_scores() {
        for (vector, expected) in [
            (
                "CVSS:4.0/AV:N/AC:L/AT:N/PR:N/UI:N/VC:H/VI:H/VA:H/SC:H/SI:H/SA:H",
                10.0,
            ),
            (
                "CVSS:4.0/AV:N/AC:L/AT:N/PR:N/UI:N/VC:H/VI:H/VA:H/SC:N/SI:N/SA:N",
                9.3,
            ),
            (
                "CVSS:4.0/AV:N/AC:L/AT:N/PR:N/UI:N/VC:L/VI:L/VA:L/SC:N/SI:N/SA:N",
                6.9,
            ),
            (
                "CVSS:4.0/AV:N/AC:L/AT:N/PR:N/UI:N/VC:N/VI:N/VA:H/SC:N/SI:N/SA:N",
                8.7,
            ),
            (
                "CVSS:4.0/AV:L/AC:L/AT:N/PR:L/UI:N/VC:H/VI:H/VA:H/SC:N/SI:N/SA:N",
                8.5,
            ),
            (
                // Typical cross-site scripting (user interaction: active).
                "CVSS:4.0/AV:N/AC:L/AT:N/PR:N/UI:A/VC:N/VI:N/VA:N/SC:L/SI:L/SA:N",
                5.1,
            ),
            (
                "CVSS:4.0/AV:N/AC:L/AT:N/PR:N/UI:N/VC:N/VI:N/VA:N/SC:N/SI:N/SA:N",
                0.0,
            ),
        ] {
            assert_eq!(score(vector).unwrap().score, expected, "{vector}");
        }
    }

    #[test]
    fn threat_metric_lowers_the_score() {
        let base = "CVSS:4.0/AV:N/AC:L/AT:N/PR:N/UI:N/VC:H/VI:H/VA:H/SC:N/SI:N/SA:N";
        let unreported = format!("{base}/E:U");
        assert!(score(&unreported).unwrap().score < score(base).unwrap().score);
        assert_eq!(score(&format!("{base}/E:X")).unwrap().score, 9.3);
    }

    #[test]
    fn every_macro_vector_scores_within_bounds() {
        // Exhaustive over the base metrics: 4*2*2*3*3*3^6 = 104,976 vectors.
        let values = |m: &str| -> &'static [&'static str] {
            super::METRICS
                .iter()
                .find(|(k, _)| *k == m)
                .map(|(_, v)| *v)
                .unwrap_or(&[])
        };
        let names = [
            "AV", "AC", "AT", "PR", "UI", "VC", "VI", "VA", "SC", "SI", "SA",
        ];
        let sizes: Vec<usize> = names.iter().map(|n| values(n).len()).collect();
        let total: usize = sizes.iter().product();
        for mut i in 0..total {
            let mut vector = String::from("CVSS:4.0");
            for (n, size) in names.iter().zip(&sizes) {
                vector.push_str(&format!("/{n}:{}", values(n)[i % size]));
                i /= size;
            }
            let s = score(&vector).unwrap().score;
            assert!((0.0..=10.0).contains(&s), "{vector} scored {s}");
        }
    }
}
