//! `todo auth token create|list|revoke`: personal access tokens for scripts and CI.

use todo_api::{PersonalToken, TokenRequest};
use todo_client::Session;

use super::auth::by_id_prefix;
use crate::args::{Expiry, TokenCommand};
use crate::exit::CliError;
use crate::io::Io;
use crate::output::{format_time, shown};

pub async fn run(command: TokenCommand, session: &Session, io: &mut Io) -> Result<(), CliError> {
    match command {
        TokenCommand::Create {
            name,
            scopes,
            expires,
        } => {
            let request = TokenRequest {
                name,
                scopes,
                expires_in_days: match expires {
                    Expiry::Days(days) => Some(days),
                    Expiry::Never => None,
                },
            };
            let created = session.create_token(request).await?;
            if io.json() {
                io.print_json(&created);
                return Ok(());
            }
            // Only the token on stdout, so `T=$(todo auth token create ...)` works.
            crate::outln!(io, "{}", created.token.expose());
            let until = created.expires_at.map_or_else(
                || "never expires: revoke it when done".to_string(),
                |at| format!("works until {}", format_time(at)),
            );
            io.note(&format!(
                "Personal access token {} made; it {until}. It is shown this once.",
                shown(&created.name)
            ));
            Ok(())
        }
        TokenCommand::List => list(session, io).await,
        TokenCommand::Revoke { id } => {
            let tokens = session.tokens().await?;
            let target = by_id_prefix(&tokens, &id, |t| t.id, "token")?;
            session.revoke_token(target.id).await?;
            io.note(&format!("Revoked token {}.", shown(&target.name)));
            Ok(())
        }
    }
}

fn line(t: &PersonalToken) -> String {
    let scopes = t.scopes.iter().map(|s| s.as_str()).collect::<Vec<_>>().join(",");
    format!(
        "{:<9} {:<20} {:<24} {:<17} {:<17} {}",
        &t.id.simple().to_string()[..8],
        shown(&t.name),
        scopes,
        format_time(t.created_at),
        t.expires_at.map_or_else(|| "never".into(), format_time),
        t.last_used_at.map_or_else(|| "-".into(), format_time),
    )
}

async fn list(session: &Session, io: &mut Io) -> Result<(), CliError> {
    let tokens = session.tokens().await?;
    if io.json() {
        io.print_json(&tokens);
        return Ok(());
    }
    crate::outln!(
        io,
        "{:<9} {:<20} {:<24} {:<17} {:<17} LAST USED",
        "ID",
        "NAME",
        "SCOPES",
        "CREATED",
        "EXPIRES"
    );
    for t in &tokens {
        crate::outln!(io, "{}", line(t));
    }
    Ok(())
}
