//! The seam the commands call through for topics, producing, consuming and consumer groups
//! (members, positions, resets). No file-system type appears in these signatures, so another
//! implementation (a Kafka cluster) can sit behind the same commands. [`local::Local`] is this root's directory tree. Administration that only
//! a directory tree has (brokers as directories, `verify`, `dump`, reassignment, the
//! controller) stays on `cluster::Cluster`.

pub mod kafka;
pub mod local;

pub use crate::consume::RecordConsumer;
pub use crate::produce::RecordProducer;

use crate::consume::{ConsumeOptions, Subscription};
use crate::error::Result;
use crate::group::admin::{PartitionStatus, ResetPlan, ResetTo};
use crate::group::assign::Assignor;
use crate::group::deliver::OnFailure;
use crate::group::member::MemberInfo;
use crate::group::run::Reset;
use crate::output::OutputFormat;
use crate::produce::ProducerOptions;
use crate::topics::{AlterOptions, CreateOptions, Created, Description, PartitionOffsets};
use std::time::Duration;

/// A topic as `topic list` shows it.
#[derive(Debug, Clone, serde::Serialize)]
pub struct TopicSummary {
    pub name: String,
    pub partitions: u32,
    pub replication_factor: u32,
}

/// A consumer group as `group list` shows it.
#[derive(Debug, Clone, serde::Serialize)]
pub struct GroupSummary {
    pub group: String,
    pub members: usize,
    pub topics: Vec<String>,
}

/// `group describe`: the live members and each partition's position.
#[derive(Debug, Clone)]
pub struct GroupDescription {
    pub group: String,
    pub members: Vec<MemberInfo>,
    pub partitions: Vec<PartitionStatus>,
}

/// Where a group member's records go; a position is committed only once they were taken.
#[derive(Debug, Clone)]
pub enum MemberOutput {
    Stdout,
    /// `--exec CMD`: batches of up to `batch` records on the command's stdin.
    Exec {
        cmd: String,
        batch: usize,
        timeout: Option<Duration>,
        on_failure: OnFailure,
    },
    /// `chute stream`: as `Exec`, and each batch's handler output goes to `to`, committed with
    /// the batch exactly once (src/stream).
    Stream {
        cmd: String,
        batch: usize,
        timeout: Option<Duration>,
        on_failure: OnFailure,
        to: String,
        parse: crate::input::InputOptions,
        acks: crate::produce::Acks,
        compression: crate::log::codec::Codec,
        lock_timeout: Duration,
    },
}

/// One member of a consumer group (`consume -g`).
#[derive(Clone)]
pub struct MemberOptions {
    pub group: String,
    /// Topic names and patterns; with `--follow`, topics created later that a pattern matches
    /// are read too.
    pub topics: Subscription,
    pub assignor: Assignor,
    /// Where a partition without a committed offset starts.
    pub reset: Reset,
    pub consume: ConsumeOptions,
    pub format: OutputFormat,
    pub commit_interval: Duration,
    pub output: MemberOutput,
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
    /// A consumer of the topics `topics` resolves to (a pattern that matches none is an
    /// error), all their partitions or those `o` names of the one topic, outside any group.
    /// Following, it also reads topics created later that a pattern matches, from their
    /// beginning.
    fn consumer(
        &self,
        topics: &Subscription,
        o: &ConsumeOptions,
    ) -> Result<Box<dyn RecordConsumer>>;
    /// [`consumer`](Self::consumer) with `o.from` = stored: `start` gives where each
    /// partition begins (None: at its first offset). A mirror resumes this way.
    fn consumer_at(
        &self,
        topics: &Subscription,
        o: &ConsumeOptions,
        start: &dyn Fn(&str, u32) -> Option<u64>,
    ) -> Result<Box<dyn RecordConsumer>>;

    /// Every consumer group; none when there is no cluster yet.
    fn list_groups(&self) -> Result<Vec<GroupSummary>>;
    fn describe_group(&self, group: &str) -> Result<GroupDescription>;
    /// Committed offset, log end and lag per partition of `topic` (or of every topic the
    /// group has positions for).
    fn group_offsets(&self, group: &str, topic: Option<&str>) -> Result<Vec<PartitionStatus>>;
    /// The new positions of `partitions` of `topic` (all when empty); written only with
    /// `execute`, and refused while the group has live members.
    fn reset_group_offsets(
        &self,
        group: &str,
        topic: &str,
        partitions: &[u32],
        to: &ResetTo,
        execute: bool,
    ) -> Result<Vec<ResetPlan>>;
    /// Refused while the group has live members.
    fn delete_group(&self, group: &str) -> Result<()>;
    /// Run one member until its share is read (cron mode) or it is stopped (`--follow`);
    /// returns the records delivered. `warn` hears what the user should (clamped offsets,
    /// partitions left to another member).
    fn run_group_member(&self, o: MemberOptions, warn: &mut dyn FnMut(String)) -> Result<u64>;
}
