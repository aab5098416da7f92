//! `chute verify [-t T] [--repair [--truncate-damaged]]`: checks every replica of every
//! partition. Reads only, unless --repair, which holds each partition's lock while it fixes it.

use crate::cli::VerifyArgs;
use chute::cluster::Cluster;
use chute::error::{Result, exit};
use chute::log::repair::{Source, covers};
use chute::log::verify::{Repair, verify_partition};

pub fn run(cluster: &Cluster, a: VerifyArgs) -> Result<i32> {
    let lock_timeout = a.lock_timeout;
    let md = cluster.metadata()?;
    if let Some(t) = &a.topic {
        md.topic(t)?;
    }
    let mut problems = 0;
    let mut busy = 0;
    let mut checked = 0;
    // What would help with the problems found: --repair, and/or --truncate-damaged.
    let mut needs_repair = false;
    let mut needs_truncate = false;
    for (name, t) in &md.topics {
        if a.topic.as_ref().is_some_and(|x| x != name) {
            continue;
        }
        for p in &t.partitions {
            let pname = format!("{name}-{}", p.partition);
            let mut all_ok = true;
            for &b in &p.replicas {
                let dir = cluster.replica_dir(&md, b, name, p.partition);
                let label = format!("{pname} (broker {b})");
                checked += 1;
                // In-sync replicas other than this one hold byte-identical batches up to their
                // log end: damaged data can be restored from them.
                let others: Vec<_> = p
                    .isr
                    .iter()
                    .filter(|&&o| o != b)
                    .map(|&o| cluster.replica_dir(&md, o, name, p.partition))
                    .collect();
                let repair = a.repair.then(|| Repair {
                    truncate_damaged: a.truncate_damaged,
                    lock_timeout,
                    sources: others
                        .iter()
                        .map(|d| Source {
                            dir: d,
                            name: &pname,
                        })
                        .collect(),
                });
                let rep = match verify_partition(&dir, &pname, repair) {
                    Ok(r) => r,
                    Err(e) if e.exit_code() == exit::TEMPFAIL => {
                        // Busy (a lock held by another process), not damaged: retry later.
                        busy += 1;
                        all_ok = false;
                        eprintln!("{label}: {e}");
                        continue;
                    }
                    Err(e) => {
                        problems += 1;
                        all_ok = false;
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
                if !a.repair && !rep.problems.is_empty() {
                    match &rep.damage {
                        Some(d)
                            if !others.iter().any(|o| {
                                covers(
                                    &Source {
                                        dir: o,
                                        name: &pname,
                                    },
                                    d,
                                )
                                .unwrap_or(false)
                            }) =>
                        {
                            needs_truncate = true
                        }
                        _ => needs_repair = true,
                    }
                }
                if a.repair && rep.problems.iter().any(|f| !f.repaired) {
                    needs_truncate |= !a.truncate_damaged;
                }
                if rep.problems.iter().all(|f| f.repaired) {
                    super::print(&format!(
                        "{label}: ok ({} records in {} batches, log end {})\n",
                        rep.records, rep.batches, rep.end_offset
                    ))?;
                } else {
                    all_ok = false;
                }
            }
            // Replicas are compared once each is whole (after repairs of this run).
            if all_ok && p.replicas.len() > 1 {
                match chute::replica::compare::compare_replicas(cluster, &md, name, p) {
                    Ok(v) => {
                        for m in v {
                            problems += 1;
                            eprintln!("{pname}: {m}");
                        }
                    }
                    Err(e) => {
                        problems += 1;
                        eprintln!("{pname}: cannot compare replicas: {e}");
                    }
                }
            }
        }
    }
    if problems > 0 {
        // Only suggest what can help: --repair cannot fix damaged data without a copy.
        let hint = if needs_truncate {
            " (damaged data no replica can restore: `chute verify --repair --truncate-damaged` cuts it, losing the offsets named above)"
        } else if needs_repair {
            " (try --repair)"
        } else {
            ""
        };
        eprintln!(
            "chute: verify found {problems} problem{} in {checked} replica{}{hint}",
            if problems == 1 { "" } else { "s" },
            if checked == 1 { "" } else { "s" },
        );
        return Ok(exit::IO);
    }
    if busy > 0 {
        eprintln!(
            "chute: verify could not check {busy} of {checked} replica{}: partition locks are held (retry later)",
            if checked == 1 { "" } else { "s" }
        );
        return Ok(exit::TEMPFAIL);
    }
    Ok(0)
}
