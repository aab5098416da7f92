//! Test harness: a temporary cluster root and helpers to run chute against it.

use assert_cmd::Command;
use std::path::{Path, PathBuf};
use std::process::{Child, Stdio};
use std::time::{Duration, Instant};

pub struct Env {
    pub dir: tempfile::TempDir,
}

pub fn bin() -> PathBuf {
    PathBuf::from(env!("CARGO_BIN_EXE_chute"))
}

impl Env {
    pub fn new() -> Env {
        Env {
            dir: tempfile::tempdir().unwrap(),
        }
    }

    pub fn root(&self) -> PathBuf {
        self.dir.path().join("root")
    }

    /// `chute` with `--root` pointing at this environment.
    pub fn chute(&self) -> Command {
        let mut c = Command::new(bin());
        c.env("CHUTE_ROOT", self.root());
        c.env_remove("XDG_DATA_HOME");
        c.timeout(Duration::from_secs(120));
        c
    }

    /// A std process (for concurrency and kill tests).
    pub fn spawn(&self, args: &[&str]) -> std::process::Command {
        let mut c = std::process::Command::new(bin());
        c.env("CHUTE_ROOT", self.root()).args(args);
        c
    }

    pub fn create_topic(&self, topic: &str, partitions: u32, extra: &[&str]) {
        let p = partitions.to_string();
        let mut args = vec!["topic", "create", topic, "--partitions", &p];
        args.extend_from_slice(extra);
        self.chute().args(&args).assert().success();
    }

    pub fn produce(&self, topic: &str, input: impl Into<Vec<u8>>, extra: &[&str]) {
        let mut args = vec!["produce", "-t", topic, "-q"];
        args.extend_from_slice(extra);
        self.chute()
            .args(&args)
            .write_stdin(input.into())
            .assert()
            .success();
    }

    pub fn consume(&self, topic: &str, extra: &[&str]) -> Vec<u8> {
        let mut args = vec!["consume", "-t", topic];
        args.extend_from_slice(extra);
        let out = self.chute().args(&args).output().unwrap();
        assert!(
            out.status.success(),
            "consume failed: {}",
            String::from_utf8_lossy(&out.stderr)
        );
        out.stdout
    }

    pub fn json(&self, args: &[&str]) -> serde_json::Value {
        let out = self.chute().args(args).output().unwrap();
        assert!(
            out.status.success(),
            "{args:?}: {}",
            String::from_utf8_lossy(&out.stderr)
        );
        serde_json::from_slice(&out.stdout).unwrap()
    }

    /// `cluster init --brokers n` (brokers under the root).
    pub fn brokers(&self, n: u32) {
        let n = n.to_string();
        self.chute()
            .args(["cluster", "init", "--brokers", &n])
            .assert()
            .success();
    }

    /// `broker down ID` / `broker up ID`.
    pub fn mark(&self, what: &str, broker: u64) {
        self.chute()
            .args(["broker", what, &broker.to_string()])
            .assert()
            .success();
    }

    /// One controller pass (`controller --once`), which must succeed.
    pub fn controller_once(&self) {
        self.chute()
            .args(["controller", "--once"])
            .assert()
            .success();
    }

    /// Directory of partition `p` of `topic` on broker 0.
    pub fn partition_dir(&self, topic: &str, p: u32) -> PathBuf {
        self.root().join("brokers/0").join(format!("{topic}-{p}"))
    }

    pub fn segment(&self, topic: &str, p: u32, base: u64) -> PathBuf {
        self.partition_dir(topic, p).join(format!("{base:020}.log"))
    }
}

/// Poll `cond` until it holds or the deadline passes (tests never sleep to synchronise).
pub fn wait_for(what: &str, timeout: Duration, mut cond: impl FnMut() -> bool) {
    let start = Instant::now();
    while !cond() {
        if start.elapsed() > timeout {
            panic!("timed out after {timeout:?} waiting for {what}");
        }
        std::thread::sleep(Duration::from_millis(5));
    }
}

