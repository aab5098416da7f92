//! `produce --id NAME`: retry-safe producers. A re-run of the same command on the same input
//! appends only what the log does not hold, whatever killed the first run and whatever
//! retention, compaction or a leader change did since.

use crate::replication::{
    Bg, LONG, assert_exactly_once_in_order, by_partition, cluster3, controller, describe, hw_sum,
    leader, move_away, wait_new_leaders,
};
use crate::util::*;
use std::io::Write;
use std::process::Stdio;
use std::time::Duration;

/// Line `i`: `k<i%97>,<i>`, or an unkeyed `<i>` for every third (with `-K , --key-optional`).
fn mixed(from: u64, to: u64) -> String {
    (from..to)
        .map(|i| {
            if i % 3 == 0 {
                format!("{i}\n")
            } else {
                format!("k{},{i}\n", i % 97)
            }
        })
        .collect()
}

const MIXED: [&str; 4] = ["-K", ",", "--key-optional", "--batch-size=16KiB"];

fn run(env: &Env, topic: &str, id: &str, input: &str, extra: &[&str]) -> (i32, String) {
    let mut args = vec!["produce", "-t", topic, "--id", id];
    args.extend_from_slice(extra);
    let o = env
        .chute()
        .args(&args)
        .write_stdin(input.to_string())
        .output()
        .unwrap();
    (
        o.status.code().unwrap_or(-1),
        String::from_utf8_lossy(&o.stderr).into_owned(),
    )
}

fn skipped(stderr: &str) -> u64 {
    stderr
        .split("--id ")
        .nth(1)
        .and_then(|s| s.split(": ").nth(1))
        .and_then(|s| s.split(' ').next())
        .and_then(|n| n.parse().ok())
        .unwrap_or(0)
}

fn end_offsets(env: &Env, topic: &str) -> Vec<u64> {
    describe(env, topic)
        .iter()
        .map(|p| p["log_end_offset"].as_u64().unwrap())
        .collect()
}

#[test]
fn killed_mid_input_then_rerun_holds_every_record_once_where_one_run_puts_it() {
    let n = 300_000;
    let input = mixed(0, n);
    let env = Env::new();
    env.create_topic("o", 4, &[]);
    // The first run reads stdin and is killed while it writes.
    let mut args = vec!["produce", "-t", "o", "--id", "nightly"];
    args.extend_from_slice(&MIXED);
    let mut first = Bg::start(&env, "first", &args, Stdio::piped());
    let mut stdin = first.child.stdin.take().unwrap();
    // Fed in pieces with pauses (about 1.5 s in all), so the kill lands mid-input even when
    // this test's thread is slow to see the first records (a loaded machine).
    let feed = {
        let input = input.clone();
        std::thread::spawn(move || {
            for piece in input.as_bytes().chunks(input.len() / 300 + 1) {
                if stdin.write_all(piece).is_err() {
                    break;
                }
                std::thread::sleep(Duration::from_millis(5));
            }
        })
    };
    wait_for("some records written", LONG, || hw_sum(&env, "o") >= 30_000);
    kill9(&mut first.child);
    let _ = feed.join();
    let written = hw_sum(&env, "o");
    assert!(written < n, "the first run finished before the kill");

    // The re-run reads the same input from a file: the same positions.
    let file = env.dir.path().join("in");
    std::fs::write(&file, &input).unwrap();
    let mut args = vec!["produce", "-t", "o", "--id", "nightly", "--file"];
    args.push(file.to_str().unwrap());
    args.extend_from_slice(&MIXED);
    let o = env.chute().args(&args).output().unwrap();
    let err = String::from_utf8_lossy(&o.stderr);
    assert_eq!(o.status.code(), Some(0), "{err}");
    assert_eq!(skipped(&err), written, "{err}");

    let got = env.consume("o", &["--format", "%p %s\\n"]);
    let ctx = format!("killed after {written} records; re-run: {err}");
    assert_exactly_once_in_order(&by_partition(&got), n, &ctx);

    // Placement is what one uninterrupted run makes.
    let once = Env::new();
    once.create_topic("o", 4, &[]);
    let (code, err) = run(&once, "o", "nightly", &input, &MIXED);
    assert_eq!(code, 0, "{err}");
    let want = once.consume("o", &["--format", "%p %s\\n"]);
    assert_eq!(by_partition(&got), by_partition(&want));

    // A third run writes nothing.
    let before = end_offsets(&env, "o");
    let (code, err) = run(&env, "o", "nightly", &input, &MIXED);
    assert_eq!((code, skipped(&err)), (0, n), "{err}");
    assert_eq!(end_offsets(&env, "o"), before);
}

