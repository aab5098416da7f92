//! Moving a partition's replicas between brokers while it is written to (`topic reassign`),
//! as Kafka's KIP-455 does: the new replicas are added to the replica list and catch up like any
//! follower; once every added one is in the ISR, the replica list becomes the target, leadership
//! moves if the leader is leaving, and the data of the replicas that left is removed.
//!
//! The intent is in metadata (`adding`, `removing`), so whoever runs next can finish it: the
//! controller on every full pass, or the `topic reassign` command itself while it waits.

use super::isr::{self, FollowerView};
use super::sync::{DEFAULT_BUDGET, Syncer};
use crate::cluster::Cluster;
use crate::cluster::brokers::State;
use crate::cluster::metadata::PartitionMeta;
use crate::error::{Error, Result};
use crate::fsutil;
use crate::log::{PartitionWriter, WriterOptions};
use crate::replica::leadership::{Change, claim_epochs};
use std::time::Duration;

/// Record the intent to move `topic`-`partition` to `target` (the first is the preferred
/// leader). Returns the partition as it now stands in metadata.
pub fn start(
    cluster: &Cluster,
    topic: &str,
    partition: u32,
    target: &[u32],
) -> Result<PartitionMeta> {
    let md = cluster.metadata_with_topic(topic)?;
    md.topic(topic)?.partition(topic, partition)?;
    if target.is_empty() {
        return Err(Error::Usage("--replicas: name at least one broker".into()));
    }
    for (i, b) in target.iter().enumerate() {
        if md.broker(*b).is_none() {
            return Err(Error::Usage(format!(
                "--replicas: broker {b} does not exist (see `chute broker list`)"
            )));
        }
        if md.broker(*b).is_some_and(|x| x.draining)
            && !md
                .topic(topic)?
                .partition(topic, partition)?
                .replicas
                .contains(b)
        {
            return Err(Error::Usage(format!(
                "--replicas: broker {b} is being drained (`chute broker up {b}` ends the drain)"
            )));
        }
        if target[..i].contains(b) {
            return Err(Error::Usage(format!(
                "--replicas: broker {b} is named twice"
            )));
        }
    }
    let up = cluster.live_brokers(&md, false);
    cluster.update(|md| {
        let t = md
            .topics
            .get_mut(topic)
            .ok_or_else(|| Error::NotFound(format!("unknown topic {topic:?}")))?;
        let p = t.partitions.get_mut(partition as usize).ok_or_else(|| {
            Error::NotFound(format!("topic {topic:?} has no partition {partition}"))
        })?;
        record(topic, p, target, &up)?;
        Ok(p.clone())
    })
}

/// Record in `p` (under the metadata lock) the intent to move to `target`: `adding` and
/// `removing`, with `replicas` the union. Idempotent for the move already recorded; refused
/// when another is in progress, or when no replica that stays is a live in-sync one and none
/// is added (nothing could catch up, and the others' data would go).
pub fn record(topic: &str, p: &mut PartitionMeta, target: &[u32], up: &[u32]) -> Result<()> {
    let partition = p.partition;
    if !p.adding.is_empty() || !p.removing.is_empty() {
        let target_now = p.target_replicas();
        if target_now == target {
            return Ok(());
        }
        return Err(Error::Temporary(format!(
            "partition {topic}-{partition}: a reassignment to {target_now:?} is in progress; wait for it to finish"
        )));
    }
    if p.replicas == target {
        return Ok(());
    }
    let adding: Vec<u32> = target
        .iter()
        .copied()
        .filter(|b| !p.replicas.contains(b))
        .collect();
    if adding.is_empty() && !target.iter().any(|b| p.isr.contains(b) && up.contains(b)) {
        return Err(Error::Temporary(format!(
            "partition {topic}-{partition}: none of {target:?} is a live in-sync replica (ISR {:?}); removing the others would lose records",
            p.isr
        )));
    }
    p.adding = adding;
    p.removing = p
        .replicas
        .iter()
        .copied()
        .filter(|b| !target.contains(b))
        .collect();
    let mut replicas = target.to_vec();
    replicas.extend(p.removing.iter().copied());
    p.replicas = replicas;
    Ok(())
}

/// How a reassignment stands.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Progress {
    Done,
    /// Each added replica: (broker, its log end, the leader's log end).
    Copying(Vec<(u32, u64, u64)>),
}

