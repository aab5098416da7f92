//! Seeded mutation fuzzing of every file chute reads (issue 9).
//!
//! One fixture root is built per test run: two brokers, a topic `T` with two partitions and
//! replication factor 2, small segments, records with keys, headers, binary values, tombstones
//! and timestamps spread over hours, a consumer group `g` with committed offsets and the member
//! file of a member killed with `kill -9`, and a last stage produced with `--acks 0` so that the
//! leaders' active segments end with published but never fsynced batches. Every file type
//! exists: `.log`, `.index`, `.timeindex`, `tail`, `leader-epochs`, `replica.json`,
//! `metadata.json`, `broker.json`, group offsets, group members and lock files.
//!
//! Each case copies that root, picks a file (a type, weighted towards the binary formats, then
//! one file of it) and damages it once or twice: it flips bits, overwrites bytes, truncates,
//! extends (zeros, random bytes, or a copy of its own bytes) or zeroes a range, aiming at the
//! fields of the file's structures as often as at random places. It then runs every read path,
//! then the commands that write (`consume -g`, `controller --once`, `verify --repair`), each
//! under a deadline; and on a copy of the damaged root, `produce --acks all` and `consume`,
//! because a writer's first look at a partition runs the crash-recovery checks. It asserts:
//!
//! - no panic, no hang (a child still running after [`DEADLINE`] is killed), peak RSS under
//!   [`RSS_LIMIT_KIB`], and an exit code from the documented list;
//! - every record `consume` prints is one the fixture wrote, byte for byte, at its original
//!   partition and offset (or the one `produce` appended, at the next offset); per partition
//!   they come in log order without gaps, and from the log start when the whole log was asked
//!   for and the command exits 0;
//! - damage confined to a cache (`.index`, `.timeindex`, lock files) or to bytes nobody may
//!   read (the older tail slot, unchecked header bytes, bytes beyond the commit point) changes
//!   no answer, before or after the commands that write, and `verify --repair` and `produce`
//!   succeed; `leader-epochs` is derivable from the log, so damage to it (other than to its
//!   version) changes no answer either and does not stop `produce`;
//! - a torn unsynced tail (damage at or above the durable offset of an active segment) ends the
//!   visible log without error (`consume`, `--since`, `offsets`, `consume -g`), keeps every
//!   durable record, and `verify --repair` and `produce` cut it;
//! - a damaged `tail` (other than its version field) is a lost commit point that
//!   `verify --repair` and `produce` recover from;
//! - batches damaged below the durable offset in one replica are restored by `verify --repair`
//!   from the other, in-sync replica: afterwards `consume` answers as before the damage;
//! - `produce` exiting 0 means `consume` then delivers its records; `verify --repair` exiting 0
//!   means `verify` then passes; a passing `verify` means `consume` finds no corruption.
//!
//! Failures are collected over all cases and reported grouped by file type, class of damage,
//! command and problem, with the mutations seen, a few seeds, and the first case in full: seed,
//! file, damage, command, problem and how to rerun it.
//!
//! Environment: `CHUTE_FUZZ_CASES=N` runs N cases (default [`DEFAULT_CASES`]);
//! `CHUTE_FUZZ_SEED=S` (decimal or 0x-hex, or `random`) makes the cases' seeds S, S+1, ...
//! (alone it runs the one case a failure names); `CHUTE_FUZZ_THREADS=N` sets the parallelism
//! (default 2); `CHUTE_FUZZ_KEEP=1` keeps the damaged roots of failing cases for inspection.
//!
//! The layout of the fixture does not depend on the clock or on scheduling (records name their
//! partition, the producer reads a file with a long linger, partition p is led by broker p),
//! so a seed damages the same bytes of the same structure of a binary file in every run (the
//! fingerprint printed at the start says so); only timestamps and CRCs in those bytes differ.
//! JSON files hold random ids, pids and times, so there the same seed may hit other bytes.

use crate::util::{Env, bin, wait_for};
use base64::Engine;
use serde_json::{Value, json};
use std::collections::{BTreeMap, HashMap};
use std::fmt;
use std::io::Read;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::sync::Mutex;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant};

/// Cases run by default (`cargo test`): one to two minutes on two cores.
const DEFAULT_CASES: u64 = 500;
/// Seed of the first case by default; case i has seed `DEFAULT_SEED + i`.
const DEFAULT_SEED: u64 = 0x00c4_07e0_f022_0009;
/// A command still running after this long is killed and reported as a hang.
const DEADLINE: Duration = Duration::from_secs(10);
/// Memory allowed to any command (KiB): its data limit (`RLIMIT_DATA`: heap and private
/// writable mappings). An allocation past it fails, and the process aborts (a signal), which
/// the checks below report. (`ru_maxrss` cannot be the bound: a child spawned by vfork and
/// exec starts with the test process's own high-water mark, which grows with every test
/// running in parallel.)
const RSS_LIMIT_KIB: i64 = 64 * 1024;
/// Exit codes a command may return (src/error.rs, README "Exit codes").
const DOCUMENTED_EXITS: &[i32] = &[0, 1, 2, 3, 65, 74, 75];
/// Most output kept from one command; the rest is read and dropped.
const OUTPUT_CAP: usize = 16 << 20;

const TOPIC: &str = "T";
const GROUP: &str = "g";
/// Records of the fixture, and where its three produce stages end.
const RECORDS: usize = 600;
const STAGE1_END: usize = 360;
const STAGE2_END: usize = 520;

// ---------------------------------------------------------------------------------------------
// A seeded PRNG (splitmix64): small, fast, and good enough to pick bytes.

#[derive(Clone)]
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9e37_79b9_7f4a_7c15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
        z ^ (z >> 31)
    }

    /// Uniform in `0..n` (0 when n is 0).
    fn below(&mut self, n: u64) -> u64 {
        if n == 0 { 0 } else { self.next() % n }
    }

    /// Uniform in `lo..=hi`.
    fn range(&mut self, lo: u64, hi: u64) -> u64 {
        lo + self.below(hi - lo + 1)
    }

    fn percent(&mut self, p: u64) -> bool {
        self.below(100) < p
    }

    fn pick<'a, T>(&mut self, v: &'a [T]) -> &'a T {
        &v[self.below(v.len() as u64) as usize]
    }

    fn bytes(&mut self, n: usize) -> Vec<u8> {
        (0..n).map(|_| self.next() as u8).collect()
    }
}

// ---------------------------------------------------------------------------------------------
// File types.

#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
enum Kind {
    Log,
    Index,
    TimeIndex,
    Tail,
    LeaderEpochs,
    ReplicaJson,
    Metadata,
    BrokerJson,
    GroupOffset,
    GroupMember,
    Lock,
}

const KINDS: [Kind; 11] = [
    Kind::Log,
    Kind::Index,
    Kind::TimeIndex,
    Kind::Tail,
    Kind::LeaderEpochs,
    Kind::ReplicaJson,
    Kind::Metadata,
    Kind::BrokerJson,
    Kind::GroupOffset,
    Kind::GroupMember,
    Kind::Lock,
];

impl Kind {
    fn name(self) -> &'static str {
        match self {
            Kind::Log => ".log",
            Kind::Index => ".index",
            Kind::TimeIndex => ".timeindex",
            Kind::Tail => "tail",
            Kind::LeaderEpochs => "leader-epochs",
            Kind::ReplicaJson => "replica.json",
            Kind::Metadata => "metadata.json",
            Kind::BrokerJson => "broker.json",
            Kind::GroupOffset => "group offsets/T/P.json",
            Kind::GroupMember => "group members/ID.json",
            Kind::Lock => "lock file",
        }
    }

    /// How often a case picks this type: the binary formats with the most structure most.
    fn weight(self) -> u64 {
        match self {
            Kind::Log => 5,
            Kind::Index | Kind::TimeIndex | Kind::Tail => 3,
            _ => 1,
        }
    }

    fn of(rel: &Path) -> Option<Kind> {
        let name = rel.file_name()?.to_str()?;
        let parent = rel
            .parent()
            .and_then(|p| p.parent())
            .and_then(|p| p.file_name())
            .and_then(|n| n.to_str());
        let segment = |ext: &str| {
            name.strip_suffix(ext)
                .is_some_and(|b| b.len() == 20 && b.bytes().all(|c| c.is_ascii_digit()))
        };
        Some(if segment(".log") {
            Kind::Log
        } else if segment(".index") {
            Kind::Index
        } else if segment(".timeindex") {
            Kind::TimeIndex
        } else if name == "tail" {
            Kind::Tail
        } else if name == "leader-epochs" {
            Kind::LeaderEpochs
        } else if name == "replica.json" {
            Kind::ReplicaJson
        } else if name == "metadata.json" {
            Kind::Metadata
        } else if name == "broker.json" {
            Kind::BrokerJson
        } else if name.ends_with(".lock") {
            Kind::Lock
        } else if name.ends_with(".json") && parent == Some("offsets") {
            Kind::GroupOffset
        } else if name.ends_with(".json")
            && rel.parent().and_then(|p| p.file_name()) == Some("members".as_ref())
        {
            Kind::GroupMember
        } else {
            return None;
        })
    }
}

