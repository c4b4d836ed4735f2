//! TLS for sipwarden: rustls configurations, RFC 5922 certificate checks,
//! hot-reloadable certificates and a development PKI.
//!
//! What this crate owns:
//! - [`ServerTlsConfig`]: a listener's rustls `ServerConfig` (TLS 1.3 and
//!   1.2, aws-lc-rs chosen explicitly), its certificate from PEM files behind
//!   a [`ReloadableCert`] that can be swapped without touching established
//!   connections, session tickets off by default, and optional mutual TLS
//!   ([`ClientAuth`]).
//! - [`ClientTlsConfig`]: outbound configs whose [`SipServerVerifier`]
//!   checks the chain with webpki (validity, CRLs) and the name per RFC 5922
//!   §7 (`sip:` URI SANs, then dNSName, CN only without naming SANs, IP SANs
//!   for IP targets, no wildcards unless allowed). Refusals carry a
//!   [`CertFailure`] reason.
//! - [`peer_identity`]: the verified identity of a connection's peer, for
//!   binding to the domain a request claims.
//! - [`generate_dev_pki`]: a local CA and leaf for first runs and tests.
//!
//! What it refuses to do: socket I/O, async runtimes, reading clocks in its
//! own logic (rustls passes the time; tests inject it), silently skipping
//! verification (the only way is [`ClientTlsConfig::insecure_skip_verify_for_interop`],
//! per peer and logged), and deciding *when* to reload (the caller polls
//! [`ReloadableCert::files_changed`] or handles SIGHUP).

mod client;
mod dev;
mod error;
mod material;
mod names;
mod resolver;
mod server;
mod verifier;

use std::sync::{Arc, OnceLock};

use rustls::crypto::CryptoProvider;
use rustls::SupportedProtocolVersion;

pub use client::ClientTlsConfig;
pub use dev::{generate_dev_pki, generate_dev_pki_at, DevPki};
pub use error::TlsError;
pub use material::TrustRoots;
pub use names::{peer_identity, PeerIdentity, ReferenceName};
pub use resolver::{ReloadOutcome, ReloadableCert};
pub use server::{ClientAuth, ServerTlsConfig, ServerTlsOptions};
pub use verifier::{CertFailure, InsecureSkipVerifyForInterop, SipServerVerifier};

/// Re-exported so callers use the same rustls as this crate.
pub use rustls;

/// The crypto provider every config of this crate uses: aws-lc-rs with its
/// default cipher suites and key exchange groups. Chosen explicitly rather
/// than through rustls's process-wide default, so no other crate's choice
/// can change it.
pub fn crypto_provider() -> Arc<CryptoProvider> {
    static PROVIDER: OnceLock<Arc<CryptoProvider>> = OnceLock::new();
    Arc::clone(PROVIDER.get_or_init(|| Arc::new(rustls::crypto::aws_lc_rs::default_provider())))
}

/// Which TLS versions a config speaks.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum TlsVersions {
    /// TLS 1.3 preferred, TLS 1.2 accepted (some deployed phones only
    /// speak 1.2).
    #[default]
    Tls13And12,
    /// TLS 1.3 only.
    Tls13Only,
    /// TLS 1.2 only, for interop tests and peers that mishandle 1.3.
    Tls12Only,
}

impl TlsVersions {
    /// The rustls protocol version list.
    pub fn protocol_versions(self) -> &'static [&'static SupportedProtocolVersion] {
        static BOTH: [&SupportedProtocolVersion; 2] =
            [&rustls::version::TLS13, &rustls::version::TLS12];
        static TLS13: [&SupportedProtocolVersion; 1] = [&rustls::version::TLS13];
        static TLS12: [&SupportedProtocolVersion; 1] = [&rustls::version::TLS12];
        match self {
            Self::Tls13And12 => &BOTH,
            Self::Tls13Only => &TLS13,
            Self::Tls12Only => &TLS12,
        }
    }
}
