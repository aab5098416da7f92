//! Retention over a cluster: for every partition with `cleanup.policy` including `delete`, roll
//! a quiet active segment older than `segment.ms`, delete the leader's old segments by
//! `retention` and `retention.bytes` (src/log/retention.rs), and move each follower's log start
//! to the leader's. Run by the controller every `--retention-check` and by `controller --once`.

use crate::cluster::Cluster;
use crate::cluster::brokers::State;
use crate::cluster::config::TopicConfig;
use crate::cluster::metadata::{Metadata, PartitionMeta};
use crate::error::Result;
use crate::log::retention::plan;
use crate::log::{PartitionWriter, WriterOptions};
use std::time::Duration;

/// What a pass did to one partition.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Applied {
    /// The leader's log start after the pass.
    pub log_start: u64,
    /// It moved in this pass.
    pub moved: bool,
    /// Bytes of segment files removed, all replicas together.
    pub freed: u64,
}

/// How long retention waits for a partition lock before it leaves the partition for next time.
const LOCK_TIMEOUT: Duration = Duration::from_secs(1);

/// One retention pass over every partition of every topic (or of `topic`).
pub fn run(
    cluster: &Cluster,
    md: &Metadata,
    topic: Option<&str>,
) -> Vec<(String, u32, Result<Applied>)> {
    md.led_partitions(topic)
        .map(|(name, t, p)| {
            let cfg = TopicConfig::resolve(&t.config);
            (
                name.clone(),
                p.partition,
                partition(cluster, md, name, &cfg, p),
            )
        })
        .collect()
}

/// A writer for maintenance (retention, compaction): it leaves a partition whose lock is busy
/// for the next pass instead of waiting long.
pub(crate) fn writer(dir: &std::path::Path, name: &str) -> Result<PartitionWriter> {
    PartitionWriter::open(
        dir,
        name,
        WriterOptions {
            lock_timeout: LOCK_TIMEOUT,
            ..WriterOptions::default()
        },
    )
}

fn partition(
    cluster: &Cluster,
    md: &Metadata,
    topic: &str,
    cfg: &TopicConfig,
    p: &PartitionMeta,
) -> Result<Applied> {
    let leader = p.leader.expect("checked by the caller");
    let name = format!("{topic}-{}", p.partition);
    let mut w = writer(&cluster.replica_dir(md, leader, topic, p.partition), &name)?;
    w.roll_if_older(cfg.segment_ms)?;
    // Followers roll by time too: the cleaner only works below every in-sync replica's active
    // segment.
    for &b in p.replicas.iter().filter(|&&b| b != leader) {
        let dir = cluster.replica_dir(md, b, topic, p.partition);
        if cluster.broker_status(md, b, false).state == State::Up
            && dir.is_dir()
            && let Ok(mut f) = writer(&dir, &name)
        {
            let _ = f.roll_if_older(cfg.segment_ms);
        }
    }
    if !cfg.delete {
        // Compacted only: rolling is all (the cleaner works on sealed segments).
        let log_start = w.published_tail()?.map_or(0, |t| t.log_start_offset);
        return Ok(Applied {
            log_start,
            moved: false,
            freed: 0,
        });
    }
    let (sealed, active_base, active_bytes) = w.segments_for_retention()?;
    let before = w.published_tail()?.map_or(0, |t| t.log_start_offset);
    let target = plan(
        &sealed,
        active_base,
        active_bytes,
        crate::fsutil::now_ms(),
        cfg.retention_ms,
        cfg.retention_bytes,
    );
    let mut freed = w.advance_log_start(target.unwrap_or(0), cfg.producer_id_expiration_ms)?;
    let log_start = w.published_tail()?.map_or(0, |t| t.log_start_offset);
    for &b in p.replicas.iter().filter(|&&b| b != leader) {
        let dir = cluster.replica_dir(md, b, topic, p.partition);
        if cluster.broker_status(md, b, false).state != State::Up || !dir.is_dir() {
            continue;
        }
        // A follower that is behind keeps nothing the leader no longer has; follower sync
        // restarts it at the leader's log start if it ends below it.
        if let Ok(mut f) = writer(&dir, &name) {
            // Already there (the usual pass): one tail read, no lock, no directory listing.
            let level = f
                .published_tail()
                .ok()
                .flatten()
                .is_some_and(|t| t.log_start_offset >= log_start.min(t.end_offset));
            if !level {
                freed += f
                    .advance_log_start(log_start, cfg.producer_id_expiration_ms)
                    .unwrap_or(0);
            }
        }
    }
    Ok(Applied {
        log_start,
        moved: log_start > before,
        freed,
    })
}
