//! One look at a whole cluster for the operator's view (`top --once`, `metrics`): every
//! partition's offsets, size and replica health, every group's lag, every mirror's state and
//! lag, brokers and the controller.
//! It reads what the other commands read (metadata, tails, group files), one pass, and takes no
//! lock, so a writer never waits for it.

use crate::cluster::Cluster;
use crate::cluster::brokers::{BrokerStatus, State};
use crate::error::{Error, Result};
use crate::group::admin::PartitionStatus;
use crate::log::PartitionReader;
use serde::Serialize;

#[derive(Debug, Clone, Serialize)]
pub struct Controller {
    pub pid: u32,
    pub host: String,
    pub epoch: u64,
}

#[derive(Debug, Clone, Serialize)]
pub struct Partition {
    pub topic: String,
    pub partition: u32,
    pub leader: Option<u32>,
    pub replicas: Vec<u32>,
    pub isr: Vec<u32>,
    /// None while the partition is offline (its leader's broker is down).
    pub log_start_offset: Option<u64>,
    pub log_end_offset: Option<u64>,
    pub high_watermark: Option<u64>,
    /// Bytes of the leader replica's segment files.
    pub size_bytes: Option<u64>,
    pub under_replicated: bool,
    pub offline: bool,
}

#[derive(Debug, Clone, Serialize)]
pub struct Group {
    pub group: String,
    pub members: usize,
    pub partitions: Vec<PartitionStatus>,
}

/// A mirror of this root, as its status file says, with its lag worked out now.
#[derive(Debug, Clone, Serialize)]
pub struct Mirror {
    pub name: String,
    pub direction: &'static str,
    pub cluster: String,
    /// copying, waiting, stopped, failed, or gone (its process ended without a word: killed).
    pub state: &'static str,
    pub error: Option<String>,
    pub pid: u32,
    pub host: String,
    pub records: u64,
    pub transactions: u64,
    pub restarts: u64,
    pub started_ms: i64,
    pub updated_ms: i64,
    pub last_commit_ms: Option<i64>,
    pub retry_at_ms: Option<i64>,
    /// Records the source holds beyond the mirror's positions (None: no end known).
    pub lag: Option<u64>,
    pub partitions: Vec<MirrorPartition>,
}

#[derive(Debug, Clone, Serialize)]
pub struct MirrorPartition {
    pub topic: String,
    pub to: String,
    pub partition: u32,
    pub position: u64,
    /// The source's end: the root's high watermark now (to Kafka), or the cluster's as the
    /// mirror last saw it (from Kafka).
    pub source_end: Option<u64>,
    pub lag: Option<u64>,
}

#[derive(Debug, Clone, Serialize)]
pub struct Snapshot {
    /// When it was taken (ms since the epoch).
    pub taken_ms: i64,
    pub controller: Option<Controller>,
    pub brokers: Vec<BrokerStatus>,
    pub partitions: Vec<Partition>,
    pub groups: Vec<Group>,
    pub mirrors: Vec<Mirror>,
    /// Files the view could not read (a mirror's damaged status file), with why.
    pub unreadable: Vec<String>,
}

