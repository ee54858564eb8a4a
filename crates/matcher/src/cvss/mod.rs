//! CVSS base scores from vector strings: v3.0 and v3.1 by the specification's
//! formulas, v4.0 by the MacroVector lookup table and the severity-distance refinement
//! of the FIRST specification (section 8.2).

mod v3;
mod v4;

/// Longest vector accepted; a full v4.0 vector with every optional metric is under
/// 200 bytes.
const MAX_VECTOR_LEN: usize = 512;

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum CvssVersion {
    V3_0,
    V3_1,
    V4_0,
}

/// A computed score, rounded to one decimal as the specifications require.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct CvssScore {
    pub version: CvssVersion,
    pub score: f64,
}

#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
#[error("invalid CVSS vector {vector:?}: {reason}")]
pub struct CvssError {
    pub vector: String,
    pub reason: String,
}

impl CvssError {
    pub(crate) fn new(vector: &str, reason: impl Into<String>) -> Self {
        let mut end = vector.len().min(200);
        while !vector.is_char_boundary(end) {
            end -= 1;
        }
        CvssError {
            vector: vector[..end].to_owned(),
            reason: reason.into(),
        }
    }
}

/// Computes the score of a `CVSS:3.0/…`, `CVSS:3.1/…` or `CVSS:4.0/…` vector. For v3
/// this is the base score (temporal and environmental metrics are validated but do
/// not change it); for v4 threat and environmental metrics that are present take part,
/// as the v4 specification defines a single score over whatever metrics are given.
pub fn score(vector: &str) -> Result<CvssScore, CvssError> {
    if vector.len() > MAX_VECTOR_LEN {
        return Err(CvssError::new(vector, "longer than 512 bytes"));
    }
    let (version, metrics) = if let Some(rest) = vector.strip_prefix("CVSS:3.0/") {
        (CvssVersion::V3_0, rest)
    } else if let Some(rest) = vector.strip_prefix("CVSS:3.1/") {
        (CvssVersion::V3_1, rest)
    } else if let Some(rest) = vector.strip_prefix("CVSS:4.0/") {
        (CvssVersion::V4_0, rest)
    } else {
        return Err(CvssError::new(
            vector,
            "does not start with CVSS:3.0/, CVSS:3.1/ or CVSS:4.0/",
        ));
    };
    let score = match version {
        CvssVersion::V3_0 | CvssVersion::V3_1 => v3::base_score(vector, metrics, version)?,
        CvssVersion::V4_0 => v4::score(vector, metrics)?,
    };
    Ok(CvssScore { version, score })
}

/// Splits `AA:x/BB:y` into (metric, value) pairs, rejecting empty or malformed pieces
/// and repeated metrics. `known` lists every metric the version defines, with its
/// allowed values.
pub(crate) fn parse_metrics<'a, const N: usize>(
    vector: &str,
    metrics: &'a str,
    known: &[(&str, &[&str])],
) -> Result<[Option<&'a str>; N], CvssError> {
    debug_assert_eq!(known.len(), N);
    let mut values: [Option<&str>; N] = [None; N];
    for piece in metrics.split('/') {
        let Some((name, value)) = piece.split_once(':') else {
            return Err(CvssError::new(
                vector,
                format!("{piece:?} is not METRIC:VALUE"),
            ));
        };
        let Some(index) = known.iter().position(|(k, _)| *k == name) else {
            return Err(CvssError::new(vector, format!("unknown metric {name:?}")));
        };
        if !known[index].1.contains(&value) {
            return Err(CvssError::new(
                vector,
                format!("{value:?} is not a value of {name}"),
            ));
        }
        if values[index].replace(value).is_some() {
            return Err(CvssError::new(vector, format!("metric {name} given twice")));
        }
    }
    Ok(values)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rejects_malformed_vectors() {
        for bad in [
            "",
            "AV:N/AC:L/PR:N/UI:N/S:U/C:H/I:H/A:H",
            "CVSS:2.0/AV:N/AC:L/Au:N/C:P/I:P/A:P",
            "CVSS:3.1/AV:N/AC:L/PR:N/UI:N/S:U/C:H/I:H",
            "CVSS:3.1/AV:N/AC:L/PR:N/UI:N/S:U/C:H/I:H/A:H/A:H",
            "CVSS:3.1/AV:X/AC:L/PR:N/UI:N/S:U/C:H/I:H/A:H",
            "CVSS:3.1/AV:N/AC:L/PR:N/UI:N/S:U/C:H/I:H/A:H/",
            "CVSS:3.1/AV:N/AC:L/PR:N/UI:N/S:U/C:H/I:H/A:H/ZZ:1",
            "CVSS:4.0/AV:N/AC:L/AT:N/PR:N/UI:N/VC:H/VI:H/VA:H/SC:N/SI:N",
            "CVSS:4.0/AV:N/AC:L/AT:N/PR:N/UI:N/VC:H/VI:H/VA:H/SC:N/SI:S/SA:N",
            "CVSS:4.0/AV:N/AC:L/AT:N/PR:N/UI:N/VC:H/VI:H/VA:H/SC:N/SI:N/SA:N/E:Q",
        ] {
            assert!(score(bad).is_err(), "{bad:?}");
        }
        let long = format!("CVSS:3.1/{}", "AV:N/".repeat(200));
        let err = score(&long).unwrap_err();
        assert!(err.vector.len() <= 200);
    }
}
