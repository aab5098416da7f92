//! `chute stream`: a consumer group whose `--exec` handler is a transform. Each batch's output
//! (the handler's stdout, parsed as records) and the batch's input position become visible
//! together or not at all, whatever is killed when. docs/streams.md has the protocol and every
//! crash window; in short, for a batch `first..=last` of input partition `T-p`:
//!
//! 1. the handler's stdout goes to the staging file `streams/T-p.out` in the group's directory;
//!    exit 0 and output that parses, or nothing of the batch counts;
//! 2. the staging file is fsynced, then the intent `streams/T-p.intent` is written (atomically)
//!    naming the batch, the staging file's length and CRC: **the commit point**;
//! 3. the output is produced to the output topic by a retry-safe producer whose id belongs to
//!    the input partition and whose sequence numbers derive from the batch (`last << 24` plus
//!    the record's index), so producing it again skips what the log holds (`produce --id`);
//! 4. the input position `last + 1` is committed; the intent and the staging file go.
//!
//! Whoever takes `T-p` next (this member again, or another after a rebalance) first finishes
//! an intent it finds (steps 3-4 again: idempotent), and drops a staging file without one.

use crate::cluster::Cluster;
use crate::error::{Error, IoContext, Result};
use crate::group::Group;
use crate::group::committer::{Committer, Slot};
use crate::group::deliver::BatchOutput;
use crate::input::{InputOptions, InputParser};
use crate::produce::{Producer, ProducerOptions};
use crate::versioned::{Kind, read_versioned, write_versioned};
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;
use std::io::Read;
use std::path::PathBuf;

/// Output records of one batch are numbered below this (the sequence is `last << 24 | index`).
const MAX_OUTPUTS: u64 = 1 << 24;

const INTENT: Kind = Kind {
    format: "chute-stream-intent",
    version: 1,
    what: "stream commit intent",
    on_other_version: "a newer chute is in this group: upgrade",
};

/// How the output of a stream is written.
pub struct StreamOptions {
    /// The output topic.
    pub to: String,
    /// How the handler's stdout is parsed into records.
    pub parse: InputOptions,
    pub acks: crate::produce::Acks,
    pub compression: crate::log::codec::Codec,
    pub lock_timeout: std::time::Duration,
}

impl StreamOptions {
    /// The output topic's producer for input partition id `id`.
    fn producer(&self, id: String) -> ProducerOptions {
        let mut o = ProducerOptions::new(false);
        o.acks = self.acks;
        o.compression = self.compression;
        o.lock_timeout = self.lock_timeout;
        o.id = Some(id);
        o.id_fixed_partitions = false;
        o
    }
}

/// The durable decision that a batch's output and position are to be made visible.
#[derive(Debug, Clone, Serialize, Deserialize)]
struct Intent {
    topic: String,
    /// The input topic's incarnation: an intent of a deleted topic's namesake commits nothing.
    topic_id: String,
    partition: u32,
    first: u64,
    last: u64,
    to: String,
    producer: String,
    base_sequence: u64,
    records: u64,
    output_len: u64,
    output_crc: u32,
}

pub struct StreamOutput {
    cluster: Cluster,
    group: Group,
    opts: StreamOptions,
    dir: PathBuf,
    /// The output producers of input partitions taken; opened again at each take (another
    /// member may have written with its id since), and a few at most (each holds a writer per
    /// output partition).
    producers: BTreeMap<ProducerKey, Producer>,
    /// The staging file of the batch whose handler runs.
    current: Option<PathBuf>,
}

/// Which producer: an input partition's (its incarnation in the id) into an output topic. The
/// id alone is not enough to forget a partition's producers when it is taken again.
#[derive(PartialEq, Eq, PartialOrd, Ord)]
struct ProducerKey {
    topic: String,
    partition: u32,
    producer: String,
    to: String,
}

impl ProducerKey {
    fn of(it: &Intent) -> ProducerKey {
        ProducerKey {
            topic: it.topic.clone(),
            partition: it.partition,
            producer: it.producer.clone(),
            to: it.to.clone(),
        }
    }
}

impl StreamOutput {
    pub fn new(cluster: &Cluster, group: &Group, opts: StreamOptions) -> Result<StreamOutput> {
        crate::names::topic(&opts.to)?;
        let dir = group.dir.join("streams");
        Ok(StreamOutput {
            cluster: cluster.clone(),
            group: group.clone(),
            opts,
            dir,
            producers: BTreeMap::new(),
            current: None,
        })
    }

    fn staging(&self, topic: &str, p: u32) -> PathBuf {
        self.dir.join(format!("{topic}-{p}.out"))
    }

    fn intent_path(&self, topic: &str, p: u32) -> PathBuf {
        self.dir.join(format!("{topic}-{p}.intent"))
    }

