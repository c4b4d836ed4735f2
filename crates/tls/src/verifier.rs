//! The RFC 5922 server certificate verifier for outbound connections, the
//! typed reasons it refuses a certificate, and the explicitly insecure
//! verifier for interop with peers that cannot be fixed.

use std::sync::Arc;

use rustls::client::danger::{HandshakeSignatureValid, ServerCertVerified, ServerCertVerifier};
use rustls::crypto::{verify_tls12_signature, verify_tls13_signature, CryptoProvider};
use rustls::{CertificateError, DigitallySignedStruct, OtherError, SignatureScheme};
use rustls_pki_types::{CertificateDer, ServerName, UnixTime};
use webpki::{
    CertRevocationList, EndEntityCert, ExpirationPolicy, KeyUsage, RevocationCheckDepth,
    RevocationOptionsBuilder, UnknownStatusPolicy,
};

use crate::names::{PresentedNames, ReferenceName};
use crate::TrustRoots;

/// Why a peer certificate was refused. Recover it from a handshake error
/// with [`CertFailure::from_rustls`] to log the reason.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum CertFailure {
    /// The certificate (or one in its chain) is past its notAfter.
    #[error("certificate expired")]
    Expired,
    /// The certificate (or one in its chain) is before its notBefore.
    #[error("certificate not yet valid")]
    NotYetValid,
    /// No chain to a configured trust anchor.
    #[error("certificate issued by an unknown CA")]
    UnknownIssuer,
    /// The chain is good but the certificate does not name the peer.
    #[error("certificate name mismatch: expected {}, presented {}", .expected.join(" or "), list_or_none(.presented))]
    NameMismatch {
        /// The names that would have been accepted.
        expected: Vec<String>,
        /// The names in the certificate, with their kind (`URI:`, `DNS:`,
        /// `IP:`, `CN:`).
        presented: Vec<String>,
    },
    /// A configured CRL lists the certificate (or one in its chain).
    #[error("certificate revoked")]
    Revoked,
    /// A signature in the chain does not verify.
    #[error("bad certificate signature")]
    BadSignature,
    /// The peer sent no certificate where one is required.
    #[error("no certificate presented")]
    NoCertificate,
    /// Anything else (malformed certificate, unsupported algorithm, wrong
    /// key usage, ...), with the verifier's description.
    #[error("certificate refused: {0}")]
    Other(String),
}

fn list_or_none(names: &[String]) -> String {
    if names.is_empty() {
        "no usable name".to_owned()
    } else {
        names.join(", ")
    }
}

impl CertFailure {
    /// Recovers the reason from an error returned by a rustls connection
    /// (`process_new_packets`, or an I/O error wrapping it in tokio-rustls).
    /// Handles both this crate's verifier and rustls's own client
    /// certificate verifier. `None` for errors that are not about the
    /// peer's certificate (including alerts the peer sent us).
    pub fn from_rustls(error: &rustls::Error) -> Option<Self> {
        match error {
            rustls::Error::NoCertificatesPresented => Some(Self::NoCertificate),
            rustls::Error::InvalidCertificate(cert_error) => {
                Some(Self::from_certificate_error(cert_error))
            }
            _ => None,
        }
    }

    /// Recovers the reason from a boxed error chain, as found in the
    /// `std::io::Error` that tokio-rustls returns.
    pub fn from_io(error: &std::io::Error) -> Option<Self> {
        error
            .get_ref()
            .and_then(|inner| inner.downcast_ref::<rustls::Error>())
            .and_then(Self::from_rustls)
    }

    fn from_certificate_error(error: &CertificateError) -> Self {
        match error {
            CertificateError::Expired | CertificateError::ExpiredContext { .. } => Self::Expired,
            CertificateError::NotValidYet | CertificateError::NotValidYetContext { .. } => {
                Self::NotYetValid
            }
            CertificateError::UnknownIssuer => Self::UnknownIssuer,
            CertificateError::Revoked => Self::Revoked,
            CertificateError::BadSignature => Self::BadSignature,
            CertificateError::NotValidForNameContext {
                expected,
                presented,
            } => Self::NameMismatch {
                expected: vec![server_name_text(expected)],
                presented: presented.clone(),
            },
            CertificateError::NotValidForName => Self::NameMismatch {
                expected: Vec::new(),
                presented: Vec::new(),
            },
            CertificateError::Other(OtherError(inner)) => match inner.downcast_ref::<Self>() {
                Some(ours) => ours.clone(),
                None => Self::Other(inner.to_string()),
            },
            other => Self::Other(rustls::Error::InvalidCertificate(other.clone()).to_string()),
        }
    }

