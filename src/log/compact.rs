//! Log compaction (`cleanup.policy=compact`): in sealed segments, keep only the latest record of
//! each key below the cleaning point; a tombstone (null value) goes too once it is older than
//! `delete.retention`. Offsets never change: kept records stay in their batch, which keeps its
//! base offset, base timestamp, last offset delta and leader epoch; a batch left empty goes,
//! leaving a gap that readers skip.
//!
//! The rewrite is deterministic: the same batch and the same key map give the same bytes. The
//! cleaner builds the key map once, from the leader, and applies it to every in-sync replica in
//! the same pass, so replicas stay byte-identical (`verify` checks it).
//!
//! Crash safety, per segment (Kafka's `.cleaned` and `.swap`):
//! 1. the new `.index`, `.timeindex`, `.log` are written as `<name>.cleaned` and fsynced;
//! 2. under the partition lock, `.index.cleaned` and `.timeindex.cleaned` become `.swap`, then
//!    `.log.cleaned` becomes `.log.swap` (directory fsynced): this is the commit point;
//! 3. the `.swap` files replace the segment's files, the log last (directory fsynced).
//!
//! Recovery (before every cleaning): where `<base>.log.swap` exists the swap is completed;
//! other `.swap` and all `.cleaned` files are removed. Readers ignore these names; a reader that
//! has the old segment open reads it to its end (the same offsets, more records).

use super::batch::{BatchHeader, HEADER_LEN, compute_crc};
use super::codec::Codec;
use super::file_header;
use super::index;
use super::reader::PartitionReader;
use super::scan::{Next, Scanner};
use super::segment;
use super::tail::Tail;
use super::writer::{HDR, PartitionWriter, deleted_error};
use crate::error::{Error, IoContext, Result};
use crate::fsutil;
use std::collections::HashMap;
use std::io::Write;
use std::path::Path;

/// At most this many distinct keys per cleaning (about 40 MiB); the cleaning point is moved
/// back to where the map filled, and the next pass goes on from there.
pub const MAX_KEYS: usize = 1 << 20;

/// A 128-bit digest of a key: the map holds digests, not keys, so its size does not depend on
/// key sizes. (Two FNV-1a hashes with different bases; a collision would drop a record, the
/// same trade-off Kafka makes with MD5.)
fn digest(key: &[u8]) -> u128 {
    let mut a: u64 = 0xcbf2_9ce4_8422_2325;
    let mut b: u64 = 0x6c62_272e_07bb_0142;
    for &x in key {
        a = (a ^ x as u64).wrapping_mul(0x0000_0100_0000_01b3);
        b = (b ^ x as u64)
            .wrapping_mul(0x0000_0100_0000_01b3)
            .rotate_left(5);
    }
    ((a as u128) << 64) | (b as u128 ^ key.len() as u128)
}

/// Latest offset of each key below the cleaning point.
pub struct KeyMap {
    latest: HashMap<u128, u64>,
    /// Records at or above this offset are not cleaned.
    pub clean_end: u64,
}

impl KeyMap {
    /// Read the replica in `dir` (the leader) from its log start up to `clean_end`.
    pub fn build(dir: &Path, name: &str, t: &Tail, clean_end: u64) -> Result<KeyMap> {
        let mut latest = HashMap::new();
        let mut end = clean_end.min(t.end_offset);
        let mut r = PartitionReader::open(dir, name)?;
        r.seek(t.log_start_offset, t)?;
        'outer: while let Some(b) = r.next_batch(t)? {
            if b.header.base_offset >= end {
                break;
            }
            // Whole batches only: the cleaning point never splits one.
            if b.header.next_offset() > end {
                end = b.header.base_offset;
                break;
            }
            let before = latest.len();
            let mut recs = b.records();
            while let Some(rec) = recs.next_record() {
                let rec = rec.map_err(|d| Error::Corrupt {
                    partition: name.to_string(),
                    offset: b.header.base_offset,
                    detail: d,
                })?;
                if let Some(k) = rec.key {
                    latest.insert(digest(k), rec.offset);
                }
            }
            if latest.len() > MAX_KEYS && before > 0 {
                end = b.header.base_offset;
                // This batch's keys stay in the map: harmless (they only point at offsets we
                // will not clean in this pass).
                break 'outer;
            }
        }
        Ok(KeyMap {
            latest,
            clean_end: end,
        })
    }
}

