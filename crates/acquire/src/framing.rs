//! A guard in front of the tar reader for the records it buffers whole.
//!
//! The `tar` crate reads GNU long-name (`L`) and long-link (`K`) records and PAX extended
//! headers (`x`) into memory in full before it returns the entry they describe, whatever
//! size their header claims: a 1 MB gzip stream can declare a gigabyte-long name. This
//! reader follows the tar framing as the bytes pass (512-byte headers, data padded to
//! 512, PAX `size` overrides, GNU sparse extension blocks — the same rules the crate
//! applies) and fails the stream at the header of an extension record larger than the
//! limit, before the crate reads a byte of its data.

use std::io::{self, Read};

const BLOCK: u64 = 512;

/// An extension record over the limit, raised through the tar reader as an I/O error.
#[derive(Debug)]
pub struct RecordTooLarge {
    pub record: &'static str,
    /// Byte offset of the record's header in the uncompressed layer.
    pub offset: u64,
    pub size: u64,
    pub limit: u64,
}

impl std::fmt::Display for RecordTooLarge {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "the {} at byte {} of the layer declares {} bytes, limit {}",
            self.record,
            self.offset,
            crate::budget::grouped(self.size),
            crate::budget::grouped(self.limit)
        )
    }
}
impl std::error::Error for RecordTooLarge {}

/// Where in the framing the next byte is.
#[derive(Debug)]
enum State {
    /// Collecting the 512-byte header that starts at this offset.
    Header(u64),
    /// Collecting a GNU sparse extension block; the entry's data (of the given size)
    /// follows the last one.
    SparseExt { at: u64, data: u64 },
    /// Collecting a PAX record (already checked against the limit) up to `end`; the
    /// next header is at `next`.
    Pax { end: u64, next: u64 },
    /// Data that needs no inspection, up to the next header.
    Skip(u64),
    /// End of archive, or framing the tar reader will reject anyway: pass bytes through.
    Done,
}

pub struct ExtensionGuard<R> {
    inner: R,
    limit: u64,
    pos: u64,
    state: State,
    block: Vec<u8>,
    pax: Vec<u8>,
    /// The size a pending PAX record gives the next entry (it overrides the header's).
    pax_size: Option<u64>,
}

impl<R: Read> ExtensionGuard<R> {
    pub fn new(inner: R, limit: u64) -> Self {
        ExtensionGuard {
            inner,
            limit,
            pos: 0,
            state: State::Header(0),
            block: Vec::with_capacity(BLOCK as usize),
            pax: Vec::new(),
            pax_size: None,
        }
    }

    /// Feeds the bytes `data`, which start at offset `self.pos`, through the state machine.
    fn inspect(&mut self, mut data: &[u8]) -> Result<(), RecordTooLarge> {
        while !data.is_empty() {
            let at = self.pos;
            let take = match self.state {
                State::Done => return Ok(()),
                State::Skip(next) => {
                    let n = (next - at).min(data.len() as u64) as usize;
                    if at + n as u64 == next {
                        self.state = State::Header(next);
                    }
                    n
                }
                State::Pax { end, next } => {
                    let n = (end - at).min(data.len() as u64) as usize;
                    self.pax.extend_from_slice(&data[..n]);
                    if at + n as u64 == end {
                        self.pax_size = pax_size(&self.pax);
                        self.pax = Vec::new();
                        self.state = if end == next {
                            State::Header(next)
                        } else {
                            State::Skip(next)
                        };
                    }
                    n
                }
                State::Header(_) | State::SparseExt { .. } => {
                    let n = (BLOCK as usize - self.block.len()).min(data.len());
                    self.block.extend_from_slice(&data[..n]);
                    if self.block.len() == BLOCK as usize {
                        let block = std::mem::take(&mut self.block);
                        self.on_block(&block)?;
                        self.block = block;
                        self.block.clear();
                    }
                    n
                }
            };
            self.pos += take as u64;
            data = &data[take..];
        }
        Ok(())
    }

    /// A complete header or sparse extension block has arrived; `self.pos` is not yet
    /// advanced past the bytes that completed it, so positions come from the state.
    fn on_block(&mut self, block: &[u8]) -> Result<(), RecordTooLarge> {
        match self.state {
            State::Header(at) => self.state = self.on_header(at, block)?,
            State::SparseExt { at, data } => {
                let end = at + BLOCK;
                self.state = if block[504] != 0 {
                    State::SparseExt { at: end, data }
                } else {
                    skip_to(end, end.checked_add(padded(data)))
                };
            }
            _ => unreachable!("only headers and sparse blocks are collected"),
        }
        Ok(())
    }

