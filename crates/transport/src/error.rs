//! Errors of the transport layer.

use crate::spec::ListenSpec;

/// Why a server could not start, or a client exchange failed.
#[derive(Debug, thiserror::Error)]
pub enum TransportError {
    /// A listen address could not be bound.
    #[error("cannot listen on {spec}: {source}")]
    Bind {
        /// The listen spec.
        spec: ListenSpec,
        /// The system's reason.
        source: std::io::Error,
    },
    /// A TLS or WSS listener was requested without a TLS configuration.
    #[error("{0} needs a TLS certificate and key")]
    TlsNotConfigured(ListenSpec),
    /// The transaction timers are invalid.
    #[error("bad transaction timer configuration: {0}")]
    Timers(#[from] sipwarden_txn::ConfigError),
    /// Connecting, sending or receiving failed.
    #[error("{0}")]
    Io(#[from] std::io::Error),
    /// The TLS handshake failed.
    #[error("TLS handshake failed: {0}")]
    Tls(std::io::Error),
    /// The WebSocket handshake or exchange failed.
    #[error("WebSocket: {0}")]
    WebSocket(String),
    /// No response arrived in time.
    #[error("no response within {0:?}")]
    Timeout(std::time::Duration),
    /// The peer sent something that is not a SIP response.
    #[error("bad response: {0}")]
    BadResponse(sipwarden_wire::ParseError),
    /// The connection closed before a final response arrived.
    #[error("connection closed before a final response")]
    Closed,
}
