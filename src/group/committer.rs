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
    /// Commit `offset` (the next record to deliver) for partition `p`, durably.
    fn commit(
        &self,
        topic: &str,
        topic_id: &str,
        p: u32,
        offset: u64,
        member: Option<&str>,
    ) -> Result<()>;
}

/// Commits accepted positions of one topic, at most every `interval` unless forced.
pub struct Committer {
    pub store: Box<dyn OffsetStore>,
    pub topic: String,
    pub topic_id: String,
    pub member: String,
    /// Next offset per partition whose records before it were all accepted.
    accepted: BTreeMap<u32, u64>,
    committed: BTreeMap<u32, u64>,
    last: Instant,
    pub interval: Duration,
}

impl Committer {
    pub fn new(
        store: Box<dyn OffsetStore>,
        topic: &str,
        topic_id: &str,
        member: &str,
        interval: Duration,
    ) -> Self {
        Committer {
            store,
            topic: topic.into(),
            topic_id: topic_id.into(),
            member: member.into(),
            accepted: BTreeMap::new(),
            committed: BTreeMap::new(),
            last: Instant::now(),
            interval,
        }
    }

    /// The position we start a partition from counts as committed already.
    pub fn started(&mut self, p: u32, at: u64, committed: Option<u64>) {
        self.accepted.insert(p, at);
        if committed == Some(at) {
            self.committed.insert(p, at);
        } else {
            self.committed.remove(&p);
        }
    }

    pub(super) fn accept(&mut self, p: u32, next: u64) {
        let e = self.accepted.entry(p).or_insert(next);
        *e = (*e).max(next);
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
        let changed: Vec<(u32, u64)> = self
            .accepted
            .iter()
            .filter(|(p, o)| self.committed.get(p) != Some(o))
            .map(|(p, o)| (*p, *o))
            .collect();
        for (p, o) in changed {
            self.store
                .commit(&self.topic, &self.topic_id, p, o, Some(&self.member))?;
            self.committed.insert(p, o);
        }
        self.last = Instant::now();
        Ok(())
    }

    /// Forget a partition after it was committed and released.
    pub fn forget(&mut self, p: u32) {
        self.accepted.remove(&p);
        self.committed.remove(&p);
    }
}
