//! Formatted records on stdout, buffered up to [`FLUSH_AT`] (at once on a terminal), written
//! through a duplicate of fd 1 without std's line buffering, so the caller knows exactly how
//! many bytes reached stdout when it breaks (a group commits only what its reader took).

use super::OutputFormat;
use crate::error::{Error, Result};
use crate::record::{ConsumedRecord, RecordSink};
use std::fs::File;
use std::io::Write;

pub const FLUSH_AT: usize = 1 << 20;

pub struct Stdout {
    out: File,
    tty: bool,
    /// stdout is a pipe: written is not read (`| head`); FIONREAD tells what is not.
    pub pipe: bool,
    buf: Vec<u8>,
    /// Bytes written to stdout so far (`buf` starts there).
    total: u64,
}

impl Stdout {
    pub fn open() -> Result<Stdout> {
        use std::io::IsTerminal;
        use std::os::fd::AsFd;
        let stdout = std::io::stdout();
        let tty = stdout.is_terminal();
        let fd = stdout
            .as_fd()
            .try_clone_to_owned()
            .map_err(|e| Error::stream("stdout", e))?;
        Ok(Stdout {
            out: File::from(fd),
            tty,
            pipe: crate::signals::stdout_is_pipe(),
            buf: Vec::with_capacity(FLUSH_AT + 64 * 1024),
            total: 0,
        })
    }

    /// Format `r` into the buffer. Returns where its last byte will be, counted from the
    /// first byte ever written, and whether the buffer should be flushed now.
    pub fn push(&mut self, format: &OutputFormat, r: &ConsumedRecord<'_>) -> (u64, bool) {
        format.write(r, &mut self.buf);
        (self.end(), self.buf.len() >= FLUSH_AT || self.tty)
    }

    /// Where the next byte will be, counted from the first byte ever written.
    pub fn end(&self) -> u64 {
        self.total + self.buf.len() as u64
    }

    /// Bytes written to stdout so far.
    pub fn written(&self) -> u64 {
        self.total
    }

    /// Write the buffer. On an error, what was written before it counts (and leaves the
    /// buffer); the rest stays.
    pub fn flush(&mut self) -> Result<()> {
        let mut written = 0;
        let mut res = Ok(());
        while written < self.buf.len() {
            match self.out.write(&self.buf[written..]) {
                Ok(0) => {
                    res = Err(Error::stream(
                        "stdout",
                        std::io::Error::new(std::io::ErrorKind::WriteZero, "wrote nothing"),
                    ));
                    break;
                }
                Ok(n) => written += n,
                Err(e) if e.kind() == std::io::ErrorKind::Interrupted => {}
                Err(e) => {
                    res = Err(Error::stream("stdout", e));
                    break;
                }
            }
        }
        self.total += written as u64;
        if res.is_ok() {
            self.buf.clear();
        } else {
            self.buf.drain(..written);
        }
        res
    }
}

/// Plain `consume`: records formatted onto stdout, nothing to commit.
pub struct FormattedStdout {
    pub format: OutputFormat,
    pub out: Stdout,
}

impl RecordSink for FormattedStdout {
    fn record(&mut self, r: &ConsumedRecord<'_>) -> Result<()> {
        if self.out.push(&self.format, r).1 {
            self.out.flush()?;
        }
        Ok(())
    }
}
