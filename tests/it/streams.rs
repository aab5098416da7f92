//! `chute stream`: every input record's outputs reach the output topic exactly once, in input
//! order per key, whatever is killed when; readers never see part of a batch's output in a
//! partition; a failed transform makes nothing of its batch visible.

use crate::replication::{Bg, LONG, cluster3, controller, describe, leader, move_away};
use crate::util::*;
use std::collections::{BTreeMap, BTreeSet};
use std::os::unix::process::ExitStatusExt;
use std::process::Stdio;
use std::time::Duration;

/// The transform: input value v gives no record (v % 3 == 0), one (`v a`), or three (`v a`,
/// `v b`, `v c`), keyed `k<n>` over five keys, each tagged with its batch (`@first-last`).
const TRANSFORM: &str = r#"awk -v b="$CHUTE_FIRST_OFFSET-$CHUTE_LAST_OFFSET" '{ v = $1; m = v % 3
  if (m == 1) print "k" v % 5 "," v "a@" b
  if (m == 2) { print "k" v % 5 "," v "a@" b; print "k" (v + 1) % 5 "," v "b@" b; print "k" (v + 2) % 5 "," v "c@" b } }'"#;

/// What the transform makes of 0..n, untagged, by key.
fn expected(values: impl Iterator<Item = u64>) -> BTreeSet<(String, String)> {
    let mut want = BTreeSet::new();
    for v in values {
        match v % 3 {
            1 => {
                want.insert((format!("k{}", v % 5), format!("{v}a")));
            }
            2 => {
                for (d, s) in [(0, "a"), (1, "b"), (2, "c")] {
                    want.insert((format!("k{}", (v + d) % 5), format!("{v}{s}")));
                }
            }
            _ => {}
        }
    }
    want
}

/// `partition key value@tag` lines of the output topic.
fn out_records(env: &Env, topic: &str) -> Vec<(u64, String, String, String)> {
    let out = env.consume(topic, &["--format", "%p %k %s\\n"]);
    String::from_utf8(out)
        .unwrap()
        .lines()
        .map(|l| {
            let mut it = l.splitn(3, ' ');
            let p = it.next().unwrap().parse().unwrap();
            let k = it.next().unwrap().to_string();
            let (v, tag) = it.next().unwrap().split_once('@').expect(l);
            (p, k, v.to_string(), tag.to_string())
        })
        .collect()
}

/// Every expected output once; per output partition and key, in input order (`in_partition`
/// maps a value to its input partition: order holds per input partition).
fn check_exactly_once(
    got: &[(u64, String, String, String)],
    want: &BTreeSet<(String, String)>,
    in_partition: &dyn Fn(u64) -> u64,
    ctx: &str,
) {
    let mut seen = BTreeSet::new();
    for (_, k, v, _) in got {
        assert!(
            seen.insert((k.clone(), v.clone())),
            "{k} {v} delivered twice\n{ctx}"
        );
    }
    let missing: Vec<_> = want.difference(&seen).take(10).collect();
    assert!(missing.is_empty(), "missing {missing:?}\n{ctx}");
    let extra: Vec<_> = seen.difference(want).take(10).collect();
    assert!(extra.is_empty(), "unexpected {extra:?}\n{ctx}");
    let num = |v: &str| -> u64 { v[..v.len() - 1].parse().unwrap() };
    let mut last: BTreeMap<(u64, String, u64), String> = BTreeMap::new();
    for (p, k, v, _) in got {
        let key = (*p, k.clone(), in_partition(num(v)));
        if let Some(prev) = last.get(&key) {
            assert!(
                (num(prev), prev.as_str()) < (num(v), v.as_str()),
                "partition {p} key {k}: {v} after {prev}\n{ctx}"
            );
        }
        last.insert(key, v.clone());
    }
}

/// Each input value's partition.
fn input_partitions(env: &Env) -> BTreeMap<u64, u64> {
    let inp = String::from_utf8(env.consume("in", &["--format", "%p %s\\n"])).unwrap();
    inp.lines()
        .map(|l| {
            let (p, v) = l.split_once(' ').unwrap();
            (v.parse().unwrap(), p.parse().unwrap())
        })
        .collect()
}