// ---------------------------------------------------------------------------------------------
// Running one command: deadline, exit status, peak RSS, output.

struct Outcome {
    code: Option<i32>,
    signal: Option<i32>,
    hung: bool,
    stdout: Vec<u8>,
    stderr: Vec<u8>,
    rss_kib: i64,
    elapsed: Duration,
}

impl Outcome {
    fn ok(&self) -> bool {
        self.code == Some(0)
    }

    fn status(&self) -> String {
        match (self.hung, self.code, self.signal) {
            (true, _, _) => format!("killed after {DEADLINE:?}"),
            (_, Some(c), _) => format!("exit {c}"),
            (_, _, Some(s)) => format!("signal {s}"),
            _ => "unknown status".into(),
        }
    }

    fn stderr_excerpt(&self) -> String {
        excerpt(&self.stderr, 600)
    }
}

fn excerpt(b: &[u8], max: usize) -> String {
    let s = String::from_utf8_lossy(b);
    let s = s.trim_end();
    if s.len() <= max {
        s.to_string()
    } else {
        let mut end = max;
        while !s.is_char_boundary(end) {
            end -= 1;
        }
        format!("{}... ({} bytes)", &s[..end], b.len())
    }
}

fn drain(mut r: impl Read + Send + 'static) -> std::thread::JoinHandle<Vec<u8>> {
    std::thread::spawn(move || {
        let mut kept = Vec::new();
        let mut buf = [0u8; 64 * 1024];
        loop {
            match r.read(&mut buf) {
                Ok(0) | Err(_) => break,
                Ok(n) => {
                    let room = OUTPUT_CAP.saturating_sub(kept.len());
                    kept.extend_from_slice(&buf[..n.min(room)]);
                }
            }
        }
        kept
    })
}

fn wait4(pid: libc::pid_t, flags: libc::c_int) -> Option<(libc::c_int, libc::rusage)> {
    loop {
        let mut status = 0;
        // SAFETY: rusage is plain data; wait4 fills it and `status`.
        let mut ru: libc::rusage = unsafe { std::mem::zeroed() };
        // SAFETY: pid is our own child, which only this thread reaps.
        let r = unsafe { libc::wait4(pid, &mut status, flags, &mut ru) };
        if r == pid {
            return Some((status, ru));
        }
        if r == 0 {
            return None;
        }
        let e = std::io::Error::last_os_error();
        assert_eq!(e.kind(), std::io::ErrorKind::Interrupted, "wait4: {e}");
    }
}

/// Run `chute ARGS` against `root`: kill it after [`DEADLINE`], and measure its peak RSS.
fn run(root: &Path, args: &[String]) -> Outcome {
    let mut cmd = Command::new(bin());
    {
        use std::os::unix::process::CommandExt;
        // SAFETY: runs between fork and exec; setrlimit(2) is async-signal-safe, allocates
        // nothing and touches only the struct on this stack frame.
        unsafe {
            cmd.pre_exec(|| {
                let lim = libc::rlimit {
                    rlim_cur: (RSS_LIMIT_KIB * 1024) as libc::rlim_t,
                    rlim_max: (RSS_LIMIT_KIB * 1024) as libc::rlim_t,
                };
                if libc::setrlimit(libc::RLIMIT_DATA, &lim) != 0 {
                    return Err(std::io::Error::last_os_error());
                }
                Ok(())
            });
        }
    }
    let mut child = cmd
        .args(args)
        .env("CHUTE_ROOT", root)
        .env("CHUTE_ALLOW_NETWORK_FS", "1")
        .env_remove("XDG_DATA_HOME")
        .env_remove("RUST_BACKTRACE")
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("spawn chute");
    let pid = child.id() as libc::pid_t;
    let out = drain(child.stdout.take().unwrap());
    let err = drain(child.stderr.take().unwrap());
    let start = Instant::now();
    let mut pause = Duration::from_micros(50);
    let mut hung = false;
    // Poll for the exit with a deadline (wait4 rather than Child::wait, for the rusage).
    let (status, ru) = loop {
        if let Some(done) = wait4(pid, libc::WNOHANG) {
            break done;
        }
        if start.elapsed() >= DEADLINE {
            hung = true;
            // SAFETY: the child has not been reaped, so the pid is still ours.
            unsafe { libc::kill(pid, libc::SIGKILL) };
            break wait4(pid, 0).expect("reap killed child");
        }
        std::thread::sleep(pause);
        pause = (pause * 2).min(Duration::from_millis(4));
    };
    drop(child); // already reaped: dropping a Child neither waits nor kills
    Outcome {
        code: libc::WIFEXITED(status).then(|| libc::WEXITSTATUS(status)),
        signal: libc::WIFSIGNALED(status).then(|| libc::WTERMSIG(status)),
        hung,
        stdout: out.join().unwrap(),
        stderr: err.join().unwrap(),
        rss_kib: ru.ru_maxrss,
        elapsed: start.elapsed(),
    }
}

// ---------------------------------------------------------------------------------------------
// The commands of one case, in order: read paths first, then the commands that write; and on a
// copy of the damaged root, a producer (a writer's first look at a partition runs the recovery
// checks) and a consumer.

const CONSUME: &str = "consume";
const SINCE: &str = "consume --since";
const OFFSETS: &str = "offsets -t --json";
const AT: &str = "offsets -t --at";
const DESCRIBE: &str = "topic describe --json";
const GROUP_DESCRIBE: &str = "group describe";
const GROUP_OFFSETS: &str = "offsets -g --json";
const DUMP: &str = "dump";
const VERIFY: &str = "verify";
const GROUP_CONSUME: &str = "consume -g";
const CONTROLLER: &str = "controller --once";
const CONSUME_AFTER_CONTROLLER: &str = "consume after controller";
const REPAIR: &str = "verify --repair";
const VERIFY_AFTER_REPAIR: &str = "verify after repair";
const CONSUME_AFTER_REPAIR: &str = "consume after repair";
const PRODUCE: &str = "produce (on a copy)";
const CONSUME_AFTER_PRODUCE: &str = "consume after produce (on the copy)";

struct Step {
    name: &'static str,
    args: Vec<String>,
    out: Outcome,
}

/// The steps: (name, arguments, whether they run on the copy).
fn plan(dump_dir: &Path, time: i64, input: &Path) -> Vec<(&'static str, Vec<String>, bool)> {
    let t = time.to_string();
    let dump = dump_dir.to_string_lossy().into_owned();
    let input = input.to_string_lossy().into_owned();
    let consume = ["consume", "-t", TOPIC, "--format", "json"];
    let v = |a: &[&str]| a.iter().map(|s| s.to_string()).collect::<Vec<_>>();
    // --acks all: exit 0 means every in-sync replica has the records and consumers see them.
    // A 4 s timeout: produce waits it out once for an offline partition, within DEADLINE.
    let produce = [
        "produce",
        "-t",
        TOPIC,
        "--format",
        "json",
        "--file",
        &input,
        "-q",
        "--acks",
        "all",
        "--timeout",
        "4s",
    ];
    let on_root = vec![
        (CONSUME, v(&consume)),
        (SINCE, v(&[&consume[..], &["--since", &t]].concat())),
        (OFFSETS, v(&["offsets", "-t", TOPIC, "--json"])),
        (AT, v(&["offsets", "-t", TOPIC, "--at", &t])),
        (DESCRIBE, v(&["topic", "describe", TOPIC, "--json"])),
        (GROUP_DESCRIBE, v(&["group", "describe", GROUP])),
        (GROUP_OFFSETS, v(&["offsets", "-g", GROUP, "--json"])),
        (DUMP, v(&["dump", &dump, "--records"])),
        (VERIFY, v(&["verify"])),
        (GROUP_CONSUME, v(&[&consume[..], &["-g", GROUP]].concat())),
        (CONTROLLER, v(&["controller", "--once"])),
        (CONSUME_AFTER_CONTROLLER, v(&consume)),
        (REPAIR, v(&["verify", "--repair"])),
        (VERIFY_AFTER_REPAIR, v(&["verify"])),
        (CONSUME_AFTER_REPAIR, v(&consume)),
    ];
    let on_copy = [(PRODUCE, v(&produce)), (CONSUME_AFTER_PRODUCE, v(&consume))];
    let root = on_root.into_iter().map(|(n, a)| (n, a, false));
    root.chain(on_copy.into_iter().map(|(n, a)| (n, a, true)))
        .collect()
}

/// Copy `root` to `copy`, then run the plan.
fn run_plan(root: &Path, copy: &Path, dump_dir: &Path, time: i64, input: &Path) -> Vec<Step> {
    copy_tree(root, copy);
    plan(dump_dir, time, input)
        .into_iter()
        .map(|(name, args, on_copy)| {
            let mut out = run(if on_copy { copy } else { root }, &args);
            if name == GROUP_OFFSETS {
                out.stdout = without_clock(&out.stdout);
            }
            Step { name, args, out }
        })
        .collect()
}

