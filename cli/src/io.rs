//! A command's view of the world, injected as the GitHub CLI's `IOStreams` is: where its
//! output and messages go, where its input comes from, whether each is a terminal, and
//! how it asks a person. [`Io::system`] is the process's own; [`Io::memory`] lets a test
//! run a command with a given stdin and scripted answers and read what it printed.

#[cfg(test)]
use std::cell::RefCell;
#[cfg(test)]
use std::collections::VecDeque;
use std::io::{BufRead, IsTerminal, Write};
#[cfg(test)]
use std::rc::Rc;

use serde::Serialize;

/// How a command asks a person something on the terminal.
pub trait Prompter {
    /// Asks without echo (a password, a code).
    fn secret(&mut self, label: &str) -> std::io::Result<String>;
    /// Asks for a line (a confirmation).
    fn line(&mut self, label: &str) -> std::io::Result<String>;
}

/// Asks on the controlling terminal: no echo for secrets, stderr for the question.
struct TerminalPrompter;

impl Prompter for TerminalPrompter {
    fn secret(&mut self, label: &str) -> std::io::Result<String> {
        rpassword::prompt_password(label)
    }

    fn line(&mut self, label: &str) -> std::io::Result<String> {
        eprint!("{label}");
        let mut answer = String::new();
        std::io::stdin().lock().read_line(&mut answer)?;
        Ok(answer.trim_end_matches(['\r', '\n']).to_string())
    }
}

/// What the person says, in order, for tests; records each question asked.
#[cfg(test)]
pub struct ScriptedPrompter {
    answers: VecDeque<String>,
    asked: Rc<RefCell<Vec<String>>>,
}

#[cfg(test)]
impl Prompter for ScriptedPrompter {
    fn secret(&mut self, label: &str) -> std::io::Result<String> {
        self.line(label)
    }

    fn line(&mut self, label: &str) -> std::io::Result<String> {
        self.asked.borrow_mut().push(label.to_string());
        self.answers
            .pop_front()
            .ok_or_else(|| std::io::Error::other(format!("nobody answered {label:?}")))
    }
}

/// How results should look: chosen by flags.
#[derive(Debug, Clone, Copy, Default)]
pub struct Format {
    /// `--json`: the API's JSON on stdout, no confirmations.
    pub json: bool,
    /// `--quiet`: data and errors only.
    pub quiet: bool,
    /// `-v`: the detail behind one-line messages.
    pub verbose: bool,
}

pub struct Io {
    out: Box<dyn Write>,
    err: Box<dyn Write>,
    input: Box<dyn BufRead>,
    stdin_terminal: bool,
    stdout_width: Option<usize>,
    prompter: Box<dyn Prompter>,
    pub format: Format,
}

/// A buffer a test reads after the command wrote to it.
#[cfg(test)]
#[derive(Clone, Default)]
pub struct Captured(Rc<RefCell<Vec<u8>>>);

#[cfg(test)]
impl Captured {
    pub fn text(&self) -> String {
        String::from_utf8_lossy(&self.0.borrow()).into_owned()
    }
}

#[cfg(test)]
impl Write for Captured {
    fn write(&mut self, bytes: &[u8]) -> std::io::Result<usize> {
        self.0.borrow_mut().extend_from_slice(bytes);
        Ok(bytes.len())
    }

    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

/// What a command run on [`Io::memory`] printed, and what it asked.
#[cfg(test)]
pub struct Transcript {
    pub stdout: Captured,
    pub stderr: Captured,
    pub asked: Rc<RefCell<Vec<String>>>,
}

impl Io {
    /// The process's streams. Styles are dropped where they do not belong (a pipe,
    /// `NO_COLOR`, `--no-color`), by `anstream`.
    pub fn system(format: Format) -> Io {
        let stdout_width = std::io::stdout()
            .is_terminal()
            .then(|| terminal_size::terminal_size().map(|(w, _)| usize::from(w.0)))
            .flatten();
        Io {
            out: Box::new(anstream::stdout()),
            err: Box::new(anstream::stderr()),
            input: Box::new(std::io::BufReader::new(std::io::stdin())),
            stdin_terminal: std::io::stdin().is_terminal(),
            stdout_width,
            prompter: Box::new(TerminalPrompter),
            format,
        }
    }

