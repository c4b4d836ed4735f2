//! Server-side configuration for TLS listeners.

use std::path::Path;
use std::sync::Arc;

use rustls::server::{ResolvesServerCert, WebPkiClientVerifier};
use rustls::time_provider::TimeProvider;
use rustls::ServerConfig;

use crate::{ReloadableCert, TlsError, TlsVersions, TrustRoots};

/// Whether and how a listener asks clients for certificates.
#[derive(Clone, Debug, Default)]
pub enum ClientAuth {
    /// No client certificate is requested.
    #[default]
    Off,
    /// A certificate is requested; one that is sent must chain to these
    /// roots (and pass their CRLs), but clients may send none (phones
    /// usually have none and authenticate with Digest instead).
    Optional(TrustRoots),
    /// A certificate chaining to these roots is required; the handshake
    /// fails without one.
    Required(TrustRoots),
}

/// Options of a TLS listener.
#[derive(Clone, Debug, Default)]
pub struct ServerTlsOptions {
    /// Protocol versions accepted (1.3 and 1.2 by default).
    pub versions: TlsVersions,
    /// Send session tickets after the handshake. Off by default: several
    /// deployed SIP clients built on GnuTLS (sipsak among them) fail when a
    /// TLS 1.3 NewSessionTicket arrives after the handshake, and SIP
    /// connections are long-lived, so resumption gains little. When off,
    /// TLS 1.3 sends no tickets and TLS 1.2 resumes by session ID only.
    pub send_session_tickets: bool,
    /// Client certificate policy (mutual TLS).
    pub client_auth: ClientAuth,
    /// ALPN protocols to accept (none by default).
    pub alpn: Vec<Vec<u8>>,
    /// The clock client certificates are checked against; the system clock
    /// unless set.
    pub time_provider: Option<Arc<dyn TimeProvider>>,
}

/// A listener's TLS configuration: the rustls `ServerConfig` to hand to the
/// acceptor, and the reloadable certificate behind it.
#[derive(Clone, Debug)]
pub struct ServerTlsConfig {
    cert: Arc<ReloadableCert>,
    config: Arc<ServerConfig>,
}

impl ServerTlsConfig {
    /// Loads the certificate chain and key files and builds the config.
    pub fn from_pem_files(
        cert_path: impl AsRef<Path>,
        key_path: impl AsRef<Path>,
        options: ServerTlsOptions,
    ) -> Result<Self, TlsError> {
        let cert = Arc::new(ReloadableCert::load(cert_path, key_path)?);
        Self::new(cert, options)
    }

    /// Builds the config around an already loaded certificate (which may
    /// also serve as the client certificate of outbound connections).
    pub fn new(cert: Arc<ReloadableCert>, options: ServerTlsOptions) -> Result<Self, TlsError> {
        let provider = crate::crypto_provider();
        let builder = match &options.time_provider {
            Some(time) => {
                ServerConfig::builder_with_details(Arc::clone(&provider), Arc::clone(time))
            }
            None => ServerConfig::builder_with_provider(Arc::clone(&provider)),
        };
        let builder = builder.with_protocol_versions(options.versions.protocol_versions())?;
        let builder = match &options.client_auth {
            ClientAuth::Off => builder.with_no_client_auth(),
            ClientAuth::Optional(roots) | ClientAuth::Required(roots) => {
                if roots.is_empty() {
                    return Err(TlsError::NoTrustAnchors);
                }
                let mut verifier = WebPkiClientVerifier::builder_with_provider(
                    Arc::clone(&roots.store),
                    Arc::clone(&provider),
                )
                .with_crls(roots.crls.iter().cloned())
                .allow_unknown_revocation_status();
                if matches!(options.client_auth, ClientAuth::Optional(_)) {
                    verifier = verifier.allow_unauthenticated();
                }
                builder.with_client_cert_verifier(verifier.build()?)
            }
        };
        let resolver: Arc<dyn ResolvesServerCert> = Arc::clone(&cert) as _;
        let mut config = builder.with_cert_resolver(resolver);
        if options.send_session_tickets {
            config.ticketer = rustls::crypto::aws_lc_rs::Ticketer::new()?;
        } else {
            config.send_tls13_tickets = 0;
        }
        config.alpn_protocols = options.alpn;
        Ok(Self {
            cert,
            config: Arc::new(config),
        })
    }

    /// The rustls config for the acceptor (e.g. `tokio_rustls::TlsAcceptor::from`).
    pub fn rustls_config(&self) -> Arc<ServerConfig> {
        Arc::clone(&self.config)
    }

    /// The reloadable certificate served.
    pub fn certificate(&self) -> &Arc<ReloadableCert> {
        &self.cert
    }
}
