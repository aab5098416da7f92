//! Producing: records → partitions → batches → the partition writers.
//! Reads metadata; appends under each partition's lock (see docs/locking.md).

use crate::cluster::Cluster;
use crate::cluster::config::TopicConfig;
use crate::cluster::metadata::PartitionMeta;
use crate::cluster::topic_watch::{TopicChange, TopicWatch};
use crate::error::{Error, Result};
use crate::log::batch::{BatchBuilder, HEADER_LEN};
use crate::log::codec::Codec;
use crate::log::{PartitionWriter, WriterOptions};
use crate::partitioner::Partitioner;
use crate::record::RecordRef;
use crate::replica::{HwView, Syncer};
use crate::topics;

mod acks_all;
pub mod placement;
mod unacked;

use std::path::PathBuf;
use std::time::{Duration, Instant};
use unacked::Unacked;

/// `--acks`: 0, 1 (the default) or all (alias -1), as in Kafka. (The flag's help says what
/// each means: `help = None` keeps these doc comments out of it.)
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum Acks {
    /// Do not wait for fsync.
    #[value(name = "0", help = None::<&str>)]
    None,
    /// fsync on the leader before reporting success (the default).
    #[value(name = "1", help = None::<&str>)]
    Leader,
    /// Every in-sync replica has the records.
    #[value(name = "all", alias = "-1", help = None::<&str>)]
    All,
}

pub struct ProducerOptions {
    pub partition: Option<u32>,
    pub acks: Acks,
    pub batch_size: usize,
    pub lock_timeout: Duration,
    /// Cut a record larger than `max.message.bytes` to fit instead of refusing it
    /// (`--on-error truncate`).
    pub truncate_oversized: bool,
    /// Create a missing topic even when a similar one exists (a typo?) or the cluster's
    /// `auto.create.topics` is off (`--create`).
    pub create: bool,
    /// The codec batches are stored with, unless the topic's `compression.type` names one.
    pub compression: Codec,
    /// The codec's level (its default when None).
    pub compression_level: Option<i32>,
    /// `--partitioner` (None: the topic's `partitioner` config).
    pub partitioner: Option<Partitioner>,
    /// `--partitioner-exec CMD` and how long one answer may take.
    pub partitioner_exec: Option<String>,
    pub partitioner_timeout: Duration,
    /// `--batch-records N`: a batch closes at N records too.
    pub batch_records: Option<u32>,
    /// `--id NAME`: a retry-safe producer (docs/producing.md): each record's input position
    /// is its sequence, placement is a function of it, and positions the log already holds
    /// are skipped.
    pub id: Option<String>,
    /// With `id`: refuse a partition count other than the one the id last wrote with (a
    /// re-run would place records elsewhere). `chute stream` allows it: its ids outlive any
    /// one input, and only a batch pending across the change could be placed twice.
    pub id_fixed_partitions: bool,
    /// `--linger`, for a backend whose client batches on its own (Kafka's `linger.ms`); on a
    /// root the command's loop decides when to write.
    pub linger: Option<Duration>,
}

impl ProducerOptions {
    /// The defaults of `chute produce` (for producers the CLI does not configure).
    pub fn new(create: bool) -> ProducerOptions {
        ProducerOptions {
            partition: None,
            acks: Acks::Leader,
            batch_size: 1 << 20,
            lock_timeout: Duration::from_secs(30),
            truncate_oversized: false,
            create,
            compression: Codec::None,
            compression_level: None,
            partitioner: None,
            partitioner_exec: None,
            partitioner_timeout: Duration::from_secs(5),
            batch_records: None,
            id: None,
            id_fixed_partitions: true,
            linger: None,
        }
    }
}

/// Errors that mean "leadership moved, or is moving": reload metadata and retry. `Fenced`
/// covers a replica with a newer leader epoch and a partition without a leader; a replica or
/// directory that is gone (its disk died, a reassignment removed it) is "not found". Which one
/// it was, metadata says: a deleted topic fails the reload at once, anything else waits for the
/// new leader until --timeout.
fn leadership_error(e: &Error) -> bool {
    match e {
        Error::Fenced { .. } | Error::NoLeader(_) | Error::Deleted(_) | Error::NotFound(_) => true,
        Error::Io { source, .. } => source.kind() == std::io::ErrorKind::NotFound,
        _ => false,
    }
}

/// How often a long-running producer fsyncs at the least (README.md, Concepts: Durability).
pub const SYNC_INTERVAL: Duration = Duration::from_secs(1);

