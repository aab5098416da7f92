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
    /// Lag in time: how old the oldest record not yet consumed is (its timestamp to now),
    /// 0 when there is none.
    pub lag_ms: u64,
    /// When the committed offset was written (ms since the epoch).
    pub committed_ms: Option<i64>,
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
        None => group.topics_with(&live)?,
    };
    let md = if topics.is_empty() {
        None
    } else {
        Some(cluster.metadata()?)
    };
    let mut rows = Vec::new();
    let now = crate::fsutil::now_ms();
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
            let c = group
                .committed(t, p)?
                .filter(|c| c.topic_id.is_empty() || c.topic_id == tm.id);
            let committed = c.as_ref().map(|c| c.offset);
            let (start, end, oldest_ts) = match cluster.leader_dir(md, t, p) {
                Ok(dir) => {
                    let mut r =
                        PartitionReader::open(&dir, &format!("{t}-{p}"))?.with_chunk(16 << 10);
                    let mut tail = r.tail()?;
                    tail.end_offset = crate::replica::hw::high_watermark(cluster, md, t, pm, &tail);
                    let next = committed.unwrap_or(0).max(tail.log_start_offset);
                    let ts = first_timestamp_from(&mut r, &tail, next)?;
                    (tail.log_start_offset, tail.end_offset, ts)
                }
                Err(_) => (0, 0, None),
            };
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
                lag_ms: oldest_ts.map_or(0, |ts| (now - ts).max(0) as u64),
                committed_ms: c.map(|c| c.committed_ms),
                owner,
            });
        }
    }
    Ok((live, rows))
}

/// The timestamp of the first record at or after `offset` below the tail's end (None: there
/// is none, nothing is waiting).
fn first_timestamp_from(
    r: &mut PartitionReader,
    t: &crate::log::Tail,
    offset: u64,
) -> Result<Option<i64>> {
    if offset >= t.end_offset {
        return Ok(None);
    }
    let name = r.name().to_string();
    r.seek(offset, t)?;
    while let Some(b) = r.next_batch(t)? {
        let mut recs = b.records();
        while let Some(rec) = recs.next_record() {
            let rec = rec.map_err(|d| crate::error::Error::Corrupt {
                partition: name.clone(),
                offset: b.header.base_offset,
                detail: d,
            })?;
            if rec.offset >= offset {
                return Ok((rec.offset < t.end_offset).then_some(rec.timestamp));
            }
        }
    }
    Ok(None)
}

/// `offsets -g G --check --max-lag N|DUR`: the most lag a partition may have, in records (a
/// plain number) or in time (a duration: the age of its oldest record not yet consumed).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum MaxLag {
    Records(u64),
    Time(std::time::Duration),
}

impl std::str::FromStr for MaxLag {
    type Err = String;
    fn from_str(s: &str) -> std::result::Result<Self, String> {
        let t = s.trim();
        if !t.is_empty() && t.bytes().all(|b| b.is_ascii_digit()) {
            return t
                .parse()
                .map(MaxLag::Records)
                .map_err(|e| format!("{t:?}: {e}"));
        }
        crate::time::parse_duration(t)
            .map(MaxLag::Time)
            .map_err(|e| format!("expected a number of records or a duration (5m, 1h): {e}"))
    }
}

impl MaxLag {
    /// What is wrong with partition `r` under this bound, if anything.
    pub fn exceeded(&self, r: &PartitionStatus) -> Option<String> {
        let name = format!("{}-{}", r.topic, r.partition);
        match *self {
            MaxLag::Records(n) if r.lag > n => {
                Some(format!("{name}: lag {} records (max {n})", r.lag))
            }
            MaxLag::Time(d) if r.lag_ms > d.as_millis() as u64 => Some(format!(
                "{name}: the oldest record not consumed is {} old (max {})",
                crate::time::format_age(r.lag_ms),
                crate::time::format_age(d.as_millis() as u64)
            )),
            _ => None,
        }
    }
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
            use super::committer::OffsetStore;
            group.commit(topic, &tm.id, r.partition, r.new, None)?;
        }
    }
    drop(lock);
    Ok(plan)
}
