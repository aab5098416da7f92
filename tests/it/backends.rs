//! Scenarios that must hold on both backends, each written once and run on a chute root and
//! on a real Kafka broker (`CHUTE_TEST_KAFKA=HOST:PORT`, which `.ci/run` starts with
//! scripts/kafka-broker.sh). Without the variable the Kafka half is skipped, unless `CI` is
//! set: then it fails, so a CI run never passes without having talked to Kafka.

use crate::util::*;
use assert_cmd::Command;
use std::sync::atomic::{AtomicU32, Ordering};

/// Where a scenario runs.
pub struct On {
    /// A temporary directory (the root itself on the root backend; scratch files on Kafka).
    pub env: Env,
    /// The broker's address, on Kafka.
    pub kafka: Option<String>,
    /// Topic and group names are made unique on the shared broker.
    prefix: String,
}

static SEQ: AtomicU32 = AtomicU32::new(0);

impl On {
    pub fn root() -> On {
        On {
            env: Env::new(),
            kafka: None,
            prefix: String::new(),
        }
    }

    /// The test broker, or None (skipped) when there is none and this is not CI.
    pub fn kafka() -> Option<On> {
        match std::env::var("CHUTE_TEST_KAFKA") {
            Ok(a) if !a.trim().is_empty() => Some(On {
                env: Env::new(),
                kafka: Some(a.trim().to_string()),
                prefix: format!(
                    "t{}-{}-",
                    std::process::id(),
                    SEQ.fetch_add(1, Ordering::Relaxed)
                ),
            }),
            _ if std::env::var_os("CI").is_some() => panic!(
                "CI is set but CHUTE_TEST_KAFKA is not: .ci/run starts a broker with scripts/kafka-broker.sh and exports its address"
            ),
            _ => {
                eprintln!(
                    "skipped on Kafka: set CHUTE_TEST_KAFKA=$(scripts/kafka-broker.sh start)"
                );
                None
            }
        }
    }

    /// Commands against the broker at `addr` (one a test started itself).
    pub fn broker(addr: &str) -> On {
        On {
            env: Env::new(),
            kafka: Some(addr.to_string()),
            prefix: String::new(),
        }
    }

    /// A topic or group name of this scenario's own.
    pub fn name(&self, n: &str) -> String {
        format!("{}{n}", self.prefix)
    }

    /// `chute` against this backend (`-b` on Kafka).
    pub fn chute(&self) -> Command {
        let mut c = self.env.chute();
        if let Some(a) = &self.kafka {
            c.args(["-b", a]);
        }
        c
    }

    pub fn create_topic(&self, topic: &str, partitions: u32, extra: &[&str]) {
        let p = partitions.to_string();
        self.chute()
            .args(["topic", "create", topic, "-p", &p, "-r", "1"])
            .args(extra)
            .assert()
            .success();
    }

    pub fn produce(&self, topic: &str, input: impl Into<Vec<u8>>, extra: &[&str]) {
        let o = self
            .chute()
            .args(["produce", "-t", topic])
            .args(extra)
            .write_stdin(input)
            .output()
            .unwrap();
        assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    }

    pub fn consume(&self, topic: &str, extra: &[&str]) -> Vec<u8> {
        let o = self
            .chute()
            .args(["consume", "-t", topic])
            .args(extra)
            .output()
            .unwrap();
        assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
        o.stdout
    }

    pub fn json(&self, args: &[&str]) -> serde_json::Value {
        let o = self.chute().args(args).output().unwrap();
        assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
        serde_json::from_slice(&o.stdout).unwrap()
    }
}

/// `scenario!(name)`: `name::on_a_root` and `name::on_kafka`, both running `fn name(&On)`.
macro_rules! on_both {
    ($($name:ident),* $(,)?) => {$(
        mod $name {
            #[test]
            fn on_a_root() {
                super::$name(&super::On::root());
            }
            #[test]
            fn on_kafka() {
                if let Some(on) = super::On::kafka() {
                    super::$name(&on);
                }
            }
        }
    )*};
}

on_both!(
    awkward_lines_round_trip_byte_exact,
    json_records_round_trip_with_binary_values_and_headers,
    topics_are_created_described_altered_and_deleted_with_configs,
    an_unknown_topic_is_exit_1,
);

