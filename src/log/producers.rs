//! Producer state of one partition replica: how far each retry-safe producer (`produce --id
//! NAME`) got here, so that a re-run appends only what is missing.
//!
//! The truth is in the log: each batch such a producer writes carries a stamp (`stamp.rs`)
//! with the input position of its last record, published and replicated with the records.
//! Batches do not last forever (retention deletes them, compaction rewrites them), so the
//! state they imply is written down before they go: the checkpoint file `producers` holds the
//! state as of an offset (`as_of`), and the stamps of batches at and above it complete it.
//! Whoever removes or rewrites batches (retention, compaction) first writes a checkpoint as of
//! the log end. The file's existence also says "stamped batches may follow": a producer
//! creates it before its first stamped batch, a follower before it copies one, so partitions
//! that never saw `--id` cost retention and compaction nothing. docs/producing.md has the rules.

use super::reader::PartitionReader;
use super::stamp;
use super::tail::Tail;
use crate::error::{Error, Result};
use crate::versioned::{Kind, read_versioned, write_versioned};
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

pub const FILE: &str = "producers";

const KIND: Kind = Kind {
    format: "chute-producers",
    version: 1,
    what: "producer state checkpoint",
    on_other_version: "upgrade chute",
};

/// The largest checkpoint read: each producer takes under 300 bytes.
const MAX_FILE: u64 = 64 << 20;

/// Bytes of log read past the checkpoint when a producer opens, beyond which the state is
/// written down again: each byte is then read once, not by every later run.
const CHECKPOINT_AFTER: u64 = 64 << 20;

/// What the log says of one producer on this partition.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct Entry {
    /// Input position of the last record it wrote here.
    pub last_sequence: u64,
    /// The partition count it placed records for.
    pub partitions: u32,
    /// When that batch was sealed (ms): idle expiry counts from it.
    pub written_ms: i64,
    /// The last offset of that batch.
    pub offset: u64,
}

#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct ProducerState {
    /// Stamps of batches below this offset are in `producers`; at and above it, in the log.
    pub as_of: u64,
    pub producers: BTreeMap<String, Entry>,
}

pub fn path(dir: &Path) -> PathBuf {
    dir.join(FILE)
}

impl ProducerState {
    /// The state of the partition whose tail is `t` (under its lock, so that no batch is being
    /// appended): the checkpoint, then every stamp above it. None when there is no checkpoint:
    /// no stamped batch was ever written or copied here.
    pub fn load(dir: &Path, name: &str, t: &Tail) -> Result<Option<ProducerState>> {
        Ok(Self::load_counted(dir, name, t)?.map(|(s, _)| s))
    }

    /// [`load`](Self::load), with the bytes of log it read.
    fn load_counted(dir: &Path, name: &str, t: &Tail) -> Result<Option<(ProducerState, u64)>> {
        let Some(mut s) = read_checkpoint(dir)? else {
            return Ok(None);
        };
        if s.as_of > t.end_offset {
            // The log was cut below the checkpoint (a replica made a prefix of a new leader's
            // log, or a power loss took an unsynced end): what the cut batches said is gone
            // with them, and the stamps below the cut that they had superseded count again.
            s.producers.retain(|_, e| e.offset < t.end_offset);
            s.as_of = t.log_start_offset;
        }
        let from = s.as_of.max(t.log_start_offset);
        let read = s.scan(dir, name, t, from)?;
        Ok(Some((s, read)))
    }

    /// Take in the stamps of the batches in `[from, t.end_offset)`; the bytes read.
    pub fn scan(&mut self, dir: &Path, name: &str, t: &Tail, from: u64) -> Result<u64> {
        let mut read = 0u64;
        if from < t.end_offset {
            let mut r = PartitionReader::open(dir, name)?;
            r.seek(from, t)?;
            while let Some(b) = r.next_batch(t)? {
                read += b.bytes.len() as u64;
                let last = b.header.last_offset();
                if let Some(s) = b.header.stamp(b.bytes).map_err(|detail| Error::Corrupt {
                    partition: name.to_string(),
                    offset: b.header.base_offset,
                    detail,
                })? {
                    self.apply(&s, last);
                }
            }
        }
        self.as_of = self.as_of.max(t.end_offset);
        Ok(read)
    }