fn stream_args<'a>(extra: &[&'a str]) -> Vec<&'a str> {
    let mut a = vec![
        "stream", "-t", "in", "-g", "s", "--to", "out", "-K", ",", "--exec", TRANSFORM,
    ];
    a.extend_from_slice(extra);
    a
}

fn numbers(from: u64, to: u64) -> String {
    (from..to).map(|v| format!("{v}\n")).collect()
}

fn committed(env: &Env) -> u64 {
    let o = env
        .chute()
        .args(["offsets", "-g", "s", "--json"])
        .output()
        .unwrap();
    let v: serde_json::Value = serde_json::from_slice(&o.stdout).unwrap_or_default();
    v["partitions"]
        .as_array()
        .map(|a| a.iter().filter_map(|p| p["committed"].as_u64()).sum())
        .unwrap_or(0)
}

#[test]
fn a_stream_writes_each_output_once_and_commits_its_input() {
    let env = Env::new();
    env.create_topic("in", 2, &[]);
    env.create_topic("out", 3, &[]);
    env.produce("in", numbers(0, 3000), &[]);
    env.chute()
        .args(stream_args(&["--exec-batch", "100"]))
        .assert()
        .success();
    let got = out_records(&env, "out");
    let map = input_partitions(&env);
    check_exactly_once(&got, &expected(0..3000), &|v| map[&v], "");
    assert_eq!(committed(&env), 3000);
    // An ordinary group: consume -g has nothing left, and a second run writes nothing.
    env.chute()
        .args(stream_args(&["--exec-batch", "100"]))
        .assert()
        .success();
    assert_eq!(out_records(&env, "out").len(), got.len());
    let left = env.consume("in", &["-g", "s"]);
    assert!(left.is_empty());
}

