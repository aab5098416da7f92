//! Completions that know the data, in real shells: bash, zsh and fish run in tmux, load the
//! script `chute completions SHELL` prints, and Tab after `chute consume -t ` lists the topics
//! of the current root (`CHUTE_ROOT`), after `-g ` its groups, after `-p ` the topic's partitions.

use crate::util::*;
use std::process::Command;

fn have(tool: &str) -> bool {
    Command::new("sh")
        .args(["-c", &format!("command -v {tool}")])
        .output()
        .is_ok_and(|o| o.status.success())
}

fn data() -> Env {
    let env = Env::new();
    for t in ["orders", "ordinals"] {
        env.create_topic(t, 1, &[]);
    }
    env.create_topic("events", 12, &[]);
    env.produce("orders", "x\n", &[]);
    env.consume("orders", &["-g", "billing"]);
    env
}

/// Load the completion script, type `chute consume -t ` and Tab: the topics appear; then
/// `-g b` + Tab completes the group.
fn check(shell: &str, setup: &[&str], list: &[&str]) {
    for tool in ["tmux", shell.split(' ').next().unwrap()] {
        assert!(
            have(tool),
            "{tool} is needed: tests/run.sh installs it from Debian's packages"
        );
    }
    let env = data();
    let t = Tmux::start(&env, shell);
    for line in setup {
        t.keys(&[line, "Enter"]);
    }
    t.keys(&["echo READY", "Enter"]);
    t.wait_screen(&format!("{shell} to start"), "echo READY", &["\nREADY"]);
    t.keys(&["chute consume -t "]);
    t.keys(list);
    t.wait_screen(
        &format!("{shell}: topics after -t"),
        "chute consume -t",
        &["events", "orders", "ordinals"],
    );
    t.keys(&["C-c"]);
    t.keys(&["clear", "Enter"]);
    t.keys(&["chute consume -t orders -g b", "Tab"]);
    t.wait_screen(
        &format!("{shell}: the group after -g"),
        "chute consume",
        &["-g billing"],
    );
    // After -p, the partitions of the topic named before it: 1, 10 and 11 of events' 12.
    t.keys(&["C-c"]);
    t.keys(&["clear", "Enter"]);
    t.keys(&["chute consume -t events -p 1"]);
    t.keys(list);
    t.wait_screen(
        &format!("{shell}: partitions after -p"),
        "-p 1",
        &["10", "11"],
    );
}

#[test]
fn bash_completes_topics_and_groups_from_the_root() {
    check(
        "bash --norc --noprofile",
        &["source <(chute completions bash)"],
        &["Tab", "Tab"],
    );
}

#[test]
fn zsh_completes_topics_and_groups_from_the_root() {
    check(
        "zsh -f",
        &[
            "autoload -U compinit && compinit -u",
            "source <(chute completions zsh)",
        ],
        &["Tab"],
    );
}

#[test]
fn fish_completes_topics_and_groups_from_the_root() {
    check(
        "fish --no-config",
        &["chute completions fish | source"],
        &["Tab"],
    );
}
