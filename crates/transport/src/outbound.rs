//! Sending outside a server transaction: over a known flow (a registered client's own
//! connection), or to a target, reusing a live connection to it (or to an alias it
//! advertised) before opening a new one.

use std::net::SocketAddr;
use std::sync::Arc;

use bytes::Bytes;
use rustls::pki_types::ServerName;
use tokio::net::TcpStream;
use tokio::sync::mpsc;

use crate::core::{lock, ConnHandle, Core, Origin, Outgoing};
use crate::flow::{AdmitError, Flow, FlowId, TlsSession};
use crate::spec::Transport;
use crate::stats::Stats;
use crate::stream;

/// Where to send.
#[derive(Clone)]
pub struct Target {
    /// The transport.
    pub transport: Transport,
    /// The peer's address.
    pub addr: SocketAddr,
    /// For TLS: the client configuration (which verifies the peer) and the name to
    /// verify. Needed only when a new connection must be opened.
    pub tls: Option<(Arc<rustls::ClientConfig>, ServerName<'static>)>,
}

impl std::fmt::Debug for Target {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Target")
            .field("transport", &self.transport)
            .field("addr", &self.addr)
            .field("tls", &self.tls.as_ref().map(|(_, name)| name))
            .finish()
    }
}

/// Why a message was not sent.
#[derive(Debug, thiserror::Error)]
pub enum SendError {
    /// The flow is closed or never existed.
    #[error("no such connection")]
    NoSuchFlow,
    /// The connection's write queue is full: the peer is not reading and was
    /// disconnected.
    #[error("peer not reading; disconnected")]
    Backpressure,
    /// No UDP listener of the target's address family.
    #[error("no UDP listener for this address family")]
    NoUdpSocket,
    /// The message is larger than the size limit.
    #[error("message larger than the size limit")]
    TooLarge,
    /// TCP connect failed or timed out.
    #[error("connect failed: {0}")]
    Connect(std::io::Error),
    /// The TLS handshake failed; certificate verification failures carry their
    /// reason (unknown issuer, expired, name mismatch).
    #[error("TLS handshake failed: {0}")]
    Tls(std::io::Error),
    /// A TLS target without a client configuration.
    #[error("a TLS target needs a client configuration and a name to verify")]
    NoTlsConfig,
    /// WebSocket connections are only accepted, never opened.
    #[error("{0} connections are not opened outbound")]
    Unsupported(Transport),
    /// The connection table refused the new connection.
    #[error(transparent)]
    Admit(#[from] AdmitError),
}

/// A cheap, cloneable handle to a running server's transport.
#[derive(Clone)]
pub struct TransportHandle {
    pub(crate) core: Arc<Core>,
}

impl std::fmt::Debug for TransportHandle {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("TransportHandle").finish_non_exhaustive()
    }
}

impl TransportHandle {
    pub(crate) fn new(core: Arc<Core>) -> TransportHandle {
        TransportHandle { core }
    }

    /// The flow with this id, while its connection lives.
    pub fn flow(&self, id: FlowId) -> Option<Flow> {
        lock(&self.core.conns).get(id).map(|(flow, _)| *flow)
    }

    /// What the TLS handshake of this connection settled (version, cipher suite), for
    /// TLS and WSS connections whose handshake completed.
    pub fn tls_session(&self, id: FlowId) -> Option<TlsSession> {
        lock(&self.core.conns).tls(id).cloned()
    }

    /// Lets sends to `addr` (over the flow's transport) use this connection.
    pub fn add_alias(&self, id: FlowId, addr: SocketAddr) -> bool {
        lock(&self.core.conns).add_alias(id, addr)
    }

    /// Queues bytes on an existing connection.
    pub fn send_on_flow(&self, id: FlowId, bytes: Bytes) -> Result<(), SendError> {
        if bytes.len() > self.core.limits.max_message_size {
            return Err(SendError::TooLarge);
        }
        let conns = lock(&self.core.conns);
        let (_, handle) = conns.get(id).ok_or(SendError::NoSuchFlow)?;
        enqueue(handle, bytes, &self.core.stats)
    }

