//! The config file both apps read, `$XDG_CONFIG_HOME/todo/config.toml`:
//!
//! ```toml
//! server = "http://127.0.0.1:8000"
//! color = "auto"          # auto, always, never (NO_COLOR still wins)
//! [list]
//! status = "pending"      # all, pending, completed
//! sort = "urgency"        # urgency, created, due, priority, title, updated
//! [tui]
//! theme = "default"       # default, high-contrast
//! mouse = true            # click selects, wheel scrolls, double-click edits
//! [tui.keys]              # an action's keys, replacing its defaults
//! delete = "x"
//! half-page-down = ["ctrl-d", "ctrl-f"]
//! ```
//!
//! Flags and environment variables win over it. A file that cannot be read, or a value
//! that is wrong, is reported (file, line, key, what is allowed) and the rest of the
//! file still applies, on defaults where it was wrong: the apps always start.

use std::path::{Path, PathBuf};

use todo_api::{SortField, StatusFilter};
use toml_edit::{DocumentMut, Item, value};

/// Every key, with what it takes.
pub const KEYS: &[(&str, &str)] = &[
    ("server", "URL of the todo server"),
    ("color", "auto, always or never (NO_COLOR still wins)"),
    (
        "list.status",
        "what lists show at first: all, pending or completed",
    ),
    (
        "list.sort",
        "how lists sort at first: urgency, created, due, priority, title or updated",
    ),
    ("tui.theme", "the app's colours: default or high-contrast"),
    (
        "tui.mouse",
        "true or false: click selects, the wheel scrolls, a double click edits",
    ),
];

/// The app's colours.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Theme {
    #[default]
    Default,
    /// Bright colours and bold in place of dim text, for low vision and washed-out
    /// terminals.
    HighContrast,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ColorChoice {
    Auto,
    Always,
    Never,
}

#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Config {
    pub server: Option<String>,
    pub color: Option<ColorChoice>,
    pub status: Option<StatusFilter>,
    pub sort: Option<SortField>,
    pub theme: Option<Theme>,
    pub mouse: Option<bool>,
    /// `[tui.keys]` as written; the app checks the actions and keys.
    pub keys: Vec<KeyOverride>,
}

/// One `[tui.keys]` entry: an action's name, its keys, and where the file says it (a
/// prefix for messages, "config.toml: line 7: ").
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct KeyOverride {
    pub action: String,
    pub keys: Vec<String>,
    pub place: String,
}

/// A config as read: the values that were right, and a line for each that was not.
#[derive(Debug, Clone, Default)]
pub struct Loaded {
    pub config: Config,
    pub problems: Vec<String>,
}

pub fn path() -> PathBuf {
    crate::credentials::config_dir().join("config.toml")
}

/// Reads the config file; a missing file is an empty config.
pub fn load() -> Loaded {
    load_from(&path())
}

pub fn load_from(path: &Path) -> Loaded {
    match std::fs::read_to_string(path) {
        Ok(text) => parse(&text, path),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => Loaded::default(),
        Err(e) => Loaded {
            config: Config::default(),
            problems: vec![format!(
                "{}: cannot read it ({e}); using defaults",
                path.display()
            )],
        },
    }
}

/// A value of one of the API's enums by its wire name (`"pending"`).
fn wire_enum<T: serde::de::DeserializeOwned>(text: &str) -> Option<T> {
    serde_json::from_value(serde_json::Value::String(text.to_string())).ok()
}

/// Checks `text` as the value of `key`; the error says what is allowed.
fn check(key: &str, text: &str, config: &mut Config) -> Result<(), String> {
    let allowed = KEYS.iter().find(|(k, _)| *k == key).map(|(_, a)| *a);
    let wrong = || format!("{key} = {text:?} is not allowed: {}", allowed.unwrap_or("?"));
    match key {
        "server" => config.server = Some(text.to_string()),
        "color" => {
            config.color = Some(match text {
                "auto" => ColorChoice::Auto,
                "always" => ColorChoice::Always,
                "never" => ColorChoice::Never,
                _ => return Err(wrong()),
            })
        }
        "list.status" => config.status = Some(wire_enum(text).ok_or_else(wrong)?),
        "list.sort" => config.sort = Some(wire_enum(text).ok_or_else(wrong)?),
        "tui.theme" => {
            config.theme = Some(match text {
                "default" => Theme::Default,
                "high-contrast" => Theme::HighContrast,
                _ => return Err(wrong()),
            })
        }
        "tui.mouse" => {
            config.mouse = Some(match text {
                "true" | "on" | "yes" => true,
                "false" | "off" | "no" => false,
                _ => return Err(wrong()),
            })
        }
        _ => return Err(unknown_key(key)),
    }
    Ok(())
}

fn unknown_key(key: &str) -> String {
    let known: Vec<&str> = KEYS.iter().map(|(k, _)| *k).collect();
    format!("{key} is not a setting (known: {})", known.join(", "))
}