struct Lane {
    writer: Option<PartitionWriter>,
    builder: BatchBuilder,
    opts: WriterOptions,
    /// The leader replica's directory (None: the partition is offline).
    dir: Option<PathBuf>,
    meta: PartitionMeta,
    hw: HwView,
    /// Appended since the last fsync.
    dirty: bool,
    /// Appended since followers were last brought up (`--acks 0|1`, best effort).
    unreplicated: bool,
    /// Stored size over records' size of the batches compressed so far (1.0 uncompressed),
    /// so a compressed batch fills up to --batch-size as stored (Kafka's estimator).
    ratio: f64,
    /// The rest of a batch that compressed larger than max.message.bytes and was split, in
    /// reverse order (appended after the builder).
    later: Vec<BatchBuilder>,
    /// `--id`: the last input position the log holds from us here (None: none), and the log
    /// end as we last saw it (what another writer appended since is checked for our id).
    /// `seen_end` is None until the state is read from the current leader.
    last_seq: Option<u64>,
    seen_end: Option<u64>,
}

/// Like Kafka's CompressionRatioEstimator, up at once when a batch compresses worse than
/// thought; but down by three quarters of the gap (Kafka: 0.005 a batch), because a chute
/// producer often lives for one file and should reach full batches within a few.
fn next_ratio(estimate: f64, observed: f64) -> f64 {
    if observed > estimate {
        (estimate + 0.05).max(observed)
    } else {
        observed + (estimate - observed) / 4.0
    }
}

/// Records waiting in batches, over all partitions, stay below this (Kafka's buffer.memory,
/// halved: peak memory stays within 32 MiB).
const BUFFER_CAP: usize = 16 << 20;

/// Uncompressed records of one batch stay below this, however well they compress: the batch
/// is built in memory (and a reader inflates it a window at a time), and peak memory stays
/// within 32 MiB. Twice zstd's window at its default level, and 64 times lz4's.
const MAX_RAW_BATCH: usize = 4 << 20;

pub struct Producer {
    cluster: Cluster,
    topic: String,
    lanes: Vec<Lane>,
    opts: ProducerOptions,
    cfg: TopicConfig,
    /// max.message.bytes less the stamp of `--id` batches.
    max_message: usize,
    stamp_len: usize,
    batch_cap: usize,
    placement: placement::Placement,
    /// Bytes of records in every lane's builder: bounded by [`BUFFER_CAP`] whatever the number
    /// of partitions and the batch bounds.
    buffered: usize,
    last_sync: Instant,
    now_ms: i64,
    pub records: u64,
    /// Records cut to fit under `--on-error truncate`.
    pub truncated: u64,
    /// Lanes with a non-empty builder, so flushing does not walk every partition.
    pending: Vec<u32>,
    watch: TopicWatch,
    /// Metadata as of the watch's last reload (follower syncs need broker paths; no re-read
    /// per wait).
    md: crate::cluster::metadata::Metadata,
    unacked: Unacked,
    syncer: Syncer,
    /// Partitions whose leader changed and whose unacknowledged batches are not re-sent yet.
    moved: Vec<u32>,
    /// A wait (for a leader, or `--acks all`) ran out of --timeout: the command is about to
    /// fail; later attempts (the closing flush) try once and do not wait again.
    gave_up: bool,
    /// Our topic was deleted: nothing more may be written anywhere (not into a new topic of
    /// the same name either).
    deleted: bool,
    /// Records appended so far, and where the last batch went (partition, last offset).
    appended: u64,
    last_append: Option<(u32, u64)>,
    /// `--id`: input position of the next record, and records skipped as already written.
    next_seq: u64,
    pub deduplicated: u64,
}

/// A missing topic is created for a producer unless its name looks like a typo of one that
/// exists (`ordrs` for `orders`: a silently created topic would swallow the records), or the
/// cluster's `auto.create.topics` is off. `--create` overrides both.
fn refuse_to_create(md: &crate::cluster::metadata::Metadata, topic: &str) -> Result<()> {
    if let Some(s) = crate::names::similar(topic, md.topics.keys().map(String::as_str)) {
        return Err(Error::NotFound(format!(
            "topic {topic:?} does not exist; did you mean {s:?}? (--create creates {topic:?})"
        )));
    }
    if !crate::cluster::settings::auto_create_topics(md) {
        return Err(Error::NotFound(format!(
            "topic {topic:?} does not exist and auto.create.topics is false: create it with `chute topic create {topic}`, or pass --create"
        )));
    }
    Ok(())
}

