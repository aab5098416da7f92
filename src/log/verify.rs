//! Whole-partition checks for `chute verify`: every batch's CRC, offsets that only go up,
//! segment boundaries, and index entries that point where they claim.

use super::batch::Records;
use super::file_header;
use super::index::{self, IndexEntry, TimeEntry};
use super::scan::{Next, Scanner};
use super::segment;
use super::tail::{self, Tail};
use super::writer::describe;
use super::{PartitionWriter, WriterOptions};
use crate::error::Result;
use crate::fsutil;
use std::path::Path;

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Finding {
    pub offset: Option<u64>,
    pub detail: String,
    /// Fixed by --repair in this run.
    pub repaired: bool,
}

#[derive(Debug, Default)]
pub struct Report {
    pub problems: Vec<Finding>,
    /// Harmless observations (bytes beyond the commit point of a live or dead writer).
    pub notes: Vec<String>,
    pub batches: u64,
    pub records: u64,
    pub end_offset: u64,
}

/// Verify one partition replica. With `repair`, hold the partition lock throughout, cut a torn
/// tail and rewrite indexes that are missing or wrong.
pub fn verify_partition(dir: &Path, name: &str, repair: bool) -> Result<Report> {
    if repair {
        let mut w = PartitionWriter::open(dir, name, WriterOptions::default())?;
        return w.locked(|t| check(dir, name, t, true));
    }
    let tf = fsutil::open_read(&dir.join("tail"))?;
    let t = tail::read(&tf, &dir.join("tail"))?;
    match t {
        Some(t) => check(dir, name, &t, false),
        None => Ok(Report {
            problems: vec![Finding {
                offset: None,
                detail: "tail file has no valid slot (--repair rebuilds it from the segments)"
                    .into(),
                repaired: false,
            }],
            ..Default::default()
        }),
    }
}

