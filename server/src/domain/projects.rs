//! Validated project types and the rules of roles: who may do what to whom. The rules
//! live here once; the storage ports re-check only what the service read (a
//! [`RoleGuard`]), in the same transaction as the write.

use todo_api::Role;
use todo_api::limits::PROJECT_NAME_MAX;
use todo_api::text;

use super::tasks::InvalidTask;

/// A project's name, checked: 1 to 100 characters on one line, at least one visible.
/// `key` is how names compare for uniqueness (lower case).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ProjectName {
    name: String,
    key: String,
}

impl ProjectName {
    pub fn parse(raw: &str) -> Result<ProjectName, InvalidTask> {
        let name = raw.trim();
        let invalid = |reason: String| InvalidTask {
            field: "name".into(),
            reason,
        };
        let len = name.chars().count();
        if len == 0 || len > PROJECT_NAME_MAX {
            return Err(invalid(format!(
                "name must be 1 to {PROJECT_NAME_MAX} characters"
            )));
        }
        if let Some(c) = text::forbidden_in_line(name) {
            return Err(invalid(format!(
                "name may not hold the control character {}",
                c.escape_unicode()
            )));
        }
        if !text::has_visible(name) {
            return Err(invalid("name has no visible character".into()));
        }
        Ok(ProjectName {
            name: name.to_string(),
            key: name.to_lowercase(),
        })
    }

    pub fn as_str(&self) -> &str {
        &self.name
    }

    /// The form names are unique in, per owner.
    pub fn key(&self) -> &str {
        &self.key
    }
}

/// A role as stored: its rank, so "at least editor" is one comparison in SQL.
pub fn role_rank(role: Role) -> i16 {
    match role {
        Role::Viewer => 1,
        Role::Editor => 2,
        Role::Admin => 3,
        Role::Owner => 4,
    }
}

pub fn role_of_rank(rank: i16) -> Option<Role> {
    Role::ALL.into_iter().find(|r| role_rank(*r) == rank)
}

/// What a write re-checks in its own transaction: the actor is still a member with at
/// least `at_least`, and (for a change to another member) that member still has the
/// role the service decided on. A write whose guard fails changes nothing.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RoleGuard {
    pub actor: uuid::Uuid,
    pub at_least: Role,
}

/// Why a member may not do something: the role they would need.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct NeedsRole(pub Role);

/// The least role that may write a project's tasks.
pub const TASK_WRITER: Role = Role::Editor;

pub fn may(actor: Role, needed: Role) -> Result<(), NeedsRole> {
    if actor >= needed {
        Ok(())
    } else {
        Err(NeedsRole(needed))
    }
}

/// The least role that may give a member who is `from` the role `to` (`None`: remove
/// them): admins manage viewers and editors, only the owner manages admins, and anyone
/// may remove themself (`themself`). Nobody changes or removes the owner (the owner
/// hands over with a transfer): that is refused whatever the caller's role.
pub fn needed_to_change_member(themself: bool, from: Role, to: Option<Role>) -> Result<Role, NeedsRole> {
    if from == Role::Owner || to == Some(Role::Owner) {
        return Err(NeedsRole(Role::Owner));
    }
    if themself && to.is_none() {
        return Ok(Role::Viewer);
    }
    Ok(if from == Role::Admin || to == Some(Role::Admin) {
        Role::Owner
    } else {
        Role::Admin
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_are_one_visible_line_and_compare_without_case() {
        let name = ProjectName::parse("  Home Renovation ").expect("valid");
        assert_eq!(
            (name.as_str(), name.key()),
            ("Home Renovation", "home renovation")
        );
        for bad in ["", "   ", "a\nb", "\u{202e}x", &"x".repeat(101)] {
            assert!(ProjectName::parse(bad).is_err(), "{bad:?}");
        }
    }

    #[test]
    fn ranks_order_the_roles_and_read_back() {
        for role in Role::ALL {
            assert_eq!(role_of_rank(role_rank(role)), Some(role));
        }
        assert!(role_rank(Role::Viewer) < role_rank(Role::Editor));
        assert_eq!(role_of_rank(9), None);
    }

    #[test]
    fn admins_manage_editors_only_the_owner_manages_admins_and_nobody_the_owner() {
        use Role::*;
        let needed = |themself, from, to| needed_to_change_member(themself, from, to);
        assert_eq!(needed(false, Editor, Some(Viewer)), Ok(Admin));
        assert_eq!(needed(false, Viewer, None), Ok(Admin));
        assert_eq!(needed(false, Editor, Some(Admin)), Ok(Owner));
        assert_eq!(needed(false, Admin, None), Ok(Owner));
        assert_eq!(needed(false, Admin, Some(Editor)), Ok(Owner));
        assert!(needed(false, Owner, None).is_err());
        assert!(needed(false, Viewer, Some(Owner)).is_err());
        // Leaving: anyone but the owner.
        assert_eq!(needed(true, Viewer, None), Ok(Viewer));
        assert_eq!(needed(true, Admin, None), Ok(Viewer));
        assert!(needed(true, Owner, None).is_err());
        assert!(may(Admin, Owner).is_err() && may(Owner, Admin).is_ok());
    }
}
