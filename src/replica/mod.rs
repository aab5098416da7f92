//! Replication between brokers: followers copy their leader's batches, the high watermark is
//! what every in-sync replica has, and the ISR tracks which replicas keep up.
//! The protocol is described in docs/replication.md.

pub mod compare;
pub mod dir;
pub mod drain;
pub mod hw;
pub mod isr;
pub mod leadership;
pub mod reassign;
pub mod rebuild;
pub mod sync;

pub use hw::HwView;
pub use sync::{FollowerResult, Syncer};

use crate::cluster::Cluster;
use crate::error::Result;
use std::collections::HashMap;

/// Directories of the leader replicas of every replicated partition: a sync is due when a
/// tail there changes (whoever watches: the controller, `replicate --follow`).
pub fn leader_dirs(
    cluster: &Cluster,
    md: &crate::cluster::metadata::Metadata,
) -> Vec<std::path::PathBuf> {
    let mut v = Vec::new();
    for (name, t) in &md.topics {
        for p in &t.partitions {
            if let Some(l) = p.leader
                && p.replicas.len() > 1
            {
                v.push(cluster.replica_dir(md, l, name, p.partition));
            }
        }
    }
    v
}

/// What `replicate` did to one follower replica.
pub struct ReplicaReport {
    pub topic: String,
    pub partition: u32,
    pub broker: u32,
    pub result: Result<crate::log::Followed>,
}

/// `chute replicate`: sync every follower of every replicated partition (of `topic`, or all),
/// then let followers that caught up rejoin the ISR. Needs no controller; it does not elect
/// leaders or shrink ISRs (that takes the controller's view of time and liveness).
pub fn replicate(
    cluster: &Cluster,
    topic: Option<&str>,
    syncer: &mut Syncer,
) -> Result<Vec<ReplicaReport>> {
    let md = match topic {
        Some(t) => cluster.metadata_with_topic(t)?,
        None => cluster.metadata()?,
    };
    replicate_where(cluster, &md, syncer, u64::MAX, &|name, _| {
        topic.is_none_or(|x| x == name)
    })
}

/// [`replicate`] for the partitions `which` picks, copying up to `budget` bytes per follower.
pub fn replicate_where(
    cluster: &Cluster,
    md: &crate::cluster::metadata::Metadata,
    syncer: &mut Syncer,
    budget: u64,
    which: &dyn Fn(&str, &crate::cluster::metadata::PartitionMeta) -> bool,
) -> Result<Vec<ReplicaReport>> {
    let mut out = Vec::new();
    let mut rejoin: HashMap<(String, u32, u32), Vec<u32>> = HashMap::new();
    for (name, t) in &md.topics {
        for p in &t.partitions {
            if p.replicas.len() < 2 || p.leader.is_none() || !which(name, p) {
                continue;
            }
            for r in syncer.sync_partition(cluster, md, name, p, budget) {
                if let Ok(f) = &r.result
                    && f.caught_up()
                    && !p.isr.contains(&r.broker)
                    && hw::catch_up_to_join(cluster, md, syncer, name, p, r.broker)
                {
                    rejoin
                        .entry((name.clone(), p.partition, p.leader_epoch))
                        .or_default()
                        .push(r.broker);
                }
                out.push(ReplicaReport {
                    topic: name.clone(),
                    partition: p.partition,
                    broker: r.broker,
                    result: r.result,
                });
            }
        }
    }
    if !rejoin.is_empty() {
        crate::pause_point!("isr-join");
        cluster.update(|md| {
            let snapshot = md.clone();
            for ((name, part, epoch), brokers) in &rejoin {
                let Some(t) = md.topics.get_mut(name) else {
                    continue;
                };
                let Some(p) = t.partitions.get_mut(*part as usize) else {
                    continue;
                };
                if p.leader_epoch != *epoch {
                    continue; // synced under a leader that has since changed
                }
                let seen: Vec<isr::FollowerView> = brokers
                    .iter()
                    .map(|&b| isr::FollowerView {
                        broker: b,
                        caught_up: hw::may_join(cluster, &snapshot, name, p, b),
                        lagging_ms: 0,
                    })
                    .collect();
                *p = isr::adjust_isr(p, &seen, u64::MAX);
            }
            Ok(())
        })?;
    }
    Ok(out)
}
