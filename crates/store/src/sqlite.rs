//! The embedded default backend: one SQLite file in WAL mode.
//!
//! WAL with `synchronous=NORMAL` makes every committed write survive the process being
//! killed (only a power loss can drop the last transactions), which is what "registrations
//! survive a restart and a kill -9" needs, at a cost of microseconds per write.

use std::path::Path;
use std::sync::Mutex;

use rusqlite::{params, Connection, OptionalExtension, Row};

use crate::{Binding, Ha1Hashes, LocationStore, StoreError, UserRecord, UserStore};

/// Schema version this build writes (`PRAGMA user_version`).
const SCHEMA_VERSION: i64 = 1;

const SCHEMA: &str = "
CREATE TABLE IF NOT EXISTS users (
    domain          TEXT NOT NULL,
    username        TEXT NOT NULL,
    ha1_md5         TEXT,
    ha1_sha256      TEXT,
    ha1_sha512_256  TEXT,
    PRIMARY KEY (domain, username)
) WITHOUT ROWID;
CREATE TABLE IF NOT EXISTS bindings (
    aor         TEXT NOT NULL,
    key         TEXT NOT NULL,
    contact     TEXT NOT NULL,
    expires_at  INTEGER NOT NULL,
    q           INTEGER NOT NULL,
    call_id     TEXT NOT NULL,
    cseq        INTEGER NOT NULL,
    path        TEXT NOT NULL,
    instance    TEXT,
    reg_id      INTEGER,
    source      TEXT NOT NULL,
    source_ip   TEXT NOT NULL,
    transport   TEXT NOT NULL,
    flow        TEXT,
    user_agent  TEXT,
    PRIMARY KEY (aor, key)
) WITHOUT ROWID;
-- The server answers expiry and per-source questions from its memory index; secondary
-- indexes here would only make every registration write three b-trees instead of one.
DROP INDEX IF EXISTS bindings_expiry;
DROP INDEX IF EXISTS bindings_source;
";

/// Users and bindings in one SQLite database file.
#[derive(Debug)]
pub struct SqliteStore {
    conn: Mutex<Connection>,
}

impl SqliteStore {
    /// Opens (creating if needed) the store at `path`.
    pub fn open(path: &Path) -> Result<SqliteStore, StoreError> {
        let conn = Connection::open(path).map_err(|source| StoreError::Open {
            path: path.display().to_string(),
            source,
        })?;
        SqliteStore::init(conn)
    }

    /// A private in-memory database (tests, tools).
    pub fn open_in_memory() -> Result<SqliteStore, StoreError> {
        SqliteStore::init(Connection::open_in_memory()?)
    }

    fn init(conn: Connection) -> Result<SqliteStore, StoreError> {
        // journal_mode returns a row, so it is read rather than executed.
        let _mode: String = conn.query_row("PRAGMA journal_mode=WAL", [], |r| r.get(0))?;
        conn.execute_batch(
            "PRAGMA synchronous=NORMAL; PRAGMA foreign_keys=ON; PRAGMA busy_timeout=5000;",
        )?;
        let version: i64 = conn.query_row("PRAGMA user_version", [], |r| r.get(0))?;
        if version > SCHEMA_VERSION {
            return Err(StoreError::SchemaTooNew {
                found: version,
                supported: SCHEMA_VERSION,
            });
        }
        conn.execute_batch(SCHEMA)?;
        conn.execute_batch(&format!("PRAGMA user_version={SCHEMA_VERSION}"))?;
        Ok(SqliteStore {
            conn: Mutex::new(conn),
        })
    }

    fn with<T>(
        &self,
        f: impl FnOnce(&mut Connection) -> Result<T, StoreError>,
    ) -> Result<T, StoreError> {
        let mut conn = self.conn.lock().map_err(|_| StoreError::Poisoned)?;
        f(&mut conn)
    }
}

