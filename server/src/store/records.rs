//! What the storage interface takes and gives: plain records, the same for every backend.

use time::OffsetDateTime;
use todo_api::{Task, User};
use uuid::Uuid;

/// A user with the password hash, which never leaves the server.
pub struct UserRecord {
    pub user: User,
    pub password_hash: String,
    /// Set by `todo-server users disable`: the account cannot sign in.
    pub disabled_at: Option<OffsetDateTime>,
}

/// How [`Storage::start_session`](super::Storage::start_session) went.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SessionStart {
    Started,
    /// The new user's email is taken; nothing was written.
    EmailTaken,
    /// The account was disabled (perhaps while its password was being checked).
    AccountDisabled,
    /// The password changed (or was reset) after the sign-in checked it; nothing was
    /// written.
    CredentialsChanged,
}

/// An Ed25519 key pair; the newest unretired one signs.
pub struct KeyRecord {
    pub kid: String,
    /// The Ed25519 seed as stored: 32 bytes in the clear, or sealed (see
    /// `auth::key_sealing`). The store does not know which.
    pub stored_secret: Vec<u8>,
    pub public_key: [u8; 32],
    pub created_at: OffsetDateTime,
    pub retired_at: Option<OffsetDateTime>,
}

/// A session to start, with the hash of its first refresh token.
pub struct NewSession {
    pub session_id: Uuid,
    pub user_id: Uuid,
    pub refresh_hash: Vec<u8>,
    pub now: OffsetDateTime,
    pub expires_at: OffsetDateTime,
    /// Where it was signed in from (shown in the session list).
    pub user_agent: Option<String>,
    pub client_addr: Option<String>,
    /// The password hash the sign-in verified: the session starts only while it is still
    /// the account's (checked in the session's transaction), so a sign-in racing a
    /// password change never outlives it. `None` for a new account.
    pub verified_password_hash: Option<String>,
}

impl NewSession {
    /// Why the account as it is now (read in the session's own transaction, locked where
    /// the backend locks) refuses this session, if it does.
    pub fn refused_by(&self, disabled: bool, password_hash: &str) -> Option<SessionStart> {
        if disabled {
            return Some(SessionStart::AccountDisabled);
        }
        self.verified_password_hash
            .as_deref()
            .is_some_and(|verified| verified != password_hash)
            .then_some(SessionStart::CredentialsChanged)
    }
}

/// An active session, for the session list.
pub struct SessionRecord {
    pub id: Uuid,
    pub created_at: OffsetDateTime,
    pub last_used_at: OffsetDateTime,
    pub user_agent: Option<String>,
    pub client_addr: Option<String>,
}

/// What the store knows about a presented refresh token.
pub struct RefreshRecord {
    pub session_id: Uuid,
    pub user_id: Uuid,
    pub token_expires_at: OffsetDateTime,
    pub used: bool,
    pub session_revoked: bool,
    pub session_created_at: OffsetDateTime,
}

/// A refresh: trade the token hashed `presented` for the one hashed `next`.
pub struct RefreshRotation {
    pub presented: Vec<u8>,
    pub next: Vec<u8>,
    pub now: OffsetDateTime,
    /// The idle lifetime of a refresh token.
    pub refresh_ttl: std::time::Duration,
    /// The absolute lifetime of a session.
    pub session_lifetime: std::time::Duration,
}

/// What a backend does with a presented refresh token, decided in one place.
pub enum RefreshStep {
    /// Unknown, expired, or its session ended: refuse.
    Reject,
    /// Already used: the token was stolen or replayed; end the session.
    RevokeSession,
    /// Mark it used, store the next one, and slide the session to `expires_at`.
    Rotate { expires_at: OffsetDateTime },
}

impl RefreshRotation {
    pub fn step(&self, found: &RefreshRecord) -> RefreshStep {
        if found.used {
            return RefreshStep::RevokeSession;
        }
        // The session slides forward with each refresh, but never past its absolute
        // end: a stolen refresh token cannot be kept alive for ever.
        let session_end = found.session_created_at + self.session_lifetime;
        if found.session_revoked || found.token_expires_at <= self.now || session_end <= self.now {
            return RefreshStep::Reject;
        }
        RefreshStep::Rotate {
            expires_at: (self.now + self.refresh_ttl).min(session_end),
        }
    }
}

/// The outcome of a refresh.
pub enum RefreshOutcome {
    Rotated {
        user: Option<User>,
        session_id: Uuid,
    },
    /// A used token came back: its session is revoked.
    Reused {
        session_id: Uuid,
        user_id: Uuid,
    },
    Rejected,
}

