//! The server's persistent state in its data directory: the SQLite store (users and
//! registrations) and the Digest nonce key, both created on first use.

use std::io::Write;
use std::path::{Path, PathBuf};
use std::sync::Arc;

use anyhow::Context;
use sipwarden_auth::{DigestAuth, NonceKeys};
use sipwarden_core::RegistrarService;
use sipwarden_store::{
    CachedLocation, CachedUsers, GroupCommit, LocationStore, SqliteStore, UserStore,
};
use sipwarden_transport::ListenSpec;

use crate::config::Config;

/// File name of the store inside the data directory.
pub const STORE_FILE: &str = "sipwarden.db";
/// File name of the nonce key inside the data directory.
pub const NONCE_KEY_FILE: &str = "nonce.key";

/// The data directory: command line, then configuration, then the default.
pub fn data_dir(arg: Option<&Path>, config: &Config) -> PathBuf {
    arg.map(Path::to_path_buf)
        .or_else(|| config.data_dir.clone())
        .unwrap_or_else(crate::serve::default_data_dir)
}

/// Creates the data directory (0700) if needed.
pub fn ensure_dir(dir: &Path) -> anyhow::Result<()> {
    use std::os::unix::fs::DirBuilderExt;
    std::fs::DirBuilder::new()
        .recursive(true)
        .mode(0o700)
        .create(dir)
        .with_context(|| format!("cannot create data directory {}", dir.display()))
}

/// Opens (creating on first use) the store in `dir`.
pub fn open_store(dir: &Path) -> anyhow::Result<SqliteStore> {
    ensure_dir(dir)?;
    let path = dir.join(STORE_FILE);
    SqliteStore::open(&path).with_context(|| format!("cannot open store {}", path.display()))
}

/// The nonce key: 32 random bytes, hex, in a 0600 file made on first use. Instances that
/// share it verify each other's challenges.
pub fn nonce_key(dir: &Path) -> anyhow::Result<Vec<u8>> {
    let path = dir.join(NONCE_KEY_FILE);
    if let Ok(text) = std::fs::read_to_string(&path) {
        let key = decode_hex(text.trim())
            .with_context(|| format!("{} does not hold a hex key", path.display()))?;
        anyhow::ensure!(
            key.len() >= sipwarden_auth::MIN_KEY_LEN,
            "{} holds a key shorter than {} bytes",
            path.display(),
            sipwarden_auth::MIN_KEY_LEN
        );
        return Ok(key);
    }
    ensure_dir(dir)?;
    let mut key = vec![0u8; 32];
    aws_lc_rs::rand::fill(&mut key).map_err(|_| anyhow::anyhow!("no randomness available"))?;
    let hex: String = key.iter().map(|b| format!("{b:02x}")).collect();
    use std::os::unix::fs::OpenOptionsExt;
    let mut f = std::fs::OpenOptions::new()
        .write(true)
        .create_new(true)
        .mode(0o600)
        .open(&path)
        .with_context(|| format!("cannot create {}", path.display()))?;
    writeln!(f, "{hex}").with_context(|| format!("cannot write {}", path.display()))?;
    Ok(key)
}

fn decode_hex(text: &str) -> Option<Vec<u8>> {
    if !text.len().is_multiple_of(2) {
        return None;
    }
    (0..text.len())
        .step_by(2)
        .map(|i| {
            text.get(i..i + 2)
                .and_then(|h| u8::from_str_radix(h, 16).ok())
        })
        .collect()
}

/// The stores a running server shares between its registrar and its proxy: accounts
/// read from SQLite, bindings served from memory and group-committed to SQLite.
#[derive(Clone)]
pub struct Stores {
    /// Accounts (read on every authentication; written by the user commands).
    pub users: Arc<dyn UserStore>,
    /// Bindings, as observed by `location` in [`registrar`].
    pub location: Arc<dyn LocationStore>,
}

/// Opens the server's stores in `dir` on one connection: the accounts in memory
/// ([`CachedUsers`] tells changes made by the user commands from the server's own writes
/// by that connection) and the bindings in memory with a group-committing writer.
pub fn open_server_stores(dir: &Path) -> anyhow::Result<(Arc<CachedUsers>, Arc<CachedLocation>)> {
    let db = Arc::new(open_store(dir)?);
    let now = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.as_secs());
    let location = CachedLocation::open(
        Arc::clone(&db),
        now,
        GroupCommit::default(),
        Box::new(|err| tracing::error!(%err, "registrations not yet saved; retrying")),
    )
    .context("cannot load the registrations")?;
    Ok((Arc::new(CachedUsers::new(db)), Arc::new(location)))
}

/// The registrar over the stores in `dir`; `location` wraps the location service (to
/// observe the bindings it gains and loses). Returns the stores too, for the proxy.
pub fn registrar(
    config: &Config,
    dir: &Path,
    listen: &[ListenSpec],
    location: impl FnOnce(Arc<dyn LocationStore>) -> Arc<dyn LocationStore>,
) -> anyhow::Result<(RegistrarService, Stores)> {
    let (users, cached) = open_server_stores(dir)?;
    let keys = NonceKeys::new(&nonce_key(dir)?).context("bad nonce key")?;
    let digest = DigestAuth::new(config.digest()?, keys).context("bad [auth] settings")?;
    let stores = Stores {
        users,
        location: location(cached),
    };
    Ok((
        RegistrarService::new(
            config.registrar()?,
            config.domains(listen)?,
            digest,
            Arc::clone(&stores.users),
            Arc::clone(&stores.location),
        ),
        stores,
    ))
}
