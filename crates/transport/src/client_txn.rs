//! Client transactions run by the server itself (a proxy forwarding requests): the
//! request goes through the transaction layer, which retransmits it over UDP and times
//! it out (timers A/B, E/F), and every response that matches it is handed to a
//! [`ClientSink`].
//!
//! The destination is either a flow (the connection a user agent registered over, RFC
//! 5626) or a [`Target`]: UDP from our listening socket, or a live connection to the
//! target, else a new TCP or TLS connection.

use std::sync::Arc;

use bytes::Bytes;
use sipwarden_txn::{TxnError, TxnId};
use sipwarden_wire::{Limits, Message};

use crate::core::{lock, Dest};
use crate::flow::{Flow, FlowId};
use crate::outbound::{SendError, Target, TransportHandle};
use crate::spec::Transport;

/// Why a client transaction ended without a final response.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ClientFailure {
    /// Timer B or F fired: no final response in time (treat as 408).
    Timeout,
    /// The request could not be sent (treat as 503).
    TransportError,
}

/// Receives what one client transaction reports. Called from the transport's tasks:
/// implementations must return quickly (hand the message to a task, typically).
pub trait ClientSink: Send + Sync {
    /// A response matched the transaction (provisional, final, and 2xx retransmissions
    /// of an INVITE per RFC 6026).
    fn on_response(&self, response: Message);
    /// The transaction failed. Nothing more is reported after this.
    fn on_failure(&self, failure: ClientFailure);
}

/// Where a client transaction's request goes.
#[derive(Debug, Clone)]
pub enum ClientRoute {
    /// Over this connection only (RFC 5626: the peer is reachable only through it).
    Flow(FlowId),
    /// To this target, reusing a live connection when there is one.
    Target(Target),
}

/// Why a client transaction could not be started.
#[derive(Debug, thiserror::Error)]
pub enum StartError {
    /// The request does not parse or is not acceptable to the transaction layer.
    #[error("transaction refused: {0}")]
    Txn(#[from] TxnError),
    /// The request bytes do not parse.
    #[error("request does not parse: {0}")]
    Parse(#[from] sipwarden_wire::ParseError),
    /// No way to reach the destination.
    #[error(transparent)]
    Send(#[from] SendError),
}

/// A started client transaction.
#[derive(Debug, Clone, Copy)]
pub struct ClientTxn {
    /// The transaction.
    pub id: TxnId,
    /// The flow the request uses (for UDP, our socket and the peer address).
    pub flow: Flow,
}

impl TransportHandle {
    /// Starts a client transaction for `request` toward `route`. Opening a new connection
    /// (TCP, TLS with the target's verifying configuration) happens here; a TLS refusal
    /// comes back as [`SendError::Tls`] with the verifier's reason inside.
    pub async fn start_client(
        &self,
        route: &ClientRoute,
        request: Bytes,
        sink: Arc<dyn ClientSink>,
    ) -> Result<ClientTxn, StartError> {
        let core = &self.core;
        if request.len() > core.limits.max_message_size {
            return Err(SendError::TooLarge.into());
        }
        let limits = Limits {
            max_message_size: core.limits.max_message_size,
            ..core.wire
        };
        let message = Message::parse_datagram(request, &limits)?;
        let (dest, flow) = self.client_dest(route).await?;
        let reliable = flow.transport.is_reliable();
        let id = core.start_client(message, dest, reliable, sink)?;
        Ok(ClientTxn { id, flow })
    }

    /// Stops reporting a client transaction to its sink (it still absorbs
    /// retransmissions until it terminates).
    pub fn abandon_client(&self, txn: TxnId) {
        self.core.abandon_client(txn);
    }

    /// Sends bytes without a transaction along `route` (an ACK for a 2xx, a response
    /// routed by its Via).
    pub async fn send_routed(&self, route: &ClientRoute, bytes: Bytes) -> Result<Flow, SendError> {
        match route {
            ClientRoute::Flow(id) => {
                let flow = self.flow(*id).ok_or(SendError::NoSuchFlow)?;
                self.send_on_flow(*id, bytes)?;
                Ok(flow)
            }
            ClientRoute::Target(target) => self.send(target, bytes).await,
        }
    }

    async fn client_dest(&self, route: &ClientRoute) -> Result<(Dest, Flow), SendError> {
        let core = &self.core;
        match route {
            ClientRoute::Flow(id) => {
                let flow = self.flow(*id).ok_or(SendError::NoSuchFlow)?;
                Ok((
                    Dest::Flow {
                        id: *id,
                        transport: flow.transport,
                        remote: flow.remote,
                    },
                    flow,
                ))
            }
            ClientRoute::Target(target) if target.transport == Transport::Udp => {
                let socket = core
                    .udp_sockets
                    .get()
                    .and_then(|all| {
                        all.iter().find(|s| {
                            s.local_addr()
                                .is_ok_and(|a| a.is_ipv6() == target.addr.is_ipv6())
                        })
                    })
                    .cloned()
                    .ok_or(SendError::NoUdpSocket)?;
                let local = socket.local_addr().map_err(SendError::Connect)?;
                let flow = Flow {
                    transport: Transport::Udp,
                    local,
                    remote: target.addr,
                    id: None,
                };
                Ok((
                    Dest::Udp {
                        socket,
                        addr: target.addr,
                    },
                    flow,
                ))
            }
            ClientRoute::Target(target) => {
                let existing = {
                    let conns = lock(&core.conns);
                    conns.find(target.transport, target.addr).map(|(f, _)| *f)
                };
                let flow = match existing {
                    Some(f) => f,
                    None => self.connect(target, Bytes::new()).await?,
                };
                let id = flow.id.ok_or(SendError::NoSuchFlow)?;
                Ok((
                    Dest::Flow {
                        id,
                        transport: flow.transport,
                        remote: flow.remote,
                    },
                    flow,
                ))
            }
        }
    }
}