impl Producer {
    /// Open a producer for `topic`; creates the topic with defaults if it does not exist
    /// (returns whether it did, for the caller to say so).
    pub fn open(cluster: &Cluster, topic: &str, opts: ProducerOptions) -> Result<(Producer, bool)> {
        crate::names::topic(topic)?;
        // The stamp is taken before the read: a change in between shows as a new stamp at the
        // next check (one reload too many), never as an old view taken for the current one.
        let mut md_stamp = TopicWatch::stamp_now(cluster);
        let mut md = cluster.ensure()?;
        let mut created = false;
        if !md.topics.contains_key(topic) {
            if !opts.create {
                refuse_to_create(&md, topic)?;
            }
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
            md_stamp = TopicWatch::stamp_now(cluster);
            md = cluster.metadata()?;
        }
        let t = md.topic(topic)?;
        if let Some(p) = opts.partition {
            t.partition(topic, p)?;
        }
        let cfg = TopicConfig::resolve(&t.config);
        if opts.acks == Acks::All {
            for p in &t.partitions {
                acks_all::check_isr(topic, p, cfg.min_insync_replicas)?;
            }
        }
        // Writing into a directory that belongs to another cluster (a wrong disk mounted at a
        // broker path) would mix two clusters' data: check each leader broker's tag once.
        let mut checked = Vec::new();
        for p in &t.partitions {
            if let Some(b) = p.leader
                && !checked.contains(&b)
            {
                match cluster.check_broker_tag(&md, b) {
                    // The leader's disk is gone: the controller is about to elect another; the
                    // append path waits for that (up to --timeout).
                    Err(Error::Io { source, .. })
                        if source.kind() == std::io::ErrorKind::NotFound => {}
                    r => r?,
                }
                checked.push(b);
            }
        }
        // A topic that names a codec has every batch stored with it (the producer's level
        // only when it chose the same codec); `producer` keeps the producer's choice.
        let (codec, level) = match cfg.compression {
            Some(c) if c != opts.compression => (c, None),
            _ => (opts.compression, opts.compression_level),
        };
        let mut lanes = Vec::new();
        for p in &t.partitions {
            let mut o = crate::replica::dir::writer_options(&cfg, p);
            o.lock_timeout = opts.lock_timeout;
            lanes.push(Lane {
                writer: None,
                builder: match &opts.id {
                    Some(id) => BatchBuilder::new()
                        .with_compression(codec, level)
                        .with_producer(id, t.partitions.len() as u32),
                    None => BatchBuilder::new().with_compression(codec, level),
                },
                opts: o,
                dir: cluster.leader_dir(&md, topic, p.partition).ok(),
                meta: p.clone(),
                hw: HwView::new(cluster, &md, topic, p),
                dirty: false,
                unreplicated: false,
                ratio: 1.0,
                later: Vec::new(),
                last_seq: None,
                seen_end: None,
            });
        }
        // `--id`: each batch carries a stamp (docs/format.md), so records and batches have that
        // much less room under max.message.bytes.
        let stamp_len = opts.id.as_ref().map_or(0, |id| id.len() + 21);
        let max_message = (cfg.max_message_bytes as usize).saturating_sub(stamp_len);
        // (A max.message.bytes below one batch header admits no record; each says so.)
        let batch_cap = opts
            .batch_size
            .clamp(HEADER_LEN + 1, max_message.max(HEADER_LEN + 1));
        let n = lanes.len() as u32;
        let exec = match &opts.partitioner_exec {
            Some(cmd) => Some(placement::ExecPartitioner::spawn(
                cmd,
                opts.partitioner_timeout,
            )?),
            None => None,
        };
        let kind = opts.partitioner.unwrap_or(cfg.partitioner);
        if let Some(id) = &opts.id {
            crate::names::producer_id(id)?;
            if exec.is_some() || kind == Partitioner::Random {
                return Err(Error::Usage(format!(
                    "--id {id}: a re-run must place every record where the first run did; {} does not (use a hash, round-robin or sticky partitioner, or take the partition from the data)",
                    if exec.is_some() {
                        "--partitioner-exec".to_string()
                    } else {
                        "--partitioner random".to_string()
                    }
                )));
            }
        }
        let placement = placement::Placement::new(kind, n, exec);
        let mut producer = Producer {
            cluster: cluster.clone(),
            topic: topic.to_string(),
            lanes,
            opts,
            cfg,
            max_message,
            stamp_len,
            batch_cap,
            placement,
            buffered: 0,
            last_sync: Instant::now(),
            now_ms: crate::fsutil::now_ms(),
            records: 0,
            truncated: 0,
            pending: Vec::new(),
            watch: TopicWatch::new(topic, Some(t.id.clone()), md_stamp),
            md: md.clone(),
            unacked: Unacked::default(),
            // Short: a follower whose lock is busy is tried again on the next round, and
            // --timeout stays the bound on the whole wait.
            syncer: Syncer::with_lock_timeout(Duration::from_millis(200)),
            gave_up: false,
            moved: Vec::new(),
            deleted: false,
            appended: 0,
            last_append: None,
            next_seq: 0,
            deduplicated: 0,
        };
        if producer.opts.id.is_some() {
            // Every partition's state before the first record: a count changed since the last
            // run is refused before anything is written. (An offline partition is read when
            // its first record comes.)
            for p in 0..n {
                match producer.load_producer_state(p) {
                    Ok(()) => {}
                    Err(e) if leadership_error(&e) => {}
                    Err(e) => return Err(e),
                }
            }
        }
        Ok((producer, created))
    }

