//! A certificate and key read from files, swappable at run time.
//!
//! Each handshake takes an `Arc` of the key current at that moment, so a
//! reload affects new handshakes only; established connections hold their
//! own copy and never notice.

use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex, PoisonError, RwLock};

use rustls::crypto::CryptoProvider;
use rustls::server::{ClientHello, ResolvesServerCert};
use rustls::sign::CertifiedKey;
use rustls::SignatureScheme;

use crate::material::{certified_key, read_file, sha256, Loaded};
use crate::TlsError;

/// What [`ReloadableCert::reload`] did.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ReloadOutcome {
    /// The files held a new, valid certificate and key, now served.
    Replaced,
    /// The files hold what is already served; nothing changed.
    Unchanged,
}

/// A certificate chain and private key loaded from two PEM files, usable as
/// the server certificate (`ResolvesServerCert`) and as the client
/// certificate for mutual TLS (`ResolvesClientCert`).
///
/// The caller decides when to reload: poll [`files_changed`](Self::files_changed)
/// (or react to SIGHUP) and call [`reload`](Self::reload). A reload that
/// fails leaves the previous certificate in service.
#[derive(Debug)]
pub struct ReloadableCert {
    cert_path: PathBuf,
    key_path: PathBuf,
    provider: Arc<CryptoProvider>,
    current: RwLock<Arc<CertifiedKey>>,
    /// Content hashes of what `current` was loaded from. Also serialises
    /// reloads, so two concurrent reloads cannot interleave.
    loaded: Mutex<(Loaded, Loaded)>,
}

impl ReloadableCert {
    /// Loads the chain (leaf first, then intermediates) and the key, with
    /// the crate's crypto provider.
    pub fn load(cert_path: impl AsRef<Path>, key_path: impl AsRef<Path>) -> Result<Self, TlsError> {
        Self::load_with_provider(cert_path, key_path, crate::crypto_provider())
    }

    /// As [`load`](Self::load), with an explicit crypto provider.
    pub fn load_with_provider(
        cert_path: impl AsRef<Path>,
        key_path: impl AsRef<Path>,
        provider: Arc<CryptoProvider>,
    ) -> Result<Self, TlsError> {
        let cert_path = cert_path.as_ref().to_owned();
        let key_path = key_path.as_ref().to_owned();
        let (key, cert_loaded, key_loaded) = read_pair(&cert_path, &key_path, &provider)?;
        Ok(Self {
            cert_path,
            key_path,
            provider,
            current: RwLock::new(Arc::new(key)),
            loaded: Mutex::new((cert_loaded, key_loaded)),
        })
    }

    /// Re-reads both files. When they are valid and differ from what is
    /// served, new handshakes get the new certificate. When they are not
    /// valid, the error names the file and the problem, and the previous
    /// certificate stays in service.
    pub fn reload(&self) -> Result<ReloadOutcome, TlsError> {
        let mut loaded = self.loaded.lock().unwrap_or_else(PoisonError::into_inner);
        let (key, cert_loaded, key_loaded) =
            read_pair(&self.cert_path, &self.key_path, &self.provider)?;
        if loaded.0 == cert_loaded && loaded.1 == key_loaded {
            return Ok(ReloadOutcome::Unchanged);
        }
        *self.current.write().unwrap_or_else(PoisonError::into_inner) = Arc::new(key);
        *loaded = (cert_loaded, key_loaded);
        Ok(ReloadOutcome::Replaced)
    }

    /// Whether either file's content differs from what was last loaded.
    ///
    /// Compares content hashes, not timestamps: a rotation that keeps the
    /// size and lands within the file system's timestamp granularity is
    /// still seen, a `touch` is not a change, and symlink swaps (as done by
    /// container secret mounts) are followed. The files are a few KiB, so
    /// reading them on every poll is cheap. It stays `true` after a failed
    /// reload, so a poller retries until the pair is consistent again.
    pub fn files_changed(&self) -> Result<bool, TlsError> {
        let loaded = self.loaded.lock().unwrap_or_else(PoisonError::into_inner);
        let cert_hash = sha256(&read_file(&self.cert_path)?);
        let key_hash = sha256(&read_file(&self.key_path)?);
        Ok(cert_hash != loaded.0.hash || key_hash != loaded.1.hash)
    }

    /// The certificate and key currently served.
    pub fn current(&self) -> Arc<CertifiedKey> {
        Arc::clone(&self.current.read().unwrap_or_else(PoisonError::into_inner))
    }

    /// The certificate chain file.
    pub fn cert_path(&self) -> &Path {
        &self.cert_path
    }

    /// The private key file.
    pub fn key_path(&self) -> &Path {
        &self.key_path
    }
}

fn read_pair(
    cert_path: &Path,
    key_path: &Path,
    provider: &CryptoProvider,
) -> Result<(CertifiedKey, Loaded, Loaded), TlsError> {
    let cert_pem = read_file(cert_path)?;
    let key_pem = read_file(key_path)?;
    let key = certified_key(cert_path, &cert_pem, key_path, &key_pem, provider)?;
    Ok((
        key,
        Loaded {
            path: cert_path.to_owned(),
            hash: sha256(&cert_pem),
        },
        Loaded {
            path: key_path.to_owned(),
            hash: sha256(&key_pem),
        },
    ))
}

impl ResolvesServerCert for ReloadableCert {
    fn resolve(&self, _client_hello: ClientHello<'_>) -> Option<Arc<CertifiedKey>> {
        Some(self.current())
    }
}

impl rustls::client::ResolvesClientCert for ReloadableCert {
    fn resolve(
        &self,
        _root_hint_subjects: &[&[u8]],
        _sigschemes: &[SignatureScheme],
    ) -> Option<Arc<CertifiedKey>> {
        Some(self.current())
    }

    fn has_certs(&self) -> bool {
        true
    }
}
