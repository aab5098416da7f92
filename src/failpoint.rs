//! Crash windows for tests (the `failpoints` cargo feature, on the `fail` crate as
//! tikv/raft-engine uses it). Each [`crash_point!`] names a moment between two steps of a
//! protocol in docs/locking.md, docs/retention.md or docs/replication.md where a machine or
//! process can die. `FAILPOINTS='<name>=return'` makes the process SIGKILL itself there, so a
//! test can check what the next process finds. Without the feature the points compile to
//! nothing.

/// Die here when the test asked for it (see the module docs).
#[macro_export]
macro_rules! crash_point {
    ($name:expr) => {
        #[cfg(feature = "failpoints")]
        {
            if fail::eval($name, |_| ()).is_some() {
                $crate::failpoint::die();
            }
        }
    };
}

/// Stop here until the test says go, so it can act inside a race window deterministically.
/// `FAILPOINTS='<name>=return(<path>)'` creates `<path>.reached` and waits for `<path>.go`.
#[macro_export]
macro_rules! pause_point {
    ($name:expr) => {
        #[cfg(feature = "failpoints")]
        {
            if let Some(path) = fail::eval($name, |arg| arg) {
                $crate::failpoint::pause(path.as_deref());
            }
        }
    };
}

#[cfg(feature = "failpoints")]
pub fn pause(path: Option<&str>) {
    let Some(path) = path else { return };
    let _ = std::fs::write(format!("{path}.reached"), b"");
    let go = std::path::PathBuf::from(format!("{path}.go"));
    while !go.exists() {
        std::thread::sleep(std::time::Duration::from_millis(2));
    }
}

/// As `kill -9` would: no destructor runs, no buffer is flushed, no lock is released by us.
#[cfg(feature = "failpoints")]
pub fn die() -> ! {
    // SAFETY: kill(2) with our own pid and SIGKILL touches no memory of ours; the process
    // ends before the call returns.
    unsafe {
        libc::kill(libc::getpid(), libc::SIGKILL);
    }
    std::process::abort()
}
