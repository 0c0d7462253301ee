//! Keys as data: every action of the task screen, its default keys, and the help text.
//! One [`KeyMap`] drives key handling, the `?` overlay and README's key table (a test
//! compares them), and `[tui.keys]` in config.toml changes it.
//!
//! A binding includes its modifiers: `ctrl-d` never matches a bare `d`, and a chord with
//! no binding does nothing.

use crossterm::event::{KeyCode, KeyEvent, KeyModifiers};
use todo_client::config::KeyOverride;

/// What a key can do on the task screen (the account panel's list takes the same actions).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Action {
    Down,
    Up,
    PageUp,
    PageDown,
    First,
    Last,
    HalfDown,
    HalfUp,
    DetailDown,
    DetailUp,
    NextMatch,
    PrevMatch,
    Add,
    Edit,
    Toggle,
    Delete,
    Search,
    Filter,
    Sort,
    Tag,
    Project,
    ClearFilter,
    Undo,
    Note,
    Fold,
    Reload,
    Conflicts,
    Account,
    Help,
    SignOut,
    Quit,
}

/// An action's name in `[tui.keys]` and its default keys.
const DEFAULTS: &[(Action, &str, &[&str])] = &[
    (Action::Up, "up", &["up", "k"]),
    (Action::Down, "down", &["down", "j"]),
    (Action::PageUp, "page-up", &["pageup"]),
    (Action::PageDown, "page-down", &["pagedown"]),
    (Action::First, "first", &["home", "g"]),
    (Action::Last, "last", &["end", "G"]),
    (Action::HalfDown, "half-page-down", &["ctrl-d"]),
    (Action::HalfUp, "half-page-up", &["ctrl-u"]),
    (Action::DetailDown, "detail-down", &["J"]),
    (Action::DetailUp, "detail-up", &["K"]),
    (Action::NextMatch, "next-match", &["n"]),
    (Action::PrevMatch, "previous-match", &["N"]),
    (Action::Add, "add", &["a"]),
    (Action::Edit, "edit", &["e", "enter"]),
    (Action::Toggle, "toggle", &["space"]),
    (Action::Delete, "delete", &["d", "delete"]),
    (Action::Search, "search", &["/"]),
    (Action::Filter, "filter", &["f"]),
    (Action::Sort, "sort", &["s"]),
    (Action::Tag, "tag", &["t"]),
    (Action::Project, "project", &["p"]),
    (Action::ClearFilter, "clear-filter", &["esc"]),
    (Action::Undo, "undo", &["u"]),
    (Action::Note, "note", &["c"]),
    (Action::Fold, "fold", &["z"]),
    (Action::Reload, "reload", &["r"]),
    (Action::Conflicts, "conflicts", &["C"]),
    (Action::Account, "account", &["A"]),
    (Action::Help, "help", &["?"]),
    (Action::SignOut, "sign-out", &["S"]),
    (Action::Quit, "quit", &["q"]),
];

/// The rows of the `?` overlay and of README's key table: actions shown together, and
/// what they do.
pub const HELP: &[(&[Action], &str)] = &[
    (&[Action::Up, Action::Down], "move the selection"),
    (&[Action::PageUp, Action::PageDown], "page up/down"),
    (&[Action::First, Action::Last], "first, last"),
    (&[Action::HalfDown, Action::HalfUp], "half a page down/up"),
    (
        &[Action::DetailDown, Action::DetailUp],
        "scroll the detail pane down/up",
    ),
    (&[Action::Add], "add a task"),
    (&[Action::Edit], "edit the selected task"),
    (&[Action::Toggle], "toggle completed"),
    (&[Action::Delete], "delete (asks first)"),
    (&[Action::Search], "search title, description, tags (as you type)"),
    (
        &[Action::NextMatch, Action::PrevMatch],
        "next/previous match of the search (wraps)",
    ),
    (
        &[Action::Filter],
        "cycle filter: pending, completed, waiting, blocked, ...",
    ),
    (
        &[Action::Sort],
        "cycle sort: newest, due, priority, title, urgency, updated",
    ),
    (&[Action::Tag], "filter by tag as you type (Tab completes)"),
    (
        &[Action::Project],
        "cycle project: all, personal, each shared project",
    ),
    (&[Action::ClearFilter], "clear search and tag"),
    (
        &[Action::Undo, Action::Note, Action::Fold],
        "undo your change; add a note; fold/unfold subtasks",
    ),
    (
        &[Action::Reload, Action::Conflicts],
        "reload; changes made offline the server refused",
    ),
    (&[Action::Account], "account: sessions, password change"),
    (&[Action::Help], "this help"),
    (&[Action::SignOut], "sign out (asks first)"),
    (&[Action::Quit], "quit (Ctrl-C quits anywhere)"),
];

