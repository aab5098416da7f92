//! Deterministic crash windows (`--features failpoints`): the process SIGKILLs itself at a
//! named point between two steps of a protocol (src/failpoint.rs), and the next process must
//! find a state it recovers from, losing nothing that was acknowledged.

use crate::util::*;
use std::collections::BTreeMap;
use std::os::unix::process::ExitStatusExt;
use std::time::Duration;

/// Run chute with the crash point armed; it must die there (SIGKILL).
fn crash_at(env: &Env, point: &str, args: &[&str], stdin: &str) {
    let out = env
        .chute()
        .env("FAILPOINTS", format!("{point}=return"))
        .args(args)
        .write_stdin(stdin.to_string())
        .output()
        .unwrap();
    assert_eq!(
        out.status.signal(),
        Some(9),
        "{args:?} did not die at {point}: {:?} {}",
        out.status,
        String::from_utf8_lossy(&out.stderr)
    );
}

fn lines_of(range: std::ops::Range<u32>, tag: &str) -> String {
    range.map(|i| format!("{tag}{i}\n")).collect()
}

fn read_all(env: &Env, topic: &str) -> Vec<String> {
    String::from_utf8(env.consume(topic, &[]))
        .unwrap()
        .lines()
        .map(str::to_string)
        .collect()
}

fn want(parts: &[(&str, std::ops::Range<u32>)]) -> Vec<String> {
    parts
        .iter()
        .flat_map(|(t, r)| r.clone().map(move |i| format!("{t}{i}")))
        .collect()
}

#[test]
fn append_windows_lose_nothing_acknowledged_and_never_adopt_unpublished_bytes() {
    // Plain and compressed batches: the same windows, the same guarantees.
    for (point, codec) in [
        "append-before-publish",
        "append-after-publish",
        "sync-before-publish",
    ]
    .into_iter()
    .flat_map(|p| [(p, "uncompressed"), (p, "zstd")])
    {
        let env = Env::new();
        env.create_topic("t", 1, &["-c", &format!("compression.type={codec}")]);
        env.produce("t", lines_of(0..100, "a"), &[]);
        crash_at(
            &env,
            point,
            &["produce", "-t", "t", "--linger", "0"],
            &lines_of(0..10, "b"),
        );
        // Before publish: invisible, and cut by the next writer. After publish: visible (a
        // killed process loses nothing that reached the page cache).
        let crashed = if point == "append-before-publish" {
            vec![]
        } else {
            want(&[("b", 0..10)])
        };
        let mut expect = want(&[("a", 0..100)]);
        expect.extend(crashed);
        assert_eq!(read_all(&env, "t"), expect, "{point}");
        // What the dead writer left past the commit point (bytes and index entries) is a note
        // for verify, not damage: the next writer removes it.
        let o = env.chute().args(["verify"]).output().unwrap();
        assert!(
            o.status.success(),
            "{point}: {}",
            String::from_utf8_lossy(&o.stdout)
        );
        env.produce("t", lines_of(0..5, "c"), &[]);
        expect.extend(want(&[("c", 0..5)]));
        assert_eq!(read_all(&env, "t"), expect, "{point}");
        env.chute().args(["verify"]).assert().success();
    }
}

#[test]
fn a_roll_killed_before_its_publish_leaves_a_segment_the_next_writer_removes() {
    let env = Env::new();
    env.create_topic("t", 1, &["--config", "segment.bytes=1024"]);
    env.produce("t", lines_of(0..60, "a"), &[]);
    let segs = |env: &Env| {
        std::fs::read_dir(env.partition_dir("t", 0))
            .unwrap()
            .filter(|e| {
                e.as_ref()
                    .unwrap()
                    .file_name()
                    .to_string_lossy()
                    .ends_with(".log")
            })
            .count()
    };
    let before = segs(&env);
    crash_at(
        &env,
        "roll-before-publish",
        &["produce", "-t", "t", "--linger", "0", "--batch-size", "512"],
        &lines_of(0..200, "b"),
    );
    assert!(segs(&env) >= before);
    let got = read_all(&env, "t");
    assert_eq!(got[..60], want(&[("a", 0..60)])[..]);
    env.produce("t", lines_of(0..3, "c"), &[]);
    let got = read_all(&env, "t");
    assert_eq!(got[got.len() - 3..], want(&[("c", 0..3)])[..]);
    env.chute().args(["verify"]).assert().success();
    // The segment the dead roll sealed is active again, its header still recording the length
    // it had then (docs/format.md, the seal). Writing on past it and rolling it for real must
    // record the new length: readers of the sealed segment then see every record after it.
    env.produce(
        "t",
        lines_of(0..100, "d"),
        &["--linger", "0", "--batch-size", "512"],
    );
    let got = read_all(&env, "t");
    let n = got.len();
    assert_eq!(got[n - 103..], want(&[("c", 0..3), ("d", 0..100)])[..]);
    env.chute().args(["verify"]).assert().success();
}