/// One step: sync the added replicas (up to a budget), let caught-up ones join the ISR, and
/// finish when all have. `fence` is the controller epoch when the controller calls it.
pub fn step(
    cluster: &Cluster,
    syncer: &mut Syncer,
    topic: &str,
    partition: u32,
    fence: Option<u64>,
    log: &mut dyn FnMut(&str),
) -> Result<Progress> {
    let md = cluster.metadata_with_topic(topic)?;
    let p = md.topic(topic)?.partition(topic, partition)?.clone();
    if p.adding.is_empty() && p.removing.is_empty() {
        return Ok(Progress::Done);
    }
    if p.leader.is_none() {
        return Err(Error::Temporary(format!(
            "partition {topic}-{partition} has no leader (offline); the reassignment waits"
        )));
    }
    let mut progress = Vec::new();
    let mut seen = Vec::new();
    for r in syncer.sync_partition(cluster, &md, topic, &p, DEFAULT_BUDGET) {
        if let Ok(f) = &r.result {
            if p.adding.contains(&r.broker) {
                progress.push((r.broker, f.end_offset, f.leader_end));
            }
            if f.caught_up() && cluster.broker_status(&md, r.broker, false).state == State::Up {
                seen.push(FollowerView {
                    broker: r.broker,
                    caught_up: true,
                    lagging_ms: 0,
                });
            }
        }
    }
    let update =
        |f: &mut dyn FnMut(&mut crate::cluster::metadata::Metadata) -> Result<Vec<Change>>| {
            match fence {
                Some(e) => cluster.update_fenced(e, |md| f(md)),
                None => cluster.update(|md| f(md)),
            }
        };
    // Caught-up replicas join the ISR; with every added one in it, switch.
    let up: Vec<u32> = cluster.live_brokers(&md, false);
    let synced_epoch = p.leader_epoch;
    let mut changes = update(&mut |md| {
        let Some(p) = md
            .topics
            .get_mut(topic)
            .and_then(|t| t.partitions.get_mut(partition as usize))
        else {
            return Ok(Vec::new());
        };
        let old = p.clone();
        if p.leader_epoch != synced_epoch {
            return Ok(Vec::new()); // the leader changed meanwhile: next step syncs again
        }
        *p = isr::adjust_isr(p, &seen, u64::MAX);
        if p.adding.iter().all(|b| p.isr.contains(b)) {
            let target = p.target_replicas();
            // The new set must be able to lead: a live, in-sync replica in it, or the move
            // waits (never switch to replicas that lack records, and never remove the data of
            // the only ones that have them).
            let leader = match p.leader {
                Some(l) if target.contains(&l) => Some(l),
                _ => target
                    .iter()
                    .copied()
                    .find(|b| p.isr.contains(b) && up.contains(b)),
            };
            if leader.is_some() {
                p.isr.retain(|b| target.contains(b));
                if leader != p.leader {
                    p.leader = leader;
                    p.leader_epoch += 1;
                }
                p.replicas = target;
                p.adding.clear();
                p.removing.clear();
            }
        }
        Ok(if *p != old {
            vec![(topic.to_string(), old, p.clone())]
        } else {
            Vec::new()
        })
    })?;
    let md = cluster.metadata()?;
    claim_epochs(cluster, &md, &changes);
    for (name, old, new) in changes.drain(..) {
        if new.adding.is_empty()
            && new.removing.is_empty()
            && !(old.adding.is_empty() && old.removing.is_empty())
        {
            log(&format!(
                "partition {name}-{}: reassigned to {:?} (leader {}, epoch {})",
                new.partition,
                new.replicas,
                new.leader.map_or("none".into(), |b| b.to_string()),
                new.leader_epoch
            ));
            crash_point!("reassign-after-switch");
            for b in old.replicas.iter().filter(|b| !new.replicas.contains(b)) {
                remove_replica(cluster, &md, &name, new.partition, *b, log);
            }
            return Ok(Progress::Done);
        }
    }
    Ok(Progress::Copying(progress))
}

/// Replicas a finished move left behind (the mover died between the switch in metadata and
/// the removal): directories of a partition, tagged with its topic id, on a live broker that
/// is neither a replica nor being added. Removed like any replica that left. Run with
/// retention (not every pass): one `stat` per partition and broker.
pub fn remove_strays(
    cluster: &Cluster,
    md: &crate::cluster::metadata::Metadata,
    log: &mut dyn FnMut(&str),
) {
    let live = cluster.live_brokers(md, false);
    for (name, t) in &md.topics {
        for p in &t.partitions {
            if !p.adding.is_empty() || !p.removing.is_empty() {
                continue; // a move in progress owns its directories
            }
            for &b in live.iter().filter(|b| !p.replicas.contains(b)) {
                let dir = cluster.replica_dir(md, b, name, p.partition);
                // Only a positive match removes anything: a directory without a readable tag
                // is left alone.
                if matches!(fsutil::own_dir_exists(&dir), Ok(true))
                    && super::dir::replica_topic_id(&dir).as_deref() == Some(t.id.as_str())
                {
                    log(&format!(
                        "partition {name}-{}: removing the replica left on broker {b} by an interrupted move",
                        p.partition
                    ));
                    remove_replica(cluster, md, name, p.partition, b, log);
                }
            }
        }
    }
}

/// Remove the data of a replica that left: writers there stop (the deleted flag, set under the
/// partition lock), then the directory goes to the broker's trash.
fn remove_replica(
    cluster: &Cluster,
    md: &crate::cluster::metadata::Metadata,
    topic: &str,
    partition: u32,
    broker: u32,
    log: &mut dyn FnMut(&str),
) {
    let dir = cluster.replica_dir(md, broker, topic, partition);
    if cluster.broker_status(md, broker, false).state != State::Up || !dir.is_dir() {
        log(&format!(
            "partition {topic}-{partition}: the old replica on broker {broker} is not reachable; remove {} when it is",
            dir.display()
        ));
        return;
    }
    let opts = WriterOptions {
        lock_timeout: Duration::from_secs(5),
        ..WriterOptions::default()
    };
    let r = PartitionWriter::open(&dir, &format!("{topic}-{partition}"), opts)
        .and_then(|mut w| w.mark_deleted())
        .and_then(|_| fsutil::remove_tree(&dir));
    if let Err(e) = r {
        log(&format!(
            "partition {topic}-{partition}: removing the old replica on broker {broker}: {e}"
        ));
    }
}
