//! `todo calendar feed create|list|revoke`: addresses a calendar app subscribes to.

use todo_client::Session;

use super::auth::by_id_prefix;
use crate::args::FeedCommand;
use crate::exit::CliError;
use crate::io::Io;
use crate::output::{format_time, shown};

pub async fn run(command: FeedCommand, session: &Session, io: &mut Io) -> Result<(), CliError> {
    match command {
        FeedCommand::Create { name } => {
            let created = session.create_feed(&name).await?;
            if io.json() {
                io.print_json(&created);
                return Ok(());
            }
            let address = format!("{}{}", session.server().trim_end_matches('/'), created.path);
            // Only the address on stdout, so `URL=$(todo calendar feed create phone)` works.
            crate::outln!(io, "{address}");
            io.note(&format!(
                "Calendar feed {} made: subscribe to it in your calendar app. Anyone with the address reads your dated tasks; it is shown this once (todo calendar feed revoke to end it).",
                shown(&created.name)
            ));
            Ok(())
        }
        FeedCommand::List => {
            let feeds = session.feeds().await?;
            if io.json() {
                io.print_json(&feeds);
                return Ok(());
            }
            if feeds.is_empty() {
                io.note("No calendar feeds.");
                return Ok(());
            }
            crate::outln!(io, "{:<9} {:<24} CREATED", "ID", "NAME");
            for feed in &feeds {
                crate::outln!(
                    io,
                    "{:<9} {:<24} {}",
                    &feed.id.simple().to_string()[..8],
                    shown(&feed.name),
                    format_time(feed.created_at)
                );
            }
            Ok(())
        }
        FeedCommand::Revoke { id } => {
            let feeds = session.feeds().await?;
            let target = by_id_prefix(&feeds, &id, |f| f.id, "calendar feed")?;
            session.revoke_feed(target.id).await?;
            io.note(&format!("Revoked calendar feed {}.", shown(&target.name)));
            Ok(())
        }
    }
}
