//! Errors of configuration and loading; handshake-time certificate failures
//! are [`crate::CertFailure`].

use std::path::PathBuf;

/// Why a TLS configuration, a certificate or a key could not be set up.
/// Variants that concern a file name it, so the operator knows which one to
/// fix.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum TlsError {
    /// A file could not be read.
    #[error("{}: cannot read: {source}", path.display())]
    Read {
        /// The file.
        path: PathBuf,
        /// The I/O error.
        #[source]
        source: std::io::Error,
    },
    /// A file is not valid PEM.
    #[error("{}: invalid PEM: {reason}", path.display())]
    Pem {
        /// The file.
        path: PathBuf,
        /// What the PEM parser said.
        reason: String,
    },
    /// A file that should hold certificates holds none.
    #[error("{}: no certificate found", path.display())]
    NoCertificate {
        /// The file.
        path: PathBuf,
    },
    /// A certificate could not be parsed or used.
    #[error("{}: unusable certificate: {reason}", path.display())]
    BadCertificate {
        /// The file.
        path: PathBuf,
        /// What is wrong with it.
        reason: String,
    },
    /// A file that should hold a private key holds none.
    #[error("{}: no private key found", path.display())]
    NoPrivateKey {
        /// The file.
        path: PathBuf,
    },
    /// A private key could not be parsed or is of an unsupported type.
    #[error("{}: unusable private key: {reason}", path.display())]
    BadPrivateKey {
        /// The file.
        path: PathBuf,
        /// What is wrong with it.
        reason: String,
    },
    /// The private key does not belong to the first certificate of the chain
    /// (typically seen mid-rotation, when one file was replaced and the other
    /// not yet).
    #[error("{}: private key does not match the certificate in {}", key.display(), cert.display())]
    KeyMismatch {
        /// The certificate chain file.
        cert: PathBuf,
        /// The key file.
        key: PathBuf,
    },
    /// A certificate revocation list could not be parsed.
    #[error("{}: unusable CRL: {reason}", path.display())]
    BadCrl {
        /// The file.
        path: PathBuf,
        /// What is wrong with it.
        reason: String,
    },
    /// A host given as an expected peer name is neither a domain nor an IP
    /// literal.
    #[error("invalid peer name {name:?}")]
    BadReferenceName {
        /// The rejected text.
        name: String,
    },
    /// A verifying client configuration was requested without any name to
    /// verify the peer against.
    #[error("no names to verify the peer against")]
    NoReferenceNames,
    /// A verifier was requested without any trust anchor.
    #[error("no trust anchors configured")]
    NoTrustAnchors,
    /// The operating system trust store could not be loaded.
    #[error("system trust store: {reason}")]
    SystemRoots {
        /// What went wrong.
        reason: String,
    },
    /// A certificate's names could not be read.
    #[error("certificate names: {0}")]
    CertificateParse(String),
    /// rustls refused the configuration.
    #[error("TLS configuration: {0}")]
    Config(#[from] rustls::Error),
    /// The client-certificate verifier could not be built.
    #[error("client certificate verifier: {0}")]
    ClientVerifier(#[from] rustls::server::VerifierBuilderError),
    /// Certificate generation failed.
    #[error("certificate generation: {0}")]
    Generate(#[from] rcgen::Error),
}
