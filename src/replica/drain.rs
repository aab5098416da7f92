//! `broker drain`: move every replica off a broker, keeping each partition's replication
//! factor and the spread of preferred leaders over the brokers that stay.
//!
//! The broker is marked `draining` (new topics and partitions are not placed on it) and every
//! move is recorded in the same metadata change, as reassignments (`adding`/`removing`): from
//! then on, `broker drain` run again, `topic reassign`'s machinery or a controller pass finishes
//! whatever a killed drain left (docs/replication.md, "Draining a broker").

use super::isr;
use super::leadership::{Change, claim_epochs};
use super::reassign;
use crate::cluster::Cluster;
use crate::cluster::metadata::Metadata;
use crate::error::{Error, Result};
use std::collections::BTreeMap;

/// One replica move: `topic`-`partition` goes to `to` (preferred leader first).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Move {
    pub topic: String,
    pub partition: u32,
    pub to: Vec<u32>,
}

/// Where each replica on broker `id` goes. Each takes the place of `id` in its replica list on
/// the broker, among `live` ones not draining and not holding the partition, that holds the
/// fewest replicas (counting the moves chosen so far); where `id` was the preferred leader,
/// that role goes to the replica of the new set that is preferred for the fewest partitions.
/// So replica counts and preferred leaders stay even. Partitions already moving off `id` are
/// left to their move.
pub fn plan(md: &Metadata, id: u32, live: &[u32]) -> Result<Vec<Move>> {
    let candidates: Vec<u32> = md
        .brokers
        .iter()
        .filter(|b| b.id != id && !b.draining && !b.down && live.contains(&b.id))
        .map(|b| b.id)
        .collect();
    let mut replicas: BTreeMap<u32, u64> = candidates.iter().map(|&b| (b, 0)).collect();
    let mut preferred = replicas.clone();
    for t in md.topics.values() {
        for p in &t.partitions {
            let target = p.target_replicas();
            for b in &target {
                if let Some(n) = replicas.get_mut(b) {
                    *n += 1;
                }
            }
            if let Some(n) = target.first().and_then(|b| preferred.get_mut(b)) {
                *n += 1;
            }
        }
    }
    let mut moves = Vec::new();
    for (name, t) in &md.topics {
        for p in &t.partitions {
            let target = p.target_replicas();
            let Some(pos) = target.iter().position(|&b| b == id) else {
                continue;
            };
            if !p.adding.is_empty() || !p.removing.is_empty() {
                return Err(Error::Temporary(format!(
                    "partition {name}-{}: a reassignment to {target:?} is in progress; wait for it to finish, then drain again",
                    p.partition
                )));
            }
            let Some(to) = candidates
                .iter()
                .filter(|b| !target.contains(b))
                .min_by_key(|&&b| (replicas[&b], preferred[&b], b))
                .copied()
            else {
                let others: Vec<u32> = md
                    .brokers
                    .iter()
                    .map(|b| b.id)
                    .filter(|&b| b != id)
                    .collect();
                return Err(Error::Other(format!(
                    "partition {name}-{} has {} replicas; without broker {id} they need {} brokers that are up and not draining, and only {candidates:?} of {others:?} are: add a broker (`chute broker add`) or bring one up first",
                    p.partition,
                    target.len(),
                    target.len(),
                )));
            };
            *replicas.get_mut(&to).unwrap() += 1;
            let mut new = target.clone();
            new[pos] = to;
            if pos == 0 {
                // The preferred leadership goes to whichever replica of the new set leads the
                // fewest partitions (the newcomer or one that stays), the others keep order.
                let lead = new
                    .iter()
                    .copied()
                    .min_by_key(|b| {
                        (
                            preferred.get(b).copied().unwrap_or(u64::MAX),
                            replicas.get(b).copied().unwrap_or(u64::MAX),
                            *b,
                        )
                    })
                    .unwrap();
                new.retain(|&b| b != lead);
                new.insert(0, lead);
                if let Some(n) = preferred.get_mut(&lead) {
                    *n += 1;
                }
            }
            moves.push(Move {
                topic: name.clone(),
                partition: p.partition,
                to: new,
            });
        }
    }
    balance_preferred(md, id, &candidates, &mut moves);
    Ok(moves)
}

