//! `chute produce`: input → parser → producer. Appends under partition locks; fsyncs at least
//! every second and before exiting 0.

use super::Target;
use crate::cli::ProduceArgs;
use chute::error::{Error, IoContext, Result};
use chute::input::derive::{Derive, Source};
use chute::input::{self, InputOptions, OnError};
use chute::produce::{ProducerOptions, RecordProducer};
use chute::record::RecordRef;
use std::io::Read;
use std::sync::mpsc;
use std::time::{Duration, Instant};

const CHUNK: usize = 256 * 1024;

enum Msg {
    Data(Vec<u8>),
    Error(Error),
    /// A signal asked us to stop: write what was read, fsync, exit 0.
    Stop,
    /// The input ended. (Said explicitly: the stop wake-up keeps a sender alive, so the
    /// channel itself never reports the reader gone.)
    End,
}

/// Read input on its own thread so the main loop can wait with a deadline (linger, the
/// one-second fsync) even while the input is quiet. Buffers come back through `pool`, so memory
/// stays flat: at most a handful of chunks exist at any time.
fn spawn_reader(
    mut src: Box<dyn Read + Send>,
    what: String,
) -> (mpsc::Receiver<Msg>, mpsc::SyncSender<Vec<u8>>) {
    let (tx, rx) = mpsc::sync_channel::<Msg>(4);
    let (pool_tx, pool_rx) = mpsc::sync_channel::<Vec<u8>>(8);
    let wake = tx.clone();
    chute::signals::on_stop(move || {
        let _ = wake.try_send(Msg::Stop);
    });
    std::thread::spawn(move || {
        loop {
            // Stopping: read no more (what was read already is in the channel).
            if chute::signals::stop_requested() {
                return;
            }
            let mut buf = pool_rx
                .try_recv()
                .unwrap_or_else(|_| Vec::with_capacity(CHUNK));
            buf.resize(CHUNK, 0);
            let n = loop {
                match src.read(&mut buf) {
                    Ok(n) => break n,
                    Err(e) if e.kind() == std::io::ErrorKind::Interrupted => continue,
                    Err(e) => {
                        let _ = tx.send(Msg::Error(Error::stream(what.clone(), e)));
                        return;
                    }
                }
            };
            if n == 0 {
                let _ = tx.send(Msg::End);
                return;
            }
            buf.truncate(n);
            if tx.send(Msg::Data(buf)).is_err() {
                return;
            }
        }
    });
    (rx, pool_tx)
}

/// One parsed record to the producer, its key and partition taken from its value first when
/// asked (`--key-field`, `--partition-regex`, ...).
fn send(producer: &mut dyn RecordProducer, derive: &Derive, r: RecordRef<'_>) -> Result<()> {
    if derive.is_empty() {
        return producer.send(r);
    }
    let mut key = Vec::new();
    producer.send(derive.apply(r, &mut key)?)
}

