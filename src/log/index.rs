//! Sparse indexes of a segment: offset → file position, and timestamp → offset.
//! Both are caches: readers check what an entry points at and fall back to scanning;
//! writers rebuild them from the log when they are missing or behind.
//!
//! Format (`.index`, after the 32-byte file header): entries of 8 bytes, little-endian
//! `{ relative_offset u32 | position u32 }`: the batch starting at `position` has base offset
//! `base_offset + relative_offset`. Entries increase in both fields.
//!
//! Format (`.timeindex`, after the file header): entries of 12 bytes
//! `{ timestamp i64 | relative_offset u32 }`: the batch with base offset
//! `base_offset + relative_offset` has max timestamp `timestamp`, and no earlier batch of the
//! segment reaches it. Timestamps strictly increase; the last entry of a sealed segment carries
//! the segment's largest timestamp.

use super::file_header;
use super::segment;
use crate::error::{IoContext, Result};
use crate::fsutil;
use std::fs::File;
use std::os::unix::fs::FileExt;
use std::path::Path;

pub const INDEX_ENTRY: usize = 8;
pub const TIME_ENTRY: usize = 12;
/// Bytes of log between two offset-index entries (Kafka's index.interval.bytes).
pub const INTERVAL: u64 = 4096;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct IndexEntry {
    pub rel_offset: u32,
    pub position: u32,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct TimeEntry {
    pub timestamp: i64,
    pub rel_offset: u32,
}

pub fn encode_index(e: IndexEntry) -> [u8; INDEX_ENTRY] {
    let mut b = [0u8; INDEX_ENTRY];
    b[0..4].copy_from_slice(&e.rel_offset.to_le_bytes());
    b[4..8].copy_from_slice(&e.position.to_le_bytes());
    b
}

pub fn encode_time(e: TimeEntry) -> [u8; TIME_ENTRY] {
    let mut b = [0u8; TIME_ENTRY];
    b[0..8].copy_from_slice(&e.timestamp.to_le_bytes());
    b[8..12].copy_from_slice(&e.rel_offset.to_le_bytes());
    b
}

/// Entries of an index file's bytes (header excluded), ignoring a partial trailing entry.
pub fn index_entries(b: &[u8]) -> impl Iterator<Item = IndexEntry> + '_ {
    b.get(file_header::LEN..)
        .unwrap_or(&[])
        .chunks_exact(INDEX_ENTRY)
        .map(|c| IndexEntry {
            rel_offset: u32::from_le_bytes(c[0..4].try_into().unwrap()),
            position: u32::from_le_bytes(c[4..8].try_into().unwrap()),
        })
}

pub fn time_entries(b: &[u8]) -> impl Iterator<Item = TimeEntry> + '_ {
    b.get(file_header::LEN..)
        .unwrap_or(&[])
        .chunks_exact(TIME_ENTRY)
        .map(|c| TimeEntry {
            timestamp: i64::from_le_bytes(c[0..8].try_into().unwrap()),
            rel_offset: u32::from_le_bytes(c[8..12].try_into().unwrap()),
        })
}

/// Binary search: the last entry whose relative offset is <= `rel`, among entries that are
/// sorted and below `limit_pos`. Unsorted garbage only makes the answer less useful, never unsafe.
pub fn lookup(b: &[u8], rel: u32, limit_pos: u64) -> Option<IndexEntry> {
    let entries: &[u8] = b.get(file_header::LEN..).unwrap_or(&[]);
    let n = entries.len() / INDEX_ENTRY;
    let at = |i: usize| {
        let c = &entries[i * INDEX_ENTRY..(i + 1) * INDEX_ENTRY];
        IndexEntry {
            rel_offset: u32::from_le_bytes(c[0..4].try_into().unwrap()),
            position: u32::from_le_bytes(c[4..8].try_into().unwrap()),
        }
    };
    let (mut lo, mut hi) = (0usize, n);
    while lo < hi {
        let mid = (lo + hi) / 2;
        if at(mid).rel_offset <= rel {
            lo = mid + 1;
        } else {
            hi = mid;
        }
    }
    let mut i = lo;
    while i > 0 {
        let e = at(i - 1);
        if (e.position as u64) < limit_pos {
            return Some(e);
        }
        i -= 1;
    }
    None
}

/// The last time entry whose timestamp is < `ts`: no record before its batch can reach `ts`,
/// so a search for the first record at or after `ts` may start there (`None`: segment start).
pub fn time_lookup(b: &[u8], ts: i64) -> Option<TimeEntry> {
    let entries: &[u8] = b.get(file_header::LEN..).unwrap_or(&[]);
    let n = entries.len() / TIME_ENTRY;
    let at = |i: usize| {
        let c = &entries[i * TIME_ENTRY..(i + 1) * TIME_ENTRY];
        TimeEntry {
            timestamp: i64::from_le_bytes(c[0..8].try_into().unwrap()),
            rel_offset: u32::from_le_bytes(c[8..12].try_into().unwrap()),
        }
    };
    let (mut lo, mut hi) = (0usize, n);
    while lo < hi {
        let mid = (lo + hi) / 2;
        if at(mid).timestamp < ts {
            lo = mid + 1;
        } else {
            hi = mid;
        }
    }
    (lo > 0).then(|| at(lo - 1))
}

