//! Repairing damaged acknowledged data (`verify --repair`): damage below the durable offset is
//! not a torn tail, so a writer refuses to cut it on its own. Repair finds the first batch that
//! fails its checks and then either restores everything from it on from another replica's
//! byte-identical copy, or, only when asked (`--truncate-damaged`), cuts the log there.
//!
//! Nothing is deleted: the bytes from the first bad batch on are moved into a
//! `damaged-<ms>/` directory inside the replica directory before the log is cut, and the caller
//! is told exactly which offsets were lost.

use super::epochs;
use super::file_header;
use super::reader::PartitionReader;
use super::scan::{Next, Scanner};
use super::segment;
use super::tail::{self, Tail};
use super::writer::{Ctx, HDR, Open, PartitionWriter, deleted_error};
use crate::error::{IoContext, Result};
use crate::fsutil;
use std::fs::File;
use std::path::{Path, PathBuf};

/// The first damaged batch of a replica.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Damage {
    /// Segment holding it, and the byte where the bad batch starts.
    pub segment: u64,
    pub position: u64,
    /// The offset the bad batch should have started at: everything from here on is unreadable.
    pub offset: u64,
    /// The log end offset when the damage was found.
    pub end_offset: u64,
    pub detail: String,
}

/// What [`PartitionWriter::repair_damage`] did.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Repaired {
    /// No damage below the durable offset.
    Clean,
    /// Damage that can only be cut (no replica has the data): nothing was changed.
    NeedsTruncate(Damage),
    /// Every offset from the damage on was copied back from another replica.
    Restored { damage: Damage, aside: PathBuf },
    /// The log was cut at the damage; offsets `damage.offset..damage.end_offset` are lost.
    Truncated { damage: Damage, aside: PathBuf },
}

/// Another replica to restore from: its directory and how messages name it.
pub struct Source<'a> {
    pub dir: &'a Path,
    pub name: &'a str,
}

impl PartitionWriter {
    /// Under the partition lock: find the first damaged batch below the durable offset, and
    /// restore from `source` when it holds every offset from there to the log end (checked
    /// batch by batch before anything changes), else cut only if `truncate`.
    pub fn repair_damage(
        &mut self,
        source: Option<Source<'_>>,
        truncate: bool,
    ) -> Result<Repaired> {
        let _guard = self.guard()?;
        let PartitionWriter { cx, state } = self;
        let published = match state.tail_file() {
            Some(f) => tail::read(f, &cx.tail_path)?.map(|t| (f, t)),
            None => None,
        };
        let Some((tail_file, t)) = published else {
            // A lost tail is rebuilt from the log by the ordinary path (it cuts only what is
            // beyond the last whole batch, which was never acknowledged as durable).
            cx.stale = true;
            cx.checked = false;
            cx.refresh(state)?;
            return Ok(Repaired::Clean);
        };
        if t.deleted() {
            return Err(deleted_error(&cx.name));
        }
        let Some(damage) = first_damage(&cx.dir, &t)? else {
            return Ok(Repaired::Clean);
        };
        let restore = match &source {
            Some(s) => covers(s, &damage)?,
            None => false,
        };
        if !restore && !truncate {
            return Ok(Repaired::NeedsTruncate(damage));
        }
        let aside = cx.cut_at(tail_file, &t, &damage)?;
        // Reopen from the new tail (the segment may have been a sealed one) and rebuild its
        // indexes, which still describe the bytes that were cut.
        cx.reopen = true;
        cx.stale = true;
        cx.checked = false;
        cx.epoch_last = None;
        let o = cx.refresh(state)?;
        cx.reindex_from(o, HDR)?;
        if restore {
            cx.copy_from(o, source.unwrap(), damage.offset, damage.end_offset)?;
            Ok(Repaired::Restored { damage, aside })
        } else {
            Ok(Repaired::Truncated { damage, aside })
        }
    }
}

