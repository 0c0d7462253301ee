//! Where a signed-in user's tokens live: the OS keyring (Secret Service, Keychain,
//! Credential Manager) through the `keyring` crate, or, where no keyring can be reached,
//! a 0600 file in the config folder. The fallback is never silent: [`CredentialStore::
//! fallback_reason`] says why, and the clients print it.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};
use time::OffsetDateTime;
use todo_api::{Secret, TokenResponse, User};

use uuid::Uuid;

use crate::ClientError;

mod accounts;
mod private_file;

pub use accounts::Account;
use accounts::AccountIndex;
pub(crate) use private_file::lock_file;

const KEYRING_SERVICE: &str = "todo";
/// `auto` (default), `keyring` or `file`.
pub const STORE_ENV: &str = "TODO_CREDENTIAL_STORE";

/// One server's credentials. The tokens are [`Secret`]s: a debug print never shows them.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Credentials {
    pub server: String,
    pub user: User,
    pub access_token: Secret,
    pub refresh_token: Secret,
    #[serde(with = "time::serde::rfc3339")]
    pub expires_at: OffsetDateTime,
}

impl Credentials {
    pub fn from_tokens(server: &str, tokens: TokenResponse, now: OffsetDateTime) -> Credentials {
        Credentials {
            server: server.to_string(),
            user: tokens.user,
            access_token: tokens.access_token,
            refresh_token: tokens.refresh_token,
            expires_at: now + time::Duration::seconds(tokens.expires_in),
        }
    }
}

#[derive(Debug, Clone)]
enum Backend {
    Keyring,
    /// `reason` is one line for people; `detail`, the keyring's own error, for `-v`.
    File {
        path: PathBuf,
        reason: String,
        detail: Option<String>,
    },
}

#[derive(Debug, Clone)]
pub struct CredentialStore {
    backend: Backend,
    config_dir: PathBuf,
}

/// The config folder: `$XDG_CONFIG_HOME/todo` on Linux.
pub fn config_dir() -> PathBuf {
    directories::ProjectDirs::from("", "", "todo")
        .map(|d| d.config_dir().to_path_buf())
        .unwrap_or_else(|| PathBuf::from(".todo"))
}

/// The accounts signed in on this machine, without opening the keyring (the list of
/// accounts is kept beside it, with no secret in it).
pub fn signed_in_accounts() -> Result<Vec<Account>, ClientError> {
    let index: AccountIndex = private_file::read_json(&config_dir().join(INDEX_FILE), INDEX_KIND)?;
    Ok(index.list())
}

const INDEX_FILE: &str = "accounts.json";
const INDEX_KIND: &str = "an accounts file";

fn keyring_error(e: keyring::Error) -> ClientError {
    ClientError::Credentials(format!("OS keyring: {e}"))
}

/// Why the OS keyring cannot be used: a line for people, and the keyring's own error.
struct NoKeyring {
    reason: &'static str,
    detail: String,
}

impl NoKeyring {
    fn from(e: keyring::Error) -> NoKeyring {
        let reason = match &e {
            keyring::Error::PlatformFailure(_) => {
                "no OS keyring answers here (no Secret Service on the session bus)"
            }
            keyring::Error::NoStorageAccess(_) => "the OS keyring refused access (locked?)",
            _ => "the OS keyring failed",
        };
        NoKeyring {
            reason,
            detail: e.to_string(),
        }
    }
}

/// Whether the OS keyring answers; `Err` says why it does not.
fn probe_keyring() -> Result<(), NoKeyring> {
    if let Err(e) = keyring::Entry::store_status() {
        return Err(NoKeyring {
            reason: "no OS keyring answers here (no Secret Service on the session bus)",
            detail: e.to_string(),
        });
    }
    let entry = keyring::Entry::new(KEYRING_SERVICE, "availability-probe").map_err(NoKeyring::from)?;
    match entry.get_password() {
        Ok(_) | Err(keyring::Error::NoEntry) => Ok(()),
        Err(e) => Err(NoKeyring::from(e)),
    }
}

