//! Retention: whole old segments go (by size and by time), the log start moves, readers and
//! groups continue at it, and a kill -9 during deletion leaves a readable log.

use crate::util::{Env, kill9, lines, log_bytes, wait_for};
use std::process::Stdio;
use std::time::Duration;

fn numbered(from: u64, to: u64) -> Vec<u8> {
    let mut v = Vec::new();
    for i in from..to {
        v.extend_from_slice(format!("{i:07} {}\n", "r".repeat(40)).as_bytes());
    }
    v
}

fn earliest(env: &Env, topic: &str) -> u64 {
    env.json(&["offsets", "-t", topic, "--json"])["partitions"][0]["earliest"]
        .as_u64()
        .unwrap()
}

#[test]
fn size_retention_keeps_at_most_the_limit_plus_one_segment() {
    let env = Env::new();
    env.create_topic(
        "s",
        1,
        &[
            "--config",
            "segment.bytes=16KiB",
            "--config",
            "retention.bytes=64KiB",
        ],
    );
    env.produce("s", numbered(0, 20_000), &["--batch-size", "2KiB"]);
    let before = log_bytes(&env.partition_dir("s", 0));
    assert!(before > 500_000);
    env.controller_once();
    let after = log_bytes(&env.partition_dir("s", 0));
    assert!(after <= 64 * 1024 + 16 * 1024, "{after} bytes left");
    assert!(after >= 48 * 1024, "deleted too much: {after} bytes left");
    let start = earliest(&env, "s");
    assert!(start > 0);
    // What is left is exactly the newest records, contiguous, ending at the end.
    assert_eq!(env.consume("s", &[]), numbered(start, 20_000));
    env.chute().args(["verify", "-t", "s"]).assert().success();
    // A second pass has nothing more to do.
    env.controller_once();
    assert_eq!(earliest(&env, "s"), start);
    // --from below the log start is clamped, with a warning naming it.
    let out = env
        .chute()
        .args(["consume", "-t", "s", "--from", "0", "-n", "1"])
        .output()
        .unwrap();
    assert!(out.status.success());
    assert_eq!(out.stdout, numbered(start, start + 1));
    assert!(
        String::from_utf8_lossy(&out.stderr).contains(&format!("below the log start {start}")),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
}

#[test]
fn time_retention_leaves_only_fresh_records() {
    let env = Env::new();
    env.create_topic(
        "tm",
        1,
        &["--config", "segment.ms=1s", "--config", "retention=2s"],
    );
    env.produce("tm", numbered(0, 1000), &[]);
    // The old records' segment is rolled once it is a second old and deleted once its newest
    // record is two seconds old: run passes until that has happened.
    wait_for("the old records to expire", Duration::from_secs(20), || {
        env.controller_once();
        earliest(&env, "tm") == 1000
    });
    env.produce("tm", numbered(1000, 1500), &[]);
    env.controller_once();
    assert_eq!(env.consume("tm", &[]), numbered(1000, 1500));
    env.chute().args(["verify", "-t", "tm"]).assert().success();
}

#[test]
fn a_group_behind_the_log_start_resumes_there_with_a_warning() {
    let env = Env::new();
    env.create_topic(
        "g",
        1,
        &[
            "--config",
            "segment.bytes=8KiB",
            "--config",
            "retention.bytes=16KiB",
        ],
    );
    env.produce("g", numbered(0, 5000), &["--batch-size", "1KiB"]);
    let first = env
        .chute()
        .args(["consume", "-t", "g", "-g", "slow", "-n", "10"])
        .output()
        .unwrap();
    assert!(first.status.success());
    assert_eq!(first.stdout, numbered(0, 10));
    env.controller_once();
    let start = earliest(&env, "g");
    assert!(start > 10);
    let out = env
        .chute()
        .args(["consume", "-t", "g", "-g", "slow"])
        .output()
        .unwrap();
    assert!(out.status.success());
    assert_eq!(out.stdout, numbered(start, 5000));
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains("below the log start"), "{err}");
    // Committed at the end now: nothing more, no warning.
    let again = env
        .chute()
        .args(["consume", "-t", "g", "-g", "slow"])
        .output()
        .unwrap();
    assert!(again.stdout.is_empty() && again.stderr.is_empty());
}

