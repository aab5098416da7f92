//! `consume` of several topics: `-t a -t b`, `^regex` values, with and without a group, and
//! topics a pattern matches that are created while following.

use crate::util::*;
use std::collections::{BTreeMap, BTreeSet};
use std::io::{BufRead, BufReader};
use std::process::{Child, Stdio};
use std::sync::{Arc, Mutex};
use std::time::Duration;

const LONG: Duration = Duration::from_secs(60);

/// `<prefix>-<i>` lines, keyed `k<i>` (`-K ,`), so that they spread over partitions.
fn keyed(prefix: &str, n: usize) -> String {
    (0..n).map(|i| format!("k{i},{prefix}-{i}\n")).collect()
}

fn text(b: &[u8]) -> Vec<String> {
    lines(b)
        .iter()
        .map(|l| String::from_utf8(l.to_vec()).unwrap())
        .collect()
}

/// `consume ARGS`: (exit code, stdout lines, stderr).
fn consume(env: &Env, args: &[&str]) -> (Option<i32>, Vec<String>, String) {
    let out = env
        .chute()
        .arg("consume")
        .args(args)
        .timeout(Duration::from_secs(30))
        .output()
        .unwrap();
    (
        out.status.code(),
        text(&out.stdout),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

/// A running `chute consume ... --follow`, its stdout lines collected by a thread.
struct Running {
    child: Child,
    lines: Arc<Mutex<Vec<String>>>,
}

impl Running {
    fn start(env: &Env, args: &[&str]) -> Running {
        let mut all = vec!["consume"];
        all.extend_from_slice(args);
        let mut child = env
            .spawn(&all)
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .unwrap();
        let stdout = child.stdout.take().unwrap();
        let lines = Arc::new(Mutex::new(Vec::new()));
        let l2 = lines.clone();
        std::thread::spawn(move || {
            for line in BufReader::new(stdout).lines() {
                let Ok(line) = line else { break };
                l2.lock().unwrap().push(line);
            }
        });
        Running { child, lines }
    }

    fn lines(&self) -> Vec<String> {
        self.lines.lock().unwrap().clone()
    }

    fn has(&self, line: &str) -> bool {
        self.lines.lock().unwrap().iter().any(|l| l == line)
    }

    /// SIGTERM, then the exit code (a member commits what it delivered first) and stderr.
    fn stop(mut self) -> (Option<i32>, String, Vec<String>) {
        signal(self.child.id(), "TERM");
        let status = self.child.wait().unwrap();
        let mut err = String::new();
        std::io::Read::read_to_string(&mut self.child.stderr.take().unwrap(), &mut err).unwrap();
        // The reader thread ends with the pipe.
        wait_for("stdout to close", LONG, || {
            Arc::strong_count(&self.lines) == 1
        });
        (status.code(), err, self.lines())
    }
}

#[test]
fn two_topics_deliver_every_record_once_each_with_its_own_topic() {
    let env = Env::new();
    env.create_topic("a", 2, &[]);
    env.create_topic("b", 3, &[]);
    env.produce("a", keyed("a", 500), &["-K", ","]);
    env.produce("b", keyed("b", 700), &["-K", ","]);

    // Naming a topic twice reads it once.
    let (code, out, err) = consume(&env, &["-t", "a", "-t", "b", "-t", "a", "-f", "%t %s\\n"]);
    assert_eq!(code, Some(0), "{err}");
    assert_eq!(out.len(), 1200);
    let got: BTreeSet<&String> = out.iter().collect();
    assert_eq!(got.len(), 1200, "no record twice");
    for l in &out {
        let (t, v) = l.split_once(' ').unwrap();
        assert!(
            v.starts_with(&format!("{t}-")),
            "record {v} printed with topic {t}"
        );
    }
    // JSON and CSV carry each record's topic too.
    let (_, out, _) = consume(&env, &["-t", "b", "-t", "a", "-f", "json"]);
    let mut per_topic = BTreeMap::new();
    for l in &out {
        let v: serde_json::Value = serde_json::from_str(l).unwrap();
        let t = v["topic"].as_str().unwrap().to_string();
        assert!(v["value"].as_str().unwrap().starts_with(&format!("{t}-")));
        *per_topic.entry(t).or_insert(0) += 1;
    }
    assert_eq!(
        per_topic,
        BTreeMap::from([("a".into(), 500), ("b".into(), 700)])
    );
    let (_, out, _) = consume(&env, &["-t", "a", "-t", "b", "-f", "csv", "-n", "1"]);
    assert!(out[0].starts_with("a,"), "{out:?}");

    // -n counts across topics.
    let (_, out, _) = consume(&env, &["-t", "a", "-t", "b", "-n", "10"]);
    assert_eq!(out.len(), 10);

    // Partitions are per topic: -p needs exactly one.
    let (code, _, err) = consume(&env, &["-t", "a", "-t", "b", "-p", "0"]);
    assert_eq!(code, Some(2), "{err}");
    assert!(
        err.contains("-p picks partitions of one topic, but -t gives 2 topics (a, b)"),
        "{err}"
    );
    // A missing name is an error as with one topic.
    let (code, out, err) = consume(&env, &["-t", "a", "-t", "nope"]);
    assert_eq!(code, Some(1), "{err}");
    assert!(err.contains("unknown topic \"nope\""), "{err}");
    assert!(out.is_empty());
}

#[test]
fn a_caret_value_is_a_pattern_anchored_at_the_start_and_anything_else_a_name() {
    let env = Env::new();
    for t in [
        "orders.eu",
        "orders.us",
        "ordersX",
        "ordersXeu",
        "old.orders.eu",
    ] {
        // --create: some of these names are one edit apart on purpose.
        env.produce(t, format!("{t}\n"), &["--create"]);
    }
    let topics = |args: &[&str]| -> BTreeSet<String> {
        let mut a = args.to_vec();
        a.extend(["-f", "%t\\n"]);
        let (code, out, err) = consume(&env, &a);
        assert_eq!(code, Some(0), "{args:?}: {err}");
        assert_eq!(
            out.len(),
            BTreeSet::from_iter(&out).len(),
            "{args:?}: {out:?}"
        );
        out.into_iter().collect()
    };
    let set = |v: &[&str]| v.iter().map(|s| s.to_string()).collect::<BTreeSet<_>>();
    // `\.` is a literal dot; `^` keeps old.orders.eu out.
    assert_eq!(
        topics(&["-t", "^orders\\..*"]),
        set(&["orders.eu", "orders.us"])
    );
    // A name is literal: its dot matches only a dot.
    assert_eq!(topics(&["-t", "orders.eu"]), set(&["orders.eu"]));
    // No `$` is implied; `$` can be written.
    assert_eq!(
        topics(&["-t", "^orders"]),
        set(&["orders.eu", "orders.us", "ordersX", "ordersXeu"])
    );
    assert_eq!(topics(&["-t", "^ordersX$"]), set(&["ordersX"]));
    // A pattern's own `.` is any character.
    assert_eq!(
        topics(&["-t", "^orders.eu"]),
        set(&["orders.eu", "ordersXeu"])
    );
    // A topic named and matched is read once.
    assert_eq!(
        topics(&["-t", "orders.eu", "-t", "^orders\\.e", "-t", "ordersX"]),
        set(&["orders.eu", "ordersX"])
    );
    // -p with a pattern that resolves to one topic.
    assert_eq!(
        topics(&["-t", "^old\\.", "-p", "0"]),
        set(&["old.orders.eu"])
    );
}

#[test]
fn a_bad_pattern_is_a_usage_error_and_one_that_matches_nothing_exits_1() {
    let env = Env::new();
    let (code, _, err) = consume(&env, &["-t", "^orders("]);
    assert_eq!(code, Some(2), "{err}");
    assert!(
        err.contains("-t \"^orders(\" is not a valid regular expression: unclosed group"),
        "{err}"
    );
    // No cluster yet, then a cluster without a match.
    let (code, _, err) = consume(&env, &["-t", "^orders\\."]);
    assert_eq!(code, Some(1), "{err}");
    assert!(err.contains("no topic matches ^orders\\."), "{err}");
    env.produce("ordersXeu", "x\n", &[]);
    let (code, out, err) = consume(&env, &["-t", "^orders\\."]);
    assert_eq!(code, Some(1), "{err}");
    assert!(err.contains("no topic matches ^orders\\."), "{err}");
    assert!(out.is_empty());
    // A group in cron mode too, before joining.
    let (code, _, err) = consume(&env, &["-t", "^orders\\.", "-g", "g"]);
    assert_eq!(code, Some(1), "{err}");
    assert!(err.contains("no topic matches ^orders\\."), "{err}");
    // Following, it waits as for a missing topic; bounded, exit 75.
    let (code, _, err) = consume(
        &env,
        &["-t", "^orders\\.", "--follow", "--wait-for-topic", "300ms"],
    );
    assert_eq!(code, Some(75), "{err}");
    assert!(
        err.contains("a topic matching ^orders\\. does not exist yet; waiting for it"),
        "{err}"
    );
    assert!(
        err.contains("a topic matching ^orders\\. did not appear within 300ms"),
        "{err}"
    );
    // The dead-letter topic must not be one the member reads.
    let (code, _, err) = consume(
        &env,
        &[
            "-t",
            "^orders",
            "-g",
            "g",
            "--exec",
            "cat",
            "--on-failure",
            "dead-letter=orders.dlq",
        ],
    );
    assert_eq!(code, Some(2), "{err}");
    assert!(
        err.contains("dead-letter topic must not be a topic being consumed"),
        "{err}"
    );
}

#[test]
fn merge_and_tail_order_records_of_every_topic_by_time() {
    let env = Env::new();
    env.create_topic("a", 2, &[]);
    env.create_topic("b", 1, &[]);
    let rec = |v: &str, ts: i64, p: u32| {
        format!("{{\"value\":\"{v}\",\"timestamp\":{ts},\"partition\":{p}}}\n")
    };
    let a = [rec("a1", 10, 0), rec("a2", 30, 1), rec("a3", 40, 0)].concat();
    let b = [rec("b1", 20, 0), rec("b2", 30, 0), rec("b3", 50, 0)].concat();
    env.produce("a", a, &["--format", "json"]);
    env.produce("b", b, &["--format", "json"]);
    let (code, out, err) = consume(&env, &["-t", "^[ab]$", "--merge", "-f", "%T %t %s\\n"]);
    assert_eq!(code, Some(0), "{err}");
    // The tie at 30 goes by topic.
    assert_eq!(
        out,
        [
            "10 a a1", "20 b b1", "30 a a2", "30 b b2", "40 a a3", "50 b b3"
        ]
    );
    let (_, out, _) = consume(&env, &["-t", "a", "-t", "b", "--tail", "3", "-f", "%s\\n"]);
    assert_eq!(out, ["b2", "a3", "b3"]);
}

#[test]
fn following_a_pattern_reads_topics_created_later() {
    let env = Env::new();
    env.produce("logs.web", "w0\n", &[]);
    let r = Running::start(&env, &["-t", "^logs\\.", "--follow", "-f", "%t %s\\n"]);
    wait_for("the existing topic's record", LONG, || r.has("logs.web w0"));
    // Created by its first producer, after the consumer started: read from its beginning.
    env.produce("logs.db", "d0\nd1\n", &[]);
    env.produce("other", "o0\n", &[]);
    wait_for("the new topic's records", LONG, || {
        r.has("logs.db d0") && r.has("logs.db d1")
    });
    env.produce("logs.web", "w1\n", &[]);
    env.produce("logs.db", "d2\n", &[]);
    wait_for("new records of both", LONG, || {
        r.has("logs.web w1") && r.has("logs.db d2")
    });
    let (code, err, lines) = r.stop();
    assert_eq!(code, Some(0), "{err}");
    let mut lines = lines;
    lines.sort();
    assert_eq!(
        lines,
        [
            "logs.db d0",
            "logs.db d1",
            "logs.db d2",
            "logs.web w0",
            "logs.web w1"
        ]
    );
}

#[test]
fn a_following_group_member_picks_up_a_topic_created_later_and_commits_it() {
    let env = Env::new();
    env.produce("ev.a", "a0\n", &[]);
    let r = Running::start(
        &env,
        &[
            "-t",
            "^ev\\.",
            "-g",
            "g",
            "--follow",
            "-f",
            "%t %s\\n",
            "--commit-interval",
            "50ms",
        ],
    );
    wait_for("ev.a's record", LONG, || r.has("ev.a a0"));
    env.produce("ev.b", "b0\nb1\n", &["--create"]);
    wait_for("ev.b's records", LONG, || {
        r.has("ev.b b0") && r.has("ev.b b1")
    });
    // The member file says it reads both now, so other members would rebalance.
    let d = env.json(&["group", "describe", "g", "--json"]);
    assert_eq!(
        d["members"][0]["topics"],
        serde_json::json!(["ev.a", "ev.b"])
    );
    let (code, err, lines) = r.stop();
    assert_eq!(code, Some(0), "{err}");
    assert_eq!(lines.len(), 3, "{lines:?}");
    let o = env.json(&["offsets", "-g", "g", "--json"]);
    let got: Vec<(String, u64)> = o["partitions"]
        .as_array()
        .unwrap()
        .iter()
        .map(|p| {
            (
                p["topic"].as_str().unwrap().to_string(),
                p["committed"].as_u64().unwrap(),
            )
        })
        .collect();
    assert_eq!(got, [("ev.a".to_string(), 1), ("ev.b".to_string(), 2)]);
    // The next run has nothing new.
    let (code, out, err) = consume(&env, &["-t", "^ev\\.", "-g", "g"]);
    assert_eq!(code, Some(0), "{err}");
    assert!(out.is_empty(), "{out:?}");
}

/// Owner pid per partition (`topic-p`) of a group, from `offsets -g --json`.
fn owners(env: &Env, group: &str) -> BTreeMap<String, u64> {
    let out = env
        .chute()
        .args(["offsets", "-g", group, "--json"])
        .output()
        .unwrap();
    let Ok(v) = serde_json::from_slice::<serde_json::Value>(&out.stdout) else {
        return BTreeMap::new();
    };
    v["partitions"]
        .as_array()
        .into_iter()
        .flatten()
        .filter_map(|p| {
            let pid = p["owner"]["pid"].as_u64()?;
            Some((format!("{}-{}", p["topic"].as_str()?, p["partition"]), pid))
        })
        .collect()
}

#[test]
fn two_following_members_split_two_topics_and_deliver_each_record_once() {
    let env = Env::new();
    env.create_topic("a", 3, &[]);
    env.create_topic("b", 2, &[]);
    let args = |t: &[&'static str]| {
        let mut v = t.to_vec();
        v.extend([
            "-g",
            "split",
            "--follow",
            "-f",
            "%t %s\\n",
            "--commit-interval",
            "50ms",
        ]);
        v
    };
    // Two spellings of one subscription.
    let m1 = Running::start(&env, &args(&["-t", "a", "-t", "b"]));
    let m2 = Running::start(&env, &args(&["-t", "^(a|b)$"]));
    let (p1, p2) = (m1.child.id() as u64, m2.child.id() as u64);
    // Range per topic: 2 + 1 of a's partitions, 1 + 1 of b's.
    wait_for("both members to own their share", LONG, || {
        let o = owners(&env, "split");
        let n1 = o.values().filter(|p| **p == p1).count();
        let n2 = o.values().filter(|p| **p == p2).count();
        o.len() == 5 && n1 + n2 == 5 && n1 >= 2 && n2 >= 2
    });
    env.produce("a", keyed("a", 3000), &["-K", ","]);
    env.produce("b", keyed("b", 2000), &["-K", ","]);
    wait_for("5000 records between the members", LONG, || {
        m1.lines().len() + m2.lines().len() >= 5000
    });
    let (c1, e1, l1) = m1.stop();
    let (c2, e2, l2) = m2.stop();
    assert_eq!((c1, c2), (Some(0), Some(0)), "{e1}\n{e2}");
    assert!(!l1.is_empty() && !l2.is_empty(), "both got a share");
    let mut all: Vec<&String> = l1.iter().chain(&l2).collect();
    all.sort();
    let n = all.len();
    all.dedup();
    assert_eq!(n, all.len(), "a record delivered twice");
    assert_eq!(n, 5000, "a record lost");
    for l in &all {
        let (t, v) = l.split_once(' ').unwrap();
        assert!(v.starts_with(&format!("{t}-")), "{l}");
    }
    // Committed: every partition of both topics at its end.
    let o = env.json(&["offsets", "-g", "split", "--json"]);
    let ps = o["partitions"].as_array().unwrap();
    assert_eq!(ps.len(), 5);
    let mut total = BTreeMap::new();
    for p in ps {
        assert_eq!(p["committed"], p["log_end_offset"], "{p}");
        assert_eq!(p["lag"], 0);
        *total
            .entry(p["topic"].as_str().unwrap().to_string())
            .or_insert(0) += p["committed"].as_u64().unwrap();
    }
    assert_eq!(
        total,
        BTreeMap::from([("a".into(), 3000), ("b".into(), 2000)])
    );
}

#[test]
fn cron_members_of_several_topics_read_each_record_once_then_only_new_ones() {
    let env = Env::new();
    env.create_topic("a", 4, &[]);
    env.create_topic("b", 2, &[]);
    env.create_topic("c", 1, &[]);
    env.produce("a", keyed("a", 4000), &["-K", ","]);
    env.produce("b", keyed("b", 2000), &["-K", ","]);
    env.produce("c", keyed("c", 100), &["-K", ","]);
    let round = || -> Vec<String> {
        // Members with different subscriptions: c is read by the second only.
        let kids: Vec<Child> = [&["-t", "a", "-t", "b"][..], &["-t", "^[a-c]$"][..]]
            .iter()
            .map(|t| {
                let mut args = vec!["consume", "-g", "cron", "-f", "%t %s\\n"];
                args.extend_from_slice(t);
                env.spawn(&args)
                    .stdout(Stdio::piped())
                    .stderr(Stdio::piped())
                    .spawn()
                    .unwrap()
            })
            .collect();
        let mut all = Vec::new();
        for k in kids {
            let out = k.wait_with_output().unwrap();
            assert!(
                out.status.success(),
                "{}",
                String::from_utf8_lossy(&out.stderr)
            );
            all.extend(text(&out.stdout));
        }
        all.sort();
        all
    };
    let got = round();
    let mut want: Vec<String> = ["a", "b", "c"]
        .iter()
        .zip([4000, 2000, 100])
        .flat_map(|(t, n)| (0..n).map(move |i| format!("{t} {t}-{i}")))
        .collect();
    want.sort();
    assert_eq!(got.len(), want.len());
    assert!(got == want, "each record exactly once");
    assert!(round().is_empty(), "the second run has nothing");
    env.produce("c", "k,c-new\n", &["-K", ","]);
    assert_eq!(round(), ["c c-new"]);
    // offsets -g and group describe show every topic of the group.
    let o = env.json(&["offsets", "-g", "cron", "--json"]);
    let topics: BTreeSet<&str> = o["partitions"]
        .as_array()
        .unwrap()
        .iter()
        .map(|p| p["topic"].as_str().unwrap())
        .collect();
    assert_eq!(topics, BTreeSet::from(["a", "b", "c"]));
    let d = env.json(&["group", "describe", "cron", "--json"]);
    assert_eq!(d["partitions"].as_array().unwrap().len(), 7);
}

#[test]
fn roundrobin_spreads_one_partition_topics_over_the_members() {
    let env = Env::new();
    for t in ["r1", "r2"] {
        env.create_topic(t, 1, &[]);
    }
    let args = [
        "-t",
        "^r[0-9]$",
        "-g",
        "rr",
        "--assignor",
        "roundrobin",
        "--follow",
    ];
    let m1 = Running::start(&env, &args);
    let m2 = Running::start(&env, &args);
    let (p1, p2) = (m1.child.id() as u64, m2.child.id() as u64);
    // Range would give both topics' only partition to the oldest member.
    wait_for("one topic each", LONG, || {
        let o = owners(&env, "rr");
        o.len() == 2 && BTreeSet::from_iter(o.values().copied()) == BTreeSet::from([p1, p2])
    });
    let (c1, e1, _) = m1.stop();
    let (c2, e2, _) = m2.stop();
    assert_eq!((c1, c2), (Some(0), Some(0)), "{e1}\n{e2}");
}

#[test]
fn exec_batches_hold_one_topic_each_and_say_which() {
    let env = Env::new();
    env.create_topic("a", 2, &[]);
    env.create_topic("b", 1, &[]);
    env.produce("a", keyed("a", 300), &["-K", ","]);
    env.produce("b", keyed("b", 200), &["-K", ","]);
    let out = env.dir.path().join("handled");
    let o = env
        .chute()
        .args([
            "consume",
            "-t",
            "^[ab]$",
            "-g",
            "x",
            "--exec-batch",
            "64",
            "--exec",
            "sed \"s/^/$CHUTE_TOPIC $CHUTE_PARTITION /\" >> \"$OUT\"",
        ])
        .env("OUT", &out)
        .output()
        .unwrap();
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    let mut lines = text(&std::fs::read(&out).unwrap());
    assert_eq!(lines.len(), 500);
    for l in &lines {
        let f: Vec<&str> = l.split(' ').collect();
        assert!(f[2].starts_with(&format!("{}-", f[0])), "{l}");
    }
    lines.sort();
    lines.dedup();
    assert_eq!(lines.len(), 500, "each record once");
    let o = env.json(&["offsets", "-g", "x", "--json"]);
    let committed: u64 = o["partitions"]
        .as_array()
        .unwrap()
        .iter()
        .map(|p| p["committed"].as_u64().unwrap())
        .sum();
    assert_eq!(committed, 500);
}

/// A topic only a pattern matched that is deleted leaves the subscription, as in Kafka: plain
/// followers and group members go on with the others (a topic named with -t is still an error).
#[test]
fn a_deleted_topic_leaves_a_pattern_subscription_and_reading_goes_on() {
    for group in [false, true] {
        let env = Env::new();
        env.produce("logs.web", "w0\n", &[]);
        env.produce("logs.db", "d0\n", &[]);
        let mut args = vec!["-t", "^logs\\.", "--follow", "-f", "%t %s\\n"];
        if group {
            args.extend(["-g", "g"]);
        }
        let r = Running::start(&env, &args);
        wait_for("both topics' records", LONG, || {
            r.has("logs.web w0") && r.has("logs.db d0")
        });
        env.chute()
            .args(["topic", "delete", "logs.web"])
            .assert()
            .success();
        env.produce("logs.db", "d1\n", &[]);
        wait_for("logs.db's new record after the deletion", LONG, || {
            r.has("logs.db d1")
        });
        let (code, err, _) = r.stop();
        assert_eq!(code, Some(0), "group {group}: {err}");
    }
    // -p with several -t values: a usage error at once, before any topic is looked for.
    let env = Env::new();
    let (code, _, err) = consume(&env, &["-t", "a", "-t", "missing", "-p", "0", "-F"]);
    assert_eq!(code, Some(2), "{err}");
    assert!(err.contains("-p picks partitions of one topic"), "{err}");
}

/// A subscription too large for a member file is refused when the member joins (exit 2),
/// so the group's other members never meet a file they cannot read.
#[test]
fn a_subscription_too_large_for_a_member_file_is_refused() {
    let env = Env::new();
    let long = "x".repeat(240);
    for i in 0..300 {
        env.create_topic(&format!("big.{i:03}.{long}"), 1, &[]);
    }
    let (code, _, err) = consume(&env, &["-t", "^big\\.", "-g", "g"]);
    assert_eq!(code, Some(2), "{err}");
    assert!(err.contains("the subscription names 300 topics"), "{err}");
}
