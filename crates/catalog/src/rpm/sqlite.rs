//! A minimal reader for rpm's `rpmdb.sqlite`: finds the `Packages` table in the schema
//! and walks its table b-tree for the header blobs, following overflow chains. Only the
//! parts of the SQLite file format that such a file uses are read (no indexes, no WAL).
//!
//! Facts used (sqlite.org/fileformat.html): a 100-byte file header (page size at 16,
//! reserved bytes per page at 20); b-tree pages with an 8- or 12-byte header (type 0x05
//! interior table, 0x0d leaf table), a cell pointer array, varint-encoded payload sizes
//! and rowids; payload beyond the local maximum continues on a chain of overflow pages.

use crate::read::{ParseError, malformed};
use crate::rpm::{HeaderRecords, MAX_BLOB, MAX_HEADERS};

const MAGIC: &[u8; 16] = b"SQLite format 3\0";
const INTERIOR_TABLE: u8 = 0x05;
const LEAF_TABLE: u8 = 0x0d;

struct Db<'a> {
    bytes: &'a [u8],
    page_size: usize,
    usable: usize,
    pages: usize,
    /// Every page is used at most once per walk: a cycle or shared chain in a hostile
    /// file ends with an error instead of looping or multiplying memory.
    seen: Vec<bool>,
}

fn be16(b: &[u8], at: usize) -> Option<usize> {
    b.get(at..at + 2)
        .map(|s| u16::from_be_bytes([s[0], s[1]]) as usize)
}

fn be32(b: &[u8], at: usize) -> Option<usize> {
    b.get(at..at + 4)
        .map(|s| u32::from_be_bytes([s[0], s[1], s[2], s[3]]) as usize)
}

/// SQLite's varint: 1 to 9 bytes, big-endian, 7 bits per byte except the ninth.
fn varint(b: &[u8], at: usize) -> Option<(u64, usize)> {
    let mut value = 0u64;
    for i in 0..9 {
        let byte = *b.get(at + i)?;
        if i == 8 {
            return Some(((value << 8) | byte as u64, 9));
        }
        value = (value << 7) | (byte & 0x7f) as u64;
        if byte & 0x80 == 0 {
            return Some((value, i + 1));
        }
    }
    None
}

impl<'a> Db<'a> {
    fn open(bytes: &'a [u8]) -> Result<Db<'a>, ParseError> {
        if bytes.len() < 100 || &bytes[..16] != MAGIC {
            return Err(malformed("not an SQLite database (bad magic)"));
        }
        let page_size = match be16(bytes, 16).unwrap_or(0) {
            1 => 65536,
            n if n >= 512 && n.is_power_of_two() => n,
            n => return Err(malformed(format!("invalid SQLite page size {n}"))),
        };
        let usable = page_size - bytes[20] as usize;
        if usable < 480 {
            return Err(malformed(format!(
                "SQLite usable page size {usable} is below 480"
            )));
        }
        let pages = bytes.len() / page_size;
        Ok(Db {
            bytes,
            page_size,
            usable,
            pages,
            seen: vec![false; pages + 1],
        })
    }

    /// Page `n` (1-based), marked as used.
    fn page(&mut self, n: usize) -> Result<&'a [u8], ParseError> {
        if n == 0 || n > self.pages {
            return Err(malformed(format!(
                "page {n} is outside the {}-page file",
                self.pages
            )));
        }
        if std::mem::replace(&mut self.seen[n], true) {
            return Err(malformed(format!(
                "page {n} is referenced twice (cycle or shared page)"
            )));
        }
        Ok(&self.bytes[(n - 1) * self.page_size..n * self.page_size])
    }

    /// Calls `row` with the rowid and full payload of every row in the table b-tree
    /// rooted at `root`.
    fn walk_table(
        &mut self,
        root: usize,
        row: &mut dyn FnMut(u64, Vec<u8>) -> Result<(), ParseError>,
    ) -> Result<(), ParseError> {
        let mut stack = vec![root];
        while let Some(n) = stack.pop() {
            let page = self.page(n)?;
            let at = if n == 1 { 100 } else { 0 };
            let kind = page[at];
            let cells = be16(page, at + 3).unwrap_or(0);
            let header_len = match kind {
                INTERIOR_TABLE => 12,
                LEAF_TABLE => 8,
                other => {
                    return Err(malformed(format!(
                        "page {n} has b-tree type {other:#x}, not a table page"
                    )));
                }
            };
            let pointers = at + header_len;
            if pointers + cells * 2 > self.usable {
                return Err(malformed(format!(
                    "page {n} claims {cells} cells, more than fit"
                )));
            }
            let cell_offset = |i: usize| be16(page, pointers + i * 2).unwrap_or(0);
            if kind == INTERIOR_TABLE {
                let right = be32(page, at + 8).unwrap_or(0);
                stack.push(right);
                // Pushed in reverse so rows come out in rowid order.
                for i in (0..cells).rev() {
                    let child = be32(page, cell_offset(i)).ok_or_else(|| {
                        malformed(format!("page {n} cell {i} is outside the page"))
                    })?;
                    stack.push(child);
                }
                continue;
            }
            for i in 0..cells {
                let (rowid, payload) = self.leaf_cell(page, n, cell_offset(i))?;
                row(rowid, payload)?;
            }
        }
        Ok(())
    }

