//! Kafka -> root: a session reads the cluster (read_committed) from the positions the root's
//! own log holds, and writes through retry-safe producers (`produce --id`'s machinery) whose
//! sequence is the record's source offset, so a record the root already holds is skipped
//! whatever was killed when (docs/mirror.md).

use super::{Event, MirrorOptions, Summary, check_rename, dest_name};
use crate::client::Backend;
use crate::client::kafka::{Kafka, KafkaSettings};
use crate::client::local::Local;
use crate::cluster::Cluster;
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

/// Copy `o.topics` of the cluster to `root` until done (or, following, until stopped).
pub fn from_kafka(
    kafka: &KafkaSettings,
    root: &Cluster,
    o: &MirrorOptions,
    on: &mut dyn FnMut(Event<'_>),
) -> Result<Summary> {
    check_rename(&o.rename)?;
    crate::names::topic(&o.name.replace('.', "-"))
        .map_err(|e| Error::Usage(format!("--name {:?}: {e}", o.name)))?;
    super::retrying(
        o,
        on,
        &mut |summary, on| session(kafka, root, o, summary, on),
        &|| None,
    )
}

/// A source topic's destination on the root, with the producers that write it.
struct Dest {
    name: String,
    partitions: u32,
    /// One producer when the partition counts match (source partition p to p); else one per
    /// source partition, each with an id of its own, placing keys as the Java producer does.
    producers: Vec<Producer>,
    same: bool,
}

impl Dest {
    fn producer(&mut self, source_partition: u32) -> &mut Producer {
        let i = if self.same {
            0
        } else {
            source_partition as usize
        };
        &mut self.producers[i]
    }
}

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
    let existing: Vec<String> = k.list_topics()?.into_iter().map(|t| t.name).collect();
    o.topics
        .check_patterns(&existing.iter().map(String::as_str).collect::<Vec<_>>())?;
    let names = o.topics.resolve(existing.iter().map(String::as_str));
    let mut dests = BTreeMap::new();
    let mut start: BTreeMap<(String, u32), u64> = BTreeMap::new();
    for t in &names {
        let (d, positions) = prepare(&k, &local, o, t, summary, on)?;
        for (&p, &next) in &positions {
            start.insert((t.clone(), p), next);
        }
        summary.positions.insert(t.clone(), positions);
        dests.insert(t.clone(), d);
    }
    let opts = super::resuming(o);
    let mut source = k.consumer_at(&o.topics, &opts, &|t, p| {
        start.get(&(t.to_string(), p)).copied()
    })?;
    for m in source.warnings() {
        tracing::warn!("{m}");
    }
    let mut synced = Instant::now();
    let mut unsynced = false;
    let result = (|| -> Result<()> {
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
                    for p in &mut d.producers {
                        p.flush()?;
                        p.sync()?;
                    }
                }
                synced = Instant::now();
                unsynced = false;
                summary.transactions += 1;
                on(Event::Committed { summary, behind: 0 });
            }
            if stop_requested() {
                return Ok(());
            }
            if idle {
                if source.finished() {
                    return Ok(());
                }
                source.wait(IDLE);
            }
        }
    })();
    // Whatever ended the session, what was sent is written and fsynced (a record the root
    // holds is never copied twice, so this is safe even after an error).
    let closed: Result<()> = dests
        .values_mut()
        .flat_map(|d| d.producers.iter_mut())
        .try_for_each(|p| p.close());
    result.and(closed)
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
    let same = partitions == src_partitions;
    let open = |id: String| -> Result<Producer> {
        let mut po = ProducerOptions::new(false);
        po.id = Some(id);
        po.id_fixed_partitions = false;
        Ok(Producer::open(&local.cluster, &name, po)?.0)
    };
    let id = format!("mirror.{}", o.name);
    let mut producers = Vec::new();
    let mut positions = BTreeMap::new();
    if same {
        let mut p = open(id)?;
        for s in 0..src_partitions {
            if let Some(last) = p.written_up_to(s)? {
                positions.insert(s, last + 1);
            }
        }
        producers.push(p);
    } else {
        for s in 0..src_partitions {
            let mut p = open(format!("{id}.{s}"))?;
            let mut last = None;
            for d in 0..partitions {
                last = last.max(p.written_up_to(d)?);
            }
            if let Some(l) = last {
                positions.insert(s, l + 1);
            }
            producers.push(p);
        }
    }
    let t = summary.topics.entry(source.to_string()).or_default();
    t.to = name.clone();
    t.partitions = src_partitions;
    t.created |= created;
    Ok((
        Dest {
            name,
            partitions,
            producers,
            same,
        },
        positions,
    ))
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
        let p = if d.same {
            r.partition
        } else {
            match r.key {
                Some(k) => crate::partitioner::partition_for_key(k, d.partitions),
                None => r.partition % d.partitions,
            }
        };
        self.headers.clear();
        self.headers.extend(r.headers.iter().map(|(k, v)| Header {
            key: k.to_string(),
            value: v.map(<[u8]>::to_vec),
        }));
        let name = d.name.clone();
        let producer = d.producer(r.partition);
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
        let at = self
            .summary
            .positions
            .entry(r.topic.to_string())
            .or_default()
            .entry(r.partition)
            .or_default();
        *at = (*at).max(r.offset + 1);
        if producer.deduplicated == before {
            self.summary.records += 1;
            if let Some(t) = self.summary.topics.get_mut(r.topic) {
                t.records += 1;
            }
        }
        Ok(())
    }
}
