//! Filesystem primitives that the durability and locking guarantees rest on.

use crate::error::{Error, IoContext, Result};
use std::fs::{File, OpenOptions, TryLockError};
use std::io::{Read, Write};
use std::os::unix::fs::{FileExt, OpenOptionsExt};
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::{Duration, Instant};

/// Open flags for files inside the tree: never follow a symlink planted where our file should be.
fn nofollow(opts: &mut OpenOptions) -> &mut OpenOptions {
    opts.custom_flags(libc::O_NOFOLLOW | libc::O_CLOEXEC)
}

pub fn open_read(path: &Path) -> Result<File> {
    nofollow(OpenOptions::new().read(true)).open(path).at(path)
}

pub fn open_rw(path: &Path) -> Result<File> {
    nofollow(OpenOptions::new().read(true).write(true))
        .open(path)
        .at(path)
}

/// Create a file that must not exist yet (`O_EXCL`): two creators never share one file.
pub fn create_new(path: &Path) -> Result<File> {
    nofollow(OpenOptions::new().read(true).write(true).create_new(true))
        .open(path)
        .at(path)
}

pub fn open_or_create(path: &Path) -> Result<File> {
    nofollow(OpenOptions::new().read(true).write(true).create(true))
        .open(path)
        .at(path)
}

/// fsync a directory so that a create, rename or unlink inside it survives a crash (KAFKA-3968).
pub fn sync_dir(dir: &Path) -> Result<()> {
    let d = File::open(dir).at(dir)?;
    d.sync_all().map_err(|e| fatal_sync(dir, e))
}

/// A failed fsync is fatal: the kernel may already have dropped the dirty pages
/// (PostgreSQL "fsyncgate"), so retrying would report success for lost data.
pub fn fatal_sync(path: &Path, e: std::io::Error) -> Error {
    Error::io(
        path,
        std::io::Error::new(
            e.kind(),
            format!(
                "fsync failed ({e}); data written since the last successful fsync may be lost, stopping"
            ),
        ),
    )
}

pub fn sync_data(f: &File, path: &Path) -> Result<()> {
    f.sync_data().map_err(|e| fatal_sync(path, e))
}

/// Start writing back, without waiting, the last few MiB of the log when an append crosses a
/// 4 MiB boundary: the fsync that makes records durable then finds most pages already on their
/// way to disk instead of starting all of the I/O at the end. Only a hint; errors are ignored
/// (the fsync that follows reports any real failure).
pub fn start_writeback(log: &File, pos: u64, len: u64) {
    const STEP: u64 = 4 << 20;
    if pos / STEP == (pos + len) / STEP {
        return;
    }
    use std::os::fd::AsRawFd;
    let upto = (pos + len) / STEP * STEP;
    let from = upto.saturating_sub(STEP);
    // SAFETY: sync_file_range takes a file descriptor and integers only; it reads and writes
    // no memory of ours. `log` is an open file for the duration of the call.
    unsafe {
        libc::sync_file_range(
            log.as_raw_fd(),
            from as libc::off64_t,
            (upto - from) as libc::off64_t,
            libc::SYNC_FILE_RANGE_WRITE,
        );
    }
}

/// Replace `path` atomically: write a temp file, fsync it, rename over, fsync the directory.
pub fn atomic_write(path: &Path, bytes: &[u8]) -> Result<()> {
    let dir = parent_of(path);
    let name = path.file_name().and_then(|n| n.to_str()).unwrap_or("file");
    let tmp = dir.join(format!(".{name}.{}.tmp", std::process::id()));
    let _ = std::fs::remove_file(&tmp);
    let mut f = create_new(&tmp)?;
    let written = f
        .write_all(bytes)
        .at(&tmp)
        .and_then(|()| f.sync_all().map_err(|e| fatal_sync(&tmp, e)));
    drop(f);
    if written.is_ok() {
        crash_point!("replace-before-rename");
    }
    if let Err(e) = written.and_then(|()| std::fs::rename(&tmp, path).at(path)) {
        // A full disk must not leave the temp file behind: it holds space, and its name has
        // our pid, so nobody else would ever remove it.
        let _ = std::fs::remove_file(&tmp);
        return Err(e);
    }
    sync_dir(dir)
}

