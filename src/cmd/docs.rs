//! `chute completions SHELL` and the hidden generator of `man/` and `completions/`.

use crate::cli::{Cli, CompletionsArgs};
use chute::error::{IoContext, Result};
use clap::CommandFactory;
use clap_complete::Shell;
use std::path::Path;

/// The script a shell sources to complete chute: it asks `chute` (found on PATH) for the
/// candidates of each word (src/complete.rs), so topics and groups come from the data.
fn registration(shell: Shell) -> Result<Vec<u8>> {
    use clap_complete::env::{Bash, Elvish, EnvCompleter, Fish, Powershell, Zsh};
    let s: &dyn EnvCompleter = match shell {
        Shell::Bash => &Bash,
        Shell::Zsh => &Zsh,
        Shell::Fish => &Fish,
        Shell::Elvish => &Elvish,
        Shell::PowerShell => &Powershell,
        other => {
            return Err(chute::error::Error::Usage(format!(
                "no completions for {other}"
            )));
        }
    };
    let mut buf = Vec::new();
    s.write_registration("COMPLETE", "chute", "chute", "chute", &mut buf)
        .map_err(|e| chute::error::Error::stream("completion script", e))?;
    Ok(buf)
}

pub fn completions(a: CompletionsArgs) -> Result<i32> {
    // Into memory first, then out: a closed pipe (`chute completions bash | grep -q .`) is
    // not a failure.
    super::print_bytes(&registration(a.shell)?)?;
    Ok(0)
}

/// Write `man/*.1` (one page per command and subcommand) and `completions/` for bash, zsh, fish.
pub fn generate(dir: &Path) -> Result<i32> {
    let man = dir.join("man");
    let comp = dir.join("completions");
    std::fs::create_dir_all(&man).at(&man)?;
    std::fs::create_dir_all(&comp).at(&comp)?;
    let cmd = Cli::command();
    write_man(&cmd, "chute", &man)?;
    for (shell, file) in [
        (Shell::Bash, "chute.bash"),
        (Shell::Zsh, "_chute"),
        (Shell::Fish, "chute.fish"),
    ] {
        let buf = registration(shell)?;
        let p = comp.join(file);
        std::fs::write(&p, buf).at(&p)?;
    }
    Ok(0)
}

fn write_man(cmd: &clap::Command, name: &str, dir: &Path) -> Result<()> {
    let cmd = cmd
        .clone()
        .name(name.to_string())
        .bin_name(name.replace('-', " "));
    let mut buf = Vec::new();
    clap_mangen::Man::new(cmd.clone())
        .render(&mut buf)
        .at(dir)?;
    if let Some(ex) = examples(name) {
        buf.extend_from_slice(b".SH EXAMPLES\n");
        for (what, line) in ex {
            // A comment line, then the command, kept as typed.
            buf.extend_from_slice(
                format!(
                    ".PP\n{}\n.nf\n.RS 4\n{}\n.RE\n.fi\n",
                    roff(what),
                    roff(line)
                )
                .as_bytes(),
            );
        }
    }
    let p = dir.join(format!("{name}.1"));
    std::fs::write(&p, buf).at(&p)?;
    for sub in cmd.get_subcommands() {
        if sub.is_hide_set() || sub.get_name() == "help" {
            continue;
        }
        write_man(sub, &format!("{name}-{}", sub.get_name()), dir)?;
    }
    Ok(())
}

/// Text for roff: backslashes doubled, and a line may not start with a control character.
fn roff(s: &str) -> String {
    let s = s.replace('\\', "\\e");
    if s.starts_with('.') || s.starts_with('\'') {
        format!("\\&{s}")
    } else {
        s
    }
}

