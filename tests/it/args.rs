//! Typed arguments: a bad duration, size, time, `--from`, `--format`, ... is a clap usage error
//! (exit 2) naming the flag, the value and what was expected, before anything is opened.

use crate::util::*;

/// Runs chute (on a root that must stay untouched) and returns its stderr, asserting exit 2.
fn usage_error(env: &Env, args: &[&str]) -> String {
    let out = env.chute().args(args).output().unwrap();
    let err = String::from_utf8_lossy(&out.stderr).into_owned();
    assert_eq!(out.status.code(), Some(2), "{args:?}: {err}");
    assert!(!err.contains("panicked"), "{err}");
    assert!(
        !env.root().exists(),
        "{args:?}: a bad value must be refused before the root is touched"
    );
    err
}

/// A usage error whose message names each of `needles`.
fn refused(env: &Env, args: &[&str], needles: &[&str]) {
    assert_names(&usage_error(env, args), needles);
}

fn assert_names(err: &str, needles: &[&str]) {
    for n in needles {
        assert!(err.contains(n), "expected {n:?} in: {err}");
    }
}

#[test]
fn a_bad_duration_names_the_flag_the_value_and_examples() {
    let env = Env::new();
    refused(
        &env,
        &["produce", "-t", "t", "--timeout", "soonish"],
        &["'--timeout <DUR>'", "'soonish'", "not a duration", "10s"],
    );
    refused(
        &env,
        &["topic", "delete", "t", "--lock-timeout", "5 fortnights"],
        &["'--lock-timeout <DUR>'", "'5 fortnights'"],
    );
    refused(
        &env,
        &["controller", "--session-timeout", "x"],
        &["'--session-timeout <DUR>'", "'x'"],
    );
    refused(
        &env,
        &["controller", "--preferred-leader-interval", "rarely"],
        &["'--preferred-leader-interval <DUR>'", "'rarely'", "off"],
    );
    refused(
        &env,
        &[
            "consume",
            "-t",
            "t",
            "-g",
            "g",
            "--commit-interval",
            "often",
        ],
        &["'--commit-interval <DUR>'", "'often'"],
    );
}

#[test]
fn a_bad_size_names_the_flag_the_value_and_the_units() {
    let env = Env::new();
    refused(
        &env,
        &["produce", "-t", "t", "--batch-size", "12parsecs"],
        &[
            "'--batch-size <SIZE>'",
            "'12parsecs'",
            "unknown size unit",
            "MiB",
        ],
    );
}

#[test]
fn a_bad_time_names_the_flag_the_value_and_the_accepted_forms() {
    let env = Env::new();
    for (args, flag) in [
        (
            &["consume", "-t", "t", "--since", "teatime"][..],
            "'--since <TIME>'",
        ),
        (
            &["consume", "-t", "t", "--until", "teatime"][..],
            "'--until <TIME>'",
        ),
        (
            &["offsets", "-t", "t", "--at", "teatime"][..],
            "'--at <TIME>'",
        ),
        (
            &[
                "offsets",
                "reset",
                "-g",
                "g",
                "-t",
                "t",
                "--to-datetime",
                "teatime",
            ][..],
            "'--to-datetime <TIME>'",
        ),
    ] {
        refused(
            &env,
            args,
            &[
                flag,
                "'teatime'",
                "2026-11-20T10:00:00Z",
                "epoch milliseconds",
            ],
        );
    }
    refused(
        &env,
        &[
            "offsets",
            "reset",
            "-g",
            "g",
            "-t",
            "t",
            "--by-duration",
            "a while",
        ],
        &["'--by-duration <DUR>'", "'a while'", "not a duration"],
    );
}

#[test]
fn a_bad_from_format_or_on_failure_names_the_flag_and_the_value() {
    let env = Env::new();
    refused(
        &env,
        &["consume", "-t", "t", "--from", "-x"],
        &["'--from <SPEC>'", "'-x'", "beginning, end, stored"],
    );
    refused(
        &env,
        &["consume", "-t", "t", "--format", "%k %z"],
        &["'--format <FORMAT>'", "'%k %z'", "unknown token %z"],
    );
    refused(
        &env,
        &[
            "consume",
            "-t",
            "t",
            "-g",
            "g",
            "--exec",
            "true",
            "--on-failure",
            "dead-letter=a/b",
        ],
        &["'--on-failure <", "'dead-letter=a/b'", "topic name"],
    );
    refused(
        &env,
        &["produce", "-t", "t", "-D", "\\xZZ"],
        &["'--delimiter <DELIM>'", "two hex digits"],
    );
    refused(
        &env,
        &["produce", "-t", "t", "--acks", "2"],
        &["'--acks <ACKS>'", "'2'", "possible values: 0, 1, all"],
    );
}

#[test]
fn help_shows_the_type_of_each_value() {
    let env = Env::new();
    let help = |args: &[&str]| {
        let out = env.chute().args(args).arg("--help").output().unwrap();
        assert_eq!(out.status.code(), Some(0));
        String::from_utf8_lossy(&out.stdout).into_owned()
    };
    assert_names(
        &help(&["produce"]),
        &["--linger <DUR>", "--batch-size <SIZE>", "--timeout <DUR>"],
    );
    assert_names(
        &help(&["consume"]),
        &[
            "--from <SPEC>",
            "--since <TIME>",
            "--until <TIME>",
            "--format <FORMAT>",
        ],
    );
    assert_names(&help(&["controller"]), &["--interval <DUR>"]);
}

#[test]
fn good_typed_values_still_work() {
    let env = Env::new();
    env.produce(
        "t",
        "a\tb\0c\td\0",
        &[
            "-0",
            "-K",
            "\\t",
            "--batch-size",
            "1KiB",
            "--linger",
            "0",
            "--timeout",
            "2s",
        ],
    );
    // --since decides where reading starts when both are given: each on its own.
    assert_eq!(
        env.consume("t", &["--format", "%k=%s;", "--from", "-1"]),
        b"c=d;"
    );
    assert_eq!(
        env.consume("t", &["--format", "%k=%s;", "--since", "1h"]),
        b"a=b;c=d;"
    );
    assert_eq!(env.consume("t", &["--from", "1", "-D", "\\x2c"]), b"d,");
    assert_eq!(env.consume("t", &["--until", "1970-01-01T00:00:00Z"]), b"");
}
