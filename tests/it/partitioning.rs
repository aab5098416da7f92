//! Where records go, with real processes: each partitioner's placement, the spread of records
//! without a key, keys and partitions taken from the data, a partitioner command, and batches
//! bounded by a record count.

use crate::util::*;
use std::collections::BTreeMap;

/// `consume --format '%p %k'`: partition per key, in the order read.
fn placement(env: &Env, topic: &str) -> Vec<(u32, String)> {
    String::from_utf8(env.consume(topic, &["--format", "%p %k\\n"]))
        .unwrap()
        .lines()
        .map(|l| {
            let (p, k) = l.split_once(' ').unwrap();
            (p.parse().unwrap(), k.to_string())
        })
        .collect()
}

fn counts(v: &[(u32, String)], n: usize) -> Vec<usize> {
    let mut c = vec![0; n];
    for (p, _) in v {
        c[*p as usize] += 1;
    }
    c
}

/// zlib's CRC-32, bit by bit, as librdkafka's rd_crc32 computes it: written out here so the
/// test does not check chute against itself.
fn zlib_crc32(data: &[u8]) -> u32 {
    let mut crc = !0u32;
    for &b in data {
        crc ^= b as u32;
        for _ in 0..8 {
            crc = if crc & 1 == 1 {
                (crc >> 1) ^ 0xedb8_8320
            } else {
                crc >> 1
            };
        }
    }
    !crc
}

/// `chute ARGS` with `stdin` on its input, to its end.
fn run(env: &Env, args: &[&str], stdin: impl Into<Vec<u8>>) -> std::process::Output {
    env.chute()
        .args(args)
        .write_stdin(stdin.into())
        .output()
        .unwrap()
}

fn keyed(n: u32) -> String {
    (0..n).map(|i| format!("key-{i},v{i}\n")).collect()
}

#[test]
fn hashing_partitioners_place_keys_as_the_java_producer_and_librdkafka_do() {
    let env = Env::new();
    assert_eq!(zlib_crc32(b"123456789"), 0xcbf4_3926);
    for (name, topic) in [("murmur2", "m"), ("crc32", "c")] {
        env.create_topic(topic, 8, &[]);
        env.produce(topic, keyed(1000), &["-K", ",", "--partitioner", name]);
        let got = placement(&env, topic);
        assert_eq!(got.len(), 1000);
        for (p, k) in &got {
            let want = match name {
                "murmur2" => chute::partitioner::partition_for_key(k.as_bytes(), 8),
                _ => zlib_crc32(k.as_bytes()) % 8,
            };
            assert_eq!(*p, want, "{name}: key {k}");
        }
    }
    // The default is murmur2, and a topic's partitioner config changes it.
    env.create_topic("d", 8, &[]);
    env.produce("d", keyed(200), &["-K", ","]);
    for (p, k) in placement(&env, "d") {
        assert_eq!(p, chute::partitioner::partition_for_key(k.as_bytes(), 8));
    }
    env.create_topic("t", 4, &["-c", "partitioner=round-robin"]);
    env.produce("t", keyed(400), &["-K", ","]);
    assert_eq!(counts(&placement(&env, "t"), 4), [100; 4]);
    let o = env
        .chute()
        .args(["topic", "alter", "t", "-c", "partitioner=fnv"])
        .output()
        .unwrap();
    assert_eq!(o.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&o.stderr).contains("partitioner takes murmur2, crc32"));
}

#[test]
fn round_robin_sticky_and_random_ignore_keys() {
    let env = Env::new();
    for t in ["rr", "st", "rn"] {
        env.create_topic(t, 8, &[]);
    }
    env.produce(
        "rr",
        keyed(1000),
        &["-K", ",", "--partitioner", "round-robin"],
    );
    assert_eq!(counts(&placement(&env, "rr"), 8), [125; 8]);
    // Sticky: runs of 100 records on one partition, whatever their keys.
    env.produce("st", keyed(50), &["-K", ",", "--partitioner", "sticky"]);
    let c = counts(&placement(&env, "st"), 8);
    assert_eq!(c.iter().filter(|&&n| n > 0).count(), 1, "{c:?}");
    env.produce("rn", keyed(2000), &["-K", ",", "--partitioner", "random"]);
    let c = counts(&placement(&env, "rn"), 8);
    assert!(c.iter().all(|&n| n > 150 && n < 350), "{c:?}");
}

#[test]
fn records_without_a_key_spread_over_the_partitions() {
    let env = Env::new();
    env.create_topic("u", 6, &[]);
    let input: String = (0..6000).map(|i| format!("{i}\n")).collect();
    env.produce("u", input.clone(), &[]);
    let o = env.json(&["offsets", "-t", "u", "--json"]);
    for p in o["partitions"].as_array().unwrap() {
        let n = p["latest"].as_u64().unwrap();
        // At most twice its share of 1,000.
        assert!(n <= 2000 && n > 0, "{o}");
    }
    let mut got: Vec<u64> = String::from_utf8(env.consume("u", &[]))
        .unwrap()
        .lines()
        .map(|l| l.parse().unwrap())
        .collect();
    got.sort_unstable();
    assert_eq!(got, (0..6000).collect::<Vec<u64>>());
}

