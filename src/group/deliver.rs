//! Where a group member's records go (stdout or an `--exec` command) and what may be committed:
//! only offsets of records fully written to stdout or accepted by the command (exit 0).

pub use super::committer::Committer;
use super::committer::Slot;
pub use super::handler::OpenProducer;
use super::handler::{Handled, OwnedRecord, dead_letter, run_handler};
use crate::error::{Error, Result};
use crate::output::OutputFormat;
use crate::output::stdout::Stdout;
use crate::record::{ConsumedRecord, RecordSink};
use std::collections::BTreeMap;

use std::time::{Duration, Instant};

enum Sink {
    Stdout {
        out: Stdout,
        /// (end of the record counted from the first byte ever written, partition, next
        /// offset) in write order, for records not yet known to be taken by the reader.
        marks: std::collections::VecDeque<(u64, Slot, u64)>,
    },
    /// Records are gathered per batch (one partition of one topic, at most `batch` records and
    /// `EXEC_BATCH_BYTES`), then the handler is started with the batch's coordinates in its
    /// environment and the records on its stdin.
    Exec {
        cmd: String,
        batch: usize,
        env: Vec<(String, String)>,
        timeout: Option<Duration>,
        buf: Vec<u8>,
        n: usize,
        partition: Slot,
        first: u64,
        last: u64,
        pending: BTreeMap<Slot, u64>,
        scratch: Vec<u8>,
        on_failure: OnFailure,
        /// Opens the dead-letter topic's producer.
        open_producer: OpenProducer,
        /// Per record of the batch: where it ends in `buf`, its offset, and (for a dead-letter
        /// topic) the record itself.
        held: Vec<Held>,
        /// `chute stream`: the handler's stdout is the batch's output, committed with it.
        output: Option<Box<dyn BatchOutput>>,
    },
}

/// `chute stream`: what a handler writes to stdout is its batch's output, made visible
/// together with the batch's input position (src/stream, docs/streams.md).
pub trait BatchOutput {
    /// A fresh file for the handler's stdout, for a batch of `topic`-`p`.
    fn stdout(&mut self, topic: &str, p: u32) -> Result<std::fs::File>;
    /// The handler took records `first..=last` of `slot` (exit 0): make its output and the
    /// input position `last + 1` visible together, committing that position through
    /// `committer` (forced, now) as the protocol's last step.
    fn commit(
        &mut self,
        committer: &mut Committer,
        slot: Slot,
        first: u64,
        last: u64,
    ) -> Result<()>;
    /// The handler failed: its output goes.
    fn discard(&mut self);
    /// A partition was just taken, its committed offset not read yet: finish what a member
    /// that died mid-commit left for it.
    fn recover(
        &mut self,
        committer: &mut Committer,
        topic: &str,
        topic_id: &str,
        p: u32,
    ) -> Result<()>;
}

/// What a failed `--exec` batch leads to.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum OnFailure {
    /// Stop; nothing from the batch on is committed (the default).
    Stop,
    /// Find the record the handler fails on (bisecting the batch), skip it, go on.
    Skip,
    /// As `Skip`, and produce the record to this topic (in the consumed topic's cluster) with
    /// headers saying why.
    DeadLetter { topic: String },
}

/// `--on-failure stop|skip|dead-letter=TOPIC`; clap's value parser.
impl std::str::FromStr for OnFailure {
    type Err = String;

    fn from_str(s: &str) -> std::result::Result<OnFailure, String> {
        match s {
            "stop" => Ok(OnFailure::Stop),
            "skip" => Ok(OnFailure::Skip),
            s => match s.strip_prefix("dead-letter=") {
                Some(t) => {
                    crate::names::topic(t).map_err(|e| e.to_string())?;
                    Ok(OnFailure::DeadLetter {
                        topic: t.to_string(),
                    })
                }
                None => Err("expected stop, skip or dead-letter=TOPIC".into()),
            },
        }
    }
}

pub struct Held {
    end: usize,
    offset: u64,
    record: Option<OwnedRecord>,
}

/// Most bytes of records held for one `--exec` batch: memory stays bounded whatever
/// `--exec-batch` says; a batch that would grow past it ends early.
const EXEC_BATCH_BYTES: usize = 16 << 20;

