//! `chute metrics`: Prometheus' text exposition format 0.0.4, printed or served over HTTP, read
//! back with a real HTTP client and a real parser.

use crate::util::*;
use std::io::{BufRead, BufReader};
use std::process::Stdio;

/// (metric, labels sorted, value).
type Samples = Vec<(String, Vec<(String, String)>, f64)>;

fn parse(text: &str) -> Samples {
    // The 0.0.4 text format, not OpenMetrics: node_exporter's textfile collector rejects `# EOF`,
    // and every sample belongs to the family a `# TYPE` line declared just before it.
    assert!(!text.contains("# EOF"), "{text}");
    let mut family = String::new();
    for l in text.lines() {
        if let Some(rest) = l.strip_prefix("# TYPE ") {
            let mut it = rest.split(' ');
            family = it.next().unwrap().to_string();
            assert_eq!(it.next(), Some("gauge"), "{l}");
        } else if !l.starts_with('#') && !l.is_empty() {
            let name = l.split(['{', ' ']).next().unwrap();
            assert_eq!(name, family, "a sample outside its family: {l}");
        }
    }
    let scrape = prometheus_parse::Scrape::parse(text.lines().map(|l| Ok(l.to_string()))).unwrap();
    scrape
        .samples
        .into_iter()
        .map(|s| {
            let v = match s.value {
                prometheus_parse::Value::Gauge(v) => v,
                other => panic!("{} is not a gauge: {other:?}", s.metric),
            };
            let mut labels: Vec<(String, String)> = s
                .labels
                .iter()
                .map(|(k, v)| (k.clone(), v.clone()))
                .collect();
            labels.sort();
            (s.metric, labels, v)
        })
        .collect()
}

fn value(samples: &Samples, metric: &str, labels: &[(&str, &str)]) -> f64 {
    let mut want: Vec<(String, String)> = labels
        .iter()
        .map(|(k, v)| (k.to_string(), v.to_string()))
        .collect();
    want.sort();
    samples
        .iter()
        .find(|(m, l, _)| m == metric && *l == want)
        .unwrap_or_else(|| panic!("no {metric} {labels:?}"))
        .2
}

#[test]
fn metrics_are_printed_and_served_in_the_text_format() {
    let env = Env::new();
    env.brokers(2);
    env.create_topic("t", 2, &["-r", "2"]);
    env.create_topic("u", 2, &["-r", "1"]);
    env.produce("t", "a\nb\nc\nd\ne\n", &["-p", "0", "--acks", "all"]);
    env.chute()
        .args(["consume", "-t", "t", "-g", "g", "-n", "2"])
        .assert()
        .success();
    let d = env.json(&["topic", "describe", "u", "--json"]);
    let down = d["partitions"][1]["leader"].as_u64().unwrap();
    env.mark("down", down);
    // t fails over to the other broker; u's partition there has no other replica: offline.
    env.controller_once();

    let out = env.chute().args(["metrics"]).output().unwrap();
    assert!(out.status.success());
    let s = parse(&String::from_utf8(out.stdout).unwrap());
    let t0 = [("topic", "t"), ("partition", "0")];
    assert_eq!(value(&s, "chute_partition_log_end_offset", &t0), 5.0);
    assert_eq!(value(&s, "chute_partition_high_watermark", &t0), 5.0);
    assert_eq!(value(&s, "chute_partition_log_start_offset", &t0), 0.0);
    assert!(value(&s, "chute_partition_size_bytes", &t0) > 32.0);
    assert_eq!(value(&s, "chute_partition_replicas", &t0), 2.0);
    let u1 = [("topic", "u"), ("partition", "1")];
    assert_eq!(value(&s, "chute_partition_offline", &u1), 1.0);
    assert_eq!(value(&s, "chute_partition_offline", &t0), 0.0);
    assert_eq!(
        value(&s, "chute_broker_up", &[("broker", &down.to_string())]),
        0.0
    );
    let g0 = [("group", "g"), ("topic", "t"), ("partition", "0")];
    assert_eq!(value(&s, "chute_group_committed_offset", &g0), 2.0);
    assert_eq!(value(&s, "chute_group_lag", &g0), 3.0);
    assert!(value(&s, "chute_group_lag_seconds", &g0) >= 0.0);
    assert_eq!(value(&s, "chute_group_members", &[("group", "g")]), 0.0);
    assert_eq!(value(&s, "chute_controller_active", &[]), 0.0);

    // Served: the address comes on stderr (port 0 picks one); each scrape is fresh.
    let mut server = env
        .spawn(&["metrics", "--listen", "127.0.0.1:0"])
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let mut line = String::new();
    BufReader::new(server.stderr.take().unwrap())
        .read_line(&mut line)
        .unwrap();
    let url = line
        .split_whitespace()
        .find(|w| w.starts_with("http://"))
        .unwrap_or_else(|| panic!("{line}"))
        .to_string();
    let mut resp = ureq::get(&url).call().unwrap();
    let ctype = resp
        .headers()
        .get("content-type")
        .unwrap()
        .to_str()
        .unwrap()
        .to_string();
    assert_eq!(ctype, "text/plain; version=0.0.4; charset=utf-8");
    let s = parse(&resp.body_mut().read_to_string().unwrap());
    assert_eq!(value(&s, "chute_partition_log_end_offset", &t0), 5.0);
    env.produce("t", "f\n", &["-p", "0", "--acks", "all"]);
    let mut resp = ureq::get(&url).call().unwrap();
    let s = parse(&resp.body_mut().read_to_string().unwrap());
    assert_eq!(value(&s, "chute_partition_log_end_offset", &t0), 6.0);
    assert_eq!(value(&s, "chute_group_lag", &g0), 4.0);
    let missing = url.replace("/metrics", "/nope");
    match ureq::get(&missing).call() {
        Err(ureq::Error::StatusCode(404)) => {}
        other => panic!("{other:?}"),
    }
    signal(server.id(), "TERM");
    assert_eq!(server.wait().unwrap().code(), Some(0));
}

