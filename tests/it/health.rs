//! Health checks for cron and monitoring: `cluster status --check` and
//! `offsets -g G --check --max-lag N|DUR` exit 3 ("check failed", README.md "Exit codes") and
//! name what failed; 0 when healthy; 1 stays "could not ask" (an unknown group).

use crate::util::*;

fn run(env: &Env, args: &[&str]) -> (Option<i32>, String, String) {
    let out = env.chute().args(args).output().unwrap();
    (
        out.status.code(),
        String::from_utf8_lossy(&out.stdout).into_owned(),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

#[test]
fn cluster_status_check_exits_3_naming_offline_and_under_replicated_partitions() {
    let env = Env::new();
    env.brokers(2);
    env.create_topic("r", 1, &["-r", "2"]);
    env.create_topic("u", 2, &["-r", "1"]);
    let (code, _, err) = run(&env, &["cluster", "status", "--check"]);
    assert_eq!(code, Some(0), "healthy: {err}");

    // The broker holding u's second partition goes down: that partition is offline, and r
    // (on both brokers) is under-replicated once the controller shrinks its ISR.
    let d = env.json(&["topic", "describe", "u", "--json"]);
    let b = d["partitions"][1]["leader"].as_u64().unwrap();
    env.mark("down", b);
    env.controller_once();
    let (code, out, err) = run(&env, &["cluster", "status", "--check"]);
    assert_eq!(code, Some(3), "{out}{err}");
    assert!(err.contains("check failed"), "{err}");
    assert!(err.contains("offline: u-1"), "{err}");
    assert!(err.contains("under-replicated: r-0"), "{err}");
    assert!(
        out.contains("offline partitions: 1"),
        "the status is still printed: {out}"
    );
    // Without --check the status is information, not a verdict.
    let (code, _, _) = run(&env, &["cluster", "status"]);
    assert_eq!(code, Some(0));
    let (code, _, _) = run(&env, &["cluster", "status", "--json", "--check"]);
    assert_eq!(code, Some(3));

    env.mark("up", b);
    env.controller_once();
    wait_for(
        "the ISR to be full again",
        std::time::Duration::from_secs(20),
        || {
            env.controller_once();
            run(&env, &["cluster", "status", "--check"]).0 == Some(0)
        },
    );
}

#[test]
fn offsets_check_exits_3_when_a_partition_lags_in_records_or_in_time() {
    let env = Env::new();
    env.create_topic("t", 1, &[]);
    // Ten records stamped two hours ago; the group takes four.
    let two_hours_ago = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_millis() as i64
        - 2 * 3600 * 1000;
    let input: String = (0..10)
        .map(|i| {
            format!(
                "{{\"value\":\"v{i}\",\"timestamp\":{}}}\n",
                two_hours_ago + i
            )
        })
        .collect();
    env.produce("t", input, &["--format", "json"]);
    env.chute()
        .args(["consume", "-t", "t", "-g", "g", "-n", "4"])
        .assert()
        .success();

    let v = env.json(&["offsets", "-g", "g", "--json"]);
    let p = &v["partitions"][0];
    assert_eq!(p["lag"], 6, "{v}");
    let lag_ms = p["lag_ms"].as_u64().unwrap();
    assert!(
        (2 * 3600 * 1000..3 * 3600 * 1000).contains(&lag_ms),
        "the oldest record not consumed (offset 4) is two hours old: {v}"
    );
    assert!(p["committed_ms"].as_i64().unwrap() > two_hours_ago, "{v}");
    let (_, table, _) = run(&env, &["offsets", "-g", "g"]);
    assert!(table.contains("LAG-TIME"), "{table}");
    assert!(table.contains(" 2h"), "lag in time shown: {table}");
    assert!(
        table.contains(" ago") || table.contains("just now"),
        "commit age shown: {table}"
    );

    for (bound, want, says) in [
        ("10", 0, ""),
        ("6", 0, ""),
        ("5", 3, "t-0: lag 6 records (max 5)"),
        ("3h", 0, ""),
        ("1h", 3, "t-0: the oldest record not consumed is 2h"),
    ] {
        let (code, _, err) = run(&env, &["offsets", "-g", "g", "--check", "--max-lag", bound]);
        assert_eq!(code, Some(want), "--max-lag {bound}: {err}");
        assert!(err.contains(says), "--max-lag {bound}: {err}");
        if want == 3 {
            assert!(err.contains("check failed: group g"), "{err}");
        }
    }

    // Caught up: nothing lags, whatever the bound.
    env.chute()
        .args(["consume", "-t", "t", "-g", "g"])
        .assert()
        .success();
    let (code, _, err) = run(&env, &["offsets", "-g", "g", "--check", "--max-lag", "0"]);
    assert_eq!(code, Some(0), "{err}");
    let v = env.json(&["offsets", "-g", "g", "--json"]);
    assert_eq!(v["partitions"][0]["lag_ms"], 0, "{v}");

    // An unknown group is "could not ask" (1), not "unhealthy" (3); a check without its
    // bound is a usage error.
    let (code, _, err) = run(
        &env,
        &["offsets", "-g", "nope", "--check", "--max-lag", "5"],
    );
    assert_eq!(code, Some(1), "{err}");
    let (code, _, err) = run(&env, &["offsets", "-g", "g", "--check"]);
    assert_eq!(code, Some(2), "{err}");
    let (code, _, err) = run(
        &env,
        &["offsets", "-g", "g", "--check", "--max-lag", "soon"],
    );
    assert_eq!(code, Some(2), "{err}");
    assert!(err.contains("--max-lag"), "{err}");
}