pub fn run(target: &Target, a: ProduceArgs) -> Result<i32> {
    let headers = a
        .header
        .iter()
        .map(|h| input::parse_header_arg(h))
        .collect::<Result<Vec<_>>>()?;
    // None: adaptive (write when no more input is ready).
    let linger = a.linger;
    let src: Box<dyn Read + Send> = match &a.file {
        Some(f) => Box::new(std::fs::File::open(f).at(f)?),
        None => Box::new(std::io::stdin()),
    };
    let what = a
        .file
        .as_ref()
        .map_or("stdin".to_string(), |f| f.display().to_string());
    let mut parser = input::parser(InputOptions {
        format: a.format,
        delimiter: a.delimiter.bytes(),
        key_separator: a.key_delimiter.map(|k| k.0),
        key_optional: a.key_optional,
        headers,
        csv_header: a.csv_header,
        skip_bad: a.on_error != OnError::Stop,
    });
    let derive = Derive {
        key: match (&a.key_field, &a.key_regex) {
            (Some(f), _) => Some(Source::field(f)?),
            (_, Some(r)) => Some(Source::regex(r)?),
            _ => None,
        },
        partition: match (&a.partition_field, &a.partition_regex) {
            (Some(f), _) => Some(Source::field(f)?),
            (_, Some(r)) => Some(Source::regex(r)?),
            _ => None,
        },
        key_optional: a.key_optional,
    };
    if let Some(l) = a.compression_level {
        match a.compression.levels() {
            Some(r) if r.contains(&l) => {}
            Some(r) => {
                return Err(Error::Usage(format!(
                    "--compression-level {l}: {} takes {} to {}",
                    a.compression,
                    r.start(),
                    r.end()
                )));
            }
            None => {
                return Err(Error::Usage(format!(
                    "--compression-level: {} has no levels",
                    a.compression
                )));
            }
        }
    }
    let (mut producer, created) = target.backend()?.producer(
        &a.topic,
        ProducerOptions {
            partition: a.partition,
            acks: a.acks,
            batch_size: usize::try_from(a.batch_size).unwrap_or(usize::MAX),
            lock_timeout: a.timeout,
            truncate_oversized: a.on_error == OnError::Truncate,
            create: a.create,
            compression: a.compression,
            compression_level: a.compression_level,
            partitioner: a.partitioner,
            partitioner_exec: a.partitioner_exec.clone(),
            partitioner_timeout: a.partitioner_timeout,
            batch_records: a.batch_records,
            id: a.id.clone(),
            id_fixed_partitions: true,
            linger,
        },
    )?;
    if created {
        super::note(format_args!(
            "created topic {} (1 partition, replication factor 1)",
            a.topic
        ));
    }
    chute::signals::install()?;
    let (rx, pool) = spawn_reader(src, what);
    let mut pending_since: Option<Instant> = None;
    let result = (|| -> Result<()> {
        loop {
            let now = Instant::now();
            let mut deadline = producer.sync_deadline();
            if let (Some(p), Some(l)) = (pending_since, linger) {
                deadline = deadline.min(p + l);
            }
            let msg = rx.recv_timeout(deadline.saturating_duration_since(now));
            match msg {
                Ok(Msg::Data(chunk)) => {
                    producer.tick();
                    parser.feed(&chunk, &mut |r| send(producer.as_mut(), &derive, r))?;
                    let _ = pool.try_send(chunk);
                    if producer.has_pending() {
                        pending_since.get_or_insert_with(Instant::now);
                    }
                    // Adaptive linger: batching helps only while input arrives faster than it is
                    // written. More input ready: take it into this batch. None: write now.
                    if linger.is_none() {
                        let mut ended = false;
                        while !chute::signals::stop_requested() {
                            match rx.try_recv() {
                                Ok(Msg::Data(chunk)) => {
                                    producer.tick();
                                    parser.feed(&chunk, &mut |r| {
                                        send(producer.as_mut(), &derive, r)
                                    })?;
                                    let _ = pool.try_send(chunk);
                                    producer.sync_if_due()?;
                                }
                                Ok(Msg::Error(e)) => return Err(e),
                                Ok(Msg::End) => {
                                    ended = true;
                                    break;
                                }
                                Ok(Msg::Stop) | Err(_) => break,
                            }
                        }
                        if ended {
                            break;
                        }
                        if producer.has_pending() && !chute::signals::stop_requested() {
                            producer.flush()?;
                        }
                        pending_since = None;
                    }
                }
                Ok(Msg::Error(e)) => return Err(e),
                // Only a wake-up: the flag below decides.
                Ok(Msg::Stop) => {}
                Ok(Msg::End) | Err(mpsc::RecvTimeoutError::Disconnected) => break,
                Err(mpsc::RecvTimeoutError::Timeout) => {}
            }
            if chute::signals::stop_requested() {
                // Everything the reader had already read is queued, or about to be (it reads
                // nothing new once stopping): take it, then end as at the end of the input.
                while let Ok(m) = rx.recv_timeout(Duration::from_millis(20)) {
                    match m {
                        Msg::Data(chunk) => {
                            parser.feed(&chunk, &mut |r| send(producer.as_mut(), &derive, r))?;
                        }
                        Msg::Error(e) => return Err(e),
                        Msg::Stop => {}
                        Msg::End => break,
                    }
                }
                break;
            }
            if let (Some(p), Some(l)) = (pending_since, linger)
                && (p.elapsed() >= l || l == Duration::ZERO)
            {
                producer.flush()?;
                pending_since = None;
            }
            producer.sync_if_due()?;
        }
        parser.finish(&mut |r| send(producer.as_mut(), &derive, r))
    })();
    // Everything before a bad line is kept and made durable; nothing after it was sent.
    let closed = producer.close();
    if parser.skipped() > 0 || producer.truncated() > 0 {
        eprintln!(
            "chute: --on-error {}: {} record(s) skipped, {} truncated",
            if a.on_error == OnError::Skip {
                "skip"
            } else {
                "truncate"
            },
            parser.skipped(),
            producer.truncated()
        );
    }
    if let Some(id) = &a.id
        && producer.deduplicated() > 0
    {
        super::note(format_args!(
            "--id {id}: {} record(s) already written by an earlier run, skipped",
            producer.deduplicated()
        ));
    }
    result?;
    closed?;
    Ok(0)
}
