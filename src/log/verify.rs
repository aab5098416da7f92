//! Whole-partition checks for `chute verify`: every batch's CRC, offsets that only go up,
//! segment boundaries, and index entries that point where they claim.

use super::batch::Records;
use super::file_header;
use super::index;
use super::repair::{Damage, Repaired, Source, first_damage, needs_truncate_message};
use super::scan::{Next, Scanner};
use super::segment;
use super::tail::{self, Tail};
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
    /// Damage below the durable offset (without --repair): what only a replica or
    /// `--truncate-damaged` can fix.
    pub damage: Option<Damage>,
}

/// What `verify --repair` may do to a replica.
pub struct Repair<'a> {
    /// Cut at damaged data that no replica can restore (`--truncate-damaged`).
    pub truncate_damaged: bool,
    pub lock_timeout: std::time::Duration,
    /// Another replica of the partition that may hold an identical copy of damaged data.
    pub sources: Vec<Source<'a>>,
}

/// Verify one partition replica. With `repair`, hold the partition lock throughout: restore
/// damaged data from a replica (or cut it, if allowed), cut a torn tail, rewrite indexes that
/// are missing or wrong.
pub fn verify_partition(dir: &Path, name: &str, repair: Option<Repair<'_>>) -> Result<Report> {
    let tail_path = dir.join("tail");
    if let Some(r) = repair {
        let mut w = PartitionWriter::open(
            dir,
            name,
            WriterOptions {
                lock_timeout: r.lock_timeout,
                ..WriterOptions::default()
            },
        )?;
        let mut findings = Vec::new();
        if let Ok(f) = fsutil::open_read(&tail_path)
            && !tail::header_ok(&f, &tail_path)?
        {
            findings.push(Finding {
                offset: None,
                detail: "tail file header was damaged; rewritten (the slots were intact)".into(),
                repaired: true,
            });
        }
        // Each in-sync replica in turn; the last try has no source and may cut.
        let mut sources = r.sources.into_iter();
        let outcome = loop {
            let src = sources.next();
            let last = src.is_none();
            let o = w.repair_damage(src, r.truncate_damaged && last)?;
            if !matches!(o, Repaired::NeedsTruncate(_)) || last {
                break o;
            }
        };
        match &outcome {
            Repaired::Clean => {}
            Repaired::NeedsTruncate(d) => {
                findings.push(Finding {
                    offset: Some(d.offset),
                    detail: needs_truncate_message(d),
                    repaired: false,
                });
                return Ok(Report {
                    problems: findings,
                    end_offset: d.end_offset,
                    ..Default::default()
                });
            }
            Repaired::Restored { damage, aside } => findings.push(Finding {
                offset: Some(damage.offset),
                detail: format!(
                    "{}; offsets {} to {} restored from an in-sync replica (the damaged bytes were moved to {})",
                    damage.detail,
                    damage.offset,
                    damage.end_offset - 1,
                    aside.display()
                ),
                repaired: true,
            }),
            Repaired::Truncated { damage, aside } => findings.push(Finding {
                offset: Some(damage.offset),
                detail: format!(
                    "{}; the log was cut there: offsets {} to {} ({} offsets) are LOST; the cut bytes were moved to {}",
                    damage.detail,
                    damage.offset,
                    damage.end_offset - 1,
                    damage.end_offset - damage.offset,
                    aside.display()
                ),
                repaired: true,
            }),
        }
        let mut rep = w.locked(|t| check(dir, name, t, true))?;
        findings.append(&mut rep.problems);
        rep.problems = findings;
        return Ok(rep);
    }
    let tf = fsutil::open_read(&tail_path)?;
    let t = tail::read(&tf, &tail_path)?;
    let header = (!tail::header_ok(&tf, &tail_path)?).then(|| Finding {
        offset: None,
        detail: "tail file header is damaged (the slots are intact; --repair rewrites it)".into(),
        repaired: false,
    });
    match t {
        Some(t) => {
            let mut rep = check(dir, name, &t, false)?;
            rep.problems.extend(header);
            rep.damage = first_damage(dir, &t)?;
            Ok(rep)
        }
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
        let extent = if active {
            None
        } else {
            Some(segment::sealed_extent(&log, &log_path, base)?)
        };
        let end = extent.map_or(t.end_position, |e| e.end);
        if active && file_len > end {
            rep.notes.push(format!("{} bytes beyond the commit point of {} (an append in progress, or left by a writer that died; the next writer or --repair removes them)", file_len - end, segment::file_name(base, "log")));
        }
        if !active && file_len > end {
            rep.notes.push(format!(
                "{} bytes beyond the sealed length of {} ({end} bytes): never part of the segment, not read",
                file_len - end,
                segment::file_name(base, "log")
            ));
        }
        // Derive the indexes from the scan and compare them with the files as we go.
        let mut want_index = Expect::open(dir, base, "index", file_header::INDEX_MAGIC);
        let mut want_time = Expect::open(dir, base, "timeindex", file_header::TIMEINDEX_MAGIC);
        let mut cadence = index::Cadence::default();
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
                    let mut recs = Records::new(bytes, header);
                    while let Some(r) = recs.next_record() {
                        if let Err(d) = r.and_then(|r| r.headers().map(|_| ())) {
                            problem(
                                &mut rep,
                                Some(header.base_offset),
                                format!("record in batch at byte {pos}: {d}"),
                            );
                            break;
                        }
                    }
                    let (i, t) = cadence.next(base, header.base_offset, pos, header.max_timestamp);
                    if let Some(e) = i {
                        want_index.entry(&e);
                    }
                    if let Some(e) = t {
                        want_time.entry(&e);
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
                                "torn tail at byte {pos} of {} ({error}): lost with a crash before fsync",
                                segment::file_name(base, "log"),
                            ),
                        );
                    } else {
                        let detail = match extent {
                            Some(e) if e.truncated() && pos >= e.file_len => {
                                e.truncated_detail(&log_path)
                            }
                            _ => format!(
                                "batch at byte {pos} of {}: {error}",
                                segment::file_name(base, "log"),
                            ),
                        };
                        problem(&mut rep, Some(expected), detail);
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
        let (idx_ok, time_ok) = if active {
            let u32_at = |e: &[u8], i: usize| u32::from_le_bytes(e[i..i + 4].try_into().unwrap());
            (
                want_index.matches_ahead(index::INDEX_ENTRY, |e| u32_at(e, 4) as u64 >= end),
                want_time.matches_ahead(index::TIME_ENTRY, |e| {
                    base + u32_at(e, 8) as u64 >= expected
                }),
            )
        } else {
            (want_index.matches(), want_time.matches())
        };
        let mut repaired = false;
        for (ok, ext) in [(idx_ok, "index"), (time_ok, "timeindex")] {
            if ok {
                continue;
            }
            if repair && !repaired {
                rewrite_indexes(dir, base, &log, &log_path, end)?;
                repaired = true;
            }
            rep.problems.push(Finding {
                offset: Some(base),
                detail: format!(
                    "{} is missing or does not match the log",
                    segment::file_name(base, ext)
                ),
                repaired,
            });
        }
        let _ = name;
    }
    Ok(rep)
}

