use crate::util::*;
use std::io::Write;
use std::process::Stdio;
use std::time::Duration;

#[test]
fn input_without_trailing_newline_and_empty_input() {
    let env = Env::new();
    env.produce("t", "a\n\nb", &[]);
    assert_eq!(env.consume("t", &[]), b"a\n\nb\n");
    env.produce("t", "", &[]);
    let o = env.json(&["offsets", "-t", "t", "--json"]);
    assert_eq!(o["partitions"][0]["latest"], 3);
}

#[test]
fn nul_and_custom_delimiters() {
    let env = Env::new();
    env.produce("z", b"one\0two\nstill two\0".to_vec(), &["-0"]);
    assert_eq!(env.consume("z", &["-0"]), b"one\0two\nstill two\0");
    assert_eq!(
        env.consume("z", &["--format", "%o:%s|"]),
        b"0:one|1:two\nstill two|"
    );
    env.produce("d", "a;;b;", &["-D", ";;"]);
    assert_eq!(env.consume("d", &[]), b"a\nb;\n");
}

#[test]
fn keys_land_where_kafka_would_put_them() {
    let env = Env::new();
    env.create_topic("k", 8, &[]);
    let keys = [
        "21",
        "foobar",
        "a-little-bit-long-string",
        "abc",
        "",
        "user-42",
    ];
    let input: String = keys
        .iter()
        .map(|k| format!("{k}\tvalue-of-{k}\n"))
        .collect();
    env.produce("k", input, &["-K", "\\t"]);
    for k in keys {
        let want = chute::partitioner::partition_for_key(k.as_bytes(), 8);
        let got = env.consume("k", &["-p", &want.to_string(), "--format", "%k=%s\n"]);
        let line = format!("{k}=value-of-{k}");
        assert!(
            lines(&got).contains(&line.as_bytes()),
            "key {k:?} not on partition {want}: {}",
            String::from_utf8_lossy(&got)
        );
    }
    // Kafka's published vectors: murmur2("21") = -973932308 → toPositive % 8.
    assert_eq!(
        chute::partitioner::partition_for_key(b"21", 8),
        ((-973932308i32 & 0x7fffffff) % 8) as u32
    );
}

#[test]
fn null_keys_spread_over_partitions_in_sticky_batches() {
    let env = Env::new();
    env.create_topic("s", 4, &[]);
    let input: String = (0..20_000).map(|i| format!("{i:0>90}\n")).collect();
    env.produce("s", input, &["--batch-size", "64KiB"]);
    let o = env.json(&["offsets", "-t", "s", "--json"]);
    let counts: Vec<u64> = (0..4)
        .map(|p| o["partitions"][p]["latest"].as_u64().unwrap())
        .collect();
    assert_eq!(counts.iter().sum::<u64>(), 20_000);
    assert!(counts.iter().filter(|&&c| c > 0).count() >= 3, "{counts:?}");
}

