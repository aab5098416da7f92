//! Consuming: start positions, snapshot ends, reading partitions (of one topic or several),
//! waiting for more. Reads metadata, tails and segments; takes no locks.

use crate::cluster::Cluster;
use crate::cluster::metadata::{Metadata, PartitionMeta};
use crate::cluster::topic_watch::{MetadataLook, TopicChange, TopicWatch};
use crate::error::{Error, Result};
use crate::log::{PartitionReader, Tail};
use crate::record::{ConsumedRecord, RecordSink};
use crate::replica::HwView;
use std::collections::BTreeMap;

mod merge;
pub mod subscription;

pub use subscription::Subscription;

/// Where each partition of a topic starts (None: at its first offset): `--from stored` with
/// positions kept elsewhere than a group (a mirror's).
pub type StartAt<'a> = &'a dyn Fn(&str, u32) -> Option<u64>;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum StartFrom {
    Beginning,
    End,
    /// The group's committed offset.
    Stored,
    Offset(u64),
    /// N records before the end.
    BeforeEnd(u64),
}

/// `--from`: beginning, end, stored, an offset N, or -N (N before the end); clap's value parser.
impl std::str::FromStr for StartFrom {
    type Err = String;

    fn from_str(s: &str) -> std::result::Result<StartFrom, String> {
        let t = s.trim();
        let bad = || "expected beginning, end, stored, an offset N, or -N (N before the end)";
        Ok(match t {
            "beginning" | "earliest" | "start" => StartFrom::Beginning,
            "end" | "latest" => StartFrom::End,
            "stored" | "committed" => StartFrom::Stored,
            _ => {
                if let Some(n) = t.strip_prefix('-') {
                    StartFrom::BeforeEnd(n.parse().map_err(|_| bad())?)
                } else {
                    StartFrom::Offset(t.parse().map_err(|_| bad())?)
                }
            }
        })
    }
}

pub use crate::time::parse_time;

#[derive(Clone)]
pub struct ConsumeOptions {
    /// Only these partitions (of the one topic read; partitions are per topic).
    pub partitions: Option<Vec<u32>>,
    pub from: StartFrom,
    pub since: Option<i64>,
    pub until: Option<i64>,
    pub max: Option<u64>,
    pub follow: bool,
}

/// Where a partition's reading stops.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Stop {
    /// Follow: never.
    Never,
    /// The log end when the cursor is opened.
    AtEnd,
    /// This offset (a snapshot of the end taken earlier), or the log end if lower.
    At(u64),
}

/// What [`Consumer::open_cursor`] was asked for.
#[derive(Clone, Copy)]
struct Want<'a> {
    topic: &'a str,
    p: u32,
    opts: &'a ConsumeOptions,
    stored: Option<u64>,
    stop: Stop,
}

pub struct Cursor {
    pub topic: String,
    pub partition: u32,
    reader: PartitionReader,
    /// The partition as metadata said when the reader was opened (leader, epoch, ISR).
    meta: PartitionMeta,
    /// In-sync followers' tails: nothing at or above the high watermark is delivered.
    hw: HwView,
    /// Directories of every replica: a follower's tail moving can raise the high watermark.
    pub watch: Vec<std::path::PathBuf>,
    /// Next offset to deliver.
    pub next: u64,
    /// Snapshot end: stop before this offset (None when following).
    stop: Option<u64>,
    done: bool,
    pub dir: std::path::PathBuf,
}

impl Cursor {
    /// True once the cursor reached its stop offset or `--until`.
    pub fn done(&self) -> bool {
        self.done
    }
}

pub struct Consumer {
    cluster: Option<Cluster>,
    /// One per topic read, each pinned to the id of the topic as first opened: another id
    /// under the same name is a new topic.
    watches: BTreeMap<String, TopicWatch>,
    pub cursors: Vec<Cursor>,
    pub max: Option<u64>,
    until: Option<i64>,
    pub delivered: u64,
    /// Things the user should hear about on stderr (clamped offsets and the like).
    pub warnings: Vec<String>,
    /// A subscription with patterns: a topic only a pattern matched that is deleted is no
    /// longer read (as Kafka drops it from a pattern subscription), rather than an error.
    pub patterns: Option<Subscription>,
    /// Polls so far: a poll capped by `max` starts at the next partition each time, so one
    /// partition's backlog does not hold the others back (a mirror catching up).
    turn: usize,
}

