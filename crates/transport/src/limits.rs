//! Resource limits of the transport layer, with defaults that suit a public server.
//!
//! Every buffer and queue this crate keeps is bounded by one of these; a peer that
//! exceeds a limit is answered (where SIP allows) and disconnected rather than served
//! slowly.

use std::time::Duration;

/// Limits applied to every listener and connection.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TransportLimits {
    /// Largest SIP message accepted or sent, head and body together. Larger stream
    /// messages are answered 513 and the connection is closed; larger datagrams are
    /// answered 513 when their head can be read, else dropped.
    pub max_message_size: usize,
    /// Most simultaneous connections from one source IP address (all stream
    /// transports together).
    pub max_connections_per_ip: usize,
    /// Most simultaneous connections in total.
    pub max_connections: usize,
    /// Time a peer has to complete a message once its first byte arrived
    /// (slow-sender protection).
    pub message_timeout: Duration,
    /// A connection with no traffic (keep-alives count) for this long is closed.
    pub idle_timeout: Duration,
    /// Time allowed for a TLS or WebSocket handshake.
    pub handshake_timeout: Duration,
    /// Messages queued for sending on one connection; a peer that lets the queue fill
    /// (it does not read) is disconnected.
    pub write_queue: usize,
    /// Time one write may take before the peer is considered not to be reading.
    pub write_timeout: Duration,
    /// UDP sockets (and receive threads) per UDP listen address, bound with
    /// SO_REUSEPORT.
    pub udp_workers: usize,
}

impl Default for TransportLimits {
    fn default() -> Self {
        TransportLimits {
            max_message_size: sipwarden_wire::limits::MAX_MESSAGE_SIZE,
            max_connections_per_ip: 64,
            max_connections: 16_384,
            message_timeout: Duration::from_secs(10),
            idle_timeout: Duration::from_secs(300),
            handshake_timeout: Duration::from_secs(10),
            write_queue: 256,
            write_timeout: Duration::from_secs(10),
            udp_workers: std::thread::available_parallelism().map_or(1, |n| n.get()),
        }
    }
}

impl TransportLimits {
    /// The wire parser's limits with this layer's message size applied.
    pub fn wire_limits(&self) -> sipwarden_wire::Limits {
        let base = sipwarden_wire::Limits::default();
        sipwarden_wire::Limits {
            max_message_size: self.max_message_size,
            max_head_size: base.max_head_size.min(self.max_message_size),
            ..base
        }
    }
}
