//! The command line, declared with clap. Every subcommand's help ends with an example.

use clap::{Args, Parser, Subcommand};
use todo_api::limits::{DESCRIPTION_MAX, LIST_LIMIT_MAX, TAG_MAX, TAGS_MAX, TITLE_MAX};
use todo_api::{Priority, SortField, SortOrder, StatusFilter};

const EXIT_CODES: &str = "\
Exit codes:
  0  success
  1  error (the server refused the request, bad input, ...)
  2  usage error (unknown flag, bad value)
  3  not found (no such task)
  4  not signed in, or the token was refused
  5  the server cannot be reached

Environment:
  TODO_SERVER             server URL (like --server)
  TODO_TOKEN              an access token to use instead of the stored credentials
  TODO_CREDENTIAL_STORE   auto (default), keyring or file
  NO_COLOR                disables colour (like --no-color)";

/// Manage your tasks on a todo server from the terminal or from scripts.
#[derive(Parser, Debug)]
#[command(name = "todo", version, about, after_help = EXIT_CODES, arg_required_else_help = true)]
pub struct Cli {
    #[command(flatten)]
    pub global: GlobalArgs,
    #[command(subcommand)]
    pub command: Command,
}

#[derive(Args, Debug, Clone)]
pub struct GlobalArgs {
    /// URL of the todo server [default: `server` in config.toml, else http://127.0.0.1:8000]
    #[arg(long, global = true, env = "TODO_SERVER")]
    pub server: Option<String>,
    /// Print machine-readable JSON on stdout (the API's own shapes)
    #[arg(long, global = true)]
    pub json: bool,
    /// Print no confirmations; data and errors only
    #[arg(long, short, global = true)]
    pub quiet: bool,
    /// Never colour the output (NO_COLOR is honoured too)
    #[arg(long, global = true)]
    pub no_color: bool,
    /// Say more: the detail behind one-line messages (why no keyring, for one)
    #[arg(long, short, global = true)]
    pub verbose: bool,
    /// Give up connecting to the server after this long
    #[arg(long, global = true, env = "TODO_CONNECT_TIMEOUT", default_value = "5s", value_parser = humantime::parse_duration)]
    pub connect_timeout: std::time::Duration,
    /// Never answer from the local copy or queue a write: exit 5 when the server cannot
    /// be reached (for scripts that must know a change is on the server)
    #[arg(long, global = true, env = "TODO_ONLINE", value_parser = clap::builder::BoolishValueParser::new())]
    pub online: bool,
    /// Give up on an answer after this long (a frozen server)
    #[arg(long, global = true, env = "TODO_TIMEOUT", default_value = "30s", value_parser = humantime::parse_duration)]
    pub timeout: std::time::Duration,
}

