//! chute: Kafka's model on a directory tree. The storage engine lives here; `main.rs` is the CLI.

pub mod error;
#[macro_use]
pub mod failpoint;
pub mod record;

pub use error::{Error, Result};
pub mod cluster;
pub mod consume;
pub mod controller;
pub mod fsutil;
pub mod group;
pub mod input;
pub mod log;
pub mod names;
pub mod output;
pub mod partitioner;
pub mod produce;
pub mod replica;
pub mod signals;
pub mod time;
pub mod topics;
pub mod watch;
