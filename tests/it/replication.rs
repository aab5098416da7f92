//! Replication with real processes: three brokers in separate directories that the tests move
//! away and back (a disk that disappears), controllers that are killed or stopped, producers
//! and consumers across failovers. Every wait is on a condition with a deadline.

use crate::util::*;
use serde_json::Value;
use std::collections::{BTreeMap, BTreeSet};
use std::fs::File;
use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::{Child, ChildStdin, Stdio};
use std::time::Duration;

pub(crate) const LONG: Duration = Duration::from_secs(15);

/// A cluster of three brokers, broker `i` in `<tmp>/b<i>` (outside the root, so it can be moved
/// away like an unmounted disk).
pub(crate) fn cluster3() -> Env {
    cluster(3)
}

/// A cluster of `n` brokers, broker `i` in `<tmp>/b<i>`.
pub(crate) fn cluster(n: u64) -> Env {
    let env = Env::new();
    let mut args = vec![
        "cluster".to_string(),
        "init".into(),
        "--brokers".into(),
        n.to_string(),
    ];
    for b in 0..n {
        args.push("--broker-dir".into());
        args.push(format!("{b}={}", broker_dir(&env, b).display()));
    }
    env.chute().args(&args).assert().success();
    env
}

pub(crate) fn broker_dir(env: &Env, b: u64) -> PathBuf {
    env.dir.path().join(format!("b{b}"))
}

pub(crate) fn away_dir(env: &Env, b: u64) -> PathBuf {
    env.dir.path().join(format!("away{b}"))
}

/// The broker's disk disappears.
pub(crate) fn move_away(env: &Env, b: u64) {
    std::fs::rename(broker_dir(env, b), away_dir(env, b)).unwrap();
}

/// ... and comes back.
fn move_back(env: &Env, b: u64) {
    let to = broker_dir(env, b);
    if to.exists() {
        // Nothing may create a broker's directory while its disk is gone: that would put
        // replicas on the wrong filesystem (a bare mount point).
        let listing = std::process::Command::new("find")
            .arg(&to)
            .output()
            .unwrap();
        panic!(
            "broker {b}'s directory was recreated while it was away:\n{}",
            String::from_utf8_lossy(&listing.stdout)
        );
    }
    std::fs::rename(away_dir(env, b), to).unwrap();
}

pub(crate) fn replica_dir(env: &Env, b: u64, topic: &str, p: u64) -> PathBuf {
    broker_dir(env, b).join(format!("{topic}-{p}"))
}

pub(crate) fn describe(env: &Env, topic: &str) -> Vec<Value> {
    env.json(&["topic", "describe", topic, "--json"])["partitions"]
        .as_array()
        .unwrap()
        .clone()
}

pub(crate) fn leader(p: &Value) -> Option<u64> {
    p["leader"].as_u64()
}

pub(crate) fn isr(p: &Value) -> Vec<u64> {
    p["isr"]
        .as_array()
        .unwrap()
        .iter()
        .map(|b| b.as_u64().unwrap())
        .collect()
}

pub(crate) fn replicas(p: &Value) -> Vec<u64> {
    p["replicas"]
        .as_array()
        .unwrap()
        .iter()
        .map(|b| b.as_u64().unwrap())
        .collect()
}

/// Sum of the partitions' high watermarks (an unreadable leader counts 0).
pub(crate) fn hw_sum(env: &Env, topic: &str) -> u64 {
    describe(env, topic)
        .iter()
        .map(|p| p["high_watermark"].as_u64().unwrap_or(0))
        .sum()
}

pub(crate) fn metadata(env: &Env) -> Value {
    serde_json::from_slice(&std::fs::read(env.root().join("metadata.json")).unwrap()).unwrap()
}

fn controller_epoch(env: &Env) -> u64 {
    metadata(env)["controller_epoch"].as_u64().unwrap()
}