impl RecordSink for Delivery {
    fn record(&mut self, r: &ConsumedRecord<'_>) -> Result<()> {
        Delivery::record(self, r)
    }

    fn reached(&mut self, topic: &str, p: u32, next: u64) -> Result<()> {
        let slot = self.committer.slot(topic, p);
        self.mark(slot, next);
        Ok(())
    }
}

pub struct Delivery {
    format: OutputFormat,
    sink: Sink,
    pub committer: Committer,
    pub records: u64,
}

impl Delivery {
    pub fn stdout(format: OutputFormat, committer: Committer) -> Result<Delivery> {
        Ok(Delivery {
            format,
            sink: Sink::Stdout {
                out: Stdout::open()?,
                marks: Default::default(),
            },
            committer,
            records: 0,
        })
    }

    pub fn exec(
        format: OutputFormat,
        committer: Committer,
        cmd: &str,
        batch: usize,
        timeout: Option<Duration>,
        on_failure: OnFailure,
        open_producer: OpenProducer,
    ) -> Delivery {
        let env = vec![(
            "CHUTE_GROUP".to_string(),
            committer.store.group_name().to_string(),
        )];
        Delivery {
            format,
            sink: Sink::Exec {
                cmd: cmd.into(),
                batch: batch.max(1),
                env,
                timeout,
                buf: Vec::new(),
                n: 0,
                partition: (0, 0),
                first: 0,
                last: 0,
                pending: BTreeMap::new(),
                scratch: Vec::new(),
                on_failure,
                open_producer,
                held: Vec::new(),
                output: None,
            },
            committer,
            records: 0,
        }
    }

    /// `chute stream`: each batch's handler output goes to `output` (an `exec` delivery).
    pub fn with_output(mut self, o: Box<dyn BatchOutput>) -> Delivery {
        if let Sink::Exec { output, .. } = &mut self.sink {
            *output = Some(o);
        }
        self
    }

    /// A partition was just taken (before its committed offset is read): let the batch output
    /// finish what a member that died mid-commit left.
    pub fn recover(&mut self, topic: &str, topic_id: &str, p: u32) -> Result<()> {
        match &mut self.sink {
            Sink::Exec {
                output: Some(o), ..
            } => o.recover(&mut self.committer, topic, topic_id, p),
            _ => Ok(()),
        }
    }

    /// Deliver one record (buffered for stdout; streamed into the command for --exec).
    pub fn record(&mut self, r: &ConsumedRecord<'_>) -> Result<()> {
        self.records += 1;
        let slot = self.committer.slot(r.topic, r.partition);
        match &mut self.sink {
            Sink::Stdout { out, marks } => {
                let (end, flush) = out.push(&self.format, r);
                marks.push_back((end, slot, r.offset + 1));
                if flush {
                    self.flush_stdout()?;
                }
                Ok(())
            }
            Sink::Exec {
                scratch,
                on_failure,
                ..
            } => {
                scratch.clear();
                self.format.write(r, scratch);
                let keep =
                    matches!(on_failure, OnFailure::DeadLetter { .. }).then(|| OwnedRecord {
                        key: r.key.map(<[u8]>::to_vec),
                        value: r.value.map(<[u8]>::to_vec),
                        timestamp: r.timestamp,
                        headers: r
                            .headers
                            .iter()
                            .map(|(k, v)| crate::record::Header {
                                key: k.to_string(),
                                value: v.map(<[u8]>::to_vec),
                            })
                            .collect(),
                    });
                self.exec_add(slot, r.offset, keep)
            }
        }
    }

    /// A partition's position moved past offsets without records (batch end, compaction).
    pub fn mark(&mut self, slot: Slot, next: u64) {
        match &mut self.sink {
            Sink::Stdout { out, marks } => marks.push_back((out.end(), slot, next)),
            Sink::Exec { pending, n, .. } => {
                if *n == 0 {
                    self.committer.accept(slot, next);
                } else {
                    let e = pending.entry(slot).or_insert(next);
                    *e = (*e).max(next);
                }
            }
        }
    }

