//! Consumer groups with real concurrent processes. Ownership is asserted from the owner-lock
//! trace (CHUTE_GROUP_TRACE: one line per acquire/release, written while the lock is held),
//! never from timing.

use crate::util::*;
use std::collections::{BTreeMap, BTreeSet, HashMap};
use std::io::{BufRead, BufReader, Read};
use std::path::Path;
use std::process::{Child, Stdio};
use std::sync::{Arc, Mutex};
use std::time::Duration;

const LONG: Duration = Duration::from_secs(60);

/// `key<i>,<i>` lines: keyed records spread over partitions by murmur2.
fn keyed(from: usize, to: usize) -> Vec<u8> {
    let mut v = Vec::new();
    for i in from..to {
        v.extend_from_slice(format!("key{i},{i}\n").as_bytes());
    }
    v
}

/// Values delivered by a member printing `%s\n`.
fn values(out: &[u8]) -> Vec<usize> {
    lines(out)
        .iter()
        .map(|l| std::str::from_utf8(l).unwrap().parse().unwrap())
        .collect()
}

fn member(env: &Env, group: &str, topic: &str, extra: &[&str], trace: &Path) -> Child {
    let mut args = vec!["consume", "-t", topic, "-g", group];
    args.extend_from_slice(extra);
    env.spawn(&args)
        .env("CHUTE_GROUP_TRACE", trace)
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap()
}