#[derive(Subcommand, Debug)]
pub enum Command {
    /// Sign up, sign in, sign out, and inspect the stored credentials
    #[command(
        subcommand,
        after_help = "Example:\n  todo auth signin --email ann@example.com && todo auth status"
    )]
    Auth(AuthCommand),
    #[command(flatten)]
    Task(TaskCommand),
    /// Projects shared with other people: make, share, list members, change roles
    #[command(
        subcommand,
        after_help = "Examples:\n  todo project add Household\n  todo project share Household sam@example.com --role editor\n  todo add Buy milk --project Household"
    )]
    Project(ProjectCommand),
    /// Invitations to projects: list them, accept or decline one
    #[command(after_help = "Examples:\n  todo invitations\n  todo invitations accept 3f2a")]
    Invitations {
        #[command(subcommand)]
        command: Option<InvitationCommand>,
    },
    /// Your tasks with a due date in a calendar app: feeds to subscribe to
    #[command(
        subcommand,
        after_help = "Examples:\n  todo calendar feed create phone   (subscribe to the printed address)\n  todo calendar feed list\n  todo calendar feed revoke 3f2a"
    )]
    Calendar(CalendarCommand),
    /// Send the changes made while the server could not be reached, and bring the local
    /// copy up to date (exit 6 if a queued change conflicts: see `todo conflicts`)
    #[command(after_help = "Examples:\n  todo sync\n  todo sync --status")]
    Sync {
        /// Only say what is queued and how old the local copy is (no network)
        #[arg(long)]
        status: bool,
    },
    /// Queued changes the server refused because the task changed meanwhile (or went):
    /// list them, or keep yours or theirs
    #[command(
        after_help = "Examples:\n  todo conflicts\n  todo conflicts resolve 3 --keep mine\n  todo conflicts resolve 3 --keep theirs"
    )]
    Conflicts {
        #[command(subcommand)]
        command: Option<ConflictCommand>,
    },
    /// Undo your latest change (from any client); repeat to walk back
    #[command(after_help = "Example:\n  todo rm 12 --yes && todo undo")]
    Undo,
    /// Show the history of a task: each change with what it changed
    #[command(after_help = "Example:\n  todo log 12")]
    Log(IdArg),
    /// Print your changes as they happen (from any client) until interrupted
    #[command(after_help = "Examples:\n  todo watch\n  todo watch --json | jq -c .task.title")]
    Watch,
    /// Write man pages: todo(1) on stdout, or with --dir one page per command there
    #[command(after_help = "Examples:\n  todo man | man -l -\n  todo man --dir ~/.local/share/man/man1")]
    Man {
        /// Folder to write todo.1 and todo-<command>.1 into
        #[arg(long)]
        dir: Option<std::path::PathBuf>,
    },
    /// Write every task to stdout, as JSON (the API's own shape) or CSV
    #[command(after_help = "Examples:\n  todo export > tasks.json\n  todo export --format csv > tasks.csv")]
    Export {
        #[arg(long, value_enum, default_value = "json")]
        format: ExportFormat,
    },
    /// Add tasks from a file: a `todo export`, or Taskwarrior's `task export`; a task
    /// imported before is not added again
    #[command(
        after_help = "Examples:\n  task export > tw.json && todo import tw.json --dry-run && todo import tw.json\n  todo export | todo import -   (onto another server: --server)"
    )]
    Import {
        /// The JSON file (- reads stdin)
        file: String,
        /// Check the file and say what would happen; change nothing
        #[arg(long)]
        dry_run: bool,
    },
    /// Read and change the settings in config.toml (shared with todo-tui)
    #[command(
        subcommand,
        after_help = "Examples:\n  todo config list\n  todo config set list.sort due\n  todo config get server"
    )]
    Config(ConfigCommand),
    /// Print a shell completion script (flags and commands; for task ids and tags from
    /// the server too, use `source <(COMPLETE=bash todo)` instead)
    #[command(
        after_help = "Examples:\n  todo completions bash > ~/.local/share/bash-completion/completions/todo\n  echo 'source <(COMPLETE=bash todo)' >> ~/.bashrc   # with task ids and tags"
    )]
    Completions {
        #[arg(value_enum)]
        shell: clap_complete::Shell,
    },
}

/// The task commands (`todo add`, `list`, ...), at the top level of `todo`.
#[derive(Subcommand, Debug, Clone)]
pub enum TaskCommand {
    /// Add a task
    #[command(
        after_help = "Examples:\n  todo add Buy milk +home --priority high --due tomorrow\n  todo add \"File taxes\" --due \"friday 17:00\" --tag money"
    )]
    Add(AddArgs),
    /// List tasks as a table (or JSON with --json)
    #[command(after_help = "Example:\n  todo list --status pending --sort due --order asc --tag work")]
    List(ListArgs),
    /// How many tasks a filter matches (pending ones unless it says status:), for shell
    /// prompts and scripts: one number on stdout
    #[command(
        after_help = "Examples:\n  todo count\n  todo count +work overdue\n  todo count status:completed due.after:today"
    )]
    Count {
        /// Filter words, as `todo list` takes them
        #[arg(value_name = "FILTER", allow_hyphen_values = true, value_parser = filter_word)]
        filter: Vec<String>,
    },
    /// What to do next: the most urgent tasks that can start now (pending, not waiting,
    /// nothing they wait for still pending), overdue first, then by due date and priority
    #[command(after_help = "Examples:\n  todo next\n  todo next -n 1 --json | jq -r '.[0].title'")]
    Next {
        /// How many to show
        #[arg(short = 'n', long, default_value_t = 5)]
        count: u32,
        /// Only this project's tasks (its name or id start), or `none` for personal ones
        #[arg(long)]
        project: Option<String>,
    },
    /// Show one task in full
    #[command(after_help = "Example:\n  todo show 12")]
    Show(IdArg),
    /// Change a task; fields not given stay as they are
    #[command(
        after_help = "Examples:\n  todo edit 12 --title \"Buy oat milk\" --no-due\n  todo edit 12 +urgent -someday"
    )]
    Edit(EditArgs),
    /// Mark tasks completed (doing it twice is fine)
    #[command(after_help = "Examples:\n  todo done 12\n  todo done 3 4 7-9")]
    Done(IdsArg),
    /// Mark tasks pending again (doing it twice is fine)
    #[command(after_help = "Example:\n  todo undone 12 13")]
    Undone(IdsArg),
    /// Add a note to a task (a comment kept with it over time), or delete one of yours
    #[command(
        after_help = "Examples:\n  todo note 12 Called the plumber, no answer\n  git log -1 --format=%B | todo note 12 -\n  todo note 12 --delete 3f2a   (the start of a note's id, from todo show 12)"
    )]
    Note(NoteArgs),
    /// Delete tasks; asks first on a terminal unless --yes
    #[command(after_help = "Examples:\n  todo rm 12 --yes\n  todo rm 3,4 10-12 --yes")]
    Rm(RmArgs),
}

