//! The leader-epoch checkpoint (`leader-epochs`): for every leader epoch that wrote to this
//! replica, the first offset written in it. A returning replica compares its checkpoint with
//! the leader's to find where its log diverged (Kafka's KIP-101 and KIP-279), instead of
//! trusting its high watermark.
//!
//! Every batch also carries its leader epoch, so the checkpoint is derivable from the log: a
//! missing or damaged file is rebuilt by reading the batch headers.
//!
//! Format: the 32-byte file header (magic `CHUTEEPO`, version 1, base offset 0), then
//! ```text
//!   u32 count
//!   count × { u32 epoch, u64 start_offset }     epochs strictly increasing, starts non-decreasing
//!   u32 crc                                      CRC-32 of everything before it
//! ```
//! The file is replaced atomically (write, fsync, rename, fsync dir) under the partition lock.

use super::file_header;
use super::reader::PartitionReader;
use super::tail::Tail;
use crate::error::Result;
use crate::fsutil;
use std::path::{Path, PathBuf};

pub const MAGIC: &[u8; 8] = b"CHUTEEPO";
pub const FILE: &str = "leader-epochs";

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct EpochEntry {
    pub epoch: u32,
    pub start_offset: u64,
}

pub fn path(dir: &Path) -> PathBuf {
    dir.join(FILE)
}

pub fn encode(entries: &[EpochEntry]) -> Vec<u8> {
    let mut b = file_header::encode(MAGIC, 0, 0).to_vec();
    b.extend_from_slice(&(entries.len() as u32).to_le_bytes());
    for e in entries {
        b.extend_from_slice(&e.epoch.to_le_bytes());
        b.extend_from_slice(&e.start_offset.to_le_bytes());
    }
    let crc = crc32fast::hash(&b);
    b.extend_from_slice(&crc.to_le_bytes());
    b
}

/// `None` when the bytes are not a valid checkpoint (the caller rebuilds it from the log).
/// A checkpoint of a newer format version is an error: rebuilding would lose what it says.
pub fn decode(p: &Path, b: &[u8]) -> Result<Option<Vec<EpochEntry>>> {
    if b.len() < file_header::LEN + 8 || &b[0..8] != MAGIC {
        return Ok(None);
    }
    if let Err(e) = file_header::decode(p, b, MAGIC, 0) {
        // Another version: a later chute's file, refused. Any other damage to the header (its
        // base offset, its time): a damaged checkpoint, rebuilt from the log like any other.
        if u16::from_le_bytes([b[8], b[9]]) != file_header::VERSION {
            return Err(e);
        }
        return Ok(None);
    }
    let (body, crc) = b.split_at(b.len() - 4);
    if crc32fast::hash(body) != u32::from_le_bytes(crc.try_into().unwrap()) {
        return Ok(None);
    }
    let count = u32::from_le_bytes(body[32..36].try_into().unwrap()) as usize;
    let rest = &body[36..];
    if rest.len() != count * 12 {
        return Ok(None);
    }
    let entries: Vec<EpochEntry> = rest
        .chunks_exact(12)
        .map(|c| EpochEntry {
            epoch: u32::from_le_bytes(c[0..4].try_into().unwrap()),
            start_offset: u64::from_le_bytes(c[4..12].try_into().unwrap()),
        })
        .collect();
    let ordered = entries
        .windows(2)
        .all(|w| w[0].epoch < w[1].epoch && w[0].start_offset <= w[1].start_offset);
    Ok(ordered.then_some(entries))
}

/// Read the checkpoint of the replica in `dir`; `None` if it is missing or damaged.
pub fn load(dir: &Path) -> Result<Option<Vec<EpochEntry>>> {
    let p = path(dir);
    match fsutil::read_small(&p, 16 << 20) {
        Ok(b) => decode(&p, &b),
        Err(crate::Error::Io { source, .. }) if source.kind() == std::io::ErrorKind::NotFound => {
            Ok(None)
        }
        Err(e) => Err(e),
    }
}

pub fn store(dir: &Path, entries: &[EpochEntry]) -> Result<()> {
    fsutil::atomic_write(&path(dir), &encode(entries))
}

/// Derive the checkpoint from the batches below `t`'s end (each batch records its epoch).
pub fn rebuild(dir: &Path, name: &str, t: &Tail) -> Result<Vec<EpochEntry>> {
    let mut out: Vec<EpochEntry> = Vec::new();
    if t.end_offset == t.log_start_offset {
        return Ok(out);
    }
    if t.leader_epoch == 0 {
        // No writer or follower here ever had an epoch above 0 (the tail keeps the highest), so
        // every batch is from epoch 0: no need to read a possibly large log.
        out.push(EpochEntry {
            epoch: 0,
            start_offset: t.log_start_offset,
        });
        return Ok(out);
    }
    let mut r = PartitionReader::open(dir, name)?;
    r.seek(t.log_start_offset, t)?;
    while let Some(b) = r.next_batch(t)? {
        let e = b.header.leader_epoch;
        if out.last().is_none_or(|l| l.epoch < e) {
            out.push(EpochEntry {
                epoch: e,
                start_offset: b.header.base_offset,
            });
        }
    }
    Ok(out)
}

