//! `chute controller`: the optional daemon that keeps a replicated cluster healthy. Each pass
//! probes the brokers, elects new leaders for partitions whose leader is down, syncs followers,
//! and adjusts ISRs; file-watch events on leader replicas start a pass early, and a periodic
//! rescan catches whatever the watcher missed. See docs/replication.md.

pub mod compaction;
pub mod lease;
pub mod retention;

use crate::cluster::Cluster;
use crate::cluster::brokers::State;
use crate::cluster::config::TopicConfig;
use crate::cluster::metadata::Metadata;
use crate::error::{Error, Result};
use crate::replica::isr::{self, FollowerView};
use crate::replica::leadership::{self, Change, claim_epochs, describe_change, prefer_all};
use crate::replica::sync::{DEFAULT_BUDGET, Syncer};
use crate::watch::Waker;
use std::collections::{BTreeMap, HashMap};
use std::time::{Duration, Instant};

pub struct ControllerOptions {
    /// One pass, then exit (for cron).
    pub once: bool,
    /// How often brokers are probed (and the longest a pass waits for a file event).
    pub interval: Duration,
    /// A full sync pass at least this often, events or not.
    pub rescan: Duration,
    /// A standby takes over when the active controller's heartbeat is older than this.
    pub session_timeout: Duration,
    /// Give leadership back to preferred replicas this often (None: only `topic elect-leaders`).
    pub preferred_interval: Option<Duration>,
    /// Apply retention (and roll quiet segments) this often; `--once` always does.
    pub retention_interval: Duration,
}

impl Default for ControllerOptions {
    fn default() -> Self {
        ControllerOptions {
            once: false,
            interval: Duration::from_millis(50),
            rescan: Duration::from_secs(1),
            session_timeout: Duration::from_secs(5),
            preferred_interval: Some(Duration::from_secs(300)),
            retention_interval: Duration::from_secs(60),
        }
    }
}

/// Run as controller (or standby) until killed; with `once`, one pass.
pub fn run(cluster: &Cluster, opts: &ControllerOptions) -> Result<()> {
    loop {
        let acquired = lease::acquire(cluster, opts.session_timeout, !opts.once, &mut |l| {
            tracing::info!(
                "standby: controller epoch {} is active (pid {} on {}); waiting",
                l.epoch,
                l.pid,
                l.host
            )
        })?;
        let lease = match acquired {
            lease::Acquired::Active(l) => l,
            lease::Acquired::Busy(l) => {
                tracing::info!(
                    "another controller is active (pid {}, epoch {}); nothing to do",
                    l.pid,
                    l.epoch
                );
                return Ok(());
            }
            lease::Acquired::Stopped => {
                tracing::info!("standby: stopped");
                return Ok(());
            }
        };
        tracing::info!(
            "active: controller epoch {} (pid {})",
            lease.epoch,
            std::process::id()
        );
        let mut c = Controller::new(cluster, lease.epoch);
        c.fenced = Some(lease.fenced_flag());
        let r = c.run(&lease, opts);
        match r {
            Err(m @ Error::ControllerFenced { .. }) => {
                let who = lease
                    .successor()
                    .map(|s| format!(" (now pid {}, epoch {})", s.pid, s.epoch))
                    .unwrap_or_default();
                tracing::warn!("fenced: {m}{who}; stepping down");
                drop(lease);
                if opts.once {
                    return Ok(());
                }
            }
            other => return other,
        }
    }
}

struct Controller<'c> {
    cluster: &'c Cluster,
    epoch: u64,
    syncer: Syncer,
    /// When each follower (topic, partition, broker) was last seen caught up.
    caught_up: HashMap<(String, u32, u32), Instant>,
    /// Last reported broker states and sync errors, so each change is logged once.
    brokers: BTreeMap<u32, String>,
    errors: HashMap<(String, u32, u32), String>,
    last_preferred: Instant,
    last_retention: Option<Instant>,
    /// What compaction last covered per partition (src/compaction.rs).
    cleaned: compaction::Done,
    /// Set by the lease's heartbeat when a newer controller took over.
    fenced: Option<std::sync::Arc<std::sync::atomic::AtomicBool>>,
    /// Partitions maintenance left in this pass because another process held their lock:
    /// `--once` then exits 75 (retry), as every command does on a lock timeout.
    busy: u32,
}