/// A background chute process; stdout and stderr go to files in the tempdir, so no pipe is
/// left behind. Killed (SIGKILL) when dropped, whatever happened to the test.
pub(crate) struct Bg {
    pub(crate) child: Child,
    out: PathBuf,
    err: PathBuf,
}

impl Bg {
    pub(crate) fn start(env: &Env, name: &str, args: &[&str], stdin: Stdio) -> Bg {
        Bg::start_with(env, name, args, stdin, &[])
    }

    /// [`Bg::start`] with extra environment variables.
    pub(crate) fn start_with(
        env: &Env,
        name: &str,
        args: &[&str],
        stdin: Stdio,
        vars: &[(&str, &str)],
    ) -> Bg {
        let out = env.dir.path().join(format!("{name}.out"));
        let err = env.dir.path().join(format!("{name}.err"));
        let child = env
            .spawn(args)
            .envs(vars.iter().copied())
            .stdin(stdin)
            .stdout(File::create(&out).unwrap())
            .stderr(File::create(&err).unwrap())
            .spawn()
            .unwrap();
        Bg { child, out, err }
    }

    pub(crate) fn pid(&self) -> u32 {
        self.child.id()
    }

    pub(crate) fn stdout(&self) -> Vec<u8> {
        std::fs::read(&self.out).unwrap_or_default()
    }

    pub(crate) fn stderr(&self) -> String {
        String::from_utf8_lossy(&std::fs::read(&self.err).unwrap_or_default()).into_owned()
    }

    /// Wait (with a deadline) for `what` in its stderr; fails at once if it exits first.
    pub(crate) fn wait_log(&mut self, what: &str) {
        let start = std::time::Instant::now();
        loop {
            let last = self.stderr();
            if last.contains(what) {
                return;
            }
            if start.elapsed() > LONG {
                panic!("timed out waiting for {what:?} in stderr:\n{last}");
            }
            if let Ok(Some(st)) = self.child.try_wait() {
                panic!("exited ({st}) before logging {what:?}:\n{last}");
            }
            std::thread::sleep(Duration::from_millis(5));
        }
    }

    /// Wait (with a deadline) for the process to exit; returns its exit code.
    pub(crate) fn wait_exit(&mut self, timeout: Duration) -> Option<i32> {
        let mut code = None;
        wait_for("process exit", timeout, || match self.child.try_wait() {
            Ok(Some(st)) => {
                code = Some(st.code());
                true
            }
            _ => false,
        });
        code.unwrap()
    }

    pub(crate) fn signal(&self, sig: &str) {
        let st = std::process::Command::new("kill")
            .args([sig, &self.pid().to_string()])
            .status()
            .unwrap();
        assert!(st.success());
    }
}

impl Drop for Bg {
    fn drop(&mut self) {
        // SIGKILL works on a stopped process too. One already reaped is left alone.
        if let Ok(None) = self.child.try_wait() {
            kill9(&mut self.child);
        }
    }
}

pub(crate) fn controller(env: &Env, name: &str, extra: &[&str]) -> Bg {
    let mut args = vec!["controller"];
    args.extend_from_slice(extra);
    Bg::start(env, name, &args, Stdio::null())
}

/// `k<i>,<i>` lines for `-K ,`: keyed records spread over the partitions.
pub(crate) fn keyed(from: u64, to: u64) -> String {
    (from..to).map(|i| format!("k{i},{i}\n")).collect()
}

/// Parse `%p %s` lines: values per partition, in the order they were read.
pub(crate) fn by_partition(out: &[u8]) -> BTreeMap<u64, Vec<u64>> {
    let mut m: BTreeMap<u64, Vec<u64>> = BTreeMap::new();
    for l in lines(out) {
        let s = std::str::from_utf8(l).unwrap();
        let (p, v) = s.split_once(' ').expect(s);
        m.entry(p.parse().unwrap())
            .or_default()
            .push(v.parse().expect(s));
    }
    m
}

