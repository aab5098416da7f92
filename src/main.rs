//! chute's entry point: parse, dispatch, map errors to exit codes, stay quiet on a closed pipe.

use crate::cli::{Cli, Command};
use chute::error::exit;
use clap::FromArgMatches;

mod cli;
mod cmd;
mod complete;
mod logging;

fn main() {
    // A shell asking for completions (`COMPLETE=bash chute -- words...`) is answered and we
    // exit; otherwise this does nothing.
    clap_complete::CompleteEnv::with_factory(<Cli as clap::CommandFactory>::command).complete();
    #[cfg(feature = "failpoints")]
    let _failpoints = fail::FailScenario::setup();
    let parsed = <Cli as clap::CommandFactory>::command()
        .try_get_matches()
        .and_then(|m| Cli::from_arg_matches(&m).map(|c| (c, m)));
    let (cli, matches) = match parsed {
        Ok(c) => c,
        Err(e) => {
            let _ = e.print();
            std::process::exit(if e.use_stderr() {
                exit::USAGE
            } else {
                exit::OK
            });
        }
    };
    // `--root` on the command line beside a Kafka cluster is a contradiction; $CHUTE_ROOT in
    // the environment is not (a shell may set it for every command).
    let root_given = matches.value_source("root") == Some(clap::parser::ValueSource::CommandLine);
    cmd::set_quiet(cli.quiet);
    // The mirror works on a root and a Kafka cluster at once: -b/--cluster/-X name the
    // latter, --root the former.
    if let Command::Mirror(a) = cli.command {
        let root = cli.root.unwrap_or_else(chute::cluster::default_root);
        let cluster = chute::cluster::Cluster::at(root);
        chute::fsutil::warn_if_network_fs(&cluster.root);
        let r = cmd::mirror::run(&cluster, cli.bootstrap_server, cli.cluster, cli.property, a);
        finish(r);
    }
    let target = match cmd::target(
        cli.root.clone(),
        root_given,
        cli.bootstrap_server.clone(),
        cli.cluster.clone(),
        cli.property.clone(),
    ) {
        Ok(t) => t,
        Err(e) => {
            eprintln!("chute: {e}");
            std::process::exit(e.exit_code());
        }
    };
    if let cmd::Target::Root(cluster) = &target
        && !matches!(
            cli.command,
            Command::Completions(_) | Command::GenerateDocs { .. } | Command::Dump(_)
        )
    {
        chute::fsutil::warn_if_network_fs(&cluster.root);
    }
    let t = &target;
    let result = match cli.command {
        Command::Cluster(c) => cmd::cluster::run(t, c),
        Command::Topic(c) => cmd::topic::run(t, c),
        Command::Broker(c) => t.root("broker").and_then(|r| cmd::broker::run(r, c)),
        Command::Replicate(a) => t.root("replicate").and_then(|r| cmd::replicate::run(r, a)),
        Command::Controller(a) => t
            .root("controller")
            .and_then(|r| cmd::controller::run(r, a)),
        Command::Produce(a) => cmd::produce::run(t, a),
        Command::Consume(a) => cmd::consume::run(t, a),
        Command::Stream(a) => cmd::stream::run(t, a),
        Command::Metrics(a) => t.root("metrics").and_then(|r| cmd::metrics::run(r, a)),
        Command::Top(a) => t.root("top").and_then(|r| cmd::top::run(r, a)),
        Command::Offsets(a) => cmd::offsets::run(t, a),
        Command::Group(c) => cmd::group::run(t, c),
        Command::Dump(a) => t.root("dump").and_then(|_| cmd::dump::run(a)),
        Command::Verify(a) => t.root("verify").and_then(|r| cmd::verify::run(r, a)),
        Command::Completions(a) => cmd::docs::completions(a),
        Command::GenerateDocs { dir } => cmd::docs::generate(&dir),
        Command::Mirror(_) => unreachable!("handled above"),
    };
    finish(result)
}

fn finish(result: chute::error::Result<i32>) -> ! {
    match result {
        Ok(code) => std::process::exit(code),
        // `chute consume | head`: the reader left, which is not our failure.
        Err(e) if e.is_broken_pipe() => std::process::exit(exit::OK),
        Err(e) => {
            eprintln!("chute: {e}");
            std::process::exit(e.exit_code());
        }
    }
}