#[test]
fn a_follower_sync_killed_before_its_publish_catches_up_on_the_next_run() {
    let env = Env::new();
    env.brokers(2);
    env.create_topic("t", 1, &["--replication-factor", "2"]);
    let d = env.json(&["topic", "describe", "t", "--json"]);
    let leader = d["partitions"][0]["leader"].as_u64().unwrap();
    let follower = 1 - leader;
    env.mark("down", follower);
    env.produce("t", lines_of(0..500, "a"), &[]);
    env.mark("up", follower);
    crash_at(&env, "follow-before-publish", &["replicate"], "");
    env.chute().args(["replicate"]).assert().success();
    env.chute().args(["verify"]).assert().success();
    assert_eq!(read_all(&env, "t"), want(&[("a", 0..500)]));
}

const KEYS: u32 = 100;

fn compacted(env: &Env, codec: &str) -> BTreeMap<String, String> {
    env.create_topic(
        "c",
        1,
        &[
            "--config",
            &format!("compression.type={codec}"),
            "--config",
            "cleanup.policy=compact",
            "--config",
            "segment.bytes=2KiB",
            "--config",
            "segment.ms=1ms",
            "--config",
            "delete.retention=1ms",
        ],
    );
    let mut latest = BTreeMap::new();
    for r in 0..6 {
        let input: String = (0..KEYS).map(|k| format!("k{k:03},v{r}-{k}\n")).collect();
        env.produce("c", input, &["-K", ",", "--batch-size", "1KiB"]);
        for k in 0..KEYS {
            latest.insert(format!("k{k:03}"), format!("v{r}-{k}"));
        }
    }
    latest
}

fn check_latest(env: &Env, latest: &BTreeMap<String, String>) {
    let out = String::from_utf8(env.consume("c", &["--format", "%o %k %s\\n"])).unwrap();
    let mut last = BTreeMap::new();
    let mut prev = None;
    for l in out.lines() {
        let mut it = l.splitn(3, ' ');
        let o: u64 = it.next().unwrap().parse().unwrap();
        assert!(prev.is_none_or(|p| p < o), "offsets go back at {o}");
        prev = Some(o);
        last.insert(
            it.next().unwrap().to_string(),
            it.next().unwrap().to_string(),
        );
    }
    assert_eq!(&last, latest);
}

#[test]
fn compaction_killed_at_each_swap_step_keeps_every_latest_value() {
    // Compressed batches too: the cleaner inflates and compresses them again.
    for (point, codec) in [
        "compact-after-cleaned",
        "compact-mid-swap",
        "compact-after-swap",
        "compact-mid-rename",
    ]
    .into_iter()
    .flat_map(|p| [(p, "uncompressed"), (p, "lz4")])
    {
        let env = Env::new();
        let latest = compacted(&env, codec);
        crash_at(&env, point, &["controller", "--once"], "");
        check_latest(&env, &latest);
        env.controller_once();
        check_latest(&env, &latest);
        env.chute().args(["verify"]).assert().success();
        let left: Vec<String> = std::fs::read_dir(env.partition_dir("c", 0))
            .unwrap()
            .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
            .filter(|n| n.ends_with(".swap") || n.ends_with(".cleaned"))
            .collect();
        assert!(left.is_empty(), "{point}: {left:?}");
    }
}

#[test]
fn retention_killed_between_its_steps_serves_from_the_log_start_and_finishes_next_time() {
    for point in ["retention-before-rename", "retention-before-remove"] {
        let env = Env::new();
        env.create_topic(
            "t",
            1,
            &[
                "--config",
                "segment.bytes=1024",
                "--config",
                "retention.bytes=2048",
            ],
        );
        for b in 0..10 {
            env.produce("t", lines_of(b * 20..(b + 1) * 20, "a"), &[]);
        }
        crash_at(&env, point, &["controller", "--once"], "");
        let d = env.json(&["offsets", "-t", "t", "--json"]);
        let start = d["partitions"][0]["earliest"].as_u64().unwrap() as u32;
        assert!(start > 0, "{point}: the log start was published first");
        assert_eq!(read_all(&env, "t"), want(&[("a", start..200)]), "{point}");
        env.controller_once();
        let left: Vec<String> = std::fs::read_dir(env.partition_dir("t", 0))
            .unwrap()
            .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
            .filter(|n| n.ends_with(".deleted"))
            .collect();
        assert!(left.is_empty(), "{point}: {left:?}");
        env.chute().args(["verify"]).assert().success();
    }
}