/// One key with its modifiers. Shift is part of the character (`G`), never a modifier.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Key {
    code: KeyCode,
    modifiers: KeyModifiers,
}

const NAMED: &[(&str, KeyCode, &str)] = &[
    ("up", KeyCode::Up, "↑"),
    ("down", KeyCode::Down, "↓"),
    ("left", KeyCode::Left, "←"),
    ("right", KeyCode::Right, "→"),
    ("pageup", KeyCode::PageUp, "PgUp"),
    ("pagedown", KeyCode::PageDown, "PgDn"),
    ("home", KeyCode::Home, "Home"),
    ("end", KeyCode::End, "End"),
    ("enter", KeyCode::Enter, "Enter"),
    ("esc", KeyCode::Esc, "Esc"),
    ("space", KeyCode::Char(' '), "space"),
    ("tab", KeyCode::Tab, "Tab"),
    ("backspace", KeyCode::Backspace, "Backspace"),
    ("delete", KeyCode::Delete, "Del"),
    ("insert", KeyCode::Insert, "Ins"),
];

fn significant(modifiers: KeyModifiers) -> KeyModifiers {
    modifiers & (KeyModifiers::CONTROL | KeyModifiers::ALT)
}

impl Key {
    /// Reads `ctrl-d`, `alt-x`, `G`, `pagedown`, `f5`, `space`...; the error says why not.
    pub fn parse(text: &str) -> Result<Key, String> {
        let mut modifiers = KeyModifiers::NONE;
        let mut rest = text.trim();
        loop {
            let lower = rest.to_ascii_lowercase();
            if let Some(tail) = lower.strip_prefix("ctrl-").or_else(|| lower.strip_prefix("c-")) {
                modifiers |= KeyModifiers::CONTROL;
                rest = &rest[rest.len() - tail.len()..];
            } else if let Some(tail) = lower.strip_prefix("alt-").or_else(|| lower.strip_prefix("m-")) {
                modifiers |= KeyModifiers::ALT;
                rest = &rest[rest.len() - tail.len()..];
            } else {
                break;
            }
        }
        let mut chars = rest.chars();
        let code = match (chars.next(), chars.next()) {
            (Some(c), None) if !c.is_control() && c != ' ' => {
                // A chord is the same whatever the shift state: ctrl-D is ctrl-d.
                if modifiers.is_empty() {
                    KeyCode::Char(c)
                } else {
                    KeyCode::Char(c.to_ascii_lowercase())
                }
            }
            _ => {
                let lower = rest.to_ascii_lowercase();
                if let Some((_, code, _)) = NAMED.iter().find(|(name, ..)| *name == lower) {
                    *code
                } else if let Some(n) = lower.strip_prefix('f').and_then(|n| n.parse::<u8>().ok()) {
                    if !(1..=12).contains(&n) {
                        return Err(format!("{text:?}: function keys go from f1 to f12"));
                    }
                    KeyCode::F(n)
                } else {
                    return Err(format!(
                        "{text:?} is not a key (a character such as \"x\" or \"G\", a name such as \"enter\", \"pagedown\" or \"f5\", optionally after \"ctrl-\" or \"alt-\")"
                    ));
                }
            }
        };
        if code == KeyCode::Char('c') && modifiers == KeyModifiers::CONTROL {
            return Err(format!("{text:?} always quits and cannot be bound"));
        }
        Ok(Key { code, modifiers })
    }

    fn matches(&self, event: &KeyEvent) -> bool {
        let modifiers = significant(event.modifiers);
        match (self.code, event.code) {
            (KeyCode::Char(want), KeyCode::Char(got)) if !modifiers.is_empty() => {
                want == got.to_ascii_lowercase() && modifiers == self.modifiers
            }
            (want, got) => want == got && modifiers == self.modifiers,
        }
    }