fn finish(c: Child) -> Vec<u8> {
    let out = c.wait_with_output().unwrap();
    assert!(
        out.status.success(),
        "member failed: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    out.stdout
}

/// Three cron members started together, `runs` times over.
fn cron_round(env: &Env, trace: &Path) -> Vec<usize> {
    let kids: Vec<Child> = (0..3)
        .map(|_| member(env, "billing", "orders", &["--format", "%s\\n"], trace))
        .collect();
    let mut all = Vec::new();
    for k in kids {
        all.extend(values(&finish(k)));
    }
    all
}

/// Replays the trace: at no point do two live processes own one partition. A process killed
/// with -9 never releases; another may take its partitions only once it is dead, which shows
/// as the killed process writing no further line.
fn check_trace(trace: &Path, killed: &[u32]) -> usize {
    let text = std::fs::read_to_string(trace).unwrap_or_default();
    let lines: Vec<Vec<&str>> = text.lines().map(|l| l.split(' ').collect()).collect();
    let last_line_of = |pid: &str| lines.iter().rposition(|l| l.last() == Some(&pid));
    let mut holder: HashMap<&str, (&str, usize)> = HashMap::new();
    for (i, l) in lines.iter().enumerate() {
        let (what, part, pid) = (l[0], l[1], l[3]);
        match what {
            "acquire" => {
                if let Some((other, _)) = holder.get(part) {
                    assert!(
                        killed.iter().any(|k| k.to_string() == *other),
                        "line {i}: {pid} acquired {part} while live {other} held it"
                    );
                    assert!(
                        last_line_of(other).unwrap() < i,
                        "line {i}: {pid} acquired {part} while {other} (killed later) still ran"
                    );
                }
                holder.insert(part, (pid, i));
            }
            "release" => {
                let h = holder.remove(part);
                assert_eq!(h.map(|h| h.0), Some(pid), "line {i}: release by non-holder");
            }
            _ => panic!("bad trace line {l:?}"),
        }
    }
    lines.len()
}

#[test]
fn three_cron_members_deliver_80k_exactly_once_then_nothing_then_only_new() {
    let env = Env::new();
    env.create_topic("orders", 8, &[]);
    env.produce("orders", keyed(0, 80_000), &["-K", ","]);
    let trace = env.dir.path().join("trace");

    let mut got = cron_round(&env, &trace);
    got.sort();
    assert_eq!(got.len(), 80_000, "exactly once in total");
    assert_eq!(got, (0..80_000).collect::<Vec<_>>());

    assert!(
        cron_round(&env, &trace).is_empty(),
        "second run delivers nothing"
    );

    env.produce("orders", keyed(80_000, 81_000), &["-K", ","]);
    let mut got = cron_round(&env, &trace);
    got.sort();
    assert_eq!(got, (80_000..81_000).collect::<Vec<_>>());

    assert!(check_trace(&trace, &[]) > 0);
    let o = env.json(&["offsets", "-g", "billing", "--json"]);
    let parts = o["partitions"].as_array().unwrap();
    assert_eq!(parts.len(), 8);
    let mut total = 0;
    for p in parts {
        assert_eq!(p["topic"], "orders");
        assert_eq!(p["lag"], 0);
        assert_eq!(p["committed"], p["log_end_offset"]);
        assert!(p["owner"].is_null());
        total += p["committed"].as_u64().unwrap();
    }
    assert_eq!(total, 81_000);
    // Members that exited left the group.
    let d = env.json(&["group", "describe", "billing", "--json"]);
    assert_eq!(d["members"].as_array().unwrap().len(), 0);
}

#[test]
fn exec_failure_commits_nothing_further_and_the_next_run_redelivers() {
    let env = Env::new();
    env.create_topic("jobs", 1, &[]);
    let input: String = (0..100).map(|i| format!("{i}\n")).collect();
    env.produce("jobs", input, &[]);
    let dir = env.dir.path();
    // Batches of 10; the batch holding 25 fails after its records were seen.
    let cmd = "cat > batch; cat batch >> seen; if grep -qx 25 batch; then exit 7; fi";
    let out = env
        .chute()
        .current_dir(dir)
        .args(["consume", "-t", "jobs", "-g", "g", "--exec-batch", "10"])
        .args(["--exec", cmd])
        .output()
        .unwrap();
    // A failed handler is "retry later" (75), and the error says which records.
    assert_eq!(out.status.code(), Some(75));
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains("exit status 7"), "{err}");
    assert!(
        err.contains("jobs-0 offsets 20 to 29 (10 records)"),
        "{err}"
    );
    assert!(err.contains("not committed"), "{err}");
    let o = env.json(&["offsets", "-g", "g", "--json"]);
    assert_eq!(o["partitions"][0]["committed"], 20, "two good batches");
    assert_eq!(o["partitions"][0]["lag"], 80);

    // The whole failed batch comes again, then the rest; exactly what was not committed.
    let out = env
        .chute()
        .current_dir(dir)
        .args(["consume", "-t", "jobs", "-g", "g", "--exec", "cat >> again"])
        .output()
        .unwrap();
    assert!(out.status.success());
    let again = std::fs::read(dir.join("again")).unwrap();
    assert_eq!(values(&again), (20..100).collect::<Vec<_>>());

    // The command sees the group and topic; a command failing on the first batch commits 0.
    env.produce("jobs", "x\n", &[]);
    let out = env
        .chute()
        .current_dir(dir)
        .args(["consume", "-t", "jobs", "-g", "g", "--exec"])
        .arg("echo \"$CHUTE_GROUP $CHUTE_TOPIC $CHUTE_PARTITION $CHUTE_FIRST_OFFSET $CHUTE_LAST_OFFSET $CHUTE_RECORD_COUNT\" > envs; false")
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(75));
    assert_eq!(
        std::fs::read_to_string(dir.join("envs")).unwrap(),
        "g jobs 0 100 100 1\n"
    );
    let o = env.json(&["offsets", "-g", "g", "--json"]);
    assert_eq!(o["partitions"][0]["committed"], 100);
}