    fn leaf_cell(
        &mut self,
        page: &'a [u8],
        n: usize,
        at: usize,
    ) -> Result<(u64, Vec<u8>), ParseError> {
        let bad = || malformed(format!("page {n}: cell at offset {at} is malformed"));
        let (size, used) = varint(page, at).ok_or_else(bad)?;
        let (rowid, used2) = varint(page, at + used).ok_or_else(bad)?;
        let size = usize::try_from(size)
            .ok()
            .filter(|s| *s <= MAX_BLOB + 1024)
            .ok_or_else(|| {
                malformed(format!(
                    "page {n}: payload of {size} bytes is over the limit"
                ))
            })?;
        let start = at + used + used2;
        // How much of the payload sits on the leaf page itself (fileformat §1.6).
        let max_local = self.usable - 35;
        let local = if size <= max_local {
            size
        } else {
            let min_local = (self.usable - 12) * 32 / 255 - 23;
            let k = min_local + (size - min_local) % (self.usable - 4);
            if k <= max_local { k } else { min_local }
        };
        let mut payload = Vec::with_capacity(size.min(self.bytes.len()));
        payload.extend_from_slice(page.get(start..start + local).ok_or_else(bad)?);
        if local < size {
            let mut next = be32(page, start + local).ok_or_else(bad)?;
            while payload.len() < size {
                let overflow = self.page(next)?;
                next = be32(overflow, 0).unwrap_or(0);
                let take = (size - payload.len()).min(self.usable - 4);
                payload.extend_from_slice(&overflow[4..4 + take]);
            }
        }
        Ok((rowid, payload))
    }
}

/// The values of a record, as (serial type, bytes) pairs; `None` for columns past the end.
fn record_columns(payload: &[u8]) -> Option<Vec<(u64, &[u8])>> {
    let (header_len, mut at) = varint(payload, 0)?;
    let header_len = usize::try_from(header_len).ok()?;
    let mut body = header_len;
    let mut columns = Vec::new();
    while at < header_len {
        let (serial, used) = varint(payload, at)?;
        at += used;
        let len = match serial {
            0 | 8 | 9 => 0,
            1..=4 => serial as usize,
            5 => 6,
            6 | 7 => 8,
            n if n >= 12 => ((n - 12) / 2) as usize,
            _ => return None,
        };
        columns.push((serial, payload.get(body..body.checked_add(len)?)?));
        body += len;
    }
    Some(columns)
}

fn int_value(serial: u64, bytes: &[u8]) -> Option<u64> {
    match serial {
        8 => Some(0),
        9 => Some(1),
        1..=6 => Some(bytes.iter().fold(0u64, |acc, b| (acc << 8) | *b as u64)),
        _ => None,
    }
}

/// The `(hnum, header blob)` rows of the `Packages` table.
pub fn header_blobs(bytes: &[u8]) -> Result<HeaderRecords, ParseError> {
    let mut db = Db::open(bytes)?;
    let mut root = None;
    db.walk_table(1, &mut |_, payload| {
        if let Some(cols) = record_columns(&payload)
            && let [(_, kind), (_, name), _, (serial, page), ..] = cols.as_slice()
            && *kind == b"table"
            && *name == b"Packages"
        {
            root = int_value(*serial, page);
        }
        Ok(())
    })?;
    let root = root.ok_or_else(|| malformed("no Packages table in the schema"))? as usize;
    let mut blobs = Vec::new();
    db.walk_table(root, &mut |rowid, payload| {
        // Packages(hnum INTEGER PRIMARY KEY, blob BLOB): the blob is the first BLOB column.
        let cols = record_columns(&payload)
            .ok_or_else(|| malformed(format!("row {rowid} of Packages is not a valid record")))?;
        let blob = cols
            .iter()
            .find(|(serial, _)| *serial >= 12 && serial % 2 == 0)
            .ok_or_else(|| malformed(format!("row {rowid} of Packages has no blob")))?;
        blobs.push((rowid, blob.1.to_vec()));
        if blobs.len() > MAX_HEADERS {
            return Err(ParseError::TooMany {
                what: "headers",
                limit: MAX_HEADERS,
            });
        }
        Ok(())
    })?;
    Ok(blobs)
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    #[test]
    fn varints() {
        assert_eq!(varint(&[0x05], 0), Some((5, 1)));
        assert_eq!(varint(&[0x81, 0x00], 0), Some((128, 2)));
        assert_eq!(varint(&[0xff; 9], 0), Some((u64::MAX, 9)));
        assert_eq!(varint(&[0x81], 0), None);
    }

    #[test]
    fn rejects_non_sqlite_and_bad_page_sizes() {
        assert!(header_blobs(b"hello").is_err());
        let mut file = vec![0u8; 4096];
        file[..16].copy_from_slice(MAGIC);
        file[16..18].copy_from_slice(&1000u16.to_be_bytes());
        assert!(
            header_blobs(&file)
                .unwrap_err()
                .to_string()
                .contains("page size")
        );
    }

    #[test]
    fn self_referencing_interior_page_is_an_error_not_a_loop() {
        let mut file = vec![0u8; 1024];
        file[..16].copy_from_slice(MAGIC);
        file[16..18].copy_from_slice(&512u16.to_be_bytes());
        // Page 1: interior table page whose right-most child is page 1 again.
        file[100] = INTERIOR_TABLE;
        file[108..112].copy_from_slice(&1u32.to_be_bytes());
        let err = header_blobs(&file).unwrap_err().to_string();
        assert!(err.contains("referenced twice"), "{err}");
    }

    proptest! {
        #[test]
        fn never_panics(tail in proptest::collection::vec(any::<u8>(), 0..2048), size in 9u32..11) {
            let mut file = MAGIC.to_vec();
            file.extend_from_slice(&((1u32 << size) as u16).to_be_bytes());
            file.extend_from_slice(&tail);
            let _ = header_blobs(&file);
        }
    }
}
