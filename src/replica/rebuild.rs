//! `broker replace`: rebuild a broker whose disk came back empty (or was swapped for a new one)
//! from the partitions' current leaders.
//!
//! The steps are ordered so that a replace killed anywhere is finished by running it again
//! (docs/replication.md, "Replacing a disk"):
//! 1. Fence, in metadata: the broker leaves every ISR and every leadership it held. An empty
//!    disk must never count as an in-sync copy, or an election could make it the leader of a
//!    partition whose records it does not have.
//! 2. Tag the new directory. From here on the broker is up again, as a follower outside every
//!    ISR, so nothing elects it cleanly until it has the records.
//! 3. Copy: each replica is rebuilt like any follower that fell behind, and rejoins the ISR
//!    once level (a running controller does the same work).
//!
//! A partition whose every in-sync copy was on the lost disk has nowhere to copy from: it stays
//! offline with an empty ISR, and is reported as lost.

use super::leadership::{Change, claim_epochs};
use super::sync::{DEFAULT_BUDGET, Syncer};
use crate::cluster::Cluster;
use crate::cluster::brokers::State;
use crate::cluster::metadata::Metadata;
use crate::error::{Error, Result};
use crate::fsutil;
use std::path::{Path, PathBuf};

/// What [`prepare`] found and did.
#[derive(Debug)]
pub struct Prepared {
    /// The broker's directory (new when `--dir` named one).
    pub dir: PathBuf,
    /// The directory already carried this broker's tag: an earlier replace got that far (or
    /// the disk was never empty), so nothing was fenced this time.
    pub resumed: bool,
    /// Leadership and ISR changes the fence made.
    pub changes: Vec<Change>,
    /// Something the operator should look at (a new disk that seems not to be mounted).
    pub warning: Option<String>,
}

/// How the rebuild of one broker stands.
#[derive(Debug, Default, PartialEq, Eq)]
pub struct Progress {
    /// Partitions with a replica on the broker (reassignments away from it excluded).
    pub total: usize,
    /// Of those, in the ISR again.
    pub in_sync: usize,
    /// Replicas being copied: (topic, partition, copied up to, leader's end).
    pub copying: Vec<(String, u32, u64, u64)>,
    /// Replicas that cannot be copied now, and why (no leader, broker down, a lock held).
    pub waiting: Vec<(String, u32, String)>,
    /// Partitions with no in-sync copy left anywhere: their records are gone.
    pub lost: Vec<(String, u32)>,
}

impl Progress {
    /// Nothing more can happen by copying: every replica is in sync, waiting or lost.
    pub fn settled(&self) -> bool {
        self.copying.is_empty()
    }

    pub fn complete(&self) -> bool {
        self.in_sync == self.total
    }
}

