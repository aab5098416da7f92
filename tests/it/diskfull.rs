//! A full disk: every writer fails with exit 74 naming the path (ENOSPC), loses nothing that was
//! acknowledged or committed, leaves no empty or torn file behind, and carries on once space is
//! freed. Each test runs on a small tmpfs of its own (mounting one needs root or CAP_SYS_ADMIN,
//! as in CI), filled by a file of ours that the test deletes or shrinks to free space.

use crate::util::*;
use std::collections::BTreeMap;
use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::Output;
use std::time::Duration;

const PAGE: u64 = 4096;
const ENOSPC: &str = "No space left on device";

/// A tmpfs mounted for one test; unmounted on drop, also when the test panics.
struct Tmpfs {
    at: PathBuf,
}

impl Tmpfs {
    fn mount(at: &Path, size: &str) -> Tmpfs {
        std::fs::create_dir_all(at).unwrap();
        let out = std::process::Command::new("mount")
            .args(["-t", "tmpfs", "-o", &format!("size={size}"), "tmpfs"])
            .arg(at)
            .output();
        match out {
            Ok(o) if o.status.success() => {}
            other => {
                let why = match other {
                    Ok(o) => String::from_utf8_lossy(&o.stderr).trim().to_string(),
                    Err(e) => e.to_string(),
                };
                panic!(
                    "the disk-full tests must mount a small tmpfs and could not \
                     (`mount -t tmpfs -o size={size} tmpfs {}`: {why}); run them as root or with \
                     CAP_SYS_ADMIN (CI does)",
                    at.display()
                );
            }
        }
        Tmpfs {
            at: at.to_path_buf(),
        }
    }

    fn filler(&self) -> PathBuf {
        self.at.join("filler")
    }

    /// Take every free block with our filler file, then give `leave` bytes back.
    fn fill(&self, leave: u64) {
        let mut f = std::fs::OpenOptions::new()
            .create(true)
            .append(true)
            .open(self.filler())
            .unwrap();
        let chunk = vec![0x66u8; 64 * 1024];
        loop {
            match f.write(&chunk) {
                Ok(0) => break,
                Ok(_) => {}
                Err(e) if e.raw_os_error() == Some(libc::ENOSPC) => break,
                Err(e) => panic!("filling {}: {e}", self.filler().display()),
            }
        }
        // A partly filled last page still counts as used: round down to whole pages.
        let len = f.metadata().unwrap().len() / PAGE * PAGE;
        f.set_len(len.saturating_sub(leave)).unwrap();
    }

    /// Give one more page back (the filler must exist). False when it is empty already.
    fn free_page(&self) -> bool {
        let f = std::fs::OpenOptions::new()
            .write(true)
            .open(self.filler())
            .unwrap();
        let len = f.metadata().unwrap().len();
        f.set_len(len.saturating_sub(PAGE)).unwrap();
        len > 0
    }

    fn free_all(&self) {
        let _ = std::fs::remove_file(self.filler());
    }
}

impl Drop for Tmpfs {
    fn drop(&mut self) {
        let ok = std::process::Command::new("umount")
            .arg(&self.at)
            .status()
            .is_ok_and(|s| s.success());
        if !ok {
            // A child still holding a file there: detach now, the kernel frees it after.
            let _ = std::process::Command::new("umount")
                .arg("-l")
                .arg(&self.at)
                .status();
        }
    }
}

/// An environment whose whole root is a tmpfs of `size`. Fields drop in order: unmount first,
/// then the temporary directory goes.
struct FullEnv {
    fs: Tmpfs,
    env: Env,
}

fn root_on_tmpfs(size: &str) -> FullEnv {
    let env = Env::new();
    let fs = Tmpfs::mount(&env.root(), size);
    FullEnv { fs, env }
}

fn stderr(o: &Output) -> String {
    String::from_utf8_lossy(&o.stderr).into_owned()
}

/// Exit 74, ENOSPC, and a path inside `under`.
fn assert_enospc(o: &Output, under: &Path, what: &str) {
    let err = stderr(o);
    assert_eq!(o.status.code(), Some(74), "{what}: want exit 74: {err}");
    assert!(err.contains(ENOSPC), "{what}: want ENOSPC: {err}");
    assert!(
        err.contains(&format!("{}/", under.display())),
        "{what}: the message must name the path (under {}): {err}",
        under.display()
    );
}

