//! Completions that know the data, in real shells: bash, zsh and fish run in tmux, load the
//! script `chute completions SHELL` prints, and Tab after `chute consume -t ` lists the topics
//! of the current root (`CHUTE_ROOT`), after `-g ` its groups.

use crate::util::*;
use std::process::Command;
use std::time::Duration;

struct Tmux {
    session: String,
}

impl Tmux {
    /// `shell` running in a detached tmux session, with chute on PATH and the test's root.
    fn start(env: &Env, shell: &str) -> Tmux {
        let session = format!(
            "chute-{}-{}",
            std::process::id(),
            shell.split(' ').next().unwrap()
        );
        let bin_dir = bin().parent().unwrap().to_path_buf();
        let path = format!("{}:{}", bin_dir.display(), std::env::var("PATH").unwrap());
        let cmd = format!(
            "env PATH='{path}' CHUTE_ROOT='{}' TERM=xterm {shell}",
            env.root().display()
        );
        let st = Command::new("tmux")
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

    fn keys(&self, keys: &[&str]) {
        let st = Command::new("tmux")
            .args(["send-keys", "-t", &self.session])
            .args(keys)
            .status()
            .unwrap();
        assert!(st.success());
    }

    fn screen(&self) -> String {
        let out = Command::new("tmux")
            .args(["capture-pane", "-p", "-t", &self.session])
            .output()
            .unwrap();
        String::from_utf8_lossy(&out.stdout).into_owned()
    }

    /// Wait until the screen shows every one of `words` after the first line containing
    /// `after`.
    fn wait_screen(&self, what: &str, after: &str, words: &[&str]) {
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
        let _ = Command::new("tmux")
            .args(["kill-session", "-t", &self.session])
            .status();
    }
}

fn have(tool: &str) -> bool {
    Command::new("sh")
        .args(["-c", &format!("command -v {tool}")])
        .output()
        .is_ok_and(|o| o.status.success())
}

fn data() -> Env {
    let env = Env::new();
    for t in ["orders", "ordinals", "events"] {
        env.create_topic(t, 1, &[]);
    }
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
