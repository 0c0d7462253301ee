//! The whole state of the app, and the messages and commands that change it.
//! `update` (in `update.rs`) is the only code that changes an `App`.

use std::collections::BTreeMap;
use todo_api::limits::{PASSWORD_MAX, PASSWORD_MIN};

use time::OffsetDateTime;
use todo_api::{
    Priority, SignInRequest, SignUpRequest, SortField, SortOrder, StatusFilter, Task, TaskInput, User,
};
use todo_client::{ClientError, ListQuery, TaskPage};

use crate::text_field::{PasswordField, TextField};

/// Everything that can happen: a key, a tick, or a network reply.
#[derive(Debug)]
pub enum Msg {
    Key(crossterm::event::KeyEvent),
    Mouse(Mouse),
    /// Text pasted into the terminal (bracketed paste).
    Paste(String),
    /// The clock moved (spinner frames, overdue marks).
    Tick(OffsetDateTime),
    SessionChecked(Result<Option<User>, ClientError>),
    SignedIn(Result<User, ClientError>),
    /// The password was right and the account asks for a code: its mfa token.
    CodeNeeded(todo_api::Secret),
    SessionsLoaded(Result<Vec<todo_api::SessionSummary>, ClientError>),
    InvitationsLoaded(Result<Vec<todo_api::Invitation>, ClientError>),
    /// Whether it was accepted, and the invitation answered.
    InvitationAnswered(bool, Result<todo_api::Invitation, ClientError>),
    SessionEnded(uuid::Uuid, Result<(), ClientError>),
    PasswordChanged(Result<(), ClientError>),
    SignedUp(Result<User, ClientError>),
    TasksLoaded(Result<TaskPage, ClientError>),
    ProjectsLoaded(Result<Vec<crate::projects::Shared>, ClientError>),
    TaskSaved(Result<Task, ClientError>),
    TaskToggled(Result<Task, ClientError>),
    TaskDeleted(i64, Result<(), ClientError>),
    /// With the account the server uses next, when another is signed in here.
    SignedOut(Result<Option<todo_client::credentials::Account>, ClientError>),
    Undone(Result<todo_api::UndoResult, ClientError>),
    /// A note's answer: the task, the text sent (kept to retry), and the result.
    NoteAdded(i64, String, Result<todo_api::Note, ClientError>),
    /// The whole task asked for by [`Cmd::LoadDetail`] (its id).
    DetailLoaded(i64, Result<Task, ClientError>),
    /// At start, before the server answers: the signed-in user's tasks from the local
    /// copy (every one; the list's filter picks), drawn at once.
    LocalStart(User, Vec<Task>, LocalState),
    /// The server could not be reached: the list from the local copy.
    LocalTasks(Vec<Task>, LocalState),
    /// A write queued while offline (what it does), or why it could not be.
    Queued(Result<String, String>),
    /// The queue sent (when the server is back), with the conflicts left.
    QueueSent(Result<QueueReport, String>),
    /// The queue's conflicts, asked for with the conflicts key.
    ConflictsLoaded(Vec<ConflictView>),
    /// News from the change stream started as generation `.0`.
    Stream(u64, todo_client::events::StreamNews),
}

/// A mouse event on a screen of `screen` (the terminal's size), at `at` (for double
/// clicks).
#[derive(Debug, Clone, Copy)]
pub struct Mouse {
    pub kind: crossterm::event::MouseEventKind,
    pub column: u16,
    pub row: u16,
    pub screen: ratatui::layout::Rect,
    pub at: std::time::Instant,
}

