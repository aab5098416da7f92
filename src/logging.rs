//! Logs of the commands that run as daemons (`controller`, `replicate`): one line per event on
//! stderr through tracing-subscriber, an RFC 3339 time (UTC) and the level first, colour only
//! on a terminal, or one JSON object per line for log shippers. Under systemd, when stderr is
//! journald's stream, the time is left out: the journal stamps every line itself.

use std::io::IsTerminal;

/// `--log-format`.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, clap::ValueEnum)]
pub enum LogFormat {
    /// `2026-11-27T09:00:00.123456Z  INFO controller{pid=42}: message`
    #[default]
    Text,
    /// `{"timestamp":"...","level":"INFO","message":"...",...}`
    Json,
}

pub fn init(format: LogFormat) {
    let b = tracing_subscriber::fmt()
        .with_writer(std::io::stderr)
        .with_target(false)
        .with_max_level(tracing::Level::INFO);
    // A second init (tests calling twice) keeps the first: nothing to report.
    let _ = match format {
        LogFormat::Json => b.json().flatten_event(true).try_init(),
        LogFormat::Text if stderr_is_journal() => b.without_time().with_ansi(false).try_init(),
        LogFormat::Text => b.with_ansi(std::io::stderr().is_terminal()).try_init(),
    };
}

/// systemd sets `JOURNAL_STREAM=DEVICE:INODE` for a service whose stderr goes to the journal
/// (systemd.exec(5)); it is inherited by children whose stderr may go elsewhere, so it counts
/// only when it names our stderr.
fn stderr_is_journal() -> bool {
    use std::os::unix::fs::MetadataExt;
    let Some((dev, ino)) = std::env::var("JOURNAL_STREAM").ok().and_then(|v| {
        let (d, i) = v.split_once(':')?;
        Some((d.parse::<u64>().ok()?, i.parse::<u64>().ok()?))
    }) else {
        return false;
    };
    let Ok(fd) = std::os::fd::AsFd::as_fd(&std::io::stderr()).try_clone_to_owned() else {
        return false;
    };
    std::fs::File::from(fd)
        .metadata()
        .is_ok_and(|m| m.dev() == dev && m.ino() == ino)
}
