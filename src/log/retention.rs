//! Retention (`cleanup.policy=delete`): whole sealed segments go, oldest first, when they are
//! older than `retention` (by their largest record timestamp) or when the partition is larger
//! than `retention.bytes`. The active segment never goes; a quiet one is rolled once it is older
//! than `segment.ms`, so that time retention can act on it.
//!
//! Deletion, under the partition lock: the tail publishes the new log start (and is fsynced),
//! then the segment files are renamed to `<name>.deleted` and removed. A reader that has a
//! segment open keeps reading it (the file lives until it is closed); a reader that looks for
//! it afterwards continues at the new log start. A crash in between leaves `.deleted` files or
//! segments wholly below the log start, which the next pass removes.

use super::epochs;
use super::reader::PartitionReader;
use super::segment;
use super::tail::Tail;
use super::writer::{HDR, PartitionWriter, deleted_error};
use crate::error::{Error, IoContext, Result};
use crate::fsutil;
use std::path::Path;

/// A sealed segment as retention sees it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct SegmentInfo {
    pub base: u64,
    /// Bytes of the `.log` file.
    pub bytes: u64,
    /// Largest record timestamp in it (from its time index, else from its batch headers).
    pub max_timestamp: i64,
}

/// What retention should do to a partition: its sealed segments (oldest first), the size of
/// the active one, and the limits. Returns the new log start (the base of the first segment
/// kept), or None when nothing goes.
pub fn plan(
    sealed: &[SegmentInfo],
    active_base: u64,
    active_bytes: u64,
    now_ms: i64,
    retention_ms: Option<u64>,
    retention_bytes: Option<u64>,
) -> Option<u64> {
    let mut total: u64 = sealed.iter().map(|s| s.bytes).sum::<u64>() + active_bytes;
    let mut keep_from = None;
    for (i, s) in sealed.iter().enumerate() {
        let too_old = retention_ms.is_some_and(|r| {
            s.max_timestamp < now_ms.saturating_sub(r.min(i64::MAX as u64) as i64)
        });
        let too_big = retention_bytes.is_some_and(|r| total > r);
        if !(too_old || too_big) {
            break;
        }
        total -= s.bytes;
        keep_from = Some(sealed.get(i + 1).map_or(active_base, |n| n.base));
    }
    keep_from
}

/// The sealed segments of a partition as of tail `t` (below the active one and not wholly
/// below the log start), oldest first. Read-only: the retention pass calls it under the
/// partition lock, `topic describe` without.
pub fn sealed_segments(dir: &Path, name: &str, t: &Tail) -> Result<Vec<SegmentInfo>> {
    list_sealed(dir, name, t, usize::MAX)
}

/// [`sealed_segments`], reading the largest timestamp of the oldest `with_time` only: the rest
/// say `i64::MAX` (never too old). Reading it means reading batches; sizes are one `stat`.
fn list_sealed(dir: &Path, name: &str, t: &Tail, with_time: usize) -> Result<Vec<SegmentInfo>> {
    let bases: Vec<u64> = segment::list(dir)?
        .into_iter()
        .filter(|&b| b <= t.segment_base)
        .collect();
    let mut out = Vec::new();
    let mut reader = None;
    for (i, &b) in bases.iter().enumerate() {
        if b == t.segment_base {
            break;
        }
        let next = bases.get(i + 1).copied().unwrap_or(t.segment_base);
        if next <= t.log_start_offset {
            continue; // left by a crash mid-deletion; removed by the next deletion
        }
        let log_path = segment::path(dir, b, "log");
        let bytes = std::fs::metadata(&log_path).at(&log_path)?.len();
        if out.len() >= with_time {
            out.push(SegmentInfo {
                base: b,
                bytes,
                max_timestamp: i64::MAX,
            });
            continue;
        }
        let r = match &mut reader {
            Some(r) => r,
            None => reader.insert(PartitionReader::open(dir, name)?),
        };
        // Read from its batches (CRC-checked): retention deletes by it, so it never rests on
        // the time index alone (a cache that may be damaged). No batch at all (compaction
        // emptied it): removing it loses nothing.
        let max_timestamp = r.segment_max_timestamp(b, t)?.unwrap_or(i64::MIN);
        out.push(SegmentInfo {
            base: b,
            bytes,
            max_timestamp,
        });
    }
    Ok(out)
}