/// No empty file and no temporary file anywhere below `dir`, except lock files (created empty,
/// their content is only a hint) and our filler.
fn assert_no_empty_or_temp_files(dir: &Path) {
    for e in walk(dir) {
        let name = e.file_name().unwrap().to_string_lossy().into_owned();
        if name.ends_with(".lock") || name == "filler" {
            continue;
        }
        assert!(
            !name.ends_with(".tmp"),
            "temporary file left: {}",
            e.display()
        );
        assert!(file_len(&e) > 0, "empty file left: {}", e.display());
    }
}

fn walk(dir: &Path) -> Vec<PathBuf> {
    let mut out = Vec::new();
    let Ok(rd) = std::fs::read_dir(dir) else {
        return out;
    };
    for e in rd.flatten() {
        let t = e.file_type().unwrap();
        if t.is_dir() {
            out.extend(walk(&e.path()));
        } else {
            out.push(e.path());
        }
    }
    out
}

/// `n` distinct records starting at `from` with a tag, of varying lengths, newline-terminated.
fn records(tag: &str, from: usize, n: usize) -> Vec<u8> {
    let mut v = Vec::new();
    for i in from..from + n {
        v.extend_from_slice(format!("{tag}{i:07}-").as_bytes());
        v.extend(std::iter::repeat_n(b'a' + (i % 26) as u8, i % 97));
        v.push(b'\n');
    }
    v
}

/// `verify` of a partition that just hit ENOSPC: clean, or only a torn (never fsynced) tail.
fn verify_clean_or_torn_tail(env: &Env) {
    let o = env.chute().args(["verify"]).output().unwrap();
    let err = stderr(&o);
    match o.status.code() {
        Some(0) => {}
        Some(74) => {
            let out = String::from_utf8_lossy(&o.stdout).into_owned() + &err;
            // Every line is a torn tail, a note or the summary.
            for l in out.lines().filter(|l| !l.trim().is_empty()) {
                assert!(
                    l.contains("torn tail")
                        || l.contains(": note: ")
                        || l.starts_with("chute: verify found"),
                    "verify reports more than a torn tail: {out}"
                );
            }
            assert!(
                out.contains("torn tail"),
                "exit 74 without a torn tail: {out}"
            );
        }
        c => panic!("verify exit {c:?}: {err}"),
    }
}

fn verify_ok(env: &Env) {
    let o = env.chute().args(["verify"]).output().unwrap();
    assert_eq!(
        o.status.code(),
        Some(0),
        "verify: {}{}",
        String::from_utf8_lossy(&o.stdout),
        stderr(&o)
    );
}

