//! The high watermark: the offset below which every in-sync replica has the records.
//!
//! It is not stored: it is the smallest of the leader's log end and each in-sync follower's
//! durable offset, read from their tails. Readers see only what is below it.

use crate::cluster::Cluster;
use crate::cluster::metadata::{Metadata, PartitionMeta};
use crate::log::Tail;
use crate::log::tail;
use std::fs::File;
use std::path::PathBuf;

struct Follower {
    broker: u32,
    tail_path: PathBuf,
    file: Option<File>,
}

/// The tails of a partition's in-sync followers.
pub struct HwView {
    followers: Vec<Follower>,
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
            })
            .collect();
        HwView { followers }
    }

    /// A partition without followers: the high watermark is the leader's log end.
    pub fn leader_only() -> HwView {
        HwView {
            followers: Vec::new(),
        }
    }

    pub fn has_followers(&self) -> bool {
        !self.followers.is_empty()
    }

    /// Each in-sync follower's durable offset (`None`: its tail cannot be read now).
    pub fn follower_offsets(&mut self) -> Vec<(u32, Option<u64>)> {
        self.followers
            .iter_mut()
            .map(|f| {
                if f.file.is_none() {
                    f.file = crate::fsutil::open_read(&f.tail_path).ok();
                }
                let off = f
                    .file
                    .as_ref()
                    .and_then(|file| tail::read(file, &f.tail_path).ok().flatten())
                    .map(|t| t.durable_offset);
                if off.is_none() {
                    f.file = None;
                }
                (f.broker, off)
            })
            .collect()
    }

    /// For readers: followers whose tail cannot be read are on a broker that is down and about
    /// to leave the ISR; they do not hold the watermark back. (Whatever is below it is still on
    /// every in-sync replica that can become leader.)
    pub fn high_watermark(&mut self, leader: &Tail) -> u64 {
        self.follower_offsets()
            .into_iter()
            .filter_map(|(_, o)| o)
            .fold(leader.end_offset, u64::min)
    }

    /// For `--acks all`: every in-sync follower must have the records; one that cannot be read
    /// holds the watermark where it is until the ISR drops it.
    pub fn strict_high_watermark(&mut self, leader: &Tail) -> u64 {
        self.follower_offsets()
            .into_iter()
            .map(|(_, o)| o.unwrap_or(0))
            .fold(leader.end_offset, u64::min)
    }
}