    /// Sends to a target: UDP from our listening socket of the same address family;
    /// streams over a live connection to the target (or an alias of it), else over a
    /// new TCP or TLS connection, which then serves incoming messages like any other.
    /// Returns the flow used.
    pub async fn send(&self, target: &Target, bytes: Bytes) -> Result<Flow, SendError> {
        let core = &self.core;
        if bytes.len() > core.limits.max_message_size {
            return Err(SendError::TooLarge);
        }
        if target.transport == Transport::Udp {
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
            // A blocking send, bounded by the socket's send timeout (SO_SNDTIMEO): it
            // cannot hold this task for long even when the send buffer is full.
            socket.send_to(&bytes, target.addr).map_err(|err| {
                Stats::bump(&core.stats.udp_send_dropped);
                SendError::Connect(err)
            })?;
            Stats::bump(&core.stats.sent);
            return Ok(Flow {
                transport: Transport::Udp,
                local,
                remote: target.addr,
                id: None,
            });
        }
        {
            let conns = lock(&core.conns);
            if let Some((flow, handle)) = conns.find(target.transport, target.addr) {
                let flow = *flow;
                enqueue(handle, bytes, &core.stats)?;
                return Ok(flow);
            }
        }
        self.connect(target, bytes).await
    }

    /// Opens a connection to `target` and queues `first` on it (nothing when empty).
    pub(crate) async fn connect(&self, target: &Target, first: Bytes) -> Result<Flow, SendError> {
        let core = Arc::clone(&self.core);
        if target.transport.is_websocket() {
            return Err(SendError::Unsupported(target.transport));
        }
        lock(&core.conns).check(&target.addr)?;
        let timeout = core.limits.handshake_timeout;
        let tcp = tokio::time::timeout(timeout, TcpStream::connect(target.addr))
            .await
            .map_err(|_| SendError::Connect(std::io::ErrorKind::TimedOut.into()))?
            .map_err(SendError::Connect)?;
        let _ = tcp.set_nodelay(true);
        let local = tcp.local_addr().map_err(SendError::Connect)?;
        let (tx, rx) = mpsc::channel(core.limits.write_queue.max(1));
        let cancel = core.shutdown.child_token();
        let admit = |core: &Core| {
            let handle = ConnHandle {
                tx: tx.clone(),
                cancel: cancel.clone(),
            };
            lock(&core.conns).admit(target.transport, local, target.addr, handle)
        };
        if target.transport == Transport::Tls {
            let (config, name) = target.tls.clone().ok_or(SendError::NoTlsConfig)?;
            let connector = tokio_rustls::TlsConnector::from(config);
            let tls = tokio::time::timeout(timeout, connector.connect(name, tcp))
                .await
                .map_err(|_| SendError::Tls(std::io::ErrorKind::TimedOut.into()))?
                .map_err(|err| {
                    tracing::warn!(peer = %target.addr, %err, "outbound TLS refused");
                    SendError::Tls(err)
                })?;
            let flow = admit(&core)?;
            if let (Some(id), Some(session)) = (flow.id, TlsSession::of(tls.get_ref().1)) {
                lock(&core.conns).set_tls(id, session);
            }
            let peer_certificates = tls
                .get_ref()
                .1
                .peer_certificates()
                .map(|chain| chain.iter().map(|c| c.clone().into_owned()).collect());
            let origin = Origin {
                flow,
                udp: None,
                peer_certificates,
            };
            if !first.is_empty() {
                let _ = tx.try_send(Outgoing::Message(first));
            }
            tokio::spawn(stream::serve(core, tls, origin, tx, rx, cancel));
            return Ok(flow);
        }
        let flow = admit(&core)?;
        let origin = Origin {
            flow,
            udp: None,
            peer_certificates: None,
        };
        if !first.is_empty() {
            let _ = tx.try_send(Outgoing::Message(first));
        }
        tokio::spawn(stream::serve(core, tcp, origin, tx, rx, cancel));
        Ok(flow)
    }
}

fn enqueue(handle: &ConnHandle, bytes: Bytes, stats: &Stats) -> Result<(), SendError> {
    match handle.tx.try_send(Outgoing::Message(bytes)) {
        Ok(()) => {
            Stats::bump(&stats.sent);
            Ok(())
        }
        Err(mpsc::error::TrySendError::Full(_)) => {
            Stats::bump(&stats.backpressure_closed);
            handle.cancel.cancel();
            Err(SendError::Backpressure)
        }
        Err(mpsc::error::TrySendError::Closed(_)) => Err(SendError::NoSuchFlow),
    }
}