#[test]
fn kill9_of_a_cron_member_redelivers_only_its_uncommitted_tail() {
    let env = Env::new();
    env.create_topic("jobs", 1, &[]);
    let input: String = (0..100).map(|i| format!("{i}\n")).collect();
    env.produce("jobs", input, &[]);
    let dir = env.dir.path();
    // The third batch hangs (bounded: 60 s) and says who it is.
    let cmd = "cat > batch; cat batch >> seen; if grep -qx 25 batch; then echo $$ > handler.pid; i=0; while [ $i -lt 6000 ]; do sleep 0.01; i=$((i+1)); done; touch released; fi";
    let mut m = env
        .spawn(&["consume", "-t", "jobs", "-g", "g", "--exec-batch", "10"])
        .args(["--exec", cmd])
        .current_dir(dir)
        .spawn()
        .unwrap();
    wait_for("the third batch", LONG, || {
        std::fs::read_to_string(dir.join("seen")).is_ok_and(|s| s.lines().count() >= 30)
    });
    wait_for("the handler's pid", LONG, || {
        dir.join("handler.pid").exists()
    });
    let pid = std::fs::read_to_string(dir.join("handler.pid")).unwrap();
    kill9(&mut m);
    // No orphan: the handler dies with chute (PR_SET_PDEATHSIG), even by kill -9.
    wait_for("the handler to die with chute", LONG, || {
        !std::process::Command::new("kill")
            .args(["-0", pid.trim()])
            .stderr(Stdio::null())
            .status()
            .unwrap()
            .success()
    });
    assert!(!dir.join("released").exists());
    // The dead member's file is still there until somebody looks.
    let members = env.root().join("groups/g/members");
    assert_eq!(std::fs::read_dir(&members).unwrap().count(), 1);
    let d = env.json(&["group", "describe", "g", "--json"]);
    assert_eq!(d["members"].as_array().unwrap().len(), 0, "dead = not live");
    assert_eq!(
        std::fs::read_dir(&members).unwrap().count(),
        0,
        "cleaned up"
    );
    assert_eq!(d["partitions"][0]["committed"], 20);
    assert!(
        d["partitions"][0]["owner"].is_null(),
        "kill -9 released ownership"
    );

    let got = env.consume("jobs", &["-g", "g"]);
    assert_eq!(values(&got), (20..100).collect::<Vec<_>>());
}

#[test]
fn broken_stdout_pipe_commits_only_what_was_written() {
    let env = Env::new();
    env.create_topic("big", 1, &[]);
    let input: String = (0..300_000).map(|i| format!("{i}\n")).collect();
    env.produce("big", input, &[]);
    let mut m = env
        .spawn(&["consume", "-t", "big", "-g", "g"])
        .stdout(Stdio::piped())
        .spawn()
        .unwrap();
    // Read a little, then close the pipe.
    let mut first = vec![0u8; 100_000];
    m.stdout.as_mut().unwrap().read_exact(&mut first).unwrap();
    drop(m.stdout.take());
    assert!(
        m.wait().unwrap().success(),
        "a closed pipe is not a failure"
    );
    let read = first.iter().filter(|&&b| b == b'\n').count() as u64;
    let o = env.json(&["offsets", "-g", "g", "--json"]);
    let committed = o["partitions"][0]["committed"].as_u64().unwrap_or(0);
    assert!(
        committed >= read && committed < 300_000,
        "committed {committed}, reader got {read} lines"
    );
    // The next run starts exactly at the commit: nothing lost, nothing repeated twice over.
    let rest = values(&env.consume("big", &["-g", "g"]));
    assert_eq!(rest.first().copied(), Some(committed as usize));
    assert_eq!(*rest.last().unwrap(), 299_999);
}

/// Lines `p o v` from a following member, collected by a thread.
struct Follower {
    child: Child,
    lines: Arc<Mutex<Vec<(u32, u64, usize)>>>,
}

impl Follower {
    fn start(env: &Env, trace: &Path) -> Follower {
        let mut child = member(
            env,
            "workers",
            "events",
            &[
                "--follow",
                "--format",
                "%p %o %s\\n",
                "--commit-interval",
                "50ms",
            ],
            trace,
        );
        let stdout = child.stdout.take().unwrap();
        let lines = Arc::new(Mutex::new(Vec::new()));
        let l2 = lines.clone();
        std::thread::spawn(move || {
            for line in BufReader::new(stdout).lines() {
                let Ok(line) = line else { break };
                let f: Vec<&str> = line.split(' ').collect();
                l2.lock().unwrap().push((
                    f[0].parse().unwrap(),
                    f[1].parse().unwrap(),
                    f[2].parse().unwrap(),
                ));
            }
        });
        Follower { child, lines }
    }

    fn values(&self) -> BTreeSet<usize> {
        self.lines.lock().unwrap().iter().map(|l| l.2).collect()
    }
}

/// Partitions currently held per pid, from the trace.
fn holders(trace: &Path) -> BTreeMap<String, String> {
    let text = std::fs::read_to_string(trace).unwrap_or_default();
    let mut h = BTreeMap::new();
    for l in text.lines() {
        let f: Vec<&str> = l.split(' ').collect();
        match f[0] {
            "acquire" => {
                h.insert(f[1].to_string(), f[3].to_string());
            }
            _ => {
                h.remove(f[1]);
            }
        }
    }
    h
}