/// Work for the network, run on a tokio task; its answer comes back as a [`Msg`].
/// Passwords in it are [`todo_api::Secret`]s, so `Debug` never shows them.
#[derive(Debug)]
pub enum Cmd {
    CheckSession,
    SignIn(SignInRequest),
    /// The second step of a sign-in: the mfa token and the code typed.
    SignInCode(todo_api::Secret, String),
    SignUp(SignUpRequest),
    LoadTasks(ListQuery),
    /// The user's projects and their members.
    LoadProjects,
    CreateTask(TaskInput),
    /// The task id, the fields the form changed, and the version it was opened on.
    PatchTask(i64, todo_api::TaskPatch, Option<i64>),
    /// The task id and the version shown.
    ToggleTask(i64, Option<i64>),
    DeleteTask(i64, Option<i64>),
    SignOut,
    Undo,
    LoadSessions,
    /// The open invitations to the user (for the account panel).
    LoadInvitations,
    /// Accept (`true`) or decline an invitation.
    AnswerInvitation(uuid::Uuid, bool),
    /// Add a note (the text) to a task.
    AddNote(i64, String),
    /// The whole task (its notes, which lists leave out), for the detail pane.
    LoadDetail(i64),
    /// Send the writes queued while offline (the server is back).
    SendQueue,
    /// Decide conflict `.0`.
    ResolveConflict(i64, Resolution),
    /// The queue's conflicts, to show.
    LoadConflicts,
    EndSession(uuid::Uuid),
    /// The current password and the new one.
    ChangePassword(todo_api::Secret, todo_api::Secret),
    /// Follow the change stream (generation `.0`) for as long as the app runs; its news
    /// come back as [`Msg::Stream`]. Not counted as busy: it never ends by itself.
    WatchChanges(u64),
}

/// The local copy as the list shows it: how old, what is queued.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct LocalState {
    pub synced_at: Option<OffsetDateTime>,
    pub queued: usize,
    pub conflicts: usize,
    /// The tasks a queued write changes (marked in the list).
    pub queued_ids: Vec<i64>,
    /// Why the server is away (empty while it has not been asked yet).
    pub why: String,
}

/// One refused queued write, side by side with the task as the server has it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ConflictView {
    pub n: i64,
    /// The write in a few words (`edit #2 (title ...)`).
    pub change: String,
    pub reason: String,
    /// Each field the write sets where theirs differs: (field, theirs, mine).
    pub fields: Vec<(String, String, String)>,
}

/// How a conflict is decided.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Resolution {
    /// Mine, sent again over theirs.
    Mine,
    /// Theirs: mine is dropped.
    Theirs,
    /// Mine for these fields only (sent over theirs), theirs for the rest.
    Merge(Vec<String>),
}

/// The conflict view: the refused changes, the one selected, and for it which fields
/// keep mine (all, until toggled) and the field the cursor is on.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ConflictPanel {
    pub items: Vec<ConflictView>,
    pub selected: usize,
    pub field: usize,
    pub mine: Vec<bool>,
}

impl ConflictPanel {
    pub fn new(items: Vec<ConflictView>) -> ConflictPanel {
        let mut panel = ConflictPanel {
            items,
            selected: 0,
            field: 0,
            mine: Vec::new(),
        };
        panel.select(0);
        panel
    }

    /// Selects conflict `i` (within bounds), every field on mine.
    pub fn select(&mut self, i: usize) {
        self.selected = i.min(self.items.len().saturating_sub(1));
        self.field = 0;
        self.mine = vec![true; self.items.get(self.selected).map_or(0, |c| c.fields.len())];
    }

    /// What Enter sends: all mine, all theirs, or mine for the fields marked so.
    pub fn resolution(&self) -> Resolution {
        let fields = self.items.get(self.selected).map(|c| &c.fields);
        let chosen: Vec<String> = fields
            .into_iter()
            .flatten()
            .zip(&self.mine)
            .filter(|(_, mine)| **mine)
            .map(|((name, ..), _)| name.clone())
            .collect();
        match chosen.len() {
            0 => Resolution::Theirs,
            n if n == self.mine.len() => Resolution::Mine,
            _ => Resolution::Merge(chosen),
        }
    }
}

/// What sending the queue did.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct QueueReport {
    pub applied: usize,
    /// Refused by this send (the view opens for them).
    pub refused: usize,
    pub conflicts: Vec<ConflictView>,
}

/// Whether the list follows changes made elsewhere.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub enum LiveState {
    #[default]
    Off,
    Connecting,
    Live,
    /// Lost; reconnecting (the reason, for the status bar).
    Reconnecting(String),
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Screen {
    /// Checking the stored credentials at start.
    Connecting,
    /// The server did not answer; `r` retries.
    Unreachable,
    SignIn(SignInForm),
    SignUp(SignUpForm),
    Tasks,
}

#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct SignInForm {
    pub email: TextField,
    pub password: PasswordField,
    /// The two-factor code, once the server asked for one.
    pub code: TextField,
    /// The mfa token of a sign-in waiting for its code.
    pub challenge: Option<todo_api::Secret>,
    pub focus: SignInField,
    pub error: Option<String>,
}