/// Whether retention is overdue on a partition (`topic describe`, `cluster status`): what
/// [`plan`] would delete even with a segment's worth of bytes and a minute of time to spare,
/// the slack a controller pass may take.
pub fn overdue(
    dir: &Path,
    name: &str,
    t: &Tail,
    now_ms: i64,
    retention_ms: Option<u64>,
    retention_bytes: Option<u64>,
    segment_bytes: u64,
) -> Result<bool> {
    if retention_ms.is_none() && retention_bytes.is_none() {
        return Ok(false);
    }
    // `plan` deletes something exactly when the oldest segment goes: only its age matters.
    let sealed = list_sealed(dir, name, t, 1)?;
    Ok(plan(
        &sealed,
        t.segment_base,
        t.end_position,
        now_ms.saturating_sub(60_000),
        retention_ms,
        retention_bytes.map(|r| r.saturating_add(segment_bytes)),
    )
    .is_some())
}

impl PartitionWriter {
    /// Roll the active segment if it holds records and is older than `segment_ms`.
    pub fn roll_if_older(&mut self, segment_ms: u64) -> Result<bool> {
        let _guard = self.guard()?;
        let (cx, o) = self.refresh()?;
        let a = &o.active;
        if a.tail.deleted() {
            return Err(deleted_error(&cx.name));
        }
        let due = a.tail.end_position > HDR
            && fsutil::now_ms().saturating_sub(a.created_ms) >= segment_ms as i64;
        if due {
            cx.roll(o)?;
        }
        Ok(due)
    }

    /// The sealed segments (below the active one and not wholly below the log start), oldest
    /// first, and the active segment's base and size.
    pub fn segments_for_retention(&mut self) -> Result<(Vec<SegmentInfo>, u64, u64)> {
        let _guard = self.guard()?;
        let (cx, o) = self.refresh()?;
        let t = o.active.tail;
        Ok((
            sealed_segments(&cx.dir, &cx.name, &t)?,
            t.segment_base,
            t.end_position,
        ))
    }

    /// Move the log start forward to `new_start` (clamped to the log end) and delete every
    /// sealed segment wholly below it. Returns the bytes of `.log` files removed. Producer
    /// state is checkpointed first (without producers idle over `producer_expiry_ms`), so no
    /// stamp goes before what it says is written down.
    pub fn advance_log_start(&mut self, new_start: u64, producer_expiry_ms: u64) -> Result<u64> {
        let _guard = self.guard()?;
        let (cx, o) = self.refresh()?;
        let t = o.active.tail;
        if t.deleted() {
            return Err(deleted_error(&cx.name));
        }
        let new_start = new_start.min(t.end_offset);
        if new_start > t.log_start_offset {
            super::producers::checkpoint(&cx.dir, &cx.name, &t, producer_expiry_ms)?;
            cx.publish_with(o, |t| t.log_start_offset = new_start)?;
            // The log start is a checkpoint: it must not go back after a power loss.
            cx.sync_tail(&o.tail_file)?;
            let t = o.active.tail;
            let mut e = epochs::load_or_rebuild(&cx.dir, &cx.name, &t)?;
            if trim_epochs(&mut e, new_start) {
                epochs::store(&cx.dir, &e)?;
            }
        }
        let t = o.active.tail;
        remove_below(&cx.dir, t.log_start_offset, t.segment_base)
    }
}