/// Deterministic awkward input: empty lines, CRs, invalid UTF-8, NULs, one 900 KB line.
pub fn awkward_input(n: usize) -> Vec<u8> {
    let mut v = Vec::new();
    let mut seed = 7u32;
    for i in 0..n {
        seed = seed.wrapping_mul(1103515245).wrapping_add(12345);
        match i % 7 {
            0 => {}
            1 => v.extend_from_slice(b"line with CR\r"),
            2 => v.extend_from_slice(&[0xff, 0xfe, b'x', 0x80]),
            3 => v.extend_from_slice(b"nul\0inside"),
            _ => {
                let len = (seed >> 20) as usize % 120;
                v.extend((0..len).map(|j| b'a' + ((j + i) % 26) as u8));
            }
        }
        if i == n / 2 {
            v.extend(std::iter::repeat_n(b'Z', 900 * 1024));
        }
        v.push(b'\n');
    }
    v
}

fn awkward_lines_round_trip_byte_exact(on: &On) {
    let t = on.name("raw");
    on.create_topic(&t, 1, &[]);
    let input = awkward_input(100_000);
    on.produce(&t, input.clone(), &[]);
    let got = on.consume(&t, &[]);
    assert_eq!(got.len(), input.len());
    assert!(got == input, "consumed bytes differ from produced bytes");
    let o = on.json(&["offsets", "-t", &t, "--json"]);
    assert_eq!(o["partitions"][0]["latest"], 100_000);
    assert_eq!(o["partitions"][0]["earliest"], 0);
}

