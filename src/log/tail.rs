//! The tail file: a partition's commit point.
//!
//! A batch becomes visible only when a writer, still holding the partition lock, publishes a new
//! tail that covers it. Readers never lock: they read the tail and never look past it, so they
//! never see a batch that is still being written. Bytes beyond the tail belong to a writer that
//! died mid-append; the next writer cuts them, whole checksummed batches included: they were
//! never committed, and readers may already have seen the end of the log without them.
//!
//! The tail is rewritten in place, not renamed, because it changes with every batch. Two slots
//! alternate so that a torn or in-progress write of one leaves the other intact; each slot has
//! its own CRC and a sequence number, and readers take the valid slot with the higher sequence.
//!
//! Format (160 bytes): the 32-byte file header (magic b"CHUTETAL", version 1, base offset 0),
//! then two 64-byte slots at 32 and 96, little-endian:
//! ```text
//!   0  8  seq               increases by one with every publish
//!   8  8  segment_base      base offset of the active segment
//!  16  8  end_offset        log end offset: the next offset to assign
//!  24  8  end_position      committed bytes of the active segment (header included)
//!  32  8  durable_offset    every batch below it was fsynced before this slot was written
//!  40  8  log_start_offset  first offset still readable (moved by retention)
//!  48  4  leader_epoch      epoch of the current leader of this replica
//!  52  4  flags             bit 0: the partition was deleted; writers must stop
//!  56  4  reconciled_epoch  the leader epoch this replica's log was last made a prefix of the
//!                           leader's in (a follower's divergence check), or led in; 0 in
//!                           files written before replication (reserved then, written zero)
//!  60  4  crc               CRC-32 of bytes 0..60
//! ```
//! The durable offset lets readers tell damage from a torn tail: an invalid batch below it is
//! corruption (exit 74); at or above it, it is a tail lost with a crash of the whole machine.

use super::file_header;
use crate::error::{IoContext, Result};
use std::fs::File;
use std::os::unix::fs::FileExt;
use std::path::Path;

pub const MAGIC: &[u8; 8] = b"CHUTETAL";
const SLOT: usize = 64;
pub const FILE_LEN: usize = file_header::LEN + 2 * SLOT;
pub const FLAG_DELETED: u32 = 1;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct Tail {
    pub seq: u64,
    pub segment_base: u64,
    pub end_offset: u64,
    pub end_position: u64,
    pub durable_offset: u64,
    pub log_start_offset: u64,
    pub leader_epoch: u32,
    pub flags: u32,
    /// See the format above: a follower counts towards the high watermark only when this is the
    /// partition's current leader epoch.
    pub reconciled_epoch: u32,
}

impl Tail {
    pub fn deleted(&self) -> bool {
        self.flags & FLAG_DELETED != 0
    }

    fn encode(&self) -> [u8; SLOT] {
        let mut b = [0u8; SLOT];
        b[0..8].copy_from_slice(&self.seq.to_le_bytes());
        b[8..16].copy_from_slice(&self.segment_base.to_le_bytes());
        b[16..24].copy_from_slice(&self.end_offset.to_le_bytes());
        b[24..32].copy_from_slice(&self.end_position.to_le_bytes());
        b[32..40].copy_from_slice(&self.durable_offset.to_le_bytes());
        b[40..48].copy_from_slice(&self.log_start_offset.to_le_bytes());
        b[48..52].copy_from_slice(&self.leader_epoch.to_le_bytes());
        b[52..56].copy_from_slice(&self.flags.to_le_bytes());
        b[56..60].copy_from_slice(&self.reconciled_epoch.to_le_bytes());
        let crc = crc32fast::hash(&b[0..60]);
        b[60..64].copy_from_slice(&crc.to_le_bytes());
        b
    }

    fn decode(b: &[u8]) -> Option<Tail> {
        let crc = u32::from_le_bytes(b[60..64].try_into().unwrap());
        if crc32fast::hash(&b[0..60]) != crc {
            return None;
        }
        let u64_at = |i: usize| u64::from_le_bytes(b[i..i + 8].try_into().unwrap());
        let u32_at = |i: usize| u32::from_le_bytes(b[i..i + 4].try_into().unwrap());
        let t = Tail {
            seq: u64_at(0),
            segment_base: u64_at(8),
            end_offset: u64_at(16),
            end_position: u64_at(24),
            durable_offset: u64_at(32),
            log_start_offset: u64_at(40),
            leader_epoch: u32_at(48),
            flags: u32_at(52),
            reconciled_epoch: u32_at(56),
        };
        // A checksummed slot with impossible values is treated like a torn one.
        let sane = t.segment_base <= t.end_offset
            && t.segment_base <= t.durable_offset
            && t.durable_offset <= t.end_offset
            && t.log_start_offset <= t.end_offset
            && t.end_position >= file_header::LEN as u64
            && t.end_position <= u32::MAX as u64;
        sane.then_some(t)
    }
}

/// Create a new tail file. Fails if one exists.
pub fn create(path: &Path, t: &Tail) -> Result<File> {
    let f = crate::fsutil::create_new(path)?;
    let mut buf = vec![0u8; FILE_LEN];
    buf[..file_header::LEN].copy_from_slice(&file_header::encode(MAGIC, 0, 0));
    let slot = t.encode();
    let i = (t.seq % 2) as usize;
    buf[file_header::LEN + i * SLOT..file_header::LEN + (i + 1) * SLOT].copy_from_slice(&slot);
    f.write_all_at(&buf, 0).at(path)?;
    Ok(f)
}

