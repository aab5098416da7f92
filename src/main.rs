//! chute's entry point: parse, dispatch, map errors to exit codes, stay quiet on a closed pipe.

use crate::cli::{Cli, Command};
use chute::cluster::{Cluster, default_root};
use chute::error::exit;
use clap::Parser;

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
    let cli = match Cli::try_parse() {
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
    cmd::set_quiet(cli.quiet);
    let cluster = Cluster::at(cli.root.clone().unwrap_or_else(default_root));
    if !matches!(
        cli.command,
        Command::Completions(_) | Command::GenerateDocs { .. } | Command::Dump(_)
    ) {
        chute::fsutil::warn_if_network_fs(&cluster.root);
    }
    let result = match cli.command {
        Command::Cluster(c) => cmd::cluster::run(&cluster, c),
        Command::Topic(c) => cmd::topic::run(&cluster, c),
        Command::Broker(c) => cmd::broker::run(&cluster, c),
        Command::Replicate(a) => cmd::replicate::run(&cluster, a),
        Command::Controller(a) => cmd::controller::run(&cluster, a),
        Command::Produce(a) => cmd::produce::run(&cluster, a),
        Command::Consume(a) => cmd::consume::run(&cluster, a),
        Command::Stream(a) => cmd::stream::run(&cluster, a),
        Command::Metrics(a) => cmd::metrics::run(&cluster, a),
        Command::Top(a) => cmd::top::run(&cluster, a),
        Command::Offsets(a) => cmd::offsets::run(&cluster, a),
        Command::Group(c) => cmd::group::run(&cluster, c),
        Command::Dump(a) => cmd::dump::run(a),
        Command::Verify(a) => cmd::verify::run(&cluster, a),
        Command::Completions(a) => cmd::docs::completions(a),
        Command::GenerateDocs { dir } => cmd::docs::generate(&dir),
    };
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