/// Replace `path` atomically (a reader sees the old file or the new), without fsync: for files
/// only shown to people, which a crash may leave old or empty, and which are written often.
pub fn replace_unsynced(path: &Path, bytes: &[u8]) -> Result<()> {
    let dir = parent_of(path);
    let name = path.file_name().and_then(|n| n.to_str()).unwrap_or("file");
    let tmp = dir.join(format!(".{name}.{}.tmp", std::process::id()));
    let _ = std::fs::remove_file(&tmp);
    let written = create_new(&tmp)
        .and_then(|mut f| f.write_all(bytes).at(&tmp))
        .and_then(|()| std::fs::rename(&tmp, path).at(path));
    if written.is_err() {
        let _ = std::fs::remove_file(&tmp);
    }
    written
}

/// A process of that pid exists on this machine and has not exited (a zombie has: in some
/// sandboxes nobody reaps it).
pub fn process_alive(pid: u32) -> bool {
    std::fs::read_to_string(format!("/proc/{pid}/stat"))
        .ok()
        .and_then(|s| {
            s.rsplit(')')
                .next()
                .map(|r| !r.trim_start().starts_with(['Z', 'X']))
        })
        .unwrap_or(false)
}

/// Create a directory and all parents, fsyncing each parent that gained an entry.
pub fn create_dir_all_durable(dir: &Path) -> Result<()> {
    if dir.as_os_str().is_empty() || dir.is_dir() {
        return Ok(());
    }
    let parent = parent_of(dir);
    create_dir_all_durable(parent)?;
    match std::fs::create_dir(dir) {
        Ok(()) => {}
        Err(e) if e.kind() == std::io::ErrorKind::AlreadyExists => return Ok(()),
        Err(e) => return Err(Error::io(dir, e)),
    }
    sync_dir(parent)
}

/// The directory holding `p`; `.` for a bare relative name (whose `parent()` is empty).
pub fn parent_of(p: &Path) -> &Path {
    match p.parent() {
        Some(d) if !d.as_os_str().is_empty() => d,
        _ => Path::new("."),
    }
}

/// A directory chute keeps for itself (a partition replica, a group, `.trash`): `Ok(true)` if
/// it is there as a real directory, `Ok(false)` if missing. A symbolic link or anything else
/// in its place is refused (exit 74): chute never creates, renames into or removes under a
/// path it did not make, so a planted link cannot send a delete outside the root.
pub fn own_dir_exists(dir: &Path) -> Result<bool> {
    match std::fs::symlink_metadata(dir) {
        Ok(m) if m.file_type().is_symlink() => Err(Error::Format {
            path: dir.to_path_buf(),
            detail: "is a symbolic link where chute keeps its own directory; chute never follows links inside its root (remove the link)".into(),
        }),
        Ok(m) if !m.is_dir() => Err(Error::Format {
            path: dir.to_path_buf(),
            detail: "is not a directory, where chute keeps its own directory".into(),
        }),
        Ok(_) => Ok(true),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(false),
        Err(e) => Err(Error::io(dir, e)),
    }
}

/// Create the directories of `dir` below `above` (which must exist or is created as given,
/// following links: it is the user's), each checked with [`own_dir_exists`], durably.
pub fn create_own_dirs(above: &Path, dir: &Path) -> Result<()> {
    let rel = dir.strip_prefix(above).map_err(|_| {
        Error::Other(format!(
            "{} is not inside {}",
            dir.display(),
            above.display()
        ))
    })?;
    create_dir_all_durable(above)?;
    let mut at = above.to_path_buf();
    for c in rel.components() {
        let parent = at.clone();
        at.push(c);
        if own_dir_exists(&at)? {
            continue;
        }
        match std::fs::create_dir(&at) {
            Ok(()) => sync_dir(&parent)?,
            Err(e) if e.kind() == std::io::ErrorKind::AlreadyExists => {
                own_dir_exists(&at)?;
            }
            Err(e) => return Err(Error::io(&at, e)),
        }
    }
    Ok(())
}

/// Whether `name` is one that [`remove_tree`] gives a tree in the trash.
fn is_trash_name(name: &std::ffi::OsStr) -> bool {
    name.to_str().is_some_and(|n| {
        n.strip_suffix(".deleted")
            .is_some_and(|h| h.len() == 16 && h.bytes().all(|b| b.is_ascii_hexdigit()))
    })
}

