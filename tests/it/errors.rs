//! Every bad name, flag, config value and input line: a clear error and a documented exit code.

use crate::util::*;
use predicates::prelude::*;

fn fails(env: &Env, args: &[&str], stdin: &str, code: i32, needle: &str) {
    let out = env
        .chute()
        .args(args)
        .write_stdin(stdin.to_string())
        .output()
        .unwrap();
    let err = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(code), "{args:?}: {err}");
    assert!(
        err.contains(needle),
        "{args:?}: expected {needle:?} in: {err}"
    );
    assert!(
        !err.contains("panicked") && !err.contains("RUST_BACKTRACE"),
        "{err}"
    );
}

#[test]
fn bad_topic_names_are_usage_errors() {
    let env = Env::new();
    let long = "x".repeat(250);
    for name in [
        "",
        ".",
        "..",
        "a/b",
        "../escape",
        "sp ace",
        "ünï",
        long.as_str(),
    ] {
        fails(&env, &["topic", "create", name], "", 2, "topic name");
        fails(&env, &["produce", "-t", name], "x\n", 2, "topic name");
    }
    assert!(!env.root().join("escape").exists());
}

#[test]
fn bad_configs_name_the_key() {
    let env = Env::new();
    fails(
        &env,
        &["topic", "create", "t", "--config", "retention=soon"],
        "",
        2,
        "retention",
    );
    fails(
        &env,
        &["topic", "create", "t", "--config", "nosuch=1"],
        "",
        2,
        "nosuch",
    );
    fails(
        &env,
        &["topic", "create", "t", "--config", "segment.bytes=12"],
        "",
        2,
        "segment.bytes",
    );
    fails(
        &env,
        &["topic", "create", "t", "--config", "cleanup.policy=shred"],
        "",
        2,
        "cleanup.policy",
    );
    fails(
        &env,
        &["topic", "create", "t", "--config", "noequals"],
        "",
        2,
        "KEY=VALUE",
    );
    fails(
        &env,
        &["topic", "create", "t", "--partitions", "0"],
        "",
        2,
        "--partitions",
    );
    fails(
        &env,
        &["topic", "create", "t", "--replication-factor", "2"],
        "",
        2,
        "replication-factor",
    );
    fails(
        &env,
        &["topic", "create", "t", "--config", "min.insync.replicas=2"],
        "",
        2,
        "min.insync.replicas",
    );
    env.chute()
        .args(["topic", "list"])
        .assert()
        .success()
        .stdout("");
}

#[test]
fn bad_flags_are_usage_errors() {
    let env = Env::new();
    fails(
        &env,
        &["produce", "-t", "t", "--acks", "2"],
        "",
        2,
        "--acks",
    );
    fails(
        &env,
        &["produce", "-t", "t", "--linger", "soon"],
        "",
        2,
        "--linger",
    );
    fails(
        &env,
        &["produce", "-t", "t", "--batch-size", "lots"],
        "",
        2,
        "--batch-size",
    );
    fails(
        &env,
        &["produce", "-t", "t", "-H", "novalue"],
        "",
        2,
        "novalue",
    );
    fails(
        &env,
        &["consume", "-t", "t", "--from", "yesterday"],
        "",
        2,
        "--from",
    );
    fails(
        &env,
        &["consume", "-t", "t", "--since", "whenever"],
        "",
        2,
        "--since",
    );
    fails(
        &env,
        &["consume", "-t", "t", "--format", "yaml"],
        "",
        2,
        "yaml",
    );
    fails(&env, &["consume", "-t", "t", "--format", "%Q"], "", 2, "%Q");
    fails(
        &env,
        &["consume", "-t", "t", "--from", "stored"],
        "",
        2,
        "group",
    );
    fails(&env, &["nosuchcommand"], "", 2, "nosuchcommand");
}

#[test]
fn unknown_topic_and_partition_are_exit_1() {
    let env = Env::new();
    fails(&env, &["consume", "-t", "missing"], "", 1, "missing");
    env.produce("one", "a\n", &[]);
    fails(
        &env,
        &["consume", "-t", "missing"],
        "",
        1,
        "unknown topic \"missing\"",
    );
    fails(&env, &["offsets", "-t", "missing"], "", 1, "missing");
    fails(&env, &["topic", "describe", "missing"], "", 1, "missing");
    fails(&env, &["topic", "delete", "missing"], "", 1, "missing");
    fails(
        &env,
        &["consume", "-t", "one", "-p", "3"],
        "",
        1,
        "no partition 3",
    );
    fails(
        &env,
        &["produce", "-t", "one", "-p", "3"],
        "x\n",
        1,
        "no partition 3",
    );
    fails(&env, &["topic", "create", "one"], "", 1, "already exists");
    env.chute()
        .args(["topic", "create", "one", "--if-not-exists"])
        .assert()
        .success();
}

