//! Compaction over a cluster: for every partition whose `cleanup.policy` includes `compact`,
//! build the key map from the leader up to the cleaning point and clean every in-sync replica
//! with it in the same pass (src/log/compact.rs), so that they stay byte-identical.
//!
//! The cleaning point is the smallest of the high watermark and each in-sync replica's active
//! segment base: every batch below it is in a sealed segment on every in-sync replica. Replicas
//! out of the ISR (on live brokers) are cleaned with the same map as far as their own sealed
//! segments go, so they match the leader once they are back.

use crate::cluster::Cluster;
use crate::cluster::brokers::State;
use crate::cluster::config::TopicConfig;
use crate::cluster::metadata::{Metadata, PartitionMeta};
use crate::error::Result;
use crate::log::PartitionReader;
use crate::log::compact::{Cleaned, KeyMap};

/// What the last cleaning of a partition covered. A pass that finds the same has nothing new
/// below the cleaning point and skips reading the log.
#[derive(Debug, Clone, PartialEq, Eq)]
struct Covered {
    log_start: u64,
    /// The cleaning point, mixed with the delete.retention period it fell in.
    clean_end: u64,
    leader_epoch: u32,
    isr: Vec<u32>,
}

/// The last cleaning of each partition (by partition name), kept by the controller between
/// passes.
#[derive(Debug, Default)]
pub struct Done(std::collections::HashMap<String, Covered>);

/// `progress(partition name, replica broker, segments done, of)` reports the work as it goes.
pub type Progress<'a> = &'a mut dyn FnMut(&str, u32, usize, usize);

pub fn run(
    cluster: &Cluster,
    md: &Metadata,
    topic: Option<&str>,
    done: &mut Done,
    progress: Progress<'_>,
) -> Vec<(String, u32, Result<Cleaned>)> {
    let mut out = Vec::new();
    for (name, t, p) in md.led_partitions(topic) {
        let cfg = TopicConfig::resolve(&t.config);
        if cfg.compact {
            let r = partition(cluster, md, name, &cfg, p, done, progress);
            out.push((name.clone(), p.partition, r));
        }
    }
    out
}

fn partition(
    cluster: &Cluster,
    md: &Metadata,
    topic: &str,
    cfg: &TopicConfig,
    p: &PartitionMeta,
    done: &mut Done,
    progress: Progress<'_>,
) -> Result<Cleaned> {
    let leader = p.leader.expect("checked by the caller");
    let name = format!("{topic}-{}", p.partition);
    let ldir = cluster.replica_dir(md, leader, topic, p.partition);
    let lt = PartitionReader::open(&ldir, &name)?.tail()?;
    let mut clean_end =
        crate::replica::hw::high_watermark(cluster, md, topic, p, &lt).min(lt.segment_base);
    let mut members = vec![(leader, ldir.clone())];
    for &b in p.replicas.iter().filter(|&&b| b != leader) {
        let dir = cluster.replica_dir(md, b, topic, p.partition);
        if cluster.broker_status(md, b, false).state != State::Up {
            continue;
        }
        if let Ok(t) = PartitionReader::open(&dir, &name).and_then(|r| r.tail()) {
            // Only in-sync replicas bound the cleaning point. One out of the ISR is cleaned too,
            // as far as its own sealed segments go (the same map gives the same batches), so it
            // matches the leader as soon as it is back.
            if p.isr.contains(&b) {
                clean_end = clean_end.min(t.segment_base);
            }
            members.push((b, dir));
        }
    }
    if clean_end <= lt.log_start_offset {
        return Ok(Cleaned::default());
    }
    // Nothing new below the cleaning point since the last cleaning (with the same replicas):
    // the map would be the same and every segment is already clean for it.
    // (Once per delete.retention period anyway: tombstones may have come of age.)
    let period = crate::fsutil::now_ms() as u64 / cfg.delete_retention_ms.max(1);
    let key = Covered {
        log_start: lt.log_start_offset,
        clean_end: clean_end ^ period.rotate_left(32),
        leader_epoch: p.leader_epoch,
        isr: p.isr.clone(),
    };
    if done.0.get(&name) == Some(&key) {
        return Ok(Cleaned::default());
    }
    let map = KeyMap::build(&ldir, &name, &lt, clean_end)?;
    let now = crate::fsutil::now_ms();
    let mut leader_result = Cleaned::default();
    for (b, dir) in members {
        let mut w = super::retention::writer(&dir, &name)?;
        let c = w.compact(
            &map,
            now,
            cfg.delete_retention_ms,
            cfg.producer_id_expiration_ms,
            &mut |i, n| progress(&name, b, i, n),
        )?;
        if b == leader {
            leader_result = c;
        }
    }
    done.0.insert(name, key);
    Ok(leader_result)
}
