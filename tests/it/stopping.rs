//! Stopping chute never loses or duplicates: signals, closed pipes, readers that take only
//! part of what was written. Real processes, real signals.

use crate::util::*;
use std::io::{Read, Write};
use std::os::fd::AsRawFd;
use std::process::Stdio;
use std::time::Duration;

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

/// Topic `o` holding `input`, and `consume -t o -g GROUP --exec CMD` started in the test's
/// directory; returns the member once its handler wrote its pid (to `handler.pid`), and that pid.
fn start_handler(env: &Env, input: &str, group: &str, cmd: &str) -> (std::process::Child, String) {
    env.create_topic("o", 1, &[]);
    env.produce("o", input.to_string(), &[]);
    let dir = env.dir.path();
    let c = env
        .spawn(&["consume", "-t", "o", "-g", group, "--exec", cmd])
        .current_dir(dir)
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    wait_for("the handler", Duration::from_secs(20), || {
        dir.join("handler.pid").exists()
    });
    let pid = std::fs::read_to_string(dir.join("handler.pid")).unwrap();
    (c, pid)
}

/// Wait for a member that must stop with exit 75; its stderr.
fn exits_75(c: std::process::Child) -> String {
    let out = c.wait_with_output().unwrap();
    let err = String::from_utf8_lossy(&out.stderr).into_owned();
    assert_eq!(out.status.code(), Some(75), "{err}");
    err
}

fn alive(pid: &str) -> bool {
    std::process::Command::new("kill")
        .args(["-0", pid.trim()])
        .stderr(Stdio::null())
        .status()
        .unwrap()
        .success()
}

/// `--exec` handler that records its pid, then waits for `go` (bounded), trapping TERM so it
/// can finish its batch, then bills it.
const CAREFUL: &str = "echo $$ > handler.pid; trap 'echo term >> signals' TERM; i=0; while [ ! -e go ] && [ $i -lt 3000 ]; do sleep 0.01; i=$((i+1)); done; cat >> billed";

#[test]
fn a_signal_during_exec_reaches_the_handler_which_finishes_and_is_committed_once() {
    let env = Env::new();
    env.create_topic("o", 1, &[]);
    env.produce(
        "o",
        (0..10).map(|i| format!("order{i}\n")).collect::<String>(),
        &[],
    );
    let dir = env.dir.path();
    let c = env
        .spawn(&["consume", "-t", "o", "-g", "bill", "--exec", CAREFUL])
        .current_dir(dir)
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    wait_for("the handler", Duration::from_secs(20), || {
        dir.join("handler.pid").exists()
    });
    signal(c.id(), "TERM");
    wait_for(
        "the signal to reach the handler",
        Duration::from_secs(20),
        || std::fs::read_to_string(dir.join("signals")).is_ok_and(|s| s.contains("term")),
    );
    std::fs::write(dir.join("go"), "").unwrap();
    let out = c.wait_with_output().unwrap();
    assert_eq!(
        out.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert_eq!(committed(&env, "bill"), 10);
    // The next run bills nothing again.
    let out = env
        .chute()
        .current_dir(dir)
        .args([
            "consume",
            "-t",
            "o",
            "-g",
            "bill",
            "--exec",
            "cat >> billed",
        ])
        .output()
        .unwrap();
    assert!(out.status.success());
    let billed = std::fs::read_to_string(dir.join("billed")).unwrap();
    assert_eq!(billed.lines().count(), 10, "{billed}");
}

#[test]
fn a_handler_killed_by_the_forwarded_signal_is_not_committed_and_leaves_no_orphan() {
    let env = Env::new();
    let dir = env.dir.path();
    let cmd = "echo $$ > handler.pid; i=0; while [ $i -lt 3000 ]; do sleep 0.01; i=$((i+1)); done; cat >> billed";
    let (c, pid) = start_handler(&env, "order\n", "bill", cmd);
    signal(c.id(), "TERM");
    let err = exits_75(c);
    assert!(err.contains("o-0 offsets 0 to 0 (1 record)"), "{err}");
    assert!(!alive(&pid), "the handler outlived chute");
    assert!(!dir.join("billed").exists());
    assert_eq!(committed(&env, "bill"), 0);
}

#[test]
fn a_hung_handler_is_killed_after_exec_timeout_and_nothing_is_committed() {
    let env = Env::new();
    env.create_topic("o", 1, &[]);
    env.produce("o", "a\nb\n", &[]);
    let dir = env.dir.path();
    let cmd = "echo $$ > handler.pid; i=0; while [ $i -lt 6000 ]; do sleep 0.01; i=$((i+1)); done";
    let out = env
        .chute()
        .current_dir(dir)
        .args([
            "consume",
            "-t",
            "o",
            "-g",
            "g",
            "--exec-timeout",
            "300ms",
            "--exec",
            cmd,
        ])
        .output()
        .unwrap();
    let err = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(75), "{err}");
    assert!(err.contains("--exec-timeout 300ms"), "{err}");
    assert!(err.contains("o-0 offsets 0 to 1 (2 records)"), "{err}");
    let pid = std::fs::read_to_string(dir.join("handler.pid")).unwrap();
    assert!(!alive(&pid), "the hung handler is still running");
    assert_eq!(committed(&env, "g"), 0);
}

