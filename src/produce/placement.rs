//! Where each record goes: the partitioner's choice, the sticky partition of records without a
//! key, and a command that answers partitions (`--partitioner-exec`). docs/producing.md has
//! the rules and the command's protocol.

use crate::error::{Error, Result};
use crate::partitioner::{Partitioner, crc32_partition, partition_for_key};
use std::io::{BufRead, Write};
use std::process::{Child, ChildStdin, Command, Stdio};
use std::sync::mpsc;
use std::time::Duration;

/// Records without a key move on to the next partition after this many records or bytes, so
/// a small input spreads over the partitions too; each partition still fills a batch of its
/// own, so large inputs are written in batches as large as before.
const STICKY_RECORDS: u32 = 100;
const STICKY_BYTES: usize = 16 << 10;

pub struct Placement {
    kind: Partitioner,
    n: u32,
    sticky: u32,
    sticky_records: u32,
    sticky_bytes: usize,
    round: u32,
    rng: u64,
    exec: Option<ExecPartitioner>,
}

impl Placement {
    pub fn new(kind: Partitioner, partitions: u32, exec: Option<ExecPartitioner>) -> Placement {
        let seed = crate::fsutil::random_u64() | 1;
        Placement {
            kind,
            n: partitions.max(1),
            sticky: (seed % partitions.max(1) as u64) as u32,
            sticky_records: 0,
            sticky_bytes: 0,
            round: (seed >> 32) as u32,
            rng: seed,
            exec,
        }
    }

    /// The partition of a record with `key`, `size` bytes, from input line `line`.
    pub fn choose(&mut self, key: Option<&[u8]>, size: usize, line: u64) -> Result<u32> {
        let n = self.n;
        if let Some(e) = &mut self.exec {
            return e.ask(key, n, line);
        }
        Ok(match (self.kind, key) {
            (Partitioner::Murmur2, Some(k)) => partition_for_key(k, n),
            (Partitioner::Crc32, Some(k)) => crc32_partition(k, n),
            (Partitioner::RoundRobin, _) => {
                self.round = self.round.wrapping_add(1);
                self.round % n
            }
            (Partitioner::Random, _) => {
                // xorshift64: uniform enough for spreading, and no lock or syscall per record.
                self.rng ^= self.rng << 13;
                self.rng ^= self.rng >> 7;
                self.rng ^= self.rng << 17;
                (self.rng % n as u64) as u32
            }
            _ => {
                if self.sticky_records >= STICKY_RECORDS || self.sticky_bytes >= STICKY_BYTES {
                    self.sticky = (self.sticky + 1) % n;
                    self.sticky_records = 0;
                    self.sticky_bytes = 0;
                }
                self.sticky_records += 1;
                self.sticky_bytes += size;
                self.sticky
            }
        })
    }
}

impl Placement {
    /// `produce --id`: the partition of the record at input position `seq`, a function of
    /// (sequence, key, partition count) alone, so a re-run places every record where the first
    /// run did. Keys are hashed as by `choose`; records without a key (or under sticky) take
    /// runs of [`STICKY_RECORDS`] positions per partition, round-robin one position each.
    /// (`random` and `--partitioner-exec` are refused with `--id`.)
    pub fn choose_at(&self, key: Option<&[u8]>, seq: u64) -> u32 {
        let n = self.n as u64;
        match (self.kind, key) {
            (Partitioner::Murmur2, Some(k)) => partition_for_key(k, self.n),
            (Partitioner::Crc32, Some(k)) => crc32_partition(k, self.n),
            (Partitioner::RoundRobin | Partitioner::Random, _) => (seq % n) as u32,
            _ => ((seq / STICKY_RECORDS as u64) % n) as u32,
        }
    }
}

/// `--partitioner-exec CMD`: a long-lived `sh -c CMD` reads one key per line on its stdin and
/// answers one partition number per line on its stdout, in order.
pub struct ExecPartitioner {
    cmd: String,
    child: Child,
    stdin: Option<std::io::BufWriter<ChildStdin>>,
    answers: mpsc::Receiver<std::io::Result<String>>,
    timeout: Duration,
    line_buf: Vec<u8>,
}