#[test]
fn bad_input_lines_are_exit_65_naming_the_line_and_keep_what_came_before() {
    let env = Env::new();
    fails(
        &env,
        &["produce", "-t", "k", "-K", ":"],
        "a:1\nb:2\nnokey\nc:3\n",
        65,
        "line 3",
    );
    assert_eq!(env.consume("k", &["--format", "%k=%s\\n"]), b"a=1\nb=2\n");
    env.produce("k", "nokey\n", &["-K", ":", "--key-optional"]);
    assert_eq!(
        env.consume("k", &["--format", "%K|%s\\n", "--from", "2"]),
        b"-1|nokey\n"
    );

    fails(
        &env,
        &["produce", "-t", "j", "--format", "json"],
        "{\"value\":\"ok\"}\nnot json\n",
        65,
        "line 2",
    );
    fails(
        &env,
        &["produce", "-t", "j", "--format", "json"],
        "{\"key\":\"k\"}\n",
        65,
        "value",
    );
    fails(
        &env,
        &["produce", "-t", "j", "--format", "json"],
        "{\"value\":\"x\",\"partition\":9}\n",
        65,
        "partition 9",
    );
    assert_eq!(env.consume("j", &[]), b"ok\n");
    fails(
        &env,
        &["produce", "-t", "c", "--format", "csv"],
        "a,b\nonly-one-field\n",
        65,
        "2",
    );
}

#[test]
fn oversized_record_is_refused_naming_the_line() {
    let env = Env::new();
    env.create_topic("big", 1, &["--config", "max.message.bytes=1KiB"]);
    let input = format!("small\n{}\nafter\n", "x".repeat(2000));
    fails(&env, &["produce", "-t", "big"], &input, 65, "line 2");
    let out = env
        .chute()
        .args(["produce", "-t", "big"])
        .write_stdin(input)
        .output()
        .unwrap();
    assert!(String::from_utf8_lossy(&out.stderr).contains("max.message.bytes"));
    assert_eq!(env.consume("big", &[]), b"small\nsmall\n");
}

#[test]
fn missing_input_file_is_an_io_error() {
    let env = Env::new();
    fails(
        &env,
        &["produce", "-t", "f", "--file", "/nonexistent/in.txt"],
        "",
        74,
        "/nonexistent/in.txt",
    );
}

#[test]
fn corrupt_metadata_is_refused_clearly() {
    let env = Env::new();
    env.produce("t", "a\n", &[]);
    std::fs::write(
        env.root().join("metadata.json"),
        "{\"format\":\"chute-metadata\",\"version\":99}",
    )
    .unwrap();
    fails(&env, &["consume", "-t", "t"], "", 74, "version 99");
    std::fs::write(env.root().join("metadata.json"), "garbage").unwrap();
    fails(&env, &["topic", "list"], "", 74, "metadata.json");
}

#[test]
fn help_and_version_exit_0() {
    let env = Env::new();
    env.chute()
        .arg("--help")
        .assert()
        .success()
        .stdout(predicate::str::contains("Exit codes"));
    env.chute().arg("--version").assert().success();
}

#[test]
fn a_wrong_disk_at_a_broker_path_is_refused_and_left_alone() {
    let env = Env::new();
    env.produce("t", "a\n", &[]);
    let tag = env.root().join("brokers/0/broker.json");
    let mine = std::fs::read(&tag).unwrap();
    // Another cluster's disk mounted where broker 0 should be.
    std::fs::write(
        &tag,
        r#"{"format":"chute-broker","version":1,"cluster_id":"0000000000000bad","id":0}"#,
    )
    .unwrap();
    fails(&env, &["produce", "-t", "t"], "b\n", 74, "wrong disk");
    std::fs::write(
        &tag,
        r#"{"format":"chute-broker","version":7,"cluster_id":"x","id":0}"#,
    )
    .unwrap();
    fails(&env, &["produce", "-t", "t"], "b\n", 74, "version 7");
    std::fs::write(&tag, mine).unwrap();
    assert_eq!(
        env.consume("t", &[]),
        b"a\n",
        "nothing was written meanwhile"
    );
}

#[test]
fn a_relative_root_is_created_and_found_again() {
    let env = Env::new();
    let cwd = env.dir.path();
    let run = |args: &[&str], stdin: &str| {
        assert_cmd::Command::new(bin())
            .current_dir(cwd)
            .env_remove("CHUTE_ROOT")
            .args(args)
            .write_stdin(stdin)
            .assert()
            .success()
            .get_output()
            .stdout
            .clone()
    };
    run(&["--root", "rel", "produce", "-t", "t", "-q"], "x\n");
    run(&["--root", "nested/rel", "produce", "-t", "t", "-q"], "y\n");
    assert_eq!(run(&["--root", "rel", "consume", "-t", "t"], ""), b"x\n");
    assert_eq!(
        run(&["--root", "nested/rel", "consume", "-t", "t"], ""),
        b"y\n"
    );
}