/// Every value of 0..n exactly once, increasing within each partition; `ctx` (the logs of the
/// processes involved) is shown when it is not.
pub(crate) fn assert_exactly_once_in_order(m: &BTreeMap<u64, Vec<u64>>, n: u64, ctx: &str) {
    let mut all = BTreeSet::new();
    for (p, vs) in m {
        for w in vs.windows(2) {
            assert!(
                w[0] < w[1],
                "partition {p}: {} before {}\n{ctx}",
                w[0],
                w[1]
            );
        }
        for &v in vs {
            assert!(all.insert(v), "{v} delivered twice\n{ctx}");
        }
    }
    let missing: Vec<u64> = (0..n).filter(|v| !all.contains(v)).collect();
    assert!(
        missing.is_empty(),
        "{} records missing: {missing:?}\n{ctx}",
        missing.len()
    );
    assert_eq!(all.len() as u64, n, "unexpected records: {all:?}\n{ctx}");
}

pub(crate) fn write_chunk(stdin: &mut ChildStdin, from: u64, to: u64) {
    stdin.write_all(keyed(from, to).as_bytes()).unwrap();
    stdin.flush().unwrap();
}

/// Wait until every partition has a live leader other than `old`.
pub(crate) fn wait_new_leaders(env: &Env, topic: &str, old: u64) {
    wait_for("new leaders in metadata", LONG, || {
        describe(env, topic)
            .iter()
            .all(|p| leader(p).is_some_and(|l| l != old))
    });
}

/// Wait until every partition has all its replicas in sync.
pub(crate) fn wait_full_isr(env: &Env, topic: &str) {
    wait_for("full ISRs", LONG, || {
        describe(env, topic).iter().all(|p| {
            isr(p).len() == replicas(p).len()
                && p["high_watermark"].as_u64().is_some()
                && p["high_watermark"] == p["log_end_offset"]
        })
    });
}

/// The segment files of a replica: name -> contents after the 32-byte file header (the header
/// holds the segment's own creation time, which differs between replicas).
pub(crate) fn segments(dir: &Path) -> BTreeMap<String, Vec<u8>> {
    let mut m = BTreeMap::new();
    for e in std::fs::read_dir(dir).unwrap() {
        let e = e.unwrap();
        let name = e.file_name().to_string_lossy().into_owned();
        if name.ends_with(".log") {
            let b = std::fs::read(e.path()).unwrap();
            assert!(b.len() >= 32, "{name}: {} bytes", b.len());
            m.insert(name, b[32..].to_vec());
        }
    }
    m
}

#[test]
fn leader_dir_moved_mid_stream_acks_all_loses_nothing() {
    let env = cluster3();
    env.create_topic("t", 3, &["-r", "3", "-c", "min.insync.replicas=2"]);
    let mut ctl = controller(&env, "ctl", &["--interval", "20ms"]);
    ctl.wait_log("active:");
    let mut prod = Bg::start(
        &env,
        "prod",
        &[
            "produce", "-t", "t", "--acks", "all", "--linger", "1ms", "-K", ",",
        ],
        Stdio::piped(),
    );
    let mut stdin = prod.child.stdin.take().unwrap();
    write_chunk(&mut stdin, 0, 2000);
    wait_for("first records acknowledged", LONG, || {
        hw_sum(&env, "t") >= 2000
    });
    let old = leader(&describe(&env, "t")[0]).unwrap();
    // More records in flight while the leader's disk goes.
    write_chunk(&mut stdin, 2000, 3000);
    move_away(&env, old);
    wait_new_leaders(&env, "t", old);
    for c in 0..4 {
        write_chunk(&mut stdin, 3000 + c * 500, 3500 + c * 500);
    }
    drop(stdin);
    let code = prod.wait_exit(LONG);
    assert_eq!(code, Some(0), "producer: {}", prod.stderr());

    let got = env.consume("t", &["--format", "%p %s\\n"]);
    let ctx = format!(
        "leader moved away: broker {old}\nproducer:\n{}\ncontroller:\n{}\n{:#?}",
        prod.stderr(),
        ctl.stderr(),
        describe(&env, "t")
    );
    assert_exactly_once_in_order(&by_partition(&got), 5000, &ctx);

    // The broker returns: its replicas are cut back to what the leaders have, caught up, and
    // rejoin the ISRs.
    move_back(&env, old);
    wait_full_isr(&env, "t");
    env.chute().args(["verify"]).assert().success();
    let again = env.consume("t", &["--format", "%p %s\\n"]);
    assert_eq!(by_partition(&again), by_partition(&got));
    drop(ctl);
}

