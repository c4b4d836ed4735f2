//! What every state machine shares: its states and the actions it asks its driver to take.

use bytes::Bytes;
use sipwarden_wire::Message;

use crate::timer::Timer;

/// A transaction state (RFC 3261 §17 figures 5–8, RFC 6026 figures 5 and 7).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum State {
    /// INVITE client: request sent, no response yet.
    Calling,
    /// Non-INVITE client: request sent, no response yet. Non-INVITE server: request
    /// received, no response sent yet.
    Trying,
    /// A provisional response was received (client) or sent (server).
    Proceeding,
    /// A final response was received (client) or sent (server); waiting out
    /// retransmissions (non-2xx for INVITE).
    Completed,
    /// INVITE server: the ACK for a non-2xx final response arrived.
    Confirmed,
    /// INVITE (RFC 6026): a 2xx was received (client) or sent (server).
    Accepted,
    /// Finished; the transaction must be forgotten.
    Terminated,
}

/// Something a state machine asks its driver to do. Machines push actions into a
/// caller-supplied vector in the order they must happen.
#[derive(Debug, Clone)]
pub enum Action {
    /// Send these bytes to the transaction's peer (request, retransmission, ACK or
    /// response).
    Transmit(Bytes),
    /// Client transactions: pass this response to the transaction user.
    Response(Box<Message>),
    /// A timer ran out before the exchange finished: B or F (client: no final
    /// response, treat as 408) or H (INVITE server: the ACK never came).
    Timeout(Timer),
    /// The transport reported a failure; the transaction user is told.
    TransportError,
    /// The transaction reached Terminated and must be forgotten.
    Terminated,
}

/// What an INVITE server transaction did with an ACK.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum AckDisposition {
    /// The ACK belonged to the transaction (ACK for a non-2xx, or a retransmission of
    /// it) and was consumed.
    Absorbed,
    /// RFC 6026 Accepted state: the ACK acknowledges a 2xx and belongs to the
    /// transaction user (the dialog, or the proxy forwarding it statelessly).
    PassToTu,
}

/// Classes of status codes, as the state machines see them.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Class {
    Provisional,
    Success,
    Failure,
}

impl Class {
    /// The class of a status code; `None` outside 100..=699.
    pub(crate) fn of(code: u16) -> Option<Class> {
        match code {
            100..=199 => Some(Class::Provisional),
            200..=299 => Some(Class::Success),
            300..=699 => Some(Class::Failure),
            _ => None,
        }
    }
}
