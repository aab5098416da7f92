//! One error type for the library; every variant maps to a documented exit code.

use std::io;
use std::path::PathBuf;

/// Exit codes (README.md, "Exit codes"). Scripts rely on these numbers.
pub mod exit {
    pub const OK: i32 = 0;
    pub const OTHER: i32 = 1;
    pub const USAGE: i32 = 2;
    /// A health check (`--check`) found what it looks for: distinct from 1 ("unknown group"),
    /// so cron and monitoring can tell "unhealthy" from "could not ask".
    pub const CHECK: i32 = 3;
    pub const DATA: i32 = 65;
    pub const IO: i32 = 74;
    pub const TEMPFAIL: i32 = 75;
}

#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// A file operation failed; the path says where.
    #[error("{path}: {source}")]
    Io {
        path: PathBuf,
        #[source]
        source: io::Error,
    },
    /// I/O on a stream that has no path (stdin, stdout, a child's pipe).
    #[error("{what}: {source}")]
    Stream {
        what: String,
        #[source]
        source: io::Error,
    },
    /// Bytes on disk that fail a check (CRC, length, magic, ordering).
    #[error("corrupt data in {partition} at offset {offset}: {detail}")]
    Corrupt {
        partition: String,
        offset: u64,
        detail: String,
    },
    /// A file that is not ours or is from a format version we do not read.
    #[error("{path}: {detail}")]
    Format { path: PathBuf, detail: String },
    /// Bad user input data (a produce input line, an oversized record).
    #[error("{0}")]
    BadInput(String),
    /// Bad names, flags or values: a usage error.
    #[error("{0}")]
    Usage(String),
    /// Unknown topic, group, partition, or a refused operation.
    #[error("{0}")]
    NotFound(String),
    /// Refused, but retrying later may succeed (a timeout, too few in-sync replicas).
    #[error("{0}")]
    Temporary(String),
    /// Another process held a lock longer than we wait: exit 75, naming it.
    #[error(
        "{what} is locked by {holder} (waited {}); if that process is stopped, resume or kill it",
        humantime::format_duration(*.waited)
    )]
    LockTimeout {
        what: String,
        holder: String,
        waited: std::time::Duration,
    },
    /// The partition (`topic-p`) has no leader: offline until one of its in-sync replicas is
    /// back. Exit 75.
    #[error("partition {0} has no leader (offline)")]
    NoLeader(String),
    /// The topic was deleted (perhaps created again) under a running producer or consumer:
    /// the message says what was not written or read. Exit 1.
    #[error("{0}")]
    Deleted(String),
    /// This replica belongs to a newer leader epoch than ours: leadership moved. Reload
    /// metadata and retry on the new leader.
    #[error(
        "partition {partition}: this replica now belongs to leader epoch {theirs}, newer than ours ({ours}); leadership moved"
    )]
    Fenced {
        partition: String,
        theirs: u32,
        ours: u32,
    },
    /// A newer controller took over from ours (epoch `ours`; `theirs` when known): step down.
    #[error("{}", match .theirs {
        Some(t) => format!("controller epoch {ours} was superseded by epoch {t}"),
        None => format!("a newer controller took over from epoch {ours}"),
    })]
    ControllerFenced { ours: u64, theirs: Option<u64> },
    /// Anything else.
    #[error("{0}")]
    Other(String),
}

pub type Result<T, E = Error> = std::result::Result<T, E>;

impl Error {
    pub fn io(path: impl Into<PathBuf>, source: io::Error) -> Self {
        Error::Io {
            path: path.into(),
            source,
        }
    }

    pub fn stream(what: impl Into<String>, source: io::Error) -> Self {
        Error::Stream {
            what: what.into(),
            source,
        }
    }

    /// The process exit code for this error (README.md, "Exit codes").
    pub fn exit_code(&self) -> i32 {
        match self {
            Error::Io { .. }
            | Error::Stream { .. }
            | Error::Corrupt { .. }
            | Error::Format { .. } => exit::IO,
            Error::BadInput(_) => exit::DATA,
            Error::Usage(_) => exit::USAGE,
            Error::NotFound(_) | Error::Deleted(_) | Error::Other(_) => exit::OTHER,
            Error::Temporary(_)
            | Error::LockTimeout { .. }
            | Error::NoLeader(_)
            | Error::Fenced { .. }
            | Error::ControllerFenced { .. } => exit::TEMPFAIL,
        }
    }

    /// True when the error is a closed stdout pipe (`| head`): not a failure.
    pub fn is_broken_pipe(&self) -> bool {
        match self {
            Error::Stream { source, .. } | Error::Io { source, .. } => {
                source.kind() == io::ErrorKind::BrokenPipe
            }
            _ => false,
        }
    }
}

/// Attach a path to an `io::Result`.
pub trait IoContext<T> {
    fn at(self, path: impl Into<PathBuf>) -> Result<T>;
}

impl<T> IoContext<T> for io::Result<T> {
    fn at(self, path: impl Into<PathBuf>) -> Result<T> {
        self.map_err(|e| Error::io(path, e))
    }
}
