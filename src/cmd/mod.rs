//! One module per subcommand: parse arguments into library calls and print results.

pub mod broker;
pub mod cluster;
pub mod consume;
pub mod controller;
pub mod docs;
pub mod dump;
pub mod group;
pub mod metrics;
pub mod mirror;
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
use chute::client::kafka::KafkaSettings;
use chute::client::local::Local;
use chute::cluster::Cluster;
use chute::error::{Error, Result};
use std::io::Write;

/// What the commands run against: this root's directory tree, or a Kafka cluster (`-b`,
/// `--cluster`). The choice is made here once, not in the commands.
pub enum Target {
    Root(Cluster),
    Kafka(KafkaSettings),
}

impl Target {
    /// Topics, producing, consuming and groups, on whichever it is.
    pub fn backend(&self) -> Result<Box<dyn Backend>> {
        match self {
            Target::Root(cluster) => Ok(Box::new(Local {
                cluster: cluster.clone(),
            })),
            Target::Kafka(s) => chute::client::kafka::connect(s),
        }
    }

    /// The directory root, for what only a directory tree has; on Kafka, a usage error (exit
    /// 2) naming `what`.
    pub fn root(&self, what: &str) -> Result<&Cluster> {
        match self {
            Target::Root(cluster) => Ok(cluster),
            Target::Kafka(s) => Err(Error::Usage(format!(
                "{what} works on a chute root, not on a Kafka cluster ({}): Kafka does this itself (its controller, replication and tools)",
                s.bootstrap
            ))),
        }
    }
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

/// The target the top-level options name: a Kafka cluster with `-b` or `--cluster`, else the
/// directory root (`--root`, `$CHUTE_ROOT`, the default).
pub fn target(
    root: Option<std::path::PathBuf>,
    root_given: bool,
    bootstrap: Option<String>,
    cluster: Option<String>,
    properties: Vec<(String, String)>,
) -> Result<Target> {
    if bootstrap.is_none() && cluster.is_none() {
        if let Some((k, _)) = properties.first() {
            return Err(Error::Usage(format!(
                "-X {k}=...: client properties are for a Kafka cluster; give -b HOST:PORT or --cluster NAME"
            )));
        }
        let root = root.unwrap_or_else(chute::cluster::default_root);
        return Ok(Target::Root(Cluster::at(root)));
    }
    if root_given {
        return Err(Error::Usage(
            "--root names a chute root, -b/--cluster a Kafka cluster: give one of them".into(),
        ));
    }
    KafkaSettings::resolve(bootstrap, cluster.as_deref(), properties).map(Target::Kafka)
}
