//! The Kafka side of `chute mirror --to-kafka`: records written in Kafka transactions, each
//! committing the mirror's source positions as offsets of its own group, so that what is on
//! the cluster and where the mirror resumes never disagree (docs/mirror.md has the protocol
//! and its crash windows).
//!
//! Positions live in the commit metadata of the destination partitions: partition `d` of a
//! destination topic carries `chute-mirror 2 SOURCE-TOPIC SOURCE-ID s=NEXT ...` for every source
//! partition `s` with `s % partitions == d` (one when the counts match, as the mirror creates
//! them). The source's topic id tells positions of a topic deleted and created again on the
//! root from its own. The committed offset itself is the position when there is exactly one, so Kafka's
//! own tools show something sensible; the metadata is what the mirror reads.

use super::errors::{Noting, explain, from_kafka};
use super::produce::Deliveries;
use super::{Kafka, KafkaSettings, client_config, close_within};
use crate::error::{Error, Result};
use crate::record::ConsumedRecord;
use rdkafka::consumer::{BaseConsumer, Consumer, ConsumerGroupMetadata};
use rdkafka::error::{KafkaError, RDKafkaErrorCode};
use rdkafka::message::{Header, OwnedHeaders};
use rdkafka::producer::{BaseProducer, BaseRecord, Producer};
use rdkafka::{Offset, TopicPartitionList};
use std::collections::BTreeMap;
use std::time::{Duration, Instant};

/// The first word of the commit metadata, and the format's version after it.
const MAGIC: &str = "chute-mirror";
const VERSION: u32 = 2;

/// Where each source partition resumes: the offset of the first record not yet mirrored.
pub type Positions = BTreeMap<u32, u64>;

pub struct MirrorWriter {
    kafka: Kafka,
    producer: Option<BaseProducer<Deliveries>>,
    /// Reads the committed positions (the mirror's group, never joined).
    reader: Option<BaseConsumer<Noting>>,
    group: String,
    cgm: ConsumerGroupMetadata,
    timeout: Duration,
    open: bool,
}

impl MirrorWriter {
    /// A writer for the mirror `name`. Taking over its transactional id fences any earlier
    /// writer of that name (a killed mirror, or one still running elsewhere) and aborts the
    /// transaction it left open, so nothing it had not committed is ever seen.
    pub fn open(settings: &KafkaSettings, name: &str) -> Result<MirrorWriter> {
        let kafka = Kafka::new(settings)?;
        let timeout = kafka.timeout;
        let group = format!("chute-mirror.{name}");
        let mut cfg = client_config(settings);
        // Three batches queued, not librdkafka's 100,000 records: the records its sender
        // thread writes are still in the CPU's caches (as for produce; -X sets it otherwise).
        cfg.set("linger.ms", "5")
            .set("queue.buffering.max.messages", "30000");
        for (k, v) in &settings.properties {
            cfg.set(k, v);
        }
        // After -X: the protocol rests on these, so no property may change them.
        cfg.set("transactional.id", &group)
            .set("enable.idempotence", "true")
            .set("acks", "all")
            .set("delivery.report.only.error", "true");
        let producer: BaseProducer<Deliveries> = cfg
            .create_with_context(Deliveries::counting("source offset"))
            .map_err(|e| from_kafka(&e, "Kafka producer"))?;
        producer.init_transactions(timeout).map_err(|e| {
            txn_error(
                &e,
                &format!(
                    "taking over the transactions of {group} (Kafka cluster {})",
                    settings.bootstrap
                ),
            )
        })?;
        let mut cfg = client_config(settings);
        for (k, v) in &settings.properties {
            cfg.set(k, v);
        }
        cfg.set("group.id", &group)
            .set("enable.auto.commit", "false")
            // Wait for offsets a transaction still holds instead of reading past them.
            .set("isolation.level", "read_committed");
        let reader: BaseConsumer<Noting> = cfg
            .create_with_context(Noting)
            .map_err(|e| from_kafka(&e, "Kafka consumer"))?;
        let cgm = reader
            .group_metadata()
            .ok_or_else(|| Error::Other(format!("group {group}: no group metadata")))?;
        Ok(MirrorWriter {
            kafka,
            producer: Some(producer),
            reader: Some(reader),
            group,
            cgm,
            timeout,
            open: false,
        })
    }

    pub fn kafka(&self) -> &Kafka {
        &self.kafka
    }