/// Remove a directory tree safely: rename it into `.trash` beside it (same directory, so the
/// same file system, which `rename` needs), fsync, then delete. Nobody ever finds a half-deleted
/// tree under the real name. The trash name is short and unique, whatever the original's length.
/// `.trash` must be a real directory (never a link), and the sweep of leftovers removes only
/// names this function generates.
pub fn remove_tree(dir: &Path) -> Result<()> {
    let parent = parent_of(dir);
    let trash = parent.join(".trash");
    create_own_dirs(parent, &trash)?;
    let target = trash.join(format!("{:016x}.deleted", random_u64()));
    std::fs::rename(dir, &target).at(dir)?;
    sync_dir(parent)?;
    // `remove_dir_all` does not follow links, neither at the top nor inside (CVE-2022-21658
    // was fixed in 1.58.1): a link moved to the trash is removed as a link.
    std::fs::remove_dir_all(&target).at(&target)?;
    // Leftovers of removals that were killed half-way; another process may be removing them
    // right now, so failures here are not ours to report.
    if let Ok(entries) = std::fs::read_dir(&trash) {
        for e in entries.flatten() {
            if is_trash_name(&e.file_name()) {
                let _ = std::fs::remove_dir_all(e.path());
            }
        }
    }
    Ok(())
}

pub fn now_ms() -> i64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_millis() as i64)
        .unwrap_or(0)
}

/// Read a whole small file (metadata, member files). Bounded: refuses files over `max` bytes.
pub fn read_small(path: &Path, max: u64) -> Result<Vec<u8>> {
    let f = open_read(path)?;
    let len = f.metadata().at(path)?.len();
    if len > max {
        return Err(Error::Format {
            path: path.to_path_buf(),
            detail: format!("file is {len} bytes, more than the {max} allowed"),
        });
    }
    let mut buf = Vec::with_capacity(len as usize);
    f.take(max).read_to_end(&mut buf).at(path)?;
    Ok(buf)
}

/// An exclusive flock held on a lock file; released on drop (or by the kernel when we die).
pub struct LockGuard {
    file: Arc<File>,
}

impl Drop for LockGuard {
    fn drop(&mut self) {
        let _ = self.file.unlock();
    }
}

/// A lock file whose holder writes its pid into it, so a waiter that times out can name it.
pub struct LockFile {
    pub path: PathBuf,
    file: Arc<File>,
    pid_line: [u8; 16],
    /// (device, inode) of the file we opened: what the lock protects is the file at `path`.
    id: (u64, u64),
}

impl LockFile {
    pub fn open(path: PathBuf) -> Result<Self> {
        use std::os::unix::fs::MetadataExt;
        let file = open_or_create(&path)?;
        let m = file.metadata().at(&path)?;
        let mut pid_line = [b' '; 16];
        let s = format!("{}", std::process::id());
        pid_line[..s.len()].copy_from_slice(s.as_bytes());
        pid_line[15] = b'\n';
        Ok(LockFile {
            path,
            file: Arc::new(file),
            pid_line,
            id: (m.dev(), m.ino()),
        })
    }

    /// After taking the lock: is `path` still the file we locked? A directory deleted (moved to
    /// the trash) or replaced (a topic deleted and created again) while we waited or held our
    /// files open leaves us with a lock, and files, that nobody else uses: everything written
    /// there would be lost. Checked on every acquisition, so a writer can never append to a
    /// directory that is no longer the live one.
    fn still_ours(&self) -> Result<()> {
        use std::os::unix::fs::MetadataExt;
        let gone = |how: &str| {
            Err(Error::NotFound(format!(
                "{} was {how} (its directory was deleted or replaced, e.g. by `topic delete`)",
                self.path.display()
            )))
        };
        match std::fs::symlink_metadata(&self.path) {
            Ok(m) if (m.dev(), m.ino()) == self.id => Ok(()),
            Ok(_) => gone("replaced"),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => gone("removed"),
            Err(e) => Err(Error::io(&self.path, e)),
        }
    }