#[test]
fn follow_members_rebalance_on_join_and_after_kill9() {
    let env = Env::new();
    env.create_topic("events", 4, &[]);
    let trace = env.dir.path().join("trace");
    let a = Follower::start(&env, &trace);
    let a_pid = a.child.id().to_string();
    wait_for("A to own all partitions", LONG, || {
        let h = holders(&trace);
        h.len() == 4 && h.values().all(|p| *p == a_pid)
    });
    env.produce("events", keyed(0, 1000), &["-K", ","]);
    wait_for("A to deliver 1000", LONG, || a.values().len() == 1000);

    // B joins: A hands over half (range: 2 each), committing first.
    let mut b = Follower::start(&env, &trace);
    let b_pid = b.child.id().to_string();
    wait_for("B to own two partitions", LONG, || {
        let h = holders(&trace);
        h.len() == 4 && h.values().filter(|p| **p == b_pid).count() == 2
    });
    env.produce("events", keyed(1000, 2000), &["-K", ","]);
    wait_for("2000 delivered between A and B", LONG, || {
        let mut all = a.values();
        all.extend(b.values());
        all.len() == 2000
    });
    assert!(!b.values().is_empty(), "B got a share");
    assert!(
        b.values().iter().all(|v| *v >= 1000),
        "B got nothing A had already committed"
    );

    // More records, then B dies without a word: A takes its partitions back.
    env.produce("events", keyed(2000, 3000), &["-K", ","]);
    let b_parts: BTreeSet<String> = holders(&trace)
        .into_iter()
        .filter(|(_, p)| *p == b_pid)
        .map(|(part, _)| part)
        .collect();
    kill9(&mut b.child);
    wait_for("A to own all partitions again", LONG, || {
        let h = holders(&trace);
        h.len() == 4 && h.values().all(|p| *p == a_pid)
    });
    env.produce("events", keyed(3000, 4000), &["-K", ","]);
    wait_for("every record delivered at least once", LONG, || {
        let mut all = a.values();
        all.extend(b.values());
        all.len() == 4000
    });

    // Duplicates: only records B delivered on partitions it held when killed.
    let a_lines = a.lines.lock().unwrap().clone();
    let b_lines = b.lines.lock().unwrap().clone();
    let b_set: BTreeSet<(u32, u64)> = b_lines.iter().map(|l| (l.0, l.1)).collect();
    let mut seen = BTreeSet::new();
    for l in a_lines.iter().chain(b_lines.iter()) {
        if !seen.insert((l.0, l.1)) {
            assert!(b_set.contains(&(l.0, l.1)), "duplicate {l:?} not from B");
            assert!(
                b_parts.contains(&format!("events-{}", l.0)),
                "duplicate {l:?} on a partition B did not hold at the kill"
            );
        }
    }
    let mut a_child = a.child;
    kill9(&mut a_child);
    check_trace(&trace, &[b.child.id(), a_child.id()]);
}