/// The fields of the sign-in screen, in order.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub enum SignInField {
    #[default]
    Email,
    Password,
    /// Shown only while a sign-in waits for a two-factor code.
    Code,
}

/// The fields of the sign-up screen, in order.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub enum SignUpField {
    #[default]
    Name,
    Email,
    Password,
    Confirm,
}

/// The field `step` places after (or, negative, before) `now` among `shown`, wrapping.
fn step_among<T: Copy + PartialEq>(shown: &[T], now: T, step: isize) -> T {
    let at = shown.iter().position(|f| *f == now).unwrap_or(0) as isize;
    let len = shown.len() as isize;
    shown[(at + step).rem_euclid(len.max(1)) as usize]
}

impl SignInForm {
    /// The fields shown: the code's only while a sign-in waits for it.
    pub fn fields(&self) -> &'static [SignInField] {
        if self.challenge.is_some() {
            &[SignInField::Email, SignInField::Password, SignInField::Code]
        } else {
            &[SignInField::Email, SignInField::Password]
        }
    }

    /// Moves the focus `step` fields on (back when negative), wrapping.
    pub fn move_focus(&mut self, step: isize) {
        self.focus = step_among(self.fields(), self.focus, step);
    }
}

impl SignUpField {
    pub const ALL: [SignUpField; 4] = [
        SignUpField::Name,
        SignUpField::Email,
        SignUpField::Password,
        SignUpField::Confirm,
    ];

    pub fn is_password(self) -> bool {
        matches!(self, SignUpField::Password | SignUpField::Confirm)
    }

    /// Its row in the form, from 0.
    pub fn row(self) -> u16 {
        SignUpField::ALL.iter().position(|f| *f == self).unwrap_or(0) as u16
    }
}

#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct SignUpForm {
    pub name: TextField,
    pub email: TextField,
    pub password: PasswordField,
    pub confirm: PasswordField,
    pub focus: SignUpField,
    /// The server's reason for refusing the password, after a submit.
    pub password_reason: Option<String>,
    pub error: Option<String>,
}

/// The checks the sign-up screen shows while the user types.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SignUpChecks {
    pub email_ok: bool,
    pub length_ok: bool,
    pub match_ok: bool,
    /// Why the server's strength rule would refuse the password (checked as the user
    /// types, with the same rule); `None` when it passes.
    pub strength_problem: Option<String>,
}

impl SignUpForm {
    /// Moves the focus `step` fields on (back when negative), wrapping.
    pub fn move_focus(&mut self, step: isize) {
        self.focus = step_among(&SignUpField::ALL, self.focus, step);
    }

    pub fn checks(&self) -> SignUpChecks {
        let email = self.email.text().trim();
        let email_ok = email.split_once('@').is_some_and(|(local, domain)| {
            !local.is_empty() && domain.contains('.') && !domain.ends_with('.')
        });
        let len = self.password.text().chars().count();
        SignUpChecks {
            email_ok,
            length_ok: (PASSWORD_MIN..=PASSWORD_MAX).contains(&len),
            match_ok: !self.password.text().is_empty() && self.password.text() == self.confirm.text(),
            strength_problem: {
                let email = self.email.text().trim();
                let name = self.name.text().trim();
                todo_api::password::strength_problem(self.password.text(), &[email, name])
            },
        }
    }
}

/// The fields of the add/edit form, in Tab order.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum FormField {
    Title,
    Description,
    Priority,
    Due,
    Repeat,
    Remind,
    Tags,
}

impl FormField {
    pub const ORDER: [FormField; 7] = [
        FormField::Title,
        FormField::Description,
        FormField::Priority,
        FormField::Due,
        FormField::Repeat,
        FormField::Remind,
        FormField::Tags,
    ];

    /// The API field name, where the server's 422 lands.
    pub fn api_name(self) -> &'static str {
        match self {
            FormField::Title => "title",
            FormField::Description => "description",
            FormField::Priority => "priority",
            FormField::Due => "due_at",
            FormField::Repeat => "recurrence",
            FormField::Remind => "remind_at",
            FormField::Tags => "tags",
        }
    }
}