fn user_from_row(row: &Row<'_>) -> rusqlite::Result<UserRecord> {
    Ok(UserRecord {
        domain: row.get(0)?,
        username: row.get(1)?,
        ha1: Ha1Hashes {
            md5: row.get(2)?,
            sha256: row.get(3)?,
            sha512_256: row.get(4)?,
        },
    })
}

const USER_COLUMNS: &str = "domain, username, ha1_md5, ha1_sha256, ha1_sha512_256";

impl SqliteStore {
    /// A number that changes whenever another connection (another process, such as the
    /// user commands) commits to the database; this connection's own commits leave it.
    pub fn data_version(&self) -> Result<i64, StoreError> {
        self.with(|c| {
            let mut stmt = c.prepare_cached("PRAGMA data_version")?;
            Ok(stmt.query_row([], |r| r.get(0))?)
        })
    }

    /// [`SqliteStore::data_version`] if the connection is free right now; `None` while
    /// another thread uses it (a group commit, which may include a checkpoint's fsync).
    pub fn try_data_version(&self) -> Option<i64> {
        let conn = match self.conn.try_lock() {
            Ok(c) => c,
            Err(_) => return None,
        };
        let mut stmt = conn.prepare_cached("PRAGMA data_version").ok()?;
        stmt.query_row([], |r| r.get(0)).ok()
    }

    /// How many accounts there are.
    pub fn user_count(&self) -> Result<usize, StoreError> {
        self.with(|c| {
            let n: i64 = c.query_row("SELECT COUNT(*) FROM users", [], |r| r.get(0))?;
            Ok(usize::try_from(n).unwrap_or(usize::MAX))
        })
    }
}

impl UserStore for SqliteStore {
    fn user(&self, domain: &str, username: &str) -> Result<Option<UserRecord>, StoreError> {
        self.with(|c| {
            let mut stmt = c.prepare_cached(&format!(
                "SELECT {USER_COLUMNS} FROM users WHERE domain = ?1 AND username = ?2"
            ))?;
            Ok(stmt
                .query_row(params![domain, username], user_from_row)
                .optional()?)
        })
    }

    fn add_user(&self, user: &UserRecord) -> Result<(), StoreError> {
        self.with(|c| {
            let n = c.execute(
                &format!(
                    "INSERT OR IGNORE INTO users ({USER_COLUMNS}) VALUES (?1, ?2, ?3, ?4, ?5)"
                ),
                params![
                    user.domain,
                    user.username,
                    user.ha1.md5,
                    user.ha1.sha256,
                    user.ha1.sha512_256
                ],
            )?;
            if n == 0 {
                return Err(StoreError::UserExists(format!(
                    "{}@{}",
                    user.username, user.domain
                )));
            }
            Ok(())
        })
    }

    fn update_user(&self, user: &UserRecord) -> Result<(), StoreError> {
        self.with(|c| {
            let n = c.execute(
                "UPDATE users SET ha1_md5 = ?3, ha1_sha256 = ?4, ha1_sha512_256 = ?5
                 WHERE domain = ?1 AND username = ?2",
                params![
                    user.domain,
                    user.username,
                    user.ha1.md5,
                    user.ha1.sha256,
                    user.ha1.sha512_256
                ],
            )?;
            if n == 0 {
                return Err(StoreError::NoSuchUser(format!(
                    "{}@{}",
                    user.username, user.domain
                )));
            }
            Ok(())
        })
    }

    fn upsert_users(&self, users: &[UserRecord]) -> Result<usize, StoreError> {
        self.with(|c| {
            let tx = c.transaction()?;
            {
                let mut stmt = tx.prepare_cached(&format!(
                    "INSERT OR REPLACE INTO users ({USER_COLUMNS}) VALUES (?1, ?2, ?3, ?4, ?5)"
                ))?;
                for u in users {
                    stmt.execute(params![
                        u.domain,
                        u.username,
                        u.ha1.md5,
                        u.ha1.sha256,
                        u.ha1.sha512_256
                    ])?;
                }
            }
            tx.commit()?;
            Ok(users.len())
        })
    }

