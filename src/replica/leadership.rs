//! Leadership rules applied to metadata: moving leadership to preferred replicas, and what
//! follows an election on disk (the new leader claims its epoch, the old one is fenced). The
//! controller, `topic elect-leaders` and reassignments all go through here.

use crate::cluster::Cluster;
use crate::cluster::brokers::State;
use crate::cluster::metadata::{Metadata, PartitionMeta};
use crate::error::Result;
use crate::log::{PartitionWriter, WriterOptions};
use crate::replica::isr;
use std::time::Duration;

/// Whoever changes leadership waits this long for a replica's partition lock, then moves on
/// (the controller tries again next pass).
pub const SYNC_LOCK_TIMEOUT: Duration = Duration::from_millis(100);

/// (topic, before, after)
pub type Change = (String, PartitionMeta, PartitionMeta);

pub fn describe_change(name: &str, old: &PartitionMeta, new: &PartitionMeta, why: &str) -> String {
    let l = |x: Option<u32>| x.map_or("none".to_string(), |b| b.to_string());
    let mut parts = Vec::new();
    if old.leader != new.leader {
        parts.push(format!(
            "leader {} -> {} (epoch {})",
            l(old.leader),
            l(new.leader),
            new.leader_epoch
        ));
    }
    if old.isr != new.isr {
        parts.push(format!("isr {:?} -> {:?}", old.isr, new.isr));
    }
    format!(
        "partition {name}-{}: {} [{why}]",
        new.partition,
        parts.join(", ")
    )
}

/// After an election: the new leader starts its epoch (its checkpoint gains the entry that
/// tells returning replicas where to cut), and the old leader's replica, if reachable, is
/// fenced so a producer that has not noticed yet is refused there.
pub fn claim_epochs(cluster: &Cluster, md: &Metadata, changes: &[Change]) {
    for (name, old, new) in changes {
        if old.leader_epoch == new.leader_epoch {
            continue;
        }
        let pname = format!("{name}-{}", new.partition);
        let claim = |b: u32, as_leader: bool| {
            let dir = cluster.replica_dir(md, b, name, new.partition);
            if cluster.broker_status(md, b, false).state != State::Up || !dir.is_dir() {
                return;
            }
            let opts = WriterOptions {
                lock_timeout: SYNC_LOCK_TIMEOUT,
                ..WriterOptions::default()
            };
            if let Ok(mut w) = PartitionWriter::open(&dir, &pname, opts) {
                let _ = w.claim_epoch(new.leader_epoch, as_leader);
            }
        };
        if let Some(l) = new.leader {
            claim(l, true);
        }
        if let Some(l) = old.leader
            && Some(l) != new.leader
        {
            claim(l, false);
        }
    }
}

/// Move leadership back to each partition's preferred replica where it is live and in sync
/// (all topics, or one).
pub fn prefer_all(md: &mut Metadata, topic: Option<&str>, up: &dyn Fn(u32) -> bool) -> Vec<Change> {
    let mut changes = Vec::new();
    for (name, t) in md.topics.iter_mut() {
        if topic.is_some_and(|x| x != name) {
            continue;
        }
        for p in t.partitions.iter_mut() {
            if let Some(n) = isr::prefer(p, up) {
                changes.push((name.clone(), p.clone(), n.clone()));
                *p = n;
            }
        }
    }
    changes
}

/// `topic elect-leaders T`: preferred leaders back now. Returns the changes made.
pub fn elect_preferred(cluster: &Cluster, topic: &str) -> Result<Vec<Change>> {
    let md = cluster.metadata_with_topic(topic)?;
    let up = cluster.live_brokers(&md, false);
    let mut changes = Vec::new();
    cluster.update(|md| {
        changes = prefer_all(md, Some(topic), &|b| up.contains(&b));
        Ok(())
    })?;
    let md = cluster.metadata()?;
    claim_epochs(cluster, &md, &changes);
    Ok(changes)
}