/// Even out preferred leaders over `brokers` (within one of each other) by putting another
/// replica first where that helps: a reorder moves no data. Partitions being moved by this
/// plan may be reordered too; a move already in progress counts with its target and keeps it.
fn balance_preferred(md: &Metadata, id: u32, brokers: &[u32], moves: &mut Vec<Move>) {
    // (topic, partition, replica list as it will be, whether its order may change)
    let mut lists: Vec<(String, u32, Vec<u32>, bool)> = Vec::new();
    for (name, t) in &md.topics {
        for p in &t.partitions {
            let moving = !p.adding.is_empty() || !p.removing.is_empty();
            let planned = moves
                .iter()
                .find(|m| m.topic == *name && m.partition == p.partition);
            let list = match planned {
                Some(m) => m.to.clone(),
                // A move in progress counts with where it is going, and keeps its order.
                None if moving => p.target_replicas(),
                None => p.replicas.clone(),
            };
            if !list.contains(&id) {
                lists.push((name.clone(), p.partition, list, !moving));
            }
        }
    }
    let count = |lists: &[(String, u32, Vec<u32>, bool)], b: u32| {
        lists
            .iter()
            .filter(|(_, _, l, _)| l.first() == Some(&b))
            .count()
    };
    // Each step moves one preferred leadership from a broker with the most to one with the
    // fewest: bounded by the number of partitions.
    for _ in 0..lists.len() {
        let Some(&most) = brokers.iter().max_by_key(|&&b| (count(&lists, b), b)) else {
            return;
        };
        let Some(&fewest) = brokers.iter().min_by_key(|&&b| (count(&lists, b), b)) else {
            return;
        };
        if count(&lists, most) <= count(&lists, fewest) + 1 {
            break;
        }
        let Some(entry) = lists
            .iter_mut()
            .find(|(_, _, l, free)| *free && l.first() == Some(&most) && l.contains(&fewest))
        else {
            break;
        };
        entry.2.retain(|&b| b != fewest);
        entry.2.insert(0, fewest);
        let (name, part, list) = (entry.0.clone(), entry.1, entry.2.clone());
        match moves
            .iter_mut()
            .find(|m| m.topic == name && m.partition == part)
        {
            Some(m) => m.to = list,
            None => moves.push(Move {
                topic: name,
                partition: part,
                to: list,
            }),
        }
    }
}

/// Mark broker `id` draining and record every move off it, in one metadata change. Returns the
/// moves recorded now (none when an earlier drain recorded them all).
pub fn start(cluster: &Cluster, id: u32) -> Result<Vec<Move>> {
    let md = cluster.metadata()?;
    if md.broker(id).is_none() {
        return Err(Error::NotFound(format!(
            "unknown broker {id} (see `chute broker list`)"
        )));
    }
    let live = cluster.live_brokers(&md, false);
    cluster.update(|md| {
        if let Some(b) = md.brokers.iter_mut().find(|b| b.id == id) {
            b.draining = true;
        }
        let moves = plan(md, id, &live)?;
        for m in &moves {
            let p = md
                .topics
                .get_mut(&m.topic)
                .and_then(|t| t.partitions.get_mut(m.partition as usize))
                .expect("planned from this metadata");
            reassign::record(&m.topic, p, &m.to, &live)?;
        }
        Ok(moves)
    })
}

/// Partitions whose replica on `id` is still to go (moving, or not yet recorded).
pub fn remaining(md: &Metadata, id: u32) -> Vec<(String, u32)> {
    md.topics
        .iter()
        .flat_map(|(name, t)| {
            t.partitions
                .iter()
                .filter(|p| p.replicas.contains(&id))
                .map(move |p| (name.clone(), p.partition))
        })
        .collect()
}