#[test]
fn readers_keep_reading_while_segments_are_deleted_and_kill9_mid_retention_is_safe() {
    let env = Env::new();
    env.create_topic(
        "k",
        1,
        &[
            "--config",
            "segment.bytes=8KiB",
            "--config",
            "retention.bytes=32KiB",
        ],
    );
    let mut next = 0u64;
    for round in 0..6 {
        env.produce("k", numbered(next, next + 3000), &["--batch-size", "1KiB"]);
        next += 3000;
        // A reader from the beginning, in a pipe that we drain slowly enough that retention
        // deletes segments under it.
        let out = env.dir.path().join(format!("reader{round}.out"));
        let reader = env
            .spawn(&["consume", "-t", "k"])
            .stdout(std::fs::File::create(&out).unwrap())
            .stderr(Stdio::piped())
            .spawn()
            .unwrap();
        // A retention pass killed at some point (round 0: at once).
        let mut ctl = env
            .spawn(&["controller", "--once"])
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .unwrap();
        if round > 0 {
            let before = earliest(&env, "k");
            wait_for("retention to start", Duration::from_secs(10), || {
                earliest(&env, "k") > before || matches!(ctl.try_wait(), Ok(Some(_)))
            });
        }
        kill9(&mut ctl);
        let r = reader.wait_with_output().unwrap();
        assert!(
            r.status.success(),
            "reader failed: {}",
            String::from_utf8_lossy(&r.stderr)
        );
        // The reader saw a contiguous run of records ending at the end it started with.
        let got = std::fs::read(&out).unwrap();
        let ls = lines(&got);
        let first: u64 = std::str::from_utf8(&ls[0][..7]).unwrap().parse().unwrap();
        assert_eq!(got, numbered(first, next), "round {round}");
    }
    // Whatever the kills left, a pass completes it and the log is whole from its start.
    env.controller_once();
    let start = earliest(&env, "k");
    assert_eq!(env.consume("k", &[]), numbered(start, next));
    env.chute().args(["verify", "-t", "k"]).assert().success();
    let leftovers: Vec<_> = std::fs::read_dir(env.partition_dir("k", 0))
        .unwrap()
        .filter_map(|e| e.ok())
        .filter(|e| e.file_name().to_string_lossy().ends_with(".deleted"))
        .collect();
    assert!(leftovers.is_empty());
}

#[test]
fn replicas_follow_the_leaders_log_start_and_a_follower_left_behind_restarts_there() {
    let env = Env::new();
    env.brokers(2);
    env.create_topic(
        "rr",
        1,
        &[
            "--replication-factor",
            "2",
            "--config",
            "segment.bytes=8KiB",
            "--config",
            "retention.bytes=32KiB",
        ],
    );
    let d = env.json(&["topic", "describe", "rr", "--json"]);
    let leader = d["partitions"][0]["leader"].as_u64().unwrap();
    let follower = 1 - leader;
    let fdir = env.root().join(format!("brokers/{follower}/rr-0"));
    // Replicated, then retention on both.
    env.produce("rr", numbered(0, 3000), &["--batch-size", "1KiB"]);
    env.controller_once();
    let start = earliest(&env, "rr");
    assert!(start > 0);
    // The follower deleted its own old segments too: none is wholly below the log start.
    let mut segs: Vec<u64> = std::fs::read_dir(&fdir)
        .unwrap()
        .filter_map(|e| e.ok())
        .filter_map(|e| {
            let n = e.file_name().to_string_lossy().to_string();
            n.strip_suffix(".log").and_then(|s| s.parse().ok())
        })
        .collect();
    segs.sort_unstable();
    assert!(segs.len() < 10, "follower kept {} segments", segs.len());
    assert!(
        segs.len() == 1 || segs[1] > start,
        "{segs:?} vs log start {start}"
    );
    // The follower is away while much more is written and deleted.
    env.mark("down", follower);
    env.controller_once();
    env.produce("rr", numbered(3000, 9000), &["--batch-size", "1KiB"]);
    env.controller_once();
    let start = earliest(&env, "rr");
    assert!(start > 3000, "log start {start}");
    env.mark("up", follower);
    // It ends far below the leader's log start: it restarts there, catches up, rejoins.
    env.controller_once();
    let d = env.json(&["topic", "describe", "rr", "--json"]);
    assert_eq!(
        d["partitions"][0]["isr"].as_array().unwrap().len(),
        2,
        "{d}"
    );
    assert_eq!(d["partitions"][0]["high_watermark"], 9000);
    env.chute().args(["verify", "-t", "rr"]).assert().success();
    assert_eq!(env.consume("rr", &[]), numbered(start, 9000));
}

/// `topic describe` and `cluster status` flag a partition whose retention is overdue (beyond a
/// segment of slack), by the same plan the controller deletes by; a pass clears it.
#[test]
fn overdue_retention_is_reported_until_a_pass_applies_it() {
    let env = Env::new();
    env.create_topic(
        "s",
        1,
        &[
            "--config",
            "segment.bytes=16KiB",
            "--config",
            "retention.bytes=32KiB",
        ],
    );
    let over = |env: &Env| {
        let d = env.json(&["topic", "describe", "s", "--json"]);
        let st = env.json(&["cluster", "status", "--json"]);
        (
            d["partitions"][0]["over_retention"].as_bool().unwrap(),
            st["over_retention_partitions"].as_u64().unwrap(),
        )
    };
    env.produce("s", numbered(0, 500), &[]);
    assert_eq!(over(&env), (false, 0), "24 KiB is within 32 KiB");
    env.produce("s", numbered(500, 2500), &[]);
    assert_eq!(over(&env), (true, 1), "120 KiB is over 32 KiB + a segment");
    env.controller_once();
    assert_eq!(over(&env), (false, 0));
}
