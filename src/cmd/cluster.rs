//! `chute cluster init|status`. Writes metadata and broker tags (init); reads them (status).

use super::{print, print_json, table};
use chute::cli::ClusterCmd;
use chute::cluster::{Cluster, probe_dir};
use chute::error::{Error, Result};
use serde_json::json;
use std::path::PathBuf;

pub fn run(cluster: &Cluster, cmd: ClusterCmd) -> Result<i32> {
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
                eprintln!(
                    "chute: cluster {} already exists at {}",
                    md.cluster_id,
                    cluster.root.display()
                );
            } else {
                eprintln!(
                    "chute: created cluster {} with {} broker{} at {}",
                    md.cluster_id,
                    brokers,
                    if brokers == 1 { "" } else { "s" },
                    cluster.root.display()
                );
            }
            Ok(0)
        }
        ClusterCmd::Status { json } => {
            let md = cluster.metadata()?;
            let mut brokers = Vec::new();
            let mut down = std::collections::HashSet::new();
            for b in &md.brokers {
                let path = cluster.broker_dir(&md, b.id);
                let state = if b.down {
                    "down (marked)"
                } else if probe_dir(&path).is_err() || cluster.check_broker_tag(&md, b.id).is_err()
                {
                    "down"
                } else {
                    "up"
                };
                if state != "up" {
                    down.insert(b.id);
                }
                brokers.push((b.id, path, state));
            }
            let mut under = 0;
            let mut offline = 0;
            for t in md.topics.values() {
                for p in &t.partitions {
                    match p.leader {
                        Some(l) if !down.contains(&l) => {
                            if p.isr.len() < p.replicas.len() {
                                under += 1;
                            }
                        }
                        _ => offline += 1,
                    }
                }
            }
            if json {
                print_json(&json!({
                    "cluster_id": md.cluster_id,
                    "controller": null,
                    "brokers": brokers.iter().map(|(id, p, s)| json!({"id": id, "path": p, "state": s.split(' ').next()})).collect::<Vec<_>>(),
                    "under_replicated_partitions": under,
                    "offline_partitions": offline,
                }))?;
            } else {
                let rows = brokers
                    .iter()
                    .map(|(id, p, s)| vec![id.to_string(), s.to_string(), p.display().to_string()])
                    .collect();
                let mut s = format!("cluster {}  controller: none\n", md.cluster_id);
                s += &table::render(&["BROKER", "STATE", "PATH"], rows);
                s += &format!(
                    "under-replicated partitions: {under}\noffline partitions: {offline}\n"
                );
                print(&s)?;
            }
            Ok(0)
        }
    }
}
