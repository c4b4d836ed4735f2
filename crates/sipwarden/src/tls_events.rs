//! Inbound TLS handshakes as metrics and security events: every outcome is counted,
//! every failure logged with a reason from a closed set and the TLS library's words.

use std::sync::Arc;
use std::time::SystemTime;

use rustls::AlertDescription;
use sipwarden_admin::TlsResult;
use sipwarden_events::{Detail, SecurityEvent, Text, TlsFailure};
use sipwarden_transport::{Flow, HandshakeFailure, TlsObserver};

use crate::ops::{event_transport, Ops};

/// The transport's TLS observer.
pub struct TlsEvents {
    ops: Arc<Ops>,
}

impl std::fmt::Debug for TlsEvents {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("TlsEvents").finish_non_exhaustive()
    }
}

impl TlsEvents {
    /// Reports through `ops`.
    pub fn new(ops: Arc<Ops>) -> TlsEvents {
        TlsEvents { ops }
    }
}

impl TlsObserver for TlsEvents {
    fn handshake(&self, flow: &Flow, outcome: Result<(), HandshakeFailure<'_>>) {
        let (reason, detail) = match outcome {
            Ok(()) => {
                self.ops.metrics.tls_handshake(TlsResult::Success);
                return;
            }
            Err(HandshakeFailure::TimedOut) => (TlsFailure::Timeout, None),
            Err(HandshakeFailure::Failed(err)) => {
                (classify(err), Some(Text::new(&err.to_string())))
            }
        };
        self.ops.metrics.tls_handshake(TlsResult::Failure(reason));
        let event = SecurityEvent::new(
            SystemTime::now(),
            event_transport(flow.transport),
            flow.remote,
            Detail::TlsHandshakeFailed {
                reason,
                sni: None,
                detail,
            },
        );
        self.ops.emit(&event);
    }
}

/// The closed-set reason of a failed handshake.
pub(crate) fn classify(err: &std::io::Error) -> TlsFailure {
    if err.kind() == std::io::ErrorKind::UnexpectedEof {
        return TlsFailure::UnexpectedEof;
    }
    let Some(tls) = err
        .get_ref()
        .and_then(|e| e.downcast_ref::<rustls::Error>())
    else {
        return TlsFailure::Other;
    };
    match tls {
        rustls::Error::InvalidMessage(_)
        | rustls::Error::InappropriateMessage { .. }
        | rustls::Error::InappropriateHandshakeMessage { .. } => TlsFailure::InvalidMessage,
        rustls::Error::PeerIncompatible(p) => {
            if format!("{p:?}").contains("Version") {
                TlsFailure::ProtocolVersion
            } else {
                TlsFailure::NoSharedCipher
            }
        }
        rustls::Error::InvalidCertificate(_) | rustls::Error::NoCertificatesPresented => {
            TlsFailure::BadCertificate
        }
        rustls::Error::AlertReceived(alert) => match alert {
            AlertDescription::BadCertificate
            | AlertDescription::UnknownCA
            | AlertDescription::CertificateUnknown
            | AlertDescription::CertificateExpired
            | AlertDescription::CertificateRevoked
            | AlertDescription::UnsupportedCertificate => TlsFailure::PeerRefusedCertificate,
            AlertDescription::ProtocolVersion => TlsFailure::ProtocolVersion,
            AlertDescription::HandshakeFailure | AlertDescription::InsufficientSecurity => {
                TlsFailure::NoSharedCipher
            }
            _ => TlsFailure::Other,
        },
        _ => TlsFailure::Other,
    }
}