    pub fn apply(&mut self, s: &stamp::Stamp<'_>, last_offset: u64) {
        // A rescan from below an entry (after a cut) never takes it back.
        if self
            .producers
            .get(s.producer)
            .is_some_and(|e| e.offset > last_offset)
        {
            return;
        }
        self.producers.insert(
            s.producer.to_string(),
            Entry {
                last_sequence: s.last_sequence,
                partitions: s.partitions,
                written_ms: s.written_ms,
                offset: last_offset,
            },
        );
    }

    /// The producer's entry, unless it has been idle longer than `expiry_ms`.
    pub fn get(&self, producer: &str, now_ms: i64, expiry_ms: u64) -> Option<Entry> {
        self.producers
            .get(producer)
            .filter(|e| !expired(producer, e, now_ms, expiry_ms))
            .copied()
    }

    /// Write the checkpoint (atomically: a torn write leaves the previous one).
    pub fn store(&self, dir: &Path) -> Result<()> {
        crate::fsutil::atomic_write(&path(dir), &write_versioned(self, &KIND, false))
    }
}

/// The checkpoint in `dir` as it is (None: none).
fn read_checkpoint(dir: &Path) -> Result<Option<ProducerState>> {
    let p = path(dir);
    let bytes = match crate::fsutil::read_small(&p, MAX_FILE) {
        Ok(b) => b,
        Err(Error::Io { source, .. }) if source.kind() == std::io::ErrorKind::NotFound => {
            return Ok(None);
        }
        Err(e) => return Err(e),
    };
    read_versioned(&p, &bytes, &KIND).map(Some)
}

/// A follower whose log is a prefix of the leader's, up to `end`: take the leader's checkpoint
/// when it says more than ours and lies within what we hold. The stamps it summarizes may be
/// gone from both logs (retention, compaction, a follower started over at the leader's log
/// start, a replica new to this broker), and a failover to us must not forget them.
pub fn adopt(dir: &Path, leader_dir: &Path, end: u64) -> Result<()> {
    let Some(theirs) = read_checkpoint(leader_dir)? else {
        return Ok(());
    };
    if theirs.as_of > end {
        return Ok(());
    }
    if read_checkpoint(dir)?.is_some_and(|ours| ours.as_of >= theirs.as_of) {
        return Ok(());
    }
    theirs.store(dir)
}

/// Ids of `chute mirror --from-kafka`'s producers (`mirror.NAME`).
pub const MIRROR_PREFIX: &str = "mirror.";

/// Idle longer than `expiry_ms`. A mirror's producer never is: its state is where the mirror
/// resumes (docs/mirror.md), and a source idle for a week must not be copied again.
fn expired(producer: &str, e: &Entry, now_ms: i64, expiry_ms: u64) -> bool {
    !producer.starts_with(MIRROR_PREFIX) && now_ms.saturating_sub(e.written_ms) > expiry_ms as i64
}

/// Before batches below `t.end_offset` are removed or rewritten: write the state as of the log
/// end, without producers idle longer than `expiry_ms`. Nothing to do where no stamped batch
/// was ever written (no checkpoint file).
pub fn checkpoint(dir: &Path, name: &str, t: &Tail, expiry_ms: u64) -> Result<()> {
    let Some(mut s) = ProducerState::load(dir, name, t)? else {
        return Ok(());
    };
    let now = crate::fsutil::now_ms();
    s.producers.retain(|id, e| !expired(id, e, now, expiry_ms));
    s.store(dir)
}

/// Before the first stamped batch at `t.end_offset`: make sure a checkpoint exists, so that
/// retention and compaction know to look for stamps (an empty one, as of the log end, if none).
pub fn ensure(dir: &Path, t: &Tail) -> Result<()> {
    if path(dir).exists() {
        return Ok(());
    }
    ProducerState {
        as_of: t.end_offset,
        producers: BTreeMap::new(),
    }
    .store(dir)
}