#[test]
fn returning_broker_truncates_divergent_tail() {
    let env = cluster3();
    env.create_topic("t", 1, &["-r", "3", "-c", "min.insync.replicas=2"]);
    let p = describe(&env, "t")[0].clone();
    let old = leader(&p).unwrap();
    let followers: Vec<u64> = replicas(&p).into_iter().filter(|&b| b != old).collect();
    let (f1, f2) = (followers[0], followers[1]);

    // 0..10 acknowledged by every replica.
    let first: String = (0..10).map(|i| format!("{i}\n")).collect();
    env.produce("t", first, &["--acks", "all"]);
    // 100..105 only on the leader: both followers' disks are gone meanwhile.
    move_away(&env, f1);
    move_away(&env, f2);
    let lost: String = (100..105).map(|i| format!("{i}\n")).collect();
    env.produce("t", lost, &["--acks", "1"]);
    move_back(&env, f1);
    move_back(&env, f2);
    let p = &describe(&env, "t")[0];
    assert_eq!(
        (p["high_watermark"].as_u64(), p["log_end_offset"].as_u64()),
        (Some(10), Some(15)),
        "{p}"
    );

    // Now the leader's disk goes before anything copied those records: the controller elects
    // the first follower (still in the ISR), which has only 0..10.
    move_away(&env, old);
    let out = env.chute().args(["controller", "--once"]).output().unwrap();
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(out.status.success(), "{err}");
    assert!(
        err.contains(&format!("leader {old} -> {f1} (epoch 1)")),
        "{err}"
    );
    let p = &describe(&env, "t")[0];
    assert_eq!(leader(p), Some(f1), "{p}");
    assert_eq!(isr(p), followers, "{p}");
    // The new leader takes new records, acknowledged by both in-sync replicas.
    let second: String = (200..205).map(|i| format!("{i}\n")).collect();
    env.produce("t", second, &["--acks", "all"]);

    // The old leader returns: its tail 10..15 (epoch 0) is not in the new leader's history.
    move_back(&env, old);
    let out = env.chute().args(["replicate"]).output().unwrap();
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(out.status.success(), "{err}");
    assert!(
        err.contains(&format!(
            "t-0: replica on broker {old} cut its divergent tail from offset 15 to 10"
        )),
        "{err}"
    );
    assert!(
        err.contains(&format!("t-0: replica on broker {old} at offset 15 of 15")),
        "{err}"
    );
    // Byte for byte what the new leader has (single segment each).
    let new_leader = segments(&replica_dir(&env, f1, "t", 0));
    assert_eq!(segments(&replica_dir(&env, old, "t", 0)), new_leader);
    assert_eq!(segments(&replica_dir(&env, f2, "t", 0)), new_leader);
    let p = &describe(&env, "t")[0];
    assert_eq!(isr(p).len(), 3, "the old leader rejoined the ISR: {p}");
    env.chute().args(["verify"]).assert().success();

    // Read it from the old leader itself: make it lead again (it is the preferred replica).
    let expected: String = (0..10).chain(200..205).map(|i| format!("{i}\n")).collect();
    assert_eq!(String::from_utf8(env.consume("t", &[])).unwrap(), expected);
    env.chute()
        .args(["topic", "elect-leaders", "t"])
        .assert()
        .success();
    assert_eq!(leader(&describe(&env, "t")[0]), Some(old));
    assert_eq!(String::from_utf8(env.consume("t", &[])).unwrap(), expected);
    env.chute().args(["verify"]).assert().success();
}