    fn delete_user(&self, domain: &str, username: &str) -> Result<bool, StoreError> {
        self.with(|c| {
            Ok(c.execute(
                "DELETE FROM users WHERE domain = ?1 AND username = ?2",
                params![domain, username],
            )? > 0)
        })
    }

    fn list_users(&self, domain: Option<&str>) -> Result<Vec<UserRecord>, StoreError> {
        self.with(|c| {
            let mut stmt = c.prepare_cached(&format!(
                "SELECT {USER_COLUMNS} FROM users WHERE ?1 IS NULL OR domain = ?1
                 ORDER BY domain, username"
            ))?;
            let rows = stmt.query_map(params![domain], user_from_row)?;
            Ok(rows.collect::<Result<Vec<_>, _>>()?)
        })
    }
}

const BINDING_COLUMNS: &str = "aor, key, contact, expires_at, q, call_id, cseq, path, instance, \
                               reg_id, source, transport, flow, user_agent";

fn binding_from_row(row: &Row<'_>) -> rusqlite::Result<Binding> {
    let expires_at: i64 = row.get(3)?;
    let q: i64 = row.get(4)?;
    let cseq: i64 = row.get(6)?;
    let path: String = row.get(7)?;
    let reg_id: Option<i64> = row.get(9)?;
    Ok(Binding {
        aor: row.get(0)?,
        key: row.get(1)?,
        contact: row.get(2)?,
        expires_at: u64::try_from(expires_at).unwrap_or(0),
        q: u16::try_from(q).unwrap_or(1000),
        call_id: row.get(5)?,
        cseq: u32::try_from(cseq).unwrap_or(0),
        // URIs cannot contain a raw newline (the parser refuses control bytes).
        path: path
            .split('\n')
            .filter(|s| !s.is_empty())
            .map(str::to_owned)
            .collect(),
        instance: row.get(8)?,
        reg_id: reg_id.and_then(|r| u32::try_from(r).ok()),
        source: row.get(10)?,
        transport: row.get(11)?,
        flow: row.get(12)?,
        user_agent: row.get(13)?,
    })
}

/// SQLite integers are signed 64-bit; seconds since the epoch fit for billions of years.
fn as_i64(v: u64) -> i64 {
    i64::try_from(v).unwrap_or(i64::MAX)
}

/// One location write, as [`SqliteStore::write_batch`] takes it.
#[derive(Debug, Clone)]
pub enum LocationWrite {
    /// [`LocationStore::apply`].
    Apply {
        /// The address-of-record.
        aor: String,
        /// Bindings written by AOR and key.
        upserts: Vec<Binding>,
        /// Keys of the AOR's bindings to delete.
        removals: Vec<String>,
    },
    /// [`LocationStore::remove_aor`].
    RemoveAor(String),
    /// [`LocationStore::purge_expired`] at this time.
    PurgeExpired(u64),
}

impl SqliteStore {
    /// Applies `writes` in order, in one transaction: all of them or none.
    pub fn write_batch(&self, writes: &[LocationWrite]) -> Result<(), StoreError> {
        self.with(|c| {
            let tx = c.transaction()?;
            for w in writes {
                match w {
                    LocationWrite::Apply {
                        aor,
                        upserts,
                        removals,
                    } => write_apply(&tx, aor, upserts, removals)?,
                    LocationWrite::RemoveAor(aor) => {
                        delete_aor(&tx, aor)?;
                    }
                    LocationWrite::PurgeExpired(now) => {
                        delete_expired(&tx, *now)?;
                    }
                }
            }
            tx.commit()?;
            Ok(())
        })
    }
}

fn delete_aor(c: &Connection, aor: &str) -> Result<usize, StoreError> {
    Ok(c.prepare_cached("DELETE FROM bindings WHERE aor = ?1")?
        .execute(params![aor])?)
}

