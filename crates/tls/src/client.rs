//! Client-side configuration for outbound TLS hops.

use std::sync::Arc;

use rustls::client::danger::ServerCertVerifier;
use rustls::client::ResolvesClientCert;
use rustls::crypto::CryptoProvider;
use rustls::time_provider::TimeProvider;
use rustls::ClientConfig;

use crate::names::ReferenceName;
use crate::verifier::{InsecureSkipVerifyForInterop, SipServerVerifier};
use crate::{ReloadableCert, TlsError, TlsVersions, TrustRoots};

/// Settings shared by every outbound TLS connection; produces one rustls
/// `ClientConfig` per set of acceptable peer names.
///
/// Why per names: the names come from the request being routed (the SIP
/// domain, or the SRV target), not from the socket, so they are baked into
/// the verifier. Each produced config has its own session cache, so a
/// resumed session is only ever one that was verified against the same
/// names. Callers that connect to the same peer often should keep the
/// produced `Arc<ClientConfig>` (e.g. keyed by the names) to benefit from
/// resumption.
#[derive(Clone, Debug)]
pub struct ClientTlsConfig {
    roots: TrustRoots,
    allow_wildcards: bool,
    versions: TlsVersions,
    client_cert: Option<Arc<ReloadableCert>>,
    alpn: Vec<Vec<u8>>,
    provider: Arc<CryptoProvider>,
    time_provider: Option<Arc<dyn TimeProvider>>,
}

impl ClientTlsConfig {
    /// Verifies peers against `roots`, with TLS 1.3 and 1.2, no wildcard
    /// names, and no client certificate.
    pub fn new(roots: TrustRoots) -> Self {
        Self {
            roots,
            allow_wildcards: false,
            versions: TlsVersions::default(),
            client_cert: None,
            alpn: Vec::new(),
            provider: crate::crypto_provider(),
            time_provider: None,
        }
    }

    /// Accepts `*.example.com` dNSName/CN entries for one label. Off by
    /// default: RFC 5922 §7.2 does not allow wildcards.
    #[must_use]
    pub fn allow_wildcards(mut self, allow: bool) -> Self {
        self.allow_wildcards = allow;
        self
    }

    /// Which protocol versions to offer.
    #[must_use]
    pub fn versions(mut self, versions: TlsVersions) -> Self {
        self.versions = versions;
        self
    }

    /// Presents this certificate when the server asks for one (mutual TLS
    /// between SIP domains). Typically the same [`ReloadableCert`] the
    /// server side serves, so a reload renews both.
    #[must_use]
    pub fn client_certificate(mut self, cert: Arc<ReloadableCert>) -> Self {
        self.client_cert = Some(cert);
        self
    }

    /// ALPN protocol names to offer (none by default; SIP does not use ALPN).
    #[must_use]
    pub fn alpn(mut self, protocols: Vec<Vec<u8>>) -> Self {
        self.alpn = protocols;
        self
    }

    /// The clock certificates are checked against; the system clock unless
    /// set (tests use a fixed time).
    #[must_use]
    pub fn time_provider(mut self, time: Arc<dyn TimeProvider>) -> Self {
        self.time_provider = Some(time);
        self
    }

    /// The crypto provider (aws-lc-rs by default).
    #[must_use]
    pub fn provider(mut self, provider: Arc<CryptoProvider>) -> Self {
        self.provider = provider;
        self
    }

    /// The trust anchors and CRLs in use.
    pub fn roots(&self) -> &TrustRoots {
        &self.roots
    }

    /// A config that verifies the peer per RFC 5922 and accepts a
    /// certificate valid for any of `names` (e.g. the SIP domain of the
    /// request and, when reached via SRV, the SRV target). Open the
    /// connection with the `ServerName` of the host actually dialled (see
    /// [`ReferenceName::to_server_name`]); it is used for SNI only.
    pub fn verifying(&self, names: &[ReferenceName]) -> Result<Arc<ClientConfig>, TlsError> {
        if names.is_empty() {
            return Err(TlsError::NoReferenceNames);
        }
        if self.roots.is_empty() {
            return Err(TlsError::NoTrustAnchors);
        }
        let verifier = SipServerVerifier::new(
            self.roots.clone(),
            names.to_vec(),
            self.allow_wildcards,
            Arc::clone(&self.provider),
        );
        self.build(Arc::new(verifier))
    }

    /// A config that does not verify the peer's certificate at all, for one
    /// named peer that cannot be reached otherwise. Every handshake made
    /// with it logs a warning naming `peer`. Never use it as a default.
    pub fn insecure_skip_verify_for_interop(
        &self,
        peer: &str,
    ) -> Result<Arc<ClientConfig>, TlsError> {
        tracing::warn!(peer, "TLS certificate verification disabled for this peer");
        let verifier = InsecureSkipVerifyForInterop::new(peer, Arc::clone(&self.provider));
        self.build(Arc::new(verifier))
    }

    fn build(&self, verifier: Arc<dyn ServerCertVerifier>) -> Result<Arc<ClientConfig>, TlsError> {
        let builder = match &self.time_provider {
            Some(time) => {
                ClientConfig::builder_with_details(Arc::clone(&self.provider), Arc::clone(time))
            }
            None => ClientConfig::builder_with_provider(Arc::clone(&self.provider)),
        };
        let builder = builder
            .with_protocol_versions(self.versions.protocol_versions())?
            .dangerous()
            .with_custom_certificate_verifier(verifier);
        let mut config = match &self.client_cert {
            Some(cert) => {
                let resolver: Arc<dyn ResolvesClientCert> = Arc::clone(cert) as _;
                builder.with_client_cert_resolver(resolver)
            }
            None => builder.with_no_client_auth(),
        };
        config.alpn_protocols.clone_from(&self.alpn);
        Ok(Arc::new(config))
    }
}
