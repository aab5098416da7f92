//! Replication under kill -9: a follower sync killed mid-copy or mid-truncation leaves a
//! follower that the next sync completes, byte-identical to the leader.

use crate::util::{Env, kill9, log_bytes, wait_for};
use std::path::PathBuf;
use std::process::Stdio;
use std::time::Duration;

/// Two brokers in their own directories; a topic with one partition on both.
fn two_brokers(env: &Env) -> (PathBuf, PathBuf) {
    let (a, b) = (env.dir.path().join("disk-a"), env.dir.path().join("disk-b"));
    env.chute()
        .args(["cluster", "init", "--brokers", "2"])
        .arg(format!("--broker-dir=0={}", a.display()))
        .arg(format!("--broker-dir=1={}", b.display()))
        .assert()
        .success();
    env.create_topic(
        "r",
        1,
        &[
            "--replication-factor",
            "2",
            "--config",
            "segment.bytes=1MiB",
        ],
    );
    (a, b)
}

fn describe(env: &Env) -> serde_json::Value {
    env.json(&["topic", "describe", "r", "--json"])["partitions"][0].clone()
}

fn lines(n: std::ops::Range<u64>) -> Vec<u8> {
    let mut v = Vec::new();
    for i in n {
        v.extend_from_slice(format!("{i:08} {}\n", "p".repeat(90)).as_bytes());
    }
    v
}

#[test]
fn replicate_killed_mid_copy_is_completed_by_the_next_run() {
    let env = Env::new();
    let (a, b) = two_brokers(&env);
    let p = describe(&env);
    let leader = p["leader"].as_u64().unwrap();
    let follower = 1 - leader;
    let fdir = if follower == 0 { &a } else { &b }.join("r-0");
    // The follower is down while ~25 MB are produced, so nothing reaches it.
    env.mark("down", follower);
    env.produce("r", lines(0..250_000), &[]);
    env.mark("up", follower);
    let start = log_bytes(&fdir);
    // Kill `replicate` at growing amounts copied: each kill lands mid-copy.
    for (i, mb) in [2u64, 6, 11, 16].into_iter().enumerate() {
        let mut c = env
            .spawn(&["replicate", "-t", "r"])
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .unwrap();
        let target = start + mb * 1_000_000;
        wait_for(
            &format!("copy #{i} to pass {mb} MB"),
            Duration::from_secs(30),
            || log_bytes(&fdir) >= target || matches!(c.try_wait(), Ok(Some(_))),
        );
        kill9(&mut c);
    }
    env.chute()
        .args(["replicate", "-t", "r"])
        .assert()
        .success();
    let p = describe(&env);
    assert_eq!(p["high_watermark"], 250_000);
    assert_eq!(p["isr"].as_array().unwrap().len(), 2);
    env.chute().args(["verify", "-t", "r"]).assert().success();
    // Every record once, in order.
    let out = env.consume("r", &[]);
    assert_eq!(out, lines(0..250_000));
}

#[test]
fn replicate_killed_while_cutting_a_divergent_tail_is_completed_by_the_next_run() {
    for round in 0..4u64 {
        let env = Env::new();
        let (a, b) = two_brokers(&env);
        let p = describe(&env);
        let old = p["leader"].as_u64().unwrap();
        let other = 1 - old;
        let old_dir = if old == 0 { &a } else { &b }.join("r-0");
        // Common history, replicated.
        env.produce("r", lines(0..20_000), &[]);
        // The old leader alone gets 5 MB more (its follower is marked down)...
        env.mark("down", other);
        env.produce("r", lines(20_000..70_000), &[]);
        env.mark("up", other);
        // ...then loses leadership: with the old leader marked down, the follower (still in the
        // ISR: nothing shrank it without a controller) is elected.
        env.mark("down", old);
        env.controller_once();
        assert_eq!(describe(&env)["leader"], other);
        env.produce("r", lines(100_000..101_000), &[]);
        env.mark("up", old);
        // The old leader cuts 20_000.. and copies 100_000..: kill the sync at some point.
        let before = log_bytes(&old_dir);
        let mut c = env
            .spawn(&["replicate", "-t", "r"])
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .unwrap();
        if round > 0 {
            wait_for("the cut to start", Duration::from_secs(30), || {
                log_bytes(&old_dir) < before || matches!(c.try_wait(), Ok(Some(_)))
            });
        }
        kill9(&mut c);
        env.chute()
            .args(["replicate", "-t", "r"])
            .assert()
            .success();
        env.chute().args(["verify", "-t", "r"]).assert().success();
        let mut expect = lines(0..20_000);
        expect.extend(lines(100_000..101_000));
        assert_eq!(env.consume("r", &[]), expect, "round {round}");
        // The old leader's copy is the leader's, byte for byte (verify compared CRCs of the
        // in-sync replicas; check the old leader is in sync).
        assert_eq!(
            describe(&env)["isr"].as_array().unwrap().len(),
            2,
            "round {round}"
        );
    }
}

