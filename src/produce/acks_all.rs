//! `--acks all`: waiting until every in-sync replica has the records, and re-sending to a new
//! leader what it lacks after a leader change, so every record ends up exactly once.

use super::{Producer, leadership_error};
use crate::cluster::metadata::PartitionMeta;
use crate::error::{Error, Result};
use crate::log::PartitionReader;
use crate::log::batch::SealedBatch;
use std::time::{Duration, Instant};

/// The ISR is too small for `--acks all`: refuse now (exit 75) rather than wait.
pub(super) fn check_isr(topic: &str, p: &PartitionMeta, min: u32) -> Result<()> {
    if (p.isr.len() as u32) < min {
        return Err(Error::Temporary(format!(
            "partition {topic}-{}: {} in-sync replica(s) {:?}, fewer than min.insync.replicas={min}",
            p.partition,
            p.isr.len(),
            p.isr
        )));
    }
    Ok(())
}

impl Producer {
    /// `--acks all`: bring the followers up (no controller needed), then wait until the high
    /// watermark covers every unacknowledged batch. If a partition's leader changes meanwhile,
    /// batches the new leader lacks are appended there again; ones it has (copied before the
    /// change, byte-identical) are not, so every record ends up exactly once.
    pub(super) fn await_replicas(&mut self) -> Result<()> {
        let deadline = Instant::now() + self.opts.lock_timeout;
        let mut backoff = Duration::from_micros(200);
        loop {
            let step = (|| -> Result<String> {
                self.refresh_metadata()?;
                self.resend_moved()?;
                self.sync_leaders()?;
                let parts = self.unacked.partitions();
                let mut waiting = String::new();
                for p in parts {
                    let lane = &self.lanes[p as usize];
                    let meta = lane.meta.clone();
                    check_isr(&self.topic, &meta, self.cfg.min_insync_replicas)?;
                    if meta.leader.is_none() {
                        waiting = format!("partition {}-{p} has no leader (offline)", self.topic);
                        continue;
                    }
                    if meta.isr.len() > 1 {
                        // Errors (a follower that is down) only hold the watermark back.
                        let _ = self.syncer.sync_partition(
                            &self.cluster,
                            &self.md,
                            &self.topic,
                            &meta,
                            u64::MAX,
                        );
                    }
                    // The leader's tail (its writer is opened for that after a leader change).
                    let t = self.open_writer(p)?.published_tail()?;
                    let lane = &mut self.lanes[p as usize];
                    let Some(t) = t else {
                        waiting =
                            format!("partition {}-{p}: the leader has no tail yet", self.topic);
                        continue;
                    };
                    let hw = lane.hw.strict_high_watermark(&t);
                    if let Some(need) = self.unacked.release(p, hw) {
                        waiting = format!(
                            "partition {}-{p}: in-sync replicas {:?} have offsets below {hw}, records up to {need} need them",
                            self.topic, meta.isr
                        );
                    }
                }
                Ok(waiting)
            })();
            match step {
                Ok(_) if self.unacked.is_empty() => return Ok(()),
                Ok(waiting) => {
                    if Instant::now() >= deadline {
                        return Err(Error::Temporary(format!(
                            "--acks all timed out after {}: {waiting}",
                            humantime::format_duration(self.opts.lock_timeout)
                        )));
                    }
                }
                Err(e) if leadership_error(&e) && Instant::now() < deadline => {}
                Err(e) => return Err(e),
            }
            std::thread::sleep(backoff);
            backoff = (backoff * 2).min(Duration::from_millis(10));
        }
    }

    /// The leader of `p` changed: append again, to the new leader, each unacknowledged batch it
    /// does not hold (from the first one it lacks: its log is a prefix of the old one's).
    /// Re-send to their new leaders the unacknowledged batches of every partition whose
    /// leadership moved. A partition stays on the list until that succeeded.
    pub(super) fn resend_moved(&mut self) -> Result<()> {
        while let Some(&p) = self.moved.first() {
            self.resend(p)?;
            self.moved.remove(0);
        }
        Ok(())
    }

    fn resend(&mut self, p: u32) -> Result<()> {
        if !self.unacked.has(p) {
            return Ok(());
        }
        let Some(dir) = self.lanes[p as usize].dir.clone() else {
            return Ok(());
        };
        let name = format!("{}-{p}", self.topic);
        let mut reader = PartitionReader::open(&dir, &name)?;
        let t = reader.tail()?;
        let mut lacking = false;
        // Taken out while writers are borrowed below; put back whatever happens.
        let mut unacked = std::mem::take(&mut self.unacked);
        let r = (|| -> Result<()> {
            for u in unacked.of_partition_mut(p) {
                if !lacking {
                    let present = u.base < t.end_offset
                        && reader.seek(u.base, &t).is_ok()
                        && matches!(reader.next_batch(&t), Ok(Some(b)) if b.header.base_offset == u.base && b.header.crc == u.crc);
                    if present {
                        continue;
                    }
                    lacking = true;
                }
                let w = self.open_writer(p)?;
                let mut sealed = SealedBatch::restamp(&mut u.bytes);
                let a = w.append(&mut sealed)?;
                u.crc = sealed.crc();
                u.base = a.base_offset;
                u.end = a.last_offset + 1;
                self.lanes[p as usize].dirty = true;
            }
            Ok(())
        })();
        self.unacked = unacked;
        r?;
        Ok(())
    }
}