/// After the moves: leadership of the partitions in `moved` goes to their preferred replica
/// where it is live and in sync, so the drained broker's leaderships spread as planned.
pub fn prefer_leaders(cluster: &Cluster, moved: &[(String, u32)]) -> Result<Vec<Change>> {
    let md = cluster.metadata()?;
    let up = cluster.live_brokers(&md, false);
    let changes = cluster.update(|md| {
        let mut changes = Vec::new();
        for (name, part) in moved {
            let Some(p) = md
                .topics
                .get_mut(name)
                .and_then(|t| t.partitions.get_mut(*part as usize))
            else {
                continue;
            };
            if let Some(n) = isr::prefer(p, &|b| up.contains(&b)) {
                changes.push((name.clone(), p.clone(), n.clone()));
                *p = n;
            }
        }
        Ok(changes)
    })?;
    let md = cluster.metadata()?;
    claim_epochs(cluster, &md, &changes);
    Ok(changes)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::cluster::metadata::{Broker, PartitionMeta, Topic, assign_replicas};

    fn cluster(brokers: u32, partitions: u32, rf: u32) -> Metadata {
        let list = (0..brokers)
            .map(|id| Broker {
                id,
                path: None,
                down: false,
                draining: false,
            })
            .collect();
        let mut md = Metadata::new("c".into(), list);
        let ids: Vec<u32> = (0..brokers).collect();
        let parts = assign_replicas(&ids, 0..partitions, rf, 7)
            .into_iter()
            .enumerate()
            .map(|(p, r)| PartitionMeta {
                partition: p as u32,
                leader: Some(r[0]),
                leader_epoch: 0,
                isr: r.clone(),
                replicas: r,
                adding: vec![],
                removing: vec![],
            })
            .collect();
        md.topics.insert(
            "t".into(),
            Topic {
                id: "x".into(),
                config: Default::default(),
                partitions: parts,
            },
        );
        md
    }

    #[test]
    fn a_drain_keeps_the_replication_factor_and_spreads_preferred_leaders() {
        let md = cluster(4, 12, 2);
        let moves = plan(&md, 3, &[0, 1, 2, 3]).unwrap();
        assert_eq!(moves.len(), 6, "{moves:?}");
        let mut after = md.clone();
        for m in &moves {
            after.topics.get_mut("t").unwrap().partitions[m.partition as usize].replicas =
                m.to.clone();
        }
        let mut preferred = [0u64; 4];
        let mut count = [0u64; 4];
        for p in &after.topics["t"].partitions {
            assert_eq!(p.replicas.len(), 2);
            assert!(!p.replicas.contains(&3), "{p:?}");
            assert_ne!(p.replicas[0], p.replicas[1]);
            preferred[p.replicas[0] as usize] += 1;
            for &b in &p.replicas {
                count[b as usize] += 1;
            }
        }
        // Even: no broker holds more than one more than another.
        assert_eq!(preferred[3] + count[3], 0);
        let spread = |v: &[u64]| v.iter().max().unwrap() - v.iter().min().unwrap();
        assert!(spread(&preferred[..3]) <= 1, "{preferred:?}");
        // Whatever the starting assignment: 6 partitions over the 3 that stay, 2 each.
        for seed in 0..50 {
            let mut md = cluster(4, 6, 2);
            let ids: Vec<u32> = (0..4).collect();
            for (p, r) in assign_replicas(&ids, 0..6, 2, seed).into_iter().enumerate() {
                let pm = &mut md.topics.get_mut("t").unwrap().partitions[p];
                pm.replicas = r.clone();
                pm.isr = r.clone();
                pm.leader = Some(r[0]);
            }
            let moves = plan(&md, 3, &[0, 1, 2, 3]).unwrap();
            let mut lead = [0u64; 4];
            for p in &md.topics["t"].partitions {
                let list = moves
                    .iter()
                    .find(|m| m.partition == p.partition)
                    .map_or(p.replicas.clone(), |m| m.to.clone());
                assert!(!list.contains(&3), "seed {seed}: {list:?}");
                lead[list[0] as usize] += 1;
            }
            assert_eq!(lead, [2, 2, 2, 0], "seed {seed}");
        }
        assert!(spread(&count[..3]) <= 1, "{count:?}");
    }

    #[test]
    fn a_drain_that_cannot_keep_the_replication_factor_is_refused() {
        let md = cluster(3, 2, 3);
        let e = plan(&md, 2, &[0, 1, 2]).unwrap_err().to_string();
        assert!(e.contains("has 3 replicas"), "{e}");
        // A broker that is down does not count as a place to go.
        let md = cluster(3, 2, 2);
        let e = plan(&md, 2, &[0, 2]).unwrap_err().to_string();
        assert!(e.contains("only [0]"), "{e}");
    }
}