#[test]
fn two_ids_on_one_partition_do_not_interfere() {
    let env = Env::new();
    env.create_topic("o", 1, &[]);
    let a: String = (0..1000).map(|i| format!("a{i}\n")).collect();
    let b: String = (0..1000).map(|i| format!("b{i}\n")).collect();
    let b_half: String = (0..500).map(|i| format!("b{i}\n")).collect();
    assert_eq!(run(&env, "o", "a", &a, &[]).0, 0);
    assert_eq!(run(&env, "o", "b", &b_half, &[]).0, 0);
    let (code, err) = run(&env, "o", "b", &b, &[]);
    assert_eq!((code, skipped(&err)), (0, 500), "{err}");
    let (code, err) = run(&env, "o", "a", &a, &[]);
    assert_eq!((code, skipped(&err)), (0, 1000), "{err}");
    let got = String::from_utf8(env.consume("o", &[])).unwrap();
    assert_eq!(got, format!("{a}{b}"));
    // Each batch names its producer and last input position.
    let d = env
        .chute()
        .args(["dump", env.partition_dir("o", 0).to_str().unwrap()])
        .output()
        .unwrap();
    let d = String::from_utf8_lossy(&d.stdout);
    assert!(
        d.contains("producerId: a sequence: 999 partitions: 1"),
        "{d}"
    );
    assert!(
        d.contains("producerId: b sequence: 499 partitions: 1"),
        "{d}"
    );
    assert!(
        d.contains("producerId: b sequence: 999 partitions: 1"),
        "{d}"
    );
    // Without --id nothing is skipped: the same lines again.
    env.produce("o", a.clone(), &[]);
    assert_eq!(end_offsets(&env, "o"), vec![3000]);
}

#[test]
fn a_rerun_after_retention_and_compaction_removed_batches_still_skips_them() {
    let env = Env::new();
    env.create_topic(
        "r",
        1,
        &["-c", "segment.bytes=4KiB", "-c", "retention.bytes=8KiB"],
    );
    env.create_topic(
        "c",
        1,
        &["-c", "segment.bytes=4KiB", "-c", "cleanup.policy=compact"],
    );
    let lines: String = (0..5000).map(|i| format!("k{},{i}\n", i % 10)).collect();
    let small = ["-K", ",", "--batch-size=1KiB"];
    for t in ["r", "c"] {
        let (code, err) = run(&env, t, "job", &lines, &small);
        assert_eq!(code, 0, "{err}");
    }
    // Another producer writes after it: every batch of the job's ends up in a deleted segment
    // (retention) or superseded key by key (compaction), stamps and all.
    let other: String = (0..5000)
        .map(|i| format!("k{},other {i}\n", i % 10))
        .collect();
    for t in ["r", "c"] {
        env.produce(t, other.clone(), &small);
    }
    env.controller_once();
    let start = describe(&env, "r")[0]["log_start_offset"].as_u64().unwrap();
    assert!(
        start > 5000,
        "retention left the job's records: log start {start}"
    );
    let left = String::from_utf8(env.consume("c", &[])).unwrap();
    assert!(
        left.lines().all(|l| l.starts_with("other ")),
        "compaction left the job's records:\n{left}"
    );
    let before_r = end_offsets(&env, "r");
    let before_c = end_offsets(&env, "c");
    for t in ["r", "c"] {
        assert!(env.partition_dir(t, 0).join("producers").is_file(), "{t}");
        let (code, err) = run(&env, t, "job", &lines, &small);
        assert_eq!((code, skipped(&err)), (0, 5000), "{t}: {err}");
    }
    assert_eq!(end_offsets(&env, "r"), before_r);
    assert_eq!(end_offsets(&env, "c"), before_c);
    // A longer input: only its new records are written.
    let more: String = (0..6000).map(|i| format!("k{},{i}\n", i % 10)).collect();
    let (code, err) = run(&env, "r", "job", &more, &small);
    assert_eq!((code, skipped(&err)), (0, 5000), "{err}");
    assert_eq!(end_offsets(&env, "r"), vec![before_r[0] + 1000]);
}

