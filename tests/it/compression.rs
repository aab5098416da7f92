//! Compressed batches end to end, with real processes: every codec round-trips byte for byte,
//! codecs mix in one partition, followers hold the same compressed bytes, compaction keeps the
//! latest value per key, and damaged or crafted batches are refused (exit 74) without memory
//! growing with what they claim.

use crate::replication::{cluster, replica_dir, segments};
use crate::util::*;
use chute::log::codec::Codec;
use std::process::Stdio;

const CODECS: [&str; 5] = ["none", "gzip", "snappy", "lz4", "zstd"];

/// JSON input with what a round trip must keep: binary keys and values (base64), headers (one
/// null-valued, one binary), null keys, tombstones, explicit timestamps.
fn json_input(n: u64) -> String {
    let mut s = String::new();
    for i in 0..n {
        let line = match i % 5 {
            0 => format!(
                r#"{{"key":"user-{i}","value":"GET /api/v1/items/{} HTTP/1.1 200 Mozilla/5.0","timestamp":{}}}"#,
                i % 17,
                1_700_000_000_000 + i
            ),
            1 => format!(
                r#"{{"key":null,"value":"AP8Q/w==","value_encoding":"base64","timestamp":{}}}"#,
                1_700_000_000_000 + i
            ),
            2 => format!(
                r#"{{"key":"user-{i}","value":null,"timestamp":{}}}"#,
                1_700_000_000_000 + i
            ),
            3 => format!(
                r#"{{"key":"/w==","key_encoding":"base64","value":"{{\"n\":{i}}}","headers":[{{"key":"trace","value":"t{i}"}},{{"key":"nil","value":null}},{{"key":"bin","value":"AAE=","value_encoding":"base64"}}],"timestamp":{}}}"#,
                1_700_000_000_000 + i
            ),
            _ => format!(
                r#"{{"key":"","value":"","timestamp":{}}}"#,
                1_700_000_000_000 + i
            ),
        };
        s.push_str(&line);
        s.push('\n');
    }
    s
}

