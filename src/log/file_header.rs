//! The header every segment and index file starts with, so a later chute can read or refuse it.
//!
//! Format (32 bytes, little-endian):
//! ```text
//!   0  8  magic        b"CHUTELOG" (.log), b"CHUTEIDX" (.index), b"CHUTETIX" (.timeindex)
//!   8  2  version      1
//!  10  4  sealed_len   .log only: the file's length when the writer sealed it; 0 until then
//!  14  2  seal_check   low 16 bits of CRC-32("seal" ++ base_offset ++ sealed_len as u64)
//!  16  8  base_offset  must match the file name
//!  24  8  created_ms   when the segment was created (drives segment.ms rolls)
//! ```
//!
//! Bytes 10..16 were reserved (written as zero, never checked) before the seal, so chutes that
//! do not know it read these files unchanged, and segments they sealed read as "length not
//! recorded". The seal is what tells a sealed segment cut short on a batch boundary (a lost
//! write, a bad copy) from one that simply ends there: without it the reader would go on to the
//! next segment and skip the missing offsets without a word.

use crate::error::{Error, Result};
use std::path::Path;

pub const LEN: usize = 32;
pub const VERSION: u16 = 1;
pub const LOG_MAGIC: &[u8; 8] = b"CHUTELOG";
pub const INDEX_MAGIC: &[u8; 8] = b"CHUTEIDX";
pub const TIMEINDEX_MAGIC: &[u8; 8] = b"CHUTETIX";

pub fn encode(magic: &[u8; 8], base_offset: u64, created_ms: i64) -> [u8; LEN] {
    let mut h = [0u8; LEN];
    h[0..8].copy_from_slice(magic);
    h[8..10].copy_from_slice(&VERSION.to_le_bytes());
    h[16..24].copy_from_slice(&base_offset.to_le_bytes());
    h[24..32].copy_from_slice(&created_ms.to_le_bytes());
    h
}

/// Where the seal sits in the header.
pub const SEAL_AT: u64 = 10;

/// The 6 seal bytes recording that segment `base` was sealed at `len` bytes.
pub fn encode_seal(base: u64, len: u32) -> [u8; 6] {
    let mut s = [0u8; 6];
    s[0..4].copy_from_slice(&len.to_le_bytes());
    s[4..6].copy_from_slice(&seal_check(base, len).to_le_bytes());
    s
}

/// The sealed length a header records, if it records one that checks out. Zeros (not sealed
/// yet, or sealed by a chute without the field) and a damaged seal both read as `None`: the
/// file's length is then all there is to go by, as before the seal existed.
pub fn decode_seal(h: &[u8], base: u64) -> Option<u64> {
    let s = h.get(SEAL_AT as usize..SEAL_AT as usize + 6)?;
    let len = u32::from_le_bytes(s[0..4].try_into().unwrap());
    let check = u16::from_le_bytes(s[4..6].try_into().unwrap());
    (len as usize >= LEN && check == seal_check(base, len)).then_some(len as u64)
}

fn seal_check(base: u64, len: u32) -> u16 {
    let mut h = crc32fast::Hasher::new();
    h.update(b"seal");
    h.update(&base.to_le_bytes());
    h.update(&(len as u64).to_le_bytes());
    h.finalize() as u16
}

/// Check a header; returns `created_ms`.
pub fn decode(path: &Path, b: &[u8], magic: &[u8; 8], base_offset: u64) -> Result<i64> {
    let bad = |detail: String| Error::Format {
        path: path.to_path_buf(),
        detail,
    };
    if b.len() < LEN {
        return Err(bad(format!("file is shorter than its {LEN}-byte header")));
    }
    if &b[0..8] != magic {
        return Err(bad(format!(
            "not a chute file (expected magic {:?})",
            String::from_utf8_lossy(magic)
        )));
    }
    let version = u16::from_le_bytes([b[8], b[9]]);
    if version != VERSION {
        return Err(bad(format!(
            "format version {version} is not supported by this chute (it reads version {VERSION}); upgrade chute"
        )));
    }
    let base = u64::from_le_bytes(b[16..24].try_into().unwrap());
    if base != base_offset {
        return Err(bad(format!(
            "header says base offset {base} but the file name says {base_offset}"
        )));
    }
    Ok(i64::from_le_bytes(b[24..32].try_into().unwrap()))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_seal_reads_back_and_damage_to_it_reads_as_no_seal() {
        let mut h = encode(LOG_MAGIC, 4711, 1);
        assert_eq!(decode_seal(&h, 4711), None, "a new segment is not sealed");
        h[10..16].copy_from_slice(&encode_seal(4711, 1000));
        assert_eq!(decode_seal(&h, 4711), Some(1000));
        assert_eq!(decode_seal(&h, 4712), None, "a seal is for one segment");
        for i in 10..16 {
            let mut d = h;
            d[i] ^= 0x10;
            assert_eq!(decode_seal(&d, 4711), None, "byte {i} flipped");
        }
        assert_eq!(
            decode(Path::new("x"), &h, LOG_MAGIC, 4711).unwrap(),
            1,
            "the rest of the header reads as before"
        );
    }
}