    /// Take the lock exclusively, waiting at most `timeout`. On timeout the error names the
    /// holder's pid (a stopped process keeps its lock forever: the deadline is what saves us).
    pub fn lock(&self, timeout: Duration, what: &str) -> Result<LockGuard> {
        let start = Instant::now();
        let mut backoff = Duration::from_micros(20);
        loop {
            match self.file.try_lock() {
                Ok(()) => {
                    let guard = LockGuard {
                        file: self.file.clone(),
                    };
                    self.still_ours()?;
                    // The pid is only a hint for error messages; a failed write is harmless.
                    let _ = self.file.write_at(&self.pid_line, 0);
                    return Ok(guard);
                }
                Err(TryLockError::WouldBlock) => {}
                Err(TryLockError::Error(e)) => return Err(Error::io(&self.path, e)),
            }
            if start.elapsed() >= timeout {
                return Err(Error::LockTimeout {
                    what: what.to_string(),
                    holder: self.holder(),
                    waited: Duration::from_millis(timeout.as_millis() as u64),
                });
            }
            std::thread::sleep(backoff);
            backoff = (backoff * 2).min(Duration::from_millis(2));
        }
    }

    /// Try once without waiting.
    pub fn try_lock(&self) -> Result<Option<LockGuard>> {
        match self.file.try_lock() {
            Ok(()) => {
                let guard = LockGuard {
                    file: self.file.clone(),
                };
                self.still_ours()?;
                let _ = self.file.write_at(&self.pid_line, 0);
                Ok(Some(guard))
            }
            Err(TryLockError::WouldBlock) => Ok(None),
            Err(TryLockError::Error(e)) => Err(Error::io(&self.path, e)),
        }
    }

    /// "pid 1234" from the lock file, or a vague description when it holds none.
    pub fn holder(&self) -> String {
        let mut buf = [0u8; 16];
        match self.file.read_at(&mut buf, 0) {
            Ok(n) if n > 0 => {
                let s = String::from_utf8_lossy(&buf[..n]);
                let s = s.trim();
                if s.is_empty() {
                    "another process".into()
                } else {
                    format!("pid {s}")
                }
            }
            _ => "another process".into(),
        }
    }
}

/// The kind of network (or user-space) file system `path` lives on, if it is one: chute's
/// locks and file watching are unreliable there. The nearest existing ancestor is checked.
pub fn network_fs(path: &Path) -> Option<&'static str> {
    use std::os::unix::ffi::OsStrExt;
    let mut p = path;
    while !p.exists() {
        p = p.parent()?;
    }
    let c = std::ffi::CString::new(p.as_os_str().as_bytes()).ok()?;
    // SAFETY: `statfs` only writes into the struct we pass, which is a plain C struct for which
    // all-zero bytes is a valid value; `c` is a NUL-terminated string that outlives the call.
    let mut st: libc::statfs = unsafe { std::mem::zeroed() };
    let rc = unsafe { libc::statfs(c.as_ptr(), &mut st) };
    if rc != 0 {
        return None;
    }
    // Magic numbers from statfs(2) / linux/magic.h.
    match st.f_type as i64 {
        0x6969 => Some("NFS"),
        0x517B => Some("SMB"),
        0xFE534D42 => Some("SMB2"),
        0xFF534D42 => Some("CIFS"),
        0x5346414F => Some("AFS"),
        0x00C36400 => Some("Ceph"),
        0x01021997 => Some("9p"),
        0x65735546 => Some("FUSE"),
        _ => None,
    }
}

/// Warn once on stderr when `path` is on a network file system (see docs/locking.md).
pub fn warn_if_network_fs(path: &Path) {
    if std::env::var_os("CHUTE_ALLOW_NETWORK_FS").is_some_and(|v| v == "1") {
        return;
    }
    if let Some(kind) = network_fs(path) {
        eprintln!(
            "chute: warning: {} is on {kind}; locks and file watching are not reliable there, keep chute data on a local disk (CHUTE_ALLOW_NETWORK_FS=1 silences this)",
            path.display()
        );
    }
}

/// Identity of a file that is replaced by rename (metadata.json): a change shows in the inode,
/// the modification time or the length.
pub type FileStamp = (u64, i64, i64, u64);

pub fn file_stamp(path: &Path) -> Option<FileStamp> {
    use std::os::unix::fs::MetadataExt;
    let m = std::fs::metadata(path).ok()?;
    Some((m.ino(), m.mtime(), m.mtime_nsec(), m.len()))
}

/// Random enough for unique names and ids (trash entries, topic ids, cluster ids); not for
/// secrets. Lives here, below every layer that names things.
pub fn random_u64() -> u64 {
    use std::hash::{BuildHasher, Hasher};
    let mut h = std::collections::hash_map::RandomState::new().build_hasher();
    h.write_u128(
        std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map(|d| d.as_nanos())
            .unwrap_or(0),
    );
    h.write_u32(std::process::id());
    h.finish()
}
