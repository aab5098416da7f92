//! `consume -g` on Kafka: a member of a Kafka consumer group, delivering through the same
//! [`Delivery`] as on a root, so that only what stdout's reader took or `--exec` accepted is
//! committed, and committed before a partition is given up in a rebalance.
//!
//! Rebalances are taken in this thread between polls, not inside librdkafka's callback: the
//! callback only records what the coordinator asked, and the (incremental) assign or unassign
//! that completes it is made after the delivered records of the partitions going away were
//! settled and their positions committed. Until then librdkafka keeps the rebalance open (its
//! "wait for the application's assign call" states); records polled meanwhile of a partition
//! being revoked are dropped, uncommitted, for its next owner.

use super::errors::from_kafka;
use super::parts::{Part, Parts, pause};
use super::{Kafka, client_config};
use crate::client::{MemberOptions, MemberOutput};
use crate::consume::StartFrom;
use crate::error::{Error, Result};
use crate::group::committer::OffsetStore;
use crate::group::deliver::{Committer, Delivery};
use crate::group::run::Reset;
use crate::record::{ConsumedRecord, RecordSink};
use rdkafka::client::ClientContext;
use rdkafka::consumer::{BaseConsumer, Consumer, ConsumerContext, RebalanceProtocol};
use rdkafka::message::{Headers, Message};
use rdkafka::types::RDKafkaRespErr;
use rdkafka::{Offset, TopicPartitionList};
use std::rc::Rc;
use std::sync::Mutex;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, Instant};

type Tp = (String, i32);

/// What the coordinator asked in a rebalance callback, taken up by the member's loop.
enum Asked {
    Assign(Vec<Tp>),
    Revoke(Vec<Tp>),
    Failed(String),
}

#[derive(Default)]
pub struct MemberContext {
    asked: Mutex<Vec<Asked>>,
    /// Closing: rebalances complete at once (the member committed and is leaving).
    closing: AtomicBool,
}

impl ClientContext for MemberContext {
    fn log(&self, level: rdkafka::config::RDKafkaLogLevel, _: &str, message: &str) {
        super::errors::note_log(level, message);
    }

    fn error(&self, e: rdkafka::error::KafkaError, reason: &str) {
        super::errors::note(&e, reason);
    }
}

impl ConsumerContext for MemberContext {
    fn rebalance(&self, c: &BaseConsumer<Self>, err: RDKafkaRespErr, tpl: &mut TopicPartitionList) {
        let tps: Vec<Tp> = tpl
            .elements()
            .iter()
            .map(|e| (e.topic().to_string(), e.partition()))
            .collect();
        let asked = match err {
            RDKafkaRespErr::RD_KAFKA_RESP_ERR__ASSIGN_PARTITIONS => Asked::Assign(tps),
            RDKafkaRespErr::RD_KAFKA_RESP_ERR__REVOKE_PARTITIONS => Asked::Revoke(tps),
            e => Asked::Failed(format!("{:?}", rdkafka::error::RDKafkaErrorCode::from(e))),
        };
        if self.closing.load(Ordering::Relaxed) {
            // Everything was committed before closing: give the partitions back at once.
            let _ = complete(c, &asked, tpl);
            return;
        }
        self.asked
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .push(asked);
    }
}

/// The assign or unassign call that completes a rebalance.
fn complete(
    c: &BaseConsumer<MemberContext>,
    asked: &Asked,
    tpl: &TopicPartitionList,
) -> rdkafka::error::KafkaResult<()> {
    let cooperative = matches!(c.rebalance_protocol(), RebalanceProtocol::Cooperative);
    match (asked, cooperative) {
        (Asked::Assign(_), true) => c.incremental_assign(tpl),
        (Asked::Assign(_), false) => c.assign(tpl),
        (Asked::Revoke(_), true) => c.incremental_unassign(tpl),
        (Asked::Revoke(_) | Asked::Failed(_), _) => c.unassign(),
    }
}

/// Commits go to the group coordinator through the member itself (a commit from outside the
/// group is refused while it has members), synchronously: committed means acknowledged.
struct KafkaOffsets {
    group: String,
    consumer: Rc<BaseConsumer<MemberContext>>,
    timeout: Duration,
}

impl OffsetStore for KafkaOffsets {
    fn group_name(&self) -> &str {
        &self.group
    }