impl CredentialStore {
    /// Picks the keyring when it answers, else the file, as `TODO_CREDENTIAL_STORE` allows.
    pub fn open() -> Result<CredentialStore, ClientError> {
        let config_dir = config_dir();
        let file = |reason: String, detail: Option<String>| Backend::File {
            path: config_dir.join("credentials.json"),
            reason,
            detail,
        };
        let choice = std::env::var(STORE_ENV).unwrap_or_default();
        let backend = match choice.as_str() {
            "file" => file(format!("{STORE_ENV}=file"), None),
            "keyring" => {
                probe_keyring().map_err(|e| {
                    ClientError::Credentials(format!("{STORE_ENV}=keyring, but {} ({})", e.reason, e.detail))
                })?;
                Backend::Keyring
            }
            "" | "auto" => match probe_keyring() {
                Ok(()) => Backend::Keyring,
                Err(no) => file(no.reason.to_string(), Some(no.detail)),
            },
            other => {
                return Err(ClientError::Credentials(format!(
                    "{STORE_ENV}={other} is not one of auto, keyring, file"
                )));
            }
        };
        Ok(CredentialStore { backend, config_dir })
    }

    /// A file store in `dir`, for tests and for machines without a keyring.
    pub fn file_in(dir: &Path) -> CredentialStore {
        CredentialStore {
            backend: Backend::File {
                path: dir.join("credentials.json"),
                reason: "file store requested".into(),
                detail: None,
            },
            config_dir: dir.to_path_buf(),
        }
    }

    /// Where credentials are kept, for `auth status`.
    pub fn location(&self) -> String {
        match &self.backend {
            Backend::Keyring => "OS keyring".to_string(),
            Backend::File { path, .. } => format!("file {}", path.display()),
        }
    }

    /// Why the file is used instead of the keyring; `None` when the keyring is used.
    pub fn fallback_reason(&self) -> Option<&str> {
        match &self.backend {
            Backend::Keyring => None,
            Backend::File { reason, .. } => Some(reason),
        }
    }

    /// The keyring's own error behind [`Self::fallback_reason`], for `-v`.
    pub fn fallback_detail(&self) -> Option<&str> {
        match &self.backend {
            Backend::Keyring => None,
            Backend::File { detail, .. } => detail.as_deref(),
        }
    }

    /// A lock file beside the store: refreshes take it so two processes never spend the
    /// same single-use refresh token.
    pub fn lock_path(&self) -> PathBuf {
        self.config_dir.join("refresh.lock")
    }

    pub fn config_dir(&self) -> &Path {
        &self.config_dir
    }

    fn secrets(&self) -> Secrets {
        match &self.backend {
            Backend::Keyring => Secrets::Keyring,
            Backend::File { path, .. } => Secrets::File(path.clone()),
        }
    }

    fn index_path(&self) -> PathBuf {
        self.config_dir.join(INDEX_FILE)
    }

    fn index(&self) -> Result<AccountIndex, ClientError> {
        private_file::read_json(&self.index_path(), INDEX_KIND)
    }

    fn change_index<R>(
        &self,
        change: impl FnOnce(&mut AccountIndex) -> Result<R, ClientError>,
    ) -> Result<R, ClientError> {
        private_file::change_json(&self.index_path(), INDEX_KIND, change)
    }

    /// Every account signed in here, on every server.
    pub fn accounts(&self) -> Result<Vec<Account>, ClientError> {
        Ok(self.index()?.list())
    }

    /// The credentials of the account `server` uses now.
    pub fn load_active(&self, server: &str) -> Result<Option<Credentials>, ClientError> {
        let index = self.index()?;
        match index.active(server) {
            Some(user) => self.load(server, user),
            None if index.has_server(server) => Ok(None),
            None => self.adopt_single_account_entry(server),
        }
    }

    /// Credentials stored before several accounts per server existed were kept under
    /// the server alone: move them under their account, once.
    fn adopt_single_account_entry(&self, server: &str) -> Result<Option<Credentials>, ClientError> {
        let Some(old) = self.secrets().read(server)? else {
            return Ok(None);
        };
        self.save_active(&old)?;
        self.secrets().delete(server)?;
        Ok(Some(old))
    }

    /// The credentials of one account on `server`, whether it is active or not.
    pub fn load(&self, server: &str, user: Uuid) -> Result<Option<Credentials>, ClientError> {
        self.secrets().read(&entry_name(server, user))
    }

