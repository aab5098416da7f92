//! `chute mirror`: topics of this root copied to a Kafka cluster, each record once and in
//! order per partition, through restarts, kills and outages (docs/mirror.md).
//!
//! A session takes over the mirror's Kafka transactions (fencing any earlier writer of its
//! name), reads the positions the last committed transaction left, and reads the root from
//! there; every batch of records goes out in one transaction with the positions it reached.
//! When the cluster cannot be reached the session ends, the mirror waits (1 s, doubling to
//! 30 s) and starts a new one; nothing a failed session wrote is visible, since its
//! transaction never committed.

use crate::consume::Subscription;
use crate::error::{Error, Result};
use std::collections::BTreeMap;
use std::time::Duration;

/// What to copy, and how.
#[derive(Clone, Debug)]
pub struct MirrorOptions {
    pub topics: Subscription,
    /// `SOURCE=DEST` topic names; other topics keep theirs.
    pub rename: Vec<(String, String)>,
    /// Names the mirror's transactions and positions on the cluster.
    pub name: String,
    /// Keep copying what arrives, until stopped; otherwise stop at the ends as of the start.
    pub follow: bool,
    /// Records per transaction, at most.
    pub batch_records: u64,
    /// Replication factor of topics the mirror creates (None: the cluster's default).
    pub replication_factor: Option<u32>,
    /// Give up when the cluster has been unreachable this long (None: never).
    pub retry_for: Option<Duration>,
    /// Copy into destinations that hold records this mirror did not write.
    pub append: bool,
}

/// A destination that already holds records, where the mirror has no positions, is refused
/// unless `--append`: it is most often a mirror that ran under another name (the default name
/// holds the host's name), and copying again would duplicate everything.
#[cfg(feature = "kafka")]
fn check_unclaimed(
    o: &MirrorOptions,
    dest: &dyn crate::client::Backend,
    dest_topic: &str,
    source: &str,
    on: &str,
) -> Result<()> {
    if o.append {
        return Ok(());
    }
    let held: u64 = dest
        .topic_offsets(dest_topic, None)?
        .iter()
        .map(|p| p.latest.saturating_sub(p.earliest))
        .sum();
    // Offsets in use are not records: a transaction of this mirror that never committed (a
    // kill before its first commit) leaves aborted records and markers, which readers skip.
    if held == 0 || !holds_a_record(dest, dest_topic)? {
        return Ok(());
    }
    Err(Error::Usage(format!(
        "topic {dest_topic} on {on} is not empty ({held} offset(s) in use), and mirror {} has no positions for {source} there: another mirror name copied them (the default name is HOST.ROOTDIR: did the host or the root's directory change? give the --name that copied them), or they came from elsewhere (--append copies {source} after them)",
        o.name
    )))
}

/// Whether `topic` holds a record a reader sees (read_committed on Kafka).
#[cfg(feature = "kafka")]
fn holds_a_record(b: &dyn crate::client::Backend, topic: &str) -> Result<bool> {
    struct Any(bool);
    impl crate::record::RecordSink for Any {
        fn record(&mut self, _: &crate::record::ConsumedRecord<'_>) -> Result<()> {
            self.0 = true;
            Ok(())
        }
    }
    let o = crate::consume::ConsumeOptions {
        partitions: None,
        from: crate::consume::StartFrom::Beginning,
        since: None,
        until: None,
        max: Some(1),
        follow: false,
    };
    let mut c = b.consumer(&Subscription::parse(&[topic.to_string()])?, &o)?;
    let mut any = Any(false);
    while !any.0 && !c.finished() {
        if c.poll(&mut any)? == 0 && !c.finished() {
            c.wait(Duration::from_millis(50));
        }
    }
    Ok(any.0)
}

/// How a session reads its source: every partition from the positions it was given (the
/// first offset where there is none), to the ends as of the start unless following.
pub fn resuming(o: &MirrorOptions) -> crate::consume::ConsumeOptions {
    crate::consume::ConsumeOptions {
        partitions: None,
        from: crate::consume::StartFrom::Stored,
        since: None,
        until: None,
        max: None,
        follow: o.follow,
    }
}