    /// The rustls error a verifier returns for this failure. Uses rustls's
    /// own variants where one fits, so the peer receives the matching TLS
    /// alert (certificate_expired, unknown_ca, ...); the rest travel as
    /// `CertificateError::Other` carrying this value.
    pub fn to_rustls(&self) -> rustls::Error {
        let cert_error = match self {
            Self::Expired => CertificateError::Expired,
            Self::NotYetValid => CertificateError::NotValidYet,
            Self::UnknownIssuer => CertificateError::UnknownIssuer,
            Self::Revoked => CertificateError::Revoked,
            Self::BadSignature => CertificateError::BadSignature,
            Self::NoCertificate => return rustls::Error::NoCertificatesPresented,
            Self::NameMismatch { .. } | Self::Other(_) => {
                CertificateError::Other(OtherError(Arc::new(self.clone())))
            }
        };
        rustls::Error::InvalidCertificate(cert_error)
    }

    fn from_webpki(error: &webpki::Error) -> Self {
        match error {
            webpki::Error::CertExpired { .. } | webpki::Error::InvalidCertValidity => Self::Expired,
            webpki::Error::CertNotValidYet { .. } => Self::NotYetValid,
            webpki::Error::UnknownIssuer => Self::UnknownIssuer,
            webpki::Error::CertRevoked => Self::Revoked,
            webpki::Error::InvalidSignatureForPublicKey => Self::BadSignature,
            other => Self::Other(other.to_string()),
        }
    }
}

fn server_name_text(name: &ServerName<'_>) -> String {
    match name {
        ServerName::DnsName(d) => d.as_ref().to_owned(),
        ServerName::IpAddress(ip) => std::net::IpAddr::from(*ip).to_string(),
        other => format!("{other:?}"),
    }
}

/// Verifies a server certificate the RFC 5922 way: the chain to configured
/// anchors with webpki (validity period, signatures, serverAuth usage, CRLs
/// when configured), then the name: `sip:` URI SANs, else dNSName SANs, else
/// the CN when there is no naming SAN; iPAddress SANs for IP targets;
/// wildcards only when allowed.
#[derive(Debug)]
pub struct SipServerVerifier {
    roots: TrustRoots,
    names: Vec<ReferenceName>,
    allow_wildcards: bool,
    provider: Arc<CryptoProvider>,
}

impl SipServerVerifier {
    /// A verifier accepting any of `names`. With no names, the name the
    /// connection was opened with (its `ServerName`) is used.
    pub fn new(
        roots: TrustRoots,
        names: Vec<ReferenceName>,
        allow_wildcards: bool,
        provider: Arc<CryptoProvider>,
    ) -> Self {
        Self {
            roots,
            names,
            allow_wildcards,
            provider,
        }
    }

