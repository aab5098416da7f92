//! Follower sync: bring each follower replica of a partition level with its leader.

use super::dir;
use crate::cluster::Cluster;
use crate::cluster::brokers::State;
use crate::cluster::config::TopicConfig;
use crate::cluster::metadata::{Metadata, PartitionMeta};
use crate::error::{Error, Result};
use crate::log::{Followed, PartitionReader, PartitionWriter, Tail};
use std::collections::HashMap;
use std::path::PathBuf;

/// How much one follower copies before the sync moves on (the controller comes back for more
/// on its next pass, so one big catch-up does not delay failover of other partitions).
pub const DEFAULT_BUDGET: u64 = 64 << 20;

pub struct FollowerResult {
    pub broker: u32,
    pub result: Result<Followed>,
}

/// Follower writers and leader tails kept open between passes.
#[derive(Default)]
pub struct Syncer {
    writers: HashMap<PathBuf, PartitionWriter>,
    leaders: HashMap<PathBuf, PartitionReader>,
    /// Followers a full sync (divergence check included) has run on, and for which leader
    /// epoch: only those may take the cheap "already level" path.
    checked: HashMap<PathBuf, u32>,
    /// Broker probes, reused for a few milliseconds: a pass over many partitions probes each
    /// broker once, not once per replica.
    probes: HashMap<u32, (std::time::Instant, Result<(), String>)>,
    /// How long to wait for a follower's partition lock (None: the topic's default).
    lock_timeout: Option<std::time::Duration>,
}

const PROBE_REUSE: std::time::Duration = std::time::Duration::from_millis(10);

impl Syncer {
    pub fn new() -> Syncer {
        Syncer::default()
    }

    /// A syncer that gives up on a follower whose lock is held longer than `t` (the controller:
    /// a stopped process holding one follower's lock must not stall elections everywhere).
    pub fn with_lock_timeout(t: std::time::Duration) -> Syncer {
        Syncer {
            lock_timeout: Some(t),
            ..Syncer::default()
        }
    }

    /// Sync every follower of `p` that is on a live broker (copying up to `budget` bytes each).
    /// Followers already level with the leader cost two tail reads.
    pub fn sync_partition(
        &mut self,
        cluster: &Cluster,
        md: &Metadata,
        topic: &str,
        p: &PartitionMeta,
        budget: u64,
    ) -> Vec<FollowerResult> {
        let Some(leader) = p.leader else {
            return Vec::new();
        };
        let name = format!("{topic}-{}", p.partition);
        let leader_dir = cluster.replica_dir(md, leader, topic, p.partition);
        if self.probe(cluster, md, leader).is_err() {
            self.leaders.remove(&leader_dir);
            return p
                .replicas
                .iter()
                .filter(|&&b| b != leader)
                .map(|&b| FollowerResult {
                    broker: b,
                    result: Err(Error::Temporary(format!(
                        "partition {name}: its leader (broker {leader}) is down"
                    ))),
                })
                .collect();
        }
        let leader_tail = self.leader_tail(&leader_dir, &name).ok();
        let cfg = md
            .topics
            .get(topic)
            .map(|t| TopicConfig::resolve(&t.config));
        let mut out = Vec::new();
        for &b in p.replicas.iter().filter(|&&b| b != leader) {
            let result = self.sync_one(
                cluster,
                md,
                topic,
                p,
                b,
                &leader_dir,
                leader_tail,
                cfg.as_ref(),
                budget,
            );
            out.push(FollowerResult { broker: b, result });
        }
        out
    }

    fn probe(&mut self, cluster: &Cluster, md: &Metadata, b: u32) -> Result<(), String> {
        if let Some((at, r)) = self.probes.get(&b)
            && at.elapsed() < PROBE_REUSE
        {
            return r.clone();
        }
        let st = cluster.broker_status(md, b, false);
        let r = if st.state == State::Up {
            Ok(())
        } else {
            Err(st.reason)
        };
        self.probes
            .insert(b, (std::time::Instant::now(), r.clone()));
        r
    }