    /// Stores refreshed credentials; which account the server uses does not change.
    pub fn save(&self, credentials: &Credentials) -> Result<(), ClientError> {
        self.store(credentials, false)
    }

    /// Stores the credentials of a sign-in and makes that account the server's active
    /// one.
    pub fn save_active(&self, credentials: &Credentials) -> Result<(), ClientError> {
        self.store(credentials, true)
    }

    fn store(&self, credentials: &Credentials, activate: bool) -> Result<(), ClientError> {
        let user = &credentials.user;
        self.secrets()
            .write(&entry_name(&credentials.server, user.id), credentials)?;
        self.change_index(|index| {
            index.upsert(&credentials.server, user.id, &user.email, activate);
            Ok(())
        })
    }

    /// Makes the account `wanted` names (its email or the start of its id; the other
    /// of two when `None`) the one `server` uses, and returns it.
    pub fn switch(&self, server: &str, wanted: Option<&str>) -> Result<Account, ClientError> {
        self.change_index(|index| {
            let user = index.choose(server, wanted)?;
            let email = index
                .list()
                .into_iter()
                .find(|a| a.server == server && a.user_id == user)
                .map(|a| a.email)
                .unwrap_or_default();
            index.upsert(server, user, &email, true);
            Ok(Account {
                server: server.to_string(),
                user_id: user,
                email,
                active: true,
            })
        })
    }

    /// Forgets one account's credentials; returns the account the server uses next,
    /// if another is signed in there.
    pub fn remove(&self, server: &str, user: Uuid) -> Result<Option<Account>, ClientError> {
        self.secrets().delete(&entry_name(server, user))?;
        self.change_index(|index| Ok(index.remove(server, user)))
    }
}

/// The keyring entry (or file key) of one account on one server.
fn entry_name(server: &str, user: Uuid) -> String {
    format!("{server}#{user}")
}

/// Where the secrets themselves are kept: one JSON document per entry name.
#[derive(Debug, Clone)]
enum Secrets {
    Keyring,
    File(PathBuf),
}

impl Secrets {
    fn read(&self, name: &str) -> Result<Option<Credentials>, ClientError> {
        match self {
            Secrets::Keyring => {
                let entry = keyring::Entry::new(KEYRING_SERVICE, name).map_err(keyring_error)?;
                match entry.get_password() {
                    Ok(json) => serde_json::from_str(&json)
                        .map(Some)
                        .map_err(|_| ClientError::Credentials("the keyring entry is not readable".into())),
                    Err(keyring::Error::NoEntry) => Ok(None),
                    Err(e) => Err(keyring_error(e)),
                }
            }
            Secrets::File(path) => Ok(private_file::read_json::<FileContents>(path, FILE_KIND)?.remove(name)),
        }
    }

    fn write(&self, name: &str, credentials: &Credentials) -> Result<(), ClientError> {
        match self {
            Secrets::Keyring => {
                let json = serde_json::to_string(credentials)
                    .map_err(|e| ClientError::Credentials(e.to_string()))?;
                keyring::Entry::new(KEYRING_SERVICE, name)
                    .and_then(|entry| entry.set_password(&json))
                    .map_err(keyring_error)
            }
            Secrets::File(path) => private_file::change_json(path, FILE_KIND, |all: &mut FileContents| {
                all.insert(name.to_string(), credentials.clone());
                Ok(())
            }),
        }
    }

    fn delete(&self, name: &str) -> Result<(), ClientError> {
        match self {
            Secrets::Keyring => {
                let entry = keyring::Entry::new(KEYRING_SERVICE, name).map_err(keyring_error)?;
                match entry.delete_credential() {
                    Ok(()) | Err(keyring::Error::NoEntry) => Ok(()),
                    Err(e) => Err(keyring_error(e)),
                }
            }
            Secrets::File(path) => private_file::change_json(path, FILE_KIND, |all: &mut FileContents| {
                all.remove(name);
                Ok(())
            }),
        }
    }
}

type FileContents = BTreeMap<String, Credentials>;
const FILE_KIND: &str = "a credentials file";

#[cfg(test)]
mod tests {
    use super::*;