impl super::PartitionWriter {
    /// Under the lock: this partition's producer state as of its end (None: no stamped batch
    /// here yet), with that tail. With `create`, before a first stamped batch, the checkpoint
    /// is made if missing.
    pub fn producer_state(&mut self, create: bool) -> Result<(Option<ProducerState>, Tail)> {
        // The log up to the published end is read before the lock, so that a long stretch
        // since the last checkpoint does not hold up other producers: below it, a leader's log
        // changes only by retention and compaction, which write down what its stamps said
        // first. A cut (this replica led by another since: a new epoch) voids the early read;
        // any error in it leaves the whole read to the locked step, which reports it.
        let early = match self.published_tail() {
            Ok(Some(t)) => ProducerState::load_counted(&self.cx.dir, &self.cx.name, &t)
                .ok()
                .flatten()
                .map(|s| (s, t)),
            _ => None,
        };
        let _guard = self.guard()?;
        let (cx, o) = self.refresh()?;
        let t = o.active.tail;
        if create {
            ensure(&cx.dir, &t)?;
        }
        let loaded = match early {
            Some(((mut s, read), at))
                if (at.leader_epoch, at.reconciled_epoch)
                    == (t.leader_epoch, t.reconciled_epoch)
                    && s.as_of <= t.end_offset =>
            {
                let from = s.as_of;
                let more = s.scan(&cx.dir, &cx.name, &t, from)?;
                Some((s, read + more))
            }
            _ => ProducerState::load_counted(&cx.dir, &cx.name, &t)?,
        };
        let Some((s, read)) = loaded else {
            return Ok((None, t));
        };
        if read > CHECKPOINT_AFTER {
            s.store(&cx.dir)?;
        }
        Ok((Some(s), t))
    }

    /// Append a batch stamped by `producer` whose first record is at input position `first`.
    /// Under the lock, first: whatever was appended since `seen_end` (the log end this
    /// producer last saw here) must not hold that position or a later one from the same id:
    /// that would be a second producer with the id, running at the same time (refused,
    /// nothing written). `seen_end` moves to the new end.
    pub fn append_stamped(
        &mut self,
        batch: &mut super::batch::SealedBatch<'_>,
        producer: &str,
        first: u64,
        seen_end: &mut u64,
    ) -> Result<super::Appended> {
        let _guard = self.guard()?;
        let (cx, o) = self.refresh()?;
        let t = o.active.tail;
        if t.end_offset != *seen_end {
            let mut since = ProducerState::default();
            since.scan(&cx.dir, &cx.name, &t, (*seen_end).min(t.end_offset))?;
            if let Some(e) = since.producers.get(producer)
                && e.last_sequence >= first
            {
                return Err(Error::Temporary(format!(
                    "partition {}: another producer with --id {producer} wrote input position {} (offset {}) while this one was running; stopping without writing position {first} again (run one producer per id; re-running appends what is missing)",
                    cx.name, e.last_sequence, e.offset
                )));
            }
        }
        // (append_locked makes the checkpoint for a stamped batch.)
        let r = cx.append_locked(o, batch);
        if r.is_err() {
            cx.stale = true;
        }
        let a = r?;
        *seen_end = a.last_offset + 1;
        Ok(a)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn idle_producers_expire_but_a_mirrors_never_does() {
        let e = Entry {
            last_sequence: 9,
            partitions: 1,
            written_ms: 0,
            offset: 9,
        };
        let s = ProducerState {
            as_of: 10,
            producers: BTreeMap::from([("nightly".into(), e), ("mirror.laptop".into(), e)]),
        };
        let day = 86_400_000;
        assert_eq!(s.get("nightly", day, 7 * day as u64), Some(e));
        assert_eq!(s.get("nightly", 8 * day, 7 * day as u64), None);
        assert_eq!(s.get("mirror.laptop", 365 * day, 7 * day as u64), Some(e));
    }
}
