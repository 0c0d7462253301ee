//! Account self-service beyond sign-in: email change, password reset and the activity
//! log (`/api/auth/email`, `/api/auth/password/reset`, `/api/auth/activity`).

use serde::{Deserialize, Serialize};
use time::OffsetDateTime;
use uuid::Uuid;

use crate::Secret;

/// Body of `POST /api/auth/email`.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(poem_openapi::Object))]
pub struct EmailChange {
    /// The account's password.
    pub password: Secret,
    /// Normalised as at sign-up; 409 `email_taken` when another account has it.
    pub new_email: String,
}

/// Body of `POST /api/auth/password/reset`.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(poem_openapi::Object))]
pub struct PasswordReset {
    /// The one-time token `todo-server users reset-password` printed.
    pub token: Secret,
    /// The same rules as at sign-up.
    pub new_password: Secret,
}

/// What happened, in the account's activity log.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
#[cfg_attr(feature = "openapi", derive(poem_openapi::Enum))]
#[cfg_attr(feature = "openapi", oai(rename_all = "snake_case"))]
pub enum ActivityKind {
    SignIn,
    /// A wrong password for this account.
    SignInFailed,
    /// The right password for a disabled account.
    SignInRefused,
    SignOut,
    /// A used refresh token came back: its session was ended.
    RefreshTokenReused,
    PasswordChanged,
    EmailChanged,
    /// One session ended from the session list.
    SessionEnded,
    /// An administrator made a password reset token.
    ResetTokenIssued,
    /// The password was set with a reset token.
    PasswordReset,
    AccountDisabled,
    AccountEnabled,
    /// A personal access token was made (`session_id` is its id).
    TokenCreated,
    /// A personal access token was revoked (`session_id` is its id).
    TokenRevoked,
    /// A TOTP secret and recovery codes were made (not yet on).
    TwoFactorSetUp,
    TwoFactorEnabled,
    TwoFactorDisabled,
    /// A recovery code stood in for a TOTP code.
    RecoveryCodeUsed,
    /// A wrong TOTP or recovery code.
    TwoFactorFailed,
    /// The administrator turned two-factor sign-in off (`todo-server users reset-2fa`).
    TwoFactorReset,
    /// Project kinds carry the project's id in `session_id`; each is in the log of the
    /// person who acted. Someone was invited to a project.
    InvitationSent,
    InvitationAccepted,
    InvitationDeclined,
    /// A member of a project was given another role.
    MemberRoleChanged,
    /// A member was removed from a project, or left it.
    MemberRemoved,
    /// A project was handed over to another member.
    ProjectTransferred,
}

impl ActivityKind {
    pub const ALL: [ActivityKind; 26] = [
        ActivityKind::SignIn,
        ActivityKind::SignInFailed,
        ActivityKind::SignInRefused,
        ActivityKind::SignOut,
        ActivityKind::RefreshTokenReused,
        ActivityKind::PasswordChanged,
        ActivityKind::EmailChanged,
        ActivityKind::SessionEnded,
        ActivityKind::ResetTokenIssued,
        ActivityKind::PasswordReset,
        ActivityKind::AccountDisabled,
        ActivityKind::AccountEnabled,
        ActivityKind::TokenCreated,
        ActivityKind::TokenRevoked,
        ActivityKind::TwoFactorSetUp,
        ActivityKind::TwoFactorEnabled,
        ActivityKind::TwoFactorDisabled,
        ActivityKind::RecoveryCodeUsed,
        ActivityKind::TwoFactorFailed,
        ActivityKind::TwoFactorReset,
        ActivityKind::InvitationSent,
        ActivityKind::InvitationAccepted,
        ActivityKind::InvitationDeclined,
        ActivityKind::MemberRoleChanged,
        ActivityKind::MemberRemoved,
        ActivityKind::ProjectTransferred,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            ActivityKind::SignIn => "sign_in",
            ActivityKind::SignInFailed => "sign_in_failed",
            ActivityKind::SignInRefused => "sign_in_refused",
            ActivityKind::SignOut => "sign_out",
            ActivityKind::RefreshTokenReused => "refresh_token_reused",
            ActivityKind::PasswordChanged => "password_changed",
            ActivityKind::EmailChanged => "email_changed",
            ActivityKind::SessionEnded => "session_ended",
            ActivityKind::ResetTokenIssued => "reset_token_issued",
            ActivityKind::PasswordReset => "password_reset",
            ActivityKind::AccountDisabled => "account_disabled",
            ActivityKind::AccountEnabled => "account_enabled",
            ActivityKind::TokenCreated => "token_created",
            ActivityKind::TokenRevoked => "token_revoked",
            ActivityKind::TwoFactorSetUp => "two_factor_set_up",
            ActivityKind::TwoFactorEnabled => "two_factor_enabled",
            ActivityKind::TwoFactorDisabled => "two_factor_disabled",
            ActivityKind::RecoveryCodeUsed => "recovery_code_used",
            ActivityKind::TwoFactorFailed => "two_factor_failed",
            ActivityKind::TwoFactorReset => "two_factor_reset",
            ActivityKind::InvitationSent => "invitation_sent",
            ActivityKind::InvitationAccepted => "invitation_accepted",
            ActivityKind::InvitationDeclined => "invitation_declined",
            ActivityKind::MemberRoleChanged => "member_role_changed",
            ActivityKind::MemberRemoved => "member_removed",
            ActivityKind::ProjectTransferred => "project_transferred",
        }
    }

    /// The kind a stored name stands for.
    pub fn parse(name: &str) -> Option<ActivityKind> {
        Self::ALL.into_iter().find(|k| k.as_str() == name)
    }
}

impl std::fmt::Display for ActivityKind {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

/// The query of `GET /api/auth/activity`.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct ActivityQuery {
    /// 1 to [`crate::limits::ACTIVITY_PAGE_MAX`] entries (the most by default).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub limit: Option<u32>,
    /// Only entries older than the one with this id.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub before: Option<i64>,
}

/// One entry of `GET /api/auth/activity`, newest first.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(poem_openapi::Object))]
pub struct ActivityEntry {
    /// Increasing with time; pass the last one seen as `before` for the next page.
    pub id: i64,
    #[serde(with = "time::serde::rfc3339")]
    pub at: OffsetDateTime,
    pub kind: ActivityKind,
    /// The client address, when the event came from a request.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[cfg_attr(feature = "openapi", oai(skip_serializing_if_is_none))]
    pub address: Option<String>,
    /// The request's `User-Agent`, cut to 200 characters.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[cfg_attr(feature = "openapi", oai(skip_serializing_if_is_none))]
    pub user_agent: Option<String>,
    /// The session (or personal token, or project) it concerns, if any.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[cfg_attr(feature = "openapi", oai(skip_serializing_if_is_none))]
    pub session_id: Option<Uuid>,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_kind_reads_back_from_its_name_and_serialises_as_it() {
        for kind in ActivityKind::ALL {
            assert_eq!(ActivityKind::parse(kind.as_str()), Some(kind));
            let json = serde_json::to_string(&kind).expect("write");
            assert_eq!(json, format!("\"{kind}\""));
        }
        assert_eq!(ActivityKind::parse("sign_up"), None);
    }
}
