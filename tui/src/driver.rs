//! A headless driver: the real update loop and network effects, with a `TestBackend`
//! instead of a terminal. The end-to-end test drives the app through it exactly as key
//! presses would.

use std::time::Duration;

use crossterm::event::{KeyCode, KeyEvent, KeyModifiers};
use ratatui::Terminal;
use ratatui::backend::TestBackend;
use todo_client::Session;

use crate::app::{App, Msg};
use crate::effects::Runner;
use crate::view;

pub struct Driver {
    pub app: App,
    runner: Runner,
}

impl Driver {
    /// Starts the app as `main` does: checking the stored session.
    pub fn start(mut app: App, session: Session) -> Driver {
        let runner = Runner::start(&mut app, session);
        Driver { app, runner }
    }

    pub fn send(&mut self, msg: Msg) {
        self.runner.send(&mut self.app, msg);
    }

    pub fn key(&mut self, code: KeyCode) {
        self.send(Msg::Key(KeyEvent::new(code, KeyModifiers::NONE)));
    }

    pub fn ctrl(&mut self, c: char) {
        self.send(Msg::Key(KeyEvent::new(KeyCode::Char(c), KeyModifiers::CONTROL)));
    }

    pub fn type_text(&mut self, text: &str) {
        for c in text.chars() {
            self.key(KeyCode::Char(c));
        }
    }

    /// Applies network replies until nothing is in flight (or `timeout` passes).
    pub async fn settle(&mut self, timeout: Duration) -> bool {
        let deadline = tokio::time::Instant::now() + timeout;
        while self.app.busy > 0 {
            match tokio::time::timeout_at(deadline, self.runner.next_reply()).await {
                Ok(Some(msg)) => self.send(msg),
                _ => return false,
            }
        }
        true
    }

    /// Applies replies and stream news as they come until `done` holds (true) or
    /// `timeout` passes (false): for changes that arrive by themselves.
    pub async fn wait_for(&mut self, timeout: Duration, done: impl Fn(&App) -> bool) -> bool {
        let deadline = tokio::time::Instant::now() + timeout;
        while !done(&self.app) {
            match tokio::time::timeout_at(deadline, self.runner.next_reply()).await {
                Ok(Some(msg)) => self.send(msg),
                _ => return false,
            }
        }
        true
    }

    /// The screen as text, one line per row.
    pub fn screen(&self, width: u16, height: u16) -> String {
        render(&self.app, width, height)
    }
}

/// Draws the app on a `TestBackend` and returns the text.
pub fn render(app: &App, width: u16, height: u16) -> String {
    let Ok(mut terminal) = Terminal::new(TestBackend::new(width, height));
    if terminal.draw(|frame| view::view(app, frame)).is_err() {
        return String::new();
    }
    let buffer = terminal.backend().buffer();
    let mut out = String::new();
    for y in 0..height {
        // A wide symbol (CJK, an emoji, a flag) covers the next cell too: that cell is
        // not drawn, as on a terminal.
        let mut line = String::new();
        let mut covered = 0;
        for x in 0..width {
            let symbol = buffer[(x, y)].symbol();
            if covered > 0 {
                covered -= 1;
                continue;
            }
            covered = unicode_width::UnicodeWidthStr::width(symbol).saturating_sub(1);
            line.push_str(symbol);
        }
        out.push_str(line.trim_end());
        out.push('\n');
    }
    out
}
