//! [`Backend`](super::Backend) on a Kafka cluster, through librdkafka (the `rdkafka` crate):
//! the same commands, flags, output and exit codes as on a root (docs/kafka.md). Built with
//! the `kafka` cargo feature (on by default); without it, `-b` says so.

pub mod settings;

pub use settings::KafkaSettings;

#[cfg(feature = "kafka")]
mod consume;
#[cfg(feature = "kafka")]
mod errors;
#[cfg(feature = "kafka")]
mod ffi;
#[cfg(feature = "kafka")]
mod group;
#[cfg(feature = "kafka")]
mod groups;
#[cfg(feature = "kafka")]
pub mod mirror;
#[cfg(feature = "kafka")]
mod parts;
#[cfg(feature = "kafka")]
mod produce;
#[cfg(feature = "kafka")]
mod topics;

/// `cluster status` on Kafka: what the cluster says of itself.
#[derive(Debug, serde::Serialize)]
pub struct ClusterStatus {
    pub cluster_id: String,
    /// The active controller's node id.
    pub controller: Option<i32>,
    /// (id, host:port)
    pub brokers: Vec<(i32, String)>,
    pub under_replicated: Vec<String>,
    pub offline: Vec<String>,
}

#[cfg(not(feature = "kafka"))]
pub fn status(_: &KafkaSettings) -> crate::error::Result<ClusterStatus> {
    connect(&KafkaSettings {
        bootstrap: String::new(),
        properties: Vec::new(),
    })
    .map(|_| unreachable!("connect fails without the kafka feature"))
}

#[cfg(not(feature = "kafka"))]
pub fn connect(_: &KafkaSettings) -> crate::error::Result<Box<dyn super::Backend>> {
    Err(crate::error::Error::Usage(
        "this chute was built without Kafka support (cargo feature \"kafka\")".into(),
    ))
}

#[cfg(feature = "kafka")]
pub use errors::forget as forget_noted_errors;
#[cfg(feature = "kafka")]
pub use imp::{Kafka, connect, status};

/// Whether topic config `key` (chute's name) has a Kafka counterpart: a mirror copies those.
#[cfg(feature = "kafka")]
pub fn has_kafka_name(key: &str) -> bool {
    topics::kafka_name(key).is_ok()
}
#[cfg(feature = "kafka")]
use imp::{client_config, close_consumer, close_within, closed_within, wait};

#[cfg(feature = "kafka")]
mod imp {
    use super::errors::{Noting, from_code, from_kafka};
    use super::{KafkaSettings, consume, produce, topics};
    use crate::client::{
        Backend, GroupDescription, GroupSummary, MemberOptions, RecordConsumer, RecordProducer,
        TopicSummary,
    };
    use crate::consume::{ConsumeOptions, Subscription};
    use crate::error::{Error, Result};
    use crate::group::admin::{PartitionStatus, ResetPlan, ResetTo};
    use crate::produce::ProducerOptions;
    use crate::topics::{
        AlterOptions, CreateOptions, Created, Description, PartitionOffsets, PartitionState,
    };
    use rdkafka::admin::{
        AdminClient, AdminOptions, AlterConfig, NewPartitions, NewTopic, ResourceSpecifier,
        TopicReplication,
    };
    use rdkafka::config::ClientConfig;
    use rdkafka::consumer::{BaseConsumer, Consumer};
    use rdkafka::{Offset, TopicPartitionList};
    use std::collections::BTreeMap;
    use std::time::Duration;

    /// The client settings every connection starts from: the servers, then `-X` (applied
    /// last by each client, so the user's properties win).
    pub(super) fn client_config(s: &KafkaSettings) -> ClientConfig {
        let mut cfg = ClientConfig::new();
        cfg.set("bootstrap.servers", &s.bootstrap)
            .set("client.id", "chute")
            // One request's limit (librdkafka's default is a minute): a command that waits
            // on a cluster that does not answer says so sooner.
            .set("socket.timeout.ms", "10000")
            // Connect to every broker at once: with sparse connections librdkafka 2.12 leaves
            // a broker it learned from metadata idle for some 40 ms before connecting, which
            // was most of a short command's time (`offsets -t` 55 ms, 8 ms without; a cron
            // group run 205 ms, 129 ms without). One connection per broker is what a
            // producer or consumer of several partitions opens anyway.
            .set("enable.sparse.connections", "false")
            // librdkafka logs to stderr by itself; errors reach chute as results instead.
            .set("log_level", "3");
        cfg
    }

