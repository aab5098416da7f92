//! Disk operations in one command: `broker replace` (a disk that came back empty) and `broker
//! drain` (move everything off a broker), with real processes while an `--acks all` producer
//! streams, each killed with SIGKILL part way and run again.

use crate::replication::{
    Bg, LONG, assert_exactly_once_in_order, broker_dir, by_partition, cluster, controller,
    describe, hw_sum, isr, leader, metadata, move_away, replica_dir, replicas, segments,
    wait_full_isr, wait_new_leaders, write_chunk,
};
use crate::util::*;
use std::process::Stdio;

fn acks_all_producer(env: &Env) -> Bg {
    Bg::start(
        env,
        "prod",
        &[
            "produce", "-t", "t", "--acks", "all", "--linger", "1ms", "-K", ",",
        ],
        Stdio::piped(),
    )
}

/// `args` run until their pause point `point` (see src/failpoint.rs), where the test kills them.
fn paused_at(env: &Env, point: &str, args: &[&str]) -> Bg {
    let gate = env.dir.path().join(point);
    let mut bg = Bg::start_with(
        env,
        point,
        args,
        Stdio::null(),
        &[("FAILPOINTS", &format!("{point}=return({})", gate.display()))],
    );
    let reached = gate.with_extension("reached");
    wait_for(point, LONG, || {
        reached.exists() || matches!(bg.child.try_wait(), Ok(Some(_)))
    });
    assert!(reached.exists(), "{point} not reached: {}", bg.stderr());
    bg
}

/// `chute broker list`, as printed.
fn broker_list(env: &Env) -> String {
    let o = env.chute().args(["broker", "list"]).output().unwrap();
    String::from_utf8(o.stdout).unwrap()
}

/// The disk of broker `b` is lost and an empty one is mounted in its place.
fn empty_disk(env: &Env, b: u64) {
    move_away(env, b);
    std::fs::create_dir(broker_dir(env, b)).unwrap();
}

#[test]
fn broker_replace_rebuilds_an_empty_disk_while_acks_all_streams() {
    let env = cluster(3);
    env.create_topic("t", 3, &["-r", "3", "-c", "min.insync.replicas=2"]);
    let mut ctl = controller(&env, "ctl", &["--interval", "20ms"]);
    ctl.wait_log("active:");
    let mut prod = acks_all_producer(&env);
    let mut stdin = prod.child.stdin.take().unwrap();
    write_chunk(&mut stdin, 0, 20_000);
    wait_for("first records acknowledged", LONG, || {
        hw_sum(&env, "t") >= 20_000
    });
    let victim = leader(&describe(&env, "t")[0]).unwrap();
    write_chunk(&mut stdin, 20_000, 21_000);
    empty_disk(&env, victim);
    // An empty disk is not the broker: it is down (saying what to do), and leadership moves
    // away from it.
    wait_new_leaders(&env, "t", victim);
    let list = broker_list(&env);
    assert!(
        list.contains(&format!(
            "has no broker tag (an empty or new disk? `chute broker replace {victim}`"
        )),
        "{list}"
    );
    write_chunk(&mut stdin, 21_000, 30_000);

    // The first replace is killed after its first copy step (mid-rebuild).
    let mut first = paused_at(
        &env,
        "rebuild-step",
        &["broker", "replace", &victim.to_string()],
    );
    assert!(broker_dir(&env, victim).join("broker.json").is_file());
    kill9(&mut first.child);
    write_chunk(&mut stdin, 30_000, 35_000);
    // Until it is back in sync, the empty broker is in no ISR and leads nothing.
    for p in describe(&env, "t") {
        if !isr(&p).contains(&victim) {
            assert_ne!(leader(&p), Some(victim), "{p}");
        }
    }
    let out = env
        .chute()
        .args(["broker", "replace", &victim.to_string()])
        .output()
        .unwrap();
    let err = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(0), "{err}");
    assert!(err.contains("resuming the rebuild"), "{err}");
    assert!(err.contains(&format!("broker {victim}: rebuilt")), "{err}");
    write_chunk(&mut stdin, 35_000, 40_000);
    drop(stdin);
    assert_eq!(prod.wait_exit(LONG), Some(0), "producer: {}", prod.stderr());

    let ctx = format!(
        "victim {victim}\nproducer:\n{}\ncontroller:\n{}\nreplace:\n{err}\n{}",
        prod.stderr(),
        ctl.stderr(),
        first.stderr()
    );
    assert_exactly_once_in_order(
        &by_partition(&env.consume("t", &["--format", "%p %s\\n"])),
        40_000,
        &ctx,
    );
    wait_full_isr(&env, "t");
    env.chute().args(["verify"]).assert().success();
    // The rebuilt replicas hold the leaders' records, byte for byte.
    for p in describe(&env, "t") {
        let n = p["partition"].as_u64().unwrap();
        let l = leader(&p).unwrap();
        if l != victim {
            assert_eq!(
                segments(&replica_dir(&env, victim, "t", n)),
                segments(&replica_dir(&env, l, "t", n)),
                "partition {n}"
            );
        }
    }
    drop(ctl);
}