/// `todo project ...`. PROJECT is a project's name (any case) or the start of its id.
#[derive(Subcommand, Debug)]
pub enum ProjectCommand {
    /// Your projects, with your role and how many members each has
    List,
    /// Make a project; you own it
    #[command(after_help = "Example:\n  todo project add \"Trip to Lisbon\"")]
    Add {
        /// 1 to 100 characters, unique among your projects (any case)
        name: String,
    },
    /// Rename a project (admins and the owner)
    Rename { project: String, name: String },
    /// Delete a project and its tasks, for every member (the owner only)
    Rm {
        project: String,
        /// Delete it: the tasks go for every member
        #[arg(long, short)]
        yes: bool,
    },
    /// A project and its members
    Show { project: String },
    /// A project's members and their roles
    Members { project: String },
    /// Invite someone by email (they need not have an account yet)
    #[command(after_help = "Example:\n  todo project share Household sam@example.com --role viewer")]
    Share {
        project: String,
        email: String,
        /// viewer (reads), editor (writes tasks) or admin (also manages members)
        #[arg(long, value_enum, default_value = "editor")]
        role: todo_api::Role,
    },
    /// Give a member another role
    Role {
        project: String,
        email: String,
        #[arg(value_enum)]
        role: todo_api::Role,
    },
    /// Remove a member
    Remove { project: String, email: String },
    /// Leave a project (the owner hands it over first)
    Leave { project: String },
    /// Hand a project over to a member; you become an admin
    Transfer { project: String, email: String },
}

/// `todo invitations ...`; ID is the start of an invitation's id.
#[derive(Subcommand, Debug)]
pub enum InvitationCommand {
    /// Open invitations to you (the default)
    List,
    /// Join the project as the invitation says
    Accept { id: String },
    /// Say no; the invitation goes
    Decline { id: String },
}

#[derive(clap::ValueEnum, Clone, Copy, Debug, PartialEq, Eq)]
pub enum ExportFormat {
    Json,
    Csv,
}

#[derive(Subcommand, Debug)]
pub enum ConfigCommand {
    /// Every setting, its value and what it takes
    List,
    /// One setting's value (nothing when unset)
    Get {
        /// server, color, list.status or list.sort
        key: String,
    },
    /// Change one setting (the rest of the file, comments too, stays)
    Set {
        /// server, color, list.status or list.sort
        key: String,
        value: String,
    },
    /// Where the file is
    Path,
}

#[derive(Subcommand, Debug)]
pub enum SessionsCommand {
    /// End one session (its tokens stop working at once)
    Revoke {
        /// The session id, or its first characters as `todo auth sessions` shows them
        id: String,
    },
}