#[test]
fn produce_on_a_full_disk_fails_loses_nothing_acknowledged_and_resumes() {
    let FullEnv { fs, env } = root_on_tmpfs("4m");
    env.create_topic("t", 1, &["--config", "segment.bytes=64KiB"]);
    let a = records("a", 0, 3000);
    env.produce("t", a.clone(), &[]);
    assert_eq!(env.consume("t", &[]), a);

    fs.fill(192 * 1024);
    let b = records("b", 0, 40_000);
    let o = env
        .chute()
        .args(["produce", "-t", "t", "-q"])
        .write_stdin(b.clone())
        .output()
        .unwrap();
    assert_enospc(&o, &env.root(), "produce on a full disk");

    // Acknowledged records are all there, byte for byte; after them at most a prefix of what
    // the failed producer read (published but never acknowledged), never a torn record.
    let out = env.consume("t", &[]);
    assert_eq!(out[..a.len()], a[..], "acknowledged records changed");
    let rest = &out[a.len()..];
    assert!(
        b.starts_with(rest),
        "records after the acknowledged ones are not a prefix"
    );
    assert!(rest.is_empty() || rest.ends_with(b"\n"));
    assert_no_empty_or_temp_files(&env.root());
    verify_clean_or_torn_tail(&env);

    fs.free_all();
    env.chute().args(["verify", "--repair"]).assert().success();
    verify_ok(&env);
    let kept = env.consume("t", &[]);
    assert!(kept.starts_with(&a) && b.starts_with(&kept[a.len()..]));
    let c = records("c", 0, 2000);
    env.produce("t", c.clone(), &[]);
    let mut want = kept.clone();
    want.extend_from_slice(&c);
    assert_eq!(env.consume("t", &[]), want);
    assert_no_empty_or_temp_files(&env.root());
    verify_ok(&env);

    // Rolls on a full disk: every batch starts a segment (segment.ms), one more page per run.
    env.chute()
        .args(["topic", "alter", "t", "--config", "segment.ms=1ms"])
        .assert()
        .success();
    fs.fill(0);
    let mut runs = 0;
    let mut n = 0;
    loop {
        let d = records("d", n, 20);
        let o = env
            .chute()
            .args([
                "produce",
                "-t",
                "t",
                "-q",
                "--linger",
                "0",
                "--batch-size",
                "512",
            ])
            .write_stdin(d.clone())
            .output()
            .unwrap();
        let out = env.consume("t", &[]);
        assert!(out.starts_with(&want), "acknowledged records changed");
        if o.status.success() {
            want.extend_from_slice(&d);
            assert_eq!(out, want);
            break;
        }
        assert_enospc(&o, &env.root(), "produce rolling on a full disk");
        assert!(d.starts_with(&out[want.len()..]) || out.len() == want.len());
        assert_no_empty_or_temp_files(&env.root());
        // What the failed run published but never acknowledged stays; count it as written.
        want = out;
        n += 20;
        runs += 1;
        assert!(fs.free_page(), "never succeeded with the whole disk");
    }
    assert!(runs > 0, "the first run on a full disk succeeded");
    fs.free_all();
    env.chute().args(["verify", "--repair"]).assert().success();
    verify_ok(&env);
    assert_eq!(env.consume("t", &[]), want);
}

#[test]
fn replicate_to_a_full_follower_disk_fails_leaves_the_leader_alone_and_catches_up() {
    let env = Env::new();
    let fs = Tmpfs::mount(&env.dir.path().join("disk1"), "2m");
    let b1 = fs.at.join("b1");
    env.chute()
        .args(["cluster", "init", "--brokers", "2", "--broker-dir"])
        .arg(format!("1={}", b1.display()))
        .assert()
        .success();
    // Leaders alternate from a random broker: use the partition that broker 0 leads.
    env.create_topic("t", 2, &["--replication-factor", "2"]);
    let d = env.json(&["topic", "describe", "t", "--json"]);
    let p = (0..2).find(|&p| d["partitions"][p]["leader"] == 0).unwrap() as u32;
    let ps = p.to_string();
    let follower = b1.join(format!("t-{p}"));
    let a = records("a", 0, 1000);
    env.produce("t", a.clone(), &["-p", &ps]);
    env.chute().args(["replicate"]).assert().success();
    verify_ok(&env);

    // The follower's disk fills up; the leader takes more (acks=1: followers best effort).
    fs.fill(64 * 1024);
    let b = records("b", 0, 20_000);
    let o = env
        .chute()
        .args(["produce", "-t", "t", "-q", "-p", &ps])
        .write_stdin(b.clone())
        .output()
        .unwrap();
    assert_eq!(o.status.code(), Some(0), "{}", stderr(&o));
    let leader = env.partition_dir("t", p);
    let before = snapshot(&leader);
    let mut all = a.clone();
    all.extend_from_slice(&b);
    assert!(before.values().map(|v| v.0).sum::<u64>() > all.len() as u64);

    let o = env.chute().args(["replicate"]).output().unwrap();
    assert_enospc(&o, &follower, "replicate to a full follower");
    assert_eq!(snapshot(&leader), before, "the leader's files changed");
    assert_no_empty_or_temp_files(&b1);
    // Consumers read below the high watermark: never more than the leader has, all of `a`.
    let seen = env.consume("t", &["-p", &ps]);
    assert!(all.starts_with(&seen) && seen.starts_with(&a));

    fs.free_all();
    env.chute().args(["replicate"]).assert().success();
    assert_eq!(snapshot(&leader), before, "the leader's files changed");
    verify_ok(&env);
    assert_eq!(env.consume("t", &["-p", &ps]), all);
    // Batches are copied byte for byte (file headers carry each replica's creation time).
    let batches = |d: &Path| -> Vec<u8> {
        let mut v = Vec::new();
        for p in walk(d)
            .into_iter()
            .filter(|p| p.extension().is_some_and(|e| e == "log"))
        {
            v.extend_from_slice(&std::fs::read(p).unwrap()[32..]);
        }
        v
    };
    assert!(
        batches(&follower) == batches(&leader),
        "the follower's batches differ"
    );
    assert_no_empty_or_temp_files(&b1);
}

