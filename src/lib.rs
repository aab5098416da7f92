//! chute: Kafka's model on a directory tree. The storage engine lives here; the binary
//! (`main.rs`, `cli.rs` for the clap types, `cmd/` with one thin file per subcommand,
//! `logging.rs` for daemon log lines, `complete.rs` for shell completions) parses arguments,
//! calls into this library and maps errors to exit codes. The library reports daemon events
//! through `tracing`; the binary decides how they are written.
//!
//! Each folder is one layer and uses only the layers below it (`tests/it/layers.rs` checks):
//!
//! ```text
//!  mirror/                    `chute mirror`: topics copied to a Kafka cluster, exactly once,
//!     │                       with their positions in the same Kafka transactions
//!  client/  snapshot          the seam the commands call for topics, produce, consume, groups
//!     │                       (client::Backend; local: this directory tree); one look at the
//!     │                       whole cluster for `top` and `metrics`
//!  stream/                    `chute stream`: a group's --exec output produced to a topic,
//!     │                       exactly once with its input position (intent, retry-safe output)
//!  group/  controller/        consumer groups (membership, assignment, commits, delivery);
//!     │        │              the controller's passes (liveness, ISR, retention, compaction)
//!  produce/  consume          records -> partitions -> batches; cursors below the watermark
//!     │        │
//!  topics                     create, alter, describe, delete
//!     │
//!  replica/                   follower sync, high watermark, ISR and leadership rules,
//!     │                       replica directories, reassignment, drain, rebuild
//!  cluster/                   metadata.json, brokers, topic configs, watching a topic
//!     │
//!  log/                       one partition: segments, indexes, tail, writer, recovery,
//!     │                       reader, verify and repair, retention and compaction of a log
//!  input/ output/ watch      parsing produce input; formatting and writing consume output;
//!     │                       waiting on file events
//!  fsutil names record time   files without following links, locks; valid names; records;
//!  versioned                  the time parser and formatter; the format+version header of
//!                             every JSON file
//!  signals failpoint error    stop signals; crash windows for tests; errors and exit codes
//! ```

pub mod error;
#[macro_use]
pub mod failpoint;
pub mod record;

pub use error::{Error, Result};
pub mod client;
pub mod cluster;
pub mod consume;
pub mod controller;
pub mod fsutil;
pub mod group;
pub mod input;
pub mod log;
pub mod mirror;
pub mod names;
pub mod output;
pub mod partitioner;
pub mod produce;
pub mod replica;
pub mod signals;
pub mod snapshot;
pub mod stream;
pub mod time;
pub mod topics;
pub mod versioned;
pub mod watch;
