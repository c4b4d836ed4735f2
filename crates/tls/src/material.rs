//! Reading certificates, keys, trust anchors and CRLs from PEM.
//!
//! Files are read whole into memory and parsed from the bytes, so that the
//! content hashed for change detection is exactly the content parsed.

use std::path::{Path, PathBuf};
use std::sync::Arc;

use rustls::crypto::CryptoProvider;
use rustls::sign::CertifiedKey;
use rustls::RootCertStore;
use rustls_pki_types::pem::PemObject;
use rustls_pki_types::{CertificateDer, CertificateRevocationListDer, PrivateKeyDer};
use webpki::{CertRevocationList, OwnedCertRevocationList};

use crate::TlsError;

/// Reads a whole file, naming it in the error.
pub(crate) fn read_file(path: &Path) -> Result<Vec<u8>, TlsError> {
    std::fs::read(path).map_err(|source| TlsError::Read {
        path: path.to_owned(),
        source,
    })
}

/// SHA-256 of some bytes, for change detection.
pub(crate) fn sha256(bytes: &[u8]) -> [u8; 32] {
    let digest = aws_lc_rs::digest::digest(&aws_lc_rs::digest::SHA256, bytes);
    let mut out = [0u8; 32];
    out.copy_from_slice(digest.as_ref());
    out
}

fn pem_error(path: &Path, e: &rustls_pki_types::pem::Error) -> TlsError {
    TlsError::Pem {
        path: path.to_owned(),
        reason: e.to_string(),
    }
}

/// Every certificate in a PEM buffer, in order; at least one.
pub(crate) fn parse_cert_chain(
    path: &Path,
    pem: &[u8],
) -> Result<Vec<CertificateDer<'static>>, TlsError> {
    let chain = CertificateDer::pem_slice_iter(pem)
        .collect::<Result<Vec<_>, _>>()
        .map_err(|e| pem_error(path, &e))?;
    if chain.is_empty() {
        return Err(TlsError::NoCertificate {
            path: path.to_owned(),
        });
    }
    Ok(chain)
}

/// The first private key (PKCS#8, SEC1 or PKCS#1) in a PEM buffer.
pub(crate) fn parse_private_key(
    path: &Path,
    pem: &[u8],
) -> Result<PrivateKeyDer<'static>, TlsError> {
    match PrivateKeyDer::from_pem_slice(pem) {
        Ok(key) => Ok(key),
        Err(rustls_pki_types::pem::Error::NoItemsFound) => Err(TlsError::NoPrivateKey {
            path: path.to_owned(),
        }),
        Err(e) => Err(pem_error(path, &e)),
    }
}

/// Builds a `CertifiedKey` from PEM chain and key, checking that the key is
/// usable by `provider` and belongs to the leaf certificate.
pub(crate) fn certified_key(
    cert_path: &Path,
    cert_pem: &[u8],
    key_path: &Path,
    key_pem: &[u8],
    provider: &CryptoProvider,
) -> Result<CertifiedKey, TlsError> {
    let chain = parse_cert_chain(cert_path, cert_pem)?;
    if let Some(leaf) = chain.first() {
        webpki::EndEntityCert::try_from(leaf).map_err(|e| TlsError::BadCertificate {
            path: cert_path.to_owned(),
            reason: e.to_string(),
        })?;
    }
    let key = parse_private_key(key_path, key_pem)?;
    let signing_key =
        provider
            .key_provider
            .load_private_key(key)
            .map_err(|e| TlsError::BadPrivateKey {
                path: key_path.to_owned(),
                reason: e.to_string(),
            })?;
    let certified = CertifiedKey::new(chain, signing_key);
    match certified.keys_match() {
        // Some key types cannot report their public key; rustls treats that
        // as "unknown", and so do we.
        Ok(()) | Err(rustls::Error::InconsistentKeys(rustls::InconsistentKeys::Unknown)) => {
            Ok(certified)
        }
        Err(rustls::Error::InconsistentKeys(_)) => Err(TlsError::KeyMismatch {
            cert: cert_path.to_owned(),
            key: key_path.to_owned(),
        }),
        Err(e) => Err(TlsError::BadCertificate {
            path: cert_path.to_owned(),
            reason: e.to_string(),
        }),
    }
}

/// Trust anchors plus optional certificate revocation lists, shared by the
/// outbound server verifier and the inbound client-certificate verifier.
///
/// Cheap to clone (the contents are behind `Arc`s).
#[derive(Clone, Debug)]
pub struct TrustRoots {
    pub(crate) store: Arc<RootCertStore>,
    pub(crate) crls: Arc<Vec<CertificateRevocationListDer<'static>>>,
    pub(crate) parsed_crls: Arc<Vec<Arc<CertRevocationList<'static>>>>,
}

impl Default for TrustRoots {
    fn default() -> Self {
        Self::empty()
    }
}