/// Steps 1 and 2: check the directory, fence the broker, tag the directory. `dir` moves the
/// broker to another path (a new disk mounted elsewhere).
pub fn prepare(cluster: &Cluster, id: u32, dir: Option<&Path>) -> Result<Prepared> {
    let md = cluster.metadata()?;
    if md.broker(id).is_none() {
        return Err(Error::NotFound(format!(
            "unknown broker {id} (see `chute broker list`)"
        )));
    }
    let current = cluster.broker_dir(&md, id);
    let target = match dir {
        Some(d) => std::path::absolute(d).map_err(|e| Error::io(d, e))?,
        None => current.clone(),
    };
    if let Some(other) = md
        .brokers
        .iter()
        .find(|b| b.id != id && cluster.broker_dir(&md, b.id) == target)
    {
        return Err(Error::Usage(format!(
            "--dir {}: broker {} lives there",
            target.display(),
            other.id
        )));
    }
    if target != current && cluster.broker_status(&md, id, false).state == State::Up {
        return Err(Error::Other(format!(
            "broker {id} is up at {} with its data; `broker replace` is for a disk that came back empty. To move a broker's data to another disk: `chute broker add --dir NEW`, then `chute broker drain {id}`",
            current.display()
        )));
    }
    let named = dir.is_some() || md.broker(id).is_some_and(|b| b.path.is_some());
    let mut warning = None;
    let mut at = md.clone();
    set_path(&mut at, id, dir.map(|_| target.clone()));
    let resumed = match inspect(cluster, &at, id, &target)? {
        Found::Ours => true,
        Found::Empty => {
            warning = not_a_mount(&target);
            false
        }
        Found::Missing if dir.is_some() => {
            fsutil::create_dir_all_durable(&target)?;
            false
        }
        Found::Missing if named => {
            // A registered path that is gone is a mount point without its disk: creating it
            // would put the broker's data on whatever file system holds the mount point.
            return Err(Error::NotFound(format!(
                "broker {id}'s directory {} does not exist (is the new disk mounted?); mount it there, or name another directory with --dir",
                target.display()
            )));
        }
        Found::Missing => false, // <root>/brokers/<id>: ours to create (prepare_broker_dir)
    };
    let up: Vec<u32> = cluster.live_brokers(&md, false);
    let new_path = dir.map(|_| target.clone());
    let changes = cluster.update(|md| {
        set_path(md, id, new_path.clone());
        if let Some(b) = md.brokers.iter_mut().find(|b| b.id == id) {
            b.down = false;
        }
        Ok(if resumed {
            Vec::new()
        } else {
            fence(md, id, &up)
        })
    })?;
    let md = cluster.metadata()?;
    claim_epochs(cluster, &md, &changes);
    crash_point!("replace-after-fence");
    if !resumed {
        cluster.prepare_broker_dir(&md, id)?;
    }
    Ok(Prepared {
        dir: target,
        resumed,
        changes,
        warning,
    })
}

fn set_path(md: &mut Metadata, id: u32, path: Option<PathBuf>) {
    if let (Some(p), Some(b)) = (path, md.brokers.iter_mut().find(|b| b.id == id)) {
        b.path = Some(p);
    }
}

enum Found {
    /// Tagged as this broker of this cluster.
    Ours,
    /// There and empty (a new file system's `lost+found` aside).
    Empty,
    Missing,
}

fn inspect(cluster: &Cluster, md: &Metadata, id: u32, dir: &Path) -> Result<Found> {
    // The operator's directory may be a link to the new disk: follow it.
    match std::fs::metadata(dir) {
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(Found::Missing),
        Err(e) => return Err(Error::io(dir, e)),
        Ok(m) if !m.is_dir() => {
            return Err(Error::Other(format!(
                "{} is not a directory",
                dir.display()
            )));
        }
        Ok(_) => {}
    }
    if std::fs::symlink_metadata(dir.join("broker.json")).is_ok() {
        // Another cluster's or broker's tag is a wrong disk: refused, never overwritten.
        cluster.check_broker_tag(md, id)?;
        return Ok(Found::Ours);
    }
    let mut other = Vec::new();
    for e in std::fs::read_dir(dir).map_err(|e| Error::io(dir, e))? {
        let e = e.map_err(|e| Error::io(dir, e))?;
        let name = e.file_name().to_string_lossy().into_owned();
        if name != "lost+found" {
            other.push(name);
        }
    }
    if !other.is_empty() {
        other.sort();
        other.truncate(5);
        // Untagged data is not ours to judge: it may be the old disk whose tag was lost.
        return Err(Error::Other(format!(
            "{} is not empty (it holds {}) and carries no broker tag; chute will not guess what it is: empty it, or name another directory with --dir",
            dir.display(),
            other.join(", ")
        )));
    }
    Ok(Found::Empty)
}

/// Take broker `id` out of every ISR, and out of every leadership: the first live in-sync
/// replica takes over, or the partition goes offline. `up`: brokers that are up (without
/// `id`, whose directory is empty).
fn fence(md: &mut Metadata, id: u32, up: &[u32]) -> Vec<Change> {
    let mut changes = Vec::new();
    for (name, t) in md.topics.iter_mut() {
        for p in t.partitions.iter_mut() {
            if !p.replicas.contains(&id) {
                continue;
            }
            let old = p.clone();
            p.isr.retain(|&b| b != id);
            if p.leader == Some(id) {
                p.leader = p
                    .replicas
                    .iter()
                    .copied()
                    .find(|b| *b != id && p.isr.contains(b) && up.contains(b));
                p.leader_epoch += 1;
            }
            if *p != old {
                changes.push((name.clone(), old, p.clone()));
            }
        }
    }
    changes
}

