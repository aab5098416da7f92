//! Reading a partition without locks. Readers never look past the published tail, so they
//! never see a batch that is being written; every batch they return has passed its CRC.

use super::batch::{BatchHeader, Records};
use super::file_header;
use super::index;
use super::scan::{Next, Scanner};
use super::segment;
use super::tail::{self, Tail};
use crate::error::{Error, IoContext, Result};
use crate::fsutil;
use std::fs::File;
use std::path::{Path, PathBuf};

const HDR: u64 = file_header::LEN as u64;

struct Seg {
    base: u64,
    file: File,
    path: PathBuf,
    /// Where its batches end, once the segment is known to be sealed.
    sealed: Option<segment::Extent>,
    /// Base of the next committed segment once this one is known to be sealed: a sealed
    /// segment never holds offsets at or above it, whatever bytes a dead writer left behind.
    limit: Option<u64>,
}

pub struct PartitionReader {
    dir: PathBuf,
    name: String,
    tail_file: File,
    tail_path: PathBuf,
    segments: Vec<u64>,
    seg: Option<Seg>,
    pos: u64,
    /// Offset the next batch must start at or after.
    next_offset: u64,
    scanner: Scanner,
}

/// A verified batch handed out by the reader.
pub struct BatchRef<'a> {
    pub header: BatchHeader,
    pub bytes: &'a [u8],
}

impl<'a> BatchRef<'a> {
    pub fn records(&self) -> Records<'a> {
        Records::new(self.bytes, self.header)
    }
}

impl PartitionReader {
    pub fn open(dir: &Path, name: &str) -> Result<Self> {
        let tail_path = dir.join("tail");
        let tail_file = fsutil::open_read(&tail_path).map_err(|e| match e {
            Error::Io { source, .. } if source.kind() == std::io::ErrorKind::NotFound => {
                Error::NotFound(format!(
                    "partition {name} has no data directory at {}",
                    dir.display()
                ))
            }
            e => e,
        })?;
        Ok(PartitionReader {
            dir: dir.to_path_buf(),
            name: name.to_string(),
            tail_file,
            tail_path,
            segments: Vec::new(),
            seg: None,
            pos: HDR,
            next_offset: 0,
            scanner: Scanner::default(),
        })
    }

    /// Read `chunk` bytes at a time instead of a megabyte: for a reader that looks at one
    /// batch here and there (the age of a group's oldest waiting record, for each of a thousand
    /// partitions), where a big buffer per reader costs more than the reads.
    pub fn with_chunk(mut self, chunk: usize) -> Self {
        self.scanner = Scanner::new(chunk);
        self
    }

    pub fn name(&self) -> &str {
        &self.name
    }

    /// The published tail. A partition whose tail is unreadable needs `verify --repair`.
    pub fn tail(&self) -> Result<Tail> {
        tail::read(&self.tail_file, &self.tail_path)?.ok_or_else(|| Error::Corrupt {
            partition: self.name.clone(),
            offset: 0,
            detail: format!(
                "{} has no valid slot; run `chute verify --repair` (or produce) to rebuild it",
                self.tail_path.display()
            ),
        })
    }

    fn relist(&mut self) -> Result<()> {
        self.segments = segment::list(&self.dir)?;
        Ok(())
    }

    fn open_seg(&mut self, base: u64) -> Result<()> {
        let path = segment::path(&self.dir, base, "log");
        let file = fsutil::open_read(&path)?;
        segment::read_header(&file, &path, file_header::LOG_MAGIC, base)?;
        self.scanner.invalidate();
        self.seg = Some(Seg {
            base,
            file,
            path,
            sealed: None,
            limit: None,
        });
        Ok(())
    }