/// The 1-based line of byte `offset` in `text`.
fn line_of(text: &str, offset: usize) -> usize {
    text[..offset.min(text.len())].matches('\n').count() + 1
}

fn parse(text: &str, path: &Path) -> Loaded {
    let document = match toml_edit::Document::parse(text.to_string()) {
        Ok(d) => d,
        Err(e) => {
            let line = e.span().map(|s| line_of(text, s.start));
            let at = line.map_or(String::new(), |l| format!(" line {l}:"));
            return Loaded {
                config: Config::default(),
                problems: vec![format!(
                    "{}:{at} {}; using defaults",
                    path.display(),
                    e.message().trim()
                )],
            };
        }
    };
    let mut loaded = Loaded::default();
    let place = |item: &Item| {
        let line = item
            .span()
            .map_or(String::new(), |s| format!(" line {}:", line_of(text, s.start)));
        format!("{}:{line} ", path.display())
    };
    let mut visit = |key: String, item: &Item| {
        let line = item
            .span()
            .map_or(String::new(), |s| format!(" line {}:", line_of(text, s.start)));
        if key == "tui.keys" {
            match key_overrides(item, &place) {
                Ok(keys) => loaded.config.keys = keys,
                Err(problem) => loaded
                    .problems
                    .push(format!("{}:{line} {problem}", path.display())),
            }
            return;
        }
        let scalar = item
            .as_str()
            .map(str::to_string)
            .or_else(|| item.as_bool().map(|b| b.to_string()));
        let outcome = match scalar {
            Some(v) => check(&key, &v, &mut loaded.config),
            None => Err(format!("{key} must be a string")),
        };
        if let Err(problem) = outcome {
            loaded
                .problems
                .push(format!("{}:{line} {problem}", path.display()));
        }
    };
    for (key, item) in document.as_table().iter() {
        match item.as_table() {
            Some(table) => {
                for (inner, item) in table.iter() {
                    visit(format!("{key}.{inner}"), item);
                }
            }
            None => visit(key.to_string(), item),
        }
    }
    loaded
}

/// `[tui.keys]`: each action's key, or list of keys, as written.
fn key_overrides(item: &Item, place: &dyn Fn(&Item) -> String) -> Result<Vec<KeyOverride>, String> {
    let table = item
        .as_table_like()
        .ok_or("tui.keys must be a table of action = \"key\" or [\"key\", ...]")?;
    let mut all = Vec::new();
    for (action, value) in table.iter() {
        let keys = match (value.as_str(), value.as_array()) {
            (Some(one), _) => vec![one.to_string()],
            (None, Some(list)) => list
                .iter()
                .filter_map(|v| v.as_str().map(str::to_string))
                .collect(),
            _ => Vec::new(),
        };
        all.push(KeyOverride {
            action: action.to_string(),
            keys,
            place: place(value),
        });
    }
    Ok(all)
}

/// An API enum's wire name (`"pending"`), from its serde form.
fn wire_name<T: serde::Serialize>(v: &T) -> String {
    match serde_json::to_value(v) {
        Ok(serde_json::Value::String(s)) => s,
        _ => String::new(),
    }
}

/// The value of `key` as the file has it.
pub fn get(config: &Config, key: &str) -> Result<Option<String>, String> {
    Ok(match key {
        "server" => config.server.clone(),
        "color" => config.color.map(|c| {
            match c {
                ColorChoice::Auto => "auto",
                ColorChoice::Always => "always",
                ColorChoice::Never => "never",
            }
            .to_string()
        }),
        "list.status" => config.status.as_ref().map(wire_name),
        "list.sort" => config.sort.as_ref().map(wire_name),
        "tui.theme" => config.theme.map(|t| {
            match t {
                Theme::Default => "default",
                Theme::HighContrast => "high-contrast",
            }
            .to_string()
        }),
        "tui.mouse" => config.mouse.map(|m| m.to_string()),
        _ => return Err(unknown_key(key)),
    })
}

/// Sets `key` to `text` in the file at `path` (created if missing), keeping the rest of
/// the file, comments included; refused (and nothing written) when the value is wrong.
pub fn set_in(path: &Path, key: &str, text: &str) -> Result<(), String> {
    check(key, text, &mut Config::default())?;
    let current = match std::fs::read_to_string(path) {
        Ok(current) => current,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => String::new(),
        Err(e) => return Err(format!("cannot read {}: {e}", path.display())),
    };
    let mut document: DocumentMut = current
        .parse()
        .map_err(|e| format!("{} is not valid TOML ({e}); fix it first", path.display()))?;
    match key.split_once('.') {
        Some((table, inner)) => {
            let entry = document
                .entry(table)
                .or_insert(toml_edit::table())
                .as_table_mut()
                .ok_or_else(|| format!("{table} in {} is not a table", path.display()))?;
            entry[inner] = value(text);
        }
        None => document[key] = value(text),
    }
    if let Some(dir) = path.parent() {
        std::fs::create_dir_all(dir).map_err(|e| format!("cannot create {}: {e}", dir.display()))?;
    }
    std::fs::write(path, document.to_string()).map_err(|e| format!("cannot write {}: {e}", path.display()))
}

