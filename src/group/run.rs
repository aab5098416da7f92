//! A group member's life: join, take the partitions the assignment gives it (one owner lock
//! each), deliver, commit, release; in cron mode until its share is read, with `--follow`
//! forever, rebalancing as members come and go.

use super::deliver::Delivery;
use super::member::live_members;
use super::{Assignor, Group, MemberInfo, Registration};
use crate::cluster::Cluster;
use crate::cluster::metadata::Metadata;
use crate::consume::{ConsumeOptions, Consumer, StartFrom, Stop};
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
    pub topic: String,
    pub assignor: Assignor,
    pub reset: Reset,
    pub consume: ConsumeOptions,
}

/// The assignment `me` computes for `topic` from the live members. Members subscribed to
/// other topics do not count. Everybody uses the assignor of the first (oldest) member, so a
/// member started with another `--assignor` cannot make two members claim one partition
/// (the owner locks would stop that anyway, but partitions would sit idle).
pub fn my_partitions(live: &[MemberInfo], me: &MemberInfo, topic: &str, parts: u32) -> Vec<u32> {
    let subs: Vec<&MemberInfo> = live
        .iter()
        .filter(|m| m.topics.iter().any(|t| t == topic))
        .collect();
    let Some(idx) = subs.iter().position(|m| m.id == me.id) else {
        return Vec::new();
    };
    let assignor = subs[0].assignor;
    assignor.assign(parts, subs.len(), idx)
}

struct State<'a> {
    cluster: &'a Cluster,
    opts: &'a GroupOptions,
    me: MemberInfo,
    consumer: Consumer,
    owned: BTreeMap<u32, super::commit::Owned>,
    warn: &'a mut dyn FnMut(String),
}