    /// [`load_producer_state`](Self::load_producer_state), waiting for a leader (up to the
    /// timeout) as an append does.
    fn await_producer_state(&mut self, p: u32) -> Result<()> {
        let deadline = Instant::now() + self.opts.lock_timeout;
        loop {
            match self.load_producer_state(p) {
                Err(e) if leadership_error(&e) && !self.gave_up => {
                    self.watch.invalidate();
                    self.wait_for_metadata(deadline, &e)?;
                }
                r => return r,
            }
        }
    }

    /// `--id`: read what the log of partition `p`'s leader holds from us (under its lock).
    fn load_producer_state(&mut self, p: u32) -> Result<()> {
        let id = self.opts.id.clone().expect("--id");
        let n = self.lanes.len() as u32;
        let expiry = self.cfg.producer_id_expiration_ms;
        let topic = self.topic.clone();
        let w = self.open_writer(p)?;
        let (state, t) = w.producer_state(false)?;
        let entry = state.and_then(|s| s.get(&id, crate::fsutil::now_ms(), expiry));
        if let Some(e) = entry
            && e.partitions != n
            && self.opts.id_fixed_partitions
        {
            return Err(Error::Usage(format!(
                "--id {id}: topic {topic:?} had {} partitions when this producer last wrote it (partition {p}, offset {}) and has {n} now: a re-run would place records elsewhere; use a new --id",
                e.partitions, e.offset
            )));
        }
        let lane = &mut self.lanes[p as usize];
        // Positions we appended ourselves since (our own batches) are known better here.
        lane.last_seq = lane.last_seq.max(entry.map(|e| e.last_sequence));
        lane.seen_end = Some(t.end_offset);
        Ok(())
    }

    /// Reload metadata if it changed (one `stat` when it did not). Lanes whose leader or leader
    /// epoch changed drop their writer and point at the new leader; returns those partitions.
    fn refresh_metadata(&mut self) -> Result<Vec<u32>> {
        let md = match self.watch.poll(&self.cluster) {
            Ok(TopicChange::Unchanged) => return Ok(Vec::new()),
            Ok(TopicChange::Changed(md)) => md,
            Ok(TopicChange::Deleted { .. }) | Err(Error::NotFound(_)) => {
                return Err(self.topic_deleted());
            }
            Err(e) => return Err(e),
        };
        let t = md.topic(&self.topic)?;
        let mut moved = Vec::new();
        for (i, lane) in self.lanes.iter_mut().enumerate() {
            let Some(p) = t.partitions.get(i) else {
                continue;
            };
            if p.leader != lane.meta.leader || p.leader_epoch != lane.meta.leader_epoch {
                if !self.moved.contains(&(i as u32)) {
                    self.moved.push(i as u32);
                }
                if lane.dirty
                    && let Some(w) = lane.writer.as_mut()
                {
                    // Best effort: the old leader may be gone; what matters is re-sent below.
                    let _ = w.sync();
                }
                lane.writer = None;
                lane.dirty = false;
                // --id: the new leader's log end is another's; read it there before appending.
                lane.seen_end = None;
                lane.dir = self.cluster.leader_dir(&md, &self.topic, p.partition).ok();
                lane.opts.leader_epoch = p.leader_epoch;
                moved.push(i as u32);
            }
            if p != &lane.meta {
                lane.hw = HwView::new(&self.cluster, &md, &self.topic, p);
                lane.meta = p.clone();
            }
        }
        self.md = md;
        Ok(moved)
    }