    fn producer(&self) -> &BaseProducer<Deliveries> {
        self.producer
            .as_ref()
            .expect("the producer lives until drop")
    }

    /// The partition count of `topic` on the cluster, None when it does not exist.
    pub fn partitions(&self, topic: &str) -> Result<Option<u32>> {
        match self
            .kafka
            .partition_count_on(self.producer().client(), topic)
        {
            Ok(n) => Ok(Some(n)),
            Err(Error::NotFound(_)) => Ok(None),
            Err(e) => Err(e),
        }
    }

    /// The partition count of a topic created a moment ago (metadata shows it a little later).
    pub fn await_partitions(&self, topic: &str) -> Result<u32> {
        self.kafka
            .await_partition_count_on(self.producer().client(), topic)
    }

    /// Where each partition of `source` (topic id `id` on the root) resumes, as the last
    /// committed transaction left it (a source partition never mirrored is absent), and
    /// whether positions of an earlier topic of that name were found (and left out: the topic
    /// was deleted and created again since). `dest` has `partitions` partitions.
    pub fn positions(
        &self,
        dest: &str,
        source: &str,
        id: &str,
        partitions: u32,
    ) -> Result<(Positions, bool)> {
        let mut tpl = TopicPartitionList::new();
        for d in 0..partitions {
            tpl.add_partition(dest, d as i32);
        }
        let reader = self.reader.as_ref().expect("the reader lives until drop");
        let got = reader
            .committed_offsets(tpl, self.timeout)
            .map_err(|e| explain(from_kafka(&e, &format!("group {}: positions", self.group))))?;
        let mut out = Positions::new();
        let mut earlier = false;
        for e in got.elements() {
            if let Err(err) = e.error() {
                return Err(explain(from_kafka(
                    &err,
                    &format!(
                        "group {} partition {dest}-{}: position",
                        self.group,
                        e.partition()
                    ),
                )));
            }
            if e.metadata().is_empty() {
                continue;
            }
            let what = format!(
                "group {} partition {dest}-{}: commit metadata {:?}",
                self.group,
                e.partition(),
                e.metadata()
            );
            let (from, from_id, positions) =
                parse(e.metadata()).map_err(|m| Error::Other(format!("{what}: {m}")))?;
            if from != source {
                return Err(Error::Usage(format!(
                    "{what}: topic {dest} is the mirror of {from:?}, not of {source:?}; give the mirror another --name or --rename"
                )));
            }
            if from_id.is_some_and(|x| x != id) {
                earlier = true;
                continue;
            }
            // Positions only move forward: a stale home (the destination grew) never wins.
            for (p, next) in positions {
                let at = out.entry(p).or_insert(next);
                *at = (*at).max(next);
            }
        }
        Ok((out, earlier))
    }

    /// Open a transaction (local to the client: no request is sent).
    pub fn begin(&mut self) -> Result<()> {
        if !self.open {
            self.producer()
                .begin_transaction()
                .map_err(|e| txn_error(&e, "beginning a transaction"))?;
            self.open = true;
        }
        Ok(())
    }

    /// One record into the open transaction, with its key, value, headers and timestamp.
    pub fn send(&mut self, topic: &str, partition: u32, r: &ConsumedRecord<'_>) -> Result<()> {
        self.begin()?;
        let mut rec: BaseRecord<'_, [u8], [u8], usize> =
            BaseRecord::with_opaque_to(topic, r.offset as usize)
                .partition(partition as i32)
                .timestamp(r.timestamp);
        if let Some(k) = r.key {
            rec = rec.key(k);
        }
        if let Some(v) = r.value {
            rec = rec.payload(v);
        }
        if !r.headers.is_empty() {
            let mut h = OwnedHeaders::new_with_capacity(r.headers.len());
            for (key, value) in &r.headers {
                h = h.insert(Header { key, value: *value });
            }
            rec = rec.headers(h);
        }
        let deadline = Instant::now() + self.timeout;
        loop {
            match self.producer().send(rec) {
                Ok(()) => return Ok(()),
                Err((e, back))
                    if e.rdkafka_error_code() == Some(RDKafkaErrorCode::QueueFull)
                        && Instant::now() < deadline =>
                {
                    // The client's buffer is full until the cluster acknowledges some.
                    self.producer().poll(Duration::ZERO);
                    std::thread::sleep(Duration::from_micros(500));
                    rec = back;
                }
                Err((e, _)) => {
                    if let Some(f) = self.fatal() {
                        return Err(f);
                    }
                    // librdkafka refuses sends once a delivery in the transaction failed:
                    // that failure is the cause, and the next session retries the batch.
                    self.producer().poll(Duration::ZERO);
                    self.producer().context().failure()?;
                    let what = format!("partition {topic}-{partition}");
                    return Err(match e.rdkafka_error_code() {
                        Some(RDKafkaErrorCode::State) => explain(Error::Temporary(format!(
                            "{what}: the transaction failed: {e}"
                        ))),
                        _ => explain(from_kafka(&e, &what)),
                    });
                }
            }
        }
    }

