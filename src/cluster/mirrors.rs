//! What each mirror of this root last said about itself (`<root>/mirrors/NAME.DIRECTION.json`),
//! for the operator's view (`top`, `metrics`). A running mirror rewrites its file as it
//! commits and when it starts waiting for the cluster; nothing reads it to decide anything:
//! the mirror's positions live where docs/mirror.md says (the cluster's transactions, the
//! root's own log), and this file only repeats them.

use super::Cluster;
use crate::error::{Error, Result};
use crate::fsutil;
use crate::versioned::{Kind, read_versioned, write_versioned};
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;
use std::path::PathBuf;

const KIND: Kind = Kind {
    format: "chute-mirror-status",
    version: 1,
    what: "mirror status file",
    on_other_version: "written by another chute; it is only for display, so delete it or let the mirror rewrite it",
};

/// Larger than any status of a sane number of partitions; a bigger file is not ours.
const MAX_BYTES: u64 = 16 << 20;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum Direction {
    ToKafka,
    FromKafka,
}

impl Direction {
    pub fn name(self) -> &'static str {
        match self {
            Direction::ToKafka => "to-kafka",
            Direction::FromKafka => "from-kafka",
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum MirrorState {
    /// Copying, or following and up to date.
    Copying,
    /// The cluster could not be reached; the next session starts at `retry_at_ms`.
    Waiting,
    /// Ended by itself (a one-shot run that reached the ends) or by a stop signal.
    Stopped,
    /// Ended with an error (`error`).
    Failed,
}

/// One source partition: where the mirror resumes, and the source's end as the mirror last
/// saw it (None until it has).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct PartitionStatus {
    pub position: u64,
    pub source_end: Option<u64>,
}

#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct TopicStatus {
    /// The destination topic.
    pub to: String,
    pub partitions: BTreeMap<u32, PartitionStatus>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct MirrorStatus {
    pub name: String,
    pub direction: Direction,
    /// The cluster's bootstrap servers.
    pub cluster: String,
    pub pid: u32,
    pub host: String,
    pub state: MirrorState,
    /// Why it waits or failed.
    pub error: Option<String>,
    pub started_ms: i64,
    pub updated_ms: i64,
    pub last_commit_ms: Option<i64>,
    pub retry_at_ms: Option<i64>,
    /// Figures of this run (since `started_ms`).
    pub records: u64,
    pub transactions: u64,
    pub restarts: u64,
    /// Source topics, by name.
    pub topics: BTreeMap<String, TopicStatus>,
}

impl Cluster {
    pub fn mirrors_dir(&self) -> PathBuf {
        self.root.join("mirrors")
    }

    fn mirror_status_path(&self, name: &str, d: Direction) -> PathBuf {
        self.mirrors_dir().join(format!("{name}.{}.json", d.name()))
    }

    /// Replace the mirror's status file (atomically: a reader sees the old or the new one; not
    /// fsynced, since it is rewritten at every commit and only shown).
    pub fn write_mirror_status(&self, s: &MirrorStatus) -> Result<()> {
        let dir = self.mirrors_dir();
        fsutil::create_own_dirs(&self.root, &dir)?;
        fsutil::replace_unsynced(
            &self.mirror_status_path(&s.name, s.direction),
            &write_versioned(s, &KIND, true),
        )
    }

    /// Every mirror's last status, by name and direction; a file that cannot be read is
    /// reported in the second list (path and why), not fatal: the view is for finding such
    /// things.
    pub fn mirror_statuses(&self) -> Result<(Vec<MirrorStatus>, Vec<String>)> {
        let dir = self.mirrors_dir();
        if !fsutil::own_dir_exists(&dir)? {
            return Ok((Vec::new(), Vec::new()));
        }
        let mut out = Vec::new();
        let mut bad = Vec::new();
        let mut paths: Vec<PathBuf> = std::fs::read_dir(&dir)
            .map_err(|e| Error::io(&dir, e))?
            .filter_map(|e| e.ok().map(|e| e.path()))
            .filter(|p| {
                p.file_name()
                    .and_then(|n| n.to_str())
                    .is_some_and(|n| !n.starts_with('.') && n.ends_with(".json"))
            })
            .collect();
        paths.sort();
        for p in paths {
            match fsutil::read_small(&p, MAX_BYTES)
                .and_then(|b| read_versioned::<MirrorStatus>(&p, &b, &KIND))
            {
                Ok(s) => out.push(s),
                Err(e) => bad.push(e.to_string()),
            }
        }
        Ok((out, bad))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn status(name: &str, d: Direction) -> MirrorStatus {
        MirrorStatus {
            name: name.into(),
            direction: d,
            cluster: "127.0.0.1:9092".into(),
            pid: 1,
            host: "h".into(),
            state: MirrorState::Copying,
            error: None,
            started_ms: 1,
            updated_ms: 2,
            last_commit_ms: Some(2),
            retry_at_ms: None,
            records: 3,
            transactions: 1,
            restarts: 0,
            topics: BTreeMap::from([(
                "t".into(),
                TopicStatus {
                    to: "dc1.t".into(),
                    partitions: BTreeMap::from([(
                        0,
                        PartitionStatus {
                            position: 3,
                            source_end: Some(5),
                        },
                    )]),
                },
            )]),
        }
    }

    #[test]
    fn statuses_round_trip_per_direction_and_a_bad_file_is_named_not_fatal() {
        let dir = tempfile::tempdir().unwrap();
        let c = Cluster::at(dir.path().to_path_buf());
        assert_eq!(c.mirror_statuses().unwrap(), (Vec::new(), Vec::new()));
        let (a, b) = (
            status("m", Direction::ToKafka),
            status("m", Direction::FromKafka),
        );
        c.write_mirror_status(&a).unwrap();
        c.write_mirror_status(&b).unwrap();
        std::fs::write(c.mirrors_dir().join("x.to-kafka.json"), b"{\"format\":1}").unwrap();
        let (got, bad) = c.mirror_statuses().unwrap();
        assert_eq!(got, vec![b, a]);
        assert_eq!(bad.len(), 1);
        assert!(bad[0].contains("x.to-kafka.json"), "{bad:?}");
    }

    #[test]
    fn a_planted_link_in_place_of_the_directory_is_refused() {
        let dir = tempfile::tempdir().unwrap();
        let elsewhere = tempfile::tempdir().unwrap();
        let c = Cluster::at(dir.path().to_path_buf());
        std::os::unix::fs::symlink(elsewhere.path(), c.mirrors_dir()).unwrap();
        let e = c
            .write_mirror_status(&status("m", Direction::ToKafka))
            .unwrap_err();
        assert!(e.to_string().contains("symbolic link"), "{e}");
        assert_eq!(std::fs::read_dir(elsewhere.path()).unwrap().count(), 0);
        assert!(c.mirror_statuses().is_err());
    }
}