impl Ctx {
    /// Move everything from the damaged batch on aside, cut the log there and publish the cut
    /// in `tail_file`. The caller reopens the partition from the new tail.
    fn cut_at(&self, tail_file: &File, t: &Tail, d: &Damage) -> Result<PathBuf> {
        let aside = self
            .dir
            .join(format!("damaged-{}", fsutil::now_ms().max(0)));
        std::fs::create_dir(&aside).at(&aside)?;
        let log_path = segment::path(&self.dir, d.segment, "log");
        let log = fsutil::open_rw(&log_path)?;
        let len = log.metadata().at(&log_path)?.len();
        // The damaged segment's bytes from the bad batch on, copied (the file itself stays).
        let copy = aside.join(format!(
            "{}.from-byte-{}",
            segment::file_name(d.segment, "log"),
            d.position
        ));
        {
            let out = fsutil::create_new(&copy)?;
            copy_range(&log, &log_path, d.position, len, &out, &copy)?;
            fsutil::sync_data(&out, &copy)?;
        }
        // Later segments move whole: the same file system, so a rename.
        for base in segment::list(&self.dir)? {
            if base > d.segment {
                let from = segment::path(&self.dir, base, "log");
                std::fs::rename(&from, aside.join(segment::file_name(base, "log"))).at(&from)?;
            }
        }
        fsutil::sync_dir(&aside)?;
        fsutil::sync_dir(&self.dir)?;
        // Publish the cut before shortening the file: readers stop at the new tail first.
        let mut next = *t;
        next.segment_base = d.segment;
        next.end_offset = d.offset;
        next.end_position = d.position;
        next.durable_offset = next.durable_offset.min(d.offset);
        next.log_start_offset = next.log_start_offset.min(d.offset);
        let mut cur = *t;
        tail::publish(tail_file, &self.tail_path, &mut cur, next)?;
        self.sync_tail(tail_file)?;
        segment::remove_uncommitted_segments(&self.dir, d.segment)?;
        log.set_len(d.position).at(&log_path)?;
        fsutil::sync_data(&log, &log_path)?;
        let mut es = epochs::load(&self.dir)?.unwrap_or_default();
        es.retain(|e| e.start_offset < d.offset);
        epochs::store(&self.dir, &es)?;
        Ok(aside)
    }

    /// Append the batches `from..to` of `source` (byte for byte, offsets and epochs kept), then
    /// fsync them.
    fn copy_from(&mut self, o: &mut Open, s: Source<'_>, from: u64, to: u64) -> Result<()> {
        let mut r = PartitionReader::open(s.dir, s.name)?;
        let st = r.tail()?;
        r.seek(from, &st)?;
        let t = o.active.tail;
        let mut es = epochs::load_or_rebuild(&self.dir, &self.name, &t)?;
        let mut buf = Vec::new();
        while let Some(b) = r.next_batch(&st)? {
            if b.header.base_offset >= to {
                break;
            }
            buf.extend_from_slice(b.bytes);
            if buf.len() >= 1 << 20 {
                self.append_raw_locked(o, &buf, &mut es)?;
                buf.clear();
            }
        }
        if !buf.is_empty() {
            self.append_raw_locked(o, &buf, &mut es)?;
        }
        self.sync_locked(o)?;
        Ok(())
    }
}

/// Whether `s` holds verified batches for every offset from the damage to the log end.
pub fn covers(s: &Source<'_>, d: &Damage) -> Result<bool> {
    let Ok(mut r) = PartitionReader::open(s.dir, s.name) else {
        return Ok(false);
    };
    let Ok(st) = r.tail() else { return Ok(false) };
    if st.log_start_offset > d.offset || st.end_offset < d.end_offset {
        return Ok(false);
    }
    r.seek(d.offset, &st)?;
    let mut next = d.offset;
    while next < d.end_offset {
        match r.next_batch(&st) {
            Ok(Some(b)) => {
                // Compaction may leave gaps, but never one across the damaged offset.
                if b.header.base_offset > next && next == d.offset {
                    return Ok(false);
                }
                next = b.header.next_offset();
            }
            Ok(None) | Err(_) => return Ok(false),
        }
    }
    Ok(true)
}