    fn sample(server: &str) -> Credentials {
        sample_of(server, "ann@example.com")
    }

    fn sample_of(server: &str, email: &str) -> Credentials {
        Credentials {
            server: server.into(),
            user: User {
                id: uuid::Uuid::new_v4(),
                email: email.into(),
                name: None,
                created_at: OffsetDateTime::UNIX_EPOCH,
            },
            access_token: "secret-access".into(),
            refresh_token: "secret-refresh".into(),
            expires_at: OffsetDateTime::UNIX_EPOCH,
        }
    }

    #[test]
    fn file_store_keeps_each_account_of_each_server_with_mode_0600() {
        let dir = tempfile::tempdir().expect("temp dir");
        let store = CredentialStore::file_in(&dir.path().join("todo"));
        let ann = sample("http://a");
        let bob = sample_of("http://a", "bob@example.com");
        store.save_active(&ann).expect("save ann");
        store.save_active(&bob).expect("save bob");
        store.save_active(&sample("http://b")).expect("save b");
        assert_eq!(store.load_active("http://a").expect("load"), Some(bob.clone()));
        assert_eq!(
            store.load("http://a", ann.user.id).expect("load"),
            Some(ann.clone())
        );

        let next = store.remove("http://a", bob.user.id).expect("remove bob");
        assert_eq!(next.map(|a| a.email), Some(ann.user.email.clone()));
        assert_eq!(store.load_active("http://a").expect("load"), Some(ann.clone()));
        assert_eq!(store.load("http://a", bob.user.id).expect("load"), None);
        assert!(store.load_active("http://b").expect("load").is_some());
        for name in ["credentials.json", "accounts.json"] {
            let text = std::fs::read_to_string(dir.path().join("todo").join(name)).expect("file");
            assert!(!text.contains(&bob.user.id.to_string()), "{name} still names bob");
        }
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt;
            let path = dir.path().join("todo").join("credentials.json");
            assert_eq!(
                std::fs::metadata(&path).expect("file").permissions().mode() & 0o777,
                0o600
            );
            assert_eq!(
                std::fs::metadata(dir.path().join("todo"))
                    .expect("dir")
                    .permissions()
                    .mode()
                    & 0o777,
                0o700
            );
        }
    }

    #[test]
    fn switching_changes_the_active_account_and_keeps_both_signed_in() {
        let dir = tempfile::tempdir().expect("temp dir");
        let store = CredentialStore::file_in(dir.path());
        let ann = sample("http://a");
        let bob = sample_of("http://a", "bob@example.com");
        store.save_active(&ann).expect("save ann");
        store.save_active(&bob).expect("save bob");
        let now = store.switch("http://a", Some("ANN@example.com")).expect("switch");
        assert_eq!(now.user_id, ann.user.id);
        assert_eq!(store.load_active("http://a").expect("load"), Some(ann));
        // A refresh of the other account must not switch back.
        store.save(&bob).expect("refresh bob");
        let active: Vec<String> = store
            .accounts()
            .expect("accounts")
            .into_iter()
            .filter(|a| a.active)
            .map(|a| a.email)
            .collect();
        assert_eq!(active, ["ann@example.com"]);
    }

    #[test]
    fn an_entry_from_before_several_accounts_is_adopted_once() {
        let dir = tempfile::tempdir().expect("temp dir");
        let store = CredentialStore::file_in(dir.path());
        let old = sample("http://a");
        let mut legacy = FileContents::new();
        legacy.insert("http://a".into(), old.clone());
        private_file::write_json(&dir.path().join("credentials.json"), &legacy).expect("write");
        assert_eq!(store.load_active("http://a").expect("load"), Some(old.clone()));
        let text = std::fs::read_to_string(dir.path().join("credentials.json")).expect("file");
        assert!(text.contains(&entry_name("http://a", old.user.id)), "{text}");
        assert!(!text.contains("\"http://a\":"), "{text}");
        assert_eq!(store.accounts().expect("accounts").len(), 1);
    }

    #[test]
    fn debug_output_never_shows_tokens() {
        let shown = format!("{:?}", sample("http://a"));
        assert!(
            !shown.contains("secret-access") && !shown.contains("secret-refresh"),
            "{shown}"
        );
    }
}
