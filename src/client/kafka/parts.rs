//! The partitions a consumer reads, found by a record's borrowed topic name: no allocation per
//! record on the hot path.

use std::collections::BTreeMap;

/// Where a partition's reading stops, and whether it got there.
pub struct Part {
    /// The high watermark when reading began; None: following.
    pub stop: Option<i64>,
    pub done: bool,
}

#[derive(Default)]
pub struct Parts(BTreeMap<String, BTreeMap<i32, Part>>);

impl Parts {
    pub fn insert(&mut self, topic: &str, p: i32, part: Part) {
        self.0.entry(topic.to_string()).or_default().insert(p, part);
    }

    pub fn get_mut(&mut self, topic: &str, p: i32) -> Option<&mut Part> {
        self.0.get_mut(topic).and_then(|m| m.get_mut(&p))
    }

    pub fn remove(&mut self, topic: &str, p: i32) {
        if let Some(m) = self.0.get_mut(topic) {
            m.remove(&p);
        }
    }

    pub fn values(&self) -> impl Iterator<Item = &Part> {
        self.0.values().flat_map(BTreeMap::values)
    }
}

/// Stop fetching a partition read to its end (its records would only be skipped).
pub fn pause<C: rdkafka::consumer::ConsumerContext>(
    c: &rdkafka::consumer::BaseConsumer<C>,
    topic: &str,
    p: i32,
) {
    use rdkafka::consumer::Consumer;
    let mut tpl = rdkafka::TopicPartitionList::new();
    tpl.add_partition(topic, p);
    let _ = c.pause(&tpl);
}
