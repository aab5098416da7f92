//! What a group member may commit: the position of each partition up to which every record
//! was accepted (fully read by stdout's reader, or taken by the `--exec` command with exit 0),
//! written at most every `--commit-interval` unless forced.

use crate::error::Result;
use std::collections::BTreeMap;
use std::time::{Duration, Instant};

/// Where a group's committed positions go: this root's group directory ([`super::Group`]),
/// or another backend's group coordinator.
pub trait OffsetStore {
    fn group_name(&self) -> &str;
    /// Commit `offset` (the next record to deliver) for partition `p` of `topic`, durably.
    fn commit(
        &self,
        topic: &str,
        topic_id: &str,
        p: u32,
        offset: u64,
        member: Option<&str>,
    ) -> Result<()>;
}

/// A partition as the committer keys it: the topic's index in [`Committer::topic`]'s table
/// (records are matched to it once each, by name, without allocating), and the partition.
pub type Slot = (usize, u32);

/// Commits accepted positions of a member's topics, at most every `interval` unless forced.
pub struct Committer {
    pub store: Box<dyn OffsetStore>,
    pub member: String,
    /// (name, id) of each topic a partition was started of: an offset is committed with the
    /// id of the topic incarnation it was read from.
    topics: Vec<(String, String)>,
    /// Index of the topic [`slot`](Self::slot) matched last.
    recent: usize,
    /// Next offset per partition whose records before it were all accepted.
    accepted: BTreeMap<Slot, u64>,
    committed: BTreeMap<Slot, u64>,
    last: Instant,
    pub interval: Duration,
}

impl Committer {
    pub fn new(store: Box<dyn OffsetStore>, member: &str, interval: Duration) -> Self {
        Committer {
            store,
            member: member.into(),
            topics: Vec::new(),
            recent: 0,
            accepted: BTreeMap::new(),
            committed: BTreeMap::new(),
            last: Instant::now(),
            interval,
        }
    }

    /// The slot of partition `p` of `topic` (a topic not started yet is added without an id,
    /// which a reader takes as any incarnation).
    pub fn slot(&mut self, topic: &str, p: u32) -> Slot {
        // Records come in runs of one partition: the topic matched last is the likely one.
        let i = if self
            .topics
            .get(self.recent)
            .is_some_and(|(n, _)| n == topic)
        {
            self.recent
        } else if let Some(i) = self.topics.iter().position(|(n, _)| n == topic) {
            i
        } else {
            self.topics.push((topic.to_string(), String::new()));
            self.topics.len() - 1
        };
        self.recent = i;
        (i, p)
    }

    /// The name of a slot's topic.
    pub fn topic(&self, slot: Slot) -> &str {
        &self.topics[slot.0].0
    }

    /// The id of the topic incarnation a slot's partition was started from ("" if unknown).
    pub fn topic_id(&self, slot: Slot) -> &str {
        &self.topics[slot.0].1
    }

    /// The position we start a partition from counts as committed already.
    pub fn started(
        &mut self,
        topic: &str,
        topic_id: &str,
        p: u32,
        at: u64,
        committed: Option<u64>,
    ) {
        let slot = self.slot(topic, p);
        self.topics[slot.0].1 = topic_id.to_string();
        self.accepted.insert(slot, at);
        if committed == Some(at) {
            self.committed.insert(slot, at);
        } else {
            self.committed.remove(&slot);
        }
    }

    pub fn accept(&mut self, slot: Slot, next: u64) {
        // Only a partition still read here (`started`, not `forget`): what a slow reader
        // takes of a partition released since must not be committed over its new owner's.
        if let Some(e) = self.accepted.get_mut(&slot) {
            *e = (*e).max(next);
        }
    }

    /// True when something accepted is not committed yet.
    pub fn dirty(&self) -> bool {
        self.accepted
            .iter()
            .any(|(p, o)| self.committed.get(p) != Some(o))
    }

    /// Time until the next commit is due (None when nothing is pending).
    pub fn due_in(&self) -> Option<Duration> {
        self.dirty()
            .then(|| self.interval.saturating_sub(self.last.elapsed()))
    }

    /// Commit every partition whose accepted position moved, if forced or due.
    pub fn commit(&mut self, force: bool) -> Result<()> {
        if !force && self.last.elapsed() < self.interval {
            return Ok(());
        }
        let changed: Vec<(Slot, u64)> = self
            .accepted
            .iter()
            .filter(|(s, o)| self.committed.get(s) != Some(o))
            .map(|(s, o)| (*s, *o))
            .collect();
        for (slot, o) in changed {
            let (topic, id) = &self.topics[slot.0];
            self.store
                .commit(topic, id, slot.1, o, Some(&self.member))?;
            self.committed.insert(slot, o);
        }
        self.last = Instant::now();
        Ok(())
    }

    /// Forget a partition after it was committed and released.
    pub fn forget(&mut self, topic: &str, p: u32) {
        let slot = self.slot(topic, p);
        self.accepted.remove(&slot);
        self.committed.remove(&slot);
    }
}