pub fn set(key: &str, text: &str) -> Result<(), String> {
    set_in(&path(), key, text)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parsed(text: &str) -> Loaded {
        parse(text, Path::new("config.toml"))
    }

    #[test]
    fn a_good_file_gives_every_value() {
        let loaded = parsed(
            "server = \"http://todo.lan:8000\"\ncolor = \"never\"\n[list]\nstatus = \"pending\"\nsort = \"due\"\n",
        );
        assert!(loaded.problems.is_empty(), "{:?}", loaded.problems);
        assert_eq!(loaded.config.server.as_deref(), Some("http://todo.lan:8000"));
        assert_eq!(loaded.config.color, Some(ColorChoice::Never));
        assert_eq!(loaded.config.status, Some(StatusFilter::Pending));
        assert_eq!(loaded.config.sort, Some(SortField::Due));
        assert_eq!(
            get(&loaded.config, "list.sort").ok().flatten().as_deref(),
            Some("due")
        );
    }

    #[test]
    fn a_wrong_value_names_the_file_line_and_key_and_the_rest_applies() {
        let loaded =
            parsed("server = \"http://a\"\n\n[list]\nsort = \"sideways\"\nstatus = \"all\"\nfoo = \"x\"\n");
        assert_eq!(loaded.config.server.as_deref(), Some("http://a"));
        assert_eq!(loaded.config.status, Some(StatusFilter::All));
        assert_eq!(loaded.config.sort, None, "the wrong one falls back");
        assert_eq!(loaded.problems.len(), 2, "{:?}", loaded.problems);
        assert!(
            loaded.problems[0].starts_with("config.toml: line 4: list.sort = \"sideways\""),
            "{:?}",
            loaded.problems
        );
        assert!(
            loaded.problems[1].contains("list.foo is not a setting"),
            "{:?}",
            loaded.problems
        );
    }

    #[test]
    fn the_tui_table_gives_theme_mouse_and_key_overrides_with_their_lines() {
        let loaded = parsed(
            "[tui]\ntheme = \"high-contrast\"\nmouse = false\n\n[tui.keys]\ndelete = \"x\"\nhalf-page-down = [\"ctrl-d\", \"ctrl-f\"]\n",
        );
        assert!(loaded.problems.is_empty(), "{:?}", loaded.problems);
        assert_eq!(loaded.config.theme, Some(Theme::HighContrast));
        assert_eq!(loaded.config.mouse, Some(false));
        let keys = &loaded.config.keys;
        assert_eq!(keys.len(), 2);
        assert_eq!(
            (keys[0].action.as_str(), keys[0].keys.as_slice()),
            ("delete", &["x".to_string()][..])
        );
        assert_eq!(keys[1].keys, ["ctrl-d", "ctrl-f"]);
        assert_eq!(keys[1].place, "config.toml: line 7: ");
        let wrong = parsed("[tui]\ntheme = \"neon\"\nkeys = 3\n");
        assert_eq!(wrong.problems.len(), 2, "{:?}", wrong.problems);
        assert!(
            wrong.problems[0].contains("line 2: tui.theme"),
            "{:?}",
            wrong.problems
        );
        assert!(
            wrong.problems[1].contains("tui.keys must be a table"),
            "{:?}",
            wrong.problems
        );
    }

    #[test]
    fn broken_toml_is_reported_with_its_line_and_gives_defaults() {
        let loaded = parsed("server = \"http://a\"\ncolor = \n");
        assert_eq!(loaded.config, Config::default());
        assert!(loaded.problems[0].contains("line 2"), "{:?}", loaded.problems);
    }

    #[test]
    fn set_keeps_comments_and_refuses_wrong_values() {
        let dir = tempfile::tempdir().expect("dir");
        let file = dir.path().join("todo").join("config.toml");
        std::fs::create_dir_all(file.parent().expect("dir")).expect("mkdir");
        std::fs::write(&file, "# mine\nserver = \"http://a\"\n").expect("write");
        set_in(&file, "list.sort", "priority").expect("set");
        set_in(&file, "server", "http://b").expect("set");
        assert!(set_in(&file, "list.sort", "sideways").is_err());
        let text = std::fs::read_to_string(&file).expect("read");
        assert!(text.starts_with("# mine"), "{text}");
        let loaded = load_from(&file);
        assert_eq!(loaded.config.sort, Some(SortField::Priority));
        assert_eq!(loaded.config.server.as_deref(), Some("http://b"));
    }
}
