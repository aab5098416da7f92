//! [`Backend`] on this root's directory tree.

use super::{Backend, RecordConsumer, RecordProducer, TopicSummary};
use crate::cluster::Cluster;
use crate::consume::{ConsumeOptions, Consumer};
use crate::error::{Error, Result};
use crate::produce::{Producer, ProducerOptions};
use crate::record::{RecordRef, RecordSink};
use crate::topics::{self, AlterOptions, CreateOptions, Created, Description, PartitionOffsets};
use crate::watch::Waker;
use std::time::{Duration, Instant};

pub struct Local {
    pub cluster: Cluster,
}

impl Backend for Local {
    fn create_topic(&self, name: &str, o: CreateOptions) -> Result<Created> {
        topics::create(&self.cluster, name, o)
    }

    fn list_topics(&self) -> Result<Vec<TopicSummary>> {
        let md = match self.cluster.metadata() {
            Ok(md) => md,
            Err(Error::NotFound(_)) if !self.cluster.exists() => return Ok(Vec::new()),
            Err(e) => return Err(e),
        };
        Ok(md
            .topics
            .iter()
            .map(|(n, t)| TopicSummary {
                name: n.clone(),
                partitions: t.partitions.len() as u32,
                replication_factor: t.partitions.first().map_or(0, |p| p.replicas.len() as u32),
            })
            .collect())
    }

    fn describe_topic(&self, name: &str) -> Result<Description> {
        topics::describe(&self.cluster, name)
    }

    fn alter_topic(&self, name: &str, o: AlterOptions) -> Result<()> {
        topics::alter(&self.cluster, name, o)
    }

    fn delete_topic(&self, name: &str, lock_timeout: Duration) -> Result<()> {
        topics::delete(&self.cluster, name, lock_timeout)
    }

    fn topic_offsets(&self, name: &str, at: Option<i64>) -> Result<Vec<PartitionOffsets>> {
        topics::offsets(&self.cluster, name, at)
    }

    fn producer(&self, topic: &str, o: ProducerOptions) -> Result<(Box<dyn RecordProducer>, bool)> {
        let (p, created) = Producer::open(&self.cluster, topic, o)?;
        Ok((Box::new(p), created))
    }

    fn consumer(&self, topic: &str, o: &ConsumeOptions) -> Result<Box<dyn RecordConsumer>> {
        let consumer = Consumer::open(&self.cluster, topic, o, &|_| None)?;
        let mut warnings = consumer.warnings.clone();
        // Following: wake on file events in the replica directories, not on a timer alone.
        let waker = o.follow.then(|| {
            let dirs: Vec<_> = consumer
                .cursors
                .iter()
                .flat_map(|c| c.watch.iter().cloned())
                .collect();
            Waker::new(&dirs)
        });
        if let Some(w) = waker.as_ref().and_then(|w| w.warning.clone()) {
            warnings.push(w);
        }
        Ok(Box::new(LocalConsumer {
            consumer,
            waker,
            warnings,
        }))
    }
}

impl RecordProducer for Producer {
    fn tick(&mut self) {
        Producer::tick(self)
    }
    fn send(&mut self, r: RecordRef<'_>) -> Result<()> {
        Producer::send(self, r)
    }
    fn has_pending(&self) -> bool {
        Producer::has_pending(self)
    }
    fn flush(&mut self) -> Result<()> {
        Producer::flush(self)
    }
    fn sync_deadline(&self) -> Instant {
        Producer::sync_deadline(self)
    }
    fn sync_if_due(&mut self) -> Result<()> {
        Producer::sync_if_due(self)
    }
    fn close(&mut self) -> Result<()> {
        Producer::close(self)
    }
    fn truncated(&self) -> u64 {
        self.truncated
    }
}

struct LocalConsumer {
    consumer: Consumer,
    waker: Option<Waker>,
    warnings: Vec<String>,
}

impl RecordConsumer for LocalConsumer {
    fn warnings(&self) -> Vec<String> {
        self.warnings.clone()
    }
    fn poll(&mut self, sink: &mut dyn RecordSink) -> Result<u64> {
        self.consumer.poll(sink)
    }
    fn finished(&self) -> bool {
        self.consumer.finished()
    }
    fn wait(&mut self, timeout: Duration) {
        match &self.waker {
            Some(w) => {
                w.wait(timeout);
            }
            None => std::thread::sleep(timeout),
        }
    }
}
