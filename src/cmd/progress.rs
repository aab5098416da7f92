//! What the commands that drive long work themselves (`topic reassign`, `broker replace`,
//! `broker drain`) share: one progress line on a terminal, and the rule for giving up when
//! the work stops moving (the work is recorded; a controller or the command run again
//! finishes it).

use std::io::IsTerminal;
use std::time::{Duration, Instant};

/// No progress for this long: stop with exit 75.
pub const STALL: Duration = Duration::from_secs(30);

/// One progress line on a terminal (rewritten in place), nothing otherwise.
pub struct Status {
    tty: bool,
    shown: bool,
}

impl Status {
    pub fn new() -> Status {
        Status {
            tty: std::io::stderr().is_terminal(),
            shown: false,
        }
    }

    pub fn show(&mut self, line: &str) {
        if self.tty && !super::quiet() {
            eprint!("\r\x1b[Kchute: {line}");
            self.shown = true;
        }
    }

    /// A line of its own (a log line, the outcome), below any progress line.
    pub fn say(&mut self, line: &str) {
        self.finish();
        super::note(format_args!("{line}"));
    }

    /// End the progress line, so that what follows (an error) starts a line of its own.
    pub fn finish(&mut self) {
        if std::mem::take(&mut self.shown) {
            eprintln!();
        }
    }
}

/// Watches a measure of progress between steps.
pub struct Stall<T> {
    last: Option<T>,
    since: Instant,
}

impl<T: PartialEq> Stall<T> {
    pub fn new() -> Stall<T> {
        Stall {
            last: None,
            since: Instant::now(),
        }
    }

    /// After a step that ended at `now`: true when nothing moved for [`STALL`]. When nothing
    /// moved since the last step, waits a little first (a replica that is down, or one
    /// waiting to join the ISR); work that moves goes on at once.
    pub fn stalled(&mut self, now: T) -> bool {
        if self.last.as_ref() == Some(&now) {
            if self.since.elapsed() > STALL {
                return true;
            }
            std::thread::sleep(Duration::from_millis(20));
        } else {
            self.since = Instant::now();
        }
        self.last = Some(now);
        false
    }

    /// Nothing has moved for [`STALL`]: time to say why.
    pub fn quiet_for_long(&self) -> bool {
        self.last.is_some() && self.since.elapsed() > STALL
    }
}