    /// Commit the open transaction with the positions of the source partitions it moved:
    /// `(dest topic, dest partitions, source topic, every source partition's position)` for
    /// each topic that moved; partitions whose metadata did not change may be left out.
    pub fn commit(&mut self, moved: &[Moved<'_>]) -> Result<()> {
        self.begin()?;
        let mut tpl = TopicPartitionList::new();
        for m in moved {
            // Every position, in the destination partition that holds it (its home).
            let mut homes: BTreeMap<u32, Vec<(u32, u64)>> = BTreeMap::new();
            for (&s, &next) in m.positions {
                homes.entry(s % m.partitions).or_default().push((s, next));
            }
            for (d, list) in homes {
                let offset = match list.as_slice() {
                    [(_, next)] => *next as i64,
                    _ => 0,
                };
                tpl.add_partition_offset(m.dest, d as i32, Offset::Offset(offset))
                    .map_err(|e| from_kafka(&e, m.dest))?;
                if let Some(mut e) = tpl.find_partition(m.dest, d as i32) {
                    e.set_metadata(format(m.source, m.source_id, &list));
                }
            }
        }
        // The records first: a failed delivery shows here, with its partition.
        // As long as acknowledgements keep coming: a slow link with a large batch is not an
        // outage (one that stops answering for socket.timeout.ms is).
        let mut left = self.producer().in_flight_count();
        let mut deadline = Instant::now() + self.timeout;
        while left > 0 && Instant::now() < deadline {
            self.producer().poll(Duration::ZERO);
            std::thread::sleep(Duration::from_micros(500));
            let now = self.producer().in_flight_count();
            if now < left {
                deadline = Instant::now() + self.timeout;
            }
            left = now;
        }
        self.producer().poll(Duration::ZERO);
        // A fenced producer fails its queued records ("purged"): say why instead.
        self.producer()
            .context()
            .failure()
            .map_err(|e| self.fatal().unwrap_or(e))?;
        if tpl.count() > 0 {
            self.producer()
                .send_offsets_to_transaction(&tpl, &self.cgm, self.timeout)
                .map_err(|e| txn_error(&e, "committing the mirror's positions"))?;
        }
        self.producer()
            .commit_transaction(self.timeout)
            .map_err(|e| txn_error(&e, "committing a transaction"))?;
        self.open = false;
        Ok(())
    }

    /// The producer's fatal error, if it has one: fenced by a newer writer of the same
    /// transactional id, above all.
    fn fatal(&self) -> Option<Error> {
        let (code, reason) = self.producer().client().fatal_error()?;
        let msg = format!("{}: {reason}", self.group);
        Some(if fenced(code) {
            Error::Other(format!(
                "{msg}: another mirror of the same --name took over (or a transaction outlived transaction.timeout.ms)"
            ))
        } else {
            Error::Other(msg)
        })
    }

    /// Abort the open transaction, if any (best effort: a writer that cannot abort is
    /// fenced by the next one of its name).
    pub fn abort(&mut self) {
        if self.open {
            let _ = self.producer().abort_transaction(self.timeout);
            self.open = false;
        }
    }
}

impl Drop for MirrorWriter {
    fn drop(&mut self) {
        // librdkafka's destroy waits for the cluster; a command must always exit.
        let limit = self.timeout;
        if let Some(p) = self.producer.take() {
            close_within(move || drop(p), limit, "mirror producer", &mut |m| {
                eprintln!("chute: {m}")
            });
        }
        if let Some(c) = self.reader.take() {
            close_within(
                move || super::close_consumer(c, limit),
                limit,
                "mirror reader",
                &mut |m| eprintln!("chute: {m}"),
            );
        }
    }
}

/// One destination topic's share of a commit.
pub struct Moved<'a> {
    pub dest: &'a str,
    pub partitions: u32,
    pub source: &'a str,
    /// The source's topic id on the root.
    pub source_id: &'a str,
    pub positions: &'a Positions,
}

