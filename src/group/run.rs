//! A group member's life: join, take the partitions the assignment gives it (one owner lock
//! each), deliver, commit, release; in cron mode until its share is read, with `--follow`
//! forever, rebalancing as members come and go and as topics its patterns match appear.

use super::deliver::Delivery;
use super::member::live_members;
use super::share::{TopicPartition, my_share};
use super::{Assignor, Group, MemberInfo, Registration};
use crate::cluster::Cluster;
use crate::cluster::metadata::Metadata;
use crate::consume::{ConsumeOptions, Consumer, StartFrom, Stop, Subscription};
use crate::error::Result;
use crate::watch::Waker;
use std::collections::{BTreeMap, BTreeSet};
use std::time::{Duration, Instant};

/// A follower re-reads members and metadata at least this often (events can be dropped).
const RESCAN: Duration = Duration::from_millis(250);
/// While a partition it should own is still held by its previous owner, retry this often.
const RETRY_OWN: Duration = Duration::from_millis(10);

/// `consume -g --reset`: where a member starts on a partition without a committed offset.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum Reset {
    Earliest,
    Latest,
}

pub struct GroupOptions {
    pub group: Group,
    /// What the member reads: topic names, and patterns matched again while following.
    pub topics: Subscription,
    pub assignor: Assignor,
    pub reset: Reset,
    pub consume: ConsumeOptions,
}

/// Partitions of `topic` as `md` has them (none for a topic it does not have).
fn partition_count(md: &Metadata, topic: &str) -> u32 {
    md.topics
        .get(topic)
        .map_or(0, |t| t.partitions.len() as u32)
}

struct State<'a> {
    cluster: &'a Cluster,
    opts: &'a GroupOptions,
    me: MemberInfo,
    consumer: Consumer,
    owned: BTreeMap<TopicPartition, super::commit::Owned>,
    warn: &'a mut dyn FnMut(String),
}

impl State<'_> {
    /// Take a partition if its owner lock is free; opens its cursor at the committed offset.
    fn take(
        &mut self,
        md: &Metadata,
        tp: &TopicPartition,
        stop: Stop,
        out: &mut Delivery,
    ) -> Result<bool> {
        let g = &self.opts.group;
        let (topic, p) = (tp.0.as_str(), tp.1);
        let Some(owned) = g.try_own(topic, p, &self.me)? else {
            return Ok(false);
        };
        // Read the committed offset only now, under the owner lock: the previous owner
        // committed before releasing (or died mid-commit: `chute stream` finishes that first).
        let topic_id = &md.topic(topic)?.id;
        out.recover(topic, topic_id, p)?;
        let committed = g.resume_offset(topic, topic_id, p, &mut *self.warn)?;
        let mut o = self.opts.consume.clone();
        if o.from == StartFrom::Stored && committed.is_none() && self.opts.reset == Reset::Latest {
            o.from = StartFrom::End;
        }
        self.consumer
            .open_cursor(self.cluster, md, topic, p, &o, committed, stop)?;
        for w in self.consumer.warnings.drain(..) {
            (self.warn)(w);
        }
        let at = self
            .consumer
            .cursors
            .last()
            .map(|c| c.next)
            .unwrap_or_default();
        out.committer.started(topic, topic_id, p, at, committed);
        self.owned.insert(tp.clone(), owned);
        Ok(true)
    }

    /// Commit what was delivered of `tps`, then release them (never the other way round).
    fn release(&mut self, tps: &[TopicPartition], out: &mut Delivery) -> Result<()> {
        if tps.is_empty() {
            return Ok(());
        }
        out.settle(true)?;
        for tp in tps {
            self.consumer.remove_cursor(&tp.0, tp.1);
            out.committer.forget(&tp.0, tp.1);
            self.owned.remove(tp);
        }
        Ok(())
    }

    /// What this member should own now, by the live members' view of the group.
    fn share(&self, md: &Metadata) -> Result<BTreeSet<TopicPartition>> {
        let live = live_members(&self.opts.group, Some(&self.me))?;
        Ok(my_share(&live, &self.me, &|t| partition_count(md, t)))
    }

    fn poll(&mut self, out: &mut Delivery) -> Result<u64> {
        let r = self.consumer.poll(out);
        if r.is_err() {
            // Records before the failure that stdout or the command accepted are committed;
            // a failed --exec batch is not.
            let _ = out.commit_accepted();
        }
        r
    }
}

/// Run one member until done (cron mode) or forever (`--follow`). Returns records delivered.
pub fn run(
    cluster: &Cluster,
    opts: &GroupOptions,
    out: &mut Delivery,
    warn: &mut dyn FnMut(String),
) -> Result<u64> {
    let (md, topics) = opts.topics.resolve_in(cluster, true)?;
    // A test stops here to change leaders under a member whose metadata is now old.
    crate::pause_point!("group-metadata-read");
    let mut reg = Registration::join(&opts.group, &topics, opts.assignor)?;
    let me = reg.member.info.clone();
    out.committer.member = me.id.clone();
    let mut st = State {
        cluster,
        opts,
        me,
        consumer: {
            let mut c = Consumer::empty(&opts.consume);
            if opts.topics.has_patterns() {
                c.patterns = Some(opts.topics.clone());
            }
            c
        },
        owned: BTreeMap::new(),
        warn,
    };
    let res = if opts.consume.follow {
        follow(&mut st, &mut reg, md, out)
    } else {
        cron(&mut st, &md, out)
    };
    // Release (drop owner locks) only after the final commit inside the modes; on an error
    // path nothing more is committed than what they committed.
    st.owned.clear();
    drop(reg);
    res.map(|_| out.records)
}

