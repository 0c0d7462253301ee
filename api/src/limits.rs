//! The limits of every field, in characters unless said otherwise: the server validates
//! with them, and the apps check their forms and write their help with them.

use time::OffsetDateTime;

pub const TITLE_MAX: usize = 200;
pub const DESCRIPTION_MAX: usize = 1000;
/// Distinct tags on one task.
pub const TAGS_MAX: usize = 10;
pub const TAG_MAX: usize = 32;
pub const PASSWORD_MIN: usize = 8;
pub const PASSWORD_MAX: usize = 128;
pub const NAME_MAX: usize = 100;
pub const EMAIL_MAX: usize = 254;
pub const SEARCH_MAX: usize = 200;
/// Characters of one note.
pub const NOTE_MAX: usize = 10_000;
/// Levels of subtasks: a task of its own is level 1.
pub const SUBTASK_DEPTH_MAX: usize = 8;
/// Tasks one task may wait for.
pub const DEPENDENCIES_MAX: usize = 50;
/// Notes one task holds at most.
pub const NOTES_PER_TASK: usize = 100;
/// Characters of a task's `source_id`.
pub const SOURCE_ID_MAX: usize = 200;
/// Tags one list may filter on (all must match).
pub const TAG_FILTERS_MAX: usize = 10;
pub const LIST_LIMIT_DEFAULT: u32 = 100;
pub const LIST_LIMIT_MAX: u32 = 500;
/// Request bodies, in bytes.
pub const BODY_MAX_BYTES: usize = 64 * 1024;
/// The range of `due_at`, in UTC: what RFC 3339 and every client can write back.
pub const DUE_AT_MIN: OffsetDateTime = time::macros::datetime!(0001-01-01 00:00:00 UTC);
pub const DUE_AT_MAX: OffsetDateTime = time::macros::datetime!(9999-12-31 23:59:59.999999 UTC);

/// Tags as the server keeps them: trimmed, empty ones dropped, each once (without regard
/// to case: the first spelling stays), in the order first given. [`TAGS_MAX`] counts what this returns.
pub fn unique_tags<I, S>(tags: I) -> Vec<String>
where
    I: IntoIterator<Item = S>,
    S: AsRef<str>,
{
    let mut unique: Vec<String> = Vec::new();
    for tag in tags {
        let tag = tag.as_ref().trim();
        if !tag.is_empty() && !unique.iter().any(|t| crate::tags::same_tag(t, tag)) {
            unique.push(tag.to_string());
        }
    }
    unique
}

/// Characters of a `User-Agent` kept with a session.
pub const USER_AGENT_MAX: usize = 200;

/// Activity-log entries are kept at least this many days.
pub const ACTIVITY_KEPT_DAYS: i64 = 90;
/// Entries one `GET /api/auth/activity` answers at most (and by default).
pub const ACTIVITY_PAGE_MAX: u32 = 100;
/// How long a password reset token works.
pub const RESET_TOKEN_TTL_SECS: u64 = 3600;

/// Characters of a personal token's name.
pub const TOKEN_NAME_MAX: usize = 100;
/// Days a personal token may live at most.
pub const TOKEN_DAYS_MAX: u32 = 366;
/// Calendar feeds one account may hold.
pub const FEEDS_PER_USER: usize = 20;
/// Personal tokens one account may hold (not revoked).
pub const TOKENS_PER_USER: usize = 50;

/// Event streams one user may have open at once (across every server).
pub const STREAMS_PER_USER: u32 = 16;
/// Events kept per user at least: the last this many, and every one of the last
/// [`EVENTS_KEPT_DAYS`] days.
pub const EVENTS_KEPT: i64 = 10_000;
pub const EVENTS_KEPT_DAYS: i64 = 7;
/// Seconds between heartbeat comments on an event stream.
pub const STREAM_HEARTBEAT_SECS: u64 = 15;

/// Characters of a project's name.
pub const PROJECT_NAME_MAX: usize = 100;
/// Projects one user may be a member of (owned or not).
pub const PROJECTS_PER_USER: usize = 1_000;
/// Members of one project, the owner among them.
pub const MEMBERS_PER_PROJECT: usize = 100;
/// Open (not accepted, declined, revoked or expired) invitations of one project.
pub const INVITATIONS_PER_PROJECT: usize = 100;
/// Days an invitation can be accepted.
pub const INVITATION_DAYS: i64 = 14;

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tags_are_trimmed_and_kept_once_in_order() {
        assert_eq!(unique_tags([" b", "a", "b ", "", "a"]), ["b", "a"]);
        assert_eq!(unique_tags(["Work", "home", "WORK"]), ["Work", "home"]);
    }
}
