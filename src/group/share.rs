//! A member's share of the group's partitions, over every topic the members read. Every member
//! computes it alike from the live member list (each with its topics) and the partition counts,
//! so, given the same view, each partition has one member; the owner locks keep it so while
//! views differ.

use super::{Assignor, MemberInfo};
use std::collections::BTreeSet;

/// A partition of a topic.
pub type TopicPartition = (String, u32);

/// The partitions `me` should own. `parts` gives a topic's partition count (0 for a topic
/// this member's metadata does not have yet). Everybody uses the assignor of the group's
/// first (oldest) member, so a member started with another `--assignor` cannot make two
/// members claim one partition (the owner locks would stop that anyway, but partitions would
/// sit idle).
///
/// - range, Kafka's RangeAssignor: per topic, the members that read it split its partitions
///   in contiguous blocks; members reading other topics do not count.
/// - roundrobin, Kafka's RoundRobinAssignor: every partition of every topic, in (topic,
///   partition) order, goes to the next member in id order that reads its topic. Several
///   topics of one partition each are spread over the members, not all given to the first.
pub fn my_share(
    live: &[MemberInfo],
    me: &MemberInfo,
    parts: &dyn Fn(&str) -> u32,
) -> BTreeSet<TopicPartition> {
    let Some(first) = live.first() else {
        return BTreeSet::new();
    };
    if !live.iter().any(|m| m.id == me.id) {
        return BTreeSet::new();
    }
    let reads = |m: &MemberInfo, t: &str| m.topics.iter().any(|x| x == t);
    let mut mine = BTreeSet::new();
    match first.assignor {
        Assignor::Range => {
            for t in &me.topics {
                let subs: Vec<&MemberInfo> = live.iter().filter(|m| reads(m, t)).collect();
                let Some(idx) = subs.iter().position(|m| m.id == me.id) else {
                    continue;
                };
                for p in Assignor::Range.assign(parts(t), subs.len(), idx) {
                    mine.insert((t.clone(), p));
                }
            }
        }
        Assignor::RoundRobin => {
            let topics: BTreeSet<&String> = live.iter().flat_map(|m| &m.topics).collect();
            let mut next = 0;
            for t in topics {
                for p in 0..parts(t) {
                    // Some member reads t: it came from a member's list.
                    let Some(k) =
                        (0..live.len()).find(|k| reads(&live[(next + k) % live.len()], t))
                    else {
                        continue;
                    };
                    let owner = (next + k) % live.len();
                    next = owner + 1;
                    if live[owner].id == me.id {
                        mine.insert((t.clone(), p));
                    }
                }
            }
        }
    }
    mine
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::BTreeMap;

    /// Every member's share, by member id.
    fn shares(
        live: &[MemberInfo],
        parts: &dyn Fn(&str) -> u32,
    ) -> BTreeMap<String, BTreeSet<TopicPartition>> {
        live.iter()
            .map(|m| (m.id.clone(), my_share(live, m, parts)))
            .collect()
    }

    fn member(id: &str, topics: &[&str], assignor: Assignor) -> MemberInfo {
        MemberInfo {
            format: super::super::member::FORMAT.into(),
            version: super::super::member::VERSION,
            id: id.into(),
            pid: 1,
            host: "h".into(),
            started_ms: 0,
            topics: topics.iter().map(|t| t.to_string()).collect(),
            assignor,
        }
    }

    fn counts(t: &str) -> u32 {
        match t {
            "a" => 3,
            "b" => 2,
            "c" => 1,
            "d" => 1,
            _ => 0,
        }
    }

    /// Every partition of every topic someone reads has exactly one member, and only a member
    /// that reads its topic.
    fn check_cover(live: &[MemberInfo]) {
        let all = shares(live, &counts);
        let mut seen = BTreeMap::new();
        for (id, share) in &all {
            let m = live.iter().find(|m| &m.id == id).unwrap();
            for (t, p) in share {
                assert!(m.topics.contains(t), "{id} got {t}-{p} it does not read");
                assert!(seen.insert((t.clone(), *p), id).is_none(), "{t}-{p} twice");
            }
        }
        let topics: BTreeSet<&String> = live.iter().flat_map(|m| &m.topics).collect();
        let want: usize = topics.iter().map(|t| counts(t) as usize).sum();
        assert_eq!(seen.len(), want, "{all:?}");
    }

    #[test]
    fn one_owner_per_partition_with_different_subscriptions() {
        for a in [Assignor::Range, Assignor::RoundRobin] {
            let live = vec![
                member("1", &["a", "b"], a),
                member("2", &["b", "c"], a),
                member("3", &["a", "c", "d"], a),
                member("4", &["d"], a),
            ];
            check_cover(&live);
            check_cover(&live[1..]);
            check_cover(&live[..1]);
        }
    }

    #[test]
    fn range_is_per_topic_and_roundrobin_spreads_topics() {
        let live = |a| vec![member("1", &["c", "d"], a), member("2", &["c", "d"], a)];
        // Range: each one-partition topic goes to the first member (Kafka's layout).
        let s = shares(&live(Assignor::Range), &counts);
        assert_eq!(s["1"].len(), 2);
        assert!(s["2"].is_empty());
        let s = shares(&live(Assignor::RoundRobin), &counts);
        assert_eq!(s["1"], BTreeSet::from([("c".to_string(), 0)]));
        assert_eq!(s["2"], BTreeSet::from([("d".to_string(), 0)]));
    }

    #[test]
    fn one_topic_is_as_before() {
        for a in [Assignor::Range, Assignor::RoundRobin] {
            let live: Vec<_> = (0..3).map(|i| member(&i.to_string(), &["a"], a)).collect();
            for (i, m) in live.iter().enumerate() {
                let got: Vec<u32> = my_share(&live, m, &|_| 8)
                    .into_iter()
                    .map(|(_, p)| p)
                    .collect();
                assert_eq!(got, a.assign(8, 3, i), "{a:?} member {i}");
            }
        }
    }

    #[test]
    fn the_oldest_member_picks_the_assignor() {
        let live = vec![
            member("1", &["c", "d"], Assignor::RoundRobin),
            member("2", &["c", "d"], Assignor::Range),
        ];
        assert_eq!(my_share(&live, &live[1], &counts).len(), 1);
    }
}
