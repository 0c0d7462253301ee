//! `todo auth 2fa enable|setup|disable`, and the code a sign-in asks for.

use todo_api::TwoFactorSetup;
use todo_client::Session;

use super::auth::read_password;
use crate::args::TwoFactorCommand;
use crate::exit::CliError;
use crate::io::Io;

/// A prompt on the terminal, or a line from stdin; `what` names it in messages.
fn read_code(io: &mut Io, prompt: &str, what: &str) -> Result<String, CliError> {
    let line = if io.stdin_is_terminal() {
        io.prompt_line(prompt)
    } else {
        io.read_line().map(Option::unwrap_or_default)
    }
    .map_err(|e| CliError::Failed(format!("cannot read the {what}: {e}")))?;
    let code = line.trim().to_string();
    if code.is_empty() {
        return Err(CliError::Usage(format!("no {what} given (use --code)")));
    }
    Ok(code)
}

/// The code for a sign-in that asks for one: `--code`, else the line after the password
/// on stdin, else a prompt.
pub fn code_for_sign_in(
    io: &mut Io,
    given: Option<String>,
    password_stdin: bool,
) -> Result<String, CliError> {
    if let Some(code) = given {
        return Ok(code);
    }
    if !password_stdin && !io.stdin_is_terminal() {
        return Err(CliError::Usage(
            "this account asks for a two-factor code: pass --code, or give it as the second line with --password-stdin".into(),
        ));
    }
    read_code(
        io,
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

/// On stderr: the setup is for the person at the terminal, never for a pipe.
fn show_setup(io: &mut Io, setup: &TwoFactorSetup) {
    let url = setup.otpauth_url.expose();
    if let Some(qr) = qr_lines(url) {
        io.warn(&qr);
    }
    io.warn("Scan the QR code with your authenticator app, or add this secret by hand:");
    io.warn(&format!("  {}", setup.secret.expose()));
    io.warn(&format!("  ({url})"));
    io.warn("");
    io.warn("Recovery codes: each works once in place of a code. Keep them somewhere safe;");
    io.warn("they are not shown again.");
    for code in &setup.recovery_codes {
        io.warn(&format!("  {}", code.expose()));
    }
    io.warn("");
}

pub async fn run(command: TwoFactorCommand, session: &Session, io: &mut Io) -> Result<(), CliError> {
    match command {
        TwoFactorCommand::Setup => {
            let setup = session.setup_2fa().await?;
            if io.json() {
                io.print_json(&setup);
            } else {
                show_setup(io, &setup);
                io.note("Not on yet: run `todo auth 2fa enable --code CODE` with a code from the app.");
            }
            Ok(())
        }
        TwoFactorCommand::Enable {
            code: Some(code),
            password_stdin,
        } => {
            let password = read_password(io, password_stdin, false)?;
            session.enable_2fa(password, code).await?;
            io.note("Two-factor sign-in is on: signing in now asks for a code.");
            Ok(())
        }
        TwoFactorCommand::Enable {
            code: None,
            password_stdin,
        } => {
            if password_stdin || !io.stdin_is_terminal() {
                return Err(CliError::Usage(
                    "no terminal to show the QR code and ask for a code on: use `todo auth 2fa setup`, then `todo auth 2fa enable --code CODE --password-stdin`".into(),
                ));
            }
            // Asked first: a wrong password should not cost a setup the app has scanned.
            let password = read_password(io, false, false)?;
            let setup = session.setup_2fa().await?;
            show_setup(io, &setup);
            let code = read_code(io, "Code from the app: ", "code")?;
            session.enable_2fa(password, code).await?;
            io.note("Two-factor sign-in is on: signing in now asks for a code.");
            Ok(())
        }
        TwoFactorCommand::Disable { code, password_stdin } => {
            let password = read_password(io, password_stdin, false)?;
            let code = match code {
                Some(code) => code,
                None => read_code(io, "Code (from your app, or a recovery code): ", "code")?,
            };
            session.disable_2fa(password, code).await?;
            io.note("Two-factor sign-in is off.");
            Ok(())
        }
    }
}