/// A destination topic's name: the source's, or what `--rename` says.
pub fn dest_name<'a>(rename: &'a [(String, String)], source: &'a str) -> &'a str {
    rename
        .iter()
        .find(|(s, _)| s == source)
        .map_or(source, |(_, d)| d.as_str())
}

/// `--rename` checked: valid names, each source once, no two sources onto one destination.
pub fn check_rename(rename: &[(String, String)]) -> Result<()> {
    let mut seen: BTreeMap<&str, &str> = BTreeMap::new();
    for (s, d) in rename {
        crate::names::topic(s)?;
        crate::names::topic(d)?;
        if rename.iter().filter(|(x, _)| x == s).count() > 1 {
            return Err(Error::Usage(format!("--rename names {s:?} twice")));
        }
        if let Some(other) = seen.insert(d, s) {
            return Err(Error::Usage(format!(
                "--rename sends both {other:?} and {s:?} to {d:?}: a topic mirrors one topic"
            )));
        }
    }
    Ok(())
}

/// One topic's figures.
#[derive(Debug, Clone, Default, serde::Serialize)]
pub struct TopicTotals {
    pub to: String,
    pub partitions: u32,
    /// Records copied by this run.
    pub records: u64,
    pub created: bool,
}

/// Where each partition of a source topic resumes: the offset of its first record not copied.
pub type Positions = BTreeMap<u32, u64>;

/// What a run did, for `--json` and the last line.
#[derive(Debug, Clone, Default, serde::Serialize)]
pub struct Summary {
    pub name: String,
    pub records: u64,
    pub transactions: u64,
    /// Sessions after the first (each after the cluster could not be reached for a while).
    pub restarts: u64,
    pub topics: BTreeMap<String, TopicTotals>,
    /// Each source topic's positions: as of the last commit while running, when the run
    /// ended after (for `--groups`).
    #[serde(skip)]
    pub positions: BTreeMap<String, Positions>,
    /// Each source partition's end as last seen (for the status file's lag).
    #[serde(skip)]
    pub ends: BTreeMap<String, Positions>,
}

/// What the mirror tells whoever runs it, as it happens.
pub enum Event<'a> {
    /// A transaction committed; `behind` is what the root holds beyond the positions.
    Committed { summary: &'a Summary, behind: u64 },
    /// A session failed with an error worth waiting out; the next starts after `retry_in`.
    Waiting {
        summary: &'a Summary,
        error: &'a Error,
        retry_in: Duration,
        behind: Option<u64>,
    },
    /// A session reached the cluster and is about to copy (after a wait: the outage is over).
    Resumed { summary: &'a Summary },
    /// A destination topic was created.
    Created { source: &'a str, dest: &'a str },
    /// Something the operator must hear about that does not stop the mirror (records
    /// retention deleted before they were copied, a source topic created again).
    Warning(&'a str),
}

/// Run `session` until it finishes, starting a new one after each failure worth waiting out
/// (exit 75's kind: the cluster could not be reached or did not answer): 1 s, doubling to
/// 30 s, back to 1 s after a session that committed; `--retry-for` bounds the time without
/// progress. A stop asked for while waiting ends the run as done (its last commit stands).
/// One session of a mirror: it adds to the summary and reports as it goes.
#[cfg(feature = "kafka")]
type Session<'a> = dyn FnMut(&mut Summary, &mut dyn FnMut(Event<'_>)) -> Result<()> + 'a;

