//! The terminal app: sets up the terminal (restored on exit, panic and Ctrl-C) and runs
//! the event loop: keys, ticks and network replies in, `update`, then draw.

use std::io::IsTerminal;
use std::process::ExitCode;
use std::time::Duration;

use clap::Parser;
use crossterm::event::{
    DisableBracketedPaste, DisableMouseCapture, EnableBracketedPaste, EnableMouseCapture, Event, EventStream,
    KeyEventKind,
};
use futures_util::StreamExt;
use ratatui::DefaultTerminal;
use ratatui::layout::Rect;
use time::OffsetDateTime;
use todo_client::Session;
use todo_tui::app::{App, Mouse, Msg};
use todo_tui::effects::Runner;
use todo_tui::saved_view::SavedView;
use todo_tui::view;

/// A keyboard-first terminal app for your todo tasks. Press ? inside for every key.
///
/// Example: todo-tui --server http://127.0.0.1:8000
#[derive(Parser)]
#[command(name = "todo-tui", version, about)]
struct Args {
    /// URL of the todo server [default: `server` in config.toml, else http://127.0.0.1:8000]
    #[arg(long, env = "TODO_SERVER")]
    server: Option<String>,
}

fn main() -> ExitCode {
    let args = Args::parse();
    if !std::io::stdout().is_terminal() {
        eprintln!("todo-tui: needs a terminal; for scripts use the `todo` command");
        return ExitCode::from(2);
    }
    let runtime = match tokio::runtime::Runtime::new() {
        Ok(rt) => rt,
        Err(e) => {
            eprintln!("todo-tui: cannot start: {e}");
            return ExitCode::FAILURE;
        }
    };
    // A wrong config file is reported and the app starts on defaults where it was wrong.
    let mut loaded = todo_client::config::load();
    let (keys, key_problems) = todo_tui::keymap::KeyMap::with_overrides(&loaded.config.keys);
    loaded.problems.extend(key_problems);
    for problem in &loaded.problems {
        eprintln!("todo-tui: warning: {problem}");
    }
    let config = loaded.config.clone();
    let color = std::env::var_os("NO_COLOR").is_none_or(|v| v.is_empty())
        && config.color != Some(todo_client::config::ColorChoice::Never);
    let result = runtime.block_on(async {
        let given = args
            .server
            .filter(|s| !s.trim().is_empty())
            .or(config.server.clone())
            .unwrap_or_else(|| todo_client::DEFAULT_SERVER.to_string());
        let (server, _) = todo_client::server_url(&given);
        let session = Session::open(&server).await?;
        let mut app = App::new(
            session.server(),
            OffsetDateTime::now_utc(),
            todo_client::due::local_zone(),
            color,
        );
        app.list.status = config.status.unwrap_or(app.list.status);
        app.list.sort = config.sort.unwrap_or(app.list.sort);
        // The view the app last closed on beats the config's first-run defaults.
        let state_file = todo_tui::saved_view::path();
        if let Some(saved) = state_file.as_deref().and_then(SavedView::load) {
            saved.apply(&mut app);
        }
        app.keys = keys;
        app.theme = config.theme.unwrap_or_default();
        app.mouse = config.mouse.unwrap_or(true);
        if let Some(problem) = loaded.problems.first() {
            app.message = Some(todo_tui::app::StatusMessage {
                text: problem.clone(),
                is_error: true,
            });
            app.startup_warning = Some(problem.clone());
        }
        // ratatui::init restores the terminal on panic too.
        let mut terminal = ratatui::init();
        let mouse = app.mouse;
        terminal_extras(mouse);
        let outcome = run(&mut terminal, app, session).await;
        undo_terminal_extras(mouse);
        ratatui::restore();
        if let (Ok(app), Some(file)) = (&outcome, &state_file)
            && app.screen == todo_tui::app::Screen::Tasks
            && let Err(e) = SavedView::of(app).save(file)
        {
            eprintln!(
                "todo-tui: warning: cannot keep the view in {}: {e}",
                file.display()
            );
        }
        let outcome = outcome.map(|_| ());
        outcome.map_err(|e| todo_client::ClientError::Protocol(format!("terminal: {e}")))
    });
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("todo-tui: {e}");
            ExitCode::FAILURE
        }
    }
}

/// Turns bracketed paste (and mouse reporting, when wanted) on, and off again before
/// ratatui's own panic hook restores the terminal, so a crash never leaves the shell
/// receiving mouse codes.
fn terminal_extras(mouse: bool) {
    let _ = crossterm::execute!(std::io::stdout(), EnableBracketedPaste);
    if mouse {
        let _ = crossterm::execute!(std::io::stdout(), EnableMouseCapture);
    }
    let restore = std::panic::take_hook();
    std::panic::set_hook(Box::new(move |info| {
        undo_terminal_extras(mouse);
        restore(info);
    }));
}

fn undo_terminal_extras(mouse: bool) {
    if mouse {
        let _ = crossterm::execute!(std::io::stdout(), DisableMouseCapture);
    }
    let _ = crossterm::execute!(std::io::stdout(), DisableBracketedPaste);
}

/// Runs until the user quits; returns the app as it was then.
async fn run(terminal: &mut DefaultTerminal, mut app: App, session: Session) -> std::io::Result<App> {
    let mut runner = Runner::start(&mut app, session);
    let mut events = EventStream::new();
    let mut tick = tokio::time::interval(Duration::from_millis(120));
    while !app.quit {
        terminal.draw(|frame| view::view(&app, frame))?;
        let msg = tokio::select! {
            event = events.next() => match event {
                Some(Ok(Event::Key(key))) if key.kind == KeyEventKind::Press => Msg::Key(key),
                Some(Ok(Event::Paste(text))) => Msg::Paste(text),
                Some(Ok(Event::Mouse(mouse))) => {
                    let size = terminal.size()?;
                    Msg::Mouse(Mouse {
                        kind: mouse.kind,
                        column: mouse.column,
                        row: mouse.row,
                        screen: Rect::new(0, 0, size.width, size.height),
                        at: std::time::Instant::now(),
                    })
                }
                Some(Ok(_)) => continue,
                Some(Err(e)) => return Err(e),
                None => break,
            },
            Some(msg) = runner.next_reply() => msg,
            _ = tick.tick() => Msg::Tick(OffsetDateTime::now_utc()),
        };
        runner.send(&mut app, msg);
    }
    Ok(app)
}
