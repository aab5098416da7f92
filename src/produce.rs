//! Producing: records → partitions → batches → the partition writers.
//! Reads metadata; appends under each partition's lock (see docs/locking.md).

use crate::cluster::Cluster;
use crate::cluster::config::TopicConfig;
use crate::error::{Error, Result};
use crate::log::batch::{BatchBuilder, HEADER_LEN};
use crate::log::{PartitionWriter, WriterOptions};
use crate::partitioner::partition_for_key;
use crate::record::RecordRef;
use crate::topics;
use std::time::{Duration, Instant};

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Acks {
    /// Do not wait for fsync.
    None,
    /// fsync on the leader before reporting success (the default).
    Leader,
    /// Every in-sync replica has the records.
    All,
}

pub struct ProducerOptions {
    pub partition: Option<u32>,
    pub acks: Acks,
    pub batch_size: usize,
    pub lock_timeout: Duration,
}

/// How often a long-running producer fsyncs at the least (DESIGN.md §3.3).
pub const SYNC_INTERVAL: Duration = Duration::from_secs(1);

struct Lane {
    writer: Option<PartitionWriter>,
    builder: BatchBuilder,
    opts: WriterOptions,
    dir: std::path::PathBuf,
    /// Appended since the last fsync.
    dirty: bool,
}

pub struct Producer {
    topic: String,
    lanes: Vec<Lane>,
    opts: ProducerOptions,
    max_message: usize,
    batch_cap: usize,
    sticky: u32,
    last_sync: Instant,
    now_ms: i64,
    pub records: u64,
    /// Lanes with a non-empty builder, so flushing does not walk every partition.
    pending: Vec<u32>,
}

impl Producer {
    /// Open a producer for `topic`; creates the topic with defaults if it does not exist
    /// (returns whether it did, for the caller to say so).
    pub fn open(cluster: &Cluster, topic: &str, opts: ProducerOptions) -> Result<(Producer, bool)> {
        crate::names::topic(topic)?;
        let mut md = cluster.ensure()?;
        let mut created = false;
        if !md.topics.contains_key(topic) {
            let r = topics::create(
                cluster,
                topic,
                topics::CreateOptions {
                    partitions: 1,
                    replication_factor: 1,
                    config: vec![],
                    if_not_exists: true,
                },
            )?;
            created = r.created;
            md = cluster.metadata()?;
        }
        let t = md.topic(topic)?;
        if let Some(p) = opts.partition {
            t.partition(topic, p)?;
        }
        let cfg = TopicConfig::resolve(&t.config);
        if opts.acks == Acks::All {
            for p in &t.partitions {
                if p.replicas.len() > 1 {
                    return Err(Error::Temporary(format!(
                        "partition {topic}-{}: --acks all on a replicated partition needs follower replication, which this chute version does not have yet",
                        p.partition
                    )));
                }
                if (p.isr.len() as u32) < cfg.min_insync_replicas {
                    return Err(Error::Temporary(format!(
                        "partition {topic}-{}: {} in-sync replica(s), fewer than min.insync.replicas={}",
                        p.partition,
                        p.isr.len(),
                        cfg.min_insync_replicas
                    )));
                }
            }
        }
        // Writing into a directory that belongs to another cluster (a wrong disk mounted at a
        // broker path) would mix two clusters' data: check each leader broker's tag once.
        let mut checked = Vec::new();
        for p in &t.partitions {
            if let Some(b) = p.leader
                && !checked.contains(&b)
            {
                cluster.check_broker_tag(&md, b)?;
                checked.push(b);
            }
        }
        let mut lanes = Vec::new();
        for p in &t.partitions {
            let dir = cluster.leader_dir(&md, topic, p.partition);
            let mut o = topics::writer_options(&cfg, p);
            o.lock_timeout = opts.lock_timeout;
            lanes.push(Lane {
                writer: None,
                builder: BatchBuilder::new(),
                opts: o,
                dir: dir.unwrap_or_default(),
                dirty: false,
            });
        }
        let max_message = cfg.max_message_bytes as usize;
        let batch_cap = opts.batch_size.clamp(HEADER_LEN + 1, max_message);
        let n = lanes.len() as u32;
        Ok((
            Producer {
                topic: topic.to_string(),
                lanes,
                opts,
                max_message,
                batch_cap,
                sticky: (crate::cluster::random_u64() % n as u64) as u32,
                last_sync: Instant::now(),
                now_ms: crate::fsutil::now_ms(),
                records: 0,
                pending: Vec::new(),
            },
            created,
        ))
    }

