//! `todo auth 2fa enable|setup|disable`, and the code a sign-in asks for.

use std::io::{BufRead, IsTerminal};

use todo_api::TwoFactorSetup;
use todo_client::Session;

use super::auth::read_password;
use crate::args::TwoFactorCommand;
use crate::exit::CliError;
use crate::output::Output;

/// A line from stdin, or a prompt on the terminal; `what` names it in messages.
fn read_code(prompt: &str, what: &str) -> Result<String, CliError> {
    let stdin = std::io::stdin();
    if stdin.is_terminal() {
        eprint!("{prompt}");
    }
    let mut line = String::new();
    stdin
        .lock()
        .read_line(&mut line)
        .map_err(|e| CliError::Failed(format!("cannot read the {what}: {e}")))?;
    let code = line.trim().to_string();
    if code.is_empty() {
        return Err(CliError::Usage(format!("no {what} given (use --code)")));
    }
    Ok(code)
}

/// The code for a sign-in that asks for one: `--code`, else the line after the password
/// on stdin, else a prompt.
pub fn code_for_sign_in(given: Option<String>, password_stdin: bool) -> Result<String, CliError> {
    if let Some(code) = given {
        return Ok(code);
    }
    if !password_stdin && !std::io::stdin().is_terminal() {
        return Err(CliError::Usage(
            "this account asks for a two-factor code: pass --code, or give it as the second line with --password-stdin".into(),
        ));
    }
    read_code(
        "Two-factor code (from your app, or a recovery code): ",
        "two-factor code",
    )
}

/// The QR code of the otpauth URL, in half-height blocks, for an app to scan.
fn qr_lines(url: &str) -> Option<String> {
    let code = qrcode::QrCode::new(url.as_bytes()).ok()?;
    Some(
        code.render::<qrcode::render::unicode::Dense1x2>()
            .dark_color(qrcode::render::unicode::Dense1x2::Light)
            .light_color(qrcode::render::unicode::Dense1x2::Dark)
            .quiet_zone(true)
            .build(),
    )
}

fn show_setup(setup: &TwoFactorSetup) {
    let url = setup.otpauth_url.expose();
    if let Some(qr) = qr_lines(url) {
        eprintln!("{qr}");
    }
    eprintln!("Scan the QR code with your authenticator app, or add this secret by hand:");
    eprintln!("  {}", setup.secret.expose());
    eprintln!("  ({url})");
    eprintln!();
    eprintln!("Recovery codes: each works once in place of a code. Keep them somewhere safe;");
    eprintln!("they are not shown again.");
    for code in &setup.recovery_codes {
        eprintln!("  {}", code.expose());
    }
    eprintln!();
}

pub async fn run(command: TwoFactorCommand, session: &Session, out: Output) -> Result<(), CliError> {
    match command {
        TwoFactorCommand::Setup => {
            let setup = session.setup_2fa().await?;
            if out.json {
                out.print_json(&setup);
            } else {
                show_setup(&setup);
                out.note("Not on yet: run `todo auth 2fa enable --code CODE` with a code from the app.");
            }
            Ok(())
        }
        TwoFactorCommand::Enable { code: Some(code) } => {
            session.enable_2fa(code).await?;
            out.note("Two-factor sign-in is on: signing in now asks for a code.");
            Ok(())
        }
        TwoFactorCommand::Enable { code: None } => {
            if !std::io::stdin().is_terminal() {
                return Err(CliError::Usage(
                    "no terminal to show the QR code and ask for a code on: use `todo auth 2fa setup`, then `todo auth 2fa enable --code CODE`".into(),
                ));
            }
            let setup = session.setup_2fa().await?;
            show_setup(&setup);
            let code = read_code("Code from the app: ", "code")?;
            session.enable_2fa(code).await?;
            out.note("Two-factor sign-in is on: signing in now asks for a code.");
            Ok(())
        }
        TwoFactorCommand::Disable { code, password_stdin } => {
            let password = read_password(password_stdin, false)?;
            let code = match code {
                Some(code) => code,
                None => read_code("Code (from your app, or a recovery code): ", "code")?,
            };
            session.disable_2fa(password, code).await?;
            out.note("Two-factor sign-in is off.");
            Ok(())
        }
    }
}
