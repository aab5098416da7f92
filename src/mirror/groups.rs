//! `--groups`: consumer groups' committed positions carried from the source to the
//! destination, so a group resumes there at the first record it had not committed.
//!
//! Counted from the end, which needs no offset map: the destination partition holds the
//! mirror's copies of the source partition's records, in order, up to the mirror's position
//! `pos`. A group committed at `c` on the source has `k` = (records in `[c, pos)` on the source)
//! records still to read; on the destination those are the last `k` records, so the group's
//! new offset is the offset of the record `k` from the end (Kafka's offsets have transaction
//! markers between records, a compacted log gaps, so both sides are counted, not subtracted).
//! This holds while the mirror is the destination's only writer (docs/mirror.md).

use super::Summary;
use crate::client::Backend;
use crate::consume::{ConsumeOptions, StartFrom, Subscription};
use crate::error::{Error, Result};
use crate::group::admin::ResetTo;
use crate::record::{ConsumedRecord, RecordSink};
use std::collections::BTreeSet;

/// One partition's translation, as `--json` reports it.
#[derive(Debug, Clone, serde::Serialize)]
pub struct Translated {
    pub group: String,
    pub topic: String,
    pub partition: u32,
    /// The group's committed offset on the source.
    pub source_offset: u64,
    /// Its new committed offset on the destination.
    pub offset: u64,
}

/// Translate `groups` for every topic `summary` mirrored, and commit them on `dest` (refused
/// while a group has live members there). Partitions the group has no position in keep none;
/// a topic whose destination has another partition count is not translated (a warning).
pub fn translate(
    source: &dyn Backend,
    dest: &dyn Backend,
    groups: &[String],
    summary: &Summary,
    warn: &mut dyn FnMut(String),
) -> Result<Vec<Translated>> {
    let mut out = Vec::new();
    let mut refused = BTreeSet::new();
    for g in groups {
        let committed = match source.group_offsets(g, None) {
            Ok(c) => c,
            Err(Error::NotFound(m)) => {
                warn(format!("--groups {g}: {m}; nothing to translate"));
                continue;
            }
            Err(e) => return Err(e),
        };
        for st in committed {
            let Some(c) = st.committed else { continue };
            let Some(totals) = summary.topics.get(&st.topic) else {
                continue;
            };
            let Some(positions) = summary.positions.get(&st.topic) else {
                continue;
            };
            let to = totals.to.clone();
            let dest_parts = dest.describe_topic(&to)?.partitions.len() as u32;
            if dest_parts != totals.partitions {
                if refused.insert((g.clone(), to.clone())) {
                    warn(format!(
                        "--groups {g}: topic {} has {} partitions and its copy {to} {dest_parts}: records were placed by key, so positions do not carry over; not translated",
                        st.topic, totals.partitions
                    ));
                }
                continue;
            }
            let p = st.partition;
            let pos = positions.get(&p).copied().unwrap_or(0);
            if c > pos {
                let ahead = count(source, &st.topic, p, pos, Some(c))?;
                if ahead > 0 {
                    warn(format!(
                        "--groups {g}: partition {}-{p}: the group committed offset {c}, past the mirror's position {pos}: set to the end of {to}-{p}, so the {ahead} record(s) between are delivered to the group again once copied (stop the group's consumers, run the mirror to the end and translate again to avoid that)",
                        st.topic
                    ));
                }
            }
            let k = if c >= pos {
                0
            } else {
                count(source, &st.topic, p, c, Some(pos))?
            };
            let total = count(dest, &to, p, 0, None)?;
            if k > total {
                warn(format!(
                    "--groups {g}: partition {to}-{p} holds {total} records, fewer than the {k} the group has not read: not translated"
                ));
                continue;
            }
            let offset = if k == 0 {
                dest.topic_offsets(&to, None)?
                    .into_iter()
                    .find(|o| o.partition == p)
                    .map_or(0, |o| o.latest)
            } else {
                nth(dest, &to, p, total - k)?
            };
            dest.reset_group_offsets(g, &to, &[p], &ResetTo::Offset(offset), true)?;
            out.push(Translated {
                group: g.clone(),
                topic: to,
                partition: p,
                source_offset: c,
                offset,
            });
        }
    }
    Ok(out)
}

/// Records of `topic`-`p` from offset `from` up to `to` (the end as of now when None).
fn count(b: &dyn Backend, topic: &str, p: u32, from: u64, to: Option<u64>) -> Result<u64> {
    let mut sink = Count {
        to: to.unwrap_or(u64::MAX),
        n: 0,
        index: None,
        found: None,
    };
    scan(b, topic, p, from, &mut sink)?;
    Ok(sink.n)
}

/// The offset of the record at index `i` (0-based, counted from the partition's start).
fn nth(b: &dyn Backend, topic: &str, p: u32, i: u64) -> Result<u64> {
    let mut sink = Count {
        to: u64::MAX,
        n: 0,
        index: Some(i),
        found: None,
    };
    scan(b, topic, p, 0, &mut sink)?;
    sink.found
        .ok_or_else(|| Error::Other(format!("partition {topic}-{p}: no record at index {i}")))
}

fn scan(b: &dyn Backend, topic: &str, p: u32, from: u64, sink: &mut Count) -> Result<()> {
    let o = ConsumeOptions {
        partitions: Some(vec![p]),
        from: StartFrom::Offset(from),
        since: None,
        until: None,
        max: None,
        follow: false,
    };
    let mut c = b.consumer(&Subscription::parse(&[topic.to_string()])?, &o)?;
    while !c.finished() && sink.found.is_none() {
        if c.poll(sink)? == 0 && !c.finished() {
            c.wait(std::time::Duration::from_millis(50));
        }
    }
    Ok(())
}

struct Count {
    to: u64,
    n: u64,
    index: Option<u64>,
    found: Option<u64>,
}

impl RecordSink for Count {
    fn record(&mut self, r: &ConsumedRecord<'_>) -> Result<()> {
        if r.offset < self.to && self.found.is_none() {
            if self.index == Some(self.n) {
                self.found = Some(r.offset);
            }
            self.n += 1;
        }
        Ok(())
    }
}