/// A task as its form opened: the fields, and the texts its dates and rule were shown as
/// (a text left as it was sends nothing: it may show a rounded form of the stored value).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct OpenedTask {
    pub input: TaskInput,
    pub due: String,
    pub repeat: String,
    pub remind: String,
}

/// How a task's due date and reminder read in its form, in local time.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct OpenedTexts {
    pub due: String,
    pub remind: String,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TaskForm {
    /// `None`: a new task.
    pub editing: Option<i64>,
    /// The version of the task the form shows: saving applies only to it, so an edit
    /// made elsewhere meanwhile is never silently overwritten.
    pub base_version: Option<i64>,
    /// The fields as the form opened: saving sends only what differs, so a change made
    /// elsewhere to another field is kept.
    pub opened: Option<Box<OpenedTask>>,
    pub title: TextField,
    pub description: TextField,
    pub priority: Priority,
    pub due: TextField,
    /// How it repeats: `weekly`, `every 2 weeks`, an RRULE; empty: it does not.
    pub repeat: TextField,
    /// A reminder: `30m` before the due date, or a moment; empty: none.
    pub remind: TextField,
    pub tags: TextField,
    pub focus: FormField,
    pub errors: BTreeMap<FormField, String>,
    /// An error that belongs to no field.
    pub error: Option<String>,
    pub saving: bool,
    /// Esc was pressed once on unsaved changes: a second Esc drops them.
    pub discard_armed: bool,
}

impl TaskForm {
    /// Whether anything typed would be lost by closing the form.
    pub fn has_changes(&self) -> bool {
        match self.opened.as_deref() {
            Some(opened) => {
                let input = &opened.input;
                self.title.text() != input.title
                    || Some(self.description.text()) != input.description.as_deref()
                    || Some(self.priority) != input.priority
                    || self.due.text() != opened.due
                    || self.repeat.text() != opened.repeat
                    || self.remind.text() != opened.remind
                    || self.tags.text() != input.tags.clone().unwrap_or_default().join(", ")
            }
            None => {
                !self.title.text().trim().is_empty()
                    || !self.description.text().trim().is_empty()
                    || !self.due.text().trim().is_empty()
                    || !self.repeat.text().trim().is_empty()
                    || !self.remind.text().trim().is_empty()
                    || !self.tags.text().trim().is_empty()
                    || self.priority != Priority::Medium
            }
        }
    }

    pub fn new_task() -> TaskForm {
        TaskForm {
            editing: None,
            base_version: None,
            opened: None,
            title: TextField::default(),
            description: TextField::default(),
            priority: Priority::Medium,
            due: TextField::default(),
            repeat: TextField::default(),
            remind: TextField::default(),
            tags: TextField::default(),
            focus: FormField::Title,
            errors: BTreeMap::new(),
            error: None,
            saving: false,
            discard_armed: false,
        }
    }

    /// The form for `task`, its dates shown as `texts` gives them (in local time).
    pub fn edit(task: &Task, texts: OpenedTexts) -> TaskForm {
        let repeat = task
            .recurrence
            .as_ref()
            .map(|r| r.rule.clone())
            .unwrap_or_default();
        TaskForm {
            editing: Some(task.id),
            base_version: Some(task.version),
            opened: Some(Box::new(OpenedTask {
                input: TaskInput {
                    title: task.title.clone(),
                    description: Some(task.description.clone()),
                    priority: Some(task.priority),
                    due_at: task.due_at,
                    tags: Some(task.tags.clone()),
                    source_id: None,
                    project_id: task.project_id,
                    recurrence: task.recurrence.clone(),
                    parent_id: task.parent_id,
                    wait_until: task.wait_until,
                    remind_at: task.remind_before.is_none().then_some(task.remind_at).flatten(),
                    remind_before: task.remind_before.clone(),
                    depends_on: None,
                },
                due: texts.due.clone(),
                repeat: repeat.clone(),
                remind: texts.remind.clone(),
            })),
            title: TextField::new(&task.title),
            description: TextField::new(&task.description),
            priority: task.priority,
            due: TextField::new(&texts.due),
            repeat: TextField::new(&repeat),
            remind: TextField::new(&texts.remind),
            tags: TextField::new(&task.tags.join(", ")),
            ..TaskForm::new_task()
        }
    }
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Popup {
    Help,
    ConfirmDelete {
        id: i64,
        title: String,
        version: i64,
    },
    ConfirmSignOut,
    /// Where you are signed in, and a password change.
    Account(crate::account::AccountPanel),
    Form(TaskForm),
    Search(TextField),
    Tag(TextField),
    /// Queued writes the server refused: mine beside theirs, `m`/`t` keep one.
    Conflicts(ConflictPanel),
    /// A note being written for task `task`; `error` is the server's answer to the
    /// last try (the text is kept).
    Note {
        task: i64,
        text: TextField,
        error: Option<String>,
    },
}

/// The task list as loaded, and how it is filtered.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TaskList {
    /// The tasks shown: the page in tree order, less the subtasks of folded tasks.
    pub tasks: Vec<Task>,
    /// The page as loaded, in tree order (folding hides from it, unfolding shows again).
    pub page: Vec<Task>,
    /// Tasks whose subtasks are hidden (kept across reloads).
    pub folded: std::collections::HashSet<i64>,
    pub total: u64,
    pub selected: usize,
    pub status: StatusFilter,
    pub sort: SortField,
    pub search: String,
    pub tag: Option<String>,
    pub project: crate::projects::ProjectFilter,
    pub loaded: bool,
}

