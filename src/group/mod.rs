//! Consumer groups on disk: membership by lock files, deterministic assignment, partition
//! ownership by lock files, committed offsets replaced atomically. See docs/groups.md.
//!
//! Layout:
//! ```text
//! <root>/groups/<group>/
//!        group.lock                 shared-locked by every member for its life; exclusive by
//!                                   `offsets reset --execute` and `group delete`
//!        members/<member-id>.json   one per member, flock-held by its process for its life
//!        owners/<topic>/<p>.lock    ownership of one partition (flock); holder writes its id
//!        offsets/<topic>/<p>.json   committed offset of one partition (atomic replace)
//! ```
//! Topic names can be 249 bytes long, so per-topic directories keep every file name short.

pub mod admin;
pub mod assign;
pub mod commit;
pub mod committer;
pub mod deliver;
mod handler;
pub mod member;
pub mod run;
pub mod share;

use crate::cluster::Cluster;
use crate::error::{Error, IoContext, Result};
use crate::fsutil;
use std::fs::{File, TryLockError};
use std::os::unix::fs::MetadataExt;
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

pub use assign::Assignor;
pub use member::{Member, MemberInfo, Registration};

/// How long a joining member waits for `group.lock` (held exclusively only for the moment a
/// reset or delete takes).
pub const JOIN_TIMEOUT: Duration = Duration::from_secs(10);

/// A consumer group's directory.
#[derive(Clone)]
pub struct Group {
    pub name: String,
    pub dir: PathBuf,
}

pub fn groups_dir(cluster: &Cluster) -> PathBuf {
    cluster.root.join("groups")
}

/// Validate a group name. `.trash` is where deleted groups go, so it is not a group.
pub fn check_name(name: &str) -> Result<()> {
    crate::names::group(name)?;
    if name == ".trash" {
        return Err(Error::Usage(
            "group name \".trash\" is reserved (deleted groups are moved there)".into(),
        ));
    }
    Ok(())
}

impl Group {
    /// The group `name` (validated); it may not exist yet.
    pub fn at(cluster: &Cluster, name: &str) -> Result<Group> {
        check_name(name)?;
        Ok(Group {
            name: name.to_string(),
            dir: groups_dir(cluster).join(name),
        })
    }

    /// An existing group; "unknown group" (exit 1) otherwise.
    pub fn existing(cluster: &Cluster, name: &str) -> Result<Group> {
        let g = Group::at(cluster, name)?;
        if !g.dir.join("group.lock").is_file() {
            return Err(Error::NotFound(format!(
                "unknown group {name:?} (no consumer has used it; see `chute group list`)"
            )));
        }
        Ok(g)
    }

    /// Create the directories (durably) if missing.
    pub fn ensure(&self) -> Result<()> {
        if self.dir.join("members").is_dir() && self.dir.join("group.lock").is_file() {
            return Ok(());
        }
        for d in ["members", "owners", "offsets"] {
            fsutil::create_own_dirs(self.root(), &self.dir.join(d))?;
        }
        let lock = self.dir.join("group.lock");
        if !lock.exists() {
            fsutil::open_or_create(&lock)?;
            fsutil::sync_dir(&self.dir)?;
        }
        Ok(())
    }

    /// The cluster root (`<root>/groups/<name>` is the group's directory).
    pub fn root(&self) -> &Path {
        self.dir
            .parent()
            .and_then(|g| g.parent())
            .unwrap_or(Path::new("."))
    }

    pub fn members_dir(&self) -> PathBuf {
        self.dir.join("members")
    }

    pub fn owners_dir(&self, topic: &str) -> PathBuf {
        self.dir.join("owners").join(topic)
    }

    pub fn offsets_dir(&self, topic: &str) -> PathBuf {
        self.dir.join("offsets").join(topic)
    }

    /// Topics this group has committed offsets or owner locks for, sorted.
    pub fn topics(&self) -> Result<Vec<String>> {
        let mut v = Vec::new();
        for sub in ["offsets", "owners"] {
            let d = self.dir.join(sub);
            let Ok(rd) = std::fs::read_dir(&d) else {
                continue;
            };
            for e in rd {
                let e = e.at(&d)?;
                if let Some(n) = e.file_name().to_str()
                    && crate::names::topic(n).is_ok()
                    && !v.iter().any(|x| x == n)
                {
                    v.push(n.to_string());
                }
            }
        }
        v.sort();
        Ok(v)
    }

