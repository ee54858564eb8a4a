//! Bounded reading of hostile bytes: whole files up to a cap, and lines up to a cap.

use std::io::{BufRead, Read};

/// Why an OS file could not be cataloged. The cataloger prefixes the file's path.
#[derive(Debug, thiserror::Error)]
pub enum ParseError {
    #[error("reading failed: {0}")]
    Io(#[from] std::io::Error),
    #[error("larger than the {limit}-byte limit for this kind of file")]
    TooLarge { limit: u64 },
    #[error("more than {limit} {what}: refusing to go on")]
    TooMany { what: &'static str, limit: usize },
    #[error("{0}")]
    Malformed(String),
}

pub(crate) fn malformed(message: impl Into<String>) -> ParseError {
    ParseError::Malformed(message.into())
}

/// Reads all of `content` if it is at most `limit` bytes, reading `limit + 1` bytes at
/// most to find out.
pub(crate) fn read_capped(content: &mut dyn Read, limit: u64) -> Result<Vec<u8>, ParseError> {
    let mut buf = Vec::new();
    content.take(limit + 1).read_to_end(&mut buf)?;
    if buf.len() as u64 > limit {
        return Err(ParseError::TooLarge { limit });
    }
    Ok(buf)
}

/// One line from [`read_line`].
#[derive(Debug, PartialEq, Eq)]
pub(crate) enum Line {
    /// A line (without its `\n`) is in the buffer.
    Text,
    /// The line was longer than the cap; it was skipped up to its end.
    TooLong,
    Eof,
}

/// Reads one line into `buf` (cleared first) without ever holding more than `max` bytes
/// of it: the rest of an over-long line is read and dropped.
pub(crate) fn read_line(
    reader: &mut impl BufRead,
    buf: &mut Vec<u8>,
    max: usize,
) -> std::io::Result<Line> {
    buf.clear();
    let mut too_long = false;
    let mut saw_any = false;
    loop {
        let chunk = reader.fill_buf()?;
        if chunk.is_empty() {
            return Ok(if too_long {
                Line::TooLong
            } else if saw_any {
                Line::Text
            } else {
                Line::Eof
            });
        }
        saw_any = true;
        let (part, done) = match chunk.iter().position(|&b| b == b'\n') {
            Some(i) => (&chunk[..i], Some(i + 1)),
            None => (chunk, None),
        };
        if !too_long {
            if buf.len() + part.len() > max {
                too_long = true;
                buf.clear();
            } else {
                buf.extend_from_slice(part);
            }
        }
        let used = done.unwrap_or(chunk.len());
        reader.consume(used);
        if done.is_some() {
            if buf.last() == Some(&b'\r') && !too_long {
                buf.pop();
            }
            return Ok(if too_long { Line::TooLong } else { Line::Text });
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::io::BufReader;

    #[test]
    fn long_lines_are_skipped_not_buffered() {
        let mut text = b"short\n".to_vec();
        text.extend(std::iter::repeat_n(b'x', 10_000));
        text.extend_from_slice(b"\nlast");
        let mut reader = BufReader::with_capacity(64, text.as_slice());
        let mut buf = Vec::new();
        assert_eq!(read_line(&mut reader, &mut buf, 100).unwrap(), Line::Text);
        assert_eq!(buf, b"short");
        assert_eq!(
            read_line(&mut reader, &mut buf, 100).unwrap(),
            Line::TooLong
        );
        assert!(buf.capacity() <= 200);
        assert_eq!(read_line(&mut reader, &mut buf, 100).unwrap(), Line::Text);
        assert_eq!(buf, b"last");
        assert_eq!(read_line(&mut reader, &mut buf, 100).unwrap(), Line::Eof);
    }

    #[test]
    fn capped_read_refuses_endless_input() {
        let mut endless = std::io::repeat(0);
        assert!(matches!(
            read_capped(&mut endless, 1000),
            Err(ParseError::TooLarge { limit: 1000 })
        ));
    }
}
