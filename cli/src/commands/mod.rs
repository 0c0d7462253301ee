//! One module per group of subcommands.

mod account;
mod auth;
mod changes;
mod feeds;
mod offline;
mod personal_tokens;
mod projects;
mod settings;
mod tasks;
mod transfer;
mod two_factor;

use clap::CommandFactory;
use todo_client::Session;

use todo_client::config::Config;

use crate::args::{Cli, Command};
use crate::exit::CliError;
use crate::io::Io;

pub async fn run(cli: Cli, config: &Config, io: &mut Io) -> Result<(), CliError> {
    let given = cli
        .global
        .server
        .clone()
        .filter(|s| !s.trim().is_empty())
        .or_else(|| config.server.clone())
        .unwrap_or_else(|| todo_client::DEFAULT_SERVER.to_string());
    let (server, note) = todo_client::server_url(&given);
    let timeouts = todo_client::api::Timeouts {
        connect: cli.global.connect_timeout,
        request: cli.global.timeout,
    };
    if let Some(note) = note {
        io.note(&note);
    }
    match cli.command {
        Command::Completions { shell } => {
            print_completions(shell, io);
            Ok(())
        }
        Command::Man { dir } => write_man_pages(dir.as_deref(), io),
        Command::Config(command) => settings::run(command, config, io),
        Command::Export { format } => transfer::export(&open(&server, timeouts).await?, format, io).await,
        Command::Import { file, dry_run } => {
            transfer::import(&open(&server, timeouts).await?, &file, dry_run, io).await
        }
        Command::Auth(command) => auth::run(command, &open(&server, timeouts).await?, io).await,
        Command::Project(command) => projects::run(command, &open(&server, timeouts).await?, io).await,
        Command::Invitations { command } => {
            projects::invitations(command, &open(&server, timeouts).await?, io).await
        }
        Command::Calendar(crate::args::CalendarCommand::Feed(command)) => {
            feeds::run(command, &open(&server, timeouts).await?, io).await
        }
        Command::Undo => changes::undo(&open(&server, timeouts).await?, io).await,
        Command::Log(id) => changes::log(&open(&server, timeouts).await?, id.id, io).await,
        Command::Watch => changes::watch(open(&server, timeouts).await?, io).await,
        Command::Task(command) => {
            let session = open(&server, timeouts).await?;
            tasks::run_or_queue(command, &session, config, io, cli.global.online).await
        }
        Command::Sync { status } => offline::sync(&open(&server, timeouts).await?, status, io).await,
        Command::Conflicts { command } => {
            offline::conflicts(&open(&server, timeouts).await?, command, io).await
        }
    }
}

async fn open(server: &str, timeouts: todo_client::api::Timeouts) -> Result<Session, CliError> {
    let mut session = Session::open(server).await?;
    session.set_timeouts(timeouts)?;
    Ok(session)
}

fn write_man_pages(dir: Option<&std::path::Path>, io: &mut Io) -> Result<(), CliError> {
    let command = Cli::command();
    let render = |command: clap::Command| -> Result<Vec<u8>, CliError> {
        let mut page = Vec::new();
        clap_mangen::Man::new(command)
            .render(&mut page)
            .map_err(|e| CliError::Failed(format!("cannot write the man page: {e}")))?;
        Ok(page)
    };
    let Some(dir) = dir else {
        let page = render(command)?;
        io.write_out(format_args!("{}", String::from_utf8_lossy(&page)));
        return Ok(());
    };
    std::fs::create_dir_all(dir)
        .map_err(|e| CliError::Failed(format!("cannot create {}: {e}", dir.display())))?;
    let mut pages = vec![("todo".to_string(), command.clone())];
    for sub in command.get_subcommands() {
        let name = format!("todo-{}", sub.get_name());
        pages.push((name.clone(), sub.clone().display_name(name)));
    }
    for (name, page) in pages {
        let path = dir.join(format!("{name}.1"));
        std::fs::write(&path, render(page)?)
            .map_err(|e| CliError::Failed(format!("cannot write {}: {e}", path.display())))?;
    }
    io.note(&format!("Man pages written to {}", dir.display()));
    Ok(())
}

fn print_completions(shell: clap_complete::Shell, io: &mut Io) {
    // Into memory first: clap_complete panics when its writer fails (`| head`).
    let mut script = Vec::new();
    clap_complete::generate(shell, &mut Cli::command(), "todo", &mut script);
    io.write_out(format_args!("{}", String::from_utf8_lossy(&script)));
}
