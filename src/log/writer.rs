//! Appending to a partition: many processes at once, one batch at a time under the partition lock.
//!
//! Protocol (docs/locking.md has the full story):
//! 1. take `partition.lock` (flock, exclusive, with a deadline);
//! 2. read the tail; if another writer published since we last looked, reload our view and
//!    repair anything a dead writer left beyond the commit point (log/recover.rs);
//! 3. roll the segment if the batch does not fit; write the batch, then index entries;
//! 4. publish a new tail (the commit point) and unlock.

use super::batch::SealedBatch;
use super::file_header;
use super::index;
use super::scan::Scanner;
use super::segment;
use super::tail::{self, Tail};
use crate::error::{Error, IoContext, Result};
use crate::fsutil::{self, LockFile};
use std::fs::File;
use std::os::unix::fs::FileExt;
use std::path::{Path, PathBuf};
use std::time::Duration;

pub(super) const HDR: u64 = file_header::LEN as u64;

#[derive(Debug, Clone)]
pub struct WriterOptions {
    pub segment_bytes: u64,
    /// Roll a segment older than this (ms) on the next append.
    pub segment_ms: Option<u64>,
    pub lock_timeout: Duration,
    pub leader_epoch: u32,
}

impl Default for WriterOptions {
    fn default() -> Self {
        WriterOptions {
            segment_bytes: 1 << 30,
            segment_ms: None,
            lock_timeout: Duration::from_secs(30),
            leader_epoch: 0,
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Appended {
    pub base_offset: u64,
    pub last_offset: u64,
}

pub(super) struct Active {
    pub(super) tail: Tail,
    pub(super) log: File,
    pub(super) log_path: PathBuf,
    pub(super) index: File,
    pub(super) index_path: PathBuf,
    pub(super) timeindex: File,
    pub(super) timeindex_path: PathBuf,
    pub(super) created_ms: i64,
    pub(super) index_len: u64,
    pub(super) timeindex_len: u64,
    /// Where the last index entries went (which ones the next batch needs).
    pub(super) cadence: index::Cadence,
}

impl Active {
    /// Write a run of whole batches at `pos` of the log, then their index and time-index
    /// entries after the existing ones. The one write path of a segment: the producer's append
    /// (one batch) and a follower's copy (a run of them) both go through here, and neither
    /// publishes before it returned.
    pub(super) fn write_run(
        &mut self,
        pos: u64,
        batches: &[u8],
        index: &[u8],
        time: &[u8],
    ) -> Result<()> {
        self.log.write_all_at(batches, pos).at(&self.log_path)?;
        fsutil::start_writeback(&self.log, pos, batches.len() as u64);
        if !index.is_empty() {
            self.index
                .write_all_at(index, self.index_len)
                .at(&self.index_path)?;
            self.index_len += index.len() as u64;
        }
        if !time.is_empty() {
            self.timeindex
                .write_all_at(time, self.timeindex_len)
                .at(&self.timeindex_path)?;
            self.timeindex_len += time.len() as u64;
        }
        Ok(())
    }
}

pub struct PartitionWriter {
    pub(super) cx: Ctx,
    pub(super) state: State,
}

/// Everything a writer keeps besides its open files. Held apart from [`State`] so that a step
/// under the lock can borrow both: the open state from `refresh()`, and this.
pub(super) struct Ctx {
    pub(super) dir: PathBuf,
    pub(super) name: String,
    pub(super) opts: WriterOptions,
    pub(super) lock: LockFile,
    pub(super) tail_path: PathBuf,
    /// Our cached view may disagree with the files (after an I/O error): reload fully.
    pub(super) stale: bool,
    /// The unsynced range has been validated once by this process (power-loss recovery).
    pub(super) checked: bool,
    /// The tail was moved under the active segment we have open (a truncation, a restart, a
    /// rebuilt tail): the next refresh opens it again from the files, whatever its base, and
    /// it stays set until that succeeds. A flag rather than dropping the open state, so that a
    /// step that cuts the log can reload and go on with the open state it holds.
    pub(super) reopen: bool,
    pub(super) scanner: Scanner,
    /// The last epoch in the leader-epoch checkpoint, as this process last saw it (None: reload).
    pub(super) epoch_last: Option<u32>,
}

/// A partition as loaded under the lock: the tail file and the active segment the tail names.
/// Only `refresh()` hands one out, so a step that takes one runs on a loaded partition.
pub(super) struct Open {
    pub(super) tail_file: File,
    pub(super) active: Active,
}

/// What a writer has open.
pub(super) struct State {
    /// Before the first refresh: the tail file `open` found (None: there was none yet). The
    /// first refresh moves it into `open`.
    pub(super) unloaded: Option<File>,
    /// Loaded by the first refresh; later ones update it in place.
    pub(super) open: Option<Open>,
}

impl State {
    /// The tail file, loaded or not: for reading the published tail without a refresh.
    pub(super) fn tail_file(&self) -> Option<&File> {
        match &self.open {
            Some(o) => Some(&o.tail_file),
            None => self.unloaded.as_ref(),
        }
    }
}

impl PartitionWriter {
    /// `name` is how messages refer to the partition (`topic-0`).
    pub fn open(dir: &Path, name: &str, opts: WriterOptions) -> Result<Self> {
        // A link planted where the replica directory should be would make us write elsewhere.
        if !fsutil::own_dir_exists(dir)? {
            return Err(Error::NotFound(format!(
                "partition {name}: directory {} does not exist",
                dir.display()
            )));
        }
        // The directory can vanish between the check above and here (topic deleted): that is
        // "not found", like the check, not an I/O failure.
        let gone = |e: Error| match e {
            Error::Io { source, .. } if source.kind() == std::io::ErrorKind::NotFound => {
                Error::NotFound(format!(
                    "partition {name}: directory {} does not exist (topic deleted?)",
                    dir.display()
                ))
            }
            e => e,
        };
        let lock = LockFile::open(dir.join("partition.lock")).map_err(gone)?;
        let tail_path = dir.join("tail");
        let tail_file = match fsutil::open_rw(&tail_path) {
            Ok(f) => Some(f),
            Err(Error::Io { source, .. }) if source.kind() == std::io::ErrorKind::NotFound => None,
            Err(e) => return Err(e),
        };
        Ok(PartitionWriter {
            cx: Ctx {
                dir: dir.to_path_buf(),
                name: name.to_string(),
                opts,
                lock,
                tail_path,
                stale: true,
                checked: false,
                reopen: false,
                scanner: Scanner::new(256 * 1024),
                epoch_last: None,
            },
            state: State {
                unloaded: tail_file,
                open: None,
            },
        })
    }

    pub fn name(&self) -> &str {
        &self.cx.name
    }

    /// Take the partition lock, waiting at most the writer's lock timeout.
    pub(super) fn guard(&self) -> Result<crate::fsutil::LockGuard> {
        self.cx.lock.lock(
            self.cx.opts.lock_timeout,
            &format!("partition {}", self.cx.name),
        )
    }

    /// The tail as published right now, read without the lock: for cheap "anything to do?"
    /// checks. `None` if there is no valid tail yet.
    pub fn published_tail(&self) -> Result<Option<Tail>> {
        match self.state.tail_file() {
            Some(f) => tail::read(f, &self.cx.tail_path),
            None => Ok(None),
        }
    }

    pub fn set_leader_epoch(&mut self, epoch: u32) {
        self.cx.opts.leader_epoch = epoch;
    }

    /// Append one sealed batch; returns the offsets it was given. Visible to readers on return;
    /// durable only after [`sync`](Self::sync).
    pub fn append(&mut self, batch: &mut SealedBatch<'_>) -> Result<Appended> {
        let _guard = self.guard()?;
        let (cx, o) = self.refresh()?;
        let r = cx.append_locked(o, batch);
        if r.is_err() {
            cx.stale = true;
        }
        r
    }

    /// fsync everything appended so far (by anyone) and publish it as durable.
    pub fn sync(&mut self) -> Result<u64> {
        let _guard = self.guard()?;
        let (cx, o) = self.refresh()?;
        let r = cx.sync_locked(o);
        if r.is_err() {
            cx.stale = true;
        }
        r
    }

    /// Take the lock, bring the partition to a consistent state (repairing a torn tail,
    /// rebuilding indexes), and return its tail. Used by `verify --repair` and tests.
    pub fn recover(&mut self) -> Result<Tail> {
        let _guard = self.guard()?;
        self.cx.stale = true;
        self.cx.checked = false;
        let (_, o) = self.refresh()?;
        Ok(o.active.tail)
    }

    /// Run `f` under the partition lock on a consistent partition (torn tail repaired).
    /// `verify --repair` uses it so that no writer appends while it rebuilds files.
    pub fn locked<T>(&mut self, f: impl FnOnce(&Tail) -> Result<T>) -> Result<T> {
        let _guard = self.guard()?;
        self.cx.stale = true;
        self.cx.checked = false;
        let (cx, o) = self.refresh()?;
        let t = o.active.tail;
        // Files may be rewritten by `f`: reload everything next time.
        cx.stale = true;
        let out = f(&t)?;
        // Publish the same tail under a new sequence number: writers in other processes see a
        // changed tail, leave their fast path and reload index lengths from the files.
        let a = &mut o.active;
        let same = a.tail;
        tail::publish(&o.tail_file, &cx.tail_path, &mut a.tail, same)?;
        Ok(out)
    }

    /// Mark the partition deleted so every writer stops; called with the topic being deleted.
    pub fn mark_deleted(&mut self) -> Result<()> {
        let _guard = self.guard()?;
        if let Some(f) = self.state.tail_file()
            && tail::read(f, &self.cx.tail_path)?.is_some_and(|t| t.deleted())
        {
            return Ok(());
        }
        let (cx, o) = self.refresh()?;
        let a = &mut o.active;
        let mut t = a.tail;
        t.flags |= tail::FLAG_DELETED;
        tail::publish(&o.tail_file, &cx.tail_path, &mut a.tail, t)
    }
}

/// The steps under the partition lock, on the open state `refresh()` handed back.
impl Ctx {
    /// fsync the tail: for changes that must survive a power loss (a moved log start).
    pub(super) fn sync_tail(&self, tail_file: &File) -> Result<()> {
        fsutil::sync_data(tail_file, &self.tail_path)
    }

    /// Publish the active tail as changed by `f` (under the lock).
    pub(super) fn publish_with(&self, o: &mut Open, f: impl FnOnce(&mut Tail)) -> Result<()> {
        let a = &mut o.active;
        let mut next = a.tail;
        f(&mut next);
        tail::publish(&o.tail_file, &self.tail_path, &mut a.tail, next)
    }

    pub(super) fn sync_locked(&self, o: &mut Open) -> Result<u64> {
        let a = &mut o.active;
        if a.tail.durable_offset == a.tail.end_offset {
            return Ok(a.tail.durable_offset);
        }
        fsutil::sync_data(&a.log, &a.log_path)?;
        fsutil::sync_data(&a.index, &a.index_path)?;
        fsutil::sync_data(&a.timeindex, &a.timeindex_path)?;
        crash_point!("sync-before-publish");
        let mut t = a.tail;
        t.durable_offset = t.end_offset;
        let tf = &o.tail_file;
        tail::publish(tf, &self.tail_path, &mut a.tail, t)?;
        // The tail itself is synced too, or a power loss could bring back a tail that hides
        // acknowledged records from readers until the next writer comes along.
        fsutil::sync_data(tf, &self.tail_path)?;
        Ok(a.tail.durable_offset)
    }

    pub(super) fn append_locked(
        &mut self,
        o: &mut Open,
        batch: &mut SealedBatch<'_>,
    ) -> Result<Appended> {
        let len = batch.bytes.len() as u64;
        let count = batch.record_count() as u64;
        let epoch = self.opts.leader_epoch;
        {
            let a = &o.active;
            if a.tail.deleted() {
                return Err(deleted_error(&self.name));
            }
            if a.tail.leader_epoch > epoch {
                return Err(fenced_error(&self.name, a.tail.leader_epoch, epoch));
            }
        }
        if self.epoch_last != Some(epoch) {
            self.note_leader_epoch(o, epoch)?;
        }
        {
            let a = &o.active;
            let t = &a.tail;
            let nonempty = t.end_position > HDR;
            let too_big = t.end_position + len > self.opts.segment_bytes
                || t.end_position + len > u32::MAX as u64
                || t.end_offset + count - t.segment_base > u32::MAX as u64;
            let too_old = self
                .opts
                .segment_ms
                .is_some_and(|ms| fsutil::now_ms().saturating_sub(a.created_ms) >= ms as i64);
            if nonempty && (too_big || too_old) {
                self.roll(o)?;
            }
        }
        if batch.bytes[21] & super::stamp::STAMPED != 0 {
            // However it got here (a producer, a re-send to a new leader): retention and
            // compaction of this replica must know to keep what the stamps say.
            super::producers::ensure(&self.dir, &o.active.tail)?;
        }
        let a = &mut o.active;
        let base_offset = a.tail.end_offset;
        let pos = a.tail.end_position;
        batch.stamp(base_offset, self.opts.leader_epoch);
        // Index cadence moves on only once the batch is written.
        let mut cadence = a.cadence;
        let (idx, time) =
            cadence.next(a.tail.segment_base, base_offset, pos, batch.max_timestamp());
        a.write_run(
            pos,
            batch.bytes,
            idx.as_ref().map_or(&[][..], |e| &e[..]),
            time.as_ref().map_or(&[][..], |e| &e[..]),
        )?;
        a.cadence = cadence;
        let mut t = a.tail;
        t.end_offset = base_offset + count;
        t.end_position = pos + len;
        t.leader_epoch = t.leader_epoch.max(epoch);
        // Writing as leader in this epoch: this log is the epoch's history by definition.
        t.reconciled_epoch = epoch;
        crash_point!("append-before-publish");
        tail::publish(&o.tail_file, &self.tail_path, &mut a.tail, t)?;
        crash_point!("append-after-publish");
        Ok(Appended {
            base_offset,
            last_offset: base_offset + count - 1,
        })
    }

    /// Seal the active segment (fsynced: sealed segments are always durable) and start a new one.
    pub(super) fn roll(&self, o: &mut Open) -> Result<()> {
        let a = &mut o.active;
        // A writer that died after writing but before publishing may have left bytes beyond
        // the commit point (our fast path does not look for them). A sealed segment is read
        // to its length, so cut it, and its indexes, to exactly what was published.
        a.log.set_len(a.tail.end_position).at(&a.log_path)?;
        // Its length goes into its header, so a sealed segment cut short later is seen as
        // damaged rather than read as one that ends early (the same fsync makes it durable).
        segment::seal(
            &a.log,
            &a.log_path,
            a.tail.segment_base,
            a.tail.end_position,
        )?;
        a.index.set_len(a.index_len).at(&a.index_path)?;
        a.timeindex.set_len(a.timeindex_len).at(&a.timeindex_path)?;
        fsutil::sync_data(&a.log, &a.log_path)?;
        fsutil::sync_data(&a.index, &a.index_path)?;
        fsutil::sync_data(&a.timeindex, &a.timeindex_path)?;
        let base = a.tail.end_offset;
        segment::remove_uncommitted_segments(&self.dir, a.tail.segment_base)?;
        let now = fsutil::now_ms();
        let seg = segment::create(&self.dir, base, now)?;
        crash_point!("roll-before-publish");
        let mut t = a.tail;
        t.segment_base = base;
        t.end_position = HDR;
        t.durable_offset = base;
        tail::publish(&o.tail_file, &self.tail_path, &mut a.tail, t)?;
        let tail = a.tail;
        o.active = Active {
            tail,
            log_path: segment::path(&self.dir, base, "log"),
            index_path: segment::path(&self.dir, base, "index"),
            timeindex_path: segment::path(&self.dir, base, "timeindex"),
            log: seg.log,
            index: seg.index,
            timeindex: seg.timeindex,
            created_ms: now,
            index_len: HDR,
            timeindex_len: HDR,
            cadence: index::Cadence::default(),
        };
        Ok(())
    }
}

pub(super) fn fenced_error(name: &str, theirs: u32, ours: u32) -> Error {
    Error::Fenced {
        partition: name.to_string(),
        theirs,
        ours,
    }
}

pub(super) fn deleted_error(name: &str) -> Error {
    Error::Deleted(format!("partition {name} was deleted while writing"))
}
