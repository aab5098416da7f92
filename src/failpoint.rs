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
