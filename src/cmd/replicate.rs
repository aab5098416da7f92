//! `chute replicate [-t T] [--follow]`: follower sync without a controller.

use chute::cli::ReplicateArgs;
use chute::cluster::Cluster;
use chute::consume::Waker;
use chute::error::{Result, exit};
use chute::replica::{self, Syncer};
use std::time::Duration;

pub fn run(cluster: &Cluster, a: ReplicateArgs) -> Result<i32> {
    let mut syncer = Syncer::new();
    loop {
        let reports = replica::replicate(cluster, a.topic.as_deref(), &mut syncer)?;
        let mut failed = 0;
        for r in &reports {
            let name = format!("{}-{}", r.topic, r.partition);
            match &r.result {
                Ok(f) => {
                    if let Some((from, to)) = f.truncated {
                        eprintln!(
                            "chute: {name}: replica on broker {} cut its divergent tail from offset {from} to {to}",
                            r.broker
                        );
                    }
                    if !a.follow || f.copied > 0 {
                        eprintln!(
                            "chute: {name}: replica on broker {} at offset {} of {}{}",
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
                    eprintln!("chute: {name}: replica on broker {}: {e}", r.broker);
                }
            }
        }
        if !a.follow {
            return Ok(if failed > 0 { exit::TEMPFAIL } else { exit::OK });
        }
        let md = cluster.metadata()?;
        let mut dirs = vec![cluster.root.clone()];
        for (name, t) in &md.topics {
            for p in &t.partitions {
                if let Some(l) = p.leader
                    && p.replicas.len() > 1
                {
                    dirs.push(cluster.replica_dir(&md, l, name, p.partition));
                }
            }
        }
        Waker::new(&dirs).wait(Duration::from_secs(1));
    }
}