/// Read the current tail. `Ok(None)`: the file exists but neither slot is valid.
pub fn read(f: &File, path: &Path) -> Result<Option<Tail>> {
    let mut buf = [0u8; FILE_LEN];
    // Retry: a reader can race a writer rewriting a slot; the other slot stays valid, but read
    // twice to be safe against a short read during concurrent truncation by `verify --repair`.
    for _ in 0..3 {
        let n = read_full_at(f, &mut buf, 0).at(path)?;
        if n < file_header::LEN {
            return Ok(None);
        }
        check_header(path, &buf[..file_header::LEN])?;
        if n < FILE_LEN {
            continue;
        }
        let a = Tail::decode(&buf[32..96]);
        let b = Tail::decode(&buf[96..160]);
        let best = match (a, b) {
            (Some(a), Some(b)) => Some(if a.seq >= b.seq { a } else { b }),
            (a, b) => a.or(b),
        };
        if best.is_some() {
            return Ok(best);
        }
    }
    Ok(None)
}

/// A tail file of a newer format is refused (a later chute wrote it). Any other damage to the
/// header is ignored: each slot carries its own CRC, so the slots decide, and a tail whose
/// slots are gone too is a lost tail that the next writer or `verify --repair` rebuilds from
/// the log. The header is rewritten by [`repair_header`] when a writer next takes the lock.
fn check_header(path: &Path, h: &[u8]) -> Result<()> {
    match file_header::decode(path, h, MAGIC, 0) {
        Ok(_) => Ok(()),
        Err(e) if newer_format(h) => Err(e),
        Err(_) => Ok(()),
    }
}

/// A well-formed header of another format version: our magic, a version other than ours, and
/// the rest as we write it (all zero). One damaged byte of the version field looks the same,
/// and is refused the same way: a later chute may have written it.
fn newer_format(h: &[u8]) -> bool {
    h.len() >= file_header::LEN
        && &h[0..8] == MAGIC
        && u16::from_le_bytes([h[8], h[9]]) != file_header::VERSION
        && h[10..file_header::LEN].iter().all(|&b| b == 0)
}

/// Whether the file header is exactly what we write.
pub fn header_ok(f: &File, path: &Path) -> Result<bool> {
    let mut h = [0u8; file_header::LEN];
    let n = read_full_at(f, &mut h, 0).at(path)?;
    Ok(n == file_header::LEN && file_header::decode(path, &h, MAGIC, 0).is_ok())
}

/// Rewrite a damaged header in place (under the partition lock); the slots are left alone.
pub fn repair_header(f: &File, path: &Path) -> Result<()> {
    f.write_all_at(&file_header::encode(MAGIC, 0, 0), 0)
        .at(path)?;
    crate::fsutil::sync_data(f, path)
}

/// Publish `t` (whose seq must be one more than the current one) into its slot.
pub fn write(f: &File, path: &Path, t: &Tail) -> Result<()> {
    let i = (t.seq % 2) as usize;
    f.write_all_at(&t.encode(), (file_header::LEN + i * SLOT) as u64)
        .at(path)
}

/// Publish `next` as the successor of `current`, which then becomes our view of the tail.
pub(super) fn publish(f: &File, path: &Path, current: &mut Tail, mut next: Tail) -> Result<()> {
    next.seq = current.seq + 1;
    write(f, path, &next)?;
    *current = next;
    Ok(())
}

pub fn read_full_at(f: &File, buf: &mut [u8], offset: u64) -> std::io::Result<usize> {
    let mut n = 0;
    while n < buf.len() {
        match f.read_at(&mut buf[n..], offset + n as u64) {
            Ok(0) => break,
            Ok(k) => n += k,
            Err(e) if e.kind() == std::io::ErrorKind::Interrupted => {}
            Err(e) => return Err(e),
        }
    }
    Ok(n)
}

/// Write a fresh tail file's contents into an already open (emptied) file.
pub fn create_into(f: &File, path: &Path, t: &Tail) -> Result<()> {
    let mut buf = vec![0u8; FILE_LEN];
    buf[..file_header::LEN].copy_from_slice(&file_header::encode(MAGIC, 0, 0));
    let i = (t.seq % 2) as usize;
    buf[file_header::LEN + i * SLOT..file_header::LEN + (i + 1) * SLOT]
        .copy_from_slice(&t.encode());
    f.write_all_at(&buf, 0).at(path)?;
    crate::fsutil::sync_data(f, path)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn newest_valid_slot_wins_and_torn_slot_is_ignored() {
        let dir = tempfile::tempdir().unwrap();
        let p = dir.path().join("tail");
        let mut t = Tail {
            seq: 0,
            segment_base: 0,
            end_offset: 0,
            end_position: 32,
            ..Default::default()
        };
        let f = create(&p, &t).unwrap();
        assert_eq!(read(&f, &p).unwrap(), Some(t));
        t.seq = 1;
        t.end_offset = 10;
        t.end_position = 500;
        write(&f, &p, &t).unwrap();
        assert_eq!(read(&f, &p).unwrap(), Some(t));
        // Tear slot 1: the reader falls back to slot 0.
        f.write_all_at(&[0xff; 8], (32 + 64 + 20) as u64).unwrap();
        assert_eq!(read(&f, &p).unwrap().unwrap().seq, 0);
    }
}
