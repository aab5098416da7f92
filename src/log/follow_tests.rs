//! Follower sync on real directories: byte-identical copies, own segment boundaries,
//! divergent tails cut by leader epoch, fencing.

use super::batch::BatchBuilder;
use super::epochs;
use super::verify::verify_partition;
use super::*;
use std::path::Path;

fn writer(dir: &Path, epoch: u32, segment_bytes: u64) -> PartitionWriter {
    PartitionWriter::open(
        dir,
        "t-0",
        WriterOptions {
            segment_bytes,
            leader_epoch: epoch,
            ..Default::default()
        },
    )
    .unwrap()
}

fn append(w: &mut PartitionWriter, tag: &str, n: usize) {
    for i in 0..n {
        let mut b = BatchBuilder::new();
        let v = format!("{tag}-{i:04}-{}", "y".repeat(i % 40));
        b.push(
            Some(tag.as_bytes()),
            Some(v.as_bytes()),
            1000 + i as i64,
            &[],
        );
        w.append(&mut b.seal()).unwrap();
    }
    w.sync().unwrap();
}

/// (offset, crc, epoch) of every batch: equal lists mean byte-identical logs.
fn batches(dir: &Path) -> Vec<(u64, u32, u32)> {
    let mut r = PartitionReader::open(dir, "t-0").unwrap();
    let t = r.tail().unwrap();
    r.seek(0, &t).unwrap();
    let mut out = Vec::new();
    while let Some(b) = r.next_batch(&t).unwrap() {
        out.push((b.header.base_offset, b.header.crc, b.header.leader_epoch));
    }
    out
}

fn dirs() -> (tempfile::TempDir, std::path::PathBuf, std::path::PathBuf) {
    let d = tempfile::tempdir().unwrap();
    let (a, b) = (d.path().join("a"), d.path().join("b"));
    std::fs::create_dir(&a).unwrap();
    std::fs::create_dir(&b).unwrap();
    (d, a, b)
}

#[test]
fn follower_gets_identical_batches_with_its_own_segments() {
    let (_d, a, b) = dirs();
    let mut leader = writer(&a, 0, 1 << 30);
    append(&mut leader, "k", 300);
    // The follower rolls small segments: boundaries differ, batches must not.
    let mut f = writer(&b, 0, 3000);
    let r = f.follow(&a, "t-0", 0, u64::MAX).unwrap();
    assert_eq!((r.end_offset, r.leader_end, r.truncated), (300, 300, None));
    assert!(segment::list(&b).unwrap().len() > 3);
    assert_eq!(batches(&a), batches(&b));
    assert!(
        verify_partition(&b, "t-0", None)
            .unwrap()
            .problems
            .is_empty()
    );
    // Level: nothing copied.
    assert_eq!(f.follow(&a, "t-0", 0, u64::MAX).unwrap().copied, 0);
    // More on the leader: only that is copied.
    append(&mut leader, "m", 100);
    let r = f.follow(&a, "t-0", 0, u64::MAX).unwrap();
    assert_eq!((r.end_offset, r.truncated), (400, None));
    assert_eq!(batches(&a), batches(&b));
}

#[test]
fn an_old_leaders_divergent_tail_is_cut_and_replaced() {
    let (_d, a, b) = dirs();
    // Both have 0..50 from epoch 0.
    let mut old = writer(&a, 0, 2000);
    append(&mut old, "common", 50);
    let mut newl = writer(&b, 0, 1 << 30);
    newl.follow(&a, "t-0", 0, u64::MAX).unwrap();
    // The old leader writes 50..80 that nobody copies (acks=1), then loses leadership.
    append(&mut old, "lost", 30);
    // The new leader takes over in epoch 1 and writes 50..70.
    let mut newl = writer(&b, 1, 1 << 30);
    newl.claim_epoch(1, true).unwrap();
    append(&mut newl, "new", 20);
    assert_eq!(
        epochs::load(&b).unwrap().unwrap(),
        vec![
            epochs::EpochEntry {
                epoch: 0,
                start_offset: 0
            },
            epochs::EpochEntry {
                epoch: 1,
                start_offset: 50
            }
        ]
    );
    // The old leader returns as a follower: cut at 50, copy 50..70.
    let mut f = writer(&a, 0, 2000);
    let r = f.follow(&b, "t-0", 1, u64::MAX).unwrap();
    assert_eq!(r.truncated, Some((80, 50)));
    assert_eq!(r.end_offset, 70);
    assert_eq!(batches(&a), batches(&b));
    assert!(
        verify_partition(&a, "t-0", None)
            .unwrap()
            .problems
            .is_empty()
    );
    // Its checkpoint now matches the leader's.
    assert_eq!(epochs::load(&a).unwrap(), epochs::load(&b).unwrap());
    // A producer that still thinks the old epoch leads is refused there.
    let mut stale = writer(&a, 0, 2000);
    let mut bb = BatchBuilder::new();
    bb.push(None, Some(b"late"), 1, &[]);
    assert!(matches!(
        stale.append(&mut bb.seal()),
        Err(crate::Error::Fenced { .. })
    ));
}

#[test]
fn a_lost_checkpoint_is_rebuilt_from_the_batches() {
    let (_d, a, b) = dirs();
    let mut l = writer(&a, 3, 1 << 30);
    append(&mut l, "x", 10);
    let mut l = writer(&a, 5, 1 << 30);
    append(&mut l, "y", 10);
    std::fs::remove_file(epochs::path(&a)).unwrap();
    let mut f = writer(&b, 0, 1 << 30);
    f.follow(&a, "t-0", 5, u64::MAX).unwrap();
    assert_eq!(
        epochs::load(&b).unwrap().unwrap(),
        vec![
            epochs::EpochEntry {
                epoch: 3,
                start_offset: 0
            },
            epochs::EpochEntry {
                epoch: 5,
                start_offset: 10
            }
        ]
    );
    assert_eq!(batches(&a), batches(&b));
}

#[test]
fn a_follower_ahead_of_its_leader_in_the_same_epoch_is_cut_to_the_leaders_end() {
    let (_d, a, b) = dirs();
    let mut l = writer(&a, 0, 1 << 30);
    append(&mut l, "x", 10);
    let mut f = writer(&b, 0, 1 << 30);
    f.follow(&a, "t-0", 0, u64::MAX).unwrap();
    // The follower somehow has more (a leader that lost unsynced records in a crash).
    let mut extra = writer(&b, 0, 1 << 30);
    append(&mut extra, "extra", 5);
    let r = f.follow(&a, "t-0", 0, u64::MAX).unwrap();
    assert_eq!(r.truncated, Some((15, 10)));
    assert_eq!(batches(&a), batches(&b));
}