#[derive(Subcommand, Debug)]
pub enum AuthCommand {
    /// Create an account and sign in
    #[command(after_help = "Examples:\n  todo auth signup --email ann@example.com\n  \
                            printf '%s\\n' \"$PASSWORD\" | todo auth signup --email ann@example.com --password-stdin")]
    Signup(SignupOptions),
    /// Sign in and store the tokens (asks for a code when two-factor sign-in is on)
    #[command(
        after_help = "Examples:\n  todo auth signin --email ann@example.com\n  printf '%s\\n%s\\n' \"$PW\" \"$CODE\" | todo auth signin --email ann@example.com --password-stdin"
    )]
    Signin(SigninOptions),
    /// Two-factor sign-in with an authenticator app (TOTP)
    #[command(name = "2fa", subcommand)]
    TwoFactor(TwoFactorCommand),
    /// Sign out and forget the stored tokens; another account signed in on this server,
    /// if any, is used from then on
    #[command(after_help = "Example:\n  todo auth signout --all")]
    Signout {
        /// Sign out every session of this account, on every device
        #[arg(long)]
        all: bool,
    },
    /// Use another account signed in on this server (each keeps its own tokens)
    #[command(
        after_help = "Examples:\n  todo auth switch bob@example.com\n  todo auth switch          # the other one, when two are signed in"
    )]
    Switch(SwitchOptions),
    /// Show the server, the user, the token expiry and where credentials are stored;
    /// exits 4 when not signed in
    #[command(after_help = "Example:\n  todo auth status --json")]
    Status,
    /// Change your password (every other session of the account is signed out)
    #[command(
        after_help = "Examples:\n  todo auth password\n  printf '%s\\n%s\\n' \"$OLD\" \"$NEW\" | todo auth password --password-stdin"
    )]
    Password {
        /// Read the current password, then the new one, from the first two lines of stdin
        #[arg(long)]
        password_stdin: bool,
    },
    /// Delete your account with all its tasks, for good (asks first on a terminal)
    #[command(
        name = "delete-account",
        after_help = "Examples:\n  todo auth delete-account\n  printf '%s\\n' \"$PW\" | todo auth delete-account --password-stdin --yes"
    )]
    DeleteAccount(DeleteAccountOptions),
    /// Change your account's email (asks for the password)
    #[command(
        after_help = "Examples:\n  todo auth email ann@new.example\n  printf '%s\\n' \"$PW\" | todo auth email ann@new.example --password-stdin"
    )]
    Email(EmailOptions),
    /// Your account's security events, newest first: sign-ins (and failed ones),
    /// sign-outs, password and email changes, ended sessions, admin actions
    #[command(after_help = "Examples:\n  todo auth activity\n  todo auth activity -n 5 --json")]
    Activity {
        /// Show at most this many (all kept ones, 90 days at least, by default)
        #[arg(long, short = 'n')]
        limit: Option<usize>,
    },
    /// Set a new password with a one-time token from the server's administrator
    /// (`todo-server users reset-password EMAIL`); every session of the account ends
    #[command(
        name = "reset-password",
        after_help = "Examples:\n  todo auth reset-password --token todo_reset_...\n  printf '%s\\n' \"$NEW\" | todo auth reset-password --token \"$T\" --password-stdin"
    )]
    ResetPassword(ResetPasswordOptions),
    /// List where you are signed in, or end one of those sessions
    #[command(after_help = "Examples:\n  todo auth sessions\n  todo auth sessions revoke 3f2a9c1e")]
    Sessions {
        #[command(subcommand)]
        command: Option<SessionsCommand>,
    },
    /// Print a valid access token (refreshed if needed), or manage personal access
    /// tokens for scripts and CI
    #[command(
        after_help = "Examples:\n  curl -H \"Authorization: Bearer $(todo auth token)\" http://127.0.0.1:8000/api/auth/session\n  \
                      todo auth token create --name ci --scope tasks:read --expires 30d\n  \
                      TODO_TOKEN=todo_pat_... todo list"
    )]
    Token {
        #[command(subcommand)]
        command: Option<TokenCommand>,
    },
}

/// The options of `todo auth signup`.
#[derive(Args, Debug, Clone)]
pub struct SignupOptions {
    #[arg(long)]
    pub email: String,
    /// Display name
    #[arg(long)]
    pub name: Option<String>,
    /// Read the password from the first line of stdin instead of prompting
    #[arg(long)]
    pub password_stdin: bool,
}