#[test]
fn min_insync_refusal() {
    let env = cluster3();
    env.create_topic("t", 1, &["-r", "3", "-c", "min.insync.replicas=2"]);
    let p = describe(&env, "t")[0].clone();
    let r = replicas(&p);
    // The leader and one follower are marked down; the controller leaves one in-sync replica.
    for b in [r[0], r[1]] {
        env.mark("down", b);
    }
    env.controller_once();
    let p = &describe(&env, "t")[0];
    assert_eq!((leader(p), isr(p)), (Some(r[2]), vec![r[2]]), "{p}");

    let out = env
        .chute()
        .args(["produce", "-t", "t", "--acks", "all"])
        .write_stdin("refused\n")
        .output()
        .unwrap();
    let err = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(75), "{err}");
    assert!(
        err.contains("t-0") && err.contains("min.insync.replicas"),
        "{err}"
    );
    assert!(!err.contains("panicked"), "{err}");

    env.produce("t", "accepted\n", &["--acks", "1"]);
    // Nothing of the refused produce was appended.
    assert_eq!(env.consume("t", &[]), b"accepted\n");
}

#[test]
fn standby_takes_over_after_sigkill() {
    let env = cluster3();
    env.create_topic("t", 1, &["-r", "3"]);
    let mut a = controller(&env, "a", &["--interval", "20ms"]);
    a.wait_log("active:");
    let mut b = controller(&env, "b", &["--interval", "20ms"]);
    b.wait_log("standby:");
    let epoch = controller_epoch(&env);
    let st = env.json(&["cluster", "status", "--json"]);
    assert_eq!(
        st["controller"]["pid"].as_u64(),
        Some(a.pid() as u64),
        "{st}"
    );

    kill9(&mut a.child);
    b.wait_log("active:");
    assert!(controller_epoch(&env) > epoch);
    assert!(
        b.stderr().contains(&format!(
            "active: controller epoch {}",
            controller_epoch(&env)
        )),
        "{}",
        b.stderr()
    );
    wait_for("status to show the new controller", LONG, || {
        env.json(&["cluster", "status", "--json"])["controller"]["pid"].as_u64()
            == Some(b.pid() as u64)
    });

    // Replication continues under the new controller.
    let input: String = (0..100).map(|i| format!("{i}\n")).collect();
    env.produce("t", input, &["--acks", "1"]);
    wait_full_isr(&env, "t");
    let p = &describe(&env, "t")[0];
    assert_eq!(p["high_watermark"].as_u64(), Some(100), "{p}");
    // ... and so does failover: only a controller elects leaders.
    let old = leader(p).unwrap();
    move_away(&env, old);
    wait_new_leaders(&env, "t", old);
    b.wait_log(&format!("partition t-0: leader {old} -> "));
    move_back(&env, old);
    wait_full_isr(&env, "t");
    env.chute().args(["verify"]).assert().success();
    drop(b);
}

