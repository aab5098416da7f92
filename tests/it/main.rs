//! chute's integration tests: one binary, real processes, temporary roots.

mod util;

mod args;
mod backends;
#[cfg(feature = "failpoints")]
mod brokerops;
mod compaction;
mod completions;
mod compression;
mod consume_topics;
mod crash;
#[cfg(feature = "failpoints")]
mod crashpoints;
mod diskfull;
mod docs;
mod errors;
mod expansion;
mod fuzz;
mod groups;
mod habits;
mod hardening;
mod health;
mod idempotent;
mod layers;
mod logs;
mod metrics;
mod mirror;
mod partitioning;
mod produce_consume;
mod replication;
mod replication_crash;
mod retention;
mod stopping;
mod streams;
mod topics;