/// The options of `todo auth signin`.
#[derive(Args, Debug, Clone)]
pub struct SigninOptions {
    #[arg(long, required_unless_present = "with_token", default_value = "")]
    pub email: String,
    /// Read a JWT from a trusted issuer (Better Auth, an OpenID provider) on stdin and
    /// trade it for a session of this server (as `gh auth login --with-token`)
    #[arg(long, conflicts_with_all = ["password_stdin", "code"])]
    pub with_token: bool,
    /// Read the password from the first line of stdin instead of prompting (and the
    /// two-factor code, when asked for, from the second)
    #[arg(long)]
    pub password_stdin: bool,
    /// The two-factor code (TOTP or recovery code), when the account asks for one
    #[arg(long)]
    pub code: Option<String>,
}

/// The options of `todo auth delete-account`.
#[derive(Args, Debug, Clone)]
pub struct DeleteAccountOptions {
    /// Read the password from the first line of stdin
    #[arg(long)]
    pub password_stdin: bool,
    /// Do not ask for confirmation (needed without a terminal)
    #[arg(long, short)]
    pub yes: bool,
}

/// The options of `todo auth email`.
#[derive(Args, Debug, Clone)]
pub struct EmailOptions {
    /// The new address
    pub new_email: String,
    /// Read the password from the first line of stdin
    #[arg(long)]
    pub password_stdin: bool,
}

/// The options of `todo auth reset-password`.
#[derive(Args, Debug, Clone)]
pub struct ResetPasswordOptions {
    /// The token the administrator gave you
    #[arg(long)]
    pub token: String,
    /// Read the new password from the first line of stdin instead of prompting
    #[arg(long)]
    pub password_stdin: bool,
}

/// The options of `todo auth switch`.
#[derive(Args, Debug, Clone)]
pub struct SwitchOptions {
    /// The account's email (or the start of its id); leave it out to take the other
    /// of two
    #[arg(add = crate::complete::accounts())]
    pub account: Option<String>,
}

#[derive(Subcommand, Debug)]
pub enum TwoFactorCommand {
    /// Set it up and turn it on: asks for the password, shows a QR code and the secret
    /// for your app, and the recovery codes, then asks for a code (with --code: turns on
    /// the last setup)
    #[command(
        after_help = "Examples:\n  todo auth 2fa enable\n  todo auth 2fa setup --json && printf '%s\\n' \"$PW\" | todo auth 2fa enable --code 123456 --password-stdin"
    )]
    Enable {
        /// A code from the app for the setup made by `todo auth 2fa setup`
        #[arg(long)]
        code: Option<String>,
        /// Read the password from the first line of stdin (with --code)
        #[arg(long, requires = "code")]
        password_stdin: bool,
    },
    /// Only make the secret and recovery codes (for scripts; then `enable --code`)
    Setup,
    /// Turn it off (asks for the password and a code)
    Disable {
        /// A TOTP or recovery code
        #[arg(long)]
        code: Option<String>,
        /// Read the password from the first line of stdin
        #[arg(long)]
        password_stdin: bool,
    },
}

#[derive(Subcommand, Debug)]
pub enum CalendarCommand {
    /// Calendar feeds: read-only addresses a calendar app subscribes to
    #[command(subcommand)]
    Feed(FeedCommand),
}

#[derive(Subcommand, Debug)]
pub enum FeedCommand {
    /// Make a feed; prints its address once (only the address, for `$(...)`)
    Create {
        /// To tell your feeds apart: phone, laptop, ...
        name: String,
    },
    /// List your feeds (never their addresses)
    List,
    /// Revoke a feed (its address answers 404 at once)
    Revoke {
        /// The feed's id, or its first characters as `todo calendar feed list` shows them
        id: String,
    },
}