impl<'c> Controller<'c> {
    fn new(cluster: &'c Cluster, epoch: u64) -> Self {
        Controller {
            cluster,
            epoch,
            syncer: Syncer::with_lock_timeout(leadership::SYNC_LOCK_TIMEOUT),
            caught_up: HashMap::new(),
            brokers: BTreeMap::new(),
            errors: HashMap::new(),
            last_preferred: Instant::now(),
            last_retention: None,
            cleaned: Default::default(),
            fenced: None,
            busy: 0,
        }
    }

    fn run(&mut self, lease: &lease::Lease, opts: &ControllerOptions) -> Result<()> {
        let mut last_full: Option<Instant> = None;
        let mut watched: Option<(u64, Waker)> = None;
        let mut woke = true;
        loop {
            if lease.fenced() {
                return Err(Error::ControllerFenced {
                    ours: self.epoch,
                    theirs: None,
                });
            }
            // A full pass (follower sync) on file events, on metadata changes (a broker back, a
            // new topic), and on the rescan timer.
            let (md, full) = match self.cluster.metadata().and_then(|md| {
                let full = woke
                    || Some(md.epoch) != watched.as_ref().map(|(e, _)| *e)
                    || last_full.is_none_or(|t| t.elapsed() >= opts.rescan);
                self.pass(md, full, opts).map(|md| (md, full))
            }) {
                Ok(md) => md,
                Err(e @ Error::ControllerFenced { .. }) => return Err(e),
                Err(e) if opts.once => return Err(e),
                Err(e) => {
                    // A daemon outlives transient trouble (a lock held too long, a disk that
                    // fails a read): say so and try again on the next pass.
                    tracing::warn!("pass failed: {e}");
                    std::thread::sleep(opts.interval);
                    woke = true;
                    continue;
                }
            };
            if full {
                last_full = Some(Instant::now());
            }
            if opts.once {
                if self.busy > 0 {
                    return Err(Error::Temporary(format!(
                        "{} partition(s) were locked by other processes and left for the next pass (see above)",
                        self.busy
                    )));
                }
                return Ok(());
            }
            if watched.as_ref().is_none_or(|(e, _)| *e != md.epoch) {
                watched = Some((
                    md.epoch,
                    Waker::new(&crate::replica::leader_dirs(self.cluster, &md)),
                ));
            }
            woke = watched.as_ref().unwrap().1.wait(opts.interval);
            // A signal stops us between passes (each step of a pass is crash-safe, but a pass
            // left whole is easier to read in the log); the lease goes with us.
            if crate::signals::stop_requested() {
                tracing::info!("stopped");
                return Ok(());
            }
        }
    }