impl ExecPartitioner {
    pub fn spawn(cmd: &str, timeout: Duration) -> Result<ExecPartitioner> {
        let mut child = Command::new("sh")
            .args(["-c", cmd])
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::inherit())
            .spawn()
            .map_err(|e| Error::Other(format!("--partitioner-exec {cmd:?}: {e}")))?;
        let stdin = child.stdin.take().map(std::io::BufWriter::new);
        let stdout = child.stdout.take().expect("piped");
        // Answers come through a thread, so that a command that stops answering is a timeout,
        // not a producer stuck in read(2).
        let (tx, rx) = mpsc::channel();
        std::thread::spawn(move || {
            for l in std::io::BufReader::new(stdout).lines() {
                let end = l.is_err();
                if tx.send(l).is_err() || end {
                    return;
                }
            }
        });
        Ok(ExecPartitioner {
            cmd: cmd.to_string(),
            child,
            stdin,
            answers: rx,
            timeout,
            line_buf: Vec::new(),
        })
    }

    fn ask(&mut self, key: Option<&[u8]>, n: u32, line: u64) -> Result<u32> {
        let cmd = &self.cmd;
        self.line_buf.clear();
        escape_key(key, &mut self.line_buf);
        self.line_buf.push(b'\n');
        let sent = match &mut self.stdin {
            Some(w) => w.write_all(&self.line_buf).and_then(|()| w.flush()),
            None => Err(std::io::ErrorKind::BrokenPipe.into()),
        };
        if let Err(e) = sent {
            return Err(Error::Other(format!(
                "input line {line}: --partitioner-exec {cmd:?} does not read its input any more ({e})"
            )));
        }
        let shown = String::from_utf8_lossy(&self.line_buf[..self.line_buf.len() - 1]).into_owned();
        let answer = match self.answers.recv_timeout(self.timeout) {
            Ok(Ok(a)) => a,
            Ok(Err(e)) => {
                return Err(Error::stream(format!("--partitioner-exec {cmd:?}"), e));
            }
            Err(mpsc::RecvTimeoutError::Timeout) => {
                return Err(Error::Temporary(format!(
                    "input line {line}: --partitioner-exec {cmd:?} did not answer for key {shown:?} within {}",
                    humantime::format_duration(self.timeout)
                )));
            }
            Err(mpsc::RecvTimeoutError::Disconnected) => {
                let st = self.child.try_wait().ok().flatten();
                return Err(Error::Other(format!(
                    "input line {line}: --partitioner-exec {cmd:?} ended without answering for key {shown:?}{}",
                    st.map(|s| format!(" ({s})")).unwrap_or_default()
                )));
            }
        };
        match answer.trim().parse::<u32>() {
            Ok(p) if p < n => Ok(p),
            _ => Err(Error::BadInput(format!(
                "input line {line}: --partitioner-exec {cmd:?} answered {answer:?} for key {shown:?}; the topic has partitions 0..{}",
                n - 1
            ))),
        }
    }
}

impl Drop for ExecPartitioner {
    fn drop(&mut self) {
        // End of input for the command: a well-behaved one exits; one that does not is killed.
        self.stdin = None;
        for _ in 0..50 {
            if matches!(self.child.try_wait(), Ok(Some(_))) {
                return;
            }
            std::thread::sleep(Duration::from_millis(2));
        }
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// The key as one line: `\` `\n` `\r` escaped as `\\` `\n` `\r`; a null key is `\N`.
pub fn escape_key(key: Option<&[u8]>, out: &mut Vec<u8>) {
    let Some(k) = key else {
        out.extend_from_slice(b"\\N");
        return;
    };
    for &b in k {
        match b {
            b'\\' => out.extend_from_slice(b"\\\\"),
            b'\n' => out.extend_from_slice(b"\\n"),
            b'\r' => out.extend_from_slice(b"\\r"),
            _ => out.push(b),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn records_without_a_key_spread_in_runs_of_a_hundred() {
        let mut p = Placement::new(Partitioner::Murmur2, 6, None);
        let mut counts = [0u32; 6];
        for i in 0..6000 {
            counts[p.choose(None, 5, i).unwrap() as usize] += 1;
        }
        assert_eq!(counts, [1000; 6]);
        // Keys still hash.
        assert_eq!(
            p.choose(Some(b"21"), 5, 0).unwrap(),
            partition_for_key(b"21", 6)
        );
    }

    #[test]
    fn round_robin_is_exact_and_ignores_keys() {
        let mut p = Placement::new(Partitioner::RoundRobin, 4, None);
        let mut counts = [0u32; 4];
        for i in 0..1000u64 {
            counts[p.choose(Some(b"same"), 5, i).unwrap() as usize] += 1;
        }
        assert_eq!(counts, [250; 4]);
    }

    #[test]
    fn keys_are_escaped_onto_one_line() {
        let mut out = Vec::new();
        escape_key(Some(b"a\\b\nc\rd"), &mut out);
        assert_eq!(out, b"a\\\\b\\nc\\rd");
        out.clear();
        escape_key(None, &mut out);
        assert_eq!(out, b"\\N");
    }
}
