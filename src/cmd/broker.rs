//! `chute broker list|add|down|up|replace|drain`.

use super::progress::{STALL, Stall, Status};
use super::{print, print_json, table};
use crate::cli::BrokerCmd;
use chute::cluster::Cluster;
use chute::error::{Error, Result, exit};
use chute::replica::{Syncer, drain, rebuild};

pub fn run(cluster: &Cluster, cmd: BrokerCmd) -> Result<i32> {
    match cmd {
        BrokerCmd::List { json } => {
            let md = cluster.metadata()?;
            let list: Vec<_> = md
                .brokers
                .iter()
                .map(|b| cluster.broker_status(&md, b.id, false))
                .collect();
            if json {
                print_json(&list)?;
            } else {
                let rows = list
                    .iter()
                    .map(|b| vec![b.id.to_string(), state(b), b.path.display().to_string()])
                    .collect();
                print(&table::render(&["BROKER", "STATE", "PATH"], rows))?;
            }
            Ok(0)
        }
        BrokerCmd::Add { dir } => {
            let id = cluster.add_broker(dir)?;
            let md = cluster.metadata()?;
            super::note(format_args!(
                "added broker {id} at {}; move replicas onto it with `chute topic reassign`",
                cluster.broker_dir(&md, id).display()
            ));
            print(&format!("{id}\n"))?;
            Ok(0)
        }
        BrokerCmd::Down { id } => {
            cluster.mark_broker(id, true)?;
            super::note(format_args!("broker {id} marked down"));
            Ok(0)
        }
        BrokerCmd::Up { id } => {
            cluster.mark_broker(id, false)?;
            super::note(format_args!("broker {id} marked up"));
            Ok(0)
        }
        BrokerCmd::Replace { id, dir } => replace(cluster, id, dir.as_deref()),
        BrokerCmd::Drain { id, no_wait } => drain(cluster, id, no_wait),
    }
}

/// A broker's STATE cell: "up", "down: <why>", with "(draining)" during a drain.
pub fn state(b: &chute::cluster::brokers::BrokerStatus) -> String {
    let mut s = match b.state {
        chute::cluster::brokers::State::Up => "up".to_string(),
        chute::cluster::brokers::State::Down => format!("down: {}", b.reason),
    };
    if b.draining {
        s += " (draining)";
    }
    s
}

fn replace(cluster: &Cluster, id: u32, dir: Option<&std::path::Path>) -> Result<i32> {
    let mut st = Status::new();
    let prepared = rebuild::prepare(cluster, id, dir)?;
    if let Some(w) = &prepared.warning {
        // A warning, not a note: -q does not hide it.
        eprintln!("chute: warning: {w}");
    }
    if prepared.resumed {
        st.say(&format!(
            "broker {id}: {} already carries its tag; resuming the rebuild",
            prepared.dir.display()
        ));
    } else {
        for (name, old, new) in &prepared.changes {
            st.say(&chute::replica::leadership::describe_change(
                name,
                old,
                new,
                &format!("broker {id} is replaced"),
            ));
        }
        st.say(&format!(
            "broker {id}: tagged {}; rebuilding its replicas from the leaders",
            prepared.dir.display()
        ));
    }
    chute::signals::install()?;
    let mut syncer = Syncer::new();
    let mut stall = Stall::new();
    loop {
        if chute::signals::stop_requested() {
            st.say(&format!(
                "broker {id}: stopped; run `chute broker replace {id}` again (or let a running controller) finish the copy"
            ));
            return Ok(exit::TEMPFAIL);
        }
        let p = rebuild::step(cluster, &mut syncer, id)?;
        if p.settled() {
            return Ok(replace_outcome(&mut st, id, &p));
        }
        let (copied, of) = p
            .copying
            .iter()
            .fold((0, 0), |(c, o), x| (c + x.2, o + x.3));
        st.show(&format!(
            "broker {id}: {}/{} replicas in sync; copying {} ({copied}/{of} records)",
            p.in_sync,
            p.total,
            p.copying.len()
        ));
        if stall.stalled((p.in_sync, copied)) {
            st.say(&format!(
                "broker {id}: no progress for {}s; {}",
                STALL.as_secs(),
                p.copying
                    .iter()
                    .map(|(t, q, c, o)| format!("{t}-{q} at {c} of {o}"))
                    .collect::<Vec<_>>()
                    .join(", ")
            ));
            return Ok(exit::TEMPFAIL);
        }
    }
}

fn replace_outcome(st: &mut Status, id: u32, p: &rebuild::Progress) -> i32 {
    for (t, q, why) in &p.waiting {
        st.say(&format!("partition {t}-{q}: not rebuilt yet: {why}"));
    }
    for (t, q) in &p.lost {
        st.say(&format!(
            "partition {t}-{q}: every in-sync copy was on broker {id}'s lost disk; its records are gone and it stays offline (to serve it again without them: `chute topic alter {t} --config unclean.leader.election=true`)"
        ));
    }
    if p.complete() {
        st.say(&format!(
            "broker {id}: rebuilt; {} replica(s) in sync",
            p.total
        ));
        return exit::OK;
    }
    st.say(&format!(
        "broker {id}: {}/{} replicas in sync; {} waiting, {} lost",
        p.in_sync,
        p.total,
        p.waiting.len(),
        p.lost.len()
    ));
    if p.lost.is_empty() {
        exit::TEMPFAIL
    } else {
        exit::IO
    }
}

