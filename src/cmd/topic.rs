//! `chute topic ...`: metadata changes under `metadata.lock`; describe reads partition tails.

use super::Target;
use super::{print, print_json, table};
use crate::cli::TopicCmd;
use chute::cluster::Cluster;
use chute::error::Result;
use chute::topics;

pub fn run(target: &Target, cmd: TopicCmd) -> Result<i32> {
    let backend = target.backend()?;
    match cmd {
        TopicCmd::Create {
            topic,
            partitions,
            replication_factor,
            config,
            if_not_exists,
        } => {
            let r = backend.create_topic(
                &topic,
                topics::CreateOptions {
                    partitions,
                    replication_factor,
                    config,
                    if_not_exists,
                },
            )?;
            for w in r.warnings {
                eprintln!("chute: warning: {w}");
            }
            if r.created {
                super::note(format_args!(
                    "created topic {topic} ({partitions} partition{}, replication factor {replication_factor})",
                    if partitions == 1 { "" } else { "s" }
                ));
            }
            Ok(0)
        }
        TopicCmd::Reassign {
            topic,
            partition,
            replicas,
            no_wait,
        } => reassign(
            target.root("topic reassign")?,
            &topic,
            partition,
            &replicas,
            no_wait,
        ),
        TopicCmd::ElectLeaders { topic } => {
            let changes = chute::replica::leadership::elect_preferred(
                target.root("topic elect-leaders")?,
                &topic,
            )?;
            if changes.is_empty() {
                super::note(format_args!(
                    "every partition of {topic} already has its preferred leader (or it is not in sync)"
                ));
            }
            for (name, old, new) in changes {
                super::note(format_args!(
                    "partition {name}-{}: leader {} -> {} (epoch {})",
                    new.partition,
                    old.leader.map_or("none".into(), |b| b.to_string()),
                    new.leader.map_or("none".into(), |b| b.to_string()),
                    new.leader_epoch
                ));
            }
            Ok(0)
        }
        TopicCmd::List { json } => {
            let list = backend.list_topics()?;
            if json {
                print_json(&list)?;
            } else {
                let names: String = list.iter().map(|t| format!("{}\n", t.name)).collect();
                print(&names)?;
            }
            Ok(0)
        }
        TopicCmd::Describe { topic, json } => {
            let d = backend.describe_topic(&topic)?;
            if json {
                print_json(&d)?;
                return Ok(0);
            }
            let mut s = format!("topic {}\n", d.name);
            let shown = |v: &serde_json::Value| match v {
                serde_json::Value::String(s) => s.clone(),
                serde_json::Value::Null => "unlimited".into(),
                v => v.to_string(),
            };
            // A key set for this topic is marked, with the default it overrides.
            let defaults = chute::cluster::config::TopicConfig::to_json(&Default::default());
            for (k, v) in &d.config {
                let mark = if d.overrides.contains(k) {
                    defaults.get(k).map_or(String::new(), |dv| {
                        format!("  (set; default {})", shown(dv))
                    })
                } else {
                    String::new()
                };
                s += &format!("  {k} = {}{mark}\n", shown(v));
            }
            let opt = |o: Option<u64>| o.map_or("-".to_string(), |v| v.to_string());
            let join = |v: &[u32]| {
                v.iter()
                    .map(|x| x.to_string())
                    .collect::<Vec<_>>()
                    .join(",")
            };
            let rows = d
                .partitions
                .iter()
                .map(|p| {
                    vec![
                        p.partition.to_string(),
                        p.leader.map_or("none".into(), |l| l.to_string()),
                        p.leader_epoch.to_string(),
                        join(&p.replicas),
                        join(&p.isr),
                        opt(p.log_start_offset),
                        opt(p.high_watermark),
                        opt(p.log_end_offset),
                        p.size_on_disk.map_or("-".into(), human_bytes),
                        {
                            let mut notes = Vec::new();
                            if !p.adding.is_empty() || !p.removing.is_empty() {
                                notes.push(format!(
                                    "moving: +{} -{}",
                                    join(&p.adding),
                                    join(&p.removing)
                                ));
                            }
                            if p.isr.len() < p.replicas.len() {
                                notes.push("under-replicated".into());
                            }
                            if p.over_retention {
                                notes.push("over retention".into());
                            }
                            if p.leader.is_none() {
                                notes.push("offline".into());
                            }
                            notes.join("; ")
                        },
                    ]
                })
                .collect();
            s += &table::render(
                &[
                    "PARTITION",
                    "LEADER",
                    "EPOCH",
                    "REPLICAS",
                    "ISR",
                    "LOG-START",
                    "HIGH-WATERMARK",
                    "LOG-END",
                    "SIZE",
                    "NOTE",
                ],
                rows,
            );
            print(&s)?;
            Ok(0)
        }
        TopicCmd::Alter {
            topic,
            partitions,
            config,
            delete_config,
        } => {
            backend.alter_topic(
                &topic,
                topics::AlterOptions {
                    partitions,
                    config,
                    delete_config,
                },
            )?;
            Ok(0)
        }
        TopicCmd::Delete {
            topic,
            lock_timeout,
        } => {
            backend.delete_topic(&topic, lock_timeout)?;
            super::note(format_args!("deleted topic {topic}"));
            Ok(0)
        }
    }
}

