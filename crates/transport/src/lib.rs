//! sipwarden's transport layer: the only place (besides the binary) with sockets.
//!
//! Owns: UDP (on dedicated receive threads), TCP, TLS, WS and WSS (on tokio) listeners;
//! the connection table (flows, connection reuse, per-source limits, idle and
//! slow-sender deadlines, bounded write queues); the inbound pipeline (framing → parsing → error replies → server
//! transactions → the transaction user); response routing per RFC 3261 §18.2 with
//! `received`/`rport` (RFC 3581); and a small one-shot client for tools and tests.
//!
//! Refuses: deciding what to answer (that is the [`TransactionUser`]'s job), building
//! TLS policy (it takes `rustls` configurations made by the TLS crate), resolving names,
//! and holding any lock across I/O. Decisions live in pure functions next to the tokio
//! code so they can be tested without sockets.

pub mod basic;
pub mod client;
pub mod client_txn;
mod core;
pub mod deadline;
pub mod error;
pub mod flow;
pub mod inbound;
pub mod limits;
pub mod outbound;
pub mod reply;
mod server;
pub mod spec;
mod stats;
mod stream;
pub mod tu;
mod udp;
pub mod via;
pub mod ws;

pub use client_txn::{ClientFailure, ClientRoute, ClientSink, ClientTxn, StartError};
pub use error::TransportError;
pub use flow::{ConnectionTable, Flow, FlowId, TlsSession};
pub use limits::TransportLimits;
pub use outbound::{SendError, Target, TransportHandle};
pub use server::{HandshakeFailure, Server, ServerConfig, TlsObserver};
pub use spec::{ListenSpec, Transport};
pub use stats::StatsSnapshot;
pub use tu::{IncomingRequest, RespondError, Responder, Screen, TransactionUser};

#[cfg(test)]
mod tests;