#[test]
fn sigstopped_old_controller_is_fenced() {
    let env = cluster3();
    env.create_topic("t", 3, &["-r", "3"]);
    let opts = [
        "--interval",
        "20ms",
        "--session-timeout",
        "300ms",
        "--preferred-leader-interval",
        "off",
    ];
    let mut a = controller(&env, "a", &opts);
    a.wait_log("active:");
    let mut b = controller(&env, "b", &opts);
    b.wait_log("standby:");
    let a_epoch = controller_epoch(&env);

    a.signal("-STOP");
    b.wait_log("active:");
    let b_epoch = controller_epoch(&env);
    assert!(b_epoch > a_epoch);
    assert!(
        b.stderr()
            .contains(&format!("active: controller epoch {b_epoch}")),
        "{}",
        b.stderr()
    );

    // B acts on a change: broker 2 leaves every ISR and leads nothing.
    env.chute().args(["broker", "down", "2"]).assert().success();
    let start = std::time::Instant::now();
    while !describe(&env, "t")
        .iter()
        .all(|p| leader(p).is_some_and(|l| l != 2) && !isr(p).contains(&2))
    {
        assert!(
            start.elapsed() < LONG,
            "timed out waiting for broker 2 to leave every ISR: {:#?}\nA:\n{}\nB:\n{}",
            describe(&env, "t"),
            a.stderr(),
            b.stderr()
        );
        std::thread::sleep(Duration::from_millis(5));
    }
    b.wait_log("broker 2: down");
    let decided = metadata(&env);
    let a_before = a.stderr();

    a.signal("-CONT");
    a.wait_log("fenced");
    // A steps down: it waits as a standby again, it does not take over (again).
    wait_for("A to step down and log what it does next", LONG, || {
        let e = a.stderr();
        let f = e.rfind("fenced").unwrap();
        e[f..].contains("standby:") || e[f..].contains("active:")
    });
    let a_after = a.stderr();
    let resumed = &a_after[a_before.len()..];
    // It may have been in the middle of a follower sync when it was stopped: finishing that
    // attempt is refused by the replicas (their leader epoch moved on) and changes nothing. What
    // it must not do is decide anything (leaders, ISRs) or become active.
    // A decision reads "partition t-1: leader 0 -> 1 (epoch 2)" or "partition t-1: isr [..] ->
    // [..]"; a refused sync ("cannot sync ... now belongs to leader epoch 1") is not one.
    let decided_something = resumed.lines().any(|l| {
        l.contains("partition ")
            && l.contains(" -> ")
            && (l.contains(": leader ") || l.contains(": isr "))
    });
    assert!(
        !decided_something && !resumed.contains("active:"),
        "the fenced controller took over again instead of standing by:\nA:\n{a_after}\nB:\n{}",
        b.stderr()
    );
    // Metadata is exactly what B decided, under B's epoch.
    let now = metadata(&env);
    assert_eq!(now["controller_epoch"].as_u64(), Some(b_epoch));
    assert_eq!(now, decided);
    wait_for("status to show B", LONG, || {
        let st = env.json(&["cluster", "status", "--json"]);
        st["controller"]["pid"].as_u64() == Some(b.pid() as u64)
            && st["controller"]["epoch"].as_u64() == Some(b_epoch)
    });
    assert!(!b.stderr().contains("fenced"), "{}", b.stderr());
    drop(a);
    drop(b);
}