fn format(source: &str, id: &str, list: &[(u32, u64)]) -> String {
    let mut s = format!("{MAGIC} {VERSION} {source} {id}");
    for (p, next) in list {
        s.push_str(&format!(" {p}={next}"));
    }
    s
}

/// Source topic, its id (None from version 1, which had none) and positions.
type Parsed = (String, Option<String>, Vec<(u32, u64)>);

fn parse(m: &str) -> std::result::Result<Parsed, String> {
    let mut words = m.split(' ');
    if words.next() != Some(MAGIC) {
        return Err("not written by chute mirror".into());
    }
    let version = match words.next().map(str::parse::<u32>) {
        Some(Ok(v @ (1 | VERSION))) => v,
        Some(Ok(v)) => {
            return Err(format!(
                "format version {v}, this chute reads 1 to {VERSION}: use a newer chute"
            ));
        }
        _ => return Err("no format version".into()),
    };
    let source = words.next().ok_or("no source topic")?.to_string();
    let id = match version {
        1 => None,
        _ => Some(words.next().ok_or("no source topic id")?.to_string()),
    };
    let mut list = Vec::new();
    for w in words {
        let (p, next) = w
            .split_once('=')
            .ok_or_else(|| format!("{w:?} is not P=OFFSET"))?;
        let p = p.parse().map_err(|_| format!("{w:?}: bad partition"))?;
        let next = next.parse().map_err(|_| format!("{w:?}: bad offset"))?;
        list.push((p, next));
    }
    Ok((source, id, list))
}

fn fenced(code: RDKafkaErrorCode) -> bool {
    matches!(
        code,
        RDKafkaErrorCode::ProducerFenced
            | RDKafkaErrorCode::InvalidProducerEpoch
            | RDKafkaErrorCode::Fenced
    )
}

/// A transaction call's error in chute's terms: fenced by a newer mirror of the same name is
/// final (exit 1); what a retry can mend stays temporary (exit 75).
fn txn_error(e: &KafkaError, what: &str) -> Error {
    if let KafkaError::Transaction(t) = e {
        let msg = format!("{what}: {}", t.string());
        if t.code() == RDKafkaErrorCode::OffsetMetadataTooLarge {
            return Error::Other(format!(
                "{msg}: the positions of the source partitions that share a destination partition do not fit its commit metadata (the broker's offset.metadata.max.bytes); give the destination topic more partitions"
            ));
        }
        if fenced(t.code()) {
            return Error::Other(format!(
                "{msg}: another mirror of the same --name took over (or a transaction outlived transaction.timeout.ms)"
            ));
        }
        return match super::errors::from_code(t.code(), what) {
            Error::Temporary(_) => explain(Error::Temporary(msg)),
            // A fatal error other than a fence (not authorized, a broker too old) does not
            // mend by trying again; what an abort or a new producer mends does.
            _ if t.is_retriable() || t.txn_requires_abort() => explain(Error::Temporary(msg)),
            _ if t.is_fatal() => Error::Other(msg),
            e => e,
        };
    }
    explain(from_kafka(e, what))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn positions_metadata_round_trips_and_refuses_what_it_cannot_read() {
        let m = format("orders", "00ab", &[(3, 120), (11, 0)]);
        assert_eq!(m, "chute-mirror 2 orders 00ab 3=120 11=0");
        assert_eq!(
            parse(&m).unwrap(),
            (
                "orders".to_string(),
                Some("00ab".to_string()),
                vec![(3, 120), (11, 0)]
            )
        );
        // Version 1 had no topic id.
        assert_eq!(
            parse("chute-mirror 1 orders 0=1").unwrap(),
            ("orders".to_string(), None, vec![(0, 1)])
        );
        assert!(
            parse("chute-mirror 3 orders x 0=1")
                .unwrap_err()
                .contains("newer chute")
        );
        assert!(parse("something else").is_err());
        assert!(parse("chute-mirror 2 orders").is_err());
        assert!(parse("chute-mirror 2 orders 00ab 0:1").is_err());
    }
}