#[test]
fn four_concurrent_producers_into_one_partition_keep_everything_in_order() {
    let env = Env::new();
    env.create_topic("c", 1, &[]);
    let mut kids = Vec::new();
    for w in 0..4 {
        let input: String = (0..50_000).map(|i| format!("w{w} {i}\n")).collect();
        let mut c = env
            .spawn(&[
                "produce",
                "-t",
                "c",
                "--batch-size",
                "4KiB",
                "--linger",
                "0",
            ])
            .stdin(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .unwrap();
        let mut stdin = c.stdin.take().unwrap();
        std::thread::spawn(move || {
            // Feed in small writes so the producers interleave.
            for chunk in input.as_bytes().chunks(8192) {
                stdin.write_all(chunk).unwrap();
            }
        });
        kids.push(c);
    }
    for c in kids {
        let out = c.wait_with_output().unwrap();
        assert!(
            out.status.success(),
            "{}",
            String::from_utf8_lossy(&out.stderr)
        );
    }
    let got = env.consume("c", &[]);
    let mut next = [0u64; 4];
    let mut total = 0;
    for l in lines(&got) {
        let s = std::str::from_utf8(l).unwrap();
        let (w, i) = s.split_once(' ').unwrap();
        let w: usize = w[1..].parse().unwrap();
        let i: u64 = i.parse().unwrap();
        assert_eq!(i, next[w], "writer {w} out of order");
        next[w] += 1;
        total += 1;
    }
    assert_eq!(total, 200_000);
    assert_eq!(next, [50_000; 4]);
    env.chute().args(["verify"]).assert().success();
}

#[test]
fn from_count_partition_and_formats() {
    let env = Env::new();
    env.create_topic("f", 2, &[]);
    env.produce("f", "a\nb\nc\nd\n", &["-p", "1"]);
    assert_eq!(env.consume("f", &["-p", "1", "--from", "2"]), b"c\nd\n");
    assert_eq!(env.consume("f", &["-p", "1", "--from", "-1"]), b"d\n");
    assert_eq!(env.consume("f", &["--from", "end"]), b"");
    assert_eq!(env.consume("f", &["-n", "2"]), b"a\nb\n");
    assert_eq!(env.consume("f", &["-p", "0"]), b"");
    let j = env.consume("f", &["-n", "1", "--format", "json"]);
    let v: serde_json::Value = serde_json::from_slice(&j).unwrap();
    assert_eq!(v["topic"], "f");
    assert_eq!(v["partition"], 1);
    assert_eq!(v["offset"], 0);
    assert_eq!(v["value"], "a");
    assert!(v["key"].is_null());
    assert!(v["timestamp"].as_i64().unwrap() > 1_600_000_000_000);
    let csv = env.consume("f", &["-n", "1", "--format", "csv"]);
    assert!(
        csv.starts_with(b"f,1,0,"),
        "{}",
        String::from_utf8_lossy(&csv)
    );
    let t = env.consume("f", &["--format", "%t/%p/%o %K %S %s\\n", "-n", "2"]);
    assert_eq!(t, b"f/1/0 -1 1 a\nf/1/1 -1 1 b\n");
}

#[test]
fn since_until_and_offsets_at_time() {
    let env = Env::new();
    let recs = [
        r#"{"value":"old","timestamp":1000000000000}"#,
        r#"{"value":"mid","timestamp":1500000000000}"#,
        r#"{"value":"new","timestamp":1700000000000}"#,
    ];
    env.produce("time", recs.join("\n"), &["--format", "json"]);
    assert_eq!(
        env.consume("time", &["--since", "1400000000000"]),
        b"mid\nnew\n"
    );
    assert_eq!(
        env.consume("time", &["--since", "2018-01-01T00:00:00Z"]),
        b"new\n"
    );
    assert_eq!(
        env.consume("time", &["--until", "1500000000000"]),
        b"old\nmid\n"
    );
    let o = env.json(&["offsets", "-t", "time", "--at", "1400000000000", "--json"]);
    assert_eq!(o["partitions"][0]["offset"], 1);
}

#[test]
fn csv_input() {
    let env = Env::new();
    env.produce(
        "csv",
        "k1,v1\n\"k,2\",\"multi\nline\"\n",
        &["--format", "csv"],
    );
    assert_eq!(
        env.consume("csv", &["--format", "%k=%s|"]),
        b"k1=v1|k,2=multi\nline|"
    );
    env.produce(
        "csvh",
        "value,key\nv,k\n",
        &["--format", "csv", "--csv-header"],
    );
    assert_eq!(env.consume("csvh", &["--format", "%k=%s|"]), b"k=v|");
}

#[test]
fn headers_from_flags() {
    let env = Env::new();
    env.produce("h", "x\n", &["-H", "source=test", "-H", "n=1"]);
    assert_eq!(
        env.consume("h", &["--format", "%h|%s\\n"]),
        b"source=test,n=1|x\n"
    );
}

#[test]
fn consume_into_closed_pipe_exits_quietly() {
    let env = Env::new();
    let input: String = (0..200_000).map(|i| format!("{i}\n")).collect();
    env.produce("p", input, &[]);
    let out = std::process::Command::new("sh")
        .arg("-c")
        .arg(format!("'{}' consume -t p | head -n 3", bin().display()))
        .env("CHUTE_ROOT", env.root())
        .output()
        .unwrap();
    assert!(out.status.success());
    assert_eq!(out.stdout, b"0\n1\n2\n");
    assert!(
        out.stderr.is_empty(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
}

#[test]
fn follow_delivers_records_produced_later() {
    let env = Env::new();
    env.produce("live", "before\n", &[]);
    let mut c = env
        .spawn(&["consume", "-t", "live", "--follow", "--from", "end"])
        .stdout(Stdio::piped())
        .spawn()
        .unwrap();
    let mut out = c.stdout.take().unwrap();
    let reader = std::thread::spawn(move || {
        use std::io::Read;
        let mut buf = Vec::new();
        let mut b = [0u8; 4096];
        while !buf.ends_with(b"after-2\n") {
            let n = out.read(&mut b).unwrap();
            if n == 0 {
                break;
            }
            buf.extend_from_slice(&b[..n]);
        }
        buf
    });
    // The follower has started once it has a watch; produce until it reports what we wrote.
    env.produce("live", "after-1\n", &["--linger", "0"]);
    env.produce("live", "after-2\n", &["--linger", "0"]);
    let deadline = std::time::Instant::now() + Duration::from_secs(20);
    while !reader.is_finished() && std::time::Instant::now() < deadline {
        std::thread::sleep(Duration::from_millis(10));
    }
    kill9(&mut c);
    let got = reader.join().unwrap();
    // --from end was resolved at start; it may have started after after-1 landed.
    let s = String::from_utf8_lossy(&got);
    assert!(s.ends_with("after-2\n"), "{s}");
    assert!(!s.contains("before"), "{s}");
}

#[test]
fn segments_roll_by_size_and_reads_cross_them() {
    let env = Env::new();
    env.create_topic("roll", 1, &["--config", "segment.bytes=4KiB"]);
    let input: String = (0..5000).map(|i| format!("record-{i}\n")).collect();
    env.produce("roll", input.clone(), &["--batch-size", "1KiB"]);
    let segs = std::fs::read_dir(env.partition_dir("roll", 0))
        .unwrap()
        .filter(|e| {
            e.as_ref()
                .unwrap()
                .file_name()
                .to_string_lossy()
                .ends_with(".log")
        })
        .count();
    assert!(segs > 10, "only {segs} segments");
    assert_eq!(env.consume("roll", &[]), input.as_bytes());
    assert_eq!(
        env.consume("roll", &["--from", "4321", "-n", "1"]),
        b"record-4321\n"
    );
    env.chute().args(["verify"]).assert().success();
}

#[test]
fn dump_shows_batches_and_records() {
    let env = Env::new();
    env.produce("d", "k1:hello\nk2:world\n", &["-K", ":"]);
    let out = env
        .chute()
        .args(["dump", "--records"])
        .arg(env.partition_dir("d", 0))
        .output()
        .unwrap();
    assert!(out.status.success());
    let s = String::from_utf8_lossy(&out.stdout);
    assert!(s.contains("baseOffset: 0 lastOffset: 1 count: 2"), "{s}");
    assert!(s.contains("isValid: true"), "{s}");
    assert!(
        s.contains(r#"offset: 1 "#) && s.contains(r#"key: "k2" value: "world""#),
        "{s}"
    );
}

/// CPU time (user + system) a process has used so far, from /proc.
fn cpu_seconds(pid: u32) -> f64 {
    let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).unwrap();
    let rest = &stat[stat.rfind(')').unwrap() + 2..];
    let f: Vec<&str> = rest.split(' ').collect();
    // Fields 14 and 15 (utime, stime) are at 11 and 12 after the command name.
    let ticks: f64 = f[11].parse::<f64>().unwrap() + f[12].parse::<f64>().unwrap();
    ticks / 100.0
}

/// A producer whose input goes quiet must sleep, not spin waiting for a sync deadline.
#[test]
fn idle_producer_does_not_spin() {
    let env = Env::new();
    let mut c = env
        .spawn(&["produce", "-t", "idle", "--linger", "0"])
        .stdin(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let mut stdin = c.stdin.take().unwrap();
    {
        use std::io::Write;
        stdin.write_all(b"one\n").unwrap();
        stdin.flush().unwrap();
    }
    wait_for("the record", Duration::from_secs(20), || {
        env.chute()
            .args(["consume", "-t", "idle"])
            .output()
            .is_ok_and(|o| o.stdout == b"one\n")
    });
    let before = cpu_seconds(c.id());
    let wall = std::time::Instant::now();
    // Not synchronisation: the idle period is what is being measured.
    std::thread::sleep(Duration::from_millis(2500));
    let used = cpu_seconds(c.id()) - before;
    let elapsed = wall.elapsed().as_secs_f64();
    drop(stdin);
    assert!(c.wait().unwrap().success());
    assert!(
        used < 0.25 * elapsed,
        "idle producer used {used:.2}s of CPU in {elapsed:.2}s"
    );
    assert_eq!(env.consume("idle", &[]), b"one\n");
}

#[test]
fn segments_roll_by_age() {
    let env = Env::new();
    env.create_topic("aged", 1, &["--config", "segment.ms=1ms"]);
    for v in ["a\n", "b\n", "c\n"] {
        // Each producer is a new process: well over 1 ms after the segment was created.
        env.produce("aged", v, &[]);
    }
    let segs = std::fs::read_dir(env.partition_dir("aged", 0))
        .unwrap()
        .filter(|e| {
            e.as_ref()
                .unwrap()
                .file_name()
                .to_string_lossy()
                .ends_with(".log")
        })
        .count();
    assert_eq!(
        segs, 3,
        "one segment per append once each is older than segment.ms"
    );
    assert_eq!(env.consume("aged", &[]), b"a\nb\nc\n");
    assert_eq!(env.consume("aged", &["--from", "2"]), b"c\n");
    env.chute().args(["verify"]).assert().success();
}

/// `%T{strftime}` writes the timestamp in the local zone (`TZ`); `%T` stays the number; a bad
/// pattern or an unclosed brace is a usage error before anything is read. The relative words
/// of the time parser work on real flags.
#[test]
fn a_template_formats_timestamps_in_the_local_zone() {
    let env = Env::new();
    env.produce(
        "t",
        "{\"value\":\"a\",\"timestamp\":1764237600000}\n",
        &["--format", "json"],
    );
    for (tz, want) in [
        ("UTC", "0 1764237600000 2025-11-27 10:00:00 UTC a\n"),
        ("Asia/Tokyo", "0 1764237600000 2025-11-27 19:00:00 JST a\n"),
        (
            "America/New_York",
            "0 1764237600000 2025-11-27 05:00:00 EST a\n",
        ),
    ] {
        let out = env
            .chute()
            .env("TZ", tz)
            .args(["consume", "-t", "t", "--format", "%o %T %T{%F %T %Z} %s\\n"])
            .output()
            .unwrap();
        assert_eq!(String::from_utf8_lossy(&out.stdout), want, "TZ={tz}");
    }
    for bad in ["%T{%F", "%T{%!}"] {
        let out = env
            .chute()
            .args(["consume", "-t", "t", "--format", bad])
            .output()
            .unwrap();
        assert_eq!(out.status.code(), Some(2), "{bad}");
        assert!(out.stdout.is_empty(), "{bad}");
    }

    env.produce("t", "now\n", &[]);
    let since = |when: &str| String::from_utf8(env.consume("t", &["--since", when])).unwrap();
    assert_eq!(since("yesterday"), "now\n");
    assert_eq!(since("today"), "now\n");
    assert_eq!(since("tomorrow"), "");
    assert_eq!(since("2025-11-27"), "a\nnow\n");
}

/// `--merge` reads all partitions in timestamp order (ties by partition, then offset), `--tail
/// N` the last N by time, then follows; `--from -N` stays per partition. Refills of a few
/// hundred records per partition (batches cut in the middle) lose and repeat nothing.
#[test]
fn merge_and_tail_read_in_time_order_across_partitions() {
    let env = Env::new();
    env.create_topic("t", 3, &[]);
    // p0: 10, 40, 70; p1: 20, 50, 70 (a tie with p0), 80; p2: 30, 60, 90.
    let recs = [
        (0, 10, "a"),
        (0, 40, "d"),
        (0, 70, "g"),
        (1, 20, "b"),
        (1, 50, "e"),
        (1, 70, "h"),
        (1, 80, "i"),
        (2, 30, "c"),
        (2, 60, "f"),
        (2, 90, "j"),
    ];
    let input: String = recs
        .iter()
        .map(|(p, ts, v)| format!("{{\"partition\":{p},\"timestamp\":{ts},\"value\":\"{v}\"}}\n"))
        .collect();
    env.produce("t", input, &["--format", "json"]);
    let read = |args: &[&str]| String::from_utf8(env.consume("t", args)).unwrap();
    assert_eq!(read(&["--merge"]), "a\nb\nc\nd\ne\nf\ng\nh\ni\nj\n");
    assert_eq!(read(&["--tail", "4"]), "g\nh\ni\nj\n");
    assert_eq!(read(&["--tail", "0"]), "");
    assert_eq!(read(&["--tail", "100"]), read(&["--merge"]));
    assert_eq!(read(&["--merge", "-n", "3"]), "a\nb\nc\n");
    assert_eq!(
        read(&["--from", "-1"]),
        "g\ni\nj\n",
        "per partition, kcat's -o -1"
    );

    // --tail N --follow: the last N, then what arrives.
    let mut c = env
        .spawn(&["consume", "-t", "t", "--tail", "2", "--follow"])
        .stdout(Stdio::piped())
        .spawn()
        .unwrap();
    let mut out = c.stdout.take().unwrap();
    let mut got = [0u8; 4];
    std::io::Read::read_exact(&mut out, &mut got).unwrap();
    assert_eq!(&got, b"i\nj\n");
    env.produce(
        "t",
        "{\"partition\":0,\"value\":\"k\"}\n",
        &["--format", "json"],
    );
    let mut got = [0u8; 2];
    std::io::Read::read_exact(&mut out, &mut got).unwrap();
    assert_eq!(&got, b"k\n");
    signal(c.id(), "TERM");
    assert_eq!(c.wait().unwrap().code(), Some(0));

    // Many records per partition, in batches the merge takes apart.
    env.create_topic("big", 2, &[]);
    let n = 3000;
    let input: String = (0..n)
        .map(|i| {
            format!(
                "{{\"partition\":{},\"timestamp\":{},\"value\":\"{i}\"}}\n",
                i % 2,
                1000 + i
            )
        })
        .collect();
    env.produce("big", input, &["--format", "json"]);
    let out = String::from_utf8(env.consume("big", &["--merge"])).unwrap();
    let want: String = (0..n).map(|i| format!("{i}\n")).collect();
    assert_eq!(out, want);
    let out = String::from_utf8(env.consume("big", &["--tail", "5"])).unwrap();
    let want: String = (n - 5..n).map(|i| format!("{i}\n")).collect();
    assert_eq!(out, want);
    let out = env
        .chute()
        .args(["consume", "-t", "big", "--merge", "--follow"])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2), "--merge is a snapshot read");
}