/// The checkpoint as a live replica sees it: loaded, or rebuilt (and stored) if unusable.
/// Entries at or beyond the log end are dropped, except one that starts exactly there (a
/// leader that has not written in its epoch yet).
pub fn load_or_rebuild(dir: &Path, name: &str, t: &Tail) -> Result<Vec<EpochEntry>> {
    if let Some(mut e) = load(dir)? {
        e.retain(|x| x.start_offset <= t.end_offset);
        return Ok(e);
    }
    let e = rebuild(dir, name, t)?;
    store(dir, &e)?;
    Ok(e)
}

/// The leader's answer to "where does epoch `epoch` end?": the largest epoch it knows that is
/// `<= epoch`, and the offset where the next one starts (or its log end).
pub fn end_for(leader: &[EpochEntry], leader_end: u64, epoch: u32) -> Option<(u32, u64)> {
    let j = leader.iter().rposition(|e| e.epoch <= epoch)?;
    let end = leader.get(j + 1).map_or(leader_end, |e| e.start_offset);
    Some((leader[j].epoch, end))
}

/// Where a follower must cut its log so that what remains is a prefix of the leader's
/// (KIP-279): ask for the end of the follower's last epoch; if the leader never had that epoch,
/// cut at its start and ask again for the one before.
pub fn divergence(
    leader: &[EpochEntry],
    leader_end: u64,
    follower: &[EpochEntry],
    follower_end: u64,
) -> u64 {
    let mut end = follower_end;
    loop {
        let Some(last) = follower.iter().rev().find(|e| e.start_offset < end) else {
            // Nothing of the follower's log has a known epoch (empty log): keep what is there
            // only if the leader has no epochs either.
            return if leader.is_empty() {
                end.min(leader_end)
            } else {
                0
            };
        };
        match end_for(leader, leader_end, last.epoch) {
            None => {
                // Every epoch of the leader is newer than anything the follower has.
                return end.min(leader.first().map_or(0, |e| e.start_offset));
            }
            Some((e, leader_epoch_end)) if e == last.epoch => return end.min(leader_epoch_end),
            Some((e, leader_epoch_end)) => {
                let first_unknown = follower
                    .iter()
                    .find(|x| x.epoch > e && x.start_offset < end)
                    .map_or(end, |x| x.start_offset);
                end = end.min(leader_epoch_end).min(first_unknown);
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn e(list: &[(u32, u64)]) -> Vec<EpochEntry> {
        list.iter()
            .map(|&(epoch, start_offset)| EpochEntry {
                epoch,
                start_offset,
            })
            .collect()
    }

    #[test]
    fn a_follower_behind_in_the_same_epoch_keeps_everything() {
        assert_eq!(divergence(&e(&[(0, 0)]), 100, &e(&[(0, 0)]), 40), 40);
    }

    #[test]
    fn an_old_leader_cuts_what_it_wrote_after_the_new_leader_took_over() {
        // Old leader wrote 100..120 in epoch 0; the new leader started epoch 1 at 100.
        let leader = e(&[(0, 0), (1, 100)]);
        assert_eq!(divergence(&leader, 150, &e(&[(0, 0)]), 120), 100);
    }

    #[test]
    fn an_epoch_the_leader_never_had_is_cut_at_its_start() {
        // KIP-279: the follower led epoch 3 from 140; the leader went 2 -> 4 at 150.
        let leader = e(&[(0, 0), (2, 100), (4, 150)]);
        let follower = e(&[(0, 0), (2, 100), (3, 140)]);
        assert_eq!(divergence(&leader, 200, &follower, 160), 140);
    }

    #[test]
    fn several_unknown_epochs_are_walked_back() {
        let leader = e(&[(0, 0), (5, 50)]);
        let follower = e(&[(0, 0), (2, 30), (3, 40)]);
        assert_eq!(divergence(&leader, 80, &follower, 45), 30);
    }

    #[test]
    fn an_empty_follower_stays_empty() {
        assert_eq!(divergence(&e(&[(0, 0)]), 10, &[], 0), 0);
    }

    #[test]
    fn encoding_round_trips_and_damage_is_detected() {
        let entries = e(&[(0, 0), (3, 17), (9, 17)]);
        let p = Path::new("leader-epochs");
        let mut b = encode(&entries);
        assert_eq!(decode(p, &b).unwrap(), Some(entries));
        b[40] ^= 1;
        assert_eq!(decode(p, &b).unwrap(), None);
    }
}
