//! Where a group member's records go (stdout or an `--exec` command) and what may be committed:
//! only offsets of records fully written to stdout or accepted by the command (exit 0).

use super::Group;
use crate::error::{Error, Result};
use crate::output::OutputFormat;
use crate::output::stdout::Stdout;
use crate::record::{ConsumedRecord, RecordSink};
use std::collections::BTreeMap;
use std::io::Write;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

/// Commits accepted positions of one topic, at most every `interval` unless forced.
pub struct Committer {
    pub group: Group,
    pub topic: String,
    pub topic_id: String,
    pub member: String,
    /// Next offset per partition whose records before it were all accepted.
    accepted: BTreeMap<u32, u64>,
    committed: BTreeMap<u32, u64>,
    last: Instant,
    pub interval: Duration,
}

impl Committer {
    pub fn new(
        group: Group,
        topic: &str,
        topic_id: &str,
        member: &str,
        interval: Duration,
    ) -> Self {
        Committer {
            group,
            topic: topic.into(),
            topic_id: topic_id.into(),
            member: member.into(),
            accepted: BTreeMap::new(),
            committed: BTreeMap::new(),
            last: Instant::now(),
            interval,
        }
    }

    /// The position we start a partition from counts as committed already.
    pub fn started(&mut self, p: u32, at: u64, committed: Option<u64>) {
        self.accepted.insert(p, at);
        if committed == Some(at) {
            self.committed.insert(p, at);
        } else {
            self.committed.remove(&p);
        }
    }

    fn accept(&mut self, p: u32, next: u64) {
        let e = self.accepted.entry(p).or_insert(next);
        *e = (*e).max(next);
    }

    /// True when something accepted is not committed yet.
    pub fn dirty(&self) -> bool {
        self.accepted
            .iter()
            .any(|(p, o)| self.committed.get(p) != Some(o))
    }

    /// Time until the next commit is due (None when nothing is pending).
    pub fn due_in(&self) -> Option<Duration> {
        self.dirty()
            .then(|| self.interval.saturating_sub(self.last.elapsed()))
    }

    /// Commit every partition whose accepted position moved, if forced or due.
    pub fn commit(&mut self, force: bool) -> Result<()> {
        if !force && self.last.elapsed() < self.interval {
            return Ok(());
        }
        let changed: Vec<(u32, u64)> = self
            .accepted
            .iter()
            .filter(|(p, o)| self.committed.get(p) != Some(o))
            .map(|(p, o)| (*p, *o))
            .collect();
        for (p, o) in changed {
            self.group
                .commit(&self.topic, &self.topic_id, p, o, Some(&self.member))?;
            self.committed.insert(p, o);
        }
        self.last = Instant::now();
        Ok(())
    }

    /// Forget a partition after it was committed and released.
    pub fn forget(&mut self, p: u32) {
        self.accepted.remove(&p);
        self.committed.remove(&p);
    }
}

enum Sink {
    Stdout {
        out: Stdout,
        /// (end of the record counted from the first byte ever written, partition, next
        /// offset) in write order, for records not yet known to be taken by the reader.
        marks: std::collections::VecDeque<(u64, u32, u64)>,
    },
    /// Records are gathered per batch (one partition, at most `batch` records and
    /// `EXEC_BATCH_BYTES`), then the handler is started with the batch's coordinates in its
    /// environment and the records on its stdin.
    Exec {
        cmd: String,
        batch: usize,
        env: Vec<(String, String)>,
        timeout: Option<Duration>,
        buf: Vec<u8>,
        n: usize,
        partition: u32,
        first: u64,
        last: u64,
        pending: BTreeMap<u32, u64>,
        scratch: Vec<u8>,
        on_failure: OnFailure,
        /// Where a dead-letter topic is produced to.
        cluster: crate::cluster::Cluster,
        /// Per record of the batch: where it ends in `buf`, its offset, and (for a dead-letter
        /// topic) the record itself.
        held: Vec<Held>,
    },
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

struct OwnedRecord {
    key: Option<Vec<u8>>,
    value: Option<Vec<u8>>,
    timestamp: i64,
    headers: Vec<crate::record::Header>,
}

/// Most bytes of records held for one `--exec` batch: memory stays bounded whatever
/// `--exec-batch` says; a batch that would grow past it ends early.
const EXEC_BATCH_BYTES: usize = 16 << 20;

impl RecordSink for Delivery {
    fn record(&mut self, r: &ConsumedRecord<'_>) -> Result<()> {
        Delivery::record(self, r)
    }