fn delete_expired(c: &Connection, now: u64) -> Result<usize, StoreError> {
    Ok(
        c.prepare_cached("DELETE FROM bindings WHERE expires_at <= ?1")?
            .execute(params![as_i64(now)])?,
    )
}

fn write_apply(
    tx: &rusqlite::Transaction<'_>,
    aor: &str,
    upserts: &[Binding],
    removals: &[String],
) -> Result<(), StoreError> {
    let mut del = tx.prepare_cached("DELETE FROM bindings WHERE aor = ?1 AND key = ?2")?;
    for k in removals {
        del.execute(params![aor, k])?;
    }
    // An upsert updates a refreshed binding in place instead of deleting and inserting.
    let mut ins = tx.prepare_cached(&format!(
        "INSERT INTO bindings ({BINDING_COLUMNS}, source_ip)
         VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, ?13, ?14, ?15)
         ON CONFLICT (aor, key) DO UPDATE SET contact = ?3, expires_at = ?4, q = ?5,
           call_id = ?6, cseq = ?7, path = ?8, instance = ?9, reg_id = ?10, source = ?11,
           transport = ?12, flow = ?13, user_agent = ?14, source_ip = ?15"
    ))?;
    for b in upserts {
        ins.execute(params![
            aor,
            b.key,
            b.contact,
            as_i64(b.expires_at),
            i64::from(b.q),
            b.call_id,
            i64::from(b.cseq),
            b.path.join("\n"),
            b.instance,
            b.reg_id.map(i64::from),
            b.source,
            b.transport,
            b.flow,
            b.user_agent,
            crate::source_ip(&b.source)
        ])?;
    }
    Ok(())
}

impl LocationStore for SqliteStore {
    fn bindings(&self, aor: &str, now: u64) -> Result<Vec<Binding>, StoreError> {
        self.with(|c| {
            let mut stmt = c.prepare_cached(&format!(
                "SELECT {BINDING_COLUMNS} FROM bindings WHERE aor = ?1 AND expires_at > ?2
                 ORDER BY key"
            ))?;
            let rows = stmt.query_map(params![aor, as_i64(now)], binding_from_row)?;
            Ok(rows.collect::<Result<Vec<_>, _>>()?)
        })
    }

    fn apply(&self, aor: &str, upserts: &[Binding], removals: &[String]) -> Result<(), StoreError> {
        self.with(|c| {
            let tx = c.transaction()?;
            write_apply(&tx, aor, upserts, removals)?;
            tx.commit()?;
            Ok(())
        })
    }

    fn remove_aor(&self, aor: &str) -> Result<usize, StoreError> {
        self.with(|c| delete_aor(c, aor))
    }

    fn purge_expired(&self, now: u64) -> Result<usize, StoreError> {
        self.with(|c| delete_expired(c, now))
    }

    fn count_from_ip(&self, ip: &str, now: u64) -> Result<usize, StoreError> {
        self.with(|c| {
            let mut stmt = c.prepare_cached(
                "SELECT COUNT(*) FROM bindings WHERE source_ip = ?1 AND expires_at > ?2",
            )?;
            let n: i64 = stmt.query_row(params![ip, as_i64(now)], |r| r.get(0))?;
            Ok(usize::try_from(n).unwrap_or(usize::MAX))
        })
    }

    fn all_bindings(&self, now: u64) -> Result<Vec<Binding>, StoreError> {
        self.with(|c| {
            let mut stmt = c.prepare_cached(&format!(
                "SELECT {BINDING_COLUMNS} FROM bindings WHERE expires_at > ?1 ORDER BY aor, key"
            ))?;
            let rows = stmt.query_map(params![as_i64(now)], binding_from_row)?;
            Ok(rows.collect::<Result<Vec<_>, _>>()?)
        })
    }
}
