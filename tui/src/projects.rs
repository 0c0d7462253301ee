//! The projects the signed-in user is a member of, with their members: what the project
//! switcher cycles through, and what the list and the detail pane name.

use todo_api::{Member, Project, Role, Task};
use uuid::Uuid;

/// A project and its members, as loaded.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Shared {
    pub project: Project,
    pub members: Vec<Member>,
}

/// Which tasks the list shows by project.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum ProjectFilter {
    /// Every task you can see: yours and your projects'.
    #[default]
    All,
    /// Your personal tasks only.
    Personal,
    Only(Uuid),
}

impl ProjectFilter {
    /// The list query's `project`.
    pub fn query(self) -> Option<String> {
        match self {
            ProjectFilter::All => None,
            ProjectFilter::Personal => Some("none".into()),
            ProjectFilter::Only(id) => Some(id.to_string()),
        }
    }
}

/// Every project of the user's, by name.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Projects(pub Vec<Shared>);

impl Projects {
    fn get(&self, id: Uuid) -> Option<&Shared> {
        self.0.iter().find(|s| s.project.id == id)
    }

    pub fn name(&self, id: Uuid) -> Option<&str> {
        self.get(id).map(|s| s.project.name.as_str())
    }

    pub fn role(&self, id: Uuid) -> Option<Role> {
        self.get(id).map(|s| s.project.role)
    }

    /// The filter after `current`: all, personal, then each project, then all again.
    pub fn next(&self, current: ProjectFilter) -> ProjectFilter {
        let ids: Vec<Uuid> = self.0.iter().map(|s| s.project.id).collect();
        match current {
            ProjectFilter::All => ProjectFilter::Personal,
            ProjectFilter::Personal => ids
                .first()
                .map_or(ProjectFilter::All, |id| ProjectFilter::Only(*id)),
            ProjectFilter::Only(id) => {
                let at = ids.iter().position(|p| *p == id);
                match at.and_then(|i| ids.get(i + 1)) {
                    Some(next) => ProjectFilter::Only(*next),
                    None => ProjectFilter::All,
                }
            }
        }
    }

    /// How the filter reads in the header: `Household (editor)`.
    pub fn describe(&self, filter: ProjectFilter) -> Option<String> {
        match filter {
            ProjectFilter::All => None,
            ProjectFilter::Personal => Some("personal tasks".into()),
            ProjectFilter::Only(id) => Some(match self.get(id) {
                Some(s) => format!("{} ({})", s.project.name, s.project.role),
                None => "a project you left".into(),
            }),
        }
    }

    /// Why the user may not change tasks in `project`, if they may not: the message the
    /// list shows instead of opening a form that would fail on save.
    pub fn read_only(&self, project: Option<Uuid>) -> Option<String> {
        let id = project?;
        match self.get(id) {
            Some(s) if s.project.role < Role::Editor => Some(format!(
                "{} is read-only for you: you are a {} there",
                todo_api::text::printable(&s.project.name, false),
                s.project.role
            )),
            _ => None,
        }
    }

    /// Who changed `task` last, as the detail pane says it: `you`, a member's address,
    /// or nothing for a personal task.
    pub fn changed_by(&self, task: &Task, me: Option<Uuid>) -> Option<String> {
        let project = self.get(task.project_id?)?;
        if Some(task.updated_by) == me {
            return Some("you".into());
        }
        let email = project
            .members
            .iter()
            .find(|m| m.user_id == task.updated_by)
            .map(|m| m.email.clone());
        Some(email.unwrap_or_else(|| "a former member".into()))
    }
}
