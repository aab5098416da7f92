//! Completions that know the data: after `-t` the topics of the root, after `-g` its groups,
//! after `-p` the partitions of the topics named on the command line, after `--format` the
//! format names. The shell asks the binary itself (clap_complete's
//! dynamic completion: the script `chute completions SHELL` prints calls
//! `COMPLETE=SHELL chute -- <words>`), so what it offers is what exists now.
//!
//! The root is `CHUTE_ROOT`, else the default root: a `--root` typed on the same command line
//! is not seen by the completer.

use chute::client::Backend;
use chute::client::local::Local;
use chute::cluster::{Cluster, default_root};
use clap_complete::engine::{ArgValueCompleter, CompletionCandidate};
use std::ffi::OsStr;

fn backend() -> Local {
    let root = std::env::var_os("CHUTE_ROOT")
        .filter(|r| !r.is_empty())
        .map(std::path::PathBuf::from)
        .unwrap_or_else(default_root);
    Local {
        cluster: Cluster::at(root),
    }
}

fn matching(current: &OsStr, names: Vec<String>) -> Vec<CompletionCandidate> {
    let prefix = current.to_string_lossy();
    names
        .into_iter()
        .filter(|n| n.starts_with(prefix.as_ref()))
        .map(CompletionCandidate::new)
        .collect()
}

fn topics(current: &OsStr) -> Vec<CompletionCandidate> {
    let names = backend()
        .list_topics()
        .map(|ts| ts.into_iter().map(|t| t.name).collect())
        .unwrap_or_default();
    matching(current, names)
}

fn groups(current: &OsStr) -> Vec<CompletionCandidate> {
    let names = chute::group::list(&backend().cluster)
        .map(|gs| gs.into_iter().map(|g| g.name).collect())
        .unwrap_or_default();
    matching(current, names)
}

/// The partitions of every topic named on the command line being completed (the shell passes
/// its words after `--`): `consume -t orders -p <Tab>` offers orders' partitions, and so does
/// `topic reassign orders -p <Tab>`.
fn partitions(current: &OsStr) -> Vec<CompletionCandidate> {
    let Ok(md) = backend().cluster.metadata() else {
        return Vec::new();
    };
    let words: Vec<String> = std::env::args()
        .skip_while(|a| a != "--")
        .flat_map(|w| {
            // `--topic=orders` and `-torders` name it too.
            let v = w
                .strip_prefix("--topic=")
                .or_else(|| w.strip_prefix("-t").filter(|v| !v.is_empty()))
                .map(str::to_string);
            [Some(w), v]
        })
        .flatten()
        .collect();
    let most = md
        .topics
        .iter()
        .filter(|(name, _)| words.iter().any(|w| w == *name))
        .map(|(_, t)| t.partitions.len())
        .max()
        .unwrap_or(0);
    matching(current, (0..most).map(|p| p.to_string()).collect())
}

fn formats(current: &OsStr) -> Vec<CompletionCandidate> {
    matching(current, ["raw", "json", "csv"].map(String::from).to_vec())
}

pub fn topic() -> ArgValueCompleter {
    ArgValueCompleter::new(topics)
}

pub fn group() -> ArgValueCompleter {
    ArgValueCompleter::new(groups)
}

pub fn partition() -> ArgValueCompleter {
    ArgValueCompleter::new(partitions)
}

pub fn format() -> ArgValueCompleter {
    ArgValueCompleter::new(formats)
}
