//! `todo`: the command-line client. Parses flags, runs one command, prints its result
//! and exits with a documented code (see `todo --help`).

mod args;
mod commands;
mod complete;
mod exit;
mod io;
mod output;

use std::process::ExitCode;

use clap::Parser;

fn main() -> ExitCode {
    output::init_local_offset();
    // With COMPLETE set (the shell asking for completions), answer and exit.
    clap_complete::CompleteEnv::with_factory(<args::Cli as clap::CommandFactory>::command).complete();
    let cli = match args::Cli::try_parse() {
        Ok(cli) => cli,
        Err(e) if !e.use_stderr() => e.exit(),
        Err(e) => {
            // clap's whole message: what was wrong, the usage, and a suggestion when it
            // has one (`todo lst` -> `list`). Every usage or value error exits 2.
            let _ = e.print();
            return ExitCode::from(exit::USAGE);
        }
    };
    // A wrong config file is reported and the rest of it applies: the command still runs.
    let config = todo_client::config::load();
    for problem in &config.problems {
        eprintln!(
            "todo: warning: {}",
            todo_api::text::printable(&problem.to_string(), true)
        );
    }
    let config = config.config;
    let color = match config.color {
        Some(todo_client::config::ColorChoice::Never) => Some(false),
        Some(todo_client::config::ColorChoice::Always) => Some(true),
        _ => None,
    };
    output::choose_color(cli.global.no_color || color == Some(false));
    let mut io = io::Io::system(io::Format {
        json: cli.global.json,
        quiet: cli.global.quiet,
        verbose: cli.global.verbose,
    });
    if color == Some(true) && !cli.global.no_color && std::env::var_os("NO_COLOR").is_none() {
        anstream::ColorChoice::Always.write_global();
    }
    let runtime = match tokio::runtime::Builder::new_current_thread().enable_all().build() {
        Ok(rt) => rt,
        Err(e) => {
            eprintln!("todo: cannot start: {e}");
            return ExitCode::from(exit::ERROR);
        }
    };
    exit::report(runtime.block_on(commands::run(cli, &config, &mut io)))
}