    /// [`topics`](Self::topics) and those the `live` members read (a topic a pattern matched
    /// a moment ago may have neither positions nor owners yet).
    pub fn topics_with(&self, live: &[MemberInfo]) -> Result<Vec<String>> {
        let mut v = self.topics()?;
        for t in live.iter().flat_map(|m| &m.topics) {
            if !v.contains(t) {
                v.push(t.clone());
            }
        }
        v.sort();
        Ok(v)
    }

    /// Hold `group.lock` shared for a member's lifetime. Waits out a reset or delete in
    /// progress; if the group was deleted meanwhile (the path now names another inode, or
    /// nothing), recreate it and try again.
    pub fn join_lock(&self) -> Result<File> {
        let start = Instant::now();
        loop {
            self.ensure()?;
            let path = self.dir.join("group.lock");
            let f = fsutil::open_rw(&path)?;
            loop {
                match f.try_lock_shared() {
                    Ok(()) => break,
                    Err(TryLockError::WouldBlock) => {}
                    Err(TryLockError::Error(e)) => return Err(Error::io(&path, e)),
                }
                if start.elapsed() > JOIN_TIMEOUT {
                    return Err(Error::Temporary(format!(
                        "group {:?} is being reset or deleted (group.lock held for {}); try again",
                        self.name,
                        humantime::format_duration(JOIN_TIMEOUT)
                    )));
                }
                std::thread::sleep(Duration::from_millis(2));
            }
            let mine = f.metadata().at(&path)?;
            match std::fs::metadata(&path) {
                Ok(now) if now.ino() == mine.ino() && now.dev() == mine.dev() => return Ok(f),
                _ => continue,
            }
        }
    }

    /// Take `group.lock` exclusively without waiting: succeeds only when no member is live.
    /// On refusal the error (exit 1) names the live members.
    pub fn admin_lock(&self, what: &str) -> Result<File> {
        let path = self.dir.join("group.lock");
        let f = fsutil::open_rw(&path)?;
        match f.try_lock() {
            Ok(()) => Ok(f),
            Err(TryLockError::WouldBlock) => {
                let live = member::live_members(self, None).unwrap_or_default();
                let who = if live.is_empty() {
                    "a member that is joining or leaving right now".to_string()
                } else {
                    live.iter()
                        .map(|m| m.describe())
                        .collect::<Vec<_>>()
                        .join(", ")
                };
                Err(Error::Other(format!(
                    "cannot {what} group {:?}: it has live members ({who}); stop them first",
                    self.name
                )))
            }
            Err(TryLockError::Error(e)) => Err(Error::io(&path, e)),
        }
    }

    /// Delete the group (refused while members are live).
    pub fn delete(&self) -> Result<()> {
        let _lock = self.admin_lock("delete")?;
        fsutil::remove_tree(&self.dir)
    }
}

/// Every group under the root, sorted.
pub fn list(cluster: &Cluster) -> Result<Vec<Group>> {
    let d = groups_dir(cluster);
    let rd = match std::fs::read_dir(&d) {
        Ok(rd) => rd,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(Vec::new()),
        Err(e) => return Err(Error::io(&d, e)),
    };
    let mut v = Vec::new();
    for e in rd {
        let e = e.at(&d)?;
        if let Some(n) = e.file_name().to_str()
            && check_name(n).is_ok()
            && e.path().join("group.lock").is_file()
        {
            v.push(Group {
                name: n.to_string(),
                dir: e.path(),
            });
        }
    }
    v.sort_by(|a, b| a.name.cmp(&b.name));
    Ok(v)
}

/// This machine's host name (for member records), without needing libc calls.
pub fn hostname() -> String {
    std::fs::read_to_string("/proc/sys/kernel/hostname")
        .ok()
        .map(|s| s.trim().to_string())
        .filter(|s| !s.is_empty())
        .or_else(|| std::env::var("HOSTNAME").ok())
        .unwrap_or_else(|| "localhost".into())
}