#[test]
fn a_changed_partition_count_or_an_unrepeatable_partitioner_is_refused() {
    let env = Env::new();
    env.create_topic("o", 2, &[]);
    let input: String = (0..100).map(|i| format!("{i}\n")).collect();
    assert_eq!(run(&env, "o", "x", &input, &[]).0, 0);
    env.chute()
        .args(["topic", "alter", "o", "-p", "3"])
        .assert()
        .success();
    let (code, err) = run(&env, "o", "x", &input, &[]);
    assert_eq!(code, 2, "{err}");
    assert!(
        err.contains("had 2 partitions") && err.contains("has 3 now"),
        "{err}"
    );
    assert_eq!(end_offsets(&env, "o"), vec![100, 0, 0]);
    // A new id starts afresh.
    let (code, err) = run(&env, "o", "y", &input, &[]);
    assert_eq!(code, 0, "{err}");
    for extra in [
        &["--partitioner", "random"][..],
        &["--partitioner-exec", "cat"][..],
    ] {
        let (code, err) = run(&env, "o", "z", &input, extra);
        assert_eq!(code, 2, "{extra:?}: {err}");
        assert!(err.contains("--id z"), "{err}");
    }
    let (code, err) = run(&env, "o", "bad/id", &input, &[]);
    assert_eq!(code, 2, "{err}");
    assert!(err.contains("producer id"), "{err}");
}

#[test]
fn a_second_producer_with_the_same_id_stops_the_first_without_duplicates() {
    let env = Env::new();
    env.create_topic("o", 1, &[]);
    let all: String = (0..3000).map(|i| format!("{i}\n")).collect();
    let mut first = Bg::start(
        &env,
        "first",
        &["produce", "-t", "o", "--id", "x"],
        Stdio::piped(),
    );
    let mut stdin = first.child.stdin.take().unwrap();
    stdin
        .write_all(&all.as_bytes()[..all.find("1000\n").unwrap()])
        .unwrap();
    stdin.flush().unwrap();
    wait_for("the first 1000 records", LONG, || hw_sum(&env, "o") >= 1000);
    // Meanwhile, the same job runs again to the end.
    let (code, err) = run(&env, "o", "x", &all, &[]);
    assert_eq!((code, skipped(&err)), (0, 1000), "{err}");
    // The first goes on: its next batch would repeat positions the second wrote.
    stdin
        .write_all(&all.as_bytes()[all.find("1000\n").unwrap()..])
        .unwrap();
    drop(stdin);
    assert_eq!(first.wait_exit(LONG), Some(75), "{}", first.stderr());
    assert!(
        first.stderr().contains("another producer with --id x"),
        "{}",
        first.stderr()
    );
    let got = String::from_utf8(env.consume("o", &[])).unwrap();
    assert_eq!(got, all);
}