    /// Drop (close) a client on a thread of its own, waiting at most `limit`: librdkafka's
    /// close waits for the cluster, for ever if a broker stopped answering without closing
    /// its connections, and a command must always exit. Past the limit the thread is left
    /// behind (the process ends soon after), and the group notices the member's absence
    /// by its session timeout instead of its leaving.
    pub(super) fn close_within(
        close: impl FnOnce() + Send + 'static,
        limit: Duration,
        what: &str,
        warn: &mut dyn FnMut(String),
    ) {
        let (tx, rx) = std::sync::mpsc::channel();
        let spawned = std::thread::Builder::new()
            .name("kafka-close".into())
            .spawn(move || {
                close();
                let _ = tx.send(());
            });
        if spawned.is_ok() && rx.recv_timeout(limit).is_err() {
            warn(format!(
                "{what}: the Kafka client did not close within {}; leaving without it",
                humantime::format_duration(limit)
            ));
        }
    }

    /// Close a consumer that has a group id without the crate's drop, which serves the close
    /// in polls of 100 ms that each wait out their whole time (a tenth of a second added to
    /// every `consume -n 1`, cron run and `offsets -g`): ask for the close, serve its events in
    /// 1 ms steps until it is closed or `limit` passes, and only then drop it. One still open
    /// after `limit` is left to the process's exit: its drop would wait for the cluster
    /// without a limit.
    pub(super) fn close_consumer<C: rdkafka::consumer::ConsumerContext>(
        c: BaseConsumer<C>,
        limit: Duration,
    ) {
        if closed_within(&c, limit) {
            drop(c);
        } else {
            std::mem::forget(c);
        }
    }

    /// The close of [`close_consumer`] for a consumer the caller keeps: true once closed (or
    /// when the close could not even be asked, which the crate's drop then skips too).
    pub(super) fn closed_within<C: rdkafka::consumer::ConsumerContext>(
        c: &BaseConsumer<C>,
        limit: Duration,
    ) -> bool {
        if c.close_queue().is_err() {
            return true;
        }
        let deadline = std::time::Instant::now() + limit;
        loop {
            let _ = c.poll(Duration::ZERO);
            if c.closed() {
                return true;
            }
            if std::time::Instant::now() >= deadline {
                return false;
            }
            std::thread::sleep(Duration::from_millis(1));
        }
    }

    pub struct Kafka {
        pub(super) settings: KafkaSettings,
        /// How long one request to the cluster may take before it counts as unreachable.
        pub(super) timeout: Duration,
        /// For metadata, watermarks and offsets by time (no group, no subscription). Made on
        /// first use: `produce` asks its own client instead, sparing a client and its two
        /// connections (a third of a one-record run's time).
        meta: std::cell::OnceCell<BaseConsumer<Noting>>,
        /// Made on first use: a client costs a thread and a connection, and closing one
        /// waits out its poll interval, which produce and consume need not pay.
        admin: std::cell::OnceCell<AdminClient<Noting>>,
    }

    pub fn connect(s: &KafkaSettings) -> Result<Box<dyn Backend>> {
        Ok(Box::new(Kafka::new(s)?))
    }

    /// Brokers and controller (DescribeCluster), partitions without a leader or with fewer
    /// in-sync replicas than replicas (metadata).
    pub fn status(s: &KafkaSettings) -> Result<super::ClusterStatus> {
        let k = Kafka::new(s)?;
        let view = super::ffi::describe_cluster(k.admin()?.inner(), k.timeout)?;
        let md = k
            .meta()?
            .fetch_metadata(None, k.timeout)
            .map_err(|e| k.unreachable(&e, "reading metadata"))?;
        let mut under = Vec::new();
        let mut offline = Vec::new();
        for t in md.topics() {
            for p in t.partitions() {
                let name = format!("{}-{}", t.name(), p.id());
                if p.leader() < 0 {
                    offline.push(name);
                } else if p.isr().len() < p.replicas().len() {
                    under.push(name);
                }
            }
        }
        under.sort();
        offline.sort();
        Ok(super::ClusterStatus {
            cluster_id: view.cluster_id,
            controller: view.controller,
            brokers: view.brokers,
            under_replicated: under,
            offline,
        })
    }