#[test]
fn broker_replace_without_a_controller_fences_rebuilds_and_reports_what_is_lost() {
    let env = cluster(2);
    env.create_topic("t", 2, &["-r", "2"]);
    env.create_topic("solo", 1, &[]);
    let victim: u64 = 1;
    env.chute()
        .args(["topic", "reassign", "solo", "-p", "0", "--replicas", "1"])
        .assert()
        .success();
    env.produce(
        "t",
        (0..5000).map(|i| format!("k{i},{i}\n")).collect::<String>(),
        &["-K", ","],
    );
    env.produce("solo", "only here\n", &[]);
    env.chute()
        .args(["topic", "reassign", "t", "-p", "0", "--replicas", "1,0"])
        .assert()
        .success();
    env.chute()
        .args(["topic", "elect-leaders", "t"])
        .assert()
        .success();
    assert_eq!(leader(&describe(&env, "t")[0]), Some(victim));

    // Refusals first: nothing is fenced or written by any of them.
    let before = metadata(&env);
    let run = |args: &[&str]| env.chute().args(args).output().unwrap();
    let replace_at =
        |dir: &std::path::Path| run(&["broker", "replace", "1", "--dir", dir.to_str().unwrap()]);
    // A broker that is up with its data is not replaced from another directory.
    let elsewhere = env.dir.path().join("new-disk");
    let o = replace_at(&elsewhere);
    assert_eq!(o.status.code(), Some(1));
    assert!(String::from_utf8_lossy(&o.stderr).contains("is up at"));
    empty_disk(&env, victim);
    // Untagged data is never judged: the operator empties it or names another directory.
    std::fs::write(broker_dir(&env, victim).join("notes.txt"), "x").unwrap();
    let o = run(&["broker", "replace", "1"]);
    assert_eq!(o.status.code(), Some(1));
    let e = String::from_utf8_lossy(&o.stderr);
    assert!(e.contains("is not empty (it holds notes.txt)"), "{e}");
    // Another broker's directory is a wrong disk.
    let o = replace_at(&broker_dir(&env, 0));
    assert_eq!(o.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&o.stderr).contains("broker 0 lives there"));
    let o = run(&["broker", "replace", "7"]);
    assert_eq!(o.status.code(), Some(1));
    assert!(String::from_utf8_lossy(&o.stderr).contains("unknown broker 7"));
    assert_eq!(metadata(&env), before);

    // The new disk is mounted elsewhere: --dir moves the broker there.
    std::fs::remove_file(broker_dir(&env, victim).join("notes.txt")).unwrap();
    std::fs::create_dir(&elsewhere).unwrap();
    let o = replace_at(&elsewhere);
    let e = String::from_utf8_lossy(&o.stderr);
    // A plain directory is not a disk of its own: said, in case a mount is missing.
    assert!(e.contains("is on the same file system as"), "{e}");
    // solo's only copy was on the lost disk: exit 74, naming it; t is rebuilt.
    assert_eq!(o.status.code(), Some(74), "{e}");
    assert!(
        e.contains("partition solo-0: every in-sync copy was on broker 1's lost disk"),
        "{e}"
    );
    assert!(e.contains("partition t-0: leader 1 -> 0"), "{e}");
    assert!(
        e.contains("broker 1: 2/3 replicas in sync; 0 waiting, 1 lost"),
        "{e}"
    );
    let md = metadata(&env);
    assert_eq!(md["brokers"][1]["path"], elsewhere.to_str().unwrap());
    assert!(elsewhere.join("broker.json").is_file());
    for p in describe(&env, "t") {
        assert_eq!(isr(&p).len(), 2, "{p}");
    }
    let solo = &describe(&env, "solo")[0];
    assert_eq!(leader(solo), None);
    assert_eq!(isr(solo), Vec::<u64>::new());
    // Consumers of t lose nothing; solo says it is offline.
    assert_exactly_once_in_order(
        &by_partition(&env.consume("t", &["--format", "%p %s\\n"])),
        5000,
        "",
    );
    let o = run(&["consume", "-t", "solo"]);
    assert_eq!(o.status.code(), Some(75));
    env.chute().args(["verify", "-t", "t"]).assert().success();
    // Run again: the same report, nothing else changes.
    let before = metadata(&env);
    let o = replace_at(&elsewhere);
    assert_eq!(o.status.code(), Some(74));
    assert!(String::from_utf8_lossy(&o.stderr).contains("resuming"));
    assert_eq!(metadata(&env)["topics"], before["topics"]);
}