/// `offsets -g --json` without `lag_ms`: the age of the oldest waiting record grows with the
/// clock, so two runs minutes apart differ there and nowhere else. Not JSON: left as it is.
fn without_clock(stdout: &[u8]) -> Vec<u8> {
    let Ok(mut v) = serde_json::from_slice::<Value>(stdout) else {
        return stdout.to_vec();
    };
    if let Some(ps) = v["partitions"].as_array_mut() {
        for p in ps {
            if let Some(o) = p.as_object_mut() {
                o.remove("lag_ms");
            }
        }
    }
    let mut out = serde_json::to_vec(&v).unwrap();
    out.push(b'\n');
    out
}

fn step<'a>(steps: &'a [Step], name: &str) -> &'a Step {
    steps.iter().find(|s| s.name == name).unwrap()
}

// ---------------------------------------------------------------------------------------------
// The fixture.

#[derive(Clone, Copy, Debug, Default)]
struct TailSlot {
    seq: u64,
    segment_base: u64,
    end_position: u64,
    durable_offset: u64,
}

/// The valid slot with the highest seq, and which slot it is.
fn read_tail(b: &[u8]) -> Option<(TailSlot, usize)> {
    let u64_at = |s: &[u8], i: usize| u64::from_le_bytes(s[i..i + 8].try_into().unwrap());
    (0..2)
        .filter_map(|k| {
            let s = b.get(32 + 64 * k..96 + 64 * k)?;
            let crc = u32::from_le_bytes(s[60..64].try_into().unwrap());
            (crc32fast::hash(&s[..60]) == crc).then(|| {
                let slot = TailSlot {
                    seq: u64_at(s, 0),
                    segment_base: u64_at(s, 8),
                    end_position: u64_at(s, 24),
                    durable_offset: u64_at(s, 32),
                };
                (slot, k)
            })
        })
        .max_by_key(|(s, _)| s.seq)
}

#[derive(Debug)]
struct LogInfo {
    /// (byte position, base offset) of every batch.
    batches: Vec<(u64, u64)>,
    active: bool,
    end_position: u64,
    /// Byte position of the first batch at or above the durable offset (active segment).
    durable_position: u64,
    durable_offset: u64,
    partition: u64,
}

#[derive(Default)]
struct Baseline {
    /// (partition, offset) -> the exact JSON line `consume` prints for it.
    records: HashMap<(u64, u64), Vec<u8>>,
    /// Offsets of each partition in log order.
    order: BTreeMap<u64, Vec<u64>>,
    /// The record `produce` appends to each partition, as `consume` prints it: the bytes before
    /// and after its offset.
    new_records: HashMap<u64, (Vec<u8>, Vec<u8>)>,
    /// Undamaged output of each step, per query time (index into `Fixture::times`).
    outputs: Vec<HashMap<&'static str, Vec<u8>>>,
}

struct Fixture {
    env: Env,
    files: Vec<(Kind, PathBuf)>,
    logs: HashMap<PathBuf, LogInfo>,
    /// Partition directory (relative) -> newest tail slot and its index.
    tails: HashMap<PathBuf, (TailSlot, usize)>,
    partition_dirs: Vec<PathBuf>,
    /// Query times for `--since` and `--at`.
    times: Vec<i64>,
    /// What the `produce` step appends: one record per partition.
    input: PathBuf,
    base: Baseline,
}

fn now_ms() -> i64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_millis() as i64
}

/// The fixture's records, as `produce --format json` lines, with their partitions.
fn fixture_records(start_ms: i64) -> Vec<Value> {
    let b64 = |b: &[u8]| base64::engine::general_purpose::STANDARD.encode(b);
    let mut rng = Rng(0x5eed_f1c5);
    (0..RECORDS)
        .map(|i| {
            let mut r = serde_json::Map::new();
            r.insert("partition".into(), json!(rng.below(2)));
            match rng.below(10) {
                0 => {
                    r.insert("key".into(), Value::Null);
                }
                1 => {
                    r.insert("key".into(), json!(""));
                }
                2 => {
                    let n = 1 + rng.below(12) as usize;
                    r.insert("key".into(), json!(b64(&rng.bytes(n))));
                    r.insert("key_encoding".into(), json!("base64"));
                }
                _ => {
                    r.insert("key".into(), json!(format!("key-{}", rng.below(40))));
                }
            }
            match rng.below(20) {
                0 => {
                    r.insert("value".into(), Value::Null);
                }
                1 => {
                    r.insert("value".into(), json!(""));
                }
                2 | 3 => {
                    let n = 1 + rng.below(200) as usize;
                    r.insert("value".into(), json!(b64(&rng.bytes(n))));
                    r.insert("value_encoding".into(), json!("base64"));
                }
                4 => {
                    r.insert("value".into(), json!(format!("zürich-日本-\"q\"\\-{i}")));
                }
                _ => {
                    let n = 10 + rng.below(290) as usize;
                    let s: String = (0..n)
                        .map(|k| (b'a' + ((i + k) % 26) as u8) as char)
                        .collect();
                    r.insert("value".into(), json!(format!("{i}:{s}")));
                }
            }
            let headers = match rng.below(6) {
                0..=2 => None,
                3 => Some(json!([{"key": "trace", "value": format!("t-{i}")}])),
                4 => Some(json!([{"key": "a", "value": "1"}, {"key": "b", "value": null}])),
                _ => Some(json!([{"key": "bin", "value": b64(&rng.bytes(8)),
                                  "value_encoding": "base64"}])),
            };
            if let Some(h) = headers {
                r.insert("headers".into(), h);
            }
            let mut ts = start_ms + i as i64 * 25_000 + rng.below(240_000) as i64 - 120_000;
            if rng.below(40) == 0 {
                ts -= 3_600_000; // a late record: time goes back in the log
            }
            r.insert("timestamp".into(), json!(ts));
            Value::Object(r)
        })
        .collect()
}

fn produce_stage(env: &Env, records: &[Value], acks: &str, codec: &str) {
    let file = env.dir.path().join("input.jsonl");
    let mut text = String::new();
    for r in records {
        text.push_str(&r.to_string());
        text.push('\n');
    }
    std::fs::write(&file, text).unwrap();
    // A file and a long linger: batches are cut by size only, the same way in every run.
    let f = file.to_string_lossy().into_owned();
    env.chute()
        .args([
            "produce", "-t", TOPIC, "--format", "json", "--file", &f, "-q",
        ])
        .args([
            "--batch-size",
            "700",
            "--linger",
            "30s",
            "--acks",
            acks,
            "-z",
            codec,
        ])
        .assert()
        .success();
}

fn group_offset(root: &Path, p: u64) -> Option<u64> {
    let f = root.join(format!("groups/{GROUP}/offsets/{TOPIC}/{p}.json"));
    let v: Value = serde_json::from_slice(&std::fs::read(f).ok()?).ok()?;
    v["offset"].as_u64()
}

fn walk(dir: &Path, rel: &Path, out: &mut Vec<PathBuf>) {
    for e in std::fs::read_dir(dir).unwrap() {
        let e = e.unwrap();
        let r = rel.join(e.file_name());
        if e.file_type().unwrap().is_dir() {
            walk(&e.path(), &r, out);
        } else {
            out.push(r);
        }
    }
}

fn copy_tree(from: &Path, to: &Path) {
    std::fs::create_dir_all(to).unwrap();
    for e in std::fs::read_dir(from).unwrap() {
        let e = e.unwrap();
        let dst = to.join(e.file_name());
        if e.file_type().unwrap().is_dir() {
            copy_tree(&e.path(), &dst);
        } else {
            std::fs::copy(e.path(), &dst).unwrap();
        }
    }
}

fn batches(log: &[u8], end: u64) -> Vec<(u64, u64)> {
    let mut v = Vec::new();
    let mut pos = 32u64;
    while pos + 46 <= end {
        let p = pos as usize;
        let base = u64::from_le_bytes(log[p..p + 8].try_into().unwrap());
        let len = u32::from_le_bytes(log[p + 8..p + 12].try_into().unwrap()) as u64;
        v.push((pos, base));
        pos += len.max(46);
    }
    v
}