/// The first batch of the committed log that fails its checks below the durable offset (a bad
/// batch at or above it in the active segment is a torn tail, which a writer cuts anyway).
pub fn first_damage(dir: &Path, t: &Tail) -> Result<Option<Damage>> {
    let segs = segment::live(&segment::list(dir)?, t);
    let mut scanner = Scanner::default();
    let mut expected = segs.first().map_or(t.segment_base, |s| s.0);
    for &(base, next) in &segs {
        let active = base == t.segment_base;
        let limit = (next != u64::MAX).then_some(next);
        let log_path = segment::path(dir, base, "log");
        let bad = |pos: u64, offset: u64, detail: String| {
            Ok(Some(Damage {
                segment: base,
                position: pos,
                offset,
                end_offset: t.end_offset,
                detail,
            }))
        };
        let log = match fsutil::open_read(&log_path) {
            Ok(f) => f,
            Err(e) => return bad(HDR, expected.max(base), e.to_string()),
        };
        if let Err(e) = segment::read_header(&log, &log_path, file_header::LOG_MAGIC, base) {
            return bad(HDR, expected.max(base), e.to_string());
        }
        expected = expected.max(base);
        let extent = if active {
            None
        } else {
            Some(segment::sealed_extent(&log, &log_path, base)?)
        };
        let end = extent.map_or(t.end_position, |e| e.end);
        let mut pos = HDR;
        scanner.invalidate();
        loop {
            match scanner.next(&log, &log_path, pos, end, true)? {
                Next::Batch { header, .. } => {
                    if limit.is_some_and(|l| header.base_offset >= l) {
                        break; // a dead writer's leftovers past a sealed segment's end
                    }
                    if header.base_offset < expected {
                        return bad(
                            pos,
                            expected,
                            format!(
                                "batch at byte {pos} of {} goes back to offset {}",
                                log_path.display(),
                                header.base_offset
                            ),
                        );
                    }
                    expected = header.next_offset();
                    pos += header.len() as u64;
                }
                Next::End => break,
                Next::Bad { error, .. } => {
                    if active && expected >= t.durable_offset {
                        return Ok(None); // a torn tail: cut by the next writer
                    }
                    let detail = match extent {
                        Some(e) if e.truncated() && pos >= e.file_len => {
                            e.truncated_detail(&log_path)
                        }
                        _ => format!("batch at byte {pos} of {}: {error}", log_path.display()),
                    };
                    return bad(pos, expected, detail);
                }
            }
        }
    }
    Ok(None)
}

fn copy_range(
    from: &std::fs::File,
    from_path: &Path,
    start: u64,
    end: u64,
    to: &std::fs::File,
    to_path: &Path,
) -> Result<()> {
    use std::os::unix::fs::FileExt;
    let mut buf = vec![0u8; 1 << 20];
    let mut at = start;
    while at < end {
        let want = ((end - at) as usize).min(buf.len());
        let n = tail::read_full_at(from, &mut buf[..want], at).at(from_path)?;
        if n == 0 {
            break;
        }
        to.write_all_at(&buf[..n], at - start).at(to_path)?;
        at += n as u64;
    }
    Ok(())
}

impl std::fmt::Display for Damage {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}", self.detail)
    }
}

/// Error for a replica whose damage needs `--truncate-damaged` (used by `verify`).
pub fn needs_truncate_message(d: &Damage) -> String {
    let lost = d.end_offset.saturating_sub(d.offset);
    format!(
        "damaged data at offset {}: {}; no in-sync replica holds a copy. `chute verify --repair --truncate-damaged` would cut the log there, losing offsets {} to {} ({lost} offset{}), and move the cut bytes aside",
        d.offset,
        d.detail,
        d.offset,
        d.end_offset.saturating_sub(1).max(d.offset),
        if lost == 1 { "" } else { "s" }
    )
}