/// `consume --format json` of `topic`, with the topic's name taken out (so topics compare).
fn json_of(env: &Env, topic: &str) -> String {
    String::from_utf8(env.consume(topic, &["--format", "json"]))
        .unwrap()
        .replace(&format!(r#""topic":"{topic}""#), r#""topic":"T""#)
}

fn dump(env: &Env, dir: &std::path::Path) -> String {
    let o = env
        .chute()
        .args(["dump", dir.to_str().unwrap()])
        .output()
        .unwrap();
    String::from_utf8(o.stdout).unwrap()
}

#[test]
fn every_codec_round_trips_lines_and_json_byte_for_byte() {
    let env = Env::new();
    let lines: String = (0..30_000)
        .map(|i| {
            format!(
                "10.0.{}.{} - - \"GET /item/{} HTTP/1.1\" 200\n",
                i % 7,
                i % 250,
                i % 99
            )
        })
        .collect();
    let json = json_input(2_000);
    env.produce("plain-json", json.clone(), &["-f", "json"]);
    let want_json = json_of(&env, "plain-json");
    for c in CODECS {
        let t = format!("lines-{c}");
        env.produce(&t, lines.clone(), &["-z", c]);
        assert_eq!(
            String::from_utf8(env.consume(&t, &[])).unwrap(),
            lines,
            "{c}: lines"
        );
        let t = format!("json-{c}");
        env.produce(&t, json.clone(), &["-f", "json", "--compression", c]);
        assert_eq!(json_of(&env, &t), want_json, "{c}: json");
        // A group and --exec see the same records.
        let o = env
            .chute()
            .args([
                "consume", "-t", &t, "-g", "g", "--exec", "cat", "-f", "json",
            ])
            .output()
            .unwrap();
        assert!(
            o.status.success(),
            "{c}: {}",
            String::from_utf8_lossy(&o.stderr)
        );
        assert_eq!(
            String::from_utf8(o.stdout)
                .unwrap()
                .replace(&format!(r#""topic":"{t}""#), r#""topic":"T""#),
            want_json,
            "{c}: --exec"
        );
        // The batches say their codec; a compressed one is smaller than it inflates to.
        let d = dump(&env, &env.partition_dir(&t, 0));
        assert!(d.contains(&format!("compresscodec: {c}")), "{c}: {d}");
        if c != "none" {
            let batch = d.lines().find(|l| l.starts_with("baseOffset:")).unwrap();
            let stored: u64 = field(batch, " size: ");
            let inflated: u64 = field(batch, "uncompressedSize: ");
            assert!(stored < inflated, "{c}: {d}");
            // chute's records are canonical: always stored split (framing apart from payloads).
            assert!(batch.contains(" layout: split "), "{c}: {d}");
        }
        env.chute().args(["verify", "-t", &t]).assert().success();
    }
    // --since finds records inside compressed batches too.
    let o = env.consume(
        "json-zstd",
        &["--since", "1700000001990", "--format", "%o\\n"],
    );
    assert_eq!(
        String::from_utf8(o).unwrap(),
        "1990\n1991\n1992\n1993\n1994\n1995\n1996\n1997\n1998\n1999\n"
    );
}

/// The first number after `name` in `text`.
fn field(text: &str, name: &str) -> u64 {
    let at = text
        .find(name)
        .unwrap_or_else(|| panic!("{name} in {text}"))
        + name.len();
    text[at..]
        .split(|c: char| !c.is_ascii_digit())
        .next()
        .unwrap()
        .parse()
        .unwrap()
}

#[test]
fn codecs_mix_in_one_partition_and_a_topic_codec_overrides_the_producer() {
    let env = Env::new();
    env.create_topic("mix", 1, &[]);
    let mut want = String::new();
    for c in CODECS {
        let chunk: String = (0..1000).map(|i| format!("{c} {i}\n")).collect();
        env.produce("mix", chunk.clone(), &["-z", c]);
        want += &chunk;
    }
    assert_eq!(String::from_utf8(env.consume("mix", &[])).unwrap(), want);
    let d = dump(&env, &env.partition_dir("mix", 0));
    for c in CODECS {
        assert!(d.contains(&format!("compresscodec: {c}")), "{c}: {d}");
    }
    // compression.type=zstd: every batch is zstd, whatever the producer asked for.
    env.create_topic("z", 1, &["-c", "compression.type=zstd"]);
    env.produce("z", "a\nb\n", &["-z", "lz4"]);
    env.produce("z", "c\n", &[]);
    let d = dump(&env, &env.partition_dir("z", 0));
    assert_eq!(d.matches("compresscodec: zstd").count(), 2, "{d}");
    assert_eq!(
        String::from_utf8(env.consume("z", &[])).unwrap(),
        "a\nb\nc\n"
    );
    // Bad names and levels are usage errors that name them.
    for (args, want) in [
        (&["-z", "brotli"][..], "brotli"),
        (
            &["-z", "zstd", "--compression-level", "30"][..],
            "zstd takes 1 to 19",
        ),
        (
            &["-z", "lz4", "--compression-level", "3"][..],
            "lz4 has no levels",
        ),
    ] {
        let mut a = vec!["produce", "-t", "z"];
        a.extend_from_slice(args);
        let o = env.chute().args(&a).write_stdin("x\n").output().unwrap();
        assert_eq!(o.status.code(), Some(2), "{args:?}");
        assert!(
            String::from_utf8_lossy(&o.stderr).contains(want),
            "{args:?}"
        );
    }
    let o = env
        .chute()
        .args(["topic", "alter", "z", "-c", "compression.type=brotli"])
        .output()
        .unwrap();
    assert_eq!(o.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&o.stderr).contains("compression.type takes producer"));
}

#[test]
fn followers_hold_the_leaders_compressed_batches_byte_for_byte() {
    let env = cluster(3);
    env.create_topic("r", 2, &["-r", "3", "-c", "min.insync.replicas=2"]);
    let input: String = (0..20_000)
        .map(|i| format!("k{},{i} some repeated text\n", i % 50))
        .collect();
    env.produce("r", input, &["-K", ",", "-z", "zstd", "--acks", "all"]);
    env.chute().args(["replicate"]).assert().success();
    let d = env.json(&["topic", "describe", "r", "--json"]);
    for p in d["partitions"].as_array().unwrap() {
        let n = p["partition"].as_u64().unwrap();
        let leader = p["leader"].as_u64().unwrap();
        let lead = segments(&replica_dir(&env, leader, "r", n));
        assert!(!lead.is_empty());
        for b in 0..3 {
            assert_eq!(
                segments(&replica_dir(&env, b, "r", n)),
                lead,
                "partition {n} on {b}"
            );
        }
        let dumped = dump(&env, &replica_dir(&env, leader, "r", n));
        assert!(dumped.contains("compresscodec: zstd"), "{dumped}");
    }
    env.chute().args(["verify"]).assert().success();
}

#[test]
fn compaction_of_a_compressed_topic_keeps_exactly_the_latest_value_per_key() {
    let env = Env::new();
    env.create_topic(
        "c",
        1,
        &[
            "-c",
            "cleanup.policy=compact",
            "-c",
            "segment.bytes=4KiB",
            "-c",
            "compression.type=lz4",
        ],
    );
    let mut latest = std::collections::BTreeMap::new();
    let mut written: Vec<(String, u64, String)> = Vec::new();
    let mut offset = 0u64;
    for round in 0..5 {
        let mut chunk = String::new();
        for k in 0..200 {
            // The last round writes every other key only: the batches before it keep half of
            // their records, so the cleaner rewrites them (inflate, recompress) rather than
            // dropping or keeping them whole.
            if round == 4 && k % 2 == 1 {
                continue;
            }
            chunk.push_str(&format!("key{k},round {round} value for key {k}\n"));
            let v = format!("round {round} value for key {k}");
            written.push((format!("key{k}"), offset, v.clone()));
            latest.insert(format!("key{k}"), (offset, v));
            offset += 1;
        }
        // Small batches, so segments roll and compaction has sealed ones to clean.
        env.produce("c", chunk, &["-K", ",", "--batch-size", "2KiB"]);
    }
    // One more segment, so the last round's is sealed too.
    env.produce("c", "tail,end\n", &["-K", ","]);
    latest.insert("tail".into(), (offset, "end".into()));
    written.push(("tail".into(), offset, "end".into()));
    let before = log_bytes(&env.partition_dir("c", 0));
    env.controller_once();
    let after = log_bytes(&env.partition_dir("c", 0));
    assert!(
        after < before,
        "compaction removed nothing: {before} -> {after}"
    );
    // The segment being written is not cleaned (nor does it count: Kafka's cleanable range
    // ends where it starts); every one before it holds only the latest value of each key in
    // that range, at its original offset.
    let active = std::fs::read_dir(env.partition_dir("c", 0))
        .unwrap()
        .filter_map(|e| {
            let n = e.unwrap().file_name().to_string_lossy().into_owned();
            n.strip_suffix(".log")?.parse::<u64>().ok()
        })
        .max()
        .unwrap();
    assert!(active > 0);
    let mut below: std::collections::BTreeMap<String, (u64, String)> = Default::default();
    for (k, o, v) in &written {
        if *o < active {
            below.insert(k.clone(), (*o, v.clone()));
        }
    }
    let out = String::from_utf8(env.consume("c", &["--format", "%o %k %s\\n"])).unwrap();
    let mut got = std::collections::BTreeMap::new();
    let mut cleaned = 0;
    for l in out.lines() {
        let mut it = l.splitn(3, ' ');
        let (o, k, v) = (it.next().unwrap(), it.next().unwrap(), it.next().unwrap());
        let o: u64 = o.parse().unwrap();
        if o < active {
            assert_eq!(
                Some((o, v.to_string())),
                below.get(k).cloned(),
                "{l} (active {active})"
            );
            cleaned += 1;
        }
        got.insert(k.to_string(), (o, v.to_string()));
    }
    assert!(cleaned > 0, "{out}");
    assert_eq!(got, latest);
    let d = dump(&env, &env.partition_dir("c", 0));
    assert!(!d.contains("compresscodec: none"), "{d}");
    env.chute().args(["verify", "-t", "c"]).assert().success();
}

#[test]
fn a_flipped_byte_inside_a_compressed_batch_is_exit_74_naming_the_offset() {
    let env = Env::new();
    env.create_topic("f", 1, &[]);
    env.produce(
        "f",
        (0..100).map(|i| format!("line {i}\n")).collect::<String>(),
        &["-z", "gzip"],
    );
    env.produce(
        "f",
        (100..200)
            .map(|i| format!("line {i}\n"))
            .collect::<String>(),
        &["-z", "gzip"],
    );
    let seg = env.segment("f", 0, 0);
    let mut b = std::fs::read(&seg).unwrap();
    let d = dump(&env, &env.partition_dir("f", 0));
    // Inside the second batch's compressed records (after its 46-byte header).
    let pos = d
        .lines()
        .filter(|l| l.starts_with("baseOffset:"))
        .nth(1)
        .map(|l| field(l, "position: "))
        .unwrap() as usize;
    b[pos + 60] ^= 0x10;
    std::fs::write(&seg, &b).unwrap();
    let o = env.chute().args(["consume", "-t", "f"]).output().unwrap();
    assert_eq!(o.status.code(), Some(74));
    let err = String::from_utf8_lossy(&o.stderr);
    assert!(err.contains("f-0") && err.contains("offset 100"), "{err}");
    // What came before the damage was delivered.
    assert_eq!(String::from_utf8(o.stdout).unwrap().lines().count(), 100);
}

/// Run chute to its end under GNU time: (exit code, stderr, peak resident memory in KiB).
/// Not getrusage of our own child: a child spawned by this (large, multi-test) process
/// inherits its peak at exec; time's own child starts from time's small one.
fn run_measured(env: &Env, args: &[&str]) -> (Option<i32>, String, u64) {
    assert!(
        std::path::Path::new("/usr/bin/time").exists(),
        "GNU time is needed: tests/run.sh installs it from Debian's packages"
    );
    let rss = env.dir.path().join("rss");
    let o = std::process::Command::new("/usr/bin/time")
        .arg("-o")
        .arg(&rss)
        .args(["-f", "%M"])
        .arg(bin())
        .arg("--root")
        .arg(env.root())
        .args(args)
        .stdout(Stdio::null())
        .output()
        .unwrap();
    let kib = std::fs::read_to_string(&rss)
        .unwrap()
        .lines()
        .last()
        .unwrap()
        .trim()
        .parse()
        .unwrap();
    (
        o.status.code(),
        String::from_utf8_lossy(&o.stderr).into_owned(),
        kib,
    )
}

#[test]
fn a_batch_crafted_to_inflate_past_the_limit_is_exit_74_with_flat_memory() {
    let env = Env::new();
    env.create_topic("bomb", 1, &[]);
    env.produce("bomb", "before\n", &[]);
    // 80 records of 1 MiB of zeros: under 100 KiB stored, 80 MiB inflated.
    let mut b = chute::log::batch::BatchBuilder::new().with_compression(Codec::Zstd, Some(19));
    let zeros = vec![0u8; 1 << 20];
    for _ in 0..80 {
        b.push(None, Some(&zeros), 1_700_000_000_000, &[]);
    }
    let mut sealed = b.seal();
    assert!(sealed.bytes.len() < 100 << 10, "{}", sealed.bytes.len());
    let mut w = chute::log::PartitionWriter::open(
        &env.partition_dir("bomb", 0),
        "bomb-0",
        chute::log::WriterOptions::default(),
    )
    .unwrap();
    w.append(&mut sealed).unwrap();
    w.sync().unwrap();
    drop(w);
    let (code, err, rss) = run_measured(&env, &["consume", "-t", "bomb"]);
    assert_eq!(code, Some(74), "{err}");
    assert!(err.contains("bomb-0") && err.contains("offset 1"), "{err}");
    assert!(err.contains("inflate past 64 MiB"), "{err}");
    assert!(rss < 32 << 10, "peak RSS {rss} KiB");
    let (code, err, _) = run_measured(&env, &["verify", "-t", "bomb"]);
    assert_eq!(code, Some(74), "{err}");
}

/// Hex of a deterministic pseudo-random stream: text that does not compress.
fn noise(seed: u64, len: usize) -> String {
    let mut x = seed
        .wrapping_mul(6364136223846793005)
        .wrapping_add(1442695040888963407);
    (0..len)
        .map(|_| {
            x = x
                .wrapping_mul(6364136223846793005)
                .wrapping_add(1442695040888963407);
            char::from_digit(((x >> 60) & 0xf) as u32, 16).unwrap()
        })
        .collect()
}

/// As in Kafka, --batch-size and max.message.bytes count the stored (compressed) batch: a
/// compressed batch holds more records than the size, a batch that compressed worse than
/// estimated is split, and a record too large as it is fits when it compresses below the limit.
#[test]
fn batch_limits_count_the_stored_compressed_bytes() {
    let env = Env::new();
    env.create_topic("s", 1, &["-c", "max.message.bytes=8KiB"]);
    let mut input = String::new();
    for i in 0..3000 {
        input += &format!(
            "GET /api/v1/items/{} HTTP/1.1 200 Mozilla/5.0 (X11; Linux)\n",
            i % 13
        );
    }
    // Then text that does not compress: the estimate from the lines above is far too low.
    for i in 0..300 {
        input += &noise(i, 100);
        input.push('\n');
    }
    env.produce("s", input.clone(), &["-z", "zstd", "--batch-size", "8KiB"]);
    assert_eq!(String::from_utf8(env.consume("s", &[])).unwrap(), input);
    let d = dump(&env, &env.partition_dir("s", 0));
    let batches: Vec<&str> = d.lines().filter(|l| l.starts_with("baseOffset:")).collect();
    for b in &batches {
        assert!(field(b, " size: ") <= 8 << 10, "{b}");
    }
    assert!(
        batches
            .iter()
            .any(|b| field(b, "uncompressedSize: ") > 32 << 10),
        "compressed batches hold more than --batch-size of records:\n{d}"
    );
    // One record of 20 KiB: too large as it is (exit 65 naming the line), fine compressed.
    let big = format!("{}\n", "a".repeat(20 << 10));
    let o = env
        .chute()
        .args(["produce", "-t", "s"])
        .write_stdin(big.clone())
        .output()
        .unwrap();
    assert_eq!(o.status.code(), Some(65));
    assert!(String::from_utf8_lossy(&o.stderr).contains("input line 1"));
    env.produce("s", big.clone(), &["-z", "lz4"]);
    let o = env.consume("s", &["--from", "-1"]);
    assert_eq!(String::from_utf8(o).unwrap(), big);
    let o = env
        .chute()
        .args(["produce", "-t", "s", "-z", "lz4"])
        .write_stdin(format!("x\n{}\n", noise(7, 20 << 10)))
        .output()
        .unwrap();
    assert_eq!(o.status.code(), Some(65));
    let e = String::from_utf8_lossy(&o.stderr);
    assert!(
        e.contains("input line 2") && e.contains("even compressed with lz4"),
        "{e}"
    );
}

/// Bytes that do not compress (no newline among them, so one line is one record).
fn random_line(seed: u64, len: usize) -> Vec<u8> {
    let mut x = seed | 1;
    let mut v: Vec<u8> = (0..len)
        .map(|_| {
            x ^= x << 13;
            x ^= x >> 7;
            x ^= x << 17;
            match (x >> 24) as u8 {
                b'\n' => b'.',
                b => b,
            }
        })
        .collect();
    v.push(b'\n');
    v
}

/// A record that fits max.message.bytes as it is but not once a codec frames it stops the
/// input at its own line (exit 65): records before it are written, none after, and nothing is
/// left stuck in the partition's batch.
#[test]
fn a_record_that_grows_past_the_limit_when_compressed_is_refused_at_its_line() {
    let env = Env::new();
    env.create_topic("g", 1, &["-c", "max.message.bytes=8KiB"]);
    let mut input = b"a\n".to_vec();
    input.extend(random_line(3, 8118));
    input.extend(b"c\n");
    let o = env
        .chute()
        .args(["produce", "-t", "g", "-z", "gzip"])
        .write_stdin(input.clone())
        .output()
        .unwrap();
    assert_eq!(o.status.code(), Some(65));
    let e = String::from_utf8_lossy(&o.stderr);
    assert!(
        e.contains("input line 2:") && e.contains("even compressed with gzip"),
        "{e}"
    );
    assert_eq!(String::from_utf8(env.consume("g", &[])).unwrap(), "a\n");
    // Uncompressed, it fits.
    env.produce("g", input, &[]);
    assert_eq!(
        env.consume("g", &["--format", "%S\\n"]).len(),
        "1\n1\n8130\n1\n".len()
    );
    // --on-error truncate cuts only what does not fit even compressed.
    let big = format!("{}\n", "b".repeat(20 << 10));
    env.produce("g", big.clone(), &["-z", "zstd", "--on-error", "truncate"]);
    assert!(env.consume("g", &[]).ends_with(big.as_bytes()));
    // A limit below one batch header admits nothing, and says so (no panic).
    env.create_topic("tiny", 1, &["-c", "max.message.bytes=10"]);
    let o = env
        .chute()
        .args(["produce", "-t", "tiny"])
        .write_stdin("x\n")
        .output()
        .unwrap();
    assert_eq!(o.status.code(), Some(65));
    assert!(String::from_utf8_lossy(&o.stderr).contains("larger than max.message.bytes (10)"));
    // zstd's highest level that readers accept round-trips.
    env.produce(
        "g",
        "z1\nz2\n",
        &["-z", "zstd", "--compression-level", "19"],
    );
    assert!(env.consume("g", &[]).ends_with(b"z1\nz2\n"));
}

/// A compressed batch whose one record claims 60 MiB but holds a few bytes: refused (exit 74)
/// without allocating what the length field claims.
#[test]
fn a_length_field_alone_allocates_nothing() {
    let env = Env::new();
    env.create_topic("claim", 1, &[]);
    // One record: length varint 60 MiB, then a few bytes and the end of the section.
    let mut plain = Vec::new();
    let mut v: u64 = 60 << 20;
    while v >= 0x80 {
        plain.push((v as u8) | 0x80);
        v >>= 7;
    }
    plain.push(v as u8);
    plain.extend_from_slice(b"\0\0\0\x01\x02ab\0");
    let mut b = chute::log::batch::BatchBuilder::new().with_compression(Codec::Zstd, None);
    b.push(None, Some(b"x"), 1_700_000_000_000, &[]);
    let mut bytes = b.seal().bytes.clone();
    bytes.truncate(chute::log::batch::HEADER_LEN);
    Codec::Zstd.compress(None, &plain, &mut bytes);
    let len = bytes.len() as u32;
    bytes[8..12].copy_from_slice(&len.to_le_bytes());
    let mut sealed = chute::log::batch::SealedBatch::restamp(&mut bytes);
    let mut w = chute::log::PartitionWriter::open(
        &env.partition_dir("claim", 0),
        "claim-0",
        chute::log::WriterOptions::default(),
    )
    .unwrap();
    w.append(&mut sealed).unwrap();
    w.sync().unwrap();
    drop(w);
    let (code, err, rss) = run_measured(&env, &["consume", "-t", "claim"]);
    assert_eq!(code, Some(74), "{err}");
    assert!(err.contains("claim-0"), "{err}");
    assert!(rss < 32 << 10, "peak RSS {rss} KiB");
}