/// What a cleaning did to one replica.
#[derive(Debug, Default, Clone, Copy, PartialEq, Eq)]
pub struct Cleaned {
    pub segments: u64,
    pub records_removed: u64,
    pub bytes_before: u64,
    pub bytes_after: u64,
}

/// Kept, or not: records without a key are always kept (they cannot be compacted).
fn keep(
    map: &KeyMap,
    offset: u64,
    key: Option<&[u8]>,
    tombstone: bool,
    ts: i64,
    now: i64,
    delete_retention_ms: u64,
) -> bool {
    let Some(k) = key else { return true };
    if offset >= map.clean_end {
        return true;
    }
    match map.latest.get(&digest(k)) {
        Some(&latest) if latest > offset => false,
        _ => !(tombstone && now.saturating_sub(ts) >= delete_retention_ms as i64),
    }
}

/// The batch rewritten with only its kept records (None: nothing kept), and how many went. A
/// compressed batch is inflated, and its kept records compressed again with its codec.
fn rewrite(
    bytes: &[u8],
    h: &BatchHeader,
    map: &KeyMap,
    now: i64,
    delete_retention_ms: u64,
    out: &mut Vec<u8>,
) -> std::result::Result<(bool, u64), String> {
    if h.base_offset >= map.clean_end {
        out.extend_from_slice(bytes);
        return Ok((true, 0));
    }
    let codec = h.codec();
    let start = out.len();
    out.extend_from_slice(&bytes[..HEADER_LEN]);
    // Kept records as stored: straight into `out`, or gathered to be compressed.
    let mut plain = Vec::new();
    let (mut kept, mut removed, mut max_ts) = (0u32, 0u64, i64::MIN);
    let mut recs = super::batch::Records::new(bytes, *h);
    while let Some(rec) = recs.next_record() {
        let rec = rec?;
        if keep(
            map,
            rec.offset,
            rec.key,
            rec.value.is_none(),
            rec.timestamp,
            now,
            delete_retention_ms,
        ) {
            if codec == Codec::None {
                out.extend_from_slice(rec.raw);
            } else {
                plain.extend_from_slice(rec.raw);
            }
            kept += 1;
            max_ts = max_ts.max(rec.timestamp);
        } else {
            removed += 1;
        }
    }
    if kept == 0 {
        out.truncate(start);
        return Ok((false, removed));
    }
    if removed == 0 {
        out.truncate(start);
        out.extend_from_slice(bytes);
        return Ok((true, 0));
    }
    // The batch's codec, stored split as the producer stores it (its level is not recorded:
    // the codec's default). Any producer stamp stays with the batch it was written on: the
    // cleaned batch has none (the producer state was checkpointed before cleaning).
    let mut attributes = codec as u8;
    if codec != Codec::None {
        let mut scratch = super::split::Scratch::default();
        if super::split::store(codec, None, &plain, &mut scratch, out) {
            attributes |= super::split::SPLIT;
        }
    }
    let len = (out.len() - start) as u32;
    let b = &mut out[start..];
    b[8..12].copy_from_slice(&len.to_le_bytes());
    b[21] = attributes;
    b[22..26].copy_from_slice(&kept.to_le_bytes());
    b[38..46].copy_from_slice(&max_ts.to_le_bytes());
    let crc = compute_crc(b);
    b[16..20].copy_from_slice(&crc.to_le_bytes());
    Ok((true, removed))
}

