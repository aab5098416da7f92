//! `chute mirror --to-kafka` against a real broker (CHUTE_TEST_KAFKA, as tests/it/backends.rs):
//! byte-exact copies with keys, headers and timestamps; each record once, in order, through
//! SIGKILLs while producers write, a broker that stops answering, a broker stopped and started
//! again, and a second mirror of the same name.

use crate::backends::{On, OwnBroker};
use crate::util::*;
use std::collections::BTreeMap;
use std::io::{BufRead, Write};
use std::process::{Child, Stdio};
use std::time::Duration;

/// Each partition's records, as `chute consume --format json` prints them without topic and
/// offset (what a mirror must keep: partition, key, value, headers, timestamp).
fn by_partition(json: &[u8]) -> BTreeMap<u64, Vec<serde_json::Value>> {
    let mut out: BTreeMap<u64, Vec<serde_json::Value>> = BTreeMap::new();
    for l in lines(json) {
        let mut v: serde_json::Value = serde_json::from_slice(l).unwrap();
        let o = v.as_object_mut().unwrap();
        o.remove("topic");
        o.remove("offset");
        let p = o["partition"].as_u64().unwrap();
        out.entry(p).or_default().push(v);
    }
    out
}

fn root_records(on: &On, topic: &str) -> BTreeMap<u64, Vec<serde_json::Value>> {
    let o = on
        .env
        .chute()
        .args(["consume", "-t", topic, "--format", "json"])
        .output()
        .unwrap();
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    by_partition(&o.stdout)
}

fn kafka_records(on: &On, topic: &str) -> BTreeMap<u64, Vec<serde_json::Value>> {
    by_partition(&on.consume(topic, &["--format", "json"]))
}

fn mirror(on: &On, args: &[&str]) -> std::process::Output {
    on.env
        .chute()
        .arg("mirror")
        .args(args)
        .args(["--to-kafka", on.kafka.as_deref().unwrap()])
        .output()
        .unwrap()
}

fn mirror_ok(on: &On, args: &[&str]) -> serde_json::Value {
    let o = mirror(on, &[args, &["--json"]].concat());
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    serde_json::from_slice(&o.stdout).unwrap()
}

fn spawn_mirror(on: &On, args: &[&str]) -> Child {
    on.env
        .spawn(&[&["mirror"], args].concat())
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap()
}

