//! `chute metrics [--listen ADDR]`: the cluster snapshot (src/snapshot.rs) in Prometheus' text
//! exposition format 0.0.4, the one node_exporter's textfile collector reads (no OpenMetrics
//! `# EOF`), written by the `prometheus` crate's TextEncoder. With `--listen`, served over HTTP
//! for a scraper, a fresh snapshot per scrape. Metric names: docs/metrics.md.

use crate::cli::MetricsArgs;
use chute::cluster::Cluster;
use chute::cluster::brokers::State;
use chute::error::{Error, Result};
use chute::snapshot::Snapshot;
use prometheus::{Encoder, GaugeVec, IntGaugeVec, Opts, Registry, TextEncoder};
use std::time::Duration;

pub fn run(cluster: &Cluster, a: MetricsArgs) -> Result<i32> {
    let Some(addr) = a.listen else {
        let body = render(&chute::snapshot::take(cluster)?)?;
        super::print_bytes(&body)?;
        return Ok(0);
    };
    let server = tiny_http::Server::http(&addr)
        .map_err(|e| Error::Other(format!("--listen {addr}: {e}")))?;
    let bound = server
        .server_addr()
        .to_ip()
        .map_or(addr.clone(), |a| a.to_string());
    super::note(format_args!("serving metrics on http://{bound}/metrics"));
    chute::signals::install()?;
    while !chute::signals::stop_requested() {
        let Ok(Some(req)) = server.recv_timeout(Duration::from_millis(250)) else {
            continue;
        };
        let path = req.url().split('?').next().unwrap_or("");
        let resp = if path != "/metrics" && path != "/" {
            tiny_http::Response::from_string("not found; try /metrics\n").with_status_code(404)
        } else {
            match chute::snapshot::take(cluster).and_then(|s| render(&s)) {
                Ok(body) => tiny_http::Response::from_data(body).with_header(
                    "Content-Type: text/plain; version=0.0.4; charset=utf-8"
                        .parse::<tiny_http::Header>()
                        .expect("a valid header"),
                ),
                // The scraper sees the failure (and says so); the server keeps serving.
                Err(e) => tiny_http::Response::from_string(format!("{e}\n")).with_status_code(500),
            }
        };
        // A scraper that hung up is its own business.
        let _ = req.respond(resp);
    }
    Ok(0)
}

fn gauge(reg: &Registry, name: &str, help: &str, labels: &[&str]) -> Result<IntGaugeVec> {
    let g = IntGaugeVec::new(Opts::new(name, help), labels).map_err(prom)?;
    reg.register(Box::new(g.clone())).map_err(prom)?;
    Ok(g)
}

fn prom(e: prometheus::Error) -> Error {
    Error::Other(format!("metrics: {e}"))
}

/// The snapshot as exposition text.
pub fn render(s: &Snapshot) -> Result<Vec<u8>> {
    let reg = Registry::new();
    let tp = ["topic", "partition"];
    let gtp = ["group", "topic", "partition"];
    let broker_up = gauge(
        &reg,
        "chute_broker_up",
        "1 if the broker's directory is usable",
        &["broker"],
    )?;
    let ctl_active = gauge(
        &reg,
        "chute_controller_active",
        "1 if a controller holds a fresh lease",
        &[],
    )?;
    let ctl_epoch = gauge(
        &reg,
        "chute_controller_epoch",
        "Epoch of the active controller",
        &[],
    )?;
    let log_start = gauge(
        &reg,
        "chute_partition_log_start_offset",
        "First offset still in the log",
        &tp,
    )?;
    let log_end = gauge(
        &reg,
        "chute_partition_log_end_offset",
        "Next offset the leader will assign (rate() of it is the produce rate)",
        &tp,
    )?;
    let hw = gauge(
        &reg,
        "chute_partition_high_watermark",
        "Offset below which every in-sync replica has the records (what consumers see)",
        &tp,
    )?;
    let size = gauge(
        &reg,
        "chute_partition_size_bytes",
        "Bytes of the leader replica's segment files",
        &tp,
    )?;
    let replicas = gauge(&reg, "chute_partition_replicas", "Assigned replicas", &tp)?;
    let isr = gauge(
        &reg,
        "chute_partition_in_sync_replicas",
        "Replicas in sync",
        &tp,
    )?;
    let under = gauge(
        &reg,
        "chute_partition_under_replicated",
        "1 if fewer replicas are in sync than assigned",
        &tp,
    )?;
    let offline = gauge(
        &reg,
        "chute_partition_offline",
        "1 if the partition has no live leader",
        &tp,
    )?;
    let leader = gauge(
        &reg,
        "chute_partition_leader",
        "Broker id of the leader, -1 for none",
        &tp,
    )?;
    let members = gauge(
        &reg,
        "chute_group_members",
        "Live members of the consumer group",
        &["group"],
    )?;
    let committed = gauge(
        &reg,
        "chute_group_committed_offset",
        "The group's committed offset (next record to deliver)",
        &gtp,
    )?;
    let lag = gauge(
        &reg,
        "chute_group_lag",
        "Records not yet consumed (high watermark minus committed)",
        &gtp,
    )?;
    let lag_s = GaugeVec::new(
        Opts::new(
            "chute_group_lag_seconds",
            "Age of the oldest record not yet consumed, 0 when none waits",
        ),
        &gtp,
    )
    .map_err(prom)?;
    reg.register(Box::new(lag_s.clone())).map_err(prom)?;
    let commit_ts = gauge(
        &reg,
        "chute_group_last_commit_timestamp_seconds",
        "When the committed offset was written (Unix time)",
        &gtp,
    )?;

    for b in &s.brokers {
        broker_up
            .with_label_values(&[&b.id.to_string()])
            .set(i64::from(b.state == State::Up));
    }
    ctl_active
        .with_label_values::<&str>(&[])
        .set(i64::from(s.controller.is_some()));
    if let Some(c) = &s.controller {
        ctl_epoch.with_label_values::<&str>(&[]).set(c.epoch as i64);
    }
    for p in &s.partitions {
        let part = p.partition.to_string();
        let l = [p.topic.as_str(), part.as_str()];
        let set = |g: &IntGaugeVec, v: Option<u64>| {
            if let Some(v) = v {
                g.with_label_values(&l).set(v as i64);
            }
        };
        set(&log_start, p.log_start_offset);
        set(&log_end, p.log_end_offset);
        set(&hw, p.high_watermark);
        set(&size, p.size_bytes);
        replicas.with_label_values(&l).set(p.replicas.len() as i64);
        isr.with_label_values(&l).set(p.isr.len() as i64);
        under
            .with_label_values(&l)
            .set(i64::from(p.under_replicated));
        offline.with_label_values(&l).set(i64::from(p.offline));
        leader
            .with_label_values(&l)
            .set(p.leader.map_or(-1, i64::from));
    }
    for g in &s.groups {
        members.with_label_values(&[&g.group]).set(g.members as i64);
        for r in &g.partitions {
            let part = r.partition.to_string();
            let l = [g.group.as_str(), r.topic.as_str(), part.as_str()];
            if let Some(c) = r.committed {
                committed.with_label_values(&l).set(c as i64);
            }
            if let Some(t) = r.committed_ms {
                commit_ts.with_label_values(&l).set(t / 1000);
            }
            lag.with_label_values(&l).set(r.lag as i64);
            lag_s.with_label_values(&l).set(r.lag_ms as f64 / 1000.0);
        }
    }
    let mut out = Vec::new();
    TextEncoder::new()
        .encode(&reg.gather(), &mut out)
        .map_err(prom)?;
    Ok(out)
}
