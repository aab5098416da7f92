//! `group list|describe|delete`, `offsets -g` and `offsets reset` on Kafka: the group
//! coordinator's view (members and what they were assigned, committed offsets), read and
//! changed from outside the group, as kafka-consumer-groups does.

use super::errors::{from_code, from_kafka};
use super::{Kafka, client_config};
use crate::client::{GroupDescription, GroupSummary};
use crate::error::{Error, Result};
use crate::group::admin::{Owner, PartitionStatus, ResetPlan, ResetTo};
use crate::group::assign::Assignor;
use crate::group::member::MemberInfo;
use rdkafka::consumer::{BaseConsumer, Consumer};
use rdkafka::{Offset, TopicPartitionList};
use std::collections::{BTreeMap, BTreeSet};

/// A member as the coordinator describes it, with the partitions it holds.
struct Described {
    info: MemberInfo,
    owns: Vec<(String, u32)>,
}

impl Kafka {
    /// A client that reads and commits the group's offsets without joining it.
    fn outside(&self, group: &str) -> Result<BaseConsumer<super::errors::Noting>> {
        crate::group::check_name(group)?;
        let mut cfg = client_config(&self.settings);
        cfg.set("group.id", group)
            .set("enable.auto.commit", "false");
        for (k, v) in &self.settings.properties {
            cfg.set(k, v);
        }
        cfg.create_with_context(super::errors::Noting)
            .map_err(|e| from_kafka(&e, &format!("group {group}")))
    }

    fn members(&self, group: &str) -> Result<Vec<Described>> {
        let Some(members) = super::ffi::describe_group(self.admin()?.inner(), group, self.timeout)?
        else {
            return Ok(Vec::new());
        };
        Ok(members
            .into_iter()
            .map(|m| Described {
                info: MemberInfo {
                    format: "kafka".into(),
                    version: 0,
                    id: m.id,
                    pid: 0,
                    host: m.host.trim_start_matches('/').to_string(),
                    started_ms: 0,
                    topics: m
                        .owns
                        .iter()
                        .map(|(t, _)| t.clone())
                        .collect::<BTreeSet<_>>()
                        .into_iter()
                        .collect(),
                    assignor: Assignor::default(),
                },
                owns: m.owns,
            })
            .collect())
    }

    /// Committed offsets of `group` for every partition of `topics` (all topics: None).
    fn committed(
        &self,
        group: &str,
        topics: Option<&str>,
    ) -> Result<BTreeMap<(String, u32), Option<u64>>> {
        let all = self.topics()?;
        let mut tpl = TopicPartitionList::new();
        for (t, &n) in &all {
            if topics.is_some_and(|only| only != t) {
                continue;
            }
            for p in 0..n {
                tpl.add_partition(t, p as i32);
            }
        }
        if let Some(t) = topics
            && !all.contains_key(t)
        {
            return Err(Error::NotFound(format!(
                "unknown topic {t:?} (Kafka cluster {})",
                self.settings.bootstrap
            )));
        }
        if tpl.count() == 0 {
            return Ok(BTreeMap::new());
        }
        let c = self.outside(group)?;
        let got = c
            .committed_offsets(tpl, self.timeout)
            .map_err(|e| from_kafka(&e, &format!("group {group}: committed offsets")));
        super::close_consumer(c, self.timeout);
        let got = got?;
        Ok(got
            .elements()
            .iter()
            .map(|e| {
                let at = match e.offset() {
                    Offset::Offset(o) if o >= 0 => Some(o as u64),
                    _ => None,
                };
                ((e.topic().to_string(), e.partition() as u32), at)
            })
            .collect())
    }

    fn statuses(
        &self,
        group: &str,
        topic: Option<&str>,
        owners: &BTreeMap<(String, u32), Owner>,
    ) -> Result<Vec<PartitionStatus>> {
        let committed = self.committed(group, topic)?;
        // Without a topic: those the group has a position in, or a member reads.
        let shown: BTreeSet<&str> = committed
            .iter()
            .filter(|(tp, c)| c.is_some() || owners.contains_key(*tp))
            .map(|((t, _), _)| t.as_str())
            .collect();
        let mut out = Vec::new();
        for ((t, p), c) in &committed {
            if topic.is_none() && !shown.contains(t.as_str()) {
                continue;
            }
            let (low, high) = self.watermarks(t, *p)?;
            let (low, high) = (low.max(0) as u64, high.max(0) as u64);
            out.push(PartitionStatus {
                topic: t.clone(),
                partition: *p,
                committed: *c,
                log_start_offset: low,
                log_end_offset: high,
                lag: high.saturating_sub(c.unwrap_or(low).max(low)),
                lag_ms: 0,
                committed_ms: None,
                owner: owners.get(&(t.clone(), *p)).cloned(),
            });
        }
        Ok(out)
    }

    fn owners(members: &[Described]) -> BTreeMap<(String, u32), Owner> {
        let mut owners = BTreeMap::new();
        for m in members {
            for tp in &m.owns {
                owners.insert(
                    tp.clone(),
                    Owner {
                        member: m.info.id.clone(),
                        pid: 0,
                        host: m.info.host.clone(),
                    },
                );
            }
        }
        owners
    }

