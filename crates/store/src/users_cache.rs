//! Accounts served from memory: the whole users table is loaded at start and again
//! whenever another process (the user commands) commits to the database, so every
//! authentication is a hash lookup — for known and unknown names alike, which keeps the
//! answer time the same for both — and nothing on the request path reads SQLite.
//!
//! Freshness costs one `PRAGMA data_version` per lookup (skipped, not waited for, while
//! the writer holds the connection). That pragma only moves for
//! commits made by *other* connections, so this cache must share its connection with the
//! server's own writer (the location index's), whose commits would otherwise look like
//! changes.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};

use crate::{SqliteStore, StoreError, UserRecord, UserStore};

/// Above this many accounts the table is not copied into memory; lookups go to SQLite.
pub const MAX_CACHED_USERS: usize = 250_000;

/// The users table in memory, in front of the SQLite store.
#[derive(Debug)]
pub struct CachedUsers {
    db: Arc<SqliteStore>,
    state: Mutex<State>,
}

#[derive(Debug, Default)]
struct State {
    /// The `data_version` the copy was made at; `None` when there is no copy.
    version: Option<i64>,
    users: HashMap<(String, String), UserRecord>,
}

impl CachedUsers {
    /// A cache over `db`, filled on first use.
    pub fn new(db: Arc<SqliteStore>) -> CachedUsers {
        CachedUsers {
            db,
            state: Mutex::new(State::default()),
        }
    }

    fn reload(&self, state: &mut State, version: i64) -> Result<(), StoreError> {
        state.users.clear();
        state.version = None;
        if self.db.user_count()? > MAX_CACHED_USERS {
            return Ok(());
        }
        for u in self.db.list_users(None)? {
            state
                .users
                .insert((u.domain.clone(), u.username.clone()), u);
        }
        state.version = Some(version);
        Ok(())
    }

    /// The account in a copy made at `version`, reloading the copy first if it is older;
    /// straight from the database when there are too many accounts to copy.
    fn lookup(
        &self,
        version: i64,
        key: &(String, String),
    ) -> Result<Option<UserRecord>, StoreError> {
        let mut state = self.state.lock().map_err(|_| StoreError::Poisoned)?;
        if state.version != Some(version) {
            self.reload(&mut state, version)?;
        }
        if state.version.is_none() {
            drop(state);
            return self.db.user(&key.0, &key.1);
        }
        Ok(state.users.get(key).cloned())
    }

    /// Forgets the copy after a write through this cache (this connection's commits do
    /// not move `data_version`).
    fn invalidate(&self) {
        if let Ok(mut s) = self.state.lock() {
            s.version = None;
            s.users.clear();
        }
    }
}

impl UserStore for CachedUsers {
    fn user(&self, domain: &str, username: &str) -> Result<Option<UserRecord>, StoreError> {
        let key = (domain.to_owned(), username.to_owned());
        // While the server's writer holds the connection (a group commit can take
        // milliseconds when it checkpoints), the copy is used as it is rather than
        // stalling the request path — unless the name is missing from it: an account
        // the user commands just added must not be refused for a commit's duration.
        if let Some(version) = self.db.try_data_version() {
            return self.lookup(version, &key);
        }
        {
            let state = self.state.lock().map_err(|_| StoreError::Poisoned)?;
            if state.version.is_some() {
                if let Some(found) = state.users.get(&key) {
                    return Ok(Some(found.clone()));
                }
            }
        }
        let version = self.db.data_version()?;
        self.lookup(version, &key)
    }

    fn add_user(&self, user: &UserRecord) -> Result<(), StoreError> {
        let r = self.db.add_user(user);
        self.invalidate();
        r
    }

    fn update_user(&self, user: &UserRecord) -> Result<(), StoreError> {
        let r = self.db.update_user(user);
        self.invalidate();
        r
    }

    fn upsert_users(&self, users: &[UserRecord]) -> Result<usize, StoreError> {
        let r = self.db.upsert_users(users);
        self.invalidate();
        r
    }

    fn delete_user(&self, domain: &str, username: &str) -> Result<bool, StoreError> {
        let r = self.db.delete_user(domain, username);
        self.invalidate();
        r
    }

    fn list_users(&self, domain: Option<&str>) -> Result<Vec<UserRecord>, StoreError> {
        self.db.list_users(domain)
    }
}