#[test]
fn acks_all_through_a_leader_failover_then_a_rerun_adds_nothing() {
    let env = cluster3();
    env.create_topic("t", 3, &["-r", "3", "-c", "min.insync.replicas=2"]);
    let mut ctl = controller(&env, "ctl", &["--interval", "20ms"]);
    ctl.wait_log("active:");
    let args = [
        "produce", "-t", "t", "--id", "feed", "--acks", "all", "--linger", "1ms", "-K", ",",
    ];
    let mut prod = Bg::start(&env, "prod", &args, Stdio::piped());
    let mut stdin = prod.child.stdin.take().unwrap();
    let chunk = |from: u64, to: u64| crate::replication::keyed(from, to);
    stdin.write_all(chunk(0, 2000).as_bytes()).unwrap();
    stdin.flush().unwrap();
    wait_for("first records acknowledged", LONG, || {
        hw_sum(&env, "t") >= 2000
    });
    let old = leader(&describe(&env, "t")[0]).unwrap();
    stdin.write_all(chunk(2000, 3000).as_bytes()).unwrap();
    stdin.flush().unwrap();
    move_away(&env, old);
    wait_new_leaders(&env, "t", old);
    stdin.write_all(chunk(3000, 5000).as_bytes()).unwrap();
    drop(stdin);
    assert_eq!(prod.wait_exit(LONG), Some(0), "producer: {}", prod.stderr());
    let got = env.consume("t", &["--format", "%p %s\\n"]);
    let ctx = format!(
        "producer:\n{}\ncontroller:\n{}",
        prod.stderr(),
        ctl.stderr()
    );
    assert_exactly_once_in_order(&by_partition(&got), 5000, &ctx);

    // The new leaders know the producer from the batches their followers copied.
    let (code, err) = run(
        &env,
        "t",
        "feed",
        &chunk(0, 5000),
        &["--acks", "all", "-K", ","],
    );
    assert_eq!((code, skipped(&err)), (0, 5000), "{err}");
    let again = env.consume("t", &["--format", "%p %s\\n"]);
    assert_eq!(by_partition(&again), by_partition(&got));
    // Every replica holding stamped batches knows to keep their state through retention and
    // compaction: the leaders that were followers, whatever path the batches came by.
    for p in describe(&env, "t") {
        let l = leader(&p).unwrap();
        let dir = crate::replication::replica_dir(&env, l, "t", p["partition"].as_u64().unwrap());
        assert!(dir.join("producers").is_file(), "{}", dir.display());
    }
    drop(ctl);
}

#[test]
fn a_replica_made_after_retention_knows_what_its_leader_wrote_down() {
    let env = crate::replication::cluster(2);
    env.create_topic(
        "t",
        1,
        &["-c", "segment.bytes=4KiB", "-c", "retention.bytes=8KiB"],
    );
    let old = leader(&describe(&env, "t")[0]).unwrap();
    let new = 1 - old;
    let lines: String = (0..5000).map(|i| format!("k{},{i}\n", i % 10)).collect();
    let small = ["-K", ",", "--batch-size=1KiB"];
    let (code, err) = run(&env, "t", "job", &lines, &small);
    assert_eq!(code, 0, "{err}");
    let other: String = (0..5000)
        .map(|i| format!("k{},other {i}\n", i % 10))
        .collect();
    env.produce("t", other, &small);
    env.controller_once();
    let start = describe(&env, "t")[0]["log_start_offset"].as_u64().unwrap();
    assert!(start > 5000, "retention left the job's batches: {start}");
    // A replica on the other broker, copied from the leader's log start, then leading.
    let replicas = format!("{new},{old}");
    env.chute()
        .args(["topic", "reassign", "t", "-p", "0", "--replicas", &replicas])
        .assert()
        .success();
    env.chute()
        .args(["topic", "elect-leaders", "t"])
        .assert()
        .success();
    assert_eq!(leader(&describe(&env, "t")[0]), Some(new));
    let before = end_offsets(&env, "t");
    let (code, err) = run(&env, "t", "job", &lines, &small);
    assert_eq!((code, skipped(&err)), (0, 5000), "{err}");
    assert_eq!(end_offsets(&env, "t"), before);
}