/// The largest timestamp an index file records (its last entry), if any.
pub fn last_time(b: &[u8]) -> Option<i64> {
    time_entries(b).last().map(|e| e.timestamp)
}

/// Which index entries a segment gets as batches are laid out in it, in order: an offset entry
/// at the first batch and then every `INTERVAL` bytes, a time entry whenever the largest
/// timestamp so far grows. Writers, follower sync, the cleaner and `verify` all use it, so the
/// indexes they write or expect are the same.
#[derive(Debug, Clone, Copy)]
pub struct Cadence {
    pub last_index_pos: Option<u64>,
    pub last_time: i64,
}

impl Default for Cadence {
    fn default() -> Self {
        Cadence {
            last_index_pos: None,
            last_time: i64::MIN,
        }
    }
}

impl Cadence {
    /// The entries due for a batch at byte `pos` of the segment based at `segment_base`.
    pub fn next(
        &mut self,
        segment_base: u64,
        base_offset: u64,
        pos: u64,
        max_timestamp: i64,
    ) -> (Option<[u8; INDEX_ENTRY]>, Option<[u8; TIME_ENTRY]>) {
        let rel = (base_offset - segment_base) as u32;
        let idx = self
            .last_index_pos
            .is_none_or(|p| pos - p >= INTERVAL)
            .then(|| {
                self.last_index_pos = Some(pos);
                encode_index(IndexEntry {
                    rel_offset: rel,
                    position: pos as u32,
                })
            });
        let time = (max_timestamp > self.last_time).then(|| {
            self.last_time = max_timestamp;
            encode_time(TimeEntry {
                timestamp: max_timestamp,
                rel_offset: rel,
            })
        });
        (idx, time)
    }
}

/// Binary search over an index file through `pread`, without loading it: O(log n) reads.
pub mod file {
    use super::*;
    use crate::log::tail::read_full_at;
    use std::fs::File;

    pub fn entry_count(len: u64, size: usize) -> u64 {
        len.saturating_sub(file_header::LEN as u64) / size as u64
    }

    fn read_entry<const N: usize>(f: &File, i: u64) -> Option<[u8; N]> {
        let mut b = [0u8; N];
        let n = read_full_at(f, &mut b, file_header::LEN as u64 + i * N as u64).ok()?;
        (n == N).then_some(b)
    }

    pub fn index_at(f: &File, i: u64) -> Option<IndexEntry> {
        read_entry::<INDEX_ENTRY>(f, i).map(|c| IndexEntry {
            rel_offset: u32::from_le_bytes(c[0..4].try_into().unwrap()),
            position: u32::from_le_bytes(c[4..8].try_into().unwrap()),
        })
    }

    pub fn time_at(f: &File, i: u64) -> Option<TimeEntry> {
        read_entry::<TIME_ENTRY>(f, i).map(|c| TimeEntry {
            timestamp: i64::from_le_bytes(c[0..8].try_into().unwrap()),
            rel_offset: u32::from_le_bytes(c[8..12].try_into().unwrap()),
        })
    }

    /// Last entry with relative offset <= `rel` and position < `limit_pos`.
    pub fn lookup(f: &File, len: u64, rel: u32, limit_pos: u64) -> Option<IndexEntry> {
        let n = entry_count(len, INDEX_ENTRY);
        let (mut lo, mut hi) = (0u64, n);
        while lo < hi {
            let mid = (lo + hi) / 2;
            if index_at(f, mid)?.rel_offset <= rel {
                lo = mid + 1;
            } else {
                hi = mid;
            }
        }
        let mut i = lo;
        while i > 0 {
            let e = index_at(f, i - 1)?;
            if (e.position as u64) < limit_pos {
                return Some(e);
            }
            i -= 1;
        }
        None
    }

    /// Last time entry with timestamp < `ts`.
    pub fn time_lookup(f: &File, len: u64, ts: i64) -> Option<TimeEntry> {
        let n = entry_count(len, TIME_ENTRY);
        let (mut lo, mut hi) = (0u64, n);
        while lo < hi {
            let mid = (lo + hi) / 2;
            if time_at(f, mid)?.timestamp < ts {
                lo = mid + 1;
            } else {
                hi = mid;
            }
        }
        if lo == 0 { None } else { time_at(f, lo - 1) }
    }

    /// How many leading entries satisfy `pred` (which must hold for a prefix, then fail).
    pub fn partition_point<T>(
        n: u64,
        at: impl Fn(u64) -> Option<T>,
        pred: impl Fn(&T) -> bool,
    ) -> u64 {
        let (mut lo, mut hi) = (0u64, n);
        while lo < hi {
            let mid = (lo + hi) / 2;
            match at(mid) {
                Some(e) if pred(&e) => lo = mid + 1,
                _ => hi = mid,
            }
        }
        lo
    }

    pub fn last_index(f: &File, len: u64) -> Option<IndexEntry> {
        let n = entry_count(len, INDEX_ENTRY);
        if n == 0 { None } else { index_at(f, n - 1) }
    }