/// The EXAMPLES section of a page: (what it does, the command).
fn examples(page: &str) -> Option<&'static [(&'static str, &'static str)]> {
    Some(match page {
        "chute" => &[
            (
                "A pipeline: lines in, lines out.",
                "tail -F app.log | chute produce -t logs",
            ),
            (
                "What arrived since the last run, from cron.",
                "chute consume -t orders -g billing --exec ./bill.sh",
            ),
            ("The cluster at a glance.", "chute top --once"),
        ],
        "chute-produce" => &[
            (
                "One record per line; the topic is created if missing.",
                "chute produce -t events < events.txt",
            ),
            (
                "Keyed records (key TAB value): a key always goes to the same partition.",
                "chute produce -t users -K '\\t' < users.tsv",
            ),
            (
                "Acknowledged only once every in-sync replica has it.",
                "producer | chute produce -t payments --acks all",
            ),
            (
                "JSON records with keys, headers and timestamps.",
                "chute produce -t events --format json < records.jsonl",
            ),
        ],
        "chute-consume" => &[
            ("Everything, then exit.", "chute consume -t events"),
            (
                "New records as they arrive.",
                "chute consume -t events --from end --follow",
            ),
            (
                "Since yesterday, with local times.",
                "chute consume -t events --since yesterday --format '%T{%F %T} %s\\n'",
            ),
            (
                "A cron job: each run gets what arrived since the last one.",
                "chute consume -t orders -g billing --exec ./bill.sh --exec-batch 500",
            ),
            (
                "Key and value, as kcat -K.",
                "chute consume -t users -K '='",
            ),
            (
                "audit and every topic named orders.* (a value starting with ^ is a regular expression), each record with its topic; --follow also reads matching topics created later.",
                "chute consume -t audit -t '^orders\\..*' --follow --format '%t %s\\n'",
            ),
        ],
        "chute-offsets" => &[
            (
                "A group's position, lag and lag in time.",
                "chute offsets -g billing",
            ),
            (
                "From monitoring: exit 3 when billing is more than 5 minutes behind.",
                "chute offsets -g billing --check --max-lag 5m",
            ),
            (
                "Replay the last hour (a dry run without --execute).",
                "chute offsets reset -g billing -t orders --by-duration 1h --execute",
            ),
        ],
        "chute-topic-create" => &[
            (
                "Eight partitions, kept a week, 256 MiB segments.",
                "chute topic create orders -p 8 -c retention=7d -c segment.bytes=256MiB",
            ),
            (
                "Three copies on three brokers; acks all needs two in sync.",
                "chute topic create payments -p 6 -r 3 -c min.insync.replicas=2",
            ),
            (
                "The latest value per key.",
                "chute topic create users -c cleanup.policy=compact",
            ),
        ],
        "chute-cluster-status" => &[(
            "From monitoring: exit 3 when a partition is offline or under-replicated.",
            "chute cluster status --check",
        )],
        "chute-controller" => &[
            (
                "The daemon (run a second one as a standby).",
                "chute controller",
            ),
            ("One pass from cron instead.", "chute controller --once"),
            (
                "JSON lines for a log shipper.",
                "chute controller --log-format json",
            ),
        ],
        "chute-metrics" => &[
            (
                "For node_exporter's textfile collector.",
                "chute metrics > /var/lib/node_exporter/textfile/chute.prom.$$ && mv /var/lib/node_exporter/textfile/chute.prom.$$ /var/lib/node_exporter/textfile/chute.prom",
            ),
            (
                "For a Prometheus scrape.",
                "chute metrics --listen 127.0.0.1:9645",
            ),
        ],
        "chute-top" => &[
            ("The live view.", "chute top"),
            ("One snapshot, for a script.", "chute top --once --json"),
        ],
        "chute-broker-replace" => &[
            (
                "Broker 2's disk failed; the new one is mounted where the old one was.",
                "chute broker replace 2",
            ),
            (
                "The new disk is mounted elsewhere.",
                "chute broker replace 2 --dir /mnt/disk5/chute",
            ),
        ],
        "chute-broker-drain" => &[(
            "Empty broker 1 before its disk is retired; the cluster keeps going.",
            "chute broker drain 1",
        )],
        "chute-verify" => &[(
            "Check every partition; restore damaged batches from an in-sync replica.",
            "chute verify --repair",
        )],
        _ => return None,
    })
}