/// Take a snapshot of `cluster`; an empty one when there is no cluster yet.
pub fn take(cluster: &Cluster) -> Result<Snapshot> {
    let taken_ms = crate::fsutil::now_ms();
    let md = match cluster.metadata() {
        Ok(md) => md,
        Err(Error::NotFound(_)) if !cluster.exists() => {
            return Ok(Snapshot {
                taken_ms,
                controller: None,
                brokers: Vec::new(),
                partitions: Vec::new(),
                groups: Vec::new(),
                mirrors: Vec::new(),
                unreadable: Vec::new(),
            });
        }
        Err(e) => return Err(e),
    };
    let brokers: Vec<BrokerStatus> = cluster.broker_statuses(&md);
    let up = |id: u32| brokers.iter().any(|b| b.id == id && b.state == State::Up);
    let mut partitions = Vec::new();
    for (name, t) in &md.topics {
        for p in &t.partitions {
            let leader_up = p.leader.is_some_and(up);
            let mut part = Partition {
                topic: name.clone(),
                partition: p.partition,
                leader: p.leader,
                replicas: p.replicas.clone(),
                isr: p.isr.clone(),
                log_start_offset: None,
                log_end_offset: None,
                high_watermark: None,
                size_bytes: None,
                under_replicated: leader_up && p.isr.len() < p.replicas.len(),
                offline: !leader_up,
            };
            if let (true, Some(l)) = (leader_up, p.leader) {
                let dir = cluster.replica_dir(&md, l, name, p.partition);
                let pname = format!("{name}-{}", p.partition);
                // A replica that cannot be read right now (a disk going away) shows as unknown
                // figures, not as a failed snapshot: the view is for finding such things.
                if let Ok(tail) = PartitionReader::open(&dir, &pname).and_then(|r| r.tail()) {
                    part.log_start_offset = Some(tail.log_start_offset);
                    part.log_end_offset = Some(tail.end_offset);
                    part.high_watermark = Some(crate::replica::hw::high_watermark(
                        cluster, &md, name, p, &tail,
                    ));
                    part.size_bytes = Some(crate::topics::segment_bytes(&dir));
                }
            }
            partitions.push(part);
        }
    }
    let mut groups = Vec::new();
    for g in crate::group::list(cluster)? {
        let (members, rows) = crate::group::admin::status(cluster, &g, None)?;
        groups.push(Group {
            group: g.name.clone(),
            members: members.len(),
            partitions: rows,
        });
    }
    let controller = crate::controller::lease::active(&cluster.root).map(|c| Controller {
        pid: c.pid,
        host: c.host,
        epoch: c.epoch,
    });
    let (mirrors, unreadable) = mirrors(cluster, &partitions);
    Ok(Snapshot {
        taken_ms,
        controller,
        brokers,
        partitions,
        groups,
        mirrors,
        unreadable,
    })
}

fn mirrors(cluster: &Cluster, partitions: &[Partition]) -> (Vec<Mirror>, Vec<String>) {
    use crate::cluster::mirrors::{Direction, MirrorState};
    let (statuses, bad) = cluster
        .mirror_statuses()
        .unwrap_or_else(|e| (Vec::new(), vec![e.to_string()]));
    let host = crate::group::hostname();
    let mut out = Vec::new();
    for m in statuses {
        // A process of another host cannot be looked at: its word stands.
        let alive = m.host != host || crate::fsutil::process_alive(m.pid);
        let state = match m.state {
            MirrorState::Copying | MirrorState::Waiting if !alive => "gone",
            MirrorState::Copying => "copying",
            MirrorState::Waiting => "waiting",
            MirrorState::Stopped => "stopped",
            MirrorState::Failed => "failed",
        };
        let mut rows = Vec::new();
        for (topic, t) in &m.topics {
            for (&p, ps) in &t.partitions {
                let end = match m.direction {
                    Direction::ToKafka => partitions
                        .iter()
                        .find(|x| x.topic == *topic && x.partition == p)
                        .and_then(|x| x.high_watermark),
                    Direction::FromKafka => ps.source_end,
                };
                rows.push(MirrorPartition {
                    topic: topic.clone(),
                    to: t.to.clone(),
                    partition: p,
                    position: ps.position,
                    source_end: end,
                    lag: end.map(|e| e.saturating_sub(ps.position)),
                });
            }
        }
        let lag = rows.iter().filter_map(|r| r.lag).reduce(|a, b| a + b);
        out.push(Mirror {
            name: m.name,
            direction: m.direction.name(),
            cluster: m.cluster,
            state,
            error: m.error,
            pid: m.pid,
            host: m.host,
            records: m.records,
            transactions: m.transactions,
            restarts: m.restarts,
            started_ms: m.started_ms,
            updated_ms: m.updated_ms,
            last_commit_ms: m.last_commit_ms,
            retry_at_ms: m.retry_at_ms,
            lag,
            partitions: rows,
        });
    }
    (out, bad)
}