    pub fn last_time(f: &File, len: u64) -> Option<TimeEntry> {
        let n = entry_count(len, TIME_ENTRY);
        if n == 0 { None } else { time_at(f, n - 1) }
    }
}

pub(super) fn open_index(path: &Path, magic: &[u8; 8], base: u64) -> Result<File> {
    // Indexes are caches: a missing or foreign one is recreated empty and then rebuilt.
    let f = fsutil::open_or_create(path)?;
    let ok = segment::read_header(&f, path, magic, base).is_ok();
    if !ok {
        f.set_len(0).at(path)?;
        f.write_all_at(&file_header::encode(magic, base, 0), 0)
            .at(path)?;
    }
    Ok(f)
}

/// Appends index entries at a position through a small buffer.
pub(super) struct ChunkedWriter<'f> {
    file: &'f File,
    path: &'f Path,
    pos: u64,
    buf: Vec<u8>,
}

impl<'f> ChunkedWriter<'f> {
    pub(super) fn new(file: &'f File, path: &'f Path, pos: u64) -> Self {
        ChunkedWriter {
            file,
            path,
            pos,
            buf: Vec::with_capacity(64 * 1024),
        }
    }

    pub(super) fn truncate(&self) -> Result<()> {
        self.file.set_len(self.pos).at(self.path)
    }

    pub(super) fn push(&mut self, b: &[u8]) -> Result<()> {
        self.buf.extend_from_slice(b);
        if self.buf.len() >= 64 * 1024 {
            self.flush()?;
        }
        Ok(())
    }

    fn flush(&mut self) -> Result<()> {
        self.file.write_all_at(&self.buf, self.pos).at(self.path)?;
        self.pos += self.buf.len() as u64;
        self.buf.clear();
        Ok(())
    }

    /// Write what is buffered; returns the file's new length.
    pub(super) fn finish(mut self) -> Result<u64> {
        self.flush()?;
        Ok(self.pos)
    }
}

/// Where a scan for offset `base + rel` of a segment may start: the batch of the last index
/// entry at or below it (and below `limit_pos`), once that batch checks out (whole, starting at
/// the offset the entry claims); otherwise the segment start. The index is a cache: an entry
/// that lies (damaged, zeroed, left by a writer that died) costs a scan, never an answer.
/// Returns (position, offset, whether an entry was there but lied). Serves the reader's seek
/// and the writer's recovery alike (`verify`: check the batch's CRC too, as recovery does).
#[allow(clippy::too_many_arguments)]
pub fn verified_start(
    index: &File,
    index_len: u64,
    base: u64,
    rel: u32,
    limit_pos: u64,
    scanner: &mut super::scan::Scanner,
    log: &File,
    log_path: &Path,
    end: u64,
    verify: bool,
) -> Result<(u64, u64, bool)> {
    let hdr = file_header::LEN as u64;
    let Some(e) = file::lookup(index, index_len, rel, limit_pos) else {
        return Ok((hdr, base, false));
    };
    let (pos, off) = (e.position as u64, base + e.rel_offset as u64);
    if pos == hdr && off == base {
        return Ok((hdr, base, false));
    }
    let ok = pos >= hdr
        && matches!(
            scanner.next(log, log_path, pos, end, verify)?,
            super::scan::Next::Batch { header, .. } if header.base_offset == off
        );
    if ok {
        Ok((pos, off, false))
    } else {
        scanner.invalidate();
        Ok((hdr, base, true))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn file(entries: &[IndexEntry]) -> Vec<u8> {
        let mut b = vec![0u8; file_header::LEN];
        for e in entries {
            b.extend_from_slice(&encode_index(*e));
        }
        b
    }

    #[test]
    fn lookup_finds_floor_entry_below_limit() {
        let es: Vec<_> = (0..100)
            .map(|i| IndexEntry {
                rel_offset: i * 10,
                position: 32 + i * 4096,
            })
            .collect();
        let f = file(&es);
        assert_eq!(lookup(&f, 0, u64::MAX), Some(es[0]));
        assert_eq!(lookup(&f, 95, u64::MAX), Some(es[9]));
        assert_eq!(lookup(&f, 100_000, u64::MAX), Some(es[99]));
        assert_eq!(lookup(&f, 995, es[50].position as u64), Some(es[49]));
        assert_eq!(lookup(&file(&[]), 5, u64::MAX), None);
    }

    #[test]
    fn time_lookup_first_at_or_after() {
        let mut b = vec![0u8; file_header::LEN];
        for (ts, rel) in [(100i64, 0u32), (200, 5), (300, 9)] {
            b.extend_from_slice(&encode_time(TimeEntry {
                timestamp: ts,
                rel_offset: rel,
            }));
        }
        assert!(time_lookup(&b, 50).is_none());
        assert_eq!(time_lookup(&b, 150).unwrap().rel_offset, 0);
        assert_eq!(time_lookup(&b, 300).unwrap().rel_offset, 5);
        assert_eq!(time_lookup(&b, 301).unwrap().rel_offset, 9);
        assert_eq!(last_time(&b), Some(300));
    }
}
