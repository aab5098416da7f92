//! A replica's side of replication: leader epochs, fencing, truncation of a divergent tail,
//! and appending batches copied byte-for-byte from the leader (offsets and epochs kept).
//!
//! Everything here runs under the replica's partition lock, like every other write, so a
//! follower being synced by the controller and by an `--acks all` producer at the same time
//! sees one sync after the other.

use super::batch::BatchHeader;
use super::epochs::{self, EpochEntry};
use super::reader::PartitionReader;
use super::scan::Next;
use super::segment;
use super::writer::{Ctx, HDR, Open, PartitionWriter, deleted_error, fenced_error};
use crate::error::{Error, Result};
use crate::fsutil;
use std::path::Path;

/// Bytes gathered from the leader before they are written to the follower in one go.
const COPY_CHUNK: usize = 1 << 20;

/// What one [`PartitionWriter::follow`] call did.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct Followed {
    /// The follower's log end and durable offset afterwards (equal: a sync ends with fsync).
    pub end_offset: u64,
    /// The leader's log end as seen at the start.
    pub leader_end: u64,
    /// Bytes copied.
    pub copied: u64,
    /// Where a divergent tail was cut, if one was (from, to).
    pub truncated: Option<(u64, u64)>,
}

impl Followed {
    pub fn caught_up(&self) -> bool {
        self.end_offset >= self.leader_end
    }
}

impl PartitionWriter {
    /// Claim this replica for leader epoch `epoch`: writers with an older epoch are refused from
    /// now on. `as_leader` also starts the epoch in the checkpoint here (the new leader does
    /// this when elected, so followers can find where the previous epoch ended).
    pub fn claim_epoch(&mut self, epoch: u32, as_leader: bool) -> Result<()> {
        let _guard = self.guard()?;
        let (cx, o) = self.refresh()?;
        let t = o.active.tail;
        if t.deleted() {
            return Err(deleted_error(&cx.name));
        }
        if t.leader_epoch > epoch {
            return Err(fenced_error(&cx.name, t.leader_epoch, epoch));
        }
        if as_leader {
            cx.note_leader_epoch(o, epoch)?;
        }
        if t.leader_epoch < epoch || (as_leader && t.reconciled_epoch != epoch) {
            cx.publish_with(o, |t| {
                t.leader_epoch = epoch;
                if as_leader {
                    t.reconciled_epoch = epoch;
                }
            })?;
        }
        Ok(())
    }

    /// Bring this follower level with the leader replica in `leader_dir` for leader epoch
    /// `epoch`: cut any tail that diverges from the leader, then copy up to `max_bytes` of
    /// whole batches and fsync them.
    pub fn follow(
        &mut self,
        leader_dir: &Path,
        leader_name: &str,
        epoch: u32,
        max_bytes: u64,
    ) -> Result<Followed> {
        let _guard = self.guard()?;
        let (cx, o) = self.refresh()?;
        let r = cx.follow_locked(o, leader_dir, leader_name, epoch, max_bytes);
        if r.is_err() {
            cx.stale = true;
        }
        r
    }
}

impl Ctx {
    /// Record that this process writes as leader in `epoch`: the checkpoint gains an entry at
    /// the log end if the epoch is new. Called under the lock, before the first append.
    pub(super) fn note_leader_epoch(&mut self, o: &Open, epoch: u32) -> Result<()> {
        let t = o.active.tail;
        let mut entries = epochs::load_or_rebuild(&self.dir, &self.name, &t)?;
        match entries.last() {
            Some(l) if l.epoch > epoch => {
                return Err(fenced_error(&self.name, l.epoch, epoch));
            }
            Some(l) if l.epoch == epoch => {}
            _ => {
                entries.push(EpochEntry {
                    epoch,
                    start_offset: t.end_offset,
                });
                epochs::store(&self.dir, &entries)?;
            }
        }
        self.epoch_last = Some(epoch);
        Ok(())
    }

