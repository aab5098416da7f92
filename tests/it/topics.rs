use crate::util::*;

#[test]
fn create_list_describe_alter_delete() {
    let env = Env::new();
    env.create_topic(
        "orders",
        3,
        &["--config", "retention=2d", "--config", "segment.bytes=1MiB"],
    );
    env.chute()
        .args(["topic", "list"])
        .assert()
        .success()
        .stdout("orders\n");
    env.produce("orders", "a\nb\n", &["-p", "2"]);
    let d = env.json(&["topic", "describe", "orders", "--json"]);
    assert_eq!(d["name"], "orders");
    assert_eq!(d["config"]["retention"], "2days");
    assert_eq!(d["config"]["segment.bytes"], 1 << 20);
    assert_eq!(d["config"]["max.message.bytes"], 1_048_588);
    let ps = d["partitions"].as_array().unwrap();
    assert_eq!(ps.len(), 3);
    for (i, p) in ps.iter().enumerate() {
        assert_eq!(p["partition"], i);
        assert_eq!(p["leader"], 0);
        assert_eq!(p["leader_epoch"], 0);
        assert_eq!(p["replicas"], serde_json::json!([0]));
        assert_eq!(p["isr"], serde_json::json!([0]));
        assert_eq!(p["log_start_offset"], 0);
    }
    assert_eq!(ps[2]["high_watermark"], 2);
    assert_eq!(ps[2]["log_end_offset"], 2);
    let human = env
        .chute()
        .args(["topic", "describe", "orders"])
        .output()
        .unwrap();
    assert!(String::from_utf8_lossy(&human.stdout).contains("HIGH-WATERMARK"));

    env.chute()
        .args([
            "topic",
            "alter",
            "orders",
            "--partitions",
            "5",
            "--config",
            "retention=1h",
        ])
        .assert()
        .success();
    let d = env.json(&["topic", "describe", "orders", "--json"]);
    assert_eq!(d["partitions"].as_array().unwrap().len(), 5);
    assert_eq!(d["config"]["retention"], "1h");
    env.chute()
        .args(["topic", "alter", "orders", "--delete-config", "retention"])
        .assert()
        .success();
    assert_eq!(
        env.json(&["topic", "describe", "orders", "--json"])["config"]["retention"],
        "7days"
    );
    let out = env
        .chute()
        .args(["topic", "alter", "orders", "--partitions", "2"])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&out.stderr).contains("only be added"));
    env.produce("orders", "new partition\n", &["-p", "4"]);
    assert_eq!(env.consume("orders", &["-p", "4"]), b"new partition\n");

    env.chute()
        .args(["topic", "delete", "orders"])
        .assert()
        .success();
    env.chute()
        .args(["topic", "list"])
        .assert()
        .success()
        .stdout("");
    assert!(!env.partition_dir("orders", 0).exists());
    // A new topic of the same name starts empty.
    env.produce("orders", "fresh\n", &[]);
    assert_eq!(env.consume("orders", &[]), b"fresh\n");
}

#[test]
fn json_list_and_cluster_status() {
    let env = Env::new();
    env.chute()
        .args(["cluster", "init", "--brokers", "3"])
        .assert()
        .success();
    env.create_topic("a", 2, &["--replication-factor", "3"]);
    let l = env.json(&["topic", "list", "--json"]);
    assert_eq!(l[0]["name"], "a");
    assert_eq!(l[0]["partitions"], 2);
    let s = env.json(&["cluster", "status", "--json"]);
    assert!(s["controller"].is_null());
    assert_eq!(s["brokers"].as_array().unwrap().len(), 3);
    assert_eq!(s["brokers"][1]["state"], "up");
    assert_eq!(s["offline_partitions"], 0);
    let d = env.json(&["topic", "describe", "a", "--json"]);
    let leaders: Vec<u64> = d["partitions"]
        .as_array()
        .unwrap()
        .iter()
        .map(|p| p["leader"].as_u64().unwrap())
        .collect();
    assert_ne!(
        leaders[0], leaders[1],
        "leaders should be spread over brokers"
    );
}

