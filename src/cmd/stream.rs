//! `chute stream`: a consumer group member whose --exec output is produced to another topic,
//! each batch exactly once (src/stream does the protocol).

use crate::cli::StreamArgs;
use chute::client::{MemberOptions, MemberOutput};
use chute::consume::{ConsumeOptions, StartFrom, Subscription};
use chute::error::{Error, Result};
use chute::group::deliver::OnFailure;
use chute::input::InputOptions;
use chute::produce::Acks;
use std::time::Duration;

pub fn run(target: &super::Target, a: StreamArgs) -> Result<i32> {
    chute::group::check_name(&a.group)?;
    chute::names::topic(&a.to)?;
    let topics = Subscription::parse(&a.topic)?;
    if topics.matches(&a.to) {
        return Err(Error::Usage(format!(
            "--to {}: the output topic must not be one being read (-t names or matches it)",
            a.to
        )));
    }
    if let OnFailure::DeadLetter { topic: t } = &a.on_failure
        && (topics.matches(t) || *t == a.to)
    {
        return Err(Error::Usage(format!(
            "--on-failure dead-letter={t}: the dead-letter topic must be neither an input nor the output"
        )));
    }
    if a.acks == Acks::None {
        return Err(Error::Usage(
            "--acks 0: a stream commits its input only once its output is durable (use 1 or all)"
                .into(),
        ));
    }
    chute::signals::install()?;
    let o = MemberOptions {
        group: a.group.clone(),
        topics,
        assignor: a.assignor,
        reset: a.reset,
        consume: ConsumeOptions {
            partitions: None,
            from: StartFrom::Stored,
            since: None,
            until: None,
            max: None,
            follow: a.follow,
        },
        format: a.format,
        // Every batch commits as it completes; this only paces position marks between them.
        commit_interval: Duration::from_secs(1),
        output: MemberOutput::Stream {
            cmd: a.exec,
            batch: a.exec_batch,
            timeout: a.exec_timeout,
            on_failure: a.on_failure,
            to: a.to,
            parse: InputOptions {
                format: a.out_format,
                delimiter: b"\n".to_vec(),
                key_separator: a.key_delimiter.map(|k| k.0),
                key_optional: a.key_optional,
                headers: Vec::new(),
                csv_header: false,
                skip_bad: false,
            },
            acks: a.acks,
            compression: a.compression,
            lock_timeout: a.timeout,
        },
    };
    target
        .backend()?
        .run_group_member(o, &mut |w| eprintln!("chute: warning: {w}"))?;
    Ok(0)
}
