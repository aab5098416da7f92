//! Who is the active controller.
//!
//! Two mechanisms, because each covers what the other cannot:
//! - `controller.lock` (flock): the active controller holds it. The kernel releases it the
//!   moment the holder dies, so a standby polling it takes over at once after a kill -9.
//! - `controller.json` (the lease): the active controller's pid, epoch and a heartbeat it
//!   rewrites every 100 ms. A stopped (SIGSTOP) or hung controller keeps its flock forever, so a
//!   standby also takes over when the heartbeat is older than its session timeout.
//!
//! Taking over bumps the controller epoch in metadata. Every metadata write by a controller is
//! fenced by that epoch (`Cluster::update_fenced`), and a controller whose lease shows a newer
//! epoch steps down: a paused controller that wakes up cannot undo its successor's decisions.

use crate::cluster::Cluster;
use crate::error::{Error, Result};
use crate::fsutil::{self, LockFile, LockGuard};
use serde::{Deserialize, Serialize};
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

pub const LOCK_FILE: &str = "controller.lock";
pub const LEASE_FILE: &str = "controller.json";
const FORMAT: &str = "chute-controller-lease";
const VERSION: u32 = 1;
pub const HEARTBEAT: Duration = Duration::from_millis(100);
/// How often a standby looks at the lock and the lease.
const STANDBY_POLL: Duration = Duration::from_millis(20);

#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct LeaseInfo {
    pub format: String,
    pub version: u32,
    pub pid: u32,
    pub host: String,
    pub epoch: u64,
    pub since_ms: i64,
    pub heartbeat_ms: i64,
    pub session_timeout_ms: u64,
}

impl LeaseInfo {
    pub fn age_ms(&self) -> i64 {
        fsutil::now_ms() - self.heartbeat_ms
    }

    /// The heartbeat is recent enough, by the session timeout the holder announced.
    pub fn fresh(&self) -> bool {
        self.age_ms() <= self.session_timeout_ms as i64
    }
}

fn lease_path(root: &Path) -> PathBuf {
    root.join(LEASE_FILE)
}

/// The current lease, if there is a readable one.
pub fn read(root: &Path) -> Option<LeaseInfo> {
    let b = fsutil::read_small(&lease_path(root), 1 << 16).ok()?;
    let info: LeaseInfo = serde_json::from_slice(&b).ok()?;
    (info.format == FORMAT && info.version == VERSION).then_some(info)
}

/// The active controller as `cluster status` shows it: a lease with a fresh heartbeat.
pub fn active(root: &Path) -> Option<LeaseInfo> {
    read(root).filter(|i| i.fresh() && (i.host != host() || crate::fsutil::process_alive(i.pid)))
}

/// Rewritten every heartbeat, so not fsynced: after a power loss it is stale, which is right.
fn write(root: &Path, info: &LeaseInfo) -> Result<()> {
    let p = lease_path(root);
    let tmp = root.join(format!(".{LEASE_FILE}.{}.tmp", std::process::id()));
    let mut b = serde_json::to_vec(info).expect("lease serializes");
    b.push(b'\n');
    std::fs::write(&tmp, &b).map_err(|e| Error::io(&tmp, e))?;
    std::fs::rename(&tmp, &p).map_err(|e| Error::io(&p, e))
}

fn host() -> String {
    std::fs::read_to_string("/proc/sys/kernel/hostname")
        .map(|s| s.trim().to_string())
        .unwrap_or_default()
}

/// Being the active controller. Dropping it steps down (releases the lock, stops the heartbeat).
pub struct Lease {
    pub epoch: u64,
    root: PathBuf,
    fenced: Arc<AtomicBool>,
    stop: Arc<AtomicBool>,
    superseded_by: Arc<Mutex<Option<LeaseInfo>>>,
    thread: Option<std::thread::JoinHandle<()>>,
}

impl Lease {
    /// A newer controller has taken over: stop acting.
    pub fn fenced(&self) -> bool {
        self.fenced.load(Ordering::SeqCst)
    }

    /// The flag [`fenced`](Self::fenced) reads, for checks deep inside a pass.
    pub fn fenced_flag(&self) -> Arc<AtomicBool> {
        self.fenced.clone()
    }

    pub fn successor(&self) -> Option<LeaseInfo> {
        self.superseded_by.lock().unwrap().clone()
    }
}

impl Drop for Lease {
    fn drop(&mut self) {
        self.stop.store(true, Ordering::SeqCst);
        if let Some(t) = self.thread.take() {
            t.thread().unpark();
            let _ = t.join();
        }
        // Stepping down: a lease that still names us goes, so nobody waits for it to age.
        if read(&self.root).is_some_and(|i| i.epoch == self.epoch && i.pid == std::process::id()) {
            let _ = std::fs::remove_file(lease_path(&self.root));
        }
    }
}