    /// Our topic is gone (deleted, maybe created again): say what was lost, and refuse every
    /// later write, so no record goes into a new topic of the same name.
    fn topic_deleted(&mut self) -> Error {
        self.deleted = true;
        let lost = self.records - self.appended;
        let written = match self.last_append {
            Some((p, o)) => {
                format!("{lost} records after offset {o} of partition {p} were not written")
            }
            None => format!("none of the {lost} records read were written"),
        };
        Error::Deleted(format!(
            "topic {:?} was deleted while writing; {written}",
            self.topic
        ))
    }

    /// Wait (up to the timeout) until metadata changes; for a partition with no leader or a
    /// leader that refused us.
    fn wait_for_metadata(&mut self, deadline: Instant, why: &Error) -> Result<Vec<u32>> {
        let mut backoff = Duration::from_millis(1);
        loop {
            let moved = self.refresh_metadata()?;
            if !moved.is_empty() {
                return Ok(moved);
            }
            if Instant::now() >= deadline {
                self.gave_up = true;
                return Err(Error::Temporary(format!(
                    "{why} (gave up after {})",
                    humantime::format_duration(self.opts.lock_timeout)
                )));
            }
            std::thread::sleep(backoff);
            backoff = (backoff * 2).min(Duration::from_millis(20));
        }
    }
    fn check_partition(&self, p: u32, line: u64) -> Result<()> {
        let n = self.lanes.len() as u32;
        if p >= n {
            return Err(Error::BadInput(format!(
                "input line {line}: partition {p} does not exist (topic {:?} has {n})",
                self.topic
            )));
        }
        Ok(())
    }

    /// Whether `send` would take `r` (its partition exists, it fits max.message.bytes), without
    /// sending it: `chute stream` checks a batch's output before committing to it.
    pub fn admits(&self, r: &RecordRef<'_>) -> Result<()> {
        let n = self.lanes.len() as u32;
        if let Some(p) = r.partition.or(self.opts.partition) {
            self.check_partition(p, r.line)?;
        }
        let size = BatchBuilder::record_size(r.key, r.value, r.headers);
        if size + HEADER_LEN > self.max_message {
            let p = r.partition.unwrap_or(0).min(n.saturating_sub(1));
            if !self.fits_compressed(p, r, size) {
                return Err(Error::BadInput(format!(
                    "input line {}: record of {size} bytes is larger than max.message.bytes ({}) of topic {:?}",
                    r.line, self.max_message, self.topic
                )));
            }
        }
        Ok(())
    }

    /// `--id`: the highest sequence partition `p` holds from this producer's id (None:
    /// none), as its log says (read now if it was offline at open). A mirror resumes after it.
    pub fn written_up_to(&mut self, p: u32) -> Result<Option<u64>> {
        if self.lanes[p as usize].seen_end.is_none() {
            self.await_producer_state(p)?;
        }
        Ok(self.lanes[p as usize].last_seq)
    }