#[cfg(feature = "kafka")]
fn retrying(
    o: &MirrorOptions,
    status: &mut status::Reporter,
    on: &mut dyn FnMut(Event<'_>),
    session: &mut Session<'_>,
    behind: &dyn Fn(&Summary) -> Option<u64>,
) -> Result<Summary> {
    check_rename(&o.rename)?;
    // The name becomes a group (chute-mirror.NAME) and a producer id (mirror.NAME).
    crate::names::group(&format!("chute-mirror.{}", o.name))
        .map_err(|e| Error::Usage(format!("--name {:?}: {e}", o.name)))?;
    status.started();
    let r = sessions(
        o,
        &mut |e| {
            status.event(&e);
            on(e);
            if let Some(w) = status.take_warning() {
                on(Event::Warning(&w));
            }
        },
        session,
        behind,
    );
    status.ended(&r);
    r
}

#[cfg(feature = "kafka")]
fn sessions(
    o: &MirrorOptions,
    on: &mut dyn FnMut(Event<'_>),
    session: &mut Session<'_>,
    behind: &dyn Fn(&Summary) -> Option<u64>,
) -> Result<Summary> {
    use crate::signals::stop_requested;
    use std::time::Instant;
    const MAX_BACKOFF: Duration = Duration::from_secs(30);
    let mut summary = Summary {
        name: o.name.clone(),
        ..Summary::default()
    };
    let mut backoff = Duration::from_secs(1);
    let mut stuck_since = Instant::now();
    loop {
        let before = summary.transactions;
        crate::client::kafka::forget_noted_errors();
        match session(&mut summary, on) {
            Ok(()) => return Ok(summary),
            Err(e) if e.exit_code() == crate::error::exit::TEMPFAIL && !stop_requested() => {
                if summary.transactions > before {
                    backoff = Duration::from_secs(1);
                    stuck_since = Instant::now();
                }
                if o.retry_for
                    .is_some_and(|limit| stuck_since.elapsed() >= limit)
                {
                    return Err(e);
                }
                on(Event::Waiting {
                    summary: &summary,
                    error: &e,
                    retry_in: backoff,
                    behind: behind(&summary),
                });
                let until = Instant::now() + backoff;
                while Instant::now() < until && !stop_requested() {
                    std::thread::sleep(Duration::from_millis(50));
                }
                if stop_requested() {
                    return Ok(summary);
                }
                backoff = (backoff * 2).min(MAX_BACKOFF);
                summary.restarts += 1;
            }
            Err(e) => return Err(e),
        }
    }
}

pub mod groups;
#[cfg(feature = "kafka")]
mod status;

#[cfg(feature = "kafka")]
mod from_kafka;
#[cfg(feature = "kafka")]
mod to_kafka;

#[cfg(feature = "kafka")]
pub use from_kafka::from_kafka;

#[cfg(feature = "kafka")]
pub use to_kafka::to_kafka;

#[cfg(not(feature = "kafka"))]
pub fn from_kafka(
    _: &crate::client::kafka::KafkaSettings,
    _: &crate::cluster::Cluster,
    _: &MirrorOptions,
    _: &mut dyn FnMut(Event<'_>),
) -> Result<Summary> {
    Err(Error::Usage(
        "this chute was built without Kafka support (cargo feature \"kafka\")".into(),
    ))
}

#[cfg(not(feature = "kafka"))]
pub fn to_kafka(
    _: &crate::cluster::Cluster,
    _: &crate::client::kafka::KafkaSettings,
    _: &MirrorOptions,
    _: &mut dyn FnMut(Event<'_>),
) -> Result<Summary> {
    Err(Error::Usage(
        "this chute was built without Kafka support (cargo feature \"kafka\")".into(),
    ))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn renames_are_one_to_one() {
        let r = |v: &[(&str, &str)]| -> Vec<(String, String)> {
            v.iter()
                .map(|(a, b)| (a.to_string(), b.to_string()))
                .collect()
        };
        let ok = r(&[("orders", "dc1.orders"), ("logs", "dc1.logs")]);
        check_rename(&ok).unwrap();
        assert_eq!(dest_name(&ok, "orders"), "dc1.orders");
        assert_eq!(dest_name(&ok, "other"), "other");
        let e = check_rename(&r(&[("a", "x"), ("b", "x")])).unwrap_err();
        assert!(e.to_string().contains("a topic mirrors one topic"), "{e}");
        assert!(check_rename(&r(&[("a", "x"), ("a", "y")])).is_err());
        assert!(check_rename(&r(&[("a", "bad/name")])).is_err());
    }
}
