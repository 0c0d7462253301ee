//! `todo`: the command-line client. Parses flags, runs one command, prints its result
//! and exits with a documented code (see `todo --help`).

mod args;
mod commands;
mod exit;
mod output;

use std::process::ExitCode;

use clap::Parser;

fn main() -> ExitCode {
    output::init_local_offset();
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
    let out = output::Output::new(
        cli.global.json,
        cli.global.quiet,
        cli.global.no_color,
        cli.global.verbose,
    );
    let runtime = match tokio::runtime::Builder::new_current_thread().enable_all().build() {
        Ok(rt) => rt,
        Err(e) => {
            eprintln!("todo: cannot start: {e}");
            return ExitCode::from(exit::ERROR);
        }
    };
    exit::report(runtime.block_on(commands::run(cli, out)))
}