fn drain(cluster: &Cluster, id: u32, no_wait: bool) -> Result<i32> {
    let mut st = Status::new();
    let recorded = drain::start(cluster, id)?;
    for m in &recorded {
        st.say(&format!(
            "partition {}-{}: moving to {:?}",
            m.topic, m.partition, m.to
        ));
    }
    let md = cluster.metadata()?;
    let todo = drain::remaining(&md, id);
    if todo.is_empty() {
        // A drain killed after its last move still owes the leader balance.
        let all: Vec<(String, u32)> = md
            .topics
            .iter()
            .flat_map(|(n, t)| t.partitions.iter().map(move |p| (n.clone(), p.partition)))
            .collect();
        for (name, old, new) in drain::prefer_leaders(cluster, &all)? {
            st.say(&chute::replica::leadership::describe_change(
                &name,
                &old,
                &new,
                "preferred leader",
            ));
        }
        st.say(&format!("broker {id} holds no replica"));
        return Ok(exit::OK);
    }
    if no_wait {
        st.say(&format!(
            "broker {id}: {} move(s) recorded; a running controller carries them out",
            todo.len()
        ));
        return Ok(exit::OK);
    }
    chute::signals::install()?;
    let mut syncer = Syncer::new();
    let total = todo.len();
    let mut stall = Stall::new();
    loop {
        if chute::signals::stop_requested() {
            st.say(&format!(
                "broker {id}: stopped; the moves are recorded and `chute broker drain {id}` again (or a running controller) finishes them"
            ));
            return Ok(exit::TEMPFAIL);
        }
        let md = cluster.metadata()?;
        let left = drain::remaining(&md, id);
        if left.is_empty() {
            break;
        }
        let mut copied = 0;
        for (t, q) in &left {
            let r = chute::replica::reassign::step(cluster, &mut syncer, t, *q, None, &mut |l| {
                st.say(l)
            });
            match r {
                Ok(chute::replica::reassign::Progress::Copying(v)) => {
                    copied += v.iter().map(|x| x.1).sum::<u64>();
                }
                Ok(chute::replica::reassign::Progress::Done) => {}
                // The topic was deleted meanwhile: nothing of it is left to move.
                Err(Error::NotFound(_)) => {}
                // One partition's trouble (no leader now, a lock held) must not stop the rest.
                Err(e @ (Error::Temporary(_) | Error::NoLeader(_) | Error::LockTimeout { .. })) => {
                    if stall.quiet_for_long() {
                        st.say(&format!("partition {t}-{q}: {e}"));
                    }
                }
                Err(e) => return Err(e),
            }
            chute::pause_point!("drain-step");
        }
        st.show(&format!(
            "draining broker {id}: {}/{total} partitions moved",
            total - left.len()
        ));
        if stall.stalled((left.len(), copied)) {
            st.say(&format!(
                "broker {id}: no progress for {}s; {} move(s) left (see `chute topic describe`); they are recorded, and a running controller finishes them",
                STALL.as_secs(),
                left.len()
            ));
            return Ok(exit::TEMPFAIL);
        }
    }
    // The moved partitions, and those whose preferred replica the plan changed to keep the
    // balance.
    let mut prefer = todo.clone();
    prefer.extend(recorded.iter().map(|m| (m.topic.clone(), m.partition)));
    if recorded.is_empty() {
        // Resumed: the reorders an earlier run recorded are not in `recorded`.
        let md = cluster.metadata()?;
        for (n, t) in &md.topics {
            prefer.extend(t.partitions.iter().map(|p| (n.clone(), p.partition)));
        }
    }
    prefer.sort();
    prefer.dedup();
    for (name, old, new) in drain::prefer_leaders(cluster, &prefer)? {
        st.say(&chute::replica::leadership::describe_change(
            &name,
            &old,
            &new,
            "preferred leader",
        ));
    }
    // An old replica whose removal met a held lock (said above) is still on disk.
    let md = cluster.metadata()?;
    let left: Vec<String> = todo
        .iter()
        .filter(|(t, q)| cluster.replica_dir(&md, id, t, *q).exists())
        .map(|(t, q)| format!("{t}-{q}"))
        .collect();
    if !left.is_empty() {
        st.say(&format!(
            "broker {id}: moved, but the old replica(s) of {} are not removed yet; a running controller (or `controller --once`) removes them",
            left.join(", ")
        ));
        return Ok(exit::TEMPFAIL);
    }
    st.say(&format!(
        "broker {id} drained: {total} replica(s) moved off it"
    ));
    Ok(exit::OK)
}