#[test]
fn a_reassignment_killed_after_the_switch_serves_from_the_new_replicas() {
    let env = Env::new();
    env.brokers(2);
    env.create_topic("t", 1, &[]);
    env.produce("t", lines_of(0..300, "a"), &[]);
    let d = env.json(&["topic", "describe", "t", "--json"]);
    let old = d["partitions"][0]["leader"].as_u64().unwrap();
    let new = (1 - old).to_string();
    crash_at(
        &env,
        "reassign-after-switch",
        &["topic", "reassign", "t", "-p", "0", "--replicas", &new],
        "",
    );
    let d = env.json(&["topic", "describe", "t", "--json"]);
    assert_eq!(d["partitions"][0]["replicas"], serde_json::json!([1 - old]));
    assert_eq!(read_all(&env, "t"), want(&[("a", 0..300)]));
    assert!(env.root().join(format!("brokers/{old}/t-0")).exists());
    env.produce("t", lines_of(0..5, "b"), &[]);
    env.controller_once();
    env.chute().args(["verify"]).assert().success();
    assert_eq!(read_all(&env, "t"), want(&[("a", 0..300), ("b", 0..5)]));
    // The old replica's data, left by the kill, is removed by the controller's next pass.
    assert!(!env.root().join(format!("brokers/{old}/t-0")).exists());
}

#[test]
fn a_metadata_change_killed_before_or_during_its_replace_leaves_the_old_metadata() {
    for point in ["metadata-before-replace", "replace-before-rename"] {
        let env = Env::new();
        env.create_topic("keep", 1, &[]);
        env.produce("keep", "k\n", &[]);
        crash_at(
            &env,
            point,
            &["topic", "create", "x", "--partitions", "2"],
            "",
        );
        let list = env.json(&["topic", "list", "--json"]);
        assert!(!list.to_string().contains("\"x\""), "{point}: {list}");
        assert_eq!(read_all(&env, "keep"), ["k"]);
        env.create_topic("x", 2, &[]);
        env.produce("x", "y\n", &["-p", "1"]);
        assert_eq!(read_all(&env, "x"), ["y"]);
        env.chute().args(["verify"]).assert().success();
    }
}

#[test]
fn an_offset_commit_killed_before_its_replace_redelivers_and_never_skips() {
    let env = Env::new();
    env.create_topic("t", 1, &[]);
    env.produce("t", lines_of(0..50, "a"), &[]);
    env.chute()
        .args(["consume", "-t", "t", "-g", "g", "-n", "20"])
        .assert()
        .success();
    env.produce("t", lines_of(50..80, "a"), &[]);
    crash_at(
        &env,
        "commit-before-replace",
        &["consume", "-t", "t", "-g", "g"],
        "",
    );
    let g = env.json(&["offsets", "-g", "g", "--json"]);
    assert_eq!(g["partitions"][0]["committed"], 20);
    let out = String::from_utf8(env.consume("t", &["-g", "g"])).unwrap();
    let got: Vec<String> = out.lines().map(str::to_string).collect();
    assert_eq!(got, want(&[("a", 20..80)]));
    let g = env.json(&["offsets", "-g", "g", "--json"]);
    assert_eq!(g["partitions"][0]["committed"], 80);
}

fn describe0(env: &Env, topic: &str) -> serde_json::Value {
    env.json(&["topic", "describe", topic, "--json"])["partitions"][0].clone()
}