impl State<'_> {
    /// Take partition `p` if its owner lock is free; opens its cursor at the committed offset.
    fn take(&mut self, md: &Metadata, p: u32, stop: Stop, out: &mut Delivery) -> Result<bool> {
        let g = &self.opts.group;
        let topic = &self.opts.topic;
        let Some(owned) = g.try_own(topic, p, &self.me)? else {
            return Ok(false);
        };
        // Read the committed offset only now, under the owner lock: the previous owner
        // committed before releasing.
        let topic_id = &md.topic(topic)?.id;
        let committed = g.resume_offset(topic, topic_id, p, &mut *self.warn)?;
        let mut o = self.opts.consume.clone();
        if o.from == StartFrom::Stored && committed.is_none() && self.opts.reset == Reset::Latest {
            o.from = StartFrom::End;
        }
        self.consumer
            .open_cursor(self.cluster, md, p, &o, committed, stop)?;
        for w in self.consumer.warnings.drain(..) {
            (self.warn)(w);
        }
        let at = self
            .consumer
            .cursors
            .last()
            .map(|c| c.next)
            .unwrap_or_default();
        out.committer.started(p, at, committed);
        self.owned.insert(p, owned);
        Ok(true)
    }

    /// Commit what was delivered of `ps`, then release them (never the other way round).
    fn release(&mut self, ps: &[u32], out: &mut Delivery) -> Result<()> {
        if ps.is_empty() {
            return Ok(());
        }
        out.settle(true)?;
        for &p in ps {
            self.consumer.remove_cursor(p);
            out.committer.forget(p);
            self.owned.remove(&p);
        }
        Ok(())
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
    let md = cluster.metadata_with_topic(&opts.topic)?;
    // A test stops here to change leaders under a member whose metadata is now old.
    crate::pause_point!("group-metadata-read");
    let reg = Registration::join(
        &opts.group,
        std::slice::from_ref(&opts.topic),
        opts.assignor,
    )?;
    let me = reg.member.info.clone();
    out.committer.member = me.id.clone();
    let mut st = State {
        cluster,
        opts,
        me,
        consumer: Consumer::empty(&opts.topic, &opts.consume),
        owned: BTreeMap::new(),
        warn,
    };
    let res = if opts.consume.follow {
        follow(&mut st, md, out)
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
    let parts = md.topic(&st.opts.topic)?.partitions.len() as u32;
    let mut done = BTreeSet::new();
    // Ours, but held by a member still reading it (or stuck): tried again in the sweep.
    let mut busy = BTreeSet::new();
    let max_reached = |st: &State| st.consumer.max.is_some_and(|m| st.consumer.delivered >= m);
    // Our share, recomputed until it is all done: members that started together may have seen
    // different member lists at first, and converge as they look again.
    loop {
        let live = live_members(&st.opts.group, Some(&st.me))?;
        let mine: Vec<u32> = my_partitions(&live, &st.me, &st.opts.topic, parts)
            .into_iter()
            .filter(|p| !done.contains(p))
            .collect();
        if mine.is_empty() || max_reached(st) {
            break;
        }
        for p in mine {
            if !drain(st, md, p, out)? {
                busy.insert(p);
            }
            done.insert(p);
            if max_reached(st) || crate::signals::stop_requested() {
                return Ok(());
            }
        }
    }
    // Sweep: a partition whose assigned member left, or that nobody's view gave to anybody,
    // is taken by whoever finds its lock free. A busy lock means its owner is reading it and
    // commits before releasing, so skipping it loses nothing.
    for p in 0..parts {
        if (done.contains(&p) && !busy.contains(&p))
            || max_reached(st)
            || crate::signals::stop_requested()
        {
            continue;
        }
        if !drain(st, md, p, out)? {
            // Say so: a member that hangs (a stuck --exec handler) would otherwise make every
            // later cron run end at once, doing nothing, with nothing said.
            let who = st
                .opts
                .group
                .owner_line(&st.opts.topic, p)
                .map_or("another member".to_string(), |(id, pid, host)| {
                    format!("member {id} (pid {pid} on {host})")
                });
            (st.warn)(format!(
                "partition {}-{p} is being read by {who}; left to it (see `chute group describe {}`)",
                st.opts.topic, st.opts.group.name
            ));
        }
    }
    Ok(())
}

/// Cron mode, one partition: own it, read it to its end as of now, commit, release. False if
/// another member holds it.
fn drain(st: &mut State, md: &Metadata, p: u32, out: &mut Delivery) -> Result<bool> {
    if !st.take(md, p, Stop::AtEnd, out)? {
        return Ok(false);
    }
    loop {
        st.poll(out)?;
        out.settle(false)?;
        if st.consumer.finished() {
            break;
        }
    }
    st.release(&[p], out)?;
    Ok(true)
}

fn follow(st: &mut State, mut md: Metadata, out: &mut Delivery) -> Result<()> {
    let g = st.opts.group.clone();
    let topic = st.opts.topic.clone();
    // The owners directory of a topic the group never read is made on first ownership; watch
    // it from the start (a watch on a missing directory fails: polling only).
    crate::fsutil::create_own_dirs(g.root(), &g.owners_dir(&topic))?;
    let mut dirs = vec![g.members_dir(), g.owners_dir(&topic)];
    let parts_dirs = |md: &Metadata| -> Vec<std::path::PathBuf> {
        let n = md.topic(&topic).map(|t| t.partitions.len()).unwrap_or(0) as u32;
        // Every replica: a follower catching up raises the high watermark.
        let t = md.topic(&topic).ok();
        (0..n)
            .flat_map(|p| {
                t.and_then(|t| t.partitions.get(p as usize))
                    .map(|pm| pm.replicas.clone())
                    .unwrap_or_default()
                    .into_iter()
                    .map(move |b| (p, b))
            })
            .map(|(p, b)| st.cluster.replica_dir(md, b, &topic, p))
            .collect()
    };
    dirs.extend(parts_dirs(&md));
    let waker = Waker::new(&dirs);
    if let Some(w) = &waker.warning {
        (st.warn)(w.clone());
    }
    let mut last_md = Instant::now();
    loop {
        if last_md.elapsed() >= RESCAN {
            md = st.cluster.metadata_with_topic(&topic)?;
            last_md = Instant::now();
        }
        let parts = md.topic(&topic)?.partitions.len() as u32;
        let live = live_members(&g, Some(&st.me))?;
        let target: BTreeSet<u32> = my_partitions(&live, &st.me, &topic, parts)
            .into_iter()
            .collect();
        let shrink: Vec<u32> = st
            .owned
            .keys()
            .filter(|p| !target.contains(p))
            .copied()
            .collect();
        st.release(&shrink, out)?;
        let mut waiting = false;
        for &p in &target {
            if !st.owned.contains_key(&p) && !st.take(&md, p, Stop::Never, out)? {
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