    fn commit(
        &self,
        topic: &str,
        _topic_id: &str,
        p: u32,
        offset: u64,
        _member: Option<&str>,
    ) -> Result<()> {
        let mut tpl = TopicPartitionList::new();
        tpl.add_partition_offset(topic, p as i32, Offset::Offset(offset as i64))
            .map_err(|e| from_kafka(&e, topic))?;
        super::ffi::commit_within(
            self.consumer.client(),
            &tpl,
            self.timeout,
            &format!(
                "group {}: committing offset {offset} of {topic}-{p}",
                self.group
            ),
        )
    }
}

struct Member<'a> {
    k: &'a Kafka,
    o: &'a MemberOptions,
    consumer: Rc<BaseConsumer<MemberContext>>,
    parts: Parts,
    /// The first assignment came (cron mode ends only after it).
    joined: bool,
    delivered: u64,
    warn: &'a mut dyn FnMut(String),
}

pub fn run(k: &Kafka, o: MemberOptions, warn: &mut dyn FnMut(String)) -> Result<u64> {
    crate::group::check_name(&o.group)?;
    let mut cfg = client_config(&k.settings);
    cfg.set("group.id", &o.group)
        .set("enable.auto.commit", "false")
        // A consumer whose local queue is full waits this long before fetching again
        // (librdkafka's default, 1 s, leaves a fast reader idle most of the time:
        // bench/README.md, "Kafka backend").
        .set("fetch.queue.backoff.ms", "10")
        .set("enable.auto.offset.store", "false")
        .set(
            "auto.offset.reset",
            match o.reset {
                Reset::Earliest => "earliest",
                Reset::Latest => "latest",
            },
        )
        // Kafka 4's consumer group protocol (KIP-848): the coordinator assigns, and a member
        // joins with one heartbeat instead of a join/sync round (docs/kafka.md has the
        // figures); -X group.protocol=classic for older brokers.
        .set("group.protocol", "consumer");
    for (key, v) in &k.settings.properties {
        cfg.set(key, v);
    }
    let consumer: BaseConsumer<MemberContext> =
        cfg.create_with_context(MemberContext::default())
            .map_err(|e| from_kafka(&e, &format!("group {}", o.group)))?;
    let consumer = Rc::new(consumer);
    let topics = subscription(k, &o)?;
    let names: Vec<&str> = topics.iter().map(String::as_str).collect();
    consumer
        .subscribe(&names)
        .map_err(|e| from_kafka(&e, &format!("group {}: subscribing", o.group)))?;
    let store = KafkaOffsets {
        group: o.group.clone(),
        consumer: consumer.clone(),
        timeout: k.timeout,
    };
    let committer = Committer::new(Box::new(store), "", o.commit_interval);
    let mut out = match &o.output {
        MemberOutput::Stdout => Delivery::stdout(o.format.clone(), committer)?,
        MemberOutput::Exec {
            cmd,
            batch,
            timeout,
            on_failure,
        } => Delivery::exec(
            o.format.clone(),
            committer,
            cmd,
            *batch,
            *timeout,
            on_failure.clone(),
            k.dead_letter_producer(),
        ),
        MemberOutput::Stream { .. } => {
            return Err(Error::Usage(
                "stream does not work on a Kafka cluster yet".into(),
            ));
        }
    };
    let mut m = Member {
        k,
        o: &o,
        consumer: consumer.clone(),
        parts: Parts::default(),
        joined: false,
        delivered: 0,
        warn,
    };
    let res = m.run(&mut out);
    let delivered = m.delivered;
    if res.is_err() {
        // What stdout or the command accepted before the failure is committed; no more.
        let _ = out.commit_accepted();
    }
    // Leave the group: from here a rebalance completes at once (nothing is left to commit).
    consumer.context().closing.store(true, Ordering::Relaxed);
    let left: Vec<Asked> = std::mem::take(
        &mut *consumer
            .context()
            .asked
            .lock()
            .unwrap_or_else(|p| p.into_inner()),
    );
    for a in &left {
        complete_as_asked(&consumer, a);
    }
    consumer.unsubscribe();
    drop(m);
    drop(out);
    // The last reference: dropping it closes the consumer (librdkafka's close, polled to its
    // end by the crate), which finishes at once on a healthy cluster since every rebalance
    // now completes at once.
    if let Ok(c) = Rc::try_unwrap(consumer) {
        let limit = k.timeout;
        // The crate's own close, not `close_consumer`'s quicker one: librdkafka 2.12 reports a
        // KIP-848 member closed before its leave reaches the coordinator, and a drop right
        // after it left the member's partitions held until its session timed out (the other
        // cron members of tests/it/backends.rs then waited a minute, 3 runs in 4).
        super::close_within(move || drop(c), limit, &o.group, warn);
    }
    res.map(|()| delivered)
}

