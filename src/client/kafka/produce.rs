//! `produce` on Kafka: records placed by chute's own partitioners (the Java producer's
//! murmur2 for keys, so a key lands where Kafka's clients put it), handed to librdkafka with an
//! explicit partition, every delivery report checked. docs/kafka.md has the mapping of flags.

use super::errors::{from_code, from_kafka};
use super::ffi::{Batch, Out, TopicProducer};
use super::{Kafka, client_config};
use crate::error::{Error, Result};
use crate::produce::placement::{ExecPartitioner, Placement};
use crate::produce::{Acks, ProducerOptions, RecordProducer};
use crate::record::RecordRef;
use rdkafka::ClientContext;
use rdkafka::error::RDKafkaErrorCode;
use rdkafka::message::Message;
use rdkafka::producer::{BaseProducer, DeliveryResult, Producer, ProducerContext};
use std::sync::Mutex;
use std::time::{Duration, Instant};

/// Delivery reports, as librdkafka calls them back from `poll`.
pub struct Deliveries {
    state: Mutex<Reports>,
    /// What a record's opaque number is, for the message: "input line", "source offset".
    unit: &'static str,
}

impl Default for Deliveries {
    fn default() -> Deliveries {
        Deliveries::counting("input line")
    }
}

#[derive(Default)]
struct Reports {
    failed: u64,
    /// The first failure: what the run exits with.
    first: Option<Error>,
}

impl Deliveries {
    pub fn counting(unit: &'static str) -> Deliveries {
        Deliveries {
            state: Mutex::default(),
            unit,
        }
    }

    /// The first failed delivery since the last call (with how many more failed), if any.
    pub fn failure(&self) -> Result<()> {
        let mut s = self.state.lock().unwrap_or_else(|p| p.into_inner());
        match s.first.take() {
            Some(e) => {
                let more = std::mem::take(&mut s.failed) - 1;
                Err(super::errors::and_more(e, more))
            }
            None => Ok(()),
        }
    }
}

impl ClientContext for Deliveries {
    fn log(&self, level: rdkafka::config::RDKafkaLogLevel, _: &str, message: &str) {
        super::errors::note_log(level, message);
    }

    fn error(&self, e: rdkafka::error::KafkaError, reason: &str) {
        super::errors::note(&e, reason);
    }
}

impl ProducerContext for Deliveries {
    /// The record's input line (or source offset), for the error message.
    type DeliveryOpaque = usize;

    fn delivery(&self, r: &DeliveryResult<'_>, n: usize) {
        if let Err((e, m)) = r {
            let mut s = self.state.lock().unwrap_or_else(|p| p.into_inner());
            s.failed += 1;
            if s.first.is_none() {
                let what = format!(
                    "{} {n}: partition {}-{} did not take the record",
                    self.unit,
                    m.topic(),
                    m.partition()
                );
                // A record the broker refused after it was sent is not a line `--on-error
                // skip` may pass over: the run fails, whatever it says of bad input.
                s.first = Some(match from_kafka(e, &what) {
                    Error::BadInput(m) => Error::Other(m),
                    e => e,
                });
            }
        }
    }
}

pub struct KafkaProducer {
    producer: TopicProducer<Deliveries>,
    topic: String,
    partitions: u32,
    fixed: Option<u32>,
    placement: Placement,
    /// How long `close` waits for the last acknowledgements.
    timeout: Duration,
    since_poll: u32,
    /// Records without headers or a timestamp of their own, for one batch call.
    held: Batch,
}

/// librdkafka's defaults for `batch.num.messages` and `queue.buffering.max.messages`.
const DEFAULT_BATCH_RECORDS: u64 = 10_000;
const DEFAULT_QUEUE_RECORDS: u64 = 100_000;

/// Serve delivery reports every this many records (librdkafka calls them back only from poll).
const POLL_EVERY: u32 = 1024;

/// Hand held records to librdkafka once this many are held (and whenever the input pauses).
const HOLD: usize = 1024;

/// How long to wait for the sender thread when librdkafka's queue is full or being drained.
/// A sleep, not a poll with a timeout: the crate rounds a poll's time left down to whole
/// milliseconds, so a poll of 1 ms spins, and with only failures reported a longer one waits
/// out its whole timeout.
const BACKOFF: Duration = Duration::from_micros(500);