impl Consumer {
    /// Every partition of `topics` as `md` has them (or those `opts.partitions` names, of
    /// the one topic). `stored` gives the committed offset of a partition when `--from
    /// stored` is used.
    pub fn open(
        cluster: &Cluster,
        md: &Metadata,
        topics: &[String],
        opts: &ConsumeOptions,
        stored: &dyn Fn(&str, u32) -> Option<u64>,
    ) -> Result<Consumer> {
        if opts.partitions.is_some() && topics.len() != 1 {
            return Err(Error::Usage(format!(
                "-p picks partitions of one topic, but -t gives {} topics ({}): partitions are numbered per topic",
                topics.len(),
                topics.join(", ")
            )));
        }
        let mut c = Consumer::empty(opts);
        for t in topics {
            c.open_topic(cluster, md, t, opts, stored)?;
        }
        Ok(c)
    }

    /// Open `topic`'s partitions (those `opts.partitions` names, else all) as `md` has them.
    pub fn open_topic(
        &mut self,
        cluster: &Cluster,
        md: &Metadata,
        topic: &str,
        opts: &ConsumeOptions,
        stored: &dyn Fn(&str, u32) -> Option<u64>,
    ) -> Result<()> {
        let t = md.topic(topic)?;
        let parts: Vec<u32> = match &opts.partitions {
            Some(ps) => {
                for &p in ps {
                    t.partition(topic, p)?;
                }
                ps.clone()
            }
            None => (0..t.partitions.len() as u32).collect(),
        };
        let stop = if opts.follow {
            Stop::Never
        } else {
            Stop::AtEnd
        };
        for p in parts {
            self.open_cursor(cluster, md, topic, p, opts, stored(topic, p), stop)?;
        }
        Ok(())
    }

    /// The topics this consumer has opened partitions of, sorted.
    pub fn topics(&self) -> impl Iterator<Item = &str> {
        self.watches.keys().map(String::as_str)
    }

    /// A consumer with no partitions yet; add them with [`open_cursor`](Self::open_cursor).
    pub fn empty(opts: &ConsumeOptions) -> Consumer {
        Consumer {
            cluster: None,
            watches: BTreeMap::new(),
            cursors: Vec::new(),
            max: opts.max,
            until: opts.until,
            delivered: 0,
            warnings: Vec::new(),
            patterns: None,
            turn: 0,
        }
    }

    /// Start reading partition `p` where `opts.from` / `opts.since` say (`stored` is the
    /// committed offset for `--from stored`; None starts at the log start).
    ///
    /// `md` may be older than the partition's current leader (a group member takes a
    /// partition with the metadata it read a moment ago). Reading from a former leader is
    /// harmless for records (the next poll moves to the leader before delivering anything)
    /// but not for the start: a committed offset beyond that replica's end would be clamped
    /// down to it, and records the group already committed delivered again. So an offset
    /// beyond the end is believed only once fresh metadata names the same leader and epoch.
    #[allow(clippy::too_many_arguments)] // one call per partition: what, where, from, to
    pub fn open_cursor(
        &mut self,
        cluster: &Cluster,
        md: &Metadata,
        topic: &str,
        p: u32,
        opts: &ConsumeOptions,
        stored: Option<u64>,
        stop: Stop,
    ) -> Result<()> {
        if self.cluster.is_none() {
            self.cluster = Some(cluster.clone());
        }
        // The next poll reloads metadata and moves any cursor whose view is older.
        self.watches
            .entry(topic.to_string())
            .or_insert_with(|| TopicWatch::new(topic, None, None))
            .invalidate();
        let mut fresh: Option<Metadata> = None;
        let mut believe_end = false;
        for attempt in 0.. {
            let md = fresh.as_ref().unwrap_or(md);
            let want = Want {
                topic,
                p,
                opts,
                stored,
                stop,
            };
            match self.new_cursor(cluster, md, want, believe_end)? {
                Ok(c) => {
                    self.cursors.push(c);
                    break;
                }
                Err(seen) => {
                    let now = cluster.metadata_with_topic(topic)?;
                    let same = now.topic(topic)?.partition(topic, p)? == &seen;
                    believe_end = same || attempt >= 2;
                    fresh = Some(now);
                }
            }
        }
        Ok(())
    }

