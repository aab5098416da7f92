//! `chute group list | describe G | delete G`: reads group directories and member files;
//! delete takes the group's `group.lock` exclusively (refused while members are live).

use super::{print, print_json, table};
use crate::cli::GroupCmd;
use chute::cluster::Cluster;
use chute::error::Result;
use chute::group::{Group, admin::status, member::live_members};
use serde_json::json;

pub fn run(cluster: &Cluster, c: GroupCmd) -> Result<i32> {
    match c {
        GroupCmd::List { json } => {
            let mut rows = Vec::new();
            for g in chute::group::list(cluster)? {
                let live = live_members(&g, None)?;
                rows.push(json!({"group": g.name, "members": live.len(), "topics": g.topics()?}));
            }
            if json {
                print_json(&json!({ "groups": rows }))?;
            } else {
                let rows = rows
                    .iter()
                    .map(|r| {
                        vec![
                            r["group"].as_str().unwrap_or("").to_string(),
                            r["members"].to_string(),
                            r["topics"]
                                .as_array()
                                .map(|a| {
                                    a.iter()
                                        .filter_map(|t| t.as_str())
                                        .collect::<Vec<_>>()
                                        .join(",")
                                })
                                .unwrap_or_default(),
                        ]
                    })
                    .collect();
                print(&table::render(&["GROUP", "MEMBERS", "TOPICS"], rows))?;
            }
        }
        GroupCmd::Describe { group, json } => {
            let g = Group::existing(cluster, &group)?;
            let (live, rows) = status(cluster, &g, None)?;
            if json {
                print_json(&json!({"group": g.name, "members": live, "partitions": rows}))?;
            } else {
                let mut s = format!("group {}: {} live member(s)\n", g.name, live.len());
                if !live.is_empty() {
                    let mrows = live
                        .iter()
                        .map(|m| {
                            vec![
                                m.id.clone(),
                                m.pid.to_string(),
                                m.host.clone(),
                                humantime::format_rfc3339_seconds(
                                    std::time::UNIX_EPOCH
                                        + std::time::Duration::from_millis(m.started_ms as u64),
                                )
                                .to_string(),
                                m.topics.join(","),
                                m.assignor.name().to_string(),
                            ]
                        })
                        .collect();
                    s.push_str(&table::render(
                        &["MEMBER", "PID", "HOST", "STARTED", "TOPICS", "ASSIGNOR"],
                        mrows,
                    ));
                }
                s.push('\n');
                s.push_str(&super::offsets::status_table(&rows));
                print(&s)?;
            }
        }
        GroupCmd::Delete { group } => {
            let g = Group::existing(cluster, &group)?;
            g.delete()?;
            eprintln!("chute: deleted group {}", g.name);
        }
    }
    Ok(0)
}
