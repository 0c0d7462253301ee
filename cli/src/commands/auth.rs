//! `todo auth ...`: sign-up, sign-in, sign-out, status, token, and the account's own
//! settings (password, email, sessions, deletion).

use serde::Serialize;
use todo_api::{SignInRequest, SignUpRequest, User};
use todo_client::credentials::Account;
use todo_client::{Session, SignIn, TokenSource};

use crate::args::{
    AuthCommand, DeleteAccountOptions, EmailOptions, SigninOptions, SignupOptions, SwitchOptions,
};
use crate::exit::CliError;
use crate::io::Io;
use crate::output::{format_time, shown};

pub async fn run(command: AuthCommand, session: &Session, io: &mut Io) -> Result<(), CliError> {
    match command {
        AuthCommand::Signup(opts) => sign_up(opts, session, io).await,
        AuthCommand::Signin(opts) => sign_in(opts, session, io).await,
        AuthCommand::TwoFactor(command) => super::two_factor::run(command, session, io).await,
        AuthCommand::Signout { all } => sign_out(all, session, io).await,
        AuthCommand::Switch(opts) => switch(opts, session, io).await,
        AuthCommand::Status => status(session, io).await,
        AuthCommand::DeleteAccount(opts) => delete_account(opts, session, io).await,
        AuthCommand::Password { password_stdin } => {
            let (current, new) = read_password_change(io, password_stdin)?;
            session.change_password(current, new).await?;
            io.note("Password changed; every other session of this account is signed out.");
            Ok(())
        }
        AuthCommand::Email(opts) => change_email(opts, session, io).await,
        AuthCommand::Activity { limit } => super::account::activity(session, limit, io).await,
        AuthCommand::ResetPassword(opts) => {
            let password = read_password(io, opts.password_stdin, true)?;
            session.reset_password(opts.token, password).await?;
            io.note(
                "Password set; every session of the account is signed out. Sign in with `todo auth signin`.",
            );
            Ok(())
        }
        AuthCommand::Sessions { command: None } => list_sessions(session, io).await,
        AuthCommand::Sessions {
            command: Some(crate::args::SessionsCommand::Revoke { id }),
        } => revoke_session(session, &id, io).await,
        AuthCommand::Token { command: None } => {
            // The one place a token is printed: asked for, for a script's own use.
            crate::outln!(io, "{}", session.access_token().await?.expose());
            Ok(())
        }
        AuthCommand::Token {
            command: Some(command),
        } => super::personal_tokens::run(command, session, io).await,
    }
}

async fn sign_up(opts: SignupOptions, session: &Session, io: &mut Io) -> Result<(), CliError> {
    let password = read_password(io, opts.password_stdin, true)?;
    let request = SignUpRequest {
        email: opts.email,
        password: password.into(),
        name: opts.name,
    };
    let user = session.sign_up(&request).await?;
    signed_in(session, &user, "Signed up and signed in", io);
    Ok(())
}

async fn sign_in(opts: SigninOptions, session: &Session, io: &mut Io) -> Result<(), CliError> {
    if opts.with_token {
        let token = io
            .read_all()
            .map_err(|e| CliError::Failed(format!("could not read the token from stdin: {e}")))?;
        let token = token.trim();
        if token.is_empty() {
            return Err(CliError::Usage(
                "--with-token reads a JWT on stdin; got nothing".into(),
            ));
        }
        let user = session.exchange_token(token).await?;
        signed_in(session, &user, "Signed in", io);
        return Ok(());
    }
    let password = read_password(io, opts.password_stdin, false)?;
    let request = SignInRequest {
        email: opts.email,
        password: password.into(),
    };
    let user = match session.sign_in(&request).await? {
        SignIn::Done(user) => user,
        SignIn::NeedsCode(challenge) => {
            let code = super::two_factor::code_for_sign_in(io, opts.code, opts.password_stdin)?;
            session.sign_in_with_code(&challenge.mfa_token, code).await?
        }
    };
    signed_in(session, &user, "Signed in", io);
    Ok(())
}