    /// A cursor on `want.p` as `md` describes it, or (unless `believe_end`) the partition as
    /// seen when the start offset turned out to be beyond the end of the replica it names.
    fn new_cursor(
        &mut self,
        cluster: &Cluster,
        md: &Metadata,
        want: Want<'_>,
        believe_end: bool,
    ) -> Result<std::result::Result<Cursor, PartitionMeta>> {
        let Want {
            topic,
            p,
            opts,
            stored,
            stop,
        } = want;
        let id = &md.topic(topic)?.id;
        let watch = self
            .watches
            .get_mut(topic)
            .expect("open_cursor adds the topic's watch");
        if watch.topic_id().is_some_and(|mine| mine != id) {
            return Err(deleted_while_reading(topic, true));
        }
        watch.pin(id);
        let dir = cluster.leader_dir(md, topic, p)?;
        let meta = md.topic(topic)?.partition(topic, p)?.clone();
        let mut hw = HwView::new(cluster, md, topic, &meta);
        let watch = meta
            .replicas
            .iter()
            .map(|&b| cluster.replica_dir(md, b, topic, p))
            .collect();
        let name = format!("{topic}-{p}");
        let mut reader = PartitionReader::open(&dir, &name)?;
        let mut tail = reader.tail()?;
        let log_end = tail.end_offset;
        // Consumers see only what every in-sync replica has.
        tail.end_offset = hw.high_watermark(&tail);
        let mut start = match opts.from {
            StartFrom::Beginning => tail.log_start_offset,
            StartFrom::End => tail.end_offset,
            StartFrom::Offset(n) => n,
            StartFrom::BeforeEnd(n) => tail.end_offset.saturating_sub(n),
            StartFrom::Stored => stored.unwrap_or(tail.log_start_offset),
        };
        if let Some(ts) = opts.since {
            start = reader.offset_for_time(ts, &tail)?;
        }
        if start < tail.log_start_offset {
            self.warnings.push(format!(
                "partition {name}: offset {start} is below the log start {}; starting there",
                tail.log_start_offset
            ));
            start = tail.log_start_offset;
        }
        if start > log_end {
            if !believe_end {
                return Ok(Err(meta));
            }
            self.warnings.push(format!(
                "partition {name}: offset {start} is beyond the log end {log_end}; starting at the end"
            ));
            start = log_end;
        }
        // Between the high watermark and the log end (a committed offset, while a follower
        // catches up after a leader change, or a view of the ISR a moment old): start there
        // and deliver nothing until the high watermark passes it. Moving a group back to the
        // high watermark would deliver what it already committed a second time.
        let seek_tail = Tail {
            end_offset: tail.end_offset.max(start),
            ..tail
        };
        let stop = match stop {
            Stop::Never => None,
            Stop::AtEnd => Some(tail.end_offset),
            // A snapshot taken earlier may be below where the group already is.
            Stop::At(s) => Some(s.min(tail.end_offset).max(start)),
        };
        reader.seek(start, &seek_tail)?;
        Ok(Ok(Cursor {
            topic: topic.to_string(),
            partition: p,
            reader,
            meta,
            hw,
            watch,
            next: start,
            stop,
            done: stop.is_some_and(|s| start >= s),
            dir,
        }))
    }

    /// Stop reading partition `p` of `topic`; returns the next offset it would have delivered.
    pub fn remove_cursor(&mut self, topic: &str, p: u32) -> Option<u64> {
        let i = self
            .cursors
            .iter()
            .position(|c| c.topic == topic && c.partition == p)?;
        let next = self.cursors.remove(i).next;
        // No partition of it left here: its deletion is no longer our business.
        if !self.cursors.iter().any(|c| c.topic == topic) {
            self.watches.remove(topic);
        }
        Some(next)
    }

    /// True when every partition reached its snapshot end, `--until`, or `-n`, or a stop
    /// was asked for (a signal, a closed stdout).
    pub fn finished(&self) -> bool {
        crate::signals::stop_requested()
            || self.max.is_some_and(|m| self.delivered >= m)
            || self.cursors.iter().all(|c| c.done)
    }