#[test]
fn concurrent_acks_all_producers_controller_and_replicate_agree() {
    let env = Env::new();
    let disks: Vec<PathBuf> = (0..3)
        .map(|i| env.dir.path().join(format!("d{i}")))
        .collect();
    let mut init = env.chute();
    init.args(["cluster", "init", "--brokers", "3"]);
    for (i, d) in disks.iter().enumerate() {
        init.arg(format!("--broker-dir={i}={}", d.display()));
    }
    init.assert().success();
    env.create_topic(
        "c",
        2,
        &[
            "--replication-factor",
            "3",
            "--config",
            "min.insync.replicas=2",
            "--config",
            "segment.bytes=256KiB",
        ],
    );
    let log = |name: &str| std::fs::File::create(env.dir.path().join(name)).unwrap();
    let mut controller = env
        .spawn(&["controller", "--interval", "10ms", "--rescan", "100ms"])
        .stdout(Stdio::null())
        .stderr(log("controller.log"))
        .spawn()
        .unwrap();
    let mut replicate = env
        .spawn(&["replicate", "--follow"])
        .stdout(Stdio::null())
        .stderr(log("replicate.log"))
        .spawn()
        .unwrap();
    // Three producers, each its own range of keys, all with --acks all, small batches.
    let producers: Vec<_> = (0..3u64)
        .map(|k| {
            let input = env.dir.path().join(format!("in{k}"));
            let mut v = Vec::new();
            for i in 0..20_000u64 {
                v.extend_from_slice(format!("k{k}\t{k}-{i:06}\n").as_bytes());
            }
            std::fs::write(&input, v).unwrap();
            env.spawn(&[
                "produce",
                "-t",
                "c",
                "--acks",
                "all",
                "-K",
                "\\t",
                "--batch-size",
                "4KiB",
                "--file",
                input.to_str().unwrap(),
            ])
            .stdout(Stdio::null())
            .stderr(log(&format!("producer{k}.log")))
            .spawn()
            .unwrap()
        })
        .collect();
    for (k, mut p) in producers.into_iter().enumerate() {
        let st = p.wait().unwrap();
        assert!(
            st.success(),
            "producer {k}: {}",
            std::fs::read_to_string(env.dir.path().join(format!("producer{k}.log"))).unwrap()
        );
    }
    kill9(&mut replicate);
    kill9(&mut controller);
    env.chute().args(["verify", "-t", "c"]).assert().success();
    // Each producer's records: all there, once, in its order (one key = one partition).
    let out = env.consume("c", &["--format", "%k %s\\n"]);
    let text = String::from_utf8(out).unwrap();
    for k in 0..3u64 {
        let got: Vec<&str> = text
            .lines()
            .filter(|l| l.starts_with(&format!("k{k} ")))
            .map(|l| l.split(' ').nth(1).unwrap())
            .collect();
        let want: Vec<String> = (0..20_000u64).map(|i| format!("{k}-{i:06}")).collect();
        assert_eq!(got, want, "producer {k}");
    }
    // Every replica of both partitions holds the whole log.
    let d = env.json(&["topic", "describe", "c", "--json"]);
    for p in d["partitions"].as_array().unwrap() {
        assert_eq!(p["high_watermark"], p["log_end_offset"]);
        assert_eq!(p["isr"].as_array().unwrap().len(), 3);
    }
}

fn replicas_of(env: &Env, topic: &str) -> Vec<u64> {
    env.json(&["topic", "describe", topic, "--json"])["partitions"][0]["replicas"]
        .as_array()
        .unwrap()
        .iter()
        .map(|v| v.as_u64().unwrap())
        .collect()
}

fn numbered(prefix: &str, r: std::ops::Range<u32>) -> String {
    r.map(|i| format!("{prefix}{i}\n")).collect()
}