async fn sign_out(all: bool, session: &Session, io: &mut Io) -> Result<(), CliError> {
    let next = session.sign_out(all).await?;
    let scope = if all { "every session" } else { "this session" };
    io.note(&format!("Signed out of {scope} on {}.", session.server()));
    if let Some(next) = next {
        io.note(&format!("Now using {} on {}.", shown(&next.email), next.server));
    }
    Ok(())
}

async fn switch(opts: SwitchOptions, session: &Session, io: &mut Io) -> Result<(), CliError> {
    if session.token_source() == TokenSource::Environment {
        return Err(CliError::Usage(
            "TODO_TOKEN is set, and it decides the account: unset it to switch".into(),
        ));
    }
    let now = session.switch_account(opts.account).await?;
    if io.json() {
        io.print_json(&now);
    } else {
        io.note(&format!("Now using {} on {}.", shown(&now.email), now.server));
    }
    Ok(())
}

/// Asks first on a terminal (the email typed back), and needs `--yes` without one.
async fn delete_account(opts: DeleteAccountOptions, session: &Session, io: &mut Io) -> Result<(), CliError> {
    let email = session
        .credentials()
        .await
        .map(|c| c.user.email)
        .unwrap_or_else(|| "this account".into());
    if !opts.yes {
        if !io.stdin_is_terminal() || opts.password_stdin {
            return Err(CliError::Usage(
                "deleting an account cannot be undone: add --yes to confirm without a terminal".into(),
            ));
        }
        let question = format!(
            "Delete {} and all its tasks, for good? Type the email to confirm: ",
            shown(&email)
        );
        let answer = io
            .prompt_line(&question)
            .map_err(|e| CliError::Failed(format!("cannot read the answer: {e}")))?;
        if answer.trim() != email {
            io.note("Nothing deleted.");
            return Ok(());
        }
    }
    let password = read_password(io, opts.password_stdin, false)?;
    session.delete_account(password).await?;
    io.note(&format!("Deleted {} and all its tasks.", shown(&email)));
    Ok(())
}

async fn change_email(opts: EmailOptions, session: &Session, io: &mut Io) -> Result<(), CliError> {
    let password = read_password(io, opts.password_stdin, false)?;
    let user = session.change_email(password, opts.new_email).await?;
    if io.json() {
        io.print_json(&user);
    } else {
        io.note(&format!("Email changed to {}.", shown(&user.email)));
    }
    Ok(())
}

fn signed_in(session: &Session, user: &User, verb: &str, io: &mut Io) {
    if io.json() {
        io.print_json(user);
        return;
    }
    io.note(&format!(
        "{verb} as {} on {}.",
        shown(&user.email),
        session.server()
    ));
    if let Some(reason) = session.store().fallback_reason() {
        // Never silent: the tokens are in a plain (0600) file, and the user should know.
        io.warn(&format!(
            "warning: credentials stored in {} ({reason})",
            session.store().location().trim_start_matches("file ")
        ));
        if let (true, Some(detail)) = (io.verbose(), session.store().fallback_detail()) {
            io.warn(&format!("  keyring: {detail}"));
        }
    }
}

/// The password from stdin's first line, or a no-echo prompt on the terminal.
pub(super) fn read_password(io: &mut Io, from_stdin: bool, confirm: bool) -> Result<String, CliError> {
    if from_stdin {
        return stdin_line(io, "password", "");
    }
    if !io.stdin_is_terminal() {
        return Err(CliError::Usage(
            "no terminal to ask for the password on; pass it with --password-stdin".into(),
        ));
    }
    let password = ask_secret(io, "Password: ")?;
    if confirm && ask_secret(io, "Repeat the password: ")? != password {
        return Err(CliError::Usage("the two passwords differ".into()));
    }
    Ok(password)
}