    /// Block on one admin request (librdkafka answers it on its own thread).
    pub(super) fn wait<F: std::future::Future>(f: F) -> F::Output {
        futures_executor::block_on(f)
    }

    impl Drop for Kafka {
        fn drop(&mut self) {
            // The admin client's drop joins its polling thread, which sleeps in 100 ms polls:
            // a tenth of a second on every `offsets -g`. Dropped on a thread of its own, it
            // costs a command nothing (the process does not wait for it) and a long-lived
            // mirror still frees it.
            if let Some(a) = self.admin.take() {
                let _ = std::thread::Builder::new()
                    .name("kafka-admin-close".into())
                    .spawn(move || drop(a));
            }
        }
    }

    impl Kafka {
        pub fn new(s: &KafkaSettings) -> Result<Kafka> {
            let timeout = Duration::from_millis(
                s.property("socket.timeout.ms")
                    .and_then(|v| v.parse().ok())
                    .unwrap_or(10_000),
            );
            Ok(Kafka {
                settings: s.clone(),
                timeout,
                meta: std::cell::OnceCell::new(),
                admin: std::cell::OnceCell::new(),
            })
        }

        pub(super) fn meta(&self) -> Result<&BaseConsumer<Noting>> {
            self.made(&self.meta, "Kafka client")
        }

        pub(super) fn admin(&self) -> Result<&AdminClient<Noting>> {
            self.made(&self.admin, "Kafka admin client")
        }