#[derive(Subcommand, Debug)]
pub enum TokenCommand {
    /// Make a personal access token; prints it once (only the token, for `$(...)`)
    Create {
        /// To tell your tokens apart: ci, backup, ...
        #[arg(long)]
        name: String,
        /// tasks:read or tasks:write (which implies read); repeat for more
        #[arg(long = "scope", required = true, value_parser = parse_scope)]
        scopes: Vec<todo_api::TokenScope>,
        /// How long it works: 30d, 12w, 1y (at most 366 days), or never
        #[arg(long, default_value = "90d", value_parser = parse_expiry)]
        expires: Expiry,
    },
    /// List your personal access tokens (never their secrets)
    List,
    /// Revoke a personal access token (refused at once)
    Revoke {
        /// The token's id, or its first characters as `todo auth token list` shows them
        id: String,
    },
}

/// `--expires`: days, or no expiry.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Expiry {
    Days(u32),
    Never,
}

fn parse_scope(text: &str) -> Result<todo_api::TokenScope, String> {
    todo_api::TokenScope::parse(text.trim())
        .ok_or_else(|| format!("{text:?} is not a scope: use tasks:read or tasks:write"))
}

fn parse_expiry(text: &str) -> Result<Expiry, String> {
    let text = text.trim().to_ascii_lowercase();
    if text == "never" {
        return Ok(Expiry::Never);
    }
    let max = todo_api::limits::TOKEN_DAYS_MAX;
    let bad = || format!("{text:?} is not a lifetime: use 30d, 12w, 1y (at most {max} days) or never");
    let (number, unit) = text.split_at(text.find(|c: char| !c.is_ascii_digit()).unwrap_or(text.len()));
    let n: u32 = number.parse().map_err(|_| bad())?;
    let days = match unit {
        "d" | "" => n,
        "w" => n.saturating_mul(7),
        "y" => n.saturating_mul(365),
        _ => return Err(bad()),
    };
    if days == 0 || days > max {
        return Err(bad());
    }
    Ok(Expiry::Days(days))
}

#[derive(Args, Debug, Clone)]
pub struct AddArgs {
    #[arg(required = true, num_args = 1.., help = format!("The task's title (1 to {TITLE_MAX} characters); the words after `add` form it, and words such as +home are tags"))]
    pub title: Vec<String>,
    #[arg(long, short, help = format!("Longer notes (up to {DESCRIPTION_MAX} characters)"))]
    pub description: Option<String>,
    /// low, medium or high (l, m, med, h; any case)
    #[arg(long, short, value_enum, ignore_case = true)]
    pub priority: Option<Priority>,
    /// When it is due, in local time: 2030-01-31, "2030-01-31 17:00", today, tomorrow,
    /// friday, "next friday", eow, eom, "tomorrow 9am", 17:00, +3d, -1d, +2w, "in 3 days",
    /// or RFC 3339
    #[arg(long, value_parser = parse_due_arg, allow_hyphen_values = true)]
    pub due: Option<time::OffsetDateTime>,
    #[arg(long = "tag", short, help = format!("A tag of up to {TAG_MAX} characters; repeat for more (up to {TAGS_MAX})"))]
    pub tags: Vec<String>,
    /// Add it to this project (its name or id start) instead of your personal tasks;
    /// `project:NAME` among the words does the same
    #[arg(long)]
    pub project: Option<String>,
    /// Repeat it (needs --due; completing it adds the next): daily, weekdays, weekly,
    /// monthly, yearly, "every 2 weeks", "every monday,wednesday", or an RRULE such as
    /// FREQ=MONTHLY;BYMONTHDAY=31. It follows your time zone across daylight saving
    #[arg(long, value_parser = todo_client::recur::parse_recur, requires = "due")]
    pub recur: Option<String>,
    /// Make it a subtask of this task (one in the same project, or both personal)
    #[arg(long, value_name = "ID")]
    pub parent: Option<i64>,
    /// Hide it from lists until then (same forms as --due): `todo list --status waiting`
    /// shows it meanwhile
    #[arg(long, value_parser = parse_due_arg, allow_hyphen_values = true)]
    pub wait: Option<time::OffsetDateTime>,
    /// A reminder: a while before the due date (30m, 2h, 1d, 1w, or ISO 8601 such as
    /// PT1H30M) or at a moment (same forms as --due); open streams (todo watch, the TUI)
    /// show it when it fires
    #[arg(long, value_parser = parse_remind_arg, allow_hyphen_values = true)]
    pub remind: Option<todo_client::recur::Remind>,
    /// It waits for these tasks (ids: 3,4 or 3 4); `todo list --status unblocked` shows
    /// what can start
    #[arg(long, value_delimiter = ',', num_args = 1.., value_name = "IDS")]
    pub depends: Vec<i64>,
}