/// `topic reassign`: record the move, then (unless --no-wait) drive it to the end, showing
/// progress on a terminal.
fn reassign(
    cluster: &Cluster,
    topic: &str,
    partition: u32,
    replicas: &[u32],
    no_wait: bool,
) -> Result<i32> {
    use super::progress::{Stall, Status};
    use chute::replica::reassign::{self, Progress};
    let mut st = Status::new();
    let p = reassign::start(cluster, topic, partition, replicas)?;
    if p.adding.is_empty() && p.removing.is_empty() {
        st.say(&format!(
            "{topic}-{partition} already has replicas {replicas:?}"
        ));
        return Ok(0);
    }
    st.say(&format!(
        "{topic}-{partition}: moving to {replicas:?} (adding {:?}, removing {:?})",
        p.adding, p.removing
    ));
    if no_wait {
        return Ok(0);
    }
    let mut syncer = chute::replica::Syncer::new();
    let mut stall = Stall::new();
    // A signal stops the command between copy steps: the move is recorded in metadata, and a
    // controller (or this command run again) finishes it.
    chute::signals::install()?;
    loop {
        if chute::signals::stop_requested() {
            st.say(&format!(
                "{topic}-{partition}: stopped; the move is recorded and a running controller (or this command again) finishes it"
            ));
            return Ok(0);
        }
        match reassign::step(cluster, &mut syncer, topic, partition, None, &mut |l| {
            st.say(l)
        })? {
            Progress::Done => {
                st.say(&format!("{topic}-{partition}: now on {replicas:?}"));
                // An old replica whose removal met a held lock (said above, naming the holder)
                // is still there: the move is done, the clean-up is not (retry later: 75).
                let md = cluster.metadata()?;
                let left: Vec<u32> = p
                    .removing
                    .iter()
                    .copied()
                    .filter(|&b| cluster.replica_dir(&md, b, topic, partition).exists())
                    .collect();
                if !left.is_empty() {
                    st.say(&format!(
                        "{topic}-{partition}: the old replica on broker(s) {left:?} is not removed yet; a running controller (or `controller --once`) removes it"
                    ));
                    return Ok(chute::error::exit::TEMPFAIL);
                }
                return Ok(0);
            }
            Progress::Copying(v) => {
                let parts: Vec<String> = v
                    .iter()
                    .map(|(b, end, of)| {
                        let pct = if *of == 0 { 100 } else { end * 100 / of };
                        format!("broker {b}: {end}/{of} ({pct}%)")
                    })
                    .collect();
                st.show(&format!(
                    "copying {topic}-{partition}: {}",
                    parts.join(", ")
                ));
                if stall.stalled(v) {
                    st.finish();
                    return Err(chute::Error::Temporary(format!(
                        "{topic}-{partition}: the move is recorded but made no progress for 30s (a new replica's broker down?); the controller finishes it when it can, see `chute topic describe {topic}`"
                    )));
                }
            }
        }
    }
}

pub fn human_bytes(b: u64) -> String {
    const UNITS: [&str; 5] = ["B", "KiB", "MiB", "GiB", "TiB"];
    let mut v = b as f64;
    let mut u = 0;
    while v >= 1024.0 && u + 1 < UNITS.len() {
        v /= 1024.0;
        u += 1;
    }
    if u == 0 {
        format!("{b} B")
    } else {
        format!("{v:.1} {}", UNITS[u])
    }
}
