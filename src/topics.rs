//! Topic administration: create, list, describe, alter, delete.
//! Reads and writes metadata (under `metadata.lock`) and partition directories.

use crate::cluster::Cluster;
use crate::cluster::config::{self, Overrides, TopicConfig};
use crate::cluster::metadata::{PartitionMeta, Topic, assign_replicas};
use crate::error::{Error, Result};
use crate::fsutil;
use crate::fsutil::random_u64;
use crate::log::{PartitionReader, PartitionWriter, WriterOptions};
use crate::names;
use crate::replica::dir::{create_replica, writer_options};
use serde::Serialize;
use std::collections::BTreeMap;

pub struct CreateOptions {
    pub partitions: u32,
    pub replication_factor: u32,
    pub config: Vec<String>,
    pub if_not_exists: bool,
}

/// What happened, for the CLI to report.
pub struct Created {
    pub created: bool,
    pub warnings: Vec<String>,
}

fn check_partitions(n: u32) -> Result<()> {
    if n == 0 || n > names::MAX_PARTITIONS {
        return Err(Error::Usage(format!(
            "--partitions {n}: must be between 1 and {}",
            names::MAX_PARTITIONS
        )));
    }
    Ok(())
}

pub fn parse_overrides(args: &[String]) -> Result<Overrides> {
    let mut o = Overrides::new();
    for a in args {
        let (k, v) = config::parse_assignment(a)?;
        o.insert(k, v);
    }
    Ok(o)
}

/// Brokers new replicas may go to: those that are up (a replica directory must not be created
/// on a mount point whose disk is gone).
/// Where new replicas may go: brokers that are up and not being drained.
fn live_brokers(cluster: &Cluster, md: &crate::cluster::metadata::Metadata) -> Vec<u32> {
    cluster
        .live_brokers(md, false)
        .into_iter()
        .filter(|&b| md.broker(b).is_some_and(|b| !b.draining))
        .collect()
}

pub fn create(cluster: &Cluster, name: &str, o: CreateOptions) -> Result<Created> {
    names::topic(name)?;
    check_partitions(o.partitions)?;
    let overrides = parse_overrides(&o.config)?;
    let cfg = TopicConfig::resolve(&overrides);
    cluster.ensure()?;
    cluster.update(|md| {
        if md.topics.contains_key(name) {
            if o.if_not_exists {
                return Ok(Created {
                    created: false,
                    warnings: vec![],
                });
            }
            return Err(Error::Other(format!("topic {name:?} already exists")));
        }
        let brokers = live_brokers(cluster, md);
        if o.replication_factor == 0 || o.replication_factor as usize > md.brokers.len() {
            return Err(Error::Usage(format!(
                "--replication-factor {}: must be between 1 and the number of brokers ({})",
                o.replication_factor,
                md.brokers.len()
            )));
        }
        if o.replication_factor as usize > brokers.len() {
            return Err(Error::Temporary(format!(
                "--replication-factor {}: only {} of {} brokers are up and not draining (see `chute broker list`)",
                o.replication_factor,
                brokers.len(),
                md.brokers.len()
            )));
        }
        if cfg.min_insync_replicas > o.replication_factor {
            return Err(Error::Usage(format!(
                "min.insync.replicas={} is larger than --replication-factor {}: --acks all could never succeed",
                cfg.min_insync_replicas, o.replication_factor
            )));
        }
        let mut warnings = Vec::new();
        for other in md.topics.keys() {
            if names::collides(name, other) {
                warnings.push(format!(
                    "topic {name:?} and existing topic {other:?} differ only in '.' vs '_' and collide in metric names"
                ));
            }
        }
        let seed = random_u64() as u32;
        let topic_id = format!("{:016x}", random_u64());
        let assignment = assign_replicas(&brokers, 0..o.partitions, o.replication_factor, seed);
        let mut partitions = Vec::new();
        for (p, replicas) in assignment.into_iter().enumerate() {
            let pm = PartitionMeta {
                partition: p as u32,
                leader: Some(replicas[0]),
                leader_epoch: 0,
                isr: replicas.clone(),
                adding: vec![],
                removing: vec![],
                replicas,
            };
            for &b in &pm.replicas {
                let dir = cluster.replica_dir(md, b, name, p as u32);
                create_replica(
                    &dir,
                    &format!("{name}-{p}"),
                    writer_options(&cfg, &pm),
                    &topic_id,
                )?;
            }
            partitions.push(pm);
        }
        md.topics.insert(
            name.to_string(),
            Topic {
                id: topic_id,
                config: overrides,
                partitions,
            },
        );
        Ok(Created {
            created: true,
            warnings,
        })
    })
}