    /// One pass. Broker probes and elections every time; follower sync and ISR changes when
    /// `full`. Returns the metadata it ended with.
    fn pass(&mut self, md: Metadata, full: bool, opts: &ControllerOptions) -> Result<Metadata> {
        let cluster = self.cluster;
        if md.controller_epoch != self.epoch {
            return Err(Error::ControllerFenced {
                ours: self.epoch,
                theirs: Some(md.controller_epoch),
            });
        }
        let mut up = Vec::new();
        for b in &md.brokers {
            let st = cluster.broker_status(&md, b.id, full);
            let desc = match st.state {
                State::Up => "up".to_string(),
                State::Down => format!("down ({})", st.reason),
            };
            if self.brokers.get(&b.id) != Some(&desc) {
                tracing::info!("broker {}: {desc}", b.id);
                self.brokers.insert(b.id, desc);
            }
            if st.state == State::Up {
                up.push(b.id);
            }
        }
        let is_up = |b: u32| up.contains(&b);

        // Elections: a partition whose leader is down gets a new one.
        let mut md = self.apply(md, "broker liveness", |md| {
            let mut changes = Vec::new();
            for (name, t) in md.topics.iter_mut() {
                let unclean = TopicConfig::resolve(&t.config).unclean_leader_election;
                for p in t.partitions.iter_mut() {
                    let n = isr::on_liveness(p, &is_up, unclean);
                    if n != *p {
                        changes.push((name.clone(), p.clone(), n.clone()));
                        *p = n;
                    }
                }
            }
            Ok(changes)
        })?;
        if !full {
            return Ok(md);
        }

        // Follower sync, then ISR changes from what it saw.
        let now = Instant::now();
        // Per partition: the leader epoch the sync ran in, and what it saw of each follower.
        let mut seen: HashMap<(String, u32), (u32, Vec<FollowerView>)> = HashMap::new();
        for (name, t) in &md.topics {
            for p in &t.partitions {
                if p.replicas.len() < 2 || p.leader.is_none_or(|l| !is_up(l)) {
                    continue;
                }
                if self
                    .fenced
                    .as_ref()
                    .is_some_and(|f| f.load(std::sync::atomic::Ordering::SeqCst))
                {
                    return Err(Error::ControllerFenced {
                        ours: self.epoch,
                        theirs: None,
                    });
                }
                let results = self
                    .syncer
                    .sync_partition(cluster, &md, name, p, DEFAULT_BUDGET);
                let mut views = Vec::new();
                for r in results {
                    let key = (name.clone(), p.partition, r.broker);
                    let caught_up = match &r.result {
                        Ok(f) => {
                            if let Some((from, to)) = f.truncated {
                                tracing::info!(
                                    "partition {name}-{}: replica on broker {} cut its divergent tail from offset {from} to {to}",
                                    p.partition,
                                    r.broker
                                );
                            }
                            if self.errors.remove(&key).is_some() {
                                tracing::info!(
                                    "partition {name}-{}: replica on broker {} is syncing again",
                                    p.partition,
                                    r.broker
                                );
                            }
                            f.caught_up()
                        }
                        Err(e) => {
                            let m = e.to_string();
                            if self.errors.get(&key) != Some(&m) {
                                tracing::warn!(
                                    "partition {name}-{}: cannot sync replica on broker {}: {m}",
                                    p.partition,
                                    r.broker
                                );
                                self.errors.insert(key.clone(), m);
                            }
                            false
                        }
                    };
                    let last = *self.caught_up.entry(key.clone()).or_insert(now);
                    if caught_up {
                        self.caught_up.insert(key, now);
                    }
                    // A replica on a broker that went down during the sync must not rejoin;
                    // one that would join gets the last few records first (hw::may_join).
                    let caught_up = caught_up
                        && cluster.broker_status(&md, r.broker, false).state == State::Up
                        && (p.isr.contains(&r.broker)
                            || crate::replica::hw::catch_up_to_join(
                                cluster,
                                &md,
                                &mut self.syncer,
                                name,
                                p,
                                r.broker,
                            ));
                    views.push(FollowerView {
                        broker: r.broker,
                        caught_up,
                        lagging_ms: if caught_up {
                            0
                        } else {
                            now.duration_since(last).as_millis() as u64
                        },
                    });
                }
                seen.insert((name.clone(), p.partition), (p.leader_epoch, views));
            }
        }
        if !seen.is_empty() {
            crate::pause_point!("isr-join");
            md = self.apply(md, "replica progress", |md| {
                let snapshot = md.clone();
                let mut changes = Vec::new();
                for (name, t) in md.topics.iter_mut() {
                    let lag = TopicConfig::resolve(&t.config).replica_lag_time_ms;
                    for p in t.partitions.iter_mut() {
                        // A sync in an epoch that has passed says nothing about this one.
                        if let Some((_, v)) = seen
                            .get(&(name.clone(), p.partition))
                            .filter(|(e, _)| *e == p.leader_epoch)
                        {
                            // Caught up when the sync started is not enough to join: the
                            // watermark may have moved on since (hw::may_join).
                            let v: Vec<FollowerView> = v
                                .iter()
                                .map(|f| FollowerView {
                                    caught_up: f.caught_up
                                        && (p.isr.contains(&f.broker)
                                            || crate::replica::hw::may_join(
                                                cluster, &snapshot, name, p, f.broker,
                                            )),
                                    ..*f
                                })
                                .collect();
                            let n = isr::adjust_isr(p, &v, lag);
                            if n != *p {
                                changes.push((name.clone(), p.clone(), n.clone()));
                                *p = n;
                            }
                        }
                    }
                }
                Ok(changes)
            })?;
        }

        // Reassignments in progress: added replicas were synced above; switch when in sync.
        let moving: Vec<(String, u32)> = md
            .topics
            .iter()
            .flat_map(|(n, t)| {
                t.partitions
                    .iter()
                    .filter(|p| !p.adding.is_empty() || !p.removing.is_empty())
                    .map(move |p| (n.clone(), p.partition))
            })
            .collect();
        for (name, p) in moving {
            match crate::replica::reassign::step(
                cluster,
                &mut self.syncer,
                &name,
                p,
                Some(self.epoch),
                &mut |l| tracing::info!("{l}"),
            ) {
                Ok(_) => {}
                Err(e @ Error::ControllerFenced { .. }) => return Err(e),
                Err(e) => tracing::warn!("partition {name}-{p}: reassignment: {e}"),
            }
        }
        if !md.topics.is_empty() {
            md = cluster.metadata()?;
        }

        if opts.once
            || self
                .last_retention
                .is_none_or(|t| t.elapsed() >= opts.retention_interval)
        {
            self.last_retention = Some(Instant::now());
            crate::replica::reassign::remove_strays(cluster, &md, &mut |l| tracing::info!("{l}"));
            for (name, p, r) in retention::run(cluster, &md, None) {
                match r {
                    Ok(a) if a.moved || a.freed > 0 => tracing::info!(
                        "partition {name}-{p}: retention: log start {}, {} bytes of segments removed",
                        a.log_start,
                        a.freed
                    ),
                    Ok(_) => {}
                    Err(e) => {
                        self.busy += u32::from(e.exit_code() == crate::error::exit::TEMPFAIL);
                        tracing::warn!("partition {name}-{p}: retention failed: {e}")
                    }
                }
            }
            // Progress on a terminal only (`controller --once` run by hand), never in a log.
            let tty = std::io::IsTerminal::is_terminal(&std::io::stderr());
            let mut shown = false;
            let results = compaction::run(
                cluster,
                &md,
                None,
                &mut self.cleaned,
                &mut |name, b, i, n| {
                    if tty {
                        eprint!(
                            "\r\x1b[Kcompacting {name} on broker {b}: segment {} of {n}",
                            i + 1
                        );
                        shown = true;
                    }
                },
            );
            if shown {
                eprint!("\r\x1b[K");
            }
            for (name, p, r) in results {
                match r {
                    Ok(c) if c.segments > 0 => tracing::info!(
                        "partition {name}-{p}: compaction: {} segment(s), {} records removed, {} -> {} bytes",
                        c.segments,
                        c.records_removed,
                        c.bytes_before,
                        c.bytes_after
                    ),
                    Ok(_) => {}
                    Err(e) => {
                        self.busy += u32::from(e.exit_code() == crate::error::exit::TEMPFAIL);
                        tracing::warn!("partition {name}-{p}: compaction failed: {e}")
                    }
                }
            }
        }

        if let Some(every) = opts.preferred_interval
            && self.last_preferred.elapsed() >= every
        {
            self.last_preferred = Instant::now();
            md = self.apply(md, "preferred leader", |md| {
                Ok(prefer_all(md, None, &is_up))
            })?;
        }
        Ok(md)
    }

    /// Change metadata (fenced by our epoch), log each partition change, and hand new leader
    /// epochs to the replicas.
    /// `f` decides on the metadata at hand first: when it changes nothing (most passes), no
    /// lock is taken and nothing is read again.
    fn apply(
        &mut self,
        md: Metadata,
        why: &str,
        mut f: impl FnMut(&mut Metadata) -> Result<Vec<Change>>,
    ) -> Result<Metadata> {
        if f(&mut md.clone())?.is_empty() {
            return Ok(md);
        }
        let cluster = self.cluster;
        let mut changes = Vec::new();
        cluster.update_fenced(self.epoch, |md| {
            changes = f(md)?;
            Ok(())
        })?;
        let md = cluster.metadata()?;
        for (name, old, new) in &changes {
            tracing::info!("{}", describe_change(name, old, new, why));
        }
        claim_epochs(cluster, &md, &changes);
        Ok(md)
    }
}
