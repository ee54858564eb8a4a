//! A minimal reader for rpm's Berkeley DB `Packages` file (hash access method), written
//! from the documented on-disk layout: page 0 is the hash metadata page (magic 0x061561
//! at offset 12, page size at 20, last page number at 32, in the byte order of the
//! machine that wrote it); every page starts with a 26-byte header (next page at 16,
//! entry count at 20, the overflow length at 22 and the page type at 25). Hash pages
//! (type 13, or 2 in old versions) hold an array of item offsets after the header,
//! key/data items alternating; a data item is either inline (`H_KEYDATA`) or points to a
//! chain of overflow pages (`H_OFFPAGE`: page number at 4, total length at 8). rpm keys
//! its headers by a 4-byte number; key 0 holds bookkeeping, not a header.

use crate::read::{ParseError, malformed};
use crate::rpm::{HeaderRecords, MAX_BLOB, MAX_HEADERS};

const HASH_MAGIC: u32 = 0x061561;
const PAGE_HEADER: usize = 26;
const P_HASH_UNSORTED: u8 = 2;
const P_OVERFLOW: u8 = 7;
const P_HASH: u8 = 13;
const H_KEYDATA: u8 = 1;
const H_OFFPAGE: u8 = 3;

struct Db<'a> {
    bytes: &'a [u8],
    big_endian: bool,
    page_size: usize,
    pages: usize,
    /// Overflow pages already consumed: each belongs to exactly one item.
    seen: Vec<bool>,
}

/// Callers check that `at + 4 <= b.len()`.
fn u32_at(big_endian: bool, b: &[u8], at: usize) -> usize {
    let s = [b[at], b[at + 1], b[at + 2], b[at + 3]];
    (if big_endian {
        u32::from_be_bytes(s)
    } else {
        u32::from_le_bytes(s)
    }) as usize
}

fn u16_at(big_endian: bool, b: &[u8], at: usize) -> usize {
    let s = [b[at], b[at + 1]];
    (if big_endian {
        u16::from_be_bytes(s)
    } else {
        u16::from_le_bytes(s)
    }) as usize
}

impl<'a> Db<'a> {
    fn u32_at(&self, b: &[u8], at: usize) -> usize {
        u32_at(self.big_endian, b, at)
    }

    fn u16_at(&self, b: &[u8], at: usize) -> usize {
        u16_at(self.big_endian, b, at)
    }

    fn page(&self, n: usize) -> Result<&'a [u8], ParseError> {
        if n >= self.pages {
            return Err(malformed(format!(
                "page {n} is past the last page ({})",
                self.pages - 1
            )));
        }
        Ok(&self.bytes[n * self.page_size..(n + 1) * self.page_size])
    }

    /// Reassembles an item stored on a chain of overflow pages.
    fn overflow(&mut self, first: usize, total: usize) -> Result<Vec<u8>, ParseError> {
        if total > MAX_BLOB {
            return Err(malformed(format!(
                "overflow item of {total} bytes is over the limit"
            )));
        }
        let mut out = Vec::with_capacity(total.min(self.bytes.len()));
        let mut next = first;
        while out.len() < total {
            if next == 0 {
                return Err(malformed(format!(
                    "overflow chain from page {first} ends after {} of {total} bytes",
                    out.len()
                )));
            }
            let page = self.page(next)?;
            if std::mem::replace(&mut self.seen[next], true) {
                return Err(malformed(format!(
                    "overflow page {next} is used twice (cycle or shared chain)"
                )));
            }
            if page[25] != P_OVERFLOW {
                return Err(malformed(format!(
                    "page {next} in an overflow chain has type {}",
                    page[25]
                )));
            }
            let len = self.u16_at(page, 22);
            let data = page.get(PAGE_HEADER..PAGE_HEADER + len).ok_or_else(|| {
                malformed(format!(
                    "overflow page {next} claims {len} bytes, more than fit"
                ))
            })?;
            out.extend_from_slice(&data[..len.min(total - out.len())]);
            next = self.u32_at(page, 16);
        }
        Ok(out)
    }
}