/// The next line of stdin, which must hold `what` (`hint` says how to give it).
pub(super) fn stdin_line(io: &mut Io, what: &str, hint: &str) -> Result<String, CliError> {
    let line = io
        .read_line()
        .map_err(|e| CliError::Failed(format!("cannot read the {what} from stdin: {e}")))?
        .unwrap_or_default();
    if line.is_empty() {
        return Err(CliError::Usage(format!("stdin held no {what}{hint}")));
    }
    Ok(line)
}

pub(super) fn ask_secret(io: &mut Io, label: &str) -> Result<String, CliError> {
    io.prompt_secret(label)
        .map_err(|e| CliError::Failed(format!("cannot read the answer: {e}")))
}

/// The current password and the new one: two lines of stdin, or asked (the new one
/// twice).
fn read_password_change(io: &mut Io, from_stdin: bool) -> Result<(String, String), CliError> {
    if from_stdin {
        let hint = " (give the current password, then the new one, one per line)";
        let current = stdin_line(io, "current password", hint)?;
        return Ok((current, stdin_line(io, "new password", hint)?));
    }
    if !io.stdin_is_terminal() {
        return Err(CliError::Usage(
            "no terminal to ask for the passwords on; pass them with --password-stdin".into(),
        ));
    }
    let current = ask_secret(io, "Current password: ")?;
    let new = ask_secret(io, "New password: ")?;
    if ask_secret(io, "Repeat the new password: ")? != new {
        return Err(CliError::Usage("the two new passwords differ".into()));
    }
    Ok((current, new))
}

#[derive(Serialize)]
struct Status<'a> {
    server: &'a str,
    signed_in: bool,
    user: Option<User>,
    /// The account whose tokens are stored here, when the server could not be asked.
    #[serde(skip_serializing_if = "Option::is_none")]
    stored_user: Option<User>,
    #[serde(with = "time::serde::rfc3339::option")]
    expires_at: Option<time::OffsetDateTime>,
    /// A personal access token's scopes (`TODO_TOKEN=todo_pat_...`).
    #[serde(skip_serializing_if = "Option::is_none")]
    scopes: Option<Vec<todo_api::TokenScope>>,
    token_source: &'a str,
    credential_store: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    keyring_unavailable: Option<&'a str>,
    /// The keyring's own error behind `keyring_unavailable`.
    #[serde(skip_serializing_if = "Option::is_none")]
    keyring_detail: Option<&'a str>,
    /// Every account signed in on this machine, on every server.
    accounts: Vec<Account>,
}

async fn status(session: &Session, io: &mut Io) -> Result<(), CliError> {
    let info = session.session_info().await;
    let source = session.token_source();
    let store = session.store();
    let (user, expires_at, scopes, error) = match info {
        Ok(info) => (Some(info.user), info.expires_at, info.scopes, None),
        Err(e) => (None, None, None, Some(e)),
    };
    // The server cannot be asked: still say which account is stored here.
    let stored = match &error {
        Some(todo_client::ClientError::Unreachable { .. }) => session.credentials().await,
        _ => None,
    };
    let report = Status {
        server: session.server(),
        signed_in: user.is_some(),
        stored_user: stored.as_ref().map(|c| c.user.clone()),
        scopes,
        user,
        expires_at,
        token_source: match source {
            TokenSource::Environment => "TODO_TOKEN",
            TokenSource::Store(_) => "credential store",
        },
        credential_store: store.location(),
        keyring_unavailable: store.fallback_reason(),
        keyring_detail: store.fallback_detail(),
        accounts: session.accounts().await.unwrap_or_default(),
    };
    if io.json() {
        io.print_json(&report);
    } else {
        crate::outln!(io, "Server:      {}", report.server);
        match (&report.user, report.expires_at) {
            (Some(user), expires) => {
                crate::outln!(io, "User:        {} ({})", shown(&user.email), user.id);
                if let Some(scopes) = &report.scopes {
                    let names: Vec<&str> = scopes.iter().map(|s| s.as_str()).collect();
                    crate::outln!(io, "Token:       personal access token ({})", names.join(", "));
                }
                match expires {
                    Some(expires) => crate::outln!(io, "Token until: {}", format_time(expires)),
                    None => crate::outln!(io, "Token until: never expires"),
                }
            }
            _ => match &report.stored_user {
                Some(user) => crate::outln!(
                    io,
                    "User:        {} ({}), stored here; the server did not answer",
                    shown(&user.email),
                    user.id
                ),
                None => crate::outln!(io, "User:        not signed in"),
            },
        }
        crate::outln!(io, "Token from:  {}", report.token_source);
        match report.keyring_unavailable {
            None => crate::outln!(io, "Credentials: {}", report.credential_store),
            Some(reason) => crate::outln!(io, "Credentials: {} ({reason})", report.credential_store),
        }
        if let (true, Some(detail)) = (io.verbose(), report.keyring_detail) {
            crate::outln!(io, "Keyring:     {detail}");
        }
        print_accounts(io, &report.accounts);
    }
    match error {
        None => Ok(()),
        Some(e) => Err(e.into()),
    }
}

