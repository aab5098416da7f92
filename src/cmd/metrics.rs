//! `chute metrics [--listen ADDR]`: the cluster snapshot (src/snapshot.rs) in Prometheus' text
//! exposition format 0.0.4, the one node_exporter's textfile collector reads (no OpenMetrics
//! `# EOF`), written by the `prometheus` crate's TextEncoder from metric families built
//! directly. With `--listen`, served over HTTP
//! for a scraper, a fresh snapshot per scrape. Metric names: docs/metrics.md.

use crate::cli::MetricsArgs;
use chute::cluster::Cluster;
use chute::cluster::brokers::State;
use chute::error::{Error, Result};
use chute::snapshot::Snapshot;
use prometheus::proto::{Gauge, LabelPair, Metric, MetricFamily, MetricType};
use prometheus::{Encoder, TextEncoder};
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

/// One gauge family, built as the crate's model directly, not through its registry and
/// metric vectors, whose per-sample descriptors cost more than the snapshot itself at 1,000
/// partitions.
struct Family {
    labels: &'static [&'static str],
    proto: MetricFamily,
}

impl Family {
    fn new(name: &'static str, help: &'static str, labels: &'static [&'static str]) -> Family {
        let mut proto = MetricFamily::default();
        proto.set_name(name.to_string());
        proto.set_help(help.to_string());
        proto.set_field_type(MetricType::GAUGE);
        Family { labels, proto }
    }

    /// A sample with label values in `labels`' order.
    fn add(&mut self, values: &[&str], v: f64) {
        let mut m = Metric::default();
        m.set_label(
            self.labels
                .iter()
                .zip(values)
                .map(|(n, v)| {
                    let mut l = LabelPair::default();
                    l.set_name(n.to_string());
                    l.set_value(v.to_string());
                    l
                })
                .collect(),
        );
        let mut g = Gauge::default();
        g.set_value(v);
        m.set_gauge(g);
        self.proto.mut_metric().push(m);
    }
}

fn prom(e: prometheus::Error) -> Error {
    Error::Other(format!("metrics: {e}"))
}