    fn leader_tail(&mut self, dir: &PathBuf, name: &str) -> Result<Tail> {
        if !self.leaders.contains_key(dir) {
            self.leaders
                .insert(dir.clone(), PartitionReader::open(dir, name)?);
        }
        let r = self.leaders[dir].tail();
        if r.is_err() {
            self.leaders.remove(dir);
        }
        r
    }

    #[allow(clippy::too_many_arguments)]
    fn sync_one(
        &mut self,
        cluster: &Cluster,
        md: &Metadata,
        topic: &str,
        p: &PartitionMeta,
        b: u32,
        leader_dir: &std::path::Path,
        leader_tail: Option<Tail>,
        cfg: Option<&TopicConfig>,
        budget: u64,
    ) -> Result<Followed> {
        if let Err(reason) = self.probe(cluster, md, b) {
            // Whatever we hold open there may be a disk that is gone or about to be replaced.
            let dir = cluster.replica_dir(md, b, topic, p.partition);
            self.writers.remove(&dir);
            self.checked.remove(&dir);
            return Err(Error::Temporary(format!("broker {b} is down ({reason})")));
        }
        let name = format!("{topic}-{}", p.partition);
        let dir = cluster.replica_dir(md, b, topic, p.partition);
        let mut opts = cfg.map(|c| dir::writer_options(c, p)).unwrap_or_default();
        if let Some(t) = self.lock_timeout {
            opts.lock_timeout = t;
        }
        let topic_id = md.topics.get(topic).map_or("", |t| t.id.as_str());
        if self.checked.get(&dir) != Some(&p.leader_epoch)
            && dir.exists()
            && !dir::replica_belongs(&dir, topic_id)
        {
            // Left by an earlier topic of the same name (its broker was down when it was
            // deleted): its records are not this topic's.
            self.writers.remove(&dir);
            crate::fsutil::remove_tree(&dir)?;
        }
        if !dir.exists() {
            // A replica that was never created here, or a disk replaced by an empty one. The
            // probe above may be a few milliseconds old: a disk swapped since is not this
            // broker, and nothing is created on it until it is tagged (`broker replace`).
            cluster.check_broker_tag(md, b)?;
            dir::create_replica(&dir, &name, opts.clone(), topic_id)?;
        }
        if !self.writers.contains_key(&dir) {
            self.writers
                .insert(dir.clone(), PartitionWriter::open(&dir, &name, opts)?);
        }
        // Cheap check first: level and already following this epoch means nothing to do.
        if let Some(lt) = leader_tail
            && self.checked.get(&dir) == Some(&p.leader_epoch)
            && let Ok(Some(ft)) = self.writers[&dir].published_tail()
            && ft.leader_epoch == p.leader_epoch
            && ft.durable_offset == lt.end_offset
            && ft.end_offset == lt.end_offset
        {
            return Ok(Followed {
                end_offset: ft.end_offset,
                leader_end: lt.end_offset,
                copied: 0,
                truncated: None,
            });
        }
        let w = self.writers.get_mut(&dir).unwrap();
        let mut total = Followed::default();
        loop {
            let r = w.follow(leader_dir, &name, p.leader_epoch, budget - total.copied);
            let f = match r {
                Ok(f) => f,
                Err(e) => {
                    self.writers.remove(&dir);
                    self.checked.remove(&dir);
                    return Err(e);
                }
            };
            self.checked.insert(dir.clone(), p.leader_epoch);
            total.copied += f.copied;
            total.end_offset = f.end_offset;
            total.leader_end = f.leader_end;
            total.truncated = total.truncated.or(f.truncated);
            if f.caught_up() || f.copied == 0 || total.copied >= budget {
                return Ok(total);
            }
        }
    }
}
