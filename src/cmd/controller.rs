//! `chute controller [--once]`: thin wrapper over `chute::controller::run`.

use crate::cli::ControllerArgs;
use chute::cluster::Cluster;
use chute::controller::{self, ControllerOptions};
use chute::error::Result;

pub fn run(cluster: &Cluster, a: ControllerArgs) -> Result<i32> {
    cluster.metadata()?;
    let opts = ControllerOptions {
        once: a.once,
        interval: a.interval,
        rescan: a.rescan,
        session_timeout: a.session_timeout,
        preferred_interval: a.preferred_leader_interval.0,
        retention_interval: a.retention_check,
    };
    chute::signals::install()?;
    crate::logging::init(a.log_format);
    let _span = tracing::info_span!("controller", pid = std::process::id()).entered();
    controller::run(cluster, &opts)?;
    Ok(0)
}