    /// Make everything delivered so far final: flush stdout, or end the current --exec batch.
    /// Accepted positions are then committed when due (`force`: now).
    pub fn settle(&mut self, force: bool) -> Result<()> {
        let r = match self.sink {
            Sink::Stdout { .. } => self.flush_stdout().map(|()| {
                if force {
                    self.await_reader();
                }
            }),
            Sink::Exec { .. } => self.finish_batch(),
        };
        if let Err(e) = r {
            // A closed pipe or a failed batch: what was taken before it is still delivered.
            let _ = self.commit_accepted();
            return Err(e);
        }
        self.committer.commit(force)
    }

    /// After an error: commit only what was accepted before it.
    pub fn commit_accepted(&mut self) -> Result<()> {
        self.accept_taken();
        self.committer.commit(true)
    }

    /// Records count as delivered once the reader of stdout took their last byte: written
    /// into a pipe is not read (`| head -2` leaves most of the pipe buffer unread).
    fn accept_taken(&mut self) {
        let Sink::Stdout { out, marks } = &mut self.sink else {
            return;
        };
        let unread = if out.pipe {
            crate::signals::stdout_unread() as u64
        } else {
            0
        };
        let taken = out.written().saturating_sub(unread);
        while let Some(&(end, slot, next)) = marks.front() {
            if end > taken {
                break;
            }
            self.committer.accept(slot, next);
            marks.pop_front();
        }
    }

    /// Before a final commit: give a live reader a moment to take what is in the pipe, so
    /// that it is not delivered again next time (bounded: a reader that never reads gets it
    /// again, at least once).
    fn await_reader(&mut self) {
        let Sink::Stdout { out, .. } = &self.sink else {
            return;
        };
        if !out.pipe {
            return;
        }
        let deadline = Instant::now() + Duration::from_secs(1);
        while crate::signals::stdout_unread() > 0
            && !crate::signals::stdout_closed()
            && !stdout_reader_gone()
            && Instant::now() < deadline
        {
            std::thread::sleep(Duration::from_millis(2));
        }
        self.accept_taken();
    }

    fn flush_stdout(&mut self) -> Result<()> {
        let Sink::Stdout { out, .. } = &mut self.sink else {
            return Ok(());
        };
        let res = out.flush();
        self.accept_taken();
        res
    }

    /// Add the formatted record in `scratch` to the batch; a batch holds one partition of one
    /// topic only (a handler can de-duplicate by topic, partition and offset range).
    fn exec_add(&mut self, p: Slot, offset: u64, record: Option<OwnedRecord>) -> Result<()> {
        let Sink::Exec {
            n,
            partition,
            buf,
            scratch,
            ..
        } = &self.sink
        else {
            unreachable!()
        };
        if *n > 0 && (*partition != p || buf.len() + scratch.len() > EXEC_BATCH_BYTES) {
            self.finish_batch()?;
            self.committer.commit(true)?;
        }
        let Sink::Exec {
            n,
            partition,
            buf,
            scratch,
            first,
            last,
            pending,
            batch,
            held,
            ..
        } = &mut self.sink
        else {
            unreachable!()
        };
        if *n == 0 {
            *partition = p;
            *first = offset;
        }
        *last = offset;
        buf.extend_from_slice(scratch);
        held.push(Held {
            end: buf.len(),
            offset,
            record,
        });
        *n += 1;
        let e = pending.entry(p).or_insert(offset + 1);
        *e = (*e).max(offset + 1);
        if *n >= *batch {
            self.finish_batch()?;
            self.committer.commit(true)?;
        }
        Ok(())
    }

    /// Run the handler on the batch gathered so far; exit 0 accepts it. A failure stops, or
    /// (`--on-failure skip|dead-letter`) bisects the batch down to the records the handler
    /// fails on, commits around them, and sets them aside.
    fn finish_batch(&mut self) -> Result<()> {
        let Sink::Exec {
            buf,
            n,
            partition,
            pending,
            held,
            ..
        } = &mut self.sink
        else {
            return Ok(());
        };
        if *n == 0 {
            return Ok(());
        }
        let p = *partition;
        let buf = std::mem::take(buf);
        let held = std::mem::take(held);
        let marks = std::mem::take(pending);
        *n = 0;
        let r = self.handle_range(&buf, &held, p, 0, held.len());
        if let Sink::Exec { buf: b, .. } = &mut self.sink {
            // Keep the allocation for the next batch.
            *b = buf;
            b.clear();
        }
        r?;
        for (q, o) in marks {
            self.committer.accept(q, o);
        }
        Ok(())
    }