    /// The retry-safe producer id of input partition `topic`-`p` (incarnation `topic_id`) in
    /// this group: a digest, so that no two (group, topic) pairs share one however their names
    /// split at dots, and a topic created again under the same name starts afresh.
    fn producer_id(&self, topic: &str, topic_id: &str, p: u32) -> String {
        // FNV-1a, 64 bits: stable across releases (the id is stored in the log).
        let mut h: u64 = 0xcbf2_9ce4_8422_2325;
        for b in [
            self.group.name.as_bytes(),
            topic.as_bytes(),
            topic_id.as_bytes(),
        ]
        .join(&0u8)
        {
            h ^= b as u64;
            h = h.wrapping_mul(0x0000_0100_0000_01b3);
        }
        format!("stream.{h:016x}.{p}")
    }

    /// The output producer of `it`'s batch, out of the cache (put it back after).
    fn take_producer(&mut self, it: &Intent) -> Result<Producer> {
        if let Some(prod) = self.producers.remove(&ProducerKey::of(it)) {
            return Ok(prod);
        }
        let o = self.opts.producer(it.producer.clone());
        Producer::open(&self.cluster, &it.to, o).map(|(prod, _)| prod)
    }

    fn put_producer(&mut self, it: &Intent, prod: Producer) {
        // Only the current output's, and a few: a member of many input partitions would hold a
        // writer per output partition for each.
        if it.to != self.opts.to {
            return;
        }
        if self.producers.len() >= 8 {
            self.producers.clear();
        }
        self.producers.insert(ProducerKey::of(it), prod);
    }

    /// Parse the staged output, calling `each` per record; the record count. Errors name the
    /// batch and the output line.
    fn parse(
        &self,
        it: &Intent,
        each: &mut dyn FnMut(crate::record::RecordRef<'_>) -> Result<()>,
    ) -> Result<u64> {
        let path = self.staging(&it.topic, it.partition);
        let mut f = crate::fsutil::open_read(&path)?;
        let mut parser: Box<dyn InputParser> = crate::input::parser(self.opts.parse.clone());
        let mut n = 0u64;
        let mut buf = vec![0u8; 256 << 10];
        let what = |e: Error| match e {
            Error::BadInput(m) => Error::BadInput(format!(
                "the output of --exec for {}-{} offsets {} to {}: {m}",
                it.topic, it.partition, it.first, it.last
            )),
            e => e,
        };
        let mut step = |r: crate::record::RecordRef<'_>| {
            n += 1;
            each(r)
        };
        loop {
            let k = f.read(&mut buf).at(&path)?;
            if k == 0 {
                break;
            }
            parser.feed(&buf[..k], &mut step).map_err(what)?;
        }
        parser.finish(&mut step).map_err(what)?;
        Ok(n)
    }

    /// Steps 3 and 4 of the protocol for a recorded intent: produce the output (what the log
    /// holds is skipped), make it durable (and replicated under `--acks all`), commit the
    /// position, forget the intent.
    /// `check`: the staging file was written by an earlier process (recovery): compare it with
    /// the intent first, so a damaged one is found before anything is sent.
    fn publish(
        &mut self,
        it: &Intent,
        check: bool,
        commit: &mut dyn FnMut() -> Result<()>,
    ) -> Result<()> {
        let staging = self.staging(&it.topic, it.partition);
        let (len, crc) = if check {
            checksum(&staging)?
        } else {
            (it.output_len, it.output_crc)
        };
        if (len, crc) != (it.output_len, it.output_crc) {
            return Err(Error::Corrupt {
                partition: format!("{}-{}", it.topic, it.partition),
                offset: it.first,
                detail: format!(
                    "stream output {} is {len} bytes with CRC {crc:#010x}; its intent says {} bytes, {:#010x}",
                    staging.display(),
                    it.output_len,
                    it.output_crc
                ),
            });
        }
        let mut prod = self.take_producer(it)?;
        prod.set_next_sequence(it.base_sequence);
        prod.tick();
        let sent = self.parse(it, &mut |r| prod.send(r));
        let done = sent.and_then(|_| {
            prod.flush()?;
            prod.sync()
        });
        if done.is_ok() {
            self.put_producer(it, prod);
        }
        done?;
        crate::crash_point!("stream-after-publish");
        commit()?;
        crate::crash_point!("stream-after-commit");
        remove_if_there(&self.intent_path(&it.topic, it.partition))?;
        remove_if_there(&staging)?;
        // Gone for good before anything after it: an intent back after a power loss would be
        // published again (writing nothing) and must not move the position back (`recover`).
        crate::fsutil::sync_dir(&self.dir)
    }
}