#[test]
fn a_failed_or_unparsable_transform_makes_nothing_of_its_batch_visible() {
    let env = Env::new();
    env.create_topic("in", 1, &[]);
    env.create_topic("out", 3, &[]);
    env.produce("in", numbers(0, 300), &[]);
    // Fails on the batch holding 150, after printing all of its output.
    let failing = format!("tee batch | {TRANSFORM}; ! grep -qx 150 batch");
    let o = env
        .chute()
        .args(["stream", "-t", "in", "-g", "s", "--to", "out", "-K", ","])
        .args(["--exec-batch", "100", "--exec", &failing])
        .current_dir(env.dir.path())
        .output()
        .unwrap();
    assert_eq!(
        o.status.code(),
        Some(75),
        "{}",
        String::from_utf8_lossy(&o.stderr)
    );
    let got = out_records(&env, "out");
    check_exactly_once(&got, &expected(0..100), &|_| 0, "after the failed batch");
    assert_eq!(committed(&env), 100);
    // Output that does not parse (no key separator under -K): exit 65, nothing of it.
    let o = env
        .chute()
        .args(["stream", "-t", "in", "-g", "s", "--to", "out", "-K", ","])
        .args(["--exec", "echo no-separator-here"])
        .output()
        .unwrap();
    let err = String::from_utf8_lossy(&o.stderr);
    assert_eq!(o.status.code(), Some(65), "{err}");
    assert!(
        err.contains("the output of --exec for in-0 offsets 100 to 299"),
        "{err}"
    );
    assert_eq!(out_records(&env, "out").len(), got.len());
    assert_eq!(committed(&env), 100);
    // Output the output topic cannot take (a partition it lacks): refused before the batch
    // commits, so it does not come back on every run.
    let o = env
        .chute()
        .args([
            "stream",
            "-t",
            "in",
            "-g",
            "s",
            "--to",
            "out",
            "--out-format",
            "json",
        ])
        .args(["--exec", r#"echo '{"value":"x","partition":9}'"#])
        .output()
        .unwrap();
    let err = String::from_utf8_lossy(&o.stderr);
    assert_eq!(o.status.code(), Some(65), "{err}");
    assert!(err.contains("partition 9 does not exist"), "{err}");
    assert_eq!(out_records(&env, "out").len(), got.len());
    let intents = std::fs::read_dir(env.root().join("groups/s/streams"))
        .unwrap()
        .filter(|e| {
            e.as_ref()
                .unwrap()
                .file_name()
                .to_string_lossy()
                .ends_with(".intent")
        })
        .count();
    assert_eq!(intents, 0);
    // A good transform then does the rest, once.
    env.chute()
        .args(stream_args(&["--exec-batch", "100"]))
        .assert()
        .success();
    check_exactly_once(&out_records(&env, "out"), &expected(0..300), &|_| 0, "");
}

#[test]
fn a_crash_at_each_step_of_the_commit_is_finished_by_the_next_run() {
    // After the intent; after the first partition's output (others not yet); after all the
    // output; after the committed position (intent still there).
    for point in [
        "stream-after-intent=return",
        "append-after-publish=return",
        "append-after-publish=1*off->return",
        "stream-after-publish=return",
        "stream-after-commit=return",
    ] {
        let env = Env::new();
        env.create_topic("in", 1, &[]);
        env.create_topic("out", 3, &[]);
        env.produce("in", numbers(0, 300), &[]);
        let o = env
            .chute()
            .env("FAILPOINTS", point)
            .args(stream_args(&["--exec-batch", "100"]))
            .output()
            .unwrap();
        assert_eq!(
            o.status.signal(),
            Some(9),
            "{point}: {}",
            String::from_utf8_lossy(&o.stderr)
        );
        // Whatever became visible belongs to a committed batch (its intent is durable).
        env.chute()
            .args(stream_args(&["--exec-batch", "100"]))
            .assert()
            .success();
        check_exactly_once(&out_records(&env, "out"), &expected(0..300), &|_| 0, point);
        assert_eq!(committed(&env), 300, "{point}");
        let left: Vec<_> = std::fs::read_dir(env.root().join("groups/s/streams"))
            .unwrap()
            .map(|e| e.unwrap().file_name())
            .collect();
        assert!(left.is_empty(), "{point}: {left:?}");
    }
}

/// The children of a process (its --exec handler's shell).
fn children(pid: u32) -> Vec<u32> {
    std::fs::read_to_string(format!("/proc/{pid}/task/{pid}/children"))
        .unwrap_or_default()
        .split_whitespace()
        .filter_map(|s| s.parse().ok())
        .collect()
}

/// Two `--follow` members transform `in` while producers append to it; members and
/// transforms are SIGKILLed at least 50 times, at moments picked by what is happening (a
/// batch committed, an intent on disk, a transform running), and restarted.
fn kill_run(replicated: bool) {
    let (env, topic_args): (Env, Vec<&str>) = if replicated {
        (cluster3(), vec!["-r", "3", "-c", "min.insync.replicas=2"])
    } else {
        (Env::new(), vec![])
    };
    // Replicated, the input too: the broker that goes may lead an input partition.
    env.create_topic("in", 2, &topic_args);
    env.create_topic("out", 4, &topic_args);
    let ctl = replicated.then(|| {
        let mut c = controller(&env, "ctl", &["--interval", "20ms"]);
        c.wait_log("active:");
        c
    });
    let n = 6000u64;
    let feeder = {
        let root = env.root();
        std::thread::spawn(move || {
            for c in 0..30 {
                let chunk = numbers(c * n / 30, (c + 1) * n / 30);
                let st = std::process::Command::new(bin())
                    .env("CHUTE_ROOT", &root)
                    .args(["produce", "-t", "in", "-q"])
                    .stdin(Stdio::piped())
                    .spawn()
                    .and_then(|mut ch| {
                        use std::io::Write;
                        ch.stdin.take().unwrap().write_all(chunk.as_bytes())?;
                        ch.wait()
                    })
                    .unwrap();
                assert!(st.success());
            }
        })
    };
    // Another producer writes to the output topic all along: it keeps working.
    let others = 3000u64;
    let other_producer = {
        let root = env.root();
        std::thread::spawn(move || {
            for c in 0..30 {
                let chunk: String = (c * others / 30..(c + 1) * others / 30)
                    .map(|i| format!("x,o{i}@other\n"))
                    .collect();
                let o = std::process::Command::new(bin())
                    .env("CHUTE_ROOT", &root)
                    .args(["produce", "-t", "out", "-K", ",", "-q"])
                    .stdin(Stdio::piped())
                    .stderr(Stdio::piped())
                    .spawn()
                    .and_then(|mut ch| {
                        use std::io::Write;
                        ch.stdin.take().unwrap().write_all(chunk.as_bytes())?;
                        ch.wait_with_output()
                    })
                    .unwrap();
                assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
            }
        })
    };
    let acks = if replicated { "all" } else { "1" };
    let args = stream_args(&["--follow", "--exec-batch", "20", "--acks", acks]);
    let start = |i: usize, k: u32| Bg::start(&env, &format!("m{i}-{k}"), &args, Stdio::null());
    let mut members = vec![start(0, 0), start(1, 0)];
    let mut kills = 0u32;
    let mut starts = 2u32;
    let mut rng = 0x2545_f491_4f6c_dd1du64;
    let mut next = || {
        rng ^= rng << 13;
        rng ^= rng >> 7;
        rng ^= rng << 17;
        rng
    };
    let streams = env.root().join("groups/s/streams");
    let has = |ext: &str| {
        std::fs::read_dir(&streams).is_ok_and(|d| {
            d.filter_map(|e| e.ok())
                .any(|e| e.file_name().to_string_lossy().ends_with(ext))
        })
    };
    let mut moved = false;
    let mut last = committed(&env);
    while kills < 50 {
        for (i, m) in members.iter_mut().enumerate() {
            if let Ok(Some(_)) = m.child.try_wait() {
                *m = start(i, starts);
                starts += 1;
            }
        }
        let victim = (next() % 2) as usize;
        let pid = members[victim].pid();
        // The moment: a batch committed since the last kill, an intent on disk (mid-commit),
        // or a transform running.
        let how = next() % 3;
        let mut reached = false;
        wait_for("a moment to kill at", LONG, || {
            reached = match how {
                0 => committed(&env) > last,
                1 => has(".intent"),
                _ => !children(pid).is_empty(),
            } || committed(&env) > last + 200;
            reached || members[victim].child.try_wait().is_ok_and(|s| s.is_some())
        });
        if members[victim].child.try_wait().is_ok_and(|s| s.is_some()) {
            continue;
        }
        if how == 2 && next() % 2 == 0 {
            // The transform alone: its member sees the batch fail and exits (75).
            for c in children(pid) {
                let _ = std::process::Command::new("kill")
                    .args(["-KILL", &c.to_string()])
                    .status();
            }
        } else {
            members[victim].signal("-KILL");
        }
        kills += 1;
        last = committed(&env);
        if replicated && !moved && kills == 25 {
            // A broker's disk goes mid-run (the leader of output partition 0).
            let old = leader(&describe(&env, "out")[0]).unwrap();
            move_away(&env, old);
            moved = true;
        }
    }
    feeder.join().unwrap();
    other_producer.join().unwrap();
    // The members drain what is left (restarted whenever one stopped: a killed transform
    // makes its member exit 75).
    let deadline = std::time::Instant::now() + Duration::from_secs(90);
    let mut logs = String::new();
    while committed(&env) < n {
        for (i, m) in members.iter_mut().enumerate() {
            if let Ok(Some(st)) = m.child.try_wait() {
                logs += &format!("member {i} exited {st}: {}\n", m.stderr());
                *m = start(i, starts);
                starts += 1;
            }
        }
        assert!(
            std::time::Instant::now() < deadline,
            "input not drained: committed {} of {n}\n{logs}\nlive members:\n{}",
            committed(&env),
            members
                .iter()
                .map(|m| m.stderr())
                .collect::<Vec<_>>()
                .join("\n")
        );
        std::thread::sleep(Duration::from_millis(20));
    }
    for m in &members {
        m.signal("-TERM");
    }
    for m in &mut members {
        m.wait_exit(LONG);
    }
    let map = input_partitions(&env);
    let ctx = format!(
        "{kills} kills, {starts} member starts; member logs:\n{}",
        members
            .iter()
            .map(|m| m.stderr())
            .collect::<Vec<_>>()
            .join("\n")
    );
    let (other, got): (Vec<_>, Vec<_>) = out_records(&env, "out")
        .into_iter()
        .partition(|r| r.3 == "other");
    let distinct: BTreeSet<_> = other.iter().map(|r| &r.2).collect();
    assert_eq!(
        (other.len() as u64, distinct.len() as u64),
        (others, others),
        "the other producer's records, each once"
    );
    check_exactly_once(&got, &expected(0..n), &|v| map[&v], &ctx);
    drop(ctl);
}

#[test]
fn fifty_kills_of_members_and_transforms_leave_every_output_once() {
    kill_run(false);
}

#[test]
fn fifty_kills_with_a_replicated_output_and_a_broker_gone() {
    kill_run(true);
}

#[test]
fn readers_never_see_part_of_a_batchs_output_in_a_partition() {
    let env = Env::new();
    env.create_topic("in", 1, &[]);
    env.create_topic("out", 3, &[]);
    env.produce("in", numbers(0, 4000), &[]);
    let mut member = Bg::start(
        &env,
        "m",
        &stream_args(&["--follow", "--exec-batch", "25"]),
        Stdio::null(),
    );
    // Snapshots of the output while it is written: each batch's records in a partition are
    // all there or none.
    let mut snapshots = Vec::new();
    wait_for("the input transformed", LONG, || {
        snapshots.push(out_records(&env, "out"));
        committed(&env) >= 4000
    });
    assert!(
        member.child.try_wait().unwrap().is_none(),
        "the member exited: {}",
        member.stderr()
    );
    member.signal("-TERM");
    member.wait_exit(LONG);
    let all = out_records(&env, "out");
    let mut full: BTreeMap<(u64, String), usize> = BTreeMap::new();
    for (p, _, _, tag) in &all {
        *full.entry((*p, tag.clone())).or_default() += 1;
    }
    assert!(
        snapshots.len() > 3,
        "too few snapshots: {}",
        snapshots.len()
    );
    for s in &snapshots {
        let mut seen: BTreeMap<(u64, String), usize> = BTreeMap::new();
        for (p, _, _, tag) in s {
            *seen.entry((*p, tag.clone())).or_default() += 1;
        }
        for (k, c) in seen {
            assert_eq!(
                c, full[&k],
                "partition {} batch {}: part of it visible",
                k.0, k.1
            );
        }
    }
}

#[test]
fn an_input_topic_deleted_and_created_again_is_streamed_from_its_start() {
    // A batch whose intent is durable when the member dies, then the input topic is deleted
    // and created again with other records at the same offsets: the old batch's output is
    // published (its batch committed), the old position is not carried over, and the new
    // incarnation's records are not mistaken for the old ones by their offsets.
    let env = Env::new();
    env.create_topic("in", 1, &[]);
    env.create_topic("out", 3, &[]);
    env.produce("in", numbers(0, 300), &[]);
    env.chute()
        .args(stream_args(&["--exec-batch", "100"]))
        .assert()
        .success();
    env.produce("in", numbers(300, 400), &[]);
    let o = env
        .chute()
        .env("FAILPOINTS", "stream-after-intent=return")
        .args(stream_args(&["--exec-batch", "100"]))
        .output()
        .unwrap();
    assert_eq!(o.status.signal(), Some(9));
    env.chute()
        .args(["topic", "delete", "in"])
        .assert()
        .success();
    env.create_topic("in", 1, &[]);
    env.produce("in", numbers(1000, 1300), &[]);
    env.chute()
        .args(stream_args(&["--exec-batch", "100"]))
        .assert()
        .success();
    let want = expected((0..400).chain(1000..1300));
    check_exactly_once(&out_records(&env, "out"), &want, &|v| v / 1000, "");
    assert_eq!(committed(&env), 300);
}
