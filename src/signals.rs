//! Stopping: SIGINT, SIGTERM and SIGHUP ask a command to stop at its next safe point (a
//! producer writes and fsyncs what it read, a consumer commits what it delivered); a second
//! signal means "now" (exit 75: work was abandoned). A closed stdout asks the same way.
//!
//! The signals are taken by a thread of their own (`signal-hook`'s iterator), never by code
//! running in a handler: the thread sets a flag that the commands' loops check, wakes whatever
//! they wait on, and forwards the signal to the process group of a running `--exec` handler.

use std::sync::atomic::{AtomicBool, AtomicI32, Ordering};
use std::sync::{Mutex, OnceLock};

static STOP: AtomicBool = AtomicBool::new(false);
/// The signal that asked us to stop (0: none, or a closed stdout).
static SIGNAL: AtomicI32 = AtomicI32::new(0);
/// Process group of the running `--exec` handler (0: none).
static CHILD_GROUP: AtomicI32 = AtomicI32::new(0);
type Wake = Box<dyn Fn() + Send>;
static WAKERS: Mutex<Vec<Wake>> = Mutex::new(Vec::new());
static INSTALLED: OnceLock<()> = OnceLock::new();

/// Exit code for a stop that had to abandon work (second signal): "temporary, retry".
pub const ABANDONED: i32 = crate::error::exit::TEMPFAIL;

/// Take SIGINT, SIGTERM and SIGHUP from now on (idempotent).
pub fn install() -> crate::Result<()> {
    if INSTALLED.get().is_some() {
        return Ok(());
    }
    use signal_hook::consts::{SIGHUP, SIGINT, SIGTERM};
    let mut signals = signal_hook::iterator::Signals::new([SIGINT, SIGTERM, SIGHUP])
        .map_err(|e| crate::Error::Other(format!("cannot install signal handlers: {e}")))?;
    let _ = INSTALLED.set(());
    std::thread::Builder::new()
        .name("signals".into())
        .spawn(move || {
            for sig in signals.forever() {
                forward(sig);
                if STOP.swap(true, Ordering::SeqCst) && SIGNAL.load(Ordering::SeqCst) != 0 {
                    // The second signal: now. A handler still running is killed with its
                    // group, so nothing outlives us; what it did is not committed.
                    forward(libc::SIGKILL);
                    eprintln!("chute: stopped at once (second signal); uncommitted work is retried next time");
                    std::process::exit(ABANDONED);
                }
                SIGNAL.store(sig, Ordering::SeqCst);
                wake_all();
            }
        })
        .map_err(|e| crate::Error::Other(format!("cannot start the signal thread: {e}")))?;
    Ok(())
}

/// Whether a stop was asked for (signal or closed stdout).
pub fn stop_requested() -> bool {
    STOP.load(Ordering::Relaxed)
}

/// The signal that asked us to stop, if one did.
pub fn signal() -> Option<i32> {
    match SIGNAL.load(Ordering::SeqCst) {
        0 => None,
        s => Some(s),
    }
}

/// Ask to stop from inside (stdout closed while idle): like a first signal, without one.
pub fn request_stop() {
    if !STOP.swap(true, Ordering::SeqCst) {
        wake_all();
    }
}

/// Call `f` when a stop is asked for (to wake a wait); at once if it already was.
pub fn on_stop(f: impl Fn() + Send + 'static) {
    if stop_requested() {
        f();
    }
    WAKERS
        .lock()
        .unwrap_or_else(|e| e.into_inner())
        .push(Box::new(f));
}

fn wake_all() {
    for w in WAKERS.lock().unwrap_or_else(|e| e.into_inner()).iter() {
        w();
    }
}

/// The running `--exec` handler's process group gets our signals (0: none running).
pub fn set_child_group(pgid: i32) {
    CHILD_GROUP.store(pgid, Ordering::SeqCst);
}

fn forward(sig: i32) {
    let pgid = CHILD_GROUP.load(Ordering::SeqCst);
    if pgid > 0 {
        // SAFETY: killpg(2) takes plain integers and touches no memory of ours. A group that is
        // already gone gives ESRCH, which is harmless.
        unsafe {
            libc::killpg(pgid, sig);
        }
    }
}

/// When stdout is a pipe, watch it from a thread: once its reader is gone (POLLERR), ask to
/// stop, so a `--follow` consumer on a quiet topic notices `| head` at once, not when the next
/// record arrives.
pub fn stop_when_stdout_closes() {
    if !stdout_is_pipe() {
        return;
    }
    let _ = std::thread::Builder::new()
        .name("stdout-watch".into())
        .spawn(|| {
            loop {
                let mut fds = libc::pollfd {
                    fd: 1,
                    events: 0,
                    revents: 0,
                };
                // SAFETY: `fds` is one valid pollfd that outlives the call; poll(2) writes
                // only its `revents`.
                let rc = unsafe { libc::poll(&mut fds, 1, -1) };
                if rc < 0 {
                    if std::io::Error::last_os_error().kind() == std::io::ErrorKind::Interrupted {
                        continue;
                    }
                    return;
                }
                if fds.revents & (libc::POLLERR | libc::POLLHUP | libc::POLLNVAL) != 0 {
                    CLOSED.store(true, Ordering::SeqCst);
                    request_stop();
                    return;
                }
            }
        });
}

static CLOSED: AtomicBool = AtomicBool::new(false);

/// Whether stdout's reader went away (seen by [`stop_when_stdout_closes`]).
pub fn stdout_closed() -> bool {
    CLOSED.load(Ordering::SeqCst)
}

pub fn stdout_is_pipe() -> bool {
    // SAFETY: fstat(2) writes only into the struct we pass, a plain C struct for which
    // all-zero bytes are a valid value.
    let mut st: libc::stat = unsafe { std::mem::zeroed() };
    let rc = unsafe { libc::fstat(1, &mut st) };
    rc == 0 && (st.st_mode & libc::S_IFMT) == libc::S_IFIFO
}

/// Bytes written to stdout (a pipe) that its reader has not taken yet; 0 if not a pipe or
/// unknown. Linux's FIONREAD works on either end of a pipe.
pub fn stdout_unread() -> usize {
    let mut n: libc::c_int = 0;
    // SAFETY: FIONREAD writes one c_int through the pointer, which points at `n`.
    let rc = unsafe { libc::ioctl(1, libc::FIONREAD, &mut n) };
    if rc == 0 { n.max(0) as usize } else { 0 }
}
