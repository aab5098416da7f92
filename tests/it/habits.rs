//! Habits of good Unix tools and of Kafka's users: a typo does not create a topic, auto-creation
//! can be turned off cluster-wide, and `consume --follow` waits for a topic not created yet.

use crate::util::*;
use std::io::Read;
use std::process::Stdio;
use std::time::Duration;

fn run(env: &Env, args: &[&str], stdin: &str) -> (Option<i32>, String) {
    let out = env
        .chute()
        .args(args)
        .write_stdin(stdin.to_string())
        .output()
        .unwrap();
    (
        out.status.code(),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

fn topics(env: &Env) -> Vec<String> {
    let v = env.json(&["topic", "list", "--json"]);
    v.as_array()
        .unwrap()
        .iter()
        .map(|t| t["name"].as_str().unwrap().to_string())
        .collect()
}

#[test]
fn a_typo_of_an_existing_topic_is_refused_not_created() {
    let env = Env::new();
    env.create_topic("orders", 1, &[]);
    for typo in ["ordrs", "oredrs", "Orders", "orderss"] {
        let (code, err) = run(&env, &["produce", "-t", typo], "x\n");
        assert_eq!(code, Some(1), "{typo}: {err}");
        assert!(err.contains("did you mean \"orders\"?"), "{typo}: {err}");
        assert!(err.contains("--create"), "{typo}: {err}");
    }
    assert_eq!(topics(&env), ["orders"], "nothing was created");
    assert!(env.consume("orders", &[]).is_empty(), "nothing was written");
    // A name far from every topic is created as before; --create overrides the guess.
    let (code, err) = run(&env, &["produce", "-t", "invoices"], "a\n");
    assert_eq!(code, Some(0), "{err}");
    let (code, err) = run(&env, &["produce", "-t", "ordrs", "--create"], "b\n");
    assert_eq!(code, Some(0), "{err}");
    assert_eq!(topics(&env), ["invoices", "orders", "ordrs"]);
    assert_eq!(env.consume("ordrs", &[]), b"b\n");
}

#[test]
fn auto_creation_can_be_turned_off_for_the_cluster() {
    let env = Env::new();
    env.create_topic("orders", 1, &[]);
    let got = |k: &str| {
        let out = env
            .chute()
            .args(["cluster", "config", "get", k])
            .output()
            .unwrap();
        assert!(out.status.success());
        String::from_utf8(out.stdout).unwrap()
    };
    let all = || {
        let out = env
            .chute()
            .args(["cluster", "config", "get"])
            .output()
            .unwrap();
        String::from_utf8(out.stdout).unwrap()
    };
    assert_eq!(got("auto.create.topics"), "true\n");
    env.chute()
        .args([
            "cluster",
            "config",
            "set",
            "auto.create.topics.enable=false",
        ])
        .assert()
        .success();
    assert_eq!(got("auto.create.topics"), "false\n");
    assert_eq!(all(), "auto.create.topics=false\n");

    let (code, err) = run(&env, &["produce", "-t", "invoices"], "a\n");
    assert_eq!(code, Some(1), "{err}");
    assert!(err.contains("auto.create.topics is false"), "{err}");
    assert!(err.contains("chute topic create invoices"), "{err}");
    assert_eq!(topics(&env), ["orders"]);
    // Producing to a topic that exists is unaffected; --create is explicit.
    let (code, err) = run(&env, &["produce", "-t", "orders"], "o\n");
    assert_eq!(code, Some(0), "{err}");
    let (code, err) = run(&env, &["produce", "-t", "invoices", "--create"], "i\n");
    assert_eq!(code, Some(0), "{err}");

    // Back to the default.
    env.chute()
        .args(["cluster", "config", "set", "auto.create.topics="])
        .assert()
        .success();
    assert_eq!(all(), "auto.create.topics=true  (default)\n");
    let (code, err) = run(&env, &["produce", "-t", "refunds"], "r\n");
    assert_eq!(code, Some(0), "{err}");

    for bad in [
        "auto.create.topics=maybe",
        "no.such.key=1",
        "auto.create.topics",
    ] {
        let (code, err) = run(&env, &["cluster", "config", "set", bad], "");
        assert_eq!(code, Some(2), "{bad}: {err}");
    }
}

#[test]
fn follow_waits_for_a_topic_that_does_not_exist_yet() {
    let env = Env::new();
    env.create_topic("other", 1, &[]);
    let mut c = env
        .spawn(&["consume", "-t", "later", "--follow"])
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let mut err = c.stderr.take().unwrap();
    // The note comes first, then the topic is created by its first producer.
    let mut note = Vec::new();
    let mut b = [0u8; 1];
    while err.read(&mut b).unwrap() == 1 && b[0] != b'\n' {
        note.push(b[0]);
    }
    let note = String::from_utf8_lossy(&note).into_owned();
    assert!(
        note.contains("\"later\" does not exist yet; waiting"),
        "{note}"
    );
    env.produce("later", "first\n", &[]);
    let mut out = c.stdout.take().unwrap();
    let mut got = [0u8; 6];
    out.read_exact(&mut got).unwrap();
    assert_eq!(&got, b"first\n");
    signal(c.id(), "TERM");
    assert_eq!(c.wait().unwrap().code(), Some(0));

    // Bounded: exit 75 naming the topic. Without --follow, a missing topic is an error at once.
    let out = env
        .chute()
        .args([
            "consume",
            "-t",
            "never",
            "--follow",
            "--wait-for-topic",
            "300ms",
        ])
        .timeout(Duration::from_secs(20))
        .output()
        .unwrap();
    let e = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(75), "{e}");
    assert!(
        e.contains("topic \"never\" did not appear within 300ms"),
        "{e}"
    );
    let out = env
        .chute()
        .args(["consume", "-t", "never"])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(1));
    // A group member waits the same way.
    let out = env
        .chute()
        .args([
            "consume",
            "-t",
            "never",
            "-g",
            "g",
            "--follow",
            "--wait-for-topic",
            "200ms",
        ])
        .timeout(Duration::from_secs(20))
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(75));
}

