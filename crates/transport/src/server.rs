//! Starting and stopping a server: binding every listen address, the accept loops, the
//! transaction timer task, and graceful shutdown.

use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use socket2::{Domain, Protocol, Socket, Type};
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::mpsc;
use tokio::task::JoinSet;
use tokio_rustls::TlsAcceptor;
use tokio_util::sync::CancellationToken;

use crate::core::{lock, ConnHandle, Core, Origin, Outgoing};
use crate::error::TransportError;
use crate::flow::TlsSession;
use crate::limits::TransportLimits;
use crate::outbound::TransportHandle;
use crate::spec::{ListenSpec, Transport};
use crate::stats::{Stats, StatsSnapshot};
use crate::tu::TransactionUser;
use crate::udp::{self, UdpWorkers};
use crate::ws::WsPolicy;
use crate::{stream, ws};

/// Everything a server needs besides its transaction user.
#[derive(Debug, Clone)]
pub struct ServerConfig {
    /// Addresses to listen on.
    pub listen: Vec<ListenSpec>,
    /// Resource limits.
    pub limits: TransportLimits,
    /// Transaction timers and table size.
    pub transactions: sipwarden_txn::Config,
    /// The TLS configuration for `tls:` and `wss:` listeners. Its certificate resolver
    /// may be reloaded while the server runs; new handshakes use the new certificate.
    pub tls: Option<Arc<rustls::ServerConfig>>,
    /// WebSocket handshake policy.
    pub websocket: WsPolicy,
    /// `Server` header value for the responses the transport writes itself (error
    /// replies); `None` for none.
    pub server_header: Option<String>,
    /// Told how every inbound TLS handshake ended (metrics, security event log).
    pub tls_observer: Option<Arc<dyn TlsObserver>>,
}

/// Why an inbound TLS handshake failed.
#[derive(Debug)]
pub enum HandshakeFailure<'a> {
    /// It did not finish within the handshake timeout.
    TimedOut,
    /// The TLS library refused it; the source is a `rustls::Error` when there is one
    /// (`std::io::Error::get_ref` and `downcast_ref`).
    Failed(&'a std::io::Error),
}

/// Receives the outcome of each inbound TLS handshake. Called on the connection's task:
/// keep it quick.
pub trait TlsObserver: Send + Sync + std::fmt::Debug {
    /// The handshake on `flow` completed (`Ok`) or failed.
    fn handshake(&self, flow: &crate::flow::Flow, outcome: Result<(), HandshakeFailure<'_>>);
}

/// The acceptor of a secure listener and who hears about its handshakes.
#[derive(Clone)]
struct Tls {
    acceptor: TlsAcceptor,
    observer: Option<Arc<dyn TlsObserver>>,
}

impl ServerConfig {
    /// A configuration listening on `listen` with default limits and timers.
    pub fn new(listen: Vec<ListenSpec>) -> ServerConfig {
        ServerConfig {
            listen,
            limits: TransportLimits::default(),
            transactions: sipwarden_txn::Config::default(),
            tls: None,
            websocket: WsPolicy::default(),
            server_header: None,
            tls_observer: None,
        }
    }
}

/// A running server.
#[derive(Debug)]
pub struct Server {
    core: Arc<Core>,
    bound: Vec<ListenSpec>,
    shutdown: CancellationToken,
    tasks: JoinSet<()>,
    udp: UdpWorkers,
}

enum Bound {
    Udp(Vec<std::net::UdpSocket>, ListenSpec),
    Stream(TcpListener, ListenSpec),
}

impl Server {
    /// Binds every listen address (all or nothing) and starts serving. Must be called
    /// inside a tokio runtime.
    pub async fn bind(
        config: ServerConfig,
        tu: Arc<dyn TransactionUser>,
    ) -> Result<Server, TransportError> {
        let shutdown = CancellationToken::new();
        let core = Core::new(
            config.limits.clone(),
            config.transactions,
            config.server_header.clone(),
            tu,
            shutdown.clone(),
        )?;
        let mut bound = Vec::new();
        let mut sockets = Vec::new();
        for spec in &config.listen {
            if spec.transport.is_secure() && config.tls.is_none() {
                return Err(TransportError::TlsNotConfigured(*spec));
            }
            let bind_err = |source| TransportError::Bind {
                spec: *spec,
                source,
            };
            match spec.transport {
                Transport::Udp => {
                    let group =
                        udp::bind_group(spec.addr, config.limits.udp_workers).map_err(bind_err)?;
                    let addr = group
                        .first()
                        .map(std::net::UdpSocket::local_addr)
                        .transpose()
                        .map_err(bind_err)?
                        .unwrap_or(spec.addr);
                    let actual = ListenSpec::new(Transport::Udp, addr);
                    bound.push(actual);
                    sockets.push(Bound::Udp(group, actual));
                }
                transport => {
                    let listener = tcp_listener(spec.addr).map_err(bind_err)?;
                    let addr = listener.local_addr().map_err(bind_err)?;
                    let actual = ListenSpec::new(transport, addr);
                    bound.push(actual);
                    sockets.push(Bound::Stream(listener, actual));
                }
            }
        }

        let mut tasks = JoinSet::new();
        let acceptor = config.tls.clone().map(|c| Tls {
            acceptor: TlsAcceptor::from(c),
            observer: config.tls_observer.clone(),
        });
        let policy = Arc::new(config.websocket.clone());
        let mut udp_sockets = Vec::new();
        for socket in sockets {
            match socket {
                Bound::Udp(group, spec) => {
                    udp_sockets.extend(group.into_iter().map(|s| (Arc::new(s), spec)));
                }
                Bound::Stream(listener, spec) => {
                    let tls = if spec.transport.is_secure() {
                        acceptor.clone()
                    } else {
                        None
                    };
                    tasks.spawn(accept_loop(
                        Arc::clone(&core),
                        listener,
                        spec,
                        tls,
                        Arc::clone(&policy),
                        shutdown.clone(),
                    ));
                }
            }
        }
        let _ = core
            .udp_sockets
            .set(udp_sockets.iter().map(|(s, _)| Arc::clone(s)).collect());
        // Dropped on an early return, which stops the threads already started.
        let mut udp = UdpWorkers::new(shutdown.clone(), tokio::runtime::Handle::current());
        for (socket, spec) in &udp_sockets {
            udp.spawn(&core, socket)
                .map_err(|source| TransportError::Bind {
                    spec: *spec,
                    source,
                })?;
        }
        tasks.spawn(timer_loop(Arc::clone(&core), shutdown.clone()));
        Ok(Server {
            core,
            bound,
            shutdown,
            tasks,
            udp,
        })
    }

