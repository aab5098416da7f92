//! `chute top [--once] [--json]`: the operator's view of the whole cluster (src/snapshot.rs):
//! partitions with offsets, size, produce rate and replica health; groups with lag in records
//! and in time; brokers and the controller. `--once` prints one snapshot (a table, or JSON);
//! without it, on a terminal, the view is redrawn every `--interval` until a signal, with
//! produce and consume rates from the previous snapshot.

use super::{print, print_json, table, topic::human_bytes};
use crate::cli::TopArgs;
use chute::cluster::Cluster;
use chute::cluster::brokers::State;
use chute::error::Result;
use chute::snapshot::Snapshot;
use std::collections::HashMap;
use std::io::IsTerminal;

pub fn run(cluster: &Cluster, a: TopArgs) -> Result<i32> {
    if a.once || a.json || !std::io::stdout().is_terminal() {
        let s = chute::snapshot::take(cluster)?;
        if a.json {
            print_json(&s)?;
        } else {
            print(&render(&s, None))?;
        }
        return Ok(0);
    }
    chute::signals::install()?;
    let mut prev: Option<Snapshot> = None;
    while !chute::signals::stop_requested() {
        let s = chute::snapshot::take(cluster)?;
        // Home, clear: one frame replaces the last, as top(1) does.
        print(&format!("\x1b[H\x1b[2J{}", render(&s, prev.as_ref())))?;
        prev = Some(s);
        let until = std::time::Instant::now() + a.interval;
        while std::time::Instant::now() < until && !chute::signals::stop_requested() {
            std::thread::sleep(std::time::Duration::from_millis(50));
        }
    }
    Ok(0)
}

/// Records per second between two snapshots, per (topic, partition) of `key`.
fn rates<K: std::hash::Hash + Eq>(
    now: impl Iterator<Item = (K, u64)>,
    before: impl Iterator<Item = (K, u64)>,
    secs: f64,
) -> HashMap<K, f64> {
    let before: HashMap<K, u64> = before.collect();
    now.filter_map(|(k, v)| {
        let b = *before.get(&k)?;
        (secs > 0.0).then(|| (k, v.saturating_sub(b) as f64 / secs))
    })
    .collect()
}

pub fn render(s: &Snapshot, prev: Option<&Snapshot>) -> String {
    let secs = prev.map_or(0.0, |p| (s.taken_ms - p.taken_ms) as f64 / 1000.0);
    let ends = |x: &Snapshot| {
        x.partitions
            .iter()
            .filter_map(|p| Some(((p.topic.clone(), p.partition), p.log_end_offset?)))
            .collect::<Vec<_>>()
    };
    let produce = prev.map(|p| rates(ends(s).into_iter(), ends(p).into_iter(), secs));
    let commits = |x: &Snapshot| {
        x.groups
            .iter()
            .flat_map(|g| {
                g.partitions.iter().filter_map(|r| {
                    Some((
                        (g.group.clone(), r.topic.clone(), r.partition),
                        r.committed?,
                    ))
                })
            })
            .collect::<Vec<_>>()
    };
    let consume = prev.map(|p| rates(commits(s).into_iter(), commits(p).into_iter(), secs));

    let ctl = match &s.controller {
        Some(c) => format!("pid {} on {} (epoch {})", c.pid, c.host, c.epoch),
        None => "none".into(),
    };
    let brokers: Vec<String> = s
        .brokers
        .iter()
        .map(|b| match b.state {
            State::Up => format!("{} up", b.id),
            State::Down => format!("{} DOWN ({})", b.id, b.reason),
        })
        .collect();
    let offline = s.partitions.iter().filter(|p| p.offline).count();
    let under = s.partitions.iter().filter(|p| p.under_replicated).count();
    let mut out = format!(
        "controller: {ctl}   brokers: {}\npartitions: {}   offline: {offline}   under-replicated: {under}\n\n",
        if brokers.is_empty() {
            "none".into()
        } else {
            brokers.join(", ")
        },
        s.partitions.len()
    );
    let num = |v: Option<u64>| v.map_or("-".into(), |v| v.to_string());
    let rows = s
        .partitions
        .iter()
        .map(|p| {
            let state = if p.offline {
                "OFFLINE"
            } else if p.under_replicated {
                "under-replicated"
            } else {
                "ok"
            };
            let rate = produce
                .as_ref()
                .and_then(|r| r.get(&(p.topic.clone(), p.partition)))
                .map_or("-".into(), |r| format!("{r:.0}/s"));
            vec![
                p.topic.clone(),
                p.partition.to_string(),
                p.leader.map_or("-".into(), |l| l.to_string()),
                format!("{:?}", p.isr),
                num(p.log_end_offset),
                num(p.high_watermark),
                p.size_bytes.map_or("-".into(), human_bytes),
                rate,
                state.to_string(),
            ]
        })
        .collect();
    out += &table::render(
        &[
            "TOPIC",
            "PARTITION",
            "LEADER",
            "ISR",
            "LOG-END",
            "HW",
            "SIZE",
            "PRODUCE",
            "STATE",
        ],
        rows,
    );
    let mut rows = Vec::new();
    for g in &s.groups {
        for r in &g.partitions {
            let rate = consume
                .as_ref()
                .and_then(|c| c.get(&(g.group.clone(), r.topic.clone(), r.partition)))
                .copied();
            // Time to catch up at the present consume rate, when it is catching up.
            let eta = match rate {
                Some(c) if c > 0.0 && r.lag > 0 => {
                    chute::time::format_age((r.lag as f64 / c * 1000.0) as u64)
                }
                _ => "-".into(),
            };
            rows.push(vec![
                g.group.clone(),
                g.members.to_string(),
                r.topic.clone(),
                r.partition.to_string(),
                num(r.committed),
                r.lag.to_string(),
                if r.lag == 0 {
                    "-".into()
                } else {
                    chute::time::format_age(r.lag_ms)
                },
                rate.map_or("-".into(), |c| format!("{c:.0}/s")),
                eta,
            ]);
        }
    }
    if !rows.is_empty() {
        out.push('\n');
        out += &table::render(
            &[
                "GROUP",
                "MEMBERS",
                "TOPIC",
                "PARTITION",
                "COMMITTED",
                "LAG",
                "LAG-TIME",
                "CONSUME",
                "CATCH-UP",
            ],
            rows,
        );
    }
    out
}