impl Fixture {
    fn build() -> Fixture {
        let env = Env::new();
        let root = env.root();
        env.brokers(2);
        // Leaders are placed from a random start: create the topic until partition p is led
        // by broker p, so that a seed damages a leader's or a follower's file in every run.
        let led_by_own_number = || {
            let md: Value =
                serde_json::from_slice(&std::fs::read(root.join("metadata.json")).unwrap())
                    .unwrap();
            (0..2).all(|p| md["topics"][TOPIC]["partitions"][p]["leader"] == json!(p))
        };
        for attempt in 0.. {
            env.create_topic(TOPIC, 2, &["-r", "2", "-c", "segment.bytes=12KiB"]);
            if led_by_own_number() {
                break;
            }
            assert!(
                attempt < 50,
                "topic create never placed the leaders as wanted"
            );
            env.chute()
                .args(["topic", "delete", TOPIC])
                .assert()
                .success();
        }
        let start = now_ms() - 5 * 3_600_000;
        let recs = fixture_records(start);
        let count = |upto: usize, p: u64| {
            recs[..upto]
                .iter()
                .filter(|r| r["partition"].as_u64() == Some(p))
                .count() as u64
        };

        // Stage 1, then a group that committed part of it, then a member that read the rest
        // and was killed: its member file stays behind.
        produce_stage(&env, &recs[..STAGE1_END], "1", "none");
        env.chute()
            .args(["consume", "-t", TOPIC, "-g", GROUP, "-n", "100"])
            .assert()
            .success();
        let mut member = env
            .spawn(&["consume", "-t", TOPIC, "-g", GROUP, "--follow"])
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .unwrap();
        wait_for(
            "the follow member to commit stage 1",
            Duration::from_secs(60),
            || (0..2).all(|p| group_offset(&root, p) == Some(count(STAGE1_END, p))),
        );
        crate::util::kill9(&mut member);

        // Stage 2 (fsynced), stage 3 published but never fsynced on the leaders.
        // Compressed batches beside plain ones: damage to them is found by the same checks.
        produce_stage(&env, &recs[STAGE1_END..STAGE2_END], "1", "lz4");
        produce_stage(&env, &recs[STAGE2_END..], "0", "zstd");

        let mut all = Vec::new();
        walk(&root, Path::new(""), &mut all);
        all.sort();
        let files: Vec<(Kind, PathBuf)> = all
            .iter()
            .filter_map(|r| Kind::of(r).map(|k| (k, r.clone())))
            .collect();
        for k in KINDS {
            assert!(
                files.iter().any(|(x, _)| *x == k),
                "the fixture has no {} file: {all:?}",
                k.name()
            );
        }

        let mut tails = HashMap::new();
        let mut partition_dirs = Vec::new();
        for (k, rel) in &files {
            if *k == Kind::Tail {
                let dir = rel.parent().unwrap().to_path_buf();
                let t = read_tail(&std::fs::read(root.join(rel)).unwrap()).expect("valid tail");
                tails.insert(dir.clone(), t);
                partition_dirs.push(dir);
            }
        }
        let mut logs = HashMap::new();
        for (k, rel) in &files {
            if *k != Kind::Log {
                continue;
            }
            let dir = rel.parent().unwrap();
            let (t, _) = tails[dir];
            let bytes = std::fs::read(root.join(rel)).unwrap();
            let base: u64 = rel.file_stem().unwrap().to_str().unwrap().parse().unwrap();
            let active = base == t.segment_base;
            let end = if active {
                t.end_position
            } else {
                bytes.len() as u64
            };
            let b = batches(&bytes, end);
            let durable_position = if active {
                b.iter()
                    .find(|&&(_, o)| o >= t.durable_offset)
                    .map_or(end, |&(p, _)| p)
            } else {
                end
            };
            let dname = dir.file_name().unwrap().to_str().unwrap();
            let partition = dname.rsplit('-').next().unwrap().parse().unwrap();
            logs.insert(
                rel.clone(),
                LogInfo {
                    batches: b,
                    active,
                    end_position: end,
                    durable_position,
                    durable_offset: if active { t.durable_offset } else { u64::MAX },
                    partition,
                },
            );
        }

        assert!(
            logs.values()
                .any(|l| l.active && l.durable_position < l.end_position),
            "the fixture must end with batches published but never fsynced (produce --acks 0)"
        );

        let ts: Vec<i64> = recs
            .iter()
            .map(|r| r["timestamp"].as_i64().unwrap())
            .collect();
        let (lo, hi) = (*ts.iter().min().unwrap(), *ts.iter().max().unwrap());
        let times = vec![
            lo - 60_000,
            lo + (hi - lo) / 4,
            lo + (hi - lo) / 2,
            ts[RECORDS / 2],
            lo + (hi - lo) * 9 / 10,
            hi + 60_000,
        ];
        let input = env.dir.path().join("new.jsonl");
        let new: Vec<String> = (0..2)
            .map(|p| {
                let r = json!({"partition": p, "key": format!("new-{p}"),
                    "value": format!("appended after the damage to partition {p}"),
                    "headers": [{"key": "new", "value": "1"}], "timestamp": hi + 1000});
                r.to_string() + "\n"
            })
            .collect();
        std::fs::write(&input, new.concat()).unwrap();
        let mut fx = Fixture {
            env,
            files,
            logs,
            tails,
            partition_dirs,
            times,
            input,
            base: Baseline::default(),
        };
        fx.baseline(&recs, &count);
        fx
    }

    /// One line per replica: segments, batches, log end and durable offset; and a fingerprint
    /// of the layout (file types, sizes, batch positions), the same in every run.
    fn describe(&self) -> String {
        let mut layout = Vec::new();
        // The binary files only: JSON files hold ids, pids and times whose lengths may vary.
        let binary = [
            Kind::Log,
            Kind::Index,
            Kind::TimeIndex,
            Kind::Tail,
            Kind::LeaderEpochs,
        ];
        for (k, rel) in self.files.iter().filter(|(k, _)| binary.contains(k)) {
            let len = std::fs::metadata(self.template().join(rel)).unwrap().len();
            layout.push(format!("{k:?} {} {len}", rel.display()));
            if let Some(l) = self.logs.get(rel) {
                layout.push(format!("{:?} {}", l.batches, l.durable_position));
            }
        }
        let mut out = format!(
            "layout fingerprint {:08x}",
            crc32fast::hash(layout.join("\n").as_bytes())
        );
        let mut dirs = self.partition_dirs.clone();
        dirs.sort();
        for d in dirs {
            let (t, _) = self.tails[&d];
            let segs: Vec<&LogInfo> = self
                .logs
                .iter()
                .filter(|(p, _)| p.parent() == Some(&d))
                .map(|(_, l)| l)
                .collect();
            let batches: usize = segs.iter().map(|l| l.batches.len()).sum();
            out.push_str(&format!(
                "\n  {}: {} segments, {batches} batches, active segment {}, durable offset {}",
                d.display(),
                segs.len(),
                t.segment_base,
                t.durable_offset
            ));
        }
        out
    }

    fn template(&self) -> PathBuf {
        self.env.root()
    }

    /// Run every command on undamaged copies (once per query time, and the first twice): they
    /// must all succeed, agree with the records produced, and be deterministic.
    fn baseline(&mut self, recs: &[Value], count: &dyn Fn(usize, u64) -> u64) {
        let dir = self.env.dir.path().join("baseline");
        for ti in 0..=self.times.len() {
            let root = dir.join(format!("root{ti}"));
            copy_tree(&self.template(), &root);
            let dump_dir = root.join(&self.partition_dirs[0]);
            let time = self.times[ti % self.times.len()];
            let copy = dir.join(format!("copy{ti}"));
            let steps = run_plan(&root, &copy, &dump_dir, time, &self.input);
            for s in &steps {
                assert!(
                    s.out.ok(),
                    "undamaged fixture: `chute {}` {}: {}",
                    s.args.join(" "),
                    s.out.status(),
                    s.out.stderr_excerpt()
                );
            }
            if ti == 0 {
                self.base.records.clear();
                for line in lines(&step(&steps, CONSUME).out.stdout) {
                    let v: Value = serde_json::from_slice(line).unwrap();
                    let (p, o) = (
                        v["partition"].as_u64().unwrap(),
                        v["offset"].as_u64().unwrap(),
                    );
                    self.base.records.insert((p, o), line.to_vec());
                    self.base.order.entry(p).or_default().push(o);
                }
                self.check_records_match(recs, count);
                for line in lines(&step(&steps, CONSUME_AFTER_PRODUCE).out.stdout) {
                    let v: Value = serde_json::from_slice(line).unwrap();
                    let (p, o) = (
                        v["partition"].as_u64().unwrap(),
                        v["offset"].as_u64().unwrap(),
                    );
                    if o as usize >= self.base.order[&p].len() {
                        let digits = o.to_string();
                        let marker = format!("\"offset\":{digits},");
                        let text = std::str::from_utf8(line).unwrap();
                        let at = text.find(&marker).unwrap() + marker.len() - digits.len() - 1;
                        let (a, b) = line.split_at(at);
                        self.base
                            .new_records
                            .insert(p, (a.to_vec(), b[digits.len()..].to_vec()));
                    }
                }
                assert_eq!(
                    self.base.new_records.len(),
                    2,
                    "records appended by produce"
                );
            }
            let outputs: HashMap<&'static str, Vec<u8>> = steps
                .iter()
                .map(|s| (s.name, comparable(s.name, &s.out.stdout)))
                .collect();
            if ti < self.times.len() {
                self.base.outputs.push(outputs);
            }
            // The checks of a case, on undamaged data: none may fail.
            let expect = Expect::for_class(Class::Unchanged, None);
            let problems = self.check(&steps, &expect, ti % self.times.len());
            assert!(
                problems.is_empty(),
                "undamaged fixture fails the checks: {:#?}",
                problems
            );
        }
        std::fs::remove_dir_all(&dir).unwrap();
    }

