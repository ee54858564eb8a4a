//! Bounds applied to every byte stream a feed delivers, so a hostile or broken feed
//! cannot exhaust memory or disk, and the tolerance for individually bad records.

use std::io::{self, Read};

/// A reader that fails (instead of silently truncating) once more than `limit` bytes
/// have been read through it.
pub struct CappedReader<R> {
    inner: R,
    remaining: u64,
    limit: u64,
}

impl<R: Read> CappedReader<R> {
    pub fn new(inner: R, limit: u64) -> Self {
        CappedReader {
            inner,
            remaining: limit,
            limit,
        }
    }
}

impl<R: Read> Read for CappedReader<R> {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        if self.remaining == 0 {
            // One probe byte tells a stream that ends exactly at the limit from one that
            // goes on past it.
            let mut probe = [0u8; 1];
            return match self.inner.read(&mut probe)? {
                0 => Ok(0),
                _ => Err(io::Error::new(
                    io::ErrorKind::InvalidData,
                    format!("more than {} bytes (the size limit)", self.limit),
                )),
            };
        }
        let max = buf
            .len()
            .min(usize::try_from(self.remaining).unwrap_or(usize::MAX));
        let n = self.inner.read(&mut buf[..max])?;
        self.remaining -= n as u64;
        Ok(n)
    }
}

/// Records of a feed that could not be used: counted, a few named for the report.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct BadRecords {
    pub count: usize,
    /// The first few, as "name: reason".
    pub examples: Vec<String>,
}

/// How many bad records are named in a report.
const MAX_EXAMPLES: usize = 5;

impl BadRecords {
    pub fn push(&mut self, name: &str, reason: &str) {
        self.count += 1;
        if self.examples.len() < MAX_EXAMPLES {
            let mut reason = reason.to_owned();
            truncate_on_char_boundary(&mut reason, 300);
            self.examples.push(format!("{name}: {reason}"));
        }
    }

    pub fn merge(&mut self, other: BadRecords) {
        self.count += other.count;
        let room = MAX_EXAMPLES.saturating_sub(self.examples.len());
        self.examples.extend(other.examples.into_iter().take(room));
    }

    /// Whether the bad share stays within `max_fraction` of all records seen. A feed
    /// with only bad records is never tolerated.
    pub fn tolerated(&self, total: usize, max_fraction: f64) -> bool {
        if self.count == 0 {
            return true;
        }
        if self.count >= total {
            return false;
        }
        (self.count as f64) <= (total as f64) * max_fraction
    }
}

pub(crate) fn truncate_on_char_boundary(s: &mut String, max: usize) {
    if s.len() > max {
        let mut cut = max;
        while !s.is_char_boundary(cut) {
            cut -= 1;
        }
        s.truncate(cut);
        s.push('…');
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn capped_reader_allows_exact_limit_and_fails_beyond() {
        let mut out = Vec::new();
        CappedReader::new(&b"12345"[..], 5)
            .read_to_end(&mut out)
            .unwrap();
        assert_eq!(out, b"12345");
        let err = CappedReader::new(&b"123456"[..], 5)
            .read_to_end(&mut Vec::new())
            .unwrap_err();
        assert!(err.to_string().contains("more than 5 bytes"), "{err}");
    }

    #[test]
    fn tolerance_is_a_share_and_never_all() {
        let mut bad = BadRecords::default();
        bad.push("a.json", "broken");
        assert!(bad.tolerated(100, 0.01));
        assert!(!bad.tolerated(50, 0.01));
        assert!(!bad.tolerated(1, 1.0));
        for i in 0..10 {
            bad.push(&format!("{i}.json"), "broken");
        }
        assert_eq!(bad.count, 11);
        assert_eq!(bad.examples.len(), MAX_EXAMPLES);
    }
}
