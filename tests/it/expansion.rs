//! Online expansion: a broker is added and a partition moved onto it while an `--acks all`
//! producer streams; nothing is lost, and the new replica set ends in sync.

use crate::util::{Env, kill9, wait_for};
use std::io::Write;
use std::process::Stdio;
use std::time::Duration;

fn describe(env: &Env) -> serde_json::Value {
    env.json(&["topic", "describe", "x", "--json"])["partitions"][0].clone()
}

fn line(i: u64) -> String {
    format!("{i:07} {}\n", "e".repeat(60))
}

#[test]
fn reassignment_onto_a_new_broker_while_acks_all_streams_loses_nothing() {
    let env = Env::new();
    env.brokers(2);
    env.create_topic(
        "x",
        1,
        &[
            "--replication-factor",
            "2",
            "--config",
            "min.insync.replicas=2",
        ],
    );
    let mut input = String::new();
    for i in 0..50_000 {
        input.push_str(&line(i));
    }
    env.produce("x", input, &["--acks", "all"]);
    let newdisk = env.dir.path().join("new-disk");
    let out = env
        .chute()
        .args(["broker", "add", "--dir", newdisk.to_str().unwrap()])
        .output()
        .unwrap();
    assert!(out.status.success());
    assert_eq!(String::from_utf8_lossy(&out.stdout).trim(), "2");
    assert!(newdisk.join("broker.json").is_file());

    let p = describe(&env);
    let leader = p["leader"].as_u64().unwrap();
    let stay = 1 - leader;
    // A producer streaming while the partition moves off its current leader.
    let mut producer = env
        .spawn(&[
            "produce", "-t", "x", "--acks", "all", "--linger", "1ms", "-q",
        ])
        .stdin(Stdio::piped())
        .stdout(Stdio::null())
        .stderr(std::fs::File::create(env.dir.path().join("producer.err")).unwrap())
        .spawn()
        .unwrap();
    let mut stdin = producer.stdin.take().unwrap();
    for i in 50_000..60_000 {
        stdin.write_all(line(i).as_bytes()).unwrap();
    }
    stdin.flush().unwrap();
    // The first move is killed part way (kill -9 of the command); a controller pass finishes it.
    let target = format!("2,{stay}");
    let mut mover = env
        .spawn(&["topic", "reassign", "x", "-p", "0", "--replicas", &target])
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    wait_for("the move to be recorded", Duration::from_secs(15), || {
        !describe(&env)["replicas"].as_array().unwrap().is_empty()
            && std::fs::read_to_string(env.root().join("metadata.json"))
                .unwrap()
                .contains("\"adding\"")
            || matches!(mover.try_wait(), Ok(Some(_)))
    });
    kill9(&mut mover);
    for i in 60_000..70_000 {
        stdin.write_all(line(i).as_bytes()).unwrap();
    }
    stdin.flush().unwrap();
    wait_for("the move to finish", Duration::from_secs(30), || {
        env.controller_once();
        let p = describe(&env);
        p["replicas"] == serde_json::json!([2, stay])
    });
    for i in 70_000..80_000 {
        stdin.write_all(line(i).as_bytes()).unwrap();
    }
    drop(stdin);
    let st = producer.wait().unwrap();
    assert!(
        st.success(),
        "{}",
        std::fs::read_to_string(env.dir.path().join("producer.err")).unwrap()
    );
    // Every record exactly once, in order.
    let mut expect = String::new();
    for i in 0..80_000 {
        expect.push_str(&line(i));
    }
    assert_eq!(String::from_utf8(env.consume("x", &[])).unwrap(), expect);
    // The new replica set is in sync, led by the new broker; the old replica's data is gone.
    env.chute()
        .args(["replicate", "-t", "x"])
        .assert()
        .success();
    let p = describe(&env);
    assert_eq!(p["replicas"], serde_json::json!([2, stay]));
    assert_eq!(p["leader"], 2);
    assert_eq!(p["high_watermark"], 80_000);
    let mut isr: Vec<u64> = p["isr"]
        .as_array()
        .unwrap()
        .iter()
        .map(|v| v.as_u64().unwrap())
        .collect();
    isr.sort_unstable();
    let mut want = vec![2, stay];
    want.sort_unstable();
    assert_eq!(isr, want);
    assert!(!env.root().join(format!("brokers/{leader}/x-0")).exists());
    env.chute().args(["verify", "-t", "x"]).assert().success();
}

#[test]
fn reassign_and_broker_add_reject_bad_input() {
    let env = Env::new();
    env.brokers(2);
    env.create_topic("x", 1, &[]);
    let run = |args: &[&str]| env.chute().args(args).output().unwrap();
    let o = run(&["topic", "reassign", "x", "-p", "0", "--replicas", "7"]);
    assert_eq!(o.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&o.stderr).contains("broker 7 does not exist"));
    let o = run(&["topic", "reassign", "x", "-p", "0", "--replicas", "1,1"]);
    assert_eq!(o.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&o.stderr).contains("named twice"));
    let o = run(&["topic", "reassign", "x", "-p", "3", "--replicas", "1"]);
    assert_eq!(o.status.code(), Some(1));
    assert!(String::from_utf8_lossy(&o.stderr).contains("no partition 3"));
    let o = run(&["topic", "reassign", "nope", "-p", "0", "--replicas", "1"]);
    assert_eq!(o.status.code(), Some(1));
    let b0 = env.root().join("brokers/0");
    let o = run(&["broker", "add", "--dir", b0.to_str().unwrap()]);
    assert_eq!(o.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&o.stderr).contains("broker 0 already lives there"));
    // A move of an RF1 partition to another broker works and keeps the data.
    env.produce("x", "a\nb\n", &[]);
    let from = describe(&env)["leader"].as_u64().unwrap();
    let to = (1 - from).to_string();
    env.chute()
        .args(["topic", "reassign", "x", "-p", "0", "--replicas", &to])
        .assert()
        .success();
    assert_eq!(describe(&env)["leader"], 1 - from);
    assert_eq!(env.consume("x", &[]), b"a\nb\n");
}
