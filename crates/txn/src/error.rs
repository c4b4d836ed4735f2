//! Typed refusals of the transaction layer.

use sipwarden_wire::build::BuildError;
use sipwarden_wire::ParseError;

use crate::{State, TxnId};

/// Why the transaction layer refused a message or a call.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum TxnError {
    /// The server transaction table is full; answer the request 503 statelessly.
    #[error("too many server transactions (limit {limit})")]
    TooManyServerTransactions {
        /// The configured cap.
        limit: usize,
    },
    /// The client transaction table is full.
    #[error("too many client transactions (limit {limit})")]
    TooManyClientTransactions {
        /// The configured cap.
        limit: usize,
    },
    /// The message lacks what matching needs (a Via, a CSeq, ...).
    #[error("message cannot be matched to a transaction: {0}")]
    Unmatchable(#[from] ParseError),
    /// A request was given where a response was expected, or the reverse.
    #[error("wrong kind of message for this call")]
    WrongMessageKind,
    /// A request we send must carry an RFC 3261 branch (`z9hG4bK...`): without it the
    /// peer cannot match retransmissions and we cannot match responses.
    #[error("outgoing request's top Via branch lacks the z9hG4bK magic cookie")]
    BranchWithoutCookie,
    /// ACK is never sent through a client transaction: the ACK for a non-2xx is sent by
    /// the INVITE client transaction itself and the ACK for a 2xx is sent statelessly.
    #[error("ACK does not start a client transaction")]
    AckNotATransaction,
    /// A client transaction with the same branch and method is already running.
    #[error("a client transaction with this branch and method already exists")]
    DuplicateBranch,
    /// No transaction has this id (it may have terminated).
    #[error("no transaction {0:?}")]
    UnknownTransaction(TxnId),
    /// The id names a client transaction where a server transaction was expected, or
    /// the reverse.
    #[error("transaction {0:?} is of the wrong kind for this call")]
    WrongTransactionKind(TxnId),
    /// A CANCEL may only be sent for an INVITE client transaction in Proceeding
    /// (RFC 3261 §9.1: after a provisional response, before a final one).
    #[error("CANCEL not allowed in state {0:?}")]
    CancelNotAllowed(State),
    /// A message the transaction layer writes itself could not be built.
    #[error("cannot build message: {0}")]
    Build(#[from] BuildError),
    /// The status code is outside 100..=699.
    #[error("invalid status code {0}")]
    BadStatusCode(u16),
    /// The transaction's state does not allow sending this response (RFC 3261 §17.2:
    /// e.g. a second final response, or a provisional after the final).
    #[error("response {code} not allowed in state {state:?}")]
    ResponseNotAllowed {
        /// The refused status code.
        code: u16,
        /// The state the transaction was in.
        state: State,
    },
}

/// Why a [`crate::TimerConfig`] or [`crate::Config`] was refused.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum ConfigError {
    /// T1 must be positive.
    #[error("T1 must be greater than zero")]
    ZeroT1,
    /// T2 caps retransmission intervals that start at T1.
    #[error("T2 must not be smaller than T1")]
    T2BelowT1,
}