    /// The addresses actually bound (port 0 replaced by the port the system chose), in
    /// the order of the configuration.
    pub fn local_addrs(&self) -> &[ListenSpec] {
        &self.bound
    }

    /// A handle for sending requests and responses outside a server transaction
    /// (proxying, requests to registered contacts over their own connection).
    pub fn handle(&self) -> TransportHandle {
        TransportHandle::new(Arc::clone(&self.core))
    }

    /// The transport's counters.
    pub fn stats(&self) -> StatsSnapshot {
        self.core.stats.snapshot()
    }

    /// Live connections.
    pub fn connections(&self) -> usize {
        lock(&self.core.conns).len()
    }

    /// Live connections per transport.
    pub fn connections_by_transport(&self) -> Vec<(Transport, usize)> {
        lock(&self.core.conns).counts_by_transport()
    }

    /// Live transactions.
    pub fn transactions(&self) -> usize {
        self.core.transactions()
    }

    /// Live transactions by kind: INVITE server, non-INVITE server, INVITE client,
    /// non-INVITE client.
    pub fn transactions_by_kind(&self) -> [usize; 4] {
        self.core.transactions_by_kind()
    }

    /// Stops accepting, closes every connection (flushing what is queued, within the
    /// write timeout) and waits for the tasks to end.
    pub async fn shutdown(mut self) {
        self.shutdown.cancel();
        let handles = lock(&self.core.conns).drain();
        for handle in handles {
            handle.cancel.cancel();
        }
        let grace = self
            .core
            .limits
            .write_timeout
            .saturating_add(Duration::from_secs(1));
        self.udp.join(grace).await;
        let all = async { while self.tasks.join_next().await.is_some() {} };
        if tokio::time::timeout(grace, all).await.is_err() {
            self.tasks.abort_all();
        }
    }
}

fn tcp_listener(addr: SocketAddr) -> std::io::Result<TcpListener> {
    let socket = Socket::new(Domain::for_address(addr), Type::STREAM, Some(Protocol::TCP))?;
    if addr.is_ipv6() {
        socket.set_only_v6(true)?;
    }
    // Lets a restarted server bind while old connections sit in TIME_WAIT.
    socket.set_reuse_address(true)?;
    socket.set_nonblocking(true)?;
    socket.bind(&addr.into())?;
    socket.listen(1024)?;
    TcpListener::from_std(socket.into())
}

async fn accept_loop(
    core: Arc<Core>,
    listener: TcpListener,
    spec: ListenSpec,
    tls: Option<Tls>,
    policy: Arc<WsPolicy>,
    shutdown: CancellationToken,
) {
    loop {
        let accepted = tokio::select! {
            _ = shutdown.cancelled() => break,
            r = listener.accept() => r,
        };
        let (tcp, remote) = match accepted {
            Ok(a) => a,
            Err(err) => {
                // Out of file descriptors and similar: back off instead of spinning.
                tracing::warn!(%err, listener = %spec, "accept failed");
                tokio::time::sleep(Duration::from_millis(100)).await;
                continue;
            }
        };
        let _ = tcp.set_nodelay(true);
        let (tx, rx) = mpsc::channel(core.limits.write_queue.max(1));
        let cancel = shutdown.child_token();
        let handle = ConnHandle {
            tx: tx.clone(),
            cancel: cancel.clone(),
        };
        let admitted = lock(&core.conns).admit(spec.transport, spec.addr, remote, handle);
        let flow = match admitted {
            Ok(flow) => flow,
            Err(err) => {
                Stats::bump(&core.stats.connections_refused);
                tracing::info!(%remote, %err, "connection refused");
                continue;
            }
        };
        tracing::debug!(%flow, "connection accepted");
        let origin = Origin {
            flow,
            udp: None,
            peer_certificates: None,
        };
        tokio::spawn(connection(
            Arc::clone(&core),
            tcp,
            origin,
            tx,
            rx,
            cancel,
            tls.clone(),
            Arc::clone(&policy),
        ));
    }
}

#[allow(clippy::too_many_arguments)]
async fn connection(
    core: Arc<Core>,
    tcp: TcpStream,
    mut origin: Origin,
    tx: mpsc::Sender<Outgoing>,
    rx: mpsc::Receiver<Outgoing>,
    cancel: CancellationToken,
    tls: Option<Tls>,
    policy: Arc<WsPolicy>,
) {
    let websocket = origin.flow.transport.is_websocket();
    let Some(Tls { acceptor, observer }) = tls else {
        if websocket {
            ws::serve(core, tcp, origin, tx, rx, cancel, policy).await;
        } else {
            stream::serve(core, tcp, origin, tx, rx, cancel).await;
        }
        return;
    };
    let handshake = tokio::select! {
        _ = cancel.cancelled() => None,
        r = tokio::time::timeout(core.limits.handshake_timeout, acceptor.accept(tcp)) => Some(r),
    };
    let tls_stream = match handshake {
        Some(Ok(Ok(s))) => s,
        Some(Ok(Err(err))) => {
            Stats::bump(&core.stats.handshake_failures);
            if let Some(o) = &observer {
                o.handshake(&origin.flow, Err(HandshakeFailure::Failed(&err)));
            }
            tracing::info!(flow = %origin.flow, %err, "TLS handshake failed");
            forget(&core, &origin);
            return;
        }
        Some(Err(_)) => {
            Stats::bump(&core.stats.handshake_failures);
            if let Some(o) = &observer {
                o.handshake(&origin.flow, Err(HandshakeFailure::TimedOut));
            }
            tracing::info!(flow = %origin.flow, "TLS handshake timed out");
            forget(&core, &origin);
            return;
        }
        None => {
            forget(&core, &origin);
            return;
        }
    };
    if let Some(o) = &observer {
        o.handshake(&origin.flow, Ok(()));
    }
    if let (Some(id), Some(session)) = (origin.flow.id, TlsSession::of(tls_stream.get_ref().1)) {
        lock(&core.conns).set_tls(id, session);
    }
    origin.peer_certificates = tls_stream
        .get_ref()
        .1
        .peer_certificates()
        .map(|chain| chain.iter().map(|c| c.clone().into_owned()).collect());
    if websocket {
        ws::serve(core, tls_stream, origin, tx, rx, cancel, policy).await;
    } else {
        stream::serve(core, tls_stream, origin, tx, rx, cancel).await;
    }
}

fn forget(core: &Core, origin: &Origin) {
    if let Some(id) = origin.flow.id {
        core.remove_flow(id);
    }
}

/// Fires transaction timers. Woken only when a deadline earlier than the one it sleeps
/// until appears (see `Core::arm_timer`), not on every message.
async fn timer_loop(core: Arc<Core>, shutdown: CancellationToken) {
    loop {
        let next = core.arm_timer();
        let sleep = async {
            match next {
                Some(at) => tokio::time::sleep_until(at.into()).await,
                None => std::future::pending().await,
            }
        };
        tokio::select! {
            _ = shutdown.cancelled() => break,
            _ = core.timer_wake.notified() => {}
            _ = sleep => core.fire_timers(),
        }
    }
}