/// A follower that caught up with the leader's end when its sync started, and fell behind
/// while the other in-sync replica moved the high watermark on, must not join the ISR then:
/// the watermark would move back below records consumers were given, and that follower could
/// be elected lacking them (a soak saw a group member redeliver 30 records this way).
#[test]
fn a_follower_joins_the_isr_only_at_or_above_the_high_watermark() {
    let env = Env::new();
    env.brokers(3);
    env.create_topic("t", 1, &["-r", "3"]);
    env.produce("t", lines_of(0..10, "a"), &["--acks", "all"]);
    let p = describe0(&env, "t");
    let f = p["replicas"][2].as_u64().unwrap();
    assert_ne!(p["leader"].as_u64(), Some(f));
    // F leaves the ISR, comes back, and is behind: 10 more records it does not have.
    env.mark("down", f);
    env.controller_once();
    env.mark("up", f);
    env.produce("t", lines_of(10..20, "b"), &["--acks", "all"]);

    // `replicate` syncs F to offset 20, then stops just before it would let F rejoin.
    let gate = env.dir.path().join("gate");
    let mut rep = env
        .spawn(&["replicate", "-t", "t"])
        .env("FAILPOINTS", format!("isr-join=return({})", gate.display()))
        .spawn()
        .unwrap();
    let reached = gate.with_extension("reached");
    wait_for(
        "replicate to reach isr-join",
        Duration::from_secs(20),
        || reached.exists(),
    );
    // Meanwhile the ISR without F moves on (F is down for this write, so nothing syncs it),
    // and a consumer is given all 30 records.
    env.mark("down", f);
    env.produce("t", lines_of(20..30, "c"), &["--acks", "all"]);
    env.mark("up", f);
    let got = read_all(&env, "t");
    assert_eq!(got.len(), 30);
    std::fs::write(gate.with_extension("go"), b"").unwrap();
    let st = rep.wait().unwrap();
    assert!(st.success(), "replicate: {st:?}");

    let p = describe0(&env, "t");
    assert_eq!(
        p["high_watermark"], 30,
        "the high watermark moved back below what a consumer was given: {p}"
    );
    let isr: Vec<u64> = p["isr"]
        .as_array()
        .unwrap()
        .iter()
        .map(|b| b.as_u64().unwrap())
        .collect();
    assert!(
        !isr.contains(&f),
        "broker {f} joined the ISR while behind: {p}"
    );
    // The next pass, with F synced to the end, lets it in; the watermark stays.
    env.chute()
        .args(["replicate", "-t", "t"])
        .assert()
        .success();
    let p = describe0(&env, "t");
    assert!(p["isr"].as_array().unwrap().contains(&f.into()), "{p}");
    assert_eq!(p["high_watermark"], 30, "{p}");
    assert_eq!(read_all(&env, "t"), got);
}

/// A `--follow` member takes a partition with the metadata it read a moment ago. After a
/// leader change it has not seen, the former leader's log ends below the offset the group
/// committed from the new one; the member must start at that offset on the new leader, not
/// clamp to the former leader's end and deliver committed records again (a soak saw a member
/// deliver 29 records twice this way).
#[test]
fn a_member_with_old_metadata_starts_at_its_committed_offset_on_the_new_leader() {
    let env = Env::new();
    env.brokers(2);
    env.create_topic("t", 1, &["-r", "2"]);
    env.produce("t", lines_of(0..5, "a"), &["--acks", "all"]);
    let old = describe0(&env, "t")["leader"].as_u64().unwrap();

    // The member reads metadata (leader `old`) and stops before joining.
    let gate = env.dir.path().join("gate");
    let out_path = env.dir.path().join("out");
    let err_path = env.dir.path().join("err");
    let mut m = env
        .spawn(&["consume", "-t", "t", "-g", "g", "--follow"])
        .env(
            "FAILPOINTS",
            format!("group-metadata-read=return({})", gate.display()),
        )
        .stdout(std::fs::File::create(&out_path).unwrap())
        .stderr(std::fs::File::create(&err_path).unwrap())
        .spawn()
        .unwrap();
    wait_for(
        "the member to read metadata",
        Duration::from_secs(20),
        || gate.with_extension("reached").exists(),
    );

    // Leadership moves; the new leader gets 5 records the former one never sees, and a cron
    // run of the group commits all 10.
    env.mark("down", old);
    env.controller_once();
    assert_ne!(describe0(&env, "t")["leader"].as_u64(), Some(old));
    env.produce("t", lines_of(5..10, "b"), &["--acks", "all"]);
    let got = String::from_utf8(env.consume("t", &["-g", "g"])).unwrap();
    assert_eq!(got.lines().count(), 10, "{got}");

    std::fs::write(gate.with_extension("go"), b"").unwrap();
    env.produce("t", "next\n", &["--acks", "all"]);
    wait_for(
        "the member to deliver `next`",
        Duration::from_secs(20),
        || std::fs::read_to_string(&out_path).unwrap().contains("next"),
    );
    signal(m.id(), "TERM");
    assert_eq!(m.wait().unwrap().code(), Some(0));
    assert_eq!(
        std::fs::read_to_string(&out_path).unwrap(),
        "next\n",
        "the member delivered committed records again; stderr: {}",
        std::fs::read_to_string(&err_path).unwrap()
    );
}
