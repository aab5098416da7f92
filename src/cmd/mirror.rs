//! `chute mirror`: this root's topics copied to a Kafka cluster (src/mirror does the protocol).

use super::progress::Status;
use crate::cli::MirrorArgs;
use chute::client::Backend;
use chute::client::kafka::KafkaSettings;
use chute::client::local::Local;
use chute::cluster::Cluster;
use chute::consume::Subscription;
use chute::error::{Error, Result};
use chute::mirror::{Event, MirrorOptions};
use std::time::Instant;

/// `root`: the directory root (never a Kafka cluster); `bootstrap`, `cluster`, `properties`:
/// the top-level Kafka options, which `--to-kafka` without a value relies on.
pub fn run(
    root: &Cluster,
    bootstrap: Option<String>,
    cluster: Option<String>,
    properties: Vec<(String, String)>,
    a: MirrorArgs,
) -> Result<i32> {
    let topics = Subscription::parse(&a.topic)?;
    let (flag, given) = match &a.from_kafka {
        Some(f) => ("--from-kafka", f.clone()),
        None => ("--to-kafka", a.to_kafka.clone().unwrap_or_default()),
    };
    let to = Some(given).filter(|s| !s.is_empty()).or(bootstrap);
    if to.is_none() && cluster.is_none() {
        return Err(Error::Usage(format!(
            "{flag} needs HOST:PORT, or a cluster named by -b or --cluster before the subcommand"
        )));
    }
    let kafka = KafkaSettings::resolve(to, cluster.as_deref(), properties)?;
    let name = match a.name {
        Some(n) => n,
        None => default_name(root),
    };
    if a.batch_records == 0 {
        return Err(Error::Usage("--batch-records must be at least 1".into()));
    }
    let o = MirrorOptions {
        topics,
        rename: a.rename,
        name,
        follow: a.follow,
        batch_records: a.batch_records,
        replication_factor: a.replication_factor,
        retry_for: a.retry_for,
        append: a.append,
    };
    chute::signals::install()?;
    let started = Instant::now();
    let mut status = Status::new();
    let mut shown = Instant::now();
    let from = a.from_kafka.is_some();
    let mut waiting = false;
    let mut report = |e: Event<'_>| match e {
        Event::Committed { summary, behind } => {
            if shown.elapsed().as_millis() >= 200 {
                shown = Instant::now();
                let behind = format!(", {behind} behind");
                status.show(&format!(
                    "mirror {}: {} record(s) copied{behind}",
                    summary.name, summary.records
                ));
            }
        }
        Event::Waiting {
            error,
            retry_in,
            behind,
            ..
        } => {
            status.finish();
            waiting = true;
            let behind = behind.map_or(String::new(), |b| format!("; {b} record(s) behind"));
            eprintln!(
                "chute: mirror {}: {error}; trying again in {}{behind}",
                o.name,
                humantime::format_duration(retry_in)
            );
        }
        Event::Resumed { summary } => {
            if summary.restarts > 0 && std::mem::take(&mut waiting) {
                status.say(&format!("mirror {}: the cluster answers again", o.name));
            }
        }
        Event::Warning(w) => {
            // Not hushed by --quiet: records may be lost to the destination.
            status.finish();
            eprintln!("chute: warning: mirror {}: {w}", o.name);
        }
        Event::Created { source, dest } => {
            let on = if from { "this root" } else { "the cluster" };
            status.say(&format!(
                "mirror {}: created topic {dest} on {on} (from {source})",
                o.name
            ));
        }
    };
    let summary = if from {
        chute::mirror::from_kafka(&kafka, root, &o, &mut report)
    } else {
        chute::mirror::to_kafka(root, &kafka, &o, &mut report)
    };
    status.finish();
    let summary = summary?;
    let mut translated = Vec::new();
    if !a.groups.is_empty() {
        for g in &a.groups {
            chute::group::check_name(g)?;
        }
        let local: Box<dyn Backend> = Box::new(Local {
            cluster: root.clone(),
        });
        let remote = chute::client::kafka::connect(&kafka)?;
        let (source, dest) = if from {
            (remote.as_ref(), local.as_ref())
        } else {
            (local.as_ref(), remote.as_ref())
        };
        translated =
            chute::mirror::groups::translate(source, dest, &a.groups, &summary, &mut |w| {
                eprintln!("chute: warning: {w}")
            })?;
        if !a.json {
            for t in &translated {
                super::note(format_args!(
                    "group {}: {}-{} at offset {} (offset {} on the source)",
                    t.group, t.topic, t.partition, t.offset, t.source_offset
                ));
            }
        }
    }
    if a.json {
        let mut v = serde_json::to_value(&summary).map_err(|e| Error::Other(e.to_string()))?;
        v["seconds"] = serde_json::json!(started.elapsed().as_secs_f64());
        if !a.groups.is_empty() {
            v["groups"] =
                serde_json::to_value(&translated).map_err(|e| Error::Other(e.to_string()))?;
        }
        super::print_json(&v)?;
    } else {
        let (what, dir) = if from {
            ("durable write(s)", "from")
        } else {
            ("transaction(s)", "to")
        };
        super::note(format_args!(
            "mirror {}: {} record(s) copied in {} {what} {dir} {}",
            summary.name, summary.records, summary.transactions, kafka.bootstrap
        ));
    }
    Ok(0)
}

/// The host's name and the root's directory name: a mirror per root and machine, so that
/// edge machines mirroring to one cluster do not take over each other's transactions.
fn default_name(root: &Cluster) -> String {
    // The same host name the status file and `top` use.
    let host = chute::group::hostname();
    let dir = root
        .root
        .file_name()
        .map(|d| d.to_string_lossy().into_owned())
        .unwrap_or_else(|| "root".into());
    let clean = |s: &str| -> String {
        s.chars()
            .map(|c| {
                if c.is_ascii_alphanumeric() || c == '-' || c == '_' {
                    c
                } else {
                    '_'
                }
            })
            .collect()
    };
    format!("{}.{}", clean(&host), clean(&dir))
}