pub struct AlterOptions {
    pub partitions: Option<u32>,
    pub config: Vec<String>,
    pub delete_config: Vec<String>,
}

pub fn alter(cluster: &Cluster, name: &str, o: AlterOptions) -> Result<()> {
    names::topic(name)?;
    let set = parse_overrides(&o.config)?;
    let mut unset = Vec::new();
    for k in &o.delete_config {
        let key = config::canonical_key(k)
            .ok_or_else(|| Error::Usage(format!("--delete-config {k}: unknown config key")))?;
        unset.push(key.to_string());
    }
    cluster.update(|md| {
        let topic = md.topic(name)?.clone();
        let mut topic = topic;
        for (k, v) in set {
            topic.config.insert(k, v);
        }
        for k in unset {
            topic.config.remove(&k);
        }
        let cfg = TopicConfig::resolve(&topic.config);
        if let Some(n) = o.partitions {
            check_partitions(n)?;
            let cur = topic.partitions.len() as u32;
            if n < cur {
                return Err(Error::Usage(format!(
                    "--partitions {n}: topic {name:?} has {cur} partitions and partitions can only be added (keys would move)"
                )));
            }
            let rf = topic.partitions[0].replicas.len() as u32;
            let brokers = live_brokers(cluster, md);
            if (rf as usize) > brokers.len() {
                return Err(Error::Temporary(format!(
                    "--partitions {n}: replication factor {rf} needs {rf} brokers up and not draining, {} are",
                    brokers.len()
                )));
            }
            let assignment = assign_replicas(&brokers, cur..n, rf, random_u64() as u32);
            for (i, replicas) in assignment.into_iter().enumerate() {
                let p = cur + i as u32;
                let pm = PartitionMeta {
                    partition: p,
                    leader: Some(replicas[0]),
                    leader_epoch: 0,
                    isr: replicas.clone(),
                    adding: vec![],
                    removing: vec![],
                    replicas,
                };
                for &b in &pm.replicas {
                    let dir = cluster.replica_dir(md, b, name, p);
                    create_replica(
                        &dir,
                        &format!("{name}-{p}"),
                        writer_options(&cfg, &pm),
                        &topic.id,
                    )?;
                }
                topic.partitions.push(pm);
            }
        }
        md.topics.insert(name.to_string(), topic);
        Ok(())
    })
}

/// Remove the topic from metadata (no new reader or writer finds it), tell writers still
/// appending to stop (the deleted flag in each tail, set under the partition lock, so no batch
/// is cut in half), then move the directories to the trash and remove them.
pub fn delete(cluster: &Cluster, name: &str, lock_timeout: std::time::Duration) -> Result<()> {
    names::topic(name)?;
    // Everything happens under the metadata lock, so a topic created again under this name
    // in the meantime cannot have its fresh directories marked or removed by us.
    cluster.update_then(
        |md| {
            md.topics
                .remove(name)
                .ok_or_else(|| Error::NotFound(format!("unknown topic {name:?}")))
        },
        |md, topic| {
            for p in &topic.partitions {
                for &b in &p.replicas {
                    let dir = cluster.replica_dir(md, b, name, p.partition);
                    if !dir.exists() {
                        continue;
                    }
                    if let Ok(mut w) = PartitionWriter::open(
                        &dir,
                        &format!("{name}-{}", p.partition),
                        WriterOptions {
                            lock_timeout,
                            ..WriterOptions::default()
                        },
                    ) {
                        w.mark_deleted()?;
                    }
                    fsutil::remove_tree(&dir)?;
                }
            }
            Ok(())
        },
    )
}

#[derive(Debug, Serialize)]
pub struct PartitionState {
    pub partition: u32,
    pub leader: Option<u32>,
    pub leader_epoch: u32,
    pub replicas: Vec<u32>,
    pub isr: Vec<u32>,
    pub log_start_offset: Option<u64>,
    pub high_watermark: Option<u64>,
    pub log_end_offset: Option<u64>,
    /// Bytes of segment files in the leader replica.
    pub size_on_disk: Option<u64>,
    /// Replicas being added and removed by a reassignment in progress.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub adding: Vec<u32>,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub removing: Vec<u32>,
    /// Its size exceeds `retention.bytes` by more than one segment, or its oldest segment is
    /// older than `retention`: retention has not run lately (no controller, or one that fails).
    pub over_retention: bool,
}

