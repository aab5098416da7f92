use crate::util::*;
use std::io::Write;
use std::os::unix::fs::FileExt;
use std::os::unix::process::CommandExt;
use std::process::Stdio;
use std::time::Duration;

/// Check that the topic reads back as whole records `seq N`, strictly increasing from 0.
fn assert_whole_increasing(got: &[u8]) -> u64 {
    let mut n = 0u64;
    for l in lines(got) {
        let s = std::str::from_utf8(l).expect("only whole records");
        let v: u64 = s.strip_prefix("seq ").expect(s).parse().expect(s);
        assert_eq!(v, n, "records missing or reordered");
        n += 1;
    }
    n
}

#[test]
fn producer_killed_mid_stream_repeatedly_then_appends_continue() {
    let env = Env::new();
    env.create_topic("kill", 1, &["--config", "segment.bytes=64KiB"]);
    let mut next = 0u64;
    for round in 0..8 {
        let mut c = env
            .spawn(&[
                "produce",
                "-t",
                "kill",
                "--linger",
                "0",
                "--batch-size",
                "2KiB",
            ])
            .stdin(Stdio::piped())
            .stderr(Stdio::null())
            .spawn()
            .unwrap();
        let mut stdin = c.stdin.take().unwrap();
        let start = next;
        let writer = std::thread::spawn(move || {
            let mut i = start;
            loop {
                let line = format!("seq {i}\n");
                if stdin.write_all(line.as_bytes()).is_err() {
                    return;
                }
                i += 1;
            }
        });
        // Kill once some records are visible, at a different point each round.
        let target = start + 500 + round * 731;
        wait_for("records to appear", Duration::from_secs(30), || {
            let o = env
                .chute()
                .args(["offsets", "-t", "kill", "--json"])
                .output()
                .unwrap();
            let v: serde_json::Value = serde_json::from_slice(&o.stdout).unwrap();
            v["partitions"][0]["latest"].as_u64().unwrap() >= target
        });
        kill9(&mut c);
        let _ = writer.join();
        // Whatever was committed is whole and in order; continue numbering after it.
        let got = env.consume("kill", &[]);
        next = assert_whole_increasing(&got);
        assert!(next >= target);
    }
    let tail: String = (next..next + 1000).map(|i| format!("seq {i}\n")).collect();
    env.produce("kill", tail, &[]);
    let got = env.consume("kill", &[]);
    assert_eq!(assert_whole_increasing(&got), next + 1000);
    env.chute().args(["verify"]).assert().success();
}

#[test]
fn truncated_plus_garbage_tail_is_invisible_then_repaired() {
    let env = Env::new();
    // --acks 0 never fsyncs: the records are published but not durable, exactly the state a
    // machine crash tears. (Damage to fsynced records is corruption instead: see the next test.)
    let input: String = (0..100).map(|i| format!("seq {i}\n")).collect();
    env.produce("g", input, &["--batch-size", "200", "--acks", "0"]);
    let seg = env.segment("g", 0, 0);
    let len = file_len(&seg);
    // A writer died mid-batch: cut the last batch short and leave garbage behind it.
    let f = std::fs::OpenOptions::new().write(true).open(&seg).unwrap();
    f.set_len(len - 20).unwrap();
    f.write_all_at(&[0xAB; 333], len - 20).unwrap();
    drop(f);
    // Readers see only whole records (the tail still points past the cut, so the last batch is
    // lost: that must read as the end of the log, not as corruption, nor as garbage records).
    let got = env.consume("g", &[]);
    let n = assert_whole_increasing(&got);
    assert!(n > 80 && n < 100, "{n}");
    // verify reports it; --repair cuts it; then appends continue where the log really ends.
    env.chute().args(["verify"]).assert().code(74);
    env.chute().args(["verify", "--repair"]).assert().success();
    env.chute().args(["verify"]).assert().success();
    let more: String = (n..n + 10).map(|i| format!("seq {i}\n")).collect();
    env.produce("g", more, &[]);
    assert_eq!(assert_whole_increasing(&env.consume("g", &[])), n + 10);
}

#[test]
fn garbage_beyond_the_commit_point_is_removed_by_the_next_writer() {
    let env = Env::new();
    env.produce("g2", "seq 0\nseq 1\n", &[]);
    let seg = env.segment("g2", 0, 0);
    let mut f = std::fs::OpenOptions::new().append(true).open(&seg).unwrap();
    f.write_all(&[0x5A; 1000]).unwrap();
    drop(f);
    assert_eq!(env.consume("g2", &[]), b"seq 0\nseq 1\n");
    env.produce("g2", "seq 2\n", &[]);
    assert_eq!(env.consume("g2", &[]), b"seq 0\nseq 1\nseq 2\n");
    env.chute().args(["verify"]).assert().success();
}

#[test]
fn flipped_byte_in_the_middle_is_exit_74_naming_partition_and_offset() {
    let env = Env::new();
    let input: String = (0..1000).map(|i| format!("seq {i}\n")).collect();
    env.produce("flip", input, &["--batch-size", "1KiB"]);
    let seg = env.segment("flip", 0, 0);
    let len = file_len(&seg);
    let f = std::fs::OpenOptions::new()
        .read(true)
        .write(true)
        .open(&seg)
        .unwrap();
    let mut b = [0u8; 1];
    f.read_exact_at(&mut b, len / 2).unwrap();
    f.write_all_at(&[b[0] ^ 0x40], len / 2).unwrap();
    drop(f);
    let out = env
        .chute()
        .args(["consume", "-t", "flip"])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(74));
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains("flip-0") && err.contains("offset"), "{err}");
    assert!(!err.contains("panicked"), "{err}");
    // Records before the damage were delivered, none after it.
    let n = assert_whole_increasing(&out.stdout);
    assert!(n > 0 && n < 1000);
    env.chute().args(["verify"]).assert().code(74);
    // Producing still works (the damage is not in the unsynced tail).
    env.produce("flip", "seq 1000\n", &[]);
}

#[test]
fn lock_wait_has_a_deadline_and_names_the_holder() {
    let env = Env::new();
    env.produce("l", "a\n", &[]);
    // A stopped producer holds the lock: simulate with a process that holds it via flock(1).
    let lock = env.partition_dir("l", 0).join("partition.lock");
    let mut holder = std::process::Command::new("flock")
        .arg(&lock)
        .args([
            "sh",
            "-c",
            "printf '%-15s\\n' $$ > \"$0\"; echo locked; sleep 60",
            lock.to_str().unwrap(),
        ])
        .stdout(Stdio::piped())
        .process_group(0)
        .spawn()
        .unwrap();
    let mut line = String::new();
    std::io::BufRead::read_line(
        &mut std::io::BufReader::new(holder.stdout.as_mut().unwrap()),
        &mut line,
    )
    .unwrap();
    assert_eq!(line.trim(), "locked");
    let out = env
        .chute()
        .args(["produce", "-t", "l", "--timeout", "300ms"])
        .write_stdin("b\n")
        .output()
        .unwrap();
    kill9_group(&mut holder);
    assert_eq!(
        out.status.code(),
        Some(75),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains("l-0") && err.contains("pid"), "{err}");
    // Readers never lock: consuming worked all along, and the failed batch is not visible.
    assert_eq!(env.consume("l", &[]), b"a\n");
}