impl TrustRoots {
    /// No anchors at all; add some before use.
    pub fn empty() -> Self {
        Self {
            store: Arc::new(RootCertStore::empty()),
            crls: Arc::new(Vec::new()),
            parsed_crls: Arc::new(Vec::new()),
        }
    }

    /// Anchors from a PEM file of CA certificates (the common case for SIP
    /// federation: a private or a chosen public CA).
    pub fn from_pem_file(path: impl AsRef<Path>) -> Result<Self, TlsError> {
        let mut roots = Self::empty();
        roots.add_pem_file(path)?;
        Ok(roots)
    }

    /// Anchors from PEM text; `label` names the source in errors.
    pub fn from_pem(label: &str, pem: &[u8]) -> Result<Self, TlsError> {
        let mut roots = Self::empty();
        roots.add_pem(Path::new(label), pem)?;
        Ok(roots)
    }

    /// The operating system's trust store (or `SSL_CERT_FILE`/`SSL_CERT_DIR`
    /// when set). Note: no revocation information comes with it.
    pub fn system() -> Result<Self, TlsError> {
        let loaded = rustls_native_certs::load_native_certs();
        if loaded.certs.is_empty() {
            let reason = loaded
                .errors
                .first()
                .map_or_else(|| "no certificates found".to_owned(), |e| e.to_string());
            return Err(TlsError::SystemRoots { reason });
        }
        let mut store = RootCertStore::empty();
        // The system store routinely holds a few certificates webpki cannot
        // use as anchors; skipping them is what every client does.
        let (_added, _ignored) = store.add_parsable_certificates(loaded.certs);
        if store.is_empty() {
            return Err(TlsError::SystemRoots {
                reason: "no usable certificates".to_owned(),
            });
        }
        Ok(Self {
            store: Arc::new(store),
            ..Self::empty()
        })
    }

    /// Adds every certificate of a PEM file as an anchor; returns how many.
    pub fn add_pem_file(&mut self, path: impl AsRef<Path>) -> Result<usize, TlsError> {
        let path = path.as_ref();
        let pem = read_file(path)?;
        self.add_pem(path, &pem)
    }

    fn add_pem(&mut self, path: &Path, pem: &[u8]) -> Result<usize, TlsError> {
        let certs = parse_cert_chain(path, pem)?;
        let count = certs.len();
        for cert in certs {
            self.add_der(path, cert)?;
        }
        Ok(count)
    }

    /// Adds one DER certificate as an anchor; `label` names it in errors.
    pub fn add_certificate(
        &mut self,
        label: &str,
        der: CertificateDer<'static>,
    ) -> Result<(), TlsError> {
        self.add_der(Path::new(label), der)
    }

    fn add_der(&mut self, path: &Path, der: CertificateDer<'static>) -> Result<(), TlsError> {
        Arc::make_mut(&mut self.store)
            .add(der)
            .map_err(|e| TlsError::BadCertificate {
                path: path.to_owned(),
                reason: e.to_string(),
            })
    }

    /// Adds the CRLs of a PEM file (`X509 CRL` sections); returns how many.
    /// Revocation is then checked for the whole chain; certificates whose
    /// issuer published no CRL here are not treated as revoked.
    pub fn add_crl_pem_file(&mut self, path: impl AsRef<Path>) -> Result<usize, TlsError> {
        let path = path.as_ref();
        let pem = read_file(path)?;
        self.add_crl_pem(path, &pem)
    }

    /// Adds the CRLs in PEM text; `label` names the source in errors.
    pub fn add_crl_pem(&mut self, label: impl AsRef<Path>, pem: &[u8]) -> Result<usize, TlsError> {
        let path = label.as_ref();
        let crls = CertificateRevocationListDer::pem_slice_iter(pem)
            .collect::<Result<Vec<_>, _>>()
            .map_err(|e| pem_error(path, &e))?;
        if crls.is_empty() {
            return Err(TlsError::BadCrl {
                path: path.to_owned(),
                reason: "no CRL found".to_owned(),
            });
        }
        let count = crls.len();
        for crl in crls {
            let parsed =
                OwnedCertRevocationList::from_der(crl.as_ref()).map_err(|e| TlsError::BadCrl {
                    path: path.to_owned(),
                    reason: e.to_string(),
                })?;
            Arc::make_mut(&mut self.parsed_crls).push(Arc::new(CertRevocationList::Owned(parsed)));
            Arc::make_mut(&mut self.crls).push(crl);
        }
        Ok(count)
    }

    /// Number of trust anchors.
    pub fn len(&self) -> usize {
        self.store.len()
    }

    /// True when there is no trust anchor.
    pub fn is_empty(&self) -> bool {
        self.store.is_empty()
    }

    /// Number of CRLs.
    pub fn crl_count(&self) -> usize {
        self.crls.len()
    }
}

/// A file path and the hash of the content last loaded from it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) struct Loaded {
    pub(crate) path: PathBuf,
    pub(crate) hash: [u8; 32],
}