#[test]
fn offsets_reset_every_form() {
    let env = Env::new();
    env.create_topic("r", 1, &[]);
    // Offsets 0..5 an hour-plus old (fixed times), 5..10 now.
    let old: String = (0..5)
        .map(|i| {
            format!(
                "{{\"value\":\"{i}\",\"timestamp\":{}}}\n",
                1_700_000_000_000i64 + i * 60_000
            )
        })
        .collect();
    env.produce("r", old, &["--format", "json"]);
    env.produce("r", "5\n6\n7\n8\n9\n", &[]);
    env.consume("r", &["-g", "g"]);
    let committed = |env: &Env| {
        env.json(&["offsets", "-g", "g", "--json"])["partitions"][0]["committed"]
            .as_u64()
            .unwrap()
    };
    assert_eq!(committed(&env), 10);
    let reset = |args: &[&str]| -> serde_json::Value {
        let mut v = vec!["offsets", "reset", "-g", "g", "-t", "r", "--json"];
        v.extend_from_slice(args);
        env.json(&v)
    };
    // Dry run by default: prints old -> new, changes nothing.
    let d = reset(&["--to-earliest"]);
    assert_eq!(d["executed"], false);
    assert_eq!(d["partitions"][0]["old"], 10);
    assert_eq!(d["partitions"][0]["new"], 0);
    assert_eq!(committed(&env), 10);
    let out = env
        .chute()
        .args(["offsets", "reset", "-g", "g", "-t", "r", "--to-offset", "3"])
        .output()
        .unwrap();
    assert!(String::from_utf8_lossy(&out.stdout).contains("10 -> 3"));
    assert!(String::from_utf8_lossy(&out.stderr).contains("--execute"));

    let cases: &[(&[&str], u64)] = &[
        (&["--to-earliest"], 0),
        (&["--to-latest"], 10),
        (&["--to-offset", "4"], 4),
        (&["--shift-by", "3"], 7),
        (&["--shift-by", "-5"], 2),
        (&["--shift-by", "-50"], 0),
        (&["--to-offset", "99"], 10),
        (&["--to-datetime", "2023-11-14T22:15:20Z"], 2), // ts of offset 2 is 22:14:20+120s
        (&["--to-datetime", "1700000060000"], 1),
        (&["--by-duration", "1h"], 5),
        (&["--by-duration", "2000d"], 0),
        (&["--to-earliest", "-p", "0"], 0),
    ];
    for (args, want) in cases {
        let mut a = args.to_vec();
        a.push("--execute");
        let r = reset(&a);
        assert_eq!(r["partitions"][0]["new"], *want, "{args:?}");
        assert_eq!(committed(&env), *want, "{args:?}");
    }
    // And consumption resumes there.
    reset(&["--to-offset", "8", "--execute"]);
    assert_eq!(env.consume("r", &["-g", "g"]), b"8\n9\n");

    // A reset can create a group's position before its first run.
    reset(&["--to-latest", "--execute"]);
    let mut v = vec![
        "offsets",
        "reset",
        "-g",
        "fresh",
        "-t",
        "r",
        "--to-latest",
        "--execute",
    ];
    v.push("--json");
    env.json(&v);
    env.produce("r", "new\n", &[]);
    assert_eq!(env.consume("r", &["-g", "fresh"]), b"new\n");

    // Bad forms.
    env.chute()
        .args(["offsets", "reset", "-g", "g", "-t", "r"])
        .assert()
        .code(2);
    env.chute()
        .args([
            "offsets",
            "reset",
            "-g",
            "g",
            "-t",
            "r",
            "--to-earliest",
            "--to-latest",
        ])
        .assert()
        .code(2);
    let out = env
        .chute()
        .args([
            "offsets",
            "reset",
            "-g",
            "g",
            "-t",
            "r",
            "--by-duration",
            "soon",
        ])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&out.stderr).contains("--by-duration"));
    let out = env
        .chute()
        .args([
            "offsets",
            "reset",
            "-g",
            "g",
            "-t",
            "r",
            "--to-earliest",
            "-p",
            "7",
        ])
        .output()
        .unwrap();
    assert_eq!(
        out.status.code(),
        Some(1),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
}

#[test]
fn reset_and_delete_are_refused_while_a_member_is_live() {
    let env = Env::new();
    env.create_topic("t", 2, &[]);
    env.produce("t", "a\nb\n", &[]);
    let trace = env.dir.path().join("trace");
    let mut m = member(&env, "live", "t", &["--follow"], &trace);
    let pid = m.child_pid();
    wait_for("the member to own both partitions", LONG, || {
        holders(&trace).len() == 2
    });
    let o = env.json(&["offsets", "-g", "live", "--json"]);
    assert_eq!(o["partitions"][0]["owner"]["pid"], pid);
    assert!(o["partitions"][0]["owner"]["host"].is_string());

    for args in [
        &[
            "offsets",
            "reset",
            "-g",
            "live",
            "-t",
            "t",
            "--to-earliest",
            "--execute",
        ][..],
        &["offsets", "reset", "-g", "live", "-t", "t", "--to-earliest"][..],
        &["group", "delete", "live"][..],
    ] {
        let out = env.chute().args(args).output().unwrap();
        assert_eq!(out.status.code(), Some(1), "{args:?}");
        let err = String::from_utf8_lossy(&out.stderr);
        assert!(err.contains("live members"), "{err}");
        assert!(err.contains(&format!("pid {pid}")), "names who: {err}");
    }
    kill9(&mut m);
    env.chute()
        .args([
            "offsets",
            "reset",
            "-g",
            "live",
            "-t",
            "t",
            "--to-earliest",
            "--execute",
        ])
        .assert()
        .success();
    let l = env.json(&["group", "list", "--json"]);
    assert_eq!(l["groups"][0]["group"], "live");
    env.chute()
        .args(["group", "delete", "live"])
        .assert()
        .success();
    let l = env.json(&["group", "list", "--json"]);
    assert_eq!(l["groups"].as_array().unwrap().len(), 0);
    env.chute().args(["offsets", "-g", "live"]).assert().code(1);
}

