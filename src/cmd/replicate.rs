//! `chute replicate [-t T] [--follow]`: follower sync without a controller. Reports are log
//! lines (src/logging.rs): with `--follow` it is a daemon like the controller.

use crate::cli::ReplicateArgs;
use chute::cluster::Cluster;
use chute::error::{Result, exit};
use chute::replica::{self, Syncer};
use chute::watch::Waker;
use std::time::Duration;

pub fn run(cluster: &Cluster, a: ReplicateArgs) -> Result<i32> {
    let mut syncer = Syncer::new();
    let mut watched: Option<(u64, Waker)> = None;
    // --follow stops between rounds (every follower write is crash-safe anyway).
    chute::signals::install()?;
    crate::logging::init(a.log_format);
    let _span = tracing::info_span!("replicate", pid = std::process::id()).entered();
    loop {
        let reports = replica::replicate(cluster, a.topic.as_deref(), &mut syncer)?;
        let mut failed = 0;
        let mut io_failed = false;
        for r in &reports {
            let name = format!("{}-{}", r.topic, r.partition);
            match &r.result {
                Ok(f) => {
                    if let Some((from, to)) = f.truncated {
                        tracing::info!(
                            "{name}: replica on broker {} cut its divergent tail from offset {from} to {to}",
                            r.broker
                        );
                    }
                    if !a.follow || f.copied > 0 {
                        tracing::info!(
                            "{name}: replica on broker {} at offset {} of {}{}",
                            r.broker,
                            f.end_offset,
                            f.leader_end,
                            if f.copied > 0 {
                                format!(" ({} bytes copied)", f.copied)
                            } else {
                                String::new()
                            }
                        );
                    }
                }
                Err(e) => {
                    failed += 1;
                    // A full or failing disk needs the operator, not a retry: exit 74, not 75.
                    io_failed |= e.exit_code() == exit::IO;
                    tracing::warn!("{name}: replica on broker {}: {e}", r.broker);
                }
            }
        }
        if !a.follow || chute::signals::stop_requested() {
            return Ok(if io_failed {
                exit::IO
            } else if failed > 0 {
                exit::TEMPFAIL
            } else {
                exit::OK
            });
        }
        // Watch the leaders (again only when metadata changed); a rescan every second catches
        // what the watcher misses, and leadership changes.
        let md = cluster.metadata()?;
        if watched.as_ref().is_none_or(|(e, _)| *e != md.epoch) {
            watched = Some((md.epoch, Waker::new(&replica::leader_dirs(cluster, &md))));
        }
        watched.as_ref().unwrap().1.wait(Duration::from_secs(1));
    }
}
