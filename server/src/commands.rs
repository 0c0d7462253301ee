//! `todo-server users ...`: the administrator's commands, run against the database
//! (safe beside running servers; they see each change within about a second).

use std::time::Duration;

use clap::Subcommand;
use time::format_description::well_known::Rfc3339;

use crate::auth::AuthError;
use crate::auth::admin::Admin;
use crate::clock::Clock;
use crate::store::{AccountSummary, Store};

#[derive(Subcommand)]
pub enum UsersCommand {
    /// Every account: email, id, created, sessions, tasks, and whether it is disabled
    ///
    /// Example: todo-server users list --json --database ./todo.db
    List {
        /// One JSON array instead of a table
        #[arg(long)]
        json: bool,
    },
    /// One account
    Show {
        email: String,
        /// JSON instead of lines
        #[arg(long)]
        json: bool,
    },
    /// Refuse the account's sign-ins (403 account_disabled) and end every session at once
    Disable { email: String },
    /// Let a disabled account sign in again
    Enable { email: String },
    /// Refuse every token from another issuer (Better Auth, OpenID) issued to the account
    /// until now; tokens issued later still work
    #[command(name = "revoke-external")]
    RevokeExternal { email: String },
    /// Delete the account with its tasks, history and sessions, for good
    Delete {
        email: String,
        /// Required: deletion cannot be undone
        #[arg(long)]
        yes: bool,
    },
    /// Print a one-time password reset token for the account, valid for an hour; its
    /// owner runs `todo auth reset-password --token TOKEN`
    ResetPassword {
        email: String,
        /// How long the token works
        #[arg(long, default_value = "1h", value_parser = humantime::parse_duration, hide = true)]
        ttl: Duration,
        /// Also turn two-factor sign-in off (the owner lost the app and the codes)
        #[arg(long)]
        reset_2fa: bool,
    },
    /// Turn the account's two-factor sign-in off, for an owner who lost the app and the
    /// recovery codes (recorded in their activity log); they may set it up again
    #[command(name = "reset-2fa")]
    Reset2fa { email: String },
}

fn two_factor_reset_line(email: &str, was_on: bool) -> String {
    if was_on {
        format!("two-factor sign-in turned off for {}", email.trim())
    } else {
        format!("two-factor sign-in was not on for {}", email.trim())
    }
}

fn rfc3339(t: time::OffsetDateTime) -> String {
    t.format(&Rfc3339).unwrap_or_else(|_| t.to_string())
}

fn as_json(a: &AccountSummary) -> serde_json::Value {
    serde_json::json!({
        "id": a.user.id,
        "email": a.user.email,
        "name": a.user.name,
        "created_at": rfc3339(a.user.created_at),
        "disabled_at": a.disabled_at.map(rfc3339),
        "active_sessions": a.active_sessions,
        "tasks": a.tasks,
    })
}

fn as_row(a: &AccountSummary) -> String {
    format!(
        "{:<32} {} {:<20} {:>8} {:>6} {}",
        a.user.email,
        a.user.id,
        rfc3339(a.user.created_at),
        a.active_sessions,
        a.tasks,
        if a.disabled_at.is_some() { "disabled" } else { "" }
    )
}

fn as_lines(a: &AccountSummary) -> String {
    let mut lines = vec![
        format!("email:    {}", a.user.email),
        format!("id:       {}", a.user.id),
        format!("created:  {}", rfc3339(a.user.created_at)),
        format!("sessions: {} active", a.active_sessions),
        format!("tasks:    {}", a.tasks),
    ];
    if let Some(name) = &a.user.name {
        lines.insert(1, format!("name:     {name}"));
    }
    match a.disabled_at {
        Some(at) => lines.push(format!("disabled: since {}", rfc3339(at))),
        None => lines.push("disabled: no".into()),
    }
    lines.join("\n")
}

/// Runs one command; returns what to print on stdout.
pub async fn run_users(db: Store, clock: Clock, command: UsersCommand) -> Result<String, AuthError> {
    let admin = Admin::new(db, clock);
    Ok(match command {
        UsersCommand::List { json } => {
            let accounts = admin.list().await?;
            if json {
                serde_json::Value::Array(accounts.iter().map(as_json).collect()).to_string()
            } else {
                let header = format!(
                    "{:<32} {:<36} {:<20} {:>8} {:>6}",
                    "EMAIL", "ID", "CREATED", "SESSIONS", "TASKS"
                );
                std::iter::once(header)
                    .chain(accounts.iter().map(as_row))
                    .collect::<Vec<_>>()
                    .join("\n")
            }
        }
        UsersCommand::Show { email, json } => {
            let account = admin.show(&email).await?;
            if json {
                as_json(&account).to_string()
            } else {
                as_lines(&account)
            }
        }
        UsersCommand::Disable { email } => {
            let ended = admin.disable(&email).await?;
            format!("disabled {}; {ended} session(s) ended", email.trim())
        }
        UsersCommand::Enable { email } => {
            admin.enable(&email).await?;
            format!("enabled {}", email.trim())
        }
        UsersCommand::RevokeExternal { email } => {
            admin.revoke_external(&email).await?;
            format!(
                "refusing the external tokens issued to {} until now",
                email.trim()
            )
        }
        UsersCommand::Delete { email, yes } => {
            if !yes {
                return Err(AuthError::NotConfirmed(
                    "deleting an account cannot be undone: add --yes",
                ));
            }
            let account = admin.delete(&email).await?;
            format!("deleted {} and its {} task(s)", account.user.email, account.tasks)
        }
        UsersCommand::ResetPassword {
            email,
            ttl,
            reset_2fa,
        } => {
            let reset = match reset_2fa {
                true => format!(
                    "\n{}",
                    two_factor_reset_line(&email, admin.reset_two_factor(&email).await?)
                ),
                false => String::new(),
            };
            let issued = admin.issue_reset_token(&email, ttl).await?;
            format!(
                "{}\n\nGive this one-time token to the account's owner; it works until {} \
                 (todo auth reset-password --token TOKEN). Every session of the account ends when it is used.{reset}",
                issued.token,
                rfc3339(issued.expires_at)
            )
        }
        UsersCommand::Reset2fa { email } => {
            two_factor_reset_line(&email, admin.reset_two_factor(&email).await?)
        }
    })
}