#[test]
fn broker_drain_moves_every_replica_off_while_acks_all_streams() {
    let env = cluster(4);
    env.create_topic("t", 6, &["-r", "2", "-c", "min.insync.replicas=2"]);
    let on = |b: u64| {
        describe(&env, "t")
            .iter()
            .filter(|p| replicas(p).contains(&b))
            .count()
    };
    let drained: u64 = 3;
    assert!(on(drained) > 0);
    let mut prod = acks_all_producer(&env);
    let mut stdin = prod.child.stdin.take().unwrap();
    write_chunk(&mut stdin, 0, 20_000);
    wait_for("first records acknowledged", LONG, || {
        hw_sum(&env, "t") >= 20_000
    });
    // The first drain is killed after its first copy step: moves recorded, one under way.
    let mut first = paused_at(&env, "drain-step", &["broker", "drain", "3"]);
    assert!(
        std::fs::read_to_string(env.root().join("metadata.json"))
            .unwrap()
            .contains("\"removing\"")
    );
    kill9(&mut first.child);
    write_chunk(&mut stdin, 20_000, 25_000);
    let list = broker_list(&env);
    assert!(list.contains("up (draining)"), "{list}");
    let out = env.chute().args(["broker", "drain", "3"]).output().unwrap();
    let err = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(0), "{err}");
    assert!(err.contains("broker 3 drained"), "{err}");
    write_chunk(&mut stdin, 25_000, 30_000);
    drop(stdin);
    assert_eq!(prod.wait_exit(LONG), Some(0), "producer: {}", prod.stderr());

    let parts = describe(&env, "t");
    let mut leads = [0; 4];
    for p in &parts {
        let r = replicas(p);
        assert_eq!(r.len(), 2, "{p}");
        assert!(!r.contains(&drained), "{p}");
        // Leadership is where the plan put it: the preferred replica.
        assert_eq!(leader(p), Some(r[0]), "{p}");
        leads[r[0] as usize] += 1;
    }
    assert!(leads[..3].iter().all(|&n| n == 2), "leaders {leads:?}");
    for n in 0..6 {
        assert!(!replica_dir(&env, drained, "t", n).exists());
    }
    assert_exactly_once_in_order(
        &by_partition(&env.consume("t", &["--format", "%p %s\\n"])),
        30_000,
        &format!("producer:\n{}\ndrain:\n{err}", prod.stderr()),
    );
    env.chute().args(["replicate"]).assert().success();
    wait_full_isr(&env, "t");
    env.chute().args(["verify"]).assert().success();
    // A draining broker takes no new replicas, not even by `topic reassign`; `broker up`
    // ends the drain.
    let o = env
        .chute()
        .args(["topic", "reassign", "t", "-p", "0", "--replicas", "3,0"])
        .output()
        .unwrap();
    assert_eq!(o.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&o.stderr).contains("broker 3 is being drained"));
    env.create_topic("u", 3, &["-r", "3"]);
    assert!(
        describe(&env, "u")
            .iter()
            .all(|p| !replicas(p).contains(&drained))
    );
    let again = env.chute().args(["broker", "drain", "3"]).output().unwrap();
    assert_eq!(again.status.code(), Some(0));
    assert!(String::from_utf8_lossy(&again.stderr).contains("holds no replica"));
    env.mark("up", drained);
    let list = broker_list(&env);
    assert!(!list.contains("draining"), "{list}");
    // Too few brokers left to keep the replication factor (3 is down now): refused before
    // anything moves.
    env.mark("down", drained);
    let before = metadata(&env);
    let o = env.chute().args(["broker", "drain", "0"]).output().unwrap();
    let e = String::from_utf8_lossy(&o.stderr);
    assert_eq!(o.status.code(), Some(1), "{e}");
    assert!(e.contains("partition u-0 has 3 replicas"), "{e}");
    assert!(e.contains("only [1, 2] of [1, 2, 3] are"), "{e}");
    assert_eq!(metadata(&env), before);
}