    /// When metadata changed (one `stat` when it did not): cursors whose partition has a new
    /// leader continue on it from where they were; a partition without a leader waits.
    fn follow_leaders(&mut self) -> Result<()> {
        let Some(cluster) = &self.cluster else {
            return Ok(());
        };
        let mut look = MetadataLook::new(cluster);
        let mut dropped = Vec::new();
        for (topic, watch) in &mut self.watches {
            let md = match watch.poll_with(&mut look)? {
                TopicChange::Unchanged => continue,
                TopicChange::Changed(md) => md,
                // Only a pattern matched it: it leaves the subscription.
                TopicChange::Deleted { .. }
                    if self.patterns.as_ref().is_some_and(|s| !s.names(topic)) =>
                {
                    dropped.push(topic.clone());
                    continue;
                }
                // Deleted (perhaps created again): our readers are on files nobody writes any
                // more.
                TopicChange::Deleted { recreated } => {
                    return Err(deleted_while_reading(topic, recreated));
                }
            };
            let t = md.topic(topic)?;
            for c in self.cursors.iter_mut().filter(|c| c.topic == *topic) {
                let Some(p) = t.partitions.get(c.partition as usize) else {
                    continue;
                };
                if p == &c.meta {
                    continue;
                }
                if (p.leader != c.meta.leader || p.leader_epoch != c.meta.leader_epoch)
                    && let Ok(dir) = cluster.leader_dir(&md, topic, c.partition)
                {
                    let name = format!("{topic}-{}", c.partition);
                    let mut reader = PartitionReader::open(&dir, &name)?;
                    let t = reader.tail()?;
                    reader.seek(c.next, &t)?;
                    c.reader = reader;
                    c.dir = dir;
                }
                c.hw = HwView::new(cluster, &md, topic, p);
                c.meta = p.clone();
            }
        }
        for t in dropped {
            self.cursors.retain(|c| c.topic != t);
            self.watches.remove(&t);
            self.warnings
                .push(format!("topic {t:?} was deleted: no longer read"));
        }
        Ok(())
    }

    /// Deliver what is available now into `sink`, each record, and per partition the position
    /// reached after each batch (commit points for groups). Returns records delivered.
    pub fn poll(&mut self, sink: &mut dyn RecordSink) -> Result<u64> {
        let before = self.delivered;
        self.follow_leaders()?;
        let n = self.cursors.len();
        let first = match self.max {
            Some(_) if n > 0 => self.turn % n,
            _ => 0,
        };
        self.turn = self.turn.wrapping_add(1);
        for k in 0..n {
            self.poll_cursor((first + k) % n, sink)?;
        }
        Ok(self.delivered - before)
    }