    fn reached(&mut self, p: u32, next: u64) -> Result<()> {
        self.mark(p, next);
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
        cluster: &crate::cluster::Cluster,
    ) -> Delivery {
        let env = vec![
            ("CHUTE_GROUP".to_string(), committer.group.name.clone()),
            ("CHUTE_TOPIC".to_string(), committer.topic.clone()),
        ];
        Delivery {
            format,
            sink: Sink::Exec {
                cmd: cmd.into(),
                batch: batch.max(1),
                env,
                timeout,
                buf: Vec::new(),
                n: 0,
                partition: 0,
                first: 0,
                last: 0,
                pending: BTreeMap::new(),
                scratch: Vec::new(),
                on_failure,
                cluster: cluster.clone(),
                held: Vec::new(),
            },
            committer,
            records: 0,
        }
    }

    /// Deliver one record (buffered for stdout; streamed into the command for --exec).
    pub fn record(&mut self, r: &ConsumedRecord<'_>) -> Result<()> {
        self.records += 1;
        match &mut self.sink {
            Sink::Stdout { out, marks } => {
                let (end, flush) = out.push(&self.format, r);
                marks.push_back((end, r.partition, r.offset + 1));
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
                self.exec_add(r.partition, r.offset, keep)
            }
        }
    }

    /// A partition's position moved past offsets without records (batch end, compaction).
    pub fn mark(&mut self, p: u32, next: u64) {
        match &mut self.sink {
            Sink::Stdout { out, marks } => marks.push_back((out.end(), p, next)),
            Sink::Exec { pending, n, .. } => {
                if *n == 0 {
                    self.committer.accept(p, next);
                } else {
                    let e = pending.entry(p).or_insert(next);
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
        while let Some(&(end, p, next)) = marks.front() {
            if end > taken {
                break;
            }
            self.committer.accept(p, next);
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

    /// Add the formatted record in `scratch` to the batch; a batch holds one partition only
    /// (a handler can de-duplicate by partition and offset range).
    fn exec_add(&mut self, p: u32, offset: u64, record: Option<OwnedRecord>) -> Result<()> {
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
        p: u32,
        lo: usize,
        hi: usize,
    ) -> Result<()> {
        let Sink::Exec {
            cmd,
            env,
            timeout,
            on_failure,
            cluster,
            ..
        } = &self.sink
        else {
            return Ok(());
        };
        let (cmd, on_failure, cluster) = (cmd.clone(), on_failure.clone(), cluster.clone());
        let start = if lo == 0 { 0 } else { held[lo - 1].end };
        let (first, last, count) = (held[lo].offset, held[hi - 1].offset, hi - lo);
        let topic = self.committer.topic.clone();
        let what = format!(
            "{topic}-{p} offsets {first} to {last} ({count} record{})",
            if count == 1 { "" } else { "s" }
        );
        let outcome = run_handler(
            &cmd,
            env,
            &[
                ("CHUTE_PARTITION", p.to_string()),
                ("CHUTE_FIRST_OFFSET", first.to_string()),
                ("CHUTE_LAST_OFFSET", last.to_string()),
                ("CHUTE_RECORD_COUNT", count.to_string()),
            ],
            &buf[start..held[hi - 1].end],
            *timeout,
        )?;
        let how = match outcome {
            Handled::Ok => {
                self.committer.accept(p, last + 1);
                return Ok(());
            }
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
            self.handle_range(buf, held, p, lo, mid)?;
            self.committer.commit(true)?;
            self.handle_range(buf, held, p, mid, hi)?;
            return self.committer.commit(true);
        }
        // One record the handler fails on: set it aside, then move past it.
        let h = &held[lo];
        match &on_failure {
            OnFailure::DeadLetter { topic: dlq } => {
                let rec = h.record.as_ref().expect("kept for the dead-letter topic");
                dead_letter(&cluster, dlq, &topic, p, h.offset, &how, rec)?;
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
        self.committer.accept(p, h.offset + 1);
        self.committer.commit(true)
    }
}

/// Produce a record the handler could not take to the dead-letter topic (created if missing),
/// fsynced, with headers saying where it came from and why.
fn dead_letter(
    cluster: &crate::cluster::Cluster,
    dlq: &str,
    topic: &str,
    p: u32,
    offset: u64,
    why: &str,
    rec: &OwnedRecord,
) -> Result<()> {
    use crate::produce::{Acks, Producer, ProducerOptions};
    use crate::record::{Header, RecordRef};
    let (mut producer, _) = Producer::open(
        cluster,
        dlq,
        ProducerOptions {
            partition: None,
            acks: Acks::Leader,
            batch_size: 1 << 20,
            lock_timeout: Duration::from_secs(30),
            truncate_oversized: false,
        },
    )?;
    let mut headers = rec.headers.clone();
    for (k, v) in [
        ("chute.topic", topic.to_string()),
        ("chute.partition", p.to_string()),
        ("chute.offset", offset.to_string()),
        ("chute.error", why.to_string()),
    ] {
        headers.push(Header {
            key: k.to_string(),
            value: Some(v.into_bytes()),
        });
    }
    producer.send(RecordRef {
        key: rec.key.as_deref(),
        value: rec.value.as_deref(),
        timestamp: Some(rec.timestamp),
        headers: &headers,
        partition: None,
        line: 0,
    })?;
    producer.close()
}

enum Handled {
    Ok,
    Failed(String),
    TimedOut(Duration),
}

/// Start `sh -c cmd` in a process group of its own, feed it `input`, wait (at most `timeout`).
/// Signals chute gets are forwarded to the group (src/signals.rs); if chute dies, even by
/// SIGKILL, the kernel kills the handler (PR_SET_PDEATHSIG). The handler's own children are
/// in its group and get forwarded signals, but not the death signal: a handler that starts
/// background work must stop it itself (docs/groups.md).
fn run_handler(
    cmd: &str,
    env: &[(String, String)],
    batch_env: &[(&str, String)],
    input: &[u8],
    timeout: Option<Duration>,
) -> Result<Handled> {
    use std::os::unix::process::{CommandExt, ExitStatusExt};
    let parent = std::process::id() as i32;
    let mut c = Command::new("sh");
    c.arg("-c")
        .arg(cmd)
        .envs(env.iter().map(|(k, v)| (k, v)))
        .envs(batch_env.iter().map(|(k, v)| (k, v)))
        .stdin(Stdio::piped())
        .process_group(0);
    // SAFETY: runs in the child between fork and exec, where only async-signal-safe calls are
    // allowed: prctl(2), getppid(2) and _exit(2) are; nothing here allocates or takes a lock.
    // The death signal is tied to the thread that forks: the main thread, which lives as long
    // as chute does.
    unsafe {
        c.pre_exec(move || {
            if libc::prctl(libc::PR_SET_PDEATHSIG, libc::SIGKILL as libc::c_ulong) != 0 {
                return Err(std::io::Error::last_os_error());
            }
            // chute died between fork and prctl: do not run the handler at all.
            if libc::getppid() != parent {
                libc::_exit(1);
            }
            Ok(())
        });
    }
    let mut child = c
        .spawn()
        .map_err(|e| Error::Other(format!("--exec {cmd:?}: cannot start sh: {e}")))?;
    let pgid = child.id() as i32;
    crate::signals::set_child_group(pgid);
    let stdin = child.stdin.take().expect("piped stdin");
    let (done_tx, done_rx) = std::sync::mpsc::channel();
    let status = std::thread::scope(|s| {
        // Fed from a thread: a handler that does not read must not block us past the timeout.
        s.spawn(move || {
            let mut w = stdin;
            // A handler that exits without reading everything: its exit status decides.
            let _ = w.write_all(input);
        });
        let waiter = s.spawn(move || {
            let r = child.wait();
            let _ = done_tx.send(());
            r
        });
        let timed_out = match timeout {
            Some(t) => done_rx.recv_timeout(t).is_err(),
            None => {
                let _ = done_rx.recv();
                false
            }
        };
        if timed_out {
            // SAFETY: killpg(2) takes integers only; the group is the handler's own.
            unsafe {
                libc::killpg(pgid, libc::SIGKILL);
            }
        }
        (waiter.join().expect("waiter thread"), timed_out)
    });
    crate::signals::set_child_group(0);
    let (status, timed_out) = status;
    let status = status.map_err(|e| Error::Other(format!("--exec {cmd:?}: {e}")))?;
    if timed_out {
        return Ok(Handled::TimedOut(timeout.unwrap_or_default()));
    }
    if status.success() {
        return Ok(Handled::Ok);
    }
    Ok(Handled::Failed(match (status.code(), status.signal()) {
        (Some(code), _) => format!("exit status {code}"),
        (None, Some(sig)) => format!("killed by signal {sig}"),
        _ => "failed".to_string(),
    }))
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
