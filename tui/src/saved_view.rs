//! What the list showed when the app last closed (filter, sort, search, tag and the
//! selected task), kept in `$XDG_STATE_HOME/todo/tui.json` so the next start opens on
//! the same view. It is a convenience: a missing or unreadable file means the defaults.

use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};
use todo_api::{SortField, StatusFilter};

use crate::app::App;

#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct SavedView {
    pub status: Option<StatusFilter>,
    pub sort: Option<SortField>,
    #[serde(default)]
    pub search: String,
    pub tag: Option<String>,
    /// The id of the task that was selected.
    pub selected: Option<i64>,
}

/// `$XDG_STATE_HOME/todo/tui.json` (the local data folder where there is no state
/// folder, as on macOS and Windows).
pub fn path() -> Option<PathBuf> {
    let dirs = directories::ProjectDirs::from("", "", "todo")?;
    let dir = dirs.state_dir().unwrap_or_else(|| dirs.data_local_dir());
    Some(dir.join("tui.json"))
}

impl SavedView {
    pub fn of(app: &App) -> SavedView {
        SavedView {
            status: Some(app.list.status),
            sort: Some(app.list.sort),
            search: app.list.search.clone(),
            tag: app.list.tag.clone(),
            selected: app.list.selected_task().map(|t| t.id),
        }
    }

    /// Opens `app` on this view; the selection is found once the list has loaded.
    pub fn apply(self, app: &mut App) {
        app.list.status = self.status.unwrap_or(app.list.status);
        app.list.sort = self.sort.unwrap_or(app.list.sort);
        app.list.search = self.search;
        app.list.tag = self.tag;
        app.select_when_loaded = self.selected;
    }

    pub fn load(path: &Path) -> Option<SavedView> {
        serde_json::from_slice(&std::fs::read(path).ok()?).ok()
    }

    /// Writes through a temporary file and a rename, so a crash never leaves half a file.
    pub fn save(&self, path: &Path) -> std::io::Result<()> {
        if let Some(dir) = path.parent() {
            std::fs::create_dir_all(dir)?;
        }
        let temp = path.with_extension("json.tmp");
        std::fs::write(
            &temp,
            serde_json::to_vec_pretty(self).map_err(std::io::Error::other)?,
        )?;
        std::fs::rename(&temp, path)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_view_round_trips_through_its_file_and_a_broken_file_is_the_default() {
        let dir = tempfile::tempdir().expect("dir");
        let file = dir.path().join("state").join("tui.json");
        let view = SavedView {
            status: Some(StatusFilter::Completed),
            sort: Some(SortField::Due),
            search: "milk".into(),
            tag: Some("home".into()),
            selected: Some(42),
        };
        view.save(&file).expect("save");
        assert_eq!(SavedView::load(&file), Some(view));
        std::fs::write(&file, "{ not json").expect("write");
        assert_eq!(SavedView::load(&file), None);
        assert_eq!(SavedView::load(&dir.path().join("missing.json")), None);
    }
}
