//! Counters of the transport layer, for logs, tests and (later) metrics.

use std::sync::atomic::{AtomicU64, Ordering};

/// Live counters; read them with [`Stats::snapshot`].
#[derive(Debug, Default)]
pub(crate) struct Stats {
    pub(crate) received: AtomicU64,
    pub(crate) sent: AtomicU64,
    pub(crate) parse_errors: AtomicU64,
    pub(crate) error_replies: AtomicU64,
    pub(crate) oversized: AtomicU64,
    pub(crate) retransmissions_absorbed: AtomicU64,
    pub(crate) stray_responses: AtomicU64,
    pub(crate) overload_replies: AtomicU64,
    pub(crate) connections_refused: AtomicU64,
    pub(crate) slow_senders: AtomicU64,
    pub(crate) idle_closed: AtomicU64,
    pub(crate) backpressure_closed: AtomicU64,
    pub(crate) handshake_failures: AtomicU64,
    pub(crate) screened: AtomicU64,
    pub(crate) udp_send_dropped: AtomicU64,
}

impl Stats {
    pub(crate) fn bump(counter: &AtomicU64) {
        counter.fetch_add(1, Ordering::Relaxed);
    }

    pub(crate) fn snapshot(&self) -> StatsSnapshot {
        let get = |c: &AtomicU64| c.load(Ordering::Relaxed);
        StatsSnapshot {
            received: get(&self.received),
            sent: get(&self.sent),
            parse_errors: get(&self.parse_errors),
            error_replies: get(&self.error_replies),
            oversized: get(&self.oversized),
            retransmissions_absorbed: get(&self.retransmissions_absorbed),
            stray_responses: get(&self.stray_responses),
            overload_replies: get(&self.overload_replies),
            connections_refused: get(&self.connections_refused),
            slow_senders: get(&self.slow_senders),
            idle_closed: get(&self.idle_closed),
            backpressure_closed: get(&self.backpressure_closed),
            handshake_failures: get(&self.handshake_failures),
            screened: get(&self.screened),
            udp_send_dropped: get(&self.udp_send_dropped),
        }
    }
}

/// The transport's counters at one moment.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct StatsSnapshot {
    /// Datagrams, frames and WebSocket messages received.
    pub received: u64,
    /// Messages sent (or queued on a connection).
    pub sent: u64,
    /// Messages that failed to parse (or to frame).
    pub parse_errors: u64,
    /// Error responses sent for malformed requests.
    pub error_replies: u64,
    /// Messages over the size limit.
    pub oversized: u64,
    /// Request retransmissions absorbed by a transaction.
    pub retransmissions_absorbed: u64,
    /// Responses that matched no client transaction.
    pub stray_responses: u64,
    /// Requests refused with 503 because the transaction table was full.
    pub overload_replies: u64,
    /// Connections refused by the per-source or total limit.
    pub connections_refused: u64,
    /// Connections closed because a message did not complete in time.
    pub slow_senders: u64,
    /// Connections closed for idleness.
    pub idle_closed: u64,
    /// Connections closed because the peer did not read.
    pub backpressure_closed: u64,
    /// TLS or WebSocket handshakes that failed or timed out.
    pub handshake_failures: u64,
    /// Requests the transaction user dropped or answered statelessly in its screen.
    pub screened: u64,
    /// UDP datagrams not sent: the send buffer stayed full for the send timeout, or
    /// the system refused the send.
    pub udp_send_dropped: u64,
}
