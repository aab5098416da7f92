//! Replica directories: creating one (with its first segment and tail) and the tag that says
//! which topic it was made for, so that a directory left by an earlier topic of the same name
//! is never taken for this one's.

use crate::cluster::config::TopicConfig;
use crate::cluster::metadata::PartitionMeta;
use crate::error::{Error, Result};
use crate::fsutil;
use crate::log::{PartitionWriter, WriterOptions};
use crate::versioned::{Kind, write_versioned};

/// Writer options for a partition of a topic.
pub fn writer_options(cfg: &TopicConfig, p: &PartitionMeta) -> WriterOptions {
    WriterOptions {
        segment_bytes: cfg.segment_bytes,
        segment_ms: Some(cfg.segment_ms),
        leader_epoch: p.leader_epoch,
        ..Default::default()
    }
}

/// Read field by field (replica_topic_id, replica_belongs), not refused by version: a replica a
/// newer chute made for the same topic still belongs to it.
const REPLICA_KIND: Kind = Kind {
    format: "chute-replica",
    version: 1,
    what: "replica tag",
    on_other_version: "upgrade chute",
};
const REPLICA_FILE: &str = "replica.json";

/// Make an empty replica directory with its first segment and tail, tagged with the topic's id.
/// A directory left over from an earlier topic of the same name (a crash mid-delete, or a
/// broker that was down when the topic was deleted) is moved to the trash first.
pub fn create_replica(
    dir: &std::path::Path,
    name: &str,
    opts: WriterOptions,
    topic_id: &str,
) -> Result<()> {
    // `symlink_metadata`: a dangling link is in the way too (and is removed as a link).
    if std::fs::symlink_metadata(dir).is_ok() {
        fsutil::remove_tree(dir)?;
    }
    // Only the replica directory itself: a broker directory that is missing is a disk that is
    // gone, and creating it again would put data on the mount point's file system.
    let broker = fsutil::parent_of(dir);
    std::fs::create_dir(dir).map_err(|e| match e.kind() {
        std::io::ErrorKind::NotFound => Error::NotFound(format!(
            "partition {name}: broker directory {} does not exist",
            broker.display()
        )),
        _ => Error::io(dir, e),
    })?;
    let tag = write_versioned(
        &serde_json::json!({"topic_id": topic_id}),
        &REPLICA_KIND,
        false,
    );
    let r = fsutil::sync_dir(broker)
        .and_then(|()| fsutil::atomic_write(&dir.join(REPLICA_FILE), &tag))
        .and_then(|()| PartitionWriter::open(dir, name, opts)?.recover().map(drop));
    if r.is_err() {
        // Nobody knows this directory yet (metadata does not list it): a failed create (a full
        // disk) takes it away again rather than leave its files, and the space, behind.
        let _ = fsutil::remove_tree(dir);
    }
    r
}

/// The topic id a replica directory is tagged with, if its tag can be read.
pub fn replica_topic_id(dir: &std::path::Path) -> Option<String> {
    let b = fsutil::read_small(&dir.join(REPLICA_FILE), 1 << 16).ok()?;
    let v: serde_json::Value = serde_json::from_slice(&b).ok()?;
    v.get("topic_id")?.as_str().map(str::to_string)
}

/// Whether the replica in `dir` was created for the topic with this id. A replica without a
/// tag (made by an older chute) is given the benefit of the doubt.
pub fn replica_belongs(dir: &std::path::Path, topic_id: &str) -> bool {
    match fsutil::read_small(&dir.join(REPLICA_FILE), 1 << 16) {
        Ok(b) => serde_json::from_slice::<serde_json::Value>(&b)
            .ok()
            .and_then(|v| {
                v.get("topic_id")
                    .and_then(|x| x.as_str())
                    .map(|x| x == topic_id)
            })
            .unwrap_or(false),
        // Missing: made by an older chute. Unreadable for another reason (EIO, EACCES): do not
        // conclude the replica is foreign, which would delete it.
        Err(_) => true,
    }
}
