//! An in-memory backend with the same semantics as the SQLite one, for tests.

use std::collections::BTreeMap;
use std::sync::Mutex;

use crate::{Binding, LocationStore, StoreError, UserRecord, UserStore};

/// Users and bindings in memory; nothing survives the process.
#[derive(Debug, Default)]
pub struct MemoryStore {
    users: Mutex<BTreeMap<(String, String), UserRecord>>,
    bindings: Mutex<BTreeMap<(String, String), Binding>>,
}

impl MemoryStore {
    /// An empty store.
    pub fn new() -> MemoryStore {
        MemoryStore::default()
    }
}

fn key(domain: &str, username: &str) -> (String, String) {
    (domain.to_owned(), username.to_owned())
}

impl UserStore for MemoryStore {
    fn user(&self, domain: &str, username: &str) -> Result<Option<UserRecord>, StoreError> {
        let users = self.users.lock().map_err(|_| StoreError::Poisoned)?;
        Ok(users.get(&key(domain, username)).cloned())
    }

    fn add_user(&self, user: &UserRecord) -> Result<(), StoreError> {
        let mut users = self.users.lock().map_err(|_| StoreError::Poisoned)?;
        let k = key(&user.domain, &user.username);
        if users.contains_key(&k) {
            return Err(StoreError::UserExists(format!(
                "{}@{}",
                user.username, user.domain
            )));
        }
        users.insert(k, user.clone());
        Ok(())
    }

    fn update_user(&self, user: &UserRecord) -> Result<(), StoreError> {
        let mut users = self.users.lock().map_err(|_| StoreError::Poisoned)?;
        match users.get_mut(&key(&user.domain, &user.username)) {
            Some(existing) => {
                *existing = user.clone();
                Ok(())
            }
            None => Err(StoreError::NoSuchUser(format!(
                "{}@{}",
                user.username, user.domain
            ))),
        }
    }

    fn upsert_users(&self, new_users: &[UserRecord]) -> Result<usize, StoreError> {
        let mut users = self.users.lock().map_err(|_| StoreError::Poisoned)?;
        for u in new_users {
            users.insert(key(&u.domain, &u.username), u.clone());
        }
        Ok(new_users.len())
    }

    fn delete_user(&self, domain: &str, username: &str) -> Result<bool, StoreError> {
        let mut users = self.users.lock().map_err(|_| StoreError::Poisoned)?;
        Ok(users.remove(&key(domain, username)).is_some())
    }

    fn list_users(&self, domain: Option<&str>) -> Result<Vec<UserRecord>, StoreError> {
        let users = self.users.lock().map_err(|_| StoreError::Poisoned)?;
        Ok(users
            .values()
            .filter(|u| domain.is_none_or(|d| u.domain == d))
            .cloned()
            .collect())
    }
}

impl LocationStore for MemoryStore {
    fn bindings(&self, aor: &str, now: u64) -> Result<Vec<Binding>, StoreError> {
        let b = self.bindings.lock().map_err(|_| StoreError::Poisoned)?;
        Ok(b.range((aor.to_owned(), String::new())..)
            .take_while(|((a, _), _)| a == aor)
            .filter(|(_, v)| v.expires_at > now)
            .map(|(_, v)| v.clone())
            .collect())
    }

    fn apply(&self, aor: &str, upserts: &[Binding], removals: &[String]) -> Result<(), StoreError> {
        let mut b = self.bindings.lock().map_err(|_| StoreError::Poisoned)?;
        for k in removals {
            b.remove(&(aor.to_owned(), k.clone()));
        }
        for u in upserts {
            b.insert((aor.to_owned(), u.key.clone()), u.clone());
        }
        Ok(())
    }

    fn remove_aor(&self, aor: &str) -> Result<usize, StoreError> {
        let mut b = self.bindings.lock().map_err(|_| StoreError::Poisoned)?;
        let before = b.len();
        b.retain(|(a, _), _| a != aor);
        Ok(before - b.len())
    }

    fn purge_expired(&self, now: u64) -> Result<usize, StoreError> {
        let mut b = self.bindings.lock().map_err(|_| StoreError::Poisoned)?;
        let before = b.len();
        b.retain(|_, v| v.expires_at > now);
        Ok(before - b.len())
    }

    fn all_bindings(&self, now: u64) -> Result<Vec<Binding>, StoreError> {
        let b = self.bindings.lock().map_err(|_| StoreError::Poisoned)?;
        Ok(b.values().filter(|v| v.expires_at > now).cloned().collect())
    }

    fn count_from_ip(&self, ip: &str, now: u64) -> Result<usize, StoreError> {
        let b = self.bindings.lock().map_err(|_| StoreError::Poisoned)?;
        Ok(b.values()
            .filter(|v| v.expires_at > now && crate::source_ip(&v.source) == ip)
            .count())
    }
}
