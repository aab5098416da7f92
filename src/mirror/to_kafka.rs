//! root -> Kafka: the session loop (module docs in `mod.rs`, protocol in docs/mirror.md).

use super::{Event, MirrorOptions, Summary, dest_name};
use crate::client::Backend;
use crate::client::kafka::KafkaSettings;
use crate::client::kafka::mirror::{MirrorWriter, Moved, Positions};
use crate::client::local::Local;
use crate::cluster::Cluster;
use crate::cluster::mirrors::Direction;
use crate::error::{Error, Result};
use crate::record::{ConsumedRecord, RecordSink};
use crate::signals::stop_requested;
use crate::topics::CreateOptions;
use std::collections::BTreeMap;
use std::time::Duration;

/// A following mirror with nothing to copy waits this long for file events before looking.
const IDLE: Duration = Duration::from_millis(200);

/// Copy `o.topics` of `root` to the cluster until done (or, following, until stopped),
/// starting a new session after each failure worth waiting out (exit 75's kind).
pub fn to_kafka(
    root: &Cluster,
    kafka: &KafkaSettings,
    o: &MirrorOptions,
    on: &mut dyn FnMut(Event<'_>),
) -> Result<Summary> {
    let local = Local {
        cluster: root.clone(),
    };
    let mut status =
        super::status::Reporter::new(root, &o.name, Direction::ToKafka, &kafka.bootstrap);
    // The summary's positions are those of the last commit: "how far behind" while the
    // cluster is away counts from them.
    super::retrying(
        o,
        &mut status,
        on,
        &mut |summary, on| session(root, kafka, o, summary, on),
        &|s| (!s.positions.is_empty()).then(|| behind_of(&local, &s.positions).0),
    )
}

/// A source topic's destination, as this session found or made it.
struct Dest {
    name: String,
    /// The source's topic id on the root, which the positions carry.
    id: String,
    partitions: u32,
    /// Source partitions' positions: where each resumes.
    positions: Positions,
    /// The source's partition count; records go to the same partition when the counts match.
    same: bool,
}

/// One session: take over, read the positions, copy until done, stopped or failed.
fn session(
    root: &Cluster,
    kafka: &KafkaSettings,
    o: &MirrorOptions,
    summary: &mut Summary,
    on: &mut dyn FnMut(Event<'_>),
) -> Result<()> {
    let mut w = MirrorWriter::open(kafka, &o.name)?;
    let local = Local {
        cluster: root.clone(),
    };
    let (_, names) = o.topics.resolve_in(root, true)?;
    let mut dests = BTreeMap::new();
    for t in &names {
        let d = prepare(&w, &local, o, t, summary, on)?;
        dests.insert(t.clone(), d);
    }
    for (t, d) in &dests {
        summary.positions.insert(t.clone(), d.positions.clone());
    }
    let start: BTreeMap<(String, u32), u64> = dests
        .iter()
        .flat_map(|(t, d)| d.positions.iter().map(move |(&p, &n)| ((t.clone(), p), n)))
        .collect();
    on(Event::Resumed { summary });
    let opts = super::resuming(o);
    let mut source = local.consumer_at(&o.topics, &opts, &|t, p| {
        start.get(&(t.to_string(), p)).copied()
    })?;
    tell(source.as_mut(), on);
    loop {
        let mut sink = Sink {
            w: &mut w,
            local: &local,
            o,
            dests: &mut dests,
            summary,
            on,
            moved: false,
        };
        let n = source.poll_at_most(&mut sink, o.batch_records);
        let moved_any = sink.moved;
        tell(source.as_mut(), on);
        let n = match n {
            Ok(n) => n,
            Err(e) => return Err(abandon(&mut w, e)),
        };
        // Every position goes into every commit, not only those that moved: the group is
        // never joined, so Kafka expires each committed offset offsets.retention.minutes
        // (7 days) after it was written, and a partition idle that long would be copied
        // again from its start.
        if moved_any {
            let moved: Vec<Moved<'_>> = dests
                .iter()
                .filter(|(_, d)| !d.positions.is_empty())
                .map(|(t, d)| Moved {
                    dest: &d.name,
                    partitions: d.partitions,
                    source: t,
                    source_id: &d.id,
                    positions: &d.positions,
                })
                .collect();
            if let Err(e) = w.commit(&moved) {
                return Err(abandon(&mut w, e));
            }
            summary.transactions += 1;
            for (t, d) in &dests {
                summary.positions.insert(t.clone(), d.positions.clone());
            }
            let (behind, ends) = behind_of(&local, &summary.positions);
            summary.ends = ends;
            on(Event::Committed { summary, behind });
        }
        if stop_requested() {
            return Ok(());
        }
        if n == 0 {
            if source.finished() {
                return Ok(());
            }
            source.wait(IDLE);
        }
    }
}

/// What the root's reader has to say, to the operator: above all that retention removed
/// records the mirror had not copied (a long outage), which the destination will never have.
fn tell(source: &mut dyn crate::consume::RecordConsumer, on: &mut dyn FnMut(Event<'_>)) {
    for m in source.warnings() {
        let why = if m.contains("below the log start") {
            ": retention deleted records before the mirror copied them"
        } else {
            ""
        };
        on(Event::Warning(&format!("{m}{why}")));
    }
}

/// A session ends with `e`: a transaction left open by an error that is not an outage is
/// aborted now (it would hold read_committed consumers of the destination back until the
/// cluster times it out); in an outage the next session's takeover aborts it.
fn abandon(w: &mut MirrorWriter, e: Error) -> Error {
    if e.exit_code() != crate::error::exit::TEMPFAIL {
        w.abort();
    }
    e
}

/// The destination of `source`: created on the cluster when missing (the source's partition
/// count and the configs Kafka has a name for), and the positions its metadata holds.
fn prepare(
    w: &MirrorWriter,
    local: &Local,
    o: &MirrorOptions,
    source: &str,
    summary: &mut Summary,
    on: &mut dyn FnMut(Event<'_>),
) -> Result<Dest> {
    let name = dest_name(&o.rename, source).to_string();
    let described = local.describe_topic(source)?;
    let src_partitions = described.partitions.len() as u32;
    let (partitions, created) = match w.partitions(&name)? {
        Some(n) => (n, false),
        None => {
            let config: Vec<String> = described
                .overrides
                .iter()
                .filter(|k| crate::client::kafka::has_kafka_name(k))
                .filter_map(|k| {
                    described.config.get(k).map(|v| match v {
                        serde_json::Value::String(s) => format!("{k}={s}"),
                        v => format!("{k}={v}"),
                    })
                })
                .collect();
            let tried = config.join(", ");
            w.kafka()
                .create_topic(
                    &name,
                    CreateOptions {
                        partitions: src_partitions,
                        replication_factor: o.replication_factor.unwrap_or(0),
                        config,
                        if_not_exists: true,
                    },
                )
                .map_err(|e| match e {
                    // A config Kafka refuses (segments smaller than it allows, say).
                    Error::Usage(m) if !tried.is_empty() => Error::Usage(format!(
                        "{m}, with the configs of {source} on this root ({tried}); create {name} on the cluster first to choose others"
                    )),
                    e => e,
                })?;
            on(Event::Created {
                source,
                dest: &name,
            });
            (w.await_partitions(&name)?, true)
        }
    };
    let id = local
        .cluster
        .metadata()?
        .topics
        .get(source)
        .map(|t| t.id.clone())
        .ok_or_else(|| Error::NotFound(format!("topic {source} does not exist on this root")))?;
    let (positions, earlier) = w.positions(&name, source, &id, partitions)?;
    if earlier {
        on(Event::Warning(&format!(
            "topic {source} was deleted and created again on this root since the mirror last copied it; copying the new topic from its start onto {name}"
        )));
    }
    if positions.is_empty() && !created && !earlier {
        super::check_unclaimed(o, w.kafka(), &name, source, "the cluster")?;
    }
    let t = summary.topics.entry(source.to_string()).or_default();
    t.to = name.clone();
    t.partitions = src_partitions;
    t.created |= created;
    Ok(Dest {
        name,
        id,
        partitions,
        positions,
        same: partitions == src_partitions,
    })
}

/// Records the root holds beyond the mirror's positions (a partition never mirrored counts
/// from its first offset), and each partition's end.
fn behind_of(
    local: &Local,
    known: &BTreeMap<String, Positions>,
) -> (u64, BTreeMap<String, Positions>) {
    let mut n = 0;
    let mut ends = BTreeMap::new();
    for (t, positions) in known {
        if let Ok(offs) = local.topic_offsets(t, None) {
            let e: &mut Positions = ends.entry(t.clone()).or_default();
            for p in offs {
                let at = positions.get(&p.partition).copied().unwrap_or(p.earliest);
                n += p.latest.saturating_sub(at.max(p.earliest));
                e.insert(p.partition, p.latest);
            }
        }
    }
    (n, ends)
}

struct Sink<'a> {
    w: &'a mut MirrorWriter,
    local: &'a Local,
    o: &'a MirrorOptions,
    dests: &'a mut BTreeMap<String, Dest>,
    summary: &'a mut Summary,
    on: &'a mut dyn FnMut(Event<'_>),
    /// A position moved in this transaction (a record, or offsets compaction removed).
    moved: bool,
}

impl Sink<'_> {
    /// The destination of `topic`, prepared on first sight (a topic a pattern matched after
    /// the session began).
    fn dest(&mut self, topic: &str) -> Result<&mut Dest> {
        if !self.dests.contains_key(topic) {
            let d = prepare(self.w, self.local, self.o, topic, self.summary, self.on)?;
            self.dests.insert(topic.to_string(), d);
        }
        Ok(self.dests.get_mut(topic).expect("inserted above"))
    }
}

impl RecordSink for Sink<'_> {
    fn record(&mut self, r: &ConsumedRecord<'_>) -> Result<()> {
        self.dest(r.topic)?;
        let d = self.dests.get_mut(r.topic).expect("prepared above");
        let p = if d.same {
            r.partition
        } else {
            match r.key {
                Some(k) => crate::partitioner::partition_for_key(k, d.partitions),
                None => r.partition % d.partitions,
            }
        };
        d.positions.insert(r.partition, r.offset + 1);
        self.moved = true;
        self.w.send(&d.name, p, r)?;
        self.summary.records += 1;
        if let Some(t) = self.summary.topics.get_mut(r.topic) {
            t.records += 1;
        }
        Ok(())
    }

    fn reached(&mut self, topic: &str, p: u32, next: u64) -> Result<()> {
        let d = self.dest(topic)?;
        if d.positions.insert(p, next) != Some(next) {
            self.moved = true;
        }
        Ok(())
    }
}