/// A sign-out: the caller's session, a refresh token's session when it is the same
/// user's, or every session of the user.
pub struct SignOut {
    pub user_id: Uuid,
    pub session_id: Uuid,
    pub refresh_hash: Option<Vec<u8>>,
    pub all: bool,
    pub now: OffsetDateTime,
}

/// Which version a conditional write applies to: any (no `If-Match`, or `*`), or one.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Expected {
    Any,
    Version(i64),
}

impl Expected {
    pub fn version(self) -> Option<i64> {
        match self {
            Expected::Any => None,
            Expected::Version(v) => Some(v),
        }
    }
}

/// The outcome of a conditional write, found out in the write's own transaction.
#[derive(Debug)]
pub enum Written<T> {
    Done(T),
    /// The task is at another version: nothing changed; the task as it is.
    Conflict(Box<Task>),
    /// No such task that the caller can see.
    Missing,
    /// The caller sees the task (or the project) but their role does not let them
    /// change it: nothing changed.
    Refused,
    /// The task cannot go where its `parent_id` or `depends_on` puts it: nothing
    /// changed.
    Misplaced(crate::domain::dependencies::Misplaced),
}

impl<T> Written<T> {
    /// From a write that matched nothing: the task as the caller sees it now, if they
    /// do, and whether they may write it.
    pub fn from_miss(current: Option<(Task, bool)>) -> Written<T> {
        match current {
            None => Written::Missing,
            Some((_, false)) => Written::Refused,
            Some((task, true)) => Written::Conflict(Box::new(task)),
        }
    }
}

impl Written<Task> {
    /// From an insert that inserted nothing: the task made from the same source (a
    /// conflict), else, for a task in a project, a role that no longer writes there.
    pub fn from_refused_insert(project: Option<Uuid>, first: Option<Task>) -> Written<Task> {
        match (first, project) {
            (Some(first), _) => Written::Conflict(Box::new(first)),
            (None, Some(_)) => Written::Refused,
            (None, None) => Written::Missing,
        }
    }
}

/// A full replace of a task's editable fields: the body of `PUT`, or a merge patch
/// applied.
#[derive(Debug, Clone)]
pub struct TaskReplace {
    pub draft: crate::domain::tasks::TaskDraft,
    /// Sets completion when given.
    pub completed: Option<bool>,
    /// Moves the task when given (`Some(None)`: personal).
    pub moved_to: Option<Option<Uuid>>,
    /// Puts it under another task when given (`Some(None)`: a task of its own).
    pub parent: Option<Option<i64>>,
}

/// A change to one task, as its events record it.
pub struct TaskChange<'a> {
    pub task_id: i64,
    pub version: i64,
    /// The task after the change; `None` when it was deleted.
    pub task: Option<&'a Task>,
    /// Who made it (only they may undo it).
    pub actor: Uuid,
    /// The seq (in the actor's stream) of the change this one undoes.
    pub undoes: Option<i64>,
    pub at: OffsetDateTime,
    /// The change this event is one part of, when one request changed several tasks (a
    /// task deleted with its subtasks): one undo takes the whole change back.
    pub group: Option<Uuid>,
    /// A moment of the task's rather than a change (a reminder, a wake-up): this kind
    /// for everyone, no actor.
    pub moment: Option<todo_api::EventType>,
}

impl<'a> TaskChange<'a> {
    pub fn of(task: &'a Task, actor: Uuid, at: OffsetDateTime) -> Self {
        TaskChange {
            task_id: task.id,
            version: task.version,
            task: Some(task),
            actor,
            undoes: None,
            at,
            group: None,
            moment: None,
        }
    }

    /// A moment of `task` (`task.reminder`, `task.woke`): nobody's change, so nobody's to
    /// undo.
    pub fn moment(task: &'a Task, kind: todo_api::EventType, at: OffsetDateTime) -> Self {
        TaskChange {
            moment: Some(kind),
            ..TaskChange::of(task, Uuid::nil(), at)
        }
    }

    pub fn deleted(task_id: i64, version: i64, actor: Uuid, at: OffsetDateTime) -> Self {
        TaskChange {
            task_id,
            version,
            task: None,
            actor,
            undoes: None,
            at,
            group: None,
            moment: None,
        }
    }

    /// The event kind `user` gets: created for those who see the task only after the
    /// change, deleted for those who saw it only before (a move out of their project,
    /// a removal) or when it went, updated for the rest.
    pub fn kind_for(&self, user: Uuid, before: &[Uuid], after: &[Uuid]) -> todo_api::EventType {
        use todo_api::EventType as E;
        if let Some(moment) = self.moment {
            return moment;
        }
        match (
            before.contains(&user),
            after.contains(&user) && self.task.is_some(),
        ) {
            (_, false) => E::Deleted,
            (false, true) => E::Created,
            (true, true) => E::Updated,
        }
    }
}

