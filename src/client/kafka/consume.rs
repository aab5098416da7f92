//! `consume` on Kafka outside a group: partitions assigned by hand, start offsets resolved as
//! on a root (`--from`, `--since`, clamped with a warning), and without `--follow` each
//! partition read up to its high watermark as it was when the consumer opened.

use super::errors::Noting;
use super::errors::from_kafka;
use super::parts::{Part, Parts, pause};
use super::{Kafka, client_config};
use crate::consume::{ConsumeOptions, RecordConsumer, StartFrom, Subscription};
use crate::error::{Error, Result};
use crate::record::{ConsumedRecord, RecordSink};
use rdkafka::consumer::{BaseConsumer, Consumer};
use rdkafka::message::{Headers, Message};
use rdkafka::{Offset, TopicPartitionList};
use std::time::Duration;

pub struct KafkaConsumer {
    consumer: BaseConsumer<Noting>,
    parts: Parts,
    open: usize,
    until: Option<i64>,
    max: Option<u64>,
    delivered: u64,
    warnings: Vec<String>,
    /// How long the next poll may wait for a first record (`wait`).
    wait: Duration,
}

/// Following, records delivered per `poll` at most, so the command checks for signals between
/// them.
const POLL_RECORDS: u32 = 50_000;

/// How long one wait for the next fetch may take before positions are checked again.
const FETCH_WAIT: Duration = Duration::from_millis(100);

impl KafkaConsumer {
    /// `start`: where each partition begins with `--from stored` (None there: its first
    /// offset); without it, `--from stored` needs a group.
    pub fn open(
        k: &Kafka,
        topics: &Subscription,
        o: &ConsumeOptions,
        start: Option<crate::consume::StartAt<'_>>,
    ) -> Result<KafkaConsumer> {
        if o.from == StartFrom::Stored && start.is_none() {
            return Err(Error::Usage(
                "--from stored needs a consumer group (-g GROUP)".into(),
            ));
        }
        let mut cfg = client_config(&k.settings);
        // No group is joined (partitions are assigned by hand) and nothing is committed;
        // librdkafka still wants a group id to assign partitions under.
        cfg.set("group.id", format!("chute-consume-{}", std::process::id()))
            .set("enable.auto.commit", "false")
            // A consumer whose local queue is full waits this long before fetching again
            // (librdkafka's default, 1 s, leaves a fast reader idle most of the time:
            // bench/README.md, "Kafka backend").
            .set("fetch.queue.backoff.ms", "10")
            .set("enable.auto.offset.store", "false")
            .set("auto.offset.reset", "earliest")
            .set("enable.partition.eof", "false");
        for (key, v) in &k.settings.properties {
            cfg.set(key, v);
        }
        let consumer: BaseConsumer<Noting> = cfg
            .create_with_context(Noting)
            .map_err(|e| from_kafka(&e, "Kafka consumer"))?;
        let existing = k.topics()?;
        let names: Vec<&str> = existing.keys().map(String::as_str).collect();
        topics.check_patterns(&names)?;
        let mut parts = Parts::default();
        let mut warnings = Vec::new();
        let mut tpl = TopicPartitionList::new();
        for topic in topics.resolve(names.iter().copied()) {
            let Some(&n) = existing.get(&topic) else {
                return Err(Error::NotFound(format!(
                    "unknown topic {topic:?} (Kafka cluster {})",
                    k.settings.bootstrap
                )));
            };
            let wanted: Vec<u32> = match &o.partitions {
                Some(ps) => {
                    for &p in ps {
                        if p >= n {
                            return Err(Error::NotFound(format!(
                                "partition {topic}-{p} does not exist (topic {topic:?} has {n})"
                            )));
                        }
                    }
                    ps.clone()
                }
                None => (0..n).collect(),
            };
            for p in wanted {
                let name = format!("{topic}-{p}");
                let (low, high) = consumer
                    .fetch_watermarks(&topic, p as i32, k.timeout)
                    .map_err(|e| from_kafka(&e, &format!("partition {name}")))?;
                let mut start = match o.from {
                    StartFrom::Beginning => low,
                    StartFrom::Stored => start
                        .and_then(|f| f(&topic, p))
                        .map_or(low, |s| i64::try_from(s).unwrap_or(i64::MAX)),
                    StartFrom::End => high,
                    StartFrom::Offset(n) => i64::try_from(n).unwrap_or(i64::MAX),
                    StartFrom::BeforeEnd(n) => {
                        high.saturating_sub(i64::try_from(n).unwrap_or(i64::MAX))
                    }
                };
                if let Some(ts) = o.since {
                    start = k.offset_for_time(&topic, p, ts)?.unwrap_or(high);
                }
                if start < low {
                    if !matches!(o.from, StartFrom::BeforeEnd(_)) || o.since.is_some() {
                        warnings.push(format!(
                            "partition {name}: offset {start} is below the log start {low}; starting there"
                        ));
                    }
                    start = low;
                }
                if start > high {
                    warnings.push(format!(
                        "partition {name}: offset {start} is beyond the log end {high}; starting at the end"
                    ));
                    start = high;
                }
                let stop = (!o.follow).then_some(high);
                let done = stop.is_some_and(|s| start >= s);
                if !done {
                    tpl.add_partition_offset(&topic, p as i32, Offset::Offset(start))
                        .map_err(|e| from_kafka(&e, &format!("partition {name}")))?;
                }
                parts.insert(&topic, p as i32, Part { stop, done });
            }
        }
        if tpl.count() > 0 {
            consumer
                .assign(&tpl)
                .map_err(|e| from_kafka(&e, "assigning partitions"))?;
        }
        let open = parts.values().filter(|p| !p.done).count();
        let mut c = KafkaConsumer {
            consumer,
            parts,
            open,
            until: o.until,
            max: o.max,
            delivered: 0,
            warnings,
            wait: Duration::ZERO,
        };
        if c.max == Some(0) {
            c.open = 0;
        }
        Ok(c)
    }