    /// The segment that holds `offset`, among committed segments.
    fn segment_for(&mut self, offset: u64, t: &Tail) -> Result<u64> {
        if self.segments.is_empty() || *self.segments.last().unwrap() < t.segment_base {
            self.relist()?;
        }
        let committed = |b: &u64| *b <= t.segment_base;
        let found = self
            .segments
            .iter()
            .copied()
            .filter(committed)
            .take_while(|&b| b <= offset)
            .last();
        match found {
            Some(b) => Ok(b),
            None => self
                .segments
                .iter()
                .copied()
                .find(committed)
                .ok_or_else(|| Error::Corrupt {
                    partition: self.name.clone(),
                    offset,
                    detail: format!("no segment files in {}", self.dir.display()),
                }),
        }
    }

    /// Position the reader at the batch holding `offset` (clamped to the log's range).
    /// Returns the offset reading will start from; records below it must be skipped by the caller.
    pub fn seek(&mut self, offset: u64, t: &Tail) -> Result<u64> {
        let offset = offset.clamp(t.log_start_offset, t.end_offset);
        let mut base = self.segment_for(offset, t)?;
        if self.seg.as_ref().is_none_or(|s| s.base != base)
            && let Err(e) = self.open_seg(base)
        {
            if !is_not_found(&e) {
                return Err(e);
            }
            // Deleted by retention since we listed the directory: list again.
            self.relist()?;
            base = self.segment_for(offset, t)?;
            self.open_seg(base)?;
        }
        let rel = (offset - base).min(u32::MAX as u64) as u32;
        let idx_path = segment::path(&self.dir, base, "index");
        let end = self.seg_end(t)?;
        let seg = self.seg.as_ref().unwrap();
        let (mut pos, mut off) = (HDR, base);
        if let Ok(idx) = fsutil::open_read(&idx_path)
            && segment::read_header(&idx, &idx_path, file_header::INDEX_MAGIC, base).is_ok()
        {
            let len = idx.metadata().at(&idx_path)?.len();
            let limit = if base == t.segment_base {
                t.end_position
            } else {
                u64::MAX
            };
            (pos, off, _) = index::verified_start(
                &idx,
                len,
                base,
                rel,
                limit,
                &mut self.scanner,
                &seg.file,
                &seg.path,
                end,
                false,
            )?;
        }
        // Walk headers to the batch holding `offset`.
        while let Next::Batch { header, .. } =
            self.scanner.next(&seg.file, &seg.path, pos, end, false)?
        {
            if header.last_offset() >= offset {
                break;
            }
            pos += header.len() as u64;
            off = header.next_offset();
        }
        self.pos = pos;
        self.next_offset = off;
        Ok(offset)
    }

    fn seg_end(&mut self, t: &Tail) -> Result<u64> {
        let seg = self.seg.as_mut().unwrap();
        if seg.base == t.segment_base {
            return Ok(t.end_position);
        }
        if let Some(e) = seg.sealed {
            return Ok(e.end);
        }
        let e = segment::sealed_extent(&seg.file, &seg.path, seg.base)?;
        let base = seg.base;
        let limit = self.next_segment_after(base, t)?;
        let seg = self.seg.as_mut().unwrap();
        seg.sealed = Some(e);
        seg.limit = limit;
        Ok(e.end)
    }

