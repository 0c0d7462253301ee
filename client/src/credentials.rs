//! Where a signed-in user's tokens live: the OS keyring (Secret Service, Keychain,
//! Credential Manager) through the `keyring` crate, or, where no keyring can be reached,
//! a 0600 file in the config folder. The fallback is never silent: [`CredentialStore::
//! fallback_reason`] says why, and the clients print it.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};
use time::OffsetDateTime;
use todo_api::{Secret, TokenResponse, User};

use crate::ClientError;

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

    pub fn load(&self, server: &str) -> Result<Option<Credentials>, ClientError> {
        match &self.backend {
            Backend::Keyring => {
                let entry = keyring::Entry::new(KEYRING_SERVICE, server).map_err(keyring_error)?;
                match entry.get_password() {
                    Ok(json) => serde_json::from_str(&json)
                        .map(Some)
                        .map_err(|_| ClientError::Credentials("the keyring entry is not readable".into())),
                    Err(keyring::Error::NoEntry) => Ok(None),
                    Err(e) => Err(keyring_error(e)),
                }
            }
            Backend::File { path, .. } => Ok(read_file(path)?.remove(server)),
        }
    }

    pub fn save(&self, credentials: &Credentials) -> Result<(), ClientError> {
        match &self.backend {
            Backend::Keyring => {
                let json = serde_json::to_string(credentials)
                    .map_err(|e| ClientError::Credentials(e.to_string()))?;
                keyring::Entry::new(KEYRING_SERVICE, &credentials.server)
                    .and_then(|entry| entry.set_password(&json))
                    .map_err(keyring_error)
            }
            Backend::File { path, .. } => {
                let mut all = read_file(path)?;
                all.insert(credentials.server.clone(), credentials.clone());
                write_file(path, &all)
            }
        }
    }

    pub fn delete(&self, server: &str) -> Result<(), ClientError> {
        match &self.backend {
            Backend::Keyring => {
                let entry = keyring::Entry::new(KEYRING_SERVICE, server).map_err(keyring_error)?;
                match entry.delete_credential() {
                    Ok(()) | Err(keyring::Error::NoEntry) => Ok(()),
                    Err(e) => Err(keyring_error(e)),
                }
            }
            Backend::File { path, .. } => {
                let mut all = read_file(path)?;
                if all.remove(server).is_some() {
                    write_file(path, &all)?;
                }
                Ok(())
            }
        }
    }
}

type FileContents = BTreeMap<String, Credentials>;

fn io_error(path: &Path, e: std::io::Error) -> ClientError {
    ClientError::Credentials(format!("{}: {e}", path.display()))
}

fn read_file(path: &Path) -> Result<FileContents, ClientError> {
    match std::fs::read(path) {
        Ok(bytes) => serde_json::from_slice(&bytes)
            .map_err(|_| ClientError::Credentials(format!("{} is not a credentials file", path.display()))),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(FileContents::new()),
        Err(e) => Err(io_error(path, e)),
    }
}

/// Writes a sibling file with mode 0600 and renames it over the old one, so a crash
/// leaves either the old or the new credentials, never half of them.
fn write_file(path: &Path, all: &FileContents) -> Result<(), ClientError> {
    let dir = path.parent().unwrap_or(Path::new("."));
    ensure_private_dir(dir)?;
    let json = serde_json::to_vec_pretty(all).map_err(|e| ClientError::Credentials(e.to_string()))?;
    let temp = path.with_extension("json.tmp");
    let mut options = std::fs::OpenOptions::new();
    options.write(true).create(true).truncate(true);
    #[cfg(unix)]
    {
        use std::os::unix::fs::OpenOptionsExt;
        options.mode(0o600);
    }
    {
        use std::io::Write;
        let mut file = options.open(&temp).map_err(|e| io_error(&temp, e))?;
        file.write_all(&json).map_err(|e| io_error(&temp, e))?;
        file.sync_all().map_err(|e| io_error(&temp, e))?;
    }
    std::fs::rename(&temp, path).map_err(|e| io_error(path, e))
}

pub(crate) fn ensure_private_dir(dir: &Path) -> Result<(), ClientError> {
    if dir.exists() {
        return Ok(());
    }
    std::fs::create_dir_all(dir).map_err(|e| io_error(dir, e))?;
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        std::fs::set_permissions(dir, std::fs::Permissions::from_mode(0o700))
            .map_err(|e| io_error(dir, e))?;
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn sample(server: &str) -> Credentials {
        Credentials {
            server: server.into(),
            user: User {
                id: uuid::Uuid::new_v4(),
                email: "ann@example.com".into(),
                name: None,
                created_at: OffsetDateTime::UNIX_EPOCH,
            },
            access_token: "secret-access".into(),
            refresh_token: "secret-refresh".into(),
            expires_at: OffsetDateTime::UNIX_EPOCH,
        }
    }

    #[test]
    fn file_store_keeps_one_entry_per_server_with_mode_0600() {
        let dir = tempfile::tempdir().expect("temp dir");
        let store = CredentialStore::file_in(&dir.path().join("todo"));
        let a = sample("http://a");
        store.save(&a).expect("save a");
        store.save(&sample("http://b")).expect("save b");
        assert_eq!(store.load("http://a").expect("load"), Some(a));
        store.delete("http://a").expect("delete");
        assert_eq!(store.load("http://a").expect("load"), None);
        assert!(store.load("http://b").expect("load").is_some());
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
    fn debug_output_never_shows_tokens() {
        let shown = format!("{:?}", sample("http://a"));
        assert!(
            !shown.contains("secret-access") && !shown.contains("secret-refresh"),
            "{shown}"
        );
    }
}
