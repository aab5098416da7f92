//! Kafka -> root: a session reads the cluster (read_committed) from the positions the root's
//! own log holds, and writes through retry-safe producers (`produce --id`'s machinery) whose
//! sequence is the record's source offset, so a record the root already holds is skipped
//! whatever was killed when (docs/mirror.md).

use super::{Event, MirrorOptions, Summary, dest_name};
use crate::client::Backend;
use crate::client::kafka::{Kafka, KafkaSettings};
use crate::client::local::Local;
use crate::cluster::Cluster;
use crate::cluster::mirrors::Direction;
use crate::consume::Subscription;
use crate::error::{Error, Result};
use crate::produce::{Producer, ProducerOptions};
use crate::record::{ConsumedRecord, Header, RecordRef, RecordSink};
use crate::signals::stop_requested;
use crate::topics::CreateOptions;
use std::collections::BTreeMap;
use std::time::{Duration, Instant};

/// A following mirror with nothing to copy waits this long for the cluster before looking.
const IDLE: Duration = Duration::from_millis(200);
/// Records are made durable (written and fsynced) at least this often.
const SYNC_EVERY: Duration = Duration::from_millis(500);
/// A following mirror whose topics are patterns looks for new topics on the cluster this often
/// (Kafka's consumers look every metadata.max.age.ms, 5 minutes; a mirror wants them sooner).
const LOOK_EVERY: Duration = Duration::from_secs(10);