    /// The baseline `consume` shows exactly the records produced, in order, per partition.
    fn check_records_match(&self, recs: &[Value], count: &dyn Fn(usize, u64) -> u64) {
        for p in 0..2u64 {
            let want: Vec<&Value> = recs
                .iter()
                .filter(|r| r["partition"].as_u64() == Some(p))
                .collect();
            let offsets = &self.base.order[&p];
            assert_eq!(offsets.len(), want.len(), "records of partition {p}");
            assert_eq!(count(RECORDS, p), want.len() as u64);
            for (i, &o) in offsets.iter().enumerate() {
                assert_eq!(o, i as u64, "offsets of partition {p}");
                let got: Value = serde_json::from_slice(&self.base.records[&(p, o)]).unwrap();
                let w = want[i];
                assert_eq!(got["timestamp"], w["timestamp"], "timestamp of {p}:{o}");
                for f in ["key", "value"] {
                    assert_eq!(decoded(&got, f), decoded(w, f), "{f} of {p}:{o}");
                }
                let headers = |r: &Value| -> Vec<(Value, Option<Vec<u8>>)> {
                    r.get("headers")
                        .and_then(|h| h.as_array())
                        .map_or(Vec::new(), |h| {
                            h.iter()
                                .map(|x| (x["key"].clone(), decoded(x, "value")))
                                .collect()
                        })
                };
                assert_eq!(headers(&got), headers(w), "headers of {p}:{o}");
            }
        }
    }
}

/// The bytes of a nullable field of a JSON record (`FIELD_encoding: base64` or UTF-8 text).
fn decoded(r: &Value, field: &str) -> Option<Vec<u8>> {
    let v = r.get(field)?.as_str()?;
    if r.get(format!("{field}_encoding")).and_then(|e| e.as_str()) == Some("base64") {
        Some(base64::engine::general_purpose::STANDARD.decode(v).unwrap())
    } else {
        Some(v.as_bytes().to_vec())
    }
}

/// Output of a step as it is compared: consume -g in sorted lines (the order in which a group
/// member visits partitions is not part of the answer); everything else as printed.
fn comparable(name: &str, out: &[u8]) -> Vec<u8> {
    if name == GROUP_CONSUME {
        let mut l = lines(out);
        l.sort();
        l.join(&b'\n')
    } else {
        out.to_vec()
    }
}

fn lines(b: &[u8]) -> Vec<&[u8]> {
    crate::util::lines(b)
}

// ---------------------------------------------------------------------------------------------
// Mutations.

#[derive(Clone, Debug)]
enum Mutation {
    FlipBits(Vec<u64>),
    Overwrite {
        at: u64,
        bytes: Vec<u8>,
    },
    Truncate {
        from: u64,
        to: u64,
    },
    Extend {
        from: u64,
        bytes: Vec<u8>,
        what: &'static str,
    },
    Zero {
        at: u64,
        len: u64,
    },
}

impl Mutation {
    fn kind(&self) -> &'static str {
        match self {
            Mutation::FlipBits(_) => "flip bits",
            Mutation::Overwrite { .. } => "overwrite bytes",
            Mutation::Truncate { .. } => "truncate",
            Mutation::Extend { .. } => "extend",
            Mutation::Zero { .. } => "zero range",
        }
    }

    fn apply(&self, b: &mut Vec<u8>) {
        match self {
            Mutation::FlipBits(bits) => {
                for &bit in bits {
                    b[(bit / 8) as usize] ^= 1 << (bit % 8);
                }
            }
            Mutation::Overwrite { at, bytes } => {
                b[*at as usize..*at as usize + bytes.len()].copy_from_slice(bytes)
            }
            Mutation::Truncate { to, .. } => b.truncate(*to as usize),
            Mutation::Extend { bytes, .. } => b.extend_from_slice(bytes),
            Mutation::Zero { at, len } => b[*at as usize..(at + len) as usize].fill(0),
        }
    }
}

impl fmt::Display for Mutation {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Mutation::FlipBits(bits) => {
                let v: Vec<String> = bits
                    .iter()
                    .map(|b| format!("{}.{}", b / 8, b % 8))
                    .collect();
                write!(f, "flip bits (byte.bit) {}", v.join(" "))
            }
            Mutation::Overwrite { at, bytes } => {
                let hex: String = bytes.iter().map(|x| format!("{x:02x}")).collect();
                write!(f, "overwrite {} bytes at {at} with {hex}", bytes.len())
            }
            Mutation::Truncate { from, to } => write!(f, "truncate from {from} to {to} bytes"),
            Mutation::Extend { from, bytes, what } => {
                write!(f, "extend {from} bytes by {} {what}", bytes.len())
            }
            Mutation::Zero { at, len } => write!(f, "zero {len} bytes at {at}"),
        }
    }
}

/// The mutations of one case, applied in order to one file.
#[derive(Clone, Debug)]
struct Damage(Vec<Mutation>);

impl Damage {
    fn kind(&self) -> String {
        let k: Vec<&str> = self.0.iter().map(|m| m.kind()).collect();
        k.join(" + ")
    }
}

impl fmt::Display for Damage {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        for (i, m) in self.0.iter().enumerate() {
            if i > 0 {
                write!(f, ", then ")?;
            }
            write!(f, "{m}")?;
        }
        Ok(())
    }
}

/// Byte positions worth aiming at: the fields of each structure in the file.
fn hot_spots(kind: Kind, bytes: &[u8], log: Option<&LogInfo>) -> Vec<u64> {
    let len = bytes.len() as u64;
    let mut v: Vec<u64> = match kind {
        Kind::Log => {
            let mut v = vec![0, 8, 16, 24];
            for &(pos, _) in &log.unwrap().batches {
                v.extend([0, 8, 12, 16, 20, 21, 22, 26, 30, 38, 46, 47].map(|d| pos + d));
            }
            v
        }
        Kind::Index => (32..len).step_by(8).flat_map(|p| [p, p + 4]).collect(),
        Kind::TimeIndex => (32..len).step_by(12).flat_map(|p| [p, p + 8]).collect(),
        Kind::Tail => [0, 8, 16, 24, 32, 40, 48, 56, 64, 72, 80, 84, 88, 92]
            .iter()
            .flat_map(|&d| [d, if d >= 32 { d + 64 } else { d }])
            .collect(),
        Kind::LeaderEpochs => {
            let mut v = vec![0, 8, 16, 32, len.saturating_sub(4)];
            v.extend((36..len).step_by(12).flat_map(|p| [p, p + 4]));
            v
        }
        // Text: aim at digits (a flipped low bit keeps valid JSON with another number) and quotes.
        _ => (0..len)
            .filter(|&i| bytes[i as usize].is_ascii_digit() || bytes[i as usize] == b'"')
            .collect(),
    };
    v.retain(|&p| p < len);
    v
}

fn position(rng: &mut Rng, len: u64, hot: &[u64]) -> u64 {
    match rng.below(10) {
        0..=2 => rng.below(len),
        3..=4 => rng.below(len.min(64)),
        5..=6 => len - 1 - rng.below(len.min(512)),
        _ if !hot.is_empty() => (rng.pick(hot) + rng.below(4)).min(len - 1),
        _ => rng.below(len),
    }
}

fn mutate(rng: &mut Rng, bytes: &[u8], hot: &[u64], extend: bool) -> Mutation {
    let len = bytes.len() as u64;
    let choice = if len == 0 || extend {
        70
    } else {
        rng.below(100)
    };
    match choice {
        0..=29 => {
            let at = position(rng, len, hot);
            let n = if rng.percent(75) {
                rng.range(1, 3)
            } else {
                rng.range(4, 16)
            };
            let spread = if n <= 3 { 1 } else { 8 };
            let mut bits: Vec<u64> = (0..n)
                .map(|_| (at + rng.below(spread)).min(len - 1) * 8 + rng.below(8))
                .collect();
            bits.sort();
            bits.dedup();
            Mutation::FlipBits(bits)
        }
        30..=49 => {
            let at = position(rng, len, hot);
            let n = if rng.percent(80) {
                rng.range(1, 8)
            } else {
                rng.range(9, 64)
            };
            let n = n.min(len - at);
            Mutation::Overwrite {
                at,
                bytes: rng.bytes(n as usize),
            }
        }
        50..=64 => {
            let to = match rng.below(10) {
                0..=2 => rng.below(len),
                3..=5 => len - rng.range(1, len.min(64)),
                _ => {
                    let p = if hot.is_empty() {
                        rng.below(len)
                    } else {
                        *rng.pick(hot)
                    };
                    (p + rng.below(4)).min(len - 1)
                }
            };
            Mutation::Truncate { from: len, to }
        }
        65..=79 => {
            let n = match rng.below(10) {
                0..=3 => rng.range(1, 16),
                4..=7 => rng.range(17, 512),
                _ => rng.range(513, 8192),
            } as usize;
            let (bytes, what) = match rng.below(3) {
                0 => (vec![0; n], "zero bytes"),
                1 if len > 0 => {
                    let from = rng.below(len) as usize;
                    let b = (0..n).map(|i| bytes[(from + i) % len as usize]).collect();
                    (b, "bytes copied from the file itself")
                }
                _ => (rng.bytes(n), "random bytes"),
            };
            Mutation::Extend {
                from: len,
                bytes,
                what,
            }
        }
        _ => {
            let at = position(rng, len, hot);
            let n = match rng.below(10) {
                0..=5 => rng.range(1, 16),
                6..=8 => rng.range(17, 256),
                _ => len - at,
            };
            Mutation::Zero {
                at,
                len: n.clamp(1, len - at),
            }
        }
    }
}