#[test]
fn a_mirror_copies_keys_values_headers_and_timestamps_byte_exact_and_once() {
    let Some(on) = On::kafka() else { return };
    let (orders, logs, name) = (on.name("orders"), on.name("logs"), on.name("m"));
    let renamed = on.name("dc1.orders");
    let root = |args: &[&str]| on.env.chute().args(args).assert().success();
    root(&["topic", "create", &orders, "-p", "4", "-c", "retention=3d"]);
    root(&["topic", "create", &logs, "-p", "1"]);
    let mut json = Vec::new();
    for i in 0..3000 {
        let line = match i % 4 {
            0 => format!(
                r#"{{"key":"k{i}","value":"v{i}","headers":[{{"key":"h","value":"x{i}"}},{{"key":"n","value":null}}],"timestamp":{}}}"#,
                1_700_000_000_000u64 + i
            ),
            1 => format!(
                r#"{{"key":null,"value":"{}","value_encoding":"base64"}}"#,
                ["/w==", "gAA=", "AAEC"][i as usize % 3]
            ),
            2 => {
                format!(r#"{{"key":"AAE=","key_encoding":"base64","value":null,"timestamp":{i}}}"#)
            }
            _ => format!(r#"{{"key":"k{i}","value":"line with CR\r and tab\t"}}"#),
        };
        json.extend_from_slice(line.as_bytes());
        json.push(b'\n');
    }
    on.env.produce(&orders, json, &["--format", "json"]);
    on.env.produce(&logs, awkward_input_small(), &[]);

    let pattern = format!("^{}(orders|logs)$", on.name("").replace('-', "\\-"));
    let rename = format!("{orders}={renamed}");
    let s = mirror_ok(
        &on,
        &[
            "-t",
            &pattern,
            "--name",
            &name,
            "--rename",
            &rename,
            "--batch-records",
            "700",
        ],
    );
    let logs_n = lines(&awkward_input_small()).len() as u64;
    assert_eq!(s["records"], 3000 + logs_n, "{s}");
    assert_eq!(s["topics"][&orders]["to"], renamed.as_str(), "{s}");
    assert_eq!(s["topics"][&orders]["created"], true, "{s}");
    assert!(s["transactions"].as_u64().unwrap() >= 5, "{s}");

    assert_eq!(kafka_records(&on, &renamed), root_records(&on, &orders));
    assert_eq!(kafka_records(&on, &logs), root_records(&on, &logs));
    // The raw bytes too, CRs, NULs and invalid UTF-8 included, in order.
    assert_eq!(on.consume(&logs, &[]), awkward_input_small());
    // Created with the source's partition count and its retention (Kafka's name for it).
    let d = on.json(&["topic", "describe", &renamed, "--json"]);
    assert_eq!(d["partitions"].as_array().unwrap().len(), 4, "{d}");
    assert_eq!(d["config"]["retention"], "3days", "{d}");

    // Nothing new: nothing copied. New records: only they.
    let s = mirror_ok(&on, &["-t", &pattern, "--name", &name, "--rename", &rename]);
    assert_eq!(s["records"], 0, "{s}");
    on.env.produce(&orders, "a,1\nb,2\n", &["-K", ","]);
    let s = mirror_ok(&on, &["-t", &pattern, "--name", &name, "--rename", &rename]);
    assert_eq!(s["records"], 2, "{s}");
    assert_eq!(kafka_records(&on, &renamed), root_records(&on, &orders));

    // The same destination claimed for another source is refused, naming both.
    let o = mirror(
        &on,
        &[
            "-t",
            &logs,
            "--name",
            &name,
            "--rename",
            &format!("{logs}={renamed}"),
        ],
    );
    assert_eq!(o.status.code(), Some(2));
    let err = String::from_utf8_lossy(&o.stderr);
    assert!(
        err.contains(&format!("is the mirror of {orders:?}")),
        "{err}"
    );
}

fn awkward_input_small() -> Vec<u8> {
    crate::backends::awkward_input(500)
}

/// A producer fed `n` keyed lines (keys cycling over `keys`), in bursts of `burst` with a
/// pause between: it keeps writing while a mirror is killed again and again.
fn feed(producer: &mut Child, n: u32, keys: u32, burst: u32) -> std::thread::JoinHandle<()> {
    let mut stdin = producer.stdin.take().unwrap();
    std::thread::spawn(move || {
        for i in 0..n {
            writeln!(stdin, "k{},record {i}", i % keys).unwrap();
            if i % burst == 0 {
                stdin.flush().unwrap();
                std::thread::sleep(Duration::from_millis(5));
            }
        }
    })
}

#[test]
fn a_mirror_killed_at_random_moments_while_producers_write_copies_each_record_once() {
    let Some(on) = On::kafka() else { return };
    let (t, name) = (on.name("edge"), on.name("edge-m"));
    on.env.create_topic(&t, 3, &[]);
    // A producer writing all along, a line at a time through a pipe (keyed: partitions vary).
    let mut producer = on
        .env
        .spawn(&["produce", "-t", &t, "-K", ","])
        .stdin(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let writer = feed(&mut producer, 40_000, 97, 400);
    let kafka = on.kafka.clone().unwrap();
    let mut seed = 0x2545_f491_u32;
    let mut kills = 0;
    while kills < 30 {
        let mut m = spawn_mirror(
            &on,
            &[
                "-t",
                &t,
                "--name",
                &name,
                "--follow",
                "--batch-records",
                "300",
                "--to-kafka",
                &kafka,
            ],
        );
        seed ^= seed << 13;
        seed ^= seed >> 17;
        seed ^= seed << 5;
        // Chaos, not synchronisation: the kill lands anywhere from start-up to mid-commit.
        std::thread::sleep(Duration::from_millis(20 + (seed % 400) as u64));
        signal(m.id(), "KILL");
        let status = m.wait().unwrap();
        assert!(
            status.code().is_none(),
            "the mirror exited by itself: {status:?}"
        );
        kills += 1;
    }
    writer.join().unwrap();
    let status = producer.wait().unwrap();
    assert!(status.success());
    // A mirror killed without a word shows as gone, not as copying (if it got to start).
    if let Some(m) = top_mirrors(&on).get(&name) {
        assert_eq!(m["state"], "gone", "{m:#}");
    }
    // On a loaded machine every killed mirror may die before its first commit (their aborted
    // transactions then hold the destination's offsets): the last run copies all, still once.
    let s = mirror_ok(&on, &["-t", &t, "--name", &name]);
    assert!(s["records"].as_u64().unwrap() <= 40_000, "{s}");
    let (k, r) = (kafka_records(&on, &t), root_records(&on, &t));
    assert_eq!(r.values().map(Vec::len).sum::<usize>(), 40_000);
    for (p, recs) in &r {
        assert_eq!(k.get(p).map(Vec::len), Some(recs.len()), "partition {p}");
        assert!(
            k[p] == *recs,
            "partition {p}: the records differ or are out of order"
        );
    }
}

/// Lines of a child's stderr, as they come.
fn stderr_lines(c: &mut Child) -> std::sync::mpsc::Receiver<String> {
    let err = c.stderr.take().unwrap();
    let (tx, rx) = std::sync::mpsc::channel();
    std::thread::spawn(move || {
        for l in std::io::BufReader::new(err).lines() {
            let Ok(l) = l else { break };
            if tx.send(l).is_err() {
                break;
            }
        }
    });
    rx
}

fn wait_for_line(rx: &std::sync::mpsc::Receiver<String>, what: &str, seen: &mut Vec<String>) {
    let deadline = std::time::Instant::now() + Duration::from_secs(90);
    while std::time::Instant::now() < deadline {
        if let Ok(l) = rx.recv_timeout(Duration::from_millis(200)) {
            let hit = l.contains(what);
            seen.push(l);
            if hit {
                return;
            }
        }
    }
    panic!("no line with {what:?} on stderr within 90 s: {seen:#?}");
}

#[test]
fn a_mirror_waits_out_a_broker_that_stops_answering_and_resumes_exactly_once() {
    let Some(on) = On::kafka() else { return };
    let broker = OwnBroker::start(on.env.dir.path());
    let b = broker.addr.clone();
    let kafka_on = On::broker(&b);
    let t = "outage";
    on.env.create_topic(t, 2, &[]);
    let produce = |from: u32, to: u32| {
        let input: String = (from..to).map(|i| format!("k{i},v{i}\n")).collect();
        on.env.produce(t, input, &["-K", ","]);
    };
    produce(0, 1000);
    let mut m = on
        .env
        .spawn(&[
            "-X",
            "socket.timeout.ms=2000",
            "-X",
            "transaction.timeout.ms=10000",
        ])
        .args([
            "mirror",
            "-t",
            t,
            "--to-kafka",
            &b,
            "--follow",
            "--name",
            "out",
        ])
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let rx = stderr_lines(&mut m);
    let count = || {
        let o = kafka_on
            .chute()
            .args(["-X", "socket.timeout.ms=2000", "consume", "-t", t])
            .output()
            .unwrap();
        o.status.success().then(|| lines(&o.stdout).len())
    };
    wait_for(
        "the first 1000 records on Kafka",
        Duration::from_secs(60),
        || count() == Some(1000),
    );
    signal(broker.pid(), "STOP");
    produce(1000, 3000);
    let mut seen = Vec::new();
    wait_for_line(&rx, "trying again in", &mut seen);
    signal(broker.pid(), "CONT");
    wait_for(
        "all 3000 records on Kafka",
        Duration::from_secs(120),
        || count() == Some(3000),
    );
    signal(m.id(), "TERM");
    let status = m.wait().unwrap();
    assert_eq!(status.code(), Some(0), "{seen:#?}");
    let (k, r) = (kafka_records(&kafka_on, t), root_records(&on, t));
    assert_eq!(k, r);
}

/// `top --json`'s mirrors, by name.
fn top_mirrors(on: &On) -> serde_json::Value {
    let o = on.env.chute().args(["top", "--json"]).output().unwrap();
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    let v: serde_json::Value = serde_json::from_slice(&o.stdout).unwrap();
    let mut by_name = serde_json::Map::new();
    for m in v["mirrors"].as_array().unwrap() {
        by_name.insert(m["name"].as_str().unwrap().to_string(), m.clone());
    }
    serde_json::Value::Object(by_name)
}

#[test]
fn mirrors_both_ways_wait_out_a_broker_stopped_and_started_again_and_resume_exactly_once() {
    let Some(on) = On::kafka() else { return };
    let broker = OwnBroker::start(on.env.dir.path());
    let b = broker.addr.clone();
    let kafka_on = On::broker(&b);
    // "edge" goes from the root to Kafka, "central" from Kafka to the root.
    on.env.create_topic("edge", 2, &[]);
    kafka_on.create_topic("central", 2, &[]);
    let keyed = |from: u32, to: u32| -> String {
        (from..to).map(|i| format!("k{},v{i}\n", i % 13)).collect()
    };
    on.env.produce("edge", keyed(0, 1000), &["-K", ","]);
    kafka_on.produce("central", keyed(0, 1000), &["-K", ","]);
    let spawn = |args: &[&str]| {
        let mut c = on
            .env
            .spawn(&["-X", "socket.timeout.ms=2000"])
            .args(["-X", "transaction.timeout.ms=10000", "mirror", "--follow"])
            .args(args)
            .stdout(Stdio::null())
            .stderr(Stdio::piped())
            .spawn()
            .unwrap();
        let rx = stderr_lines(&mut c);
        (c, rx)
    };
    let (mut to, to_rx) = spawn(&["-t", "edge", "--to-kafka", &b, "--name", "up"]);
    let (mut from, from_rx) = spawn(&["-t", "central", "--from-kafka", &b, "--name", "down"]);
    let on_kafka = |t: &str| {
        let o = kafka_on
            .chute()
            .args(["-X", "socket.timeout.ms=2000", "consume", "-t", t])
            .output()
            .unwrap();
        o.status.success().then(|| lines(&o.stdout).len())
    };
    let on_root = |t: &str| {
        lines(
            &on.env
                .chute()
                .args(["consume", "-t", t])
                .output()
                .unwrap()
                .stdout,
        )
        .len()
    };
    wait_for("both first copies", Duration::from_secs(60), || {
        on_kafka("edge") == Some(1000) && on_root("central") == 1000
    });
    // A producer keeps writing to the root while the broker goes away under the mirror.
    let mut producer = on
        .env
        .spawn(&["produce", "-t", "edge", "-K", ","])
        .stdin(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let mut stdin = producer.stdin.take().unwrap();
    let writer = std::thread::spawn(move || {
        for i in 1000..3000u32 {
            writeln!(stdin, "k{},v{i}", i % 13).unwrap();
            if i % 50 == 0 {
                stdin.flush().unwrap();
                std::thread::sleep(Duration::from_millis(10));
            }
        }
    });
    wait_for(
        "the mirror moving new records",
        Duration::from_secs(60),
        || on_kafka("edge").is_some_and(|n| n > 1000),
    );
    // Lines from before the outage (a session that timed out on a loaded machine) must not
    // pass for the outage's.
    let (mut seen_to, mut seen_from) = (Vec::new(), Vec::new());
    seen_to.extend(to_rx.try_iter());
    seen_from.extend(from_rx.try_iter());
    broker.down();
    wait_for_line(&to_rx, "trying again in", &mut seen_to);
    wait_for_line(&from_rx, "trying again in", &mut seen_from);
    writer.join().unwrap();
    assert!(producer.wait().unwrap().success());
    on.env.produce("edge", keyed(3000, 3100), &["-K", ","]);
    // The operator's view says who waits, and how far behind the edge's mirror is.
    wait_for(
        "both mirrors waiting in the view",
        Duration::from_secs(90),
        || {
            let v = top_mirrors(&on);
            v["up"]["state"] == "waiting" && v["down"]["state"] == "waiting"
        },
    );
    let view = top_mirrors(&on);
    assert_eq!(view["up"]["state"], "waiting", "{view:#}");
    assert_eq!(view["up"]["direction"], "to-kafka", "{view:#}");
    assert!(view["up"]["lag"].as_u64().unwrap() >= 100, "{view:#}");
    assert!(
        !view["up"]["error"].as_str().unwrap().is_empty(),
        "{view:#}"
    );
    assert_eq!(view["down"]["state"], "waiting", "{view:#}");
    assert_eq!(view["down"]["direction"], "from-kafka", "{view:#}");
    assert_eq!(view["down"]["lag"], 0, "{view:#}");
    let metrics = on.env.chute().arg("metrics").output().unwrap().stdout;
    let metrics = String::from_utf8(metrics).unwrap();
    assert!(
        metrics.contains(r#"chute_mirror_waiting{mirror="up",direction="to-kafka"} 1"#),
        "{metrics}"
    );
    broker.up();
    wait_for_line(&to_rx, "the cluster answers again", &mut seen_to);
    wait_for_line(&from_rx, "the cluster answers again", &mut seen_from);
    kafka_on.produce("central", keyed(1000, 2000), &["-K", ","]);
    wait_for("every record copied", Duration::from_secs(120), || {
        on_kafka("edge") == Some(3100) && on_root("central") == 2000
    });
    wait_for(
        "both mirrors up to date in the view",
        Duration::from_secs(30),
        || {
            let v = top_mirrors(&on);
            v["up"]["lag"] == 0 && v["up"]["state"] == "copying" && v["down"]["lag"] == 0
        },
    );
    for (m, seen) in [(&mut to, &seen_to), (&mut from, &seen_from)] {
        signal(m.id(), "TERM");
        assert_eq!(m.wait().unwrap().code(), Some(0), "{seen:#?}");
    }
    let view = top_mirrors(&on);
    assert_eq!(view["up"]["state"], "stopped", "{view:#}");
    assert_eq!(view["down"]["records"], 2000, "{view:#}");
    assert_eq!(kafka_records(&kafka_on, "edge"), root_records(&on, "edge"));
    assert_eq!(
        kafka_records(&kafka_on, "central"),
        root_records(&on, "central")
    );
}

#[test]
fn a_second_mirror_of_the_same_name_takes_over_and_the_first_stops() {
    let Some(on) = On::kafka() else { return };
    let (t, name) = (on.name("fence"), on.name("fence-m"));
    let kafka = on.kafka.clone().unwrap();
    on.env.create_topic(&t, 1, &[]);
    on.env.produce(&t, "a\nb\n", &[]);
    let mut first = spawn_mirror(
        &on,
        &["-t", &t, "--name", &name, "--follow", "--to-kafka", &kafka],
    );
    let rx = stderr_lines(&mut first);
    wait_for("the first mirror's copy", Duration::from_secs(60), || {
        let o = on.chute().args(["consume", "-t", &t]).output().unwrap();
        o.status.success() && o.stdout == b"a\nb\n"
    });
    on.env.produce(&t, "c\n", &[]);
    let s = mirror_ok(&on, &["-t", &t, "--name", &name]);
    assert!(s["records"].as_u64().unwrap() <= 1, "{s}");
    // The first learns it was fenced at its next transaction.
    on.env.produce(&t, "d\n", &[]);
    let status = first.wait().unwrap();
    let err: Vec<String> = rx.try_iter().collect();
    assert_eq!(status.code(), Some(1), "{err:#?}");
    assert!(
        err.iter()
            .any(|l| l.contains("another mirror of the same --name took over")),
        "{err:#?}"
    );
    mirror_ok(&on, &["-t", &t, "--name", &name]);
    assert_eq!(on.consume(&t, &[]), b"a\nb\nc\nd\n");
}

#[test]
fn a_mirror_that_cannot_reach_the_cluster_says_so_and_gives_up_after_retry_for() {
    let env = Env::new();
    env.chute()
        .args(["topic", "create", "t"])
        .assert()
        .success();
    let o = env
        .chute()
        .args(["-X", "socket.timeout.ms=500", "mirror", "-t", "t"])
        .args([
            "--to-kafka",
            "127.0.0.1:1",
            "--retry-for",
            "1s",
            "--name",
            "x",
        ])
        .output()
        .unwrap();
    let err = String::from_utf8_lossy(&o.stderr);
    assert_eq!(o.status.code(), Some(75), "{err}");
    assert!(err.contains("trying again in 1s"), "{err}");
    assert!(err.contains("127.0.0.1:1"), "{err}");
    // A missing --to-kafka value without -b/--cluster is a usage error.
    env.chute()
        .args(["mirror", "-t", "t", "--to-kafka"])
        .assert()
        .code(2)
        .stderr(predicates::str::contains("--to-kafka needs HOST:PORT"));
}

fn mirror_from(on: &On, args: &[&str]) -> serde_json::Value {
    let o = on
        .env
        .chute()
        .arg("mirror")
        .args(args)
        .args(["--from-kafka", on.kafka.as_deref().unwrap(), "--json"])
        .output()
        .unwrap();
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    serde_json::from_slice(&o.stdout).unwrap()
}

#[test]
fn a_mirror_from_kafka_copies_keys_values_headers_and_timestamps_byte_exact_and_once() {
    let Some(on) = On::kafka() else { return };
    let (t, name) = (on.name("central"), on.name("laptop"));
    on.create_topic(&t, 3, &["-c", "retention=2d"]);
    let mut json = Vec::new();
    for i in 0..2000u64 {
        let line = if i % 3 == 0 {
            format!(
                r#"{{"key":"k{i}","value":"v{i}","headers":[{{"key":"h","value":"x"}},{{"key":"n","value":null}}],"timestamp":{}}}"#,
                1_700_000_000_000u64 + i
            )
        } else if i % 3 == 1 {
            format!(r#"{{"key":null,"value":"gA==","value_encoding":"base64","timestamp":{i}}}"#)
        } else {
            r#"{"key":"AAE=","key_encoding":"base64","value":null}"#.to_string()
        };
        json.extend_from_slice(line.as_bytes());
        json.push(b'\n');
    }
    on.produce(&t, json, &["--format", "json"]);
    let local = on.name("copy");
    let rename = format!("{t}={local}");
    let s = mirror_from(
        &on,
        &[
            "-t",
            &t,
            "--name",
            &name,
            "--rename",
            &rename,
            "--batch-records",
            "300",
        ],
    );
    assert_eq!(s["records"], 2000, "{s}");
    assert_eq!(s["topics"][&t]["created"], true, "{s}");
    assert_eq!(root_records(&on, &local), kafka_records(&on, &t));
    let d = on
        .env
        .chute()
        .args(["topic", "describe", &local, "--json"])
        .output()
        .unwrap();
    let d: serde_json::Value = serde_json::from_slice(&d.stdout).unwrap();
    assert_eq!(d["partitions"].as_array().unwrap().len(), 3, "{d}");
    assert_eq!(d["config"]["retention"], "2days", "{d}");
    // Again: nothing. More on Kafka: only that.
    let s = mirror_from(&on, &["-t", &t, "--name", &name, "--rename", &rename]);
    assert_eq!(s["records"], 0, "{s}");
    on.produce(&t, "x\ny\n", &[]);
    let s = mirror_from(&on, &["-t", &t, "--name", &name, "--rename", &rename]);
    assert_eq!(s["records"], 2, "{s}");
    assert_eq!(root_records(&on, &local), kafka_records(&on, &t));
    // A root topic of another partition count is refused: its positions could not be trusted.
    let narrow = on.name("narrow");
    on.env.create_topic(&narrow, 1, &[]);
    let kafka = on.kafka.clone().unwrap();
    on.env
        .chute()
        .args(["mirror", "-t", &t, "--from-kafka", &kafka, "--name", &name])
        .args(["--rename", &format!("{t}={narrow}")])
        .assert()
        .code(2)
        .stderr(predicates::str::contains("needs the same count"));
}

#[test]
fn a_mirror_from_kafka_killed_at_random_moments_copies_each_record_once() {
    let Some(on) = On::kafka() else { return };
    let (t, name) = (on.name("feed"), on.name("feed-m"));
    on.create_topic(&t, 2, &[]);
    let kafka = on.kafka.clone().unwrap();
    let mut producer = on
        .env
        .spawn(&[
            "-b", &kafka, "produce", "-t", &t, "-K", ",", "--linger", "1ms",
        ])
        .stdin(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let writer = feed(&mut producer, 30_000, 89, 300);
    let mut seed = 0x9e37_79b9_u32;
    for _ in 0..30 {
        let m = on
            .env
            .spawn(&["mirror", "-t", &t, "--from-kafka", &kafka, "--name", &name])
            .args(["--follow", "--batch-records", "200"])
            .stdout(Stdio::null())
            .stderr(Stdio::piped())
            .spawn()
            .unwrap();
        seed ^= seed << 13;
        seed ^= seed >> 17;
        seed ^= seed << 5;
        // Chaos, not synchronisation: the kill lands anywhere from start-up to mid-write.
        std::thread::sleep(Duration::from_millis(20 + (seed % 400) as u64));
        signal(m.id(), "KILL");
        let o = m.wait_with_output().unwrap();
        assert!(
            o.status.code().is_none(),
            "the mirror exited by itself: {}",
            String::from_utf8_lossy(&o.stderr)
        );
    }
    writer.join().unwrap();
    assert!(producer.wait().unwrap().success());
    mirror_from(&on, &["-t", &t, "--name", &name]);
    let (k, r) = (kafka_records(&on, &t), root_records(&on, &t));
    assert_eq!(k.values().map(Vec::len).sum::<usize>(), 30_000);
    for (p, recs) in &k {
        assert_eq!(r.get(p).map(Vec::len), Some(recs.len()), "partition {p}");
        assert!(
            r[p] == *recs,
            "partition {p}: the records differ or are out of order"
        );
    }
}

#[test]
fn groups_resume_on_the_destination_at_the_first_record_they_had_not_committed() {
    // Transactions of 50 records put a marker after every 50 on Kafka, so the offsets of the
    // two sides differ: the translation must count records, not copy offsets.
    let Some(on) = On::kafka() else { return };
    let (t, g, name) = (on.name("ledger"), on.name("billing"), on.name("ledger-m"));
    let root = |args: &[&str]| on.env.chute().args(args).output().unwrap();
    assert!(root(&["topic", "create", &t, "-p", "2"]).status.success());
    let input: String = (0..1000).map(|i| format!("k{i},v{i}\n")).collect();
    on.env.produce(&t, input, &["-K", ","]);
    // The group on the root reads 300 records and commits them.
    assert!(
        root(&["consume", "-t", &t, "-g", &g, "-n", "300"])
            .status
            .success()
    );
    let s = mirror_ok(
        &on,
        &[
            "-t",
            &t,
            "--name",
            &name,
            "--batch-records",
            "50",
            "--groups",
            &g,
        ],
    );
    let moved = s["groups"].as_array().unwrap();
    assert!(!moved.is_empty(), "{s}");
    assert!(
        moved.iter().any(|m| m["offset"] != m["source_offset"]),
        "markers should shift offsets: {s}"
    );
    // What the group reads next on Kafka is exactly what it would have read on the root.
    let rest = |o: std::process::Output| {
        assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
        let mut v: Vec<String> = String::from_utf8(o.stdout)
            .unwrap()
            .lines()
            .map(String::from)
            .collect();
        v.sort();
        v
    };
    let on_kafka = rest(
        on.chute()
            .args(["consume", "-t", &t, "-g", &g])
            .output()
            .unwrap(),
    );
    let on_root = rest(root(&["consume", "-t", &t, "-g", &g]));
    assert_eq!(on_kafka.len(), 700);
    assert_eq!(on_kafka, on_root);

    // And back: a group that read 123 records on Kafka resumes on another root where it was.
    let g2 = on.name("audit");
    let o = on
        .chute()
        .args(["consume", "-t", &t, "-g", &g2, "-n", "123"])
        .output()
        .unwrap();
    assert!(o.status.success());
    let other = Env::new();
    let back = |args: &[&str]| other.chute().args(args).output().unwrap();
    let kafka = on.kafka.clone().unwrap();
    let o = back(&[
        "mirror",
        "-t",
        &t,
        "--from-kafka",
        &kafka,
        "--name",
        &name,
        "--groups",
        &g2,
        "--json",
    ]);
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    let on_kafka = rest(
        on.chute()
            .args(["consume", "-t", &t, "-g", &g2])
            .output()
            .unwrap(),
    );
    let on_other = rest(back(&["consume", "-t", &t, "-g", &g2]));
    assert_eq!(on_kafka.len(), 877);
    assert_eq!(on_other, on_kafka);
}

#[test]
fn a_mirror_under_another_name_is_refused_and_a_source_created_again_is_copied_from_its_start() {
    let Some(on) = On::kafka() else { return };
    let kafka = on.kafka.clone().unwrap();
    let (t, name) = (on.name("renamed"), on.name("first"));
    on.env.create_topic(&t, 2, &[]);
    on.env.produce(&t, "a\nb\nc\nd\n", &[]);
    assert_eq!(mirror_ok(&on, &["-t", &t, "--name", &name])["records"], 4);
    // Another name (the default one holds the host's name) would copy all four again.
    let other = on.name("second");
    let o = mirror(&on, &["-t", &t, "--name", &other]);
    assert_eq!(o.status.code(), Some(2));
    let err = String::from_utf8_lossy(&o.stderr);
    assert!(
        err.contains(&format!("topic {t} on the cluster is not empty"))
            && err.contains(&format!("mirror {other} has no positions for {t}")),
        "{err}"
    );
    assert_eq!(lines(&on.consume(&t, &[])).len(), 4);
    // Deleted and created again on the root: its positions are another topic's.
    on.env
        .chute()
        .args(["topic", "delete", &t])
        .assert()
        .success();
    on.env.create_topic(&t, 2, &[]);
    on.env.produce(&t, "e\nf\n", &[]);
    let o = mirror(&on, &["-t", &t, "--name", &name, "--json"]);
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    assert!(
        String::from_utf8_lossy(&o.stderr).contains("was deleted and created again"),
        "{}",
        String::from_utf8_lossy(&o.stderr)
    );
    let s: serde_json::Value = serde_json::from_slice(&o.stdout).unwrap();
    assert_eq!(s["records"], 2, "{s}");
    let mut got = lines(&on.consume(&t, &[]))
        .into_iter()
        .map(|l| l.to_vec())
        .collect::<Vec<_>>();
    got.sort();
    let want: Vec<Vec<u8>> = ["a", "b", "c", "d", "e", "f"]
        .iter()
        .map(|x| x.as_bytes().to_vec())
        .collect();
    assert_eq!(got, want);
    // --append copies after records the mirror did not write, as asked.
    let o = mirror(&on, &["-t", &t, "--name", &other, "--append", "--json"]);
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    assert_eq!(lines(&on.consume(&t, &[])).len(), 8);

    // From Kafka, the same: a root topic holding records that mirror never wrote.
    let local = on.name("pulled");
    let pull = |n: &str| {
        on.env
            .chute()
            .args(["mirror", "-t", &t, "--from-kafka", &kafka, "--name", n])
            .args(["--rename", &format!("{t}={local}")])
            .output()
            .unwrap()
    };
    assert!(pull(&name).status.success());
    let o = pull(&other);
    assert_eq!(o.status.code(), Some(2));
    let err = String::from_utf8_lossy(&o.stderr);
    assert!(
        err.contains(&format!(
            "topic {local} on this root is not empty (8 offset(s) in use)"
        )),
        "{err}"
    );
    // The Kafka topic deleted and created again: its offsets start over below what the root
    // holds, and copying would skip its records as copies.
    on.chute().args(["topic", "delete", &t]).assert().success();
    wait_for("the topic created again", Duration::from_secs(60), || {
        on.chute()
            .args(["topic", "create", &t, "-p", "2", "-r", "1"])
            .output()
            .unwrap()
            .status
            .success()
    });
    let o = pull(&name);
    assert_eq!(o.status.code(), Some(2));
    let err = String::from_utf8_lossy(&o.stderr);
    assert!(
        err.contains("the topic was deleted and created again on the cluster"),
        "{err}"
    );
}

#[test]
fn a_following_mirror_from_kafka_copies_topics_created_after_it_started() {
    let Some(on) = On::kafka() else { return };
    let kafka = on.kafka.clone().unwrap();
    let (first, later) = (on.name("grow.a"), on.name("grow.b"));
    on.create_topic(&first, 1, &[]);
    on.produce(&first, "1\n2\n", &[]);
    let pattern = format!("^{}", regex::escape(&on.name("grow.")));
    let mut m = spawn_mirror(
        &on,
        &[
            "-t",
            &pattern,
            "--from-kafka",
            &kafka,
            "--name",
            &on.name("grower"),
            "--follow",
        ],
    );
    let rx = stderr_lines(&mut m);
    let on_root = |t: &str| {
        let o = on.env.chute().args(["consume", "-t", t]).output().unwrap();
        o.status.success().then(|| lines(&o.stdout).len())
    };
    wait_for("the first topic copied", Duration::from_secs(60), || {
        on_root(&first) == Some(2)
    });
    on.create_topic(&later, 2, &[]);
    on.produce(&later, "x\ny\nz\n", &[]);
    wait_for(
        "the topic created later copied",
        Duration::from_secs(60),
        || on_root(&later) == Some(3),
    );
    signal(m.id(), "TERM");
    let mut seen = Vec::new();
    while let Ok(l) = rx.try_recv() {
        seen.push(l);
    }
    assert_eq!(m.wait().unwrap().code(), Some(0), "{seen:#?}");
    assert_eq!(root_records(&on, &later), kafka_records(&on, &later));
}

#[test]
fn records_retention_deleted_before_the_mirror_copied_them_are_reported() {
    let Some(on) = On::kafka() else { return };
    let t = on.name("shrinking");
    on.env.create_topic(
        &t,
        1,
        &[
            "--config",
            "segment.bytes=16KiB",
            "--config",
            "retention.bytes=64KiB",
        ],
    );
    let numbered =
        |from: u32, to: u32| -> String { (from..to).map(|i| format!("{i:09}\n")).collect() };
    on.env.produce(&t, numbered(0, 1000), &[]);
    // Kafka refuses segments that small: a destination made beforehand.
    on.create_topic(&t, 1, &[]);
    assert_eq!(mirror_ok(&on, &["-t", &t])["records"], 1000);
    // An outage long enough for retention to pass the mirror's position.
    on.env
        .produce(&t, numbered(1000, 20_000), &["--batch-size", "2KiB"]);
    on.env.controller_once();
    let o = on
        .env
        .chute()
        .args(["offsets", "-t", &t, "--json"])
        .output()
        .unwrap();
    let offsets: serde_json::Value = serde_json::from_slice(&o.stdout).unwrap();
    let start = offsets["partitions"][0]["earliest"].as_u64().unwrap();
    assert!(start > 1000, "{offsets}");
    let o = mirror(&on, &["-t", &t, "--json"]);
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    let err = String::from_utf8_lossy(&o.stderr);
    assert!(
        err.contains(&format!("offset 1000 is below the log start {start}"))
            && err.contains("retention deleted records before the mirror copied them"),
        "{err}"
    );
    let out = on.consume(&t, &[]);
    let copied = lines(&out);
    assert_eq!(copied.len() as u64, 1000 + 20_000 - start);
    assert_eq!(copied[1000], format!("{start:09}").as_bytes());
}

#[test]
fn a_group_ahead_of_the_mirror_is_set_to_the_copys_end_with_a_warning() {
    use chute::client::local::Local;
    use chute::cluster::Cluster;
    use chute::mirror::{Summary, TopicTotals};
    // Two roots stand for source and destination: the translation is the same code on Kafka.
    let (src, dst) = (Env::new(), Env::new());
    let ten: String = (0..10).map(|i| format!("r{i}\n")).collect();
    let five: String = (0..5).map(|i| format!("r{i}\n")).collect();
    src.create_topic("t", 1, &[]);
    src.produce("t", ten, &[]);
    dst.create_topic("t", 1, &[]);
    dst.produce("t", five, &[]);
    src.chute()
        .args([
            "offsets",
            "reset",
            "-g",
            "g",
            "-t",
            "t",
            "--to-offset",
            "8",
            "--execute",
        ])
        .assert()
        .success();
    // The mirror copied 5 records while the group read 8.
    let mut summary = Summary::default();
    summary.topics.insert(
        "t".into(),
        TopicTotals {
            to: "t".into(),
            partitions: 1,
            records: 5,
            created: false,
        },
    );
    summary.positions.insert("t".into(), [(0, 5)].into());
    let (s, d) = (
        Local {
            cluster: Cluster::at(src.root()),
        },
        Local {
            cluster: Cluster::at(dst.root()),
        },
    );
    let mut warnings = Vec::new();
    let out = chute::mirror::groups::translate(&s, &d, &["g".into()], &summary, &mut |w| {
        warnings.push(w)
    })
    .unwrap();
    assert_eq!(out.len(), 1);
    assert_eq!((out[0].source_offset, out[0].offset), (8, 5));
    assert_eq!(warnings.len(), 1, "{warnings:?}");
    assert!(
        warnings[0].contains("past the mirror's position 5")
            && warnings[0].contains("the 3 record(s) between are delivered to the group again"),
        "{warnings:?}"
    );
}

#[test]
fn a_capped_read_takes_its_turns_so_one_partitions_backlog_holds_no_other_back() {
    use chute::client::Backend;
    use chute::client::local::Local;
    use chute::cluster::Cluster;
    use chute::consume::{ConsumeOptions, StartFrom, Subscription};
    use chute::record::{ConsumedRecord, RecordSink};
    struct Partitions(Vec<u32>);
    impl RecordSink for Partitions {
        fn record(&mut self, r: &ConsumedRecord<'_>) -> chute::error::Result<()> {
            self.0.push(r.partition);
            Ok(())
        }
    }
    // A mirror catching up reads batches of --batch-records: partition 0's backlog of 3,000
    // must not keep partition 1's three records waiting for three batches.
    let env = Env::new();
    env.create_topic("t", 2, &[]);
    let backlog: String = (0..3000).map(|i| format!("{i}\n")).collect();
    env.produce("t", backlog, &["-p", "0"]);
    env.produce("t", "a\nb\nc\n", &["-p", "1"]);
    let local = Local {
        cluster: Cluster::at(env.root()),
    };
    let o = ConsumeOptions {
        partitions: None,
        from: StartFrom::Stored,
        since: None,
        until: None,
        max: None,
        follow: false,
    };
    let mut c = local
        .consumer_at(&Subscription::parse(&["t".into()]).unwrap(), &o, &|_, _| {
            None
        })
        .unwrap();
    let mut first = Partitions(Vec::new());
    assert_eq!(c.poll_at_most(&mut first, 1000).unwrap(), 1000);
    let mut second = Partitions(Vec::new());
    assert_eq!(c.poll_at_most(&mut second, 1000).unwrap(), 1000);
    let ones = |p: &Partitions| p.0.iter().filter(|&&x| x == 1).count();
    assert_eq!(
        ones(&first) + ones(&second),
        3,
        "partition 1 read within two batches"
    );
}

#[test]
fn a_status_file_that_cannot_be_written_is_one_warning_and_the_copy_goes_on() {
    let Some(on) = On::kafka() else { return };
    let t = on.name("unwatched");
    on.env.create_topic(&t, 1, &[]);
    on.env.produce(&t, "a\nb\nc\n", &[]);
    // Where the status directory goes, a file: every write of the status fails.
    std::fs::create_dir_all(on.env.root()).unwrap();
    std::fs::write(on.env.root().join("mirrors"), b"not a directory").unwrap();
    let o = mirror(&on, &["-t", &t, "--batch-records", "1", "--json"]);
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    let err = String::from_utf8_lossy(&o.stderr);
    assert_eq!(
        err.matches("cannot write the status for top and metrics (the copy goes on)")
            .count(),
        1,
        "{err}"
    );
    let s: serde_json::Value = serde_json::from_slice(&o.stdout).unwrap();
    assert_eq!(s["records"], 3, "{s}");
    assert_eq!(lines(&on.consume(&t, &[])).len(), 3);
    // The view says what it cannot read, and still shows the rest.
    let o = on.env.chute().args(["top", "--once"]).output().unwrap();
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    assert!(
        String::from_utf8_lossy(&o.stderr).contains("mirrors"),
        "{}",
        String::from_utf8_lossy(&o.stderr)
    );
    assert!(String::from_utf8_lossy(&o.stdout).contains(&t));
}

#[test]
fn a_mirror_killed_before_its_first_commit_is_not_taken_for_another_writer() {
    // Its aborted records hold offsets on the destination: offsets in use are not records.
    let Some(on) = On::kafka() else { return };
    let kafka = on.kafka.clone().unwrap();
    let (t, name) = (on.name("first-txn"), on.name("first-txn-m"));
    on.env.create_topic(&t, 1, &[]);
    let n = 300_000;
    let input: String = (0..n).map(|i| format!("{i}\n")).collect();
    on.env.produce(&t, input, &[]);
    let mut m = spawn_mirror(
        &on,
        &[
            "-t",
            &t,
            "--name",
            &name,
            "--batch-records",
            "1000000",
            "--to-kafka",
            &kafka,
        ],
    );
    let uncommitted = || {
        let o = on
            .chute()
            .args([
                "-X",
                "isolation.level=read_uncommitted",
                "offsets",
                "-t",
                &t,
                "--json",
            ])
            .output()
            .unwrap();
        let v: serde_json::Value = serde_json::from_slice(&o.stdout).unwrap_or_default();
        v["partitions"][0]["latest"].as_u64().unwrap_or(0)
    };
    wait_for(
        "records of the open transaction",
        Duration::from_secs(60),
        || uncommitted() > 0,
    );
    signal(m.id(), "KILL");
    m.wait().unwrap();
    assert!(
        on.consume(&t, &[]).is_empty(),
        "the mirror committed before the kill: nothing was tested"
    );
    let s = mirror_ok(&on, &["-t", &t, "--name", &name]);
    assert_eq!(s["records"], n, "{s}");
    assert_eq!(lines(&on.consume(&t, &[])).len(), n as usize);
}