/// Copy `o.topics` of the cluster to `root` until done (or, following, until stopped).
pub fn from_kafka(
    kafka: &KafkaSettings,
    root: &Cluster,
    o: &MirrorOptions,
    on: &mut dyn FnMut(Event<'_>),
) -> Result<Summary> {
    let mut status =
        super::status::Reporter::new(root, &o.name, Direction::FromKafka, &kafka.bootstrap);
    super::retrying(
        o,
        &mut status,
        on,
        &mut |summary, on| session(kafka, root, o, summary, on),
        &behind_of,
    )
}

/// Records the cluster held beyond the positions when last seen (None before any was seen).
fn behind_of(s: &Summary) -> Option<u64> {
    let mut n = None;
    for (t, ends) in &s.ends {
        for (p, &end) in ends {
            let at = s
                .positions
                .get(t)
                .and_then(|x| x.get(p))
                .copied()
                .unwrap_or(0);
            *n.get_or_insert(0) += end.saturating_sub(at);
        }
    }
    n
}

/// A source topic's destination on the root (as many partitions: partition p to p), and the
/// retry-safe producer that writes it (id `mirror.NAME`).
struct Dest {
    name: String,
    producer: Producer,
}

/// One session: passes over the topics the subscription matches, a new pass when a following
/// mirror's pattern matches a topic created on the cluster since the last.
fn session(
    kafka: &KafkaSettings,
    root: &Cluster,
    o: &MirrorOptions,
    summary: &mut Summary,
    on: &mut dyn FnMut(Event<'_>),
) -> Result<()> {
    let k = Kafka::new(kafka)?;
    let local = Local {
        cluster: root.clone(),
    };
    let mut names = matching(&k, o)?;
    loop {
        match pass(&k, &local, o, &names, summary, on)? {
            Some(more) => names = more,
            None => return Ok(()),
        }
    }
}

/// The cluster's topics the subscription matches now (a pattern matching none is an error).
fn matching(k: &Kafka, o: &MirrorOptions) -> Result<Vec<String>> {
    let existing: Vec<String> = k.list_topics()?.into_iter().map(|t| t.name).collect();
    o.topics
        .check_patterns(&existing.iter().map(String::as_str).collect::<Vec<_>>())?;
    Ok(o.topics.resolve(existing.iter().map(String::as_str)))
}

/// Copy `names` until done or stopped (None), or until a following mirror's pattern matches a
/// topic created since (Some: every topic it matches now). The consumer reads exactly the
/// topics prepared: a topic created between the listing and the subscription waits for the
/// next look.
fn pass(
    k: &Kafka,
    local: &Local,
    o: &MirrorOptions,
    names: &[String],
    summary: &mut Summary,
    on: &mut dyn FnMut(Event<'_>),
) -> Result<Option<Vec<String>>> {
    let mut dests = BTreeMap::new();
    let mut start: BTreeMap<(String, u32), u64> = BTreeMap::new();
    for t in names {
        let (d, positions) = prepare(k, local, o, t, summary, on)?;
        for (&p, &next) in &positions {
            start.insert((t.clone(), p), next);
        }
        summary.positions.insert(t.clone(), positions);
        dests.insert(t.clone(), d);
    }
    let opts = super::resuming(o);
    let mut source = k.consumer_at(&Subscription::parse(names)?, &opts, &|t, p| {
        start.get(&(t.to_string(), p)).copied()
    })?;
    for m in source.warnings() {
        on(Event::Warning(&m));
    }
    on(Event::Resumed { summary });
    let mut synced = Instant::now();
    let mut unsynced = false;
    let mut looked = Instant::now();
    let result = (|| -> Result<Option<Vec<String>>> {
        loop {
            let mut sink = Sink {
                dests: &mut dests,
                summary,
                headers: Vec::new(),
            };
            let n = source.poll_at_most(&mut sink, o.batch_records)?;
            unsynced |= n > 0;
            let idle = n == 0;
            if unsynced && (idle || synced.elapsed() >= SYNC_EVERY || stop_requested()) {
                for d in dests.values_mut() {
                    d.producer.flush()?;
                    d.producer.sync()?;
                }
                synced = Instant::now();
                unsynced = false;
                summary.transactions += 1;
                for (t, positions) in &summary.positions {
                    let partitions = summary.topics.get(t).map_or(0, |x| x.partitions);
                    let e = summary.ends.entry(t.clone()).or_default();
                    for p in 0..partitions {
                        if let Some(end) = source.end_offset(t, p) {
                            e.insert(p, end.max(positions.get(&p).copied().unwrap_or(0)));
                        }
                    }
                }
                let behind = behind_of(summary).unwrap_or(0);
                on(Event::Committed { summary, behind });
            }
            if stop_requested() {
                return Ok(None);
            }
            if o.follow && o.topics.has_patterns() && looked.elapsed() >= LOOK_EVERY && !unsynced {
                looked = Instant::now();
                let now = matching(k, o)?;
                if now.iter().any(|t| !names.contains(t)) {
                    return Ok(Some(now));
                }
            }
            if idle {
                if source.finished() {
                    return Ok(None);
                }
                source.wait(IDLE);
            }
        }
    })();
    // Whatever ended the session, what was sent is written and fsynced (a record the root
    // holds is never copied twice, so this is safe even after an error).
    let closed: Result<()> = dests.values_mut().try_for_each(|d| d.producer.close());
    let more = result?;
    closed?;
    Ok(more)
}

/// The root's topic for `source`, created when missing (the source's partition count and the
/// configs it sets), its producers, and where each source partition resumes.
fn prepare(
    k: &Kafka,
    local: &Local,
    o: &MirrorOptions,
    source: &str,
    summary: &mut Summary,
    on: &mut dyn FnMut(Event<'_>),
) -> Result<(Dest, BTreeMap<u32, u64>)> {
    let name = dest_name(&o.rename, source).to_string();
    let described = k.describe_topic(source)?;
    let src_partitions = described.partitions.len() as u32;
    let created = local
        .create_topic(
            &name,
            CreateOptions {
                partitions: src_partitions,
                replication_factor: o.replication_factor.unwrap_or(1),
                config: described
                    .overrides
                    .iter()
                    .filter_map(|key| {
                        described.config.get(key).map(|v| match v {
                            serde_json::Value::String(s) => format!("{key}={s}"),
                            v => format!("{key}={v}"),
                        })
                    })
                    .collect(),
                if_not_exists: true,
            },
        )?
        .created;
    if created {
        on(Event::Created {
            source,
            dest: &name,
        });
    }
    let partitions = local.describe_topic(&name)?.partitions.len() as u32;
    // With other counts, records of one source partition would spread over several root
    // partitions, written in an order of their own: the highest sequence the root holds would
    // no longer say that everything below it is there.
    if partitions != src_partitions {
        return Err(Error::Usage(format!(
            "topic {name} has {partitions} partition(s) on this root and {source} {src_partitions} on the cluster: a mirror from Kafka needs the same count (--rename to a new topic, which the mirror creates so)"
        )));
    }
    let mut p = {
        let mut po = ProducerOptions::new(false);
        // All replicas: a batch only the old leader held would otherwise leave a hole that
        // later stamps pass over.
        po.acks = crate::produce::Acks::All;
        po.id = Some(format!(
            "{}{}",
            crate::log::producers::MIRROR_PREFIX,
            o.name
        ));
        po.id_fixed_partitions = false;
        Producer::open(&local.cluster, &name, po)?.0
    };
    let mut positions = BTreeMap::new();
    for s in 0..src_partitions {
        if let Some(last) = p.written_up_to(s)? {
            positions.insert(s, last + 1);
        }
    }
    if positions.is_empty() && !created {
        super::check_unclaimed(o, local, &name, source, "this root")?;
    }
    // A Kafka topic deleted and created again starts over at offset 0, under positions of the
    // old one: its records would be taken for copies the root holds, and skipped.
    if !positions.is_empty() {
        for p in k.topic_offsets(source, None)? {
            if let Some(&at) = positions.get(&p.partition)
                && at > p.latest
            {
                return Err(Error::Usage(format!(
                    "partition {source}-{}: this root holds copies up to offset {} but the cluster's partition ends at {}: the topic was deleted and created again on the cluster (or lost records); mirror it to a new root topic (--rename {source}=NEW) or give the mirror a new --name with --append",
                    p.partition,
                    at - 1,
                    p.latest
                )));
            }
        }
    }
    let t = summary.topics.entry(source.to_string()).or_default();
    t.to = name.clone();
    t.partitions = src_partitions;
    t.created |= created;
    Ok((Dest { name, producer: p }, positions))
}

struct Sink<'a> {
    dests: &'a mut BTreeMap<String, Dest>,
    summary: &'a mut Summary,
    headers: Vec<Header>,
}

impl RecordSink for Sink<'_> {
    fn record(&mut self, r: &ConsumedRecord<'_>) -> Result<()> {
        let Some(d) = self.dests.get_mut(r.topic) else {
            return Err(Error::Other(format!(
                "topic {}: not prepared for mirroring",
                r.topic
            )));
        };
        let p = r.partition;
        // Owned headers only for records that have any (RecordRef takes them owned).
        self.headers.clear();
        self.headers.extend(r.headers.iter().map(|(k, v)| Header {
            key: k.to_string(),
            value: v.map(<[u8]>::to_vec),
        }));
        let name = &d.name;
        let producer = &mut d.producer;
        // The source offset is the sequence: the root skips what it already holds.
        producer.set_next_sequence(r.offset);
        let before = producer.deduplicated;
        producer
            .send(RecordRef {
                key: r.key,
                value: r.value,
                timestamp: Some(r.timestamp),
                headers: &self.headers,
                partition: Some(p),
                line: r.offset + 1,
            })
            .map_err(|e| match e {
                Error::BadInput(m) => Error::Other(format!(
                    "partition {}-{} offset {}: {m} (topic {name} on the root)",
                    r.topic, r.partition, r.offset
                )),
                e => e,
            })?;
        // The topic's entry exists from `prepare`: no String per record.
        if let Some(at) = self.summary.positions.get_mut(r.topic) {
            let at = at.entry(r.partition).or_default();
            *at = (*at).max(r.offset + 1);
        }
        if producer.deduplicated == before {
            self.summary.records += 1;
            if let Some(t) = self.summary.topics.get_mut(r.topic) {
                t.records += 1;
            }
        }
        Ok(())
    }
}