    fn on_header(&mut self, at: u64, block: &[u8]) -> Result<State, RecordTooLarge> {
        if block.iter().all(|&b| b == 0) {
            return Ok(State::Done);
        }
        let header = tar::Header::from_byte_slice(block);
        let Ok(size) = header.entry_size() else {
            return Ok(State::Done);
        };
        let data_start = at + BLOCK;
        let record = match block[156] {
            b'L' => Some("GNU long-name record"),
            b'K' => Some("GNU long-link record"),
            b'x' => Some("PAX extended header"),
            b'g' => Some("PAX global header"),
            _ => None,
        };
        let Some(record) = record else {
            // An entry: a pending PAX size overrides its header's, as the tar crate does.
            let size = self.pax_size.take().unwrap_or(size);
            if header.entry_type().is_gnu_sparse()
                && header.as_gnu().is_some_and(|g| g.is_extended())
            {
                return Ok(State::SparseExt {
                    at: data_start,
                    data: size,
                });
            }
            return Ok(skip_to(data_start, data_start.checked_add(padded(size))));
        };
        if size > self.limit {
            return Err(RecordTooLarge {
                record,
                offset: at,
                size,
                limit: self.limit,
            });
        }
        let next = data_start.checked_add(padded(size));
        let recognized = header.as_gnu().is_some() || header.as_ustar().is_some();
        match block[156] {
            // The tar crate keeps these pending for the entry they describe.
            b'L' | b'K' if recognized => {}
            b'x' if recognized => {
                let Some(next) = next else {
                    return Ok(State::Done);
                };
                self.pax = Vec::with_capacity(size as usize);
                return Ok(if size == 0 {
                    self.pax_size = None;
                    skip_to(data_start, Some(next))
                } else {
                    State::Pax {
                        end: data_start + size,
                        next,
                    }
                });
            }
            // Returned to the caller as an entry of its own: a pending PAX record is
            // used up by it.
            _ => self.pax_size = None,
        }
        Ok(skip_to(data_start, next))
    }
}

/// The next state after a header whose data runs from `from` to `next`.
fn skip_to(from: u64, next: Option<u64>) -> State {
    match next {
        Some(next) if next == from => State::Header(next),
        Some(next) => State::Skip(next),
        None => State::Done,
    }
}

/// `size` rounded up to whole blocks (saturating: an absurd size ends the framing).
fn padded(size: u64) -> u64 {
    size.checked_add(BLOCK - 1)
        .map_or(u64::MAX - BLOCK, |s| s & !(BLOCK - 1))
}

/// The `size` key of a PAX record, read as the tar crate reads it (first key wins, an
/// unparsable record gives no size).
fn pax_size(record: &[u8]) -> Option<u64> {
    for ext in tar::PaxExtensions::new(record) {
        let ext = ext.ok()?;
        if ext.key() == Ok("size") {
            return ext.value().ok()?.parse().ok();
        }
    }
    None
}

impl<R: Read> Read for ExtensionGuard<R> {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        let n = self.inner.read(buf)?;
        self.inspect(&buf[..n]).map_err(io::Error::other)?;
        Ok(n)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn long_name_tar(name_len: usize, file: &[u8]) -> Vec<u8> {
        let mut b = tar::Builder::new(Vec::new());
        let mut h = tar::Header::new_gnu();
        h.set_size(file.len() as u64);
        h.set_mode(0o644);
        let name = "a/".repeat(name_len / 2) + "f";
        b.append_data(&mut h, name, file).unwrap();
        b.into_inner().unwrap()
    }

    fn read_all_guarded(tar: &[u8], limit: u64, chunk: usize) -> io::Result<Vec<String>> {
        struct Chunked<'a>(&'a [u8], usize);
        impl Read for Chunked<'_> {
            fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
                let n = self.1.min(buf.len()).min(self.0.len());
                buf[..n].copy_from_slice(&self.0[..n]);
                self.0 = &self.0[n..];
                Ok(n)
            }
        }
        let mut archive = tar::Archive::new(ExtensionGuard::new(Chunked(tar, chunk), limit));
        let mut names = Vec::new();
        for entry in archive.entries()? {
            names.push(String::from_utf8_lossy(&entry?.path_bytes()).into_owned());
        }
        Ok(names)
    }

    #[test]
    fn records_within_the_limit_pass_in_any_chunking() {
        let tar = long_name_tar(3000, b"hello");
        for chunk in [1, 7, 512, 513, 1 << 16] {
            let names = read_all_guarded(&tar, 4096, chunk).unwrap();
            assert_eq!(names.len(), 1);
            assert_eq!(names[0].len(), 3001);
        }
    }

    #[test]
    fn a_record_over_the_limit_fails_at_its_header() {
        let tar = long_name_tar(3000, b"hello");
        let err = read_all_guarded(&tar, 1000, 512).unwrap_err();
        assert!(
            err.to_string().contains("GNU long-name record at byte 0"),
            "{err}"
        );
    }
}
