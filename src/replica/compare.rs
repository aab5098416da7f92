//! `verify`'s replica check: every in-sync replica holds the same batches as the leader below
//! the high watermark. Batches are compared by offset and CRC (which covers every byte of the
//! batch, offsets and epoch included), streaming both logs side by side.

use crate::cluster::Cluster;
use crate::cluster::metadata::{Metadata, PartitionMeta};
use crate::error::Result;
use crate::log::PartitionReader;
use crate::replica::hw;

/// One disagreement, in words, naming the partition, broker and offset.
pub fn compare_replicas(
    cluster: &Cluster,
    md: &Metadata,
    topic: &str,
    p: &PartitionMeta,
) -> Result<Vec<String>> {
    let Some(leader) = p.leader else {
        return Ok(Vec::new());
    };
    let name = format!("{topic}-{}", p.partition);
    let ldir = cluster.replica_dir(md, leader, topic, p.partition);
    let lt = PartitionReader::open(&ldir, &name)?.tail()?;
    let hw = hw::high_watermark(cluster, md, topic, p, &lt);
    let mut problems = Vec::new();
    for &b in p.isr.iter().filter(|&&b| b != leader) {
        let fdir = cluster.replica_dir(md, b, topic, p.partition);
        let mut f = match PartitionReader::open(&fdir, &name) {
            Ok(f) => f,
            Err(e) => {
                problems.push(format!("in-sync replica on broker {b} cannot be read: {e}"));
                continue;
            }
        };
        let ft = f.tail()?;
        let mut l = PartitionReader::open(&ldir, &name)?;
        let start = lt.log_start_offset.max(ft.log_start_offset);
        if ft.end_offset < hw {
            problems.push(format!(
                "in-sync replica on broker {b} ends at offset {} below the high watermark {hw}",
                ft.end_offset
            ));
        }
        l.seek(start, &lt)?;
        f.seek(start, &ft)?;
        loop {
            let lb = l
                .next_batch(&lt)?
                .map(|x| (x.header.base_offset, x.header.next_offset(), x.header.crc));
            let fb = f
                .next_batch(&ft)?
                .map(|x| (x.header.base_offset, x.header.next_offset(), x.header.crc));
            match (lb, fb) {
                (Some(x), _) if x.1 > hw => break,
                (Some(x), Some(y)) if x == y => continue,
                (Some(x), Some(y)) => {
                    problems.push(format!(
                        "replica on broker {b} differs from the leader (broker {leader}) at offset {}: batch {}..{} crc {:08x} vs {}..{} crc {:08x}",
                        x.0.min(y.0), y.0, y.1, y.2, x.0, x.1, x.2
                    ));
                    break;
                }
                (Some(_), None) | (None, _) => break,
            }
        }
    }
    Ok(problems)
}
