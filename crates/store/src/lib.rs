//! sipwarden's storage: user credentials (HA1 hashes only) and registrar bindings.
//!
//! Owns: the storage traits the registrar and the user commands program against
//! ([`UserStore`], [`LocationStore`]), the embedded default backend ([`SqliteStore`]:
//! SQLite in WAL mode, created on first use, durable across a crash of the process), the
//! server's location index ([`CachedLocation`]: reads from memory, writes group-committed
//! to SQLite by one thread; [`CachedUsers`]: the accounts in memory, reloaded when another
//! process changes them) and an in-memory backend for tests ([`MemoryStore`]).
//!
//! Refuses: SIP semantics (what a binding means, when it expires, who may register what —
//! that is the registrar's job), clocks (callers pass `now`; the writer thread reads the
//! wall clock only to purge expired rows), and passwords (only HA1 hashes are ever stored).

mod cached;
mod memory;
mod sqlite;
mod users_cache;

pub use cached::{CachedLocation, DurableCallback, ErrorHook, GroupCommit};
pub use memory::MemoryStore;
pub use sqlite::{LocationWrite, SqliteStore};
pub use users_cache::{CachedUsers, MAX_CACHED_USERS};

/// Why a storage operation failed.
#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    /// The database reported an error.
    #[error("database error: {0}")]
    Database(#[from] rusqlite::Error),
    /// The database file could not be opened or created.
    #[error("cannot open store at {path}: {source}")]
    Open {
        /// The file that could not be opened.
        path: String,
        /// What the database said.
        source: rusqlite::Error,
    },
    /// The store was written by a newer sipwarden.
    #[error("store schema version {found} is newer than this sipwarden supports ({supported})")]
    SchemaTooNew {
        /// Version found in the file.
        found: i64,
        /// Highest version this build understands.
        supported: i64,
    },
    /// A lock guarding the store was poisoned by a panic elsewhere.
    #[error("store lock poisoned")]
    Poisoned,
    /// A user that should exist does not.
    #[error("no such user: {0}")]
    NoSuchUser(String),
    /// A user that should not exist does.
    #[error("user already exists: {0}")]
    UserExists(String),
    /// The background writer could not be started.
    #[error("cannot start the store writer: {0}")]
    Writer(String),
    /// The store is closing and takes no more writes.
    #[error("store is closed")]
    Closed,
}

/// HA1 hashes of one user's password, one per Digest algorithm, as lowercase hex.
/// `None` where the algorithm is not provisioned for the user.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Ha1Hashes {
    /// `MD5(username:realm:password)`.
    pub md5: Option<String>,
    /// `SHA-256(username:realm:password)`.
    pub sha256: Option<String>,
    /// `SHA-512-256(username:realm:password)`.
    pub sha512_256: Option<String>,
}

/// A user account.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct UserRecord {
    /// The SIP domain (and Digest realm) the account belongs to.
    pub domain: String,
    /// The user part of the account's AOR and the Digest username.
    pub username: String,
    /// The password's HA1 hashes.
    pub ha1: Ha1Hashes,
}

/// Accounts and their credentials.
pub trait UserStore: Send + Sync {
    /// The account `username@domain`, if it exists.
    fn user(&self, domain: &str, username: &str) -> Result<Option<UserRecord>, StoreError>;
    /// Creates an account; fails with [`StoreError::UserExists`] if it already exists.
    fn add_user(&self, user: &UserRecord) -> Result<(), StoreError>;
    /// Replaces an account's credentials; fails with [`StoreError::NoSuchUser`] if absent.
    fn update_user(&self, user: &UserRecord) -> Result<(), StoreError>;
    /// Creates or replaces many accounts in one transaction; returns how many were written.
    fn upsert_users(&self, users: &[UserRecord]) -> Result<usize, StoreError>;
    /// Deletes an account; returns whether it existed.
    fn delete_user(&self, domain: &str, username: &str) -> Result<bool, StoreError>;
    /// Every account (of one domain, if given), ordered by domain then username.
    fn list_users(&self, domain: Option<&str>) -> Result<Vec<UserRecord>, StoreError>;
}

/// One registered contact of an address-of-record.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Binding {
    /// The address-of-record, canonical form chosen by the registrar.
    pub aor: String,
    /// What identifies this binding within the AOR: the `+sip.instance`/`reg-id` pair when
    /// present (RFC 5626), otherwise the Contact URI.
    pub key: String,
    /// The Contact URI as registered.
    pub contact: String,
    /// When the binding expires, in seconds since the Unix epoch.
    pub expires_at: u64,
    /// Preference in thousandths (`q=0.5` is 500); 1000 when absent.
    pub q: u16,
    /// Call-ID of the REGISTER that last wrote the binding (RFC 3261 §10.3 step 7).
    pub call_id: String,
    /// CSeq number of that REGISTER.
    pub cseq: u32,
    /// Path header values to route through (RFC 3327), in order.
    pub path: Vec<String>,
    /// `+sip.instance` value, if any.
    pub instance: Option<String>,
    /// `reg-id` value, if any.
    pub reg_id: Option<u32>,
    /// Transport source the REGISTER came from (`ip:port`).
    pub source: String,
    /// Transport it came over (`udp`, `tcp`, `tls`, `ws`, `wss`).
    pub transport: String,
    /// The connection (flow) it came over, for connection-oriented transports.
    pub flow: Option<String>,
    /// User-Agent of the registering client, for operators.
    pub user_agent: Option<String>,
}

/// The registrar's location service.
pub trait LocationStore: Send + Sync {
    /// Unexpired bindings of an AOR at `now`.
    fn bindings(&self, aor: &str, now: u64) -> Result<Vec<Binding>, StoreError>;
    /// Atomically writes `upserts` (by AOR and key) and deletes the bindings of `aor` whose
    /// keys are in `removals`.
    fn apply(&self, aor: &str, upserts: &[Binding], removals: &[String]) -> Result<(), StoreError>;
    /// Deletes every binding of an AOR; returns how many there were.
    fn remove_aor(&self, aor: &str) -> Result<usize, StoreError>;
    /// Deletes every binding expired at `now`; returns how many.
    fn purge_expired(&self, now: u64) -> Result<usize, StoreError>;
    /// Every unexpired binding at `now`, ordered by AOR then key.
    fn all_bindings(&self, now: u64) -> Result<Vec<Binding>, StoreError>;
    /// How many unexpired bindings were registered from this IP address (the `source`
    /// field without its port), for the per-source registration limit.
    fn count_from_ip(&self, ip: &str, now: u64) -> Result<usize, StoreError>;
    /// How many unexpired bindings there are at `now` (for the registrations gauge).
    fn count(&self, now: u64) -> Result<usize, StoreError> {
        Ok(self.all_bindings(now)?.len())
    }
    /// Runs `then` once every write made so far is durable: at once for a store that
    /// commits inside [`LocationStore::apply`], after the group commit for
    /// [`CachedLocation`]. A registrar sends its 200 from here.
    fn when_durable(&self, then: DurableCallback) {
        then();
    }
}

/// The IP address part of a `source` (`ip:port` or `[v6]:port`).
pub fn source_ip(source: &str) -> &str {
    match source.parse::<std::net::SocketAddr>() {
        Ok(_) => source.rsplit_once(':').map_or(source, |(ip, _)| {
            ip.trim_start_matches('[').trim_end_matches(']')
        }),
        Err(_) => source,
    }
}
