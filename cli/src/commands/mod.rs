//! One module per group of subcommands.

mod auth;
mod changes;
mod tasks;

use clap::CommandFactory;
use todo_client::Session;

use crate::args::{Cli, Command};
use crate::exit::CliError;
use crate::output::Output;

pub async fn run(cli: Cli, out: Output) -> Result<(), CliError> {
    let (server, note) = todo_client::server_url(&cli.global.server);
    if let Some(note) = note {
        out.note(&note);
    }
    match cli.command {
        Command::Completions { shell } => {
            print_completions(shell);
            Ok(())
        }
        Command::Auth(command) => auth::run(command, &Session::open(&server).await?, out).await,
        Command::Undo => changes::undo(&Session::open(&server).await?, out).await,
        Command::Log(id) => changes::log(&Session::open(&server).await?, id.id, out).await,
        Command::Watch => changes::watch(Session::open(&server).await?, out).await,
        other => tasks::run(other, &Session::open(&server).await?, out).await,
    }
}

fn print_completions(shell: clap_complete::Shell) {
    // Into memory first: clap_complete panics when its writer fails (`| head`).
    let mut script = Vec::new();
    clap_complete::generate(shell, &mut Cli::command(), "todo", &mut script);
    crate::output::write_stdout(format_args!("{}", String::from_utf8_lossy(&script)));
}