    /// The next verified batch below the tail `t`, or `None` at the end of the visible log.
    pub fn next_batch(&mut self, t: &Tail) -> Result<Option<BatchRef<'_>>> {
        loop {
            if self.seg.is_none() {
                self.seek(self.next_offset, t)?;
            }
            let end = self.seg_end(t)?;
            let seg = self.seg.as_ref().unwrap();
            let base = seg.base;
            let pos = self.pos;
            // Two-phase to satisfy the borrow checker: classify first, then return the slice.
            let outcome = match self.scanner.next(&seg.file, &seg.path, pos, end, true)? {
                Next::Batch { header, .. }
                    if seg.limit.is_some_and(|l| header.base_offset >= l) =>
                {
                    Ok(None)
                }
                Next::Batch { header, .. } => {
                    if header.base_offset < self.next_offset {
                        Err(format!(
                            "batch at byte {pos} starts at offset {} but offset {} was already read",
                            header.base_offset, self.next_offset
                        ))
                    } else {
                        Ok(Some(header))
                    }
                }
                Next::End => Ok(None),
                Next::Bad { error, .. } => {
                    if base == t.segment_base && self.next_offset >= t.durable_offset {
                        // Published but lost with a machine crash: the log ends here until a
                        // writer or `verify --repair` cuts it.
                        return Ok(None);
                    }
                    match seg.sealed {
                        Some(e) if e.truncated() && pos >= e.file_len => {
                            Err(e.truncated_detail(&seg.path))
                        }
                        _ => Err(format!(
                            "batch at byte {pos} of {}: {error}",
                            seg.path.display(),
                        )),
                    }
                }
            };
            match outcome {
                Err(detail) => {
                    return Err(Error::Corrupt {
                        partition: self.name.clone(),
                        offset: self.next_offset,
                        detail,
                    });
                }
                Ok(Some(header)) => {
                    self.pos += header.len() as u64;
                    self.next_offset = header.next_offset();
                    let seg = self.seg.as_ref().unwrap();
                    // The scanner still holds the batch: fetch it again without I/O.
                    let Next::Batch { bytes, .. } =
                        self.scanner.next(&seg.file, &seg.path, pos, end, false)?
                    else {
                        unreachable!("batch vanished from the scan buffer")
                    };
                    return Ok(Some(BatchRef { header, bytes }));
                }
                Ok(None) => {
                    if base >= t.segment_base {
                        return Ok(None);
                    }
                    // End of a sealed segment: continue in the next committed one.
                    let next = self.next_segment_after(base, t)?;
                    match next {
                        Some(b) => match self.open_seg(b) {
                            Ok(()) => {
                                self.pos = HDR;
                                self.next_offset = self.next_offset.max(b);
                            }
                            Err(e) if is_not_found(&e) => {
                                // Retention removed it while we read the one before (we still
                                // hold that one open): continue at the new log start.
                                let now = self.tail()?;
                                self.relist()?;
                                let start = now.log_start_offset.max(self.next_offset);
                                self.seg = None;
                                self.seek(start.min(t.end_offset), t)?;
                            }
                            Err(e) => return Err(e),
                        },
                        None => return Ok(None),
                    }
                }
            }
        }
    }

    fn next_segment_after(&mut self, base: u64, t: &Tail) -> Result<Option<u64>> {
        let find = |segs: &[u64]| {
            segs.iter()
                .copied()
                .find(|&b| b > base && b <= t.segment_base)
        };
        if let Some(b) = find(&self.segments) {
            return Ok(Some(b));
        }
        self.relist()?;
        Ok(find(&self.segments))
    }

    /// The first offset whose record timestamp is >= `ts` (the end offset if none).
    ///
    /// The time index only says where to start looking, and only after the entry it gives has
    /// been checked against the log (a damaged index must never skip records): see
    /// [`verified_time_start`](Self::verified_time_start).
    pub fn offset_for_time(&mut self, ts: i64, t: &Tail) -> Result<u64> {
        for (base, limit) in self.committed_segments(t)? {
            let start = self
                .verified_time_start(base, ts, t)?
                .max(t.log_start_offset);
            if start >= t.end_offset {
                break;
            }
            self.seek(start, t)?;
            let name = self.name.clone();
            while let Some(b) = self.next_batch(t)? {
                if b.header.base_offset >= limit {
                    break;
                }
                if b.header.max_timestamp < ts {
                    continue;
                }
                let mut recs = b.records();
                while let Some(r) = recs.next_record() {
                    let r = r.map_err(|d| Error::Corrupt {
                        partition: name.clone(),
                        offset: b.header.base_offset,
                        detail: d,
                    })?;
                    if r.offset >= start && r.timestamp >= ts {
                        return Ok(r.offset);
                    }
                }
            }
        }
        Ok(t.end_offset)
    }

    /// The largest record timestamp in segment `base` (None when it holds no batch), for
    /// retention. Read from the log: the last time-index entry only says where to start, once
    /// checked, so a damaged index can never make fresh records look old.
    pub fn segment_max_timestamp(&mut self, base: u64, t: &Tail) -> Result<Option<i64>> {
        let limit = self
            .committed_segments(t)?
            .into_iter()
            .find(|&(b, _)| b == base)
            .map_or(u64::MAX, |(_, l)| l);
        let (start, mut max) = match self.verified_last_time(base, t)? {
            Some(e) => (base + e.rel_offset as u64, Some(e.timestamp)),
            None => (base, None),
        };
        if start >= t.end_offset {
            return Ok(max);
        }
        self.seek(start.max(base), t)?;
        while let Some(b) = self.next_batch(t)? {
            if b.header.base_offset >= limit {
                break;
            }
            max = Some(max.map_or(b.header.max_timestamp, |m: i64| {
                m.max(b.header.max_timestamp)
            }));
        }
        Ok(max)
    }

    /// Committed segments from the one holding the log start ([`segment::live`]).
    fn committed_segments(&mut self, t: &Tail) -> Result<Vec<(u64, u64)>> {
        self.relist()?;
        Ok(segment::live(&self.segments, t))
    }

    fn open_time_index(&self, base: u64) -> Option<(File, u64)> {
        let p = segment::path(&self.dir, base, "timeindex");
        let f = fsutil::open_read(&p).ok()?;
        segment::read_header(&f, &p, file_header::TIMEINDEX_MAGIC, base).ok()?;
        let len = f.metadata().ok()?.len();
        Some((f, len))
    }

    /// Where in segment `base` a search for the first record at or after `ts` may start: the
    /// batch of the last time-index entry below `ts`, if that entry checks out (the batch is
    /// there, starts at the offset the entry claims and has the timestamp it claims, and the
    /// neighbouring entries are in order); else the segment start.
    fn verified_time_start(&mut self, base: u64, ts: i64, t: &Tail) -> Result<u64> {
        let Some((f, len)) = self.open_time_index(base) else {
            return Ok(base);
        };
        let n = index::file::entry_count(len, index::TIME_ENTRY);
        let i =
            index::file::partition_point(n, |i| index::file::time_at(&f, i), |e| e.timestamp < ts);
        if i == 0 {
            return Ok(base);
        }
        match self.check_time_entry(&f, n, i - 1, base, t)? {
            Some(e) => Ok(base + e.rel_offset as u64),
            None => Ok(base),
        }
    }

    /// The last time-index entry of segment `base`, if it checks out.
    fn verified_last_time(&mut self, base: u64, t: &Tail) -> Result<Option<index::TimeEntry>> {
        let Some((f, len)) = self.open_time_index(base) else {
            return Ok(None);
        };
        let n = index::file::entry_count(len, index::TIME_ENTRY);
        if n == 0 {
            return Ok(None);
        }
        self.check_time_entry(&f, n, n - 1, base, t)
    }

    /// Entry `i` of a time index, if it agrees with its neighbours and with the batch it names.
    fn check_time_entry(
        &mut self,
        f: &File,
        n: u64,
        i: u64,
        base: u64,
        t: &Tail,
    ) -> Result<Option<index::TimeEntry>> {
        let Some(e) = index::file::time_at(f, i) else {
            return Ok(None);
        };
        let ordered = |a: &index::TimeEntry, b: &index::TimeEntry| {
            a.timestamp < b.timestamp && a.rel_offset < b.rel_offset
        };
        if i > 0 && index::file::time_at(f, i - 1).is_none_or(|p| !ordered(&p, &e)) {
            return Ok(None);
        }
        if i + 1 < n && index::file::time_at(f, i + 1).is_none_or(|x| !ordered(&e, &x)) {
            return Ok(None);
        }
        let offset = base + e.rel_offset as u64;
        if offset < t.log_start_offset || offset >= t.end_offset {
            return Ok(None);
        }
        self.seek(offset, t)?;
        let ok = match self.next_batch(t) {
            Ok(Some(b)) => b.header.base_offset == offset && b.header.max_timestamp == e.timestamp,
            Ok(None) | Err(_) => false,
        };
        Ok(ok.then_some(e))
    }
}

fn is_not_found(e: &Error) -> bool {
    matches!(e, Error::Io { source, .. } if source.kind() == std::io::ErrorKind::NotFound)
}
