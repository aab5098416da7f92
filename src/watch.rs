//! Waiting for a directory to change: a follower, the controller and `replicate --follow` sleep
//! on file events instead of polling, and a stop signal wakes them too.

use std::sync::mpsc;
use std::time::Duration;

/// Wakes a waiter (a following consumer, the controller) when a watched directory changes. File events only hint;
/// the caller rereads the tails, and a timeout makes it rescan anyway (events can be dropped).
pub struct Waker {
    watcher: Option<notify::RecommendedWatcher>,
    rx: mpsc::Receiver<()>,
    pub warning: Option<String>,
}

impl Waker {
    pub fn new(dirs: &[std::path::PathBuf]) -> Waker {
        let (tx, rx) = mpsc::channel();
        let stop = tx.clone();
        crate::signals::on_stop(move || {
            let _ = stop.send(());
        });
        let watcher = notify::recommended_watcher(move |res: notify::Result<notify::Event>| {
            // Opens and reads (our own, or other readers') change nothing. Everything else,
            // errors and overflow (rescan) included, wakes us: the caller rereads the tails.
            if let Ok(e) = &res
                && matches!(e.kind, notify::EventKind::Access(_))
            {
                return;
            }
            let _ = tx.send(());
        });
        let mut waker = Waker {
            watcher: None,
            rx,
            warning: None,
        };
        match watcher {
            Ok(w) => {
                waker.watcher = Some(w);
                waker.warning = waker.watch(dirs);
            }
            Err(e) => waker.warning = Some(watch_error(&e)),
        }
        waker
    }

    /// Watch more directories (a consumer's topics grew). Returns a warning when one cannot
    /// be watched: then only the caller's timer notices its changes.
    pub fn watch(&mut self, dirs: &[std::path::PathBuf]) -> Option<String> {
        use notify::Watcher;
        let w = self.watcher.as_mut()?;
        let mut warning = None;
        for d in dirs {
            if let Err(e) = w.watch(d, notify::RecursiveMode::NonRecursive) {
                warning = Some(watch_error(&e));
            }
        }
        warning
    }

    /// Block until a change is signalled or `timeout` passes; swallow queued duplicates.
    /// Returns whether a change was signalled.
    pub fn wait(&self, timeout: Duration) -> bool {
        let woke = self.rx.recv_timeout(timeout).is_ok();
        while self.rx.try_recv().is_ok() {}
        woke
    }
}

fn watch_error(e: &notify::Error) -> String {
    let s = e.to_string();
    if s.contains("No space left")
        || s.contains("os error 28")
        || matches!(e.kind, notify::ErrorKind::MaxFilesWatch)
    {
        "the inotify watch limit is reached (raise it: sysctl fs.inotify.max_user_watches=524288); falling back to polling".into()
    } else {
        format!("cannot watch for changes ({s}); falling back to polling")
    }
}
