//! `chute group list | describe G | delete G`: reads group directories and member files;
//! delete takes the group's `group.lock` exclusively (refused while members are live).

use super::Target;
use super::{print, print_json, table};
use crate::cli::GroupCmd;
use chute::error::Result;
use serde_json::json;

pub fn run(target: &Target, c: GroupCmd) -> Result<i32> {
    let backend = target.backend()?;
    match c {
        GroupCmd::List { json } => {
            let rows: Vec<_> = backend
                .list_groups()?
                .into_iter()
                .map(|g| json!({"group": g.group, "members": g.members, "topics": g.topics}))
                .collect();
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
            let d = backend.describe_group(&group)?;
            let (live, rows) = (d.members, d.partitions);
            if json {
                print_json(&json!({"group": d.group, "members": live, "partitions": rows}))?;
            } else {
                let mut s = format!("group {}: {} live member(s)\n", d.group, live.len());
                let now = chute::fsutil::now_ms();
                if !live.is_empty() {
                    let mrows = live
                        .iter()
                        .map(|m| {
                            // A Kafka group's coordinator says neither pid nor start, and
                            // assigns partitions itself.
                            let kafka = m.format == "kafka";
                            vec![
                                m.id.clone(),
                                if kafka { "-".into() } else { m.pid.to_string() },
                                m.host.clone(),
                                if kafka {
                                    "-".into()
                                } else {
                                    chute::time::format_ago(m.started_ms, now)
                                },
                                m.topics.join(","),
                                if kafka {
                                    "coordinator".into()
                                } else {
                                    m.assignor.name().to_string()
                                },
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
            backend.delete_group(&group)?;
            super::note(format_args!("deleted group {group}"));
        }
    }
    Ok(0)
}