    pub(super) fn list_groups(&self) -> Result<Vec<GroupSummary>> {
        let mut out = Vec::new();
        for (name, state) in super::ffi::list_groups(self.admin()?.inner(), self.timeout)? {
            if state == "Dead" {
                continue;
            }
            let members = self.members(&name)?;
            // The topics it reads or has positions in.
            let mut topics: BTreeSet<String> =
                members.iter().flat_map(|m| m.info.topics.clone()).collect();
            for ((t, _), c) in self.committed(&name, None)? {
                if c.is_some() {
                    topics.insert(t);
                }
            }
            out.push(GroupSummary {
                group: name,
                members: members.len(),
                topics: topics.into_iter().collect(),
            });
        }
        Ok(out)
    }

    pub(super) fn describe_group(&self, group: &str) -> Result<GroupDescription> {
        let members = self.members(group)?;
        let owners = Self::owners(&members);
        let partitions = self.statuses(group, None, &owners)?;
        if members.is_empty() && partitions.iter().all(|p| p.committed.is_none()) {
            return Err(Error::NotFound(format!(
                "group {group:?} does not exist (Kafka cluster {})",
                self.settings.bootstrap
            )));
        }
        Ok(GroupDescription {
            group: group.to_string(),
            members: members.into_iter().map(|m| m.info).collect(),
            partitions,
        })
    }

    pub(super) fn group_offsets(
        &self,
        group: &str,
        topic: Option<&str>,
    ) -> Result<Vec<PartitionStatus>> {
        let members = self.members(group)?;
        self.statuses(group, topic, &Self::owners(&members))
    }

    /// Refused while the group has members, as kafka-consumer-groups refuses.
    fn refuse_if_live(&self, group: &str, what: &str) -> Result<()> {
        let members = self.members(group)?;
        if members.is_empty() {
            return Ok(());
        }
        let who: Vec<String> = members
            .iter()
            .map(|m| format!("member {} on {}", m.info.id, m.info.host))
            .collect();
        Err(Error::Other(format!(
            "cannot {what} group {group:?}: it has live members ({}); stop them first",
            who.join(", ")
        )))
    }

    pub(super) fn reset_group_offsets(
        &self,
        group: &str,
        topic: &str,
        partitions: &[u32],
        to: &ResetTo,
        execute: bool,
    ) -> Result<Vec<ResetPlan>> {
        let n = self.partition_count(topic)?;
        for &p in partitions {
            if p >= n {
                return Err(Error::NotFound(format!(
                    "partition {topic}-{p} does not exist (topic {topic:?} has {n})"
                )));
            }
        }
        // Dry runs also say up front that --execute would be refused.
        self.refuse_if_live(group, "reset offsets of")?;
        let committed = self.committed(group, Some(topic))?;
        let mut plan = Vec::new();
        for p in 0..n {
            if !partitions.is_empty() && !partitions.contains(&p) {
                continue;
            }
            let (low, high) = self.watermarks(topic, p)?;
            let (start, end) = (low.max(0) as u64, high.max(0) as u64);
            let old = committed.get(&(topic.to_string(), p)).copied().flatten();
            let new = match to {
                ResetTo::Earliest => start,
                ResetTo::Latest => end,
                ResetTo::Offset(o) => *o,
                ResetTo::Time(ts) => self
                    .offset_for_time(topic, p, *ts)?
                    .map_or(end, |o| o as u64),
                ResetTo::ShiftBy(d) => {
                    (old.unwrap_or(start) as i64).saturating_add(*d).max(0) as u64
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
        if execute && !plan.is_empty() {
            let mut tpl = TopicPartitionList::new();
            for r in &plan {
                tpl.add_partition_offset(topic, r.partition as i32, Offset::Offset(r.new as i64))
                    .map_err(|e| from_kafka(&e, topic))?;
            }
            let c = self.outside(group)?;
            let r = super::ffi::commit_within(
                c.client(),
                &tpl,
                self.timeout,
                &format!("group {group}: writing offsets"),
            );
            super::close_consumer(c, self.timeout);
            r?;
        }
        Ok(plan)
    }

    pub(super) fn delete_group(&self, group: &str) -> Result<()> {
        crate::group::check_name(group)?;
        self.refuse_if_live(group, "delete")?;
        let r = super::wait(self.admin()?.delete_groups(&[group], &self.admin_options()))
            .map_err(|e| from_kafka(&e, &format!("deleting group {group}")))?;
        for x in r {
            match x {
                Ok(_) => {}
                Err((_, rdkafka::error::RDKafkaErrorCode::GroupIdNotFound)) => {
                    return Err(Error::NotFound(format!(
                        "group {group:?} does not exist (Kafka cluster {})",
                        self.settings.bootstrap
                    )));
                }
                Err((_, c)) => return Err(from_code(c, &format!("deleting group {group}"))),
            }
        }
        Ok(())
    }
}
