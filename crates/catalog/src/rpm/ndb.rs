//! A reader for rpm's NDB `Packages.db`, from its documented layout (all fields
//! little-endian): a 32-byte file header (magic `RpmP`, version 0, generation, number of
//! 4096-byte slot pages, next package index); then the slot table, 16-byte slots (magic
//! `Slot`, package index, block offset, block count; offset 0 marks a free slot) filling
//! the slot pages after the header; then blobs in 16-byte blocks, each a 16-byte head
//! (magic `BlbS`, package index, generation, length), the header blob, padding, and a
//! 12-byte tail (adler32, length, magic `BlbE`). As rpm's own ndb backend (rpmpkg.c) reads
//! and writes it, the tail fills the last 12 bytes of the blob's allocated blocks, not the
//! bytes right after the header blob, and its adler32 covers everything before the tail:
//! the head, the header blob and the padding.
//!
//! The slot table is the file's index: a slot that points outside the file, into the
//! slot pages, at a blob for another package or at a blob whose block count disagrees
//! with its length is reported, and the other slots are still read. `Index.db` (name and
//! file indexes derived from the same headers) is not needed to list packages.

use crate::read::{ParseError, malformed};
use crate::rpm::{HeaderRecords, MAX_BLOB, MAX_HEADERS};

const PAGE: usize = 4096;
const SLOT: usize = 16;
const BLOCK: usize = 16;
const FILE_HEADER: usize = 32;
const BLOB_HEAD: usize = 16;
const BLOB_TAIL: usize = 12;
const DB_MAGIC: &[u8; 4] = b"RpmP";
const SLOT_MAGIC: &[u8; 4] = b"Slot";
const BLOB_MAGIC: &[u8; 4] = b"BlbS";
const TAIL_MAGIC: &[u8; 4] = b"BlbE";

fn le32(b: &[u8], at: usize) -> usize {
    u32::from_le_bytes([b[at], b[at + 1], b[at + 2], b[at + 3]]) as usize
}

/// The `(package index, header blob)` records, and a problem line per bad slot.
pub fn header_blobs(bytes: &[u8]) -> Result<(HeaderRecords, Vec<String>), ParseError> {
    if bytes.len() < FILE_HEADER || &bytes[..4] != DB_MAGIC {
        return Err(malformed("not an rpm NDB Packages.db (bad magic)"));
    }
    let version = le32(bytes, 4);
    if version != 0 {
        return Err(malformed(format!("unsupported NDB version {version}")));
    }
    let slot_pages = le32(bytes, 12);
    let slot_end = slot_pages
        .checked_mul(PAGE)
        .filter(|end| *end <= bytes.len() && *end > 0)
        .ok_or_else(|| {
            malformed(format!(
                "header claims {slot_pages} slot pages, but the file has {} bytes",
                bytes.len()
            ))
        })?;
    let mut blobs = Vec::new();
    let mut problems = Vec::new();
    for at in (FILE_HEADER..slot_end).step_by(SLOT) {
        let slot = &bytes[at..at + SLOT];
        if &slot[..4] != SLOT_MAGIC {
            return Err(malformed(format!(
                "slot at byte {at} has a bad magic: the slot table is corrupt"
            )));
        }
        let (index, block, blocks) = (le32(slot, 4), le32(slot, 8), le32(slot, 12));
        if block == 0 {
            continue;
        }
        match blob_at(bytes, slot_end, index, block, blocks) {
            Ok(blob) => blobs.push((index as u64, blob.to_vec())),
            Err(why) => problems.push(format!("slot for package {index} skipped: {why}")),
        }
        if blobs.len() > MAX_HEADERS {
            return Err(ParseError::TooMany {
                what: "headers",
                limit: MAX_HEADERS,
            });
        }
    }
    Ok((blobs, problems))
}

fn blob_at(
    bytes: &[u8],
    slot_end: usize,
    index: usize,
    block: usize,
    blocks: usize,
) -> Result<&[u8], String> {
    let start = block * BLOCK;
    let end = block
        .checked_add(blocks)
        .and_then(|b| b.checked_mul(BLOCK))
        .filter(|end| *end <= bytes.len())
        .ok_or_else(|| format!("blocks {block}+{blocks} run past the end of the file"))?;
    if start < slot_end {
        return Err(format!("block {block} lies inside the slot table"));
    }
    let area = &bytes[start..end];
    if area.len() < BLOB_HEAD + BLOB_TAIL || &area[..4] != BLOB_MAGIC {
        return Err(format!("no blob at block {block}"));
    }
    if le32(area, 4) != index {
        return Err(format!(
            "blob at block {block} belongs to package {}",
            le32(area, 4)
        ));
    }
    let len = le32(area, 12);
    if len > MAX_BLOB || (BLOB_HEAD + len + BLOB_TAIL).div_ceil(BLOCK) != blocks {
        return Err(format!(
            "blob length {len} does not match its {blocks} blocks"
        ));
    }
    let (checked, tail) = area.split_at(area.len() - BLOB_TAIL);
    if &tail[8..12] != TAIL_MAGIC || le32(tail, 4) != len {
        return Err(format!("blob at block {block} has a bad tail"));
    }
    if adler32(checked) != le32(tail, 0) as u32 {
        return Err(format!("blob at block {block} fails its adler32 checksum"));
    }
    Ok(&area[BLOB_HEAD..BLOB_HEAD + len])
}

/// Adler-32 (RFC 1950): two running sums modulo 65521.
pub(crate) fn adler32(data: &[u8]) -> u32 {
    const MOD: u32 = 65521;
    let (mut a, mut b) = (1u32, 0u32);
    // 5552 bytes is the longest run before the sums can overflow a u32.
    for chunk in data.chunks(5552) {
        for &byte in chunk {
            a += byte as u32;
            b += a;
        }
        a %= MOD;
        b %= MOD;
    }
    (b << 16) | a
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    #[test]
    fn adler32_known_value() {
        // RFC 1950's function over "Wikipedia", a widely quoted check value.
        assert_eq!(adler32(b"Wikipedia"), 0x11E6_0398);
        assert_eq!(adler32(b""), 1);
    }

    proptest! {
        #[test]
        fn never_panics(tail in proptest::collection::vec(any::<u8>(), 0..5000), pages in 0u32..3) {
            let mut file = b"RpmP".to_vec();
            file.extend_from_slice(&[0; 8]);
            file.extend_from_slice(&pages.to_le_bytes());
            file.extend_from_slice(&tail);
            let _ = header_blobs(&file);
        }
    }
}
