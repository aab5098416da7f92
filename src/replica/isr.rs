//! Leader election and ISR decisions. Pure functions of a partition's metadata and what was
//! observed, so the rules can be tested on their own; the controller applies them.

use crate::cluster::metadata::PartitionMeta;

/// React to broker liveness: replicas on brokers that are down leave the ISR; a partition whose
/// leader is down gets the first live in-sync replica (in replica order, so the preferred
/// leader wins when it can) with a new leader epoch. With none, it goes offline (no leader),
/// keeping its last ISR so that one of those replicas can lead cleanly when it returns, unless
/// `unclean` allows any live replica to lead.
pub fn on_liveness(p: &PartitionMeta, up: &dyn Fn(u32) -> bool, unclean: bool) -> PartitionMeta {
    let mut n = p.clone();
    if p.leader.is_some_and(up) {
        n.isr.retain(|&b| up(b));
        return n;
    }
    let clean = p
        .replicas
        .iter()
        .copied()
        .find(|&b| p.isr.contains(&b) && up(b));
    if let Some(c) = clean {
        n.leader = Some(c);
        n.leader_epoch += 1;
        n.isr.retain(|&b| up(b));
    } else if let Some(c) = p.replicas.iter().copied().find(|&b| unclean && up(b)) {
        n.leader = Some(c);
        n.leader_epoch += 1;
        n.isr = vec![c];
    } else if p.leader.is_some() {
        n.leader = None;
        n.leader_epoch += 1;
    }
    n
}

/// Give leadership back to the preferred replica (the first) if it is live, in sync and not
/// leading.
pub fn prefer(p: &PartitionMeta, up: &dyn Fn(u32) -> bool) -> Option<PartitionMeta> {
    let first = *p.replicas.first()?;
    if p.leader == Some(first) || !up(first) || !p.isr.contains(&first) {
        return None;
    }
    let mut n = p.clone();
    n.leader = Some(first);
    n.leader_epoch += 1;
    Some(n)
}

/// What a sync saw of one follower.
#[derive(Debug, Clone, Copy)]
pub struct FollowerView {
    pub broker: u32,
    /// It holds everything the leader had when the sync started, fsynced, in this epoch.
    pub caught_up: bool,
    /// Milliseconds since it was last caught up.
    pub lagging_ms: u64,
}

/// Followers that caught up rejoin the ISR; ones that have not been caught up for longer than
/// `lag_ms` (replica.lag.time) leave it. The leader always stays.
pub fn adjust_isr(p: &PartitionMeta, seen: &[FollowerView], lag_ms: u64) -> PartitionMeta {
    let mut n = p.clone();
    let Some(leader) = p.leader else {
        return n;
    };
    for f in seen {
        if f.broker == leader {
            continue;
        }
        let member = n.isr.contains(&f.broker);
        if !member && f.caught_up {
            n.isr.push(f.broker);
        } else if member && !f.caught_up && f.lagging_ms > lag_ms {
            n.isr.retain(|&b| b != f.broker);
        }
    }
    // Keep the ISR in replica order: stable output, and "first in ISR" means preferred.
    n.isr
        .sort_by_key(|b| p.replicas.iter().position(|r| r == b));
    n
}

#[cfg(test)]
mod tests {
    use super::*;

    fn pm(replicas: &[u32], leader: Option<u32>, isr: &[u32]) -> PartitionMeta {
        PartitionMeta {
            partition: 0,
            replicas: replicas.to_vec(),
            leader,
            leader_epoch: 4,
            isr: isr.to_vec(),
            adding: vec![],
            removing: vec![],
        }
    }

    #[test]
    fn a_dead_leader_is_replaced_by_the_first_live_in_sync_replica() {
        let p = pm(&[0, 1, 2], Some(0), &[0, 1, 2]);
        let n = on_liveness(&p, &|b| b != 0, false);
        assert_eq!(
            (n.leader, n.leader_epoch, n.isr.clone()),
            (Some(1), 5, vec![1, 2])
        );
    }

    #[test]
    fn an_out_of_sync_replica_never_leads_unless_unclean() {
        let p = pm(&[0, 1, 2], Some(0), &[0]);
        let n = on_liveness(&p, &|b| b != 0, false);
        assert_eq!(
            (n.leader, n.leader_epoch, n.isr.clone()),
            (None, 5, vec![0])
        );
        let n = on_liveness(&p, &|b| b != 0, true);
        assert_eq!((n.leader, n.isr.clone()), (Some(1), vec![1]));
    }

    #[test]
    fn an_offline_partition_comes_back_with_its_last_in_sync_replica() {
        let p = pm(&[0, 1, 2], None, &[0]);
        assert_eq!(on_liveness(&p, &|b| b == 1, false), p);
        let n = on_liveness(&p, &|b| b == 0, false);
        assert_eq!((n.leader, n.leader_epoch), (Some(0), 5));
    }

    #[test]
    fn dead_followers_leave_the_isr_without_an_election() {
        let p = pm(&[0, 1, 2], Some(0), &[0, 1, 2]);
        let n = on_liveness(&p, &|b| b != 2, false);
        assert_eq!(
            (n.leader, n.leader_epoch, n.isr.clone()),
            (Some(0), 4, vec![0, 1])
        );
    }

    #[test]
    fn isr_shrinks_after_the_lag_time_and_grows_when_caught_up() {
        let p = pm(&[0, 1, 2], Some(0), &[0, 1]);
        let seen = [
            FollowerView {
                broker: 1,
                caught_up: false,
                lagging_ms: 11_000,
            },
            FollowerView {
                broker: 2,
                caught_up: true,
                lagging_ms: 0,
            },
        ];
        assert_eq!(adjust_isr(&p, &seen, 10_000).isr, vec![0, 2]);
        let seen = [FollowerView {
            broker: 1,
            caught_up: false,
            lagging_ms: 9_000,
        }];
        assert_eq!(adjust_isr(&p, &seen, 10_000).isr, vec![0, 1]);
    }

    #[test]
    fn preferred_leader_returns_only_when_in_sync() {
        let p = pm(&[0, 1, 2], Some(1), &[1, 2]);
        assert!(prefer(&p, &|_| true).is_none());
        let p = pm(&[0, 1, 2], Some(1), &[0, 1, 2]);
        assert_eq!(prefer(&p, &|_| true).unwrap().leader, Some(0));
    }
}
