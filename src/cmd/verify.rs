//! `chute verify [-t T] [--repair]`: checks every replica of every partition. Reads only,
//! unless --repair, which holds each partition's lock while it fixes it.

use chute::cli::VerifyArgs;
use chute::cluster::Cluster;
use chute::error::{Result, exit};
use chute::log::verify::verify_partition;

pub fn run(cluster: &Cluster, a: VerifyArgs) -> Result<i32> {
    let md = cluster.metadata()?;
    if let Some(t) = &a.topic {
        md.topic(t)?;
    }
    let mut problems = 0;
    let mut checked = 0;
    for (name, t) in &md.topics {
        if a.topic.as_ref().is_some_and(|x| x != name) {
            continue;
        }
        for p in &t.partitions {
            for &b in &p.replicas {
                let dir = cluster.replica_dir(&md, b, name, p.partition);
                let label = format!("{name}-{} (broker {b})", p.partition);
                checked += 1;
                let rep = match verify_partition(&dir, &format!("{name}-{}", p.partition), a.repair)
                {
                    Ok(r) => r,
                    Err(e) => {
                        problems += 1;
                        eprintln!("{label}: {e}");
                        continue;
                    }
                };
                for n in &rep.notes {
                    eprintln!("{label}: note: {n}");
                }
                for f in &rep.problems {
                    let at = f
                        .offset
                        .map_or(String::new(), |o| format!(" at offset {o}"));
                    if f.repaired {
                        eprintln!("{label}{at}: repaired: {}", f.detail);
                    } else {
                        problems += 1;
                        eprintln!("{label}{at}: {}", f.detail);
                    }
                }
                if rep.problems.is_empty() && Some(b) == p.leader && p.replicas.len() > 1 {
                    match chute::replica::compare::compare_replicas(cluster, &md, name, p) {
                        Ok(v) => {
                            for m in v {
                                problems += 1;
                                eprintln!("{name}-{}: {m}", p.partition);
                            }
                        }
                        Err(e) => {
                            problems += 1;
                            eprintln!("{name}-{}: cannot compare replicas: {e}", p.partition);
                        }
                    }
                }
                if rep.problems.is_empty() {
                    println!(
                        "{label}: ok ({} records in {} batches, log end {})",
                        rep.records, rep.batches, rep.end_offset
                    );
                }
            }
        }
    }
    if problems > 0 {
        eprintln!(
            "chute: verify found {problems} problem{} in {checked} replica{}{}",
            if problems == 1 { "" } else { "s" },
            if checked == 1 { "" } else { "s" },
            if a.repair { "" } else { " (try --repair)" }
        );
        return Ok(exit::IO);
    }
    Ok(0)
}