#[test]
fn replicate_without_controller_brings_followers_level() {
    let env = cluster3();
    env.create_topic(
        "t",
        1,
        &[
            "-r",
            "3",
            "-c",
            "segment.bytes=4KiB",
            "--config",
            "min.insync.replicas=2",
        ],
    );
    let p = describe(&env, "t")[0].clone();
    let l = leader(&p).unwrap();
    let followers: Vec<u64> = replicas(&p).into_iter().filter(|&b| b != l).collect();

    let first: String = (0..500).map(|i| format!("record {i}\n")).collect();
    env.produce("t", first, &["--acks", "all", "--batch-size", "512"]);
    // The followers miss the rest (their disks are away while it is written).
    for &f in &followers {
        move_away(&env, f);
    }
    let rest: String = (500..3000).map(|i| format!("record {i}\n")).collect();
    env.produce("t", rest, &["--acks", "1", "--batch-size", "512"]);
    for &f in &followers {
        move_back(&env, f);
    }
    let p = &describe(&env, "t")[0];
    assert_eq!(
        (p["high_watermark"].as_u64(), p["log_end_offset"].as_u64()),
        (Some(500), Some(3000)),
        "{p}"
    );
    let leader_segs = segments(&replica_dir(&env, l, "t", 0));
    assert!(leader_segs.len() > 3, "several segments: {leader_segs:?}");
    for &f in &followers {
        assert_ne!(segments(&replica_dir(&env, f, "t", 0)), leader_segs);
    }

    let out = env.chute().args(["replicate"]).output().unwrap();
    let err = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(0), "{err}");
    for &f in &followers {
        assert!(
            err.contains(&format!(
                "t-0: replica on broker {f} at offset 3000 of 3000 ("
            )),
            "{err}"
        );
        assert_eq!(
            segments(&replica_dir(&env, f, "t", 0)),
            leader_segs,
            "broker {f}"
        );
    }
    let p = &describe(&env, "t")[0];
    assert_eq!(p["high_watermark"].as_u64(), Some(3000), "{p}");
    assert_eq!(isr(p).len(), 3, "{p}");
    env.chute().args(["verify"]).assert().success();

    // Nothing left to do: a second run copies nothing.
    let out = env.chute().args(["replicate"]).output().unwrap();
    let err = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(0), "{err}");
    assert!(!err.contains("bytes copied"), "{err}");
}

#[test]
fn follow_consumer_survives_failover() {
    let env = cluster3();
    env.create_topic("t", 3, &["-r", "3", "-c", "min.insync.replicas=2"]);
    let mut ctl = controller(&env, "ctl", &["--interval", "20ms"]);
    ctl.wait_log("active:");
    let cons = Bg::start(
        &env,
        "cons",
        &["consume", "-t", "t", "--follow", "--format", "%p %s\\n"],
        Stdio::null(),
    );
    let mut prod = Bg::start(
        &env,
        "prod",
        &[
            "produce", "-t", "t", "--acks", "all", "--linger", "1ms", "-K", ",",
        ],
        Stdio::piped(),
    );
    let mut stdin = prod.child.stdin.take().unwrap();
    write_chunk(&mut stdin, 0, 1000);
    wait_for("consumer to print the first records", LONG, || {
        lines(&cons.stdout()).len() >= 1000
    });
    let old = leader(&describe(&env, "t")[0]).unwrap();
    write_chunk(&mut stdin, 1000, 1500);
    move_away(&env, old);
    wait_new_leaders(&env, "t", old);
    write_chunk(&mut stdin, 1500, 3000);
    drop(stdin);
    assert_eq!(prod.wait_exit(LONG), Some(0), "producer: {}", prod.stderr());

    // One marker per partition after everything else: once the consumer printed all three,
    // it printed everything it ever will of the records before them.
    for p in 0..3 {
        env.produce("t", format!("{}\n", 1_000_000 + p), &["-p", &p.to_string()]);
    }
    wait_for("consumer to print every record", LONG, || {
        let m = by_partition(&cons.stdout());
        (0..3).all(|p| m.values().flatten().any(|&v| v == 1_000_000 + p))
    });
    let ctx = format!(
        "leader moved away: broker {old}\nproducer:\n{}\ncontroller:\n{}\nconsumer:\n{}",
        prod.stderr(),
        ctl.stderr(),
        cons.stderr()
    );
    // The follower printed exactly what the log holds (what a fresh consumer reads), ...
    let mut m = by_partition(&cons.stdout());
    let log = by_partition(&env.consume("t", &["--format", "%p %s\\n"]));
    assert_eq!(m, log, "--follow output differs from the log\n{ctx}");
    for p in 0..3u64 {
        let vs = m.get_mut(&p).unwrap();
        assert_eq!(
            vs.pop(),
            Some(1_000_000 + p),
            "marker last in partition {p}"
        );
    }
    // ... and that is every acknowledged record, once.
    assert_exactly_once_in_order(&m, 3000, &ctx);
    drop(cons);
    drop(ctl);
}