impl Default for TaskList {
    fn default() -> Self {
        TaskList {
            tasks: Vec::new(),
            page: Vec::new(),
            folded: Default::default(),
            total: 0,
            selected: 0,
            // As `todo list`: what is left to do, most urgent first.
            status: StatusFilter::Pending,
            sort: SortField::Urgency,
            search: String::new(),
            tag: None,
            project: crate::projects::ProjectFilter::All,
            loaded: false,
        }
    }
}

impl TaskList {
    /// The tags of the tasks shown that start with `prefix` (any case), each once, sorted:
    /// what the tag prompt offers.
    pub fn tags_starting(&self, prefix: &str) -> Vec<String> {
        let prefix = todo_api::tags::tag_key(prefix);
        let mut found: Vec<String> = Vec::new();
        for tag in self.tasks.iter().flat_map(|t| &t.tags) {
            if todo_api::tags::tag_key(tag).starts_with(&prefix)
                && !found.iter().any(|f| todo_api::tags::same_tag(f, tag))
            {
                found.push(tag.clone());
            }
        }
        found.sort_by_key(|t| todo_api::tags::tag_key(t));
        found
    }

    pub fn selected_task(&self) -> Option<&Task> {
        self.tasks.get(self.selected)
    }

    /// Shows a loaded page: subtasks under their parents, folded ones hidden.
    pub fn show(&mut self, page: Vec<Task>) {
        self.page = crate::tree::tree_order(page);
        self.tasks = crate::tree::unfolded(&self.page, &self.folded);
    }

    /// Folds or unfolds the selected task's subtasks; the selection stays on it. False
    /// when it has none in the page.
    pub fn toggle_fold(&mut self) -> bool {
        let Some(id) = self.selected_task().map(|t| t.id) else {
            return false;
        };
        if !self.page.iter().any(|t| t.parent_id == Some(id) && t.id != id) {
            return false;
        }
        if !self.folded.remove(&id) {
            self.folded.insert(id);
        }
        self.tasks = crate::tree::unfolded(&self.page, &self.folded);
        self.selected = self.tasks.iter().position(|t| t.id == id).unwrap_or(0);
        true
    }

    /// Whether `task` is folded with subtasks hidden under it.
    pub fn is_folded(&self, task: &Task) -> bool {
        self.folded.contains(&task.id) && task.subtasks.total > 0
    }

    /// The sort's natural direction, as the API defines it.
    pub fn order(&self) -> SortOrder {
        self.sort.default_order()
    }

