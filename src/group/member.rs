//! Membership without heartbeats: a member is live exactly while its process holds the flock
//! on its member file, so `kill -9` leaves the group by dying.
//!
//! Format (`members/<id>.json`, one JSON object):
//! `{"format": "chute-group-member", "version": 1, "id", "pid", "host", "started_ms",
//!   "topics": [..], "assignor"}`
//! The file is created under a dot-prefixed temporary name, locked, written, then renamed into
//! place: a file under its real name is always locked by a live member or left by a dead one,
//! never a half-written newcomer. It is not fsynced: after a crash no member is live anyway.
//! A member whose topics change (a pattern matched a new topic) renames a new file over it
//! the same way.

use super::{Assignor, Group};
use crate::error::{Error, IoContext, Result};
use crate::fsutil;
use crate::versioned::{Kind, read_versioned, write_versioned};
use serde::{Deserialize, Serialize};
use std::fs::{File, TryLockError};
use std::io::Write;
use std::path::PathBuf;

pub const FORMAT: &str = "chute-group-member";
pub const VERSION: u64 = 1;

const KIND: Kind = Kind {
    format: FORMAT,
    version: VERSION,
    what: "member file",
    on_other_version: "a newer chute is in this group: upgrade",
};

#[derive(Debug, Clone, Serialize, Deserialize, PartialEq, Eq)]
pub struct MemberInfo {
    pub format: String,
    pub version: u64,
    pub id: String,
    pub pid: u32,
    pub host: String,
    pub started_ms: i64,
    pub topics: Vec<String>,
    pub assignor: Assignor,
}

impl MemberInfo {
    pub fn describe(&self) -> String {
        format!("pid {} on {} (member {})", self.pid, self.host, self.id)
    }
}

/// A live member file, held locked while this value exists. Dropping it unregisters.
pub struct Member {
    pub info: MemberInfo,
    path: PathBuf,
    file: File,
    /// Files this member's name stood for before a topic change, still locked: a scanner that
    /// opened one before the rename must find it held, or it would take the member for dead
    /// and remove the file by name, which is the new one by then.
    replaced: Vec<File>,
}

/// This process's registration: the group lock (shared) and the member file.
pub struct Registration {
    pub member: Member,
    _group_lock: File,
}

impl Registration {
    pub fn join(group: &Group, topics: &[String], assignor: Assignor) -> Result<Registration> {
        let group_lock = group.join_lock()?;
        let member = Member::create(group, topics, assignor)?;
        Ok(Registration {
            member,
            _group_lock: group_lock,
        })
    }
}

impl Member {
    fn create(group: &Group, topics: &[String], assignor: Assignor) -> Result<Member> {
        let dir = group.members_dir();
        let pid = std::process::id();
        let host = super::hostname();
        let started_ms = fsutil::now_ms();
        // Sorting ids by start time makes the oldest members come first in range assignment;
        // the random part keeps ids unique across hosts and pid reuse.
        let id = format!(
            "{started_ms:013}-{pid}-{:08x}",
            crate::fsutil::random_u64() as u32
        );
        let info = MemberInfo {
            format: FORMAT.into(),
            version: VERSION,
            id: id.clone(),
            pid,
            host,
            started_ms,
            topics: topics.to_vec(),
            assignor,
        };
        let path = dir.join(format!("{id}.json"));
        let file = publish(&path, &info)?;
        Ok(Member {
            info,
            path,
            file,
            replaced: Vec::new(),
        })
    }

    /// This member reads `topics` now: the other members see it at their next scan and
    /// rebalance. The id (and so the member's place in the assignment) stays.
    pub fn set_topics(&mut self, topics: &[String]) -> Result<()> {
        let mut info = self.info.clone();
        info.topics = topics.to_vec();
        let file = publish(&self.path, &info)?;
        self.replaced.push(std::mem::replace(&mut self.file, file));
        self.info = info;
        Ok(())
    }

    pub fn id(&self) -> &str {
        &self.info.id
    }
}

impl Drop for Member {
    fn drop(&mut self) {
        // Unlink while still holding the lock, so nobody probes a file we are leaving.
        let _ = std::fs::remove_file(&self.path);
        let _ = self.file.unlock();
        for f in &self.replaced {
            let _ = f.unlock();
        }
    }
}