    /// Runs the checks and returns the typed failure, without rustls.
    pub fn check(
        &self,
        end_entity: &CertificateDer<'_>,
        intermediates: &[CertificateDer<'_>],
        server_name: &ServerName<'_>,
        now: UnixTime,
    ) -> Result<(), CertFailure> {
        self.check_chain(end_entity, intermediates, now)?;
        self.check_name(end_entity, server_name)
    }

    fn check_chain(
        &self,
        end_entity: &CertificateDer<'_>,
        intermediates: &[CertificateDer<'_>],
        now: UnixTime,
    ) -> Result<(), CertFailure> {
        let cert = EndEntityCert::try_from(end_entity).map_err(|e| CertFailure::from_webpki(&e))?;
        let crl_refs: Vec<&CertRevocationList<'_>> =
            self.roots.parsed_crls.iter().map(|crl| &**crl).collect();
        // Revocation is checked against what is configured; an issuer with
        // no CRL here is not a failure (there is no OCSP/fetching here), and
        // an out-of-date CRL is still better than none.
        let revocation = RevocationOptionsBuilder::new(&crl_refs)
            .ok()
            .map(|builder| {
                builder
                    .with_depth(RevocationCheckDepth::Chain)
                    .with_status_policy(UnknownStatusPolicy::Allow)
                    .with_expiration_policy(ExpirationPolicy::Ignore)
                    .build()
            });
        cert.verify_for_usage(
            self.provider.signature_verification_algorithms.all,
            &self.roots.store.roots,
            intermediates,
            now,
            KeyUsage::server_auth(),
            revocation,
            None,
        )
        .map(|_path| ())
        .map_err(|e| CertFailure::from_webpki(&e))
    }

    fn check_name(
        &self,
        end_entity: &CertificateDer<'_>,
        server_name: &ServerName<'_>,
    ) -> Result<(), CertFailure> {
        let fallback;
        let names: &[ReferenceName] = if self.names.is_empty() {
            fallback = ReferenceName::from_server_name(server_name)
                .into_iter()
                .collect::<Vec<_>>();
            &fallback
        } else {
            &self.names
        };
        let presented = PresentedNames::from_der(end_entity)
            .map_err(|e| CertFailure::Other(format!("cannot read certificate names: {e}")))?;
        if names
            .iter()
            .any(|reference| presented.matches(reference, self.allow_wildcards))
        {
            return Ok(());
        }
        Err(CertFailure::NameMismatch {
            expected: names.iter().map(ToString::to_string).collect(),
            presented: presented.describe(),
        })
    }
}

impl ServerCertVerifier for SipServerVerifier {
    fn verify_server_cert(
        &self,
        end_entity: &CertificateDer<'_>,
        intermediates: &[CertificateDer<'_>],
        server_name: &ServerName<'_>,
        _ocsp_response: &[u8],
        now: UnixTime,
    ) -> Result<ServerCertVerified, rustls::Error> {
        self.check(end_entity, intermediates, server_name, now)
            .map(|()| ServerCertVerified::assertion())
            .map_err(|failure| failure.to_rustls())
    }

    fn verify_tls12_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, rustls::Error> {
        verify_tls12_signature(
            message,
            cert,
            dss,
            &self.provider.signature_verification_algorithms,
        )
    }

    fn verify_tls13_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, rustls::Error> {
        verify_tls13_signature(
            message,
            cert,
            dss,
            &self.provider.signature_verification_algorithms,
        )
    }

    fn supported_verify_schemes(&self) -> Vec<SignatureScheme> {
        self.provider
            .signature_verification_algorithms
            .supported_schemes()
    }
}

/// Accepts any server certificate. Exists for peers that cannot present a
/// verifiable certificate and must still be reached; chosen per peer by
/// name, and every use is logged. The handshake signature is still checked,
/// so the peer at least holds the key of the certificate it sent.
#[derive(Debug)]
pub struct InsecureSkipVerifyForInterop {
    peer: String,
    provider: Arc<CryptoProvider>,
}

impl InsecureSkipVerifyForInterop {
    /// An insecure verifier for the peer called `peer` in logs.
    pub fn new(peer: impl Into<String>, provider: Arc<CryptoProvider>) -> Self {
        Self {
            peer: peer.into(),
            provider,
        }
    }
}

impl ServerCertVerifier for InsecureSkipVerifyForInterop {
    fn verify_server_cert(
        &self,
        _end_entity: &CertificateDer<'_>,
        _intermediates: &[CertificateDer<'_>],
        server_name: &ServerName<'_>,
        _ocsp_response: &[u8],
        _now: UnixTime,
    ) -> Result<ServerCertVerified, rustls::Error> {
        tracing::warn!(
            peer = %self.peer,
            server_name = %server_name_text(server_name),
            "certificate NOT verified (insecure_skip_verify_for_interop)"
        );
        Ok(ServerCertVerified::assertion())
    }

    fn verify_tls12_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, rustls::Error> {
        verify_tls12_signature(
            message,
            cert,
            dss,
            &self.provider.signature_verification_algorithms,
        )
    }

    fn verify_tls13_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, rustls::Error> {
        verify_tls13_signature(
            message,
            cert,
            dss,
            &self.provider.signature_verification_algorithms,
        )
    }

    fn supported_verify_schemes(&self) -> Vec<SignatureScheme> {
        self.provider
            .signature_verification_algorithms
            .supported_schemes()
    }
}
