//! Assignment: a pure function of (live members, partition count), so every member computes
//! the same answer without talking to the others.

use serde::{Deserialize, Serialize};

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, Default, clap::ValueEnum)]
#[serde(rename_all = "kebab-case")]
pub enum Assignor {
    /// Contiguous blocks: member i of n gets partitions [i*P/n ..), the first P%n one extra.
    #[default]
    Range,
    /// Partition p goes to member p % n.
    #[value(name = "roundrobin", alias = "round-robin")]
    #[serde(rename = "roundrobin", alias = "round-robin")]
    RoundRobin,
}

impl Assignor {
    pub fn name(self) -> &'static str {
        match self {
            Assignor::Range => "range",
            Assignor::RoundRobin => "roundrobin",
        }
    }

    /// The partitions (of `partitions`) that member `index` of `members` owns.
    pub fn assign(self, partitions: u32, members: usize, index: usize) -> Vec<u32> {
        if members == 0 || index >= members {
            return Vec::new();
        }
        let n = members as u32;
        let i = index as u32;
        match self {
            Assignor::Range => {
                let per = partitions / n;
                let extra = partitions % n;
                let start = i * per + i.min(extra);
                let len = per + u32::from(i < extra);
                (start..start + len).collect()
            }
            Assignor::RoundRobin => (i..partitions).step_by(members).collect(),
        }
    }

    /// Owner index of partition `p`.
    pub fn owner(self, partitions: u32, members: usize, p: u32) -> Option<usize> {
        (0..members).find(|&i| self.assign(partitions, members, i).contains(&p))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_partition_exactly_once() {
        for a in [Assignor::Range, Assignor::RoundRobin] {
            for parts in 0..20u32 {
                for members in 1..8usize {
                    let mut all: Vec<u32> = (0..members)
                        .flat_map(|i| a.assign(parts, members, i))
                        .collect();
                    all.sort();
                    assert_eq!(
                        all,
                        (0..parts).collect::<Vec<_>>(),
                        "{a:?} {parts} {members}"
                    );
                    let sizes: Vec<usize> = (0..members)
                        .map(|i| a.assign(parts, members, i).len())
                        .collect();
                    let (lo, hi) = (sizes.iter().min().unwrap(), sizes.iter().max().unwrap());
                    assert!(hi - lo <= 1, "balanced: {sizes:?}");
                }
            }
        }
    }

    #[test]
    fn kafka_layouts() {
        assert_eq!(Assignor::Range.assign(8, 3, 0), vec![0, 1, 2]);
        assert_eq!(Assignor::Range.assign(8, 3, 1), vec![3, 4, 5]);
        assert_eq!(Assignor::Range.assign(8, 3, 2), vec![6, 7]);
        assert_eq!(Assignor::RoundRobin.assign(8, 3, 1), vec![1, 4, 7]);
        assert_eq!(Assignor::Range.owner(8, 3, 5), Some(1));
        assert!(Assignor::Range.assign(2, 3, 2).is_empty());
    }
}
