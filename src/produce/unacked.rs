//! `--acks all`: the batches appended whose records the high watermark does not cover yet.
//! The producer keeps a copy of each, so that if the leader changes before the followers had
//! them, they can be appended to the new leader again; memory stays bounded by [`MAX_BYTES`].

/// Unacknowledged bytes a producer keeps before it waits for the replicas.
pub const MAX_BYTES: usize = 8 << 20;

/// One appended batch, as it was appended (the bytes to re-send, and where it went).
pub struct Batch {
    pub partition: u32,
    pub base: u64,
    /// One past its last offset.
    pub end: u64,
    pub crc: u32,
    pub bytes: Vec<u8>,
}

#[derive(Default)]
pub struct Unacked {
    batches: Vec<Batch>,
    bytes: usize,
}

impl Unacked {
    pub fn push(&mut self, b: Batch) {
        self.bytes += b.bytes.len();
        self.batches.push(b);
    }

    pub fn is_empty(&self) -> bool {
        self.batches.is_empty()
    }

    /// Over the memory bound: time to wait for the replicas.
    pub fn full(&self) -> bool {
        self.bytes >= MAX_BYTES
    }

    /// Partitions with unacknowledged batches, in order, each once.
    pub fn partitions(&self) -> Vec<u32> {
        let mut v: Vec<u32> = self.batches.iter().map(|b| b.partition).collect();
        v.sort_unstable();
        v.dedup();
        v
    }

    pub fn has(&self, p: u32) -> bool {
        self.batches.iter().any(|b| b.partition == p)
    }

    /// Forget the batches of `p` that end at or below the high watermark `hw`. Returns the
    /// offset the rest need it to reach (None: none is left).
    pub fn release(&mut self, p: u32, hw: u64) -> Option<u64> {
        let mut freed = 0;
        self.batches.retain(|b| {
            let done = b.partition == p && b.end <= hw;
            if done {
                freed += b.bytes.len();
            }
            !done
        });
        self.bytes -= freed;
        self.batches
            .iter()
            .filter(|b| b.partition == p)
            .map(|b| b.end)
            .max()
    }

    /// The batches of `p`, oldest first, to re-send after a leader change.
    pub fn of_partition_mut(&mut self, p: u32) -> impl Iterator<Item = &mut Batch> {
        self.batches.iter_mut().filter(move |b| b.partition == p)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn batch(partition: u32, base: u64, end: u64, len: usize) -> Batch {
        Batch {
            partition,
            base,
            end,
            crc: 0,
            bytes: vec![0; len],
        }
    }

    #[test]
    fn the_high_watermark_releases_only_whole_batches_of_its_partition() {
        let mut u = Unacked::default();
        u.push(batch(0, 0, 10, 100));
        u.push(batch(1, 0, 5, 100));
        u.push(batch(0, 10, 20, 100));
        assert_eq!(u.partitions(), vec![0, 1]);
        // 15 covers the first batch of partition 0, not the second (records 15..20 are not
        // in every in-sync replica yet), and says nothing about partition 1.
        assert_eq!(u.release(0, 15), Some(20));
        assert!(u.has(1));
        assert_eq!(
            u.of_partition_mut(0).map(|b| b.base).collect::<Vec<_>>(),
            vec![10]
        );
        assert_eq!(u.release(0, 20), None);
        assert_eq!(u.release(1, 5), None);
        assert!(u.is_empty());
        assert_eq!(u.bytes, 0);
    }

    #[test]
    fn memory_is_bounded_by_the_bytes_kept() {
        let mut u = Unacked::default();
        u.push(batch(0, 0, 1, MAX_BYTES - 1));
        assert!(!u.full());
        u.push(batch(0, 1, 2, 1));
        assert!(u.full());
        u.release(0, 1);
        assert!(!u.full());
    }
}
