//! The log: batches in segments with sparse indexes, one directory per partition replica.

pub mod batch;
pub mod codec;
pub mod compact;
pub mod epochs;
pub mod file_header;
pub mod follow;
pub mod index;
pub mod producers;
pub mod reader;
mod recover;
pub mod repair;
pub mod retention;
pub mod scan;
pub mod segment;
pub mod split;
pub mod stamp;
pub mod tail;
pub mod verify;
pub mod writer;

pub use follow::Followed;
pub use reader::PartitionReader;
pub use tail::Tail;
pub use writer::{Appended, PartitionWriter, WriterOptions};

#[cfg(test)]
mod follow_tests;
#[cfg(test)]
mod tests;
