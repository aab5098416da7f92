//! Waiting for a directory to change: a follower, the controller and `replicate --follow` sleep
//! on file events instead of polling, and a stop signal wakes them too.

use std::sync::mpsc;
use std::time::Duration;

/// Wakes a waiter (a following consumer, the controller) when a watched directory changes. File events only hint;
/// the caller rereads the tails, and a timeout makes it rescan anyway (events can be dropped).
pub struct Waker {
    _watcher: Option<notify::RecommendedWatcher>,
    rx: mpsc::Receiver<()>,
    pub warning: Option<String>,
}

impl Waker {
    pub fn new(dirs: &[std::path::PathBuf]) -> Waker {
        use notify::Watcher;
        let (tx, rx) = mpsc::channel();
        let stop = tx.clone();
        crate::signals::on_stop(move || {
            let _ = stop.send(());
        });
        let mut warning = None;
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
        let watcher = match watcher {
            Ok(mut w) => {
                for d in dirs {
                    if let Err(e) = w.watch(d, notify::RecursiveMode::NonRecursive) {
                        warning = Some(watch_error(&e));
                    }
                }
                Some(w)
            }
            Err(e) => {
                warning = Some(watch_error(&e));
                None
            }
        };
        Waker {
            _watcher: watcher,
            rx,
            warning,
        }
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