/// Finish or undo what a cleaner killed mid-swap left in `dir`.
pub fn recover(dir: &Path) -> Result<()> {
    let mut names = Vec::new();
    for e in std::fs::read_dir(dir).at(dir)? {
        let e = e.at(dir)?;
        if let Some(n) = e.file_name().to_str() {
            names.push(n.to_string());
        }
    }
    let committed = |stem: &str| names.iter().any(|n| n == &format!("{stem}.log.swap"));
    let mut changed = false;
    // Index files first, the log last: a `.log.swap` marks the set as complete until it goes.
    let mut swaps: Vec<&String> = names.iter().filter(|n| n.ends_with(".swap")).collect();
    swaps.sort_by_key(|n| n.ends_with(".log.swap"));
    for n in swaps {
        let final_name = n.trim_end_matches(".swap");
        let stem = final_name.split('.').next().unwrap_or("");
        let p = dir.join(n);
        if committed(stem) {
            std::fs::rename(&p, dir.join(final_name)).at(&p)?;
        } else {
            std::fs::remove_file(&p).at(&p)?;
        }
        changed = true;
    }
    for n in names.iter().filter(|n| n.ends_with(".cleaned")) {
        let p = dir.join(n);
        std::fs::remove_file(&p).at(&p)?;
        changed = true;
    }
    if changed {
        fsutil::sync_dir(dir)?;
    }
    Ok(())
}

impl PartitionWriter {
    /// Clean every sealed segment that holds records below `map.clean_end`.
    /// `progress(done, of)` is called before each segment (for a terminal's progress line).
    pub fn compact(
        &mut self,
        map: &KeyMap,
        now: i64,
        delete_retention_ms: u64,
        producer_expiry_ms: u64,
        progress: &mut dyn FnMut(usize, usize),
    ) -> Result<Cleaned> {
        let t = {
            let _guard = self.guard()?;
            let (cx, o) = self.refresh()?;
            recover(&cx.dir)?;
            let t = o.active.tail;
            // Cleaning drops batches, and their stamps with them: what they say is written
            // down first (the checkpoint covers every sealed segment).
            super::producers::checkpoint(&cx.dir, &cx.name, &t, producer_expiry_ms)?;
            t
        };
        if t.deleted() {
            return Err(deleted_error(&self.cx.name));
        }
        let bases: Vec<u64> = segment::list(&self.cx.dir)?
            .into_iter()
            .filter(|&b| b < t.segment_base)
            .collect();
        let mut total = Cleaned::default();
        for (i, &base) in bases.iter().enumerate() {
            progress(i, bases.len());
            let next = bases.get(i + 1).copied().unwrap_or(t.segment_base);
            if next <= t.log_start_offset || base >= map.clean_end {
                continue;
            }
            if let Some(c) = self.clean_segment(base, map, now, delete_retention_ms)? {
                total.segments += 1;
                total.records_removed += c.records_removed;
                total.bytes_before += c.bytes_before;
                total.bytes_after += c.bytes_after;
            }
        }
        Ok(total)
    }

