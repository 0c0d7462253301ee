//! The add/edit form: its keys, its checks (as the server's), and the patch it sends.

use super::*;

/// How a due date is shown in a form: as the list shows it, in local time (a bare date
/// for the end of a day), which the form reads back to the same moment.
pub fn due_text(app: &App, task: &Task) -> String {
    task.due_at
        .map(|d| todo_client::due::format_due(d, &app.zone))
        .unwrap_or_default()
}

pub(super) fn on_form_key(app: &mut App, key: KeyEvent) -> Vec<Cmd> {
    let local_now = app.local_now();
    let Some(Popup::Form(form)) = app.popup.as_mut() else {
        return vec![];
    };
    if key.code != KeyCode::Esc {
        form.discard_armed = false;
    }
    let ctrl = key.modifiers.contains(KeyModifiers::CONTROL);
    let position = FormField::ORDER
        .iter()
        .position(|f| *f == form.focus)
        .unwrap_or(0);
    let submit = (ctrl && key.code == KeyCode::Char('s'))
        || (key.code == KeyCode::Enter && form.focus != FormField::Description);
    if submit {
        if form.saving {
            return vec![];
        }
        return match validate(form, local_now) {
            Some(input) => {
                let cmd = match (form.editing, form.opened.as_deref()) {
                    (Some(id), Some((opened, due_text))) => {
                        let patch = changed_fields(opened, &input, due_text == form.due.text().trim());
                        if patch == todo_api::TaskPatch::default() {
                            app.popup = None;
                            info(app, "Nothing changed");
                            return vec![];
                        }
                        Cmd::PatchTask(id, patch, form.base_version)
                    }
                    _ => {
                        // A new task goes to the project shown, if one is.
                        let mut input = input;
                        if let crate::projects::ProjectFilter::Only(id) = app.list.project {
                            input.project_id = Some(id);
                        }
                        Cmd::CreateTask(input)
                    }
                };
                form.saving = true;
                form.error = None;
                launch(app, cmd)
            }
            None => vec![],
        };
    }
    match key.code {
        // Unsaved changes are dropped only at a second Esc.
        KeyCode::Esc if form.has_changes() && !form.discard_armed => {
            form.discard_armed = true;
            form.error = Some("Unsaved changes: Esc again drops them, Enter saves".into());
        }
        KeyCode::Esc => app.popup = None,
        KeyCode::Tab => form.focus = FormField::ORDER[(position + 1) % 5],
        KeyCode::BackTab => form.focus = FormField::ORDER[(position + 4) % 5],
        KeyCode::Enter => form.description.insert('\n'),
        KeyCode::Left | KeyCode::Right | KeyCode::Char(' ') if form.focus == FormField::Priority => {
            let forward = key.code != KeyCode::Left;
            form.priority = match (form.priority, forward) {
                (Priority::Low, true) | (Priority::High, false) => Priority::Medium,
                (Priority::Medium, true) | (Priority::Low, false) => Priority::High,
                (Priority::High, true) | (Priority::Medium, false) => Priority::Low,
            };
        }
        KeyCode::Char('l') if form.focus == FormField::Priority => form.priority = Priority::Low,
        KeyCode::Char('m') if form.focus == FormField::Priority => form.priority = Priority::Medium,
        KeyCode::Char('h') if form.focus == FormField::Priority => form.priority = Priority::High,
        _ => {
            let field = match form.focus {
                FormField::Title => &mut form.title,
                FormField::Description => &mut form.description,
                FormField::Due => &mut form.due,
                FormField::Tags => &mut form.tags,
                FormField::Priority => return vec![],
            };
            if field.handle_key(key) {
                form.errors.remove(&form.focus);
            }
        }
    }
    vec![]
}