/// Events committed by a write, each with the user whose stream it is in: handed to
/// the streams once the write commits.
pub type Published = Vec<(Uuid, EventRecord)>;

/// Everyone who saw a task before a change or sees it after: each gets one event.
pub fn audience_union<'u>(before: &'u [Uuid], after: &'u [Uuid]) -> impl Iterator<Item = Uuid> + 'u {
    after
        .iter()
        .chain(before.iter().filter(|u| !after.contains(u)))
        .copied()
}

/// A task that went, and where it was: for the events of its going.
#[derive(Debug, Clone, Copy)]
pub struct GoneTask {
    pub id: i64,
    pub version: i64,
    pub project: Option<Uuid>,
    /// Whose space it was in (the user of a personal task).
    pub space: Uuid,
}

/// What undo did.
#[derive(Debug)]
pub enum UndoOutcome {
    Undone(Box<Undone>),
    /// The caller's latest change is to a task they may no longer write: nothing
    /// changed, and it stays theirs to undo.
    NotAllowed,
    /// Nothing left that can be reverted.
    Nothing,
}

/// A session row as stored, for copying a database.
pub struct SessionRow {
    pub id: Uuid,
    pub user_id: Uuid,
    pub created_at: i64,
    pub expires_at: i64,
    pub revoked_at: Option<i64>,
    pub last_used_at: Option<i64>,
    pub user_agent: Option<String>,
    pub client_addr: Option<String>,
}

/// A refresh-token row as stored (only its hash), for copying a database.
pub struct RefreshTokenRow {
    pub token_hash: Vec<u8>,
    pub session_id: Uuid,
    pub expires_at: i64,
    pub used_at: Option<i64>,
}

/// Everything a database holds that outlives a restart (rate-limit windows do not), in
/// an order that satisfies every foreign key.
#[derive(Default)]
pub struct Snapshot {
    pub users: Vec<UserRecord>,
    pub sessions: Vec<SessionRow>,
    pub refresh_tokens: Vec<RefreshTokenRow>,
    pub keys: Vec<KeyRecord>,
    pub tasks: Vec<Task>,
    /// Each user's change history (the user, the event), and their latest seq.
    pub events: Vec<(Uuid, EventRecord)>,
    pub event_seqs: Vec<(Uuid, i64)>,
    /// Each user's activity log (the user, the entry).
    pub activity: Vec<(Uuid, todo_api::ActivityEntry)>,
    /// Projects, their members and open invitations, as stored.
    pub projects: Vec<ProjectRow>,
    pub members: Vec<MemberRow>,
    pub invitations: Vec<InvitationRow>,
    /// Identities at other issuers: (issuer, subject, user, created_at in micros), and
    /// each user's external revocation (user, not before, in micros).
    pub identities: Vec<(String, String, Uuid, i64)>,
    pub external_revocations: Vec<(Uuid, i64)>,
}

/// A project row as stored, for copying a database.
pub struct ProjectRow {
    pub id: Uuid,
    pub owner_id: Uuid,
    pub name: String,
    pub name_key: String,
    pub version: i64,
    pub created_at: i64,
    pub updated_at: i64,
}

/// A membership row as stored (the role as its rank), for copying a database.
pub struct MemberRow {
    pub project_id: Uuid,
    pub user_id: Uuid,
    pub role: i16,
    pub added_at: i64,
}

/// An invitation row as stored, for copying a database.
pub struct InvitationRow {
    pub id: Uuid,
    pub project_id: Uuid,
    pub email: String,
    pub role: i16,
    pub invited_by: Uuid,
    pub created_at: i64,
    pub expires_at: i64,
}

/// One stored change to a task (a row of `task_events`).
#[derive(Debug, Clone)]
pub struct EventRecord {
    pub seq: i64,
    pub kind: todo_api::EventType,
    pub task_id: i64,
    pub version: i64,
    /// The task after the change; `None` after a delete.
    pub task: Option<Task>,
    /// Set when the change was an undo: the seq it reverted.
    pub undoes: Option<i64>,
    pub at: OffsetDateTime,
    /// Who made the change (`None` in rows from before projects: the stream's user).
    pub actor: Option<Uuid>,
    /// For a project's event (`kind` not a task kind): what it says.
    pub project: Option<todo_api::ProjectNews>,
    /// The change it is a part of, when one request changed several tasks.
    pub group: Option<Uuid>,
}

impl EventRecord {
    #[allow(clippy::too_many_arguments)]
    pub fn new(
        seq: i64,
        kind: todo_api::EventType,
        task_id: i64,
        version: i64,
        task: Option<&Task>,
        undoes: Option<i64>,
        at: OffsetDateTime,
        actor: Uuid,
    ) -> EventRecord {
        EventRecord {
            seq,
            kind,
            task_id,
            version,
            task: task.cloned(),
            undoes,
            at,
            actor: Some(actor),
            project: None,
            group: None,
        }
    }