fn cron(st: &mut State, md: &Metadata, out: &mut Delivery) -> Result<()> {
    let all: Vec<TopicPartition> = st
        .me
        .topics
        .iter()
        .flat_map(|t| (0..partition_count(md, t)).map(move |p| (t.clone(), p)))
        .collect();
    let mut done = BTreeSet::new();
    // Ours, but held by a member still reading it (or stuck): tried again in the sweep.
    let mut busy = BTreeSet::new();
    let max_reached = |st: &State| st.consumer.max.is_some_and(|m| st.consumer.delivered >= m);
    // Our share, recomputed until it is all done: members that started together may have seen
    // different member lists at first, and converge as they look again.
    loop {
        let mine: Vec<TopicPartition> = st
            .share(md)?
            .into_iter()
            .filter(|tp| !done.contains(tp))
            .collect();
        if mine.is_empty() || max_reached(st) {
            break;
        }
        for tp in mine {
            if !drain(st, md, &tp, out)? {
                busy.insert(tp.clone());
            }
            done.insert(tp);
            if max_reached(st) || crate::signals::stop_requested() {
                return Ok(());
            }
        }
    }
    // Sweep: a partition whose assigned member left, or that nobody's view gave to anybody,
    // is taken by whoever finds its lock free. A busy lock means its owner is reading it and
    // commits before releasing, so skipping it loses nothing.
    for tp in &all {
        if (done.contains(tp) && !busy.contains(tp))
            || max_reached(st)
            || crate::signals::stop_requested()
        {
            continue;
        }
        if !drain(st, md, tp, out)? {
            // Say so: a member that hangs (a stuck --exec handler) would otherwise make every
            // later cron run end at once, doing nothing, with nothing said.
            let (t, p) = (&tp.0, tp.1);
            let who = st
                .opts
                .group
                .owner_line(t, p)
                .map_or("another member".to_string(), |(id, pid, host)| {
                    format!("member {id} (pid {pid} on {host})")
                });
            (st.warn)(format!(
                "partition {t}-{p} is being read by {who}; left to it (see `chute group describe {}`)",
                st.opts.group.name
            ));
        }
    }
    Ok(())
}

/// Cron mode, one partition: own it, read it to its end as of now, commit, release. False if
/// another member holds it.
fn drain(st: &mut State, md: &Metadata, tp: &TopicPartition, out: &mut Delivery) -> Result<bool> {
    if !st.take(md, tp, Stop::AtEnd, out)? {
        return Ok(false);
    }
    loop {
        st.poll(out)?;
        out.settle(false)?;
        if st.consumer.finished() {
            break;
        }
    }
    st.release(std::slice::from_ref(tp), out)?;
    Ok(true)
}

fn follow(
    st: &mut State,
    reg: &mut Registration,
    mut md: Metadata,
    out: &mut Delivery,
) -> Result<()> {
    let mut waker = Waker::new(&[st.opts.group.members_dir()]);
    if let Some(w) = waker.warning.take() {
        (st.warn)(w);
    }
    let mut watched = BTreeSet::new();
    watch_topics(st, &md, &mut waker, &mut watched)?;
    let mut last_md = Instant::now();
    loop {
        if last_md.elapsed() >= RESCAN {
            let (now, topics) = st.opts.topics.resolve_in(st.cluster, false)?;
            md = now;
            last_md = Instant::now();
            if topics != st.me.topics {
                // A pattern matches a topic created since: the member file says so, and every
                // member (this one too) divides the partitions again over the new lists.
                reg.member.set_topics(&topics)?;
                st.me = reg.member.info.clone();
                watch_topics(st, &md, &mut waker, &mut watched)?;
            }
        }
        let target = st.share(&md)?;
        let shrink: Vec<TopicPartition> = st
            .owned
            .keys()
            .filter(|tp| !target.contains(tp))
            .cloned()
            .collect();
        st.release(&shrink, out)?;
        let mut waiting = false;
        for tp in &target {
            if !st.owned.contains_key(tp) && !st.take(&md, tp, Stop::Never, out)? {
                waiting = true;
            }
        }
        let n = st.poll(out)?;
        if crate::signals::stop_requested()
            || st.consumer.finished() && !st.consumer.cursors.is_empty()
        {
            break;
        }
        if n == 0 {
            // Caught up: hand over what we have, commit when due.
            out.settle(false)?;
            let mut t = if waiting { RETRY_OWN } else { RESCAN };
            if let Some(d) = out.committer.due_in() {
                t = t.min(d.max(Duration::from_millis(1)));
            }
            waker.wait(t);
        }
    }
    out.settle(true)
}

/// Watch the owner locks and the replica directories of the member's topics not watched yet.
fn watch_topics(
    st: &mut State,
    md: &Metadata,
    waker: &mut Waker,
    watched: &mut BTreeSet<String>,
) -> Result<()> {
    let g = &st.opts.group;
    let mut dirs = Vec::new();
    for t in &st.me.topics {
        let Ok(tm) = md.topic(t) else { continue };
        if !watched.insert(t.clone()) {
            continue;
        }
        // The owners directory of a topic the group never read is made on first ownership;
        // make it now to watch it from the start (a watch on a missing directory fails).
        crate::fsutil::create_own_dirs(g.root(), &g.owners_dir(t))?;
        dirs.push(g.owners_dir(t));
        // Every replica: a follower catching up raises the high watermark.
        for pm in &tm.partitions {
            for &b in &pm.replicas {
                dirs.push(st.cluster.replica_dir(md, b, t, pm.partition));
            }
        }
    }
    if let Some(w) = waker.watch(&dirs) {
        (st.warn)(w);
    }
    Ok(())
}