/// `consume -K SEP` prints KEY SEP VALUE as kcat does (a null key as empty), and only in the
/// raw format; `produce -K` reads the same lines back.
#[test]
fn consume_key_delimiter_prints_key_sep_value() {
    let env = Env::new();
    env.produce("t", "k1\tv1\nk2\tv2\n", &["-K", "\\t"]);
    env.produce(
        "t",
        "{\"key\":null,\"value\":\"v3\"}\n",
        &["--format", "json"],
    );
    let out = env.consume("t", &["-K", "="]);
    assert_eq!(String::from_utf8(out).unwrap(), "k1=v1\nk2=v2\n=v3\n");
    let out = env.consume("t", &["-K", "\\t", "-0"]);
    assert_eq!(out, b"k1\tv1\0k2\tv2\0\tv3\0");
    let (code, err) = run(
        &env,
        &["consume", "-t", "t", "-K", "=", "--format", "json"],
        "",
    );
    assert_eq!(code, Some(2), "{err}");
    assert!(err.contains("-K"), "{err}");
}

/// `topic describe` marks the configs set for the topic, with the default each overrides.
#[test]
fn topic_describe_marks_configs_that_differ_from_defaults() {
    let env = Env::new();
    env.create_topic(
        "t",
        1,
        &["--config", "retention=3d", "-c", "segment.bytes=1MiB"],
    );
    let out = env
        .chute()
        .args(["topic", "describe", "t"])
        .output()
        .unwrap();
    let text = String::from_utf8(out.stdout).unwrap();
    let line = |k: &str| {
        text.lines()
            .find(|l| l.trim_start().starts_with(&format!("{k} =")))
            .unwrap_or_else(|| panic!("{k}: {text}"))
            .to_string()
    };
    assert!(
        line("retention").ends_with("= 3days  (set; default 7days)"),
        "{text}"
    );
    assert!(line("segment.bytes").contains("(set; default"), "{text}");
    assert!(!line("cleanup.policy").contains("(set"), "{text}");
    let v = env.json(&["topic", "describe", "t", "--json"]);
    let mut o: Vec<&str> = v["overrides"]
        .as_array()
        .unwrap()
        .iter()
        .map(|x| x.as_str().unwrap())
        .collect();
    o.sort();
    assert_eq!(o, ["retention", "segment.bytes"], "{v}");
}