impl KafkaProducer {
    pub fn open(k: &Kafka, topic: &str, o: ProducerOptions) -> Result<(KafkaProducer, bool)> {
        if let Some(id) = &o.id {
            return Err(Error::Usage(format!(
                "produce --id {id} does not work on a Kafka cluster yet (Kafka's idempotent producer lasts one run; chute's --id needs its log to remember ids)"
            )));
        }
        if o.truncate_oversized {
            return Err(Error::Usage(
                "--on-error truncate does not work on a Kafka cluster yet: the broker's limit is not known to the client".into(),
            ));
        }
        crate::names::topic(topic)?;
        let mut cfg = client_config(&k.settings);
        let acks = match o.acks {
            Acks::None => "0",
            Acks::Leader => "1",
            Acks::All => "all",
        };
        // librdkafka's idempotence needs acks=all; with fewer acks a retried batch could be
        // written twice anyway, so it is on exactly when all replicas must acknowledge.
        cfg.set("acks", acks)
            .set("enable.idempotence", (o.acks == Acks::All).to_string())
            // Reports of records that arrived are not needed: the run counts on librdkafka's
            // queue length reaching 0, and a failure is reported on its own. Serving a report
            // for every record cost a fifth of the producer's time.
            .set("delivery.report.only.error", "true")
            .set("compression.codec", o.compression.name())
            .set(
                "batch.size",
                o.batch_size.clamp(1, i32::MAX as usize).to_string(),
            );
        if let Some(l) = o.compression_level {
            cfg.set("compression.level", l.to_string());
        }
        if let Some(n) = o.batch_records {
            cfg.set("batch.num.messages", n.to_string());
        }
        if let Some(l) = o.linger {
            cfg.set("linger.ms", l.as_millis().min(900_000).to_string());
        }
        // librdkafka queues up to 100,000 records: the reader runs that far ahead of the
        // sender thread, and the records it writes and then acknowledges have left the CPU's
        // caches by then (walking them was a fifth of the sender's time). Three batches keep
        // it busy with records still in cache: a fifth less CPU for 1 M x 100 B records.
        let batch = k
            .settings
            .property("batch.num.messages")
            .and_then(|v| v.parse::<u64>().ok())
            .or(o.batch_records.map(u64::from))
            .unwrap_or(DEFAULT_BATCH_RECORDS);
        cfg.set(
            "queue.buffering.max.messages",
            batch
                .saturating_mul(3)
                .clamp(1, DEFAULT_QUEUE_RECORDS)
                .to_string(),
        );
        // -X wins over what the flags set.
        for (key, v) in &k.settings.properties {
            cfg.set(key, v);
        }
        let producer: BaseProducer<Deliveries> = cfg
            .create_with_context(Deliveries::default())
            .map_err(|e| from_kafka(&e, "Kafka producer"))?;
        // The producer's own client answers the partition count: one client, not two.
        let count = k.partition_count_on(producer.client(), topic).map_err(|e| {
            // A failed TLS handshake or login is reported among the producer's events.
            producer.poll(Duration::ZERO);
            super::errors::explain(e)
        });
        let (partitions, created) = match count {
            Ok(n) => (n, false),
            Err(Error::NotFound(_)) if o.create => {
                k.create_default(topic)?;
                (k.await_partition_count_on(producer.client(), topic)?, true)
            }
            Err(Error::NotFound(m)) => {
                return Err(Error::NotFound(format!(
                    "{m}; create it first (chute topic create {topic}) or pass --create"
                )));
            }
            Err(e) => return Err(e),
        };
        if let Some(p) = o.partition
            && p >= partitions
        {
            return Err(Error::Usage(format!(
                "-p {p}: topic {topic:?} has {partitions} partition(s)"
            )));
        }
        let timeout = Duration::from_millis(
            k.settings
                .property("message.timeout.ms")
                .or(k.settings.property("delivery.timeout.ms"))
                .and_then(|v| v.parse().ok())
                .unwrap_or(300_000),
        ) + Duration::from_secs(5);
        let exec = match &o.partitioner_exec {
            Some(cmd) => Some(ExecPartitioner::spawn(cmd, o.partitioner_timeout)?),
            None => None,
        };
        let kind = o.partitioner.unwrap_or_default();
        Ok((
            KafkaProducer {
                producer: TopicProducer::new(producer, topic)?,
                topic: topic.to_string(),
                partitions,
                fixed: o.partition,
                placement: Placement::new(kind, partitions, exec),
                timeout,
                since_poll: 0,
                held: Batch::default(),
            },
            created,
        ))
    }

    /// Serve delivery reports; the first failure ends the run.
    fn poll(&mut self) -> Result<()> {
        self.producer.producer().poll(Duration::ZERO);
        self.since_poll = 0;
        self.failure()
    }

    fn failure(&self) -> Result<()> {
        self.producer.producer().context().failure()
    }

