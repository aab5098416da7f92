//! man/ and completions/ are generated from the clap definition and checked in.

use crate::util::*;

#[test]
fn man_pages_and_completions_are_current() {
    let tmp = tempfile::tempdir().unwrap();
    std::process::Command::new(bin())
        .arg("generate-docs")
        .arg(tmp.path())
        .status()
        .unwrap();
    let repo = std::path::Path::new(env!("CARGO_MANIFEST_DIR"));
    for sub in ["man", "completions"] {
        let gen_dir = tmp.path().join(sub);
        let mut names: Vec<_> = std::fs::read_dir(&gen_dir)
            .unwrap()
            .map(|e| e.unwrap().file_name())
            .collect();
        names.sort();
        assert!(!names.is_empty());
        for n in &names {
            let want = std::fs::read(gen_dir.join(n)).unwrap();
            let have = std::fs::read(repo.join(sub).join(n)).unwrap_or_default();
            assert!(
                want == have,
                "{sub}/{} is stale: run `cargo run -- generate-docs .` and commit the result",
                n.to_string_lossy()
            );
        }
        if sub == "man" {
            // The pages a newcomer opens first show what to type.
            for page in [
                "chute.1",
                "chute-produce.1",
                "chute-consume.1",
                "chute-offsets.1",
            ] {
                let text = String::from_utf8(std::fs::read(gen_dir.join(page)).unwrap()).unwrap();
                assert!(text.contains(".SH EXAMPLES"), "{page} has no EXAMPLES");
            }
        }
        let checked_in = std::fs::read_dir(repo.join(sub)).unwrap().count();
        assert_eq!(
            checked_in,
            names.len(),
            "{sub}/ has files the CLI no longer generates"
        );
    }
}

#[test]
fn completions_command_prints_a_script() {
    let env = Env::new();
    let out = env.chute().args(["completions", "bash"]).output().unwrap();
    assert!(out.status.success());
    assert!(String::from_utf8_lossy(&out.stdout).contains("chute"));
}

/// The runnable examples (replication, retention and compaction, compression and partitioning,
/// disk operations) run and say what they show.
#[test]
fn replication_and_retention_examples_run() {
    let repo = std::path::Path::new(env!("CARGO_MANIFEST_DIR"));
    for (script, expect) in [
        (
            "examples/replicated.sh",
            &["duplicates: 0", "exit status: 75", "3000"][..],
        ),
        (
            "examples/retention-compaction.sh",
            &["below the log start", "records after: 19"][..],
        ),
        (
            "examples/compress-partition.sh",
            &[
                "compresscodec: zstd",
                "consumed: byte for byte the input",
                "5          0         1000",
                "same placement as -K",
                "partition 1: job 9",
            ][..],
        ),
        (
            "examples/stream-enrich.sh",
            &[
                "enriched: 300",
                "already written by an earlier run, skipped",
                "exit status: 75",
                "exactly once: 600 ids, 0 duplicates",
            ][..],
        ),
        (
            "examples/disk-ops.sh",
            &[
                "broker 1: rebuilt; 2 replica(s) in sync",
                "verify: clean",
                "replicas left on broker 1: 0",
                "records: 3000",
            ][..],
        ),
    ] {
        let out = std::process::Command::new("bash")
            .arg(repo.join(script))
            .env("CHUTE", bin())
            .env_remove("CHUTE_ROOT")
            .output()
            .unwrap();
        let text = format!(
            "{}{}",
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        );
        assert!(out.status.success(), "{script} failed:\n{text}");
        for e in expect {
            assert!(text.contains(e), "{script}: no {e:?} in:\n{text}");
        }
    }
}
