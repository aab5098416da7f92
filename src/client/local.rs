//! [`Backend`] on this root's directory tree.

use super::{
    Backend, GroupDescription, GroupSummary, MemberOptions, MemberOutput, RecordConsumer,
    RecordProducer, TopicSummary,
};
use crate::cluster::Cluster;
use crate::cluster::topic_watch::TopicWatch;
use crate::consume::{ConsumeOptions, Consumer, StartFrom, Subscription};
use crate::error::{Error, Result};
use crate::fsutil::FileStamp;
use crate::group::admin::{PartitionStatus, ResetPlan, ResetTo};
use crate::group::deliver::{Committer, Delivery, OpenProducer};
use crate::group::member::live_members;
use crate::group::run::GroupOptions;
use crate::group::{self, Group};
use crate::produce::{Producer, ProducerOptions};
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

    fn consumer(
        &self,
        topics: &Subscription,
        o: &ConsumeOptions,
    ) -> Result<Box<dyn RecordConsumer>> {
        self.consumer_at(topics, o, &|_, _| None)
    }

    fn consumer_at(
        &self,
        topics: &Subscription,
        o: &ConsumeOptions,
        start: &dyn Fn(&str, u32) -> Option<u64>,
    ) -> Result<Box<dyn RecordConsumer>> {
        // Stamped before the metadata is read: a topic created after is picked up.
        let stamp = TopicWatch::stamp_now(&self.cluster);
        let (md, names) = topics.resolve_in(&self.cluster, true)?;
        let mut consumer = Consumer::open(&self.cluster, &md, &names, o, start)?;
        if topics.has_patterns() {
            consumer.patterns = Some(topics.clone());
        }
        let mut warnings = std::mem::take(&mut consumer.warnings);
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
        // -p chose partitions of the one topic there was: the subscription stays that.
        let grow = (o.follow && topics.has_patterns() && o.partitions.is_none()).then(|| Grow {
            cluster: self.cluster.clone(),
            topics: topics.clone(),
            opts: o.clone(),
            stamp,
        });
        Ok(Box::new(LocalConsumer {
            consumer,
            waker,
            warnings,
            grow,
        }))
    }

    fn list_groups(&self) -> Result<Vec<GroupSummary>> {
        group::list(&self.cluster)?
            .into_iter()
            .map(|g| {
                let live = live_members(&g, None)?;
                Ok(GroupSummary {
                    members: live.len(),
                    topics: g.topics_with(&live)?,
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
        let committer = Committer::new(Box::new(g.clone()), "", o.commit_interval);
        let exec = |committer, cmd: &str, batch, timeout, on_failure| {
            Delivery::exec(
                o.format.clone(),
                committer,
                cmd,
                batch,
                timeout,
                on_failure,
                self.dead_letter_producer(),
            )
        };
        let mut out = match o.output {
            MemberOutput::Exec {
                cmd,
                batch,
                timeout,
                on_failure,
            } => exec(committer, &cmd, batch, timeout, on_failure),
            MemberOutput::Stdout => Delivery::stdout(o.format.clone(), committer)?,
            MemberOutput::Stream {
                cmd,
                batch,
                timeout,
                on_failure,
                to,
                parse,
                acks,
                compression,
                lock_timeout,
            } => {
                let output = crate::stream::StreamOutput::new(
                    &self.cluster,
                    &g,
                    crate::stream::StreamOptions {
                        to,
                        parse,
                        acks,
                        compression,
                        lock_timeout,
                    },
                )?;
                exec(committer, &cmd, batch, timeout, on_failure).with_output(Box::new(output))
            }
        };
        let gopts = GroupOptions {
            group: g,
            topics: o.topics,
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
                // The user named it in --on-failure dead-letter=TOPIC: created if missing.
                ProducerOptions::new(true),
            )?;
            Ok(Box::new(p) as Box<dyn RecordProducer>)
        })
    }
}

struct LocalConsumer {
    consumer: Consumer,
    waker: Option<Waker>,
    warnings: Vec<String>,
    grow: Option<Grow>,
}

/// A following consumer's patterns, matched again whenever the metadata changes.
struct Grow {
    cluster: Cluster,
    topics: Subscription,
    opts: ConsumeOptions,
    /// The metadata file as last matched.
    stamp: Option<FileStamp>,
}

impl LocalConsumer {
    /// Open the topics created since the last look that a pattern matches. They did not exist
    /// when reading began, so all of their records are new: they are read from the beginning
    /// (`--since` and `--until` still apply).
    fn pick_up_topics(&mut self) -> Result<()> {
        let Some(g) = &mut self.grow else {
            return Ok(());
        };
        let now = TopicWatch::stamp_now(&g.cluster);
        if now == g.stamp {
            return Ok(());
        }
        g.stamp = now;
        let md = g.cluster.metadata()?;
        let known: Vec<String> = self.consumer.topics().map(str::to_string).collect();
        let mut o = g.opts.clone();
        o.from = StartFrom::Beginning;
        for t in g.topics.resolve(md.topics.keys().map(String::as_str)) {
            if known.contains(&t) {
                continue;
            }
            let before = self.consumer.cursors.len();
            self.consumer
                .open_topic(&g.cluster, &md, &t, &o, &|_, _| None)?;
            let dirs: Vec<_> = self.consumer.cursors[before..]
                .iter()
                .flat_map(|c| c.watch.iter().cloned())
                .collect();
            if let Some(w) = self.waker.as_mut().and_then(|w| w.watch(&dirs)) {
                self.warnings.push(w);
            }
        }
        self.warnings.append(&mut self.consumer.warnings);
        Ok(())
    }
}

impl RecordConsumer for LocalConsumer {
    fn warnings(&mut self) -> Vec<String> {
        // The reader's own, from its last poll too (retention passing its position).
        self.warnings.append(&mut self.consumer.warnings);
        std::mem::take(&mut self.warnings)
    }
    fn poll(&mut self, sink: &mut dyn RecordSink) -> Result<u64> {
        self.pick_up_topics()?;
        self.consumer.poll(sink)
    }
    fn poll_at_most(&mut self, sink: &mut dyn RecordSink, n: u64) -> Result<u64> {
        self.pick_up_topics()?;
        // The consumer's own limit (-n) is the tool: it stops after the record in hand.
        let own = self.consumer.max;
        let cap = self.consumer.delivered.saturating_add(n);
        self.consumer.max = Some(own.map_or(cap, |m| m.min(cap)));
        let r = self.consumer.poll(sink);
        self.consumer.max = own;
        r
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
