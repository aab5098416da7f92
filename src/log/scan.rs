//! Sequential batch scanning over a segment file through one reusable buffer.

use super::batch::{self, BatchError, BatchHeader, HEADER_LEN, MAX_BATCH_LEN};
use super::tail::read_full_at;
use crate::error::{IoContext, Result};
use std::fs::File;
use std::path::Path;

/// Bytes read per system call when scanning; large enough that syscalls do not dominate.
pub const CHUNK: usize = 1 << 20;

pub enum Next<'a> {
    Batch {
        pos: u64,
        header: BatchHeader,
        bytes: &'a [u8],
    },
    /// No more bytes before `end`.
    End,
    /// The bytes at `pos` are not a valid batch (or the batch runs past `end`).
    Bad { pos: u64, error: BatchError },
}

pub struct Scanner {
    buf: Vec<u8>,
    /// File position of `buf[0]`; `u64::MAX` when the buffer holds nothing.
    start: u64,
    /// The file the buffer came from: a cache hit must be the same file, not just the same
    /// position (every segment has a batch at byte 32).
    fd: i32,
    chunk: usize,
}

impl Default for Scanner {
    fn default() -> Self {
        Self::new(CHUNK)
    }
}

impl Scanner {
    pub fn new(chunk: usize) -> Self {
        Scanner {
            buf: Vec::new(),
            start: u64::MAX,
            fd: -1,
            chunk,
        }
    }

    /// Forget buffered bytes (the file may have been truncated or rewritten).
    pub fn invalidate(&mut self) {
        self.start = u64::MAX;
        self.buf.clear();
    }

    /// Make `buf` hold `[pos, pos+need)` if the file has it, reading at least a chunk.
    fn fill(&mut self, file: &File, path: &Path, pos: u64, need: usize, end: u64) -> Result<usize> {
        use std::os::fd::AsRawFd;
        let fd = file.as_raw_fd();
        let have_from = pos.wrapping_sub(self.start);
        if self.start != u64::MAX
            && self.fd == fd
            && pos >= self.start
            && have_from as usize + need <= self.buf.len()
        {
            return Ok(have_from as usize);
        }
        let want = (need.max(self.chunk) as u64).min(end.saturating_sub(pos)) as usize;
        self.buf.resize(want.max(need.min(want)), 0);
        let n = read_full_at(file, &mut self.buf[..want], pos).at(path)?;
        self.buf.truncate(n);
        self.start = pos;
        self.fd = fd;
        // Do not keep a huge buffer alive after one oversized batch.
        if self.buf.capacity() > 4 * self.chunk.max(MAX_BATCH_LEN / 16) && n < self.chunk {
            self.buf.shrink_to(self.chunk);
        }
        Ok(0)
    }

    /// The batch at `pos`, if a whole one lies below `end`. With `verify`, its CRC is checked.
    pub fn next<'a>(
        &'a mut self,
        file: &File,
        path: &Path,
        pos: u64,
        end: u64,
        verify: bool,
    ) -> Result<Next<'a>> {
        if pos >= end {
            return Ok(Next::End);
        }
        let at = self.fill(file, path, pos, HEADER_LEN, end)?;
        let avail = self.buf.len() - at;
        let header = match BatchHeader::parse(&self.buf[at..]) {
            Ok(h) => h,
            Err(BatchError::Unsupported { what, len }) => {
                return self.unsupported(file, path, pos, end, what, len);
            }
            Err(error) => return Ok(Next::Bad { pos, error }),
        };
        let len = header.len();
        if pos + len as u64 > end {
            return Ok(Next::Bad {
                pos,
                error: BatchError::Incomplete { need: len },
            });
        }
        let at = if avail < len {
            let at = self.fill(file, path, pos, len, end)?;
            if self.buf.len() - at < len {
                return Ok(Next::Bad {
                    pos,
                    error: BatchError::Incomplete { need: len },
                });
            }
            at
        } else {
            at
        };
        let bytes = &self.buf[at..at + len];
        if verify {
            let crc = batch::compute_crc(bytes);
            if crc != header.crc {
                return Ok(Next::Bad {
                    pos,
                    error: BatchError::Invalid(format!(
                        "CRC mismatch (stored {:#010x}, computed {crc:#010x})",
                        header.crc
                    )),
                });
            }
        }
        Ok(Next::Batch { pos, header, bytes })
    }

    /// A batch of another format version whose CRC checks out was written by a newer chute:
    /// refuse the whole partition (exit 74) rather than treat it as a torn tail and cut it.
    fn unsupported<'a>(
        &'a mut self,
        file: &File,
        path: &Path,
        pos: u64,
        end: u64,
        what: String,
        len: usize,
    ) -> Result<Next<'a>> {
        let invalid = BatchError::Invalid(format!(
            "unknown batch {what} (this chute reads version {})",
            batch::MAGIC
        ));
        if pos + len as u64 > end {
            return Ok(Next::Bad {
                pos,
                error: invalid,
            });
        }
        let at = self.fill(file, path, pos, len, end)?;
        let bytes = &self.buf[at..];
        if bytes.len() >= len {
            let stored = u32::from_le_bytes(bytes[16..20].try_into().unwrap());
            if batch::compute_crc(&bytes[..len]) == stored {
                return Err(crate::error::Error::Format {
                    path: path.to_path_buf(),
                    detail: format!(
                        "the batch at byte {pos} has {what}, written by a newer chute; this chute reads batch format version {} (upgrade chute)",
                        batch::MAGIC
                    ),
                });
            }
        }
        Ok(Next::Bad {
            pos,
            error: invalid,
        })
    }
}
