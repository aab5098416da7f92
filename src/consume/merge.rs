//! Reading topics in time order across partitions (`consume --merge`, `--tail N`): a k-way
//! merge of the partitions' records (of every topic read) by timestamp, ties by topic,
//! partition, then offset. Each partition contributes at most a few hundred records at a
//! time, so memory is bounded by the number of partitions, not by the topics' size; `--tail N`
//! keeps only the last N.

use super::Consumer;
use crate::error::Result;
use crate::record::{ConsumedRecord, RecordSink};
use std::cmp::Reverse;
use std::collections::{BinaryHeap, VecDeque};

/// Records taken from one partition per refill.
const REFILL: u64 = 256;

struct Owned {
    /// The consumer's cursor it came from (its topic and partition).
    cursor: usize,
    partition: u32,
    offset: u64,
    timestamp: i64,
    key: Option<Vec<u8>>,
    value: Option<Vec<u8>>,
    headers: Vec<(String, Option<Vec<u8>>)>,
}

/// Copies what cursor `.1` delivers into its queue.
struct Collect<'a>(&'a mut VecDeque<Owned>, usize);

impl RecordSink for Collect<'_> {
    fn record(&mut self, r: &ConsumedRecord<'_>) -> Result<()> {
        self.0.push_back(Owned {
            cursor: self.1,
            partition: r.partition,
            offset: r.offset,
            timestamp: r.timestamp,
            key: r.key.map(<[u8]>::to_vec),
            value: r.value.map(<[u8]>::to_vec),
            headers: r
                .headers
                .iter()
                .map(|(k, v)| (k.to_string(), v.map(<[u8]>::to_vec)))
                .collect(),
        });
        Ok(())
    }
}

fn deliver(topic: &str, o: &Owned, sink: &mut dyn RecordSink) -> Result<()> {
    sink.record(&ConsumedRecord {
        topic,
        partition: o.partition,
        offset: o.offset,
        timestamp: o.timestamp,
        key: o.key.as_deref(),
        value: o.value.as_deref(),
        headers: o
            .headers
            .iter()
            .map(|(k, v)| (k.as_str(), v.as_deref()))
            .collect(),
    })
}

impl Consumer {
    /// Take up to [`REFILL`] records of cursor `i` into `q`, without counting them as
    /// delivered (the merge counts what it hands on).
    fn refill(&mut self, i: usize, q: &mut VecDeque<Owned>) -> Result<()> {
        let (delivered, max) = (self.delivered, self.max);
        self.max = Some(delivered + REFILL);
        let r = self.poll_cursor(i, &mut Collect(q, i));
        let capped = self.delivered == delivered + REFILL;
        self.delivered = delivered;
        self.max = max;
        r?;
        // Only a refill the cap stopped can have stopped inside a batch, with its reader
        // already past that batch: put the reader back where the next record is.
        let c = &mut self.cursors[i];
        if capped && !c.done {
            let t = c.reader.tail()?;
            if c.next < t.end_offset {
                c.reader.seek(c.next, &t)?;
            }
        }
        Ok(())
    }

    /// Deliver every partition's records up to its snapshot end in timestamp order (ties by
    /// topic, partition, then offset); with `keep_last`, only the last that many. Returns
    /// records delivered. For a snapshot read (each cursor has a stop offset).
    pub fn poll_merged(
        &mut self,
        sink: &mut dyn RecordSink,
        keep_last: Option<usize>,
    ) -> Result<u64> {
        let before = self.delivered;
        self.follow_leaders()?;
        let n = self.cursors.len();
        // Ties between cursors go by (topic, partition): each cursor's place in that order.
        let mut order: Vec<usize> = (0..n).collect();
        order.sort_by(|&a, &b| {
            let (a, b) = (&self.cursors[a], &self.cursors[b]);
            (&a.topic, a.partition).cmp(&(&b.topic, b.partition))
        });
        let mut rank = vec![0; n];
        for (r, &i) in order.iter().enumerate() {
            rank[i] = r;
        }
        let mut queues: Vec<VecDeque<Owned>> = (0..n).map(|_| VecDeque::new()).collect();
        let mut heap = BinaryHeap::new();
        let mut last: VecDeque<Owned> = VecDeque::new();
        for (i, q) in queues.iter_mut().enumerate() {
            self.refill(i, q)?;
            if let Some(o) = q.front() {
                heap.push(Reverse((o.timestamp, rank[i], o.offset, i)));
            }
        }
        while let Some(Reverse((_, _, _, i))) = heap.pop() {
            if crate::signals::stop_requested()
                || (keep_last.is_none() && self.max.is_some_and(|m| self.delivered >= m))
            {
                break;
            }
            let o = queues[i].pop_front().expect("a queued head");
            match keep_last {
                Some(n) => {
                    if last.len() == n {
                        last.pop_front();
                    }
                    if n > 0 {
                        last.push_back(o);
                    }
                }
                None => {
                    let topic = &self.cursors[i].topic;
                    deliver(topic, &o, sink)?;
                    sink.reached(topic, o.partition, o.offset + 1)?;
                    self.delivered += 1;
                }
            }
            if queues[i].is_empty() {
                let mut q = std::mem::take(&mut queues[i]);
                self.refill(i, &mut q)?;
                queues[i] = q;
            }
            if let Some(o) = queues[i].front() {
                heap.push(Reverse((o.timestamp, rank[i], o.offset, i)));
            }
        }
        for o in &last {
            if self.max.is_some_and(|m| self.delivered >= m) {
                break;
            }
            let topic = &self.cursors[o.cursor].topic;
            deliver(topic, o, sink)?;
            sink.reached(topic, o.partition, o.offset + 1)?;
            self.delivered += 1;
        }
        Ok(self.delivered - before)
    }
}
