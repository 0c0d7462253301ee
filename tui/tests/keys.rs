//! The key table in one place: the key map drives the keys, the `?` overlay lists its
//! help rows, README's key table lists the same keys, and every single key listed does
//! something on the task screen. A key added to one and not the others fails here.

mod common;

use common::{app_with_tasks, key};
use crossterm::event::KeyCode;
use todo_tui::keymap::KeyMap;

/// The key column of README's "| key | action |" table, as written there without the
/// code marks.
fn readme_keys() -> Vec<String> {
    let readme =
        std::fs::read_to_string(concat!(env!("CARGO_MANIFEST_DIR"), "/../README.md")).expect("README.md");
    readme
        .lines()
        .skip_while(|l| !l.starts_with("| key | action |"))
        .skip(2)
        .take_while(|l| l.starts_with('|'))
        .map(|l| {
            let cell = l.split('|').nth(1).unwrap_or("");
            cell.replace('`', "")
                .split_whitespace()
                .collect::<Vec<_>>()
                .join(" ")
        })
        .collect()
}

/// The overlay's keys with the default key map.
fn overlay_keys() -> Vec<String> {
    KeyMap::default().help().into_iter().map(|(k, _)| k).collect()
}

#[test]
fn readme_lists_exactly_the_keys_of_the_overlay() {
    assert_eq!(readme_keys(), overlay_keys());
}

#[test]
fn every_single_key_the_overlay_lists_does_something() {
    for label in overlay_keys() {
        for part in label.split([' ', '/']) {
            let mut chars = part.chars();
            let (Some(c), None) = (chars.next(), chars.next()) else {
                continue; // named keys (Enter, Esc, PgUp) and chords are covered elsewhere
            };
            if !c.is_ascii_graphic() {
                continue; // arrows name keys, not characters
            }
            let mut app = app_with_tasks();
            app.list.selected = 1;
            // A long description, scrolled a little, so the detail keys have room both ways.
            app.list.tasks[1].description = "a\nb\nc\nd\ne\nf".into();
            app.detail_scroll = (app.list.tasks[1].id, 3);
            let before = app.clone();
            let cmds = key(&mut app, KeyCode::Char(c));
            let changed = !cmds.is_empty()
                || app.popup != before.popup
                || app.quit
                || app.list != before.list
                || app.message != before.message
                || app.detail_scroll != before.detail_scroll;
            assert!(changed, "{c:?} ({label}) does nothing on the task screen");
        }
    }
}