    pub fn partitions(&self) -> u32 {
        self.lanes.len() as u32
    }

    /// Refresh the clock used for records without a timestamp (once per input chunk, not
    /// per record: a syscall per record would dominate).
    pub fn tick(&mut self) {
        self.now_ms = crate::fsutil::now_ms();
    }

    pub fn send(&mut self, r: RecordRef<'_>) -> Result<()> {
        let n = self.lanes.len() as u32;
        let p = match (r.partition.or(self.opts.partition), r.key) {
            (Some(p), _) => {
                if p >= n {
                    return Err(Error::BadInput(format!(
                        "input line {}: partition {p} does not exist (topic {:?} has {n})",
                        r.line, self.topic
                    )));
                }
                p
            }
            (None, Some(k)) => partition_for_key(k, n),
            (None, None) => self.sticky,
        };
        let size = BatchBuilder::record_size(r.key, r.value, r.headers);
        if size + HEADER_LEN > self.max_message {
            return Err(Error::BadInput(format!(
                "input line {}: record of {} bytes is larger than max.message.bytes ({}) of topic {:?}",
                r.line, size, self.max_message, self.topic
            )));
        }
        let lane = &mut self.lanes[p as usize];
        if !lane.builder.is_empty() && lane.builder.len() + size > self.batch_cap {
            self.flush_lane(p)?;
        }
        let lane = &mut self.lanes[p as usize];
        if lane.builder.is_empty() {
            self.pending.push(p);
        }
        lane.builder.push(
            r.key,
            r.value,
            r.timestamp.unwrap_or(self.now_ms),
            r.headers,
        );
        self.records += 1;
        if lane.builder.len() >= self.batch_cap {
            self.flush_lane(p)?;
        }
        Ok(())
    }

    fn flush_lane(&mut self, p: u32) -> Result<()> {
        let lane = &mut self.lanes[p as usize];
        if lane.builder.is_empty() {
            return Ok(());
        }
        if lane.writer.is_none() {
            if lane.dir.as_os_str().is_empty() {
                return Err(Error::Temporary(format!(
                    "partition {}-{p} has no leader (offline)",
                    self.topic
                )));
            }
            lane.writer = Some(PartitionWriter::open(
                &lane.dir,
                &format!("{}-{p}", self.topic),
                lane.opts.clone(),
            )?);
        }
        let mut sealed = lane.builder.seal();
        lane.writer.as_mut().unwrap().append(&mut sealed)?;
        lane.builder.clear();
        lane.dirty = true;
        self.pending.retain(|&x| x != p);
        // Null-key records stick to one partition per batch, then move on.
        if p == self.sticky && self.opts.partition.is_none() {
            self.sticky = (self.sticky + 1) % self.lanes.len() as u32;
        }
        Ok(())
    }

    /// Append every partially filled batch.
    pub fn flush(&mut self) -> Result<()> {
        while let Some(&p) = self.pending.first() {
            self.flush_lane(p)?;
        }
        Ok(())
    }

    pub fn has_pending(&self) -> bool {
        !self.pending.is_empty()
    }

    /// fsync every partition appended to since the last sync (unless --acks 0).
    pub fn sync(&mut self) -> Result<()> {
        self.last_sync = Instant::now();
        if self.opts.acks == Acks::None {
            return Ok(());
        }
        for lane in &mut self.lanes {
            if lane.dirty {
                lane.writer.as_mut().unwrap().sync()?;
                lane.dirty = false;
            }
        }
        Ok(())
    }

    /// When the next periodic fsync is due.
    pub fn sync_deadline(&self) -> Instant {
        self.last_sync + SYNC_INTERVAL
    }

    /// The deadline always moves on once reached, dirty or not: otherwise an idle producer
    /// would wake up in a loop, waiting for a deadline that has passed.
    pub fn sync_if_due(&mut self) -> Result<()> {
        let now = Instant::now();
        if now >= self.sync_deadline() {
            if self.lanes.iter().any(|l| l.dirty) {
                self.sync()?;
            } else {
                self.last_sync = now;
            }
        }
        Ok(())
    }

    /// Flush and fsync: after this returns Ok, every record sent is durable (DESIGN.md §3.3).
    pub fn close(&mut self) -> Result<()> {
        self.flush()?;
        self.sync()
    }
}