/// Checks the form as the server would; errors land on their fields.
pub fn validate(form: &mut TaskForm, local_now: time::OffsetDateTime) -> Option<TaskInput> {
    form.errors.clear();
    let title = form.title.text().trim();
    let title_len = title.chars().count();
    if title_len == 0 {
        form.errors.insert(FormField::Title, "A title is required".into());
    } else if title_len > TITLE_MAX {
        form.errors.insert(
            FormField::Title,
            format!("{title_len} characters; at most {TITLE_MAX}"),
        );
    }
    let description_len = form.description.text().chars().count();
    if description_len > DESCRIPTION_MAX {
        form.errors.insert(
            FormField::Description,
            format!("{description_len} characters; at most {DESCRIPTION_MAX}"),
        );
    }
    let due_text = form.due.text().trim();
    let due = if due_text.is_empty() {
        None
    } else {
        match todo_client::due::parse_due(due_text, local_now) {
            Ok(due) => Some(due),
            Err(reason) => {
                form.errors.insert(FormField::Due, reason);
                None
            }
        }
    };
    // Counted as the server counts them: after duplicates are dropped.
    let tags = todo_api::limits::unique_tags(form.tags.text().split([',', ' ']));
    if tags.len() > TAGS_MAX {
        form.errors.insert(
            FormField::Tags,
            format!("{} tags; at most {TAGS_MAX}", tags.len()),
        );
    } else if tags.iter().any(|t| t.chars().count() > TAG_MAX) {
        form.errors
            .insert(FormField::Tags, format!("a tag has at most {TAG_MAX} characters"));
    }
    if let Some(first) = form.errors.keys().next() {
        form.focus = *first;
        return None;
    }
    Some(TaskInput {
        title: title.to_string(),
        description: Some(form.description.text().to_string()),
        priority: Some(form.priority),
        due_at: due,
        tags: Some(tags),
        source_id: None,
        project_id: form.opened.as_ref().and_then(|o| o.0.project_id),
        // The form does not edit the rule: a save keeps it (a patch leaves it out).
        recurrence: form.opened.as_ref().and_then(|o| o.0.recurrence.clone()),
        // Nor its parent: a new task from the form is a task of its own.
        parent_id: form.opened.as_ref().and_then(|o| o.0.parent_id),
        // Nor its wait and reminder: a save keeps them (a patch leaves them out).
        wait_until: form.opened.as_ref().and_then(|o| o.0.wait_until),
        remind_at: form.opened.as_ref().and_then(|o| o.0.remind_at),
        remind_before: form.opened.as_ref().and_then(|o| o.0.remind_before.clone()),
        // Nor what it waits for: a save keeps that.
        depends_on: None,
    })
}

/// The fields `now` changes from `opened`, as a merge patch. A due date whose text was
/// not touched is left out (its text may show a rounded form of the stored moment).
pub fn changed_fields(opened: &TaskInput, now: &TaskInput, due_untouched: bool) -> todo_api::TaskPatch {
    use todo_api::Patch;
    fn differs<T: PartialEq + Clone>(old: &T, new: &T) -> Patch<T> {
        if old == new {
            Patch::Absent
        } else {
            Patch::Value(new.clone())
        }
    }
    todo_api::TaskPatch {
        title: differs(&opened.title, &now.title),
        description: differs(
            &opened.description.clone().unwrap_or_default(),
            &now.description.clone().unwrap_or_default(),
        ),
        priority: differs(
            &opened.priority.unwrap_or_default(),
            &now.priority.unwrap_or_default(),
        ),
        due_at: match (due_untouched, now.due_at) {
            (true, _) => Patch::Absent,
            (false, Some(due)) if opened.due_at != Some(due) => Patch::Value(due),
            (false, None) if opened.due_at.is_some() => Patch::Null,
            _ => Patch::Absent,
        },
        tags: differs(
            &opened.tags.clone().unwrap_or_default(),
            &now.tags.clone().unwrap_or_default(),
        ),
        completed: Patch::Absent,
        project_id: Patch::Absent,
        recurrence: Patch::Absent,
        parent_id: Patch::Absent,
        wait_until: Patch::Absent,
        remind_at: Patch::Absent,
        remind_before: Patch::Absent,
        depends_on: Patch::Absent,
        scope: None,
    }
}