#[test]
fn keys_and_partitions_come_from_the_data() {
    let env = Env::new();
    for t in ["byk", "byfield", "byre", "bypart"] {
        env.create_topic(t, 8, &[]);
    }
    let mut kv = String::new();
    let mut json = String::new();
    let mut lines = String::new();
    for i in 0..1000 {
        kv += &format!("u{i},{{\"user\":{{\"id\":\"u{i}\"}},\"n\":{i}}}\n");
        json += &format!("{{\"value\":{{\"user\":{{\"id\":\"u{i}\"}},\"n\":{i}}}}}\n");
        lines += &format!("GET /x user=u{i} p={}\n", i % 8);
    }
    env.produce("byk", kv, &["-K", ","]);
    env.produce("byfield", json, &["-f", "json", "--key-field", "user.id"]);
    env.produce("byre", lines.clone(), &["--key-regex", r"user=(\w+)"]);
    let want = placement(&env, "byk");
    let sorted = |mut v: Vec<(u32, String)>| {
        v.sort();
        v
    };
    assert_eq!(sorted(placement(&env, "byfield")), sorted(want.clone()));
    assert_eq!(sorted(placement(&env, "byre")), sorted(want));
    // The partition itself from the data.
    env.produce("bypart", lines, &["--partition-regex", r"p=(\d+)"]);
    let out = String::from_utf8(env.consume("bypart", &["--format", "%p %s\\n"])).unwrap();
    for l in out.lines() {
        let (p, v) = l.split_once(' ').unwrap();
        assert!(v.ends_with(&format!("p={p}")), "{l}");
    }
    // A record without the field stops the input, naming its line; --key-optional lets it by.
    let o = env
        .chute()
        .args([
            "produce",
            "-t",
            "byfield",
            "-f",
            "json",
            "--key-field",
            "user.id",
        ])
        .write_stdin("{\"value\":{\"user\":{\"id\":\"a\"}}}\n{\"value\":{\"n\":1}}\n")
        .output()
        .unwrap();
    assert_eq!(o.status.code(), Some(65));
    let e = String::from_utf8_lossy(&o.stderr);
    assert!(
        e.contains("input line 2: --key-field user.id finds no key"),
        "{e}"
    );
    env.produce(
        "byfield",
        "{\"value\":{\"n\":1}}\n",
        &["-f", "json", "--key-field", "user.id", "--key-optional"],
    );
    let o = run(
        &env,
        &["produce", "-t", "bypart", "--partition-regex", r"p=(\d+)"],
        "a p=1\nb p=9\nc p=2\n",
    );
    assert_eq!(o.status.code(), Some(65));
    assert!(
        String::from_utf8_lossy(&o.stderr).contains("input line 2: partition 9 does not exist")
    );
}

#[test]
fn a_partitioner_command_places_records_and_a_bad_answer_stops_the_input() {
    let env = Env::new();
    env.create_topic("x", 2, &[]);
    let input: String = (1..=100).map(|i| format!("{i},v{i}\n")).collect();
    let even_odd = "while read k; do echo $((k % 2)); done";
    env.produce("x", input, &["-K", ",", "--partitioner-exec", even_odd]);
    for (p, k) in placement(&env, "x") {
        assert_eq!(p, k.parse::<u32>().unwrap() % 2, "key {k}");
    }
    // Key 5 is answered with 7: exit 65 naming line 5; 1..4 are written, nothing after.
    env.create_topic("y", 2, &[]);
    let input: String = (1..=10).map(|i| format!("{i},v{i}\n")).collect();
    let o = env
        .chute()
        .args([
            "produce",
            "-t",
            "y",
            "-K",
            ",",
            "--partitioner-exec",
            "while read k; do if [ $k = 5 ]; then echo 7; else echo 0; fi; done",
        ])
        .write_stdin(input)
        .output()
        .unwrap();
    assert_eq!(o.status.code(), Some(65));
    let e = String::from_utf8_lossy(&o.stderr);
    assert!(
        e.contains(r#"input line 5: --partitioner-exec"#)
            && e.contains(r#"answered "7" for key "5""#),
        "{e}"
    );
    let got: Vec<String> = placement(&env, "y").into_iter().map(|(_, k)| k).collect();
    assert_eq!(got, ["1", "2", "3", "4"]);
    // A command that does not answer is a timeout (exit 75), not a hang.
    let o = env
        .chute()
        .args([
            "produce",
            "-t",
            "y",
            "-K",
            ",",
            "--partitioner-exec",
            "cat > /dev/null",
            "--partitioner-timeout",
            "200ms",
        ])
        .write_stdin("1,a\n")
        .output()
        .unwrap();
    assert_eq!(o.status.code(), Some(75));
    assert!(
        String::from_utf8_lossy(&o.stderr).contains("did not answer for key \"1\" within 200ms")
    );
}

#[test]
fn batch_records_bounds_every_batch() {
    let env = Env::new();
    env.create_topic("b", 1, &[]);
    let input: String = (0..1005).map(|i| format!("{i}\n")).collect();
    env.produce("b", input, &["--batch-records", "10"]);
    let o = env
        .chute()
        .args(["dump", env.partition_dir("b", 0).to_str().unwrap()])
        .output()
        .unwrap();
    let d = String::from_utf8(o.stdout).unwrap();
    let sizes: BTreeMap<usize, usize> = d
        .lines()
        .filter(|l| l.starts_with("baseOffset:"))
        .map(|l| {
            l.split("count: ")
                .nth(1)
                .unwrap()
                .split(' ')
                .next()
                .unwrap()
                .parse::<usize>()
                .unwrap()
        })
        .fold(BTreeMap::new(), |mut m, c| {
            *m.entry(c).or_default() += 1;
            m
        });
    assert!(sizes.keys().all(|&c| c <= 10), "{sizes:?}");
    assert_eq!(sizes.iter().map(|(c, n)| c * n).sum::<usize>(), 1005);
    let o = run(&env, &["produce", "-t", "b", "--batch-records", "0"], "x\n");
    assert_eq!(o.status.code(), Some(2));
}