    /// As people read it: `Ctrl-D`, `↑`, `PgDn`, `G`.
    pub fn label(&self) -> String {
        let mut label = String::new();
        if self.modifiers.contains(KeyModifiers::CONTROL) {
            label.push_str("Ctrl-");
        }
        if self.modifiers.contains(KeyModifiers::ALT) {
            label.push_str("Alt-");
        }
        match NAMED.iter().find(|(_, code, _)| *code == self.code) {
            Some((_, _, shown)) => label.push_str(shown),
            None => match self.code {
                KeyCode::Char(c) if !self.modifiers.is_empty() => label.push(c.to_ascii_uppercase()),
                KeyCode::Char(c) => label.push(c),
                KeyCode::F(n) => label.push_str(&format!("F{n}")),
                _ => label.push('?'),
            },
        }
        label
    }
}

/// The keys of every action, defaults changed by `[tui.keys]`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct KeyMap {
    bindings: Vec<(Action, Vec<Key>)>,
}

impl Default for KeyMap {
    fn default() -> KeyMap {
        let bindings = DEFAULTS
            .iter()
            .map(|(action, _, keys)| {
                let keys = keys.iter().filter_map(|k| Key::parse(k).ok()).collect();
                (*action, keys)
            })
            .collect();
        KeyMap { bindings }
    }
}

impl KeyMap {
    /// The action `event` is bound to, if any.
    pub fn action(&self, event: &KeyEvent) -> Option<Action> {
        self.bindings
            .iter()
            .find(|(_, keys)| keys.iter().any(|k| k.matches(event)))
            .map(|(action, _)| *action)
    }

    pub fn keys(&self, action: Action) -> &[Key] {
        self.bindings
            .iter()
            .find(|(a, _)| *a == action)
            .map_or(&[], |(_, keys)| keys.as_slice())
    }

    /// The defaults with each override applied: an action's keys are replaced, and a
    /// key taken by an override leaves the action it had by default. A wrong entry is
    /// reported (where, which key, why) and leaves that action on its defaults.
    pub fn with_overrides(overrides: &[KeyOverride]) -> (KeyMap, Vec<String>) {
        let mut map = KeyMap::default();
        let mut problems = Vec::new();
        let mut claimed: Vec<(Key, &str)> = Vec::new();
        for entry in overrides {
            let at = |why: String| format!("{}tui.keys.{}: {why}", entry.place, entry.action);
            let Some((action, ..)) = DEFAULTS.iter().find(|(_, name, _)| *name == entry.action) else {
                let names: Vec<&str> = DEFAULTS.iter().map(|(_, n, _)| *n).collect();
                problems.push(at(format!("not an action (actions: {})", names.join(", "))));
                continue;
            };
            let parsed: Result<Vec<Key>, String> = entry.keys.iter().map(|k| Key::parse(k)).collect();
            let keys = match parsed {
                Ok(keys) if keys.is_empty() => {
                    problems.push(at("give at least one key".into()));
                    continue;
                }
                Ok(keys) => keys,
                Err(why) => {
                    problems.push(at(why));
                    continue;
                }
            };
            if let Some((key, other)) = keys
                .iter()
                .find_map(|k| claimed.iter().find(|(c, _)| c == k).map(|(c, o)| (*c, *o)))
            {
                problems.push(at(format!("{} is already bound to {other}", key.label())));
                continue;
            }
            for (bound, their_keys) in &mut map.bindings {
                if bound != action {
                    their_keys.retain(|k| !keys.contains(k));
                }
            }
            if let Some((_, own)) = map.bindings.iter_mut().find(|(a, _)| a == action) {
                own.clone_from(&keys);
            }
            claimed.extend(keys.into_iter().map(|k| (k, entry.action.as_str())));
        }
        (map, problems)
    }

    /// The key column of a help row: each action's keys joined by `/`, actions by a
    /// space (`↑/k ↓/j`); `-` for an action left without a key.
    pub fn label(&self, actions: &[Action]) -> String {
        actions
            .iter()
            .map(|a| {
                let keys: Vec<String> = self.keys(*a).iter().map(Key::label).collect();
                if keys.is_empty() {
                    "-".to_string()
                } else {
                    keys.join("/")
                }
            })
            .collect::<Vec<_>>()
            .join(" ")
    }