fn json_records_round_trip_with_binary_values_and_headers(on: &On) {
    let (j, j2) = (on.name("j"), on.name("j2"));
    on.create_topic(&j, 1, &[]);
    on.create_topic(&j2, 1, &[]);
    let input = concat!(
        r#"{"key":"k1","value":"plain","headers":[{"key":"h","value":"v"},{"key":"n","value":null}]}"#,
        "\n",
        r#"{"key":null,"value":"/w==","value_encoding":"base64","timestamp":1234}"#,
        "\n",
        r#"{"key":"k3","value":null}"#,
        "\n",
        r#"{"value":{"nested":[1,2]}}"#,
        "\n",
        r#"{"key":"AAE=","key_encoding":"base64","value":"gA==","value_encoding":"base64","headers":[{"key":"b","value":"/wA=","value_encoding":"base64"}]}"#,
        "\n",
    );
    on.produce(&j, input, &["--format", "json"]);
    let first = on.consume(&j, &["--format", "json"]);
    on.produce(&j2, first.clone(), &["--format", "json"]);
    let second = on.consume(&j2, &["--format", "json"]);
    let strip = |b: &[u8]| -> Vec<serde_json::Value> {
        lines(b)
            .iter()
            .map(|l| {
                let mut v: serde_json::Value = serde_json::from_slice(l).unwrap();
                v.as_object_mut().unwrap().remove("topic");
                v
            })
            .collect()
    };
    let v = strip(&first);
    assert_eq!(strip(&second), v);
    assert_eq!(v.len(), 5);
    assert_eq!(v[0]["key"], "k1");
    assert_eq!(v[0]["headers"][0]["key"], "h");
    assert_eq!(v[0]["headers"][0]["value"], "v");
    assert!(v[0]["headers"][1]["value"].is_null());
    assert!(v[1]["key"].is_null());
    assert_eq!(v[1]["value_encoding"], "base64");
    assert_eq!(v[1]["value"], "/w==");
    assert_eq!(v[1]["timestamp"], 1234);
    assert!(v[2]["value"].is_null());
    assert_eq!(v[3]["value"], r#"{"nested":[1,2]}"#);
    assert_eq!(v[4]["key"], "\u{0}\u{1}");
    assert_eq!(v[4]["value"], "gA==");
    assert_eq!(v[4]["headers"][0]["value"], "/wA=");
    // The value bytes themselves, raw.
    let raw = on.consume(&j, &["--from", "1", "-n", "1"]);
    assert_eq!(raw, b"\xff\n");
}

fn topics_are_created_described_altered_and_deleted_with_configs(on: &On) {
    let t = on.name("cfg");
    on.create_topic(
        &t,
        3,
        &["-c", "retention=2d", "-c", "cleanup.policy=compact"],
    );
    let listed = on.chute().args(["topic", "list"]).output().unwrap();
    assert!(
        String::from_utf8_lossy(&listed.stdout)
            .lines()
            .any(|l| l == t)
    );
    let d = on.json(&["topic", "describe", &t, "--json"]);
    assert_eq!(d["partitions"].as_array().unwrap().len(), 3);
    assert_eq!(d["config"]["retention"], "2days");
    assert_eq!(d["config"]["cleanup.policy"], "compact");
    let set: Vec<&str> = d["overrides"]
        .as_array()
        .unwrap()
        .iter()
        .map(|v| v.as_str().unwrap())
        .collect();
    assert!(
        set.contains(&"retention") && set.contains(&"cleanup.policy"),
        "{d}"
    );
    on.chute()
        .args([
            "topic",
            "alter",
            &t,
            "-p",
            "4",
            "-c",
            "retention.bytes=1MiB",
        ])
        .args(["--delete-config", "cleanup.policy"])
        .assert()
        .success();
    let d = on.json(&["topic", "describe", &t, "--json"]);
    assert_eq!(d["partitions"].as_array().unwrap().len(), 4);
    assert_eq!(d["config"]["retention.bytes"], 1_048_576);
    assert_eq!(d["config"]["retention"], "2days", "kept by the alter");
    assert_eq!(d["config"]["cleanup.policy"], "delete");
    // A bad value is refused by name before anything is sent.
    on.chute()
        .args(["topic", "alter", &t, "-c", "retention=soon"])
        .assert()
        .code(2)
        .stderr(predicates::str::contains("retention"));
    on.chute().args(["topic", "delete", &t]).assert().success();
    on.chute()
        .args(["topic", "describe", &t])
        .assert()
        .code(1)
        .stderr(predicates::str::contains(t.as_str()));
}

fn an_unknown_topic_is_exit_1(on: &On) {
    let t = on.name("missing");
    on.chute()
        .args(["consume", "-t", &t])
        .assert()
        .code(1)
        .stderr(predicates::str::contains(format!("{t:?}")));
    on.chute()
        .args(["offsets", "-t", &t])
        .assert()
        .code(1)
        .stderr(predicates::str::contains(t.as_str()));
}

#[test]
fn on_kafka_an_unreachable_broker_is_exit_75_and_root_only_commands_are_exit_2() {
    let env = Env::new();
    let o = env
        .chute()
        .args(["-b", "127.0.0.1:1", "-X", "socket.timeout.ms=1000"])
        .args(["topic", "list"])
        .output()
        .unwrap();
    assert_eq!(
        o.status.code(),
        Some(75),
        "{}",
        String::from_utf8_lossy(&o.stderr)
    );
    assert!(String::from_utf8_lossy(&o.stderr).contains("127.0.0.1:1"));
    for args in [
        &["replicate"][..],
        &["controller", "--once"],
        &["verify"],
        &["broker", "list"],
        &["topic", "reassign", "t", "-p", "0", "--replicas", "1"],
        &["cluster", "init"],
        &["dump", "x"],
    ] {
        env.chute()
            .args(["-b", "127.0.0.1:1"])
            .args(args)
            .assert()
            .code(2)
            .stderr(predicates::str::contains("Kafka does this itself"));
    }
    env.chute()
        .args([
            "-b",
            "127.0.0.1:1",
            "topic",
            "create",
            "t",
            "-c",
            "partitioner=crc32",
        ])
        .assert()
        .code(2)
        .stderr(predicates::str::contains(
            "partitioner has no Kafka counterpart",
        ));
    env.chute()
        .args(["-X", "acks=all", "topic", "list"])
        .assert()
        .code(2)
        .stderr(predicates::str::contains("give -b HOST:PORT"));
    env.chute()
        .args(["--root", "/tmp", "-b", "127.0.0.1:1", "topic", "list"])
        .assert()
        .code(2);
}

on_both!(
    three_cron_members_deliver_each_record_once_and_a_rerun_nothing,
    more_cron_members_than_partitions_all_finish,
    a_failed_exec_commits_nothing_and_the_next_run_redelivers,
);

fn three_cron_members_deliver_each_record_once_and_a_rerun_nothing(on: &On) {
    cron_members(on, 8);
}

fn more_cron_members_than_partitions_all_finish(on: &On) {
    // Two of the three get no partition: they must see that and exit 0, not wait.
    cron_members(on, 1);
}

fn cron_members(on: &On, partitions: u32) {
    let (t, g) = (on.name("orders"), on.name("billing"));
    on.create_topic(&t, partitions, &[]);
    let input: String = (0..80_000)
        .map(|i| format!("k{},{i}\n", i % 1000))
        .collect();
    on.produce(&t, input, &["-K", ","]);
    let members: Vec<_> = (0..3)
        .map(|_| {
            let mut c = std::process::Command::new(bin());
            c.env("CHUTE_ROOT", on.env.root());
            if let Some(a) = &on.kafka {
                c.args(["-b", a]);
            }
            c.args(["consume", "-t", &t, "-g", &g, "--format", "%p %k %s\\n"])
                .stdout(std::process::Stdio::piped())
                .stderr(std::process::Stdio::piped())
                .spawn()
                .unwrap()
        })
        .collect();
    let mut seen = std::collections::BTreeMap::new();
    for m in members {
        let o = m.wait_with_output().unwrap();
        assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
        for l in String::from_utf8(o.stdout).unwrap().lines() {
            let mut it = l.split(' ');
            let (p, k, v) = (it.next().unwrap(), it.next().unwrap(), it.next().unwrap());
            let v: u64 = v.parse().unwrap();
            assert!(
                seen.insert(v, (p.to_string(), k.to_string())).is_none(),
                "{v} twice"
            );
        }
    }
    assert_eq!(seen.len(), 80_000);
    // Each key in one partition, in order there.
    let mut by_key: std::collections::BTreeMap<&str, &str> = Default::default();
    for (p, k) in seen.values() {
        assert_eq!(
            *by_key.entry(k.as_str()).or_insert(p.as_str()),
            p.as_str(),
            "key {k}"
        );
    }
    let again = on
        .chute()
        .args(["consume", "-t", &t, "-g", &g])
        .output()
        .unwrap();
    assert!(again.status.success());
    assert!(
        again.stdout.is_empty(),
        "a second run delivered {} bytes",
        again.stdout.len()
    );
    let lag = on.json(&["offsets", "-g", &g, "--json"]);
    let total: u64 = lag["partitions"]
        .as_array()
        .unwrap()
        .iter()
        .map(|p| p["committed"].as_u64().unwrap())
        .sum();
    assert_eq!(total, 80_000, "{lag}");
}

fn a_failed_exec_commits_nothing_and_the_next_run_redelivers(on: &On) {
    let (t, g) = (on.name("jobs"), on.name("workers"));
    on.create_topic(&t, 1, &[]);
    let input: String = (0..100).map(|i| format!("{i}\n")).collect();
    on.produce(&t, input.clone(), &[]);
    let failing = on
        .chute()
        .args([
            "consume",
            "-t",
            &t,
            "-g",
            &g,
            "--exec",
            "cat >/dev/null; exit 3",
        ])
        .output()
        .unwrap();
    assert_ne!(failing.status.code(), Some(0));
    let out = on.env.dir.path().join("got");
    let ok = on
        .chute()
        .args(["consume", "-t", &t, "-g", &g, "--exec-batch", "7", "--exec"])
        .arg(format!("cat >> {}", out.display()))
        .output()
        .unwrap();
    assert!(
        ok.status.success(),
        "{}",
        String::from_utf8_lossy(&ok.stderr)
    );
    assert_eq!(std::fs::read_to_string(&out).unwrap(), input);
    let again = on
        .chute()
        .args(["consume", "-t", &t, "-g", &g])
        .output()
        .unwrap();
    assert!(again.stdout.is_empty());
}

/// A broker of the test's own (scripts/kafka-broker.sh with a state directory of its own), for
/// tests that freeze or stop it; stopped on drop.
pub struct OwnBroker {
    pub state: std::path::PathBuf,
    pub addr: String,
}

impl OwnBroker {
    pub fn start(dir: &std::path::Path) -> OwnBroker {
        OwnBroker::start_with(dir, false)
    }

    /// `tls`: also listeners for TLS and SASL/PLAIN over TLS (their addresses and the
    /// certificate are files in the state dir).
    fn start_with(dir: &std::path::Path, tls: bool) -> OwnBroker {
        let state = dir.join("kafka");
        let o = std::process::Command::new("scripts/kafka-broker.sh")
            .arg("start")
            .env("CHUTE_KAFKA_TLS", if tls { "1" } else { "0" })
            .env("CHUTE_KAFKA_STATE", &state)
            .current_dir(env!("CARGO_MANIFEST_DIR"))
            .output()
            .unwrap();
        assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
        OwnBroker {
            addr: String::from_utf8(o.stdout).unwrap().trim().to_string(),
            state,
        }
    }

    fn script(&self, command: &str) {
        let o = std::process::Command::new("scripts/kafka-broker.sh")
            .arg(command)
            .env("CHUTE_KAFKA_STATE", &self.state)
            .current_dir(env!("CARGO_MANIFEST_DIR"))
            .output()
            .unwrap();
        assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    }

    /// The broker process ends; its data stays (an outage).
    pub fn down(&self) {
        self.script("down");
    }

    /// The same broker again: same data, same address.
    pub fn up(&self) {
        self.script("up");
    }

    pub fn pid(&self) -> u32 {
        std::fs::read_to_string(self.state.join("pid"))
            .unwrap()
            .trim()
            .parse()
            .unwrap()
    }
}

impl Drop for OwnBroker {
    fn drop(&mut self) {
        signal(self.pid(), "CONT");
        let _ = std::process::Command::new("scripts/kafka-broker.sh")
            .arg("stop")
            .env("CHUTE_KAFKA_STATE", &self.state)
            .current_dir(env!("CARGO_MANIFEST_DIR"))
            .output();
    }
}

#[test]
fn on_kafka_a_member_whose_broker_stops_answering_still_exits_75() {
    // A broker frozen (SIGSTOP: connections open, no answers) while a member holds records it
    // delivered but has not committed: the member, told to stop, gives up on the commit after
    // its timeout and exits 75 instead of waiting for ever (librdkafka's own synchronous
    // commit and close have no limit).
    let Some(on) = On::kafka() else { return };
    let broker = OwnBroker::start(on.env.dir.path());
    let b = broker.addr.as_str();
    let chute = || {
        let mut c = on.env.chute();
        c.args(["-b", b]);
        c
    };
    chute()
        .args(["topic", "create", "f", "-p", "2", "-r", "1"])
        .assert()
        .success();
    chute()
        .args(["produce", "-t", "f"])
        .write_stdin("a\nb\nc\n")
        .assert()
        .success();
    let mut member = std::process::Command::new(bin())
        .args(["-b", b, "-X", "socket.timeout.ms=3000"])
        .args([
            "consume",
            "-t",
            "f",
            "-g",
            "g",
            "--follow",
            "--commit-interval",
            "1h",
        ])
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    let mut out = member.stdout.take().unwrap();
    let mut got = Vec::new();
    wait_for(
        "the member to deliver the records",
        std::time::Duration::from_secs(60),
        || {
            use std::io::Read;
            let mut buf = [0u8; 64];
            if let Ok(n) = out.read(&mut buf) {
                got.extend_from_slice(&buf[..n]);
            }
            got.ends_with(b"c\n")
        },
    );
    signal(broker.pid(), "STOP");
    signal(member.id(), "TERM");
    let mut status = None;
    wait_for(
        "the member to exit",
        std::time::Duration::from_secs(120),
        || {
            status = member.try_wait().unwrap();
            status.is_some()
        },
    );
    let mut err = String::new();
    use std::io::Read;
    member
        .stderr
        .take()
        .unwrap()
        .read_to_string(&mut err)
        .unwrap();
    assert_eq!(status.unwrap().code(), Some(75), "{err}");
    assert!(err.contains("did not acknowledge"), "{err}");
}

#[test]
fn on_kafka_tls_and_sasl_properties_pass_through_and_refusals_say_why() {
    // Real clusters want TLS and a login; `-X` passes librdkafka's properties for both, as
    // kcat's does. A certificate nobody trusts or a wrong password is exit 1 naming the cause
    // (trying again will not help), not a bare timeout.
    let Some(on) = On::kafka() else { return };
    let broker = OwnBroker::start_with(on.env.dir.path(), true);
    let file = |name: &str| {
        std::fs::read_to_string(broker.state.join(name))
            .unwrap()
            .trim()
            .to_string()
    };
    let (tls, sasl) = (file("tls-address"), file("sasl-address"));
    let ca = format!("ssl.ca.location={}", broker.state.join("ca.pem").display());
    let over_tls = |extra: &[&str]| {
        let mut c = on.env.chute();
        c.args(["-b", &tls, "-X", "security.protocol=ssl", "-X", &ca])
            .args(extra);
        c
    };
    let login = |password: &str| {
        let mut c = on.env.chute();
        c.args(["-b", &sasl, "-X", "security.protocol=sasl_ssl", "-X", &ca])
            .args(["-X", "sasl.mechanism=PLAIN", "-X", "sasl.username=chute"])
            .args(["-X", &format!("sasl.password={password}")]);
        c
    };
    over_tls(&["topic", "create", "sec", "-p", "3"])
        .assert()
        .success();
    let input = awkward_input(2_000);
    over_tls(&["produce", "-t", "sec"])
        .write_stdin(input.clone())
        .assert()
        .success();
    let o = login("chute-secret")
        .args(["consume", "-t", "sec", "-g", "audit"])
        .output()
        .unwrap();
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    let sorted = |b: &[u8]| {
        let mut v: Vec<Vec<u8>> = b.split(|&c| c == b'\n').map(<[u8]>::to_vec).collect();
        v.sort();
        v
    };
    assert_eq!(
        sorted(&o.stdout),
        sorted(&input),
        "records over TLS and SASL"
    );
    login("chute-secret")
        .args(["consume", "-t", "sec", "-g", "audit"])
        .assert()
        .success()
        .stdout("");

    let o = on
        .env
        .chute()
        .args(["-b", &tls, "-X", "security.protocol=ssl"])
        .args(["-X", "socket.timeout.ms=3000", "topic", "list"])
        .output()
        .unwrap();
    let err = String::from_utf8_lossy(&o.stderr);
    assert_eq!(o.status.code(), Some(1), "{err}");
    assert!(err.contains("certificate verify failed"), "{err}");
    let o = login("wrong")
        .args(["-X", "socket.timeout.ms=3000", "topic", "list"])
        .output()
        .unwrap();
    let err = String::from_utf8_lossy(&o.stderr);
    assert_eq!(o.status.code(), Some(1), "{err}");
    assert!(err.contains("Authentication failed"), "{err}");
}

/// One of Kafka's own tools (`scripts/kafka-broker.sh run-class`), fed `input`.
fn kafka_tool(class: &str, args: &[&str], input: &[u8]) -> Vec<u8> {
    let o = assert_cmd::Command::new("scripts/kafka-broker.sh")
        .current_dir(env!("CARGO_MANIFEST_DIR"))
        .arg("run-class")
        .arg(class)
        .args(args)
        .write_stdin(input.to_vec())
        .timeout(std::time::Duration::from_secs(120))
        .output()
        .unwrap();
    assert!(
        o.status.success(),
        "{class}: {}",
        String::from_utf8_lossy(&o.stderr)
    );
    o.stdout
}

fn kcat(args: &[&str], input: &[u8]) -> Vec<u8> {
    let o = assert_cmd::Command::new("kcat")
        .args(args)
        .write_stdin(input.to_vec())
        .timeout(std::time::Duration::from_secs(60))
        .output()
        .expect("kcat (tests/run.sh installs it)");
    assert!(
        o.status.success(),
        "kcat: {}",
        String::from_utf8_lossy(&o.stderr)
    );
    o.stdout
}

/// `partition key` per record of `topic`, read by chute.
fn placement(on: &On, topic: &str) -> std::collections::BTreeMap<String, String> {
    let out = on.consume(topic, &["--format", "%k %p\\n"]);
    String::from_utf8(out)
        .unwrap()
        .lines()
        .map(|l| {
            let (k, p) = l.split_once(' ').unwrap();
            (k.to_string(), p.to_string())
        })
        .collect()
}

#[test]
fn on_kafka_keys_land_where_the_java_producer_and_kcat_put_them() {
    let Some(on) = On::kafka() else { return };
    let b = on.kafka.clone().unwrap();
    let (java, ours, viakcat, ours_crc) = (
        on.name("java"),
        on.name("ours"),
        on.name("kcat"),
        on.name("ourscrc"),
    );
    for t in [&java, &ours, &viakcat, &ours_crc] {
        on.create_topic(t, 8, &[]);
    }
    let input: String = (0..1000).map(|i| format!("key-{i}:value {i}\n")).collect();
    // Kafka's console producer: the Java client's default partitioner (murmur2 on keys).
    kafka_tool(
        "org.apache.kafka.tools.ConsoleProducer",
        &[
            "--bootstrap-server",
            &b,
            "--topic",
            &java,
            "--property",
            "parse.key=true",
            "--property",
            "key.separator=:",
        ],
        input.as_bytes(),
    );
    on.produce(&ours, input.clone(), &["-K", ":"]);
    let (pj, po) = (placement(&on, &java), placement(&on, &ours));
    assert_eq!(pj.len(), 1000);
    assert_eq!(
        pj, po,
        "chute's murmur2 placement differs from the Java producer's"
    );
    // kcat -P: librdkafka's default, consistent_random (CRC32 of the key), which chute's
    // crc32 partitioner matches.
    kcat(
        &["-b", &b, "-P", "-t", &viakcat, "-K", ":"],
        input.as_bytes(),
    );
    on.produce(
        &ours_crc,
        input.clone(),
        &["-K", ":", "--partitioner", "crc32"],
    );
    assert_eq!(placement(&on, &viakcat), placement(&on, &ours_crc));
    // What they wrote reads back byte-exact, keys and values, per partition in order.
    let mut want: Vec<(String, String)> = input
        .lines()
        .map(|l| {
            let (k, v) = l.split_once(':').unwrap();
            (pj[k].clone(), format!("{k}:{v}"))
        })
        .collect();
    want.sort_by(|a, b| a.0.cmp(&b.0));
    let got = on.consume(&java, &["--format", "%p %k:%s\\n"]);
    let mut got: Vec<(String, String)> = String::from_utf8(got)
        .unwrap()
        .lines()
        .map(|l| {
            let (p, kv) = l.split_once(' ').unwrap();
            (p.to_string(), kv.to_string())
        })
        .collect();
    got.sort_by(|a, b| a.0.cmp(&b.0));
    assert_eq!(got, want);
}

#[test]
fn on_kafka_records_cross_between_chute_kcat_and_kafkas_console_tools_byte_exact() {
    let Some(on) = On::kafka() else { return };
    let b = on.kafka.clone().unwrap();
    let (from_chute, from_kcat) = (on.name("fromchute"), on.name("fromkcat"));
    on.create_topic(&from_chute, 1, &[]);
    on.create_topic(&from_kcat, 1, &[]);
    // Lines with CRs, tabs, invalid UTF-8 and empty values: no newline inside a record, which
    // the line-oriented tools on the other side could not frame.
    let mut input = Vec::new();
    for i in 0..2000u32 {
        input.extend_from_slice(format!("k{}\t", i % 13).as_bytes());
        match i % 5 {
            0 => {}
            1 => input.extend_from_slice(b"cr\r"),
            2 => input.extend_from_slice(&[0xff, 0xfe, b'x']),
            3 => input.extend_from_slice("héllo wörld".as_bytes()),
            _ => input.extend_from_slice(format!("plain {i}").as_bytes()),
        }
        input.push(b'\n');
    }
    on.produce(&from_chute, input.clone(), &["-K", "\t"]);
    // kcat -C: key TAB value per record, as chute was given them.
    let got = kcat(
        &[
            "-b",
            &b,
            "-C",
            "-t",
            &from_chute,
            "-e",
            "-q",
            "-f",
            "%k\t%s\n",
        ],
        b"",
    );
    assert!(got == input, "kcat read other bytes than chute wrote");
    // Kafka's console consumer, the same.
    let got = kafka_tool(
        "org.apache.kafka.tools.consumer.ConsoleConsumer",
        &[
            "--bootstrap-server",
            &b,
            "--topic",
            &from_chute,
            "--from-beginning",
            "--max-messages",
            "2000",
            "--property",
            "print.key=true",
            "--property",
            "key.separator=\t",
        ],
        b"",
    );
    assert!(
        got == input,
        "Kafka's console consumer read other bytes than chute wrote"
    );
    // kcat -P with keys, read by chute: the same bytes, keys and all.
    kcat(&["-b", &b, "-P", "-t", &from_kcat, "-K", "\t"], &input);
    let back = on.consume(&from_kcat, &["--format", "%k\t%s\\n"]);
    assert!(back == input, "chute read other bytes than kcat wrote");
}

on_both!(every_offsets_reset_form_plans_then_executes);

fn every_offsets_reset_form_plans_then_executes(on: &On) {
    let (t, g) = (on.name("r"), on.name("rg"));
    on.create_topic(&t, 2, &[]);
    // 50 records a partition, timestamps 1000 ms apart from a fixed start.
    let input: String = (0..100u64)
        .map(|i| {
            format!(
                "{{\"partition\":{},\"timestamp\":{},\"value\":\"{i}\"}}\n",
                i % 2,
                1_700_000_000_000u64 + (i / 2) * 1000
            )
        })
        .collect();
    on.produce(&t, input, &["--format", "json"]);
    let committed = |args: &[&str]| -> Vec<(Option<u64>, u64)> {
        let mut a = vec!["offsets", "reset", "-g", &g, "-t", &t, "--json"];
        a.extend_from_slice(args);
        let v = on.json(&a);
        v["partitions"]
            .as_array()
            .unwrap_or_else(|| panic!("{v}"))
            .iter()
            .map(|p| (p["old"].as_u64(), p["new"].as_u64().unwrap()))
            .collect()
    };
    // A dry run changes nothing.
    assert_eq!(
        committed(&["--to-offset", "10"]),
        vec![(None, 10), (None, 10)]
    );
    assert_eq!(committed(&["--to-latest"]), vec![(None, 50), (None, 50)]);
    assert_eq!(
        committed(&["--to-offset", "10", "--execute"]),
        vec![(None, 10), (None, 10)]
    );
    assert_eq!(
        committed(&["--shift-by", "-3", "--execute"]),
        vec![(Some(10), 7), (Some(10), 7)]
    );
    assert_eq!(
        committed(&["--shift-by", "1000", "--execute"]),
        vec![(Some(7), 50), (Some(7), 50)],
        "clamped to the log end"
    );
    assert_eq!(
        committed(&["--to-earliest", "--execute", "-p", "1"]),
        vec![(Some(50), 0)]
    );
    assert_eq!(
        committed(&["--to-datetime", "2023-11-14T22:13:40Z", "--execute"]),
        vec![(Some(50), 20), (Some(0), 20)],
        "the first record at or after 1_700_000_020_000 ms"
    );
    assert_eq!(
        committed(&["--by-duration", "1h", "--execute"]),
        vec![(Some(20), 50), (Some(20), 50)],
        "nothing that recent: the end"
    );
    // The group resumes where it was put.
    committed(&["--to-offset", "48", "--execute"]);
    let rest = on.consume(&t, &["-g", &g]);
    let mut rest: Vec<&str> = std::str::from_utf8(&rest).unwrap().lines().collect();
    rest.sort();
    assert_eq!(rest, vec!["96", "97", "98", "99"]);
}

#[test]
fn on_kafka_cluster_status_names_the_brokers_and_the_controller() {
    let Some(on) = On::kafka() else { return };
    let v = on.json(&["cluster", "status", "--json", "--check"]);
    let brokers = v["brokers"].as_array().unwrap();
    assert_eq!(brokers.len(), 1, "{v}");
    assert_eq!(v["controller"], brokers[0]["id"], "{v}");
    assert_eq!(brokers[0]["address"], on.kafka.clone().unwrap().as_str());
    assert_eq!(v["offline_partitions"], 0);
    assert!(!v["cluster_id"].as_str().unwrap().is_empty());
}

on_both!(partitioners_and_batching_options_work_the_same);

fn partitioners_and_batching_options_work_the_same(on: &On) {
    let (rr, ex) = (on.name("rr"), on.name("ex"));
    on.create_topic(&rr, 8, &[]);
    on.create_topic(&ex, 2, &[]);
    let input: String = (0..800).map(|i| format!("k{i},v{i}\n")).collect();
    on.produce(
        &rr,
        input.clone(),
        &[
            "-K",
            ",",
            "--partitioner",
            "round-robin",
            "--batch-records",
            "10",
            "--linger",
            "5ms",
        ],
    );
    let o = on.json(&["offsets", "-t", &rr, "--json"]);
    let counts: Vec<u64> = o["partitions"]
        .as_array()
        .unwrap()
        .iter()
        .map(|p| p["latest"].as_u64().unwrap())
        .collect();
    assert_eq!(counts, vec![100; 8], "round-robin spreads exactly");
    // A partitioner command: even keys to 0, odd keys to 1.
    on.produce(
        &ex,
        input,
        &[
            "-K",
            ",",
            "--partitioner-exec",
            "while read k; do echo $(( ${k#k} % 2 )); done",
        ],
    );
    let out = on.consume(&ex, &["--format", "%p %k\\n"]);
    let lines = String::from_utf8(out).unwrap();
    assert_eq!(lines.lines().count(), 800);
    for l in lines.lines() {
        let (p, k) = l.split_once(' ').unwrap();
        let n: u32 = k[1..].parse().unwrap();
        assert_eq!(p, (n % 2).to_string(), "{l}");
    }
}

on_both!(a_killed_member_redelivers_its_tail_and_a_stopped_one_nothing);

/// DESIGN's group guarantees on either backend: a `--follow --exec` member killed with
/// SIGKILL loses nothing (the next member re-delivers at most its uncommitted tail), and one
/// stopped with SIGTERM commits what its command took before exiting 0.
fn a_killed_member_redelivers_its_tail_and_a_stopped_one_nothing(on: &On) {
    let (t, g) = (on.name("k"), on.name("kg"));
    on.create_topic(&t, 2, &[]);
    let n = 2000u64;
    on.produce(
        &t,
        (0..n).map(|i| format!("{i}\n")).collect::<String>(),
        &[],
    );
    let got = on.env.dir.path().join("got");
    let member = || {
        let mut c = std::process::Command::new(bin());
        c.env("CHUTE_ROOT", on.env.root());
        if let Some(a) = &on.kafka {
            c.args(["-b", a]);
        }
        c.args([
            "consume",
            "-t",
            &t,
            "-g",
            &g,
            "--follow",
            "--exec-batch",
            "50",
        ])
        .arg("--exec")
        .arg(format!("cat >> {}", got.display()))
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .unwrap()
    };
    let lines = || -> Vec<u64> {
        std::fs::read_to_string(&got)
            .unwrap_or_default()
            .lines()
            .filter_map(|l| l.parse().ok())
            .collect()
    };
    let mut m = member();
    wait_for(
        "a first share delivered",
        std::time::Duration::from_secs(60),
        || lines().len() >= 300,
    );
    kill9(&mut m);
    let mut m = member();
    wait_for(
        "every record delivered",
        std::time::Duration::from_secs(60),
        || {
            lines()
                .iter()
                .collect::<std::collections::BTreeSet<_>>()
                .len() as u64
                == n
        },
    );
    signal(m.id(), "TERM");
    let st = m.wait().unwrap();
    assert!(st.success(), "SIGTERM: {st}");
    let all = lines();
    // Re-delivered: only what the killed member had not committed (a tail, not the log).
    assert!(
        all.len() as u64 - n < 1000,
        "{} duplicates",
        all.len() as u64 - n
    );
    // The stopped member committed everything its command took: nothing comes again.
    let again = on
        .chute()
        .args(["consume", "-t", &t, "-g", &g])
        .output()
        .unwrap();
    assert!(again.status.success());
    assert!(
        again.stdout.is_empty(),
        "{} bytes again",
        again.stdout.len()
    );
}
