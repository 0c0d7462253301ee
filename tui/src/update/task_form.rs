//! The add/edit form: its keys, its checks (as the server's), and the patch it sends.

use super::*;

/// How a task's dates are shown in its form: as the list shows them, in local time (a
/// bare date for the end of a day), which the form reads back to the same moments. A
/// reminder before the due date shows as it was given (`PT30M`).
pub fn opened_texts(app: &App, task: &Task) -> crate::app::OpenedTexts {
    let local = |t| todo_client::due::format_due(t, &app.zone);
    crate::app::OpenedTexts {
        due: task.due_at.map(local).unwrap_or_default(),
        remind: match (&task.remind_before, task.remind_at) {
            (Some(before), _) => before.clone(),
            (None, Some(at)) => local(at),
            (None, None) => String::new(),
        },
    }
}

/// Which of a form's texts are as they opened: those send nothing.
#[derive(Debug, Clone, Copy)]
pub struct Untouched {
    pub due: bool,
    pub repeat: bool,
    pub remind: bool,
}

pub(super) fn on_form_key(app: &mut App, key: KeyEvent) -> Vec<Cmd> {
    let local_now = app.local_now();
    let zone = app.zone.iana_name().unwrap_or("UTC").to_string();
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
        return match validate(form, local_now, &zone) {
            Some(input) => {
                let cmd = match (form.editing, form.opened.as_deref()) {
                    (Some(id), Some(opened)) => {
                        let untouched = Untouched {
                            due: opened.due == form.due.text().trim(),
                            repeat: opened.repeat == form.repeat.text().trim(),
                            remind: opened.remind == form.remind.text().trim(),
                        };
                        let patch = changed_fields(&opened.input, &input, untouched);
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
        KeyCode::Tab => form.focus = FormField::ORDER[(position + 1) % FormField::ORDER.len()],
        KeyCode::BackTab => {
            let fields = FormField::ORDER.len();
            form.focus = FormField::ORDER[(position + fields - 1) % fields]
        }
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
                FormField::Repeat => &mut form.repeat,
                FormField::Remind => &mut form.remind,
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

/// Checks the form as the server would; errors land on their fields. A new rule runs in
/// `zone` (an IANA name); an edited one keeps the zone it had.
pub fn validate(form: &mut TaskForm, local_now: time::OffsetDateTime, zone: &str) -> Option<TaskInput> {
    form.errors.clear();
    let title = form.title.text().trim().to_string();
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
    let recurrence = read_repeat(form, due, zone);
    let (remind_at, remind_before) = read_remind(form, due, local_now);
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
        title,
        description: Some(form.description.text().to_string()),
        priority: Some(form.priority),
        due_at: due,
        tags: Some(tags),
        source_id: None,
        project_id: form.opened.as_ref().and_then(|o| o.input.project_id),
        recurrence,
        // The form does not edit its parent: a new task from the form is a task of its own.
        parent_id: form.opened.as_ref().and_then(|o| o.input.parent_id),
        // Nor its wait: a save keeps it (a patch leaves it out).
        wait_until: form.opened.as_ref().and_then(|o| o.input.wait_until),
        remind_at,
        remind_before,
        // Nor what it waits for: a save keeps that.
        depends_on: None,
    })
}

/// The line under the repeat field: the next three due dates the rule makes from the
/// due date typed (so a rule is seen before it is saved), or what may be typed.
pub fn repeat_preview(app: &App, form: &TaskForm) -> String {
    const HINT: &str = "daily, weekly, every 2 weeks, every mon,wed, or RRULE";
    let text = form.repeat.text().trim();
    if text.is_empty() {
        return HINT.into();
    }
    let Ok(due) = todo_client::due::parse_due(form.due.text().trim(), app.local_now()) else {
        return "next dates: give a due date to count from".into();
    };
    let zone = form
        .opened
        .as_ref()
        .and_then(|o| o.input.recurrence.as_ref())
        .map_or(app.zone.iana_name().unwrap_or("UTC").to_string(), |r| {
            r.time_zone.clone()
        });
    let occurrence = form
        .editing
        .and_then(|id| app.list.tasks.iter().find(|t| t.id == id));
    let occurrence = occurrence.and_then(|t| t.occurrence).unwrap_or(1);
    match todo_client::recur::preview(text, &zone, due, occurrence, 3) {
        Ok(dates) if dates.is_empty() => "the series ends with this one".into(),
        Ok(dates) => {
            let shown: Vec<String> = dates
                .iter()
                .map(|d| todo_client::due::format_due(*d, &app.zone))
                .collect();
            format!("next {}", shown.join(" · "))
        }
        Err(_) => HINT.into(),
    }
}

/// The repeat field as a rule, checked as the server checks it (an error on the field
/// otherwise). A rule needs a due date to count from.
fn read_repeat(
    form: &mut TaskForm,
    due: Option<time::OffsetDateTime>,
    zone: &str,
) -> Option<todo_api::Recurrence> {
    let text = form.repeat.text().trim();
    if text.is_empty() {
        return None;
    }
    let zone = form
        .opened
        .as_ref()
        .and_then(|o| o.input.recurrence.as_ref())
        .map_or(zone.to_string(), |r| r.time_zone.clone());
    let checked = todo_client::recur::parse_recur(text).and_then(|rule| {
        let recurrence = todo_api::Recurrence {
            rule,
            time_zone: zone,
        };
        todo_api::recurrence::Rule::parse(&recurrence)
            .map(|_| recurrence)
            .map_err(|e| e.reason)
    });
    match (checked, due) {
        (Ok(_), None) if !form.errors.contains_key(&FormField::Due) => {
            form.errors
                .insert(FormField::Repeat, "a repeating task needs a due date".into());
            None
        }
        (Ok(recurrence), _) => Some(recurrence),
        (Err(reason), _) => {
            form.errors.insert(FormField::Repeat, reason);
            None
        }
    }
}

/// The reminder field as `remind_at` or `remind_before`; one before the due date needs
/// a due date.
fn read_remind(
    form: &mut TaskForm,
    due: Option<time::OffsetDateTime>,
    local_now: time::OffsetDateTime,
) -> (Option<time::OffsetDateTime>, Option<String>) {
    use todo_client::recur::Remind;
    let text = form.remind.text().trim();
    if text.is_empty() {
        return (None, None);
    }
    match todo_client::recur::parse_remind(text, local_now) {
        Ok(Remind::At(at)) => (Some(at), None),
        Ok(Remind::Before(_)) if due.is_none() && !form.errors.contains_key(&FormField::Due) => {
            form.errors.insert(
                FormField::Remind,
                "a reminder before the due date needs a due date (or give a moment)".into(),
            );
            (None, None)
        }
        Ok(Remind::Before(before)) => (None, Some(before)),
        Err(reason) => {
            form.errors.insert(FormField::Remind, reason);
            (None, None)
        }
    }
}

/// The fields `now` changes from `opened`, as a merge patch. A due date, rule or reminder
/// whose text was not touched is left out (its text may show a rounded form of it).
pub fn changed_fields(opened: &TaskInput, now: &TaskInput, untouched: Untouched) -> todo_api::TaskPatch {
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
        due_at: match (untouched.due, now.due_at) {
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
        recurrence: match (untouched.repeat, &now.recurrence) {
            (true, _) => Patch::Absent,
            (false, Some(rule)) if opened.recurrence.as_ref() != Some(rule) => Patch::Value(rule.clone()),
            (false, Some(_)) => Patch::Absent,
            (false, None) if opened.recurrence.is_some() => Patch::Null,
            (false, None) => Patch::Absent,
        },
        parent_id: Patch::Absent,
        wait_until: Patch::Absent,
        // A reminder given one way clears one given the other way (the server's rule).
        remind_at: match (untouched.remind, now.remind_at, &now.remind_before) {
            (true, ..) => Patch::Absent,
            (false, Some(at), _) => Patch::Value(at),
            (false, None, None) => Patch::Null,
            (false, None, Some(_)) => Patch::Absent,
        },
        remind_before: match (untouched.remind, &now.remind_before, now.remind_at) {
            (true, ..) => Patch::Absent,
            (false, Some(before), _) => Patch::Value(before.clone()),
            (false, None, None) => Patch::Null,
            (false, None, Some(_)) => Patch::Absent,
        },
        depends_on: Patch::Absent,
        scope: None,
    }
}
