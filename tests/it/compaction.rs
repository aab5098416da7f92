//! Compaction: the latest value of every key survives, offsets only increase, tombstones go
//! after delete.retention, replicas stay identical, and a cleaner killed at any moment leaves a
//! log that loses nothing that should have stayed.

use crate::util::{Env, kill9, wait_for};
use std::collections::BTreeMap;
use std::process::Stdio;
use std::time::Duration;

const KEYS: u32 = 200;

fn round(r: u32) -> String {
    (0..KEYS).map(|k| format!("k{k:03},v{r}-{k}\n")).collect()
}

/// (offset, key, value) of every record, in order.
fn read(env: &Env) -> Vec<(u64, String, String)> {
    let out = env.consume("c", &["--format", "%o %k %s\\n"]);
    String::from_utf8(out)
        .unwrap()
        .lines()
        .map(|l| {
            let mut it = l.splitn(3, ' ');
            (
                it.next().unwrap().parse().unwrap(),
                it.next().unwrap().to_string(),
                it.next().unwrap_or("").to_string(),
            )
        })
        .collect()
}

/// Every key's newest value is the last one read for it, and offsets strictly increase.
fn check(env: &Env, latest: &BTreeMap<String, Option<String>>) {
    let recs = read(env);
    assert!(
        recs.windows(2).all(|w| w[0].0 < w[1].0),
        "offsets not increasing"
    );
    let mut last: BTreeMap<&str, &str> = BTreeMap::new();
    for (_, k, v) in &recs {
        last.insert(k, v);
    }
    for (k, v) in latest {
        match v {
            Some(v) => assert_eq!(last.get(k.as_str()), Some(&v.as_str()), "key {k}"),
            None => assert!(last.get(k.as_str()).is_none_or(|x| x.is_empty()), "key {k}"),
        }
    }
}

fn setup(env: &Env) {
    env.brokers(2);
    env.create_topic(
        "c",
        1,
        &[
            "--replication-factor",
            "2",
            "--config",
            "cleanup.policy=compact",
            "--config",
            "segment.bytes=4KiB",
            "--config",
            "segment.ms=1s",
            "--config",
            "delete.retention=1ms",
        ],
    );
}

fn produce_round(env: &Env, r: u32, latest: &mut BTreeMap<String, Option<String>>) {
    env.produce("c", round(r), &["-K", ",", "--batch-size", "1KiB"]);
    for k in 0..KEYS {
        latest.insert(format!("k{k:03}"), Some(format!("v{r}-{k}")));
    }
}

#[test]
fn ten_rounds_over_200_keys_and_a_tombstone_keep_exactly_the_latest_values() {
    let env = Env::new();
    setup(&env);
    let mut latest = BTreeMap::new();
    for r in 0..10 {
        produce_round(&env, r, &mut latest);
    }
    env.produce("c", "{\"key\":\"k007\",\"value\":null}\n", &["-f", "json"]);
    latest.insert("k007".into(), None);
    // Passes until the active segments have rolled (segment.ms) and everything is cleaned.
    wait_for("a fully compacted log", Duration::from_secs(20), || {
        env.controller_once();
        read(&env).len() == KEYS as usize - 1
    });
    let recs = read(&env);
    let keys: Vec<&str> = recs.iter().map(|r| r.1.as_str()).collect();
    let mut want: Vec<String> = (0..KEYS)
        .filter(|&k| k != 7)
        .map(|k| format!("k{k:03}"))
        .collect();
    want.sort();
    let mut sorted = keys.clone();
    sorted.sort();
    assert_eq!(sorted, want, "exactly one record per live key");
    check(&env, &latest);
    // Offsets are the original ones: the last round's records, 1800.., in order.
    assert_eq!(recs[0].0, 1800);
    // Both replicas were cleaned identically (verify compares them batch by batch).
    env.chute().args(["verify", "-t", "c"]).assert().success();
    // Every cleaned segment records the length it was sealed at, like a rolled one, so one
    // cut short later is damage, not a gap (docs/format.md).
    for b in 0..2 {
        let dir = env.root().join(format!("brokers/{b}/c-0"));
        let out = env
            .chute()
            .args(["dump", dir.to_str().unwrap()])
            .output()
            .unwrap();
        let out = String::from_utf8(out.stdout).unwrap();
        let segs: Vec<&str> = out
            .lines()
            .filter(|l| l.starts_with("Segment base offset"))
            .collect();
        assert!(segs.len() >= 2, "{out}");
        let (active, sealed) = segs.split_last().unwrap();
        assert!(active.contains("sealed: not recorded"), "{active}");
        for l in sealed {
            let size = l.split("size: ").nth(1).unwrap().split(' ').next().unwrap();
            assert!(l.ends_with(&format!("sealed: {size} bytes")), "{l}");
        }
    }
}

#[test]
fn a_cleaner_killed_at_any_moment_loses_nothing_that_should_stay() {
    let env = Env::new();
    setup(&env);
    let mut latest = BTreeMap::new();
    let part = env.root().join("brokers");
    let has = |suffix: &str| {
        ["0", "1"].iter().any(|b| {
            std::fs::read_dir(part.join(b).join("c-0"))
                .map(|it| {
                    it.filter_map(|e| e.ok())
                        .any(|e| e.file_name().to_string_lossy().ends_with(suffix))
                })
                .unwrap_or(false)
        })
    };
    for r in 0..10u32 {
        produce_round(&env, r, &mut latest);
        // Let segment.ms pass for some rounds so that rolls and cleanings happen.
        let mut c = env
            .spawn(&["controller", "--once"])
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .unwrap();
        // Kill at a bad moment: while cleaned files are being written, or mid-swap, or at once.
        let moment = [".cleaned", ".swap", ""][r as usize % 3];
        if !moment.is_empty() {
            wait_for("the cleaner to get there", Duration::from_secs(10), || {
                has(moment) || matches!(c.try_wait(), Ok(Some(_)))
            });
        }
        kill9(&mut c);
        check(&env, &latest);
    }
    // A pass recovers whatever was left and completes the cleaning.
    wait_for("a fully compacted log", Duration::from_secs(20), || {
        env.controller_once();
        read(&env).len() == KEYS as usize
    });
    check(&env, &latest);
    assert!(!has(".cleaned") && !has(".swap"));
    env.chute().args(["verify", "-t", "c"]).assert().success();
}
