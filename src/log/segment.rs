//! Segment files: `<20-digit base offset>.log` with its `.index` and `.timeindex`.

use super::file_header;
use crate::error::{Error, IoContext, Result};
use crate::fsutil;
use std::fs::File;
use std::os::unix::fs::FileExt;
use std::path::{Path, PathBuf};

pub fn file_name(base: u64, ext: &str) -> String {
    format!("{base:020}.{ext}")
}

pub fn path(dir: &Path, base: u64, ext: &str) -> PathBuf {
    dir.join(file_name(base, ext))
}

/// Base offsets of the `.log` files in `dir`, ascending. Names that are not exactly
/// 20 digits + `.log` (temp files, `.deleted`, `.cleaned`) are ignored.
pub fn list(dir: &Path) -> Result<Vec<u64>> {
    let mut bases = Vec::new();
    for entry in std::fs::read_dir(dir).at(dir)? {
        let entry = entry.at(dir)?;
        let name = entry.file_name();
        let Some(name) = name.to_str() else { continue };
        if let Some(stem) = name.strip_suffix(".log")
            && stem.len() == 20
            && stem.bytes().all(|b| b.is_ascii_digit())
            && let Ok(b) = stem.parse::<u64>()
        {
            bases.push(b);
        }
    }
    bases.sort_unstable();
    Ok(bases)
}

/// The segments readers use, given the list of `.log` bases and the tail: committed ones (at
/// or below the active segment) from the one holding the log start (older ones are left over
/// from a crash mid-deletion and read by nobody), each with the base of the next one
/// (`u64::MAX` for the active segment).
pub fn live(bases: &[u64], t: &super::tail::Tail) -> Vec<(u64, u64)> {
    let segs: Vec<u64> = bases
        .iter()
        .copied()
        .filter(|&b| b <= t.segment_base)
        .collect();
    let first = segs
        .iter()
        .rposition(|&b| b <= t.log_start_offset)
        .unwrap_or(0);
    segs.iter()
        .enumerate()
        .skip(first)
        .map(|(i, &b)| (b, segs.get(i + 1).copied().unwrap_or(u64::MAX)))
        .collect()
}

/// The three files of a segment, created with their headers and fsynced, directory included.
pub struct NewSegment {
    pub log: File,
    pub index: File,
    pub timeindex: File,
}

pub fn create(dir: &Path, base: u64, created_ms: i64) -> Result<NewSegment> {
    create_files(dir, base, created_ms).inspect_err(|_| {
        // A roll that fails half-way (a full disk) leaves no empty or headless segment file
        // behind: they are beyond the commit point, so nobody reads them.
        for ext in ["log", "index", "timeindex"] {
            let _ = std::fs::remove_file(path(dir, base, ext));
        }
    })
}

fn create_files(dir: &Path, base: u64, created_ms: i64) -> Result<NewSegment> {
    let mk = |ext: &str, magic: &[u8; 8]| -> Result<File> {
        let p = path(dir, base, ext);
        // A file left by a writer that died between creating a segment and publishing it is
        // beyond the commit point: nobody can be reading it, so replacing it is safe.
        let f = match fsutil::create_new(&p) {
            Ok(f) => f,
            Err(crate::Error::Io { source, .. })
                if source.kind() == std::io::ErrorKind::AlreadyExists =>
            {
                std::fs::remove_file(&p).at(&p)?;
                fsutil::create_new(&p)?
            }
            Err(e) => return Err(e),
        };
        f.write_all_at(&file_header::encode(magic, base, created_ms), 0)
            .at(&p)?;
        fsutil::sync_data(&f, &p)?;
        Ok(f)
    };
    let seg = NewSegment {
        log: mk("log", file_header::LOG_MAGIC)?,
        index: mk("index", file_header::INDEX_MAGIC)?,
        timeindex: mk("timeindex", file_header::TIMEINDEX_MAGIC)?,
    };
    fsutil::sync_dir(dir)?;
    Ok(seg)
}

/// Segment files above the active one were created by a writer that died mid-roll.
pub(super) fn remove_uncommitted_segments(dir: &Path, active_base: u64) -> Result<()> {
    let mut removed = false;
    for base in list(dir)? {
        if base > active_base {
            for ext in ["log", "index", "timeindex"] {
                let p = path(dir, base, ext);
                match std::fs::remove_file(&p) {
                    Ok(()) => removed = true,
                    Err(e) if e.kind() == std::io::ErrorKind::NotFound => {}
                    Err(e) => return Err(Error::io(&p, e)),
                }
            }
        }
    }
    if removed {
        fsutil::sync_dir(dir)?;
    }
    Ok(())
}

/// Read and check a file's header; returns `created_ms`.
pub fn read_header(f: &File, p: &Path, magic: &[u8; 8], base: u64) -> Result<i64> {
    let mut h = [0u8; file_header::LEN];
    let n = super::tail::read_full_at(f, &mut h, 0).at(p)?;
    file_header::decode(p, &h[..n], magic, base)
}

/// Record in segment `base`'s header that it is sealed at `len` bytes. The caller fsyncs the
/// file before the segment counts as sealed (before the tail moves past it).
pub fn seal(f: &File, p: &Path, base: u64, len: u64) -> Result<()> {
    let len = u32::try_from(len).map_err(|_| Error::Format {
        path: p.to_path_buf(),
        detail: format!(
            "a segment of {len} bytes cannot be sealed (at most {} bytes)",
            u32::MAX
        ),
    })?;
    f.write_all_at(&file_header::encode_seal(base, len), file_header::SEAL_AT)
        .at(p)
}

/// How far a sealed segment's bytes reach.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Extent {
    /// Where its batches end: the sealed length its header records, else the file length.
    pub end: u64,
    /// The file's length now.
    pub file_len: u64,
    /// Whether the header records the sealed length (else `end` is the file length).
    pub recorded: bool,
}

impl Extent {
    /// The file ends before the length it was sealed at: batches are missing at its end.
    pub fn truncated(&self) -> bool {
        self.file_len < self.end
    }

    /// What a reader that reached the file's end at `pos` says.
    pub fn truncated_detail(&self, p: &Path) -> String {
        format!(
            "{} ends at byte {} but was sealed at {} bytes: {} bytes are missing",
            p.display(),
            self.file_len,
            self.end,
            self.end - self.file_len
        )
    }
}

/// The extent of sealed segment `base` (open as `f`). Bytes beyond a recorded seal were never
/// part of the segment and are not read.
pub fn sealed_extent(f: &File, p: &Path, base: u64) -> Result<Extent> {
    let file_len = f.metadata().at(p)?.len();
    let mut h = [0u8; file_header::LEN];
    let n = super::tail::read_full_at(f, &mut h, 0).at(p)?;
    let seal = file_header::decode_seal(&h[..n], base);
    Ok(Extent {
        end: seal.unwrap_or(file_len),
        file_len,
        recorded: seal.is_some(),
    })
}