/// The accounts signed in here, when there is more than the one shown above.
fn print_accounts(io: &mut Io, accounts: &[Account]) {
    if accounts.len() < 2 {
        return;
    }
    crate::outln!(io, "Accounts:");
    for a in accounts {
        let mark = if a.active { "*" } else { " " };
        crate::outln!(io, "  {mark} {:<32} {}", shown(&a.email), a.server);
    }
    crate::outln!(io, "  (* in use; `todo auth switch EMAIL` changes it)");
}

async fn list_sessions(session: &Session, io: &mut Io) -> Result<(), CliError> {
    let sessions = session.sessions().await?;
    if io.json() {
        io.print_json(&sessions);
        return Ok(());
    }
    crate::outln!(
        io,
        "{:<9} {:<17} {:<17} {:<16} DEVICE",
        "ID",
        "SIGNED IN",
        "LAST USED",
        "ADDRESS"
    );
    for s in &sessions {
        let id = s.id.simple().to_string();
        let mark = if s.current { " (this one)" } else { "" };
        crate::outln!(
            io,
            "{:<9} {:<17} {:<17} {:<16} {}{mark}",
            &id[..8],
            crate::output::format_time(s.created_at),
            crate::output::format_time(s.last_used_at),
            shown(s.address.as_deref().unwrap_or("-")),
            shown(s.user_agent.as_deref().unwrap_or("-")),
        );
    }
    Ok(())
}

/// The one item whose id is `given` or starts with it (at least 4 characters, dashes
/// ignored); `what` names the kind in messages ("active session", "token").
pub(super) fn by_id_prefix<'a, T>(
    items: &'a [T],
    given: &str,
    id_of: impl Fn(&T) -> uuid::Uuid,
    what: &str,
) -> Result<&'a T, CliError> {
    let wanted = given.trim().replace('-', "").to_ascii_lowercase();
    if wanted.len() < 4 {
        return Err(CliError::Usage(format!(
            "give at least 4 characters of the {what} id"
        )));
    }
    let matches: Vec<&T> = items
        .iter()
        .filter(|item| id_of(item).simple().to_string().starts_with(&wanted))
        .collect();
    match matches.as_slice() {
        [one] => Ok(*one),
        [] => Err(CliError::Partial {
            message: format!("no {what} of yours starts with {given}"),
            code: crate::exit::NOT_FOUND,
        }),
        _ => Err(CliError::Usage(format!(
            "{given} matches several of your {what}s: give more of the id"
        ))),
    }
}

/// Ends the session whose id is `given` or starts with it.
async fn revoke_session(session: &Session, given: &str, io: &mut Io) -> Result<(), CliError> {
    let sessions = session.sessions().await?;
    let target = by_id_prefix(&sessions, given, |s| s.id, "active session")?;
    session.end_session(target.id).await?;
    let which = if target.current {
        " (this one: sign in again to go on)"
    } else {
        ""
    };
    io.note(&format!(
        "Ended session {}{which}.",
        &target.id.simple().to_string()[..8]
    ));
    Ok(())
}

#[cfg(test)]
#[path = "auth_tests.rs"]
mod tests;