#[test]
fn an_exec_batch_never_spans_two_partitions_and_knows_its_range() {
    let env = Env::new();
    env.create_topic("k", 4, &[]);
    let input: String = (0..400).map(|i| format!("key{i},{i}\n")).collect();
    env.produce("k", input, &["-K", ","]);
    let dir = env.dir.path();
    let cmd = "echo \"batch $CHUTE_PARTITION $CHUTE_FIRST_OFFSET $CHUTE_LAST_OFFSET $CHUTE_RECORD_COUNT\" >> log; cat >> log";
    env.chute()
        .current_dir(dir)
        .args(["consume", "-t", "k", "-g", "g", "--exec-batch", "1000"])
        .args(["--format", "%p %o\\n", "--exec", cmd])
        .assert()
        .success();
    let log = std::fs::read_to_string(dir.join("log")).unwrap();
    let mut batches = 0;
    let mut records = 0;
    let mut current: Option<(u32, u64, u64, usize)> = None;
    let mut seen = 0;
    for l in log.lines() {
        if let Some(rest) = l.strip_prefix("batch ") {
            if let Some((_, _, _, n)) = current {
                assert_eq!(seen, n);
            }
            let f: Vec<u64> = rest.split(' ').map(|x| x.parse().unwrap()).collect();
            current = Some((f[0] as u32, f[1], f[2], f[3] as usize));
            seen = 0;
            batches += 1;
            continue;
        }
        let (p, o, first, last) = {
            let mut it = l.split(' ');
            let p: u32 = it.next().unwrap().parse().unwrap();
            let o: u64 = it.next().unwrap().parse().unwrap();
            let c = current.unwrap();
            (p, o, c.1, c.2)
        };
        assert_eq!(
            p,
            current.unwrap().0,
            "a batch spans two partitions:\n{log}"
        );
        assert!(first <= o && o <= last);
        seen += 1;
        records += 1;
    }
    assert_eq!(records, 400);
    assert!(batches >= 4);
}

#[test]
fn daemons_stop_at_a_safe_point_on_a_signal_and_say_so() {
    let env = Env::new();
    env.brokers(2);
    env.create_topic("t", 1, &["--replication-factor", "2"]);
    let mut ctl = env
        .spawn(&["controller"])
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    wait_for(
        "the controller to be active",
        Duration::from_secs(20),
        || !env.json(&["cluster", "status", "--json"])["controller"].is_null(),
    );
    let mut rep = env
        .spawn(&["replicate", "--follow"])
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    env.produce("t", "a\n", &[]);
    signal(ctl.id(), "TERM");
    signal(rep.id(), "INT");
    let c = ctl.wait().unwrap();
    let r = rep.wait().unwrap();
    assert_eq!(c.code(), Some(0));
    assert_eq!(r.code(), Some(0));
    // A controller that stops hands over at once: its lease is gone.
    assert!(env.json(&["cluster", "status", "--json"])["controller"].is_null());
    env.chute().args(["verify"]).assert().success();
}

#[test]
fn a_log_shipper_skips_or_truncates_bad_records_and_keeps_going() {
    let env = Env::new();
    env.create_topic("logs", 1, &["--config", "max.message.bytes=200"]);
    let big = "x".repeat(500);
    let input = format!("k1\ta\nno-separator\nk2\t{big}\nk3\tc\n");
    // Default: stop at the bad line, exit 65, records before it kept.
    let out = env
        .chute()
        .args(["produce", "-t", "logs", "-K", "\\t"])
        .write_stdin(input.clone())
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(65));
    assert!(String::from_utf8_lossy(&out.stderr).contains("input line 2"));
    assert_eq!(env.consume("logs", &[]), b"a\n");

    let out = env
        .chute()
        .args(["produce", "-t", "logs", "-K", "\\t", "--on-error", "skip"])
        .write_stdin(input.clone())
        .output()
        .unwrap();
    let err = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(0), "{err}");
    assert!(err.contains("skipped: input line 2"), "{err}");
    assert!(err.contains("skipped: input line 3"), "{err}");
    assert!(err.contains("2 record(s) skipped, 0 truncated"), "{err}");
    assert_eq!(env.consume("logs", &[]), b"a\na\nc\n");

    let out = env
        .chute()
        .args([
            "produce",
            "-t",
            "logs",
            "-K",
            "\\t",
            "--on-error",
            "truncate",
        ])
        .write_stdin(input)
        .output()
        .unwrap();
    let err = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(0), "{err}");
    assert!(err.contains("1 record(s) skipped, 1 truncated"), "{err}");
    let all = String::from_utf8(env.consume("logs", &["--format", "%k %s\\n"])).unwrap();
    let last3: Vec<&str> = all.lines().rev().take(3).collect();
    assert_eq!(last3[0], "k3 c");
    assert!(
        last3[1].starts_with("k2 xxx") && last3[1].len() < 200,
        "{}",
        last3[1]
    );
    assert_eq!(last3[2], "k1 a");
}

