//! Committed offsets and partition ownership.
//!
//! Offset file format (`offsets/<topic>/<p>.json`, replaced atomically: temp, fsync, rename,
//! fsync dir): `{"format": "chute-group-offset", "version": 1, "group", "topic", "topic_id",
//! "partition", "offset", "committed_ms", "member"}`. `offset` is the next record to deliver.
//! `topic_id` ties the offset to one incarnation of the topic: after a topic is deleted and
//! created again, old offsets are ignored (with a warning) instead of skipping new records.
//!
//! Owner lock format (`owners/<topic>/<p>.lock`): empty while free; while held, one line
//! `<member-id> <pid> <host>\n`. The flock is the truth; the text only names the holder (a
//! holder killed with -9 leaves its line behind, so readers check that member is live).

use super::Group;
use crate::error::{Error, Result};
use crate::fsutil;
use crate::versioned::{Kind, read_versioned, write_versioned};
use serde::{Deserialize, Serialize};
use std::fs::{File, OpenOptions, TryLockError};
use std::io::Write;
use std::os::unix::fs::FileExt;
use std::path::{Path, PathBuf};

pub const FORMAT: &str = "chute-group-offset";
pub const VERSION: u64 = 1;

const KIND: Kind = Kind {
    format: FORMAT,
    version: VERSION,
    what: "committed-offset file",
    on_other_version: "upgrade chute",
};

#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Committed {
    pub format: String,
    pub version: u64,
    pub group: String,
    pub topic: String,
    #[serde(default)]
    pub topic_id: String,
    pub partition: u32,
    pub offset: u64,
    pub committed_ms: i64,
    #[serde(default)]
    pub member: Option<String>,
}

impl Group {
    fn offset_path(&self, topic: &str, p: u32) -> PathBuf {
        self.offsets_dir(topic).join(format!("{p}.json"))
    }

    /// The committed offset record of a partition, if any.
    pub fn committed(&self, topic: &str, p: u32) -> Result<Option<Committed>> {
        let path = self.offset_path(topic, p);
        let bytes = match fsutil::read_small(&path, 1 << 16) {
            Ok(b) => b,
            Err(Error::Io { source, .. }) if source.kind() == std::io::ErrorKind::NotFound => {
                return Ok(None);
            }
            Err(e) => return Err(e),
        };
        parse_committed(&path, &bytes).map(Some)
    }

    /// The committed offset to resume from, ignoring offsets of an older topic with the same
    /// name (`warn` hears about that).
    pub fn resume_offset(
        &self,
        topic: &str,
        topic_id: &str,
        p: u32,
        warn: &mut dyn FnMut(String),
    ) -> Result<Option<u64>> {
        match self.committed(topic, p)? {
            Some(c) if !c.topic_id.is_empty() && c.topic_id != topic_id => {
                warn(format!(
                    "group {:?}: the committed offset {} of {topic}-{p} belongs to an earlier topic of that name; ignoring it",
                    self.name, c.offset
                ));
                Ok(None)
            }
            Some(c) => Ok(Some(c.offset)),
            None => Ok(None),
        }
    }

    fn owner_path(&self, topic: &str, p: u32) -> PathBuf {
        self.owners_dir(topic).join(format!("{p}.lock"))
    }

    /// Try to become the owner of a partition, without waiting.
    pub fn try_own(
        &self,
        topic: &str,
        p: u32,
        member: &super::MemberInfo,
    ) -> Result<Option<Owned>> {
        let dir = self.owners_dir(topic);
        if !fsutil::own_dir_exists(&dir)? {
            fsutil::create_own_dirs(self.root(), &dir)?;
        }
        let path = self.owner_path(topic, p);
        // Owner lock files are never deleted or replaced (only truncated), so every process
        // locks the same inode.
        let file = fsutil::open_or_create(&path)?;
        match file.try_lock() {
            Ok(()) => {}
            Err(TryLockError::WouldBlock) => return Ok(None),
            Err(TryLockError::Error(e)) => return Err(Error::io(&path, e)),
        }
        let line = format!("{} {} {}\n", member.id, member.pid, member.host);
        // Only names the holder; the flock is what excludes. Failure here is harmless.
        let _ = file.set_len(0);
        let _ = file.write_at(line.as_bytes(), 0);
        trace(&format!("acquire {topic}-{p} {}", member.id));
        Ok(Some(Owned {
            file,
            label: format!("{topic}-{p} {}", member.id),
        }))
    }

    /// Who holds a partition's owner lock according to its text: (member id, pid, host).
    /// The caller checks that member is live (a killed holder leaves its line behind).
    pub fn owner_line(&self, topic: &str, p: u32) -> Option<(String, u32, String)> {
        let b = fsutil::read_small(&self.owner_path(topic, p), 4096).ok()?;
        let s = String::from_utf8_lossy(&b);
        let mut it = s.split_whitespace();
        let id = it.next()?.to_string();
        let pid = it.next()?.parse().ok()?;
        let host = it.next().unwrap_or("").to_string();
        Some((id, pid, host))
    }
}

/// Ownership of one partition; released (text cleared, then unlocked) on drop. Release only
/// after committing what was delivered: the next owner starts at the committed offset.
pub struct Owned {
    file: File,
    label: String,
}

impl Drop for Owned {
    fn drop(&mut self) {
        trace(&format!("release {}", self.label));
        let _ = self.file.set_len(0);
        let _ = self.file.unlock();
    }
}

/// Tests set `CHUTE_GROUP_TRACE=FILE` to get one line per ownership change, appended while the
/// lock is held (after acquiring, before releasing). O_APPEND writes of one short line are
/// atomic, so the file is a valid global order of ownership changes across processes.
fn trace(line: &str) {
    let Some(path) = std::env::var_os("CHUTE_GROUP_TRACE") else {
        return;
    };
    if let Ok(mut f) = OpenOptions::new().append(true).create(true).open(&path) {
        let _ = f.write_all(format!("{line} {}\n", std::process::id()).as_bytes());
    }
}

pub fn parse_committed(path: &Path, bytes: &[u8]) -> Result<Committed> {
    read_versioned(path, bytes, &KIND)
}

/// A group's positions are files under its directory (docs/groups.md, Layout).
impl super::committer::OffsetStore for Group {
    fn group_name(&self) -> &str {
        &self.name
    }

    /// Atomically (a replace) and durably.
    fn commit(
        &self,
        topic: &str,
        topic_id: &str,
        p: u32,
        offset: u64,
        member: Option<&str>,
    ) -> Result<()> {
        let dir = self.offsets_dir(topic);
        if !fsutil::own_dir_exists(&dir)? {
            fsutil::create_own_dirs(self.root(), &dir)?;
        }
        let c = Committed {
            format: FORMAT.into(),
            version: VERSION,
            group: self.name.clone(),
            topic: topic.into(),
            topic_id: topic_id.into(),
            partition: p,
            offset,
            committed_ms: fsutil::now_ms(),
            member: member.map(str::to_string),
        };
        let body = write_versioned(&c, &KIND, false);
        crash_point!("commit-before-replace");
        fsutil::atomic_write(&self.offset_path(topic, p), &body)
    }
}
