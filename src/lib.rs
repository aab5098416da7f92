//! chute: Kafka's model on a directory tree. The storage engine lives here; `main.rs` is the CLI.

pub mod error;
pub mod record;

pub use error::{Error, Result};
pub mod input;
pub mod output;
pub mod partitioner;
pub mod fsutil;
pub mod log;
pub mod cluster;
pub mod names;
pub mod topics;
pub mod produce;
pub mod consume;
pub mod cli;
