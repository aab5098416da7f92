//! `chute offsets -t T [--at TIME]`: reads partition tails (and time indexes for --at).

use super::{print, print_json, table};
use chute::cli::OffsetsArgs;
use chute::cluster::Cluster;
use chute::consume::parse_time;
use chute::error::Result;
use chute::log::PartitionReader;
use serde_json::json;

pub fn run(cluster: &Cluster, a: OffsetsArgs) -> Result<i32> {
    let at = a.at.as_deref().map(|s| parse_time(s, "--at")).transpose()?;
    let md = cluster.metadata_with_topic(&a.topic)?;
    let t = md.topic(&a.topic)?;
    let mut parts = Vec::new();
    for p in &t.partitions {
        let dir = cluster.leader_dir(&md, &a.topic, p.partition)?;
        let mut r = PartitionReader::open(&dir, &format!("{}-{}", a.topic, p.partition))?;
        let tail = r.tail()?;
        let mut v = json!({"partition": p.partition, "earliest": tail.log_start_offset, "latest": tail.end_offset});
        if let Some(ts) = at {
            v["offset"] = json!(r.offset_for_time(ts, &tail)?);
        }
        parts.push(v);
    }
    if a.json {
        let mut v = json!({"topic": a.topic, "partitions": parts});
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