pub enum Acquired {
    Active(Lease),
    /// `wait` was false and another controller is active.
    Busy(LeaseInfo),
    /// A standby was asked to stop (a signal) while it waited.
    Stopped,
}

/// Become the active controller: at once if nobody is, else (with `wait`) as a standby until
/// the active one dies or its heartbeat is older than `session_timeout`.
pub fn acquire(
    cluster: &Cluster,
    session_timeout: Duration,
    wait: bool,
    on_standby: &mut dyn FnMut(&LeaseInfo),
) -> Result<Acquired> {
    let lock = Arc::new(LockFile::open(cluster.root.join(LOCK_FILE))?);
    let mut announced = false;
    loop {
        if let Some(g) = lock.try_lock()?
            && !held_by_live_successor(&cluster.root)
        {
            match take(cluster, lock.clone(), Some(g), session_timeout) {
                Ok(l) => return Ok(Acquired::Active(l)),
                // Metadata locked too long (by a stopped process?): keep trying as a standby.
                Err(Error::Temporary(_) | Error::LockTimeout { .. }) if wait => {}
                Err(e) => return Err(e),
            }
        }
        match read(&cluster.root) {
            Some(info) if info.age_ms() > session_timeout.as_millis() as i64 => {
                // Alive by its lock but silent: stopped or hung. Take over without the lock;
                // the epoch fences it when it wakes.
                match take(cluster, lock.clone(), None, session_timeout) {
                    Ok(l) => return Ok(Acquired::Active(l)),
                    Err(Error::Temporary(_) | Error::LockTimeout { .. }) if wait => {}
                    Err(e) => return Err(e),
                }
            }
            Some(info) => {
                if !wait {
                    return Ok(Acquired::Busy(info));
                }
                if !announced {
                    on_standby(&info);
                    announced = true;
                }
            }
            // Locked but no lease yet: the holder is starting up.
            None if !wait => {
                return Ok(Acquired::Busy(LeaseInfo {
                    format: FORMAT.into(),
                    version: VERSION,
                    pid: 0,
                    host: String::new(),
                    epoch: 0,
                    since_ms: 0,
                    heartbeat_ms: 0,
                    session_timeout_ms: 0,
                }));
            }
            None => {}
        }
        if crate::signals::stop_requested() {
            return Ok(Acquired::Stopped);
        }
        std::thread::sleep(STANDBY_POLL);
    }
}

/// The lock was free, but the lease may belong to a controller that took over from a stopped
/// one without the lock (and will pick the lock up on its next heartbeat). Taking over from it
/// would only make the two fence each other in turn.
fn held_by_live_successor(root: &Path) -> bool {
    let Some(info) = read(root) else {
        return false;
    };
    info.fresh()
        && info.pid != std::process::id()
        && info.host == host()
        && crate::fsutil::process_alive(info.pid)
}

fn take(
    cluster: &Cluster,
    lock: Arc<LockFile>,
    guard: Option<LockGuard>,
    session_timeout: Duration,
) -> Result<Lease> {
    let epoch = cluster.update(|md| {
        md.controller_epoch += 1;
        Ok(md.controller_epoch)
    })?;
    let now = fsutil::now_ms();
    let mut info = LeaseInfo {
        format: FORMAT.into(),
        version: VERSION,
        pid: std::process::id(),
        host: host(),
        epoch,
        since_ms: now,
        heartbeat_ms: now,
        session_timeout_ms: session_timeout.as_millis() as u64,
    };
    write(&cluster.root, &info)?;
    let fenced = Arc::new(AtomicBool::new(false));
    let stop = Arc::new(AtomicBool::new(false));
    let superseded_by = Arc::new(Mutex::new(None));
    let root = cluster.root.clone();
    let (f2, s2, sup2) = (fenced.clone(), stop.clone(), superseded_by.clone());
    let thread = std::thread::spawn(move || {
        let mut guard = guard;
        while !s2.load(Ordering::SeqCst) {
            // Parked, not slept: stepping down unparks it, so exiting does not wait a beat.
            std::thread::park_timeout(HEARTBEAT);
            if s2.load(Ordering::SeqCst) {
                break;
            }
            if let Some(cur) = read(&root)
                && cur.epoch > info.epoch
            {
                *sup2.lock().unwrap() = Some(cur);
                f2.store(true, Ordering::SeqCst);
                break;
            }
            if guard.is_none() {
                // Took over from a stopped controller: hold the lock once it lets go, so
                // later standbys wait on it as usual.
                guard = lock.try_lock().ok().flatten();
            }
            info.heartbeat_ms = fsutil::now_ms();
            let _ = write(&root, &info);
        }
        drop(guard);
    });
    Ok(Lease {
        epoch,
        root: cluster.root.clone(),
        fenced,
        stop,
        superseded_by,
        thread: Some(thread),
    })
}