/// Step 3, once: copy up to a budget into every replica of `id` outside the ISR, let the ones
/// that caught up rejoin, and say how the rebuild stands.
pub fn step(cluster: &Cluster, syncer: &mut Syncer, id: u32) -> Result<Progress> {
    let md = elect_returned(cluster, cluster.metadata()?, id)?;
    let reports = super::replicate_where(cluster, &md, syncer, DEFAULT_BUDGET, &|_, p| {
        p.target_replicas().contains(&id) && !p.isr.contains(&id)
    })?;
    crate::pause_point!("rebuild-step");
    let md = cluster.metadata()?;
    let mut out = Progress::default();
    for (name, t) in &md.topics {
        for p in &t.partitions {
            if !p.target_replicas().contains(&id) {
                continue;
            }
            out.total += 1;
            if p.isr.contains(&id) {
                out.in_sync += 1;
                continue;
            }
            let pid = (name.clone(), p.partition);
            if p.leader.is_none() {
                if p.isr.is_empty() {
                    out.lost.push(pid);
                } else {
                    out.waiting.push((
                        pid.0,
                        pid.1,
                        format!("no leader: its in-sync replicas {:?} are down", p.isr),
                    ));
                }
                continue;
            }
            let r = reports
                .iter()
                .find(|r| r.topic == *name && r.partition == p.partition && r.broker == id);
            match r.map(|r| &r.result) {
                Some(Ok(f)) => out.copying.push((pid.0, pid.1, f.end_offset, f.leader_end)),
                // Someone else (a controller) is copying into it right now: still under way.
                Some(Err(Error::LockTimeout { .. })) => out.copying.push((pid.0, pid.1, 0, 0)),
                Some(Err(e)) => out.waiting.push((pid.0, pid.1, e.to_string())),
                // Its leader changed between the two reads: next step.
                None => out.copying.push((pid.0, pid.1, 0, 0)),
            }
        }
    }
    Ok(out)
}

/// A partition of `id` that the fence left without a leader (its other in-sync replicas were
/// down) gets one once such a replica is back, as the controller would elect it: so running
/// `broker replace` again finishes without a controller. Returns the metadata to go on with.
fn elect_returned(cluster: &Cluster, md: Metadata, id: u32) -> Result<Metadata> {
    let waiting = |p: &crate::cluster::metadata::PartitionMeta| {
        p.replicas.contains(&id) && p.leader.is_none() && !p.isr.is_empty()
    };
    if !md.topics.values().flat_map(|t| &t.partitions).any(waiting) {
        return Ok(md);
    }
    let up = cluster.live_brokers(&md, false);
    let changes = cluster.update(|md| {
        let mut changes = Vec::new();
        for (name, t) in md.topics.iter_mut() {
            for p in t.partitions.iter_mut().filter(|p| waiting(p)) {
                let n = super::isr::on_liveness(p, &|b| up.contains(&b), false);
                if n != *p {
                    changes.push((name.clone(), p.clone(), n.clone()));
                    *p = n;
                }
            }
        }
        Ok(changes)
    })?;
    let md = cluster.metadata()?;
    claim_epochs(cluster, &md, &changes);
    Ok(md)
}

/// An empty directory on the same file system as its parent is not a disk of its own: if a new
/// disk should be mounted there, it is not, and the rebuild would fill the parent's file
/// system. Said, not refused: a broker in a plain directory is a legitimate layout.
fn not_a_mount(dir: &Path) -> Option<String> {
    use std::os::unix::fs::MetadataExt;
    let dev = |p: &Path| std::fs::metadata(p).map(|m| m.dev()).ok();
    let parent = dir.parent().unwrap_or(dir);
    (dev(dir).is_some() && dev(dir) == dev(parent)).then(|| {
        format!(
            "{} is on the same file system as {}: if the new disk should be mounted there, it is not (the rebuild goes on in this directory)",
            dir.display(),
            parent.display()
        )
    })
}