/// Two brokers, one of them down: `t` (RF 2, 3 records, group `billing` at 1) is
/// under-replicated, `u`'s partition on the down broker is offline. Returns the down broker.
fn troubled() -> (Env, u64) {
    let env = Env::new();
    env.brokers(2);
    env.create_topic("t", 1, &["-r", "2"]);
    env.create_topic("u", 2, &["-r", "1"]);
    env.produce("t", "a\nb\nc\n", &["--acks", "all"]);
    env.chute()
        .args(["consume", "-t", "t", "-g", "billing", "-n", "1"])
        .assert()
        .success();
    let d = env.json(&["topic", "describe", "u", "--json"]);
    let down = d["partitions"][1]["leader"].as_u64().unwrap();
    env.mark("down", down);
    env.controller_once();
    (env, down)
}

/// `top --once` (and `top` when stdout is not a terminal) prints one snapshot: partitions with
/// offsets and health, groups with lag; `--json` the same figures as `metrics`.
#[test]
fn top_once_shows_partitions_groups_and_what_is_wrong() {
    let (env, down) = troubled();

    for args in [&["top", "--once"][..], &["top"][..]] {
        let out = env.chute().args(args).output().unwrap();
        assert!(out.status.success(), "{args:?}");
        let text = String::from_utf8(out.stdout).unwrap();
        assert!(text.contains("offline: 1"), "{text}");
        assert!(text.contains(&format!("{down} DOWN")), "{text}");
        // The row whose first cells are `start`.
        let row = |start: &[&str]| {
            text.lines()
                .map(|l| l.split_whitespace().map(str::to_string).collect::<Vec<_>>())
                .find(|cells| cells.len() >= start.len() && cells[..start.len()] == *start)
                .unwrap_or_else(|| panic!("no row {start:?}: {text}"))
        };
        let u1 = row(&["u", "1"]);
        assert_eq!(u1.last().unwrap(), "OFFLINE", "{text}");
        let t0 = row(&["t", "0"]);
        assert_eq!(t0[4], "3", "log end: {text}");
        assert_eq!(t0.last().unwrap(), "under-replicated", "{text}");
        let g = row(&["billing"]);
        assert_eq!(
            &g[2..6],
            ["t", "0", "1", "2"],
            "topic, partition, committed, lag: {text}"
        );
    }
    let v = env.json(&["top", "--json"]);
    let t0 = v["partitions"]
        .as_array()
        .unwrap()
        .iter()
        .find(|p| p["topic"] == "t")
        .unwrap();
    assert_eq!(t0["high_watermark"], 3, "{v}");
    assert_eq!(v["groups"][0]["partitions"][0]["lag"], 2, "{v}");
}

/// `chute top` on a terminal (tmux): the live view shows a producer's rate, a lagging group
/// and an offline partition; `s` changes the sort, `/` filters, `q` quits.
#[test]
fn top_live_view_in_a_terminal() {
    let (env, _) = troubled();
    // A producer that keeps writing, one line at a time, while the view is up.
    let mut producer = env
        .spawn(&["produce", "-t", "t", "--linger", "0"])
        .stdin(Stdio::piped())
        .spawn()
        .unwrap();
    let mut input = producer.stdin.take().unwrap();
    let stop = std::sync::Arc::new(std::sync::atomic::AtomicBool::new(false));
    let feeding = {
        let stop = stop.clone();
        std::thread::spawn(move || {
            use std::io::Write;
            while !stop.load(std::sync::atomic::Ordering::Relaxed) {
                if input.write_all(b"x\n").is_err() {
                    break;
                }
                std::thread::sleep(std::time::Duration::from_millis(20));
            }
        })
    };

    let t = Tmux::start(&env, "bash --norc --noprofile");
    t.keys(&["chute top --interval 300ms; echo TOP-EXITED-$?", "Enter"]);
    t.wait_screen(
        "the live view",
        "controller:",
        &["OFFLINE", "billing", "q quit"],
    );
    // The producer's rate shows on t's row once two snapshots were taken.
    let rate = |screen: &str| {
        screen.lines().any(|l| {
            let cells: Vec<&str> = l.split(['│', ' ']).filter(|c| !c.is_empty()).collect();
            cells.first() == Some(&"t")
                && cells.iter().any(|c| {
                    c.ends_with("/s")
                        && c.trim_end_matches("/s").parse::<u64>().is_ok_and(|r| r > 0)
                })
        })
    };
    wait_for(
        "a produce rate on t",
        std::time::Duration::from_secs(20),
        || rate(&t.screen()),
    );
    t.keys(&["s"]);
    t.wait_screen("the sort to change", "q quit", &["sort: trouble/lag"]);
    t.keys(&["/", "b", "i", "l", "l", "Enter"]);
    t.wait_screen("the filter", "q quit", &["/ filter: bill"]);
    assert!(t.screen().contains("partitions (0)"), "{}", t.screen());
    t.keys(&["q"]);
    t.wait_screen("top to exit", "TOP-EXITED", &["TOP-EXITED-0"]);

    stop.store(true, std::sync::atomic::Ordering::Relaxed);
    feeding.join().unwrap();
    assert!(producer.wait().unwrap().success());
}
