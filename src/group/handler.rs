//! The `--exec` handler: one process per batch, records on its stdin, and where a record it
//! cannot take goes (`--on-failure dead-letter=TOPIC`).

use crate::error::{Error, Result};
use std::io::Write;
use std::process::{Command, Stdio};
use std::time::Duration;

/// A record kept for the dead-letter topic until its batch is known to have succeeded.
pub(super) struct OwnedRecord {
    pub(super) key: Option<Vec<u8>>,
    pub(super) value: Option<Vec<u8>>,
    pub(super) timestamp: i64,
    pub(super) headers: Vec<crate::record::Header>,
}

/// Opens a producer for a dead-letter topic (created if missing). The backend decides how:
/// this root's [`crate::produce::Producer`], or another cluster's.
pub type OpenProducer =
    std::rc::Rc<dyn Fn(&str) -> Result<Box<dyn crate::produce::RecordProducer>>>;

/// Produce a record the handler could not take to the dead-letter topic, durably, with
/// headers saying where it came from and why.
pub(super) fn dead_letter(
    open: &OpenProducer,
    dlq: &str,
    topic: &str,
    p: u32,
    offset: u64,
    why: &str,
    rec: &OwnedRecord,
) -> Result<()> {
    use crate::record::{Header, RecordRef};
    let mut producer = open(dlq)?;
    let mut headers = rec.headers.clone();
    for (k, v) in [
        ("chute.topic", topic.to_string()),
        ("chute.partition", p.to_string()),
        ("chute.offset", offset.to_string()),
        ("chute.error", why.to_string()),
    ] {
        headers.push(Header {
            key: k.to_string(),
            value: Some(v.into_bytes()),
        });
    }
    producer.send(RecordRef {
        key: rec.key.as_deref(),
        value: rec.value.as_deref(),
        timestamp: Some(rec.timestamp),
        headers: &headers,
        partition: None,
        line: 0,
    })?;
    producer.close()
}

pub(super) enum Handled {
    Ok,
    Failed(String),
    TimedOut(Duration),
}

/// Start `sh -c cmd` in a process group of its own, feed it `input`, wait (at most `timeout`).
/// Its stdout is ours, or `stdout` (`chute stream`: the batch's output).
/// Signals chute gets are forwarded to the group (src/signals.rs); if chute dies, even by
/// SIGKILL, the kernel kills the handler (PR_SET_PDEATHSIG). The handler's own children are
/// in its group and get forwarded signals, but not the death signal: a handler that starts
/// background work must stop it itself (docs/groups.md).
pub(super) fn run_handler(
    cmd: &str,
    env: &[(String, String)],
    batch_env: &[(&str, String)],
    input: &[u8],
    timeout: Option<Duration>,
    stdout: Option<std::fs::File>,
) -> Result<Handled> {
    use std::os::unix::process::{CommandExt, ExitStatusExt};
    let parent = std::process::id() as i32;
    let mut c = Command::new("sh");
    c.arg("-c")
        .arg(cmd)
        .envs(env.iter().map(|(k, v)| (k, v)))
        .envs(batch_env.iter().map(|(k, v)| (k, v)))
        .stdin(Stdio::piped())
        .process_group(0);
    if let Some(f) = stdout {
        c.stdout(Stdio::from(f));
    }
    // SAFETY: runs in the child between fork and exec, where only async-signal-safe calls are
    // allowed: prctl(2), getppid(2) and _exit(2) are; nothing here allocates or takes a lock.
    // The death signal is tied to the thread that forks: the main thread, which lives as long
    // as chute does.
    unsafe {
        c.pre_exec(move || {
            if libc::prctl(libc::PR_SET_PDEATHSIG, libc::SIGKILL as libc::c_ulong) != 0 {
                return Err(std::io::Error::last_os_error());
            }
            // chute died between fork and prctl: do not run the handler at all.
            if libc::getppid() != parent {
                libc::_exit(1);
            }
            Ok(())
        });
    }
    let mut child = c
        .spawn()
        .map_err(|e| Error::Other(format!("--exec {cmd:?}: cannot start sh: {e}")))?;
    let pgid = child.id() as i32;
    crate::signals::set_child_group(pgid);
    let stdin = child.stdin.take().expect("piped stdin");
    let (done_tx, done_rx) = std::sync::mpsc::channel();
    let status = std::thread::scope(|s| {
        // Fed from a thread: a handler that does not read must not block us past the timeout.
        s.spawn(move || {
            let mut w = stdin;
            // A handler that exits without reading everything: its exit status decides.
            let _ = w.write_all(input);
        });
        let waiter = s.spawn(move || {
            let r = child.wait();
            let _ = done_tx.send(());
            r
        });
        let timed_out = match timeout {
            Some(t) => done_rx.recv_timeout(t).is_err(),
            None => {
                let _ = done_rx.recv();
                false
            }
        };
        if timed_out {
            // SAFETY: killpg(2) takes integers only; the group is the handler's own.
            unsafe {
                libc::killpg(pgid, libc::SIGKILL);
            }
        }
        (waiter.join().expect("waiter thread"), timed_out)
    });
    crate::signals::set_child_group(0);
    let (status, timed_out) = status;
    let status = status.map_err(|e| Error::Other(format!("--exec {cmd:?}: {e}")))?;
    if timed_out {
        return Ok(Handled::TimedOut(timeout.unwrap_or_default()));
    }
    if status.success() {
        return Ok(Handled::Ok);
    }
    Ok(Handled::Failed(match (status.code(), status.signal()) {
        (Some(code), _) => format!("exit status {code}"),
        (None, Some(sig)) => format!("killed by signal {sig}"),
        _ => "failed".to_string(),
    }))
}