    fn clean_segment(
        &mut self,
        base: u64,
        map: &KeyMap,
        now: i64,
        delete_retention_ms: u64,
    ) -> Result<Option<Cleaned>> {
        let dir = self.cx.dir.clone();
        let log_path = segment::path(&dir, base, "log");
        let log = fsutil::open_read(&log_path)?;
        let created = segment::read_header(&log, &log_path, file_header::LOG_MAGIC, base)?;
        let extent = segment::sealed_extent(&log, &log_path, base)?;
        let len = extent.end;
        // Pass 1: would anything go? (Most passes over an already clean segment stop here.)
        let mut scanner = Scanner::new(1 << 20);
        let mut scratch = Vec::new();
        let mut pos = HDR;
        let mut removes = 0;
        loop {
            match scanner.next(&log, &log_path, pos, len, true)? {
                Next::Batch { header, bytes, .. } => {
                    scratch.clear();
                    let (_, r) =
                        rewrite(bytes, &header, map, now, delete_retention_ms, &mut scratch)
                            .map_err(|d| corrupt(&self.cx.name, header.base_offset, d))?;
                    removes += r;
                    pos += header.len() as u64;
                }
                Next::End => break,
                Next::Bad { error, .. } => {
                    let detail = if extent.truncated() && pos >= extent.file_len {
                        extent.truncated_detail(&log_path)
                    } else {
                        format!(
                            "sealed segment {} at byte {pos}: {error}",
                            log_path.display()
                        )
                    };
                    return Err(corrupt(&self.cx.name, base, detail));
                }
            }
        }
        if removes == 0 {
            return Ok(None);
        }
        // Pass 2: write the cleaned files.
        let tmp = |ext: &str| dir.join(format!("{}.cleaned", segment::file_name(base, ext)));
        let _cleanup = RemoveOnDrop(["log", "index", "timeindex"].map(tmp));
        let mut out_log = std::io::BufWriter::with_capacity(
            1 << 20,
            fsutil::create_new(&tmp("log")).or_else(|_| {
                let _ = std::fs::remove_file(tmp("log"));
                fsutil::create_new(&tmp("log"))
            })?,
        );
        let mut idx = file_header::encode(file_header::INDEX_MAGIC, base, created).to_vec();
        let mut tidx = file_header::encode(file_header::TIMEINDEX_MAGIC, base, created).to_vec();
        out_log
            .write_all(&file_header::encode(file_header::LOG_MAGIC, base, created))
            .at(tmp("log"))?;
        let (mut opos, mut cadence) = (HDR, index::Cadence::default());
        let mut c = Cleaned {
            bytes_before: len,
            ..Default::default()
        };
        scanner.invalidate();
        pos = HDR;
        while let Next::Batch { header, bytes, .. } =
            scanner.next(&log, &log_path, pos, len, true)?
        {
            scratch.clear();
            let (kept, r) = rewrite(bytes, &header, map, now, delete_retention_ms, &mut scratch)
                .map_err(|d| corrupt(&self.cx.name, header.base_offset, d))?;
            c.records_removed += r;
            pos += header.len() as u64;
            if !kept {
                continue;
            }
            let nh = BatchHeader::parse(&scratch)
                .map_err(|e| corrupt(&self.cx.name, header.base_offset, e.to_string()))?;
            let (i, t) = cadence.next(base, nh.base_offset, opos, nh.max_timestamp);
            idx.extend(i.into_iter().flatten());
            tidx.extend(t.into_iter().flatten());
            out_log.write_all(&scratch).at(tmp("log"))?;
            opos += scratch.len() as u64;
        }
        c.bytes_after = opos;
        let f = out_log
            .into_inner()
            .map_err(|e| Error::io(tmp("log"), e.into_error()))?;
        // The cleaned copy replaces a sealed segment: it is sealed at its own length.
        segment::seal(&f, &tmp("log"), base, opos)?;
        fsutil::sync_data(&f, &tmp("log"))?;
        for (ext, data) in [("index", &idx), ("timeindex", &tidx)] {
            let p = tmp(ext);
            let _ = std::fs::remove_file(&p);
            let mut f = fsutil::create_new(&p)?;
            f.write_all(data).at(&p)?;
            fsutil::sync_data(&f, &p)?;
        }
        // Swap, under the lock, if the segment is still what we read: sealed, same length.
        let _guard = self.guard()?;
        let (_, o) = self.refresh()?;
        let t = o.active.tail;
        let same = t.segment_base > base
            && t.log_start_offset < self_next_base(&dir, base, t.segment_base)?
            && std::fs::metadata(&log_path).map(|m| m.len()).ok() == Some(extent.file_len);
        if !same {
            for ext in ["log", "index", "timeindex"] {
                let _ = std::fs::remove_file(tmp(ext));
            }
            return Ok(None);
        }
        let swap = |ext: &str| dir.join(format!("{}.swap", segment::file_name(base, ext)));
        crash_point!("compact-after-cleaned");
        for ext in ["index", "timeindex", "log"] {
            std::fs::rename(tmp(ext), swap(ext)).at(swap(ext))?;
            if ext == "timeindex" {
                crash_point!("compact-mid-swap");
            }
            if ext == "log" {
                fsutil::sync_dir(&dir)?;
            }
        }
        crash_point!("compact-after-swap");
        for ext in ["index", "timeindex", "log"] {
            std::fs::rename(swap(ext), segment::path(&dir, base, ext)).at(swap(ext))?;
            if ext == "index" {
                crash_point!("compact-mid-rename");
            }
        }
        fsutil::sync_dir(&dir)?;
        Ok(Some(c))
    }
}