    /// `--id`: the input position of the next record sent (`chute stream` numbers its
    /// outputs by their input batch rather than by count).
    pub fn set_next_sequence(&mut self, seq: u64) {
        self.next_seq = seq;
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
        let mut size = BatchBuilder::record_size(r.key, r.value, r.headers);
        let p = match (r.partition.or(self.opts.partition), r.key) {
            (Some(p), _) => {
                self.check_partition(p, r.line)?;
                p
            }
            (None, key) if self.opts.id.is_some() => self.placement.choose_at(key, self.next_seq),
            (None, key) => self.placement.choose(key, size, r.line)?,
        };
        let seq = self.next_seq;
        if self.opts.id.is_some() {
            self.next_seq += 1;
            if self.lanes[p as usize].seen_end.is_none() {
                self.await_producer_state(p)?;
            }
            if self.lanes[p as usize].last_seq.is_some_and(|l| seq <= l) {
                // Written by an earlier run with this id.
                self.deduplicated += 1;
                return Ok(());
            }
        }
        let mut r = r;
        if size + HEADER_LEN > self.max_message
            && self.opts.truncate_oversized
            && !self.fits_compressed(p, &r, size)
            && let Some(v) = r.value
        {
            // Cut the value until the record fits (the length prefixes shrink with it).
            let over = size + HEADER_LEN - self.max_message;
            let mut keep = v.len().saturating_sub(over);
            while keep > 0
                && BatchBuilder::record_size(r.key, Some(&v[..keep]), r.headers) + HEADER_LEN
                    > self.max_message
            {
                keep -= 1;
            }
            r.value = Some(&v[..keep]);
            size = BatchBuilder::record_size(r.key, r.value, r.headers);
            if size + HEADER_LEN <= self.max_message {
                self.truncated += 1;
                if self.truncated <= 10 {
                    eprintln!(
                        "chute: truncated: input line {}: record cut to max.message.bytes ({}) of topic {:?}",
                        r.line, self.max_message, self.topic
                    );
                }
            }
        }
        // Near the limit, a codec's own framing can take a record over it (an incompressible
        // one grows): such records are compressed alone to know, before they join a batch.
        let codec = self.lanes[p as usize].builder.codec();
        let margin = if codec == Codec::None {
            0
        } else {
            size / 256 + 512
        };
        if size + HEADER_LEN + margin > self.max_message && !self.fits_compressed(p, &r, size) {
            return Err(Error::BadInput(format!(
                "input line {}: record of {} bytes is larger than max.message.bytes ({}) of topic {:?}{}",
                r.line,
                size,
                self.max_message,
                self.topic,
                match self.lanes[p as usize].builder.codec() {
                    Codec::None => String::new(),
                    c => format!(", even compressed with {c}"),
                }
            )));
        }
        let lane = &mut self.lanes[p as usize];
        // Full by its stored size: the records' size times the compression ratio seen so far.
        let stored = |raw: usize| HEADER_LEN + ((raw - HEADER_LEN) as f64 * lane.ratio) as usize;
        if !lane.builder.is_empty()
            && (stored(lane.builder.len() + size) > self.batch_cap
                || lane.builder.len() + size > MAX_RAW_BATCH)
        {
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
        if self.opts.id.is_some() {
            lane.builder.sequence(seq);
        }
        self.records += 1;
        self.buffered += size;
        let full = HEADER_LEN + ((lane.builder.len() - HEADER_LEN) as f64 * lane.ratio) as usize;
        if full >= self.batch_cap
            || self
                .opts
                .batch_records
                .is_some_and(|n| lane.builder.count() >= n)
        {
            self.flush_lane(p)?;
        }
        if self.buffered > BUFFER_CAP {
            // Many partitions each filling a batch: write the fullest.
            let fullest = self
                .pending
                .iter()
                .copied()
                .max_by_key(|&q| self.lanes[q as usize].builder.len());
            if let Some(q) = fullest {
                self.flush_lane(q)?;
            }
        }
        Ok(())
    }

    /// Whether a record larger than max.message.bytes as it is fits once compressed (a batch
    /// of its own, compressed with the lane's codec). Rare: only oversized records pay for it.
    fn fits_compressed(&self, p: u32, r: &RecordRef<'_>, size: usize) -> bool {
        let codec = self.lanes[p as usize].builder.codec();
        if codec == Codec::None {
            return size + HEADER_LEN <= self.max_message;
        }
        if (size + HEADER_LEN) as u64 > crate::log::codec::MAX_INFLATED {
            return false;
        }
        let mut b =
            BatchBuilder::new().with_compression(codec, self.lanes[p as usize].builder.level());
        b.push(r.key, r.value, 0, r.headers);
        b.seal().bytes.len() <= self.max_message
    }

    fn flush_lane(&mut self, p: u32) -> Result<()> {
        if self.lanes[p as usize].builder.is_empty() {
            return Ok(());
        }
        if self.deleted {
            return Err(self.topic_deleted());
        }
        self.refresh_metadata()?;
        let deadline = if self.gave_up {
            Instant::now()
        } else {
            Instant::now() + self.opts.lock_timeout
        };
        loop {
            // Unacknowledged batches go to a new leader before anything newer does: one
            // producer's records keep their order.
            match self.resend_moved().and_then(|_| self.append_lane(p)) {
                Ok(()) => break,
                Err(e) if leadership_error(&e) => {
                    // Look again even if the file seems unchanged: the directory we wrote to
                    // is gone, so our view may be older than its stamp says.
                    self.watch.invalidate();
                    self.wait_for_metadata(deadline, &e)?;
                }
                Err(e) => return Err(e),
            }
        }
        self.lanes[p as usize].builder.clear();
        // Buffers keep their size between batches (no regrowth per batch); when all lanes'
        // together pass the bound (many partitions, each grown to a full batch once), the
        // flushed one gives its memory back.
        if self.lanes.len() > 1
            && self
                .lanes
                .iter()
                .map(|l| l.builder.capacity())
                .sum::<usize>()
                > BUFFER_CAP
        {
            self.lanes[p as usize].builder.shrink();
        }
        self.pending.retain(|&x| x != p);
        self.buffered = self
            .pending
            .iter()
            .map(|&q| self.lanes[q as usize].builder.len() - HEADER_LEN)
            .sum();
        if self.unacked.full() {
            self.sync()?;
        }
        Ok(())
    }

    fn open_writer(&mut self, p: u32) -> Result<&mut PartitionWriter> {
        let lane = &mut self.lanes[p as usize];
        if lane.writer.is_none() {
            let Some(dir) = &lane.dir else {
                return Err(Error::NoLeader(format!("{}-{p}", self.topic)));
            };
            lane.writer = Some(PartitionWriter::open(
                dir,
                &format!("{}-{p}", self.topic),
                lane.opts.clone(),
            )?);
        }
        Ok(lane.writer.as_mut().unwrap())
    }

    fn append_lane(&mut self, p: u32) -> Result<()> {
        loop {
            self.append_builder(p)?;
            // The rest of a split batch follows, in order.
            let lane = &mut self.lanes[p as usize];
            match lane.later.pop() {
                Some(next) => lane.builder = next,
                None => return Ok(()),
            }
        }
    }

    fn append_builder(&mut self, p: u32) -> Result<()> {
        if self.opts.id.is_some() && self.lanes[p as usize].seen_end.is_none() {
            // A new leader: its log end is another's (what others appended is checked from it).
            self.load_producer_state(p)?;
        }
        self.open_writer(p)?;
        let acks_all = self.opts.acks == Acks::All;
        let max_message = self.max_message + self.stamp_len;
        let lane = &mut self.lanes[p as usize];
        // A compressed batch that came out larger than the topic accepts (the ratio estimate
        // was optimistic) is split in halves, as Kafka's producer does.
        while lane.builder.count() > 1 && lane.builder.seal().bytes.len() > max_message {
            let rest = lane.builder.split_half();
            lane.later.push(rest);
        }
        let raw = lane.builder.len();
        let compressed = lane.builder.codec() != Codec::None;
        let seqs = lane.builder.sequences();
        let mut sealed = lane.builder.seal();
        if sealed.bytes.len() > max_message {
            // Checked when the record came in (`fits_compressed`); should it still not fit, it
            // is dropped here, so the partition's later records are not held behind it.
            let stored = sealed.bytes.len();
            lane.builder.clear();
            return Err(Error::BadInput(format!(
                "a record of {raw} bytes compresses to {stored} bytes, larger than max.message.bytes ({max_message}) of topic {:?}",
                self.topic
            )));
        }
        let observed = (sealed.bytes.len() - HEADER_LEN) as f64 / (raw - HEADER_LEN).max(1) as f64;
        let w = lane.writer.as_mut().unwrap();
        let r = match (&self.opts.id, lane.seen_end.as_mut()) {
            (Some(id), Some(seen)) => {
                let (first, _) = seqs.expect("a stamped batch has sequences");
                w.append_stamped(&mut sealed, id, first, seen)
            }
            _ => w.append(&mut sealed),
        };
        let a = match r {
            Ok(a) => a,
            Err(e) => {
                lane.writer = None;
                return Err(e);
            }
        };
        lane.dirty = true;
        lane.unreplicated = lane.meta.replicas.len() > 1;
        if let Some((_, last)) = seqs {
            lane.last_seq = Some(last);
        }
        if compressed {
            lane.ratio = next_ratio(lane.ratio, observed);
        }
        self.appended += a.last_offset + 1 - a.base_offset;
        self.last_append = Some((p, a.last_offset));
        if acks_all {
            self.unacked.push(unacked::Batch {
                partition: p,
                base: a.base_offset,
                end: a.last_offset + 1,
                crc: sealed.crc(),
                bytes: sealed.bytes.clone(),
            });
        }
        Ok(())
    }

    /// Append every partially filled batch. A partition that fails (offline) does not keep
    /// the others' records from being written: each is tried, the first error is returned.
    pub fn flush(&mut self) -> Result<()> {
        let mut first_err = None;
        // A lane leaves `pending` once flushed; one that failed stays, and is stepped over.
        let mut i = 0;
        while let Some(&p) = self.pending.get(i) {
            if let Err(e) = self.flush_lane(p) {
                if self.deleted {
                    return Err(e);
                }
                first_err.get_or_insert(e);
            }
            if self.pending.get(i) == Some(&p) {
                i += 1;
            }
        }
        first_err.map_or(Ok(()), Err)
    }

    pub fn has_pending(&self) -> bool {
        !self.pending.is_empty()
    }

    /// fsync every partition appended to since the last sync (unless --acks 0); with
    /// `--acks all`, also wait until every in-sync replica has the records.
    pub fn sync(&mut self) -> Result<()> {
        self.last_sync = Instant::now();
        if self.deleted {
            return Err(self.topic_deleted());
        }
        if self.opts.acks != Acks::None {
            self.sync_leaders()?;
        }
        if self.opts.acks == Acks::All {
            // After one wait failed, exiting (75) should not wait a second time.
            if !self.unacked.is_empty() && !self.gave_up {
                let r = self.await_replicas();
                self.gave_up = r.is_err();
                r?;
            }
        } else {
            self.replicate_best_effort();
        }
        Ok(())
    }

    /// `--acks 0|1` on a replicated topic: bring the followers up at each sync point without
    /// waiting for or requiring them, so records become visible to consumers (which read below
    /// the high watermark) even when no controller runs. A follower that is down is skipped.
    fn replicate_best_effort(&mut self) {
        if !self.lanes.iter().any(|l| l.unreplicated) {
            return;
        }
        let md = &self.md;
        for lane in &mut self.lanes {
            if lane.unreplicated {
                lane.unreplicated = false;
                let _ = self.syncer.sync_partition(
                    &self.cluster,
                    md,
                    &self.topic,
                    &lane.meta,
                    u64::MAX,
                );
            }
        }
    }

    fn sync_leaders(&mut self) -> Result<()> {
        for i in 0..self.lanes.len() {
            if !self.lanes[i].dirty {
                continue;
            }
            if self.lanes[i].writer.is_none() {
                // Dropped after a failed append (a full disk): what was appended before it is
                // fsynced through a fresh writer, which recovers the partition first.
                self.open_writer(i as u32)?;
            }
            let lane = &mut self.lanes[i];
            match lane.writer.as_mut().unwrap().sync() {
                Ok(_) => lane.dirty = false,
                // The leader's directory is gone (a lost disk, or the topic was deleted).
                Err(Error::NotFound(m) | Error::Deleted(m)) => {
                    lane.writer = None;
                    lane.dirty = false;
                    self.refresh_metadata()?;
                    if self.opts.acks != Acks::All {
                        return Err(Error::Temporary(format!(
                            "partition {}-{i}: {m}; records appended there since the last fsync may be lost (--acks all re-sends them to the new leader)",
                            self.topic
                        )));
                    }
                    // --acks all: the wait for the replicas re-sends what the new leader lacks.
                }
                Err(e) => return Err(e),
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

    /// Flush and fsync: after this returns Ok, every record sent is durable (README.md, Concepts:
    /// Durability).
    /// Records of partitions that could be written are made durable even when another
    /// partition failed (the first error is returned).
    pub fn close(&mut self) -> Result<()> {
        let flushed = self.flush();
        let synced = self.sync();
        flushed.and(synced)
    }
}

/// Records in, batches out: what the commands produce through (the client layer's
/// `Backend::producer`), [`Producer`] on this root, another backend's producer elsewhere.
/// Durable once [`close`](Self::close) or a due sync returned Ok (README.md, Concepts:
/// Durability).
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
    /// `--id`: records skipped because the log already held their input position.
    fn deduplicated(&self) -> u64 {
        0
    }
}

impl RecordProducer for Producer {
    fn tick(&mut self) {
        Producer::tick(self)
    }
    fn send(&mut self, r: RecordRef<'_>) -> Result<()> {
        Producer::send(self, r)
    }
    fn has_pending(&self) -> bool {
        Producer::has_pending(self)
    }
    fn flush(&mut self) -> Result<()> {
        Producer::flush(self)
    }
    fn sync_deadline(&self) -> Instant {
        Producer::sync_deadline(self)
    }
    fn sync_if_due(&mut self) -> Result<()> {
        Producer::sync_if_due(self)
    }
    fn close(&mut self) -> Result<()> {
        Producer::close(self)
    }
    fn truncated(&self) -> u64 {
        self.truncated
    }
    fn deduplicated(&self) -> u64 {
        self.deduplicated
    }
}