impl BatchOutput for StreamOutput {
    fn stdout(&mut self, topic: &str, p: u32) -> Result<std::fs::File> {
        crate::fsutil::create_own_dirs(self.group.root(), &self.dir)?;
        let path = self.staging(topic, p);
        remove_if_there(&path)?;
        let f = crate::fsutil::create_new(&path)?;
        self.current = Some(path);
        Ok(f)
    }

    fn commit(
        &mut self,
        committer: &mut Committer,
        slot: Slot,
        first: u64,
        last: u64,
    ) -> Result<()> {
        let topic = committer.topic(slot).to_string();
        let topic_id = committer.topic_id(slot).to_string();
        let p = slot.1;
        let staging = self.staging(&topic, p);
        // Step 2: the output durable, then the intent.
        let f = crate::fsutil::open_read(&staging)?;
        crate::fsutil::sync_data(&f, &staging)?;
        drop(f);
        let (output_len, output_crc) = checksum(&staging)?;
        let mut it = Intent {
            topic: topic.clone(),
            topic_id: topic_id.clone(),
            partition: p,
            first,
            last,
            to: self.opts.to.clone(),
            producer: self.producer_id(&topic, &topic_id, p),
            base_sequence: last.checked_mul(MAX_OUTPUTS).ok_or_else(|| {
                Error::Other(format!(
                    "offset {last} of {topic}-{p} is beyond what chute stream numbers"
                ))
            })?,
            records: 0,
            output_len,
            output_crc,
        };
        // Output that does not parse, names a partition the output topic lacks, or holds a
        // record too large for it is the handler's failure: nothing of the batch counts (once
        // the intent is written, the output must go through).
        let prod = self.take_producer(&it)?;
        let records = self.parse(&it, &mut |r| prod.admits(&r));
        self.put_producer(&it, prod);
        let records = records?;
        if records >= MAX_OUTPUTS {
            return Err(Error::BadInput(format!(
                "the output of --exec for {topic}-{p} offsets {first} to {last} has {records} records; at most {} per batch (lower --exec-batch)",
                MAX_OUTPUTS - 1
            )));
        }
        it.records = records;
        crate::fsutil::atomic_write(
            &self.intent_path(&topic, p),
            &write_versioned(&it, &INTENT, false),
        )?;
        crate::crash_point!("stream-after-intent");
        self.publish(&it, false, &mut || {
            committer.accept(slot, last + 1);
            committer.commit(true)
        })
    }

    fn discard(&mut self) {
        // No intent refers to it (one is written only after the handler succeeded): best
        // effort, as the next batch's `stdout` or the partition's next taker removes it too.
        if let Some(p) = self.current.take() {
            let _ = std::fs::remove_file(p);
        }
    }

    fn recover(
        &mut self,
        committer: &mut Committer,
        topic: &str,
        topic_id: &str,
        p: u32,
    ) -> Result<()> {
        // Another member may have written with this partition's id since we last did.
        self.producers
            .retain(|k, _| !(k.topic == topic && k.partition == p));
        let path = self.intent_path(topic, p);
        let bytes = match crate::fsutil::read_small(&path, 1 << 20) {
            Ok(b) => b,
            Err(Error::Io { source, .. }) if source.kind() == std::io::ErrorKind::NotFound => {
                // A staging file without an intent: a batch that never committed.
                return remove_if_there(&self.staging(topic, p));
            }
            Err(e) => return Err(e),
        };
        let it: Intent = read_versioned(&path, &bytes, &INTENT)?;
        // The position moves only forward, and only on the incarnation the batch was read
        // from (the topic may have been deleted and created again since): the output is
        // published either way, as its batch committed.
        let committed = self.group.committed(topic, p)?;
        let behind = committed.is_none_or(|c| c.topic_id != topic_id || c.offset <= it.last);
        let commit = it.topic_id == topic_id && behind;
        let store = &committer.store;
        let member = committer.member.clone();
        self.publish(&it, true, &mut || {
            if commit {
                store.commit(topic, topic_id, p, it.last + 1, Some(&member))
            } else {
                Ok(())
            }
        })
    }
}

fn remove_if_there(path: &std::path::Path) -> Result<()> {
    match std::fs::remove_file(path) {
        Ok(()) => Ok(()),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(()),
        Err(e) => Err(Error::io(path, e)),
    }
}

/// Length and CRC-32 of a file, read in pieces.
fn checksum(path: &std::path::Path) -> Result<(u64, u32)> {
    let mut f = crate::fsutil::open_read(path)?;
    let mut h = crc32fast::Hasher::new();
    let mut buf = vec![0u8; 256 << 10];
    let mut len = 0u64;
    loop {
        let k = f.read(&mut buf).at(path)?;
        if k == 0 {
            return Ok((len, h.finalize()));
        }
        h.update(&buf[..k]);
        len += k as u64;
    }
}