/// Compares the entries an index should hold with the file, streaming (an index can be large).
struct Expect {
    file: Option<std::io::BufReader<std::fs::File>>,
    ok: bool,
    buf: [u8; 16],
}

impl Expect {
    fn open(dir: &Path, base: u64, ext: &str, magic: &[u8; 8]) -> Expect {
        let p = segment::path(dir, base, ext);
        let file = fsutil::open_read(&p)
            .ok()
            .filter(|f| segment::read_header(f, &p, magic, base).is_ok())
            .and_then(|f| {
                use std::io::Seek;
                let mut r = std::io::BufReader::with_capacity(64 * 1024, f);
                r.seek(std::io::SeekFrom::Start(file_header::LEN as u64))
                    .ok()?;
                Some(r)
            });
        Expect {
            ok: file.is_some(),
            file,
            buf: [0; 16],
        }
    }

    fn entry(&mut self, want: &[u8]) {
        use std::io::Read;
        if !self.ok {
            return;
        }
        let got = &mut self.buf[..want.len()];
        self.ok = self
            .file
            .as_mut()
            .is_some_and(|f| f.read_exact(got).is_ok() && got == want);
    }

    /// True when every expected entry was there and nothing follows them.
    fn matches(mut self) -> bool {
        use std::io::Read;
        self.ok
            && self
                .file
                .as_mut()
                .is_some_and(|f| f.read(&mut self.buf).ok() == Some(0))
    }

    /// Like [`matches`](Self::matches), for the active segment: entries of `n` bytes after
    /// the expected ones are allowed when `ahead` says they are past the commit point (a
    /// writer that died between writing a batch and publishing it leaves its index entries
    /// there, as it leaves its bytes; the next writer removes both).
    fn matches_ahead(mut self, n: usize, ahead: impl Fn(&[u8]) -> bool) -> bool {
        use std::io::Read;
        if !self.ok {
            return false;
        }
        let Some(f) = self.file.as_mut() else {
            return false;
        };
        let mut rest = Vec::new();
        // Bounded: past the expected entries only what one dead append wrote.
        if f.take(1 << 20).read_to_end(&mut rest).is_err() {
            return false;
        }
        rest.chunks(n).all(|e| e.len() < n || ahead(e))
    }
}

/// Rewrite a segment's index files from its log, in place (never by rename: a writer holding
/// them open must keep writing into the files readers see). The caller holds the partition
/// lock, and the tail is republished afterwards so that every writer reloads its view.
fn rewrite_indexes(
    dir: &Path,
    base: u64,
    log: &std::fs::File,
    log_path: &Path,
    end: u64,
) -> Result<()> {
    use crate::error::IoContext;
    use std::os::unix::fs::FileExt;
    let mut files = Vec::new();
    for (ext, magic) in [
        ("index", file_header::INDEX_MAGIC),
        ("timeindex", file_header::TIMEINDEX_MAGIC),
    ] {
        let p = segment::path(dir, base, ext);
        let f = fsutil::open_or_create(&p)?;
        f.set_len(0).at(&p)?;
        f.write_all_at(&file_header::encode(magic, base, 0), 0)
            .at(&p)?;
        files.push((f, p, Vec::<u8>::new(), file_header::LEN as u64));
    }
    let flush =
        |(f, p, buf, at): &mut (std::fs::File, std::path::PathBuf, Vec<u8>, u64)| -> Result<()> {
            f.write_all_at(buf, *at).at(&*p)?;
            *at += buf.len() as u64;
            buf.clear();
            Ok(())
        };
    let mut scanner = Scanner::default();
    let mut pos = file_header::LEN as u64;
    let mut cadence = index::Cadence::default();
    while let Next::Batch { header, .. } = scanner.next(log, log_path, pos, end, false)? {
        let (i, t) = cadence.next(base, header.base_offset, pos, header.max_timestamp);
        files[0].2.extend(i.into_iter().flatten());
        files[1].2.extend(t.into_iter().flatten());
        for f in files.iter_mut() {
            if f.2.len() >= 64 * 1024 {
                flush(f)?;
            }
        }
        pos += header.len() as u64;
    }
    for f in files.iter_mut() {
        flush(f)?;
        fsutil::sync_data(&f.0, &f.1)?;
    }
    Ok(())
}