fn parse_remind_arg(text: &str) -> Result<todo_client::recur::Remind, String> {
    todo_client::recur::parse_remind(text, crate::output::local_now())
}

#[derive(Args, Debug, Clone)]
pub struct ListArgs {
    /// Which tasks [default: pending]
    #[arg(long, value_enum)]
    pub status: Option<StatusFilter>,
    /// Pending and completed tasks (same as --status all)
    #[arg(long, short, conflicts_with_all = ["status", "completed"])]
    pub all: bool,
    /// Only completed tasks (same as --status completed)
    #[arg(long, conflicts_with = "status")]
    pub completed: bool,
    /// Search title and description
    #[arg(long, short)]
    pub search: Option<String>,
    /// Only tasks with this tag (any case; #work works too); repeat for tasks with all of them
    #[arg(long = "tag", short, add = crate::complete::tags())]
    pub tags: Vec<String>,
    /// low, medium or high (l, m, med, h; any case)
    #[arg(long, short, value_enum, ignore_case = true)]
    pub priority: Option<Priority>,
    /// How to sort [default: urgency: overdue, then due soonest, then priority, then newest]
    #[arg(long, value_enum)]
    pub sort: Option<SortField>,
    /// Against the sort's natural direction (asc or desc)
    #[arg(long, value_enum)]
    pub order: Option<SortOrder>,
    #[arg(
        long,
        short = 'n',
        help = format!("At most this many tasks (1 to {LIST_LIMIT_MAX}) [default: all of them]"),
        value_parser = clap::value_parser!(u32).range(1..=i64::from(LIST_LIMIT_MAX))
    )]
    pub limit: Option<u32>,
    /// Skip this many tasks first
    #[arg(long)]
    pub offset: Option<u32>,
    /// Only this project's tasks (its name or id start), or `none` for personal ones
    #[arg(long)]
    pub project: Option<String>,
    /// Only the subtasks of this task, or `none` for tasks that are no one's subtask
    #[arg(long, value_name = "ID|none")]
    pub parent: Option<String>,
    /// Taskwarrior's filter words: +tag -tag project:NAME priority:H status:completed
    /// due.before:eow due.after:today overdue, and words to search for (every one must
    /// match)
    #[arg(value_name = "FILTER", allow_hyphen_values = true, value_parser = filter_word)]
    pub filter: Vec<String>,
}

#[derive(Args, Debug, Clone)]
pub struct NoteArgs {
    /// The task id (see `todo list`)
    #[arg(add = crate::complete::task_ids())]
    pub id: i64,
    /// The note's words (- reads the whole of stdin, line breaks kept)
    #[arg(required_unless_present = "delete", conflicts_with = "delete")]
    pub text: Vec<String>,
    /// Delete the note whose id starts with this (one of yours)
    #[arg(long, value_name = "NOTE")]
    pub delete: Option<String>,
}

#[derive(Args, Debug, Clone)]
pub struct IdArg {
    /// The task id (see `todo list`)
    #[arg(add = crate::complete::task_ids())]
    pub id: i64,
}

/// Most ids one command takes (a range such as `1-100000` is refused, not expanded).
pub const IDS_MAX: usize = 500;

#[derive(Args, Debug, Clone)]
pub struct IdsArg {
    /// Task ids (see `todo list`): `3 4`, `3,4`, ranges `7-9`
    #[arg(required = true, num_args = 1.., value_parser = parse_ids, add = crate::complete::task_ids())]
    ids: Vec<Vec<i64>>,
}

impl IdsArg {
    /// Every id once, in the order given.
    pub fn ids(&self) -> Vec<i64> {
        let mut seen = std::collections::HashSet::new();
        self.ids
            .iter()
            .flatten()
            .copied()
            .filter(|id| seen.insert(*id))
            .collect()
    }
}