        /// The client in `cell`, made on first use from the settings with `-X` applied.
        fn made<'a, T: rdkafka::config::FromClientConfigAndContext<Noting>>(
            &self,
            cell: &'a std::cell::OnceCell<T>,
            what: &str,
        ) -> Result<&'a T> {
            if let Some(c) = cell.get() {
                return Ok(c);
            }
            let mut cfg = client_config(&self.settings);
            for (k, v) in &self.settings.properties {
                cfg.set(k, v);
            }
            let c = cfg
                .create_with_context(Noting)
                .map_err(|e| from_kafka(&e, what))?;
            Ok(cell.get_or_init(|| c))
        }

        pub(super) fn admin_options(&self) -> AdminOptions {
            AdminOptions::new()
                .request_timeout(Some(self.timeout))
                .operation_timeout(Some(self.timeout))
        }

        fn unreachable(&self, e: &rdkafka::error::KafkaError, what: &str) -> Error {
            // Serve the client's events first: a failed TLS handshake or login is reported
            // there, and the error then says so.
            if let Some(m) = self.meta.get() {
                for _ in 0..64 {
                    if m.poll(Duration::ZERO).is_none() {
                        break;
                    }
                }
            }
            from_kafka(
                e,
                &format!("{what} (Kafka cluster {})", self.settings.bootstrap),
            )
        }

        /// Every topic (internal ones aside) with its partition count.
        pub(super) fn topics(&self) -> Result<BTreeMap<String, u32>> {
            Ok(self
                .list_topics()?
                .into_iter()
                .map(|t| (t.name, t.partitions))
                .collect())
        }

        /// The partition count of `topic` (NotFound when it does not exist).
        pub(super) fn partition_count(&self, topic: &str) -> Result<u32> {
            self.partition_count_on(self.meta()?.client(), topic)
        }

        /// The same, asked through a client the caller already has.
        pub(super) fn partition_count_on<C: rdkafka::ClientContext>(
            &self,
            client: &rdkafka::client::Client<C>,
            topic: &str,
        ) -> Result<u32> {
            let md = client
                .fetch_metadata(Some(topic), self.timeout)
                .map_err(|e| self.unreachable(&e, &format!("topic {topic}")))?;
            let t = md
                .topics()
                .iter()
                .find(|t| t.name() == topic)
                .ok_or_else(|| self.unknown(topic))?;
            match t.error() {
                None if !t.partitions().is_empty() => Ok(t.partitions().len() as u32),
                None => Err(self.unknown(topic)),
                Some(code) => match rdkafka::error::RDKafkaErrorCode::from(code) {
                    rdkafka::error::RDKafkaErrorCode::UnknownTopicOrPartition => {
                        Err(self.unknown(topic))
                    }
                    c => Err(from_code(c, &format!("topic {topic}"))),
                },
            }
        }

        fn unknown(&self, topic: &str) -> Error {
            Error::NotFound(format!(
                "unknown topic {topic:?} (Kafka cluster {})",
                self.settings.bootstrap
            ))
        }

        /// A topic created just now shows in metadata a moment later.
        pub(super) fn await_partition_count_on<C: rdkafka::ClientContext>(
            &self,
            client: &rdkafka::client::Client<C>,
            topic: &str,
        ) -> Result<u32> {
            let deadline = std::time::Instant::now() + self.timeout;
            loop {
                match self.partition_count_on(client, topic) {
                    Err(Error::NotFound(_)) if std::time::Instant::now() < deadline => {
                        std::thread::sleep(Duration::from_millis(50));
                    }
                    r => return r,
                }
            }
        }

        /// `produce --create` of a missing topic: the broker's defaults for partitions and
        /// replication factor (num.partitions, default.replication.factor).
        pub(super) fn create_default(&self, topic: &str) -> Result<()> {
            let t = NewTopic::new(topic, -1, TopicReplication::Fixed(-1));
            self.create(&t, true)
        }

        fn create(&self, t: &NewTopic<'_>, if_not_exists: bool) -> Result<()> {
            let r = wait(self.admin()?.create_topics([t], &self.admin_options()))
                .map_err(|e| self.unreachable(&e, &format!("creating topic {}", t.name)))?;
            for x in r {
                match x {
                    Ok(_) => {}
                    Err((_, rdkafka::error::RDKafkaErrorCode::TopicAlreadyExists))
                        if if_not_exists => {}
                    Err((name, rdkafka::error::RDKafkaErrorCode::TopicAlreadyExists)) => {
                        return Err(Error::Usage(format!("topic {name:?} already exists")));
                    }
                    Err((name, c)) => return Err(from_code(c, &format!("creating topic {name}"))),
                }
            }
            Ok(())
        }

        /// The first offset at or after `ts` in `topic`-`p` (None: none that late).
        pub(super) fn offset_for_time(&self, topic: &str, p: u32, ts: i64) -> Result<Option<i64>> {
            let mut tpl = TopicPartitionList::new();
            tpl.add_partition_offset(topic, p as i32, Offset::Offset(ts))
                .map_err(|e| from_kafka(&e, topic))?;
            let r = self
                .meta()?
                .offsets_for_times(tpl, self.timeout)
                .map_err(|e| self.unreachable(&e, &format!("partition {topic}-{p}")))?;
            let e = r.find_partition(topic, p as i32);
            Ok(match e.map(|e| e.offset()) {
                Some(Offset::Offset(o)) if o >= 0 => Some(o),
                _ => None,
            })
        }

        pub(super) fn watermarks(&self, topic: &str, p: u32) -> Result<(i64, i64)> {
            self.meta()?
                .fetch_watermarks(topic, p as i32, self.timeout)
                .map_err(|e| self.unreachable(&e, &format!("partition {topic}-{p}")))
        }

        /// Every config entry of `topic`, as Kafka describes it.
        fn config_entries(&self, topic: &str) -> Result<Vec<rdkafka::admin::ConfigEntry>> {
            let r = wait(
                self.admin()?
                    .describe_configs([&ResourceSpecifier::Topic(topic)], &self.admin_options()),
            )
            .map_err(|e| self.unreachable(&e, &format!("topic {topic} configs")))?;
            let res = r
                .into_iter()
                .next()
                .ok_or_else(|| Error::Other(format!("topic {topic}: no configs returned")))?
                .map_err(|c| from_code(c, &format!("topic {topic} configs")))?;
            Ok(res.entries)
        }

        fn configs(&self, topic: &str) -> Result<(crate::cluster::config::Overrides, Vec<String>)> {
            let entries = self.config_entries(topic)?;
            Ok(topics::from_kafka(entries.iter().map(|e| {
                (
                    e.name.as_str(),
                    e.value.as_deref(),
                    matches!(e.source, rdkafka::admin::ConfigSource::DynamicTopic),
                )
            })))
        }

        /// `--on-failure dead-letter=TOPIC`: a producer on this cluster (the topic is created
        /// with the broker's defaults if missing: the user named it).
        pub(super) fn dead_letter_producer(&self) -> crate::group::deliver::OpenProducer {
            let settings = self.settings.clone();
            std::rc::Rc::new(move |topic: &str| {
                let k = Kafka::new(&settings)?;
                let (p, _) = produce::KafkaProducer::open(&k, topic, ProducerOptions::new(true))?;
                Ok(Box::new(p) as Box<dyn RecordProducer>)
            })
        }
    }

    impl Backend for Kafka {
        fn create_topic(&self, name: &str, o: CreateOptions) -> Result<Created> {
            crate::names::topic(name)?;
            let configs = topics::to_kafka(&o.config)?;
            let mut t = NewTopic::new(
                name,
                o.partitions as i32,
                // 0: the cluster's default.replication.factor (-1 in CreateTopics).
                TopicReplication::Fixed(match o.replication_factor {
                    0 => -1,
                    n => n as i32,
                }),
            );
            for (k, v) in &configs {
                t = t.set(k, v);
            }
            let existed = self.partition_count(name).is_ok();
            self.create(&t, o.if_not_exists)?;
            // The controller answers before every broker's metadata shows the topic: a
            // `produce -t` right after `topic create` must find it.
            if !existed {
                self.await_partition_count_on(self.meta()?.client(), name)?;
            }
            Ok(Created {
                created: !existed,
                warnings: Vec::new(),
            })
        }

        fn list_topics(&self) -> Result<Vec<TopicSummary>> {
            let md = self
                .meta()?
                .fetch_metadata(None, self.timeout)
                .map_err(|e| self.unreachable(&e, "listing topics"))?;
            Ok(md
                .topics()
                .iter()
                .filter(|t| !t.name().starts_with("__") && t.error().is_none())
                .map(|t| {
                    let s = TopicSummary {
                        name: t.name().to_string(),
                        partitions: t.partitions().len() as u32,
                        replication_factor: t
                            .partitions()
                            .first()
                            .map_or(0, |p| p.replicas().len() as u32),
                    };
                    (s.name.clone(), s)
                })
                .collect::<BTreeMap<_, _>>()
                .into_values()
                .collect())
        }

        fn describe_topic(&self, name: &str) -> Result<Description> {
            let md = self
                .meta()?
                .fetch_metadata(Some(name), self.timeout)
                .map_err(|e| self.unreachable(&e, &format!("topic {name}")))?;
            let t = md
                .topics()
                .iter()
                .find(|t| t.name() == name && t.error().is_none() && !t.partitions().is_empty())
                .ok_or_else(|| self.unknown(name))?;
            let mut partitions = Vec::new();
            for p in t.partitions() {
                let (low, high) = self.watermarks(name, p.id() as u32)?;
                partitions.push(PartitionState {
                    partition: p.id() as u32,
                    leader: u32::try_from(p.leader()).ok(),
                    leader_epoch: 0,
                    replicas: p.replicas().iter().map(|&b| b as u32).collect(),
                    isr: p.isr().iter().map(|&b| b as u32).collect(),
                    log_start_offset: Some(low as u64),
                    high_watermark: Some(high as u64),
                    log_end_offset: Some(high as u64),
                    size_on_disk: None,
                    adding: Vec::new(),
                    removing: Vec::new(),
                    over_retention: false,
                });
            }
            partitions.sort_by_key(|p| p.partition);
            let (overrides, set) = self.configs(name)?;
            let mut config = crate::cluster::config::TopicConfig::to_json(&overrides);
            config.retain(|k, _| topics::kafka_name(k).is_ok());
            Ok(Description {
                name: name.to_string(),
                config,
                overrides: set,
                partitions,
            })
        }

        fn alter_topic(&self, name: &str, o: AlterOptions) -> Result<()> {
            let current = self.partition_count(name)?;
            let set = topics::to_kafka(&o.config)?;
            let mut unset = Vec::new();
            for k in &o.delete_config {
                let key = crate::cluster::config::canonical_key(k).ok_or_else(|| {
                    Error::Usage(format!("--delete-config {k}: unknown config key"))
                })?;
                unset.push(topics::kafka_name(key)?);
            }
            if let Some(n) = o.partitions {
                if n < current {
                    return Err(Error::Usage(format!(
                        "-p {n}: topic {name:?} has {current} partitions; Kafka cannot take partitions away"
                    )));
                }
                if n > current {
                    let r = wait(self.admin()?.create_partitions(
                        [&NewPartitions::new(name, n as usize)],
                        &self.admin_options(),
                    ))
                    .map_err(|e| self.unreachable(&e, &format!("topic {name}")))?;
                    for x in r {
                        x.map_err(|(t, c)| from_code(c, &format!("adding partitions to {t}")))?;
                    }
                }
            }
            if set.is_empty() && unset.is_empty() {
                return Ok(());
            }
            // AlterConfigs replaces a topic's whole set: start from what is set on it now.
            let mut keep: BTreeMap<String, String> = self
                .config_entries(name)?
                .iter()
                .filter(|e| matches!(e.source, rdkafka::admin::ConfigSource::DynamicTopic))
                .filter_map(|e| Some((e.name.clone(), e.value.clone()?)))
                .collect();
            for k in unset {
                keep.remove(k);
            }
            for (k, v) in set {
                keep.insert(k.to_string(), v);
            }
            let mut alter = AlterConfig::new(ResourceSpecifier::Topic(name));
            for (k, v) in &keep {
                alter = alter.set(k, v);
            }
            let r = wait(self.admin()?.alter_configs([&alter], &self.admin_options()))
                .map_err(|e| self.unreachable(&e, &format!("topic {name} configs")))?;
            for x in r {
                x.map_err(|(_, c)| from_code(c, &format!("changing configs of topic {name}")))?;
            }
            Ok(())
        }

        fn delete_topic(&self, name: &str, _lock_timeout: Duration) -> Result<()> {
            self.partition_count(name)?;
            let r = wait(self.admin()?.delete_topics(&[name], &self.admin_options()))
                .map_err(|e| self.unreachable(&e, &format!("deleting topic {name}")))?;
            for x in r {
                x.map_err(|(t, c)| from_code(c, &format!("deleting topic {t}")))?;
            }
            Ok(())
        }

        fn topic_offsets(&self, name: &str, at: Option<i64>) -> Result<Vec<PartitionOffsets>> {
            let n = self.partition_count(name)?;
            let mut out = Vec::new();
            for p in 0..n {
                let (low, high) = self.watermarks(name, p)?;
                let at_time = match at {
                    Some(ts) => Some(self.offset_for_time(name, p, ts)?.unwrap_or(high) as u64),
                    None => None,
                };
                out.push(PartitionOffsets {
                    partition: p,
                    earliest: low as u64,
                    latest: high as u64,
                    at_time,
                });
            }
            Ok(out)
        }

        fn producer(
            &self,
            topic: &str,
            o: ProducerOptions,
        ) -> Result<(Box<dyn RecordProducer>, bool)> {
            let (p, created) = produce::KafkaProducer::open(self, topic, o)?;
            Ok((Box::new(p), created))
        }

        fn consumer(
            &self,
            topics: &Subscription,
            o: &ConsumeOptions,
        ) -> Result<Box<dyn RecordConsumer>> {
            Ok(Box::new(consume::KafkaConsumer::open(
                self, topics, o, None,
            )?))
        }

        fn consumer_at(
            &self,
            topics: &Subscription,
            o: &ConsumeOptions,
            start: &dyn Fn(&str, u32) -> Option<u64>,
        ) -> Result<Box<dyn RecordConsumer>> {
            Ok(Box::new(consume::KafkaConsumer::open(
                self,
                topics,
                o,
                Some(start),
            )?))
        }

        fn list_groups(&self) -> Result<Vec<GroupSummary>> {
            Kafka::list_groups(self)
        }

        fn describe_group(&self, group: &str) -> Result<GroupDescription> {
            Kafka::describe_group(self, group)
        }

        fn group_offsets(&self, group: &str, topic: Option<&str>) -> Result<Vec<PartitionStatus>> {
            Kafka::group_offsets(self, group, topic)
        }

        fn reset_group_offsets(
            &self,
            group: &str,
            topic: &str,
            partitions: &[u32],
            to: &ResetTo,
            execute: bool,
        ) -> Result<Vec<ResetPlan>> {
            Kafka::reset_group_offsets(self, group, topic, partitions, to, execute)
        }

        fn delete_group(&self, group: &str) -> Result<()> {
            Kafka::delete_group(self, group)
        }

        fn run_group_member(&self, o: MemberOptions, warn: &mut dyn FnMut(String)) -> Result<u64> {
            super::group::run(self, o, warn)
        }
    }
}