/// (length, hash) of every `.log` and `.index` file in a replica directory.
fn snapshot(d: &Path) -> BTreeMap<String, (u64, u64)> {
    use std::hash::{Hash, Hasher};
    walk(d)
        .into_iter()
        .filter(|p| p.extension().is_some_and(|e| e == "log" || e == "index"))
        .map(|p| {
            let bytes = std::fs::read(&p).unwrap();
            let mut h = std::collections::hash_map::DefaultHasher::new();
            bytes.hash(&mut h);
            let k = p.file_name().unwrap().to_string_lossy().into_owned();
            (k, (bytes.len() as u64, h.finish()))
        })
        .collect()
}

const KEYS: u32 = 100;

/// key → latest value from `consume --format '%k %s\n'`.
fn latest(env: &Env) -> BTreeMap<String, String> {
    let out = env.consume("c", &["--format", "%k %s\\n"]);
    String::from_utf8(out)
        .unwrap()
        .lines()
        .map(|l| {
            let (k, v) = l.split_once(' ').unwrap();
            (k.to_string(), v.to_string())
        })
        .collect()
}

#[test]
fn compaction_on_a_full_disk_fails_naming_the_path_keeps_every_latest_value_and_resumes() {
    let FullEnv { fs, env } = root_on_tmpfs("4m");
    env.create_topic(
        "c",
        1,
        &[
            "--config",
            "cleanup.policy=compact",
            "--config",
            "segment.bytes=4KiB",
            "--config",
            "segment.ms=50ms",
        ],
    );
    let mut want = BTreeMap::new();
    for r in 0..8 {
        let input: String = (0..KEYS).map(|k| format!("k{k:03},v{r}-{k}\n")).collect();
        env.produce("c", input, &["-K", ",", "--batch-size", "1KiB"]);
        for k in 0..KEYS {
            want.insert(format!("k{k:03}"), format!("v{r}-{k}"));
        }
    }
    let produced = 8 * KEYS as usize;
    let count = |env: &Env| lines(&env.consume("c", &[])).len();
    assert_eq!(count(&env), produced);
    // Wait out segment.ms so that the pass rolls the active segment and cleans everything.
    let old = std::time::Instant::now();
    wait_for("segment.ms to pass", Duration::from_secs(5), || {
        old.elapsed() > Duration::from_millis(60)
    });

    // Disk full, then one more page per pass: every pass that fails says where, and loses no
    // key's latest value; one of them fails while writing cleaned segments.
    fs.fill(0);
    let mut failed_cleaning = false;
    let mut passes = 0;
    loop {
        let o = env.chute().args(["controller", "--once"]).output().unwrap();
        let err = stderr(&o);
        assert_eq!(latest(&env), want, "a latest value was lost: {err}");
        assert_no_empty_or_temp_files(&env.root());
        if err.contains("compaction failed") {
            assert!(err.contains(ENOSPC), "{err}");
            let line = err
                .lines()
                .find(|l| l.contains("compaction failed"))
                .unwrap();
            assert!(
                line.contains(&format!("{}/", env.root().display())),
                "the log line names the path: {line}"
            );
            failed_cleaning = true;
        } else if o.status.success() && count(&env) < produced {
            break;
        } else if !o.status.success() {
            assert_enospc(&o, &env.root(), "controller --once");
        }
        passes += 1;
        assert!(fs.free_page(), "never succeeded with the whole disk: {err}");
    }
    assert!(passes > 0, "the first pass on a full disk succeeded");
    assert!(failed_cleaning, "no pass failed while cleaning");

    fs.free_all();
    wait_for("a fully compacted log", Duration::from_secs(20), || {
        env.controller_once();
        count(&env) == KEYS as usize
    });
    assert_eq!(latest(&env), want);
    assert_no_empty_or_temp_files(&env.root());
    verify_ok(&env);
}