/// `3`, `3,4`, `7-9` (and mixes: `1,3-5`).
fn parse_ids(text: &str) -> Result<Vec<i64>, String> {
    let mut ids = Vec::new();
    for part in text.split(',').map(str::trim).filter(|p| !p.is_empty()) {
        let number =
            |s: &str| {
                s.trim().parse::<i64>().ok().filter(|n| *n > 0).ok_or_else(|| {
                    format!("{s:?} is not a task id (a positive number, or a range such as 7-9)")
                })
            };
        match part.split_once('-') {
            Some((from, to)) => {
                let (from, to) = (number(from)?, number(to)?);
                if from > to {
                    return Err(format!("the range {part} runs backwards"));
                }
                if (to - from) as usize >= IDS_MAX {
                    return Err(format!("the range {part} is longer than {IDS_MAX} ids"));
                }
                ids.extend(from..=to);
            }
            None => ids.push(number(part)?),
        }
    }
    if ids.is_empty() {
        return Err("give a task id".into());
    }
    Ok(ids)
}

#[derive(Args, Debug, Clone)]
pub struct RmArgs {
    #[command(flatten)]
    pub ids: IdsArg,
    /// Do not ask for confirmation
    #[arg(long, short)]
    pub yes: bool,
}

#[derive(Args, Debug, Clone)]
pub struct EditArgs {
    /// The task id (see `todo list`)
    #[arg(add = crate::complete::task_ids())]
    pub id: i64,
    /// Tag changes: +tag adds a tag, -tag removes one (the other tags stay)
    #[arg(allow_hyphen_values = true, value_name = "+TAG|-TAG")]
    pub tag_changes: Vec<String>,
    #[arg(long, help = format!("New title (1 to {TITLE_MAX} characters)"))]
    pub title: Option<String>,
    #[arg(long, short, help = format!("New description (up to {DESCRIPTION_MAX} characters)"))]
    pub description: Option<String>,
    /// low, medium or high (l, m, med, h; any case)
    #[arg(long, short, value_enum, ignore_case = true)]
    pub priority: Option<Priority>,
    /// New due date (same forms as `todo add --due`)
    #[arg(long, value_parser = parse_due_arg, allow_hyphen_values = true, conflicts_with = "no_due")]
    pub due: Option<time::OffsetDateTime>,
    /// Remove the due date
    #[arg(long)]
    pub no_due: bool,
    #[arg(
        long = "tag",
        short,
        conflicts_with = "no_tags",
        help = format!("Replace the tags with these; repeat for more (up to {TAGS_MAX})")
    )]
    pub tags: Vec<String>,
    /// Remove every tag
    #[arg(long)]
    pub no_tags: bool,
    /// Make it a subtask of this task
    #[arg(long, value_name = "ID", conflicts_with = "no_parent")]
    pub parent: Option<i64>,
    /// Make it a task of its own again (no longer a subtask)
    #[arg(long)]
    pub no_parent: bool,
    /// Replace what it waits for with these tasks (ids: 3,4)
    #[arg(long, value_delimiter = ',', num_args = 1.., value_name = "IDS", conflicts_with = "no_depends")]
    pub depends: Vec<i64>,
    /// It waits for nothing
    #[arg(long)]
    pub no_depends: bool,
}

fn parse_due_arg(text: &str) -> Result<time::OffsetDateTime, String> {
    todo_client::due::parse_due(text, crate::output::local_now())
}

#[derive(Subcommand, Debug)]
pub enum ConflictCommand {
    /// Decide a conflict: `mine` sends your change again over theirs, `theirs` drops it
    Resolve {
        /// The conflict's number (from `todo conflicts`)
        n: i64,
        #[arg(long, value_enum)]
        keep: Keep,
    },
}

#[derive(clap::ValueEnum, Debug, Clone, Copy, PartialEq, Eq)]
pub enum Keep {
    Mine,
    Theirs,
}

/// A filter word; a flag among them (an unknown one, or one after the first filter word)
/// is refused here, with clap's explanation, rather than searched for.
fn filter_word(word: &str) -> Result<String, String> {
    if word.starts_with("--") || (word.len() == 2 && word.starts_with('-')) {
        return Err(format!(
            "{word} is a flag, not a filter word: flags go before the filter words (todo list --json +work -home)"
        ));
    }
    Ok(word.to_string())
}
