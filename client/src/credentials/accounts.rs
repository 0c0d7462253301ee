//! Which accounts are signed in on each server, and which one each server uses now (as
//! `gh auth switch` keeps it). No secrets here: the tokens stay in the keyring or the
//! credentials file; this index only names the accounts, so it can be listed (a keyring
//! cannot be).

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};
use uuid::Uuid;

use crate::ClientError;

/// One signed-in account, as `todo auth status` lists it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Account {
    pub server: String,
    pub user_id: Uuid,
    pub email: String,
    /// The account commands on this server use.
    pub active: bool,
}

#[derive(Debug, Default, Serialize, Deserialize)]
pub(crate) struct AccountIndex {
    #[serde(default)]
    servers: BTreeMap<String, ServerAccounts>,
}

#[derive(Debug, Default, Serialize, Deserialize)]
struct ServerAccounts {
    active: Option<Uuid>,
    /// User id to email.
    #[serde(default)]
    accounts: BTreeMap<Uuid, String>,
}

impl AccountIndex {
    pub(crate) fn active(&self, server: &str) -> Option<Uuid> {
        let on = self.servers.get(server)?;
        on.active.filter(|id| on.accounts.contains_key(id))
    }

    pub(crate) fn has_server(&self, server: &str) -> bool {
        self.servers.get(server).is_some_and(|on| !on.accounts.is_empty())
    }

    /// Adds or renames an account; it becomes the server's active one when `activate`,
    /// or when the server has none.
    pub(crate) fn upsert(&mut self, server: &str, user_id: Uuid, email: &str, activate: bool) {
        let on = self.servers.entry(server.to_string()).or_default();
        on.accounts.insert(user_id, email.to_string());
        if activate || on.active.is_none_or(|id| !on.accounts.contains_key(&id)) {
            on.active = Some(user_id);
        }
    }

    /// Drops an account; when it was the active one, another on the same server (the
    /// first by email) takes its place, and is returned.
    pub(crate) fn remove(&mut self, server: &str, user_id: Uuid) -> Option<Account> {
        let on = self.servers.get_mut(server)?;
        on.accounts.remove(&user_id);
        if on.active == Some(user_id) || on.active.is_none() {
            on.active = on.accounts.iter().min_by(|a, b| a.1.cmp(b.1)).map(|(id, _)| *id);
        }
        if on.accounts.is_empty() {
            self.servers.remove(server);
            return None;
        }
        self.list().into_iter().find(|a| a.server == server && a.active)
    }

    /// Every account, by server, then email.
    pub(crate) fn list(&self) -> Vec<Account> {
        let mut all = Vec::new();
        for (server, on) in &self.servers {
            let mut accounts: Vec<Account> = on
                .accounts
                .iter()
                .map(|(id, email)| Account {
                    server: server.clone(),
                    user_id: *id,
                    email: email.clone(),
                    active: on.active == Some(*id),
                })
                .collect();
            accounts.sort_by(|a, b| a.email.cmp(&b.email));
            all.extend(accounts);
        }
        all
    }

    /// The account `wanted` names on `server` (its email in any case, or the start of
    /// its id); with nothing named, the other one when the server has exactly two.
    pub(crate) fn choose(&self, server: &str, wanted: Option<&str>) -> Result<Uuid, ClientError> {
        let accounts: Vec<Account> = self.list().into_iter().filter(|a| a.server == server).collect();
        let known = || {
            accounts
                .iter()
                .map(|a| a.email.as_str())
                .collect::<Vec<_>>()
                .join(", ")
        };
        let Some(wanted) = wanted.map(str::trim) else {
            return match accounts.as_slice() {
                [a, b] => Ok(if a.active { b.user_id } else { a.user_id }),
                [] => Err(ClientError::NotSignedIn {
                    server: server.to_string(),
                }),
                [_] => Err(ClientError::Account(format!(
                    "{} is the only account signed in on {server}; sign in to another with `todo auth signin`",
                    known()
                ))),
                _ => Err(ClientError::Account(format!(
                    "several accounts are signed in on {server} ({}): name the one to use",
                    known()
                ))),
            };
        };
        let id_prefix = wanted.replace('-', "").to_ascii_lowercase();
        let matches: Vec<&Account> = accounts
            .iter()
            .filter(|a| {
                a.email.eq_ignore_ascii_case(wanted)
                    || (id_prefix.len() >= 4 && a.user_id.simple().to_string().starts_with(&id_prefix))
            })
            .collect();
        match matches.as_slice() {
            [one] => Ok(one.user_id),
            [] if accounts.is_empty() => Err(ClientError::NotSignedIn {
                server: server.to_string(),
            }),
            [] => Err(ClientError::Account(format!(
                "{wanted} is not signed in on {server} (signed in: {}); sign in with `todo auth signin --email {wanted}`",
                known()
            ))),
            _ => Err(ClientError::Account(format!(
                "{wanted} matches several accounts on {server}: give more of the id"
            ))),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const S: &str = "http://a";

    fn index_with(emails: &[&str]) -> (AccountIndex, Vec<Uuid>) {
        let mut index = AccountIndex::default();
        let ids: Vec<Uuid> = emails.iter().map(|_| Uuid::new_v4()).collect();
        for (id, email) in ids.iter().zip(emails) {
            index.upsert(S, *id, email, true);
        }
        (index, ids)
    }

    #[test]
    fn the_last_signed_in_is_active_and_a_refresh_does_not_switch() {
        let (mut index, ids) = index_with(&["ann@x", "bob@x"]);
        assert_eq!(index.active(S), Some(ids[1]));
        index.upsert(S, ids[0], "ann@x", false);
        assert_eq!(index.active(S), Some(ids[1]));
    }

    #[test]
    fn choose_by_email_in_any_case_by_id_prefix_or_the_other_of_two() {
        let (index, ids) = index_with(&["ann@x", "bob@x"]);
        assert_eq!(index.choose(S, Some("ANN@x")).ok(), Some(ids[0]));
        let prefix = &ids[0].simple().to_string()[..6];
        assert_eq!(index.choose(S, Some(prefix)).ok(), Some(ids[0]));
        assert_eq!(index.choose(S, None).ok(), Some(ids[0]));
        let unknown = index.choose(S, Some("cat@x")).expect_err("not signed in");
        assert!(unknown.to_string().contains("ann@x, bob@x"), "{unknown}");
    }

    #[test]
    fn choose_without_a_name_among_three_asks_for_one() {
        let (index, _) = index_with(&["ann@x", "bob@x", "cat@x"]);
        let e = index.choose(S, None).expect_err("ambiguous");
        assert!(e.to_string().contains("name the one"), "{e}");
    }

    #[test]
    fn removing_the_active_account_activates_another_and_the_last_empties_the_server() {
        let (mut index, ids) = index_with(&["ann@x", "bob@x"]);
        let next = index.remove(S, ids[1]).expect("ann remains");
        assert_eq!((next.user_id, next.active), (ids[0], true));
        assert_eq!(index.remove(S, ids[0]), None);
        assert!(!index.has_server(S));
        assert!(index.list().is_empty());
    }
}