/// `kill -SIG pid`.
pub fn signal(pid: u32, sig: &str) {
    std::process::Command::new("kill")
        .args([&format!("-{sig}"), &pid.to_string()])
        .status()
        .unwrap();
}

pub fn kill9(child: &mut Child) {
    unsafe_free_kill(child.id());
    let _ = child.wait();
}

/// SIGKILL a child started with `process_group(0)` and everything in its group, so that no
/// grandchild lives on holding a lock or one of our pipes.
pub fn kill9_group(child: &mut Child) {
    let _ = std::process::Command::new("kill")
        .args(["-9", "--", &format!("-{}", child.id())])
        .stderr(Stdio::null())
        .status();
    let _ = child.wait();
}

fn unsafe_free_kill(pid: u32) {
    let _ = std::process::Command::new("kill")
        .args(["-9", &pid.to_string()])
        .stderr(Stdio::null())
        .status();
}

/// Bytes of the segment (`.log`) files in a replica directory (0 if it is not there).
pub fn log_bytes(dir: &Path) -> u64 {
    std::fs::read_dir(dir)
        .map(|it| {
            it.filter_map(|e| e.ok())
                .filter(|e| e.file_name().to_string_lossy().ends_with(".log"))
                .filter_map(|e| e.metadata().ok())
                .map(|m| m.len())
                .sum()
        })
        .unwrap_or(0)
}

pub fn file_len(p: &Path) -> u64 {
    std::fs::metadata(p).map(|m| m.len()).unwrap_or(0)
}

pub fn lines(b: &[u8]) -> Vec<&[u8]> {
    let mut v: Vec<&[u8]> = b.split(|&c| c == b'\n').collect();
    if v.last().is_some_and(|l| l.is_empty()) {
        v.pop();
    }
    v
}

/// A program in a detached tmux session (a real terminal), driven by send-keys and read by
/// capture-pane.
pub struct Tmux {
    session: String,
}

impl Tmux {
    /// `shell` running in a detached tmux session, with chute on PATH and the test's root.
    pub fn start(env: &Env, shell: &str) -> Tmux {
        static N: std::sync::atomic::AtomicU32 = std::sync::atomic::AtomicU32::new(0);
        let n = N.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
        let session = format!("chute-{}-{n}", std::process::id());
        let bin_dir = bin().parent().unwrap().to_path_buf();
        let path = format!("{}:{}", bin_dir.display(), std::env::var("PATH").unwrap());
        let cmd = format!(
            "env PATH='{path}' CHUTE_ROOT='{}' TERM=xterm {shell}",
            env.root().display()
        );
        let st = std::process::Command::new("tmux")
            .args([
                "new-session",
                "-d",
                "-s",
                &session,
                "-x",
                "200",
                "-y",
                "50",
                &cmd,
            ])
            .status()
            .unwrap();
        assert!(st.success());
        Tmux { session }
    }

    pub fn keys(&self, keys: &[&str]) {
        let st = std::process::Command::new("tmux")
            .args(["send-keys", "-t", &self.session])
            .args(keys)
            .status()
            .unwrap();
        assert!(st.success());
    }

    pub fn screen(&self) -> String {
        let out = std::process::Command::new("tmux")
            .args(["capture-pane", "-p", "-t", &self.session])
            .output()
            .unwrap();
        String::from_utf8_lossy(&out.stdout).into_owned()
    }

    /// Wait until the screen shows every one of `words` after the first line containing
    /// `after`.
    pub fn wait_screen(&self, what: &str, after: &str, words: &[&str]) {
        let mut last = String::new();
        let ok = (0..200).any(|_| {
            last = self.screen();
            let tail = last.find(after).map_or("", |i| &last[i..]);
            if words.iter().all(|w| tail.contains(w)) {
                return true;
            }
            std::thread::sleep(Duration::from_millis(50));
            false
        });
        assert!(ok, "{what}: screen was:\n{last}");
    }
}

impl Drop for Tmux {
    fn drop(&mut self) {
        let _ = std::process::Command::new("tmux")
            .args(["kill-session", "-t", &self.session])
            .status();
    }
}