#[test]
fn broker_replace_killed_between_fence_and_tag_is_finished_by_running_it_again() {
    let env = cluster(2);
    env.create_topic("t", 2, &["-r", "2"]);
    env.produce(
        "t",
        (0..3000).map(|i| format!("k{i},{i}\n")).collect::<String>(),
        &["-K", ","],
    );
    empty_disk(&env, 1);
    let mut bg = Bg::start_with(
        &env,
        "replace",
        &["broker", "replace", "1"],
        Stdio::null(),
        &[("FAILPOINTS", "replace-after-fence=return")],
    );
    assert_eq!(bg.wait_exit(LONG), None, "killed: {}", bg.stderr());
    // Fenced but not tagged: the broker is down, in no ISR, leading nothing.
    assert!(!broker_dir(&env, 1).join("broker.json").exists());
    for p in describe(&env, "t") {
        assert_eq!(isr(&p), vec![0], "{p}");
        assert_eq!(leader(&p), Some(0), "{p}");
    }
    let out = env
        .chute()
        .args(["broker", "replace", "1"])
        .output()
        .unwrap();
    let err = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(0), "{err}");
    assert!(
        err.contains("broker 1: rebuilt; 2 replica(s) in sync"),
        "{err}"
    );
    for p in describe(&env, "t") {
        assert_eq!(isr(&p).len(), 2, "{p}");
    }
    env.chute().args(["verify"]).assert().success();
}

/// The fence left a partition without a leader (its other in-sync replicas were down): once
/// they are back, `broker replace` run again elects one and finishes, with no controller.
#[test]
fn broker_replace_run_again_elects_a_leader_once_the_others_are_back() {
    let env = cluster(3);
    env.create_topic("t", 1, &["-r", "3"]);
    env.produce(
        "t",
        (0..2000).map(|i| format!("{i}\n")).collect::<String>(),
        &["--acks", "all"],
    );
    let victim = leader(&describe(&env, "t")[0]).unwrap();
    let others: Vec<u64> = (0..3).filter(|&b| b != victim).collect();
    for &b in &others {
        env.mark("down", b);
    }
    empty_disk(&env, victim);
    let run = || {
        env.chute()
            .args(["broker", "replace", &victim.to_string()])
            .output()
            .unwrap()
    };
    let o = run();
    let e = String::from_utf8_lossy(&o.stderr);
    assert_eq!(o.status.code(), Some(75), "{e}");
    assert!(e.contains("not rebuilt yet: no leader"), "{e}");
    assert_eq!(leader(&describe(&env, "t")[0]), None);
    for &b in &others {
        env.mark("up", b);
    }
    let o = run();
    let e = String::from_utf8_lossy(&o.stderr);
    assert_eq!(o.status.code(), Some(0), "{e}");
    let p = &describe(&env, "t")[0];
    assert!(others.contains(&leader(p).unwrap()), "{p}");
    assert!(isr(p).contains(&victim), "{p}");
    let got = String::from_utf8(env.consume("t", &[])).unwrap();
    assert_eq!(got.lines().count(), 2000);
    env.chute().args(["verify"]).assert().success();
}
