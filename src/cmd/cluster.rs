//! `chute cluster init|status`. Writes metadata and broker tags (init); reads them (status).

use super::{print, print_json, table};
use crate::cli::{ClusterCmd, ClusterConfigCmd};
use chute::cluster::Cluster;
use chute::cluster::brokers::{BrokerStatus, State};
use chute::controller::lease;
use chute::error::{Error, Result};
use serde_json::json;
use std::path::PathBuf;

pub fn run(target: &super::Target, cmd: ClusterCmd) -> Result<i32> {
    match (target, cmd) {
        (super::Target::Kafka(s), ClusterCmd::Status { json, check }) => {
            kafka_status(s, json, check)
        }
        (t, cmd) => {
            let what = match &cmd {
                ClusterCmd::Init { .. } => "cluster init",
                ClusterCmd::Config(_) => "cluster config",
                ClusterCmd::Status { .. } => "cluster status",
            };
            on_root(t.root(what)?, cmd)
        }
    }
}

/// `cluster status` on a Kafka cluster: its brokers and controller, and the partitions
/// without a leader or short of in-sync replicas (`--check`: exit 3 then, as on a root).
fn kafka_status(s: &chute::client::kafka::KafkaSettings, json: bool, check: bool) -> Result<i32> {
    let st = chute::client::kafka::status(s)?;
    if json {
        print_json(&json!({
            "cluster_id": st.cluster_id,
            "controller": st.controller,
            "brokers": st.brokers.iter().map(|(id, addr)| json!({"id": id, "address": addr})).collect::<Vec<_>>(),
            "under_replicated_partitions": st.under_replicated.len(),
            "offline_partitions": st.offline.len(),
            "under_replicated": st.under_replicated,
            "offline": st.offline,
        }))?;
    } else {
        let ctl = st
            .controller
            .map_or("none".to_string(), |c| format!("broker {c}"));
        let mut out = format!("Kafka cluster {}  controller: {ctl}\n", st.cluster_id);
        let rows = st
            .brokers
            .iter()
            .map(|(id, addr)| vec![id.to_string(), addr.clone()])
            .collect();
        out += &table::render(&["BROKER", "ADDRESS"], rows);
        let list = |v: &[String]| {
            if v.is_empty() {
                String::new()
            } else {
                format!(" ({})", v.join(", "))
            }
        };
        out += &format!(
            "under-replicated partitions: {}{}\noffline partitions: {}{}\n",
            st.under_replicated.len(),
            list(&st.under_replicated),
            st.offline.len(),
            list(&st.offline)
        );
        print(&out)?;
    }
    Ok(check_result(&st.offline, &st.under_replicated, check))
}

/// `--check`: exit 3, naming them on stderr, when partitions are offline or under-replicated.
fn check_result(offline: &[String], under: &[String], check: bool) -> i32 {
    if check && !(offline.is_empty() && under.is_empty()) {
        let mut why = Vec::new();
        if !offline.is_empty() {
            why.push(format!("offline: {}", offline.join(", ")));
        }
        if !under.is_empty() {
            why.push(format!("under-replicated: {}", under.join(", ")));
        }
        eprintln!("chute: check failed: {}", why.join("; "));
        return chute::error::exit::CHECK;
    }
    0
}

