//! Inspecting and changing a group from outside: status per partition, offset resets.

use super::Group;
use super::member::{MemberInfo, live_members};
use crate::cluster::Cluster;
use crate::error::Result;
use crate::log::PartitionReader;
use serde::Serialize;

#[derive(Debug, Clone, Serialize)]
pub struct Owner {
    pub member: String,
    pub pid: u32,
    pub host: String,
}

#[derive(Debug, Clone, Serialize)]
pub struct PartitionStatus {
    pub topic: String,
    pub partition: u32,
    pub committed: Option<u64>,
    pub log_start_offset: u64,
    pub log_end_offset: u64,
    /// Records not yet consumed: log end minus the committed offset (or minus the log start
    /// when nothing is committed, which is where a new member would begin).
    pub lag: u64,
    pub owner: Option<Owner>,
}

/// Per partition of `topic` (or of every topic the group has state for): committed offset,
/// log end, lag and owning member. Reads only; takes no lock.
pub fn status(
    cluster: &Cluster,
    group: &Group,
    topic: Option<&str>,
) -> Result<(Vec<MemberInfo>, Vec<PartitionStatus>)> {
    let live = live_members(group, None)?;
    let topics = match topic {
        Some(t) => vec![t.to_string()],
        None => group.topics()?,
    };
    let md = if topics.is_empty() {
        None
    } else {
        Some(cluster.metadata()?)
    };
    let mut rows = Vec::new();
    for t in &topics {
        let md = md.as_ref().expect("read above");
        let Ok(tm) = md.topic(t) else {
            if topic.is_some() {
                md.topic(t)?;
            }
            continue; // the group remembers a topic that was deleted since
        };
        for pm in &tm.partitions {
            let p = pm.partition;
            let (start, end) = match cluster.leader_dir(md, t, p) {
                Ok(dir) => {
                    let r = PartitionReader::open(&dir, &format!("{t}-{p}"))?;
                    let tail = r.tail()?;
                    let hw = crate::replica::hw::high_watermark(cluster, md, t, pm, &tail);
                    (tail.log_start_offset, hw)
                }
                Err(_) => (0, 0),
            };
            let committed = group
                .committed(t, p)?
                .filter(|c| c.topic_id.is_empty() || c.topic_id == tm.id)
                .map(|c| c.offset);
            let owner = group.owner_line(t, p).and_then(|(id, pid, host)| {
                live.iter().any(|m| m.id == id).then_some(Owner {
                    member: id,
                    pid,
                    host,
                })
            });
            rows.push(PartitionStatus {
                topic: t.clone(),
                partition: p,
                committed,
                log_start_offset: start,
                log_end_offset: end,
                lag: end.saturating_sub(committed.unwrap_or(start).max(start)),
                owner,
            });
        }
    }
    Ok((live, rows))
}

/// Where `offsets reset` moves a partition.
#[derive(Debug, Clone)]
pub enum ResetTo {
    Earliest,
    Latest,
    Offset(u64),
    /// ms since the epoch (`--to-datetime`, `--by-duration`: a [`crate::time::Time`])
    Time(i64),
    ShiftBy(i64),
}

#[derive(Debug, Clone, Serialize)]
pub struct ResetPlan {
    pub topic: String,
    pub partition: u32,
    pub old: Option<u64>,
    pub new: u64,
}

/// Compute the new offsets; with `execute`, write them while holding `group.lock` exclusively
/// (so no member can join half-way). Refused (exit 1, naming them) while members are live.
pub fn reset(
    cluster: &Cluster,
    group: &Group,
    topic: &str,
    partitions: &[u32],
    to: &ResetTo,
    execute: bool,
) -> Result<Vec<ResetPlan>> {
    let md = cluster.metadata_with_topic(topic)?;
    let tm = md.topic(topic)?;
    for &p in partitions {
        tm.partition(topic, p)?;
    }
    let exists = group.dir.join("group.lock").is_file();
    // Dry runs also say up front that --execute would be refused.
    let lock = if exists || execute {
        group.ensure()?;
        Some(group.admin_lock("reset offsets of")?)
    } else {
        None
    };
    let mut plan = Vec::new();
    for pm in &tm.partitions {
        let p = pm.partition;
        if !partitions.is_empty() && !partitions.contains(&p) {
            continue;
        }
        let dir = cluster.leader_dir(&md, topic, p)?;
        let mut r = PartitionReader::open(&dir, &format!("{topic}-{p}"))?;
        let tail = r.tail()?;
        let hw = crate::replica::hw::high_watermark(cluster, &md, topic, pm, &tail);
        let (start, end) = (tail.log_start_offset, hw);
        let old = group
            .committed(topic, p)?
            .filter(|c| c.topic_id.is_empty() || c.topic_id == tm.id)
            .map(|c| c.offset);
        let new = match to {
            ResetTo::Earliest => start,
            ResetTo::Latest => end,
            ResetTo::Offset(n) => *n,
            ResetTo::Time(ts) => r.offset_for_time(*ts, &tail)?,
            ResetTo::ShiftBy(d) => {
                let base = old.unwrap_or(start) as i64;
                base.saturating_add(*d).max(0) as u64
            }
        }
        .clamp(start, end);
        plan.push(ResetPlan {
            topic: topic.into(),
            partition: p,
            old,
            new,
        });
    }
    if execute {
        for r in &plan {
            group.commit(topic, &tm.id, r.partition, r.new, None)?;
        }
    }
    drop(lock);
    Ok(plan)
}