#[test]
fn delete_while_a_producer_streams_stops_it_cleanly() {
    let env = Env::new();
    env.create_topic("del", 1, &[]);
    let mut c = env
        .spawn(&["produce", "-t", "del", "--linger", "0"])
        .stdin(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    let mut stdin = c.stdin.take().unwrap();
    let w = std::thread::spawn(move || {
        use std::io::Write;
        let mut i = 0u64;
        while stdin.write_all(format!("{i}\n").as_bytes()).is_ok() {
            i += 1;
        }
    });
    wait_for("records", std::time::Duration::from_secs(20), || {
        env.chute()
            .args(["offsets", "-t", "del", "--json"])
            .output()
            .unwrap()
            .stdout
            .windows(9)
            .any(|_| true)
            && crate::util::file_len(&env.segment("del", 0, 0)) > 10_000
    });
    env.chute()
        .args(["topic", "delete", "del"])
        .assert()
        .success();
    let out = c.wait_with_output().unwrap();
    let _ = w.join();
    assert_ne!(out.status.code(), Some(0));
    assert!(
        String::from_utf8_lossy(&out.stderr).contains("deleted"),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(!env.partition_dir("del", 0).exists());
}

#[test]
fn delete_works_for_long_names_and_brokers_in_other_directories() {
    let env = Env::new();
    let other = env.dir.path().join("disk-b");
    env.chute()
        .args(["cluster", "init", "--brokers", "2", "--broker-dir"])
        .arg(format!("1={}", other.display()))
        .assert()
        .success();
    // 249 bytes: Kafka's longest legal topic name.
    let long = "n".repeat(249);
    for _ in 0..2 {
        env.create_topic(&long, 2, &["--replication-factor", "2"]);
        env.produce(&long, "a\nb\n", &[]);
        assert_eq!(env.consume(&long, &[]).len(), 4);
        env.chute()
            .args(["topic", "delete", &long])
            .assert()
            .success();
        assert!(!other.join(format!("{long}-0")).exists());
        assert!(
            !env.root()
                .join("brokers/0")
                .join(format!("{long}-1"))
                .exists()
        );
    }
    // Nothing is left in either broker's trash.
    for trash in [other.join(".trash"), env.root().join("brokers/0/.trash")] {
        let left: Vec<_> = std::fs::read_dir(&trash).unwrap().collect();
        assert!(left.is_empty(), "{} still holds {left:?}", trash.display());
    }
}

/// `delete` racing producers that auto-create the same name: whatever the interleaving, a
/// topic that metadata lists always has readable partitions (delete never removes the
/// directories of a topic created again after it).
#[test]
fn delete_racing_recreation_never_orphans_a_listed_topic() {
    let env = Env::new();
    env.produce("race", "x\n", &[]);
    let root = env.root();
    let input = env.dir.path().join("input");
    std::fs::write(&input, "y\n").unwrap();
    let deleter = {
        let root = root.clone();
        std::thread::spawn(move || {
            for _ in 0..25 {
                let _ = std::process::Command::new(bin())
                    .env("CHUTE_ROOT", &root)
                    .args(["topic", "delete", "race"])
                    .output()
                    .unwrap();
            }
        })
    };
    for _ in 0..25 {
        let out = std::process::Command::new(bin())
            .env("CHUTE_ROOT", &root)
            .args(["produce", "-t", "race", "-q", "--file"])
            .arg(&input)
            .output()
            .unwrap();
        // A producer may lose the race (its topic deleted under it: exit 1), nothing worse.
        assert!(
            matches!(out.status.code(), Some(0) | Some(1)),
            "{}",
            String::from_utf8_lossy(&out.stderr)
        );
    }
    deleter.join().unwrap();
    let list = env.json(&["topic", "list", "--json"]);
    if list.to_string().contains("\"race\"") {
        env.chute()
            .args(["consume", "-t", "race"])
            .assert()
            .success();
    }
    env.chute().args(["verify"]).assert().success();
}
