//! `chute topic ...`: metadata changes under `metadata.lock`; describe reads partition tails.

use super::{print, print_json, table};
use chute::cli::TopicCmd;
use chute::cluster::Cluster;
use chute::error::Result;
use chute::topics;

pub fn run(cluster: &Cluster, cmd: TopicCmd) -> Result<i32> {
    match cmd {
        TopicCmd::Create {
            topic,
            partitions,
            replication_factor,
            config,
            if_not_exists,
        } => {
            let r = topics::create(
                cluster,
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
                eprintln!(
                    "chute: created topic {topic} ({partitions} partition{}, replication factor {replication_factor})",
                    if partitions == 1 { "" } else { "s" }
                );
            }
            Ok(0)
        }
        TopicCmd::ElectLeaders { topic } => {
            let changes = chute::controller::elect_preferred(cluster, &topic)?;
            if changes.is_empty() {
                eprintln!(
                    "chute: every partition of {topic} already has its preferred leader (or it is not in sync)"
                );
            }
            for (name, old, new) in changes {
                eprintln!(
                    "chute: partition {name}-{}: leader {} -> {} (epoch {})",
                    new.partition,
                    old.leader.map_or("none".into(), |b| b.to_string()),
                    new.leader.map_or("none".into(), |b| b.to_string()),
                    new.leader_epoch
                );
            }
            Ok(0)
        }
        TopicCmd::List { json } => {
            let md = match cluster.metadata() {
                Ok(md) => md,
                Err(chute::Error::NotFound(_)) if !cluster.exists() => {
                    if json {
                        print_json(&serde_json::json!([]))?;
                    }
                    return Ok(0);
                }
                Err(e) => return Err(e),
            };
            if json {
                let v: Vec<_> = md
                    .topics
                    .iter()
                    .map(|(n, t)| serde_json::json!({"name": n, "partitions": t.partitions.len(), "replication_factor": t.partitions[0].replicas.len()}))
                    .collect();
                print_json(&v)?;
            } else {
                let names: String = md.topics.keys().map(|n| format!("{n}\n")).collect();
                print(&names)?;
            }
            Ok(0)
        }
        TopicCmd::Describe { topic, json } => {
            let d = topics::describe(cluster, &topic)?;
            if json {
                print_json(&d)?;
                return Ok(0);
            }
            let mut s = format!("topic {}\n", d.name);
            for (k, v) in &d.config {
                let v = match v {
                    serde_json::Value::String(s) => s.clone(),
                    serde_json::Value::Null => "unlimited".into(),
                    v => v.to_string(),
                };
                s += &format!("  {k} = {v}\n");
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
            topics::alter(
                cluster,
                &topic,
                topics::AlterOptions {
                    partitions,
                    config,
                    delete_config,
                },
            )?;
            Ok(0)
        }
        TopicCmd::Delete { topic } => {
            topics::delete(cluster, &topic)?;
            eprintln!("chute: deleted topic {topic}");
            Ok(0)
        }
    }
}