fn check(dir: &Path, name: &str, t: &Tail, repair: bool) -> Result<Report> {
    let mut rep = Report {
        end_offset: t.end_offset,
        ..Default::default()
    };
    let all = segment::list(dir)?;
    let segs: Vec<u64> = all
        .iter()
        .copied()
        .filter(|&b| b <= t.segment_base)
        .collect();
    for b in all.iter().filter(|&&b| b > t.segment_base) {
        rep.notes.push(format!("segment {b} is beyond the commit point (left by a writer that died mid-roll; the next writer removes it)"));
    }
    if !segs.contains(&t.segment_base) {
        rep.problems.push(Finding {
            offset: Some(t.segment_base),
            detail: format!(
                "active segment {} is missing",
                segment::file_name(t.segment_base, "log")
            ),
            repaired: false,
        });
        return Ok(rep);
    }
    let mut scanner = Scanner::default();
    let mut expected = segs.first().copied().unwrap_or(0);
    let problem = |rep: &mut Report, offset: Option<u64>, detail: String| {
        rep.problems.push(Finding {
            offset,
            detail,
            repaired: false,
        })
    };
    for (i, &base) in segs.iter().enumerate() {
        let active = base == t.segment_base;
        let log_path = segment::path(dir, base, "log");
        let log = fsutil::open_read(&log_path)?;
        scanner.invalidate();
        if let Err(e) = segment::read_header(&log, &log_path, file_header::LOG_MAGIC, base) {
            problem(&mut rep, Some(base), e.to_string());
            continue;
        }
        if base < expected {
            problem(
                &mut rep,
                Some(base),
                format!(
                    "segment {base} overlaps the previous one, which ends at offset {expected}"
                ),
            );
        }
        expected = expected.max(base);
        let file_len = log.metadata().map(|m| m.len()).unwrap_or(0);
        let end = if active { t.end_position } else { file_len };
        if active && file_len > end {
            rep.notes.push(format!("{} bytes beyond the commit point of {} (an append in progress, or left by a writer that died; the next writer or --repair removes them)", file_len - end, segment::file_name(base, "log")));
        }
        // Rebuild the indexes from the scan and compare with the files.
        let mut want_index: Vec<IndexEntry> = Vec::new();
        let mut want_time: Vec<TimeEntry> = Vec::new();
        let mut last_index_pos: Option<u64> = None;
        let mut last_time = i64::MIN;
        let mut pos = file_header::LEN as u64;
        let mut broken = false;
        loop {
            match scanner.next(&log, &log_path, pos, end, true)? {
                Next::Batch { header, bytes, .. } => {
                    if header.base_offset < expected {
                        problem(
                            &mut rep,
                            Some(header.base_offset),
                            format!(
                                "batch at byte {pos} of {} goes back to offset {} after {}",
                                segment::file_name(base, "log"),
                                header.base_offset,
                                expected
                            ),
                        );
                        broken = true;
                        break;
                    }
                    for r in Records::new(bytes, header) {
                        if let Err(d) = r.and_then(|r| r.headers().map(|_| ())) {
                            problem(
                                &mut rep,
                                Some(header.base_offset),
                                format!("record in batch at byte {pos}: {d}"),
                            );
                            break;
                        }
                    }
                    let rel = (header.base_offset - base) as u32;
                    if last_index_pos.is_none_or(|p| pos - p >= index::INTERVAL) {
                        want_index.push(IndexEntry {
                            rel_offset: rel,
                            position: pos as u32,
                        });
                        last_index_pos = Some(pos);
                    }
                    if header.max_timestamp > last_time {
                        want_time.push(TimeEntry {
                            timestamp: header.max_timestamp,
                            rel_offset: rel,
                        });
                        last_time = header.max_timestamp;
                    }
                    rep.batches += 1;
                    rep.records += header.record_count as u64;
                    expected = header.next_offset();
                    pos += header.len() as u64;
                }
                Next::End => break,
                Next::Bad { error, .. } => {
                    if active && expected >= t.durable_offset {
                        problem(
                            &mut rep,
                            Some(expected),
                            format!(
                                "torn tail at byte {pos} of {} ({}): lost with a crash before fsync",
                                segment::file_name(base, "log"),
                                describe(&error)
                            ),
                        );
                    } else {
                        problem(
                            &mut rep,
                            Some(expected),
                            format!(
                                "batch at byte {pos} of {}: {}",
                                segment::file_name(base, "log"),
                                describe(&error)
                            ),
                        );
                    }
                    broken = true;
                    break;
                }
            }
        }
        if active && !broken && expected != t.end_offset {
            problem(
                &mut rep,
                Some(expected),
                format!(
                    "log ends at offset {expected} but the tail says {}",
                    t.end_offset
                ),
            );
        }
        if let Some(&next) = segs.get(i + 1)
            && !broken
            && next < expected
        {
            problem(
                &mut rep,
                Some(next),
                format!("segment {next} starts before the previous one ends ({expected})"),
            );
        }
        if broken {
            continue;
        }
        let idx_ok = index_matches(dir, base, "index", file_header::INDEX_MAGIC, |b| {
            index::index_entries(b).collect::<Vec<_>>() == want_index
        });
        let time_ok = index_matches(dir, base, "timeindex", file_header::TIMEINDEX_MAGIC, |b| {
            index::time_entries(b).collect::<Vec<_>>() == want_time
        });
        for (ok, ext) in [(idx_ok, "index"), (time_ok, "timeindex")] {
            if ok {
                continue;
            }
            let mut f = Finding {
                offset: Some(base),
                detail: format!(
                    "{} is missing or does not match the log",
                    segment::file_name(base, ext)
                ),
                repaired: false,
            };
            if repair {
                let (magic, body): (&[u8; 8], Vec<u8>) = if ext == "index" {
                    (
                        file_header::INDEX_MAGIC,
                        want_index
                            .iter()
                            .flat_map(|e| index::encode_index(*e))
                            .collect(),
                    )
                } else {
                    (
                        file_header::TIMEINDEX_MAGIC,
                        want_time
                            .iter()
                            .flat_map(|e| index::encode_time(*e))
                            .collect(),
                    )
                };
                let mut bytes = file_header::encode(magic, base, 0).to_vec();
                bytes.extend_from_slice(&body);
                fsutil::atomic_write(&segment::path(dir, base, ext), &bytes)?;
                f.repaired = true;
            }
            rep.problems.push(f);
        }
        let _ = name;
    }
    Ok(rep)
}

fn index_matches(
    dir: &Path,
    base: u64,
    ext: &str,
    magic: &[u8; 8],
    same: impl Fn(&[u8]) -> bool,
) -> bool {
    let p = segment::path(dir, base, ext);
    match fsutil::read_small(&p, 256 << 20) {
        Ok(b) => {
            b.len() >= file_header::LEN
                && file_header::decode(&p, &b, magic, base).is_ok()
                && (b.len() - file_header::LEN).is_multiple_of(if ext == "index" {
                    index::INDEX_ENTRY
                } else {
                    index::TIME_ENTRY
                })
                && same(&b)
        }
        Err(_) => false,
    }
}