/// Entries wholly below the log start go; the one in force there now starts at it.
fn trim_epochs(e: &mut Vec<epochs::EpochEntry>, start: u64) -> bool {
    let Some(i) = e.iter().rposition(|x| x.start_offset <= start) else {
        return false;
    };
    if i == 0 && e[0].start_offset == start {
        return false;
    }
    e.drain(..i);
    e[0].start_offset = start;
    true
}

/// Rename, then remove, every segment whose records are all below `log_start` (never the active
/// one), and finish any deletion a crash interrupted.
pub(super) fn remove_below(dir: &Path, log_start: u64, active_base: u64) -> Result<u64> {
    let bases: Vec<u64> = segment::list(dir)?
        .into_iter()
        .filter(|&b| b <= active_base)
        .collect();
    let mut doomed = Vec::new();
    for (i, &b) in bases.iter().enumerate() {
        let next = bases.get(i + 1).copied().unwrap_or(active_base);
        if b < active_base && next <= log_start {
            doomed.push(b);
        }
    }
    crash_point!("retention-before-rename");
    let mut freed = 0;
    for &b in &doomed {
        for ext in ["log", "index", "timeindex"] {
            let p = segment::path(dir, b, ext);
            if ext == "log" {
                freed += std::fs::metadata(&p).map(|m| m.len()).unwrap_or(0);
            }
            let to = dir.join(format!("{}.deleted", segment::file_name(b, ext)));
            match std::fs::rename(&p, &to) {
                Ok(()) => {}
                Err(e) if e.kind() == std::io::ErrorKind::NotFound => {}
                Err(e) => return Err(Error::io(&p, e)),
            }
        }
    }
    if !doomed.is_empty() {
        fsutil::sync_dir(dir)?;
        crash_point!("retention-before-remove");
    }
    // Remove every `.deleted` file, including any a crash left behind.
    for entry in std::fs::read_dir(dir).at(dir)? {
        let entry = entry.at(dir)?;
        let name = entry.file_name();
        if name.to_str().is_some_and(|n| n.ends_with(".deleted")) {
            let p = entry.path();
            match std::fs::remove_file(&p) {
                Ok(()) => {}
                Err(e) if e.kind() == std::io::ErrorKind::NotFound => {}
                Err(e) => return Err(Error::io(&p, e)),
            }
        }
    }
    Ok(freed)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn seg(base: u64, bytes: u64, ts: i64) -> SegmentInfo {
        SegmentInfo {
            base,
            bytes,
            max_timestamp: ts,
        }
    }

    #[test]
    fn size_retention_keeps_at_most_the_limit_plus_the_active_segment() {
        let s = [seg(0, 100, 0), seg(10, 100, 0), seg(20, 100, 0)];
        // 300 sealed + 50 active, limit 160: drop 0 and 10 (350 -> 150).
        assert_eq!(plan(&s, 30, 50, 0, None, Some(160)), Some(20));
        assert_eq!(plan(&s, 30, 50, 0, None, Some(1000)), None);
        // Never the active segment, however small the limit.
        assert_eq!(plan(&s, 30, 50, 0, None, Some(0)), Some(30));
    }

    #[test]
    fn time_retention_stops_at_the_first_fresh_segment() {
        let s = [seg(0, 1, 100), seg(10, 1, 5000), seg(20, 1, 100)];
        assert_eq!(plan(&s, 30, 1, 6000, Some(2000), None), Some(10));
        assert_eq!(plan(&s, 30, 1, 6000, Some(10_000), None), None);
    }

    #[test]
    fn epochs_are_trimmed_to_the_log_start() {
        let mut e = vec![
            epochs::EpochEntry {
                epoch: 0,
                start_offset: 0,
            },
            epochs::EpochEntry {
                epoch: 2,
                start_offset: 50,
            },
            epochs::EpochEntry {
                epoch: 3,
                start_offset: 90,
            },
        ];
        assert!(trim_epochs(&mut e, 60));
        assert_eq!(
            e[0],
            epochs::EpochEntry {
                epoch: 2,
                start_offset: 60
            }
        );
        assert_eq!(e.len(), 2);
    }
}