    /// A project's event (task id 0, nobody's change to undo).
    pub fn news(
        seq: i64,
        kind: todo_api::EventType,
        news: todo_api::ProjectNews,
        at: OffsetDateTime,
    ) -> EventRecord {
        EventRecord {
            seq,
            kind,
            task_id: 0,
            version: 0,
            task: None,
            undoes: None,
            at,
            actor: Some(Uuid::nil()),
            project: Some(news),
            group: None,
        }
    }
}

/// Events after a point, with what the store still keeps.
#[derive(Debug)]
pub struct EventPage {
    pub events: Vec<EventRecord>,
    /// The user's latest seq (0 before any change).
    pub latest: i64,
    /// The oldest seq still kept, if any is.
    pub oldest: Option<i64>,
}

impl EventPage {
    /// Whether events after `after` were deleted before they could be read: the reader
    /// must reload everything.
    pub fn has_gap_after(&self, after: i64) -> bool {
        match self.oldest {
            Some(oldest) => oldest > after + 1,
            None => self.latest > after,
        }
    }
}

/// What undoing a change does, decided from the change, the task as it was before it,
/// and the task as it is now (the same rules on both backends).
#[derive(Debug)]
pub enum UndoStep {
    /// The change created the task: delete it (at this version).
    Delete { version: i64 },
    /// The change deleted the task: put it back, same id and fields, at `version`.
    Reinsert { task: Box<Task>, version: i64 },
    /// The change updated the task: give it back these fields, at `version`.
    Restore { task: Box<Task>, version: i64 },
}

impl UndoStep {
    /// `None` when the change cannot be reverted (the state before it is no longer kept,
    /// or there is nothing to revert).
    pub fn plan(target: &EventRecord, before: Option<Task>, now: Option<&Task>) -> Option<UndoStep> {
        use todo_api::EventType as E;
        match (target.kind, before, now) {
            (E::Created, _, Some(now)) => Some(UndoStep::Delete { version: now.version }),
            (E::Deleted, Some(before), None) => Some(UndoStep::Reinsert {
                version: target.version.max(before.version) + 1,
                task: Box::new(before),
            }),
            (E::Updated, Some(before), Some(now)) => Some(UndoStep::Restore {
                version: now.version + 1,
                task: Box::new(before),
            }),
            _ => None,
        }
    }
}

/// What undoing one event of a change did (each backend's `undo_one`).
pub enum UndoPart {
    /// Nothing to revert: the state before it is no longer known, or it is undone.
    Skipped,
    /// The caller's role no longer lets them change the task.
    NotAllowed,
    /// The task after the undo (`None`: deleted), and the events to publish.
    Done(Option<Box<Task>>, Published),
}

/// The parts of one change undone so far (a task deleted with its subtasks is undone
/// whole): the first part's answer, and every part's events.
#[derive(Default)]
pub struct UndoneChange {
    first: Option<Undone>,
    published: Published,
}

impl UndoneChange {
    /// Adds the undo of `part`, one of `user`'s events: `task` after it, `events` it
    /// appended.
    pub fn add(&mut self, user: Uuid, part: &EventRecord, task: Option<Box<Task>>, events: Published) {
        if self.first.is_none() {
            self.first = Some(Undone {
                target_seq: part.seq,
                target_kind: part.kind,
                seq: events.iter().find(|(u, _)| *u == user).map_or(0, |(_, e)| e.seq),
                task: task.map(|t| *t),
            });
        }
        self.published.extend(events);
    }

    /// What the undo answers and publishes, if any part was undone.
    pub fn finish(self) -> Option<(UndoOutcome, Published)> {
        let first = self.first?;
        Some((UndoOutcome::Undone(Box::new(first)), self.published))
    }
}

/// What an undo did.
#[derive(Debug)]
pub struct Undone {
    pub target_seq: i64,
    pub target_kind: todo_api::EventType,
    /// The undo's own event.
    pub seq: i64,
    /// The task after the undo; `None` when it deleted the task.
    pub task: Option<Task>,
}

/// The tables of single-use, expiring tokens kept by their hash: password reset tokens
/// and the mfa tokens of sign-ins waiting for a code. Both are read and spent the same
/// way.
#[derive(Debug, Clone, Copy)]
pub enum SingleUseToken {
    PasswordReset,
    MfaChallenge,
}

impl SingleUseToken {
    pub fn table(self) -> &'static str {
        match self {
            SingleUseToken::PasswordReset => "password_resets",
            SingleUseToken::MfaChallenge => "mfa_challenges",
        }
    }
}