trait Pid {
    fn child_pid(&self) -> u32;
}
impl Pid for Child {
    fn child_pid(&self) -> u32 {
        self.id()
    }
}

#[test]
fn bad_group_names_and_unknown_groups() {
    let env = Env::new();
    env.create_topic("t", 2, &[]);
    for (args, code, says) in [
        (
            &["consume", "-t", "t", "-g", "a/b"][..],
            2,
            "invalid group name",
        ),
        (&["consume", "-t", "t", "-g", ".."][..], 2, "group name"),
        (&["consume", "-t", "t", "-g", ".trash"][..], 2, "reserved"),
        (&["consume", "-t", "t", "-g", ""][..], 2, "empty"),
        (
            &["consume", "-t", "t", "-g", "g", "-p", "0"][..],
            2,
            "-p cannot be combined",
        ),
        (&["consume", "-t", "t", "--exec", "cat"][..], 2, "--group"),
        (
            &["consume", "-t", "nope", "-g", "g"][..],
            1,
            "unknown topic",
        ),
        (&["offsets", "-g", "nope"][..], 1, "unknown group \"nope\""),
        (&["offsets", "-g", "a b"][..], 2, "invalid group name"),
        (&["group", "describe", "nope"][..], 1, "unknown group"),
        (&["group", "delete", "nope"][..], 1, "unknown group"),
        (&["offsets"][..], 2, "-t TOPIC or -g GROUP"),
        (
            &["offsets", "reset", "-g", "x/y", "-t", "t", "--to-earliest"][..],
            2,
            "invalid group name",
        ),
    ] {
        let out = env.chute().args(args).output().unwrap();
        let err = String::from_utf8_lossy(&out.stderr);
        assert_eq!(out.status.code(), Some(code), "{args:?}: {err}");
        assert!(err.contains(says), "{args:?}: {err}");
        assert!(!err.contains("panicked"), "{err}");
    }
    // A file from a newer chute is refused clearly, not misread.
    env.produce("t", "x\n", &["-p", "0"]);
    env.consume("t", &["-g", "g"]);
    let f = env.root().join("groups/g/offsets/t/0.json");
    let s = std::fs::read_to_string(&f)
        .unwrap()
        .replace("\"version\":1", "\"version\":9");
    std::fs::write(&f, s).unwrap();
    let out = env
        .chute()
        .args(["consume", "-t", "t", "-g", "g"])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(74));
    assert!(String::from_utf8_lossy(&out.stderr).contains("version 9"));
}

#[test]
fn new_group_reset_latest_and_stored_below_log_start() {
    let env = Env::new();
    env.create_topic("t", 1, &[]);
    env.produce("t", "old\n", &[]);
    assert_eq!(env.consume("t", &["-g", "late", "--reset", "latest"]), b"");
    env.produce("t", "new\n", &[]);
    assert_eq!(
        env.consume("t", &["-g", "late", "--reset", "latest"]),
        b"new\n"
    );
    assert_eq!(env.consume("t", &["-g", "early"]), b"old\nnew\n");
    // --from overrides the stored offset (and commits from there).
    assert_eq!(env.consume("t", &["-g", "early", "--from", "-1"]), b"new\n");
    // A committed offset beyond the end (topic recreated smaller) starts at the end, warning.
    let f = env.root().join("groups/early/offsets/t/0.json");
    let s = std::fs::read_to_string(&f)
        .unwrap()
        .replace("\"offset\":2", "\"offset\":50");
    std::fs::write(&f, s).unwrap();
    let out = env
        .chute()
        .args(["consume", "-t", "t", "-g", "early"])
        .output()
        .unwrap();
    assert!(out.status.success());
    assert!(String::from_utf8_lossy(&out.stderr).contains("beyond the log end"));
}