#[test]
fn a_poison_record_is_bisected_out_and_sent_to_the_dead_letter_topic() {
    let env = Env::new();
    env.create_topic("o", 1, &[]);
    env.produce(
        "o",
        (0..100)
            .map(|i| format!("k{i},order{i}\n"))
            .collect::<String>(),
        &["-K", ","],
    );
    let dir = env.dir.path();
    // The handler bills a batch only if it holds no poison (order37 and order80).
    let cmd = "cat > b; if grep -qx -e order37 -e order80 b; then exit 3; fi; cat b >> billed";
    let out = env
        .chute()
        .current_dir(dir)
        .args(["consume", "-t", "o", "-g", "bill", "--exec-batch", "25"])
        .args(["--on-failure", "dead-letter=o.dlq", "--exec", cmd])
        .output()
        .unwrap();
    let err = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(0), "{err}");
    assert!(
        err.contains("o-0 offset 37: the handler failed (exit status 3)"),
        "{err}"
    );
    // Every other record billed exactly once, in order; the group is past the end.
    let billed = std::fs::read_to_string(dir.join("billed")).unwrap();
    let want: Vec<String> = (0..100)
        .filter(|i| *i != 37 && *i != 80)
        .map(|i| format!("order{i}"))
        .collect();
    assert_eq!(billed.lines().collect::<Vec<_>>(), want);
    assert_eq!(committed(&env, "bill"), 100);
    // The poison records, with their keys and why.
    let dlq = env.consume("o.dlq", &["--format", "%k %s %h\\n"]);
    let dlq = String::from_utf8(dlq).unwrap();
    let lines: Vec<&str> = dlq.lines().collect();
    assert_eq!(lines.len(), 2, "{dlq}");
    assert!(lines[0].starts_with("k37 order37 "), "{dlq}");
    assert!(lines[0].contains("chute.offset=37"), "{dlq}");
    assert!(lines[0].contains("chute.error=exit status 3"), "{dlq}");
    assert!(lines[1].starts_with("k80 order80 "), "{dlq}");

    // skip: the same, without a topic.
    env.produce("o", "k100,order37\nk101,fine\n", &["-K", ","]);
    let out = env
        .chute()
        .current_dir(dir)
        .args([
            "consume",
            "-t",
            "o",
            "-g",
            "bill",
            "--on-failure",
            "skip",
            "--exec",
            cmd,
        ])
        .output()
        .unwrap();
    let err = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(0), "{err}");
    assert!(
        err.contains("o-0 offset 100: the handler failed (exit status 3); record skipped"),
        "{err}"
    );
    assert_eq!(committed(&env, "bill"), 102);
    let billed = std::fs::read_to_string(dir.join("billed")).unwrap();
    assert_eq!(billed.lines().last(), Some("fine"));
}

#[test]
fn a_second_signal_stops_at_once_with_exit_75_and_takes_the_handler_along() {
    let env = Env::new();
    let dir = env.dir.path();
    // A handler that notes TERM and goes on; it would run for a minute.
    let cmd = "trap 'echo term >> signals' TERM; echo $$ > handler.pid; i=0; while [ $i -lt 6000 ]; do sleep 0.01; i=$((i+1)); done";
    let (c, pid) = start_handler(&env, "order\n", "g", cmd);
    signal(c.id(), "TERM");
    // The first one reached the handler (forwarded): now the second.
    wait_for(
        "the first signal to be forwarded",
        Duration::from_secs(20),
        || dir.join("signals").exists(),
    );
    signal(c.id(), "TERM");
    let err = exits_75(c);
    assert!(err.contains("second signal"), "{err}");
    wait_for("the handler to be killed", Duration::from_secs(10), || {
        !alive(&pid)
    });
    assert_eq!(committed(&env, "g"), 0);
}

#[test]
fn a_cron_run_that_finds_its_partition_held_says_who_holds_it() {
    let env = Env::new();
    let dir = env.dir.path();
    let cmd = "echo $$ > handler.pid; i=0; while [ ! -e go ] && [ $i -lt 3000 ]; do sleep 0.01; i=$((i+1)); done; cat > /dev/null";
    let (stuck, _) = start_handler(&env, "a\nb\n", "g", cmd);
    let out = env
        .chute()
        .args(["consume", "-t", "o", "-g", "g"])
        .output()
        .unwrap();
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(out.status.success(), "{err}");
    assert!(out.stdout.is_empty());
    assert!(
        err.contains("partition o-0 is being read by member")
            && err.contains(&format!("pid {}", stuck.id())),
        "{err}"
    );
    std::fs::write(dir.join("go"), "").unwrap();
    assert!(stuck.wait_with_output().unwrap().status.success());
    assert_eq!(committed(&env, "g"), 2);
}