/// Create `info`'s file under a temporary name next to `path`, lock it, write it and rename it
/// to `path`. Returns the locked file.
fn publish(path: &std::path::Path, info: &MemberInfo) -> Result<File> {
    let tmp = path.with_file_name(format!(".{}.tmp", info.id));
    let mut file = fsutil::create_new(&tmp)?;
    file.try_lock().map_err(|e| match e {
        TryLockError::Error(e) => Error::io(&tmp, e),
        TryLockError::WouldBlock => Error::Temporary(format!(
            "{}: locked by another process while being created",
            tmp.display()
        )),
    })?;
    let body = write_versioned(info, &KIND, false);
    if body.len() > MAX_MEMBER_FILE {
        let _ = std::fs::remove_file(&tmp);
        return Err(Error::Usage(format!(
            "the subscription names {} topics ({} bytes as a member file, more than the {} KiB a member of a group may take): name fewer topics, or a narrower ^pattern",
            info.topics.len(),
            body.len(),
            MAX_MEMBER_FILE >> 10
        )));
    }
    if let Err(e) = file.write_all(&body) {
        // A full disk: a scanner would only remove the temp file after a grace period.
        let _ = std::fs::remove_file(&tmp);
        return Err(Error::io(&tmp, e));
    }
    // A scanner may have taken our fresh temp file for a dead member's leftover and
    // removed it; then the rename fails and the caller sees an error rather than a member
    // nobody can see. Scanners leave young temp files alone to make that rare.
    std::fs::rename(&tmp, path).at(path)?;
    Ok(file)
}

/// A member file is read whole by every member on every scan: bounded, and a subscription that
/// would pass it is refused when the member joins (never written, so others never fail on it).
const MAX_MEMBER_FILE: usize = 1 << 16;

/// How old a temporary member file must be before a scanner treats it as a dead creator's.
const TMP_GRACE_MS: i64 = 60_000;

/// The live members, sorted by id. `me` (our own member, whose lock we hold through another
/// open file description and so would look busy anyway) is included without probing.
/// Files of dead members are removed on the way: probing takes their lock, which only
/// succeeds when the process that held it is gone.
pub fn live_members(group: &Group, me: Option<&MemberInfo>) -> Result<Vec<MemberInfo>> {
    let dir = group.members_dir();
    let rd = match std::fs::read_dir(&dir) {
        Ok(rd) => rd,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(Vec::new()),
        Err(e) => return Err(Error::io(&dir, e)),
    };
    let mut out = Vec::new();
    for e in rd {
        let e = e.at(&dir)?;
        let name = e.file_name();
        let Some(name) = name.to_str() else { continue };
        let path = e.path();
        if name.starts_with('.') && name.ends_with(".tmp") {
            let old = e
                .metadata()
                .ok()
                .and_then(|m| m.modified().ok())
                .and_then(|t| t.elapsed().ok())
                .is_some_and(|d| d.as_millis() as i64 > TMP_GRACE_MS);
            if old {
                let _ = remove_if_dead(&path);
            }
            continue;
        }
        let Some(id) = name.strip_suffix(".json") else {
            continue;
        };
        if let Some(me) = me
            && me.id == id
        {
            out.push(me.clone());
            continue;
        }
        let f = match fsutil::open_read(&path) {
            Ok(f) => f,
            // Left between listing and opening.
            Err(Error::Io { source, .. }) if source.kind() == std::io::ErrorKind::NotFound => {
                continue;
            }
            Err(e) => return Err(e),
        };
        match f.try_lock() {
            Ok(()) => {
                // Dead: its process no longer holds the lock. Remove it while we hold it.
                let _ = std::fs::remove_file(&path);
                let _ = f.unlock();
                continue;
            }
            Err(TryLockError::WouldBlock) => {}
            Err(TryLockError::Error(e)) => return Err(Error::io(&path, e)),
        }
        // Read through the descriptor we probed: the member may finish and unlink its file
        // at any moment, and a second open by path would then fail.
        let mut bytes = Vec::new();
        {
            use std::io::Read;
            (&f).take(MAX_MEMBER_FILE as u64)
                .read_to_end(&mut bytes)
                .at(&path)?;
        }
        let info = parse(&path, &bytes)?;
        out.push(info);
    }
    out.sort_by(|a, b| a.id.cmp(&b.id));
    Ok(out)
}

fn remove_if_dead(path: &std::path::Path) -> Result<()> {
    let f = match fsutil::open_read(path) {
        Ok(f) => f,
        // Already gone: its owner left, or another scanner removed it.
        Err(Error::Io { source, .. }) if source.kind() == std::io::ErrorKind::NotFound => {
            return Ok(());
        }
        Err(e) => return Err(e),
    };
    if f.try_lock().is_ok() {
        let _ = std::fs::remove_file(path);
        let _ = f.unlock();
    }
    Ok(())
}

pub fn parse(path: &std::path::Path, bytes: &[u8]) -> Result<MemberInfo> {
    read_versioned(path, bytes, &KIND)
}
