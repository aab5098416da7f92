//! `chute controller [--once]`: thin wrapper over `chute::controller::run`.

use super::duration_arg;
use crate::cli::ControllerArgs;
use chute::cluster::Cluster;
use chute::controller::{self, ControllerOptions};
use chute::error::Result;

pub fn run(cluster: &Cluster, a: ControllerArgs) -> Result<i32> {
    cluster.metadata()?;
    let preferred = match a.preferred_leader_interval.as_str() {
        "off" | "never" | "none" => None,
        s => Some(duration_arg("--preferred-leader-interval", s)?),
    };
    let opts = ControllerOptions {
        once: a.once,
        interval: duration_arg("--interval", &a.interval)?,
        rescan: duration_arg("--rescan", &a.rescan)?,
        session_timeout: duration_arg("--session-timeout", &a.session_timeout)?,
        preferred_interval: preferred,
        retention_interval: duration_arg("--retention-check", &a.retention_check)?,
    };
    chute::signals::install()?;
    let pid = std::process::id();
    controller::run(cluster, &opts, &mut |line| {
        eprintln!("chute controller[{pid}]: {line}");
    })?;
    Ok(0)
}