    /// The held records to librdkafka, in order; the first it refuses ends the run.
    fn send_held(&mut self) -> Result<()> {
        let mut from = 0;
        let mut served = false;
        while from < self.held.len() {
            match self.producer.send_batch(&mut self.held, from) {
                Ok(()) => break,
                Err((i, RDKafkaErrorCode::QueueFull)) => {
                    // As in `send`: wait for the sender thread, then the rest.
                    self.producer.producer().poll(Duration::ZERO);
                    std::thread::sleep(BACKOFF);
                    served = true;
                    from = i;
                }
                Err((i, code)) => {
                    let (p, line) = self.held.record(i);
                    self.held.clear();
                    // Returned while a later record is being sent: not a bad line `--on-error
                    // skip` may pass over (a size error cannot come here: see `fits`).
                    return Err(
                        match from_code(
                            code,
                            &format!("input line {line}: partition {}-{p}", self.topic),
                        ) {
                            Error::BadInput(m) => Error::Other(m),
                            e => e,
                        },
                    );
                }
            }
        }
        self.held.clear();
        if served { self.poll() } else { Ok(()) }
    }
}

impl RecordProducer for KafkaProducer {
    fn tick(&mut self) {}

    fn send(&mut self, r: RecordRef<'_>) -> Result<()> {
        let size = r.key.map_or(0, <[u8]>::len) + r.value.map_or(0, <[u8]>::len);
        let p = match r.partition.or(self.fixed) {
            Some(p) => p,
            None => self.placement.choose(r.key, size, r.line)?,
        };
        if p >= self.partitions {
            return Err(Error::BadInput(format!(
                "input line {}: partition {p} does not exist (topic {:?} has {})",
                r.line, self.topic, self.partitions
            )));
        }
        let (klen, vlen) = (r.key.map_or(0, <[u8]>::len), r.value.map_or(0, <[u8]>::len));
        if r.headers.is_empty() && r.timestamp.is_none() && self.producer.fits(klen, vlen) {
            self.held.push(p as i32, r.key, r.value, r.line as usize);
            if self.held.len() >= HOLD {
                self.send_held()?;
            }
            self.since_poll += 1;
            if self.since_poll >= POLL_EVERY {
                self.poll()?;
            }
            return Ok(());
        }
        // Records go to librdkafka in input order.
        self.send_held()?;
        let out = Out {
            partition: p as i32,
            key: r.key,
            value: r.value,
            timestamp: r.timestamp,
            headers: r.headers,
        };
        let mut served = false;
        loop {
            match self.producer.send(&out, r.line as usize) {
                Ok(()) => break,
                Err(RDKafkaErrorCode::QueueFull) => {
                    // The client's buffer is full until its sender thread gets acknowledgements:
                    // wait a little (a failure among them is reported once this record is in).
                    self.producer.producer().poll(Duration::ZERO);
                    std::thread::sleep(BACKOFF);
                    served = true;
                }
                Err(code) => {
                    return Err(from_code(
                        code,
                        &format!("input line {}: partition {}-{p}", r.line, self.topic),
                    ));
                }
            }
        }
        self.since_poll += 1;
        if served || self.since_poll >= POLL_EVERY {
            self.poll()?;
        }
        Ok(())
    }

    fn has_pending(&self) -> bool {
        !self.held.is_empty()
    }

    /// librdkafka sends on its own (`linger.ms`): here held records are handed to it and
    /// reports served.
    fn flush(&mut self) -> Result<()> {
        self.send_held()?;
        self.poll()
    }

    fn sync_deadline(&self) -> Instant {
        Instant::now() + Duration::from_millis(100)
    }

    fn sync_if_due(&mut self) -> Result<()> {
        self.send_held()?;
        self.poll()
    }

    /// Every record acknowledged (as `--acks` asks), or the first failure.
    fn close(&mut self) -> Result<()> {
        // A record librdkafka refused is reported before any failed delivery, as when `send`
        // refuses it; those taken before it are still waited for.
        let held = self.send_held();
        let deadline = Instant::now() + self.timeout;
        let producer = self.producer.producer();
        loop {
            producer.poll(Duration::ZERO);
            if producer.in_flight_count() == 0 || Instant::now() >= deadline {
                break;
            }
            std::thread::sleep(BACKOFF);
        }
        let flushed = producer.flush(Duration::ZERO);
        held?;
        self.failure()?;
        flushed.map_err(|e| {
            from_kafka(
                &e,
                &format!(
                    "topic {}: {} record(s) not acknowledged within {}",
                    self.topic,
                    producer.in_flight_count(),
                    humantime::format_duration(self.timeout)
                ),
            )
        })
    }

    fn truncated(&self) -> u64 {
        0
    }
}
