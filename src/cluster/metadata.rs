//! Cluster metadata: brokers, topics, configs, partition assignment. One JSON file, replaced
//! atomically (write temp, fsync, rename, fsync dir) under `metadata.lock`, versioned by `epoch`.

use super::config::Overrides;
use crate::error::{Error, Result};
use crate::versioned::{Kind, read_versioned, write_versioned};
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

pub const FORMAT: &str = "chute-metadata";
pub const VERSION: u32 = 1;

const KIND: Kind = Kind {
    format: FORMAT,
    version: VERSION as u64,
    what: "chute metadata file",
    on_other_version: "upgrade chute",
};

#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
pub struct Metadata {
    /// Always "chute-metadata": a file that says anything else is not ours.
    pub format: String,
    /// Format version; a newer one is refused with a clear message.
    pub version: u32,
    /// Bumped by every change, so readers can tell two versions apart.
    pub epoch: u64,
    /// Epoch of the controller that last wrote (fencing; see docs/replication.md).
    pub controller_epoch: u64,
    pub cluster_id: String,
    pub brokers: Vec<Broker>,
    pub topics: BTreeMap<String, Topic>,
    /// Cluster-wide settings (`cluster config set`), only those set; settings.rs knows the
    /// keys and their defaults. Absent in files written before they existed, and ignored by
    /// chutes that predate them.
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub config: BTreeMap<String, String>,
}

#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
pub struct Broker {
    pub id: u32,
    /// A directory elsewhere (another disk); `None` means `<root>/brokers/<id>`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub path: Option<PathBuf>,
    /// Marked down by an operator (`chute broker down`).
    #[serde(default)]
    pub down: bool,
    /// Being emptied (`chute broker drain`): new topics and partitions are not placed here.
    /// Cleared by `chute broker up`.
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub draining: bool,
}

#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
pub struct Topic {
    /// Unique per creation, so a topic deleted and created again never meets old files.
    pub id: String,
    #[serde(default)]
    pub config: Overrides,
    pub partitions: Vec<PartitionMeta>,
}

#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
pub struct PartitionMeta {
    pub partition: u32,
    pub replicas: Vec<u32>,
    pub leader: Option<u32>,
    pub leader_epoch: u32,
    pub isr: Vec<u32>,
    /// A reassignment in progress (`topic reassign`): replicas being added (already in
    /// `replicas`, catching up) and replicas to drop once every added one is in sync.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub adding: Vec<u32>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub removing: Vec<u32>,
}

impl Metadata {
    pub fn new(cluster_id: String, brokers: Vec<Broker>) -> Self {
        Metadata {
            format: FORMAT.into(),
            version: VERSION,
            epoch: 0,
            controller_epoch: 0,
            cluster_id,
            brokers,
            topics: BTreeMap::new(),
            config: BTreeMap::new(),
        }
    }

    pub fn parse(path: &Path, bytes: &[u8]) -> Result<Self> {
        read_versioned(path, bytes, &KIND)
    }

    pub fn to_bytes(&self) -> Vec<u8> {
        write_versioned(self, &KIND, true)
    }

    pub fn topic(&self, name: &str) -> Result<&Topic> {
        self.topics
            .get(name)
            .ok_or_else(|| Error::NotFound(format!("unknown topic {name:?}")))
    }

    /// Every partition that has a leader (of `topic`, or of all topics), with its topic: what
    /// the maintenance passes (retention, compaction) walk.
    pub fn led_partitions<'a>(
        &'a self,
        topic: Option<&'a str>,
    ) -> impl Iterator<Item = (&'a String, &'a Topic, &'a PartitionMeta)> + 'a {
        self.topics
            .iter()
            .filter(move |(name, _)| topic.is_none_or(|x| x == name.as_str()))
            .flat_map(|(name, t)| {
                t.partitions
                    .iter()
                    .filter(|p| p.leader.is_some())
                    .map(move |p| (name, t, p))
            })
    }

    pub fn broker(&self, id: u32) -> Option<&Broker> {
        self.brokers.iter().find(|b| b.id == id)
    }
}

impl PartitionMeta {
    /// The replica set a reassignment in progress is heading for (the current one otherwise).
    pub fn target_replicas(&self) -> Vec<u32> {
        self.replicas
            .iter()
            .copied()
            .filter(|b| !self.removing.contains(b))
            .collect()
    }
}

impl Topic {
    pub fn partition(&self, topic: &str, p: u32) -> Result<&PartitionMeta> {
        self.partitions.get(p as usize).ok_or_else(|| {
            Error::NotFound(format!(
                "topic {topic:?} has no partition {p} (it has {} partition{}: 0..{})",
                self.partitions.len(),
                if self.partitions.len() == 1 { "" } else { "s" },
                self.partitions.len().saturating_sub(1)
            ))
        })
    }
}

/// Kafka's replica assignment: round-robin from a shifted start, followers shifted again,
/// so leaders and followers are spread evenly over brokers.
pub fn assign_replicas(
    brokers: &[u32],
    partitions: std::ops::Range<u32>,
    rf: u32,
    seed: u32,
) -> Vec<Vec<u32>> {
    let n = brokers.len() as u32;
    let start = seed % n;
    let shift0 = if n > 1 { seed % (n - 1) } else { 0 };
    partitions
        .map(|p| {
            let first = (start + p) % n;
            let shift = if n > 1 {
                1 + (shift0 + p / n) % (n - 1)
            } else {
                0
            };
            let mut r = vec![brokers[first as usize]];
            for j in 0..rf.saturating_sub(1) {
                let idx = (first + 1 + (shift + j) % (n - 1).max(1)) % n;
                r.push(brokers[idx as usize]);
            }
            r
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn assignment_spreads_leaders_and_never_repeats_a_broker() {
        let brokers = [0, 1, 2];
        let a = assign_replicas(&brokers, 0..6, 3, 0);
        for r in &a {
            let mut s = r.clone();
            s.sort();
            s.dedup();
            assert_eq!(s.len(), 3, "{r:?}");
        }
        let mut leaders = [0; 3];
        for r in &a {
            leaders[r[0] as usize] += 1;
        }
        assert_eq!(leaders, [2, 2, 2]);
    }
}