/// After a failover, a follower still holding the old leader's extra records must not count
/// towards the high watermark until it has been reconciled with the new leader: otherwise
/// consumers (and --acks all) would take its offsets for the new leader's records, and a second
/// failover onto it would replace records that were acknowledged.
#[test]
fn a_follower_not_reconciled_with_the_new_leader_does_not_raise_the_high_watermark() {
    let env = Env::new();
    env.brokers(3);
    env.create_topic("h", 1, &["--replication-factor", "3"]);
    let r = replicas_of(&env, "h");
    let (l, n, f) = (r[0], r[1], r[2]);
    env.produce("h", numbered("a", 0..10), &[]);
    // Only the leader and F get old10..19 (N is away; nothing shrinks the ISR).
    env.mark("down", n);
    env.produce("h", numbered("old", 10..20), &[]);
    env.mark("up", n);
    // F's lock is held (a stopped process, say), so F cannot be synced after the failover.
    let lock = std::fs::OpenOptions::new()
        .append(true)
        .open(env.root().join(format!("brokers/{f}/h-0/partition.lock")))
        .unwrap();
    lock.lock().unwrap();
    env.mark("down", l);
    env.controller_once();
    let d = env.json(&["topic", "describe", "h", "--json"]);
    assert_eq!(d["partitions"][0]["leader"], n, "{d}");
    // The new leader has 0..10; F still has old10..19 and sits in the ISR, unreconciled.
    let out = env
        .chute()
        .args([
            "produce",
            "-t",
            "h",
            "--acks",
            "all",
            "--timeout",
            "2s",
            "-q",
        ])
        .write_stdin(numbered("new", 10..20))
        .output()
        .unwrap();
    assert_eq!(
        out.status.code(),
        Some(75),
        "acknowledged while F was not reconciled: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    // Consumers see nothing of offsets 10.. yet: F does not vouch for them.
    assert_eq!(env.consume("h", &["--from", "10"]), b"");
    // Once F can be synced it cuts old10..19, copies new10..19, and the watermark moves.
    lock.unlock().unwrap();
    env.mark("up", l);
    env.chute()
        .args(["replicate", "-t", "h"])
        .assert()
        .success();
    assert_eq!(
        String::from_utf8(env.consume("h", &["--from", "10"])).unwrap(),
        numbered("new", 10..20)
    );
    env.chute().args(["verify", "-t", "h"]).assert().success();
}

#[test]
fn a_reassignment_that_would_remove_every_complete_replica_is_refused() {
    let env = Env::new();
    env.brokers(2);
    env.create_topic("z", 1, &["--replication-factor", "2"]);
    let r = replicas_of(&env, "z");
    let (l, f) = (r[0], r[1]);
    env.produce("z", numbered("x", 0..5), &[]);
    env.mark("down", f);
    env.controller_once();
    env.produce("z", numbered("x", 5..10), &["--acks", "all"]);
    // Moving to F alone (down, out of the ISR) would drop the only complete copy.
    let out = env
        .chute()
        .args([
            "topic",
            "reassign",
            "z",
            "-p",
            "0",
            "--replicas",
            &f.to_string(),
        ])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(75));
    assert!(String::from_utf8_lossy(&out.stderr).contains("live in-sync replica"));
    assert!(env.root().join(format!("brokers/{l}/z-0")).is_dir());
    assert_eq!(
        String::from_utf8(env.consume("z", &[])).unwrap(),
        numbered("x", 0..10)
    );
}

/// The durability guarantees (docs/replication.md, Producing with acks) under kill -9: `--acks all` producers killed mid-stream (while a controller
/// syncs followers) never damage the log or the replicas; every run that exited 0 is there in
/// full, exactly once; a killed run leaves at most a prefix of its records, in order.
#[test]
fn acks_all_producers_killed_mid_stream_leave_replicas_whole_and_acknowledged_runs_intact() {
    let env = Env::new();
    env.brokers(3);
    env.create_topic(
        "k",
        1,
        &[
            "--replication-factor",
            "3",
            "--config",
            "min.insync.replicas=2",
            "--config",
            "segment.bytes=64KiB",
        ],
    );
    let mut controller = env
        .spawn(&["controller", "--interval", "10ms", "--rescan", "100ms"])
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let run_input =
        |run: u32, n: u32| -> String { (0..n).map(|i| format!("r{run:02}-{i:06}\n")).collect() };
    let mut acked = Vec::new();
    for run in 0..8u32 {
        let input = env.dir.path().join(format!("in{run}"));
        std::fs::write(&input, run_input(run, 40_000)).unwrap();
        let mut p = env
            .spawn(&[
                "produce",
                "-t",
                "k",
                "--acks",
                "all",
                "--batch-size",
                "8KiB",
                "-q",
                "--file",
                input.to_str().unwrap(),
            ])
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .unwrap();
        if run % 2 == 1 {
            // Kill once some of its records are in the log (mid-append or mid-wait).
            let before = log_bytes(&env.root().join("brokers/0/k-0"))
                + log_bytes(&env.root().join("brokers/1/k-0"))
                + log_bytes(&env.root().join("brokers/2/k-0"));
            wait_for("the producer to write", Duration::from_secs(20), || {
                let now = log_bytes(&env.root().join("brokers/0/k-0"))
                    + log_bytes(&env.root().join("brokers/1/k-0"))
                    + log_bytes(&env.root().join("brokers/2/k-0"));
                now > before + 100_000 || matches!(p.try_wait(), Ok(Some(_)))
            });
            kill9(&mut p);
        } else {
            assert!(p.wait().unwrap().success(), "run {run}");
            acked.push(run);
        }
    }
    kill9(&mut controller);
    env.chute()
        .args(["replicate", "-t", "k"])
        .assert()
        .success();
    env.chute().args(["verify", "-t", "k"]).assert().success();
    let out = String::from_utf8(env.consume("k", &[])).unwrap();
    for run in 0..8u32 {
        let got: Vec<&str> = out
            .lines()
            .filter(|l| l.starts_with(&format!("r{run:02}-")))
            .collect();
        let want = run_input(run, 40_000);
        let want: Vec<&str> = want.lines().collect();
        if acked.contains(&run) {
            assert_eq!(got, want, "acknowledged run {run}");
        } else {
            assert_eq!(got, want[..got.len()], "killed run {run}: not a prefix");
        }
    }
    let d = env.json(&["topic", "describe", "k", "--json"]);
    assert_eq!(
        d["partitions"][0]["high_watermark"],
        d["partitions"][0]["log_end_offset"]
    );
}
