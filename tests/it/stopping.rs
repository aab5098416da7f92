//! Stopping chute never loses or duplicates: signals, closed pipes, readers that take only
//! part of what was written. Real processes, real signals.

use crate::util::*;
use std::io::{Read, Write};
use std::os::fd::AsRawFd;
use std::process::Stdio;
use std::time::Duration;

fn signal(pid: u32, sig: &str) {
    std::process::Command::new("kill")
        .args([&format!("-{sig}"), &pid.to_string()])
        .status()
        .unwrap();
}

/// Bytes written into a pipe that its reader has not taken yet.
fn unread(fd: &impl AsRawFd) -> i32 {
    let mut n: libc::c_int = 0;
    // SAFETY: FIONREAD writes one c_int through the pointer, which points at `n`.
    let rc = unsafe { libc::ioctl(fd.as_raw_fd(), libc::FIONREAD, &mut n) };
    assert_eq!(rc, 0);
    n
}

fn committed(env: &Env, group: &str) -> u64 {
    let g = env.json(&["offsets", "-g", group, "--json"]);
    g["partitions"][0]["committed"].as_u64().unwrap_or(0)
}

#[test]
fn a_signalled_producer_writes_and_fsyncs_everything_it_read() {
    for sig in ["TERM", "INT", "HUP"] {
        let env = Env::new();
        env.create_topic("logs", 1, &[]);
        let mut p = env
            .spawn(&["produce", "-t", "logs", "--linger", "10s"])
            .stdin(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .unwrap();
        let mut input = p.stdin.take().unwrap();
        for i in 0..1562 {
            writeln!(input, "line{i}").unwrap();
        }
        // The last line has no newline yet: a partial line chute has read is kept.
        write!(input, "partial").unwrap();
        input.flush().unwrap();
        wait_for("chute to read the pipe", Duration::from_secs(20), || {
            unread(&input) == 0
        });
        signal(p.id(), sig);
        let out = p.wait_with_output().unwrap();
        assert_eq!(
            out.status.code(),
            Some(0),
            "{sig}: {}",
            String::from_utf8_lossy(&out.stderr)
        );
        drop(input);
        let got = env.consume("logs", &[]);
        let want: String =
            (0..1562).map(|i| format!("line{i}\n")).collect::<String>() + "partial\n";
        assert_eq!(String::from_utf8(got).unwrap(), want, "{sig}");
    }
}

#[test]
fn a_signalled_follow_member_commits_exactly_what_it_delivered() {
    for sig in ["TERM", "INT"] {
        let env = Env::new();
        env.create_topic("ct", 1, &[]);
        env.produce(
            "ct",
            (0..1000).map(|i| format!("{i}\n")).collect::<String>(),
            &[],
        );
        let out_path = env.dir.path().join("out");
        let mut c = env
            .spawn(&["consume", "-t", "ct", "-g", "g3", "--follow"])
            .stdout(std::fs::File::create(&out_path).unwrap())
            .stderr(Stdio::piped())
            .spawn()
            .unwrap();
        wait_for("1000 records delivered", Duration::from_secs(20), || {
            std::fs::read(&out_path)
                .unwrap()
                .iter()
                .filter(|&&b| b == b'\n')
                .count()
                == 1000
        });
        signal(c.id(), sig);
        let status = c.wait().unwrap();
        assert_eq!(status.code(), Some(0), "{sig}");
        assert_eq!(committed(&env, "g3"), 1000, "{sig}");
        assert!(
            env.consume("ct", &["-g", "g3"]).is_empty(),
            "{sig}: redelivered"
        );
    }
}

#[test]
fn a_signalled_plain_follower_exits_0() {
    let env = Env::new();
    env.create_topic("t", 1, &[]);
    env.produce("t", "a\n", &[]);
    let mut c = env
        .spawn(&["consume", "-t", "t", "--follow"])
        .stdout(Stdio::piped())
        .spawn()
        .unwrap();
    let mut out = c.stdout.take().unwrap();
    let mut first = [0u8; 2];
    out.read_exact(&mut first).unwrap();
    assert_eq!(&first, b"a\n");
    signal(c.id(), "TERM");
    assert_eq!(c.wait().unwrap().code(), Some(0));
}

#[test]
fn a_signalled_cron_member_commits_what_its_reader_took() {
    let env = Env::new();
    env.create_topic("big", 1, &[]);
    let n = 300_000;
    env.produce(
        "big",
        (0..n).map(|i| format!("{i}\n")).collect::<String>(),
        &[],
    );
    let mut c = env
        .spawn(&["consume", "-t", "big", "-g", "g"])
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let mut out = c.stdout.take().unwrap();
    let mut got = Vec::new();
    let mut buf = [0u8; 4096];
    while got.len() < 100_000 {
        let k = out.read(&mut buf).unwrap();
        got.extend_from_slice(&buf[..k]);
    }
    signal(c.id(), "TERM");
    out.read_to_end(&mut got).unwrap();
    let out = c.wait_with_output().unwrap();
    assert_eq!(
        out.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let lines = got.iter().filter(|&&b| b == b'\n').count() as u64;
    assert!(lines < n, "stopped early");
    // Everything we read was committed, nothing more: the next run starts right after.
    assert_eq!(committed(&env, "g"), lines);
    let next = env.consume("big", &["-g", "g", "-n", "1"]);
    assert_eq!(String::from_utf8(next).unwrap(), format!("{lines}\n"));
}

#[test]
fn through_a_pipe_a_group_commits_only_what_the_reader_took() {
    let env = Env::new();
    env.create_topic("big", 1, &[]);
    env.produce(
        "big",
        (0..100_000).map(|i| format!("{i}\n")).collect::<String>(),
        &[],
    );
    let mut c = env
        .spawn(&["consume", "-t", "big", "-g", "g"])
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    // Like `head -2`, but byte by byte: exactly two lines are taken from the pipe.
    let mut out = c.stdout.take().unwrap();
    let mut newlines = 0;
    let mut b = [0u8; 1];
    while newlines < 2 {
        out.read_exact(&mut b).unwrap();
        newlines += usize::from(b[0] == b'\n');
    }
    drop(out);
    let out = c.wait_with_output().unwrap();
    assert_eq!(
        out.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert_eq!(committed(&env, "g"), 2);
}

#[test]
fn an_idle_follower_notices_its_reader_is_gone() {
    let env = Env::new();
    env.create_topic("quiet", 1, &[]);
    env.produce("quiet", "x\n", &[]);
    for extra in [&[][..], &["-g", "g"][..]] {
        let mut args = vec!["consume", "-t", "quiet", "--follow"];
        args.extend_from_slice(extra);
        let mut c = env.spawn(&args).stdout(Stdio::piped()).spawn().unwrap();
        let mut out = c.stdout.take().unwrap();
        let mut first = [0u8; 2];
        out.read_exact(&mut first).unwrap();
        drop(out);
        // Nothing new arrives; the reader's exit alone must end it.
        wait_for("the follower to exit", Duration::from_secs(10), || {
            c.try_wait().unwrap().is_some()
        });
        assert_eq!(c.wait().unwrap().code(), Some(0), "{extra:?}");
    }
}
