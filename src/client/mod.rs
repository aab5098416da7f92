//! The seam the commands call through for topics, producing and consuming. No file-system
//! type appears in these signatures, so another implementation (a Kafka cluster) can sit behind
//! the same commands. [`local::Local`] is this root's directory tree. Administration that only
//! a directory tree has (brokers as directories, `verify`, `dump`, reassignment, the
//! controller) stays on `cluster::Cluster`.

pub mod local;

use crate::consume::ConsumeOptions;
use crate::error::Result;
use crate::produce::ProducerOptions;
use crate::record::{RecordRef, RecordSink};
use crate::topics::{AlterOptions, CreateOptions, Created, Description, PartitionOffsets};
use std::time::{Duration, Instant};

/// A topic as `topic list` shows it.
#[derive(Debug, Clone, serde::Serialize)]
pub struct TopicSummary {
    pub name: String,
    pub partitions: u32,
    pub replication_factor: u32,
}

pub trait Backend {
    fn create_topic(&self, name: &str, o: CreateOptions) -> Result<Created>;
    /// Every topic, by name; none when there is no cluster yet.
    fn list_topics(&self) -> Result<Vec<TopicSummary>>;
    fn describe_topic(&self, name: &str) -> Result<Description>;
    fn alter_topic(&self, name: &str, o: AlterOptions) -> Result<()>;
    fn delete_topic(&self, name: &str, lock_timeout: Duration) -> Result<()>;
    /// Each partition's earliest and latest offsets, and with `at` (ms since the epoch) the
    /// first offset at or after that time.
    fn topic_offsets(&self, name: &str, at: Option<i64>) -> Result<Vec<PartitionOffsets>>;
    /// A producer, and whether the topic was created for it.
    fn producer(&self, topic: &str, o: ProducerOptions) -> Result<(Box<dyn RecordProducer>, bool)>;
    /// A consumer of the partitions `o` names (all by default), outside any group.
    fn consumer(&self, topic: &str, o: &ConsumeOptions) -> Result<Box<dyn RecordConsumer>>;
}

/// Records in, batches out: durable once [`close`](Self::close) or a due sync returned Ok
/// (README.md, Concepts: Durability).
pub trait RecordProducer {
    /// Refresh the clock for records without a timestamp (once per input chunk).
    fn tick(&mut self);
    fn send(&mut self, r: RecordRef<'_>) -> Result<()>;
    fn has_pending(&self) -> bool;
    /// Write every partially filled batch.
    fn flush(&mut self) -> Result<()>;
    /// When the next periodic sync is due.
    fn sync_deadline(&self) -> Instant;
    fn sync_if_due(&mut self) -> Result<()>;
    /// Flush and make durable everything sent.
    fn close(&mut self) -> Result<()>;
    /// Records cut to fit the topic's largest message (`--on-error truncate`).
    fn truncated(&self) -> u64;
}

pub trait RecordConsumer {
    /// Things the user should hear about (clamped start offsets and the like).
    fn warnings(&self) -> Vec<String>;
    /// Deliver what is available now; returns records delivered.
    fn poll(&mut self, sink: &mut dyn RecordSink) -> Result<u64>;
    /// Every partition reached its end, `--until` or `-n`, or a stop was asked for.
    fn finished(&self) -> bool;
    /// Block until more may be there, or `timeout` passes.
    fn wait(&mut self, timeout: Duration);
}
