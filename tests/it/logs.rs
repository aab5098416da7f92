//! Daemon logs (`controller`, `replicate`): every line starts with an RFC 3339 time and the
//! level; no colour escapes when stderr is not a terminal; `--log-format json` gives one JSON
//! object per line; under journald (JOURNAL_STREAM names stderr) the time is left out.

use crate::util::*;
use std::os::unix::fs::MetadataExt;
use std::process::Stdio;

/// A cluster where one controller pass has something to say: broker 1 is down, so the
/// partitions it leads get new leaders.
fn eventful(env: &Env) {
    env.brokers(2);
    env.create_topic("t", 2, &["-r", "2"]);
    env.mark("down", 1);
}

/// Run `controller --once` with stderr into a file (and `extra` environment); its lines.
fn controller_lines(env: &Env, args: &[&str], journal: Option<&str>) -> Vec<String> {
    let path = env.dir.path().join(format!("stderr-{}", args.len()));
    let file = std::fs::File::create(&path).unwrap();
    let mut cmd = env.spawn(&[&["controller", "--once"], args].concat());
    cmd.stderr(Stdio::from(file.try_clone().unwrap()));
    match journal {
        // "this file": the device and inode of the stderr the child gets.
        Some("stderr") => {
            let m = file.metadata().unwrap();
            cmd.env("JOURNAL_STREAM", format!("{}:{}", m.dev(), m.ino()));
        }
        Some(v) => {
            cmd.env("JOURNAL_STREAM", v);
        }
        None => {
            cmd.env_remove("JOURNAL_STREAM");
        }
    }
    let st = cmd.status().unwrap();
    assert!(
        st.success(),
        "{st:?}: {}",
        std::fs::read_to_string(&path).unwrap()
    );
    let text = std::fs::read_to_string(&path).unwrap();
    assert!(
        !text.contains('\u{1b}'),
        "colour escapes on a file: {text:?}"
    );
    text.lines().map(str::to_string).collect()
}

fn rfc3339_prefix(l: &str) -> bool {
    let ts = l.split_whitespace().next().unwrap_or("");
    ts.len() >= 20 && ts.ends_with('Z') && ts.as_bytes()[4] == b'-' && ts.as_bytes()[10] == b'T'
}

#[test]
fn controller_lines_start_with_time_and_level() {
    let env = Env::new();
    eventful(&env);
    let lines = controller_lines(&env, &[], None);
    assert!(
        lines.iter().any(|l| l.contains("leader 1 -> 0")),
        "{lines:#?}"
    );
    for l in &lines {
        assert!(rfc3339_prefix(l), "no RFC 3339 time first: {l:?}");
        let level = l.split_whitespace().nth(1).unwrap();
        assert!(["INFO", "WARN", "ERROR"].contains(&level), "{l:?}");
        assert!(l.contains("controller{pid="), "{l:?}");
    }
}

#[test]
fn controller_lines_as_json() {
    let env = Env::new();
    eventful(&env);
    let lines = controller_lines(&env, &["--log-format", "json"], None);
    assert!(!lines.is_empty());
    let mut saw_change = false;
    for l in &lines {
        let v: serde_json::Value = serde_json::from_str(l).unwrap_or_else(|e| panic!("{e}: {l}"));
        assert!(
            v["timestamp"].as_str().is_some_and(|t| t.ends_with('Z')),
            "{l}"
        );
        assert!(v["level"].is_string(), "{l}");
        saw_change |= v["message"]
            .as_str()
            .is_some_and(|m| m.contains("leader 1 -> 0"));
    }
    assert!(saw_change, "{lines:#?}");
}

#[test]
fn under_journald_the_time_is_left_to_the_journal() {
    let env = Env::new();
    eventful(&env);
    let lines = controller_lines(&env, &[], Some("stderr"));
    assert!(!lines.is_empty());
    for l in &lines {
        assert!(!rfc3339_prefix(l), "journald stamps lines itself: {l:?}");
        let level = l.split_whitespace().next().unwrap();
        assert!(["INFO", "WARN"].contains(&level), "{l:?}");
    }
    // Inherited from a parent whose stderr was the journal, but ours is not: times stay.
    env.mark("up", 1);
    env.controller_once();
    env.mark("down", 0);
    let lines = controller_lines(&env, &[], Some("1:2"));
    assert!(!lines.is_empty());
    assert!(lines.iter().all(|l| rfc3339_prefix(l)), "{lines:#?}");
}