/// The `(key, header blob)` records of a `Packages` hash database.
pub fn header_blobs(bytes: &[u8]) -> Result<HeaderRecords, ParseError> {
    if bytes.len() < 512 {
        return Err(malformed(format!(
            "{} bytes is too short for a Berkeley DB file",
            bytes.len()
        )));
    }
    let magic = &bytes[12..16];
    let big_endian = if u32::from_le_bytes([magic[0], magic[1], magic[2], magic[3]]) == HASH_MAGIC {
        false
    } else if u32::from_be_bytes([magic[0], magic[1], magic[2], magic[3]]) == HASH_MAGIC {
        true
    } else {
        return Err(malformed("not a Berkeley DB hash database (bad magic)"));
    };
    let mut db = Db {
        bytes,
        big_endian,
        page_size: 0,
        pages: 0,
        seen: Vec::new(),
    };
    let page_size = db.u32_at(bytes, 20);
    if !(512..=65536).contains(&page_size) || !page_size.is_power_of_two() {
        return Err(malformed(format!(
            "invalid Berkeley DB page size {page_size}"
        )));
    }
    if bytes[24] != 0 {
        return Err(malformed(
            "encrypted Berkeley DB databases are not supported",
        ));
    }
    let last = db.u32_at(bytes, 32);
    let held = bytes.len() / page_size;
    if last >= held {
        return Err(malformed(format!(
            "truncated: the metadata names page {last} as the last, but the file holds {held} whole pages"
        )));
    }
    db.page_size = page_size;
    db.pages = last + 1;
    db.seen = vec![false; db.pages];

    let mut blobs = Vec::new();
    for n in 1..db.pages {
        let page = db.page(n)?;
        if page[25] != P_HASH && page[25] != P_HASH_UNSORTED {
            continue;
        }
        let entries = db.u16_at(page, 20);
        if PAGE_HEADER + entries * 2 > page_size {
            return Err(malformed(format!(
                "hash page {n} claims {entries} entries, more than fit"
            )));
        }
        let be = db.big_endian;
        let offset = |i: usize| u16_at(be, page, PAGE_HEADER + i * 2);
        // Items are packed from the end of the page downwards: item i ends where item
        // i-1 begins.
        let item = |i: usize| -> Result<&[u8], ParseError> {
            let start = offset(i);
            let end = if i == 0 { page_size } else { offset(i - 1) };
            page.get(start..end)
                .filter(|it| !it.is_empty() && start >= PAGE_HEADER + entries * 2)
                .ok_or_else(|| {
                    malformed(format!(
                        "hash page {n}: item {i} has bad bounds {start}..{end}"
                    ))
                })
        };
        for pair in 0..entries / 2 {
            let key = item(pair * 2)?;
            let data = item(pair * 2 + 1)?;
            let key_number = match key {
                [H_KEYDATA, k @ ..] if k.len() == 4 => u32_at(be, k, 0) as u64,
                _ => {
                    return Err(malformed(format!(
                        "hash page {n}: key {pair} is not a 4-byte record number"
                    )));
                }
            };
            if key_number == 0 {
                continue;
            }
            let blob = match data[0] {
                H_KEYDATA => data[1..].to_vec(),
                H_OFFPAGE if data.len() >= 12 => {
                    let (first, total) = (u32_at(be, data, 4), u32_at(be, data, 8));
                    db.overflow(first, total)?
                }
                other => {
                    return Err(malformed(format!(
                        "hash page {n}: record {key_number} has item type {other}, not a header"
                    )));
                }
            };
            blobs.push((key_number, blob));
            if blobs.len() > MAX_HEADERS {
                return Err(ParseError::TooMany {
                    what: "headers",
                    limit: MAX_HEADERS,
                });
            }
        }
    }
    Ok(blobs)
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn meta(page_size: u32, last: u32) -> Vec<u8> {
        let mut file = vec![0u8; page_size as usize];
        file[12..16].copy_from_slice(&HASH_MAGIC.to_le_bytes());
        file[20..24].copy_from_slice(&page_size.to_le_bytes());
        file[32..36].copy_from_slice(&last.to_le_bytes());
        file
    }

    #[test]
    fn metadata_checks() {
        assert!(
            header_blobs(&[0u8; 600])
                .unwrap_err()
                .to_string()
                .contains("bad magic")
        );
        assert!(
            header_blobs(&meta(1000, 0))
                .unwrap_err()
                .to_string()
                .contains("page size")
        );
        let err = header_blobs(&meta(512, 5)).unwrap_err().to_string();
        assert!(err.contains("truncated"), "{err}");
        assert!(header_blobs(&meta(512, 0)).unwrap().is_empty());
    }

    #[test]
    fn overflow_cycle_is_an_error() {
        let mut file = meta(512, 2);
        file.resize(512 * 3, 0);
        // Page 1: a hash page with key 1 and an off-page item pointing at page 2.
        let p1 = 512;
        file[p1 + 25] = P_HASH;
        file[p1 + 20..p1 + 22].copy_from_slice(&2u16.to_le_bytes());
        let key_at = 512 - 5;
        let data_at = key_at - 12;
        file[p1 + 26..p1 + 28].copy_from_slice(&(key_at as u16).to_le_bytes());
        file[p1 + 28..p1 + 30].copy_from_slice(&(data_at as u16).to_le_bytes());
        file[p1 + key_at] = H_KEYDATA;
        file[p1 + key_at + 1..p1 + key_at + 5].copy_from_slice(&1u32.to_le_bytes());
        file[p1 + data_at] = H_OFFPAGE;
        file[p1 + data_at + 4..p1 + data_at + 8].copy_from_slice(&2u32.to_le_bytes());
        file[p1 + data_at + 8..p1 + data_at + 12].copy_from_slice(&10_000u32.to_le_bytes());
        // Page 2: an overflow page holding 10 bytes whose next page is itself.
        let p2 = 1024;
        file[p2 + 25] = P_OVERFLOW;
        file[p2 + 16..p2 + 20].copy_from_slice(&2u32.to_le_bytes());
        file[p2 + 22..p2 + 24].copy_from_slice(&10u16.to_le_bytes());
        let err = header_blobs(&file).unwrap_err().to_string();
        assert!(err.contains("used twice"), "{err}");
    }

    proptest! {
        #[test]
        fn never_panics(pages in proptest::collection::vec(any::<u8>(), 0..2048), last in 0u32..6) {
            let mut file = meta(512, last);
            file.extend_from_slice(&pages);
            let _ = header_blobs(&file);
        }
    }
}
