//! Crash recovery, under the partition lock before anything is written: the files may hold
//! what a dead writer left (bytes beyond the commit point, index entries past the end, segments
//! of an unfinished roll), or may have lost, with a crash of the whole machine, batches that
//! were published but never fsynced. Both are settled against the tail, the commit point
//! (log/tail.rs); a lost tail is rebuilt from the segments.

use super::epochs;
use super::file_header;
use super::index::{self, IndexEntry, TimeEntry};
use super::scan::Next;
use super::segment;
use super::tail::{self, Tail};
use super::writer::{Active, Ctx, HDR, Open, PartitionWriter, State, deleted_error};
use crate::error::{Error, IoContext, Result};
use crate::fsutil;
use std::fs::File;

impl PartitionWriter {
    /// Under the lock: make our view match the published tail and repair what dead writers left.
    /// Hands back the open state, with the rest of the writer to use alongside it.
    pub(super) fn refresh(&mut self) -> Result<(&mut Ctx, &mut Open)> {
        let PartitionWriter { cx, state } = self;
        let o = cx.refresh(state)?;
        Ok((cx, o))
    }
}

impl Ctx {
    /// [`PartitionWriter::refresh`], for a caller that holds the two halves of the writer.
    pub(super) fn refresh<'s>(&mut self, state: &'s mut State) -> Result<&'s mut Open> {
        match state.open {
            Some(ref mut o) => {
                self.reload(o)?;
                Ok(o)
            }
            None => self.first_load(state),
        }
    }

    /// The first refresh: nothing is open yet. The tail file `open` found moves into the open
    /// state, or back where it was if the segment it names cannot be opened.
    fn first_load<'s>(&mut self, state: &'s mut State) -> Result<&'s mut Open> {
        let Some(tail_file) = state.unloaded.take() else {
            return self.recover_without_tail(state, None);
        };
        let active = match self.open_published(&tail_file) {
            Ok(Some(a)) => a,
            Ok(None) => return self.recover_without_tail(state, Some(tail_file)),
            Err(e) => {
                state.unloaded = Some(tail_file);
                return Err(e);
            }
        };
        let o = state.open.insert(Open { tail_file, active });
        self.reopen = false;
        self.settle(o)?;
        Ok(o)
    }

    /// The active segment of the tail published in `tail_file`; None if there is no valid tail.
    fn open_published(&mut self, tail_file: &File) -> Result<Option<Active>> {
        let Some(t) = self.published(tail_file)? else {
            return Ok(None);
        };
        // As in `reload`: what we cached about the epoch checkpoint may be old.
        self.epoch_last = None;
        self.open_active(t).map(Some)
    }

    /// The published tail (None: no valid one), unless the partition was deleted.
    fn published(&self, tail_file: &File) -> Result<Option<Tail>> {
        let t = tail::read(tail_file, &self.tail_path)?;
        if t.is_some_and(|t| t.deleted()) {
            // Checked before touching any file by path: the directory may be gone already, or
            // belong to a topic created again under the same name.
            return Err(deleted_error(&self.name));
        }
        Ok(t)
    }

    /// A refresh of what is open already: to the published tail, in place.
    pub(super) fn reload(&mut self, o: &mut Open) -> Result<()> {
        let Some(t) = self.published(&o.tail_file)? else {
            return self.recover_tail_in_place(o);
        };
        if !self.stale && self.checked && !self.reopen && o.active.tail == t {
            return Ok(());
        }
        // Another process published: what we cached about the epoch checkpoint may be old.
        self.epoch_last = None;
        if self.reopen || o.active.tail.segment_base != t.segment_base {
            o.active = self.open_active(t)?;
            self.reopen = false;
        } else {
            o.active.tail = t;
        }
        self.settle(o)
    }

    /// The rest of a refresh, once the active segment of the published tail is open.
    fn settle(&mut self, o: &mut Open) -> Result<()> {
        let t = o.active.tail;
        self.stale = false;
        if !self.checked {
            // First time this process writes here: anything published but never fsynced may
            // have been lost with a machine crash. Validate it, and clear out uncommitted files.
            let tf = &o.tail_file;
            if !tail::header_ok(tf, &self.tail_path)? {
                tail::repair_header(tf, &self.tail_path)?;
            }
            segment::remove_uncommitted_segments(&self.dir, t.segment_base)?;
            self.validate_unsynced(o)?;
            self.checked = true;
        }
        self.truncate_unpublished(o)?;
        self.fix_indexes(o)
    }

    fn open_active(&mut self, t: Tail) -> Result<Active> {
        let base = t.segment_base;
        let log_path = segment::path(&self.dir, base, "log");
        let log = fsutil::open_rw(&log_path).map_err(|e| match e {
            Error::Io { source, .. } if source.kind() == std::io::ErrorKind::NotFound => {
                Error::Corrupt {
                    partition: self.name.clone(),
                    offset: base,
                    detail: format!("active segment {} is missing", log_path.display()),
                }
            }
            e => e,
        })?;
        let created_ms = segment::read_header(&log, &log_path, file_header::LOG_MAGIC, base)?;
        let index_path = segment::path(&self.dir, base, "index");
        let timeindex_path = segment::path(&self.dir, base, "timeindex");
        let index = index::open_index(&index_path, file_header::INDEX_MAGIC, base)?;
        let timeindex = index::open_index(&timeindex_path, file_header::TIMEINDEX_MAGIC, base)?;
        Ok(Active {
            tail: t,
            log,
            log_path,
            index,
            index_path,
            timeindex,
            timeindex_path,
            created_ms,
            index_len: 0,
            timeindex_len: 0,
            cadence: index::Cadence::default(),
        })
    }

    /// Batches between the durable offset and the end were published but maybe never reached
    /// the disk. Check them; cut the log at the first bad one.
    fn validate_unsynced(&mut self, o: &mut Open) -> Result<()> {
        let a = &mut o.active;
        let t = a.tail;
        let log_len = a.log.metadata().at(&a.log_path)?.len();
        if t.durable_offset >= t.end_offset && log_len >= t.end_position {
            return Ok(());
        }
        let idx_len = a.index.metadata().at(&a.index_path)?.len();
        let rel = (t.durable_offset - t.segment_base).min(u32::MAX as u64) as u32;
        let end = t.end_position.min(log_len);
        // The index is a cache, never fsynced ahead of the log: the batch it points at must
        // check out (whole, with the offset it claims) before the scan from there is trusted;
        // otherwise scan the segment from its start. (Trusting it blindly could cut good records.)
        let (mut pos, mut off, index_bad) = index::verified_start(
            &a.index,
            idx_len,
            t.segment_base,
            rel,
            end,
            &mut self.scanner,
            &a.log,
            &a.log_path,
            end,
            true,
        )?;
        let mut durable_pos = None;
        loop {
            if off == t.durable_offset && durable_pos.is_none() {
                durable_pos = Some(pos);
            }
            let next = self.scanner.next(&a.log, &a.log_path, pos, end, true)?;
            match next {
                Next::Batch { header, .. }
                    if header.base_offset == off
                        || (off < t.durable_offset && header.base_offset > off) =>
                {
                    pos += header.len() as u64;
                    off = header.next_offset();
                }
                Next::Batch { .. } | Next::Bad { .. } | Next::End if off < t.durable_offset => {
                    return Err(Error::Corrupt {
                        partition: self.name.clone(),
                        offset: off,
                        detail: format!(
                            "batch at byte {pos} of {} is damaged or missing below the durable offset {}",
                            a.log_path.display(),
                            t.durable_offset
                        ),
                    });
                }
                _ => break,
            }
        }
        self.scanner.invalidate();
        if off != t.end_offset || pos != t.end_position {
            // Lost with a machine crash before it was fsynced: cut the log back.
            a.log.set_len(pos).at(&a.log_path)?;
            let mut nt = a.tail;
            nt.end_offset = off;
            nt.end_position = pos;
            nt.durable_offset = nt.durable_offset.min(off);
            tail::publish(&o.tail_file, &self.tail_path, &mut a.tail, nt)?;
            let from = if index_bad {
                HDR
            } else {
                durable_pos.unwrap_or(HDR)
            };
            self.reindex_from(o, from)?;
        } else if index_bad {
            self.reindex_from(o, HDR)?;
        }
        Ok(())
    }

    /// Bytes beyond the published end were written by a writer that died before publishing.
    /// The tail is the commit point: whatever lies beyond it was never committed, so it is cut,
    /// even whole batches. (Adopting them would make records appear after readers had already
    /// seen the end of the log without them, behind the back of whoever re-sends them.)
    fn truncate_unpublished(&self, o: &mut Open) -> Result<()> {
        let a = &mut o.active;
        let log_len = a.log.metadata().at(&a.log_path)?.len();
        let end = a.tail.end_position;
        if log_len > end {
            a.log.set_len(end).at(&a.log_path)?;
        }
        Ok(())
    }

    /// Load index state; drop entries beyond the end (left by a dead writer).
    fn fix_indexes(&mut self, o: &mut Open) -> Result<()> {
        let a = &mut o.active;
        a.index_len = a.index.metadata().at(&a.index_path)?.len();
        a.timeindex_len = a.timeindex.metadata().at(&a.timeindex_path)?.len();
        let li = index::file::last_index(&a.index, a.index_len);
        let lt = index::file::last_time(&a.timeindex, a.timeindex_len);
        let end_rel = a.tail.end_offset - a.tail.segment_base;
        let index_ok = (a.index_len - HDR).is_multiple_of(index::INDEX_ENTRY as u64)
            && li.is_none_or(|e| (e.position as u64) < a.tail.end_position);
        let time_ok = (a.timeindex_len - HDR).is_multiple_of(index::TIME_ENTRY as u64)
            && lt.is_none_or(|e| (e.rel_offset as u64) < end_rel);
        let empty_index_but_data = li.is_none() && a.tail.end_position > HDR;
        if index_ok && time_ok && !empty_index_but_data {
            a.cadence = index::Cadence {
                last_index_pos: li.map(|e| e.position as u64),
                last_time: lt.map_or(i64::MIN, |e| e.timestamp),
            };
            return Ok(());
        }
        let aligned = (a.index_len - HDR).is_multiple_of(index::INDEX_ENTRY as u64)
            && (a.timeindex_len - HDR).is_multiple_of(index::TIME_ENTRY as u64);
        if aligned && !empty_index_but_data {
            // Only entries past the end, left by a writer that died: keep the rest.
            let end = a.tail.end_position;
            return self.reindex_from(o, end);
        }
        self.reindex_from(o, HDR)
    }

    /// Drop index entries at or after `from` and re-add them by scanning the log to the end.
    /// If the entries kept below `from` turn out wrong, rebuild the whole segment's indexes.
    pub(super) fn reindex_from(&mut self, o: &mut Open, from: u64) -> Result<()> {
        match self.reindex_inner(o, from) {
            Err(Error::Corrupt { .. }) if from > HDR => self.reindex_inner(o, HDR),
            r => r,
        }
    }

    /// Streams: memory stays small however large the segment and its indexes are. Entries below
    /// `from` are kept by truncating the files after them; new ones are appended.
    fn reindex_inner(&mut self, o: &mut Open, from: u64) -> Result<()> {
        use index::file::{entry_count, index_at, partition_point, time_at};
        let a = &mut o.active;
        let base = a.tail.segment_base;
        let end = a.tail.end_position;
        let idx_len = a.index.metadata().at(&a.index_path)?.len();
        let n_idx = entry_count(idx_len, index::INDEX_ENTRY);
        // From the header on, nothing is kept: an entry pointing inside the header (a zeroed
        // one, say) would otherwise sort below every `from` and survive every rebuild.
        let keep_idx = if from <= HDR {
            0
        } else {
            partition_point(
                n_idx,
                |i| index_at(&a.index, i),
                |e| (e.position as u64) < from,
            )
        };
        let last_kept = match keep_idx {
            0 => None,
            k => index_at(&a.index, k - 1),
        };
        let start_pos = last_kept.map_or(HDR, |e| e.position as u64);
        let start_off = last_kept.map_or(base, |e| base + e.rel_offset as u64);

        // Pass 1: index entries for batches at or after `from`, and the first offset there.
        let mut out = index::ChunkedWriter::new(
            &a.index,
            &a.index_path,
            HDR + keep_idx * index::INDEX_ENTRY as u64,
        );
        out.truncate()?;
        let mut last_pos = last_kept.map(|e| e.position as u64);
        let (mut pos, mut off) = (start_pos, start_off);
        let mut time_cut: Option<u64> = None;
        self.scanner.invalidate();
        loop {
            match self.scanner.next(&a.log, &a.log_path, pos, end, false)? {
                Next::Batch { header, .. } => {
                    if pos == start_pos && last_kept.is_some() && header.base_offset != off {
                        return Err(Error::Corrupt {
                            partition: self.name.clone(),
                            offset: off,
                            detail: format!(
                                "index entry for offset {off} points at byte {pos}, where offset {} starts",
                                header.base_offset
                            ),
                        });
                    }
                    if pos >= from {
                        time_cut.get_or_insert(header.base_offset);
                        if last_pos.is_none_or(|p| pos - p >= index::INTERVAL) {
                            out.push(&index::encode_index(IndexEntry {
                                rel_offset: (header.base_offset - base) as u32,
                                position: pos as u32,
                            }))?;
                            last_pos = Some(pos);
                        }
                    }
                    off = header.next_offset();
                    pos += header.len() as u64;
                }
                Next::End => break,
                Next::Bad { error, .. } => {
                    // Bad at the kept entry's position means the kept entry lied, not the log:
                    // Corrupt here makes the caller rebuild from the header.
                    let detail = if pos == start_pos && last_kept.is_some() {
                        format!(
                            "index entry for offset {off} points at byte {pos}, where no batch starts"
                        )
                    } else {
                        format!(
                            "cannot index {} at byte {pos}: {error}",
                            a.log_path.display(),
                        )
                    };
                    return Err(Error::Corrupt {
                        partition: self.name.clone(),
                        offset: off,
                        detail,
                    });
                }
            }
        }
        let index_len = out.finish()?;

        // Pass 2: time entries for batches from the cut on, after those kept below it.
        let cut = time_cut.unwrap_or(off);
        let tix_len = a.timeindex.metadata().at(&a.timeindex_path)?.len();
        let n_time = entry_count(tix_len, index::TIME_ENTRY);
        let keep_time = partition_point(
            n_time,
            |i| time_at(&a.timeindex, i),
            |e| base + (e.rel_offset as u64) < cut,
        );
        let mut last_time = match keep_time {
            0 => i64::MIN,
            k => time_at(&a.timeindex, k - 1).map_or(i64::MIN, |e| e.timestamp),
        };
        let mut out = index::ChunkedWriter::new(
            &a.timeindex,
            &a.timeindex_path,
            HDR + keep_time * index::TIME_ENTRY as u64,
        );
        out.truncate()?;
        pos = start_pos;
        while let Next::Batch { header, .. } =
            self.scanner.next(&a.log, &a.log_path, pos, end, false)?
        {
            if header.base_offset >= cut && header.max_timestamp > last_time {
                out.push(&index::encode_time(TimeEntry {
                    timestamp: header.max_timestamp,
                    rel_offset: (header.base_offset - base) as u32,
                }))?;
                last_time = header.max_timestamp;
            }
            pos += header.len() as u64;
        }
        self.scanner.invalidate();
        a.timeindex_len = out.finish()?;
        a.index_len = index_len;
        a.cadence = index::Cadence {
            last_index_pos: last_pos,
            last_time,
        };
        Ok(())
    }

    /// No valid tail at the first refresh: a new partition, or one whose tail file was lost.
    /// `old` is the tail file found (None: there was none); on failure the files stay as
    /// [`rebuild_tail`](Self::rebuild_tail) left them, for the next refresh.
    fn recover_without_tail<'s>(
        &mut self,
        state: &'s mut State,
        old: Option<File>,
    ) -> Result<&'s mut Open> {
        let (t, tail_file) = match self.rebuild_tail(old.as_ref()) {
            Ok(r) => r,
            Err(e) => {
                state.unloaded = old;
                return Err(e);
            }
        };
        self.stale = true;
        self.checked = true;
        let active = match self.open_active(t) {
            Ok(a) => a,
            Err(e) => {
                state.unloaded = Some(tail_file);
                return Err(e);
            }
        };
        let o = state.open.insert(Open { tail_file, active });
        self.reopen = false;
        self.stale = false;
        self.fix_indexes(o)?;
        Ok(o)
    }

    /// No valid tail any more under what is open: the same rebuild, in place.
    fn recover_tail_in_place(&mut self, o: &mut Open) -> Result<()> {
        let (t, tail_file) = self.rebuild_tail(Some(&o.tail_file))?;
        o.tail_file = tail_file;
        self.reopen = true;
        self.stale = true;
        self.checked = true;
        o.active = self.open_active(t)?;
        self.reopen = false;
        self.stale = false;
        self.fix_indexes(o)
    }

    /// Rebuild a lost tail from the segments: the last one is scanned and cut at its first
    /// invalid batch. Written over `old` if there is one; returns the tail and the file.
    fn rebuild_tail(&mut self, old: Option<&File>) -> Result<(Tail, File)> {
        if !self.dir.is_dir() {
            return Err(Error::NotFound(format!(
                "partition {}: directory {} does not exist (topic deleted?)",
                self.name,
                self.dir.display()
            )));
        }
        let bases = segment::list(&self.dir)?;
        let t = match bases.last() {
            None => {
                segment::create(&self.dir, 0, fsutil::now_ms())?;
                Tail {
                    seq: 0,
                    segment_base: 0,
                    end_offset: 0,
                    end_position: HDR,
                    durable_offset: 0,
                    log_start_offset: 0,
                    leader_epoch: self.opts.leader_epoch,
                    flags: 0,
                    reconciled_epoch: 0,
                }
            }
            Some(&base) => {
                let log_path = segment::path(&self.dir, base, "log");
                let log = fsutil::open_rw(&log_path)?;
                segment::read_header(&log, &log_path, file_header::LOG_MAGIC, base)?;
                let len = log.metadata().at(&log_path)?.len();
                let (mut pos, mut off) = (HDR, base);
                self.scanner.invalidate();
                let mut epoch = self.opts.leader_epoch;
                loop {
                    match self.scanner.next(&log, &log_path, pos, len, true)? {
                        Next::Batch { header, .. } if header.base_offset >= off => {
                            pos += header.len() as u64;
                            off = header.next_offset();
                            epoch = epoch.max(header.leader_epoch);
                        }
                        _ => break,
                    }
                }
                self.scanner.invalidate();
                if pos < len {
                    log.set_len(pos).at(&log_path)?;
                }
                fsutil::sync_data(&log, &log_path)?;
                Tail {
                    seq: 0,
                    segment_base: base,
                    end_offset: off,
                    end_position: pos,
                    durable_offset: off,
                    log_start_offset: bases[0],
                    // Never below an epoch the log holds: the leader-epoch checkpoint relies on
                    // the tail's epoch being the highest (src/log/epochs.rs).
                    leader_epoch: epoch.max(
                        epochs::load(&self.dir)?
                            .and_then(|e| e.last().map(|l| l.epoch))
                            .unwrap_or(0),
                    ),
                    flags: 0,
                    reconciled_epoch: 0,
                }
            }
        };
        let f = match old {
            Some(f) => {
                // Both slots invalid: overwrite the file whole.
                f.set_len(0).at(&self.tail_path)?;
                tail::create_into(f, &self.tail_path, &t)?;
                fsutil::open_rw(&self.tail_path)?
            }
            None => {
                let f = tail::create(&self.tail_path, &t)?;
                fsutil::sync_data(&f, &self.tail_path)?;
                fsutil::sync_dir(&self.dir)?;
                f
            }
        };
        Ok((t, f))
    }
}