#[derive(Debug, Serialize)]
pub struct Description {
    pub name: String,
    /// Every config key with its value in effect.
    pub config: BTreeMap<String, serde_json::Value>,
    /// The keys set for this topic (the rest follow the defaults).
    pub overrides: Vec<String>,
    pub partitions: Vec<PartitionState>,
}

pub fn describe(cluster: &Cluster, name: &str) -> Result<Description> {
    let md = cluster.metadata_with_topic(name)?;
    let t = md.topic(name)?;
    let mut partitions = Vec::new();
    for p in &t.partitions {
        let tail = match p.leader {
            Some(l) => {
                let dir = cluster.replica_dir(&md, l, name, p.partition);
                PartitionReader::open(&dir, &format!("{name}-{}", p.partition))
                    .and_then(|r| r.tail())
                    .ok()
            }
            None => None,
        };
        let dir = p
            .leader
            .map(|l| cluster.replica_dir(&md, l, name, p.partition));
        let size_on_disk = dir.as_deref().map(segment_bytes);
        let cfg = TopicConfig::resolve(&t.config);
        let over_retention = match (&dir, tail) {
            (Some(dir), Some(tail)) => over_retention(dir, &tail, &cfg),
            _ => false,
        };
        partitions.push(PartitionState {
            partition: p.partition,
            leader: p.leader,
            leader_epoch: p.leader_epoch,
            replicas: p.replicas.clone(),
            isr: p.isr.clone(),
            log_start_offset: tail.map(|t| t.log_start_offset),
            high_watermark: tail
                .map(|t| crate::replica::hw::high_watermark(cluster, &md, name, p, &t)),
            log_end_offset: tail.map(|t| t.end_offset),
            size_on_disk,
            adding: p.adding.clone(),
            removing: p.removing.clone(),
            over_retention,
        });
    }
    Ok(Description {
        name: name.to_string(),
        config: TopicConfig::to_json(&t.config),
        overrides: t.config.keys().cloned().collect(),
        partitions,
    })
}

/// Bytes of the `.log` files in a replica directory.
pub fn segment_bytes(dir: &std::path::Path) -> u64 {
    std::fs::read_dir(dir)
        .map(|it| {
            it.filter_map(|e| e.ok())
                .filter(|e| e.file_name().to_str().is_some_and(|n| n.ends_with(".log")))
                .filter_map(|e| e.metadata().ok())
                .map(|m| m.len())
                .sum()
        })
        .unwrap_or(0)
}

/// Whether retention is overdue on a partition (for `topic describe` and `cluster status`).
pub fn over_retention(dir: &std::path::Path, t: &crate::log::Tail, cfg: &TopicConfig) -> bool {
    if !cfg.delete {
        return false;
    }
    let name = dir
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_default();
    crate::log::retention::overdue(
        dir,
        &name,
        t,
        crate::fsutil::now_ms(),
        cfg.retention_ms,
        cfg.retention_bytes,
        cfg.segment_bytes,
    )
    .unwrap_or(false)
}

/// A partition's offsets as `offsets -t` shows them: the log start, the high watermark, and
/// with a time, the first offset at or after it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PartitionOffsets {
    pub partition: u32,
    pub earliest: u64,
    pub latest: u64,
    pub at_time: Option<u64>,
}

/// Offsets of every partition of `name` (readers see only what is below the high watermark).
pub fn offsets(cluster: &Cluster, name: &str, at: Option<i64>) -> Result<Vec<PartitionOffsets>> {
    let md = cluster.metadata_with_topic(name)?;
    let t = md.topic(name)?;
    let mut parts = Vec::new();
    for p in &t.partitions {
        let dir = cluster.leader_dir(&md, name, p.partition)?;
        let mut r = PartitionReader::open(&dir, &format!("{name}-{}", p.partition))?;
        let mut tail = r.tail()?;
        tail.end_offset = crate::replica::hw::high_watermark(cluster, &md, name, p, &tail);
        let at_time = match at {
            Some(ts) => Some(r.offset_for_time(ts, &tail)?),
            None => None,
        };
        parts.push(PartitionOffsets {
            partition: p.partition,
            earliest: tail.log_start_offset,
            latest: tail.end_offset,
            at_time,
        });
    }
    Ok(parts)
}
