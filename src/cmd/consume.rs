//! `chute consume`: reads partitions without locks and writes records to stdout.

use super::Target;
use crate::cli::ConsumeArgs;
use chute::consume::{ConsumeOptions, StartFrom, Subscription};
use chute::error::{Error, Result};
use chute::output::OutputFormat;
use chute::output::stdout::{FormattedStdout, Stdout};
use chute::time::Time;
use std::time::Duration;

/// How often a follower rescans even without file events (events can be dropped).
const RESCAN: Duration = Duration::from_millis(250);

pub fn run(target: &Target, a: ConsumeArgs) -> Result<i32> {
    let topics = Subscription::parse(&a.topic)?;
    // Said at once, not after waiting for or resolving topics: partitions are per topic.
    if !a.partition.is_empty() && a.topic.len() > 1 {
        return Err(Error::Usage(format!(
            "-p picks partitions of one topic, but -t gives {} topics ({}): partitions are numbered per topic",
            a.topic.len(),
            a.topic.join(", ")
        )));
    }
    let mut format = a.format.clone().with_delimiter(a.delimiter.bytes());
    if let Some(sep) = &a.key_delimiter {
        format = format.with_key_separator(sep.0.clone()).ok_or_else(|| {
            Error::Usage("-K prints KEY SEP VALUE in the raw format; json, csv and templates show the key themselves (%k)".into())
        })?;
    }
    let default_from = if a.group.is_some() {
        StartFrom::Stored
    } else {
        StartFrom::Beginning
    };
    let from = a.from.unwrap_or(default_from);
    if from == StartFrom::Stored && a.group.is_none() {
        return Err(Error::Usage(
            "--from stored needs a consumer group (-g GROUP)".into(),
        ));
    }
    let from = match a.tail {
        Some(n) => StartFrom::BeforeEnd(n),
        None => from,
    };
    let opts = ConsumeOptions {
        partitions: (!a.partition.is_empty()).then(|| a.partition.clone()),
        from,
        since: a.since.map(Time::ms),
        until: a.until.map(Time::ms),
        max: a.count,
        follow: a.follow,
    };
    // Stop at the next record on SIGINT/SIGTERM/SIGHUP, or when stdout's reader leaves while
    // we wait (docs/groups.md, "Stopping").
    chute::signals::install()?;
    if a.exec.is_none() {
        chute::signals::stop_when_stdout_closes();
    }
    if a.follow && !wait_for_topics(target, &topics, a.wait_for_topic)? {
        return Ok(0); // stopped by a signal while waiting
    }
    if let Some(g) = &a.group {
        return run_group(target, &a, g, topics, format, opts);
    }
    let mut consumer = target.backend()?.consumer(&topics, &opts)?;
    print_warnings(consumer.as_mut());
    let mut sink = FormattedStdout {
        format,
        out: Stdout::open()?,
    };
    if a.merge || a.tail.is_some() {
        let keep = a.tail.map(|n| usize::try_from(n).unwrap_or(usize::MAX));
        let polled = consumer.poll_merged(&mut sink, keep);
        sink.out.flush()?;
        polled?;
        print_warnings(consumer.as_mut());
        if !a.follow || consumer.finished() {
            return Ok(0);
        }
        consumer.wait(RESCAN);
    }
    loop {
        let polled = consumer.poll(&mut sink);
        // Records before a failure (corruption further on) are still delivered.
        sink.out.flush()?;
        polled?;
        // Topics a pattern matched since may bring some (a start offset clamped).
        print_warnings(consumer.as_mut());
        if consumer.finished() || !a.follow {
            break;
        }
        consumer.wait(RESCAN);
    }
    Ok(0)
}

fn print_warnings(consumer: &mut dyn chute::client::RecordConsumer) {
    for w in consumer.warnings() {
        eprintln!("chute: warning: {w}");
    }
}

/// `--follow` of a topic that does not exist yet (or a pattern no topic matches yet) waits
/// for it (a consumer started before its producer), saying so once; `limit` bounds the wait
/// (then exit 75). False: a signal stopped the wait. Without --follow a missing topic is an
/// error at once, as in a snapshot read.
fn wait_for_topics(
    target: &Target,
    topics: &Subscription,
    limit: Option<Duration>,
) -> Result<bool> {
    let backend = target.backend()?;
    let unmet = || -> Result<Vec<String>> {
        let names: Vec<String> = backend.list_topics()?.into_iter().map(|t| t.name).collect();
        Ok(topics.unmet(&names.iter().map(String::as_str).collect::<Vec<_>>()))
    };
    let missing = unmet()?;
    if missing.is_empty() {
        return Ok(true);
    }
    let bound = limit.map_or(String::new(), |d| {
        format!(" (at most {})", humantime::format_duration(d))
    });
    let (what, them) = match missing.len() {
        1 => (missing[0].clone(), "does not exist yet; waiting for it"),
        _ => (missing.join(" and "), "do not exist yet; waiting for them"),
    };
    super::note(format_args!("{what} {them}{bound}"));
    let start = std::time::Instant::now();
    loop {
        if chute::signals::stop_requested() {
            return Ok(false);
        }
        if let Some(d) = limit
            && start.elapsed() >= d
        {
            return Err(Error::Temporary(format!(
                "{} did not appear within {}",
                unmet()?.join(" and "),
                humantime::format_duration(d)
            )));
        }
        // Metadata is read every tick: topics appear rarely, and a timer is enough for that.
        std::thread::sleep(RESCAN.min(limit.map_or(RESCAN, |d| d.saturating_sub(start.elapsed()))));
        if unmet()?.is_empty() {
            return Ok(true);
        }
    }
}

/// `consume -g`: a group member (src/group/run.rs does the work).
fn run_group(
    target: &Target,
    a: &ConsumeArgs,
    group: &str,
    topics: Subscription,
    format: OutputFormat,
    opts: ConsumeOptions,
) -> Result<i32> {
    use chute::client::{MemberOptions, MemberOutput};
    use chute::group::deliver::OnFailure;
    chute::group::check_name(group)?;
    if !a.partition.is_empty() {
        return Err(Error::Usage(
            "-p cannot be combined with -g: the group assigns partitions to its members".into(),
        ));
    }
    if let OnFailure::DeadLetter { topic: t } = &a.on_failure
        && topics.matches(t)
    {
        return Err(Error::Usage(format!(
            "--on-failure dead-letter={t}: the dead-letter topic must not be a topic being consumed (-t names or matches it)"
        )));
    }
    let output = match &a.exec {
        Some(cmd) => MemberOutput::Exec {
            cmd: cmd.clone(),
            batch: a.exec_batch,
            timeout: a.exec_timeout,
            on_failure: a.on_failure.clone(),
        },
        None => MemberOutput::Stdout,
    };
    let o = MemberOptions {
        group: group.to_string(),
        topics,
        assignor: a.assignor,
        reset: a.reset,
        consume: opts,
        format,
        commit_interval: a.commit_interval,
        output,
    };
    target
        .backend()?
        .run_group_member(o, &mut |w| eprintln!("chute: warning: {w}"))?;
    Ok(0)
}