    /// [`poll`](Self::poll) for one partition (cursor `i`).
    fn poll_cursor(&mut self, i: usize, sink: &mut dyn RecordSink) -> Result<()> {
        let Consumer {
            cursors,
            max,
            until,
            delivered,
            warnings,
            ..
        } = self;
        let (max, until) = (*max, *until);
        let c = &mut cursors[i];
        let topic = c.topic.clone();
        let topic = topic.as_str();
        {
            if c.done || max.is_some_and(|m| *delivered >= m) || c.meta.leader.is_none() {
                return Ok(());
            }
            let tail: Tail = c.reader.tail()?;
            if tail.deleted() {
                return Err(deleted_while_reading(topic, false));
            }
            let hw = c.hw.high_watermark(&tail);
            let stop = c.stop.unwrap_or(u64::MAX).min(hw);
            if c.next < tail.log_start_offset {
                // Retention moved past us while we were reading: resume at the new start,
                // and say so (what was skipped is lost to this reader).
                warnings.push(format!(
                    "partition {topic}-{}: offset {} is below the log start {}; starting there",
                    c.meta.partition, c.next, tail.log_start_offset
                ));
                c.next = tail.log_start_offset;
                c.reader.seek(c.next, &tail)?;
            }
            while c.next < stop {
                if crate::signals::stop_requested() {
                    break;
                }
                let Some(b) = c.reader.next_batch(&tail)? else {
                    // The visible log ends below the stop offset: a torn batch published but
                    // never fsynced (lost with a crash), or offsets compaction removed. A
                    // snapshot read ends here; it must not wait for offsets nobody will write.
                    if c.stop.is_some() {
                        c.done = true;
                    }
                    break;
                };
                let name_p = c.partition;
                let mut recs = b.records();
                while let Some(r) = recs.next_record() {
                    let r = r.map_err(|d| Error::Corrupt {
                        partition: format!("{topic}-{name_p}"),
                        offset: b.header.base_offset,
                        detail: d,
                    })?;
                    if r.offset < c.next {
                        continue;
                    }
                    if r.offset >= stop {
                        break;
                    }
                    if until.is_some_and(|u| r.timestamp > u) {
                        c.done = true;
                        break;
                    }
                    let headers = if r.header_count == 0 {
                        Vec::new()
                    } else {
                        r.headers().map_err(|d| Error::Corrupt {
                            partition: format!("{topic}-{name_p}"),
                            offset: r.offset,
                            detail: d,
                        })?
                    };
                    sink.record(&ConsumedRecord {
                        topic,
                        partition: name_p,
                        offset: r.offset,
                        timestamp: r.timestamp,
                        key: r.key,
                        value: r.value,
                        headers,
                    })?;
                    c.next = r.offset + 1;
                    *delivered += 1;
                    if max.is_some_and(|m| *delivered >= m) {
                        break;
                    }
                    // Stop after the record in hand: what was delivered is what gets committed.
                    if crate::signals::stop_requested() {
                        break;
                    }
                }
                let stopping = crate::signals::stop_requested();
                // Offsets skipped by compaction or at the batch end still count as consumed.
                if !c.done && !stopping && max.is_none_or(|m| *delivered < m) {
                    c.next = c.next.max(b.header.next_offset().min(stop));
                }
                sink.reached(topic, name_p, c.next)?;
                if c.done || stopping || max.is_some_and(|m| *delivered >= m) {
                    // Stopped inside the batch: the next poll (a mirror's next transaction)
                    // reads the rest of it, so the reader goes back to it.
                    let rest = c.next < b.header.next_offset().min(stop);
                    drop(recs);
                    if rest {
                        c.reader.seek(c.next, &tail)?;
                    }
                    break;
                }
            }
            if c.stop.is_some_and(|s| c.next >= s) {
                c.done = true;
            }
        }
        Ok(())
    }
}

fn deleted_while_reading(topic: &str, recreated: bool) -> Error {
    Error::Deleted(format!(
        "topic {topic:?} was deleted while reading{}",
        if recreated {
            "; a new topic of that name exists now: run again to read it"
        } else {
            ""
        }
    ))
}

/// What the commands consume through outside a group (the client layer's `Backend::consumer`).
pub trait RecordConsumer {
    /// Things the user should hear about (clamped start offsets and the like) that were not
    /// asked for before.
    fn warnings(&mut self) -> Vec<String>;
    /// Deliver what is available now; returns records delivered.
    fn poll(&mut self, sink: &mut dyn RecordSink) -> Result<u64>;
    /// [`poll`](Self::poll), stopping after `n` records (a mirror's transaction).
    fn poll_at_most(&mut self, sink: &mut dyn RecordSink, n: u64) -> Result<u64> {
        let _ = n;
        self.poll(sink)
    }
    /// Deliver every partition up to where it stood when opened, in timestamp order across
    /// partitions and topics; with `keep_last`, only the last that many (`--merge`, `--tail
    /// N`).
    fn poll_merged(&mut self, sink: &mut dyn RecordSink, keep_last: Option<usize>) -> Result<u64>;
    /// Every partition reached its end, `--until` or `-n`, or a stop was asked for.
    fn finished(&self) -> bool;
    /// Block until more may be there, or `timeout` passes.
    fn wait(&mut self, timeout: std::time::Duration);
    /// A partition's end offset as this consumer last heard it, without asking anyone (None
    /// when it has not); for a mirror's "how far behind".
    fn end_offset(&self, topic: &str, partition: u32) -> Option<u64> {
        let _ = (topic, partition);
        None
    }
}