// ---------------------------------------------------------------------------------------------
// What a mutation may change, and what the commands must then do.

#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
enum Class {
    /// A cache (`.index`, `.timeindex`) or lock file: no answer may change.
    Cache,
    /// Bytes nobody reads (older tail slot, unchecked header bytes, beyond the commit point).
    Unchanged,
    /// `leader-epochs`: derivable from the log, read by no read path.
    Derivable,
    /// Damage at or above the durable offset of an active segment: a tail lost before fsync.
    TornTail,
    /// A damaged `tail` file: a lost commit point that `verify --repair` rebuilds.
    LostTail,
    /// Batches damaged below the durable offset, in one replica: `verify --repair` restores
    /// them from the other, in-sync one.
    Restorable,
    /// Anything else: the universal checks only.
    Other,
}

impl Class {
    fn name(self) -> &'static str {
        match self {
            Class::Cache => "cache",
            Class::Unchanged => "unread bytes",
            Class::Derivable => "derivable",
            Class::TornTail => "unsynced tail",
            Class::LostTail => "lost commit point",
            Class::Restorable => "durable, replicated",
            Class::Other => "other",
        }
    }
}

/// Header bytes no reader checks: reserved, and created_ms (format.md, "Common file header").
const UNCHECKED_HEADER: [std::ops::Range<u64>; 2] = [10..16, 24..32];

/// Positions of the bytes that differ between two versions of a file, in increasing order
/// (every byte past the end of the shorter one differs).
fn changed(old: &[u8], new: &[u8]) -> Vec<u64> {
    let common = old.len().min(new.len());
    let mut v: Vec<u64> = (0..common)
        .filter(|&i| old[i] != new[i])
        .map(|i| i as u64)
        .collect();
    v.extend(common as u64..old.len().max(new.len()) as u64);
    v
}

/// The class of the damage that turned `old` into `new`, judged by the bytes that changed.
fn classify(fx: &Fixture, kind: Kind, rel: &Path, old: &[u8], new: &[u8]) -> Class {
    let diff = changed(old, new);
    let version = diff.iter().any(|b| (8..10).contains(b));
    let unchecked = |b: &u64| UNCHECKED_HEADER.iter().any(|r| r.contains(b));
    match kind {
        Kind::Index | Kind::TimeIndex | Kind::Lock => Class::Cache,
        // Derivable, except that a newer version is refused.
        Kind::LeaderEpochs if version => Class::Other,
        Kind::LeaderEpochs => Class::Derivable,
        // Shorter than its header: the header was fsynced with the segment.
        Kind::Log if new.len() < 32 => Class::Other,
        Kind::Log => {
            let l = &fx.logs[rel];
            // created_ms only makes a writer roll early or late: it does not count.
            let counted: Vec<u64> = diff.into_iter().filter(|b| !unchecked(b)).collect();
            let (Some(&lo), Some(&hi)) = (counted.first(), counted.last()) else {
                return Class::Unchanged;
            };
            if lo < 32 {
                Class::Other // magic, version or base offset of the segment
            } else if l.active && lo >= l.end_position {
                Class::Unchanged
            } else if l.active && lo >= l.durable_position {
                Class::TornTail
            } else if !l.active || hi < l.durable_position {
                Class::Restorable
            } else {
                Class::Other // durable damage and a torn tail at once
            }
        }
        // A short tail file is a lost one, whatever it still holds.
        Kind::Tail if new.len() < 160 => Class::LostTail,
        Kind::Tail if version => Class::Other,
        Kind::Tail => {
            let (_, newer) = fx.tails[rel.parent().unwrap()];
            let older = 32 + 64 * (1 - newer as u64);
            let unread = |b: &u64| unchecked(b) || (older..older + 64).contains(b) || *b >= 160;
            if diff.iter().all(unread) {
                Class::Unchanged
            } else {
                Class::LostTail
            }
        }
        _ => Class::Other,
    }
}

#[derive(Debug)]
struct Expect {
    /// Answers equal the undamaged run's, with exit 0.
    answers: &'static [&'static str],
    /// Steps that must exit 0.
    succeed: &'static [&'static str],
    /// (partition, durable offset): `consume` must deliver every record below it.
    durable: Option<(u64, u64)>,
}

/// The commands that give answers (records, offsets); `answers![X]` adds X to them.
macro_rules! answers {
    ($($extra:expr),*) => {
        &[
            CONSUME,
            SINCE,
            OFFSETS,
            AT,
            GROUP_OFFSETS,
            GROUP_CONSUME,
            CONSUME_AFTER_CONTROLLER,
            CONSUME_AFTER_REPAIR,
            CONSUME_AFTER_PRODUCE,
            $($extra),*
        ]
    };
}
const ANSWERS: &[&str] = answers![];
const ANSWERS_AND_DESCRIBE: &[&str] = answers![DESCRIBE];

impl Expect {
    fn for_class(c: Class, durable: Option<(u64, u64)>) -> Expect {
        let (answers, succeed): (&[&str], &[&str]) = match c {
            Class::Cache => (ANSWERS_AND_DESCRIBE, &[REPAIR, PRODUCE]),
            Class::Unchanged => (ANSWERS, &[VERIFY, REPAIR, PRODUCE]),
            Class::Derivable => (ANSWERS, &[PRODUCE]),
            Class::TornTail => (
                &[],
                &[
                    CONSUME,
                    SINCE,
                    OFFSETS,
                    AT,
                    GROUP_CONSUME,
                    REPAIR,
                    PRODUCE,
                    CONSUME_AFTER_PRODUCE,
                ],
            ),
            Class::LostTail => (&[], &[REPAIR, PRODUCE, CONSUME_AFTER_PRODUCE]),
            Class::Restorable => (&[CONSUME_AFTER_REPAIR], &[REPAIR]),
            Class::Other => (&[], &[]),
        };
        Expect {
            answers,
            succeed,
            durable,
        }
    }
}

const DIFFERS: &str = "answer differs from the undamaged run";
const EXPECTED_0: &str = " (expected exit 0)";

#[derive(Debug)]
struct Problem {
    step: &'static str,
    /// Short and stable: grouped on.
    what: String,
    detail: String,
}

/// How the records a consume step printed must relate to the log.
#[derive(Clone, Copy, PartialEq)]
enum Shape {
    /// From the log start, no gaps (the whole log, or as much of it as is readable).
    Prefix,
    /// Like `Prefix`, then at most the record `produce` appended, at the next offset.
    PrefixThenNew,
    /// No gaps (from a committed offset or a time).
    Contiguous,
}

