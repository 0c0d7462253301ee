//! Private JSON files in the config folder: read whole, written whole with mode 0600
//! through a rename, and changed under an exclusive lock so two processes never undo
//! each other's write.

use std::path::{Path, PathBuf};

use serde::Serialize;
use serde::de::DeserializeOwned;

use crate::ClientError;

pub(crate) fn io_error(path: &Path, e: std::io::Error) -> ClientError {
    ClientError::Credentials(format!("{}: {e}", path.display()))
}

/// The file's contents, or the default when it does not exist yet.
pub(crate) fn read_json<T: DeserializeOwned + Default>(path: &Path, what: &str) -> Result<T, ClientError> {
    match std::fs::read(path) {
        Ok(bytes) => serde_json::from_slice(&bytes)
            .map_err(|_| ClientError::Credentials(format!("{} is not {what}", path.display()))),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(T::default()),
        Err(e) => Err(io_error(path, e)),
    }
}

/// Writes a sibling file with mode 0600 and renames it over the old one, so a crash
/// leaves either the old or the new contents, never half of them.
pub(crate) fn write_json<T: Serialize>(path: &Path, value: &T) -> Result<(), ClientError> {
    let dir = path.parent().unwrap_or(Path::new("."));
    ensure_private_dir(dir)?;
    let json = serde_json::to_vec_pretty(value).map_err(|e| ClientError::Credentials(e.to_string()))?;
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

/// Reads `path`, lets `change` edit it, and writes it back, all under `path.lock`.
pub(crate) fn change_json<T, R>(
    path: &Path,
    what: &str,
    change: impl FnOnce(&mut T) -> Result<R, ClientError>,
) -> Result<R, ClientError>
where
    T: Serialize + DeserializeOwned + Default,
{
    let _lock = lock_file(&path.with_extension("lock"))?;
    let mut value = read_json(path, what)?;
    let result = change(&mut value)?;
    write_json(path, &value)?;
    Ok(result)
}

/// Holds an exclusive lock on `path` (made if missing) until the file is dropped.
pub(crate) fn lock_file(path: &PathBuf) -> Result<std::fs::File, ClientError> {
    if let Some(dir) = path.parent() {
        ensure_private_dir(dir)?;
    }
    let file = std::fs::OpenOptions::new()
        .create(true)
        .truncate(false)
        .write(true)
        .open(path)
        .map_err(|e| io_error(path, e))?;
    file.lock().map_err(|e| io_error(path, e))?;
    Ok(file)
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