    /// Records `lo..hi` of the batch through the handler (see `finish_batch`).
    fn handle_range(
        &mut self,
        buf: &[u8],
        held: &[Held],
        slot: Slot,
        lo: usize,
        hi: usize,
    ) -> Result<()> {
        let Sink::Exec {
            cmd,
            env,
            timeout,
            on_failure,
            open_producer,
            ..
        } = &self.sink
        else {
            return Ok(());
        };
        let (cmd, on_failure, open_producer) =
            (cmd.clone(), on_failure.clone(), open_producer.clone());
        let start = if lo == 0 { 0 } else { held[lo - 1].end };
        let (first, last, count) = (held[lo].offset, held[hi - 1].offset, hi - lo);
        let topic = self.committer.topic(slot).to_string();
        let p = slot.1;
        let what = format!(
            "{topic}-{p} offsets {first} to {last} ({count} record{})",
            if count == 1 { "" } else { "s" }
        );
        let (env, timeout) = (env.clone(), *timeout);
        let stdout = match &mut self.sink {
            Sink::Exec {
                output: Some(o), ..
            } => Some(o.stdout(&topic, p)?),
            _ => None,
        };
        let outcome = run_handler(
            &cmd,
            &env,
            &[
                ("CHUTE_TOPIC", topic.clone()),
                ("CHUTE_PARTITION", p.to_string()),
                ("CHUTE_FIRST_OFFSET", first.to_string()),
                ("CHUTE_LAST_OFFSET", last.to_string()),
                ("CHUTE_RECORD_COUNT", count.to_string()),
            ],
            &buf[start..held[hi - 1].end],
            timeout,
            stdout,
        )?;
        let output = match &mut self.sink {
            Sink::Exec { output, .. } => output.as_mut(),
            _ => None,
        };
        let how = match (outcome, output) {
            (Handled::Ok, Some(o)) => {
                return o.commit(&mut self.committer, slot, first, last);
            }
            (Handled::Ok, None) => {
                self.committer.accept(slot, last + 1);
                return Ok(());
            }
            (failed, Some(o)) => {
                o.discard();
                failed
            }
            (failed, None) => failed,
        };
        let how = match how {
            Handled::Ok => unreachable!(),
            Handled::Failed(how) => how,
            Handled::TimedOut(d) => format!(
                "ran longer than --exec-timeout {} and was killed with its process group",
                humantime::format_duration(d)
            ),
        };
        let failed = || {
            Error::Temporary(format!(
                "--exec {cmd:?} failed ({how}) on {what}; they were not committed and will be delivered again"
            ))
        };
        if matches!(on_failure, OnFailure::Stop) || crate::signals::stop_requested() {
            return Err(failed());
        }
        if count > 1 {
            // Halves in order, committing each good part, so the position only moves forward.
            let mid = lo + count / 2;
            self.handle_range(buf, held, slot, lo, mid)?;
            self.committer.commit(true)?;
            self.handle_range(buf, held, slot, mid, hi)?;
            return self.committer.commit(true);
        }
        // One record the handler fails on: set it aside, then move past it.
        let h = &held[lo];
        match &on_failure {
            OnFailure::DeadLetter { topic: dlq } => {
                let rec = h.record.as_ref().expect("kept for the dead-letter topic");
                dead_letter(&open_producer, dlq, &topic, p, h.offset, &how, rec)?;
                eprintln!(
                    "chute: --on-failure: {topic}-{p} offset {}: the handler failed ({how}); record sent to {dlq:?}",
                    h.offset
                );
            }
            _ => eprintln!(
                "chute: --on-failure skip: {topic}-{p} offset {}: the handler failed ({how}); record skipped",
                h.offset
            ),
        }
        self.committer.accept(slot, h.offset + 1);
        self.committer.commit(true)
    }
}

/// Whether stdout's reader is gone (POLLERR on a pipe), checked without waiting.
fn stdout_reader_gone() -> bool {
    let mut fds = libc::pollfd {
        fd: 1,
        events: 0,
        revents: 0,
    };
    // SAFETY: one valid pollfd that outlives the call; poll(2) writes only `revents`.
    let rc = unsafe { libc::poll(&mut fds, 1, 0) };
    rc > 0 && fds.revents & (libc::POLLERR | libc::POLLHUP) != 0
}