    /// The help rows as this map has them.
    pub fn help(&self) -> Vec<(String, &'static str)> {
        HELP.iter()
            .map(|(actions, what)| (self.label(actions), *what))
            .collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn event(code: KeyCode, modifiers: KeyModifiers) -> KeyEvent {
        KeyEvent::new(code, modifiers)
    }

    #[test]
    fn chords_never_fall_through_to_their_bare_letter() {
        let map = KeyMap::default();
        assert_eq!(
            map.action(&event(KeyCode::Char('d'), KeyModifiers::CONTROL)),
            Some(Action::HalfDown)
        );
        assert_eq!(
            map.action(&event(KeyCode::Char('d'), KeyModifiers::NONE)),
            Some(Action::Delete)
        );
        assert_eq!(
            map.action(&event(KeyCode::Char('y'), KeyModifiers::CONTROL)),
            None
        );
        assert_eq!(map.action(&event(KeyCode::Char('a'), KeyModifiers::ALT)), None);
        // Shift is in the character: G with or without the SHIFT flag.
        assert_eq!(
            map.action(&event(KeyCode::Char('G'), KeyModifiers::SHIFT)),
            Some(Action::Last)
        );
    }

    #[test]
    fn every_action_has_a_default_key_and_a_help_row() {
        let map = KeyMap::default();
        for (action, name, _) in DEFAULTS {
            assert!(!map.keys(*action).is_empty(), "{name} has no key");
            assert!(
                HELP.iter().any(|(actions, _)| actions.contains(action)),
                "{name} is in no help row"
            );
        }
    }

    #[test]
    fn an_override_replaces_the_keys_and_takes_them_from_other_actions() {
        let (map, problems) = KeyMap::with_overrides(&[KeyOverride {
            action: "delete".into(),
            keys: vec!["x".into(), "ctrl-d".into()],
            place: String::new(),
        }]);
        assert!(problems.is_empty(), "{problems:?}");
        assert_eq!(
            map.action(&event(KeyCode::Char('x'), KeyModifiers::NONE)),
            Some(Action::Delete)
        );
        assert_eq!(map.action(&event(KeyCode::Char('d'), KeyModifiers::NONE)), None);
        assert_eq!(
            map.action(&event(KeyCode::Char('d'), KeyModifiers::CONTROL)),
            Some(Action::Delete)
        );
        assert_eq!(map.label(&[Action::HalfDown]), "-", "half page down lost its key");
        assert_eq!(map.label(&[Action::Delete]), "x/Ctrl-D");
    }

    #[test]
    fn wrong_entries_are_reported_and_leave_the_defaults() {
        let entry = |action: &str, key: &str| KeyOverride {
            action: action.into(),
            keys: vec![key.into()],
            place: "config.toml: line 9: ".into(),
        };
        let (map, problems) = KeyMap::with_overrides(&[
            entry("explode", "x"),
            entry("add", "ctrl-"),
            entry("quit", "ctrl-c"),
            entry("edit", "z"),
            entry("toggle", "z"),
        ]);
        assert_eq!(problems.len(), 4, "{problems:?}");
        assert!(problems[0].starts_with("config.toml: line 9: tui.keys.explode: not an action"));
        assert!(problems[1].contains("not a key"), "{problems:?}");
        assert!(problems[2].contains("always quits"), "{problems:?}");
        assert!(problems[3].contains("z is already bound to edit"), "{problems:?}");
        assert_eq!(map.label(&[Action::Add]), "a");
        assert_eq!(map.label(&[Action::Toggle]), "space");
    }

    #[test]
    fn labels_read_as_people_write_keys() {
        for (text, label) in [
            ("ctrl-D", "Ctrl-D"),
            ("alt-x", "Alt-X"),
            ("pagedown", "PgDn"),
            ("f5", "F5"),
        ] {
            assert_eq!(Key::parse(text).map(|k| k.label()), Ok(label.to_string()));
        }
        assert!(Key::parse("f13").is_err());
    }
}