    fn follow_locked(
        &mut self,
        o: &mut Open,
        leader_dir: &Path,
        leader_name: &str,
        epoch: u32,
        max_bytes: u64,
    ) -> Result<Followed> {
        let t = o.active.tail;
        if t.deleted() {
            return Err(deleted_error(&self.name));
        }
        if t.leader_epoch > epoch {
            return Err(fenced_error(&self.name, t.leader_epoch, epoch));
        }
        let mut leader = PartitionReader::open(leader_dir, leader_name)?;
        let lt = leader.tail()?;
        if lt.deleted() {
            return Err(Error::Deleted(format!(
                "partition {leader_name}: the topic was deleted"
            )));
        }
        if lt.leader_epoch > epoch {
            return Err(fenced_error(leader_name, lt.leader_epoch, epoch));
        }
        let mut out = Followed {
            leader_end: lt.end_offset,
            ..Default::default()
        };

        // 1. Cut what the leader does not have (KIP-101/279).
        let mut mine = epochs::load_or_rebuild(&self.dir, &self.name, &t)?;
        let theirs = match epochs::load(leader_dir)? {
            Some(mut e) => {
                e.retain(|x| x.start_offset <= lt.end_offset);
                e
            }
            // Not stored by us: the leader's own writer owns that file.
            None => epochs::rebuild(leader_dir, leader_name, &lt)?,
        };
        let cut = epochs::divergence(&theirs, lt.end_offset, &mine, t.end_offset);
        if cut < t.end_offset {
            self.truncate_locked(o, cut, &mut mine)?;
            out.truncated = Some((t.end_offset, cut));
        }
        let now = o.active.tail;
        if now.leader_epoch < epoch || now.reconciled_epoch != epoch {
            // Divergence checked against this epoch's leader: from now on this replica's log is
            // a prefix of the leader's, and it may count towards the high watermark.
            self.publish_with(o, |t| {
                t.leader_epoch = epoch;
                t.reconciled_epoch = epoch;
            })?;
        }

        // 2. Copy whole batches from our end. The reader checks every CRC on the way.
        let mut end = o.active.tail.end_offset;
        if end < lt.end_offset {
            if end < lt.log_start_offset {
                // What we lack is gone from the leader (retention): start over at its log start.
                self.reset_to(o, lt.log_start_offset, &mut mine)?;
                end = lt.log_start_offset;
            }
            leader.seek(end, &lt)?;
            let mut buf: Vec<u8> = Vec::with_capacity(COPY_CHUNK + (64 << 10));
            'copy: while out.copied < max_bytes {
                buf.clear();
                while buf.len() < COPY_CHUNK {
                    let Some(b) = leader.next_batch(&lt)? else {
                        break;
                    };
                    let h = b.header;
                    if h.next_offset() <= end {
                        continue;
                    }
                    if h.base_offset < end {
                        // Our last batch ends inside one of the leader's: ours differs, so it goes.
                        if !buf.is_empty() {
                            return Err(Error::Corrupt {
                                partition: leader_name.to_string(),
                                offset: h.base_offset,
                                detail: format!("batch overlaps the previous one (ends at {end})"),
                            });
                        }
                        self.truncate_locked(o, h.base_offset, &mut mine)?;
                        out.truncated =
                            Some((out.truncated.map_or(t.end_offset, |x| x.0), h.base_offset));
                    }
                    buf.extend_from_slice(b.bytes);
                    end = h.next_offset();
                }
                if buf.is_empty() {
                    break 'copy;
                }
                self.append_raw_locked(o, &buf, &mut mine)?;
                out.copied += buf.len() as u64;
            }
        }
        out.end_offset = self.sync_locked(o)?;
        // What the leader's producer checkpoint says, once we hold the log up to it.
        super::producers::adopt(&self.dir, leader_dir, out.end_offset)?;
        if out.copied < max_bytes && out.end_offset < lt.end_offset {
            // The leader's reader ended early: its log cannot be read past here (damage, or a
            // tail lost in a crash that no writer has cut yet). Copied so far is kept.
            return Err(Error::Corrupt {
                partition: leader_name.to_string(),
                offset: out.end_offset,
                detail: format!(
                    "the leader's log (in {}) cannot be read past this offset, though it ends at {}; run `chute verify`",
                    leader_dir.display(),
                    lt.end_offset
                ),
            });
        }
        Ok(out)
    }

    /// Append batches that already carry their offsets and epochs (copied from the leader).
    /// Rolls segments by this replica's own `segment.bytes`; writes the index entries it needs.
    pub(super) fn append_raw_locked(
        &mut self,
        o: &mut Open,
        bytes: &[u8],
        epochs: &mut Vec<EpochEntry>,
    ) -> Result<()> {
        let mut off = 0usize;
        while off < bytes.len() {
            let a = &o.active;
            let mut t = a.tail;
            let start_pos = t.end_position;
            let run_start = off;
            let mut idx = Vec::new();
            let mut tidx = Vec::new();
            let mut cadence = a.cadence;
            let mut epochs_changed = false;
            let mut stamped = false;
            while off < bytes.len() {
                let h = BatchHeader::parse(&bytes[off..]).map_err(|e| Error::Corrupt {
                    partition: self.name.clone(),
                    offset: t.end_offset,
                    detail: format!("replicated batch: {e}"),
                })?;
                // Later is fine: compaction drops whole batches, leaving gaps in the offsets.
                if h.base_offset < t.end_offset {
                    return Err(Error::Corrupt {
                        partition: self.name.clone(),
                        offset: t.end_offset,
                        detail: format!(
                            "replicated batch starts at offset {}, expected {}",
                            h.base_offset, t.end_offset
                        ),
                    });
                }
                let len = h.len() as u64;
                let too_big = t.end_position + len > self.opts.segment_bytes
                    || t.end_position + len > u32::MAX as u64
                    || h.next_offset() - t.segment_base > u32::MAX as u64;
                if t.end_position > HDR && too_big {
                    break;
                }
                let (i, tm) = cadence.next(
                    t.segment_base,
                    h.base_offset,
                    t.end_position,
                    h.max_timestamp,
                );
                idx.extend(i.into_iter().flatten());
                tidx.extend(tm.into_iter().flatten());
                if epochs.last().is_none_or(|l| l.epoch < h.leader_epoch) {
                    epochs.push(EpochEntry {
                        epoch: h.leader_epoch,
                        start_offset: h.base_offset,
                    });
                    epochs_changed = true;
                }
                stamped |= h.attributes & super::stamp::STAMPED != 0;
                t.end_offset = h.next_offset();
                t.end_position += len;
                off += len as usize;
            }
            if off == run_start {
                self.roll(o)?;
                continue;
            }
            if stamped {
                // Retention and compaction here must know to keep what the stamps say.
                super::producers::ensure(&self.dir, &o.active.tail)?;
            }
            let a = &mut o.active;
            a.write_run(start_pos, &bytes[run_start..off], &idx, &tidx)?;
            a.cadence = cadence;
            if epochs_changed {
                // Before the batches become visible: a crash must not leave records whose epoch
                // the checkpoint does not know.
                epochs::store(&self.dir, epochs)?;
            }
            crash_point!("follow-before-publish");
            self.publish_with(o, |next| *next = t)?;
        }
        Ok(())
    }

    /// Empty this replica and make it start at `start` (an empty segment there): for a follower
    /// whose log ends below the leader's log start.
    fn reset_to(&mut self, o: &mut Open, start: u64, epochs: &mut Vec<EpochEntry>) -> Result<()> {
        let old_base = o.active.tail.segment_base;
        if old_base >= start {
            return Err(Error::Other(format!(
                "partition {}: cannot restart at offset {start}: a segment starts at {old_base}",
                self.name
            )));
        }
        segment::create(&self.dir, start, fsutil::now_ms())?;
        self.publish_with(o, |t| {
            t.segment_base = start;
            t.end_offset = start;
            t.end_position = HDR;
            t.durable_offset = start;
            t.log_start_offset = start;
        })?;
        self.sync_tail(&o.tail_file)?;
        epochs.clear();
        epochs::store(&self.dir, epochs)?;
        super::retention::remove_below(&self.dir, start, start)?;
        self.reopen = true;
        self.stale = true;
        self.epoch_last = None;
        self.reload(o)
    }

    /// Cut the log so that it ends at the batch boundary at or below `cut`. Segments above it
    /// go, the segment holding it becomes the active one again. Readers stop at the new tail
    /// as soon as it is published, before any byte is removed.
    fn truncate_locked(
        &mut self,
        o: &mut Open,
        cut: u64,
        epochs: &mut Vec<EpochEntry>,
    ) -> Result<()> {
        let t = o.active.tail;
        if cut >= t.end_offset {
            return Ok(());
        }
        let committed: Vec<u64> = segment::list(&self.dir)?
            .into_iter()
            .filter(|&b| b <= t.segment_base)
            .collect();
        let base = committed
            .iter()
            .rev()
            .copied()
            .find(|&b| b <= cut)
            .or_else(|| committed.first().copied())
            .unwrap_or(t.segment_base);
        let log_path = segment::path(&self.dir, base, "log");
        let log = fsutil::open_read(&log_path)?;
        let seg_end = if base == t.segment_base {
            t.end_position
        } else {
            segment::sealed_extent(&log, &log_path, base)?.end
        };
        let (mut pos, mut off) = (HDR, base);
        while let Next::Batch { header, .. } =
            self.scanner.next(&log, &log_path, pos, seg_end, false)?
        {
            if header.next_offset() > cut {
                break;
            }
            pos += header.len() as u64;
            off = header.next_offset();
        }
        self.scanner.invalidate();
        self.publish_with(o, |t| {
            t.segment_base = base;
            t.end_offset = off;
            t.end_position = pos;
            t.durable_offset = t.durable_offset.min(off);
            t.log_start_offset = t.log_start_offset.min(off);
        })?;
        // Published: the segments above are beyond the commit point now, and nobody reads them.
        segment::remove_uncommitted_segments(&self.dir, base)?;
        // Reopen from the new tail: the segment holding the cut may be a sealed one.
        self.reopen = true;
        self.stale = true;
        self.reload(o)?;
        epochs.retain(|e| e.start_offset < off);
        epochs::store(&self.dir, epochs)?;
        self.epoch_last = None;
        Ok(())
    }
}
