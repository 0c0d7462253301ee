//! `todo auth activity`: the account's security log.

use todo_api::{ActivityEntry, ActivityKind};
use todo_client::Session;

use crate::exit::CliError;
use crate::io::Io;
use crate::output::{format_time, shown};

/// What an entry says, in words.
fn describe(kind: ActivityKind) -> &'static str {
    match kind {
        ActivityKind::SignIn => "signed in",
        ActivityKind::SignInFailed => "wrong password",
        ActivityKind::SignInRefused => "sign-in refused (account disabled)",
        ActivityKind::SignOut => "signed out",
        ActivityKind::RefreshTokenReused => "refresh token reused; session ended",
        ActivityKind::PasswordChanged => "password changed",
        ActivityKind::EmailChanged => "email changed",
        ActivityKind::SessionEnded => "session ended",
        ActivityKind::ResetTokenIssued => "reset token issued by the administrator",
        ActivityKind::PasswordReset => "password set with a reset token",
        ActivityKind::AccountDisabled => "account disabled by the administrator",
        ActivityKind::AccountEnabled => "account enabled by the administrator",
        ActivityKind::TokenCreated => "personal access token made",
        ActivityKind::TokenRevoked => "personal access token revoked",
        ActivityKind::TwoFactorSetUp => "two-factor sign-in set up",
        ActivityKind::TwoFactorEnabled => "two-factor sign-in turned on",
        ActivityKind::TwoFactorDisabled => "two-factor sign-in turned off",
        ActivityKind::RecoveryCodeUsed => "recovery code used",
        ActivityKind::TwoFactorFailed => "wrong two-factor code",
        ActivityKind::TwoFactorReset => "two-factor sign-in turned off by the administrator",
        ActivityKind::InvitationSent => "invited someone to a project",
        ActivityKind::InvitationAccepted => "joined a project",
        ActivityKind::InvitationDeclined => "declined an invitation to a project",
        ActivityKind::MemberRoleChanged => "changed a project member's role",
        ActivityKind::MemberRemoved => "removed a project member (or left)",
        ActivityKind::ProjectTransferred => "handed a project over",
    }
}

fn line(e: &ActivityEntry) -> String {
    let session = e
        .session_id
        .map(|s| s.simple().to_string()[..8].to_string())
        .unwrap_or_else(|| "-".into());
    format!(
        "{:<17} {:<40} {:<9} {:<16} {}",
        format_time(e.at),
        describe(e.kind),
        session,
        shown(e.address.as_deref().unwrap_or("-")),
        shown(e.user_agent.as_deref().unwrap_or("-")),
    )
}

pub async fn activity(session: &Session, limit: Option<usize>, io: &mut Io) -> Result<(), CliError> {
    if limit == Some(0) {
        return Err(CliError::Usage("--limit must be at least 1".into()));
    }
    let entries = session.activity(limit).await?;
    if io.json() {
        io.print_json(&entries);
        return Ok(());
    }
    crate::outln!(
        io,
        "{:<17} {:<40} {:<9} {:<16} DEVICE",
        "WHEN",
        "WHAT",
        "SESSION",
        "ADDRESS"
    );
    for e in &entries {
        crate::outln!(io, "{}", line(e));
    }
    Ok(())
}