/// The snapshot as exposition text.
pub fn render(s: &Snapshot) -> Result<Vec<u8>> {
    const TP: &[&str] = &["topic", "partition"];
    const GTP: &[&str] = &["group", "topic", "partition"];
    let mut broker_up = Family::new(
        "chute_broker_up",
        "1 if the broker's directory is usable",
        &["broker"],
    );
    let mut ctl_active = Family::new(
        "chute_controller_active",
        "1 if a controller holds a fresh lease",
        &[],
    );
    let mut ctl_epoch = Family::new(
        "chute_controller_epoch",
        "Epoch of the active controller",
        &[],
    );
    let mut log_start = Family::new(
        "chute_partition_log_start_offset",
        "First offset still in the log",
        TP,
    );
    let mut log_end = Family::new(
        "chute_partition_log_end_offset",
        "Next offset the leader will assign (rate() of it is the produce rate)",
        TP,
    );
    let mut hw = Family::new(
        "chute_partition_high_watermark",
        "Offset below which every in-sync replica has the records (what consumers see)",
        TP,
    );
    let mut size = Family::new(
        "chute_partition_size_bytes",
        "Bytes of the leader replica's segment files",
        TP,
    );
    let mut replicas = Family::new("chute_partition_replicas", "Assigned replicas", TP);
    let mut isr = Family::new("chute_partition_in_sync_replicas", "Replicas in sync", TP);
    let mut under = Family::new(
        "chute_partition_under_replicated",
        "1 if fewer replicas are in sync than assigned",
        TP,
    );
    let mut offline = Family::new(
        "chute_partition_offline",
        "1 if the partition has no live leader",
        TP,
    );
    let mut leader = Family::new(
        "chute_partition_leader",
        "Broker id of the leader, -1 for none",
        TP,
    );
    let mut members = Family::new(
        "chute_group_members",
        "Live members of the consumer group",
        &["group"],
    );
    let mut committed = Family::new(
        "chute_group_committed_offset",
        "The group's committed offset (next record to deliver)",
        GTP,
    );
    let mut lag = Family::new(
        "chute_group_lag",
        "Records not yet consumed (high watermark minus committed)",
        GTP,
    );
    let mut lag_s = Family::new(
        "chute_group_lag_seconds",
        "Age of the oldest record not yet consumed, 0 when none waits",
        GTP,
    );
    let mut commit_ts = Family::new(
        "chute_group_last_commit_timestamp_seconds",
        "When the committed offset was written (Unix time)",
        GTP,
    );
    const MD: &[&str] = &["mirror", "direction"];
    const MDTP: &[&str] = &["mirror", "direction", "topic", "partition"];
    let mut m_up = Family::new(
        "chute_mirror_running",
        "1 if the mirror's process is copying or waiting for its cluster",
        MD,
    );
    let mut m_waiting = Family::new(
        "chute_mirror_waiting",
        "1 while the mirror waits for a cluster it cannot reach",
        MD,
    );
    let mut m_records = Family::new(
        "chute_mirror_records_copied",
        "Records the mirror's present run copied",
        MD,
    );
    let mut m_restarts = Family::new(
        "chute_mirror_restarts",
        "Sessions of the present run started again after the cluster could not be reached",
        MD,
    );
    let mut m_commit = Family::new(
        "chute_mirror_last_commit_timestamp_seconds",
        "When the mirror last committed (Unix time)",
        MD,
    );
    let mut m_lag = Family::new(
        "chute_mirror_lag",
        "Records the source partition holds beyond the mirror's position",
        MDTP,
    );
    let mut m_position = Family::new(
        "chute_mirror_position",
        "The source offset the mirror resumes at",
        MDTP,
    );

    for b in &s.brokers {
        broker_up.add(
            &[&b.id.to_string()],
            f64::from(u8::from(b.state == State::Up)),
        );
    }
    ctl_active.add(&[], f64::from(u8::from(s.controller.is_some())));
    if let Some(c) = &s.controller {
        ctl_epoch.add(&[], c.epoch as f64);
    }
    for p in &s.partitions {
        let part = p.partition.to_string();
        let l = [p.topic.as_str(), part.as_str()];
        for (f, v) in [
            (&mut log_start, p.log_start_offset),
            (&mut log_end, p.log_end_offset),
            (&mut hw, p.high_watermark),
            (&mut size, p.size_bytes),
        ] {
            if let Some(v) = v {
                f.add(&l, v as f64);
            }
        }
        replicas.add(&l, p.replicas.len() as f64);
        isr.add(&l, p.isr.len() as f64);
        under.add(&l, f64::from(u8::from(p.under_replicated)));
        offline.add(&l, f64::from(u8::from(p.offline)));
        leader.add(&l, p.leader.map_or(-1.0, f64::from));
    }
    for g in &s.groups {
        members.add(&[&g.group], g.members as f64);
        for r in &g.partitions {
            let part = r.partition.to_string();
            let l = [g.group.as_str(), r.topic.as_str(), part.as_str()];
            if let Some(c) = r.committed {
                committed.add(&l, c as f64);
            }
            if let Some(t) = r.committed_ms {
                commit_ts.add(&l, (t / 1000) as f64);
            }
            lag.add(&l, r.lag as f64);
            lag_s.add(&l, r.lag_ms as f64 / 1000.0);
        }
    }
    for m in &s.mirrors {
        let l = [m.name.as_str(), m.direction];
        let running = matches!(m.state, "copying" | "waiting");
        m_up.add(&l, f64::from(u8::from(running)));
        m_waiting.add(&l, f64::from(u8::from(m.state == "waiting")));
        m_records.add(&l, m.records as f64);
        m_restarts.add(&l, m.restarts as f64);
        if let Some(t) = m.last_commit_ms {
            m_commit.add(&l, (t / 1000) as f64);
        }
        for p in &m.partitions {
            let part = p.partition.to_string();
            let l = [
                m.name.as_str(),
                m.direction,
                p.topic.as_str(),
                part.as_str(),
            ];
            m_position.add(&l, p.position as f64);
            if let Some(lag) = p.lag {
                m_lag.add(&l, lag as f64);
            }
        }
    }
    // The encoder refuses a family without samples (e.g. no groups yet): leave those out.
    let families: Vec<MetricFamily> = [
        broker_up, ctl_active, ctl_epoch, log_start, log_end, hw, size, replicas, isr, under,
        offline, leader, members, committed, lag, lag_s, commit_ts, m_up, m_waiting, m_records,
        m_restarts, m_commit, m_lag, m_position,
    ]
    .into_iter()
    .map(|f| f.proto)
    .filter(|f| !f.get_metric().is_empty())
    .collect();
    let mut out = Vec::new();
    TextEncoder::new()
        .encode(&families, &mut out)
        .map_err(prom)?;
    Ok(out)
}