fn on_root(cluster: &Cluster, cmd: ClusterCmd) -> Result<i32> {
    match cmd {
        ClusterCmd::Init {
            brokers,
            broker_dir,
        } => {
            if brokers == 0 || brokers > 1000 {
                return Err(Error::Usage(format!(
                    "--brokers {brokers}: must be between 1 and 1000"
                )));
            }
            let mut dirs = Vec::new();
            for d in &broker_dir {
                let (id, path) = d
                    .split_once('=')
                    .ok_or_else(|| Error::Usage(format!("--broker-dir {d:?}: expected ID=PATH")))?;
                let id: u32 = id.trim().parse().map_err(|_| {
                    Error::Usage(format!("--broker-dir {d:?}: {id:?} is not a broker id"))
                })?;
                dirs.push((id, PathBuf::from(path)));
            }
            let existed = cluster.exists();
            let md = cluster.init(brokers, &dirs)?;
            if existed {
                super::note(format_args!(
                    "cluster {} already exists at {}",
                    md.cluster_id,
                    cluster.root.display()
                ));
            } else {
                super::note(format_args!(
                    "created cluster {} with {} broker{} at {}",
                    md.cluster_id,
                    brokers,
                    if brokers == 1 { "" } else { "s" },
                    cluster.root.display()
                ));
            }
            Ok(0)
        }
        ClusterCmd::Config(ClusterConfigCmd::Set { pairs }) => {
            for (k, v) in chute::cluster::settings::set(cluster, &pairs)? {
                match v {
                    Some(v) => super::note(format_args!("{k}={v}")),
                    None => super::note(format_args!("{k} back to its default")),
                }
            }
            Ok(0)
        }
        ClusterCmd::Config(ClusterConfigCmd::Get { key, json }) => {
            use chute::cluster::settings;
            let md = cluster.metadata()?;
            if let Some(k) = key {
                let v = settings::get(&md, &k)?;
                if json {
                    print_json(&json!({ k: v }))?;
                } else {
                    print(&format!("{v}\n"))?;
                }
                return Ok(0);
            }
            let all = settings::all(&md);
            if json {
                let m: serde_json::Map<String, serde_json::Value> = all
                    .iter()
                    .map(|(k, v, _, _)| (k.to_string(), json!(v)))
                    .collect();
                print_json(&m)?;
            } else {
                let mut s = String::new();
                for (k, v, set, _) in all {
                    s += &format!("{k}={v}{}\n", if set { "" } else { "  (default)" });
                }
                print(&s)?;
            }
            Ok(0)
        }
        ClusterCmd::Status { json, check } => {
            let md = cluster.metadata()?;
            let brokers: Vec<BrokerStatus> = cluster.broker_statuses(&md);
            let up = |id: u32| brokers.iter().any(|b| b.id == id && b.state == State::Up);
            let mut under = Vec::new();
            let mut offline = Vec::new();
            let mut over = Vec::new();
            let mut moving = Vec::new();
            for (name, t) in &md.topics {
                let cfg = chute::cluster::config::TopicConfig::resolve(&t.config);
                for p in &t.partitions {
                    let pname = format!("{name}-{}", p.partition);
                    if !p.adding.is_empty() || !p.removing.is_empty() {
                        moving.push(pname.clone());
                    }
                    match p.leader {
                        Some(l) if up(l) => {
                            let dir = cluster.replica_dir(&md, l, name, p.partition);
                            if let Ok(tail) = chute::log::PartitionReader::open(&dir, &pname)
                                .and_then(|r| r.tail())
                                && chute::topics::over_retention(&dir, &tail, &cfg)
                            {
                                over.push(pname.clone());
                            }
                            if p.isr.len() < p.replicas.len() {
                                under.push(pname);
                            }
                        }
                        _ => offline.push(pname),
                    }
                }
            }
            let controller = lease::active(&cluster.root);
            if json {
                print_json(&json!({
                    "cluster_id": md.cluster_id,
                    "controller": controller.as_ref().map(|c| json!({"pid": c.pid, "epoch": c.epoch, "host": c.host})),
                    "brokers": brokers,
                    "under_replicated_partitions": under.len(),
                    "offline_partitions": offline.len(),
                    "under_replicated": under,
                    "offline": offline,
                    "over_retention_partitions": over.len(),
                    "over_retention": over,
                    "reassigning": moving,
                }))?;
            } else {
                let rows = brokers
                    .iter()
                    .map(|b| {
                        vec![
                            b.id.to_string(),
                            super::broker::state(b),
                            b.path.display().to_string(),
                        ]
                    })
                    .collect();
                let now = chute::fsutil::now_ms();
                let ctl = match &controller {
                    Some(c) => format!(
                        "pid {} on {} (epoch {}, active for {}, heartbeat {})",
                        c.pid,
                        c.host,
                        c.epoch,
                        chute::time::format_age(now.saturating_sub(c.since_ms).max(0) as u64),
                        chute::time::format_ago(c.heartbeat_ms, now)
                    ),
                    None => "none".to_string(),
                };
                let mut s = format!("cluster {}  controller: {ctl}\n", md.cluster_id);
                s += &table::render(&["BROKER", "STATE", "PATH"], rows);
                let list = |v: &[String]| {
                    if v.is_empty() {
                        String::new()
                    } else {
                        format!(" ({})", v.join(", "))
                    }
                };
                s += &format!(
                    "under-replicated partitions: {}{}\noffline partitions: {}{}\n",
                    under.len(),
                    list(&under),
                    offline.len(),
                    list(&offline)
                );
                if !over.is_empty() {
                    s += &format!(
                        "over retention (run `chute controller`, or `--once` from cron): {}{}\n",
                        over.len(),
                        list(&over)
                    );
                }
                if !moving.is_empty() {
                    s += &format!("being reassigned: {}{}\n", moving.len(), list(&moving));
                }
                print(&s)?;
            }
            Ok(check_result(&offline, &under, check))
        }
    }
}