impl Fixture {
    fn check(&self, steps: &[Step], expect: &Expect, time: usize) -> Vec<Problem> {
        let mut problems = Vec::new();
        let mut add = |step: &'static str, what: String, detail: String| {
            problems.push(Problem { step, what, detail })
        };
        for s in steps {
            let o = &s.out;
            let err = o.stderr_excerpt();
            if o.hung {
                add(
                    s.name,
                    "hang".into(),
                    format!("killed after {DEADLINE:?}; stderr: {err}"),
                );
            }
            let text = String::from_utf8_lossy(&o.stderr);
            if o.code == Some(101) || text.contains("panicked") || text.contains("RUST_BACKTRACE") {
                add(s.name, "panic".into(), err.clone());
            } else if let Some(c) = o.code.filter(|c| !DOCUMENTED_EXITS.contains(c)) {
                add(s.name, format!("undocumented exit {c}"), err.clone());
            }
            if let Some(sig) = o.signal.filter(|_| !o.hung) {
                add(
                    s.name,
                    format!(
                        "killed by signal {sig} (over the {} MiB memory limit, or a crash)",
                        RSS_LIMIT_KIB / 1024
                    ),
                    format!("{}; stderr: {err}", o.status()),
                );
            }
            let shape = match s.name {
                CONSUME | CONSUME_AFTER_CONTROLLER | CONSUME_AFTER_REPAIR => Some(Shape::Prefix),
                CONSUME_AFTER_PRODUCE => Some(Shape::PrefixThenNew),
                SINCE | GROUP_CONSUME => Some(Shape::Contiguous),
                _ => None,
            };
            if let Some(shape) = shape {
                for (what, detail) in self.check_records(o, shape) {
                    add(s.name, what, detail);
                }
            }
        }
        for &name in expect.answers {
            let s = step(steps, name);
            if name == CONSUME_AFTER_PRODUCE && !step(steps, PRODUCE).out.ok() {
                continue; // the failed produce is the problem
            }
            let want = &self.base.outputs[time][name];
            let got = comparable(name, &s.out.stdout);
            if !s.out.ok() || &got != want {
                add(
                    name,
                    DIFFERS.into(),
                    format!(
                        "{}; {}; stderr: {}",
                        s.out.status(),
                        first_difference(want, &got),
                        s.out.stderr_excerpt()
                    ),
                );
            }
        }
        for &name in expect.succeed {
            let s = step(steps, name);
            if name == CONSUME_AFTER_PRODUCE && !step(steps, PRODUCE).out.ok() {
                continue; // the failed produce is the problem
            }
            if !s.out.ok() && !s.out.hung {
                add(
                    name,
                    format!("{}{EXPECTED_0}", s.out.status()),
                    s.out.stderr_excerpt(),
                );
            }
        }
        if let Some((p, durable)) = expect.durable {
            for name in [CONSUME, CONSUME_AFTER_REPAIR, CONSUME_AFTER_PRODUCE] {
                let s = step(steps, name);
                let have = delivered(&s.out.stdout, p);
                if let Some(missing) = (0..durable).find(|o| !have.contains(o)) {
                    add(
                        name,
                        "durable record missing".into(),
                        format!(
                            "partition {p} offset {missing} is below the durable offset {durable}; {}; stderr: {}",
                            s.out.status(),
                            s.out.stderr_excerpt()
                        ),
                    );
                }
            }
        }
        // Acknowledged records can be read (unless older damage stops every reader before them).
        let (produce, after) = (step(steps, PRODUCE), step(steps, CONSUME_AFTER_PRODUCE));
        if produce.out.ok() && step(steps, CONSUME).out.ok() && !after.out.hung {
            let missing: Vec<u64> = (0..2)
                .filter(|&p| {
                    let (a, b) = &self.base.new_records[&p];
                    !lines(&after.out.stdout)
                        .iter()
                        .any(|l| l.starts_with(a) && l.ends_with(b))
                })
                .collect();
            if !after.out.ok() || !missing.is_empty() {
                add(
                    CONSUME_AFTER_PRODUCE,
                    "produce succeeded, its records cannot be read".into(),
                    format!(
                        "{}; not delivered to partitions {missing:?}; stderr: {}",
                        after.out.status(),
                        after.out.stderr_excerpt()
                    ),
                );
            }
        }
        // Consistency between the commands: what verify passes, the others can read (exit 74
        // only: a partition may be offline, exit 75, with its data intact).
        let implies = [
            (
                REPAIR,
                VERIFY_AFTER_REPAIR,
                "verify --repair succeeded, then verify failed",
            ),
            (
                VERIFY_AFTER_REPAIR,
                CONSUME_AFTER_REPAIR,
                "verify passed, consume found corruption",
            ),
            (VERIFY, CONSUME, "verify passed, consume found corruption"),
        ];
        for (a, b, what) in implies {
            let (sa, sb) = (step(steps, a), step(steps, b));
            let bad = if b == VERIFY_AFTER_REPAIR {
                !sb.out.ok()
            } else {
                sb.out.code == Some(74)
            };
            if sa.out.ok() && bad && !sb.out.hung {
                add(
                    b,
                    what.into(),
                    format!("{}; stderr: {}", sb.out.status(), sb.out.stderr_excerpt()),
                );
            }
        }
        // A step with a specific problem (a hang, garbage, a wrong exit) need not also be
        // reported as a changed answer or a failed exit.
        let generic = |p: &Problem| {
            p.what == DIFFERS || p.what.ends_with(EXPECTED_0) || p.what.starts_with("verify passed")
        };
        let specific: Vec<&'static str> = problems
            .iter()
            .filter(|p| !generic(p))
            .map(|p| p.step)
            .collect();
        problems.retain(|p| !generic(p) || !specific.contains(&p.step));
        problems
    }

    /// Every line is a record of the fixture at its own partition and offset, byte for byte;
    /// per partition in log order without gaps.
    fn check_records(&self, o: &Outcome, shape: Shape) -> Vec<(String, String)> {
        let mut v = Vec::new();
        let out = &o.stdout;
        if !o.hung && !out.is_empty() && out.last() != Some(&b'\n') {
            v.push((
                "output ends inside a line".into(),
                format!(
                    "last bytes: {}",
                    excerpt(&out[out.len().saturating_sub(200)..], 200)
                ),
            ));
        }
        let complete = match out.iter().rposition(|&c| c == b'\n') {
            Some(i) => &out[..=i],
            None => &out[..0],
        };
        let mut seen: BTreeMap<u64, Vec<u64>> = BTreeMap::new();
        // Records `produce` appended (the copy's consume only), per partition.
        let mut appended: BTreeMap<u64, Vec<u64>> = BTreeMap::new();
        for line in lines(complete) {
            let key = serde_json::from_slice::<Value>(line)
                .ok()
                .and_then(|j| Some((j["partition"].as_u64()?, j["offset"].as_u64()?)));
            let known = |k: &(u64, u64)| self.base.records.get(k).map(|r| &r[..]) == Some(line);
            let new = |&(p, o): &(u64, u64)| {
                shape == Shape::PrefixThenNew
                    && self.base.new_records.get(&p).is_some_and(|(a, b)| {
                        line == [&a[..], o.to_string().as_bytes(), &b[..]].concat()
                    })
            };
            match key {
                Some(k) if known(&k) && !appended.contains_key(&k.0) => {
                    seen.entry(k.0).or_default().push(k.1)
                }
                Some(k) if known(&k) => v.push((
                    "records after the appended one".into(),
                    format!("partition {}: offset {} after the new record", k.0, k.1),
                )),
                Some(k) if new(&k) => appended.entry(k.0).or_default().push(k.1),
                _ => {
                    v.push((
                        "garbage record".into(),
                        format!("{}; line: {}", o.status(), excerpt(line, 300)),
                    ));
                    return v;
                }
            }
        }
        for (p, got) in &seen {
            let order = &self.base.order[p];
            let first = order.iter().position(|x| x == &got[0]).unwrap();
            let want = &order[first..(first + got.len()).min(order.len())];
            if got != want {
                v.push((
                    "records skipped, repeated or out of order".into(),
                    format!("partition {p}: got offsets {}", ranges(got)),
                ));
            } else if shape != Shape::Contiguous && o.ok() && first != 0 {
                v.push((
                    "records skipped at the log start".into(),
                    format!("partition {p}: got offsets {}", ranges(got)),
                ));
            }
        }
        for (p, new) in appended {
            let next = seen.get(&p).and_then(|g| g.last()).map_or(0, |l| l + 1);
            if new != [next] {
                v.push((
                    "appended record at the wrong offset".into(),
                    format!(
                        "partition {p}: at {}, the log before it ends at {next}",
                        ranges(&new)
                    ),
                ));
            }
        }
        v
    }
}

fn delivered(out: &[u8], p: u64) -> std::collections::HashSet<u64> {
    lines(out)
        .into_iter()
        .filter_map(|l| serde_json::from_slice::<Value>(l).ok())
        .filter(|j| j["partition"].as_u64() == Some(p))
        .filter_map(|j| j["offset"].as_u64())
        .collect()
}

/// `0-5 7 9-12`.
fn ranges(v: &[u64]) -> String {
    let mut out: Vec<String> = Vec::new();
    let mut i = 0;
    while i < v.len() {
        let mut j = i;
        while j + 1 < v.len() && v[j + 1] == v[j] + 1 {
            j += 1;
        }
        out.push(if i == j {
            v[i].to_string()
        } else {
            format!("{}-{}", v[i], v[j])
        });
        i = j + 1;
    }
    out.join(" ")
}

fn first_difference(want: &[u8], got: &[u8]) -> String {
    let (w, g) = (lines(want), lines(got));
    let i = w.iter().zip(&g).take_while(|(a, b)| a == b).count();
    let (a, b) = (w.get(i).copied(), g.get(i).copied());
    // Within the line, show where it starts to differ.
    let col = match (a, b) {
        (Some(a), Some(b)) => a.iter().zip(b).take_while(|(x, y)| x == y).count(),
        _ => 0,
    };
    let from = col.saturating_sub(60);
    let show = |l: Option<&[u8]>| {
        l.map_or("<end>".to_string(), |l| {
            let l = &l[from.min(l.len())..];
            format!("{}{}", if from > 0 { "..." } else { "" }, excerpt(l, 200))
        })
    };
    format!(
        "{} vs {} lines; first difference at line {}, byte {col}: expected {} got {}",
        w.len(),
        g.len(),
        i + 1,
        show(a),
        show(b)
    )
}

// ---------------------------------------------------------------------------------------------
// One case.

struct Failure {
    seed: u64,
    case: u64,
    kind: Kind,
    file: PathBuf,
    damage: Damage,
    class: Class,
    command: String,
    problem: Problem,
    kept: Option<PathBuf>,
}

impl Failure {
    /// What failures are grouped by: file type, class of damage, command, problem.
    fn signature(&self) -> (Kind, Class, &'static str, String) {
        (
            self.kind,
            self.class,
            self.problem.step,
            self.problem.what.clone(),
        )
    }
}

impl fmt::Display for Failure {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        writeln!(f, "  seed {} (case {})", self.seed, self.case)?;
        writeln!(f, "  file: {} ({})", self.file.display(), self.kind.name())?;
        writeln!(f, "  damage: {} [{}]", self.damage, self.class.name())?;
        writeln!(f, "  command: {}", self.command)?;
        writeln!(
            f,
            "  problem: {}: {}",
            self.problem.what, self.problem.detail
        )?;
        if let Some(k) = &self.kept {
            writeln!(
                f,
                "  kept: {} (root: the damaged root; copy: where produce ran)",
                k.display()
            )?;
        }
        write!(
            f,
            "  reproduce: CHUTE_FUZZ_SEED={} cargo test --release --test it fuzz -- --nocapture",
            self.seed
        )
    }
}

