//! `chute offsets -t T [--at TIME]`: reads partition tails (and time indexes for --at).
//! `chute offsets -g G [-t T]`: reads a group's offset files, owner locks' text and member files.
//! `chute offsets reset`: writes offset files under the group's exclusive `group.lock`.

use super::Target;
use super::{print, print_json, table};
use crate::cli::{OffsetsArgs, OffsetsCmd, ResetArgs};
use chute::error::Error;
use chute::error::Result;
use chute::group::admin::{PartitionStatus, ResetTo};
use serde_json::json;

pub fn run(target: &Target, a: OffsetsArgs) -> Result<i32> {
    if let Some(OffsetsCmd::Reset(r)) = a.command {
        return reset(target, r);
    }
    if let Some(g) = &a.group {
        let rows = target.backend()?.group_offsets(g, a.topic.as_deref())?;
        if a.json {
            print_json(&json!({"group": g, "partitions": rows}))?;
        } else {
            print(&status_table(&rows))?;
        }
        if let Some(max) = a.max_lag.filter(|_| a.check) {
            let bad: Vec<String> = rows.iter().filter_map(|r| max.exceeded(r)).collect();
            if !bad.is_empty() {
                eprintln!("chute: check failed: group {g}: {}", bad.join("; "));
                return Ok(chute::error::exit::CHECK);
            }
        }
        return Ok(0);
    }
    let Some(topic) = a.topic.clone() else {
        return Err(Error::Usage(
            "offsets needs -t TOPIC or -g GROUP (or `offsets reset -g G -t T ...`)".into(),
        ));
    };
    let at = a.at.map(chute::time::Time::ms);
    let parts: Vec<_> = target
        .backend()?
        .topic_offsets(&topic, at)?
        .into_iter()
        .map(|p| {
            let mut v =
                json!({"partition": p.partition, "earliest": p.earliest, "latest": p.latest});
            if let Some(o) = p.at_time {
                v["offset"] = json!(o);
            }
            v
        })
        .collect();
    if a.json {
        let mut v = json!({"topic": topic, "partitions": parts});
        if let Some(ts) = at {
            v["at"] = json!(ts);
        }
        print_json(&v)?;
    } else {
        let mut header = vec!["PARTITION", "EARLIEST", "LATEST"];
        if at.is_some() {
            header.push("OFFSET-AT-TIME");
        }
        let rows = parts
            .iter()
            .map(|p| {
                let mut r = vec![
                    p["partition"].to_string(),
                    p["earliest"].to_string(),
                    p["latest"].to_string(),
                ];
                if at.is_some() {
                    r.push(p["offset"].to_string());
                }
                r
            })
            .collect();
        print(&table::render(&header, rows))?;
    }
    Ok(0)
}

/// The `kafka-consumer-groups --describe` table, with lag in time and the commit's age.
pub fn status_table(rows: &[PartitionStatus]) -> String {
    let header = [
        "TOPIC",
        "PARTITION",
        "COMMITTED",
        "LOG-END",
        "LAG",
        "LAG-TIME",
        "COMMITTED-AT",
        "OWNER",
    ];
    let now = chute::fsutil::now_ms();
    let rows = rows
        .iter()
        .map(|r| {
            vec![
                r.topic.clone(),
                r.partition.to_string(),
                r.committed.map_or("-".into(), |c| c.to_string()),
                r.log_end_offset.to_string(),
                r.lag.to_string(),
                if r.lag == 0 {
                    "-".into()
                } else {
                    chute::time::format_age(r.lag_ms)
                },
                r.committed_ms
                    .map_or("-".into(), |t| chute::time::format_ago(t, now)),
                r.owner.as_ref().map_or("-".into(), |o| match o.pid {
                    // A Kafka group's member: its id, not a process.
                    0 => format!("member {} on {}", o.member, o.host),
                    pid => format!("pid {pid} on {}", o.host),
                }),
            ]
        })
        .collect();
    table::render(&header, rows)
}

fn reset(target: &Target, a: ResetArgs) -> Result<i32> {
    let to = if a.to_earliest {
        ResetTo::Earliest
    } else if a.to_latest {
        ResetTo::Latest
    } else if let Some(n) = a.to_offset {
        ResetTo::Offset(n)
    } else if let Some(t) = a.to_datetime.or(a.by_duration) {
        ResetTo::Time(t.ms())
    } else if let Some(n) = a.shift_by {
        ResetTo::ShiftBy(n)
    } else {
        return Err(Error::Usage("offsets reset needs one of --to-earliest, --to-latest, --to-offset, --to-datetime, --by-duration, --shift-by".into()));
    };
    let plan =
        target
            .backend()?
            .reset_group_offsets(&a.group, &a.topic, &a.partition, &to, a.execute)?;
    if a.json {
        print_json(&json!({"group": a.group, "executed": a.execute, "partitions": plan}))?;
    } else {
        let rows = plan
            .iter()
            .map(|r| {
                vec![
                    r.topic.clone(),
                    r.partition.to_string(),
                    format!(
                        "{} -> {}",
                        r.old.map_or("-".into(), |o| o.to_string()),
                        r.new
                    ),
                ]
            })
            .collect();
        print(&table::render(&["TOPIC", "PARTITION", "OLD -> NEW"], rows))?;
        if !a.execute {
            super::note(format_args!(
                "dry run, nothing changed; add --execute to apply"
            ));
        }
    }
    Ok(0)
}
