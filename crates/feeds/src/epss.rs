//! FIRST's EPSS scores (`epss_scores-current.csv.gz`): an optional
//! `#model_version:...,score_date:...` line, a `cve,epss,percentile` header, then rows.

use std::io::{BufRead, BufReader, Read};

use crowsnest_model::intel::EpssScore;

use crate::kev::is_cve_id;
use crate::limits::{BadRecords, CappedReader};

#[derive(Debug, thiserror::Error)]
pub enum EpssError {
    #[error("reading the gzip stream failed (truncated or corrupt?): {0}")]
    Read(#[from] std::io::Error),
    #[error("line {line} is longer than {max} bytes")]
    LineTooLong { line: usize, max: usize },
    #[error("no `cve,epss,percentile` header before the first score")]
    MissingHeader,
    #[error("more than {max} rows")]
    TooManyRows { max: usize },
}

#[derive(Debug, Default)]
pub struct EpssFile {
    pub model_version: Option<String>,
    pub score_date: Option<String>,
    pub scores: Vec<(String, f64, f64)>,
    pub bad: BadRecords,
}

impl EpssFile {
    pub fn to_model(&self, (cve, epss, percentile): &(String, f64, f64)) -> EpssScore {
        EpssScore {
            cve: cve.clone(),
            epss: *epss,
            percentile: *percentile,
            model_version: self.model_version.clone(),
            score_date: self.score_date.clone(),
        }
    }
}

#[derive(Clone, Copy, Debug)]
pub struct EpssLimits {
    pub max_uncompressed_bytes: u64,
    pub max_rows: usize,
}

impl Default for EpssLimits {
    fn default() -> Self {
        // The real file holds ~300k rows, ~10 MiB uncompressed.
        EpssLimits {
            max_uncompressed_bytes: 1 << 30,
            max_rows: 10_000_000,
        }
    }
}

const MAX_LINE: usize = 1024;

/// Reads a gzip-compressed EPSS file. A truncated or corrupt gzip stream is an error
/// (the gzip trailer's CRC and length are checked at the end of the stream).
pub fn parse_epss_gz(reader: impl Read, limits: &EpssLimits) -> Result<EpssFile, EpssError> {
    let gz = flate2::read::MultiGzDecoder::new(reader);
    parse_epss_csv(CappedReader::new(gz, limits.max_uncompressed_bytes), limits)
}

/// Reads the uncompressed CSV.
pub fn parse_epss_csv(reader: impl Read, limits: &EpssLimits) -> Result<EpssFile, EpssError> {
    let mut reader = BufReader::new(reader);
    let mut file = EpssFile::default();
    let mut line = Vec::with_capacity(64);
    let mut seen_header = false;
    let mut line_no = 0usize;
    loop {
        line.clear();
        line_no += 1;
        let n = (&mut reader)
            .take(MAX_LINE as u64 + 1)
            .read_until(b'\n', &mut line)?;
        if n == 0 {
            break;
        }
        if line.len() > MAX_LINE {
            return Err(EpssError::LineTooLong {
                line: line_no,
                max: MAX_LINE,
            });
        }
        let text = String::from_utf8_lossy(&line);
        let text = text.trim_end_matches(['\n', '\r']);
        if text.is_empty() {
            continue;
        }
        if let Some(comment) = text.strip_prefix('#') {
            for part in comment.split(',') {
                if let Some(v) = part.strip_prefix("model_version:") {
                    file.model_version = Some(v.trim().to_owned());
                } else if let Some(v) = part.strip_prefix("score_date:") {
                    file.score_date = Some(v.trim().to_owned());
                }
            }
            continue;
        }
        if !seen_header {
            if text
                .replace(' ', "")
                .eq_ignore_ascii_case("cve,epss,percentile")
            {
                seen_header = true;
                continue;
            }
            return Err(EpssError::MissingHeader);
        }
        if file.scores.len() >= limits.max_rows {
            return Err(EpssError::TooManyRows {
                max: limits.max_rows,
            });
        }
        match row(text) {
            Ok(score) => file.scores.push(score),
            Err(reason) => file.bad.push(&format!("line {line_no}"), &reason),
        }
    }
    if !seen_header && file.scores.is_empty() {
        return Err(EpssError::MissingHeader);
    }
    Ok(file)
}

fn row(text: &str) -> Result<(String, f64, f64), String> {
    let mut fields = text.split(',');
    let (Some(cve), Some(epss), Some(pct), None) =
        (fields.next(), fields.next(), fields.next(), fields.next())
    else {
        return Err(format!("expected 3 fields: {text:?}"));
    };
    if !is_cve_id(cve) {
        return Err(format!("not a CVE id: {cve:?}"));
    }
    let prob = |s: &str| -> Result<f64, String> {
        let v: f64 = s
            .trim()
            .parse()
            .map_err(|_| format!("not a number: {s:?}"))?;
        if (0.0..=1.0).contains(&v) {
            Ok(v)
        } else {
            Err(format!("{v} is outside 0..1"))
        }
    };
    Ok((cve.to_owned(), prob(epss)?, prob(pct)?))
}

#[cfg(test)]
mod tests {
    use std::io::Write;

    use super::*;

    fn gz(bytes: &[u8]) -> Vec<u8> {
        let mut e = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::default());
        e.write_all(bytes).unwrap();
        e.finish().unwrap()
    }

    const SAMPLE: &[u8] = b"#model_version:v2023.03.01,score_date:2024-01-01T00:00:00+0000\n\
cve,epss,percentile\nCVE-2021-44228,0.97565,0.99996\nCVE-1999-0001,0.01,0.5\n\
CVE-2020-0001,1.5,0.1\nCVE-2020-0002,0.1\n";

    #[test]
    fn parses_model_line_rows_and_bad_rows() {
        let f = parse_epss_gz(&gz(SAMPLE)[..], &EpssLimits::default()).unwrap();
        assert_eq!(f.model_version.as_deref(), Some("v2023.03.01"));
        assert_eq!(f.score_date.as_deref(), Some("2024-01-01T00:00:00+0000"));
        assert_eq!(f.scores.len(), 2);
        assert_eq!(f.scores[0], ("CVE-2021-44228".into(), 0.97565, 0.99996));
        assert_eq!(f.bad.count, 2);
        assert!(f.bad.examples[0].starts_with("line 5: 1.5 is outside"));
    }

    #[test]
    fn truncated_gzip_is_an_error() {
        let mut body = SAMPLE.repeat(50);
        body.splice(0..0, b"cve,epss,percentile\n".iter().copied());
        let whole = gz(&body);
        for cut in [whole.len() - 1, whole.len() - 8, whole.len() / 2, 10] {
            let err = parse_epss_gz(&whole[..cut], &EpssLimits::default());
            assert!(err.is_err(), "cut at {cut} was accepted");
        }
    }

    #[test]
    fn hostile_inputs() {
        assert!(matches!(
            parse_epss_gz(&gz(b"foo,bar\n")[..], &EpssLimits::default()),
            Err(EpssError::MissingHeader)
        ));
        let long = vec![b'a'; 5000];
        assert!(matches!(
            parse_epss_gz(&gz(&long)[..], &EpssLimits::default()),
            Err(EpssError::LineTooLong { .. })
        ));
        let limits = EpssLimits {
            max_uncompressed_bytes: 40,
            max_rows: 10,
        };
        assert!(parse_epss_gz(&gz(SAMPLE)[..], &limits).is_err());
        assert!(parse_epss_gz(&b"\x1f\x8b garbage"[..], &EpssLimits::default()).is_err());
    }
}