/// The topics to subscribe to: names as given, patterns as librdkafka's `^regex` (matched by
/// the client against the cluster's topics, now and as they appear). A named topic must exist.
fn subscription(k: &Kafka, o: &MemberOptions) -> Result<Vec<String>> {
    let existing = k.topics()?;
    let names: Vec<&str> = existing.keys().map(String::as_str).collect();
    if !o.consume.follow {
        o.topics.check_patterns(&names)?;
    }
    let mut out = Vec::new();
    for spec in o.topics.specs() {
        if !spec.starts_with('^') && !existing.contains_key(spec) {
            return Err(Error::NotFound(format!(
                "unknown topic {spec:?} (Kafka cluster {})",
                k.settings.bootstrap
            )));
        }
        out.push(spec.to_string());
    }
    Ok(out)
}

/// How long one poll waits while nothing comes, and how often the member looks after its
/// output, commits and ends while records flow.
const IDLE: Duration = Duration::from_millis(100);

/// Cron mode: a member that got no partition by then asks the coordinator whether it has none.
const NO_SHARE: Duration = Duration::from_secs(1);

/// Cron mode: how long a member waits for partitions the coordinator means to give it. Longer
/// than a broker's default session timeout (45 s), after which the partitions of a member that
/// died (or left without a word: its close ran out of time) are given to the others.
const AWAIT_SHARE: Duration = Duration::from_secs(60);