    /// `stdin` as the input (not a terminal unless `terminal`), `answers` as what the
    /// person types when asked; styles are stripped from what is captured.
    #[cfg(test)]
    pub fn memory(format: Format, stdin: &str, terminal: bool, answers: &[&str]) -> (Io, Transcript) {
        let (stdout, stderr) = (Captured::default(), Captured::default());
        let asked = Rc::new(RefCell::new(Vec::new()));
        let io = Io {
            out: Box::new(anstream::StripStream::new(
                Box::new(stdout.clone()) as Box<dyn Write>
            )),
            err: Box::new(anstream::StripStream::new(
                Box::new(stderr.clone()) as Box<dyn Write>
            )),
            input: Box::new(std::io::Cursor::new(stdin.as_bytes().to_vec())),
            stdin_terminal: terminal,
            stdout_width: None,
            prompter: Box::new(ScriptedPrompter {
                answers: answers.iter().map(|a| a.to_string()).collect(),
                asked: asked.clone(),
            }),
            format,
        };
        (
            io,
            Transcript {
                stdout,
                stderr,
                asked,
            },
        )
    }

    /// Writes to stdout. A reader that went away (`todo list | head -2`) ends the
    /// program quietly with success, as `ls | head` does.
    pub fn write_out(&mut self, text: std::fmt::Arguments<'_>) {
        if let Err(e) = self.out.write_fmt(text).and_then(|()| self.out.flush()) {
            if e.kind() == std::io::ErrorKind::BrokenPipe {
                std::process::exit(0);
            }
            let _ = writeln!(self.err, "todo: cannot write the output: {e}");
            std::process::exit(i32::from(crate::exit::ERROR));
        }
    }

    /// A line on stderr, whatever the flags (warnings).
    /// A message on stderr. Every message passes here, and many quote what came from
    /// outside (a file being imported, a server's answer): each C0 and C1 control and
    /// bidi control is shown escaped, so none can move the cursor or retitle the
    /// terminal; newlines and tabs are kept.
    pub fn warn(&mut self, message: &str) {
        let _ = writeln!(self.err, "{}", todo_api::text::printable(message, true));
    }

    /// A confirmation for people, on stderr; silent with --quiet or --json.
    pub fn note(&mut self, message: &str) {
        if !self.format.quiet && !self.format.json {
            self.warn(message);
        }
    }

    pub fn print_json<T: Serialize>(&mut self, value: &T) {
        match serde_json::to_string_pretty(value) {
            Ok(text) => crate::outln!(self, "{text}"),
            Err(e) => self.warn(&format!("todo: cannot print JSON: {e}")),
        }
    }

    pub fn json(&self) -> bool {
        self.format.json
    }

    pub fn quiet(&self) -> bool {
        self.format.quiet
    }

    pub fn verbose(&self) -> bool {
        self.format.verbose
    }

    pub fn stdin_is_terminal(&self) -> bool {
        self.stdin_terminal
    }

    /// The terminal's width when stdout is one (tables fit it).
    pub fn stdout_width(&self) -> Option<usize> {
        self.stdout_width
    }

    /// The next line of stdin without its line end; `None` at the end.
    pub fn read_line(&mut self) -> std::io::Result<Option<String>> {
        let mut line = String::new();
        if self.input.read_line(&mut line)? == 0 {
            return Ok(None);
        }
        Ok(Some(line.trim_end_matches(['\r', '\n']).to_string()))
    }

    /// All of stdin.
    pub fn read_all(&mut self) -> std::io::Result<String> {
        let mut text = String::new();
        self.input.read_to_string(&mut text)?;
        Ok(text)
    }

    pub fn prompt_secret(&mut self, label: &str) -> std::io::Result<String> {
        self.prompter.secret(label)
    }

    pub fn prompt_line(&mut self, label: &str) -> std::io::Result<String> {
        self.prompter.line(label)
    }
}

/// `println!` for a command's stdout: `outln!(io, "{}", x)`.
#[macro_export]
macro_rules! outln {
    ($io:expr) => { $io.write_out(format_args!("\n")) };
    ($io:expr, $($arg:tt)*) => { $io.write_out(format_args!("{}\n", format_args!($($arg)*))) };
}

#[cfg(test)]
mod tests {
    use super::*;

    /// What a hostile file or server puts in a message reaches the terminal escaped:
    /// C0 (ESC), C1 (CSI as one character) and bidi controls, in every message.
    #[test]
    fn messages_on_stderr_escape_every_control() {
        let (mut io, seen) = Io::memory(Format::default(), "", false, &[]);
        io.warn("entry 1: \u{9b}2J \u{1b}]0;owned\u{7} \u{202e}txt\nnext line\tok");
        io.note("note \u{9b}31m");
        let text = seen.stderr.text();
        assert!(
            !text.chars().any(|c| c.is_control() && c != '\n' && c != '\t'),
            "{text:?}"
        );
        assert!(text.contains("\\u{9b}2J"), "{text:?}");
        assert!(text.contains("\\u{202e}"), "{text:?}");
        assert!(text.contains("\nnext line\tok"), "{text:?}");
    }
}
