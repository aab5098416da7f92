//! One module per subcommand: parse arguments into library calls and print results.

pub mod broker;
pub mod cluster;
pub mod consume;
pub mod controller;
pub mod docs;
pub mod dump;
pub mod group;
pub mod metrics;
pub mod offsets;
pub mod produce;
pub mod progress;
pub mod replicate;
pub mod stream;
pub mod table;
pub mod top;
pub mod topic;
pub mod verify;

use chute::client::Backend;
use chute::client::local::Local;
use chute::cluster::Cluster;
use chute::error::{Error, Result};
use std::io::Write;

/// What topic, produce and consume run against. Today always this root's directory tree; the
/// choice of another backend (a Kafka cluster) belongs here, not in the commands.
pub fn backend(cluster: &Cluster) -> Box<dyn Backend> {
    Box::new(Local {
        cluster: cluster.clone(),
    })
}

static QUIET: std::sync::atomic::AtomicBool = std::sync::atomic::AtomicBool::new(false);

/// `-q`: notes are not shown (warnings and errors are).
pub fn set_quiet(q: bool) {
    QUIET.store(q, std::sync::atomic::Ordering::Relaxed);
}

/// A note on stderr ("chute: created topic t ..."): what happened, for a person watching;
/// `-q` silences it. Warnings and errors are never notes.
/// `-q`: notes and progress lines are not shown.
pub fn quiet() -> bool {
    QUIET.load(std::sync::atomic::Ordering::Relaxed)
}

pub fn note(msg: impl std::fmt::Display) {
    if !QUIET.load(std::sync::atomic::Ordering::Relaxed) {
        eprintln!("chute: {msg}");
    }
}

/// Print JSON followed by a newline.
/// Serialized into memory first, so that a write error keeps its kind: a closed pipe
/// (`| head`) must reach `main` as one and end quietly with exit 0.
pub fn print_json<T: serde::Serialize>(v: &T) -> Result<()> {
    let mut buf = serde_json::to_vec(v).map_err(|e| Error::Other(e.to_string()))?;
    buf.push(b'\n');
    print_bytes(&buf)
}

/// Every command's stdout goes through here (never `println!`, which panics on a closed pipe).
pub fn print(s: &str) -> Result<()> {
    print_bytes(s.as_bytes())
}

pub fn print_bytes(b: &[u8]) -> Result<()> {
    let mut out = std::io::stdout().lock();
    out.write_all(b)
        .and_then(|_| out.flush())
        .map_err(|e| Error::stream("stdout", e))
}