/// `-q`, anywhere on the command line, silences notes ("created topic ...") on every command,
/// not warnings or errors.
#[test]
fn quiet_silences_notes_on_every_command() {
    let env = Env::new();
    let quiet = |args: &[&str], stdin: &str| {
        let (code, err) = run(&env, args, stdin);
        assert_eq!(code, Some(0), "{args:?}: {err}");
        err
    };
    // Loud first: each of these says something.
    assert!(quiet(&["topic", "create", "a"], "").contains("created topic a"));
    assert!(quiet(&["produce", "-t", "b"], "x\n").contains("created topic b"));
    for args in [
        &["-q", "topic", "create", "c"][..],
        &["topic", "create", "d", "-q"],
        &["produce", "-t", "e", "-q"],
        &["--quiet", "topic", "delete", "d"],
        &["cluster", "config", "set", "auto.create.topics=true", "-q"],
        &[
            "-q",
            "offsets",
            "reset",
            "-g",
            "g",
            "-t",
            "a",
            "--to-earliest",
        ],
    ] {
        assert_eq!(quiet(args, "x\n"), "", "{args:?}");
    }
    // Errors still speak.
    let out = env
        .chute()
        .args(["-q", "topic", "describe", "nope"])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(1));
    assert!(String::from_utf8_lossy(&out.stderr).contains("nope"));
}

/// Tables show when things happened as ages ("3s ago"), not timestamps to subtract in one's
/// head: a member's start in `group describe`, the last commit in `offsets -g`, the
/// controller's term and heartbeat in `cluster status`. JSON keeps epoch milliseconds.
#[test]
fn tables_show_relative_ages() {
    let env = Env::new();
    env.create_topic("t", 1, &[]);
    env.produce("t", "a\nb\n", &[]);
    let mut member = env
        .spawn(&["consume", "-t", "t", "-g", "g", "--follow"])
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let mut ctl = env
        .spawn(&["controller"])
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    wait_for("the member to commit", Duration::from_secs(15), || {
        let o = env
            .chute()
            .args(["offsets", "-g", "g", "--json"])
            .output()
            .unwrap();
        serde_json::from_slice::<serde_json::Value>(&o.stdout)
            .is_ok_and(|v| v["partitions"][0]["committed"] == 2)
    });
    let d = env.json(&["group", "describe", "g", "--json"]);
    assert!(
        d["members"][0]["started_ms"].as_i64().unwrap() > 1_700_000_000_000,
        "{d}"
    );
    let age = has_age;
    let text =
        |args: &[&str]| String::from_utf8(env.chute().args(args).output().unwrap().stdout).unwrap();
    let desc = text(&["group", "describe", "g"]);
    let row = desc
        .lines()
        .find(|l| l.contains(" t ") || l.ends_with("range"))
        .unwrap();
    assert!(age(row), "STARTED is not an age: {desc}");
    let offs = text(&["offsets", "-g", "g"]);
    let row = offs.lines().find(|l| l.starts_with("t ")).unwrap();
    assert!(age(row), "LAST COMMIT is not an age: {offs}");
    wait_for(
        "the controller to be active",
        Duration::from_secs(15),
        || text(&["cluster", "status"]).contains("active for"),
    );
    let st = text(&["cluster", "status"]);
    let line = st.lines().next().unwrap();
    assert!(line.contains("heartbeat") && age(line), "{st}");
    kill9(&mut member);
    kill9(&mut ctl);
}

/// Does `line` hold an age: "just now", or a word like "850ms", "3s" or "2m5s" before "ago"?
fn has_age(line: &str) -> bool {
    if line.contains("just now") {
        return true;
    }
    let words: Vec<&str> = line.split_whitespace().collect();
    words.windows(2).any(|w| {
        w[1].trim_end_matches([')', ',']) == "ago"
            && w[0].starts_with(|c: char| c.is_ascii_digit())
            && w[0].ends_with(|c: char| c.is_ascii_alphabetic())
    })
}