struct CaseResult {
    kind: Kind,
    class: Class,
    failures: Vec<Failure>,
    timings: Vec<(&'static str, Duration, i64)>,
}

fn run_case(fx: &Fixture, work: &Path, case: u64, seed: u64, keep: bool) -> CaseResult {
    let mut rng = Rng(seed);
    let total: u64 = KINDS.iter().map(|k| k.weight()).sum();
    let mut r = rng.below(total);
    let kind = *KINDS
        .iter()
        .find(|k| {
            if r < k.weight() {
                true
            } else {
                r -= k.weight();
                false
            }
        })
        .unwrap();
    let candidates: Vec<&PathBuf> = fx
        .files
        .iter()
        .filter(|(k, _)| *k == kind)
        .map(|(_, p)| p)
        .collect();
    // Log files: a third of the time, an active segment (where torn tails live).
    let active: Vec<&PathBuf> = candidates
        .iter()
        .copied()
        .filter(|p| fx.logs.get(*p).is_some_and(|l| l.active))
        .collect();
    let rel = if kind == Kind::Log && rng.percent(33) {
        (*rng.pick(&active)).clone()
    } else {
        (*rng.pick(&candidates)).clone()
    };
    let time = rng.below(fx.times.len() as u64) as usize;

    let dir = work.join(format!("case-{case}"));
    let root = dir.join("root");
    copy_tree(&fx.template(), &root);
    let path = root.join(&rel);
    let mut bytes = std::fs::read(&path).unwrap();
    let hot = hot_spots(kind, &bytes, fx.logs.get(&rel));
    // One mutation, or two (the second often an extension: a torn write followed by garbage).
    let n = if rng.percent(20) { 2 } else { 1 };
    let original = bytes.clone();
    let mut damage = Damage(Vec::new());
    for i in 0..n {
        let extend = i == 1 && rng.percent(50);
        let m = mutate(&mut rng, &bytes, &hot, extend);
        m.apply(&mut bytes);
        damage.0.push(m);
    }
    std::fs::write(&path, &bytes).unwrap();
    let class = classify(fx, kind, &rel, &original, &bytes);
    let durable = (class == Class::TornTail).then(|| {
        let l = &fx.logs[&rel];
        (l.partition, l.durable_offset)
    });
    let expect = Expect::for_class(class, durable);

    let dump_dir = match rel.parent() {
        Some(d) if fx.tails.contains_key(d) => root.join(d),
        _ => root.join(rng.pick(&fx.partition_dirs)),
    };
    let steps = run_plan(
        &root,
        &dir.join("copy"),
        &dump_dir,
        fx.times[time],
        &fx.input,
    );
    let problems = fx.check(&steps, &expect, time);
    let kept = if !problems.is_empty() && keep {
        Some(dir.clone())
    } else {
        std::fs::remove_dir_all(&dir).unwrap();
        None
    };
    let failures = problems
        .into_iter()
        .map(|problem| {
            let s = step(&steps, problem.step);
            Failure {
                seed,
                case,
                kind,
                file: rel.clone(),
                damage: damage.clone(),
                class,
                command: format!("chute {}", s.args.join(" ")),
                problem,
                kept: kept.clone(),
            }
        })
        .collect();
    CaseResult {
        kind,
        class,
        failures,
        timings: steps
            .iter()
            .map(|s| (s.name, s.out.elapsed, s.out.rss_kib))
            .collect(),
    }
}

fn env_u64(name: &str) -> Option<u64> {
    let v = std::env::var(name).ok()?;
    let v = v.trim();
    if v == "random" {
        return Some(now_ms() as u64 ^ ((std::process::id() as u64) << 40));
    }
    let parsed = match v.strip_prefix("0x") {
        Some(h) => u64::from_str_radix(h, 16),
        None => v.parse(),
    };
    Some(parsed.unwrap_or_else(|e| panic!("{name}={v}: {e}")))
}

#[test]
fn fuzz_damaged_files() {
    let seed = env_u64("CHUTE_FUZZ_SEED");
    let cases =
        env_u64("CHUTE_FUZZ_CASES").unwrap_or(if seed.is_some() { 1 } else { DEFAULT_CASES });
    let first_seed = seed.unwrap_or(DEFAULT_SEED);
    let threads = env_u64("CHUTE_FUZZ_THREADS").unwrap_or_else(|| {
        std::thread::available_parallelism().map_or(2, |n| n.get().min(2) as u64)
    });
    let keep = std::env::var_os("CHUTE_FUZZ_KEEP").is_some_and(|v| v != "0");

    let started = Instant::now();
    let fx = Fixture::build();
    let built = started.elapsed();
    eprintln!(
        "fuzz: fixture of {} files, built in {built:.1?}, {}",
        fx.files.len(),
        fx.describe()
    );
    let work = tempfile::tempdir().unwrap();
    let work_path = if keep {
        work.keep()
    } else {
        work.path().to_path_buf()
    };
    let next = AtomicU64::new(0);
    let results: Mutex<Vec<CaseResult>> = Mutex::new(Vec::new());
    std::thread::scope(|s| {
        for _ in 0..threads.max(1) {
            s.spawn(|| {
                loop {
                    let i = next.fetch_add(1, Ordering::Relaxed);
                    if i >= cases {
                        break;
                    }
                    let r = run_case(&fx, &work_path, i, first_seed.wrapping_add(i), keep);
                    let mut all = results.lock().unwrap();
                    all.push(r);
                    if all.len().is_multiple_of(250) && (all.len() as u64) < cases {
                        let failed = all.iter().filter(|r| !r.failures.is_empty()).count();
                        eprintln!(
                            "fuzz: {} of {cases} cases done, {failed} failed, {:.0?}",
                            all.len(),
                            started.elapsed()
                        );
                    }
                }
            });
        }
    });
    let results = results.into_inner().unwrap();

    let mut per_kind: BTreeMap<(Kind, Class), (u64, u64)> = BTreeMap::new();
    for r in &results {
        let e = per_kind.entry((r.kind, r.class)).or_default();
        e.0 += 1;
        e.1 += u64::from(!r.failures.is_empty());
    }
    let mut groups: BTreeMap<_, Vec<&Failure>> = BTreeMap::new();
    for f in results.iter().flat_map(|r| &r.failures) {
        groups.entry(f.signature()).or_default().push(f);
    }
    let failed = results.iter().filter(|r| !r.failures.is_empty()).count();
    eprintln!(
        "fuzz: {cases} cases from seed {first_seed} on {threads} threads in {:.1?}; {failed} failed",
        started.elapsed(),
    );
    for ((k, c), (n, bad)) in &per_kind {
        eprintln!(
            "  {:<24} {:<18} {n:>5} cases, {bad} failed",
            k.name(),
            c.name()
        );
    }
    let mut per_step: Vec<(&str, Duration, Duration)> = Vec::new();
    for (name, _, _) in plan(Path::new(""), 0, Path::new("")) {
        let t: Vec<Duration> = results
            .iter()
            .flat_map(|r| &r.timings)
            .filter(|(n, _, _)| *n == name)
            .map(|(_, d, _)| *d)
            .collect();
        let mean = t.iter().sum::<Duration>() / t.len().max(1) as u32;
        per_step.push((name, mean, t.iter().max().copied().unwrap_or_default()));
    }
    let steps: Vec<String> = per_step
        .iter()
        .map(|(n, mean, max)| format!("{n} {mean:.0?}/{max:.0?}"))
        .collect();
    eprintln!("  command time, mean/max: {}", steps.join(", "));
    if let Some((n, _, rss)) = results
        .iter()
        .flat_map(|r| &r.timings)
        .max_by_key(|(_, _, rss)| *rss)
    {
        // An upper bound only: a child spawned by vfork starts from the test's own high water.
        eprintln!("  largest ru_maxrss: {rss} KiB ({n})");
    }
    if groups.is_empty() {
        return;
    }
    let mut report = String::new();
    for ((kind, class, step, what), fs) in &groups {
        let mut fs = fs.clone();
        fs.sort_by_key(|f| f.case);
        let seeds: Vec<String> = fs.iter().take(8).map(|f| f.seed.to_string()).collect();
        let mut mutations: BTreeMap<String, usize> = BTreeMap::new();
        for f in &fs {
            *mutations.entry(f.damage.kind()).or_default() += 1;
        }
        let mutations: Vec<String> = mutations
            .iter()
            .map(|(m, n)| format!("{m} ({n})"))
            .collect();
        report.push_str(&format!(
            "\n[{} cases] {} / {} / `{step}`: {what}\n  mutations: {}\n  seeds: {}{}\n{}\n",
            fs.len(),
            kind.name(),
            class.name(),
            mutations.join(", "),
            seeds.join(" "),
            if fs.len() > 8 { " ..." } else { "" },
            fs[0]
        ));
    }
    panic!(
        "fuzz: {failed} of {cases} cases failed, {} distinct signatures (file type / class of damage / command / problem):\n{report}",
        groups.len()
    );
}