/// Removes the `.cleaned` files on the way out: a cleaning that fails half-way (a full disk)
/// must not hold the space it took until the next pass. After a swap they are gone already.
struct RemoveOnDrop([std::path::PathBuf; 3]);

impl Drop for RemoveOnDrop {
    fn drop(&mut self) {
        for p in &self.0 {
            let _ = std::fs::remove_file(p);
        }
    }
}

fn self_next_base(dir: &Path, base: u64, active: u64) -> Result<u64> {
    Ok(segment::list(dir)?
        .into_iter()
        .find(|&b| b > base)
        .unwrap_or(active))
}

fn corrupt(name: &str, offset: u64, detail: String) -> Error {
    Error::Corrupt {
        partition: name.to_string(),
        offset,
        detail,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::log::WriterOptions;
    use crate::log::batch::BatchBuilder;

    type Rec = (u64, Option<Vec<u8>>, Option<Vec<u8>>);

    fn records(dir: &Path) -> Vec<Rec> {
        let mut r = PartitionReader::open(dir, "c-0").unwrap();
        let t = r.tail().unwrap();
        r.seek(0, &t).unwrap();
        let mut out = Vec::new();
        while let Some(b) = r.next_batch(&t).unwrap() {
            let mut recs = b.records();
            while let Some(rec) = recs.next_record() {
                let rec = rec.unwrap();
                out.push((
                    rec.offset,
                    rec.key.map(|k| k.to_vec()),
                    rec.value.map(|v| v.to_vec()),
                ));
            }
        }
        out
    }

    #[test]
    fn keeps_the_latest_value_per_key_with_offsets_unchanged() {
        let d = tempfile::tempdir().unwrap();
        let opts = WriterOptions {
            segment_bytes: 600,
            ..Default::default()
        };
        let mut w = PartitionWriter::open(d.path(), "c-0", opts).unwrap();
        let now = fsutil::now_ms();
        let mut latest = std::collections::BTreeMap::new();
        let mut off = 0u64;
        for round in 0..5 {
            for k in 0..8 {
                let mut b = BatchBuilder::new();
                let key = format!("k{k}");
                let val = format!("v{round}-{k}");
                let tomb = round == 4 && k == 3;
                b.push(
                    Some(key.as_bytes()),
                    (!tomb).then_some(val.as_bytes()),
                    now,
                    &[],
                );
                w.append(&mut b.seal()).unwrap();
                latest.insert(key, (off, (!tomb).then_some(val)));
                off += 1;
            }
        }
        // One more batch of no-key records: never compacted.
        let mut b = BatchBuilder::new();
        b.push(None, Some(b"nokey"), now, &[]);
        w.append(&mut b.seal()).unwrap();
        w.sync().unwrap();
        let t = PartitionReader::open(d.path(), "c-0")
            .unwrap()
            .tail()
            .unwrap();
        let map = KeyMap::build(d.path(), "c-0", &t, t.segment_base).unwrap();
        let c = w
            .compact(&map, now, 60_000, u64::MAX, &mut |_, _| {})
            .unwrap();
        assert!(c.records_removed > 0);
        let got = records(d.path());
        // Strictly increasing offsets; every key's latest record below the cleaning point kept.
        assert!(got.windows(2).all(|w| w[0].0 < w[1].0));
        for (k, (o, v)) in &latest {
            if *o < map.clean_end {
                let hits: Vec<_> = got
                    .iter()
                    .filter(|r| r.1.as_deref() == Some(k.as_bytes()))
                    .collect();
                assert_eq!(hits.last().unwrap().0, *o, "{k}");
                assert_eq!(
                    hits.last().unwrap().2.as_deref(),
                    v.as_deref().map(|s| s.as_bytes())
                );
            }
        }
        // The tombstone goes once it is older than delete.retention.
        let c = w
            .compact(&map, now + 120_000, 60_000, u64::MAX, &mut |_, _| {})
            .unwrap();
        let got = records(d.path());
        if latest["k3"].0 < map.clean_end {
            assert!(c.records_removed >= 1);
            assert!(!got.iter().any(|r| r.1.as_deref() == Some(b"k3")));
        }
        assert!(
            crate::log::verify::verify_partition(d.path(), "c-0", None)
                .unwrap()
                .problems
                .is_empty()
        );
    }

    #[test]
    fn a_compressed_batch_that_keeps_some_records_is_rewritten_readable() {
        // Each batch: a key every batch repeats, and one of its own. Cleaning keeps half of
        // each batch, so every one is inflated and compressed again (not dropped, not kept).
        for codec in [Codec::Lz4, Codec::Zstd, Codec::Gzip, Codec::Snappy] {
            let d = tempfile::tempdir().unwrap();
            let opts = WriterOptions {
                segment_bytes: 300,
                ..Default::default()
            };
            let mut w = PartitionWriter::open(d.path(), "c-0", opts).unwrap();
            let now = fsutil::now_ms();
            for round in 0..6 {
                let mut b = BatchBuilder::new().with_compression(codec, None);
                let own = format!("u{round}");
                b.push(Some(b"x"), Some(b"same key"), now, &[]);
                b.push(Some(own.as_bytes()), Some(b"its own"), now, &[]);
                w.append(&mut b.seal()).unwrap();
            }
            w.sync().unwrap();
            let t = PartitionReader::open(d.path(), "c-0")
                .unwrap()
                .tail()
                .unwrap();
            let map = KeyMap::build(d.path(), "c-0", &t, t.segment_base).unwrap();
            let c = w
                .compact(&map, now, 60_000, u64::MAX, &mut |_, _| {})
                .unwrap();
            assert!(c.records_removed > 0, "{codec}");
            let got = records(d.path());
            let own: Vec<_> = got
                .iter()
                .filter(|r| r.1.as_deref() != Some(b"x"))
                .collect();
            assert_eq!(own.len(), 6, "{codec}: {got:?}");
            let v = crate::log::verify::verify_partition(d.path(), "c-0", None).unwrap();
            assert!(v.problems.is_empty(), "{codec}: {:?}", v.problems);
        }
    }

    #[test]
    fn recovery_completes_a_committed_swap_and_drops_an_uncommitted_one() {
        let d = tempfile::tempdir().unwrap();
        let p = d.path();
        std::fs::write(p.join("00000000000000000000.log"), b"old").unwrap();
        std::fs::write(p.join("00000000000000000000.index.swap"), b"newidx").unwrap();
        std::fs::write(p.join("00000000000000000000.log.swap"), b"new").unwrap();
        std::fs::write(p.join("00000000000000000050.index.swap"), b"x").unwrap();
        std::fs::write(p.join("00000000000000000050.log.cleaned"), b"x").unwrap();
        recover(p).unwrap();
        assert_eq!(
            std::fs::read(p.join("00000000000000000000.log")).unwrap(),
            b"new"
        );
        assert_eq!(
            std::fs::read(p.join("00000000000000000000.index")).unwrap(),
            b"newidx"
        );
        let left: Vec<_> = std::fs::read_dir(p)
            .unwrap()
            .map(|e| e.unwrap().file_name())
            .collect();
        assert_eq!(left.len(), 2, "{left:?}");
    }
}