    pub fn query(&self) -> ListQuery {
        ListQuery {
            status: Some(self.status),
            search: (!self.search.trim().is_empty()).then(|| self.search.trim().to_string()),
            tags: self.tag.iter().cloned().collect(),
            priority: None,
            sort: Some(self.sort),
            order: Some(self.order()),
            limit: None,
            offset: None,
            project: self.project.query(),
            parent: None,
            not_tags: Vec::new(),
            due_before: None,
            due_after: None,
        }
    }
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StatusMessage {
    pub text: String,
    pub is_error: bool,
}

#[derive(Debug, Clone)]
pub struct App {
    pub server: String,
    pub screen: Screen,
    pub popup: Option<Popup>,
    pub user: Option<User>,
    pub list: TaskList,
    /// The projects the user is a member of (for the switcher and the names shown).
    pub projects: crate::projects::Projects,
    pub message: Option<StatusMessage>,
    /// Network calls in flight; the spinner turns while this is above zero.
    pub busy: u32,
    pub spinner: usize,
    pub now: OffsetDateTime,
    /// The local time zone with its rules, for showing and parsing due dates (each
    /// moment in the offset in force then).
    pub zone: todo_client::due::TimeZone,
    pub color: bool,
    /// A task form whose save was refused because the session ended: reopened after
    /// the next sign-in, so nothing typed is lost.
    pub kept_form: Option<TaskForm>,
    pub live: LiveState,
    /// Which change stream is current; news from an older one is ignored.
    pub stream_generation: u64,
    /// A list load is in flight; changes meanwhile queue one more.
    pub loading: bool,
    pub reload_queued: bool,
    /// The search and tag as they were when the search or tag prompt opened: Esc puts
    /// them back (the prompts filter as you type).
    pub filter_before: (String, Option<String>),
    /// How far the detail pane is scrolled, and for which task (another task starts at
    /// the top).
    pub detail_scroll: (i64, u16),
    /// The selected task as a single-task answer (with its notes): shown in the detail
    /// pane while its version is the one listed.
    pub detail: Option<Task>,
    /// The task and version whose whole answer is being fetched (asked once).
    pub detail_asked: Option<(i64, i64)>,
    /// The list comes from the local copy (the server is away, or not asked yet).
    pub local: Option<LocalState>,
    /// The task screen's keys (also the account list's): the defaults, changed by `[tui.keys]`.
    pub keys: crate::keymap::KeyMap,
    pub theme: todo_client::config::Theme,
    /// Whether mouse events act (`tui.mouse`).
    pub mouse: bool,
    /// A problem found before the start (a wrong config entry): shown once signed in,
    /// in place of the greeting, until another message replaces it.
    pub startup_warning: Option<String>,
    /// A task to select once the list loads (the one selected when the app last
    /// closed).
    pub select_when_loaded: Option<i64>,
    /// The task last clicked and when: a second click on it soon after edits it.
    pub last_click: Option<(usize, std::time::Instant)>,
    pub quit: bool,
}

impl App {
    /// The selected task's notes, when its whole answer is here and current.
    pub fn selected_notes(&self) -> Option<&[todo_api::Note]> {
        let selected = self.list.selected_task()?;
        self.detail
            .as_ref()
            .filter(|d| d.id == selected.id && d.version == selected.version)
            .and_then(|d| d.notes.as_deref())
    }

    /// Lines the detail pane of the selected task is scrolled by.
    pub fn detail_offset(&self) -> u16 {
        match self.list.selected_task() {
            Some(task) if task.id == self.detail_scroll.0 => self.detail_scroll.1,
            _ => 0,
        }
    }

    pub fn new(server: &str, now: OffsetDateTime, zone: todo_client::due::TimeZone, color: bool) -> App {
        App {
            server: server.to_string(),
            screen: Screen::Connecting,
            popup: None,
            user: None,
            list: TaskList::default(),
            projects: Default::default(),
            message: None,
            busy: 0,
            spinner: 0,
            now,
            zone,
            color,
            kept_form: None,
            live: LiveState::Off,
            stream_generation: 0,
            loading: false,
            reload_queued: false,
            filter_before: (String::new(), None),
            detail_scroll: (0, 0),
            detail: None,
            detail_asked: None,
            local: None,
            keys: crate::keymap::KeyMap::default(),
            theme: todo_client::config::Theme::Default,
            mouse: true,
            last_click: None,
            select_when_loaded: None,
            startup_warning: None,
            quit: false,
        }
    }

    /// Whether the status line shows an error that a success clears (a network one):
    /// a config warning is no failure a reload recovers from, so it stays.
    pub fn shows_passing_error(&self) -> bool {
        self.message
            .as_ref()
            .is_some_and(|m| m.is_error && Some(&m.text) != self.startup_warning.as_ref())
    }

    pub fn local_now(&self) -> OffsetDateTime {
        todo_client::due::in_zone(self.now, &self.zone)
    }
}