fn committed(env: &Env) -> u64 {
    let d = env.json(&["offsets", "-g", "g", "--json"]);
    d["partitions"][0]["committed"].as_u64().unwrap()
}

#[test]
fn a_group_commit_on_a_full_disk_fails_keeps_the_old_commit_and_commits_after() {
    let FullEnv { fs, env } = root_on_tmpfs("2m");
    env.create_topic("t", 1, &[]);
    let a = records("a", 0, 500);
    env.produce("t", a.clone(), &[]);
    let run = || {
        env.chute()
            .args(["consume", "-t", "t", "-g", "g"])
            .output()
            .unwrap()
    };
    let o = run();
    assert!(o.status.success(), "{}", stderr(&o));
    assert_eq!(o.stdout, a);
    assert_eq!(committed(&env), 500);
    let b = records("b", 500, 300);
    env.produce("t", b.clone(), &[]);
    let offsets = env.root().join("groups/g/offsets/t/0.json");
    let commit_before = std::fs::read(&offsets).unwrap();

    // Full, then one page more per run: each failing run names the path and leaves the commit.
    fs.fill(0);
    let mut failed_commit = false;
    let mut runs = 0;
    let o = loop {
        let o = run();
        if o.status.success() {
            break o;
        }
        assert_enospc(
            &o,
            &env.root().join("groups/g"),
            "consume -g on a full disk",
        );
        failed_commit |= stderr(&o).contains(&offsets.parent().unwrap().display().to_string());
        assert_eq!(std::fs::read(&offsets).unwrap(), commit_before);
        assert_eq!(committed(&env), 500);
        assert_no_empty_or_temp_files(&env.root());
        runs += 1;
        assert!(fs.free_page(), "never succeeded with the whole disk");
    };
    assert!(runs > 0, "the first run on a full disk succeeded");
    assert!(failed_commit, "no run failed writing the commit");
    assert_eq!(o.stdout, b);
    assert_eq!(committed(&env), 800);
    fs.free_all();
    let o = run();
    assert!(o.status.success() && o.stdout.is_empty(), "{}", stderr(&o));
    assert_no_empty_or_temp_files(&env.root());
}

#[test]
fn topic_create_on_a_full_disk_fails_and_leaves_metadata_valid() {
    let FullEnv { fs, env } = root_on_tmpfs("2m");
    let a = records("a", 0, 200);
    env.produce("t", a.clone(), &[]);
    let md = env.root().join("metadata.json");

    fs.fill(0);
    let mut runs = 0;
    loop {
        let o = env
            .chute()
            .args(["topic", "create", "x", "--partitions", "4"])
            .output()
            .unwrap();
        if o.status.success() {
            break;
        }
        assert_enospc(&o, &env.root(), "topic create on a full disk");
        // metadata.json is whole and every command still works; "x" is not listed.
        let _: serde_json::Value = serde_json::from_slice(&std::fs::read(&md).unwrap()).unwrap();
        let list = env.chute().args(["topic", "list"]).output().unwrap();
        assert!(list.status.success(), "{}", stderr(&list));
        let names: Vec<&[u8]> = lines(&list.stdout);
        assert!(names.iter().all(|l| !l.starts_with(b"x")), "x half-created");
        env.chute()
            .args(["topic", "describe", "x"])
            .assert()
            .code(1);
        env.json(&["topic", "describe", "t", "--json"]);
        env.json(&["offsets", "-t", "t", "--json"]);
        env.json(&["cluster", "status", "--json"]);
        assert_eq!(env.consume("t", &[]), a);
        assert_no_empty_or_temp_files(&env.root());
        runs += 1;
        assert!(fs.free_page(), "never succeeded with the whole disk");
    }
    assert!(runs > 0, "the first create on a full disk succeeded");
    fs.free_all();
    let x = records("x", 0, 100);
    env.produce("x", x.clone(), &[]);
    assert_eq!(env.consume("x", &[]), x);
    assert_eq!(env.consume("t", &[]), a);
    let d = env.json(&["topic", "describe", "x", "--json"]);
    assert_eq!(d["partitions"].as_array().unwrap().len(), 4, "{d}");
    assert_no_empty_or_temp_files(&env.root());
    verify_ok(&env);
}
