//! The high watermark: the offset below which every in-sync replica has the records.
//!
//! It is not stored: it is the smallest of the leader's log end and each in-sync follower's
//! durable offset, read from their tails. Readers see only what is below it.
//!
//! A follower counts only once its log has been reconciled with the current leader (its tail's
//! `reconciled_epoch` is the partition's leader epoch): right after a failover, a follower may
//! still hold records of the old leader that the new one never had, at offsets where the new
//! leader writes others. Until its next sync, such a follower vouches only for what is below
//! the start of the current epoch in the leader's log (the history every replica shares).

use crate::cluster::Cluster;
use crate::cluster::metadata::{Metadata, PartitionMeta};
use crate::log::Tail;
use crate::log::{epochs, tail};
use std::fs::File;
use std::path::PathBuf;

struct Follower {
    broker: u32,
    tail_path: PathBuf,
    file: Option<File>,
    /// What it held when last read, in this epoch.
    last: Option<u64>,
}

/// The tails of a partition's in-sync followers.
pub struct HwView {
    followers: Vec<Follower>,
    epoch: u32,
    leader_dir: Option<PathBuf>,
    /// Where the current epoch starts in the leader's log, once known.
    epoch_start: Option<u64>,
}

/// What one follower contributes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum FollowerState {
    /// Reconciled with the current leader: its durable offset.
    Current(u64),
    /// Not yet reconciled in this epoch: its durable offset, trustworthy only below the
    /// current epoch's start.
    Stale(u64),
    /// Its tail cannot be read (its broker is down); what it held when it was last read.
    Unreadable(Option<u64>),
}

/// The high watermark of partition `p` given its leader's tail (one-off; see [`HwView`]).
pub fn high_watermark(
    cluster: &Cluster,
    md: &Metadata,
    topic: &str,
    p: &PartitionMeta,
    leader: &Tail,
) -> u64 {
    HwView::new(cluster, md, topic, p).high_watermark(leader)
}

impl HwView {
    pub fn new(cluster: &Cluster, md: &Metadata, topic: &str, p: &PartitionMeta) -> HwView {
        let followers = p
            .isr
            .iter()
            .filter(|&&b| Some(b) != p.leader)
            .map(|&b| Follower {
                broker: b,
                tail_path: cluster.replica_dir(md, b, topic, p.partition).join("tail"),
                file: None,
                last: None,
            })
            .collect();
        HwView {
            followers,
            epoch: p.leader_epoch,
            leader_dir: p
                .leader
                .map(|l| cluster.replica_dir(md, l, topic, p.partition)),
            epoch_start: None,
        }
    }

    /// Each in-sync follower's state.
    pub fn follower_states(&mut self) -> Vec<(u32, FollowerState)> {
        let epoch = self.epoch;
        self.followers
            .iter_mut()
            .map(|f| {
                if f.file.is_none() {
                    f.file = crate::fsutil::open_read(&f.tail_path).ok();
                }
                let t = f
                    .file
                    .as_ref()
                    .and_then(|file| tail::read(file, &f.tail_path).ok().flatten());
                let st = match t {
                    None => {
                        f.file = None;
                        FollowerState::Unreadable(f.last)
                    }
                    Some(t) if t.reconciled_epoch == epoch => {
                        f.last = Some(t.durable_offset);
                        FollowerState::Current(t.durable_offset)
                    }
                    Some(t) => FollowerState::Stale(t.durable_offset),
                };
                (f.broker, st)
            })
            .collect()
    }

    /// Where the current epoch starts in the leader's log; the leader's end if it has not
    /// written in it yet (everything it has is shared history then).
    fn epoch_start(&mut self, leader: &Tail) -> u64 {
        if let Some(s) = self.epoch_start {
            return s;
        }
        let found = self
            .leader_dir
            .as_deref()
            .and_then(|d| epochs::load(d).ok().flatten())
            .and_then(|e| {
                e.iter()
                    .find(|x| x.epoch == self.epoch)
                    .map(|x| x.start_offset)
            });
        if found.is_some() {
            self.epoch_start = found;
        }
        found.unwrap_or(leader.end_offset)
    }

    /// For readers: a follower whose tail cannot be read (its broker is down, about to leave
    /// the ISR) holds the watermark at what it had when this view last read it; one this view
    /// never could read does not hold it back (a reader starting while a disk is gone would
    /// otherwise see nothing until the ISR shrinks).
    pub fn high_watermark(&mut self, leader: &Tail) -> u64 {
        let mut hw = leader.end_offset;
        for (_, st) in self.follower_states() {
            match st {
                FollowerState::Current(o) | FollowerState::Unreadable(Some(o)) => hw = hw.min(o),
                FollowerState::Stale(o) => hw = hw.min(o).min(self.epoch_start(leader)),
                FollowerState::Unreadable(None) => {}
            }
        }
        hw
    }

    /// For `--acks all`: every in-sync follower must have the records in the current epoch;
    /// one that cannot be read or is not reconciled yet holds the watermark where it is.
    pub fn strict_high_watermark(&mut self, leader: &Tail) -> u64 {
        let mut hw = leader.end_offset;
        for (_, st) in self.follower_states() {
            match st {
                FollowerState::Current(o) => hw = hw.min(o),
                FollowerState::Stale(o) => hw = hw.min(o).min(self.epoch_start(leader)),
                FollowerState::Unreadable(_) => hw = 0,
            }
        }
        hw
    }
}

/// Whether follower `broker` may join the ISR of `p` now: it holds, fsynced and reconciled with
/// the current leader, everything below the high watermark readers compute with the ISR as it
/// is. "Caught up" from a sync means caught up with the leader's end when that sync started;
/// the other in-sync replicas may have moved the watermark on since. Letting it in then would
/// move the watermark back below records readers were already given, and make it a leader
/// candidate that lacks them. Called under the metadata lock, just before the ISR changes.
pub fn may_join(
    cluster: &Cluster,
    md: &Metadata,
    topic: &str,
    p: &PartitionMeta,
    broker: u32,
) -> bool {
    let Some(leader) = p.leader else {
        return false;
    };
    let read = |b: u32| {
        let path = cluster.replica_dir(md, b, topic, p.partition).join("tail");
        let f = crate::fsutil::open_read(&path).ok()?;
        tail::read(&f, &path).ok().flatten()
    };
    let (Some(lt), Some(ft)) = (read(leader), read(broker)) else {
        return false;
    };
    ft.reconciled_epoch == p.leader_epoch
        && ft.durable_offset >= HwView::new(cluster, md, topic, p).high_watermark(&lt)
}

/// A follower that caught up but may not join yet ([`may_join`]: the high watermark moved on
/// while it copied) gets a few more syncs right away, each copying only what was added since.
/// Without this, under a steady `--acks all` stream the others keep moving the watermark and it
/// might never join. Returns whether it may join now (the final check is under the metadata
/// lock).
pub fn catch_up_to_join(
    cluster: &Cluster,
    md: &Metadata,
    syncer: &mut crate::replica::Syncer,
    topic: &str,
    p: &PartitionMeta,
    broker: u32,
) -> bool {
    for _ in 0..4 {
        if may_join(cluster, md, topic, p, broker) {
            return true;
        }
        let synced = syncer
            .sync_partition(cluster, md, topic, p, u64::MAX)
            .into_iter()
            .any(|r| r.broker == broker && r.result.as_ref().is_ok_and(|f| f.caught_up()));
        if !synced {
            return false;
        }
    }
    may_join(cluster, md, topic, p, broker)
}