impl Member<'_> {
    fn run(&mut self, out: &mut Delivery) -> Result<()> {
        let follow = self.o.consume.follow;
        let max = self.o.consume.max;
        if max == Some(0) {
            return Ok(());
        }
        let started = Instant::now();
        let mut housekept = Instant::now();
        let mut asked: Option<Instant> = None;
        let mut warned = std::collections::BTreeSet::new();
        // A record borrows the consumer it came from, not the member that takes it.
        let consumer = self.consumer.clone();
        loop {
            if crate::signals::stop_requested() {
                break;
            }
            let mut wait = IDLE;
            if let Some(d) = out.committer.due_in() {
                wait = wait.min(d.max(Duration::from_millis(1)));
            }
            let polled = consumer.poll(wait);
            self.take_asked(out)?;
            // Whatever the records do: stdout flushed, commits when due, ends noticed.
            let idle = polled.is_none();
            if idle || housekept.elapsed() >= IDLE {
                housekept = Instant::now();
                self.check_positions(out)?;
                out.settle(false)?;
                if !follow && self.drained() {
                    break;
                }
                // Under Kafka 4's protocol a member given no partition hears nothing at all
                // (its empty assignment equals its empty start). In cron mode it asks the
                // coordinator: listed with nothing now and nothing to come, it has nothing to
                // read (more members than partitions).
                // (Asked once a second: each asking is a request to the coordinator.)
                if !follow
                    && !self.joined
                    && started.elapsed() > NO_SHARE
                    && asked.is_none_or(|t: Instant| t.elapsed() >= NO_SHARE)
                {
                    asked = Some(Instant::now());
                    if self.no_share()? {
                        break;
                    }
                }
                if !follow && !self.joined && started.elapsed() > AWAIT_SHARE {
                    return Err(Error::Temporary(format!(
                        "group {}: no assignment from the coordinator within {} (a member holding the partitions neither reads nor leaves)",
                        self.o.group,
                        humantime::format_duration(AWAIT_SHARE)
                    )));
                }
            }
            let msg = match polled {
                None => continue,
                Some(Err(rdkafka::error::KafkaError::MessageConsumptionFatal(c))) => {
                    return Err(super::errors::from_code(
                        c,
                        &format!("group {}", self.o.group),
                    ));
                }
                Some(Err(e)) => {
                    // librdkafka reports a broker it lost (and recovers by itself): say it once.
                    let m = e.to_string();
                    if warned.insert(m.clone()) {
                        (self.warn)(format!("group {}: {m}", self.o.group));
                    }
                    continue;
                }
                Some(Ok(msg)) => msg,
            };
            let (topic, p) = (msg.topic(), msg.partition());
            let Some(part) = self.parts.get_mut(topic, p) else {
                continue;
            };
            if part.done {
                continue;
            }
            let offset = msg.offset();
            let timestamp = msg.timestamp().to_millis().unwrap_or(-1);
            if part.stop.is_some_and(|s| offset >= s)
                || self.o.consume.until.is_some_and(|u| timestamp > u)
            {
                part.done = true;
                pause(&consumer, topic, p);
                continue;
            }
            let headers = match msg.headers() {
                Some(h) => h.iter().map(|x| (x.key, x.value)).collect(),
                None => Vec::new(),
            };
            out.record(&ConsumedRecord {
                topic,
                partition: p as u32,
                offset: offset as u64,
                timestamp,
                key: msg.key(),
                value: msg.payload(),
                headers,
            })?;
            out.reached(topic, p as u32, offset as u64 + 1)?;
            self.delivered += 1;
            if part.stop.is_some_and(|s| offset + 1 >= s) {
                part.done = true;
                pause(&consumer, topic, p);
            }
            if max.is_some_and(|n| self.delivered >= n) {
                break;
            }
        }
        out.settle(true)
    }

    /// This member is in the group with no partition, and none on the way to it.
    fn no_share(&self) -> Result<bool> {
        let me = super::ffi::member_id(self.consumer.client());
        if me.is_empty() {
            return Ok(false);
        }
        let members =
            super::ffi::describe_group(self.k.admin()?.inner(), &self.o.group, self.k.timeout)?
                .unwrap_or_default();
        Ok(members.iter().any(|m| {
            // (No target said: librdkafka leaves it out when there is nothing to move.)
            m.id == me && m.owns.is_empty() && m.target.as_ref().is_none_or(Vec::is_empty)
        }))
    }

    /// Cron mode: every partition taken read to where it stood when taken.
    fn drained(&self) -> bool {
        self.joined && self.parts.values().all(|p| p.done)
    }

    /// Partitions whose position reached their stop without a record there (the last offsets
    /// were transaction markers, or compacted away): done, and that position counts as
    /// delivered (a marker is never delivered, and committing before it would stop every
    /// later run there).
    fn check_positions(&mut self, out: &mut Delivery) -> Result<()> {
        if self.parts.values().all(|p| p.done || p.stop.is_none()) {
            return Ok(());
        }
        let pos = self
            .consumer
            .position()
            .map_err(|e| from_kafka(&e, &format!("group {}: positions", self.o.group)))?;
        for e in pos.elements() {
            let (t, p) = (e.topic(), e.partition());
            if let (Offset::Offset(at), Some(part)) = (e.offset(), self.parts.get_mut(t, p))
                && !part.done
                && part.stop.is_some_and(|s| at >= s)
            {
                part.done = true;
                out.reached(t, p as u32, at as u64)?;
                pause(&self.consumer, t, p);
            }
        }
        Ok(())
    }

    /// Take up what the coordinator asked since the last poll, one request at a time. A
    /// request that fails is still completed (the rebalance would otherwise stay open and the
    /// member could not leave); the rest stay queued for the close.
    fn take_asked(&mut self, out: &mut Delivery) -> Result<()> {
        loop {
            let next = {
                let mut q = self
                    .consumer
                    .context()
                    .asked
                    .lock()
                    .unwrap_or_else(|p| p.into_inner());
                if q.is_empty() {
                    None
                } else {
                    Some(q.remove(0))
                }
            };
            let Some(a) = next else { return Ok(()) };
            let r = self.take(&a, out);
            if r.is_err() {
                complete_as_asked(&self.consumer, &a);
            }
            r?;
        }
    }

    fn take(&mut self, a: &Asked, out: &mut Delivery) -> Result<()> {
        match a {
            Asked::Revoke(tps) => {
                // Commit what was delivered of them (unless they were lost: then the commit
                // would be refused, and their new owner has them), then let them go.
                if !self.consumer.assignment_lost() {
                    out.settle(true)?;
                }
                for tp in tps {
                    out.committer.forget(&tp.0, tp.1 as u32);
                    self.parts.remove(&tp.0, tp.1);
                }
                let tpl = list(tps)?;
                complete(&self.consumer, a, &tpl)
                    .map_err(|e| from_kafka(&e, &format!("group {}: revoking", self.o.group)))
            }
            Asked::Assign(tps) => {
                let tpl = self.start(tps, out)?;
                complete(&self.consumer, a, &tpl)
                    .map_err(|e| from_kafka(&e, &format!("group {}: assigning", self.o.group)))?;
                self.joined = true;
                Ok(())
            }
            Asked::Failed(why) => {
                (self.warn)(format!("group {}: rebalance failed: {why}", self.o.group));
                complete_as_asked(&self.consumer, a);
                Ok(())
            }
        }
    }

    /// Where each newly assigned partition starts (its committed offset, else `--reset`, or
    /// what `--from`/`--since` say) and, in cron mode, stops; the list to assign.
    fn start(&mut self, tps: &[Tp], out: &mut Delivery) -> Result<TopicPartitionList> {
        let mut starts = Vec::new();
        let committed = if tps.is_empty() {
            TopicPartitionList::new()
        } else {
            self.consumer
                .committed_offsets(list(tps)?, self.k.timeout)
                .map_err(|e| {
                    from_kafka(&e, &format!("group {}: committed offsets", self.o.group))
                })?
        };
        for (t, p) in tps {
            let name = format!("{t}-{p}");
            let (low, high) = self
                .consumer
                .fetch_watermarks(t, *p, self.k.timeout)
                .map_err(|e| from_kafka(&e, &format!("partition {name}")))?;
            let stored = match committed.find_partition(t, *p).map(|e| e.offset()) {
                Some(Offset::Offset(n)) if n >= 0 => Some(n),
                _ => None,
            };
            let mut at = match self.o.consume.from {
                StartFrom::Stored => stored.unwrap_or(match self.o.reset {
                    Reset::Earliest => low,
                    Reset::Latest => high,
                }),
                StartFrom::Beginning => low,
                StartFrom::End => high,
                StartFrom::Offset(n) => i64::try_from(n).unwrap_or(i64::MAX),
                StartFrom::BeforeEnd(n) => {
                    high.saturating_sub(i64::try_from(n).unwrap_or(i64::MAX))
                }
            };
            if let Some(ts) = self.o.consume.since {
                at = self.k.offset_for_time(t, *p as u32, ts)?.unwrap_or(high);
            }
            if at < low {
                (self.warn)(format!(
                    "partition {name}: offset {at} is below the log start {low}; starting there"
                ));
                at = low;
            }
            if at > high {
                (self.warn)(format!(
                    "partition {name}: offset {at} is beyond the log end {high}; starting at the end"
                ));
                at = high;
            }
            let stop = (!self.o.consume.follow).then_some(high);
            out.committer
                .started(t, "", *p as u32, at as u64, stored.map(|s| s as u64));
            self.parts.insert(
                t,
                *p,
                Part {
                    stop,
                    done: stop.is_some_and(|s| at >= s),
                },
            );
            starts.push(((t.clone(), *p), at));
        }
        let mut tpl = TopicPartitionList::new();
        for ((t, p), at) in starts {
            tpl.add_partition_offset(&t, p, Offset::Offset(at))
                .map_err(|e| from_kafka(&e, &t))?;
        }
        Ok(tpl)
    }
}

fn list(tps: &[Tp]) -> Result<TopicPartitionList> {
    let mut tpl = TopicPartitionList::new();
    for (t, p) in tps {
        tpl.add_partition(t, *p);
    }
    Ok(tpl)
}

/// Complete a request as asked, whatever became of it here (a failure, the close).
fn complete_as_asked(c: &BaseConsumer<MemberContext>, a: &Asked) {
    let tps = match a {
        Asked::Assign(t) | Asked::Revoke(t) => t.as_slice(),
        Asked::Failed(_) => &[],
    };
    if let Ok(tpl) = list(tps) {
        let _ = complete(c, a, &tpl);
    }
}
