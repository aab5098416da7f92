//! The header every segment and index file starts with, so a later chute can read or refuse it.
//!
//! Format (32 bytes, little-endian):
//! ```text
//!   0  8  magic        b"CHUTELOG" (.log), b"CHUTEIDX" (.index), b"CHUTETIX" (.timeindex)
//!   8  2  version      1
//!  10  6  reserved     zero
//!  16  8  base_offset  must match the file name
//!  24  8  created_ms   when the segment was created (drives segment.ms rolls)
//! ```

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
