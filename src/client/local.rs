//! [`Backend`] on this root's directory tree.

use super::{
    Backend, GroupDescription, GroupSummary, MemberOptions, MemberOutput, RecordConsumer,
    RecordProducer, TopicSummary,
};
use crate::cluster::Cluster;
use crate::consume::{ConsumeOptions, Consumer};
use crate::error::{Error, Result};
use crate::group::admin::{PartitionStatus, ResetPlan, ResetTo};
use crate::group::deliver::{Committer, Delivery, OpenProducer};
use crate::group::member::live_members;
use crate::group::run::GroupOptions;
use crate::group::{self, Group};
use crate::produce::{Acks, Producer, ProducerOptions};
use crate::record::RecordSink;
use crate::topics::{self, AlterOptions, CreateOptions, Created, Description, PartitionOffsets};
use crate::watch::Waker;
use std::time::Duration;

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

    fn list_groups(&self) -> Result<Vec<GroupSummary>> {
        group::list(&self.cluster)?
            .into_iter()
            .map(|g| {
                Ok(GroupSummary {
                    members: live_members(&g, None)?.len(),
                    topics: g.topics()?,
                    group: g.name,
                })
            })
            .collect()
    }

    fn describe_group(&self, name: &str) -> Result<GroupDescription> {
        let g = Group::existing(&self.cluster, name)?;
        let (members, partitions) = group::admin::status(&self.cluster, &g, None)?;
        Ok(GroupDescription {
            group: g.name,
            members,
            partitions,
        })
    }

    fn group_offsets(&self, name: &str, topic: Option<&str>) -> Result<Vec<PartitionStatus>> {
        let g = Group::existing(&self.cluster, name)?;
        Ok(group::admin::status(&self.cluster, &g, topic)?.1)
    }

    fn reset_group_offsets(
        &self,
        name: &str,
        topic: &str,
        partitions: &[u32],
        to: &ResetTo,
        execute: bool,
    ) -> Result<Vec<ResetPlan>> {
        let g = Group::at(&self.cluster, name)?;
        group::admin::reset(&self.cluster, &g, topic, partitions, to, execute)
    }

    fn delete_group(&self, name: &str) -> Result<()> {
        Group::existing(&self.cluster, name)?.delete()
    }

    fn run_group_member(&self, o: MemberOptions, warn: &mut dyn FnMut(String)) -> Result<u64> {
        let g = Group::at(&self.cluster, &o.group)?;
        let md = self.cluster.metadata_with_topic(&o.topic)?;
        let topic_id = md.topic(&o.topic)?.id.clone();
        let committer = Committer::new(
            Box::new(g.clone()),
            &o.topic,
            &topic_id,
            "",
            o.commit_interval,
        );
        let mut out = match o.output {
            MemberOutput::Exec {
                cmd,
                batch,
                timeout,
                on_failure,
            } => Delivery::exec(
                o.format,
                committer,
                &cmd,
                batch,
                timeout,
                on_failure,
                self.dead_letter_producer(),
            ),
            MemberOutput::Stdout => Delivery::stdout(o.format, committer)?,
        };
        let gopts = GroupOptions {
            group: g,
            topic: o.topic,
            assignor: o.assignor,
            reset: o.reset,
            consume: o.consume,
        };
        group::run::run(&self.cluster, &gopts, &mut out, warn)
    }
}

impl Local {
    /// Dead-letter records go to a topic of this root, acknowledged by its leader and fsynced.
    fn dead_letter_producer(&self) -> OpenProducer {
        let cluster = self.cluster.clone();
        std::rc::Rc::new(move |topic: &str| {
            let (p, _) = Producer::open(
                &cluster,
                topic,
                ProducerOptions {
                    partition: None,
                    acks: Acks::Leader,
                    batch_size: 1 << 20,
                    lock_timeout: Duration::from_secs(30),
                    truncate_oversized: false,
                    // The user named it in --on-failure dead-letter=TOPIC.
                    create: true,
                    compression: Default::default(),
                    compression_level: None,
                },
            )?;
            Ok(Box::new(p) as Box<dyn RecordProducer>)
        })
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
    fn poll_merged(&mut self, sink: &mut dyn RecordSink, keep_last: Option<usize>) -> Result<u64> {
        self.consumer.poll_merged(sink, keep_last)
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