#[test]
fn retention_killed_while_deleting_stamped_segments_loses_no_producer_state() {
    use std::os::unix::process::ExitStatusExt;
    for point in ["retention-before-rename", "retention-before-remove"] {
        let env = Env::new();
        env.create_topic(
            "r",
            1,
            &["-c", "segment.bytes=4KiB", "-c", "retention.bytes=8KiB"],
        );
        let lines: String = (0..5000).map(|i| format!("k{},{i}\n", i % 10)).collect();
        let small = ["-K", ",", "--batch-size=1KiB"];
        assert_eq!(run(&env, "r", "job", &lines, &small).0, 0);
        let other: String = (0..5000)
            .map(|i| format!("k{},other {i}\n", i % 10))
            .collect();
        env.produce("r", other, &small);
        // The cleaner dies between the checkpoint and the segments going; the next pass ends it.
        let o = env
            .chute()
            .env("FAILPOINTS", format!("{point}=return"))
            .args(["controller", "--once"])
            .output()
            .unwrap();
        assert_eq!(o.status.signal(), Some(9), "{point}");
        env.controller_once();
        let start = describe(&env, "r")[0]["log_start_offset"].as_u64().unwrap();
        assert!(start > 5000, "{point}: log start {start}");
        let before = end_offsets(&env, "r");
        let (code, err) = run(&env, "r", "job", &lines, &small);
        assert_eq!((code, skipped(&err)), (0, 5000), "{point}: {err}");
        assert_eq!(end_offsets(&env, "r"), before, "{point}");
    }
}

#[test]
fn a_producer_idle_longer_than_its_expiration_is_forgotten() {
    let env = Env::new();
    env.create_topic(
        "o",
        1,
        &["-c", "segment.bytes=4KiB", "-c", "retention.bytes=8KiB"],
    );
    let lines: String = (0..1000).map(|i| format!("{i}\n")).collect();
    let small = ["--batch-size=1KiB"];
    let alter = |value: &str| {
        env.chute()
            .args(["topic", "alter", "o", "-c"])
            .arg(format!("producer.id.expiration={value}"))
            .assert()
            .success();
    };
    assert_eq!(run(&env, "o", "x", &lines, &small).0, 0);
    // Expired at once: the re-run starts from scratch.
    alter("0");
    let (code, err) = run(&env, "o", "x", &lines, &small);
    assert_eq!((code, skipped(&err)), (0, 0), "{err}");
    assert_eq!(end_offsets(&env, "o"), vec![2000]);
    // Within the expiration again: the latest run counts.
    alter("7d");
    let (code, err) = run(&env, "o", "x", &lines, &small);
    assert_eq!((code, skipped(&err)), (0, 1000), "{err}");
    assert_eq!(end_offsets(&env, "o"), vec![2000]);
    // The checkpoint retention writes before it deletes drops expired producers for good.
    alter("0");
    env.controller_once();
    assert!(describe(&env, "o")[0]["log_start_offset"].as_u64().unwrap() > 0);
    alter("7d");
    let (code, err) = run(&env, "o", "x", &lines, &small);
    assert_eq!((code, skipped(&err)), (0, 0), "{err}");
    assert_eq!(end_offsets(&env, "o"), vec![3000]);
}

#[test]
fn a_long_stretch_of_stamps_is_written_down_by_the_next_producer_that_reads_it() {
    // Past 64 MiB of log since the checkpoint, the producer that read it writes the state down,
    // so that later runs read only what came after.
    let env = Env::new();
    env.create_topic("o", 1, &[]);
    let line = format!("{}\n", "x".repeat(999));
    let big = line.repeat(70_000);
    assert_eq!(run(&env, "o", "x", &big, &[]).0, 0);
    let checkpoint = || -> serde_json::Value {
        let p = env.partition_dir("o", 0).join("producers");
        serde_json::from_slice(&std::fs::read(p).unwrap()).unwrap()
    };
    assert_eq!(checkpoint()["as_of"], 0);
    assert_eq!(run(&env, "o", "y", "1\n", &[]).0, 0);
    let c = checkpoint();
    assert_eq!(c["as_of"], 70_000, "{c}");
    assert_eq!(c["producers"]["x"]["last_sequence"], 69_999, "{c}");
    // What it wrote down still de-duplicates.
    let (code, err) = run(&env, "o", "x", &big, &[]);
    assert_eq!((code, skipped(&err)), (0, 70_000), "{err}");
    assert_eq!(end_offsets(&env, "o"), vec![70_001]);
}