    /// A partition read to its stop (fields apart: a polled record borrows the consumer).
    fn finish(parts: &mut Parts, open: &mut usize, c: &BaseConsumer<Noting>, topic: &str, p: i32) {
        if let Some(part) = parts.get_mut(topic, p)
            && !part.done
        {
            part.done = true;
            *open -= 1;
            pause(c, topic, p);
        }
    }

    /// Partitions whose position reached their stop without a record there (the last
    /// offsets were transaction markers, or compacted away).
    fn check_positions(&mut self) -> Result<()> {
        let pos = self
            .consumer
            .position()
            .map_err(|e| from_kafka(&e, "reading positions"))?;
        for e in pos.elements() {
            let (t, p) = (e.topic(), e.partition());
            if let (Offset::Offset(at), Some(part)) = (e.offset(), self.parts.get_mut(t, p))
                && part.stop.is_some_and(|s| at >= s)
            {
                Self::finish(&mut self.parts, &mut self.open, &self.consumer, t, p);
            }
        }
        Ok(())
    }
}

impl Drop for KafkaConsumer {
    fn drop(&mut self) {
        // Closed here in 1 ms steps, so the crate's drop finds it closed (its own close
        // waits 100 ms per step). Without a group to leave this needs no answer from the
        // cluster.
        super::closed_within(&self.consumer, Duration::from_secs(10));
    }
}

impl RecordConsumer for KafkaConsumer {
    fn warnings(&mut self) -> Vec<String> {
        std::mem::take(&mut self.warnings)
    }

    fn poll(&mut self, sink: &mut dyn RecordSink) -> Result<u64> {
        self.poll_limited(sink, None)
    }

    fn poll_at_most(&mut self, sink: &mut dyn RecordSink, n: u64) -> Result<u64> {
        self.poll_limited(sink, Some(n))
    }

    fn poll_merged(&mut self, _: &mut dyn RecordSink, _: Option<usize>) -> Result<u64> {
        Err(Error::Usage(
            "--merge and --tail do not work on a Kafka cluster yet".into(),
        ))
    }

    fn finished(&self) -> bool {
        self.open == 0
    }

    fn wait(&mut self, timeout: Duration) {
        self.wait = timeout;
    }

    /// The high watermark from the last fetch response (librdkafka caches it; no request).
    fn end_offset(&self, topic: &str, partition: u32) -> Option<u64> {
        super::ffi::cached_high_watermark(self.consumer.client(), topic, partition)
    }
}

impl KafkaConsumer {
    /// [`poll`](RecordConsumer::poll), stopping after `limit` records when given.
    fn poll_limited(&mut self, sink: &mut dyn RecordSink, limit: Option<u64>) -> Result<u64> {
        let mut n = 0u64;
        let mut timeout = std::mem::take(&mut self.wait);
        // Following, what is there now; else everything up to the stops, as on a root.
        let following = self.parts.values().any(|p| p.stop.is_none());
        let mut batch = 0u32;
        while !self.finished() && !crate::signals::stop_requested() {
            if (following && batch >= POLL_RECORDS) || limit.is_some_and(|l| n >= l) {
                break;
            }
            let Some(m) = self.consumer.poll(timeout) else {
                self.check_positions()?;
                if following {
                    break;
                }
                timeout = FETCH_WAIT;
                continue;
            };
            batch += 1;
            timeout = Duration::ZERO;
            let m = m.map_err(|e| from_kafka(&e, "consuming"))?;
            let (topic, p, offset) = (m.topic(), m.partition(), m.offset());
            let Some(part) = self.parts.get_mut(topic, p) else {
                continue;
            };
            if part.done {
                continue;
            }
            let stop = part.stop;
            if stop.is_some_and(|s| offset >= s) {
                Self::finish(&mut self.parts, &mut self.open, &self.consumer, topic, p);
                continue;
            }
            let timestamp = m.timestamp().to_millis().unwrap_or(-1);
            if self.until.is_some_and(|u| timestamp > u) {
                Self::finish(&mut self.parts, &mut self.open, &self.consumer, topic, p);
                continue;
            }
            let headers = match m.headers() {
                Some(h) => h.iter().map(|x| (x.key, x.value)).collect(),
                None => Vec::new(),
            };
            sink.record(&ConsumedRecord {
                topic,
                partition: p as u32,
                offset: offset as u64,
                timestamp,
                key: m.key(),
                value: m.payload(),
                headers,
            })?;
            sink.reached(topic, p as u32, offset as u64 + 1)?;
            n += 1;
            self.delivered += 1;
            if self.max.is_some_and(|max| self.delivered >= max) {
                self.open = 0;
                break;
            }
            if stop.is_some_and(|s| offset + 1 >= s) {
                Self::finish(&mut self.parts, &mut self.open, &self.consumer, topic, p);
            }
        }
        Ok(n)
    }
}
